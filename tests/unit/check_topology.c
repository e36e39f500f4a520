/* Unit tests of src/topology.c against fake sysfs trees built in a
 * temporary directory: nodes, CPUs, memory, distances, memory tiers, the
 * CXL set (detected and given), and node list formatting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "topology.h"
#include "unit.h"

static char *root;
static struct cxlmu_topology t;

static void tree_setup(void)
{
	root = unit_mkdtemp("sysfs");
}

static void tree_teardown(void)
{
	unit_rm_tree(root);
	free(root);
	root = NULL;
}

static void put(const char *rel, const char *text)
{
	unit_write_file(root, rel, text);
}

static void node_files(unsigned n, const char *cpulist, unsigned long long total_kb,
		       unsigned long long free_kb, const char *distance)
{
	char rel[128], text[512];

	snprintf(rel, sizeof(rel), "devices/system/node/node%u/cpulist", n);
	put(rel, cpulist);
	/* The kernel's format, in kB, with the other fields around. */
	snprintf(text, sizeof(text),
		 "Node %u MemTotal:       %llu kB\n"
		 "Node %u MemFree:        %llu kB\n"
		 "Node %u MemUsed:        %llu kB\n"
		 "Node %u Active:           123456 kB\n",
		 n, total_kb, n, free_kb, n, total_kb - free_kb, n);
	snprintf(rel, sizeof(rel), "devices/system/node/node%u/meminfo", n);
	put(rel, text);
	snprintf(rel, sizeof(rel), "devices/system/node/node%u/distance", n);
	put(rel, distance);
}

/* Node 0: DRAM with CPUs; node 1: memory, no CPUs (CXL-like); node 2 as
 * the test wants. Tiers: 0 in memory_tier4, 1 in memory_tier22. */
enum node2 { NODE2_CPUS_NO_MEMORY, NODE2_CPUS_AND_MEMORY, NODE2_MEMORY_ONLY };

static void standard_tree(enum node2 kind)
{
	put("devices/system/node/online", "0-2\n");
	put("devices/system/node/possible", "0-7\n");
	node_files(0, "0-3\n", 16314324, 8000000, "10 20 20\n");
	node_files(1, "\n", 8388608, 8388000, "20 10 30\n");
	switch (kind) {
	case NODE2_CPUS_NO_MEMORY:
		node_files(2, "4-5,8\n", 0, 0, "20 30 10\n");
		break;
	case NODE2_CPUS_AND_MEMORY:
		node_files(2, "4-5,8\n", 4194304, 1000, "20 30 10\n");
		break;
	case NODE2_MEMORY_ONLY:
		node_files(2, "\n", 4194304, 1000, "20 30 10\n");
		break;
	}
	put("devices/virtual/memory_tiering/memory_tier4/nodelist", "0\n");
	put("devices/virtual/memory_tiering/memory_tier22/nodelist", "1\n");
	put("devices/virtual/memory_tiering/uevent", "");
	put("devices/virtual/memory_tiering/power/async", "disabled\n");
}

static void read_ok(void)
{
	int r = cxlmu_topology_read(root, &t);
	ck_assert_msg(r == 0, "reading the fake tree at %s failed (%d)", root, r);
}

/* ----------------------------------------------------------------------- */
/* Reading                                                                   */
/* ----------------------------------------------------------------------- */

START_TEST(read_nodes)
{
	standard_tree(NODE2_CPUS_NO_MEMORY);
	read_ok();
	ck_assert_msg(t.online == 0x7, "online '0-2' read as %#llx", (unsigned long long)t.online);
	ck_assert_msg(t.has_cpu == 0x5, "nodes with CPUs %#llx, want 0,2",
		      (unsigned long long)t.has_cpu);
	ck_assert_msg(t.has_memory == 0x3, "nodes with memory %#llx, want 0,1 (node 2 has 0 kB)",
		      (unsigned long long)t.has_memory);
}
END_TEST

START_TEST(read_cpus)
{
	standard_tree(NODE2_CPUS_NO_MEMORY);
	read_ok();
	ck_assert_msg(t.node[0].ncpus == 4 && !strcmp(t.node[0].cpulist, "0-3"),
		      "node 0 cpulist '0-3\\n': %u CPUs, '%s'", t.node[0].ncpus, t.node[0].cpulist);
	ck_assert_msg(t.node[1].ncpus == 0 && !strcmp(t.node[1].cpulist, ""),
		      "node 1 cpulist '\\n': %u CPUs, '%s'", t.node[1].ncpus, t.node[1].cpulist);
	ck_assert_msg(t.node[2].ncpus == 3 && !strcmp(t.node[2].cpulist, "4-5,8"),
		      "node 2 cpulist '4-5,8\\n': %u CPUs, '%s'", t.node[2].ncpus, t.node[2].cpulist);
}
END_TEST

START_TEST(read_memory)
{
	standard_tree(NODE2_CPUS_NO_MEMORY);
	read_ok();
	ck_assert_msg(t.node[0].mem_total == 16314324ull * 1024,
		      "node 0 'MemTotal: 16314324 kB' read as %llu bytes",
		      (unsigned long long)t.node[0].mem_total);
	ck_assert_msg(t.node[0].mem_free == 8000000ull * 1024,
		      "node 0 'MemFree: 8000000 kB' read as %llu bytes",
		      (unsigned long long)t.node[0].mem_free);
	ck_assert_msg(t.node[1].mem_total == 8388608ull * 1024 && t.node[1].mem_free == 8388000ull * 1024,
		      "node 1 memory %llu / %llu", (unsigned long long)t.node[1].mem_total,
		      (unsigned long long)t.node[1].mem_free);
	ck_assert_msg(t.node[2].mem_total == 0, "node 2 'MemTotal: 0 kB' read as %llu",
		      (unsigned long long)t.node[2].mem_total);
}
END_TEST

START_TEST(read_distances)
{
	static const uint8_t want[3][3] = { { 10, 20, 20 }, { 20, 10, 30 }, { 20, 30, 10 } };

	standard_tree(NODE2_CPUS_NO_MEMORY);
	read_ok();
	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 3; b++)
			ck_assert_msg(t.node[a].distance[b] == want[a][b], "distance %d->%d is %u, want %u",
				      a, b, t.node[a].distance[b], want[a][b]);
	ck_assert_msg(t.node[0].distance[3] == 0 && t.node[3].distance[0] == 0,
		      "distances of an offline node are not 0");
}
END_TEST

START_TEST(read_tiers)
{
	standard_tree(NODE2_CPUS_NO_MEMORY);
	read_ok();
	ck_assert_msg(t.tiers_known, "memory_tiering present but tiers_known false");
	ck_assert_msg(t.node[0].tier == 4, "node 0 in memory_tier4, read tier %d", t.node[0].tier);
	ck_assert_msg(t.node[1].tier == 22, "node 1 in memory_tier22, read tier %d", t.node[1].tier);
	ck_assert_msg(t.node[2].tier == -1, "node 2 in no tier, read tier %d", t.node[2].tier);
	ck_assert_msg(t.node[40].tier == -1, "node 40 (absent) has tier %d", t.node[40].tier);
}
END_TEST

START_TEST(read_no_tiers)
{
	put("devices/system/node/online", "0-1\n");
	node_files(0, "0-1\n", 1000, 500, "10 20\n");
	node_files(1, "\n", 2000, 1500, "20 10\n");
	read_ok();
	ck_assert_msg(!t.tiers_known, "no memory_tiering directory but tiers_known");
	for (int n = 0; n < CXLMU_MAX_NODES; n++)
		ck_assert_msg(t.node[n].tier == -1, "node %d has tier %d without memory_tiering", n,
			      t.node[n].tier);
	ck_assert_msg(t.has_memory == 0x3 && t.has_cpu == 0x1, "two-node tree: memory %#llx cpus %#llx",
		      (unsigned long long)t.has_memory, (unsigned long long)t.has_cpu);
}
END_TEST

/* Node ids with a gap: distance entries go to online nodes in order. */
START_TEST(read_sparse)
{
	put("devices/system/node/online", "0,2\n");
	node_files(0, "0-1\n", 1000, 500, "10 21\n");
	node_files(2, "\n", 2000, 1500, "21 10\n");
	put("devices/virtual/memory_tiering/memory_tier4/nodelist", "0\n");
	put("devices/virtual/memory_tiering/memory_tier12/nodelist", "2\n");
	read_ok();
	ck_assert_msg(t.online == 0x5, "online '0,2' read as %#llx", (unsigned long long)t.online);
	ck_assert_msg(t.node[0].distance[2] == 21 && t.node[2].distance[0] == 21 &&
		      t.node[2].distance[2] == 10 && t.node[0].distance[1] == 0,
		      "sparse distances 0->2 %u, 2->0 %u, 2->2 %u, 0->1 %u", t.node[0].distance[2],
		      t.node[2].distance[0], t.node[2].distance[2], t.node[0].distance[1]);
	ck_assert_msg(t.node[2].tier == 12 && t.node[0].tier == 4, "sparse tiers %d %d",
		      t.node[0].tier, t.node[2].tier);
}
END_TEST

/* A node directory without meminfo or cpulist: no memory, no CPUs. */
START_TEST(read_missing_files)
{
	put("devices/system/node/online", "0-1\n");
	node_files(0, "0\n", 1000, 500, "10 20\n");
	put("devices/system/node/node1/distance", "20 10\n");
	read_ok();
	ck_assert_msg(t.has_memory == 0x1 && t.has_cpu == 0x1,
		      "node 1 without meminfo/cpulist: memory %#llx cpus %#llx",
		      (unsigned long long)t.has_memory, (unsigned long long)t.has_cpu);
	ck_assert_msg(t.node[1].distance[0] == 20, "node 1 distance not read");
}
END_TEST

START_TEST(read_missing_root)
{
	char path[4096];
	int r;

	snprintf(path, sizeof(path), "%s/does-not-exist", root);
	r = cxlmu_topology_read(path, &t);
	ck_assert_msg(r == -ENOENT, "missing root '%s' gave %d, want -ENOENT", path, r);
	r = cxlmu_topology_read(root, &t);
	ck_assert_msg(r == -ENOENT, "root '%s' without node/online gave %d, want -ENOENT", root, r);
}
END_TEST

START_TEST(read_bad_online)
{
	static const char *const bad[] = { "x\n", "\n", "", "0-64\n", "2-1\n" };

	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(bad); i++) {
		int r;
		put("devices/system/node/online", bad[i]);
		r = cxlmu_topology_read(root, &t);
		ck_assert_msg(r == -EINVAL, "node/online '%s' gave %d, want -EINVAL", bad[i], r);
	}
}
END_TEST

/* ----------------------------------------------------------------------- */
/* CXL regions                                                               */
/* ----------------------------------------------------------------------- */

/* rel as a symbolic link to target, as sysfs lists bus devices. */
static void link_at(const char *rel, const char *target)
{
	char path[4096];

	unit_write_file(root, rel, "");
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	ck_assert_msg(unlink(path) == 0 && symlink(target, path) == 0, "symlink '%s'", path);
}

/* A dax device at devices/DEV with its target node, listed on the dax bus. */
static void dax_device(const char *name, const char *dev, const char *node)
{
	char rel[512], target[512];

	snprintf(rel, sizeof(rel), "devices/%s/target_node", dev);
	put(rel, node);
	snprintf(rel, sizeof(rel), "bus/dax/devices/%s", name);
	snprintf(target, sizeof(target), "../../../devices/%s", dev);
	link_at(rel, target);
}

#define CXL_ROOT "platform/ACPI0017:00/root0"

/* The shapes Linux gives: a RAM region onlined through dax/kmem (its
 * node has CPUs here, as on some platforms), a pmem region through an
 * nvdimm devdax namespace (whose nvdimm region is also called region*),
 * a dax device of no CXL region (HMEM), and one whose decoder names a
 * region the CXL bus does not list. */
START_TEST(cxl_regions)
{
	standard_tree(NODE2_CPUS_AND_MEMORY);
	link_at("bus/cxl/devices/region0", "../../../devices/" CXL_ROOT "/decoder0.0/region0");
	link_at("bus/cxl/devices/region1", "../../../devices/" CXL_ROOT "/decoder0.1/region1");
	dax_device("dax0.0", CXL_ROOT "/decoder0.0/region0/dax_region0/dax0.0", "2\n");
	dax_device("dax3.0", CXL_ROOT "/decoder0.1/region1/pmem_region1/ndbus1/region3/dax3.0/dax3.0",
		   "1\n");
	dax_device("dax4.0", "platform/hmem.0/dax4.0", "0\n");
	dax_device("dax5.0", CXL_ROOT "/decoder0.2/region9/dax_region9/dax5.0", "0\n");
	read_ok();
	ck_assert_msg(t.cxl_region == 0x6, "nodes CXL regions back %#llx, want 1-2",
		      (unsigned long long)t.cxl_region);
	ck_assert_str_eq(t.node[2].region, "region0");
	ck_assert_str_eq(t.node[1].region, "region1");
	ck_assert_str_eq(t.node[0].region, "");
	ck_assert_int_eq(cxlmu_topology_pick_cxl(&t, false, 0, NULL), 0);
	ck_assert_msg(t.cxl == 0x6, "auto CXL set %#llx, want 1-2 (node 2 has CPUs, a region backs it)",
		      (unsigned long long)t.cxl);
	/* --cxl-nodes still decides. */
	ck_assert_int_eq(cxlmu_topology_pick_cxl(&t, true, 0x1, NULL), 0);
	ck_assert_msg(t.cxl == 0x1, "user CXL set %#llx, want 0", (unsigned long long)t.cxl);
}
END_TEST

/* Linux 6.12's pmem layout: the devdax namespace sits under the CXL
 * root's nvdimm bridge, and its nvdimm region is matched to the CXL region
 * that starts at the same address (named differently here to show it). */
START_TEST(cxl_regions_pmem_bridge)
{
	standard_tree(NODE2_MEMORY_ONLY);
	put("devices/" CXL_ROOT "/decoder0.0/region5/resource", "0x110000000\n");
	link_at("bus/cxl/devices/region5", "../../../devices/" CXL_ROOT "/decoder0.0/region5");
	put("devices/" CXL_ROOT "/decoder0.1/region6/resource", "0x210000000\n");
	link_at("bus/cxl/devices/region6", "../../../devices/" CXL_ROOT "/decoder0.1/region6");
	put("devices/" CXL_ROOT "/nvdimm-bridge0/ndbus0/region0/resource", "0x110000000\n");
	link_at("bus/nd/devices/region0",
		"../../../devices/" CXL_ROOT "/nvdimm-bridge0/ndbus0/region0");
	dax_device("dax0.0", CXL_ROOT "/nvdimm-bridge0/ndbus0/region0/dax0.0/dax0.0", "1\n");
	/* An nvdimm region of no CXL region's address (an NFIT one, say). */
	put("devices/" CXL_ROOT "/nvdimm-bridge0/ndbus0/region1/resource", "0x990000000\n");
	link_at("bus/nd/devices/region1",
		"../../../devices/" CXL_ROOT "/nvdimm-bridge0/ndbus0/region1");
	dax_device("dax1.0", CXL_ROOT "/nvdimm-bridge0/ndbus0/region1/dax1.0/dax1.0", "2\n");
	read_ok();
	ck_assert_msg(t.cxl_region == 0x2, "nodes CXL regions back %#llx, want 1",
		      (unsigned long long)t.cxl_region);
	ck_assert_str_eq(t.node[1].region, "region5");
	ck_assert_str_eq(t.node[2].region, "");
}
END_TEST

/* No dax bus, or an empty one: no node is region-backed. */
START_TEST(cxl_regions_none)
{
	standard_tree(NODE2_CPUS_AND_MEMORY);
	read_ok();
	ck_assert_uint_eq(t.cxl_region, 0);
	put("bus/dax/devices/.keep", "");
	read_ok();
	ck_assert_uint_eq(t.cxl_region, 0);
}
END_TEST

/* ----------------------------------------------------------------------- */
/* The CXL set                                                               */
/* ----------------------------------------------------------------------- */

START_TEST(cxl_auto)
{
	static const struct { enum node2 kind; cxlmu_nodemask_t cxl; const char *what; } cases[] = {
		{ NODE2_CPUS_NO_MEMORY, 0x2, "node 2 with CPUs and no memory" },
		{ NODE2_CPUS_AND_MEMORY, 0x2, "node 2 with CPUs and memory" },
		{ NODE2_MEMORY_ONLY, 0x6, "node 2 with memory and no CPUs" },
	};

	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(cases); i++) {
		unsigned bad = 99;
		standard_tree(cases[i].kind);
		read_ok();
		ck_assert_msg(cxlmu_topology_pick_cxl(&t, false, 0, &bad) == 0,
			      "auto pick failed, %s", cases[i].what);
		ck_assert_msg(t.cxl == cases[i].cxl, "auto pick, %s: cxl %#llx, want %#llx",
			      cases[i].what, (unsigned long long)t.cxl,
			      (unsigned long long)cases[i].cxl);
		ck_assert_msg(!t.cxl_from_user, "auto pick marked as the user's, %s", cases[i].what);
		ck_assert_msg(cxlmu_topology_dram(&t) == (t.has_memory & ~cases[i].cxl),
			      "DRAM set %#llx, %s", (unsigned long long)cxlmu_topology_dram(&t),
			      cases[i].what);
	}
}
END_TEST

/* Every node has CPUs: no CXL node detected. */
START_TEST(cxl_auto_none)
{
	put("devices/system/node/online", "0\n");
	node_files(0, "0-1\n", 1000, 500, "10\n");
	read_ok();
	ck_assert_msg(cxlmu_topology_pick_cxl(&t, false, 0, NULL) == 0, "auto pick failed");
	ck_assert_msg(t.cxl == 0, "one node with CPUs, yet cxl %#llx", (unsigned long long)t.cxl);
	ck_assert_msg(cxlmu_topology_dram(&t) == 0x1, "DRAM set %#llx",
		      (unsigned long long)cxlmu_topology_dram(&t));
}
END_TEST

static const struct { const char *list; unsigned bad; } user_masks[] = {
	/* bad: the node reported, or 99 when the mask is accepted */
	{ "1", 99 },
	{ "0", 99 },
	{ "0-1", 99 },
	{ "2", 2 },          /* online, no memory */
	{ "1-2", 2 },
	{ "5", 5 },          /* offline */
	{ "1,5", 5 },
	{ "3,63", 3 },       /* first bad one */
	{ "2,5", 2 },
};

START_TEST(cxl_user)
{
	const char *list = user_masks[_i].list;
	cxlmu_nodemask_t mask;
	unsigned bad = 99;
	int r;

	standard_tree(NODE2_CPUS_NO_MEMORY);
	read_ok();
	ck_assert_msg(cxlmu_parse_nodelist(list, &mask) == 0, "list '%s' refused", list);
	t.cxl = 0x80;   /* stale value: must be replaced either way */
	r = cxlmu_topology_pick_cxl(&t, true, mask, &bad);
	if (user_masks[_i].bad == 99) {
		ck_assert_msg(r == 0, "user CXL nodes '%s' refused (%d), bad node %u", list, r, bad);
		ck_assert_msg(t.cxl == mask && t.cxl_from_user, "user CXL nodes '%s': cxl %#llx from_user %d",
			      list, (unsigned long long)t.cxl, t.cxl_from_user);
	} else {
		ck_assert_msg(r == -ENODEV, "user CXL nodes '%s' accepted (%d)", list, r);
		ck_assert_msg(bad == user_masks[_i].bad, "user CXL nodes '%s': bad node %u, want %u",
			      list, bad, user_masks[_i].bad);
		ck_assert_msg(t.cxl == 0, "refused CXL nodes '%s' left cxl %#llx", list,
			      (unsigned long long)t.cxl);
	}
}
END_TEST

/* ----------------------------------------------------------------------- */
/* cxlmu_nodemask_format                                                     */
/* ----------------------------------------------------------------------- */

static const struct { cxlmu_nodemask_t mask; const char *text; } formats[] = {
	{ 0, "" },
	{ 0x1, "0" },
	{ 0x2, "1" },
	{ 0x3, "0-1" },
	{ 0xd, "0,2-3" },
	{ 0x15, "0,2,4" },
	{ 0x36, "1-2,4-5" },
	{ 1ull << 63, "63" },
	{ 3ull << 62, "62-63" },
	{ ~0ull, "0-63" },
	{ 0x8000000000000001ull, "0,63" },
	{ 0x5555555555555555ull, NULL },   /* round trip only */
	{ 0xf0f0f0f0f0f0f0f0ull, NULL },
};

START_TEST(format)
{
	cxlmu_nodemask_t mask = formats[_i].mask, back = 0;
	char buf[512];
	int n = cxlmu_nodemask_format(mask, buf, sizeof(buf));

	ck_assert_msg(n == (int)strlen(buf), "mask %#llx: returned %d for '%s'",
		      (unsigned long long)mask, n, buf);
	if (formats[_i].text)
		ck_assert_msg(!strcmp(buf, formats[_i].text), "mask %#llx formats as '%s', want '%s'",
			      (unsigned long long)mask, buf, formats[_i].text);
	if (mask) {
		ck_assert_msg(cxlmu_parse_nodelist(buf, &back) == 0 && back == mask,
			      "mask %#llx -> '%s' -> %#llx", (unsigned long long)mask, buf,
			      (unsigned long long)back);
	}
}
END_TEST

START_TEST(format_truncated)
{
	char buf[4];

	memset(buf, 'x', sizeof(buf));
	cxlmu_nodemask_format(0xd, buf, sizeof(buf));
	ck_assert_msg(memchr(buf, '\0', sizeof(buf)) != NULL, "format into 4 bytes not terminated");
	ck_assert_msg(!strcmp(buf, "0,2"), "'0,2-3' into 4 bytes gave '%s'", buf);
}
END_TEST

Suite *suite_topology(void)
{
	Suite *s = suite_create("topology");
	TCase *tc;

	tc = tcase_create("read");
	tcase_add_checked_fixture(tc, tree_setup, tree_teardown);
	tcase_add_test(tc, read_nodes);
	tcase_add_test(tc, read_cpus);
	tcase_add_test(tc, read_memory);
	tcase_add_test(tc, read_distances);
	tcase_add_test(tc, read_tiers);
	tcase_add_test(tc, read_no_tiers);
	tcase_add_test(tc, read_sparse);
	tcase_add_test(tc, read_missing_files);
	tcase_add_test(tc, read_missing_root);
	tcase_add_test(tc, read_bad_online);
	suite_add_tcase(s, tc);

	tc = tcase_create("cxl-set");
	tcase_add_checked_fixture(tc, tree_setup, tree_teardown);
	tcase_add_test(tc, cxl_auto);
	tcase_add_test(tc, cxl_auto_none);
	tcase_add_test(tc, cxl_regions);
	tcase_add_test(tc, cxl_regions_pmem_bridge);
	tcase_add_test(tc, cxl_regions_none);
	tcase_add_loop_test(tc, cxl_user, 0, CXLMU_ARRAY_SIZE(user_masks));
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_loop_test(tc, format, 0, CXLMU_ARRAY_SIZE(formats));
	tcase_add_test(tc, format_truncated);
	suite_add_tcase(s, tc);

	return s;
}
