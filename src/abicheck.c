/* ABI checks for --remote: can a function be carried by the remote
 * trampoline? The main entry point is cxlmu_abicheck(), which reads the
 * function's machine code with capstone (loaded with dlopen on first use)
 * and looks for what the trampoline cannot carry: stack arguments, the
 * variadic prologue, x87 (long double) use.
 *
 * How it reads the code. One linear sweep decodes every instruction of the
 * symbol into a small record (its stack effect, its rsp- or rbp-based
 * memory operand, its successors). Then a data flow over the control flow
 * graph gives each instruction the stack depth at its start: "frame", the
 * bytes pushed since entry, where the entry rsp points at the return
 * address and the stack arguments start 8 bytes above it. Compilers keep
 * the depth at each instruction unique (their unwind tables need it), so a
 * path-insensitive flow is exact for their code. Following the jumps rather
 * than resetting the depth after each ret is what makes the blocks after an
 * epilogue, and shrink-wrapped prologues (GCC -O2 pushes after an early
 * return test), come out right.
 *
 *   push/pop +-8, sub/add rsp,imm, lea rsp,[rsp+d]   frame changes by that
 *   mov rbp,rsp / lea rbp,[rsp+d]                    rbp becomes a frame pointer
 *   mov rsp,rbp / lea rsp,[rbp+d] / leave            frame known again from rbp
 *   and rsp,imm / sub rsp,reg / other writes of rsp  rsp-relative depth unknown
 *   other writes of rbp, pop rbp                     rbp is no frame pointer
 *
 * Verdicts, in the order of precedence:
 *   CXLMU_ABI_VARIADIC    %al (or more of rax) read on a path from the entry
 *                         on which rax was never written: the `test al,al`
 *                         that guards the xmm register save area.
 *   CXLMU_ABI_STACK_ARGS  a memory operand, lea included, at rsp+d with
 *                         d >= frame+8, or rbp+d with d >= rbp_off+8. GCC's
 *                         int-only va_start has no test of %al but computes
 *                         overflow_arg_area with such an lea: it lands here.
 *   CXLMU_ABI_X87         any x87 instruction. Conservative: a function that
 *                         uses long double only inside is refused too, and
 *                         the code cannot tell that apart from returning one.
 *
 * Limits (it is a heuristic over code without types):
 *  - Only rsp- and rbp-based operands are seen. A stack argument reached
 *    through a copy of rsp in another register (GCC's DRAP, `lea r10,
 *    [rsp+8]; and rsp,-32`, for over-aligned frames) is missed.
 *  - Only the symbol's st_size bytes are read: the part GCC moves to
 *    foo.cold is not (it rarely reads arguments the hot part did not).
 *  - Jump-table targets are not followed; they get the depth of the
 *    deepest indirect (or outgoing direct) jump, which is the dispatch's.
 *  - A stack argument the function never reads (unused seventh argument)
 *    is invisible, and harmless. A call whose callee never returns is
 *    taken to fall through; a later jump's depth overrides that guess.
 *  - A tail call hands over what the callee does: glibc's strtold is a
 *    `jmp` to its worker, and the x87 return happens there, unseen; a
 *    function passing its stack arguments on untouched to a tail call
 *    reads none of them.
 *  - The x87 test refuses functions that only compute with long double
 *    inside (glibc's difftime uses fild).
 *  - Instructions capstone 4 does not know (wrpkru, newer extensions) end
 *    the read: CXLMU_ABI_UNCHECKED, unless what came before settles it.
 *  - Hand-written code with its own conventions (rax as an input, as in
 *    mcount; setjmp's look at the caller's frame) can fool either test. */
#include <capstone.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "prim.h"
#include "abicheck.h"
#include "dlload.h"

/* Functions larger than this are not read past it: no compiler emits a
 * function this size that anyone would call through the trampoline. */
#define SCAN_MAX (64 * 1024)

/* ----------------------------------------------------------------------- */
/* capstone, loaded on first use */

#define STR_(x) #x
#define STR(x) STR_(x)
#define CAPSTONE_SONAME "libcapstone.so." STR(CS_API_MAJOR)

static struct {
	typeof(cs_open) *open;
	typeof(cs_option) *option;
	typeof(cs_malloc) *malloc;
	typeof(cs_disasm_iter) *disasm_iter;
	typeof(cs_regs_access) *regs_access;
	typeof(cs_free) *free;
	typeof(cs_close) *close;
	const char *err;        /* NULL once every function was found */
} cs;
static char cs_errbuf[256];
static _Atomic int cs_once;

/* Run once (pthread_once), which also orders its stores to cs before
 * every caller's reads. */
static void cs_load(void)
{
	char pkg[32];
	void *h;

	snprintf(pkg, sizeof(pkg), "libcapstone%d", CS_API_MAJOR);
	if (!(h = cxlmu_dl_load(CAPSTONE_SONAME, pkg, cs_errbuf, sizeof(cs_errbuf)))) {
		cs.err = cs_errbuf;
		return;
	}
#define CS_SYM(field, name) \
	if (!(cs.field = (typeof(cs.field))cxlmu_dl_sym(h, CAPSTONE_SONAME, #name, \
							 cs_errbuf, sizeof(cs_errbuf)))) { \
		cs.err = cs_errbuf; \
		return; \
	}
	CS_SYM(open, cs_open)
	CS_SYM(option, cs_option)
	CS_SYM(malloc, cs_malloc)
	CS_SYM(disasm_iter, cs_disasm_iter)
	CS_SYM(regs_access, cs_regs_access)
	CS_SYM(free, cs_free)
	CS_SYM(close, cs_close)
#undef CS_SYM
	/* The library stays loaded: the pointers above live as long as we do. */
}

/* ----------------------------------------------------------------------- */
/* Decoding: one record per instruction */

enum sp_op {
	SP_NONE,
	SP_DELTA,       /* frame += arg */
	SP_UNKNOWN,     /* rsp set to something we do not follow */
	SP_FROM_RBP,    /* rsp = rbp + arg */
	SP_LEAVE,       /* rsp = rbp; pop rbp */
	BP_FROM_SP,     /* rbp = rsp + arg */
	BP_LOST,        /* rbp no longer a frame pointer */
	BP_POP,         /* pop rbp */
	SP_ENTER,       /* enter arg, 0 */
};

enum succ {
	FL_NEXT,        /* falls through */
	FL_COND,        /* to target, or falls through */
	FL_JUMP,        /* to target only */
	FL_CALL,        /* falls through once the callee returns */
	FL_OUT,         /* leaves: indirect jump, or a jump out of the symbol */
	FL_STOP,        /* ret, ud2, hlt */
};

/* ins.flags */
#define F_BASE_SP   0x01    /* the memory operand is rsp-based */
#define F_BASE_BP   0x02    /* ... rbp-based */
#define F_READS_AX  0x04    /* reads al/ah/ax/eax/rax */
#define F_WRITES_AX 0x08
#define F_X87       0x10

/* The state at an instruction's start, filled by the flow. */
#define FRAME_UNKNOWN INT32_MIN
#define HOW_NONE   0        /* not reached yet */
#define HOW_WEAK   1        /* reached only past a call, or guessed */
#define HOW_STRONG 2        /* reached from the entry along jumps */

struct ins {
	uint32_t off;           /* from the entry */
	uint32_t target;        /* branch target offset (FL_COND, FL_JUMP) */
	int32_t disp;           /* the rsp/rbp memory operand's displacement */
	int32_t arg;            /* the stack op's operand */
	uint8_t op, flow, flags;
	/* state */
	uint8_t how, ax_open, queued;
	int32_t frame, rbp;     /* rbp: rbp == entry_rsp - rbp, or FRAME_UNKNOWN */
};

static bool is_ax(unsigned r)
{
	return r == X86_REG_AL || r == X86_REG_AH || r == X86_REG_AX ||
	       r == X86_REG_EAX || r == X86_REG_RAX;
}

static bool is_sp(unsigned r)
{
	return r == X86_REG_RSP || r == X86_REG_ESP || r == X86_REG_SP || r == X86_REG_SPL;
}

static bool is_bp(unsigned r)
{
	return r == X86_REG_RBP || r == X86_REG_EBP || r == X86_REG_BP || r == X86_REG_BPL;
}

/* Clamp a displacement to int32 (x86-64 encodes at most 32 bits, but
 * capstone gives 64 and movabs forms carry more). */
static int32_t clamp32(int64_t v)
{
	return v > INT32_MAX ? INT32_MAX : v < INT32_MIN + 1 ? INT32_MIN + 1 : (int32_t)v;
}

/* x87: every x87 mnemonic starts with 'f'; of the rest only the
 * FXSAVE/FXRSTOR state saves and 3DNow!'s FEMMS do. (capstone 4's
 * X86_GRP_FPU is not on all of them: not on fstp st(0), not on fnstcw;
 * and operands name ST0-7 only for the register forms.) */
static bool is_x87(const cs_insn *in)
{
	const char *m = in->mnemonic;

	if (m[0] != 'f')
		return false;
	return strncmp(m, "fxsave", 6) && strncmp(m, "fxrstor", 7) && strcmp(m, "femms");
}

/* xor eax,eax, sbb eax,eax (0 or -1 from CF), or eax,-1, and eax,0: the
 * result does not depend on the register, which capstone reports read.
 * clang's `push rax` only moves rsp to keep it aligned. */
static bool dead_read(const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;
	const cs_x86_op *o0 = &x->operands[0], *o1 = &x->operands[1];
	uint64_t ones;

	if (in->id == X86_INS_PUSH)
		return true;
	if (x->op_count != 2 || o0->type != X86_OP_REG)
		return false;
	/* capstone gives or eax,-1 as 0xffffffff: compare at operand size. */
	ones = o0->size >= 8 ? ~0ull : (1ull << (8 * o0->size)) - 1;
	switch (in->id) {
	case X86_INS_XOR:
	case X86_INS_SUB:
	case X86_INS_SBB:
		return o1->type == X86_OP_REG && o0->reg == o1->reg;
	case X86_INS_OR:
		return o1->type == X86_OP_IMM && ((uint64_t)o1->imm & ones) == ones;
	case X86_INS_AND:
		return o1->type == X86_OP_IMM && o1->imm == 0;
	}
	return false;
}

/* What rsp/rbp effect does the instruction have? Sets ins->op/arg. */
static void stack_op(struct ins *ins, const cs_insn *in, bool w_sp, bool w_bp)
{
	const cs_x86 *x = &in->detail->x86;
	const cs_x86_op *o0 = &x->operands[0], *o1 = &x->operands[1];
	bool two = x->op_count == 2;

	switch (in->id) {
	case X86_INS_PUSH:
		ins->op = SP_DELTA;
		ins->arg = x->op_count && o0->size == 2 ? 2 : 8;
		return;
	case X86_INS_POP:
		ins->op = x->op_count && o0->type == X86_OP_REG && is_bp(o0->reg) ? BP_POP : SP_DELTA;
		ins->arg = x->op_count && o0->size == 2 ? -2 : -8;
		return;
	case X86_INS_PUSHFQ:
		ins->op = SP_DELTA;
		ins->arg = 8;
		return;
	case X86_INS_POPFQ:
		ins->op = SP_DELTA;
		ins->arg = -8;
		return;
	case X86_INS_LEAVE:
		ins->op = SP_LEAVE;
		return;
	case X86_INS_ENTER:
		/* Nesting levels other than 0 copy frame pointers: not followed. */
		if (x->op_count == 2 && o0->type == X86_OP_IMM && o1->type == X86_OP_IMM &&
		    o1->imm == 0) {
			ins->op = SP_ENTER;
			ins->arg = clamp32(o0->imm);
		} else {
			ins->op = SP_UNKNOWN;
		}
		return;
	case X86_INS_CALL:
	case X86_INS_RET:
		return;         /* net rsp unchanged, or the end */
	}
	if (w_sp) {
		ins->op = SP_UNKNOWN;
		if (!two || o0->type != X86_OP_REG || o0->reg != X86_REG_RSP)
			return;
		if ((in->id == X86_INS_SUB || in->id == X86_INS_ADD) && o1->type == X86_OP_IMM) {
			int64_t d = in->id == X86_INS_SUB ? o1->imm : -o1->imm;
			ins->op = SP_DELTA;
			ins->arg = clamp32(d);
		} else if (in->id == X86_INS_LEA && o1->type == X86_OP_MEM &&
			   o1->mem.index == X86_REG_INVALID && o1->mem.segment == X86_REG_INVALID) {
			if (o1->mem.base == X86_REG_RSP) {
				ins->op = SP_DELTA;
				ins->arg = clamp32(-o1->mem.disp);
			} else if (o1->mem.base == X86_REG_RBP) {
				ins->op = SP_FROM_RBP;
				ins->arg = clamp32(o1->mem.disp);
			}
		} else if (in->id == X86_INS_MOV && o1->type == X86_OP_REG && o1->reg == X86_REG_RBP) {
			ins->op = SP_FROM_RBP;
			ins->arg = 0;
		}
		return;
	}
	if (w_bp) {
		ins->op = BP_LOST;
		if (!two || o0->type != X86_OP_REG || o0->reg != X86_REG_RBP)
			return;
		if (in->id == X86_INS_MOV && o1->type == X86_OP_REG && o1->reg == X86_REG_RSP) {
			ins->op = BP_FROM_SP;
			ins->arg = 0;
		} else if (in->id == X86_INS_LEA && o1->type == X86_OP_MEM &&
			   o1->mem.base == X86_REG_RSP && o1->mem.index == X86_REG_INVALID &&
			   o1->mem.segment == X86_REG_INVALID) {
			ins->op = BP_FROM_SP;
			ins->arg = clamp32(o1->mem.disp);
		}
	}
}

static void decode_one(struct ins *ins, csh h, const cs_insn *in, uint64_t size)
{
	const cs_x86 *x = &in->detail->x86;
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0;
	bool w_sp = false, w_bp = false;

	memset(ins, 0, sizeof(*ins));
	ins->off = (uint32_t)in->address;
	ins->flow = FL_NEXT;
	/* Padding: `nop [rax+rax]` names rax but reads nothing, and the
	 * two-byte `xchg ax,ax` writes nothing. */
	if (in->id == X86_INS_NOP || (in->id == X86_INS_XCHG && x->op_count == 2 &&
	    x->operands[0].type == X86_OP_REG && x->operands[1].type == X86_OP_REG &&
	    x->operands[0].reg == x->operands[1].reg))
		return;
	if (cs.regs_access(h, in, rd, &nrd, wr, &nwr) == CS_ERR_OK) {
		bool dead = dead_read(in);

		for (uint8_t i = 0; i < nrd; i++)
			if (is_ax(rd[i]) && !dead)
				ins->flags |= F_READS_AX;
		for (uint8_t i = 0; i < nwr; i++) {
			if (is_ax(wr[i]))
				ins->flags |= F_WRITES_AX;
			w_sp |= is_sp(wr[i]);
			w_bp |= is_bp(wr[i]);
		}
	}
	if (is_x87(in))
		ins->flags |= F_X87;

	/* At most one explicit memory operand on x86; a string instruction's
	 * two are rsi/rdi-based and of no interest. fs/gs are TLS. */
	for (uint8_t i = 0; i < x->op_count; i++) {
		const x86_op_mem *m = &x->operands[i].mem;

		if (x->operands[i].type != X86_OP_MEM || m->segment == X86_REG_FS ||
		    m->segment == X86_REG_GS)
			continue;
		if (m->base == X86_REG_RSP)
			ins->flags |= F_BASE_SP;
		else if (m->base == X86_REG_RBP)
			ins->flags |= F_BASE_BP;
		else
			continue;
		ins->disp = clamp32(m->disp);
		break;
	}

	stack_op(ins, in, w_sp, w_bp);

	for (uint8_t i = 0; i < in->detail->groups_count; i++) {
		uint8_t g = in->detail->groups[i];

		if (g == X86_GRP_RET || g == X86_GRP_IRET) {
			ins->flow = FL_STOP;
		} else if (g == X86_GRP_CALL) {
			ins->flow = FL_CALL;
		} else if (g == X86_GRP_JUMP) {
			bool uncond = in->id == X86_INS_JMP || in->id == X86_INS_LJMP;
			bool direct = x->op_count == 1 && x->operands[0].type == X86_OP_IMM;

			if (direct && (uint64_t)x->operands[0].imm < size) {
				ins->flow = uncond ? FL_JUMP : FL_COND;
				ins->target = (uint32_t)x->operands[0].imm;
			} else {
				/* A tail call, a jump table, a jump to foo.cold. */
				ins->flow = uncond ? FL_OUT : FL_NEXT;
			}
		}
	}
	if (in->id == X86_INS_UD2 || in->id == X86_INS_HLT)
		ins->flow = FL_STOP;
	if (ins->flow == FL_CALL)
		ins->flags |= F_WRITES_AX;      /* the callee's return value */
}

/* ----------------------------------------------------------------------- */
/* The flow: the stack depth at every instruction */

struct cfg {
	struct ins *ins;
	uint32_t n;
	uint32_t *work;         /* a stack of indices; ins.queued avoids doubles */
	uint32_t nwork;
};

static uint32_t find(const struct cfg *f, uint32_t off)
{
	uint32_t lo = 0, hi = f->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (f->ins[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->n && f->ins[lo].off == off ? lo : UINT32_MAX;
}

/* Merge a state into instruction i's. A weaker guess never overrides a
 * stronger one; two disagreeing equals make the depth unknown (which
 * only silences the rsp/rbp tests there). Every change moves up a finite
 * ladder (none, weak, strong; known, unknown; ax closed, open), so the
 * flow ends. */
static void merge(struct cfg *f, uint32_t i, uint8_t how, int32_t frame, int32_t rbp, uint8_t ax)
{
	struct ins *d;
	bool changed = false;

	if (i >= f->n)
		return;
	d = &f->ins[i];
	if (how < d->how)
		return;
	if (how > d->how) {
		d->how = how;
		d->frame = frame;
		d->rbp = rbp;
		d->ax_open = ax;
		changed = true;
	} else {
		if (d->frame != frame && d->frame != FRAME_UNKNOWN) {
			d->frame = FRAME_UNKNOWN;
			changed = true;
		}
		if (d->rbp != rbp && d->rbp != FRAME_UNKNOWN) {
			d->rbp = FRAME_UNKNOWN;
			changed = true;
		}
		if (ax && !d->ax_open) {
			d->ax_open = 1;
			changed = true;
		}
	}
	if (changed && !d->queued) {
		d->queued = 1;
		f->work[f->nwork++] = i;
	}
}

static int32_t add_known(int32_t a, int32_t b)
{
	int64_t v = (int64_t)a + b;

	if (a == FRAME_UNKNOWN || v <= INT32_MIN || v > INT32_MAX)
		return FRAME_UNKNOWN;
	return (int32_t)v;
}

/* The state after instruction s, given the state before it. */
static void transfer(const struct ins *s, int32_t *frame, int32_t *rbp, uint8_t *ax)
{
	switch (s->op) {
	case SP_DELTA:
		*frame = add_known(*frame, s->arg);
		break;
	case SP_UNKNOWN:
		*frame = FRAME_UNKNOWN;
		break;
	case SP_FROM_RBP:       /* rsp = rbp + arg: frame = rbp_off - arg */
		*frame = *rbp == FRAME_UNKNOWN ? FRAME_UNKNOWN : add_known(*rbp, -s->arg);
		break;
	case SP_LEAVE:
		*frame = *rbp == FRAME_UNKNOWN ? FRAME_UNKNOWN : add_known(*rbp, -8);
		*rbp = FRAME_UNKNOWN;
		break;
	case BP_FROM_SP:        /* rbp = rsp + arg: rbp_off = frame - arg */
		*rbp = *frame == FRAME_UNKNOWN ? FRAME_UNKNOWN : add_known(*frame, -s->arg);
		break;
	case BP_LOST:
		*rbp = FRAME_UNKNOWN;
		break;
	case BP_POP:
		*frame = add_known(*frame, -8);
		*rbp = FRAME_UNKNOWN;
		break;
	case SP_ENTER:
		*frame = add_known(*frame, 8);
		*rbp = *frame;
		*frame = add_known(*frame, s->arg);
		break;
	}
	if (s->flags & F_WRITES_AX)
		*ax = 0;
}

static void run(struct cfg *f)
{
	while (f->nwork) {
		uint32_t i = f->work[--f->nwork];
		struct ins *s = &f->ins[i];
		int32_t frame = s->frame, rbp = s->rbp;
		uint8_t ax = s->ax_open, how = s->how;

		s->queued = 0;
		transfer(s, &frame, &rbp, &ax);
		switch (s->flow) {
		case FL_COND:
			merge(f, find(f, s->target), how, frame, rbp, ax);
			/* fall through */
		case FL_NEXT:
			merge(f, i + 1, how, frame, rbp, ax);
			break;
		case FL_JUMP:
			merge(f, find(f, s->target), how, frame, rbp, ax);
			break;
		case FL_CALL:
			merge(f, i + 1, HOW_WEAK, frame, rbp, 0);
			break;
		}
	}
}

/* Code the flow did not reach: jump-table targets, blocks only the .cold
 * part jumps back to, dead code. Their depth is most likely that of the
 * deepest jump that leaves (the dispatch, the jump to .cold; a tail call
 * has depth 0), else the deepest seen anywhere: guessing too deep can
 * only miss an access, too shallow would call locals arguments. */
static void guess_rest(struct cfg *f)
{
	int32_t frame = FRAME_UNKNOWN, rbp = FRAME_UNKNOWN;
	bool left = false;

	for (uint32_t i = 0; i < f->n; i++) {
		const struct ins *s = &f->ins[i];

		if (s->how == HOW_NONE || s->frame == FRAME_UNKNOWN)
			continue;
		if (s->flow == FL_OUT && (!left || s->frame > frame)) {
			frame = s->frame;
			rbp = s->rbp;
			left = true;
		} else if (!left && (frame == FRAME_UNKNOWN || s->frame > frame)) {
			frame = s->frame;
			rbp = s->rbp;
		}
	}
	for (uint32_t i = 0; i < f->n; i++) {
		if (f->ins[i].how != HOW_NONE)
			continue;
		merge(f, i, HOW_WEAK, frame, rbp, 0);
		run(f);
	}
}

/* ----------------------------------------------------------------------- */

static void say(char *why, size_t whysize, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(char *why, size_t whysize, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whysize)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysize, fmt, ap);
	va_end(ap);
}

/* Name the instruction at off for a message: "+0x7: mov ecx, dword ptr
 * [rsp + 8]". */
static void say_insn(char *why, size_t whysize, csh h, cs_insn *in,
		     const uint8_t *code, size_t size, uint32_t off)
{
	const uint8_t *p = code + off;
	size_t left = size - off;
	uint64_t addr = off;

	if (cs.disasm_iter(h, &p, &left, &addr, in))
		say(why, whysize, "+0x%x: %s %s", off, in->mnemonic, in->op_str);
	else
		say(why, whysize, "+0x%x", off);
}

/* The most telling verdict wins: a variadic function also reads its
 * stack arguments, and fld [rsp+8] is both x87 and a stack argument. */
static int rank(enum cxlmu_abicheck v)
{
	return v == CXLMU_ABI_VARIADIC ? 3 : v == CXLMU_ABI_STACK_ARGS ? 2 :
	       v == CXLMU_ABI_X87 ? 1 : 0;
}

enum cxlmu_abicheck cxlmu_abicheck(const void *code, size_t size, char *why, size_t whysize)
{
	enum cxlmu_abicheck v = CXLMU_ABI_OK;
	size_t scan = size < SCAN_MAX ? size : SCAN_MAX, maplen, left;
	const uint8_t *p = code;
	uint64_t addr = 0;
	uint32_t evidence = 0;
	struct cfg f = { 0 };
	cs_insn *in;
	void *map;
	csh h;

	say(why, whysize, "%s", "");
	if (!code || !size) {
		say(why, whysize, "its symbol has no size");
		return CXLMU_ABI_UNCHECKED;
	}
	cxlmu_prim_once(&cs_once, cs_load);
	if (cs.err) {
		say(why, whysize, "%s", cs.err);
		return CXLMU_ABI_UNCHECKED;
	}
	if (cs.open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) {
		say(why, whysize, "capstone cannot open an x86-64 disassembler");
		return CXLMU_ABI_UNCHECKED;
	}
	cs.option(h, CS_OPT_DETAIL, CS_OPT_ON);
	in = cs.malloc(h);
	/* Not malloc: this may run while the program's allocator is ours. At
	 * most one instruction per byte; untouched pages cost nothing. */
	maplen = scan * (sizeof(struct ins) + sizeof(uint32_t));
	map = in ? cxlmu_prim_map_table(maplen) : NULL;
	if (!map) {
		if (in)
			cs.free(in, 1);
		cs.close(&h);
		say(why, whysize, "out of memory");
		return CXLMU_ABI_UNCHECKED;
	}
	f.ins = map;
	f.work = (uint32_t *)(f.ins + scan);

	left = scan;
	while (left && cs.disasm_iter(h, &p, &left, &addr, in))
		decode_one(&f.ins[f.n++], h, in, scan);
	/* Stopped early: bytes capstone cannot decode, or an instruction cut
	 * by SCAN_MAX. Judge what was read; say so if it finds nothing. */

	merge(&f, 0, HOW_STRONG, 0, FRAME_UNKNOWN, 1);
	run(&f);
	guess_rest(&f);

	for (uint32_t i = 0; i < f.n; i++) {
		const struct ins *s = &f.ins[i];
		enum cxlmu_abicheck found = CXLMU_ABI_OK;

		if (s->ax_open && (s->flags & F_READS_AX))
			found = CXLMU_ABI_VARIADIC;
		else if ((s->flags & F_BASE_SP) && s->frame != FRAME_UNKNOWN &&
			 (int64_t)s->disp >= (int64_t)s->frame + 8)
			found = CXLMU_ABI_STACK_ARGS;
		else if ((s->flags & F_BASE_BP) && s->rbp != FRAME_UNKNOWN &&
			 (int64_t)s->disp >= (int64_t)s->rbp + 8)
			found = CXLMU_ABI_STACK_ARGS;
		else if (s->flags & F_X87)
			found = CXLMU_ABI_X87;
		if (rank(found) > rank(v)) {
			v = found;
			evidence = s->off;
		}
	}

	if (v != CXLMU_ABI_OK) {
		say_insn(why, whysize, h, in, code, scan, evidence);
	} else if (size > scan) {
		v = CXLMU_ABI_UNCHECKED;
		say(why, whysize, "its code is larger than %d KiB", SCAN_MAX / 1024);
	} else if (left) {
		v = CXLMU_ABI_UNCHECKED;
		say(why, whysize, "capstone cannot decode its code at +0x%zx", scan - left);
	}
	cxlmu_prim_munmap(map, maplen);
	cs.free(in, 1);
	cs.close(&h);
	return v;
}

const char *cxlmu_abicheck_name(enum cxlmu_abicheck v)
{
	switch (v) {
	case CXLMU_ABI_OK:
		return "can be called remotely";
	case CXLMU_ABI_STACK_ARGS:
		return "takes arguments on the stack";
	case CXLMU_ABI_VARIADIC:
		return "is variadic";
	case CXLMU_ABI_X87:
		return "returns or passes long double (x87)";
	case CXLMU_ABI_UNCHECKED:
		return "cannot be checked";
	}
	return "?";
}
