/* A program installed setuid root by secure-setuid.sh. It allocates some
 * memory, makes a few usleep(1) polls, and prints on stdout one line:
 *   secprog: secure=S mapped=M cxlmu_env=N
 * S is getauxval(AT_SECURE) (1: ld.so runs it as set-user-ID), M is 1 when
 * libcxlmu is mapped in this process (a "libcxlmu" line in
 * /proc/self/maps), N the number of CXLMU_* variables left in environ.
 * Exit status 0; it works with or without the preload.
 *   secprog double
 * frees a block twice and allocates twice: a heap check aborts the
 * process; if none does, it prints "secprog: double free not caught". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;

static int libcxlmu_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "libcxlmu"))
			found = 1;
	fclose(f);
	return found;
}

static int double_free(void)
{
	char *p = malloc(48), *a, *b;

	memset(p, 1, 48);
	free(p);
	free(p);
	a = malloc(48);
	b = malloc(48);
	printf("secprog: double free not caught (%s)\n", a == b ? "same block twice" : "apart");
	return 0;
}

int main(int argc, char **argv)
{
	void *small[64], *big;
	int n = 0;

	if (argc > 1 && !strcmp(argv[1], "double"))
		return double_free();
	for (int i = 0; i < 64; i++) {
		small[i] = malloc(32 + 16 * (size_t)i);
		if (small[i])
			memset(small[i], i, 32);
	}
	big = malloc(4u << 20);
	if (big)
		memset(big, 1, 4u << 20);
	for (int i = 0; i < 20; i++)
		usleep(1);
	for (int i = 0; i < 64; i++)
		free(small[i]);
	free(big);

	for (char **e = environ; e && *e; e++)
		if (!strncmp(*e, "CXLMU_", 6))
			n++;
	printf("secprog: secure=%lu mapped=%d cxlmu_env=%d\n", getauxval(AT_SECURE),
	       libcxlmu_mapped(), n);
	return 0;
}
