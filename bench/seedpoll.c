/* The founding experiment: a local thread sends chunks of an indirect-access
 * kernel (sum of a[b[a[i]]]) to a remote thread over single-producer,
 * single-consumer rings, and both sides poll with a 1 µs wait in
 * `while (!cond) WAIT();` loops, as the seed program did. Under plain libc a
 * 1 µs usleep lasts a timer round trip (about 60 µs with the default 50 µs
 * timer slack), and a request pays for several; libcxlmu's sched=threads is
 * meant to turn such polls into waits that end when the other side moves.
 * bench/seedpoll-cxx.cc is the same experiment with std::this_thread.
 *
 * Modes (see --help):
 *   default          the experiment; prints the checksum and µs per request
 *   --locals=N       the same with N local threads, each with its own pair of
 *                    rings to the one remote thread, which serves them round
 *                    robin (issue 4: several remote calls in flight at once);
 *                    prints also how many requests were in flight each time
 *                    the remote took one (mean, max)
 *   --idle=SECONDS   two threads poll with the wait call on a flag that is set
 *                    only after SECONDS; prints the CPU time they took (ms)
 *   --sleep=MS       -n sleeps (default 20) of MS ms each from one call site;
 *                    prints mean, min and max elapsed ms per sleep
 * The checksum is recomputed on one thread after the timed part: exit 1 if
 * the two differ, 2 on a bad option.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "fiber.h"

#define PROG "cxlmu-bench-seedpoll"

enum wait_call { W_USLEEP, W_NANOSLEEP, W_CLOCK_NANOSLEEP, W_YIELD, W_CORO };
static const char *const wait_names[] = { "usleep", "nanosleep", "clock_nanosleep", "yield", "coro" };

/* --wait=coro: the hand-written coroutine version of the same program, the
 * limit for the fiber scheduler. Both sides run on one thread, the remote
 * one on a fiber; a wait hands over to the other side with the runtime's
 * own context switch (src/fiber_x86_64.S), no kernel at all. */
static struct cxlmu_fiber_ctx coro_local, coro_remote;
static bool coro_on_remote;

static void coro_wait(void)
{
	if (coro_on_remote) {
		coro_on_remote = false;
		cxlmu_fiber_switch(&coro_remote, &coro_local);
	} else {
		coro_on_remote = true;
		cxlmu_fiber_switch(&coro_local, &coro_remote);
	}
}

static enum wait_call wait_call = W_USLEEP;
static const struct timespec one_us = { 0, 1000 };

/* A macro, not a function: every polling loop gets call sites of its own, as
 * in the seed, and libcxlmu tells a poll from a sleep by its call site. */
#define WAIT() do {								\
	switch (wait_call) {							\
	case W_USLEEP: usleep(1); break;					\
	case W_NANOSLEEP: nanosleep(&one_us, NULL); break;			\
	case W_CLOCK_NANOSLEEP: clock_nanosleep(CLOCK_MONOTONIC, 0, &one_us, NULL); break; \
	case W_YIELD: sched_yield(); break;					\
	case W_CORO: coro_wait(); break;					\
	}									\
} while (0)

/* A request is {start, len}; a response carries the sum in x. len 0 stops
 * the remote thread. */
struct msg {
	uint64_t x;
	uint32_t len;
};

/* Single producer, single consumer. Each index is written by one side only
 * and sits on its own cache line, so the two sides do not bounce one line
 * for every message. */
struct ring {
	_Alignas(64) _Atomic uint32_t head;	/* next slot to read: consumer's */
	_Alignas(64) _Atomic uint32_t tail;	/* next slot to write: producer's */
	_Alignas(64) uint32_t mask;
	struct msg *slot;
};

static bool ring_push(struct ring *r, struct msg m)
{
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	/* Acquire: the consumer's read of a slot happens before we reuse it. */
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);

	if (t - h > r->mask)
		return false;
	r->slot[t & r->mask] = m;
	/* Release: the slot's contents are visible before the new tail. */
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return true;
}

static bool ring_pop(struct ring *r, struct msg *m)
{
	uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	/* Acquire: pairs with the producer's release of tail. */
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (h == t)
		return false;
	*m = r->slot[h & r->mask];
	/* Release: we are done reading the slot before the producer reuses it. */
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return true;
}

static void ring_init(struct ring *r, uint32_t window)
{
	uint32_t cap = 1;

	while (cap < window)
		cap <<= 1;
	r->mask = cap - 1;
	r->slot = calloc(cap, sizeof(*r->slot));
	if (!r->slot) {
		perror(PROG);
		exit(1);
	}
}

/* One local thread's link to the remote one. Local j sends requests j,
 * j + locals, j + 2 * locals ... of the whole run, so any number of locals
 * gives the checksum of one. */
struct link {
	struct ring req, resp;
	/* Requests this local has submitted: written by the local only, read by
	 * the remote for the in-flight count. */
	_Alignas(64) _Atomic uint64_t sent;
	uint32_t id;
	uint64_t sum;
	double t_end;	/* when its last response came */
};

static struct {
	uint64_t requests;
	uint32_t window, chunk, elements, locals;
	uint32_t *a, *b;
	struct link *links;
	/* The remote's in-flight samples: written by it alone, read after it
	 * is joined. */
	uint64_t taken, inflight_sum, inflight_max;
	_Atomic bool idle_done;
} cfg = { .requests = 20000, .window = 1, .chunk = 64, .elements = 1u << 20, .locals = 1 };

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

/* Fixed-seed xorshift64, so the arrays and the checksum are the same in
 * every run, every mode and in the C++ twin. */
static void fill(void)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;

	cfg.a = malloc(sizeof(*cfg.a) * cfg.elements);
	cfg.b = malloc(sizeof(*cfg.b) * cfg.elements);
	if (!cfg.a || !cfg.b) {
		perror(PROG);
		exit(1);
	}
	for (uint32_t i = 0; i < cfg.elements; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		cfg.a[i] = (uint32_t)(s % cfg.elements);
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		cfg.b[i] = (uint32_t)(s % cfg.elements);
	}
}

/* Every value of a and b is below elements, so both lookups stay in range;
 * the chunk wraps at the end of a. */
static uint64_t kernel(uint64_t start, uint32_t len)
{
	uint64_t sum = 0, i = start;

	for (uint32_t j = 0; j < len; j++) {
		sum += cfg.a[cfg.b[cfg.a[i]]];
		if (++i == cfg.elements)
			i = 0;
	}
	return sum;
}

/* Reduced first: chunk and elements are both below 2^28, so no overflow. */
static uint64_t start_of(uint64_t k)
{
	return k % cfg.elements * cfg.chunk % cfg.elements;
}

/* Requests submitted and not yet answered, the one just taken included. */
static void sample_inflight(uint64_t answered)
{
	uint64_t sent = 0, n;

	/* Relaxed: the taken request's own count was stored before its push,
	 * whose release our pop acquired; the other locals' counts may lag by
	 * a request, which a sample can bear. */
	for (uint32_t j = 0; j < cfg.locals; j++)
		sent += atomic_load_explicit(&cfg.links[j].sent, memory_order_relaxed);
	n = sent - answered;
	cfg.taken++;
	cfg.inflight_sum += n;
	if (n > cfg.inflight_max)
		cfg.inflight_max = n;
}

/* Serves the locals' request rings round robin, starting after the one
 * served last, and waits only when a whole round found them all empty; with
 * one local that is `while (!pop) WAIT();`. Ends when every local has sent
 * its stop. */
static void *remote(void *arg)
{
	uint32_t n = cfg.locals, i = n - 1, live = n, k;
	uint64_t answered = 0;
	struct link *l;
	struct msg m;

	for (;;) {
		for (k = 0;;) {
			if (++i == n)
				i = 0;
			l = &cfg.links[i];
			if (ring_pop(&l->req, &m))
				break;
			if (++k == n) {
				WAIT();
				k = 0;
			}
		}
		if (!m.len) {
			if (!--live)
				return NULL;
			continue;
		}
		sample_inflight(answered);
		m.x = kernel(m.x, m.len);
		while (!ring_push(&l->resp, m))
			WAIT();
		answered++;
	}
}

static void coro_remote_main(void *arg)
{
	remote(arg);
	/* Stopped: hand back for good. */
	for (;;)
		coro_wait();
}

/* A local side: at most window requests in flight, one response awaited
 * at a time. Leaves its part of the checksum in l->sum and the time of its
 * last response in l->t_end. */
static void *local(void *arg)
{
	struct link *l = arg;
	uint64_t sent = 0, done = 0, sum = 0, n = 0;
	struct msg m;

	if (l->id < cfg.requests)
		n = (cfg.requests - l->id - 1) / cfg.locals + 1;
	while (done < n) {
		while (sent < n && sent - done < cfg.window) {
			m = (struct msg){ start_of(l->id + sent * cfg.locals), cfg.chunk };
			/* Counted before the push: its release makes the count
			 * visible no later than the request, so the remote never
			 * takes a request it does not count. */
			atomic_store_explicit(&l->sent, sent + 1, memory_order_relaxed);
			while (!ring_push(&l->req, m))
				WAIT();
			sent++;
		}
		while (!ring_pop(&l->resp, &m))
			WAIT();
		sum += m.x;
		done++;
	}
	l->t_end = now_us();
	l->sum = sum;
	m = (struct msg){ 0, 0 };
	while (!ring_push(&l->req, m))
		WAIT();
	return NULL;
}

/* The main thread is local 0 and makes the others, so one local is the
 * original two-thread program. */
static int experiment(bool quiet, bool show_locals)
{
	uint64_t sum = 0, check = 0;
	pthread_t tid, *ltid;
	double t0, t1 = 0, us;

	fill();
	cfg.links = aligned_alloc(_Alignof(struct link), sizeof(*cfg.links) * cfg.locals);
	ltid = calloc(cfg.locals, sizeof(*ltid));
	if (!cfg.links || !ltid) {
		perror(PROG);
		return 1;
	}
	memset(cfg.links, 0, sizeof(*cfg.links) * cfg.locals);
	for (uint32_t j = 0; j < cfg.locals; j++) {
		cfg.links[j].id = j;
		ring_init(&cfg.links[j].req, cfg.window);
		ring_init(&cfg.links[j].resp, cfg.window);
	}
	if (wait_call == W_CORO) {
		struct cxlmu_fiber_stack st;
		if (cxlmu_fiber_stack_alloc(&st, 256 * 1024, 4096)) {
			fprintf(stderr, PROG ": cannot map the remote side's fiber stack\n");
			return 1;
		}
		cxlmu_fiber_make(&coro_remote, st.stack, st.size, coro_remote_main, NULL);
		t0 = now_us();
		local(&cfg.links[0]);
		/* The remote side's last wait never returns: its stack goes. */
		cxlmu_fiber_stack_free(&st);
	} else {
		if (pthread_create(&tid, NULL, remote, NULL)) {
			fprintf(stderr, PROG ": pthread_create failed\n");
			return 1;
		}
		t0 = now_us();
		for (uint32_t j = 1; j < cfg.locals; j++)
			if (pthread_create(&ltid[j], NULL, local, &cfg.links[j])) {
				fprintf(stderr, PROG ": pthread_create failed\n");
				return 1;
			}
		local(&cfg.links[0]);
		for (uint32_t j = 1; j < cfg.locals; j++)
			pthread_join(ltid[j], NULL);
		pthread_join(tid, NULL);
	}
	/* Unsigned sums wrap alike in any order: the parts add up to the
	 * one-thread checksum. */
	for (uint32_t j = 0; j < cfg.locals; j++) {
		sum += cfg.links[j].sum;
		if (cfg.links[j].t_end > t1)
			t1 = cfg.links[j].t_end;
	}
	us = (t1 - t0) / (double)cfg.requests;
	for (uint64_t k = 0; k < cfg.requests; k++)
		check += kernel(start_of(k), cfg.chunk);
	if (sum != check) {
		fprintf(stderr, PROG ": checksum %llu from the remote thread, %llu on one thread\n",
			(unsigned long long)sum, (unsigned long long)check);
		return 1;
	}
	if (show_locals) {
		double mean = cfg.taken ? (double)cfg.inflight_sum / (double)cfg.taken : 0;

		if (quiet)
			printf("%llu %.3f %.2f %llu\n", (unsigned long long)sum, us, mean,
			       (unsigned long long)cfg.inflight_max);
		else
			printf("%s locals %u requests %llu window %u chunk %u elements %u: checksum %llu, "
			       "%.3f us/request, in flight mean %.2f max %llu\n",
			       wait_names[wait_call], cfg.locals, (unsigned long long)cfg.requests,
			       cfg.window, cfg.chunk, cfg.elements, (unsigned long long)sum, us,
			       mean, (unsigned long long)cfg.inflight_max);
	} else if (quiet) {
		printf("%llu %.3f\n", (unsigned long long)sum, us);
	} else {
		printf("%s requests %llu window %u chunk %u elements %u: checksum %llu, %.3f us/request\n",
		       wait_names[wait_call], (unsigned long long)cfg.requests, cfg.window,
		       cfg.chunk, cfg.elements, (unsigned long long)sum, us);
	}
	return 0;
}

static void *idler(void *arg)
{
	while (!atomic_load_explicit(&cfg.idle_done, memory_order_acquire))
		WAIT();
	return NULL;
}

static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-3;
}

/* Two pollers wait for something that does not happen for `seconds`; the
 * main thread sleeps that long in one call. CPU time is taken from just
 * before the threads start to just after they end, so start-up (the loader,
 * libcxlmu's set-up) is not in it: bench/run-startup.sh measures that. */
static int idle(double seconds, bool quiet)
{
	struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
	pthread_t tid[2];
	double c0, w0, c1, w1;

	c0 = cpu_ms();
	w0 = now_us();
	for (int i = 0; i < 2; i++)
		if (pthread_create(&tid[i], NULL, idler, NULL)) {
			fprintf(stderr, PROG ": pthread_create failed\n");
			return 1;
		}
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	atomic_store_explicit(&cfg.idle_done, true, memory_order_release);
	for (int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	c1 = cpu_ms();
	w1 = now_us();
	if (quiet)
		printf("%.2f\n", c1 - c0);
	else
		printf("idle: 2 threads polling with %s for %.3f s: cpu %.2f ms\n",
		       wait_names[wait_call], (w1 - w0) * 1e-6, c1 - c0);
	return 0;
}

/* Sleeps of `ms` from one call site, each timed: a sleep this long must
 * keep its meaning even when repeated from one place. */
static int sleeps(uint32_t ms, uint64_t count, bool quiet)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	double sum = 0, min = 1e300, max = 0;

	for (uint64_t i = 0; i < count; i++) {
		double t0 = now_us(), t;

		switch (wait_call) {
		case W_USLEEP: usleep(ms * 1000); break;
		case W_NANOSLEEP: nanosleep(&ts, NULL); break;
		case W_CLOCK_NANOSLEEP: clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL); break;
		case W_YIELD: case W_CORO: break;
		}
		t = (now_us() - t0) * 1e-3;
		sum += t;
		min = t < min ? t : min;
		max = t > max ? t : max;
	}
	if (quiet)
		printf("%.3f %.3f %.3f\n", sum / (double)count, min, max);
	else
		printf("sleep: %llu x %s %u ms: mean %.3f min %.3f max %.3f ms\n",
		       (unsigned long long)count, wait_names[wait_call], ms,
		       sum / (double)count, min, max);
	return 0;
}

static void usage(void)
{
	printf(
		"Usage: " PROG " [OPTIONS]\n"
		"A local thread sends chunks of sum(a[b[a[i]]]) to a remote thread over\n"
		"single-producer rings; both poll with a 1 us wait. Prints the checksum\n"
		"and us per request.\n"
		"  -n, --requests=N     requests (default 20000); with --sleep, sleeps (default 20)\n"
		"  -w, --window=N       requests in flight, 1-65536 (default 1)\n"
		"  -c, --chunk=N        elements per request, 1-16777216 (default 64)\n"
		"  -m, --elements=N     elements of a and of b, 1-268435456 (default 1048576)\n"
		"      --locals=N       N local threads (1-1024, default 1), each with its own\n"
		"                       rings to the one remote thread, which serves them round\n"
		"                       robin; -n is the total and -w per local; prints also the\n"
		"                       requests in flight when the remote takes one (mean, max)\n"
		"      --wait=CALL      usleep (usleep(1), default), nanosleep (1 us),\n"
		"                       clock_nanosleep (CLOCK_MONOTONIC, relative, 1 us), yield\n"
		"                       (sched_yield), or coro: both sides as coroutines on one\n"
		"                       thread, switching to each other (the hand-written limit)\n"
		"      --idle=SECONDS   instead: two threads poll with CALL on a flag set only\n"
		"                       after SECONDS (0.001-3600); print their CPU time in ms\n"
		"      --sleep=MS       instead: sleep MS ms (1-1000) with CALL, -n times from\n"
		"                       one call site; print mean, min and max ms per sleep\n"
		"  -q, --quiet          print numbers only: CHECKSUM US_PER_REQUEST (with\n"
		"                       --locals: and IN_FLIGHT_MEAN IN_FLIGHT_MAX), or CPU_MS,\n"
		"                       or MEAN MIN MAX\n"
		"  -h, --help           this text\n"
		"Exit status: 0 done, 1 checksum mismatch or failure, 2 bad option.\n");
}

static void bad(const char *opt, const char *val, const char *accepted)
{
	fprintf(stderr, PROG ": %s='%s' is not %s\n", opt, val, accepted);
	exit(2);
}

static uint64_t number(const char *opt, const char *val, uint64_t lo, uint64_t hi)
{
	char *end, accepted[64];
	unsigned long long v;

	errno = 0;
	v = strtoull(val, &end, 10);
	if (errno || end == val || *end || *val == '-' || v < lo || v > hi) {
		snprintf(accepted, sizeof(accepted), "a number from %llu to %llu",
			 (unsigned long long)lo, (unsigned long long)hi);
		bad(opt, val, accepted);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "requests", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "elements", required_argument, NULL, 'm' },
		{ "locals", required_argument, NULL, 'L' },
		{ "wait", required_argument, NULL, 'W' },
		{ "idle", required_argument, NULL, 'I' },
		{ "sleep", required_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool quiet = false, have_n = false, have_locals = false;
	double idle_s = 0;
	uint32_t sleep_ms = 0;
	char *end;
	int c, w;

	while ((c = getopt_long(argc, argv, "n:w:c:m:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			cfg.requests = number("--requests", optarg, 1, UINT64_MAX / 2);
			have_n = true;
			break;
		case 'w':
			cfg.window = (uint32_t)number("--window", optarg, 1, 65536);
			break;
		case 'c':
			cfg.chunk = (uint32_t)number("--chunk", optarg, 1, 1u << 24);
			break;
		case 'm':
			cfg.elements = (uint32_t)number("--elements", optarg, 1, 1u << 28);
			break;
		case 'L':
			cfg.locals = (uint32_t)number("--locals", optarg, 1, 1024);
			have_locals = true;
			break;
		case 'W':
			for (w = 0; w < 5 && strcmp(optarg, wait_names[w]); w++)
				;
			if (w == 5)
				bad("--wait", optarg, "a wait call (usleep, nanosleep, clock_nanosleep, yield, coro)");
			wait_call = (enum wait_call)w;
			break;
		case 'I':
			errno = 0;
			idle_s = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(idle_s >= 0.001 && idle_s <= 3600))
				bad("--idle", optarg, "a number of seconds from 0.001 to 3600");
			break;
		case 'S':
			sleep_ms = (uint32_t)number("--sleep", optarg, 1, 1000);
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage();
			return 0;
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'; try --help\n", argv[optind]);
		return 2;
	}
	if (idle_s && sleep_ms) {
		fprintf(stderr, PROG ": --idle and --sleep are two modes; give one\n");
		return 2;
	}
	if ((sleep_ms || idle_s) && have_locals) {
		fprintf(stderr, PROG ": --locals is for the experiment, not --idle or --sleep\n");
		return 2;
	}
	if (cfg.locals > 1 && wait_call == W_CORO)
		bad("--wait", "coro", "a call of the threads' own with --locals above 1 (usleep, nanosleep, clock_nanosleep, yield)");
	if ((sleep_ms || idle_s) && wait_call == W_CORO)
		bad("--wait", "coro", "a call of the threads' own with --sleep or --idle (usleep, nanosleep, clock_nanosleep, yield)");
	if (sleep_ms) {
		if (wait_call == W_YIELD)
			bad("--wait", "yield", "a sleeping call with --sleep (usleep, nanosleep, clock_nanosleep)");
		return sleeps(sleep_ms, have_n ? cfg.requests : 20, quiet);
	}
	if (idle_s)
		return idle(idle_s, quiet);
	return experiment(quiet, have_locals);
}
