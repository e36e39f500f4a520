/* Raw system interfaces: every syscall the runtime makes on a hot or early
 * path lives behind these, so nothing here can re-enter malloc or mmap hooks.
 * Functions return 0 / a value on success and -errno on failure. */
#ifndef CXLMU_SRC_PRIM_H
#define CXLMU_SRC_PRIM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>
#include "internal.h"

/* mmap and mremap return the address, or (void *)-errno: test with
 * cxlmu_prim_failed(), which gives the errno (0 on success). */
static inline int cxlmu_prim_failed(const void *p)
{
	return (uintptr_t)p > (uintptr_t)-4096 ? -(int)(intptr_t)p : 0;
}
/* A system call with no libc in the way: returns the kernel's answer
 * (-errno on failure) and never touches errno. For the hooks that stand
 * in for libc's own plain wrappers (prctl, syscall). */
long cxlmu_prim_raw(long nr, long a, long b, long c, long d, long e, long f);

void *cxlmu_prim_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
/* Zeroed read-write private memory, not charged until touched; NULL on
 * failure. For the runtime's own tables. */
void *cxlmu_prim_map_table(size_t len);
int cxlmu_prim_munmap(void *addr, size_t len);
int cxlmu_prim_mprotect(void *addr, size_t len, int prot);
int cxlmu_prim_madvise(void *addr, size_t len, int advice);
void *cxlmu_prim_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);

/* mbind the range to mask with mode (MPOL_*); -errno on failure. */
int cxlmu_prim_mbind(void *addr, size_t len, int mode, cxlmu_nodemask_t mask);
/* Node of each page (status[i] >= 0) or -errno per page; returns 0 or -errno. */
int cxlmu_prim_page_nodes(size_t count, void **pages, int *status);

/* 0 when the NUMA system calls work here, else -errno (ENOSYS, EPERM). */
int cxlmu_prim_numa_probe(void);

/* Files, without libc's wrappers (which are cancellation points, and some
 * of which a program may interpose): each returns the result or -errno.
 * stat's third argument: follow a symbolic link in the last component. */
struct stat;
int cxlmu_prim_open(const char *path, int flags, int mode);
int cxlmu_prim_fstat(int fd, struct stat *st);
int cxlmu_prim_stat(const char *path, struct stat *st, bool follow);
ssize_t cxlmu_prim_read(int fd, void *buf, size_t len);
ssize_t cxlmu_prim_write(int fd, const void *buf, size_t len);
int cxlmu_prim_flock(int fd, int op);
int cxlmu_prim_ftruncate(int fd, off_t len);
int cxlmu_prim_fd_flags(int fd);               /* F_GETFD */

/* Read a small file whole into buf (NUL-terminated); returns length or -errno. */
ssize_t cxlmu_prim_read_file(const char *path, char *buf, size_t size);
/* Names in a directory (not . or ..), NUL-separated into buf; returns the
 * bytes used or -errno. Names that do not fit are left out. */
ssize_t cxlmu_prim_list_dir(const char *path, char *buf, size_t size);
/* A symbolic link's target, NUL-terminated (cut to size - 1); its length
 * or -errno. */
ssize_t cxlmu_prim_readlink(const char *path, char *buf, size_t size);
size_t cxlmu_prim_page_size(void);

/* Waiting (src/wait.c). futex_wait waits while *word == val, until
 * deadline (CLOCK_MONOTONIC ns; 0: none); 0 when woken or the word had
 * changed (-EAGAIN is folded into 0), -ETIMEDOUT, -EINTR. */
int cxlmu_prim_futex_wait(const void *word, uint32_t val, uint64_t deadline);
int cxlmu_prim_futex_wake(const void *word, int count);
/* futex_waitv(2) (Linux 5.16): waits while every word holds its value,
 * until one is woken, the deadline (CLOCK_MONOTONIC ns; 0: none) or a
 * signal. Entries as the kernel's struct futex_waitv: val, the word's
 * address, flags (CXLMU_FUTEXV_SHARED for a process-shared word, else
 * private; always 32-bit words). Returns the index of a woken word,
 * -EAGAIN (a word no longer held its value), -ETIMEDOUT, -EINTR, or
 * -ENOSYS where the kernel lacks it. At most CXLMU_FUTEXV_MAX entries. */
struct cxlmu_futexv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};
#define CXLMU_FUTEXV_MAX 128
#define CXLMU_FUTEXV_SHARED 1u
int cxlmu_prim_futex_waitv(struct cxlmu_futexv *v, unsigned n, uint64_t deadline);
/* Whether the kernel has futex_waitv (asked once). */
bool cxlmu_prim_has_futex_waitv(void);
int cxlmu_prim_sched_yield(void);
/* The calling thread's timer slack (ns), and setting it (1: as precise as
 * the kernel allows; 0 would mean "the default"). */
long cxlmu_prim_timerslack(void);
int cxlmu_prim_set_timerslack(unsigned long ns);
/* The calling thread's name as /proc and top -H show it (at most 15
 * bytes are kept). */
int cxlmu_prim_set_thread_name(const char *name);
/* CPUs the calling thread may run on. */
int cxlmu_prim_cpus_allowed(void);
int cxlmu_prim_close(int fd);

/* A descriptor the runtime owns, and the open file it stood for when the
 * runtime took it. The program may close any number and reuse it
 * (closefrom, dup2): before every write or close the runtime checks that
 * the number still names the same file, and forgets it when it does not,
 * never touching that number again. */
struct cxlmu_fd {
	int fd;                /* -1: none */
	uint64_t dev, ino;
};
#define CXLMU_FD_NONE ((struct cxlmu_fd){ .fd = -1 })
/* Descriptors the runtime keeps live at or above this number, out of the
 * way of the program's own low ones, when the limit allows. */
#define CXLMU_FD_BASE 512
/* Move fd (the runtime's, close-on-exec) to CXLMU_FD_BASE or above where
 * the limit allows, and remember its identity. 0 or -errno (fstat
 * failed: fd is closed, o->fd is -1). */
int cxlmu_prim_fd_adopt(struct cxlmu_fd *o, int fd);
/* Remember what fd (not the runtime's) names now, to check later that it
 * still does; o->fd is -1 when fd is not open. */
void cxlmu_prim_fd_note(struct cxlmu_fd *o, int fd);
/* Does o->fd still name the file it was adopted for? A false answer
 * forgets it (o->fd becomes -1). */
bool cxlmu_prim_fd_still(struct cxlmu_fd *o);
/* The same check, forgetting nothing: for threads other than the owner. */
bool cxlmu_prim_fd_same(const struct cxlmu_fd *o);
/* Close o->fd if it is still ours; forget it either way. */
void cxlmu_prim_fd_close(struct cxlmu_fd *o);
/* A wake-up pipe, both ends adopted (high, close-on-exec): rd blocking,
 * for the waiter's io_uring read; wr non-blocking, for wakers. A pipe and
 * not an eventfd: eventfds share one anonymous inode, so their identity
 * could not be checked; pipes have one each. 0 or -errno. */
int cxlmu_prim_wake_pipe(struct cxlmu_fd *rd, struct cxlmu_fd *wr);
/* One byte into it, if wr->fd still names it (a full pipe is woken
 * already). */
int cxlmu_prim_wake_pipe_signal(const struct cxlmu_fd *wr);
/* Wait up to ms milliseconds for fd to take a write (POLLOUT): 1 ready,
 * 0 timed out, -errno. */
int cxlmu_prim_wait_writable(int fd, int ms);
/* Sleep for ns nanoseconds, or until the CLOCK_MONOTONIC deadline, with
 * no hook of the program's in the way (clock_nanosleep, as libc sleeps).
 * sleep_until: 0, or -EINTR when a signal handler ran. */
void cxlmu_prim_sleep_ns(uint64_t ns);
int cxlmu_prim_sleep_until(uint64_t deadline);
/* The CPU the calling kernel thread runs on (the vDSO's getcpu, not
 * sched_getcpu: libcxlmu.so exports that one, and glibc's reads the rseq
 * area of the thread control block, which in a fiber is its parked
 * thread's); -1 when it cannot tell. */
int cxlmu_prim_getcpu(void);

/* CLOCK_MONOTONIC in ns (vDSO; never fails). */
uint64_t cxlmu_prim_now(void);
/* len random bytes from the kernel (getrandom, never blocking); 0 or -errno. */
int cxlmu_prim_random(void *buf, size_t len);

/* One turn of a wait for another thread's store: a pause, and after
 * CXLMU_SPINS of them a sched_yield, so a waiter whose holder lost its
 * CPU to the rest of the machine gives its own up instead of spinning
 * through the holder's time slice. *spins starts at 0. */
#define CXLMU_SPINS 1024
static inline void cxlmu_prim_relax(unsigned *spins)
{
	if (*spins < CXLMU_SPINS) {
		++*spins;
		__builtin_ia32_pause();
	} else {
		cxlmu_prim_sched_yield();
	}
}

/* A test-and-test-and-set lock for a few instructions' worth of work. */
static inline void cxlmu_prim_spin_lock(_Atomic int *l)
{
	unsigned spins = 0;

	while (atomic_exchange_explicit(l, 1, memory_order_acquire))
		while (atomic_load_explicit(l, memory_order_relaxed))
			cxlmu_prim_relax(&spins);
}

static inline void cxlmu_prim_spin_unlock(_Atomic int *l)
{
	atomic_store_explicit(l, 0, memory_order_release);
}

/* Run fn once for the whole process, whoever calls first; the others wait
 * for it. Not pthread_once: libcxlmu.so exports that one (a fiber's once),
 * and the runtime's own must not switch. *state starts at 0. */
static inline void cxlmu_prim_once(_Atomic int *state, void (*fn)(void))
{
	unsigned spins = 0;
	int expect = 0;

	if (atomic_load_explicit(state, memory_order_acquire) == 2)
		return;
	if (atomic_compare_exchange_strong(state, &expect, 1)) {
		fn();
		atomic_store_explicit(state, 2, memory_order_release);
		return;
	}
	while (atomic_load_explicit(state, memory_order_acquire) != 2)
		cxlmu_prim_relax(&spins);
}

#endif
