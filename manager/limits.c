/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Instance limits: flag parsing and conversion to linux.resources. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "manager/instance.h"

#define CPU_PERIOD_US 100000

int instance_parse_cpus(const char *s, uint64_t *quota, uint64_t *period, struct hangar_error *err)
{
	char *end = NULL;
	errno = 0;
	double cpus = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !isfinite(cpus))
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "--cpus %s: not a number", s);
	/* The kernel's minimum quota is 1 ms; 0.01 CPU is 1 ms per 100 ms period. */
	if (cpus < 0.01 || cpus > 4096)
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "--cpus %s: must be between 0.01 and 4096", s);
	*period = CPU_PERIOD_US;
	*quota = (uint64_t)(cpus * CPU_PERIOD_US + 0.5);
	return 0;
}

static int device_numbers(const char *dev, int64_t *major_out, int64_t *minor_out, struct hangar_error *err)
{
	unsigned maj, min;
	char tail;
	if (sscanf(dev, "%u:%u%c", &maj, &min, &tail) == 2) {
		*major_out = maj;
		*minor_out = min;
		return 0;
	}
	struct stat st;
	if (stat(dev, &st) < 0)
		return hangar_error_set(err, HANGAR_E_USAGE, errno, "--io-max device %s", dev);
	if (!S_ISBLK(st.st_mode))
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "--io-max device %s: not a block device", dev);
	*major_out = major(st.st_rdev);
	*minor_out = minor(st.st_rdev);
	return 0;
}

/* DEV:rbps=N,wbps=N,riops=N,wiops=N where DEV is a path or MAJ:MIN; the
 * device part ends at the last ':' before the first '='. */
int instance_parse_io_max(const char *s, struct instance_io_max *out, struct hangar_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *eq = strchr(s, '=');
	if (eq == NULL)
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"--io-max %s: expected DEV:rbps=N,wbps=N,riops=N,wiops=N", s);
	const char *colon = NULL;
	for (const char *c = s; c < eq; c++)
		if (*c == ':')
			colon = c;
	if (colon == NULL || colon == s)
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "--io-max %s: missing device before ':'", s);
	_cleanup_free_ char *dev = strndup(s, (size_t)(colon - s));
	if (device_numbers(dev, &out->major, &out->minor, err) < 0)
		return -1;
	_cleanup_free_ char *list = xstrdup(colon + 1);
	char *save = NULL;
	bool any = false;
	for (char *kv = strtok_r(list, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		if (v == NULL)
			return hangar_error_set(err, HANGAR_E_USAGE, 0, "--io-max %s: '%s' is not KEY=VALUE", s, kv);
		*v++ = '\0';
		uint64_t n;
		bool is_bytes = strcmp(kv, "rbps") == 0 || strcmp(kv, "wbps") == 0;
		int r = is_bytes ? parse_size(v, &n, err) : parse_u64(v, &n);
		if (r < 0 || n == 0)
			return hangar_error_set(err, HANGAR_E_USAGE, 0, "--io-max %s: bad %s value '%s'", s, kv, v);
		if (strcmp(kv, "rbps") == 0)
			out->rbps = n;
		else if (strcmp(kv, "wbps") == 0)
			out->wbps = n;
		else if (strcmp(kv, "riops") == 0)
			out->riops = n;
		else if (strcmp(kv, "wiops") == 0)
			out->wiops = n;
		else
			return hangar_error_set(err, HANGAR_E_USAGE, 0,
						"--io-max %s: unknown key '%s' (rbps, wbps, riops, wiops)", s, kv);
		any = true;
	}
	if (!any)
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "--io-max %s: no limit given", s);
	out->device = steal_pointer(&dev);
	return 0;
}

int instance_parse_mount(const char *s, struct instance_mount *out, struct hangar_error *err)
{
	memset(out, 0, sizeof(*out));
	_cleanup_free_ char *copy = xstrdup(s);
	char *dst = strchr(copy, ':');
	if (dst == NULL)
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "--mount %s: expected SRC:DST[:ro]", s);
	*dst++ = '\0';
	char *mode = strchr(dst, ':');
	bool ro = false;
	if (mode) {
		*mode++ = '\0';
		if (strcmp(mode, "ro") == 0)
			ro = true;
		else if (strcmp(mode, "rw") != 0)
			return hangar_error_set(err, HANGAR_E_USAGE, 0, "--mount %s: mode '%s' is not ro or rw", s,
						mode);
	}
	if (copy[0] != '/' || dst[0] != '/')
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "--mount %s: both paths must be absolute", s);
	struct stat st;
	if (stat(copy, &st) < 0)
		return hangar_error_set(err, HANGAR_E_USAGE, errno, "--mount source %s", copy);
	out->source = xstrdup(copy);
	out->destination = xstrdup(dst);
	out->readonly = ro;
	return 0;
}

void instance_limits_clear(struct instance_limits *l)
{
	free(l->cpuset);
	for (size_t i = 0; i < l->n_io_max; i++)
		free(l->io_max[i].device);
	free(l->io_max);
	memset(l, 0, sizeof(*l));
}

void instance_limits_merge(struct instance_limits *dst, const struct instance_limits *src)
{
	if (src->has_memory) {
		dst->has_memory = true;
		dst->memory = src->memory;
	}
	if (src->has_cpus) {
		dst->has_cpus = true;
		dst->cpu_quota = src->cpu_quota;
		dst->cpu_period = src->cpu_period;
	}
	if (src->cpuset) {
		free(dst->cpuset);
		dst->cpuset = xstrdup(src->cpuset);
	}
	if (src->has_io_weight) {
		dst->has_io_weight = true;
		dst->io_weight = src->io_weight;
	}
	if (src->has_pids) {
		dst->has_pids = true;
		dst->pids = src->pids;
	}
	for (size_t i = 0; i < src->n_io_max; i++) {
		const struct instance_io_max *s = &src->io_max[i];
		struct instance_io_max *d = NULL;
		for (size_t j = 0; j < dst->n_io_max; j++)
			if (dst->io_max[j].major == s->major && dst->io_max[j].minor == s->minor)
				d = &dst->io_max[j];
		if (d == NULL) {
			dst->io_max = realloc(dst->io_max, (dst->n_io_max + 1) * sizeof(*dst->io_max));
			if (dst->io_max == NULL)
				abort();
			d = &dst->io_max[dst->n_io_max++];
			memset(d, 0, sizeof(*d));
			d->major = s->major;
			d->minor = s->minor;
			d->device = xstrdup(s->device);
		}
		if (s->rbps)
			d->rbps = s->rbps;
		if (s->wbps)
			d->wbps = s->wbps;
		if (s->riops)
			d->riops = s->riops;
		if (s->wiops)
			d->wiops = s->wiops;
	}
}

static void add_throttle(struct oci_throttle_device **v, size_t *n, const struct instance_io_max *io, uint64_t rate)
{
	if (rate == 0)
		return;
	*v = realloc(*v, (*n + 1) * sizeof(**v));
	if (*v == NULL)
		abort();
	(*v)[(*n)++] = (struct oci_throttle_device){.major = io->major, .minor = io->minor, .rate = rate};
}

int instance_limits_to_oci(const struct instance_limits *l, struct oci_resources *r, struct hangar_error *err)
{
	if (l->has_memory) {
		if (l->memory > INT64_MAX)
			return hangar_error_set(err, HANGAR_E_USAGE, 0, "--memory %" PRIu64 ": too large", l->memory);
		r->present = r->memory.present = r->memory.has_limit = true;
		r->memory.limit = (int64_t)l->memory;
	}
	if (l->has_cpus) {
		r->present = r->cpu.present = r->cpu.has_quota = r->cpu.has_period = true;
		r->cpu.quota = (int64_t)l->cpu_quota;
		r->cpu.period = l->cpu_period;
	}
	if (l->cpuset) {
		r->present = r->cpu.present = true;
		free(r->cpu.cpus);
		r->cpu.cpus = xstrdup(l->cpuset);
	}
	if (l->has_io_weight) {
		if (l->io_weight < 10 || l->io_weight > 1000)
			return hangar_error_set(err, HANGAR_E_USAGE, 0, "--io-weight %u: must be between 10 and 1000",
						l->io_weight);
		r->present = r->blkio.present = r->blkio.has_weight = true;
		r->blkio.weight = l->io_weight;
	}
	for (size_t i = 0; i < l->n_io_max; i++) {
		const struct instance_io_max *io = &l->io_max[i];
		r->present = r->blkio.present = true;
		add_throttle(&r->blkio.throttle_read_bps, &r->blkio.n_throttle_read_bps, io, io->rbps);
		add_throttle(&r->blkio.throttle_write_bps, &r->blkio.n_throttle_write_bps, io, io->wbps);
		add_throttle(&r->blkio.throttle_read_iops, &r->blkio.n_throttle_read_iops, io, io->riops);
		add_throttle(&r->blkio.throttle_write_iops, &r->blkio.n_throttle_write_iops, io, io->wiops);
	}
	if (l->has_pids) {
		r->present = r->has_pids_limit = true;
		r->pids_limit = l->pids;
	}
	return 0;
}
