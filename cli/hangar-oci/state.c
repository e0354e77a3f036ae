/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "cli/hangar-oci/verbs.h"
#include "runtime/state.h"

int cmd_state(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c;
	while ((c = cli_getopt(argc, argv, "+h", opts)) != -1) {
		if (c == 'h') {
			printf("usage: hangar-oci state <container-id>\n\nPrints the container state as JSON.\n");
			return 0;
		}
		return cli_usage_error("state", "invalid flag");
	}
	if (optind != argc - 1)
		return cli_usage_error("state", "requires exactly 1 argument: the container id");
	struct hangar_error err;
	struct container_state *st = NULL;
	if (state_load(oci_root(), argv[optind], &st, &err) < 0 &&
	    (err.code != HANGAR_E_STATE || state_load_creating(oci_root(), argv[optind], &st) < 0))
		return cli_fail(&err);
	char *json = state_to_oci_json(st, true);
	printf("%s\n", json);
	free(json);
	state_free(st);
	return 0;
}
