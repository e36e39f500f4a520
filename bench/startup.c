/* Start-up cost: how much cxlmu adds to running a trivial program.
 *
 * Usage: cxlmu-bench-startup [-n RUNS] [-l LIMIT_MS] [-L PRELOAD_LIMIT_MS]
 *                            [-p LIB]... CXLMU_RUN LIBCXLMU [PROGRAM]
 *
 * Runs PROGRAM (default /bin/true) RUNS times (default 200) each way, the
 * ways interleaved run by run so that load on the machine hits them alike:
 *   plain               PROGRAM
 *   LD_PRELOAD          LD_PRELOAD=LIBCXLMU PROGRAM
 *   cxlmu-run           CXLMU_RUN -- PROGRAM
 *   cxlmu-run emulated  CXLMU_RUN --cxl-nodes=0 -- PROGRAM (CXL arenas set up)
 *   LIB                 LD_PRELOAD=LIB PROGRAM, for each -p LIB (other
 *                       allocators a user could preload instead)
 * Each run is timed from posix_spawn to waitpid. Prints the median time of
 * each way, what it adds over plain, and PASS/MISS for "a bare LD_PRELOAD
 * adds at most PRELOAD_LIMIT_MS" (default 0.3) and "cxlmu-run adds at most
 * LIMIT_MS" (default 1). The children's stderr goes to /dev/null (with no
 * CXL node the runtime warns once per run). Exit 0 even on MISS: this is a
 * measurement, not a test. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define FIXED_WAYS 4
#define MAX_WAYS (FIXED_WAYS + 8)

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The environment without LD_PRELOAD and CXLMU_*, plus extra (or NULL). */
static char **clean_env(const char *extra)
{
	size_t n = 0, k = 0;
	char **e;

	while (environ[n])
		n++;
	e = calloc(n + 2, sizeof(*e));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) && strncmp(environ[i], "CXLMU_", 6))
			e[k++] = environ[i];
	if (extra)
		e[k++] = (char *)extra;
	return e;
}

static double run_once(char *const argv[], char *const envp[], posix_spawn_file_actions_t *fa)
{
	double t0 = now_ms();
	pid_t pid;
	int st;

	if (posix_spawn(&pid, argv[0], fa, NULL, argv, envp)) {
		perror(argv[0]);
		exit(1);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "%s failed (status %d)\n", argv[0], st);
		exit(1);
	}
	return now_ms() - t0;
}

static double median(double *t, unsigned n)
{
	qsort(t, n, sizeof(double), cmp);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	unsigned runs = 200, nways = FIXED_WAYS;
	double limit = 1.0, pre_limit = 0.3, med[MAX_WAYS];
	const char *prog = "/bin/true", *run, *lib, *name[MAX_WAYS] = {
		"plain", "LD_PRELOAD", "cxlmu-run", "cxlmu-run --cxl-nodes=0" };
	const char *peer[MAX_WAYS - FIXED_WAYS];
	char preload[4096];
	posix_spawn_file_actions_t fa;
	char **argvs[MAX_WAYS], **envs[MAX_WAYS];
	double *t[MAX_WAYS];
	int c;

	while ((c = getopt(argc, argv, "n:l:L:p:")) != -1) {
		if (c == 'n') {
			runs = (unsigned)atoi(optarg);
		} else if (c == 'l') {
			limit = atof(optarg);
		} else if (c == 'L') {
			pre_limit = atof(optarg);
		} else if (c == 'p') {
			if (nways == MAX_WAYS) {
				fprintf(stderr, "%s: at most %d -p libraries\n", argv[0], MAX_WAYS - FIXED_WAYS);
				return 2;
			}
			peer[nways - FIXED_WAYS] = optarg;
			name[nways++] = optarg;
		} else {
			goto usage;
		}
	}
	if (argc - optind < 2 || argc - optind > 3 || runs < 1) {
usage:
		fprintf(stderr, "Usage: %s [-n RUNS] [-l LIMIT_MS] [-L PRELOAD_LIMIT_MS] [-p LIB]... "
			"CXLMU_RUN LIBCXLMU [PROGRAM]\n", argv[0]);
		return 2;
	}
	run = argv[optind];
	lib = argv[optind + 1];
	if (argc - optind == 3)
		prog = argv[optind + 2];
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", lib);

	char *argv_plain[] = { (char *)prog, NULL };
	char *argv_run[] = { (char *)run, "--", (char *)prog, NULL };
	char *argv_emu[] = { (char *)run, "--cxl-nodes=0", "--", (char *)prog, NULL };
	char **env_plain = clean_env(NULL);

	argvs[0] = argv_plain, envs[0] = env_plain;
	argvs[1] = argv_plain, envs[1] = clean_env(preload);
	argvs[2] = argv_run, envs[2] = env_plain;
	argvs[3] = argv_emu, envs[3] = env_plain;
	for (unsigned w = FIXED_WAYS; w < nways; w++) {
		char *e = malloc(strlen(peer[w - FIXED_WAYS]) + 12);
		sprintf(e, "LD_PRELOAD=%s", peer[w - FIXED_WAYS]);
		argvs[w] = argv_plain, envs[w] = clean_env(e);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	for (unsigned w = 0; w < nways; w++)
		t[w] = calloc(runs, sizeof(double));
	/* One untimed round first: page cache, dynamic loader caches. */
	for (unsigned i = 0; i <= runs; i++)
		for (unsigned w = 0; w < nways; w++) {
			double d = run_once(argvs[w], envs[w], &fa);
			if (i)
				t[w][i - 1] = d;
		}
	printf("start-up of %s, %u runs each, interleaved; median ms per run\n", prog, runs);
	printf("%-26s %9s %9s\n", "way", "median", "added");
	for (unsigned w = 0; w < nways; w++) {
		med[w] = median(t[w], runs);
		printf("%-26s %9.3f %+9.3f\n", name[w], med[w], med[w] - med[0]);
	}
	printf("target: LD_PRELOAD=libcxlmu.so %s adds at most %.2f ms: %s (%+.3f ms)\n", prog,
	       pre_limit, med[1] - med[0] <= pre_limit ? "PASS" : "MISS", med[1] - med[0]);
	printf("target: cxlmu-run -- %s adds at most %.2f ms: %s (%+.3f ms)\n", prog, limit,
	       med[2] - med[0] <= limit ? "PASS" : "MISS", med[2] - med[0]);
	return 0;
}
