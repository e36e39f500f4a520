/* The heap: placement of every block on a tier (DRAM, CXL, interleave)
 * over jemalloc arenas. DRAM blocks come from jemalloc's automatic arenas
 * with its thread caches, so the local policy costs next to nothing; each
 * CXL node and the interleave pattern get an arena whose extent hooks carve
 * memory from one reserved span and mbind it. A pointer inside the span
 * belongs to one of our arenas, which makes free's lookup a range check. */
#ifndef CXLMU_SRC_HEAP_H
#define CXLMU_SRC_HEAP_H

#include <stdatomic.h>

#include "callsite.h"
#include "internal.h"
#include "policy.h"
#include "profile.h"
#include "stats.h"
#include "topology.h"

struct cxlmu_heap_config {
	struct cxlmu_policy policy;
	struct cxlmu_policy fallback;  /* sites policy: for sites without a rule */
	bool profile;                  /* sampled blocks get an arena of their own */
	bool strict;
	bool check;                    /* heap checks (below) */
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

/* align: 0 for malloc's default, else a power of two. ra: the return
 * address of the intercepted call (its call site). NULL on failure, errno
 * untouched (preload/ sets it as the replaced call must). */
void *cxlmu_heap_alloc(size_t size, size_t align, bool zero, const void *ra);
/* The tier the policy gives a block of size bytes allocated from ra. */
enum cxlmu_tier cxlmu_heap_tier(size_t size, const void *ra);

/* Place a block on a given tier regardless of policy (public API). */
void *cxlmu_heap_alloc_tier(size_t size, size_t align, bool zero, enum cxlmu_tier tier);
void cxlmu_heap_free(void *p);
void *cxlmu_heap_realloc(void *p, size_t size, const void *ra);
size_t cxlmu_heap_usable_size(const void *p);

/* Merge the calling thread's counts into the totals (before a report). */
void cxlmu_heap_merge(void);
/* Have jemalloc start now, if it has not (before a seccomp filter). */
void cxlmu_heap_boot(void);
/* Build jemalloc's control tables now, if no mallctl has (some 40 page
 * faults): before the first fiber, whose host should not stall on them. */
void cxlmu_heap_build_ctl(void);
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
#define CXLMU_HEAP_SITE_CACHE 64

/* How malloc decides for a thread whose blocks are placed one by one. */
enum cxlmu_heap_decide {
	CXLMU_DECIDE_SLOW,       /* by the slow path */
	CXLMU_DECIDE_DRAM,       /* every block on DRAM: a profile, local policy */
	CXLMU_DECIDE_SITES,      /* DRAM for call sites cached in site_dram */
};

/* Per-thread heap state; owned by heap.c, read by the inline fast path. */
struct cxlmu_thread_heap {
	/* The inline paths, each taken below its size (0: not taken). While
	 * jemalloc reports the thread's activity (src/heap.c), they
	 * count each block and nothing else; its report turns them off until
	 * the next block on the bound path merges the counts and samples
	 * that block. Without the report they are off, and the countdown
	 * path below fast_small does that work every CXLMU_STATS_SAMPLE_EVERY
	 * blocks. */
	size_t tail_small;           /* a DRAM thread, heap checks off: malloc
				      * tail-calls jemalloc's */
	size_t cxl_small;            /* a CXL thread: malloc_cxl */
	size_t fast_small;           /* the countdown path below this... */
	size_t fast_limit;           /* ...the bound path below this; 0 when the
				      * policy decides per block */
	int *errno_p;                /* this thread's errno, without a call */
	uint32_t alloc_left;         /* countdown path blocks until the bound path */
	uint32_t alloc_batch;        /* ...counted down from this */
	uint64_t fast_allocs, fast_frees;  /* bound-tier blocks since the merge */
	int bound_ai;                /* fast-path arena: -1 DRAM, else cxl_ai */
	uintptr_t fast_lo, fast_len; /* free's fast range test: p may go to the
				      * thread's cache when p - lo < len
				      * (modulo 2^64, so one test says
				      * outside the span too); len 0: never */
	size_t arm_tail, arm_cxl;    /* tail_small, cxl_small, fast_small */
	size_t arm_small;            /* and fast_len when armed (src/heap.c, */
	uintptr_t arm_len;           /* "jemalloc's activity report") */
	unsigned reports;            /* jemalloc's activity reports... */
	bool activity;               /* ...which it makes for this thread */
	bool merge_due;              /* ...and has since the last merge */
	bool fast_free;              /* free may take the inline path */
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
	/* Per-block placement for a DRAM thread: call sites the sites policy
	 * sends to DRAM whatever the size, by return address (direct-mapped),
	 * valid for one generation of loaded modules. */
	uint8_t decide;              /* enum cxlmu_heap_decide */
	bool profile;
	uint32_t site_gen;
	uintptr_t site_dram[CXLMU_HEAP_SITE_CACHE];
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

/* Out of line: what the inline paths leave out. The bound path takes a
 * block of the bound tier when the countdown expires or jemalloc's
 * activity report is due: it counts, merges the counts now and then, and
 * samples the block for the page check. Large blocks always come here
 * (they are sampled).
 * cxlmu_heap_malloc_bound returns NULL, errno untouched, when the block is
 * not for the bound tier; cxlmu_heap_free_bound returns false likewise. */
void *cxlmu_heap_malloc_bound(size_t size, const void *ra);
bool cxlmu_heap_free_bound(void *p);


/* The inline paths end in a tail call to jemalloc's own malloc or free:
 * nothing of ours runs after it. That keeps the local policy within a few
 * per cent of jemalloc alone, and it is exact because jemalloc keeps the
 * libc contract there by itself: on failure it returns NULL with errno
 * ENOMEM, and its system calls (mmap, munmap, madvise, mprotect) are
 * redirected at link time to errno-neutral wrappers (src/jeos.c), so
 * success leaves errno alone. Only DRAM-bound threads tail-call: a
 * CXL-bound thread's NULL must reach the DRAM fallback. */

/* The countdown path: malloc for a thread whose every block goes to its
 * bound tier (local, or cxl) while its inline path is not armed (no
 * activity report, or the heap checks on). Returns false when the block
 * must take another path. */
static inline bool cxlmu_heap_fast_malloc_ok(size_t size)
{
	struct cxlmu_thread_heap *t = &cxlmu_heap_th;

	return likely(size < t->fast_small) && likely(--t->alloc_left != 0);
}

static inline unsigned cxlmu_heap_site_slot(const void *ra)
{
	return (unsigned)((uintptr_t)ra >> 2) % CXLMU_HEAP_SITE_CACHE;
}

/* malloc for a thread whose policy decides per block (the sites policy,
 * or a profile): whether this block may go straight to jemalloc's thread
 * cache on DRAM. It does when the decision is DRAM without a look at the
 * rules (cached for ra), the profile does not sample it, and the stats
 * countdown has not expired. */
static inline bool cxlmu_heap_decided_dram(size_t size, const void *ra)
{
	struct cxlmu_thread_heap *t = &cxlmu_heap_th;

	if (t->decide == CXLMU_DECIDE_SLOW || size >= CXLMU_STATS_SAMPLE_LARGE || size == 0)
		return false;
	if (t->decide == CXLMU_DECIDE_SITES &&
	    (t->site_dram[cxlmu_heap_site_slot(ra)] != (uintptr_t)ra ||
	     t->site_gen != cxlmu_callsite_generation()))
		return false;
	if (t->profile && cxlmu_profile_left <= (int64_t)size)
		return false;
	if (unlikely(--t->alloc_left == 0))
		return false;
	if (t->profile)
		cxlmu_profile_left -= (int64_t)size;
	return true;
}

/* Whether free(p) may tail-call jemalloc's free: a block of this thread's
 * bound tier, or NULL for a DRAM thread (the range test lets it through;
 * the caller returns without counting it). */
static inline bool cxlmu_heap_fast_free_ok(void *p)
{
	struct cxlmu_thread_heap *t = &cxlmu_heap_th;

	/* DRAM thread: outside our span; CXL thread: inside its node's
	 * arenas' slices; a thread not set up, without a fast path, with the
	 * heap checks on, or with an activity report due: never. */
	return likely((uintptr_t)p - t->fast_lo < t->fast_len);
}

/* ----------------------------------------------------------------------- */
/* Heap checks: a double free and a misaligned free abort, as in glibc      */
/* ----------------------------------------------------------------------- */

/* free() writes a per-process random key into the first word of a block
 * before it hands the block to jemalloc, and every block handed to the
 * program leaves with that word cleared (calloc's zeroing clears it too).
 * So a block whose first word holds the key when it is freed was freed
 * before and not handed out since: a double free, wherever the block now is
 * (this thread's cache, another's, an arena). jemalloc writes nothing into
 * a freed block, so the key stays until the block is handed out again or
 * its page is purged. A valid program cannot produce the key: it is random
 * and odd (no pointer is), and only freed blocks hold it. Every block
 * jemalloc makes is at least 8 bytes and 8-aligned, so a pointer that is not
 * is no block's: the cheap part of glibc's "invalid pointer" test. An
 * 8-aligned interior pointer is not caught (docs/backend.md, "Heap checks").
 *
 * The key is 0 when the checks are off (--heap-check=off, or auto outside
 * a secure-execution process); then free marks nothing. While it is not, every allocation path
 * clears the word: the slow paths always do; the inline ones (a DRAM
 * thread's tail call, tail_small; a CXL thread's malloc_cxl) only skip it
 * while the key is 0. So the checks may be turned off at any time, and on
 * only before the threads are set up: the key starts on (a constant), and
 * cxlmu_heap_init only replaces it by a random one or by 0. */
#define CXLMU_HEAP_MIN_ALIGN 8

/* A block's first word, read and written in place (preload/ is built with
 * -fno-builtin, where memcpy and memset would be calls). */
typedef uint64_t __attribute__((may_alias)) cxlmu_heap_word_t;

extern _Atomic uint64_t cxlmu_heap_key;

/* What the checks found, and the line cxlmu_heap_bad_free writes (with
 * write(2), as "cxlmu: LINE (P)") before it aborts. */
enum cxlmu_heap_bad {
	CXLMU_HEAP_OK,
	CXLMU_HEAP_BAD_FREE,        /* "free(): invalid pointer" */
	CXLMU_HEAP_FREED_FREE,      /* "free(): double free detected" */
	CXLMU_HEAP_BAD_REALLOC,     /* "realloc(): invalid pointer" */
	CXLMU_HEAP_FREED_REALLOC,   /* "realloc(): block already freed" */
};
/* Never returns. Not declared noreturn so that free can reach it by a tail
 * call and keep its fast path without a stack frame. */
cxlmu_cold void cxlmu_heap_bad_free(enum cxlmu_heap_bad what, const void *p);

static inline uint64_t cxlmu_heap_key_now(void)
{
	return atomic_load_explicit(&cxlmu_heap_key, memory_order_relaxed);
}

/* The test itself: CXLMU_HEAP_OK when p may be a live block, else why not
 * (bad, or bad + 1 for a block freed). p is not NULL, key not 0. realloc
 * tests with bad = CXLMU_HEAP_BAD_REALLOC, free with CXLMU_HEAP_BAD_FREE. */
static inline enum cxlmu_heap_bad cxlmu_heap_test(enum cxlmu_heap_bad bad, const void *p,
						  uint64_t key)
{
	if (unlikely((uintptr_t)p & (CXLMU_HEAP_MIN_ALIGN - 1)))
		return bad;
	if (unlikely(*(const cxlmu_heap_word_t *)p == key))
		return bad + 1;
	return CXLMU_HEAP_OK;
}

/* free(p), p not NULL: test p and mark it freed; what the test found (the
 * caller then hands it to cxlmu_heap_bad_free). */
static inline enum cxlmu_heap_bad cxlmu_heap_mark_freed(void *p)
{
	uint64_t key = cxlmu_heap_key_now();
	enum cxlmu_heap_bad bad = CXLMU_HEAP_OK;

	if (likely(key)) {
		bad = cxlmu_heap_test(CXLMU_HEAP_BAD_FREE, p, key);
		if (likely(!bad))
			*(cxlmu_heap_word_t *)p = key;
	}
	return bad;
}

/* A block about to be handed to the program (not one jemalloc zeroed):
 * clear the key a previous life may have left in it. */
static inline void *cxlmu_heap_fresh(void *p)
{
	if (likely(p))
		*(cxlmu_heap_word_t *)p = 0;
	return p;
}

#endif
