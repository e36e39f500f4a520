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
 * yet. Safe to call more than once. */
void cxlmu_sandbox_enter(const char *how);

/* The system call numbers and first arguments that install a filter. */
bool cxlmu_sandbox_installs(long nr, unsigned long arg0);

#endif
