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
 *       checks the descriptor is still open and still DATA
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

/* The lowest descriptor whose link names io_uring, or -1. */
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
		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t len = readlink(path, link, sizeof(link) - 1);
		if (len < 0)
			continue;
		link[len] = 0;
		if (strstr(link, "io_uring") && (best < 0 || fd < best))
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

static int mode_ring(const char *data)
{
	long long end = t_now_ns() + 20 * 1000000000LL;
	struct stat before, after;
	pthread_t t;
	int r, fd;

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
	fd = open(data, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "FAIL: open %s: %s\n", data, strerror(errno));
		return 1;
	}
	if (r >= 0 && fd != r) {
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
	printf("fdreuse: ring ok\n");
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
		return mode_ring(argv[2]);
	fprintf(stderr, "usage: fdreuse file|ring DATA, or fdreuse probe\n");
	return 2;
}
