/* Allocation profiles (--profile=FILE): allocations sampled by bytes, one
 * per sample-bytes on average as heap profilers do, each weighted by the
 * inverse of its chance of being sampled; per call site the estimated
 * count, bytes, live and peak live bytes, size and lifetime histograms and
 * the threads seen. Written at exit in the format of libcxlmu(7), PROFILE
 * FORMAT.
 *
 * Sampled blocks are remembered by address (their free gives the lifetime)
 * in a striped table; the heap keeps every sampled block inside its span,
 * so a free outside it never looks here. */
#ifndef CXLMU_SRC_PROFILE_H
#define CXLMU_SRC_PROFILE_H

#include "internal.h"

#define CXLMU_PROFILE_SIZE_BUCKETS 29   /* <= 8, 16, ... 1 GiB, more */
#define CXLMU_PROFILE_LIFE_BUCKETS 10   /* <= 1 us, 10 us, ... 100 s, more */

struct cxlmu_profile_config {
	const char *path;         /* "%p" becomes the process id */
	uint64_t sample_bytes;    /* mean bytes between samples; 1: all */
	unsigned frames;          /* frames per site */
	const char *run_id;       /* the run's (CXLMU_RUN_ID), or "" */
};

int cxlmu_profile_init(const struct cxlmu_profile_config *cfg);
bool cxlmu_profile_on(void);

/* Bytes left before this thread's next sample. */
extern CXLMU_TLS int64_t cxlmu_profile_left;

/* Whether an allocation of size bytes is to be sampled: the inline
 * countdown, then cxlmu_profile_take for the few that reach zero. */
bool cxlmu_profile_take(size_t size);
static inline bool cxlmu_profile_due(size_t size)
{
	return unlikely((cxlmu_profile_left -= (int64_t)size) <= 0) && cxlmu_profile_take(size);
}

/* Record a sampled block (p NULL: the allocation failed, counted but not
 * remembered). ra: the return address of the intercepted call. */
void cxlmu_profile_record(const void *p, size_t size, const void *ra);
/* A block is freed: if it was sampled, its lifetime is counted. */
bool cxlmu_profile_forget(const void *p);
bool cxlmu_profile_tracked(const void *p);

/* Write the profile (exit). Returns 0 or -errno. */
int cxlmu_profile_write(void);
/* In a forked child: start a profile of its own. */
void cxlmu_profile_after_fork(void);

#endif
