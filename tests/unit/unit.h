/* Shared by the unit test programs: each check_<module>.c defines
 * Suite *suite_<module>(void) and main.c, compiled with -DSUITE=suite_<module>,
 * runs it. A suite function returns NULL after printing why when what it
 * needs is absent here: the program then exits 77 (skip). */
#ifndef CXLMU_TESTS_UNIT_H
#define CXLMU_TESTS_UNIT_H

#include <check.h>

/* Skip the whole program: print the reason, return NULL from the suite. */
#define UNIT_SKIP(...) do { \
		fprintf(stderr, "SKIP: " __VA_ARGS__); \
		fputc('\n', stderr); \
		return NULL; \
	} while (0)

/* A directory for a test's files: under $TMPDIR or /tmp, never the
 * source tree (make distcheck makes that read-only). Aborts the test on
 * failure. rm_tree removes it and everything in it. */
char *unit_mkdtemp(const char *tag);
void unit_rm_tree(const char *dir);
/* Write text to dir/rel, creating the directories on the way. */
void unit_write_file(const char *dir, const char *rel, const char *text);
/* Read fd from offset 0 (or a pipe to EOF) into a fresh NUL-terminated buffer. */
char *unit_slurp(int fd);

#endif
