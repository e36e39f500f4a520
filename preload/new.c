/* C++ operator new and delete, every form, written in C under their mangled
 * names so that libcxlmu.so does not pull libstdc++ into C programs (loading
 * it costs about a millisecond of every start-up).
 *
 * The C++ contract is kept with the help of the C++ runtime the program has
 * loaded, found only when an allocation fails:
 * - operator new calls std::get_new_handler()'s handler and tries again, and
 *   throws std::bad_alloc (std::__throw_bad_alloc) when there is none;
 * - the nothrow forms, when a handler is installed, call the C++ runtime's
 *   own nothrow operator new: it wraps a call to our throwing operator new in
 *   try/catch, so a handler that throws gives nullptr, as the standard says.
 * The runtime is found among the loaded objects (libstdc++ or libc++), so a
 * C++ library dlopen'ed with RTLD_LOCAL by a C program is served too. */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <string.h>

#include "alloc.h"
#include "internal.h"

#define PUBLIC cxlmu_export
/* The call site: the return address of operator new. */
#define RA __builtin_return_address(0)

typedef void (*new_handler_t)(void);

static struct {
	void *handle;                            /* the C++ runtime, or NULL */
	new_handler_t (*get_handler)(void);
	void (*throw_bad_alloc)(void);
	void *(*new_nothrow)(size_t, const void *);
	void *(*new_al_nothrow)(size_t, size_t, const void *);
	bool looked;
} cxx;

static int find_runtime(struct dl_phdr_info *info, size_t size, void *out)
{
	const char *base = strrchr(info->dlpi_name, '/');

	base = base ? base + 1 : info->dlpi_name;
	if (strncmp(base, "libstdc++.so", 12) && strncmp(base, "libc++.so", 9))
		return 0;
	*(const char **)out = info->dlpi_name;
	return 1;
}

/* Called on the failure path only. Races are benign: every thread finds the
 * same functions. */
static void look_up_runtime(void)
{
	const char *path = NULL;

	if (cxx.looked)
		return;
	dl_iterate_phdr(find_runtime, &path);
	/* RTLD_NOLOAD: a handle on what is loaded already, whatever its scope. */
	if (path)
		cxx.handle = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
	if (cxx.handle) {
		cxx.get_handler = (new_handler_t (*)(void))dlsym(cxx.handle, "_ZSt15get_new_handlerv");
		cxx.throw_bad_alloc = (void (*)(void))dlsym(cxx.handle, "_ZSt17__throw_bad_allocv");
		if (!cxx.throw_bad_alloc)   /* libc++ */
			cxx.throw_bad_alloc = (void (*)(void))dlsym(cxx.handle, "_ZNSt3__117__throw_bad_allocEv");
		/* dlsym on the runtime's handle finds its own definitions, not ours. */
		cxx.new_nothrow = (void *(*)(size_t, const void *))
			dlsym(cxx.handle, "_ZnwmRKSt9nothrow_t");
		cxx.new_al_nothrow = (void *(*)(size_t, size_t, const void *))
			dlsym(cxx.handle, "_ZnwmSt11align_val_tRKSt9nothrow_t");
	}
	cxx.looked = true;
}

static void *new_impl(size_t n, size_t align, const void *ra)
{
	for (;;) {
		void *p = cxlmu_preload_alloc(n, align, ra);
		new_handler_t h;

		if (likely(p))
			return p;
		look_up_runtime();
		h = cxx.get_handler ? cxx.get_handler() : NULL;
		if (!h) {
			if (cxx.throw_bad_alloc)
				cxx.throw_bad_alloc();
			/* No C++ runtime loaded: nobody could catch; NULL it is. */
			errno = ENOMEM;
			return NULL;
		}
		h();   /* frees memory and returns, or throws */
	}
}

static void *new_nothrow_impl(size_t n, size_t align, const void *nt, const void *ra)
{
	void *p = cxlmu_preload_alloc(n, align, ra);

	if (likely(p))
		return p;
	look_up_runtime();
	if (!cxx.get_handler || !cxx.get_handler())
		return NULL;   /* errno is ENOMEM */
	/* A handler may throw: let the runtime's try/catch around our
	 * throwing operator new turn that into NULL. */
	if (align && cxx.new_al_nothrow)
		return cxx.new_al_nothrow(n, align, nt);
	if (!align && cxx.new_nothrow)
		return cxx.new_nothrow(n, nt);
	return NULL;
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

NEW(cxlmu_new, size_t n) { return new_impl(n, 0, RA); }
NEW(cxlmu_new_arr, size_t n) { return new_impl(n, 0, RA); }
NEW(cxlmu_new_nt, size_t n, const void *nt) { return new_nothrow_impl(n, 0, nt, RA); }
NEW(cxlmu_new_arr_nt, size_t n, const void *nt) { return new_nothrow_impl(n, 0, nt, RA); }
NEW(cxlmu_new_al, size_t n, size_t a) { return new_impl(n, a, RA); }
NEW(cxlmu_new_arr_al, size_t n, size_t a) { return new_impl(n, a, RA); }
NEW(cxlmu_new_al_nt, size_t n, size_t a, const void *nt) { return new_nothrow_impl(n, a, nt, RA); }
NEW(cxlmu_new_arr_al_nt, size_t n, size_t a, const void *nt) { return new_nothrow_impl(n, a, nt, RA); }

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
