/* A program that sandboxes itself with seccomp, as browsers and daemons
 * do, for secure-seccomp.sh.
 *   sandboxed [filter]   set PR_SET_NO_NEW_PRIVS and install (libc's
 *                        prctl, PR_SET_SECCOMP) an allowlist filter: any
 *                        other system call kills the process (SIGSYS)
 *   sandboxed open       no filter of its own (run under seclaunch)
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
#include <sys/prctl.h>

#include "common.h"

#define MiB (1ul << 20)

#if defined(__x86_64__)
#define ALLOW(name)							\
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 1),		\
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static int sandbox(void)
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
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0)) {
		fprintf(stderr, "sandboxed: seccomp filters are not available (%s)\n", strerror(errno));
		return -1;
	}
	return 0;
}
#else
static int sandbox(void)
{
	fprintf(stderr, "sandboxed: the allowlist is written for x86_64 only\n");
	return -1;
}
#endif

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

	if (strcmp(mode, "filter") && strcmp(mode, "open")) {
		fprintf(stderr, "usage: sandboxed [filter|open]\n");
		return 2;
	}
	if (dlsym(RTLD_DEFAULT, "cxlmu_version"))
		fprintf(stderr, "sandboxed: runtime present\n");
	if (!strcmp(mode, "filter") && sandbox())
		return 77;

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
	printf("sandboxed: %u blocks, checksum %lu, 2000 polls\n", blocks, sum);
	return 0;
}
