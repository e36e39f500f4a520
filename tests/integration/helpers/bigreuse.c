/* Large blocks: a freed block's pages serve the next block of its size
 * without faulting in again, on the main thread (jemalloc's arena 0) and
 * on another thread, and a very large block's pages go back to the kernel
 * when it is freed. Counts minor faults (getrusage) and resident pages
 * (/proc/self/statm) around each step. argv[1]: "reuse" or "return". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"

#define MiB (1ul << 20)

static long faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt;
}

/* Faults of writing every byte of n blocks of size bytes, allocated after
 * n such blocks were written and freed. */
static long refaults(unsigned n, size_t size)
{
	char *b[64];
	long f0;

	for (unsigned i = 0; i < n; i++) {
		b[i] = malloc(size);
		T_CHECK(b[i] != NULL, "malloc(%zu) failed", size);
		if (b[i])
			memset(b[i], 1, size);
	}
	for (unsigned i = 0; i < n; i++)
		free(b[i]);
	f0 = faults();
	for (unsigned i = 0; i < n; i++) {
		b[i] = malloc(size);
		if (b[i])
			memset(b[i], 2, size);
	}
	f0 = faults() - f0;
	for (unsigned i = 0; i < n; i++)
		free(b[i]);
	return f0;
}

/* Under an eighth of the pages written may fault in again (the
 * allocator's own metadata, a block moved by a size class). */
static void *reuse(void *who)
{
	static const struct { unsigned n; size_t size; } c[] = {
		{ 1, 16 * MiB }, { 1, 40 * MiB }, { 16, 1 * MiB }, { 4, 5 * MiB },
	};
	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		long pages = (long)(c[i].n * c[i].size / 4096), f = refaults(c[i].n, c[i].size);
		T_CHECK(f < pages / 8, "%s: %u block(s) of %zu MiB written again after a free: "
			"%ld of %ld pages faulted in again", (const char *)who, c[i].n,
			c[i].size / MiB, f, pages);
	}
	return NULL;
}

/* A block of 128 MiB is given back as it is freed: resident memory drops
 * by at least 120 MiB. */
static void give_back(void)
{
	size_t size = 128 * MiB;
	char *p = malloc(size);
	long before, after;

	T_CHECK(p != NULL, "malloc(128 MiB) failed");
	if (!p)
		return;
	memset(p, 1, size);
	before = t_rss_pages();
	free(p);
	after = t_rss_pages();
	T_CHECK(before - after >= (long)(120 * MiB / 4096), "free(128 MiB block): resident "
		"pages %ld before, %ld after; want a drop of at least 120 MiB", before, after);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	if (!strcmp(what, "reuse")) {
		t_require_preload();
		reuse("main thread");
		pthread_join(t_start(reuse, "second thread"), NULL);
	} else if (!strcmp(what, "return")) {
		give_back();
	} else {
		fprintf(stderr, "usage: bigreuse reuse|return\n");
		return 2;
	}
	return t_done("bigreuse");
}
