/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_ROOTFS_MOUNTINFO_H
#define HANGAR_ROOTFS_MOUNTINFO_H

#include <stddef.h>

#include "common/error.h"

/* One line of /proc/PID/mountinfo, with the octal escapes (\040) decoded. */
struct mountinfo_entry {
	int id, parent_id;
	unsigned major, minor;
	char *root; /* path of the mount's root inside its filesystem */
	char *mount_point;
	char *mount_options; /* per-mount: "rw,nosuid,relatime" */
	char *optional;	     /* "shared:1 master:2", "" when none */
	char *fstype;
	char *source;
	char *super_options; /* per-superblock: "rw,cpu" */
};

struct mountinfo {
	struct mountinfo_entry *entries;
	size_t n;
};

/* path: "/proc/self/mountinfo" or another process's. */
int mountinfo_read(const char *path, struct mountinfo *out, struct hangar_error *err);
int mountinfo_parse(const char *text, struct mountinfo *out, struct hangar_error *err);
void mountinfo_free(struct mountinfo *mi);

/* The entry whose mount point is path (the topmost one when stacked), or
 * NULL. */
const struct mountinfo_entry *mountinfo_find(const struct mountinfo *mi, const char *path);
/* The mount that contains path: the last-mounted entry whose mount point is
 * the longest prefix of path (path must be canonical). */
const struct mountinfo_entry *mountinfo_containing(const struct mountinfo *mi, const char *path);
/* Whether a comma-separated option list contains opt exactly. */
int mount_option_list_has(const char *list, const char *opt);

#endif
