/* Runtime configuration: one table of options, each with a command-line
 * form (--name[=VALUE], used by cxlmu-run) and an environment twin
 * (CXLMU_NAME, used by the preloaded library). One parser for both. */
#ifndef CXLMU_SRC_OPTIONS_H
#define CXLMU_SRC_OPTIONS_H

#include <limits.h>
#include <sched.h>
#include "internal.h"
#include "parse.h"
#include "policy.h"

enum cxlmu_stats_format { CXLMU_STATS_TEXT, CXLMU_STATS_JSON };

/* What happens to the sleeping and yielding calls (src/wait.c). */
enum cxlmu_sched_mode { CXLMU_SCHED_OFF, CXLMU_SCHED_THREADS, CXLMU_SCHED_AUTO, CXLMU_SCHED_FIBERS };

/* How a poll waits: the wake channel next to its deadline. auto takes the
 * first of futex, msg_ring, eventfd the kernel offers, then syscall. */
enum cxlmu_wait_path {
	CXLMU_WAIT_AUTO,
	CXLMU_WAIT_FUTEX,      /* io_uring FUTEX_WAIT (6.7+) */
	CXLMU_WAIT_MSG_RING,   /* io_uring MSG_RING from the waker's ring (5.18+) */
	CXLMU_WAIT_EVENTFD,    /* io_uring read of a wake-up pipe (once an eventfd) */
	CXLMU_WAIT_SYSCALL,    /* no io_uring: futex(2) with timer slack 1 ns */
};
#define CXLMU_WAIT_PATH_NAMES "auto", "futex", "msg_ring", "eventfd", "syscall"

/* How a fiber host with nothing to run waits for its fibers' futex words
 * (src/sched_block.c). auto: ring where the kernel has io_uring futex
 * waits (6.7), else waitv (futex_waitv, 5.16). */
enum cxlmu_fiber_wait { CXLMU_FIBER_WAIT_AUTO, CXLMU_FIBER_WAIT_RING, CXLMU_FIBER_WAIT_WAITV };
#define CXLMU_FIBER_WAIT_NAMES "auto", "ring", "waitv"

/* --heap-check: auto is on in secure-execution processes only. */
enum cxlmu_heap_check {
	CXLMU_HEAP_CHECK_AUTO,
	CXLMU_HEAP_CHECK_ON,
	CXLMU_HEAP_CHECK_OFF,
};

struct cxlmu_config {
	struct cxlmu_policy policy;
	cxlmu_nodemask_t cxl_nodes;      /* valid when cxl_nodes_set */
	bool cxl_nodes_set;
	bool strict;
	bool no_mmap;
	enum cxlmu_heap_check heap_check;
	bool log;
	bool stats;                      /* write a report at exit */
	char stats_path[PATH_MAX];       /* empty: stderr */
	enum cxlmu_stats_format stats_format;
	enum cxlmu_sched_mode sched;
	enum cxlmu_wait_path wait;
	enum cxlmu_fiber_wait fiber_wait;
	char sites_path[PATH_MAX];       /* policy sites:FILE */
	bool sites_fallback_set;         /* else the file's, else local */
	struct cxlmu_policy sites_fallback;
	char profile_path[PATH_MAX];     /* empty: no profile */
	uint64_t sample_bytes;
	unsigned site_frames;
	char run_id[64];                 /* CXLMU_RUN_ID; empty: not set */
	char remote[1024];               /* --remote specs as given; empty: none */
	cpu_set_t agent_cpus;            /* valid when agent_cpus_set */
	bool agent_cpus_set;
	uint64_t given;                  /* bit i: cxlmu_options[i] came from the environment */
};

/* --remote: at most this many SPECs, each SYMBOL or LIBRARY:SYMBOL. */
#define CXLMU_REMOTE_MAX 64

/* Set by cxlmu-run for the program it runs, and inherited by every process
 * that program starts: the processes of one run know each other by it. */
#define CXLMU_RUN_ID_ENV "CXLMU_RUN_ID"
/* Letters, digits, '.', '-' and '_', at most 63 of them. */
bool cxlmu_run_id_ok(const char *id);

enum cxlmu_option_arg {
	CXLMU_ARG_NONE,      /* a flag: --strict, CXLMU_STRICT=1 */
	CXLMU_ARG_REQUIRED,  /* --policy=cxl */
	CXLMU_ARG_OPTIONAL,  /* --stats or --stats=FILE */
};

struct cxlmu_option {
	const char *name;        /* "cxl-nodes": --cxl-nodes, CXLMU_CXL_NODES */
	enum cxlmu_option_arg arg;
	const char *metavar;     /* "LIST" */
	const char *def;         /* default, as text */
	const char *what;        /* "a node list": for "'x' is not a node list" */
	const char *accepted;    /* accepted values, for errors and the manual */
	const char *help;        /* one or two sentences for --help and the manual */
	int (*parse)(const char *value, struct cxlmu_config *cfg);
};

extern const struct cxlmu_option cxlmu_options[];
extern const size_t cxlmu_options_count;

void cxlmu_config_defaults(struct cxlmu_config *cfg);
const struct cxlmu_option *cxlmu_option_find(const char *name);
/* "cxl-nodes" -> "CXLMU_CXL_NODES" into buf. */
void cxlmu_option_envname(const struct cxlmu_option *opt, char *buf, size_t size);

/* Apply one option. value is NULL for a flag or an optional argument given
 * bare. On -EINVAL, err (if given) holds "'VALUE' is not WHAT (accepted: ...)". */
int cxlmu_option_apply(const struct cxlmu_option *opt, const char *value,
		       struct cxlmu_config *cfg, char *err, size_t errsize);

/* Secure-execution mode (setuid, setgid, file capabilities: AT_SECURE):
 * nothing in the environment may steer the runtime. Removes every CXLMU_*
 * variable from envp in place, as ld.so removes its own unsafe ones, so
 * that they do not reach what the program runs either; returns how many. */
int cxlmu_env_scrub(char **envp);
/* Is cxlmu_options[i] (by name) among those the environment set? */
bool cxlmu_config_given(const struct cxlmu_config *cfg, const char *name);

/* Read every CXLMU_* variable from envp into cfg. Bad values and unknown
 * CXLMU_ names are reported through warn (one line each). Returns the
 * number of bad values; unknown names alone do not count. */
int cxlmu_config_from_env(struct cxlmu_config *cfg, char *const *envp,
			  void (*warn)(const char *fmt, ...));

#endif
