/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/hangar/hangar.h"
#include "manager/monitor.h"

int cmd_console(int argc, char **argv)
{
	if (argc != 2)
		return hangar_usage("console", "exactly one instance name is required");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		printf("usage: hangar console NAME\n\n"
		       "Attach the terminal to the instance's console (its PID 1's terminal), held\n"
		       "by the instance's monitor.  One client at a time.  Type Ctrl-a q to detach\n"
		       "(Ctrl-a a sends a literal Ctrl-a); the instance keeps running.\n\n"
		       "example:\n   hangar console vm1\n");
		return 0;
	}
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL)
		return HANGAR_EXIT_FAILURE;
	struct hangar_error err;
	hangar_error_clear(&err);
	struct instance *inst = NULL;
	if (instance_load(p, argv[1], &inst, &err) < 0)
		return hangar_fail(&err);
	struct instance_runtime rt;
	instance_get_runtime(p, inst, &rt, &err);
	instance_free(inst);
	if (rt.status == INSTANCE_ORPHANED) {
		cli_error("instance %s lost its monitor (killed?) and with it the console: restart it to get one back",
			  argv[1]);
		return HANGAR_EXIT_CONFLICT;
	}
	struct winsize ws = {0};
	if (isatty(STDIN_FILENO))
		ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
	int sock = monitor_console_connect(p, argv[1], ws.ws_row, ws.ws_col, &err);
	if (sock < 0)
		return hangar_fail(&err);
	hangar_console_proxy(p, sock, argv[1], true, true);
	close(sock);
	return 0;
}
