/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>

#include "cli/hangar/hangar.h"

int cmd_destroy(int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bool force = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'h':
			printf("usage: hangar destroy [--force] NAME...\n\n"
			       "Remove an instance: its container and cgroup, network attachment,\n"
			       "overlay mount and directories (the image stays).  A running instance\n"
			       "is refused unless --force, which kills it first.\n\n"
			       "example:\n   hangar destroy --force web\n");
			return 0;
		default:
			return hangar_usage("destroy", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return hangar_usage("destroy", "an instance name is required");
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL)
		return HANGAR_EXIT_FAILURE;
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		struct hangar_error err;
		hangar_error_clear(&err);
		if (instance_destroy(p, argv[i], force, &err) < 0)
			rc = hangar_fail(&err);
	}
	return rc;
}
