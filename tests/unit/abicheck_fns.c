/* Functions for check_abicheck to read: real compiled code, one of each
 * signature the remote trampoline can or cannot carry. This file is built
 * twice into the test: as itself, with names abi_O2_<name>, and through
 * abicheck_fns_O0.c, with names abi_O0_<name>. The level is set per
 * function with the optimize attribute: automake cannot give one source
 * its own CFLAGS, and the user's CFLAGS come last on the command line, so
 * -O0 there would turn the -O2 copy into a second -O0 one. The test finds
 * the functions by name in the dynamic symbol table (the program is linked
 * with -export-dynamic), hence default visibility and no prototypes.
 * noipa keeps GCC from inlining, cloning or specialising them: each must
 * keep the signature its name promises. */
#include <alloca.h>
#include <stdarg.h>

#ifndef ABI_FN
#define ABI_FN(name) abi_O2_##name
#endif

#ifdef __clang__
/* clang has no optimize attribute: the -O2 copy takes the build's level. */
#define ABI_ATTR_O0 __attribute__((optnone))
#define ABI_ATTR_O2
#define ABI_NOIPA __attribute__((noinline))
#else
#define ABI_ATTR_O0 __attribute__((optimize("O0")))
#define ABI_ATTR_O2 __attribute__((optimize("O2")))
#define ABI_NOIPA __attribute__((noipa))
#endif
#define ABI_ATTR_(lvl) ABI_ATTR_##lvl
#define ABI_ATTR(lvl) ABI_ATTR_(lvl)

#ifdef ABI_LEVEL_O0
#define FN_LEVEL ABI_ATTR(O0)
#else
#define FN_LEVEL ABI_ATTR(O2)
#endif

#define FN(name) __attribute__((visibility("default"), used)) ABI_NOIPA FN_LEVEL ABI_FN(name)

struct lpair { long a, b; };            /* rax:rdx */
struct dpair { double x, y; };          /* xmm0:xmm1 */
struct tri { long a, b, c; };           /* memory, through the pointer in rdi */
struct big32 { long a, b, c, d; };      /* passed on the stack */

/* ---- what the trampoline carries ---- */

int FN(add)(int a, int b)
{
	return a + b;
}

double FN(scale)(double x, double k)
{
	return x * k;
}

struct lpair FN(lpair)(long a, long b)
{
	return (struct lpair){ a + b, a - b };
}

struct dpair FN(dpair)(double x, double y)
{
	return (struct dpair){ x + y, x - y };
}

int FN(six)(int a, int b, int c, int d, int e, int f)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f;
}

double FN(eight)(double a, double b, double c, double d, double e, double f,
		 double g, double h)
{
	return a + b * c + d * e + f * g + h;
}

struct tri FN(tri)(long a, long b)
{
	return (struct tri){ a, b, a + b };
}

void FN(sink)(long *a, int n)
{
	for (int i = 0; i < n; i++)
		a[i] ^= i;
}

/* A big frame, and callee-saved registers pushed at every level: the asm
 * clobbers them, so even -O0 saves them. Its accesses reach far above the
 * final rsp; only the tracked pushes keep them from looking like
 * arguments. */
long FN(locals)(long n, long m)
{
	long a[256];
	long x = n * 3, y = m * 5, z = n ^ m, w = n - m, v = n + m, u = n * m;

	__asm__ volatile("" ::: "rbx", "r12", "r13", "r14", "r15");
	for (int i = 0; i < 256; i++)
		a[i] = i * x + y;
	ABI_FN(sink)(a, 256);
	return a[n & 255] + x + y + z + w + v + u + a[m & 255];
}

/* ---- what the trampoline cannot carry ---- */

int FN(seven)(int a, int b, int c, int d, int e, int f, int g)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g;
}

double FN(nine)(double a, double b, double c, double d, double e, double f,
		double g, double h, double i)
{
	return a + b * c + d * e + f * g + h * i;
}

long FN(big32)(struct big32 s)
{
	return s.a + 2 * s.b + 3 * s.c + 4 * s.d;
}

long double FN(ldboth)(long double x)
{
	return x * 3;
}

long double FN(ldret)(double x)
{
	return (long double)x / 3;
}

double FN(ldarg)(long double x)
{
	return (double)(x / 3);
}

int FN(vsum_int)(int n, ...)
{
	va_list ap;
	int s = 0;

	va_start(ap, n);
	while (n--)
		s += va_arg(ap, int);
	va_end(ap);
	return s;
}

double FN(vsum_dbl)(int n, ...)
{
	va_list ap;
	double s = 0;

	va_start(ap, n);
	while (n--)
		s += va_arg(ap, double);
	va_end(ap);
	return s;
}

/* ---- the frame tracking's hard cases ---- */

/* Makes a seven-argument call: the outgoing seventh is its own store at
 * the bottom of its frame, not an argument of its own. */
int FN(calls7)(int a)
{
	return ABI_FN(seven)(a, a + 1, a + 2, a + 3, a + 4, a + 5, a * 7) + 1;
}

/* The seventh argument read after pushes and a call, past an early
 * return that GCC -O2 places before the prologue (shrink-wrapping). */
long FN(late7)(long *p, long b, long c, long d, long e, long f, long g)
{
	long a[16];

	if (!p)
		return -1;
	for (int i = 0; i < 16; i++)
		a[i] = p[i] + b;
	ABI_FN(sink)(a, 16);
	return a[c & 15] + d + e + f + g;
}

/* Shrink-wrapped too, but with nothing beyond its six registers. */
long FN(early)(long *p, long n)
{
	long a[16];

	if (!p)
		return -1;
	for (int i = 0; i < 16; i++)
		a[i] = p[i] * n;
	ABI_FN(sink)(a, 16);
	return a[n & 15] + n;
}

/* rsp moves by a run-time amount: only rbp-based accesses can be judged. */
long FN(dynamic)(int n)
{
	long *p = alloca((n + 1) * sizeof(long));

	ABI_FN(sink)(p, n + 1);
	return p[0] + p[n];
}

/* A jump table: its targets are reached by no direct jump, and they
 * address the locals relative to rsp. */
long FN(jumptab)(int k, long x)
{
	long a[8] = { x, x + 1, x + 2, x + 3, x + 4, x + 5, x + 6, x + 7 };

	switch (k) {
	case 0: return x;
	case 1: ABI_FN(sink)(a, 8); return a[1] * 5 + a[7];
	case 2: ABI_FN(sink)(a, 4); return a[2] * 7 + a[6];
	case 3: ABI_FN(sink)(a + 1, 3); return a[3] - 9 + a[5];
	case 4: ABI_FN(sink)(a + 2, 2); return a[4] ^ a[3];
	case 5: ABI_FN(sink)(a + 3, 5); return a[5] << 3;
	case 6: ABI_FN(sink)(a + 4, 4); return a[6] - a[7];
	default: return -1;
	}
}
