/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "cgroups/cgroup.h"
#include "cli/hangar-oci/verbs.h"
#include "runtime/state.h"

/* pause and resume share everything but the direction. */
static int freeze_verb(int argc, char **argv, bool freeze)
{
	const char *verb = freeze ? "pause" : "resume";
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c;
	while ((c = cli_getopt(argc, argv, "+h", opts)) != -1) {
		if (c == 'h') {
			printf("usage: hangar-oci %s <container-id>\n", verb);
			return 0;
		}
		return cli_usage_error(verb, "invalid flag");
	}
	if (optind != argc - 1)
		return cli_usage_error(verb, "requires exactly 1 argument: the container id");
	struct hangar_error err;
	struct container_state *st = NULL;
	struct cgroup_manager *cg = NULL;
	int rc = 1;
	if (state_load(oci_root(), argv[optind], &st, &err) < 0)
		return cli_fail(&err);
	if (freeze && st->status != STATUS_RUNNING && st->status != STATUS_CREATED) {
		cli_error("container %s is not running (%s)", st->id, container_status_name(st->status));
		goto out;
	}
	if (!freeze && st->status != STATUS_PAUSED) {
		cli_error("container %s is not paused (%s)", st->id, container_status_name(st->status));
		goto out;
	}
	if (st->cgroup == NULL) {
		cli_error("container %s has no cgroup to freeze (rootless without a delegated cgroup)", st->id);
		goto out;
	}
	if (cgroup_manager_open(st->cgroup, &cg, &err) < 0 ||
	    (freeze ? cgroup_manager_freeze(cg, &err) : cgroup_manager_thaw(cg, &err)) < 0) {
		cli_fail(&err);
		goto out;
	}
	rc = 0;
out:
	if (cg)
		cgroup_manager_free(cg);
	state_free(st);
	return rc;
}

int cmd_pause(int argc, char **argv)
{
	return freeze_verb(argc, argv, true);
}

int cmd_resume(int argc, char **argv)
{
	return freeze_verb(argc, argv, false);
}
