/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ptys: a child opens one, sends the master over a unix socket (as with
 * --console-socket), makes the slave its terminal; the parent talks to it
 * through the received master. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/console.h"
#include "tap.h"

static char dir[] = "/tmp/hangar-console-XXXXXX";

static int listen_unix(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 1) < 0)
		return -1;
	return fd;
}

/* Read the pty until every slave is closed (EIO) or 10 s pass. */
static size_t drain_pty(int master, char *buf, size_t len)
{
	size_t used = 0;
	uint64_t deadline = now_ns() + 10ull * 1000000000ull;
	while (used < len - 1 && now_ns() < deadline) {
		struct pollfd pfd = {.fd = master, .events = POLLIN};
		if (poll(&pfd, 1, 500) <= 0)
			continue;
		ssize_t n = read(master, buf + used, len - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	return used;
}

static const char *oneline(const char *s)
{
	static char buf[1024];
	size_t j = 0;
	for (size_t i = 0; s[i] && j < sizeof(buf) - 1; i++)
		buf[j++] = (s[i] == '\n' || s[i] == '\r') ? '|' : s[i];
	buf[j] = '\0';
	return buf;
}

/* The container side: what the lead's init does, then a little program. */
static bool exec_mode; /* container_side uses console_setup_exec_slave */

static void __attribute__((noreturn)) container_side(const char *socket_path, const char *exec_script)
{
	struct hangar_error err = {0};
	int master;
	char *slave = NULL;

	/* /dev/console gets a bind mount: keep it out of the host's namespace. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "mount namespace: %s\n", strerror(errno));
		_exit(10);
	}
	if (setsid() < 0)
		_exit(11);
	if (console_open_pty(&master, &slave, &err) < 0) {
		fprintf(stderr, "open: %s\n", err.msg);
		_exit(12);
	}
	if (console_send_master(socket_path, master, &err) < 0) {
		fprintf(stderr, "send: %s\n", err.msg);
		_exit(13);
	}
	close(master);
	if ((exec_mode ? console_setup_exec_slave(slave, 30, 100, &err)
		       : console_setup_slave(slave, 30, 100, &err)) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		_exit(14);
	}
	if (exec_script) {
		execl("/bin/sh", "sh", "-c", exec_script, (char *)NULL);
		_exit(127);
	}
	struct winsize ws = {0};
	ioctl(0, TIOCGWINSZ, &ws);
	struct stat console_st, slave_st;
	bool console_ok = stat("/dev/console", &console_st) == 0 && stat(slave, &slave_st) == 0 &&
			  console_st.st_rdev == slave_st.st_rdev;
	bool ctty = tcgetsid(0) == getsid(0);
	printf("size=%u,%u console=%s ctty=%s isatty=%d%d%d\n", ws.ws_row, ws.ws_col,
	       console_ok ? "ok" : (access("/dev/console", F_OK) == 0 ? "wrong" : "absent"),
	       ctty ? "yes" : "no", isatty(0), isatty(1), isatty(2));
	char line[64] = "";
	if (fgets(line, sizeof(line), stdin))
		line[strcspn(line, "\r\n")] = '\0';
	printf("got:%s\n", line);
	fflush(stdout);
	_exit(0);
}

static void test_full_flow(void)
{
	struct hangar_error err = {0};
	_cleanup_free_ char *sock = xasprintf("%s/console.sock", dir);
	int lfd = listen_unix(sock);
	if (lfd < 0) {
		ok(0, "listen on %s: %s", sock, strerror(errno));
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		container_side(sock, NULL);
	int master = -1;
	int r = console_recv_master(lfd, &master, &err);
	ok(r == 0 && master >= 0, "received the pty master from a listening socket %s", r ? err.msg : "");
	ok(r == 0 && (fcntl(master, F_GETFD) & FD_CLOEXEC), "received master is O_CLOEXEC");
	if (r == 0) {
		ssize_t w = write(master, "ping\n", 5);
		(void)w;
		char out[4096];
		drain_pty(master, out, sizeof(out));
		ok(strstr(out, "size=30,100") != NULL, "window size 30x100 applied (%s)", oneline(out));
		ok(strstr(out, "ctty=yes") != NULL && strstr(out, "isatty=111") != NULL,
		   "slave is the controlling terminal and stdin/out/err");
		if (exec_mode)
			ok(strstr(out, "console=ok") == NULL,
			   "exec: /dev/console is not replaced by the exec pty");
		else
			ok(strstr(out, "console=ok") != NULL || strstr(out, "console=absent") != NULL,
			   "/dev/console is the pty when it exists");
		ok(strstr(out, "got:ping") != NULL, "input typed into the master reaches the process");
		close(master);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "container side exited 0 (status 0x%x)", status);
	close(lfd);
	unlink(sock);
}

static void test_receiver_helper(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		ok(0, "readlink /proc/self/exe");
		return;
	}
	exe[n] = '\0';
	_cleanup_free_ char *helper = xasprintf("%s/../helpers/console-receiver", dirname(exe));
	if (access(helper, X_OK) < 0) {
		ok(0, "console-receiver helper built at %s", helper);
		return;
	}
	_cleanup_free_ char *sock = xasprintf("%s/recv.sock", dir);
	_cleanup_free_ char *outfile = xasprintf("%s/recv.out", dir);
	fflush(stdout);
	pid_t receiver = fork();
	if (receiver == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2);
		execl(helper, "console-receiver", sock, "--out", outfile, "--input", "hello\n", "--timeout",
		      "10", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(sock, F_OK) < 0; i++)
		usleep(10000);
	pid_t pid = fork();
	if (pid == 0)
		container_side(sock, "read x; echo \"received:$x\"; stty size");
	int status = 0, rstatus = 0;
	waitpid(pid, &status, 0);
	waitpid(receiver, &rstatus, 0);
	char *out = NULL;
	read_file_at(AT_FDCWD, outfile, &out, NULL, NULL);
	ok(WIFEXITED(rstatus) && WEXITSTATUS(rstatus) == 0 && out && strstr(out, "received:hello") &&
	       strstr(out, "30 100"),
	   "console-receiver got the master, typed input, saw output (%s)",
	   out ? oneline(out) : "(no output)");
	free(out);
}

int main(void)
{
	struct hangar_error err = {0};

	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	{
		int master = -1;
		char *slave = NULL;
		int r = console_open_pty(&master, &slave, &err);
		ok(r == 0 && str_has_prefix(slave, "/dev/pts/"), "console_open_pty gives /dev/pts/N (%s)",
		   r ? err.msg : slave);
		ok(r == 0 && (fcntl(master, F_GETFD) & FD_CLOEXEC), "master is O_CLOEXEC");
		if (r == 0) {
			/* window size through the master, visible on the slave */
			int s = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
			struct winsize ws = {0};
			ok(console_set_winsize(master, 25, 132, &err) == 0 &&
			       ioctl(s, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 25 && ws.ws_col == 132,
			   "console_set_winsize 25x132 seen on the slave (%ux%u)", ws.ws_row, ws.ws_col);
			close(s);

			/* over a connected socketpair instead of a listening socket */
			int sp[2];
			socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
			char payload[] = "/dev/ptmx";
			union {
				char buf[CMSG_SPACE(sizeof(int))];
				struct cmsghdr align;
			} control;
			memset(&control, 0, sizeof(control));
			struct iovec iov = {.iov_base = payload, .iov_len = strlen(payload)};
			struct msghdr mh = {.msg_iov = &iov,
					    .msg_iovlen = 1,
					    .msg_control = control.buf,
					    .msg_controllen = sizeof(control.buf)};
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &master, sizeof(int));
			sendmsg(sp[0], &mh, 0);
			int got = -1;
			struct stat a, b;
			r = console_recv_master(sp[1], &got, &err);
			ok(r == 0 && fstat(got, &a) == 0 && fstat(master, &b) == 0 && a.st_rdev == b.st_rdev,
			   "console_recv_master on a connected socket %s", r ? err.msg : "");
			if (got >= 0)
				close(got);
			/* a message without fd */
			ssize_t w = write(sp[0], "x", 1);
			(void)w;
			got = -1;
			ok(console_recv_master(sp[1], &got, &err) < 0 &&
			       strstr(err.msg, "no file descriptor"),
			   "message without a pty is an error (%s)", err.msg);
			close(sp[0]);
			close(sp[1]);
			close(master);
		}
		free(slave);
	}
	{
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		ok(console_send_master("/nonexistent/console.sock", fd, &err) < 0 &&
		       strstr(err.msg, "/nonexistent/console.sock"),
		   "send to a missing socket names it (%s)", err.msg);
		close(fd);
		int notsock = -1;
		ok(console_recv_master(fd, &notsock, &err) < 0, "receive on a closed fd fails");
	}
	test_full_flow();
	/* exec -t: same terminal setup, but /dev/console is left alone */
	exec_mode = true;
	test_full_flow();
	exec_mode = false;
	test_receiver_helper();

	_cleanup_free_ char *cmd = xasprintf("rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return tap_done();
}
