/* The two sides of src/remote_x86_64.S and src/remote.c: what the
 * assembly defines for C, and what C defines for the assembly (never
 * called from C elsewhere). */
#ifndef CXLMU_SRC_REMOTE_X86_64_H
#define CXLMU_SRC_REMOTE_X86_64_H

#include "remote.h"

/* Defined in src/remote_x86_64.S. */

/* CXLMU_REMOTE_MAX trampolines of 16 bytes: entry i at 16 * i. */
extern char cxlmu_remote_tramps[];
/* On the agent: load regs, call fn, store what it returned. */
void cxlmu_remote_invoke(void *fn, struct cxlmu_remote_regs *regs);
/* What dlsym's and dlvsym's GOT slots lead to under --remote. */
void *cxlmu_remote_dlsym_hook(void *, const char *);
void *cxlmu_remote_dlvsym_hook(void *, const char *, const char *);

/* Defined in src/remote.c, for the assembly. */

/* libc's dlsym and dlvsym, which the hooks tail-jump to. */
extern void *cxlmu_remote_real_dlsym;
extern void *cxlmu_remote_real_dlvsym;
/* From the trampolines: run slot idx's function on an agent. */
void cxlmu_remote_enter(unsigned idx, struct cxlmu_remote_regs *regs);
/* From the dlsym hooks: nonzero when name's answer must be looked at
 * (cxlmu_remote_dlsym, cxlmu_remote_dlvsym) rather than left to libc. */
int cxlmu_remote_dlsym_wanted(const char *name);
void *cxlmu_remote_dlsym(void *h, const char *name);
void *cxlmu_remote_dlvsym(void *h, const char *name, const char *version);

#endif
