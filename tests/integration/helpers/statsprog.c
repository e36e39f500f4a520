/* A program whose allocations the stats report must show. argv[1]:
 *   keep     10 blocks of 1 MiB live at exit
 *   free     10 blocks of 1 MiB made and freed
 *   threads  4 threads each leave 1 MiB live and exit before main does
 *   now      print the JSON report to stdout now (cxlmu_stats_write), then
 *            check that a write to a closed descriptor gives -EBADF
 *   exact    write the JSON report to descriptor 3, make and free 300000
 *            blocks (1 B to 2 KiB, every 1000th 100 KiB, a third of them
 *            with calloc) and call free(NULL) 1000 times, write the report
 *            to descriptor 4, and print "blocks BYTES": the sum of the
 *            blocks' usable sizes, which the reports' totals must differ by
 *   freer    a thread set up at once frees, while it stays alive, the
 *            100000 blocks of 32 B the main thread makes after the JSON
 *            report to descriptor 3; then the report to descriptor 4
 * and argv[2], if given, is an exit status to end with. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>

#include "common.h"

#define MiB (1ul << 20)

static void *leave_one(void *arg)
{
	void *p = malloc(MiB);
	if (p)
		memset(p, 1, MiB);
	return NULL;   /* dropped on purpose: live at exit */
}

static void *freed[100000];
static sem_t go, gone, quit;

/* freer's thread: set up before the blocks exist, then frees them. */
static void *freer(void *unused)
{
	free(malloc(1));
	sem_post(&gone);
	sem_wait(&go);
	for (unsigned i = 0; i < 100000; i++)
		free(freed[i]);
	sem_post(&gone);
	sem_wait(&quit);
	return NULL;
}

/* exact (see above); NULL when all went well. */
static void *exact(void *unused)
{
	int (*w)(int, int) = (int (*)(int, int))dlsym(RTLD_DEFAULT, "cxlmu_stats_write");
	size_t (*usable)(void *) = (size_t (*)(void *))dlsym(RTLD_DEFAULT, "malloc_usable_size");
	static void *slot[512];
	unsigned long long bytes = 0;

	if (!w || !usable || w(3, 1))
		return "report";
	for (unsigned i = 0; i < 300000 + 512; i++) {
		unsigned k = i % 512;
		size_t n = i % 1000 == 999 ? 100 * 1024 : 1 + (i * 7919u) % 2048;

		free(slot[k]);
		slot[k] = NULL;
		if (i >= 300000)
			continue;
		slot[k] = i % 3 ? malloc(n) : calloc(1, n);
		if (!slot[k])
			return "malloc";
		*(char *)slot[k] = 1;
		bytes += usable(slot[k]);
		if (i % 300 == 0)
			free(NULL);
	}
	if (w(4, 1))
		return "report";
	printf("blocks %llu\n", bytes);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	void *b[10];

	t_require_preload();
	if (!strcmp(what, "keep") || !strcmp(what, "free")) {
		for (int i = 0; i < 10; i++) {
			b[i] = malloc(MiB);
			if (!b[i])
				return 1;
			memset(b[i], i, MiB);
		}
		if (!strcmp(what, "free"))
			for (int i = 0; i < 10; i++)
				free(b[i]);
	} else if (!strcmp(what, "threads")) {
		pthread_t t[4];
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, leave_one, NULL);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
	} else if (!strcmp(what, "now")) {
		int (*w)(int, int) = (int (*)(int, int))dlsym(RTLD_DEFAULT, "cxlmu_stats_write");
		if (!w || w(1, 1))
			return 1;
		/* An error is -errno, and errno is left alone. */
		errno = EDOM;
		if (w(-1, 1) != -EBADF || errno != EDOM) {
			fprintf(stderr, "statsprog: cxlmu_stats_write(-1): want -EBADF, errno kept\n");
			return 1;
		}
	} else if (!strcmp(what, "exact")) {
		pthread_t t;
		void *r = NULL;

		/* In a thread of its own with STATSPROG_THREAD set. */
		if (!getenv("STATSPROG_THREAD"))
			return exact(NULL) ? 1 : 0;
		if (pthread_create(&t, NULL, exact, NULL) || pthread_join(t, &r) || r)
			return 1;
	} else if (!strcmp(what, "freer")) {
		int (*w)(int, int) = (int (*)(int, int))dlsym(RTLD_DEFAULT, "cxlmu_stats_write");
		pthread_t t;

		if (!w || sem_init(&go, 0, 0) || sem_init(&gone, 0, 0) || sem_init(&quit, 0, 0))
			return 1;
		pthread_create(&t, NULL, freer, NULL);
		sem_wait(&gone);
		if (w(3, 1))
			return 1;
		for (unsigned i = 0; i < 100000; i++)
			if (!(freed[i] = malloc(32)))
				return 1;
		sem_post(&go);
		sem_wait(&gone);
		if (w(4, 1))
			return 1;
		sem_post(&quit);
		pthread_join(t, NULL);
	} else {
		fprintf(stderr, "usage: statsprog keep|free|threads|now|exact|freer [STATUS]\n");
		return 2;
	}
	return argc > 2 ? atoi(argv[2]) : 0;
}
