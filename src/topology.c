/* Topology discovery from sysfs (the same files libnuma reads), done with
 * raw reads so it can run inside the first malloc of the process. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "prim.h"
#include "topology.h"

static uint64_t parse_u64(const char *s, const char **end)
{
	uint64_t v = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	if (end)
		*end = s;
	return v;
}

/* A sysfs cpulist/nodelist ("0-3,8\n") as a count, for CPUs, or a mask. */
static unsigned list_count(const char *s)
{
	unsigned n = 0;

	while (*s >= '0' && *s <= '9') {
		uint64_t lo = parse_u64(s, &s), hi = lo;
		if (*s == '-')
			hi = parse_u64(s + 1, &s);
		n += (unsigned)(hi - lo + 1);
		if (*s != ',')
			break;
		s++;
	}
	return n;
}

static void chomp(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* meminfo: "Node 0 MemTotal:       16314324 kB" */
static uint64_t meminfo_field(const char *text, const char *field)
{
	const char *p = strstr(text, field);
	return p ? parse_u64(p + strlen(field), NULL) * 1024 : 0;
}

static void read_tier(const char *root, int id, struct cxlmu_topology *t)
{
	char path[256], buf[256];
	cxlmu_nodemask_t mask;

	snprintf(path, sizeof(path),
		 "%s/devices/virtual/memory_tiering/memory_tier%d/nodelist", root, id);
	if (cxlmu_prim_read_file(path, buf, sizeof(buf)) <= 0)
		return;
	chomp(buf);
	if (cxlmu_parse_nodelist(buf, &mask))
		return;
	t->tiers_known = true;
	for (unsigned n = 0; n < CXLMU_MAX_NODES; n++)
		if (mask & (1ull << n))
			t->node[n].tier = id;
}

/* Tier ids are abstract distances >> 7 (DRAM is 4): list the directory
 * rather than probe every id. */
static void read_tiers(const char *root, struct cxlmu_topology *t)
{
	char path[256], names[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/devices/virtual/memory_tiering", root);
	n = cxlmu_prim_list_dir(path, names, sizeof(names));
	for (const char *s = names; n > 0 && s < names + n; s += strlen(s) + 1) {
		int id = 0;
		if (strncmp(s, "memory_tier", 11) || !s[11])
			continue;
		for (const char *d = s + 11; *d >= '0' && *d <= '9'; d++)
			id = id * 10 + (*d - '0');
		read_tier(root, id, t);
	}
}

/* The first component of path after one that starts with after ("decoder",
 * "ndbus") when it is "region<N>": into name. */
static bool region_after(const char *path, const char *after, char *name, size_t size)
{
	const char *p = path;
	size_t n = strlen(after);

	while ((p = strchr(p, '/'))) {
		const char *r, *e;
		p++;
		if (strncmp(p, after, n) || !(r = strchr(p, '/')) || strncmp(r + 1, "region", 6))
			continue;
		r++;
		e = strchrnul(r, '/');
		if ((size_t)(e - r) >= size)
			return false;
		memcpy(name, r, (size_t)(e - r));
		name[e - r] = '\0';
		return true;
	}
	return false;
}

static bool cxl_region_listed(const char *root, const char *name)
{
	char path[256];

	/* The bus lists its devices as links. */
	snprintf(path, sizeof(path), "%s/bus/cxl/devices/%s", root, name);
	return cxlmu_prim_readlink(path, (char[8]){ 0 }, 8) >= 0;
}

/* The CXL region whose address range starts where nvdimm region nd does:
 * a pmem region's namespace sits under the CXL root's nvdimm bridge, not
 * under the region ("root0/nvdimm-bridge0/ndbus0/region0/dax0.0/dax0.0"
 * on 6.12), and both regions report the same resource. */
static bool cxl_region_at(const char *root, const char *nd, char *name, size_t size)
{
	char path[256], want[32], got[32], names[2048];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/bus/nd/devices/%s/resource", root, nd);
	if (cxlmu_prim_read_file(path, want, sizeof(want)) <= 0)
		return false;
	snprintf(path, sizeof(path), "%s/bus/cxl/devices", root);
	n = cxlmu_prim_list_dir(path, names, sizeof(names));
	for (const char *s = names; n > 0 && s < names + n; s += strlen(s) + 1) {
		if (strncmp(s, "region", 6) || strlen(s) >= size)
			continue;
		snprintf(path, sizeof(path), "%s/bus/cxl/devices/%.32s/resource", root, s);
		if (cxlmu_prim_read_file(path, got, sizeof(got)) > 0 && !strcmp(got, want)) {
			strcpy(name, s);
			return true;
		}
	}
	return false;
}

/* The CXL region behind a dax device, from its device path (link): a RAM
 * region's dax device sits under the region ("root0/decoder0.0/region0/
 * dax_region0/dax0.0"); a pmem region's devdax namespace under the CXL
 * root's nvdimm bridge, found by address (cxl_region_at). Only a region
 * root/bus/cxl/devices lists counts. */
static bool cxl_region_of(const char *root, const char *link, char *name, size_t size)
{
	char nd[16];

	if (region_after(link, "decoder", name, size))
		return cxl_region_listed(root, name);
	if (strstr(link, "/nvdimm-bridge") && region_after(link, "ndbus", nd, sizeof(nd)))
		return cxl_region_at(root, nd, name, size);
	return false;
}

/* Nodes that CXL regions back: each dax device whose path runs through
 * one, and its target node. */
static void read_cxl_regions(const char *root, struct cxlmu_topology *t)
{
	char path[256], link[512], names[4096], buf[32], region[16];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/bus/dax/devices", root);
	n = cxlmu_prim_list_dir(path, names, sizeof(names));
	for (const char *s = names; n > 0 && s < names + n; s += strlen(s) + 1) {
		uint64_t node;
		const char *end;
		snprintf(path, sizeof(path), "%s/bus/dax/devices/%.64s", root, s);
		if (cxlmu_prim_readlink(path, link, sizeof(link)) <= 0 ||
		    !cxl_region_of(root, link, region, sizeof(region)))
			continue;
		snprintf(path, sizeof(path), "%s/bus/dax/devices/%.64s/target_node", root, s);
		if (cxlmu_prim_read_file(path, buf, sizeof(buf)) <= 0 || buf[0] < '0' || buf[0] > '9')
			continue;
		node = parse_u64(buf, &end);
		if (node >= CXLMU_MAX_NODES)
			continue;
		t->cxl_region |= 1ull << node;
		memcpy(t->node[node].region, region, sizeof(region));
	}
}

int cxlmu_topology_read(const char *root, struct cxlmu_topology *t)
{
	char path[256], buf[4096];
	ssize_t len;

	memset(t, 0, sizeof(*t));
	for (unsigned n = 0; n < CXLMU_MAX_NODES; n++)
		t->node[n].tier = -1;

	snprintf(path, sizeof(path), "%s/devices/system/node/online", root);
	len = cxlmu_prim_read_file(path, buf, sizeof(buf));
	if (len < 0)
		return (int)len;
	chomp(buf);
	if (cxlmu_parse_nodelist(buf, &t->online))
		return -EINVAL;

	for (unsigned n = 0; n < CXLMU_MAX_NODES; n++) {
		struct cxlmu_node *node = &t->node[n];
		const char *s;

		if (!(t->online & (1ull << n)))
			continue;
		snprintf(path, sizeof(path), "%s/devices/system/node/node%u/cpulist", root, n);
		if (cxlmu_prim_read_file(path, node->cpulist, sizeof(node->cpulist)) > 0) {
			chomp(node->cpulist);
			node->ncpus = list_count(node->cpulist);
		}
		if (node->ncpus)
			t->has_cpu |= 1ull << n;

		snprintf(path, sizeof(path), "%s/devices/system/node/node%u/meminfo", root, n);
		if (cxlmu_prim_read_file(path, buf, sizeof(buf)) > 0) {
			node->mem_total = meminfo_field(buf, "MemTotal:");
			node->mem_free = meminfo_field(buf, "MemFree:");
		}
		if (node->mem_total)
			t->has_memory |= 1ull << n;

		snprintf(path, sizeof(path), "%s/devices/system/node/node%u/distance", root, n);
		if (cxlmu_prim_read_file(path, buf, sizeof(buf)) > 0) {
			/* One entry per online node, in node order. */
			s = buf;
			for (unsigned m = 0; m < CXLMU_MAX_NODES; m++) {
				if (!(t->online & (1ull << m)))
					continue;
				uint64_t d = parse_u64(s, &s);
				node->distance[m] = d > 255 ? 255 : (uint8_t)d;
			}
		}
	}
	read_tiers(root, t);
	read_cxl_regions(root, t);
	return 0;
}

int cxlmu_topology_pick_cxl(struct cxlmu_topology *t, bool user_set,
			    cxlmu_nodemask_t user_mask, unsigned *bad)
{
	if (user_set) {
		cxlmu_nodemask_t missing = user_mask & ~t->has_memory;
		if (missing) {
			if (bad)
				*bad = (unsigned)__builtin_ctzll(missing);
			t->cxl = 0;
			return -ENODEV;
		}
		t->cxl = user_mask;
		t->cxl_from_user = true;
		return 0;
	}
	t->cxl = t->has_memory & (~t->has_cpu | t->cxl_region);
	t->cxl_from_user = false;
	return 0;
}

int cxlmu_nodemask_format(cxlmu_nodemask_t mask, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < CXLMU_MAX_NODES && n < size; i++) {
		unsigned j = i;
		if (!(mask & (1ull << i)))
			continue;
		while (j + 1 < CXLMU_MAX_NODES && (mask & (1ull << (j + 1))))
			j++;
		if (j == i)
			n += (size_t)snprintf(buf + n, size - n, "%s%u", n ? "," : "", i);
		else
			n += (size_t)snprintf(buf + n, size - n, "%s%u-%u", n ? "," : "", i, j);
		i = j;
	}
	return (int)n;
}
