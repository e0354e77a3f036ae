/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rootfs_finalize: what is done to the container's view after the pivot. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "rootfs/internal.h"
#include "rootfs/resolve.h"

/* Attach the detached mount mnt_fd onto target_fd. */
static int attach_mount(int mnt_fd, int target_fd, const char *what, struct hangar_error *err)
{
	if (move_mount(mnt_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return hangar_sys_error(err, "attach mount on %s", what);
	return 0;
}

/* A read-only empty tmpfs, made with the new mount API so no /proc is
 * needed: maskedPaths may be applied to a container without /proc.  All
 * masked directories share one such tmpfs (*shared is the first one, once
 * attached: kernels before 6.15 refuse to clone a detached mount): one
 * superblock instead of one per path, and criu, which archives every tmpfs
 * it dumps with tar and gzip (and unpacks it again on restore), does that
 * once instead of once per masked directory. */
static int mask_directory(int target_fd, const char *path, int *shared, struct hangar_error *err)
{
	if (*shared >= 0) {
		_cleanup_close_ int copy =
		    open_tree(*shared, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (copy >= 0)
			return attach_mount(copy, target_fd, path, err);
		if (errno != EINVAL)
			return hangar_sys_error(err, "mask %s: clone the masking tmpfs", path);
		/* cannot clone it here: a tmpfs of its own, as before */
	}
	_cleanup_close_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0) {
		if (errno != ENOSYS)
			return hangar_sys_error(err, "mask %s: fsopen tmpfs", path);
		char target[FD_PATH_MAX];
		fd_path(target_fd, target);
		if (mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0k") <
		    0)
			return hangar_sys_error(err, "mask %s with a read-only tmpfs", path);
		return 0;
	}
	if (fsconfig(fs, FSCONFIG_SET_STRING, "size", "0k", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return hangar_sys_error(err, "mask %s: configure tmpfs", path);
	_cleanup_close_ int mnt =
	    fsmount(fs, FSMOUNT_CLOEXEC,
		    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		return hangar_sys_error(err, "mask %s: fsmount tmpfs", path);
	if (attach_mount(mnt, target_fd, path, err) < 0)
		return -1;
	/* mnt now names the attached mount, which any kernel clones */
	if (*shared < 0)
		*shared = steal_fd(&mnt);
	return 0;
}

static int mask_file(int root_fd, int target_fd, const char *path, struct hangar_error *err)
{
	_cleanup_close_ int null_tree =
	    open_tree(root_fd, "dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
	if (null_tree < 0) {
		if (errno != ENOSYS)
			return hangar_sys_error(err, "mask %s: open /dev/null", path);
		return bind_mount_onto_fd("/dev/null", target_fd, false, path, err);
	}
	return attach_mount(null_tree, target_fd, path, err);
}

static int mask_path(int root_fd, const char *path, int *shared_tmpfs, struct hangar_error *err)
{
	/* A symlink is followed like runc does, but only inside the root. */
	_cleanup_close_ int target = open_in_root(root_fd, path, O_PATH, 0);
	if (target < 0) {
		if (errno == ENOENT)
			return 0;
		return hangar_sys_error(err, "mask %s: open", path);
	}
	struct stat st;
	if (fstat(target, &st) < 0)
		return hangar_sys_error(err, "mask %s: stat", path);
	if (S_ISDIR(st.st_mode))
		return mask_directory(target, path, shared_tmpfs, err);
	return mask_file(root_fd, target, path, err);
}

/* Make the mount on top of fd read-only (recursively), keeping the other
 * flags: mount_setattr changes only the bits it is given, so the flags a
 * user namespace locks never need repeating.  Without mount_setattr the
 * old remount is used, which repeats the statfs flags. */
static int make_readonly(int fd, bool recursive, const char *path, struct hangar_error *err)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
	if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return hangar_sys_error(err, "make %s read-only", path);
	return remount_bind_fd(fd, MS_RDONLY, 0, false, path, err);
}

static int readonly_path(int root_fd, const char *path, struct hangar_error *err)
{
	_cleanup_close_ int target = open_in_root(root_fd, path, O_PATH, 0);
	if (target < 0) {
		if (errno == ENOENT)
			return 0;
		return hangar_sys_error(err, "read-only path %s: open", path);
	}
	_cleanup_close_ int tree =
	    open_tree(target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0) {
		if (errno != ENOSYS)
			return hangar_sys_error(err, "read-only path %s: clone mount", path);
		char p[FD_PATH_MAX];
		fd_path(target, p);
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
			return hangar_sys_error(err, "read-only path %s: bind onto itself", path);
		_cleanup_close_ int mnt = open_in_root(root_fd, path, O_PATH, 0);
		if (mnt < 0)
			return hangar_sys_error(err, "read-only path %s: reopen", path);
		return remount_bind_fd(mnt, MS_RDONLY, 0, false, path, err);
	}
	if (make_readonly(tree, true, path, err) < 0)
		return -1;
	return attach_mount(tree, target, path, err);
}

int rootfs_finalize(const struct oci_config *cfg, struct hangar_error *err)
{
	_cleanup_close_ int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return hangar_sys_error(err, "open /");

	/* Before readonlyPaths: /proc/sys is normally one of them. */
	if (rootfs_apply_sysctl(cfg, err) < 0)
		return -1;
	for (size_t i = 0; i < cfg->linux_.n_readonly_paths; i++)
		if (readonly_path(root_fd, cfg->linux_.readonly_paths[i], err) < 0)
			return -1;
	_cleanup_close_ int masking_tmpfs = -1;
	for (size_t i = 0; i < cfg->linux_.n_masked_paths; i++)
		if (mask_path(root_fd, cfg->linux_.masked_paths[i], &masking_tmpfs, err) < 0)
			return -1;

	if (cfg->root.readonly && make_readonly(root_fd, false, "/", err) < 0)
		return -1;

	const char *p = cfg->linux_.rootfs_propagation;
	if (p && *p) {
		unsigned long flags;
		if (mount_propagation_parse(p, &flags) < 0)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"linux.rootfsPropagation: unknown propagation \"%s\"", p);
		if (mount(NULL, "/", NULL, flags, NULL) < 0)
			return hangar_sys_error(err, "set propagation %s on /", p);
	}
	return 0;
}
