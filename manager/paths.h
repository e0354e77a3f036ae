/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_MANAGER_PATHS_H
#define HANGAR_MANAGER_PATHS_H

#include <stdbool.h>

#include "common/error.h"

/*
 * Where the instance manager keeps things.
 *
 *   DATA  /var/lib/hangar (root) or $XDG_DATA_HOME/hangar (rootless)
 *     .lock                      global lock: names, images, destroy
 *     images/NAME/{image.json,rootfs/}
 *     instances/NAME/{instance.json,config.json,status.json,upper/,work/,rootfs/,log}
 *     networks/                  netns/net.h state directory
 *   RUN   /run/hangar (root) or $XDG_RUNTIME_DIR/hangar (rootless; without
 *         it /tmp/hangar-run-UID); the rootless defaults must be ours alone
 *     oci/                       OCI runtime root (container id = instance name)
 *     instances/NAME.lock        per-instance lock: start, stop, set
 *     instances/NAME/{monitor.json,console.sock}
 *
 * HANGAR_ROOT / HANGAR_RUN (or explicit overrides) replace DATA / RUN.
 */
struct hangar_paths {
	bool rootless;
	char *data_dir;
	char *run_dir;
	char *oci_root;
	char *images_dir;
	char *instances_dir;
	char *network_dir;
	char *run_instances_dir;
	/* Instances' cgroups are /hangar/<cgroup_prefix><name>: prefix
	 * "hangar-" for the default data dir, "hangar-<hash of data dir>-"
	 * otherwise, so that two stores (tests with temporary roots) never
	 * share a cgroup, and no per-store parent is left behind. */
	char *cgroup_prefix;
};

/* Resolve and create the directories.  NULL overrides fall back to the
 * environment, then to the defaults above. */
int hangar_paths_init(struct hangar_paths *p, const char *data_override, const char *run_override,
		      struct hangar_error *err);
void hangar_paths_clear(struct hangar_paths *p);

/* Blocking exclusive flock; return the fd to close (O_CLOEXEC). */
int hangar_lock_global(const struct hangar_paths *p, struct hangar_error *err);
int hangar_lock_instance(const struct hangar_paths *p, const char *name, struct hangar_error *err);

#endif
