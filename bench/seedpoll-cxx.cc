// The founding experiment of bench/seedpoll.c in C++: std::thread,
// std::atomic rings, and polls that wait with
// std::this_thread::sleep_for(1 us) or std::this_thread::yield(). The same
// arrays and requests, so the same checksum for the same -n, -c and -m.
// Prints the checksum and us per request; exit 1 when the checksum differs
// from a one-thread recomputation, 2 on a bad option.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <getopt.h>
#include <thread>
#include <vector>

#define PROG "cxlmu-bench-seedpoll-cxx"

namespace {

bool use_yield;

// A macro, as in seedpoll.c: each polling loop gets call sites of its own.
#define WAIT() do {								\
	if (use_yield)								\
		std::this_thread::yield();					\
	else									\
		std::this_thread::sleep_for(std::chrono::microseconds(1));	\
} while (0)

struct msg {
	uint64_t x;
	uint32_t len;
};

// Single producer, single consumer; the same orderings as seedpoll.c.
struct ring {
	alignas(64) std::atomic<uint32_t> head{0};	// consumer's
	alignas(64) std::atomic<uint32_t> tail{0};	// producer's
	alignas(64) uint32_t mask = 0;
	std::vector<msg> slot;

	explicit ring(uint32_t window)
	{
		uint32_t cap = 1;

		while (cap < window)
			cap <<= 1;
		mask = cap - 1;
		slot.resize(cap);
	}

	bool push(const msg &m)
	{
		uint32_t t = tail.load(std::memory_order_relaxed);
		// Acquire: the consumer is done with the slot we reuse.
		if (t - head.load(std::memory_order_acquire) > mask)
			return false;
		slot[t & mask] = m;
		// Release: the slot is written before the tail moves.
		tail.store(t + 1, std::memory_order_release);
		return true;
	}

	bool pop(msg &m)
	{
		uint32_t h = head.load(std::memory_order_relaxed);
		if (h == tail.load(std::memory_order_acquire))
			return false;
		m = slot[h & mask];
		head.store(h + 1, std::memory_order_release);
		return true;
	}
};

uint64_t requests = 20000;
uint32_t window = 1, chunk = 64, elements = 1u << 20;
std::vector<uint32_t> a, b;

// The xorshift64 of seedpoll.c, same seed, same order.
void fill()
{
	uint64_t s = 0x9e3779b97f4a7c15ull;

	a.resize(elements);
	b.resize(elements);
	for (uint32_t i = 0; i < elements; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		a[i] = uint32_t(s % elements);
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		b[i] = uint32_t(s % elements);
	}
}

uint64_t kernel(uint64_t start, uint32_t len)
{
	uint64_t sum = 0, i = start;

	for (uint32_t j = 0; j < len; j++) {
		sum += a[b[a[i]]];
		if (++i == elements)
			i = 0;
	}
	return sum;
}

uint64_t start_of(uint64_t k)
{
	return k % elements * chunk % elements;
}

uint64_t number(const char *opt, const char *val, uint64_t lo, uint64_t hi)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(val, &end, 10);
	if (errno || end == val || *end || *val == '-' || v < lo || v > hi) {
		fprintf(stderr, PROG ": %s='%s' is not a number from %" PRIu64 " to %" PRIu64 "\n",
			opt, val, lo, hi);
		exit(2);
	}
	return v;
}

void usage()
{
	printf(
		"Usage: " PROG " [OPTIONS]\n"
		"bench/seedpoll.c's experiment with std::thread and std::this_thread.\n"
		"  -n, --requests=N   requests (default 20000)\n"
		"  -w, --window=N     requests in flight, 1-65536 (default 1)\n"
		"  -c, --chunk=N      elements per request, 1-16777216 (default 64)\n"
		"  -m, --elements=N   elements of a and of b, 1-268435456 (default 1048576)\n"
		"      --wait=CALL    sleep_for (sleep_for(1us), default) or yield\n"
		"  -q, --quiet        print numbers only: CHECKSUM US_PER_REQUEST\n"
		"  -h, --help         this text\n");
}

} // namespace

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "requests", required_argument, nullptr, 'n' },
		{ "window", required_argument, nullptr, 'w' },
		{ "chunk", required_argument, nullptr, 'c' },
		{ "elements", required_argument, nullptr, 'm' },
		{ "wait", required_argument, nullptr, 'W' },
		{ "quiet", no_argument, nullptr, 'q' },
		{ "help", no_argument, nullptr, 'h' },
		{ nullptr, 0, nullptr, 0 }
	};
	bool quiet = false;
	int c;

	while ((c = getopt_long(argc, argv, "n:w:c:m:qh", longopts, nullptr)) != -1) {
		switch (c) {
		case 'n': requests = number("--requests", optarg, 1, UINT64_MAX / 2); break;
		case 'w': window = uint32_t(number("--window", optarg, 1, 65536)); break;
		case 'c': chunk = uint32_t(number("--chunk", optarg, 1, 1u << 24)); break;
		case 'm': elements = uint32_t(number("--elements", optarg, 1, 1u << 28)); break;
		case 'W':
			if (!strcmp(optarg, "yield")) {
				use_yield = true;
			} else if (!strcmp(optarg, "sleep_for")) {
				use_yield = false;
			} else {
				fprintf(stderr, PROG ": --wait='%s' is not a wait call (sleep_for, yield)\n", optarg);
				return 2;
			}
			break;
		case 'q': quiet = true; break;
		case 'h': usage(); return 0;
		default: fprintf(stderr, "Try '" PROG " --help'.\n"); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'; try --help\n", argv[optind]);
		return 2;
	}

	fill();
	ring req(window), resp(window);
	std::thread remote([&] {
		msg m;

		for (;;) {
			while (!req.pop(m))
				WAIT();
			if (!m.len)
				return;
			m.x = kernel(m.x, m.len);
			while (!resp.push(m))
				WAIT();
		}
	});

	uint64_t sent = 0, done = 0, sum = 0, check = 0;
	msg m;
	auto t0 = std::chrono::steady_clock::now();
	while (done < requests) {
		while (sent < requests && sent - done < window) {
			m = msg{ start_of(sent), chunk };
			while (!req.push(m))
				WAIT();
			sent++;
		}
		while (!resp.pop(m))
			WAIT();
		sum += m.x;
		done++;
	}
	std::chrono::duration<double, std::micro> dt = std::chrono::steady_clock::now() - t0;
	m = msg{ 0, 0 };
	while (!req.push(m))
		WAIT();
	remote.join();

	for (uint64_t k = 0; k < requests; k++)
		check += kernel(start_of(k), chunk);
	if (sum != check) {
		fprintf(stderr, PROG ": checksum %" PRIu64 " from the remote thread, %" PRIu64 " on one thread\n",
			sum, check);
		return 1;
	}
	double us = dt.count() / double(requests);
	if (quiet)
		printf("%" PRIu64 " %.3f\n", sum, us);
	else
		printf("%s requests %" PRIu64 " window %u chunk %u elements %u: checksum %" PRIu64 ", %.3f us/request\n",
		       use_yield ? "yield" : "sleep_for", requests, window, chunk, elements, sum, us);
	return 0;
}
