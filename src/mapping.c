/* Placement of the application's own anonymous private mappings.
 * Main entry points: cxlmu_mapping_mmap / _munmap / _mremap. */
#include <errno.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "heap.h"
#include "mapping.h"
#include "policy.h"
#include "prim.h"
#include "stats.h"

struct region {
	uintptr_t start;
	size_t len;              /* 0: free slot */
	enum cxlmu_tier tier;
	unsigned node;
};

static bool enabled;
static atomic_flag lock = ATOMIC_FLAG_INIT;
static struct region regions[CXLMU_MAPPING_SLOTS];
static _Atomic unsigned long placed;

/* Text ranges whose mmap calls belong to the runtime: ours and jemalloc's. */
#define MAX_OWN 8
static struct { uintptr_t lo, hi; } own[MAX_OWN];
static unsigned nown;
static _Atomic int own_state;    /* 0 unknown, 1 scanning, 2 known */

void cxlmu_mapping_enable(bool on)
{
	enabled = on;
}

unsigned long cxlmu_mapping_placed(void)
{
	return atomic_load(&placed);
}

static void lock_table(void)
{
	while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
		;
}

static void unlock_table(void)
{
	atomic_flag_clear_explicit(&lock, memory_order_release);
}

void cxlmu_mapping_after_fork(void)
{
	int scanning = 1;

	atomic_flag_clear(&lock);
	/* A scan cut short by the fork: the child scans again. */
	atomic_compare_exchange_strong(&own_state, &scanning, 0);
}

static int scan_object(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t self = (uintptr_t)data;
	bool mine = strstr(info->dlpi_name, "libjemalloc") != NULL;

	for (int i = 0; i < info->dlpi_phnum && !mine; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && self >= lo && self < lo + ph->p_memsz)
			mine = true;
	}
	if (!mine)
		return 0;
	for (int i = 0; i < info->dlpi_phnum && nown < MAX_OWN; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			own[nown].lo = info->dlpi_addr + ph->p_vaddr;
			own[nown].hi = own[nown].lo + ph->p_memsz;
			nown++;
		}
	}
	return 0;
}

static bool from_runtime(const void *caller)
{
	int st = atomic_load_explicit(&own_state, memory_order_acquire);

	if (st != 2) {
		int expect = 0;
		if (st == 0 && atomic_compare_exchange_strong(&own_state, &expect, 1)) {
			dl_iterate_phdr(scan_object, (void *)(uintptr_t)&from_runtime);
			atomic_store_explicit(&own_state, 2, memory_order_release);
		} else {
			/* Another thread is scanning: treat the call as ours, unplaced. */
			return true;
		}
	}
	for (unsigned i = 0; i < nown; i++)
		if ((uintptr_t)caller >= own[i].lo && (uintptr_t)caller < own[i].hi)
			return true;
	return false;
}

/* Count a placed region only if the table can follow it to its munmap:
 * past CXLMU_MAPPING_SLOTS regions, placement goes on, counting does not. */
static void track(uintptr_t start, size_t len, enum cxlmu_tier tier, unsigned node)
{
	bool tracked = false;

	lock_table();
	for (unsigned i = 0; i < CXLMU_MAPPING_SLOTS; i++) {
		if (!regions[i].len) {
			regions[i] = (struct region){ start, len, tier, node };
			tracked = true;
			break;
		}
	}
	unlock_table();
	if (tracked)
		cxlmu_heap_account_range((void *)start, len, tier, node, true);
}

void *cxlmu_mapping_mmap(void *addr, size_t len, int prot, int flags, int fd,
			 off_t off, const void *caller)
{
	void *p = cxlmu_prim_mmap(addr, len, prot, flags, fd, off);
	enum cxlmu_tier tier;
	unsigned node;
	const struct cxlmu_policy *pol;

	if (cxlmu_prim_failed(p)) {
		errno = cxlmu_prim_failed(p);
		return MAP_FAILED;
	}
	if (!enabled || len < CXLMU_MAPPING_MIN ||
	    (flags & (MAP_ANONYMOUS | MAP_PRIVATE | MAP_SHARED)) != (MAP_ANONYMOUS | MAP_PRIVATE) ||
	    from_runtime(caller))
		return p;
	pol = cxlmu_heap_policy();
	if (pol->kind == CXLMU_POLICY_LOCAL)
		return p;
	tier = cxlmu_heap_tier(len, caller);
	if (cxlmu_heap_bind_range(p, len, tier, &node))
		cxlmu_stats_count_bind_error();
	atomic_fetch_add(&placed, 1);
	track((uintptr_t)p, len, tier, node);
	return p;
}

/* Uncount the parts of tracked regions inside [a, a+len). */
static void forget(uintptr_t a, size_t len)
{
	uintptr_t e = a + len;

	lock_table();
	for (unsigned i = 0; i < CXLMU_MAPPING_SLOTS; i++) {
		struct region *r = &regions[i];
		uintptr_t rs = r->start, re = r->start + r->len;
		if (!r->len || re <= a || rs >= e)
			continue;
		uintptr_t cs = rs > a ? rs : a, ce = re < e ? re : e;
		unlock_table();
		cxlmu_heap_account_range((void *)cs, ce - cs, r->tier, r->node, false);
		lock_table();
		if (cs == rs && ce == re) {
			r->len = 0;
		} else if (cs == rs) {
			r->start = ce;
			r->len = re - ce;
		} else if (ce == re) {
			r->len = cs - rs;
		} else {
			/* A hole in the middle: keep the head, move the tail to a
			 * slot; with none free, stop counting the tail now. */
			struct region tail = { ce, re - ce, r->tier, r->node };
			unsigned j;
			r->len = cs - rs;
			for (j = 0; j < CXLMU_MAPPING_SLOTS && regions[j].len; j++)
				;
			if (j < CXLMU_MAPPING_SLOTS) {
				regions[j] = tail;
			} else {
				unlock_table();
				cxlmu_heap_account_range((void *)tail.start, tail.len,
							 tail.tier, tail.node, false);
				lock_table();
			}
		}
	}
	unlock_table();
}

int cxlmu_mapping_munmap(void *addr, size_t len)
{
	int r = cxlmu_prim_munmap(addr, len);

	if (r) {
		errno = -r;
		return -1;
	}
	if (enabled)
		forget((uintptr_t)addr, len);
	return 0;
}

void *cxlmu_mapping_mremap(void *old, size_t old_len, size_t new_len, int flags,
			   void *new_addr)
{
	void *p = cxlmu_prim_mremap(old, old_len, new_len, flags, new_addr);

	if (cxlmu_prim_failed(p)) {
		errno = cxlmu_prim_failed(p);
		return MAP_FAILED;
	}
	if (!enabled)
		return p;
	/* The kernel moves a region's policy with it; move the count too. */
	lock_table();
	for (unsigned i = 0; i < CXLMU_MAPPING_SLOTS; i++) {
		struct region r = regions[i];
		if (r.len && r.start == (uintptr_t)old && r.len == old_len) {
			regions[i].len = 0;
			unlock_table();
			cxlmu_heap_account_range(old, old_len, r.tier, r.node, false);
			track((uintptr_t)p, new_len, r.tier, r.node);
			return p;
		}
	}
	unlock_table();
	return p;
}
