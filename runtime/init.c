/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container-side half of create: runs in the cloned child. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "namespaces/namespaces.h"
#include "rootfs/rootfs.h"
#include "runtime/console.h"
#include "runtime/container.h"
#include "runtime/hooks.h"
#include "runtime/init_private.h"
#include "runtime/process_attrs.h"
#include "runtime/seccomp.h"
#include "runtime/sync.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

__attribute__((noreturn)) static void init_fail(int sync_fd, struct hangar_error *err)
{
	if (sync_fd >= 0)
		sync_send_error(sync_fd, err);
	_exit(1);
}

static int become_root_in_userns(struct hangar_error *err)
{
	/* After the maps are written the child is still "nobody" until it
	 * switches to the mapped root; it holds all capabilities in the new
	 * user namespace so this is allowed. */
	if (setresgid(0, 0, 0) < 0)
		return hangar_sys_error(err, "setresgid(0) in user namespace (is container gid 0 mapped?)");
	if (setresuid(0, 0, 0) < 0)
		return hangar_sys_error(err, "setresuid(0) in user namespace (is container uid 0 mapped?)");
	return 0;
}

static int set_hostnames(const struct oci_config *cfg, struct hangar_error *err)
{
	if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
		return hangar_sys_error(err, "hostname: sethostname '%s'", cfg->hostname);
	if (cfg->domainname && setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0)
		return hangar_sys_error(err, "domainname: setdomainname '%s'", cfg->domainname);
	return 0;
}

static int setup_console(struct init_ctx *ctx, char **slave_out, struct hangar_error *err)
{
	/* Called after pivot_root, so /dev/ptmx is the container's own devpts
	 * instance.  The runtime forwards the master to --console-socket (a
	 * host path we can no longer reach) or proxies it itself. */
	int master = -1;
	char *slave = NULL;
	if (console_open_pty(&master, &slave, err) < 0)
		return -1;
	int r = sync_send(ctx->sync_fd, SYNC_TTY_FD, 0, master, err);
	close(master);
	if (r < 0) {
		free(slave);
		return -1;
	}
	*slave_out = slave;
	return 0;
}

static int check_cwd(const char *cwd, struct hangar_error *err)
{
	if (chdir(cwd) < 0)
		return hangar_sys_error(err, "process.cwd: chdir %s", cwd);
	/* CVE-2024-21626: a leaked host directory fd as cwd shows up as
	 * "(unreachable)" or fails getcwd; refuse to run from outside the root. */
	char buf[4096];
	if (getcwd(buf, sizeof(buf)) == NULL || buf[0] != '/')
		return hangar_error_set(err, HANGAR_E_SYS, errno, "process.cwd: %s is outside the container root",
					cwd);
	return 0;
}

/* runc creates a missing cwd, and images rely on it (a WORKDIR that only
 * exists in the config).  Done after pivot_root, so the path resolves in
 * the container's root only, as the container's root and before
 * root.readonly applies. */
static int create_missing_cwd(const char *cwd, struct hangar_error *err)
{
	struct stat sb;
	if (stat(cwd, &sb) == 0 || errno != ENOENT)
		return 0;
	if (mkdir_p(cwd, 0755, err) < 0)
		return hangar_error_prefix(err, "process.cwd");
	return 0;
}

int resolve_executable(const struct oci_process *p, char **out, struct hangar_error *err)
{
	const char *name = p->args[0];
	struct stat sb;
	if (strchr(name, '/')) {
		if (stat(name, &sb) < 0)
			return hangar_error_set(err, HANGAR_E_NOTFOUND, 0,
						"exec: \"%s\": stat %s: no such file or directory", name, name);
		if (S_ISDIR(sb.st_mode) || access(name, X_OK) < 0)
			return hangar_error_set(err, HANGAR_E_SYS, 0, "exec: \"%s\": permission denied", name);
		*out = xstrdup(name);
		return 0;
	}
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (size_t i = 0; i < p->n_env; i++)
		if (str_has_prefix(p->env[i], "PATH="))
			path = p->env[i] + 5;
	_cleanup_free_ char *copy = xstrdup(path);
	bool denied = false;
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *cand = xasprintf("%s/%s", *dir ? dir : ".", name);
		if (stat(cand, &sb) < 0 || S_ISDIR(sb.st_mode))
			continue;
		if (access(cand, X_OK) < 0) {
			denied = true;
			continue;
		}
		*out = steal_pointer(&cand);
		return 0;
	}
	if (denied)
		return hangar_error_set(err, HANGAR_E_SYS, 0, "exec: \"%s\": permission denied", name);
	return hangar_error_set(err, HANGAR_E_NOTFOUND, 0, "exec: \"%s\": executable file not found in $PATH",
				name);
}

static int mark_fds_cloexec(int keep_upto)
{
	/* Everything above the preserved range is closed at execve, so no
	 * runtime fd (state dir, bundle, host paths) reaches the container. */
	return close_range((unsigned)keep_upto + 1, ~0U, CLOSE_RANGE_CLOEXEC);
}

static int join_session_keyring(const char *name, struct hangar_error *err)
{
	/* A fresh session keyring per container so it cannot see the host's
	 * (or another container's) keys. ENOSYS/EPERM under seccomp: skip. */
	long r = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name);
	if (r < 0 && errno != ENOSYS && errno != EPERM && errno != EACCES)
		return hangar_sys_error(err, "join session keyring");
	return 0;
}

void process_launch_final(const struct process_launch *pl)
{
	struct hangar_error err;
	hangar_error_clear(&err);
	const struct oci_process *p = pl->proc;
	_cleanup_free_ char *exe = NULL;
	struct seccomp_program *prog = NULL;
	int notify_fd = -1;

	if (resolve_executable(p, &exe, &err) < 0)
		init_fail(pl->sync_fd, &err);
	if (!pl->no_new_keyring && join_session_keyring(pl->keyring_name, &err) < 0)
		init_fail(pl->sync_fd, &err);
	if (process_apply_rlimits(p, &err) < 0 || process_apply_oom_score_adj(p, &err) < 0 ||
	    process_apply_io_priority(p, &err) < 0 || process_apply_scheduler(p, &err) < 0 ||
	    (pl->personality && process_apply_personality(pl->personality, &err) < 0) ||
	    process_apply_lsm(p, &err) < 0)
		init_fail(pl->sync_fd, &err);
	if (pl->seccomp && pl->seccomp->present && seccomp_program_build(pl->seccomp, &prog, &err) < 0)
		init_fail(pl->sync_fd, &err);
	/* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the
	 * user switch may drop: load it first in that case (as runc does). */
	if (prog && !p->no_new_privileges && seccomp_program_load(prog, &notify_fd, &err) < 0)
		init_fail(pl->sync_fd, &err);
	if (process_apply_user_and_caps(p, &err) < 0 || process_apply_no_new_privs(p, &err) < 0)
		init_fail(pl->sync_fd, &err);
	if (prog && p->no_new_privileges && seccomp_program_load(prog, &notify_fd, &err) < 0)
		init_fail(pl->sync_fd, &err);
	if (notify_fd >= 0) {
		if (sync_send(pl->sync_fd, SYNC_SECCOMP_FD, 0, notify_fd, &err) < 0)
			init_fail(pl->sync_fd, &err);
		close(notify_fd);
	}
	if (mark_fds_cloexec(2 + pl->preserve_fds) < 0) {
		hangar_sys_error(&err, "close_range");
		init_fail(pl->sync_fd, &err);
	}
	/* From here the process must outlive the runtime (create exits). */
	prctl(PR_SET_PDEATHSIG, 0);
	if (sync_send(pl->sync_fd, SYNC_READY, (int)getpid(), -1, &err) < 0)
		_exit(1);
	close(pl->sync_fd);

	if (pl->fifo_fd >= 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", pl->fifo_fd);
		/* Blocks until `start` opens the fifo for reading. */
		int wfd = open(path, O_WRONLY | O_CLOEXEC);
		if (wfd < 0) {
			fprintf(stderr, "hangar: open exec fifo: %s\n", strerror(errno));
			_exit(1);
		}
		if (write(wfd, "0", 1) != 1)
			_exit(1);
		/* wfd stays open (O_CLOEXEC) until execve: `start` waits for
		 * the fifo's EOF so that poststart hooks run after the user
		 * process was executed, as the spec orders them, not
		 * alongside the startContainer hooks below. */
		close(pl->fifo_fd);
	}
	if (pl->n_start_hooks > 0) {
		/* startContainer hooks: in the container, after `start`, before
		 * the user process.  A failure here can only be reported on stderr. */
		_cleanup_free_ char *state =
			container_hook_state_json(pl->cfg, pl->id, "running", getpid(), pl->bundle);
		if (hooks_run(pl->start_hooks, pl->n_start_hooks, "startContainer", state, &err) < 0) {
			fprintf(stderr, "hangar: %s\n", err.msg);
			_exit(1);
		}
	}
	execve(exe, p->args, p->env);
	int e = errno;
	fprintf(stderr, "hangar: exec %s: %s\n", p->args[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

static void late_namespaces(struct init_ctx *ctx)
{
	struct hangar_error err;
	hangar_error_clear(&err);
	int flags = (ctx->new_pidns_late ? CLONE_NEWPID : 0) | (ctx->new_timens_late ? CLONE_NEWTIME : 0);
	if (flags && unshare(flags) < 0) {
		hangar_sys_error(&err, "unshare pid/time namespace");
		init_fail(ctx->sync_fd, &err);
	}
	if (ctx->new_timens_late && ns_write_time_offsets(ctx->cfg, &err) < 0)
		init_fail(ctx->sync_fd, &err);
	pid_t child = fork();
	if (child < 0) {
		hangar_sys_error(&err, "fork container init");
		init_fail(ctx->sync_fd, &err);
	}
	if (child > 0) {
		/* The runtime becomes the new init's reaper; we only report its pid. */
		if (sync_send(ctx->sync_fd, SYNC_PID, child, -1, &err) < 0)
			kill(child, SIGKILL);
		_exit(0);
	}
}

void container_init_main(struct init_ctx *ctx)
{
	struct hangar_error err;
	struct sync_msg m;
	const struct oci_config *cfg = ctx->cfg;
	hangar_error_clear(&err);

	/* The init dies with the runtime until it is fully set up. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (sync_expect(ctx->sync_fd, SYNC_GO, &m, NULL, &err) < 0)
		_exit(1);
	/* Into the cgroup before anything else: before a fork (double fork),
	 * the cgroup namespace and the first allocations worth accounting. */
	if (ctx->self_enter_cg && cgroup_manager_self_enter(ctx->self_enter_cg, &err) < 0)
		init_fail(ctx->sync_fd, &err);
	if (ctx->new_userns && become_root_in_userns(&err) < 0)
		init_fail(ctx->sync_fd, &err);
	bool joined_userns = ctx->join_fds[OCI_NS_USER] >= 0;
	if (ns_join_fds(ctx->join_fds, &err) < 0)
		init_fail(ctx->sync_fd, &err);
	ns_close_fds(ctx->join_fds);
	/* setns keeps our host uid, which the joined namespace may not map:
	 * files we create would fail with EOVERFLOW.  Become its root, as in
	 * a new user namespace, then make the new namespaces it will own. */
	if (joined_userns && become_root_in_userns(&err) < 0)
		init_fail(ctx->sync_fd, &err);
	if (ctx->unshare_after_join && unshare(ctx->unshare_after_join) < 0) {
		hangar_sys_error(&err, "unshare namespaces in the joined user namespace");
		init_fail(ctx->sync_fd, &err);
	}
	if (ctx->double_fork)
		late_namespaces(ctx);
	if (ctx->new_cgroupns && unshare(CLONE_NEWCGROUP) < 0) {
		hangar_sys_error(&err, "unshare cgroup namespace");
		init_fail(ctx->sync_fd, &err);
	}
	if (setsid() < 0) {
		hangar_sys_error(&err, "setsid");
		init_fail(ctx->sync_fd, &err);
	}
	if (oci_config_namespace(cfg, OCI_NS_UTS) && set_hostnames(cfg, &err) < 0)
		init_fail(ctx->sync_fd, &err);

	struct rootfs_options ro = {.no_pivot = ctx->no_pivot,
				    .userns = oci_config_namespace(cfg, OCI_NS_USER) != NULL};
	bool has_mntns = oci_config_namespace(cfg, OCI_NS_MOUNT) != NULL;
	if (has_mntns && rootfs_prepare(cfg, ctx->rootfs, &ro, &err) < 0)
		init_fail(ctx->sync_fd, &err);

	/* prestart / createRuntime hooks run in the runtime's namespaces. */
	if (sync_send(ctx->sync_fd, SYNC_HOOKS, 0, -1, &err) < 0 ||
	    sync_expect(ctx->sync_fd, SYNC_HOOKS_DONE, &m, NULL, &err) < 0)
		_exit(1);
	if (cfg->hooks.n_create_container > 0) {
		_cleanup_free_ char *state = container_hook_state_json(cfg, ctx->id, "created", getpid(),
								       ctx->bundle);
		if (hooks_run(cfg->hooks.create_container, cfg->hooks.n_create_container, "createContainer",
			      state, &err) < 0)
			init_fail(ctx->sync_fd, &err);
	}
	if (has_mntns) {
		if (rootfs_pivot(ctx->rootfs, &ro, &err) < 0)
			init_fail(ctx->sync_fd, &err);
	} else if (chdir(ctx->rootfs) < 0 || chroot(".") < 0) {
		hangar_sys_error(&err, "chroot %s", ctx->rootfs);
		init_fail(ctx->sync_fd, &err);
	}
	_cleanup_free_ char *slave = NULL;
	if (cfg->process.terminal && (setup_console(ctx, &slave, &err) < 0 ||
				      console_setup_slave(slave, cfg->process.console_height,
							  cfg->process.console_width, &err) < 0))
		init_fail(ctx->sync_fd, &err);
	if (cfg->process.cwd && create_missing_cwd(cfg->process.cwd, &err) < 0)
		init_fail(ctx->sync_fd, &err);
	if (has_mntns && rootfs_finalize(cfg, &err) < 0)
		init_fail(ctx->sync_fd, &err);
	if (check_cwd(cfg->process.cwd ? cfg->process.cwd : "/", &err) < 0)
		init_fail(ctx->sync_fd, &err);

	struct process_launch pl = {
		.proc = &cfg->process,
		.seccomp = cfg->linux_.seccomp.present ? &cfg->linux_.seccomp : NULL,
		.personality = cfg->linux_.personality.present ? &cfg->linux_.personality : NULL,
		.sync_fd = ctx->sync_fd,
		.fifo_fd = ctx->fifo_fd,
		.preserve_fds = ctx->preserve_fds,
		.no_new_keyring = ctx->no_new_keyring,
		.keyring_name = ctx->id,
		.start_hooks = cfg->hooks.start_container,
		.n_start_hooks = cfg->hooks.n_start_container,
		.cfg = cfg,
		.id = ctx->id,
		.bundle = ctx->bundle,
	};
	process_launch_final(&pl);
}
