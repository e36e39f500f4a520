/* fork while other threads allocate: threads malloc and free in a tight
 * loop while main forks many times; each child, started at any point of
 * the others' allocations (allocator locks possibly held), must allocate,
 * free, start a thread and exit cleanly. argv[1]: placement to expect. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "common.h"

#define NFORKS   150
#define NBUSY    2

static enum t_expect want;
static atomic_bool stop;
static _Atomic unsigned long busy_ops;

static void *busy(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	void *keep[32] = { 0 };

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		seed = seed * 1103515245u + 12345u;
		unsigned i = (seed >> 8) % 32;
		free(keep[i]);
		/* Small and large blocks, so every tier's locks are taken. */
		keep[i] = malloc((seed >> 12) % 7 == 0 ? 100000 + (seed >> 16) % 100000 : 1 + (seed >> 16) % 3000);
		atomic_fetch_add_explicit(&busy_ops, 1, memory_order_relaxed);
	}
	for (int i = 0; i < 32; i++)
		free(keep[i]);
	return NULL;
}

static void *child_thread(void *arg)
{
	void *p = malloc(4000);
	free(arg);
	return p;
}

/* In the child: 0 on success, else what went wrong. */
static int child(void *from_parent)
{
	pthread_t t;
	void *blocks[200], *r;
	int bad = 0;

	/* A deadlock fails by SIGALRM instead of hanging the suite. */
	alarm(20);
	free(from_parent);
	for (int i = 0; i < 200; i++) {
		blocks[i] = malloc(i % 10 == 0 ? 150000 : 16 + i * 8);
		if (!blocks[i])
			return 2;
		memset(blocks[i], i, 16);
	}
	if (want != T_ANY) {
		t_expect_at(blocks[1], want, "child block");
		t_expect_at(blocks[10], want, "child large block");
		bad |= t_failures;
	}
	for (int i = 0; i < 200; i++)
		free(blocks[i]);
	if (pthread_create(&t, NULL, child_thread, malloc(10)) || pthread_join(t, &r) || !r)
		return 3;
	free(r);
	return bad ? 4 : 0;
}

int main(int argc, char **argv)
{
	pthread_t t[NBUSY];
	int bad = 0;

	t_require_preload();
	want = t_parse_expect(argc > 1 ? argv[1] : "any");
	for (uintptr_t i = 0; i < NBUSY; i++)
		pthread_create(&t[i], NULL, busy, (void *)(i + 1));
	while (atomic_load(&busy_ops) < 1000)
		sched_yield();
	for (int f = 0; f < NFORKS; f++) {
		void *mine = malloc(f % 2 ? 200000 : 50);
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			T_CHECK(0, "fork: %s", strerror(errno));
			break;
		}
		if (pid == 0) {
			int r = child(mine);
			/* Half leave through exit (atexit, destructors), half through _exit. */
			if (f % 2)
				exit(r);
			_exit(r);
		}
		free(mine);
		int st;
		if (waitpid(pid, &st, 0) != pid)
			st = -1;
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			if (bad++ < 5)
				T_CHECK(0, "child %d: %s %d", f, WIFSIGNALED(st) ? "killed by signal" :
					"exit status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			else
				t_failures++;
		}
	}
	atomic_store(&stop, true);
	for (int i = 0; i < NBUSY; i++)
		pthread_join(t[i], NULL);
	return t_done("forkstress");
}
