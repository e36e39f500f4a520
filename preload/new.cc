// C++ operator new and delete, every form: they forward to the heap like
// malloc, and keep the C++ contract (new_handler, std::bad_alloc, nothrow).
#include <cstddef>
#include <new>

extern "C" {
void *cxlmu_preload_alloc(std::size_t n, std::size_t align);
void cxlmu_preload_free(void *p);
}

#define PUBLIC __attribute__((visibility("default")))

static void *new_impl(std::size_t n, std::size_t align)
{
	for (;;) {
		void *p = cxlmu_preload_alloc(n, align);
		if (p)
			return p;
		std::new_handler h = std::get_new_handler();
		if (!h)
			throw std::bad_alloc();
		h();
	}
}

static void *new_nothrow(std::size_t n, std::size_t align) noexcept
{
	try {
		return new_impl(n, align);
	} catch (...) {
		return nullptr;
	}
}

PUBLIC void *operator new(std::size_t n) { return new_impl(n, 0); }
PUBLIC void *operator new[](std::size_t n) { return new_impl(n, 0); }
PUBLIC void *operator new(std::size_t n, const std::nothrow_t &) noexcept { return new_nothrow(n, 0); }
PUBLIC void *operator new[](std::size_t n, const std::nothrow_t &) noexcept { return new_nothrow(n, 0); }
PUBLIC void *operator new(std::size_t n, std::align_val_t a) { return new_impl(n, (std::size_t)a); }
PUBLIC void *operator new[](std::size_t n, std::align_val_t a) { return new_impl(n, (std::size_t)a); }
PUBLIC void *operator new(std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept { return new_nothrow(n, (std::size_t)a); }
PUBLIC void *operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept { return new_nothrow(n, (std::size_t)a); }

PUBLIC void operator delete(void *p) noexcept { cxlmu_preload_free(p); }
PUBLIC void operator delete[](void *p) noexcept { cxlmu_preload_free(p); }
PUBLIC void operator delete(void *p, std::size_t) noexcept { cxlmu_preload_free(p); }
PUBLIC void operator delete[](void *p, std::size_t) noexcept { cxlmu_preload_free(p); }
PUBLIC void operator delete(void *p, const std::nothrow_t &) noexcept { cxlmu_preload_free(p); }
PUBLIC void operator delete[](void *p, const std::nothrow_t &) noexcept { cxlmu_preload_free(p); }
PUBLIC void operator delete(void *p, std::align_val_t) noexcept { cxlmu_preload_free(p); }
PUBLIC void operator delete[](void *p, std::align_val_t) noexcept { cxlmu_preload_free(p); }
PUBLIC void operator delete(void *p, std::size_t, std::align_val_t) noexcept { cxlmu_preload_free(p); }
PUBLIC void operator delete[](void *p, std::size_t, std::align_val_t) noexcept { cxlmu_preload_free(p); }
PUBLIC void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept { cxlmu_preload_free(p); }
PUBLIC void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept { cxlmu_preload_free(p); }
