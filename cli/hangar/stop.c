/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/hangar/hangar.h"
#include "common/util.h"

int parse_stop_args(const char *verb, int argc, char **argv, int *timeout, int *first)
{
	static const struct option opts[] = {{"timeout", required_argument, NULL, 't'},
					     {"force", no_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int c;
	*timeout = 10;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+t:fh", opts, NULL)) != -1) {
		switch (c) {
		case 't': {
			uint64_t n;
			if (parse_u64(optarg, &n) < 0 || n > 3600)
				return hangar_usage(verb, "--timeout %s: seconds, 0 to 3600", optarg);
			*timeout = (int)n;
			break;
		}
		case 'f':
			*timeout = 0;
			break;
		case 'h':
			printf("usage: hangar %s [--timeout S] [--force] NAME...\n\n"
			       "Ask the instance to shut down: SIGTERM to its command; with --init the\n"
			       "init's own request (busybox init: SIGUSR2 = poweroff; systemd: SIGRTMIN+3).\n"
			       "After --timeout seconds (default 10) everything is killed with SIGKILL.\n"
			       "--force kills at once.  Network, mounts and the container are then removed.\n\n"
			       "example:\n   hangar %s --timeout 30 web\n",
			       verb, verb);
			return -1;
		default:
			return hangar_usage(verb, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return hangar_usage(verb, "an instance name is required");
	*first = optind;
	return 0;
}

int cmd_stop(int argc, char **argv)
{
	int timeout, first;
	int r = parse_stop_args("stop", argc, argv, &timeout, &first);
	if (r != 0)
		return r < 0 ? 0 : r;
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL)
		return HANGAR_EXIT_FAILURE;
	int rc = 0;
	for (int i = first; i < argc; i++) {
		struct hangar_error err;
		hangar_error_clear(&err);
		if (instance_stop(p, argv[i], timeout, &err) < 0)
			rc = hangar_fail(&err);
	}
	return rc;
}
