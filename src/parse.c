/* The value parsers of src/parse.h: one grammar for every option's value,
 * from the command line and the environment alike. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

/* ----------------------------------------------------------------------- */
/* Value parsers                                                             */
/* ----------------------------------------------------------------------- */

int cxlmu_parse_size(const char *text, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *s = text;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		uint64_t digit = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - digit) / 10)
			return -EINVAL;
		v = v * 10 + digit;
	}
	switch (*s) {
	case '\0': break;
	case 'k': case 'K': mult = CXLMU_KiB; s++; break;
	case 'm': case 'M': mult = CXLMU_MiB; s++; break;
	case 'g': case 'G': mult = CXLMU_GiB; s++; break;
	default: return -EINVAL;
	}
	/* Accept an optional trailing 'B' or "iB" after the unit: 64KiB, 2MB. */
	if (mult > 1 && (*s == 'i' || *s == 'I') && (s[1] == 'b' || s[1] == 'B'))
		s += 2;
	else if (mult > 1 && (*s == 'b' || *s == 'B'))
		s++;
	if (*s != '\0' || v > UINT64_MAX / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

void cxlmu_path_expand(const char *in, char *out, size_t size, int pid)
{
	size_t n = 0;

	for (; *in && n + 24 < size; in++) {
		if (in[0] == '%' && in[1] == 'p') {
			n += (size_t)snprintf(out + n, size - n, "%d", pid);
			in++;
		} else {
			out[n++] = *in;
		}
	}
	out[n] = '\0';
}

int cxlmu_parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = { "1", "yes", "on", "true" };
	static const char *const no[] = { "0", "no", "off", "false" };

	if (!text)
		return -EINVAL;
	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(text, yes[i])) { *out = true; return 0; }
		if (!strcasecmp(text, no[i])) { *out = false; return 0; }
	}
	return -EINVAL;
}

/* A number below limit at *sp, moved past. */
static int parse_below(const char **sp, unsigned limit, unsigned *out)
{
	const char *s = *sp;
	unsigned v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned)(*s - '0');
		if (v >= limit)
			return -EINVAL;
	}
	*sp = s;
	*out = v;
	return 0;
}

/* "0,2-3": each range, every number below limit, handed to add; the whole
 * text or -EINVAL. The node and CPU lists both. */
static int parse_ranges(const char *text, unsigned limit,
			void (*add)(unsigned lo, unsigned hi, void *arg), void *arg)
{
	const char *s = text;

	if (!s || !*s)
		return -EINVAL;
	for (;;) {
		unsigned lo, hi;
		if (parse_below(&s, limit, &lo))
			return -EINVAL;
		hi = lo;
		if (*s == '-') {
			s++;
			if (parse_below(&s, limit, &hi) || hi < lo)
				return -EINVAL;
		}
		add(lo, hi, arg);
		if (*s == '\0')
			return 0;
		if (*s != ',')
			return -EINVAL;
		s++;
	}
}

static void add_nodes(unsigned lo, unsigned hi, void *arg)
{
	for (unsigned n = lo; n <= hi; n++)
		*(cxlmu_nodemask_t *)arg |= 1ull << n;
}

int cxlmu_parse_nodelist(const char *text, cxlmu_nodemask_t *out)
{
	cxlmu_nodemask_t mask = 0;

	if (parse_ranges(text, CXLMU_MAX_NODES, add_nodes, &mask))
		return -EINVAL;
	*out = mask;
	return 0;
}

static void add_cpus(unsigned lo, unsigned hi, void *arg)
{
	for (unsigned c = lo; c <= hi; c++)
		CPU_SET(c, (cpu_set_t *)arg);
}

int cxlmu_parse_cpulist(const char *text, cpu_set_t *out)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	if (parse_ranges(text, CPU_SETSIZE, add_cpus, &set))
		return -EINVAL;
	*out = set;
	return 0;
}

static bool symbol_char(char c, bool first)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (!first && ((c >= '0' && c <= '9') || c == '.' || c == '$'));
}

const char *cxlmu_remote_spec_next(const char *text, struct cxlmu_remote_spec *out, int *err)
{
	const char *end = strchr(text, ','), *colon, *sym;
	size_t n = end ? (size_t)(end - text) : strlen(text);

	*err = -EINVAL;
	/* The library part may hold ':' (a path); the symbol never does. */
	colon = memrchr(text, ':', n);
	sym = colon ? colon + 1 : text;
	if (colon && (colon == text || (size_t)(colon - text) >= sizeof(out->lib)))
		return NULL;
	if ((size_t)(text + n - sym) >= sizeof(out->sym) || !symbol_char(*sym, true))
		return NULL;
	for (const char *c = sym; c < text + n; c++)
		if (!symbol_char(*c, c == sym))
			return NULL;
	out->lib[0] = '\0';
	if (colon)
		memcpy(out->lib, text, (size_t)(colon - text)), out->lib[colon - text] = '\0';
	memcpy(out->sym, sym, (size_t)(text + n - sym));
	out->sym[text + n - sym] = '\0';
	*err = 0;
	return end ? end + 1 : NULL;
}

