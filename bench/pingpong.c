/* Two threads hand a turn back and forth N times through one of the
 * pthread waits, the cost of a hand-off between threads that share a
 * core. bench/run-pingpong.sh runs it plain and as fibers on one CPU.
 * Usage: cxlmu-bench-pingpong cond|sem|mutex N
 *   cond   a mutex and condition variable: each waits for its turn
 *   sem    two semaphores: each posts the other's
 *   mutex  the semaphores, with each turn's work under a mutex (taken
 *          after the wait: it is seldom contended on one CPU)
 * Prints "<way> <N> <us per hand-off> checksum <sum>". */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long n;
static int way;                 /* 0 cond, 1 sem, 2 mutex */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t sems[2];
static pthread_mutex_t held[2] = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER };
static long turn, sum;

static void *player(void *arg)
{
	long me = (long)arg;

	for (long i = 0; i < n; i++) {
		switch (way) {
		case 0:
			pthread_mutex_lock(&mu);
			while (turn % 2 != me)
				pthread_cond_wait(&cv, &mu);
			sum += turn++;
			pthread_cond_signal(&cv);
			pthread_mutex_unlock(&mu);
			break;
		case 1:
			sem_wait(&sems[me]);
			sum += turn++;
			sem_post(&sems[!me]);
			break;
		default:
			/* Strict alternation through two semaphores, with the
			 * turn's work under a mutex the other side waits on. */
			sem_wait(&sems[me]);
			pthread_mutex_lock(&held[0]);
			sem_post(&sems[!me]);
			sum += turn++;
			pthread_mutex_unlock(&held[0]);
			break;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec a, b;
	pthread_t t[2];

	if (argc != 3 || (strcmp(argv[1], "cond") && strcmp(argv[1], "sem") &&
			  strcmp(argv[1], "mutex")) || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: cxlmu-bench-pingpong cond|sem|mutex N\n");
		return 2;
	}
	way = !strcmp(argv[1], "cond") ? 0 : !strcmp(argv[1], "sem") ? 1 : 2;
	sem_init(&sems[0], 0, 1);
	sem_init(&sems[1], 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, player, (void *)i)) {
			perror("pthread_create");
			return 1;
		}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%s %ld %.3f checksum %ld\n", argv[1], n,
	       ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / (2.0 * n), sum);
	return 0;
}
