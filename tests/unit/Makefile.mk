# tests/unit/
