/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `exec`: join a running container and run one more process there. */
#include "runtime/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "namespaces/namespaces.h"
#include "runtime/console.h"
#include "runtime/container.h"
#include "runtime/init_private.h"
#include "runtime/state.h"
#include "runtime/sync.h"

static int open_container_namespaces(const struct oci_config *cfg, pid_t pid, int fds[OCI_NS_COUNT],
				     struct hangar_error *err)
{
	for (int t = 0; t < OCI_NS_COUNT; t++)
		fds[t] = -1;
	char self[64], theirs[64], a[128], b[128];
	for (size_t i = 0; i < cfg->linux_.n_namespaces; i++) {
		enum oci_ns_type t = cfg->linux_.namespaces[i].type;
		snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)pid, ns_proc_name(t));
		snprintf(self, sizeof(self), "/proc/self/ns/%s", ns_proc_name(t));
		/* Joining a namespace we are already in is an EINVAL for user
		 * namespaces; skip identical ones. */
		ssize_t la = readlink(theirs, a, sizeof(a) - 1), lb = readlink(self, b, sizeof(b) - 1);
		if (la > 0 && lb > 0 && la == lb && memcmp(a, b, (size_t)la) == 0)
			continue;
		fds[t] = open(theirs, O_RDONLY | O_CLOEXEC);
		if (fds[t] < 0) {
			int saved = errno;
			ns_close_fds(fds);
			return hangar_error_set(err, HANGAR_E_SYS, saved, "open %s", theirs);
		}
	}
	return 0;
}

struct exec_child {
	const struct container_exec_opts *o;
	const struct oci_config *cfg;
	int sync_fd;
	int ns_fds[OCI_NS_COUNT];
	struct cgroup_manager *self_enter_cg; /* see container_init_main */
};

__attribute__((noreturn)) static void exec_fail(int sync_fd, struct hangar_error *err)
{
	sync_send_error(sync_fd, err);
	_exit(1);
}

__attribute__((noreturn)) static void exec_child_main(struct exec_child *c)
{
	struct hangar_error err;
	struct sync_msg m;
	hangar_error_clear(&err);
	/* CVE-2019-5736: until execve we are the runtime binary; a
	 * non-dumpable process's /proc/PID/exe cannot be opened from the
	 * container. */
	prctl(PR_SET_DUMPABLE, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (sync_expect(c->sync_fd, SYNC_GO, &m, NULL, &err) < 0)
		_exit(1);
	if (c->self_enter_cg && cgroup_manager_self_enter(c->self_enter_cg, &err) < 0)
		exec_fail(c->sync_fd, &err);
	if (ns_join_fds(c->ns_fds, &err) < 0)
		exec_fail(c->sync_fd, &err);
	ns_close_fds(c->ns_fds);
	/* The pid namespace applies to children only. */
	pid_t child = fork();
	if (child < 0) {
		hangar_sys_error(&err, "fork");
		exec_fail(c->sync_fd, &err);
	}
	if (child > 0) {
		sync_send(c->sync_fd, SYNC_PID, child, -1, &err);
		_exit(0);
	}
	prctl(PR_SET_DUMPABLE, 0);
	if (setsid() < 0) {
		hangar_sys_error(&err, "setsid");
		exec_fail(c->sync_fd, &err);
	}
	const struct oci_process *p = c->o->process;
	if (p->terminal) {
		int master = -1;
		_cleanup_free_ char *slave = NULL;
		if (console_open_pty(&master, &slave, &err) < 0)
			exec_fail(c->sync_fd, &err);
		if (sync_send(c->sync_fd, SYNC_TTY_FD, 0, master, &err) < 0)
			_exit(1);
		close(master);
		if (console_setup_exec_slave(slave, p->console_height, p->console_width, &err) < 0)
			exec_fail(c->sync_fd, &err);
	}
	const char *cwd = p->cwd ? p->cwd : "/";
	if (chdir(cwd) < 0) {
		hangar_sys_error(&err, "process.cwd: chdir %s", cwd);
		exec_fail(c->sync_fd, &err);
	}
	struct process_launch pl = {
		.proc = p,
		.seccomp = c->cfg->linux_.seccomp.present ? &c->cfg->linux_.seccomp : NULL,
		.personality = c->cfg->linux_.personality.present ? &c->cfg->linux_.personality : NULL,
		.sync_fd = c->sync_fd,
		.fifo_fd = -1,
		.preserve_fds = c->o->preserve_fds,
		.no_new_keyring = true, /* exec'd processes share the container's keyring */
		.keyring_name = NULL,
	};
	process_launch_final(&pl);
}

int container_exec(const struct container_exec_opts *o, struct container_exec_result *out, struct hangar_error *err)
{
	struct container_state *st = NULL;
	struct oci_config *cfg = NULL;
	struct cgroup_manager *cg = NULL;
	int sync[2] = {-1, -1};
	int fds[OCI_NS_COUNT];
	int rc = -1, tty_master = -1;
	pid_t stage1 = -1, pid = -1;
	for (int t = 0; t < OCI_NS_COUNT; t++)
		fds[t] = -1;

	if (state_load(o->root, o->id, &st, err) < 0)
		return -1;
	if (st->status == STATUS_STOPPED) {
		hangar_error_set(err, HANGAR_E_STATE, 0, "cannot exec in a stopped container");
		goto out;
	}
	if (st->status == STATUS_PAUSED) {
		hangar_error_set(err, HANGAR_E_STATE, 0, "cannot exec in a paused container");
		goto out;
	}
	if (o->process->terminal && !o->console_socket && !o->want_tty_master) {
		hangar_error_set(err, HANGAR_E_USAGE, 0,
				 "cannot allocate tty if hangar-oci will detach without setting console socket");
		goto out;
	}
	/* As create does (and runc): a socket nobody will send a pty to
	 * would leave the client waiting on it. */
	if (!o->process->terminal && o->console_socket) {
		hangar_error_set(err, HANGAR_E_USAGE, 0,
				 "cannot use console socket if hangar-oci will not detach or allocate tty");
		goto out;
	}
	if (container_load_config(st, &cfg, err) < 0)
		goto out;
	if (st->cgroup && cgroup_manager_open(st->cgroup, &cg, err) < 0)
		goto out;
	if (open_container_namespaces(cfg, st->pid, fds, err) < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) {
		hangar_sys_error(err, "socketpair");
		goto out;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* Into the container's cgroup without the parent writing a pid to
	 * cgroup.procs (an RCU grace period, most of an exec's time): v2
	 * forks straight into it, v1 lets the child move itself. */
	struct exec_child c = {.o = o, .cfg = cfg, .sync_fd = sync[1]};
	memcpy(c.ns_fds, fds, sizeof(fds));
	int cgfd = cg ? cgroup_manager_dirfd(cg) : -1;
	bool entered = false; /* the child gets into the cgroup by itself */
	struct hangar_error refused;
	if (cgfd >= 0 && (stage1 = ns_clone3(0, cgfd, NULL, &refused)) >= 0) {
		entered = true;
	} else {
		/* v1, or CLONE_INTO_CGROUP refused (then we enter it below) */
		int self = cgfd < 0 && cg ? cgroup_manager_self_enter_open(cg, err) : 0;
		if (self < 0)
			goto out;
		if (self > 0)
			c.self_enter_cg = cg;
		entered = self > 0;
		stage1 = fork();
	}
	if (stage1 < 0) {
		hangar_sys_error(err, "fork");
		if (cg)
			cgroup_manager_self_enter_close(cg);
		goto out;
	}
	if (stage1 == 0) {
		close(sync[0]);
		exec_child_main(&c);
	}
	if (cg)
		cgroup_manager_self_enter_close(cg);
	close(sync[1]);
	sync[1] = -1;
	ns_close_fds(fds);
	if (cg && !entered && cgroup_manager_enter_for_exec(cg, stage1, st->pid, err) < 0)
		goto fail;
	if (sync_send(sync[0], SYNC_GO, 0, -1, err) < 0)
		goto fail;
	/* The process may report READY before stage1 reports its pid (both
	 * share the socket, and stage1 can be descheduled right after fork,
	 * e.g. by the container's cpu quota): wait for both, or the caller
	 * would wait for pid -1. */
	bool ready = false;
	while (!ready || pid < 0) {
		struct sync_msg m;
		int fd = -1;
		if (sync_recv(sync[0], &m, &fd, err) < 0)
			goto fail;
		if (m.type == SYNC_ERROR) {
			err->code = m.err_code ? m.err_code : HANGAR_E_CHILD;
			err->err_no = m.err_no;
			memcpy(err->msg, m.msg, sizeof(err->msg));
			goto fail;
		} else if (m.type == SYNC_PID) {
			pid = m.value;
			waitpid(stage1, NULL, 0);
			stage1 = -1;
		} else if (m.type == SYNC_TTY_FD) {
			if (o->console_socket) {
				int r = console_send_master(o->console_socket, fd, err);
				close(fd);
				if (r < 0)
					goto fail;
			} else {
				tty_master = fd;
			}
		} else if (m.type == SYNC_SECCOMP_FD) {
			/* Listener fds are handed out once, at create. */
			if (fd >= 0)
				close(fd);
		} else if (m.type == SYNC_READY) {
			ready = true;
		}
	}
	if (o->pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
		if (write_file_atomic(o->pid_file, buf, (size_t)n, 0644, err) < 0)
			goto fail;
	}
	out->pid = pid;
	out->tty_master = tty_master;
	tty_master = -1;
	rc = 0;
	goto out;
fail:
	if (stage1 > 0) {
		kill(stage1, SIGKILL);
		waitpid(stage1, NULL, 0);
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
out:
	if (tty_master >= 0)
		close(tty_master);
	if (sync[0] >= 0)
		close(sync[0]);
	if (sync[1] >= 0)
		close(sync[1]);
	ns_close_fds(fds);
	if (cg)
		cgroup_manager_free(cg);
	oci_config_free(cfg);
	state_free(st);
	return rc;
}

int container_exec_template(const char *root, const char *id, struct oci_process *out, struct hangar_error *err)
{
	struct container_state *st = NULL;
	struct oci_config *cfg = NULL;
	if (state_load(root, id, &st, err) < 0)
		return -1;
	int rc = container_load_config(st, &cfg, err);
	state_free(st);
	if (rc < 0)
		return -1;
	/* Move the process out of the config, then drop the rest. */
	*out = cfg->process;
	memset(&cfg->process, 0, sizeof(cfg->process));
	oci_config_free(cfg);
	out->terminal = false;
	return 0;
}
