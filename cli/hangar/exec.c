/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cli/hangar/hangar.h"
#include "common/util.h"
#include "runtime/exec.h"

int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {{"tty", no_argument, NULL, 't'},
					     {"env", required_argument, NULL, 'e'},
					     {"cwd", required_argument, NULL, 'w'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bool tty = false;
	const char *name = NULL, *cwd = NULL;
	char **env = NULL;
	int c, rc = HANGAR_EXIT_USAGE;
	opterr = 0;
	/* Options may come before or after NAME; the command starts at the
	 * first argument after NAME (or after --). */
	while ((c = getopt_long(argc, argv, "-te:w:h", opts, NULL)) != -1) {
		if (c == 1) {
			if (name == NULL) {
				name = optarg;
				continue;
			}
			optind--;
			break;
		}
		switch (c) {
		case 't':
			tty = true;
			break;
		case 'e':
			if (strchr(optarg, '=') == NULL) {
				rc = hangar_usage("exec", "--env %s: expected KEY=VALUE", optarg);
				goto out;
			}
			strv_append(&env, optarg);
			break;
		case 'w':
			cwd = optarg;
			break;
		case 'h':
			printf("usage: hangar exec [-t] [-e K=V] [-w DIR] NAME [--] CMD [ARGS...]\n\n"
			       "Run a command in a running instance (its namespaces, cgroup, user and\n"
			       "limits); the exit status is the command's.\n\n"
			       "   -t, --tty        allocate a terminal\n"
			       "   -e, --env K=V    extra environment variable\n"
			       "   -w, --cwd DIR    working directory\n\n"
			       "examples:\n   hangar exec web -- ps\n   hangar exec -t web -- sh\n");
			rc = 0;
			goto out;
		default:
			rc = hangar_usage("exec", "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (name == NULL) {
		rc = hangar_usage("exec", "an instance name is required");
		goto out;
	}
	if (optind >= argc) {
		rc = hangar_usage("exec", "a command is required (hangar exec NAME -- CMD)");
		goto out;
	}
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL) {
		rc = HANGAR_EXIT_FAILURE;
		goto out;
	}
	struct hangar_error err;
	hangar_error_clear(&err);
	struct instance *inst = NULL;
	if (instance_load(p, name, &inst, &err) < 0) {
		rc = hangar_fail(&err);
		goto out;
	}
	struct instance_runtime rt;
	instance_get_runtime(p, inst, &rt, &err);
	instance_free(inst);
	if (rt.status != INSTANCE_RUNNING && rt.status != INSTANCE_ORPHANED) {
		cli_error("instance %s is not running (%s)", name, instance_status_name(rt.status));
		rc = HANGAR_EXIT_CONFLICT;
		goto out;
	}
	struct oci_process proc;
	memset(&proc, 0, sizeof(proc));
	if (container_exec_template(p->oci_root, name, &proc, &err) < 0) {
		rc = hangar_fail(&err);
		goto out;
	}
	strv_free(proc.args);
	proc.args = strv_dup(argv + optind);
	proc.n_args = strv_len(proc.args);
	proc.terminal = tty;
	if (cwd) {
		free(proc.cwd);
		proc.cwd = xstrdup(cwd);
	}
	for (size_t i = 0; env && env[i]; i++) {
		size_t klen = (size_t)(strchr(env[i], '=') - env[i]);
		bool replaced = false;
		for (size_t j = 0; j < proc.n_env; j++) {
			if (strncmp(proc.env[j], env[i], klen + 1) == 0) {
				free(proc.env[j]);
				proc.env[j] = xstrdup(env[i]);
				replaced = true;
			}
		}
		if (!replaced) {
			strv_append(&proc.env, env[i]);
			proc.n_env++;
		}
	}
	/* The exec'd process is re-parented to us if the runtime double-forks. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	struct container_exec_opts o = {
		.root = p->oci_root,
		.id = name,
		.process = &proc,
		.want_tty_master = true,
	};
	struct container_exec_result res = {.pid = -1, .tty_master = -1};
	if (container_exec(&o, &res, &err) < 0)
		rc = hangar_fail(&err);
	else
		rc = cli_wait_and_forward(res.pid, res.tty_master);
	if (res.tty_master >= 0)
		close(res.tty_master);
	oci_process_clear(&proc);
out:
	strv_free(env);
	return rc;
}
