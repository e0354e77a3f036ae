/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_CLI_HANGAR_H
#define HANGAR_CLI_HANGAR_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli/common/cli.h"
#include "manager/instance.h"
#include "manager/paths.h"

/*
 * The verb table.  Adding a verb is one file (cli/hangar/VERB.c defining
 * int cmd_VERB(int argc, char **argv)) and one line here:
 *   X(name, "summary", enters_container)
 * enters_container: the verb runs code that ends up inside an instance, so
 * hangar first re-executes itself from a sealed copy (CVE-2019-5736).
 */
#define HANGAR_VERBS(X)                                                                     \
	X(create, "create an instance (does not start it)", false)                          \
	X(start, "start an instance (spawns its monitor)", true)                            \
	X(stop, "stop an instance (clean shutdown, then SIGKILL after a timeout)", false)   \
	X(restart, "stop and start an instance", true)                                      \
	X(run, "create, start and attach to a new instance", true)                          \
	X(sandbox, "a throw-away shell in a fresh instance, the current directory mounted", true) \
	X(exec, "run a command inside a running instance", true)                            \
	X(console, "attach to the console of a running instance (Ctrl-a q detaches)", false) \
	X(list, "list instances", false)                                                    \
	X(info, "show an instance's configuration and state", false)                        \
	X(stats, "show live resource usage", false)                                         \
	X(set, "change limits of an instance, live (and for the next start with --save)", false) \
	X(logs, "show an instance's console log", false)                                    \
	X(destroy, "stop and remove an instance and everything it left", false)             \
	X(image, "manage images: list, import, rm, debootstrap", false)                     \
	X(network, "manage bridge networks: create, list, rm", false)                       \
	X(checkpoint, "save a running instance's processes with CRIU", false)               \
	X(restore, "bring a checkpointed instance back", true)                              \
	X(migrate, "move a running instance to another host (or store)", true)

#define HANGAR_DECLARE_VERB(name, summary, clone) int cmd_##name(int argc, char **argv);
HANGAR_VERBS(HANGAR_DECLARE_VERB)
#undef HANGAR_DECLARE_VERB

/* Exit codes (documented in hangar(1)). */
enum {
	HANGAR_EXIT_OK = 0,
	HANGAR_EXIT_FAILURE = 1,     /* anything else that went wrong */
	HANGAR_EXIT_USAGE = 2,	     /* bad command line or bad value */
	HANGAR_EXIT_NOTFOUND = 3,    /* no such instance or image */
	HANGAR_EXIT_CONFLICT = 4,    /* name taken, image in use, wrong state, port taken */
	HANGAR_EXIT_UNSUPPORTED = 5, /* the host lacks a feature or tool */
};

/* --root / --run globals (NULL: environment, then defaults). */
extern const char *hangar_opt_root, *hangar_opt_run;

/* The resolved directories (made on first use); NULL after printing an error. */
const struct hangar_paths *hangar_paths(void);

/* Print err as one line and return the exit code its kind maps to. */
int hangar_fail(const struct hangar_error *err);
/* Print "VERB: message (see 'hangar VERB --help')" and return HANGAR_EXIT_USAGE. */
int hangar_usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Limit flags shared by create, run and set. */
enum {
	OPT_MEMORY = 1000,
	OPT_CPUS,
	OPT_CPUSET,
	OPT_IO_WEIGHT,
	OPT_IO_MAX,
	OPT_PIDS,
	OPT_VERB_BASE, /* verbs number their own long options from here */
};
#define HANGAR_LIMIT_OPTIONS                                          \
	{"memory", required_argument, NULL, OPT_MEMORY},              \
	{"cpus", required_argument, NULL, OPT_CPUS},                  \
	{"cpuset", required_argument, NULL, OPT_CPUSET},              \
	{"io-weight", required_argument, NULL, OPT_IO_WEIGHT},        \
	{"io-max", required_argument, NULL, OPT_IO_MAX},              \
	{"pids", required_argument, NULL, OPT_PIDS}
/* 1: opt was a limit flag and was parsed; 0: not a limit flag; -1: bad value (err set). */
int hangar_parse_limit(int opt, const char *arg, struct instance_limits *l, struct hangar_error *err);

/* Create options shared by create and run. */
struct create_args {
	struct instance_create_opts o;
	struct instance_limits limits;
	char **env, **networks, **publish, **mounts; /* NULL-terminated, owned */
};
#define HANGAR_CREATE_OPTIONS                                         \
	HANGAR_LIMIT_OPTIONS,                                         \
	{"image", required_argument, NULL, 'i'},                      \
	{"network", required_argument, NULL, 'n'},                    \
	{"publish", required_argument, NULL, 'p'},                    \
	{"env", required_argument, NULL, 'e'},                        \
	{"mount", required_argument, NULL, 'm'},                      \
	{"hostname", required_argument, NULL, 'H'},                   \
	{"init", no_argument, NULL, 'I'}
#define HANGAR_CREATE_SHORTOPTS "i:n:p:e:m:H:"
/* 1: handled; 0: not a create flag; -1: bad value (err set). */
int hangar_parse_create_opt(int opt, const char *arg, struct create_args *a, struct hangar_error *err);
void create_args_clear(struct create_args *a);

/* Proxy the terminal to a console connection until the instance exits
 * (returns 0) or the user types Ctrl-a q or, with detach_on_eof, input
 * ends (returns 1), or a signal caught by hangar_catch_leave_signals
 * arrives (returns 2).  Terminal resizes are passed on. */
int hangar_console_proxy(const struct hangar_paths *p, int sock, const char *name, bool hint, bool detach_on_eof);
/* SIGHUP (terminal gone), SIGTERM and SIGINT only record themselves in
 * hangar_leave_signal, so that an attached `run --rm` / `sandbox` can
 * still stop and remove its instance when its user leaves. */
extern volatile sig_atomic_t hangar_leave_signal;
/* Set by `sandbox` before cmd_run: stop a kept instance on those signals. */
extern bool hangar_run_stops_on_leave;
/* Seconds a kept instance gets to stop after its user left. */
#define HANGAR_LEAVE_STOP_TIMEOUT 5
void hangar_catch_leave_signals(void);
/* Wait for the instance's monitor to finish; its exit code (255 if unknown). */
int hangar_wait_exit_code(const struct hangar_paths *p, const char *name);

/* Human-readable sizes: "512.0MiB". */
void format_bytes(uint64_t n, char *buf, size_t len);
void format_duration(long long seconds, char *buf, size_t len);

/* stop and restart: [--timeout S] [--force] NAME...; 0, -1 after help, or an exit code. */
int parse_stop_args(const char *verb, int argc, char **argv, int *timeout, int *first);

struct cgroup_stats;
/* cgroup statistics of a running instance. */
int hangar_instance_stats(const struct hangar_paths *p, const char *name, struct cgroup_stats *st,
			  struct hangar_error *err);
struct network_attachment;
/* The instance's attachments in ifname order (eth0, eth1, ...). */
int hangar_instance_attachments(const struct hangar_paths *p, const char *name, struct network_attachment **att,
				size_t *n, struct hangar_error *err);
/* Every IPv4 address, one per network: "10.213.0.5 (eth0), 10.214.0.2
 * (eth1)", or NULL. */
char *hangar_instance_ipv4(const struct hangar_paths *p, const char *name);
/* The instance's live addresses for --format json: an array of
 * {"address", "prefix_length", "family", "interface", "network"} (empty
 * when none), and in *first_ipv4 (may be NULL) the first bare IPv4 address
 * or NULL.  The table keeps the human "ADDR (IFACE)". */
struct json_object *hangar_instance_addresses_json(const struct hangar_paths *p, const char *name,
						   char **first_ipv4);

void strv_append(char ***v, const char *s);

#endif
