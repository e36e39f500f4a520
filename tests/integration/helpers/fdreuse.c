/* A program that takes over every descriptor above stderr, for
 * secure-fds.sh. The runtime must not keep using a descriptor number the
 * program has closed and reused.
 *   fdreuse file DATA
 *       closefrom(3), open DATA (it gets descriptor 3), write one line to
 *       it and exit normally
 *   fdreuse ring DATA
 *       a thread polls with usleep(1) until told to stop (under the
 *       preload it waits in an io_uring); once it has polled a while, main
 *       notes the io_uring descriptor it sees, if any, has the thread hold
 *       still (spinning, no more polls), calls closefrom(3), opens DATA
 *       onto that number (or wherever it lands when there is none), lets
 *       the thread end and joins it, then writes one line to DATA and
 *       (the descriptor looked for: an io_uring or, on the eventfd path,
 *       the wake-up pipe)
 *       checks the descriptor is still open and still DATA
 *   fdreuse ringefd DATA
 *       the same, but the program puts an eventfd of its own at the
 *       runtime's number (DATA still gets the line); at the end that
 *       eventfd must still be open and hold only what the program wrote
 *   fdreuse probe
 *       prints "msg_ring=yes" when the kernel offers io_uring
 *       IORING_OP_MSG_RING, else "msg_ring=no (WHY)" (run it plain)
 * The line written is "fdreuse: the program's own line". On stdout:
 * "fdreuse: MODE ok" (ring mode first says "fdreuse: ring fd=N" or
 * "fdreuse: ring fd=none", the io_uring descriptor seen); a failure is a
 * line "FAIL ..." on stderr and exit status 1. Works with or without the
 * preload. Main never sleeps or yields (it spins), so only the thread
 * waits in the runtime. */
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include "common.h"
#include "sleep.h"

#define LINE "fdreuse: the program's own line\n"

static atomic_bool hold, holding, stop;
static _Atomic unsigned long polls;

/* Polls until told to hold, then spins (out of the runtime) until told to
 * stop, and ends: the thread's exit is the runtime's next chance to touch
 * its ring, so what it does with the number is seen every time. */
static void *poller(void *arg)
{
	while (!atomic_load(&hold)) {
		usleep(1);
		atomic_fetch_add(&polls, 1);
	}
	atomic_store(&holding, true);
	while (!atomic_load(&stop))
		;
	return arg;
}

/* Descriptors open before the thread started (inherited pipes, say):
 * not the runtime's. */
static bool before_thread[4096];

static void note_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd >= 0 && fd < 4096)
			before_thread[fd] = true;
	}
	if (d)
		closedir(d);
}

/* The lowest descriptor, new since note_open, whose link names io_uring,
 * a pipe or an eventfd (what the eventfd path once held), or -1. */
static int ring_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[64], link[128];
	int best = -1;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd == dirfd(d) || (fd < 4096 && before_thread[fd]))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t len = readlink(path, link, sizeof(link) - 1);
		if (len < 0)
			continue;
		link[len] = 0;
		/* The wait ring (msg_ring path) or the wake-up pipe (eventfd
		 * path); the program itself opened no pipe since note_open. */
		if ((strstr(link, "io_uring") || !strncmp(link, "pipe:", 5) ||
		     strstr(link, "[eventfd]")) &&
		    (best < 0 || fd < best))
			best = fd;
	}
	closedir(d);
	return best;
}

static int write_line(int fd)
{
	size_t n = strlen(LINE);

	if (write(fd, LINE, n) != (ssize_t)n) {
		fprintf(stderr, "FAIL: write to the data file (fd %d): %s\n", fd, strerror(errno));
		return -1;
	}
	return 0;
}

static int mode_file(const char *data)
{
	int fd;

	closefrom(3);
	fd = open(data, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd != 3) {
		fprintf(stderr, "FAIL: open %s gave descriptor %d, want 3 (%s)\n", data, fd,
			fd < 0 ? strerror(errno) : "closefrom left one open");
		return 1;
	}
	if (write_line(fd))
		return 1;
	printf("fdreuse: file ok\n");
	fflush(stdout);
	return 0;
}

/* ringefd: the program's own eventfd takes the number. Every eventfd
 * shares one inode with the runtime's old eventfd, so the runtime must
 * tell them apart some other way. */
static int own_eventfd_at(int r)
{
	int e = eventfd(0, 0);

	if (e < 0 || (e != r && dup2(e, r) != r)) {
		fprintf(stderr, "FAIL: an eventfd at %d: %s\n", r, strerror(errno));
		return -1;
	}
	if (e != r)
		close(e);
	return r;
}

static int eventfd_intact(int e)
{
	uint64_t v = 5;

	if (fcntl(e, F_GETFD) < 0) {
		fprintf(stderr, "FAIL: the program's eventfd at %d was closed under it\n", e);
		return -1;
	}
	if (write(e, &v, 8) != 8 || read(e, &v, 8) != 8 || v != 5) {
		fprintf(stderr, "FAIL: the program's eventfd at %d holds %llu, want 5\n", e,
			(unsigned long long)v);
		return -1;
	}
	return 0;
}

static int mode_ring(const char *data, bool efd)
{
	long long end = t_now_ns() + 20 * 1000000000LL;
	struct stat before, after;
	pthread_t t;
	int r, fd;

	note_open();
	t = t_start(poller, NULL);
	/* Spin, not sleep: main must not wait in the runtime. */
	while (atomic_load(&polls) < 200 && t_now_ns() < end)
		;
	if (atomic_load(&polls) < 200) {
		fprintf(stderr, "FAIL: the thread polled %lu times in 20 s\n", atomic_load(&polls));
		return 1;
	}
	r = ring_fd();
	if (r >= 0)
		printf("fdreuse: ring fd=%d\n", r);
	else
		printf("fdreuse: ring fd=none\n");
	fflush(stdout);
	atomic_store(&hold, true);
	while (!atomic_load(&holding))
		;

	closefrom(3);
	/* Plain, there is no runtime descriptor: the eventfd goes to 3. */
	if (efd && own_eventfd_at(r >= 0 ? r : 3) < 0)
		return 1;
	if (efd && r < 0)
		r = 3;
	fd = open(data, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "FAIL: open %s: %s\n", data, strerror(errno));
		return 1;
	}
	if (!efd && r >= 0 && fd != r) {
		/* The number is free after closefrom: the program may use it. */
		if (dup2(fd, r) != r) {
			fprintf(stderr, "FAIL: dup2 onto %d: %s\n", r, strerror(errno));
			return 1;
		}
		close(fd);
		fd = r;
	}
	if (fstat(fd, &before)) {
		fprintf(stderr, "FAIL: fstat of the data file: %s\n", strerror(errno));
		return 1;
	}

	atomic_store(&stop, true);
	pthread_join(t, NULL);

	if (write_line(fd))
		return 1;
	if (fcntl(fd, F_GETFD) < 0) {
		fprintf(stderr, "FAIL: descriptor %d of the data file was closed under the program\n", fd);
		return 1;
	}
	if (fstat(fd, &after) || after.st_dev != before.st_dev || after.st_ino != before.st_ino) {
		fprintf(stderr, "FAIL: descriptor %d is no longer the data file\n", fd);
		return 1;
	}
	if (efd && eventfd_intact(r))
		return 1;
	printf("fdreuse: %s ok\n", efd ? "ringefd" : "ring");
	fflush(stdout);
	return 0;
}

/* Asks the kernel itself, with raw system calls. */
static int mode_probe(void)
{
	struct {
		struct io_uring_probe p;
		struct io_uring_probe_op ops[256];
	} pr;
	struct io_uring_params params;
	int fd, ok;

	memset(&params, 0, sizeof(params));
	fd = (int)syscall(__NR_io_uring_setup, 4, &params);
	if (fd < 0) {
		printf("msg_ring=no (io_uring_setup: %s)\n", strerror(errno));
		return 0;
	}
	memset(&pr, 0, sizeof(pr));
	if (syscall(__NR_io_uring_register, fd, IORING_REGISTER_PROBE, &pr, 256) < 0) {
		printf("msg_ring=no (IORING_REGISTER_PROBE: %s)\n", strerror(errno));
		close(fd);
		return 0;
	}
	ok = IORING_OP_MSG_RING <= pr.p.last_op &&
	     (pr.p.ops[IORING_OP_MSG_RING].flags & IO_URING_OP_SUPPORTED);
	printf(ok ? "msg_ring=yes\n" : "msg_ring=no (not among the kernel's io_uring operations)\n");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "probe"))
		return mode_probe();
	if (argc == 3 && !strcmp(argv[1], "file"))
		return mode_file(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "ring"))
		return mode_ring(argv[2], false);
	if (argc == 3 && !strcmp(argv[1], "ringefd"))
		return mode_ring(argv[2], true);
	fprintf(stderr, "usage: fdreuse file|ring|ringefd DATA, or fdreuse probe\n");
	return 2;
}
