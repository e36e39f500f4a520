/* Optional libraries loaded with dlopen on first use (capstone for
 * --remote, libunwind for call sites), so that a program that needs
 * neither does not load them at start-up. One rule for what a failure
 * says: the library by its SONAME, and the Debian package to install. */
#ifndef CXLMU_SRC_DLLOAD_H
#define CXLMU_SRC_DLLOAD_H

#include <stddef.h>

/* dlopen(soname) with RTLD_NOW | RTLD_LOCAL; NULL, with err set to
 * "SONAME is not installed (apt-get install PACKAGE)" or "SONAME cannot be
 * loaded: WHY", when it fails. */
void *cxlmu_dl_load(const char *soname, const char *package, char *err, size_t size);

/* dlsym(h, name); NULL, with err set to "SONAME has no NAME", when it is
 * missing. */
void *cxlmu_dl_sym(void *h, const char *soname, const char *name, char *err, size_t size);

#endif
