/* A process-directed SIGTERM while the main thread waits, one other thread
 * alive (it sleeps, and writes to the pipe late): what the program sees.
 * Run as `sigterm` (every case). For each blocking call of the main thread
 * (nanosleep, clock_nanosleep, usleep, read of an empty pipe,
 * pthread_cond_timedwait, pause), with and without SA_RESTART, and with
 * the main thread not blocking or blocking SIGTERM, kill(getpid(),
 * SIGTERM) comes 200 ms into a 1000 ms wait; one line per case:
 *   CALL restart=0|1 blocked=0|1 handler=main|other|none result=R
 *        errno=E rem=0|part|all took=early|full sent=early|late
 * (rem: what nanosleep and clock_nanosleep left; took: back before or
 * after 700 ms; sent: the kill went before or after 700 ms, which a child
 * slowed by the runtime would show). The lines are the same plain and
 * under the preload when the runtime delivers the signal as the kernel
 * does. pause with SIGTERM blocked would never return: left out. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define ASKED_MS 1000
#define SIGNAL_MS 200

static pthread_t main_thread;
static _Atomic int handled_in;          /* 0 none, 1 main, 2 other */
static _Atomic int stop;
static int pipe_fd[2];
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;

static void on_term(int sig)
{
	(void)sig;
	atomic_store(&handled_in, pthread_equal(pthread_self(), main_thread) ? 1 : 2);
}

/* The other thread: sleeps in long sleeps, and feeds the pipe once the
 * main thread has waited its full time (so a restarted read returns). */
static _Atomic long long feed_at;

static void *other(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		long long at = atomic_load(&feed_at);
		struct timespec ts = { 0, 20 * 1000000 };

		if (at && t_now_ns() >= at) {
			atomic_store(&feed_at, 0);
			T_CHECK(write(pipe_fd[1], "x", 1) == 1, "write");
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* The signal: from a child process, as a supervisor's kill would come;
 * when it went, in a page the child shares (CLOCK_MONOTONIC, ns). */
static _Atomic long long *sent_at;

static pid_t killer(void)
{
	pid_t parent = getpid(), k;

	atomic_store(sent_at, 0);
	k = fork();
	if (k == 0) {
		struct timespec ts = { 0, SIGNAL_MS * 1000000L };
		nanosleep(&ts, NULL);
		atomic_store(sent_at, t_now_ns());
		kill(parent, SIGTERM);
		_exit(0);
	}
	return k;
}

/* Waits of its own that are no polls (a run of sleeps of 1 ms or less
 * would be one: the program would become fibers under auto). */
static void pause_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

enum call { NANOSLEEP, CLOCK_NANOSLEEP, USLEEP, READ, COND, PAUSE, CALLS };
static const char *const names[] = { "nanosleep", "clock_nanosleep", "usleep", "read",
				     "cond_timedwait", "pause" };

static void one(enum call call, int restart, int blocked)
{
	struct sigaction sa;
	struct timespec req = { ASKED_MS / 1000, ASKED_MS % 1000 * 1000000L }, rem = { 0, 0 }, abs;
	sigset_t term;
	long long t0, took;
	long result = 0;
	int err = 0;
	pid_t k;
	char buf[1];
	const char *rems = "0";

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &term, NULL);
	atomic_store(&handled_in, 0);
	t0 = t_now_ns();
	k = killer();
	errno = 0;
	switch (call) {
	case NANOSLEEP:
		result = nanosleep(&req, &rem);
		err = errno;
		break;
	case CLOCK_NANOSLEEP:
		result = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
		break;
	case USLEEP:
		result = usleep(ASKED_MS * 1000);
		err = errno;
		break;
	case READ:
		atomic_store(&feed_at, t0 + ASKED_MS * 1000000LL);
		result = read(pipe_fd[0], buf, 1);
		err = errno;
		break;
	case COND:
		clock_gettime(CLOCK_REALTIME, &abs);
		abs.tv_nsec += ASKED_MS * 1000000L;
		abs.tv_sec += abs.tv_nsec / 1000000000L;
		abs.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&m);
		result = pthread_cond_timedwait(&c, &m, &abs);
		pthread_mutex_unlock(&m);
		break;
	case PAUSE:
		result = pause();
		err = errno;
		break;
	default:
		break;
	}
	took = t_now_ns() - t0;
	waitpid(k, NULL, 0);
	if (call == NANOSLEEP || call == CLOCK_NANOSLEEP) {
		long long r = rem.tv_sec * 1000000000LL + rem.tv_nsec;
		rems = r <= 0 ? "0" : r >= ASKED_MS * 1000000LL ? "all" : "part";
	}
	/* A restarted read got the byte at the full time; an interrupted one
	 * leaves the byte for later: take it, so the next case starts empty. */
	if (call == READ && result != 1) {
		while (atomic_load(&feed_at))
			pause_ms(10);
		T_CHECK(read(pipe_fd[0], buf, 1) == 1, "read the fed byte");
	}
	if (blocked) {
		/* Its handler runs in the other thread; wait for it there. */
		for (int i = 0; i < 100 && !atomic_load(&handled_in); i++)
			pause_ms(10);
		pthread_sigmask(SIG_UNBLOCK, &term, NULL);
	}
	printf("%s restart=%d blocked=%d handler=%s result=%ld errno=%d rem=%s took=%s sent=%s\n",
	       names[call], restart, blocked,
	       (const char *[]){ "none", "main", "other" }[atomic_load(&handled_in)],
	       result, err, rems, took < 700 * 1000000LL ? "early" : "full",
	       atomic_load(sent_at) - t0 < 700 * 1000000LL ? "early" : "late");
}

int main(void)
{
	pthread_t t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	main_thread = pthread_self();
	sent_at = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	T_CHECK(sent_at != MAP_FAILED, "mmap a shared page");
	T_CHECK(!pipe(pipe_fd), "pipe");
	t = t_start(other, NULL);
	/* Whatever a first sleep sets up (the preload's waiting state) is
	 * done before the first case's signal is on its way. */
	pause_ms(10);
	for (int call = 0; call < CALLS; call++)
		for (int restart = 0; restart < 2; restart++)
			for (int blocked = 0; blocked < 2; blocked++)
				if (!(call == PAUSE && blocked))
					one((enum call)call, restart, blocked);
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	return t_done("sigterm");
}
