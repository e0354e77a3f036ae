/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_EXEC_H
#define HANGAR_EXEC_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"
#include "config/oci.h"

struct container_exec_opts {
	const char *root;
	const char *id;
	struct oci_process *process;	/* fully resolved process to run */
	const char *console_socket;
	const char *pid_file;
	int preserve_fds;
	bool want_tty_master;		/* foreground -t without console socket */
	const char *cgroup_subpath;	/* --cgroup: optional sub-cgroup (unused on v1) */
};

struct container_exec_result {
	pid_t pid;
	int tty_master;
};

/* Run a new process inside a running container's namespaces and cgroup. The
 * caller must be a child subreaper to wait for it. */
int container_exec(const struct container_exec_opts *o, struct container_exec_result *out, struct hangar_error *err);

/* Build the process for `exec ARGS...`: the container's configured process
 * is the template (user, caps, env, cwd, no_new_privs, rlimits, labels). */
int container_exec_template(const char *root, const char *id, struct oci_process *out, struct hangar_error *err);

#endif
