/* mmap, munmap and mremap, interposed so the application's own large
 * anonymous mappings follow the policy (src/mapping.c). */
#include <stdarg.h>
#include <sys/mman.h>

#include "internal.h"
#include "mapping.h"

#define PUBLIC cxlmu_export

PUBLIC void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return cxlmu_mapping_mmap(addr, len, prot, flags, fd, off, __builtin_return_address(0));
}

/* On x86-64 off_t is 64 bits: mmap64 is the same call. */
PUBLIC void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return cxlmu_mapping_mmap(addr, len, prot, flags, fd, off, __builtin_return_address(0));
}

PUBLIC int munmap(void *addr, size_t len)
{
	return cxlmu_mapping_munmap(addr, len);
}

PUBLIC void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;

	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	return cxlmu_mapping_mremap(old, old_len, new_len, flags, new_addr);
}
