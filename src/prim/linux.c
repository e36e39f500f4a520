/* Linux implementations of src/prim.h, made with raw system calls so that
 * neither the interposed mmap nor any libc allocation is reached. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <numaif.h>

#include "prim.h"

/* Every call goes to the kernel by cxlmu_prim_raw: -errno on failure,
 * errno never touched, and no libc wrapper in the way (libcxlmu.so
 * exports syscall itself, src/sandbox.h). RAW pads the arguments. */
#define RAW(...) RAW_(__VA_ARGS__, 0, 0, 0, 0, 0, 0)
#define RAW_(nr, a, b, c, d, e, f, ...) cxlmu_prim_raw(nr, (long)(a), (long)(b), \
	(long)(c), (long)(d), (long)(e), (long)(f))

long cxlmu_prim_raw(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile ("syscall"
			  : "=a"(ret)
			  : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			  : "rcx", "r11", "memory");
	return ret;
}

void *cxlmu_prim_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)RAW(SYS_mmap, addr, len, prot, flags, fd, off);
}

void *cxlmu_prim_map_table(size_t len)
{
	void *p = cxlmu_prim_mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return cxlmu_prim_failed(p) ? NULL : p;
}

int cxlmu_prim_munmap(void *addr, size_t len)
{
	return (int)RAW(SYS_munmap, addr, len);
}

int cxlmu_prim_mprotect(void *addr, size_t len, int prot)
{
	return (int)RAW(SYS_mprotect, addr, len, prot);
}

int cxlmu_prim_madvise(void *addr, size_t len, int advice)
{
	return (int)RAW(SYS_madvise, addr, len, advice);
}

void *cxlmu_prim_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	return (void *)RAW(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

int cxlmu_prim_mbind(void *addr, size_t len, int mode, cxlmu_nodemask_t mask)
{
	unsigned long m = (unsigned long)mask;
	/* maxnode counts bits and the kernel drops the last one: pass 65. */
	return (int)RAW(SYS_mbind, addr, len, mode,
		mode == MPOL_LOCAL ? NULL : &m,
		mode == MPOL_LOCAL ? 0 : CXLMU_MAX_NODES + 1, 0);
}

int cxlmu_prim_page_nodes(size_t count, void **pages, int *status)
{
	return (int)RAW(SYS_move_pages, 0, count, pages, NULL, status, 0);
}

int cxlmu_prim_open(const char *path, int flags, int mode)
{
	return (int)RAW(SYS_openat, AT_FDCWD, path, flags, mode);
}

int cxlmu_prim_fstat(int fd, struct stat *st)
{
	return (int)RAW(SYS_fstat, fd, st);
}

int cxlmu_prim_stat(const char *path, struct stat *st, bool follow)
{
	return (int)RAW(SYS_newfstatat, AT_FDCWD, path, st, follow ? 0 : AT_SYMLINK_NOFOLLOW);
}

ssize_t cxlmu_prim_read(int fd, void *buf, size_t len)
{
	return RAW(SYS_read, fd, buf, len);
}

ssize_t cxlmu_prim_write(int fd, const void *buf, size_t len)
{
	return RAW(SYS_write, fd, buf, len);
}

int cxlmu_prim_flock(int fd, int op)
{
	return (int)RAW(SYS_flock, fd, op);
}

int cxlmu_prim_ftruncate(int fd, off_t len)
{
	return (int)RAW(SYS_ftruncate, fd, len);
}

int cxlmu_prim_fd_flags(int fd)
{
	return (int)RAW(SYS_fcntl, fd, F_GETFD);
}

ssize_t cxlmu_prim_read_file(const char *path, char *buf, size_t size)
{
	size_t got = 0;
	int fd = (int)RAW(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fd;
	while (got + 1 < size) {
		ssize_t n = RAW(SYS_read, fd, buf + got, size - 1 - got);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	RAW(SYS_close, fd);
	buf[got] = '\0';
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
	return (int)RAW(SYS_get_mempolicy, &mode, NULL, 0, NULL, 0);
}

ssize_t cxlmu_prim_readlink(const char *path, char *buf, size_t size)
{
	long n = size ? RAW(SYS_readlinkat, AT_FDCWD, path, buf, size - 1) : -EINVAL;

	if (n < 0)
		return n;
	buf[n] = '\0';
	return n;
}

ssize_t cxlmu_prim_list_dir(const char *path, char *buf, size_t size)
{
	char ents[4096];
	size_t used = 0;
	long n;
	int fd = (int)RAW(SYS_openat, AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return fd;
	while ((n = RAW(SYS_getdents64, fd, ents, sizeof(ents))) > 0) {
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
	RAW(SYS_close, fd);
	return (ssize_t)used;
}

int cxlmu_prim_futex_wait(const void *word, uint32_t val, uint64_t deadline)
{
	struct timespec ts = { (time_t)(deadline / 1000000000u), (long)(deadline % 1000000000u) };
	/* BITSET takes an absolute CLOCK_MONOTONIC deadline, so a wait resumed
	 * after EINTR or a spurious wake-up never extends it. */
	long r = RAW(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
				    val, deadline ? &ts : NULL, NULL, FUTEX_BITSET_MATCH_ANY);
	return r == -EAGAIN ? 0 : (int)r;
}

int cxlmu_prim_futex_wake(const void *word, int count)
{
	return (int)RAW(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG,
				       count, NULL, NULL, 0);
}

/* The kernel's futex_waitv and flags (Linux 5.16 headers and later). */
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
struct kernel_futex_waitv {
	uint64_t val, uaddr;
	uint32_t flags, reserved;
};
_Static_assert(sizeof(struct kernel_futex_waitv) == sizeof(struct cxlmu_futexv),
	       "struct cxlmu_futexv is the kernel's struct futex_waitv");
#define KFUTEX_32 2u
#define KFUTEX_PRIVATE 128u

int cxlmu_prim_futex_waitv(struct cxlmu_futexv *v, unsigned n, uint64_t deadline)
{
	struct timespec ts = { (time_t)(deadline / 1000000000u), (long)(deadline % 1000000000u) };

	/* The caller's flag into the kernel's: private unless shared. */
	for (unsigned i = 0; i < n; i++)
		v[i].flags = KFUTEX_32 | (v[i].flags & CXLMU_FUTEXV_SHARED ? 0 : KFUTEX_PRIVATE);
	return (int)RAW(SYS_futex_waitv, v, n, 0, deadline ? &ts : NULL, CLOCK_MONOTONIC);
}

bool cxlmu_prim_has_futex_waitv(void)
{
	static _Atomic int known;       /* 0 unknown, 1 yes, 2 no */
	int k = atomic_load_explicit(&known, memory_order_relaxed);

	if (!k) {
		/* No entries: EINVAL where the call exists, ENOSYS (or a
		 * filter's own error) where not. */
		long r = RAW(SYS_futex_waitv, NULL, 0, 0, NULL, CLOCK_MONOTONIC);
		k = r == -EINVAL ? 1 : 2;
		atomic_store_explicit(&known, k, memory_order_relaxed);
	}
	return k == 1;
}

int cxlmu_prim_sched_yield(void)
{
	return (int)RAW(SYS_sched_yield);
}

int cxlmu_prim_set_thread_name(const char *name)
{
	return (int)RAW(SYS_prctl, PR_SET_NAME, name, 0, 0, 0);
}

long cxlmu_prim_timerslack(void)
{
	return RAW(SYS_prctl, PR_GET_TIMERSLACK, 0, 0, 0, 0);
}

int cxlmu_prim_set_timerslack(unsigned long ns)
{
	return (int)RAW(SYS_prctl, PR_SET_TIMERSLACK, ns, 0, 0, 0);
}

int cxlmu_prim_cpus_allowed(void)
{
	cpu_set_t set;
	long n = RAW(SYS_sched_getaffinity, 0, sizeof(set), &set);

	/* The raw call returns the bytes it wrote; the rest is ours to clear. */
	if (n < 0)
		return (int)n;
	memset((char *)&set + n, 0, sizeof(set) - (size_t)n);
	return CPU_COUNT(&set);
}

bool cxlmu_prim_fd_same(const struct cxlmu_fd *o)
{
	struct stat st;

	if (o->fd < 0 || RAW(SYS_fstat, o->fd, &st))
		return false;
	return (uint64_t)st.st_dev == o->dev && (uint64_t)st.st_ino == o->ino;
}

int cxlmu_prim_fd_adopt(struct cxlmu_fd *o, int fd)
{
	struct stat st;
	int high = (int)RAW(SYS_fcntl, fd, F_DUPFD_CLOEXEC, CXLMU_FD_BASE);
	long r;

	if (high >= 0) {
		RAW(SYS_close, fd);
		fd = high;
	}
	r = RAW(SYS_fstat, fd, &st);
	if (r) {
		RAW(SYS_close, fd);
		*o = CXLMU_FD_NONE;
		return (int)r;
	}
	o->fd = fd;
	o->dev = (uint64_t)st.st_dev;
	o->ino = (uint64_t)st.st_ino;
	return 0;
}

void cxlmu_prim_fd_note(struct cxlmu_fd *o, int fd)
{
	struct stat st;

	*o = CXLMU_FD_NONE;
	if (RAW(SYS_fstat, fd, &st))
		return;
	o->fd = fd;
	o->dev = (uint64_t)st.st_dev;
	o->ino = (uint64_t)st.st_ino;
}

bool cxlmu_prim_fd_still(struct cxlmu_fd *o)
{
	if (cxlmu_prim_fd_same(o))
		return true;
	o->fd = -1;
	return false;
}

void cxlmu_prim_fd_close(struct cxlmu_fd *o)
{
	if (cxlmu_prim_fd_still(o))
		cxlmu_prim_close(o->fd);
	o->fd = -1;
}

int cxlmu_prim_wait_writable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	long r = RAW(SYS_ppoll, &p, 1, &ts, NULL, 0);

	if (r <= 0)
		return (int)r;
	return p.revents & (POLLERR | POLLNVAL) ? -EPIPE : 1;
}

void cxlmu_prim_sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	RAW(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
}

int cxlmu_prim_sleep_until(uint64_t deadline)
{
	struct timespec ts = { (time_t)(deadline / 1000000000u), (long)(deadline % 1000000000u) };
	long r = RAW(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);

	return r == -EINTR ? -EINTR : 0;
}

int cxlmu_prim_wake_pipe(struct cxlmu_fd *rd, struct cxlmu_fd *wr)
{
	int fds[2];
	long r = RAW(SYS_pipe2, fds, O_CLOEXEC);

	*rd = *wr = CXLMU_FD_NONE;
	if (r)
		return (int)r;
	if ((r = RAW(SYS_fcntl, fds[1], F_SETFL, O_NONBLOCK))) {
		RAW(SYS_close, fds[0]);
		RAW(SYS_close, fds[1]);
		return (int)r;
	}
	if ((r = cxlmu_prim_fd_adopt(rd, fds[0]))) {
		RAW(SYS_close, fds[1]);
		return (int)r;
	}
	if ((r = cxlmu_prim_fd_adopt(wr, fds[1]))) {
		cxlmu_prim_fd_close(rd);
		return (int)r;
	}
	return 0;
}

int cxlmu_prim_wake_pipe_signal(const struct cxlmu_fd *wr)
{
	char one = 1;
	long r;

	/* A number the program reused must not get our byte. */
	if (!cxlmu_prim_fd_same(wr))
		return -EBADF;
	r = RAW(SYS_write, wr->fd, &one, 1);
	return r < 0 && r != -EAGAIN ? (int)r : 0;
}

int cxlmu_prim_close(int fd)
{
	return (int)RAW(SYS_close, fd);
}

int cxlmu_prim_random(void *buf, size_t len)
{
	long r = RAW(SYS_getrandom, buf, len, GRND_NONBLOCK);

	if (r < 0)
		return (int)r;
	return (size_t)r == len ? 0 : -EAGAIN;
}

int cxlmu_prim_getcpu(void)
{
	unsigned cpu;

	return getcpu(&cpu, NULL) ? -1 : (int)cpu;
}

uint64_t cxlmu_prim_now(void)
{
	struct timespec ts;

	/* Through the vDSO: no system call, and it cannot fail for MONOTONIC. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
