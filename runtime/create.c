/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The runtime half of create: set up state, cgroup and namespaces, clone the
 * init, drive it through the sync protocol up to the exec.fifo barrier. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "namespaces/namespaces.h"
#include "rootfs/rootfs.h"
#include "runtime/console.h"
#include "runtime/container.h"
#include "runtime/devices_default.h"
#include "runtime/hooks.h"
#include "runtime/init_private.h"
#include "runtime/seccomp.h"
#include "runtime/sync.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct create_run {
	const struct container_create_opts *o;
	struct oci_config *cfg;
	char *rootfs;
	char *dir;
	int lock_fd;
	int join_fds[OCI_NS_COUNT];
	struct cgroup_manager *cg;
	int sync[2];
	int fifo_fd;
	int pidfd;
	pid_t stage1;
	pid_t pid;
	int tty_master;
	bool double_fork;
};

int container_resolve_rootfs(const struct oci_config *cfg, const char *bundle, char **out,
			     struct hangar_error *err)
{
	if (!cfg->has_root || cfg->root.path == NULL)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "root.path: required");
	_cleanup_free_ char *p = cfg->root.path[0] == '/' ? xstrdup(cfg->root.path)
							  : xasprintf("%s/%s", bundle, cfg->root.path);
	char buf[PATH_MAX];
	if (realpath(p, buf) == NULL)
		return hangar_error_set(err, HANGAR_E_CONFIG, errno, "root.path: %s", p);
	struct stat sb;
	if (stat(buf, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return hangar_error_set(err, HANGAR_E_CONFIG, ENOTDIR, "root.path: %s", buf);
	*out = xstrdup(buf);
	return 0;
}

static int validate(const struct create_run *r, struct hangar_error *err)
{
	const struct oci_config *cfg = r->cfg;
	const struct container_create_opts *o = r->o;
	if (!cfg->has_process || cfg->process.n_args == 0)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "process.args: must not be empty");
	if (cfg->process.terminal && o->console_socket == NULL && !o->want_tty_master)
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"cannot allocate tty if hangar-oci will detach without setting console socket");
	if (!cfg->process.terminal && o->console_socket != NULL)
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"cannot use console socket if hangar-oci will not detach or allocate tty");
	if (oci_config_namespace(cfg, OCI_NS_MOUNT) == NULL)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"linux.namespaces: a mount namespace is required");
	const struct oci_namespace *user = oci_config_namespace(cfg, OCI_NS_USER);
	if (user && user->path == NULL && (cfg->linux_.n_uid_mappings == 0 || cfg->linux_.n_gid_mappings == 0))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"linux.uidMappings: a new user namespace needs uidMappings and gidMappings");
	if (!user && (cfg->linux_.n_uid_mappings || cfg->linux_.n_gid_mappings))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"linux.uidMappings: mappings given but no user namespace requested");
	if (geteuid() != 0 && !user)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"rootless container needs a user namespace (use `spec --rootless`)");
	if (cfg->linux_.intel_rdt.present)
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"linux.intelRdt: Intel RDT (resctrl) is not supported by hangar-oci");
	const struct oci_namespace *time_ns = oci_config_namespace(cfg, OCI_NS_TIME);
	if ((cfg->linux_.time_offsets_monotonic.present || cfg->linux_.time_offsets_boottime.present) &&
	    (!time_ns || time_ns->path))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"linux.timeOffsets: needs a new time namespace");
	if (time_ns && access("/proc/self/ns/time", F_OK) < 0)
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"linux.namespaces: time namespaces are not supported by this kernel");
	/* Refuse sysctls that would change the host (e.g. net.* with the
	 * host's network namespace) before anything is created. */
	return rootfs_validate_sysctl(cfg, err);
}

/* Store the config the container was created with: bundles may change or
 * vanish before delete runs the poststop hooks. */
static int save_config(struct create_run *r, struct hangar_error *err)
{
	_cleanup_free_ char *json = oci_config_to_json(r->cfg);
	_cleanup_free_ char *path = xasprintf("%s/config.json", r->dir);
	if (json == NULL)
		return hangar_error_set(err, HANGAR_E_SYS, 0, "serialise config");
	return write_file_atomic(path, json, strlen(json), 0600, err);
}

/* `state` shows a container still being created with its bundle (the
 * state.json that records it is written last). */
static int link_bundle(struct create_run *r, struct hangar_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/bundle", r->dir);
	if (symlink(r->o->bundle, path) < 0)
		return hangar_sys_error(err, "symlink %s", path);
	return 0;
}

static int open_fifo(struct create_run *r, struct hangar_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/exec.fifo", r->dir);
	mode_t old = umask(0);
	int rc = mkfifo(path, 0622);
	umask(old);
	if (rc < 0)
		return hangar_sys_error(err, "mkfifo %s", path);
	r->fifo_fd = open(path, O_PATH | O_CLOEXEC);
	if (r->fifo_fd < 0)
		return hangar_sys_error(err, "open %s", path);
	return 0;
}

static uint64_t clone_flags(struct create_run *r, struct init_ctx *ctx)
{
	const struct oci_config *cfg = r->cfg;
	uint64_t flags = 0;
	bool pid_join = false, pid_new = false, time_any = false, user_join = false;
	for (size_t i = 0; i < cfg->linux_.n_namespaces; i++) {
		const struct oci_namespace *ns = &cfg->linux_.namespaces[i];
		if (ns->type == OCI_NS_PID && ns->path)
			pid_join = true;
		if (ns->type == OCI_NS_PID && !ns->path)
			pid_new = true;
		if (ns->type == OCI_NS_TIME)
			time_any = true;
		if (ns->type == OCI_NS_USER && ns->path)
			user_join = true;
	}
	/* Joining a pid or time namespace, or writing time offsets, only
	 * affects children: the init is then forked once more after setns.
	 * A joined user namespace must own the new namespaces (else the init
	 * has no capability over them: sethostname, mount get EPERM), so they
	 * are unshared after the setns, and a new pid namespace again needs
	 * the extra fork. */
	r->double_fork = pid_join || time_any || (user_join && pid_new);
	for (size_t i = 0; i < cfg->linux_.n_namespaces; i++) {
		const struct oci_namespace *ns = &cfg->linux_.namespaces[i];
		if (ns->path)
			continue;
		switch (ns->type) {
		case OCI_NS_PID:
			if (r->double_fork)
				ctx->new_pidns_late = true;
			else
				flags |= CLONE_NEWPID;
			break;
		case OCI_NS_TIME:
			ctx->new_timens_late = true;
			break;
		case OCI_NS_CGROUP:
			/* Created by the child once it sits in its cgroup, so the
			 * namespace root is the container's cgroup (v1 has no
			 * CLONE_INTO_CGROUP). */
			ctx->new_cgroupns = true;
			break;
		case OCI_NS_USER:
			ctx->new_userns = true;
			flags |= CLONE_NEWUSER;
			break;
		default:
			if (user_join)
				ctx->unshare_after_join |= ns_clone_flag(ns->type);
			else
				flags |= (uint64_t)ns_clone_flag(ns->type);
		}
	}
	ctx->double_fork = r->double_fork;
	return flags;
}

static int run_runtime_hooks(struct create_run *r, struct hangar_error *err)
{
	const struct oci_config *cfg = r->cfg;
	if (cfg->hooks.n_prestart + cfg->hooks.n_create_runtime > 0) {
		_cleanup_free_ char *state = container_hook_state_json(cfg, r->o->id, "creating", r->pid, r->o->bundle);
		if (hooks_run(cfg->hooks.prestart, cfg->hooks.n_prestart, "prestart", state, err) < 0 ||
		    hooks_run(cfg->hooks.create_runtime, cfg->hooks.n_create_runtime, "createRuntime", state, err) < 0)
			return -1;
	}
	if (r->o->on_created && r->o->on_created(r->pid, r->o->on_created_data, err) < 0)
		return -1;
	return 0;
}

static int drive_child(struct create_run *r, struct hangar_error *err)
{
	struct sync_msg m;
	for (;;) {
		int fd = -1;
		int recv_rc = sync_recv(r->sync[0], &m, &fd, err);
		if (recv_rc < 0)
			return recv_rc;
		switch (m.type) {
		case SYNC_ERROR:
			err->code = m.err_code ? m.err_code : HANGAR_E_CHILD;
			err->err_no = m.err_no;
			memcpy(err->msg, m.msg, sizeof(err->msg));
			return -1;
		case SYNC_PID:
			r->pid = m.value;
			/* stage1 exits right after reporting; reap it now. */
			waitpid(r->stage1, NULL, 0);
			r->stage1 = -1;
			break;
		case SYNC_HOOKS:
			if (run_runtime_hooks(r, err) < 0) {
				return -1;
			}
			if (sync_send(r->sync[0], SYNC_HOOKS_DONE, 0, -1, err) < 0)
				return -1;
			break;
		case SYNC_TTY_FD:
			if (fd < 0)
				return hangar_error_set(err, HANGAR_E_CHILD, 0, "no pty received from container");
			if (r->o->console_socket) {
				int rc = console_send_master(r->o->console_socket, fd, err);
				close(fd);
				if (rc < 0)
					return -1;
			} else {
				r->tty_master = fd;
			}
			break;
		case SYNC_SECCOMP_FD: {
			const struct oci_seccomp *sc = &r->cfg->linux_.seccomp;
			int rc = 0;
			if (sc->listener_path) {
				_cleanup_free_ char *state =
					container_hook_state_json(r->cfg, r->o->id, "creating", r->pid, r->o->bundle);
				rc = seccomp_send_listener(sc->listener_path, fd, state, sc->listener_metadata, err);
			}
			close(fd);
			if (rc < 0)
				return -1;
			break;
		}
		case SYNC_READY:
			if (fd >= 0)
				close(fd);
			return 0;
		default:
			if (fd >= 0)
				close(fd);
			return hangar_error_set(err, HANGAR_E_CHILD, 0, "sync: unexpected message %d", m.type);
		}
	}
}

/* The init vanished without reporting an error: say how it died, since
 * "connection reset" or "exited" alone gives the user nothing to fix.  A
 * SIGKILL during setup is almost always the memory cgroup's OOM killer
 * (runc #1980: a limit below what the runtime's own init needs). */
static void explain_init_death(struct create_run *r, struct hangar_error *err)
{
	pid_t pid = r->pid > 0 ? r->pid : r->stage1;
	int status = 0;
	pid_t w = 0;
	/* Bounded: the sync socket closes as the process exits, so it is
	 * normally reapable at once. */
	for (int i = 0; i < 400 && pid > 0; i++) {
		w = waitpid(pid, &status, WNOHANG);
		if (w != 0)
			break;
		usleep(5000);
	}
	if (w != pid)
		return;
	if (pid == r->pid)
		r->pid = -1;
	else
		r->stage1 = -1;
	const struct oci_memory *mem = &r->cfg->linux_.resources.memory;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && mem->has_limit && mem->limit > 0)
		hangar_error_set(err, HANGAR_E_CHILD, 0,
				 "container init was killed by SIGKILL during setup: "
				 "linux.resources.memory.limit %lld bytes is probably too low (OOM)",
				 (long long)mem->limit);
	else if (WIFSIGNALED(status))
		hangar_error_set(err, HANGAR_E_CHILD, 0, "container init was killed by signal %d (%s) during setup",
				 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status))
		hangar_error_set(err, HANGAR_E_CHILD, 0,
				 "container init exited with status %d during setup without reporting an error",
				 WEXITSTATUS(status));
}

static void cleanup_failed(struct create_run *r)
{
	struct hangar_error ignored;
	if (r->stage1 > 0) {
		kill(r->stage1, SIGKILL);
		waitpid(r->stage1, NULL, 0);
	}
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	if (r->cg) {
		cgroup_manager_destroy(r->cg, &ignored);
		cgroup_manager_free(r->cg);
		r->cg = NULL;
	}
	if (r->dir)
		state_remove(r->dir, &ignored);
}

static void add_listen_fds(struct create_run *r, int *preserve)
{
	/* socket activation: pass LISTEN_FDS through like runc does. */
	const char *lf = getenv("LISTEN_FDS");
	uint64_t n;
	if (lf == NULL || parse_u64(lf, &n) < 0 || n == 0 || n > 1024)
		return;
	struct oci_process *p = &r->cfg->process;
	char **env = xmalloc0((p->n_env + 3) * sizeof(char *));
	for (size_t i = 0; i < p->n_env; i++)
		env[i] = p->env[i];
	env[p->n_env] = xasprintf("LISTEN_FDS=%s", lf);
	env[p->n_env + 1] = xstrdup("LISTEN_PID=1");
	free(p->env);
	p->env = env;
	p->n_env += 2;
	if ((int)n > *preserve)
		*preserve = (int)n;
}

/* Something a cgroup would enforce; device rules do not count (a rootless
 * container cannot open host devices it may not open anyway), nor does an
 * empty "resources": {} as podman writes. */
static bool requests_limits(const struct oci_resources *res)
{
	return res->present && (res->memory.present || res->cpu.present || res->has_pids_limit ||
				res->blkio.present || res->n_hugepage_limits || res->has_network || res->n_rdma ||
				res->n_unified);
}

int container_create(const struct container_create_opts *o, struct container_created *out, struct hangar_error *err)
{
	struct create_run r;
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.lock_fd = r.fifo_fd = r.pidfd = r.tty_master = -1;
	r.sync[0] = r.sync[1] = -1;
	r.stage1 = r.pid = -1;
	for (int i = 0; i < OCI_NS_COUNT; i++)
		r.join_fds[i] = -1;
	struct oci_config *owned_cfg = NULL;
	struct init_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	int rc = -1;
	int preserve = o->preserve_fds;

	if (state_validate_id(o->id, err) < 0)
		return -1;
	if (o->config) {
		r.cfg = o->config;
	} else {
		_cleanup_free_ char *path = o->config_path ? xstrdup(o->config_path)
							   : xasprintf("%s/config.json", o->bundle);
		if (oci_config_load(path, &owned_cfg, err) < 0)
			return -1;
		r.cfg = owned_cfg;
	}
	if (validate(&r, err) < 0 || container_resolve_rootfs(r.cfg, o->bundle, &r.rootfs, err) < 0)
		goto out;
	if (ns_open_join_fds(r.cfg, r.join_fds, err) < 0)
		goto out;
	add_listen_fds(&r, &preserve);
	if (state_create_dir(o->root, o->id, &r.dir, err) < 0)
		goto out;
	r.lock_fd = state_lock(r.dir, err);
	if (r.lock_fd < 0 || save_config(&r, err) < 0 || open_fifo(&r, err) < 0 || link_bundle(&r, err) < 0)
		goto fail;

	struct cgroup_spec cs = {.path = r.cfg->linux_.cgroups_path,
				 .id = o->id,
				 .rootless = state_rootless(),
				 .systemd = o->systemd_cgroup,
				 .systemd_subtree = cgroup_config_wants_systemd(r.cfg)};
	/* Only a privileged container gets device rules: an unprivileged
	 * one cannot open host devices it is not allowed to anyway. */
	if (!state_rootless())
		oci_resources_add_default_devices(&r.cfg->linux_.resources, &r.cfg->linux_);
	const struct oci_resources *res = r.cfg->linux_.resources.present ? &r.cfg->linux_.resources : NULL;
	if (cgroup_manager_create(&cs, res, &r.cg, err) < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, r.sync) < 0) {
		hangar_sys_error(err, "socketpair");
		goto fail;
	}

	ctx.cfg = r.cfg;
	ctx.rootfs = r.rootfs;
	ctx.id = o->id;
	ctx.bundle = o->bundle;
	ctx.sync_fd = r.sync[1];
	ctx.fifo_fd = r.fifo_fd;
	memcpy(ctx.join_fds, r.join_fds, sizeof(ctx.join_fds));
	ctx.no_pivot = o->no_pivot;
	ctx.no_new_keyring = o->no_new_keyring;
	ctx.preserve_fds = preserve;
	uint64_t flags = clone_flags(&r, &ctx);
	/* A double-forked init is re-parented to us only if we are a subreaper. */
	if (r.double_fork)
		prctl(PR_SET_CHILD_SUBREAPER, 1);

	/* v1: the child moves itself in (no grace-period wait, see
	 * cgroup_manager_self_enter_open); v2: clone3 CLONE_INTO_CGROUP. */
	if (cgroup_manager_dirfd(r.cg) < 0) {
		int self = cgroup_manager_self_enter_open(r.cg, err);
		if (self < 0)
			goto fail;
		if (self > 0)
			ctx.self_enter_cg = r.cg;
	}

	/* The spec makes relative bind sources relative to the bundle; runc
	 * runs from the bundle directory.  The init inherits the bundle as
	 * its cwd (the chdir is done here, with our credentials, because the
	 * init may no longer pass the directory's permission checks once it
	 * is in a user namespace); our own cwd comes back right after clone
	 * so relative --pid-file paths keep meaning the caller's directory. */
	int caller_cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (chdir(o->bundle) < 0) {
		hangar_sys_error(err, "chdir to bundle %s", o->bundle);
		if (caller_cwd >= 0)
			close(caller_cwd);
		goto fail;
	}
	int cgfd = cgroup_manager_dirfd(r.cg);
	pid_t child = ns_clone3(flags, cgfd, &r.pidfd, err);
	if (child < 0 && cgfd >= 0) {
		/* CLONE_INTO_CGROUP can be refused (e.g. a threaded or domain-
		 * invalid cgroup, or an old kernel): enter after clone instead. */
		cgfd = -1;
		child = ns_clone3(flags, -1, &r.pidfd, err);
	}
	if (child == 0) {
		/* The lock is an flock on a shared file description: holding it
		 * while blocked on exec.fifo would deadlock `start`.  No host
		 * directory fd may stay open in the init (CVE-2024-21626). */
		close(r.sync[0]);
		close(r.lock_fd);
		if (caller_cwd >= 0)
			close(caller_cwd);
		container_init_main(&ctx);
	}
	if (caller_cwd >= 0) {
		int back = fchdir(caller_cwd);
		if (back < 0 && child > 0)
			hangar_sys_error(err, "return to the caller's directory");
		close(caller_cwd);
		if (back < 0 && child > 0)
			goto fail;
	}
	cgroup_manager_self_enter_close(r.cg);
	if (child < 0)
		goto fail;
	close(r.sync[1]);
	r.sync[1] = -1;
	ns_close_fds(r.join_fds);
	if (r.double_fork)
		r.stage1 = child;
	else
		r.pid = child;

	if (ctx.new_userns &&
	    ns_write_id_maps(child, r.cfg->linux_.uid_mappings, r.cfg->linux_.n_uid_mappings,
			     r.cfg->linux_.gid_mappings, r.cfg->linux_.n_gid_mappings, err) < 0)
		goto fail;
	if (cgfd < 0 && ctx.self_enter_cg == NULL && cgroup_manager_enter(r.cg, child, err) < 0)
		goto fail;
	if (sync_send(r.sync[0], SYNC_GO, 0, -1, err) < 0)
		goto fail;
	int drc = drive_child(&r, err);
	if (drc == SYNC_PEER_GONE)
		explain_init_death(&r, err);
	if (drc < 0)
		goto fail;

	struct container_state st;
	memset(&st, 0, sizeof(st));
	st.id = (char *)o->id;
	st.bundle = (char *)o->bundle;
	st.rootfs = r.rootfs;
	st.pid = r.pid;
	st.pid_start = proc_start_time(r.pid);
	st.created = rfc3339_now();
	st.owner = geteuid();
	st.cgroup = cgroup_manager_serialize(r.cg);
	st.systemd_cgroup = o->systemd_cgroup;
	st.rootless = state_rootless();
	st.console_socket = (char *)o->console_socket;
	st.exit_status = -1;
	st.dir = r.dir;
	int save_rc = state_save(&st, err);
	free(st.created);
	free(st.cgroup);
	if (save_rc < 0)
		goto fail;
	if (o->pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)r.pid);
		if (write_file_atomic(o->pid_file, buf, (size_t)n, 0644, err) < 0)
			goto fail;
	}
	/* Limits the config asked for but the cgroup code had to drop (rootless
	 * without a delegated cgroup) must not vanish silently: one warning. */
	if (requests_limits(&r.cfg->linux_.resources) && cgroup_manager_warning(r.cg))
		hangar_error_set(err, HANGAR_OK, 0, "warning: %s", cgroup_manager_warning(r.cg));
	if (out) {
		out->pid = r.pid;
		out->tty_master = r.tty_master;
		out->our_child = !r.double_fork;
		r.tty_master = -1;
	}
	rc = 0;
	goto out;

fail:
	cleanup_failed(&r);
out:
	if (r.tty_master >= 0)
		close(r.tty_master);
	if (r.sync[0] >= 0)
		close(r.sync[0]);
	if (r.sync[1] >= 0)
		close(r.sync[1]);
	if (r.fifo_fd >= 0)
		close(r.fifo_fd);
	if (r.pidfd >= 0)
		close(r.pidfd);
	if (r.lock_fd >= 0)
		close(r.lock_fd);
	ns_close_fds(r.join_fds);
	if (r.cg)
		cgroup_manager_free(r.cg);
	free(r.rootfs);
	free(r.dir);
	oci_config_free(owned_cfg);
	return rc;
}
