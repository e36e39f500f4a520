/* A program whose allocations the stats report must show. argv[1]:
 *   keep     10 blocks of 1 MiB live at exit
 *   free     10 blocks of 1 MiB made and freed
 *   threads  4 threads each leave 1 MiB live and exit before main does
 *   now      print the JSON report to stdout now (cxlmu_stats_write), then
 *            check that a write to a closed descriptor gives -EBADF
 * and argv[2], if given, is an exit status to end with. */
#include <errno.h>
#include <pthread.h>
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
	} else {
		fprintf(stderr, "usage: statsprog keep|free|threads|now [STATUS]\n");
		return 2;
	}
	return argc > 2 ? atoi(argv[2]) : 0;
}
