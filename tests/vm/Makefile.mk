# tests/vm/
