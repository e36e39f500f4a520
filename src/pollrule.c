/* The poll rule (src/pollrule.h). */
#include <string.h>

#include "pollrule.h"

struct cxlmu_poll_site *cxlmu_poll_classify(struct cxlmu_poll_sites *t, uintptr_t ra,
					    uint64_t ns)
{
	struct cxlmu_poll_site *s = &t->site[(ra >> 4 ^ ra >> 12) % CXLMU_POLL_SITES];
	bool again = t->last == ra;
	bool alike = ns <= 2 * s->asked && s->asked <= 2 * ns;

	t->last = ra;
	if (s->ra != ra || ns > CXLMU_POLL_MAX_NS || !alike) {
		memset(s, 0, sizeof(*s));
		s->ra = ra;
		if (ns > CXLMU_POLL_MAX_NS)
			return s;
	}
	s->asked = ns;
	s->streak = again && alike ? s->streak + 1 : 1;
	if (s->streak >= CXLMU_POLL_STREAK)
		s->poll = true;
	return s;
}

uint64_t cxlmu_poll_stretch(const struct cxlmu_poll_site *s, uint64_t start, uint64_t at,
			    uint64_t stretch_max)
{
	uint64_t want, cap;

	if (!s->wake || !s->episode)
		return at;
	want = s->episode + 2 * s->wake;
	cap = start + stretch_max;
	if (want > at)
		at = want < cap ? want : cap;
	return at;
}

void cxlmu_poll_end(struct cxlmu_poll_site *s, bool woken, uint64_t now)
{
	if (woken) {
		uint64_t took = now > s->episode ? now - s->episode : 0;
		s->wake = s->wake ? (3 * s->wake + took) / 4 : took;
		s->episode = 0;
		s->timeouts = 0;
	} else {
		/* The wake-up did not come in time: plain periods again until
		 * one does. */
		s->wake = 0;
		s->timeouts++;
	}
}
