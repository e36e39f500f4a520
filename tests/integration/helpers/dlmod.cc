// A module for dlhost: allocates in its constructor, frees in its
// destructor, and trades blocks with the program that loaded it.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

namespace {
struct State {
	char *block;
	std::vector<std::string> names;
	State()
	{
		block = static_cast<char *>(std::malloc(1 << 20));
		if (block)
			std::memset(block, 'm', 1 << 20);
		for (int i = 0; i < 64; i++)
			names.push_back(std::string(100 + i, 'n'));
	}
	~State()
	{
		std::free(block);
		block = nullptr;
	}
};
State state;
volatile size_t huge = SIZE_MAX / 4;
char *volatile sink;   // keeps gcc from eliding a new/delete pair
}

extern "C" {

__attribute__((visibility("default"))) int dlmod_alive(void)
{
	return state.block && state.block[(1 << 20) - 1] == 'm' && state.names[63].size() == 163;
}

// A block made here, freed by the loader (maybe after dlclose).
__attribute__((visibility("default"))) void *dlmod_make(size_t n, int c)
{
	void *p = std::malloc(n);
	if (p)
		std::memset(p, c, n);
	return p;
}

// A block made by the loader, checked and freed here.
__attribute__((visibility("default"))) int dlmod_take(void *p, size_t n, int c)
{
	const unsigned char *b = static_cast<const unsigned char *>(p);
	int ok = p != nullptr;
	for (size_t i = 0; ok && i < n; i += 97)
		ok = b[i] == (unsigned char)c;
	std::free(p);
	return ok;
}

// operator new failing inside a C++ module loaded into a C program:
// 0 when it throws std::bad_alloc and the nothrow form gives nullptr,
// 1 when nothing was thrown, 2 when the nothrow form gave a block.
__attribute__((visibility("default"))) int dlmod_bad_alloc(void)
{
	try {
		sink = new char[huge];
		delete[] sink;
	} catch (const std::bad_alloc &) {
		sink = new (std::nothrow) char[huge];
		return sink == nullptr ? 0 : 2;
	}
	return 1;
}
}
