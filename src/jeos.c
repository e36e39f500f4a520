/* The system calls of the jemalloc linked into libcxlmu.so. Its references
 * to mmap, munmap, madvise, mprotect and sched_yield are renamed at link time to these
 * (src/Makefile.mk), which never touch errno: a purge refused by the kernel
 * (madvise on mlock'ed memory, say) inside a successful free() must not
 * change the caller's errno, and malloc/free reach jemalloc by tail call
 * with nothing of ours after it to restore errno. jemalloc only tests the
 * return values. sched_yield (its spin locks) must not reach our own
 * sched_yield hook either: that hook is not for calls from inside malloc. */
#include <sys/mman.h>

#include "prim.h"

void *cxlmu_je_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = cxlmu_prim_mmap(addr, len, prot, flags, fd, off);
	return cxlmu_prim_failed(p) ? MAP_FAILED : p;
}

int cxlmu_je_munmap(void *addr, size_t len)
{
	return cxlmu_prim_munmap(addr, len) ? -1 : 0;
}

int cxlmu_je_madvise(void *addr, size_t len, int advice)
{
	return cxlmu_prim_madvise(addr, len, advice) ? -1 : 0;
}

int cxlmu_je_mprotect(void *addr, size_t len, int prot)
{
	return cxlmu_prim_mprotect(addr, len, prot) ? -1 : 0;
}

int cxlmu_je_sched_yield(void)
{
	return cxlmu_prim_sched_yield() ? -1 : 0;
}
