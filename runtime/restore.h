/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_RUNTIME_RESTORE_H
#define HANGAR_RUNTIME_RESTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "config/oci.h"
#include "runtime/container.h"

struct container_restore_opts {
	const char *root;	   /* state root */
	const char *id;		   /* may differ from the checkpointed id */
	const char *bundle;	   /* absolute bundle dir: config.json and the rootfs */
	struct oci_config *config; /* optional preloaded config (owned by caller) */
	const char *image_path;
	const char *work_path; /* logs; default: image_path */
	const char *criu;      /* --criu PATH or NULL */
	const char *console_socket;
	const char *pid_file;
	bool want_tty_master; /* foreground restore proxies the new pty */
	bool tcp_established;
	bool tcp_close; /* restore established connections closed */
	bool ext_unix_sk;
	bool shell_job;
	bool file_locks;
	bool lazy_pages;
	bool auto_dedup;
	const char *manage_cgroups_mode; /* soft|full|strict|ignore, NULL = soft */
	const char *empty_ns;		 /* "network" or NULL */
	int status_fd;			 /* -1 = none */
	/* Called with the restored init's pid once criu has made its
	 * namespaces and before any task runs (criu's "setup-namespaces"):
	 * where the instance manager attaches networking, as at create. */
	container_created_cb on_created;
	void *on_created_data;
};

struct restore_stats {
	uint64_t elapsed_ns; /* the criu run, end to end */
};

/* Restore a checkpoint as container o->id: the runtime creates the state
 * directory and the cgroup with the config's limits, criu restores the
 * process tree into them (a new pid namespace when the container had one),
 * and state.json makes `state`, `kill` and `delete` work.  On failure
 * nothing is left: leftovers killed, cgroup and state directory removed. */
int container_restore(const struct container_restore_opts *o, struct container_created *out,
		      struct restore_stats *stats, struct hangar_error *err);

#endif
