// Functions for cxlmu-stat to name (stat.sh): a C one and a C++ one in a
// namespace, each too big to inline and long enough for an offset inside.
// stat.sh reads their addresses with nm and never needs to run this.
#include <cstdio>
#include <cstdlib>

extern "C" __attribute__((noinline)) unsigned statsym_cold(unsigned n)
{
	volatile unsigned acc = 0;

	for (unsigned i = 0; i < n; i++)
		acc = acc * 31 + i;
	return acc;
}

namespace statsym {
__attribute__((noinline)) unsigned hot_path(int n)
{
	volatile unsigned acc = 7;

	for (int i = 0; i < n; i++)
		acc = acc ^ (acc << 3) ^ (unsigned)i;
	return acc;
}
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;

	printf("%u %u\n", statsym_cold((unsigned)n), statsym::hot_path(n));
	return 0;
}
