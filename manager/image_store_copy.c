/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copying a root tree into the image store, keeping what a root needs:
 * owners, modes (set-id bits after chown), times, xattrs (file caps!),
 * hard links, device nodes, fifos and sockets. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "manager/image.h"

struct hardlink {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct copy_ctx {
	struct hardlink *links;
	size_t n_links;
	dev_t root_dev;
	struct image_copy_opts *o;
};

static int copy_xattrs(const char *src, const char *dst, struct hangar_error *err)
{
	ssize_t len = llistxattr(src, NULL, 0);
	if (len < 0) {
		if (errno == ENOTSUP || errno == ENODATA)
			return 0;
		return hangar_sys_error(err, "list xattrs of %s", src);
	}
	if (len == 0)
		return 0;
	_cleanup_free_ char *names = xmalloc0((size_t)len + 1);
	len = llistxattr(src, names, (size_t)len);
	if (len < 0)
		return hangar_sys_error(err, "list xattrs of %s", src);
	for (char *name = names; name < names + len; name += strlen(name) + 1) {
		ssize_t vlen = lgetxattr(src, name, NULL, 0);
		if (vlen < 0)
			continue;
		_cleanup_free_ char *value = xmalloc0((size_t)vlen + 1);
		vlen = lgetxattr(src, name, value, (size_t)vlen);
		if (vlen < 0)
			continue;
		if (lsetxattr(dst, name, value, (size_t)vlen, 0) < 0 && errno != ENOTSUP && errno != EPERM)
			return hangar_sys_error(err, "set xattr %s on %s", name, dst);
	}
	return 0;
}

static int copy_file_contents(const char *src, const char *dst, mode_t mode, struct hangar_error *err)
{
	_cleanup_close_ int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return hangar_sys_error(err, "open %s", src);
	_cleanup_close_ int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0700);
	if (out < 0)
		return hangar_sys_error(err, "create %s", dst);
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 24, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)
			break;
		return hangar_sys_error(err, "copy %s", src);
	}
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hangar_sys_error(err, "read %s", src);
		if (n == 0)
			return 0;
		if (write_all(out, buf, (size_t)n) < 0)
			return hangar_sys_error(err, "write %s", dst);
	}
}

static int copy_entry(struct copy_ctx *c, const char *src, const char *dst, int depth, struct hangar_error *err);

static int copy_dir(struct copy_ctx *c, const char *src, const char *dst, int depth, struct hangar_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(src);
	if (d == NULL)
		return hangar_sys_error(err, "open directory %s", src);
	struct dirent *de;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		_cleanup_free_ char *s = xasprintf("%s/%s", src, de->d_name);
		_cleanup_free_ char *t = xasprintf("%s/%s", dst, de->d_name);
		if (copy_entry(c, s, t, depth + 1, err) < 0)
			return -1;
	}
	if (errno != 0)
		return hangar_sys_error(err, "read directory %s", src);
	return 0;
}

static int copy_entry(struct copy_ctx *c, const char *src, const char *dst, int depth, struct hangar_error *err)
{
	if (depth > 256)
		return hangar_error_set(err, HANGAR_E_SYS, ELOOP, "copy %s: tree too deep", src);
	struct stat st;
	if (lstat(src, &st) < 0)
		return hangar_sys_error(err, "stat %s", src);
	if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
		for (size_t i = 0; i < c->n_links; i++) {
			if (c->links[i].dev == st.st_dev && c->links[i].ino == st.st_ino) {
				if (link(c->links[i].path, dst) < 0)
					return hangar_sys_error(err, "link %s", dst);
				return 0;
			}
		}
		c->links = realloc(c->links, (c->n_links + 1) * sizeof(*c->links));
		if (c->links == NULL)
			abort();
		c->links[c->n_links++] = (struct hardlink){st.st_dev, st.st_ino, xstrdup(dst)};
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(dst, 0700) < 0)
			return hangar_sys_error(err, "mkdir %s", dst);
		/* A mount point inside the source (proc, a bind) is not part of the tree. */
		if (st.st_dev == c->root_dev && copy_dir(c, src, dst, depth, err) < 0)
			return -1;
	} else if (S_ISREG(st.st_mode)) {
		if (copy_file_contents(src, dst, st.st_mode, err) < 0)
			return -1;
	} else if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlink(src, target, sizeof(target) - 1);
		if (n < 0)
			return hangar_sys_error(err, "readlink %s", src);
		target[n] = '\0';
		if (symlink(target, dst) < 0)
			return hangar_sys_error(err, "symlink %s", dst);
	} else if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && c->o->skip_devices) {
		c->o->n_skipped++;
		return 0;
	} else if (mknod(dst, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0) {
		return hangar_sys_error(err, "mknod %s", dst);
	}
	if (c->o->keep_owners && lchown(dst, st.st_uid, st.st_gid) < 0 && !(errno == EPERM && geteuid() != 0))
		return hangar_sys_error(err, "chown %s to %u:%u", dst, (unsigned)st.st_uid,
					(unsigned)st.st_gid);
	if (copy_xattrs(src, dst, err) < 0)
		return -1;
	/* Mode after chown and xattrs: chown clears set-id bits. */
	if (!S_ISLNK(st.st_mode) && chmod(dst, st.st_mode & 07777) < 0)
		return hangar_sys_error(err, "chmod %s", dst);
	struct timespec times[2] = {st.st_atim, st.st_mtim};
	if (utimensat(AT_FDCWD, dst, times, AT_SYMLINK_NOFOLLOW) < 0)
		return hangar_sys_error(err, "set times of %s", dst);
	return 0;
}

int image_store_copy_tree(const char *src, const char *dst, struct hangar_error *err)
{
	struct image_copy_opts o = {.keep_owners = true};
	return image_store_copy_tree_opts(src, dst, &o, err);
}

int image_store_copy_tree_opts(const char *src, const char *dst, struct image_copy_opts *o,
			       struct hangar_error *err)
{
	struct stat st;
	if (stat(src, &st) < 0)
		return hangar_sys_error(err, "%s", src);
	if (!S_ISDIR(st.st_mode))
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "%s: not a directory", src);
	struct copy_ctx c = {.root_dev = st.st_dev, .o = o};
	int rc = copy_entry(&c, src, dst, 0, err);
	for (size_t i = 0; i < c.n_links; i++)
		free(c.links[i].path);
	free(c.links);
	return rc;
}

int image_store_copy_file(const char *src_path, const char *dst, struct hangar_error *err)
{
	/* /bin/busybox may be a symlink (merged /usr): copy what it points to. */
	_cleanup_free_ char *src = realpath(src_path, NULL);
	if (src == NULL)
		return hangar_sys_error(err, "%s", src_path);
	struct stat st;
	if (stat(src, &st) < 0)
		return hangar_sys_error(err, "%s", src);
	if (!S_ISREG(st.st_mode))
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "%s: not a regular file", src);
	struct image_copy_opts o = {.keep_owners = true};
	struct copy_ctx c = {.root_dev = st.st_dev, .o = &o};
	return copy_entry(&c, src, dst, 0, err);
}
