/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_STATE_H
#define HANGAR_STATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

/*
 * Per-container runtime state under <root>/<id>/:
 *   state.json   this struct
 *   config.json  the config the container was created with (bundle may change later)
 *   exec.fifo    present while the container is "created" (init blocks on it)
 *   lock         flock()ed by every command that changes the container
 */
enum container_status {
	STATUS_CREATING = 0,
	STATUS_CREATED,
	STATUS_RUNNING,
	STATUS_PAUSED,
	STATUS_STOPPED,
};

struct container_state {
	char *id;
	char *bundle;
	char *rootfs;
	pid_t pid;			/* host pid of the container init */
	unsigned long long pid_start;	/* /proc/PID/stat start time, guards against pid reuse */
	char *created;			/* RFC 3339 with nanoseconds */
	uid_t owner;
	char *cgroup;			/* cgroup_manager_serialize() string, may be NULL */
	bool systemd_cgroup;
	bool rootless;
	char *console_socket;		/* kept for restore */
	int exit_status;		/* -1 when unknown */
	/* derived, not stored */
	char *dir;
	enum container_status status;
};

const char *container_status_name(enum container_status s);

/* Rootless as runc understands it: not root, or uid 0 of a user namespace
 * that an unprivileged user made (podman's rootless namespace: $USER is not
 * "root").  The default root and the cgroup handling follow it. */
bool state_rootless(void);

/* Default --root: /run/hangar-oci as root, $XDG_RUNTIME_DIR/hangar-oci when rootless. */
char *state_default_root(const char *name);
/* The same root, checked for an unprivileged caller: $XDG_RUNTIME_DIR must be
 * ours and not writable by others; without it /tmp/NAME-UID is created 0700
 * and refused when it exists with another owner, as a symlink, or writable
 * by others.  Use this, not state_default_root, before acting on the root. */
int state_default_root_checked(const char *name, char **out, struct hangar_error *err);

/* PATH is ours alone: a directory, not a symlink, owned by the effective
 * uid, writable by nobody else.  WHAT names it in the error. */
int state_check_private_dir(const char *path, const char *what, struct hangar_error *err);
/* The same, after making PATH (one level, 0700) if it is missing; group and
 * other bits of a directory that passes are dropped. */
int state_make_private_dir(const char *path, const char *what, struct hangar_error *err);

/* Validate a container id (no '/', not "." or "..", printable, <= 1024). */
int state_validate_id(const char *id, struct hangar_error *err);

/* Create <root>/<id> exclusively; EEXIST => "container X already exists". */
int state_create_dir(const char *root, const char *id, char **dir_out, struct hangar_error *err);
int state_save(const struct container_state *st, struct hangar_error *err);
int state_load(const char *root, const char *id, struct container_state **out, struct hangar_error *err);
void state_free(struct container_state *st);
/* For display (state, list) when state_load failed: a container whose
 * create is still running (it holds the lock, state.json not written yet)
 * as status "creating" with its id and bundle; -1 otherwise. */
int state_load_creating(const char *root, const char *id, struct container_state **out);
/* Remove the state directory and everything in it. */
int state_remove(const char *dir, struct hangar_error *err);
/* Take the per-container lock (blocking); returns the fd to close. */
int state_lock(const char *dir, struct hangar_error *err);

/* Refresh st->status from the live process (pid + start time, zombie check,
 * exec.fifo presence, cgroup freezer). */
void state_refresh_status(struct container_state *st);
bool state_process_alive(const struct container_state *st);

/* runc-compatible JSON for `state`: ociVersion, id, pid, status, bundle,
 * rootfs, created, owner, annotations (from the stored config). */
char *state_to_oci_json(const struct container_state *st, bool pretty);

/* List container ids under root (sorted). */
int state_list_ids(const char *root, char ***ids_out, struct hangar_error *err);

/* Current time as RFC 3339 with nanoseconds, UTC. */
char *rfc3339_now(void);

#endif
