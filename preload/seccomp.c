/* prctl and syscall, interposed so that the runtime hears of a seccomp
 * filter before it goes in (src/sandbox.h): libseccomp installs its
 * filters through syscall(__NR_seccomp) or prctl(PR_SET_SECCOMP). Both
 * stand in for libc's plain wrappers, which do nothing but the system
 * call and errno; calls that install no filter pass straight through. */
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>

#include "prim.h"
#include "runtime.h"
#include "sandbox.h"

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

static void before(long nr, unsigned long arg0)
{
	if (unlikely(cxlmu_sandbox_installs(nr, arg0))) {
		int saved = errno;
		cxlmu_runtime_ensure();
		cxlmu_sandbox_enter(nr == SYS_prctl ? "prctl" : "seccomp");
		errno = saved;
	}
}

PUBLIC int prctl(int option, ...)
{
	unsigned long a[4];
	va_list ap;

	/* As glibc: every call passes four more arguments, used or not. */
	va_start(ap, option);
	for (int i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	before(SYS_prctl, (unsigned long)option);
	return (int)libc_result(cxlmu_prim_raw(SYS_prctl, option, (long)a[0], (long)a[1],
					       (long)a[2], (long)a[3], 0));
}

PUBLIC long syscall(long nr, ...)
{
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	before(nr, (unsigned long)a[0]);
	return libc_result(cxlmu_prim_raw(nr, a[0], a[1], a[2], a[3], a[4], a[5]));
}
