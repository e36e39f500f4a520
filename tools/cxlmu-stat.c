/* cxlmu-stat: read an allocation profile written by cxlmu-run --profile.
 *
 *   cxlmu-stat [--top=N] [--json] FILE
 *   cxlmu-stat --rules --dram-budget=N [--fallback=POLICY] [-o OUT] FILE
 *
 * This file owns the command line, the report (text and JSON) and the
 * number formatting the rules comments share. The profile is read by
 * tools/stat-profile.c, frames are named by tools/stat-symbols.c and the
 * rules are written by tools/stat-rules.c. Exit status: 0, 1 for a bad
 * profile or a file that cannot be read or written, 2 for a bad command
 * line. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "policy.h"
#include "stat.h"

enum { OPT_HELP = 1000, OPT_VERSION, OPT_TOP, OPT_JSON, OPT_RULES, OPT_BUDGET, OPT_FALLBACK };

static const char *prog = "cxlmu-stat";

#define TOP_DEFAULT 20
#define TOP_ACCEPTED "a whole number from 1"
#define BUDGET_ACCEPTED "bytes, or a number with K, M or G: 512M, 2G"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--top=N] [--json] FILE\n"
		"       %s --rules --dram-budget=N [--fallback=POLICY] [-o OUT] FILE\n"
		"Report the allocation sites of a profile written by cxlmu-run --profile=FILE,\n"
		"or write a rules file that keeps the busiest sites in DRAM. FILE may be -\n"
		"for the standard input.\n\n"
		"Report:\n"
		"  %-22s the N sites with the most bytes allocated (default %d)\n"
		"  %-22s the report as one JSON object\n"
		"Rules (for cxlmu-run --policy=sites:OUT):\n"
		"  %-22s write rules instead of the report\n"
		"  %-22s DRAM the kept sites' peak live bytes may take (K/M/G)\n"
		"  %-22s policy for sites no rule names (default local;\n"
		"  %-22s accepted: %s)\n"
		"  %-22s write the rules to OUT instead of the standard output\n"
		"  %-22s this text\n  %-22s the version\n",
		prog, prog, "--top=N", TOP_DEFAULT, "--json", "--rules", "--dram-budget=N",
		"--fallback=POLICY", "", CXLMU_POLICY_ACCEPTED, "-o, --output=OUT", "-h, --help",
		"--version");
}

/* "cxlmu-stat: message" on stderr, then exit with status. */
static void vdie(int status, const char *fmt, va_list ap) __attribute__((noreturn));
static void vdie(int status, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	exit(status);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(2, fmt, ap);
}

void stat_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(1, fmt, ap);
}

/* ----------------------------------------------------------------------- */
/* Numbers for people                                                        */
/* ----------------------------------------------------------------------- */

void stat_human_bytes(uint64_t v, char *buf, size_t size)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double d = (double)v;
	int u = -1;

	if (v < 1024) {
		snprintf(buf, size, "%llu B", (unsigned long long)v);
		return;
	}
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f %s", d, unit[u]);
}

/* A bucket bound: a whole number of its unit when it is one (64 KiB, 10 us). */
static void bound_text(uint64_t v, bool time, char *buf, size_t size)
{
	static const char *const bunit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	static const char *const tunit[] = { "ns", "us", "ms", "s" };
	static const uint64_t tscale[] = { 1, 1000, 1000000, 1000000000 };
	uint64_t scale = 1;
	const char *name;

	if (time) {
		int u = 3;
		while (u > 0 && v < tscale[u])
			u--;
		scale = tscale[u];
		name = tunit[u];
	} else {
		int u = 0;
		while (u < 6 && v >= scale * 1024) {
			scale *= 1024;
			u++;
		}
		name = bunit[u];
	}
	if (v % scale == 0)
		snprintf(buf, size, "%llu %s", (unsigned long long)(v / scale), name);
	else
		snprintf(buf, size, "%.1f %s", (double)v / (double)scale, name);
}

/* The bucket holding the median of counts[0..n); n when all are 0. */
static unsigned median_bucket(const uint64_t *counts, unsigned n)
{
	unsigned __int128 all = 0, seen = 0;

	for (unsigned i = 0; i < n; i++)
		all += counts[i];
	if (!all)
		return n;
	for (unsigned i = 0; i < n; i++) {
		seen += counts[i];
		if (2 * seen >= all)
			return i;
	}
	return n - 1;
}

static void bucket_text(const uint64_t *bound, unsigned i, bool time, char *buf, size_t size)
{
	char b[32];

	if (bound[i] != STAT_INF) {
		bound_text(bound[i], time, b, sizeof(b));
		snprintf(buf, size, "<= %s", b);
	} else if (i > 0) {
		bound_text(bound[i - 1], time, b, sizeof(b));
		snprintf(buf, size, "> %s", b);
	} else {
		snprintf(buf, size, "any");
	}
}

void stat_typical_size(const struct stat_profile *p, const struct stat_site *s,
		       char *buf, size_t size)
{
	unsigned i = median_bucket(s->sizes, p->nsize);

	if (i == p->nsize)
		snprintf(buf, size, "-");
	else
		bucket_text(p->size_bound, i, false, buf, size);
}

void stat_typical_life(const struct stat_profile *p, const struct stat_site *s,
		       char *buf, size_t size)
{
	unsigned i = median_bucket(s->lifetimes, p->nlife + 1);

	if (i == p->nlife + 1)
		snprintf(buf, size, "-");
	else if (i == p->nlife)
		snprintf(buf, size, "live at exit");
	else
		bucket_text(p->life_bound, i, true, buf, size);
}

/* ----------------------------------------------------------------------- */
/* The report                                                                */
/* ----------------------------------------------------------------------- */

/* By bytes, then allocations, most first; then by site ID. */
static int by_bytes(const void *a, const void *b)
{
	const struct stat_site *x = *(struct stat_site *const *)a;
	const struct stat_site *y = *(struct stat_site *const *)b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->allocs != y->allocs)
		return x->allocs > y->allocs ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static struct stat_site **sorted_sites(const struct stat_profile *p)
{
	struct stat_site **v = malloc((p->nsites ? p->nsites : 1) * sizeof(*v));

	if (!v)
		stat_fatal("out of memory");
	for (size_t i = 0; i < p->nsites; i++)
		v[i] = &p->site[i];
	qsort(v, p->nsites, sizeof(*v), by_bytes);
	return v;
}

static void print_report(const struct stat_profile *p, size_t top)
{
	struct stat_site **v = sorted_sites(p);
	size_t n = p->nsites < top ? p->nsites : top;
	char b1[32], b2[32], b3[32], b4[32], b5[48], b6[48];

	printf("program       %s\n", *p->program ? p->program : "(unknown)");
	printf("pid           %llu\n", (unsigned long long)p->pid);
	if (p->sample_bytes == 1) {
		printf("sampling      every allocation, counted exactly\n");
	} else {
		stat_human_bytes(p->sample_bytes, b1, sizeof(b1));
		printf("sampling      a sample every %s allocated on average (sample-bytes %llu); "
		       "counts are estimates\n", b1, (unsigned long long)p->sample_bytes);
	}
	printf("samples       %llu recorded, %llu dropped%s\n", (unsigned long long)p->samples,
	       (unsigned long long)p->dropped,
	       p->dropped ? " (the runtime's tables were full: sites are undercounted)" : "");
	stat_human_bytes(p->total_bytes, b1, sizeof(b1));
	printf("allocated     %llu allocations, %s (%llu bytes)\n",
	       (unsigned long long)p->total_allocs, b1, (unsigned long long)p->total_bytes);
	bound_text(p->duration_ns, true, b1, sizeof(b1));
	printf("duration      %s\n", b1);
	printf("sites         %zu; %s%zu by bytes allocated\n\n", p->nsites,
	       n < p->nsites ? "the top " : "all ", n);
	printf("%4s %6s %10s %6s %10s %10s %10s %7s  %-13s %s\n", "rank", "site", "bytes", "%",
	       "allocs", "peak live", "at exit", "threads", "typical size", "typical life");
	for (size_t r = 0; r < n; r++) {
		const struct stat_site *s = v[r];
		char pct[16];

		stat_human_bytes(s->bytes, b1, sizeof(b1));
		stat_human_bytes(s->peak_live, b2, sizeof(b2));
		stat_human_bytes(s->live, b3, sizeof(b3));
		stat_typical_size(p, s, b5, sizeof(b5));
		stat_typical_life(p, s, b6, sizeof(b6));
		if (p->total_bytes)
			snprintf(pct, sizeof(pct), "%.1f%%", 100.0 * (double)s->bytes /
				 (double)p->total_bytes);
		else
			snprintf(pct, sizeof(pct), "-");
		snprintf(b4, sizeof(b4), "%llu", (unsigned long long)s->allocs);
		printf("%4zu %6llu %10s %6s %10s %10s %10s %7llu  %-13s %s\n", r + 1,
		       (unsigned long long)s->id, b1, pct, b4, b2, b3,
		       (unsigned long long)s->threads, b5, b6);
		for (unsigned i = 0; i < s->nframes; i++) {
			char fr[4096];
			stat_frame_format(&s->frame[i], fr, sizeof(fr));
			printf("            %s\n", fr);
		}
		if (!s->nframes)
			printf("            (no frames)\n");
	}
	free(v);
}

/* ----------------------------------------------------------------------- */
/* JSON                                                                      */
/* ----------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s, 0 when it is not one. */
static int utf8_len(const unsigned char *s)
{
	int n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (*s >= 0xc2 && *s <= 0xdf)
		n = 2;
	else if (*s >= 0xe0 && *s <= 0xef)
		n = 3;
	else if (*s >= 0xf0 && *s <= 0xf4)
		n = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if (*s == 0xe0)
		lo = 0xa0;
	else if (*s == 0xed)
		hi = 0x9f;
	else if (*s == 0xf0)
		lo = 0x90;
	else if (*s == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* A JSON string; bytes that are not UTF-8 (paths are bytes) become U+FFFD. */
static void json_str(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;

	putchar('"');
	while (*s) {
		if (*s == '"' || *s == '\\') {
			printf("\\%c", *s++);
		} else if (*s == '\n') {
			fputs("\\n", stdout);
			s++;
		} else if (*s == '\t') {
			fputs("\\t", stdout);
			s++;
		} else if (*s < 0x20) {
			printf("\\u%04x", *s++);
		} else if (*s < 0x80) {
			putchar(*s++);
		} else {
			int n = utf8_len(s);
			if (n) {
				fwrite(s, 1, (size_t)n, stdout);
				s += n;
			} else {
				fputs("\\ufffd", stdout);
				s++;
			}
		}
	}
	putchar('"');
}

static void json_site(const struct stat_profile *p, const struct stat_site *s)
{
	const char *sep = "";

	printf("{\"id\":%llu,\"allocs\":%llu,\"bytes\":%llu,\"peak_live\":%llu,\"live\":%llu,"
	       "\"threads\":%llu,\"sizes\":[", (unsigned long long)s->id,
	       (unsigned long long)s->allocs, (unsigned long long)s->bytes,
	       (unsigned long long)s->peak_live, (unsigned long long)s->live,
	       (unsigned long long)s->threads);
	for (unsigned i = 0; i < p->nsize; i++) {
		if (!s->sizes[i])
			continue;
		if (p->size_bound[i] == STAT_INF)
			printf("%s{\"le\":null,\"count\":%llu}", sep, (unsigned long long)s->sizes[i]);
		else
			printf("%s{\"le\":%llu,\"count\":%llu}", sep,
			       (unsigned long long)p->size_bound[i], (unsigned long long)s->sizes[i]);
		sep = ",";
	}
	printf("],\"lifetimes\":[");
	sep = "";
	for (unsigned i = 0; i < p->nlife; i++) {
		if (!s->lifetimes[i])
			continue;
		if (p->life_bound[i] == STAT_INF)
			printf("%s{\"le_ns\":null,\"count\":%llu}", sep,
			       (unsigned long long)s->lifetimes[i]);
		else
			printf("%s{\"le_ns\":%llu,\"count\":%llu}", sep,
			       (unsigned long long)p->life_bound[i],
			       (unsigned long long)s->lifetimes[i]);
		sep = ",";
	}
	printf("%s{\"live\":%llu}],\"frames\":[", sep, (unsigned long long)s->lifetimes[p->nlife]);
	for (unsigned i = 0; i < s->nframes; i++) {
		const struct stat_frame *f = &s->frame[i];
		uint64_t off;
		const char *fn = stat_symbolize(f, &off);

		printf("%s{\"module\":", i ? "," : "");
		json_str(f->module->path);
		printf(",\"build_id\":");
		if (f->module->build_id)
			json_str(f->module->build_id);
		else
			printf("null");
		printf(",\"offset\":\"0x%llx\",\"function\":", (unsigned long long)f->offset);
		if (fn) {
			json_str(fn);
			printf(",\"function_offset\":\"0x%llx\"}", (unsigned long long)off);
		} else {
			printf("null,\"function_offset\":null}");
		}
	}
	printf("]}");
}

static void print_json(const struct stat_profile *p, size_t top)
{
	struct stat_site **v = sorted_sites(p);
	size_t n = p->nsites < top ? p->nsites : top;

	printf("{\"program\":");
	json_str(p->program);
	printf(",\"pid\":%llu,\"sample_bytes\":%llu,\"samples\":%llu,\"dropped\":%llu,"
	       "\"total_allocs\":%llu,\"total_bytes\":%llu,\"duration_ns\":%llu,\"sites\":[",
	       (unsigned long long)p->pid, (unsigned long long)p->sample_bytes,
	       (unsigned long long)p->samples, (unsigned long long)p->dropped,
	       (unsigned long long)p->total_allocs, (unsigned long long)p->total_bytes,
	       (unsigned long long)p->duration_ns);
	for (size_t i = 0; i < n; i++) {
		printf("%s\n", i ? "," : "");
		json_site(p, v[i]);
	}
	printf("%s]}\n", n ? "\n" : "");
	free(v);
}

/* ----------------------------------------------------------------------- */
/* The command line                                                          */
/* ----------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "rules", no_argument, NULL, OPT_RULES },
		{ "dram-budget", required_argument, NULL, OPT_BUDGET },
		{ "fallback", required_argument, NULL, OPT_FALLBACK },
		{ "output", required_argument, NULL, 'o' },
		{ 0 }
	};
	struct stat_profile prof;
	struct cxlmu_policy pol;
	const char *fallback = "local", *out = NULL, *file, *name;
	bool json = false, rules = false, top_given = false, budget_given = false;
	bool fallback_given = false;
	uint64_t budget = 0;
	size_t top = TOP_DEFAULT;
	FILE *f;
	int c, status = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("cxlmu-stat %s\n", PACKAGE_VERSION);
			return 0;
		case OPT_TOP: {
			char *end;
			unsigned long long v;
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || errno || v == 0 || v > SIZE_MAX)
				usage_error("--top: '%s' is not a number of sites (accepted: %s)",
					    optarg, TOP_ACCEPTED);
			top = (size_t)v;
			top_given = true;
			break;
		}
		case OPT_JSON:
			json = true;
			break;
		case OPT_RULES:
			rules = true;
			break;
		case OPT_BUDGET:
			if (cxlmu_parse_size(optarg, &budget))
				usage_error("--dram-budget: '%s' is not a size (accepted: %s)", optarg,
					    BUDGET_ACCEPTED);
			budget_given = true;
			break;
		case OPT_FALLBACK:
			if (cxlmu_policy_parse(optarg, &pol))
				usage_error("--fallback: '%s' is not a policy (accepted: %s)", optarg,
					    CXLMU_POLICY_ACCEPTED);
			fallback = optarg;
			fallback_given = true;
			break;
		case 'o':
			out = optarg;
			break;
		case '?':
			if (optopt == OPT_TOP)
				usage_error("--top needs a value (accepted: %s)", TOP_ACCEPTED);
			if (optopt == OPT_BUDGET)
				usage_error("--dram-budget needs a value (accepted: %s)", BUDGET_ACCEPTED);
			if (optopt == OPT_FALLBACK)
				usage_error("--fallback needs a value (accepted: %s)",
					    CXLMU_POLICY_ACCEPTED);
			if (optopt == 'o')
				usage_error("-o/--output needs a file name");
			if (optopt >= OPT_HELP)
				usage_error("'%s' takes no value", argv[optind - 1]);
			usage_error("unknown option '%s' (run %s --help)", argv[optind - 1], prog);
		default:
			usage_error("unknown option '%s' (run %s --help)", argv[optind - 1], prog);
		}
	}
	if (rules) {
		if (!budget_given)
			usage_error("--rules needs --dram-budget=N, the DRAM the kept sites may use "
				    "(accepted: %s)", BUDGET_ACCEPTED);
		if (json || top_given)
			usage_error("--%s is for the report, not for --rules", json ? "json" : "top");
	} else if (budget_given || fallback_given || out) {
		usage_error("%s goes with --rules", budget_given ? "--dram-budget" :
			    fallback_given ? "--fallback" : "-o/--output");
	}
	if (optind >= argc)
		usage_error("no profile given (usage: %s [--top=N] [--json] FILE; FILE may be -)",
			    prog);
	if (argc - optind > 1)
		usage_error("one profile at a time: '%s' is one too many", argv[optind + 1]);

	file = argv[optind];
	if (!strcmp(file, "-")) {
		f = stdin;
		name = "<stdin>";
	} else {
		f = fopen(file, "r");
		name = file;
		if (!f)
			stat_fatal("%s: cannot open: %s", file, strerror(errno));
	}
	stat_profile_read(f, name, &prof);
	if (f != stdin)
		fclose(f);

	if (rules)
		status = stat_rules_write(&prof, budget, fallback, out);
	else if (json)
		print_json(&prof, top_given ? top : SIZE_MAX);   /* every site by default */
	else
		print_report(&prof, top);
	if (fflush(stdout) || ferror(stdout))
		stat_fatal("cannot write the output: %s", strerror(errno));
	return status;
}
