/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rootfs_prepare: the mount tree of the container before the pivot. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "rootfs/internal.h"
#include "rootfs/mountinfo.h"
#include "rootfs/overlay.h"
#include "rootfs/resolve.h"

int bind_mount_onto_fd(const char *source, int target_fd, bool recursive, const char *what,
		       struct hangar_error *err)
{
	char target[FD_PATH_MAX];
	fd_path(target_fd, target);
	if (mount(source, target, NULL, MS_BIND | (recursive ? MS_REC : 0), NULL) < 0)
		return hangar_sys_error(err, "bind mount %s on %s", source, what);
	return 0;
}

int remount_bind_fd(int mnt_fd, unsigned long set, unsigned long cleared, bool atime_given, const char *what,
		    struct hangar_error *err)
{
	const unsigned long per_mount =
	    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_ATIME_MASK | MS_NOSYMFOLLOW;
	unsigned long current = 0;
	if (mount_flags_of_fd(mnt_fd, &current) < 0)
		return hangar_sys_error(err, "statfs %s", what);
	/* In a user namespace the kernel locks ro/nosuid/nodev/noexec/atime
	 * of a mount that came from a more privileged namespace: a remount
	 * that does not repeat them fails with EPERM.  Repeat whatever is set
	 * now unless the config asked for the opposite ("rw", "suid", ...);
	 * that also keeps a bind of a read-only source read-only when only
	 * "nosuid" was asked for. */
	unsigned long keep = current & per_mount;
	keep &= ~cleared;
	if (atime_given)
		keep &= ~(unsigned long)MS_ATIME_MASK;
	char target[FD_PATH_MAX];
	fd_path(mnt_fd, target);
	if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | (set & per_mount) | keep, NULL) < 0)
		return hangar_sys_error(err, "remount %s with new flags", what);
	return 0;
}

int apply_propagation_and_attrs(int mnt_fd, const struct mount_options *mo, const char *what,
				struct hangar_error *err)
{
	char target[FD_PATH_MAX];
	fd_path(mnt_fd, target);
	for (int i = 0; i < mo->n_propagation; i++)
		if (mount(NULL, target, NULL, mo->propagation[i], NULL) < 0)
			return hangar_sys_error(err, "set propagation of %s", what);
	if (mo->rec_attr_set == 0 && mo->rec_attr_clr == 0)
		return 0;
	struct mount_attr attr = {.attr_set = mo->rec_attr_set, .attr_clr = mo->rec_attr_clr};
	if (mount_setattr(mnt_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		if (errno == ENOSYS)
			return hangar_error_set(
			    err, HANGAR_E_UNSUPPORTED, errno,
			    "recursive mount options on %s need mount_setattr (Linux 5.12)", what);
		return hangar_sys_error(err, "set recursive mount attributes on %s", what);
	}
	return 0;
}

static bool is_bind(const struct oci_mount *m, const struct mount_options *mo)
{
	return mo->bind || (m->type && strcmp(m->type, "bind") == 0) || m->type == NULL;
}

/* runc's checkProcMount: below /proc only a few files may be covered (lxcfs
 * style); covering anything else could hide or replace the files security
 * depends on (/proc/self/attr, /proc/sys ...). */
static const char *const proc_cover_allowed[] = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo",  "/proc/stat",	   "/proc/swaps",
    "/proc/uptime",  "/proc/loadavg",	"/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
};

static int check_proc_destination(const char *dest, const struct oci_mount *m, struct hangar_error *err)
{
	if (!str_has_prefix(dest, "/proc/"))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(proc_cover_allowed); i++)
		if (strcmp(dest, proc_cover_allowed[i]) == 0)
			return 0;
	return hangar_error_set(err, HANGAR_E_CONFIG, 0,
				"mount destination %s: mounting over /proc is not allowed", m->destination);
}

/*
 * Open (creating when missing) the mount target inside the root.  proc and
 * sysfs targets must be real directories reached without any symlink: an
 * image or a shared volume could otherwise turn /proc into a link to a
 * directory it controls and have the real procfs land elsewhere
 * (CVE-2019-19921).
 */
static int open_mount_target(int root_fd, const char *dest, bool want_file, bool no_symlinks,
			     struct hangar_error *err)
{
	unsigned long long resolve = no_symlinks ? RESOLVE_NO_SYMLINKS : 0;
	int fd = open_in_root_resolve(root_fd, dest, O_PATH, 0, resolve);
	if (fd < 0 && errno == ENOENT) {
		int r = want_file ? mkfile_in_root(root_fd, dest, 0644, err)
				  : mkdir_p_in_root(root_fd, dest, 0755, err);
		if (r < 0)
			return -1;
		fd = open_in_root_resolve(root_fd, dest, O_PATH, 0, resolve);
	}
	if (fd < 0) {
		if (errno == ELOOP && no_symlinks)
			return hangar_error_set(err, HANGAR_E_CONFIG, ELOOP,
						"mount destination %s is or goes through a symlink", dest);
		return hangar_sys_error(err, "open mount destination %s in container root", dest);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int saved = errno;
		close(fd);
		return hangar_error_set(err, HANGAR_E_SYS, saved, "stat mount destination %s", dest);
	}
	if (no_symlinks && !S_ISDIR(st.st_mode)) {
		close(fd);
		return hangar_error_set(err, HANGAR_E_CONFIG, ENOTDIR,
					"mount destination %s is not a directory", dest);
	}
	return fd;
}

static int mount_bind_entry(int root_fd, const struct oci_config *cfg, const struct oci_mount *m,
			    const char *dest, const struct mount_options *mo, struct hangar_error *err)
{
	if (m->source == NULL)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "mount %s: bind mount without a source",
					dest);
	struct stat src_st;
	if (stat(m->source, &src_st) < 0)
		return hangar_sys_error(err, "mount %s: source %s", dest, m->source);
	_cleanup_close_ int target = open_mount_target(root_fd, dest, !S_ISDIR(src_st.st_mode), false, err);
	if (target < 0)
		return -1;

	bool idmapped = mo->idmap || m->n_uid_mappings > 0 || m->n_gid_mappings > 0;
	if (idmapped) {
		const struct oci_id_mapping *uids = m->uid_mappings, *gids = m->gid_mappings;
		size_t nu = m->n_uid_mappings, ng = m->n_gid_mappings;
		/* "idmap" without mappings means: the container's own. */
		if (nu == 0 && ng == 0) {
			uids = cfg->linux_.uid_mappings;
			nu = cfg->linux_.n_uid_mappings;
			gids = cfg->linux_.gid_mappings;
			ng = cfg->linux_.n_gid_mappings;
		}
		if (nu == 0 || ng == 0)
			return hangar_error_set(
			    err, HANGAR_E_CONFIG, 0,
			    "mount %s: idmapped mount needs both uidMappings and gidMappings", dest);
		_cleanup_close_ int userns = idmap_userns_open(uids, nu, gids, ng, err);
		if (userns < 0)
			return hangar_error_prefix(err, "mount %s", dest);
		if (bind_mount_idmapped(m->source, target, mo->recursive_bind || mo->recursive_idmap, userns,
					dest, err) < 0)
			return -1;
	} else if (bind_mount_onto_fd(m->source, target, mo->recursive_bind, dest, err) < 0) {
		return -1;
	}

	_cleanup_close_ int mnt = open_in_root(root_fd, dest, O_PATH, 0);
	if (mnt < 0)
		return hangar_sys_error(err, "reopen mount %s", dest);
	const unsigned long remount_flags =
	    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_ATIME_MASK | MS_NOSYMFOLLOW;
	if ((mo->flags & remount_flags) != 0 || (mo->cleared & remount_flags) != 0) {
		if (remount_bind_fd(mnt, mo->flags, mo->cleared, mo->atime_given, dest, err) < 0)
			return -1;
	}
	return apply_propagation_and_attrs(mnt, mo, dest, err);
}

static int bind_host_instead(int root_fd, const char *host_path, bool recursive, int target, const char *dest,
			     const struct mount_options *mo, struct hangar_error *err)
{
	if (bind_mount_onto_fd(host_path, target, recursive, dest, err) < 0)
		return -1;
	_cleanup_close_ int mnt = open_in_root(root_fd, dest, O_PATH, 0);
	if (mnt < 0)
		return hangar_sys_error(err, "reopen mount %s", dest);
	if (remount_bind_fd(mnt, mo->flags, mo->cleared, mo->atime_given, dest, err) < 0)
		return -1;
	return apply_propagation_and_attrs(mnt, mo, dest, err);
}

static int mount_fs_entry(int root_fd, const struct oci_config *cfg, const struct oci_mount *m,
			  const char *dest, const struct mount_options *mo, struct hangar_error *err)
{
	const char *type = m->type;
	bool proc_like = strcmp(type, "proc") == 0 || strcmp(type, "sysfs") == 0;
	if (strcmp(type, "cgroup") == 0 || strcmp(type, "cgroup2") == 0)
		return rootfs_mount_cgroup(root_fd, dest, mo, cfg, err);

	_cleanup_close_ int target = open_mount_target(root_fd, dest, false, proc_like, err);
	if (target < 0)
		return -1;
	_cleanup_close_ int underlying = -1;
	if (mo->tmpcopyup) {
		if (strcmp(type, "tmpfs") != 0)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"mount %s: tmpcopyup is only for tmpfs", dest);
		underlying = open_in_root(root_fd, dest, O_RDONLY | O_DIRECTORY, 0);
		if (underlying < 0)
			return hangar_sys_error(err, "mount %s: open directory to copy up", dest);
	}

	_cleanup_free_ char *data = mo->data ? xstrdup(mo->data) : NULL;
	/* The container needs its own devpts instance whose ptmx it can use:
	 * /dev/ptmx becomes a link to pts/ptmx below. */
	if (strcmp(type, "devpts") == 0) {
		if (!data || !mount_option_list_has(data, "newinstance")) {
			char *d = data ? xasprintf("%s,newinstance", data) : xstrdup("newinstance");
			free(data);
			data = d;
		}
		if (!strstr(data, "ptmxmode=")) {
			char *d = xasprintf("%s,ptmxmode=0666", data);
			free(data);
			data = d;
		}
	}

	char target_path[FD_PATH_MAX];
	fd_path(target, target_path);
	unsigned long flags =
	    mo->flags & ~(unsigned long)(MS_PROPAGATION_MASK | MS_REC | MS_BIND | MS_REMOUNT);
	if (mount(m->source ? m->source : type, target_path, type, flags, data) < 0) {
		int saved = errno;
		/* A user namespace that does not own the network (IPC)
		 * namespace may not mount sysfs (mqueue); runc binds the
		 * host's instance instead. */
		if ((saved == EPERM || saved == EACCES) && strcmp(type, "sysfs") == 0)
			return bind_host_instead(root_fd, "/sys", true, target, dest, mo, err);
		if ((saved == EPERM || saved == EACCES) && strcmp(type, "mqueue") == 0)
			return bind_host_instead(root_fd, "/dev/mqueue", false, target, dest, mo, err);
		return hangar_error_set(err, HANGAR_E_SYS, saved, "mount %s on %s (type %s, options %s)",
					m->source ? m->source : type, dest, type, data ? data : "none");
	}

	_cleanup_close_ int mnt = open_in_root(root_fd, dest, O_PATH, 0);
	if (mnt < 0)
		return hangar_sys_error(err, "reopen mount %s", dest);
	if (mo->tmpcopyup) {
		_cleanup_close_ int copy_to = open_in_root(root_fd, dest, O_RDONLY | O_DIRECTORY, 0);
		if (copy_to < 0)
			return hangar_sys_error(err, "mount %s: open new tmpfs", dest);
		if (copy_tree(underlying, copy_to, dest, err) < 0)
			return -1;
	}
	return apply_propagation_and_attrs(mnt, mo, dest, err);
}

static int mount_entry(int root_fd, const struct oci_config *cfg, const struct oci_mount *m,
		       struct hangar_error *err)
{
	if (m->destination == NULL || m->destination[0] == '\0')
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "mounts: entry without a destination");
	_cleanup_free_ char *dest = path_clean(m->destination);
	if (strcmp(dest, "/") == 0)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"mount destination %s: cannot mount over the root", m->destination);
	if (check_proc_destination(dest, m, err) < 0)
		return -1;
	struct mount_options mo;
	if (mount_options_parse(m->options, m->n_options, &mo, err) < 0)
		return hangar_error_prefix(err, "mount %s", dest);
	int r;
	if (is_bind(m, &mo))
		r = mount_bind_entry(root_fd, cfg, m, dest, &mo, err);
	else if (mo.idmap || m->n_uid_mappings || m->n_gid_mappings)
		r = hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
				     "mount %s: idmapped mounts are supported for bind mounts only", dest);
	else
		r = mount_fs_entry(root_fd, cfg, m, dest, &mo, err);
	mount_options_clear(&mo);
	return r;
}

/* What the config does with /dev: nothing (we provide a tmpfs), a
 * filesystem of its own (we populate it) or a bind from the host (left
 * alone, like runc). */
enum dev_plan { DEV_OURS, DEV_CONFIGURED, DEV_BOUND };

static enum dev_plan dev_plan_of(const struct oci_config *cfg)
{
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct oci_mount *m = &cfg->mounts[i];
		if (m->destination == NULL)
			continue;
		_cleanup_free_ char *dest = path_clean(m->destination);
		if (strcmp(dest, "/dev") != 0)
			continue;
		struct mount_options mo;
		struct hangar_error ignored;
		if (mount_options_parse(m->options, m->n_options, &mo, &ignored) < 0)
			return DEV_CONFIGURED;
		bool bind = is_bind(m, &mo);
		mount_options_clear(&mo);
		return bind ? DEV_BOUND : DEV_CONFIGURED;
	}
	return DEV_OURS;
}

/*
 * pivot_root refuses a new root whose parent mount is shared (the old root
 * could otherwise propagate into it).  With rootfsPropagation "shared" the
 * parent keeps its peer group, so it is made private here, like runc's
 * rootfsParentMountPrivate.
 */
static int make_parent_mount_private(const char *rootfs, struct hangar_error *err)
{
	_cleanup_free_ char *parent = xasprintf("%s/..", rootfs);
	char canonical[PATH_MAX];
	if (realpath(parent, canonical) == NULL)
		return hangar_sys_error(err, "resolve the parent of %s", rootfs);
	struct mountinfo mi;
	if (mountinfo_read("/proc/self/mountinfo", &mi, err) < 0)
		return -1;
	const struct mountinfo_entry *e = mountinfo_containing(&mi, canonical);
	int r = 0;
	if (e && strstr(e->optional, "shared:") && mount(NULL, e->mount_point, NULL, MS_PRIVATE, NULL) < 0)
		r = hangar_sys_error(err, "make %s private", e->mount_point);
	mountinfo_free(&mi);
	return r;
}

static int root_propagation(const struct oci_config *cfg, unsigned long *flags, struct hangar_error *err)
{
	const char *p = cfg->linux_.rootfs_propagation;
	if (p == NULL || *p == '\0') {
		*flags = MS_SLAVE | MS_REC;
		return 0;
	}
	if (mount_propagation_parse(p, flags) < 0)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"linux.rootfsPropagation: unknown propagation \"%s\"", p);
	return 0;
}

/* A copy-on-write root made here, in the container's own mount (and user)
 * namespace, for callers that may not mount on the host: an unprivileged
 * user cannot mount overlayfs there, but can in a user namespace it owns
 * (Linux >= 5.11).  Sets *mounted when the annotations asked for it. */
static int mount_overlay_root(const struct oci_config *cfg, const char *rootfs, bool *mounted,
			      struct hangar_error *err)
{
	const char *lower = oci_config_annotation(cfg, ROOTFS_OVERLAY_LOWERDIR);
	const char *upper = oci_config_annotation(cfg, ROOTFS_OVERLAY_UPPERDIR);
	const char *work = oci_config_annotation(cfg, ROOTFS_OVERLAY_WORKDIR);
	*mounted = false;
	if (lower == NULL || *lower == '\0') {
		if (upper || work)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0, "annotations: %s needs %s",
						upper ? ROOTFS_OVERLAY_UPPERDIR : ROOTFS_OVERLAY_WORKDIR,
						ROOTFS_OVERLAY_LOWERDIR);
		return 0;
	}
	if (!upper != !work)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "annotations: %s and %s go together",
					ROOTFS_OVERLAY_UPPERDIR, ROOTFS_OVERLAY_WORKDIR);
	_cleanup_free_ char *copy = xstrdup(lower);
	_cleanup_free_ const char **dirs = xmalloc0((strlen(lower) / 2 + 2) * sizeof(*dirs));
	size_t n = 0;
	char *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (d[0] != '/')
			return hangar_error_set(err, HANGAR_E_CONFIG, 0, "annotations: %s: %s is not an absolute path",
						ROOTFS_OVERLAY_LOWERDIR, d);
		dirs[n++] = d;
	}
	if (n == 0)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "annotations: %s is empty", ROOTFS_OVERLAY_LOWERDIR);
	if (n == 1 && upper == NULL)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"annotations: a read-only overlay root needs two or more dirs in %s (overlayfs); "
					"for one, make it root.path with root.readonly",
					ROOTFS_OVERLAY_LOWERDIR);
	/* In a user namespace the kernel refuses overlayfs before 5.11
	 * (EPERM, or EINVAL for the userxattr option): fuse-overlayfs then. */
	bool userns = in_nested_user_namespace();
	bool native_off = userns && overlay_native_forced_off();
	struct hangar_error native;
	hangar_error_clear(&native);
	if (native_off)
		hangar_error_set(&native, HANGAR_E_UNSUPPORTED, 0, "skipped (%s=1, a test setting)",
				 OVERLAY_TEST_NO_NATIVE_ENV);
	else if (overlay_mount(dirs, n, upper, work, rootfs, &native) == 0) {
		*mounted = true;
		return 0;
	}
	if (!native_off && (!userns || (native.err_no != EPERM && native.err_no != EINVAL))) {
		*err = native;
		return hangar_error_prefix(err, "overlay root %s (%s)", rootfs, ROOTFS_OVERLAY_LOWERDIR);
	}
	if (overlay_fuse_mount(dirs, n, upper, work, rootfs, native.msg, err) < 0)
		return hangar_error_prefix(err, "overlay root %s", rootfs);
	*mounted = true;
	return 0;
}

int rootfs_prepare(const struct oci_config *cfg, const char *rootfs, const struct rootfs_options *o,
		   struct hangar_error *err)
{
	if (rootfs == NULL || rootfs[0] != '/')
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "root.path %s: must be an absolute path",
					rootfs ? rootfs : "(none)");
	if (rootfs_check_sysctl_keys(cfg, err) < 0)
		return -1;

	unsigned long propagation;
	if (root_propagation(cfg, &propagation, err) < 0)
		return -1;
	/* Stop our mounts from propagating back to the host (and, with the
	 * default rslave, keep receiving the host's). */
	if (mount(NULL, "/", NULL, propagation, NULL) < 0)
		return hangar_sys_error(err, "set propagation of / for linux.rootfsPropagation");
	if (make_parent_mount_private(rootfs, err) < 0)
		return -1;
	bool overlay_root;
	if (mount_overlay_root(cfg, rootfs, &overlay_root, err) < 0)
		return -1;
	/* pivot_root needs the new root to be a mount point. */
	if (!overlay_root && mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return hangar_sys_error(err, "bind mount root %s onto itself", rootfs);

	_cleanup_close_ int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return hangar_sys_error(err, "open root %s", rootfs);

	enum dev_plan dev = dev_plan_of(cfg);
	if (dev == DEV_OURS) {
		static char *const dev_options[] = {"nosuid", "strictatime", "mode=755", "size=65536k"};
		struct oci_mount dev_mount = {
		    .destination = "/dev",
		    .type = "tmpfs",
		    .source = "tmpfs",
		    .options = (char **)dev_options,
		    .n_options = ARRAY_SIZE(dev_options),
		};
		if (mount_entry(root_fd, cfg, &dev_mount, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (mount_entry(root_fd, cfg, &cfg->mounts[i], err) < 0)
			return -1;
	if (dev != DEV_BOUND && rootfs_setup_dev(root_fd, cfg, o, err) < 0)
		return -1;
	return 0;
}
