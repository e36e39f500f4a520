/* The heap checks under the preload. argv[1] names a case:
 *   double       free(p) twice in a row (p sits in the thread cache)
 *   double-apart free(p), free(q), free(p): glibc's "tcache 2" case
 *   double-later free(p), malloc of another size, free(p)
 *   cross-thread free(p) in another thread, then here
 *   misaligned   free(p + 1)
 *   realloc      realloc of a freed block
 *   valid        what a valid program does, none of which may trip:
 *                blocks handed out again and freed unwritten, realloc to
 *                fewer than 8 bytes, every aligned allocator, calloc, free
 *                of NULL, frees in another thread, fork, the public API
 * A bad case that is not caught goes on as the program would: two more
 * allocations of the block's size, and a line saying whether they got the
 * same pointer; exit 0. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "common.h"

/* Lets the compiler see no pair of malloc and free it could drop. */
static void *volatile sink;

static void after(size_t size, const char *what)
{
	char *a = malloc(size), *b = malloc(size);

	sink = a;
	sink = b;
	printf("heapcheck: %s not caught: two mallocs gave %s pointers\n", what,
	       a == b ? "the same" : "different");
}

static void *free_it(void *p)
{
	free(p);
	return NULL;
}

static void *alloc_it(void *arg)
{
	return malloc((size_t)(uintptr_t)arg);
}

static void bad(const char *what)
{
	char *p = malloc(32), *q;

	memset(p, 1, 32);
	if (!strcmp(what, "double")) {
		free(p);
		free(p);
	} else if (!strcmp(what, "double-apart")) {
		q = malloc(32);
		free(p);
		free(q);
		free(p);
	} else if (!strcmp(what, "double-later")) {
		free(p);
		sink = malloc(200);
		free(p);
	} else if (!strcmp(what, "cross-thread")) {
		pthread_join(t_start(free_it, p), NULL);
		free(p);
	} else if (!strcmp(what, "misaligned")) {
		free(p + 1);
	} else if (!strcmp(what, "realloc")) {
		free(p);
		sink = realloc(p, 64);
	}
	after(32, what);
}

/* ----------------------------------------------------------------------- */

static void cycle_unwritten(void)
{
	/* Blocks go back to the thread cache marked and come out again: the
	 * program need not write them before it frees them. */
	for (int round = 0; round < 1000; round++) {
		void *v[8];
		for (int i = 0; i < 8; i++)
			v[i] = malloc((size_t)(round % 5) * 24);
		for (int i = 0; i < 8; i++)
			free(v[i]);
	}
	/* Only the first byte written, the rest of the first word from the
	 * block's last life. */
	for (int round = 0; round < 1000; round++) {
		char *c = malloc(48);
		c[0] = (char)round;
		free(c);
	}
}

static void check_realloc(void)
{
	for (size_t n = 1; n < 12; n++) {
		/* Blocks of the sizes realloc moves to, freed and marked first. */
		for (int i = 0; i < 8; i++)
			free(malloc(n));
		char *p = malloc(64);
		memset(p, 0x5a, 64);
		p = realloc(p, n);          /* a smaller size class: moves */
		T_CHECK(p != NULL, "realloc(64 -> %zu) failed", n);
		T_CHECK((unsigned char)p[0] == 0x5a, "realloc lost byte 0");
		p = realloc(p, 5000);       /* and back up */
		T_CHECK(p != NULL, "realloc(%zu -> 5000) failed", n);
		free(p);
	}
	free(realloc(NULL, 10));
	sink = realloc(malloc(10), 0);   /* frees, returns NULL */
	void *r = reallocarray(NULL, 3, 7);
	T_CHECK(r != NULL, "reallocarray failed");
	free(r);
}

static void check_aligned(void)
{
	/* C23's sized frees: libcxlmu has them, this glibc may not. */
	void (*fs)(void *, size_t) = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
	void (*fas)(void *, size_t, size_t) =
		(void (*)(void *, size_t, size_t))dlsym(RTLD_DEFAULT, "free_aligned_sized");

	T_CHECK(fs && fas, "free_sized or free_aligned_sized not found");
	for (int round = 0; round < 50 && fs && fas; round++) {
		void *p = NULL;
		T_CHECK(posix_memalign(&p, 64, 40) == 0, "posix_memalign failed");
		free(p);
		free(aligned_alloc(256, 512));
		free(memalign(32, 17));
		free(valloc(100));
		free(pvalloc(100));
		free(calloc(4, 8));
		free(NULL);
		p = malloc(24);
		fs(p, 24);
		p = aligned_alloc(64, 64);
		fas(p, 64, 64);
	}
}

static void check_threads(void)
{
	/* Blocks made here and freed there, and made there and freed here,
	 * reused both ways. */
	for (int round = 0; round < 200; round++) {
		void *p = malloc(40);
		pthread_join(t_start(free_it, p), NULL);
		pthread_join(t_start(alloc_it, (void *)(uintptr_t)40), &p);
		free(p);
	}
}

static void check_fork(void)
{
	void *held[16];
	pid_t pid;
	int st;

	for (int i = 0; i < 16; i++)
		held[i] = malloc(56);
	for (int i = 0; i < 8; i++)
		free(held[i]);          /* marked in the parent's cache */
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 64; i++)
			free(malloc(56));       /* the child reuses them */
		for (int i = 8; i < 16; i++)
			free(held[i]);
		_exit(0);
	}
	T_CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"fork child failed (status %#x)", st);
	for (int i = 8; i < 16; i++)
		free(held[i]);
}

static void check_api(void)
{
	void *(*on)(size_t, int) = (void *(*)(size_t, int))dlsym(RTLD_DEFAULT, "cxlmu_malloc_on");

	T_CHECK(on != NULL, "cxlmu_malloc_on not found");
	if (!on)
		return;
	for (int place = 0; place < 2; place++)
		for (int i = 0; i < 100; i++)
			free(on(32, place));
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	t_require_preload();
	if (strcmp(what, "valid")) {
		bad(what);
		return 0;
	}
	errno = 4321;
	cycle_unwritten();
	check_realloc();
	check_aligned();
	check_threads();
	check_fork();
	check_api();
	T_CHECK(errno == 4321, "errno changed to %d", errno);
	return t_done("heapcheck");
}
