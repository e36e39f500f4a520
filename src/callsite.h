/* Call sites: the stack of an allocation, unwound with libunwind, each
 * frame named by its module (path and GNU build-id) and its offset in that
 * module, which stays the same across runs and ASLR.
 *
 * Nothing here allocates; modules are looked up with _dl_find_object,
 * which takes no lock, and kept in a table of our own. */
#ifndef CXLMU_SRC_CALLSITE_H
#define CXLMU_SRC_CALLSITE_H

#include "internal.h"
#include "rules.h"

#define CXLMU_CALLSITE_MAX_FRAMES CXLMU_RULES_MAX_FRAMES
#define CXLMU_CALLSITE_MAX_MODULES 2048
#define CXLMU_CALLSITE_PATH 512

/* Module 0 stands for code outside every loaded object (JIT code, a
 * dlclose'd library); its frames keep the absolute address as offset. */
#define CXLMU_CALLSITE_UNKNOWN 0

struct cxlmu_module {
	uintptr_t start, end;        /* its mapping */
	uintptr_t bias;              /* load bias: offset = address - bias */
	const void *link_map;
	/* Bits of the rule modules this module matches (src/sites.c). */
	uint64_t rule_bits[CXLMU_RULES_MAX_MODULES / 64];
	char build_id[2 * CXLMU_RULES_MAX_BUILD_ID + 1];  /* hex, "" when none */
	char path[CXLMU_CALLSITE_PATH];
};

struct cxlmu_frame {
	uint64_t offset;
	uint32_t module;
};

/* Set up the module table (module 0) and learn our own code's range. 0 or
 * -errno. on_module, when not NULL, is called for every module as it is
 * first seen, before any lookup can return it. */
int cxlmu_callsite_init(void (*on_module)(struct cxlmu_module *m));
/* Why cxlmu_callsite_init failed to load libunwind, or NULL. */
const char *cxlmu_callsite_error(void);
bool cxlmu_callsite_ready(void);

/* The frames of the calling thread's stack above the runtime, innermost
 * first: the first is ra, the return address of the intercepted call, when
 * ra is found on the stack, else the first frame outside libcxlmu. At most
 * max frames; 0 when a capture is already running on this thread (an
 * allocation made by the unwinder itself). */
unsigned cxlmu_callsite_capture(const void *ra, struct cxlmu_frame *out, unsigned max);

/* Name one return address. */
void cxlmu_callsite_name(uintptr_t pc, struct cxlmu_frame *out);

/* The executable's path, as /proc/self/exe gave it at start. */
const char *cxlmu_callsite_exe(void);
unsigned cxlmu_callsite_modules(void);
const struct cxlmu_module *cxlmu_callsite_module(unsigned i);

/* Bumped when a library is unloaded: decisions cached by address must be
 * made again, as another library may come to the same addresses. */
extern _Atomic uint32_t cxlmu_callsite_gen;
static inline uint32_t cxlmu_callsite_generation(void)
{
	return __atomic_load_n((uint32_t *)&cxlmu_callsite_gen, __ATOMIC_ACQUIRE);
}
void cxlmu_callsite_unloaded(void);

/* Whether the calling thread is inside a capture right now. */
extern CXLMU_TLS bool cxlmu_callsite_in;
static inline bool cxlmu_callsite_busy(void)
{
	return cxlmu_callsite_in;
}

#endif
