/* libc's own functions behind the names libcxlmu.so exports, looked up
 * once (src/libc.h says how and when). The main function is
 * cxlmu_libc_init. */
#include <dlfcn.h>

#include "libc.h"

struct cxlmu_libc cxlmu_libc;

void cxlmu_libc_init(void)
{
	/* POSIX lets dlsym's pointer stand for a function's. */
#define CXLMU_LIBC_LOOKUP(name, ret, params) \
	*(void **)&cxlmu_libc.name = dlsym(RTLD_NEXT, #name);
	CXLMU_LIBC_FUNCTIONS(CXLMU_LIBC_LOOKUP)
#undef CXLMU_LIBC_LOOKUP
	cxlmu_libc.nthreads = dlvsym(RTLD_NEXT, "__nptl_nthreads", "GLIBC_PRIVATE");
	atomic_store_explicit(&cxlmu_libc.ready, true, memory_order_release);
}

/* At load, before main and before most hooks are reached. */
__attribute__((constructor)) static void libc_ctor(void)
{
	cxlmu_libc_resolve();
}
