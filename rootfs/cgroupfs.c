/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cgroup filesystem inside the container.  On a unified host it is one
 * cgroup2 mount; on hybrid/legacy hosts it is a tmpfs holding one mount per
 * hierarchy, like the host's /sys/fs/cgroup.  Without a cgroup namespace a
 * fresh cgroup mount would show the host's whole tree, so the container's
 * own cgroup directory (from /proc/self/cgroup, which the runtime has set up
 * before this runs) is bound in instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "rootfs/internal.h"
#include "rootfs/mountinfo.h"
#include "rootfs/resolve.h"

#define HOST_CGROUP_ROOT "/sys/fs/cgroup"

/* Options in a cgroup v1 superblock that are not controller names. */
static bool is_cgroup_v1_non_controller(const char *opt)
{
	static const char *const plain[] = {
	    "rw",	    "ro",	 "xattr", "noprefix", "clone_children", "cpuset_v2_mode",
	    "favordynmods", "nsdelegate"};
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
		if (strcmp(opt, plain[i]) == 0)
			return true;
	return str_has_prefix(opt, "release_agent=");
}

/* The comma list of controllers (and name=) a v1 hierarchy was mounted with. */
static char *cgroup_v1_controllers(const char *super_options)
{
	_cleanup_free_ char *copy = xstrdup(super_options);
	_cleanup_free_ char *out = NULL;
	char *save = NULL;
	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (is_cgroup_v1_non_controller(o))
			continue;
		char *joined = out ? xasprintf("%s,%s", out, o) : xstrdup(o);
		free(out);
		out = joined;
	}
	return steal_pointer(&out);
}

/* Our cgroup path in the hierarchy with the given controllers ("" for v2). */
static int own_cgroup_path(const char *proc_cgroup, const char *controllers, char **out,
			   struct hangar_error *err)
{
	_cleanup_free_ char *copy = xstrdup(proc_cgroup);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c2 = '\0';
		const char *list = c1 + 1;
		bool match;
		if (*controllers == '\0') {
			match = *list == '\0';
		} else {
			/* Same set of controllers, in whatever order. */
			_cleanup_free_ char *want = xstrdup(controllers);
			char *s2 = NULL;
			match = *list != '\0';
			size_t n_want = 0, n_have = 1;
			for (const char *p = list; *p; p++)
				n_have += *p == ',';
			for (char *w = strtok_r(want, ",", &s2); w && match; w = strtok_r(NULL, ",", &s2)) {
				n_want++;
				match = mount_option_list_has(list, w);
			}
			match = match && n_want == n_have;
		}
		if (match) {
			*out = xstrdup(c2 + 1);
			return 0;
		}
	}
	return hangar_error_set(err, HANGAR_E_NOTFOUND, 0,
				"/proc/self/cgroup has no entry for hierarchy \"%s\"",
				*controllers ? controllers : "(unified)");
}

/* Host directory of our own cgroup below a host cgroup mount whose
 * filesystem root is mnt_root (not "/" when the host is itself nested). */
static char *host_cgroup_dir(const struct mountinfo_entry *e, const char *own)
{
	const char *rel = own;
	size_t root_len = strlen(e->root);
	if (strcmp(e->root, "/") != 0 && strncmp(own, e->root, root_len) == 0 &&
	    (own[root_len] == '/' || own[root_len] == '\0'))
		rel = own + root_len;
	_cleanup_free_ char *joined = xasprintf("%s/%s", e->mount_point, rel);
	return path_clean(joined);
}

static int bind_own_cgroup(int root_fd, const struct mountinfo_entry *e, const char *own, const char *dest,
			   const struct mount_options *mo, struct hangar_error *err)
{
	_cleanup_free_ char *source = host_cgroup_dir(e, own);
	if (mkdir_p_in_root(root_fd, dest, 0755, err) < 0)
		return -1;
	_cleanup_close_ int target = open_in_root(root_fd, dest, O_PATH | O_DIRECTORY, 0);
	if (target < 0)
		return hangar_sys_error(err, "open %s in container root", dest);
	if (bind_mount_onto_fd(source, target, false, dest, err) < 0)
		return -1;
	_cleanup_close_ int mnt = open_in_root(root_fd, dest, O_PATH | O_DIRECTORY, 0);
	if (mnt < 0)
		return hangar_sys_error(err, "reopen %s", dest);
	return remount_bind_fd(mnt, mo->flags, mo->cleared, mo->atime_given, dest, err);
}

static int mount_fresh_cgroup(int root_fd, const char *fstype, const char *controllers, const char *dest,
			      const struct mount_options *mo, struct hangar_error *err)
{
	if (mkdir_p_in_root(root_fd, dest, 0755, err) < 0)
		return -1;
	_cleanup_close_ int target = open_in_root(root_fd, dest, O_PATH | O_DIRECTORY, 0);
	if (target < 0)
		return hangar_sys_error(err, "open %s in container root", dest);
	char path[FD_PATH_MAX];
	fd_path(target, path);
	unsigned long flags = mo->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_ATIME_MASK);
	if (mount(fstype, path, fstype, flags, controllers) < 0)
		return hangar_sys_error(err, "mount %s (%s) on %s", fstype, controllers ? controllers : "",
					dest);
	return 0;
}

/* Whether a systemd init may have the cgroup2 subtree mounted at dest (in
 * its cgroup namespace: the container's cgroup is the root) writable: when
 * the kernel keeps it from writing to its namespace root's files
 * (nsdelegate: memory.max and the like are refused from inside), or when
 * that cgroup has no controllers at all, so there is no limit to change
 * (a hybrid host's unified hierarchy). */
static bool systemd_may_write_cgroup2(int root_fd, const char *dest, const struct mountinfo_entry *host)
{
	if (mount_option_list_has(host->super_options, "nsdelegate"))
		return true;
	_cleanup_free_ char *file = xasprintf("%s/cgroup.controllers", dest);
	_cleanup_close_ int fd = open_in_root(root_fd, file, O_RDONLY, 0);
	char buf[256];
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return buf[strspn(buf, " \n")] == '\0';
}

/* The cgroup2 mounted at host_mount (/sys/fs/cgroup, or a hybrid host's
 * /sys/fs/cgroup/unified) as the container's whole /sys/fs/cgroup. */
static int mount_unified(int root_fd, const char *dest, const struct mount_options *mo, bool cgroupns,
			 bool systemd, const char *host_mount, const struct mountinfo *mi,
			 const char *proc_cgroup, struct hangar_error *err)
{
	const struct mountinfo_entry *e = mountinfo_find(mi, host_mount);
	if (e == NULL)
		return hangar_error_set(err, HANGAR_E_NOTFOUND, 0, "no cgroup2 mount at %s", host_mount);
	if (cgroupns && systemd && (mo->flags & MS_RDONLY)) {
		/* Mounted writable, then made read-only (per mount, not the
		 * superblock) unless a systemd init may write there. */
		struct mount_options rw = *mo;
		rw.flags &= ~(unsigned long)MS_RDONLY;
		if (mount_fresh_cgroup(root_fd, "cgroup2", NULL, dest, &rw, err) < 0)
			return -1;
		if (systemd_may_write_cgroup2(root_fd, dest, e))
			return 0;
		_cleanup_close_ int mnt = open_in_root(root_fd, dest, O_PATH | O_DIRECTORY, 0);
		if (mnt < 0)
			return hangar_sys_error(err, "reopen %s", dest);
		return remount_bind_fd(mnt, mo->flags, mo->cleared, mo->atime_given, dest, err);
	}
	if (cgroupns) {
		int r = mount_fresh_cgroup(root_fd, "cgroup2", NULL, dest, mo, err);
		/* A user namespace without a cgroup namespace of its own may
		 * not mount cgroup2; the bind below shows the same subtree. */
		if (r == 0 || (err->err_no != EPERM && err->err_no != EACCES))
			return r;
	}
	_cleanup_free_ char *own = NULL;
	if (own_cgroup_path(proc_cgroup, "", &own, err) < 0)
		return -1;
	return bind_own_cgroup(root_fd, e, own, dest, mo, err);
}

static int mount_hybrid(int root_fd, const char *dest, const struct mount_options *mo, bool cgroupns,
			bool systemd_legacy, const struct mountinfo *mi, const char *proc_cgroup,
			struct hangar_error *err)
{
	if (mkdir_p_in_root(root_fd, dest, 0755, err) < 0)
		return -1;
	_cleanup_close_ int target = open_in_root(root_fd, dest, O_PATH | O_DIRECTORY, 0);
	if (target < 0)
		return hangar_sys_error(err, "open %s in container root", dest);
	char path[FD_PATH_MAX];
	fd_path(target, path);
	unsigned long tmpfs_flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (mo->flags & MS_ATIME_MASK);
	if (mount("tmpfs", path, "tmpfs", tmpfs_flags, "mode=755") < 0)
		return hangar_sys_error(err, "mount tmpfs for cgroup hierarchies on %s", dest);

	for (size_t i = 0; i < mi->n; i++) {
		const struct mountinfo_entry *e = &mi->entries[i];
		bool v1 = strcmp(e->fstype, "cgroup") == 0, v2 = strcmp(e->fstype, "cgroup2") == 0;
		if ((!v1 && !v2) || !str_has_prefix(e->mount_point, HOST_CGROUP_ROOT "/"))
			continue;
		const char *name = e->mount_point + strlen(HOST_CGROUP_ROOT "/");
		if (strchr(name, '/'))
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", dest, name);
		_cleanup_free_ char *controllers = v1 ? cgroup_v1_controllers(e->super_options) : xstrdup("");
		if (controllers == NULL)
			continue;
		/* A systemd init on a legacy host (systemd_legacy; a hybrid
		 * one gets the unified view, see rootfs_mount_cgroup) keeps
		 * its tree in name=systemd: writable, it holds only what the
		 * init makes below the cgroup the runtime made and joined for
		 * it (CGROUP_ANNOTATION_SYSTEMD); the controllers, where limits
		 * live, stay read-only. */
		struct mount_options hmo = *mo;
		if (systemd_legacy && v1 && strcmp(controllers, "name=systemd") == 0)
			hmo.flags &= ~(unsigned long)MS_RDONLY;
		if (cgroupns) {
			if (mount_fresh_cgroup(root_fd, v1 ? "cgroup" : "cgroup2", v1 ? controllers : NULL,
					       sub, &hmo, err) < 0)
				return -1;
		} else {
			_cleanup_free_ char *own = NULL;
			if (own_cgroup_path(proc_cgroup, controllers, &own, err) < 0)
				return -1;
			if (bind_own_cgroup(root_fd, e, own, sub, &hmo, err) < 0)
				return -1;
		}
		/* Co-mounted controllers ("cpu,cpuacct") get one link per
		 * name, as systemd lays them out. */
		if (strchr(name, ',')) {
			_cleanup_free_ char *names = xstrdup(name);
			char *save = NULL;
			for (char *c = strtok_r(names, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
				_cleanup_close_ int dir =
				    open_in_root(root_fd, dest, O_PATH | O_DIRECTORY, 0);
				if (dir < 0)
					return hangar_sys_error(err, "open %s", dest);
				if (symlinkat(name, dir, c) < 0 && errno != EEXIST)
					return hangar_sys_error(err, "symlink %s/%s -> %s", dest, c, name);
			}
		}
	}
	if (mo->flags & MS_RDONLY) {
		_cleanup_close_ int mnt = open_in_root(root_fd, dest, O_PATH | O_DIRECTORY, 0);
		if (mnt < 0)
			return hangar_sys_error(err, "reopen %s", dest);
		fd_path(mnt, path);
		if (mount(NULL, path, NULL, MS_REMOUNT | MS_RDONLY | tmpfs_flags, "mode=755") < 0)
			return hangar_sys_error(err, "make the cgroup tmpfs on %s read-only", dest);
	}
	return 0;
}

int rootfs_mount_cgroup(int root_fd, const char *dest, const struct mount_options *mo,
			const struct oci_config *cfg, struct hangar_error *err)
{
	bool cgroupns = oci_config_namespace(cfg, OCI_NS_CGROUP) != NULL;
	struct statfs sfs;
	if (statfs(HOST_CGROUP_ROOT, &sfs) < 0)
		return hangar_sys_error(err, "statfs " HOST_CGROUP_ROOT);
	_cleanup_free_ char *proc_cgroup = NULL;
	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", &proc_cgroup, NULL, err) < 0)
		return -1;
	struct mountinfo mi;
	if (mountinfo_read("/proc/self/mountinfo", &mi, err) < 0)
		return -1;
	int r;
	bool systemd = cgroup_config_wants_systemd(cfg);
	const struct mountinfo_entry *unified = mountinfo_find(&mi, HOST_CGROUP_ROOT "/unified");
	bool hybrid = unified && strcmp(unified->fstype, "cgroup2") == 0;
	if (sfs.f_type == CGROUP2_SUPER_MAGIC)
		r = mount_unified(root_fd, dest, mo, cgroupns, systemd, HOST_CGROUP_ROOT, &mi, proc_cgroup,
				  err);
	/* A systemd init on a hybrid host gets the unified hierarchy alone,
	 * as on a unified host: systemd from 258 refuses anything else
	 * ("Detected unsupported legacy cgroup hierarchy, refusing
	 * execution"), and older ones run in unified mode there just as
	 * well.  Its limits stay in the host's v1 controllers, out of sight. */
	else if (systemd && cgroupns && hybrid)
		r = mount_unified(root_fd, dest, mo, cgroupns, systemd, HOST_CGROUP_ROOT "/unified", &mi,
				  proc_cgroup, err);
	else
		r = mount_hybrid(root_fd, dest, mo, cgroupns, systemd && !hybrid, &mi, proc_cgroup, err);
	mountinfo_free(&mi);
	if (r < 0)
		return hangar_error_prefix(err, "cgroup mount %s", dest);
	if (mo->n_propagation > 0 || mo->rec_attr_set || mo->rec_attr_clr) {
		_cleanup_close_ int mnt = open_in_root(root_fd, dest, O_PATH | O_DIRECTORY, 0);
		if (mnt < 0)
			return hangar_sys_error(err, "reopen %s", dest);
		return apply_propagation_and_attrs(mnt, mo, dest, err);
	}
	return 0;
}
