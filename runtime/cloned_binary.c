/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "runtime/cloned_binary.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "config/oci.h"

#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static bool id_mapped(const struct oci_id_mapping *m, size_t n, uint32_t host_id)
{
	for (size_t i = 0; i < n; i++)
		if (host_id >= m[i].host_id && host_id - m[i].host_id < m[i].size)
			return true;
	return false;
}

/* Whether no process of the container can open our binary for writing, so
 * the copy buys nothing.  The attack reopens /proc/PID/exe, i.e. the very
 * mount and inode we were executed from:
 * - on a read-only mount that fails with EROFS, and the container cannot
 *   remount anything in our mount namespace;
 * - in a new user namespace the container holds no capability over an
 *   inode whose owner is unmapped (capable_wrt_inode_uidgid), so only the
 *   mode bits of a mapped owner/group or "other" can grant write.
 * Anything unusual (a joined user namespace, a POSIX ACL) keeps the copy. */
static bool binary_unwritable_by_container(int self, const struct stat *sb, const struct oci_config *cfg)
{
	struct statvfs vfs;
	if (fstatvfs(self, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		return true;
	if (cfg == NULL)
		return false;
	const struct oci_namespace *user = oci_config_namespace(cfg, OCI_NS_USER);
	if (user == NULL || user->path != NULL)
		return false;
	if (fgetxattr(self, "system.posix_acl_access", NULL, 0) >= 0 || (errno != ENODATA && errno != ENOTSUP))
		return false;
	const struct oci_linux *l = &cfg->linux_;
	if (sb->st_mode & S_IWOTH)
		return false;
	if ((sb->st_mode & S_IWUSR) && id_mapped(l->uid_mappings, l->n_uid_mappings, sb->st_uid))
		return false;
	if ((sb->st_mode & S_IWGRP) && id_mapped(l->gid_mappings, l->n_gid_mappings, sb->st_gid))
		return false;
	return true;
}

int ensure_cloned_binary(int argc, char **argv, struct hangar_error *err)
{
	return ensure_cloned_binary_for(argc, argv, NULL, err);
}

int ensure_cloned_binary_for(int argc, char **argv, const struct oci_config *cfg, struct hangar_error *err)
{
	(void)argc;
	_cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return hangar_sys_error(err, "open /proc/self/exe");
	int seals = fcntl(self, F_GET_SEALS);
	if (seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS)
		return 0;
	struct stat sb;
	if (fstat(self, &sb) < 0)
		return hangar_sys_error(err, "stat /proc/self/exe");
	/* The copy and second execve cost about 3 ms of a 12-20 ms `run`. */
	if (binary_unwritable_by_container(self, &sb, cfg))
		return 0;
	_cleanup_close_ int mfd = memfd_create("hangar:[cloned-binary]", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return hangar_sys_error(err, "memfd_create");
	off_t off = 0;
	while (off < sb.st_size) {
		ssize_t n = sendfile(mfd, self, &off, (size_t)(sb.st_size - off));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hangar_sys_error(err, "copy runtime binary into memfd");
		}
		if (n == 0)
			break;
	}
	if (fcntl(mfd, F_ADD_SEALS, REQUIRED_SEALS) < 0)
		return hangar_sys_error(err, "seal memfd");
	syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
	return hangar_sys_error(err, "re-exec runtime from sealed memfd");
}
