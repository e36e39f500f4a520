/* GOT slots by symbol name, for every loaded module (src/got.h).
 *
 * A module's PT_DYNAMIC gives its symbol and string tables and its two
 * RELA tables: DT_JMPREL (the PLT's JUMP_SLOT relocations) and DT_RELA
 * (GLOB_DAT among others: function pointers, and calls compiled with
 * -fno-plt). Each relocation names a symbol and the slot it fills. glibc
 * relocates the dynamic section's pointers in place for most modules and
 * not for some (a read-only dynamic section), so a value below the load
 * bias is taken as an offset. Slots inside PT_GNU_RELRO were made
 * read-only after relocation: such a page is opened for one write and
 * closed again. */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "got.h"
#include "libc.h"
#include "log.h"
#include "prim.h"

static _Atomic int walk_lock;
static unsigned long long last_adds, last_subs;

/* A slot found during dl_iterate_phdr, dealt with after it: fn may look
 * symbols up, load capstone, or print, none of which belongs inside the
 * dynamic linker's lock. */
struct found {
	void **slot;
	const char *name;
	struct cxlmu_got_module m;
	uintptr_t relro, relro_end;
};
#define FOUND_MAX 1024
static struct found found[FOUND_MAX];   /* under walk_lock */

struct walk {
	bool (*wanted)(const char *, void *);
	void *arg;
	uintptr_t self;          /* the runtime's own load bias */
	unsigned n;
	bool full;
};

static uintptr_t fix(uintptr_t v, uintptr_t base)
{
	return v < base ? v + base : v;
}

static bool skipped(const struct dl_phdr_info *info, uintptr_t self)
{
	const char *n = info->dlpi_name ? info->dlpi_name : "";
	const char *slash = strrchr(n, '/');
	const char *b = slash ? slash + 1 : n;

	return info->dlpi_addr == self || !strncmp(b, "linux-vdso", 10) ||
	       !strncmp(b, "ld-linux", 8);
}

/* One write into a slot, the page opened first when RELRO closed it. */
static bool rewrite(void **slot, void *value, uintptr_t relro, uintptr_t relro_end)
{
	uintptr_t a = (uintptr_t)slot;
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t page = a & ~(uintptr_t)(pg - 1);
	bool closed = a >= relro && a < relro_end;

	if (closed && mprotect((void *)page, (size_t)pg, PROT_READ | PROT_WRITE))
		return false;
	__atomic_store_n(slot, value, __ATOMIC_RELEASE);
	if (closed)
		mprotect((void *)page, (size_t)pg, PROT_READ);
	return true;
}

static int walk_module(struct dl_phdr_info *info, size_t size, void *data)
{
	struct walk *w = data;
	const ElfW(Dyn) *dyn = NULL;
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const ElfW(Rela) *tabs[2] = { NULL, NULL };
	size_t sizes[2] = { 0, 0 }, strsz = 0;
	uintptr_t base = info->dlpi_addr, relro = 0, relro_end = 0;
	struct cxlmu_got_module m = { .path = info->dlpi_name ? info->dlpi_name : "", .base = base };
	bool rela_plt = true;

	if (skipped(info, w->self))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(base + ph->p_vaddr);
		else if (ph->p_type == PT_GNU_RELRO) {
			relro = base + ph->p_vaddr;
			relro_end = relro + ph->p_memsz;
		}
	}
	if (!dyn)
		return 0;
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: symtab = (const ElfW(Sym) *)fix(d->d_un.d_ptr, base); break;
		case DT_STRTAB: strtab = (const char *)fix(d->d_un.d_ptr, base); break;
		case DT_STRSZ: strsz = d->d_un.d_val; break;
		case DT_JMPREL: tabs[0] = (const ElfW(Rela) *)fix(d->d_un.d_ptr, base); break;
		case DT_PLTRELSZ: sizes[0] = d->d_un.d_val; break;
		case DT_PLTREL: rela_plt = d->d_un.d_val == DT_RELA; break;
		case DT_RELA: tabs[1] = (const ElfW(Rela) *)fix(d->d_un.d_ptr, base); break;
		case DT_RELASZ: sizes[1] = d->d_un.d_val; break;
		}
	}
	if (!symtab || !strtab || !rela_plt)
		return 0;
	for (int t = 0; t < 2; t++) {
		for (size_t i = 0; tabs[t] && i < sizes[t] / sizeof(ElfW(Rela)); i++) {
			const ElfW(Rela) *r = &tabs[t][i];
			unsigned type = ELF64_R_TYPE(r->r_info), sym = ELF64_R_SYM(r->r_info);
			const char *name;

			if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) || !sym)
				continue;
			if (symtab[sym].st_name >= strsz)
				continue;
			name = strtab + symtab[sym].st_name;
			if (!w->wanted(name, w->arg))
				continue;
			if (w->n == FOUND_MAX) {
				w->full = true;
				return 1;
			}
			found[w->n++] = (struct found){ .slot = (void **)(base + r->r_offset),
				.name = name, .m = m, .relro = relro, .relro_end = relro_end };
		}
	}
	(void)size;
	return 0;
}

static int count_step(struct dl_phdr_info *info, size_t size, void *data)
{
	unsigned long long *out = data;

	out[0] = info->dlpi_adds;
	out[1] = info->dlpi_subs;
	return 1;
}

bool cxlmu_got_changed(void)
{
	unsigned long long c[2] = { 0, 0 };

	dl_iterate_phdr(count_step, c);
	return c[0] != __atomic_load_n(&last_adds, __ATOMIC_RELAXED) ||
	       c[1] != __atomic_load_n(&last_subs, __ATOMIC_RELAXED);
}

unsigned cxlmu_got_walk(bool (*wanted)(const char *, void *), cxlmu_got_fn fn, void *arg)
{
	struct walk w = { .wanted = wanted, .arg = arg };
	unsigned long long c[2] = { 0, 0 };
	unsigned rewritten = 0;
	Dl_info di;

	if (dladdr((void *)cxlmu_got_walk, &di))
		w.self = (uintptr_t)di.dli_fbase;
	/* Never wait here: the walker calls into ld.so, and the caller may be
	 * a constructor running under ld.so's lock. A busy walk is done
	 * again later (the counts stay behind, so the change is still seen). */
	if (atomic_exchange_explicit(&walk_lock, 1, memory_order_acquire))
		return 0;
	/* Counted first: a module loaded during the walk is walked next time. */
	dl_iterate_phdr(count_step, c);
	__atomic_store_n(&last_adds, c[0], __ATOMIC_RELAXED);
	__atomic_store_n(&last_subs, c[1], __ATOMIC_RELAXED);
	dl_iterate_phdr(walk_module, &w);
	if (w.full)
		cxlmu_log_warn("more than %d GOT slots name remote functions; the rest are left "
			       "as they are", FOUND_MAX);
	for (unsigned i = 0; i < w.n; i++) {
		struct found *f = &found[i];
		void *now = fn(f->name, __atomic_load_n(f->slot, __ATOMIC_ACQUIRE), &f->m, arg);

		if (!now)
			continue;
		if (rewrite(f->slot, now, f->relro, f->relro_end))
			rewritten++;
		else
			cxlmu_log_warn("cannot open the GOT of %s for %s; its calls stay as they are",
				       *f->m.path ? f->m.path : "the program", f->name);
	}
	cxlmu_prim_spin_unlock(&walk_lock);
	return rewritten;
}

void cxlmu_got_after_fork(void)
{
	atomic_store_explicit(&walk_lock, 0, memory_order_relaxed);
}

bool cxlmu_got_in_module(const void *addr, const struct cxlmu_got_module *m)
{
	struct link_map *lm = NULL;
	Dl_info di;

	/* The load bias, not dli_fbase: a non-PIE program is mapped at
	 * 0x400000 with a bias of 0. */
	return dladdr1(addr, &di, (void **)&lm, RTLD_DL_LINKMAP) && lm && lm->l_addr == m->base;
}

void cxlmu_got_unref(void *handle)
{
	CXLMU_LIBC(dlclose)(handle);
}

void *cxlmu_got_lookup(const char *name, const struct cxlmu_got_module *m)
{
	void *h, *p = dlsym(RTLD_DEFAULT, name);

	if (p)
		return p;
	/* Not global: the module's own scope. */
	h = dlopen(*m->path ? m->path : NULL, RTLD_LAZY | RTLD_NOLOAD);
	if (!h)
		return NULL;
	p = dlsym(h, name);
	cxlmu_got_unref(h);
	return p;
}
