/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgroups/cgroup.h"
#include "cli/hangar/hangar.h"
#include "common/cleanup.h"
#include "common/util.h"

static void print_strv(const char *label, char *const *v)
{
	printf("%-12s", label);
	if (v == NULL || v[0] == NULL)
		printf(" -");
	for (size_t i = 0; v && v[i]; i++)
		printf(" %s", v[i]);
	printf("\n");
}

/* One line per attachment: "address:     eth0 10.213.0.2/24 fd68::2/64 (hangar0)". */
static void print_addresses(const struct hangar_paths *p, const char *name)
{
	struct network_attachment *att = NULL;
	size_t n = 0;
	struct hangar_error err;
	if (hangar_instance_attachments(p, name, &att, &n, &err) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		char a4[INET6_ADDRSTRLEN + 4] = "", a6[INET6_ADDRSTRLEN + 4] = "";
		if (att[i].has_ipv4)
			net_prefix_format(&att[i].ipv4, true, a4, sizeof(a4));
		if (att[i].has_ipv6)
			net_prefix_format(&att[i].ipv6, true, a6, sizeof(a6));
		printf("%-12s %s%s%s%s%s (%s)\n", "address:", att[i].ifname, a4[0] ? " " : "", a4,
		       a6[0] ? " " : "", a6, att[i].network);
	}
	network_attachments_free(att, n);
}

static void print_limits(const struct instance_limits *l)
{
	char buf[32];
	printf("limits:\n");
	if (l->has_memory) {
		format_bytes(l->memory, buf, sizeof(buf));
		printf("  memory     %s\n", buf);
	}
	if (l->has_cpus)
		printf("  cpus       %.2f (quota %" PRIu64 " / period %" PRIu64 ")\n",
		       (double)l->cpu_quota / (double)l->cpu_period, l->cpu_quota, l->cpu_period);
	if (l->cpuset)
		printf("  cpuset     %s\n", l->cpuset);
	if (l->has_io_weight)
		printf("  io-weight  %u\n", l->io_weight);
	for (size_t i = 0; i < l->n_io_max; i++) {
		const struct instance_io_max *io = &l->io_max[i];
		printf("  io-max     %s (%" PRId64 ":%" PRId64 ") rbps=%" PRIu64 " wbps=%" PRIu64 " riops=%" PRIu64
		       " wiops=%" PRIu64 "\n",
		       io->device ? io->device : "?", io->major, io->minor, io->rbps, io->wbps, io->riops, io->wiops);
	}
	if (l->has_pids) {
		if (l->pids > 0)
			printf("  pids       %" PRId64 "\n", l->pids);
		else
			printf("  pids       max\n");
	}
}

/* instance.json as stored, plus the live state. */
static int print_json(const struct hangar_paths *p, const struct instance *inst, const struct instance_runtime *rt)
{
	_cleanup_free_ char *path = xasprintf("%s/instance.json", inst->dir);
	_cleanup_free_ char *text = NULL;
	struct hangar_error err;
	if (read_file_at(AT_FDCWD, path, &text, NULL, &err) < 0)
		return hangar_fail(&err);
	json_object *o = json_tokener_parse(text);
	if (o == NULL) {
		cli_error("%s: not JSON", path);
		return HANGAR_EXIT_FAILURE;
	}
	json_object_object_add(o, "state", json_object_new_string(instance_status_name(rt->status)));
	json_object_object_add(o, "pid", rt->init_pid ? json_object_new_int(rt->init_pid) : NULL);
	json_object_object_add(o, "monitor_pid", rt->monitor_pid ? json_object_new_int(rt->monitor_pid) : NULL);
	json_object_object_add(o, "started", rt->started && rt->init_pid ? json_object_new_int64(rt->started) : NULL);
	json_object_object_add(o, "exit_code", rt->has_exit && !rt->init_pid ? json_object_new_int(rt->exit_code) : NULL);
	json_object_object_add(o, "leftovers", json_object_new_boolean(rt->leftovers));
	json_object_object_add(o, "addresses", hangar_instance_addresses_json(p, inst->name, NULL));
	struct cgroup_stats st;
	if (rt->init_pid && hangar_instance_stats(p, inst->name, &st, &err) == 0) {
		json_object_object_add(o, "memory_usage", json_object_new_uint64(st.mem_usage));
		json_object_object_add(o, "oom_kills", json_object_new_uint64(st.mem_oom_kill));
		json_object_object_add(o, "processes", json_object_new_uint64(st.pids_current));
		cgroup_stats_clear(&st);
	}
	json_object_object_add(o, "root", json_object_new_string(inst->rootfs));
	json_object_object_add(o, "log", json_object_new_string(inst->log_path));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

int cmd_info(int argc, char **argv)
{
	bool json = false;
	const char *name = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: hangar info [--format text|json] NAME\n\n"
			       "Show an instance: image, command, network and addresses, published ports,\n"
			       "mounts, saved limits, state, pids, live memory and the last exit status.\n"
			       "--format json prints instance.json plus the live state.\n\n"
			       "example:\n   hangar info web\n   hangar info --format json web | jq .state\n");
			return 0;
		}
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			const char *f = argv[++i];
			if (strcmp(f, "json") == 0)
				json = true;
			else if (strcmp(f, "text") != 0)
				return hangar_usage("info", "--format %s: text or json", f);
		} else if (strcmp(argv[i], "--format=json") == 0) {
			json = true;
		} else if (argv[i][0] == '-') {
			return hangar_usage("info", "unknown option '%s'", argv[i]);
		} else if (name) {
			return hangar_usage("info", "exactly one instance name is required");
		} else {
			name = argv[i];
		}
	}
	if (name == NULL)
		return hangar_usage("info", "exactly one instance name is required");
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL)
		return HANGAR_EXIT_FAILURE;
	struct hangar_error err;
	hangar_error_clear(&err);
	struct instance *inst = NULL;
	if (instance_load(p, name, &inst, &err) < 0)
		return hangar_fail(&err);
	struct instance_runtime rt;
	instance_get_runtime(p, inst, &rt, &err);
	if (json) {
		int rc = print_json(p, inst, &rt);
		instance_free(inst);
		return rc;
	}
	printf("%-12s %s\n", "name:", inst->name);
	printf("%-12s %s%s\n", "state:", instance_status_name(rt.status), rt.leftovers ? " (leftovers of a dead run)" : "");
	printf("%-12s %s\n", "image:", inst->image);
	printf("%-12s %s\n", "created:", inst->created ? inst->created : "-");
	printf("%-12s %s\n", "hostname:", inst->hostname ? inst->hostname : inst->name);
	if (inst->init)
		printf("%-12s /sbin/init (--init)\n", "command:");
	else
		print_strv("command:", inst->cmd ? inst->cmd : (char *[]){"/bin/sh", NULL});
	print_strv("env:", inst->env);
	print_strv("network:", inst->networks);
	_cleanup_free_ char *ip = hangar_instance_ipv4(p, inst->name);
	printf("%-12s %s\n", "ipv4:", ip ? ip : "-");
	print_addresses(p, inst->name);
	print_strv("publish:", inst->publish);
	for (size_t i = 0; i < inst->n_mounts; i++)
		printf("%-12s %s -> %s%s\n", "mount:", inst->mounts[i].source, inst->mounts[i].destination,
		       inst->mounts[i].readonly ? " (ro)" : "");
	print_limits(&inst->limits);
	if (rt.init_pid)
		printf("%-12s %d\n", "pid:", (int)rt.init_pid);
	if (rt.monitor_pid)
		printf("%-12s %d\n", "monitor:", (int)rt.monitor_pid);
	if (rt.started && rt.init_pid) {
		char buf[32];
		format_duration((long long)(time(NULL) - rt.started), buf, sizeof(buf));
		printf("%-12s %s\n", "uptime:", buf);
	}
	struct cgroup_stats st;
	if (rt.init_pid && hangar_instance_stats(p, inst->name, &st, &err) == 0) {
		char use[32], lim[32] = "unlimited";
		format_bytes(st.mem_usage, use, sizeof(use));
		if (st.mem_limit != CGROUP_STAT_UNLIMITED)
			format_bytes(st.mem_limit, lim, sizeof(lim));
		printf("%-12s %s / %s (oom kills: %" PRIu64 ")\n", "memory:", use, lim, st.mem_oom_kill);
		printf("%-12s %" PRIu64 "\n", "processes:", st.pids_current);
		cgroup_stats_clear(&st);
	}
	if (rt.has_exit && !rt.init_pid)
		printf("%-12s %d\n", "last exit:", rt.exit_code);
	printf("%-12s %s\n", "root:", inst->rootfs);
	printf("%-12s %s\n", "log:", inst->log_path);
	instance_free(inst);
	return 0;
}
