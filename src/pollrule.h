/* The poll rule: which short sleeps are polls, and how long a poll may wait
 * for the wake-up it expects. One rule for kernel threads (src/wait.c) and
 * fibers (src/scheduler.c): each keeps a table of call sites per thread or
 * fiber and calls these. Pure: no clock, no system call, no shared state;
 * the caller passes the times, in one clock of its choice (wait.c
 * nanoseconds, the scheduler TSC ticks). Lengths asked are nanoseconds.
 *
 * The rule. A site's streak counts the short sleeps from it with no other
 * sleep of the thread in between, each asking within a factor of two of
 * the one before: a poll loop asks the same (or backs off), while a helper
 * that sleeps for whatever its callers ask (an out-of-line
 * std::this_thread::sleep_for) is one site for sleeps that are no poll.
 * CXLMU_POLL_STREAK in a row make the site a poll site. The verdict stays
 * with the site across sleeps from other sites (a polling loop that now and
 * then sleeps elsewhere still polls); a sleep from the site itself that is
 * too long or unlike the one before starts the site afresh.
 *
 * The stretch. Where wake-ups have been coming W after a run of polls
 * began (an episode), the next poll waits for one until twice W, at most
 * CXLMU_POLL_STRETCH_MAX_NS after it began: a poller whose peer works for
 * milliseconds sleeps once, not once per plain period. A poll that times
 * out ends the stretch until a wake-up comes again. */
#ifndef CXLMU_SRC_POLLRULE_H
#define CXLMU_SRC_POLLRULE_H

#include <stdbool.h>
#include <stdint.h>

/* Longest relative sleep that can be a poll, and how many in a row from
 * one call site make that site a poll site. */
#define CXLMU_POLL_MAX_NS          1000000u
#define CXLMU_POLL_STREAK          3
/* Longest a poll waits for a wake-up it expects. */
#define CXLMU_POLL_STRETCH_MAX_NS  10000000u
#define CXLMU_POLL_SITES           8

struct cxlmu_poll_site {
	uintptr_t ra;        /* the call site; 0: free */
	uint64_t asked;      /* what the last short sleep from here asked */
	uint32_t streak;
	uint32_t timeouts;   /* polls in a row that no wake-up ended */
	uint64_t plain_ns;   /* how long libc's sleep took here, when exact */
	uint64_t episode;    /* when the polls since the last wake-up began */
	uint64_t wake;       /* how long wake-ups took to come, from that */
	bool poll;
};

struct cxlmu_poll_sites {
	struct cxlmu_poll_site site[CXLMU_POLL_SITES];
	uintptr_t last;      /* site of the last sleep; 0 after any other */
};

/* A relative sleep of ns from ra: its site's record, with the verdict in
 * ->poll. Never NULL. */
struct cxlmu_poll_site *cxlmu_poll_classify(struct cxlmu_poll_sites *t, uintptr_t ra,
					    uint64_t ns);

/* An idle point that is no relative sleep (an absolute one, a yield):
 * the next sleep starts no run. */
static inline void cxlmu_poll_break(struct cxlmu_poll_sites *t)
{
	t->last = 0;
}

/* A poll from s begins at now: the episode starts unless one runs. */
static inline void cxlmu_poll_begin(struct cxlmu_poll_site *s, uint64_t now)
{
	if (!s->episode)
		s->episode = now;
}

/* When a poll from s that began at start and would end at at (the plain
 * sleep's end) gives up waiting: later when wake-ups have been coming.
 * stretch_max is CXLMU_POLL_STRETCH_MAX_NS in the caller's clock. */
uint64_t cxlmu_poll_stretch(const struct cxlmu_poll_site *s, uint64_t start, uint64_t at,
			    uint64_t stretch_max);

/* A poll from s ended at now: woken by a wake-up, or timed out. A poll
 * that ended otherwise (yielded, interrupted) leaves no trace. */
void cxlmu_poll_end(struct cxlmu_poll_site *s, bool woken, uint64_t now);

/* An exact plain sleep from s took took (nanoseconds): what a poll from
 * there waits when nothing wakes it. */
static inline void cxlmu_poll_plain(struct cxlmu_poll_site *s, uint64_t took)
{
	s->plain_ns = s->plain_ns ? (s->plain_ns + took) / 2 : took;
}

#endif
