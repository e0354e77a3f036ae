/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/hangar-oci/verbs.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/container.h"

static void create_usage(bool is_run)
{
	printf("usage: hangar-oci %s [options] <container-id>\n\n"
	       "   --bundle, -b DIR        path to the bundle (default: current directory)\n"
	       "   --console-socket PATH   AF_UNIX socket that receives the pty master (terminal: true)\n"
	       "   --pid-file PATH         write the container init's pid here\n"
	       "   --no-pivot              do not use pivot_root (for ramdisk roots)\n"
	       "   --no-new-keyring        keep the caller's session keyring\n"
	       "   --preserve-fds N        pass N extra fds (3..3+N-1) to the process\n",
	       is_run ? "run" : "create");
	if (is_run)
		printf("   --detach, -d            detach from the container's process\n"
		       "   --keep                  keep the container after it exits\n"
		       "   --no-subreaper          accepted for compatibility\n");
}

int parse_create_flags(int argc, char **argv, bool is_run, struct create_flags *f)
{
	enum { O_CONSOLE = 256, O_PIDFILE, O_NOPIVOT, O_NOKEYRING, O_PRESERVE, O_KEEP, O_NOSUB };
	static const struct option opts[] = {
		{"bundle", required_argument, NULL, 'b'},
		{"console-socket", required_argument, NULL, O_CONSOLE},
		{"pid-file", required_argument, NULL, O_PIDFILE},
		{"no-pivot", no_argument, NULL, O_NOPIVOT},
		{"no-new-keyring", no_argument, NULL, O_NOKEYRING},
		{"preserve-fds", required_argument, NULL, O_PRESERVE},
		{"detach", no_argument, NULL, 'd'},
		{"keep", no_argument, NULL, O_KEEP},
		{"no-subreaper", no_argument, NULL, O_NOSUB},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *verb = is_run ? "run" : "create";
	int c;
	memset(f, 0, sizeof(*f));
	while ((c = cli_getopt(argc, argv, "+b:dh", opts)) != -1) {
		switch (c) {
		case 'b':
			f->bundle = optarg;
			break;
		case O_CONSOLE:
			f->console_socket = optarg;
			break;
		case O_PIDFILE:
			f->pid_file = optarg;
			break;
		case O_NOPIVOT:
			f->no_pivot = true;
			break;
		case O_NOKEYRING:
			f->no_new_keyring = true;
			break;
		case O_PRESERVE: {
			uint64_t n;
			if (parse_u64(optarg, &n) < 0 || n > 4096)
				return cli_usage_error(verb, "invalid --preserve-fds value '%s'", optarg);
			f->preserve_fds = (int)n;
			break;
		}
		case 'd':
			if (!is_run)
				return cli_usage_error(verb, "unknown flag -d");
			f->detach = true;
			break;
		case O_KEEP:
			f->keep = true;
			break;
		case O_NOSUB:
			break;
		case 'h':
			create_usage(is_run);
			return -1;
		default:
			return cli_usage_error(verb, "invalid flag");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(verb, "requires exactly 1 argument: the container id");
	f->id = argv[optind];
	return 0;
}

/* The bundle's config.json, loaded before the CVE-2019-5736 decision that
 * depends on it, and then handed to container_create. */
int create_load_config(const char *bundle, struct oci_config **out, struct hangar_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
	return oci_config_load(path, out, err);
}

static int create_loaded(const struct create_flags *fp, const char *bundle, struct oci_config *cfg);

/* Absolute bundle path, defaulting to the current directory. */
char *create_bundle_path(const char *bundle);
char *create_bundle_path(const char *bundle)
{
	char buf[PATH_MAX];
	if (realpath(bundle ? bundle : ".", buf) == NULL)
		return NULL;
	return xstrdup(buf);
}

int cmd_create(int argc, char **argv)
{
	struct create_flags f;
	int r = parse_create_flags(argc, argv, false, &f);
	if (r != 0)
		return r < 0 ? 0 : r;
	_cleanup_free_ char *bundle = create_bundle_path(f.bundle);
	if (bundle == NULL) {
		cli_error("bundle %s: %m", f.bundle ? f.bundle : ".");
		return 1;
	}
	struct hangar_error err;
	hangar_error_clear(&err);
	struct oci_config *cfg = NULL;
	if (create_load_config(bundle, &cfg, &err) < 0)
		return cli_fail(&err);
	r = oci_protect_binary(cfg);
	if (r == 0)
		r = create_loaded(&f, bundle, cfg);
	oci_config_free(cfg);
	return r;
}

static int create_loaded(const struct create_flags *fp, const char *bundle, struct oci_config *cfg)
{
	const struct create_flags f = *fp;
	struct container_create_opts o = {
		.root = oci_root(),
		.id = f.id,
		.bundle = bundle,
		.config = cfg,
		.console_socket = f.console_socket,
		.pid_file = f.pid_file,
		.no_pivot = f.no_pivot,
		.no_new_keyring = f.no_new_keyring,
		.preserve_fds = f.preserve_fds,
		.systemd_cgroup = cli.systemd_cgroup,
	};
	struct hangar_error err;
	hangar_error_clear(&err);
	if (container_create(&o, NULL, &err) < 0)
		return cli_fail(&err);
	cli_print_warning(&err);
	return 0;
}
