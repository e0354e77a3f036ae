/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cli/common/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/state.h"

struct cli_globals cli = {.prog = "hangar"};
static int log_fd = -1;

int cli_open_log(void)
{
	if (cli.log_path == NULL || log_fd >= 0)
		return 0;
	log_fd = open(cli.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (log_fd < 0) {
		fprintf(stderr, "%s: open log %s: %s\n", cli.prog, cli.log_path, strerror(errno));
		return -1;
	}
	return 0;
}

static void log_record(const char *level, const char *msg)
{
	if (log_fd < 0)
		return;
	if (cli.log_json) {
		json_object *o = json_object_new_object();
		char *now = rfc3339_now();
		json_object_object_add(o, "level", json_object_new_string(level));
		json_object_object_add(o, "msg", json_object_new_string(msg));
		json_object_object_add(o, "time", json_object_new_string(now));
		const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		dprintf(log_fd, "%s\n", s);
		json_object_put(o);
		free(now);
	} else {
		char *now = rfc3339_now();
		dprintf(log_fd, "time=\"%s\" level=%s msg=\"%s\"\n", now, level, msg);
		free(now);
	}
}

static void vreport(const char *level, const char *fmt, va_list ap)
{
	char buf[2048];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* Clients (podman, containerd's shim) take the last stderr line or one
	 * log record as the reason: a message quoting file contents (uid_map
	 * lines, hook output) must stay on one line. */
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	if (strcmp(level, "debug") != 0 || cli.debug)
		fprintf(stderr, "%s: %s%s\n", cli.prog, strcmp(level, "warning") == 0 ? "warning: " : "", buf);
	log_record(level, buf);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("error", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("warning", fmt, ap);
	va_end(ap);
}

void cli_debug(const char *fmt, ...)
{
	if (!cli.debug && log_fd < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vreport("debug", fmt, ap);
	va_end(ap);
}

int cli_fail(const struct hangar_error *err)
{
	cli_error("%s", err->msg[0] ? err->msg : "unknown error");
	return 1;
}

void cli_print_warning(const struct hangar_error *err)
{
	if (err->code == HANGAR_OK && err->msg[0])
		cli_warn("%s", strncmp(err->msg, "warning: ", 9) == 0 ? err->msg + 9 : err->msg);
}

/* getopt's own diagnostics would be a second line without our prefix:
 * keep the reason here for cli_usage_error instead. */
static char getopt_reason[256];

const char *cli_getopt_reason(void)
{
	return getopt_reason;
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	opterr = 0;
	getopt_reason[0] = '\0';
	int prev = optind;
	int c = getopt_long_only(argc, argv, shortopts, longopts, NULL);
	if (c != '?' && c != ':')
		return c;
	/* The offending word: getopt has moved past it (or past its missing value). */
	const char *word = prev < argc ? argv[prev] : (optind > 0 && optind <= argc ? argv[optind - 1] : "");
	const char *eq = strchr(word, '=');
	bool needs_value = false;
	if (optopt != 0 && word[0] == '-' && word[1] != '-') {
		const char *opt = strchr(shortopts, optopt);
		needs_value = opt && opt[1] == ':';
	} else if (!eq) {
		for (const struct option *o = longopts; o && o->name; o++) {
			const char *name = word + (word[1] == '-' ? 2 : 1);
			if (strcmp(o->name, name) == 0 && o->has_arg == required_argument)
				needs_value = true;
		}
	}
	if (needs_value)
		snprintf(getopt_reason, sizeof(getopt_reason), "flag %s needs a value", word);
	else if (eq && optopt != 0)
		snprintf(getopt_reason, sizeof(getopt_reason), "flag %.*s takes no value", (int)(eq - word), word);
	else
		snprintf(getopt_reason, sizeof(getopt_reason), "flag provided but not defined: %s", word);
	return c;
}

int cli_usage_error(const char *verb, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* "invalid flag" from a verb's default case: say which flag and why. */
	if (getopt_reason[0] && strcmp(buf, "invalid flag") == 0)
		snprintf(buf, sizeof(buf), "%s", getopt_reason);
	cli_error("%s: %s (see '%s %s --help')", verb, buf, cli.prog, verb);
	return 1;
}

bool cli_parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")) {
		*out = true;
		return true;
	}
	if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")) {
		*out = false;
		return true;
	}
	return false;
}

static void copy_winsize(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

int cli_wait_and_forward(pid_t pid, int tty_master)
{
	sigset_t mask, old;
	sigemptyset(&mask);
	int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD, SIGCONT};
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&mask, forwarded[i]);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	struct termios saved;
	bool raw = false;
	bool stdin_open = true;
	if (tty_master >= 0 && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
		raw = true;
		copy_winsize(STDIN_FILENO, tty_master);
	}
	int exit_code = -1;
	bool tty_done = tty_master < 0;
	char buf[8192];
	while (exit_code < 0 || !tty_done) {
		struct pollfd pfd[3];
		int n = 0;
		pfd[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		int master_idx = -1, stdin_idx = -1;
		if (!tty_done) {
			master_idx = n;
			pfd[n++] = (struct pollfd){.fd = tty_master, .events = POLLIN};
			if (stdin_open) {
				stdin_idx = n;
				pfd[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
			}
		}
		/* The process may have exited before the signalfd existed. */
		if (exit_code < 0) {
			int status;
			if (waitpid(pid, &status, WNOHANG) == pid)
				exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			if (exit_code >= 0 && tty_done)
				break;
		}
		/* After the process exited, drain the pty briefly then stop. */
		int timeout = exit_code >= 0 ? 200 : -1;
		int r = poll(pfd, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (r == 0 && exit_code >= 0)
			break;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if ((int)si.ssi_signo == SIGCHLD) {
					int status;
					pid_t w;
					while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
						if (w == pid)
							exit_code = WIFEXITED(status) ? WEXITSTATUS(status)
										      : 128 + WTERMSIG(status);
					}
				} else if ((int)si.ssi_signo == SIGWINCH) {
					if (tty_master >= 0)
						copy_winsize(STDIN_FILENO, tty_master);
				} else {
					kill(pid, (int)si.ssi_signo);
				}
			}
		}
		if (master_idx >= 0 && (pfd[master_idx].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t k = read(tty_master, buf, sizeof(buf));
			if (k <= 0)
				tty_done = true;
			else
				write_all(STDOUT_FILENO, buf, (size_t)k);
		}
		if (stdin_idx >= 0 && (pfd[stdin_idx].revents & (POLLIN | POLLHUP))) {
			ssize_t k = read(STDIN_FILENO, buf, sizeof(buf));
			if (k <= 0) {
				stdin_open = false;
				/* EOF on our stdin: send the terminal's EOF char. */
				if (!raw)
					write_all(tty_master, "\x04", 1);
			} else {
				write_all(tty_master, buf, (size_t)k);
			}
		}
	}
	if (exit_code < 0) {
		int status;
		if (waitpid(pid, &status, 0) == pid)
			exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		else
			exit_code = 255;
	}
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return exit_code;
}
