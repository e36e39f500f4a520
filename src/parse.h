/* Values of options: sizes, booleans, node and CPU lists, file names with
 * %p, --remote SPECs. Pure functions, a leaf: options (the table) and
 * policy (policy values) both use them. */
#ifndef CXLMU_SRC_PARSE_H
#define CXLMU_SRC_PARSE_H

#include <limits.h>
#include <sched.h>

#include "internal.h"

/* A file name option's value with each "%p" replaced by pid, into out
 * (cut to size). */
void cxlmu_path_expand(const char *in, char *out, size_t size, int pid);

/* Shared value parsers. */
int cxlmu_parse_size(const char *text, uint64_t *out);   /* 64K, 2M, 1G, 123 */
int cxlmu_parse_bool(const char *text, bool *out);       /* 1/0 yes/no on/off true/false */
int cxlmu_parse_nodelist(const char *text, cxlmu_nodemask_t *out); /* 0,2-3 */
int cxlmu_parse_cpulist(const char *text, cpu_set_t *out);   /* 0,2-3, below CPU_SETSIZE */

/* One --remote SPEC of the comma-separated list at text: its library part
 * (lib, NULL when none) and symbol, copied out; returns the text after it
 * (past the comma) or NULL at the end. -EINVAL (through *err) when the
 * SPEC is malformed. */
struct cxlmu_remote_spec {
	char lib[PATH_MAX];      /* "" when the SPEC names no library */
	char sym[256];
};
const char *cxlmu_remote_spec_next(const char *text, struct cxlmu_remote_spec *out, int *err);

#endif
