/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /dev of the container: device nodes, the standard links, ptmx, console. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "rootfs/internal.h"
#include "rootfs/resolve.h"

static const struct oci_device default_devices[] = {
    {.path = "/dev/null", .type = 'c', .major = 1, .minor = 3},
    {.path = "/dev/zero", .type = 'c', .major = 1, .minor = 5},
    {.path = "/dev/full", .type = 'c', .major = 1, .minor = 7},
    {.path = "/dev/random", .type = 'c', .major = 1, .minor = 8},
    {.path = "/dev/urandom", .type = 'c', .major = 1, .minor = 9},
    {.path = "/dev/tty", .type = 'c', .major = 5, .minor = 0},
};

const struct oci_device *rootfs_default_devices(size_t *n)
{
	*n = ARRAY_SIZE(default_devices);
	return default_devices;
}

static int device_type_bits(const struct oci_device *d, mode_t *bits, struct hangar_error *err)
{
	switch (d->type) {
	case 'c':
	case 'u':
		*bits = S_IFCHR;
		return 0;
	case 'b':
		*bits = S_IFBLK;
		return 0;
	case 'p':
		*bits = S_IFIFO;
		return 0;
	}
	return hangar_error_set(err, HANGAR_E_CONFIG, 0, "linux.devices %s: unknown type '%c'", d->path,
				d->type ? d->type : '?');
}

/* Without CAP_MKNOD in the initial user namespace a node cannot be made;
 * the host's node is bound onto an empty file instead (runc does the same). */
static int bind_host_device(int root_fd, const struct oci_device *d, struct hangar_error *err)
{
	if (mkfile_in_root(root_fd, d->path, 0000, err) < 0)
		return -1;
	_cleanup_close_ int target = open_in_root(root_fd, d->path, O_PATH, 0);
	if (target < 0)
		return hangar_sys_error(err, "open device file %s in container root", d->path);
	return bind_mount_onto_fd(d->path, target, false, d->path, err);
}

static int create_device(int root_fd, const struct oci_device *d, bool userns, struct hangar_error *err)
{
	mode_t type_bits = 0;
	if (device_type_bits(d, &type_bits, err) < 0)
		return -1;
	if (d->path == NULL || d->path[0] != '/')
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "linux.devices %s: path must be absolute",
					d->path ? d->path : "(none)");
	if (userns)
		return bind_host_device(root_fd, d, err);

	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int dir = open_parent_in_root(root_fd, d->path, true, &name, err);
	if (dir < 0)
		return -1;
	mode_t perm = d->has_file_mode ? (d->file_mode & 07777) : 0666;
	dev_t devnum = makedev((unsigned)d->major, (unsigned)d->minor);
	/* The umask must not eat the configured mode; it is restored at once. */
	mode_t old_umask = umask(0);
	int r = mknodat(dir, name, type_bits | perm, type_bits == S_IFIFO ? 0 : devnum);
	int saved = errno;
	umask(old_umask);
	if (r < 0) {
		/* Like runc: an existing entry (a bind mount from the config,
		 * or a node in a configured /dev) is left as it is. */
		if (saved == EEXIST)
			return 0;
		if (saved == EPERM)
			return bind_host_device(root_fd, d, err);
		return hangar_error_set(err, HANGAR_E_SYS, saved, "mknod %s", d->path);
	}
	uid_t uid = d->has_uid ? d->uid : 0;
	gid_t gid = d->has_gid ? d->gid : 0;
	if (fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return hangar_sys_error(err, "chown %s to %u:%u", d->path, (unsigned)uid, (unsigned)gid);
	return 0;
}

static bool configured_device(const struct oci_config *cfg, const char *path)
{
	for (size_t i = 0; i < cfg->linux_.n_devices; i++) {
		_cleanup_free_ char *p =
		    path_clean(cfg->linux_.devices[i].path ? cfg->linux_.devices[i].path : "");
		if (strcmp(p, path) == 0)
			return true;
	}
	return false;
}

static int make_symlink(int root_fd, const char *target, const char *path, bool replace,
			struct hangar_error *err)
{
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int dir = open_parent_in_root(root_fd, path, true, &name, err);
	if (dir < 0)
		return -1;
	if (replace && unlinkat(dir, name, 0) < 0 && errno != ENOENT)
		return hangar_sys_error(err, "remove %s", path);
	if (symlinkat(target, dir, name) < 0 && errno != EEXIST)
		return hangar_sys_error(err, "symlink %s -> %s", path, target);
	return 0;
}

int rootfs_setup_dev(int root_fd, const struct oci_config *cfg, const struct rootfs_options *o,
		     struct hangar_error *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
		const struct oci_device *d = &default_devices[i];
		if (configured_device(cfg, d->path))
			continue;
		if (create_device(root_fd, d, o && o->userns, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < cfg->linux_.n_devices; i++)
		if (create_device(root_fd, &cfg->linux_.devices[i], o && o->userns, err) < 0)
			return -1;

	static const struct {
		const char *target, *path;
	} links[] = {
	    {"/proc/self/fd", "/dev/fd"},
	    {"/proc/self/fd/0", "/dev/stdin"},
	    {"/proc/self/fd/1", "/dev/stdout"},
	    {"/proc/self/fd/2", "/dev/stderr"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (make_symlink(root_fd, links[i].target, links[i].path, false, err) < 0)
			return -1;
	if (access("/proc/kcore", F_OK) == 0 &&
	    make_symlink(root_fd, "/proc/kcore", "/dev/core", false, err) < 0)
		return -1;
	/* The container must use the ptmx of its own devpts instance, never
	 * the host's: a ptmx node would open the host's pty namespace. */
	if (make_symlink(root_fd, "pts/ptmx", "/dev/ptmx", true, err) < 0)
		return -1;
	if (cfg->has_process && cfg->process.terminal) {
		/* An empty file for the runtime to bind the console pty onto. */
		if (mkfile_in_root(root_fd, "/dev/console", 0666, err) < 0)
			return -1;
	}
	return 0;
}
