/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_CHECKPOINT_H
#define HANGAR_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

/* runc's checkpoint flags, as plain options. */
struct checkpoint_opts {
	const char *root; /* state root */
	const char *id;
	const char *criu;	 /* --criu PATH or NULL (see criu_open) */
	const char *image_path;	 /* created when missing */
	const char *work_path;	 /* logs; default: image_path */
	const char *parent_path; /* previous (pre-)dump, relative to image_path */
	bool leave_running;
	bool tcp_established;
	bool tcp_close; /* drop established connections (restored closed) */
	bool ext_unix_sk;
	bool shell_job;
	bool file_locks;
	bool pre_dump;
	bool lazy_pages;
	bool auto_dedup;
	const char *manage_cgroups_mode; /* soft|full|strict|ignore, NULL = soft */
	const char *empty_ns;		 /* criu namespace name ("net"), NULL = none */
	const char *page_server;	 /* "ADDRESS:PORT" or NULL */
	int status_fd;			 /* -1 = none */
	/* Leave the stopped container's state and cgroup for its owner to
	 * clean up (the instance manager's monitor reaps the init and does). */
	bool keep_container;
};

/* What criu reported about the dump (its --display-stats lines), for
 * downtime figures.  Zero when criu did not say. */
struct checkpoint_stats {
	uint64_t elapsed_ns;  /* the criu run, end to end */
	uint64_t freezing_us; /* time to freeze the tree */
	uint64_t frozen_us;   /* how long the tree stayed frozen */
	uint64_t memdump_us;
	uint64_t memwrite_us;
	uint64_t pages_written;
};

/* Dump a running (or paused) container into o->image_path.  Without
 * leave_running (and not a pre-dump) the container is gone afterwards, its
 * state removed as by `delete`.  On failure the container keeps running and
 * the image directory has no manifest. */
int container_checkpoint(const struct checkpoint_opts *o, struct checkpoint_stats *stats,
			 struct hangar_error *err);

/* As root: 0, *unprivileged false.  As a user: 0 with *unprivileged true
 * when criu can run with --unprivileged (criu >= 3.18 with the file
 * capabilities cap_checkpoint_restore and cap_sys_ptrace, Linux >= 5.9);
 * otherwise HANGAR_E_UNSUPPORTED "WHAT as a user needs A; B" naming each
 * missing piece.  criu_path as for criu_open. */
int checkpoint_rootless_probe(const char *what, const char *criu_path, bool *unprivileged,
			      struct hangar_error *err);

/* Parse criu's "Displaying dump stats" block out of a log.  Exposed for tests. */
void checkpoint_parse_stats(const char *log_text, struct checkpoint_stats *stats);

/* runc's --manage-cgroups-mode names -> criu's. NULL when unknown. */
const char *checkpoint_cgroup_mode(const char *name);
/* runc's --empty-ns names ("network") -> criu's ("net"). NULL when unknown. */
const char *checkpoint_empty_ns_name(const char *name);

#endif
