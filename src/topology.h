/* NUMA topology as Linux shows it in sysfs: which nodes exist, their CPUs,
 * memory, distances and memory tiers, and which of them are CXL memory.
 * Reads through a root directory so tests can feed a fake tree. */
#ifndef CXLMU_SRC_TOPOLOGY_H
#define CXLMU_SRC_TOPOLOGY_H

#include "internal.h"

struct cxlmu_node {
	unsigned ncpus;
	char cpulist[96];              /* as sysfs writes it; "" when none */
	uint64_t mem_total;            /* bytes */
	uint64_t mem_free;             /* bytes */
	uint8_t distance[CXLMU_MAX_NODES];
	int tier;                      /* memory_tier id, -1 when unknown */
	char region[16];               /* the CXL region backing it ("region0"), or "" */
};

struct cxlmu_topology {
	cxlmu_nodemask_t online;       /* nodes present */
	cxlmu_nodemask_t has_cpu;
	cxlmu_nodemask_t has_memory;   /* mem_total > 0 */
	cxlmu_nodemask_t cxl_region;   /* backed by a CXL region (through dax) */
	cxlmu_nodemask_t cxl;          /* chosen CXL set (cxlmu_topology_pick_cxl) */
	bool cxl_from_user;            /* cxl came from --cxl-nodes */
	bool tiers_known;              /* memory_tiering present */
	struct cxlmu_node node[CXLMU_MAX_NODES];
};

/* Read root/devices/system/node/..., root/devices/virtual/memory_tiering,
 * and the dax devices of CXL regions (root/bus/dax/devices: the memory a
 * RAM region onlined through dax/kmem, whose device path runs through a
 * region of root/bus/cxl/devices; or a pmem region's devdax namespace,
 * under the CXL root's nvdimm bridge, whose nvdimm region starts where a
 * CXL region does).
 * root is usually "/sys". Returns 0, or -errno when no node list exists. */
int cxlmu_topology_read(const char *root, struct cxlmu_topology *t);

/* Choose the CXL set: the user's mask when given (every node in it must be
 * online with memory, else -ENODEV and *bad gets the first bad node),
 * otherwise nodes with memory that a CXL region backs (CPUs or not) or that
 * have no CPUs (CXL memory the firmware onlined looks so). Returns 0 or
 * -ENODEV. */
int cxlmu_topology_pick_cxl(struct cxlmu_topology *t, bool user_set,
			    cxlmu_nodemask_t user_mask, unsigned *bad);

/* DRAM nodes: online, with memory, not in the CXL set. */
static inline cxlmu_nodemask_t cxlmu_topology_dram(const struct cxlmu_topology *t)
{
	return t->has_memory & ~t->cxl;
}

/* Format a mask as a node list ("0,2-3") into buf. */
int cxlmu_nodemask_format(cxlmu_nodemask_t mask, char *buf, size_t size);

#endif
