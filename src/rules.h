/* Rules files: which allocation call sites go to which tier (libcxlmu(7),
 * RULES FORMAT). Parsing is pure: no allocation, no system calls; the
 * caller gives the text (modified in place) and the tables, so the
 * preloaded library can parse from its first malloc and cxlmu-run and
 * cxlmu-stat can check a file with the same code. Unit-tested. */
#ifndef CXLMU_SRC_RULES_H
#define CXLMU_SRC_RULES_H

#include "internal.h"
#include "policy.h"

#define CXLMU_RULES_MAX_FRAMES  16    /* frames one rule may name */
#define CXLMU_RULES_MAX_MODULES 256   /* distinct (name, build-id) pairs */
#define CXLMU_RULES_MAX_BUILD_ID 64   /* bytes of a build-id (hex: twice) */

#define CXLMU_RULES_TIERS_ACCEPTED "dram, cxl, fallback"
#define CXLMU_RULES_FRAME_ACCEPTED "MODULE+0xOFFSET or MODULE@BUILDID+0xOFFSET"

/* A module as a rule names it. name is a path when it holds a '/' (it
 * matches that path exactly) and a file name otherwise (it matches any
 * module of that file name). build_id, when not NULL, is lowercase hex and
 * the module must carry that GNU build-id too. Both point into the text. */
struct cxlmu_rule_module {
	const char *name;
	const char *build_id;
};

struct cxlmu_rule_frame {
	uint64_t offset;      /* return address less the module's load bias */
	uint16_t module;      /* index into cxlmu_rules.module */
};

struct cxlmu_rule {
	enum cxlmu_tier tier;          /* CXLMU_TIER_DRAM or CXLMU_TIER_CXL */
	unsigned line;                 /* 1-based, for messages */
	unsigned nframes;              /* 1..CXLMU_RULES_MAX_FRAMES */
	struct cxlmu_rule_frame frame[CXLMU_RULES_MAX_FRAMES]; /* innermost first */
};

/* The caller points rule and module at arrays of max_rules and max_modules
 * (at most CXLMU_RULES_MAX_MODULES) entries; the parser fills the rest. */
struct cxlmu_rules {
	struct cxlmu_rule *rule;
	unsigned nrules, max_rules;
	struct cxlmu_rule_module *module;
	unsigned nmodules, max_modules;
	unsigned max_frames;           /* longest rule */
	bool has_fallback;
	struct cxlmu_policy fallback;  /* when has_fallback */
};

/* Parse len bytes of text, which is modified in place (module names and
 * build-ids point into it, each ended by a NUL written over the '@' or '+'
 * after it; it needs no NUL of its own, and text[len] is never touched).
 * Returns 0; -EINVAL with err holding "line N: what is wrong
 * (accepted: ...)"; or -E2BIG with err naming the line and the table that
 * is full. On error *r holds what was parsed before the line. */
int cxlmu_rules_parse(char *text, size_t len, struct cxlmu_rules *r,
		      char *err, size_t errsize);

/* Whether rule module m matches a loaded module with this path (never
 * NULL; "" unknown) and build-id (lowercase hex, NULL when it has none). */
bool cxlmu_rules_module_matches(const struct cxlmu_rule_module *m,
				const char *path, const char *build_id);

/* A site's frame for matching: its offset, and its module as the bitmap
 * of the rule modules that module matches (cxlmu_rules_module_matches). */
struct cxlmu_site_frame {
	uint64_t offset;
	const uint64_t *modules;       /* CXLMU_RULES_MAX_MODULES bits */
};
/* Whether rule matches a site (nframes frames, innermost first): each of
 * the rule's frames equals the site's frame at the same depth. */
bool cxlmu_rules_match(const struct cxlmu_rule *rule,
		       const struct cxlmu_site_frame *frames, unsigned nframes);

/* The rule for a site: the longest rule that matches, the first in the
 * file among equally long ones; NULL when none does. */
const struct cxlmu_rule *cxlmu_rules_lookup(const struct cxlmu_rules *r,
					    const struct cxlmu_site_frame *frames,
					    unsigned nframes);

#endif
