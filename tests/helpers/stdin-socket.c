/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stdin-socket CMD [ARGS...]: run CMD with its stdin a unix socket that
 * carries what this program reads from its own stdin (then EOF), the way a
 * supervisor hands a socket to `hangar-oci update -r -`.  /dev/stdin cannot
 * be opened on such a stdin (ENXIO).  Exit status is CMD's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: stdin-socket CMD [ARGS...]\n");
		return 2;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		perror("stdin-socket: socketpair");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("stdin-socket: fork");
		return 1;
	}
	if (pid == 0) {
		close(sv[0]);
		if (dup2(sv[1], STDIN_FILENO) < 0)
			_exit(127);
		close(sv[1]);
		execvp(argv[1], argv + 1);
		perror("stdin-socket: exec");
		_exit(127);
	}
	close(sv[1]);
	char buf[4096];
	ssize_t n;
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(sv[0], buf + off, (size_t)(n - off));
			if (w < 0) {
				perror("stdin-socket: write");
				return 1;
			}
			off += w;
		}
	shutdown(sv[0], SHUT_WR);
	int st;
	if (waitpid(pid, &st, 0) < 0) {
		perror("stdin-socket: waitpid");
		return 1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
