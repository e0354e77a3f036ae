/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared between the manager's files; not part of its API. */
#ifndef HANGAR_MANAGER_INTERNAL_H
#define HANGAR_MANAGER_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "manager/instance.h"
#include "namespaces/namespaces.h"

/* Fill the derived path fields of inst from p, name and image. */
void instance_fill_paths(const struct hangar_paths *p, struct instance *inst);

/* DATA/instances/NAME/status.json: exit status of the last run. */
int instance_write_exit_status(const struct instance *inst, int exit_code, struct hangar_error *err);
int instance_read_exit_status(const struct instance *inst, int *exit_code, time_t *finished);

enum instance_init_kind {
	INSTANCE_INIT_NONE,    /* not --init: a command */
	INSTANCE_INIT_SYSTEMD, /* /sbin/init -> .../systemd */
	INSTANCE_INIT_BUSYBOX, /* /sbin/init -> .../busybox */
	INSTANCE_INIT_OTHER,   /* a plain file (sysvinit), missing, anything else */
};
/* By where the image's /sbin/init points (resolved inside the image). */
enum instance_init_kind instance_init_kind_of_root(const char *rootfs);
enum instance_init_kind instance_init_kind(const struct instance *inst);

/* The signal that asks the instance's init to shut down cleanly. */
int instance_stop_signal(const struct instance *inst);

/* What a systemd init needs in the config (instance_init.c): /run,
 * /run/lock and /tmp tmpfs, CGROUP_ANNOTATION_SYSTEMD.  The caller sets
 * container=hangar in the environment. */
void instance_config_add_systemd(struct oci_config *cfg);
/* A random machine id of the instance's own in UPPER/etc/machine-id, and
 * its hostname in UPPER/etc/hostname. */
int instance_write_systemd_identity(const struct instance *inst, struct hangar_error *err);

/* RUN/instances/NAME (monitor.json, console.sock). */
char *instance_run_dir(const struct hangar_paths *p, const char *name);

/* Rootless network helper of a run (pasta / slirp4netns): the monitor
 * starts it in its on_created callback for the init's namespace, records it
 * in RUN/instances/NAME/net-helper.json (pid + start time) and stops it when
 * the init is gone; instance_cleanup kills a recorded helper that is still
 * that process (after a crash of the monitor). */
int instance_net_helper_start(const struct hangar_paths *p, const struct instance *inst, pid_t init_pid,
			      pid_t *helper_pid, struct hangar_error *err);
/* Kill (SIGTERM, then SIGKILL) the recorded helper if it is still that
 * process; reaps it when it is our child; removes the record. */
void instance_net_helper_stop(const struct hangar_paths *p, const char *name);
bool instance_net_helper_recorded(const struct hangar_paths *p, const char *name);

/* Whether path is a mount point (its mount id differs from its parent's). */
bool path_is_mountpoint(const char *path);

/* Run fn(data) as root of a user namespace with the calling user's
 * mappings (subordinate ranges, else the user alone) when rootless;
 * directly as root.  *ranges (optional): whether the ranges were used. */
int hangar_in_userns(const struct hangar_paths *p, ns_userns_fn fn, void *data, bool *ranges,
		     struct hangar_error *err);
/* rm_rf, retried in that user namespace when rootless: files owned by
 * subordinate ids (an image's, an upper dir's) are not the user's to
 * remove on the host. */
int hangar_rm_rf(const struct hangar_paths *p, const char *path, struct hangar_error *err);

#endif
