/* cxlmu-stat --rules: which sites a DRAM budget keeps in DRAM, written as
 * a rules file for cxlmu-run --policy=sites:FILE (libcxlmu(7), RULES
 * FORMAT). The entry point is stat_rules_write().
 *
 * The decision (cxlmu-stat(1), RULES):
 *   density = allocs / max(peak-live, 1): allocation traffic per resident
 *   byte. Sites go by density, highest first; each goes to DRAM when its
 *   peak-live bytes still fit what is left of the budget, else to CXL.
 *   Each rule names the shortest prefix of its site's frames that no site
 *   of the other tier shares.
 *
 * Before anything is printed the text is parsed back with the runtime's
 * own parser (src/rules.c) and every site looked up in it: a rules file
 * that would place a site other than as decided is an internal error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "stat.h"

/* Per module: how rules name it, and a key shared by the modules that
 * name alike (rules cannot tell those apart). */
struct modname {
	char *name;                      /* NULL: not nameable */
	unsigned key;
};

struct rules_ctx {
	struct stat_profile *p;
	struct modname *mn;
	struct stat_site **cand;         /* sites that can have a rule */
	size_t ncand;
};

static void *xcalloc(size_t n, size_t size)
{
	void *v = calloc(n ? n : 1, size);

	if (!v)
		stat_fatal("out of memory");
	return v;
}

static struct modname *modname_of(const struct rules_ctx *c, const struct stat_module *m)
{
	return &c->mn[m->index];
}

/* Whether a rules file can hold name as a frame's module: one token, not
 * taken for a comment, and (without a build-id of its own) with no '@'
 * the parser would take for one. */
static bool nameable(const char *name, bool with_build_id)
{
	const char *at = strrchr(name, '@'), *s;

	if (!*name || *name == '#')
		return false;
	for (s = name; *s; s++)
		if (*s == ' ' || *s == '\t' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	if (with_build_id || !at || !at[1] || strlen(at + 1) % 2)
		return true;
	for (s = at + 1; *s; s++)
		if (!strchr("0123456789abcdefABCDEF", *s))
			return true;
	return false;
}

/* NAME@BUILDID with the basename when the module has a build-id (the
 * build-id pins the file), else its full path. */
static void name_modules(struct rules_ctx *c)
{
	struct stat_profile *p = c->p;

	c->mn = xcalloc(p->nmodules, sizeof(*c->mn));
	for (size_t i = 0; i < p->nmodules; i++) {
		const struct stat_module *m = p->module[i];
		struct modname *n = &c->mn[i];
		char *s = NULL;

		if (m->build_id && strlen(m->build_id) <= 2 * CXLMU_RULES_MAX_BUILD_ID &&
		    nameable(m->base, true)) {
			if (asprintf(&s, "%s@%s", m->base, m->build_id) < 0)
				stat_fatal("out of memory");
		} else if (nameable(m->path, false)) {
			s = strdup(m->path);
			if (!s)
				stat_fatal("out of memory");
		}
		n->name = s;
		n->key = (unsigned)i;
		for (size_t j = 0; s && j < i; j++)
			if (c->mn[j].name && !strcmp(c->mn[j].name, s)) {
				n->key = c->mn[j].key;
				break;
			}
	}
}

static unsigned capped(const struct stat_site *s)
{
	return s->nframes < CXLMU_RULES_MAX_FRAMES ? s->nframes : CXLMU_RULES_MAX_FRAMES;
}

/* Compare frame i of a and b as rules see frames: module name, offset. */
static int frame_cmp(const struct rules_ctx *c, const struct stat_frame *a,
		     const struct stat_frame *b)
{
	unsigned ka = modname_of(c, a->module)->key, kb = modname_of(c, b->module)->key;

	if (ka != kb)
		return ka < kb ? -1 : 1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return 0;
}

/* Whether a and b both have k frames and the first k are the same. */
static bool share(const struct rules_ctx *c, const struct stat_site *a,
		  const struct stat_site *b, unsigned k)
{
	if (a->nframes < k || b->nframes < k)
		return false;
	for (unsigned i = 0; i < k; i++)
		if (frame_cmp(c, &a->frame[i], &b->frame[i]))
			return false;
	return true;
}

static const struct rules_ctx *sort_ctx;

/* Frames in lexicographic order: the sites sharing any prefix are then
 * neighbours. */
static int by_frames(const void *x, const void *y)
{
	const struct stat_site *a = *(struct stat_site *const *)x;
	const struct stat_site *b = *(struct stat_site *const *)y;
	unsigned n = a->nframes < b->nframes ? a->nframes : b->nframes;

	for (unsigned i = 0; i < n; i++) {
		int r = frame_cmp(sort_ctx, &a->frame[i], &b->frame[i]);
		if (r)
			return r;
	}
	if (a->nframes != b->nframes)
		return a->nframes < b->nframes ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Density first (allocs per peak-live byte, compared exactly), then the
 * smaller peak, then the site ID. */
static int by_density(const void *x, const void *y)
{
	const struct stat_site *a = *(struct stat_site *const *)x;
	const struct stat_site *b = *(struct stat_site *const *)y;
	unsigned __int128 da = (unsigned __int128)a->allocs * (b->peak_live ? b->peak_live : 1);
	unsigned __int128 db = (unsigned __int128)b->allocs * (a->peak_live ? a->peak_live : 1);

	if (da != db)
		return da > db ? -1 : 1;
	if (a->peak_live != b->peak_live)
		return a->peak_live < b->peak_live ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Each candidate's rule length: for k = 1, 2, ... the runs of sites
 * sharing k frames; a site whose run holds no site of the other tier
 * takes k. A site that never gets there takes all its frames (at most
 * CXLMU_RULES_MAX_FRAMES); it clashes when a site of the other tier has
 * those very frames, since the two rules are then the same. */
static void choose_prefixes(struct rules_ctx *c)
{
	size_t n = c->ncand;
	struct stat_site **v = xcalloc(n, sizeof(*v));

	memcpy(v, c->cand, n * sizeof(*v));
	sort_ctx = c;
	qsort(v, n, sizeof(*v), by_frames);
	for (unsigned k = 1; k <= CXLMU_RULES_MAX_FRAMES; k++) {
		for (size_t i = 0; i < n;) {
			size_t j = i + 1;
			unsigned tiers = 0, exact = 0;
			if (v[i]->nframes < k) {
				i++;
				continue;
			}
			while (j < n && share(c, v[i], v[j], k))
				j++;
			for (size_t t = i; t < j; t++) {
				tiers |= 1u << v[t]->tier;
				if (capped(v[t]) == k)
					exact |= 1u << v[t]->tier;
			}
			for (size_t t = i; t < j; t++) {
				struct stat_site *s = v[t];
				if (s->rule_frames)
					continue;
				if (tiers == 1u << s->tier) {
					s->rule_frames = k;
				} else if (capped(s) == k) {
					s->rule_frames = k;
					s->clash = exact != 1u << s->tier;
				}
			}
			i = j;
		}
	}
	free(v);
}

/* ----------------------------------------------------------------------- */
/* Writing and checking                                                      */
/* ----------------------------------------------------------------------- */

static void frames_text(const struct stat_site *s, unsigned n, FILE *f)
{
	for (unsigned i = 0; i < n; i++) {
		char b[4096];
		stat_frame_format(&s->frame[i], b, sizeof(b));
		fprintf(f, "%s%s", i ? " < " : "", b);
	}
}

/* Sites whose rules come out the same (one tier, one prefix: sites that
 * differ only deeper than their rules look) share one rule line, written
 * after the comments of them all. Order: tier, rule frames, density. */
static int by_rule(const void *x, const void *y)
{
	const struct stat_site *a = *(struct stat_site *const *)x;
	const struct stat_site *b = *(struct stat_site *const *)y;
	unsigned n = a->rule_frames < b->rule_frames ? a->rule_frames : b->rule_frames;

	if (a->tier != b->tier)
		return a->tier < b->tier ? -1 : 1;
	for (unsigned i = 0; i < n; i++) {
		int r = frame_cmp(sort_ctx, &a->frame[i], &b->frame[i]);
		if (r)
			return r;
	}
	if (a->rule_frames != b->rule_frames)
		return a->rule_frames < b->rule_frames ? -1 : 1;
	return a->rank < b->rank ? -1 : a->rank > b->rank;
}

/* Links each group of sites with one rule; returns the number of rules. */
static size_t group_rules(struct rules_ctx *c)
{
	struct stat_site **v = xcalloc(c->ncand, sizeof(*v));
	size_t nrules = 0;

	memcpy(v, c->cand, c->ncand * sizeof(*v));
	sort_ctx = c;
	qsort(v, c->ncand, sizeof(*v), by_rule);
	for (size_t i = 0; i < c->ncand; i++) {
		v[i]->same_rule = NULL;
		v[i]->rule_led = false;
		if (i && !v[i]->clash && !v[i - 1]->clash && v[i]->tier == v[i - 1]->tier &&
		    v[i]->rule_frames == v[i - 1]->rule_frames &&
		    share(c, v[i], v[i - 1], v[i]->rule_frames)) {
			v[i - 1]->same_rule = v[i];
			v[i]->rule_led = true;
		} else {
			nrules++;
		}
	}
	free(v);
	return nrules;
}

static void write_rule(const struct rules_ctx *c, const struct stat_site *lead, FILE *f)
{
	const struct stat_site *s;

	for (s = lead; s; s = s->same_rule) {
		char peak[32], size[48], life[48];

		stat_human_bytes(s->peak_live, peak, sizeof(peak));
		stat_typical_size(c->p, s, size, sizeof(size));
		stat_typical_life(c->p, s, life, sizeof(life));
		fprintf(f, "# %s peak live, %llu allocs, typical size %s, typical life %s: ", peak,
			(unsigned long long)s->allocs, size, life);
		frames_text(s, s->nframes, f);
		fputc('\n', f);
		if (s->clash)
			fprintf(f, "# (site %llu: a site placed on the other tier has the same "
				"frames; the first of their rules wins)\n", (unsigned long long)s->id);
	}
	fputs(lead->tier == CXLMU_TIER_DRAM ? "dram" : "cxl", f);
	for (unsigned i = 0; i < lead->rule_frames; i++)
		fprintf(f, " %s+0x%llx", modname_of(c, lead->frame[i].module)->name,
			(unsigned long long)lead->frame[i].offset);
	fputc('\n', f);
}

static void internal_error(const char *fmt, const char *what, const char *text)
	__attribute__((noreturn));
static void internal_error(const char *fmt, const char *what, const char *text)
{
	fprintf(stderr, "cxlmu-stat: internal error: ");
	fprintf(stderr, fmt, what);
	fprintf(stderr, "\n--- the rules written ---\n%s", text);
	exit(1);
}

/* Parse text as the runtime will and look every ruled site up in it. */
static void self_check(const struct rules_ctx *c, const char *text, size_t len,
		       size_t nrules)
{
	const struct stat_profile *p = c->p;
	struct cxlmu_rules r = { 0 };
	char *copy = malloc(len + 1), err[512];
	uint64_t (*bits)[CXLMU_RULES_MAX_MODULES / 64];
	struct cxlmu_site_frame *frames = NULL;
	int ret;

	r.max_rules = (unsigned)(nrules ? nrules : 1);
	r.rule = xcalloc(r.max_rules, sizeof(*r.rule));
	r.max_modules = CXLMU_RULES_MAX_MODULES;
	r.module = xcalloc(r.max_modules, sizeof(*r.module));
	if (!copy)
		stat_fatal("out of memory");
	memcpy(copy, text, len + 1);
	ret = cxlmu_rules_parse(copy, len, &r, err, sizeof(err));
	if (ret == -E2BIG)
		stat_fatal("the rules do not fit a rules file's tables (%s)", err);
	if (ret)
		internal_error("the rules written do not parse: %s", err, text);
	if (r.nrules != nrules)
		internal_error("%s", "the rules written parse to another number of rules", text);

	/* Each profile module as the bitmap of the rule modules it matches. */
	bits = xcalloc(p->nmodules, sizeof(*bits));
	for (size_t i = 0; i < p->nmodules; i++)
		for (unsigned j = 0; j < r.nmodules; j++)
			if (cxlmu_rules_module_matches(&r.module[j], p->module[i]->path,
						       p->module[i]->build_id))
				bits[i][j / 64] |= 1ull << (j % 64);
	for (size_t i = 0; i < c->ncand; i++) {
		const struct stat_site *s = c->cand[i];
		const struct cxlmu_rule *rule;
		char id[32];

		if (s->clash)
			continue;
		frames = realloc(frames, (s->nframes ? s->nframes : 1) * sizeof(*frames));
		if (!frames)
			stat_fatal("out of memory");
		for (unsigned k = 0; k < s->nframes; k++) {
			frames[k] = (struct cxlmu_site_frame){ s->frame[k].offset,
							       bits[s->frame[k].module->index] };
		}
		rule = cxlmu_rules_lookup(&r, frames, s->nframes);
		snprintf(id, sizeof(id), "%llu", (unsigned long long)s->id);
		if (!rule)
			internal_error("no rule written matches site %s", id, text);
		if (rule->tier != s->tier)
			internal_error("the rules written place site %s on the other tier", id, text);
	}
	free(frames);
	free(bits);
	free(r.rule);
	free(r.module);
	free(copy);
}

int stat_rules_write(struct stat_profile *p, uint64_t budget, const char *fallback,
		     const char *out)
{
	struct rules_ctx c = { .p = p };
	struct stat_site **left = xcalloc(p->nsites, sizeof(*left));
	uint64_t dram = 0, all = 0;
	size_t nleft = 0, ndram = 0, nrules;
	char *text = NULL;
	size_t len = 0;
	char b1[32], b2[32], b3[32];
	FILE *f;

	name_modules(&c);
	c.cand = xcalloc(p->nsites, sizeof(*c.cand));
	for (size_t i = 0; i < p->nsites; i++) {
		struct stat_site *s = &p->site[i];
		bool ok = s->nframes > 0;
		for (unsigned k = 0; ok && k < capped(s); k++)
			ok = modname_of(&c, s->frame[k].module)->name != NULL;
		s->rule_frames = 0;
		s->clash = false;
		if (ok)
			c.cand[c.ncand++] = s;
		else
			left[nleft++] = s;
	}

	qsort(c.cand, c.ncand, sizeof(*c.cand), by_density);
	for (size_t i = 0; i < c.ncand; i++) {
		struct stat_site *s = c.cand[i];
		s->rank = i;
		all += s->peak_live;
		/* Budget 0 keeps nothing, not even sites with no live bytes. */
		if (budget && s->peak_live <= budget - dram) {
			s->tier = CXLMU_TIER_DRAM;
			dram += s->peak_live;
			ndram++;
		} else {
			s->tier = CXLMU_TIER_CXL;
		}
	}
	choose_prefixes(&c);
	nrules = group_rules(&c);

	f = open_memstream(&text, &len);
	if (!f)
		stat_fatal("out of memory");
	stat_human_bytes(budget, b1, sizeof(b1));
	stat_human_bytes(dram, b2, sizeof(b2));
	stat_human_bytes(all, b3, sizeof(b3));
	fprintf(f, "# cxlmu rules from %s by cxlmu-stat %s\n", p->name, PACKAGE_VERSION);
	fprintf(f, "# program %s, pid %llu\n", *p->program ? p->program : "(unknown)",
		(unsigned long long)p->pid);
	fprintf(f, "# DRAM budget %s (%llu bytes): %zu of %zu sites kept in DRAM, %s of the\n"
		"# %s peak live in all (the sum of each site's peak)\n", b1,
		(unsigned long long)budget, ndram, c.ncand, b2, b3);
	fprintf(f, "# Sites in DRAM first, then on CXL, each by allocations per peak-live byte.\n");
	fprintf(f, "# Use: cxlmu-run --policy=sites:%s -- %s\n", out ? out : "FILE",
		*p->program ? p->program : "PROGRAM");
	fprintf(f, "fallback %s\n", fallback);
	for (int tier = CXLMU_TIER_DRAM; tier <= CXLMU_TIER_CXL; tier++)
		for (size_t i = 0; i < c.ncand; i++)
			if (c.cand[i]->tier == (enum cxlmu_tier)tier && !c.cand[i]->rule_led)
				write_rule(&c, c.cand[i], f);
	for (size_t i = 0; i < nleft; i++)
		fprintf(f, "# site %llu has no frames a rule can name: left to the fallback\n",
			(unsigned long long)left[i]->id);
	if (fclose(f))
		stat_fatal("out of memory");

	self_check(&c, text, len, nrules);

	if (out) {
		f = fopen(out, "w");
		if (!f)
			stat_fatal("%s: cannot write: %s", out, strerror(errno));
	} else {
		f = stdout;
	}
	fwrite(text, 1, len, f);
	if (out && fclose(f))
		stat_fatal("%s: cannot write: %s", out, strerror(errno));
	free(text);
	free(left);
	free(c.cand);
	for (size_t i = 0; i < p->nmodules; i++)
		free(c.mn[i].name);
	free(c.mn);
	return 0;
}
