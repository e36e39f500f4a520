/* Linux implementations of src/prim.h, made with syscall(2) directly so that
 * neither the interposed mmap nor any libc allocation is reached. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <numaif.h>

#include "prim.h"

/* The raw syscall(2) wrapper sets errno on failure; callers get -errno
 * instead and the caller's errno is restored, so hooks never leak it. */
#define KEEP_ERRNO(expr) ({ int saved_ = errno; long r_ = (long)(expr); \
	long ret_ = r_ == -1 ? -errno : r_; errno = saved_; ret_; })

void *cxlmu_prim_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)KEEP_ERRNO(syscall(SYS_mmap, addr, len, prot, flags, fd, off));
}

void *cxlmu_prim_map_table(size_t len)
{
	void *p = cxlmu_prim_mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return cxlmu_prim_failed(p) ? NULL : p;
}

int cxlmu_prim_munmap(void *addr, size_t len)
{
	return (int)KEEP_ERRNO(syscall(SYS_munmap, addr, len));
}

int cxlmu_prim_mprotect(void *addr, size_t len, int prot)
{
	return (int)KEEP_ERRNO(syscall(SYS_mprotect, addr, len, prot));
}

int cxlmu_prim_madvise(void *addr, size_t len, int advice)
{
	return (int)KEEP_ERRNO(syscall(SYS_madvise, addr, len, advice));
}

void *cxlmu_prim_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	return (void *)KEEP_ERRNO(syscall(SYS_mremap, old, old_len, new_len, flags, new_addr));
}

int cxlmu_prim_mbind(void *addr, size_t len, int mode, cxlmu_nodemask_t mask)
{
	unsigned long m = (unsigned long)mask;
	/* maxnode counts bits and the kernel drops the last one: pass 65. */
	return (int)KEEP_ERRNO(syscall(SYS_mbind, addr, len, mode,
		mode == MPOL_LOCAL ? NULL : &m,
		mode == MPOL_LOCAL ? 0 : CXLMU_MAX_NODES + 1, 0));
}

int cxlmu_prim_page_nodes(size_t count, void **pages, int *status)
{
	return (int)KEEP_ERRNO(syscall(SYS_move_pages, 0, count, pages, NULL, status, 0));
}

ssize_t cxlmu_prim_read_file(const char *path, char *buf, size_t size)
{
	int saved = errno;
	size_t got = 0;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;
		errno = saved;
		return -e;
	}
	while (got + 1 < size) {
		ssize_t n = syscall(SYS_read, fd, buf + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	syscall(SYS_close, fd);
	buf[got] = '\0';
	errno = saved;
	return (ssize_t)got;
}

size_t cxlmu_prim_page_size(void)
{
	static size_t ps;
	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

int cxlmu_prim_numa_probe(void)
{
	int mode;
	/* The process policy: works wherever the NUMA syscalls are allowed. */
	return (int)KEEP_ERRNO(syscall(SYS_get_mempolicy, &mode, NULL, 0, NULL, 0));
}

ssize_t cxlmu_prim_list_dir(const char *path, char *buf, size_t size)
{
	int saved = errno;
	char ents[4096];
	size_t used = 0;
	long n;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;
		errno = saved;
		return -e;
	}
	while ((n = syscall(SYS_getdents64, fd, ents, sizeof(ents))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(ents + off);
			size_t len = strlen(d->d_name) + 1;
			off += d->d_reclen;
			if (d->d_name[0] == '.' || used + len > size)
				continue;
			memcpy(buf + used, d->d_name, len);
			used += len;
		}
	}
	syscall(SYS_close, fd);
	errno = saved;
	return (ssize_t)used;
}

int cxlmu_prim_futex_wait(const void *word, uint32_t val, uint64_t deadline)
{
	struct timespec ts = { (time_t)(deadline / 1000000000u), (long)(deadline % 1000000000u) };
	/* BITSET takes an absolute CLOCK_MONOTONIC deadline, so a wait resumed
	 * after EINTR or a spurious wake-up never extends it. */
	long r = KEEP_ERRNO(syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
				    val, deadline ? &ts : NULL, NULL, FUTEX_BITSET_MATCH_ANY));
	return r == -EAGAIN ? 0 : (int)r;
}

int cxlmu_prim_futex_wake(const void *word, int count)
{
	return (int)KEEP_ERRNO(syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG,
				       count, NULL, NULL, 0));
}

int cxlmu_prim_sched_yield(void)
{
	return (int)KEEP_ERRNO(syscall(SYS_sched_yield));
}

long cxlmu_prim_timerslack(void)
{
	return KEEP_ERRNO(syscall(SYS_prctl, PR_GET_TIMERSLACK, 0, 0, 0, 0));
}

int cxlmu_prim_set_timerslack(unsigned long ns)
{
	return (int)KEEP_ERRNO(syscall(SYS_prctl, PR_SET_TIMERSLACK, ns, 0, 0, 0));
}

int cxlmu_prim_cpus_allowed(void)
{
	cpu_set_t set;
	long n = KEEP_ERRNO(syscall(SYS_sched_getaffinity, 0, sizeof(set), &set));

	/* The raw call returns the bytes it wrote; the rest is ours to clear. */
	if (n < 0)
		return (int)n;
	memset((char *)&set + n, 0, sizeof(set) - (size_t)n);
	return CPU_COUNT(&set);
}

int cxlmu_prim_eventfd(void)
{
	int fd = (int)KEEP_ERRNO(syscall(SYS_eventfd2, 0, EFD_CLOEXEC));
	int high;

	if (fd < 0)
		return fd;
	/* Out of the way of the program's own low numbers: one that closes
	 * what it did not open and reuses the number is then unlikely to get
	 * a waker's 8 bytes written into its file. */
	high = (int)KEEP_ERRNO(syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 512));
	if (high >= 0) {
		syscall(SYS_close, fd);
		fd = high;
	}
	return fd;
}

int cxlmu_prim_eventfd_signal(int fd)
{
	uint64_t one = 1;
	long r = KEEP_ERRNO(syscall(SYS_write, fd, &one, sizeof(one)));
	return r < 0 ? (int)r : 0;
}

int cxlmu_prim_close(int fd)
{
	return (int)KEEP_ERRNO(syscall(SYS_close, fd));
}

uint64_t cxlmu_prim_now(void)
{
	struct timespec ts;

	/* Through the vDSO: no system call, and it cannot fail for MONOTONIC. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
