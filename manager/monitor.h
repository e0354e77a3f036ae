/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_MANAGER_MONITOR_H
#define HANGAR_MANAGER_MONITOR_H

/*
 * The per-instance monitor (no daemon; like conmon or LXC's monitor): a
 * double-forked, setsid'ed child subreaper that creates and starts the
 * container, holds the pty master, copies console output into the instance
 * log (rotated at MONITOR_LOG_MAX), serves one console client at a time on
 * RUN/instances/NAME/console.sock, waits for the init, records the exit
 * status in DATA/instances/NAME/status.json, then detaches networking,
 * deletes the OCI container and unmounts the overlay.
 *
 * Console protocol: the client sends struct monitor_console_hello, the
 * monitor answers one byte (MONITOR_CONSOLE_OK or MONITOR_CONSOLE_BUSY),
 * then raw bytes flow both ways.  Detaching (Ctrl-a q) is the client's
 * business: it just closes the connection.  A terminal resize is a separate
 * short connection whose hello carries MONITOR_CONSOLE_RESIZE_MAGIC: the
 * monitor applies the size to the pty (also while another client is
 * attached) and closes it.
 */

#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "manager/instance.h"

#define MONITOR_LOG_MAX (1024 * 1024)
#define MONITOR_CONSOLE_MAGIC 0x31434748u /* "HGC1" */
#define MONITOR_CONSOLE_RESIZE_MAGIC 0x31534748u /* "HGS1" */
#define MONITOR_CONSOLE_OK 'O'
#define MONITOR_CONSOLE_BUSY 'B'

struct monitor_console_hello {
	uint32_t magic;
	uint16_t rows, cols; /* 0: leave the pty size alone */
};

/* Connect to the console of a running instance; returns the socket fd after
 * the handshake.  HANGAR_E_STATE when not running or another client is
 * attached. */
int monitor_console_connect(const struct hangar_paths *p, const char *name, uint16_t rows, uint16_t cols,
			    struct hangar_error *err);

/* Set the console's terminal size (on SIGWINCH of an attached client). */
int monitor_console_resize(const struct hangar_paths *p, const char *name, uint16_t rows, uint16_t cols,
			   struct hangar_error *err);

/* Used by instance_start: fork the monitor and wait for its report. */
int monitor_spawn(const struct hangar_paths *p, const char *name, const struct instance_start_opts *o,
		  struct hangar_error *err);

/* RUN/instances/NAME/monitor.json: {"pid","pid_start","started"}. */
int monitor_read_pidfile(const struct hangar_paths *p, const char *name, pid_t *pid, unsigned long long *start,
			 time_t *started, struct hangar_error *err);
/* Whether the recorded monitor process is alive (pid + start time). */
bool monitor_alive(const struct hangar_paths *p, const char *name, pid_t *pid_out, time_t *started_out);

#endif
