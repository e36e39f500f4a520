#!/bin/bash
# Every benchmark of bench/, one after the other: the backend choice
# (run-backend.sh), libcxlmu against glibc and its raw backend
# (run-alloc.sh), start-up (run-startup.sh), the founding experiment's
# polling threads (run-seedpoll.sh) and its N local threads with one remote
# on one core (run-inflight.sh), hand-offs through pthread calls between
# fibers (run-pingpong.sh), the seed's dlopen'ed library called from
# pinned threads, plain and with --remote (run-remote.sh), and libcxlmu
# against glibc, jemalloc, mimalloc and tcmalloc, time and peak RSS, small
# to 64 MiB blocks (run-peers.sh). About ten minutes by default, half of it
# run-peers.sh.
#
# Usage: bench/run-all.sh [--quick|--full] [-r REPS] [BUILDDIR]
# (the options every script takes, handed on to each; -r REPS is the runs
# of each way for run-startup.sh)
set -eu
. "$(dirname "$0")/lib.sh"

bench_args "$@"
here=$(dirname "$0")
for s in run-backend.sh run-alloc.sh run-startup.sh run-seedpoll.sh run-inflight.sh run-pingpong.sh run-remote.sh run-peers.sh; do
	"$here/$s" ${bench_pass[@]+"${bench_pass[@]}"} "$B"
done
