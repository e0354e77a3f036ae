/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint/migrate.h"
#include "cli/hangar/hangar.h"

static void migrate_usage(void)
{
	printf("usage: hangar migrate [--format text|json] NAME DEST\n\n"
	       "Move a running instance to another state root or host.  Its upper layer is\n"
	       "copied while it runs, then it is frozen and checkpointed, the changes and the\n"
	       "CRIU images are sent, and it is restored there with the same address.  The\n"
	       "source is removed only after the instance runs on the target; on any failure\n"
	       "the target is cleaned and the instance keeps running here.\n\n"
	       "DEST:\n"
	       "   ssh://[user@]host[:port][/root]   hangar on another host, over ssh (no daemon);\n"
	       "                                     $HANGAR_SSH is the ssh command, $HANGAR_REMOTE\n"
	       "                                     the hangar program there\n"
	       "   local:/root[:/run]                another state root on this machine\n\n"
	       "example:\n   hangar migrate web ssh://admin@host2\n");
}

static void print_progress(const char *phase, double seconds, uint64_t bytes, const char *note, void *data)
{
	const char *name = data;
	if (strcmp(phase, "note") == 0) {
		printf("migrate %s: note: %s\n", name, note);
		return;
	}
	char size[32] = "";
	if (bytes) {
		char b[24];
		format_bytes(bytes, b, sizeof(b));
		snprintf(size, sizeof(size), ", %s", b);
	}
	printf("migrate %s: %-8s %7.3f s%s%s%s%s\n", name, phase, seconds, size, note ? " (" : "",
	       note ? note : "", note ? ")" : "");
	fflush(stdout);
}

static void print_json(const char *name, const char *dest, const struct migrate_report *rep,
		       const char *error)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "destination", json_object_new_string(dest));
	json_object_object_add(o, "ok", json_object_new_boolean(error == NULL));
	if (error) {
		json_object_object_add(o, "error", json_object_new_string(error));
		json_object_object_add(o, "source_restored", json_object_new_boolean(rep->source_restored));
	}
	json_object_object_add(o, "bytes_sent", json_object_new_int64((int64_t)rep->bytes_sent));
	json_object_object_add(o, "downtime_ms", json_object_new_double(rep->downtime_ns / 1e6));
	json_object_object_add(o, "frozen_ms", json_object_new_double(rep->frozen_us / 1e3));
	json_object_object_add(o, "total_ms", json_object_new_double(rep->total_ns / 1e6));
	json_object *phases = json_object_new_array();
	for (size_t i = 0; i < rep->n_phases; i++) {
		json_object *ph = json_object_new_object();
		json_object_object_add(ph, "name", json_object_new_string(rep->phases[i].name));
		json_object_object_add(ph, "ms", json_object_new_double(rep->phases[i].ns / 1e6));
		json_object_object_add(ph, "bytes", json_object_new_int64((int64_t)rep->phases[i].bytes));
		json_object_array_add(phases, ph);
	}
	json_object_object_add(o, "phases", phases);
	printf("%s\n",
	       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int cmd_migrate(int argc, char **argv)
{
	enum { O_FORMAT = OPT_VERB_BASE, O_RECEIVE };
	static const struct option opts[] = {
	    {"format", required_argument, NULL, O_FORMAT},
	    {"receive", required_argument, NULL, O_RECEIVE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool json = false;
	const char *receive = NULL;
	int c;
	while ((c = cli_getopt(argc, argv, "+h", opts)) != -1) {
		switch (c) {
		case O_FORMAT:
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "text") != 0)
				return hangar_usage("migrate", "--format is text or json");
			break;
		case O_RECEIVE:
			receive = optarg;
			break;
		case 'h':
			migrate_usage();
			return 0;
		default:
			return hangar_usage("migrate", "%s", cli_getopt_reason());
		}
	}
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL)
		return HANGAR_EXIT_FAILURE;
	struct hangar_error err;
	hangar_error_clear(&err);
	if (receive) {
		/* The target side of one phase (run by the source, locally or
		 * over ssh): stdin is the phase's stream. */
		if (optind != argc - 1)
			return hangar_usage("migrate", "--receive STEP takes exactly one instance name");
		if (migrate_receive(p, receive, argv[optind], STDIN_FILENO, STDOUT_FILENO,
				    getenv("HANGAR_CRIU"), &err) < 0)
			return hangar_fail(&err);
		return 0;
	}
	if (optind != argc - 2)
		return hangar_usage("migrate", "NAME and DEST are required");
	const char *name = argv[optind], *dest_arg = argv[optind + 1];
	struct migrate_dest dest;
	if (migrate_parse_dest(dest_arg, &dest, &err) < 0)
		return hangar_fail(&err);
	struct migrate_opts o = {
	    .dest = &dest,
	    .progress = json ? NULL : print_progress,
	    .progress_data = (void *)name,
	};
	struct migrate_report rep;
	int rc = instance_migrate(p, name, &o, &rep, &err);
	migrate_dest_clear(&dest);
	if (json)
		print_json(name, dest_arg, &rep, rc < 0 ? err.msg : NULL);
	if (rc < 0) {
		int code = hangar_fail(&err);
		if (!json)
			fprintf(stderr, "hangar: %s keeps running here%s\n", name,
				rep.source_restored ? " (restored from its checkpoint)" : "");
		return code;
	}
	if (!json) {
		char sent[24];
		format_bytes(rep.bytes_sent, sent, sizeof(sent));
		printf("migrated %s to %s: downtime %.3f s (criu frozen %.3f s), total %.3f s, %s sent\n",
		       name, dest_arg, rep.downtime_ns / 1e9, rep.frozen_us / 1e6, rep.total_ns / 1e9, sent);
	}
	return 0;
}
