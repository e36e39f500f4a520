/* cxlmu: CXL memory placement for unmodified programs.
 *
 * The preloaded library (LD_PRELOAD=libcxlmu.so, or cxlmu-run) needs none
 * of this header. Programs that want explicit control link with -lcxlmu
 * (pkg-config cxlmu) and use the calls below; see libcxlmu(7). */
#ifndef CXLMU_H
#define CXLMU_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Errors: a function that returns int returns a negative errno value on
 * failure and leaves errno alone; one that returns a pointer returns NULL
 * and sets errno. */

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
 * not resident, -EFAULT when addr is not mapped, -ENOSYS or -EPERM when
 * the NUMA system calls are not available. */
int cxlmu_page_node(const void *addr);

/* Write the stats report (as at exit with --stats) to fd now; json != 0
 * for the JSON form. Returns 0 or -errno (write(2)'s: -EBADF, -EPIPE...). */
int cxlmu_stats_write(int fd, int json);

/* A remote call in flight (cxlmu_remote_submit). */
typedef struct cxlmu_call cxlmu_call_t;

/* Run fn(arg) on the remote agent of CXL node node (-1: the first agent;
 * on a machine without a CXL node, the one agent, on --agent-cpus). The
 * caller goes on at once. Returns the call, to await, or NULL with errno
 * EINVAL (fn is NULL, node < -1, or node has no agent), EAGAIN (no agent
 * thread could be started) or ENOMEM. */
cxlmu_call_t *cxlmu_remote_submit(void *(*fn)(void *), void *arg, int node);

/* Wait until call is done (a fiber lets the other fibers of its core run
 * meanwhile; a kernel thread waits in io_uring), store what fn returned in
 * *result unless result is NULL, and free call. Returns 0, with errno as
 * fn left it on the agent (errno is part of fn's result), or -EINVAL when
 * call is NULL, with errno untouched. */
int cxlmu_remote_await(cxlmu_call_t *call, void **result);

/* Wait while the 32-bit word holds val, until cxlmu_wake_word (or any
 * FUTEX_WAKE of it in this process), or until timeout (relative; NULL: no
 * limit). A fiber switches away; a kernel thread waits in io_uring.
 * Returns 0 (woken, the word no longer val, or spuriously: look again),
 * -ETIMEDOUT, or -EINVAL (word NULL or not 4-byte aligned, timeout out of
 * range). */
int cxlmu_wait_word(const uint32_t *word, uint32_t val, const struct timespec *timeout);

/* Wake up to count (at least 1) waiters of word. Returns how many were
 * woken, or -EINVAL (word NULL or not 4-byte aligned, count below 1). */
int cxlmu_wake_word(const uint32_t *word, int count);

#ifdef __cplusplus
}
#endif

#endif
