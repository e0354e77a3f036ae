/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Idmapped bind mounts (MOUNT_ATTR_IDMAP, Linux 5.12). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdpass.h"
#include "common/util.h"
#include "rootfs/internal.h"

static int send_fd(int sock, int fd)
{
	char byte = 0;
	return fd_send(sock, fd, &byte, 1) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char byte;
	int fd;
	ssize_t r = fd_recv(sock, &byte, 1, &fd);
	if (r <= 0) {
		if (r == 0)
			errno = ECHILD;
		return -1;
	}
	if (fd < 0)
		errno = EBADMSG;
	return fd;
}

static char *format_map(const struct oci_id_mapping *m, size_t n)
{
	_cleanup_free_ char *out = xstrdup("");
	for (size_t i = 0; i < n; i++) {
		char *next = xasprintf("%s%u %u %u\n", out, m[i].container_id, m[i].host_id, m[i].size);
		free(out);
		out = next;
	}
	return steal_pointer(&out);
}

static int write_map(int proc_dir, const char *file, const struct oci_id_mapping *m, size_t n,
		     struct hangar_error *err)
{
	_cleanup_free_ char *text = format_map(m, n);
	_cleanup_close_ int fd = openat(proc_dir, file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hangar_sys_error(err, "open %s of the idmap user namespace", file);
	/* The kernel takes the whole map in one write or not at all. */
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return hangar_sys_error(err, "write %s of the idmap user namespace", file);
	return 0;
}

/*
 * The user namespace is made by a short-lived child: the caller (the
 * container's init) must stay in its own.  The child sends back its /proc
 * directory rather than its pid, because in a new pid namespace the pid it
 * has is not the one the still-mounted host /proc knows it by.
 */
int idmap_userns_open(const struct oci_id_mapping *uids, size_t n_uids, const struct oci_id_mapping *gids,
		      size_t n_gids, struct hangar_error *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return hangar_sys_error(err, "socketpair for the idmap user namespace");
	_cleanup_close_ int parent_end = sv[0];
	_cleanup_close_ int child_end = sv[1];
	pid_t pid = fork();
	if (pid < 0)
		return hangar_sys_error(err, "fork for the idmap user namespace");
	if (pid == 0) {
		close(parent_end);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		int self = open("/proc/self", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (self < 0 || send_fd(child_end, self) < 0)
			_exit(1);
		char byte;
		/* Stay alive (so the namespace has a member) until the parent
		 * has opened it and closes its end. */
		while (read(child_end, &byte, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(steal_fd(&child_end));

	int r = -1;
	_cleanup_close_ int proc_dir = recv_fd(parent_end);
	_cleanup_close_ int userns = -1;
	if (proc_dir < 0) {
		hangar_sys_error(err, "create the idmap user namespace");
		goto out;
	}
	if (write_map(proc_dir, "uid_map", uids, n_uids, err) < 0 ||
	    write_map(proc_dir, "gid_map", gids, n_gids, err) < 0)
		goto out;
	userns = openat(proc_dir, "ns/user", O_RDONLY | O_CLOEXEC);
	if (userns < 0) {
		hangar_sys_error(err, "open the idmap user namespace");
		goto out;
	}
	r = 0;
out:
	close(steal_fd(&parent_end));
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return r < 0 ? -1 : steal_fd(&userns);
}

int bind_mount_idmapped(const char *source, int target_fd, bool recursive, int userns_fd, const char *what,
			struct hangar_error *err)
{
	_cleanup_close_ int tree =
	    open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
	if (tree < 0) {
		if (errno == ENOSYS)
			return hangar_error_set(err, HANGAR_E_UNSUPPORTED, errno,
						"idmapped mount of %s needs open_tree (Linux 5.2)", source);
		return hangar_sys_error(err, "clone mount %s", source);
	}
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd};
	if (mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) <
	    0) {
		if (errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)
			return hangar_error_set(err, HANGAR_E_UNSUPPORTED, errno,
						"idmapped mount of %s: the kernel or the filesystem does not "
						"support idmapped mounts",
						source);
		if (errno == EPERM)
			return hangar_error_set(
			    err, HANGAR_E_UNSUPPORTED, errno,
			    "idmapped mount of %s needs CAP_SYS_ADMIN over its filesystem (not available in "
			    "an unprivileged user namespace)",
			    source);
		return hangar_sys_error(err, "idmap mount %s", source);
	}
	if (move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return hangar_sys_error(err, "attach idmapped mount %s on %s", source, what);
	return 0;
}
