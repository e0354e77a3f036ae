/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_ROOTFS_RESOLVE_H
#define HANGAR_ROOTFS_RESOLVE_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

/*
 * Path resolution confined to a root directory.  Everything is resolved by
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) against root_fd, so ".."
 * and absolute symlinks inside an image are clamped at the root and
 * /proc/self/... style magic links cannot be used to jump out of it.
 */

/* Returns an fd (O_CLOEXEC always added) or -1 with errno set. */
int open_in_root(int root_fd, const char *path, int flags, mode_t mode);
/* Like open_in_root with extra RESOLVE_* bits (RESOLVE_NO_SYMLINKS, ...). */
int open_in_root_resolve(int root_fd, const char *path, int flags, mode_t mode,
			 unsigned long long extra_resolve);

/* Create path and its missing parents as directories inside the root. */
int mkdir_p_in_root(int root_fd, const char *path, mode_t mode, struct hangar_error *err);
/* Create missing parents and an empty regular file (an existing file of any
 * type is left alone). */
int mkfile_in_root(int root_fd, const char *path, mode_t mode, struct hangar_error *err);

/* Open the parent directory of path inside the root (creating it when
 * create_parents) and return it as an O_PATH fd; *base gets a malloc'ed copy
 * of the last component.  Used for mknodat/symlinkat/unlinkat in the root. */
int open_parent_in_root(int root_fd, const char *path, bool create_parents, char **base,
			struct hangar_error *err);

/* Normalise an absolute-or-relative path lexically ("//a/./b/" -> "/a/b");
 * ".." is kept (the kernel clamps it at the root).  Returns a malloc'ed
 * string that always starts with '/'. */
char *path_clean(const char *path);

/* "/proc/self/fd/N" for mount(2) calls that must act on exactly the object
 * an fd refers to. */
#define FD_PATH_MAX 32
void fd_path(int fd, char buf[FD_PATH_MAX]);

#endif
