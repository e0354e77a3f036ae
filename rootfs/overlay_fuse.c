/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuse-overlayfs: the copy-on-write root of a rootless container where the
 * kernel refuses overlayfs in a user namespace (before Linux 5.11, or a
 * distribution kernel that disables it).  Started by the container's init
 * in its own user and mount namespaces, like the kernel mount it replaces;
 * its daemon lives in the container's pid namespace and dies with it. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "rootfs/overlay.h"

#define NEED_MSG "overlayfs in a user namespace needs Linux >= 5.11, or install fuse-overlayfs"

bool overlay_native_forced_off(void)
{
	const char *v = getenv(OVERLAY_TEST_NO_NATIVE_ENV);
	return v && strcmp(v, "1") == 0;
}

/* fuse-overlayfs splits its options at ',' and lowerdir at ':', with no
 * escaping. */
static bool plain_path(const char *p)
{
	return strpbrk(p, ",:") == NULL;
}

int overlay_fuse_mount(const char *const *lowerdirs, size_t n_lower, const char *upperdir,
		       const char *workdir, const char *target, const char *native_reason,
		       struct hangar_error *err)
{
	_cleanup_free_ char *prog = find_in_path("fuse-overlayfs");
	if (prog == NULL)
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0, NEED_MSG " (the kernel's overlay: %s)",
					native_reason);
	_cleanup_close_ int fuse = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse < 0)
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, errno,
					NEED_MSG " with a /dev/fuse you may open (the kernel's overlay: %s); "
						 "open /dev/fuse",
					native_reason);
	_cleanup_free_ char *opts = xstrdup("lowerdir=");
	for (size_t i = 0; i < n_lower; i++) {
		if (!plain_path(lowerdirs[i]))
			return hangar_error_set(
			    err, HANGAR_E_USAGE, 0,
			    "fuse-overlayfs on %s: lower layer %s has ',' or ':' in its path", target,
			    lowerdirs[i]);
		char *more = xasprintf("%s%s%s", opts, i ? ":" : "", lowerdirs[i]);
		free(opts);
		opts = more;
	}
	if (upperdir) {
		if (!plain_path(upperdir) || !plain_path(workdir))
			return hangar_error_set(
			    err, HANGAR_E_USAGE, 0,
			    "fuse-overlayfs on %s: upperdir/workdir has ',' or ':' in its path", target);
		char *more = xasprintf("%s,upperdir=%s,workdir=%s", opts, upperdir, workdir);
		free(opts);
		opts = more;
	}
	/* Processes of every id of the container use the root, not only its
	 * root: FUSE lets only the mounter in without allow_other. */
	char *more = xasprintf("%s,allow_other", opts);
	free(opts);
	opts = more;
	int errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0)
		return hangar_sys_error(err, "fuse-overlayfs on %s: pipe", target);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(errp[0]);
		close(errp[1]);
		return hangar_error_set(err, HANGAR_E_SYS, e, "fuse-overlayfs on %s: fork", target);
	}
	if (pid == 0) {
		/* Its daemon must hold none of the runtime's pipes (the parent
		 * waits for them to close) nor the container's console. */
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		dup2(errp[1], STDERR_FILENO);
		close_range(3, ~0U, 0);
		signal(SIGPIPE, SIG_DFL);
		execl(prog, "fuse-overlayfs", "-o", opts, target, (char *)NULL);
		dprintf(STDERR_FILENO, "exec %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	close(errp[1]);
	/* The daemon keeps our stderr pipe's write end only until it
	 * detaches (it redirects stdio to /dev/null then). */
	char msg[512];
	int status;
	if (wait_child_message(pid, errp[0], msg, sizeof(msg), &status) < 0)
		return hangar_sys_error(err, "fuse-overlayfs on %s: wait", target);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return hangar_error_set(err, HANGAR_E_SYS, 0, "fuse-overlayfs on %s failed: %s", target,
					msg[0] ? msg : "(no message)");
	/* The daemon must stay out of the coming pivot_root: it would get the
	 * FUSE mount as its own root, and its first absolute path (it uses
	 * /proc/self/fd) would wait for itself.  So the container continues
	 * in a copy of this mount namespace, the daemon keeps the original. */
	if (unshare(CLONE_NEWNS) < 0) {
		int e = errno;
		umount2(target, MNT_DETACH);
		return hangar_error_set(err, HANGAR_E_SYS, e, "fuse-overlayfs on %s: new mount namespace",
					target);
	}
	return 0;
}
