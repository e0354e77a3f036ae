/* SPDX-License-Identifier: GPL-2.0-or-later */
/* checkpoint: dump a running container with criu. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "checkpoint/checkpoint.h"
#include "checkpoint/criu.h"
#include "checkpoint/image.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "config/oci.h"
#include "rootfs/mountinfo.h"
#include "runtime/container.h"
#include "runtime/state.h"

const char *checkpoint_cgroup_mode(const char *name)
{
	static const char *const modes[] = {"soft", "full", "strict", "ignore"};
	for (size_t i = 0; name && i < ARRAY_SIZE(modes); i++)
		if (strcmp(name, modes[i]) == 0)
			return modes[i];
	return NULL;
}

const char *checkpoint_empty_ns_name(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strcmp(name, "network") == 0 || strcmp(name, "net") == 0)
		return "net";
	return NULL;
}

static uint64_t stat_value(const char *text, const char *label)
{
	const char *p = strstr(text, label);
	if (p == NULL)
		return 0;
	uint64_t v = 0;
	if (sscanf(p + strlen(label), " %" SCNu64, &v) != 1)
		return 0;
	return v;
}

void checkpoint_parse_stats(const char *log_text, struct checkpoint_stats *stats)
{
	stats->freezing_us = stat_value(log_text, "Freezing time:");
	stats->frozen_us = stat_value(log_text, "Frozen time:");
	stats->memdump_us = stat_value(log_text, "Memory dump time:");
	stats->memwrite_us = stat_value(log_text, "Memory write time:");
	stats->pages_written = stat_value(log_text, "Memory pages written:");
}

static bool is_bind_mount(const struct oci_mount *m)
{
	if (m->type && strcmp(m->type, "bind") == 0)
		return true;
	for (size_t i = 0; i < m->n_options; i++)
		if (strcmp(m->options[i], "bind") == 0 || strcmp(m->options[i], "rbind") == 0)
			return true;
	return false;
}

static const struct mountinfo_entry *find_fs_root_mount(const struct mountinfo *mi, unsigned major,
							unsigned minor)
{
	for (size_t i = 0; i < mi->n; i++)
		if (mi->entries[i].major == major && mi->entries[i].minor == minor &&
		    strcmp(mi->entries[i].root, "/") == 0)
			return &mi->entries[i];
	return NULL;
}

static bool manifest_has_mount(const struct checkpoint_manifest *m, const char *mount_point)
{
	for (size_t i = 0; i < m->n_mounts; i++)
		if (strcmp(m->mounts[i].mount_point, mount_point) == 0)
			return true;
	return false;
}

/* Mounts criu cannot dump because their source lies outside the container:
 * the config's bind mounts, and any other bind of part of a filesystem the
 * container does not have whole (cgroup v1 hierarchies bound at the
 * container's own cgroup, host device nodes in a user namespace). */
static void collect_external_mounts(const struct oci_config *cfg, const struct mountinfo *cmi,
				    const struct mountinfo *hmi, struct checkpoint_manifest *m)
{
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct oci_mount *om = &cfg->mounts[i];
		if (!is_bind_mount(om) || om->destination == NULL || manifest_has_mount(m, om->destination))
			continue;
		const struct mountinfo_entry *e = mountinfo_find(cmi, om->destination);
		if (e == NULL)
			continue;
		checkpoint_manifest_add_mount(m, CHECKPOINT_MOUNT_BIND, om->destination, e->root, NULL);
	}
	for (size_t i = 0; i < cmi->n; i++) {
		const struct mountinfo_entry *e = &cmi->entries[i];
		/* The console is the pty slave bound on /dev/console; its master
		 * is outside, so criu cannot recreate the pair. */
		if (strcmp(e->fstype, "devpts") == 0 && strcmp(e->root, "/") != 0 &&
		    !manifest_has_mount(m, e->mount_point)) {
			checkpoint_manifest_add_mount(m, CHECKPOINT_MOUNT_CONSOLE, e->mount_point, e->root,
						      NULL);
			continue;
		}
		if (strcmp(e->mount_point, "/") == 0 || strcmp(e->root, "/") == 0 ||
		    manifest_has_mount(m, e->mount_point) || find_fs_root_mount(cmi, e->major, e->minor))
			continue;
		const struct mountinfo_entry *host = find_fs_root_mount(hmi, e->major, e->minor);
		if (host == NULL)
			continue; /* criu will name it in its error */
		bool cgroup = strcmp(e->fstype, "cgroup") == 0 || strcmp(e->fstype, "cgroup2") == 0;
		checkpoint_manifest_add_mount(m, cgroup ? CHECKPOINT_MOUNT_CGROUP : CHECKPOINT_MOUNT_HOST,
					      e->mount_point, e->root, host->mount_point);
	}
}

static bool mount_id_in(const struct mountinfo *mi, int id)
{
	for (size_t i = 0; i < mi->n; i++)
		if (mi->entries[i].id == id)
			return true;
	return false;
}

static int fdinfo_mnt_id(pid_t pid, int fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	_cleanup_free_ char *text = NULL;
	struct hangar_error ignored;
	if (read_file_at(AT_FDCWD, path, &text, NULL, &ignored) < 0)
		return -1;
	const char *p = strstr(text, "mnt_id:");
	int id = -1;
	if (p == NULL || sscanf(p + 7, " %d", &id) != 1)
		return -1;
	return id;
}

/* Unix98 pty slaves: majors 136..143. */
static bool is_pty_slave(dev_t rdev)
{
	return major(rdev) >= 136 && major(rdev) <= 143;
}

/* Where the init's stdio points and how restore must reconnect it. */
static void classify_stdio(pid_t pid, bool terminal, const struct mountinfo *cmi,
			   struct checkpoint_manifest *m)
{
	for (int fd = 0; fd < 3; fd++) {
		struct checkpoint_fd *f = &m->stdio[fd];
		char link[64], target[4096];
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		f->path = xstrdup(target);
		if (str_has_prefix(target, "pipe:")) {
			f->kind = CHECKPOINT_FD_PIPE;
			f->key = xstrdup(target);
			continue;
		}
		struct stat sb;
		if (stat(link, &sb) < 0)
			continue;
		if (terminal && S_ISCHR(sb.st_mode) && is_pty_slave(sb.st_rdev)) {
			f->kind = CHECKPOINT_FD_TTY;
			f->key = xasprintf("tty[%" PRIx64 ":%" PRIx64 "]", (uint64_t)sb.st_rdev,
					   (uint64_t)sb.st_dev);
			continue;
		}
		if (str_has_prefix(target, "socket:") || str_has_prefix(target, "anon_inode:"))
			continue;
		int mnt_id = fdinfo_mnt_id(pid, fd);
		if (mnt_id >= 0 && !mount_id_in(cmi, mnt_id)) {
			f->kind = CHECKPOINT_FD_FILE;
			f->key = xasprintf("file[%x:%" PRIx64 "]", (unsigned)mnt_id, (uint64_t)sb.st_ino);
		}
	}
}

/* The freezer criu should use: v1 freezer hierarchy or the v2 cgroup. */
static char *freezer_path(pid_t pid, const struct mountinfo *hmi)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	_cleanup_free_ char *text = NULL;
	struct hangar_error ignored;
	if (read_file_at(AT_FDCWD, path, &text, NULL, &ignored) < 0)
		return NULL;
	char *v2_path = NULL, *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1, *cg = c2 + 1;
		if (*ctrls == '\0') {
			v2_path = (char *)cg;
			continue;
		}
		if (!mount_option_list_has(ctrls, "freezer"))
			continue;
		for (size_t i = 0; i < hmi->n; i++)
			if (strcmp(hmi->entries[i].fstype, "cgroup") == 0 &&
			    mount_option_list_has(hmi->entries[i].super_options, "freezer") &&
			    strcmp(hmi->entries[i].root, "/") == 0)
				return xasprintf("%s%s", hmi->entries[i].mount_point, cg);
	}
	if (v2_path)
		for (size_t i = 0; i < hmi->n; i++)
			if (strcmp(hmi->entries[i].fstype, "cgroup2") == 0 &&
			    strcmp(hmi->entries[i].root, "/") == 0)
				return xasprintf("%s%s", hmi->entries[i].mount_point, v2_path);
	return NULL;
}

/* The container's cgroup path as the runtime created it (v1: the freezer
 * hierarchy's; they are all the same). */
static char *container_cgroup_path(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	_cleanup_free_ char *text = NULL;
	struct hangar_error ignored;
	if (read_file_at(AT_FDCWD, path, &text, NULL, &ignored) < 0)
		return NULL;
	char *found = NULL, *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c2 = '\0';
		if (mount_option_list_has(c1 + 1, "freezer") || (c1[1] == '\0' && found == NULL)) {
			free(found);
			found = xstrdup(c2 + 1);
		}
	}
	return found;
}

static bool args_have(const struct criu_args *a, const char *s)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], s) == 0)
			return true;
	return false;
}

static int copy_config(const char *state_dir, const char *image_dir, struct hangar_error *err)
{
	_cleanup_free_ char *src = xasprintf("%s/config.json", state_dir);
	_cleanup_free_ char *dst = xasprintf("%s/%s", image_dir, CHECKPOINT_CONFIG);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (read_file_at(AT_FDCWD, src, &text, &len, err) < 0)
		return -1;
	return write_file_atomic(dst, text, len, 0600, err);
}

static int check_requested_features(const struct checkpoint_opts *o, const struct criu *c,
				    struct hangar_error *err)
{
	if (o->pre_dump && criu_require_mem_tracking(c, "--pre-dump", err) < 0)
		return -1;
	if (o->parent_path && criu_require_mem_tracking(c, "--parent-path", err) < 0)
		return -1;
	if (o->lazy_pages && criu_require_lazy_pages(c, err) < 0)
		return -1;
	if (o->tcp_established && criu_require_tcp_established(c, err) < 0)
		return -1;
	if (o->tcp_established && o->tcp_close)
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"--tcp-established and --tcp-close exclude each other");
	if (o->manage_cgroups_mode && checkpoint_cgroup_mode(o->manage_cgroups_mode) == NULL)
		return hangar_error_set(
		    err, HANGAR_E_USAGE, 0,
		    "--manage-cgroups-mode: '%s' is not one of soft, full, strict, ignore",
		    o->manage_cgroups_mode);
	if (o->empty_ns && checkpoint_empty_ns_name(o->empty_ns) == NULL)
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"--empty-ns: '%s' is not supported (only network)", o->empty_ns);
	if (o->page_server && strrchr(o->page_server, ':') == NULL)
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"--page-server: expected ADDRESS:PORT, got '%s'", o->page_server);
	return 0;
}

static void add_common_flags(const struct checkpoint_opts *o, struct criu_args *a)
{
	if (o->tcp_established)
		criu_args_add(a, "--tcp-established");
	if (o->tcp_close)
		criu_args_add(a, "--tcp-close");
	if (o->ext_unix_sk)
		criu_args_add(a, "--ext-unix-sk");
	if (o->shell_job)
		criu_args_add(a, "--shell-job");
	if (o->file_locks)
		criu_args_add(a, "--file-locks");
	if (o->auto_dedup)
		criu_args_add(a, "--auto-dedup");
	if (o->lazy_pages)
		criu_args_add(a, "--lazy-pages");
	if (o->empty_ns)
		criu_args_addf(a, "--empty-ns=%s", checkpoint_empty_ns_name(o->empty_ns));
	if (o->page_server) {
		const char *colon = strrchr(o->page_server, ':');
		criu_args_add(a, "--page-server");
		criu_args_addf(a, "--address=%.*s", (int)(colon - o->page_server), o->page_server);
		criu_args_addf(a, "--port=%s", colon + 1);
	}
	if (o->status_fd >= 0)
		criu_args_addf(a, "--status-fd=%d", o->status_fd);
	if (o->parent_path) {
		criu_args_addf(a, "--prev-images-dir=%s", o->parent_path);
		criu_args_add(a, "--track-mem");
	}
}

struct dump_run {
	const struct checkpoint_opts *o;
	struct container_state *st;
	struct oci_config *cfg;
	struct mountinfo cmi, hmi;
	struct checkpoint_manifest m;
	struct criu criu;
	struct criu_args args;
	char *image, *work, *log;
	int lock;
	bool unprivileged; /* a user, with criu able to run --unprivileged */
	bool own_cgroup;   /* false: rootless without a cgroup of its own */
};

static int build_args(struct dump_run *r, struct hangar_error *err)
{
	const struct checkpoint_opts *o = r->o;
	pid_t pid = r->st->pid;
	struct criu_args *a = &r->args;
	criu_args_init(a, &r->criu, o->pre_dump ? "pre-dump" : "dump");
	if (r->unprivileged)
		criu_args_add(a, "--unprivileged");
	criu_args_addf(a, "--tree=%d", (int)pid);
	criu_args_addf(a, "--images-dir=%s", r->image);
	criu_args_addf(a, "--work-dir=%s", r->work);
	criu_args_addf(a, "--log-file=%s", r->log);
	criu_args_add(a, "-v4");
	criu_args_add(a, "--display-stats");
	if (o->pre_dump)
		criu_args_add(a, "--track-mem");
	if (r->own_cgroup) {
		_cleanup_free_ char *freezer = freezer_path(pid, &r->hmi);
		if (freezer == NULL)
			return hangar_error_set(err, HANGAR_E_STATE, 0,
						"container %s: no freezer cgroup found for pid %d (criu "
						"needs one to stop the tree)",
						r->st->id, (int)pid);
		criu_args_addf(a, "--freeze-cgroup=%s", freezer);
		criu_args_addf(a, "--manage-cgroups=%s",
			       o->manage_cgroups_mode ? o->manage_cgroups_mode : "soft");
	} else {
		/* The cgroup the init sits in is someone else's (the user's
		 * session): freezing it would stop more than the container.
		 * criu stops the tree with ptrace and leaves cgroups alone. */
		criu_args_add(a, "--manage-cgroups=ignore");
	}
	if (o->leave_running && !o->pre_dump)
		criu_args_add(a, "--leave-running");
	if (r->m.nftables_lock)
		criu_args_add(a, "--network-lock=nftables");
	add_common_flags(o, a);

	for (size_t i = 0; i < r->m.n_mounts; i++)
		criu_args_addf(a, "--external=mnt[%s]:%s", r->m.mounts[i].mount_point,
			       r->m.mounts[i].mount_point);
	for (int fd = 0; fd < 3; fd++) {
		const struct checkpoint_fd *f = &r->m.stdio[fd];
		if (f->kind != CHECKPOINT_FD_FILE && f->kind != CHECKPOINT_FD_TTY)
			continue;
		_cleanup_free_ char *ext = xasprintf("--external=%s", f->key);
		if (!args_have(a, ext))
			criu_args_add(a, ext);
	}
	if (r->m.external_netns) {
		char nspath[64];
		struct stat sb;
		snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)pid);
		if (stat(nspath, &sb) < 0)
			return hangar_sys_error(err, "stat %s", nspath);
		criu_args_addf(a, "--external=net[%" PRIu64 "]:%s", (uint64_t)sb.st_ino,
			       CHECKPOINT_EXT_NETNS_KEY);
	}
	return 0;
}

static int prepare(struct dump_run *r, struct hangar_error *err)
{
	const struct checkpoint_opts *o = r->o;
	if (checkpoint_rootless_probe("checkpoint", o->criu, &r->unprivileged, err) < 0)
		return -1;
	if (o->image_path == NULL || *o->image_path == '\0')
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "checkpoint: --image-path is required");
	if (o->parent_path && o->parent_path[0] == '/')
		return hangar_error_set(
		    err, HANGAR_E_USAGE, 0,
		    "--parent-path must be relative to the image directory (like ../pre-dump)");
	if (state_load(o->root, o->id, &r->st, err) < 0)
		return -1;
	r->lock = state_lock(r->st->dir, err);
	if (r->lock < 0)
		return -1;
	state_refresh_status(r->st);
	if (r->st->status != STATUS_RUNNING && r->st->status != STATUS_PAUSED)
		return hangar_error_set(err, HANGAR_E_STATE, 0, "container %s is not running (%s)", o->id,
					container_status_name(r->st->status));
	if (container_load_config(r->st, &r->cfg, err) < 0)
		return -1;
	r->own_cgroup = true;
	struct cgroup_manager *cg = NULL;
	struct hangar_error cg_err;
	if (r->unprivileged && r->st->cgroup && cgroup_manager_open(r->st->cgroup, &cg, &cg_err) == 0) {
		r->own_cgroup = cgroup_manager_has_cgroup(cg);
		cgroup_manager_free(cg);
	}
	if (criu_open(o->criu, &r->criu, err) < 0 || check_requested_features(o, &r->criu, err) < 0)
		return -1;
	if (mkdir_p(o->image_path, 0700, err) < 0)
		return -1;
	char buf[4096];
	if (realpath(o->image_path, buf) == NULL)
		return hangar_sys_error(err, "image path %s", o->image_path);
	r->image = xstrdup(buf);
	if (o->work_path) {
		if (mkdir_p(o->work_path, 0700, err) < 0)
			return -1;
		if (realpath(o->work_path, buf) == NULL)
			return hangar_sys_error(err, "work path %s", o->work_path);
		r->work = xstrdup(buf);
	} else {
		r->work = xstrdup(r->image);
	}
	r->log = xasprintf("%s/%s.log", r->work, o->pre_dump ? "pre-dump" : "dump");
	/* A stale manifest would make a failed dump look restorable. */
	_cleanup_free_ char *old = xasprintf("%s/%s", r->image, CHECKPOINT_MANIFEST);
	unlink(old);

	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)r->st->pid);
	if (mountinfo_read(path, &r->cmi, err) < 0 ||
	    mountinfo_read("/proc/self/mountinfo", &r->hmi, err) < 0)
		return -1;

	struct checkpoint_manifest *m = &r->m;
	m->id = xstrdup(r->st->id);
	m->bundle = r->st->bundle ? xstrdup(r->st->bundle) : NULL;
	m->rootfs = xstrdup(r->st->rootfs ? r->st->rootfs : "");
	m->cgroup_path = container_cgroup_path(r->st->pid);
	m->criu_version = xstrdup(r->criu.version_str);
	m->created = rfc3339_now();
	m->terminal = r->cfg->has_process && r->cfg->process.terminal;
	const struct oci_namespace *net = oci_config_namespace(r->cfg, OCI_NS_NETWORK);
	m->external_netns = net != NULL && net->path != NULL;
	m->nftables_lock = criu_has_nftables_lock(&r->criu);
	m->tcp_established = o->tcp_established;
	m->tcp_close = o->tcp_close;
	m->ext_unix_sk = o->ext_unix_sk;
	m->shell_job = o->shell_job;
	m->file_locks = o->file_locks;
	m->empty_netns = o->empty_ns != NULL;
	collect_external_mounts(r->cfg, &r->cmi, &r->hmi, m);
	classify_stdio(r->st->pid, m->terminal, &r->cmi, m);
	return 0;
}

int container_checkpoint(const struct checkpoint_opts *o, struct checkpoint_stats *stats,
			 struct hangar_error *err)
{
	struct dump_run r;
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.lock = -1;
	int rc = -1;
	_cleanup_close_ int devnull = -1;
	_cleanup_free_ char *stats_path = NULL;
	struct cgroup_manager *cg = NULL;
	bool froze = false;
	if (prepare(&r, err) < 0 || build_args(&r, err) < 0)
		goto out;
	if (!o->pre_dump && copy_config(r.st->dir, r.image, err) < 0)
		goto out;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		hangar_sys_error(err, "open /dev/null");
		goto out;
	}
	stats_path = xasprintf("%s/%s-stats.txt", r.work, o->pre_dump ? "pre-dump" : "dump");
	int keep[1] = {o->status_fd};
	struct criu_run_opts ro = {
	    .step = o->pre_dump ? "pre-dump" : "dump",
	    .log_path = r.log,
	    .keep_fds = keep,
	    .n_keep_fds = o->status_fd >= 0 ? 1 : 0,
	    .stdio_fd = devnull,
	    .stdout_path = stats_path,
	};
	uint64_t t0 = now_ns();
	/* Freeze through the runtime's own freezer code (fast polling; criu's
	 * v1 loop sleeps in 100 ms steps and its repeated cgroup2 freezes are
	 * fragile, criu #1034); criu finds the cgroup frozen and leaves the
	 * freezer as it found it. */
	if (r.st->status == STATUS_RUNNING && r.st->cgroup && r.own_cgroup &&
	    cgroup_manager_open(r.st->cgroup, &cg, err) == 0) {
		if (cgroup_manager_freeze(cg, err) < 0)
			goto out;
		froze = true;
	}
	int run_rc = criu_run(&r.args, &ro, err);
	if (froze) {
		/* A dumped tree was killed by criu but dies only once thawed. */
		struct hangar_error terr;
		if (cgroup_manager_thaw(cg, &terr) < 0 && run_rc == 0) {
			*err = terr;
			run_rc = -1;
		}
	}
	if (run_rc < 0)
		goto out;
	if (stats) {
		memset(stats, 0, sizeof(*stats));
		stats->elapsed_ns = now_ns() - t0;
		_cleanup_free_ char *text = NULL;
		struct hangar_error ignored;
		if (read_file_at(AT_FDCWD, stats_path, &text, NULL, &ignored) == 0)
			checkpoint_parse_stats(text, stats);
	}
	if (!o->pre_dump && checkpoint_manifest_write(r.image, &r.m, err) < 0)
		goto out;
	rc = 0;
	if (!o->leave_running && !o->pre_dump && !o->keep_container) {
		/* criu killed the tree; what is left is the state and the cgroup,
		 * removed as `delete` would (it takes the lock itself). */
		close(r.lock);
		r.lock = -1;
		struct hangar_error derr;
		if (container_delete(o->root, o->id, true, &derr) < 0)
			rc = hangar_error_set(err, derr.code, 0,
					      "checkpoint done, but removing container %s failed: %s", o->id,
					      derr.msg);
	}
out:
	if (cg)
		cgroup_manager_free(cg);
	if (r.lock >= 0)
		close(r.lock);
	criu_args_free(&r.args);
	criu_close(&r.criu);
	checkpoint_manifest_clear(&r.m);
	mountinfo_free(&r.cmi);
	mountinfo_free(&r.hmi);
	oci_config_free(r.cfg);
	state_free(r.st);
	free(r.image);
	free(r.work);
	free(r.log);
	return rc;
}
