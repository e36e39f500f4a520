/* Shared by the integration helpers: failure reporting, thread helpers and
 * the page policy check (get_mempolicy with MPOL_F_ADDR). Helpers never
 * link libcxlmu; they run under LD_PRELOAD and reach its public API through
 * dlsym. */
#ifndef CXLMU_TESTS_INTEGRATION_COMMON_H
#define CXLMU_TESTS_INTEGRATION_COMMON_H

#include <dlfcn.h>
#include <linux/mempolicy.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int t_failures;

/* For the thread helpers: a thread that must start (else exit 1), the
 * monotonic clock in ns, and pthread_self as a real call (glibc declares
 * it const, so the compiler may reuse one call's answer). */
static inline pthread_t t_start(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	int r = pthread_create(&t, NULL, fn, arg);

	if (r) {
		fprintf(stderr, "FAIL: pthread_create: %s\n", strerror(r));
		exit(1);
	}
	return t;
}

/* The process's resident pages (/proc/self/statm), 0 when unreadable. */
static inline long t_rss_pages(void)
{
	long size = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &size, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss;
}

static inline long long t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static pthread_t __attribute__((noinline, unused)) t_self_now(void)
{
	pthread_t t = pthread_self();

	__asm__ volatile("" : "+r"(t) : : "memory");
	return t;
}

#define T_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			t_failures++;					\
		}							\
	} while (0)

/* What the policy of the page holding addr must be. */
enum t_expect {
	T_ANY,        /* no check */
	T_DRAM,       /* MPOL_DEFAULT: left to the kernel */
	T_CXL,        /* MPOL_PREFERRED {0} (emulated CXL on node 0) */
	T_CXL_STRICT, /* MPOL_BIND {0} */
	T_LOCAL,      /* MPOL_LOCAL: a DRAM unit of an interleaved range */
};

static inline const char *t_mode_name(int mode)
{
	switch (mode) {
	case MPOL_DEFAULT: return "DEFAULT";
	case MPOL_PREFERRED: return "PREFERRED";
	case MPOL_BIND: return "BIND";
	case MPOL_INTERLEAVE: return "INTERLEAVE";
	case MPOL_LOCAL: return "LOCAL";
	default: return "?";
	}
}

/* Mode of the range holding addr (flags stripped); mask gets its nodes. */
static inline int t_page_policy(const void *addr, unsigned long *mask)
{
	int mode = -1;
	unsigned long m[16] = { 0 };

	if (syscall(SYS_get_mempolicy, &mode, m, sizeof(m) * 8, addr, MPOL_F_ADDR))
		return -1;
	if (mask)
		*mask = m[0];
	return mode & ~MPOL_MODE_FLAGS;
}

/* Check that addr sits where want says; what names the block in messages. */
static inline void t_expect_at(const void *addr, enum t_expect want, const char *what)
{
	unsigned long mask = 0;
	int mode;

	if (want == T_ANY || !addr)
		return;
	mode = t_page_policy(addr, &mask);
	switch (want) {
	case T_DRAM:
		T_CHECK(mode == MPOL_DEFAULT, "%s at %p: policy %s, want DEFAULT (DRAM tier)",
			what, addr, t_mode_name(mode));
		break;
	case T_CXL:
		T_CHECK(mode == MPOL_PREFERRED && mask == 1, "%s at %p: policy %s mask %#lx, want PREFERRED {0}",
			what, addr, t_mode_name(mode), mask);
		break;
	case T_CXL_STRICT:
		T_CHECK(mode == MPOL_BIND && mask == 1, "%s at %p: policy %s mask %#lx, want BIND {0}",
			what, addr, t_mode_name(mode), mask);
		break;
	case T_LOCAL:
		T_CHECK(mode == MPOL_LOCAL, "%s at %p: policy %s, want LOCAL",
			what, addr, t_mode_name(mode));
		break;
	default:
		break;
	}
}

/* "dram", "cxl", "strict" or "any" (argv of the helpers). */
static inline enum t_expect t_parse_expect(const char *s)
{
	if (!s || !strcmp(s, "any"))
		return T_ANY;
	if (!strcmp(s, "dram"))
		return T_DRAM;
	if (!strcmp(s, "cxl"))
		return T_CXL;
	if (!strcmp(s, "strict"))
		return T_CXL_STRICT;
	fprintf(stderr, "unknown expectation '%s'\n", s);
	exit(2);
}

/* The preloaded runtime must be there: a helper run without it proves nothing. */
static inline void t_require_preload(void)
{
	if (!dlsym(RTLD_DEFAULT, "cxlmu_version")) {
		fprintf(stderr, "FAIL: libcxlmu.so is not preloaded (no cxlmu_version)\n");
		exit(1);
	}
}

static inline int t_done(const char *name)
{
	if (t_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name, t_failures);
		return 1;
	}
	printf("%s: ok\n", name);
	return 0;
}

#endif
