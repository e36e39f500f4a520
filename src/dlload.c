/* Optional libraries loaded with dlopen on first use (src/dlload.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "dlload.h"

void *cxlmu_dl_load(const char *soname, const char *package, char *err, size_t size)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	const char *e;

	if (h)
		return h;
	e = dlerror();
	if (!e || strstr(e, "No such file"))
		snprintf(err, size, "%s is not installed (apt-get install %s)", soname, package);
	else
		snprintf(err, size, "%s cannot be loaded: %s", soname, e);
	return NULL;
}

void *cxlmu_dl_sym(void *h, const char *soname, const char *name, char *err, size_t size)
{
	void *p = dlsym(h, name);

	if (!p)
		snprintf(err, size, "%s has no %s", soname, name);
	return p;
}
