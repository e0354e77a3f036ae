/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>

#include "cli/hangar-oci/verbs.h"
#include "runtime/container.h"

int cmd_delete(int argc, char **argv)
{
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	bool force = false;
	int c;
	while ((c = cli_getopt(argc, argv, "+fh", opts)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'h':
			printf("usage: hangar-oci delete [--force] <container-id>\n\n"
			       "   --force, -f   kill the container first if it is still running\n");
			return 0;
		default:
			return cli_usage_error("delete", "invalid flag");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("delete", "requires exactly 1 argument: the container id");
	struct hangar_error err;
	hangar_error_clear(&err);
	if (container_delete(oci_root(), argv[optind], force, &err) < 0) {
		/* runc: delete --force of a missing container succeeds. */
		if (force && err.code == HANGAR_E_NOTFOUND)
			return 0;
		return cli_fail(&err);
	}
	cli_print_warning(&err);
	return 0;
}
