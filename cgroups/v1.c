/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cgroup v1 back-end (legacy and hybrid hosts): one directory per mounted
 * hierarchy, all at the same path. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/util.h"

#define CGROUP_V1_WAIT_MS 10000
/* The kernel reclaims on every write that lowers memory.limit_in_bytes and
 * gives up with EBUSY; a few more attempts catch pages freed meanwhile. */
#define CGROUP_V1_LIMIT_RETRIES 5
/* v1's "unlimited" is PAGE_COUNTER_MAX pages; anything this large is it. */
#define CGROUP_V1_UNLIMITED_FLOOR 0x7FFFFFFFFFFFF000ULL

static const char *const v1_known_controllers[] = {"cpuset",   "cpu",	     "cpuacct", "memory",  "devices",
						   "freezer",  "blkio",	     "pids",	"hugetlb", "net_cls",
						   "net_prio", "perf_event", "rdma",	"misc"};

static bool list_has(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == wl && strncmp(p, word, wl) == 0)
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/* ---- discovery ---- */

static char *known_controllers_of(const char *super_opts)
{
	_cleanup_free_ char *out = xmalloc0(strlen(super_opts) + 1);
	for (size_t i = 0; i < ARRAY_SIZE(v1_known_controllers); i++)
		if (list_has(super_opts, v1_known_controllers[i])) {
			if (*out)
				strcat(out, ",");
			strcat(out, v1_known_controllers[i]);
		}
	return *out ? steal_pointer(&out) : NULL;
}

/* Every v1 hierarchy mounted directly below root, from mountinfo (which also
 * tells us which controllers share a mount: "cpu,cpuacct"). */
static int v1_discover(struct cgroup_manager *m, struct hangar_error *err)
{
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", &text, NULL, err) < 0)
		return -1;
	size_t root_len = strlen(m->root);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sep = strstr(line, " - ");
		if (sep == NULL)
			continue;
		char mount[4096], fstype[64], source[256], opts[1024];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mount) != 1 ||
		    sscanf(sep + 3, "%63s %255s %1023s", fstype, source, opts) != 3)
			continue;
		if (strncmp(mount, m->root, root_len) != 0 || mount[root_len] != '/' ||
		    strchr(mount + root_len + 1, '/'))
			continue;
		char *controllers = NULL;
		if (strcmp(fstype, "cgroup") == 0)
			controllers = known_controllers_of(opts);
		/* Controller-less hierarchies are only for a systemd init's
		 * own tree (see struct cgroup_spec): the hybrid host's cgroup2,
		 * which the init then sees as its whole /sys/fs/cgroup, or on
		 * a legacy host the name=systemd one. */
		if (controllers == NULL && m->systemd_subtree) {
			if (m->mode == CGROUP_MODE_LEGACY && strcmp(fstype, "cgroup") == 0 &&
			    list_has(opts, "name=systemd"))
				controllers = xstrdup("name=systemd");
			else if (m->mode == CGROUP_MODE_HYBRID && strcmp(fstype, "cgroup2") == 0 &&
				 strcmp(mount + root_len + 1, "unified") == 0)
				controllers = xstrdup(CGROUP_V1_UNIFIED);
		}
		if (controllers == NULL)
			continue;
		bool dup = false;
		for (size_t i = 0; i < m->n_hier; i++)
			dup |= strcmp(m->hier[i].controllers, controllers) == 0;
		if (dup) {
			free(controllers);
			continue;
		}
		struct cgroup_v1_hierarchy *grown = realloc(m->hier, (m->n_hier + 1) * sizeof(*grown));
		if (grown == NULL)
			abort();
		m->hier = grown;
		m->hier[m->n_hier++] =
		    (struct cgroup_v1_hierarchy){.mount = xstrdup(mount), .controllers = controllers};
	}
	if (m->n_hier == 0)
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"no cgroup v1 controllers mounted below %s", m->root);
	return 0;
}

static const char *v1_dir(struct cgroup_manager *m, const char *controller)
{
	for (size_t i = 0; i < m->n_hier; i++)
		if (list_has(m->hier[i].controllers, controller))
			return m->hier[i].dir;
	return NULL;
}

static int v1_need(struct cgroup_manager *m, const char *controller, const char *resource, const char **dir,
		   struct hangar_error *err)
{
	*dir = v1_dir(m, controller);
	if (*dir == NULL)
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"%s: cgroup v1 controller %s is not mounted", resource, controller);
	return 0;
}

/* ---- resources ---- */

static int v1_set_cpu(struct cgroup_manager *m, const struct oci_cpu *cpu, struct hangar_error *err)
{
	const char *dir;
	bool wants_cpu = (cpu->has_shares && cpu->shares) || (cpu->has_quota && cpu->quota) ||
			 (cpu->has_period && cpu->period) || cpu->has_burst || cpu->has_idle ||
			 (cpu->has_realtime_period && cpu->realtime_period) ||
			 (cpu->has_realtime_runtime && cpu->realtime_runtime);
	if (wants_cpu) {
		if (v1_need(m, "cpu", "linux.resources.cpu", &dir, err) < 0)
			return -1;
		if (cpu->has_shares && cpu->shares) {
			_cleanup_free_ char *v = xasprintf("%" PRIu64, cpu->shares);
			if (cgroup_write(dir, "cpu.shares", v, "linux.resources.cpu.shares", err) < 0)
				return -1;
		}
		/* The kernel validates period, quota and burst against each
		 * other's current values, so a failed write is retried once the
		 * others are in place (as runc does). */
		bool period_pending = false, burst_pending = false;
		_cleanup_free_ char *period = NULL, *burst = NULL;
		struct hangar_error ignored;
		if (cpu->has_period && cpu->period) {
			period = xasprintf("%" PRIu64, cpu->period);
			period_pending = cgroup_write(dir, "cpu.cfs_period_us", period, NULL, &ignored) < 0;
		}
		if (cpu->has_burst) {
			burst = xasprintf("%" PRIu64, cpu->burst);
			burst_pending = cgroup_write(dir, "cpu.cfs_burst_us", burst, NULL, &ignored) < 0;
		}
		if (cpu->has_quota && cpu->quota) {
			_cleanup_free_ char *v =
			    xasprintf("%" PRId64, cpu->quota < 0 ? (int64_t)-1 : cpu->quota);
			if (cgroup_write(dir, "cpu.cfs_quota_us", v, "linux.resources.cpu.quota", err) < 0)
				return -1;
		}
		if (period_pending &&
		    cgroup_write(dir, "cpu.cfs_period_us", period, "linux.resources.cpu.period", err) < 0)
			return -1;
		if (burst_pending &&
		    cgroup_write(dir, "cpu.cfs_burst_us", burst, "linux.resources.cpu.burst", err) < 0)
			return -1;
		if (cpu->has_realtime_period && cpu->realtime_period) {
			_cleanup_free_ char *v = xasprintf("%" PRIu64, cpu->realtime_period);
			if (cgroup_write(dir, "cpu.rt_period_us", v, "linux.resources.cpu.realtimePeriod",
					 err) < 0)
				return -1;
		}
		if (cpu->has_realtime_runtime && cpu->realtime_runtime) {
			_cleanup_free_ char *v = xasprintf("%" PRId64, cpu->realtime_runtime);
			if (cgroup_write(dir, "cpu.rt_runtime_us", v, "linux.resources.cpu.realtimeRuntime",
					 err) < 0)
				return -1;
		}
		if (cpu->has_idle) {
			_cleanup_free_ char *v = xasprintf("%" PRId64, cpu->idle);
			if (cgroup_write(dir, "cpu.idle", v, "linux.resources.cpu.idle", err) < 0)
				return -1;
		}
	}
	if ((cpu->cpus && *cpu->cpus) || (cpu->mems && *cpu->mems)) {
		if (v1_need(m, "cpuset", "linux.resources.cpu.cpus", &dir, err) < 0)
			return -1;
		if (cpu->cpus && *cpu->cpus &&
		    cgroup_write(dir, "cpuset.cpus", cpu->cpus, "linux.resources.cpu.cpus", err) < 0)
			return -1;
		if (cpu->mems && *cpu->mems &&
		    cgroup_write(dir, "cpuset.mems", cpu->mems, "linux.resources.cpu.mems", err) < 0)
			return -1;
	}
	return 0;
}

static int v1_write_limit(const char *dir, const char *file, int64_t value, const char *resource,
			  struct hangar_error *err)
{
	_cleanup_free_ char *v = xasprintf("%" PRId64, value < 0 ? (int64_t)-1 : value);
	for (int attempt = 0;; attempt++) {
		if (cgroup_write(dir, file, v, resource, err) == 0)
			return 0;
		if (errno != EBUSY)
			return -1;
		if (attempt + 1 >= CGROUP_V1_LIMIT_RETRIES)
			break;
	}
	/* The kernel could not reclaim enough: the old limit is still in
	 * place.  Say how far off the request is. */
	uint64_t usage = 0, peak = 0;
	struct hangar_error ignored;
	const char *usage_file =
	    str_has_prefix(file, "memory.memsw") ? "memory.memsw.usage_in_bytes" : "memory.usage_in_bytes";
	const char *peak_file = str_has_prefix(file, "memory.memsw") ? "memory.memsw.max_usage_in_bytes"
								     : "memory.max_usage_in_bytes";
	cgroup_read_u64(dir, usage_file, &usage, &ignored);
	cgroup_read_u64(dir, peak_file, &peak, &ignored);
	return hangar_error_set(err, HANGAR_E_STATE, EBUSY,
				"%s: write %s to %s: memory limit %" PRId64 " is below current usage %" PRIu64
				" (peak %" PRIu64 ") and the kernel could not reclaim enough",
				resource, v, file, value, usage, peak);
}

static int v1_set_memory(struct cgroup_manager *m, const struct oci_memory *mem, bool update,
			 struct hangar_error *err)
{
	if (!mem->present)
		return 0;
	bool any = (mem->has_limit && mem->limit) || (mem->has_swap && mem->swap) ||
		   (mem->has_reservation && mem->reservation) || mem->has_swappiness ||
		   (mem->has_disable_oom_killer && mem->disable_oom_killer);
	if (!any)
		return 0;
	const char *dir;
	if (v1_need(m, "memory", "linux.resources.memory", &dir, err) < 0)
		return -1;
	int64_t limit = mem->has_limit ? mem->limit : 0, swap = mem->has_swap ? mem->swap : 0;
	bool has_memsw = cgroup_file_exists(dir, "memory.memsw.limit_in_bytes");
	/* Unlimited memory with unset swap means unlimited memory+swap. */
	if (limit == -1 && swap == 0 && has_memsw)
		swap = -1;
	if (swap != 0 && !has_memsw)
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"linux.resources.memory.swap: swap accounting is disabled (no "
					"memory.memsw.limit_in_bytes)");
	if (swap > 0 && limit > 0 && swap < limit)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"linux.resources.memory.swap: memory+swap limit %" PRId64
					" should be >= memory limit %" PRId64,
					swap, limit);
	if (update && limit > 0 && mem->has_check_before_update && mem->check_before_update) {
		/* runc: refuse on usage alone, without letting the kernel reclaim. */
		uint64_t usage = 0;
		if (cgroup_read_u64(dir, "memory.usage_in_bytes", &usage, err) < 0)
			return -1;
		if (usage > (uint64_t)limit)
			return hangar_error_set(
			    err, HANGAR_E_STATE, EBUSY,
			    "linux.resources.memory.checkBeforeUpdate: memory limit %" PRId64
			    " is below current usage %" PRIu64 "; memory.limit_in_bytes not changed",
			    limit, usage);
	}
	/* memsw must stay >= limit at every step: raise memsw first when it
	 * grows, otherwise lower the limit first. */
	bool swap_first = false;
	if (limit != 0 && swap != 0) {
		uint64_t cur_limit = 0;
		if (cgroup_read_u64(dir, "memory.limit_in_bytes", &cur_limit, err) < 0)
			return -1;
		swap_first = swap == -1 || cur_limit < (uint64_t)swap;
	}
	if (swap_first &&
	    v1_write_limit(dir, "memory.memsw.limit_in_bytes", swap, "linux.resources.memory.swap", err) < 0)
		return -1;
	if (limit != 0 &&
	    v1_write_limit(dir, "memory.limit_in_bytes", limit, "linux.resources.memory.limit", err) < 0)
		return -1;
	if (!swap_first && swap != 0 &&
	    v1_write_limit(dir, "memory.memsw.limit_in_bytes", swap, "linux.resources.memory.swap", err) < 0)
		return -1;
	if (mem->has_reservation && mem->reservation != 0) {
		_cleanup_free_ char *v =
		    xasprintf("%" PRId64, mem->reservation < 0 ? (int64_t)-1 : mem->reservation);
		if (cgroup_write(dir, "memory.soft_limit_in_bytes", v, "linux.resources.memory.reservation",
				 err) < 0)
			return -1;
	}
	if (mem->has_swappiness) {
		if (mem->swappiness > 100)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"linux.resources.memory.swappiness: %" PRIu64
						" is not in 0..100",
						mem->swappiness);
		_cleanup_free_ char *v = xasprintf("%" PRIu64, mem->swappiness);
		if (cgroup_write(dir, "memory.swappiness", v, "linux.resources.memory.swappiness", err) < 0)
			return -1;
	}
	if (mem->has_disable_oom_killer && mem->disable_oom_killer &&
	    cgroup_write(dir, "memory.oom_control", "1", "linux.resources.memory.disableOOMKiller", err) < 0)
		return -1;
	/* kernel / kernelTCP: deprecated, and kmem limits are gone from recent
	 * kernels; ignored like runc does. */
	return 0;
}

static int v1_set_blkio(struct cgroup_manager *m, const struct oci_blkio *io, struct hangar_error *err)
{
	bool any = (io->has_weight && io->weight) || (io->has_leaf_weight && io->leaf_weight) ||
		   io->n_weight_device || io->n_throttle_read_bps || io->n_throttle_write_bps ||
		   io->n_throttle_read_iops || io->n_throttle_write_iops;
	if (!io->present || !any)
		return 0;
	const char *dir;
	if (v1_need(m, "blkio", "linux.resources.blockIO", &dir, err) < 0)
		return -1;
	/* CFQ (gone since 5.0) had blkio.weight; BFQ exposes blkio.bfq.weight. */
	bool bfq = cgroup_file_exists(dir, "blkio.bfq.weight");
	const char *weight_file = bfq ? "blkio.bfq.weight" : "blkio.weight";
	const char *weight_dev_file = bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
	if (io->has_weight && io->weight) {
		_cleanup_free_ char *v = xasprintf("%u", io->weight);
		if (cgroup_write(dir, weight_file, v, "linux.resources.blockIO.weight", err) < 0)
			return -1;
	}
	if (io->has_leaf_weight && io->leaf_weight) {
		_cleanup_free_ char *v = xasprintf("%u", io->leaf_weight);
		if (cgroup_write(dir, "blkio.leaf_weight", v, "linux.resources.blockIO.leafWeight", err) < 0)
			return -1;
	}
	for (size_t i = 0; i < io->n_weight_device; i++) {
		const struct oci_weight_device *wd = &io->weight_device[i];
		if (wd->has_weight && wd->weight) {
			_cleanup_free_ char *v =
			    xasprintf("%" PRId64 ":%" PRId64 " %u", wd->major, wd->minor, wd->weight);
			if (cgroup_write(dir, weight_dev_file, v, "linux.resources.blockIO.weightDevice",
					 err) < 0)
				return -1;
		}
		if (wd->has_leaf_weight && wd->leaf_weight) {
			_cleanup_free_ char *v =
			    xasprintf("%" PRId64 ":%" PRId64 " %u", wd->major, wd->minor, wd->leaf_weight);
			if (cgroup_write(dir, "blkio.leaf_weight_device", v,
					 "linux.resources.blockIO.weightDevice", err) < 0)
				return -1;
		}
	}
	const struct {
		const struct oci_throttle_device *devs;
		size_t n;
		const char *file, *resource;
	} throttles[] = {
	    {io->throttle_read_bps, io->n_throttle_read_bps, "blkio.throttle.read_bps_device",
	     "linux.resources.blockIO.throttleReadBpsDevice"},
	    {io->throttle_write_bps, io->n_throttle_write_bps, "blkio.throttle.write_bps_device",
	     "linux.resources.blockIO.throttleWriteBpsDevice"},
	    {io->throttle_read_iops, io->n_throttle_read_iops, "blkio.throttle.read_iops_device",
	     "linux.resources.blockIO.throttleReadIOPSDevice"},
	    {io->throttle_write_iops, io->n_throttle_write_iops, "blkio.throttle.write_iops_device",
	     "linux.resources.blockIO.throttleWriteIOPSDevice"},
	};
	for (size_t t = 0; t < ARRAY_SIZE(throttles); t++)
		for (size_t i = 0; i < throttles[t].n; i++) {
			const struct oci_throttle_device *d = &throttles[t].devs[i];
			_cleanup_free_ char *v =
			    xasprintf("%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor, d->rate);
			if (cgroup_write(dir, throttles[t].file, v, throttles[t].resource, err) < 0)
				return -1;
		}
	return 0;
}

/* The policy a v1 devices cgroup enforces now, from devices.list.  An
 * allow-by-default cgroup lists only "a *:* rwm": its deny exceptions cannot
 * be read back, so *known is false for it. */
static int v1_devices_current(const char *dir, struct cgroup_device_policy *cur, bool *known,
			      struct hangar_error *err)
{
	_cleanup_free_ char *text = NULL;
	if (cgroup_read(dir, "devices.list", &text, err) < 0)
		return -1;
	*cur = (struct cgroup_device_policy){.default_allow = false};
	*known = true;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char type, major[16], minor[16], access[8];
		if (sscanf(line, "%c %15[^:]:%15s %7s", &type, major, minor, access) != 4)
			continue;
		if (type == 'a') {
			cur->default_allow = true;
			*known = false;
			continue;
		}
		struct oci_device_cgroup rule = {.allow = true, .type = type, .access = access};
		int64_t v;
		rule.has_major = parse_i64(major, &v) == 0;
		rule.major = rule.has_major ? v : -1;
		rule.has_minor = parse_i64(minor, &v) == 0;
		rule.minor = rule.has_minor ? v : -1;
		struct cgroup_device_policy one;
		if (cgroup_device_policy_build(&rule, 1, &one, err) < 0) {
			cgroup_device_policy_clear(cur);
			return -1;
		}
		struct cgroup_device_exception *grown = realloc(cur->ex, (cur->n + one.n) * sizeof(*grown));
		if (grown == NULL)
			abort();
		cur->ex = grown;
		memcpy(&cur->ex[cur->n], one.ex, one.n * sizeof(*one.ex));
		cur->n += one.n;
		cgroup_device_policy_clear(&one);
	}
	return 0;
}

static unsigned exception_access(const struct cgroup_device_policy *p,
				 const struct cgroup_device_exception *like)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ex[i].type == like->type && p->ex[i].major == like->major &&
		    p->ex[i].minor == like->minor)
			return p->ex[i].access;
	return 0;
}

static int v1_write_exception(const char *dir, const char *file, const struct cgroup_device_exception *e,
			      unsigned access, struct hangar_error *err)
{
	struct cgroup_device_exception part = *e;
	part.access = access;
	_cleanup_free_ char *rule = cgroup_device_exception_string(&part);
	return cgroup_write(dir, file, rule, "linux.resources.devices", err);
}

/* Move the cgroup to the target policy.  Going through "deny a" would deny
 * even the devices that stay allowed for a moment, and a running container
 * notices (an open of /dev/null fails), so between two allow lists only the
 * differences are written, as runc does.  Otherwise: the reset rule, then
 * the exceptions. */
static int v1_devices_transition(const char *dir, const struct cgroup_device_policy *target,
				 struct hangar_error *err)
{
	struct cgroup_device_policy cur;
	bool known;
	if (v1_devices_current(dir, &cur, &known, err) < 0)
		return -1;
	int ret = 0;
	if (!known || cur.default_allow || target->default_allow) {
		const char *reset_file = target->default_allow ? "devices.allow" : "devices.deny";
		const char *exception_file = target->default_allow ? "devices.deny" : "devices.allow";
		ret = cgroup_write(dir, reset_file, "a", "linux.resources.devices", err);
		for (size_t i = 0; ret == 0 && i < target->n; i++)
			ret = v1_write_exception(dir, exception_file, &target->ex[i], target->ex[i].access,
						 err);
	} else {
		for (size_t i = 0; ret == 0 && i < target->n; i++) {
			unsigned gained = target->ex[i].access & ~exception_access(&cur, &target->ex[i]);
			if (gained)
				ret = v1_write_exception(dir, "devices.allow", &target->ex[i], gained, err);
		}
		for (size_t i = 0; ret == 0 && i < cur.n; i++) {
			unsigned dropped = cur.ex[i].access & ~exception_access(target, &cur.ex[i]);
			if (dropped)
				ret = v1_write_exception(dir, "devices.deny", &cur.ex[i], dropped, err);
		}
	}
	cgroup_device_policy_clear(&cur);
	return ret;
}

static int v1_set_devices(struct cgroup_manager *m, const struct oci_resources *r, struct hangar_error *err)
{
	if (r->n_devices == 0)
		return 0;
	const char *dir;
	if (v1_need(m, "devices", "linux.resources.devices", &dir, err) < 0)
		return -1;
	struct cgroup_device_policy policy;
	if (cgroup_device_policy_build(r->devices, r->n_devices, &policy, err) < 0)
		return -1;
	int ret = v1_devices_transition(dir, &policy, err);
	cgroup_device_policy_clear(&policy);
	return ret;
}

static int v1_set_misc(struct cgroup_manager *m, const struct oci_resources *r, struct hangar_error *err)
{
	const char *dir;
	if (r->has_pids_limit) {
		if (v1_need(m, "pids", "linux.resources.pids", &dir, err) < 0)
			return -1;
		_cleanup_free_ char *v =
		    r->pids_limit <= 0 ? xstrdup("max") : xasprintf("%" PRId64, r->pids_limit);
		if (cgroup_write(dir, "pids.max", v, "linux.resources.pids.limit", err) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		if (v1_need(m, "hugetlb", "linux.resources.hugepageLimits", &dir, err) < 0)
			return -1;
		_cleanup_free_ char *file =
		    xasprintf("hugetlb.%s.limit_in_bytes", r->hugepage_limits[i].page_size);
		_cleanup_free_ char *v = xasprintf("%" PRIu64, r->hugepage_limits[i].limit);
		if (cgroup_write(dir, file, v, "linux.resources.hugepageLimits", err) < 0)
			return -1;
	}
	if (r->has_class_id && r->class_id) {
		if (v1_need(m, "net_cls", "linux.resources.network.classID", &dir, err) < 0)
			return -1;
		_cleanup_free_ char *v = xasprintf("%u", r->class_id);
		if (cgroup_write(dir, "net_cls.classid", v, "linux.resources.network.classID", err) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->n_net_priorities; i++) {
		if (v1_need(m, "net_prio", "linux.resources.network.priorities", &dir, err) < 0)
			return -1;
		_cleanup_free_ char *v =
		    xasprintf("%s %u", r->net_priorities[i].name, r->net_priorities[i].priority);
		if (cgroup_write(dir, "net_prio.ifpriomap", v, "linux.resources.network.priorities", err) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->n_rdma; i++) {
		if (v1_need(m, "rdma", "linux.resources.rdma", &dir, err) < 0)
			return -1;
		const struct oci_rdma *rd = &r->rdma[i];
		_cleanup_free_ char *handles =
		    rd->has_hca_handles ? xasprintf("%u", rd->hca_handles) : xstrdup("max");
		_cleanup_free_ char *objects =
		    rd->has_hca_objects ? xasprintf("%u", rd->hca_objects) : xstrdup("max");
		_cleanup_free_ char *v =
		    xasprintf("%s hca_handle=%s hca_object=%s", rd->device, handles, objects);
		if (cgroup_write(dir, "rdma.max", v, "linux.resources.rdma", err) < 0)
			return -1;
	}
	return 0;
}

static int v1_set(struct cgroup_manager *m, const struct oci_resources *r, bool update,
		  struct hangar_error *err)
{
	if (r == NULL || m->skip_limits)
		return 0;
	if (r->n_unified > 0)
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "linux.resources.unified: requires cgroup v2 (this host uses cgroup v1)");
	if (v1_set_cpu(m, &r->cpu, err) < 0 || v1_set_memory(m, &r->memory, update, err) < 0 ||
	    v1_set_blkio(m, &r->blkio, err) < 0 || v1_set_misc(m, r, err) < 0 ||
	    v1_set_devices(m, r, err) < 0)
		return -1;
	return 0;
}

/* ---- lifecycle ---- */

/* A new v1 cpuset starts with empty cpus/mems and refuses tasks; copy the
 * parent's values down every level that is still empty. */
static int v1_cpuset_inherit(struct cgroup_v1_hierarchy *h, const char *path, struct hangar_error *err)
{
	_cleanup_free_ char *parent = xstrdup(h->mount);
	_cleanup_free_ char *copy = xstrdup(path);
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		char *child = xasprintf("%s/%s", parent, c);
		const char *files[] = {"cpuset.cpus", "cpuset.mems"};
		for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
			_cleanup_free_ char *mine = NULL, *theirs = NULL;
			if (cgroup_read(child, files[i], &mine, err) < 0 ||
			    (*mine == '\0' && (cgroup_read(parent, files[i], &theirs, err) < 0 ||
					       cgroup_write(child, files[i], theirs, NULL, err) < 0))) {
				free(child);
				return -1;
			}
		}
		free(parent);
		parent = child;
	}
	return 0;
}

static void v1_remove_all(struct cgroup_manager *m)
{
	for (size_t i = 0; i < m->n_hier; i++) {
		struct cgroup_v1_hierarchy *h = &m->hier[i];
		if (h->dir == NULL)
			continue;
		struct hangar_error ignored;
		if (h->created_depth > 0)
			cgroup_rmdir_path(h->dir, h->created_depth, &ignored);
		free(h->dir);
		h->dir = NULL;
	}
}

/* A directory that was there before: refused when it has processes or, in
 * the freezer hierarchy, is not THAWED. */
static int v1_check_existing(struct cgroup_manager *m, const struct cgroup_v1_hierarchy *h,
			     struct hangar_error *err)
{
	if (cgroup_check_unused(h->dir, m->path, err) < 0)
		return -1;
	if (!list_has(h->controllers, "freezer"))
		return 0;
	_cleanup_free_ char *state = NULL;
	if (cgroup_read(h->dir, "freezer.state", &state, err) < 0)
		return hangar_error_prefix(err, "linux.cgroupsPath: cgroup %s", m->path);
	if (strcmp(state, "THAWED") != 0)
		return hangar_error_set(err, HANGAR_E_STATE, 0,
					"linux.cgroupsPath: cgroup %s is frozen (freezer.state %s); thaw it "
					"or use another path",
					m->path, state);
	return 0;
}

static int v1_create(struct cgroup_manager *m, const struct oci_resources *r, struct hangar_error *err)
{
	if (m->rootless) {
		/* v1 has no safe delegation: an unprivileged user cannot own a
		 * subtree without root setting it up. */
		m->no_cgroup = true;
		m->skip_limits = true;
		m->warning =
		    xstrdup("rootless on cgroup v1: no cgroup is created and resource limits are ignored");
		return 0;
	}
	if (r && r->n_unified > 0)
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "linux.resources.unified: requires cgroup v2 (this host uses cgroup v1)");
	if (v1_discover(m, err) < 0)
		return -1;
	for (size_t i = 0; i < m->n_hier; i++) {
		struct cgroup_v1_hierarchy *h = &m->hier[i];
		if (cgroup_mkdir_path(h->mount, m->path, &h->created_depth, err) < 0)
			goto fail;
		h->dir = xasprintf("%s%s", h->mount, m->path);
		if (h->created_depth == 0 && v1_check_existing(m, h, err) < 0)
			goto fail;
		if (list_has(h->controllers, "cpuset") && v1_cpuset_inherit(h, m->path, err) < 0)
			goto fail;
	}
	if (v1_set(m, r, false, err) < 0)
		goto fail;
	return 0;
fail:
	v1_remove_all(m);
	return -1;
}

static int v1_update(struct cgroup_manager *m, const struct oci_resources *r, struct hangar_error *err)
{
	return v1_set(m, r, true, err);
}

static int v1_enter(struct cgroup_manager *m, pid_t pid, struct hangar_error *err)
{
	_cleanup_free_ char *v = xasprintf("%d", (int)pid);
	for (size_t i = 0; i < m->n_hier; i++)
		if (m->hier[i].dir && cgroup_write(m->hier[i].dir, "cgroup.procs", v, NULL, err) < 0)
			return hangar_error_prefix(err, "move pid %d into %s", (int)pid, m->hier[i].dir);
	return 0;
}

static void v1_self_enter_close(struct cgroup_manager *m)
{
	if (m->tasks_fds == NULL)
		return;
	for (size_t i = 0; i < m->n_hier; i++)
		if (m->tasks_fds[i] >= 0)
			close(m->tasks_fds[i]);
	free(m->tasks_fds);
	m->tasks_fds = NULL;
}

static int v1_self_enter_open(struct cgroup_manager *m, struct hangar_error *err)
{
	v1_self_enter_close(m);
	m->tasks_fds = xmalloc0(m->n_hier * sizeof(int));
	for (size_t i = 0; i < m->n_hier; i++)
		m->tasks_fds[i] = -1;
	for (size_t i = 0; i < m->n_hier; i++) {
		if (m->hier[i].dir == NULL)
			continue;
		/* cgroup2 has no "tasks"; its cgroup.procs takes "0" too. */
		bool v2 = strcmp(m->hier[i].controllers, CGROUP_V1_UNIFIED) == 0;
		_cleanup_free_ char *path = xasprintf("%s/%s", m->hier[i].dir, v2 ? "cgroup.procs" : "tasks");
		m->tasks_fds[i] = open(path, O_WRONLY | O_CLOEXEC);
		if (m->tasks_fds[i] < 0) {
			hangar_sys_error(err, "open %s", path);
			v1_self_enter_close(m);
			return -1;
		}
	}
	return 0;
}

/* The caller is the only thread of its process, so moving the thread moves
 * the process; "0" is the writer itself, which the kernel moves without the
 * threadgroup lock (kernel commit "cgroup: Optimize single thread
 * migration"; a kernel without it takes the slow path, with the same end). */
static int v1_self_enter(struct cgroup_manager *m, struct hangar_error *err)
{
	int rc = 0;
	for (size_t i = 0; m->tasks_fds && i < m->n_hier; i++) {
		if (m->tasks_fds[i] < 0)
			continue;
		if (rc == 0 && write(m->tasks_fds[i], "0", 1) != 1)
			rc = hangar_sys_error(err, "move into cgroup %s", m->hier[i].dir);
	}
	v1_self_enter_close(m);
	return rc;
}

static int v1_freezer_state(const char *dir, char **state, struct hangar_error *err)
{
	return cgroup_read(dir, "freezer.state", state, err);
}

static int v1_set_frozen(struct cgroup_manager *m, bool frozen, struct hangar_error *err)
{
	const char *dir;
	if (v1_need(m, "freezer", frozen ? "freeze" : "thaw", &dir, err) < 0)
		return -1;
	const char *want = frozen ? "FROZEN" : "THAWED";
	if (cgroup_write(dir, "freezer.state", want, NULL, err) < 0)
		return -1;
	uint64_t deadline = now_ns() + CGROUP_V1_WAIT_MS * 1000000ULL;
	unsigned step = 0;
	for (unsigned polls = 1;; polls++) {
		_cleanup_free_ char *state = NULL;
		if (v1_freezer_state(dir, &state, err) < 0)
			return -1;
		if (strcmp(state, want) == 0)
			return 0;
		if (now_ns() >= deadline)
			break;
		/* A task that was in the middle of fork can keep the cgroup
		 * in FREEZING; writing FROZEN again retries the stragglers. */
		if (frozen && polls % 50 == 0 && cgroup_write(dir, "freezer.state", want, NULL, err) < 0)
			return -1;
		cgroup_backoff_sleep(&step);
	}
	if (frozen) {
		struct hangar_error ignored;
		cgroup_write(dir, "freezer.state", "THAWED", NULL, &ignored);
	}
	return hangar_error_set(err, HANGAR_E_SYS, ETIMEDOUT, "%s %s: freezer.state did not become %s",
				frozen ? "freeze" : "thaw", m->path, want);
}

static int v1_is_frozen(struct cgroup_manager *m, bool *frozen, struct hangar_error *err)
{
	const char *dir = v1_dir(m, "freezer");
	*frozen = false;
	if (dir == NULL)
		return 0;
	_cleanup_free_ char *state = NULL;
	if (v1_freezer_state(dir, &state, err) < 0)
		return -1;
	*frozen = strcmp(state, "FROZEN") == 0;
	return 0;
}

static const char *v1_procs_dir(struct cgroup_manager *m)
{
	static const char *const preferred[] = {"freezer", "pids", "memory", "cpu"};
	for (size_t i = 0; i < ARRAY_SIZE(preferred); i++) {
		const char *dir = v1_dir(m, preferred[i]);
		if (dir)
			return dir;
	}
	for (size_t i = 0; i < m->n_hier; i++)
		if (m->hier[i].dir)
			return m->hier[i].dir;
	return NULL;
}

static int v1_kill_all(struct cgroup_manager *m, int sig, struct hangar_error *err)
{
	if (v1_procs_dir(m) == NULL)
		return 0;
	return cgroup_signal_all_frozen(m, sig, v1_dir(m, "freezer") != NULL, err);
}

static int v1_wait_empty(struct cgroup_manager *m, struct hangar_error *err)
{
	uint64_t deadline = now_ns() + CGROUP_V1_WAIT_MS * 1000000ULL;
	unsigned step = 0;
	for (;;) {
		pid_t *pids = NULL;
		size_t n = 0;
		int r = cgroup_collect_pids(v1_procs_dir(m), &pids, &n, err);
		free(pids);
		if (r < 0)
			return -1;
		if (n == 0)
			return 0;
		if (now_ns() >= deadline)
			return hangar_error_set(err, HANGAR_E_SYS, ETIMEDOUT,
						"cgroup %s still has %zu processes after SIGKILL", m->path,
						n);
		cgroup_backoff_sleep(&step);
	}
}

static int v1_destroy(struct cgroup_manager *m, struct hangar_error *err)
{
	if (v1_procs_dir(m) && access(v1_procs_dir(m), F_OK) == 0) {
		if (v1_kill_all(m, SIGKILL, err) < 0 || v1_wait_empty(m, err) < 0)
			return hangar_error_prefix(err, "destroy cgroup %s", m->path);
	}
	int ret = 0;
	for (size_t i = 0; i < m->n_hier; i++) {
		struct cgroup_v1_hierarchy *h = &m->hier[i];
		if (h->dir == NULL)
			continue;
		struct hangar_error one;
		if (cgroup_rmdir_path(h->dir, cgroup_destroy_depth(m, h->created_depth), &one) < 0 &&
		    ret == 0) {
			*err = one;
			ret = -1;
		}
	}
	return ret;
}

static int v1_oom_event_fd(struct cgroup_manager *m, struct hangar_error *err)
{
	const char *dir;
	if (v1_need(m, "memory", "events", &dir, err) < 0)
		return -1;
	_cleanup_close_ int efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0)
		return hangar_sys_error(err, "eventfd");
	_cleanup_free_ char *oc_path = xasprintf("%s/memory.oom_control", dir);
	_cleanup_close_ int ocfd = open(oc_path, O_RDONLY | O_CLOEXEC);
	if (ocfd < 0)
		return hangar_sys_error(err, "open %s", oc_path);
	_cleanup_free_ char *reg = xasprintf("%d %d", efd, ocfd);
	if (cgroup_write(dir, "cgroup.event_control", reg, NULL, err) < 0)
		return -1;
	return steal_fd(&efd);
}

/* ---- stats ---- */

static uint64_t v1_limit(uint64_t v)
{
	return v >= CGROUP_V1_UNLIMITED_FLOOR ? CGROUP_STAT_UNLIMITED : v;
}

static void v1_read_percpu(const char *dir, const char *file, uint64_t **out, size_t *n)
{
	_cleanup_free_ char *text = NULL;
	struct hangar_error ignored;
	if (cgroup_read(dir, file, &text, &ignored) < 0)
		return;
	char *save = NULL;
	for (char *tok = strtok_r(text, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		uint64_t v;
		if (parse_u64(tok, &v) < 0)
			continue;
		uint64_t *grown = realloc(*out, (*n + 1) * sizeof(*grown));
		if (grown == NULL)
			abort();
		*out = grown;
		(*out)[(*n)++] = v;
	}
}

static void v1_stats_cpu(struct cgroup_manager *m, struct cgroup_stats *st)
{
	struct hangar_error ignored;
	const char *dir = v1_dir(m, "cpuacct");
	if (dir) {
		cgroup_read_u64(dir, "cpuacct.usage", &st->cpu_usage_ns, &ignored);
		cgroup_read_u64(dir, "cpuacct.usage_user", &st->cpu_user_ns, &ignored);
		cgroup_read_u64(dir, "cpuacct.usage_sys", &st->cpu_system_ns, &ignored);
		v1_read_percpu(dir, "cpuacct.usage_percpu", &st->cpu_percpu_ns, &st->n_cpu_percpu);
		v1_read_percpu(dir, "cpuacct.usage_percpu_user", &st->cpu_percpu_user_ns,
			       &st->n_cpu_percpu_user);
		v1_read_percpu(dir, "cpuacct.usage_percpu_sys", &st->cpu_percpu_system_ns,
			       &st->n_cpu_percpu_system);
	}
	dir = v1_dir(m, "cpu");
	_cleanup_free_ char *stat = NULL;
	if (dir && cgroup_read(dir, "cpu.stat", &stat, &ignored) == 0) {
		cgroup_keyed_u64(stat, "nr_periods", &st->cpu_nr_periods);
		cgroup_keyed_u64(stat, "nr_throttled", &st->cpu_nr_throttled);
		cgroup_keyed_u64(stat, "throttled_time", &st->cpu_throttled_ns);
	}
}

static void v1_stats_memory(struct cgroup_manager *m, struct cgroup_stats *st)
{
	struct hangar_error ignored;
	st->mem_limit = st->mem_swap_limit = CGROUP_STAT_UNLIMITED;
	const char *dir = v1_dir(m, "memory");
	if (dir == NULL)
		return;
	cgroup_read_u64(dir, "memory.usage_in_bytes", &st->mem_usage, &ignored);
	cgroup_read_u64(dir, "memory.max_usage_in_bytes", &st->mem_peak, &ignored);
	if (cgroup_read_u64(dir, "memory.limit_in_bytes", &st->mem_limit, &ignored) == 0)
		st->mem_limit = v1_limit(st->mem_limit);
	cgroup_read_u64(dir, "memory.failcnt", &st->mem_failcnt, &ignored);
	cgroup_read_u64(dir, "memory.memsw.usage_in_bytes", &st->mem_swap_usage, &ignored);
	if (cgroup_read_u64(dir, "memory.memsw.limit_in_bytes", &st->mem_swap_limit, &ignored) == 0)
		st->mem_swap_limit = v1_limit(st->mem_swap_limit);
	_cleanup_free_ char *stat = NULL, *oom = NULL;
	if (cgroup_read(dir, "memory.stat", &stat, &ignored) == 0) {
		if (cgroup_keyed_u64(stat, "total_cache", &st->mem_cache) < 0)
			cgroup_keyed_u64(stat, "cache", &st->mem_cache);
		if (cgroup_keyed_u64(stat, "total_rss", &st->mem_anon) < 0)
			cgroup_keyed_u64(stat, "rss", &st->mem_anon);
		cgroup_parse_keyed(stat, &st->mem_raw, &st->n_mem_raw);
	}
	if (cgroup_read(dir, "memory.oom_control", &oom, &ignored) == 0) {
		cgroup_keyed_u64(oom, "oom_kill", &st->mem_oom_kill);
		/* v1 counts no OOM events apart from kills. */
		st->mem_oom = st->mem_oom_kill;
	}
}

static void v1_stats_blkio(const char *dir, struct cgroup_stats *st)
{
	static const char *const sources[][2] = {
	    {"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive"},
	    {"blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive"},
	};
	struct hangar_error ignored;
	for (size_t s = 0; s < ARRAY_SIZE(sources) && st->n_io == 0; s++)
		for (int kind = 0; kind < 2; kind++) {
			_cleanup_free_ char *text = NULL;
			if (cgroup_read(dir, sources[s][kind], &text, &ignored) < 0)
				continue;
			char *save = NULL;
			for (char *line = strtok_r(text, "\n", &save); line;
			     line = strtok_r(NULL, "\n", &save)) {
				unsigned maj, min;
				char op[16];
				unsigned long long v;
				if (sscanf(line, "%u:%u %15s %llu", &maj, &min, op, &v) != 4)
					continue;
				struct cgroup_io_stat *io = NULL;
				for (size_t i = 0; i < st->n_io; i++)
					if (st->io[i].major == maj && st->io[i].minor == min)
						io = &st->io[i];
				if (io == NULL) {
					struct cgroup_io_stat *grown =
					    realloc(st->io, (st->n_io + 1) * sizeof(*grown));
					if (grown == NULL)
						abort();
					st->io = grown;
					io = &st->io[st->n_io++];
					*io = (struct cgroup_io_stat){.major = maj, .minor = min};
				}
				if (strcmp(op, "Read") == 0)
					*(kind ? &io->read_ops : &io->read_bytes) = v;
				else if (strcmp(op, "Write") == 0)
					*(kind ? &io->write_ops : &io->write_bytes) = v;
			}
		}
}

static void v1_fill_hugetlb(const char *dir, const char *size, struct cgroup_hugetlb_stat *h)
{
	struct hangar_error ignored;
	_cleanup_free_ char *usage = xasprintf("hugetlb.%s.usage_in_bytes", size);
	_cleanup_free_ char *max = xasprintf("hugetlb.%s.max_usage_in_bytes", size);
	_cleanup_free_ char *fail = xasprintf("hugetlb.%s.failcnt", size);
	cgroup_read_u64(dir, usage, &h->usage, &ignored);
	cgroup_read_u64(dir, max, &h->max, &ignored);
	cgroup_read_u64(dir, fail, &h->failcnt, &ignored);
}

static int v1_stats(struct cgroup_manager *m, struct cgroup_stats *st, struct hangar_error *err)
{
	const char *probe = v1_procs_dir(m);
	if (probe == NULL || access(probe, F_OK) < 0)
		return hangar_error_set(err, HANGAR_E_NOTFOUND, ENOENT, "stats for %s: cgroup does not exist",
					m->path);
	v1_stats_cpu(m, st);
	v1_stats_memory(m, st);
	st->pids_limit = CGROUP_STAT_UNLIMITED;
	const char *dir = v1_dir(m, "pids");
	struct hangar_error ignored;
	if (dir) {
		cgroup_read_u64(dir, "pids.current", &st->pids_current, &ignored);
		cgroup_read_u64(dir, "pids.max", &st->pids_limit, &ignored);
	}
	if ((dir = v1_dir(m, "blkio")) != NULL)
		v1_stats_blkio(dir, st);
	if ((dir = v1_dir(m, "hugetlb")) != NULL)
		cgroup_stats_scan_hugetlb(dir, "usage_in_bytes", v1_fill_hugetlb, st);
	return 0;
}

/* ---- persistence ---- */

static void v1_serialize(struct cgroup_manager *m, json_object *obj)
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < m->n_hier; i++) {
		if (m->hier[i].dir == NULL)
			continue;
		json_object *h = json_object_new_object();
		json_object_object_add(h, "mount", json_object_new_string(m->hier[i].mount));
		json_object_object_add(h, "controllers", json_object_new_string(m->hier[i].controllers));
		json_object_object_add(h, "created_depth", json_object_new_int(m->hier[i].created_depth));
		json_object_array_add(arr, h);
	}
	json_object_object_add(obj, "hierarchies", arr);
}

static int v1_deserialize(struct cgroup_manager *m, json_object *obj, struct hangar_error *err)
{
	json_object *arr;
	if (!json_object_object_get_ex(obj, "hierarchies", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return m->no_cgroup
			   ? 0
			   : hangar_error_set(err, HANGAR_E_CONFIG, 0, "cgroup state: missing hierarchies");
	size_t n = json_object_array_length(arr);
	m->hier = xmalloc0((n ? n : 1) * sizeof(*m->hier));
	for (size_t i = 0; i < n; i++) {
		json_object *h = json_object_array_get_idx(arr, i), *mount, *ctrls, *depth;
		if (!json_object_object_get_ex(h, "mount", &mount) ||
		    !json_object_object_get_ex(h, "controllers", &ctrls))
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"cgroup state: hierarchy %zu incomplete", i);
		struct cgroup_v1_hierarchy *hier = &m->hier[m->n_hier++];
		hier->mount = xstrdup(json_object_get_string(mount));
		hier->controllers = xstrdup(json_object_get_string(ctrls));
		hier->dir = xasprintf("%s%s", hier->mount, m->path);
		if (json_object_object_get_ex(h, "created_depth", &depth))
			hier->created_depth = json_object_get_int(depth);
	}
	return 0;
}

static void v1_free(struct cgroup_manager *m)
{
	for (size_t i = 0; i < m->n_hier; i++) {
		free(m->hier[i].mount);
		free(m->hier[i].controllers);
		free(m->hier[i].dir);
	}
	free(m->hier);
	m->hier = NULL;
	m->n_hier = 0;
}

const struct cgroup_ops cgroup_v1_ops = {
    .name = "v1",
    .create = v1_create,
    .update = v1_update,
    .enter = v1_enter,
    .self_enter_open = v1_self_enter_open,
    .self_enter = v1_self_enter,
    .self_enter_close = v1_self_enter_close,
    .set_frozen = v1_set_frozen,
    .is_frozen = v1_is_frozen,
    .kill_all = v1_kill_all,
    .procs_dir = v1_procs_dir,
    .stats = v1_stats,
    .destroy = v1_destroy,
    .oom_event_fd = v1_oom_event_fd,
    .serialize = v1_serialize,
    .deserialize = v1_deserialize,
    .free = v1_free,
};
