/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cli/hangar-oci/verbs.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/container.h"
#include "runtime/exec.h"

static void exec_usage(void)
{
	printf("usage: hangar-oci exec [options] <container-id> <command> [args...]\n"
	       "       hangar-oci exec [options] --process process.json <container-id>\n\n"
	       "   --process, -p FILE      process.json to run (replaces the command line)\n"
	       "   --tty, -t               allocate a pseudo-TTY\n"
	       "   --detach, -d            detach from the process\n"
	       "   --console-socket PATH   send the pty master to this AF_UNIX socket\n"
	       "   --pid-file PATH         write the process pid here\n"
	       "   --cwd DIR               working directory in the container\n"
	       "   --env, -e K=V           set an environment variable (repeatable)\n"
	       "   --user, -u UID[:GID]    run as this user\n"
	       "   --additional-gids, -g G add a supplementary group (repeatable)\n"
	       "   --cap, -c CAP           add a capability (repeatable)\n"
	       "   --no-new-privs          set no_new_privs\n"
	       "   --apparmor PROFILE      AppArmor profile\n"
	       "   --process-label LABEL   SELinux label\n"
	       "   --preserve-fds N        pass N extra fds to the process\n");
}

static void strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (nv == NULL)
		abort();
	nv[(*n)++] = xstrdup(s);
	nv[*n] = NULL;
	*v = nv;
}

static void add_cap(struct oci_capabilities *caps, const char *cap)
{
	_cleanup_free_ char *name = str_has_prefix(cap, "CAP_") ? xstrdup(cap) : xasprintf("CAP_%s", cap);
	strv_push(&caps->bounding, &caps->n_bounding, name);
	strv_push(&caps->effective, &caps->n_effective, name);
	strv_push(&caps->permitted, &caps->n_permitted, name);
	strv_push(&caps->ambient, &caps->n_ambient, name);
	caps->present = true;
}

static void set_env(struct oci_process *p, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	for (size_t i = 0; i < p->n_env; i++) {
		if (strncmp(p->env[i], kv, klen) == 0 && p->env[i][klen] == '=') {
			free(p->env[i]);
			p->env[i] = xstrdup(kv);
			return;
		}
	}
	strv_push(&p->env, &p->n_env, kv);
}

/* The CVE-2019-5736 decision needs the container's config; when it cannot
 * be read, protect anyway and let container_exec report the problem. */
static int exec_protect_binary(const char *id)
{
	struct hangar_error ignored;
	struct container_state *st = NULL;
	struct oci_config *cfg = NULL;
	if (state_load(oci_root(), id, &st, &ignored) == 0)
		container_load_config(st, &cfg, &ignored);
	int rc = oci_protect_binary(cfg);
	oci_config_free(cfg);
	state_free(st);
	return rc;
}

int cmd_exec(int argc, char **argv)
{
	enum { O_CONSOLE = 256, O_PIDFILE, O_CWD, O_NNP, O_APPARMOR, O_LABEL, O_PRESERVE, O_CGROUP, O_IGNORE };
	static const struct option opts[] = {
		{"process", required_argument, NULL, 'p'},
		{"tty", no_argument, NULL, 't'},
		{"detach", no_argument, NULL, 'd'},
		{"console-socket", required_argument, NULL, O_CONSOLE},
		{"pid-file", required_argument, NULL, O_PIDFILE},
		{"cwd", required_argument, NULL, O_CWD},
		{"env", required_argument, NULL, 'e'},
		{"user", required_argument, NULL, 'u'},
		{"additional-gids", required_argument, NULL, 'g'},
		{"cap", required_argument, NULL, 'c'},
		{"no-new-privs", no_argument, NULL, O_NNP},
		{"apparmor", required_argument, NULL, O_APPARMOR},
		{"process-label", required_argument, NULL, O_LABEL},
		{"preserve-fds", required_argument, NULL, O_PRESERVE},
		{"cgroup", required_argument, NULL, O_CGROUP},
		{"ignore-paused", no_argument, NULL, O_IGNORE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *process_file = NULL, *console = NULL, *pid_file = NULL, *cwd = NULL, *user = NULL;
	const char *apparmor = NULL, *label = NULL;
	bool tty = false, detach = false, nnp = false;
	int preserve = 0;
	char **envs = NULL, **caps = NULL, **gids = NULL;
	size_t n_envs = 0, n_caps = 0, n_gids = 0;
	int c, rc = 1;
	struct oci_process proc;
	memset(&proc, 0, sizeof(proc));
	bool have_proc = false;

	while ((c = cli_getopt(argc, argv, "+p:tde:u:g:c:h", opts)) != -1) {
		switch (c) {
		case 'p':
			process_file = optarg;
			break;
		case 't':
			tty = true;
			break;
		case 'd':
			detach = true;
			break;
		case O_CONSOLE:
			console = optarg;
			break;
		case O_PIDFILE:
			pid_file = optarg;
			break;
		case O_CWD:
			cwd = optarg;
			break;
		case 'e':
			strv_push(&envs, &n_envs, optarg);
			break;
		case 'u':
			user = optarg;
			break;
		case 'g':
			strv_push(&gids, &n_gids, optarg);
			break;
		case 'c':
			strv_push(&caps, &n_caps, optarg);
			break;
		case O_NNP:
			nnp = true;
			break;
		case O_APPARMOR:
			apparmor = optarg;
			break;
		case O_LABEL:
			label = optarg;
			break;
		case O_PRESERVE: {
			uint64_t n;
			if (parse_u64(optarg, &n) < 0 || n > 4096) {
				rc = cli_usage_error("exec", "invalid --preserve-fds value '%s'", optarg);
				goto out;
			}
			preserve = (int)n;
			break;
		}
		case O_CGROUP:
		case O_IGNORE:
			break;
		case 'h':
			exec_usage();
			rc = 0;
			goto out;
		default:
			rc = cli_usage_error("exec", "invalid flag");
			goto out;
		}
	}
	if (optind >= argc) {
		rc = cli_usage_error("exec", "requires a container id");
		goto out;
	}
	const char *id = argv[optind++];
	struct hangar_error err;
	hangar_error_clear(&err);
	if (process_file) {
		_cleanup_free_ char *text = NULL;
		if (read_file_at(AT_FDCWD, process_file, &text, NULL, &err) < 0 ||
		    oci_process_parse(text, &proc, &err) < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		have_proc = true;
	} else {
		if (optind >= argc) {
			rc = cli_usage_error("exec", "requires a command to run (or --process)");
			goto out;
		}
		if (container_exec_template(oci_root(), id, &proc, &err) < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		have_proc = true;
		strv_free(proc.args);
		proc.args = strv_dup(argv + optind);
		proc.n_args = strv_len(proc.args);
		proc.terminal = tty;
	}
	if (tty)
		proc.terminal = true;
	if (cwd) {
		free(proc.cwd);
		proc.cwd = xstrdup(cwd);
	}
	for (size_t i = 0; i < n_envs; i++)
		set_env(&proc, envs[i]);
	if (user) {
		uint64_t uid, gid = 0;
		_cleanup_free_ char *u = xstrdup(user);
		char *colon = strchr(u, ':');
		if (colon)
			*colon++ = '\0';
		if (parse_u64(u, &uid) < 0 || (colon && parse_u64(colon, &gid) < 0) || uid > UINT32_MAX ||
		    gid > UINT32_MAX) {
			rc = cli_usage_error("exec", "invalid --user '%s' (numeric UID[:GID])", user);
			goto out;
		}
		proc.user.uid = (uid_t)uid;
		proc.user.gid = (gid_t)gid;
	}
	if (n_gids) {
		free(proc.user.additional_gids);
		proc.user.additional_gids = xmalloc0(n_gids * sizeof(gid_t));
		proc.user.n_additional_gids = n_gids;
		for (size_t i = 0; i < n_gids; i++) {
			uint64_t g;
			if (parse_u64(gids[i], &g) < 0 || g > UINT32_MAX) {
				rc = cli_usage_error("exec", "invalid --additional-gids '%s'", gids[i]);
				goto out;
			}
			proc.user.additional_gids[i] = (gid_t)g;
		}
	}
	for (size_t i = 0; i < n_caps; i++)
		add_cap(&proc.caps, caps[i]);
	if (nnp)
		proc.no_new_privileges = true;
	if (apparmor) {
		free(proc.apparmor_profile);
		proc.apparmor_profile = xstrdup(apparmor);
	}
	if (label) {
		free(proc.selinux_label);
		proc.selinux_label = xstrdup(label);
	}
	rc = exec_protect_binary(id);
	if (rc != 0)
		goto out;
	rc = 1;
	if (!detach)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	struct container_exec_opts o = {
		.root = oci_root(),
		.id = id,
		.process = &proc,
		.console_socket = console,
		.pid_file = pid_file,
		.preserve_fds = preserve,
		.want_tty_master = !detach && console == NULL,
	};
	struct container_exec_result res = {.pid = -1, .tty_master = -1};
	if (container_exec(&o, &res, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (detach) {
		rc = 0;
	} else {
		rc = cli_wait_and_forward(res.pid, res.tty_master);
	}
	if (res.tty_master >= 0)
		close(res.tty_master);
out:
	if (have_proc)
		oci_process_clear(&proc);
	strv_free(envs);
	strv_free(caps);
	strv_free(gids);
	return rc;
}
