/* The dynamic linker's tables of every loaded module: the GOT slots that
 * its PLT stubs and its GLOB_DAT references jump through, found by the
 * name of the symbol each one is for, and rewritten in place (RELRO pages
 * opened for the write and closed again). What --remote uses to send calls
 * of a named function elsewhere without touching any code. */
#ifndef CXLMU_SRC_GOT_H
#define CXLMU_SRC_GOT_H

#include "internal.h"

struct cxlmu_got_module {
	const char *path;        /* "" for the main program */
	uintptr_t base;          /* load bias */
};

/* For one slot whose symbol name wanted() accepted: cur is what the slot
 * holds (the module's own PLT when lazy binding has not bound it yet).
 * Returns what the slot must hold instead, or NULL to leave it. */
typedef void *(*cxlmu_got_fn)(const char *name, void *cur, const struct cxlmu_got_module *m,
			      void *arg);

/* Walk every module but the runtime's own, ld.so and the vDSO, and
 * rewrite slots as fn says (a slot already rewritten is asked about again:
 * fn leaves it). wanted() filters names cheaply first. Returns the number
 * of slots rewritten. One walk at a time: while another is under way this
 * returns 0 at once and leaves the work for the next call. Calls
 * dl_iterate_phdr (not from a malloc hook). */
unsigned cxlmu_got_walk(bool (*wanted)(const char *name, void *arg), cxlmu_got_fn fn,
			void *arg);

/* In a forked child: a walk the parent was in is not the child's. */
void cxlmu_got_after_fork(void);

/* True when modules were loaded or unloaded since the last walk: one
 * dl_iterate_phdr step. */
bool cxlmu_got_changed(void);

/* The definition a module's reference to name binds to: the global scope
 * first, then the module's own scope (a library loaded RTLD_LOCAL that
 * the module depends on), as ld.so looks. NULL when nothing defines it. */
void *cxlmu_got_lookup(const char *name, const struct cxlmu_got_module *m);

/* Drop the reference a dlopen(RTLD_NOLOAD) of the runtime's took, with
 * libc's dlclose: the runtime's own hook (preload/dl.c) would take it for
 * an unload and make every later call-site capture walk slowly. */
void cxlmu_got_unref(void *handle);

/* Whether addr lies in the module m (its PLT, for a slot not bound yet). */
bool cxlmu_got_in_module(const void *addr, const struct cxlmu_got_module *m);

#endif
