/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_ROOTFS_H
#define HANGAR_ROOTFS_H

#include <stdbool.h>

#include "common/error.h"
#include "config/oci.h"

/*
 * The container's filesystem view, built by the container's init process in
 * its own mount namespace (and user namespace, when configured), in three
 * steps around the createContainer hooks:
 *
 *   rootfs_prepare()  -> createContainer hooks -> rootfs_pivot() -> rootfs_finalize()
 *
 * All three change only the caller's mount namespace, which must be the
 * container's own: on failure the half-built tree is left there and goes
 * away with the namespace when the init exits.  Relative bind-mount sources
 * are resolved against the caller's working directory (runc runs its init
 * in the bundle directory).
 */

struct rootfs_options {
	bool no_pivot; /* --no-pivot: MS_MOVE the root onto / and chroot instead of pivot_root */
	bool userns;   /* in a new user namespace: mknod is impossible, bind-mount device nodes from the host
			  instead */
};

/* Annotations for a copy-on-write root that the container's init mounts
 * itself, in its own mount and user namespaces (so an unprivileged user can
 * have one): overlayfs with LOWERDIR (absolute host paths, ':'-separated,
 * topmost first) and, unless read-only, UPPERDIR + WORKDIR, mounted at
 * root.path in place of the bind mount of step 1. */
#define ROOTFS_OVERLAY_LOWERDIR "run.hangar.rootfs.overlay.lowerdir"
#define ROOTFS_OVERLAY_UPPERDIR "run.hangar.rootfs.overlay.upperdir"
#define ROOTFS_OVERLAY_WORKDIR "run.hangar.rootfs.overlay.workdir"

/* Step 1: propagation of the mount tree, rootfs (absolute host path) bound
 * onto itself (or the overlay of the annotations above mounted there), every
 * cfg->mounts entry in order, /dev and its device nodes.
 * Every mount target is resolved inside rootfs, never through a symlink out
 * of it. */
int rootfs_prepare(const struct oci_config *cfg, const char *rootfs, const struct rootfs_options *o,
		   struct hangar_error *err);

/* Step 2: pivot_root into rootfs (or MS_MOVE + chroot for no_pivot), then
 * chdir("/"). */
int rootfs_pivot(const char *rootfs, const struct rootfs_options *o, struct hangar_error *err);

/* Step 3, after the pivot: linux.sysctl, linux.readonlyPaths,
 * linux.maskedPaths, root.readonly and the final rootfsPropagation. */
int rootfs_finalize(const struct oci_config *cfg, struct hangar_error *err);

/* Check linux.sysctl against the keys that a container's namespaces isolate
 * (the runc validator's rules).  Call it from the runtime before entering the
 * container's namespaces: a net.* key whose network namespace path is the
 * caller's own (the host's) is refused too. */
int rootfs_validate_sysctl(const struct oci_config *cfg, struct hangar_error *err);
/* The same rules without the host-namespace check, for use inside the
 * container (rootfs_prepare runs it so a bad key fails before mounting). */
int rootfs_check_sysctl_keys(const struct oci_config *cfg, struct hangar_error *err);

/* The device nodes every container gets (/dev/null, zero, full, random,
 * urandom, tty) unless linux.devices redefines the path.  The cgroup device
 * controller must allow them (rwm), as runc's default rules do; otherwise
 * the nodes exist but cannot be opened. */
const struct oci_device *rootfs_default_devices(size_t *n);

#endif
