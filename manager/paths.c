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
#include "runtime/state.h"

/* A rootless store is made the way hangar-oci makes its state root
 * (runtime/state.c): the last directory must be ours alone, because the
 * run directory holds the console sockets, monitor.json and the OCI state
 * we act on, and the data directory the configs we start.  Under a shared
 * /tmp another user could have made either first (or a symlink to theirs). */
static int rootless_data_dir(char **out, struct hangar_error *err)
{
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	_cleanup_free_ char *parent = NULL;
	if (xdg && xdg[0] == '/')
		parent = xstrdup(xdg);
	else if (home && home[0] == '/')
		parent = xasprintf("%s/.local/share", home);
	else
		return hangar_error_set(
		    err, HANGAR_E_USAGE, 0,
		    "neither HOME nor XDG_DATA_HOME is set: refusing to keep instances under "
		    "/tmp (set one of them, or pass --root)");
	if (mkdir_p(parent, 0700, err) < 0)
		return -1;
	_cleanup_free_ char *dir = xasprintf("%s/hangar", parent);
	if (state_make_private_dir(dir, "data directory", err) < 0)
		return hangar_error_prefix(err, "no safe data directory (pass --root)");
	*out = steal_pointer(&dir);
	return 0;
}

static int rootless_run_dir(char **out, struct hangar_error *err)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	_cleanup_free_ char *dir = NULL;
	if (xdg && xdg[0] == '/') {
		if (state_check_private_dir(xdg, "XDG_RUNTIME_DIR", err) < 0)
			return hangar_error_prefix(err, "no safe run directory (pass --run)");
		dir = xasprintf("%s/hangar", xdg);
		if (state_make_private_dir(dir, "run directory", err) < 0)
			return hangar_error_prefix(err, "no safe run directory (pass --run)");
	} else {
		dir = xasprintf("/tmp/hangar-run-%u", (unsigned)geteuid());
		if (state_make_private_dir(dir, "XDG_RUNTIME_DIR is not set and the run directory", err) < 0)
			return hangar_error_prefix(
			    err, "no safe run directory (set XDG_RUNTIME_DIR or pass --run)");
	}
	*out = steal_pointer(&dir);
	return 0;
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
	if (data && data[0])
		p->data_dir = absolute(data);
	else if (!p->rootless)
		p->data_dir = xstrdup("/var/lib/hangar");
	else if (rootless_data_dir(&p->data_dir, err) < 0)
		goto fail;
	if (run && run[0])
		p->run_dir = absolute(run);
	else if (!p->rootless)
		p->run_dir = xstrdup("/run/hangar");
	else if (rootless_run_dir(&p->run_dir, err) < 0)
		goto fail;
	p->oci_root = xasprintf("%s/oci", p->run_dir);
	p->images_dir = xasprintf("%s/images", p->data_dir);
	p->instances_dir = xasprintf("%s/instances", p->data_dir);
	p->network_dir = xasprintf("%s/networks", p->data_dir);
	p->run_instances_dir = xasprintf("%s/instances", p->run_dir);
	if (strcmp(p->data_dir, "/var/lib/hangar") == 0)
		p->cgroup_prefix = xstrdup("hangar-");
	else
		p->cgroup_prefix = xasprintf("hangar-%08x-", path_hash(p->data_dir));
	/* Another user's store (--root/--run): say whose, not only which
	 * subdirectory's mkdir failed. */
	const char *tops[] = {p->data_dir, p->run_dir};
	for (size_t i = 0; i < ARRAY_SIZE(tops); i++) {
		struct stat st;
		if (access(tops[i], R_OK | W_OK | X_OK) < 0 && errno == EACCES && stat(tops[i], &st) == 0) {
			hangar_error_set(err, HANGAR_E_SYS, EACCES,
					 "%s %s belongs to uid %u (a store is private to its owner)",
					 i == 0 ? "data directory" : "run directory", tops[i],
					 (unsigned)st.st_uid);
			goto fail;
		}
	}
	const char *dirs[] = {p->data_dir, p->images_dir, p->instances_dir, p->network_dir,
			      p->run_dir,  p->oci_root,	  p->run_instances_dir};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		if (mkdir_p(dirs[i], 0700, err) < 0)
			goto fail;
	}
	return 0;
fail:
	hangar_paths_clear(p);
	return -1;
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
	for (;;) {
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
		/* destroy unlinks an instance's lock file while holding it: a
		 * waiter then holds a lock on an inode nobody else will open,
		 * while a later locker makes a new file.  Only a lock on the
		 * file the path names still counts. */
		struct stat held, named;
		if (fstat(fd, &held) == 0 && stat(path, &named) == 0 && held.st_dev == named.st_dev &&
		    held.st_ino == named.st_ino)
			return fd;
		close(fd);
	}
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
