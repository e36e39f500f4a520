/* Seccomp sandboxes: a process under a filter gets no system call from
 * the runtime that the plain call would not have made. The filter may be
 * there at start (systemd's SystemCallFilter, a container runtime) or go
 * in later (the program's own prctl or seccomp call, which the preload
 * sees first). From then on waits and sleeps pass through to libc, new
 * memory is not mbind-ed, no io_uring is set up, no runtime thread is
 * started and remote functions run in the caller. A filter the program
 * installed itself also stops the report and profile at exit (one in
 * force from the start does not: whoever started the program asked for
 * them). */
#ifndef CXLMU_SRC_SANDBOX_H
#define CXLMU_SRC_SANDBOX_H

#include <stdatomic.h>

#include "internal.h"

extern _Atomic bool cxlmu_sandbox_on;
/* The program installed the filter itself, after start. */
extern _Atomic bool cxlmu_sandbox_late;

static inline bool cxlmu_sandboxed(void)
{
	return atomic_load_explicit(&cxlmu_sandbox_on, memory_order_relaxed);
}

/* At start: whether a filter is already in force (the Seccomp: line of
 * /proc/self/status; when that cannot be read, prctl(PR_GET_SECCOMP)).
 * Sets the flag when one is. */
bool cxlmu_sandbox_probe(void);

/* A filter is about to go in (how: "prctl", "seccomp"), from the calling
 * thread: turn off what would make system calls of our own. Called by
 * the hooks before the real call, so nothing here runs under the filter
 * yet. Returns true when this call turned the sandbox on. */
bool cxlmu_sandbox_enter(const char *how);
/* The call cxlmu_sandbox_enter prepared for failed (a probe with a NULL
 * program, no PR_SET_NO_NEW_PRIVS, a TSYNC conflict): back to as before,
 * except that a fiber it turned back into a kernel thread stays one. */
void cxlmu_sandbox_undo(void);

/* Whether the system call nr with arguments a[0..4] installs a filter
 * (prctl PR_SET_SECCOMP, seccomp SET_MODE_STRICT or SET_MODE_FILTER with
 * a program; systemd and libseccomp probe with a NULL one). */
bool cxlmu_sandbox_installs(long nr, const long *a);
/* Whether that call's result r means the filter went in. */
bool cxlmu_sandbox_installed(long nr, const long *a, long r);

#endif
