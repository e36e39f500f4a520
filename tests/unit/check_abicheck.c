/* The ABI check: every function of abicheck_fns.c, compiled at -O2
 * and at -O0, gets the verdict its signature calls for; sizes come from
 * the dynamic symbol table as the runtime gets them; no size, garbage,
 * cut instructions and oversized code give an answer, not a crash or a
 * read past the end. */
#include <check.h>
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "abicheck.h"
#include "unit.h"

#define V(x) (1u << CXLMU_ABI_##x)
#define OK V(OK)
#define STACK V(STACK_ARGS)
#define VARIADIC V(VARIADIC)
#define X87 V(X87)

/* Accepted verdicts per function, at -O2 and at -O0. Where two are
 * accepted, the code may show either sign: a long double argument is read
 * from the stack with an x87 load, and GCC -O2's int-only va_start has no
 * test of %al, only the overflow area's address. A double va_arg always
 * needs the xmm save area, so vsum_dbl always tests %al. */
static const struct expect {
	const char *name;
	unsigned o2, o0;
} fns[] = {
	{ "add",      OK, OK },
	{ "scale",    OK, OK },
	{ "lpair",    OK, OK },
	{ "dpair",    OK, OK },
	{ "six",      OK, OK },
	{ "eight",    OK, OK },
	{ "tri",      OK, OK },
	{ "sink",     OK, OK },
	{ "locals",   OK, OK },
	{ "calls7",   OK, OK },
	{ "early",    OK, OK },
	{ "dynamic",  OK, OK },
	{ "jumptab",  OK, OK },
	{ "seven",    STACK, STACK },
	{ "nine",     STACK, STACK },
	{ "big32",    STACK, STACK },
	{ "late7",    STACK, STACK },
	{ "ldboth",   STACK | X87, STACK | X87 },
	{ "ldarg",    STACK | X87, STACK | X87 },
	{ "ldret",    X87, X87 },
	{ "vsum_int", VARIADIC | STACK, VARIADIC | STACK },
	{ "vsum_dbl", VARIADIC, VARIADIC },
};

/* The function and its symbol's size, as the runtime will find them. */
static const void *lookup(const char *level, const char *name, size_t *size)
{
	char sym[64];
	const ElfW(Sym) *es = NULL;
	Dl_info di;
	void *fn;

	snprintf(sym, sizeof(sym), "abi_%s_%s", level, name);
	fn = dlsym(RTLD_DEFAULT, sym);
	ck_assert_msg(fn != NULL, "%s is not exported (link with -export-dynamic)", sym);
	ck_assert_msg(dladdr1(fn, &di, (void **)&es, RTLD_DL_SYMENT) && es,
		      "dladdr1 finds no symbol for %s", sym);
	ck_assert_msg(di.dli_sname && !strcmp(di.dli_sname, sym),
		      "dladdr1 names %s '%s'", sym, di.dli_sname ? di.dli_sname : "(null)");
	*size = es->st_size;
	return fn;
}

static void check_one(const char *level, const struct expect *e, unsigned want)
{
	char why[160] = "untouched";
	size_t size;
	const void *fn = lookup(level, e->name, &size);
	enum cxlmu_abicheck v = cxlmu_abicheck(fn, size, why, sizeof(why));

	ck_assert_msg(want & (1u << v), "abi_%s_%s (%zu bytes): %s (%s)",
		      level, e->name, size, cxlmu_abicheck_name(v), why);
	if (v == CXLMU_ABI_OK)
		ck_assert_msg(why[0] == '\0', "abi_%s_%s: OK, but why is '%s'", level, e->name, why);
	else
		ck_assert_msg(why[0] && strcmp(why, "untouched"),
			      "abi_%s_%s: %s, and why is empty", level, e->name,
			      cxlmu_abicheck_name(v));
}

START_TEST(verdict_O2)
{
	check_one("O2", &fns[_i], fns[_i].o2);
}
END_TEST

START_TEST(verdict_O0)
{
	check_one("O0", &fns[_i], fns[_i].o0);
}
END_TEST

/* The -O0 copies must really be unoptimised, or the rbp-based half of the
 * checker goes untested: GCC at -O0 always sets up a frame pointer.
 * (clang's optnone leaves that to the build's flags.) */
#ifndef __clang__
START_TEST(o0_has_frame_pointer)
{
	static const uint8_t endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	static const uint8_t prologue[] = { 0x55, 0x48, 0x89, 0xe5 };  /* push rbp; mov rbp,rsp */

	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(fns); i++) {
		size_t size;
		const uint8_t *p = lookup("O0", fns[i].name, &size);

		if (!memcmp(p, endbr64, sizeof(endbr64)))
			p += sizeof(endbr64);
		ck_assert_msg(!memcmp(p, prologue, sizeof(prologue)),
			      "abi_O0_%s does not start with push rbp; mov rbp,rsp: not -O0?",
			      fns[i].name);
	}
}
END_TEST
#endif

/* ----------------------------------------------------------------------- */

/* A buffer whose last byte is the last of a page, a PROT_NONE page after
 * it: a read past the size faults. */
struct fenced {
	uint8_t *map;
	size_t maplen;
};

static uint8_t *fenced_buf(struct fenced *f, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t data = (size + page - 1) / page * page;

	f->maplen = data + page;
	f->map = mmap(NULL, f->maplen, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_msg(f->map != MAP_FAILED, "mmap %zu", f->maplen);
	ck_assert_int_eq(mprotect(f->map + data, page, PROT_NONE), 0);
	return f->map + data - size;
}

static void fenced_free(struct fenced *f)
{
	munmap(f->map, f->maplen);
}

static enum cxlmu_abicheck check_bytes(const uint8_t *bytes, size_t size, char *why, size_t whysize)
{
	struct fenced f;
	uint8_t *p = fenced_buf(&f, size);
	enum cxlmu_abicheck v;

	memcpy(p, bytes, size);
	v = cxlmu_abicheck(p, size, why, whysize);
	fenced_free(&f);
	return v;
}

START_TEST(no_size)
{
	char why[128] = "";
	enum cxlmu_abicheck v = cxlmu_abicheck((const void *)check_one, 0, why, sizeof(why));

	ck_assert_msg(v == CXLMU_ABI_UNCHECKED, "size 0: %s", cxlmu_abicheck_name(v));
	ck_assert_msg(strstr(why, "no size"), "size 0: why is '%s'", why);
	v = cxlmu_abicheck(NULL, 16, NULL, 0);
	ck_assert_msg(v == CXLMU_ABI_UNCHECKED, "NULL code: %s", cxlmu_abicheck_name(v));
}
END_TEST

/* Hand-made code: the smallest cases of each rule, and their edges. */
START_TEST(handmade)
{
	static const struct {
		const char *what;
		uint8_t code[24];
		size_t len;
		enum cxlmu_abicheck want;
	} cases[] = {
		{ "ret", { 0xc3 }, 1, CXLMU_ABI_OK },
		/* mov rax,[rsp]: the return address, no argument */
		{ "reads its return address", { 0x48, 0x8b, 0x04, 0x24, 0xc3 }, 5, CXLMU_ABI_OK },
		/* mov rax,[rsp+8] */
		{ "reads rsp+8", { 0x48, 0x8b, 0x44, 0x24, 0x08, 0xc3 }, 6, CXLMU_ABI_STACK_ARGS },
		/* push rbx; mov rax,[rsp+8]; pop rbx: the return address again */
		{ "push, then rsp+8", { 0x53, 0x48, 0x8b, 0x44, 0x24, 0x08, 0x5b, 0xc3 }, 8, CXLMU_ABI_OK },
		/* push rbx; mov rax,[rsp+16]; pop rbx */
		{ "push, then rsp+16", { 0x53, 0x48, 0x8b, 0x44, 0x24, 0x10, 0x5b, 0xc3 }, 8,
		  CXLMU_ABI_STACK_ARGS },
		/* push rbp; mov rbp,rsp; sub rsp,64; mov rax,[rbp+8]; leave; ret */
		{ "rbp+8", { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x40,
			     0x48, 0x8b, 0x45, 0x08, 0xc9, 0xc3 }, 14, CXLMU_ABI_OK },
		/* push rbp; mov rbp,rsp; sub rsp,64; mov rax,[rbp+16]; leave; ret */
		{ "rbp+16", { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x40,
			      0x48, 0x8b, 0x45, 0x10, 0xc9, 0xc3 }, 14, CXLMU_ABI_STACK_ARGS },
		/* push rbp; mov rbp,rsp; sub rsp,64; leave; mov rax,[rsp+8]; ret */
		{ "after leave", { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x40, 0xc9,
				   0x48, 0x8b, 0x44, 0x24, 0x08, 0xc3 }, 15, CXLMU_ABI_STACK_ARGS },
		/* push rbp; mov rbp,rsp; push rbx; sub rsp,64; lea rsp,[rbp-8];
		 * mov rax,[rsp+24]; pop rbx; pop rbp; ret */
		{ "after lea rsp,[rbp-8]", { 0x55, 0x48, 0x89, 0xe5, 0x53, 0x48, 0x83, 0xec, 0x40,
					     0x48, 0x8d, 0x65, 0xf8, 0x48, 0x8b, 0x44, 0x24, 0x18,
					     0x5b, 0x5d, 0xc3 }, 21, CXLMU_ABI_STACK_ARGS },
		/* push rbp; mov rbp,rsp; mov rbp,rdi; mov rax,[rbp+16]; pop rbp;
		 * ret: rbp is no frame pointer any more */
		{ "rbp reused", { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x89, 0xfd, 0x48, 0x8b, 0x45, 0x10,
				  0x5d, 0xc3 }, 13, CXLMU_ABI_OK },
		/* and rsp,-32; mov rax,[rsp+64]: depth unknown, not judged */
		{ "aligned rsp", { 0x48, 0x83, 0xe4, 0xe0, 0x48, 0x8b, 0x44, 0x24, 0x40, 0xc3 }, 10,
		  CXLMU_ABI_OK },
		/* test al,al; ret */
		{ "test al,al", { 0x84, 0xc0, 0xc3 }, 3, CXLMU_ABI_VARIADIC },
		/* xor eax,eax; test al,al; ret */
		{ "al written first", { 0x31, 0xc0, 0x84, 0xc0, 0xc3 }, 5, CXLMU_ABI_OK },
		/* nop dword ptr [rax]; ret: padding names rax, reads nothing */
		{ "nop [rax]", { 0x0f, 0x1f, 0x00, 0xc3 }, 4, CXLMU_ABI_OK },
		/* push rax; pop rcx; ret: clang's alignment push */
		{ "push rax", { 0x50, 0x59, 0xc3 }, 3, CXLMU_ABI_OK },
		/* push rbx; test rdi,rdi; jne L; pop rbx; call <noreturn>;
		 * L: mov rax,[rsp+16]; pop rbx; ret. L is reached at depth 8
		 * by the jne and at 0 past the call, which never returns: the
		 * jump's depth must win. */
		{ "past a noreturn call", { 0x53, 0x48, 0x85, 0xff, 0x75, 0x06, 0x5b,
					    0xe8, 0x00, 0x01, 0x00, 0x00,
					    0x48, 0x8b, 0x44, 0x24, 0x10, 0x5b, 0xc3 }, 19,
		  CXLMU_ABI_STACK_ARGS },
		/* push rbx; test rdi,rdi; jne L; pop rbx; jmp <tail call>;
		 * L: jmp rcx; mov rax,[rsp+8]; pop rbx; ret. The code after
		 * the indirect jump is reached by none we follow: it gets the
		 * deepest leaving jump's depth (8, not the tail call's 0), and
		 * [rsp+8] is its return address. */
		{ "jump table target", { 0x53, 0x48, 0x85, 0xff, 0x75, 0x03, 0x5b, 0xeb, 0x7f,
					 0xff, 0xe1, 0x48, 0x8b, 0x44, 0x24, 0x08, 0x5b, 0xc3 }, 18,
		  CXLMU_ABI_OK },
		/* fldz; ret */
		{ "fldz", { 0xd9, 0xee, 0xc3 }, 3, CXLMU_ABI_X87 },
		/* fstp st(0); ret: capstone 4 puts it in no x87 group */
		{ "fstp st(0)", { 0xdd, 0xd8, 0xc3 }, 3, CXLMU_ABI_X87 },
		/* mov rcx,[rsp+8]; test al,al; ret: variadic says more */
		{ "stack, then al", { 0x48, 0x8b, 0x4c, 0x24, 0x08, 0x84, 0xc0, 0xc3 }, 8,
		  CXLMU_ABI_VARIADIC },
		/* fldz; mov rcx,[rsp+8]; ret: stack arguments say more */
		{ "x87, then stack", { 0xd9, 0xee, 0x48, 0x8b, 0x4c, 0x24, 0x08, 0xc3 }, 8,
		  CXLMU_ABI_STACK_ARGS },
		/* jmp $ : a loop onto itself */
		{ "jmp to itself", { 0xeb, 0xfe }, 2, CXLMU_ABI_OK },
		/* jmp +0x7f: out of the function, a tail call */
		{ "jmp out", { 0xeb, 0x7f }, 2, CXLMU_ABI_OK },
		/* mov rax,[rsp+8] cut after 3 bytes */
		{ "cut instruction", { 0x48, 0x8b, 0x44 }, 3, CXLMU_ABI_UNCHECKED },
		/* two 0xff: no x86 instruction */
		{ "undecodable", { 0xff, 0xff, 0xff, 0xff }, 4, CXLMU_ABI_UNCHECKED },
	};
	char why[160];

	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(cases); i++) {
		enum cxlmu_abicheck v = check_bytes(cases[i].code, cases[i].len, why, sizeof(why));

		ck_assert_msg(v == cases[i].want, "%s: %s (%s), want %s", cases[i].what,
			      cxlmu_abicheck_name(v), why, cxlmu_abicheck_name(cases[i].want));
	}
}
END_TEST

/* Random bytes: any verdict, but an answer, and no read past the end (the
 * fence faults) or crash. Fixed seed: the same bytes every run. */
START_TEST(garbage)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint8_t buf[4096];
	char why[160];

	for (int round = 0; round < 3000; round++) {
		size_t len = 1 + (size_t)(x % sizeof(buf));

		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (uint8_t)x;
		}
		/* Some rounds lean on stack and branch opcodes. */
		if (round % 3 == 1)
			for (size_t i = 0; i < len; i += 3)
				buf[i] = (uint8_t[]){ 0x48, 0x50, 0x58, 0x74, 0xeb, 0xc3, 0x55, 0x5d }[buf[i] & 7];
		enum cxlmu_abicheck v = check_bytes(buf, len, why, sizeof(why));
		ck_assert_msg(v <= CXLMU_ABI_UNCHECKED, "round %d: verdict %d", round, (int)v);
	}
	memset(buf, 0, sizeof(buf));
	check_bytes(buf, sizeof(buf), why, sizeof(why));
	memset(buf, 0xff, sizeof(buf));
	ck_assert_int_eq(check_bytes(buf, sizeof(buf), why, sizeof(why)), CXLMU_ABI_UNCHECKED);
	/* A tiny why buffer is cut, not overrun. */
	why[0] = 'x';
	why[1] = 'y';
	check_bytes(buf, sizeof(buf), why, 1);
	ck_assert_msg(why[0] == '\0' && why[1] == 'y', "why[1] overwritten");
}
END_TEST

/* Code is read up to a cap: a larger function is unchecked, not read whole. */
START_TEST(too_large)
{
	size_t sizes[] = { 64 * 1024, 64 * 1024 + 1, 1024 * 1024 };
	char why[160];

	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(sizes); i++) {
		struct fenced f;
		uint8_t *p = fenced_buf(&f, sizes[i]);
		enum cxlmu_abicheck v;

		memset(p, 0x90, sizes[i] - 1);          /* nop ... ret */
		p[sizes[i] - 1] = 0xc3;
		v = cxlmu_abicheck(p, sizes[i], why, sizeof(why));
		fenced_free(&f);
		if (sizes[i] <= 64 * 1024) {
			ck_assert_msg(v == CXLMU_ABI_OK, "%zu nops: %s (%s)", sizes[i],
				      cxlmu_abicheck_name(v), why);
		} else {
			ck_assert_msg(v == CXLMU_ABI_UNCHECKED, "%zu nops: %s", sizes[i],
				      cxlmu_abicheck_name(v));
			ck_assert_msg(strstr(why, "larger"), "%zu nops: why is '%s'", sizes[i], why);
		}
	}
}
END_TEST

START_TEST(names)
{
	for (int a = CXLMU_ABI_OK; a <= CXLMU_ABI_UNCHECKED; a++) {
		const char *na = cxlmu_abicheck_name(a);

		ck_assert_msg(na && *na, "verdict %d has no name", a);
		for (int b = CXLMU_ABI_OK; b < a; b++)
			ck_assert_msg(strcmp(na, cxlmu_abicheck_name(b)),
				      "verdicts %d and %d are both '%s'", a, b, na);
	}
	ck_assert_str_eq(cxlmu_abicheck_name(CXLMU_ABI_STACK_ARGS), "takes arguments on the stack");
	ck_assert_str_eq(cxlmu_abicheck_name(CXLMU_ABI_VARIADIC), "is variadic");
}
END_TEST

Suite *suite_abicheck(void)
{
	static const uint8_t ret = 0xc3;
	char why[160];
	Suite *s;
	TCase *tc;

	/* Without libcapstone.so.4 every verdict is UNCHECKED: nothing to test. */
	if (cxlmu_abicheck(&ret, 1, why, sizeof(why)) == CXLMU_ABI_UNCHECKED)
		UNIT_SKIP("%s", why);

	s = suite_create("abicheck");
	tc = tcase_create("functions");
	tcase_add_loop_test(tc, verdict_O2, 0, (int)CXLMU_ARRAY_SIZE(fns));
	tcase_add_loop_test(tc, verdict_O0, 0, (int)CXLMU_ARRAY_SIZE(fns));
#ifndef __clang__
	tcase_add_test(tc, o0_has_frame_pointer);
#endif
	suite_add_tcase(s, tc);

	tc = tcase_create("inputs");
	tcase_add_test(tc, no_size);
	tcase_add_test(tc, handmade);
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, too_large);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return s;
}
