/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Deep equality of parsed configs.  "Absent" and "empty" are different
 * (an absent maskedPaths means the runtime's defaults, an empty one means
 * none), so NULL-ness of arrays is compared too.  Used to check that
 * parse → to_json → parse is the identity, and by callers that need to know
 * whether a stored config changed.
 */
#include <string.h>

#include "config/oci_private.h"

static bool str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static bool strv_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb || (a == NULL) != (b == NULL))
		return false;
	for (size_t i = 0; i < na; i++)
		if (!str_eq(a[i], b[i]))
			return false;
	return true;
}

/* Arrays of structs: same presence, same length, elements equal by eq. */
#define ARRAY_EQ(a, na, b, nb, eq)                                                                           \
	({                                                                                                   \
		bool _same = (na) == (nb) && ((a) == NULL) == ((b) == NULL);                                 \
		for (size_t _i = 0; _same && _i < (na); _i++)                                                \
			_same = eq(&(a)[_i], &(b)[_i]);                                                      \
		_same;                                                                                       \
	})

static bool id_mapping_eq(const struct oci_id_mapping *a, const struct oci_id_mapping *b)
{
	return a->container_id == b->container_id && a->host_id == b->host_id && a->size == b->size;
}

static bool kv_eq(const struct oci_kv *a, const struct oci_kv *b)
{
	return str_eq(a->key, b->key) && str_eq(a->value, b->value);
}

static bool rlimit_eq(const struct oci_rlimit *a, const struct oci_rlimit *b)
{
	return str_eq(a->type, b->type) && a->resource == b->resource && a->hard == b->hard &&
	       a->soft == b->soft;
}

static bool caps_eq(const struct oci_capabilities *a, const struct oci_capabilities *b)
{
	return a->present == b->present && strv_eq(a->bounding, a->n_bounding, b->bounding, b->n_bounding) &&
	       strv_eq(a->effective, a->n_effective, b->effective, b->n_effective) &&
	       strv_eq(a->inheritable, a->n_inheritable, b->inheritable, b->n_inheritable) &&
	       strv_eq(a->permitted, a->n_permitted, b->permitted, b->n_permitted) &&
	       strv_eq(a->ambient, a->n_ambient, b->ambient, b->n_ambient);
}

static bool gid_eq(const gid_t *a, const gid_t *b)
{
	return *a == *b;
}

static bool user_eq(const struct oci_user *a, const struct oci_user *b)
{
	return a->uid == b->uid && a->gid == b->gid && a->has_umask == b->has_umask && a->umask == b->umask &&
	       ARRAY_EQ(a->additional_gids, a->n_additional_gids, b->additional_gids, b->n_additional_gids,
			gid_eq) &&
	       str_eq(a->username, b->username);
}

static bool scheduler_eq(const struct oci_scheduler *a, const struct oci_scheduler *b)
{
	return a->present == b->present && str_eq(a->policy, b->policy) && a->policy_num == b->policy_num &&
	       a->nice == b->nice && a->priority == b->priority &&
	       strv_eq(a->flags, a->n_flags, b->flags, b->n_flags) && a->runtime == b->runtime &&
	       a->deadline == b->deadline && a->period == b->period;
}

bool oci_process_equal(const struct oci_process *a, const struct oci_process *b)
{
	return a->terminal == b->terminal && a->has_console_size == b->has_console_size &&
	       a->console_height == b->console_height && a->console_width == b->console_width &&
	       user_eq(&a->user, &b->user) && strv_eq(a->args, a->n_args, b->args, b->n_args) &&
	       str_eq(a->command_line, b->command_line) && strv_eq(a->env, a->n_env, b->env, b->n_env) &&
	       str_eq(a->cwd, b->cwd) && caps_eq(&a->caps, &b->caps) &&
	       ARRAY_EQ(a->rlimits, a->n_rlimits, b->rlimits, b->n_rlimits, rlimit_eq) &&
	       a->no_new_privileges == b->no_new_privileges &&
	       str_eq(a->apparmor_profile, b->apparmor_profile) &&
	       a->has_oom_score_adj == b->has_oom_score_adj && a->oom_score_adj == b->oom_score_adj &&
	       str_eq(a->selinux_label, b->selinux_label) &&
	       a->io_priority.present == b->io_priority.present &&
	       a->io_priority.class_ == b->io_priority.class_ &&
	       a->io_priority.priority == b->io_priority.priority &&
	       scheduler_eq(&a->scheduler, &b->scheduler);
}

static bool mount_eq(const struct oci_mount *a, const struct oci_mount *b)
{
	return str_eq(a->destination, b->destination) && str_eq(a->type, b->type) &&
	       str_eq(a->source, b->source) && strv_eq(a->options, a->n_options, b->options, b->n_options) &&
	       ARRAY_EQ(a->uid_mappings, a->n_uid_mappings, b->uid_mappings, b->n_uid_mappings,
			id_mapping_eq) &&
	       ARRAY_EQ(a->gid_mappings, a->n_gid_mappings, b->gid_mappings, b->n_gid_mappings,
			id_mapping_eq);
}

static bool hook_eq(const struct oci_hook *a, const struct oci_hook *b)
{
	return str_eq(a->path, b->path) && strv_eq(a->args, a->n_args, b->args, b->n_args) &&
	       strv_eq(a->env, a->n_env, b->env, b->n_env) && a->has_timeout == b->has_timeout &&
	       a->timeout == b->timeout;
}

static bool hooks_eq(const struct oci_hooks *a, const struct oci_hooks *b)
{
	return ARRAY_EQ(a->prestart, a->n_prestart, b->prestart, b->n_prestart, hook_eq) &&
	       ARRAY_EQ(a->create_runtime, a->n_create_runtime, b->create_runtime, b->n_create_runtime,
			hook_eq) &&
	       ARRAY_EQ(a->create_container, a->n_create_container, b->create_container,
			b->n_create_container, hook_eq) &&
	       ARRAY_EQ(a->start_container, a->n_start_container, b->start_container, b->n_start_container,
			hook_eq) &&
	       ARRAY_EQ(a->poststart, a->n_poststart, b->poststart, b->n_poststart, hook_eq) &&
	       ARRAY_EQ(a->poststop, a->n_poststop, b->poststop, b->n_poststop, hook_eq);
}

/* ---- linux.resources ---- */

static bool device_cgroup_eq(const struct oci_device_cgroup *a, const struct oci_device_cgroup *b)
{
	return a->allow == b->allow && a->type == b->type && a->has_major == b->has_major &&
	       a->has_minor == b->has_minor && a->major == b->major && a->minor == b->minor &&
	       str_eq(a->access, b->access);
}

static bool memory_eq(const struct oci_memory *a, const struct oci_memory *b)
{
	return a->present == b->present && a->has_limit == b->has_limit &&
	       a->has_reservation == b->has_reservation && a->has_swap == b->has_swap &&
	       a->has_kernel == b->has_kernel && a->has_kernel_tcp == b->has_kernel_tcp &&
	       a->has_swappiness == b->has_swappiness && a->limit == b->limit &&
	       a->reservation == b->reservation && a->swap == b->swap && a->kernel == b->kernel &&
	       a->kernel_tcp == b->kernel_tcp && a->swappiness == b->swappiness &&
	       a->has_disable_oom_killer == b->has_disable_oom_killer &&
	       a->disable_oom_killer == b->disable_oom_killer &&
	       a->has_use_hierarchy == b->has_use_hierarchy && a->use_hierarchy == b->use_hierarchy &&
	       a->has_check_before_update == b->has_check_before_update &&
	       a->check_before_update == b->check_before_update;
}

static bool cpu_eq(const struct oci_cpu *a, const struct oci_cpu *b)
{
	return a->present == b->present && a->has_shares == b->has_shares && a->has_quota == b->has_quota &&
	       a->has_burst == b->has_burst && a->has_period == b->has_period &&
	       a->has_realtime_runtime == b->has_realtime_runtime &&
	       a->has_realtime_period == b->has_realtime_period && a->has_idle == b->has_idle &&
	       a->shares == b->shares && a->quota == b->quota && a->burst == b->burst &&
	       a->period == b->period && a->realtime_runtime == b->realtime_runtime &&
	       a->realtime_period == b->realtime_period && a->idle == b->idle && str_eq(a->cpus, b->cpus) &&
	       str_eq(a->mems, b->mems);
}

static bool weight_device_eq(const struct oci_weight_device *a, const struct oci_weight_device *b)
{
	return a->major == b->major && a->minor == b->minor && a->has_weight == b->has_weight &&
	       a->has_leaf_weight == b->has_leaf_weight && a->weight == b->weight &&
	       a->leaf_weight == b->leaf_weight;
}

static bool throttle_eq(const struct oci_throttle_device *a, const struct oci_throttle_device *b)
{
	return a->major == b->major && a->minor == b->minor && a->rate == b->rate;
}

static bool blkio_eq(const struct oci_blkio *a, const struct oci_blkio *b)
{
	return a->present == b->present && a->has_weight == b->has_weight &&
	       a->has_leaf_weight == b->has_leaf_weight && a->weight == b->weight &&
	       a->leaf_weight == b->leaf_weight &&
	       ARRAY_EQ(a->weight_device, a->n_weight_device, b->weight_device, b->n_weight_device,
			weight_device_eq) &&
	       ARRAY_EQ(a->throttle_read_bps, a->n_throttle_read_bps, b->throttle_read_bps,
			b->n_throttle_read_bps, throttle_eq) &&
	       ARRAY_EQ(a->throttle_write_bps, a->n_throttle_write_bps, b->throttle_write_bps,
			b->n_throttle_write_bps, throttle_eq) &&
	       ARRAY_EQ(a->throttle_read_iops, a->n_throttle_read_iops, b->throttle_read_iops,
			b->n_throttle_read_iops, throttle_eq) &&
	       ARRAY_EQ(a->throttle_write_iops, a->n_throttle_write_iops, b->throttle_write_iops,
			b->n_throttle_write_iops, throttle_eq);
}

static bool hugepage_eq(const struct oci_hugepage_limit *a, const struct oci_hugepage_limit *b)
{
	return str_eq(a->page_size, b->page_size) && a->limit == b->limit;
}

static bool net_priority_eq(const struct oci_net_priority *a, const struct oci_net_priority *b)
{
	return str_eq(a->name, b->name) && a->priority == b->priority;
}

static bool rdma_eq(const struct oci_rdma *a, const struct oci_rdma *b)
{
	return str_eq(a->device, b->device) && a->has_hca_handles == b->has_hca_handles &&
	       a->has_hca_objects == b->has_hca_objects && a->hca_handles == b->hca_handles &&
	       a->hca_objects == b->hca_objects;
}

bool oci_resources_equal(const struct oci_resources *a, const struct oci_resources *b)
{
	return a->present == b->present &&
	       ARRAY_EQ(a->devices, a->n_devices, b->devices, b->n_devices, device_cgroup_eq) &&
	       memory_eq(&a->memory, &b->memory) && cpu_eq(&a->cpu, &b->cpu) &&
	       a->has_pids_limit == b->has_pids_limit && a->pids_limit == b->pids_limit &&
	       blkio_eq(&a->blkio, &b->blkio) &&
	       ARRAY_EQ(a->hugepage_limits, a->n_hugepage_limits, b->hugepage_limits, b->n_hugepage_limits,
			hugepage_eq) &&
	       a->has_network == b->has_network && a->has_class_id == b->has_class_id &&
	       a->class_id == b->class_id &&
	       ARRAY_EQ(a->net_priorities, a->n_net_priorities, b->net_priorities, b->n_net_priorities,
			net_priority_eq) &&
	       ARRAY_EQ(a->rdma, a->n_rdma, b->rdma, b->n_rdma, rdma_eq) &&
	       ARRAY_EQ(a->unified, a->n_unified, b->unified, b->n_unified, kv_eq);
}

/* ---- linux ---- */

static bool namespace_eq(const struct oci_namespace *a, const struct oci_namespace *b)
{
	return a->type == b->type && str_eq(a->path, b->path);
}

static bool time_offset_eq(const struct oci_time_offset *a, const struct oci_time_offset *b)
{
	return a->present == b->present && a->secs == b->secs && a->nanosecs == b->nanosecs;
}

static bool device_eq(const struct oci_device *a, const struct oci_device *b)
{
	return str_eq(a->path, b->path) && a->type == b->type && a->major == b->major &&
	       a->minor == b->minor && a->has_file_mode == b->has_file_mode && a->file_mode == b->file_mode &&
	       a->has_uid == b->has_uid && a->has_gid == b->has_gid && a->uid == b->uid && a->gid == b->gid;
}

static bool seccomp_arg_eq(const struct oci_seccomp_arg *a, const struct oci_seccomp_arg *b)
{
	return a->index == b->index && a->value == b->value && a->value_two == b->value_two &&
	       str_eq(a->op, b->op) && a->op_num == b->op_num;
}

static bool seccomp_syscall_eq(const struct oci_seccomp_syscall *a, const struct oci_seccomp_syscall *b)
{
	return strv_eq(a->names, a->n_names, b->names, b->n_names) && str_eq(a->action, b->action) &&
	       a->action_num == b->action_num && a->has_errno_ret == b->has_errno_ret &&
	       a->errno_ret == b->errno_ret &&
	       ARRAY_EQ(a->args, a->n_args, b->args, b->n_args, seccomp_arg_eq);
}

static bool seccomp_eq(const struct oci_seccomp *a, const struct oci_seccomp *b)
{
	return a->present == b->present && str_eq(a->default_action, b->default_action) &&
	       a->default_action_num == b->default_action_num &&
	       a->has_default_errno_ret == b->has_default_errno_ret &&
	       a->default_errno_ret == b->default_errno_ret &&
	       strv_eq(a->architectures, a->n_architectures, b->architectures, b->n_architectures) &&
	       strv_eq(a->flags, a->n_flags, b->flags, b->n_flags) &&
	       str_eq(a->listener_path, b->listener_path) &&
	       str_eq(a->listener_metadata, b->listener_metadata) &&
	       ARRAY_EQ(a->syscalls, a->n_syscalls, b->syscalls, b->n_syscalls, seccomp_syscall_eq);
}

static bool linux_eq(const struct oci_linux *a, const struct oci_linux *b)
{
	return ARRAY_EQ(a->namespaces, a->n_namespaces, b->namespaces, b->n_namespaces, namespace_eq) &&
	       ARRAY_EQ(a->uid_mappings, a->n_uid_mappings, b->uid_mappings, b->n_uid_mappings,
			id_mapping_eq) &&
	       ARRAY_EQ(a->gid_mappings, a->n_gid_mappings, b->gid_mappings, b->n_gid_mappings,
			id_mapping_eq) &&
	       time_offset_eq(&a->time_offsets_monotonic, &b->time_offsets_monotonic) &&
	       time_offset_eq(&a->time_offsets_boottime, &b->time_offsets_boottime) &&
	       ARRAY_EQ(a->devices, a->n_devices, b->devices, b->n_devices, device_eq) &&
	       str_eq(a->cgroups_path, b->cgroups_path) &&
	       oci_resources_equal(&a->resources, &b->resources) &&
	       str_eq(a->rootfs_propagation, b->rootfs_propagation) && seccomp_eq(&a->seccomp, &b->seccomp) &&
	       ARRAY_EQ(a->sysctl, a->n_sysctl, b->sysctl, b->n_sysctl, kv_eq) &&
	       a->has_masked_paths == b->has_masked_paths &&
	       strv_eq(a->masked_paths, a->n_masked_paths, b->masked_paths, b->n_masked_paths) &&
	       a->has_readonly_paths == b->has_readonly_paths &&
	       strv_eq(a->readonly_paths, a->n_readonly_paths, b->readonly_paths, b->n_readonly_paths) &&
	       str_eq(a->mount_label, b->mount_label) && a->intel_rdt.present == b->intel_rdt.present &&
	       str_eq(a->intel_rdt.clos_id, b->intel_rdt.clos_id) &&
	       str_eq(a->intel_rdt.l3_cache_schema, b->intel_rdt.l3_cache_schema) &&
	       str_eq(a->intel_rdt.mem_bw_schema, b->intel_rdt.mem_bw_schema) &&
	       a->intel_rdt.enable_cmt == b->intel_rdt.enable_cmt &&
	       a->intel_rdt.enable_mbm == b->intel_rdt.enable_mbm &&
	       a->personality.present == b->personality.present &&
	       str_eq(a->personality.domain, b->personality.domain) &&
	       strv_eq(a->personality.flags, a->personality.n_flags, b->personality.flags,
		       b->personality.n_flags);
}

bool oci_config_equal(const struct oci_config *a, const struct oci_config *b)
{
	return str_eq(a->oci_version, b->oci_version) && a->has_process == b->has_process &&
	       oci_process_equal(&a->process, &b->process) && a->has_root == b->has_root &&
	       str_eq(a->root.path, b->root.path) && a->root.readonly == b->root.readonly &&
	       str_eq(a->hostname, b->hostname) && str_eq(a->domainname, b->domainname) &&
	       ARRAY_EQ(a->mounts, a->n_mounts, b->mounts, b->n_mounts, mount_eq) &&
	       hooks_eq(&a->hooks, &b->hooks) &&
	       ARRAY_EQ(a->annotations, a->n_annotations, b->annotations, b->n_annotations, kv_eq) &&
	       a->has_linux == b->has_linux && linux_eq(&a->linux_, &b->linux_);
}
