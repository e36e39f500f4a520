/* The scheduler for signals (preload/signal.c): a fiber's own signals and
 * mask, wherever it runs (src/scheduler.h; how, at the top of
 * src/sched_signal.c). */
#ifndef CXLMU_SRC_SCHED_SIGNAL_H
#define CXLMU_SRC_SCHED_SIGNAL_H

#include <signal.h>
#include <stdint.h>

#include "scheduler.h"

/* A signal sent to one thread: what its handler's siginfo says. Its
 * fields are siginfo_t's after si_code (bytes 16 to 47: the sender's pid
 * and uid and a value, a child's status and times, a timer's id), so a
 * signal the kernel gave a fiber's kernel thread reaches the fiber as it
 * came. */
struct cxlmu_sig {
	int sig;
	int code;               /* SI_TKILL: as tgkill sends it */
	union {
		struct {
			pid_t pid;
			uid_t uid;
			union sigval value;
		};
		unsigned char fields[32];
	};
};

/* A signal for the thread t (or, when tid is nonzero, the thread with that
 * id): when it is a fiber, the signal reaches the fiber wherever it runs,
 * and true with *err (0, or EINVAL for a signal number it cannot take).
 * The handler runs in the fiber: at once when it runs or is blocked in the
 * kernel on its host (a read gets EINTR), when it next runs otherwise (a
 * sleep ends early, as a plain sleep would with EINTR). A signal its mask
 * blocks stays pending for it until it unblocks it. False when t is not
 * a fiber: the caller sends it as libc would. One of each signal number
 * is kept pending per fiber, as for standard signals. */
bool cxlmu_sched_signal(pthread_t t, pid_t tid, const struct cxlmu_sig *s, int *err);
/* In a fiber (cxlmu_sched_fiber): its own signal mask, as pthread_sigmask
 * does: 0 or EINVAL; -1 when the call is libc's to make (inside a signal
 * handler, whose mask the kernel restores when it returns). */
int cxlmu_sched_sigmask(int how, const sigset_t *set, sigset_t *old);
/* The signals pending for the calling fiber alone (bit sig-1); 0 for a
 * kernel thread. */
uint64_t cxlmu_sched_sigpending(void);

#endif
