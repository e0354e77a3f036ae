/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "cli/hangar/hangar.h"

int cmd_start(int argc, char **argv)
{
	if (argc < 2)
		return hangar_usage("start", "an instance name is required");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		printf("usage: hangar start NAME...\n\n"
		       "Start instances: each gets a monitor process that holds its console and\n"
		       "records its exit; no daemon is involved.\n\n"
		       "example:\n   hangar start web && hangar console web\n");
		return 0;
	}
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL)
		return HANGAR_EXIT_FAILURE;
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		struct hangar_error err;
		hangar_error_clear(&err);
		if (instance_start(p, argv[i], NULL, &err) < 0)
			rc = hangar_fail(&err);
		else
			cli_print_warning(&err);
	}
	return rc;
}
