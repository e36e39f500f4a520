/* The sites policy: rules loaded at start, and the per-address decision
 * cache (src/sites.h).
 *
 * Cache. An open-addressing table of return addresses, each slot claimed
 * once with a compare-and-swap and never given up; its decision is one
 * atomic word tagged with the module generation, so a decision made before
 * a dlclose is made again. Decisions are DRAM, CXL, "no rule" or "unwind":
 * the first frame alone does not settle it, the whole stack is matched. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "prim.h"
#include "file.h"
#include "sites.h"

#define MAX_RULES   16384u
/* Far above what MAX_RULES rules of 16 frames take. */
#define RULES_FILE_MAX (64 * CXLMU_MiB)
#define CACHE_SLOTS 65536u
#define PROBES      16u

enum { DECIDE_DRAM = CXLMU_TIER_DRAM, DECIDE_CXL = CXLMU_TIER_CXL, DECIDE_NONE = 8, DECIDE_UNWIND };

struct slot {
	_Atomic uintptr_t ra;
	_Atomic uint64_t decision;     /* generation << 8 | DECIDE_* + 1; 0 none */
};

static struct {
	struct cxlmu_rules rules;
	struct slot *cache;
	bool loaded;
} st;

int cxlmu_sites_load(const char *path, char *err, size_t errsize)
{
	const char *why;
	char *text;
	size_t len;
	int r;

	r = cxlmu_file_read(path, RULES_FILE_MAX, &text, &len, &why);
	if (r) {
		snprintf(err, errsize, "cannot read %s (%s)", path, why);
		return r;
	}
	st.rules.rule = cxlmu_prim_map_table(MAX_RULES * sizeof(struct cxlmu_rule));
	st.rules.module = cxlmu_prim_map_table(CXLMU_RULES_MAX_MODULES * sizeof(struct cxlmu_rule_module));
	st.cache = cxlmu_prim_map_table(CACHE_SLOTS * sizeof(struct slot));
	if (!st.rules.rule || !st.rules.module || !st.cache) {
		snprintf(err, errsize, "out of memory for the rules of %s", path);
		return -ENOMEM;
	}
	st.rules.max_rules = MAX_RULES;
	st.rules.max_modules = CXLMU_RULES_MAX_MODULES;
	r = cxlmu_rules_parse(text, len, &st.rules, err, errsize);
	if (r)
		return r;
	st.loaded = true;
	return 0;
}

bool cxlmu_sites_fallback(struct cxlmu_policy *out)
{
	if (!st.loaded || !st.rules.has_fallback)
		return false;
	*out = st.rules.fallback;
	return true;
}

unsigned cxlmu_sites_rules(void)
{
	return st.rules.nrules;
}

unsigned cxlmu_sites_max_frames(void)
{
	return st.rules.max_frames;
}

void cxlmu_sites_on_module(struct cxlmu_module *m)
{
	for (unsigned j = 0; j < st.rules.nmodules; j++)
		if (cxlmu_rules_module_matches(&st.rules.module[j], m->path,
					       m->build_id[0] ? m->build_id : NULL))
			m->rule_bits[j / 64] |= 1ull << (j % 64);
}

/* What the first frame alone says: the best one-frame rule wins unless a
 * longer rule starting there could give another answer. */
static int decide_first(const struct cxlmu_frame *f)
{
	const uint64_t *bits = cxlmu_callsite_module(f->module)->rule_bits;
	const struct cxlmu_rule *one = NULL;
	unsigned deeper = 0;   /* bit per tier of the longer rules */

	for (unsigned i = 0; i < st.rules.nrules; i++) {
		const struct cxlmu_rule *r = &st.rules.rule[i];
		unsigned m = r->frame[0].module;

		if (r->frame[0].offset != f->offset || !(bits[m / 64] & (1ull << (m % 64))))
			continue;
		if (r->nframes == 1) {
			if (!one)
				one = r;
		} else {
			deeper |= 1u << r->tier;
		}
	}
	if (!deeper)
		return one ? (int)one->tier : DECIDE_NONE;
	if (one && deeper == 1u << one->tier)
		return (int)one->tier;
	return DECIDE_UNWIND;
}

static int decide_stack(const void *ra)
{
	struct cxlmu_frame f[CXLMU_CALLSITE_MAX_FRAMES];
	struct cxlmu_site_frame sf[CXLMU_CALLSITE_MAX_FRAMES];
	const struct cxlmu_rule *r;
	unsigned n = cxlmu_callsite_capture(ra, f, st.rules.max_frames);

	for (unsigned i = 0; i < n; i++) {
		sf[i].offset = f[i].offset;
		sf[i].modules = cxlmu_callsite_module(f[i].module)->rule_bits;
	}
	r = n ? cxlmu_rules_lookup(&st.rules, sf, n) : NULL;
	return r ? (int)r->tier : -1;
}

int cxlmu_sites_tier(const void *ra, bool *by_address)
{
	uintptr_t a = (uintptr_t)ra;
	uint32_t gen;
	unsigned h;
	struct slot *s = NULL;
	struct cxlmu_frame f;
	uint64_t d;
	int decision;

	*by_address = false;
	if (!st.loaded || !st.rules.nrules || !a || cxlmu_callsite_busy())
		return -1;
	gen = cxlmu_callsite_generation();
	h = (unsigned)((a * 0x9E3779B97F4A7C15ull) >> 48) % CACHE_SLOTS;
	for (unsigned i = 0; i < PROBES; i++) {
		struct slot *c = &st.cache[(h + i) % CACHE_SLOTS];
		uintptr_t k = atomic_load_explicit(&c->ra, memory_order_acquire);

		if (!k) {
			uintptr_t zero = 0;
			if (!atomic_compare_exchange_strong(&c->ra, &zero, a) && zero != a)
				continue;
			s = c;
			break;
		}
		if (k == a) {
			s = c;
			d = atomic_load_explicit(&c->decision, memory_order_acquire);
			if (d && (uint32_t)(d >> 8) == gen) {
				decision = (int)(d & 0xff) - 1;
				goto decided;
			}
			break;
		}
	}
	cxlmu_callsite_name(a, &f);
	decision = decide_first(&f);
	if (s)
		atomic_store_explicit(&s->decision, (uint64_t)gen << 8 | (uint64_t)(decision + 1),
				      memory_order_release);
decided:
	if (decision == DECIDE_UNWIND)
		return decide_stack(ra);
	*by_address = true;
	return decision == DECIDE_NONE ? -1 : decision;
}
