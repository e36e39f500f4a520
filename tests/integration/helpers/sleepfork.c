/* fork while threads poll: pairs of threads hand tokens back and forth,
 * waiting with usleep(1) loops, while main (itself polling between forks)
 * forks many times. Each child runs its own polling pair, polls and
 * sleeps on its main thread (sleeps never shorter than asked) and exits
 * 0; the parent's pairs keep going across every fork and end with every
 * token handed once, in order. argv[1]: pre or plain. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"
#include "sleep.h"

#define NPAIRS  2
#define NFORKS  24
#define CHILD_N 300

static struct t_pair pairs[NPAIRS];
static atomic_bool stop;

static unsigned long tokens(void)
{
	unsigned long n = 0;

	for (int i = 0; i < NPAIRS; i++)
		n += atomic_load(&pairs[i].turn);
	return n;
}

/* In the child: 0 when all went as it should. */
static int child(void)
{
	struct t_pair p;
	long long t0, d;

	/* A hang fails by SIGALRM instead of stalling the suite. */
	alarm(30);
	/* Main polls at once, before any thread of its own exists. */
	for (int i = 0; i < 10; i++)
		usleep(1);
	if (t_pair_start(&p, CHILD_N, 2 * T_US, NULL, false))
		return 2;
	/* Main waits for its pair by polling too. */
	while (atomic_load(&p.turn) < CHILD_N)
		usleep(1);
	t_pair_finish(&p, "child pair");
	t0 = t_now();
	nanosleep(T_TS(2 * T_MS), NULL);
	d = t_now() - t0;
	T_CHECK(d >= 2 * T_MS, "child: nanosleep(2 ms) returned after %lld ns", d);
	t0 = t_now();
	usleep(3000);
	d = t_now() - t0;
	T_CHECK(d >= 3 * T_MS, "child: usleep(3000) returned after %lld ns", d);
	return t_failures ? 3 : 0;
}

int main(int argc, char **argv)
{
	int bad = 0, stalled = 0;

	t_require_mode(argc > 1 ? argv[1] : NULL);
	for (int i = 0; i < NPAIRS; i++)
		T_CHECK(!t_pair_start(&pairs[i], 0, 5 * T_US, &stop, false), "pthread_create");
	while (tokens() < 100 * NPAIRS)
		usleep(1);
	for (int f = 0; f < NFORKS; f++) {
		/* Main polls until the pairs move on, then forks at once. */
		unsigned long before = tokens() + 20;
		while (tokens() < before)
			usleep(1);
		before = tokens();
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			T_CHECK(0, "fork: %s", strerror(errno));
			break;
		}
		if (pid == 0) {
			int r = child();
			/* Half leave through exit, half through _exit. */
			if (f % 2)
				exit(r);
			_exit(r);
		}
		int st;
		if (waitpid(pid, &st, 0) != pid)
			st = -1;
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			if (bad++ < 5)
				T_CHECK(0, "child %d: %s %d", f, WIFSIGNALED(st) ? "killed by signal" : "exit status",
					WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			else
				t_failures++;
		}
		/* The parent's pollers go on after the fork (loose bound: 5 s). */
		long long give_up = t_now() + 5 * T_S;
		while (tokens() <= before && t_now() < give_up)
			usleep(1);
		if (tokens() <= before)
			stalled++;
	}
	T_CHECK(!stalled, "the parent's pairs stopped after %d of %d forks", stalled, NFORKS);
	atomic_store(&stop, true);
	for (int i = 0; i < NPAIRS; i++)
		t_pair_finish(&pairs[i], "parent pair");
	return t_done("sleepfork");
}
