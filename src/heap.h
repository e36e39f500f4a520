/* The heap: placement of every block on a tier (DRAM, CXL, interleave)
 * over jemalloc arenas. DRAM blocks come from jemalloc's automatic arenas
 * with its thread caches, so the local policy costs next to nothing; each
 * CXL node and the interleave pattern get an arena whose extent hooks carve
 * memory from one reserved span and mbind it. A pointer inside the span
 * belongs to one of our arenas, which makes free's lookup a range check. */
#ifndef CXLMU_SRC_HEAP_H
#define CXLMU_SRC_HEAP_H

#include "internal.h"
#include "policy.h"
#include "topology.h"

struct cxlmu_heap_config {
	struct cxlmu_policy policy;
	bool strict;
	cxlmu_nodemask_t cxl;        /* CXL nodes, non-empty unless policy local */
	cxlmu_nodemask_t dram;       /* DRAM nodes */
	const struct cxlmu_topology *topo;
};

/* Interleave unit: 2 MiB, a huge page, keeps VMA counts low. */
#define CXLMU_INTERLEAVE_UNIT (2 * CXLMU_MiB)

/* Set up arenas for cfg. On failure the heap stays local and -errno says why. */
int cxlmu_heap_init(const struct cxlmu_heap_config *cfg);
/* Which policy is in force (local after a failed init). */
const struct cxlmu_policy *cxlmu_heap_policy(void);

/* align: 0 for malloc's default, else a power of two. NULL on failure,
 * errno untouched (preload/ sets it as the replaced call must). */
void *cxlmu_heap_alloc(size_t size, size_t align, bool zero);

/* Place a block on a given tier regardless of policy (public API). */
void *cxlmu_heap_alloc_tier(size_t size, size_t align, bool zero, enum cxlmu_tier tier);
void cxlmu_heap_free(void *p);
void *cxlmu_heap_realloc(void *p, size_t size);
size_t cxlmu_heap_usable_size(const void *p);

/* Merge the calling thread's counts into the totals (before a report). */
void cxlmu_heap_merge(void);
/* Bind [addr, addr+len) as the tier asks (used for the application's own
 * mmap regions); returns the node counted for it (interleave: first unit's). */
int cxlmu_heap_bind_range(void *addr, size_t len, enum cxlmu_tier tier, unsigned *node);
/* Count or uncount len bytes of a bound range (mmap regions) per node. */
void cxlmu_heap_account_range(const void *addr, size_t len, enum cxlmu_tier tier,
			      unsigned node, bool alloc);
/* Ranges of span: for the stats page sampler. */
void cxlmu_heap_span(uintptr_t *base, uintptr_t *end);

/* ----------------------------------------------------------------------- */
/* The fast path, inlined into malloc and free (preload/malloc.c)           */
/* ----------------------------------------------------------------------- */

#define CXLMU_HEAP_MAX_ARENAS 64
#define CXLMU_HEAP_MERGE_EVENTS 1024

/* Per-thread heap state; owned by heap.c, read by the inline fast path. */
struct cxlmu_thread_heap {
	size_t fast_small;           /* inline malloc below this size... */
	size_t fast_limit;           /* ...the bound path below this; 0 when the
				      * policy decides per block */
	int *errno_p;                /* this thread's errno, without a call */
	uint32_t alloc_left, free_left;    /* inline events until the bound path */
	uint32_t alloc_batch, free_batch;  /* ...counted down from these */
	uint32_t fast_allocs, fast_frees;  /* bound-tier events since the merge */
	int bound_ai;                /* fast-path arena: -1 DRAM, else cxl_ai */
	uintptr_t fast_lo, fast_len; /* free's fast range test: a block is the */
	bool fast_outside;           /* thread's when (p - lo < len) != outside;
				      * all zero (a new thread): never */
	bool fast_tail;              /* DRAM thread: malloc may tail-call */
	bool ready;
	bool exiting;                /* caches returned: use none from now on */
	bool counted;                /* jemalloc's thread counters are readable */
	uint8_t home;                /* home DRAM node */
	int cxl_ai;                  /* this thread's CXL arena, -1 when none */
	enum cxlmu_tier bound_tier;
	unsigned bound_node;
	const uint64_t *je_alloc, *je_dealloc;  /* jemalloc's thread counters */
	uint64_t last_alloc, last_dealloc;
	uint64_t x_alloc, x_free;    /* bytes that took the explicit path since */
	unsigned sample_tick;
	unsigned exit_rounds;
	unsigned tcache[CXLMU_HEAP_MAX_ARENAS]; /* explicit tcache id + 1 */
};
extern CXLMU_TLS struct cxlmu_thread_heap cxlmu_heap_th;


/* jemalloc's own malloc and free (renamed when it is linked in). */
#ifdef CXLMU_JEMALLOC_STATIC
void *cxlmu_je_malloc(size_t size);
void cxlmu_je_free(void *p);
#define cxlmu_je_fast_malloc cxlmu_je_malloc
#define cxlmu_je_fast_free   cxlmu_je_free
#else
#define cxlmu_je_fast_malloc(n) mallocx((n), 0)
#define cxlmu_je_fast_free(p)   dallocx((p), 0)
#endif

/* Out of line: what the inline paths leave out. The inline paths count
 * down alloc_left / free_left; when one expires the bound path takes the
 * block, counts the batch, samples it for the page check, and merges the
 * counts now and then. Large blocks always come here (they are sampled).
 * cxlmu_heap_malloc_bound returns NULL, errno untouched, when the block is
 * not for the bound tier; cxlmu_heap_free_bound returns false likewise. */
void *cxlmu_heap_malloc_bound(size_t size);
bool cxlmu_heap_free_bound(void *p);


/* The inline paths end in a tail call to jemalloc's own malloc or free:
 * nothing of ours runs after it. That keeps the local policy within a few
 * per cent of jemalloc alone, and it is exact because jemalloc keeps the
 * libc contract there by itself: on failure it returns NULL with errno
 * ENOMEM, and its system calls (mmap, munmap, madvise, mprotect) are
 * redirected at link time to errno-neutral wrappers (src/jeos.c), so
 * success leaves errno alone. Only DRAM-bound threads tail-call: a
 * CXL-bound thread's NULL must reach the DRAM fallback. */

/* malloc for a thread whose every block goes to its bound tier (local, or
 * cxl). Returns false when the block must take another path. */
static inline bool cxlmu_heap_fast_malloc_ok(size_t size)
{
	struct cxlmu_thread_heap *t = &cxlmu_heap_th;

	return likely(size < t->fast_small) && likely(--t->alloc_left != 0);
}

/* Whether free(p) may tail-call jemalloc's free: a block of this thread's
 * bound tier. p is not NULL. */
static inline bool cxlmu_heap_fast_free_ok(void *p)
{
	struct cxlmu_thread_heap *t = &cxlmu_heap_th;
	uintptr_t a = (uintptr_t)p;

	/* DRAM thread: outside our span; CXL thread: inside its node's
	 * arenas' slices; a thread not set up or without a fast path: never. */
	if (unlikely((a - t->fast_lo < t->fast_len) == t->fast_outside))
		return false;
	return likely(--t->free_left != 0);
}

#endif
