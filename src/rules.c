/* Rules files: parsing and matching (src/rules.h). The parser walks the
 * text once, line by line, and fills the caller's tables; the main entry
 * points are cxlmu_rules_parse() and cxlmu_rules_lookup(). Neither
 * allocates nor makes system calls: the preloaded library may call them
 * from inside its first malloc.
 *
 * Tokens are handled as (start, length) and never need a NUL at their
 * end. The only strings kept, module names and build-ids, are always
 * followed inside their token by the '@' or '+' of the frame syntax, and
 * that byte becomes their NUL: so the parser never writes text[len], and
 * a last line without '\n' needs no room beyond the text. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rules.h"

/* How much of a bad token a message quotes. */
#define QUOTE_MAX 60
/* Longest fallback policy we copy out to terminate it: far above any
 * sensible one ("budget:18446744073709551615" is 27 bytes). */
#define POLICY_MAX 128

struct token {
	char *s;
	size_t len;
};

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static inline int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool token_is(const struct token *t, const char *word)
{
	size_t n = strlen(word);

	return t->len == n && !memcmp(t->s, word, n);
}

/* Next blank-separated token of [*p, end); false at the end of the line. */
static bool next_token(char **p, char *end, struct token *t)
{
	char *s = *p;

	while (s < end && is_blank(*s))
		s++;
	if (s == end)
		return false;
	t->s = s;
	while (s < end && !is_blank(*s))
		s++;
	t->len = (size_t)(s - t->s);
	*p = s;
	return true;
}

static cxlmu_cold int fail(char *err, size_t errsize, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errsize) {
		va_start(ap, fmt);
		vsnprintf(err, errsize, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* printf arguments quoting a token: "%.*s%s", cut at QUOTE_MAX with "...". */
#define QUOTE(t) (int)((t)->len > QUOTE_MAX ? QUOTE_MAX : (t)->len), (t)->s, \
		 ((t)->len > QUOTE_MAX ? "..." : "")

/* ----------------------------------------------------------------------- */
/* Frames and modules                                                      */
/* ----------------------------------------------------------------------- */

/* A frame token taken apart but not yet written to: nothing in the text
 * changes until the whole token is known to be good. */
struct frame_parts {
	char *name;          /* [name, name_end) */
	char *name_end;
	char *build_id;      /* [build_id, plus), NULL when none */
	char *plus;          /* the '+' of the last "+0x" */
	uint64_t offset;
};

static bool split_frame(const struct token *t, struct frame_parts *f)
{
	char *s = t->s, *end = t->s + t->len, *plus = NULL, *at = NULL, *q;
	uint64_t off = 0;
	size_t ndigits;

	for (q = s; q + 3 <= end; q++)
		if (q[0] == '+' && q[1] == '0' && q[2] == 'x')
			plus = q;
	if (!plus)
		return false;
	/* 1..16 hex digits: more could not fit 64 bits. */
	ndigits = (size_t)(end - (plus + 3));
	if (ndigits == 0 || ndigits > 16)
		return false;
	for (q = plus + 3; q < end; q++) {
		int v = hex_value(*q);
		if (v < 0)
			return false;
		off = off << 4 | (uint64_t)v;
	}

	for (q = s; q < plus; q++)
		if (*q == '@')
			at = q;
	f->build_id = NULL;
	f->name_end = plus;
	if (at) {
		size_t n = (size_t)(plus - (at + 1));
		bool hex = n > 0 && n % 2 == 0 && n <= 2 * CXLMU_RULES_MAX_BUILD_ID;

		for (q = at + 1; hex && q < plus; q++)
			hex = hex_value(*q) >= 0;
		/* Otherwise the '@' is part of a path ("/opt/g++@x/lib.so"). */
		if (hex) {
			f->build_id = at + 1;
			f->name_end = at;
		}
	}
	if (f->name_end == s)
		return false;
	f->name = s;
	f->plus = plus;
	f->offset = off;
	return true;
}

static bool same_build_id(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

/* Index of the module (name, build_id), added when new; -1 when full. */
static int module_index(struct cxlmu_rules *r, unsigned max, const char *name,
			const char *build_id)
{
	for (unsigned i = 0; i < r->nmodules; i++)
		if (!strcmp(r->module[i].name, name) &&
		    same_build_id(r->module[i].build_id, build_id))
			return (int)i;
	if (r->nmodules == max)
		return -1;
	r->module[r->nmodules].name = name;
	r->module[r->nmodules].build_id = build_id;
	return (int)r->nmodules++;
}

/* ----------------------------------------------------------------------- */
/* Lines                                                                   */
/* ----------------------------------------------------------------------- */

static int parse_fallback(char *p, char *end, unsigned line, unsigned *fallback_line,
			  struct cxlmu_rules *r, char *err, size_t errsize)
{
	struct token t, extra;
	char buf[POLICY_MAX];
	struct cxlmu_policy pol;

	if (*fallback_line)
		return fail(err, errsize, -EINVAL, "line %u: a second fallback (the first is on line %u)",
			    line, *fallback_line);
	if (!next_token(&p, end, &t))
		return fail(err, errsize, -EINVAL,
			    "line %u: fallback names a policy (accepted: " CXLMU_POLICY_ACCEPTED ")",
			    line);
	if (next_token(&p, end, &extra))
		return fail(err, errsize, -EINVAL,
			    "line %u: '%.*s%s' after the policy: fallback names one policy (accepted: "
			    CXLMU_POLICY_ACCEPTED ")", line, QUOTE(&extra));
	/* Copied out to terminate it: its end may be text[len]. */
	if (t.len < sizeof(buf)) {
		memcpy(buf, t.s, t.len);
		buf[t.len] = '\0';
	}
	if (t.len >= sizeof(buf) || cxlmu_policy_parse(buf, &pol))
		return fail(err, errsize, -EINVAL,
			    "line %u: '%.*s%s' is not a fallback policy (accepted: "
			    CXLMU_POLICY_ACCEPTED ")", line, QUOTE(&t));
	r->fallback = pol;
	r->has_fallback = true;
	*fallback_line = line;
	return 0;
}

static int parse_rule(char *p, char *end, unsigned line, enum cxlmu_tier tier,
		      const char *tier_name, struct cxlmu_rules *r, unsigned max_modules,
		      char *err, size_t errsize)
{
	struct cxlmu_rule rule = { .tier = tier, .line = line };
	unsigned nmodules = r->nmodules;
	struct frame_parts f;
	struct token t;
	int m;

	while (next_token(&p, end, &t)) {
		if (rule.nframes == CXLMU_RULES_MAX_FRAMES)
			goto too_many;
		if (!split_frame(&t, &f))
			goto bad_frame;
		*f.name_end = '\0';
		*f.plus = '\0';
		if (f.build_id)
			for (char *q = f.build_id; *q; q++)
				if (*q >= 'A' && *q <= 'F')
					*q = (char)(*q - 'A' + 'a');
		m = module_index(r, max_modules, f.name, f.build_id);
		if (m < 0)
			goto modules_full;
		rule.frame[rule.nframes].offset = f.offset;
		rule.frame[rule.nframes].module = (uint16_t)m;
		rule.nframes++;
	}
	if (!rule.nframes)
		return fail(err, errsize, -EINVAL, "line %u: a %s rule names at least one frame",
			    line, tier_name);
	if (r->nrules == r->max_rules) {
		r->nmodules = nmodules;
		return fail(err, errsize, -E2BIG, "line %u: more than %u rules", line, r->max_rules);
	}
	r->rule[r->nrules++] = rule;
	if (rule.nframes > r->max_frames)
		r->max_frames = rule.nframes;
	return 0;

	/* Undo the modules this line added: *r is as before the line. */
too_many:
	r->nmodules = nmodules;
	return fail(err, errsize, -EINVAL, "line %u: a rule names at most %d frames",
		    line, CXLMU_RULES_MAX_FRAMES);
bad_frame:
	r->nmodules = nmodules;
	return fail(err, errsize, -EINVAL, "line %u: '%.*s%s' is not a frame (accepted: "
		    CXLMU_RULES_FRAME_ACCEPTED ")", line, QUOTE(&t));
modules_full:
	r->nmodules = nmodules;
	return fail(err, errsize, -E2BIG, "line %u: more than %u modules", line, max_modules);
}

int cxlmu_rules_parse(char *text, size_t len, struct cxlmu_rules *r, char *err, size_t errsize)
{
	char *p = text, *end = text + len;
	unsigned line = 0, fallback_line = 0;
	unsigned max_modules = r->max_modules;

	/* Module indexes are uint16_t and site bitmaps hold this many bits. */
	if (max_modules > CXLMU_RULES_MAX_MODULES)
		max_modules = CXLMU_RULES_MAX_MODULES;
	r->nrules = 0;
	r->nmodules = 0;
	r->max_frames = 0;
	r->has_fallback = false;
	r->fallback = (struct cxlmu_policy){ .kind = CXLMU_POLICY_LOCAL };
	if (!len)
		return 0;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end, *q = p;
		struct token t;
		int ret = 0;

		line++;
		p = nl ? nl + 1 : end;
		if (eol > q && eol[-1] == '\r')
			eol--;
		if (!next_token(&q, eol, &t) || t.s[0] == '#')
			continue;
		if (token_is(&t, "dram"))
			ret = parse_rule(q, eol, line, CXLMU_TIER_DRAM, "dram", r, max_modules,
					 err, errsize);
		else if (token_is(&t, "cxl"))
			ret = parse_rule(q, eol, line, CXLMU_TIER_CXL, "cxl", r, max_modules,
					 err, errsize);
		else if (token_is(&t, "fallback"))
			ret = parse_fallback(q, eol, line, &fallback_line, r, err, errsize);
		else
			ret = fail(err, errsize, -EINVAL, "line %u: '%.*s%s' is not a tier or directive "
				   "(accepted: " CXLMU_RULES_TIERS_ACCEPTED ")", line, QUOTE(&t));
		if (ret)
			return ret;
	}
	return 0;
}

/* ----------------------------------------------------------------------- */
/* Matching                                                                */
/* ----------------------------------------------------------------------- */

bool cxlmu_rules_module_matches(const struct cxlmu_rule_module *m, const char *path,
				const char *build_id)
{
	const char *base;

	if (m->build_id && (!build_id || strcasecmp(m->build_id, build_id)))
		return false;
	if (strchr(m->name, '/'))
		return !strcmp(m->name, path);
	base = strrchr(path, '/');
	return !strcmp(m->name, base ? base + 1 : path);
}

bool cxlmu_rules_match(const struct cxlmu_rule *rule, const struct cxlmu_site_frame *frames,
		       unsigned nframes)
{
	if (rule->nframes > nframes)
		return false;
	for (unsigned i = 0; i < rule->nframes; i++) {
		unsigned m = rule->frame[i].module;
		if (frames[i].offset != rule->frame[i].offset ||
		    !(frames[i].modules[m / 64] >> (m % 64) & 1))
			return false;
	}
	return true;
}

const struct cxlmu_rule *cxlmu_rules_lookup(const struct cxlmu_rules *r,
					    const struct cxlmu_site_frame *frames, unsigned nframes)
{
	const struct cxlmu_rule *best = NULL;
	unsigned longest = nframes < r->max_frames ? nframes : r->max_frames;

	for (unsigned i = 0; i < r->nrules; i++) {
		const struct cxlmu_rule *rule = &r->rule[i];

		/* Strictly longer only: the first of equally long ones stays. */
		if (best && rule->nframes <= best->nframes)
			continue;
		if (!cxlmu_rules_match(rule, frames, nframes))
			continue;
		best = rule;
		if (best->nframes == longest)
			break;
	}
	return best;
}
