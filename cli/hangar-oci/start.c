/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>

#include "cli/hangar-oci/verbs.h"
#include "runtime/container.h"

int cmd_start(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c;
	while ((c = cli_getopt(argc, argv, "+h", opts)) != -1) {
		if (c == 'h') {
			printf("usage: hangar-oci start <container-id>\n\n"
			       "Runs the user process of a created container.\n");
			return 0;
		}
		return cli_usage_error("start", "invalid flag");
	}
	if (optind != argc - 1)
		return cli_usage_error("start", "requires exactly 1 argument: the container id");
	struct hangar_error err;
	hangar_error_clear(&err);
	if (container_start(oci_root(), argv[optind], &err) < 0)
		return cli_fail(&err);
	cli_print_warning(&err);
	return 0;
}
