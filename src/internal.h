/* Shared internal definitions: visibility, branch hints, limits.
 * Every src/ file includes this first; nothing here is exported. */
#ifndef CXLMU_SRC_INTERNAL_H
#define CXLMU_SRC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define cxlmu_export     __attribute__((visibility("default")))
#define cxlmu_noinline   __attribute__((noinline))
#define cxlmu_cold       __attribute__((cold))
#define likely(x)        __builtin_expect(!!(x), 1)
#define unlikely(x)      __builtin_expect(!!(x), 0)
#define CXLMU_TLS        __thread __attribute__((tls_model("initial-exec")))

/* Node ids we track; Linux allows more, but no machine with CXL has more. */
#define CXLMU_MAX_NODES  64

#define CXLMU_KiB        (1024ull)
#define CXLMU_MiB        (1024ull * 1024)
#define CXLMU_GiB        (1024ull * 1024 * 1024)

#define CXLMU_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

typedef uint64_t cxlmu_nodemask_t;   /* bit n set: node n (n < CXLMU_MAX_NODES) */

#endif
