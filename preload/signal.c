/* The signal calls fibers need (--sched=auto and fibers). A fiber's own
 * kernel thread is parked with every signal blocked, and the host running
 * it is another thread: so a signal sent to the fiber (pthread_kill,
 * pthread_sigqueue, tgkill with its thread id, raise) goes through the
 * scheduler, which delivers it in the fiber wherever it runs; its mask
 * (pthread_sigmask, sigprocmask) is its own, put on its host while it
 * runs; gettid gives its own thread's id; a fiber that waits for signals
 * (sigwait, sigwaitinfo, sigtimedwait, sigsuspend, pause, sigpause; a wait
 * with a signal mask: epoll_pwait, and ppoll and pselect in
 * preload/sleep.c) goes back to its own kernel thread for good, where the
 * kernel delivers them. Signals sent to the process go where the kernel
 * would send them: a fiber's parked kernel thread takes them for it
 * (src/sched_signal.c, "Receivers"). With fibers off, or for a kernel
 * thread, each forwards to libc. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "libc.h"
#include "prim.h"
#include "sched_signal.h"
#include "sched_thread.h"
#include "scheduler.h"
#include "sync.h"

/* ----------------------------------------------------------------------- */
/* Signals to one thread                                                     */
/* ----------------------------------------------------------------------- */

/* sig for the thread t (or tid), as libc would send it: true when t is a
 * fiber, with *err. */
static bool to_fiber(pthread_t t, pid_t tid, int sig, int code, const union sigval *v, int *err)
{
	struct cxlmu_sig s = { .sig = sig, .code = code, .pid = getpid(), .uid = getuid() };

	if (!cxlmu_sched_on)
		return false;
	if (v)
		s.value = *v;
	return cxlmu_sched_signal(t, tid, &s, err);
}

cxlmu_export int raise(int sig)
{
	int r;

	if (cxlmu_sched_self() && to_fiber(pthread_self(), 0, sig, SI_TKILL, NULL, &r)) {
		if (r) {
			errno = r;
			return -1;
		}
		return 0;
	}
	return CXLMU_LIBC(raise)(sig);
}

cxlmu_export int pthread_kill(pthread_t t, int sig)
{
	int r;

	if (to_fiber(t, 0, sig, SI_TKILL, NULL, &r))
		return r;
	return CXLMU_LIBC(pthread_kill)(t, sig);
}

cxlmu_export int pthread_sigqueue(pthread_t t, int sig, const union sigval value)
{
	int r;

	if (to_fiber(t, 0, sig, SI_QUEUE, &value, &r))
		return r;
	return CXLMU_LIBC(pthread_sigqueue)(t, sig, value);
}

cxlmu_export int tgkill(pid_t tgid, pid_t tid, int sig)
{
	int r;

	if (tid > 0 && tgid == getpid() && to_fiber(0, tid, sig, SI_TKILL, NULL, &r)) {
		if (r) {
			errno = r;
			return -1;
		}
		return 0;
	}
	return CXLMU_LIBC(tgkill)(tgid, tid, sig);
}

/* The id of the fiber's own kernel thread, not its host's: the one glibc
 * keeps in the thread (a mutex's owner) and tgkill reaches it by. */
cxlmu_export pid_t gettid(void)
{
	struct cxlmu_uthread *f = cxlmu_sched_on ? cxlmu_sched_self() : NULL;

	return f ? cxlmu_sched_tid(f) : CXLMU_LIBC(gettid)();
}

/* ----------------------------------------------------------------------- */
/* Masks and waits                                                           */
/* ----------------------------------------------------------------------- */

cxlmu_export int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	int r;

	if (cxlmu_sched_fiber() && (r = cxlmu_sched_sigmask(how, set, old)) >= 0)
		return r;
	return CXLMU_LIBC(pthread_sigmask)(how, set, old);
}

cxlmu_export int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	int r;

	if (cxlmu_sched_fiber() && (r = cxlmu_sched_sigmask(how, set, old)) >= 0) {
		if (r) {
			errno = r;
			return -1;
		}
		return 0;
	}
	return CXLMU_LIBC(sigprocmask)(how, set, old);
}

/* The kernel's, and what is pending for the fiber alone. */
cxlmu_export int sigpending(sigset_t *set)
{
	int r = CXLMU_LIBC(sigpending)(set);
	uint64_t mine = cxlmu_sched_on ? cxlmu_sched_sigpending() : 0;

	if (!r)
		for (; mine; mine &= mine - 1)
			sigaddset(set, __builtin_ctzll(mine) + 1);
	return r;
}

/* A fiber about to wait for signals: its own kernel thread does. */
static void unfiber(void)
{
	if (cxlmu_sched_fiber())
		cxlmu_sched_unfiber(CXLMU_WHY_SIGWAIT);
}

cxlmu_export int sigwait(const sigset_t *set, int *sig)
{
	unfiber();
	return CXLMU_LIBC(sigwait)(set, sig);
}

cxlmu_export int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	unfiber();
	return CXLMU_LIBC(sigwaitinfo)(set, info);
}

cxlmu_export int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
	unfiber();
	return CXLMU_LIBC(sigtimedwait)(set, info, ts);
}

cxlmu_export int sigsuspend(const sigset_t *set)
{
	unfiber();
	return CXLMU_LIBC(sigsuspend)(set);
}

/* pause and the sigpause family wait for a signal inside libc, which
 * calls no hook: in a fiber they would block its host. */
cxlmu_export int pause(void)
{
	unfiber();
	return CXLMU_LIBC(pause)();
}

/* The old BSD sigpause, which takes a mask; <signal.h> names the X/Open
 * one, taking a signal number, sigpause too (__xpg_sigpause, below). */
int bsd_sigpause(int mask) __asm__("sigpause");
cxlmu_export int bsd_sigpause(int mask)
{
	unfiber();
	return CXLMU_LIBC(__sigpause)(mask, 0);
}

cxlmu_export int __sigpause(int sig_or_mask, int is_sig)
{
	unfiber();
	return CXLMU_LIBC(__sigpause)(sig_or_mask, is_sig);
}

cxlmu_export int __xpg_sigpause(int sig)
{
	unfiber();
	return CXLMU_LIBC(__xpg_sigpause)(sig);
}

/* epoll_wait has no mask: here for its zero timeout only (scheduler.h,
 * cxlmu_sync_none_ready), as are the others' zero timeouts. */
cxlmu_export int epoll_wait(int fd, struct epoll_event *ev, int max, int timeout)
{
	return cxlmu_sync_none_ready(CXLMU_LIBC(epoll_wait)(fd, ev, max, timeout), timeout == 0);
}

cxlmu_export int epoll_pwait(int fd, struct epoll_event *ev, int max, int timeout,
			     const sigset_t *set)
{
	if (set)
		unfiber();
	return cxlmu_sync_none_ready(CXLMU_LIBC(epoll_pwait)(fd, ev, max, timeout, set),
				      timeout == 0);
}

cxlmu_export int epoll_pwait2(int fd, struct epoll_event *ev, int max,
			      const struct timespec *timeout, const sigset_t *set)
{
	bool zero = timeout && !timeout->tv_sec && !timeout->tv_nsec;

	if (set)
		unfiber();
	return cxlmu_sync_none_ready(CXLMU_LIBC(epoll_pwait2)(fd, ev, max, timeout, set), zero);
}
