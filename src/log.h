/* Messages to stderr without stdio or allocation: safe on every path. */
#ifndef CXLMU_SRC_LOG_H
#define CXLMU_SRC_LOG_H

#include "internal.h"

/* Each message starts with "cxlmu: " and ends with a newline. */
void cxlmu_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed only when the "log" option is on. */
void cxlmu_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cxlmu_log_enable(bool on);
/* Write a whole buffer to fd, retrying short writes and EINTR; errno kept. */
int cxlmu_write_all(int fd, const char *buf, size_t len);

#endif
