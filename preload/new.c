/* C++ operator new and delete, every form, written in C under their mangled
 * names so that libcxlmu.so does not pull libstdc++ into C programs (loading
 * it costs about a millisecond of every start-up).
 *
 * The C++ contract is kept through the C++ runtime the program already has:
 * on failure, operator new calls std::get_new_handler()'s handler and tries
 * again, and throws std::bad_alloc when there is none; the nothrow forms
 * return NULL instead. Both entry points are weak references, bound when
 * libstdc++ is loaded with the program, else looked up when first needed
 * (a C++ library dlopen'ed later; libc++'s thrower is tried too). */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

#include "internal.h"

#define PUBLIC cxlmu_export

void *cxlmu_preload_alloc(size_t n, size_t align);
void cxlmu_preload_free(void *p);

typedef void (*new_handler_t)(void);

/* std::get_new_handler() and std::__throw_bad_alloc(), if present. */
extern new_handler_t _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

static new_handler_t get_handler(void)
{
	static new_handler_t (*fn)(void);

	if (_ZSt15get_new_handlerv)
		return _ZSt15get_new_handlerv();
	if (!fn)
		fn = (new_handler_t (*)(void))dlsym(RTLD_DEFAULT, "_ZSt15get_new_handlerv");
	return fn ? fn() : NULL;
}

static void throw_bad_alloc(void)
{
	void (*fn)(void);

	if (_ZSt17__throw_bad_allocv)
		_ZSt17__throw_bad_allocv();
	fn = (void (*)(void))dlsym(RTLD_DEFAULT, "_ZSt17__throw_bad_allocv");
	if (!fn)  /* libc++ */
		fn = (void (*)(void))dlsym(RTLD_DEFAULT, "_ZNSt3__117__throw_bad_allocEv");
	if (fn)
		fn();
	/* No C++ runtime in the process: nobody can catch; report as nothrow. */
}

static void *new_impl(size_t n, size_t align, bool nothrow)
{
	for (;;) {
		void *p = cxlmu_preload_alloc(n, align);
		new_handler_t h;

		if (likely(p))
			return p;
		h = get_handler();
		if (!h) {
			if (!nothrow)
				throw_bad_alloc();
			errno = ENOMEM;
			return NULL;
		}
		/* A handler frees memory and returns, or throws (which, from a
		 * nothrow form, reaches the caller: see libcxlmu(7)). */
		h();
	}
}

#define NEW(sym, ...) PUBLIC void *sym(__VA_ARGS__)
#define DEL(sym, ...) PUBLIC void sym(__VA_ARGS__)

/* operator new(size_t), new[](size_t), and their nothrow_t forms */
void *cxlmu_new(size_t n) __asm__("_Znwm");
void *cxlmu_new_arr(size_t n) __asm__("_Znam");
void *cxlmu_new_nt(size_t n, const void *nt) __asm__("_ZnwmRKSt9nothrow_t");
void *cxlmu_new_arr_nt(size_t n, const void *nt) __asm__("_ZnamRKSt9nothrow_t");
/* align_val_t forms */
void *cxlmu_new_al(size_t n, size_t a) __asm__("_ZnwmSt11align_val_t");
void *cxlmu_new_arr_al(size_t n, size_t a) __asm__("_ZnamSt11align_val_t");
void *cxlmu_new_al_nt(size_t n, size_t a, const void *nt) __asm__("_ZnwmSt11align_val_tRKSt9nothrow_t");
void *cxlmu_new_arr_al_nt(size_t n, size_t a, const void *nt) __asm__("_ZnamSt11align_val_tRKSt9nothrow_t");

NEW(cxlmu_new, size_t n) { return new_impl(n, 0, false); }
NEW(cxlmu_new_arr, size_t n) { return new_impl(n, 0, false); }
NEW(cxlmu_new_nt, size_t n, const void *nt) { return new_impl(n, 0, true); }
NEW(cxlmu_new_arr_nt, size_t n, const void *nt) { return new_impl(n, 0, true); }
NEW(cxlmu_new_al, size_t n, size_t a) { return new_impl(n, a, false); }
NEW(cxlmu_new_arr_al, size_t n, size_t a) { return new_impl(n, a, false); }
NEW(cxlmu_new_al_nt, size_t n, size_t a, const void *nt) { return new_impl(n, a, true); }
NEW(cxlmu_new_arr_al_nt, size_t n, size_t a, const void *nt) { return new_impl(n, a, true); }

/* operator delete: plain, sized, nothrow, aligned, and combinations */
void cxlmu_del(void *p) __asm__("_ZdlPv");
void cxlmu_del_arr(void *p) __asm__("_ZdaPv");
void cxlmu_del_sz(void *p, size_t n) __asm__("_ZdlPvm");
void cxlmu_del_arr_sz(void *p, size_t n) __asm__("_ZdaPvm");
void cxlmu_del_nt(void *p, const void *nt) __asm__("_ZdlPvRKSt9nothrow_t");
void cxlmu_del_arr_nt(void *p, const void *nt) __asm__("_ZdaPvRKSt9nothrow_t");
void cxlmu_del_al(void *p, size_t a) __asm__("_ZdlPvSt11align_val_t");
void cxlmu_del_arr_al(void *p, size_t a) __asm__("_ZdaPvSt11align_val_t");
void cxlmu_del_sz_al(void *p, size_t n, size_t a) __asm__("_ZdlPvmSt11align_val_t");
void cxlmu_del_arr_sz_al(void *p, size_t n, size_t a) __asm__("_ZdaPvmSt11align_val_t");
void cxlmu_del_al_nt(void *p, size_t a, const void *nt) __asm__("_ZdlPvSt11align_val_tRKSt9nothrow_t");
void cxlmu_del_arr_al_nt(void *p, size_t a, const void *nt) __asm__("_ZdaPvSt11align_val_tRKSt9nothrow_t");

DEL(cxlmu_del, void *p) { cxlmu_preload_free(p); }
DEL(cxlmu_del_arr, void *p) { cxlmu_preload_free(p); }
DEL(cxlmu_del_sz, void *p, size_t n) { cxlmu_preload_free(p); }
DEL(cxlmu_del_arr_sz, void *p, size_t n) { cxlmu_preload_free(p); }
DEL(cxlmu_del_nt, void *p, const void *nt) { cxlmu_preload_free(p); }
DEL(cxlmu_del_arr_nt, void *p, const void *nt) { cxlmu_preload_free(p); }
DEL(cxlmu_del_al, void *p, size_t a) { cxlmu_preload_free(p); }
DEL(cxlmu_del_arr_al, void *p, size_t a) { cxlmu_preload_free(p); }
DEL(cxlmu_del_sz_al, void *p, size_t n, size_t a) { cxlmu_preload_free(p); }
DEL(cxlmu_del_arr_sz_al, void *p, size_t n, size_t a) { cxlmu_preload_free(p); }
DEL(cxlmu_del_al_nt, void *p, size_t a, const void *nt) { cxlmu_preload_free(p); }
DEL(cxlmu_del_arr_al_nt, void *p, size_t a, const void *nt) { cxlmu_preload_free(p); }
