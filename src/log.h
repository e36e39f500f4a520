/* Messages to stderr without stdio or allocation: safe on every path. */
#ifndef CXLMU_SRC_LOG_H
#define CXLMU_SRC_LOG_H

#include "internal.h"

/* Each message starts with "cxlmu: " and ends with a newline. */
void cxlmu_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed only when the "log" option is on. */
void cxlmu_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A warning when warn, else info: for what is worth a line only when the
 * user asked for the thing it is about. */
void cxlmu_log_at(bool warn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cxlmu_log_enable(bool on);
/* Secure-execution mode: nothing is printed from now on, whatever asks. */
void cxlmu_log_silence(void);
/* Escape control characters of buf[0..len) in place (\n, \t, \xHH),
 * keeping at most size bytes; returns the new length. Every message goes
 * through it; tools use it for what they quote. */
size_t cxlmu_log_escape(char *buf, size_t len, size_t size);
/* Write a whole buffer to fd, retrying short writes and EINTR, and
 * waiting up to 2 s at a time for room on a non-blocking descriptor;
 * errno kept. */
int cxlmu_write_all(int fd, const char *buf, size_t len);

#endif
