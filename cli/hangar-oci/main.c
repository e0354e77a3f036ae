/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hangar-oci: an OCI runtime with runc's command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/hangar-oci/verbs.h"
#include "common/util.h"
#include "runtime/cloned_binary.h"
#include "runtime/state.h"

static const struct verb {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
	/* Runs code that ends up inside the container.  create, run and exec
	 * decide once they know the container's config (oci_protect_binary). */
	bool needs_clone;
} verbs[] = {
	{"checkpoint", NULL, "checkpoint a running container (CRIU)", false},
	{"create", cmd_create, "create a container", false},
	{"delete", cmd_delete, "delete any resources held by the container", false},
	{"events", cmd_events, "display container events such as OOM notifications and resource stats", false},
	{"exec", cmd_exec, "execute new process inside the container", false},
	{"features", cmd_features, "show the enabled features", false},
	{"kill", cmd_kill, "kill sends the specified signal (default: SIGTERM) to the container's init process", false},
	{"list", cmd_list, "lists containers started by hangar-oci with the given root", false},
	{"pause", cmd_pause, "pause suspends all processes inside the container", false},
	{"ps", cmd_ps, "ps displays the processes running inside a container", false},
	{"restore", NULL, "restore a container from a previous checkpoint (CRIU)", true},
	{"resume", cmd_resume, "resumes all processes that have been previously paused", false},
	{"run", cmd_run, "create and run a container", false},
	{"spec", cmd_spec, "create a new specification file", false},
	{"start", cmd_start, "executes the user defined process in a created container", false},
	{"state", cmd_state, "output the state of a container", false},
	{"update", cmd_update, "update container resource constraints", false},
};

static void usage(FILE *out)
{
	fprintf(out, "hangar-oci %s - an OCI container runtime (runc-compatible command line)\n\n"
		     "usage: hangar-oci [global options] command [command options] [arguments...]\n\n"
		     "commands:\n",
		HANGAR_VERSION);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(out, "   %-11s %s\n", verbs[i].name, verbs[i].help);
	fprintf(out, "\nglobal options:\n"
		     "   --debug              enable debug logging\n"
		     "   --log FILE           log file (default: stderr only)\n"
		     "   --log-format FORMAT  text or json (default: text)\n"
		     "   --root DIR           state directory (default: /run/hangar-oci, or\n"
		     "                        $XDG_RUNTIME_DIR/hangar-oci when not root)\n"
		     "   --criu PATH          criu binary (default: criu in PATH)\n"
		     "   --systemd-cgroup     cgroupsPath is slice:prefix:name (made via cgroupfs; needs systemd as init)\n"
		     "   --rootless VALUE     ignored: rootless mode is detected (true|false|auto)\n"
		     "   --version, -v        print the version\n"
		     "   --help, -h           show help\n");
}

static void print_version(void)
{
	printf("hangar-oci version %s\ncommit: %s\nspec: 1.2.0\n", HANGAR_VERSION, HANGAR_COMMIT);
}

static int saved_argc;
static char **saved_argv;

int oci_protect_binary(const struct oci_config *cfg)
{
	/* CVE-2019-5736: run from a sealed memfd copy so the container can
	 * never write to our binary via /proc/PID/exe, unless its processes
	 * cannot write it anyway.  Returns only when that holds (the copy
	 * re-executes us from the start). */
	struct hangar_error err;
	hangar_error_clear(&err);
	if (ensure_cloned_binary_for(saved_argc, saved_argv, cfg, &err) < 0)
		return cli_fail(&err);
	return 0;
}

const char *oci_root(void)
{
	if (cli.root == NULL) {
		struct hangar_error err;
		char *root;
		if (state_default_root_checked("hangar-oci", &root, &err) < 0)
			exit(cli_fail(&err));
		cli.root = root;
	}
	return cli.root;
}

/* Global flags come before the verb; like runc, accept -flag and --flag,
 * "--flag value" and "--flag=value". */
static int parse_globals(int argc, char **argv, int *verb_index)
{
	int i = 1;
	for (; i < argc; i++) {
		char *a = argv[i];
		if (a[0] != '-')
			break;
		char *name = a + (a[1] == '-' ? 2 : 1);
		char *val = strchr(name, '=');
		size_t nlen = val ? (size_t)(val - name) : strlen(name);
		if (val)
			val++;
#define IS(s) (nlen == strlen(s) && strncmp(name, s, nlen) == 0)
#define NEED_VAL()                                                                  \
	do {                                                                        \
		if (!val) {                                                         \
			if (i + 1 >= argc) {                                        \
				cli_error("flag needs an argument: %s", a);         \
				return -1;                                          \
			}                                                           \
			val = argv[++i];                                            \
		}                                                                   \
	} while (0)
		if (IS("help") || IS("h")) {
			usage(stdout);
			exit(0);
		} else if (IS("version") || IS("v")) {
			print_version();
			exit(0);
		} else if (IS("debug")) {
			cli.debug = true;
		} else if (IS("systemd-cgroup")) {
			cli.systemd_cgroup = true;
		} else if (IS("root")) {
			NEED_VAL();
			cli.root = val;
		} else if (IS("log")) {
			NEED_VAL();
			cli.log_path = val;
		} else if (IS("log-format")) {
			NEED_VAL();
			if (strcmp(val, "json") == 0)
				cli.log_json = true;
			else if (strcmp(val, "text") != 0) {
				cli_error("invalid log-format: %s (text or json)", val);
				return -1;
			}
		} else if (IS("criu")) {
			NEED_VAL();
			cli.criu = val;
		} else if (IS("rootless")) {
			NEED_VAL();
			cli.rootless = val;
		} else {
			cli_error("flag provided but not defined: %s", a);
			return -1;
		}
#undef IS
#undef NEED_VAL
	}
	*verb_index = i;
	return 0;
}

int main(int argc, char **argv)
{
	cli.prog = "hangar-oci";
	saved_argc = argc;
	saved_argv = argv;
	int vi;
	if (parse_globals(argc, argv, &vi) < 0)
		return 1;
	if (cli_open_log() < 0)
		return 1;
	if (vi >= argc) {
		usage(stderr);
		return 1;
	}
	const char *name = argv[vi];
	if (strcmp(name, "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(verbs[i].name, name) != 0)
			continue;
		int (*fn)(int, char **) = verbs[i].fn;
		if (fn == NULL && strcmp(name, "checkpoint") == 0)
			fn = cmd_checkpoint;
		if (fn == NULL && strcmp(name, "restore") == 0)
			fn = cmd_restore;
		if (fn == NULL) {
			cli_error("%s: not available in this build", name);
			return 1;
		}
		if (verbs[i].needs_clone) {
			/* CVE-2019-5736: run from a sealed memfd copy so the
			 * container can never write to our binary via
			 * /proc/PID/exe.  Returns only when already cloned. */
			struct hangar_error err;
			if (ensure_cloned_binary(argc, argv, &err) < 0)
				return cli_fail(&err);
		}
		optind = 1;
		return fn(argc - vi, argv + vi);
	}
	cli_error("command \"%s\" does not exist (see 'hangar-oci --help')", name);
	return 1;
}
