#!/bin/bash
# Every benchmark of bench/, one after the other: the backend choice
# (run-backend.sh), libcxlmu against glibc and its raw backend
# (run-alloc.sh), start-up (run-startup.sh) and the founding experiment's
# polling threads (run-seedpoll.sh). About two minutes by default.
#
# Usage: bench/run-all.sh [--quick|--full] [BUILDDIR]
set -eu
here=$(dirname "$0")
for s in run-backend.sh run-alloc.sh run-startup.sh run-seedpoll.sh; do
	"$here/$s" "$@"
done
