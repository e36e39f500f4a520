/* Many threads polling at once, each waiting with a usleep(1) loop.
 *   sleepmany pre|plain pairs NPAIRS K
 *       NPAIRS pairs hand a token back and forth K times each; once done,
 *       every thread stays (polling) until all are done, so all waits
 *       exist together; then the program itself must still be able to
 *       open 16 descriptors, and after all threads are joined no more than
 *       8 descriptors may be left over from them.
 *   sleepmany pre|plain broadcast NTHREADS ROUNDS
 *       one producer starts ROUNDS generations; each of the NTHREADS-1
 *       consumers polls for every generation and acknowledges it; the
 *       producer polls until all have.
 * Every count is checked; prints only "sleepmany: ok". */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>

#include "common.h"
#include "sleep.h"

#define MAXPAIRS 256

struct mpair {
	_Atomic unsigned long turn;
	unsigned long handled[2];
	unsigned long bad[2];
};

static struct mpair *mp;
static unsigned long k_tokens;
static _Atomic unsigned finished;
static atomic_bool release;

static void *pair_side(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	struct mpair *p = &mp[id / 2];
	unsigned me = id % 2;
	unsigned long t, expect = me;

	for (;;) {
		while (((t = atomic_load(&p->turn)) & 1) != me && t < k_tokens)
			usleep(1);
		if (t >= k_tokens)
			break;
		if (t != expect)
			p->bad[me]++;
		expect = t + 2;
		p->handled[me]++;
		atomic_store(&p->turn, t + 1);
	}
	atomic_fetch_add(&finished, 1);
	while (!atomic_load(&release))
		usleep(1);
	return NULL;
}

static _Atomic unsigned long gen;
static _Atomic unsigned long acks;
static unsigned long rounds;

static void *consumer(void *arg)
{
	unsigned long seen = 0, *bad = arg;

	while (seen < rounds) {
		unsigned long g;
		while ((g = atomic_load(&gen)) == seen)
			usleep(1);
		if (g != seen + 1)
			(*bad)++;
		seen = g;
		atomic_fetch_add(&acks, 1);
	}
	return NULL;
}

static int start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	pthread_attr_t a;
	int rc;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 256 * 1024);
	rc = pthread_create(t, &a, fn, arg);
	pthread_attr_destroy(&a);
	return rc;
}

static void run_pairs(unsigned npairs, unsigned long k)
{
	pthread_t *t = calloc(2 * npairs, sizeof(*t));
	int base = t_open_fds(), during, after, extra[16], opened = 0, err = 0;

	mp = calloc(npairs, sizeof(*mp));
	k_tokens = k;
	if (!t || !mp)
		exit(1);
	for (uintptr_t i = 0; i < 2 * npairs; i++) {
		int rc = start(&t[i], pair_side, (void *)i);
		if (rc) {
			T_CHECK(0, "pthread_create #%lu: %s", (unsigned long)i, strerror(rc));
			exit(1);
		}
	}
	while (atomic_load(&finished) < 2 * npairs)
		usleep(1);
	/* All waits exist now: the program can still open files. */
	during = t_open_fds();
	for (int i = 0; i < 16; i++) {
		extra[i] = open("/dev/null", O_RDONLY);
		if (extra[i] < 0) {
			err = errno;
			break;
		}
		opened++;
	}
	T_CHECK(opened == 16, "with %u threads polling (%d descriptors open%s) open() failed after %d: %s",
		2 * npairs, during, during < 0 ? ": none left to read /proc/self/fd" : "", opened, strerror(err));
	for (int i = 0; i < opened; i++)
		close(extra[i]);
	atomic_store(&release, true);
	for (unsigned i = 0; i < 2 * npairs; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; i < npairs; i++) {
		unsigned long turn = atomic_load(&mp[i].turn);
		T_CHECK(turn == k && mp[i].handled[0] == (k + 1) / 2 && mp[i].handled[1] == k / 2 &&
			!mp[i].bad[0] && !mp[i].bad[1],
			"pair %u: %lu tokens, sides took %lu and %lu, %lu/%lu out of sequence", i, turn,
			mp[i].handled[0], mp[i].handled[1], mp[i].bad[0], mp[i].bad[1]);
	}
	after = t_open_fds();
	T_CHECK(after <= base + 8, "%d descriptors before %u threads, %d while they polled, %d after they exited",
		base, 2 * npairs, during, after);
	free(t);
	free(mp);
}

static void run_broadcast(unsigned nthreads, unsigned long r)
{
	unsigned nc = nthreads - 1;
	pthread_t *t = calloc(nc, sizeof(*t));
	unsigned long *bad = calloc(nc, sizeof(*bad));

	rounds = r;
	if (!t || !bad)
		exit(1);
	for (unsigned i = 0; i < nc; i++) {
		int rc = start(&t[i], consumer, &bad[i]);
		if (rc) {
			T_CHECK(0, "pthread_create #%u: %s", i, strerror(rc));
			exit(1);
		}
	}
	for (unsigned long g = 1; g <= r; g++) {
		atomic_store(&gen, g);
		while (atomic_load(&acks) < nc * g)
			usleep(1);
		T_CHECK(atomic_load(&acks) == nc * g, "generation %lu: %lu acknowledgements, want %lu", g,
			atomic_load(&acks), nc * g);
	}
	for (unsigned i = 0; i < nc; i++) {
		pthread_join(t[i], NULL);
		T_CHECK(!bad[i], "consumer %u skipped %lu generations", i, bad[i]);
	}
	free(t);
	free(bad);
}

int main(int argc, char **argv)
{
	if (argc != 5)
		goto usage;
	t_require_mode(argv[1]);
	if (!strcmp(argv[2], "pairs")) {
		unsigned long n = strtoul(argv[3], NULL, 10);
		if (n < 1 || n > MAXPAIRS)
			goto usage;
		run_pairs((unsigned)n, strtoul(argv[4], NULL, 10));
		return t_done("sleepmany");
	}
	if (!strcmp(argv[2], "broadcast")) {
		unsigned long n = strtoul(argv[3], NULL, 10);
		if (n < 2 || n > 2 * MAXPAIRS)
			goto usage;
		run_broadcast((unsigned)n, strtoul(argv[4], NULL, 10));
		return t_done("sleepmany");
	}
usage:
	fprintf(stderr, "usage: sleepmany pre|plain pairs NPAIRS K | broadcast NTHREADS ROUNDS\n");
	return 2;
}
