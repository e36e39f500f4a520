/* The -O0 copy of abicheck_fns.c: the same functions as abi_O0_<name>. */
#define ABI_FN(name) abi_O0_##name
#define ABI_LEVEL_O0 1
#include "abicheck_fns.c"
