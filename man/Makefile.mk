# man/: filled in below
