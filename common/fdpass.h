/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_FDPASS_H
#define HANGAR_FDPASS_H

#include <sys/types.h>

/* Passing file descriptors over AF_UNIX sockets (SCM_RIGHTS).  These are
 * plain syscall wrappers: -1 with errno on failure, EINTR retried. */

/* Connect a SOCK_STREAM|SOCK_CLOEXEC socket to path; ENAMETOOLONG when the
 * path does not fit in sun_path.  Returns the fd. */
int unix_stream_connect(const char *path);

/* One sendmsg of payload (len > 0: the kernel needs at least a byte to carry
 * the fd) with fd attached when fd >= 0.  Returns the bytes sent, which may
 * be fewer than len on a stream socket. */
ssize_t fd_send(int sock, int fd, const void *payload, size_t len);

/* One recvmsg into buf; *fd_out gets the first fd received (O_CLOEXEC) or
 * -1, any further fds are closed.  Returns the bytes received (0 at EOF). */
ssize_t fd_recv(int sock, void *buf, size_t len, int *fd_out);

#endif
