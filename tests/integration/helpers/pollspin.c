/* An event loop that checks without waiting.
 *   pollspin MODE
 * The main thread hands a worker 200 rounds through a condition variable
 * and waits for each answer on a pipe by checking it with a zero timeout
 * until it is readable, as libuv's loop does with timeout 0. MODE is the
 * check: poll, ppoll, select, pselect, epoll_wait, epoll_pwait or
 * epoll_pwait2. Checks that every answer came in order and that each check
 * that found nothing returned 0 with errno untouched; prints
 * "pollspin: ok". With POLLSPIN_TIME set, also prints the mean time of a
 * round on stderr (a measurement, not a check).
 *   pollspin cancel
 * A thread checks a pipe nobody writes with zero-timeout polls until the
 * main thread cancels it (poll is a cancellation point): the join must
 * give PTHREAD_CANCELED. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <unistd.h>

#include "common.h"

#define ROUNDS 200

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static unsigned asked;   /* rounds handed out */
static int answer[2];    /* the worker's end, the main thread's */

static void *worker(void *arg)
{
	for (unsigned r = 1; r <= ROUNDS; r++) {
		unsigned char b = (unsigned char)r;

		pthread_mutex_lock(&lock);
		while (asked < r)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
		if (write(answer[1], &b, 1) != 1)
			return "write";
	}
	return NULL;
}

static _Atomic unsigned long spins;

static void *spinner(void *arg)
{
	struct pollfd pfd = { .fd = answer[0], .events = POLLIN };

	for (;;) {
		poll(&pfd, 1, 0);
		spins++;
	}
	return NULL;
}

static int cancel_mode(void)
{
	pthread_t t = t_start(spinner, NULL);
	void *r = NULL;

	while (spins < 1000)
		usleep(1000);
	T_CHECK(!pthread_cancel(t), "pthread_cancel failed");
	T_CHECK(!pthread_join(t, &r) && r == PTHREAD_CANCELED,
		"the spinning thread was not cancelled at its poll");
	return t_done("pollspin");
}

/* One check of the answer pipe with a zero timeout: > 0 when readable. */
static int check(const char *mode, int ep)
{
	struct timespec zero_ts = { 0, 0 };
	struct timeval zero_tv = { 0, 0 };
	struct pollfd pfd = { .fd = answer[0], .events = POLLIN };
	struct epoll_event ev;
	fd_set rd;

	FD_ZERO(&rd);
	FD_SET(answer[0], &rd);
	if (!strcmp(mode, "poll"))
		return poll(&pfd, 1, 0);
	if (!strcmp(mode, "ppoll"))
		return ppoll(&pfd, 1, &zero_ts, NULL);
	if (!strcmp(mode, "select"))
		return select(answer[0] + 1, &rd, NULL, NULL, &zero_tv);
	if (!strcmp(mode, "pselect"))
		return pselect(answer[0] + 1, &rd, NULL, NULL, &zero_ts, NULL);
	if (!strcmp(mode, "epoll_wait"))
		return epoll_wait(ep, &ev, 1, 0);
	if (!strcmp(mode, "epoll_pwait"))
		return epoll_pwait(ep, &ev, 1, 0, NULL);
	if (!strcmp(mode, "epoll_pwait2"))
		return epoll_pwait2(ep, &ev, 1, &zero_ts, NULL);
	fprintf(stderr, "pollspin: no mode '%s'\n", mode);
	exit(2);
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	long long start;
	pthread_t t;
	void *why;
	int ep;

	if (argc != 2) {
		fprintf(stderr, "usage: pollspin MODE\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pipe(answer) || (ep = epoll_create1(0)) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, answer[0], &ev)) {
		perror("pollspin: setting up");
		return 1;
	}
	if (!strcmp(argv[1], "cancel"))
		return cancel_mode();
	t = t_start(worker, NULL);
	start = t_now_ns();
	for (unsigned r = 1; r <= ROUNDS; r++) {
		unsigned char b;
		int n;

		pthread_mutex_lock(&lock);
		asked = r;
		pthread_cond_signal(&cond);
		pthread_mutex_unlock(&lock);
		for (;;) {
			errno = EDOM;
			n = check(argv[1], ep);
			if (n != 0)
				break;
			T_CHECK(errno == EDOM, "%s found nothing and set errno to %d", argv[1], errno);
		}
		if (n < 0) {
			fprintf(stderr, "pollspin: %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		T_CHECK(read(answer[0], &b, 1) == 1 && b == (unsigned char)r,
			"round %u: answer %u", r, b);
	}
	if (getenv("POLLSPIN_TIME"))
		fprintf(stderr, "pollspin: %s: %.1f us a round\n", argv[1],
			(double)(t_now_ns() - start) / ROUNDS / 1000);
	pthread_join(t, &why);
	T_CHECK(!why, "worker: %s failed", (const char *)why);
	return t_done("pollspin");
}
