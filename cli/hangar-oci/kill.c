/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <signal.h>
#include <stdio.h>

#include "cli/hangar-oci/verbs.h"
#include "runtime/container.h"

int cmd_kill(int argc, char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	bool all = false;
	int c;
	while ((c = cli_getopt(argc, argv, "+ah", opts)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'h':
			printf("usage: hangar-oci kill [--all] <container-id> [signal]\n\n"
			       "signal: a name (TERM, SIGKILL, RTMIN+1) or number; default SIGTERM.\n"
			       "   --all, -a   send the signal to every process in the container\n");
			return 0;
		default:
			return cli_usage_error("kill", "invalid flag");
		}
	}
	int nargs = argc - optind;
	if (nargs < 1 || nargs > 2)
		return cli_usage_error("kill", "requires 1 or 2 arguments: <container-id> [signal]");
	int sig = SIGTERM;
	if (nargs == 2) {
		sig = signal_from_name(argv[optind + 1]);
		if (sig < 0) {
			cli_error("invalid signal \"%s\"", argv[optind + 1]);
			return 1;
		}
	}
	struct hangar_error err;
	if (container_kill(oci_root(), argv[optind], sig, all, &err) < 0)
		return cli_fail(&err);
	return 0;
}
