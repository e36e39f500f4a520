/* A program that sandboxes itself with seccomp, as browsers and daemons
 * do, for secure-seccomp.sh.
 *   sandboxed [filter]   set PR_SET_NO_NEW_PRIVS and install (libc's
 *                        prctl, PR_SET_SECCOMP) an allowlist filter: any
 *                        other system call kills the process (SIGSYS)
 *   sandboxed open       no filter of its own (run under seclaunch)
 *   sandboxed late       a thread polls with usleep(1) (so the runtime
 *                        gives it a wait ring), installs the filter on
 *                        itself, polls on under it, then exits
 *   sandboxed tsync      the same with seccomp(2) through syscall() and
 *                        SECCOMP_FILTER_FLAG_TSYNC: the polling thread is
 *                        under the filter in the middle of its polls
 *   sandboxed probe      what systemd and libseccomp do to see whether
 *                        filters are available: prctl and seccomp with a
 *                        NULL program (EFAULT); no filter goes in
 * Then: small blocks, 1 MiB and 64 MiB blocks written and freed, a block
 * grown with realloc, 2000 usleep(1) polls; prints one summary line on
 * stdout and exits 0. Before the filter it says on stderr
 * "sandboxed: runtime present" when libcxlmu is preloaded.
 *
 * The allowlist is what the work above needs from glibc (x86_64): brk,
 * mmap, munmap, mremap, mprotect, madvise, futex, read, write, close,
 * exit, exit_group, clock_gettime, clock_nanosleep, nanosleep, getpid,
 * gettid, getrandom, fstat, newfstatat, rt_sigaction, rt_sigprocmask,
 * rt_sigreturn. Nothing had to be added for plain glibc 2.36: printf's
 * first use is newfstatat(1, "", AT_EMPTY_PATH), usleep is
 * clock_nanosleep, large blocks are mmap/munmap/mremap. Exit status 77
 * (with a message) on other architectures. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "common.h"

#define MiB (1ul << 20)

#if defined(__x86_64__)
#define ALLOW(name)							\
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 1),		\
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static int sandbox(unsigned flags)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		ALLOW(brk), ALLOW(mmap), ALLOW(munmap), ALLOW(mremap), ALLOW(mprotect),
		ALLOW(madvise), ALLOW(futex), ALLOW(read), ALLOW(write), ALLOW(close),
		ALLOW(exit), ALLOW(exit_group), ALLOW(clock_gettime),
		ALLOW(clock_nanosleep), ALLOW(nanosleep), ALLOW(getpid), ALLOW(gettid),
		ALLOW(getrandom), ALLOW(fstat), ALLOW(newfstatat), ALLOW(rt_sigaction),
		ALLOW(rt_sigprocmask), ALLOW(rt_sigreturn),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		fprintf(stderr, "sandboxed: PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
		return -1;
	}
	if (flags ? syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) != 0 :
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
		fprintf(stderr, "sandboxed: seccomp filters are not available (%s)\n", strerror(errno));
		return -1;
	}
	return 0;
}
#else
static int sandbox(unsigned flags)
{
	fprintf(stderr, "sandboxed: the allowlist is written for x86_64 only\n");
	return -1;
}
#endif

static atomic_int phase;   /* 0: polling before, 1: filter in, 2: stop */
static _Atomic unsigned long worker_polls;
static int sandbox(unsigned flags);

/* Polls until told to stop, at least 200 times after the filter went in;
 * with arg, installs the filter on itself after 200 polls. */
static void *poller(void *arg)
{
	unsigned long after = 0;

	while (atomic_load(&phase) < 2 || after < 200) {
		if (arg && worker_polls == 200) {
			if (sandbox(0))
				exit(77);
			atomic_store(&phase, 1);
		}
		usleep(1);
		worker_polls++;
		if (atomic_load(&phase) >= 1)
			after++;
	}
	return arg;
}

/* A probe as systemd's and libseccomp's: both must fail with EFAULT. */
static int probe(void)
{
	int a = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL, 0, 0), ea = errno;
	long b = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, NULL);
	int eb = errno;

	if (a != -1 || ea != EFAULT || b != -1 || eb != EFAULT) {
		fprintf(stderr, "sandboxed: probe: prctl %d (%s), seccomp %ld (%s)\n",
			a, strerror(ea), b, strerror(eb));
		return -1;
	}
	return 0;
}

static void *touched(size_t n, int c)
{
	char *p = malloc(n);

	if (!p) {
		fprintf(stderr, "sandboxed: malloc(%zu) failed\n", n);
		exit(1);
	}
	memset(p, c, n);
	return p;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "filter";
	void *small[256], *mid, *big;
	char *grow = NULL;
	unsigned long sum = 0;
	unsigned blocks = 0;

	bool threaded = !strcmp(mode, "late") || !strcmp(mode, "tsync");
	pthread_t worker;

	if (strcmp(mode, "filter") && strcmp(mode, "open") && !threaded && strcmp(mode, "probe")) {
		fprintf(stderr, "usage: sandboxed [filter|open|late|tsync|probe]\n");
		return 2;
	}
	if (dlsym(RTLD_DEFAULT, "cxlmu_version"))
		fprintf(stderr, "sandboxed: runtime present\n");
	if (threaded) {
		bool self = !strcmp(mode, "late");

		if (pthread_create(&worker, NULL, poller, self ? &worker : NULL))
			return 1;
		/* Let it poll a while first: it holds a wait ring by then. */
		while (self ? atomic_load(&phase) < 1 : worker_polls < 200)
			usleep(1000);
	}
	if (!strcmp(mode, "probe") && probe())
		return 1;
	if ((!strcmp(mode, "filter") || !strcmp(mode, "tsync")) &&
	    sandbox(!strcmp(mode, "tsync") ? SECCOMP_FILTER_FLAG_TSYNC : 0))
		return 77;
	atomic_store(&phase, 1);

	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 256; i++, blocks++)
			small[i] = touched(16 + 8 * (size_t)i, i);
		for (int i = 0; i < 256; i++) {
			sum += ((unsigned char *)small[i])[0];
			free(small[i]);
		}
	}
	mid = touched(MiB, 2);
	big = touched(64 * MiB, 3);
	blocks += 2;
	sum += ((unsigned char *)mid)[MiB - 1] + ((unsigned char *)big)[64 * MiB - 1];
	free(mid);
	free(big);
	for (size_t n = 100; n <= 8 * MiB; n *= 4) {
		char *p = realloc(grow, n);
		if (!p) {
			fprintf(stderr, "sandboxed: realloc(%zu) failed\n", n);
			return 1;
		}
		grow = p;
		grow[n - 1] = 1;
		blocks++;
	}
	free(grow);
	for (int i = 0; i < 2000; i++)
		usleep(1);
	if (threaded) {
		atomic_store(&phase, 2);
		pthread_join(worker, NULL);   /* its exit tears down what it held */
	}
	printf("sandboxed: %u blocks, checksum %lu, 2000 polls\n", blocks, sum);
	return 0;
}
