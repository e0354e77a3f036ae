/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "checkpoint/instance_checkpoint.h"
#include "cli/hangar/hangar.h"

int cmd_restore(int argc, char **argv)
{
	enum { O_FROM = OPT_VERB_BASE };
	static const struct option opts[] = {
	    {"from", required_argument, NULL, O_FROM},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct instance_restore_opts o = {.criu = cli.criu};
	int c;
	while ((c = cli_getopt(argc, argv, "+h", opts)) != -1) {
		switch (c) {
		case O_FROM:
			o.image_dir = optarg;
			break;
		case 'h':
			printf("usage: hangar restore [--from DIR] NAME\n\n"
			       "Start a stopped instance from its checkpoint: the processes continue where\n"
			       "'hangar checkpoint' saved them, with the same network address.\n\n"
			       "   --from DIR   the images (default: the instance's last checkpoint)\n\n"
			       "examples:\n"
			       "   hangar checkpoint web && hangar restore web\n"
			       "   hangar checkpoint --to /srv/ck web && hangar restore --from /srv/ck web\n");
			return 0;
		default:
			return hangar_usage("restore", "%s", cli_getopt_reason());
		}
	}
	if (optind != argc - 1)
		return hangar_usage("restore", "exactly one instance name is required");
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL)
		return HANGAR_EXIT_FAILURE;
	struct hangar_error err;
	hangar_error_clear(&err);
	if (instance_restore(p, argv[optind], &o, &err) < 0)
		return hangar_fail(&err);
	return 0;
}
