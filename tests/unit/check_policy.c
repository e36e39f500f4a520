/* Unit tests of src/policy.c and policy.h: parsing and its canonical text,
 * every malformed policy refused, and the pure tier decision. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "unit.h"

#define P(k, b, d, c) { CXLMU_POLICY_##k, b, d, c }

/* ----------------------------------------------------------------------- */
/* Parsing and formatting                                                    */
/* ----------------------------------------------------------------------- */

static const struct {
	const char *text;
	struct cxlmu_policy want;
	const char *canonical;
} good[] = {
	{ "local", P(LOCAL, 0, 0, 0), "local" },
	{ "cxl", P(CXL, 0, 0, 0), "cxl" },
	{ "size:0", P(SIZE, 0, 0, 0), "size:0" },
	{ "size:4096", P(SIZE, 4096, 0, 0), "size:4096" },
	{ "size:64K", P(SIZE, 65536, 0, 0), "size:65536" },
	{ "size:2MiB", P(SIZE, 2 * CXLMU_MiB, 0, 0), "size:2097152" },
	{ "budget:1G", P(BUDGET, CXLMU_GiB, 0, 0), "budget:1073741824" },
	{ "budget:0", P(BUDGET, 0, 0, 0), "budget:0" },
	{ "budget:17179869183G", P(BUDGET, 17179869183ull * CXLMU_GiB, 0, 0),
	  "budget:18446744072635809792" },
	{ "interleave:3:1", P(INTERLEAVE, 0, 3, 1), "interleave:3:1" },
	{ "interleave:1:1", P(INTERLEAVE, 0, 1, 1), "interleave:1:1" },
	{ "interleave:0:1", P(INTERLEAVE, 0, 0, 1), "interleave:0:1" },
	{ "interleave:1:0", P(INTERLEAVE, 0, 1, 0), "interleave:1:0" },
	{ "interleave:255:255", P(INTERLEAVE, 0, 255, 255), "interleave:255:255" },
	{ "interleave:007:02", P(INTERLEAVE, 0, 7, 2), "interleave:7:2" },
};

static const char *const bad[] = {
	"", "size:", "size:12Q", "size:-1", "size: 1", "size:1 ", "size:1T", "size",
	"budget:", "budget:-1", "budget:x", "budget",
	"interleave", "interleave:", "interleave:3", "interleave:3:", "interleave::1",
	"interleave:0:0", "interleave:00:000", "interleave:256:1", "interleave:1:256",
	"interleave:1000:1", "interleave:1:2:3", "interleave:a:1", "interleave:1:b",
	"interleave:-1:1", "interleave:1:-1", "interleave: 1:1", "interleave:1:1 ",
	"LOCAL", "Cxl", "cxl ", " local", "local:1", "cxl:", "sizes:1", "size=1",
	"unknown", "cxl,local", "interleave:4294967297:1",
};

static bool same(const struct cxlmu_policy *a, const struct cxlmu_policy *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case CXLMU_POLICY_SIZE:
	case CXLMU_POLICY_BUDGET:
		return a->bytes == b->bytes;
	case CXLMU_POLICY_INTERLEAVE:
		return a->dram_weight == b->dram_weight && a->cxl_weight == b->cxl_weight;
	default:
		return true;
	}
}

START_TEST(parse_good)
{
	const char *in = good[_i].text;
	struct cxlmu_policy p = P(LOCAL, 99, 99, 99);
	int r = cxlmu_policy_parse(in, &p);

	ck_assert_msg(r == 0, "rejected good policy '%s' (%d)", in, r);
	ck_assert_msg(same(&p, &good[_i].want), "policy '%s' gave kind %d bytes %llu weights %u:%u",
		      in, p.kind, (unsigned long long)p.bytes, p.dram_weight, p.cxl_weight);
}
END_TEST

START_TEST(parse_bad)
{
	const char *in = bad[_i];
	struct cxlmu_policy p = P(LOCAL, 0, 0, 0);
	int r = cxlmu_policy_parse(in, &p);

	ck_assert_msg(r == -EINVAL, "accepted bad policy '%s' (ret %d: kind %d bytes %llu %u:%u)",
		      in, r, p.kind, (unsigned long long)p.bytes, p.dram_weight, p.cxl_weight);
}
END_TEST

START_TEST(parse_null)
{
	struct cxlmu_policy p;
	ck_assert_msg(cxlmu_policy_parse(NULL, &p) == -EINVAL, "accepted a NULL policy");
}
END_TEST

START_TEST(format_canonical)
{
	const char *in = good[_i].text;
	char buf[64];
	int n = cxlmu_policy_format(&good[_i].want, buf, sizeof(buf));

	ck_assert_msg(!strcmp(buf, good[_i].canonical), "'%s' formats as '%s', want '%s'", in, buf,
		      good[_i].canonical);
	ck_assert_msg(n == (int)strlen(buf), "'%s': format returned %d for '%s'", in, n, buf);
}
END_TEST

/* parse(format(parse(x))) == parse(x) */
START_TEST(round_trip)
{
	const char *in = good[_i].text;
	struct cxlmu_policy a, b;
	char buf[64];

	ck_assert_msg(cxlmu_policy_parse(in, &a) == 0, "rejected '%s'", in);
	cxlmu_policy_format(&a, buf, sizeof(buf));
	ck_assert_msg(cxlmu_policy_parse(buf, &b) == 0, "'%s' formats as '%s', which is refused",
		      in, buf);
	ck_assert_msg(same(&a, &b), "'%s' -> '%s' -> a different policy", in, buf);
}
END_TEST

START_TEST(format_truncated)
{
	struct cxlmu_policy p = P(SIZE, 65536, 0, 0);
	char buf[4];

	memset(buf, 'x', sizeof(buf));
	ck_assert_msg(cxlmu_policy_format(&p, buf, sizeof(buf)) == 10,
		      "format of size:65536 into 4 bytes did not return the full length");
	ck_assert_msg(!strcmp(buf, "siz"), "format into 4 bytes gave '%.*s'", 4, buf);
}
END_TEST

/* ----------------------------------------------------------------------- */
/* Tier decision                                                             */
/* ----------------------------------------------------------------------- */

static const char *tier_name(enum cxlmu_tier t)
{
	return t == CXLMU_TIER_DRAM ? "dram" : t == CXLMU_TIER_CXL ? "cxl" :
	       t == CXLMU_TIER_INTERLEAVE ? "interleave" : "?";
}

static const struct {
	const char *policy;
	size_t size;
	uint64_t dram_live;
	enum cxlmu_tier want;
} tiers[] = {
	{ "local", 0, 0, CXLMU_TIER_DRAM },
	{ "local", 1, 0, CXLMU_TIER_DRAM },
	{ "local", SIZE_MAX, UINT64_MAX, CXLMU_TIER_DRAM },
	{ "cxl", 0, 0, CXLMU_TIER_CXL },
	{ "cxl", 1, 0, CXLMU_TIER_CXL },
	{ "cxl", SIZE_MAX, UINT64_MAX, CXLMU_TIER_CXL },
	/* size: the threshold itself goes to CXL */
	{ "size:4096", 0, 0, CXLMU_TIER_DRAM },
	{ "size:4096", 4095, 0, CXLMU_TIER_DRAM },
	{ "size:4096", 4096, 0, CXLMU_TIER_CXL },
	{ "size:4096", 4097, 0, CXLMU_TIER_CXL },
	{ "size:4096", 4095, UINT64_MAX, CXLMU_TIER_DRAM },
	{ "size:64K", 65535, 0, CXLMU_TIER_DRAM },
	{ "size:64K", 65536, 0, CXLMU_TIER_CXL },
	{ "size:0", 0, 0, CXLMU_TIER_CXL },
	{ "size:0", 1, 0, CXLMU_TIER_CXL },
	{ "size:1G", SIZE_MAX, 0, CXLMU_TIER_CXL },
	/* interleave: whatever the size */
	{ "interleave:3:1", 0, 0, CXLMU_TIER_INTERLEAVE },
	{ "interleave:3:1", 64, 0, CXLMU_TIER_INTERLEAVE },
	{ "interleave:1:0", 1 << 30, 0, CXLMU_TIER_INTERLEAVE },
	/* budget: DRAM while live + size fits, exactly full included */
	{ "budget:1000", 1000, 0, CXLMU_TIER_DRAM },
	{ "budget:1000", 1001, 0, CXLMU_TIER_CXL },
	{ "budget:1000", 1, 999, CXLMU_TIER_DRAM },
	{ "budget:1000", 1, 1000, CXLMU_TIER_CXL },
	{ "budget:1000", 0, 1000, CXLMU_TIER_DRAM },
	{ "budget:1000", 500, 500, CXLMU_TIER_DRAM },
	{ "budget:1000", 501, 500, CXLMU_TIER_CXL },
	{ "budget:1000", 0, 1001, CXLMU_TIER_CXL },
	{ "budget:0", 0, 0, CXLMU_TIER_DRAM },
	{ "budget:0", 1, 0, CXLMU_TIER_CXL },
	{ "budget:1G", 4096, CXLMU_GiB - 4096, CXLMU_TIER_DRAM },
	{ "budget:1G", 4097, CXLMU_GiB - 4096, CXLMU_TIER_CXL },
	/* a block larger than the budget must not wrap live + size into DRAM */
	{ "budget:1G", SIZE_MAX, 2, CXLMU_TIER_CXL },
};

START_TEST(tier)
{
	struct cxlmu_policy p;
	enum cxlmu_tier got;

	ck_assert_msg(cxlmu_policy_parse(tiers[_i].policy, &p) == 0, "policy '%s' refused",
		      tiers[_i].policy);
	got = cxlmu_policy_tier(&p, tiers[_i].size, tiers[_i].dram_live);
	ck_assert_msg(got == tiers[_i].want, "policy '%s', size %zu, dram_live %llu: tier %s, want %s",
		      tiers[_i].policy, tiers[_i].size, (unsigned long long)tiers[_i].dram_live,
		      tier_name(got), tier_name(tiers[_i].want));
}
END_TEST

START_TEST(tier_unknown_kind)
{
	struct cxlmu_policy p = { (enum cxlmu_policy_kind)42, 0, 0, 0 };
	ck_assert_msg(cxlmu_policy_tier(&p, 100, 0) == CXLMU_TIER_DRAM,
		      "an unknown policy kind did not mean DRAM");
}
END_TEST

/* ----------------------------------------------------------------------- */
/* Interleave pattern                                                        */
/* ----------------------------------------------------------------------- */

static const struct { const char *policy; const char *pattern; } patterns[] = {
	/* one period, 'd' DRAM, 'c' CXL */
	{ "interleave:1:1", "dc" },
	{ "interleave:3:1", "dddc" },
	{ "interleave:1:3", "dccc" },
	{ "interleave:2:3", "ddccc" },
	{ "interleave:0:1", "c" },
	{ "interleave:0:5", "ccccc" },
	{ "interleave:1:0", "d" },
	{ "interleave:4:0", "dddd" },
};

START_TEST(pattern)
{
	const char *pat = patterns[_i].pattern;
	size_t period = strlen(pat);
	struct cxlmu_policy p;
	static const uint64_t starts[] = { 0, 1000, (uint64_t)1 << 40, UINT64_MAX - 2 * 510 };

	ck_assert_msg(cxlmu_policy_parse(patterns[_i].policy, &p) == 0, "'%s' refused",
		      patterns[_i].policy);
	for (size_t s = 0; s < CXLMU_ARRAY_SIZE(starts); s++) {
		/* Align the window to a period so the pattern reads from its start. */
		uint64_t base = starts[s] - starts[s] % period;
		for (uint64_t u = base; u < base + 3 * period; u++) {
			bool want = pat[(u - base) % period] == 'c';
			ck_assert_msg(cxlmu_policy_unit_is_cxl(&p, u) == want,
				      "'%s': unit %llu on %s, want %s", patterns[_i].policy,
				      (unsigned long long)u, want ? "dram" : "cxl", want ? "cxl" : "dram");
		}
	}
}
END_TEST

/* Of every D+C consecutive units, wherever the window starts, C are CXL. */
START_TEST(pattern_share)
{
	struct cxlmu_policy p = P(INTERLEAVE, 0, 0, 0);

	for (unsigned d = 0; d <= 6; d++)
		for (unsigned c = 0; c <= 6; c++) {
			if (!d && !c)
				continue;
			p.dram_weight = d;
			p.cxl_weight = c;
			for (uint64_t start = 0; start < 20; start++) {
				unsigned n = 0;
				for (uint64_t u = start; u < start + d + c; u++)
					n += cxlmu_policy_unit_is_cxl(&p, u);
				ck_assert_msg(n == c, "interleave:%u:%u: %u CXL units from %llu, want %u",
					      d, c, n, (unsigned long long)start, c);
			}
		}
}
END_TEST

Suite *suite_policy(void)
{
	Suite *s = suite_create("policy");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, parse_good, 0, CXLMU_ARRAY_SIZE(good));
	tcase_add_loop_test(tc, parse_bad, 0, CXLMU_ARRAY_SIZE(bad));
	tcase_add_test(tc, parse_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_loop_test(tc, format_canonical, 0, CXLMU_ARRAY_SIZE(good));
	tcase_add_loop_test(tc, round_trip, 0, CXLMU_ARRAY_SIZE(good));
	tcase_add_test(tc, format_truncated);
	suite_add_tcase(s, tc);

	tc = tcase_create("tier");
	tcase_add_loop_test(tc, tier, 0, CXLMU_ARRAY_SIZE(tiers));
	tcase_add_test(tc, tier_unknown_kind);
	suite_add_tcase(s, tc);

	tc = tcase_create("interleave-pattern");
	tcase_add_loop_test(tc, pattern, 0, CXLMU_ARRAY_SIZE(patterns));
	tcase_add_test(tc, pattern_share);
	suite_add_tcase(s, tc);

	return s;
}
