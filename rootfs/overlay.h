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

/* Whether the calling process is in a user namespace other than the
 * initial one. */
bool in_nested_user_namespace(void);

#endif
