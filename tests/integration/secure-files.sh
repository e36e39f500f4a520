#!/bin/sh
# Proves the files the runtime writes cannot be turned against the user it runs as: a stats or profile path that another user made a symlink (to an existing root file, or to a new path in a root-only directory) is not followed, and the run says so in a "cxlmu: " line naming the path while the program's output and status stay as plain; a FIFO nobody reads or a profile file another process holds locked does not hang the program; new stats and profile files are mode 0600; an existing stats file owned by another user is not written; CXLMU_STATS=/dev/stderr still reports on stderr.
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_root "the runtime must run as root among files of user 65534"
for c in setpriv mkfifo flock timeout stat; do
	need_cmd $c "$c is needed"
done
LIMIT=20
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
$NOBODY true 2>/dev/null || skip "setpriv cannot switch to user 65534 here"
umask 022
LOCKER=
trap '[ -n "$LOCKER" ] && kill "$LOCKER" 2>/dev/null; rm -rf "$WORK"' EXIT

# User 65534 must reach the shared directory; the rest stays root's.
chmod 711 "$WORK"
# The shared directory is owned by 65534, as are the links and files
# planted in it: fs.protected_symlinks lets root follow a link in a
# sticky world-writable directory only when the link's owner owns the
# directory, and fs.protected_regular lets root open an existing file
# there with O_CREAT only when the file's owner owns the directory. With
# a root-owned directory the kernel would refuse and hide the bug.
D=$WORK/shared
mkdir "$D" && chown 65534:65534 "$D" && chmod 1777 "$D" || { fail "cannot make $D"; finish; }
R=$WORK/rootonly
mkdir -m 700 "$R"

# victim NAME: a root-owned 0600 file with known content and an old mtime.
victim() {
	printf 'root-only data of %s\n' "$1" >"$WORK/$1"
	chmod 600 "$WORK/$1"
	touch -d '2001-02-03 04:05:06' "$WORK/$1"
	cp -p "$WORK/$1" "$R/$1.orig"
}
# intact NAME CASE: the victim's content and mtime are as made.
intact() {
	cmp -s "$WORK/$1" "$R/$1.orig" ||
		fail "$2: $1 (root's file) was written: $(head -c 200 "$WORK/$1")"
	[ "$(stat -c %Y "$WORK/$1")" = "$(stat -c %Y "$R/$1.orig")" ] ||
		fail "$2: $1 (root's file) has a new mtime"
}

# The program and its plain output.
P=$H/manysites
"$P" 512 >"$WORK/plain512" 2>&1 || { fail "manysites 512 fails plain: $(cat "$WORK/plain512")"; finish; }
"$P" >"$WORK/plain" 2>&1 || { fail "manysites fails plain: $(cat "$WORK/plain")"; finish; }

# under NAME PLAIN-OUT VAR=VALUE... -- ARGS: the program as root under the
# preload, CXL emulated on node 0; stdout, status as the plain run, no
# hang. Its stderr is left in $WORK/e.
under() {
	_n=$1
	_want=$2
	shift 2
	_vars=
	while [ "$1" != -- ]; do
		_vars="$_vars $1"
		shift
	done
	shift
	# shellcheck disable=SC2086
	timeout $LIMIT env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 $_vars "$P" "$@" >"$WORK/o" 2>"$WORK/e"
	_st=$?
	case $_st in
	0) ;;
	124) fail "$_n: hung (killed after $LIMIT s)" ;;
	*) fail "$_n: exit status $_st, plain 0: $(head -3 "$WORK/e")" ;;
	esac
	cmp -s "$_want" "$WORK/o" || fail "$_n: stdout differs from plain: $(head -3 "$WORK/o")"
}
# says NAME PATH: a stderr line starting "cxlmu: " names PATH.
says() {
	grep '^cxlmu: ' "$WORK/e" | grep -qF "$2" ||
		fail "$1: no 'cxlmu: ' line on stderr names $2: $(head -3 "$WORK/e")"
}

# Symlinks planted by 65534 at the stats and profile paths: (a) to
# existing root files.
begin "symlinks to root files at the stats and profile paths: not followed, said"
victim stats-victim
victim prof-victim
$NOBODY ln -s "$WORK/stats-victim" "$D/stats" && $NOBODY ln -s "$WORK/prof-victim" "$D/prof" ||
	{ fail "user 65534 cannot plant links in $D"; finish; }
under "symlinks to root files" "$WORK/plain512" \
	CXLMU_STATS="$D/stats" CXLMU_PROFILE="$D/prof" -- 512
intact stats-victim "symlinks to root files"
intact prof-victim "symlinks to root files"
says "symlink at the stats path" "$D/stats"
says "symlink at the profile path" "$D/prof"
# (b) to paths that do not exist yet, in a root-only directory.
begin "symlinks to new paths in a root-only directory: not followed, said"
rm -f "$D/stats" "$D/prof"
$NOBODY ln -s "$R/made-stats" "$D/stats" && $NOBODY ln -s "$R/made-prof" "$D/prof" ||
	{ fail "user 65534 cannot plant links in $D"; finish; }
under "symlinks to new root paths" "$WORK/plain512" \
	CXLMU_STATS="$D/stats" CXLMU_PROFILE="$D/prof" -- 512
for f in made-stats made-prof; do
	[ -e "$R/$f" ] && fail "symlinks to new root paths: $R/$f was created through a link of user 65534"
done
says "symlink at the stats path, new target" "$D/stats"
says "symlink at the profile path, new target" "$D/prof"
rm -f "$D/stats" "$D/prof"

# An existing stats file owned by 65534 is not written.
begin "an existing stats file owned by another user is not written"
$NOBODY sh -c 'echo "user 65534 data" >"$1"' sh "$D/owned" || fail "user 65534 cannot write $D/owned"
under "stats file owned by 65534" "$WORK/plain512" CXLMU_STATS="$D/owned" -- 512
[ "$(cat "$D/owned")" = "user 65534 data" ] ||
	fail "stats file owned by 65534: written by root: $(head -c 200 "$D/owned")"
says "stats file owned by 65534" "$D/owned"

# A hard link of 65534's to a root file (possible where
# fs.protected_hardlinks is 0; made here by root for 65534): not written.
begin "a hard link to a root file at the stats path is not written"
victim link-victim
ln "$WORK/link-victim" "$D/hardlink" && chown -h 65534:65534 "$D/hardlink" 2>/dev/null
under "hard link to a root file" "$WORK/plain512" CXLMU_STATS="$D/hardlink" -- 512
intact link-victim "hard link to a root file"
says "hard link at the stats path" "$D/hardlink"
rm -f "$D/hardlink"

# A FIFO whose reader stops reading: the writer gives up (a bounded wait
# without progress), the program ends normally.
begin "a FIFO whose reader stopped reading: no hang"
mkfifo "$WORK/stall"
sh -c 'exec 8<"$1"; sleep 60' sh "$WORK/stall" &
STALLER=$!
under "FIFO whose reader stopped" "$WORK/plain" \
	CXLMU_PROFILE="$WORK/stall" CXLMU_SAMPLE_BYTES=1 --
kill $STALLER 2>/dev/null
wait $STALLER 2>/dev/null

# A FIFO at the profile path, nobody reading; the profile (every one of
# 4096 stacks sampled) is far larger than a pipe's 64 KiB.
begin "a FIFO nobody reads at the profile path: no hang"
mkfifo "$WORK/fifo"
under "FIFO at the profile path" "$WORK/plain" \
	CXLMU_PROFILE="$WORK/fifo" CXLMU_SAMPLE_BYTES=1 --

# A profile file another process holds locked (flock) all along.
begin "a profile file locked by another process: no hang, FILE.PID written 0600"
: >"$WORK/locked.prof"
sh -c 'exec 9>>"$1" && flock 9 && exec sleep 60' sh "$WORK/locked.prof" &
LOCKER=$!
i=0
while flock -n "$WORK/locked.prof" true && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if flock -n "$WORK/locked.prof" true; then
	fail "could not hold $WORK/locked.prof locked for the test"
else
	under "profile file locked by another process" "$WORK/plain512" \
		CXLMU_PROFILE="$WORK/locked.prof" CXLMU_SAMPLE_BYTES=1 -- 512
	# Nothing lost: the profile went to FILE.PID, the user's alone.
	set -- "$WORK"/locked.prof.[0-9]*
	if [ -f "$1" ]; then
		[ "$(stat -c %a "$1")" = 600 ] || fail "locked profile: $1 has mode $(stat -c %a "$1")"
		grep -q . "$1" || fail "locked profile: $1 is empty"
	else
		fail "locked profile: no FILE.PID written beside it: $(head -3 "$WORK/e")"
	fi
fi
kill "$LOCKER" 2>/dev/null
wait "$LOCKER" 2>/dev/null
LOCKER=

# New files are the running user's alone: mode 0600 (umask 022 here).
begin "new stats and profile files are mode 0600"
mkdir "$WORK/new"
under "new files" "$WORK/plain512" \
	CXLMU_STATS="$WORK/new/stats" CXLMU_PROFILE="$WORK/new/prof" -- 512
for f in stats prof; do
	if [ ! -f "$WORK/new/$f" ]; then
		fail "new files: no $f file written"
	else
		m=$(stat -c %a "$WORK/new/$f")
		[ "$m" = 600 ] || fail "new files: the $f file has mode $m, want 600"
	fi
done

# CXLMU_STATS=/dev/stderr still reports on stderr, a file or a pipe.
begin "CXLMU_STATS=/dev/stderr reports on stderr, a file"
under "CXLMU_STATS=/dev/stderr" "$WORK/plain512" CXLMU_STATS=/dev/stderr -- 512
grep -q 'placement check\|bytes_live' "$WORK/e" ||
	fail "CXLMU_STATS=/dev/stderr (a file): no report on stderr: $(head -3 "$WORK/e")"
begin "CXLMU_STATS=/dev/stderr reports on stderr, a pipe"
{ timeout $LIMIT env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_STATS=/dev/stderr \
	"$P" 512 2>&1 >/dev/null; } | cat >"$WORK/piped"
grep -q 'placement check\|bytes_live' "$WORK/piped" ||
	fail "CXLMU_STATS=/dev/stderr (a pipe): no report on stderr: $(head -3 "$WORK/piped")"
finish
