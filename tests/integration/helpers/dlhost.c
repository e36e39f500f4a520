/* dlopen/dlclose under the preload: a C++ module that allocates in its
 * constructor and frees in its destructor is loaded and unloaded many
 * times; blocks cross the boundary both ways and outlive the module.
 * argv: MODULE EXPECT. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "common.h"

int main(int argc, char **argv)
{
	void *kept[20] = { 0 };
	enum t_expect want;

	if (argc < 2) {
		fprintf(stderr, "usage: dlhost MODULE [EXPECT]\n");
		return 2;
	}
	t_require_preload();
	want = t_parse_expect(argc > 2 ? argv[2] : "any");
	for (int round = 0; round < 20; round++) {
		void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			T_CHECK(0, "dlopen %s: %s", argv[1], dlerror());
			break;
		}
		int (*alive)(void) = (int (*)(void))dlsym(h, "dlmod_alive");
		void *(*make)(size_t, int) = (void *(*)(size_t, int))dlsym(h, "dlmod_make");
		int (*take)(void *, size_t, int) = (int (*)(void *, size_t, int))dlsym(h, "dlmod_take");
		int (*bad_alloc)(void) = (int (*)(void))dlsym(h, "dlmod_bad_alloc");
		if (!alive || !make || !take || !bad_alloc) {
			T_CHECK(0, "module symbols missing");
			dlclose(h);
			break;
		}
		T_CHECK(alive(), "round %d: module constructor's blocks are wrong", round);
		size_t n = 100 + (size_t)round * 9000;
		char *p = make(n, 'a' + round);
		T_CHECK(p != NULL, "dlmod_make(%zu) failed", n);
		t_expect_at(p, want, "block from the module");
		free(p);
		kept[round] = make(5000, 'k');
		char *mine = malloc(n);
		if (mine)
			memset(mine, 'z', n);
		T_CHECK(take(mine, n, 'z'), "round %d: module saw a damaged block", round);
		if (round % 4 == 0) {
			int r = bad_alloc();
			T_CHECK(r == 0, "round %d: operator new(huge) in the module %s", round,
				r == 1 ? "did not throw std::bad_alloc" : "(nothrow) did not give nullptr");
		}
		T_CHECK(dlclose(h) == 0, "dlclose: %s", dlerror());
	}
	/* Blocks made by the module, freed after it is gone. */
	for (int i = 0; i < 20; i++) {
		const char *k = kept[i];
		T_CHECK(k && k[0] == 'k' && k[4999] == 'k', "block %d kept from the module is damaged", i);
		free(kept[i]);
	}
	return t_done("dlhost");
}
