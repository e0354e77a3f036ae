/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * subreaper CMD [ARGS...]: run CMD as a child subreaper so that orphaned
 * container processes are reaped here (the host's PID 1 reaps slowly), and
 * kill whatever descendants are still left when CMD exits (they are ours).
 * Exit status is CMD's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int kill_children(int sig)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", getpid(), getpid());
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int n = 0, pid;
	while (fscanf(f, "%d", &pid) == 1) {
		kill(pid, sig);
		n++;
	}
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: subreaper CMD [ARGS...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		perror("subreaper: PR_SET_CHILD_SUBREAPER");
		return 2;
	}
	pid_t child = fork();
	if (child < 0) {
		perror("subreaper: fork");
		return 2;
	}
	if (child == 0) {
		signal(SIGINT, SIG_DFL);
		execvp(argv[1], argv + 1);
		fprintf(stderr, "subreaper: exec %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	signal(SIGINT, SIG_IGN);
	int status = 0, rc = 0;
	for (;;) {
		pid_t p = wait(&status);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p == child) {
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			int left = kill_children(SIGTERM);
			if (left) {
				fprintf(stderr, "subreaper: %d leftover process(es) after %s, terminating\n", left,
					argv[1]);
				usleep(200000);
				kill_children(SIGKILL);
			}
		}
	}
	return rc;
}
