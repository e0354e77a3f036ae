/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qexit CODE [TTY...]: end the qemu test guest with a status the host can read.
 *
 * qemu's own exit status cannot tell a passing guest from a panicked one (both
 * give 0), so the harness adds "-device isa-debug-exit,iobase=0xf4,iosize=4":
 * a write of CODE to port 0xf4 makes qemu exit at once with (CODE << 1) | 1.
 * CODE is clamped to 0..127 so that the status fits in 8 bits.
 *
 * qemu exits in the middle of whatever the guest was doing, so the serial
 * ports named as TTY arguments are drained first: a write(2) to a tty returns
 * when the bytes are in the kernel's buffer, not when the UART has sent them.
 *
 * Built statically by tests/vm/mkinitrd; the guest has no libc of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <termios.h>
#include <unistd.h>

#define DEBUG_EXIT_PORT 0xf4
#define DEBUG_EXIT_MAX_CODE 127

static int drain_tty(const char *path)
{
	int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "qexit: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	int r = tcdrain(fd);
	if (r < 0)
		fprintf(stderr, "qexit: tcdrain %s: %s\n", path, strerror(errno));
	close(fd);
	return r;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: qexit CODE [TTY...]\n");
		return 2;
	}
	char *end;
	errno = 0;
	long code = strtol(argv[1], &end, 10);
	if (errno || *end || end == argv[1] || code < 0) {
		fprintf(stderr, "qexit: '%s' is not an exit code\n", argv[1]);
		return 2;
	}
	if (code > DEBUG_EXIT_MAX_CODE)
		code = DEBUG_EXIT_MAX_CODE;

	for (int i = 2; i < argc; i++)
		drain_tty(argv[i]);

	if (ioperm(DEBUG_EXIT_PORT, 4, 1) < 0) {
		fprintf(stderr, "qexit: ioperm 0x%x: %s\n", DEBUG_EXIT_PORT, strerror(errno));
		return 1;
	}
	outl((unsigned int)code, DEBUG_EXIT_PORT);
	/* Still running: the machine has no isa-debug-exit device. */
	fprintf(stderr, "qexit: no isa-debug-exit device at port 0x%x\n", DEBUG_EXIT_PORT);
	return 1;
}
