/* Detached threads that never allocate, a few alive at a time. Each one's
 * last act in glibc is to free the DTV of threads that exited before it
 * (__nptl_free_stacks), the first heap call such a thread ever makes. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

static _Atomic int alive;

static void *worker(void *arg)
{
	(void)arg;
	atomic_fetch_sub(&alive, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < n; i++) {
		pthread_t t;
		while (atomic_load(&alive) >= 4)
			sched_yield();
		atomic_fetch_add(&alive, 1);
		if (pthread_create(&t, &attr, worker, NULL)) {
			atomic_fetch_sub(&alive, 1);
			T_CHECK(0, "pthread_create failed after %d threads", i);
			break;
		}
	}
	while (atomic_load(&alive))
		sched_yield();
	/* The last ones are still leaving: give them time to free. */
	usleep(100000);
	return t_done("churn");
}
