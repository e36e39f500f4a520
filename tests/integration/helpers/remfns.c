/* The functions tests/integration/remote.sh names with --remote: every
 * register class the trampoline carries, errno, and the signatures it
 * must refuse. remhost links this library, so its calls go through the
 * PLT; remlate.c is a module that calls into it after start. */
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "remfns.h"

int rf_add(int a, int b) { return a + b; }
double rf_scale(double a, double b) { return a * b; }
struct rf_pair rf_pair(long a, long b) { return (struct rf_pair){ a * 2, b * 3 }; }
struct rf_dpair rf_dpair(double a, double b) { return (struct rf_dpair){ a + 0.25, b - 0.5 }; }
struct rf_mix rf_mix(long a, double b) { return (struct rf_mix){ a - 1, b * 2 }; }
struct rf_big rf_big(long a) { return (struct rf_big){ a, a * a, -a }; }
float rf_fmul(float a, float b) { return a * b; }

double rf_mixargs(int a, double b, long c, float d, int e, double f, long g, double h, long i)
{
	return a + b * 2 + (double)c * 3 + d * 4 + e * 5 + f * 6 + (double)g * 7 + h * 8 + (double)i * 9;
}

double rf_eight(double a, double b, double c, double d, double e, double f, double g, double h)
{
	return a - b + c - d + e - f + g - h;
}

int rf_fail(int e)
{
	errno = e;
	return -1;
}

int rf_keep(void) { return 7; }

long rf_tid(void) { return syscall(SYS_gettid); }

/* Through the PLT again, on the agent: runs there, not sent once more. */
long rf_nested_tid(void) { return rf_tid(); }

int rf_sum7(int a, int b, int c, int d, int e, int f, int g) { return a + b + c + d + e + f + g; }

int rf_vsum(int n, ...)
{
	va_list ap;
	int s = 0;

	va_start(ap, n);
	while (n-- > 0)
		s += va_arg(ap, int);
	va_end(ap);
	return s;
}

long double rf_ldbl(long double x) { return x * 3; }

static volatile int released;

/* Blocks its agent until rf_release (called locally) or 10 s. */
int rf_stuck(void)
{
	for (int i = 0; i < 10000 && !released; i++)
		usleep(1000);
	return released;
}

void rf_release(void) { released = 1; }
