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
#include "runtime/restore.h"

char *create_bundle_path(const char *bundle);

static void restore_usage(void)
{
	printf("usage: hangar-oci restore [options] <container-id>\n\n"
	       "Restore a container from a CRIU checkpoint.\n\n"
	       "   --image-path DIR            the checkpoint (default: ./checkpoint)\n"
	       "   --work-path DIR             where criu writes its logs (default: the image path)\n"
	       "   --bundle, -b DIR            bundle with config.json and the rootfs (default: .)\n"
	       "   --detach, -d                do not wait for the restored container\n"
	       "   --pid-file PATH             write the restored init's pid here\n"
	       "   --console-socket PATH       AF_UNIX socket that receives the new pty master\n"
	       "   --tcp-established           restore established TCP connections\n"
	       "   --tcp-close                 restore them closed\n"
	       "   --ext-unix-sk               allow external unix sockets\n"
	       "   --shell-job                 allow a shell job\n"
	       "   --file-locks                restore file locks\n"
	       "   --manage-cgroups-mode MODE  soft (default), full, strict or ignore\n"
	       "   --empty-ns network         restore into an empty namespace\n"
	       "   --auto-dedup                punch holes in the images as they are restored\n"
	       "   --lazy-pages                restore memory on demand (post-copy)\n"
	       "   --no-pivot, --no-subreaper  accepted for compatibility\n");
}

int cmd_restore(int argc, char **argv)
{
	enum {
		O_IMAGE = 256,
		O_WORK,
		O_PIDFILE,
		O_CONSOLE,
		O_TCP,
		O_EXTUNIX,
		O_SHELL,
		O_LOCKS,
		O_CGMODE,
		O_EMPTYNS,
		O_DEDUP,
		O_LAZY,
		O_STATUSFD,
		O_IGNORED,
		O_IGNORED_ARG,
		O_TCPCLOSE,
	};
	static const struct option opts[] = {
	    {"image-path", required_argument, NULL, O_IMAGE},
	    {"work-path", required_argument, NULL, O_WORK},
	    {"bundle", required_argument, NULL, 'b'},
	    {"detach", no_argument, NULL, 'd'},
	    {"pid-file", required_argument, NULL, O_PIDFILE},
	    {"console-socket", required_argument, NULL, O_CONSOLE},
	    {"tcp-established", no_argument, NULL, O_TCP},
	    {"ext-unix-sk", no_argument, NULL, O_EXTUNIX},
	    {"shell-job", no_argument, NULL, O_SHELL},
	    {"file-locks", no_argument, NULL, O_LOCKS},
	    {"manage-cgroups-mode", required_argument, NULL, O_CGMODE},
	    {"empty-ns", required_argument, NULL, O_EMPTYNS},
	    {"auto-dedup", no_argument, NULL, O_DEDUP},
	    {"lazy-pages", no_argument, NULL, O_LAZY},
	    {"status-fd", required_argument, NULL, O_STATUSFD},
	    {"no-pivot", no_argument, NULL, O_IGNORED},
	    {"no-subreaper", no_argument, NULL, O_IGNORED},
	    {"tcp-close", no_argument, NULL, O_TCPCLOSE},
	    {"lsm-profile", required_argument, NULL, O_IGNORED_ARG},
	    {"lsm-mount-context", required_argument, NULL, O_IGNORED_ARG},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct container_restore_opts o = {.root = oci_root(), .criu = cli.criu, .status_fd = -1};
	const char *bundle_arg = NULL;
	bool detach = false;
	int c;
	while ((c = cli_getopt(argc, argv, "+b:dh", opts)) != -1) {
		switch (c) {
		case O_IMAGE:
			o.image_path = optarg;
			break;
		case O_WORK:
			o.work_path = optarg;
			break;
		case 'b':
			bundle_arg = optarg;
			break;
		case 'd':
			detach = true;
			break;
		case O_PIDFILE:
			o.pid_file = optarg;
			break;
		case O_CONSOLE:
			o.console_socket = optarg;
			break;
		case O_TCP:
			o.tcp_established = true;
			break;
		case O_EXTUNIX:
			o.ext_unix_sk = true;
			break;
		case O_SHELL:
			o.shell_job = true;
			break;
		case O_LOCKS:
			o.file_locks = true;
			break;
		case O_CGMODE:
			o.manage_cgroups_mode = optarg;
			break;
		case O_EMPTYNS:
			o.empty_ns = optarg;
			break;
		case O_DEDUP:
			o.auto_dedup = true;
			break;
		case O_LAZY:
			o.lazy_pages = true;
			break;
		case O_STATUSFD: {
			uint64_t fd;
			if (parse_u64(optarg, &fd) < 0 || fd > INT_MAX)
				return cli_usage_error("restore", "invalid --status-fd '%s'", optarg);
			o.status_fd = (int)fd;
			break;
		}
		case O_TCPCLOSE:
			o.tcp_close = true;
			break;
		case O_IGNORED:
		case O_IGNORED_ARG:
			break;
		case 'h':
			restore_usage();
			return 0;
		default:
			return cli_usage_error("restore", "invalid flag");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("restore", "requires exactly 1 argument: the container id");
	o.id = argv[optind];
	_cleanup_free_ char *bundle = create_bundle_path(bundle_arg);
	if (bundle == NULL) {
		cli_error("bundle %s: %m", bundle_arg ? bundle_arg : ".");
		return 1;
	}
	o.bundle = bundle;
	_cleanup_free_ char *default_image = NULL;
	if (o.image_path == NULL) {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			cli_error("restore: current directory: %m");
			return 1;
		}
		default_image = xasprintf("%s/checkpoint", cwd);
		o.image_path = default_image;
	}
	o.want_tty_master = !detach && o.console_socket == NULL;
	struct container_created created = {.pid = -1, .tty_master = -1};
	struct restore_stats stats;
	struct hangar_error err;
	hangar_error_clear(&err);
	if (container_restore(&o, &created, &stats, &err) < 0)
		return cli_fail(&err);
	cli_debug("restore %s: pid %d, criu %.3f s", o.id, (int)created.pid, stats.elapsed_ns / 1e9);
	if (detach)
		return 0;
	int code = cli_wait_and_forward(created.pid, created.tty_master);
	if (created.tty_master >= 0)
		close(created.tty_master);
	hangar_error_clear(&err);
	if (container_delete(o.root, o.id, true, &err) < 0)
		cli_fail(&err);
	return code;
}
