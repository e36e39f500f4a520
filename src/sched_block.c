/* Blocking a fiber: its futex wait in the core's io_uring or on the
 * core's futex_waitv list, the lot of fibers parked by address
 * (cxlmu_sched_park), wakes, and a signal's wake-up of a fiber that waits
 * (src/sched_wait.h). */
#include <errno.h>

#include "ring.h"
#include "sched_impl.h"
#include "sched_wait.h"

/* Address-keyed waits (cxlmu_sched_park). */
#define LOT_BUCKETS     256

/* Completions in: each fiber whose futex wait ended is runnable. Under the
 * lock. */
void sched_reap(struct cxlmu_core *c)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	/* A busy core never idles in the ring: what overflowed comes in
	 * here (a reviewer's 600 fibers in a barrier stopped at 513). */
	if (io_uring_cq_has_overflow(&c->ring))
		io_uring_get_events(&c->ring);

	io_uring_for_each_cqe(&c->ring, head, cqe) {
		n++;
		if (cqe->user_data == TAG_KICK) {
			c->kick_armed = false;
		} else if (cqe->user_data >= TAG_LAST) {
			struct cxlmu_uthread *f = (struct cxlmu_uthread *)(uintptr_t)cqe->user_data;
			f->fres = cqe->res;
			f->in_ring = false;
			sched_push(c, f);
		}
		/* TAG_NONE: a link timeout's or a cancel's own completion. */
	}
	io_uring_cq_advance(&c->ring, n);
}

/* Room for n requests, submitting what is queued if need be. */
struct io_uring_sqe *sched_ring_sqe(struct cxlmu_core *c, unsigned n)
{
	if (io_uring_sq_space_left(&c->ring) < n)
		io_uring_submit(&c->ring);
	if (io_uring_sq_space_left(&c->ring) < n)
		return NULL;
	return io_uring_get_sqe(&c->ring);
}

/* A blocked fiber's futex wait goes into the ring: its completion (a wake,
 * the word no longer val, the deadline's link timeout) makes it runnable.
 * The wait is armed at once, so no wake can fall between the fiber's look
 * at the word and the wait: futex(2) semantics. Under the lock. */
void sched_ring_block(struct cxlmu_core *c, struct cxlmu_uthread *f)
{
	struct io_uring_sqe *sqe = sched_ring_sqe(c, f->deadline ? 2 : 1);

	if (!sqe) {
		/* The ring is full: try again after the others ran. */
		f->fres = -EAGAIN;
		sched_push(c, f);
		return;
	}
	cxlmu_ring_prep_futex_wait(sqe, f->fword, f->fval, f->fshared, (uintptr_t)f);
	if (f->deadline) {
		f->fts.tv_sec = (long long)(f->deadline / 1000000000u);
		f->fts.tv_nsec = (long long)(f->deadline % 1000000000u);
		sqe->flags |= IOSQE_IO_LINK;
		sqe = io_uring_get_sqe(&c->ring);
		io_uring_prep_link_timeout(sqe, &f->fts, IORING_TIMEOUT_ABS);
		sqe->user_data = TAG_NONE;
	}
	f->in_ring = true;
	io_uring_submit(&c->ring);
}

/* Without io_uring futex waits, with futex_waitv: a blocked fiber's futex
 * wait goes on the core's vwait list, which the idle owner waits on in one
 * futex_waitv with its kick word (sched_vwait_fill). While the owner runs
 * fibers, no wait is in the kernel: a FUTEX_WAKE then finds nobody, so
 * every switch and every idle wait first looks at the words
 * (sched_vwait_scan); a word that moved makes its fiber runnable, which
 * looks again, as after any futex wake-up. Under the lock. */
void sched_vwait_block(struct cxlmu_core *c, struct cxlmu_uthread *f)
{
	f->fres = -ETIMEDOUT;
	if (atomic_load_explicit((_Atomic uint32_t *)f->fword, memory_order_acquire) != f->fval) {
		f->fres = 0;
		sched_push(c, f);
		return;
	}
	f->blocked = true;
	if (f->deadline) {
		f->in_heap = true;
		sched_add_sleeper(c, f);
	}
	f->vnext = c->vwait;
	f->vprev = &c->vwait;
	if (c->vwait)
		c->vwait->vprev = &f->vnext;
	c->vwait = f;
	c->nvwait++;
	f->in_vwait = true;
}

/* f's wait on the list is over, met: runnable. */
static void vwait_met(struct cxlmu_core *c, struct cxlmu_uthread *f)
{
	sched_vwait_unlink(c, f);
	f->blocked = false;
	if (f->in_heap) {
		sched_heap_remove(c, f);
		f->in_heap = false;
	}
	f->fres = 0;
	sched_push(c, f);
}

void sched_vwait_scan(struct cxlmu_core *c)
{
	struct cxlmu_uthread *f, *next;

	for (f = c->vwait; f; f = next) {
		next = f->vnext;
		if (atomic_load_explicit((_Atomic uint32_t *)f->fword, memory_order_acquire) != f->fval)
			vwait_met(c, f);
	}
}

unsigned sched_vwait_wake_addr(struct cxlmu_core *c, uintptr_t addr, unsigned max)
{
	struct cxlmu_uthread *f, *next;
	unsigned n = 0;

	for (f = c->vwait; f && n < max; f = next) {
		next = f->vnext;
		if ((uintptr_t)f->fword != addr)
			continue;
		vwait_met(c, f);
		n++;
	}
	return n;
}

unsigned cxlmu_sched_wake_word(const void *word, unsigned max)
{
	unsigned n = 0;

	/* No fiber scheduler yet: nothing to look at. */
	if (!atomic_load_explicit(&sched.totals.cores, memory_order_relaxed) || !sched.waitv_ok)
		return 0;
	for (int cpu = 0; cpu < MAX_CPUS && n < max; cpu++) {
		struct cxlmu_core *c = atomic_load_explicit(&sched.cores[cpu], memory_order_acquire);
		unsigned k;

		if (!c || !c->waitv_ok ||
		    !__atomic_load_n(&c->vwait, __ATOMIC_RELAXED))
			continue;
		spin_lock(&c->lock);
		k = sched_vwait_wake_addr(c, (uintptr_t)word, max - n);
		spin_unlock(&c->lock);
		if (k)
			sched_kick(c);
		n += k;
	}
	return n;
}

unsigned sched_vwait_fill(struct cxlmu_core *c, struct cxlmu_futexv *v, uint32_t seen)
{
	struct cxlmu_uthread *f;
	unsigned n = 1;

	v[0] = (struct cxlmu_futexv){ .val = seen, .uaddr = (uintptr_t)&c->word };
	for (f = c->vwait; f && n < CXLMU_FUTEXV_MAX; f = f->vnext, n++)
		v[n] = (struct cxlmu_futexv){
			.val = f->fval, .uaddr = (uintptr_t)f->fword,
			.flags = f->fshared ? CXLMU_FUTEXV_SHARED : 0,
		};
	return n;
}

/* A ring wait of f ends early (a cancellation). Under the lock. */
static void ring_cancel(struct cxlmu_core *c, struct cxlmu_uthread *f)
{
	struct io_uring_sqe *sqe = sched_ring_sqe(c, 1);

	if (sqe) {
		io_uring_prep_cancel64(sqe, (uintptr_t)f, 0);
		sqe->user_data = TAG_NONE;
		io_uring_submit(&c->ring);
	}
}

/* A blocked fiber's wait ends early: runnable now (true), or its futex
 * wait in the ring is cancelled (its completion makes it runnable). Under
 * the lock. */
bool sched_unblock(struct cxlmu_core *c, struct cxlmu_uthread *f)
{
	if (f->blocked) {
		f->blocked = false;
		if (f->in_vwait)
			sched_vwait_unlink(c, f);
		if (f->in_heap) {
			sched_heap_remove(c, f);
			f->in_heap = false;
		}
		sched_push(c, f);
		return true;
	}
	if (f->in_ring)
		ring_cancel(c, f);
	return false;
}

/* Fibers a signal came for (cxlmu_sched_signal) run soon: a sleep or a
 * wait is cut short (the wait's caller looks again). Under the lock. */
void sched_sigwake_drain(struct cxlmu_core *c)
{
	struct cxlmu_uthread *f = atomic_exchange_explicit(&c->sigwake, NULL, memory_order_acquire);

	while (f) {
		struct cxlmu_uthread *next = f->sigwake_next;
		if (f->blocked || f->in_ring) {
			sched_unblock(c, f);
		} else if (f->sleeping) {
			if (f->polling) {
				struct cxlmu_uthread **p = &c->polls;
				while (*p != f)
					p = &(*p)->next;
				*p = f->next;
				f->polling = false;
			} else {
				sched_heap_remove(c, f);
			}
			f->sleeping = false;
			sched_push(c, f);
		}
		/* The last touch: a leaving fiber waits for it (leave). */
		atomic_store_explicit(&f->sigwake_queued, false, memory_order_release);
		f = next;
	}
}
/* A blocked fiber becomes runnable (its wait ends early, or was met). The
 * caller keeps f alive: under the lock of the lot bucket it waits in, or
 * all_lock. */
void sched_wake(struct cxlmu_uthread *f)
{
	struct cxlmu_core *c = f->core;
	bool pushed;

	/* Seen by dispose() if f is still on its way out. */
	atomic_store_explicit(&f->wake, 1, memory_order_seq_cst);
	spin_lock(&c->lock);
	pushed = sched_unblock(c, f);
	spin_unlock(&c->lock);
	if (pushed)
		sched_kick(c);
}
/* Switch away until woken, the deadline (0: none) or a cancellation;
 * true when a waker came. A wake that came first returns at once. */
static bool block(struct cxlmu_uthread *f, int why, uint64_t deadline)
{
	sched_reached(f, tsc(), false);
	if (atomic_exchange_explicit(&f->wake, 0, memory_order_acquire))
		return true;
	f->deadline = deadline;
	f->fres = 0;
	sched_out(f, why);
	return atomic_exchange_explicit(&f->wake, 0, memory_order_acquire);
}

/* The lot: fibers parked by address, in buckets hashed by it. A waiter is
 * a node on its own stack; nothing here allocates. */
struct lot_node {
	const void *addr;
	struct cxlmu_uthread *f;
	struct lot_node *next, **pprev;
	bool woken;
};

/* First come, first woken: a bucket is a list with a tail. */
static struct lot_bucket {
	_Atomic int lock;
	_Atomic uint32_t n;
	struct lot_node *head;
	struct lot_node **tail;         /* NULL: &head */
} __attribute__((aligned(64))) lot[LOT_BUCKETS];

static struct lot_bucket *bucket(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;

	return &lot[((a >> 3) ^ (a >> 11) ^ (a >> 19)) % LOT_BUCKETS];
}

static void lot_unlink(struct lot_bucket *b, struct lot_node *n)
{
	*n->pprev = n->next;
	if (n->next)
		n->next->pprev = n->pprev;
	else
		b->tail = n->pprev;
	atomic_fetch_sub_explicit(&b->n, 1, memory_order_relaxed);
}

static bool lot_woken(struct lot_bucket *b, const struct lot_node *n)
{
	bool w;

	spin_lock(&b->lock);
	w = n->woken;
	spin_unlock(&b->lock);
	return w;
}

bool cxlmu_sched_park(const void *addr, bool (*still)(void *), void *arg, uint64_t deadline)
{
	struct cxlmu_uthread *f = sched_self;
	struct lot_bucket *b = bucket(addr);
	struct lot_node n = { .addr = addr, .f = f };
	bool woken;

	f->busy = true;
	/* A wake-up left from before (a signal's, for a fiber that was
	 * runnable then) is not for this wait, which no waker knows yet. */
	atomic_store_explicit(&f->wake, 0, memory_order_relaxed);
	spin_lock(&b->lock);
	if (!b->tail)
		b->tail = &b->head;
	n.next = NULL;
	n.pprev = b->tail;
	*b->tail = &n;
	b->tail = &n.next;
	atomic_fetch_add_explicit(&b->n, 1, memory_order_relaxed);
	spin_unlock(&b->lock);
	/* Registered before the look: a waker that changes what still()
	 * sees and then looks at the bucket finds us (unpark's fence). */
	atomic_thread_fence(memory_order_seq_cst);
	if (still(arg)) {
		/* A handler that ran meanwhile does not end the wait (glibc's
		 * waits go back into the kernel after one): still registered,
		 * no wake-up is lost. */
		do {
			f->sig_intr = false;
			block(f, OUT_BLOCK, deadline);
		} while (f->sig_intr && !cxlmu_sched_cancelled(f) && !lot_woken(b, &n) &&
			 (!deadline || cxlmu_prim_now() < deadline));
	}
	spin_lock(&b->lock);
	woken = n.woken;
	if (!woken)
		lot_unlink(b, &n);
	spin_unlock(&b->lock);
	/* A waker's wake() is over once its bucket lock is: no stale wake-up
	 * for the next block. */
	atomic_store_explicit(&f->wake, 0, memory_order_relaxed);
	sched_unbusy(f);
	return woken;
}

unsigned cxlmu_sched_unpark(const void *addr, unsigned max)
{
	struct lot_bucket *b = bucket(addr);
	struct lot_node *n, *next;
	unsigned woke = 0;

	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&b->n, memory_order_relaxed))
		return 0;
	spin_lock(&b->lock);
	for (n = b->head; n && woke < max; n = next) {
		next = n->next;
		if (n->addr != addr)
			continue;
		lot_unlink(b, n);
		n->woken = true;
		sched_wake(n->f);
		woke++;
	}
	spin_unlock(&b->lock);
	return woke;
}

int cxlmu_sched_futex_wait(void *word, uint32_t val, bool shared, uint64_t deadline)
{
	struct cxlmu_uthread *f = sched_self;
	uint64_t now;
	int r;

	if (atomic_load_explicit((_Atomic uint32_t *)word, memory_order_acquire) != val)
		return -EAGAIN;
	f->busy = true;
	atomic_store_explicit(&f->wake, 0, memory_order_relaxed);   /* as in park */
	if (f->core->ring_ok || f->core->waitv_ok) {
		f->fword = word;
		f->fval = val;
		f->fshared = shared;
		block(f, OUT_FUTEX, deadline);
		r = f->fres == -ECANCELED ? -ETIMEDOUT : f->fres;
		/* Cut short before its deadline: by a cancellation, or by a
		 * signal (a wake-up: the caller looks again). */
		if (r == -ETIMEDOUT && (!deadline || cxlmu_prim_now() < deadline))
			r = atomic_load_explicit(&f->cancel, memory_order_relaxed) ? -EINTR : 0;
	} else {
		/* Neither io_uring futex waits nor futex_waitv: look again
		 * after the others ran, or after a short sleep when the core
		 * has nothing else. */
		now = cxlmu_prim_now();
		block(f, OUT_BLOCK, !deadline || deadline - now > POLL_MIN_NS ?
			now + POLL_MIN_NS : deadline);
		r = deadline && cxlmu_prim_now() >= deadline ? -ETIMEDOUT : 0;
	}
	sched_unbusy(f);
	return r;
}

void sched_lot_after_fork(void)
{
	/* Bucket locks a parent thread held; its parked fibers are gone. */
	memset(lot, 0, sizeof(lot));
}
