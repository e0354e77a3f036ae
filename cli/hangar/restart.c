/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cli/hangar/hangar.h"

int cmd_restart(int argc, char **argv)
{
	int timeout, first;
	int r = parse_stop_args("restart", argc, argv, &timeout, &first);
	if (r != 0)
		return r < 0 ? 0 : r;
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL)
		return HANGAR_EXIT_FAILURE;
	int rc = 0;
	for (int i = first; i < argc; i++) {
		struct hangar_error err;
		hangar_error_clear(&err);
		if (instance_stop(p, argv[i], timeout, &err) < 0 || instance_start(p, argv[i], NULL, &err) < 0)
			rc = hangar_fail(&err);
		else
			cli_print_warning(&err);
	}
	return rc;
}
