/* placement: allocate blocks as told, touch every page, and report with
 * move_pages on which NUMA node each page really is.
 *
 * Run in the emulated-CXL guest (tests/vm/placement.sh), under cxlmu-run or
 * LD_PRELOAD=libcxlmu.so, by the VM test; it knows nothing of cxlmu itself.
 *
 *   placement SPEC...
 *   SPEC = KIND:SIZE[:COUNT]   KIND = malloc calloc realloc memalign mmap reuse
 *        | fill:SIZE:MAX       malloc SIZE blocks until one fails or MAX
 *
 * SIZE takes K/M/G. realloc grows a 64-byte block to SIZE; memalign is
 * posix_memalign with 64 KiB alignment; mmap is the program's own private
 * anonymous mapping; reuse mallocs a block of SIZE, writes it, frees it and
 * mallocs another of SIZE, which takes the freed block's memory when the
 * allocator keeps it (the block reported is the second). Every block stays allocated until exit, so later specs
 * see the live bytes of earlier ones (the budget policy depends on that).
 *
 * One line per spec, and one per block when a spec has at most 16 blocks:
 *   spec malloc:8M:2 blocks=2 bytes=16777216 pages=4096 node0=0 node1=4096 absent=0 fault=0 error=0 lost=0
 *   block malloc:8M:2 #0 pages=2048 node0=0 node1=2048 absent=0 fault=0 error=0 lost=0
 * fill lines add errno=NAME (NONE when MAX blocks fit). Pages shared by
 * several blocks of a spec are counted once. move_pages' status for a page
 * is its node, -ENOENT (absent: not present), -EFAULT (fault: the kernel
 * did not say; 6.1-6.4 say so for present pages that automatic NUMA
 * balancing marked PROT_NONE) or another error. lost: pages whose fill
 * pattern, written before the query, is no longer there when read back
 * after it: a page that is absent or faulted and lost too lost its data. Exit status: 0, or 2 when an
 * allocation other than fill fails or move_pages cannot be called. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_NODES      64
#define MAX_BLOCKS     4096
#define PER_BLOCK_MAX  16

struct count {
	unsigned long pages, absent, fault, error, lost;
	unsigned long node[MAX_NODES];
};

static long page_size;

/* Bookkeeping memory comes from the raw system call, so that neither the
 * preload's malloc nor its mmap hook sees it: the helper's own arrays must
 * not count against a budget or be placed by the policy under test. */
static void *raw_alloc(size_t len)
{
	void *p = (void *)syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
	return p == MAP_FAILED ? NULL : p;
}

static void raw_free(void *p, size_t len)
{
	if (p)
		syscall(SYS_munmap, p, len);
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10; end++; break;
	case '\0': case ':': break;
	default: return -1;
	}
	if (*end && *end != ':')
		return -1;
	*out = (size_t)v;
	return 0;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

/* Count the pages covering blocks[0..n) by node; 0 or -1 (message printed). */
static int count_pages(void **blocks, size_t n, size_t size, struct count *c)
{
	size_t max = 0, np = 0, len;
	uintptr_t *pages;
	int *status;

	memset(c, 0, sizeof(*c));
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		max += size / page_size + 2;
	len = max * sizeof(*pages);
	pages = raw_alloc(len);
	status = raw_alloc(max * sizeof(*status));
	if (!pages || !status) {
		fprintf(stderr, "placement: no memory for %zu page addresses\n", max);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		uintptr_t a = (uintptr_t)blocks[i] & ~(uintptr_t)(page_size - 1);
		uintptr_t end = (uintptr_t)blocks[i] + (size ? size : 1);
		for (; a < end; a += page_size)
			pages[np++] = a;
	}
	qsort(pages, np, sizeof(*pages), cmp_ptr);
	size_t u = 0;
	for (size_t i = 0; i < np; i++)
		if (!u || pages[i] != pages[u - 1])
			pages[u++] = pages[i];
	/* nodes == NULL: move nothing, report each page's node in status. */
	if (syscall(SYS_move_pages, 0, (unsigned long)u, (void **)pages, NULL, status, 0)) {
		fprintf(stderr, "placement: move_pages: %s\n", strerror(errno));
		return -1;
	}
	c->pages = u;
	for (size_t i = 0; i < u; i++) {
		if (status[i] >= 0 && status[i] < MAX_NODES)
			c->node[status[i]]++;
		else if (status[i] == -ENOENT)
			c->absent++;
		else if (status[i] == -EFAULT)
			c->fault++;
		else
			c->error++;
	}
	raw_free(pages, len);
	raw_free(status, max * sizeof(*status));
	return 0;
}

static void print_count(const struct count *c)
{
	printf(" pages=%lu node0=%lu node1=%lu", c->pages, c->node[0], c->node[1]);
	for (int n = 2; n < MAX_NODES; n++)
		if (c->node[n])
			printf(" node%d=%lu", n, c->node[n]);
	printf(" absent=%lu fault=%lu error=%lu lost=%lu", c->absent, c->fault, c->error, c->lost);
}

#define FILL 0xa5

/* After the query: pages of blocks[0..n) whose bytes are not all FILL.
 * Read eight bytes at a time: on the emulated CXL device every load is an
 * MMIO access under TCG, and byte loads made the check most of a case's
 * time there. */
static unsigned long count_lost(void **blocks, size_t n, size_t size)
{
	const uint64_t fill8 = 0x0101010101010101ull * FILL;
	unsigned long lost = 0;

	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = blocks[i];
		for (size_t off = 0; off < size; off += (size_t)page_size) {
			size_t len = size - off < (size_t)page_size ? size - off : (size_t)page_size;
			size_t k = 0;
			uint64_t w;
			for (; k + 8 <= len; k += 8) {
				memcpy(&w, p + off + k, 8);
				if (w != fill8)
					break;
			}
			if (k + 8 <= len) {
				lost++;
				continue;
			}
			for (; k < len; k++)
				if (p[off + k] != FILL) {
					lost++;
					break;
				}
		}
	}
	return lost;
}

static void *alloc_one(const char *kind, size_t size)
{
	void *p = NULL;

	if (!strcmp(kind, "malloc") || !strcmp(kind, "fill"))
		return malloc(size);
	if (!strcmp(kind, "calloc"))
		return calloc(1, size);
	if (!strcmp(kind, "reuse")) {
		void *first = malloc(size);
		if (!first)
			return NULL;
		memset(first, 1, size);
		free(first);
		return malloc(size);
	}
	if (!strcmp(kind, "realloc")) {
		void *small = malloc(64), *big;
		if (!small)
			return NULL;
		memset(small, 1, 64);
		big = realloc(small, size);
		if (!big)
			free(small);
		return big;
	}
	if (!strcmp(kind, "memalign")) {
		int ret = posix_memalign(&p, 64 << 10, size);
		if (ret)
			errno = ret;
		return ret ? NULL : p;
	}
	if (!strcmp(kind, "mmap")) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	return NULL;
}

static const char *errno_name(int e)
{
	switch (e) {
	case 0: return "NONE";
	case ENOMEM: return "ENOMEM";
	case EINVAL: return "EINVAL";
	default: return "OTHER";
	}
}

static int run_spec(const char *spec)
{
	char kind[16];
	const char *colon = strchr(spec, ':');
	size_t size, count = 1, n;
	void **blocks;
	struct count c;
	int err = 0;

	if (!colon || (size_t)(colon - spec) >= sizeof(kind) || parse_size(colon + 1, &size) ||
	    !size)
		goto usage;
	memcpy(kind, spec, (size_t)(colon - spec));
	kind[colon - spec] = '\0';
	if (strcmp(kind, "malloc") && strcmp(kind, "calloc") && strcmp(kind, "realloc") &&
	    strcmp(kind, "memalign") && strcmp(kind, "mmap") && strcmp(kind, "reuse") &&
	    strcmp(kind, "fill"))
		goto usage;
	colon = strchr(colon + 1, ':');
	if (colon && (parse_size(colon + 1, &count) || !count || count > MAX_BLOCKS))
		goto usage;
	if (!strcmp(kind, "fill") && !colon)
		goto usage;

	blocks = raw_alloc(count * sizeof(*blocks));
	if (!blocks)
		return 2;
	for (n = 0; n < count; n++) {
		errno = 0;
		blocks[n] = alloc_one(kind, size);
		if (!blocks[n]) {
			err = errno;
			break;
		}
		/* Write every page: first touch is where the kernel applies the
		 * memory policy the runtime bound to the range. */
		memset(blocks[n], FILL, size);
	}
	if (n < count && strcmp(kind, "fill")) {
		printf("spec %s failed at block %zu: %s\n", spec, n, strerror(err));
		return 2;
	}
	if (count_pages(blocks, n, size, &c))
		return 2;
	c.lost = count_lost(blocks, n, size);
	printf("spec %s blocks=%zu bytes=%zu", spec, n, n * size);
	print_count(&c);
	if (!strcmp(kind, "fill"))
		printf(" errno=%s", errno_name(err));
	printf("\n");
	if (count <= PER_BLOCK_MAX)
		for (size_t i = 0; i < n; i++) {
			if (count_pages(&blocks[i], 1, size, &c))
				return 2;
			c.lost = count_lost(&blocks[i], 1, size);
			printf("block %s #%zu", spec, i);
			print_count(&c);
			printf("\n");
		}
	fflush(stdout);
	return 0;

usage:
	fprintf(stderr, "placement: bad spec '%s' (KIND:SIZE[:COUNT], KIND malloc calloc "
		"realloc memalign mmap reuse, or fill:SIZE:MAX)\n", spec);
	return 1;
}

int main(int argc, char **argv)
{
	page_size = sysconf(_SC_PAGESIZE);
	if (argc < 2) {
		fprintf(stderr, "usage: placement KIND:SIZE[:COUNT]...\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		int ret = run_spec(argv[i]);
		if (ret)
			return ret;
	}
	return 0;
}
