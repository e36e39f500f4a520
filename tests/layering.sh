#!/bin/sh
# Proves the layers run one way (docs/design.md): no object of src/ calls a name that libcxlmu.so exports (it would bind to the library's own hook through the PLT: a sched_yield from inside malloc would become the program's yield), and no file under src/ outside src/prim/ makes a raw syscall() (libcxlmu.so exports syscall too).
# It speaks TAP: one line per object of src/, one for the syscall check.
: "${top_builddir:=.}"
: "${top_srcdir:=.}"
lib=$top_builddir/.libs/libcxlmu.so
[ -r "$lib" ] || { echo "Bail out! $lib is not built"; exit 1; }
command -v nm >/dev/null || { echo "1..0 # SKIP nm (binutils) is needed"; exit 77; }
failed=0
n=0

nm -D --defined-only "$lib" | awk '{ sub(/@.*/, "", $3); print $3 }' | sort -u >exported.tmp.$$
objs=$(ls "$top_builddir"/src/.libs/*.o "$top_builddir"/src/prim/.libs/*.o 2>/dev/null)
[ -n "$objs" ] || { echo "Bail out! no objects under $top_builddir/src/.libs"; rm -f exported.tmp.$$; exit 1; }
for o in $objs; do
	nm -u "$o" | awk '{ sub(/@.*/, "", $2); print $2 }' | sort -u |
		comm -12 - exported.tmp.$$ >bound.tmp.$$
	n=$((n + 1))
	if [ -s bound.tmp.$$ ]; then
		echo "not ok $n - ${o##*/} calls nothing libcxlmu.so exports"
		echo "# it calls these, which bind to the library's own hooks: $(tr '\n' ' ' <bound.tmp.$$)"
		failed=1
	else
		echo "ok $n - ${o##*/} calls nothing libcxlmu.so exports"
	fi
done
rm -f exported.tmp.$$ bound.tmp.$$

# syscall( outside src/prim/, comments aside.
hits=$(find "$top_srcdir/src" -name '*.c' ! -path '*/prim/*' -exec grep -n '[^_a-z]syscall(' {} + |
	grep -v '^[^:]*:[0-9]*:[[:space:]]*/\?\*')
n=$((n + 1))
if [ -n "$hits" ]; then
	echo "not ok $n - no syscall() outside src/prim/"
	echo "# call cxlmu_prim_raw or a prim function instead:"
	echo "$hits" | sed 's/^/#     /'
	failed=1
else
	echo "ok $n - no syscall() outside src/prim/"
fi
echo "1..$n"
exit $failed
