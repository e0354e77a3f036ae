/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Hidden directories of commands that died mid-way (kill -9, a failed
 * removal): DATA/instances/.NAME.destroy.PID (destroy),
 * DATA/images/.NAME.tmp.PID (an image being made) and
 * DATA/images/.NAME.rm.PID (image rm).  Their PID is the command that made
 * them; while it lives the directory is its work in progress. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "manager/instance.h"
#include "manager/internal.h"

/* The PID of ".NAME.KIND.PID" when KIND is one of kinds (NULL-ended). */
static pid_t leftover_pid(const char *entry, const char *const *kinds)
{
	if (entry[0] != '.')
		return 0;
	const char *dot = strrchr(entry, '.');
	if (dot == entry || dot[1] == '\0')
		return 0;
	char *end;
	errno = 0;
	long pid = strtol(dot + 1, &end, 10);
	if (*end || errno || pid <= 0)
		return 0;
	for (size_t i = 0; kinds[i]; i++) {
		size_t len = strlen(kinds[i]);
		if ((size_t)(dot - entry) > len + 1 && dot[-(long)len - 1] == '.' &&
		    strncmp(dot - len, kinds[i], len) == 0)
			return (pid_t)pid;
	}
	return 0;
}

/* A PID we may not signal (EPERM) is alive too.  A reused PID keeps the
 * directory: a leftover kept is harmless, removing live work is not. */
static bool pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

static int remove_in(const struct hangar_paths *p, const char *dir, const char *const *kinds, int *removed,
		     struct hangar_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : hangar_sys_error(err, "open %s", dir);
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		pid_t pid = leftover_pid(de->d_name, kinds);
		if (pid == 0 || pid == getpid() || pid_alive(pid))
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
		struct hangar_error step;
		hangar_error_clear(&step);
		if (hangar_rm_rf(p, path, &step) < 0) {
			/* Another cleanup pass may have been quicker. */
			if (step.err_no == ENOENT)
				continue;
			if (rc == 0)
				*err = step;
			rc = -1;
			continue;
		}
		(*removed)++;
	}
	return rc;
}

int hangar_remove_leftovers(const struct hangar_paths *p, int *removed, struct hangar_error *err)
{
	static const char *const instance_kinds[] = {"destroy", NULL};
	static const char *const image_kinds[] = {"tmp", "rm", NULL};
	int n = 0;
	int rc = remove_in(p, p->instances_dir, instance_kinds, &n, err);
	struct hangar_error step;
	hangar_error_clear(&step);
	if (remove_in(p, p->images_dir, image_kinds, &n, &step) < 0 && rc == 0) {
		*err = step;
		rc = -1;
	}
	if (removed)
		*removed = n;
	return rc;
}
