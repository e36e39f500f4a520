/* Files the runtime writes (the stats report, the profile) and reads (a
 * rules file), by the rules of libcxlmu(7) SECURITY: never through a
 * symbolic link, never into another user's file, never blocking. */
#ifndef CXLMU_SRC_FILE_H
#define CXLMU_SRC_FILE_H

#include <sys/types.h>

#include "internal.h"

enum {
	CXLMU_OUT_TRUNC = 1 << 0,   /* empty an existing regular file */
	CXLMU_OUT_LOCK  = 1 << 1,   /* flock it (a bounded wait, never forever) */
	CXLMU_OUT_READ  = 1 << 2,   /* open it for reading as well */
};

struct cxlmu_out {
	int fd;
	bool ours;       /* opened here: close with cxlmu_out_close */
	bool created;    /* a new file, made here */
	bool regular;
};

/* Open path for a report. /dev/stdout, /dev/stderr, /dev/fd/N and
 * /proc/self/fd/N mean the descriptor itself, as it is. Anything else is
 * created exclusively with mode 0600, or, when it exists, opened without
 * following a symbolic link in its last component and without blocking,
 * and used only if it is a regular file or FIFO of this user with no
 * other hard link, or a character device (a terminal, /dev/null).
 * Returns 0, or -errno with *why saying what was wrong (for "cannot write
 * the report to PATH (WHY)"). */
int cxlmu_out_open(const char *path, unsigned how, struct cxlmu_out *o, const char **why);
void cxlmu_out_close(struct cxlmu_out *o);

/* Read a regular file of at most max bytes whole, without blocking, into
 * memory of the runtime's own (cxlmu_prim_map_table; *text is
 * NUL-terminated, *len bytes long). 0 or -errno with *why. */
int cxlmu_file_read(const char *path, size_t max, char **text, size_t *len, const char **why);

#endif
