/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checkpoint/restore of manager instances on top of the OCI-level code. */
#include "checkpoint/instance_checkpoint.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint/checkpoint.h"
#include "checkpoint/criu.h"
#include "checkpoint/image.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "manager/instance.h"
#include "runtime/restore.h"

char *instance_checkpoint_dir(const struct hangar_paths *p, const char *name)
{
	return xasprintf("%s/%s/checkpoint", p->instances_dir, name);
}

/* The manager attaches a veth in a namespace the container made; criu
 * cannot dump a veth whose peer is outside, and the address comes back
 * with the attachment anyway.  "none" is a namespace of its own too, whose
 * only content (loopback, up) the attachment makes again: criu would spend
 * ~40 ms of the freeze dumping it and ~30 ms restoring it (ip and iptables
 * save/restore programs).  Only "host" is not the instance's. */
static bool netns_is_managed(const struct instance *inst)
{
	return inst->networks == NULL || strcmp(inst->networks[0], "host") != 0;
}

int instance_checkpoint(const struct hangar_paths *p, const char *name,
			const struct instance_checkpoint_opts *o, struct checkpoint_stats *stats,
			struct hangar_error *err)
{
	struct instance *inst = NULL;
	if (instance_load(p, name, &inst, err) < 0)
		return -1;
	int rc = -1;
	_cleanup_free_ char *dir = o->image_dir ? xstrdup(o->image_dir) : instance_checkpoint_dir(p, name);
	int lock = hangar_lock_instance(p, name, err);
	if (lock < 0)
		goto out;
	struct instance_runtime rt;
	if (instance_get_runtime(p, inst, &rt, err) < 0)
		goto unlock;
	if (rt.status != INSTANCE_RUNNING) {
		hangar_error_set(err, HANGAR_E_STATE, 0, "instance %s is %s, not running", name,
				 instance_status_name(rt.status));
		goto unlock;
	}
	/* A refusal (a user without what criu needs) must come before the
	 * previous checkpoint is removed. */
	bool unprivileged;
	if (checkpoint_rootless_probe("checkpoint", o->criu, &unprivileged, err) < 0) {
		hangar_error_prefix(err, "checkpoint %s", name);
		goto unlock;
	}
	bool keep_tcp = false;
	struct criu criu;
	struct hangar_error probe;
	if (criu_open(o->criu, &criu, &probe) == 0) {
		keep_tcp = criu_require_tcp_established(&criu, &probe) == 0;
		criu_close(&criu);
	}
	/* Images of an older checkpoint must not mix with this one. */
	if (o->image_dir == NULL && rm_rf(dir, err) < 0)
		goto unlock;
	struct checkpoint_opts co = {
	    .root = p->oci_root,
	    .id = instance_container_id(inst),
	    .criu = o->criu,
	    .image_path = dir,
	    .leave_running = o->leave_running,
	    .empty_ns = netns_is_managed(inst) ? "network" : NULL,
	    .page_server = o->page_server,
	    /* Established connections move only where criu can dump them;
	     * elsewhere they are closed (peers see a reset) rather than
	     * failing the dump. */
	    .tcp_established = keep_tcp,
	    .tcp_close = !keep_tcp,
	    .status_fd = -1,
	    .keep_container = true,
	};
	if (container_checkpoint(&co, stats, err) < 0) {
		hangar_error_prefix(err, "checkpoint %s", name);
		goto unlock;
	}
	rc = 0;
unlock:
	close(lock);
	if (rc == 0 && !o->leave_running && !o->no_wait) {
		/* criu killed the tree: the monitor records the end and
		 * cleans up; wait for it so the instance reads "stopped". */
		if (instance_stop(p, name, 0, err) < 0) {
			hangar_error_prefix(err, "checkpoint %s: dumped to %s, but stopping failed", name,
					    dir);
			rc = -1;
		}
	}
out:
	instance_free(inst);
	return rc;
}

struct restore_ctx {
	const char *image_dir;
	const char *criu;
};

static int restore_container(const struct instance_launch *l, struct container_created *out, void *data,
			     struct hangar_error *err)
{
	const struct restore_ctx *ctx = data;
	struct container_restore_opts ro = {
	    .root = l->oci_root,
	    .id = l->container_id,
	    .bundle = l->bundle,
	    .config = l->config,
	    .image_path = ctx->image_dir,
	    .criu = ctx->criu,
	    .want_tty_master = true,
	    .status_fd = -1,
	    .on_created = l->on_created,
	    .on_created_data = l->on_created_data,
	};
	return container_restore(&ro, out, NULL, err);
}

int instance_restore(const struct hangar_paths *p, const char *name, const struct instance_restore_opts *o,
		     struct hangar_error *err)
{
	if (instance_validate_name(name, err) < 0)
		return -1;
	_cleanup_free_ char *dir = o->image_dir ? xstrdup(o->image_dir) : instance_checkpoint_dir(p, name);
	struct checkpoint_manifest m;
	if (checkpoint_manifest_read(dir, &m, err) < 0)
		return hangar_error_prefix(err, "restore %s", name);
	checkpoint_manifest_clear(&m);
	/* A user without what criu needs is refused here, before
	 * instance_start makes the run directory, the monitor, a network
	 * helper or the overlay mount that a failed restore would leave. */
	bool unprivileged;
	if (checkpoint_rootless_probe("restore", o->criu, &unprivileged, err) < 0)
		return hangar_error_prefix(err, "restore %s", name);
	struct restore_ctx ctx = {.image_dir = dir, .criu = o->criu};
	/* Held: the monitor must not `start` a container that already runs.
	 * A console client later makes it try, which is harmless. */
	struct instance_start_opts so = {
	    .hold_until_console = true,
	    .create_container = restore_container,
	    .create_container_data = &ctx,
	};
	if (instance_start(p, name, &so, err) < 0)
		return hangar_error_prefix(err, "restore %s", name);
	return 0;
}
