/* src/file.c: the rules for the files the runtime writes and reads, and
 * the escaping every message goes through (src/log.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "log.h"
#include "options.h"
#include "unit.h"

static char *dir;

static void setup(void)
{
	dir = unit_mkdtemp("file");
}

static void teardown(void)
{
	unit_rm_tree(dir);
	free(dir);
}

/* dir/name, in one of two buffers taken in turn (two may be live). */
static char *path(const char *name)
{
	static char buf[2][4096];
	static int i;

	i ^= 1;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

START_TEST(new_file_is_exclusive_0600)
{
	struct cxlmu_out o;
	const char *why = "";
	struct stat st;
	mode_t old = umask(0);

	ck_assert_msg(cxlmu_out_open(path("new"), CXLMU_OUT_TRUNC, &o, &why) == 0,
		      "a new file: %s", why);
	umask(old);
	ck_assert(o.created && o.ours && o.regular);
	ck_assert(fstat(o.fd, &st) == 0);
	ck_assert_msg((st.st_mode & 07777) == 0600, "mode %o, want 600", st.st_mode & 07777);
	cxlmu_out_close(&o);
}
END_TEST

START_TEST(existing_own_file_is_truncated)
{
	struct cxlmu_out o;
	const char *why = "";
	struct stat st;

	unit_write_file(dir, "old", "previous content\n");
	ck_assert_msg(cxlmu_out_open(path("old"), CXLMU_OUT_TRUNC, &o, &why) == 0, "%s", why);
	ck_assert(!o.created && o.regular);
	ck_assert(fstat(o.fd, &st) == 0 && st.st_size == 0);
	cxlmu_out_close(&o);
}
END_TEST

START_TEST(symlink_is_not_followed)
{
	struct cxlmu_out o;
	const char *why = "";
	struct stat st;

	unit_write_file(dir, "target", "keep\n");
	ck_assert(symlink(path("target"), path("link")) == 0);
	ck_assert_int_eq(cxlmu_out_open(path("link"), CXLMU_OUT_TRUNC, &o, &why), -ELOOP);
	ck_assert_msg(strstr(why, "symbolic link") != NULL, "why: %s", why);
	ck_assert(stat(path("target"), &st) == 0 && st.st_size == 5);
	/* A dangling one creates nothing at its target either. */
	ck_assert(symlink(path("absent"), path("dangling")) == 0);
	ck_assert_int_eq(cxlmu_out_open(path("dangling"), CXLMU_OUT_TRUNC, &o, &why), -ELOOP);
	ck_assert(access(path("absent"), F_OK) != 0);
}
END_TEST

START_TEST(hard_link_is_refused)
{
	struct cxlmu_out o;
	const char *why = "";

	unit_write_file(dir, "one", "keep\n");
	ck_assert(link(path("one"), path("two")) == 0);
	ck_assert_int_eq(cxlmu_out_open(path("two"), CXLMU_OUT_TRUNC, &o, &why), -EMLINK);
}
END_TEST

START_TEST(other_users_file_is_refused)
{
	struct cxlmu_out o;
	const char *why = "";
	struct stat st;

	if (geteuid() != 0)
		return;   /* needs chown; CI runs as root */
	unit_write_file(dir, "theirs", "keep\n");
	ck_assert(chown(path("theirs"), 65534, 65534) == 0);
	ck_assert_int_eq(cxlmu_out_open(path("theirs"), CXLMU_OUT_TRUNC, &o, &why), -EPERM);
	ck_assert_msg(strstr(why, "another user") != NULL, "why: %s", why);
	ck_assert(stat(path("theirs"), &st) == 0 && st.st_size == 5);
}
END_TEST

START_TEST(fifo_without_reader_does_not_block)
{
	struct cxlmu_out o;
	const char *why = "";

	ck_assert(mkfifo(path("fifo"), 0600) == 0);
	ck_assert_int_eq(cxlmu_out_open(path("fifo"), CXLMU_OUT_TRUNC, &o, &why), -ENXIO);
	/* Asked for reading too (the profile's lock path): still refused,
	 * not opened as its own reader. */
	ck_assert_int_eq(cxlmu_out_open(path("fifo"), CXLMU_OUT_READ | CXLMU_OUT_LOCK, &o, &why),
			 -ENXIO);
}
END_TEST

START_TEST(held_lock_is_given_up)
{
	struct cxlmu_out o;
	const char *why = "";
	int fd;

	unit_write_file(dir, "locked", "x\n");
	/* flock locks belong to the open file: a second open of ours
	 * conflicts with it as another process's would. */
	fd = open(path("locked"), O_RDONLY);
	ck_assert(fd >= 0 && flock(fd, LOCK_EX) == 0);
	ck_assert_int_eq(cxlmu_out_open(path("locked"), CXLMU_OUT_LOCK, &o, &why), -EWOULDBLOCK);
	close(fd);
	ck_assert_msg(cxlmu_out_open(path("locked"), CXLMU_OUT_LOCK, &o, &why) == 0, "%s", why);
	cxlmu_out_close(&o);
}
END_TEST

START_TEST(std_names_mean_the_descriptor)
{
	struct cxlmu_out o;
	const char *why = "";

	ck_assert(cxlmu_out_open("/dev/stderr", CXLMU_OUT_TRUNC, &o, &why) == 0);
	ck_assert(o.fd == 2 && !o.ours);
	ck_assert(cxlmu_out_open("/dev/fd/1", CXLMU_OUT_TRUNC, &o, &why) == 0 && o.fd == 1);
	ck_assert(cxlmu_out_open("/proc/self/fd/987", 0, &o, &why) == -EBADF);
}
END_TEST

START_TEST(read_regular_only)
{
	const char *why = "";
	char *text;
	size_t len;

	unit_write_file(dir, "rules", "cxl a.so+0x10\n");
	ck_assert(cxlmu_file_read(path("rules"), 1024, &text, &len, &why) == 0);
	ck_assert(len == 14 && !strcmp(text, "cxl a.so+0x10\n"));
	ck_assert_int_eq(cxlmu_file_read(path("rules"), 10, &text, &len, &why), -EFBIG);
	ck_assert(mkfifo(path("fifo"), 0600) == 0);
	ck_assert_int_eq(cxlmu_file_read(path("fifo"), 1024, &text, &len, &why), -EINVAL);
	ck_assert_int_eq(cxlmu_file_read(dir, 1024, &text, &len, &why), -EINVAL);
}
END_TEST

START_TEST(escape_control_characters)
{
	char buf[64] = "a\nb\tc\033[31md\x7f";
	size_t n = cxlmu_log_escape(buf, strlen(buf), sizeof(buf));

	buf[n] = '\0';
	ck_assert_msg(!strcmp(buf, "a\\nb\\tc\\x1b[31md\\x7f"), "escaped: %s", buf);
	strcpy(buf, "plain text, 100% ok");
	n = cxlmu_log_escape(buf, strlen(buf), sizeof(buf));
	ck_assert(n == strlen("plain text, 100% ok"));
	/* UTF-8 text stays; C1 controls, raw or as UTF-8, and stray bytes go. */
	strcpy(buf, "caf\xc3\xa9 \xe2\x82\xac \xc2\x9b" "2J \x9b \xff");
	n = cxlmu_log_escape(buf, strlen(buf), sizeof(buf));
	buf[n] = '\0';
	ck_assert_msg(!strcmp(buf, "caf\xc3\xa9 \xe2\x82\xac \\xc2\\x9b" "2J \\x9b \\xff"),
		      "escaped: %s", buf);
}
END_TEST

START_TEST(env_scrub_removes_every_cxlmu_variable)
{
	char a[] = "PATH=/bin", b[] = "CXLMU_STATS=/root/x", c[] = "HOME=/", d[] = "CXLMU_RUN_ID=z";
	char *env[] = { a, b, c, d, NULL };

	ck_assert_int_eq(cxlmu_env_scrub(env), 2);
	ck_assert(env[0] == a && env[1] == c && env[2] == NULL);
}
END_TEST

Suite *suite_file(void)
{
	Suite *s = suite_create("file");
	TCase *w = tcase_create("write"), *r = tcase_create("read"), *m = tcase_create("messages");

	tcase_add_checked_fixture(w, setup, teardown);
	tcase_add_test(w, new_file_is_exclusive_0600);
	tcase_add_test(w, existing_own_file_is_truncated);
	tcase_add_test(w, symlink_is_not_followed);
	tcase_add_test(w, hard_link_is_refused);
	tcase_add_test(w, other_users_file_is_refused);
	tcase_add_test(w, fifo_without_reader_does_not_block);
	tcase_add_test(w, held_lock_is_given_up);
	tcase_add_test(w, std_names_mean_the_descriptor);
	suite_add_tcase(s, w);
	tcase_add_checked_fixture(r, setup, teardown);
	tcase_add_test(r, read_regular_only);
	suite_add_tcase(s, r);
	tcase_add_test(m, escape_control_characters);
	tcase_add_test(m, env_scrub_removes_every_cxlmu_variable);
	suite_add_tcase(s, m);
	return s;
}
