/* Counters: bytes and allocations per node and tier, the sampled
 * addresses of the placement check, fallbacks and bind errors. The report
 * that reads them is src/report.c.
 *
 * Each thread batches its counts per node and merges them into global
 * atomics when a batch grows past CXLMU_STATS_FLUSH_BYTES or _EVENTS, so
 * the allocation path touches only thread-local memory. Peaks are taken at
 * merge time: exact to within one batch per thread. */
#include <stdatomic.h>
#include <string.h>

#include "stats.h"

struct global_node {
	_Atomic int64_t live;
	_Atomic int64_t peak;
	_Atomic uint64_t bytes;
	_Atomic uint64_t allocs;
	_Atomic uint64_t frees;
};

struct batch {
	int64_t live;
	uint64_t bytes;
	uint64_t allocs;
	uint64_t frees;
};

/* Slots: one per node, then one per tier (CXLMU_TIER_*). */
#define TIER_SLOT(t) (CXLMU_MAX_NODES + (unsigned)(t))
#define NSLOTS       (CXLMU_MAX_NODES + 3)

static struct global_node g[NSLOTS];
static _Atomic uint64_t g_fallbacks, g_bind_errors;
static CXLMU_TLS struct batch tb[NSLOTS];

static struct {
	_Atomic unsigned threads;    /* seeds each thread's cursor */
	_Atomic uintptr_t addr[CXLMU_STATS_SAMPLE_SLOTS];
	_Atomic cxlmu_nodemask_t meant[CXLMU_STATS_SAMPLE_SLOTS];
} samples;
/* Each thread writes its own run of slots (no shared index to bounce
 * between cores); runs of different threads start 1/8 of the ring apart
 * and overwrite each other only when the ring wraps. */
static CXLMU_TLS unsigned sample_cursor;
static CXLMU_TLS bool sample_seeded;

static void flush_node(unsigned n)
{
	struct batch *b = &tb[n];
	int64_t now;

	if (b->live) {
		now = atomic_fetch_add_explicit(&g[n].live, b->live, memory_order_relaxed) + b->live;
		int64_t peak = atomic_load_explicit(&g[n].peak, memory_order_relaxed);
		while (now > peak && !atomic_compare_exchange_weak_explicit(&g[n].peak,
				&peak, now, memory_order_relaxed, memory_order_relaxed))
			;
	}
	if (b->bytes)
		atomic_fetch_add_explicit(&g[n].bytes, b->bytes, memory_order_relaxed);
	if (b->allocs)
		atomic_fetch_add_explicit(&g[n].allocs, b->allocs, memory_order_relaxed);
	if (b->frees)
		atomic_fetch_add_explicit(&g[n].frees, b->frees, memory_order_relaxed);
	memset(b, 0, sizeof(*b));
}

static inline void maybe_flush(unsigned n)
{
	struct batch *b = &tb[n];
	int64_t l = b->live < 0 ? -b->live : b->live;

	if (unlikely(l >= (int64_t)CXLMU_STATS_FLUSH_BYTES ||
		     b->allocs + b->frees >= CXLMU_STATS_FLUSH_EVENTS))
		flush_node(n);
}

void cxlmu_stats_alloc(unsigned node, enum cxlmu_tier tier, size_t bytes, uint64_t count)
{
	struct batch *b = &tb[node], *t = &tb[TIER_SLOT(tier)];

	b->live += (int64_t)bytes;
	b->bytes += bytes;
	b->allocs += count;
	t->live += (int64_t)bytes;
	t->bytes += bytes;
	t->allocs += count;
	maybe_flush(node);
	maybe_flush(TIER_SLOT(tier));
}

void cxlmu_stats_free(unsigned node, enum cxlmu_tier tier, size_t bytes, uint64_t count)
{
	struct batch *b = &tb[node], *t = &tb[TIER_SLOT(tier)];

	b->live -= (int64_t)bytes;
	b->frees += count;
	t->live -= (int64_t)bytes;
	t->frees += count;
	maybe_flush(node);
	maybe_flush(TIER_SLOT(tier));
}

void cxlmu_stats_flush(void)
{
	for (unsigned n = 0; n < NSLOTS; n++)
		if (tb[n].live || tb[n].bytes || tb[n].allocs || tb[n].frees)
			flush_node(n);
}

uint64_t cxlmu_stats_dram_live(void)
{
	unsigned slot = TIER_SLOT(CXLMU_TIER_DRAM);
	int64_t v = atomic_load_explicit(&g[slot].live, memory_order_relaxed) + tb[slot].live;
	return v > 0 ? (uint64_t)v : 0;
}

void cxlmu_stats_tier(enum cxlmu_tier tier, struct cxlmu_node_totals *out)
{
	cxlmu_stats_node(TIER_SLOT(tier), out);
}

void cxlmu_stats_node(unsigned node, struct cxlmu_node_totals *out)
{
	out->bytes_live = atomic_load(&g[node].live);
	out->bytes_peak = atomic_load(&g[node].peak);
	out->bytes_total = atomic_load(&g[node].bytes);
	out->allocations = atomic_load(&g[node].allocs);
	out->frees = atomic_load(&g[node].frees);
	/* Frees of blocks made before start-up can push a count below zero. */
	if (out->bytes_live < 0)
		out->bytes_live = 0;
}

void cxlmu_stats_sample(const void *addr, cxlmu_nodemask_t meant)
{
	unsigned i;

	if (unlikely(!sample_seeded)) {
		sample_cursor = atomic_fetch_add_explicit(&samples.threads, 1, memory_order_relaxed)
				* (CXLMU_STATS_SAMPLE_SLOTS / 8);
		sample_seeded = true;
	}
	i = sample_cursor++ % CXLMU_STATS_SAMPLE_SLOTS;
	atomic_store_explicit(&samples.meant[i], meant, memory_order_relaxed);
	atomic_store_explicit(&samples.addr[i], (uintptr_t)addr, memory_order_relaxed);
}

void cxlmu_stats_count_fallback(void)
{
	atomic_fetch_add_explicit(&g_fallbacks, 1, memory_order_relaxed);
}

void cxlmu_stats_count_bind_error(void)
{
	atomic_fetch_add_explicit(&g_bind_errors, 1, memory_order_relaxed);
}

uint64_t cxlmu_stats_fallbacks(void)
{
	return atomic_load(&g_fallbacks);
}

uint64_t cxlmu_stats_bind_errors(void)
{
	return atomic_load(&g_bind_errors);
}

bool cxlmu_stats_node_used(unsigned node)
{
	return node < CXLMU_MAX_NODES && atomic_load(&g[node].allocs) != 0;
}

size_t cxlmu_stats_samples(uintptr_t *addr, cxlmu_nodemask_t *meant)
{
	size_t n = 0;

	for (unsigned i = 0; i < CXLMU_STATS_SAMPLE_SLOTS; i++) {
		uintptr_t a = atomic_load_explicit(&samples.addr[i], memory_order_relaxed);
		if (!a)
			continue;
		addr[n] = a;
		meant[n] = atomic_load_explicit(&samples.meant[i], memory_order_relaxed);
		n++;
	}
	return n;
}

