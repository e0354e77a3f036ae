/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "rootfs/rootfs.h"

static int move_and_chroot(const char *rootfs, struct hangar_error *err)
{
	if (chdir(rootfs) < 0)
		return hangar_sys_error(err, "chdir %s", rootfs);
	if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
		return hangar_sys_error(err, "move root %s onto /", rootfs);
	if (chroot(".") < 0)
		return hangar_sys_error(err, "chroot %s", rootfs);
	if (chdir("/") < 0)
		return hangar_sys_error(err, "chdir / in the new root");
	return 0;
}

/*
 * pivot_root(".", ".") stacks the old root on top of the new one at the
 * same place, so no put_old directory has to exist in the image; the old
 * root is then the topmost mount on "." and a lazy unmount removes it.
 * It is made rslave first so the unmount cannot propagate to the host's
 * mounts when the old root is shared.
 */
int rootfs_pivot(const char *rootfs, const struct rootfs_options *o, struct hangar_error *err)
{
	if (o && o->no_pivot)
		return move_and_chroot(rootfs, err);

	_cleanup_close_ int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (old_root < 0)
		return hangar_sys_error(err, "open the old root");
	_cleanup_close_ int new_root = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (new_root < 0)
		return hangar_sys_error(err, "open root %s", rootfs);
	if (fchdir(new_root) < 0)
		return hangar_sys_error(err, "chdir %s", rootfs);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return hangar_sys_error(err, "pivot_root to %s", rootfs);
	if (fchdir(old_root) < 0)
		return hangar_sys_error(err, "chdir to the old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return hangar_sys_error(err, "make the old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		return hangar_sys_error(err, "detach the old root");
	if (chdir("/") < 0)
		return hangar_sys_error(err, "chdir / in the new root");
	return 0;
}
