/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "cli/hangar-oci/verbs.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/resources.h"
#include "runtime/state.h"

static void update_usage(void)
{
	printf("usage: hangar-oci update [options] <container-id>\n\n"
	       "   -r, --resources FILE       linux.resources JSON (\"-\" reads stdin)\n"
	       "   --blkio-weight N           block IO weight (10-1000)\n"
	       "   --cpu-period N             CPU CFS period (us)\n"
	       "   --cpu-quota N              CPU CFS quota (us), -1 for none\n"
	       "   --cpu-share N              CPU shares (relative weight)\n"
	       "   --cpu-burst N              CPU burst (us)\n"
	       "   --cpu-idle N               SCHED_IDLE for the cgroup (0 or 1, v2)\n"
	       "   --cpu-rt-period N          realtime period (us, v1)\n"
	       "   --cpu-rt-runtime N         realtime runtime (us, v1)\n"
	       "   --cpuset-cpus LIST         CPUs to run on (0-3,5)\n"
	       "   --cpuset-mems LIST         memory nodes\n"
	       "   --memory SIZE              memory limit (512M, 2G, -1 unlimited)\n"
	       "   --memory-reservation SIZE  soft limit\n"
	       "   --memory-swap SIZE         memory+swap limit (-1 unlimited)\n"
	       "   --pids-limit N             maximum number of pids (-1 / 0 unlimited)\n");
}

static int parse_mem(const char *flag, const char *v, int64_t *out)
{
	if (strcmp(v, "-1") == 0) {
		*out = -1;
		return 0;
	}
	uint64_t b;
	struct hangar_error err;
	if (parse_size(v, &b, &err) < 0 || b > INT64_MAX) {
		cli_error("update: invalid --%s value '%s'", flag, v);
		return -1;
	}
	*out = (int64_t)b;
	return 0;
}

static int parse_num(const char *flag, const char *v, int64_t *out)
{
	if (parse_i64(v, out) < 0) {
		cli_error("update: invalid --%s value '%s'", flag, v);
		return -1;
	}
	return 0;
}

/* `-r -`: fd 0 itself.  Opening /dev/stdin re-opens the file behind it,
 * which fails (ENXIO) when stdin is a socket, as under a supervisor. */
static int read_stdin(char **out)
{
	struct hangar_error err;
	if (read_fd_all(STDIN_FILENO, "resources from stdin", out, NULL, &err) < 0) {
		cli_error("update: %s", err.msg);
		return -1;
	}
	return 0;
}

int cmd_update(int argc, char **argv)
{
	enum {
		O_BLKIO = 256, O_CPUPERIOD, O_CPUQUOTA, O_CPUSHARE, O_CPUBURST, O_CPUIDLE, O_RTPERIOD, O_RTRUNTIME,
		O_CPUS, O_MEMS, O_MEM, O_MEMRES, O_SWAP, O_PIDS, O_KMEM, O_L3, O_MEMBW
	};
	static const struct option opts[] = {
		{"resources", required_argument, NULL, 'r'},
		{"blkio-weight", required_argument, NULL, O_BLKIO},
		{"cpu-period", required_argument, NULL, O_CPUPERIOD},
		{"cpu-quota", required_argument, NULL, O_CPUQUOTA},
		{"cpu-share", required_argument, NULL, O_CPUSHARE},
		{"cpu-shares", required_argument, NULL, O_CPUSHARE},
		{"cpu-burst", required_argument, NULL, O_CPUBURST},
		{"cpu-idle", required_argument, NULL, O_CPUIDLE},
		{"cpu-rt-period", required_argument, NULL, O_RTPERIOD},
		{"cpu-rt-runtime", required_argument, NULL, O_RTRUNTIME},
		{"cpuset-cpus", required_argument, NULL, O_CPUS},
		{"cpuset-mems", required_argument, NULL, O_MEMS},
		{"memory", required_argument, NULL, O_MEM},
		{"memory-reservation", required_argument, NULL, O_MEMRES},
		{"memory-swap", required_argument, NULL, O_SWAP},
		{"pids-limit", required_argument, NULL, O_PIDS},
		{"kernel-memory", required_argument, NULL, O_KMEM},
		{"kernel-memory-tcp", required_argument, NULL, O_KMEM},
		{"l3-cache-schema", required_argument, NULL, O_L3},
		{"mem-bw-schema", required_argument, NULL, O_MEMBW},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct oci_resources r;
	memset(&r, 0, sizeof(r));
	const char *file = NULL;
	bool any_flag = false;
	int c, rc = 1;
	int64_t v;
	struct hangar_error err;
	while ((c = cli_getopt(argc, argv, "+r:h", opts)) != -1) {
		if (c != 'r' && c != 'h')
			any_flag = true;
		switch (c) {
		case 'r':
			file = optarg;
			break;
		case O_BLKIO:
			if (parse_num("blkio-weight", optarg, &v) < 0 || v < 0 || v > 1000)
				goto bad;
			r.blkio.present = r.blkio.has_weight = true;
			r.blkio.weight = (uint16_t)v;
			break;
		case O_CPUPERIOD:
			if (parse_num("cpu-period", optarg, &v) < 0 || v < 0)
				goto bad;
			r.cpu.present = r.cpu.has_period = true;
			r.cpu.period = (uint64_t)v;
			break;
		case O_CPUQUOTA:
			if (parse_num("cpu-quota", optarg, &v) < 0)
				goto bad;
			r.cpu.present = r.cpu.has_quota = true;
			r.cpu.quota = v;
			break;
		case O_CPUSHARE:
			if (parse_num("cpu-share", optarg, &v) < 0 || v < 0)
				goto bad;
			r.cpu.present = r.cpu.has_shares = true;
			r.cpu.shares = (uint64_t)v;
			break;
		case O_CPUBURST:
			if (parse_num("cpu-burst", optarg, &v) < 0 || v < 0)
				goto bad;
			r.cpu.present = r.cpu.has_burst = true;
			r.cpu.burst = (uint64_t)v;
			break;
		case O_CPUIDLE:
			if (parse_num("cpu-idle", optarg, &v) < 0)
				goto bad;
			r.cpu.present = r.cpu.has_idle = true;
			r.cpu.idle = v;
			break;
		case O_RTPERIOD:
			if (parse_num("cpu-rt-period", optarg, &v) < 0 || v < 0)
				goto bad;
			r.cpu.present = r.cpu.has_realtime_period = true;
			r.cpu.realtime_period = (uint64_t)v;
			break;
		case O_RTRUNTIME:
			if (parse_num("cpu-rt-runtime", optarg, &v) < 0)
				goto bad;
			r.cpu.present = r.cpu.has_realtime_runtime = true;
			r.cpu.realtime_runtime = v;
			break;
		case O_CPUS:
			r.cpu.present = true;
			free(r.cpu.cpus);
			r.cpu.cpus = xstrdup(optarg);
			break;
		case O_MEMS:
			r.cpu.present = true;
			free(r.cpu.mems);
			r.cpu.mems = xstrdup(optarg);
			break;
		case O_MEM:
			if (parse_mem("memory", optarg, &v) < 0)
				goto bad;
			r.memory.present = r.memory.has_limit = true;
			r.memory.limit = v;
			break;
		case O_MEMRES:
			if (parse_mem("memory-reservation", optarg, &v) < 0)
				goto bad;
			r.memory.present = r.memory.has_reservation = true;
			r.memory.reservation = v;
			break;
		case O_SWAP:
			if (parse_mem("memory-swap", optarg, &v) < 0)
				goto bad;
			r.memory.present = r.memory.has_swap = true;
			r.memory.swap = v;
			break;
		case O_PIDS:
			if (parse_num("pids-limit", optarg, &v) < 0)
				goto bad;
			r.has_pids_limit = true;
			r.pids_limit = v;
			break;
		case O_KMEM:
			cli_warn("update: kernel memory limits are deprecated and ignored");
			break;
		case O_L3:
		case O_MEMBW:
			cli_error("update: Intel RDT is not supported by hangar-oci");
			goto out;
		case 'h':
			update_usage();
			rc = 0;
			goto out;
		default:
			rc = cli_usage_error("update", "invalid flag");
			goto out;
		}
	}
	if (optind != argc - 1) {
		rc = cli_usage_error("update", "requires exactly 1 argument: the container id");
		goto out;
	}
	if (file) {
		if (any_flag) {
			cli_error("update: use either --resources or individual flags, not both");
			goto out;
		}
		_cleanup_free_ char *text = NULL;
		if (strcmp(file, "-") == 0) {
			if (read_stdin(&text) < 0)
				goto out;
		} else if (read_file_at(AT_FDCWD, file, &text, NULL, &err) < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		oci_resources_clear(&r);
		if (oci_resources_parse(text, &r, &err) < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		if (r.n_devices > 0)
			cli_warn("update: linux.resources.devices is ignored (as in runc): the device policy "
				 "is set at create");
	}
	r.present = true;
	if (container_update_resources(oci_root(), argv[optind], &r, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	rc = 0;
	goto out;
bad:
	rc = 1;
out:
	oci_resources_clear(&r);
	return rc;
}
