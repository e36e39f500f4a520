/* cxlmu: CXL memory placement for unmodified programs.
 *
 * The preloaded library (LD_PRELOAD=libcxlmu.so, or cxlmu-run) needs none
 * of this header. Programs that want explicit control link with -lcxlmu
 * (pkg-config cxlmu) and use the calls below; see libcxlmu(7). */
#ifndef CXLMU_H
#define CXLMU_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where cxlmu_malloc_on puts a block. */
typedef enum cxlmu_place {
	CXLMU_PLACE_DRAM = 0,    /* the local DRAM tier */
	CXLMU_PLACE_CXL = 1,     /* a CXL node (the nearest one) */
} cxlmu_place_t;

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *cxlmu_version(void);

/* Allocate size bytes on place, whatever the policy says (the local policy
 * included). Free with free(). Returns NULL with errno ENOMEM on failure,
 * EINVAL for an unknown place. Without a CXL node, CXL requests get DRAM. */
void *cxlmu_malloc_on(size_t size, cxlmu_place_t place);

/* NUMA node of the page holding addr, or -errno: -ENOENT when the page is
 * not resident, -EFAULT when addr is not mapped. */
int cxlmu_page_node(const void *addr);

/* Write the stats report (as at exit with --stats) to fd now; json != 0
 * for the JSON form. Returns 0 or -errno. */
int cxlmu_stats_write(int fd, int json);

#ifdef __cplusplus
}
#endif

#endif
