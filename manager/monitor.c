/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The per-instance monitor: see monitor.h. */
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
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "manager/instance.h"
#include "manager/internal.h"
#include "manager/monitor.h"
#include "runtime/container.h"

char *instance_run_dir(const struct hangar_paths *p, const char *name)
{
	return xasprintf("%s/%s", p->run_instances_dir, name);
}

char *instance_console_socket_path(const struct hangar_paths *p, const char *name)
{
	return xasprintf("%s/%s/console.sock", p->run_instances_dir, name);
}

char *instance_monitor_path(const struct hangar_paths *p, const char *name)
{
	return xasprintf("%s/%s/monitor.json", p->run_instances_dir, name);
}

int monitor_read_pidfile(const struct hangar_paths *p, const char *name, pid_t *pid, unsigned long long *start,
			 time_t *started, struct hangar_error *err)
{
	_cleanup_free_ char *path = instance_monitor_path(p, name);
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, path, &text, NULL, err) < 0)
		return -1;
	json_object *o = json_tokener_parse(text), *v;
	if (o == NULL)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s: not JSON", path);
	*pid = json_object_object_get_ex(o, "pid", &v) ? (pid_t)json_object_get_int(v) : 0;
	*start = json_object_object_get_ex(o, "pid_start", &v) ? (unsigned long long)json_object_get_uint64(v) : 0;
	if (started)
		*started = json_object_object_get_ex(o, "started", &v) ? (time_t)json_object_get_int64(v) : 0;
	json_object_put(o);
	return 0;
}

bool monitor_alive(const struct hangar_paths *p, const char *name, pid_t *pid_out, time_t *started_out)
{
	pid_t pid;
	unsigned long long start;
	time_t started;
	struct hangar_error ignored;
	if (monitor_read_pidfile(p, name, &pid, &start, &started, &ignored) < 0 || pid <= 0)
		return false;
	/* The start time guards against a recycled pid. */
	if (proc_start_time(pid) != start || start == 0)
		return false;
	if (pid_out)
		*pid_out = pid;
	if (started_out)
		*started_out = started;
	return true;
}

static int write_pidfile(const struct hangar_paths *p, const char *name, struct hangar_error *err)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "pid_start", json_object_new_uint64(proc_start_time(getpid())));
	json_object_object_add(o, "started", json_object_new_int64((int64_t)time(NULL)));
	_cleanup_free_ char *text = xstrdup(json_object_to_json_string(o));
	json_object_put(o);
	_cleanup_free_ char *path = instance_monitor_path(p, name);
	return write_file_atomic(path, text, strlen(text), 0600, err);
}

/* ---- the instance log ---- */

struct monitor_log {
	const char *path;
	int fd;
	off_t size;
};

static void log_open(struct monitor_log *l)
{
	l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	struct stat st;
	l->size = l->fd >= 0 && fstat(l->fd, &st) == 0 ? st.st_size : 0;
	/* Whatever ends up on the monitor's own stdio (a libc abort, a
	 * sanitizer report) belongs in the instance log too. */
	if (l->fd >= 0) {
		dup2(l->fd, STDOUT_FILENO);
		dup2(l->fd, STDERR_FILENO);
	}
}

/* Keep at most two generations (log and log.1) of MONITOR_LOG_MAX each. */
static void log_write(struct monitor_log *l, const void *data, size_t len)
{
	if (l->fd < 0)
		return;
	if (l->size + (off_t)len > MONITOR_LOG_MAX) {
		_cleanup_free_ char *old = xasprintf("%s.1", l->path);
		rename(l->path, old);
		close(l->fd);
		log_open(l);
		if (l->fd < 0)
			return;
	}
	if (write_all(l->fd, data, len) > 0)
		l->size += (off_t)len;
}

static void log_note(struct monitor_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_note(struct monitor_log *l, const char *fmt, ...)
{
	char buf[1200];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	_cleanup_free_ char *now = rfc3339_now();
	_cleanup_free_ char *line = xasprintf("[hangar-monitor %s] %.*s", now, n, buf);
	log_write(l, line, strlen(line));
}

/* ---- the report to `start` ---- */

struct monitor_report {
	int ok;
	struct hangar_error err;
};

/* ok with a warning (code HANGAR_OK, message set) passes the warning on:
 * the monitor has no terminal, only `start` can show it. */
static void report(int fd, bool ok, const struct hangar_error *err)
{
	struct monitor_report r = {.ok = ok};
	if (err)
		r.err = *err;
	write_all(fd, &r, sizeof(r));
	close(fd);
}

/* ---- the monitor proper ---- */

struct monitor {
	const struct hangar_paths *paths;
	struct instance *inst;
	struct monitor_log log;
	int tty;	/* pty master */
	int listen_fd;	/* console socket */
	int client;	/* attached console client or -1 */
	pid_t init_pid;
	pid_t helper_pid; /* rootless network helper (our child) or 0 */
	bool started;	/* container_start done */
	bool init_done;
	char net_warning[768]; /* said once by `start` (on_created) */
	int exit_code;
};

static int on_created(pid_t pid, void *data, struct hangar_error *err)
{
	struct monitor *m = data;
	if (instance_network_attach(m->paths, m->inst, pid, err) < 0)
		return -1;
	instance_network_forward_warning(m->paths, m->inst, m->net_warning, sizeof(m->net_warning));
	if (!instance_network_is_rootless_helper(m->paths, m->inst->networks[0]))
		return 0;
	if (instance_net_helper_start(m->paths, m->inst, pid, &m->helper_pid, err) < 0)
		return -1;
	log_note(&m->log, "instance %s: network helper %s pid %d", m->inst->name, m->inst->networks[0],
		 (int)m->helper_pid);
	return 0;
}

static int default_create(const struct instance_launch *l, struct container_created *out, void *data,
			  struct hangar_error *err)
{
	struct container_create_opts o = {
		.root = l->oci_root,
		.id = l->container_id,
		.bundle = l->bundle,
		.config = l->config,
		.want_tty_master = true,
		.on_created = l->on_created,
		.on_created_data = l->on_created_data,
	};
	return container_create(&o, out, err);
}

static int console_listen(const struct hangar_paths *p, const char *name, struct hangar_error *err)
{
	_cleanup_free_ char *path = instance_console_socket_path(p, name);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return hangar_error_set(err, HANGAR_E_SYS, ENAMETOOLONG, "console socket %s", path);
	strcpy(sa.sun_path, path);
	unlink(path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return hangar_sys_error(err, "console socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 || listen(fd, 4) < 0)
		return hangar_sys_error(err, "console socket %s", path);
	return steal_fd(&fd);
}

static void client_drop(struct monitor *m)
{
	if (m->client >= 0) {
		close(m->client);
		m->client = -1;
	}
}

static void console_accept(struct monitor *m)
{
	_cleanup_close_ int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* Never let a silent client stall the console for everyone. */
	struct timeval tv = {.tv_sec = 2};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct monitor_console_hello hello;
	if (read_all(fd, &hello, sizeof(hello)) != sizeof(hello))
		return;
	if (hello.magic == MONITOR_CONSOLE_RESIZE_MAGIC) {
		struct winsize ws = {.ws_row = hello.rows, .ws_col = hello.cols};
		if (hello.rows && hello.cols && m->tty >= 0)
			ioctl(m->tty, TIOCSWINSZ, &ws);
		char ok = MONITOR_CONSOLE_OK;
		write_all(fd, &ok, 1);
		return;
	}
	if (hello.magic != MONITOR_CONSOLE_MAGIC)
		return;
	if (m->client >= 0) {
		char busy = MONITOR_CONSOLE_BUSY;
		write_all(fd, &busy, 1);
		return;
	}
	if (hello.rows && hello.cols) {
		struct winsize ws = {.ws_row = hello.rows, .ws_col = hello.cols};
		ioctl(m->tty, TIOCSWINSZ, &ws);
	}
	char ok = MONITOR_CONSOLE_OK;
	if (write_all(fd, &ok, 1) != 1)
		return;
	struct timeval none = {0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	m->client = steal_fd(&fd);
	if (!m->started) {
		struct hangar_error err;
		hangar_error_clear(&err);
		if (container_start(m->paths->oci_root, instance_container_id(m->inst), &err) < 0)
			log_note(&m->log, "start: %s", err.msg);
		m->started = true;
	}
}

static void tty_output(struct monitor *m)
{
	char buf[16384];
	for (;;) {
		ssize_t n = read(m->tty, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		log_write(&m->log, buf, (size_t)n);
		if (m->client >= 0 && write_all(m->client, buf, (size_t)n) < 0)
			client_drop(m);
	}
}

static void client_input(struct monitor *m)
{
	char buf[4096];
	ssize_t n = read(m->client, buf, sizeof(buf));
	if (n <= 0) {
		client_drop(m);
		return;
	}
	if (m->tty >= 0)
		write_all(m->tty, buf, (size_t)n);
}

static void reap(struct monitor *m)
{
	int status;
	pid_t w;
	while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
		if (w == m->helper_pid && w > 0) {
			/* Reaped: its pid must never be signalled again. */
			log_note(&m->log, "network helper %d exited with status %d", (int)w,
				 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			m->helper_pid = 0;
			_cleanup_free_ char *dir = instance_run_dir(m->paths, m->inst->name);
			_cleanup_free_ char *rec = xasprintf("%s/net-helper.json", dir);
			unlink(rec);
			continue;
		}
		if (w != m->init_pid)
			continue;
		m->init_done = true;
		m->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
}

/* Until the signalfd exists (it is made after the init is created, see
 * monitor_main), signals are caught by a handler: caught, not ignored or
 * blocked, since the init inherits ignored dispositions and the signal
 * mask across its exec (a command's `trap ... TERM` would never fire),
 * while handlers reset to the default there. */
static volatile sig_atomic_t term_pending;

/* Signals the caller ignored (nohup's SIGHUP, a shell's SIGINT for a
 * background job; GNU make even ignores the two real-time signals glibc
 * keeps for itself) stay ignored across exec: the instance's command must
 * start with none.  The raw system call, because glibc's sigaction refuses
 * its own two. */
static void reset_ignored_signals(void)
{
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		uint64_t mask;
	} old, dfl = {.handler = SIG_DFL};
	for (int sig = 1; sig < 65; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, sig, NULL, &old, sizeof(uint64_t)) == 0 &&
		    old.handler == SIG_IGN)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(uint64_t));
	}
}

static void note_signal(int sig)
{
	if (sig == SIGTERM)
		term_pending = 1;
}

static void ask_shutdown(struct monitor *m)
{
	struct hangar_error err;
	log_note(&m->log, "SIGTERM: asking the instance to shut down");
	container_kill(m->paths->oci_root, instance_container_id(m->inst), instance_stop_signal(m->inst),
		       false, &err);
}

static void event_loop(struct monitor *m, int sfd)
{
	if (term_pending)
		ask_shutdown(m);
	while (!m->init_done) {
		struct pollfd pfd[4] = {
			{.fd = sfd, .events = POLLIN},
			{.fd = m->tty, .events = POLLIN},
			{.fd = m->listen_fd, .events = POLLIN},
			{.fd = m->client, .events = POLLIN},
		};
		/* The init may be a grandchild that reached us before SIGCHLD
		 * was routed to the signalfd: poll its liveness too. */
		int r = poll(pfd, 4, 1000);
		if (r < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				/* Host shutdown (or a plain kill): shut the instance
				 * down cleanly instead of orphaning it. */
				if (si.ssi_signo == SIGTERM)
					ask_shutdown(m);
			}
		}
		reap(m);
		if (pfd[1].revents & POLLIN)
			tty_output(m);
		else if (pfd[1].revents & (POLLHUP | POLLERR)) {
			/* No slave open (yet, or any more): don't spin on it. */
			usleep(50000);
		}
		if (pfd[2].revents & POLLIN)
			console_accept(m);
		if (m->client >= 0 && (pfd[3].revents & (POLLIN | POLLHUP | POLLERR)))
			client_input(m);
	}
	/* Whatever the init printed last. */
	if (m->tty >= 0)
		tty_output(m);
}

static void cleanup_run(struct monitor *m)
{
	struct hangar_error err;
	hangar_error_clear(&err);
	if (instance_cleanup(m->paths, m->inst, &err) < 0)
		log_note(&m->log, "cleanup: %s", err.msg);
}

/* Runs in the monitor process; returns its exit code. */
static int monitor_main(const struct hangar_paths *p, const char *name, const struct instance_start_opts *o,
			int report_fd)
{
	struct monitor m = {.paths = p, .tty = -1, .listen_fd = -1, .client = -1};
	_cleanup_close_ int sfd = -1;
	struct hangar_error err;
	hangar_error_clear(&err);
	if (instance_load(p, name, &m.inst, &err) < 0) {
		report(report_fd, false, &err);
		return 1;
	}
	m.log.path = m.inst->log_path;
	log_open(&m.log);
	_cleanup_free_ char *run_dir = instance_run_dir(p, name);
	struct oci_config *cfg = NULL;
	if (mkdir_p(run_dir, 0700, &err) < 0 || write_pidfile(p, name, &err) < 0 ||
	    instance_build_oci_config(p, m.inst, &cfg, &err) < 0 || instance_write_config(p, m.inst, &err) < 0 ||
	    (!p->rootless && instance_mount_rootfs(m.inst, &err) < 0))
		goto fail;
	m.listen_fd = console_listen(p, name, &err);
	if (m.listen_fd < 0)
		goto fail;
	struct instance_launch launch = {
		.paths = p,
		.inst = m.inst,
		.oci_root = p->oci_root,
		.container_id = instance_container_id(m.inst),
		.bundle = m.inst->dir,
		.config = cfg,
		.on_created = on_created,
		.on_created_data = &m,
	};
	struct container_created created = {.pid = -1, .tty_master = -1};
	if (instance_network_is_rootless_helper(p, m.inst->networks[0]) &&
	    instance_net_helper_etc_files(m.inst, &err) < 0)
		goto fail;
	instance_create_container_fn create = o->create_container ? o->create_container : default_create;
	if (create(&launch, &created, o->create_container_data, &err) < 0)
		goto fail;
	/* Only now: the init has its clean signal mask (see note_signal). */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		hangar_sys_error(&err, "signalfd");
		goto fail;
	}
	/* Limits that cannot apply (rootless without a delegated cgroup):
	 * container_create says so in a warning, said once by `start`. */
	struct hangar_error warning = err;
	if (warning.code != HANGAR_OK)
		hangar_error_clear(&warning);
	if (m.net_warning[0]) {
		size_t used = strlen(warning.msg);
		snprintf(warning.msg + used, sizeof(warning.msg) - used, "%s%s", used ? "; " : "",
			 m.net_warning);
	}
	if (warning.msg[0])
		log_note(&m.log, "instance %s: %s", name, warning.msg);
	hangar_error_clear(&err);
	m.init_pid = created.pid;
	m.tty = created.tty_master;
	if (m.tty >= 0)
		fcntl(m.tty, F_SETFL, fcntl(m.tty, F_GETFL) | O_NONBLOCK);
	if (!o->hold_until_console) {
		if (container_start(p->oci_root, instance_container_id(m.inst), &err) < 0)
			goto fail;
		m.started = true;
	}
	log_note(&m.log, "instance %s: init %d %s", name, (int)m.init_pid, m.started ? "started" : "created");
	report(report_fd, true, &warning);
	report_fd = -1;
	oci_config_free(cfg);
	cfg = NULL;

	event_loop(&m, sfd);
	if (!m.init_done) {
		/* Lost track of the init (should not happen): take it down. */
		container_kill(p->oci_root, instance_container_id(m.inst), SIGKILL, true, &err);
		m.exit_code = 255;
	}
	instance_write_exit_status(m.inst, m.exit_code, &err);
	log_note(&m.log, "instance %s: init exited with status %d", name, m.exit_code);
	client_drop(&m);
	if (m.tty >= 0)
		close(m.tty);
	close(m.listen_fd);
	/* The ports go with the instance (also done by the cleanup pass). */
	if (m.helper_pid)
		instance_net_helper_stop(p, name);
	cleanup_run(&m);
	if (m.log.fd >= 0)
		close(m.log.fd);
	instance_free(m.inst);
	return 0;
fail:
	log_note(&m.log, "instance %s: start failed: %s", name, err.msg);
	oci_config_free(cfg);
	if (m.listen_fd >= 0)
		close(m.listen_fd);
	if (m.tty >= 0)
		close(m.tty);
	/* Remove what this attempt made; the instance is stopped again. */
	struct hangar_error ignored;
	container_delete(p->oci_root, instance_container_id(m.inst), true, &ignored);
	_cleanup_free_ char *pidfile = instance_monitor_path(p, name);
	unlink(pidfile);
	cleanup_run(&m);
	report(report_fd, false, &err);
	if (m.log.fd >= 0)
		close(m.log.fd);
	instance_free(m.inst);
	return 1;
}

int monitor_spawn(const struct hangar_paths *p, const char *name, const struct instance_start_opts *o,
		  struct hangar_error *err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return hangar_sys_error(err, "pipe");
	pid_t child = fork();
	if (child < 0) {
		int e = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return hangar_error_set(err, HANGAR_E_SYS, e, "fork the monitor of %s", name);
	}
	if (child == 0) {
		/* Double fork + setsid: the monitor belongs to no terminal and
		 * no shell job, and outlives the command that started it. */
		close(pipefd[0]);
		setsid();
		pid_t mon = fork();
		if (mon != 0)
			_exit(mon < 0 ? 1 : 0);
		prctl(PR_SET_CHILD_SUBREAPER, 1);
		prctl(PR_SET_NAME, "hangar-monitor");
		struct sigaction sa = {.sa_handler = note_signal, .sa_flags = SA_RESTART};
		sigemptyset(&sa.sa_mask);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGPIPE, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		reset_ignored_signals();
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
			if (devnull > STDERR_FILENO)
				close(devnull);
		}
		/* Inherited fds (the caller's locks above all) must not live
		 * as long as the instance. */
		int rfd = fcntl(pipefd[1], F_DUPFD_CLOEXEC, 3);
		if (rfd != 3) {
			dup3(rfd, 3, O_CLOEXEC);
			rfd = 3;
		}
		close_range(4, ~0U, 0);
		_exit(monitor_main(p, name, o, rfd));
	}
	close(pipefd[1]);
	int status;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	struct monitor_report r;
	ssize_t n = read_all(pipefd[0], &r, sizeof(r));
	close(pipefd[0]);
	if (n != (ssize_t)sizeof(r))
		return hangar_error_set(err, HANGAR_E_CHILD, 0, "the monitor of %s died while starting it (see its log)",
					name);
	if (!r.ok) {
		*err = r.err;
		return -1;
	}
	if (r.err.code == HANGAR_OK && r.err.msg[0])
		*err = r.err;
	return 0;
}

static int console_handshake(const struct hangar_paths *p, const char *name, uint32_t magic, uint16_t rows,
			     uint16_t cols, struct hangar_error *err)
{
	if (!monitor_alive(p, name, NULL, NULL))
		return hangar_error_set(err, HANGAR_E_STATE, 0, "instance %s is not running", name);
	_cleanup_free_ char *path = instance_console_socket_path(p, name);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return hangar_error_set(err, HANGAR_E_SYS, ENAMETOOLONG, "console socket %s", path);
	strcpy(sa.sun_path, path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hangar_sys_error(err, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return hangar_sys_error(err, "console of %s: connect %s", name, path);
	struct monitor_console_hello hello = {.magic = magic, .rows = rows, .cols = cols};
	if (write_all(fd, &hello, sizeof(hello)) != sizeof(hello))
		return hangar_sys_error(err, "console of %s", name);
	char answer = 0;
	if (read_all(fd, &answer, 1) != 1)
		return hangar_error_set(err, HANGAR_E_STATE, 0, "console of %s: the monitor closed the connection",
					name);
	if (answer == MONITOR_CONSOLE_BUSY)
		return hangar_error_set(err, HANGAR_E_STATE, 0, "console of %s: another client is attached", name);
	if (answer != MONITOR_CONSOLE_OK)
		return hangar_error_set(err, HANGAR_E_STATE, 0, "console of %s: unexpected answer", name);
	return steal_fd(&fd);
}

int monitor_console_connect(const struct hangar_paths *p, const char *name, uint16_t rows, uint16_t cols,
			    struct hangar_error *err)
{
	return console_handshake(p, name, MONITOR_CONSOLE_MAGIC, rows, cols, err);
}

int monitor_console_resize(const struct hangar_paths *p, const char *name, uint16_t rows, uint16_t cols,
			   struct hangar_error *err)
{
	int fd = console_handshake(p, name, MONITOR_CONSOLE_RESIZE_MAGIC, rows, cols, err);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}
