/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Run a check in a forked child (it may drop capabilities, load seccomp
 * filters, change credentials) and bring its verdict back.  fn fills msg
 * with what it saw; its return value is the child's exit code (0 = pass). */
#ifndef HANGAR_TEST_CHILD_H
#define HANGAR_TEST_CHILD_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"

typedef int (*child_fn)(void *arg, char *msg, size_t len);

static inline int run_in_child(child_fn fn, void *arg, char *msg, size_t len)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char buf[2048] = "";
		close(pipefd[0]);
		int rc = fn(arg, buf, sizeof(buf));
		if (write(pipefd[1], buf, strlen(buf)) < 0)
			rc = 99;
		_exit(rc);
	}
	close(pipefd[1]);
	ssize_t n = read_all(pipefd[0], msg, len - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

__attribute__((format(printf, 3, 4))) static inline int failf(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return 1;
}

#endif
