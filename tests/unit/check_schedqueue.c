/* src/sched_queue.c and the run queue of src/sched_impl.h: a core's
 * runnable fibers, its sleepers (a pairing heap by deadline) and its
 * sleeping polls. Plain structures here: no host, no thread. */
#include <stdlib.h>
#include <string.h>

#include "sched_impl.h"
#include "unit.h"

#define N 1000

static struct cxlmu_core core;
static struct cxlmu_uthread *fib;

static void setup(void)
{
	memset(&core, 0, sizeof(core));
	fib = calloc(N, sizeof(*fib));
	ck_assert_ptr_nonnull(fib);
}

static void teardown(void)
{
	free(fib);
}

/* A sleeper (or a sleeping poll) until deadline. */
static void sleep_until(struct cxlmu_uthread *f, uint64_t deadline, bool poll)
{
	f->deadline = deadline;
	f->polling = poll;
	f->sleeping = true;
	sched_add_sleeper(&core, f);
}

START_TEST(run_queue_fifo)
{
	ck_assert_ptr_null(sched_pop(&core));
	for (int i = 0; i < 10; i++)
		sched_push(&core, &fib[i]);
	for (int i = 0; i < 5; i++)
		ck_assert_ptr_eq(sched_pop(&core), &fib[i]);
	sched_push(&core, &fib[10]);
	for (int i = 5; i <= 10; i++)
		ck_assert_ptr_eq(sched_pop(&core), &fib[i]);
	ck_assert_ptr_null(sched_pop(&core));
	ck_assert_ptr_null(core.tail);
}
END_TEST

/* Sleepers come out in deadline order whatever the order they went in,
 * each when its time has come, and expire says the next deadline. */
START_TEST(heap_order)
{
	uint64_t now, prev = 0, next;
	int out = 0;

	srand(7);
	for (int i = 0; i < N; i++)
		sleep_until(&fib[i], 1 + (uint64_t)(rand() % 100000), false);
	for (now = 0; out < N; now += 997) {
		struct cxlmu_uthread *f;
		next = sched_expire(&core, now);
		while ((f = sched_pop(&core))) {
			ck_assert_uint_le(f->deadline, now);
			ck_assert_uint_ge(f->deadline, prev);
			ck_assert(!f->sleeping);
			prev = f->deadline;
			out++;
		}
		if (out < N) {
			ck_assert_uint_gt(next, now);
			ck_assert_uint_eq(next, core.sleepers->deadline);
		} else {
			ck_assert_uint_eq(next, 0);
		}
	}
	ck_assert_ptr_null(core.sleepers);
}
END_TEST

/* A blocked fiber's deadline no longer counts: removed from anywhere in
 * the heap, the others still come out in order and it never does. */
START_TEST(heap_remove_any)
{
	uint64_t prev = 0;
	int out = 0;
	struct cxlmu_uthread *f;

	srand(11);
	for (int i = 0; i < N; i++)
		sleep_until(&fib[i], 1 + (uint64_t)(rand() % 5000), false);
	/* Every third one, the root among them now and then. */
	for (int i = 0; i < N; i += 3)
		sched_heap_remove(&core, &fib[i]);
	sched_heap_remove(&core, core.sleepers);
	ck_assert_uint_eq(sched_expire(&core, UINT64_MAX - 1), 0);
	while ((f = sched_pop(&core))) {
		ck_assert_int_ne((int)(f - fib) % 3, 0);
		ck_assert_uint_ge(f->deadline, prev);
		prev = f->deadline;
		out++;
	}
	/* N/3 rounded up removed, and the root that was left. */
	ck_assert_int_eq(out, N - (N + 2) / 3 - 1);
}
END_TEST

/* Sleeping polls are apart: due ones come out, the earliest left is
 * what expire says when it is before the next sleeper. */
START_TEST(polls_apart)
{
	sleep_until(&fib[0], 500, false);
	sleep_until(&fib[1], 300, true);
	sleep_until(&fib[2], 100, true);
	sleep_until(&fib[3], 700, true);
	ck_assert_ptr_eq(core.sleepers, &fib[0]);
	ck_assert_uint_eq(core.poll_min, 100);
	ck_assert_uint_eq(sched_expire(&core, 50), 100);
	ck_assert_ptr_null(core.head);
	ck_assert_uint_eq(sched_expire(&core, 300), 500);
	/* Both due polls ran; the later one waits on. */
	ck_assert(sched_pop(&core) != NULL);
	ck_assert(sched_pop(&core) != NULL);
	ck_assert_ptr_null(sched_pop(&core));
	ck_assert(!fib[1].sleeping && !fib[1].polling && !fib[2].polling);
	ck_assert_uint_eq(core.poll_min, 700);
	ck_assert_uint_eq(sched_expire(&core, 600), 700);
	ck_assert_ptr_eq(sched_pop(&core), &fib[0]);
	ck_assert_uint_eq(sched_expire(&core, 700), 0);
	ck_assert_ptr_eq(sched_pop(&core), &fib[3]);
}
END_TEST

/* Progress: every sleeping poll runs now, marked as woken by it; the
 * sleepers stay. */
START_TEST(progress_wakes_polls)
{
	sleep_until(&fib[0], 1000, false);
	for (int i = 1; i <= 5; i++)
		sleep_until(&fib[i], 1000 + (uint64_t)i, true);
	sched_wake_polls(&core);
	ck_assert_ptr_null(core.polls);
	ck_assert_uint_eq(core.poll_min, 0);
	for (int i = 0; i < 5; i++) {
		struct cxlmu_uthread *f = sched_pop(&core);
		ck_assert_ptr_nonnull(f);
		ck_assert(f != &fib[0]);
		ck_assert(f->progress_woke && !f->polling && !f->sleeping);
	}
	ck_assert_ptr_null(sched_pop(&core));
	ck_assert_ptr_eq(core.sleepers, &fib[0]);
}
END_TEST

Suite *suite_schedqueue(void)
{
	Suite *s = suite_create("schedqueue");
	TCase *tc = tcase_create("queues");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, run_queue_fifo);
	tcase_add_test(tc, heap_order);
	tcase_add_test(tc, heap_remove_any);
	tcase_add_test(tc, polls_apart);
	tcase_add_test(tc, progress_wakes_polls);
	suite_add_tcase(s, tc);
	return s;
}
