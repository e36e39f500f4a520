/* The one place that prints. Formats into a stack buffer and write(2)s it,
 * so it is usable from allocation paths, constructors and fork children.
 * errno is preserved; a thread-local guard stops recursion. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

static bool log_on;
static CXLMU_TLS bool in_log;

void cxlmu_log_enable(bool on)
{
	log_on = on;
}

int cxlmu_write_all(int fd, const char *buf, size_t len)
{
	int saved = errno;
	int ret = 0;

	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		buf += n;
		len -= (size_t)n;
	}
	errno = saved;
	return ret;
}

static void vlog(const char *fmt, va_list ap)
{
	char buf[512];
	int n;

	if (in_log)
		return;
	in_log = true;
	/* vsnprintf with integer and string conversions does not allocate. */
	n = snprintf(buf, sizeof(buf), "cxlmu: ");
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	cxlmu_write_all(STDERR_FILENO, buf, (size_t)n);
	in_log = false;
}

void cxlmu_log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
	errno = saved;
}

void cxlmu_log_info(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (!log_on)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
	errno = saved;
}
