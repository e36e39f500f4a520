/* src/pollrule.c: the poll rule shared by kernel-thread waits and fibers. */
#include <string.h>

#include "pollrule.h"
#include "unit.h"

#define US 1000u
#define MS 1000000u

/* Two call sites in different slots of the table, and one that shares
 * A's slot. */
#define A ((uintptr_t)0x401000)
#define B ((uintptr_t)0x401010)

static struct cxlmu_poll_sites t;

static void setup(void)
{
	memset(&t, 0, sizeof(t));
}

static bool sleep_from(uintptr_t ra, uint64_t ns)
{
	return cxlmu_poll_classify(&t, ra, ns)->poll;
}

/* A site whose slot is A's: the table holds one of them at a time. */
static uintptr_t same_slot_as(uintptr_t ra)
{
	struct cxlmu_poll_site *want = cxlmu_poll_classify(&t, ra, 1);

	for (uintptr_t c = ra + 16;; c += 16)
		if (c != ra && cxlmu_poll_classify(&t, c, 1) == want) {
			setup();
			return c;
		}
}

START_TEST(streak_makes_a_poll)
{
	for (int i = 1; i < CXLMU_POLL_STREAK; i++)
		ck_assert_msg(!sleep_from(A, 1 * US), "sleep %d of a run is a poll already", i);
	ck_assert(sleep_from(A, 1 * US));
	ck_assert(sleep_from(A, 1 * US));
	ck_assert_uint_eq(cxlmu_poll_classify(&t, A, 1 * US)->streak, CXLMU_POLL_STREAK + 2);
}
END_TEST

/* An out-of-line helper (std::this_thread::sleep_for) is one call site
 * for whatever its callers ask: lengths unlike each other are no poll,
 * however many come from it. */
START_TEST(out_of_line_sleep_for)
{
	static const uint64_t asks[] = { 1 * US, 100 * US, 5 * US, 500 * US, 20 * US, 1 * MS };

	for (int round = 0; round < 10; round++)
		for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++)
			ck_assert_msg(!sleep_from(A, asks[i]), "round %d: %llu ns taken for a poll",
				      round, (unsigned long long)asks[i]);
}
END_TEST

/* A poll loop that backs off by doubling stays one poll; one that
 * triples each time is no run. */
START_TEST(doubling_back_off)
{
	uint64_t ns = 1 * US;
	int i;

	for (i = 1; ns <= CXLMU_POLL_MAX_NS; i++, ns *= 2)
		ck_assert_int_eq(sleep_from(A, ns), i >= CXLMU_POLL_STREAK);
	setup();
	for (ns = 1 * US; ns <= CXLMU_POLL_MAX_NS; ns *= 3)
		ck_assert(!sleep_from(A, ns));
}
END_TEST

/* The run counts sleeps from one site with no other sleep between:
 * strictly alternating sites make no poll. */
START_TEST(alternating_sites)
{
	for (int i = 0; i < 20; i++) {
		ck_assert(!sleep_from(A, 10 * US));
		ck_assert(!sleep_from(B, 10 * US));
	}
}
END_TEST

/* A poll site keeps its verdict across a sleep from another site: a
 * polling loop that now and then sleeps elsewhere still polls. */
START_TEST(verdict_survives_other_site)
{
	for (int i = 0; i < CXLMU_POLL_STREAK; i++)
		sleep_from(A, 10 * US);
	ck_assert(!sleep_from(B, 10 * US));
	ck_assert(sleep_from(A, 10 * US));
	ck_assert(!sleep_from(B, 10 * US));
	ck_assert(sleep_from(A, 10 * US));
}
END_TEST

/* A long sleep from a polling site is no poll, and the site starts over. */
START_TEST(long_sleep_from_poll_site)
{
	for (int i = 0; i < CXLMU_POLL_STREAK; i++)
		sleep_from(A, 10 * US);
	ck_assert(sleep_from(A, 10 * US));
	ck_assert(!sleep_from(A, CXLMU_POLL_MAX_NS + 1));
	for (int i = 1; i < CXLMU_POLL_STREAK; i++)
		ck_assert(!sleep_from(A, 10 * US));
	ck_assert(sleep_from(A, 10 * US));
	/* A sleep unlike the one before (over twice as long) also restarts. */
	ck_assert(!sleep_from(A, 30 * US));
}
END_TEST

/* An absolute sleep or a yield between two sleeps breaks the run. */
START_TEST(break_between)
{
	for (int i = 0; i < 10; i++) {
		ck_assert(!sleep_from(A, 10 * US));
		cxlmu_poll_break(&t);
	}
	ck_assert_uint_eq(t.last, 0);
}
END_TEST

/* A site that takes another's slot starts with nothing of it. */
START_TEST(slot_taken_over)
{
	uintptr_t c = same_slot_as(A);
	struct cxlmu_poll_site *s;

	for (int i = 0; i < CXLMU_POLL_STREAK; i++)
		sleep_from(A, 10 * US);
	s = cxlmu_poll_classify(&t, A, 10 * US);
	s->plain_ns = 12345;
	cxlmu_poll_begin(s, 100);
	cxlmu_poll_end(s, true, 200);
	ck_assert(!sleep_from(c, 10 * US));
	ck_assert_uint_eq(s->ra, c);
	ck_assert_uint_eq(s->plain_ns, 0);
	ck_assert_uint_eq(s->wake, 0);
	ck_assert(!sleep_from(A, 10 * US));
}
END_TEST

START_TEST(stretch_after_wake_ups)
{
	struct cxlmu_poll_site *s = cxlmu_poll_classify(&t, A, 10 * US);
	const uint64_t max = CXLMU_POLL_STRETCH_MAX_NS;

	/* No wake-up yet: the plain end. */
	cxlmu_poll_begin(s, 1000);
	ck_assert_uint_eq(cxlmu_poll_stretch(s, 1000, 1000 + 10 * US, max), 1000 + 10 * US);
	/* Woken 3 ms after the episode began: the next episode waits until
	 * twice that after it began. */
	cxlmu_poll_end(s, true, 1000 + 3 * MS);
	ck_assert_uint_eq(s->wake, 3 * MS);
	ck_assert_uint_eq(s->episode, 0);
	cxlmu_poll_begin(s, 10 * MS);
	ck_assert_uint_eq(cxlmu_poll_stretch(s, 10 * MS, 10 * MS + 10 * US, max), 16 * MS);
	/* A later poll of the same episode: from the episode's start. */
	cxlmu_poll_begin(s, 12 * MS);
	ck_assert_uint_eq(s->episode, 10 * MS);
	ck_assert_uint_eq(cxlmu_poll_stretch(s, 12 * MS, 12 * MS + 10 * US, max), 16 * MS);
	/* Never before the plain end. */
	ck_assert_uint_eq(cxlmu_poll_stretch(s, 12 * MS, 17 * MS, max), 17 * MS);
	/* At most stretch_max after the poll began. */
	ck_assert_uint_eq(cxlmu_poll_stretch(s, 12 * MS, 12 * MS + 10 * US, 1 * MS), 13 * MS);
	/* Smoothed: a wake-up 7 ms in makes it (3 * 3 + 7) / 4 = 4 ms. */
	cxlmu_poll_end(s, true, 17 * MS);
	ck_assert_uint_eq(s->wake, 4 * MS);
	/* A poll that timed out: plain periods until a wake-up comes. */
	cxlmu_poll_begin(s, 20 * MS);
	cxlmu_poll_end(s, false, 30 * MS);
	ck_assert_uint_eq(s->wake, 0);
	ck_assert_uint_eq(cxlmu_poll_stretch(s, 30 * MS, 30 * MS + 10 * US, max), 30 * MS + 10 * US);
}
END_TEST

START_TEST(timeouts_counted)
{
	struct cxlmu_poll_site *s = cxlmu_poll_classify(&t, A, 10 * US);

	for (uint32_t i = 1; i <= 5; i++) {
		cxlmu_poll_begin(s, i * MS);
		cxlmu_poll_end(s, false, i * MS + 20 * US);
		ck_assert_uint_eq(s->timeouts, i);
	}
	cxlmu_poll_end(s, true, 6 * MS);
	ck_assert_uint_eq(s->timeouts, 0);
}
END_TEST

START_TEST(plain_averaged)
{
	struct cxlmu_poll_site *s = cxlmu_poll_classify(&t, A, 10 * US);

	cxlmu_poll_plain(s, 60 * US);
	ck_assert_uint_eq(s->plain_ns, 60 * US);
	cxlmu_poll_plain(s, 80 * US);
	ck_assert_uint_eq(s->plain_ns, 70 * US);
}
END_TEST

Suite *suite_pollrule(void)
{
	Suite *s = suite_create("pollrule");
	TCase *tc;

	tc = tcase_create("classify");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, streak_makes_a_poll);
	tcase_add_test(tc, out_of_line_sleep_for);
	tcase_add_test(tc, doubling_back_off);
	tcase_add_test(tc, alternating_sites);
	tcase_add_test(tc, verdict_survives_other_site);
	tcase_add_test(tc, long_sleep_from_poll_site);
	tcase_add_test(tc, break_between);
	tcase_add_test(tc, slot_taken_over);
	suite_add_tcase(s, tc);

	tc = tcase_create("stretch");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, stretch_after_wake_ups);
	tcase_add_test(tc, timeouts_counted);
	tcase_add_test(tc, plain_averaged);
	suite_add_tcase(s, tc);
	return s;
}
