/* The options table and its parser. Everything configurable is a row here;
 * cxlmu-run builds its getopt table and --help from it, the man pages take
 * their OPTIONS and ENVIRONMENT sections from it, and the preloaded library
 * reads the CXLMU_* twins from environ (never getenv: this runs from the
 * first malloc, before libc is fully up). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "options.h"
#include "rules.h"

#define BOOL_ACCEPTED "1, 0, yes, no, on, off, true, false"

/* ----------------------------------------------------------------------- */
/* Per-option appliers                                                       */
/* ----------------------------------------------------------------------- */

static int set_policy(const char *v, struct cxlmu_config *cfg)
{
	if (v && !strncmp(v, "sites:", 6)) {
		if (!v[6] || strlen(v + 6) >= sizeof(cfg->sites_path))
			return -EINVAL;
		strcpy(cfg->sites_path, v + 6);
		cfg->policy = (struct cxlmu_policy){ .kind = CXLMU_POLICY_SITES };
		return 0;
	}
	cfg->sites_path[0] = '\0';
	return cxlmu_policy_parse(v, &cfg->policy);
}

static int set_sites_fallback(const char *v, struct cxlmu_config *cfg)
{
	if (v && !strcmp(v, "auto")) {
		cfg->sites_fallback_set = false;
		return 0;
	}
	if (cxlmu_policy_parse(v, &cfg->sites_fallback))
		return -EINVAL;
	cfg->sites_fallback_set = true;
	return 0;
}

static int set_profile(const char *v, struct cxlmu_config *cfg)
{
	if (!v || !*v || strlen(v) >= sizeof(cfg->profile_path))
		return -EINVAL;
	if (!strcmp(v, "off"))
		cfg->profile_path[0] = '\0';
	else
		strcpy(cfg->profile_path, v);
	return 0;
}

static int set_sample_bytes(const char *v, struct cxlmu_config *cfg)
{
	uint64_t n;

	if (cxlmu_parse_size(v, &n) || n == 0 || n > CXLMU_GiB)
		return -EINVAL;
	cfg->sample_bytes = n;
	return 0;
}

static int set_site_frames(const char *v, struct cxlmu_config *cfg)
{
	uint64_t n;

	if (cxlmu_parse_size(v, &n) || n == 0 || n > CXLMU_RULES_MAX_FRAMES ||
	    strpbrk(v, "kKmMgG"))
		return -EINVAL;
	cfg->site_frames = (unsigned)n;
	return 0;
}

static int set_cxl_nodes(const char *v, struct cxlmu_config *cfg)
{
	if (v && !strcmp(v, "auto")) {
		cfg->cxl_nodes_set = false;
		cfg->cxl_nodes = 0;
		return 0;
	}
	if (cxlmu_parse_nodelist(v, &cfg->cxl_nodes))
		return -EINVAL;
	cfg->cxl_nodes_set = true;
	return 0;
}

/* A flag given bare (--strict) is on; its twin takes a boolean. */
#define FLAG_SETTER(fn, field)						\
	static int fn(const char *v, struct cxlmu_config *cfg)		\
	{								\
		if (!v) { cfg->field = true; return 0; }		\
		return cxlmu_parse_bool(v, &cfg->field);		\
	}
FLAG_SETTER(set_strict, strict)
FLAG_SETTER(set_no_mmap, no_mmap)
FLAG_SETTER(set_log, log)

/* The index of v in names, or -1 (v NULL or not there). */
static int name_index(const char *v, const char *const *names, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		if (!strcmp(v, names[i]))
			return (int)i;
	return -1;
}

static int set_heap_check(const char *v, struct cxlmu_config *cfg)
{
	static const char *const names[] = { "auto", "on", "off" };
	int i = name_index(v, names, CXLMU_ARRAY_SIZE(names));

	if (i < 0)
		return -EINVAL;
	cfg->heap_check = (enum cxlmu_heap_check)i;
	return 0;
}

static int set_stats(const char *v, struct cxlmu_config *cfg)
{
	bool on;

	cfg->stats_path[0] = '\0';
	if (!v || !strcmp(v, "stderr") || !strcmp(v, "-")) {
		cfg->stats = true;
		return 0;
	}
	if (!cxlmu_parse_bool(v, &on)) {
		cfg->stats = on;
		return 0;
	}
	if (!*v || strlen(v) >= sizeof(cfg->stats_path))
		return -EINVAL;
	strcpy(cfg->stats_path, v);
	cfg->stats = true;
	return 0;
}

static int set_stats_format(const char *v, struct cxlmu_config *cfg)
{
	if (v && !strcmp(v, "text"))
		cfg->stats_format = CXLMU_STATS_TEXT;
	else if (v && !strcmp(v, "json"))
		cfg->stats_format = CXLMU_STATS_JSON;
	else
		return -EINVAL;
	return 0;
}

static int set_sched(const char *v, struct cxlmu_config *cfg)
{
	if (v && !strcmp(v, "off"))
		cfg->sched = CXLMU_SCHED_OFF;
	else if (v && !strcmp(v, "threads"))
		cfg->sched = CXLMU_SCHED_THREADS;
	else if (v && !strcmp(v, "auto"))
		cfg->sched = CXLMU_SCHED_AUTO;
	else if (v && !strcmp(v, "fibers"))
		cfg->sched = CXLMU_SCHED_FIBERS;
	else
		return -EINVAL;
	return 0;
}

static int set_remote(const char *v, struct cxlmu_config *cfg)
{
	struct cxlmu_remote_spec spec;
	unsigned n = 0;
	int err;

	if (!v || strlen(v) >= sizeof(cfg->remote))
		return -EINVAL;
	if (!strcmp(v, "off") || !*v) {
		cfg->remote[0] = '\0';
		return 0;
	}
	for (const char *t = v; t; n++) {
		t = cxlmu_remote_spec_next(t, &spec, &err);
		if (err || n == CXLMU_REMOTE_MAX)
			return -EINVAL;
	}
	strcpy(cfg->remote, v);
	return 0;
}

static int set_agent_cpus(const char *v, struct cxlmu_config *cfg)
{
	if (v && !strcmp(v, "auto")) {
		cfg->agent_cpus_set = false;
		CPU_ZERO(&cfg->agent_cpus);
		return 0;
	}
	if (cxlmu_parse_cpulist(v, &cfg->agent_cpus))
		return -EINVAL;
	cfg->agent_cpus_set = true;
	return 0;
}

static int set_wait(const char *v, struct cxlmu_config *cfg)
{
	static const char *const names[] = { CXLMU_WAIT_PATH_NAMES };
	int i = name_index(v, names, CXLMU_ARRAY_SIZE(names));

	if (i < 0)
		return -EINVAL;
	cfg->wait = (enum cxlmu_wait_path)i;
	return 0;
}

static int set_fiber_wait(const char *v, struct cxlmu_config *cfg)
{
	static const char *const names[] = { CXLMU_FIBER_WAIT_NAMES };
	int i = name_index(v, names, CXLMU_ARRAY_SIZE(names));

	if (i < 0)
		return -EINVAL;
	cfg->fiber_wait = (enum cxlmu_fiber_wait)i;
	return 0;
}

/* ----------------------------------------------------------------------- */
/* The table                                                                 */
/* ----------------------------------------------------------------------- */

const struct cxlmu_option cxlmu_options[] = {
	{ "policy", CXLMU_ARG_REQUIRED, "POLICY", "cxl", "a policy",
	  CXLMU_POLICY_OPTION_ACCEPTED,
	  "Where heap blocks go. local: no placement. cxl: every block on CXL "
	  "memory. size:N: blocks of N bytes or more on CXL, smaller ones local. "
	  "interleave:D:C: pages split D on DRAM for every C on CXL, in 2 MiB units. "
	  "budget:N: DRAM until N live heap bytes are on DRAM, then CXL. "
	  "sites:FILE: by call site, as the rules in FILE say (cxlmu-stat --rules "
	  "writes them from a profile); sites without a rule follow the fallback.",
	  set_policy },
	{ "sites-fallback", CXLMU_ARG_REQUIRED, "POLICY", "auto", "a fallback policy",
	  "auto, local, cxl, size:N, interleave:D:C, budget:N",
	  "Under --policy=sites:FILE, the policy for sites no rule names. auto: "
	  "the rules file's fallback line, or local when it has none.",
	  set_sites_fallback },
	{ "profile", CXLMU_ARG_REQUIRED, "FILE", "off", "a file name",
	  "a file name (%p: the process id), or off",
	  "Profile allocations by call site and write the profile to FILE at exit "
	  "(read it with cxlmu-stat). Without %p in FILE, a forked child or a "
	  "second process of the same run that finds FILE written writes FILE.PID.",
	  set_profile },
	{ "sample-bytes", CXLMU_ARG_REQUIRED, "N", "2M", "a sampling interval",
	  "a size from 1 to 1G, taking K/M/G",
	  "The profile samples one allocation per N bytes allocated on average and "
	  "weighs each sample by its chance of being taken. 1: every allocation, "
	  "exact counts.",
	  set_sample_bytes },
	{ "site-frames", CXLMU_ARG_REQUIRED, "N", "6", "a frame count",
	  "a number from 1 to 16",
	  "Frames of the call stack that name a site in a profile.",
	  set_site_frames },
	{ "cxl-nodes", CXLMU_ARG_REQUIRED, "LIST", "auto", "a node list",
	  "auto, or node numbers and ranges such as 1 or 2,4-5 (below 64)",
	  "The NUMA nodes that count as CXL memory. auto: the nodes a CXL region "
	  "backs (onlined through dax) and the nodes that have memory and no CPUs. "
	  "On a one-node machine, 0 emulates CXL on node 0: "
	  "placement is applied and can be checked, the memory is the same.",
	  set_cxl_nodes },
	{ "strict", CXLMU_ARG_NONE, NULL, "off", "a boolean", BOOL_ACCEPTED,
	  "Bind CXL placement hard: when the CXL nodes are full, allocation fails "
	  "with ENOMEM instead of falling back to DRAM.",
	  set_strict },
	{ "no-mmap", CXLMU_ARG_NONE, NULL, "off", "a boolean", BOOL_ACCEPTED,
	  "Leave the application's own anonymous mmap calls alone. By default "
	  "private anonymous mappings of 1 MiB or more follow the policy too.",
	  set_no_mmap },
	{ "heap-check", CXLMU_ARG_REQUIRED, "MODE", "auto", "a heap-check mode",
	  "auto, on, off",
	  "Heap checks: free() aborts, as glibc's does, on a block freed twice "
	  "(\"double free detected\") or a pointer no block can have (\"invalid "
	  "pointer\"), for about 1 ns per malloc and free. auto: on in "
	  "secure-execution processes (set-user-ID, set-group-ID), off elsewhere. "
	  "A secure-execution process always runs with auto.",
	  set_heap_check },
	{ "stats", CXLMU_ARG_OPTIONAL, "FILE", "off", "a file name or boolean",
	  "a file name, stderr, or " BOOL_ACCEPTED,
	  "At exit, write per-node live, peak and total bytes and allocation "
	  "counts, the policy, and a move_pages check of where sampled pages "
	  "really are, to stderr or FILE.",
	  set_stats },
	{ "stats-format", CXLMU_ARG_REQUIRED, "FORMAT", "text", "a stats format",
	  "text, json",
	  "Format of the --stats report: text for people, json for programs.",
	  set_stats_format },
	{ "log", CXLMU_ARG_NONE, NULL, "off", "a boolean", BOOL_ACCEPTED,
	  "Say on stderr what the runtime decided at start: topology, policy, "
	  "fallbacks.",
	  set_log },
	{ "sched", CXLMU_ARG_REQUIRED, "MODE", "auto", "a scheduling mode",
	  "off, threads, auto, fibers",
	  "What happens to sleeping, yielding and waiting calls (usleep, "
	  "nanosleep, sched_yield, pthread waits...). off: nothing, they go to "
	  "libc. threads: a short sleep repeated from one call site is a poll, "
	  "which waits in io_uring and ends early when another thread of the "
	  "program makes progress; other sleeps keep their exact meaning. auto: "
	  "as threads, and threads pinned to one CPU that other threads of the "
	  "program share run as fibers of that CPU's user-space scheduler once "
	  "one of them polls or they hand off through waits 20 000 times a "
	  "second, so their sleeps, yields and waits switch in user space. "
	  "fibers: every thread pinned to one CPU runs as a fiber from its "
	  "start, even alone there.",
	  set_sched },
	{ "wait", CXLMU_ARG_REQUIRED, "PATH", "auto", "a wait path",
	  "auto, futex, msg_ring, eventfd, syscall",
	  "How a poll waits for its deadline or a wake-up. auto: the first the "
	  "kernel offers of futex (io_uring futex wait), msg_ring (io_uring "
	  "message from the waker's ring) and eventfd (io_uring read of a "
	  "wake-up pipe), else syscall (plain futex calls, no io_uring, timer slack "
	  "1 ns). A path the kernel lacks falls back down that list.",
	  set_wait },
	{ "fiber-wait", CXLMU_ARG_REQUIRED, "WAY", "auto", "a fiber wait",
	  "auto, ring, waitv",
	  "How a CPU's fiber scheduler with nothing to run waits for the futex "
	  "words its fibers wait on (a lock held by a thread of another CPU), "
	  "its next timer and new work. ring: futex waits in the CPU's io_uring "
	  "(Linux 6.7). waitv: one futex_waitv(2) call on all of them (5.16). "
	  "auto: ring where the kernel has it, else waitv; with neither, "
	  "threads stay kernel threads under --sched=auto. A way the kernel "
	  "lacks is replaced by the other.",
	  set_fiber_wait },
	{ "remote", CXLMU_ARG_REQUIRED, "SPEC[,SPEC...]", "off", "a list of functions",
	  "off, or up to 64 comma-separated SYMBOL or LIBRARY:SYMBOL, a SYMBOL being "
	  "a C identifier",
	  "Run these functions on an agent thread near the CXL memory. Calls that "
	  "reach them through the dynamic linker (PLT/GOT of every module, later "
	  "dlopen'ed ones too) or through dlsym go to the agent; the caller waits, "
	  "and a fiber lets the other fibers of its core run meanwhile. LIBRARY: "
	  "only the definition in that library (its file name, path or name without "
	  "the .so suffix). Functions with stack arguments, variadic ones and those "
	  "using long double are refused with a message and run locally.",
	  set_remote },
	{ "agent-cpus", CXLMU_ARG_REQUIRED, "LIST", "auto", "a CPU list",
	  "auto, or CPU numbers and ranges such as 1 or 2,4-5",
	  "The CPUs the remote agents run on. auto: for each CXL node, the CPUs "
	  "of the nodes nearest to it by distance; on a machine without a CXL "
	  "node, any CPU (name one to keep the agent off the callers' core).",
	  set_agent_cpus },
};
const size_t cxlmu_options_count = CXLMU_ARRAY_SIZE(cxlmu_options);
_Static_assert(CXLMU_ARRAY_SIZE(cxlmu_options) <= 64, "struct cxlmu_config.given has a bit per option");

void cxlmu_config_defaults(struct cxlmu_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < cxlmu_options_count; i++) {
		const struct cxlmu_option *o = &cxlmu_options[i];
		o->parse(o->arg == CXLMU_ARG_NONE ? "0" : o->def, cfg);
	}
}

const struct cxlmu_option *cxlmu_option_find(const char *name)
{
	for (size_t i = 0; i < cxlmu_options_count; i++)
		if (!strcmp(cxlmu_options[i].name, name))
			return &cxlmu_options[i];
	return NULL;
}

void cxlmu_option_envname(const struct cxlmu_option *opt, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "CXLMU_");

	for (const char *s = opt->name; *s && n + 1 < size; s++)
		buf[n++] = *s == '-' ? '_' : (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
	buf[n < size ? n : size - 1] = '\0';
}

int cxlmu_option_apply(const struct cxlmu_option *opt, const char *value,
		       struct cxlmu_config *cfg, char *err, size_t errsize)
{
	struct cxlmu_config tmp = *cfg;

	if (opt->parse(value, &tmp)) {
		if (err)
			snprintf(err, errsize, "'%s' is not %s (accepted: %s)",
				 value ? value : "", opt->what, opt->accepted);
		return -EINVAL;
	}
	*cfg = tmp;
	return 0;
}

bool cxlmu_run_id_ok(const char *id)
{
	size_t n = strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");

	return n && n == strlen(id) && n < sizeof(((struct cxlmu_config *)0)->run_id);
}

int cxlmu_config_from_env(struct cxlmu_config *cfg, char *const *envp,
			  void (*warn)(const char *fmt, ...))
{
	char name[64], err[256];
	int bad = 0;

	if (!envp)
		return 0;
	for (char *const *e = envp; *e; e++) {
		const char *eq;
		const struct cxlmu_option *opt = NULL;

		if (strncmp(*e, "CXLMU_", 6) || !(eq = strchr(*e, '=')))
			continue;
		if (eq - *e == sizeof(CXLMU_RUN_ID_ENV) - 1 &&
		    !strncmp(*e, CXLMU_RUN_ID_ENV, sizeof(CXLMU_RUN_ID_ENV) - 1)) {
			if (cxlmu_run_id_ok(eq + 1))
				strcpy(cfg->run_id, eq + 1);
			else if (warn)
				warn("%s=%s is not a run id (cxlmu-run sets it: up to 63 letters, "
				     "digits, '.', '-' and '_'); ignored", CXLMU_RUN_ID_ENV, eq + 1);
			continue;
		}
		for (size_t i = 0; i < cxlmu_options_count; i++) {
			cxlmu_option_envname(&cxlmu_options[i], name, sizeof(name));
			if (strlen(name) == (size_t)(eq - *e) && !strncmp(*e, name, (size_t)(eq - *e))) {
				opt = &cxlmu_options[i];
				break;
			}
		}
		if (!opt) {
			if (warn)
				warn("%.*s is not a cxlmu option; ignored", (int)(eq - *e), *e);
			continue;
		}
		cfg->given |= 1ull << (opt - cxlmu_options);
		if (cxlmu_option_apply(opt, eq + 1, cfg, err, sizeof(err))) {
			if (warn)
				warn("%s=%s", name, err);
			bad++;
		}
	}
	return bad;
}

int cxlmu_env_scrub(char **envp)
{
	char **out = envp;
	int n = 0;

	if (!envp)
		return 0;
	for (char **e = envp; *e; e++) {
		if (!strncmp(*e, "CXLMU_", 6)) {
			n++;
			continue;
		}
		*out++ = *e;
	}
	*out = NULL;
	return n;
}

bool cxlmu_config_given(const struct cxlmu_config *cfg, const char *name)
{
	const struct cxlmu_option *o = cxlmu_option_find(name);

	return o && (cfg->given >> (o - cxlmu_options) & 1);
}
