/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/hangar/hangar.h"
#include "manager/monitor.h"

bool hangar_run_stops_on_leave;

static void run_usage(void)
{
	printf("usage: hangar run [--rm] [-d] NAME [create options] [--init | -- CMD [ARGS...]]\n\n"
	       "Create an instance, start it and attach to its console (Ctrl-a q detaches).\n"
	       "The exit status is the instance's.  Takes every option of 'hangar create'.\n\n"
	       "       --rm       destroy the instance when it exits, or when hangar gets\n"
	       "                  SIGHUP, SIGTERM or SIGINT (exit status 128+signal)\n"
	       "   -d, --detach   start it and return (do not attach)\n\n"
	       "examples:\n"
	       "   hangar run --rm sandbox                    throw-away busybox shell\n"
	       "   hangar run --rm job --memory 256M -- sh -c 'make -j2'\n");
}

int cmd_run(int argc, char **argv)
{
	enum { OPT_RM = OPT_VERB_BASE };
	static const struct option opts[] = {HANGAR_CREATE_OPTIONS,
					     {"rm", no_argument, NULL, OPT_RM},
					     {"detach", no_argument, NULL, 'd'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct create_args a;
	memset(&a, 0, sizeof(a));
	struct hangar_error err;
	hangar_error_clear(&err);
	bool rm = false, detach = false;
	const char *name = NULL;
	int c, rc = HANGAR_EXIT_USAGE;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-" HANGAR_CREATE_SHORTOPTS "dh", opts, NULL)) != -1) {
		if (c == 1) {
			if (name) {
				rc = hangar_usage("run", "unexpected argument '%s' (a command goes after --)", optarg);
				goto out;
			}
			name = optarg;
			continue;
		}
		if (c == 'h') {
			run_usage();
			rc = 0;
			goto out;
		}
		if (c == OPT_RM) {
			rm = true;
			continue;
		}
		if (c == 'd') {
			detach = true;
			continue;
		}
		int r = hangar_parse_create_opt(c, optarg, &a, &err);
		if (r < 0) {
			rc = hangar_fail(&err);
			goto out;
		}
		if (r == 0) {
			rc = hangar_usage("run", "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (name == NULL) {
		rc = hangar_usage("run", "an instance name is required");
		goto out;
	}
	if (rm && detach) {
		rc = hangar_usage("run", "--rm and --detach exclude each other");
		goto out;
	}
	a.o.name = name;
	if (optind < argc)
		a.o.cmd = argv + optind;
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL) {
		rc = HANGAR_EXIT_FAILURE;
		goto out;
	}
	/* An attached run that removes (or, for a sandbox, owns) its instance
	 * must do so even when its user leaves: a closed terminal or ssh
	 * session (SIGHUP), a kill (SIGTERM) or ^C without a terminal. */
	bool leave_stops = !detach && (rm || hangar_run_stops_on_leave);
	if (leave_stops)
		hangar_catch_leave_signals();
	struct instance *inst = NULL;
	if (instance_create(p, &a.o, &inst, &err) < 0) {
		rc = hangar_fail(&err);
		goto out;
	}
	instance_free(inst);
	cli_print_warning(&err);
	hangar_error_clear(&err);
	/* Created but held until our console connects: no output is lost. */
	struct instance_start_opts so = {.hold_until_console = !detach};
	if (instance_start(p, name, &so, &err) < 0) {
		rc = hangar_fail(&err);
		goto cleanup;
	}
	cli_print_warning(&err);
	hangar_error_clear(&err);
	if (detach) {
		rc = 0;
		goto out;
	}
	if (hangar_leave_signal)
		goto left;
	struct winsize ws = {0};
	bool tty = isatty(STDIN_FILENO);
	if (tty)
		ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
	int sock = monitor_console_connect(p, name, ws.ws_row, ws.ws_col, &err);
	if (sock < 0) {
		rc = hangar_fail(&err);
		instance_stop(p, name, 0, &err);
		goto cleanup;
	}
	int detached = hangar_console_proxy(p, sock, name, tty, false);
	close(sock);
	if (detached == 2)
		goto left;
	if (detached) {
		/* No daemon is left to honour --rm when the instance exits later. */
		if (rm)
			cli_warn("%s keeps running after the detach; --rm no longer applies: 'hangar destroy --force %s' "
				 "removes it",
				 name, name);
		rc = 0;
		goto out;
	}
	rc = hangar_wait_exit_code(p, name);
	goto cleanup;
left:
	/* The shell's convention for a death by signal; --rm's destroy below
	 * kills at once, a kept instance gets the ordinary stop. */
	rc = 128 + hangar_leave_signal;
	if (!rm) {
		struct hangar_error serr;
		hangar_error_clear(&serr);
		if (instance_stop(p, name, HANGAR_LEAVE_STOP_TIMEOUT, &serr) < 0)
			hangar_fail(&serr);
	}
cleanup:
	if (rm) {
		struct hangar_error derr;
		hangar_error_clear(&derr);
		if (instance_destroy(p, name, true, &derr) < 0)
			hangar_fail(&derr);
	}
out:
	create_args_clear(&a);
	return rc;
}
