/* The sites policy (--policy=sites:FILE): each allocation goes where the
 * rule for its call site says (src/rules.h); sites without a rule follow
 * the fallback policy.
 *
 * Decisions are cached by the intercepted call's return address. A rules
 * file usually settles a site by its first frame; only when rules that
 * share that frame disagree deeper down is the stack unwound, on every
 * allocation from that address. */
#ifndef CXLMU_SRC_SITES_H
#define CXLMU_SRC_SITES_H

#include "callsite.h"
#include "policy.h"

/* Read and parse the rules file. 0; or -errno / -EINVAL / -E2BIG with err
 * holding the reason ("line N: ..."). Allocates nothing (mmap). */
int cxlmu_sites_load(const char *path, char *err, size_t errsize);
/* The file's own fallback, when it gives one. */
bool cxlmu_sites_fallback(struct cxlmu_policy *out);
unsigned cxlmu_sites_rules(void);
unsigned cxlmu_sites_max_frames(void);

/* For cxlmu_callsite_init: which rule modules a new module matches. */
void cxlmu_sites_on_module(struct cxlmu_module *m);

/* CXLMU_TIER_DRAM or CXLMU_TIER_CXL for the allocation whose intercepted
 * call returns to ra; -1 when no rule matches (the fallback decides).
 * *by_address: whether ra alone settles it (else the stack did). */
int cxlmu_sites_tier(const void *ra, bool *by_address);

#endif
