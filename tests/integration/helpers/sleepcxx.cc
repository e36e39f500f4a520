// std::this_thread's sleeps under the runtime.
//   sleepcxx pre|plain short
//       sleep_for and sleep_until never return before the time asked: of
//       sizes ten times apart (sleep_for<long, micro> may be one out-of-line
//       function, so one call site for all), the 1st and 2nd call of a
//       repeated site, and a
//       200 ms sleep_for that a SIGALRM handler interrupts (sleep_for goes
//       on with what nanosleep says is left); yield works; a background
//       thread works, yields and polls all along.
//   sleepcxx pre|plain pair N WORK_US
//       two threads hand a token back and forth N times, each waiting with
//       `while (!my_turn) std::this_thread::sleep_for(1us);` and doing
//       WORK_US µs of CPU work per token; prints "iterations=I", the
//       sleep_for calls both made.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <dlfcn.h>
#include <sys/time.h>
#include <time.h>

#include "common.h"

using namespace std::chrono;
using namespace std::chrono_literals;

namespace {

std::atomic<bool> bg_stop{false};
std::atomic<unsigned long> bg_rounds{0};

void spin_cpu(nanoseconds ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	long long end = ts.tv_sec * 1000000000LL + ts.tv_nsec + ns.count();
	volatile unsigned long x = 1;
	do {
		for (int i = 0; i < 200; i++)
			x = x * 6364136223846793005ul + 1442695040888963407ul;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	} while (ts.tv_sec * 1000000000LL + ts.tv_nsec < end);
}

void progress()
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, nullptr);
	while (!bg_stop) {
		spin_cpu(20us);
		std::this_thread::yield();
		spin_cpu(20us);
		for (int i = 0; i < 4; i++)
			std::this_thread::sleep_for(1us);
		bg_rounds++;
	}
}

// One sleep_for at its own call site: at least d later.
#define SLEEP_FOR(d)								\
	do {									\
		auto t0_ = steady_clock::now();					\
		std::this_thread::sleep_for(d);					\
		auto got_ = steady_clock::now() - t0_;				\
		T_CHECK(got_ >= (d), "sleep_for(%lld ns) returned after %lld ns", \
			(long long)duration_cast<nanoseconds>(d).count(),	\
			(long long)duration_cast<nanoseconds>(got_).count());	\
	} while (0)

#define SLEEP_UNTIL(d)								\
	do {									\
		auto target_ = steady_clock::now() + (d);			\
		std::this_thread::sleep_until(target_);				\
		auto now_ = steady_clock::now();				\
		T_CHECK(now_ >= target_, "sleep_until(now + %lld ns) returned %lld ns early", \
			(long long)duration_cast<nanoseconds>(d).count(),	\
			(long long)duration_cast<nanoseconds>(target_ - now_).count()); \
	} while (0)

std::atomic<int> alarms{0};

void on_alarm(int)
{
	alarms++;
}

void mode_short()
{
	std::thread bg(progress);
	while (bg_rounds < 3)
		std::this_thread::yield();

	SLEEP_FOR(1us);
	SLEEP_FOR(10us);
	SLEEP_FOR(100us);
	SLEEP_FOR(1ms);
	SLEEP_FOR(3ms);
	SLEEP_FOR(20ms);
	for (int i = 0; i < 2; i++)
		SLEEP_FOR(1us);
	for (int i = 0; i < 2; i++)
		SLEEP_FOR(500us);
	for (int i = 0; i < 2; i++)
		SLEEP_FOR(1ms);
	for (int i = 0; i < 6; i++)
		SLEEP_FOR(1500us);
	SLEEP_UNTIL(1us);
	SLEEP_UNTIL(100us);
	SLEEP_UNTIL(2ms);
	for (int i = 0; i < 2; i++)
		SLEEP_UNTIL(300us);
	for (int i = 0; i < 5; i++)
		std::this_thread::yield();

	// Interrupted by a handler: sleep_for carries on with the rest.
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, nullptr);
	struct itimerval it = { { 0, 0 }, { 0, 20000 } };
	setitimer(ITIMER_REAL, &it, nullptr);
	SLEEP_FOR(200ms);
	T_CHECK(alarms == 1, "the handler ran %d times during sleep_for(200ms), want 1", alarms.load());

	bg_stop = true;
	bg.join();
}

struct pair {
	std::atomic<unsigned long> turn{0};
	std::atomic<unsigned long> iters{0};
	unsigned long n;
	microseconds work;
	unsigned long handled[2] = { 0, 0 };
	unsigned long bad[2] = { 0, 0 };
};

void side(pair *p, unsigned me)
{
	unsigned long t, expect = me;

	for (;;) {
		while (((t = p->turn.load()) & 1) != me && t < p->n) {
			std::this_thread::sleep_for(1us);
			p->iters.fetch_add(1, std::memory_order_relaxed);
		}
		if (t >= p->n)
			break;
		if (t != expect)
			p->bad[me]++;
		expect = t + 2;
		spin_cpu(p->work);
		p->handled[me]++;
		p->turn.store(t + 1);
	}
}

int mode_pair(unsigned long n, long work_us)
{
	pair p;
	p.n = n;
	p.work = microseconds(work_us);
	std::thread a(side, &p, 0u), b(side, &p, 1u);
	a.join();
	b.join();
	unsigned long turn = p.turn.load();
	T_CHECK(turn == n, "%lu tokens handed, want %lu", turn, n);
	T_CHECK(p.handled[0] == (n + 1) / 2 && p.handled[1] == n / 2, "sides took %lu and %lu tokens of %lu",
		p.handled[0], p.handled[1], n);
	T_CHECK(!p.bad[0] && !p.bad[1], "tokens out of sequence: %lu, %lu", p.bad[0], p.bad[1]);
	printf("iterations=%lu\n", p.iters.load());
	return t_done("sleepcxx");
}

} // namespace

int main(int argc, char **argv)
{
	if (argc >= 3) {
		if (!strcmp(argv[1], "pre")) {
			t_require_preload();
		} else if (!strcmp(argv[1], "plain")) {
			if (dlsym(RTLD_DEFAULT, "cxlmu_version")) {
				fprintf(stderr, "FAIL: libcxlmu.so is preloaded in a plain run\n");
				return 1;
			}
		} else {
			argc = 0;
		}
	}
	if (argc == 3 && !strcmp(argv[2], "short")) {
		mode_short();
		return t_done("sleepcxx");
	}
	if (argc == 5 && !strcmp(argv[2], "pair") && strtoul(argv[3], nullptr, 10) >= 4)
		return mode_pair(strtoul(argv[3], nullptr, 10), atol(argv[4]));
	fprintf(stderr, "usage: sleepcxx pre|plain short | pair N WORK_US\n");
	return 2;
}
