/* cxlmu-bench-remote: issue 6's bench, the seed's program shape unchanged.
 * A local program dlopens a remote library (libremote.so, bench/libremote.c),
 * looks up one of its functions with dlsym, and calls it in a loop from N
 * threads, each pinned with pthread_setaffinity_np to one CPU, with local
 * work between the calls:
 *
 *     for K calls: x = local work of W units on a private array (x)
 *                  out = x; x = remote(W, a, &out)
 *
 * Run plain, every call is a plain call and the N threads share the CPU.
 * Under `cxlmu-run --remote=remote --agent-cpus=1` the call goes to an agent
 * thread on CPU 1 and the caller waits for the result; with --sched=fibers
 * the threads of CPU 0 are fibers, and while one waits for its call the
 * others do their local work, so the two CPUs overlap. bench/run-remote.sh
 * runs the ways and prints the table.
 *
 * --fn picks the function: remote (above), empty (remote_empty, which
 * returns at once: the round trip, with --work=0), or chase: remote_chase
 * follows a random cyclic permutation of --chase-len longs, allocated with
 * plain malloc (under --policy=cxl the runtime places it on the CXL node),
 * for --chase-steps hops from where the last call ended, moved by the local
 * work's result.
 *
 * Prints one line of NAME=VALUE fields: calls/s (all threads' calls over
 * the time from the first thread's start to the last one's end) and µs per
 * call (its inverse), and a checksum of every thread's results, which is
 * then recomputed on one thread with the library's code compiled in (never
 * through the dlsym'ed pointer): exit 1 if the two differ or on a failure,
 * 2 on a bad option.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The units of work of libremote.so, compiled in (not its exported
 * functions): the local work between calls, and the reference. */
#define LIBREMOTE_CODE_ONLY
#include "libremote.c"

#define PROG "cxlmu-bench-remote"

typedef int (*seed_fn)(int n, int *a, int *out);
typedef long (*chase_fn)(const long *next, long start, long steps);

enum fn { FN_REMOTE, FN_EMPTY, FN_CHASE };
static const char *const fn_names[] = { "remote", "empty", "chase" };
static const char *const fn_symbols[] = { "remote", "remote_empty", "remote_chase" };

static struct {
	int threads, cpu, work;
	long calls, chase_len, chase_steps;
	enum fn fn;
	const char *lib;
	bool quiet;
} cfg = {
	.threads = 4,
	.cpu = 0,
	.work = 128,
	.calls = 1000,
	.chase_len = 1L << 23,
	.chase_steps = 200,
	.fn = FN_REMOTE,
};

struct thr {
	pthread_t id;
	int index;
	int *priv;              /* the local work's array */
	int *a;                 /* the array handed to remote() */
	unsigned x;             /* the chain of results, local and remote */
	long pos;               /* chase: where the last call ended */
	double t0, t1;
	int err;                /* errno of a failed pin, or 0 */
};

static long *chase_next;
static seed_fn seed_call;
static chase_fn chase_call;
static pthread_barrier_t start_line;

/* ----------------------------------------------------------------------- */
/* The work                                                                  */
/* ----------------------------------------------------------------------- */

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void thr_init(struct thr *t, int index)
{
	uint64_t s = 0x2545f4914f6cdd1dULL + 0x9e3779b97f4a7c15ULL * (uint64_t)index;

	t->index = index;
	for (int i = 0; i < REMOTE_ARRAY_INTS; i++) {
		t->priv[i] = (int)xorshift(&s);
		t->a[i] = (int)xorshift(&s);
	}
	t->x = 0x12345u + 0x9e37u * (unsigned)index;
	t->pos = cfg.fn == FN_CHASE ? (long)((uint64_t)cfg.chase_len * (uint64_t)index / (uint64_t)cfg.threads) : 0;
}

/* The reference versions: the library's code compiled into this program,
 * called directly, so the check never goes where --remote sends calls. */
static int ref_remote(int n, int *a, int *out)
{
	unsigned x = remote_work_units(a, n, (unsigned)*out);

	*out = (int)x;
	return (int)x;
}

static int ref_empty(int n, int *a, int *out)
{
	return 0;
}

static long ref_chase(const long *next, long start, long steps)
{
	return remote_chase_hops(next, start, steps);
}

/* One thread's K calls, each after W units of local work. */
static void calls(struct thr *t, seed_fn seed, chase_fn chase)
{
	unsigned x = t->x;
	long pos = t->pos;

	for (long k = 0; k < cfg.calls; k++) {
		x = remote_work_units(t->priv, cfg.work, x);
		if (cfg.fn == FN_CHASE) {
			pos = chase(chase_next, (pos + (long)(x & 63)) % cfg.chase_len, cfg.chase_steps);
			x ^= (unsigned)pos;
		} else {
			int out = (int)x;
			int r = seed(cfg.work, t->a, &out);

			x = cfg.fn == FN_EMPTY ? x + (unsigned)r + 1 : (unsigned)r;
		}
	}
	t->x = x;
	t->pos = pos;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *worker(void *p)
{
	struct thr *t = p;
	cpu_set_t set;

	/* The seed pins each thread itself; under --sched=fibers this is
	 * what makes it a fiber of that CPU's scheduler. */
	CPU_ZERO(&set);
	CPU_SET(cfg.cpu, &set);
	t->err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	pthread_barrier_wait(&start_line);
	if (t->err)
		return NULL;
	t->t0 = now();
	calls(t, seed_call, chase_call);
	t->t1 = now();
	return NULL;
}

static uint64_t checksum(const struct thr *t, int n)
{
	uint64_t sum = 0;

	for (int i = 0; i < n; i++)
		sum += (uint64_t)t[i].x * (uint64_t)(2 * i + 1) + (uint64_t)t[i].pos;
	return sum;
}

/* A random cyclic permutation (Sattolo's algorithm): following next[] from
 * anywhere visits every element before it comes back. */
static long *make_chase(long len)
{
	long *next = malloc((size_t)len * sizeof(*next));
	uint64_t s = 0x9e3779b97f4a7c15ULL;

	if (!next)
		return NULL;
	for (long i = 0; i < len; i++)
		next[i] = i;
	for (long i = len - 1; i > 0; i--) {
		long j = (long)(xorshift(&s) % (uint64_t)i), tmp = next[i];

		next[i] = next[j];
		next[j] = tmp;
	}
	return next;
}

/* ----------------------------------------------------------------------- */
/* The library                                                               */
/* ----------------------------------------------------------------------- */

/* --lib, else .libs/libremote.so next to this program (the build
 * directory), else libremote.so next to it. */
static void *open_lib(char *path, size_t size)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (cfg.lib) {
		snprintf(path, size, "%s", cfg.lib);
		return dlopen(path, RTLD_NOW | RTLD_LOCAL);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(path, size, "libremote.so");
		return dlopen(path, RTLD_NOW | RTLD_LOCAL);
	}
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	snprintf(path, size, "%s/.libs/libremote.so", exe);
	if (access(path, R_OK) == 0)
		return dlopen(path, RTLD_NOW | RTLD_LOCAL);
	snprintf(path, size, "%s/libremote.so", exe);
	return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

/* ----------------------------------------------------------------------- */
/* Options                                                                   */
/* ----------------------------------------------------------------------- */

static void usage(void)
{
	printf("Usage: " PROG " [OPTIONS]\n"
	       "The seed's program: N threads pinned to one CPU call a function of a\n"
	       "dlopen'ed library in a loop, with local work between the calls.\n\n"
	       "  -t, --threads=N        threads (1-1024, default 4)\n"
	       "  -c, --cpu=C            the CPU every thread pins itself to (default 0)\n"
	       "  -k, --calls=K          calls per thread (default 1000)\n"
	       "  -w, --work=W           units of work (%d dependent steps over %d ints)\n"
	       "                         done locally before each call, and by remote()\n"
	       "                         in it (0-1000000, default 128)\n"
	       "  -f, --fn=FN            remote (default), empty (remote_empty: returns\n"
	       "                         at once) or chase (remote_chase)\n"
	       "      --chase-len=L      chase: longs in the permutation (2-2^31,\n"
	       "                         default 2^23, 64 MiB), plain malloc\n"
	       "      --chase-steps=S    chase: hops a call (0-2^31, default 200)\n"
	       "  -l, --lib=PATH         the library (default .libs/libremote.so or\n"
	       "                         libremote.so next to this program)\n"
	       "  -q, --quiet            print numbers only: CALLS_PER_S US_PER_CALL CHECKSUM\n"
	       "  -h, --help             this text\n"
	       "Exit status: 0 done, 1 checksum mismatch or failure, 2 bad option.\n",
	       REMOTE_UNIT_STEPS, REMOTE_ARRAY_INTS);
}

static void bad(const char *opt, const char *val, const char *accepted)
{
	fprintf(stderr, PROG ": %s='%s' is not %s\n", opt, val, accepted);
	exit(2);
}

static long number(const char *opt, const char *val, long lo, long hi)
{
	char *end, accepted[64];
	long v;

	errno = 0;
	v = strtol(val, &end, 10);
	if (errno || end == val || *end || v < lo || v > hi) {
		snprintf(accepted, sizeof(accepted), "a number from %ld to %ld", lo, hi);
		bad(opt, val, accepted);
	}
	return v;
}

static void parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "calls", required_argument, NULL, 'k' },
		{ "work", required_argument, NULL, 'w' },
		{ "fn", required_argument, NULL, 'f' },
		{ "chase-len", required_argument, NULL, 'L' },
		{ "chase-steps", required_argument, NULL, 'S' },
		{ "lib", required_argument, NULL, 'l' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c, f;

	while ((c = getopt_long(argc, argv, "t:c:k:w:f:l:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			cfg.threads = (int)number("--threads", optarg, 1, 1024);
			break;
		case 'c':
			cfg.cpu = (int)number("--cpu", optarg, 0, CPU_SETSIZE - 1);
			break;
		case 'k':
			cfg.calls = number("--calls", optarg, 1, 1L << 40);
			break;
		case 'w':
			cfg.work = (int)number("--work", optarg, 0, 1000000);
			break;
		case 'f':
			for (f = 0; f < 3 && strcmp(optarg, fn_names[f]); f++)
				;
			if (f == 3)
				bad("--fn", optarg, "a function (remote, empty, chase)");
			cfg.fn = (enum fn)f;
			break;
		case 'L':
			cfg.chase_len = number("--chase-len", optarg, 2, 1L << 31);
			break;
		case 'S':
			cfg.chase_steps = number("--chase-steps", optarg, 0, 1L << 31);
			break;
		case 'l':
			cfg.lib = optarg;
			break;
		case 'q':
			cfg.quiet = true;
			break;
		case 'h':
			usage();
			exit(0);
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'; try --help\n", argv[optind]);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	char path[PATH_MAX + 32];
	struct thr *thr;
	uint64_t sum, ref;
	double t0 = 0, t1 = 0, rate;
	void *lib, *sym;

	parse(argc, argv);

	lib = open_lib(path, sizeof(path));
	if (!lib) {
		fprintf(stderr, PROG ": cannot load %s: %s\n", path, dlerror());
		return 1;
	}
	sym = dlsym(lib, fn_symbols[cfg.fn]);
	if (!sym) {
		fprintf(stderr, PROG ": no %s in %s: %s\n", fn_symbols[cfg.fn], path, dlerror());
		return 1;
	}
	if (cfg.fn == FN_CHASE)
		chase_call = (chase_fn)sym;
	else
		seed_call = (seed_fn)sym;

	if (cfg.fn == FN_CHASE && !(chase_next = make_chase(cfg.chase_len))) {
		fprintf(stderr, PROG ": cannot allocate %ld longs for --chase-len\n", cfg.chase_len);
		return 1;
	}
	thr = calloc((size_t)cfg.threads, sizeof(*thr));
	if (!thr) {
		perror(PROG ": calloc");
		return 1;
	}
	for (int i = 0; i < cfg.threads; i++) {
		thr[i].priv = malloc(REMOTE_ARRAY_INTS * sizeof(int));
		thr[i].a = malloc(REMOTE_ARRAY_INTS * sizeof(int));
		if (!thr[i].priv || !thr[i].a) {
			perror(PROG ": malloc");
			return 1;
		}
		thr_init(&thr[i], i);
	}

	pthread_barrier_init(&start_line, NULL, (unsigned)cfg.threads);
	for (int i = 0; i < cfg.threads; i++) {
		int e = pthread_create(&thr[i].id, NULL, worker, &thr[i]);

		if (e) {
			fprintf(stderr, PROG ": pthread_create: %s\n", strerror(e));
			return 1;
		}
	}
	for (int i = 0; i < cfg.threads; i++)
		pthread_join(thr[i].id, NULL);
	for (int i = 0; i < cfg.threads; i++) {
		if (thr[i].err) {
			fprintf(stderr, PROG ": cannot pin a thread to CPU %d: %s\n", cfg.cpu,
				strerror(thr[i].err));
			return 1;
		}
		if (i == 0 || thr[i].t0 < t0)
			t0 = thr[i].t0;
		if (i == 0 || thr[i].t1 > t1)
			t1 = thr[i].t1;
	}
	sum = checksum(thr, cfg.threads);

	/* The reference: the same chains again on this thread, from the same
	 * start, with the code compiled in. */
	for (int i = 0; i < cfg.threads; i++) {
		thr_init(&thr[i], i);
		calls(&thr[i], cfg.fn == FN_EMPTY ? ref_empty : ref_remote, ref_chase);
	}
	ref = checksum(thr, cfg.threads);

	rate = (double)cfg.threads * (double)cfg.calls / (t1 - t0);
	if (cfg.quiet)
		printf("%.1f %.3f %016llx\n", rate, 1e6 / rate, (unsigned long long)sum);
	else
		printf("fn=%s threads=%d cpu=%d work=%d calls=%ld calls/s=%.1f us/call=%.3f checksum=%016llx\n",
		       fn_names[cfg.fn], cfg.threads, cfg.cpu, cfg.work, cfg.threads * cfg.calls, rate,
		       1e6 / rate, (unsigned long long)sum);
	if (sum != ref) {
		fprintf(stderr, PROG ": checksum mismatch: %016llx from the calls, %016llx recomputed\n",
			(unsigned long long)sum, (unsigned long long)ref);
		return 1;
	}
	return 0;
}
