/* dlclose, interposed so that call-site decisions cached by address are
 * made again: another library may be loaded where the closed one was
 * (src/callsite.h). */
#include <dlfcn.h>

#include "callsite.h"
#include "internal.h"
#include "libc.h"

#define PUBLIC cxlmu_export

PUBLIC int dlclose(void *handle)
{
	int r;

	/* Before and after: a library loaded in between is seen anew. */
	cxlmu_callsite_unloaded();
	r = CXLMU_LIBC(dlclose)(handle);
	cxlmu_callsite_unloaded();
	return r;
}
