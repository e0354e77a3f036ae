/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "cli/hangar/hangar.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/state.h"

int hangar_instance_stats(const struct hangar_paths *p, const char *name, struct cgroup_stats *st,
			  struct hangar_error *err)
{
	struct container_state *cs = NULL;
	memset(st, 0, sizeof(*st));
	if (state_load(p->oci_root, name, &cs, err) < 0)
		return -1;
	int rc = -1;
	struct cgroup_manager *cg = NULL;
	if (cs->cgroup == NULL) {
		if (p->rootless)
			hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					 "instance %s has no cgroup: as a user, limits and stats need a "
					 "delegated cgroup v2 "
					 "subtree (a systemd user session with delegation)",
					 name);
		else
			hangar_error_set(err, HANGAR_E_STATE, 0, "instance %s has no cgroup", name);
		goto out;
	}
	if (cgroup_manager_open(cs->cgroup, &cg, err) < 0 || cgroup_manager_stats(cg, st, err) < 0) {
		/* The runtime's "rootless on cgroup v1" names the layout; a
		 * user needs to know what would give them stats. */
		if (p->rootless && err->code == HANGAR_E_UNSUPPORTED)
			hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					 "instance %s has no cgroup: as a user, limits and stats need a "
					 "delegated cgroup v2 "
					 "subtree (a systemd user session with delegation)",
					 name);
		goto out;
	}
	rc = 0;
out:
	if (cg)
		cgroup_manager_free(cg);
	state_free(cs);
	return rc;
}

static int by_ifname(const void *a, const void *b)
{
	return strverscmp(((const struct network_attachment *)a)->ifname,
			  ((const struct network_attachment *)b)->ifname);
}

int hangar_instance_attachments(const struct hangar_paths *p, const char *name,
				struct network_attachment **att, size_t *n, struct hangar_error *err)
{
	if (network_get_attachments(p->network_dir, name, att, n, err) < 0)
		return -1;
	/* the library lists by network name; eth0, eth1, ... is the order they were attached */
	if (*n > 1)
		qsort(*att, *n, sizeof(**att), by_ifname);
	return 0;
}

char *hangar_instance_ipv4(const struct hangar_paths *p, const char *name)
{
	struct network_attachment *att = NULL;
	size_t n = 0;
	struct hangar_error err;
	char *ip = NULL;
	if (hangar_instance_attachments(p, name, &att, &n, &err) < 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!att[i].has_ipv4)
			continue;
		char buf[INET6_ADDRSTRLEN + 4];
		char *more =
		    xasprintf("%s%s%s (%s)", ip ? ip : "", ip ? ", " : "",
			      net_prefix_format(&att[i].ipv4, false, buf, sizeof(buf)), att[i].ifname);
		free(ip);
		ip = more;
	}
	network_attachments_free(att, n);
	return ip;
}

static void add_address(json_object *arr, const struct network_attachment *att, const struct net_prefix *a)
{
	char buf[INET6_ADDRSTRLEN + 4];
	json_object *o = json_object_new_object();
	json_object_object_add(o, "address",
			       json_object_new_string(net_prefix_format(a, false, buf, sizeof(buf))));
	json_object_object_add(o, "prefix_length", json_object_new_int((int)a->prefixlen));
	json_object_object_add(o, "family", json_object_new_string(a->family == AF_INET6 ? "ipv6" : "ipv4"));
	json_object_object_add(o, "interface", json_object_new_string(att->ifname));
	json_object_object_add(o, "network", json_object_new_string(att->network));
	json_object_array_add(arr, o);
}

json_object *hangar_instance_addresses_json(const struct hangar_paths *p, const char *name, char **first_ipv4)
{
	struct network_attachment *att = NULL;
	size_t n = 0;
	struct hangar_error err;
	json_object *arr = json_object_new_array();
	if (first_ipv4)
		*first_ipv4 = NULL;
	if (hangar_instance_attachments(p, name, &att, &n, &err) < 0)
		return arr;
	for (size_t i = 0; i < n; i++) {
		if (att[i].has_ipv4) {
			add_address(arr, &att[i], &att[i].ipv4);
			if (first_ipv4 && *first_ipv4 == NULL) {
				char buf[INET6_ADDRSTRLEN + 4];
				*first_ipv4 =
				    xstrdup(net_prefix_format(&att[i].ipv4, false, buf, sizeof(buf)));
			}
		}
		if (att[i].has_ipv6)
			add_address(arr, &att[i], &att[i].ipv6);
	}
	network_attachments_free(att, n);
	return arr;
}

/* Remove what dead runs left (killed monitors, a host crash) so that list
 * shows the truth and the next start finds a clean slate. */
static void cleanup_pass(const struct hangar_paths *p, struct instance *inst, struct instance_runtime *rt)
{
	if (rt->status != INSTANCE_STOPPED || !rt->leftovers)
		return;
	struct hangar_error err;
	_cleanup_close_ int lock = hangar_lock_instance(p, inst->name, &err);
	if (lock < 0)
		return;
	if (instance_get_runtime(p, inst, rt, &err) == 0 && rt->status == INSTANCE_STOPPED && rt->leftovers &&
	    instance_cleanup(p, inst, &err) < 0)
		cli_warn("%s", err.msg);
	instance_get_runtime(p, inst, rt, &err);
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bool json = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "table") != 0)
				return hangar_usage("list", "--format %s: table or json", optarg);
			break;
		case 'h':
			printf("usage: hangar list [--format table|json]\n\n"
			       "List instances: NAME STATE IPV4 IMAGE MEMORY UPTIME.  The state comes from\n"
			       "the live processes (RUNNING, STOPPED, STARTING, STOPPING, or ORPHANED when\n"
			       "the monitor was killed); what dead runs and killed commands left behind\n"
			       "is cleaned up on the way.\n\n"
			       "example:\n   hangar list --format json | jq '.[].name'\n");
			return 0;
		default:
			return hangar_usage("list", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return hangar_usage("list", "unexpected argument '%s'", argv[optind]);
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL)
		return HANGAR_EXIT_FAILURE;
	struct hangar_error err;
	hangar_error_clear(&err);
	char **names = NULL;
	if (instance_list_names(p, &names, &err) < 0)
		return hangar_fail(&err);
	struct network_gc_stats gc;
	if (!p->rootless)
		network_gc(p->network_dir, &gc, &err);
	struct hangar_error gc_err;
	hangar_error_clear(&gc_err);
	if (hangar_remove_leftovers(p, NULL, &gc_err) < 0)
		cli_warn("%s", gc_err.msg);
	json_object *arr = json_object_new_array();
	if (!json)
		printf("%-20s %-9s %-24s %-12s %-10s %s\n", "NAME", "STATE", "IPV4", "IMAGE", "MEMORY", "UPTIME");
	time_t now = time(NULL);
	for (size_t i = 0; names[i]; i++) {
		struct instance *inst = NULL;
		if (instance_load(p, names[i], &inst, &err) < 0)
			continue;
		struct instance_runtime rt;
		if (instance_get_runtime(p, inst, &rt, &err) < 0) {
			instance_free(inst);
			continue;
		}
		cleanup_pass(p, inst, &rt);
		bool live = rt.status == INSTANCE_RUNNING || rt.status == INSTANCE_ORPHANED;
		_cleanup_free_ char *ip = live && !json ? hangar_instance_ipv4(p, inst->name) : NULL;
		_cleanup_free_ char *ip_bare = NULL;
		json_object *addrs =
		    live && json ? hangar_instance_addresses_json(p, inst->name, &ip_bare) : NULL;
		struct cgroup_stats st;
		bool have_mem = live && hangar_instance_stats(p, inst->name, &st, &err) == 0;
		uint64_t mem = have_mem ? st.mem_usage : 0;
		uint64_t limit = have_mem ? st.mem_limit : 0;
		if (have_mem)
			cgroup_stats_clear(&st);
		long long uptime = live && rt.started ? (long long)(now - rt.started) : -1;
		if (json) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "name", json_object_new_string(inst->name));
			json_object_object_add(o, "state", json_object_new_string(instance_status_name(rt.status)));
			json_object_object_add(o, "ipv4", ip_bare ? json_object_new_string(ip_bare) : NULL);
			json_object_object_add(o, "addresses", addrs ? addrs : json_object_new_array());
			json_object_object_add(o, "image", json_object_new_string(inst->image));
			json_object_object_add(o, "memory_usage", have_mem ? json_object_new_uint64(mem) : NULL);
			json_object_object_add(o, "memory_limit",
					       have_mem && limit != CGROUP_STAT_UNLIMITED ? json_object_new_uint64(limit)
											 : NULL);
			json_object_object_add(o, "uptime", uptime >= 0 ? json_object_new_int64(uptime) : NULL);
			json_object_object_add(o, "pid", rt.init_pid ? json_object_new_int(rt.init_pid) : NULL);
			json_object_object_add(o, "monitor_pid",
					       rt.monitor_pid ? json_object_new_int(rt.monitor_pid) : NULL);
			if (rt.has_exit && !live)
				json_object_object_add(o, "exit_code", json_object_new_int(rt.exit_code));
			json_object_array_add(arr, o);
		} else {
			char membuf[32] = "-", upbuf[32] = "-";
			if (have_mem)
				format_bytes(mem, membuf, sizeof(membuf));
			if (uptime >= 0)
				format_duration(uptime, upbuf, sizeof(upbuf));
			printf("%-20s %-9s %-24s %-12s %-10s %s\n", inst->name, instance_status_name(rt.status),
			       ip ? ip : "-", inst->image, membuf, upbuf);
		}
		instance_free(inst);
	}
	if (json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	strv_free(names);
	return 0;
}
