/* A thread's small io_uring for waiting: set-up with the best flags the
 * kernel takes, the opcode probe, and the one wait that covers a deadline
 * and a wake channel. Debian's liburing 2.3 predates the futex opcodes:
 * they are defined here and probed for. */
#ifndef CXLMU_SRC_RING_H
#define CXLMU_SRC_RING_H

#include <stdatomic.h>
#include <liburing.h>

#include "internal.h"
#include "options.h"
#include "prim.h"

struct cxlmu_ring {
	struct io_uring uring;
	uint64_t efd_buf;              /* target of the wake-up pipe's read */
	struct cxlmu_fd own;           /* the ring's descriptor, where kept */
	bool armed;                    /* a futex wait or eventfd read is queued */
	bool live;
};

/* What the kernel offers, probed on a throw-away ring the first time
 * cxlmu_ring_caps is asked, for the whole runtime. */
struct cxlmu_ring_caps {
	int setup_err;       /* 0, or -errno from io_uring_setup (no io_uring) */
	bool futex;          /* IORING_OP_FUTEX_WAIT (6.7) */
	bool msg_ring;       /* IORING_OP_MSG_RING (5.18) */
	bool read;           /* IORING_OP_READ (5.6) */
	bool timeout;        /* IORING_OP_TIMEOUT (5.4) */
	bool reg_ring;       /* registered ring fds (5.18) */
	unsigned flags;      /* setup flags that worked */
};
const struct cxlmu_ring_caps *cxlmu_ring_caps(void);

/* A ring for path. The ring's own fd is closed at once where the path
 * does not need it (futex, eventfd: the ring is then reached through its
 * registered index only), so the program never sees our descriptors.
 * Returns 0 or -errno. */
int cxlmu_ring_init(struct cxlmu_ring *r, const struct cxlmu_ring_caps *caps,
		    enum cxlmu_wait_path path);
/* Unmap and close; also right in a forked child, where the ring belongs
 * to the parent. */
void cxlmu_ring_exit(struct cxlmu_ring *r);
int cxlmu_ring_fd(const struct cxlmu_ring *r);
/* Move the descriptor of u, a ring just set up (not registered), to a
 * high number and remember its identity in own (src/prim.h, struct
 * cxlmu_fd); 0 or -errno (u's descriptor is then closed and -1). */
int cxlmu_ring_adopt_fd(struct io_uring *u, struct cxlmu_fd *own);

/* Wait until deadline (CLOCK_MONOTONIC ns) or a wake on the channel:
 * futex (word changes from val, or a FUTEX_WAKE), eventfd (efd, the
 * read end of the thread's wake-up pipe, becomes readable), msg_ring (a
 * message arrives). Returns 1 woken, 0 deadline
 * reached, -EINTR on a signal, another -errno when the ring is unusable. */
int cxlmu_ring_wait(struct cxlmu_ring *r, enum cxlmu_wait_path path,
		    _Atomic uint32_t *word, uint32_t val, int efd, uint64_t deadline);

/* One futex wait on word while it holds val, until a wake-up or the
 * CLOCK_MONOTONIC deadline (0: none), on a ring made for the futex path
 * that nothing else uses meanwhile. Unlike cxlmu_ring_wait, which keeps
 * its wait armed from one poll to the next on the thread's one word,
 * nothing of it stays queued once it returns (the word may be a stack
 * slot by then): every completion it caused is taken, a signal handler
 * running in between or not. 1 woken or the word moved, 0 deadline,
 * -errno when the ring failed (cxlmu_ring_exit then cancels what it
 * held). */
int cxlmu_ring_wait_once(struct cxlmu_ring *r, _Atomic uint32_t *word, uint32_t val,
			 uint64_t deadline);

/* sqe becomes an IORING_OP_FUTEX_WAIT (the probe says whether the kernel
 * has it) on the 32-bit word while it holds val; shared: no
 * FUTEX2_PRIVATE. The completion carries tag. For the per-core rings of
 * src/scheduler.c as well as this file's. */
void cxlmu_ring_prep_futex_wait(struct io_uring_sqe *sqe, const void *word, uint32_t val,
				bool shared, uint64_t tag);

/* Post a wake-up message into the ring whose fd is target, from r. */
int cxlmu_ring_message(struct cxlmu_ring *r, int target);

#endif
