/* The one home of the rules for files the runtime opens by a name that
 * came from outside (an option, a rules file): cxlmu_out_open for the
 * stats report and the profile, cxlmu_file_read for the rules. A name
 * may point into a directory other users write to (/tmp, a shared build
 * tree), so a root run must not be steered through a planted symbolic
 * link or hard link, must not clobber another user's file, and must not
 * hang at exit on a FIFO or on somebody else's lock. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "prim.h"

/* A lock held by another process: tried this often, this far apart. */
#define LOCK_TRIES    100
#define LOCK_PAUSE_NS (10 * 1000 * 1000ull)

static int fail(int err, const char *what, const char **why)
{
	*why = what;
	return err;
}

/* "/dev/stderr" and friends: the descriptor number they stand for, or -1.
 * They are symbolic links into /proc, which the no-follow rule would
 * refuse; users mean the descriptor. */
static int std_fd(const char *path)
{
	static const char *const dirs[] = { "/dev/fd/", "/proc/self/fd/" };
	char *end;
	long n;

	if (!strcmp(path, "/dev/stdout"))
		return STDOUT_FILENO;
	if (!strcmp(path, "/dev/stderr"))
		return STDERR_FILENO;
	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(dirs); i++) {
		size_t len = strlen(dirs[i]);
		if (strncmp(path, dirs[i], len) || path[len] < '0' || path[len] > '9')
			continue;
		n = strtol(path + len, &end, 10);
		return *end || n > 1 << 30 ? -1 : (int)n;
	}
	return -1;
}

/* Does path still name the file st describes (not following a link)?
 * With st_nlink 1 read after the open, the name we opened by is then its
 * only name. */
static bool same_entry(const char *path, const struct stat *st)
{
	struct stat now;

	return !cxlmu_prim_stat(path, &now, false) && now.st_dev == st->st_dev &&
	       now.st_ino == st->st_ino;
}

static int lock(int fd)
{
	for (int i = 0; i < LOCK_TRIES; i++) {
		int r = cxlmu_prim_flock(fd, LOCK_EX | LOCK_NB);

		/* A file system without locks: written unlocked, as before. */
		if (!r || r == -EOPNOTSUPP || r == -ENOLCK || r == -EINVAL)
			return 0;
		if (r != -EWOULDBLOCK && r != -EINTR)
			return r;
		cxlmu_prim_sleep_ns(LOCK_PAUSE_NS);
	}
	return -EWOULDBLOCK;
}

/* What was wrong with an existing file opened as fd (st: its fstat), or 0. */
static int refuse(const char *path, const struct stat *st, const char **why)
{
	if (S_ISCHR(st->st_mode))
		return 0;   /* a terminal, /dev/null: nothing to clobber */
	if (!S_ISREG(st->st_mode) && !S_ISFIFO(st->st_mode))
		return fail(-EINVAL, "it is not a regular file", why);
	if (st->st_uid != geteuid())
		return fail(-EPERM, "it belongs to another user", why);
	if (S_ISREG(st->st_mode) && st->st_nlink > 1)
		return fail(-EMLINK, "it has other hard links", why);
	/* A link removed between the open and the count above: the file
	 * may be someone else's under another name. */
	if (S_ISREG(st->st_mode) && !same_entry(path, st))
		return fail(-EAGAIN, "it changed while it was opened", why);
	return 0;
}

int cxlmu_out_open(const char *path, unsigned how, struct cxlmu_out *o, const char **why)
{
	int acc = how & CXLMU_OUT_READ ? O_RDWR : O_WRONLY;
	int flags = acc | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	struct stat st;
	int r;

	memset(o, 0, sizeof(*o));
	o->fd = std_fd(path);
	if (o->fd >= 0) {
		if (cxlmu_prim_fd_flags(o->fd) < 0) {
			o->fd = -1;
			return fail(-EBADF, "the descriptor is not open", why);
		}
		return 0;
	}
	o->fd = cxlmu_prim_open(path, flags | O_CREAT | O_EXCL, 0600);
	if (o->fd >= 0) {
		o->ours = o->created = o->regular = true;
	} else if (o->fd != -EEXIST) {
		r = o->fd;
		o->fd = -1;
		return fail(r, strerrordesc_np(-r), why);
	} else if ((o->fd = cxlmu_prim_open(path, flags, 0)) < 0) {
		r = o->fd;
		o->fd = -1;
		return fail(r, r == -ELOOP ? "it is a symbolic link, which is not followed" :
			    r == -ENXIO ? "it is a FIFO that nobody reads" : strerrordesc_np(-r), why);
	} else {
		o->ours = true;
		if ((r = cxlmu_prim_fstat(o->fd, &st))) {
			fail(r, strerrordesc_np(-r), why);
			goto out;
		}
		if (!S_ISREG(st.st_mode) && acc == O_RDWR) {
			/* Read access is for regular files: opened for both, a
			 * FIFO would be its own reader and never refuse. */
			cxlmu_out_close(o);
			return cxlmu_out_open(path, how & ~CXLMU_OUT_READ, o, why);
		}
		if ((r = refuse(path, &st, why)))
			goto out;
		o->regular = S_ISREG(st.st_mode);
	}
	r = 0;
	if (o->regular && (how & CXLMU_OUT_LOCK) && (r = lock(o->fd)))
		fail(r, r == -EWOULDBLOCK ? "another process holds a lock on it" :
		     strerrordesc_np(-r), why);
	if (!r && o->regular && !o->created && (how & CXLMU_OUT_TRUNC) &&
	    (r = cxlmu_prim_ftruncate(o->fd, 0)))
		fail(r, strerrordesc_np(-r), why);
out:
	if (r)
		cxlmu_out_close(o);
	return r;
}

void cxlmu_out_close(struct cxlmu_out *o)
{
	if (o->ours && o->fd >= 0)
		cxlmu_prim_close(o->fd);
	o->fd = -1;
	o->ours = false;
}

int cxlmu_file_read(const char *path, size_t max, char **text, size_t *len, const char **why)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	int fd, r;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = cxlmu_prim_open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0)
		return fail(fd, strerrordesc_np(-fd), why);
	if ((r = cxlmu_prim_fstat(fd, &st))) {
		fail(r, strerrordesc_np(-r), why);
	} else if (!S_ISREG(st.st_mode)) {
		r = fail(-EINVAL, "it is not a regular file", why);
	} else if ((uint64_t)st.st_size > max) {
		r = fail(-EFBIG, "it is larger than a rules file may be", why);
	} else if (!(buf = cxlmu_prim_map_table((size_t)st.st_size + 1))) {
		r = fail(-ENOMEM, "out of memory", why);
	} else {
		while (got < (size_t)st.st_size) {
			ssize_t n = cxlmu_prim_read(fd, buf + got, (size_t)st.st_size - got);
			if (n == -EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		buf[got] = '\0';
		*text = buf;
		*len = got;
	}
	cxlmu_prim_close(fd);
	return r;
}
