/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_CHECKPOINT_INSTANCE_H
#define HANGAR_CHECKPOINT_INSTANCE_H

/*
 * Checkpoint and restore of manager instances (`hangar checkpoint`,
 * `hangar restore`, and the two halves of `hangar migrate`).  The instance's
 * network namespace belongs to the manager (a veth on its bridge), so it is
 * dumped empty and re-attached, with the same address, when criu has made
 * the new namespaces and before any task runs.  The copy-on-write root stays
 * in the instance directory; the images go to DIR (default
 * DATA/instances/NAME/checkpoint).
 */

#include <stdbool.h>

#include "checkpoint/checkpoint.h"
#include "common/error.h"
#include "manager/paths.h"

struct instance_checkpoint_opts {
	const char *image_dir;	 /* NULL: the instance's checkpoint directory */
	bool leave_running;	 /* default: the instance stops after the dump */
	const char *criu;	 /* NULL: see criu_open */
	const char *page_server; /* "ADDRESS:PORT": memory goes to a criu page server */
	/* Return right after the dump instead of waiting for the monitor to
	 * clean up (migration overlaps that with the transfer; the caller
	 * calls instance_stop or instance_destroy later). */
	bool no_wait;
};

struct instance_restore_opts {
	const char *image_dir; /* NULL: the instance's checkpoint directory */
	const char *criu;
};

/* DATA/instances/NAME/checkpoint (malloc'ed). */
char *instance_checkpoint_dir(const struct hangar_paths *p, const char *name);

/* The instance must be running.  Without leave_running, the instance is
 * stopped afterwards (its monitor records the end and cleans up) and the
 * network address is kept for the restore. */
int instance_checkpoint(const struct hangar_paths *p, const char *name,
			const struct instance_checkpoint_opts *o, struct checkpoint_stats *stats,
			struct hangar_error *err);

/* Start the (stopped) instance from a checkpoint: a monitor as for `start`,
 * the container restored instead of created. */
int instance_restore(const struct hangar_paths *p, const char *name, const struct instance_restore_opts *o,
		     struct hangar_error *err);

#endif
