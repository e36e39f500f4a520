/* Unit tests of src/options.c: the value parsers, the options table, one
 * option applied with its error message, and the environment reader. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "unit.h"

/* ----------------------------------------------------------------------- */
/* cxlmu_parse_size                                                          */
/* ----------------------------------------------------------------------- */

static const struct { const char *text; uint64_t want; } good_sizes[] = {
	{ "0", 0 },
	{ "1", 1 },
	{ "123", 123 },
	{ "4096", 4096 },
	{ "64K", 64 * CXLMU_KiB },
	{ "64k", 64 * CXLMU_KiB },
	{ "64KB", 64 * CXLMU_KiB },
	{ "64KiB", 64 * CXLMU_KiB },
	{ "64kib", 64 * CXLMU_KiB },
	{ "2M", 2 * CXLMU_MiB },
	{ "2m", 2 * CXLMU_MiB },
	{ "2MB", 2 * CXLMU_MiB },
	{ "2MiB", 2 * CXLMU_MiB },
	{ "1G", CXLMU_GiB },
	{ "1g", CXLMU_GiB },
	{ "1gb", CXLMU_GiB },
	{ "0K", 0 },
	{ "007", 7 },
	{ "18446744073709551615", UINT64_MAX },
	{ "17179869183G", 17179869183ull * CXLMU_GiB },
};

static const char *const bad_sizes[] = {
	"", "K", "M", "-1", "+1", " 1", "1 ", "1.5M", "12Q", "1T", "0x10",
	"1KK", "1iB", "1B", "1Ki", "1KiBB", "64KiBx", "1e3",
	"18446744073709551616",          /* 2^64 */
	"99999999999999999999",
	"17179869184G",                  /* 2^34 G = 2^64 */
	"18014398509481984K",            /* 2^54 K = 2^64 */
};

START_TEST(size_good)
{
	const char *in = good_sizes[_i].text;
	uint64_t v = 12345;
	int r = cxlmu_parse_size(in, &v);

	ck_assert_msg(r == 0, "rejected good size '%s' (%d)", in, r);
	ck_assert_msg(v == good_sizes[_i].want, "size '%s' gave %llu, want %llu", in,
		      (unsigned long long)v, (unsigned long long)good_sizes[_i].want);
}
END_TEST

START_TEST(size_bad)
{
	const char *in = bad_sizes[_i];
	uint64_t v = 0;
	int r = cxlmu_parse_size(in, &v);

	ck_assert_msg(r == -EINVAL, "accepted bad size '%s' (ret %d, value %llu)", in, r,
		      (unsigned long long)v);
}
END_TEST

START_TEST(size_null)
{
	uint64_t v;
	ck_assert_msg(cxlmu_parse_size(NULL, &v) == -EINVAL, "accepted a NULL size");
}
END_TEST

/* ----------------------------------------------------------------------- */
/* cxlmu_parse_bool                                                          */
/* ----------------------------------------------------------------------- */

static const struct { const char *text; bool want; } good_bools[] = {
	{ "1", true }, { "yes", true }, { "on", true }, { "true", true },
	{ "YES", true }, { "On", true }, { "TRUE", true },
	{ "0", false }, { "no", false }, { "off", false }, { "false", false },
	{ "NO", false }, { "Off", false }, { "False", false },
};

static const char *const bad_bools[] = {
	"", "2", "-1", "y", "n", "yes ", " no", "nope", "enable", "10", "01", "t",
};

START_TEST(bool_good)
{
	const char *in = good_bools[_i].text;
	bool v = !good_bools[_i].want;
	int r = cxlmu_parse_bool(in, &v);

	ck_assert_msg(r == 0, "rejected good boolean '%s'", in);
	ck_assert_msg(v == good_bools[_i].want, "boolean '%s' gave %d", in, v);
}
END_TEST

START_TEST(bool_bad)
{
	const char *in = bad_bools[_i];
	bool v;

	ck_assert_msg(cxlmu_parse_bool(in, &v) == -EINVAL, "accepted bad boolean '%s'", in);
}
END_TEST

START_TEST(bool_null)
{
	bool v;
	ck_assert_msg(cxlmu_parse_bool(NULL, &v) == -EINVAL, "accepted a NULL boolean");
}
END_TEST

/* ----------------------------------------------------------------------- */
/* cxlmu_parse_nodelist                                                      */
/* ----------------------------------------------------------------------- */

static const struct { const char *text; cxlmu_nodemask_t want; } good_lists[] = {
	{ "0", 0x1 },
	{ "1", 0x2 },
	{ "0,2-3", 0xd },
	{ "2-3,0", 0xd },
	{ "1,1", 0x2 },
	{ "3-3", 0x8 },
	{ "0-1,1-2", 0x7 },
	{ "63", 1ull << 63 },
	{ "0-63", ~0ull },
	{ "62-63", 3ull << 62 },
	{ "010", 1ull << 10 },
};

static const char *const bad_lists[] = {
	"", "64", "65", "100", "0-64", "3-1", "1,", ",1", "1-", "-1", "a", "1 2",
	"1;2", "1,,2", "1--2", " 1", "1 ", "1\n", "0x1", "auto", "all",
};

START_TEST(nodelist_good)
{
	const char *in = good_lists[_i].text;
	cxlmu_nodemask_t m = 0;
	int r = cxlmu_parse_nodelist(in, &m);

	ck_assert_msg(r == 0, "rejected good node list '%s'", in);
	ck_assert_msg(m == good_lists[_i].want, "node list '%s' gave %#llx, want %#llx", in,
		      (unsigned long long)m, (unsigned long long)good_lists[_i].want);
}
END_TEST

START_TEST(nodelist_bad)
{
	const char *in = bad_lists[_i];
	cxlmu_nodemask_t m = 0;
	int r = cxlmu_parse_nodelist(in, &m);

	ck_assert_msg(r == -EINVAL, "accepted bad node list '%s' (mask %#llx)", in,
		      (unsigned long long)m);
}
END_TEST

START_TEST(nodelist_null)
{
	cxlmu_nodemask_t m;
	ck_assert_msg(cxlmu_parse_nodelist(NULL, &m) == -EINVAL, "accepted a NULL node list");
}
END_TEST

/* ----------------------------------------------------------------------- */
/* The table                                                                 */
/* ----------------------------------------------------------------------- */

static const struct { const char *name, *env; enum cxlmu_option_arg arg; } expected[] = {
	{ "policy", "CXLMU_POLICY", CXLMU_ARG_REQUIRED },
	{ "cxl-nodes", "CXLMU_CXL_NODES", CXLMU_ARG_REQUIRED },
	{ "strict", "CXLMU_STRICT", CXLMU_ARG_NONE },
	{ "no-mmap", "CXLMU_NO_MMAP", CXLMU_ARG_NONE },
	{ "heap-check", "CXLMU_HEAP_CHECK", CXLMU_ARG_REQUIRED },
	{ "stats", "CXLMU_STATS", CXLMU_ARG_OPTIONAL },
	{ "stats-format", "CXLMU_STATS_FORMAT", CXLMU_ARG_REQUIRED },
	{ "log", "CXLMU_LOG", CXLMU_ARG_NONE },
	{ "sched", "CXLMU_SCHED", CXLMU_ARG_REQUIRED },
	{ "wait", "CXLMU_WAIT", CXLMU_ARG_REQUIRED },
	{ "fiber-wait", "CXLMU_FIBER_WAIT", CXLMU_ARG_REQUIRED },
	{ "sites-fallback", "CXLMU_SITES_FALLBACK", CXLMU_ARG_REQUIRED },
	{ "profile", "CXLMU_PROFILE", CXLMU_ARG_REQUIRED },
	{ "sample-bytes", "CXLMU_SAMPLE_BYTES", CXLMU_ARG_REQUIRED },
	{ "site-frames", "CXLMU_SITE_FRAMES", CXLMU_ARG_REQUIRED },
	{ "remote", "CXLMU_REMOTE", CXLMU_ARG_REQUIRED },
	{ "agent-cpus", "CXLMU_AGENT_CPUS", CXLMU_ARG_REQUIRED },
};

START_TEST(table_complete)
{
	for (size_t i = 0; i < cxlmu_options_count; i++) {
		const struct cxlmu_option *o = &cxlmu_options[i];
		ck_assert_msg(o->name && *o->name, "option %zu has no name", i);
		ck_assert_msg(o->def && o->what && o->accepted && o->help && o->parse,
			      "option '%s' misses a field of the table", o->name);
		ck_assert_msg(*o->help && *o->accepted && *o->what,
			      "option '%s' has an empty description", o->name);
		ck_assert_msg((o->arg == CXLMU_ARG_NONE) == (o->metavar == NULL),
			      "option '%s': a metavar exactly when it takes a value", o->name);
		for (const char *s = o->name; *s; s++)
			ck_assert_msg((*s >= 'a' && *s <= 'z') || *s == '-',
				      "option name '%s' has '%c'", o->name, *s);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(cxlmu_options[j].name, o->name),
				      "option '%s' twice in the table", o->name);
	}
}
END_TEST

START_TEST(table_names)
{
	const struct cxlmu_option *o = cxlmu_option_find(expected[_i].name);
	char env[64];

	ck_assert_msg(o != NULL, "option '%s' not in the table", expected[_i].name);
	ck_assert_msg(!strcmp(o->name, expected[_i].name), "find('%s') gave '%s'",
		      expected[_i].name, o->name);
	ck_assert_msg(o->arg == expected[_i].arg, "option '%s' takes arg kind %d, want %d",
		      o->name, o->arg, expected[_i].arg);
	cxlmu_option_envname(o, env, sizeof(env));
	ck_assert_msg(!strcmp(env, expected[_i].env), "option '%s' has env name '%s', want '%s'",
		      o->name, env, expected[_i].env);
}
END_TEST

START_TEST(table_find_unknown)
{
	static const char *const names[] = {
		"", "Policy", "POLICY", "cxl_nodes", "--policy", "polic", "policyx", "stat",
	};
	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(names); i++)
		ck_assert_msg(cxlmu_option_find(names[i]) == NULL, "found an option named '%s'",
			      names[i]);
	ck_assert_msg(cxlmu_options_count == CXLMU_ARRAY_SIZE(expected),
		      "%zu options in the table, the tests know %zu", cxlmu_options_count,
		      CXLMU_ARRAY_SIZE(expected));
}
END_TEST

START_TEST(envname_truncated)
{
	const struct cxlmu_option *o = cxlmu_option_find("stats-format");
	char buf[10];

	memset(buf, 'x', sizeof(buf));
	cxlmu_option_envname(o, buf, sizeof(buf));
	ck_assert_msg(!strcmp(buf, "CXLMU_STA"), "envname into 10 bytes gave '%.*s'",
		      (int)sizeof(buf), buf);
}
END_TEST

/* ----------------------------------------------------------------------- */
/* Defaults                                                                  */
/* ----------------------------------------------------------------------- */

START_TEST(defaults_values)
{
	struct cxlmu_config c;

	memset(&c, 0xa5, sizeof(c));
	cxlmu_config_defaults(&c);
	ck_assert_msg(c.policy.kind == CXLMU_POLICY_CXL, "default policy kind %d, want cxl",
		      c.policy.kind);
	ck_assert_msg(!c.cxl_nodes_set && c.cxl_nodes == 0, "default cxl-nodes not auto");
	ck_assert_msg(!c.strict, "strict on by default");
	ck_assert_msg(!c.no_mmap, "no-mmap on by default");
	ck_assert_msg(c.heap_check == CXLMU_HEAP_CHECK_AUTO, "default heap-check %d, want auto",
		      c.heap_check);
	ck_assert_msg(!c.log, "log on by default");
	ck_assert_msg(!c.stats && c.stats_path[0] == '\0', "stats on by default");
	ck_assert_msg(c.stats_format == CXLMU_STATS_TEXT, "default stats format %d",
		      c.stats_format);
	ck_assert_msg(c.sites_path[0] == '\0' && !c.sites_fallback_set, "sites set by default");
	ck_assert_msg(c.profile_path[0] == '\0', "profile on by default");
	ck_assert_msg(c.sample_bytes == 2 * 1024 * 1024, "default sample-bytes %llu",
		      (unsigned long long)c.sample_bytes);
	ck_assert_msg(c.site_frames == 6, "default site-frames %u", c.site_frames);
}
END_TEST

/* Every row's documented default, applied, gives cxlmu_config_defaults. */
START_TEST(defaults_match_table)
{
	struct cxlmu_config d, c;
	char err[256];

	cxlmu_config_defaults(&d);
	c = d;
	c.policy.kind = CXLMU_POLICY_INTERLEAVE;
	c.policy.dram_weight = c.policy.cxl_weight = 7;
	c.cxl_nodes_set = true;
	c.cxl_nodes = 5;
	c.strict = c.no_mmap = c.log = c.stats = true;
	strcpy(c.stats_path, "/x");
	c.stats_format = CXLMU_STATS_JSON;
	c.sched = CXLMU_SCHED_OFF;
	c.wait = CXLMU_WAIT_SYSCALL;
	c.fiber_wait = CXLMU_FIBER_WAIT_WAITV;
	strcpy(c.sites_path, "/r");
	c.sites_fallback_set = true;
	strcpy(c.profile_path, "/p");
	c.sample_bytes = 3;
	c.site_frames = 2;
	for (size_t i = 0; i < cxlmu_options_count; i++) {
		const struct cxlmu_option *o = &cxlmu_options[i];
		ck_assert_msg(cxlmu_option_apply(o, o->def, &c, err, sizeof(err)) == 0,
			      "default '%s' of option '%s' rejected: %s", o->def, o->name, err);
	}
	ck_assert_msg(c.policy.kind == d.policy.kind && c.policy.bytes == d.policy.bytes &&
		      c.policy.dram_weight == d.policy.dram_weight &&
		      c.policy.cxl_weight == d.policy.cxl_weight, "policy default differs");
	ck_assert_msg(c.cxl_nodes_set == d.cxl_nodes_set && c.cxl_nodes == d.cxl_nodes,
		      "cxl-nodes default differs");
	ck_assert_msg(c.strict == d.strict && c.no_mmap == d.no_mmap && c.log == d.log,
		      "flag defaults differ");
	ck_assert_msg(c.stats == d.stats && !strcmp(c.stats_path, d.stats_path),
		      "stats default differs");
	ck_assert_msg(c.stats_format == d.stats_format, "stats-format default differs");
	ck_assert_msg(c.sched == d.sched && d.sched == CXLMU_SCHED_AUTO,
		      "sched default differs or is not auto");
	ck_assert_msg(c.wait == d.wait && d.wait == CXLMU_WAIT_AUTO,
		      "wait default differs or is not auto");
	ck_assert_msg(c.fiber_wait == d.fiber_wait && d.fiber_wait == CXLMU_FIBER_WAIT_AUTO,
		      "fiber-wait default differs or is not auto");
	ck_assert_msg(!strcmp(c.sites_path, d.sites_path) &&
		      c.sites_fallback_set == d.sites_fallback_set, "sites defaults differ");
	ck_assert_msg(!strcmp(c.profile_path, d.profile_path) && c.sample_bytes == d.sample_bytes &&
		      c.site_frames == d.site_frames, "profile defaults differ");
}
END_TEST

/* ----------------------------------------------------------------------- */
/* cxlmu_option_apply                                                        */
/* ----------------------------------------------------------------------- */

static struct cxlmu_config cfg;

static void cfg_setup(void)
{
	cxlmu_config_defaults(&cfg);
}

static int apply(const char *name, const char *value, char *err, size_t size)
{
	const struct cxlmu_option *o = cxlmu_option_find(name);
	ck_assert_msg(o != NULL, "no option '%s'", name);
	return cxlmu_option_apply(o, value, &cfg, err, size);
}

static const struct { const char *name, *value, *err; } bad_values[] = {
	{ "policy", "size:12Q", "'size:12Q' is not a policy (accepted: " CXLMU_POLICY_OPTION_ACCEPTED ")" },
	{ "policy", "fast", "'fast' is not a policy (accepted: " CXLMU_POLICY_OPTION_ACCEPTED ")" },
	{ "policy", "", "'' is not a policy (accepted: " CXLMU_POLICY_OPTION_ACCEPTED ")" },
	{ "policy", NULL, "'' is not a policy (accepted: " CXLMU_POLICY_OPTION_ACCEPTED ")" },
	{ "cxl-nodes", "64", "'64' is not a node list (accepted: auto, or node numbers and "
	  "ranges such as 1 or 2,4-5 (below 64))" },
	{ "cxl-nodes", "", NULL },
	{ "cxl-nodes", "AUTO", NULL },
	{ "cxl-nodes", NULL, NULL },
	{ "strict", "maybe", "'maybe' is not a boolean (accepted: 1, 0, yes, no, on, off, true, false)" },
	{ "strict", "", NULL },
	{ "no-mmap", "2", NULL },
	{ "log", "loud", NULL },
	{ "stats", "", "'' is not a file name or boolean (accepted: a file name, stderr, or "
	  "1, 0, yes, no, on, off, true, false)" },
	{ "stats-format", "xml", "'xml' is not a stats format (accepted: text, json)" },
	{ "sched", "fiber", "'fiber' is not a scheduling mode (accepted: off, threads, auto, fibers)" },
	{ "remote", "1abc", "'1abc' is not a list of functions (accepted: off, or up to 64 "
	  "comma-separated SYMBOL or LIBRARY:SYMBOL, a SYMBOL being a C identifier)" },
	{ "remote", "a-b", NULL },
	{ "remote", "lib:", NULL },
	{ "remote", ":sym", NULL },
	{ "remote", "a,,b", NULL },
	{ "remote", "a,", NULL },
	{ "remote", "f(int)", NULL },
	{ "remote", NULL, NULL },
	{ "agent-cpus", "1-", "'1-' is not a CPU list (accepted: auto, or CPU numbers and "
	  "ranges such as 1 or 2,4-5)" },
	{ "agent-cpus", "3-1", NULL },
	{ "agent-cpus", "1024", NULL },
	{ "agent-cpus", "", NULL },
	{ "agent-cpus", "x", NULL },
	{ "agent-cpus", "1,", NULL },
	{ "agent-cpus", NULL, NULL },
	{ "sched", "Threads", NULL },
	{ "sched", "", NULL },
	{ "sched", NULL, NULL },
	{ "wait", "uring", "'uring' is not a wait path (accepted: auto, futex, msg_ring, eventfd, syscall)" },
	{ "wait", "msg-ring", NULL },
	{ "wait", "FUTEX", NULL },
	{ "wait", "", NULL },
	{ "wait", NULL, NULL },
	{ "fiber-wait", "futex_waitv", "'futex_waitv' is not a fiber wait (accepted: auto, ring, waitv)" },
	{ "fiber-wait", "RING", NULL },
	{ "fiber-wait", "", NULL },
	{ "fiber-wait", NULL, NULL },
	{ "stats-format", "JSON", NULL },
	{ "stats-format", "", NULL },
	{ "stats-format", NULL, NULL },
	{ "policy", "sites:", "'sites:' is not a policy (accepted: " CXLMU_POLICY_OPTION_ACCEPTED ")" },
	{ "policy", "sites", NULL },
	{ "sites-fallback", "sites:/r", "'sites:/r' is not a fallback policy (accepted: auto, "
	  "local, cxl, size:N, interleave:D:C, budget:N)" },
	{ "sites-fallback", "size:", NULL },
	{ "sites-fallback", "", NULL },
	{ "sites-fallback", NULL, NULL },
	{ "profile", "", "'' is not a file name (accepted: a file name (%p: the process id), or off)" },
	{ "profile", NULL, NULL },
	{ "sample-bytes", "0", "'0' is not a sampling interval (accepted: a size from 1 to 1G, "
	  "taking K/M/G)" },
	{ "sample-bytes", "2G", NULL },
	{ "sample-bytes", "-1", NULL },
	{ "sample-bytes", "", NULL },
	{ "site-frames", "0", "'0' is not a frame count (accepted: a number from 1 to 16)" },
	{ "site-frames", "17", NULL },
	{ "site-frames", "1K", NULL },
	{ "site-frames", "x", NULL },
};

START_TEST(apply_bad)
{
	const char *name = bad_values[_i].name, *value = bad_values[_i].value;
	struct cxlmu_config before;
	char err[512] = "untouched";
	int r;

	cfg.policy.kind = CXLMU_POLICY_SIZE;
	cfg.policy.bytes = 4242;
	cfg.cxl_nodes_set = true;
	cfg.cxl_nodes = 6;
	cfg.strict = cfg.log = true;
	cfg.stats_format = CXLMU_STATS_JSON;
	memcpy(&before, &cfg, sizeof(cfg));
	r = apply(name, value, err, sizeof(err));
	ck_assert_msg(r == -EINVAL, "--%s accepted bad value '%s'", name, value ? value : "(null)");
	ck_assert_msg(!memcmp(&before, &cfg, sizeof(cfg)),
		      "--%s='%s' was refused but changed the configuration", name,
		      value ? value : "(null)");
	if (bad_values[_i].err)
		ck_assert_msg(!strcmp(err, bad_values[_i].err),
			      "--%s='%s': message\n  '%s'\nwant\n  '%s'", name,
			      value ? value : "(null)", err, bad_values[_i].err);
	else
		ck_assert_msg(err[0] == '\'' && strstr(err, "' is not ") && strstr(err, "(accepted: "),
			      "--%s='%s': message '%s' is not of the usual form", name,
			      value ? value : "(null)", err);
}
END_TEST

START_TEST(apply_err_optional)
{
	ck_assert_msg(apply("policy", "nope", NULL, 0) == -EINVAL, "bad policy accepted with err NULL");
}
END_TEST

START_TEST(apply_err_truncated)
{
	char err[8];

	memset(err, 'x', sizeof(err));
	ck_assert_msg(apply("policy", "nope", err, sizeof(err)) == -EINVAL, "bad policy accepted");
	ck_assert_msg(!strcmp(err, "'nope' "), "message in 8 bytes: '%.*s'", (int)sizeof(err), err);
}
END_TEST

START_TEST(apply_policy)
{
	char err[256] = "";

	ck_assert_msg(apply("policy", "size:64K", err, sizeof(err)) == 0, "size:64K: %s", err);
	ck_assert_msg(cfg.policy.kind == CXLMU_POLICY_SIZE && cfg.policy.bytes == 65536,
		      "size:64K gave kind %d bytes %llu", cfg.policy.kind,
		      (unsigned long long)cfg.policy.bytes);
	ck_assert_msg(apply("policy", "interleave:3:1", err, sizeof(err)) == 0, "interleave: %s", err);
	ck_assert_msg(cfg.policy.kind == CXLMU_POLICY_INTERLEAVE && cfg.policy.dram_weight == 3 &&
		      cfg.policy.cxl_weight == 1, "interleave:3:1 gave %d %u:%u", cfg.policy.kind,
		      cfg.policy.dram_weight, cfg.policy.cxl_weight);
	ck_assert_msg(cfg.policy.bytes == 0, "interleave kept the old size threshold %llu",
		      (unsigned long long)cfg.policy.bytes);
	ck_assert_msg(apply("policy", "local", err, sizeof(err)) == 0 &&
		      cfg.policy.kind == CXLMU_POLICY_LOCAL, "local: %s", err);
}
END_TEST

START_TEST(apply_sites_profile)
{
	char err[256] = "";

	ck_assert_msg(apply("policy", "sites:/etc/r:1", err, sizeof(err)) == 0, "sites: %s", err);
	ck_assert_msg(cfg.policy.kind == CXLMU_POLICY_SITES && !strcmp(cfg.sites_path, "/etc/r:1"),
		      "sites:/etc/r:1 gave kind %d path '%s'", cfg.policy.kind, cfg.sites_path);
	ck_assert_msg(apply("policy", "cxl", err, sizeof(err)) == 0 && cfg.sites_path[0] == '\0',
		      "cxl after sites kept the path '%s'", cfg.sites_path);
	ck_assert_msg(apply("sites-fallback", "budget:1M", err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(cfg.sites_fallback_set && cfg.sites_fallback.kind == CXLMU_POLICY_BUDGET &&
		      cfg.sites_fallback.bytes == CXLMU_MiB, "budget:1M fallback not set");
	ck_assert_msg(apply("sites-fallback", "auto", err, sizeof(err)) == 0 &&
		      !cfg.sites_fallback_set, "auto fallback still set");
	ck_assert_msg(apply("profile", "/tmp/p.%p", err, sizeof(err)) == 0 &&
		      !strcmp(cfg.profile_path, "/tmp/p.%p"), "profile path '%s'", cfg.profile_path);
	ck_assert_msg(apply("profile", "off", err, sizeof(err)) == 0 && !cfg.profile_path[0],
		      "profile off left '%s'", cfg.profile_path);
	ck_assert_msg(apply("sample-bytes", "1", err, sizeof(err)) == 0 && cfg.sample_bytes == 1,
		      "sample-bytes 1 gave %llu", (unsigned long long)cfg.sample_bytes);
	ck_assert_msg(apply("sample-bytes", "1G", err, sizeof(err)) == 0 &&
		      cfg.sample_bytes == CXLMU_GiB, "sample-bytes 1G: %s", err);
	ck_assert_msg(apply("site-frames", "16", err, sizeof(err)) == 0 && cfg.site_frames == 16,
		      "site-frames 16 gave %u", cfg.site_frames);
}
END_TEST

START_TEST(apply_cxl_nodes)
{
	char err[256] = "";

	ck_assert_msg(apply("cxl-nodes", "1,3", err, sizeof(err)) == 0, "'1,3': %s", err);
	ck_assert_msg(cfg.cxl_nodes_set && cfg.cxl_nodes == 0xa, "'1,3' gave set %d mask %#llx",
		      cfg.cxl_nodes_set, (unsigned long long)cfg.cxl_nodes);
	ck_assert_msg(apply("cxl-nodes", "auto", err, sizeof(err)) == 0, "'auto': %s", err);
	ck_assert_msg(!cfg.cxl_nodes_set && cfg.cxl_nodes == 0, "'auto' after '1,3' left set %d mask %#llx",
		      cfg.cxl_nodes_set, (unsigned long long)cfg.cxl_nodes);
	ck_assert_msg(apply("cxl-nodes", "0", err, sizeof(err)) == 0, "'0': %s", err);
	ck_assert_msg(cfg.cxl_nodes_set && cfg.cxl_nodes == 1, "'0' gave set %d mask %#llx",
		      cfg.cxl_nodes_set, (unsigned long long)cfg.cxl_nodes);
}
END_TEST

static const char *const flags[] = { "strict", "no-mmap", "log" };

static bool *flag_field(const char *name)
{
	return !strcmp(name, "strict") ? &cfg.strict : !strcmp(name, "no-mmap") ? &cfg.no_mmap :
	       &cfg.log;
}

START_TEST(apply_heap_check)
{
	static const struct { const char *v; enum cxlmu_heap_check want; } ok[] = {
		{ "on", CXLMU_HEAP_CHECK_ON }, { "off", CXLMU_HEAP_CHECK_OFF },
		{ "auto", CXLMU_HEAP_CHECK_AUTO },
	};
	char err[256] = "";

	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(ok); i++)
		ck_assert_msg(apply("heap-check", ok[i].v, err, sizeof(err)) == 0 &&
			      cfg.heap_check == ok[i].want, "--heap-check=%s: %s", ok[i].v, err);
	ck_assert_msg(apply("heap-check", "yes", err, sizeof(err)) == -EINVAL &&
		      strstr(err, "auto, on, off"), "accepted 'yes' or named nothing: %s", err);
	ck_assert_msg(cfg.heap_check == CXLMU_HEAP_CHECK_AUTO, "a bad value changed the mode");
}
END_TEST

START_TEST(apply_flags)
{
	const char *name = flags[_i];
	bool *f = flag_field(name);
	char err[256] = "";

	ck_assert_msg(apply(name, NULL, err, sizeof(err)) == 0 && *f, "bare --%s did not set it", name);
	ck_assert_msg(apply(name, "off", err, sizeof(err)) == 0 && !*f, "--%s=off did not clear it", name);
	ck_assert_msg(apply(name, "Yes", err, sizeof(err)) == 0 && *f, "--%s=Yes did not set it", name);
	ck_assert_msg(apply(name, "0", err, sizeof(err)) == 0 && !*f, "--%s=0 did not clear it", name);
}
END_TEST

START_TEST(apply_stats)
{
	char err[256] = "", longpath[PATH_MAX + 8];
	static const char *const on[] = { NULL, "stderr", "-", "1", "yes" };

	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(on); i++) {
		strcpy(cfg.stats_path, "/old");
		cfg.stats = false;
		ck_assert_msg(apply("stats", on[i], err, sizeof(err)) == 0, "--stats=%s: %s",
			      on[i] ? on[i] : "(bare)", err);
		ck_assert_msg(cfg.stats && !cfg.stats_path[0], "--stats=%s gave stats %d path '%s'",
			      on[i] ? on[i] : "(bare)", cfg.stats, cfg.stats_path);
	}
	ck_assert_msg(apply("stats", "off", err, sizeof(err)) == 0 && !cfg.stats, "--stats=off");
	ck_assert_msg(apply("stats", "/tmp/r-%p.txt", err, sizeof(err)) == 0, "file: %s", err);
	ck_assert_msg(cfg.stats && !strcmp(cfg.stats_path, "/tmp/r-%p.txt"),
		      "--stats=/tmp/r-%%p.txt gave stats %d path '%s'", cfg.stats, cfg.stats_path);

	memset(longpath, 'a', sizeof(longpath));
	longpath[PATH_MAX - 1] = '\0';   /* PATH_MAX - 1 characters: fits */
	ck_assert_msg(apply("stats", longpath, err, sizeof(err)) == 0, "path of PATH_MAX-1 refused");
	ck_assert_msg(strlen(cfg.stats_path) == PATH_MAX - 1, "long path cut to %zu",
		      strlen(cfg.stats_path));
	longpath[PATH_MAX - 1] = 'a';
	longpath[PATH_MAX] = '\0';       /* PATH_MAX characters: no room */
	ck_assert_msg(apply("stats", longpath, NULL, 0) == -EINVAL, "path of PATH_MAX accepted");
}
END_TEST

/* --remote keeps the list as given, each SPEC split as the runtime reads
 * it; 64 SPECs and no more. */
START_TEST(apply_remote)
{
	struct cxlmu_remote_spec sp;
	char err[256] = "", many[1024];
	const char *t;
	int e;
	size_t n = 0;

	ck_assert_msg(apply("remote", "f,libm.so.6:cos,/opt/a:b/libx.so:_g2", err, sizeof(err)) == 0,
		      "remote: %s", err);
	ck_assert_str_eq(cfg.remote, "f,libm.so.6:cos,/opt/a:b/libx.so:_g2");
	t = cxlmu_remote_spec_next(cfg.remote, &sp, &e);
	ck_assert_msg(!e && !strcmp(sp.sym, "f") && !sp.lib[0], "1st: '%s' '%s'", sp.lib, sp.sym);
	t = cxlmu_remote_spec_next(t, &sp, &e);
	ck_assert_msg(!e && !strcmp(sp.sym, "cos") && !strcmp(sp.lib, "libm.so.6"),
		      "2nd: '%s' '%s'", sp.lib, sp.sym);
	t = cxlmu_remote_spec_next(t, &sp, &e);
	ck_assert_msg(!e && !t && !strcmp(sp.sym, "_g2") && !strcmp(sp.lib, "/opt/a:b/libx.so"),
		      "3rd (a ':' in the path): '%s' '%s'", sp.lib, sp.sym);
	ck_assert_msg(apply("remote", "off", err, sizeof(err)) == 0 && !cfg.remote[0],
		      "remote=off left '%s'", cfg.remote);
	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%sf%d", i ? "," : "", i);
	ck_assert_msg(apply("remote", many, err, sizeof(err)) == -EINVAL, "65 SPECs taken");
	*strrchr(many, ',') = '\0';
	ck_assert_msg(apply("remote", many, err, sizeof(err)) == 0, "64 SPECs: %s", err);
	ck_assert_msg(apply("agent-cpus", "1,3-4", err, sizeof(err)) == 0 && cfg.agent_cpus_set &&
		      CPU_COUNT(&cfg.agent_cpus) == 3 && CPU_ISSET(1, &cfg.agent_cpus) &&
		      CPU_ISSET(4, &cfg.agent_cpus) && !CPU_ISSET(2, &cfg.agent_cpus),
		      "agent-cpus=1,3-4: %s", err);
	ck_assert_msg(apply("agent-cpus", "auto", err, sizeof(err)) == 0 && !cfg.agent_cpus_set,
		      "agent-cpus=auto: %s", err);
}
END_TEST

START_TEST(apply_sched_wait)
{
	static const struct { const char *v; enum cxlmu_wait_path p; } paths[] = {
		{ "auto", CXLMU_WAIT_AUTO }, { "futex", CXLMU_WAIT_FUTEX },
		{ "msg_ring", CXLMU_WAIT_MSG_RING }, { "eventfd", CXLMU_WAIT_EVENTFD },
		{ "syscall", CXLMU_WAIT_SYSCALL },
	};
	static const struct { const char *v; enum cxlmu_fiber_wait w; } ways[] = {
		{ "auto", CXLMU_FIBER_WAIT_AUTO }, { "ring", CXLMU_FIBER_WAIT_RING },
		{ "waitv", CXLMU_FIBER_WAIT_WAITV },
	};
	char err[256] = "";

	ck_assert_msg(apply("sched", "off", err, sizeof(err)) == 0 &&
		      cfg.sched == CXLMU_SCHED_OFF, "sched=off: %s", err);
	ck_assert_msg(apply("sched", "threads", err, sizeof(err)) == 0 &&
		      cfg.sched == CXLMU_SCHED_THREADS, "sched=threads: %s", err);
	ck_assert_msg(apply("sched", "fibers", err, sizeof(err)) == 0 &&
		      cfg.sched == CXLMU_SCHED_FIBERS, "sched=fibers: %s", err);
	ck_assert_msg(apply("sched", "auto", err, sizeof(err)) == 0 &&
		      cfg.sched == CXLMU_SCHED_AUTO, "sched=auto: %s", err);
	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(paths); i++) {
		/* From a different value each time, so the assignment shows. */
		cfg.wait = paths[(i + 1) % CXLMU_ARRAY_SIZE(paths)].p;
		ck_assert_msg(apply("wait", paths[i].v, err, sizeof(err)) == 0 &&
			      cfg.wait == paths[i].p, "wait=%s gave %d: %s", paths[i].v,
			      cfg.wait, err);
	}
	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(ways); i++) {
		cfg.fiber_wait = ways[(i + 1) % CXLMU_ARRAY_SIZE(ways)].w;
		ck_assert_msg(apply("fiber-wait", ways[i].v, err, sizeof(err)) == 0 &&
			      cfg.fiber_wait == ways[i].w, "fiber-wait=%s gave %d: %s", ways[i].v,
			      cfg.fiber_wait, err);
	}
}
END_TEST

START_TEST(apply_stats_format)
{
	char err[256] = "";

	ck_assert_msg(apply("stats-format", "json", err, sizeof(err)) == 0 &&
		      cfg.stats_format == CXLMU_STATS_JSON, "json: %s", err);
	ck_assert_msg(apply("stats-format", "text", err, sizeof(err)) == 0 &&
		      cfg.stats_format == CXLMU_STATS_TEXT, "text: %s", err);
}
END_TEST

/* ----------------------------------------------------------------------- */
/* cxlmu_config_from_env                                                     */
/* ----------------------------------------------------------------------- */

static char warnings[16][400];
static int nwarn;

static void record(const char *fmt, ...)
{
	va_list ap;

	ck_assert_msg(nwarn < 16, "too many warnings");
	va_start(ap, fmt);
	vsnprintf(warnings[nwarn++], sizeof(warnings[0]), fmt, ap);
	va_end(ap);
}

static void env_setup(void)
{
	cxlmu_config_defaults(&cfg);
	nwarn = 0;
}

START_TEST(env_good)
{
	char *env[] = {
		"PATH=/usr/bin", "CXLMU_POLICY=size:1M", "CXLMU_CXL_NODES=2,4", "CXLMU_STRICT=yes",
		"CXLMU_NO_MMAP=on", "CXLMU_LOG=1", "CXLMU_STATS=/tmp/s", "CXLMU_STATS_FORMAT=json",
		"CXLMU_SCHED=off", "CXLMU_WAIT=eventfd", "HOME=/root", NULL,
	};
	int bad = cxlmu_config_from_env(&cfg, env, record);

	ck_assert_msg(bad == 0, "%d bad values counted in a good environment", bad);
	ck_assert_msg(nwarn == 0, "warned for a good environment: '%s'", warnings[0]);
	ck_assert_msg(cfg.policy.kind == CXLMU_POLICY_SIZE && cfg.policy.bytes == CXLMU_MiB,
		      "CXLMU_POLICY=size:1M not applied");
	ck_assert_msg(cfg.cxl_nodes_set && cfg.cxl_nodes == 0x14, "CXLMU_CXL_NODES=2,4 gave %#llx",
		      (unsigned long long)cfg.cxl_nodes);
	ck_assert_msg(cfg.strict && cfg.no_mmap && cfg.log, "CXLMU_STRICT/NO_MMAP/LOG not applied");
	ck_assert_msg(cfg.stats && !strcmp(cfg.stats_path, "/tmp/s"), "CXLMU_STATS=/tmp/s not applied");
	ck_assert_msg(cfg.stats_format == CXLMU_STATS_JSON, "CXLMU_STATS_FORMAT=json not applied");
	ck_assert_msg(cfg.sched == CXLMU_SCHED_OFF, "CXLMU_SCHED=off not applied");
	ck_assert_msg(cfg.wait == CXLMU_WAIT_EVENTFD, "CXLMU_WAIT=eventfd not applied");
}
END_TEST

START_TEST(env_unknown_names)
{
	char *env[] = {
		"CXLMU_BOGUS=1", "CXLMU_POLICYX=cxl", "CXLMU_=x", "CXLMU_CXL-NODES=1",
		"CXLMU_policy=local", "CXLMU_LIB=/x/libcxlmu.so", NULL,
	};
	static const char *const names[] = {
		"CXLMU_BOGUS", "CXLMU_POLICYX", "CXLMU_", "CXLMU_CXL-NODES", "CXLMU_policy",
		"CXLMU_LIB",
	};
	struct cxlmu_config before;
	int bad;

	memcpy(&before, &cfg, sizeof(cfg));
	bad = cxlmu_config_from_env(&cfg, env, record);
	ck_assert_msg(bad == 0, "unknown names counted as %d bad values", bad);
	ck_assert_msg(nwarn == 6, "%d warnings for 6 unknown names", nwarn);
	for (int i = 0; i < 6; i++) {
		char want[128];
		snprintf(want, sizeof(want), "%s is not a cxlmu option; ignored", names[i]);
		ck_assert_msg(!strcmp(warnings[i], want), "unknown %s: warning '%s', want '%s'",
			      names[i], warnings[i], want);
	}
	ck_assert_msg(!memcmp(&before, &cfg, sizeof(cfg)), "unknown names changed the configuration");
}
END_TEST

START_TEST(env_bad_values)
{
	char *env[] = {
		"CXLMU_POLICY=fast", "CXLMU_STRICT=maybe", "CXLMU_LOG=1", "CXLMU_CXL_NODES=64",
		"CXLMU_STATS_FORMAT=", "CXLMU_NOPE=1", NULL,
	};
	int bad = cxlmu_config_from_env(&cfg, env, record);

	ck_assert_msg(bad == 4, "4 bad values counted as %d", bad);
	ck_assert_msg(nwarn == 5, "%d warnings for 4 bad values and 1 unknown name", nwarn);
	ck_assert_msg(!strcmp(warnings[0], "CXLMU_POLICY='fast' is not a policy (accepted: "
			     CXLMU_POLICY_OPTION_ACCEPTED ")"), "CXLMU_POLICY=fast warned '%s'", warnings[0]);
	ck_assert_msg(!strncmp(warnings[1], "CXLMU_STRICT='maybe' is not a boolean", 37),
		      "CXLMU_STRICT=maybe warned '%s'", warnings[1]);
	ck_assert_msg(!strncmp(warnings[2], "CXLMU_CXL_NODES='64' is not a node list", 39),
		      "CXLMU_CXL_NODES=64 warned '%s'", warnings[2]);
	ck_assert_msg(!strncmp(warnings[3], "CXLMU_STATS_FORMAT='' is not a stats format", 43),
		      "CXLMU_STATS_FORMAT= warned '%s'", warnings[3]);
	ck_assert_msg(strstr(warnings[4], "CXLMU_NOPE is not a cxlmu option"),
		      "CXLMU_NOPE warned '%s'", warnings[4]);
	/* Bad values leave their field alone; good ones still apply. */
	ck_assert_msg(cfg.policy.kind == CXLMU_POLICY_CXL, "bad CXLMU_POLICY changed the policy");
	ck_assert_msg(!cfg.strict, "bad CXLMU_STRICT changed strict");
	ck_assert_msg(!cfg.cxl_nodes_set, "bad CXLMU_CXL_NODES changed cxl-nodes");
	ck_assert_msg(cfg.log, "good CXLMU_LOG=1 next to bad values not applied");
}
END_TEST

START_TEST(env_edge_entries)
{
	char *env[] = {
		"CXLMU_POLICY", "cxlmu_policy=local", "XCXLMU_POLICY=local", "CXLMU_POLICY=local",
		"CXLMU_POLICY=budget:2G", "CXLMU_STRICT=1=1", NULL,
	};
	int bad = cxlmu_config_from_env(&cfg, env, record);

	ck_assert_msg(bad == 1, "CXLMU_STRICT=1=1 alone is bad, counted %d", bad);
	ck_assert_msg(nwarn == 1 && strstr(warnings[0], "CXLMU_STRICT='1=1'"),
		      "%d warnings, first '%s'", nwarn, nwarn ? warnings[0] : "");
	ck_assert_msg(cfg.policy.kind == CXLMU_POLICY_BUDGET && cfg.policy.bytes == 2 * CXLMU_GiB,
		      "the last CXLMU_POLICY should win: kind %d bytes %llu", cfg.policy.kind,
		      (unsigned long long)cfg.policy.bytes);
}
END_TEST

START_TEST(env_run_id)
{
	char long_id[80];
	char *env[] = { "CXLMU_RUN_ID=4242-1764000000.123456789", NULL };
	char *bad_env[] = { "CXLMU_RUN_ID=a b", "CXLMU_RUN_ID=", long_id, NULL };
	int bad;

	bad = cxlmu_config_from_env(&cfg, env, record);
	ck_assert_msg(bad == 0 && nwarn == 0, "a good run id: %d bad, %d warnings ('%s')", bad,
		      nwarn, nwarn ? warnings[0] : "");
	ck_assert_msg(!strcmp(cfg.run_id, "4242-1764000000.123456789"), "run id '%s'", cfg.run_id);
	/* 64 characters: one too many. */
	snprintf(long_id, sizeof(long_id), "CXLMU_RUN_ID=%064d", 7);
	bad = cxlmu_config_from_env(&cfg, bad_env, record);
	ck_assert_msg(bad == 0 && nwarn == 3, "bad run ids: %d bad, %d warnings", bad, nwarn);
	ck_assert_msg(!strcmp(warnings[0], "CXLMU_RUN_ID=a b is not a run id (cxlmu-run sets it: "
			      "up to 63 letters, digits, '.', '-' and '_'); ignored"),
		      "'a b' warned '%s'", warnings[0]);
	ck_assert_msg(!strcmp(cfg.run_id, "4242-1764000000.123456789"),
		      "bad run ids changed the good one to '%s'", cfg.run_id);
	ck_assert_msg(cxlmu_run_id_ok("a.B-9_z") && !cxlmu_run_id_ok("") && !cxlmu_run_id_ok("x/y") &&
		      !cxlmu_run_id_ok(long_id + 13) && cxlmu_run_id_ok(long_id + 14),
		      "cxlmu_run_id_ok");
}
END_TEST

START_TEST(env_null)
{
	char *env[] = { "CXLMU_POLICY=nope", "CXLMU_WHAT=1", NULL };

	ck_assert_msg(cxlmu_config_from_env(&cfg, NULL, record) == 0 && nwarn == 0,
		      "NULL envp not a no-op");
	ck_assert_msg(cxlmu_config_from_env(&cfg, env, NULL) == 1,
		      "without a warn function the bad value is still counted");
}
END_TEST

Suite *suite_options(void)
{
	Suite *s = suite_create("options");
	TCase *tc;

	tc = tcase_create("size");
	tcase_add_loop_test(tc, size_good, 0, CXLMU_ARRAY_SIZE(good_sizes));
	tcase_add_loop_test(tc, size_bad, 0, CXLMU_ARRAY_SIZE(bad_sizes));
	tcase_add_test(tc, size_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("bool");
	tcase_add_loop_test(tc, bool_good, 0, CXLMU_ARRAY_SIZE(good_bools));
	tcase_add_loop_test(tc, bool_bad, 0, CXLMU_ARRAY_SIZE(bad_bools));
	tcase_add_test(tc, bool_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("nodelist");
	tcase_add_loop_test(tc, nodelist_good, 0, CXLMU_ARRAY_SIZE(good_lists));
	tcase_add_loop_test(tc, nodelist_bad, 0, CXLMU_ARRAY_SIZE(bad_lists));
	tcase_add_test(tc, nodelist_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_add_test(tc, table_complete);
	tcase_add_loop_test(tc, table_names, 0, CXLMU_ARRAY_SIZE(expected));
	tcase_add_test(tc, table_find_unknown);
	tcase_add_test(tc, envname_truncated);
	suite_add_tcase(s, tc);

	tc = tcase_create("defaults");
	tcase_add_test(tc, defaults_values);
	tcase_add_test(tc, defaults_match_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("apply");
	tcase_add_checked_fixture(tc, cfg_setup, NULL);
	tcase_add_loop_test(tc, apply_bad, 0, CXLMU_ARRAY_SIZE(bad_values));
	tcase_add_test(tc, apply_err_optional);
	tcase_add_test(tc, apply_err_truncated);
	tcase_add_test(tc, apply_policy);
	tcase_add_test(tc, apply_sites_profile);
	tcase_add_test(tc, apply_cxl_nodes);
	tcase_add_loop_test(tc, apply_flags, 0, CXLMU_ARRAY_SIZE(flags));
	tcase_add_test(tc, apply_heap_check);
	tcase_add_test(tc, apply_stats);
	tcase_add_test(tc, apply_stats_format);
	tcase_add_test(tc, apply_sched_wait);
	tcase_add_test(tc, apply_remote);
	suite_add_tcase(s, tc);

	tc = tcase_create("environment");
	tcase_add_checked_fixture(tc, env_setup, NULL);
	tcase_add_test(tc, env_good);
	tcase_add_test(tc, env_unknown_names);
	tcase_add_test(tc, env_bad_values);
	tcase_add_test(tc, env_edge_entries);
	tcase_add_test(tc, env_run_id);
	tcase_add_test(tc, env_null);
	suite_add_tcase(s, tc);

	return s;
}
