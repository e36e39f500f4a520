/* The heap: tier choice per block and the jemalloc arenas behind each tier.
 *
 * DRAM tier: jemalloc's automatic arenas and thread cache, untouched, so the
 * local policy runs at the backend's own speed.
 * CXL tier: one arena per CXL node. Interleave tier: one arena whose memory
 * alternates D units on DRAM and C units on CXL by address.
 * Our arenas take memory only from their slice of one PROT_NONE reservation
 * (the span); the extent hook makes a piece read-write and mbinds it before
 * jemalloc ever touches it. Each thread uses an explicit jemalloc tcache per
 * arena of ours, so cached blocks never cross tiers.
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
#include <numaif.h>
#include <jemalloc/jemalloc.h>

#include "heap.h"
#include "log.h"
#include "prim.h"
#include "stats.h"

#define MAX_ARENAS  (CXLMU_MAX_NODES + 1)
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
	bool strict;
	cxlmu_nodemask_t cxl, dram;
	cxlmu_nodemask_t dram_meant;  /* where DRAM-tier pages may be */
	unsigned cxl_nodes[CXLMU_MAX_NODES];
	unsigned ncxl;
	uintptr_t span_base, span_end;
	unsigned span_shift;
	unsigned narenas;
	struct arena arena[MAX_ARENAS];
	int interleave_arena;        /* index, -1 when none */
	int cxl_arena_of_node[CXLMU_MAX_NODES];
	uint8_t cpu_node[MAX_CPUS];
	uint8_t nearest_cxl[CXLMU_MAX_NODES];  /* arena index per home node */
} heap;

struct thread_heap {
	bool ready;
	bool exiting;                /* caches returned: use none from now on */
	uint8_t home;                /* home DRAM node */
	unsigned sample_tick;
	unsigned exit_rounds;
	unsigned tcache[MAX_ARENAS]; /* explicit tcache id + 1; 0: none yet */
};
static CXLMU_TLS struct thread_heap th;
static pthread_key_t exit_key;   /* its destructor returns a thread's caches */
static bool exit_key_ok;

/* ----------------------------------------------------------------------- */
/* Binding                                                                   */
/* ----------------------------------------------------------------------- */

static int bind_mode(void)
{
	return heap.strict ? MPOL_BIND : MPOL_PREFERRED;
}

/* Node of interleave unit u (global unit index from the span slice base). */
static int unit_node(uint64_t u, bool *is_cxl)
{
	const struct cxlmu_policy *p = &heap.policy;
	unsigned period = p->dram_weight + p->cxl_weight;
	unsigned pos = (unsigned)(u % period);

	*is_cxl = pos >= p->dram_weight;
	if (!*is_cxl)
		return -1;   /* DRAM: wherever the faulting thread is local */
	uint64_t j = (u / period) * p->cxl_weight + (pos - p->dram_weight);
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
	if (heap.strict && ar->tier == CXLMU_TIER_CXL && !node_can_hold(ar->node, size))
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

static int reserve_span(unsigned narenas, const struct cxlmu_topology *t)
{
	/* Virtual space is cheap; physical pages come only on touch. Start at
	 * 1 TiB per arena and halve while the kernel (or RLIMIT_AS) refuses. */
	for (unsigned shift = 40; shift >= 26; shift--) {
		size_t len = (size_t)narenas << shift;
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

int cxlmu_heap_init(const struct cxlmu_heap_config *cfg)
{
	const struct cxlmu_topology *t = cfg->topo;
	unsigned want;
	int r;

	heap.policy.kind = CXLMU_POLICY_LOCAL;
	heap.interleave_arena = -1;
	exit_key_ok = pthread_key_create(&exit_key, thread_exit_cb) == 0;
	heap.strict = cfg->strict;
	heap.cxl = cfg->cxl;
	heap.dram = cfg->dram;
	/* Emulation on a one-node machine: DRAM and "CXL" are the same node. */
	heap.dram_meant = cfg->dram ? cfg->dram : t->has_memory;
	map_cpus(t);
	/* CXL arenas exist whenever CXL nodes do, so cxlmu_malloc_on() can
	 * place blocks even under the local policy. */
	if (!cfg->cxl)
		return 0;

	for (unsigned n = 0; n < CXLMU_MAX_NODES; n++)
		if (cfg->cxl & (1ull << n))
			heap.cxl_nodes[heap.ncxl++] = n;
	want = heap.ncxl + (cfg->policy.kind == CXLMU_POLICY_INTERLEAVE);
	r = reserve_span(want, t);
	if (r)
		return r;
	/* Interleave needs the policy's weights before its first extent. */
	heap.policy = cfg->policy;
	heap.policy.kind = CXLMU_POLICY_LOCAL;
	for (unsigned i = 0; i < heap.ncxl; i++) {
		r = add_arena(CXLMU_TIER_CXL, heap.cxl_nodes[i]);
		if (r < 0)
			return r;
		heap.cxl_arena_of_node[heap.cxl_nodes[i]] = r;
	}
	if (cfg->policy.kind == CXLMU_POLICY_INTERLEAVE) {
		r = add_arena(CXLMU_TIER_INTERLEAVE, 0);
		if (r < 0)
			return r;
		heap.interleave_arena = r;
	}
	/* Each home node uses its nearest CXL node (ties: the lowest). */
	for (unsigned h = 0; h < CXLMU_MAX_NODES; h++) {
		unsigned best = 0;
		for (unsigned i = 1; i < heap.ncxl; i++)
			if (t->node[h].distance[heap.cxl_nodes[i]] <
			    t->node[h].distance[heap.cxl_nodes[best]])
				best = i;
		heap.nearest_cxl[h] = (uint8_t)heap.cxl_arena_of_node[heap.cxl_nodes[best]];
	}
	heap.policy = cfg->policy;
	return 0;
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

static cxlmu_noinline void thread_setup(void)
{
	int cpu = sched_getcpu();
	unsigned home = cpu >= 0 && cpu < MAX_CPUS ? heap.cpu_node[cpu] : 0;

	if (!(heap.dram & (1ull << home)) && heap.dram)
		home = (unsigned)__builtin_ctzll(heap.dram);
	th.home = (uint8_t)home;
	th.ready = true;
	/* Keys below PTHREAD_KEY_2NDLEVEL_SIZE need no allocation to set, and
	 * ours is made before the application can make any. */
	if (exit_key_ok)
		pthread_setspecific(exit_key, (void *)1);
}

unsigned cxlmu_heap_home_node(void)
{
	if (unlikely(!th.ready))
		thread_setup();
	return th.home;
}

/* jemalloc flags selecting arena ai with this thread's own cache for it. */
static int arena_flags(unsigned ai)
{
	int flags = MALLOCX_ARENA(heap.arena[ai].je_index);

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

static void thread_exit_cb(void *unused)
{
	cxlmu_heap_thread_exit();
	/* Destructors that run after ours may still allocate and free: ask to
	 * be called again in glibc's next round (it makes up to
	 * PTHREAD_DESTRUCTOR_ITERATIONS) so their counts are merged too. */
	if (++th.exit_rounds < 3)
		pthread_setspecific(exit_key, (void *)1);
}

void cxlmu_heap_thread_exit(void)
{
	th.exiting = true;
	for (unsigned i = 0; i < heap.narenas; i++) {
		if (th.tcache[i]) {
			unsigned tc = th.tcache[i] - 1;
			th.tcache[i] = 0;
			mallctl("tcache.destroy", NULL, NULL, &tc, sizeof(tc));
		}
	}
	cxlmu_stats_flush();
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

	if (ai < 0)
		return heap.dram_meant;
	if (heap.arena[ai].tier == CXLMU_TIER_CXL)
		return 1ull << heap.arena[ai].node;
	node = unit_node(((uintptr_t)p - origin) / CXLMU_INTERLEAVE_UNIT, &cxl);
	return cxl ? 1ull << node : heap.dram_meant;
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

static inline void account(const void *p, int ai, size_t usable, bool alloc)
{
	if (ai >= 0 && heap.arena[ai].tier == CXLMU_TIER_INTERLEAVE) {
		account_interleave(heap.arena[ai].base, (uintptr_t)p, usable, alloc);
	} else {
		unsigned n = ai < 0 ? th.home : heap.arena[ai].node;
		enum cxlmu_tier t = ai < 0 ? CXLMU_TIER_DRAM : CXLMU_TIER_CXL;
		if (alloc)
			cxlmu_stats_alloc(n, t, usable, 1);
		else
			cxlmu_stats_free(n, t, usable, 1);
	}
	/* Kept for the page check: a thread's first block, then one block in
	 * CXLMU_STATS_SAMPLE_EVERY, and every large one. */
	if (alloc && unlikely(th.sample_tick++ % CXLMU_STATS_SAMPLE_EVERY == 0 ||
			      usable >= CXLMU_STATS_SAMPLE_LARGE))
		cxlmu_stats_sample(p, meant_nodes(p, ai, ai >= 0 ? heap.arena[ai].base : 0));
}

/* ----------------------------------------------------------------------- */
/* Allocation                                                                */
/* ----------------------------------------------------------------------- */

static inline int align_flags(size_t align, bool zero)
{
	int f = zero ? MALLOCX_ZERO : 0;
	if (align > 16)
		f |= MALLOCX_LG_ALIGN(__builtin_ctzl(align));
	return f;
}

static int tier_arena(enum cxlmu_tier tier)
{
	if (tier == CXLMU_TIER_CXL && heap.ncxl)
		return heap.nearest_cxl[th.home];
	if (tier == CXLMU_TIER_INTERLEAVE)
		return heap.interleave_arena;
	return -1;
}

void *cxlmu_heap_alloc_tier(size_t size, size_t align, bool zero, enum cxlmu_tier tier)
{
	int f = align_flags(align, zero);
	int ai;
	void *p;

	if (unlikely(!th.ready))
		thread_setup();
	/* mallocx requires size > 0; malloc(0) gets a unique minimal block. */
	if (unlikely(size == 0))
		size = 1;
	ai = tier_arena(tier);
	if (ai >= 0) {
		p = mallocx(size, f | arena_flags((unsigned)ai));
		if (likely(p)) {
			account(p, ai, nallocx(size, f), true);
			return p;
		}
		if (heap.strict)
			return NULL;
		cxlmu_stats_count_fallback();
	}
	p = mallocx(size, f);
	if (likely(p))
		account(p, -1, nallocx(size, f), true);
	return p;
}

void *cxlmu_heap_alloc(size_t size, size_t align, bool zero)
{
	enum cxlmu_tier tier = CXLMU_TIER_DRAM;

	if (heap.policy.kind != CXLMU_POLICY_LOCAL)
		tier = cxlmu_policy_tier(&heap.policy, size,
			heap.policy.kind == CXLMU_POLICY_BUDGET ? cxlmu_stats_dram_live() : 0);
	return cxlmu_heap_alloc_tier(size, align, zero, tier);
}

void cxlmu_heap_free(void *p)
{
	int ai;
	size_t usable;

	if (unlikely(!p))
		return;
	if (unlikely(!th.ready))
		thread_setup();
	ai = owner(p);
	usable = sallocx(p, 0);
	account(p, ai, usable, false);
	sdallocx(p, usable, ai < 0 ? 0 : arena_flags((unsigned)ai));
}

size_t cxlmu_heap_usable_size(const void *p)
{
	return p ? sallocx(p, 0) : 0;
}

void *cxlmu_heap_realloc(void *p, size_t size)
{
	enum cxlmu_tier want = CXLMU_TIER_DRAM;
	size_t old;
	int ai, wai;
	void *q;

	if (unlikely(!th.ready))
		thread_setup();
	if (unlikely(size == 0))
		size = 1;
	ai = owner(p);
	if (heap.policy.kind != CXLMU_POLICY_LOCAL)
		want = cxlmu_policy_tier(&heap.policy, size,
			heap.policy.kind == CXLMU_POLICY_BUDGET ? cxlmu_stats_dram_live() : 0);
	wai = tier_arena(want);
	old = sallocx(p, 0);
	if (wai == ai) {
		/* Same tier: let jemalloc grow or shrink in place where it can. */
		q = rallocx(p, size, ai < 0 ? 0 : arena_flags((unsigned)ai));
		if (!q)
			return NULL;
		account(p, ai, old, false);
		account(q, ai, sallocx(q, 0), true);
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
	if (tier == CXLMU_TIER_INTERLEAVE && heap.interleave_arena >= 0) {
		bool cxl;
		int n = unit_node(0, &cxl);
		*node = cxl ? (unsigned)n : th.home;
		return bind_interleave((uintptr_t)addr, (uintptr_t)addr, len);
	}
	if (tier == CXLMU_TIER_CXL && heap.ncxl) {
		*node = heap.arena[heap.nearest_cxl[th.home]].node;
		return cxlmu_prim_mbind(addr, len, bind_mode(), 1ull << *node);
	}
	*node = th.home;
	return 0;
}
