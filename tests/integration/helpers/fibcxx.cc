// C++ threads that must give the same results as kernel threads or as
// fibers: std::thread, std::mutex, std::condition_variable (wait with a
// predicate, wait_for timing out, notify_all), std::call_once, a
// thread_local with a constructor and destructor per thread, and
// std::this_thread::sleep_for. Run as `fibcxx all`; prints "all: ok".
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

static int failures;
#define CHECK(c, what)                                                             \
	do {                                                                       \
		if (!(c)) {                                                        \
			std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what); \
			failures++;                                                \
		}                                                                  \
	} while (0)

static std::atomic<int> constructed, destructed;

struct PerThread {
	std::string name;
	PerThread() : name("thread") { constructed++; }
	~PerThread() { destructed++; }
};
static thread_local PerThread per_thread;

static std::mutex m;
static std::condition_variable cv;
static std::once_flag once;
static int turn, inits;
static long sum;

int main(int argc, char **argv)
{
	using namespace std::chrono_literals;
	const int n = 4, rounds = 300;
	std::vector<std::thread> ts;

	if (argc != 2 || std::strcmp(argv[1], "all")) {
		std::fprintf(stderr, "usage: fibcxx all\n");
		return 2;
	}
	// n threads take turns in order, rounds times each.
	for (int id = 0; id < n; id++) {
		ts.emplace_back([id] {
			per_thread.name += std::to_string(id);
			std::call_once(once, [] { inits++; });
			for (int r = 0; r < rounds; r++) {
				std::unique_lock<std::mutex> l(m);
				cv.wait(l, [id] { return turn % n == id; });
				sum += turn++;
				if (r % 50 == 0)
					std::this_thread::sleep_for(200us);
				cv.notify_all();
			}
			CHECK(per_thread.name == "thread" + std::to_string(id), "thread_local kept");
		});
	}
	for (auto &t : ts)
		t.join();
	long total = (long)n * rounds;
	CHECK(sum == total * (total - 1) / 2, "turns taken in order");
	CHECK(inits == 1, "call_once ran once");
	CHECK(constructed == n && destructed == n, "thread_local constructed and destroyed per thread");
	{
		std::unique_lock<std::mutex> l(m);
		auto t0 = std::chrono::steady_clock::now();
		bool met = cv.wait_for(l, 30ms, [] { return false; });
		auto waited = std::chrono::steady_clock::now() - t0;
		CHECK(!met && waited >= 30ms && waited < 2s, "wait_for times out at its deadline");
	}
	if (failures)
		return 1;
	std::printf("all: ok\n");
	return 0;
}
