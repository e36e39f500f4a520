# tests/integration/
