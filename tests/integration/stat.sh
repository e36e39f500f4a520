#!/bin/sh
# Proves cxlmu-stat reads allocation profiles (hand-written, not the runtime's): the report's order, numbers, --top and JSON; frames named from a real binary against nm and readelf, and left as offsets on a build-id mismatch; every malformed input named with its line; usage errors (status 2); and --rules' DRAM/CXL split and shortest frame prefixes.
. "${top_srcdir:-.}/tests/integration/lib.sh"

STAT="$top_builddir/cxlmu-stat"
[ "${HAVE_LIBDW:-yes}" = no ] &&
	skip "cxlmu-stat was not built: configure found no libdw (apt-get install libdw-dev, then ./configure again)"
[ -x "$STAT" ] || bail_out "cxlmu-stat ($STAT) is not built"
PY=/usr/bin/python3
need_python3 "to read the JSON report"
D="$top_srcdir/tests/integration/data"
# libdw would ask debuginfod servers for what it cannot find here.
unset DEBUGINFOD_URLS

# st ARGS...: cxlmu-stat's stdout in $WORK/out, stderr in $WORK/err, status in $st.
st() {
	"$STAT" "$@" >"$WORK/out" 2>"$WORK/err"
	st=$?
}

# runs NAME ARGS...: begins the behaviour NAME; cxlmu-stat ARGS exits 0.
runs() {
	_n=$1
	shift
	begin "$_n"
	st "$@"
	[ $st -eq 0 ] || { fail "$_n: status $st from cxlmu-stat $*: $(cat "$WORK/err")"; return 1; }
}

# has NAME TEXT [FILE]: FILE ($WORK/out) has a line holding TEXT (fixed string).
has() {
	grep -qF -- "$2" "${3:-$WORK/out}" ||
		{ fail "$1: no '$2' in: $(head -40 "${3:-$WORK/out}")"; return 1; }
}

# json NAME EXPR...: each python EXPR holds for r, the JSON object in $WORK/out.
json() {
	_n=$1
	shift
	"$PY" - "$WORK/out" "$@" 2>"$WORK/why" <<'EOF' || fail "$_n: $(cat "$WORK/why")"
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
try:
    r = json.loads(text)
except ValueError as e:
    sys.exit("not one JSON object (%s): %r" % (e, text[:300]))
for expr in sys.argv[2:]:
    if not eval(expr, {"r": r, "ids": [s["id"] for s in r.get("sites", [])],
                       "site": {s["id"]: s for s in r.get("sites", [])}}):
        sys.exit("false: %s\nreport: %s" % (expr, text[:2000]))
EOF
}

# rows: the report's site rows, blanks squeezed.
rows() {
	grep -E '^ *[0-9]+ +[0-9]+ ' "$WORK/out" | tr -s ' ' | sed 's/^ //'
}

# ----------------------------------------------------------------------------
# The report: stat-basic.prof (exact counts, sites out of order, a future
# keyword and a future site key, modules whose files do not exist).
# ----------------------------------------------------------------------------
B="$D/stat-basic.prof"
BID=5d4c3b2a1f0e9d8c7b6a59483726150413f2e1d0
runs report "$B"
has report 'program       /nonexistent/bin/app with spaces'
has report 'pid           4242'
has report 'every allocation, counted exactly'
has report '2512 allocations, 3.0 GiB (3231903232 bytes)'
has report 'duration      1.2 s'
has report 'sites         5; all 5 by bytes allocated'
rows >"$WORK/rows"
cat >"$WORK/want" <<'EOF'
1 4 3.0 GiB 99.7% 2 3.0 GiB 1.5 GiB 1 > 1 GiB <= 10 s
2 1 10.0 MiB 0.3% 10 10.0 MiB 10.0 MiB 1 <= 1 MiB live at exit
3 0 62.5 KiB 0.0% 1000 6.2 KiB 0 B 2 <= 64 B <= 10 us
4 3 62.5 KiB 0.0% 1000 640 B 0 B 3 <= 16 B > 100 s
5 2 62.5 KiB 0.0% 500 1000 B 0 B 1 <= 128 B <= 1 us
EOF
cmp -s "$WORK/want" "$WORK/rows" ||
	fail "report rows (rank site bytes % allocs peak live threads size life): $(diff "$WORK/want" "$WORK/rows")"
# Frames under their row, innermost first, as module+0xOFFSET.
sed -n '/^ *3 *0 /,/^ *4 /p' "$WORK/out" | sed -n '2,4p' | tr -d ' ' >"$WORK/frames"
printf 'app+0x1189\napp+0x12a0\nlibfoo.so+0x271ca\n' | cmp -s - "$WORK/frames" ||
	fail "site 0's frames: $(cat "$WORK/frames")"
has "no frames" '(no frames)'
for m in /nonexistent/bin/app /nonexistent/lib/libfoo.so; do
	n=$(grep -c "^cxlmu-stat: $m: cannot open: No such file or directory; frames left as offsets\$" "$WORK/err")
	[ "$n" = 1 ] || fail "missing $m: said $n times, not once: $(cat "$WORK/err")"
done

runs top --top=2 "$B"
[ "$(rows | cut -d' ' -f2 | tr '\n' ' ')" = "4 1 " ] || fail "--top=2 rows: $(rows)"
has top 'sites         5; the top 2 by bytes allocated'

# From the standard input: the same report.
begin "FILE - reads the standard input"
cp "$WORK/out" "$WORK/top.out"
"$STAT" --top=2 - <"$B" >"$WORK/out" 2>/dev/null || fail "stdin: status $?"
cmp -s "$WORK/top.out" "$WORK/out" || fail "FILE - gives another report: $(diff "$WORK/top.out" "$WORK/out")"

runs json --json "$B"
json json 'ids == [4, 1, 0, 3, 2]' 'r["program"] == "/nonexistent/bin/app with spaces"' \
	'r["pid"] == 4242' 'r["sample_bytes"] == 1' 'r["samples"] == 2512' 'r["dropped"] == 0' \
	'r["total_allocs"] == 2512' 'r["total_bytes"] == 3231903232' \
	'r["duration_ns"] == 1234567890' \
	'site[0]["allocs"] == 1000 and site[0]["bytes"] == 64000' \
	'site[0]["peak_live"] == 6400 and site[0]["live"] == 0 and site[0]["threads"] == 2' \
	'site[0]["sizes"] == [{"le": 64, "count": 1000}]' \
	'site[0]["lifetimes"] == [{"le_ns": 10000, "count": 900}, {"le_ns": 100000, "count": 100}, {"live": 0}]' \
	'site[4]["sizes"] == [{"le": None, "count": 2}]' \
	'site[4]["lifetimes"] == [{"le_ns": 10000000000, "count": 1}, {"live": 1}]' \
	'site[1]["lifetimes"] == [{"live": 10}]' \
	'site[3]["frames"] == []' \
	"site[0][\"frames\"][0] == {\"module\": \"/nonexistent/bin/app\", \"build_id\": \"$BID\", \"offset\": \"0x1189\", \"function\": None, \"function_offset\": None}" \
	'site[0]["frames"][2]["module"] == "/nonexistent/lib/libfoo.so"' \
	'site[0]["frames"][2]["build_id"] is None and site[0]["frames"][2]["offset"] == "0x271ca"'
runs json-top --json --top=2 "$B"
json json-top 'ids == [4, 1]'

# Strings are escaped, and bytes that are not UTF-8 become U+FFFD.
printf 'program /a "q" \\b\tc\377d \303\251\n' >"$WORK/prog"
sed -e '/^program /{r '"$WORK/prog" -e 'd;}' "$B" >"$WORK/esc.prof"
runs escape --json "$WORK/esc.prof"
json escape 'r["program"] == "/a \"q\" \\b\tc\ufffdd \u00e9"'

# ----------------------------------------------------------------------------
# Malformed profiles: status 1 and "cxlmu-stat: FILE:LINE: what".
# ----------------------------------------------------------------------------
SB=
b=8
while [ $b -le 1073741824 ]; do
	SB="$SB $b"
	b=$((b * 2))
done
SB="$SB inf"
LB=" 1000 10000 100000 1000000 10000000 100000000 1000000000 10000000000 100000000000 inf"
Z28="0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
G="$WORK/good.prof"
cat >"$G" <<EOF
cxlmu-profile 1
program /nonexistent/x
pid 1
sample-bytes 1
max-frames 3
size-buckets$SB
life-buckets$LB
total allocs 1 bytes 8
module 0 - /nonexistent/x
site 0 allocs 1 bytes 8 peak-live 8 live 8 threads 1
frames 0 0+0x10 0+0x20
sizes 0 1 $Z28
lifetimes 0 0 0 0 0 0 0 0 0 0 0 1
EOF
runs good "$G"

# bad SED LINE TEXT: good.prof edited by SED fails at LINE saying TEXT.
bad() {
	begin "malformed, line $2: $3"
	sed -e "$1" "$G" >"$WORK/bad.prof"
	st "$WORK/bad.prof"
	if [ $st -ne 1 ]; then
		fail "'$1': status $st, not 1 ($(cat "$WORK/err"))"
	elif ! grep -qF -- "cxlmu-stat: $WORK/bad.prof:$2: $3" "$WORK/err"; then
		fail "'$1': wanted 'bad.prof:$2: $3', got: $(cat "$WORK/err")"
	fi
}
bad '1s/.*/cxlmu-profile 2/' 1 'unsupported profile version 2 (this cxlmu-stat reads 1)'
bad '1d' 1 "not a cxlmu profile: the first line must be 'cxlmu-profile 1'"
bad '1s/.*/cxlmu-profile one/' 1 "profile version 'one' is not a number"
bad '1,$d' 1 "not a cxlmu profile: no 'cxlmu-profile 1' line"
bad '3s/.*/pid 12a/' 3 "pid '12a' is not a number"
bad '3s/$/ 7/' 3 "unexpected '7' after the values of 'pid'"
bad '3p' 4 "a second 'pid' line (the first is line 3)"
bad '10s/bytes 8/bytes eight/' 10 "site 0: bytes 'eight' is not a number"
bad '10s/ threads 1//' 10 "site 0 has no 'threads' value"
bad '10p' 11 'site 0 is given twice (the first is line 10)'
bad '11s/0+0x20/7+0x20/' 11 "frame '7+0x20' of site 0 refers to unknown module 7"
bad '11s/frames 0/frames 5/' 11 "'frames' line for unknown site 5"
bad '11s/0+0x20/0+0xg0/' 11 "frame '0+0xg0': '0xg0' is not a hexadecimal offset"
bad '11s/0+0x20/0x20/' 11 "frame '0x20' is not MODULE-ID+0xOFFSET"
bad '11s/$/ 0+0x30 0+0x40/' 11 'site 0 has 4 frames, more than max-frames 3'
bad '11p' 12 "site 0 has a second 'frames' line (the first is line 11)"
bad '12s/ 1 0/ 1/' 12 'site 0: 28 counts on its sizes line, not 29 (size-buckets has 29 buckets)'
bad '12s/ 1 0/ 1 x/' 12 "site 0: sizes count 'x' is not a number"
bad '13s/$/ 0/' 13 'site 0: more than 11 counts on its lifetimes line (life-buckets has 10 buckets, plus one for blocks live at the end)'
bad '12s/sizes 0/sizes 9/' 12 "'sizes' line for unknown site 9"
bad '13d' 10 "site 0 has no 'lifetimes' line"
bad '8d' 12 "the profile has no 'total' line"
bad '8s/ bytes 8//' 8 "'total' needs both allocs N and bytes N"
bad '9s/ - / 5D4C /' 9 "module 0: build-id '5D4C' is not lowercase hex (two digits a byte) or '-'"
bad '9s/ -.*/ -/' 9 'module 0 has no path'
bad '9p' 10 'module 0 is given twice (the first is line 9)'
bad '6s/ inf$//' 6 "'size-buckets' must end with the bound 'inf'"
bad '6s/^size-buckets 8 16/size-buckets 16 8/' 6 "'size-buckets': bound 8 does not exceed the one before it"
bad '7s/ 1000 / inf /' 7 "'life-buckets': 'inf' must be the last bound"
bad '6d' 11 "'sizes' line before the 'size-buckets' line"
# Comments, blank lines and what a later runtime may add are skipped.
sed -e '1i# a comment first' -e '5a\
' -e '9a future-keyword 1 2 3' -e '10s/$/ frees 1/' -e '8s/$/ frees 0/' "$G" >"$WORK/more.prof"
runs forward "$WORK/more.prof"
begin "a missing profile: status 1, named"
st "$WORK/nonexistent.prof"
[ $st -eq 1 ] && grep -qF "cxlmu-stat: $WORK/nonexistent.prof: cannot open: No such file or directory" "$WORK/err" ||
	fail "a missing profile: status $st: $(cat "$WORK/err")"

# 25 sites: the report shows 20 by default, the JSON all of them.
{
	sed -e '/^site /,$d' "$G"
	i=0
	while [ $i -lt 25 ]; do
		echo "site $i allocs 1 bytes $((i + 1)) peak-live 1 live 0 threads 1"
		echo "frames $i 0+$(printf '0x%x' $((i + 16)))"
		echo "sizes $i 1 $Z28"
		echo "lifetimes $i 1 0 0 0 0 0 0 0 0 0 0"
		i=$((i + 1))
	done
} >"$WORK/many.prof"
runs many "$WORK/many.prof"
[ "$(rows | wc -l)" -eq 20 ] || fail "the report shows $(rows | wc -l) sites, not the top 20"
[ "$(rows | head -1 | cut -d' ' -f2)" = 24 ] || fail "the report's first site: $(rows | head -1)"
runs many-json --json "$WORK/many.prof"
json many-json 'ids == list(range(24, -1, -1))'

# ----------------------------------------------------------------------------
# Usage errors: status 2 and a message naming the bad value.
# ----------------------------------------------------------------------------
# usage TEXT ARGS...: cxlmu-stat ARGS exits 2 saying TEXT.
usage() {
	_t=$1
	shift
	begin "usage error, status 2: $_t"
	st "$@"
	if [ $st -ne 2 ]; then
		fail "cxlmu-stat $*: status $st, not 2 ($(cat "$WORK/err"))"
	elif ! grep -qF -- "$_t" "$WORK/err"; then
		fail "cxlmu-stat $*: wanted '$_t', got: $(cat "$WORK/err")"
	fi
}
usage "--top: '0' is not a number of sites (accepted: a whole number from 1)" --top=0 "$B"
usage "--top: 'ten' is not a number of sites" --top=ten "$B"
usage "--dram-budget: '12Q' is not a size (accepted: bytes, or a number with K, M or G" \
	--rules --dram-budget=12Q "$B"
usage "--fallback: 'nowhere' is not a policy (accepted: local, cxl, size:N" \
	--rules --dram-budget=1M --fallback=nowhere "$B"
usage '--rules needs --dram-budget=N' --rules "$B"
usage '--dram-budget goes with --rules' --dram-budget=1M "$B"
usage '-o/--output goes with --rules' -o "$WORK/x" "$B"
usage '--json is for the report, not for --rules' --rules --dram-budget=1M --json "$B"
usage "unknown option '--frobnicate'" --frobnicate "$B"
usage "'--json=yes' takes no value" --json=yes "$B"
usage 'no profile given' --json
usage "one profile at a time: '$B' is one too many" "$B" "$B"
usage '--top needs a value' --top
runs help --help
has help '--dram-budget=N'
runs version --version
grep -qE '^cxlmu-stat [0-9]+\.[0-9]+' "$WORK/out" || fail "--version: $(cat "$WORK/out")"

# ----------------------------------------------------------------------------
# Rules: stat-rules.prof. Site 0 is hot, small and short-lived (4 KiB
# peak); 1 is large and long-lived (100 MiB) and shares 0's first frame;
# 2 (1 MiB) and 3 (195 KiB) are alone by their first frames, 2 denser.
# With 1 MiB: 0 fits, 2 no longer does, 3 still does, 1 does not.
# ----------------------------------------------------------------------------
R="$D/stat-rules.prof"
A="app@$BID"
L=/nonexistent/lib/libbar.so
# rules NAME WANT ARGS...: the non-comment lines of --rules ARGS are WANT.
rules() {
	_n=$1
	_w=$2
	shift 2
	runs "$_n" --rules "$@" "$R" || return
	printf '%s\n' "$_w" >"$WORK/want"
	grep -v '^#' "$WORK/out" >"$WORK/got"
	cmp -s "$WORK/want" "$WORK/got" || fail "$_n: $(diff "$WORK/want" "$WORK/got")"
}
rules budget-1M "fallback local
dram $A+0x1000 $A+0x2000
dram $L+0x600
cxl $L+0x500
cxl $A+0x1000 $A+0x3000" --dram-budget=1M
has budget-1M "# cxlmu rules from $R by cxlmu-stat "
has budget-1M '# DRAM budget 1.0 MiB (1048576 bytes): 2 of 4 sites kept in DRAM, 199.3 KiB of the'
has budget-1M '# 101.2 MiB peak live in all'
has budget-1M '# Use: cxlmu-run --policy=sites:FILE -- /nonexistent/bin/app'
grep -B1 "^dram $A+0x1000 " "$WORK/out" | grep -qxF \
	'# 4.0 KiB peak live, 100000 allocs, typical size <= 64 B, typical life <= 1 us: app+0x1000 < app+0x2000' ||
	fail "budget-1M: site 0's comment: $(cat "$WORK/out")"
# Budget 0: all on CXL, and sites 0 and 1 (no longer told apart) share a rule.
rules budget-0 "fallback local
cxl $A+0x1000
cxl $L+0x500
cxl $L+0x600" --dram-budget=0
rules budget-all "fallback cxl
dram $A+0x1000
dram $L+0x500
dram $L+0x600" --dram-budget=1G --fallback=cxl
rules budget-exact "fallback size:64K
dram $A+0x1000 $A+0x2000
dram $L+0x500
cxl $L+0x600
cxl $A+0x1000 $A+0x3000" --dram-budget=1052672 --fallback=size:64K
# -o: the same rules in a file, the standard output empty.
runs output --rules --dram-budget=1M -o "$WORK/app.rules" "$R"
[ -s "$WORK/out" ] && fail "-o: rules on the standard output too"
grep -v '^#' "$WORK/app.rules" | head -2 | tail -1 | grep -qxF "dram $A+0x1000 $A+0x2000" ||
	fail "-o: $(cat "$WORK/app.rules")"
has output "# Use: cxlmu-run --policy=sites:$WORK/app.rules -- /nonexistent/bin/app" "$WORK/app.rules"

# A DRAM site whose frames begin a CXL site's: its rule takes all its
# frames, the other one more; a site with no frames gets no rule.
sed -e '/^site /,$d' "$R" >"$WORK/prefix.prof"
cat >>"$WORK/prefix.prof" <<EOF
site 0 allocs 1000 bytes 64000 peak-live 100 live 0 threads 1
frames 0 0+0xa 0+0xb
sizes 0 1 $Z28
lifetimes 0 1 0 0 0 0 0 0 0 0 0 0
site 1 allocs 1 bytes 4096 peak-live 4096 live 0 threads 1
frames 1 0+0xa 0+0xb 1+0xc
sizes 1 1 $Z28
lifetimes 1 1 0 0 0 0 0 0 0 0 0 0
site 2 allocs 5 bytes 4096 peak-live 4096 live 0 threads 1
frames 2
sizes 2 1 $Z28
lifetimes 2 1 0 0 0 0 0 0 0 0 0 0
EOF
runs prefix --rules --dram-budget=1000 "$WORK/prefix.prof"
grep -v '^#' "$WORK/out" >"$WORK/got"
printf '%s\n' "fallback local" "dram $A+0xa $A+0xb" "cxl $A+0xa $A+0xb $L+0xc" >"$WORK/want"
cmp -s "$WORK/want" "$WORK/got" || fail "prefix rules: $(diff "$WORK/want" "$WORK/got")"
has prefix '# site 2 has no frames a rule can name: left to the fallback'

# ----------------------------------------------------------------------------
# Frames named from a real binary: statsym's functions, located by nm.
# ----------------------------------------------------------------------------
command -v nm >/dev/null && command -v readelf >/dev/null ||
	{ skip_one "frames named from a real binary" "nm and readelf (binutils) are needed"; finish; }
SYM="$(cd "$H" && pwd)/statsym"
[ -x "$SYM" ] || { fail "the helper $SYM is not built"; finish; }
SBID=$(readelf -n "$SYM" | sed -n 's/^ *Build ID: *//p')
[ -n "$SBID" ] || { skip_one "frames named from a real binary" "$SYM has no GNU build-id"; finish; }
# nm -S: ADDRESS SIZE TYPE NAME.
set -- $(nm -S --defined-only "$SYM" | awk '$4 == "statsym_cold" { print $1, $2 }')
COLD=$((0x$1)) COLDSZ=$((0x$2))
set -- $(nm -S --defined-only "$SYM" | awk '$4 ~ /hot_path/ { print $1, $2 }')
HOT=$((0x$1)) HOTSZ=$((0x$2))
HOTNAME=$(nm -C --defined-only "$SYM" | sed -n 's/^[0-9a-f]* T \(.*hot_path.*\)$/\1/p')
[ "$COLDSZ" -gt 16 ] && [ "$HOTSZ" -gt 3 ] && [ -n "$HOTNAME" ] ||
	{ fail "nm found no statsym_cold and hot_path in $SYM"; finish; }
hex() { printf '0x%x' "$1"; }
# symprof BUILDID: a profile with frames inside, at the end of, and just
# past the start of those functions.
symprof() {
	sed -e '/^module /,$d' -e "s|^program .*|program $SYM|" "$R"
	echo "module 0 $1 $SYM"
	echo "site 0 allocs 3 bytes 300 peak-live 100 live 0 threads 1"
	echo "frames 0 0+$(hex $((COLD + 16))) 0+$(hex $((COLD + COLDSZ))) 0+$(hex $((HOT + 3)))"
	echo "sizes 0 1 $Z28"
	echo "lifetimes 0 1 0 0 0 0 0 0 0 0 0 0"
}
symprof "$SBID" >"$WORK/sym.prof"
runs symbols "$WORK/sym.prof"
sed -n '/^ *1 *0 /,$p' "$WORK/out" | sed -n '2,$p' | tr -d ' ' >"$WORK/frames"
printf '%s\n' "statsym:statsym_cold+0x10" "statsym:statsym_cold+$(hex $COLDSZ)" \
	"statsym:$HOTNAME+0x3" | tr -d ' ' >"$WORK/want"
cmp -s "$WORK/want" "$WORK/frames" || fail "named frames: $(diff "$WORK/want" "$WORK/frames")"
[ -s "$WORK/err" ] && fail "symbols: unexpected messages: $(cat "$WORK/err")"
runs symbols-json --json "$WORK/sym.prof"
json symbols-json 'site[0]["frames"][0]["function"] == "statsym_cold"' \
	'site[0]["frames"][0]["function_offset"] == "0x10"' \
	"site[0][\"frames\"][1][\"function_offset\"] == \"$(hex $COLDSZ)\"" \
	"site[0][\"frames\"][2][\"function\"] == \"$HOTNAME\"" \
	'site[0]["frames"][2]["function_offset"] == "0x3"' \
	"site[0][\"frames\"][0][\"build_id\"] == \"$SBID\""
runs symbols-rules --rules --dram-budget=1M "$WORK/sym.prof"
has symbols-rules "statsym:statsym_cold+0x10 < statsym:statsym_cold+$(hex $COLDSZ) < statsym:$HOTNAME+0x3"
has symbols-rules "dram statsym@$SBID+$(hex $((COLD + 16)))"

# Another build-id, or none where the file has one: offsets, said once.
for id in 0123456789abcdef0123456789abcdef01234567 -; do
	symprof "$id" >"$WORK/sym.prof"
	runs "build-id $id" "$WORK/sym.prof"
	has "build-id $id" "statsym+$(hex $((COLD + 16)))"
	grep -q 'statsym:' "$WORK/out" && fail "build-id $id: frames named: $(cat "$WORK/out")"
	printf 'cxlmu-stat: %s: build-id differs from the profile'"'"'s; frames left as offsets\n' "$SYM" |
		cmp -s - "$WORK/err" || fail "build-id $id: stderr: $(cat "$WORK/err")"
done
finish
