/* Shared by the sleep and poll helpers: clocks, CPU work, the polling pair
 * (two threads handing a token back and forth, each waiting with
 * `while (!my_turn) usleep(1);`) and a count of the io_uring instances the
 * process holds. Include after common.h. */
#ifndef CXLMU_TESTS_INTEGRATION_SLEEP_H
#define CXLMU_TESTS_INTEGRATION_SLEEP_H

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#define T_MS 1000000LL
#define T_US 1000LL
#define T_S  1000000000LL

/* A struct timespec of ns nanoseconds, as a compound literal. */
#define T_TS(ns) (&(struct timespec){ (time_t)((ns) / T_S), (long)((ns) % T_S) })

static inline long long t_now_on(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * T_S + ts.tv_nsec;
}

static inline long long t_now(void)
{
	return t_now_on(CLOCK_MONOTONIC);
}

/* Real work: burn ns of this thread's CPU time (not wall time, so a thread
 * sharing the CPU does not shorten it). */
static inline void t_spin_cpu(long long ns)
{
	long long end = t_now_on(CLOCK_THREAD_CPUTIME_ID) + ns;
	volatile unsigned long x = 1;

	if (ns <= 0)
		return;
	do {
		for (int i = 0; i < 200; i++)
			x = x * 6364136223846793005ul + 1442695040888963407ul;
	} while (t_now_on(CLOCK_THREAD_CPUTIME_ID) < end);
}

/* argv[1] of the helpers that also run without the preload: "pre" (the
 * runtime must be there) or "plain" (it must not be). */
static inline void t_require_mode(const char *mode)
{
	if (mode && !strcmp(mode, "pre")) {
		t_require_preload();
	} else if (mode && !strcmp(mode, "plain")) {
		if (dlsym(RTLD_DEFAULT, "cxlmu_version")) {
			fprintf(stderr, "FAIL: libcxlmu.so is preloaded in a plain run\n");
			exit(1);
		}
	} else {
		fprintf(stderr, "first argument: pre or plain, not '%s'\n", mode ? mode : "");
		exit(2);
	}
}

/* io_uring instances this process holds: descriptors whose link reads
 * anon_inode:[io_uring], and mappings of such rings in /proc/self/maps. */
static inline int t_io_uring_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[64], link[128];
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t len = readlink(path, link, sizeof(link) - 1);
		if (len < 0)
			continue;
		link[len] = 0;
		if (strstr(link, "io_uring"))
			n++;
	}
	closedir(d);
	return n;
}

static inline int t_io_uring_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "io_uring"))
			n++;
	fclose(f);
	return n;
}

/* Open descriptors of this process. */
static inline int t_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;   /* the directory's own descriptor */
}

/* ----------------------------------------------------------------------- */
/* The polling pair                                                          */
/* ----------------------------------------------------------------------- */

struct t_pair;

struct t_side {
	struct t_pair *p;
	unsigned me;            /* 0 takes the even tokens, 1 the odd ones */
	unsigned long handled;  /* tokens this side took */
	unsigned long iters;    /* usleep calls made while waiting */
	unsigned long bad;      /* tokens out of sequence */
};

struct t_pair {
	_Atomic unsigned long turn;  /* the next token: its parity says whose turn */
	unsigned long n;             /* tokens to hand over; 0: until *stop */
	long long work_ns;           /* CPU work per token */
	atomic_bool *stop;           /* with n == 0: set to end the pair */
	_Atomic unsigned long iters; /* both sides' usleep calls so far */
	bool scan;                   /* side 0 counts io_uring rings before it ends */
	int uring_fds, uring_maps;
	pthread_t t[2];
	struct t_side side[2];
};

static inline bool t_pair_over(struct t_pair *p, unsigned long t)
{
	return (p->n && t >= p->n) || (p->stop && atomic_load(p->stop));
}

static void *t_pair_side(void *arg)
{
	struct t_side *s = arg;
	struct t_pair *p = s->p;
	unsigned long t, expect = s->me;

	for (;;) {
		/* The loop under test: a short sleep repeated from one place. */
		while (((t = atomic_load(&p->turn)) & 1) != s->me && !t_pair_over(p, t)) {
			usleep(1);
			s->iters++;
			atomic_fetch_add_explicit(&p->iters, 1, memory_order_relaxed);
		}
		if (t_pair_over(p, t))
			break;
		if (t != expect)
			s->bad++;
		expect = t + 2;
		t_spin_cpu(p->work_ns);
		s->handled++;
		atomic_store(&p->turn, t + 1);
	}
	if (s->me == 0 && p->scan) {
		/* This thread has polled and is still alive: its ring, if any, is open. */
		p->uring_fds = t_io_uring_fds();
		p->uring_maps = t_io_uring_maps();
	}
	return NULL;
}

/* Start a pair handing n tokens (0: until *stop), work_ns of work each;
 * with scan, side 0 counts the io_uring rings before it ends. */
static inline int t_pair_start(struct t_pair *p, unsigned long n, long long work_ns,
			       atomic_bool *stop, bool scan)
{
	memset(p, 0, sizeof(*p));
	p->n = n;
	p->work_ns = work_ns;
	p->stop = stop;
	p->scan = scan;
	for (unsigned i = 0; i < 2; i++) {
		p->side[i].p = p;
		p->side[i].me = i;
	}
	for (unsigned i = 0; i < 2; i++)
		if (pthread_create(&p->t[i], NULL, t_pair_side, &p->side[i]))
			return -1;
	return 0;
}

/* Join the pair and check every token went through once, in order, to
 * the right side. what names the pair in messages. */
static inline void t_pair_finish(struct t_pair *p, const char *what)
{
	unsigned long turn, h0, h1;

	for (unsigned i = 0; i < 2; i++)
		pthread_join(p->t[i], NULL);
	turn = atomic_load(&p->turn);
	h0 = p->side[0].handled;
	h1 = p->side[1].handled;
	if (p->n)
		T_CHECK(turn == p->n, "%s: %lu tokens handed, want %lu", what, turn, p->n);
	T_CHECK(h0 + h1 == turn && h0 == (turn + 1) / 2 && h1 == turn / 2,
		"%s: sides took %lu and %lu tokens of %lu", what, h0, h1, turn);
	T_CHECK(!p->side[0].bad && !p->side[1].bad, "%s: %lu and %lu tokens out of sequence",
		what, p->side[0].bad, p->side[1].bad);
}

#endif
