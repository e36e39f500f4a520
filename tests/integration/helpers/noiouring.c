/* Runs a program where io_uring_setup is denied, as container runtimes do.
 *   noiouring eperm|enosys CMD [ARG...]
 *       io_uring_setup fails with EPERM or ENOSYS (seccomp filter), then
 *       CMD is executed with that filter in place
 *   noiouring kill CMD [ARG...]
 *       the process is killed (SIGSYS) if it calls io_uring_setup at all
 *   noiouring probe
 *       prints "io_uring=usable" when io_uring_setup works here, else
 *       "io_uring=unusable"
 *   noiouring futex
 *       prints "ring_futex=yes" when the kernel's io_uring has futex waits
 *       (IORING_OP_FUTEX_WAIT, Linux 6.7), else "ring_futex=no" (asked
 *       with IORING_REGISTER_PROBE, as liburing's io_uring_get_probe does;
 *       the scripts' own answer, not the runtime's)
 *   noiouring waitv
 *       prints "futex_waitv=yes" when the kernel has futex_waitv(2)
 *       (Linux 5.16: the call with no entries fails with EINVAL, not
 *       ENOSYS), else "futex_waitv=no"
 * Exit status 77 (with a message) where seccomp filters are not available.
 * This helper never runs under the preload itself; CMD may (env
 * LD_PRELOAD=... prog). */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "common.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif
/* Not in the uapi header of Linux 6.1 (Debian 12). */
#define OP_FUTEX_WAIT 51

static long try_setup(void)
{
	struct io_uring_params p;
	long fd;

	memset(&p, 0, sizeof(p));
	fd = syscall(__NR_io_uring_setup, 1, &p);
	if (fd >= 0)
		close((int)fd);
	return fd < 0 ? -errno : 0;
}

/* Whether io_uring offers opcode op here: 1 yes, 0 no (or no io_uring). */
static int op_supported(unsigned op)
{
	union {
		struct io_uring_probe p;
		char buf[sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op)];
	} u;
	struct io_uring_params params;
	long fd, r;

	memset(&params, 0, sizeof(params));
	fd = syscall(__NR_io_uring_setup, 1, &params);
	if (fd < 0)
		return 0;
	memset(&u, 0, sizeof(u));
	r = syscall(__NR_io_uring_register, (int)fd, IORING_REGISTER_PROBE, &u.p, 256);
	close((int)fd);
	return !r && op <= u.p.last_op && (u.p.ops[op].flags & IO_URING_OP_SUPPORTED);
}

static int install(unsigned int action)
{
#ifdef NATIVE_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
#ifdef __x86_64__
		/* The x32 entry of the same call. */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x40000000 | __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
#endif
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { (unsigned short)(sizeof(f) / sizeof(f[0])), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return -errno;
	return 0;
#else
	return -ENOSYS;
#endif
}

int main(int argc, char **argv)
{
	unsigned int action;
	long want;

	if (argc == 2 && !strcmp(argv[1], "probe")) {
		printf("io_uring=%s\n", try_setup() ? "unusable" : "usable");
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "futex")) {
		printf("ring_futex=%s\n", op_supported(OP_FUTEX_WAIT) ? "yes" : "no");
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "waitv")) {
		long r = syscall(449 /* futex_waitv */, NULL, 0, 0, NULL, 1 /* CLOCK_MONOTONIC */);
		printf("futex_waitv=%s\n", r == -1 && errno == EINVAL ? "yes" : "no");
		return 0;
	}
	if (argc < 3)
		goto usage;
	if (!strcmp(argv[1], "eperm")) {
		action = SECCOMP_RET_ERRNO | EPERM;
		want = -EPERM;
	} else if (!strcmp(argv[1], "enosys")) {
		action = SECCOMP_RET_ERRNO | ENOSYS;
		want = -ENOSYS;
	} else if (!strcmp(argv[1], "kill")) {
		action = SECCOMP_RET_KILL_PROCESS;
		want = 0;
	} else {
		goto usage;
	}
	int rc = install(action);
	if (rc) {
		fprintf(stderr, "SKIP: cannot install a seccomp filter here: %s\n", strerror(-rc));
		return 77;
	}
	if (want) {
		long got = try_setup();
		if (got != want) {
			fprintf(stderr, "FAIL: io_uring_setup under the filter gave %ld, want %ld\n", got, want);
			return 1;
		}
	} else {
		/* The filter kills: see it do so in a child. */
		int st;
		pid_t pid = fork();
		if (pid == 0) {
			try_setup();
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS) {
			fprintf(stderr, "FAIL: io_uring_setup under the killing filter did not die of SIGSYS\n");
			return 1;
		}
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "FAIL: exec %s: %s\n", argv[2], strerror(errno));
	return 127;
usage:
	fprintf(stderr, "usage: noiouring eperm|enosys|kill CMD [ARG...] | probe | futex | waitv\n");
	return 2;
}
