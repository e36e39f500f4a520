/* cxlmu-stat: reading an allocation profile (text, version 1; libcxlmu(7),
 * PROFILE FORMAT). The entry point is stat_profile_read(), which either
 * fills a struct stat_profile or ends the program with status 1 and
 * "cxlmu-stat: FILE:LINE: what is wrong".
 *
 * Sites are keyed by their ID, not by where their lines stand; unknown
 * keywords, and unknown keys on the site and total lines, are skipped so
 * that a later runtime can add to the format without breaking this
 * reader. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "stat.h"

#define PROFILE_VERSION 1

static const char *name;
static unsigned lineno;

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cxlmu-stat: %s:%u: ", name, lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *xrealloc(void *old, size_t n, size_t size)
{
	void *p = n && size > SIZE_MAX / n ? NULL : realloc(old, n && size ? n * size : 1);

	if (!p)
		stat_fatal("out of memory reading %s", name);
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		stat_fatal("out of memory reading %s", name);
	return d;
}

/* ----------------------------------------------------------------------- */
/* IDs to indexes                                                            */
/* ----------------------------------------------------------------------- */

/* Open addressing; a slot holds index + 1, 0 when empty. */
struct idmap {
	uint64_t *key;
	size_t *slot;
	size_t cap, n;
};

static size_t idmap_pos(const struct idmap *m, uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (m->cap - 1);

	while (m->slot[i] && m->key[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* The index stored for key, or SIZE_MAX. */
static size_t idmap_get(const struct idmap *m, uint64_t key)
{
	size_t i;

	if (!m->cap)
		return SIZE_MAX;
	i = idmap_pos(m, key);
	return m->slot[i] ? m->slot[i] - 1 : SIZE_MAX;
}

static void idmap_put(struct idmap *m, uint64_t key, size_t index)
{
	if (2 * (m->n + 1) > m->cap) {
		struct idmap g = { 0 };
		g.cap = m->cap ? 2 * m->cap : 64;
		g.key = xrealloc(NULL, g.cap, sizeof(*g.key));
		g.slot = calloc(g.cap, sizeof(*g.slot));
		if (!g.slot)
			stat_fatal("out of memory reading %s", name);
		for (size_t i = 0; i < m->cap; i++)
			if (m->slot[i]) {
				size_t j = idmap_pos(&g, m->key[i]);
				g.key[j] = m->key[i];
				g.slot[j] = m->slot[i];
			}
		g.n = m->n;
		free(m->key);
		free(m->slot);
		*m = g;
	}
	size_t i = idmap_pos(m, key);
	m->key[i] = key;
	m->slot[i] = index + 1;
	m->n++;
}

/* ----------------------------------------------------------------------- */
/* Tokens and values                                                         */
/* ----------------------------------------------------------------------- */

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The next blank-separated token, NUL-terminated in place; NULL at the end. */
static char *token(char **pos)
{
	char *s = *pos, *t;

	while (blank(*s))
		s++;
	if (!*s) {
		*pos = s;
		return NULL;
	}
	for (t = s; *t && !blank(*t); t++)
		;
	if (*t)
		*t++ = '\0';
	*pos = t;
	return s;
}

/* The rest of the line after the blanks that follow the last token. */
static char *rest(char **pos)
{
	char *s = *pos;

	while (blank(*s))
		s++;
	*pos = s + strlen(s);
	return s;
}

static bool parse_u64(const char *t, uint64_t *out)
{
	uint64_t v = 0;

	if (!*t)
		return false;
	for (; *t; t++) {
		if (*t < '0' || *t > '9' || v > (UINT64_MAX - (uint64_t)(*t - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*t - '0');
	}
	*out = v;
	return true;
}

/* Hex digits of at most 64 bits, no prefix. */
static bool parse_hex(const char *t, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	for (; *t; t++, n++) {
		unsigned d;
		if (*t >= '0' && *t <= '9')
			d = (unsigned)(*t - '0');
		else if (*t >= 'a' && *t <= 'f')
			d = (unsigned)(*t - 'a' + 10);
		else if (*t >= 'A' && *t <= 'F')
			d = (unsigned)(*t - 'A' + 10);
		else
			return false;
		if (v >> 60)
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return n > 0;
}

/* The next token as a number; what names it in messages. */
static uint64_t number(char **pos, const char *what)
{
	char *t = token(pos);
	uint64_t v;

	if (!t)
		bad("%s is missing", what);
	if (!parse_u64(t, &v))
		bad("%s '%s' is not a number (a whole number below 2^64)", what, t);
	return v;
}

static void no_more(char **pos, const char *keyword)
{
	char *t = token(pos);

	if (t)
		bad("unexpected '%s' after the values of '%s'", t, keyword);
}

/* ----------------------------------------------------------------------- */
/* Lines                                                                     */
/* ----------------------------------------------------------------------- */

/* Header lines that may appear once: where each was seen. */
enum {
	H_PROGRAM, H_PID, H_SAMPLE_BYTES, H_MAX_FRAMES, H_DURATION, H_SAMPLES,
	H_DROPPED, H_SIZE_BUCKETS, H_LIFE_BUCKETS, H_TOTAL, H_COUNT
};
static const char *const header_name[H_COUNT] = {
	"program", "pid", "sample-bytes", "max-frames", "duration-ns", "samples",
	"dropped", "size-buckets", "life-buckets", "total",
};
/* Those a profile cannot do without. */
static const bool header_needed[H_COUNT] = {
	[H_PROGRAM] = true, [H_SAMPLE_BYTES] = true, [H_SIZE_BUCKETS] = true,
	[H_LIFE_BUCKETS] = true, [H_TOTAL] = true,
};

struct reader {
	struct stat_profile *p;
	unsigned seen[H_COUNT];
	struct idmap modules, sites;
	size_t cap_modules, cap_sites;
	unsigned first_line;             /* of the cxlmu-profile line */
};

static void once(struct reader *r, int h)
{
	if (r->seen[h])
		bad("a second '%s' line (the first is line %u)", header_name[h], r->seen[h]);
	r->seen[h] = lineno;
}

/* size-buckets and life-buckets: ascending bounds, the last "inf". */
static void read_buckets(char **pos, const char *keyword, uint64_t **bound, unsigned *n)
{
	char *t;
	unsigned cap = 0;

	*n = 0;
	while ((t = token(pos))) {
		uint64_t v;
		if (*n && (*bound)[*n - 1] == STAT_INF)
			bad("'%s': 'inf' must be the last bound", keyword);
		if (!strcmp(t, "inf"))
			v = STAT_INF;
		else if (!parse_u64(t, &v) || v == STAT_INF)
			bad("'%s': bound '%s' is not a number or 'inf'", keyword, t);
		if (*n && v <= (*bound)[*n - 1])
			bad("'%s': bound %s does not exceed the one before it", keyword, t);
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			*bound = xrealloc(*bound, cap, sizeof(**bound));
		}
		(*bound)[(*n)++] = v;
	}
	if (!*n || (*bound)[*n - 1] != STAT_INF)
		bad("'%s' must end with the bound 'inf'", keyword);
}

static bool hex_lower(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static void read_module(struct reader *r, char **pos)
{
	struct stat_profile *p = r->p;
	struct stat_module *m;
	uint64_t id = number(pos, "module ID");
	size_t had = idmap_get(&r->modules, id);
	char *bid = token(pos), *path;

	if (had != SIZE_MAX)
		bad("module %llu is given twice (the first is line %u)", (unsigned long long)id,
		    p->module[had]->line);
	if (!bid)
		bad("module %llu has no build-id (lowercase hex, or '-' for none)",
		    (unsigned long long)id);
	if (strcmp(bid, "-") && (!*bid || !hex_lower(bid) || strlen(bid) % 2))
		bad("module %llu: build-id '%s' is not lowercase hex (two digits a byte) or '-'",
		    (unsigned long long)id, bid);
	path = rest(pos);
	if (!*path)
		bad("module %llu has no path", (unsigned long long)id);
	if (p->nmodules == r->cap_modules) {
		r->cap_modules = r->cap_modules ? 2 * r->cap_modules : 16;
		p->module = xrealloc(p->module, r->cap_modules, sizeof(*p->module));
	}
	m = xrealloc(NULL, 1, sizeof(*m));
	*m = (struct stat_module){ .id = id, .index = p->nmodules, .line = lineno,
				   .path = xstrdup(path) };
	m->build_id = strcmp(bid, "-") ? xstrdup(bid) : NULL;
	m->base = strrchr(m->path, '/') ? strrchr(m->path, '/') + 1 : m->path;
	if (!*m->base)
		m->base = m->path;
	idmap_put(&r->modules, id, p->nmodules);
	p->module[p->nmodules++] = m;
}

static void read_site(struct reader *r, char **pos)
{
	static const char *const key[] = { "allocs", "bytes", "peak-live", "live", "threads" };
	struct stat_profile *p = r->p;
	struct stat_site *s;
	uint64_t id = number(pos, "site ID");
	size_t had = idmap_get(&r->sites, id);
	uint64_t value[5];
	bool got[5] = { 0 };
	char *t;

	if (had != SIZE_MAX)
		bad("site %llu is given twice (the first is line %u)", (unsigned long long)id,
		    p->site[had].line);
	while ((t = token(pos))) {
		size_t k;
		for (k = 0; k < CXLMU_ARRAY_SIZE(key) && strcmp(t, key[k]); k++)
			;
		if (k == CXLMU_ARRAY_SIZE(key)) {
			/* A key from a later runtime: skip its value. */
			if (!token(pos))
				bad("site %llu: '%s' has no value", (unsigned long long)id, t);
			continue;
		}
		{
			char what[64];
			snprintf(what, sizeof(what), "site %llu: %s", (unsigned long long)id, t);
			value[k] = number(pos, what);
		}
		got[k] = true;
	}
	for (size_t k = 0; k < CXLMU_ARRAY_SIZE(key); k++)
		if (!got[k])
			bad("site %llu has no '%s' value (a site line has allocs, bytes, "
			    "peak-live, live and threads)", (unsigned long long)id, key[k]);
	if (p->nsites == r->cap_sites) {
		r->cap_sites = r->cap_sites ? 2 * r->cap_sites : 64;
		p->site = xrealloc(p->site, r->cap_sites, sizeof(*p->site));
	}
	s = &p->site[p->nsites];
	*s = (struct stat_site){ .id = id, .line = lineno, .allocs = value[0], .bytes = value[1],
				 .peak_live = value[2], .live = value[3], .threads = value[4] };
	idmap_put(&r->sites, id, p->nsites++);
}

/* The site a frames, sizes or lifetimes line is about. */
static struct stat_site *site_of(struct reader *r, char **pos, const char *keyword)
{
	uint64_t id = number(pos, "site ID");
	size_t i = idmap_get(&r->sites, id);

	if (i == SIZE_MAX)
		bad("'%s' line for unknown site %llu (no site line before it)", keyword,
		    (unsigned long long)id);
	return &r->p->site[i];
}

static void second(const struct stat_site *s, const char *keyword, unsigned first)
{
	if (first)
		bad("site %llu has a second '%s' line (the first is line %u)",
		    (unsigned long long)s->id, keyword, first);
}

static void read_frames(struct reader *r, char **pos)
{
	struct stat_site *s = site_of(r, pos, "frames");
	unsigned cap = 0;
	char *t;

	second(s, "frames", s->frames_line);
	s->frames_line = lineno;
	while ((t = token(pos))) {
		char *plus = strchr(t, '+');
		uint64_t mid, off;
		size_t mi;

		if (!plus || strncmp(plus + 1, "0x", 2))
			bad("frame '%s' is not MODULE-ID+0xOFFSET", t);
		*plus = '\0';
		if (!parse_u64(t, &mid))
			bad("frame '%s+%s': module ID '%s' is not a number", t, plus + 1, t);
		if (!parse_hex(plus + 3, &off))
			bad("frame '%s+%s': '%s' is not a hexadecimal offset", t, plus + 1, plus + 1);
		mi = idmap_get(&r->modules, mid);
		if (mi == SIZE_MAX)
			bad("frame '%s+%s' of site %llu refers to unknown module %llu", t, plus + 1,
			    (unsigned long long)s->id, (unsigned long long)mid);
		if (s->nframes == cap) {
			cap = cap ? 2 * cap : 8;
			s->frame = xrealloc(s->frame, cap, sizeof(*s->frame));
		}
		s->frame[s->nframes++] = (struct stat_frame){ r->p->module[mi], off };
	}
	if (r->seen[H_MAX_FRAMES] && s->nframes > r->p->max_frames)
		bad("site %llu has %u frames, more than max-frames %llu",
		    (unsigned long long)s->id, s->nframes, (unsigned long long)r->p->max_frames);
}

/* sizes and lifetimes: n counts after the site ID. */
static uint64_t *read_counts(const struct stat_site *s, char **pos, const char *keyword,
			     unsigned *line, bool have_buckets, unsigned n, const char *buckets,
			     unsigned nb)
{
	uint64_t *c;
	unsigned got = 0;
	char *t;

	second(s, keyword, *line);
	if (!have_buckets)
		bad("'%s' line before the '%s' line", keyword, buckets);
	c = xrealloc(NULL, n, sizeof(*c));
	while ((t = token(pos))) {
		if (got == n)
			bad("site %llu: more than %u counts on its %s line (%s has %u buckets%s)",
			    (unsigned long long)s->id, n, keyword, buckets, nb,
			    n > nb ? ", plus one for blocks live at the end" : "");
		if (!parse_u64(t, &c[got]))
			bad("site %llu: %s count '%s' is not a number", (unsigned long long)s->id,
			    keyword, t);
		got++;
	}
	if (got != n)
		bad("site %llu: %u counts on its %s line, not %u (%s has %u buckets%s)",
		    (unsigned long long)s->id, got, keyword, n, buckets, nb,
		    n > nb ? ", plus one for blocks live at the end" : "");
	*line = lineno;
	return c;
}

static void read_total(struct reader *r, char **pos)
{
	bool allocs = false, bytes = false;
	char *t;

	while ((t = token(pos))) {
		if (!strcmp(t, "allocs")) {
			r->p->total_allocs = number(pos, "total allocs");
			allocs = true;
		} else if (!strcmp(t, "bytes")) {
			r->p->total_bytes = number(pos, "total bytes");
			bytes = true;
		} else if (!token(pos)) {
			bad("total: '%s' has no value", t);
		}
	}
	if (!allocs || !bytes)
		bad("'total' needs both allocs N and bytes N");
}

static void read_line(struct reader *r, char *line)
{
	static const int single[] = { H_PID, H_SAMPLE_BYTES, H_MAX_FRAMES, H_DURATION,
				      H_SAMPLES, H_DROPPED };
	struct stat_profile *p = r->p;
	uint64_t *field[] = { &p->pid, &p->sample_bytes, &p->max_frames, &p->duration_ns,
			      &p->samples, &p->dropped };
	char *pos = line, *kw = token(&pos);

	if (!kw || *kw == '#')
		return;
	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(single); i++)
		if (!strcmp(kw, header_name[single[i]])) {
			once(r, single[i]);
			*field[i] = number(&pos, kw);
			no_more(&pos, kw);
			return;
		}
	if (!strcmp(kw, "program")) {
		once(r, H_PROGRAM);
		/* Empty when the runtime could not read /proc/self/exe. */
		p->program = xstrdup(rest(&pos));
	} else if (!strcmp(kw, "size-buckets")) {
		once(r, H_SIZE_BUCKETS);
		read_buckets(&pos, kw, &p->size_bound, &p->nsize);
	} else if (!strcmp(kw, "life-buckets")) {
		once(r, H_LIFE_BUCKETS);
		read_buckets(&pos, kw, &p->life_bound, &p->nlife);
	} else if (!strcmp(kw, "total")) {
		once(r, H_TOTAL);
		read_total(r, &pos);
	} else if (!strcmp(kw, "module")) {
		read_module(r, &pos);
	} else if (!strcmp(kw, "site")) {
		read_site(r, &pos);
	} else if (!strcmp(kw, "frames")) {
		read_frames(r, &pos);
	} else if (!strcmp(kw, "sizes")) {
		struct stat_site *s = site_of(r, &pos, kw);
		s->sizes = read_counts(s, &pos, kw, &s->sizes_line, r->seen[H_SIZE_BUCKETS],
				       p->nsize, "size-buckets", p->nsize);
	} else if (!strcmp(kw, "lifetimes")) {
		struct stat_site *s = site_of(r, &pos, kw);
		s->lifetimes = read_counts(s, &pos, kw, &s->lifetimes_line,
					   r->seen[H_LIFE_BUCKETS], p->nlife + 1,
					   "life-buckets", p->nlife);
	} else if (!strcmp(kw, "cxlmu-profile")) {
		bad("a second 'cxlmu-profile' line (the first is line %u)", r->first_line);
	}
	/* Anything else is from a later runtime: skipped. */
}

void stat_profile_read(FILE *f, const char *fname, struct stat_profile *p)
{
	struct reader r = { .p = p };
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	bool first = true;

	name = fname;
	lineno = 0;
	*p = (struct stat_profile){ .name = fname };
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *pos = line, *kw;
		lineno++;
		if (len && line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (!first) {
			read_line(&r, line);
			continue;
		}
		kw = token(&pos);
		if (!kw || *kw == '#')
			continue;
		if (strcmp(kw, "cxlmu-profile"))
			bad("not a cxlmu profile: the first line must be 'cxlmu-profile %d', not '%s'",
			    PROFILE_VERSION, kw);
		{
			uint64_t v = number(&pos, "profile version");
			if (v != PROFILE_VERSION)
				bad("unsupported profile version %llu (this cxlmu-stat reads %d)",
				    (unsigned long long)v, PROFILE_VERSION);
			no_more(&pos, kw);
		}
		first = false;
		r.first_line = lineno;
	}
	if (ferror(f))
		stat_fatal("%s: read error: %s", fname, strerror(errno));
	free(line);
	if (!lineno)
		lineno = 1;
	if (first)
		bad("not a cxlmu profile: no 'cxlmu-profile %d' line", PROFILE_VERSION);
	for (int h = 0; h < H_COUNT; h++)
		if (header_needed[h] && !r.seen[h])
			bad("the profile has no '%s' line", header_name[h]);
	for (size_t i = 0; i < p->nsites; i++) {
		struct stat_site *s = &p->site[i];
		const char *missing = !s->frames_line ? "frames" : !s->sizes_line ? "sizes" :
				      !s->lifetimes_line ? "lifetimes" : NULL;
		if (missing) {
			lineno = s->line;
			bad("site %llu has no '%s' line", (unsigned long long)s->id, missing);
		}
	}
	free(r.modules.key);
	free(r.modules.slot);
	free(r.sites.key);
	free(r.sites.slot);
}
