/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the hangar verbs. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli/hangar/hangar.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "manager/internal.h"
#include "manager/monitor.h"

const char *hangar_opt_root, *hangar_opt_run;

const struct hangar_paths *hangar_paths(void)
{
	static struct hangar_paths paths;
	static bool ready;
	if (ready)
		return &paths;
	struct hangar_error err;
	hangar_error_clear(&err);
	if (hangar_paths_init(&paths, hangar_opt_root, hangar_opt_run, &err) < 0) {
		hangar_fail(&err);
		return NULL;
	}
	ready = true;
	return &paths;
}

int hangar_fail(const struct hangar_error *err)
{
	cli_error("%s", err->msg[0] ? err->msg : "unknown error");
	switch (err->code) {
	case HANGAR_E_USAGE:
	case HANGAR_E_CONFIG:
		return HANGAR_EXIT_USAGE;
	case HANGAR_E_NOTFOUND:
		return HANGAR_EXIT_NOTFOUND;
	case HANGAR_E_EXISTS:
	case HANGAR_E_STATE:
		return HANGAR_EXIT_CONFLICT;
	case HANGAR_E_UNSUPPORTED:
		return HANGAR_EXIT_UNSUPPORTED;
	default:
		return HANGAR_EXIT_FAILURE;
	}
}

int hangar_usage(const char *verb, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cli_error("%s: %s (see 'hangar %s --help')", verb, buf, verb);
	return HANGAR_EXIT_USAGE;
}

void strv_append(char ***v, const char *s)
{
	size_t n = strv_len(*v);
	char **nv = realloc(*v, (n + 2) * sizeof(char *));
	if (nv == NULL)
		abort();
	nv[n] = xstrdup(s);
	nv[n + 1] = NULL;
	*v = nv;
}

int hangar_parse_limit(int opt, const char *arg, struct instance_limits *l, struct hangar_error *err)
{
	uint64_t n;
	switch (opt) {
	case OPT_MEMORY:
		if (parse_size(arg, &n, err) < 0)
			return hangar_error_prefix(err, "--memory");
		/* Below a few MiB not even the runtime's init fits. */
		if (n < 4 * 1024 * 1024)
			return hangar_error_set(err, HANGAR_E_USAGE, 0, "--memory %s: at least 4M", arg);
		l->has_memory = true;
		l->memory = n;
		return 1;
	case OPT_CPUS:
		if (instance_parse_cpus(arg, &l->cpu_quota, &l->cpu_period, err) < 0)
			return -1;
		l->has_cpus = true;
		return 1;
	case OPT_CPUSET:
		if (arg[0] == '\0' || strspn(arg, "0123456789,-") != strlen(arg))
			return hangar_error_set(err, HANGAR_E_USAGE, 0, "--cpuset %s: expected a list like 0-1,3", arg);
		free(l->cpuset);
		l->cpuset = xstrdup(arg);
		return 1;
	case OPT_IO_WEIGHT:
		if (parse_u64(arg, &n) < 0 || n < 10 || n > 1000)
			return hangar_error_set(err, HANGAR_E_USAGE, 0, "--io-weight %s: a number from 10 to 1000", arg);
		l->has_io_weight = true;
		l->io_weight = (uint16_t)n;
		return 1;
	case OPT_IO_MAX: {
		struct instance_io_max io;
		if (instance_parse_io_max(arg, &io, err) < 0)
			return -1;
		struct instance_limits one = {.io_max = &io, .n_io_max = 1};
		instance_limits_merge(l, &one);
		free(io.device);
		return 1;
	}
	case OPT_PIDS:
		if (strcmp(arg, "max") == 0 || strcmp(arg, "-1") == 0) {
			l->has_pids = true;
			l->pids = -1;
			return 1;
		}
		if (parse_u64(arg, &n) < 0 || n == 0 || n > INT32_MAX)
			return hangar_error_set(err, HANGAR_E_USAGE, 0, "--pids %s: a positive number or max", arg);
		l->has_pids = true;
		l->pids = (int64_t)n;
		return 1;
	}
	return 0;
}

int hangar_parse_create_opt(int opt, const char *arg, struct create_args *a, struct hangar_error *err)
{
	int r = hangar_parse_limit(opt, arg, &a->limits, err);
	if (r != 0) {
		a->o.limits = &a->limits;
		return r;
	}
	switch (opt) {
	case 'i':
		a->o.image = arg;
		return 1;
	case 'n':
		strv_append(&a->networks, arg);
		a->o.networks = a->networks;
		return 1;
	case 'p':
		strv_append(&a->publish, arg);
		a->o.publish = a->publish;
		return 1;
	case 'e':
		if (strchr(arg, '=') == NULL || arg[0] == '=')
			return hangar_error_set(err, HANGAR_E_USAGE, 0, "--env %s: expected KEY=VALUE", arg);
		strv_append(&a->env, arg);
		a->o.env = a->env;
		return 1;
	case 'm':
		strv_append(&a->mounts, arg);
		a->o.mounts = (const char *const *)a->mounts;
		return 1;
	case 'H':
		a->o.hostname = arg;
		return 1;
	case 'I':
		a->o.init = true;
		return 1;
	}
	return 0;
}

void create_args_clear(struct create_args *a)
{
	strv_free(a->env);
	strv_free(a->networks);
	strv_free(a->publish);
	strv_free(a->mounts);
	instance_limits_clear(&a->limits);
}

void format_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	size_t u = 0;
	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lluB", (unsigned long long)n);
	else
		snprintf(buf, len, "%.1f%s", v, units[u]);
}

void format_duration(long long s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, (s / 60) % 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, (s / 3600) % 24);
}

int hangar_wait_exit_code(const struct hangar_paths *p, const char *name)
{
	struct hangar_error err;
	struct instance *inst = NULL;
	if (instance_load(p, name, &inst, &err) < 0)
		return 255;
	for (int i = 0; i < 600; i++) {
		if (!monitor_alive(p, name, NULL, NULL))
			break;
		usleep(50000);
	}
	int code = 255;
	time_t finished;
	if (instance_read_exit_status(inst, &code, &finished) < 0 || code < 0)
		code = 255;
	instance_free(inst);
	return code;
}

#define CTRL_A 0x01

static volatile sig_atomic_t winch_pending;

static void on_winch(int sig)
{
	winch_pending = 1;
}

volatile sig_atomic_t hangar_leave_signal;

static void on_leave(int sig)
{
	if (hangar_leave_signal == 0)
		hangar_leave_signal = sig;
}

void hangar_catch_leave_signals(void)
{
	/* No SA_RESTART: the console proxy's wait must return to see it.
	 * The monitor forked later inherits this handler until its exec-free
	 * life ends; it ignores SIGHUP and takes SIGTERM by signalfd itself,
	 * and a SIGINT it would only record, which nobody sends it (setsid). */
	struct sigaction sa = {.sa_handler = on_leave};
	sigemptyset(&sa.sa_mask);
	/* nohup's SIG_IGN is a request to outlive the terminal: keep it. */
	struct sigaction old;
	if (sigaction(SIGHUP, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
		sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

int hangar_console_proxy(const struct hangar_paths *p, int sock, const char *name, bool hint, bool detach_on_eof)
{
	bool tty = isatty(STDIN_FILENO);
	struct sigaction sa = {.sa_handler = on_winch};
	sigemptyset(&sa.sa_mask);
	if (tty)
		sigaction(SIGWINCH, &sa, NULL);
	struct termios saved;
	bool raw = false;
	if (hint)
		fprintf(stderr, "Connected to the console of %s; type Ctrl-a q to detach.\r\n", name);
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
		raw = true;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Leave signals are let in only while waiting: one that arrives
	 * between the flag check and the wait cannot be missed. */
	sigset_t leave, saved_mask, wait_mask;
	sigemptyset(&leave);
	sigaddset(&leave, SIGHUP);
	sigaddset(&leave, SIGTERM);
	sigaddset(&leave, SIGINT);
	sigprocmask(SIG_BLOCK, &leave, &saved_mask);
	wait_mask = saved_mask;
	sigdelset(&wait_mask, SIGHUP);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	bool stdin_open = true, escape = false;
	int result = 0;
	char buf[8192];
	for (;;) {
		if (hangar_leave_signal) {
			result = 2;
			break;
		}
		struct pollfd pfd[2] = {{.fd = sock, .events = POLLIN},
					{.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN}};
		int r = ppoll(pfd, 2, NULL, &wait_mask);
		int poll_errno = errno;
		if (winch_pending) {
			winch_pending = 0;
			struct winsize ws;
			struct hangar_error ignored;
			if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
				monitor_console_resize(p, name, ws.ws_row, ws.ws_col, &ignored);
		}
		if (r < 0) {
			if (poll_errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(sock, buf, sizeof(buf));
			if (n <= 0)
				break; /* the instance exited */
			write_all(STDOUT_FILENO, buf, (size_t)n);
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				/* Input ended: `console` detaches; `run` keeps showing
				 * output until the instance exits. */
				if (detach_on_eof) {
					result = 1;
					break;
				}
				stdin_open = false;
				continue;
			}
			/* lxc-console's escape: Ctrl-a q detaches, Ctrl-a a sends Ctrl-a. */
			char out[sizeof(buf) * 2];
			size_t k = 0;
			bool detach = false;
			for (ssize_t i = 0; i < n && !detach; i++) {
				char c = buf[i];
				if (escape) {
					escape = false;
					if (c == 'q') {
						detach = true;
						break;
					}
					if (c != 'a')
						out[k++] = CTRL_A;
					out[k++] = c == 'a' ? CTRL_A : c;
				} else if (c == CTRL_A) {
					escape = true;
				} else {
					out[k++] = c;
				}
			}
			if (k && write_all(sock, out, k) < 0)
				break;
			if (detach) {
				result = 1;
				break;
			}
		}
	}
	sigprocmask(SIG_SETMASK, &saved_mask, NULL);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (tty)
		signal(SIGWINCH, SIG_DFL);
	if (result == 1 && hint)
		fprintf(stderr, "\r\nDetached from %s; it keeps running.\n", name);
	return result;
}
