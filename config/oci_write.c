/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Serialise an oci_config back to config.json.  Every field the parser
 * fills is written, so parse → write → parse gives an equal struct.  Key
 * order follows runc's output (the Go struct order of runtime-spec).
 */
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "config/oci_private.h"

static void add_string(struct json_object *obj, const char *key, const char *value)
{
	if (value)
		json_object_object_add(obj, key, json_object_new_string(value));
}

static void add_strv(struct json_object *obj, const char *key, char *const *v, size_t n)
{
	if (v == NULL)
		return;
	struct json_object *arr = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(v[i]));
	json_object_object_add(obj, key, arr);
}

static void add_uint64(struct json_object *obj, const char *key, uint64_t value)
{
	json_object_object_add(obj, key, json_object_new_uint64(value));
}

static void add_int64(struct json_object *obj, const char *key, int64_t value)
{
	json_object_object_add(obj, key, json_object_new_int64(value));
}

static void add_bool(struct json_object *obj, const char *key, bool value)
{
	json_object_object_add(obj, key, json_object_new_boolean(value));
}

static void add_string_map(struct json_object *obj, const char *key, const struct oci_kv *kv, size_t n)
{
	if (kv == NULL)
		return;
	struct json_object *map = json_object_new_object();
	for (size_t i = 0; i < n; i++)
		json_object_object_add(map, kv[i].key, json_object_new_string(kv[i].value));
	json_object_object_add(obj, key, map);
}

static void add_id_mappings(struct json_object *obj, const char *key, const struct oci_id_mapping *m,
			    size_t n)
{
	if (m == NULL)
		return;
	struct json_object *arr = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();
		add_uint64(e, "containerID", m[i].container_id);
		add_uint64(e, "hostID", m[i].host_id);
		add_uint64(e, "size", m[i].size);
		json_object_array_add(arr, e);
	}
	json_object_object_add(obj, key, arr);
}

/* ---- process ---- */

static struct json_object *user_to_json(const struct oci_user *u)
{
	struct json_object *user = json_object_new_object();
	add_uint64(user, "uid", u->uid);
	add_uint64(user, "gid", u->gid);
	if (u->has_umask)
		add_uint64(user, "umask", u->umask);
	if (u->additional_gids) {
		struct json_object *gids = json_object_new_array_ext((int)u->n_additional_gids);
		for (size_t i = 0; i < u->n_additional_gids; i++)
			json_object_array_add(gids, json_object_new_uint64(u->additional_gids[i]));
		json_object_object_add(user, "additionalGids", gids);
	}
	add_string(user, "username", u->username);
	return user;
}

static const char *ioprio_class_name(int class_)
{
	static const char *const names[] = {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (oci_ioprio_class_from_name(names[i]) == class_)
			return names[i];
	return NULL;
}

struct json_object *oci_process_to_json_object(const struct oci_process *p)
{
	struct json_object *proc = json_object_new_object();

	if (p->terminal)
		add_bool(proc, "terminal", true);
	if (p->has_console_size) {
		struct json_object *size = json_object_new_object();
		add_uint64(size, "height", p->console_height);
		add_uint64(size, "width", p->console_width);
		json_object_object_add(proc, "consoleSize", size);
	}
	json_object_object_add(proc, "user", user_to_json(&p->user));
	add_strv(proc, "args", p->args, p->n_args);
	add_string(proc, "commandLine", p->command_line);
	add_strv(proc, "env", p->env, p->n_env);
	add_string(proc, "cwd", p->cwd);
	if (p->caps.present) {
		const struct oci_capabilities *c = &p->caps;
		struct json_object *caps = json_object_new_object();
		add_strv(caps, "bounding", c->bounding, c->n_bounding);
		add_strv(caps, "effective", c->effective, c->n_effective);
		add_strv(caps, "inheritable", c->inheritable, c->n_inheritable);
		add_strv(caps, "permitted", c->permitted, c->n_permitted);
		add_strv(caps, "ambient", c->ambient, c->n_ambient);
		json_object_object_add(proc, "capabilities", caps);
	}
	if (p->rlimits) {
		struct json_object *arr = json_object_new_array_ext((int)p->n_rlimits);
		for (size_t i = 0; i < p->n_rlimits; i++) {
			struct json_object *rl = json_object_new_object();
			add_string(rl, "type", p->rlimits[i].type);
			add_uint64(rl, "hard", p->rlimits[i].hard);
			add_uint64(rl, "soft", p->rlimits[i].soft);
			json_object_array_add(arr, rl);
		}
		json_object_object_add(proc, "rlimits", arr);
	}
	if (p->no_new_privileges)
		add_bool(proc, "noNewPrivileges", true);
	add_string(proc, "apparmorProfile", p->apparmor_profile);
	if (p->has_oom_score_adj)
		add_int64(proc, "oomScoreAdj", p->oom_score_adj);
	add_string(proc, "selinuxLabel", p->selinux_label);
	if (p->io_priority.present) {
		struct json_object *io = json_object_new_object();
		add_string(io, "class", ioprio_class_name(p->io_priority.class_));
		add_int64(io, "priority", p->io_priority.priority);
		json_object_object_add(proc, "ioPriority", io);
	}
	if (p->scheduler.present) {
		const struct oci_scheduler *s = &p->scheduler;
		struct json_object *sched = json_object_new_object();
		add_string(sched, "policy", s->policy);
		add_int64(sched, "nice", s->nice);
		add_int64(sched, "priority", s->priority);
		add_strv(sched, "flags", s->flags, s->n_flags);
		add_uint64(sched, "runtime", s->runtime);
		add_uint64(sched, "deadline", s->deadline);
		add_uint64(sched, "period", s->period);
		json_object_object_add(proc, "scheduler", sched);
	}
	return proc;
}

/* ---- mounts, hooks ---- */

static struct json_object *mounts_to_json(const struct oci_mount *m, size_t n)
{
	struct json_object *arr = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *mnt = json_object_new_object();
		add_string(mnt, "destination", m[i].destination);
		add_string(mnt, "type", m[i].type);
		add_string(mnt, "source", m[i].source);
		add_strv(mnt, "options", m[i].options, m[i].n_options);
		add_id_mappings(mnt, "uidMappings", m[i].uid_mappings, m[i].n_uid_mappings);
		add_id_mappings(mnt, "gidMappings", m[i].gid_mappings, m[i].n_gid_mappings);
		json_object_array_add(arr, mnt);
	}
	return arr;
}

static void add_hook_list(struct json_object *hooks, const char *key, const struct oci_hook *h, size_t n)
{
	if (h == NULL)
		return;
	struct json_object *arr = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *hook = json_object_new_object();
		add_string(hook, "path", h[i].path);
		add_strv(hook, "args", h[i].args, h[i].n_args);
		add_strv(hook, "env", h[i].env, h[i].n_env);
		if (h[i].has_timeout)
			add_int64(hook, "timeout", h[i].timeout);
		json_object_array_add(arr, hook);
	}
	json_object_object_add(hooks, key, arr);
}

static struct json_object *hooks_to_json(const struct oci_hooks *h)
{
	if (!h->prestart && !h->create_runtime && !h->create_container && !h->start_container &&
	    !h->poststart && !h->poststop)
		return NULL;
	struct json_object *hooks = json_object_new_object();
	add_hook_list(hooks, "prestart", h->prestart, h->n_prestart);
	add_hook_list(hooks, "createRuntime", h->create_runtime, h->n_create_runtime);
	add_hook_list(hooks, "createContainer", h->create_container, h->n_create_container);
	add_hook_list(hooks, "startContainer", h->start_container, h->n_start_container);
	add_hook_list(hooks, "poststart", h->poststart, h->n_poststart);
	add_hook_list(hooks, "poststop", h->poststop, h->n_poststop);
	return hooks;
}

/* ---- linux.resources ---- */

static struct json_object *memory_to_json(const struct oci_memory *m)
{
	struct json_object *mem = json_object_new_object();
	if (m->has_limit)
		add_int64(mem, "limit", m->limit);
	if (m->has_reservation)
		add_int64(mem, "reservation", m->reservation);
	if (m->has_swap)
		add_int64(mem, "swap", m->swap);
	if (m->has_kernel)
		add_int64(mem, "kernel", m->kernel);
	if (m->has_kernel_tcp)
		add_int64(mem, "kernelTCP", m->kernel_tcp);
	if (m->has_swappiness)
		add_uint64(mem, "swappiness", m->swappiness);
	if (m->has_disable_oom_killer)
		add_bool(mem, "disableOOMKiller", m->disable_oom_killer);
	if (m->has_use_hierarchy)
		add_bool(mem, "useHierarchy", m->use_hierarchy);
	if (m->has_check_before_update)
		add_bool(mem, "checkBeforeUpdate", m->check_before_update);
	return mem;
}

static struct json_object *cpu_to_json(const struct oci_cpu *c)
{
	struct json_object *cpu = json_object_new_object();
	if (c->has_shares)
		add_uint64(cpu, "shares", c->shares);
	if (c->has_quota)
		add_int64(cpu, "quota", c->quota);
	if (c->has_burst)
		add_uint64(cpu, "burst", c->burst);
	if (c->has_period)
		add_uint64(cpu, "period", c->period);
	if (c->has_realtime_runtime)
		add_int64(cpu, "realtimeRuntime", c->realtime_runtime);
	if (c->has_realtime_period)
		add_uint64(cpu, "realtimePeriod", c->realtime_period);
	add_string(cpu, "cpus", c->cpus);
	add_string(cpu, "mems", c->mems);
	if (c->has_idle)
		add_int64(cpu, "idle", c->idle);
	return cpu;
}

static void add_throttle_list(struct json_object *obj, const char *key, const struct oci_throttle_device *t,
			      size_t n)
{
	if (t == NULL)
		return;
	struct json_object *arr = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *dev = json_object_new_object();
		add_int64(dev, "major", t[i].major);
		add_int64(dev, "minor", t[i].minor);
		add_uint64(dev, "rate", t[i].rate);
		json_object_array_add(arr, dev);
	}
	json_object_object_add(obj, key, arr);
}

static struct json_object *blkio_to_json(const struct oci_blkio *b)
{
	struct json_object *blkio = json_object_new_object();
	if (b->has_weight)
		add_uint64(blkio, "weight", b->weight);
	if (b->has_leaf_weight)
		add_uint64(blkio, "leafWeight", b->leaf_weight);
	if (b->weight_device) {
		struct json_object *arr = json_object_new_array_ext((int)b->n_weight_device);
		for (size_t i = 0; i < b->n_weight_device; i++) {
			const struct oci_weight_device *w = &b->weight_device[i];
			struct json_object *dev = json_object_new_object();
			add_int64(dev, "major", w->major);
			add_int64(dev, "minor", w->minor);
			if (w->has_weight)
				add_uint64(dev, "weight", w->weight);
			if (w->has_leaf_weight)
				add_uint64(dev, "leafWeight", w->leaf_weight);
			json_object_array_add(arr, dev);
		}
		json_object_object_add(blkio, "weightDevice", arr);
	}
	add_throttle_list(blkio, "throttleReadBpsDevice", b->throttle_read_bps, b->n_throttle_read_bps);
	add_throttle_list(blkio, "throttleWriteBpsDevice", b->throttle_write_bps, b->n_throttle_write_bps);
	add_throttle_list(blkio, "throttleReadIOPSDevice", b->throttle_read_iops, b->n_throttle_read_iops);
	add_throttle_list(blkio, "throttleWriteIOPSDevice", b->throttle_write_iops, b->n_throttle_write_iops);
	return blkio;
}

static struct json_object *device_cgroups_to_json(const struct oci_device_cgroup *d, size_t n)
{
	struct json_object *arr = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *dev = json_object_new_object();
		add_bool(dev, "allow", d[i].allow);
		if (d[i].type) {
			char type[2] = {d[i].type, '\0'};
			add_string(dev, "type", type);
		}
		if (d[i].has_major)
			add_int64(dev, "major", d[i].major);
		if (d[i].has_minor)
			add_int64(dev, "minor", d[i].minor);
		add_string(dev, "access", d[i].access);
		json_object_array_add(arr, dev);
	}
	return arr;
}

struct json_object *oci_resources_to_json_object(const struct oci_resources *r)
{
	struct json_object *res = json_object_new_object();

	if (r->devices)
		json_object_object_add(res, "devices", device_cgroups_to_json(r->devices, r->n_devices));
	if (r->memory.present)
		json_object_object_add(res, "memory", memory_to_json(&r->memory));
	if (r->cpu.present)
		json_object_object_add(res, "cpu", cpu_to_json(&r->cpu));
	if (r->has_pids_limit) {
		struct json_object *pids = json_object_new_object();
		add_int64(pids, "limit", r->pids_limit);
		json_object_object_add(res, "pids", pids);
	}
	if (r->blkio.present)
		json_object_object_add(res, "blockIO", blkio_to_json(&r->blkio));
	if (r->hugepage_limits) {
		struct json_object *arr = json_object_new_array_ext((int)r->n_hugepage_limits);
		for (size_t i = 0; i < r->n_hugepage_limits; i++) {
			struct json_object *h = json_object_new_object();
			add_string(h, "pageSize", r->hugepage_limits[i].page_size);
			add_uint64(h, "limit", r->hugepage_limits[i].limit);
			json_object_array_add(arr, h);
		}
		json_object_object_add(res, "hugepageLimits", arr);
	}
	if (r->has_network) {
		struct json_object *net = json_object_new_object();
		if (r->has_class_id)
			add_uint64(net, "classID", r->class_id);
		if (r->net_priorities) {
			struct json_object *arr = json_object_new_array_ext((int)r->n_net_priorities);
			for (size_t i = 0; i < r->n_net_priorities; i++) {
				struct json_object *p = json_object_new_object();
				add_string(p, "name", r->net_priorities[i].name);
				add_uint64(p, "priority", r->net_priorities[i].priority);
				json_object_array_add(arr, p);
			}
			json_object_object_add(net, "priorities", arr);
		}
		json_object_object_add(res, "network", net);
	}
	if (r->rdma) {
		struct json_object *rdma = json_object_new_object();
		for (size_t i = 0; i < r->n_rdma; i++) {
			struct json_object *dev = json_object_new_object();
			if (r->rdma[i].has_hca_handles)
				add_uint64(dev, "hcaHandles", r->rdma[i].hca_handles);
			if (r->rdma[i].has_hca_objects)
				add_uint64(dev, "hcaObjects", r->rdma[i].hca_objects);
			json_object_object_add(rdma, r->rdma[i].device, dev);
		}
		json_object_object_add(res, "rdma", rdma);
	}
	add_string_map(res, "unified", r->unified, r->n_unified);
	return res;
}

/* ---- linux ---- */

static struct json_object *seccomp_to_json(const struct oci_seccomp *s)
{
	struct json_object *sc = json_object_new_object();
	add_string(sc, "defaultAction", s->default_action);
	if (s->has_default_errno_ret)
		add_uint64(sc, "defaultErrnoRet", s->default_errno_ret);
	add_strv(sc, "architectures", s->architectures, s->n_architectures);
	add_strv(sc, "flags", s->flags, s->n_flags);
	add_string(sc, "listenerPath", s->listener_path);
	add_string(sc, "listenerMetadata", s->listener_metadata);
	if (s->syscalls) {
		struct json_object *arr = json_object_new_array_ext((int)s->n_syscalls);
		for (size_t i = 0; i < s->n_syscalls; i++) {
			const struct oci_seccomp_syscall *rule = &s->syscalls[i];
			struct json_object *o = json_object_new_object();
			add_strv(o, "names", rule->names, rule->n_names);
			add_string(o, "action", rule->action);
			if (rule->has_errno_ret)
				add_uint64(o, "errnoRet", rule->errno_ret);
			if (rule->args) {
				struct json_object *args = json_object_new_array_ext((int)rule->n_args);
				for (size_t j = 0; j < rule->n_args; j++) {
					struct json_object *a = json_object_new_object();
					add_uint64(a, "index", rule->args[j].index);
					add_uint64(a, "value", rule->args[j].value);
					add_uint64(a, "valueTwo", rule->args[j].value_two);
					add_string(a, "op", rule->args[j].op);
					json_object_array_add(args, a);
				}
				json_object_object_add(o, "args", args);
			}
			json_object_array_add(arr, o);
		}
		json_object_object_add(sc, "syscalls", arr);
	}
	return sc;
}

static struct json_object *time_offset_to_json(const struct oci_time_offset *o)
{
	struct json_object *t = json_object_new_object();
	add_int64(t, "secs", o->secs);
	add_uint64(t, "nanosecs", o->nanosecs);
	return t;
}

static struct json_object *devices_to_json(const struct oci_device *d, size_t n)
{
	struct json_object *arr = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *dev = json_object_new_object();
		char type[2] = {d[i].type, '\0'};
		add_string(dev, "path", d[i].path);
		add_string(dev, "type", type);
		/* A FIFO has no device number; write one only if the config gave it. */
		if (d[i].type != 'p' || d[i].major || d[i].minor) {
			add_int64(dev, "major", d[i].major);
			add_int64(dev, "minor", d[i].minor);
		}
		if (d[i].has_file_mode)
			add_uint64(dev, "fileMode", d[i].file_mode);
		if (d[i].has_uid)
			add_uint64(dev, "uid", d[i].uid);
		if (d[i].has_gid)
			add_uint64(dev, "gid", d[i].gid);
		json_object_array_add(arr, dev);
	}
	return arr;
}

struct json_object *oci_linux_to_json_object(const struct oci_linux *lx)
{
	struct json_object *obj = json_object_new_object();

	if (lx->namespaces) {
		struct json_object *arr = json_object_new_array_ext((int)lx->n_namespaces);
		for (size_t i = 0; i < lx->n_namespaces; i++) {
			struct json_object *ns = json_object_new_object();
			add_string(ns, "type", oci_ns_type_name(lx->namespaces[i].type));
			add_string(ns, "path", lx->namespaces[i].path);
			json_object_array_add(arr, ns);
		}
		json_object_object_add(obj, "namespaces", arr);
	}
	add_id_mappings(obj, "uidMappings", lx->uid_mappings, lx->n_uid_mappings);
	add_id_mappings(obj, "gidMappings", lx->gid_mappings, lx->n_gid_mappings);
	if (lx->time_offsets_monotonic.present || lx->time_offsets_boottime.present) {
		struct json_object *offsets = json_object_new_object();
		if (lx->time_offsets_monotonic.present)
			json_object_object_add(offsets, "monotonic",
					       time_offset_to_json(&lx->time_offsets_monotonic));
		if (lx->time_offsets_boottime.present)
			json_object_object_add(offsets, "boottime",
					       time_offset_to_json(&lx->time_offsets_boottime));
		json_object_object_add(obj, "timeOffsets", offsets);
	}
	if (lx->devices)
		json_object_object_add(obj, "devices", devices_to_json(lx->devices, lx->n_devices));
	add_string(obj, "cgroupsPath", lx->cgroups_path);
	if (lx->resources.present)
		json_object_object_add(obj, "resources", oci_resources_to_json_object(&lx->resources));
	add_string(obj, "rootfsPropagation", lx->rootfs_propagation);
	if (lx->seccomp.present)
		json_object_object_add(obj, "seccomp", seccomp_to_json(&lx->seccomp));
	add_string_map(obj, "sysctl", lx->sysctl, lx->n_sysctl);
	if (lx->has_masked_paths)
		add_strv(obj, "maskedPaths", lx->masked_paths, lx->n_masked_paths);
	if (lx->has_readonly_paths)
		add_strv(obj, "readonlyPaths", lx->readonly_paths, lx->n_readonly_paths);
	add_string(obj, "mountLabel", lx->mount_label);
	if (lx->intel_rdt.present) {
		struct json_object *rdt = json_object_new_object();
		add_string(rdt, "closID", lx->intel_rdt.clos_id);
		add_string(rdt, "l3CacheSchema", lx->intel_rdt.l3_cache_schema);
		add_string(rdt, "memBwSchema", lx->intel_rdt.mem_bw_schema);
		if (lx->intel_rdt.enable_cmt)
			add_bool(rdt, "enableCMT", true);
		if (lx->intel_rdt.enable_mbm)
			add_bool(rdt, "enableMBM", true);
		json_object_object_add(obj, "intelRdt", rdt);
	}
	if (lx->personality.present) {
		struct json_object *pers = json_object_new_object();
		add_string(pers, "domain", lx->personality.domain);
		add_strv(pers, "flags", lx->personality.flags, lx->personality.n_flags);
		json_object_object_add(obj, "personality", pers);
	}
	return obj;
}

/* Tabs like runc's `spec`; keep "/" unescaped so paths stay readable. */
static char *json_text_and_put(struct json_object *root)
{
	char *text = xstrdup(json_object_to_json_string_ext(
	    root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB | JSON_C_TO_STRING_SPACED |
		      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return text;
}

char *oci_process_to_json(const struct oci_process *p)
{
	return json_text_and_put(oci_process_to_json_object(p));
}

char *oci_resources_to_json(const struct oci_resources *r)
{
	return json_text_and_put(oci_resources_to_json_object(r));
}

char *oci_config_to_json(const struct oci_config *cfg)
{
	struct json_object *root = json_object_new_object();

	add_string(root, "ociVersion", cfg->oci_version);
	if (cfg->has_process)
		json_object_object_add(root, "process", oci_process_to_json_object(&cfg->process));
	if (cfg->has_root) {
		struct json_object *r = json_object_new_object();
		add_string(r, "path", cfg->root.path);
		if (cfg->root.readonly)
			add_bool(r, "readonly", true);
		json_object_object_add(root, "root", r);
	}
	add_string(root, "hostname", cfg->hostname);
	add_string(root, "domainname", cfg->domainname);
	if (cfg->mounts)
		json_object_object_add(root, "mounts", mounts_to_json(cfg->mounts, cfg->n_mounts));
	struct json_object *hooks = hooks_to_json(&cfg->hooks);
	if (hooks)
		json_object_object_add(root, "hooks", hooks);
	add_string_map(root, "annotations", cfg->annotations, cfg->n_annotations);
	if (cfg->has_linux)
		json_object_object_add(root, "linux", oci_linux_to_json_object(&cfg->linux_));

	return json_text_and_put(root);
}
