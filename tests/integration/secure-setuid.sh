#!/bin/sh
# Proves a set-user-ID root program under a system-wide preload (/etc/ld.so.preload in a private overlay of /etc) ignores every CXLMU_* setting of the user who runs it: no file made or changed at root-only paths (CXLMU_STATS, CXLMU_PROFILE), nothing on stderr (CXLMU_LOG, an attacker's CXLMU_RUN_ID, CXLMU_POLICY=sites:/etc/shadow), no hang (CXLMU_POLICY=sites:FIFO), exit status 0, the runtime mapped but no CXLMU_* variable left in the program's environ; and cxlmu-run started by root on a set-user-ID program says so in one stderr line and runs it.
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_root "it mounts an overlay over /etc and installs a set-user-ID root program"
for c in unshare setpriv useradd findmnt timeout mkfifo stat; do
	need_cmd $c "$c is needed"
done
LIMIT=20
U=cxlmusec$$

# The runtime's absolute path, for ld.so.preload.
LIB=$(cd "$(dirname "$CXLMU_LIB")" && pwd)/$(basename "$CXLMU_LIB")

unshare -m --propagation private true 2>"$WORK/why" ||
	skip "unshare -m --propagation private is refused here: $(head -1 "$WORK/why")"

# The set-user-ID copy must sit where the bit is honoured (not nosuid)
# and be reachable by the throw-away user: $WORK (made 0711) if /tmp
# allows it, else a directory in the build tree.
nosuid() {
	findmnt -n -o OPTIONS -T "$1" | tr , '\n' | grep -qx nosuid
}
chmod 711 "$WORK"
BINDIR=
if ! nosuid "$WORK"; then
	BINDIR=$WORK/bin
	mkdir -m 755 "$BINDIR"
else
	BT=$(cd "$top_builddir" && pwd)/tests/integration
	if ! nosuid "$BT"; then
		BINDIR=$(mktemp -d "$BT/secure-setuid.XXXXXX") && chmod 755 "$BINDIR"
		trap 'rm -rf "$WORK" "$BINDIR"' EXIT
	fi
fi
[ -n "$BINDIR" ] || skip "$WORK and the build tree are both on nosuid mounts: no place for a set-user-ID program"
BIN=$BINDIR/secprog
cp "$H/secprog" "$BIN" && chown root:root "$BIN" && chmod 4755 "$BIN" || { fail "cannot install $BIN"; finish; }

# Root's files the user aims at, in a root-only directory.
R=$WORK/rootonly
mkdir -m 700 "$R"
printf 'root-only report\n' >"$R/existing"
chmod 600 "$R/existing"
touch -d '2001-02-03 04:05:06' "$R/existing"
cp -p "$R/existing" "$WORK/existing.orig"
chmod 600 "$WORK/existing.orig"
mkfifo -m 600 "$R/fifo"
# The overlay's root takes its upper directory's mode: /etc's, or the
# user could not even read /etc/ld.so.preload.
mkdir -m 700 "$WORK/ovl" "$WORK/ovl/work"
mkdir "$WORK/ovl/upper"
chmod "$(stat -c %a /etc)" "$WORK/ovl/upper"

# An attacker's run id: a line of its own, and a terminal escape.
ATTACK="x
cxlmu: forged $(printf '\033')[2J"

# In the namespace: the overlay, the user, then ld.so.preload, then the
# runs (as the user, each under timeout; the CXLMU_* settings reach only
# the set-user-ID program, through env run as the user). Nothing is
# checked in there: every command started after ld.so.preload is written
# runs under the preload. The namespace and its mount go when it ends.
cat >"$WORK/ns.sh" <<'NS'
W=$1 LIB=$2 U=$3 BIN=$4 LIMIT=$5 ATTACK=$6
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$W/ovl/upper,workdir=$W/ovl/work" /etc \
	2>"$W/mount.err" || exit 3
useradd -r -l -M -U -s /usr/sbin/nologin -d /nonexistent "$U" >"$W/useradd.err" 2>&1 || exit 4
G=$(id -g "$U") || exit 4
id -u "$U" >"$W/uid"
echo "$LIB" >/etc/ld.so.preload
# case NAME VAR=VALUE...: the program as the user, with those settings.
case_() {
	_n=$1
	shift
	timeout -k 5 "$LIMIT" setpriv --reuid="$U" --regid="$G" --init-groups env "$@" "$BIN" \
		>"$W/$_n.out" 2>"$W/$_n.err"
	echo $? >"$W/$_n.st"
}
case_ none
case_ new CXLMU_STATS="$W/rootonly/new-stats" CXLMU_PROFILE="$W/rootonly/new-prof" \
	CXLMU_RUN_ID="$ATTACK" CXLMU_LOG=1
case_ existing CXLMU_STATS="$W/rootonly/existing" CXLMU_LOG=1
case_ stderr CXLMU_STATS=1 CXLMU_POLICY=bogus "CXLMU_$ATTACK=1"
case_ shadow CXLMU_POLICY=sites:/etc/shadow
case_ fifo CXLMU_POLICY="sites:$W/rootonly/fifo"
# A double free: the heap checks are on in secure mode, whatever the
# environment says.
timeout -k 5 "$LIMIT" setpriv --reuid="$U" --regid="$G" --init-groups \
	env CXLMU_HEAP_CHECK=off "$BIN" double >"$W/double.out" 2>"$W/double.err"
echo $? >"$W/double.st"
exit 0
NS
unshare -m --propagation private sh "$WORK/ns.sh" "$WORK" "$LIB" "$U" "$BIN" "$LIMIT" "$ATTACK"
st=$?
case $st in
0) ;;
3) skip "the overlay mount over /etc is refused here: $(head -1 "$WORK/mount.err")" ;;
4) skip "useradd cannot create a user in the overlay of /etc: $(head -1 "$WORK/useradd.err")" ;;
*) fail "the namespace script failed (status $st)"; finish ;;
esac

# Nothing leaked out of the namespace.
begin "nothing leaked out of the namespace"
grep -qF "$LIB" /etc/ld.so.preload 2>/dev/null && fail "/etc/ld.so.preload outside the namespace names the runtime"
id "$U" >/dev/null 2>&1 && fail "user $U exists outside the namespace"

# The program really ran set-user-ID, under the preload: else nothing here
# proves anything.
grep -q 'secure=1' "$WORK/none.out" ||
	skip "the copy did not run set-user-ID (AT_SECURE unset): $(cat "$WORK/none.out" "$WORK/none.err")"
end
for c in none new existing stderr shadow fifo; do
	begin "$c: exit 0, the runtime mapped, no CXLMU_* left in environ, nothing on stderr"
	st=$(cat "$WORK/$c.st")
	case $st in
	0) ;;
	124 | 137) fail "$c: hung (killed after $LIMIT s)" ;;
	*) fail "$c: exit status $st, want 0" ;;
	esac
	if [ "$st" -eq 0 ]; then
		grep -q 'mapped=1' "$WORK/$c.out" ||
			fail "$c: libcxlmu was not mapped in the program: the preload did not run ($(cat "$WORK/$c.out"))"
		grep -q 'cxlmu_env=0' "$WORK/$c.out" ||
			fail "$c: CXLMU_* variables remain in the program's environ ($(cat "$WORK/$c.out"))"
	fi
	[ -s "$WORK/$c.err" ] &&
		fail "$c: stderr is not empty ($(wc -l <"$WORK/$c.err") lines): $(head -c 300 "$WORK/$c.err" | od -c | head -4)"
done
# The heap checks held in secure mode: SIGABRT, with the runtime's line.
begin "the heap checks hold in secure mode"
st=$(cat "$WORK/double.st")
[ "$st" -eq 134 ] && grep -q '^cxlmu: free(): double free detected' "$WORK/double.err" ||
	fail "double free in secure mode: status $st, want 134 (SIGABRT) with the runtime's line: $(cat "$WORK/double.out" "$WORK/double.err")"

# Any line of /etc/shadow (the overlay's adds the user's) on stderr.
begin "no line of /etc/shadow reaches the user's stderr"
{ grep -v '^$' /etc/shadow; echo "$U:"; } >"$R/shadow.pat" 2>/dev/null
grep -qF -f "$R/shadow.pat" "$WORK/shadow.err" && fail "shadow: bytes of /etc/shadow reached the user's stderr"
rm -f "$R/shadow.pat"
begin "no forged 'cxlmu: ' line reaches the user's stderr"
grep -q '^cxlmu: forged' "$WORK"/*.err && fail "a forged 'cxlmu: forged' line reached the user's stderr"

# Root's directory holds what it held.
begin "nothing made or changed in root's directory"
for f in "$R"/*; do
	case ${f##*/} in
	existing | fifo) ;;
	*) fail "$f was made by the set-user-ID program for the user" ;;
	esac
done
cmp -s "$R/existing" "$WORK/existing.orig" ||
	fail "existing: root's 0600 file named in CXLMU_STATS was written: $(head -c 200 "$R/existing")"
[ "$(stat -c %Y "$R/existing")" = "$(stat -c %Y "$WORK/existing.orig")" ] ||
	fail "existing: root's 0600 file named in CXLMU_STATS has a new mtime"

# cxlmu-run, started by root on a set-user-ID program: one line on stderr
# says it is set-user-ID ("setuid", any case), and the program runs.
begin "cxlmu-run on a set-user-ID program: one line says so, it runs"
timeout $LIMIT "$CXLMU_RUN" --cxl-nodes=0 -- "$BIN" >"$WORK/run.out" 2>"$WORK/run.err"
st=$?
[ $st -eq 0 ] || fail "cxlmu-run on the set-user-ID program: exit status $st: $(head -3 "$WORK/run.err")"
grep -q '^secprog: .*mapped=1' "$WORK/run.out" ||
	fail "cxlmu-run on the set-user-ID program: it did not run under the preload: $(cat "$WORK/run.out")"
n=$(grep -ci setuid "$WORK/run.err")
[ "$n" -eq 1 ] && [ "$(wc -l <"$WORK/run.err")" -eq 1 ] ||
	fail "cxlmu-run on the set-user-ID program: want exactly one stderr line, mentioning setuid; got $(wc -l <"$WORK/run.err") lines, $n mentioning it: $(head -3 "$WORK/run.err")"
finish
