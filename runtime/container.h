/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_CONTAINER_H
#define HANGAR_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"
#include "config/oci.h"
#include "runtime/state.h"

/* Called by the runtime while the container's namespaces exist but before
 * the user process may run (the point where createRuntime hooks run).  The
 * instance manager attaches networking here. */
typedef int (*container_created_cb)(pid_t init_pid, void *data, struct hangar_error *err);

struct container_create_opts {
	const char *root;		/* state root (--root) */
	const char *id;
	const char *bundle;		/* absolute bundle dir */
	const char *config_path;	/* default <bundle>/config.json */
	struct oci_config *config;	/* optional preloaded config (owned by caller) */
	const char *console_socket;	/* --console-socket */
	const char *pid_file;		/* --pid-file */
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds;		/* --preserve-fds N: fds 3..3+N-1 passed to the process */
	bool systemd_cgroup;
	/* `run` in the foreground with terminal=true and no console socket:
	 * receive the pty master into *tty_master_out to proxy it. */
	bool want_tty_master;
	container_created_cb on_created;
	void *on_created_data;
};

struct container_created {
	pid_t pid;	 /* host pid of init */
	int tty_master;	 /* -1 unless want_tty_master and process.terminal */
	bool our_child;	 /* init is our direct child (else we are its subreaper) */
};

/* `create`: everything up to the exec.fifo sync point; on failure nothing is
 * left behind (processes killed, cgroup removed, state dir removed). */
int container_create(const struct container_create_opts *o, struct container_created *out,
		     struct hangar_error *err);

/* `start`: release a created container's init, run poststart hooks. */
int container_start(const char *root, const char *id, struct hangar_error *err);

/* `kill`: signal the init (or every process with all=true). */
int container_kill(const char *root, const char *id, int sig, bool all, struct hangar_error *err);

/* `delete`: refuse unless stopped (or force: kill first); removes cgroup,
 * runs poststop hooks, removes state. */
int container_delete(const char *root, const char *id, bool force, struct hangar_error *err);

/* Wait for a container init that is our child (or we are its subreaper);
 * returns a shell-style exit code (128+sig for signals). */
int container_wait_exit(pid_t pid);

/* Parse "SIGKILL", "KILL", "9" */
int signal_from_name(const char *name);

/* Build the hook state JSON ({"ociVersion","id","status","pid","bundle","annotations"}). */
char *container_hook_state_json(const struct oci_config *cfg, const char *id, const char *status, pid_t pid,
				const char *bundle);

/* root.path made absolute (relative to the bundle) and checked to be a
 * directory. */
int container_resolve_rootfs(const struct oci_config *cfg, const char *bundle, char **out,
			     struct hangar_error *err);

/* Load the config stored in the state dir at create time. */
int container_load_config(const struct container_state *st, struct oci_config **out, struct hangar_error *err);

#endif
