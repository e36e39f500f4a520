// Every C++ operator new and delete under the preload: plain, array, sized,
// aligned, nothrow; the new_handler, std::bad_alloc, nothrow's nullptr; and
// (argv[1]) where each block sits.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>
#include <map>
#include <sys/wait.h>

extern "C" {
#include "common.h"
}

static enum t_expect want;
static volatile size_t huge = SIZE_MAX / 4;   // impossible, but no overflow in new[]

#define OK_NEW(p, what)							\
	do {								\
		T_CHECK((p) != nullptr, "%s returned nullptr", what);	\
		T_CHECK(errno == 12345, "%s changed errno to %d", what, errno); \
		t_expect_at(p, want, what);				\
	} while (0)

struct alignas(256) Wide {
	char c[300];
};

static int handler_calls;
static void *reserve;

// Frees the reserve and lets new try again; a second call gives up.
static void release_reserve()
{
	handler_calls++;
	if (reserve) {
		std::free(reserve);
		reserve = nullptr;
		return;
	}
	std::set_new_handler(nullptr);
}

static void throwing_handler()
{
	handler_calls++;
	throw std::bad_alloc();
}

static void check_forms()
{
	const std::align_val_t al64{64}, al4k{4096};
	void *p;

	errno = 12345;
	p = ::operator new(100);
	OK_NEW(p, "new");
	::operator delete(p);
	p = ::operator new[](100);
	OK_NEW(p, "new[]");
	::operator delete[](p);
	p = ::operator new(100);
	::operator delete(p, 100);                  // sized
	p = ::operator new[](1000);
	::operator delete[](p, 1000);
	p = ::operator new(100, std::nothrow);
	OK_NEW(p, "new nothrow");
	::operator delete(p, std::nothrow);
	p = ::operator new[](100, std::nothrow);
	OK_NEW(p, "new[] nothrow");
	::operator delete[](p, std::nothrow);
	p = ::operator new(0);
	OK_NEW(p, "new(0)");
	void *q = ::operator new(0);
	T_CHECK(p != q, "new(0) twice gave the same pointer %p", p);
	::operator delete(p);
	::operator delete(q);

	for (std::align_val_t a : { al64, al4k, std::align_val_t{1 << 16} }) {
		size_t av = static_cast<size_t>(a);
		p = ::operator new(10, a);
		OK_NEW(p, "new aligned");
		T_CHECK(((uintptr_t)p & (av - 1)) == 0, "new(align %zu) gave %p", av, p);
		::operator delete(p, a);
		p = ::operator new[](10, a);
		OK_NEW(p, "new[] aligned");
		T_CHECK(((uintptr_t)p & (av - 1)) == 0, "new[](align %zu) gave %p", av, p);
		::operator delete[](p, a);
		p = ::operator new(10, a);
		::operator delete(p, 10, a);
		p = ::operator new[](10, a);
		::operator delete[](p, 10, a);
		p = ::operator new(10, a, std::nothrow);
		OK_NEW(p, "new aligned nothrow");
		T_CHECK(((uintptr_t)p & (av - 1)) == 0, "new(align %zu, nothrow) gave %p", av, p);
		::operator delete(p, a, std::nothrow);
		p = ::operator new[](10, a, std::nothrow);
		OK_NEW(p, "new[] aligned nothrow");
		::operator delete[](p, a, std::nothrow);
	}

	// What the compiler emits for expressions.
	Wide *w = new Wide;
	OK_NEW(w, "new Wide");
	T_CHECK(((uintptr_t)w & 255) == 0, "new of alignas(256) type gave %p", (void *)w);
	delete w;
	Wide *wa = new Wide[5];
	T_CHECK(((uintptr_t)wa & 255) == 0, "new[] of alignas(256) type gave %p", (void *)wa);
	delete[] wa;
	std::vector<std::string> v;
	std::map<int, std::unique_ptr<int[]>> m;
	for (int i = 0; i < 2000; i++) {
		v.push_back(std::string(i % 100 + 20, 'x'));
		m[i] = std::make_unique<int[]>(i % 50 + 1);
	}
	OK_NEW(v.data(), "vector storage");
	T_CHECK(v[1999].size() == 1999 % 100 + 20, "vector content");
}

static void check_failure()
{
	void *p;

	// No handler: std::bad_alloc, and nothrow forms give nullptr.
	std::set_new_handler(nullptr);
	bool thrown = false;
	try {
		p = ::operator new(huge);
		::operator delete(p);
	} catch (const std::bad_alloc &) {
		thrown = true;
	}
	T_CHECK(thrown, "operator new(huge) did not throw std::bad_alloc");
	thrown = false;
	try {
		p = ::operator new[](huge, std::align_val_t{64});
		::operator delete[](p, std::align_val_t{64});
	} catch (const std::bad_alloc &) {
		thrown = true;
	}
	T_CHECK(thrown, "operator new[](huge, align) did not throw std::bad_alloc");
	p = ::operator new(huge, std::nothrow);
	T_CHECK(p == nullptr, "new(huge, nothrow) gave %p", p);
	p = ::operator new[](huge, std::align_val_t{4096}, std::nothrow);
	T_CHECK(p == nullptr, "new[](huge, align, nothrow) gave %p", p);

	// A handler is called on failure, then new retries: it clears itself on
	// its second call, so new ends in std::bad_alloc after two calls.
	reserve = std::malloc(1000);
	handler_calls = 0;
	std::set_new_handler(release_reserve);
	thrown = false;
	try {
		p = ::operator new(huge);
		::operator delete(p);
	} catch (const std::bad_alloc &) {
		thrown = true;
	}
	T_CHECK(thrown && handler_calls == 2, "new with handler: thrown %d, handler called %d times (want 2)",
		thrown, handler_calls);

	// nothrow with a handler that throws: the standard says nothrow new
	// catches it and returns nullptr ([new.delete.single]). In a child: an
	// exception escaping a noexcept function ends in std::terminate.
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		handler_calls = 0;
		std::set_new_handler(throwing_handler);
		p = ::operator new(huge, std::nothrow);
		_exit(p == nullptr && handler_calls == 1 ? 0 : 3);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"new(huge, nothrow) with a throwing new_handler: %s %d (want nullptr after one "
		"handler call, no exception)", WIFSIGNALED(st) ? "child killed by signal" :
		"child exit status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	std::set_new_handler(nullptr);
}

int main(int argc, char **argv)
{
	t_require_preload();
	want = t_parse_expect(argc > 1 ? argv[1] : "any");
	check_forms();
	check_failure();
	return t_done("cxxnew");
}
