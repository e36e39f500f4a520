/* A module remhost loads after start: its calls into remfns go through its
 * own PLT, which the runtime must find at the first dlsym after the load;
 * late_tid itself is reached only through dlsym (--remote=remlate:late_tid). */
#include <sys/syscall.h>
#include <unistd.h>

#include "remfns.h"

#pragma GCC visibility push(default)
long late_via_plt(void) { return rf_tid(); }
long late_tid(void) { return syscall(SYS_gettid); }
#pragma GCC visibility pop
