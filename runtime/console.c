/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "runtime/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdpass.h"
#include "common/util.h"

/* runc sends the name of the master file, which is always /dev/ptmx;
 * receivers (conmon, containerd's go-runc) only need a non-empty payload. */
#define CONSOLE_PAYLOAD "/dev/ptmx"

int console_open_pty(int *master_out, char **slave_path_out, struct hangar_error *err)
{
	char name[128];

	_cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return hangar_sys_error(err, "open /dev/ptmx");
	if (unlockpt(master) < 0)
		return hangar_sys_error(err, "unlockpt on /dev/ptmx");
	int r = ptsname_r(master, name, sizeof(name));
	if (r != 0)
		return hangar_error_set(err, HANGAR_E_SYS, r, "ptsname of /dev/ptmx");
	*slave_path_out = xstrdup(name);
	*master_out = steal_fd(&master);
	return 0;
}

int console_set_winsize(int pty_fd, unsigned rows, unsigned cols, struct hangar_error *err)
{
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};

	if (rows > 0xffff || cols > 0xffff)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "console size %ux%u is too large", rows,
					cols);
	if (ioctl(pty_fd, TIOCSWINSZ, &ws) < 0)
		return hangar_sys_error(err, "set console size %ux%u", rows, cols);
	return 0;
}

static int setup_slave(const char *slave_path, unsigned rows, unsigned cols, bool mount_console,
		       struct hangar_error *err)
{
	struct stat st;

	/* O_CLOEXEC: only the dup2'ed copies on 0/1/2 must survive execve. */
	_cleanup_close_ int slave = open(slave_path, O_RDWR | O_CLOEXEC);
	if (slave < 0)
		return hangar_sys_error(err, "open console %s", slave_path);
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return hangar_sys_error(err, "make %s the controlling terminal", slave_path);
	if (rows && cols && console_set_winsize(slave, rows, cols, err) < 0)
		return -1;
	/* Programs that open /dev/console (init systems, getty) must reach the
	 * container's terminal, not the host's. */
	if (mount_console && stat("/dev/console", &st) == 0) {
		if (mount(slave_path, "/dev/console", NULL, MS_BIND, NULL) < 0)
			return hangar_sys_error(err, "bind-mount %s onto /dev/console", slave_path);
	}
	for (int target = 0; target <= 2; target++)
		if (dup2(slave, target) < 0)
			return hangar_sys_error(err, "dup console %s onto fd %d", slave_path, target);
	return 0;
}

int console_setup_slave(const char *slave_path, unsigned rows, unsigned cols, struct hangar_error *err)
{
	return setup_slave(slave_path, rows, cols, true, err);
}

int console_setup_exec_slave(const char *slave_path, unsigned rows, unsigned cols, struct hangar_error *err)
{
	return setup_slave(slave_path, rows, cols, false, err);
}

int console_send_master(const char *console_socket_path, int master_fd, struct hangar_error *err)
{
	_cleanup_close_ int sock = unix_stream_connect(console_socket_path);
	if (sock < 0)
		return hangar_sys_error(err, "connect to console socket %s", console_socket_path);
	if (fd_send(sock, master_fd, CONSOLE_PAYLOAD, sizeof(CONSOLE_PAYLOAD) - 1) < 0)
		return hangar_sys_error(err, "send the console to %s", console_socket_path);
	return 0;
}

static int is_listening_socket(int fd)
{
	int accepting = 0;
	socklen_t len = sizeof(accepting);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0)
		return -1;
	return accepting;
}

int console_recv_master(int listen_or_conn_fd, int *master_out, struct hangar_error *err)
{
	char payload[256];
	_cleanup_close_ int accepted = -1;
	int conn = listen_or_conn_fd;

	int listening = is_listening_socket(listen_or_conn_fd);
	if (listening < 0)
		return hangar_sys_error(err, "console receive: not a socket");
	if (listening) {
		do
			accepted = accept4(listen_or_conn_fd, NULL, NULL, SOCK_CLOEXEC);
		while (accepted < 0 && errno == EINTR);
		if (accepted < 0)
			return hangar_sys_error(err, "console receive: accept");
		conn = accepted;
	}

	int master = -1;
	ssize_t n = fd_recv(conn, payload, sizeof(payload), &master);
	if (n < 0)
		return hangar_sys_error(err, "console receive: recvmsg");
	if (master < 0) {
		if (n == 0)
			return hangar_error_set(
			    err, HANGAR_E_SYS, 0,
			    "console receive: peer closed the connection without sending a pty");
		return hangar_error_set(err, HANGAR_E_SYS, 0, "console receive: message carried no file descriptor");
	}
	*master_out = master;
	return 0;
}
