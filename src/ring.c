/* The per-thread io_uring a poll waits in (src/wait.c), the one-shot
 * word waits of remote calls (src/remote.c), and what the kernel offers
 * (probed once for the whole runtime). One poll wait is one io_uring_enter
 * that waits for a completion with the deadline as its timeout. The wake channel stays armed between waits: a
 * futex wait on the thread's wake word, or a read of its eventfd; for
 * MSG_RING there is nothing to arm, the waker posts a completion straight
 * into this ring.
 *
 * Why the timeout rides on the wait (IORING_ENTER_EXT_ARG) rather than on
 * an IORING_OP_TIMEOUT request: measured on the 2-core test machine, an
 * idle poll costs about a quarter less CPU that way (no request to
 * allocate, complete and reap), and a wake-up leaves no timeout behind to
 * cancel. Kernels before 5.11 get the timeout request (liburing adds it). */
#include <errno.h>
#include <string.h>

#include "prim.h"
#include "ring.h"
#include "sandbox.h"

/* Not in Debian's liburing 2.3 (kernel 6.7). */
#define OP_FUTEX_WAIT      51
#define FUTEX2_SIZE_U32    0x02
#define FUTEX2_PRIVATE     128
#define FUTEX_MATCH_ANY    0xffffffffu

/* CQE tags. */
enum { TAG_OTHER, TAG_WAKE, TAG_MSG, TAG_ONCE, TAG_ONCE_TIMEOUT };

static const unsigned setup_flags[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	IORING_SETUP_COOP_TASKRUN,
	0,
};

static bool op_supported(const struct io_uring_probe *p, unsigned op)
{
	return op <= p->last_op && (p->ops[op].flags & IO_URING_OP_SUPPORTED);
}

static void probe(struct cxlmu_ring_caps *caps)
{
	/* On the stack: io_uring_get_probe() would malloc. */
	union {
		struct io_uring_probe p;
		char buf[sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op)];
	} u;
	struct io_uring ring;
	int r = -EINVAL;

	memset(caps, 0, sizeof(*caps));
	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(setup_flags); i++) {
		struct io_uring_params params = { .flags = setup_flags[i] };
		r = io_uring_queue_init_params(4, &ring, &params);
		if (!r) {
			caps->flags = setup_flags[i];
			break;
		}
		/* Only unknown flags are worth another try. */
		if (r != -EINVAL)
			break;
	}
	if (r) {
		caps->setup_err = r;
		return;
	}
	memset(&u, 0, sizeof(u));
	if (!io_uring_register_probe(&ring, &u.p, 256)) {
		caps->futex = op_supported(&u.p, OP_FUTEX_WAIT);
		caps->msg_ring = op_supported(&u.p, IORING_OP_MSG_RING);
		caps->read = op_supported(&u.p, IORING_OP_READ);
		caps->timeout = op_supported(&u.p, IORING_OP_TIMEOUT);
	}
	caps->reg_ring = io_uring_register_ring_fd(&ring) == 1;
	io_uring_queue_exit(&ring);
}

static struct cxlmu_ring_caps caps;

static void probe_caps(void)
{
	probe(&caps);
}

const struct cxlmu_ring_caps *cxlmu_ring_caps(void)
{
	static _Atomic int once;

	/* Not pthread_once: the scheduler asks under its own lock, and the
	 * runtime's pthread_once is the program's hooked one. */
	cxlmu_prim_once(&once, probe_caps);
	return &caps;
}

int cxlmu_ring_init(struct cxlmu_ring *r, const struct cxlmu_ring_caps *caps,
		    enum cxlmu_wait_path path)
{
	struct io_uring_params params = { .flags = caps->flags };
	int ret;

	/* MSG_RING into a DEFER_TASKRUN ring needs a newer kernel than the
	 * flag itself; nothing is gained there, so leave it out. */
	if (path == CXLMU_WAIT_MSG_RING && (params.flags & IORING_SETUP_DEFER_TASKRUN))
		params.flags = IORING_SETUP_COOP_TASKRUN;
	memset(r, 0, sizeof(*r));
	r->own = CXLMU_FD_NONE;
	/* Four entries: a wake-channel op, a timeout, an outgoing message. */
	ret = io_uring_queue_init_params(4, &r->uring, &params);
	if (ret)
		return ret;
	/* High, and checked before it is closed, from the start: kept as the
	 * target of wakers' messages (msg_ring), or where registration fails. */
	if ((ret = cxlmu_ring_adopt_fd(&r->uring, &r->own))) {
		io_uring_queue_exit(&r->uring);
		return ret;
	}
	/* Entered by its registered index from now on, so that a program
	 * that closes or reuses the descriptor's number cannot make us
	 * enter another ring. */
	if (caps->reg_ring && io_uring_register_ring_fd(&r->uring) == 1) {
		if (path != CXLMU_WAIT_MSG_RING) {
			/* The descriptor can go: the program never sees it. */
			cxlmu_prim_fd_close(&r->own);
			r->uring.ring_fd = -1;
		}
	} else if (path == CXLMU_WAIT_MSG_RING) {
		/* MSG_RING exists only where registered rings do. */
		io_uring_queue_exit(&r->uring);
		return -EOPNOTSUPP;
	}
	r->live = true;
	return 0;
}

int cxlmu_ring_adopt_fd(struct io_uring *u, struct cxlmu_fd *own)
{
	int ret = cxlmu_prim_fd_adopt(own, u->ring_fd);

	/* Before any registration: the ring is entered by this number. */
	u->ring_fd = u->enter_ring_fd = own->fd;
	return ret;
}

void cxlmu_ring_exit(struct cxlmu_ring *r)
{
	if (!r->live)
		return;
	/* Under a seccomp filter the ring is left as it is: unmapping,
	 * unregistering and closing are calls the plain program never makes
	 * (src/sandbox.h). */
	if (cxlmu_sandboxed()) {
		r->live = false;
		return;
	}
	/* liburing's exit unmaps, unregisters and closes with raw system calls
	 * (errno untouched); closing -1 is harmless. A number the program
	 * closed or reused is not ours: liburing gets -1 instead (the
	 * registered index then stays until the thread exits). */
	if (r->uring.ring_fd >= 0 && !cxlmu_prim_fd_still(&r->own))
		r->uring.ring_fd = -1;
	io_uring_queue_exit(&r->uring);
	r->own = CXLMU_FD_NONE;
	r->live = false;
}

int cxlmu_ring_fd(const struct cxlmu_ring *r)
{
	return r->live ? r->uring.ring_fd : -1;
}

/* Take every completion there is. Returns 1 when one of them is a wake-up,
 * -1 when none is, or -errno when the wake channel itself failed. */
static int reap(struct cxlmu_ring *r)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	int ret = -1;

	io_uring_for_each_cqe(&r->uring, head, cqe) {
		n++;
		if (cqe->user_data == TAG_WAKE) {
			r->armed = false;
			/* -EAGAIN: the word had changed before the wait was
			 * queued, which is a wake-up too. */
			if (cqe->res < 0 && cqe->res != -EAGAIN && cqe->res != -ECANCELED)
				ret = cqe->res;
			else if (ret == -1)
				ret = 1;
		} else if (cqe->user_data == TAG_MSG && ret == -1) {
			ret = 1;
		}
		/* Anything else: the failure of a message this thread sent as a
		 * waker, or liburing's own timeout on kernels without
		 * IORING_FEAT_EXT_ARG. Nothing to do. */
	}
	io_uring_cq_advance(&r->uring, n);
	return ret;
}

int cxlmu_ring_wait(struct cxlmu_ring *r, enum cxlmu_wait_path path,
		    _Atomic uint32_t *word, uint32_t val, int efd, uint64_t deadline)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int ret;

	/* A wake-up that came while the thread was away counts now. */
	ret = reap(r);
	if (ret != -1)
		return ret;
	if (!r->armed && path == CXLMU_WAIT_FUTEX) {
		if (!(sqe = io_uring_get_sqe(&r->uring)))
			return -EBUSY;
		cxlmu_ring_prep_futex_wait(sqe, (const void *)word, val, false, TAG_WAKE);
		r->armed = true;
	} else if (!r->armed && path == CXLMU_WAIT_EVENTFD) {
		if (!(sqe = io_uring_get_sqe(&r->uring)))
			return -EBUSY;
		io_uring_prep_read(sqe, efd, &r->efd_buf, sizeof(r->efd_buf), 0);
		sqe->user_data = TAG_WAKE;
		r->armed = true;
	}
	for (;;) {
		uint64_t now = cxlmu_prim_now();
		struct __kernel_timespec ts;

		if (now >= deadline) {
			/* Time is up; an op just armed still goes in. */
			if (io_uring_sq_ready(&r->uring))
				io_uring_submit(&r->uring);
			return 0;
		}
		ts.tv_sec = (long long)((deadline - now) / 1000000000u);
		ts.tv_nsec = (long long)((deadline - now) % 1000000000u);
		/* One io_uring_enter: submit, then wait for a completion or the
		 * timeout, which rides on the wait itself (IORING_FEAT_EXT_ARG,
		 * 5.11) or, on older kernels, is a timeout request liburing adds. */
		ret = io_uring_submit_and_wait_timeout(&r->uring, &cqe, 1, &ts, NULL);
		if (ret == -ETIME)
			return 0;
		if (ret < 0)
			return ret;
		ret = reap(r);
		if (ret != -1)
			return ret;
		/* Only completions that are not wake-ups: wait on. */
	}
}

void cxlmu_ring_prep_futex_wait(struct io_uring_sqe *sqe, const void *word, uint32_t val,
				bool shared, uint64_t tag)
{
	io_uring_prep_rw(OP_FUTEX_WAIT, sqe, FUTEX2_SIZE_U32 | (shared ? 0 : FUTEX2_PRIVATE),
			 word, 0, val);
	sqe->addr3 = FUTEX_MATCH_ANY;
	sqe->user_data = tag;
}

int cxlmu_ring_message(struct cxlmu_ring *r, int target)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_msg_ring(sqe, target, 0, TAG_MSG, 0);
	/* Our own ring hears of the message only if it failed. */
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = TAG_OTHER;
	return io_uring_submit(&r->uring) < 0 ? -EIO : 0;
}

int cxlmu_ring_wait_once(struct cxlmu_ring *r, _Atomic uint32_t *word, uint32_t val,
			 uint64_t deadline)
{
	struct io_uring *u = &r->uring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts;
	int want = deadline ? 2 : 1, res = 0, ret;

	if (io_uring_sq_space_left(u) < (unsigned)want || !(sqe = io_uring_get_sqe(u)))
		return -EBUSY;
	cxlmu_ring_prep_futex_wait(sqe, (const void *)word, val, false, TAG_ONCE);
	if (deadline) {
		sqe->flags |= IOSQE_IO_LINK;
		ts.tv_sec = (long long)(deadline / 1000000000u);
		ts.tv_nsec = (long long)(deadline % 1000000000u);
		sqe = io_uring_get_sqe(u);
		io_uring_prep_link_timeout(sqe, &ts, IORING_TIMEOUT_ABS);
		sqe->user_data = TAG_ONCE_TIMEOUT;
	}
	ret = io_uring_submit(u);
	if (ret < 0)
		return ret;
	while (want) {
		ret = io_uring_wait_cqe(u, &cqe);
		if (ret == -EINTR)
			continue;        /* a handler ran: the wait goes on */
		if (ret < 0)
			return ret;
		if (cqe->user_data == TAG_ONCE)
			res = cqe->res;
		if (cqe->user_data == TAG_ONCE || cqe->user_data == TAG_ONCE_TIMEOUT)
			want--;
		io_uring_cqe_seen(u, cqe);
	}
	/* -ECANCELED: the link timeout fired; -EAGAIN: the word had moved. */
	return res == -ECANCELED ? 0 : 1;
}
