/* cxlmu-stat's shared definitions: the allocation profile as read
 * (tools/stat-profile.c), frame symbolization (tools/stat-symbols.c),
 * the rules writer (tools/stat-rules.c) and the small formatting helpers
 * all of them use (tools/cxlmu-stat.c). */
#ifndef CXLMU_TOOLS_STAT_H
#define CXLMU_TOOLS_STAT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"

#define STAT_INF UINT64_MAX          /* the "inf" bucket bound */

struct stat_module {
	uint64_t id;
	size_t index;                    /* in stat_profile.module */
	unsigned line;                   /* of its module line */
	char *build_id;                  /* lowercase hex; NULL for '-' */
	char *path;
	const char *base;                /* basename, into path */
	struct stat_dso *dso;            /* symbolization state, NULL until needed */
};

struct stat_frame {
	struct stat_module *module;
	uint64_t offset;                 /* link-time vaddr of the return address */
};

struct stat_site {
	uint64_t id;
	unsigned line;                   /* of its site line */
	uint64_t allocs, bytes, peak_live, live, threads;
	struct stat_frame *frame;        /* innermost first */
	unsigned nframes;
	uint64_t *sizes;                 /* nsize counts */
	uint64_t *lifetimes;             /* nlife counts, then the live count */
	unsigned frames_line, sizes_line, lifetimes_line;
	/* --rules */
	enum cxlmu_tier tier;
	unsigned rule_frames;            /* 0: no rule */
	bool clash;                      /* a site of the other tier has the same rule */
	size_t rank;                     /* in density order */
	struct stat_site *same_rule;     /* next site with the very same rule */
	bool rule_led;                   /* an earlier site writes its rule */
};

struct stat_profile {
	const char *name;                /* for messages */
	char *program;
	uint64_t pid, sample_bytes, max_frames, duration_ns, samples, dropped;
	uint64_t total_allocs, total_bytes;
	uint64_t *size_bound, *life_bound;  /* ascending; STAT_INF for inf */
	unsigned nsize, nlife;
	struct stat_module **module;     /* each allocated apart: frames point at them */
	size_t nmodules;
	struct stat_site *site;
	size_t nsites;
};

/* stat-profile.c: read a profile; on malformed input print
 * "cxlmu-stat: NAME:LINE: what" and exit 1. */
void stat_profile_read(FILE *f, const char *name, struct stat_profile *p);

/* stat-symbols.c: the function holding a frame's return address, and the
 * offset of the return address from its start. NULL when the module
 * cannot be used (said once on stderr) or no symbol covers it. The name
 * is demangled and lives as long as the program. */
const char *stat_symbolize(const struct stat_frame *f, uint64_t *func_offset);
/* "module:function+0xOFF" or "module+0xOFFSET" into buf. */
void stat_frame_format(const struct stat_frame *f, char *buf, size_t size);

/* stat-rules.c: write the rules for a DRAM budget; returns the exit status. */
int stat_rules_write(struct stat_profile *p, uint64_t budget, const char *fallback,
		     const char *out);

/* cxlmu-stat.c: formatting shared by the report and the rules comments. */
void stat_human_bytes(uint64_t v, char *buf, size_t size);   /* "12.3 MiB" */
/* The bucket holding a site's median allocation ("<= 64 KiB", "> 1 GiB")
 * and its median lifetime ("<= 10 us", "live at exit"); "-" when the site
 * has no counts. */
void stat_typical_size(const struct stat_profile *p, const struct stat_site *s,
		       char *buf, size_t size);
void stat_typical_life(const struct stat_profile *p, const struct stat_site *s,
		       char *buf, size_t size);
void stat_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
