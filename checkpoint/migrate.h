/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_CHECKPOINT_MIGRATE_H
#define HANGAR_CHECKPOINT_MIGRATE_H

/*
 * Live migration of an instance to another state root on this machine
 * (local:DATA[:RUN]) or to another host running hangar over ssh
 * (ssh://[user@]host[:port][/DATA]); no daemon on either side: every step
 * on the target is one `hangar migrate --receive STEP NAME` whose stdin is
 * the stream for that step (after the freeze, one step for all the rest).
 *
 * Phases: prepare (instance definition) -> copy (the copy-on-write upper
 * layer, while the instance runs) -> dump (freeze + criu) -> delta (files
 * changed since the copy, deletions) -> images -> restore (on the target,
 * same address) -> verify -> cleanup (the source is destroyed only now).
 * Up to the dump a failure aborts the target and the source never stopped;
 * after it, the target is aborted and the source restored from its images.
 * The receivers of the downtime's steps are started before the freeze and
 * act only on complete input (see MIGRATE_PRUNE_END, MIGRATE_RESTORE_GO).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "manager/paths.h"

enum migrate_dest_kind {
	MIGRATE_DEST_LOCAL,
	MIGRATE_DEST_SSH,
};

struct migrate_dest {
	enum migrate_dest_kind kind;
	char *data_dir; /* local: required; ssh: optional remote --root */
	char *run_dir;	/* local: default DATA/run; ssh: remote --run when data_dir is given */
	char *user;	/* ssh, may be NULL */
	char *host;	/* ssh */
	int port;	/* ssh, 0 = default */
};

/* "local:/data[:/run]" or "ssh://[user@]host[:port][/data]". */
int migrate_parse_dest(const char *s, struct migrate_dest *out, struct hangar_error *err);
void migrate_dest_clear(struct migrate_dest *d);

typedef void (*migrate_progress_fn)(const char *phase, double seconds, uint64_t bytes, const char *note,
				    void *data);

struct migrate_opts {
	const struct migrate_dest *dest;
	const char *criu;	   /* NULL: see criu_open */
	const char *self_exe;	   /* hangar binary for local:, NULL = this program */
	const char *remote_hangar; /* ssh: the program on the other side, NULL = $HANGAR_REMOTE or "hangar" */
	const char *ssh;	   /* ssh command line (split on spaces), NULL = $HANGAR_SSH or "ssh" */
	migrate_progress_fn progress;
	void *progress_data;
};

#define MIGRATE_MAX_PHASES 10

struct migrate_report {
	struct {
		const char *name;
		uint64_t ns;
		uint64_t bytes;
	} phases[MIGRATE_MAX_PHASES];
	size_t n_phases;
	uint64_t bytes_sent;
	uint64_t total_ns;
	uint64_t downtime_ns; /* freeze (dump start) to running on the target */
	uint64_t frozen_us;   /* criu's frozen time during the dump */
	bool source_stopped;  /* the dump happened */
	bool source_restored; /* a failure after the dump: the source runs again */
};

/* Move a running instance.  On success it runs on the target and no longer
 * exists here.  On failure err says which phase failed and why, the target
 * has nothing of it, and the source runs (rep->source_restored says whether
 * that took a local restore). */
int instance_migrate(const struct hangar_paths *p, const char *name, const struct migrate_opts *o,
		     struct migrate_report *rep, struct hangar_error *err);

/* The steps of the downtime travel through one receiver, started before the
 * freeze: its input is segments, each a run of frames "<letter> <n>\n"
 * followed by n bytes and ended by an empty frame "<letter> 0\n": the
 * delta (a tar stream into the upper layer), the prune list, the images (a
 * tar stream; not on the same host) and last the restore frame, whose
 * bytes are the restore step's input. */
#define MIGRATE_FINISH_STEP "finish"
#define MIGRATE_FRAME_DELTA 'D'
#define MIGRATE_FRAME_PRUNE 'P'
#define MIGRATE_FRAME_IMAGES 'I'
#define MIGRATE_FRAME_RESTORE 'R'

/* The last entry of the prune step's NUL-separated list (no relative path
 * can be "/"): without it the list is incomplete and nothing is removed. */
#define MIGRATE_PRUNE_END "/"
/* The first line of the restore step's input (then, on the same host, the
 * image directory): without it the step restores nothing. */
#define MIGRATE_RESTORE_GO "restore"

/* The target side of one phase: step is prepare, rootfs (the live copy of
 * the upper layer), finish (everything after the freeze), status or abort; in_fd carries the phase's stream and
 * out_fd gets its (one-line) answer. */
int migrate_receive(const struct hangar_paths *p, const char *step, const char *name, int in_fd, int out_fd,
		    const char *criu, struct hangar_error *err);

#endif
