#!/bin/sh
# Builds the emulated-CXL guest: fetches (once) the Debian kernel and packs a
# busybox initramfs with libcxlmu.so, cxlmu-run, the placement helper, every
# library ldd lists for them, and an /init that runs tests/vm/guest.sh.
#
#   mkinitrd.sh           environment: top_builddir, top_srcdir (as in make check)
#
# Writes $top_builddir/tests/vm/build/{vmlinuz-*,initrd.gz}; prints the paths
# of the kernel and the initramfs on its last two lines. Exit 0, or 77 with a
# reason when busybox, cpio or the kernel cannot be had.
# VM_KERNEL=FILE uses that kernel instead of fetching one;
# VM_CACHE=DIR keeps the fetched kernel there (default: the build dir).
set -eu

: "${top_builddir:?top_builddir must name the build tree}"
: "${top_srcdir:?top_srcdir must name the source tree}"
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

if [ -n "${VM_KERNEL:-}" ]; then
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
rm -rf "$root"
mkdir -p "$root"/bin "$root"/cxlmu/.libs "$root"/dev "$root"/proc "$root"/sys "$root"/tmp
cp "$busybox" "$root"/bin/busybox
# cxlmu-run finds the library in .libs beside itself, as in the build tree.
cp "$run" "$helper" "$sites" "$stat" "$root"/cxlmu/
cp "$lib" "$root"/cxlmu/.libs/
cp "$top_srcdir"/tests/vm/guest.sh "$root"/cxlmu/guest.sh

# Every shared library the programs need, at the path ldd resolved it to,
# and the dynamic loader at its own absolute path.
for f in "$busybox" "$run" "$helper" "$sites" "$stat" "$lib"; do
	ldd "$f" 2>/dev/null | awk '
		$2 == "=>" && $3 ~ /^\// { print $3 }
		$1 ~ /^\// { print $1 }'
done | sort -u | while read -r so; do
	mkdir -p "$root$(dirname "$so")"
	cp -L "$so" "$root$so"
done

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

(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -1 > "$build"/initrd.gz
rm -rf "$root"
echo "$kernel"
echo "$build/initrd.gz"
