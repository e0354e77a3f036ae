/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_RUNTIME_CONSOLE_H
#define HANGAR_RUNTIME_CONSOLE_H

#include "common/error.h"

/* Open a new pty pair through /dev/ptmx of the current mount namespace (call
 * it after pivot_root so the pty belongs to the container's devpts).  The
 * master is O_CLOEXEC|O_NOCTTY; *slave_path_out ("/dev/pts/N") is malloc'ed. */
int console_open_pty(int *master_out, char **slave_path_out, struct hangar_error *err);

/* In the process that will exec the container process, after setsid():
 * open the slave, make it the controlling terminal, set the window size when
 * rows and cols are nonzero, dup it onto stdin/stdout/stderr, and bind-mount
 * it over /dev/console when that exists. */
int console_setup_slave(const char *slave_path, unsigned rows, unsigned cols, struct hangar_error *err);

/* The same for `exec -t`, without the /dev/console bind mount: the
 * container's console stays the init's pty (runc mounts it for init only;
 * mounting again on every exec would stack mounts on a dead pty). */
int console_setup_exec_slave(const char *slave_path, unsigned rows, unsigned cols, struct hangar_error *err);

/* Set the window size of a pty (master or slave). */
int console_set_winsize(int pty_fd, unsigned rows, unsigned cols, struct hangar_error *err);

/* Connect to --console-socket and pass the master with SCM_RIGHTS in one
 * sendmsg whose payload is the pty's name, as runc does (podman/conmon and
 * containerd read it this way). */
int console_send_master(const char *console_socket_path, int master_fd, struct hangar_error *err);

/* Receive a pty master: fd may be a listening socket (one connection is
 * accepted) or a connected one.  *master_out is O_CLOEXEC. */
int console_recv_master(int listen_or_conn_fd, int *master_out, struct hangar_error *err);

#endif
