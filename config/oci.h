/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_OCI_H
#define HANGAR_OCI_H

/*
 * OCI runtime-spec 1.2 config.json as plain C structs.
 * Arrays are (pointer, count) pairs; optional scalars carry a has_ flag;
 * optional strings are NULL when absent.  Everything is owned by the struct
 * and released by oci_config_free().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct json_object;

/* The runtime-spec version hangar implements and writes into new configs. */
#define OCI_RUNTIME_SPEC_VERSION "1.2.0"

struct oci_rlimit {
	char *type; /* "RLIMIT_NOFILE" */
	int resource; /* resolved RLIMIT_* number */
	uint64_t hard, soft;
};

struct oci_user {
	uid_t uid;
	gid_t gid;
	bool has_umask;
	mode_t umask;
	gid_t *additional_gids;
	size_t n_additional_gids;
	char *username; /* windows only; ignored */
};

struct oci_capabilities {
	/* Capability names as given ("CAP_CHOWN"); validated by the parser. */
	char **bounding, **effective, **inheritable, **permitted, **ambient;
	size_t n_bounding, n_effective, n_inheritable, n_permitted, n_ambient;
	bool present; /* process.capabilities was given */
};

struct oci_io_priority {
	bool present;
	int class_; /* IOPRIO_CLASS_RT/BE/IDLE */
	int priority;
};

struct oci_scheduler {
	bool present;
	char *policy; /* SCHED_OTHER ... */
	int policy_num;
	int nice;
	int priority;
	char **flags;
	size_t n_flags;
	uint64_t runtime, deadline, period;
};

struct oci_process {
	bool terminal;
	bool has_console_size;
	unsigned console_height, console_width;
	struct oci_user user;
	char **args; /* NULL-terminated; n_args counts entries */
	size_t n_args;
	char *command_line; /* windows; ignored */
	char **env; /* NULL-terminated "K=V" */
	size_t n_env;
	char *cwd;
	struct oci_capabilities caps;
	struct oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *selinux_label;
	struct oci_io_priority io_priority;
	struct oci_scheduler scheduler;
	/* exec-only convenience: not part of config.json */
};

struct oci_root {
	char *path;
	bool readonly;
};

struct oci_mount {
	char *destination;
	char *type; /* may be NULL => bind when options say so */
	char *source;
	char **options;
	size_t n_options;
	/* idmapped mounts (spec 1.1) */
	struct oci_id_mapping *uid_mappings;
	size_t n_uid_mappings;
	struct oci_id_mapping *gid_mappings;
	size_t n_gid_mappings;
};

struct oci_hook {
	char *path;
	char **args; /* NULL-terminated, may be NULL */
	size_t n_args;
	char **env; /* NULL-terminated, may be NULL */
	size_t n_env;
	bool has_timeout;
	int timeout; /* seconds, > 0 */
};

struct oci_hooks {
	struct oci_hook *prestart, *create_runtime, *create_container, *start_container, *poststart,
		*poststop;
	size_t n_prestart, n_create_runtime, n_create_container, n_start_container, n_poststart,
		n_poststop;
};

enum oci_ns_type {
	OCI_NS_PID = 0,
	OCI_NS_NETWORK,
	OCI_NS_MOUNT,
	OCI_NS_IPC,
	OCI_NS_UTS,
	OCI_NS_USER,
	OCI_NS_CGROUP,
	OCI_NS_TIME,
	OCI_NS_COUNT
};

struct oci_namespace {
	enum oci_ns_type type;
	char *path; /* NULL => create new */
};

struct oci_id_mapping {
	uint32_t container_id, host_id, size;
};

struct oci_device {
	char *path;
	char type; /* 'c', 'b', 'u', 'p' */
	int64_t major, minor;
	bool has_file_mode;
	mode_t file_mode;
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;
};

/* ---- linux.resources ---- */

struct oci_device_cgroup {
	bool allow;
	char type; /* 'a', 'c', 'b'; 0 when absent (= all) */
	bool has_major, has_minor;
	int64_t major, minor;
	char *access; /* "rwm" subset, NULL = all */
};

struct oci_memory {
	bool present;
	bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp, has_swappiness;
	int64_t limit, reservation, swap, kernel, kernel_tcp;
	uint64_t swappiness;
	bool has_disable_oom_killer, disable_oom_killer;
	bool has_use_hierarchy, use_hierarchy;
	bool has_check_before_update, check_before_update;
};

struct oci_cpu {
	bool present;
	bool has_shares, has_quota, has_burst, has_period, has_realtime_runtime, has_realtime_period,
		has_idle;
	uint64_t shares;
	int64_t quota;
	uint64_t burst;
	uint64_t period;
	int64_t realtime_runtime;
	uint64_t realtime_period;
	int64_t idle;
	char *cpus, *mems;
};

struct oci_weight_device {
	int64_t major, minor;
	bool has_weight, has_leaf_weight;
	uint16_t weight, leaf_weight;
};

struct oci_throttle_device {
	int64_t major, minor;
	uint64_t rate;
};

struct oci_blkio {
	bool present;
	bool has_weight, has_leaf_weight;
	uint16_t weight, leaf_weight;
	struct oci_weight_device *weight_device;
	size_t n_weight_device;
	struct oci_throttle_device *throttle_read_bps, *throttle_write_bps, *throttle_read_iops,
		*throttle_write_iops;
	size_t n_throttle_read_bps, n_throttle_write_bps, n_throttle_read_iops, n_throttle_write_iops;
};

struct oci_hugepage_limit {
	char *page_size; /* "2MB" */
	uint64_t limit;
};

struct oci_net_priority {
	char *name;
	uint32_t priority;
};

struct oci_rdma {
	char *device;
	bool has_hca_handles, has_hca_objects;
	uint32_t hca_handles, hca_objects;
};

struct oci_kv {
	char *key, *value;
};

struct oci_resources {
	bool present;
	struct oci_device_cgroup *devices;
	size_t n_devices;
	struct oci_memory memory;
	struct oci_cpu cpu;
	bool has_pids_limit;
	int64_t pids_limit; /* <= 0 => unlimited ("max") */
	struct oci_blkio blkio;
	struct oci_hugepage_limit *hugepage_limits;
	size_t n_hugepage_limits;
	bool has_network;
	bool has_class_id;
	uint32_t class_id;
	struct oci_net_priority *net_priorities;
	size_t n_net_priorities;
	struct oci_rdma *rdma;
	size_t n_rdma;
	struct oci_kv *unified;
	size_t n_unified;
};

/* ---- linux.seccomp ---- */

struct oci_seccomp_arg {
	unsigned index;
	uint64_t value, value_two;
	char *op; /* SCMP_CMP_EQ ... */
	int op_num; /* resolved enum scmp_compare */
};

struct oci_seccomp_syscall {
	char **names;
	size_t n_names;
	char *action;
	uint32_t action_num; /* resolved SCMP_ACT_* (without errno) */
	bool has_errno_ret;
	uint32_t errno_ret;
	struct oci_seccomp_arg *args;
	size_t n_args;
};

struct oci_seccomp {
	bool present;
	char *default_action;
	uint32_t default_action_num;
	bool has_default_errno_ret;
	uint32_t default_errno_ret;
	char **architectures;
	size_t n_architectures;
	char **flags;
	size_t n_flags;
	char *listener_path;
	char *listener_metadata;
	struct oci_seccomp_syscall *syscalls;
	size_t n_syscalls;
};

struct oci_personality {
	bool present;
	char *domain; /* LINUX or LINUX32 */
	char **flags;
	size_t n_flags;
};

struct oci_time_offset {
	bool present;
	int64_t secs;
	uint32_t nanosecs;
};

struct oci_intel_rdt {
	bool present;
	char *clos_id, *l3_cache_schema, *mem_bw_schema;
	bool enable_cmt, enable_mbm;
};

struct oci_linux {
	struct oci_namespace *namespaces;
	size_t n_namespaces;
	struct oci_id_mapping *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct oci_time_offset time_offsets_monotonic, time_offsets_boottime;
	struct oci_device *devices;
	size_t n_devices;
	char *cgroups_path;
	struct oci_resources resources;
	char *rootfs_propagation;
	struct oci_seccomp seccomp;
	struct oci_kv *sysctl;
	size_t n_sysctl;
	char **masked_paths;
	size_t n_masked_paths;
	bool has_masked_paths;
	char **readonly_paths;
	size_t n_readonly_paths;
	bool has_readonly_paths;
	char *mount_label;
	struct oci_intel_rdt intel_rdt;
	struct oci_personality personality;
};

struct oci_config {
	char *oci_version;
	struct oci_process process;
	bool has_process;
	struct oci_root root;
	bool has_root;
	char *hostname;
	char *domainname;
	struct oci_mount *mounts;
	size_t n_mounts;
	struct oci_hooks hooks;
	struct oci_kv *annotations;
	size_t n_annotations;
	struct oci_linux linux_;
	bool has_linux;
};

/* Parse config.json text.  On error the message names the JSON path and the
 * reason, e.g. "linux.resources.memory.limit: expected integer". */
int oci_config_parse(const char *json_text, struct oci_config **out, struct hangar_error *err);
int oci_config_load(const char *path, struct oci_config **out, struct hangar_error *err);
void oci_config_free(struct oci_config *cfg);

/* Parse a process.json (as used by `exec --process`): the "process" object alone. */
int oci_process_parse(const char *json_text, struct oci_process *out, struct hangar_error *err);
void oci_process_clear(struct oci_process *p);

/* Parse a linux.resources object (as used by `update -r`). */
int oci_resources_parse(const char *json_text, struct oci_resources *out, struct hangar_error *err);
void oci_resources_clear(struct oci_resources *r);

/* Serialise back to JSON (for the manager that generates configs, and for
 * `spec`).  Returns a malloc'ed string (pretty-printed). */
char *oci_config_to_json(const struct oci_config *cfg);
/* One section alone, as read by oci_process_parse / oci_resources_parse. */
char *oci_process_to_json(const struct oci_process *p);
char *oci_resources_to_json(const struct oci_resources *r);

/* Deep equality; an absent array and an empty one differ (absent
 * maskedPaths means the runtime's defaults, empty means none). */
bool oci_config_equal(const struct oci_config *a, const struct oci_config *b);
bool oci_process_equal(const struct oci_process *a, const struct oci_process *b);
bool oci_resources_equal(const struct oci_resources *a, const struct oci_resources *b);

/* The default `spec` config (runc-compatible); rootless adds a user
 * namespace mapped to the calling user and drops network/cgroup bits that
 * need root. */
int oci_config_default(bool rootless, struct oci_config **out, struct hangar_error *err);

/* Spec names to kernel/library values, -1 when unknown (one table each,
 * shared by the parser, the writer and the runtime). */
int oci_rlimit_from_name(const char *name);		/* "RLIMIT_NOFILE" -> RLIMIT_NOFILE */
int oci_seccomp_action_from_name(const char *name, uint32_t *action); /* 0 or -1; ERRNO/TRACE data 0 */
int oci_seccomp_op_from_name(const char *name);		/* "SCMP_CMP_EQ" -> enum scmp_compare */
int oci_sched_policy_from_name(const char *name);	/* "SCHED_FIFO" -> SCHED_FIFO */
int oci_ioprio_class_from_name(const char *name);	/* "IOPRIO_CLASS_BE" -> 2 */

/* hugepageLimits[].pageSize becomes part of a cgroup file name
 * ("hugetlb.<size>.max"), so only runc's form [0-9]+(KB|MB|GB) is accepted:
 * anything else could name a path outside the cgroup ("../x"). */
bool oci_hugepage_size_valid(const char *size);

const char *oci_ns_type_name(enum oci_ns_type t); /* "pid", "network", ... */
int oci_ns_type_from_name(const char *name); /* -1 when unknown */

/* Lookups. */
const struct oci_namespace *oci_config_namespace(const struct oci_config *cfg, enum oci_ns_type t);
const char *oci_config_annotation(const struct oci_config *cfg, const char *key);

#endif
