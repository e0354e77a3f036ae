/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_SYNC_H
#define HANGAR_SYNC_H

#include "common/error.h"

/* Messages on the SOCK_SEQPACKET socketpair between the runtime and the
 * container-side process during create/exec. */
enum sync_type {
	SYNC_GO = 1,		/* runtime -> child: maps written, cgroup entered */
	SYNC_PID,		/* child -> runtime: value = pid of the real init (double fork) */
	SYNC_HOOKS,		/* child -> runtime: run prestart/createRuntime hooks now */
	SYNC_HOOKS_DONE,	/* runtime -> child */
	SYNC_SECCOMP_FD,	/* child -> runtime: notify fd attached (SCM_RIGHTS) */
	SYNC_READY,		/* child -> runtime: set up, waiting to exec */
	SYNC_ERROR,		/* either way: msg holds the reason; sender exits */
	SYNC_TTY_FD,		/* child -> runtime: pty master attached */
};

struct sync_msg {
	int type;
	int value;
	int err_code;
	int err_no;
	char msg[1024];
};

int sync_send(int sock, int type, int value, int fd, struct hangar_error *err);
int sync_send_error(int sock, const struct hangar_error *e);
/* Returned by sync_recv/sync_expect when the other side went away without a
 * message (EOF or ECONNRESET): the caller can look at how it died. */
#define SYNC_PEER_GONE (-2)

/* Receive one message; *fd_out gets an attached fd or -1.  EOF => error
 * "container process exited during setup" and SYNC_PEER_GONE. */
int sync_recv(int sock, struct sync_msg *m, int *fd_out, struct hangar_error *err);
/* Receive and require a given type; a SYNC_ERROR is turned into err. */
int sync_expect(int sock, int type, struct sync_msg *m, int *fd_out, struct hangar_error *err);

#endif
