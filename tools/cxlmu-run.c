/* cxlmu-run: run a program under libcxlmu.so.
 *
 *   cxlmu-run [OPTIONS] [--] PROGRAM [ARGS...]
 *   cxlmu-run --topology [--json]
 *
 * Every runtime option comes from src/options.c's table; each is checked
 * here before anything runs (exit 2 on a bad value, naming the option and
 * what it accepts), then passed to the program as its CXLMU_* twin with
 * LD_PRELOAD set to the library. */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "log.h"
#include "options.h"
#include "rules.h"
#include "topology.h"

enum { OPT_HELP = 1000, OPT_VERSION, OPT_TOPOLOGY, OPT_JSON };

static const char *prog = "cxlmu-run";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS] [--] PROGRAM [ARGS...]\n"
		"       %s --topology [--json]\n"
		"Run PROGRAM with its heap placed on CXL memory by policy (libcxlmu.so).\n\n"
		"Options (each also set by its environment variable):\n", prog, prog);
	for (size_t i = 0; i < cxlmu_options_count; i++) {
		const struct cxlmu_option *o = &cxlmu_options[i];
		char env[64], left[64];

		cxlmu_option_envname(o, env, sizeof(env));
		if (o->arg == CXLMU_ARG_NONE)
			snprintf(left, sizeof(left), "--%s", o->name);
		else if (o->arg == CXLMU_ARG_OPTIONAL)
			snprintf(left, sizeof(left), "--%s[=%s]", o->name, o->metavar);
		else
			snprintf(left, sizeof(left), "--%s=%s", o->name, o->metavar);
		fprintf(f, "  %-22s %s\n  %-22s (%s; default %s)\n", left, o->help, "", env, o->def);
	}
	fprintf(f,
		"  %-22s print the NUMA topology and which nodes count as CXL\n"
		"  %-22s with --topology: print it as JSON\n"
		"  %-22s this text\n  %-22s the version\n",
		"--topology", "--json", "--help", "--version");
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	char line[512];
	size_t n;
	va_list ap;

	/* What it quotes (an option's value) is escaped as the runtime's
	 * messages are: no forged lines, no terminal controls. */
	va_start(ap, fmt);
	n = (size_t)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = cxlmu_log_escape(line, n < sizeof(line) ? n : sizeof(line) - 1, sizeof(line) - 1);
	fprintf(stderr, "%s: %.*s\n", prog, (int)n, line);
	exit(2);
}

/* ----------------------------------------------------------------------- */
/* --topology                                                                */
/* ----------------------------------------------------------------------- */

/* Why node n is in the CXL set, or NULL: given by --cxl-nodes, a CXL
 * region backs it, or it has memory and no CPUs. */
static const char *cxl_why(const struct cxlmu_topology *t, unsigned n)
{
	if (!(t->cxl & (1ull << n)))
		return NULL;
	if (t->cxl_from_user)
		return "given";
	if (t->cxl_region & (1ull << n))
		return "region";
	return "memory-only";
}

/* libnuma's view, for the last line: loaded only here, since every other
 * run of cxlmu-run would pay for libnuma's start-up (it reads /proc and
 * /sys in a constructor) and do nothing with it. */
struct numa_view {
	bool loaded, available;
	int configured, max_node;
};

static struct numa_view numa_view(void)
{
	struct numa_view v = { 0 };
	void *h = dlopen("libnuma.so.1", RTLD_NOW | RTLD_LOCAL);
	int (*available)(void), (*configured)(void), (*max_node)(void);

	if (!h)
		return v;
	available = (int (*)(void))dlsym(h, "numa_available");
	configured = (int (*)(void))dlsym(h, "numa_num_configured_nodes");
	max_node = (int (*)(void))dlsym(h, "numa_max_node");
	if (available && configured && max_node) {
		v.loaded = true;
		v.available = available() >= 0;
		if (v.available) {
			v.configured = configured();
			v.max_node = max_node();
		}
	}
	return v;
}

static void print_topology(const struct cxlmu_topology *t, bool json)
{
	struct numa_view nv = numa_view();

	char list[128];
	const char *sep = "";

	cxlmu_nodemask_format(t->cxl, list, sizeof(list));
	if (json) {
		printf("{\"nodes\":[");
		for (unsigned n = 0; n < CXLMU_MAX_NODES; n++) {
			const struct cxlmu_node *nd = &t->node[n];
			const char *s2 = "";
			if (!(t->online & (1ull << n)))
				continue;
			const char *why = cxl_why(t, n);
			printf("%s{\"node\":%u,\"cpus\":\"%s\",\"ncpus\":%u,\"mem_total\":%llu,"
			       "\"mem_free\":%llu,\"cxl\":%s,", sep, n,
			       nd->cpulist, nd->ncpus, (unsigned long long)nd->mem_total,
			       (unsigned long long)nd->mem_free, why ? "true" : "false");
			/* Why it is CXL, and the region backing it: both apart, as
			 * --cxl-nodes may name a node no region backs. */
			printf(why ? "\"cxl_why\":\"%s\"," : "\"cxl_why\":null,", why);
			printf(nd->region[0] ? "\"cxl_region\":\"%s\"," : "\"cxl_region\":null,",
			       nd->region);
			printf("\"tier\":%d,\"distances\":[", nd->tier);
			for (unsigned m = 0; m < CXLMU_MAX_NODES; m++)
				if (t->online & (1ull << m)) {
					printf("%s%u", s2, nd->distance[m]);
					s2 = ",";
				}
			printf("]}");
			sep = ",";
		}
		printf("],\"cxl_nodes\":[");
		sep = "";
		for (unsigned n = 0; n < CXLMU_MAX_NODES; n++)
			if (t->cxl & (1ull << n)) {
				printf("%s%u", sep, n);
				sep = ",";
			}
		printf("],\"cxl_source\":\"%s\",\"tiers_known\":%s,\"libnuma\":%s}\n",
		       t->cxl_from_user ? "given" : "detected", t->tiers_known ? "true" : "false",
		       nv.available ? "true" : "false");
		return;
	}
	printf("%-5s %-12s %12s %12s %-20s %-5s %s\n", "node", "cpus", "memory", "free",
	       "cxl", "tier", "distances");
	for (unsigned n = 0; n < CXLMU_MAX_NODES; n++) {
		const struct cxlmu_node *nd = &t->node[n];
		if (!(t->online & (1ull << n)))
			continue;
		const char *why = cxl_why(t, n);
		char cxl[40];
		if (!why)
			snprintf(cxl, sizeof(cxl), "no%s%s", nd->region[0] ? ", " : "", nd->region);
		else if (nd->region[0])
			snprintf(cxl, sizeof(cxl), "yes (%s%s%s)", strcmp(why, "region") ? why : "",
				 strcmp(why, "region") ? ", " : "", nd->region);
		else
			snprintf(cxl, sizeof(cxl), "yes (%s)", why);
		printf("%-5u %-12s %8.1f GiB %8.1f GiB %-20s ", n, nd->ncpus ? nd->cpulist : "-",
		       nd->mem_total / 1073741824.0, nd->mem_free / 1073741824.0, cxl);
		if (nd->tier >= 0)
			printf("%-5d", nd->tier);
		else
			printf("%-5s", "-");
		for (unsigned m = 0; m < CXLMU_MAX_NODES; m++)
			if (t->online & (1ull << m))
				printf(" %u", nd->distance[m]);
		printf("\n");
	}
	printf("CXL nodes: %s (%s)\n", *list ? list : "none",
	       t->cxl_from_user ? "given by --cxl-nodes"
	       : "nodes a CXL region backs, and nodes with memory and no CPUs");
	printf("memory tiers: %s\n", t->tiers_known ? "from /sys/devices/virtual/memory_tiering"
	       : "not exposed by this kernel");
	if (!nv.loaded)
		printf("libnuma: not installed (libnuma.so.1 cannot be loaded)\n");
	else if (nv.available)
		printf("libnuma: %d configured nodes, highest node %d\n", nv.configured, nv.max_node);
	else
		printf("libnuma: NUMA system calls unavailable\n");
}

/* ----------------------------------------------------------------------- */
/* Finding the library                                                       */
/* ----------------------------------------------------------------------- */

/* dir/name into out if that file is readable. */
static bool found(char *out, size_t size, const char *dir, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
	return !access(out, R_OK);
}

/* The library by its SONAME (libcxlmu.so.N), the name an install always
 * has: the unversioned libcxlmu.so link is a development file, which
 * packages may leave out, and a library of another interface version
 * could be behind it. */
static void find_library(char *out, size_t size)
{
	char exe[PATH_MAX], up[PATH_MAX + 8];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *dir;

	if (n > 0) {
		exe[n] = '\0';
		dir = dirname(exe);
		/* From the build tree, the library built beside us (a copy of
		 * the tree may hold libcxlmu.so alone: tests/vm). */
		snprintf(up, sizeof(up), "%s/.libs", dir);
		if (found(out, size, up, CXLMU_SONAME) || found(out, size, up, "libcxlmu.so"))
			return;
		if (found(out, size, CXLMU_LIBDIR, CXLMU_SONAME))
			return;
		/* From an install that was moved (or staged with DESTDIR),
		 * ../lib next to bin. */
		snprintf(up, sizeof(up), "%s/../lib", dir);
		if (found(out, size, up, CXLMU_SONAME))
			return;
	}
	snprintf(out, size, "%s/%s", CXLMU_LIBDIR, CXLMU_SONAME);
}

/* A file name the program finds whatever directory it moves to. */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX], *out;

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return strdup(path);
	if (asprintf(&out, "%s/%s", cwd, path) < 0)
		fail("out of memory");
	return out;
}

/* --policy=sites:FILE: refuse a rules file the runtime would refuse,
 * with its line, before the program starts. */
static void check_rules(const char *path)
{
	struct cxlmu_rules r = { .max_rules = 16384, .max_modules = CXLMU_RULES_MAX_MODULES };
	char *text = NULL, err[512];
	size_t len = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		fail("--policy=sites:%s: cannot read the rules file: %s", path, strerror(errno));
	text = malloc(1 << 16);
	for (size_t cap = 1 << 16, n; text; ) {
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (len < cap)
			break;
		cap *= 2;
		text = realloc(text, cap);
	}
	if (!text || ferror(f))
		fail("--policy=sites:%s: cannot read the rules file", path);
	fclose(f);
	r.rule = calloc(r.max_rules, sizeof(*r.rule));
	r.module = calloc(r.max_modules, sizeof(*r.module));
	if (!r.rule || !r.module)
		fail("out of memory");
	if (cxlmu_rules_parse(text, len, &r, err, sizeof(err)))
		fail("%s: %s", path, err);
	free(r.rule);
	free(r.module);
	free(text);
}

/* The file execvp would run for name, or NULL. */
static char *find_program(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save, *file = NULL;

	if (strchr(name, '/'))
		return strdup(name);
	copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir && !file; dir = strtok_r(NULL, ":", &save)) {
		if (asprintf(&file, "%s/%s", *dir ? dir : ".", name) < 0)
			file = NULL;
		else if (access(file, X_OK))
			free(file), file = NULL;
	}
	free(copy);
	return file;
}

/* A set-user-ID or set-group-ID program runs in secure-execution mode
 * whenever that changes its IDs: libcxlmu then ignores every CXLMU_*
 * variable (libcxlmu(7) SECURITY). One line, so nobody wonders where the
 * options went. */
static void setid_note(const char *name)
{
	char *file = find_program(name);
	struct stat st;

	if (file && !stat(file, &st) && (st.st_mode & (S_ISUID | S_ISGID)) == 0 &&
	    getxattr(file, "security.capability", NULL, 0) > 0) {
		fprintf(stderr, "%s: %s has file capabilities: it runs in secure-execution mode, "
			"where the runtime ignores every option given here (libcxlmu(7) SECURITY)\n",
			prog, file);
	} else if (file && !stat(file, &st) && (st.st_mode & (S_ISUID | S_ISGID))) {
		bool secure = ((st.st_mode & S_ISUID) && st.st_uid != geteuid()) ||
			      ((st.st_mode & S_ISGID) && st.st_gid != getegid());
		fprintf(stderr, "%s: %s is set%s (set-%s-ID): %s\n", prog, file,
			st.st_mode & S_ISUID ? "uid" : "gid",
			st.st_mode & S_ISUID ? "user" : "group",
			secure ? "it runs in secure-execution mode, where the runtime ignores every "
				 "option given here (libcxlmu(7) SECURITY)" :
				 "run by another user it would run in secure-execution mode, where "
				 "the runtime ignores every option (libcxlmu(7) SECURITY)");
	}
	free(file);
}

int main(int argc, char **argv)
{
	struct option longopts[64];
	const char *given[64] = { 0 };
	bool is_given[64] = { 0 };
	struct cxlmu_config cfg;
	struct cxlmu_topology topo;
	bool topology = false, json = false;
	char err[512], env[64], lib[PATH_MAX];
	size_t nl = 0;
	int c;

	/* Inherited CXLMU_* variables are checked like options. */
	cxlmu_config_defaults(&cfg);
	for (char **e = environ; *e; e++) {
		char *eq = strchr(*e, '=');
		if (strncmp(*e, "CXLMU_", 6) || !eq)
			continue;
		/* An outer run's name: this run gets its own below. */
		if ((size_t)(eq - *e) == strlen(CXLMU_RUN_ID_ENV) &&
		    !strncmp(*e, CXLMU_RUN_ID_ENV, strlen(CXLMU_RUN_ID_ENV)))
			continue;
		bool known = false;
		for (size_t i = 0; i < cxlmu_options_count; i++) {
			cxlmu_option_envname(&cxlmu_options[i], env, sizeof(env));
			if (strlen(env) == (size_t)(eq - *e) && !strncmp(*e, env, strlen(env))) {
				known = true;
				if (cxlmu_option_apply(&cxlmu_options[i], eq + 1, &cfg, err, sizeof(err)))
					fail("%s=%s", env, err);
			}
		}
		if (!known)
			fail("%.*s in the environment is not a cxlmu option (run %s --help)",
			     (int)(eq - *e), *e, prog);
	}

	for (size_t i = 0; i < cxlmu_options_count; i++) {
		const struct cxlmu_option *o = &cxlmu_options[i];
		longopts[nl++] = (struct option){ o->name,
			o->arg == CXLMU_ARG_NONE ? no_argument :
			o->arg == CXLMU_ARG_OPTIONAL ? optional_argument : required_argument,
			NULL, (int)i + 1 };
	}
	longopts[nl++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	longopts[nl++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
	longopts[nl++] = (struct option){ "topology", no_argument, NULL, OPT_TOPOLOGY };
	longopts[nl++] = (struct option){ "json", no_argument, NULL, OPT_JSON };
	longopts[nl] = (struct option){ 0 };

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("cxlmu-run %s\n", PACKAGE_VERSION);
			return 0;
		case OPT_TOPOLOGY:
			topology = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case '?':
			if (optopt > 0 && optopt <= (int)cxlmu_options_count)
				fail("--%s needs a value (accepted: %s)",
				     cxlmu_options[optopt - 1].name, cxlmu_options[optopt - 1].accepted);
			fail("unknown option '%s' (run %s --help)", argv[optind - 1], prog);
		default: {
			const struct cxlmu_option *o = &cxlmu_options[c - 1];
			if (cxlmu_option_apply(o, optarg, &cfg, err, sizeof(err)))
				fail("--%s=%s", o->name, err);
			given[c - 1] = optarg;
			is_given[c - 1] = true;
		}
		}
	}

	if (topology || cfg.cxl_nodes_set) {
		unsigned bad = 0;
		int r = cxlmu_topology_read("/sys", &topo);
		if (r)
			fail("cannot read the NUMA topology from /sys/devices/system/node: %s",
			     strerror(-r));
		if (cxlmu_topology_pick_cxl(&topo, cfg.cxl_nodes_set, cfg.cxl_nodes, &bad)) {
			char list[128];
			cxlmu_nodemask_format(topo.has_memory, list, sizeof(list));
			fail("--cxl-nodes: node %u is not a node with memory here (nodes with memory: %s)",
			     bad, list);
		}
	}
	if (topology) {
		print_topology(&topo, json);
		return 0;
	}
	if (json)
		fail("--json goes with --topology (for the stats report use --stats-format=json)");
	if (optind >= argc)
		fail("no program to run (usage: %s [OPTIONS] [--] PROGRAM [ARGS...])", prog);
	if (cfg.policy.kind == CXLMU_POLICY_SITES)
		check_rules(cfg.sites_path);

	/* Files named relative to here stay here when the program moves. */
	for (size_t i = 0; i < cxlmu_options_count; i++) {
		const char *name = cxlmu_options[i].name, *v = given[i];
		if (!v)
			continue;
		if (!strcmp(name, "policy") && !strncmp(v, "sites:", 6)) {
			char *a = absolute(v + 6), *s;
			if (asprintf(&s, "sites:%s", a) < 0)
				fail("out of memory");
			given[i] = s;
		} else if (!strcmp(name, "profile")) {
			if (strcmp(v, "off"))
				given[i] = absolute(v);
		} else if (!strcmp(name, "stats")) {
			bool flag;
			if (strcmp(v, "stderr") && strcmp(v, "-") && cxlmu_parse_bool(v, &flag))
				given[i] = absolute(v);
		}
	}

	for (size_t i = 0; i < cxlmu_options_count; i++) {
		if (!is_given[i])
			continue;
		cxlmu_option_envname(&cxlmu_options[i], env, sizeof(env));
		setenv(env, given[i] ? given[i] : "1", 1);
	}
	/* The run's name, for the processes of this run to know each other
	 * by (a profile's second writer takes FILE.PID). */
	{
		struct timespec ts;
		char id[64];

		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(id, sizeof(id), "%d-%lld.%09ld", (int)getpid(), (long long)ts.tv_sec,
			 ts.tv_nsec);
		setenv(CXLMU_RUN_ID_ENV, id, 1);
	}

	find_library(lib, sizeof(lib));
	if (access(lib, R_OK))
		fail("cannot find the runtime library %s: %s", lib, strerror(errno));
	{
		const char *old = getenv("LD_PRELOAD");
		char *v;
		if (old && *old) {
			if (asprintf(&v, "%s:%s", lib, old) < 0)
				fail("out of memory");
			setenv("LD_PRELOAD", v, 1);
		} else {
			setenv("LD_PRELOAD", lib, 1);
		}
	}
	setid_note(argv[optind]);
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "%s: cannot run %s: %s\n", prog, argv[optind], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
