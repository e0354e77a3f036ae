/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "checkpoint/instance_checkpoint.h"
#include "cli/hangar/hangar.h"

static void checkpoint_usage(void)
{
	printf("usage: hangar checkpoint [--stop | --leave-running] [--to DIR] NAME\n\n"
	       "Save a running instance's processes with CRIU.  By default the instance\n"
	       "stops afterwards and 'hangar restore NAME' brings it back where it was.\n\n"
	       "   --stop            stop the instance after the dump (default)\n"
	       "   --leave-running   keep it running (a snapshot)\n"
	       "   --to DIR          where the images go (default: the instance's directory)\n\n"
	       "example:\n   hangar checkpoint web && hangar restore web\n");
}

int cmd_checkpoint(int argc, char **argv)
{
	enum { O_STOP = OPT_VERB_BASE, O_LEAVE, O_TO };
	static const struct option opts[] = {
	    {"stop", no_argument, NULL, O_STOP},
	    {"leave-running", no_argument, NULL, O_LEAVE},
	    {"to", required_argument, NULL, O_TO},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct instance_checkpoint_opts o = {.criu = cli.criu};
	bool stop = false;
	int c;
	while ((c = cli_getopt(argc, argv, "+h", opts)) != -1) {
		switch (c) {
		case O_STOP:
			stop = true;
			break;
		case O_LEAVE:
			o.leave_running = true;
			break;
		case O_TO:
			o.image_dir = optarg;
			break;
		case 'h':
			checkpoint_usage();
			return 0;
		default:
			return hangar_usage("checkpoint", "%s", cli_getopt_reason());
		}
	}
	if (stop && o.leave_running)
		return hangar_usage("checkpoint", "--stop and --leave-running exclude each other");
	if (optind != argc - 1)
		return hangar_usage("checkpoint", "exactly one instance name is required");
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL)
		return HANGAR_EXIT_FAILURE;
	const char *name = argv[optind];
	struct checkpoint_stats st;
	struct hangar_error err;
	hangar_error_clear(&err);
	if (instance_checkpoint(p, name, &o, &st, &err) < 0)
		return hangar_fail(&err);
	printf("checkpointed %s (frozen %.0f ms, %llu pages written)%s\n", name, st.frozen_us / 1e3,
	       (unsigned long long)st.pages_written, o.leave_running ? "" : "; it is stopped");
	return 0;
}
