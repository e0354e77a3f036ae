/* SPDX-License-Identifier: GPL-2.0-or-later */
/* struct cgroup_stats -> the "data" object of `runc events --stats`
 * (runc's events/types.go), so tools that parse runc's output parse ours. */
#include <stdlib.h>
#include <string.h>

#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/util.h"

static json_object *u64(uint64_t v)
{
	/* json-c keeps uint64 exactly (runc prints unlimited as 2^64-1). */
	return json_object_new_uint64(v);
}

/* runc's omitempty: zero values are left out. */
static void add_nonzero(json_object *obj, const char *key, uint64_t v)
{
	if (v)
		json_object_object_add(obj, key, u64(v));
}

static void add_array(json_object *obj, const char *key, const uint64_t *v, size_t n)
{
	if (n == 0)
		return;
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, u64(v[i]));
	json_object_object_add(obj, key, arr);
}

static json_object *psi_line(const struct cgroup_psi_line *l)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "avg10", json_object_new_double(l->avg10));
	json_object_object_add(o, "avg60", json_object_new_double(l->avg60));
	json_object_object_add(o, "avg300", json_object_new_double(l->avg300));
	json_object_object_add(o, "total", u64(l->total));
	return o;
}

static void add_psi(json_object *obj, const struct cgroup_psi *psi)
{
	if (!psi->present)
		return;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "some", psi_line(&psi->some));
	if (psi->has_full)
		json_object_object_add(o, "full", psi_line(&psi->full));
	json_object_object_add(obj, "psi", o);
}

static json_object *memory_entry(uint64_t limit, uint64_t usage, uint64_t max, uint64_t failcnt)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "limit", u64(limit));
	add_nonzero(o, "usage", usage);
	add_nonzero(o, "max", max);
	json_object_object_add(o, "failcnt", u64(failcnt));
	return o;
}

static json_object *blkio_entries(const struct cgroup_stats *st, bool ops)
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < st->n_io; i++) {
		const struct cgroup_io_stat *io = &st->io[i];
		const struct {
			const char *op;
			uint64_t v;
		} rows[] = {
		    {"Read", ops ? io->read_ops : io->read_bytes},
		    {"Write", ops ? io->write_ops : io->write_bytes},
		    {"Total", ops ? io->read_ops + io->write_ops : io->read_bytes + io->write_bytes},
		};
		for (size_t r = 0; r < ARRAY_SIZE(rows); r++) {
			json_object *e = json_object_new_object();
			add_nonzero(e, "major", io->major);
			add_nonzero(e, "minor", io->minor);
			json_object_object_add(e, "op", json_object_new_string(rows[r].op));
			add_nonzero(e, "value", rows[r].v);
			json_object_array_add(arr, e);
		}
	}
	return arr;
}

char *cgroup_stats_to_runc_json(const struct cgroup_stats *st)
{
	json_object *data = json_object_new_object();

	json_object *cpu = json_object_new_object(), *usage = json_object_new_object();
	add_nonzero(usage, "total", st->cpu_usage_ns);
	add_array(usage, "percpu", st->cpu_percpu_ns, st->n_cpu_percpu);
	add_array(usage, "percpu_kernel", st->cpu_percpu_system_ns, st->n_cpu_percpu_system);
	add_array(usage, "percpu_user", st->cpu_percpu_user_ns, st->n_cpu_percpu_user);
	json_object_object_add(usage, "kernel", u64(st->cpu_system_ns));
	json_object_object_add(usage, "user", u64(st->cpu_user_ns));
	json_object_object_add(cpu, "usage", usage);
	json_object *thr = json_object_new_object();
	add_nonzero(thr, "periods", st->cpu_nr_periods);
	add_nonzero(thr, "throttledPeriods", st->cpu_nr_throttled);
	add_nonzero(thr, "throttledTime", st->cpu_throttled_ns);
	json_object_object_add(cpu, "throttling", thr);
	add_psi(cpu, &st->psi_cpu);
	json_object_object_add(data, "cpu", cpu);

	json_object_object_add(data, "cpuset", json_object_new_object());

	json_object *mem = json_object_new_object();
	add_nonzero(mem, "cache", st->mem_cache);
	json_object_object_add(mem, "usage",
			       memory_entry(st->mem_limit, st->mem_usage, st->mem_peak, st->mem_failcnt));
	json_object_object_add(mem, "swap", memory_entry(st->mem_swap_limit, st->mem_swap_usage, 0, 0));
	json_object_object_add(mem, "kernel", memory_entry(0, 0, 0, 0));
	json_object_object_add(mem, "kernelTCP", memory_entry(0, 0, 0, 0));
	if (st->n_mem_raw) {
		json_object *raw = json_object_new_object();
		for (size_t i = 0; i < st->n_mem_raw; i++)
			json_object_object_add(raw, st->mem_raw[i].key, u64(st->mem_raw[i].value));
		json_object_object_add(mem, "raw", raw);
	}
	add_psi(mem, &st->psi_memory);
	json_object_object_add(data, "memory", mem);

	json_object *pids = json_object_new_object();
	add_nonzero(pids, "current", st->pids_current);
	/* runc reports no limit as 0 (omitted). */
	add_nonzero(pids, "limit", st->pids_limit == CGROUP_STAT_UNLIMITED ? 0 : st->pids_limit);
	json_object_object_add(data, "pids", pids);

	json_object *blkio = json_object_new_object();
	if (st->n_io) {
		json_object_object_add(blkio, "ioServiceBytesRecursive", blkio_entries(st, false));
		json_object_object_add(blkio, "ioServicedRecursive", blkio_entries(st, true));
	}
	add_psi(blkio, &st->psi_io);
	json_object_object_add(data, "blkio", blkio);

	json_object *hugetlb = json_object_new_object();
	for (size_t i = 0; i < st->n_hugetlb; i++) {
		json_object *h = json_object_new_object();
		add_nonzero(h, "usage", st->hugetlb[i].usage);
		add_nonzero(h, "max", st->hugetlb[i].max);
		json_object_object_add(h, "failcnt", u64(st->hugetlb[i].failcnt));
		json_object_object_add(hugetlb, st->hugetlb[i].page_size, h);
	}
	json_object_object_add(data, "hugetlb", hugetlb);
	json_object_object_add(data, "intel_rdt", json_object_new_object());
	json_object_object_add(data, "network_interfaces", NULL);

	char *s = xstrdup(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN));
	json_object_put(data);
	return s;
}
