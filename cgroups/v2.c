/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cgroup v2 (unified hierarchy) back-end. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/util.h"

/* Long enough for a loaded TCG guest; freezing or emptying a cgroup that
 * takes longer than this is stuck (D state, vfork) and reported. */
#define CGROUP_V2_WAIT_MS 10000

/* Controllers enabled for every container so that stats work even without
 * limits; the rest only when a limit needs them (enabling a controller in a
 * parent is visible to its other children). */
static const char *const v2_base_controllers[] = {"cpu", "cpuset", "memory", "io", "pids"};

static char *num_or_max(int64_t v)
{
	return v < 0 ? xstrdup("max") : xasprintf("%" PRId64, v);
}

/* ---- validation that needs no cgroup ---- */

static bool unified_key_forbidden(const char *key)
{
	if (*key == '\0' || strchr(key, '/') || strcmp(key, ".") == 0 || strcmp(key, "..") == 0)
		return true;
	/* The membership and lifecycle files are the runtime's business. */
	if (str_has_prefix(key, "cgroup."))
		return strcmp(key, "cgroup.max.depth") != 0 && strcmp(key, "cgroup.max.descendants") != 0;
	return strchr(key, '.') == NULL;
}

static int v2_validate(const struct oci_resources *r, struct hangar_error *err)
{
	if (r == NULL)
		return 0;
	if ((r->cpu.has_realtime_runtime && r->cpu.realtime_runtime != 0) ||
	    (r->cpu.has_realtime_period && r->cpu.realtime_period != 0))
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"linux.resources.cpu.realtimeRuntime: realtime scheduling limits are "
					"not supported on cgroup v2");
	/* The io controller has no leaf weight (it was CFQ's, gone with it):
	 * refused rather than silently dropped. */
	if (r->blkio.has_leaf_weight && r->blkio.leaf_weight != 0)
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"linux.resources.blockIO.leafWeight: not supported on cgroup v2");
	for (size_t i = 0; i < r->blkio.n_weight_device; i++)
		if (r->blkio.weight_device[i].has_leaf_weight && r->blkio.weight_device[i].leaf_weight != 0)
			return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
						"linux.resources.blockIO.weightDevice[%zu].leafWeight: not "
						"supported on cgroup v2",
						i);
	if (r->memory.has_swappiness && r->memory.swappiness != 0)
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"linux.resources.memory.swappiness: not supported on cgroup v2");
	if (r->memory.has_disable_oom_killer && r->memory.disable_oom_killer)
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "linux.resources.memory.disableOOMKiller: not supported on cgroup v2");
	if ((r->has_class_id && r->class_id != 0) || r->n_net_priorities > 0)
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "linux.resources.network: net_cls/net_prio do not exist on cgroup v2");
	for (size_t i = 0; i < r->n_unified; i++)
		if (unified_key_forbidden(r->unified[i].key))
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"linux.resources.unified: key '%s' is not a controller file",
						r->unified[i].key);
	if (r->memory.has_swap) {
		int64_t swap;
		bool zero;
		if (cgroup_swap_to_v2(r->memory.swap, r->memory.has_limit ? r->memory.limit : 0, &swap, &zero,
				      err) < 0)
			return -1;
	}
	return 0;
}

/* ---- controller enabling ---- */

static bool word_in(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; (p = strstr(p, word)) != NULL; p += wl) {
		bool start = p == list || p[-1] == ' ' || p[-1] == '\n';
		bool end = p[wl] == '\0' || p[wl] == ' ' || p[wl] == '\n';
		if (start && end)
			return true;
	}
	return false;
}

static void want_add(char ***want, const char *ctrl)
{
	size_t n = strv_len(*want);
	for (size_t i = 0; i < n; i++)
		if (strcmp((*want)[i], ctrl) == 0)
			return;
	char **grown = realloc(*want, (n + 2) * sizeof(char *));
	if (grown == NULL)
		abort();
	grown[n] = xstrdup(ctrl);
	grown[n + 1] = NULL;
	*want = grown;
}

static char **v2_wanted_controllers(const struct oci_resources *r)
{
	char **want = xmalloc0(sizeof(char *));
	for (size_t i = 0; i < ARRAY_SIZE(v2_base_controllers); i++)
		want_add(&want, v2_base_controllers[i]);
	if (r == NULL)
		return want;
	if (r->cpu.cpus || r->cpu.mems)
		want_add(&want, "cpuset");
	if (r->n_hugepage_limits)
		want_add(&want, "hugetlb");
	if (r->n_rdma)
		want_add(&want, "rdma");
	for (size_t i = 0; i < r->n_unified; i++) {
		const char *dot = strchr(r->unified[i].key, '.');
		if (dot == NULL || str_has_prefix(r->unified[i].key, "cgroup."))
			continue;
		_cleanup_free_ char *ctrl = strndup(r->unified[i].key, (size_t)(dot - r->unified[i].key));
		if (ctrl == NULL)
			abort();
		want_add(&want, ctrl);
	}
	return want;
}

/* Enable the wanted controllers (those the parent offers) in every ancestor
 * of the leaf from base down; the leaf itself stays without subtree
 * controllers so that it may hold processes.  A refusal is an error; the
 * rootless caller turns it into "no limits". */
static int v2_enable_controllers(struct cgroup_manager *m, const char *base, const struct oci_resources *r,
				 struct hangar_error *err)
{
	_cleanup_free_ char *leaf = xasprintf("%s%s", m->root, m->path);
	char **want = v2_wanted_controllers(r);
	_cleanup_free_ char *cur = xstrdup(base);
	int ret = 0;
	const char *rest = leaf + strlen(base);
	for (;;) {
		/* cur is an ancestor of the leaf: enable in its subtree_control. */
		_cleanup_free_ char *avail = NULL, *enabled = NULL;
		if (cgroup_read(cur, "cgroup.controllers", &avail, err) < 0 ||
		    cgroup_read(cur, "cgroup.subtree_control", &enabled, err) < 0) {
			ret = -1;
			break;
		}
		for (char **w = want; *w; w++) {
			if (!word_in(avail, *w) || word_in(enabled, *w))
				continue;
			_cleanup_free_ char *plus = xasprintf("+%s", *w);
			if (cgroup_write(cur, "cgroup.subtree_control", plus, NULL, err) < 0) {
				hangar_error_prefix(err, "enable controller %s for %s", *w, m->path);
				ret = -1;
				break;
			}
		}
		if (ret < 0)
			break;
		const char *next = strchr(rest + 1, '/');
		if (next == NULL)
			break;
		char *grown = xasprintf("%s%.*s", cur, (int)(next - rest), rest);
		free(cur);
		cur = grown;
		rest = next;
	}
	strv_free(want);
	return ret;
}

/* ---- resources ---- */

static int v2_set_cpu(const char *dir, const struct oci_cpu *cpu, struct hangar_error *err)
{
	if (cpu->has_shares && cpu->shares != 0) {
		_cleanup_free_ char *w = xasprintf("%" PRIu64, cgroup_cpu_shares_to_weight(cpu->shares));
		if (cgroup_write(dir, "cpu.weight", w, "linux.resources.cpu.shares", err) < 0)
			return -1;
	}
	if (cpu->has_idle) {
		_cleanup_free_ char *v = xasprintf("%" PRId64, cpu->idle);
		if (cgroup_write(dir, "cpu.idle", v, "linux.resources.cpu.idle", err) < 0)
			return -1;
	}
	/* The kernel rejects a burst above the quota, so the order that works
	 * depends on the old values: try burst first, retry after cpu.max. */
	bool burst_pending = false;
	_cleanup_free_ char *burst = NULL;
	if (cpu->has_burst) {
		burst = xasprintf("%" PRIu64, cpu->burst);
		struct hangar_error ignored;
		if (cgroup_write(dir, "cpu.max.burst", burst, "linux.resources.cpu.burst", &ignored) < 0)
			burst_pending = true;
	}
	if ((cpu->has_quota && cpu->quota != 0) || (cpu->has_period && cpu->period != 0)) {
		_cleanup_free_ char *max = NULL;
		if (cpu->has_quota && cpu->quota != 0) {
			_cleanup_free_ char *q = num_or_max(cpu->quota);
			max = cpu->has_period && cpu->period ? xasprintf("%s %" PRIu64, q, cpu->period)
							     : xstrdup(q);
		} else {
			/* Period alone keeps the current quota. */
			_cleanup_free_ char *old = NULL;
			if (cgroup_read(dir, "cpu.max", &old, err) < 0)
				return -1;
			char *sp = strchr(old, ' ');
			if (sp)
				*sp = '\0';
			max = xasprintf("%s %" PRIu64, old, cpu->period);
		}
		if (cgroup_write(dir, "cpu.max", max, "linux.resources.cpu.quota", err) < 0)
			return -1;
	}
	if (burst_pending && cgroup_write(dir, "cpu.max.burst", burst, "linux.resources.cpu.burst", err) < 0)
		return -1;
	if (cpu->cpus && *cpu->cpus &&
	    cgroup_write(dir, "cpuset.cpus", cpu->cpus, "linux.resources.cpu.cpus", err) < 0)
		return -1;
	if (cpu->mems && *cpu->mems &&
	    cgroup_write(dir, "cpuset.mems", cpu->mems, "linux.resources.cpu.mems", err) < 0)
		return -1;
	return 0;
}

static int v2_usage_refusal(const char *dir, const char *resource, uint64_t limit, uint64_t current,
			    const char *why, struct hangar_error *err)
{
	uint64_t peak = 0;
	struct hangar_error ignored;
	if (cgroup_read_u64(dir, "memory.peak", &peak, &ignored) < 0)
		peak = current;
	return hangar_error_set(err, HANGAR_E_STATE, EBUSY,
				"%s: memory limit %" PRIu64 " is below current usage %" PRIu64
				" (peak %" PRIu64 ")%s; memory.max not changed",
				resource, limit, current, peak, why);
}

/* Ask the kernel to reclaim down to limit; returns the usage afterwards. */
static int v2_reclaim_to(const char *dir, uint64_t limit, uint64_t *current, struct hangar_error *err)
{
	if (cgroup_read_u64(dir, "memory.current", current, err) < 0)
		return -1;
	/* memory.reclaim may stop short (EAGAIN); a few rounds catch pages
	 * that finished writeback meanwhile.  Without memory.reclaim (before
	 * 5.19) the memory.high write already reclaimed what it could. */
	for (int round = 0; *current > limit && round < 5; round++) {
		_cleanup_free_ char *amount = xasprintf("%" PRIu64, *current - limit);
		struct hangar_error reclaim_err;
		/* EAGAIN means "could not reclaim all of it": judged by the caller. */
		if (cgroup_write(dir, "memory.reclaim", amount, NULL, &reclaim_err) < 0 && errno != EAGAIN) {
			if (errno == ENOENT)
				break;
			*err = reclaim_err;
			return hangar_error_prefix(err, "linux.resources.memory.limit");
		}
		if (cgroup_read_u64(dir, "memory.current", current, err) < 0)
			return -1;
	}
	return 0;
}

/* Lowering memory.max below usage makes the kernel OOM-kill (runc #3509).
 * So memory.high goes to the target first: from then on the workload is
 * throttled and reclaimed at the target instead of growing past it while we
 * look (and the write itself reclaims, which is the fallback when the
 * kernel has no memory.reclaim).  Then reclaim, check the usage, and only
 * when it fits write memory.max.  memory.high gets its configured value
 * back either way, so a refusal leaves every file as it was.
 * check_only (checkBeforeUpdate, as runc): refuse on usage, never reclaim. */
static int v2_set_memory_max(const char *dir, int64_t limit, bool update, bool check_only,
			     struct hangar_error *err)
{
	_cleanup_free_ char *v = num_or_max(limit);
	_cleanup_free_ char *old_max = NULL;
	uint64_t old = 0, current = 0;
	bool lowering =
	    update && limit > 0 && cgroup_read(dir, "memory.max", &old_max, err) == 0 &&
	    (strcmp(old_max, "max") == 0 || (parse_u64(old_max, &old) == 0 && old > (uint64_t)limit));
	hangar_error_clear(err);
	if (update && limit > 0 && check_only) {
		if (cgroup_read_u64(dir, "memory.current", &current, err) < 0)
			return -1;
		if (current > (uint64_t)limit)
			return v2_usage_refusal(dir, "linux.resources.memory.checkBeforeUpdate",
						(uint64_t)limit, current, "", err);
		lowering = false;
	}
	if (!lowering)
		return cgroup_write(dir, "memory.max", v, "linux.resources.memory.limit", err);
	_cleanup_free_ char *old_high = NULL;
	struct hangar_error high_err;
	bool high_set = cgroup_read(dir, "memory.high", &old_high, &high_err) == 0 &&
			cgroup_write(dir, "memory.high", v, "linux.resources.memory.limit", &high_err) == 0;
	int ret = v2_reclaim_to(dir, (uint64_t)limit, &current, err);
	if (ret == 0 && current > (uint64_t)limit)
		ret = v2_usage_refusal(dir, "linux.resources.memory.limit", (uint64_t)limit, current,
				       " and the kernel could not reclaim enough", err);
	if (ret == 0)
		ret = cgroup_write(dir, "memory.max", v, "linux.resources.memory.limit", err);
	if (high_set &&
	    cgroup_write(dir, "memory.high", old_high, "linux.resources.memory.limit", &high_err) < 0 &&
	    ret == 0) {
		*err = high_err;
		ret = hangar_error_prefix(err, "restore memory.high");
	}
	return ret;
}

static int v2_set_memory(const char *dir, const struct oci_memory *mem, bool update, struct hangar_error *err)
{
	if (!mem->present)
		return 0;
	int64_t limit = mem->has_limit ? mem->limit : 0;
	_cleanup_free_ char *swap_value = NULL;
	if (mem->has_swap || (mem->has_limit && limit == -1)) {
		int64_t swap;
		bool zero;
		if (cgroup_swap_to_v2(mem->has_swap ? mem->swap : 0, limit, &swap, &zero, err) < 0)
			return -1;
		/* Without swap accounting "max" is what the kernel does anyway. */
		if ((swap != 0 || zero) && !(swap < 0 && !cgroup_file_exists(dir, "memory.swap.max")))
			swap_value = num_or_max(swap);
	}
	_cleanup_free_ char *old_max = NULL;
	if (mem->has_limit && limit != 0) {
		struct hangar_error ignored;
		if (swap_value && cgroup_read(dir, "memory.max", &old_max, &ignored) < 0)
			old_max = NULL;
		bool check = mem->has_check_before_update && mem->check_before_update;
		if (v2_set_memory_max(dir, limit, update, check, err) < 0)
			return -1;
	}
	/* Only after memory.max took the new value: a refused limit must leave
	 * swap as it was too. */
	if (swap_value &&
	    cgroup_write(dir, "memory.swap.max", swap_value, "linux.resources.memory.swap", err) < 0) {
		struct hangar_error ignored;
		if (old_max)
			cgroup_write(dir, "memory.max", old_max, NULL, &ignored);
		return -1;
	}
	if (mem->has_reservation && mem->reservation != 0) {
		_cleanup_free_ char *v = num_or_max(mem->reservation);
		if (cgroup_write(dir, "memory.low", v, "linux.resources.memory.reservation", err) < 0)
			return -1;
	}
	/* kernel / kernelTCP: deprecated in the spec and absent from v2. */
	return 0;
}

static int v2_set_io(const char *dir, const struct oci_blkio *io, struct hangar_error *err)
{
	if (!io->present)
		return 0;
	bool bfq = cgroup_file_exists(dir, "io.bfq.weight");
	if (io->has_weight && io->weight != 0) {
		_cleanup_free_ char *v =
		    bfq ? xasprintf("%u", io->weight)
			: xasprintf("%" PRIu64, cgroup_blkio_weight_to_io_weight(io->weight));
		if (cgroup_write(dir, bfq ? "io.bfq.weight" : "io.weight", v,
				 "linux.resources.blockIO.weight", err) < 0)
			return -1;
	}
	for (size_t i = 0; i < io->n_weight_device; i++) {
		const struct oci_weight_device *wd = &io->weight_device[i];
		if (!wd->has_weight || wd->weight == 0)
			continue;
		_cleanup_free_ char *v =
		    bfq ? xasprintf("%" PRId64 ":%" PRId64 " %u", wd->major, wd->minor, wd->weight)
			: xasprintf("%" PRId64 ":%" PRId64 " %" PRIu64, wd->major, wd->minor,
				    cgroup_blkio_weight_to_io_weight(wd->weight));
		if (cgroup_write(dir, bfq ? "io.bfq.weight" : "io.weight", v,
				 "linux.resources.blockIO.weightDevice", err) < 0)
			return -1;
	}
	const struct {
		const struct oci_throttle_device *devs;
		size_t n;
		const char *key, *resource;
	} throttles[] = {
	    {io->throttle_read_bps, io->n_throttle_read_bps, "rbps",
	     "linux.resources.blockIO.throttleReadBpsDevice"},
	    {io->throttle_write_bps, io->n_throttle_write_bps, "wbps",
	     "linux.resources.blockIO.throttleWriteBpsDevice"},
	    {io->throttle_read_iops, io->n_throttle_read_iops, "riops",
	     "linux.resources.blockIO.throttleReadIOPSDevice"},
	    {io->throttle_write_iops, io->n_throttle_write_iops, "wiops",
	     "linux.resources.blockIO.throttleWriteIOPSDevice"},
	};
	for (size_t t = 0; t < ARRAY_SIZE(throttles); t++)
		for (size_t i = 0; i < throttles[t].n; i++) {
			const struct oci_throttle_device *d = &throttles[t].devs[i];
			/* 0 means "no limit" in the OCI spec, "max" in io.max. */
			_cleanup_free_ char *v =
			    d->rate ? xasprintf("%" PRId64 ":%" PRId64 " %s=%" PRIu64, d->major, d->minor,
						throttles[t].key, d->rate)
				    : xasprintf("%" PRId64 ":%" PRId64 " %s=max", d->major, d->minor,
						throttles[t].key);
			if (cgroup_write(dir, "io.max", v, throttles[t].resource, err) < 0)
				return -1;
		}
	return 0;
}

static int v2_set_misc(const char *dir, const struct oci_resources *r, struct hangar_error *err)
{
	if (r->has_pids_limit) {
		_cleanup_free_ char *v =
		    r->pids_limit <= 0 ? xstrdup("max") : xasprintf("%" PRId64, r->pids_limit);
		if (cgroup_write(dir, "pids.max", v, "linux.resources.pids.limit", err) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		_cleanup_free_ char *file = xasprintf("hugetlb.%s.max", r->hugepage_limits[i].page_size);
		_cleanup_free_ char *v = xasprintf("%" PRIu64, r->hugepage_limits[i].limit);
		if (cgroup_write(dir, file, v, "linux.resources.hugepageLimits", err) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->n_rdma; i++) {
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
	for (size_t i = 0; i < r->n_unified; i++) {
		const struct oci_kv *kv = &r->unified[i];
		if (!cgroup_file_exists(dir, kv->key))
			return hangar_error_set(
			    err, HANGAR_E_CONFIG, ENOENT,
			    "linux.resources.unified: %s does not exist in %s (controller not enabled?)",
			    kv->key, dir);
		_cleanup_free_ char *res = xasprintf("linux.resources.unified.%s", kv->key);
		if (cgroup_write(dir, kv->key, kv->value, res, err) < 0)
			return -1;
	}
	return 0;
}

static int v2_set(struct cgroup_manager *m, const struct oci_resources *r, bool update,
		  struct hangar_error *err)
{
	if (r == NULL || m->skip_limits)
		return 0;
	if (v2_validate(r, err) < 0 || v2_set_cpu(m->dir, &r->cpu, err) < 0 ||
	    v2_set_memory(m->dir, &r->memory, update, err) < 0 || v2_set_io(m->dir, &r->blkio, err) < 0 ||
	    v2_set_misc(m->dir, r, err) < 0)
		return -1;
	if (r->n_devices > 0 && cgroup_bpf_devices_apply(m->dir, r->devices, r->n_devices, err) < 0)
		return -1;
	return 0;
}

/* ---- lifecycle ---- */

/* Our own cgroup from /proc/self/cgroup ("0::/user.slice/..."). */
static int v2_own_cgroup(char **out, struct hangar_error *err)
{
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", &text, NULL, err) < 0)
		return -1;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (str_has_prefix(line, "0::")) {
			*out = xstrdup(line + 3);
			return 0;
		}
	return hangar_error_set(err, HANGAR_E_NOTFOUND, 0, "no cgroup v2 entry in /proc/self/cgroup");
}

/* A cgroup we may create children in and move processes into: what a
 * delegation hands over (the directory and its cgroup.procs). */
static bool v2_delegated_to_us(const char *dir)
{
	struct stat sb;
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
	return stat(dir, &sb) == 0 && sb.st_uid == geteuid() && access(dir, W_OK) == 0 &&
	       access(procs, W_OK) == 0;
}

/* Rootless: place the container under the subtree delegated to us, or run
 * without a cgroup (limits skipped, with the reason in m->warning). */
static int v2_rootless_base(struct cgroup_manager *m, char **base, struct hangar_error *err)
{
	_cleanup_free_ char *own = NULL;
	struct hangar_error own_err;
	if (v2_own_cgroup(&own, &own_err) < 0) {
		m->no_cgroup = true;
		m->skip_limits = true;
		m->warning = xasprintf("rootless: %s; resource limits ignored", own_err.msg);
		return 0;
	}
	if (strcmp(own, "/") == 0)
		own[0] = '\0';
	/* Our own cgroup holds processes (us, at least), and the kernel enables
	 * no controller below a populated cgroup ("no internal processes").  So
	 * climb to the root of the subtree delegated to us (the topmost ancestor
	 * that is still ours, like systemd's user@UID.service), which holds only
	 * child cgroups, and put containers there. */
	for (char *slash = strrchr(own, '/'); slash && slash != own; slash = strrchr(own, '/')) {
		_cleanup_free_ char *parent_dir = xasprintf("%s%.*s", m->root, (int)(slash - own), own);
		if (!v2_delegated_to_us(parent_dir))
			break;
		*slash = '\0';
	}
	_cleanup_free_ char *own_dir = xasprintf("%s%s", m->root, own);
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", own_dir);
	if (access(own_dir, W_OK) < 0 || access(procs, W_OK) < 0) {
		m->no_cgroup = true;
		m->skip_limits = true;
		/* A login shell sits in a root-owned session-N.scope, while
		 * systemd delegates only user@UID.service: say how to get there. */
		const char *leaf = strrchr(own, '/');
		bool session = leaf && str_has_prefix(leaf, "/session-") && strlen(leaf) > 6 &&
			       strcmp(leaf + strlen(leaf) - 6, ".scope") == 0;
		if (session)
			m->warning =
			    xasprintf("rootless: cgroup %s is a login session's scope, not delegated to us; "
				      "resource limits ignored (run under `systemd-run --user --scope` "
				      "for the delegated user@%u.service subtree)",
				      own, (unsigned)geteuid());
		else
			m->warning =
			    xasprintf("rootless: cgroup %s is not delegated to us; resource limits ignored",
				      *own ? own : "/");
		return 0;
	}
	char *nested = xasprintf("%s%s", own, m->path);
	free(m->path);
	m->path = nested;
	m->base = xstrdup(own);
	*base = steal_pointer(&own_dir);
	(void)err;
	return 0;
}

static int v2_open_dirfd(struct cgroup_manager *m, struct hangar_error *err)
{
	m->dirfd = open(m->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (m->dirfd < 0)
		return hangar_sys_error(err, "open %s", m->dir);
	return 0;
}

/* A cgroup that was there before: refused when it has processes or is
 * frozen (the container's init would stop before running anything). */
static int v2_check_existing(struct cgroup_manager *m, struct hangar_error *err)
{
	if (cgroup_check_unused(m->dir, m->path, err) < 0)
		return -1;
	_cleanup_free_ char *freeze = NULL, *events = NULL;
	uint64_t frozen = 0;
	if (cgroup_read(m->dir, "cgroup.freeze", &freeze, err) < 0 ||
	    cgroup_read(m->dir, "cgroup.events", &events, err) < 0)
		return hangar_error_prefix(err, "linux.cgroupsPath: cgroup %s", m->path);
	cgroup_keyed_u64(events, "frozen", &frozen);
	if (strcmp(freeze, "0") != 0 || frozen)
		return hangar_error_set(err, HANGAR_E_STATE, 0,
					"linux.cgroupsPath: cgroup %s is frozen; thaw it or use another path",
					m->path);
	return 0;
}

static int v2_create(struct cgroup_manager *m, const struct oci_resources *r, struct hangar_error *err)
{
	if (v2_validate(r, err) < 0)
		return -1;
	_cleanup_free_ char *base = NULL;
	if (m->rootless) {
		if (v2_rootless_base(m, &base, err) < 0)
			return -1;
		if (m->no_cgroup)
			return 0;
	} else {
		base = xstrdup(m->root);
	}
	m->dir = xasprintf("%s%s", m->root, m->path);
	const char *below_base = m->path + (strlen(base) - strlen(m->root));
	if (cgroup_mkdir_path(base, below_base, &m->created_depth, err) < 0)
		return -1;
	if (m->created_depth == 0 && v2_check_existing(m, err) < 0)
		goto fail;
	if (v2_enable_controllers(m, base, r, err) < 0) {
		if (!m->rootless)
			goto fail;
		m->skip_limits = true;
		m->warning = xasprintf("rootless: %s; resource limits ignored", err->msg);
		hangar_error_clear(err);
	}
	if (v2_open_dirfd(m, err) < 0)
		goto fail;
	if (v2_set(m, r, false, err) < 0) {
		/* Rootless: a controller our delegated cgroup does not offer (or
		 * a file we may not write) means no limits, not no container. */
		bool permission_or_missing =
		    err->err_no == ENOENT || err->err_no == EACCES || err->err_no == EPERM;
		if (!m->rootless || !permission_or_missing || m->skip_limits)
			goto fail;
		m->skip_limits = true;
		m->warning = xasprintf("rootless: %s; resource limits ignored", err->msg);
		hangar_error_clear(err);
	}
	return 0;
fail:;
	struct hangar_error ignored;
	if (m->dirfd >= 0) {
		close(m->dirfd);
		m->dirfd = -1;
	}
	cgroup_rmdir_path(m->dir, m->created_depth, &ignored);
	return -1;
}

static int v2_update(struct cgroup_manager *m, const struct oci_resources *r, struct hangar_error *err)
{
	/* A limit the container was created without may need a controller
	 * (hugetlb, rdma, misc) that is not enabled yet. */
	_cleanup_free_ char *base = xasprintf("%s%s", m->root, m->base ? m->base : "");
	if (v2_validate(r, err) < 0 || v2_enable_controllers(m, base, r, err) < 0)
		return -1;
	return v2_set(m, r, true, err);
}

static int v2_enter(struct cgroup_manager *m, pid_t pid, struct hangar_error *err)
{
	_cleanup_free_ char *v = xasprintf("%d", (int)pid);
	if (cgroup_write(m->dir, "cgroup.procs", v, NULL, err) < 0)
		return hangar_error_prefix(err, "move pid %d into cgroup %s", (int)pid, m->path);
	return 0;
}

/* Wait until cgroup.events says "key value".  kernfs signals changes of
 * that file as POLLPRI, so no polling interval is involved. */
static int v2_wait_event(const char *dir, const char *key, uint64_t value, int timeout_ms,
			 struct hangar_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/cgroup.events", dir);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hangar_sys_error(err, "open %s", path);
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ULL;
	for (;;) {
		char buf[512];
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			return hangar_sys_error(err, "read %s", path);
		buf[n] = '\0';
		uint64_t v;
		if (cgroup_keyed_u64(buf, key, &v) == 0 && v == value)
			return 0;
		uint64_t now = now_ns();
		if (now >= deadline)
			return hangar_error_set(err, HANGAR_E_SYS, ETIMEDOUT,
						"%s: %s did not become %" PRIu64, path, key, value);
		struct pollfd pfd = {.fd = fd, .events = POLLPRI};
		int wait_ms = (int)((deadline - now) / 1000000ULL) + 1;
		if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR)
			return hangar_sys_error(err, "poll %s", path);
	}
}

static int v2_set_frozen(struct cgroup_manager *m, bool frozen, struct hangar_error *err)
{
	if (cgroup_write(m->dir, "cgroup.freeze", frozen ? "1" : "0", NULL, err) < 0)
		return -1;
	if (v2_wait_event(m->dir, "frozen", frozen ? 1 : 0, CGROUP_V2_WAIT_MS, err) < 0) {
		if (frozen) {
			/* Do not leave a half-frozen container behind. */
			struct hangar_error ignored;
			cgroup_write(m->dir, "cgroup.freeze", "0", NULL, &ignored);
		}
		return hangar_error_prefix(err, "%s cgroup %s", frozen ? "freeze" : "thaw", m->path);
	}
	return 0;
}

static int v2_is_frozen(struct cgroup_manager *m, bool *frozen, struct hangar_error *err)
{
	/* The requested state, not cgroup.events: a member that is dying from a
	 * fatal signal leaves the freezer for a moment, and a paused container
	 * must not look resumed because of that.  freeze() itself waits for
	 * "frozen 1". */
	_cleanup_free_ char *state = NULL;
	if (cgroup_read(m->dir, "cgroup.freeze", &state, err) < 0)
		return -1;
	*frozen = strcmp(state, "1") == 0;
	return 0;
}

static const char *v2_procs_dir(struct cgroup_manager *m)
{
	return m->dir;
}

int cgroup_signal_all_frozen(struct cgroup_manager *m, int sig, bool can_freeze, struct hangar_error *err)
{
	/* Freezing first means no member can fork a child we would miss.  A
	 * paused container stays paused (the signal is delivered on resume),
	 * except for SIGKILL: v1 frozen tasks only die once thawed. */
	bool was_frozen = false;
	if (can_freeze && m->ops->is_frozen(m, &was_frozen, err) < 0)
		return -1;
	bool froze = can_freeze && !was_frozen && m->ops->set_frozen(m, true, err) == 0;
	pid_t *pids = NULL;
	size_t n = 0;
	int ret = cgroup_collect_pids(m->ops->procs_dir(m), &pids, &n, err);
	for (size_t i = 0; ret == 0 && i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			ret = hangar_sys_error(err, "kill %d", (int)pids[i]);
	free(pids);
	if (froze || (was_frozen && sig == SIGKILL)) {
		struct hangar_error thaw_err;
		if (m->ops->set_frozen(m, false, &thaw_err) < 0 && ret == 0) {
			*err = thaw_err;
			ret = -1;
		}
	}
	return ret;
}

static int v2_kill_all(struct cgroup_manager *m, int sig, struct hangar_error *err)
{
	if (sig == SIGKILL && cgroup_file_exists(m->dir, "cgroup.kill"))
		return cgroup_write(m->dir, "cgroup.kill", "1", NULL, err);
	return cgroup_signal_all_frozen(m, sig, true, err);
}

static int v2_destroy(struct cgroup_manager *m, struct hangar_error *err)
{
	if (access(m->dir, F_OK) < 0 && errno == ENOENT)
		return 0;
	_cleanup_free_ char *events = NULL;
	uint64_t populated = 0;
	if (cgroup_read(m->dir, "cgroup.events", &events, err) < 0)
		return -1;
	if (cgroup_keyed_u64(events, "populated", &populated) == 0 && populated) {
		if (v2_kill_all(m, SIGKILL, err) < 0)
			return hangar_error_prefix(err, "destroy cgroup %s", m->path);
		if (v2_wait_event(m->dir, "populated", 0, CGROUP_V2_WAIT_MS, err) < 0)
			return hangar_error_prefix(err, "destroy cgroup %s", m->path);
	}
	if (m->dirfd >= 0) {
		close(m->dirfd);
		m->dirfd = -1;
	}
	return cgroup_rmdir_path(m->dir, cgroup_destroy_depth(m, m->created_depth), err);
}

static int v2_oom_event_fd(struct cgroup_manager *m, struct hangar_error *err)
{
	_cleanup_close_ int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0)
		return hangar_sys_error(err, "inotify_init1");
	_cleanup_free_ char *path = xasprintf("%s/memory.events", m->dir);
	if (inotify_add_watch(fd, path, IN_MODIFY) < 0)
		return hangar_sys_error(err, "watch %s", path);
	return steal_fd(&fd);
}

/* ---- stats ---- */

static void read_psi(const char *dir, const char *file, struct cgroup_psi *psi)
{
	_cleanup_free_ char *text = NULL;
	struct hangar_error ignored;
	if (cgroup_read(dir, file, &text, &ignored) == 0)
		cgroup_parse_psi(text, psi);
}

static void keyed(const char *text, const char *key, uint64_t *out, uint64_t scale)
{
	uint64_t v;
	if (text && cgroup_keyed_u64(text, key, &v) == 0)
		*out = v * scale;
}

static void v2_stats_io(const char *dir, struct cgroup_stats *st)
{
	_cleanup_free_ char *text = NULL;
	struct hangar_error ignored;
	if (cgroup_read(dir, "io.stat", &text, &ignored) < 0)
		return;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned maj, min;
		int off = 0;
		if (sscanf(line, "%u:%u%n", &maj, &min, &off) != 2)
			continue;
		struct cgroup_io_stat *grown = realloc(st->io, (st->n_io + 1) * sizeof(*st->io));
		if (grown == NULL)
			abort();
		st->io = grown;
		struct cgroup_io_stat *io = &st->io[st->n_io++];
		memset(io, 0, sizeof(*io));
		io->major = maj;
		io->minor = min;
		char *save2 = NULL;
		for (char *f = strtok_r(line + off, " ", &save2); f; f = strtok_r(NULL, " ", &save2)) {
			unsigned long long v;
			if (sscanf(f, "rbytes=%llu", &v) == 1)
				io->read_bytes = v;
			else if (sscanf(f, "wbytes=%llu", &v) == 1)
				io->write_bytes = v;
			else if (sscanf(f, "rios=%llu", &v) == 1)
				io->read_ops = v;
			else if (sscanf(f, "wios=%llu", &v) == 1)
				io->write_ops = v;
		}
	}
}

static void v2_fill_hugetlb(const char *dir, const char *size, struct cgroup_hugetlb_stat *h)
{
	struct hangar_error ignored;
	_cleanup_free_ char *cur = xasprintf("hugetlb.%s.current", size);
	_cleanup_free_ char *max = xasprintf("hugetlb.%s.max", size);
	_cleanup_free_ char *events = xasprintf("hugetlb.%s.events", size);
	_cleanup_free_ char *ev = NULL;
	cgroup_read_u64(dir, cur, &h->usage, &ignored);
	cgroup_read_u64(dir, max, &h->max, &ignored);
	if (cgroup_read(dir, events, &ev, &ignored) == 0)
		keyed(ev, "max", &h->failcnt, 1);
}

static int v2_stats(struct cgroup_manager *m, struct cgroup_stats *st, struct hangar_error *err)
{
	const char *dir = m->dir;
	struct hangar_error ignored;
	_cleanup_free_ char *cpu = NULL, *mstat = NULL, *mevents = NULL;
	if (cgroup_read(dir, "cpu.stat", &cpu, err) < 0)
		return hangar_error_prefix(err, "stats for %s", m->path);
	keyed(cpu, "usage_usec", &st->cpu_usage_ns, 1000);
	keyed(cpu, "user_usec", &st->cpu_user_ns, 1000);
	keyed(cpu, "system_usec", &st->cpu_system_ns, 1000);
	keyed(cpu, "nr_periods", &st->cpu_nr_periods, 1);
	keyed(cpu, "nr_throttled", &st->cpu_nr_throttled, 1);
	keyed(cpu, "throttled_usec", &st->cpu_throttled_ns, 1000);

	st->mem_limit = st->mem_swap_limit = st->pids_limit = CGROUP_STAT_UNLIMITED;
	cgroup_read_u64(dir, "memory.current", &st->mem_usage, &ignored);
	if (cgroup_read_u64(dir, "memory.peak", &st->mem_peak, &ignored) < 0)
		st->mem_peak = st->mem_usage;
	cgroup_read_u64(dir, "memory.max", &st->mem_limit, &ignored);
	if (cgroup_read(dir, "memory.stat", &mstat, &ignored) == 0) {
		keyed(mstat, "file", &st->mem_cache, 1);
		keyed(mstat, "anon", &st->mem_anon, 1);
		cgroup_parse_keyed(mstat, &st->mem_raw, &st->n_mem_raw);
	}
	if (cgroup_read(dir, "memory.events", &mevents, &ignored) == 0) {
		keyed(mevents, "max", &st->mem_failcnt, 1);
		keyed(mevents, "oom", &st->mem_oom, 1);
		keyed(mevents, "oom_kill", &st->mem_oom_kill, 1);
	}
	/* runc reports swap as memory+swap, like v1's memsw. */
	uint64_t swap_cur = 0, swap_max = CGROUP_STAT_UNLIMITED;
	if (cgroup_read_u64(dir, "memory.swap.current", &swap_cur, &ignored) == 0)
		st->mem_swap_usage = swap_cur + st->mem_usage;
	cgroup_read_u64(dir, "memory.swap.max", &swap_max, &ignored);
	if (swap_max != CGROUP_STAT_UNLIMITED && st->mem_limit != CGROUP_STAT_UNLIMITED)
		st->mem_swap_limit = swap_max + st->mem_limit;

	cgroup_read_u64(dir, "pids.current", &st->pids_current, &ignored);
	cgroup_read_u64(dir, "pids.max", &st->pids_limit, &ignored);
	v2_stats_io(dir, st);
	cgroup_stats_scan_hugetlb(dir, "current", v2_fill_hugetlb, st);
	read_psi(dir, "cpu.pressure", &st->psi_cpu);
	read_psi(dir, "memory.pressure", &st->psi_memory);
	read_psi(dir, "io.pressure", &st->psi_io);
	return 0;
}

/* ---- persistence ---- */

static void v2_serialize(struct cgroup_manager *m, json_object *obj)
{
	json_object_object_add(obj, "created_depth", json_object_new_int(m->created_depth));
	if (m->base)
		json_object_object_add(obj, "base", json_object_new_string(m->base));
}

static int v2_deserialize(struct cgroup_manager *m, json_object *obj, struct hangar_error *err)
{
	json_object *v;
	if (json_object_object_get_ex(obj, "created_depth", &v))
		m->created_depth = json_object_get_int(v);
	if (json_object_object_get_ex(obj, "base", &v) && json_object_is_type(v, json_type_string))
		m->base = xstrdup(json_object_get_string(v));
	if (m->no_cgroup)
		return 0;
	m->dir = xasprintf("%s%s", m->root, m->path);
	/* A cgroup removed behind our back must still be openable so that
	 * delete can finish; the operations then report what is missing. */
	if (v2_open_dirfd(m, err) < 0 && err->err_no != ENOENT)
		return -1;
	hangar_error_clear(err);
	return 0;
}

const struct cgroup_ops cgroup_v2_ops = {
    .name = "v2",
    .create = v2_create,
    .update = v2_update,
    .enter = v2_enter,
    .set_frozen = v2_set_frozen,
    .is_frozen = v2_is_frozen,
    .kill_all = v2_kill_all,
    .procs_dir = v2_procs_dir,
    .stats = v2_stats,
    .destroy = v2_destroy,
    .oom_event_fd = v2_oom_event_fd,
    .serialize = v2_serialize,
    .deserialize = v2_deserialize,
    .free = NULL,
};
