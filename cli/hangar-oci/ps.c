/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "cli/hangar-oci/verbs.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/state.h"

static bool pid_in(pid_t p, const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == p)
			return true;
	return false;
}

/* Like runc: run the host's ps with the given options and keep the header
 * plus the lines whose PID column belongs to the container. */
static int ps_table(const pid_t *pids, size_t n, char **ps_args, int n_args)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		cli_error("pipe: %m");
		return 1;
	}
	pid_t child = fork();
	if (child == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		char **argv = xmalloc0(((size_t)n_args + 3) * sizeof(char *));
		argv[0] = "ps";
		if (n_args == 0)
			argv[1] = "-ef";
		for (int i = 0; i < n_args; i++)
			argv[i + 1] = ps_args[i];
		execvp("ps", argv);
		_exit(127);
	}
	close(pipefd[1]);
	FILE *f = fdopen(pipefd[0], "r");
	char *line = NULL;
	size_t cap = 0;
	int pid_col = -1, lineno = 0;
	while (getline(&line, &cap, f) > 0) {
		if (lineno++ == 0) {
			/* find the PID column in the header */
			_cleanup_free_ char *h = xstrdup(line);
			char *save = NULL;
			int col = 0;
			for (char *t = strtok_r(h, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++)
				if (strcmp(t, "PID") == 0)
					pid_col = col;
			fputs(line, stdout);
			if (pid_col < 0) {
				cli_error("ps output has no PID column");
				break;
			}
			continue;
		}
		_cleanup_free_ char *copy = xstrdup(line);
		char *save = NULL;
		char *t = strtok_r(copy, " \t\n", &save);
		for (int col = 0; t && col < pid_col; col++)
			t = strtok_r(NULL, " \t\n", &save);
		if (t && pid_in(atoi(t), pids, n))
			fputs(line, stdout);
	}
	free(line);
	fclose(f);
	int status;
	waitpid(child, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		cli_error("ps failed (is procps installed?)");
		return 1;
	}
	return pid_col < 0 ? 1 : 0;
}

int cmd_ps(int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bool json = false;
	int c;
	while ((c = cli_getopt(argc, argv, "+f:h", opts)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "table") != 0) {
				cli_error("invalid format option: %s (table or json)", optarg);
				return 1;
			}
			break;
		case 'h':
			printf("usage: hangar-oci ps [--format table|json] <container-id> [ps options]\n");
			return 0;
		default:
			return cli_usage_error("ps", "invalid flag");
		}
	}
	if (optind >= argc)
		return cli_usage_error("ps", "requires a container id");
	struct hangar_error err;
	struct container_state *st = NULL;
	struct cgroup_manager *cg = NULL;
	pid_t *pids = NULL;
	size_t n = 0;
	int rc = 1;
	if (state_load(oci_root(), argv[optind], &st, &err) < 0)
		return cli_fail(&err);
	if (st->cgroup == NULL) {
		if (st->status != STATUS_STOPPED) {
			pids = xmalloc0(sizeof(pid_t));
			pids[0] = st->pid;
			n = 1;
		}
	} else if (cgroup_manager_open(st->cgroup, &cg, &err) < 0 || cgroup_manager_pids(cg, &pids, &n, &err) < 0) {
		cli_fail(&err);
		goto out;
	}
	if (json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, json_object_new_int(pids[i]));
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
		json_object_put(arr);
		rc = 0;
	} else {
		rc = ps_table(pids, n, argv + optind + 1, argc - optind - 1);
	}
out:
	free(pids);
	if (cg)
		cgroup_manager_free(cg);
	state_free(st);
	return rc;
}
