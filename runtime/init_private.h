/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_INIT_PRIVATE_H
#define HANGAR_INIT_PRIVATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "config/oci.h"
#include "namespaces/namespaces.h"

/* Everything the container-side process needs; it lives in the memory the
 * child inherits from the runtime at clone time (no re-exec, no parsing twice). */
struct init_ctx {
	const struct oci_config *cfg;
	const char *rootfs;		/* absolute host path */
	const char *id;
	const char *bundle;
	int sync_fd;			/* child end of the socketpair */
	int fifo_fd;			/* O_PATH fd of exec.fifo, -1 for exec */
	int join_fds[OCI_NS_COUNT];	/* namespaces to join, -1 otherwise */
	bool new_userns;		/* CLONE_NEWUSER was in the clone flags */
	bool double_fork;		/* unshare pid/time and fork the real init */
	bool new_pidns_late, new_timens_late, new_cgroupns;
	int unshare_after_join;		/* CLONE_NEW* to create inside a joined user namespace */
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds;
	/* Non-NULL: the child moves itself into this cgroup right after GO
	 * (cgroup_manager_self_enter); otherwise the parent placed it. */
	struct cgroup_manager *self_enter_cg;
};

/* Runs in the cloned child; never returns. */
__attribute__((noreturn)) void container_init_main(struct init_ctx *ctx);

/* Shared by init and exec: everything from process attributes to execve. */
struct process_launch {
	const struct oci_process *proc;
	const struct oci_seccomp *seccomp;	/* NULL: none */
	const struct oci_personality *personality;
	int sync_fd;
	int fifo_fd;				/* wait on it before exec, -1 = no wait */
	int preserve_fds;
	bool no_new_keyring;
	const char *keyring_name;
	const struct oci_hook *start_hooks;	/* startContainer hooks, run after the fifo */
	size_t n_start_hooks;
	const struct oci_config *cfg;		/* for the hook state */
	const char *id;
	const char *bundle;
};
__attribute__((noreturn)) void process_launch_final(const struct process_launch *pl);

/* Resolve args[0] against PATH from the process env (as execvp would, but
 * reporting runc's wording so clients map it to exit codes 127/126). */
int resolve_executable(const struct oci_process *p, char **out, struct hangar_error *err);

#endif
