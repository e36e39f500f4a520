/* cxlmu-mangen: print the man page sections that come from the options
 * table (src/options.c), so cxlmu-run(1), libcxlmu(7) and --help never
 * disagree. Build-time only; not installed.
 *
 *   cxlmu-mangen options      roff .TP list of cxlmu-run options
 *   cxlmu-mangen environment  roff .TP list of CXLMU_* variables */
#include <stdio.h>
#include <string.h>

#include "options.h"

/* Escape for roff: backslashes and leading dots/quotes. */
static void roff(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			putchar(*s);
	}
}

int main(int argc, char **argv)
{
	bool env = argc > 1 && !strcmp(argv[1], "environment");

	if (argc != 2 || (!env && strcmp(argv[1], "options"))) {
		fprintf(stderr, "usage: cxlmu-mangen options|environment\n");
		return 2;
	}
	for (size_t i = 0; i < cxlmu_options_count; i++) {
		const struct cxlmu_option *o = &cxlmu_options[i];
		char name[64];

		cxlmu_option_envname(o, name, sizeof(name));
		puts(".TP");
		if (env) {
			printf(".B %s\n", name);
			roff(o->help);
			printf("\nValues: ");
			roff(o->accepted);
			printf(". Default: ");
			roff(o->def);
			printf(". Same as\n.BR cxlmu\\-run \" \\-\\-");
			roff(o->name);
			printf("\" .\n");
		} else {
			printf(".B \\-\\-");
			roff(o->name);
			if (o->arg == CXLMU_ARG_REQUIRED)
				printf("=\\fI%s\\fR", o->metavar);
			else if (o->arg == CXLMU_ARG_OPTIONAL)
				printf("\\fR[=\\fI%s\\fR]", o->metavar);
			printf("\n");
			roff(o->help);
			printf("\nAccepted: ");
			roff(o->accepted);
			printf(". Default: ");
			roff(o->def);
			printf(". Environment:\n.BR %s .\n", name);
		}
	}
	return 0;
}
