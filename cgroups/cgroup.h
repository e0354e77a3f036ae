/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_CGROUP_H
#define HANGAR_CGROUP_H

/*
 * Container cgroup management.  One manager owns one container cgroup (the
 * "leaf"); the back-end (cgroup v2 or v1) is chosen by probing the host:
 *   unified  /sys/fs/cgroup is cgroup2                 -> v2 back-end
 *   hybrid   v1 controllers + cgroup2 at .../unified   -> v1 back-end
 *   legacy   v1 controllers only                       -> v1 back-end
 * HANGAR_CGROUP_ROOT overrides the mount root (tests).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "config/oci.h"

struct cgroup_manager;

struct cgroup_spec {
	/* linux.cgroupsPath: absolute ("/a/b"), relative ("a/b", under the
	 * default parent "hangar"), or systemd form "slice:prefix:name" mapped
	 * onto cgroupfs as slice/prefix-name.scope; NULL => "/hangar/<id>". */
	const char *path;
	const char *id;
	/* Rootless: v2 uses the delegated subtree we own (our own cgroup, if
	 * writable), otherwise limits are skipped with a warning; v1 skips. */
	bool rootless;
	/* --systemd-cgroup: where systemd is the init system, path must be
	 * "slice:prefix:name" (default system.slice:hangar:ID) and the scope
	 * is made through cgroupfs, as without the flag; elsewhere refused. */
	bool systemd;
	/* v1 hosts: also make and join the cgroup in the controller-less
	 * hierarchy a systemd init keeps its own tree in (a hybrid host's
	 * cgroup2 at unified/; name=systemd on a legacy host), so that in a
	 * cgroup namespace it finds a subtree of its own there, not the
	 * host's root.  Set from the CGROUP_ANNOTATION_SYSTEMD annotation.  No
	 * effect on v2, where the container's cgroup already is that subtree. */
	bool systemd_subtree;
};

/* Annotation ("true") asking for a systemd init's cgroup layout: the
 * subtree above, mounted writable in the container, as its whole
 * /sys/fs/cgroup on unified and hybrid hosts (rootfs/cgroupfs.c); writable
 * only where the init cannot raise its own limits through it. */
#define CGROUP_ANNOTATION_SYSTEMD "run.hangar.cgroup.systemd"
bool cgroup_config_wants_systemd(const struct oci_config *cfg);
/* The cgroupsPath the systemd driver uses for path (may be NULL): refused
 * where systemd is not the init system (sd_booted: /run/systemd/system) or
 * when path is not of the "slice:prefix:name" form. */
int cgroup_systemd_path(const char *path, const char *id, char **out, struct hangar_error *err);

enum cgroup_mode {
	CGROUP_MODE_UNIFIED,
	CGROUP_MODE_HYBRID,
	CGROUP_MODE_LEGACY,
};

/* Probe the host (or HANGAR_CGROUP_ROOT). */
int cgroup_detect_mode(enum cgroup_mode *mode, struct hangar_error *err);
const char *cgroup_mode_name(enum cgroup_mode mode);

int cgroup_manager_create(const struct cgroup_spec *spec, const struct oci_resources *r,
			  struct cgroup_manager **out, struct hangar_error *err);
/* Non-NULL when limits were skipped (rootless without a delegated cgroup). */
const char *cgroup_manager_warning(struct cgroup_manager *m);
/* "v1" or "v2". */
const char *cgroup_manager_version(struct cgroup_manager *m);
/* The cgroup path inside each hierarchy ("/hangar/ID"). */
const char *cgroup_manager_path(struct cgroup_manager *m);
/* v2: O_PATH|O_DIRECTORY fd of the leaf, for clone3 CLONE_INTO_CGROUP;
 * -1 on v1 or when there is no cgroup.  Owned by the manager. */
int cgroup_manager_dirfd(struct cgroup_manager *m);
int cgroup_manager_enter(struct cgroup_manager *m, pid_t pid, struct hangar_error *err);
/* For an exec into a running container: cgroup_manager_enter, and on v2,
 * when the container's cgroup refuses members because its init made it an
 * inner node (a systemd init: sub-cgroups with controllers, EBUSY), the
 * init's own cgroup below it instead, as runc does.  init_pid is the
 * container's init as the host sees it. */
int cgroup_manager_enter_for_exec(struct cgroup_manager *m, pid_t pid, pid_t init_pid,
				  struct hangar_error *err);
/* The fast way in for a process about to be forked: a thread that moves
 * only itself (v1: "0" written to each hierarchy's "tasks") skips the
 * kernel's global threadgroup lock, and with it the RCU grace period that
 * a write of a pid to cgroup.procs waits for (5-15 ms on a 2-CPU host,
 * most of a container start).  Before the fork, open the files (returns 1;
 * 0 when the back-end has no such way, e.g. v2, which has CLONE_INTO_CGROUP
 * instead: use cgroup_manager_enter then).  The child, still
 * single-threaded, calls cgroup_manager_self_enter before it runs anything
 * the cgroup should see; the parent calls cgroup_manager_self_enter_close
 * after the fork.  Both close the files. */
int cgroup_manager_self_enter_open(struct cgroup_manager *m, struct hangar_error *err);
int cgroup_manager_self_enter(struct cgroup_manager *m, struct hangar_error *err);
void cgroup_manager_self_enter_close(struct cgroup_manager *m);
/* Live update.  Lowering memory below usage reclaims first and refuses
 * (leaving the old limit) rather than OOM-killing. */
int cgroup_manager_update(struct cgroup_manager *m, const struct oci_resources *r, struct hangar_error *err);
int cgroup_manager_freeze(struct cgroup_manager *m, struct hangar_error *err);
int cgroup_manager_thaw(struct cgroup_manager *m, struct hangar_error *err);
int cgroup_manager_is_frozen(struct cgroup_manager *m, bool *frozen, struct hangar_error *err);
/* Signal every process in the cgroup (recursively). */
int cgroup_manager_kill_all(struct cgroup_manager *m, int sig, struct hangar_error *err);
/* Every pid in the cgroup and its descendants; *pids is malloc'ed. */
int cgroup_manager_pids(struct cgroup_manager *m, pid_t **pids, size_t *n, struct hangar_error *err);

#define CGROUP_STAT_UNLIMITED UINT64_MAX

struct cgroup_psi_line {
	double avg10, avg60, avg300;
	uint64_t total; /* microseconds */
};

struct cgroup_psi {
	bool present;
	bool has_full;
	struct cgroup_psi_line some, full;
};

struct cgroup_io_stat {
	uint32_t major, minor;
	uint64_t read_bytes, write_bytes, read_ops, write_ops;
};

struct cgroup_hugetlb_stat {
	char page_size[16]; /* "2MB" */
	uint64_t usage, max, failcnt;
};

struct cgroup_stat_kv {
	char *key;
	uint64_t value;
};

struct cgroup_stats {
	/* cpu, nanoseconds */
	uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns;
	uint64_t *cpu_percpu_ns, *cpu_percpu_user_ns, *cpu_percpu_system_ns; /* v1 only */
	size_t n_cpu_percpu, n_cpu_percpu_user, n_cpu_percpu_system;
	uint64_t cpu_nr_periods, cpu_nr_throttled, cpu_throttled_ns;
	/* memory, bytes; limits are CGROUP_STAT_UNLIMITED when unset */
	uint64_t mem_usage, mem_peak, mem_limit;
	uint64_t mem_cache, mem_anon;
	uint64_t mem_swap_usage, mem_swap_limit; /* runc semantics: memory+swap */
	uint64_t mem_failcnt;
	uint64_t mem_oom, mem_oom_kill;
	struct cgroup_stat_kv *mem_raw; /* memory.stat */
	size_t n_mem_raw;
	/* pids */
	uint64_t pids_current, pids_limit;
	/* io, per device */
	struct cgroup_io_stat *io;
	size_t n_io;
	struct cgroup_hugetlb_stat *hugetlb;
	size_t n_hugetlb;
	/* pressure stall information (v2) */
	struct cgroup_psi psi_cpu, psi_memory, psi_io;
};

int cgroup_manager_stats(struct cgroup_manager *m, struct cgroup_stats *st, struct hangar_error *err);
void cgroup_stats_clear(struct cgroup_stats *st);
/* The "data" object of runc `events --stats`, as a malloc'ed JSON string. */
char *cgroup_stats_to_runc_json(const struct cgroup_stats *st);

/* Kill everything, wait until empty, remove the leaf and the parents this
 * manager created (when empty). */
int cgroup_manager_destroy(struct cgroup_manager *m, struct hangar_error *err);
void cgroup_manager_free(struct cgroup_manager *m);
/* False for a rootless container that runs without a cgroup of its own. */
bool cgroup_manager_has_cgroup(const struct cgroup_manager *m);

/* Persist/reload for later CLI invocations (state.json stores the string). */
char *cgroup_manager_serialize(struct cgroup_manager *m);
int cgroup_manager_open(const char *serialized, struct cgroup_manager **out, struct hangar_error *err);

/* An fd that becomes readable on OOM events: v2 inotify on memory.events
 * (read and discard inotify records, then compare stats), v1 an eventfd
 * registered through cgroup.event_control + memory.oom_control (read 8
 * bytes = number of events).  Caller owns the fd. */
int cgroup_manager_oom_event_fd(struct cgroup_manager *m, struct hangar_error *err);

/* ---- conversions shared by the back-ends (exposed for unit tests) ---- */

/* runc: cpu.shares (2..262144) -> cpu.weight (1..10000); 0 => 0 (unset). */
uint64_t cgroup_cpu_shares_to_weight(uint64_t shares);
/* runc: blkio.weight (10..1000) -> io.weight (1..10000); 0 => 0 (unset). */
uint64_t cgroup_blkio_weight_to_io_weight(uint64_t weight);
/* runc: OCI memory.swap (memory+swap) -> memory.swap.max.  *out is -1 for
 * "max", 0 for unset, else bytes; *write_zero says memory.swap.max must be
 * written as 0 (swap == limit).  Fails for swap without limit or swap < limit. */
int cgroup_swap_to_v2(int64_t swap, int64_t limit, int64_t *out, bool *write_zero, struct hangar_error *err);
/* Resolve linux.cgroupsPath into a hierarchy-relative path starting with
 * "/": see struct cgroup_spec.  Rejects ".." components. */
int cgroup_resolve_path(const char *path, const char *id, char **out, struct hangar_error *err);
/* systemd slice name "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice". */
int cgroup_expand_slice(const char *slice, char **out, struct hangar_error *err);

#endif
