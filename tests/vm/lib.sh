# Sourced by the VM tests (placement.sh, cxl.sh, integration.sh): finding
# qemu and the guest's kernel and initramfs, or skipping; reading a
# guest's serial log, whose cases tests/vm/guest.sh prints as
#   @@case NAME / output lines / @@rc NAME STATUS
# and writing TAP lines about them. The caller sets log (the log file).
: "${top_builddir:?run from make check, or set top_builddir and top_srcdir}"
: "${top_srcdir:?run from make check, or set top_builddir and top_srcdir}"
QEMU=${QEMU:-$(command -v qemu-system-x86_64 || true)}
build=$top_builddir/tests/vm/build
fails=0
n=0

skip() {      # nothing of the test can run: TAP's skip-all, exit 77
	echo "1..0 # SKIP $*"
	exit 77
}

# need_qemu WHAT [QEMU ARGS...]: skip unless qemu can start a TCG PC with
# the arguments given (firmware present, accelerator and devices built in).
need_qemu() {
	_what=$1
	shift
	[ -n "$QEMU" ] && [ -x "$QEMU" ] ||
		skip "qemu-system-x86_64 not found (Debian: qemu-system-x86); the VM test needs it"
	# shellcheck disable=SC2068
	_probe=$(echo quit | timeout 30 "$QEMU" -accel tcg -cpu max "$@" -nodefaults \
		-display none -monitor stdio -S 2>&1 >/dev/null) ||
		skip "$QEMU cannot start $_what here: $(echo "$_probe" | tr '\n' ' ')"
}

# guest_files FLAVOUR [KERNEL]: tests/vm/mkinitrd.sh FLAVOUR's kernel and
# initramfs into kernel and initrd; what it fetches as "# " lines, its
# reason when it skips, a bail-out when it fails.
guest_files() {
	mkdir -p "$build"
	_err=$build/mkinitrd-$1${2:+-$2}.err
	_out=$(sh "$top_srcdir"/tests/vm/mkinitrd.sh "$@" 2>"$_err")
	_rc=$?
	sed 's/^/# /' "$_err"
	[ $_rc -ne 77 ] ||
		skip "$(sed -n 's/^SKIP: //p' "$_err" | head -n 1)"
	[ $_rc -eq 0 ] || { echo "Bail out! tests/vm/mkinitrd.sh $* failed (status $_rc)"; exit 1; }
	kernel=$(echo "$_out" | tail -n 2 | head -n 1)
	initrd=$(echo "$_out" | tail -n 1)
}

section() {   # output lines of case $1
	awk -v n="$1" '$1 == "@@rc" && $2 == n { on = 0 } on { print } $1 == "@@case" && $2 == n { on = 1 }' "$log"
}

status() {    # exit status of case $1
	awk -v n="$1" '$1 == "@@rc" && $2 == n { print $3 }' "$log"
}
# value CASE PREFIX KEY: KEY=value from the case's first line starting with
# PREFIX; 0 for a nodeN= the helper leaves out (it prints nodes above 1
# only when they hold pages)
value() {
	section "$1" | awk -v p="$2" -v k="$3" '
		index($0, p) == 1 { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit }
			if (k ~ /^node[0-9]+$/) print 0; exit }'
}

fail() {
	n=$((n + 1))
	printf '%s\n' "$*" | tr '#' _ | sed "1s/^/not ok $n - /; 2,\$s/^/# /"
	fails=$((fails + 1))
}

ok() {
	n=$((n + 1))
	printf '%s\n' "$*" | tr '#' _ | sed "1s/^/ok $n - /; 2,\$s/^/# /"
}

expect_rc() {  # CASE WANT
	got=$(status "$1")
	if [ "$got" != "$2" ]; then
		fail "$1: exit status ${got:-missing}, want $2; its output:"
		section "$1" | sed 's/^/#     /'
		return 1
	fi
}

# on CASE SPEC NODE: every page of SPEC's blocks on NODE, none absent
on() {
	c=$1 spec=$2 want=$3
	line="spec $spec "
	pages=$(value "$c" "$line" pages)
	got=$(value "$c" "$line" "node$want")
	if [ -z "$pages" ] || [ "$pages" = 0 ]; then
		fail "$c: no result for $spec"
	elif [ "$got" != "$pages" ]; then
		fail "$c: $spec: $(section "$c" | grep "^$line")  (want all $pages on node $want)"
	else
		ok "$c: $spec: all $pages pages on node $want"
	fi
}

# share CASE SPEC NODE NUM DEN: NUM/DEN of the pages on NODE, within 2 units of 2 MiB
share() {
	c=$1 spec=$2 node=$3 num=$4 den=$5
	line="spec $spec "
	pages=$(value "$c" "$line" pages)
	got=$(value "$c" "$line" "node$node")
	absent=$(value "$c" "$line" absent)
	if [ -z "$pages" ]; then
		fail "$c: no result for $spec"
		return
	fi
	want=$((pages * num / den))
	slack=$((2 * 2097152 / 4096))
	d=$((got - want))
	[ $d -lt 0 ] && d=$((-d))
	if [ "$d" -gt "$slack" ] || [ "$absent" != 0 ]; then
		fail "$c: $spec: $got of $pages pages on node $node (absent $absent), want $want +- $slack"
	else
		ok "$c: $spec: $got of $pages pages on node $node (want $want +- $slack)"
	fi
}
