/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_CLI_H
#define HANGAR_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

struct cli_globals {
	const char *prog;	/* "hangar-oci" / "hangar" */
	char *root;
	char *log_path;
	bool log_json;
	bool debug;
	bool systemd_cgroup;
	char *criu;
	char *rootless;		/* "true" | "false" | "auto" */
};

extern struct cli_globals cli;

/* Errors: one line "PROG: message" on stderr and, with --log, a log record
 * (runc's JSON format {"level","msg","time"} with --log-format json, which
 * containerd and podman read back). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print err (or its warning) and return the exit code to use (1). */
int cli_fail(const struct hangar_error *err);
void cli_print_warning(const struct hangar_error *err);
int cli_open_log(void);

/* getopt_long_only with a leading '+' so that a container's command line
 * after the id is never taken for our options; accepts runc's single-dash
 * long flags (-root, -no-subreaper).  Returns getopt's value. */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);
/* After cli_getopt returned '?': why, naming the flag ("flag -b needs a
 * value"); getopt itself prints nothing, so errors stay on one line.
 * cli_usage_error(verb, "invalid flag") uses it. "" when none. */
const char *cli_getopt_reason(void);
/* "usage error" helper: prints and returns 1 (runc exits 1 for usage). */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Foreground helpers for run/exec: forward signals to pid, proxy the pty if
 * tty_master >= 0, wait for pid to exit and return its exit code. */
int cli_wait_and_forward(pid_t pid, int tty_master);

/* Parse "yes/no/true/false" */
bool cli_parse_bool(const char *s, bool *out);

#endif
