/* Unit tests of src/rules.c: good rules files and what they parse to,
 * every malformed line refused with its line number and token, full
 * tables, module matching, and the longest-prefix lookup. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rules.h"
#include "unit.h"

#define SENTINEL '!'

static char text[1 << 14];
static struct cxlmu_rule rules[64];
static struct cxlmu_rule_module modules[CXLMU_RULES_MAX_MODULES];
static struct cxlmu_rules R;
static char err[512];

/* Parse a copy of src (no NUL of its own: a sentinel follows it, which the
 * parser must leave alone) into R with tables of the given sizes. */
static int parse_max(const char *src, unsigned max_rules, unsigned max_modules)
{
	size_t len = strlen(src);
	int ret;

	ck_assert_msg(len < sizeof(text) && max_rules <= CXLMU_ARRAY_SIZE(rules), "test too big");
	memcpy(text, src, len);
	text[len] = SENTINEL;
	memset(err, 0, sizeof(err));
	/* Leftovers the parser must reset. */
	R = (struct cxlmu_rules){
		.rule = rules, .nrules = 7, .max_rules = max_rules,
		.module = modules, .nmodules = 7, .max_modules = max_modules,
		.max_frames = 7, .has_fallback = true,
	};
	ret = cxlmu_rules_parse(text, len, &R, err, sizeof(err));
	ck_assert_msg(text[len] == SENTINEL, "parsing '%s' wrote past its end", src);
	return ret;
}

static int parse(const char *src)
{
	return parse_max(src, CXLMU_ARRAY_SIZE(rules), CXLMU_RULES_MAX_MODULES);
}

static void parse_ok(const char *src)
{
	int ret = parse(src);

	ck_assert_msg(ret == 0, "rejected good rules '%s' (%d): %s", src, ret, err);
}

static const char *str(const char *s)
{
	return s ? s : "(null)";
}

/* Rule i has tier, line and frame j is (name, build_id, offset). */
static void check_frame(unsigned i, unsigned j, const char *name, const char *build_id,
			uint64_t offset)
{
	const struct cxlmu_rule_frame *f;
	const struct cxlmu_rule_module *m;

	ck_assert_msg(i < R.nrules && j < R.rule[i].nframes, "no frame %u of rule %u", j, i);
	f = &R.rule[i].frame[j];
	ck_assert_msg(f->module < R.nmodules, "rule %u frame %u: module %u of %u",
		      i, j, f->module, R.nmodules);
	m = &R.module[f->module];
	ck_assert_msg(!strcmp(m->name, name), "rule %u frame %u: module '%s', want '%s'",
		      i, j, m->name, name);
	ck_assert_msg(build_id ? m->build_id && !strcmp(m->build_id, build_id) : !m->build_id,
		      "rule %u frame %u: build-id '%s', want '%s'", i, j, str(m->build_id),
		      str(build_id));
	ck_assert_msg(f->offset == offset, "rule %u frame %u: offset 0x%llx, want 0x%llx", i, j,
		      (unsigned long long)f->offset, (unsigned long long)offset);
}

static void check_rule(unsigned i, enum cxlmu_tier tier, unsigned line, unsigned nframes)
{
	ck_assert_msg(i < R.nrules, "rule %u of %u", i, R.nrules);
	ck_assert_msg(R.rule[i].tier == tier, "rule %u: tier %d, want %d", i, R.rule[i].tier, tier);
	ck_assert_msg(R.rule[i].line == line, "rule %u: line %u, want %u", i, R.rule[i].line, line);
	ck_assert_msg(R.rule[i].nframes == nframes, "rule %u: %u frames, want %u", i,
		      R.rule[i].nframes, nframes);
}

/* ----------------------------------------------------------------------- */
/* Good files                                                              */
/* ----------------------------------------------------------------------- */

START_TEST(empty)
{
	parse_ok("");
	ck_assert_uint_eq(R.nrules, 0);
	ck_assert_uint_eq(R.nmodules, 0);
	ck_assert_uint_eq(R.max_frames, 0);
	ck_assert(!R.has_fallback);
	parse_ok("\n  \t\n# only a comment\n#\n");
	ck_assert_uint_eq(R.nrules, 0);
	ck_assert(!R.has_fallback);
}
END_TEST

START_TEST(layout)
{
	parse_ok("# a rules file\n"
		 "\n"
		 "  \t \r\n"
		 "\t# indented comment: dram nothing+0x1\r\n"
		 "dram\tlibc.so.6+0x1A2b  \t libfoo.so+0x10\t\r\n"
		 "   cxl  libfoo.so+0xff   \n"
		 "#dram x+0x1\n"
		 "cxl libbar.so+0x0");
	ck_assert_uint_eq(R.nrules, 3);
	check_rule(0, CXLMU_TIER_DRAM, 5, 2);
	check_frame(0, 0, "libc.so.6", NULL, 0x1a2b);
	check_frame(0, 1, "libfoo.so", NULL, 0x10);
	check_rule(1, CXLMU_TIER_CXL, 6, 1);
	check_frame(1, 0, "libfoo.so", NULL, 0xff);
	check_rule(2, CXLMU_TIER_CXL, 8, 1);
	check_frame(2, 0, "libbar.so", NULL, 0);
	ck_assert_uint_eq(R.nmodules, 3);
	ck_assert_uint_eq(R.max_frames, 2);
	ck_assert(!R.has_fallback);
}
END_TEST

/* A last line without '\n' ends exactly at text + len: nothing may be
 * written there, whatever the last token is. */
START_TEST(no_trailing_newline)
{
	parse_ok("dram a.so+0x1\ncxl /usr/lib/b.so@ABCD+0xEf");
	ck_assert_uint_eq(R.nrules, 2);
	check_rule(1, CXLMU_TIER_CXL, 2, 1);
	check_frame(1, 0, "/usr/lib/b.so", "abcd", 0xef);

	parse_ok("dram a.so+0x1\r");
	check_rule(0, CXLMU_TIER_DRAM, 1, 1);
	check_frame(0, 0, "a.so", NULL, 1);

	parse_ok("dram a.so+0x1\nfallback size:64K");
	ck_assert(R.has_fallback);
	ck_assert_int_eq(R.fallback.kind, CXLMU_POLICY_SIZE);
	ck_assert_uint_eq(R.fallback.bytes, 64 * 1024);

	parse_ok("fallback cxl   ");
	ck_assert(R.has_fallback);
	ck_assert_int_eq(R.fallback.kind, CXLMU_POLICY_CXL);
}
END_TEST

static const struct {
	const char *text;
	struct cxlmu_policy want;
} fallbacks[] = {
	{ "fallback local\n", { CXLMU_POLICY_LOCAL, 0, 0, 0 } },
	{ "fallback cxl\n", { CXLMU_POLICY_CXL, 0, 0, 0 } },
	{ "\tfallback\t size:2M \r\n", { CXLMU_POLICY_SIZE, 2 * CXLMU_MiB, 0, 0 } },
	{ "dram a+0x1\nfallback interleave:3:1\ncxl b+0x2\n", { CXLMU_POLICY_INTERLEAVE, 0, 3, 1 } },
	{ "fallback budget:1G", { CXLMU_POLICY_BUDGET, CXLMU_GiB, 0, 0 } },
};

START_TEST(fallback_kinds)
{
	const char *in = fallbacks[_i].text;
	const struct cxlmu_policy *want = &fallbacks[_i].want;

	parse_ok(in);
	ck_assert_msg(R.has_fallback, "'%s': no fallback", in);
	ck_assert_msg(R.fallback.kind == want->kind && R.fallback.bytes == want->bytes &&
		      R.fallback.dram_weight == want->dram_weight &&
		      R.fallback.cxl_weight == want->cxl_weight,
		      "'%s': kind %d bytes %llu weights %u:%u", in, R.fallback.kind,
		      (unsigned long long)R.fallback.bytes, R.fallback.dram_weight,
		      R.fallback.cxl_weight);
}
END_TEST

START_TEST(build_ids)
{
	char line[512], id[2 * CXLMU_RULES_MAX_BUILD_ID + 3];

	parse_ok("dram libc.so.6@0123456789ABCDEFabcdef00+0xDEADbeef\n");
	check_frame(0, 0, "libc.so.6", "0123456789abcdefabcdef00", 0xdeadbeef);

	/* The longest build-id is one; longer, odd or empty ones are not
	 * build-ids, and the '@' is then part of the module name. */
	memset(id, 'A', sizeof(id));
	id[2 * CXLMU_RULES_MAX_BUILD_ID] = '\0';
	snprintf(line, sizeof(line), "cxl lib.so@%s+0x1", id);
	parse_ok(line);
	memset(id, 'a', 2 * CXLMU_RULES_MAX_BUILD_ID);
	check_frame(0, 0, "lib.so", id, 1);

	id[2 * CXLMU_RULES_MAX_BUILD_ID] = 'a';
	id[2 * CXLMU_RULES_MAX_BUILD_ID + 1] = 'a';
	id[2 * CXLMU_RULES_MAX_BUILD_ID + 2] = '\0';
	snprintf(line, sizeof(line), "cxl lib.so@%s+0x1", id);
	parse_ok(line);
	snprintf(line, sizeof(line), "lib.so@%s", id);
	check_frame(0, 0, line, NULL, 1);

	parse_ok("cxl lib.so@abc+0x2 lib.so@+0x3 lib.so@abcg+0x4 lib.so@@ab+0x5 lib@x@00+0x6\n");
	check_frame(0, 0, "lib.so@abc", NULL, 2);
	check_frame(0, 1, "lib.so@", NULL, 3);
	check_frame(0, 2, "lib.so@abcg", NULL, 4);
	check_frame(0, 3, "lib.so@", "ab", 5);
	check_frame(0, 4, "lib@x", "00", 6);
}
END_TEST

START_TEST(paths)
{
	parse_ok("dram /opt/g++@x/libfoo.so+0x10 /opt/g++/lib+0x1z+0x20 lib+0x1+0x2\n"
		 "cxl /opt/x@ab/lib.so@CAFE+0x1 /p@ab+0x7 ./rel/lib.so+0xa\n");
	check_frame(0, 0, "/opt/g++@x/libfoo.so", NULL, 0x10);
	check_frame(0, 1, "/opt/g++/lib+0x1z", NULL, 0x20);
	check_frame(0, 2, "lib+0x1", NULL, 0x2);
	check_frame(1, 0, "/opt/x@ab/lib.so", "cafe", 0x1);
	check_frame(1, 1, "/p", "ab", 0x7);
	check_frame(1, 2, "./rel/lib.so", NULL, 0xa);
}
END_TEST

START_TEST(dedupe)
{
	parse_ok("dram a.so+0x1 b.so+0x2\n"
		 "cxl b.so+0x3 a.so+0x4\n"
		 "dram a.so@00ff+0x5 /lib/a.so+0x6\n"
		 "cxl a.so@00FF+0x7 /lib/a.so+0x8 a.so+0x9 a.so@00fe+0xa\n");
	ck_assert_uint_eq(R.nmodules, 5);
	ck_assert_uint_eq(R.rule[0].frame[0].module, 0);
	ck_assert_uint_eq(R.rule[0].frame[1].module, 1);
	ck_assert_uint_eq(R.rule[1].frame[0].module, 1);
	ck_assert_uint_eq(R.rule[1].frame[1].module, 0);
	ck_assert_uint_eq(R.rule[2].frame[0].module, 2);
	ck_assert_uint_eq(R.rule[2].frame[1].module, 3);
	ck_assert_uint_eq(R.rule[3].frame[0].module, 2);
	ck_assert_uint_eq(R.rule[3].frame[1].module, 3);
	ck_assert_uint_eq(R.rule[3].frame[2].module, 0);
	ck_assert_uint_eq(R.rule[3].frame[3].module, 4);
	check_frame(3, 3, "a.so", "00fe", 0xa);
	ck_assert_uint_eq(R.max_frames, 4);
}
END_TEST

START_TEST(max_frames)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "\n\ncxl");

	for (int i = 0; i < CXLMU_RULES_MAX_FRAMES; i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " m%d.so+0x%x", i % 3, i);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "\ndram a+0xffffffffffffffff b+0x0000000000000001");
	parse_ok(line);
	ck_assert_uint_eq(R.nrules, 2);
	check_rule(0, CXLMU_TIER_CXL, 3, CXLMU_RULES_MAX_FRAMES);
	check_frame(0, 15, "m0.so", NULL, 15);
	ck_assert_uint_eq(R.max_frames, CXLMU_RULES_MAX_FRAMES);
	ck_assert_uint_eq(R.nmodules, 5);
	check_frame(1, 0, "a", NULL, UINT64_MAX);
	check_frame(1, 1, "b", NULL, 1);
}
END_TEST

START_TEST(zero_tables)
{
	/* Comments and a fallback need no table space. */
	ck_assert_int_eq(parse_max("# x\nfallback cxl\n", 0, 0), 0);
	ck_assert(R.has_fallback);
}
END_TEST

/* ----------------------------------------------------------------------- */
/* Malformed files                                                         */
/* ----------------------------------------------------------------------- */

#define TIERS "(accepted: " CXLMU_RULES_TIERS_ACCEPTED ")"
#define FRAME "(accepted: " CXLMU_RULES_FRAME_ACCEPTED ")"
#define POLICY "(accepted: " CXLMU_POLICY_ACCEPTED ")"

static const struct {
	const char *text;
	const char *err;
	unsigned nrules;        /* parsed before the bad line */
} bad[] = {
	{ "dram a+0x1\n\n hot a+0x1\n", "line 3: 'hot' is not a tier or directive " TIERS, 1 },
	{ "DRAM a+0x1", "line 1: 'DRAM' is not a tier or directive " TIERS, 0 },
	{ "Fallback cxl", "line 1: 'Fallback' is not a tier or directive " TIERS, 0 },
	{ "dram: a+0x1", "line 1: 'dram:' is not a tier or directive " TIERS, 0 },
	{ "a+0x1", "line 1: 'a+0x1' is not a tier or directive " TIERS, 0 },
	{ "dram a+0x1 # hot\n", "line 1: '#' is not a frame " FRAME, 0 },
	{ "dram a+0x1\n#c\n\ndram libc.so.6+12\n", "line 4: 'libc.so.6+12' is not a frame " FRAME, 1 },
	{ "dram a+0x\n", "line 1: 'a+0x' is not a frame " FRAME, 0 },
	{ "dram a+0X1\n", "line 1: 'a+0X1' is not a frame " FRAME, 0 },
	{ "dram a+0x1z\n", "line 1: 'a+0x1z' is not a frame " FRAME, 0 },
	{ "dram a+0x-1\n", "line 1: 'a+0x-1' is not a frame " FRAME, 0 },
	{ "dram a+0x 1\n", "line 1: 'a+0x' is not a frame " FRAME, 0 },
	{ "dram a\n", "line 1: 'a' is not a frame " FRAME, 0 },
	{ "dram +0x10\n", "line 1: '+0x10' is not a frame " FRAME, 0 },
	{ "dram @abcd+0x10\n", "line 1: '@abcd+0x10' is not a frame " FRAME, 0 },
	{ "dram a+0x10000000000000000\n", "line 1: 'a+0x10000000000000000' is not a frame " FRAME, 0 },
	{ "dram a+0x00000000000000001\n", "line 1: 'a+0x00000000000000001' is not a frame " FRAME, 0 },
	{ "cxl a+0x1 b+0x2 c+0x3\r\ncxl a+0x1 b+0x2\r\r\n", "line 2: 'b+0x2\r' is not a frame " FRAME, 1 },
	{ "\ncxl\n", "line 2: a cxl rule names at least one frame", 0 },
	{ "dram \t \r\n", "line 1: a dram rule names at least one frame", 0 },
	{ "dram", "line 1: a dram rule names at least one frame", 0 },
	{ "\n\ncxl a+0x1\n\ndram 0+0x0 1+0x1 2+0x2 3+0x3 4+0x4 5+0x5 6+0x6 7+0x7 8+0x8 9+0x9 "
	  "a+0xa b+0xb c+0xc d+0xd e+0xe f+0xf 10+0x10\n", "line 5: a rule names at most 16 frames", 1 },
	{ "\nfallback size:abc", "line 2: 'size:abc' is not a fallback policy " POLICY, 0 },
	{ "fallback sites:a.rules", "line 1: 'sites:a.rules' is not a fallback policy " POLICY, 0 },
	{ "fallback CXL", "line 1: 'CXL' is not a fallback policy " POLICY, 0 },
	{ "fallback dram", "line 1: 'dram' is not a fallback policy " POLICY, 0 },
	{ "dram a+0x1\nfallback \t\n", "line 2: fallback names a policy " POLICY, 1 },
	{ "fallback", "line 1: fallback names a policy " POLICY, 0 },
	{ "fallback cxl local\n", "line 1: 'local' after the policy: fallback names one policy " POLICY, 0 },
	{ "\nfallback cxl\n\n\n\ndram a+0x1\n\n\nfallback local\n",
	  "line 9: a second fallback (the first is on line 2)", 1 },
	{ "\nfallback cxl\nfallback cxl", "line 3: a second fallback (the first is on line 2)", 0 },
};

START_TEST(malformed)
{
	const char *in = bad[_i].text;
	int ret = parse(in);

	ck_assert_msg(ret == -EINVAL, "'%s': %d, want -EINVAL", in, ret);
	ck_assert_msg(!strcmp(err, bad[_i].err), "'%s': error\n  '%s'\nwant\n  '%s'", in, err,
		      bad[_i].err);
	ck_assert_msg(R.nrules == bad[_i].nrules, "'%s': %u rules kept, want %u", in, R.nrules,
		      bad[_i].nrules);
}
END_TEST

/* A long bad token is quoted cut short, and a short err buffer is never
 * overrun. */
START_TEST(long_token)
{
	char in[300], want[300];

	memset(in, 'x', 200);
	in[200] = '\0';
	ck_assert_int_eq(parse(in), -EINVAL);
	snprintf(want, sizeof(want), "line 1: '%.60s...' is not a tier or directive " TIERS, in);
	ck_assert_msg(!strcmp(err, want), "error '%s'", err);

	snprintf(in, sizeof(in), "fallback size:%0150d", 1);
	ck_assert_int_eq(parse(in), -EINVAL);
	snprintf(want, sizeof(want), "line 1: '%.60s...' is not a fallback policy " POLICY, in + 9);
	ck_assert_msg(!strcmp(err, want), "error '%s'", err);

	memcpy(text, "zz a+0x1", 8);
	memset(err, '#', sizeof(err));
	ck_assert_int_eq(cxlmu_rules_parse(text, 8, &R, err, 8), -EINVAL);
	ck_assert_msg(!strcmp(err, "line 1:"), "short error '%s'", err);
	ck_assert_msg(err[8] == '#', "wrote past errsize");
	ck_assert_int_eq(cxlmu_rules_parse(text, 8, &R, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(too_many_rules)
{
	int ret = parse_max("# two fit\ndram a+0x1\nfallback cxl\ncxl b+0x2 c+0x3\n\ndram d+0x4\n", 2, 16);

	ck_assert_int_eq(ret, -E2BIG);
	ck_assert_str_eq(err, "line 6: more than 2 rules");
	ck_assert_uint_eq(R.nrules, 2);
	/* d.so was dropped with its line. */
	ck_assert_uint_eq(R.nmodules, 3);
	ck_assert_uint_eq(R.max_frames, 2);
	ck_assert(R.has_fallback);
}
END_TEST

START_TEST(too_many_modules)
{
	int ret = parse_max("dram a+0x1 b+0x2\ncxl b+0x5 a+0x6 a@00+0x3 a+0x4\n", 8, 2);

	ck_assert_int_eq(ret, -E2BIG);
	ck_assert_str_eq(err, "line 2: more than 2 modules");
	ck_assert_uint_eq(R.nrules, 1);
	ck_assert_uint_eq(R.nmodules, 2);

	/* Tables larger than the site bitmaps are held to them: module 256,
	 * the last frame of line 17, does not fit. */
	static char big[17 * 16 * 16];
	int n = snprintf(big, sizeof(big), "cxl x+0x1");
	for (int k = 1; k <= 16 * 17; k++)
		n += snprintf(big + n, sizeof(big) - (size_t)n, "%sm%d+0x1",
			      (k - 1) % 16 ? " " : "\ndram ", k);
	ret = parse_max(big, 64, 100000);
	ck_assert_int_eq(ret, -E2BIG);
	ck_assert_str_eq(err, "line 17: more than 256 modules");
	ck_assert_uint_eq(R.nrules, 16);
	ck_assert_uint_eq(R.nmodules, 241);
}
END_TEST

/* On error the rules before the bad line stay, modules of that line do
 * not, and a new parse starts from nothing. */
START_TEST(error_state)
{
	ck_assert_int_eq(parse("dram a+0x1\ncxl b+0x2 c+0x3 bad\n"), -EINVAL);
	ck_assert_uint_eq(R.nrules, 1);
	ck_assert_uint_eq(R.nmodules, 1);
	ck_assert_uint_eq(R.max_frames, 1);
	ck_assert(!R.has_fallback);
	parse_ok("cxl z+0x9");
	ck_assert_uint_eq(R.nrules, 1);
	check_frame(0, 0, "z", NULL, 9);
}
END_TEST

/* ----------------------------------------------------------------------- */
/* Module matching                                                         */
/* ----------------------------------------------------------------------- */

static const struct {
	const char *name, *build_id;   /* the rule's module */
	const char *path, *path_build_id;
	bool want;
} modmatch[] = {
	{ "libc.so.6", NULL, "/usr/lib/x86_64-linux-gnu/libc.so.6", NULL, true },
	{ "libc.so.6", NULL, "/usr/lib/x86_64-linux-gnu/libc.so.6", "abcd", true },
	{ "libc.so.6", NULL, "libc.so.6", NULL, true },
	{ "libc.so.6", NULL, "/usr/lib/libc.so.6.1", NULL, false },
	{ "libc.so", NULL, "/usr/lib/libc.so.6", NULL, false },
	{ "libc.so.6", NULL, "/usr/libc.so.6/other", NULL, false },
	{ "libc.so.6", NULL, "/usr/lib/libc.so.6/", NULL, false },
	{ "libc.so.6", NULL, "", NULL, false },
	{ "/usr/lib/libc.so.6", NULL, "/usr/lib/libc.so.6", NULL, true },
	{ "/usr/lib/libc.so.6", NULL, "/lib/libc.so.6", NULL, false },
	{ "/usr/lib/libc.so.6", NULL, "libc.so.6", NULL, false },
	{ "lib/libc.so.6", NULL, "/usr/lib/libc.so.6", NULL, false },
	{ "/usr/lib/libc.so.6", NULL, "/usr/lib/libc.so.6.bak", NULL, false },
	{ "libc.so.6", "abcd", "/lib/libc.so.6", "abcd", true },
	{ "libc.so.6", "abcd", "/lib/libc.so.6", "abce", false },
	{ "libc.so.6", "abcd", "/lib/libc.so.6", "abcd00", false },
	{ "libc.so.6", "abcd", "/lib/libc.so.6", NULL, false },
	{ "libc.so.6", "abcd", "/lib/libc.so.6", "ABCD", true },
	{ "libc.so.6", "abcd", "/lib/libm.so.6", "abcd", false },
	{ "/lib/libc.so.6", "ab", "/lib/libc.so.6", "ab", true },
	{ "/lib/libc.so.6", "ab", "/usr/lib/libc.so.6", "ab", false },
	{ "/opt/g++@x/libfoo.so", NULL, "/opt/g++@x/libfoo.so", NULL, true },
	{ "g++@x", NULL, "/opt/g++@x", NULL, true },
};

START_TEST(module_matches)
{
	struct cxlmu_rule_module m = { modmatch[_i].name, modmatch[_i].build_id };
	bool got = cxlmu_rules_module_matches(&m, modmatch[_i].path, modmatch[_i].path_build_id);

	ck_assert_msg(got == modmatch[_i].want, "rule module '%s'@'%s' vs '%s'@'%s': %d, want %d",
		      m.name, str(m.build_id), modmatch[_i].path, str(modmatch[_i].path_build_id),
		      got, modmatch[_i].want);
}
END_TEST

/* ----------------------------------------------------------------------- */
/* Matching and lookup                                                     */
/* ----------------------------------------------------------------------- */

struct loaded {
	const char *path, *build_id;
	uint64_t offset;
};

#define SITE_MAX 8
static uint64_t bits[SITE_MAX][CXLMU_RULES_MAX_MODULES / 64];
static struct cxlmu_site_frame site[SITE_MAX];

/* Site frames as the runtime builds them: each frame's module bitmap from
 * cxlmu_rules_module_matches against every rule module. */
static unsigned make_site(const struct loaded *in)
{
	unsigned n;

	memset(bits, 0, sizeof(bits));
	for (n = 0; n < SITE_MAX && in[n].path; n++) {
		for (unsigned m = 0; m < R.nmodules; m++)
			if (cxlmu_rules_module_matches(&R.module[m], in[n].path, in[n].build_id))
				bits[n][m / 64] |= 1ull << (m % 64);
		site[n].offset = in[n].offset;
		site[n].modules = bits[n];
	}
	return n;
}

static const char lookup_rules[] =
	"dram a.so+0x10\n"
	"cxl a.so+0x10 b.so+0x20\n"
	"dram a.so+0x10 b.so+0x20\n"
	"cxl a.so+0x10 b.so+0x20 c.so+0x30 d.so+0x40\n"
	"dram /lib/e.so+0x1\n"
	"cxl f.so@beef+0x2\n"
	"fallback interleave:1:1\n";

static const struct {
	struct loaded frames[SITE_MAX + 1];
	unsigned want_line;   /* 0: no rule */
} lookups[] = {
	{ { { "/lib/a.so", NULL, 0x10 } }, 1 },
	{ { { "a.so", NULL, 0x10 }, { "/x", NULL, 0x99 } }, 1 },
	{ { { "/usr/lib/a.so", "1234", 0x10 }, { "/lib/b.so", NULL, 0x20 } }, 2 },
	{ { { "/a.so", NULL, 0x10 }, { "/b.so", NULL, 0x20 }, { "/c.so", NULL, 0x30 } }, 2 },
	{ { { "/a.so", NULL, 0x10 }, { "/b.so", NULL, 0x20 }, { "/c.so", NULL, 0x30 },
	    { "/d.so", NULL, 0x40 }, { "/z", NULL, 1 } }, 4 },
	{ { { "/a.so", NULL, 0x10 }, { "/b.so", NULL, 0x20 }, { "/c.so", NULL, 0x30 },
	    { "/d.so", NULL, 0x41 } }, 2 },
	{ { { "/a.so", NULL, 0x10 }, { "/b.so", NULL, 0x21 } }, 1 },
	{ { { "/a.so", NULL, 0x11 } }, 0 },
	{ { { "/b.so", NULL, 0x10 } }, 0 },
	{ { { "/x", NULL, 0x0 }, { "/a.so", NULL, 0x10 } }, 0 },
	{ { { "/lib/e.so", NULL, 0x1 } }, 5 },
	{ { { "/usr/lib/e.so", NULL, 0x1 } }, 0 },
	{ { { "/f.so", "beef", 0x2 } }, 6 },
	{ { { "/f.so", NULL, 0x2 } }, 0 },
	{ { { "/f.so", "bee0", 0x2 } }, 0 },
	{ { { NULL } }, 0 },
};

START_TEST(lookup)
{
	const struct cxlmu_rule *got;
	unsigned n, want = lookups[_i].want_line;

	parse_ok(lookup_rules);
	n = make_site(lookups[_i].frames);
	got = cxlmu_rules_lookup(&R, site, n);
	ck_assert_msg(want ? got && got->line == want : !got, "site %d (%u frames): rule on line %u, want %u",
		      _i, n, got ? got->line : 0, want);
}
END_TEST

/* The longest rule wins wherever it is in the file. */
START_TEST(lookup_longest_first)
{
	static const struct loaded in[] = {
		{ "/a", NULL, 1 }, { "/b", NULL, 2 }, { "/c", NULL, 3 }, { NULL },
	};
	const struct cxlmu_rule *got;

	parse_ok("cxl a+0x1 b+0x2\ndram a+0x1\ndram a+0x1 b+0x2 c+0x3\ncxl a+0x1 b+0x2 c+0x3\n");
	make_site(in);
	got = cxlmu_rules_lookup(&R, site, 3);
	ck_assert_msg(got && got->line == 3, "3 frames: line %u", got ? got->line : 0);
	got = cxlmu_rules_lookup(&R, site, 2);
	ck_assert_msg(got && got->line == 1, "2 frames: line %u", got ? got->line : 0);
	got = cxlmu_rules_lookup(&R, site, 1);
	ck_assert_msg(got && got->line == 2, "1 frame: line %u", got ? got->line : 0);
	got = cxlmu_rules_lookup(&R, site, 0);
	ck_assert_msg(!got, "0 frames: line %u", got ? got->line : 0);

	parse_ok("# nothing\n");
	ck_assert(cxlmu_rules_lookup(&R, site, 3) == NULL);
}
END_TEST

/* cxlmu_rules_match on its own: offsets, a module bit in the second word,
 * and a rule longer than the site. */
START_TEST(match_bits)
{
	uint64_t b0[CXLMU_RULES_MAX_MODULES / 64] = { 0 }, b1[CXLMU_RULES_MAX_MODULES / 64] = { 0 };
	struct cxlmu_rule rule = { .tier = CXLMU_TIER_CXL, .line = 1, .nframes = 2 };
	struct cxlmu_site_frame f[2] = { { 0x10, b0 }, { 0x20, b1 } };

	rule.frame[0] = (struct cxlmu_rule_frame){ 0x10, 70 };
	rule.frame[1] = (struct cxlmu_rule_frame){ 0x20, 255 };
	b0[1] = 1ull << 6;
	b1[3] = 1ull << 63;
	ck_assert(cxlmu_rules_match(&rule, f, 2));
	ck_assert(!cxlmu_rules_match(&rule, f, 1));
	b0[0] = 1ull << 6;
	b0[1] = 0;
	ck_assert(!cxlmu_rules_match(&rule, f, 2));
	b0[1] = ~0ull;
	f[1].offset = 0x21;
	ck_assert(!cxlmu_rules_match(&rule, f, 2));
	rule.nframes = 1;
	ck_assert(cxlmu_rules_match(&rule, f, 1));
	ck_assert(cxlmu_rules_match(&rule, f, 2));
}
END_TEST

Suite *suite_rules(void)
{
	Suite *s = suite_create("rules");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, empty);
	tcase_add_test(tc, layout);
	tcase_add_test(tc, no_trailing_newline);
	tcase_add_loop_test(tc, fallback_kinds, 0, CXLMU_ARRAY_SIZE(fallbacks));
	tcase_add_test(tc, build_ids);
	tcase_add_test(tc, paths);
	tcase_add_test(tc, dedupe);
	tcase_add_test(tc, max_frames);
	tcase_add_test(tc, zero_tables);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, malformed, 0, CXLMU_ARRAY_SIZE(bad));
	tcase_add_test(tc, long_token);
	tcase_add_test(tc, too_many_rules);
	tcase_add_test(tc, too_many_modules);
	tcase_add_test(tc, error_state);
	suite_add_tcase(s, tc);

	tc = tcase_create("match");
	tcase_add_loop_test(tc, module_matches, 0, CXLMU_ARRAY_SIZE(modmatch));
	tcase_add_loop_test(tc, lookup, 0, CXLMU_ARRAY_SIZE(lookups));
	tcase_add_test(tc, lookup_longest_first);
	tcase_add_test(tc, match_bits);
	suite_add_tcase(s, tc);

	return s;
}
