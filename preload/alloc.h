/* The malloc family's paths (preload/malloc.c), for the operator new and
 * delete of preload/new.c: reached without the PLT. */
#ifndef CXLMU_PRELOAD_ALLOC_H
#define CXLMU_PRELOAD_ALLOC_H

#include <stddef.h>

/* malloc (align 0) or an aligned allocation of n bytes; ra: the return
 * address of operator new. NULL with errno ENOMEM when there is none. */
void *cxlmu_preload_alloc(size_t n, size_t align, const void *ra);
/* free, heap checks included. */
void cxlmu_preload_free(void *p);

#endif
