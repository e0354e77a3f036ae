/* SPDX-License-Identifier: GPL-2.0-or-later */
/* linux.resources: shared by config.json and `update -r resources.json`. */
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "config/oci_private.h"

/* Device numbers: -1 is the spec's wildcard ("*" in devices.allow). */
#define DEVNUM_MIN (-1)

static int parse_device_cgroup(struct json_path *jp, struct json_object *obj, void *dst)
{
	struct oci_device_cgroup *d = dst;
	_cleanup_free_ char *type = NULL;

	if (json_key_require(jp, obj, "allow") < 0 || json_key_bool(jp, obj, "allow", &d->allow) < 0)
		return -1;
	int r = json_key_string(jp, obj, "type", &type);
	if (r < 0)
		return -1;
	if (r > 0) {
		if (strcmp(type, "a") != 0 && strcmp(type, "b") != 0 && strcmp(type, "c") != 0) {
			json_path_push_key(jp, "type");
			return json_path_error(jp, "unknown device type \"%s\" (want a, b or c)", type);
		}
		d->type = type[0];
	}
	r = json_key_int64(jp, obj, "major", DEVNUM_MIN, INT64_MAX, &d->major);
	if (r < 0)
		return -1;
	d->has_major = r > 0;
	r = json_key_int64(jp, obj, "minor", DEVNUM_MIN, INT64_MAX, &d->minor);
	if (r < 0)
		return -1;
	d->has_minor = r > 0;
	if (json_key_string(jp, obj, "access", &d->access) < 0)
		return -1;
	if (d->access && (d->access[strspn(d->access, "rwm")] != '\0')) {
		json_path_push_key(jp, "access");
		return json_path_error(jp, "\"%s\" is not a subset of \"rwm\"", d->access);
	}
	return 0;
}

static int key_flag_int64(struct json_path *jp, struct json_object *obj, const char *key, int64_t min,
			  bool *has, int64_t *out)
{
	int r = json_key_int64(jp, obj, key, min, INT64_MAX, out);
	if (r > 0)
		*has = true;
	return r;
}

static int key_flag_uint64(struct json_path *jp, struct json_object *obj, const char *key, uint64_t max,
			   bool *has, uint64_t *out)
{
	int r = json_key_uint64(jp, obj, key, max, out);
	if (r > 0)
		*has = true;
	return r;
}

static int key_flag_bool(struct json_path *jp, struct json_object *obj, const char *key, bool *has, bool *out)
{
	int r = json_key_bool(jp, obj, key, out);
	if (r > 0)
		*has = true;
	return r;
}

static int key_flag_uint16(struct json_path *jp, struct json_object *obj, const char *key, bool *has,
			   uint16_t *out)
{
	uint64_t v;
	int r = json_key_uint64(jp, obj, key, UINT16_MAX, &v);
	if (r > 0) {
		*has = true;
		*out = (uint16_t)v;
	}
	return r;
}

static int parse_memory(struct json_path *jp, struct json_object *obj, struct oci_memory *m)
{
	struct json_object *mem;
	int r = json_key_get(jp, obj, "memory", json_type_object, &mem);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, "memory");
	m->present = true;
	/* -1 means unlimited; anything below is a mistake, not a bigger "unlimited". */
	if (key_flag_int64(jp, mem, "limit", -1, &m->has_limit, &m->limit) < 0 ||
	    key_flag_int64(jp, mem, "reservation", -1, &m->has_reservation, &m->reservation) < 0 ||
	    key_flag_int64(jp, mem, "swap", -1, &m->has_swap, &m->swap) < 0 ||
	    key_flag_int64(jp, mem, "kernel", -1, &m->has_kernel, &m->kernel) < 0 ||
	    key_flag_int64(jp, mem, "kernelTCP", -1, &m->has_kernel_tcp, &m->kernel_tcp) < 0 ||
	    key_flag_uint64(jp, mem, "swappiness", 100, &m->has_swappiness, &m->swappiness) < 0 ||
	    key_flag_bool(jp, mem, "disableOOMKiller", &m->has_disable_oom_killer, &m->disable_oom_killer) <
		0 ||
	    key_flag_bool(jp, mem, "useHierarchy", &m->has_use_hierarchy, &m->use_hierarchy) < 0 ||
	    key_flag_bool(jp, mem, "checkBeforeUpdate", &m->has_check_before_update,
			  &m->check_before_update) < 0)
		return -1;
	json_path_pop(jp, mark);
	return 0;
}

static int parse_cpu(struct json_path *jp, struct json_object *obj, struct oci_cpu *c)
{
	struct json_object *cpu;
	int r = json_key_get(jp, obj, "cpu", json_type_object, &cpu);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, "cpu");
	c->present = true;
	if (key_flag_uint64(jp, cpu, "shares", UINT64_MAX, &c->has_shares, &c->shares) < 0 ||
	    key_flag_int64(jp, cpu, "quota", -1, &c->has_quota, &c->quota) < 0 ||
	    key_flag_uint64(jp, cpu, "burst", UINT64_MAX, &c->has_burst, &c->burst) < 0 ||
	    key_flag_uint64(jp, cpu, "period", UINT64_MAX, &c->has_period, &c->period) < 0 ||
	    key_flag_int64(jp, cpu, "realtimeRuntime", INT64_MIN, &c->has_realtime_runtime,
			   &c->realtime_runtime) < 0 ||
	    key_flag_uint64(jp, cpu, "realtimePeriod", UINT64_MAX, &c->has_realtime_period,
			    &c->realtime_period) < 0 ||
	    json_key_string(jp, cpu, "cpus", &c->cpus) < 0 || json_key_string(jp, cpu, "mems", &c->mems) < 0)
		return -1;
	/* cpu.idle takes 0 (normal) or 1 (SCHED_IDLE group). */
	r = json_key_int64(jp, cpu, "idle", 0, 1, &c->idle);
	if (r < 0)
		return -1;
	c->has_idle = r > 0;
	json_path_pop(jp, mark);
	return 0;
}

static int parse_pids(struct json_path *jp, struct json_object *obj, struct oci_resources *r)
{
	struct json_object *pids;
	int found = json_key_get(jp, obj, "pids", json_type_object, &pids);
	if (found <= 0)
		return found;
	size_t mark = json_path_push_key(jp, "pids");
	if (json_key_require(jp, pids, "limit") < 0 ||
	    json_key_int64(jp, pids, "limit", INT64_MIN, INT64_MAX, &r->pids_limit) < 0)
		return -1;
	r->has_pids_limit = true;
	json_path_pop(jp, mark);
	return 0;
}

static int parse_weight_device(struct json_path *jp, struct json_object *obj, void *dst)
{
	struct oci_weight_device *w = dst;
	if (json_key_require(jp, obj, "major") < 0 || json_key_require(jp, obj, "minor") < 0 ||
	    json_key_int64(jp, obj, "major", 0, INT64_MAX, &w->major) < 0 ||
	    json_key_int64(jp, obj, "minor", 0, INT64_MAX, &w->minor) < 0 ||
	    key_flag_uint16(jp, obj, "weight", &w->has_weight, &w->weight) < 0 ||
	    key_flag_uint16(jp, obj, "leafWeight", &w->has_leaf_weight, &w->leaf_weight) < 0)
		return -1;
	return 0;
}

static int parse_throttle_device(struct json_path *jp, struct json_object *obj, void *dst)
{
	struct oci_throttle_device *t = dst;
	if (json_key_require(jp, obj, "major") < 0 || json_key_require(jp, obj, "minor") < 0 ||
	    json_key_require(jp, obj, "rate") < 0 ||
	    json_key_int64(jp, obj, "major", 0, INT64_MAX, &t->major) < 0 ||
	    json_key_int64(jp, obj, "minor", 0, INT64_MAX, &t->minor) < 0 ||
	    json_key_uint64(jp, obj, "rate", UINT64_MAX, &t->rate) < 0)
		return -1;
	return 0;
}

static int parse_throttle_list(struct json_path *jp, struct json_object *obj, const char *key,
			       struct oci_throttle_device **out, size_t *n)
{
	return json_key_object_array(jp, obj, key, sizeof(**out), parse_throttle_device, (void **)out, n);
}

static int parse_blkio(struct json_path *jp, struct json_object *obj, struct oci_blkio *b)
{
	struct json_object *blkio;
	int r = json_key_get(jp, obj, "blockIO", json_type_object, &blkio);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, "blockIO");
	b->present = true;
	if (key_flag_uint16(jp, blkio, "weight", &b->has_weight, &b->weight) < 0 ||
	    key_flag_uint16(jp, blkio, "leafWeight", &b->has_leaf_weight, &b->leaf_weight) < 0 ||
	    json_key_object_array(jp, blkio, "weightDevice", sizeof(struct oci_weight_device),
				  parse_weight_device, (void **)&b->weight_device, &b->n_weight_device) < 0 ||
	    parse_throttle_list(jp, blkio, "throttleReadBpsDevice", &b->throttle_read_bps,
				&b->n_throttle_read_bps) < 0 ||
	    parse_throttle_list(jp, blkio, "throttleWriteBpsDevice", &b->throttle_write_bps,
				&b->n_throttle_write_bps) < 0 ||
	    parse_throttle_list(jp, blkio, "throttleReadIOPSDevice", &b->throttle_read_iops,
				&b->n_throttle_read_iops) < 0 ||
	    parse_throttle_list(jp, blkio, "throttleWriteIOPSDevice", &b->throttle_write_iops,
				&b->n_throttle_write_iops) < 0)
		return -1;
	json_path_pop(jp, mark);
	return 0;
}

static int parse_hugepage_limit(struct json_path *jp, struct json_object *obj, void *dst)
{
	struct oci_hugepage_limit *h = dst;
	if (json_key_require(jp, obj, "pageSize") < 0 || json_key_require(jp, obj, "limit") < 0 ||
	    json_key_string(jp, obj, "pageSize", &h->page_size) < 0 ||
	    json_key_uint64(jp, obj, "limit", UINT64_MAX, &h->limit) < 0)
		return -1;
	if (!oci_hugepage_size_valid(h->page_size)) {
		size_t mark = json_path_push_key(jp, "pageSize");
		json_path_error(jp, "invalid page size \"%s\" (want digits and KB, MB or GB, e.g. 2MB)",
				h->page_size);
		json_path_pop(jp, mark);
		return -1;
	}
	return 0;
}

bool oci_hugepage_size_valid(const char *size)
{
	size_t digits = strspn(size, "0123456789");
	if (digits == 0)
		return false;
	const char *unit = size + digits;
	return strcmp(unit, "KB") == 0 || strcmp(unit, "MB") == 0 || strcmp(unit, "GB") == 0;
}

static int parse_net_priority(struct json_path *jp, struct json_object *obj, void *dst)
{
	struct oci_net_priority *p = dst;
	if (json_key_require(jp, obj, "name") < 0 || json_key_require(jp, obj, "priority") < 0 ||
	    json_key_string(jp, obj, "name", &p->name) < 0 ||
	    json_key_uint32(jp, obj, "priority", &p->priority) < 0)
		return -1;
	return 0;
}

static int parse_network(struct json_path *jp, struct json_object *obj, struct oci_resources *r)
{
	struct json_object *net;
	int found = json_key_get(jp, obj, "network", json_type_object, &net);
	if (found <= 0)
		return found;
	size_t mark = json_path_push_key(jp, "network");
	r->has_network = true;
	found = json_key_uint32(jp, net, "classID", &r->class_id);
	if (found < 0)
		return -1;
	r->has_class_id = found > 0;
	if (json_key_object_array(jp, net, "priorities", sizeof(struct oci_net_priority), parse_net_priority,
				  (void **)&r->net_priorities, &r->n_net_priorities) < 0)
		return -1;
	json_path_pop(jp, mark);
	return 0;
}

static int parse_rdma(struct json_path *jp, struct json_object *obj, struct oci_resources *r)
{
	struct json_object *rdma;
	int found = json_key_get(jp, obj, "rdma", json_type_object, &rdma);
	if (found <= 0)
		return found;
	size_t mark = json_path_push_key(jp, "rdma");
	size_t count = (size_t)json_object_object_length(rdma);
	r->rdma = xmalloc0((count ? count : 1) * sizeof(*r->rdma));
	json_object_object_foreach(rdma, device, limits)
	{
		struct oci_rdma *entry = &r->rdma[r->n_rdma++];
		size_t dev_mark = json_path_push_map_key(jp, device);
		entry->device = xstrdup(device);
		if (limits == NULL || !json_object_is_type(limits, json_type_object))
			return json_path_error(jp, "expected object");
		found = json_key_uint32(jp, limits, "hcaHandles", &entry->hca_handles);
		if (found < 0)
			return -1;
		entry->has_hca_handles = found > 0;
		found = json_key_uint32(jp, limits, "hcaObjects", &entry->hca_objects);
		if (found < 0)
			return -1;
		entry->has_hca_objects = found > 0;
		json_path_pop(jp, dev_mark);
	}
	json_path_pop(jp, mark);
	return 0;
}

int oci_parse_resources_object(struct json_path *jp, struct json_object *obj, struct oci_resources *r)
{
	r->present = true;
	if (json_key_object_array(jp, obj, "devices", sizeof(struct oci_device_cgroup), parse_device_cgroup,
				  (void **)&r->devices, &r->n_devices) < 0 ||
	    parse_memory(jp, obj, &r->memory) < 0 || parse_cpu(jp, obj, &r->cpu) < 0 ||
	    parse_pids(jp, obj, r) < 0 || parse_blkio(jp, obj, &r->blkio) < 0 ||
	    json_key_object_array(jp, obj, "hugepageLimits", sizeof(struct oci_hugepage_limit),
				  parse_hugepage_limit, (void **)&r->hugepage_limits,
				  &r->n_hugepage_limits) < 0 ||
	    parse_network(jp, obj, r) < 0 || parse_rdma(jp, obj, r) < 0 ||
	    json_key_string_map(jp, obj, "unified", &r->unified, &r->n_unified) < 0)
		return -1;
	return 0;
}
