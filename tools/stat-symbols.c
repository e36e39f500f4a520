/* cxlmu-stat: naming the functions a profile's frames point into, with
 * libdw (elfutils). The main entry point is stat_symbolize().
 *
 * Each module file gets its own Dwfl, opened on first use and kept until
 * exit. The profile's offsets are link-time virtual addresses, so every
 * file is placed at bias 0. A file that cannot be opened, or whose GNU
 * build-id is not the one the profile recorded, is not used: a different
 * build of the file would name the wrong functions. That is said once per
 * module on stderr. */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stat.h"

/* From the C++ runtime (cxxabi.h is a C++ header). */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

struct stat_dso {
	Dwfl *dwfl;
	Dwfl_Module *mod;                /* NULL: the module's frames stay offsets */
};

static void unusable(const struct stat_module *m, const char *why, const char *detail)
{
	/* "[unknown]", "[vdso]": the runtime's names for what has no file. */
	if (m->path[0] == '[')
		return;
	fprintf(stderr, "cxlmu-stat: %s: %s%s%s; frames left as offsets\n", m->path, why,
		detail ? ": " : "", detail ? detail : "");
}

static void hex(const unsigned char *bits, int len, char *out)
{
	for (int i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", bits[i]);
	out[2 * len] = '\0';
}

static struct stat_dso *dso_open(struct stat_module *m)
{
	static const Dwfl_Callbacks callbacks = {
		.find_elf = dwfl_build_id_find_elf,
		/* Installed debug info (/usr/lib/debug, .gnu_debuglink) names
		 * the functions a stripped file leaves out. */
		.find_debuginfo = dwfl_standard_find_debuginfo,
	};
	struct stat_dso *d = calloc(1, sizeof(*d));
	const unsigned char *bits;
	GElf_Addr vaddr, bias;
	char *file_id;
	int fd, len;

	if (!d)
		stat_fatal("out of memory");
	m->dso = d;
	fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		unusable(m, "cannot open", strerror(errno));
		return d;
	}
	d->dwfl = dwfl_begin(&callbacks);
	if (!d->dwfl)
		stat_fatal("libdw: %s", dwfl_errmsg(-1));
	dwfl_report_begin(d->dwfl);
	/* add_p_vaddr: the bias is base itself (0), so addresses are the
	 * link-time ones even for an ET_DYN file whose first segment is not
	 * at 0 (prelinked); ET_EXEC ignores both arguments. */
	d->mod = dwfl_report_elf(d->dwfl, m->base, m->path, fd, 0, true);
	if (!d->mod) {
		close(fd);
		unusable(m, "not an ELF file libdw can read", dwfl_errmsg(-1));
		return d;
	}
	dwfl_report_end(d->dwfl, NULL, NULL);
	/* The build-id is only known for sure once the ELF is loaded. */
	dwfl_module_getelf(d->mod, &bias);
	len = dwfl_module_build_id(d->mod, &bits, &vaddr);
	file_id = malloc(len > 0 ? 2 * (size_t)len + 1 : 1);
	if (!file_id)
		stat_fatal("out of memory");
	if (len > 0)
		hex(bits, len, file_id);
	else
		*file_id = '\0';
	if (m->build_id ? strcmp(m->build_id, file_id) : len > 0) {
		unusable(m, "build-id differs from the profile's", NULL);
		d->mod = NULL;
	}
	free(file_id);
	return d;
}

const char *stat_symbolize(const struct stat_frame *f, uint64_t *func_offset)
{
	struct stat_dso *d = f->module->dso ? f->module->dso : dso_open(f->module);
	GElf_Off off;
	GElf_Sym sym;
	const char *name, *at;
	char *plain;
	int status = -1;

	if (!d->mod || !f->offset)
		return NULL;
	/* A return address follows the call: the call itself is one byte
	 * back, and may be the last instruction of its function. */
	name = dwfl_module_addrinfo(d->mod, f->offset - 1, &off, &sym, NULL, NULL, NULL);
	if (!name || !*name)
		return NULL;
	*func_offset = off + 1;
	/* Symbol versions ("malloc@@GLIBC_2.2.5") say nothing about the
	 * call site, and the demangler does not take them. Copies are kept
	 * until exit, like libdw's own names. */
	at = strchr(name, '@');
	if (at && at > name) {
		char *bare = strndup(name, (size_t)(at - name));
		if (!bare)
			stat_fatal("out of memory");
		name = bare;
	}
	if (strncmp(name, "_Z", 2))
		return name;
	plain = __cxa_demangle(name, NULL, NULL, &status);
	return status == 0 && plain ? plain : name;
}

void stat_frame_format(const struct stat_frame *f, char *buf, size_t size)
{
	uint64_t off;
	const char *fn = stat_symbolize(f, &off);

	if (fn)
		snprintf(buf, size, "%s:%s+0x%llx", f->module->base, fn, (unsigned long long)off);
	else
		snprintf(buf, size, "%s+0x%llx", f->module->base, (unsigned long long)f->offset);
}
