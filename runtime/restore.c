/* SPDX-License-Identifier: GPL-2.0-or-later */
/* restore: bring a criu checkpoint back as a container the runtime owns. */
#include "runtime/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "checkpoint/checkpoint.h"
#include "checkpoint/criu.h"
#include "checkpoint/image.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "rootfs/mountinfo.h"
#include "runtime/console.h"
#include "runtime/devices_default.h"
#include "runtime/state.h"

struct restore_run {
	const struct container_restore_opts *o;
	struct oci_config *cfg;
	struct checkpoint_manifest m;
	struct criu criu;
	struct criu_args args;
	struct cgroup_manager *cg;
	char *rootfs;
	char *dir;
	char *criu_root;
	char *image, *work, *log, *pidfile;
	char *event_fifo, *reply_fifo;
	int lock_fd;
	int tty_master, tty_slave, netns_fd;
	char *tty_slave_path;
	int keep[8];
	size_t n_keep;
	pid_t pid;
	bool unprivileged; /* a user, with criu able to run --unprivileged */
};

static int validate(struct restore_run *r, struct hangar_error *err)
{
	const struct container_restore_opts *o = r->o;
	bool terminal = r->cfg->has_process && r->cfg->process.terminal;
	if (o->image_path == NULL || *o->image_path == '\0')
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "restore: --image-path is required");
	if (terminal != r->m.terminal)
		return hangar_error_set(
		    err, HANGAR_E_CONFIG, 0,
		    "process.terminal: the checkpoint was taken with terminal=%s, the config says %s",
		    r->m.terminal ? "true" : "false", terminal ? "true" : "false");
	if (terminal && o->console_socket == NULL && !o->want_tty_master)
		return hangar_error_set(
		    err, HANGAR_E_USAGE, 0,
		    "cannot allocate tty if hangar-oci will detach without setting console socket");
	if (!terminal && o->console_socket != NULL)
		return hangar_error_set(
		    err, HANGAR_E_USAGE, 0,
		    "cannot use console socket if hangar-oci will not detach or allocate tty");
	if (o->manage_cgroups_mode && strcmp(o->manage_cgroups_mode, "soft") != 0 &&
	    strcmp(o->manage_cgroups_mode, "full") != 0 && strcmp(o->manage_cgroups_mode, "strict") != 0 &&
	    strcmp(o->manage_cgroups_mode, "ignore") != 0)
		return hangar_error_set(
		    err, HANGAR_E_USAGE, 0,
		    "--manage-cgroups-mode: '%s' is not one of soft, full, strict, ignore",
		    o->manage_cgroups_mode);
	if (o->empty_ns && strcmp(o->empty_ns, "network") != 0 && strcmp(o->empty_ns, "net") != 0)
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"--empty-ns: '%s' is not supported (only network)", o->empty_ns);
	if (o->lazy_pages && criu_require_lazy_pages(&r->criu, err) < 0)
		return -1;
	if ((o->tcp_established || r->m.tcp_established) && criu_require_tcp_established(&r->criu, err) < 0)
		return -1;
	return 0;
}

static void keep_fd(struct restore_run *r, int fd)
{
	if (r->n_keep < ARRAY_SIZE(r->keep))
		r->keep[r->n_keep++] = fd;
}

static const struct oci_mount *config_mount_at(const struct oci_config *cfg, const char *dest)
{
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (cfg->mounts[i].destination && strcmp(cfg->mounts[i].destination, dest) == 0)
			return &cfg->mounts[i];
	return NULL;
}

/* The new console: a pty of the host's devpts whose master goes to the
 * console socket (or the foreground restore) and whose slave replaces the
 * old one for the restored processes. */
static int ensure_pty(struct restore_run *r, struct hangar_error *err)
{
	if (r->tty_slave >= 0)
		return 0;
	if (console_open_pty(&r->tty_master, &r->tty_slave_path, err) < 0)
		return -1;
	r->tty_slave = open(r->tty_slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (r->tty_slave < 0)
		return hangar_sys_error(err, "open %s", r->tty_slave_path);
	if (r->cfg->process.has_console_size &&
	    console_set_winsize(r->tty_master, r->cfg->process.console_height, r->cfg->process.console_width,
				err) < 0)
		return -1;
	keep_fd(r, r->tty_slave);
	return 0;
}

/* Where each external mount of the checkpoint comes from on this host. */
static int add_external_mounts(struct restore_run *r, struct hangar_error *err)
{
	const char *new_cg = cgroup_manager_path(r->cg);
	for (size_t i = 0; i < r->m.n_mounts; i++) {
		const struct checkpoint_mount *em = &r->m.mounts[i];
		_cleanup_free_ char *source = NULL;
		switch (em->kind) {
		case CHECKPOINT_MOUNT_BIND: {
			const struct oci_mount *cm = config_mount_at(r->cfg, em->mount_point);
			if (cm == NULL || cm->source == NULL)
				return hangar_error_set(
				    err, HANGAR_E_CONFIG, 0,
				    "mounts: the checkpoint has a bind mount at %s, the restore "
				    "config has none",
				    em->mount_point);
			source = cm->source[0] == '/' ? xstrdup(cm->source)
						      : xasprintf("%s/%s", r->o->bundle, cm->source);
			break;
		}
		case CHECKPOINT_MOUNT_CGROUP: {
			_cleanup_free_ char *moved = NULL;
			if (r->m.cgroup_path && new_cg && em->root)
				moved = checkpoint_replace_prefix(em->root, r->m.cgroup_path, new_cg);
			source = xasprintf("%s%s", em->host_mount ? em->host_mount : "",
					   moved ? moved : (em->root ? em->root : ""));
			break;
		}
		case CHECKPOINT_MOUNT_HOST:
			source = xasprintf("%s%s", em->host_mount ? em->host_mount : "",
					   em->root && strcmp(em->root, "/") != 0 ? em->root : "");
			break;
		case CHECKPOINT_MOUNT_CONSOLE:
			if (ensure_pty(r, err) < 0)
				return -1;
			source = xstrdup(r->tty_slave_path);
			break;
		}
		if (access(source, F_OK) < 0)
			return hangar_error_set(err, HANGAR_E_CONFIG, errno, "external mount %s: source %s",
						em->mount_point, source);
		criu_args_addf(&r->args, "--external=mnt[%s]:%s", em->mount_point, source);
	}
	return 0;
}

/* criu puts the tree back into the cgroups recorded in the image; point
 * every hierarchy in which the runtime made the new cgroup at it, and
 * leave the others (name=systemd) where they were. */
static int add_cgroup_roots(struct restore_run *r, struct hangar_error *err)
{
	const char *new_cg = cgroup_manager_path(r->cg);
	if (new_cg == NULL || (r->m.cgroup_path && strcmp(r->m.cgroup_path, new_cg) == 0))
		return 0;
	struct mountinfo hmi;
	if (mountinfo_read("/proc/self/mountinfo", &hmi, err) < 0)
		return -1;
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", &text, NULL, err) < 0) {
		mountinfo_free(&hmi);
		return -1;
	}
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1;
		if (str_has_prefix(ctrls, "name="))
			continue;
		_cleanup_free_ char *first = xstrdup(ctrls);
		char *comma = strchr(first, ',');
		if (comma)
			*comma = '\0';
		for (size_t i = 0; i < hmi.n; i++) {
			const struct mountinfo_entry *e = &hmi.entries[i];
			if (strcmp(e->root, "/") != 0)
				continue;
			bool match = *ctrls == '\0' ? strcmp(e->fstype, "cgroup2") == 0
						    : strcmp(e->fstype, "cgroup") == 0 &&
							  mount_option_list_has(e->super_options, first);
			if (!match)
				continue;
			_cleanup_free_ char *dir = xasprintf("%s%s", e->mount_point, new_cg);
			if (access(dir, F_OK) == 0) {
				if (*ctrls)
					criu_args_addf(&r->args, "--cgroup-root=%s:%s", ctrls, new_cg);
				else
					criu_args_addf(&r->args, "--cgroup-root=%s", new_cg);
			}
			break;
		}
	}
	mountinfo_free(&hmi);
	return 0;
}

static int add_inherited_fds(struct restore_run *r, struct hangar_error *err)
{
	for (int fd = 0; fd < 3; fd++) {
		const struct checkpoint_fd *f = &r->m.stdio[fd];
		bool seen = false;
		for (int j = 0; j < fd; j++)
			if (r->m.stdio[j].key && f->key && strcmp(r->m.stdio[j].key, f->key) == 0)
				seen = true;
		if (seen)
			continue;
		switch (f->kind) {
		case CHECKPOINT_FD_PIPE:
		case CHECKPOINT_FD_FILE:
			/* The restorer's own stdio takes the place of the original's. */
			if (fcntl(fd, F_GETFD) < 0)
				return hangar_error_set(
				    err, HANGAR_E_STATE, 0,
				    "fd %d: the checkpoint's fd %d was %s, and restore has no fd %d "
				    "to put in its place",
				    fd, fd, f->path ? f->path : "external", fd);
			criu_args_addf(&r->args, "--inherit-fd=fd[%d]:%s", fd, f->key);
			break;
		case CHECKPOINT_FD_TTY:
			if (ensure_pty(r, err) < 0)
				return -1;
			criu_args_addf(&r->args, "--inherit-fd=fd[%d]:%s", r->tty_slave, f->key);
			break;
		case CHECKPOINT_FD_INTERNAL:
			break;
		}
	}
	if (r->m.external_netns) {
		const struct oci_namespace *net = oci_config_namespace(r->cfg, OCI_NS_NETWORK);
		if (net == NULL || net->path == NULL)
			return hangar_error_set(
			    err, HANGAR_E_CONFIG, 0,
			    "linux.namespaces: the checkpoint joined an existing network namespace; "
			    "the restore config must name one (network with a path)");
		r->netns_fd = open(net->path, O_RDONLY | O_CLOEXEC);
		if (r->netns_fd < 0)
			return hangar_sys_error(err, "open network namespace %s", net->path);
		keep_fd(r, r->netns_fd);
		criu_args_addf(&r->args, "--inherit-fd=fd[%d]:%s", r->netns_fd, CHECKPOINT_EXT_NETNS_KEY);
	}
	return 0;
}

static int build_args(struct restore_run *r, struct hangar_error *err)
{
	const struct container_restore_opts *o = r->o;
	struct criu_args *a = &r->args;
	criu_args_init(a, &r->criu, "restore");
	if (r->unprivileged)
		criu_args_add(a, "--unprivileged");
	criu_args_addf(a, "--images-dir=%s", r->image);
	criu_args_addf(a, "--work-dir=%s", r->work);
	criu_args_addf(a, "--log-file=%s", r->log);
	criu_args_add(a, "-v4");
	criu_args_addf(a, "--root=%s", r->criu_root);
	criu_args_add(a, "--restore-detached");
	criu_args_addf(a, "--pidfile=%s", r->pidfile);
	criu_args_addf(a, "--manage-cgroups=%s", o->manage_cgroups_mode ? o->manage_cgroups_mode : "soft");
	if (r->m.nftables_lock)
		criu_args_add(a, "--network-lock=nftables");
	/* What the dump needed, restore needs too. */
	if (o->tcp_established || r->m.tcp_established)
		criu_args_add(a, "--tcp-established");
	else if (o->tcp_close || r->m.tcp_close)
		criu_args_add(a, "--tcp-close");
	if (o->ext_unix_sk || r->m.ext_unix_sk)
		criu_args_add(a, "--ext-unix-sk");
	if (o->shell_job || r->m.shell_job)
		criu_args_add(a, "--shell-job");
	if (o->file_locks || r->m.file_locks)
		criu_args_add(a, "--file-locks");
	if (o->auto_dedup)
		criu_args_add(a, "--auto-dedup");
	if (o->lazy_pages)
		criu_args_add(a, "--lazy-pages");
	if (o->empty_ns || r->m.empty_netns)
		criu_args_add(a, "--empty-ns=net");
	if (o->status_fd >= 0) {
		keep_fd(r, o->status_fd);
		criu_args_addf(a, "--status-fd=%d", o->status_fd);
	}
	if (add_cgroup_roots(r, err) < 0 || add_external_mounts(r, err) < 0 || add_inherited_fds(r, err) < 0)
		return -1;
	return 0;
}

/* In criu's child: a private mount namespace in which the container's root
 * is a mount criu can pivot into; the host's mount table never sees it. */
static int restore_child_setup(void *data, struct hangar_error *err)
{
	struct restore_run *r = data;
	if (unshare(CLONE_NEWNS) < 0)
		return hangar_sys_error(err, "criu restore: unshare mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return hangar_sys_error(err, "criu restore: make mounts private");
	if (mount(r->rootfs, r->criu_root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return hangar_sys_error(err, "criu restore: bind %s on %s", r->rootfs, r->criu_root);
	/* criu takes the root mount as given, not as dumped: without this a
	 * read-only root would come back writable. */
	if (r->cfg->root.readonly &&
	    mount(NULL, r->criu_root, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		return hangar_sys_error(err, "criu restore: make %s read-only (root.readonly)", r->criu_root);
	return 0;
}

static int setup_namespaces_event(const char *line, void *data, struct hangar_error *err)
{
	struct restore_run *r = data;
	int64_t pid;
	if (parse_i64(line, &pid) < 0 || pid <= 1)
		return hangar_error_set(err, HANGAR_E_CHILD, 0, "setup-namespaces: bad init pid '%s'", line);
	return r->o->on_created((pid_t)pid, r->o->on_created_data, err);
}

/* The action script through which criu hands us the new namespaces. */
static int prepare_namespace_hook(struct restore_run *r, struct criu_run_opts *ro, struct hangar_error *err)
{
	if (r->o->on_created == NULL)
		return 0;
	r->event_fifo = xasprintf("%s/criu-event", r->dir);
	r->reply_fifo = xasprintf("%s/criu-reply", r->dir);
	_cleanup_free_ char *script = xasprintf("%s/criu-action.sh", r->dir);
	if (mkfifo(r->event_fifo, 0600) < 0)
		return hangar_sys_error(err, "mkfifo %s", r->event_fifo);
	if (mkfifo(r->reply_fifo, 0600) < 0)
		return hangar_sys_error(err, "mkfifo %s", r->reply_fifo);
	if (criu_write_action_script(script, "setup-namespaces", "CRTOOLS_INIT_PID", r->event_fifo,
				     r->reply_fifo, err) < 0)
		return -1;
	criu_args_addf(&r->args, "--action-script=%s", script);
	ro->event_fifo = r->event_fifo;
	ro->reply_fifo = r->reply_fifo;
	ro->on_event = setup_namespaces_event;
	ro->event_data = r;
	return 0;
}

static int save_config(struct restore_run *r, struct hangar_error *err)
{
	_cleanup_free_ char *json = oci_config_to_json(r->cfg);
	_cleanup_free_ char *path = xasprintf("%s/config.json", r->dir);
	if (json == NULL)
		return hangar_error_set(err, HANGAR_E_SYS, 0, "serialise config");
	return write_file_atomic(path, json, strlen(json), 0600, err);
}

static int prepare(struct restore_run *r, struct hangar_error *err)
{
	const struct container_restore_opts *o = r->o;
	char buf[PATH_MAX];
	if (checkpoint_rootless_probe("restore", o->criu, &r->unprivileged, err) < 0)
		return -1;
	if (o->image_path == NULL || realpath(o->image_path, buf) == NULL)
		return hangar_error_set(err, HANGAR_E_NOTFOUND, errno, "image path %s",
					o->image_path ? o->image_path : "(none)");
	r->image = xstrdup(buf);
	if (checkpoint_manifest_read(r->image, &r->m, err) < 0)
		return -1;
	if (criu_open(o->criu, &r->criu, err) < 0 || validate(r, err) < 0 ||
	    container_resolve_rootfs(r->cfg, r->o->bundle, &r->rootfs, err) < 0)
		return -1;
	if (o->work_path) {
		if (mkdir_p(o->work_path, 0700, err) < 0)
			return -1;
		if (realpath(o->work_path, buf) == NULL)
			return hangar_sys_error(err, "work path %s", o->work_path);
		r->work = xstrdup(buf);
	} else {
		r->work = xstrdup(r->image);
	}
	r->log = xasprintf("%s/restore.log", r->work);
	return 0;
}

static int create_container_shell(struct restore_run *r, struct hangar_error *err)
{
	const struct container_restore_opts *o = r->o;
	if (state_create_dir(o->root, o->id, &r->dir, err) < 0)
		return -1;
	r->lock_fd = state_lock(r->dir, err);
	if (r->lock_fd < 0 || save_config(r, err) < 0)
		return -1;
	r->criu_root = xasprintf("%s/criu-root", r->dir);
	r->pidfile = xasprintf("%s/criu-restore.pid", r->dir);
	if (mkdir(r->criu_root, 0700) < 0)
		return hangar_sys_error(err, "mkdir %s", r->criu_root);
	struct cgroup_spec cs = {
	    .path = r->cfg->linux_.cgroups_path, .id = o->id, .rootless = state_rootless()};
	if (!state_rootless())
		oci_resources_add_default_devices(&r->cfg->linux_.resources, &r->cfg->linux_);
	const struct oci_resources *res = r->cfg->linux_.resources.present ? &r->cfg->linux_.resources : NULL;
	return cgroup_manager_create(&cs, res, &r->cg, err);
}

static int read_restored_pid(struct restore_run *r, struct hangar_error *err)
{
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, r->pidfile, &text, NULL, err) < 0)
		return hangar_error_prefix(err, "criu restore left no pid");
	int64_t pid;
	text[strcspn(text, "\n")] = '\0';
	if (parse_i64(text, &pid) < 0 || pid <= 1)
		return hangar_error_set(err, HANGAR_E_CHILD, 0, "criu restore: bad pid file %s: '%s'",
					r->pidfile, text);
	r->pid = (pid_t)pid;
	unlink(r->pidfile);
	return 0;
}

static int save_state(struct restore_run *r, struct hangar_error *err)
{
	const struct container_restore_opts *o = r->o;
	struct container_state st;
	memset(&st, 0, sizeof(st));
	st.id = (char *)o->id;
	st.bundle = (char *)o->bundle;
	st.rootfs = r->rootfs;
	st.pid = r->pid;
	st.pid_start = proc_start_time(r->pid);
	st.created = rfc3339_now();
	st.owner = geteuid();
	st.cgroup = cgroup_manager_serialize(r->cg);
	st.rootless = state_rootless();
	st.console_socket = (char *)o->console_socket;
	st.exit_status = -1;
	st.dir = r->dir;
	int rc = st.pid_start == 0
		     ? hangar_error_set(err, HANGAR_E_STATE, 0, "restored init %d exited right after restore",
					(int)r->pid)
		     : state_save(&st, err);
	free(st.created);
	free(st.cgroup);
	return rc;
}

static void cleanup_failed(struct restore_run *r)
{
	struct hangar_error ignored;
	if (r->cg) {
		/* criu kills what it restored on failure; anything that got
		 * past it (or an init that died after) goes with the cgroup. */
		cgroup_manager_kill_all(r->cg, SIGKILL, &ignored);
		cgroup_manager_destroy(r->cg, &ignored);
	}
	if (r->criu_root)
		rmdir(r->criu_root);
	if (r->dir)
		state_remove(r->dir, &ignored);
}

int container_restore(const struct container_restore_opts *o, struct container_created *out,
		      struct restore_stats *stats, struct hangar_error *err)
{
	struct restore_run r;
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.lock_fd = r.tty_master = r.tty_slave = r.netns_fd = -1;
	struct oci_config *owned_cfg = NULL;
	int rc = -1;

	if (state_validate_id(o->id, err) < 0)
		return -1;
	if (o->config) {
		r.cfg = o->config;
	} else {
		_cleanup_free_ char *path = xasprintf("%s/config.json", o->bundle);
		if (oci_config_load(path, &owned_cfg, err) < 0)
			return -1;
		r.cfg = owned_cfg;
	}
	if (prepare(&r, err) < 0)
		goto out;
	if (create_container_shell(&r, err) < 0 || build_args(&r, err) < 0)
		goto fail;

	/* The restored init is criu's child until criu detaches; as a
	 * subreaper we inherit it, so a foreground restore can wait for it. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	struct criu_run_opts ro = {
	    .step = "restore",
	    .log_path = r.log,
	    .setup = restore_child_setup,
	    .setup_data = &r,
	    .keep_fds = r.keep,
	    .n_keep_fds = r.n_keep,
	    .stdio_fd = -1,
	};
	if (prepare_namespace_hook(&r, &ro, err) < 0)
		goto fail;
	uint64_t t0 = now_ns();
	if (criu_run(&r.args, &ro, err) < 0)
		goto fail;
	if (stats)
		stats->elapsed_ns = now_ns() - t0;
	if (read_restored_pid(&r, err) < 0 || save_state(&r, err) < 0)
		goto fail;
	if (r.tty_master >= 0 && o->console_socket &&
	    console_send_master(o->console_socket, r.tty_master, err) < 0)
		goto fail;
	if (o->pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)r.pid);
		if (write_file_atomic(o->pid_file, buf, (size_t)n, 0644, err) < 0)
			goto fail;
	}
	rmdir(r.criu_root);
	if (r.event_fifo) {
		_cleanup_free_ char *script = xasprintf("%s/criu-action.sh", r.dir);
		unlink(r.event_fifo);
		unlink(r.reply_fifo);
		unlink(script);
	}
	if (out) {
		out->pid = r.pid;
		out->our_child = true;
		out->tty_master = -1;
		if (o->want_tty_master && r.tty_master >= 0)
			out->tty_master = steal_fd(&r.tty_master);
	}
	rc = 0;
	goto out;
fail:
	cleanup_failed(&r);
out:
	if (r.lock_fd >= 0)
		close(r.lock_fd);
	if (r.tty_master >= 0)
		close(r.tty_master);
	if (r.tty_slave >= 0)
		close(r.tty_slave);
	if (r.netns_fd >= 0)
		close(r.netns_fd);
	if (r.cg)
		cgroup_manager_free(r.cg);
	criu_args_free(&r.args);
	criu_close(&r.criu);
	checkpoint_manifest_clear(&r.m);
	free(r.rootfs);
	free(r.dir);
	free(r.criu_root);
	free(r.image);
	free(r.work);
	free(r.log);
	free(r.pidfile);
	free(r.tty_slave_path);
	free(r.event_fifo);
	free(r.reply_fifo);
	oci_config_free(owned_cfg);
	return rc;
}
