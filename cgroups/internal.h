/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_CGROUP_INTERNAL_H
#define HANGAR_CGROUP_INTERNAL_H

/* Shared between the cgroups sources only: the manager object and the back-end ops. */

#include <json-c/json.h>

#include "cgroups/cgroup.h"

struct cgroup_manager;

struct cgroup_ops {
	const char *name; /* "v1" / "v2" */
	/* Make the directories (m->path is set) and apply r (may be NULL). */
	int (*create)(struct cgroup_manager *m, const struct oci_resources *r, struct hangar_error *err);
	int (*update)(struct cgroup_manager *m, const struct oci_resources *r, struct hangar_error *err);
	int (*enter)(struct cgroup_manager *m, pid_t pid, struct hangar_error *err);
	/* Optional (see cgroup_manager_self_enter_open): open, use in the
	 * child, close in the parent. */
	int (*self_enter_open)(struct cgroup_manager *m, struct hangar_error *err);
	int (*self_enter)(struct cgroup_manager *m, struct hangar_error *err);
	void (*self_enter_close)(struct cgroup_manager *m);
	int (*set_frozen)(struct cgroup_manager *m, bool frozen, struct hangar_error *err);
	int (*is_frozen)(struct cgroup_manager *m, bool *frozen, struct hangar_error *err);
	int (*kill_all)(struct cgroup_manager *m, int sig, struct hangar_error *err);
	/* Directory whose cgroup.procs files (recursively) list the members. */
	const char *(*procs_dir)(struct cgroup_manager *m);
	int (*stats)(struct cgroup_manager *m, struct cgroup_stats *st, struct hangar_error *err);
	int (*destroy)(struct cgroup_manager *m, struct hangar_error *err);
	int (*oom_event_fd)(struct cgroup_manager *m, struct hangar_error *err);
	/* Back-end fields into/out of the serialized object. */
	void (*serialize)(struct cgroup_manager *m, json_object *obj);
	int (*deserialize)(struct cgroup_manager *m, json_object *obj, struct hangar_error *err);
	void (*free)(struct cgroup_manager *m);
};

/* The controllers of a hybrid host's cgroup2 (unified/) in the v1 list. */
#define CGROUP_V1_UNIFIED "unified"

/* One mounted v1 hierarchy (possibly several controllers, "cpu,cpuacct"). */
struct cgroup_v1_hierarchy {
	char *mount;	   /* /sys/fs/cgroup/cpu,cpuacct */
	char *controllers; /* "cpu,cpuacct"; "name=systemd"; CGROUP_V1_UNIFIED for cgroup2 */
	char *dir;	   /* mount + m->path, NULL when not created */
	int created_depth; /* path components of dir that this manager made */
};

struct cgroup_manager {
	const struct cgroup_ops *ops;
	enum cgroup_mode mode;
	char *root; /* mount root, /sys/fs/cgroup */
	char *path; /* "/hangar/ID", relative to each hierarchy */
	char *id;
	bool rootless;
	/* Rootless without a usable cgroup: no directory at all; limits are
	 * skipped and only warning explains why. */
	bool no_cgroup;
	bool skip_limits;
	char *warning;
	/* Levels destroy may rmdir (when empty) besides those it made: the
	 * whole path below the default parent "/hangar", which is ours, so that
	 * the last container out removes shared parents whoever made them. */
	int prune_depth;

	/* v2 */
	char *base; /* rootless: our delegated cgroup, the parent of path */
	char *dir;  /* root + path */
	int dirfd;  /* O_PATH|O_DIRECTORY */
	int created_depth;

	/* v1 */
	bool systemd_subtree; /* see struct cgroup_spec */
	struct cgroup_v1_hierarchy *hier;
	size_t n_hier;
	int *tasks_fds; /* per hierarchy "tasks" (-1: none); NULL unless opened */
};

extern const struct cgroup_ops cgroup_v1_ops;
extern const struct cgroup_ops cgroup_v2_ops;

/* ---- helpers (cgroups/fsutil.c) ---- */

const char *cgroup_root(void);
/* Read a file into a trimmed string. */
int cgroup_read(const char *dir, const char *file, char **out, struct hangar_error *err);
int cgroup_read_u64(const char *dir, const char *file, uint64_t *out, struct hangar_error *err);
/* Write s; on failure the message is "RESOURCE: write S to FILE: reason" (resource
 * may be NULL).  errno is preserved for callers that test EBUSY etc. */
int cgroup_write(const char *dir, const char *file, const char *s, const char *resource,
		 struct hangar_error *err);
bool cgroup_file_exists(const char *dir, const char *file);
/* Value from a "key value" per-line file (memory.stat, cpu.stat, ...). */
int cgroup_keyed_u64(const char *text, const char *key, uint64_t *out);
/* Parse a whole "key value" file into kv pairs. */
int cgroup_parse_keyed(const char *text, struct cgroup_stat_kv **kv, size_t *n);
/* Parse a PSI file ("some avg10=..."). */
int cgroup_parse_psi(const char *text, struct cgroup_psi *psi);
/* "max" -> CGROUP_STAT_UNLIMITED, else number. */
int cgroup_parse_limit(const char *s, uint64_t *out);

/* mkdir each missing component of base+path; *created gets how many trailing
 * components were made. */
int cgroup_mkdir_path(const char *base, const char *path, int *created, struct hangar_error *err);
/* rmdir dir and its sub-cgroups, then up to created_depth-1 parents while
 * they are empty; nothing when created_depth is 0 (dir existed before).
 * cgroup_destroy_depth is 0 only for such a pre-existing leaf outside the
 * default parent "/hangar". */
int cgroup_destroy_depth(const struct cgroup_manager *m, int created_depth);
int cgroup_rmdir_path(const char *dir, int created_depth, struct hangar_error *err);

/* The library is also called with resources that did not come through the
 * config parser (a caller's struct), and the page size is spliced into a
 * file name: refuse anything but [0-9]+(KB|MB|GB) here too, before any
 * directory is made or file written. */
int cgroup_check_hugepage_sizes(const struct oci_resources *r, struct hangar_error *err);

/* An existing cgroup that create is about to use (it did not make the leaf)
 * must hold no process, in it or below: otherwise a second container with
 * the same cgroupsPath would share it, and its delete (or a failed create's
 * cleanup) would SIGKILL the first's processes.  As runc's "container's
 * cgroup is not empty".  path is the name shown in the message. */
int cgroup_check_unused(const char *dir, const char *path, struct hangar_error *err);

/* Undo log of cgroup_write for update (cgroups/journal.c): between begin
 * and end, each write first records the file's previous contents; rollback
 * writes them back newest first (call it after end). */
struct cgroup_journal_entry;
struct cgroup_journal {
	struct cgroup_journal_entry *e;
	size_t n, cap;
};
void cgroup_journal_begin(struct cgroup_journal *j);
void cgroup_journal_end(void);
void cgroup_journal_record(const char *dir, const char *file, const char *value);
void cgroup_journal_rollback(struct cgroup_journal *j);
void cgroup_journal_free(struct cgroup_journal *j);

/* Append the pids of every cgroup.procs below dir (recursive). */
/* Each hugetlb.<size>.<usage_suffix> file in dir adds an entry to st->hugetlb
 * with its page size; fill reads the version's files for that size. */
typedef void (*cgroup_hugetlb_fill_fn)(const char *dir, const char *size, struct cgroup_hugetlb_stat *h);
void cgroup_stats_scan_hugetlb(const char *dir, const char *usage_suffix, cgroup_hugetlb_fill_fn fill,
			       struct cgroup_stats *st);

int cgroup_collect_pids(const char *dir, pid_t **pids, size_t *n, struct hangar_error *err);
/* Sleep with exponential backoff: 1 ms doubling up to 10 ms (the v1
 * freezer poll; runc's 100 ms steps make its freeze slow).  The step's
 * length alone is cgroup_backoff_ms, for the tests. */
unsigned cgroup_backoff_ms(unsigned step);
void cgroup_backoff_sleep(unsigned *step);

/* Freeze (when can_freeze), send sig to every member, thaw: a member
 * cannot fork a child we would miss.  Used by both back-ends. */
int cgroup_signal_all_frozen(struct cgroup_manager *m, int sig, bool can_freeze, struct hangar_error *err);

/* Device rules normalized to a default and exceptions (cgroups/devices_rules.c),
 * shared by the v1 files and the v2 BPF program.  Access bits equal the
 * kernel's BPF_DEVCG_ACC_* values. */
#define CGROUP_DEV_MKNOD 1u
#define CGROUP_DEV_READ 2u
#define CGROUP_DEV_WRITE 4u

struct cgroup_device_exception {
	char type;	      /* 'c' or 'b' */
	int64_t major, minor; /* -1 = any */
	unsigned access;      /* CGROUP_DEV_* */
};

struct cgroup_device_policy {
	bool default_allow;
	struct cgroup_device_exception *ex; /* all with action !default_allow */
	size_t n;
};

int cgroup_device_policy_build(const struct oci_device_cgroup *rules, size_t n,
			       struct cgroup_device_policy *out, struct hangar_error *err);
void cgroup_device_policy_clear(struct cgroup_device_policy *p);
/* v1 syntax: "c 1:3 rw", "b *:* m". */
char *cgroup_device_exception_string(const struct cgroup_device_exception *e);

/* v2 device filter (cgroups/devices_bpf.c): load a BPF_PROG_TYPE_CGROUP_DEVICE
 * program for the rules, attach it to the cgroup with BPF_F_ALLOW_MULTI and
 * detach the programs attached before it. */
int cgroup_bpf_devices_apply(const char *dir, const struct oci_device_cgroup *rules, size_t n,
			     struct hangar_error *err);

#endif
