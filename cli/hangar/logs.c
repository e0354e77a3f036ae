/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/hangar/hangar.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "manager/monitor.h"

static int copy_out(int fd)
{
	char buf[65536];
	ssize_t n;
	int total = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		write_all(STDOUT_FILENO, buf, (size_t)n);
		total += (int)n;
	}
	return total;
}

int cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bool follow = false;
	const char *name = NULL;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-fh", opts, NULL)) != -1) {
		if (c == 1) {
			if (name)
				return hangar_usage("logs", "unexpected argument '%s'", optarg);
			name = optarg;
			continue;
		}
		switch (c) {
		case 'f':
			follow = true;
			break;
		case 'h':
			printf("usage: hangar logs [-f] NAME\n\n"
			       "Print the instance's console log (kept by its monitor, rotated at 1 MiB:\n"
			       "the previous MiB is printed first).  -f follows it until the instance\n"
			       "stops.\n\nexample:\n   hangar logs -f web\n");
			return 0;
		default:
			return hangar_usage("logs", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (name == NULL || optind < argc)
		return hangar_usage("logs", "exactly one instance name is required");
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL)
		return HANGAR_EXIT_FAILURE;
	struct hangar_error err;
	struct instance *inst = NULL;
	if (instance_load(p, name, &inst, &err) < 0)
		return hangar_fail(&err);
	_cleanup_free_ char *old = xasprintf("%s.1", inst->log_path);
	_cleanup_free_ char *path = xstrdup(inst->log_path);
	instance_free(inst);
	_cleanup_close_ int ofd = open(old, O_RDONLY | O_CLOEXEC);
	if (ofd >= 0)
		copy_out(ofd);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		copy_out(fd);
	while (follow) {
		struct stat a, b;
		bool alive = monitor_alive(p, name, NULL, NULL);
		/* Rotated under us: continue with the new file. */
		if (stat(path, &b) == 0 && (fd < 0 || (fstat(fd, &a) == 0 && (a.st_ino != b.st_ino)))) {
			if (fd >= 0) {
				copy_out(fd);
				close(fd);
			}
			fd = open(path, O_RDONLY | O_CLOEXEC);
		}
		int got = fd >= 0 ? copy_out(fd) : 0;
		if (!alive && got == 0)
			break;
		if (got == 0)
			usleep(200000);
	}
	if (fd >= 0)
		close(fd);
	return 0;
}
