/* Allocation counters per node, kept per thread and merged into global
 * atomics in batches, and the exit report (text or JSON) with a move_pages
 * check of where sampled pages really are. */
#ifndef CXLMU_SRC_STATS_H
#define CXLMU_SRC_STATS_H

#include "internal.h"
#include "options.h"
#include "policy.h"
#include "topology.h"

/* Per-thread batch: flushed when this much has changed on one node. */
#define CXLMU_STATS_FLUSH_BYTES  (256 * CXLMU_KiB)
#define CXLMU_STATS_FLUSH_EVENTS 1024

struct cxlmu_node_totals {
	int64_t bytes_live;
	int64_t bytes_peak;
	uint64_t bytes_total;
	uint64_t allocations;
	uint64_t frees;
};

/* bytes on node, from tier; count is 1 for a block, 0 for a further part
 * of one (an interleaved block spans nodes). */
void cxlmu_stats_alloc(unsigned node, enum cxlmu_tier tier, size_t bytes, uint64_t count);
void cxlmu_stats_free(unsigned node, enum cxlmu_tier tier, size_t bytes, uint64_t count);
/* Flush the calling thread's batch (thread exit, report). */
void cxlmu_stats_flush(void);
/* Live bytes of the DRAM tier as the budget policy sees them: the merged
 * total plus the calling thread's unflushed part. */
uint64_t cxlmu_stats_dram_live(void);
void cxlmu_stats_node(unsigned node, struct cxlmu_node_totals *out);
void cxlmu_stats_tier(enum cxlmu_tier tier, struct cxlmu_node_totals *out);

/* Remember an address whose page should be on a node of `meant`; the heap
 * calls this for one block in CXLMU_STATS_SAMPLE_EVERY and for every
 * placed mmap region. The newest CXLMU_STATS_SAMPLE_SLOTS are kept. */
#define CXLMU_STATS_SAMPLE_EVERY 64
#define CXLMU_STATS_SAMPLE_LARGE (64 * CXLMU_KiB)
#define CXLMU_STATS_SAMPLE_SLOTS 1024
void cxlmu_stats_sample(const void *addr, cxlmu_nodemask_t meant);
void cxlmu_stats_count_fallback(void);
void cxlmu_stats_count_bind_error(void);

/* For the report (src/report.c): the counts of fallbacks to DRAM and of
 * failed binds; whether node had an allocation; the sampled addresses and
 * the nodes each was meant for, copied into arrays of
 * CXLMU_STATS_SAMPLE_SLOTS, and how many. */
uint64_t cxlmu_stats_fallbacks(void);
uint64_t cxlmu_stats_bind_errors(void);
bool cxlmu_stats_node_used(unsigned node);
size_t cxlmu_stats_samples(uintptr_t *addr, cxlmu_nodemask_t *meant);

#endif
