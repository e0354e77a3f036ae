/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * seccomp-listener SOCKET_PATH --state-out FILE [--errno N] [--timeout SECS]
 *
 * The other end of linux.seccomp.listenerPath for tests: listen on
 * SOCKET_PATH, accept one connection, receive the seccomp notify fd (SCM_RIGHTS)
 * and the containerProcessState JSON, write the JSON to FILE, then answer
 * every notified syscall with -N (default EROFS) and a line "NR <number>" on
 * stdout, until the container's processes are gone (POLLHUP) or the timeout.
 *
 * The socket is bound under a temporary name and renamed into place once it
 * listens, so "SOCKET_PATH exists" means "ready to connect".
 * Exit status: 0 after POLLHUP, 1 on errors, 2 on usage, 3 on timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_STATE (256 * 1024)

static int die(const char *what)
{
	fprintf(stderr, "seccomp-listener: %s: %s\n", what, strerror(errno));
	return 1;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: seccomp-listener SOCKET_PATH --state-out FILE [--errno N] [--timeout SECS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *socket_path = NULL, *state_out = NULL;
	int answer_errno = EROFS, timeout_s = 30;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--state-out") == 0 && i + 1 < argc)
			state_out = argv[++i];
		else if (strcmp(argv[i], "--errno") == 0 && i + 1 < argc)
			answer_errno = atoi(argv[++i]);
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout_s = atoi(argv[++i]);
		else if (argv[i][0] != '-' && socket_path == NULL)
			socket_path = argv[i];
		else
			return usage();
	}
	if (socket_path == NULL || state_out == NULL)
		return usage();
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char tmp_path[sizeof(addr.sun_path)];
	if (snprintf(tmp_path, sizeof(tmp_path), "%s.tmp%d", socket_path, (int)getpid()) >=
	    (int)sizeof(tmp_path)) {
		fprintf(stderr, "seccomp-listener: socket path too long\n");
		return 1;
	}
	strcpy(addr.sun_path, tmp_path);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return die("socket");
	unlink(tmp_path);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return die("bind");
	if (listen(lfd, 1) < 0 || rename(tmp_path, socket_path) < 0) {
		unlink(tmp_path);
		return die("listen");
	}
	struct pollfd lp = {.fd = lfd, .events = POLLIN};
	if (poll(&lp, 1, timeout_s * 1000) <= 0) {
		fprintf(stderr, "seccomp-listener: nobody connected within %d s\n", timeout_s);
		unlink(socket_path);
		return 3;
	}
	int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return die("accept");
	close(lfd);
	unlink(socket_path);

	char *state = calloc(1, MAX_STATE + 1);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof(control));
	struct iovec iov = {.iov_base = state, .iov_len = MAX_STATE};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control.buf,
			    .msg_controllen = sizeof(control.buf)};
	ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return die("recvmsg");
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (cm == NULL || cm->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "seccomp-listener: no fd in the message\n");
		return 1;
	}
	int notify_fd;
	memcpy(&notify_fd, CMSG_DATA(cm), sizeof(int));
	size_t got = (size_t)n;
	/* The rest of a long state, until the runtime closes the connection. */
	while (got < MAX_STATE && (n = read(conn, state + got, MAX_STATE - got)) > 0)
		got += (size_t)n;
	close(conn);
	FILE *f = fopen(state_out, "we");
	if (f == NULL || fwrite(state, 1, got, f) != got || fclose(f) != 0)
		return die(state_out);

	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	if (seccomp_notify_alloc(&req, &resp) != 0) {
		fprintf(stderr, "seccomp-listener: seccomp_notify_alloc failed\n");
		return 1;
	}
	time_t deadline = time(NULL) + timeout_s;
	for (;;) {
		int left = (int)(deadline - time(NULL));
		if (left <= 0) {
			fprintf(stderr, "seccomp-listener: still running after %d s\n", timeout_s);
			return 3;
		}
		struct pollfd pfd = {.fd = notify_fd, .events = POLLIN};
		int r = poll(&pfd, 1, left * 1000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return die("poll");
		if (r == 0)
			continue;
		if (pfd.revents & POLLIN) {
			memset(req, 0, sizeof(*req));
			if (seccomp_notify_receive(notify_fd, req) != 0)
				continue; /* the task died meanwhile */
			memset(resp, 0, sizeof(*resp));
			resp->id = req->id;
			resp->error = -answer_errno;
			printf("NR %d\n", req->data.nr);
			fflush(stdout);
			(void)seccomp_notify_respond(notify_fd, resp);
			continue;
		}
		/* POLLHUP: no task uses the filter any more. */
		if (pfd.revents & (POLLHUP | POLLERR))
			break;
	}
	seccomp_notify_free(req, resp);
	free(state);
	return 0;
}
