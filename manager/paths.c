/* SPDX-License-Identifier: GPL-2.0-or-later */
/* State directories and locks of the instance manager. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "manager/paths.h"

static char *default_data_dir(bool rootless)
{
	if (!rootless)
		return xstrdup("/var/lib/hangar");
	const char *xdg = getenv("XDG_DATA_HOME");
	if (xdg && xdg[0] == '/')
		return xasprintf("%s/hangar", xdg);
	const char *home = getenv("HOME");
	return xasprintf("%s/.local/share/hangar", home && home[0] ? home : "/tmp");
}

static char *default_run_dir(bool rootless)
{
	if (!rootless)
		return xstrdup("/run/hangar");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && xdg[0] == '/')
		return xasprintf("%s/hangar", xdg);
	return xasprintf("/tmp/hangar-run-%u", (unsigned)geteuid());
}

/* FNV-1a: only needs to tell stores apart, not resist anyone. */
static uint32_t path_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static char *absolute(const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	char cwd[4096];
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

int hangar_paths_init(struct hangar_paths *p, const char *data_override, const char *run_override,
		      struct hangar_error *err)
{
	memset(p, 0, sizeof(*p));
	p->rootless = geteuid() != 0;
	const char *data = data_override ? data_override : getenv("HANGAR_ROOT");
	const char *run = run_override ? run_override : getenv("HANGAR_RUN");
	p->data_dir = data && data[0] ? absolute(data) : default_data_dir(p->rootless);
	p->run_dir = run && run[0] ? absolute(run) : default_run_dir(p->rootless);
	p->oci_root = xasprintf("%s/oci", p->run_dir);
	p->images_dir = xasprintf("%s/images", p->data_dir);
	p->instances_dir = xasprintf("%s/instances", p->data_dir);
	p->network_dir = xasprintf("%s/networks", p->data_dir);
	p->run_instances_dir = xasprintf("%s/instances", p->run_dir);
	if (strcmp(p->data_dir, "/var/lib/hangar") == 0)
		p->cgroup_prefix = xstrdup("hangar-");
	else
		p->cgroup_prefix = xasprintf("hangar-%08x-", path_hash(p->data_dir));
	const char *dirs[] = {p->data_dir, p->images_dir, p->instances_dir, p->network_dir,
			      p->run_dir,  p->oci_root,	  p->run_instances_dir};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		if (mkdir_p(dirs[i], 0700, err) < 0) {
			hangar_paths_clear(p);
			return -1;
		}
	}
	return 0;
}

void hangar_paths_clear(struct hangar_paths *p)
{
	free(p->data_dir);
	free(p->run_dir);
	free(p->oci_root);
	free(p->images_dir);
	free(p->instances_dir);
	free(p->network_dir);
	free(p->run_instances_dir);
	free(p->cgroup_prefix);
	memset(p, 0, sizeof(*p));
}

static int lock_file(const char *path, struct hangar_error *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return hangar_sys_error(err, "open lock %s", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		return hangar_error_set(err, HANGAR_E_SYS, e, "lock %s", path);
	}
	return fd;
}

int hangar_lock_global(const struct hangar_paths *p, struct hangar_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/.lock", p->data_dir);
	return lock_file(path, err);
}

int hangar_lock_instance(const struct hangar_paths *p, const char *name, struct hangar_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s.lock", p->run_instances_dir, name);
	return lock_file(path, err);
}
