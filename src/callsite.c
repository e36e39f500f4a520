/* Call sites: capture with libunwind, naming by module and offset.
 *
 * libunwind is loaded with dlopen by cxlmu_callsite_init, which only a
 * profile or the sites policy calls: linked in, it and liblzma cost every
 * process two more libraries to load and relocate at start-up.
 *
 * unw_backtrace walks the stack with libunwind's cached frame info and
 * allocates nothing (it maps its caches with mmap): tcmalloc and other heap
 * profilers call it from inside malloc too. An allocation it makes anyway
 * finds the capture busy and goes without a site.
 *
 * A module is named by the path the dynamic linker loaded it from (the
 * executable's from /proc/self/exe) and its GNU build-id, read from the
 * PT_NOTE of the image in memory. Modules are found with _dl_find_object
 * (glibc 2.35), which takes no lock, so naming is safe while another
 * thread holds the loader lock in dlopen. */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "callsite.h"
#include "dlload.h"
#include "prim.h"

#define SKIP_MAX   24            /* our own frames above a hook, at most */
#define SLOTS      (2 * CXLMU_CALLSITE_MAX_MODULES)

/* libunwind's functions, by the names its header gives them (they are
 * macros over per-architecture names: _ULx86_64_step...). */
#define STR_(x) #x
#define STR(x)  STR_(x)
static struct {
	int (*backtrace)(void **, int);
	int (*getcontext)(unw_context_t *);
	int (*init_local)(unw_cursor_t *, unw_context_t *);
	int (*step)(unw_cursor_t *);
	int (*get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
	int (*set_caching_policy)(unw_addr_space_t, unw_caching_policy_t);
	unw_addr_space_t *local_addr_space;
} unw;
static char unw_err[160];

static int load_libunwind(void)
{
	void *h = cxlmu_dl_load(CXLMU_UNWIND_SONAME, "libunwind8", unw_err, sizeof(unw_err));

	if (!h)
		return -ELIBACC;
#define UNW_SYM(field, name) \
	if (!(unw.field = (typeof(unw.field))cxlmu_dl_sym(h, CXLMU_UNWIND_SONAME, STR(name), \
							   unw_err, sizeof(unw_err)))) \
		return -ELIBBAD;
	UNW_SYM(backtrace, unw_backtrace)
	UNW_SYM(getcontext, unw_tdep_getcontext)
	UNW_SYM(init_local, unw_init_local)
	UNW_SYM(step, unw_step)
	UNW_SYM(get_reg, unw_get_reg)
	UNW_SYM(set_caching_policy, unw_set_caching_policy)
	UNW_SYM(local_addr_space, unw_local_addr_space)
#undef UNW_SYM
	return 0;
}

const char *cxlmu_callsite_error(void)
{
	return unw_err[0] ? unw_err : NULL;
}

static struct {
	struct cxlmu_module *mod;    /* CXLMU_CALLSITE_MAX_MODULES, mmap'd */
	_Atomic unsigned nmod;
	_Atomic uint32_t slot[SLOTS];      /* module index + 1, by start address */
	_Atomic int lock;                  /* registration only */
	uintptr_t own_start, own_end;      /* libcxlmu's own mapping */
	char exe[CXLMU_CALLSITE_PATH];
	void (*on_module)(struct cxlmu_module *m);
	_Atomic bool ready;
} cs;

CXLMU_TLS bool cxlmu_callsite_in;
_Atomic uint32_t cxlmu_callsite_gen;
#define busy cxlmu_callsite_in

/* Per thread, the names of the return addresses seen last (direct-mapped,
 * for one generation of modules): most frames of a sample were in the one
 * before. */
#define NAME_CACHE 128
static CXLMU_TLS struct {
	uintptr_t pc;
	uint32_t module;
	uint32_t gen;
} names[NAME_CACHE];

bool cxlmu_callsite_ready(void)
{
	return atomic_load_explicit(&cs.ready, memory_order_acquire);
}

/* Fork: no capture may hold libunwind's or the loader's locks when the
 * child is made. Captures in flight finish; new ones go without a site. */
static _Atomic int forking, in_flight;

static void fork_prepare(void)
{
	atomic_store(&forking, 1);
	while (atomic_load(&in_flight))
		cxlmu_prim_sched_yield();
}

static void fork_parent(void)
{
	atomic_store(&forking, 0);
}

/* The child has one thread: a module registration cut off by the fork
 * holds a lock nobody will free. */
static void fork_child(void)
{
	atomic_store(&cs.lock, 0);
	atomic_store(&forking, 0);
}

int cxlmu_callsite_init(void (*on_module)(struct cxlmu_module *m))
{
	struct dl_find_object dlfo;
	ssize_t n;

	int r;

	if (cxlmu_callsite_ready())
		return 0;
	if ((r = load_libunwind()))
		return r;
	cs.mod = cxlmu_prim_map_table(CXLMU_CALLSITE_MAX_MODULES * sizeof(struct cxlmu_module));
	if (!cs.mod)
		return -ENOMEM;
	strcpy(cs.mod[0].path, "[unknown]");
	atomic_store(&cs.nmod, 1);
	n = readlink("/proc/self/exe", cs.exe, sizeof(cs.exe) - 1);
	cs.exe[n > 0 ? n : 0] = '\0';
	if (!_dl_find_object((void *)cxlmu_callsite_init, &dlfo)) {
		cs.own_start = (uintptr_t)dlfo.dlfo_map_start;
		cs.own_end = (uintptr_t)dlfo.dlfo_map_end;
	}
	cs.on_module = on_module;
	/* libunwind's global cache lock is held across dl_iterate_phdr, whose
	 * callbacks may call malloc: a capture there would wait on it while
	 * the holder waits on the loader's lock. No cache, no such lock. */
	unw.set_caching_policy(*unw.local_addr_space, UNW_CACHE_NONE);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	atomic_store_explicit(&cs.ready, true, memory_order_release);
	return 0;
}

/* ----------------------------------------------------------------------- */
/* Modules                                                                   */
/* ----------------------------------------------------------------------- */

static void hex(char *out, const unsigned char *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* The GNU build-id of the image mapped at [start, end) with load bias
 * bias, from its program headers in memory; "" when it has none. */
static void read_build_id(struct cxlmu_module *m)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m->start;
	const Elf64_Phdr *ph;
	uintptr_t len = m->end - m->start;

	m->build_id[0] = '\0';
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_phentsize != sizeof(*ph) ||
	    eh->e_phoff > len || eh->e_phnum * sizeof(*ph) > len - eh->e_phoff)
		return;
	ph = (const Elf64_Phdr *)(m->start + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		uintptr_t a = m->bias + ph[i].p_vaddr, e = a + ph[i].p_memsz;

		if (ph[i].p_type != PT_NOTE || a < m->start || e > m->end || e < a)
			continue;
		while (a + sizeof(Elf64_Nhdr) <= e) {
			const Elf64_Nhdr *nh = (const Elf64_Nhdr *)a;
			uintptr_t name = a + sizeof(*nh);
			uintptr_t desc = name + ((nh->n_namesz + 3) & ~3u);
			uintptr_t next = desc + ((nh->n_descsz + 3) & ~3u);

			if (next > e || next <= a)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp((const void *)name, "GNU", 4) &&
			    nh->n_descsz <= CXLMU_RULES_MAX_BUILD_ID) {
				hex(m->build_id, (const unsigned char *)desc, nh->n_descsz);
				return;
			}
			a = next;
		}
	}
}

static inline unsigned slot_of(uintptr_t start)
{
	return (unsigned)((start >> 12) * 0x9E3779B97F4A7C15ull >> 52) % SLOTS;
}

static bool same(const struct cxlmu_module *m, const struct dl_find_object *d, const char *path)
{
	return m->start == (uintptr_t)d->dlfo_map_start && m->end == (uintptr_t)d->dlfo_map_end &&
	       m->link_map == d->dlfo_link_map && !strncmp(m->path, path, sizeof(m->path) - 1);
}

static void lock(void)
{
	while (atomic_exchange_explicit(&cs.lock, 1, memory_order_acquire))
		cxlmu_prim_sched_yield();
}

static void unlock(void)
{
	atomic_store_explicit(&cs.lock, 0, memory_order_release);
}

/* Index of the module d describes, registering it when new; 0 when full. */
static uint32_t module_index(const struct dl_find_object *d)
{
	const struct link_map *lm = d->dlfo_link_map;
	const char *path = lm && lm->l_name && lm->l_name[0] ? lm->l_name : cs.exe;
	unsigned h = slot_of((uintptr_t)d->dlfo_map_start), i;
	uint32_t v, idx = 0;

	/* Lookups take no lock: a slot is published after its module. */
	for (i = 0; i < SLOTS; i++) {
		v = atomic_load_explicit(&cs.slot[(h + i) % SLOTS], memory_order_acquire);
		if (!v)
			break;
		if (same(&cs.mod[v - 1], d, path))
			return v - 1;
	}
	lock();
	/* Look again under the lock, from where the lock-free walk stopped. */
	for (; i < SLOTS; i++) {
		v = atomic_load_explicit(&cs.slot[(h + i) % SLOTS], memory_order_acquire);
		if (!v)
			break;
		if (same(&cs.mod[v - 1], d, path)) {
			unlock();
			return v - 1;
		}
	}
	idx = atomic_load_explicit(&cs.nmod, memory_order_relaxed);
	if (i < SLOTS && idx < CXLMU_CALLSITE_MAX_MODULES) {
		struct cxlmu_module *m = &cs.mod[idx];

		m->start = (uintptr_t)d->dlfo_map_start;
		m->end = (uintptr_t)d->dlfo_map_end;
		m->bias = lm ? lm->l_addr : 0;
		m->link_map = lm;
		snprintf(m->path, sizeof(m->path), "%s", path);
		read_build_id(m);
		if (cs.on_module)
			cs.on_module(m);
		atomic_store_explicit(&cs.nmod, idx + 1, memory_order_release);
		atomic_store_explicit(&cs.slot[(h + i) % SLOTS], idx + 1, memory_order_release);
	} else {
		idx = CXLMU_CALLSITE_UNKNOWN;
	}
	unlock();
	return idx;
}

void cxlmu_callsite_name(uintptr_t pc, struct cxlmu_frame *out)
{
	struct dl_find_object d;

	if (_dl_find_object((void *)pc, &d) || !d.dlfo_link_map) {
		out->module = CXLMU_CALLSITE_UNKNOWN;
		out->offset = pc;
		return;
	}
	out->module = module_index(&d);
	out->offset = out->module == CXLMU_CALLSITE_UNKNOWN ? pc : pc - cs.mod[out->module].bias;
}

const char *cxlmu_callsite_exe(void)
{
	return cs.exe;
}

unsigned cxlmu_callsite_modules(void)
{
	return cs.mod ? atomic_load_explicit(&cs.nmod, memory_order_acquire) : 0;
}

const struct cxlmu_module *cxlmu_callsite_module(unsigned i)
{
	return &cs.mod[i];
}

void cxlmu_callsite_unloaded(void)
{
	atomic_fetch_add_explicit(&cxlmu_callsite_gen, 1, memory_order_acq_rel);
}

/* ----------------------------------------------------------------------- */
/* Capture                                                                   */
/* ----------------------------------------------------------------------- */

/* The stack by unw_step, for when unw_backtrace's frame cache may be
 * stale: it is per thread, keyed by address, and nothing flushes it, so
 * after a dlclose another library's code at the same address would be
 * walked with the closed one's frame layouts. Slower (each step reads the
 * DWARF unwind info again, as the caching policy is none), but right. */
static int __attribute__((noinline)) walk(void **pcs, int max)
{
	unw_context_t uc;
	unw_cursor_t c;
	unw_word_t ip;
	int n = 0;

	if (unw.getcontext(&uc) || unw.init_local(&c, &uc))
		return 0;
	while (n < max && unw.step(&c) > 0 && !unw.get_reg(&c, UNW_REG_IP, &ip))
		pcs[n++] = (void *)ip;
	return n;
}

unsigned cxlmu_callsite_capture(const void *ra, struct cxlmu_frame *out, unsigned max)
{
	void *pcs[CXLMU_CALLSITE_MAX_FRAMES + SKIP_MAX];
	int n, i, saved = errno;
	unsigned k = 0;

	if (busy || !cxlmu_callsite_ready())
		return 0;
	atomic_fetch_add(&in_flight, 1);
	if (atomic_load(&forking)) {
		atomic_fetch_sub(&in_flight, 1);
		return 0;
	}
	busy = true;
	if (max > CXLMU_CALLSITE_MAX_FRAMES)
		max = CXLMU_CALLSITE_MAX_FRAMES;
	if (atomic_load_explicit(&cxlmu_callsite_gen, memory_order_relaxed))
		n = walk(pcs, (int)(max + SKIP_MAX));   /* a module was unloaded */
	else
		n = unw.backtrace(pcs, (int)(max + SKIP_MAX));
	if ((uintptr_t)ra - cs.own_start < cs.own_end - cs.own_start)
		ra = NULL;   /* a call of ours: look past our frames instead */
	for (i = 0; ra && i < n && pcs[i] != ra; i++)
		;
	if (!ra || i == n) {
		/* Not found (or not given): skip the runtime's own frames. */
		for (i = 0; i < n && (uintptr_t)pcs[i] - cs.own_start < cs.own_end - cs.own_start; i++)
			;
		/* pcs[0] may be the unwinder's own frame: skip leading frames
		 * until ours, then ours. */
		if (i == 0) {
			while (i < n && (uintptr_t)pcs[i] - cs.own_start >= cs.own_end - cs.own_start)
				i++;
			while (i < n && (uintptr_t)pcs[i] - cs.own_start < cs.own_end - cs.own_start)
				i++;
		}
	}
	/* Our own frames further down (a thread's start routine is called
	 * through ours) name nothing of the program's: leave them out. */
	for (; i < n && k < max; i++) {
		uintptr_t pc = (uintptr_t)pcs[i];
		uint32_t gen = cxlmu_callsite_generation();
		unsigned h = (unsigned)(pc >> 2) % NAME_CACHE;

		if (pc - cs.own_start < cs.own_end - cs.own_start)
			continue;
		if (names[h].pc == pc && names[h].gen == gen && names[h].module) {
			out[k].module = names[h].module;
			out[k++].offset = pc - cs.mod[names[h].module].bias;
			continue;
		}
		cxlmu_callsite_name(pc, &out[k]);
		names[h].pc = pc;
		names[h].module = out[k].module;
		names[h].gen = gen;
		k++;
	}
	busy = false;
	atomic_fetch_sub(&in_flight, 1);
	errno = saved;
	return k;
}
