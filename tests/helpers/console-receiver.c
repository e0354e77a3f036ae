/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * console-receiver SOCKET_PATH [--out FILE] [--input STRING] [--timeout SECS]
 *
 * The other end of --console-socket for tests (like runc's recvtty): listen
 * on SOCKET_PATH, accept one connection, receive the pty master sent with
 * SCM_RIGHTS, optionally type STRING into it, then copy everything the pty
 * prints to stdout (or FILE) until the last slave closes (EIO).
 *
 * The socket is bound under a temporary name and renamed into place once it
 * listens, so "SOCKET_PATH exists" means "ready to connect".
 * Exit status: 0 after EOF, 1 on errors, 2 on usage, 3 on timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "console-receiver: %s: %s\n", what, strerror(errno));
	return 1;
}

static int write_all_fd(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int receive_master(int conn, int *master)
{
	char payload[256];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof(control));
	struct iovec iov = {.iov_base = payload, .iov_len = sizeof(payload) - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control.buf,
			    .msg_controllen = sizeof(control.buf)};
	ssize_t n;
	do
		n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (cm == NULL || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
		errno = EBADMSG;
		return -1;
	}
	memcpy(master, CMSG_DATA(cm), sizeof(int));
	payload[n > 0 ? n : 0] = '\0';
	fprintf(stderr, "console-receiver: got pty master (payload '%s')\n", payload);
	return 0;
}

int main(int argc, char **argv)
{
	const char *socket_path = NULL, *out_path = NULL, *input = NULL;
	int timeout_s = 60;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out_path = argv[++i];
		else if (strcmp(argv[i], "--input") == 0 && i + 1 < argc)
			input = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout_s = atoi(argv[++i]);
		else if (argv[i][0] != '-' && socket_path == NULL)
			socket_path = argv[i];
		else {
			fprintf(stderr, "usage: console-receiver SOCKET_PATH [--out FILE] [--input STRING] "
					"[--timeout SECS]\n");
			return 2;
		}
	}
	if (socket_path == NULL) {
		fprintf(
		    stderr,
		    "usage: console-receiver SOCKET_PATH [--out FILE] [--input STRING] [--timeout SECS]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char tmp_path[sizeof(addr.sun_path)];
	if (snprintf(tmp_path, sizeof(tmp_path), "%s.tmp%d", socket_path, (int)getpid()) >=
	    (int)sizeof(tmp_path)) {
		fprintf(stderr, "console-receiver: socket path too long\n");
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
	int r = poll(&lp, 1, timeout_s * 1000);
	if (r == 0) {
		fprintf(stderr, "console-receiver: nobody connected within %d s\n", timeout_s);
		unlink(socket_path);
		return 3;
	}
	int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return die("accept");
	int master;
	if (receive_master(conn, &master) < 0)
		return die("receive pty master");
	close(conn);
	close(lfd);
	unlink(socket_path);

	int out = STDOUT_FILENO;
	if (out_path) {
		out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out < 0)
			return die(out_path);
	}
	if (input && write_all_fd(master, input, strlen(input)) < 0)
		return die("write input to the pty");

	time_t deadline = time(NULL) + timeout_s;
	char buf[4096];
	for (;;) {
		struct pollfd pfd = {.fd = master, .events = POLLIN};
		int left = (int)(deadline - time(NULL));
		if (left <= 0) {
			fprintf(stderr, "console-receiver: pty still open after %d s\n", timeout_s);
			return 3;
		}
		r = poll(&pfd, 1, left * 1000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return die("poll");
		if (r == 0)
			continue;
		ssize_t n = read(master, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		/* EIO: every slave fd is closed, the container side is done. */
		if (n == 0 || (n < 0 && errno == EIO))
			break;
		if (n < 0)
			return die("read pty");
		if (write_all_fd(out, buf, (size_t)n) < 0)
			return die("write output");
	}
	if (out != STDOUT_FILENO)
		close(out);
	return 0;
}
