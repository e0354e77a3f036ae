/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "cli/hangar/hangar.h"

int cmd_set(int argc, char **argv)
{
	enum { OPT_SAVE = OPT_VERB_BASE };
	static const struct option opts[] = {HANGAR_LIMIT_OPTIONS,
					     {"save", no_argument, NULL, OPT_SAVE},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct instance_limits l;
	memset(&l, 0, sizeof(l));
	struct hangar_error err;
	hangar_error_clear(&err);
	bool save = false, any = false;
	const char *name = NULL;
	int c, rc = HANGAR_EXIT_USAGE;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
		if (c == 1) {
			if (name) {
				rc = hangar_usage("set", "unexpected argument '%s'", optarg);
				goto out;
			}
			name = optarg;
			continue;
		}
		if (c == 'h') {
			printf("usage: hangar set NAME [--memory SIZE] [--cpus N] [--cpuset LIST] [--io-weight N]\n"
			       "                 [--io-max DEV:K=V,...] [--pids N] [--save]\n\n"
			       "Change limits of a running instance at once (vzctl style).  Without --save\n"
			       "the change lasts until the instance stops; with --save it is also recorded\n"
			       "for the next start (a stopped instance needs --save).  Lowering memory below\n"
			       "what the instance uses is refused by the kernel, with the reason.\n\n"
			       "examples:\n   hangar set web --memory 256M\n   hangar set web --cpus 0.5 --pids 200 --save\n");
			rc = 0;
			goto out;
		}
		if (c == OPT_SAVE) {
			save = true;
			continue;
		}
		int r = hangar_parse_limit(c, optarg, &l, &err);
		if (r < 0) {
			rc = hangar_fail(&err);
			goto out;
		}
		if (r == 0) {
			rc = hangar_usage("set", "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
		any = true;
	}
	if (name == NULL) {
		rc = hangar_usage("set", "an instance name is required");
		goto out;
	}
	if (optind < argc) {
		rc = hangar_usage("set", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!any) {
		rc = hangar_usage("set", "no limit given");
		goto out;
	}
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL) {
		rc = HANGAR_EXIT_FAILURE;
		goto out;
	}
	if (instance_set_limits(p, name, &l, save, &err) < 0) {
		rc = hangar_fail(&err);
		goto out;
	}
	cli_print_warning(&err);
	rc = 0;
out:
	instance_limits_clear(&l);
	return rc;
}
