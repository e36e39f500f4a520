#!/bin/sh
# Proves fork is safe while threads poll: the main thread, itself polling, forks 24 times while pairs of threads pass tokens with usleep(1) loops; each child polls on its main thread, runs its own polling pair to the right count and sleeps no shorter than asked, and the parent's pairs go on after every fork and end with every token handed in order, on every wait path.
. "${top_srcdir:-.}/tests/integration/lib.sh"

run_ok plain plain "$H/sleepfork" plain
for w in auto futex msg_ring eventfd syscall; do
	run_ok "CXLMU_WAIT=$w" prel CXLMU_WAIT=$w "$H/sleepfork" pre
done
finish
