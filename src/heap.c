/* The heap: tier choice per block and the jemalloc arenas behind each tier.
 *
 * DRAM tier: jemalloc's automatic arenas. CXL tier: a few arenas per CXL
 * node (one per CPU, up to 16). Interleave tier: one arena whose memory
 * alternates D units on DRAM and C units on CXL by address.
 * Our arenas take memory only from their slice of one PROT_NONE reservation
 * (the span); the extent hook makes a piece read-write and mbinds it before
 * jemalloc ever touches it, and a pointer's slice names its arena.
 *
 * Fast path. Each thread is bound to one tier: DRAM, or under the cxl
 * policy its CXL arena (jemalloc's thread.arena). Blocks of the bound tier
 * go through jemalloc's own malloc and free with its thread cache, and
 * their bytes are taken from jemalloc's per-thread allocated/deallocated
 * counters when the thread's batch is merged: the hot path adds only an
 * event count. Blocks of any other tier take the explicit path: mallocx
 * with the arena and a per-thread explicit tcache for that arena (so cached
 * blocks never cross tiers), and exact per-block accounting.
 *
 * Main entry points: cxlmu_heap_alloc, cxlmu_heap_free, cxlmu_heap_realloc. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <numaif.h>
#include <jemalloc/jemalloc.h>

#include "heap.h"
#include "log.h"
#include "prim.h"
#include "profile.h"
#include "sandbox.h"
#include "sites.h"
#include "stats.h"

#define MAX_ARENAS  CXLMU_HEAP_MAX_ARENAS  /* CXL arenas over all nodes, + interleave */
#define MAX_PER_NODE 16
#define MERGE_EVENTS CXLMU_HEAP_MERGE_EVENTS
#define SAMPLE_BATCH CXLMU_STATS_SAMPLE_EVERY  /* inline events per countdown */
#define ACTIVITY_EVERY 16   /* jemalloc reports (64 KiB each) per merge */
#define MAX_CPUS    1024
#define STRICT_GROW_LIMIT (16 * CXLMU_MiB)

struct arena {
	extent_hooks_t hooks;        /* first: the hook gets a pointer to it */
	unsigned je_index;           /* jemalloc arena index */
	enum cxlmu_tier tier;
	unsigned node;               /* CXL tier: its node */
	uintptr_t base, end;         /* slice of the span */
	_Atomic uintptr_t cursor;    /* next free byte of the slice */
};

static struct {
	struct cxlmu_policy policy;  /* in force */
	struct cxlmu_policy fallback; /* sites: for sites without a rule */
	struct cxlmu_policy weave;   /* the interleave policy, when one is used */
	bool profile;                /* sampling: sampled blocks in profile_arena */
	int profile_arena;
	bool strict;
	bool bind_threads;           /* cxl policy: threads bound to CXL arenas */
	cxlmu_nodemask_t cxl, dram;
	cxlmu_nodemask_t dram_meant;  /* where DRAM-tier pages may be */
	unsigned cxl_nodes[CXLMU_MAX_NODES];
	unsigned ncxl;
	unsigned per_node;           /* CXL arenas per CXL node */
	uintptr_t span_base, span_end;
	unsigned span_shift;
	unsigned narenas;
	struct arena arena[MAX_ARENAS];
	int interleave_arena;        /* index, -1 when none */
	int first_arena_of_node[CXLMU_MAX_NODES];
	uint8_t cpu_node[MAX_CPUS];
	uint8_t nearest_cxl[CXLMU_MAX_NODES];  /* CXL node per home node */
	size_t oversize;             /* jemalloc sends these to its huge arena */
	_Atomic bool arena0_set;     /* arena 0's early purge set (large_block) */
	_Atomic bool ctl_ready;      /* jemalloc's control tables are built */
	_Atomic unsigned thread_seq;
} heap = { .oversize = SIZE_MAX };

CXLMU_TLS struct cxlmu_thread_heap cxlmu_heap_th;
#define th cxlmu_heap_th
static pthread_key_t exit_key;   /* its destructor returns a thread's caches */
static bool exit_key_ok;

/* ----------------------------------------------------------------------- */
/* Heap checks (heap.h): the key freed blocks carry                          */
/* ----------------------------------------------------------------------- */

/* On from the first allocation; cxlmu_heap_init replaces it by a random key,
 * or 0 when the checks are off. A new key is safe at any time: blocks
 * marked with the old one are only not recognised any more. */
_Atomic uint64_t cxlmu_heap_key = 0x9e3779b97f4a7c15ull;

static void seed_key(bool on)
{
	uint64_t k;

	if (!on) {
		atomic_store_explicit(&cxlmu_heap_key, 0, memory_order_relaxed);
		return;
	}
	if (cxlmu_prim_random(&k, sizeof(k))) {
		/* No getrandom (Linux < 3.17): something that differs per run. */
		k = cxlmu_prim_now() ^ ((uint64_t)(uintptr_t)&k << 16) ^ (uint64_t)getpid();
		k ^= k >> 33;
		k *= 0xff51afd7ed558ccdull;
		k ^= k >> 33;
	}
	/* Odd: never an aligned pointer, never zero. */
	atomic_store_explicit(&cxlmu_heap_key, k | 1, memory_order_relaxed);
}

void cxlmu_heap_bad_free(enum cxlmu_heap_bad what, const void *p)
{
	static const char *const line[] = {
		[CXLMU_HEAP_OK] = "heap check",
		[CXLMU_HEAP_BAD_FREE] = "free(): invalid pointer",
		[CXLMU_HEAP_FREED_FREE] = "free(): double free detected",
		[CXLMU_HEAP_BAD_REALLOC] = "realloc(): invalid pointer",
		[CXLMU_HEAP_FREED_REALLOC] = "realloc(): block already freed",
	};

	char buf[96];
	int n = snprintf(buf, sizeof(buf), "cxlmu: %s (%p)\n", line[what], p);

	/* Written even in a secure-execution process, which prints nothing
	 * else: glibc says as much there, and the line holds nothing from
	 * outside. */
	cxlmu_write_all(STDERR_FILENO, buf, n > 0 && n < (int)sizeof(buf) ? (size_t)n : 0);
	abort();
}


#ifdef CXLMU_JEMALLOC_STATIC
/* Defaults for the jemalloc linked in (its own malloc_conf is weak; the
 * MALLOC_CONF environment variable still overrides). Its thread cache
 * stops at 32 KiB by default, which sends every 64-256 KiB block to the
 * arena: caching up to 256 KiB, 8 blocks per size class (at most about
 * 12 MiB per thread, returned by jemalloc's cache GC when idle), makes
 * such blocks 2.5x faster with 2 threads (bench/run-alloc.sh).
 *
 * Blocks of 8 MiB and more (jemalloc's default oversize threshold) would
 * go to a huge arena that purges them the moment they are freed, and a
 * freed extent of that size, once coalesced, is purged at once in any
 * arena: a program that replaces large buffers faults every page of each
 * in again (5.7x slower than glibc in issue 20's case; 12x here, where a
 * page fault costs 12 us), while glibc keeps blocks up to 32 MiB in its
 * heap (its largest mmap threshold) and trims the heap's top only beyond
 * 64 MiB. The threshold is 64 MiB here, as glibc's trim threshold: larger
 * blocks are returned to the kernel as soon as they are freed, as glibc
 * unmaps them; smaller ones stay for reuse until jemalloc's decay (10 s)
 * purges them. The cost: up to 64 MiB of freed memory per free region
 * may stay resident for those seconds (bench/run-peers.sh). */
const char *malloc_conf = "tcache_max:262144,tcache_nslots_large:8,oversize_threshold:67108864";
#endif

/* ----------------------------------------------------------------------- */
/* Binding                                                                   */
/* ----------------------------------------------------------------------- */

static int bind_mode(void)
{
	return heap.strict ? MPOL_BIND : MPOL_PREFERRED;
}

/* Node of interleave unit u (global unit index from the span slice base):
 * the policy says whether the unit is CXL; CXL units rotate over the CXL
 * nodes in the order they come. */
static int unit_node(uint64_t u, bool *is_cxl)
{
	const struct cxlmu_policy *p = &heap.weave;
	unsigned period = p->dram_weight + p->cxl_weight;
	uint64_t j;

	*is_cxl = cxlmu_policy_unit_is_cxl(p, u);
	if (!*is_cxl)
		return -1;   /* DRAM: wherever the faulting thread is local */
	/* The index of this unit among CXL units. */
	j = (u / period) * p->cxl_weight + (u % period - p->dram_weight);
	return (int)heap.cxl_nodes[j % heap.ncxl];
}

/* mbind [a, a+len) of the interleave pattern counted from origin. */
static int bind_interleave(uintptr_t origin, uintptr_t a, size_t len)
{
	uintptr_t end = a + len;
	int ret = 0;

	while (a < end) {
		bool cxl;
		uint64_t u = (a - origin) / CXLMU_INTERLEAVE_UNIT;
		int node = unit_node(u, &cxl);
		uintptr_t run_end = origin + (u + 1) * CXLMU_INTERLEAVE_UNIT;
		/* Extend over following units with the same target. */
		for (;;) {
			bool c2;
			if (run_end >= end || unit_node((run_end - origin) / CXLMU_INTERLEAVE_UNIT, &c2) != node)
				break;
			run_end += CXLMU_INTERLEAVE_UNIT;
		}
		if (run_end > end)
			run_end = end;
		int r = cxl ? cxlmu_prim_mbind((void *)a, run_end - a, bind_mode(), 1ull << node)
			    : cxlmu_prim_mbind((void *)a, run_end - a, MPOL_LOCAL, 0);
		if (r)
			ret = r;
		a = run_end;
	}
	return ret;
}

static int bind_arena_piece(struct arena *ar, uintptr_t a, size_t len)
{
	/* Under a seccomp filter: no mbind the program did not make. */
	if (ar->tier == CXLMU_TIER_DRAM || cxlmu_sandboxed())
		return 0;   /* the profile's arena: where DRAM blocks go anyway */
	if (ar->tier == CXLMU_TIER_INTERLEAVE)
		return bind_interleave(ar->base, a, len);
	return cxlmu_prim_mbind((void *)a, len, bind_mode(), 1ull << ar->node);
}

/* ----------------------------------------------------------------------- */
/* Extent hooks: jemalloc asks our arenas for memory here                   */
/* ----------------------------------------------------------------------- */

/* Whether node has size bytes free beyond a reserve of 1/16 of it (at
 * least 16 MiB), by its meminfo; raw reads, as everywhere on this path.
 * The reserve keeps a bound allocation away from the node's watermarks,
 * where the kernel would call the OOM killer rather than fail the fault. */
static bool node_can_hold(unsigned node, size_t size)
{
	char path[64], buf[2048];
	const char *p;
	uint64_t total = 0, free_kb = 0;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/meminfo", node);
	if (cxlmu_prim_read_file(path, buf, sizeof(buf)) <= 0)
		return true;   /* cannot tell: let the kernel decide */
	if ((p = strstr(buf, "MemTotal:")))
		total = strtoull(p + 9, NULL, 10);
	if ((p = strstr(buf, "MemFree:")))
		free_kb = strtoull(p + 8, NULL, 10);
	uint64_t reserve = total * 1024 / 16;
	if (reserve < 16 * CXLMU_MiB)
		reserve = 16 * CXLMU_MiB;
	return free_kb * 1024 >= size + reserve;
}

static void *hook_alloc(extent_hooks_t *h, void *new_addr, size_t size,
			size_t alignment, bool *zero, bool *commit, unsigned ind)
{
	struct arena *ar = (struct arena *)h;
	uintptr_t cur = atomic_load_explicit(&ar->cursor, memory_order_relaxed);
	uintptr_t start, end;
	int r;

	if (alignment < cxlmu_prim_page_size())
		alignment = cxlmu_prim_page_size();
	do {
		if (new_addr && (uintptr_t)new_addr != cur)
			return NULL;
		start = (cur + alignment - 1) & ~(uintptr_t)(alignment - 1);
		end = start + size;
		if (end < start || end > ar->end)
			return NULL;
	} while (!atomic_compare_exchange_weak_explicit(&ar->cursor, &cur, end,
			memory_order_relaxed, memory_order_relaxed));

	if (cxlmu_prim_mprotect((void *)start, size, PROT_READ | PROT_WRITE))
		return NULL;
	r = bind_arena_piece(ar, start, size);
	if (r) {
		cxlmu_stats_count_bind_error();
		if (heap.strict)
			goto fail;
	}
	/* A strict bind must fail here, at allocation, not with the OOM killer
	 * at first touch: refuse what the node cannot hold, then fault the pages
	 * in now (MADV_POPULATE_WRITE, Linux 5.14; older kernels skip it). */
	if (heap.strict && ar->tier == CXLMU_TIER_CXL && !cxlmu_sandboxed() &&
	    !node_can_hold(ar->node, size))
		goto fail;
	if (heap.strict && cxlmu_prim_madvise((void *)start, size, MADV_POPULATE_WRITE) == -ENOMEM)
		goto fail;
	*zero = true;
	*commit = true;
	return (void *)start;
fail:
	/* The slice cannot be handed back (the cursor moved on); drop its pages. */
	cxlmu_prim_madvise((void *)start, size, MADV_DONTNEED);
	cxlmu_prim_mprotect((void *)start, size, PROT_NONE);
	return NULL;
}

static bool hook_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind)
{
	return true;   /* opt out: jemalloc retains the range and reuses it */
}

static void hook_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind)
{
	cxlmu_prim_madvise(addr, size, MADV_DONTNEED);
}

static bool hook_commit(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind)
{
	return false;  /* always committed */
}

static bool hook_decommit(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind)
{
	return true;   /* refuse: jemalloc purges instead */
}

static bool hook_purge_lazy(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind)
{
	return cxlmu_prim_madvise((char *)addr + off, len, MADV_FREE) != 0;
}

static bool hook_purge_forced(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind)
{
	/* The VMA keeps its policy, so pages faulted back land where bound. */
	return cxlmu_prim_madvise((char *)addr + off, len, MADV_DONTNEED) != 0;
}

static bool hook_split(extent_hooks_t *h, void *addr, size_t size, size_t a, size_t b, bool committed, unsigned ind)
{
	return false;
}

static bool hook_merge(extent_hooks_t *h, void *a, size_t sa, void *b, size_t sb, bool committed, unsigned ind)
{
	return false;
}

static const extent_hooks_t hooks_template = {
	hook_alloc, hook_dalloc, hook_destroy, hook_commit, hook_decommit,
	hook_purge_lazy, hook_purge_forced, hook_split, hook_merge,
};

/* ----------------------------------------------------------------------- */
/* Set-up                                                                    */
/* ----------------------------------------------------------------------- */

static void thread_exit_cb(void *unused);
static void thread_exit(void);
static void make_exit_key(void);
static void merge(void);

/* ----------------------------------------------------------------------- */
/* jemalloc's activity report                                               */
/* ----------------------------------------------------------------------- */

/* jemalloc (5.3 on) calls a thread's activity callback each time the
 * thread has allocated, or freed, another 64 KiB (its peak tracking
 * event), from inside that malloc or free. Once it does, the inline paths
 * only count blocks: the report disarms them, so the thread's next malloc
 * and next free take the bound path, which merges the counts there, where
 * no accounting of ours is half done (the report may come from inside an
 * explicit-path call, whose accounting follows it), and samples the block.
 * A thread without the report (before jemalloc's control tables exist, or
 * a jemalloc without it) takes the countdown path instead. */

/* jemalloc's activity_callback_thunk_t (internal; the mallctl checks the
 * size). */
struct activity_thunk {
	void (*callback)(void *uctx, uint64_t allocated, uint64_t deallocated);
	void *uctx;
};

static void activity(void *uctx, uint64_t allocated, uint64_t deallocated)
{
	(void)uctx;
	(void)allocated;
	(void)deallocated;
	/* Every 64 KiB the bound path's work would cost a small-block
	 * program some 8 %: one report in ACTIVITY_EVERY (1 MiB) is acted on. */
	if (++th.reports % ACTIVITY_EVERY != 1 && uctx)
		return;
	th.merge_due = true;
	th.tail_small = th.cxl_small = th.fast_small = 0;
	th.fast_len = 0;
}

static bool activity_start(void)
{
	/* uctx is not NULL: set-up calls activity() directly with NULL. */
	struct activity_thunk t = { activity, &heap };

	return !mallctl("experimental.thread.activity_callback", NULL, NULL, &t, sizeof(t));
}

/* The report is due (or the thread was just set up): arm the paths again,
 * and merge. */
static cxlmu_noinline void activity_due(void)
{
	th.merge_due = false;
	th.fast_small = th.arm_small;
	/* Without the report, free's inline path would count with nothing to
	 * merge its counts: frees take the bound path, which merges every
	 * MERGE_EVENTS (and, once jemalloc's tables exist, starts the
	 * report: counters()). */
	th.fast_len = th.activity ? th.arm_len : 0;
	th.tail_small = th.activity ? th.arm_tail : 0;
	th.cxl_small = th.activity ? th.arm_cxl : 0;
	if (th.activity)
		merge();
}

/* No inline path, now or when armed. */
static void disarm_all(void)
{
	th.fast_limit = 0;
	th.arm_small = th.arm_tail = th.arm_cxl = 0;
	th.arm_len = 0;
	th.tail_small = th.cxl_small = th.fast_small = 0;
	th.fast_len = 0;
}

static int add_arena(enum cxlmu_tier tier, unsigned node)
{
	struct arena *ar = &heap.arena[heap.narenas];
	extent_hooks_t *hp = &ar->hooks;
	size_t sz = sizeof(unsigned);
	unsigned ind;
	int r;

	ar->hooks = hooks_template;
	ar->tier = tier;
	ar->node = node;
	r = mallctl("arenas.create", &ind, &sz, &hp, sizeof(hp));
	if (r)
		return -r;
	ar->je_index = ind;
	if (heap.strict) {
		/* jemalloc grows its requests geometrically; under a hard bind
		 * that would refuse a large extent while the node still has
		 * room for the blocks asked for. Keep requests small. */
		char name[64];
		size_t limit = STRICT_GROW_LIMIT;
		snprintf(name, sizeof(name), "arena.%u.retain_grow_limit", ind);
		mallctl(name, NULL, NULL, &limit, sizeof(limit));
	}
	return (int)heap.narenas++;
}

static int reserve_span(unsigned narenas)
{
	struct rlimit as;
	size_t cap = SIZE_MAX;

	/* Virtual space is cheap; physical pages come only on touch. Start at
	 * 1 TiB per arena and halve while the kernel refuses. Under an
	 * address-space limit, take at most a quarter of it. */
	if (!cxlmu_sandboxed() && !getrlimit(RLIMIT_AS, &as) && as.rlim_cur != RLIM_INFINITY)
		cap = as.rlim_cur / 4;
	for (unsigned shift = 40; shift >= 26; shift--) {
		size_t len = (size_t)narenas << shift;
		if (len > cap && shift > 26)
			continue;
		void *p = cxlmu_prim_mmap(NULL, len, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (cxlmu_prim_failed(p))
			continue;
		heap.span_base = (uintptr_t)p;
		heap.span_end = heap.span_base + len;
		heap.span_shift = shift;
		for (unsigned i = 0; i < narenas; i++) {
			heap.arena[i].base = heap.span_base + ((uintptr_t)i << shift);
			heap.arena[i].end = heap.arena[i].base + ((uintptr_t)1 << shift);
			atomic_store(&heap.arena[i].cursor, heap.arena[i].base);
		}
		return 0;
	}
	return -ENOMEM;
}

static void map_cpus(const struct cxlmu_topology *t)
{
	for (unsigned n = 0; n < CXLMU_MAX_NODES; n++) {
		const char *s = t->node[n].cpulist;
		if (!(t->has_cpu & (1ull << n)))
			continue;
		while (*s >= '0' && *s <= '9') {
			unsigned lo = 0, hi;
			for (; *s >= '0' && *s <= '9'; s++)
				lo = lo * 10 + (unsigned)(*s - '0');
			hi = lo;
			if (*s == '-')
				for (hi = 0, s++; *s >= '0' && *s <= '9'; s++)
					hi = hi * 10 + (unsigned)(*s - '0');
			for (unsigned c = lo; c <= hi && c < MAX_CPUS; c++)
				heap.cpu_node[c] = (uint8_t)n;
			if (*s == ',')
				s++;
		}
	}
}

static unsigned count_cpus(const struct cxlmu_topology *t)
{
	unsigned n = 0;
	for (unsigned i = 0; i < CXLMU_MAX_NODES; i++)
		n += t->node[i].ncpus;
	return n ? n : 1;
}

int cxlmu_heap_init(const struct cxlmu_heap_config *cfg)
{
	const struct cxlmu_topology *t = cfg->topo;
	size_t sz = sizeof(heap.oversize);
	unsigned want, per_node;
	int r;

	bool weave;

	make_exit_key();   /* before anything calls into jemalloc */
	seed_key(cfg->check);
	heap.policy.kind = CXLMU_POLICY_LOCAL;
	heap.interleave_arena = -1;
	heap.profile_arena = -1;
	heap.strict = cfg->strict;
	heap.cxl = cfg->cxl;
	heap.dram = cfg->dram;
	/* Emulation on a one-node machine: DRAM and "CXL" are the same node. */
	heap.dram_meant = cfg->dram ? cfg->dram : t->has_memory;
	map_cpus(t);
	/* The calling thread may have allocated before start-up: set it up
	 * again now that the tiers are known. */
	th.ready = false;
	disarm_all();
	/* CXL arenas exist whenever CXL nodes do, so cxlmu_malloc_on() can
	 * place blocks even under the local policy; a profile needs the span
	 * for its sampled blocks even without CXL. */
	if (!cfg->cxl && !cfg->profile)
		return 0;
	if (mallctl("opt.oversize_threshold", &heap.oversize, &sz, NULL, 0) || !heap.oversize)
		heap.oversize = SIZE_MAX;

	for (unsigned n = 0; n < CXLMU_MAX_NODES; n++)
		if (cfg->cxl & (1ull << n))
			heap.cxl_nodes[heap.ncxl++] = n;
	/* Several arenas per node, as jemalloc has several automatic ones, so
	 * threads do not queue on one arena's locks. */
	per_node = 0;
	if (heap.ncxl) {
		per_node = count_cpus(t);
		if (per_node > MAX_PER_NODE)
			per_node = MAX_PER_NODE;
		if (per_node > (MAX_ARENAS - 2) / heap.ncxl)
			per_node = (MAX_ARENAS - 2) / heap.ncxl;
		if (!per_node)
			return -E2BIG;
	}
	heap.per_node = per_node;
	/* The interleave arena serves the interleave policy, or a sites
	 * policy falling back to it. */
	weave = heap.ncxl && (cfg->policy.kind == CXLMU_POLICY_INTERLEAVE ||
			      (cfg->policy.kind == CXLMU_POLICY_SITES &&
			       cfg->fallback.kind == CXLMU_POLICY_INTERLEAVE));
	want = heap.ncxl * per_node + weave + cfg->profile;
	r = reserve_span(want);
	if (r)
		goto fail;
	/* Interleave needs the policy's weights before its first extent. */
	heap.weave = cfg->policy.kind == CXLMU_POLICY_INTERLEAVE ? cfg->policy : cfg->fallback;
	for (unsigned i = 0; i < heap.ncxl; i++) {
		for (unsigned k = 0; k < per_node; k++) {
			r = add_arena(CXLMU_TIER_CXL, heap.cxl_nodes[i]);
			if (r < 0)
				goto fail;
			if (!k)
				heap.first_arena_of_node[heap.cxl_nodes[i]] = r;
		}
	}
	if (weave) {
		r = add_arena(CXLMU_TIER_INTERLEAVE, 0);
		if (r < 0)
			goto fail;
		heap.interleave_arena = r;
	}
	if (cfg->profile) {
		r = add_arena(CXLMU_TIER_DRAM, 0);
		if (r < 0)
			goto fail;
		heap.profile_arena = r;
	}
	/* Each home node uses its nearest CXL node (ties: the lowest). */
	for (unsigned h = 0; h < CXLMU_MAX_NODES; h++) {
		unsigned best = 0;
		for (unsigned i = 1; i < heap.ncxl; i++)
			if (t->node[h].distance[heap.cxl_nodes[i]] <
			    t->node[h].distance[heap.cxl_nodes[best]])
				best = i;
		heap.nearest_cxl[h] = (uint8_t)heap.cxl_nodes[best];
	}
	/* A profile needs every free of a block in the span to reach the
	 * heap (sampled blocks are there): no thread binding then. */
	heap.bind_threads = cfg->policy.kind == CXLMU_POLICY_CXL && !cfg->profile;
	heap.fallback = cfg->fallback;
	heap.profile = cfg->profile;
	heap.policy = cfg->policy;
	return 0;
fail:
	/* No CXL tier at all rather than a half-built one: the span stays
	 * reserved (nothing points into it) and the policy is local. */
	heap.ncxl = 0;
	heap.per_node = 0;
	heap.interleave_arena = -1;
	heap.profile_arena = -1;
	heap.policy.kind = CXLMU_POLICY_LOCAL;
	heap.span_base = heap.span_end = 0;
	return r;
}

const struct cxlmu_policy *cxlmu_heap_policy(void)
{
	return &heap.policy;
}

void cxlmu_heap_span(uintptr_t *base, uintptr_t *end)
{
	*base = heap.span_base;
	*end = heap.span_end;
}

/* ----------------------------------------------------------------------- */
/* Per-thread state                                                          */
/* ----------------------------------------------------------------------- */

/* Our thread-exit key must come before jemalloc's, which jemalloc makes
 * when it starts: glibc runs key destructors in key order, and ours has
 * to drop the thread's CXL binding while jemalloc still serves the thread
 * from it (after its own cleanup it serves arena 0). So it is made in the
 * first allocation of the process, before jemalloc is first called. */
static void create_exit_key(void)
{
	exit_key_ok = pthread_key_create(&exit_key, thread_exit_cb) == 0;
}

static void make_exit_key(void)
{
	static _Atomic int once;

	cxlmu_prim_once(&once, create_exit_key);
}

static bool counters(void);

static cxlmu_noinline void thread_setup(void)
{
	int cpu = cxlmu_prim_getcpu();
	unsigned home = cpu >= 0 && cpu < MAX_CPUS ? heap.cpu_node[cpu] : 0;

	make_exit_key();

	if (!(heap.dram & (1ull << home)) && heap.dram)
		home = (unsigned)__builtin_ctzll(heap.dram);
	th.home = (uint8_t)home;
	th.cxl_ai = -1;
	th.bound_ai = -1;
	th.bound_tier = CXLMU_TIER_DRAM;
	th.bound_node = home;
	if (heap.ncxl) {
		unsigned node = heap.nearest_cxl[home];
		unsigned seq = atomic_fetch_add_explicit(&heap.thread_seq, 1, memory_order_relaxed);
		th.cxl_ai = heap.first_arena_of_node[node] + (int)(seq % heap.per_node);
	}
	if (heap.bind_threads && th.cxl_ai >= 0) {
		unsigned ind = heap.arena[th.cxl_ai].je_index;
		if (!mallctl("thread.arena", NULL, NULL, &ind, sizeof(ind))) {
			/* Blocks cached before the binding are DRAM blocks. */
			mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
			th.bound_ai = th.cxl_ai;
			th.bound_tier = CXLMU_TIER_CXL;
			th.bound_node = heap.arena[th.cxl_ai].node;
		}
	}
	/* jemalloc's counters count from the thread's start; they are found
	 * at the first merge (counters()). A thread set up again keeps
	 * counting from here. */
	if (!th.je_alloc) {
		th.counted = true;
		th.last_alloc = th.last_dealloc = 0;
		/* Once the tables are built a lookup is cheap: made here, as
		 * it always was, not in a burst of thread exits. */
		if (atomic_load_explicit(&heap.ctl_ready, memory_order_relaxed))
			counters();
	}
	if (th.je_alloc) {
		th.last_alloc = *th.je_alloc;
		th.last_dealloc = *th.je_dealloc;
	}
	th.fast_allocs = th.fast_frees = 0;
	th.x_alloc = th.x_free = 0;
	th.errno_p = &errno;
	/* The first block takes the bound path, so it is sampled. */
	th.alloc_left = th.alloc_batch = 1;
	/* Every block of a local thread is DRAM; every block of a cxl thread
	 * is CXL below jemalloc's oversize threshold. Other policies decide
	 * per block. Counts need jemalloc's counters. */
	th.fast_limit = 0;
	if (th.counted && heap.policy.kind == CXLMU_POLICY_LOCAL && !heap.profile)
		th.fast_limit = SIZE_MAX;
	else if (th.counted && heap.policy.kind == CXLMU_POLICY_CXL && th.bound_ai >= 0)
		th.fast_limit = heap.oversize;
	/* Blocks free() may hand to the thread cache: for a DRAM thread, any
	 * outside the span, whatever the policy (blocks it places elsewhere
	 * and a profile's sampled blocks are inside); for a CXL thread, those
	 * of its node's arenas, which are adjacent slices of the span; none
	 * without jemalloc's counters or, for a CXL thread, a fast path. */
	th.fast_free = th.counted && (th.bound_ai < 0 || th.fast_limit);
	/* The inline test is p - lo < len modulo 2^64: for a DRAM thread lo
	 * is the span's end and len 2^64 less the span's length, which holds
	 * for every address but the span's (and for NULL: the span is not at
	 * 0). With the heap checks on, free tests and marks each block first,
	 * out of line: no inline free then. */
	th.fast_lo = th.arm_len = 0;
	if (!th.fast_free || cxlmu_heap_key_now()) {
		/* never */
	} else if (th.bound_ai >= 0) {
		int first = heap.first_arena_of_node[th.bound_node];
		th.fast_lo = heap.arena[first].base;
		th.arm_len = (uintptr_t)heap.per_node << heap.span_shift;
	} else if (heap.span_end > heap.span_base) {
		th.fast_lo = heap.span_end;
		th.arm_len = heap.span_base - heap.span_end;
	} else {
		th.arm_len = UINTPTR_MAX;   /* no span: all but the last byte */
	}
	th.fast_small = th.fast_limit < CXLMU_STATS_SAMPLE_LARGE ? th.fast_limit
								  : CXLMU_STATS_SAMPLE_LARGE;
	th.arm_small = th.fast_small;
	/* With the heap checks on, malloc clears the block it returns: no
	 * tail call (preload/malloc.c). */
	th.arm_tail = th.bound_ai < 0 && !cxlmu_heap_key_now() ? th.fast_small : 0;
	th.arm_cxl = th.bound_ai >= 0 && !cxlmu_heap_key_now() ? th.fast_small : 0;
	/* Armed as the first report due: the first block is sampled. */
	th.activity = th.je_alloc && activity_start();
	activity(NULL, 0, 0);
	/* Per-block decisions a DRAM thread can make inline (malloc). */
	th.decide = CXLMU_DECIDE_SLOW;
	th.profile = heap.profile;
	if (th.fast_free && th.bound_ai < 0 && !th.fast_limit) {
		if (heap.policy.kind == CXLMU_POLICY_LOCAL)
			th.decide = CXLMU_DECIDE_DRAM;
		else if (heap.policy.kind == CXLMU_POLICY_SITES)
			th.decide = CXLMU_DECIDE_SITES;
	}
	th.ready = true;
	/* Keys below PTHREAD_KEY_2NDLEVEL_SIZE need no allocation to set, and
	 * ours is made before the application can make any. */
	if (exit_key_ok)
		pthread_setspecific(exit_key, (void *)1);
}

/* jemalloc flags for an explicit-path call on arena ai: the arena, and this
 * thread's own cache for it (none for its bound arena's oversize blocks,
 * which no cache holds). ai < 0: an automatic DRAM arena, uncached, for a
 * thread bound elsewhere. */
static int arena_flags(int ai)
{
	int flags;

	if (ai < 0)
		return MALLOCX_ARENA(0) | MALLOCX_TCACHE_NONE;
	flags = MALLOCX_ARENA(heap.arena[ai].je_index);
	if (ai == th.bound_ai)
		return flags | MALLOCX_TCACHE_NONE;
	if (likely(th.tcache[ai]))
		return flags | MALLOCX_TCACHE(th.tcache[ai] - 1);
	if (!th.exiting) {
		unsigned tc;
		size_t sz = sizeof(tc);
		if (!mallctl("tcache.create", &tc, &sz, NULL, 0)) {
			th.tcache[ai] = tc + 1;
			return flags | MALLOCX_TCACHE(tc);
		}
	}
	return flags | MALLOCX_TCACHE_NONE;
}

/* jemalloc's per-thread byte counters, looked up on first use rather
 * than at thread set-up: the first mallctl of a process builds jemalloc's
 * control tables (some 40 pages, each a page fault), which a short
 * process that never merges its counts does without. False, for good,
 * where this jemalloc keeps no counters (built without stats): the
 * thread's fast-path bytes then go uncounted. */
static bool counters(void)
{
	size_t sz = sizeof(th.je_alloc);

	if (likely(th.je_alloc) || !th.counted)
		return th.counted;
	if (mallctl("thread.allocatedp", &th.je_alloc, &sz, NULL, 0) ||
	    mallctl("thread.deallocatedp", &th.je_dealloc, &sz, NULL, 0)) {
		th.je_alloc = th.je_dealloc = NULL;
		th.counted = false;
	}
	atomic_store_explicit(&heap.ctl_ready, true, memory_order_relaxed);
	/* A thread that counted down until now has the reports from here. */
	if (th.counted && th.ready && !th.activity && activity_start()) {
		th.activity = true;
		activity(NULL, 0, 0);
	}
	return th.counted;
}

void cxlmu_heap_build_ctl(void)
{
	size_t sz = sizeof(void *);
	void *p;

	if (atomic_load_explicit(&heap.ctl_ready, memory_order_relaxed))
		return;
	mallctl("thread.allocatedp", &p, &sz, NULL, 0);
	atomic_store_explicit(&heap.ctl_ready, true, memory_order_relaxed);
}

/* jemalloc purges a freed extent at once, whatever its decay time, when it
 * is at least its arena's oversize threshold once coalesced with its free
 * neighbours. Arenas take that threshold from the option (malloc_conf
 * above), except arena 0, which jemalloc makes before it reads its
 * options: it keeps the compiled-in 8 MiB, and a program of large blocks
 * on the first thread would fault every one of them in again. The first
 * large block of the process gives arena 0 the option's threshold (a
 * mallctl, so not at start-up: see counters()). */
static cxlmu_noinline void set_arena0(void)
{
	size_t v, sz = sizeof(v);

	if (atomic_exchange(&heap.arena0_set, true))
		return;
	if (mallctl("opt.oversize_threshold", &v, &sz, NULL, 0))
		return;
	if (!v)
		v = SIZE_MAX;   /* 0: no huge arena and no early purge */
	mallctl("arena.0.oversize_threshold", NULL, NULL, &v, sizeof(v));
}

static inline void large_block(size_t size)
{
	if (unlikely(size >= CXLMU_STATS_SAMPLE_LARGE) &&
	    unlikely(!atomic_load_explicit(&heap.arena0_set, memory_order_relaxed)))
		set_arena0();
}

/* Merge the fast path's counts: bytes are what jemalloc counted for this
 * thread since the last merge, less what the explicit path counted itself. */
static void merge(void)
{
	uint64_t a, d, da, dd;
	uint32_t done;

	/* Blocks of the countdown in progress; when it has just expired
	 * (alloc_left 0), not the block that expired it, which the bound path
	 * is about to count with the batch's rest (alloc_batch - 1). */
	done = th.alloc_batch - th.alloc_left - (th.alloc_left == 0);
	th.fast_allocs += done;
	th.alloc_batch -= done;

	if (counters()) {
		a = *th.je_alloc;
		d = *th.je_dealloc;
		/* jemalloc restarts its counters when a thread's state is rebuilt
		 * after its own exit cleanup. */
		if (a < th.last_alloc)
			th.last_alloc = 0;
		if (d < th.last_dealloc)
			th.last_dealloc = 0;
		da = a - th.last_alloc;
		dd = d - th.last_dealloc;
		da = da > th.x_alloc ? da - th.x_alloc : 0;
		dd = dd > th.x_free ? dd - th.x_free : 0;
		th.last_alloc = a;
		th.last_dealloc = d;
	} else {
		da = dd = 0;
	}
	if (da || th.fast_allocs)
		cxlmu_stats_alloc(th.bound_node, th.bound_tier, da, th.fast_allocs);
	if (dd || th.fast_frees)
		cxlmu_stats_free(th.bound_node, th.bound_tier, dd, th.fast_frees);
	th.x_alloc = th.x_free = 0;
	th.fast_allocs = th.fast_frees = 0;
}

/* jemalloc starts on its first call (src/Makefile.mk drops its
 * constructor), and its start reads files (/etc/malloc.conf, /proc,
 * /sys) and asks the kernel things the program's own allocator would
 * not: a program about to confine itself with a seccomp filter has it
 * done first (src/sandbox.c). */
void cxlmu_heap_boot(void)
{
	cxlmu_je_fast_free(cxlmu_je_fast_malloc(1));
}

void cxlmu_heap_merge(void)
{
	if (th.ready)
		merge();
	cxlmu_stats_flush();
}

static void thread_exit_cb(void *unused)
{
	thread_exit();
	/* Destructors that run after ours may still allocate and free: ask to
	 * be called again in glibc's next round (it makes up to
	 * PTHREAD_DESTRUCTOR_ITERATIONS) so their counts are merged too. */
	if (++th.exit_rounds < 3)
		pthread_setspecific(exit_key, (void *)1);
}

static void thread_exit(void)
{
	/* Merge under the thread's binding, then drop the binding and the fast
	 * path: once jemalloc has cleaned up this thread (its key destructor
	 * runs before ours), it serves the thread from arena 0, so from now on
	 * only DRAM blocks may take the thread-cache path. */
	if (th.ready)
		merge();
	th.bound_ai = -1;
	th.bound_tier = CXLMU_TIER_DRAM;
	th.bound_node = th.home;
	disarm_all();
	th.fast_free = false;
	th.decide = CXLMU_DECIDE_SLOW;
	th.exiting = true;
	for (unsigned i = 0; i < heap.narenas; i++) {
		if (th.tcache[i]) {
			unsigned tc = th.tcache[i] - 1;
			th.tcache[i] = 0;
			mallctl("tcache.destroy", NULL, NULL, &tc, sizeof(tc));
		}
	}
	cxlmu_heap_merge();
}

/* ----------------------------------------------------------------------- */
/* Accounting                                                                */
/* ----------------------------------------------------------------------- */

static inline int owner(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	if (likely(a - heap.span_base >= heap.span_end - heap.span_base))
		return -1;
	return (int)((a - heap.span_base) >> heap.span_shift);
}

/* A block in an interleaved range counts its bytes on each unit's node and
 * counts as one allocation, on the node of its first byte. */
static void account_interleave(uintptr_t origin, uintptr_t a, size_t len, bool alloc)
{
	uintptr_t end = a + len;
	unsigned events = 1;

	while (a < end) {
		bool cxl;
		uint64_t u = (a - origin) / CXLMU_INTERLEAVE_UNIT;
		int node = unit_node(u, &cxl);
		uintptr_t ue = origin + (u + 1) * CXLMU_INTERLEAVE_UNIT;
		size_t part = (ue < end ? ue : end) - a;
		unsigned n = cxl ? (unsigned)node : th.home;

		if (alloc)
			cxlmu_stats_alloc(n, CXLMU_TIER_INTERLEAVE, part, events);
		else
			cxlmu_stats_free(n, CXLMU_TIER_INTERLEAVE, part, events);
		events = 0;
		a += part;
	}
}

/* Nodes a page at p is meant to be on. */
static cxlmu_nodemask_t meant_nodes(const void *p, int ai, uintptr_t origin)
{
	bool cxl;
	int node;

	if (ai < 0 || heap.arena[ai].tier == CXLMU_TIER_DRAM)
		return heap.dram_meant;
	if (heap.arena[ai].tier == CXLMU_TIER_CXL)
		return 1ull << heap.arena[ai].node;
	node = unit_node(((uintptr_t)p - origin) / CXLMU_INTERLEAVE_UNIT, &cxl);
	return cxl ? 1ull << node : heap.dram_meant;
}

static inline void maybe_sample(const void *p, int ai, size_t size)
{
	/* Kept for the page check: a thread's first block, then one block in
	 * CXLMU_STATS_SAMPLE_EVERY, and every large one. */
	if (unlikely(th.sample_tick++ % CXLMU_STATS_SAMPLE_EVERY == 0 ||
		     size >= CXLMU_STATS_SAMPLE_LARGE))
		cxlmu_stats_sample(p, meant_nodes(p, ai, ai >= 0 ? heap.arena[ai].base : 0));
}

void cxlmu_heap_account_range(const void *addr, size_t len, enum cxlmu_tier tier,
			      unsigned node, bool alloc)
{
	if (unlikely(!th.ready))
		thread_setup();
	if (tier == CXLMU_TIER_INTERLEAVE) {
		account_interleave((uintptr_t)addr, (uintptr_t)addr, len, alloc);
		return;
	}
	if (tier == CXLMU_TIER_DRAM)
		node = th.home;
	if (alloc)
		cxlmu_stats_alloc(node, tier, len, 1);
	else
		cxlmu_stats_free(node, tier, len, 1);
	if (alloc)
		cxlmu_stats_sample(addr, tier == CXLMU_TIER_DRAM ? heap.dram_meant :
			tier == CXLMU_TIER_CXL ? 1ull << node :
			meant_nodes(addr, heap.interleave_arena, (uintptr_t)addr));
}

/* Exact accounting of an explicit-path block (also counted by jemalloc's
 * thread counters, hence x_alloc / x_free). */
static void account(const void *p, int ai, size_t usable, bool alloc)
{
	if (ai >= 0 && heap.arena[ai].tier == CXLMU_TIER_INTERLEAVE) {
		account_interleave(heap.arena[ai].base, (uintptr_t)p, usable, alloc);
	} else {
		bool dram = ai < 0 || heap.arena[ai].tier == CXLMU_TIER_DRAM;
		unsigned n = dram ? th.home : heap.arena[ai].node;
		enum cxlmu_tier t = dram ? CXLMU_TIER_DRAM : CXLMU_TIER_CXL;
		if (alloc)
			cxlmu_stats_alloc(n, t, usable, 1);
		else
			cxlmu_stats_free(n, t, usable, 1);
	}
	if (alloc) {
		th.x_alloc += usable;
		maybe_sample(p, ai, usable);
	} else {
		th.x_free += usable;
	}
}

/* One counter per direction, each checked on its own: a shared event
 * count made the compiler pair the updates into a vector op that stalls on
 * store forwarding. */
static inline void fast_event(bool alloc)
{
	if (alloc) {
		if (unlikely(++th.fast_allocs >= MERGE_EVENTS))
			merge();
	} else {
		if (unlikely(++th.fast_frees >= MERGE_EVENTS))
			merge();
	}
}

/* Live bytes of the DRAM tier, including this thread's unmerged part. */
static uint64_t dram_live(void)
{
	uint64_t v = cxlmu_stats_dram_live();

	if (th.bound_ai < 0 && counters()) {
		int64_t a = (int64_t)(*th.je_alloc - th.last_alloc - th.x_alloc);
		int64_t d = (int64_t)(*th.je_dealloc - th.last_dealloc - th.x_free);
		int64_t w = (int64_t)v + a - d;
		v = w > 0 ? (uint64_t)w : 0;
	}
	return v;
}

/* ----------------------------------------------------------------------- */
/* Allocation                                                                */
/* ----------------------------------------------------------------------- */

static inline int align_flags(size_t align, bool zero)
{
	int f = zero ? MALLOCX_ZERO : 0;
	/* Any alignment asked for is passed on: jemalloc's smallest size
	 * class is only 8-aligned. */
	if (align)
		f |= MALLOCX_LG_ALIGN(__builtin_ctzl(align));
	return f;
}

static inline int tier_arena(enum cxlmu_tier tier)
{
	if (tier == CXLMU_TIER_CXL)
		return th.cxl_ai;
	if (tier == CXLMU_TIER_INTERLEAVE)
		return heap.interleave_arena;
	return -1;
}

/* Whether a block of arena ai may take this thread's fast path: its bound
 * tier, and (for CXL) not oversize, which jemalloc would send elsewhere. */
static inline bool fast_alloc_ok(int ai, size_t size)
{
	return ai == th.bound_ai && (ai < 0 || size < heap.oversize);
}

/* Whether freeing a block of arena ai through the thread cache keeps it on
 * its node: DRAM for DRAM-bound threads, same-node CXL for CXL-bound ones. */
static inline bool fast_free_ok(int ai)
{
	if (ai == th.bound_ai)
		return true;
	return ai >= 0 && th.bound_ai >= 0 && heap.arena[ai].tier == CXLMU_TIER_CXL &&
	       heap.arena[ai].node == th.bound_node;
}

static cxlmu_noinline void *alloc_sampled(size_t size, size_t align, bool zero,
					  enum cxlmu_tier tier, const void *ra);
static enum cxlmu_tier decide(size_t size, const void *ra);

/* malloc under a policy that decides per block (or a profile), for a DRAM
 * thread: a DRAM block goes straight to jemalloc's thread cache, as the
 * inline path would. NULL: the caller's slow path takes it. */
static inline void *malloc_decide(size_t size, const void *ra)
{
	int saved = *th.errno_p;
	void *p;

	if (th.alloc_left == 0) {
		/* cxlmu_heap_decided_dram's countdown expired on this block. */
		th.fast_allocs += th.alloc_batch - 1;
		th.alloc_left = th.alloc_batch = SAMPLE_BATCH;
	}
	enum cxlmu_tier tier = decide(size, ra);

	/* Decided and counted down once here: the block is made here too. */
	if (unlikely(heap.profile) && cxlmu_profile_due(size)) {
		p = alloc_sampled(size, 0, false, tier, ra);
	} else if (tier != CXLMU_TIER_DRAM || unlikely(size == 0)) {
		p = cxlmu_heap_alloc_tier(size, 0, false, tier);
	} else {
		p = cxlmu_je_fast_malloc(size);
		if (likely(p)) {
			fast_event(true);
			maybe_sample(p, -1, size);
		}
	}
	*th.errno_p = saved;
	return p;
}

void *cxlmu_heap_malloc_bound(size_t size, const void *ra)
{
	bool large;
	int saved;
	void *p;

	if (unlikely(th.merge_due))
		activity_due();
	large = size >= th.fast_small;
	if (large)
		large_block(size);
	if (large && size >= th.fast_limit) {
		/* Not a bound-tier block: the policy decides, or the caller's
		 * slow path (a thread not set up, or bound to CXL). */
		if (th.ready && !th.fast_limit && th.fast_free && th.bound_ai < 0)
			return malloc_decide(size, ra);
		return NULL;
	}
	if (!large && th.alloc_left == 0) {
		/* The countdown expired: the blocks before this one. */
		th.fast_allocs += th.alloc_batch - 1;
		th.alloc_left = th.alloc_batch = SAMPLE_BATCH;
	}
	saved = *th.errno_p;
	p = cxlmu_je_fast_malloc(size);
	*th.errno_p = saved;
	if (!p)
		return NULL;
	th.fast_allocs++;
	cxlmu_stats_sample(p, meant_nodes(p, th.bound_ai,
		th.bound_ai >= 0 ? heap.arena[th.bound_ai].base : 0));
	if (th.fast_allocs >= MERGE_EVENTS)
		merge();
	return p;
}

bool cxlmu_heap_free_bound(void *p)
{
	int saved;

	if (unlikely(th.merge_due))
		activity_due();
	if (!th.fast_free || !fast_free_ok(owner(p)))
		return false;
	saved = *th.errno_p;
	cxlmu_je_fast_free(p);
	*th.errno_p = saved;
	th.fast_frees++;
	if (th.fast_frees >= MERGE_EVENTS)
		merge();
	return true;
}

void *cxlmu_heap_alloc_tier(size_t size, size_t align, bool zero, enum cxlmu_tier tier)
{
	int f = align_flags(align, zero);
	int ai;
	void *p;

	if (unlikely(!th.ready))
		thread_setup();
	large_block(size);
	/* mallocx requires size > 0; malloc(0) gets a unique minimal block. */
	if (unlikely(size == 0))
		size = 1;
	ai = tier_arena(tier);
	if (likely(fast_alloc_ok(ai, size))) {
		p = f ? mallocx(size, f) : cxlmu_je_fast_malloc(size);
		if (likely(p)) {
			fast_event(true);
			maybe_sample(p, ai, size);
			return p;
		}
	} else {
		/* Not this thread's bound tier (or an oversize CXL block). The
		 * block is counted where it is: late in a thread's exit, after
		 * jemalloc's own cleanup, jemalloc serves arena 0 whatever the
		 * flags say. */
		p = mallocx(size, f | arena_flags(ai));
		if (likely(p)) {
			account(p, owner(p), nallocx(size, f), true);
			return p;
		}
	}
	if (ai < 0)
		return NULL;   /* DRAM itself is out of memory */
	if (heap.strict)
		return NULL;
	/* The CXL arena is out of address space: fall back to DRAM. */
	cxlmu_stats_count_fallback();
	if (th.bound_ai < 0) {
		p = f ? mallocx(size, f) : cxlmu_je_fast_malloc(size);
		if (p)
			fast_event(true);
		return p;
	}
	p = mallocx(size, f | arena_flags(-1));
	if (p)
		account(p, -1, nallocx(size, f), true);
	return p;
}

/* The policy's tier for a block; the thread is set up. */
static enum cxlmu_tier decide(size_t size, const void *ra)
{
	const struct cxlmu_policy *p = &heap.policy;

	if (p->kind == CXLMU_POLICY_LOCAL)
		return CXLMU_TIER_DRAM;
	if (p->kind == CXLMU_POLICY_SITES) {
		uint32_t gen = cxlmu_callsite_generation();
		bool by_address;
		int t = cxlmu_sites_tier(ra, &by_address);
		if (t < 0)
			p = &heap.fallback;
		/* DRAM whatever the size and the stack: malloc may decide it
		 * inline next time. */
		if (th.decide == CXLMU_DECIDE_SITES && ra && by_address &&
		    (t == CXLMU_TIER_DRAM || (t < 0 && p->kind == CXLMU_POLICY_LOCAL))) {
			if (th.site_gen != gen) {
				memset(th.site_dram, 0, sizeof(th.site_dram));
				th.site_gen = gen;
			}
			th.site_dram[cxlmu_heap_site_slot(ra)] = (uintptr_t)ra;
		}
		if (t >= 0)
			return (enum cxlmu_tier)t;
	}
	return cxlmu_policy_tier(p, size, p->kind == CXLMU_POLICY_BUDGET ? dram_live() : 0);
}

enum cxlmu_tier cxlmu_heap_tier(size_t size, const void *ra)
{
	if (unlikely(!th.ready))
		thread_setup();
	return decide(size, ra);
}

/* A sampled block: in the span, so that its free comes back here. DRAM
 * blocks take the profile's own arena; the others are in the span anyway
 * (a CXL block that fell back to DRAM is not remembered). */
static cxlmu_noinline void *alloc_sampled(size_t size, size_t align, bool zero,
					  enum cxlmu_tier tier, const void *ra)
{
	void *p;

	if (tier == CXLMU_TIER_DRAM) {
		int ai = heap.profile_arena, f = align_flags(align, zero);
		if (unlikely(size == 0))
			size = 1;
		p = mallocx(size, f | arena_flags(ai));
		if (p)
			account(p, owner(p), nallocx(size, f), true);
		else
			p = cxlmu_heap_alloc_tier(size, align, zero, tier);
	} else {
		p = cxlmu_heap_alloc_tier(size, align, zero, tier);
	}
	/* A failed allocation is no site's: its size would swamp the sums. */
	if (p)
		cxlmu_profile_record(owner(p) >= 0 ? p : NULL, size, ra);
	return p;
}

void *cxlmu_heap_alloc(size_t size, size_t align, bool zero, const void *ra)
{
	enum cxlmu_tier tier = CXLMU_TIER_DRAM;

	if (heap.policy.kind != CXLMU_POLICY_LOCAL || heap.profile) {
		if (unlikely(!th.ready))
			thread_setup();
		tier = decide(size, ra);
		if (heap.profile && cxlmu_profile_due(size))
			return alloc_sampled(size, align, zero, tier, ra);
	}
	return cxlmu_heap_alloc_tier(size, align, zero, tier);
}

/* A free from a thread with no heap state yet. glibc's last act in an
 * exiting thread is to free the TLS of threads that exited before it
 * (__nptl_free_stacks). If jemalloc initialises that thread's data in full
 * then (any mallctl, sallocx or malloc_usable_size does), the thread joins
 * jemalloc's list of live threads after its destructors have run, never
 * leaves it, and the next thread to join writes into its freed TLS: a
 * crash. jemalloc's own free takes its minimal path for such a thread and
 * returns the block to whichever arena owns it, as it would without us.
 * The size is not to be had safely, so the free is counted without bytes
 * (these are glibc's few hundred bytes of a dead thread's DTV). */
static void free_unset(void *p)
{
	if (heap.profile && owner(p) >= 0)
		cxlmu_profile_forget(p);
	account(p, owner(p), 0, false);
	cxlmu_je_fast_free(p);
}

void cxlmu_heap_free(void *p)
{
	int ai;
	size_t usable;

	if (unlikely(!p))
		return;
	if (unlikely(!th.ready)) {
		free_unset(p);
		return;
	}
	ai = owner(p);
	if (unlikely(heap.profile) && ai >= 0)
		cxlmu_profile_forget(p);
	if (likely(fast_free_ok(ai))) {
		cxlmu_je_fast_free(p);
		fast_event(false);
		return;
	}
	usable = sallocx(p, 0);
	account(p, ai, usable, false);
	sdallocx(p, usable, arena_flags(ai));
}

size_t cxlmu_heap_usable_size(const void *p)
{
	return p ? sallocx(p, 0) : 0;
}

void *cxlmu_heap_realloc(void *p, size_t size, const void *ra)
{
	enum cxlmu_tier want = CXLMU_TIER_DRAM;
	size_t old;
	int ai, wai;
	void *q;

	if (unlikely(!th.ready))
		thread_setup();
	if (unlikely(size == 0))
		size = 1;
	large_block(size);
	ai = owner(p);
	want = decide(size, ra);
	if (unlikely(heap.profile)) {
		/* A sampled new block, or a sampled old one, moves: the
		 * profile sees the one freed and the other allocated. */
		bool sample = cxlmu_profile_due(size);
		if (sample || (ai >= 0 && cxlmu_profile_tracked(p))) {
			old = sallocx(p, 0);
			q = sample ? alloc_sampled(size, 0, false, want, ra)
				   : cxlmu_heap_alloc_tier(size, 0, false, want);
			if (!q)
				return NULL;
			memcpy(q, p, old < size ? old : size);
			cxlmu_heap_free(p);
			return q;
		}
	}
	wai = tier_arena(want);
	if (fast_free_ok(ai) && fast_alloc_ok(wai, size)) {
		/* Bound tier to bound tier: jemalloc grows in place or moves
		 * within the thread's arena, and counts the bytes itself. */
		q = rallocx(p, size, 0);
		if (!q)
			return NULL;
		fast_event(false);
		fast_event(true);
		return q;
	}
	old = sallocx(p, 0);
	if (wai == ai) {
		/* Same tier, explicit path. */
		q = rallocx(p, size, arena_flags(ai));
		if (!q)
			return NULL;
		account(p, ai, old, false);
		account(q, owner(q), sallocx(q, 0), true);
		return q;
	}
	/* The block changes tier: move it. */
	q = cxlmu_heap_alloc_tier(size, 0, false, want);
	if (!q)
		return NULL;
	memcpy(q, p, old < size ? old : size);
	cxlmu_heap_free(p);
	return q;
}

int cxlmu_heap_bind_range(void *addr, size_t len, enum cxlmu_tier tier, unsigned *node)
{
	if (unlikely(!th.ready))
		thread_setup();
	if (cxlmu_sandboxed())
		tier = CXLMU_TIER_DRAM;   /* no mbind under a seccomp filter */
	if (tier == CXLMU_TIER_INTERLEAVE && heap.interleave_arena >= 0) {
		bool cxl;
		int n = unit_node(0, &cxl);
		*node = cxl ? (unsigned)n : th.home;
		return bind_interleave((uintptr_t)addr, (uintptr_t)addr, len);
	}
	if (tier == CXLMU_TIER_CXL && th.cxl_ai >= 0) {
		*node = heap.arena[th.cxl_ai].node;
		return cxlmu_prim_mbind(addr, len, bind_mode(), 1ull << *node);
	}
	*node = th.home;
	return 0;
}
