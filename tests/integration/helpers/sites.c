/* Allocations from known call sites, for the profile and sites policy
 * tests (tests/integration/profile.sh, tests/vm/placement.sh).
 *
 *   sites place           hot_block: 20000 blocks of 64 KiB, each freed at
 *                         once, then 8 kept; cold_block: 64 kept. Prints
 *                         where each group's pages are (move_pages).
 *   sites threads N M S   N threads, each M blocks of S bytes from
 *                         thread_block, freed when all are made
 *   sites fork            parent_block in the parent, child_block in a
 *                         forked child (which exits with exit, not _exit)
 *
 * Every allocation is made in its own noinline function, and the block
 * is written after, so the call is never a tail call and its return
 * address lies inside that function (the test finds it with nm). */
#include <numaif.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BLOCK (64 * 1024)
#define NOINLINE __attribute__((noinline))

NOINLINE void *hot_block(size_t n)
{
	char *p = malloc(n);
	if (p)
		memset(p, 1, n);
	return p;
}

NOINLINE void *cold_block(size_t n)
{
	char *p = malloc(n);
	if (p)
		memset(p, 2, n);
	return p;
}

NOINLINE void *thread_block(size_t n)
{
	char *p = malloc(n);
	if (p)
		memset(p, 3, n);
	return p;
}

NOINLINE void *parent_block(size_t n)
{
	char *p = malloc(n);
	if (p)
		memset(p, 4, n);
	return p;
}

NOINLINE void *child_block(size_t n)
{
	char *p = malloc(n);
	if (p)
		memset(p, 5, n);
	return p;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* "group NAME pages=P node0=A node1=B absent=C" for the blocks' pages. */
static void where(const char *name, void **blocks, int n)
{
	long ps = sysconf(_SC_PAGESIZE);
	int per = (int)(BLOCK / ps), total = n * per, count[2] = { 0, 0 }, absent = 0;
	void **pages = calloc((size_t)total, sizeof(*pages));
	int *status = calloc((size_t)total, sizeof(*status));

	if (!pages || !status)
		die("calloc");
	for (int i = 0; i < n; i++)
		for (int k = 0; k < per; k++)
			pages[i * per + k] = (char *)blocks[i] + (long)k * ps;
	if (move_pages(0, (unsigned long)total, pages, NULL, status, 0))
		die("move_pages");
	for (int i = 0; i < total; i++) {
		if (status[i] == 0 || status[i] == 1)
			count[status[i]]++;
		else
			absent++;
	}
	printf("group %s pages=%d node0=%d node1=%d absent=%d\n", name, total, count[0],
	       count[1], absent);
	free(pages);
	free(status);
}

static int place(void)
{
	void *hot[8], *cold[64];

	for (int i = 0; i < 20000; i++) {
		void *p = hot_block(BLOCK);
		if (!p)
			die("hot_block");
		free(p);
	}
	for (int i = 0; i < 8; i++)
		if (!(hot[i] = hot_block(BLOCK)))
			die("hot_block");
	for (int i = 0; i < 64; i++)
		if (!(cold[i] = cold_block(BLOCK)))
			die("cold_block");
	printf("main=%p\n", (void *)place);
	where("hot", hot, 8);
	where("cold", cold, 64);
	return 0;
}

static long per_thread, block_size;

static void *worker(void *unused)
{
	void **b = malloc((size_t)per_thread * sizeof(*b));

	if (!b)
		die("malloc");
	for (long i = 0; i < per_thread; i++)
		if (!(b[i] = thread_block((size_t)block_size)))
			die("thread_block");
	for (long i = 0; i < per_thread; i++)
		free(b[i]);
	free(b);
	return unused;
}

static int threads(int n)
{
	pthread_t t[64];

	if (n < 1 || n > 64)
		return 2;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, worker, NULL))
			die("pthread_create");
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}

static int forked(void)
{
	void *keep[4];
	int st;
	pid_t pid;

	for (int i = 0; i < 4; i++)
		keep[i] = parent_block(BLOCK);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (int i = 0; i < 3; i++)
			free(child_block(BLOCK));
		exit(0);   /* a normal exit: _exit would skip the profile */
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("child");
	printf("child=%d\n", (int)pid);
	for (int i = 0; i < 4; i++)
		free(keep[i]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "place"))
		return place();
	if (argc == 5 && !strcmp(argv[1], "threads")) {
		per_thread = atol(argv[3]);
		block_size = atol(argv[4]);
		return threads(atoi(argv[2]));
	}
	if (argc == 2 && !strcmp(argv[1], "fork"))
		return forked();
	fprintf(stderr, "usage: %s place | threads N M SIZE | fork\n", argv[0]);
	return 2;
}
