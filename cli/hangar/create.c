/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "cli/hangar/hangar.h"
#include "common/util.h"

static void create_usage(void)
{
	printf("usage: hangar create NAME [options] [--init | -- CMD [ARGS...]]\n\n"
	       "Create an instance: a copy-on-write root over an image, limits, networking.\n"
	       "Nothing is copied; the instance is started with 'hangar start NAME'.\n\n"
	       "   -i, --image IMAGE        image (default: default, busybox built on first use)\n"
	       "       --memory SIZE        memory limit (512M, 1.5G)\n"
	       "       --cpus N             CPU time, in CPUs (1.5 = 150ms per 100ms)\n"
	       "       --cpuset LIST        CPUs to run on (0-1,3)\n"
	       "       --io-weight N        block I/O weight, 10..1000\n"
	       "       --io-max DEV:K=V,..  block I/O limits: rbps, wbps (sizes), riops, wiops\n"
	       "       --pids N             maximum number of processes (or max)\n"
	       "   -n, --network NET        bridge (the hangar0 network, default as root), none, host,\n"
	       "                            or a network's name ('hangar network create'); as a user\n"
	       "                            also pasta or slirp4netns (bridge picks one of them).\n"
	       "                            Repeat for several bridge networks: eth0, eth1, ...\n"
	       "   -p, --publish [IP:]H:C[/udp]  publish container port C on host port H (on the\n"
	       "                            first network; IP 127.0.0.1 for the host only)\n"
	       "   -e, --env K=V            environment variable\n"
	       "   -m, --mount SRC:DST[:ro] bind a host path into the instance\n"
	       "   -H, --hostname NAME      hostname (default: the instance name)\n"
	       "       --init               boot the image's /sbin/init as PID 1 (systemd gets\n"
	       "                            container=hangar, tmpfs /run and its cgroup subtree)\n\n"
	       "examples:\n"
	       "   hangar create box\n"
	       "   hangar create web --memory 512M --cpus 1.5 --publish 8080:80 -- httpd -f -p 80\n"
	       "   hangar create vm1 --init --pids 512\n"
	       "   hangar create api --network bridge --network backend\n"
	       "   hangar create deb1 --image deb --init       (deb: hangar image debootstrap deb)\n");
}

int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {HANGAR_CREATE_OPTIONS, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct create_args a;
	memset(&a, 0, sizeof(a));
	struct hangar_error err;
	hangar_error_clear(&err);
	int c, rc = HANGAR_EXIT_USAGE;
	const char *name = NULL;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-" HANGAR_CREATE_SHORTOPTS "h", opts, NULL)) != -1) {
		if (c == 1) {
			if (name) {
				rc = hangar_usage("create", "unexpected argument '%s' (a command goes after --)", optarg);
				goto out;
			}
			name = optarg;
			continue;
		}
		if (c == 'h') {
			create_usage();
			rc = 0;
			goto out;
		}
		int r = hangar_parse_create_opt(c, optarg, &a, &err);
		if (r < 0) {
			rc = hangar_fail(&err);
			goto out;
		}
		if (r == 0) {
			rc = hangar_usage("create", "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (name == NULL) {
		rc = hangar_usage("create", "an instance name is required");
		goto out;
	}
	a.o.name = name;
	if (optind < argc)
		a.o.cmd = argv + optind;
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL) {
		rc = HANGAR_EXIT_FAILURE;
		goto out;
	}
	struct instance *inst = NULL;
	if (instance_create(p, &a.o, &inst, &err) < 0) {
		rc = hangar_fail(&err);
		goto out;
	}
	instance_free(inst);
	cli_print_warning(&err);
	rc = 0;
out:
	create_args_clear(&a);
	return rc;
}
