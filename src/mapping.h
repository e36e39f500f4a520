/* The application's own anonymous mmap regions: placed by policy like heap
 * blocks (programs with their own allocators), tracked so munmap and mremap
 * keep the counters right. Calls made by the runtime or jemalloc are told
 * apart by their return address and left alone. */
#ifndef CXLMU_SRC_MAPPING_H
#define CXLMU_SRC_MAPPING_H

#include <sys/types.h>
#include "internal.h"

/* Regions smaller than this are never placed. */
#define CXLMU_MAPPING_MIN (1 * CXLMU_MiB)
/* Regions tracked at once; more are placed but not counted. */
#define CXLMU_MAPPING_SLOTS 4096

void cxlmu_mapping_enable(bool on);
/* Each returns what the libc call returns; on failure errno is set as the
 * libc call sets it. caller is the return address of the interposed call. */
void *cxlmu_mapping_mmap(void *addr, size_t len, int prot, int flags, int fd,
			 off_t off, const void *caller);
int cxlmu_mapping_munmap(void *addr, size_t len);
void *cxlmu_mapping_mremap(void *old, size_t old_len, size_t new_len, int flags,
			   void *new_addr);
/* Fork child: the table lock may have been held by a thread that is gone. */
void cxlmu_mapping_after_fork(void);
/* Regions placed so far (for tests and stats). */
unsigned long cxlmu_mapping_placed(void);

#endif
