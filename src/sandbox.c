/* The sandbox switch: when a seccomp filter is in force, or about to be,
 * the runtime stops making system calls of its own (src/sandbox.h). The
 * modules that make them (heap, wait, scheduler, remote, the exit report)
 * look at cxlmu_sandboxed(); this file decides when it turns on and turns
 * off what can be turned off at that moment. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "log.h"
#include "prim.h"
#include "heap.h"
#include "sandbox.h"
#include "sched_thread.h"
#include "scheduler.h"
#include "wait.h"

_Atomic bool cxlmu_sandbox_on;
_Atomic bool cxlmu_sandbox_late;

bool cxlmu_sandbox_probe(void)
{
	char buf[4096];
	const char *p;
	ssize_t n;
	long mode;

	n = cxlmu_prim_read_file("/proc/self/status", buf, sizeof(buf));
	if (n > 0) {
		/* No such line: a kernel without seccomp. */
		mode = (p = strstr(buf, "\nSeccomp:")) ? strtol(p + 9, NULL, 10) : 0;
	} else if (n == -ENOENT) {
		/* No /proc (a chroot): ask the kernel. Strict mode cannot be
		 * in force here (it allows no execve), so this is no risk. */
		mode = cxlmu_prim_raw(SYS_prctl, PR_GET_SECCOMP, 0, 0, 0, 0, 0);
		if (mode < 0)
			mode = mode == -EINVAL ? 0 : 2;   /* a filter refused it */
	} else {
		/* /proc is there but would not tell: a filter that answers
		 * with an errno is the likely reason. */
		mode = 2;
	}
	if (mode > 0)
		atomic_store(&cxlmu_sandbox_on, true);
	return mode > 0;
}

bool cxlmu_sandbox_installs(long nr, const long *a)
{
	if (nr == SYS_prctl && a[0] == PR_SET_SECCOMP)
		return a[1] == SECCOMP_MODE_STRICT || (a[1] == SECCOMP_MODE_FILTER && a[2]);
	if (nr == SYS_seccomp)
		return a[0] == SECCOMP_SET_MODE_STRICT || (a[0] == SECCOMP_SET_MODE_FILTER && a[2]);
	return false;
}

bool cxlmu_sandbox_installed(long nr, const long *a, long r)
{
	/* With TSYNC a positive result is the thread that could not follow
	 * (nothing went in); with NEW_LISTENER it is the listener's fd. */
	if (nr == SYS_seccomp && a[0] == SECCOMP_SET_MODE_FILTER && r > 0)
		return (a[1] & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0;
	return r == 0;
}

static int wait_was;

bool cxlmu_sandbox_enter(const char *how)
{
	/* A fiber runs on a host thread: the filter must go on its own
	 * kernel thread, and that thread must stay one; every time, a second
	 * filter from another fiber too. */
	if (cxlmu_sched_self())
		cxlmu_sched_unfiber(CXLMU_WHY_SANDBOX);
	/* Before the filter, whatever it forbids: the allocator's own
	 * start-up (its system calls are not the program's). */
	cxlmu_heap_boot();
	if (atomic_exchange(&cxlmu_sandbox_on, true))
		return false;
	atomic_store(&cxlmu_sandbox_late, true);
	wait_was = cxlmu_wait_sandbox();
	cxlmu_log_info("a seccomp filter goes in (%s): from now on sleeps and waits go to libc, "
		       "new memory is not bound to nodes, no io_uring, no runtime thread, remote "
		       "functions run in the caller, no report or profile at exit", how);
	return true;
}

void cxlmu_sandbox_undo(void)
{
	cxlmu_wait_unsandbox(wait_was);
	atomic_store(&cxlmu_sandbox_late, false);
	atomic_store(&cxlmu_sandbox_on, false);
	cxlmu_log_info("the seccomp filter did not go in: the runtime goes on as before");
}
