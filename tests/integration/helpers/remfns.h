/* The remote test library's functions (remfns.c). */
#ifndef CXLMU_TESTS_REMFNS_H
#define CXLMU_TESTS_REMFNS_H

/* The project builds with -fvisibility=hidden: these are the library's. */
#pragma GCC visibility push(default)

struct rf_pair { long a, b; };          /* rax:rdx */
struct rf_dpair { double x, y; };       /* xmm0:xmm1 */
struct rf_mix { long a; double b; };    /* rax, xmm0 */
struct rf_big { long a, b, c; };        /* memory: hidden pointer in rdi */

int rf_add(int a, int b);
double rf_scale(double a, double b);
struct rf_pair rf_pair(long a, long b);
struct rf_dpair rf_dpair(double a, double b);
struct rf_mix rf_mix(long a, double b);
struct rf_big rf_big(long a);
float rf_fmul(float a, float b);
double rf_mixargs(int a, double b, long c, float d, int e, double f, long g, double h, long i);
double rf_eight(double a, double b, double c, double d, double e, double f, double g, double h);
int rf_fail(int e);
int rf_keep(void);
long rf_tid(void);
long rf_nested_tid(void);
int rf_sum7(int a, int b, int c, int d, int e, int f, int g);
int rf_vsum(int n, ...);
long double rf_ldbl(long double x);
int rf_stuck(void);
void rf_release(void);

#pragma GCC visibility pop

#endif
