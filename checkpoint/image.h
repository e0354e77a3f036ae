/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_CHECKPOINT_IMAGE_H
#define HANGAR_CHECKPOINT_IMAGE_H

/*
 * What hangar keeps next to criu's images so that a restore (maybe on
 * another host, under another id) can reconnect what criu treated as
 * external:
 *   IMAGE/hangar-checkpoint.json   this manifest
 *   IMAGE/config.json              the container's config at dump time
 *   IMAGE/descriptors.json         runc-compatible: where fds 0-2 pointed
 * The manifest is written last: an image directory without it is not a
 * complete checkpoint.
 */

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define CHECKPOINT_MANIFEST "hangar-checkpoint.json"
#define CHECKPOINT_CONFIG "config.json"
#define CHECKPOINT_DESCRIPTORS "descriptors.json"
/* criu's key for a network namespace the container joined (runc's name). */
#define CHECKPOINT_EXT_NETNS_KEY "extRootNetNS"

enum checkpoint_mount_kind {
	CHECKPOINT_MOUNT_BIND,	  /* a bind mount from the config: restored from the config's source */
	CHECKPOINT_MOUNT_CGROUP,  /* the container's own cgroup bound in: follows the new cgroup */
	CHECKPOINT_MOUNT_HOST,	  /* another part of a host filesystem (device node, ...) */
	CHECKPOINT_MOUNT_CONSOLE, /* the pty slave bound on /dev/console: the new pty at restore */
};

struct checkpoint_mount {
	enum checkpoint_mount_kind kind;
	char *mount_point; /* inside the container; also criu's key */
	char *root;	   /* the mount's root inside its filesystem */
	char *host_mount;  /* where that filesystem is mounted on the host */
};

enum checkpoint_fd_kind {
	CHECKPOINT_FD_INTERNAL, /* criu dumps and restores it itself */
	CHECKPOINT_FD_PIPE,	/* reconnected to the restorer's fd with the same number */
	CHECKPOINT_FD_FILE,	/* a host file outside the container's mounts: the same */
	CHECKPOINT_FD_TTY,	/* the console pty slave: a new pty at restore */
};

struct checkpoint_fd {
	enum checkpoint_fd_kind kind;
	char *path; /* readlink of /proc/PID/fd/N */
	char *key;  /* criu's external key ("pipe:[1]", "file[18:3]", "tty[88000:1f]") */
};

struct checkpoint_manifest {
	char *id;
	char *bundle;
	char *rootfs;
	char *cgroup_path; /* the container's cgroup ("/hangar/ID") */
	char *criu_version;
	char *created;
	bool terminal;
	bool external_netns;
	bool nftables_lock;
	bool tcp_established;
	bool tcp_close;
	bool ext_unix_sk;
	bool shell_job;
	bool file_locks;
	bool empty_netns; /* dumped with --empty-ns net: restore makes an empty one too */
	struct checkpoint_fd stdio[3];
	struct checkpoint_mount *mounts;
	size_t n_mounts;
};

int checkpoint_manifest_write(const char *image_dir, const struct checkpoint_manifest *m,
			      struct hangar_error *err);
/* A missing manifest is HANGAR_E_NOTFOUND "IMAGE is not a hangar checkpoint ...". */
int checkpoint_manifest_read(const char *image_dir, struct checkpoint_manifest *out,
			     struct hangar_error *err);
void checkpoint_manifest_clear(struct checkpoint_manifest *m);
void checkpoint_manifest_add_mount(struct checkpoint_manifest *m, enum checkpoint_mount_kind kind,
				   const char *mount_point, const char *root, const char *host_mount);
const char *checkpoint_mount_kind_name(enum checkpoint_mount_kind k);

/* "/hangar/a/x" with prefix "/hangar/a" replaced by "/hangar/b" -> "/hangar/b/x";
 * NULL when path is not under prefix. */
char *checkpoint_replace_prefix(const char *path, const char *old_prefix, const char *new_prefix);

#endif
