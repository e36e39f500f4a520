/* main() of every unit test program, compiled once per program with
 * -DSUITE=suite_<module>; also the small file helpers of unit.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#ifndef SUITE
#error "compile with -DSUITE=suite_<module>"
#endif

Suite *SUITE(void);

extern char **environ;

#define CLEAN_POLICY "CXLMU_POLICY=local"

/* The runtime linked into these programs starts from CXLMU_* in its
 * constructor, before main. make check exports CXLMU_LIB and CXLMU_RUN,
 * and a developer's shell may hold anything: run once more with no
 * CXLMU_* but CXLMU_POLICY=local, so the constructor starts quietly and
 * creates no arenas, and every test starts from the same state. */
static void clean_environment(char **argv)
{
	size_t n = 0, k = 0;
	bool clean = false, other = false;
	char **env;

	for (char **e = environ; *e; e++, n++) {
		if (!strcmp(*e, CLEAN_POLICY))
			clean = true;
		else if (!strncmp(*e, "CXLMU_", 6))
			other = true;
	}
	if (clean && !other)
		return;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "CXLMU_", 6))
			env[k++] = *e;
	env[k++] = (char *)CLEAN_POLICY;
	env[k] = NULL;
	execve("/proc/self/exe", argv, env);
	fprintf(stderr, "unit: cannot re-run with a clean environment (%s); going on\n",
		strerror(errno));
	free(env);
}

int main(int argc, char **argv)
{
	Suite *s;
	SRunner *sr;
	int failed;

	clean_environment(argv);
	s = SUITE();
	if (!s)
		return 77;
	sr = srunner_create(s);
	/* Fixtures set up global state (the heap, mapping table, counters):
	 * every test gets its own child so none sees another's. */
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

char *unit_mkdtemp(const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	ck_assert_msg(asprintf(&dir, "%s/cxlmu-%s.XXXXXX", tmp, tag) > 0, "asprintf");
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp '%s': %s", dir, strerror(errno));
	return dir;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void unit_rm_tree(const char *dir)
{
	if (dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void unit_write_file(const char *dir, const char *rel, const char *text)
{
	char path[4096];
	size_t len = strlen(text);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST,
			      "mkdir '%s': %s", path, strerror(errno));
		*s = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_msg(fd >= 0, "create '%s': %s", path, strerror(errno));
	ck_assert_msg(write(fd, text, len) == (ssize_t)len, "write '%s'", path);
	close(fd);
}

char *unit_slurp(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;

	ck_assert_msg(buf != NULL, "malloc");
	lseek(fd, 0, SEEK_SET);   /* a pipe refuses: fine, it starts at 0 */
	for (;;) {
		if (cap - len < 2048) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_msg(buf != NULL, "realloc");
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_msg(n >= 0, "read: %s", strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}
