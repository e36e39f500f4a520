#!/bin/sh
# Proves --profile counts each call site exactly with --sample-bytes=1 (allocations, bytes, live and peak bytes, sizes, lifetimes, threads) and within a few per cent when sampling, names sites identically in two runs of a position-independent executable, gives a forked child its own profile, and that --policy=sites:FILE places each site where its rule says, refusing a bad rules file with its line number.
. "${top_srcdir:-.}/tests/integration/lib.sh"

PY=/usr/bin/python3
need_python3 "to read the profiles"
need_cmd nm "nm and readelf (binutils) are needed"
need_cmd readelf "nm and readelf (binutils) are needed"
PROF="$PY $top_srcdir/tests/integration/profile.py"
CHECKJSON="$PY $top_srcdir/tests/integration/checkjson.py"
S=$H/sites
K=65536

# prog NAME CMD...: begins the behaviour NAME; CMD must exit 0; its
# output is in $WORK/out.
prog() {
	_n=$1
	shift
	begin "$_n"
	"$@" >"$WORK/out" 2>&1 || { fail "$_n: exit status $? from: $*"; diag_file "$WORK/out"; }
}

# pcheck NAME PROFILE EXPR...: each EXPR holds in the profile (profile.py).
pcheck() {
	_n=$1 _f=$2
	shift 2
	$PROF check "$_f" "$S" "$@" 2>"$WORK/why" || fail "$_n: $(cat "$WORK/why")"
}

# --- exact counts --------------------------------------------------------
prog "exact counts" $CXLMU_RUN --policy=local --profile="$WORK/exact" --sample-bytes=1 -- "$S" place
# hot_block, called from two places: 20000 blocks freed at once (peak one
# block), then 8 kept; cold_block: 64 kept.
pcheck exact "$WORK/exact" \
	'site("hot_block")["count"] == 2' \
	'site("hot_block")["allocs"] == 20008' "site(\"hot_block\")[\"bytes\"] == 20008 * $K" \
	"site(\"hot_block\")[\"peak-live\"] == 9 * $K" "site(\"hot_block\")[\"live\"] == 8 * $K" \
	'site("hot_block")["threads"] == 1' \
	'site("hot_block")["lifetimes"][-1] == 8' 'sum(site("hot_block")["lifetimes"][:-1]) == 20000' \
	'site("hot_block")["sizes"][P["size-buckets"].index("65536")] == 20008' \
	'sum(site("hot_block")["sizes"]) == 20008' \
	'site("cold_block")["allocs"] == 64' "site(\"cold_block\")[\"live\"] == 64 * $K" \
	"site(\"cold_block\")[\"peak-live\"] == 64 * $K" 'site("cold_block")["lifetimes"][-1] == 64' \
	'P["sample-bytes"] == 1' 'P["dropped"] == 0' 'P["samples"] >= 20072' \
	'P["total"]["allocs"] == P["samples"]'

# The module of the helper is named by its path and the build-id readelf sees.
begin "the module is named by its path and build-id"
bid=$(readelf -n "$S" | sed -n 's/.*Build ID: *\([0-9a-f]*\).*/\1/p')
[ -n "$bid" ] || fail "readelf found no build-id in $S"
grep -q "^module [0-9]* $bid .*/sites\$" "$WORK/exact" ||
	fail "no 'module N $bid .../sites' line in the profile: $(grep '^module' "$WORK/exact")"

# --- threads -------------------------------------------------------------
prog "threads: exact counts from 4 threads" $CXLMU_RUN --policy=local --profile="$WORK/thr" --sample-bytes=1 -- "$S" threads 4 1000 100
pcheck threads "$WORK/thr" 'site("thread_block")["allocs"] == 4000' \
	'site("thread_block")["bytes"] == 400000' 'site("thread_block")["threads"] == 4' \
	'site("thread_block")["live"] == 0' 'sum(site("thread_block")["lifetimes"][:-1]) == 4000' \
	'100000 <= site("thread_block")["peak-live"] <= 400000'

# Sampled, one sample per 64 KiB: 200 MB in 200000 blocks, about 3000
# samples; estimates within 10 % (over 5 standard deviations).
prog "sampled: estimates within 10 %" $CXLMU_RUN --policy=local --profile="$WORK/smp" --sample-bytes=64K -- "$S" threads 4 50000 1000
pcheck sampled "$WORK/smp" 'P["sample-bytes"] == 65536' \
	'abs(site("thread_block")["allocs"] - 200000) <= 20000' \
	'abs(site("thread_block")["bytes"] - 200000000) <= 20000000' \
	'site("thread_block")["threads"] == 4' 'P["samples"] < 5000' \
	'P["total"]["allocs"] >= site("thread_block")["allocs"]'
# The default: one sample per 2 MiB, as TCMalloc's profiler.
prog "the default: one sample per 2 MiB" $CXLMU_RUN --policy=local --profile="$WORK/dflt" -- "$S" threads 1 1000 1000
pcheck default "$WORK/dflt" 'P["sample-bytes"] == 2097152'

# --- names across runs ---------------------------------------------------
if readelf -h "$S" | grep -q 'Type: *DYN'; then
	prog "names are the same across runs of a PIE" $CXLMU_RUN --policy=local --profile="$WORK/exact2" --sample-bytes=1 -- "$S" place
	a=$(grep '^main=' "$WORK/out")
	"$S" place >"$WORK/plain" || fail "plain run of $S place"
	$PROF names "$WORK/exact" "$S" >"$WORK/n1" && $PROF names "$WORK/exact2" "$S" >"$WORK/n2" ||
		fail "names: profile.py failed"
	[ "$(grep -c . "$WORK/n1")" -ge 2 ] || fail "names: fewer than 2 sites in $S: $(cat "$WORK/n1")"
	cmp -s "$WORK/n1" "$WORK/n2" || fail "names differ between runs: $(diff "$WORK/n1" "$WORK/n2")"
	if [ "$(cat /proc/sys/kernel/randomize_va_space 2>/dev/null)" != 0 ] &&
	   [ "$a" = "$(grep '^main=' "$WORK/plain")" ]; then
		fail "names: the helper loaded at the same address twice ($a): no ASLR to prove anything"
	fi
else
	begin "names are the same across runs of a PIE"
	fail "$S is not position-independent (readelf -h); the names check needs a PIE"
fi

# --- dlclose -------------------------------------------------------------
# A module loaded and closed 20 times: after the first dlclose, stacks are
# walked step by step (libunwind's frame cache of the closed module could
# be stale). Every block dlmod_make made is counted, each named by its
# caller in dlhost too.
MOD="$H/.libs/dlmod.so"
prog "dlclose: a module loaded and closed 20 times" $CXLMU_RUN --policy=local --profile="$WORK/dl" --sample-bytes=1 -- "$H/dlhost" "$MOD" any
# The module's operator new of a huge size fails 10 times: failed
# allocations are no site's (their size swamped the byte sums before).
$PROF check "$WORK/dl" "$MOD" 'site("dlmod_make")["allocs"] == 40' \
	'sum(s["allocs"] for s in P["sites"].values() if len(s.get("frames", [])) > 1
	     and P["modules"][s["frames"][0][0]]["path"].endswith("/dlmod.so")
	     and P["modules"][s["frames"][1][0]]["path"].endswith("/dlhost")) == 40' \
	'P["total"]["bytes"] < 1 << 40' 'max(s["bytes"] for s in P["sites"].values()) < 1 << 40' \
	2>"$WORK/why" || fail "dlclose: $(cat "$WORK/why")"

# --- fork ----------------------------------------------------------------
prog "fork: the child gets its own profile" $CXLMU_RUN --policy=local --profile="$WORK/fork" --sample-bytes=1 -- "$S" fork
child=$(sed -n 's/^child=//p' "$WORK/out")
[ -r "$WORK/fork.$child" ] || fail "fork: no profile $WORK/fork.$child for the child"
pcheck fork-parent "$WORK/fork" 'site("parent_block")["allocs"] == 4'
$PROF check "$WORK/fork" "$S" 'site("child_block")' 2>/dev/null &&
	fail "fork: the parent's profile has the child's site"
pcheck fork-child "$WORK/fork.$child" 'site("child_block")["allocs"] == 3' \
	'site("child_block")["live"] == 0'
$PROF check "$WORK/fork.$child" "$S" 'site("parent_block")' 2>/dev/null &&
	fail "fork: the child's profile has the parent's allocations"
grep -q cxlmu "$WORK/out" && fail "fork: the runtime said something: $(cat "$WORK/out")"
# A FILE from an earlier run is replaced without a word.
prog "a FILE of an earlier run is replaced without a word" sh -c "$CXLMU_RUN --policy=local --profile=$WORK/fork --sample-bytes=1 -- $S threads 1 5 5;
	$CXLMU_RUN --policy=local --profile=$WORK/fork --sample-bytes=1 -- $S threads 1 5 5"
[ "$(grep -c 'was written by another process of this run' "$WORK/out")" = 0 ] ||
	fail "rerun: two runs one after the other are not one run: $(cat "$WORK/out")"
# A program of the same run that finds FILE written after it started
# writes FILE.PID and says so: here bash, after the program it ran (dash
# ends with _exit, which writes no profile).
prog "a second program of the run writes FILE.PID and says so" $CXLMU_RUN --policy=local --profile="$WORK/two" --sample-bytes=1 -- bash -c "$S threads 1 5 5; true"
grep -q "$WORK/two was written by another process of this run; this profile goes to $WORK/two\.[0-9]*\$" "$WORK/out" ||
	fail "run2: no word of the second profile: $(cat "$WORK/out")"
pcheck run2 "$WORK/two" 'site("thread_block")["allocs"] == 5'
# owners FILE ALLOCS...: for each ALLOCS, how many of FILE and FILE.*
# have thread_block with that many allocations; prints "N:COUNT ...".
owners() {
	_f=$1
	shift
	for _a in "$@"; do
		_c=0
		for _p in "$_f" "$_f".*; do
			[ -r "$_p" ] && $PROF check "$_p" "$S" "site(\"thread_block\")[\"allocs\"] == $_a" \
				2>/dev/null && _c=$((_c + 1))
		done
		printf '%s:%s ' "$_a" "$_c"
	done
}
# Relative names are cxlmu-run's directory's, whatever the program's
# (any FILE but "off": "on" is a name too).
for f in on rel.prof; do
	begin "a relative FILE ($f) is cxlmu-run's directory's"
	(cd "$WORK" && $CXLMU_RUN --policy=local --profile=$f --sample-bytes=1 -- \
		sh -c "cd / && exec $S threads 1 5 5") >"$WORK/out" 2>&1 || fail "relative $f: exit $?"
	pcheck "relative $f" "$WORK/$f" 'site("thread_block")["allocs"] == 5'
	[ -e "/$f" ] && { rm -f "/$f"; fail "relative $f: written in the program's directory, /"; }
done
# A pipe is written as it is (not truncated, not taken for a run's).
begin "a pipe is written as it is"
sh -c "$CXLMU_RUN --policy=local --profile=/dev/stderr --sample-bytes=1 -- $S threads 1 5 5 2>&1 >/dev/null | cat >'$WORK/piped'" ||
	fail "piped: exit $?"
pcheck piped "$WORK/piped" 'site("thread_block")["allocs"] == 5'
# Two programs of one run, one after the other: the second finds FILE
# written by its own run (cxlmu-run's CXLMU_RUN_ID, the profile's "run"
# line) and writes FILE.PID, though FILE is older than its start.
prog "two programs of one run, one after the other" $CXLMU_RUN --policy=local --profile="$WORK/seq" --sample-bytes=1 -- \
	bash -c "$S threads 1 5 5; $S threads 1 7 7; true"
pcheck seq "$WORK/seq" 'site("thread_block")["allocs"] == 5' 'P["run"][0].count("-") == 1'
[ "$(owners "$WORK/seq" 5 7)" = "5:1 7:1 " ] ||
	fail "seq: want one profile with 5 allocations and one with 7: $(owners "$WORK/seq" 5 7)($(ls "$WORK"))"
[ "$(grep -c "^cxlmu: $WORK/seq was written by another process of this run" "$WORK/out")" = 2 ] ||
	fail "seq: want a word from the second program and bash: $(cat "$WORK/out")"
# Two at once: each takes FILE or FILE.PID whole, in turn (flock).
for i in 1 2 3; do
	prog "two programs at once, each profile whole (run $i)" $CXLMU_RUN --policy=local --profile="$WORK/both$i" --sample-bytes=1 -- \
		bash -c "$S threads 2 500 64 & $S threads 2 700 64 & wait; true"
	[ "$(owners "$WORK/both$i" 1000 1400)" = "1000:1 1400:1 " ] ||
		fail "together $i: want each program's profile once: $(owners "$WORK/both$i" 1000 1400)"
done
# %p: every process its own file, nothing said.
begin "%p: every process its own file"
$CXLMU_RUN --policy=local --profile="$WORK/pp.%p" --sample-bytes=1 -- "$S" fork >"$WORK/out" 2>&1 ||
	fail "fork %p: exit $?"
child=$(sed -n 's/^child=//p' "$WORK/out")
[ "$(ls "$WORK"/pp.* | wc -l)" = 2 ] && [ -r "$WORK/pp.$child" ] ||
	fail "fork %p: want two profiles, one pp.$child: $(ls "$WORK")"

# A profile that cannot be written: one line, the program's status kept.
begin "an unwritable profile: one line, the status kept"
$CXLMU_RUN --policy=local --profile="$WORK/no/such/dir/p" -- "$S" threads 1 10 10 >"$WORK/out" 2>&1 ||
	fail "unwritable profile changed the exit status"
[ "$(grep -c 'cannot write the profile' "$WORK/out")" = 1 ] ||
	fail "unwritable profile: want one warning: $(cat "$WORK/out")"

# --- the sites policy ----------------------------------------------------
# A rule naming the cold site's frames (as the first profile saw them).
begin "sites:FILE puts the cold site on CXL"
{ echo "# the cold site to CXL, everything else by the fallback"
  echo "fallback local"
  $PROF rule "$WORK/exact" "$S" cold_block cxl; } >"$WORK/rules" || fail "rules: could not write them"
grep -q '^cxl sites@' "$WORK/rules" || fail "rules: no cold-site rule: $(cat "$WORK/rules")"
$CXLMU_RUN --policy=sites:"$WORK/rules" --cxl-nodes=0 --stats="$WORK/sites.json" \
	--stats-format=json -- "$S" place >"$WORK/out" 2>&1 || fail "sites: exit $?: $(cat "$WORK/out")"
$CHECKJSON "$WORK/sites.json" 'r["policy"] == "sites"' \
	"[t for t in r['tiers'] if t['tier'] == 'cxl'][0]['bytes_live'] == 64 * $K" \
	"[t for t in r['tiers'] if t['tier'] == 'cxl'][0]['allocations'] == 64" 2>"$WORK/why" ||
	fail "sites: $(cat "$WORK/why")"
# The same rules, fallback cxl from the command line: now only the cold
# site's rule is not needed to put it on CXL; the hot site follows.
begin "sites:FILE with --sites-fallback=cxl"
$CXLMU_RUN --policy=sites:"$WORK/rules" --sites-fallback=cxl --cxl-nodes=0 \
	--stats="$WORK/fb.json" --stats-format=json -- "$S" place >"$WORK/out" 2>&1 ||
	fail "sites fallback: exit $?"
$CHECKJSON "$WORK/fb.json" \
	"[t for t in r['tiers'] if t['tier'] == 'cxl'][0]['bytes_live'] >= 72 * $K" \
	"[t for t in r['tiers'] if t['tier'] == 'cxl'][0]['allocations'] >= 20072" 2>"$WORK/why" ||
	fail "sites fallback: $(cat "$WORK/why")"

# A bad rules file: cxlmu-run refuses it with the line; a bare LD_PRELOAD
# says one line and runs the program with the local policy.
begin "a bad rules file: cxlmu-run refuses it, naming the line"
printf '# rules\nfallback local\ncxl sites+0x10\nhot sites+0x20\n' >"$WORK/bad"
$CXLMU_RUN --policy=sites:"$WORK/bad" -- "$S" threads 1 1 1 >"$WORK/out" 2>&1
st=$?
[ $st = 2 ] || fail "bad rules: cxlmu-run exit $st, want 2"
grep -q "bad: line 4: 'hot' is not a tier or directive" "$WORK/out" ||
	fail "bad rules: cxlmu-run said: $(cat "$WORK/out")"
begin "a bad rules file under LD_PRELOAD: one line, the local policy"
env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_POLICY=sites:"$WORK/bad" \
	CXLMU_STATS="$WORK/bad.json" CXLMU_STATS_FORMAT=json "$S" threads 1 1 1 >"$WORK/out" 2>&1 ||
	fail "bad rules under LD_PRELOAD: exit $?"
[ "$(wc -l <"$WORK/out")" = 1 ] && grep -q "line 4: 'hot' is not a tier or directive.*local policy" "$WORK/out" ||
	fail "bad rules under LD_PRELOAD: want one line naming line 4: $(cat "$WORK/out")"
$CHECKJSON "$WORK/bad.json" 'r["policy"] == "local"' 2>"$WORK/why" || fail "bad rules: $(cat "$WORK/why")"

finish
