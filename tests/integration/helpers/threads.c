/* Many threads allocate at once, hand blocks to each other to free, and
 * allocate in pthread key destructors at thread exit; every block keeps its
 * contents and (argv[1]) sits where the policy says. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "common.h"

#define NTHREADS 8
#define ROUNDS   3000
#define SLOTS    64

static enum t_expect want;
static pthread_key_t key;
static _Atomic int dtor_runs;
static _Atomic(void *) mailbox[SLOTS];   /* blocks made by one thread, freed by another */
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

static void key_dtor(void *v)
{
	/* Thread-exit destructors may allocate, free, and re-arm the key. */
	char *p = malloc(5000);
	if (p) {
		memset(p, 7, 5000);
		free(p);
	}
	free(v);
	atomic_fetch_add(&dtor_runs, 1);
}

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u;
	void *local[16] = { 0 };

	pthread_setspecific(key, malloc(100));
	for (int r = 0; r < ROUNDS; r++) {
		seed = seed * 1103515245u + 12345u;
		size_t n = (seed >> 8) % 5 == 0 ? 70000 + (seed >> 16) % 50000 : 9 + (seed >> 16) % 2000;
		unsigned char *p = malloc(n);
		if (!p) {
			pthread_mutex_lock(&fail_lock);
			T_CHECK(0, "thread %lu: malloc(%zu) failed", (unsigned long)(uintptr_t)arg, n);
			pthread_mutex_unlock(&fail_lock);
			break;
		}
		/* Stamp the size at the start and a mark at the end, checked by
		 * whichever thread frees the block. */
		memcpy(p, &n, sizeof(n));
		p[n - 1] = (unsigned char)(n * 7);
		if (r % 97 == 0 && want != T_ANY) {
			pthread_mutex_lock(&fail_lock);
			t_expect_at(p, want, "thread block");
			pthread_mutex_unlock(&fail_lock);
		}
		/* Swap with the mailbox: what comes out was made by any thread. */
		unsigned char *q = atomic_exchange(&mailbox[(seed >> 4) % SLOTS], p);
		if (q) {
			size_t qn;
			memcpy(&qn, q, sizeof(qn));
			if (qn < 9 || qn > 200000 || malloc_usable_size(q) < qn ||
			    q[qn - 1] != (unsigned char)(qn * 7)) {
				pthread_mutex_lock(&fail_lock);
				T_CHECK(0, "block %p from another thread is damaged (size %zu)", (void *)q, qn);
				pthread_mutex_unlock(&fail_lock);
			}
			free(q);
		}
		unsigned i = (seed >> 20) % 16;
		free(local[i]);
		local[i] = (r & 1) ? calloc(1, 64 + i) : realloc(local[i] = NULL, 32 * i + 1);
	}
	for (int i = 0; i < 16; i++)
		free(local[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[NTHREADS];

	t_require_preload();
	want = t_parse_expect(argc > 1 ? argv[1] : "any");
	pthread_key_create(&key, key_dtor);
	for (int round = 0; round < 2; round++) {
		for (uintptr_t i = 0; i < NTHREADS; i++)
			T_CHECK(!pthread_create(&t[i], NULL, worker, (void *)(i + 1)), "pthread_create");
		for (int i = 0; i < NTHREADS; i++)
			pthread_join(t[i], NULL);
	}
	T_CHECK(atomic_load(&dtor_runs) == 2 * NTHREADS, "key destructor ran %d times, want %d",
		atomic_load(&dtor_runs), 2 * NTHREADS);
	/* Blocks left by exited threads are freed by main. */
	for (int i = 0; i < SLOTS; i++)
		free(atomic_exchange(&mailbox[i], NULL));
	return t_done("threads");
}
