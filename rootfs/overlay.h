/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_ROOTFS_OVERLAY_H
#define HANGAR_ROOTFS_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/*
 * Copy-on-write instance roots: image layers as overlayfs lower directories
 * (lowerdirs[0] is the topmost), the instance's changes in upperdir.
 * upperdir and workdir are both NULL for a read-only overlay.  Uses
 * fsopen("overlay") + fsconfig where available (no option-string escaping,
 * and the kernel's own error text in the message), else mount(2) with an
 * escaped option string.  Inside a user namespace (Linux >= 5.11) the
 * "userxattr" option is added, as the kernel requires there.
 */
int overlay_mount(const char *const *lowerdirs, size_t n_lower, const char *upperdir, const char *workdir,
		  const char *target, struct hangar_error *err);
int overlay_umount(const char *target, struct hangar_error *err);

/* The mount(2) option string for the same mount: ',' ':' and '\' in paths
 * are backslash-escaped.  Returns a malloc'ed string. */
char *overlay_options_string(const char *const *lowerdirs, size_t n_lower, const char *upperdir,
			     const char *workdir, bool userxattr);

/* fuse-overlayfs (from PATH) for the same mount, for a user namespace
 * where the kernel refuses overlayfs; native_reason (why the kernel
 * refused) goes into the error.  Without fuse-overlayfs, or without a
 * /dev/fuse the caller may open, the error says "overlayfs in a user
 * namespace needs Linux >= 5.11, or install fuse-overlayfs". */
int overlay_fuse_mount(const char *const *lowerdirs, size_t n_lower, const char *upperdir,
		       const char *workdir, const char *target, const char *native_reason,
		       struct hangar_error *err);

/* Test-only: HANGAR_TEST_NO_NATIVE_OVERLAY=1 in the runtime's environment
 * makes the container's init skip the kernel's overlayfs inside a user
 * namespace, as if it had refused (to test the fuse-overlayfs fallback and
 * its error on kernels that allow the native mount). */
#define OVERLAY_TEST_NO_NATIVE_ENV "HANGAR_TEST_NO_NATIVE_OVERLAY"
bool overlay_native_forced_off(void);

/* Whether the calling process is in a user namespace other than the
 * initial one. */
bool in_nested_user_namespace(void);

#endif
