/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "runtime/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define HOOK_CAPTURE_MAX 4096

struct capture {
	int fd;
	char buf[HOOK_CAPTURE_MAX + 1];
	size_t len;
};

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* Runs in the forked child: only async-signal-safe calls until execve. */
static void __attribute__((noreturn))
exec_hook_child(const struct oci_hook *hook, int stdin_fd, int stdout_fd, int stderr_fd, int exec_err_fd)
{
	static char *const empty_env[] = {NULL};
	char *const path_only_argv[] = {hook->path, NULL};
	char *const *argv = hook->args && hook->n_args > 0 ? hook->args : path_only_argv;
	char *const *envp = hook->env ? hook->env : empty_env;
	sigset_t none;
	int high[3];

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Own process group, so that a timeout kills what the hook started
	 * in the foreground too (a `sleep` under a shell hook). */
	setpgid(0, 0);

	/* Move the three ends out of 0..2 first: if the runtime was started
	 * with a closed stdio, one of them may already sit on 0, 1 or 2. */
	high[0] = fcntl(stdin_fd, F_DUPFD_CLOEXEC, 3);
	high[1] = fcntl(stdout_fd, F_DUPFD_CLOEXEC, 3);
	high[2] = fcntl(stderr_fd, F_DUPFD_CLOEXEC, 3);
	for (int i = 0; i < 3; i++)
		if (high[i] < 0 || dup2(high[i], i) < 0)
			goto fail;
	/* Whatever the caller left open without O_CLOEXEC must not reach the
	 * hook (it runs with the runtime's privileges). */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		long max = sysconf(_SC_OPEN_MAX);
		if (max < 0 || max > 65536)
			max = 65536;
		for (int fd = 3; fd < max; fd++)
			if (fd != exec_err_fd)
				fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	execve(hook->path, argv, envp);
fail:;
	int e = errno;
	ssize_t ignored = write(exec_err_fd, &e, sizeof(e));
	(void)ignored;
	_exit(127);
}

static void capture_read(struct capture *c)
{
	char scratch[4096];

	for (;;) {
		char *dst = c->len < HOOK_CAPTURE_MAX ? c->buf + c->len : scratch;
		size_t room = c->len < HOOK_CAPTURE_MAX ? HOOK_CAPTURE_MAX - c->len : sizeof(scratch);
		ssize_t n = read(c->fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			close_fd(&c->fd);
			return;
		}
		if (n < 0)
			return;
		if (dst != scratch)
			c->len += (size_t)n;
	}
}

static const char *first_line(struct capture *c, char *out, size_t len)
{
	c->buf[c->len] = '\0';
	const char *s = c->buf;
	while (*s == '\n' || *s == '\r' || *s == ' ')
		s++;
	size_t n = strcspn(s, "\r\n");
	if (n >= len)
		n = len - 1;
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

static int wait_child(pid_t pid, int *status)
{
	pid_t r;
	do
		r = waitpid(pid, status, 0);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : 0;
}

static int hook_error_from_status(const struct oci_hook *hook, const char *phase, int status,
				  struct capture *out, struct capture *errc, int exec_errno,
				  struct hangar_error *err)
{
	char line[256];

	if (exec_errno)
		return hangar_error_set(err, HANGAR_E_SYS, exec_errno, "%s hook %s: exec failed", phase,
					hook->path);
	if (WIFSIGNALED(status))
		return hangar_error_set(err, HANGAR_E_CHILD, 0, "%s hook %s killed by signal %d", phase,
					hook->path, WTERMSIG(status));
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		first_line(errc, line, sizeof(line));
		if (line[0] == '\0')
			first_line(out, line, sizeof(line));
		return hangar_error_set(err, HANGAR_E_CHILD, 0, "%s hook %s exited with status %d%s%s", phase,
					hook->path, WEXITSTATUS(status), line[0] ? ": " : "", line);
	}
	return 0;
}

int hooks_run_one(const struct oci_hook *hook, const char *phase, const char *state_json,
		  struct hangar_error *err)
{
	int stdin_pair[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, exec_pipe[2] = {-1, -1};
	struct capture *out = NULL, *errc = NULL;
	const char *state = state_json ? state_json : "";
	size_t state_len = strlen(state), state_sent = 0;
	int ret = -1, status = 0, exec_errno = 0;
	pid_t pid = -1;
	_cleanup_close_ int pidfd = -1;

	if (hook->path == NULL || hook->path[0] != '/')
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s hook: path '%s' must be absolute", phase,
					hook->path ? hook->path : "");
	/* A socket rather than a pipe for stdin: MSG_NOSIGNAL spares us a
	 * SIGPIPE when a hook exits without reading its state. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stdin_pair) < 0 ||
	    pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0 ||
	    pipe2(exec_pipe, O_CLOEXEC) < 0) {
		hangar_sys_error(err, "%s hook %s: create pipes", phase, hook->path);
		goto out;
	}

	pid = fork();
	if (pid < 0) {
		hangar_sys_error(err, "%s hook %s: fork", phase, hook->path);
		goto out;
	}
	if (pid == 0)
		exec_hook_child(hook, stdin_pair[1], out_pipe[1], err_pipe[1], exec_pipe[1]);

	close_fd(&stdin_pair[1]);
	close_fd(&out_pipe[1]);
	close_fd(&err_pipe[1]);
	close_fd(&exec_pipe[1]);
	out = xmalloc0(sizeof(*out));
	errc = xmalloc0(sizeof(*errc));
	out->fd = steal_fd(&out_pipe[0]);
	errc->fd = steal_fd(&err_pipe[0]);
	fcntl(out->fd, F_SETFL, O_NONBLOCK);
	fcntl(errc->fd, F_SETFL, O_NONBLOCK);

	/* pidfd: exit is noticed even if a grandchild keeps the pipes open. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0)
		fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	if (state_len == 0)
		close_fd(&stdin_pair[0]);

	uint64_t deadline =
	    hook->has_timeout && hook->timeout > 0 ? now_ns() + (uint64_t)hook->timeout * 1000000000ull : 0;
	bool exited = false;
	while (!exited) {
		struct pollfd pfd[4];
		int npfd = 0, timeout_ms = -1;
		int idx_in = -1, idx_out = -1, idx_err = -1, idx_pid = -1;

		if (stdin_pair[0] >= 0) {
			idx_in = npfd;
			pfd[npfd++] = (struct pollfd){.fd = stdin_pair[0], .events = POLLOUT};
		}
		if (out->fd >= 0) {
			idx_out = npfd;
			pfd[npfd++] = (struct pollfd){.fd = out->fd, .events = POLLIN};
		}
		if (errc->fd >= 0) {
			idx_err = npfd;
			pfd[npfd++] = (struct pollfd){.fd = errc->fd, .events = POLLIN};
		}
		if (pidfd >= 0) {
			idx_pid = npfd;
			pfd[npfd++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		} else {
			timeout_ms = 20; /* no pidfd (kernel < 5.3): poll waitpid */
		}
		if (deadline) {
			uint64_t now = now_ns();
			if (now >= deadline)
				goto timed_out;
			int left = (int)((deadline - now + 999999) / 1000000);
			if (timeout_ms < 0 || left < timeout_ms)
				timeout_ms = left;
		}
		int r = poll(pfd, (nfds_t)npfd, timeout_ms);
		if (r < 0 && errno != EINTR) {
			hangar_sys_error(err, "%s hook %s: poll", phase, hook->path);
			goto kill_and_out;
		}
		if (r > 0 && idx_in >= 0 && pfd[idx_in].revents) {
			ssize_t n = send(stdin_pair[0], state + state_sent, state_len - state_sent,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				state_sent += (size_t)n;
			/* EPIPE: the hook does not read its state, which is its right. */
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || state_sent == state_len)
				close_fd(&stdin_pair[0]);
		}
		if (r > 0 && idx_out >= 0 && pfd[idx_out].revents)
			capture_read(out);
		if (r > 0 && idx_err >= 0 && pfd[idx_err].revents)
			capture_read(errc);
		if (idx_pid >= 0 ? (r > 0 && pfd[idx_pid].revents) : waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			if (idx_pid >= 0 && wait_child(pid, &status) < 0) {
				hangar_sys_error(err, "%s hook %s: waitpid", phase, hook->path);
				pid = -1;
				goto out;
			}
			pid = -1;
		}
	}
	/* Whatever is already buffered; a daemonised grandchild holding the
	 * pipes must not keep us waiting. */
	if (out->fd >= 0)
		capture_read(out);
	if (errc->fd >= 0)
		capture_read(errc);
	if (read(exec_pipe[0], &exec_errno, sizeof(exec_errno)) != sizeof(exec_errno))
		exec_errno = 0;
	ret = hook_error_from_status(hook, phase, status, out, errc, exec_errno, err);
	goto out;

timed_out:
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	wait_child(pid, &status);
	pid = -1;
	hangar_error_set(err, HANGAR_E_CHILD, 0, "%s hook %s timed out after %d s", phase, hook->path,
			 hook->timeout);
	goto out;

kill_and_out:
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	wait_child(pid, &status);
	pid = -1;
out:
	close_fd(&stdin_pair[0]);
	close_fd(&stdin_pair[1]);
	close_fd(&out_pipe[0]);
	close_fd(&out_pipe[1]);
	close_fd(&err_pipe[0]);
	close_fd(&err_pipe[1]);
	close_fd(&exec_pipe[0]);
	close_fd(&exec_pipe[1]);
	if (out)
		close_fd(&out->fd);
	if (errc)
		close_fd(&errc->fd);
	free(out);
	free(errc);
	return ret;
}

int hooks_run(const struct oci_hook *hooks, size_t n, const char *phase, const char *state_json,
	      struct hangar_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (hooks_run_one(&hooks[i], phase, state_json, err) < 0)
			return -1;
	return 0;
}
