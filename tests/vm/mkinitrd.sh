#!/bin/sh
# Builds the emulated-CXL guest: fetches (once) the Debian kernel and packs a
# busybox initramfs with libcxlmu.so, cxlmu-run, the placement helper, every
# library ldd lists for them, and an /init that runs tests/vm/guest.sh.
#
#   mkinitrd.sh [placement]   environment: top_builddir, top_srcdir (as in make check)
#   mkinitrd.sh integration [6.1|6.12]
#                             the initramfs of tests/vm/integration.sh instead,
#                             with Debian 12's own kernel (6.1, the default) or
#                             the 6.12 one of the cxl guest
#   mkinitrd.sh cxl           the guest of tests/vm/cxl.sh: kernel 6.12 (below)
#
# Writes $top_builddir/tests/vm/build/{vmlinuz-*,initrd.gz} (integration:
# initrd-int.gz; cxl: initrd-cxl.gz and cxl-VERSION/vmlinuz); prints the
# paths of the kernel and the initramfs on its last two lines. Exit 0, or 77
# with a reason when busybox, cpio or the kernel cannot be had (integration:
# or /usr/bin/python3; cxl: or the ndctl packages, or xz).
#
# The integration initramfs holds the build tree's runtime, helpers and
# scripts at their own absolute paths (remhost's run path names the build
# tree), /usr/bin/python3 with the few modules the scripts' JSON checks
# import (with its standard library and the regression tests
# python-tests.sh runs, where libpython3.11-testsuite is installed),
# libcapstone (dlopened by --remote) when installed, every library
# ldd lists for all of them, and an /init that runs tests/vm/guest-int.sh.
#
# The cxl initramfs is the placement one plus what a guest with an emulated
# CXL type-3 device needs to turn it into a NUMA node: the CXL, nvdimm and
# dax modules of the newest linux-image-6.12.*+deb12-amd64 the archive has
# (decompressed, with /cxlmu/mods/order listing them dependencies first,
# from each module's depends=), and cxl, ndctl and daxctl from the Debian
# packages with their libraries. Its kernel is that package's vmlinuz
# (VM_KERNEL does not apply: the modules must match it).
# VM_KERNEL=FILE uses that kernel instead of fetching one (not for 6.12);
# VM_CACHE=DIR keeps the fetched kernel there (default: the build dir).
set -eu

: "${top_builddir:?top_builddir must name the build tree}"
: "${top_srcdir:?top_srcdir must name the source tree}"
what=${1:-placement}
kver=${2:-6.1}
case $what:$kver in
placement:6.1|integration:6.1|integration:6.12|cxl:6.1) ;;
*) echo "usage: mkinitrd.sh [placement|integration [6.1|6.12]|cxl]" >&2; exit 2 ;;
esac
build=$top_builddir/tests/vm/build
cache=${VM_CACHE:-$build}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

mkdir -p "$build" "$cache"

# --- the kernel ----------------------------------------------------------
fetch_kernel() {
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	      awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$pkg" ] || skip "apt-cache does not know linux-image-amd64 (run apt-get update," \
		"or set VM_KERNEL to a bzImage)"
	ver=${pkg#linux-image-}
	if [ -r "$cache/vmlinuz-$ver" ]; then
		echo "$cache/vmlinuz-$ver"
		return
	fi
	tmp=$(mktemp -d "$cache/fetch.XXXXXX")
	echo "mkinitrd: fetching $pkg" >&2
	if ! (cd "$tmp" && apt-get download "$pkg" >&2 2>/dev/null) ||
	   ! dpkg-deb --fsys-tarfile "$tmp"/"$pkg"_*.deb |
	     tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'; then
		rm -rf "$tmp"
		skip "cannot download $pkg with apt-get download (offline?);" \
			"set VM_KERNEL to a bzImage"
	fi
	# Only the kernel is kept: the package's modules are not needed, since
	# everything the guest uses (serial, ACPI poweroff, NUMA) is built in.
	mv "$tmp"/boot/vmlinuz-* "$cache/vmlinuz-$ver"
	rm -rf "$tmp"
	echo "$cache/vmlinuz-$ver"
}

if [ "$what" = cxl ] || [ "$kver" = 6.12 ]; then
	:   # its kernel comes with its modules, below
elif [ -n "${VM_KERNEL:-}" ]; then
	[ -r "$VM_KERNEL" ] || skip "VM_KERNEL=$VM_KERNEL is not readable"
	kernel=$VM_KERNEL
else
	command -v apt-cache >/dev/null && command -v apt-get >/dev/null &&
		command -v dpkg-deb >/dev/null ||
		skip "no apt-get/dpkg-deb to fetch a Debian kernel; set VM_KERNEL to a bzImage"
	kernel=$(fetch_kernel)
fi

# --- the initramfs -------------------------------------------------------
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || skip "busybox is not installed (Debian: busybox-static)"
command -v cpio >/dev/null || skip "cpio is not installed"

# copy_libs ROOT FILE...: every shared library ldd lists for the FILEs, at
# the path ldd resolved it to, and the dynamic loader at its own absolute
# path, copied under ROOT.
copy_libs() {
	_root=$1
	shift
	for f in "$@"; do
		ldd "$f" 2>/dev/null | awk '
			$2 == "=>" && $3 ~ /^\// { print $3 }
			$1 ~ /^\// { print $1 }'
	done | sort -u | while read -r so; do
		mkdir -p "$_root$(dirname "$so")"
		cp -L "$so" "$_root$so"
	done
}

# copy_dlopened ROOT: libunwind, which libcxlmu.so loads with dlopen for a
# profile or the sites policy (ldd cannot see it), at the path the host's
# loader finds it (a directory it searches by default), with what it needs.
copy_dlopened() {
	_soname=$(sed -n 's/.*CXLMU_UNWIND_SONAME "\(.*\)".*/\1/p' "$top_builddir"/config.h)
	_u=$(ldconfig -p 2>/dev/null | awk -v n="${_soname:-libunwind.so.8}" \
		'$1 == n && /x86-64/ { print $NF; exit }')
	[ -n "$_u" ] && [ -e "$_u" ] || return 0
	mkdir -p "$1$(dirname "$_u")"
	cp -L "$_u" "$1$_u"
	copy_libs "$1" "$_u"
}

# pack ROOT OUT: ROOT as a gzipped newc archive in OUT; ROOT is removed.
pack() {
	(cd "$1" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -1 > "$2"
	rm -rf "$1"
}

# The integration initramfs (tests/vm/integration.sh).
integration_initrd() {
	py=/usr/bin/python3
	[ -x $py ] || skip "$py is not installed: the integration scripts read the runtime's JSON reports with it"
	bdir=$(cd "$top_builddir" && pwd)
	sdir=$(cd "$top_srcdir" && pwd)
	H=$bdir/tests/integration/helpers
	lib=$bdir/.libs/libcxlmu.so
	for f in "$bdir"/cxlmu-run "$lib" "$bdir"/cxlmu-bench-seedpoll "$H"/fibers "$H"/remhost \
		"$H"/.libs/libremfns.so "$H"/.libs/remlate.so "$H"/.libs/remwrap.so; do
		[ -r "$f" ] || { echo "mkinitrd: $f is not built (make check builds it)" >&2; exit 1; }
	done
	root=$build/root-int
	rm -rf "$root"
	mkdir -p "$root"/bin "$root"/usr/bin "$root"/cxlmu "$root"/dev "$root"/proc "$root"/sys \
		"$root"/tmp "$root$bdir"/.libs "$root$H"/.libs "$root$sdir"/tests/integration
	cp "$busybox" "$root"/bin/busybox
	cp "$top_srcdir"/tests/vm/guest-int.sh "$root"/cxlmu/guest-int.sh
	printf 'top_builddir=%s\ntop_srcdir=%s\n' "$bdir" "$sdir" > "$root"/cxlmu/int.env

	# The build tree's programs at their own paths: cxlmu-run finds the
	# library in .libs beside itself, remhost its libremfns by run path.
	elves=
	for f in "$bdir"/cxlmu-run "$bdir"/cxlmu-bench-seedpoll "$bdir"/cxlmu-bench-pingpong "$H"/*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		case $(head -c 4 "$f") in *ELF) ;; *) continue ;; esac
		cp "$f" "$root$f"
		elves="$elves $f"
	done
	cp "$lib" "$root$lib"
	for f in "$H"/.libs/*.so; do
		cp "$f" "$root$f"
		elves="$elves $f"
	done
	cp "$sdir"/tests/integration/*.sh "$sdir"/tests/integration/checkjson.py \
		"$root$sdir"/tests/integration/

	# python3 and what the scripts' JSON checks import (json, sys; site and
	# the codecs come with the start), at the paths this python finds them.
	cp -L $py "$root"/usr/bin/python3
	mods=$(env -i $py -c '
import json, sys, os, signal, threading, time, encodings.ascii, encodings.latin_1
for m in list(sys.modules.values()):
    for a in ("__file__", "__cached__"):
        f = getattr(m, a, None)
        if f and os.path.exists(f):
            print(os.path.abspath(f))') ||
		skip "$py cannot import json here"
	for f in $mods; do
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
		case $f in *.so) elves="$elves $f" ;; esac
	done

	# Python's own regression tests (python-tests.sh), where Debian's
	# libpython3.11-testsuite is installed: the standard library but what
	# no test run here imports, the test runner and the modules it runs.
	pylib=$(env -i $py -c 'import os; print(os.path.dirname(os.__file__))')
	if [ -f "$pylib/test/libregrtest/__init__.py" ]; then
		(cd "$pylib" && find . \( -path ./test -o -path './config-*' -o -path ./site-packages \
			-o -path ./dist-packages -o -path ./idlelib -o -path ./tkinter \
			-o -path ./turtledemo -o -path ./ensurepip -o -path ./lib2to3 \
			-o -path ./pydoc_data \) -prune -o ! -type d ! -name '*.opt-[12].pyc' -print
		 cd test && find __init__.py __main__.py support libregrtest lock_tests.py \
			test_thread.py test_threading.py test_socket.py __pycache__ \
			! -type d ! -name '*.opt-[12].pyc' -print | sed 's,^,./test/,' |
			grep -E '^\./test/(__pycache__/)?(__init__|__main__|lock_tests|test_thread|test_threading|test_socket)[.]|/support/|/libregrtest/') |
			(cd "$pylib" && cpio -pdmLu --quiet "$root$pylib")
		elves="$elves $(ls "$pylib"/lib-dynload/*.so)"
	fi

	# --remote checks functions with capstone, dlopened: ldd cannot see it.
	# In the guest it lies where remote.sh looks for it (busybox has no
	# ldconfig), a directory the loader searches by default.
	cap=$(ldconfig -p 2>/dev/null | awk '$1 == "libcapstone.so.4" && /x86-64/ { print $NF; exit }')
	[ -n "$cap" ] || cap=/usr/lib/x86_64-linux-gnu/libcapstone.so.4
	if [ -e "$cap" ]; then
		mkdir -p "$root"/usr/lib/x86_64-linux-gnu
		cp -L "$cap" "$root"/usr/lib/x86_64-linux-gnu/libcapstone.so.4
		elves="$elves $cap"
	fi

	# shellcheck disable=SC2086
	copy_libs "$root" "$busybox" "$lib" $py $elves
	copy_dlopened "$root"

	# No tmpfs over /tmp: the build tree may be there, and the initramfs
	# is writable itself.
	cat > "$root"/init <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
exec 0</dev/console 1>/dev/console 2>&1
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
mount -t sysfs sys /sys
mkdir -p /dev/shm /tmp
mount -t tmpfs shm /dev/shm
chmod 1777 /tmp
export PATH=/bin:/usr/bin HOME=/
echo "@@cxlmu-vm-start $(uname -r)"
. /cxlmu/guest-int.sh
echo "@@cxlmu-vm-done"
poweroff -f
INIT
	chmod +x "$root"/init
	pack "$root" "$build"/initrd-int.gz
	echo "$kernel"
	echo "$build/initrd-int.gz"
}

if [ "$what" = integration ] && [ "$kver" = 6.1 ]; then
	integration_initrd
	exit 0
fi

# --- the cxl guest's kernel, modules and tools ---------------------------
# The modules the guest loads (tests/vm/guest.sh set_cxl), and those they
# depend on: the ACPI CXL root, the type-3 device's PCI and memdev drivers,
# the pmem bridge to nvdimm, devdax namespaces and their onlining as RAM.
# cxl_core, cxl_port and the region code are built into Debian's 6.12.
cxl_mods="cxl_acpi cxl_pci cxl_mem cxl_pmem nd_pmem dax_pmem device_dax kmem"
# cxl, ndctl, daxctl and the libraries of theirs that a Debian host may lack.
cxl_tool_pkgs="ndctl daxctl libcxl1 libndctl6 libdaxctl1 libtraceevent1 libtracefs1 libiniparser1"

# mod_deps FILE: the modules FILE's .modinfo says it depends on
mod_deps() {
	tr '\0' '\n' < "$1" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' '
}

# cxl_mod DIR NAME: NAME's module and, first, those it depends on, found
# under the unpacked package DIR, decompressed into $kdir/mods; each name
# appended to $kdir/mods/order after its dependencies.
cxl_mod() {
	case " $cxl_seen " in *" $2 "*) return 0 ;; esac
	cxl_seen="$cxl_seen $2"
	f=$(find "$1" -name "$2.ko*" | head -n 1)
	[ -n "$f" ] || f=$(find "$1" -name "$(echo "$2" | tr _ -).ko*" | head -n 1)
	[ -n "$f" ] || { echo "mkinitrd: no module $2 in the kernel package" >&2; return 1; }
	case $f in
	*.ko.xz) xz -dc "$f" > "$kdir/mods/$2.ko" ;;
	*.ko.zst) zstd -qdc "$f" > "$kdir/mods/$2.ko" ;;
	*.ko.gz) gzip -dc "$f" > "$kdir/mods/$2.ko" ;;
	*) cp "$f" "$kdir/mods/$2.ko" ;;
	esac || return 1
	for d in $(mod_deps "$kdir/mods/$2.ko"); do
		cxl_mod "$1" "$d" || return 1
	done
	echo "$2" >> "$kdir/mods/order"
}

# Sets kernel and kdir: the newest 6.12 Debian 12 kernel and its modules,
# fetched once into $cache/cxl-VERSION.
cxl_kernel() {
	command -v apt-cache >/dev/null && command -v apt-get >/dev/null &&
		command -v dpkg-deb >/dev/null ||
		skip "no apt-get/dpkg-deb to fetch the Debian 6.12 kernel the CXL guest needs"
	command -v xz >/dev/null || skip "xz is not installed: the kernel's modules are xz-compressed"
	pkg=$(apt-cache pkgnames linux-image-6.12. 2>/dev/null |
	      grep -E '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' | sort -V | tail -n 1)
	[ -n "$pkg" ] || skip "apt-cache knows no linux-image-6.12.*+deb12-amd64" \
		"(bookworm's security or updates archive; run apt-get update)"
	ver=${pkg#linux-image-}
	kdir=$cache/cxl-$ver
	kernel=$kdir/vmlinuz
	[ -r "$kdir/done" ] && return 0
	rm -rf "$kdir"
	mkdir -p "$kdir/mods"
	tmp=$(mktemp -d "$cache/fetch.XXXXXX")
	echo "mkinitrd: fetching $pkg" >&2
	if ! (cd "$tmp" && apt-get download "$pkg" >&2 2>/dev/null) ||
	   ! dpkg-deb --fsys-tarfile "$tmp"/"$pkg"_*.deb |
	     tar -x -C "$tmp" --wildcards './boot/vmlinuz-*' '*/kernel/drivers/cxl/*' \
		'*/kernel/drivers/nvdimm/*' '*/kernel/drivers/dax/*'; then
		rm -rf "$tmp" "$kdir"
		skip "cannot download $pkg with apt-get download (offline?)"
	fi
	cxl_seen=
	for m in $cxl_mods; do
		cxl_mod "$tmp" "$m" || { rm -rf "$tmp" "$kdir"; exit 1; }
	done
	mv "$tmp"/boot/vmlinuz-* "$kernel"
	rm -rf "$tmp"
	echo "$pkg" > "$kdir/done"
}

# Sets tools: the cxl, ndctl and daxctl packages unpacked (once) into it.
cxl_tools() {
	tools=$cache/cxl-tools
	[ -r "$tools/done" ] && return 0
	rm -rf "$tools"
	mkdir -p "$tools"
	tmp=$(mktemp -d "$cache/fetch.XXXXXX")
	echo "mkinitrd: fetching $cxl_tool_pkgs" >&2
	# shellcheck disable=SC2086
	if ! (cd "$tmp" && apt-get download $cxl_tool_pkgs >&2 2>/dev/null); then
		rm -rf "$tmp" "$tools"
		skip "cannot download $cxl_tool_pkgs with apt-get download"
	fi
	for d in "$tmp"/*.deb; do
		dpkg-deb -x "$d" "$tools" || { rm -rf "$tmp" "$tools"; exit 1; }
	done
	rm -rf "$tmp"
	: > "$tools/done"
}

# cxl_root ROOT: the modules, their load order and the tools in ROOT, with
# every library the tools need (their own packages' first, then the host's).
cxl_root() {
	mkdir -p "$1"/cxlmu/mods "$1"/usr/bin "$1"/usr/lib/x86_64-linux-gnu
	cp "$kdir"/mods/*.ko "$kdir"/mods/order "$1"/cxlmu/mods/
	tlib=$tools/usr/lib/x86_64-linux-gnu
	cp "$tools"/usr/bin/cxl "$tools"/usr/bin/ndctl "$tools"/usr/bin/daxctl "$1"/usr/bin/
	cp -a "$tlib"/*.so* "$1"/usr/lib/x86_64-linux-gnu/
	miss=$(LD_LIBRARY_PATH=$tlib ldd "$tools"/usr/bin/cxl "$tools"/usr/bin/ndctl \
		"$tools"/usr/bin/daxctl 2>&1 | awk '/not found/ { print $1 }' | sort -u | tr '\n' ' ')
	[ -z "$miss" ] || skip "the ndctl tools need libraries neither their packages nor the host have: $miss"
	for f in cxl ndctl daxctl; do
		LD_LIBRARY_PATH=$tlib ldd "$tools/usr/bin/$f"
	done | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
	grep -v "^$tools/" | sort -u | while read -r so; do
		mkdir -p "$1$(dirname "$so")"
		cp -L "$so" "$1$so"
	done
}

if [ "$what" = integration ]; then    # on 6.12
	cxl_kernel
	integration_initrd
	exit 0
fi
if [ "$what" = cxl ]; then
	cxl_kernel
	cxl_tools
fi


helper=$top_builddir/tests/vm/helpers/placement
sites=$top_builddir/tests/integration/helpers/sites
run=$top_builddir/cxlmu-run
stat=$top_builddir/cxlmu-stat
lib=$top_builddir/.libs/libcxlmu.so
[ "${HAVE_LIBDW:-yes}" = no ] &&
	skip "cxlmu-stat was not built (configure found no libdw; apt-get install libdw-dev): the guest's sites case needs it"
for f in "$helper" "$sites" "$run" "$stat" "$lib"; do
	[ -r "$f" ] || { echo "mkinitrd: $f is not built" >&2; exit 1; }
done

root=$build/root
out=$build/initrd.gz
if [ "$what" = cxl ]; then
	root=$build/root-cxl
	out=$build/initrd-cxl.gz
fi
rm -rf "$root"
mkdir -p "$root"/bin "$root"/cxlmu/.libs "$root"/dev "$root"/proc "$root"/sys "$root"/tmp
cp "$busybox" "$root"/bin/busybox
# cxlmu-run finds the library in .libs beside itself, as in the build tree.
cp "$run" "$helper" "$sites" "$stat" "$root"/cxlmu/
cp "$lib" "$root"/cxlmu/.libs/
cp "$top_srcdir"/tests/vm/guest.sh "$root"/cxlmu/guest.sh

# Every shared library the programs need.
copy_libs "$root" "$busybox" "$run" "$helper" "$sites" "$stat" "$lib"
copy_dlopened "$root"
[ "$what" = cxl ] && cxl_root "$root"

# No device nodes in the archive (making them needs root): /init mounts
# devtmpfs before anything and takes its console from there.
cat > "$root"/init <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
exec 0</dev/console 1>/dev/console 2>&1
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
echo "@@cxlmu-vm-start $(uname -r)"
. /cxlmu/guest.sh
echo "@@cxlmu-vm-done"
poweroff -f
EOF
chmod +x "$root"/init

pack "$root" "$out"
echo "$kernel"
echo "$out"
