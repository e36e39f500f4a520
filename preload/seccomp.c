/* prctl and syscall, interposed so that the runtime hears of a seccomp
 * filter before it goes in (src/sandbox.h): libseccomp installs its
 * filters through syscall(__NR_seccomp) or prctl(PR_SET_SECCOMP). Both
 * stand in for libc's plain wrappers, which do nothing but the system
 * call and errno; calls that install no filter pass straight through,
 * but syscall(SYS_gettid) in a fiber, answered as gettid is. */
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>

#include "prim.h"
#include "runtime.h"
#include "sandbox.h"
#include "scheduler.h"

#define PUBLIC cxlmu_export

/* libc's contract: -1 with errno for the kernel's -4095..-1. */
static long libc_result(long r)
{
	if ((unsigned long)r > -4096ul) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* The call nr with arguments a[0..5], with the runtime told first when it
 * installs a filter, and told again when that failed. */
static long call(long nr, const long *a)
{
	bool entered = false;
	long r;

	if (unlikely(cxlmu_sandbox_installs(nr, a))) {
		int saved = errno;
		cxlmu_runtime_ensure();
		entered = cxlmu_sandbox_enter(nr == SYS_prctl ? "prctl" : "seccomp");
		errno = saved;
	}
	r = cxlmu_prim_raw(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (unlikely(entered) && !cxlmu_sandbox_installed(nr, a, r))
		cxlmu_sandbox_undo();
	return libc_result(r);
}

PUBLIC int prctl(int option, ...)
{
	long a[6] = { option };
	va_list ap;

	/* As glibc: every call passes four more arguments, used or not. */
	va_start(ap, option);
	for (int i = 1; i < 5; i++)
		a[i] = (long)va_arg(ap, unsigned long);
	va_end(ap);
	return (int)call(SYS_prctl, a);
}

PUBLIC long syscall(long nr, ...)
{
	long a[6];
	va_list ap;

	/* A fiber's thread id is its own kernel thread's, as gettid gives it
	 * (preload/signal.c); the kernel would give the host's. CPython's
	 * threading.get_native_id asks this way. */
	if (nr == SYS_gettid && cxlmu_sched_on) {
		struct cxlmu_uthread *f = cxlmu_sched_self();
		if (f)
			return cxlmu_sched_tid(f);
	}
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	return call(nr, a);
}
