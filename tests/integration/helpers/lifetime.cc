// Allocation at every stage of a process's life under the preload: in
// .preinit_array (before any constructor, the runtime's own included), in
// constructors and static initialisers, in atexit handlers, in pthread key
// and C++ thread_local destructors at thread exit, and in destructors after
// main. The last destructor prints "lifetime: ok" when every stage worked.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <pthread.h>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "common.h"
}

enum { PREINIT = 1, CTOR = 2, STATIC_INIT = 4, THREAD_KEY = 8, THREAD_LOCAL = 16,
       ATEXIT = 32, STATIC_FINI = 64, ALL = 127 };
static unsigned stages;
static char *preinit_block;

static bool fill_and_check(char *p, size_t n, char c)
{
	if (!p)
		return false;
	memset(p, c, n);
	for (size_t i = 0; i < n; i += 61)
		if (p[i] != c)
			return false;
	return true;
}

static bool churn(char c)
{
	bool ok = true;
	std::vector<char *> v;
	for (size_t n = 1; n < 300000; n = n * 3 + 1) {
		char *p = (char *)std::malloc(n);
		ok = ok && fill_and_check(p, n, c);
		v.push_back(p);
	}
	for (char *p : v)
		std::free(p);
	std::string *s = new std::string(1000, c);
	ok = ok && (*s)[999] == c;
	delete s;
	return ok;
}

static void preinit(int, char **, char **)
{
	preinit_block = (char *)std::malloc(1000);
	if (fill_and_check(preinit_block, 1000, 'p') && churn('P'))
		stages |= PREINIT;
}
__attribute__((section(".preinit_array"), used))
static void (*const preinit_fn)(int, char **, char **) = preinit;

__attribute__((constructor(101))) static void early_ctor()
{
	if (churn('c'))
		stages |= CTOR;
}

struct Global {
	std::vector<std::string> v;
	Global()
	{
		for (int i = 0; i < 100; i++)
			v.push_back(std::string(i * 10, 'g'));
		if (churn('s'))
			stages |= STATIC_INIT;
	}
	~Global()
	{
		if (churn('S') && v[99].size() == 990)
			stages |= STATIC_FINI;
	}
};
static Global global;

static pthread_key_t key;
static void key_dtor(void *p)
{
	bool ok = std::strcmp((char *)p, "key") == 0;
	std::free(p);
	if (ok && churn('k'))
		__atomic_or_fetch(&stages, THREAD_KEY, __ATOMIC_SEQ_CST);
}

struct PerThread {
	std::string *s = new std::string(5000, 't');
	~PerThread()
	{
		bool ok = (*s)[4999] == 't';
		delete s;
		if (ok && churn('l'))
			__atomic_or_fetch(&stages, THREAD_LOCAL, __ATOMIC_SEQ_CST);
	}
};
static thread_local PerThread per_thread;

static void at_exit()
{
	if (churn('a'))
		stages |= ATEXIT;
}

__attribute__((destructor(101))) static void last_dtor()
{
	// The preinit block is freed here, long after it was made.
	bool ok = preinit_block && preinit_block[999] == 'p';
	std::free(preinit_block);
	ok = ok && churn('d');
	if (ok && stages == ALL) {
		static const char msg[] = "lifetime: ok\n";
		if (write(1, msg, sizeof(msg) - 1) < 0)
			_exit(1);
	} else {
		fprintf(stderr, "FAIL: stages done %#x of %#x, final destructor %s\n", stages, ALL,
			ok ? "ok" : "failed");
		_exit(1);
	}
}

int main()
{
	t_require_preload();
	pthread_key_create(&key, key_dtor);
	std::thread th([] {
		pthread_setspecific(key, strdup("key"));
		(void)per_thread.s->size();
	});
	th.join();
	std::atexit(at_exit);
	return 0;
}
