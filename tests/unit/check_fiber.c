/* The fiber context switch: control goes back and forth as asked, values
 * live across a switch survive, each context keeps its own MXCSR and x87
 * control word, a fiber's stack holds deep recursion and its guard page
 * stops an overflow, and the FS-base switch gives a fiber another thread's
 * identity (__thread, errno, pthread_self). */
#include <check.h>
#include <errno.h>
#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fiber.h"
#include "unit.h"

static struct cxlmu_fiber_ctx main_ctx, fib_ctx;
static struct cxlmu_fiber_stack stk;
static volatile int steps;

static void setup(void)
{
	int r = cxlmu_fiber_stack_alloc(&stk, 256 * 1024, 4096);
	ck_assert_msg(r == 0, "stack_alloc: %s", strerror(-r));
	steps = 0;
}

static void teardown(void)
{
	cxlmu_fiber_stack_free(&stk);
}

/* ----------------------------------------------------------------------- */

static void counter_fiber(void *arg)
{
	int n = *(int *)arg;

	for (int i = 0; i < n; i++) {
		ck_assert_msg(steps == 2 * i + 1, "fiber sees step %d, want %d", steps, 2 * i + 1);
		steps++;
		cxlmu_fiber_switch(&fib_ctx, &main_ctx);
	}
	for (;;)
		cxlmu_fiber_switch(&fib_ctx, &main_ctx);
}

START_TEST(ping_pong)
{
	int n = 100000;

	cxlmu_fiber_make(&fib_ctx, stk.stack, stk.size, counter_fiber, &n);
	for (int i = 0; i < n; i++) {
		ck_assert_msg(steps == 2 * i, "main sees step %d, want %d", steps, 2 * i);
		steps++;
		cxlmu_fiber_switch(&main_ctx, &fib_ctx);
	}
	ck_assert_int_eq(steps, 2 * n);
}
END_TEST

/* Values the compiler keeps in callee-saved registers across the switch
 * calls: a wrong restore changes the sums. */
static void noisy_fiber(void *arg)
{
	(void)arg;
	for (;;) {
		volatile uint64_t junk[16];
		uint64_t a = 0x1111, b = 0x2222, c = 0x3333, d = 0x4444, e = 0x5555, f = 0x6666;
		for (int i = 0; i < 16; i++)
			junk[i] = ~(uint64_t)i;
		a += junk[1]; b ^= junk[2]; c -= junk[3]; d *= 3; e += d; f ^= e;
		cxlmu_fiber_switch(&fib_ctx, &main_ctx);
		steps += (int)((a + b + c + d + e + f) & 1);
	}
}

START_TEST(registers_survive)
{
	uint64_t a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7;

	cxlmu_fiber_make(&fib_ctx, stk.stack, stk.size, noisy_fiber, NULL);
	for (int i = 0; i < 1000; i++) {
		a = a * 3 + 1; b = b * 5 + 2; c = c * 7 + 3; d ^= a; e += b; f -= c; g += a ^ f;
		cxlmu_fiber_switch(&main_ctx, &fib_ctx);
		/* Recompute the same chain without switching: must agree. */
	}
	{
		uint64_t A = 1, B = 2, C = 3, D = 4, E = 5, F = 6, G = 7;
		for (int i = 0; i < 1000; i++) {
			A = A * 3 + 1; B = B * 5 + 2; C = C * 7 + 3; D ^= A; E += B; F -= C; G += A ^ F;
		}
		ck_assert_msg(a == A && b == B && c == C && d == D && e == E && f == F && g == G,
			      "values live across switches changed");
	}
}
END_TEST

/* ----------------------------------------------------------------------- */

static uint16_t get_fcw(void)
{
	uint16_t cw;
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	return cw;
}

static void set_fcw(uint16_t cw)
{
	__asm__ volatile("fldcw %0" : : "m"(cw));
}

static uint32_t get_mxcsr(void)
{
	uint32_t m;
	__asm__ volatile("stmxcsr %0" : "=m"(m));
	return m;
}

static volatile int fiber_round, fiber_ok;
static volatile uint32_t fiber_mxcsr_rc;

static void fp_fiber(void *arg)
{
	(void)arg;
	fesetround(FE_UPWARD);
	set_fcw((uint16_t)((get_fcw() & ~0x300) | 0x000));   /* x87 precision: single */
	for (;;) {
		cxlmu_fiber_switch(&fib_ctx, &main_ctx);
		fiber_round = fegetround();
		fiber_ok = (get_fcw() & 0x300) == 0x000;
		fiber_mxcsr_rc = get_mxcsr() & 0x6000;
	}
}

START_TEST(fp_state_per_context)
{
	uint16_t cw = get_fcw();
	uint32_t mxcsr = get_mxcsr();

	ck_assert_int_eq(fegetround(), FE_TONEAREST);
	cxlmu_fiber_make(&fib_ctx, stk.stack, stk.size, fp_fiber, NULL);
	cxlmu_fiber_switch(&main_ctx, &fib_ctx);
	ck_assert_msg(fegetround() == FE_TONEAREST, "the fiber's rounding mode leaked out");
	ck_assert_msg(get_fcw() == cw, "the fiber's x87 control word leaked out: %#x, was %#x",
		      get_fcw(), cw);
	/* fegetround reads the x87 word only: MXCSR (SSE arithmetic) is
	 * checked on its own. */
	ck_assert_msg(get_mxcsr() == mxcsr, "the fiber's MXCSR leaked out: %#x, was %#x",
		      get_mxcsr(), mxcsr);
	cxlmu_fiber_switch(&main_ctx, &fib_ctx);
	ck_assert_msg(fiber_round == FE_UPWARD, "the fiber lost its rounding mode");
	ck_assert_msg(fiber_mxcsr_rc == 0x4000, "the fiber's MXCSR rounding is %#x, want up (0x4000)",
		      fiber_mxcsr_rc);
	ck_assert_msg(fiber_ok, "the fiber lost its x87 precision control");
	ck_assert_int_eq(fegetround(), FE_TONEAREST);
}
END_TEST

/* A new fiber starts with its creator's floating-point modes. */
static void inherit_fiber(void *arg)
{
	(void)arg;
	fiber_round = fegetround();
	for (;;)
		cxlmu_fiber_switch(&fib_ctx, &main_ctx);
}

START_TEST(fp_state_inherited)
{
	fesetround(FE_DOWNWARD);
	cxlmu_fiber_make(&fib_ctx, stk.stack, stk.size, inherit_fiber, NULL);
	fesetround(FE_TONEAREST);
	cxlmu_fiber_switch(&main_ctx, &fib_ctx);
	ck_assert_msg(fiber_round == FE_DOWNWARD, "fiber started with rounding %d, want %d",
		      fiber_round, FE_DOWNWARD);
}
END_TEST

/* ----------------------------------------------------------------------- */

static int depth_reached;

/* Returns n, from the bottom of n + 1 frames of 200+ bytes each. */
static int __attribute__((noinline)) recurse(int n)
{
	volatile int pad[50];
	pad[0] = 1;
	if (n == 0)
		return 0;
	return recurse(n - 1) + pad[0];
}

static void deep_fiber(void *arg)
{
	/* About 1000 frames of 200+ bytes: well inside 256 KiB. */
	depth_reached = recurse(*(int *)arg);
	for (;;)
		cxlmu_fiber_switch(&fib_ctx, &main_ctx);
}

START_TEST(deep_recursion)
{
	int n = 1000;

	cxlmu_fiber_make(&fib_ctx, stk.stack, stk.size, deep_fiber, &n);
	cxlmu_fiber_switch(&main_ctx, &fib_ctx);
	ck_assert_int_eq(depth_reached, n);
}
END_TEST

START_TEST(guard_page_stops_overflow)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int n = 100000;   /* about 20 MiB of frames on 256 KiB */
		cxlmu_fiber_make(&fib_ctx, stk.stack, stk.size, deep_fiber, &n);
		cxlmu_fiber_switch(&main_ctx, &fib_ctx);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
		      "overflowing a fiber stack: status %#x, want SIGSEGV", status);
}
END_TEST

/* ----------------------------------------------------------------------- */
/* Identity: the FS base of a parked thread                                  */
/* ----------------------------------------------------------------------- */

static __thread int tls_value = 1;
static pthread_t parked;
static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER;
static int park_state;   /* 1 parked, 2 released */
static int seen_tls, seen_errno, seen_self_ok, written_tls;

static void *park(void *arg)
{
	(void)arg;
	tls_value = 42;
	errno = 4242;
	pthread_mutex_lock(&park_lock);
	park_state = 1;
	pthread_cond_broadcast(&park_cond);
	while (park_state != 2)
		pthread_cond_wait(&park_cond, &park_lock);
	pthread_mutex_unlock(&park_lock);
	/* What the fiber wrote in our TLS while it wore our identity. */
	written_tls = tls_value;
	return NULL;
}

/* Out of line, so the TLS address is computed under the fiber's FS base. */
static void __attribute__((noinline)) look(void)
{
	seen_tls = tls_value;
	seen_errno = errno;
	seen_self_ok = pthread_equal(pthread_self(), parked);
	tls_value = 99;
}

static void identity_fiber(void *arg)
{
	(void)arg;
	look();
	for (;;)
		cxlmu_fiber_switch_fs(&fib_ctx, &main_ctx);
}

START_TEST(fs_base_gives_identity)
{
	if (!cxlmu_fiber_fsgsbase()) {
		fprintf(stderr, "check_fiber: no FSGSBASE (AT_HWCAP2): identity switch not tested\n");
		return;
	}
	tls_value = 7;
	errno = 0;
	ck_assert_int_eq(pthread_create(&parked, NULL, park, NULL), 0);
	pthread_mutex_lock(&park_lock);
	while (park_state != 1)
		pthread_cond_wait(&park_cond, &park_lock);
	pthread_mutex_unlock(&park_lock);

	cxlmu_fiber_make(&fib_ctx, stk.stack, stk.size, identity_fiber, NULL);
	/* On glibc x86-64 a pthread_t is the address of its TCB, the FS base. */
	fib_ctx.fs = (uintptr_t)parked;
	cxlmu_fiber_switch_fs(&main_ctx, &fib_ctx);

	ck_assert_msg(seen_tls == 42, "fiber saw __thread %d, want the parked thread's 42", seen_tls);
	ck_assert_msg(seen_errno == 4242, "fiber saw errno %d, want 4242", seen_errno);
	ck_assert_msg(seen_self_ok, "pthread_self in the fiber is not the parked thread");
	ck_assert_msg(tls_value == 7, "our own __thread changed to %d", tls_value);
	ck_assert_msg(pthread_equal(pthread_self(), pthread_self()) && errno == 0,
		      "our own errno changed to %d", errno);

	pthread_mutex_lock(&park_lock);
	park_state = 2;
	pthread_cond_broadcast(&park_cond);
	pthread_mutex_unlock(&park_lock);
	ck_assert_int_eq(pthread_join(parked, NULL), 0);
	ck_assert_msg(written_tls == 99, "the parked thread reads %d, want the fiber's 99",
		      written_tls);
}
END_TEST

START_TEST(stack_alloc_rounds_and_rejects)
{
	struct cxlmu_fiber_stack s;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	ck_assert_int_eq(cxlmu_fiber_stack_alloc(&s, 1, 1), 0);
	ck_assert_msg(s.size == page && s.len == 2 * page, "1-byte stack: size %zu len %zu",
		      s.size, s.len);
	ck_assert_msg((char *)s.stack == (char *)s.base + page, "guard is not below the stack");
	cxlmu_fiber_stack_free(&s);
	ck_assert_int_eq(cxlmu_fiber_stack_alloc(&s, 0, 4096), -EINVAL);
}
END_TEST

Suite *suite_fiber(void)
{
	Suite *s = suite_create("fiber");
	TCase *tc;

	tc = tcase_create("switch");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ping_pong);
	tcase_add_test(tc, registers_survive);
	tcase_add_test(tc, fp_state_per_context);
	tcase_add_test(tc, fp_state_inherited);
	tcase_add_test(tc, deep_recursion);
	tcase_add_test(tc, guard_page_stops_overflow);
	suite_add_tcase(s, tc);

	tc = tcase_create("identity");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fs_base_gives_identity);
	suite_add_tcase(s, tc);

	tc = tcase_create("stacks");
	tcase_add_test(tc, stack_alloc_rounds_and_rejects);
	suite_add_tcase(s, tc);
	return s;
}
