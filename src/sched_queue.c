/* A core's queues: the run queue (inline, src/sched_impl.h), the sleepers
 * and the sleeping polls. Pure: no lock taken, no system call; the caller
 * holds the core's lock (tests/unit/check_schedqueue.c). */
#include "sched_impl.h"

/* Sleepers: a pairing heap (insert O(1), earliest out in O(log n)
 * amortized), so 10 000 sleeping fibers cost no more per switch than ten.
 * Sleeping polls are apart, in a list: progress wakes them all at once. */
static struct cxlmu_uthread *meld(struct cxlmu_uthread *a, struct cxlmu_uthread *b)
{
	struct cxlmu_uthread *t;

	if (!a)
		return b;
	if (!b)
		return a;
	if (b->deadline < a->deadline) {
		t = a;
		a = b;
		b = t;
	}
	b->next = a->child;
	if (a->child)
		a->child->hprev = b;
	b->hprev = a;
	a->child = b;
	return a;
}

static struct cxlmu_uthread *merge_pairs(struct cxlmu_uthread *first)
{
	struct cxlmu_uthread *pairs = NULL, *r = NULL;

	while (first) {
		struct cxlmu_uthread *a = first, *b = a->next;
		first = b ? b->next : NULL;
		a->next = NULL;
		if (b)
			b->next = NULL;
		a = meld(a, b);
		a->next = pairs;
		pairs = a;
	}
	while (pairs) {
		struct cxlmu_uthread *n = pairs->next;
		pairs->next = NULL;
		r = meld(r, pairs);
		pairs = n;
	}
	return r;
}

void sched_add_sleeper(struct cxlmu_core *c, struct cxlmu_uthread *f)
{
	if (f->polling) {
		f->next = c->polls;
		c->polls = f;
		if (!c->poll_min || f->deadline < c->poll_min)
			c->poll_min = f->deadline;
		return;
	}
	f->child = NULL;
	f->next = NULL;
	c->sleepers = meld(c->sleepers, f);
}

/* A blocked fiber's deadline no longer counts: out of the heap. */
void sched_heap_remove(struct cxlmu_core *c, struct cxlmu_uthread *f)
{
	if (f == c->sleepers) {
		c->sleepers = merge_pairs(f->child);
	} else {
		if (f->hprev->child == f)
			f->hprev->child = f->next;
		else
			f->hprev->next = f->next;
		if (f->next)
			f->next->hprev = f->hprev;
		c->sleepers = meld(c->sleepers, merge_pairs(f->child));
	}
	f->child = f->next = NULL;
}

/* Sleepers whose time has come join the run queue; the earliest deadline
 * left, or 0. Under the lock. */
uint64_t sched_expire(struct cxlmu_core *c, uint64_t now)
{
	uint64_t next;

	while (c->sleepers && c->sleepers->deadline <= now) {
		struct cxlmu_uthread *f = c->sleepers;
		c->sleepers = merge_pairs(f->child);
		f->child = NULL;
		if (f->in_vwait)
			sched_vwait_unlink(c, f);
		f->blocked = f->in_heap = f->sleeping = false;
		sched_push(c, f);
	}
	if (c->polls && c->poll_min <= now) {
		struct cxlmu_uthread **p = &c->polls;
		c->poll_min = 0;
		while (*p) {
			struct cxlmu_uthread *f = *p;
			if (f->deadline <= now) {
				*p = f->next;
				f->polling = f->sleeping = false;
				sched_push(c, f);
			} else {
				if (!c->poll_min || f->deadline < c->poll_min)
					c->poll_min = f->deadline;
				p = &f->next;
			}
		}
	}
	next = c->sleepers ? c->sleepers->deadline : 0;
	if (c->polls && (!next || c->poll_min < next))
		next = c->poll_min;
	return next;
}

/* Progress on the core: its sleeping polls re-check now. Under the lock. */
void sched_wake_polls(struct cxlmu_core *c)
{
	while (c->polls) {
		struct cxlmu_uthread *f = c->polls;
		c->polls = f->next;
		f->polling = f->sleeping = false;
		f->progress_woke = true;
		sched_push(c, f);
	}
	c->poll_min = 0;
}
