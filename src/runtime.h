/* Start-up and shut-down of the runtime: reads the configuration, the
 * topology, sets up the heap and mapping modules, writes the exit report.
 * Start-up happens on the first allocation (before constructors), or in
 * the library constructor, whichever comes first. */
#ifndef CXLMU_SRC_RUNTIME_H
#define CXLMU_SRC_RUNTIME_H

#include <stdatomic.h>
#include "internal.h"
#include "options.h"
#include "topology.h"

extern _Atomic int cxlmu_runtime_state;   /* 0 not started, 1 starting, 2 ready */

void cxlmu_runtime_start(void);
static inline void cxlmu_runtime_ensure(void)
{
	if (unlikely(atomic_load_explicit(&cxlmu_runtime_state, memory_order_acquire) != 2))
		cxlmu_runtime_start();
}

/* Write the stats report now (also done at exit when --stats is on). */
int cxlmu_runtime_report(int fd, enum cxlmu_stats_format fmt);

#endif
