/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint/checkpoint.h"
#include "cli/hangar-oci/verbs.h"
#include "common/cleanup.h"
#include "common/util.h"

static void checkpoint_usage(void)
{
	printf("usage: hangar-oci checkpoint [options] <container-id>\n\n"
	       "Checkpoint a running container with CRIU (the container stops unless --leave-running).\n\n"
	       "   --image-path DIR            where to write the images (default: ./checkpoint)\n"
	       "   --work-path DIR             where criu writes its logs (default: the image path)\n"
	       "   --parent-path DIR           previous pre-dump, relative to the image path\n"
	       "   --leave-running             keep the container running after the dump\n"
	       "   --tcp-established           dump established TCP connections\n"
	       "   --tcp-close                 drop them instead (restored closed)\n"
	       "   --ext-unix-sk               allow external unix sockets\n"
	       "   --shell-job                 allow a shell job (controlling terminal from outside)\n"
	       "   --file-locks                dump file locks\n"
	       "   --pre-dump                  dump memory only, leave the container running\n"
	       "   --lazy-pages                keep memory for post-copy (restore --lazy-pages)\n"
	       "   --status-fd FD              criu writes \\0 to FD when lazy pages are served\n"
	       "   --page-server ADDRESS:PORT  send memory pages to a criu page server\n"
	       "   --manage-cgroups-mode MODE  soft (default), full, strict or ignore\n"
	       "   --empty-ns network         keep the namespace but not its contents\n"
	       "   --auto-dedup                punch holes in parent images\n");
}

int cmd_checkpoint(int argc, char **argv)
{
	enum {
		O_IMAGE = 256,
		O_WORK,
		O_PARENT,
		O_LEAVE,
		O_TCP,
		O_EXTUNIX,
		O_SHELL,
		O_LOCKS,
		O_PREDUMP,
		O_LAZY,
		O_STATUSFD,
		O_PAGESERVER,
		O_CGMODE,
		O_EMPTYNS,
		O_DEDUP,
		O_IGNORED,
		O_TCPCLOSE,
	};
	static const struct option opts[] = {
	    {"image-path", required_argument, NULL, O_IMAGE},
	    {"work-path", required_argument, NULL, O_WORK},
	    {"parent-path", required_argument, NULL, O_PARENT},
	    {"leave-running", no_argument, NULL, O_LEAVE},
	    {"tcp-established", no_argument, NULL, O_TCP},
	    {"ext-unix-sk", no_argument, NULL, O_EXTUNIX},
	    {"shell-job", no_argument, NULL, O_SHELL},
	    {"file-locks", no_argument, NULL, O_LOCKS},
	    {"pre-dump", no_argument, NULL, O_PREDUMP},
	    {"lazy-pages", no_argument, NULL, O_LAZY},
	    {"status-fd", required_argument, NULL, O_STATUSFD},
	    {"page-server", required_argument, NULL, O_PAGESERVER},
	    {"manage-cgroups-mode", required_argument, NULL, O_CGMODE},
	    {"empty-ns", required_argument, NULL, O_EMPTYNS},
	    {"auto-dedup", no_argument, NULL, O_DEDUP},
	    /* runc accepts these; criu's defaults are what we want. */
	    {"tcp-close", no_argument, NULL, O_TCPCLOSE},
	    {"tcp-skip-in-flight", no_argument, NULL, O_IGNORED},
	    {"link-remap", no_argument, NULL, O_IGNORED},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct checkpoint_opts o = {.root = oci_root(), .criu = cli.criu, .status_fd = -1};
	int c;
	while ((c = cli_getopt(argc, argv, "+h", opts)) != -1) {
		switch (c) {
		case O_IMAGE:
			o.image_path = optarg;
			break;
		case O_WORK:
			o.work_path = optarg;
			break;
		case O_PARENT:
			o.parent_path = optarg;
			break;
		case O_LEAVE:
			o.leave_running = true;
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
		case O_PREDUMP:
			o.pre_dump = true;
			break;
		case O_LAZY:
			o.lazy_pages = true;
			break;
		case O_STATUSFD: {
			uint64_t fd;
			if (parse_u64(optarg, &fd) < 0 || fd > INT_MAX)
				return cli_usage_error("checkpoint", "invalid --status-fd '%s'", optarg);
			o.status_fd = (int)fd;
			break;
		}
		case O_PAGESERVER:
			o.page_server = optarg;
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
		case O_TCPCLOSE:
			o.tcp_close = true;
			break;
		case O_IGNORED:
			break;
		case 'h':
			checkpoint_usage();
			return 0;
		default:
			return cli_usage_error("checkpoint", "invalid flag");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("checkpoint", "requires exactly 1 argument: the container id");
	o.id = argv[optind];
	_cleanup_free_ char *default_image = NULL;
	if (o.image_path == NULL) {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			cli_error("checkpoint: current directory: %m");
			return 1;
		}
		default_image = xasprintf("%s/checkpoint", cwd);
		o.image_path = default_image;
	}
	struct hangar_error err;
	hangar_error_clear(&err);
	struct checkpoint_stats stats;
	if (container_checkpoint(&o, &stats, &err) < 0)
		return cli_fail(&err);
	cli_debug("checkpoint %s: criu %.3f s, frozen %.3f s, %llu pages written", o.id,
		  stats.elapsed_ns / 1e9, stats.frozen_us / 1e6, (unsigned long long)stats.pages_written);
	return 0;
}
