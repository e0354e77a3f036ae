/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "runtime/sync.h"

#include "common/fdpass.h"

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
	ssize_t r = fd_send(sock, fd, &m, sizeof(m));
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
	int fd = -1;
	if (fd_out)
		*fd_out = -1;
	ssize_t r = fd_recv(sock, m, sizeof(*m), &fd);
	if (fd >= 0 && (fd_out == NULL || r != (ssize_t)sizeof(*m)))
		close(fd);
	else if (fd >= 0)
		*fd_out = fd;
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
