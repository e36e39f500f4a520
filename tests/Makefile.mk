# tests/: filled in below
