/* Runtime start-up and exit report. cxlmu_runtime_start is idempotent and
 * safe from any thread; it never fails the program: every problem ends in
 * one warning and the local policy. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
#include <numaif.h>

#include "callsite.h"
#include "file.h"
#include "heap.h"
#include "log.h"
#include "mapping.h"
#include "prim.h"
#include "profile.h"
#include "remote.h"
#include "report.h"
#include "runtime.h"
#include "sandbox.h"
#include "scheduler.h"
#include "sites.h"
#include "stats.h"
#include "wait.h"

_Atomic int cxlmu_runtime_state;
static CXLMU_TLS bool starting;
static struct cxlmu_config cfg;
static struct cxlmu_topology topo;
static bool any_bad;
static bool secure;          /* AT_SECURE: the environment is not trusted */
static struct cxlmu_fd report_fd = { .fd = -1 };   /* stderr, duplicated at start */
static struct cxlmu_fd stderr_id = { .fd = -1 };   /* what fd 2 was at start */

static void warn_option(const char *fmt, ...)
{
	char line[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Unknown names are worth a word but do not change the policy. */
	if (strstr(line, "is not a cxlmu option")) {
		cxlmu_log_warn("%s", line);
		return;
	}
	any_bad = true;
	cxlmu_log_warn("%s; running with the local policy", line);
}

/* The policy in force; cfg.policy keeps what was asked, for the report. */
static struct cxlmu_policy policy;

static void go_local(void)
{
	policy.kind = CXLMU_POLICY_LOCAL;
}

/* Whether the user asked for placement. A policy that cannot be honoured
 * gets its one line only then: when it is just the default, it is said
 * under --log alone, so that a system-wide install on a machine without
 * CXL memory does not make every process print. */
static bool asked_placement(void)
{
	return cxlmu_config_given(&cfg, "policy") || cxlmu_config_given(&cfg, "cxl-nodes");
}

/* Under a seccomp filter from the start: nothing the plain program would
 * not do (src/sandbox.h). */
static void sandbox_config(void)
{
	static const char *const given[] = { "policy", "cxl-nodes", "sched", "wait", "remote" };
	bool asked = false;

	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(given); i++)
		asked |= cxlmu_config_given(&cfg, given[i]);
	cfg.sched = CXLMU_SCHED_OFF;
	cfg.no_mmap = true;
	cfg.remote[0] = '\0';
	go_local();
	/* What the user set and cannot have is worth its line. */
	cxlmu_log_at(asked, "a seccomp filter is in force: local policy, sleeps and waits go to "
		     "libc, no io_uring, no runtime thread, no remote functions");
}

static void after_fork_child(void)
{
	cxlmu_profile_after_fork();
	cxlmu_mapping_after_fork();
	cxlmu_wait_after_fork();
	cxlmu_sched_after_fork();
	cxlmu_remote_after_fork();
}

static void start(void)
{
	struct cxlmu_heap_config hc;
	char list[96];
	unsigned bad = 0;
	int r;

	cxlmu_config_defaults(&cfg);
	/* Secure-execution mode (setuid, setgid, capabilities): whoever set
	 * the environment is not trusted. Defaults only, nothing said, and
	 * the variables go, as ld.so's own unsafe ones do. */
	secure = getauxval(AT_SECURE) != 0;
	if (secure) {
		cxlmu_log_silence();
		cxlmu_env_scrub(environ);
	} else {
		cxlmu_config_from_env(&cfg, environ, warn_option);
	}
	/* A bad value is never applied (the other options are); whatever it
	 * was, the program runs with the local policy. */
	if (any_bad)
		cfg.policy.kind = CXLMU_POLICY_LOCAL;
	policy = cfg.policy;
	if (!secure)
		cxlmu_log_enable(cfg.log);
	if (cxlmu_sandbox_probe())
		sandbox_config();

	/* The rules file first: a bad one is the one thing to say. The
	 * rules are loaded before any module is seen, so that each module
	 * is matched against them once, as it is first seen. */
	hc.fallback = (struct cxlmu_policy){ .kind = CXLMU_POLICY_LOCAL };
	if (policy.kind == CXLMU_POLICY_SITES) {
		char err[320];
		r = cxlmu_sites_load(cfg.sites_path, err, sizeof(err));
		if (r) {
			cxlmu_log_warn("rules file %s: %s; running with the local policy",
				       cfg.sites_path, err);
			go_local();
		} else if (cfg.sites_fallback_set) {
			hc.fallback = cfg.sites_fallback;
		} else {
			cxlmu_sites_fallback(&hc.fallback);
		}
	}
	/* Under a filter the topology is not needed (local policy) and its
	 * directory reads may be what the filter forbids. */
	r = cxlmu_sandboxed() ? -EPERM : cxlmu_topology_read("/sys", &topo);
	if (r && cxlmu_sandboxed()) {
		topo.online = topo.has_memory = 1;
	} else if (r) {
		cxlmu_log_at(asked_placement(), "cannot read the NUMA topology from "
			     "/sys/devices/system/node (%s); running with the local policy",
			     strerrordesc_np(-r));
		topo.online = topo.has_memory = 1;
		go_local();
	} else if (cxlmu_topology_pick_cxl(&topo, cfg.cxl_nodes_set, cfg.cxl_nodes, &bad)) {
		cxlmu_nodemask_format(topo.has_memory, list, sizeof(list));
		cxlmu_log_warn("CXLMU_CXL_NODES names node %u, which is not a node with memory "
			       "here (nodes with memory: %s); running with the local policy", bad, list);
		go_local();
	} else if (!topo.cxl && policy.kind != CXLMU_POLICY_LOCAL) {
		cxlmu_log_at(asked_placement(), "no CXL node found (no node has memory and no "
			     "CPUs); running with the local policy (--cxl-nodes=LIST or "
			     "CXLMU_CXL_NODES names them)");
		go_local();
	}
	if (policy.kind != CXLMU_POLICY_LOCAL && (r = cxlmu_prim_numa_probe())) {
		cxlmu_log_at(asked_placement(), "NUMA system calls are not available (%s); "
			     "running with the local policy", strerrordesc_np(-r));
		go_local();
	}

	hc.profile = cfg.profile_path[0] != '\0';
	if (hc.profile || policy.kind == CXLMU_POLICY_SITES) {
		r = cxlmu_callsite_init(policy.kind == CXLMU_POLICY_SITES ? cxlmu_sites_on_module : NULL);
		if (r) {
			cxlmu_log_warn("cannot set up call sites (%s); %s",
				       cxlmu_callsite_error() ? cxlmu_callsite_error() : strerrordesc_np(-r),
				       hc.profile ? "no profile" : "running with the local policy");
			hc.profile = false;
			if (policy.kind == CXLMU_POLICY_SITES)
				go_local();
		}
	}
	if (hc.profile) {
		struct cxlmu_profile_config pc = {
			.path = cfg.profile_path,
			.sample_bytes = cfg.sample_bytes,
			.frames = cfg.site_frames,
			.run_id = cfg.run_id,
		};
		r = cxlmu_profile_init(&pc);
		if (r) {
			cxlmu_log_warn("cannot profile to %s (%s); no profile", cfg.profile_path,
				       strerrordesc_np(-r));
			hc.profile = false;
		}
	}

	hc.policy = policy;
	hc.strict = cfg.strict;
	/* The heap checks: where a corrupted heap is worth an attack (a
	 * secure-execution process, whose environment was not read), or asked
	 * for; elsewhere they would cost every allocation (docs/backend.md). */
	hc.check = cfg.heap_check == CXLMU_HEAP_CHECK_ON ||
		   (cfg.heap_check == CXLMU_HEAP_CHECK_AUTO && secure);
	hc.cxl = topo.cxl;
	hc.dram = cxlmu_topology_dram(&topo);
	hc.topo = &topo;
	r = cxlmu_heap_init(&hc);
	if (r)
		cxlmu_log_at(asked_placement(), "cannot set up CXL arenas (%s); running with "
			     "the local policy", strerrordesc_np(-r));
	cxlmu_mapping_enable(!cfg.no_mmap);
	cxlmu_wait_init(&cfg);
	cxlmu_sched_init(&cfg);
	pthread_atfork(NULL, NULL, after_fork_child);
	/* Programs may close stderr in their own exit handlers (coreutils'
	 * close_stdout does) before our destructor writes the report. */
	if (cfg.stats && !cfg.stats_path[0]) {
		int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
		if (fd >= 0)
			cxlmu_prim_fd_adopt(&report_fd, fd);
		cxlmu_prim_fd_note(&stderr_id, STDERR_FILENO);
	}

	cxlmu_nodemask_format(topo.cxl, list, sizeof(list));
	{
		char pol[64];
		cxlmu_policy_format(cxlmu_heap_policy(), pol, sizeof(pol));
		cxlmu_log_info("policy %s, cxl nodes %s (%s), %s binding", pol,
			       *list ? list : "none", topo.cxl_from_user ? "given" : "detected",
			       cfg.strict ? "strict" : "preferred");
	}
}

void cxlmu_runtime_start(void)
{
	int expect = 0;

	/* The first allocations can come from ld.so before libc has set
	 * environ; serve them unplaced and start on a later call. */
	if (starting || !environ)
		return;
	if (!atomic_compare_exchange_strong(&cxlmu_runtime_state, &expect, 1)) {
		while (atomic_load_explicit(&cxlmu_runtime_state, memory_order_acquire) == 1)
			cxlmu_prim_sched_yield();
		return;
	}
	starting = true;
	start();
	starting = false;
	atomic_store_explicit(&cxlmu_runtime_state, 2, memory_order_release);
}

int cxlmu_runtime_report(int fd, enum cxlmu_stats_format fmt)
{
	cxlmu_runtime_ensure();
	cxlmu_heap_merge();
	return cxlmu_report_write(fd, &cfg, &topo, fmt);
}

__attribute__((constructor)) static void cxlmu_ctor(void)
{
	cxlmu_runtime_ensure();
	/* Here rather than at the first malloc: the GOT walk and its checks
	 * call into ld.so and may load capstone, and every module loaded at
	 * start is relocated by now. */
	if (atomic_load(&cxlmu_runtime_state) == 2)
		cxlmu_remote_init(&cfg, &topo);
}

__attribute__((destructor)) static void cxlmu_dtor(void)
{
	struct cxlmu_out out = { .fd = -1 };
	char path[PATH_MAX];
	const char *why;
	int fd, r;

	/* Under a filter the program installed itself, the report and profile
	 * stay unwritten: the plain program would make no such calls
	 * (src/sandbox.h). */
	if (atomic_load(&cxlmu_runtime_state) != 2 || atomic_load(&cxlmu_sandbox_late))
		return;
	cxlmu_profile_write();
	if (!cfg.stats)
		return;
	if (cfg.stats_path[0]) {
		cxlmu_path_expand(cfg.stats_path, path, sizeof(path), (int)getpid());
		if (cxlmu_out_open(path, CXLMU_OUT_TRUNC, &out, &why)) {
			cxlmu_log_warn("cannot write the stats report to %s (%s)", path, why);
			return;
		}
		fd = out.fd;
	} else if (cxlmu_prim_fd_still(&report_fd)) {
		fd = report_fd.fd;
	} else if (cxlmu_prim_fd_same(&stderr_id)) {
		/* Our copy is gone (the program closed it); stderr is still
		 * the stderr it was at start. */
		fd = STDERR_FILENO;
	} else {
		/* Neither is what it was: the number may be the program's data
		 * file now. Nothing is written. */
		return;
	}
	cxlmu_heap_merge();
	if ((r = cxlmu_report_write(fd, &cfg, &topo, cfg.stats_format)) && out.fd >= 0)
		cxlmu_log_warn("cannot write the stats report to %s (%s)", path, strerrordesc_np(-r));
	cxlmu_out_close(&out);
	cxlmu_prim_fd_close(&report_fd);
}
