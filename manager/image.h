/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_MANAGER_IMAGE_H
#define HANGAR_MANAGER_IMAGE_H

/*
 * Images: read-only root trees under DATA/images/NAME/rootfs, used as the
 * overlayfs lower dir of instances (creating an instance copies nothing).
 * "default" is built on first use from the host's static busybox.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "manager/paths.h"

#define IMAGE_DEFAULT_NAME "default"

struct image_info {
	char *name;
	char *created; /* RFC 3339 */
	char *source;  /* "busybox", a tarball or directory path, "debootstrap SUITE" */
	uint64_t size; /* bytes in regular files (hard links once) */
	char **users;  /* instances using it (NULL-terminated) */
};

/* [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64. */
int image_store_validate_name(const char *name, struct hangar_error *err);
/* DATA/images/NAME/rootfs (malloc'ed; not checked). */
char *image_store_rootfs_path(const struct hangar_paths *p, const char *name);
/* Make sure the image exists: "default" is built when missing; any other
 * missing name is HANGAR_E_NOTFOUND "no such image: NAME". */
int image_store_ensure(const struct hangar_paths *p, const char *name, struct hangar_error *err);
/* Build the busybox image from busybox (NULL: $HANGAR_BUSYBOX or /bin/busybox)
 * into rootfs_dir, which must not exist.  Mirrors scripts/mkrootfs-busybox. */
int image_store_build_busybox(const char *busybox, const char *rootfs_dir, struct hangar_error *err);
/* Import a tarball (extracted by tar(1)) or copy a directory (owners,
 * modes, times, xattrs, hard links, device nodes preserved).  Rootless,
 * both run as root of a user namespace with the user's subordinate
 * ranges, so that image uid N becomes the host id mapped to N (the single
 * id without ranges: every file is then the user's); device nodes cannot
 * be made there and are skipped, said in a note (err, code HANGAR_OK). */
int image_store_import(const struct hangar_paths *p, const char *name, const char *source, struct hangar_error *err);
/* debootstrap SUITE (default IMAGE_DEBOOTSTRAP_DEFAULT_SUITE), minbase plus
 * systemd-sysv and dbus so that --init boots it, from the archive the host's
 * apt uses ($HANGAR_DEBOOTSTRAP_MIRROR overrides); HANGAR_E_UNSUPPORTED when
 * debootstrap is not installed. */
#define IMAGE_DEBOOTSTRAP_DEFAULT_SUITE "bookworm"
int image_store_debootstrap(const struct hangar_paths *p, const char *name, const char *suite, struct hangar_error *err);
/* Refused (HANGAR_E_STATE, naming the users) while an instance uses it. */
int image_store_remove(const struct hangar_paths *p, const char *name, struct hangar_error *err);
int image_store_list(const struct hangar_paths *p, struct image_info **out, size_t *n, struct hangar_error *err);
void image_store_infos_free(struct image_info *infos, size_t n);

/* Copy a directory tree preserving owners, modes, times, xattrs, hard
 * links and special files; dst must not exist. */
int image_store_copy_tree(const char *src, const char *dst, struct hangar_error *err);
struct image_copy_opts {
	bool skip_devices; /* count device nodes in n_skipped instead of making them */
	bool keep_owners;  /* chown to the source's owners (failures are errors as root) */
	size_t n_skipped;
};
int image_store_copy_tree_opts(const char *src, const char *dst, struct image_copy_opts *o,
			       struct hangar_error *err);
/* One regular file, with owner, mode, times and xattrs. */
int image_store_copy_file(const char *src, const char *dst, struct hangar_error *err);

#endif
