/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hangar: the instance manager (Zones / Virtuozzo style, no daemon). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/hangar/hangar.h"
#include "runtime/cloned_binary.h"

static const struct verb {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
	bool enters_container;
} verbs[] = {
#define HANGAR_TABLE_VERB(n, s, c) {#n, cmd_##n, s, c},
	HANGAR_VERBS(HANGAR_TABLE_VERB)
#undef HANGAR_TABLE_VERB
};

static void usage(FILE *out)
{
	fprintf(out,
		"hangar %s - instances with limits, networking and a console; no daemon\n\n"
		"usage: hangar [global options] VERB [options] [arguments]\n\n"
		"verbs:\n",
		HANGAR_VERSION);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(out, "   %-10s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(out,
		"\nglobal options:\n"
		"   --root DIR     instance and image store (default /var/lib/hangar; rootless:\n"
		"                  $XDG_DATA_HOME/hangar); also $HANGAR_ROOT\n"
		"   --run DIR      runtime state (default /run/hangar; rootless: $XDG_RUNTIME_DIR/hangar\n"
		"                  or /tmp/hangar-run-UID); also $HANGAR_RUN\n"
		"   --debug        more detail on errors\n"
		"   --version, -v  print the version\n"
		"   --help, -h     this help ('hangar VERB --help' for a verb)\n"
		"\nexamples:\n"
		"   hangar run --rm sandbox                      a throw-away shell\n"
		"   hangar create web --memory 512M --cpus 1.5 --publish 8080:80\n"
		"   hangar start web && hangar set web --memory 256M --save\n"
		"\nexit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 conflict (exists, in use,\n"
		"wrong state), 5 unsupported on this host; run and exec return the command's status.\n");
}

int main(int argc, char **argv)
{
	cli.prog = "hangar";
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		const char *name = a + (a[1] == '-' ? 2 : 1);
		const char *val = strchr(name, '=');
		size_t nlen = val ? (size_t)(val - name) : strlen(name);
		if (val)
			val++;
#define IS(s) (nlen == strlen(s) && strncmp(name, s, nlen) == 0)
		if (IS("help") || IS("h")) {
			usage(stdout);
			return 0;
		} else if (IS("version") || IS("v")) {
			printf("hangar version %s (commit %s)\n", HANGAR_VERSION, HANGAR_COMMIT);
			return 0;
		} else if (IS("debug")) {
			cli.debug = true;
		} else if (IS("root") || IS("run")) {
			bool root = IS("root");
			if (val == NULL) {
				if (i + 1 >= argc) {
					cli_error("%s needs a directory", a);
					return HANGAR_EXIT_USAGE;
				}
				val = argv[++i];
			}
			if (root)
				hangar_opt_root = val;
			else
				hangar_opt_run = val;
		} else {
			cli_error("unknown global option %s (see 'hangar --help')", a);
			return HANGAR_EXIT_USAGE;
		}
#undef IS
	}
	if (i >= argc) {
		usage(stderr);
		return HANGAR_EXIT_USAGE;
	}
	const char *verb = argv[i];
	if (strcmp(verb, "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t k = 0; k < sizeof(verbs) / sizeof(verbs[0]); k++) {
		if (strcmp(verbs[k].name, verb) != 0)
			continue;
		bool wants_help = false;
		for (int j = i + 1; j < argc && strcmp(argv[j], "--") != 0; j++)
			if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0)
				wants_help = true;
		if (verbs[k].enters_container && !wants_help) {
			struct hangar_error err;
			hangar_error_clear(&err);
			if (ensure_cloned_binary(argc, argv, &err) < 0)
				return hangar_fail(&err);
		}
		optind = 1;
		return verbs[k].fn(argc - i, argv + i);
	}
	cli_error("unknown verb \"%s\" (see 'hangar --help')", verb);
	return HANGAR_EXIT_USAGE;
}
