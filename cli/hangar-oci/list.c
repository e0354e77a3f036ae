/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/hangar-oci/verbs.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/state.h"

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
					     {"quiet", no_argument, NULL, 'q'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bool json = false, quiet = false;
	int c;
	while ((c = cli_getopt(argc, argv, "+f:qh", opts)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "table") != 0) {
				cli_error("invalid format option: %s (table or json)", optarg);
				return 1;
			}
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			printf("usage: hangar-oci list [--format table|json] [--quiet]\n");
			return 0;
		default:
			return cli_usage_error("list", "invalid flag");
		}
	}
	if (optind != argc)
		return cli_usage_error("list", "takes no arguments");
	struct hangar_error err;
	char **ids = NULL;
	if (state_list_ids(oci_root(), &ids, &err) < 0)
		return cli_fail(&err);
	json_object *arr = json ? json_object_new_array() : NULL;
	if (!json && !quiet)
		printf("%-12s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
	for (size_t i = 0; ids[i]; i++) {
		struct container_state *st = NULL;
		/* Skip one deleted concurrently or left half-made. */
		if (state_load(oci_root(), ids[i], &st, &err) < 0 && state_load_creating(oci_root(), ids[i], &st) < 0)
			continue;
		pid_t pid = st->status == STATUS_STOPPED ? 0 : st->pid;
		_cleanup_free_ char *pw_name = passwd_name_of(st->owner);
		char owner[64];
		if (pw_name)
			snprintf(owner, sizeof(owner), "%s", pw_name);
		else
			snprintf(owner, sizeof(owner), "#%u", (unsigned)st->owner);
		if (quiet) {
			printf("%s\n", st->id);
		} else if (json) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "ociVersion", json_object_new_string("1.2.0"));
			json_object_object_add(o, "id", json_object_new_string(st->id));
			json_object_object_add(o, "pid", json_object_new_int(pid));
			json_object_object_add(o, "status", json_object_new_string(container_status_name(st->status)));
			json_object_object_add(o, "bundle", json_object_new_string(st->bundle ? st->bundle : ""));
			json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs ? st->rootfs : ""));
			json_object_object_add(o, "created", json_object_new_string(st->created ? st->created : ""));
			json_object_object_add(o, "owner", json_object_new_string(owner));
			json_object_array_add(arr, o);
		} else {
			printf("%-12s %-8d %-10s %-40s %-31s %s\n", st->id, (int)pid,
			       container_status_name(st->status), st->bundle ? st->bundle : "",
			       st->created ? st->created : "", owner);
		}
		state_free(st);
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
	}
	strv_free(ids);
	return 0;
}
