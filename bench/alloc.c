/* Allocation throughput workload, one source built three ways (bench/Makefile.mk):
 *
 *   cxlmu-bench-alloc   plain malloc/free: run it under glibc, under an
 *                       LD_PRELOAD'ed allocator, or under libcxlmu
 *   cxlmu-bench-je      jemalloc 5: its default path (mallocx/sdallocx on the
 *                       automatic arenas and thread cache) against a node-bound
 *                       arena (arenas.create with extent hooks that carve
 *                       memory from a reservation and mbind it, used through
 *                       an explicit per-thread tcache), as src/heap.c does
 *   cxlmu-bench-mi      mimalloc 2: its default path (mi_malloc/mi_free)
 *                       against an exclusive arena (mi_manage_os_memory_ex over
 *                       an mmap'ed, mbind'ed reservation) used through one heap
 *                       per thread (mi_heap_new_in_arena, mi_heap_malloc, mi_free)
 *
 * The workload: each thread owns a working set of slots; one operation picks
 * a random slot, frees the block in it and allocates a new block of a random
 * size there (so frees cross allocations of other sizes and ages) and writes
 * to it. One op = one allocation + one free. The shapes (-s), per thread:
 *   small  16-256 B, 4096 slots, first byte written
 *   large  64-256 KiB, 64 slots, first byte written
 *   mixed  16 B-4 KiB skewed small: 16 + 4080 u^3, u uniform in [0,1) (mean
 *          about 1 KiB, median 526 B), 1000 slots, first byte written
 *   huge   5-25 MiB, 20 slots, every byte written (memset, as new char[n]()
 *          and a use of it would): the shape of a public benchmark that
 *          shows what large blocks cost, where page faults and the
 *          allocator's returning of memory to the system decide the time
 *   1m, 4m, 16m, 64m   1, 4, 16, 64 MiB +-12.5 %, 256, 64, 16, 4 slots
 *          (about 256 MiB live), every byte written
 * Before the timed ops each thread warms up: 4 x slots random ops (small,
 * large, mixed), or one block into each slot in turn (the others, whose
 * warm-up would otherwise write gigabytes).
 *
 * Usage: PROG [-t THREADS] [-s SHAPE] [-m default|arena] [-n OPS] [-N NODE]
 * -n is the timed ops per thread; the defaults: small 2000000, large 200000,
 * mixed 6000000 (0.35-0.55 s under glibc on the 2-CPU development machine),
 * huge 2000 (the public benchmark's count: about 13 s under glibc there, and
 * 4 times that where every op faults its block in afresh, at about 12 us a
 * page fault), 1m 1024, 4m 256, 16m 64 (1 GiB written a thread: about 1 s
 * under glibc, after about 0.85 s of warm-up that faults in 256 MiB), 64m 8
 * (512 MiB: glibc maps each block afresh, 16384 page faults, 0.2 s an op).
 * Those sizes keep a run under glibc near 2 s; 8 GiB would take 5-15 s.
 * cxlmu-bench-je also takes -m arenas: one hooked arena per thread instead of
 * one shared by all threads (what the runtime could do per CPU), and
 * -m malloc: plain malloc/free, jemalloc's fast path, which mallocx and
 * sdallocx with flags do not take.
 *
 * Prints one line: BACKEND MODE SHAPE THREADS MOPS SECONDS RSS_MIB: the
 * timed ops of all threads a second (millions, two decimals; 4 significant
 * digits for the shapes that write every byte), the
 * wall time from the first thread's start to the last one's end, and the
 * process's peak resident set (VmHWM, MiB, warm-up included). In arena mode
 * it then checks that every live block lies in the bound reservation (exit 3
 * if not).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <numaif.h>

#if defined(BENCH_JE)
#include <jemalloc/jemalloc.h>
#define BACKEND "jemalloc"
#elif defined(BENCH_MI)
#include <mimalloc.h>
#define BACKEND "mimalloc"
#else
#define BACKEND "malloc"
#endif

#define MAX_THREADS 64
#define SPAN_SIZE   ((size_t)64 << 30)   /* virtual only: pages come on touch */
#define SPAN_ALIGN  ((size_t)64 << 20)   /* mimalloc wants segment alignment */

/* How a shape draws sizes and touches its blocks. */
enum draw { UNIFORM, CUBED };

struct shape {
	const char *name;
	unsigned slots;
	size_t lo, span;               /* sizes lo .. lo + span - 1 */
	enum draw draw;
	bool fill;                     /* write every byte, not just the first */
	unsigned long ops;             /* default timed ops per thread */
};

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
/* +-12.5 % around B. */
#define AROUND(b) (b) - (b) / 8, (b) / 4 + 1

static const struct shape shapes[] = {
	{ "small", 4096, 16, 241, UNIFORM, false, 2000000 },
	{ "large", 64, 64 * KIB, 192 * KIB + 1, UNIFORM, false, 200000 },
	{ "mixed", 1000, 16, 4080, CUBED, false, 6000000 },
	{ "huge", 20, 5 * MIB, 20 * MIB + 1, UNIFORM, true, 2000 },
	{ "1m", 256, AROUND(1 * MIB), UNIFORM, true, 1024 },
	{ "4m", 64, AROUND(4 * MIB), UNIFORM, true, 256 },
	{ "16m", 16, AROUND(16 * MIB), UNIFORM, true, 64 },
	{ "64m", 4, AROUND(64 * MIB), UNIFORM, true, 8 },
};

static struct {
	unsigned threads;
	const struct shape *shape;
	bool arena;
	bool per_thread;               /* jemalloc: one hooked arena per thread */
	bool plain;                    /* jemalloc: malloc/free, its fast path */
	unsigned long ops;
	unsigned node;
	pthread_barrier_t start;
	uintptr_t span_base, span_end;
	_Atomic unsigned long outside;     /* arena blocks found outside the span */
} cfg = { .threads = 1, .shape = &shapes[0], .node = 0 };

struct worker {
	pthread_t tid;
	unsigned id;
	double t0, t1;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#if defined(BENCH_JE) || defined(BENCH_MI)
/* Reserve the span and bind it to the node. read_write: mimalloc takes the
 * area as committed; jemalloc's hook opens pieces as it hands them out. */
static int reserve_span(bool read_write)
{
	size_t len = SPAN_SIZE + SPAN_ALIGN;
	int prot = read_write ? PROT_READ | PROT_WRITE : PROT_NONE;
	char *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	unsigned long mask = 1ul << cfg.node;

	if (p == MAP_FAILED)
		return -errno;
	cfg.span_base = ((uintptr_t)p + SPAN_ALIGN - 1) & ~(uintptr_t)(SPAN_ALIGN - 1);
	cfg.span_end = cfg.span_base + SPAN_SIZE;
	/* Preferred, as libcxlmu binds by default. */
	if (mbind((void *)cfg.span_base, SPAN_SIZE, MPOL_PREFERRED, &mask, sizeof(mask) * 8, 0))
		return -errno;
	return 0;
}
#endif

/* ----------------------------------------------------------------------- */
/* jemalloc                                                                  */
/* ----------------------------------------------------------------------- */
#if defined(BENCH_JE)
static _Atomic uintptr_t je_cursor;
static unsigned je_arena;

static void *hook_alloc(extent_hooks_t *h, void *new_addr, size_t size,
			size_t alignment, bool *zero, bool *commit, unsigned ind)
{
	uintptr_t cur = atomic_load_explicit(&je_cursor, memory_order_relaxed);
	uintptr_t start, end;
	unsigned long mask = 1ul << cfg.node;

	if (alignment < 4096)
		alignment = 4096;
	do {
		if (new_addr && (uintptr_t)new_addr != cur)
			return NULL;
		start = (cur + alignment - 1) & ~(uintptr_t)(alignment - 1);
		end = start + size;
		if (end < start || end > cfg.span_end)
			return NULL;
	} while (!atomic_compare_exchange_weak_explicit(&je_cursor, &cur, end,
			memory_order_relaxed, memory_order_relaxed));
	if (mprotect((void *)start, size, PROT_READ | PROT_WRITE))
		return NULL;
	/* Bound again per piece, as src/heap.c does (it binds per extent). */
	mbind((void *)start, size, MPOL_PREFERRED, &mask, sizeof(mask) * 8, 0);
	*zero = true;
	*commit = true;
	return (void *)start;
}

static bool hook_dalloc(extent_hooks_t *h, void *a, size_t s, bool c, unsigned i)
{
	return true;   /* opt out: jemalloc retains and reuses the range */
}

static void hook_destroy(extent_hooks_t *h, void *a, size_t s, bool c, unsigned i)
{
	madvise(a, s, MADV_DONTNEED);
}

static bool hook_commit(extent_hooks_t *h, void *a, size_t s, size_t o, size_t l, unsigned i)
{
	return false;
}

static bool hook_decommit(extent_hooks_t *h, void *a, size_t s, size_t o, size_t l, unsigned i)
{
	return true;
}

static bool hook_purge_lazy(extent_hooks_t *h, void *a, size_t s, size_t o, size_t l, unsigned i)
{
	return madvise((char *)a + o, l, MADV_FREE) != 0;
}

static bool hook_purge_forced(extent_hooks_t *h, void *a, size_t s, size_t o, size_t l, unsigned i)
{
	return madvise((char *)a + o, l, MADV_DONTNEED) != 0;
}

static bool hook_split(extent_hooks_t *h, void *a, size_t s, size_t sa, size_t sb, bool c, unsigned i)
{
	return false;
}

static bool hook_merge(extent_hooks_t *h, void *a, size_t sa, void *b, size_t sb, bool c, unsigned i)
{
	return false;
}

static extent_hooks_t hooks = {
	hook_alloc, hook_dalloc, hook_destroy, hook_commit, hook_decommit,
	hook_purge_lazy, hook_purge_forced, hook_split, hook_merge,
};

static int backend_init(void)
{
	extent_hooks_t *hp = &hooks;
	size_t sz = sizeof(je_arena);
	int r;

	if (!cfg.arena)
		return 0;
	if ((r = reserve_span(false)))
		return r;
	atomic_store(&je_cursor, cfg.span_base);
	return -mallctl("arenas.create", &je_arena, &sz, &hp, sizeof(hp));
}

struct tstate { int flags; unsigned tc; };

static void thread_init(struct tstate *s)
{
	extent_hooks_t *hp = &hooks;
	unsigned tc, arena = je_arena;
	size_t sz = sizeof(tc);

	s->flags = 0;
	if (!cfg.arena)
		return;
	if (cfg.per_thread && mallctl("arenas.create", &arena, &sz, &hp, sizeof(hp))) {
		fprintf(stderr, "arenas.create failed\n");
		exit(1);
	}
	if (mallctl("tcache.create", &tc, &sz, NULL, 0)) {
		fprintf(stderr, "tcache.create failed\n");
		exit(1);
	}
	s->tc = tc;
	s->flags = MALLOCX_ARENA(arena) | MALLOCX_TCACHE(tc);
}

static void thread_done(struct tstate *s)
{
	if (cfg.arena)
		mallctl("tcache.destroy", NULL, NULL, &s->tc, sizeof(s->tc));
}

static inline void *bench_alloc(struct tstate *s, size_t n)
{
	return cfg.plain ? malloc(n) : mallocx(n, s->flags);
}

static inline void bench_free(struct tstate *s, void *p, size_t n)
{
	if (cfg.plain)
		free(p);
	else
		sdallocx(p, n, s->flags);
}

/* ----------------------------------------------------------------------- */
/* mimalloc                                                                  */
/* ----------------------------------------------------------------------- */
#elif defined(BENCH_MI)
static mi_arena_id_t mi_arena;

static int backend_init(void)
{
	int r;

	if (!cfg.arena)
		return 0;
	if ((r = reserve_span(true)))
		return r;
	if (!mi_manage_os_memory_ex((void *)cfg.span_base, SPAN_SIZE, true /* committed */,
			false /* large pages */, true /* zero */, (int)cfg.node,
			true /* exclusive */, &mi_arena))
		return -EINVAL;
	return 0;
}

struct tstate { mi_heap_t *heap; };

static void thread_init(struct tstate *s)
{
	s->heap = cfg.arena ? mi_heap_new_in_arena(mi_arena) : NULL;
	if (cfg.arena && !s->heap) {
		fprintf(stderr, "mi_heap_new_in_arena failed\n");
		exit(1);
	}
}

static void thread_done(struct tstate *s)
{
	if (s->heap)
		mi_heap_delete(s->heap);
}

static inline void *bench_alloc(struct tstate *s, size_t n)
{
	return cfg.arena ? mi_heap_malloc(s->heap, n) : mi_malloc(n);
}

static inline void bench_free(struct tstate *s, void *p, size_t n)
{
	mi_free(p);
}

/* ----------------------------------------------------------------------- */
/* plain malloc                                                              */
/* ----------------------------------------------------------------------- */
#else
static int backend_init(void)
{
	return cfg.arena ? -ENOTSUP : 0;
}

struct tstate { int unused; };
static void thread_init(struct tstate *s) {}
static void thread_done(struct tstate *s) {}

static inline void *bench_alloc(struct tstate *s, size_t n)
{
	return malloc(n);
}

static inline void bench_free(struct tstate *s, void *p, size_t n)
{
	free(p);
}
#endif

/* ----------------------------------------------------------------------- */
/* The workload                                                              */
/* ----------------------------------------------------------------------- */

static inline uint64_t rnd(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 2685821657736338717ull;
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	const struct shape *sh = cfg.shape;
	unsigned nslots = sh->slots;
	size_t lo = sh->lo, span = sh->span;
	uint64_t x = 0x9e3779b97f4a7c15ull * (w->id + 1) | 1;
	/* The slot arrays come from mmap so the allocator under test sees only
	 * the workload's own calls. */
	size_t bytes = nslots * (sizeof(void *) + sizeof(uint32_t));
	void **slot = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t *size;
	struct tstate s;

	if (slot == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	size = (uint32_t *)(slot + nslots);
	thread_init(&s);

	/* One op on slot K with a block of N bytes, TOUCH(p, n) writing it.
	 * Each shape's loop is its own copy, so small and large run the very
	 * code they ran before the other shapes came. */
#define REPLACE(K, N, TOUCH) do { \
		unsigned k_ = (K); \
		size_t n_ = (N); \
		if (slot[k_]) \
			bench_free(&s, slot[k_], size[k_]); \
		slot[k_] = bench_alloc(&s, n_); \
		TOUCH(slot[k_], n_); \
		size[k_] = (uint32_t)n_; \
	} while (0)
#define FIRST(p, n) (*(volatile char *)(p) = 1)
	/* The barrier keeps the compiler from dropping the stores of a block
	 * that is only ever freed. */
#define FILL(p, n) do { \
		memset((p), 0x5a, (n)); \
		__asm__ volatile("" : : "r"(p) : "memory"); \
	} while (0)
	/* Low bits pick the slot, high bits the size. */
#define STEP() do { \
		uint64_t r = rnd(&x); \
		REPLACE((unsigned)(r % nslots), lo + (size_t)((r >> 32) % span), FIRST); \
	} while (0)
#define STEP_CUBED() do { \
		uint64_t r = rnd(&x); \
		double u = (double)(uint32_t)(r >> 32) * 0x1p-32; \
		REPLACE((unsigned)(r % nslots), lo + (size_t)((double)span * u * u * u), FIRST); \
	} while (0)
#define STEP_FILL() do { \
		uint64_t r = rnd(&x); \
		REPLACE((unsigned)(r % nslots), lo + (size_t)((r >> 32) % span), FILL); \
	} while (0)
#define TIMED(STEPFN) do { \
		pthread_barrier_wait(&cfg.start); \
		w->t0 = now(); \
		for (unsigned long i = 0; i < cfg.ops; i++) \
			STEPFN(); \
		w->t1 = now(); \
	} while (0)

	if (sh->fill) {
		/* Warm up: one block in each slot; random ops until then would
		 * write gigabytes. */
		for (unsigned k = 0; k < nslots; k++) {
			uint64_t r = rnd(&x);
			REPLACE(k, lo + (size_t)((r >> 32) % span), FILL);
		}
		TIMED(STEP_FILL);
	} else if (sh->draw == CUBED) {
		for (unsigned long i = 0; i < 4ul * nslots; i++)
			STEP_CUBED();
		TIMED(STEP_CUBED);
	} else {
		/* Warm up: fill the working set and reach a steady state. */
		for (unsigned long i = 0; i < 4ul * nslots; i++)
			STEP();
		TIMED(STEP);
	}
#undef TIMED
#undef STEP_FILL
#undef STEP_CUBED
#undef STEP
#undef FILL
#undef FIRST
#undef REPLACE

	for (unsigned k = 0; k < nslots; k++) {
		if (cfg.arena && ((uintptr_t)slot[k] < cfg.span_base || (uintptr_t)slot[k] >= cfg.span_end))
			atomic_fetch_add(&cfg.outside, 1);
		bench_free(&s, slot[k], size[k]);
	}
	thread_done(&s);
	munmap(slot, bytes);
	return NULL;
}

/* The process's peak resident set in MiB (VmHWM), or -1. Read with
 * open/read into the stack: no allocation from the allocator under test. */
static long peak_rss_mib(void)
{
	char buf[4096], *p;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "\nVmHWM:");
	if (!p)
		return -1;
	return (strtol(p + 7, NULL, 10) + 512) / 1024;
}

static void usage(const char *prog)
{
	fprintf(stderr, "Usage: %s [-t THREADS] [-s small|large|mixed|huge|1m|4m|16m|64m]"
		" [-m default|arena|arenas|malloc] [-n OPS] [-N NODE]\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	static struct worker w[MAX_THREADS];
	double t0, t1, mops;
	int c, r;

	cfg.ops = 0;
	while ((c = getopt(argc, argv, "t:s:m:n:N:")) != -1) {
		switch (c) {
		case 't': cfg.threads = (unsigned)atoi(optarg); break;
		case 's':
			cfg.shape = NULL;
			for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
				if (!strcmp(optarg, shapes[i].name))
					cfg.shape = &shapes[i];
			if (!cfg.shape)
				usage(argv[0]);
			break;
		case 'm':
			if (!strcmp(optarg, "arena"))
				cfg.arena = true;
#if defined(BENCH_JE)
			else if (!strcmp(optarg, "arenas"))
				cfg.arena = cfg.per_thread = true;
			else if (!strcmp(optarg, "malloc"))
				cfg.plain = true;
#endif
			else if (strcmp(optarg, "default"))
				usage(argv[0]);
			break;
		case 'n': cfg.ops = strtoul(optarg, NULL, 0); break;
		case 'N': cfg.node = (unsigned)atoi(optarg); break;
		default: usage(argv[0]);
		}
	}
	if (cfg.threads < 1 || cfg.threads > MAX_THREADS || optind != argc)
		usage(argv[0]);
	if (!cfg.ops)
		cfg.ops = cfg.shape->ops;
	if ((r = backend_init())) {
		fprintf(stderr, "%s: %s mode unavailable: %s\n", argv[0],
			cfg.arena ? "arena" : "default", strerror(-r));
		return 1;
	}
	pthread_barrier_init(&cfg.start, NULL, cfg.threads);
	for (unsigned i = 0; i < cfg.threads; i++)
		w[i].id = i;
	for (unsigned i = 0; i < cfg.threads; i++)
		if (pthread_create(&w[i].tid, NULL, worker, &w[i])) {
			perror("pthread_create");
			return 1;
		}
	for (unsigned i = 0; i < cfg.threads; i++)
		pthread_join(w[i].tid, NULL);
	/* Wall time from the first start to the last end, all threads' ops. */
	t0 = w[0].t0;
	t1 = w[0].t1;
	for (unsigned i = 1; i < cfg.threads; i++) {
		if (w[i].t0 < t0)
			t0 = w[i].t0;
		if (w[i].t1 > t1)
			t1 = w[i].t1;
	}
	mops = (double)cfg.ops * cfg.threads / (t1 - t0) / 1e6;
	/* Two decimals as before for the first-byte shapes; the filled ones
	 * run a few thousand ops a second and need significant digits. */
	printf(cfg.shape->fill ? "%s %s %s %u %.4g %.4g %ld\n" : "%s %s %s %u %.2f %.4g %ld\n", BACKEND,
	       cfg.per_thread ? "arenas" : cfg.arena ? "arena" : cfg.plain ? "malloc" : "default",
	       cfg.shape->name, cfg.threads, mops, t1 - t0, peak_rss_mib());
	if (cfg.outside) {
		fprintf(stderr, "%s: %lu arena blocks outside the bound reservation\n",
			argv[0], (unsigned long)cfg.outside);
		return 3;
	}
	return 0;
}
