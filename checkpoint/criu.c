/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Finding, probing and running the criu binary. */
#include "checkpoint/criu.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define CRIU_PRIVATE_PATH "/opt/hangar/criu/bin/criu"

int criu_parse_version(const char *text, unsigned *version)
{
	const char *p = strstr(text, "Version:");
	if (p == NULL)
		return -1;
	p += strlen("Version:");
	unsigned major = 0, minor = 0, sub = 0;
	int n = sscanf(p, " %u.%u.%u", &major, &minor, &sub);
	if (n < 2)
		return -1;
	*version = major * 10000 + minor * 100 + (n == 3 ? sub : 0);
	return 0;
}

static unsigned kernel_version(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	return major * 100 + minor;
}

static const char *kernel_release(void)
{
	static struct utsname u;
	if (uname(&u) < 0)
		return "?";
	return u.release;
}

/* Run criu with args, capture stdout+stderr (small), return its exit status
 * (or -1 when it could not be started). */
static int criu_capture(const char *path, char *const argv[], char **out)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		execv(path, argv);
		_exit(127);
	}
	close(pipefd[1]);
	size_t len = 0, cap = 4096;
	char *buf = xmalloc0(cap);
	for (;;) {
		if (len + 1 >= cap) {
			/* Only the first page matters (version line, check verdict). */
			char drain[512];
			if (read(pipefd[0], drain, sizeof(drain)) > 0)
				continue;
			break;
		}
		ssize_t n = read(pipefd[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(pipefd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*out = buf;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *resolve_path(const char *explicit_path, const char **how)
{
	if (explicit_path && *explicit_path) {
		*how = "--criu";
		return strchr(explicit_path, '/') ? xstrdup(explicit_path) : find_in_path(explicit_path);
	}
	const char *env = getenv("HANGAR_CRIU");
	if (env && *env) {
		*how = "HANGAR_CRIU";
		return strchr(env, '/') ? xstrdup(env) : find_in_path(env);
	}
	if (access(CRIU_PRIVATE_PATH, X_OK) == 0) {
		*how = "the private install";
		return xstrdup(CRIU_PRIVATE_PATH);
	}
	*how = "PATH";
	return find_in_path("criu");
}

/* `criu --version` costs ~30 ms (a shell wrapper, a private loader and
 * libc): paid before every dump and, worse, inside a migration's downtime
 * before every restore.  As root its answer is kept in a small file keyed by
 * the binary's device, inode, size and mtime; anything else re-probes.  The
 * file also keeps whether `--network-lock nftables` works (criu_has_nftables_lock):
 *   KEY\nVERSION\n[nftables_lock=0|1\n] */
static const char *version_cache_path(void)
{
	const char *env = getenv("HANGAR_CRIU_CACHE");
	if (env)
		return *env ? env : NULL; /* empty: no cache */
	return geteuid() == 0 ? CRIU_VERSION_CACHE : NULL;
}

static void cache_key(const struct stat *sb, const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "1 %llu %llu %lld %lld %ld %s", (unsigned long long)sb->st_dev,
		 (unsigned long long)sb->st_ino, (long long)sb->st_size, (long long)sb->st_mtim.tv_sec,
		 sb->st_mtim.tv_nsec, path);
}

static bool cached_probe(const char *path, const struct stat *sb, unsigned *version, int *nft_lock)
{
	const char *cache = version_cache_path();
	_cleanup_free_ char *text = NULL;
	struct hangar_error ignored;
	if (cache == NULL || read_file_at(AT_FDCWD, cache, &text, NULL, &ignored) < 0)
		return false;
	char key[PATH_MAX + 128];
	cache_key(sb, path, key, sizeof(key));
	char *nl = strchr(text, '\n');
	if (nl == NULL || (size_t)(nl - text) != strlen(key) || strncmp(text, key, strlen(key)) != 0)
		return false;
	char *end = NULL;
	unsigned long v = strtoul(nl + 1, &end, 10);
	if (end == nl + 1 || (*end != '\n' && *end != '\0') || v < CRIU_MIN_VERSION || v > 999999)
		return false;
	*version = (unsigned)v;
	*nft_lock = -1;
	if (*end == '\n' && strncmp(end + 1, "nftables_lock=", 14) == 0 && (end[15] == '0' || end[15] == '1'))
		*nft_lock = end[15] - '0';
	return true;
}

static void remember_probe(const struct criu *c)
{
	const char *cache = version_cache_path();
	struct stat sb;
	if (cache == NULL || stat(c->path, &sb) < 0)
		return;
	char key[PATH_MAX + 128];
	cache_key(&sb, c->path, key, sizeof(key));
	_cleanup_free_ char *nft = c->nft_lock >= 0 ? xasprintf("nftables_lock=%d\n", c->nft_lock) : xstrdup("");
	_cleanup_free_ char *text = xasprintf("%s\n%u\n%s", key, c->version, nft);
	struct hangar_error ignored;
	write_file_atomic(cache, text, strlen(text), 0644, &ignored);
}

int criu_open(const char *explicit_path, struct criu *out, struct hangar_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *how = NULL;
	_cleanup_free_ char *path = resolve_path(explicit_path, &how);
	if (path == NULL || access(path, X_OK) < 0)
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "criu not found (%s%s%s); run scripts/install-criu or pass --criu PATH", how,
		    path ? ": " : "", path ? path : "");
	unsigned version = 0;
	int nft_lock = -1;
	bool probed = false;
	struct stat sb;
	bool have_stat = stat(path, &sb) == 0;
	if (!have_stat || !cached_probe(path, &sb, &version, &nft_lock)) {
		char *argv[] = {path, "--version", NULL};
		_cleanup_free_ char *text = NULL;
		int rc = criu_capture(path, argv, &text);
		if (rc != 0 || criu_parse_version(text, &version) < 0)
			return hangar_error_set(
			    err, HANGAR_E_UNSUPPORTED, 0,
			    "criu at %s does not work: `criu --version` exited %d; run scripts/install-criu",
			    path, rc);
		probed = have_stat;
	}
	unsigned major = version / 10000, minor = version / 100 % 100, sub = version % 100;
	if (version < CRIU_MIN_VERSION)
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "criu %u.%u.%u at %s is too old (hangar needs >= 3.15); run scripts/install-criu", major,
		    minor, sub, path);
	/* Debian 12's criu 3.17 fails on current kernels (vDSO layout and
	 * newer syscalls); a 3.x criu is not worth a confusing dump error. */
	if (version < 40000 && kernel_version() >= 610 && getenv("HANGAR_CRIU_FORCE") == NULL)
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "criu %u.%u at %s is known not to work on kernel %s; run scripts/install-criu "
		    "(HANGAR_CRIU_FORCE=1 skips this check)",
		    major, minor, path, kernel_release());
	out->path = steal_pointer(&path);
	out->version = version;
	out->nft_lock = nft_lock;
	snprintf(out->version_str, sizeof(out->version_str), "%u.%u.%u", major, minor, sub);
	if (probed)
		remember_probe(out);
	return 0;
}

void criu_close(struct criu *c)
{
	free(c->path);
	c->path = NULL;
}

int criu_check_feature(const struct criu *c, const char *feature, bool *supported, struct hangar_error *err)
{
	char *argv[] = {c->path, "check", "--feature", (char *)feature, NULL};
	_cleanup_free_ char *text = NULL;
	int rc = criu_capture(c->path, argv, &text);
	if (rc < 0)
		return hangar_sys_error(err, "run %s check", c->path);
	if (strstr(text, "Unknown feature"))
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0, "criu %s does not know the feature %s",
					c->version_str, feature);
	*supported = rc == 0;
	return 0;
}

int criu_require_mem_tracking(const struct criu *c, const char *flag, struct hangar_error *err)
{
	bool ok = false;
	if (criu_check_feature(c, "mem_dirty_track", &ok, err) < 0)
		return -1;
	if (!ok)
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "%s is not supported here: it needs memory dirty tracking "
		    "(CONFIG_MEM_SOFT_DIRTY), which kernel %s lacks (criu: \"Dirty tracking is OFF\")",
		    flag, kernel_release());
	return 0;
}

int criu_require_lazy_pages(const struct criu *c, struct hangar_error *err)
{
	bool ok = false;
	if (criu_check_feature(c, "uffd-noncoop", &ok, err) < 0)
		return -1;
	if (!ok)
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "--lazy-pages is not supported here: kernel %s has no non-cooperative userfaultfd",
		    kernel_release());
	/* Measured: 4.1.x fails every lazy restore with EBADF from the page
	 * pipe splice, although its feature check passes. */
	if (c->version >= 40100 && c->version < 40200 && getenv("HANGAR_CRIU_FORCE") == NULL)
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"--lazy-pages is not supported here: criu %s lazy restore is broken "
					"(page-pipe splice EBADF)",
					c->version_str);
	return 0;
}

int criu_require_tcp_established(const struct criu *c, struct hangar_error *err)
{
	/* Kernel 6.16 changed SO_PASSCRED handling and criu before 4.2 fails
	 * to dump established sockets (criu issues #2705, #2718; PR #2719). */
	if (kernel_version() >= 616 && c->version < 40200 && getenv("HANGAR_CRIU_FORCE") == NULL)
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "--tcp-established is not supported here: criu %s cannot dump established TCP "
		    "connections on kernel %s (criu issues #2705/#2718)",
		    c->version_str, kernel_release());
	return 0;
}

bool criu_has_nftables_lock(struct criu *c)
{
	/* criu's default lock runs iptables-restore and ip6tables-restore,
	 * twice each (lock at dump, unlock at restore): ~40 ms apiece inside the
	 * freeze.  The nftables lock is done in-process through libnftables.
	 * Asking costs a `criu check` (~40 ms) once per criu binary. */
	if (c->nft_lock < 0) {
		bool ok = false;
		struct hangar_error ignored;
		c->nft_lock = criu_check_feature(c, "network_lock_nftables", &ok, &ignored) == 0 && ok;
		remember_probe(c);
	}
	return c->nft_lock == 1;
}

void criu_args_init(struct criu_args *a, const struct criu *c, const char *action)
{
	memset(a, 0, sizeof(*a));
	criu_args_add(a, c->path);
	criu_args_add(a, action);
}

void criu_args_add(struct criu_args *a, const char *arg)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		char **v = realloc(a->v, a->cap * sizeof(char *));
		if (v == NULL)
			abort();
		a->v = v;
	}
	a->v[a->n++] = xstrdup(arg);
	a->v[a->n] = NULL;
}

void criu_args_addf(struct criu_args *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	criu_args_add(a, s);
	free(s);
}

void criu_args_free(struct criu_args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* Errors that are noise on this machine or only repeat an earlier cause. */
static bool criu_error_is_noise(const char *msg)
{
	return strstr(msg, "RLIMIT_NOFILE") != NULL || strstr(msg, "Dumping FAILED") != NULL ||
	       strstr(msg, "Restoring FAILED") != NULL || strstr(msg, "Pre-dumping FAILED") != NULL;
}

char *criu_log_last_error(const char *log_text)
{
	/* The first error is the cause; later ones are criu unwinding
	 * ("Unable to detach", "Restoring FAILED").  A log without any
	 * (criu crashed) is summed up by its last line. */
	const char *last_line = NULL;
	size_t last_len = 0;
	const char *line = log_text;
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *e = memmem(line, len, "Error (", 7);
		if (e) {
			/* "(00.1) Error (criu/mount.c:753): mnt: ..." -> "mnt: ..." */
			const char *msg = memmem(e, len - (size_t)(e - line), "): ", 3);
			msg = msg ? msg + 3 : e;
			char *candidate = strndup(msg, len - (size_t)(msg - line));
			if (candidate == NULL)
				abort();
			if (!criu_error_is_noise(candidate))
				return candidate;
			free(candidate);
		}
		if (len > 0) {
			last_line = line;
			last_len = len;
		}
		line = end ? end + 1 : NULL;
	}
	if (last_line == NULL)
		return NULL;
	if (last_line[0] == '(') {
		const char *close = memchr(last_line, ')', last_len);
		if (close && close[1] == ' ') {
			last_len -= (size_t)(close + 2 - last_line);
			last_line = close + 2;
		}
	}
	char *tail = strndup(last_line, last_len);
	if (tail == NULL)
		abort();
	return tail;
}

const char *criu_error_hint(const char *criu_error)
{
	/* criu's words for failures whose cause is known, and what it is. */
	static const struct {
		const char *needle, *hint;
	} hints[] = {
	    {"Can't get 1:16 opt",
	     " (a TCP socket: criu before 4.2 cannot read SO_PASSCRED on kernel >= 6.16, "
	     "criu issues #2705/#2718)"},
	    {"Connected TCP socket",
	     " (established TCP connections: --tcp-established keeps them, --tcp-close "
	     "drops them)"},
	    {"Dirty tracking is OFF", " (the kernel lacks CONFIG_MEM_SOFT_DIRTY)"},
	    {"Can't fork for",
	     " (a pid of the checkpoint is taken: a container without its own pid namespace "
	     "restores only while its old pids are free)"},
	    {"execvp", " (a helper criu runs is missing: iptables-restore for the network lock?)"},
	};
	for (size_t i = 0; criu_error && i < ARRAY_SIZE(hints); i++)
		if (strstr(criu_error, hints[i].needle))
			return hints[i].hint;
	return "";
}

static void child_report(int fd, const struct hangar_error *err)
{
	if (write_all(fd, err->msg, strnlen(err->msg, sizeof(err->msg))) < 0) {
		/* nothing left to report with */
	}
	_exit(127);
}

int criu_write_action_script(const char *path, const char *action, const char *env_var,
			     const char *event_fifo, const char *reply_fifo, struct hangar_error *err)
{
	_cleanup_free_ char *text =
	    xasprintf("#!/bin/sh\n"
		      "# Written by hangar: hands criu's %s to the runtime and waits.\n"
		      "[ \"$CRTOOLS_SCRIPT_ACTION\" = %s ] || exit 0\n"
		      "echo \"$%s\" >'%s' || exit 1\n"
		      "read reply <'%s' || exit 1\n"
		      "[ \"$reply\" = ok ]\n",
		      action, action, env_var, event_fifo, reply_fifo);
	return write_file_atomic(path, text, strlen(text), 0700, err);
}

/* Answer the action script; it opens its end right after writing, so
 * ENXIO (no reader yet) is retried, but never forever. */
static void reply_event(const char *reply_fifo, bool ok)
{
	for (int tries = 0; tries < 2000; tries++) {
		int fd = open(reply_fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			const char *answer = ok ? "ok\n" : "fail\n";
			if (write_all(fd, answer, strlen(answer)) < 0) {
				/* the script fails on EOF: criu reports it */
			}
			close(fd);
			return;
		}
		if (errno != ENXIO && errno != EINTR)
			return;
		usleep(5000);
	}
}

/* Wait for criu, answering action-script events meanwhile.  Returns the
 * wait status; *event_failed is set when a callback failed. */
static int wait_with_events(pid_t pid, const struct criu_run_opts *o, int event_fd,
			    struct hangar_error *event_err, bool *event_failed)
{
	int status;
	char line[256];
	size_t len = 0;
	/* A pidfd wakes us the moment criu exits: no polling interval is
	 * added to the restore (and so to a migration's downtime). */
	_cleanup_close_ int pidfd = event_fd >= 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	for (;;) {
		pid_t w = waitpid(pid, &status, event_fd >= 0 ? WNOHANG : 0);
		if (w == pid)
			return status;
		if (w < 0 && errno != EINTR)
			return -1;
		if (event_fd < 0)
			continue;
		struct pollfd pfd[2] = {{.fd = event_fd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
		if (poll(pfd, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? -1 : 50) <= 0 || !(pfd[0].revents & POLLIN))
			continue;
		ssize_t n = read(event_fd, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			continue;
		len += (size_t)n;
		line[len] = '\0';
		char *nl = strchr(line, '\n');
		if (nl == NULL && len < sizeof(line) - 1)
			continue;
		if (nl)
			*nl = '\0';
		bool ok = o->on_event(line, o->event_data, event_err) == 0;
		if (!ok)
			*event_failed = true;
		len = 0;
		reply_event(o->reply_fifo, ok);
	}
}

int criu_run(const struct criu_args *args, const struct criu_run_opts *o, struct hangar_error *err)
{
	/* O_RDWR: the fifo always has a writer, so it never reads as EOF
	 * before the script has written. */
	_cleanup_close_ int event_fd = -1;
	if (o->on_event && o->event_fifo) {
		event_fd = open(o->event_fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (event_fd < 0)
			return hangar_sys_error(err, "open %s", o->event_fifo);
	}
	int report[2];
	if (pipe2(report, O_CLOEXEC) < 0)
		return hangar_sys_error(err, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		int saved = errno;
		close(report[0]);
		close(report[1]);
		return hangar_error_set(err, HANGAR_E_SYS, saved, "fork criu %s", o->step);
	}
	if (pid == 0) {
		struct hangar_error cerr;
		hangar_error_clear(&cerr);
		close(report[0]);
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (o->stdio_fd >= 0) {
			for (int fd = 0; fd < 3; fd++)
				if (dup2(o->stdio_fd, fd) < 0) {
					hangar_sys_error(&cerr, "criu %s: redirect stdio", o->step);
					child_report(report[1], &cerr);
				}
		}
		if (o->stdout_path) {
			int out = open(o->stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (out < 0 || dup2(out, STDOUT_FILENO) < 0) {
				hangar_sys_error(&cerr, "criu %s: open %s", o->step, o->stdout_path);
				child_report(report[1], &cerr);
			}
			close(out);
		}
		for (size_t i = 0; i < o->n_keep_fds; i++) {
			int flags = fcntl(o->keep_fds[i], F_GETFD);
			if (flags < 0 || fcntl(o->keep_fds[i], F_SETFD, flags & ~FD_CLOEXEC) < 0) {
				hangar_sys_error(&cerr, "criu %s: pass fd %d", o->step, o->keep_fds[i]);
				child_report(report[1], &cerr);
			}
		}
		if (o->setup && o->setup(o->setup_data, &cerr) < 0)
			child_report(report[1], &cerr);
		execv(args->v[0], args->v);
		hangar_sys_error(&cerr, "exec %s", args->v[0]);
		child_report(report[1], &cerr);
	}
	close(report[1]);
	char msg[sizeof(err->msg)];
	ssize_t n = read_all(report[0], msg, sizeof(msg) - 1);
	close(report[0]);
	struct hangar_error event_err;
	hangar_error_clear(&event_err);
	bool event_failed = false;
	int status = wait_with_events(pid, o, event_fd, &event_err, &event_failed);
	if (status < 0)
		return hangar_sys_error(err, "wait for criu %s", o->step);
	if (event_failed) {
		*err = event_err;
		return hangar_error_prefix(err, "criu %s", o->step);
	}
	if (n > 0) {
		msg[n] = '\0';
		return hangar_error_set(err, HANGAR_E_SYS, 0, "%s", msg);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	_cleanup_free_ char *log = NULL;
	_cleanup_free_ char *last = NULL;
	struct hangar_error ignored;
	if (o->log_path && read_file_at(AT_FDCWD, o->log_path, &log, NULL, &ignored) == 0)
		last = criu_log_last_error(log);
	if (WIFSIGNALED(status))
		return hangar_error_set(
		    err, HANGAR_E_CHILD, 0, "criu %s failed: killed by signal %d after \"%s\" (log: %s)",
		    o->step, WTERMSIG(status), last ? last : "", o->log_path ? o->log_path : "none");
	if (last == NULL)
		return hangar_error_set(err, HANGAR_E_CHILD, 0, "criu %s failed: exit status %d (log: %s)",
					o->step, WEXITSTATUS(status), o->log_path ? o->log_path : "none");
	return hangar_error_set(err, HANGAR_E_CHILD, 0, "criu %s failed: %s%s (log: %s)", o->step, last,
				criu_error_hint(last), o->log_path ? o->log_path : "none");
}
