# bench/: filled in below
