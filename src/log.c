/* The one place that prints. Formats into a stack buffer and write(2)s it,
 * so it is usable from allocation paths, constructors and fork children.
 * errno is preserved; a thread-local guard stops recursion. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "prim.h"

/* How long a write waits, with no progress, for a descriptor that is not
 * taking bytes (a full pipe with an idle reader) before giving up. */
#define STALL_MS 2000

static bool log_on;
static bool log_silent;
static CXLMU_TLS bool in_log;

void cxlmu_log_enable(bool on)
{
	log_on = on;
}

void cxlmu_log_silence(void)
{
	log_silent = true;
	log_on = false;
}

int cxlmu_write_all(int fd, const char *buf, size_t len)
{
	int ret = 0;

	while (len) {
		/* Not libc's write: a cancellation point, and this runs from
		 * allocation paths and destructors. */
		ssize_t n = cxlmu_prim_write(fd, buf, len);
		if (n < 0) {
			if (n == -EINTR)
				continue;
			/* A descriptor opened without blocking: wait a bounded
			 * time for room, never forever. */
			if (n == -EAGAIN && cxlmu_prim_wait_writable(fd, STALL_MS) == 1)
				continue;
			ret = (int)n;
			break;
		}
		buf += n;
		len -= (size_t)n;
	}
	return ret;
}

/* The length of the well-formed UTF-8 sequence at s (at most len bytes)
 * that is not a C1 control (U+0080-U+009F, which a terminal may take as
 * CSI and the like), or 0. */
static size_t utf8_printable(const unsigned char *s, size_t len)
{
	size_t n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 :
		   s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;

	if (!n || n > len)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return s[0] == 0xc2 && s[1] <= 0x9f ? 0 : n;
}

/* Control characters in what a message quotes (an option's value, a line
 * of a file) would let it forge lines or drive the terminal: C0 and C1
 * controls, DEL and bytes that are not UTF-8 become \n, \t or \xHH. In
 * place, within size; returns the new length. */
size_t cxlmu_log_escape(char *buf, size_t len, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *in = (const unsigned char *)buf;
	char tmp[512];
	size_t n = 0, i = 0;

	while (i < len && n + 4 < sizeof(tmp)) {
		unsigned char c = in[i];
		size_t u = c >= 0x80 ? utf8_printable(in + i, len - i) : 0;

		if (u) {
			memcpy(tmp + n, in + i, u);
			n += u;
			i += u;
			continue;
		}
		if (c >= 0x20 && c < 0x7f) {
			tmp[n++] = (char)c;
		} else if (c == '\n' || c == '\t') {
			tmp[n++] = '\\';
			tmp[n++] = c == '\n' ? 'n' : 't';
		} else {
			tmp[n++] = '\\';
			tmp[n++] = 'x';
			tmp[n++] = hex[c >> 4];
			tmp[n++] = hex[c & 15];
		}
		i++;
	}
	if (n > size)
		n = size;
	memcpy(buf, tmp, n);
	return n;
}

static void vlog(const char *fmt, va_list ap)
{
	char buf[512];
	int n;

	if (in_log || log_silent)
		return;
	in_log = true;
	/* vsnprintf with integer and string conversions does not allocate. */
	n = snprintf(buf, sizeof(buf), "cxlmu: ");
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	n = (int)cxlmu_log_escape(buf, (size_t)n, sizeof(buf) - 1);
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

void cxlmu_log_at(bool warn, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (!warn && !log_on)
		return;
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
