/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pieces of rootfs/ shared between its files; not a public API. */
#ifndef HANGAR_ROOTFS_INTERNAL_H
#define HANGAR_ROOTFS_INTERNAL_H

#include <stdbool.h>

#include "common/error.h"
#include "config/oci.h"
#include "rootfs/mountopt.h"
#include "rootfs/rootfs.h"

/* Bind source (a host path, or relative to the cwd) onto the object target_fd
 * refers to. */
int bind_mount_onto_fd(const char *source, int target_fd, bool recursive, const char *what,
		       struct hangar_error *err);

/* Remount the bind mount whose root mnt_fd refers to with the MS_* flags in
 * set, keeping the flags the kernel locks in a user namespace (nosuid,
 * nodev, noexec, atime) unless cleared lists them. */
int remount_bind_fd(int mnt_fd, unsigned long set, unsigned long cleared, bool atime_given, const char *what,
		    struct hangar_error *err);

/* Apply the propagation changes and recursive mount_setattr attributes of
 * mo to the mount whose root mnt_fd refers to. */
int apply_propagation_and_attrs(int mnt_fd, const struct mount_options *mo, const char *what,
				struct hangar_error *err);

/* cgroup mounts: cgroup2 on a unified host, a tmpfs with one bind (or, with
 * a cgroup namespace, one fresh mount) per hierarchy on hybrid/legacy. */
int rootfs_mount_cgroup(int root_fd, const char *dest, const struct mount_options *mo,
			const struct oci_config *cfg, struct hangar_error *err);

/* /dev: device nodes, symlinks, ptmx, console. */
int rootfs_setup_dev(int root_fd, const struct oci_config *cfg, const struct rootfs_options *o,
		     struct hangar_error *err);

/* An fd of a fresh user namespace carrying the given id mappings (for
 * MOUNT_ATTR_IDMAP). */
int idmap_userns_open(const struct oci_id_mapping *uids, size_t n_uids, const struct oci_id_mapping *gids,
		      size_t n_gids, struct hangar_error *err);

/* Bind source onto target_fd through open_tree + MOUNT_ATTR_IDMAP +
 * move_mount. */
int bind_mount_idmapped(const char *source, int target_fd, bool recursive, int userns_fd, const char *what,
			struct hangar_error *err);

/* Copy the directory tree src_fd into dst_fd (tmpcopyup). */
int copy_tree(int src_fd, int dst_fd, const char *what, struct hangar_error *err);

/* Write linux.sysctl into /proc/sys (after the pivot). */
int rootfs_apply_sysctl(const struct oci_config *cfg, struct hangar_error *err);

#endif
