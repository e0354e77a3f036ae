/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_CHECKPOINT_CRIU_H
#define HANGAR_CHECKPOINT_CRIU_H

/*
 * Driving the criu binary: finding it, checking its version and features,
 * building its command line and running it with a log whose last meaningful
 * error line ends up in the hangar_error.
 */

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* The oldest criu whose command line and images hangar understands. */
#define CRIU_MIN_VERSION 31500 /* 3.15.0 */

struct criu {
	char *path;
	unsigned version; /* major * 10000 + minor * 100 + sublevel */
	char version_str[32];
	int nft_lock; /* --network-lock nftables works: 1, 0, -1 not asked yet */
};

/* As root, where criu_open remembers `criu --version` and the nftables
 * lock probe ($HANGAR_CRIU_CACHE overrides; empty: never). */
#define CRIU_VERSION_CACHE "/run/hangar-criu.version"

/* Resolve and probe the criu binary.  Order: explicit (the --criu flag),
 * $HANGAR_CRIU, /opt/hangar/criu/bin/criu (scripts/install-criu), criu in
 * $PATH.  Fails when the binary is missing, does not answer --version, is
 * older than 3.15, or is a version known not to work on the running kernel. */
int criu_open(const char *explicit_path, struct criu *out, struct hangar_error *err);
void criu_close(struct criu *c);

/* `criu check --feature NAME`: *supported is false when criu says no. */
int criu_check_feature(const struct criu *c, const char *feature, bool *supported, struct hangar_error *err);

/* Refuse, with one line naming the missing feature, what this criu/kernel
 * pair cannot do.  Each returns 0 when the feature works here. */
int criu_require_mem_tracking(const struct criu *c, const char *flag, struct hangar_error *err);
int criu_require_lazy_pages(const struct criu *c, struct hangar_error *err);
int criu_require_tcp_established(const struct criu *c, struct hangar_error *err);
/* Whether `--network-lock nftables` works (probed once per binary, kept in
 * the version cache): preferred to the iptables lock, which runs four
 * external programs inside the freeze. */
bool criu_has_nftables_lock(struct criu *c);

/* A growing argv for criu (argv[0] is the binary). */
struct criu_args {
	char **v;
	size_t n, cap;
};
void criu_args_init(struct criu_args *a, const struct criu *c, const char *action);
void criu_args_add(struct criu_args *a, const char *arg);
void criu_args_addf(struct criu_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void criu_args_free(struct criu_args *a);

/* Runs in the forked child just before exec (mount namespace, cgroup,
 * fd layout).  Returns 0 or -1 with err set. */
typedef int (*criu_child_setup_fn)(void *data, struct hangar_error *err);

struct criu_run_opts {
	const char *step;     /* "dump", "restore": names the step in errors */
	const char *log_path; /* the -o file, read back on failure */
	criu_child_setup_fn setup;
	void *setup_data;
	/* fds criu inherits (their CLOEXEC flag is cleared in the child). */
	const int *keep_fds;
	size_t n_keep_fds;
	/* When >= 0, criu's stdin/stdout/stderr are redirected here (restore
	 * keeps the caller's stdio for --inherit-fd instead). */
	int stdio_fd;
	/* When set, criu's stdout goes to this file (--display-stats prints
	 * there). */
	const char *stdout_path;
	/* criu action-script round trip: a script run by criu writes a line
	 * into event_fifo and waits for "ok" or "fail" on reply_fifo; criu_run
	 * calls on_event with that line meanwhile (restore uses it to set up
	 * networking at "setup-namespaces", before the tasks resume). */
	const char *event_fifo, *reply_fifo;
	int (*on_event)(const char *line, void *data, struct hangar_error *err);
	void *event_data;
};

/* Write an action script at path that does the event_fifo/reply_fifo round
 * trip for the criu action `action`, passing the value of env_var. */
int criu_write_action_script(const char *path, const char *action, const char *env_var,
			     const char *event_fifo, const char *reply_fifo, struct hangar_error *err);

/* Fork, run setup, exec criu with args, wait.  On failure err reads
 * "criu STEP failed: <last error line of the log> (log: PATH)". */
int criu_run(const struct criu_args *args, const struct criu_run_opts *o, struct hangar_error *err);

/* The meaningful error of a criu log: its first "Error" line that is not
 * noise, without the timestamp and source prefix, else its last line; NULL
 * for an empty log.  Exposed for unit tests. */
char *criu_log_last_error(const char *log_text);
/* " (what it means)" for criu errors with a known cause, else "". */
const char *criu_error_hint(const char *criu_error);
/* Parse "Version: 4.1.1" (and "GitID" lines) from `criu --version`. */
int criu_parse_version(const char *text, unsigned *version);

#endif
