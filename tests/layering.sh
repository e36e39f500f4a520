#!/bin/sh
# Proves the layers run one way (docs/design.md): no object of src/ calls a name that libcxlmu.so exports (it would bind to the library's own hook through the PLT: a sched_yield from inside malloc would become the program's yield), and no file under src/ outside src/prim/ makes a raw syscall() (libcxlmu.so exports syscall too).
: "${top_builddir:=.}"
: "${top_srcdir:=.}"
lib=$top_builddir/.libs/libcxlmu.so
[ -r "$lib" ] || { echo "FAIL: $lib is not built" >&2; exit 1; }
command -v nm >/dev/null || { echo "SKIP: nm (binutils) is needed" >&2; exit 77; }
failed=0

nm -D --defined-only "$lib" | awk '{ sub(/@.*/, "", $3); print $3 }' | sort -u >exported.tmp.$$
objs=$(ls "$top_builddir"/src/.libs/*.o "$top_builddir"/src/prim/.libs/*.o 2>/dev/null)
[ -n "$objs" ] || { echo "FAIL: no objects under $top_builddir/src/.libs" >&2; rm -f exported.tmp.$$; exit 1; }
for o in $objs; do
	nm -u "$o" | awk '{ sub(/@.*/, "", $2); print $2 }' | sort -u |
		comm -12 - exported.tmp.$$ >bound.tmp.$$
	if [ -s bound.tmp.$$ ]; then
		echo "FAIL: ${o##*/} calls what libcxlmu.so exports (its own hooks): $(tr '\n' ' ' <bound.tmp.$$)" >&2
		failed=1
	fi
done
rm -f exported.tmp.$$ bound.tmp.$$

# syscall( outside src/prim/, comments aside.
hits=$(find "$top_srcdir/src" -name '*.c' ! -path '*/prim/*' -exec grep -n '[^_a-z]syscall(' {} + |
	grep -v '^[^:]*:[0-9]*:[[:space:]]*/\?\*')
if [ -n "$hits" ]; then
	echo "FAIL: syscall() outside src/prim/ (call cxlmu_prim_raw or a prim function):" >&2
	echo "$hits" | sed 's/^/    /' >&2
	failed=1
fi
exit $failed
