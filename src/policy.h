/* Placement policies: parsing and the pure decision of which tier a block
 * goes to. No state, no system calls: unit-tested directly. */
#ifndef CXLMU_SRC_POLICY_H
#define CXLMU_SRC_POLICY_H

#include "internal.h"

enum cxlmu_policy_kind {
	CXLMU_POLICY_LOCAL,       /* no placement */
	CXLMU_POLICY_CXL,         /* everything on CXL */
	CXLMU_POLICY_SIZE,        /* blocks >= threshold on CXL */
	CXLMU_POLICY_INTERLEAVE,  /* pages split dram_weight : cxl_weight */
	CXLMU_POLICY_BUDGET,      /* DRAM until budget live bytes, then CXL */
	CXLMU_POLICY_SITES,       /* by call site, from a rules file (src/sites.h) */
};

enum cxlmu_tier {
	CXLMU_TIER_DRAM,
	CXLMU_TIER_CXL,
	CXLMU_TIER_INTERLEAVE,
};

struct cxlmu_policy {
	enum cxlmu_policy_kind kind;
	uint64_t bytes;           /* size threshold or DRAM budget */
	unsigned dram_weight;     /* interleave D */
	unsigned cxl_weight;      /* interleave C */
};

#define CXLMU_POLICY_ACCEPTED "local, cxl, size:N, interleave:D:C, budget:N; N takes K/M/G"
/* What --policy takes: the above, and the sites policy's rules file. */
#define CXLMU_POLICY_OPTION_ACCEPTED \
	"local, cxl, size:N, interleave:D:C, budget:N, sites:FILE; N takes K/M/G"
#define CXLMU_INTERLEAVE_MAX_WEIGHT 255

/* Parse "cxl", "size:64K", "interleave:3:1", ...; 0 or -EINVAL. The sites
 * policy names a file: options.c parses it (cxlmu_policy_parse refuses
 * it, so it is never a fallback). */
int cxlmu_policy_parse(const char *text, struct cxlmu_policy *out);
/* Canonical text form ("size:65536"); returns snprintf's length. */
int cxlmu_policy_format(const struct cxlmu_policy *p, char *buf, size_t size);

/* Tier for a block of size bytes when the DRAM tier holds dram_live bytes. */
static inline enum cxlmu_tier cxlmu_policy_tier(const struct cxlmu_policy *p,
						size_t size, uint64_t dram_live)
{
	switch (p->kind) {
	case CXLMU_POLICY_CXL:
		return CXLMU_TIER_CXL;
	case CXLMU_POLICY_SIZE:
		return size >= p->bytes ? CXLMU_TIER_CXL : CXLMU_TIER_DRAM;
	case CXLMU_POLICY_INTERLEAVE:
		return CXLMU_TIER_INTERLEAVE;
	case CXLMU_POLICY_BUDGET:
		/* Written so that a huge size cannot wrap the sum around. */
		return size <= p->bytes && dram_live <= p->bytes - size ?
		       CXLMU_TIER_DRAM : CXLMU_TIER_CXL;
	case CXLMU_POLICY_LOCAL:
	case CXLMU_POLICY_SITES:  /* decided by src/sites.c, never here */
	default:
		return CXLMU_TIER_DRAM;
	}
}

/* Interleave pattern: of every (D + C) consecutive units, the first D are
 * DRAM and the next C are CXL. Returns true when unit index is on CXL. */
static inline bool cxlmu_policy_unit_is_cxl(const struct cxlmu_policy *p, uint64_t unit)
{
	return unit % (p->dram_weight + p->cxl_weight) >= p->dram_weight;
}

#endif
