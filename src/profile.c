/* Allocation profiles: byte sampling, per-site counters, the table of
 * sampled blocks, and the writer (src/profile.h).
 *
 * Sampling. Each thread counts down the bytes it allocates; when the count
 * crosses zero the allocation is sampled and a new count is drawn from an
 * exponential distribution of mean sample_bytes. A block of s bytes is then
 * sampled with probability P = 1 - exp(-s / sample_bytes) whatever came
 * before it, and stands for 1/P blocks and s/P bytes. Estimated counts are
 * kept in fixed point (1/FP of a block) so that rounding does not bias them.
 *
 * Sites. An open-addressing table keyed by the hash of the frames; a slot
 * is claimed with one compare-and-swap and its counters are atomics, so
 * threads never wait on each other here.
 *
 * Sampled blocks. STRIPES independent chained hash tables, each behind a
 * spin lock, with nodes from a per-stripe pool; a fork takes every lock
 * first so the child never inherits one held. Everything lives in memory
 * mapped at start: nothing on these paths calls malloc. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "callsite.h"
#include "log.h"
#include "options.h"
#include "prim.h"
#include "file.h"
#include "profile.h"

#define FP            1024u       /* fixed-point unit of estimated counts */
#define MAX_SITES     16384u
#define STRIPES       64u
#define STRIPE_NODES  8192u
#define STRIPE_BUCKETS 2048u
#define NSIZE         CXLMU_PROFILE_SIZE_BUCKETS
#define NLIFE         CXLMU_PROFILE_LIFE_BUCKETS
#define THREAD_BITS   1024u

struct site {
	_Atomic uint64_t key;         /* hash of the frames, never 0; 0: free */
	_Atomic int state;            /* 1 being filled, 2 ready */
	uint32_t nframes;
	struct cxlmu_frame frame[CXLMU_CALLSITE_MAX_FRAMES];
	_Atomic uint64_t samples;
	_Atomic uint64_t allocs;      /* FP */
	_Atomic uint64_t bytes;
	_Atomic int64_t live;         /* bytes of remembered blocks */
	_Atomic int64_t peak;
	_Atomic int64_t live_blocks;  /* FP */
	_Atomic uint64_t size[NSIZE]; /* FP */
	_Atomic uint64_t life[NLIFE]; /* FP, blocks freed */
	_Atomic uint64_t threads[THREAD_BITS / 64];
};

struct node {
	uintptr_t p;
	uint32_t next;                /* node index + 1 */
	uint32_t site;
	uint64_t born;
	uint64_t bytes_w;
	uint64_t count_w;
};

struct stripe {
	_Atomic int lock;
	uint32_t free_head;           /* node index + 1 */
	uint32_t used;                /* nodes ever handed out */
	uint32_t bucket[STRIPE_BUCKETS];
	struct node node[STRIPE_NODES];
};

static struct {
	bool on;
	unsigned frames;
	uint64_t sample;              /* mean bytes between samples */
	double inv_sample;
	char path[4096];
	char run_id[64];              /* CXLMU_RUN_ID, or "" */
	pid_t pid;
	uint64_t started;             /* monotonic ns */
	struct timespec started_real;
	struct site *site;            /* MAX_SITES */
	struct stripe *stripe;        /* STRIPES */
	_Atomic uint64_t dropped;
	_Atomic unsigned thread_seq;
	bool written;
	bool forked;                  /* a child of fork: FILE.PID */
} prof;

CXLMU_TLS int64_t cxlmu_profile_left;
static CXLMU_TLS uint64_t rng;
static CXLMU_TLS unsigned thread_no;

bool cxlmu_profile_on(void)
{
	return prof.on;
}

static void prepare_fork(void);
static void parent_fork(void);

int cxlmu_profile_init(const struct cxlmu_profile_config *cfg)
{
	if (strlen(cfg->path) >= sizeof(prof.path))
		return -ENAMETOOLONG;
	prof.site = cxlmu_prim_map_table(MAX_SITES * sizeof(struct site));
	prof.stripe = cxlmu_prim_map_table(STRIPES * sizeof(struct stripe));
	if (!prof.site || !prof.stripe)
		return -ENOMEM;
	strcpy(prof.path, cfg->path);
	snprintf(prof.run_id, sizeof(prof.run_id), "%s", cfg->run_id ? cfg->run_id : "");
	prof.sample = cfg->sample_bytes ? cfg->sample_bytes : 1;
	prof.inv_sample = 1.0 / (double)prof.sample;
	prof.frames = cfg->frames;
	prof.pid = getpid();
	prof.started = cxlmu_prim_now();
	clock_gettime(CLOCK_REALTIME, &prof.started_real);
	pthread_atfork(prepare_fork, parent_fork, NULL);
	prof.on = true;
	return 0;
}

/* ----------------------------------------------------------------------- */
/* Sampling                                                                  */
/* ----------------------------------------------------------------------- */

static uint64_t next_random(void)
{
	/* xorshift64*, seeded per thread */
	if (unlikely(!rng)) {
		thread_no = atomic_fetch_add_explicit(&prof.thread_seq, 1, memory_order_relaxed);
		rng = (cxlmu_prim_now() ^ ((uint64_t)thread_no << 32) ^ (uintptr_t)&rng) | 1;
	}
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Dull;
}

/* Bytes to the next sample: exponential with mean prof.sample. */
static int64_t interval(void)
{
	double u;

	if (prof.sample <= 1)
		return 0;
	/* u in (0, 1]: log never sees 0. */
	u = (double)((next_random() >> 11) + 1) * (1.0 / 9007199254740992.0);
	return (int64_t)(-log(u) * (double)prof.sample) + 1;
}

bool cxlmu_profile_take(size_t size)
{
	int saved;

	if (!prof.on)
		return false;
	saved = errno;
	if (unlikely(!rng)) {
		/* A thread's first count was never drawn: draw it now, and
		 * sample this block only if it reaches past it. */
		int64_t left = interval() - (int64_t)size;
		if (left > 0) {
			cxlmu_profile_left = left;
			errno = saved;
			return false;
		}
	}
	cxlmu_profile_left = interval();
	errno = saved;
	return true;
}

static unsigned size_bucket(size_t size)
{
	unsigned b;

	if (size <= 8)
		return 0;
	b = 64 - (unsigned)__builtin_clzll((uint64_t)size - 1) - 3;   /* ceil(log2) - 3 */
	return b < NSIZE - 1 ? b : NSIZE - 1;
}

static unsigned life_bucket(uint64_t ns)
{
	uint64_t bound = 1000;

	for (unsigned b = 0; b < NLIFE - 1; b++, bound *= 10)
		if (ns <= bound)
			return b;
	return NLIFE - 1;
}

/* ----------------------------------------------------------------------- */
/* Sites                                                                     */
/* ----------------------------------------------------------------------- */

static uint64_t hash_frames(const struct cxlmu_frame *f, unsigned n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ n;

	for (unsigned i = 0; i < n; i++) {
		h = (h ^ f[i].offset) * 0x100000001b3ull;
		h = (h ^ f[i].module) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	return h ? h : 1;
}

static bool frames_equal(const struct site *s, const struct cxlmu_frame *f, unsigned n)
{
	if (s->nframes != n)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (s->frame[i].offset != f[i].offset || s->frame[i].module != f[i].module)
			return false;
	return true;
}

static struct site *site_get(const struct cxlmu_frame *f, unsigned n)
{
	uint64_t h = hash_frames(f, n);

	for (unsigned i = 0; i < MAX_SITES; i++) {
		struct site *s = &prof.site[(h + i) % MAX_SITES];
		uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);

		if (!k) {
			uint64_t zero = 0;
			if (atomic_compare_exchange_strong(&s->key, &zero, h)) {
				s->nframes = n;
				memcpy(s->frame, f, n * sizeof(*f));
				atomic_store_explicit(&s->state, 2, memory_order_release);
				return s;
			}
			k = zero;
		}
		if (k != h)
			continue;
		while (atomic_load_explicit(&s->state, memory_order_acquire) != 2)
			cxlmu_prim_sched_yield();
		if (frames_equal(s, f, n))
			return s;
	}
	return NULL;
}

/* ----------------------------------------------------------------------- */
/* Sampled blocks                                                            */
/* ----------------------------------------------------------------------- */

static inline uint64_t mix(uintptr_t p)
{
	return (uint64_t)(p >> 4) * 0x9E3779B97F4A7C15ull;
}

static struct stripe *stripe_of(uintptr_t p, uint32_t *bucket)
{
	uint64_t h = mix(p);

	*bucket = (uint32_t)(h >> 20) % STRIPE_BUCKETS;
	return &prof.stripe[(h >> 58) % STRIPES];
}

static void stripe_lock(struct stripe *s)
{
	cxlmu_prim_spin_lock(&s->lock);
}

static void stripe_unlock(struct stripe *s)
{
	cxlmu_prim_spin_unlock(&s->lock);
}

static bool remember(uintptr_t p, uint32_t site, uint64_t count_w, uint64_t bytes_w)
{
	uint32_t b, idx;
	struct stripe *s = stripe_of(p, &b);
	struct node *n;

	stripe_lock(s);
	if (s->free_head) {
		idx = s->free_head;
		s->free_head = s->node[idx - 1].next;
	} else if (s->used < STRIPE_NODES) {
		idx = ++s->used;
	} else {
		stripe_unlock(s);
		return false;
	}
	n = &s->node[idx - 1];
	n->p = p;
	n->site = site;
	n->born = cxlmu_prim_now();
	n->count_w = count_w;
	n->bytes_w = bytes_w;
	n->next = s->bucket[b];
	s->bucket[b] = idx;
	stripe_unlock(s);
	return true;
}

/* Unlink p's node into *out; false when p was not sampled. */
static bool take_node(uintptr_t p, struct node *out, bool unlink)
{
	uint32_t b, *link;
	struct stripe *s = stripe_of(p, &b);

	stripe_lock(s);
	for (link = &s->bucket[b]; *link; link = &s->node[*link - 1].next) {
		struct node *n = &s->node[*link - 1];
		if (n->p != p)
			continue;
		*out = *n;
		if (unlink) {
			uint32_t idx = *link;
			*link = n->next;
			n->next = s->free_head;
			s->free_head = idx;
		}
		stripe_unlock(s);
		return true;
	}
	stripe_unlock(s);
	return false;
}

static void prepare_fork(void)
{
	if (!prof.on)
		return;
	for (unsigned i = 0; i < STRIPES; i++)
		stripe_lock(&prof.stripe[i]);
}

static void parent_fork(void)
{
	if (!prof.on)
		return;
	for (unsigned i = 0; i < STRIPES; i++)
		stripe_unlock(&prof.stripe[i]);
}

/* ----------------------------------------------------------------------- */
/* Recording                                                                 */
/* ----------------------------------------------------------------------- */

void cxlmu_profile_record(const void *p, size_t size, const void *ra)
{
	struct cxlmu_frame f[CXLMU_CALLSITE_MAX_FRAMES];
	unsigned n;
	uint64_t count_w, bytes_w;
	struct site *s;
	int saved = errno;

	if (!prof.on)
		return;
	/* A block the unwinder itself allocates in a capture (glibc makes a
	 * thread's block of the dlopen'ed libunwind's TLS on first use) is
	 * the runtime's, not the program's: neither recorded nor dropped. */
	if (cxlmu_callsite_busy())
		return;
	n = cxlmu_callsite_capture(ra, f, prof.frames);
	if (!n || !(s = site_get(f, n))) {
		atomic_fetch_add_explicit(&prof.dropped, 1, memory_order_relaxed);
		errno = saved;
		return;
	}
	if (prof.sample <= 1) {
		count_w = FP;
		bytes_w = size;
	} else {
		/* P = 1 - exp(-s / K); expm1 keeps small ratios exact. */
		double pr = -expm1(-(double)size * prof.inv_sample);
		count_w = (uint64_t)((double)FP / pr + 0.5);
		bytes_w = (uint64_t)((double)size / pr + 0.5);
	}
	atomic_fetch_add_explicit(&s->samples, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->allocs, count_w, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->bytes, bytes_w, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->size[size_bucket(size)], count_w, memory_order_relaxed);
	if (!rng)
		next_random();
	atomic_fetch_or_explicit(&s->threads[(thread_no % THREAD_BITS) / 64],
				 1ull << (thread_no % 64), memory_order_relaxed);
	if (p && remember((uintptr_t)p, (uint32_t)(s - prof.site), count_w, bytes_w)) {
		int64_t live = atomic_fetch_add_explicit(&s->live, (int64_t)bytes_w,
							 memory_order_relaxed) + (int64_t)bytes_w;
		int64_t peak = atomic_load_explicit(&s->peak, memory_order_relaxed);

		atomic_fetch_add_explicit(&s->live_blocks, (int64_t)count_w, memory_order_relaxed);
		while (live > peak && !atomic_compare_exchange_weak_explicit(&s->peak, &peak, live,
				memory_order_relaxed, memory_order_relaxed))
			;
	} else if (p) {
		atomic_fetch_add_explicit(&prof.dropped, 1, memory_order_relaxed);
	}
	errno = saved;
}

bool cxlmu_profile_forget(const void *p)
{
	struct node n;
	struct site *s;

	if (!prof.on || !take_node((uintptr_t)p, &n, true))
		return false;
	s = &prof.site[n.site];
	atomic_fetch_sub_explicit(&s->live, (int64_t)n.bytes_w, memory_order_relaxed);
	atomic_fetch_sub_explicit(&s->live_blocks, (int64_t)n.count_w, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->life[life_bucket(cxlmu_prim_now() - n.born)], n.count_w,
				  memory_order_relaxed);
	return true;
}

bool cxlmu_profile_tracked(const void *p)
{
	struct node n;

	return prof.on && take_node((uintptr_t)p, &n, false);
}

/* ----------------------------------------------------------------------- */
/* The file                                                                  */
/* ----------------------------------------------------------------------- */

struct out {
	int fd;
	int err;
	size_t n;
	char buf[16384];
};

static void flush(struct out *o)
{
	/* After a failure (a reader that stopped reading) the rest is not
	 * tried: each try could wait out cxlmu_write_all's stall limit. */
	int r = o->err ? 0 : cxlmu_write_all(o->fd, o->buf, o->n);

	if (r && !o->err)
		o->err = r;
	o->n = 0;
}

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (o->n > sizeof(o->buf) - 1024)
		flush(o);
	va_start(ap, fmt);
	len = vsnprintf(o->buf + o->n, sizeof(o->buf) - o->n, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(o->buf) - o->n) {
		/* A line longer than what is left: write what came before and
		 * format again into the empty buffer (paths are below 4 KiB). */
		flush(o);
		va_start(ap, fmt);
		len = vsnprintf(o->buf, sizeof(o->buf), fmt, ap);
		va_end(ap);
		if (len < 0)
			return;
		if ((size_t)len >= sizeof(o->buf))
			len = sizeof(o->buf) - 1;
	}
	o->n += (size_t)len;
}

static uint64_t est(uint64_t fp)
{
	return (fp + FP / 2) / FP;
}

struct totals {
	uint64_t samples, allocs, bytes;
};

/* Over all sites: kept per site only, so that samples of different
 * sites touch no shared line. */
static struct totals sum_sites(void)
{
	struct totals t = { 0, 0, 0 };

	for (unsigned i = 0; i < MAX_SITES; i++) {
		struct site *s = &prof.site[i];
		if (atomic_load_explicit(&s->state, memory_order_acquire) != 2)
			continue;
		t.samples += atomic_load(&s->samples);
		t.allocs += atomic_load(&s->allocs);
		t.bytes += atomic_load(&s->bytes);
	}
	return t;
}

static void write_body(struct out *o)
{
	unsigned nmod = cxlmu_callsite_modules();
	struct totals totals = sum_sites();
	uint64_t bound;

	put(o, "cxlmu-profile 1\n");
	if (prof.run_id[0])
		put(o, "run %s\n", prof.run_id);
	put(o, "program %s\n", cxlmu_callsite_exe());
	put(o, "pid %d\n", (int)getpid());
	put(o, "sample-bytes %llu\n", (unsigned long long)prof.sample);
	put(o, "max-frames %u\n", prof.frames);
	put(o, "duration-ns %llu\n", (unsigned long long)(cxlmu_prim_now() - prof.started));
	put(o, "samples %llu\n", (unsigned long long)totals.samples);
	put(o, "dropped %llu\n", (unsigned long long)atomic_load(&prof.dropped));
	put(o, "size-buckets");
	for (unsigned b = 0; b < NSIZE - 1; b++)
		put(o, " %llu", 8ull << b);
	put(o, " inf\nlife-buckets");
	bound = 1000;
	for (unsigned b = 0; b < NLIFE - 1; b++, bound *= 10)
		put(o, " %llu", (unsigned long long)bound);
	put(o, " inf\n");
	put(o, "total allocs %llu bytes %llu\n", (unsigned long long)est(totals.allocs),
	    (unsigned long long)totals.bytes);
	for (unsigned i = 0; i < nmod; i++) {
		const struct cxlmu_module *m = cxlmu_callsite_module(i);
		put(o, "module %u %s %s\n", i, m->build_id[0] ? m->build_id : "-", m->path);
	}
	for (unsigned i = 0, id = 0; i < MAX_SITES; i++) {
		struct site *s = &prof.site[i];
		int64_t live = atomic_load(&s->live), lb = atomic_load(&s->live_blocks);
		unsigned threads = 0;

		if (atomic_load_explicit(&s->state, memory_order_acquire) != 2)
			continue;
		for (unsigned w = 0; w < THREAD_BITS / 64; w++)
			threads += (unsigned)__builtin_popcountll(atomic_load(&s->threads[w]));
		put(o, "site %u allocs %llu bytes %llu peak-live %llu live %llu threads %u\n", id,
		    (unsigned long long)est(atomic_load(&s->allocs)),
		    (unsigned long long)atomic_load(&s->bytes),
		    (unsigned long long)atomic_load(&s->peak),
		    (unsigned long long)(live > 0 ? live : 0), threads);
		put(o, "frames %u", id);
		for (unsigned f = 0; f < s->nframes; f++)
			put(o, " %u+0x%llx", s->frame[f].module, (unsigned long long)s->frame[f].offset);
		put(o, "\nsizes %u", id);
		for (unsigned b = 0; b < NSIZE; b++)
			put(o, " %llu", (unsigned long long)est(atomic_load(&s->size[b])));
		put(o, "\nlifetimes %u", id);
		for (unsigned b = 0; b < NLIFE; b++)
			put(o, " %llu", (unsigned long long)est(atomic_load(&s->life[b])));
		put(o, " %llu\n", (unsigned long long)est(lb > 0 ? (uint64_t)lb : 0));
		id++;
	}
	flush(o);
}

/* Did another process of this run write the profile open at fd? Under
 * cxlmu-run the file names its run (the "run" line, second); without a
 * run id, a file changed after this process started counts as this
 * run's, one older than that as an earlier run's. */
static bool written_by_run(int fd)
{
	char head[256], want[sizeof(prof.run_id) + 8];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !st.st_size)
		return false;
	if (!prof.run_id[0])
		return st.st_mtim.tv_sec > prof.started_real.tv_sec ||
		       (st.st_mtim.tv_sec == prof.started_real.tv_sec &&
			st.st_mtim.tv_nsec >= prof.started_real.tv_nsec);
	n = pread(fd, head, sizeof(head) - 1, 0);
	if (n <= 0)
		return false;
	head[n] = '\0';
	snprintf(want, sizeof(want), "\nrun %s\n", prof.run_id);
	return strstr(head, want) != NULL;
}

/* The file to write: FILE (with %p expanded). Without %p, a forked child
 * writes FILE.PID (when it sampled anything); of the other processes of a
 * run (programs it ran), the first to write takes FILE and the others
 * write FILE.PID, saying so. FILE stays locked (flock) until written, so
 * processes that end together take it one after the other; a lock held
 * longer than src/file.c waits sends this profile to FILE.PID too. Every
 * open follows the rules of src/file.c. Returns 0, 1 when there is
 * nothing to write, or -errno with *why. */
static int open_target(char *path, size_t size, struct cxlmu_out *o, const char **why)
{
	size_t len;
	int r;

	cxlmu_path_expand(prof.path, path, size, (int)getpid());
	if (strstr(prof.path, "%p") || prof.written)
		return cxlmu_out_open(path, CXLMU_OUT_TRUNC, o, why);
	len = strlen(path);
	if (prof.forked) {
		if (!sum_sites().samples)
			return 1;
		snprintf(path + len, size - len, ".%d", (int)getpid());
		return cxlmu_out_open(path, CXLMU_OUT_TRUNC, o, why);
	}
	r = cxlmu_out_open(path, CXLMU_OUT_READ | CXLMU_OUT_LOCK, o, why);
	if (r == -EACCES)
		return cxlmu_out_open(path, CXLMU_OUT_TRUNC, o, why);
	if (r && r != -EWOULDBLOCK)
		return r;
	if (!r && !written_by_run(o->fd)) {
		/* A terminal or a pipe (/dev/stderr) is written as it is. */
		if (!o->regular || !ftruncate(o->fd, 0))
			return 0;
		r = -errno;
		*why = strerrordesc_np(errno);
		cxlmu_out_close(o);
		return r;
	}
	cxlmu_out_close(o);
	if (!sum_sites().samples)
		return 1;   /* nothing to say, and FILE is another's */
	snprintf(path + len, size - len, ".%d", (int)getpid());
	cxlmu_log_warn("%.*s %s; this profile goes to %s", (int)len, path,
		       r ? "is locked by another process" :
		       "was written by another process of this run", path);
	return cxlmu_out_open(path, CXLMU_OUT_TRUNC, o, why);
}

int cxlmu_profile_write(void)
{
	static struct out o;
	struct cxlmu_out f;
	char path[sizeof(prof.path) + 32];
	const char *why = "";
	int saved = errno, ret = 0;

	if (!prof.on)
		return 0;
	ret = open_target(path, sizeof(path), &f, &why);
	if (ret == 1) {
		errno = saved;
		return 0;
	}
	if (ret) {
		cxlmu_log_warn("cannot write the profile to %s (%s)", path, why);
		errno = saved;
		return ret;
	}
	o.fd = f.fd;
	o.err = 0;
	o.n = 0;
	write_body(&o);
	if (o.err)
		cxlmu_log_warn("cannot write the profile to %s (%s)", path, strerrordesc_np(-o.err));
	cxlmu_out_close(&f);
	prof.written = true;
	errno = saved;
	return o.err;
}

void cxlmu_profile_after_fork(void)
{
	if (!prof.on)
		return;
	/* The child's profile starts empty: the parent writes its own. Fresh
	 * zero pages for both tables, and fresh locks with them. */
	cxlmu_prim_madvise(prof.site, MAX_SITES * sizeof(struct site), MADV_DONTNEED);
	cxlmu_prim_madvise(prof.stripe, STRIPES * sizeof(struct stripe), MADV_DONTNEED);
	atomic_store(&prof.dropped, 0);
	prof.pid = getpid();
	prof.started = cxlmu_prim_now();
	clock_gettime(CLOCK_REALTIME, &prof.started_real);
	prof.written = false;
	prof.forked = true;
}
