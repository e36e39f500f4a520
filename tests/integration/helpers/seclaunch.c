/* Runs a program under a seccomp filter that kills the process on the
 * system calls a sandbox commonly forbids and the runtime would make, for
 * secure-seccomp.sh:
 *   seclaunch CMD [ARG...]
 * sets PR_SET_NO_NEW_PRIVS, installs the filter, then execvp's CMD (the
 * filter stays for CMD and whatever it executes). Killed on:
 * io_uring_setup, mbind, set_mempolicy, clone, clone3, and prlimit64 on
 * any resource but RLIMIT_STACK (glibc reads RLIMIT_STACK in every
 * process at start-up; every other prlimit64 kills). Everything else is
 * allowed. Exit status 77 (with a message) where seccomp filters are not
 * available or on other architectures; 127 when CMD cannot be run. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif

#define KILL_ON(nr)							\
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),		\
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS)

int main(int argc, char **argv)
{
#if defined(__x86_64__)
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		KILL_ON(__NR_io_uring_setup), KILL_ON(__NR_mbind),
		KILL_ON(__NR_set_mempolicy), KILL_ON(__NR_clone), KILL_ON(__NR_clone3),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prlimit64, 0, 4),
		/* prlimit64(pid, resource, ...): the low word of resource. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RLIMIT_STACK, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (argc < 2) {
		fprintf(stderr, "usage: seclaunch CMD [ARG...]\n");
		return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0)) {
		fprintf(stderr, "seclaunch: seccomp filters are not available (%s)\n", strerror(errno));
		return 77;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "seclaunch: cannot run %s: %s\n", argv[1], strerror(errno));
	return 127;
#else
	fprintf(stderr, "seclaunch: the filter is written for x86_64 only\n");
	return 77;
#endif
}
