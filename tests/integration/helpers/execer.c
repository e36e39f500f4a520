/* exec from a process whose threads are allocating: the new image runs
 * under the preload again (inherited LD_PRELOAD) and allocates where the
 * policy says. Also posix_spawn and system(). argv: EXPECT [child]. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "common.h"

extern char **environ;
static atomic_bool started;

static void *busy(void *arg)
{
	for (unsigned i = 0;; i++) {
		free(malloc(1 + i % 200000));
		atomic_store(&started, true);
	}
	return NULL;
}

static int as_child(enum t_expect want)
{
	void *small = malloc(100), *large = malloc(300000);

	t_require_preload();
	t_expect_at(small, want, "exec'd small block");
	t_expect_at(large, want, "exec'd large block");
	free(small);
	free(large);
	return t_failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	enum t_expect want = t_parse_expect(argc > 1 ? argv[1] : "any");
	char *cargs[] = { argv[0], argv[1], "child", NULL };
	pthread_t t;
	pid_t pid;
	int st;

	if (argc > 2 && !strcmp(argv[2], "child"))
		return as_child(want);
	if (argc > 2 && !strcmp(argv[2], "exec")) {
		/* Replace this process while another thread allocates. */
		pthread_create(&t, NULL, busy, NULL);
		while (!atomic_load(&started))
			sched_yield();
		execv("/proc/self/exe", cargs);
		fprintf(stderr, "FAIL: execv: %s\n", strerror(errno));
		return 1;
	}
	t_require_preload();
	pthread_create(&t, NULL, busy, NULL);
	while (!atomic_load(&started))
		sched_yield();
	/* fork + exec */
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execv("/proc/self/exe", cargs);
		_exit(126);
	}
	T_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"fork+exec child: status %#x", st);
	/* posix_spawn (vfork-like in glibc) */
	T_CHECK(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, cargs, environ) == 0, "posix_spawn");
	T_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"posix_spawn child: status %#x", st);
	/* exec from this very process, with the busy thread running */
	char *eargs[] = { argv[0], argv[1], "exec", NULL };
	pid = fork();
	if (pid == 0) {
		execv("/proc/self/exe", eargs);
		_exit(126);
	}
	T_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"exec while a thread allocates: status %#x", st);
	return t_done("execer");
}
