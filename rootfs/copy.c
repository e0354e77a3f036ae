/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tmpcopyup: fill a fresh tmpfs with what the directory under it held. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "rootfs/internal.h"

static int copy_file_data(int src, int dst)
{
	for (;;) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, 1 << 20, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -1;
		break;
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(src, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (write_all(dst, buf, (size_t)n) < 0)
			return -1;
	}
}

static int copy_entry(int src_dir, int dst_dir, const char *name, const char *what, int depth,
		      struct hangar_error *err);

static int copy_dir_contents(int src_dir, int dst_dir, const char *what, int depth, struct hangar_error *err)
{
	int dup_fd = fcntl(src_dir, F_DUPFD_CLOEXEC, 3);
	if (dup_fd < 0)
		return hangar_sys_error(err, "tmpcopyup %s: dup", what);
	_cleanup_closedir_ DIR *d = fdopendir(dup_fd);
	if (d == NULL) {
		close(dup_fd);
		return hangar_sys_error(err, "tmpcopyup %s: read directory", what);
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (copy_entry(src_dir, dst_dir, de->d_name, what, depth, err) < 0)
			return -1;
	}
	if (errno != 0)
		return hangar_sys_error(err, "tmpcopyup %s: read directory", what);
	return 0;
}

static int copy_entry(int src_dir, int dst_dir, const char *name, const char *what, int depth,
		      struct hangar_error *err)
{
	if (depth > 64)
		return hangar_error_set(err, HANGAR_E_SYS, ELOOP, "tmpcopyup %s: tree too deep", what);
	struct stat st;
	if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return hangar_sys_error(err, "tmpcopyup %s: stat %s", what, name);
	mode_t perm = st.st_mode & 07777;
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(dst_dir, name, 0700) < 0)
			return hangar_sys_error(err, "tmpcopyup %s: mkdir %s", what, name);
		_cleanup_close_ int s =
		    openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int t =
		    openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || t < 0)
			return hangar_sys_error(err, "tmpcopyup %s: open directory %s", what, name);
		if (copy_dir_contents(s, t, what, depth + 1, err) < 0)
			return -1;
	} else if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int s = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int t =
		    openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (s < 0 || t < 0)
			return hangar_sys_error(err, "tmpcopyup %s: open file %s", what, name);
		if (copy_file_data(s, t) < 0)
			return hangar_sys_error(err, "tmpcopyup %s: copy %s", what, name);
	} else if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);
		if (n < 0)
			return hangar_sys_error(err, "tmpcopyup %s: readlink %s", what, name);
		target[n] = '\0';
		if (symlinkat(target, dst_dir, name) < 0)
			return hangar_sys_error(err, "tmpcopyup %s: symlink %s", what, name);
	} else {
		if (mknodat(dst_dir, name, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0)
			return hangar_sys_error(err, "tmpcopyup %s: mknod %s", what, name);
	}
	if (fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return hangar_sys_error(err, "tmpcopyup %s: chown %s", what, name);
	/* Mode last: chown clears set-id bits. */
	if (!S_ISLNK(st.st_mode) && fchmodat(dst_dir, name, perm, 0) < 0)
		return hangar_sys_error(err, "tmpcopyup %s: chmod %s", what, name);
	return 0;
}

int copy_tree(int src_fd, int dst_fd, const char *what, struct hangar_error *err)
{
	struct stat st;
	if (fstat(src_fd, &st) < 0)
		return hangar_sys_error(err, "tmpcopyup %s: stat", what);
	if (copy_dir_contents(src_fd, dst_fd, what, 0, err) < 0)
		return -1;
	if (fchown(dst_fd, st.st_uid, st.st_gid) < 0 || fchmod(dst_fd, st.st_mode & 07777) < 0)
		return hangar_sys_error(err, "tmpcopyup %s: set owner and mode", what);
	return 0;
}
