/* src/deadline.c: timeouts (a struct timespec, absolute on a clock or
 * relative) as the runtime's CLOCK_MONOTONIC deadlines. */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "deadline.h"
#include "prim.h"
#include "unit.h"

#define NS 1000000000LL

/* A generous bound for "about": the test reads clocks, it does not time
 * anything (a CLOCK_REALTIME step meanwhile is all it tolerates). */
#define SLACK (NS / 2)

static struct timespec on(clockid_t clock, int64_t plus_sec)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	ts.tv_sec += plus_sec;
	return ts;
}

static void expect_about(uint64_t got, uint64_t want, const char *what)
{
	int64_t d = (int64_t)(got - want);

	ck_assert_msg(d > -SLACK && d < SLACK, "%s: deadline %llu, expected about %llu", what,
		      (unsigned long long)got, (unsigned long long)want);
}

START_TEST(nsec_out_of_range)
{
	static const long bad[] = { -1, -NS, NS, NS + 1, INT32_MIN };
	uint64_t out = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct timespec ts = { 1, bad[i] };
		ck_assert_msg(cxlmu_deadline(CLOCK_MONOTONIC, &ts, true, &out) == -EINVAL,
			      "absolute tv_nsec %ld accepted", bad[i]);
		ck_assert_msg(cxlmu_deadline(CLOCK_REALTIME, &ts, false, &out) == -EINVAL,
			      "relative tv_nsec %ld accepted", bad[i]);
		ck_assert_msg(out == 42, "tv_nsec %ld: *out written on EINVAL", bad[i]);
	}
}
END_TEST

START_TEST(nsec_bounds_accepted)
{
	struct timespec lo = { 1, 0 }, hi = { 1, NS - 1 };
	uint64_t out;

	ck_assert_msg(cxlmu_deadline(CLOCK_MONOTONIC, &lo, false, &out) == 0, "tv_nsec 0 refused");
	ck_assert_msg(cxlmu_deadline(CLOCK_MONOTONIC, &hi, false, &out) == 0,
		      "tv_nsec 999999999 refused");
}
END_TEST

START_TEST(negative_duration)
{
	struct timespec ts = { -1, 0 };
	uint64_t out;

	ck_assert_msg(cxlmu_deadline(CLOCK_MONOTONIC, &ts, false, &out) == -EINVAL,
		      "relative tv_sec -1 accepted");
}
END_TEST

START_TEST(bad_clock)
{
	struct timespec ts = { 1, 0 };
	uint64_t out;

	ck_assert_msg(cxlmu_deadline((clockid_t)1000, &ts, true, &out) == -EINVAL,
		      "absolute time on clock 1000 accepted");
}
END_TEST

START_TEST(huge_saturates)
{
	struct timespec abs = { INT64_MAX, NS - 1 }, rel = { INT64_MAX, NS - 1 };
	struct timespec far = on(CLOCK_MONOTONIC, 20000000000LL);   /* 2e10 s: > 2^64 ns */
	uint64_t out = 0;

	ck_assert_msg(cxlmu_deadline(CLOCK_REALTIME, &abs, true, &out) == 0 && out == UINT64_MAX,
		      "absolute tv_sec INT64_MAX: deadline %llu", (unsigned long long)out);
	out = 0;
	ck_assert_msg(cxlmu_deadline(CLOCK_MONOTONIC, &rel, false, &out) == 0 && out == UINT64_MAX,
		      "relative tv_sec INT64_MAX: deadline %llu", (unsigned long long)out);
	out = 0;
	ck_assert_msg(cxlmu_deadline(CLOCK_MONOTONIC, &far, true, &out) == 0 && out == UINT64_MAX,
		      "now + 2e10 s: deadline %llu", (unsigned long long)out);
}
END_TEST

START_TEST(past_times_out)
{
	struct timespec epoch = { 0, 0 }, ago = on(CLOCK_MONOTONIC, -1);
	struct timespec least = { INT64_MIN, 0 }, now = on(CLOCK_REALTIME, 0);
	const struct { clockid_t clock; struct timespec *ts; const char *what; } cases[] = {
		{ CLOCK_REALTIME, &epoch, "CLOCK_REALTIME 0" },
		{ CLOCK_MONOTONIC, &ago, "CLOCK_MONOTONIC now - 1 s" },
		{ CLOCK_REALTIME, &least, "CLOCK_REALTIME INT64_MIN s" },
		{ CLOCK_REALTIME, &now, "CLOCK_REALTIME now" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t before = cxlmu_prim_now(), out = 0, after;
		int r = cxlmu_deadline(cases[i].clock, cases[i].ts, true, &out);
		after = cxlmu_prim_now();
		ck_assert_msg(r == -ETIMEDOUT, "%s: returned %d, not -ETIMEDOUT", cases[i].what, r);
		ck_assert_msg(out >= before && out <= after, "%s: *out %llu is not now", cases[i].what,
			      (unsigned long long)out);
	}
}
END_TEST

START_TEST(realtime_to_monotonic)
{
	struct timespec in10 = on(CLOCK_REALTIME, 10);
	uint64_t out;

	ck_assert_msg(cxlmu_deadline(CLOCK_REALTIME, &in10, true, &out) == 0,
		      "CLOCK_REALTIME now + 10 s refused");
	expect_about(out, cxlmu_prim_now() + 10 * NS, "CLOCK_REALTIME now + 10 s");
}
END_TEST

START_TEST(monotonic_to_monotonic)
{
	uint64_t before = cxlmu_prim_now(), out, after, want;
	struct timespec in5 = on(CLOCK_MONOTONIC, 5);

	ck_assert_msg(cxlmu_deadline(CLOCK_MONOTONIC, &in5, true, &out) == 0,
		      "CLOCK_MONOTONIC now + 5 s refused");
	after = cxlmu_prim_now();
	/* The same clock: the time asked, plus at most the time between the
	 * two reads inside (counted as spent). */
	want = (uint64_t)in5.tv_sec * NS + (uint64_t)in5.tv_nsec;
	ck_assert_msg(out >= want && out <= want + (after - before),
		      "CLOCK_MONOTONIC now + 5 s: deadline %llu, asked %llu (read %llu..%llu)",
		      (unsigned long long)out, (unsigned long long)want,
		      (unsigned long long)before, (unsigned long long)after);
}
END_TEST

START_TEST(relative_from_now)
{
	struct timespec ts = { 1, 500 }, zero = { 0, 0 };
	uint64_t before = cxlmu_prim_now(), out, after;

	ck_assert_msg(cxlmu_deadline(CLOCK_REALTIME, &ts, false, &out) == 0, "1.000000500 s refused");
	after = cxlmu_prim_now();
	ck_assert_msg(out >= before + NS + 500 && out <= after + NS + 500,
		      "1.000000500 s: deadline %llu not in [%llu, %llu]", (unsigned long long)out,
		      (unsigned long long)(before + NS + 500), (unsigned long long)(after + NS + 500));
	before = cxlmu_prim_now();
	ck_assert_msg(cxlmu_deadline(CLOCK_MONOTONIC, &zero, false, &out) == 0, "0 s refused");
	after = cxlmu_prim_now();
	ck_assert_msg(out >= before && out <= after, "0 s: deadline %llu is not now",
		      (unsigned long long)out);
}
END_TEST

Suite *suite_deadline(void)
{
	Suite *s = suite_create("deadline");
	TCase *args = tcase_create("arguments");
	TCase *edges = tcase_create("edges");
	TCase *clocks = tcase_create("clocks");

	tcase_add_test(args, nsec_out_of_range);
	tcase_add_test(args, nsec_bounds_accepted);
	tcase_add_test(args, negative_duration);
	tcase_add_test(args, bad_clock);
	tcase_add_test(edges, huge_saturates);
	tcase_add_test(edges, past_times_out);
	tcase_add_test(clocks, realtime_to_monotonic);
	tcase_add_test(clocks, monotonic_to_monotonic);
	tcase_add_test(clocks, relative_from_now);
	suite_add_tcase(s, args);
	suite_add_tcase(s, edges);
	suite_add_tcase(s, clocks);
	return s;
}
