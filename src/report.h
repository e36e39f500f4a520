/* The --stats report (src/report.c). */
#ifndef CXLMU_SRC_REPORT_H
#define CXLMU_SRC_REPORT_H

#include "internal.h"
#include "options.h"
#include "topology.h"

/* Write the report for cfg to fd: 0 or the first write's -errno. */
int cxlmu_report_write(int fd, const struct cxlmu_config *cfg,
		       const struct cxlmu_topology *topo, enum cxlmu_stats_format fmt);

#endif
