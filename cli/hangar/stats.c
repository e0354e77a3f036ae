/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "cli/hangar/hangar.h"
#include "common/cleanup.h"
#include "common/util.h"

struct sample {
	char *name;
	bool ok;
	uint64_t t_ns, cpu_ns, mem, mem_limit, io_read, io_write, pids, pids_limit, oom_kills;
};

static void take(const struct hangar_paths *p, struct sample *s, struct hangar_error *err)
{
	struct cgroup_stats st;
	s->ok = hangar_instance_stats(p, s->name, &st, err) == 0;
	s->t_ns = now_ns();
	if (!s->ok)
		return;
	s->cpu_ns = st.cpu_usage_ns;
	s->mem = st.mem_usage;
	s->mem_limit = st.mem_limit;
	s->io_read = s->io_write = 0;
	for (size_t i = 0; i < st.n_io; i++) {
		s->io_read += st.io[i].read_bytes;
		s->io_write += st.io[i].write_bytes;
	}
	s->pids = st.pids_current;
	s->pids_limit = st.pids_limit;
	s->oom_kills = st.mem_oom_kill;
	cgroup_stats_clear(&st);
}

static void print(const struct sample *a, const struct sample *b, size_t n, bool json)
{
	json_object *arr = json ? json_object_new_array() : NULL;
	if (!json)
		printf("%-20s %7s %22s %6s %21s %10s\n", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "BLOCK I/O",
		       "PIDS");
	for (size_t i = 0; i < n; i++) {
		if (!a[i].ok || !b[i].ok)
			continue;
		double dt = (double)(b[i].t_ns - a[i].t_ns);
		/* Like docker stats: 100% = one CPU busy for the interval. */
		double cpu = dt > 0 && b[i].cpu_ns >= a[i].cpu_ns ? 100.0 * (double)(b[i].cpu_ns - a[i].cpu_ns) / dt : 0;
		bool limited = b[i].mem_limit != CGROUP_STAT_UNLIMITED && b[i].mem_limit > 0;
		double mem_pct = limited ? 100.0 * (double)b[i].mem / (double)b[i].mem_limit : 0;
		if (json) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "name", json_object_new_string(b[i].name));
			json_object_object_add(o, "cpu_percent", json_object_new_double(cpu));
			json_object_object_add(o, "memory_usage", json_object_new_uint64(b[i].mem));
			json_object_object_add(o, "memory_limit", limited ? json_object_new_uint64(b[i].mem_limit) : NULL);
			json_object_object_add(o, "memory_percent", limited ? json_object_new_double(mem_pct) : NULL);
			json_object_object_add(o, "oom_kills", json_object_new_uint64(b[i].oom_kills));
			json_object_object_add(o, "io_read_bytes", json_object_new_uint64(b[i].io_read));
			json_object_object_add(o, "io_write_bytes", json_object_new_uint64(b[i].io_write));
			json_object_object_add(o, "pids", json_object_new_uint64(b[i].pids));
			json_object_array_add(arr, o);
		} else {
			char mem[32], lim[32] = "unlimited", r[32], w[32], io[80], memcol[80], pct[16] = "-";
			format_bytes(b[i].mem, mem, sizeof(mem));
			if (limited) {
				format_bytes(b[i].mem_limit, lim, sizeof(lim));
				snprintf(pct, sizeof(pct), "%.1f%%", mem_pct);
			}
			format_bytes(b[i].io_read, r, sizeof(r));
			format_bytes(b[i].io_write, w, sizeof(w));
			snprintf(io, sizeof(io), "%s / %s", r, w);
			snprintf(memcol, sizeof(memcol), "%s / %s", mem, lim);
			printf("%-20s %6.1f%% %22s %6s %21s %10" PRIu64 "\n", b[i].name, cpu, memcol, pct, io, b[i].pids);
		}
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
		json_object_put(arr);
	}
	fflush(stdout);
}

int cmd_stats(int argc, char **argv)
{
	enum { OPT_NO_STREAM = OPT_VERB_BASE };
	static const struct option opts[] = {{"no-stream", no_argument, NULL, OPT_NO_STREAM},
					     {"format", required_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bool stream = true, json = false;
	char **names = NULL;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-f:h", opts, NULL)) != -1) {
		switch (c) {
		case 1:
			strv_append(&names, optarg);
			break;
		case OPT_NO_STREAM:
			stream = false;
			break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "table") != 0) {
				strv_free(names);
				return hangar_usage("stats", "--format %s: table or json", optarg);
			}
			break;
		case 'h':
			printf("usage: hangar stats [NAME...] [--no-stream] [--format table|json]\n\n"
			       "Live usage of running instances from their cgroups: CPU %% over a 1 s\n"
			       "interval (100%% = one CPU), memory use and limit, block I/O, processes.\n"
			       "Refreshes every second until interrupted unless --no-stream.\n\n"
			       "example:\n   hangar stats --no-stream --format json web\n");
			strv_free(names);
			return 0;
		default:
			strv_free(names);
			return hangar_usage("stats", "unknown option '%s'", argv[optind - 1]);
		}
	}
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL) {
		strv_free(names);
		return HANGAR_EXIT_FAILURE;
	}
	struct hangar_error err;
	hangar_error_clear(&err);
	bool explicit = names != NULL;
	if (names) {
		for (size_t i = 0; names[i]; i++) {
			struct instance *inst = NULL;
			if (instance_load(p, names[i], &inst, &err) < 0) {
				strv_free(names);
				return hangar_fail(&err);
			}
			struct instance_runtime rt;
			instance_get_runtime(p, inst, &rt, &err);
			instance_free(inst);
			if (rt.init_pid == 0) {
				cli_error("instance %s is not running", names[i]);
				strv_free(names);
				return HANGAR_EXIT_CONFLICT;
			}
		}
	} else {
		char **all = NULL;
		if (instance_list_names(p, &all, &err) < 0)
			return hangar_fail(&err);
		/* Only running instances have usage to show. */
		for (size_t i = 0; all && all[i]; i++) {
			struct instance *inst = NULL;
			struct instance_runtime rt;
			if (instance_load(p, all[i], &inst, &err) < 0)
				continue;
			bool up = instance_get_runtime(p, inst, &rt, &err) == 0 && rt.init_pid != 0;
			instance_free(inst);
			if (up)
				strv_append(&names, all[i]);
		}
		strv_free(all);
	}
	size_t n = strv_len(names);
	struct sample *a = xmalloc0((n + 1) * sizeof(*a)), *b = xmalloc0((n + 1) * sizeof(*b));
	for (size_t i = 0; i < n; i++)
		a[i].name = b[i].name = names[i];
	/* A named instance without stats is an error with its reason, not an
	 * empty table; in the list of all, those are named once on stderr. */
	size_t n_without = 0;
	_cleanup_free_ char *without = NULL;
	struct hangar_error first_err;
	hangar_error_clear(&first_err);
	for (size_t i = 0; i < n; i++) {
		take(p, &a[i], &err);
		if (a[i].ok || err.code == HANGAR_E_NOTFOUND)
			continue; /* not running (no OCI state): nothing to show */
		if (explicit) {
			int rc = hangar_fail(&err);
			free(a);
			free(b);
			strv_free(names);
			return rc;
		}
		if (n_without++ == 0)
			first_err = err;
		char *more = xasprintf("%s%s%s", without ? without : "", without ? ", " : "", names[i]);
		free(without);
		without = more;
	}
	if (n_without == 1)
		cli_warn("%s", first_err.msg);
	else if (n_without > 1)
		cli_warn("%s have no cgroup, not shown (%s)", without, first_err.msg);
	do {
		sleep(1);
		for (size_t i = 0; i < n; i++)
			take(p, &b[i], &err);
		if (stream && !json && isatty(STDOUT_FILENO))
			printf("\033[2J\033[H");
		print(a, b, n, json);
		memcpy(a, b, n * sizeof(*a));
	} while (stream);
	free(a);
	free(b);
	strv_free(names);
	return 0;
}
