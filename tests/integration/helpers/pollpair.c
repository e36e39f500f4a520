/* Polling loops whose sleep calls the program counts itself.
 *   pollpair pre|plain pair N WORK_US
 *       two threads hand a token back and forth N times, each waiting with
 *       `while (!my_turn) usleep(1);` and doing WORK_US µs of CPU work per
 *       token; checks every token went through in order and prints
 *       "iterations=I io_uring_fds=F io_uring_maps=M" (F and M counted by
 *       one side after it polled, while it still runs).
 *   pollpair pre|plain idle MS
 *       two threads poll a flag that stays clear for MS ms; prints
 *       "iterations=I".
 * I is the number of usleep calls both sides made. */
#include <stdlib.h>

#include "common.h"
#include "sleep.h"

static atomic_bool flag;
static _Atomic unsigned long idle_iters;

static void *idle_poller(void *arg)
{
	unsigned long n = 0;

	while (!atomic_load(&flag)) {
		usleep(1);
		n++;
	}
	atomic_fetch_add(&idle_iters, n);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		goto usage;
	t_require_mode(argv[1]);
	if (!strcmp(argv[2], "pair") && argc == 5) {
		struct t_pair p;
		unsigned long n = strtoul(argv[3], NULL, 10);

		long long work = atoll(argv[4]) * T_US;

		if (n < 4 || t_pair_start(&p, n, work, NULL, true))
			goto usage;
		t_pair_finish(&p, "pair");
		printf("iterations=%lu io_uring_fds=%d io_uring_maps=%d\n",
		       atomic_load(&p.iters), p.uring_fds, p.uring_maps);
		return t_done("pollpair");
	}
	if (!strcmp(argv[2], "idle") && argc == 4) {
		pthread_t t[2];
		long long ms = atoll(argv[3]);

		for (int i = 0; i < 2; i++)
			T_CHECK(!pthread_create(&t[i], NULL, idle_poller, NULL), "pthread_create");
		nanosleep(T_TS(ms * T_MS), NULL);
		atomic_store(&flag, true);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		printf("iterations=%lu\n", atomic_load(&idle_iters));
		return t_done("pollpair");
	}
usage:
	fprintf(stderr, "usage: pollpair pre|plain pair N WORK_US | idle MS\n");
	return 2;
}
