/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "runtime/sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sync_send(int sock, int type, int value, int fd, struct hangar_error *err)
{
	struct sync_msg m;
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.value = value;
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t r;
	do
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return hangar_sys_error(err, "sync: send");
	return 0;
}

int sync_send_error(int sock, const struct hangar_error *e)
{
	struct sync_msg m;
	memset(&m, 0, sizeof(m));
	m.type = SYNC_ERROR;
	m.err_code = e->code;
	m.err_no = e->err_no;
	memcpy(m.msg, e->msg, sizeof(m.msg));
	m.msg[sizeof(m.msg) - 1] = '\0';
	ssize_t r;
	do
		r = send(sock, &m, sizeof(m), MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : 0;
}

int sync_recv(int sock, struct sync_msg *m, int *fd_out, struct hangar_error *err)
{
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	if (fd_out)
		*fd_out = -1;
	ssize_t r;
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	/* ECONNRESET: the peer died with our last message still unread in
	 * its queue (e.g. killed by the OOM killer right after SYNC_GO);
	 * that is the same event as EOF. */
	if (r == 0 || (r < 0 && errno == ECONNRESET)) {
		hangar_error_set(err, HANGAR_E_CHILD, 0, "container process exited during setup");
		return SYNC_PEER_GONE;
	}
	if (r < 0)
		return hangar_sys_error(err, "sync: receive");
	if ((size_t)r != sizeof(*m))
		return hangar_error_set(err, HANGAR_E_CHILD, 0, "sync: short message");
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
			if (fd_out)
				*fd_out = fd;
			else
				close(fd);
		}
	}
	return 0;
}

int sync_expect(int sock, int type, struct sync_msg *m, int *fd_out, struct hangar_error *err)
{
	int r = sync_recv(sock, m, fd_out, err);
	if (r < 0)
		return r;
	if (m->type == SYNC_ERROR) {
		err->code = m->err_code ? m->err_code : HANGAR_E_CHILD;
		err->err_no = m->err_no;
		memcpy(err->msg, m->msg, sizeof(err->msg));
		return -1;
	}
	if (m->type != type)
		return hangar_error_set(err, HANGAR_E_CHILD, 0, "sync: expected message %d, got %d", type, m->type);
	return 0;
}
