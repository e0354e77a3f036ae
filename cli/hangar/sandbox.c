/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hangar sandbox: a shell in a fresh personal instance with the current
 * directory mounted at the same path and as the working directory. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/hangar/hangar.h"
#include "common/cleanup.h"
#include "common/util.h"

static void sandbox_usage(void)
{
	printf("usage: hangar sandbox [--keep] [--image IMAGE] [--name NAME] [create options] [-- CMD "
	       "[ARGS...]]\n\n"
	       "A shell (or CMD) in a fresh instance, with the current directory mounted at\n"
	       "the same path and as the working directory.  The instance is destroyed when\n"
	       "the shell exits unless --keep is given.  As an unprivileged user the\n"
	       "instance is yours: root inside is you outside, so files you make in the\n"
	       "directory belong to you.  The exit status is the shell's.  On SIGHUP\n"
	       "(terminal gone), SIGTERM or SIGINT the instance is removed (--keep: stopped)\n"
	       "and the exit status is 128+signal.\n\n"
	       "       --keep         keep the instance after it exits (its name is printed)\n"
	       "   -i, --image IMAGE  image to start from (default: the built-in busybox one)\n"
	       "       --name NAME    instance name (default: sandbox-USER-PID)\n"
	       "Limits, --network, --env and --mount are as for 'hangar create'.\n\n"
	       "examples:\n"
	       "   hangar sandbox                              a shell in the current directory\n"
	       "   hangar sandbox --memory 512M -- make -j2    a build, limited\n");
}

static char *default_name(void)
{
	const char *user = getenv("USER");
	char clean[32];
	size_t n = 0;
	/* Instance names are [A-Za-z0-9_.-]: keep what fits of the user name. */
	for (const char *s = user ? user : ""; *s && n < sizeof(clean) - 1; s++)
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    *s == '_' || *s == '-' || *s == '.')
			clean[n++] = *s;
	clean[n] = '\0';
	if (n == 0)
		snprintf(clean, sizeof(clean), "%u", (unsigned)getuid());
	return xasprintf("sandbox-%s-%d", clean, (int)getpid());
}

int cmd_sandbox(int argc, char **argv)
{
	bool keep = false;
	const char *name = NULL;
	/* Our own flags come out; the rest goes to `run` unchanged. */
	char **pass = xmalloc0((size_t)(argc + 16) * sizeof(char *));
	int np = 0, i = 1;
	pass[np++] = "run";
	pass[np++] = NULL; /* the name, known after the loop */
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			sandbox_usage();
			free(pass);
			return 0;
		} else if (strcmp(a, "--keep") == 0) {
			keep = true;
		} else if (strcmp(a, "--name") == 0 || strncmp(a, "--name=", 7) == 0) {
			if (a[6] == '=') {
				name = a + 7;
			} else if (i + 1 < argc) {
				name = argv[++i];
			} else {
				free(pass);
				return hangar_usage("sandbox", "--name needs a value");
			}
		} else if (strcmp(a, "--rm") == 0 || strcmp(a, "-d") == 0 || strcmp(a, "--detach") == 0 ||
			   strcmp(a, "--init") == 0) {
			free(pass);
			return hangar_usage("sandbox", "%s is not a sandbox option", a);
		} else {
			/* Option values too ("--memory 512M"): run parses them. */
			pass[np++] = argv[i];
		}
	}
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		free(pass);
		cli_error("sandbox: cannot tell the current directory: %m");
		return HANGAR_EXIT_FAILURE;
	}
	/* The mount flag is SRC:DST[:ro]; "/" would hide the instance's own root. */
	if (strcmp(cwd, "/") == 0 || strchr(cwd, ':')) {
		free(pass);
		return hangar_usage("sandbox", "cannot mount the current directory %s into an instance%s",
				    cwd, strchr(cwd, ':') ? " (it contains ':')" : "");
	}
	_cleanup_free_ char *own_name = name ? NULL : default_name();
	_cleanup_free_ char *mount = xasprintf("%s:%s", cwd, cwd);
	if (!keep)
		pass[np++] = "--rm";
	pass[np++] = "--mount";
	pass[np++] = mount;
	pass[1] = (char *)(name ? name : own_name);
	/* The working directory through the shell: instances take their
	 * command, not a cwd, and a cd keeps that contract untouched. */
	pass[np++] = "--";
	pass[np++] = "/bin/sh";
	pass[np++] = "-c";
	pass[np++] = "cd \"$1\" || exit 125; shift; [ $# -gt 0 ] || set -- /bin/sh; exec \"$@\"";
	pass[np++] = "sandbox";
	pass[np++] = cwd;
	char **argv_full = xmalloc0((size_t)(np + argc + 1) * sizeof(char *));
	memcpy(argv_full, pass, (size_t)np * sizeof(char *));
	int nf = np;
	for (int k = i + 1; k < argc; k++)
		argv_full[nf++] = argv[k];
	free(pass);
	/* cmd_run parses with getopt_long from the start again. */
	optind = 0;
	hangar_run_stops_on_leave = true;
	int rc = cmd_run(nf, argv_full);
	free(argv_full);
	if (keep)
		fprintf(stderr, "hangar: sandbox kept as instance %s ('hangar destroy %s' removes it)\n",
			name ? name : own_name, name ? name : own_name);
	return rc;
}
