/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_ROOTFS_MOUNTOPT_H
#define HANGAR_ROOTFS_MOUNTOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* An OCI mount's "options" array split into what each kernel interface
 * wants: mount(2) flags, propagation changes, mount_setattr(AT_RECURSIVE)
 * attributes and the filesystem data string. */
struct mount_options {
	unsigned long flags;   /* MS_* to set (no propagation bits) */
	unsigned long cleared; /* MS_* the options explicitly cleared ("rw", "suid", ...) */
	bool atime_given;      /* some atime option was given: do not inherit the old one */
	bool bind, recursive_bind;
	unsigned long propagation[4]; /* MS_SHARED/... (| MS_REC), applied in order */
	int n_propagation;
	uint64_t rec_attr_set, rec_attr_clr; /* MOUNT_ATTR_* for rro, rnosuid, ... */
	bool idmap, recursive_idmap;
	bool tmpcopyup;
	char *data; /* comma-joined filesystem options, NULL when none */
};

int mount_options_parse(char *const *options, size_t n_options, struct mount_options *out,
			struct hangar_error *err);
void mount_options_clear(struct mount_options *mo);

/* A single propagation word ("rslave", "private", ...) to MS_* flags;
 * returns 0 and fills *flags, or -1 when the word is not one. */
int mount_propagation_parse(const char *word, unsigned long *flags);

/* The statfs flags of the mount at fd, translated to MS_* flags
 * (ro/nosuid/nodev/noexec/atime bits): in a user namespace these are locked
 * on a bind of a more privileged mount and must be repeated on remount. */
int mount_flags_of_fd(int fd, unsigned long *ms_flags);

#define MS_PROPAGATION_MASK (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)
#define MS_ATIME_MASK (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)

#endif
