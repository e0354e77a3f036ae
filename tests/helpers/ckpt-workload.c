/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ckpt-workload DIR [--mem MiB] [--interval-ms N]
 *
 * A process tree whose state lives in memory, for checkpoint/restore tests
 * (built static by the tests so it runs in a busybox root).  Every tick the
 * parent:
 *   - increments a counter kept only in memory,
 *   - appends "N\n" to DIR/log through a descriptor opened once at start,
 *   - sends N over a unix socketpair to its child, which answers N*2+1,
 *   - checks a checksum over --mem MiB of memory filled at start,
 *   - rewrites DIR/state as "N PARENT_PID CHILD_PID STATUS" (pids as seen
 *     inside the container, STATUS "ok" or what broke).
 * A restore that lost memory, the socket, the open file or the child shows
 * as a counter that starts over, a gap in DIR/log or a STATUS other than ok.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_TMPFILE; the tests build this file with plain cc -static */
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int write_all_fd(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all_fd(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void child_loop(int sock)
{
	for (;;) {
		uint64_t v;
		if (read_all_fd(sock, &v, sizeof(v)) < 0)
			_exit(0);
		v = v * 2 + 1;
		if (write_all_fd(sock, &v, sizeof(v)) < 0)
			_exit(0);
	}
}

static uint64_t checksum(const uint64_t *mem, size_t words)
{
	uint64_t sum = 0;
	/* One word per page keeps the check cheap for big areas. */
	for (size_t i = 0; i < words; i += 512)
		sum = sum * 31 + mem[i];
	return sum;
}

/* The state file is replaced atomically, and no descriptor is ever open on
 * a *named* temporary file: a dump taken while one was open would record
 * that name, and with --leave-running the workload renames it away before a
 * later restore looks for it ("Can't open file data/state.tmp").  An
 * O_TMPFILE descriptor is nameless, so CRIU keeps it as a ghost file. */
static void write_state(const char *dir, uint64_t n, pid_t child, const char *status)
{
	char tmp[4096], final[4096], line[256], proc[64];
	snprintf(tmp, sizeof(tmp), "%s/state.tmp", dir);
	snprintf(final, sizeof(final), "%s/state", dir);
	int len = snprintf(line, sizeof(line), "%llu %d %d %s\n", (unsigned long long)n, (int)getpid(),
			   (int)child, status);
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	int ok = write_all_fd(fd, line, (size_t)len) == 0;
	unlink(tmp);
	ok = ok && linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0;
	close(fd);
	if (ok)
		rename(tmp, final);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: ckpt-workload DIR [--mem MiB] [--interval-ms N]\n");
		return 2;
	}
	const char *dir = argv[1];
	size_t mem_mib = 0;
	long interval_ms = 50;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--mem") == 0)
			mem_mib = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--interval-ms") == 0)
			interval_ms = strtol(argv[i + 1], NULL, 10);
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/log", dir);
	int log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log < 0) {
		perror("open log");
		return 1;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		return 1;
	}
	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		close(sv[0]);
		close(log);
		child_loop(sv[1]);
	}
	close(sv[1]);
	signal(SIGPIPE, SIG_IGN);
	/* After the fork: the memory belongs to the parent alone, so an
	 * N MiB workload is N MiB to dump, not twice that through the child's
	 * copy-on-write view. */
	size_t words = mem_mib * 1024 * 1024 / sizeof(uint64_t);
	uint64_t *mem = NULL, expect_sum = 0;
	if (words > 0) {
		mem = mmap(NULL, words * sizeof(uint64_t), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		uint64_t x = 88172645463325252ULL;
		for (size_t i = 0; i < words; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			mem[i] = x;
		}
		expect_sum = checksum(mem, words);
	}

	const char *status = "ok";
	for (uint64_t n = 1;; n++) {
		char line[32];
		int len = snprintf(line, sizeof(line), "%llu\n", (unsigned long long)n);
		if (write_all_fd(log, line, (size_t)len) < 0)
			status = "log-write-failed";
		uint64_t reply = 0;
		if (write_all_fd(sv[0], &n, sizeof(n)) < 0 || read_all_fd(sv[0], &reply, sizeof(reply)) < 0)
			status = "socket-broken";
		else if (reply != n * 2 + 1)
			status = "socket-wrong-answer";
		if (mem && checksum(mem, words) != expect_sum)
			status = "memory-corrupt";
		write_state(dir, n, child, status);
		struct timespec ts = {.tv_sec = interval_ms / 1000,
				      .tv_nsec = (interval_ms % 1000) * 1000000L};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}
