/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_ROOTFS_IMAGE_H
#define HANGAR_ROOTFS_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/*
 * Image store for the instance manager: an image is a directory tree
 * <store>/<name>/rootfs, used read-only as an overlay lower layer of
 * instance roots (overlay.h).  Imports are atomic: the tree is built in
 * <store>/.import-<name>-XXXXXX and renamed into place, so a failed or
 * interrupted import never leaves a half image under its name.  Removing an
 * image that instances still use is the caller's business to prevent.
 */

/* [A-Za-z0-9][A-Za-z0-9_.-]*, at most 128 characters. */
bool image_name_valid(const char *name);

/* Copy a directory tree (owners, modes, symlinks, device nodes). */
int image_import_dir(const char *store, const char *name, const char *src_dir, struct hangar_error *err);
/* Unpack a tarball (any compression tar(1) detects) with numeric owners and
 * permissions kept; tar's own complaint ends up in the error message. */
int image_import_tar(const char *store, const char *name, const char *tarball, struct hangar_error *err);
/* The built-in default: a static busybox (path, e.g. /bin/busybox), one
 * symlink per applet, a minimal /etc and the usual mount points. */
int image_import_busybox(const char *store, const char *name, const char *busybox, struct hangar_error *err);

int image_remove(const char *store, const char *name, struct hangar_error *err);
/* Sorted, NULL-terminated list of image names (free with strv_free). */
int image_list(const char *store, char ***names, struct hangar_error *err);
/* "<store>/<name>/rootfs" (malloc'ed); HANGAR_E_NOTFOUND when absent. */
int image_rootfs_path(const char *store, const char *name, char **path, struct hangar_error *err);

#endif
