/* The -O0 copy of sigcheck_fns.c: the same functions as sig_O0_<name>. */
#define SIG_FN(name) sig_O0_##name
#define SIG_LEVEL_O0 1
#include "sigcheck_fns.c"
