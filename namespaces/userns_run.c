/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Running a piece of work as root of a fresh user namespace with given id
 * mappings: what lets an unprivileged user create and remove files owned
 * by its subordinate ids (image import, removing instances), like
 * `podman unshare`. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "namespaces/namespaces.h"

static void child_main(int to_parent, int from_parent, ns_userns_fn fn, void *data)
{
	struct hangar_error err;
	hangar_error_clear(&err);
	/* The work must not outlive a caller that was killed meanwhile. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	char go = 0;
	int rc = -1;
	if (unshare(CLONE_NEWUSER) < 0) {
		hangar_sys_error(&err, "create a user namespace");
		write_all(to_parent, &go, 1);
		goto out;
	}
	go = 1;
	if (write_all(to_parent, &go, 1) != 1 || read_all(from_parent, &go, 1) != 1 || go != 1)
		_exit(1); /* the parent failed to map us and has the reason */
	/* Root of the namespace now that the maps exist; no supplementary
	 * groups (they would show up as nobody). */
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
		hangar_sys_error(&err, "become root of the user namespace");
		goto out;
	}
	setgroups(0, NULL); /* refused under setgroups=deny (single-id maps): harmless */
	rc = fn(data, &err);
out:;
	int ok = rc < 0 ? 0 : 1;
	write_all(to_parent, &ok, sizeof(ok));
	write_all(to_parent, &err, sizeof(err));
	_exit(rc < 0 ? 1 : 0);
}

int ns_run_in_userns(const struct oci_id_mapping *uids, size_t n_uids, const struct oci_id_mapping *gids,
		     size_t n_gids, ns_userns_fn fn, void *data, struct hangar_error *err)
{
	int up[2], down[2];
	if (pipe2(up, O_CLOEXEC) < 0)
		return hangar_sys_error(err, "pipe");
	if (pipe2(down, O_CLOEXEC) < 0) {
		int e = errno;
		close(up[0]);
		close(up[1]);
		return hangar_error_set(err, HANGAR_E_SYS, e, "pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(up[0]);
		close(up[1]);
		close(down[0]);
		close(down[1]);
		return hangar_error_set(err, HANGAR_E_SYS, e, "fork");
	}
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		child_main(up[1], down[0], fn, data);
	}
	close(up[1]);
	close(down[0]);
	_cleanup_close_ int from_child = up[0], to_child = down[1];
	int rc = -1;
	char ready = 0;
	if (read_all(from_child, &ready, 1) != 1 || ready != 1) {
		struct hangar_error child_err;
		int ok;
		if (read_all(from_child, &ok, sizeof(ok)) == sizeof(ok) &&
		    read_all(from_child, &child_err, sizeof(child_err)) == sizeof(child_err))
			*err = child_err;
		else
			hangar_error_set(err, HANGAR_E_CHILD, 0, "the user namespace helper died");
		goto wait;
	}
	char go = ns_write_id_maps(pid, uids, n_uids, gids, n_gids, err) < 0 ? 0 : 1;
	if (write_all(to_child, &go, 1) != 1 && go) {
		hangar_sys_error(err, "the user namespace helper");
		goto wait;
	}
	if (!go)
		goto wait;
	int ok = 0;
	struct hangar_error child_err;
	if (read_all(from_child, &ok, sizeof(ok)) != sizeof(ok) ||
	    read_all(from_child, &child_err, sizeof(child_err)) != sizeof(child_err)) {
		hangar_error_set(err, HANGAR_E_CHILD, 0, "the user namespace helper died");
		goto wait;
	}
	if (!ok)
		*err = child_err;
	else if (child_err.msg[0])
		*err = child_err; /* a note (code HANGAR_OK) from the work */
	rc = ok ? 0 : -1;
wait:;
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return rc;
}
