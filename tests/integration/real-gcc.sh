#!/bin/sh
# Proves gcc (driver, cc1, as, ld) compiles and links a C program under each policy, and the program it built runs, with output identical to a plain run.
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_cmd gcc
cat >"$WORK/hello.c" <<'EOS'
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
	char *p = malloc(1 << 20);
	p[0] = 'h';
	printf("%cello, world\n", p[0]);
	free(p);
	return 0;
}
EOS
export SRC="$WORK/hello.c"
same_as_plain gcc /bin/sh -c 'gcc -O2 -Wall -o hello "$SRC" && ./hello && gcc -S -o - "$SRC" | grep -c "call"'
finish
