/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "rootfs/resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

void fd_path(int fd, char buf[FD_PATH_MAX])
{
	snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
}

int open_in_root_resolve(int root_fd, const char *path, int flags, mode_t mode,
			 unsigned long long extra_resolve)
{
	struct open_how how = {
	    .flags = (unsigned long long)(flags | O_CLOEXEC),
	    .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve,
	};
	/* With RESOLVE_IN_ROOT an absolute path is taken relative to the root
	 * anyway; strip the slashes so an empty remainder names the root. */
	while (*path == '/')
		path++;
	if (*path == '\0')
		path = ".";
	for (;;) {
		long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
		/* openat2 returns EAGAIN with RESOLVE_IN_ROOT when a rename
		 * raced the lookup; the lookup is safe to retry. */
		if (fd < 0 && errno == EAGAIN)
			continue;
		return (int)fd;
	}
}

int open_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
	return open_in_root_resolve(root_fd, path, flags, mode, 0);
}

char *path_clean(const char *path)
{
	size_t len = strlen(path);
	char *out = xmalloc0(len + 2);
	size_t o = 0;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		if (!(n == 1 && p[0] == '.')) {
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = end;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

/* Where a dangling symlink named by the first prefix_len bytes of clean
 * points, with the rest of the path appended; the kernel will resolve the
 * result inside the root again. */
static char *follow_dangling(int parent, const char *name, const char *clean, size_t prefix_len,
			     const char *rest)
{
	char target[4096];
	ssize_t n = readlinkat(parent, name, target, sizeof(target) - 1);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	if (target[0] == '/')
		return xasprintf("%s%s", target, rest);
	/* Relative to the directory holding the link. */
	size_t dir_len = prefix_len;
	while (dir_len > 0 && clean[dir_len - 1] != '/')
		dir_len--;
	return xasprintf("%.*s%s%s", (int)dir_len, clean, target, rest);
}

/* Symlinks followed while creating, like the kernel's own limit. */
#define MAX_DANGLING_LINKS 40

/*
 * Walk the path one component at a time.  Each prefix is resolved again from
 * root_fd (not from the previous component's fd): a component that is a
 * symlink such as "etc -> /" must be resolved against the container root,
 * and RESOLVE_IN_ROOT treats the dirfd itself as the root.  A dangling
 * symlink (common in images: /etc/resolv.conf -> /run/...) is followed and
 * its target created inside the root, as runc's MkdirAllInRoot does.
 */
static int mkdir_p_walk(int root_fd, const char *path, mode_t mode, int links, struct hangar_error *err)
{
	_cleanup_free_ char *clean = path_clean(path);
	size_t len = strlen(clean);
	_cleanup_free_ char *prefix = xmalloc0(len + 1);
	_cleanup_close_ int parent = open_in_root(root_fd, "/", O_PATH | O_DIRECTORY, 0);
	if (parent < 0)
		return hangar_sys_error(err, "open root directory");

	const char *p = clean;
	while (*p) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		const char *end = strchrnul(p, '/');
		_cleanup_free_ char *name = strndup(p, (size_t)(end - p));
		if (name == NULL)
			abort();
		memcpy(prefix, clean, (size_t)(end - clean));
		prefix[end - clean] = '\0';

		if (mkdirat(parent, name, mode) < 0 && errno != EEXIST)
			return hangar_sys_error(err, "mkdir %s in container root", prefix);
		int next = open_in_root(root_fd, prefix, O_PATH | O_DIRECTORY, 0);
		if (next < 0 && errno == ENOENT) {
			_cleanup_free_ char *redirected =
			    follow_dangling(parent, name, clean, (size_t)(end - clean), end);
			if (redirected == NULL) {
				errno = ENOENT;
				return hangar_sys_error(err, "open %s in container root", prefix);
			}
			if (links >= MAX_DANGLING_LINKS) {
				errno = ELOOP;
				return hangar_sys_error(err, "create %s in container root", path);
			}
			return mkdir_p_walk(root_fd, redirected, mode, links + 1, err);
		}
		if (next < 0)
			return hangar_sys_error(err, "open %s in container root", prefix);
		close(parent);
		parent = next;
		p = end;
	}
	return 0;
}

int mkdir_p_in_root(int root_fd, const char *path, mode_t mode, struct hangar_error *err)
{
	return mkdir_p_walk(root_fd, path, mode, 0, err);
}

int open_parent_in_root(int root_fd, const char *path, bool create_parents, char **base,
			struct hangar_error *err)
{
	_cleanup_free_ char *clean = path_clean(path);
	char *slash = strrchr(clean, '/');
	if (slash[1] == '\0' || strcmp(slash + 1, "..") == 0) {
		errno = EINVAL;
		return hangar_error_set(err, HANGAR_E_CONFIG, EINVAL, "%s: not a path to a file", path);
	}
	_cleanup_free_ char *name = xstrdup(slash + 1);
	if (slash == clean)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (create_parents && mkdir_p_in_root(root_fd, clean, 0755, err) < 0)
		return -1;
	int dir = open_in_root(root_fd, clean, O_PATH | O_DIRECTORY, 0);
	if (dir < 0)
		return hangar_sys_error(err, "open %s in container root", clean);
	*base = steal_pointer(&name);
	return dir;
}

static int mkfile_walk(int root_fd, const char *path, mode_t mode, int links, struct hangar_error *err)
{
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int dir = open_parent_in_root(root_fd, path, true, &name, err);
	if (dir < 0)
		return -1;
	/* mknodat never follows a symlink in the last component, unlike
	 * open(O_CREAT); an existing entry of any kind is accepted here and
	 * the caller's later open decides whether it is usable. */
	if (mknodat(dir, name, S_IFREG | (mode & 07777), 0) == 0)
		return 0;
	if (errno != EEXIST)
		return hangar_sys_error(err, "create file %s in container root", path);
	_cleanup_close_ int existing = open_in_root(root_fd, path, O_PATH, 0);
	if (existing >= 0 || errno != ENOENT)
		return 0;
	/* A dangling symlink: create what it points to, inside the root. */
	_cleanup_free_ char *clean = path_clean(path);
	_cleanup_free_ char *redirected = follow_dangling(dir, name, clean, strlen(clean), "");
	if (redirected == NULL)
		return 0;
	if (links >= MAX_DANGLING_LINKS) {
		errno = ELOOP;
		return hangar_sys_error(err, "create file %s in container root", path);
	}
	return mkfile_walk(root_fd, redirected, mode, links + 1, err);
}

int mkfile_in_root(int root_fd, const char *path, mode_t mode, struct hangar_error *err)
{
	return mkfile_walk(root_fd, path, mode, 0, err);
}
