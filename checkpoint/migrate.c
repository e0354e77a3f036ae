/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Live migration of instances: the source side and the phases' transport. */
#include "checkpoint/migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint/criu.h"
#include "checkpoint/instance_checkpoint.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "manager/instance.h"

int migrate_parse_dest(const char *s, struct migrate_dest *out, struct hangar_error *err)
{
	memset(out, 0, sizeof(*out));
	if (str_has_prefix(s, "local:")) {
		const char *rest = s + strlen("local:");
		if (rest[0] != '/')
			return hangar_error_set(
			    err, HANGAR_E_USAGE, 0,
			    "destination %s: local: needs an absolute state root (local:/path)", s);
		const char *colon = strchr(rest, ':');
		out->kind = MIGRATE_DEST_LOCAL;
		out->data_dir = colon ? strndup(rest, (size_t)(colon - rest)) : xstrdup(rest);
		if (out->data_dir == NULL)
			abort();
		out->run_dir = colon && colon[1] ? xstrdup(colon + 1) : xasprintf("%s/run", out->data_dir);
		if (out->run_dir[0] != '/') {
			migrate_dest_clear(out);
			return hangar_error_set(err, HANGAR_E_USAGE, 0,
						"destination %s: the run directory must be absolute", s);
		}
		return 0;
	}
	if (!str_has_prefix(s, "ssh://"))
		return hangar_error_set(
		    err, HANGAR_E_USAGE, 0,
		    "destination %s: expected ssh://[user@]host[:port][/root] or local:/root[:/run]", s);
	const char *rest = s + strlen("ssh://");
	out->kind = MIGRATE_DEST_SSH;
	_cleanup_free_ char *hostpart = NULL;
	const char *slash = strchr(rest, '/');
	hostpart = slash ? strndup(rest, (size_t)(slash - rest)) : xstrdup(rest);
	if (hostpart == NULL)
		abort();
	if (slash && slash[1]) {
		out->data_dir = xstrdup(slash);
		out->run_dir = xasprintf("%s/run", slash);
	}
	char *at = strchr(hostpart, '@');
	char *host = hostpart;
	if (at) {
		*at = '\0';
		out->user = xstrdup(hostpart);
		host = at + 1;
	}
	char *colon = strrchr(host, ':');
	if (colon && strchr(host, ']') == NULL) {
		*colon = '\0';
		uint64_t port;
		if (parse_u64(colon + 1, &port) < 0 || port == 0 || port > 65535) {
			migrate_dest_clear(out);
			return hangar_error_set(err, HANGAR_E_USAGE, 0, "destination %s: bad port '%s'", s,
						colon + 1);
		}
		out->port = (int)port;
	}
	if (*host == '\0' || (out->user && *out->user == '\0')) {
		migrate_dest_clear(out);
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "destination %s: no host", s);
	}
	out->host = xstrdup(host);
	return 0;
}

void migrate_dest_clear(struct migrate_dest *d)
{
	free(d->data_dir);
	free(d->run_dir);
	free(d->user);
	free(d->host);
	memset(d, 0, sizeof(*d));
}

/* ---- running the other side ------------------------------------------------ */

struct migrate_ctx {
	const struct hangar_paths *p;
	const struct migrate_opts *o;
	const char *name;
	char *self_exe;
	char *stderr_path;  /* the receiver's stderr, read back on failure */
	char *control_path; /* ssh connection sharing socket */
};

static void argv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (nv == NULL)
		abort();
	*v = nv;
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

/* "ssh OPTIONS [user@]host": one shared connection for all phases (a
 * handshake per phase would add a third of a second each to the downtime). */
static void ssh_argv(const struct migrate_ctx *c, char ***v, size_t *n)
{
	const struct migrate_dest *d = c->o->dest;
	const char *ssh = c->o->ssh ? c->o->ssh : getenv("HANGAR_SSH");
	_cleanup_free_ char *copy = xstrdup(ssh && *ssh ? ssh : "ssh");
	char *save = NULL;
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		argv_push(v, n, w);
	_cleanup_free_ char *control = xasprintf("ControlPath=%s", c->control_path);
	const char *options[] = {"BatchMode=yes", "ControlMaster=auto", control, "ControlPersist=60"};
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		argv_push(v, n, "-o");
		argv_push(v, n, options[i]);
	}
	if (d->port) {
		char port[16];
		snprintf(port, sizeof(port), "%d", d->port);
		argv_push(v, n, "-p");
		argv_push(v, n, port);
	}
	_cleanup_free_ char *target = d->user ? xasprintf("%s@%s", d->user, d->host) : xstrdup(d->host);
	argv_push(v, n, target);
}

/* argv of `hangar migrate --receive STEP NAME` on the target. */
static char **receiver_argv(const struct migrate_ctx *c, const char *step)
{
	const struct migrate_dest *d = c->o->dest;
	char **v = NULL;
	size_t n = 0;
	if (d->kind == MIGRATE_DEST_LOCAL) {
		argv_push(&v, &n, c->self_exe);
	} else {
		ssh_argv(c, &v, &n);
		const char *remote = c->o->remote_hangar ? c->o->remote_hangar : getenv("HANGAR_REMOTE");
		argv_push(&v, &n, remote && *remote ? remote : "hangar");
	}
	if (d->data_dir) {
		argv_push(&v, &n, "--root");
		argv_push(&v, &n, d->data_dir);
		argv_push(&v, &n, "--run");
		argv_push(&v, &n, d->run_dir);
	}
	argv_push(&v, &n, "migrate");
	argv_push(&v, &n, "--receive");
	argv_push(&v, &n, step);
	argv_push(&v, &n, c->name);
	return v;
}

/* fork + exec argv with the given stdio (-1: /dev/null for stdin, inherit
 * for the others).  cwd may be NULL. */
static pid_t spawn(char *const argv[], int in_fd, int out_fd, int err_fd, struct hangar_error *err)
{
	pid_t pid = fork();
	if (pid < 0) {
		hangar_sys_error(err, "fork %s", argv[0]);
		return -1;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (dup2(in_fd >= 0 ? in_fd : devnull, STDIN_FILENO) < 0 ||
		    (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0) ||
		    (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0))
			_exit(126);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static int wait_status(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

static bool status_ok(int status)
{
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The last line a receiver printed on stderr (its error). */
static char *receiver_error(const char *stderr_path, int status)
{
	_cleanup_free_ char *text = NULL;
	struct hangar_error ignored;
	char *line = NULL;
	if (read_file_at(AT_FDCWD, stderr_path, &text, NULL, &ignored) == 0) {
		size_t len = strlen(text);
		while (len > 0 && text[len - 1] == '\n')
			text[--len] = '\0';
		char *last = strrchr(text, '\n');
		if (*text)
			line = xstrdup(last ? last + 1 : text);
	}
	if (line)
		return line;
	if (status >= 0 && WIFSIGNALED(status))
		return xasprintf("killed by signal %d", WTERMSIG(status));
	return xasprintf("exit status %d", status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* A `hangar migrate --receive STEP` on the target, its stdin a pipe from us.
 * The steps of the downtime (delta, prune, images, restore) are started
 * before the freeze, so that their ssh sessions and the remote hangar are
 * up when their data comes (a session costs ~100 ms).  A receiver acts
 * only on complete input: its stdin closed early (the migration was given
 * up) makes it do nothing. */
struct receiver {
	const char *step;
	pid_t pid;
	int in; /* its stdin; -1 once closed */
	char *stderr_path;
};

static void receiver_init(struct receiver *r)
{
	memset(r, 0, sizeof(*r));
	r->pid = -1;
	r->in = -1;
}

/* out_fd: its stdout, -1 for /dev/null. */
static int receiver_start(const struct migrate_ctx *c, const char *step, struct receiver *r, int out_fd,
			  struct hangar_error *err)
{
	receiver_init(r);
	r->step = step;
	r->stderr_path = xasprintf("%s.%s", c->stderr_path, step);
	_cleanup_close_ int errfd = open(r->stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (errfd < 0)
		return hangar_sys_error(err, "open %s", r->stderr_path);
	_cleanup_close_ int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return hangar_sys_error(err, "pipe");
	/* Bigger pipes mean fewer wake-ups per MiB of images; best effort. */
	fcntl(in[1], F_SETPIPE_SZ, 1 << 20);
	char **argv = receiver_argv(c, step);
	r->pid = spawn(argv, in[0], out_fd >= 0 ? out_fd : devnull, errfd, err);
	strv_free(argv);
	close(in[0]);
	if (r->pid < 0) {
		close(in[1]);
		return -1;
	}
	r->in = in[1];
	return 0;
}

static void receiver_release(struct receiver *r)
{
	if (r->in >= 0)
		close(r->in);
	r->in = -1;
	if (r->stderr_path)
		unlink(r->stderr_path);
	free(r->stderr_path);
	r->stderr_path = NULL;
}

/* Close its stdin, wait for it, and say how it went. */
static int receiver_finish(struct receiver *r, struct hangar_error *err)
{
	if (r->in >= 0)
		close(r->in);
	r->in = -1;
	int status = wait_status(r->pid);
	r->pid = -1;
	int rc = 0;
	if (!status_ok(status)) {
		_cleanup_free_ char *why = receiver_error(r->stderr_path, status);
		rc = hangar_error_set(err, HANGAR_E_CHILD, 0, "target %s: %s", r->step, why);
	}
	receiver_release(r);
	return rc;
}

/* Give up on it: end of input (which makes it do nothing), a moment to
 * exit, then the signal (a cut ssh connection may never pass the EOF on). */
static void receiver_cancel(struct receiver *r)
{
	if (r->pid > 0) {
		if (r->in >= 0)
			close(r->in);
		r->in = -1;
		for (int i = 0; i < 200 && waitpid(r->pid, NULL, WNOHANG) == 0; i++)
			usleep(10000);
		if (kill(r->pid, SIGKILL) == 0)
			wait_status(r->pid);
		r->pid = -1;
	}
	receiver_release(r);
}

/* One receive step with a small input; *answer (optional) gets its stdout. */
static int run_step(const struct migrate_ctx *c, const char *step, const char *input, char **answer,
		    struct hangar_error *err)
{
	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return hangar_sys_error(err, "pipe");
	struct receiver r;
	int rc = receiver_start(c, step, &r, out[1], err);
	close(out[1]);
	if (rc == 0) {
		if (input && write_all(r.in, input, strlen(input)) < 0) {
			/* the receiver died early: its status says why */
		}
		close(r.in);
		r.in = -1;
		char buf[4096];
		ssize_t n = read_all(out[0], buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		rc = receiver_finish(&r, err);
		if (rc == 0 && answer) {
			buf[strcspn(buf, "\n")] = '\0';
			*answer = xstrdup(buf);
		}
	} else {
		receiver_cancel(&r);
	}
	close(out[0]);
	return rc;
}

/* Write n bytes to r: as they are (frame 0), or as one frame of segment
 * `frame` ("F <n>\n" + the bytes; see MIGRATE_FINISH_STEP). */
static int send_to(struct receiver *r, char frame, const void *data, size_t n)
{
	if (frame) {
		char head[32];
		int len = snprintf(head, sizeof(head), "%c %zu\n", frame, n);
		if (write_all(r->in, head, (size_t)len) < 0)
			return -1;
	}
	return n ? write_all(r->in, data, n) : 0;
}

/* producer | the started receiver r, counting the bytes in between; after a
 * complete output, trailer (with its NUL).  A raw stream (frame 0) ends
 * with the receiver's end (receiver_finish); a framed segment with its
 * empty frame, the receiver going on to the next segment. */
static int stream_into(struct receiver *r, char frame, char *const producer[], const char *trailer,
		       uint64_t *bytes, struct hangar_error *err)
{
	int prod[2] = {-1, -1};
	pid_t ppid = -1;
	int rc = -1;
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int errfd = open(r->stderr_path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (pipe2(prod, O_CLOEXEC) < 0) {
		hangar_sys_error(err, "pipe");
		goto out;
	}
	fcntl(prod[0], F_SETPIPE_SZ, 1 << 20);
	ppid = spawn(producer, -1, prod[1], errfd, err);
	if (ppid < 0)
		goto out;
	close(prod[1]);
	prod[1] = -1;
	buf = xmalloc0(1 << 20);
	bool broken = false;
	for (;;) {
		ssize_t n = read(prod[0], buf, 1 << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (send_to(r, frame, buf, (size_t)n) < 0) {
			broken = true;
			break;
		}
		*bytes += (uint64_t)n;
	}
	if (broken)
		kill(ppid, SIGTERM);
	int pstatus = wait_status(ppid);
	ppid = -1;
	/* GNU tar exits 1 when a file changed while it was read: expected
	 * for the live pre-copy, which the delta after the freeze corrects. */
	bool live_copy = strcmp(r->step, "rootfs") == 0;
	bool produced = status_ok(pstatus) || (live_copy && WIFEXITED(pstatus) && WEXITSTATUS(pstatus) == 1);
	if (!produced) {
		/* an incomplete stream must not be taken for a whole one */
		receiver_cancel(r);
		hangar_error_set(err, HANGAR_E_CHILD, 0, "%s: %s exited with %d", r->step, producer[0],
				 WIFEXITED(pstatus) ? WEXITSTATUS(pstatus) : 128 + WTERMSIG(pstatus));
		goto out;
	}
	if (!broken && trailer && send_to(r, frame, trailer, strlen(trailer) + 1) < 0)
		broken = true;
	if (!broken && frame && send_to(r, frame, NULL, 0) < 0)
		broken = true;
	if (broken || !frame) {
		/* a receiver that stopped reading says why on its way out */
		if (receiver_finish(r, err) < 0)
			goto out;
		if (broken) {
			hangar_error_set(err, HANGAR_E_CHILD, 0, "target %s: the stream broke off", r->step);
			goto out;
		}
	}
	rc = 0;
out:
	if (ppid > 0) {
		kill(ppid, SIGKILL);
		wait_status(ppid);
	}
	for (int i = 0; i < 2; i++)
		if (prod[i] >= 0)
			close(prod[i]);
	return rc;
}

/* ---- the source side ---------------------------------------------------- */

static void phase_done(const struct migrate_ctx *c, struct migrate_report *rep, const char *name, uint64_t t0,
		       uint64_t bytes, const char *note)
{
	uint64_t ns = now_ns() - t0;
	if (rep->n_phases < MIGRATE_MAX_PHASES) {
		rep->phases[rep->n_phases].name = name;
		rep->phases[rep->n_phases].ns = ns;
		rep->phases[rep->n_phases].bytes = bytes;
		rep->n_phases++;
	}
	rep->bytes_sent += bytes;
	if (c->o->progress)
		c->o->progress(name, ns / 1e9, bytes, note, c->o->progress_data);
}

static char *file_contents(const char *path)
{
	char *text = NULL;
	struct hangar_error ignored;
	if (read_file_at(AT_FDCWD, path, &text, NULL, &ignored) < 0)
		return NULL;
	return text;
}

static int tar_stream(struct receiver *r, char frame, const char *dir, const char *newer, uint64_t *bytes,
		      struct hangar_error *err)
{
	/* Overlay whiteouts are 0:0 device nodes and opaque directories an
	 * xattr: both must survive the copy. */
	char *tar_all[] = {"tar",
			   "--numeric-owner",
			   "--xattrs",
			   "--xattrs-include=*",
			   "--ignore-failed-read",
			   "--warning=no-file-changed",
			   "--warning=no-file-removed",
			   "-C",
			   (char *)dir,
			   "-cf",
			   "-",
			   ".",
			   NULL};
	_cleanup_free_ char *newer_arg = newer ? xasprintf("--newer=%s", newer) : NULL;
	char *tar_newer[] = {"tar",	  "--numeric-owner",
			     "--xattrs",  "--xattrs-include=*",
			     newer_arg,	  "-C",
			     (char *)dir, "-cf",
			     "-",	  ".",
			     NULL};
	return stream_into(r, frame, newer ? tar_newer : tar_all, NULL, bytes, err);
}

/* The paths that exist in dir, NUL-separated, then MIGRATE_PRUNE_END: the
 * receiver deletes the others only when it got the whole list. */
static int prune_stream(struct receiver *r, char frame, const char *dir, uint64_t *bytes,
			struct hangar_error *err)
{
	char *find[] = {"find", (char *)dir, "-mindepth", "1", "-printf", "%P\\0", NULL};
	return stream_into(r, frame, find, MIGRATE_PRUNE_END, bytes, err);
}

/* End the shared ssh connection (`ssh -O exit`), if one was made. */
static void close_ssh_master(const struct migrate_ctx *c)
{
	if (access(c->control_path, F_OK) < 0)
		return;
	char **argv = NULL;
	size_t n = 0;
	ssh_argv(c, &argv, &n);
	/* ssh_argv ends with the host: "-O exit" goes before it. */
	char *host = argv[n - 1];
	argv[n - 1] = xstrdup("-O");
	argv_push(&argv, &n, "exit");
	argv_push(&argv, &n, host);
	free(host);
	struct hangar_error ignored;
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	pid_t pid = spawn(argv, -1, devnull, devnull, &ignored);
	if (pid > 0)
		wait_status(pid);
	if (devnull >= 0)
		close(devnull);
	strv_free(argv);
}

/* Say which of criu's better modes this machine cannot use, and what
 * happens instead (printed as notes before the first phase). */
static void report_capabilities(const struct migrate_ctx *c)
{
	if (c->o->progress == NULL)
		return;
	struct criu criu;
	struct hangar_error why;
	if (criu_open(c->o->criu, &criu, &why) < 0)
		return; /* the dump names it */
	if (criu_require_mem_tracking(&criu, "memory pre-copy (iterative pre-dump)", &why) < 0)
		c->o->progress("note", 0, 0, why.msg, c->o->progress_data);
	if (criu_require_lazy_pages(&criu, &why) < 0)
		c->o->progress("note", 0, 0, why.msg, c->o->progress_data);
	if (criu_require_tcp_established(&criu, &why) < 0) {
		char msg[sizeof(why.msg) + 64];
		snprintf(msg, sizeof(msg), "%s: established connections are closed", why.msg);
		c->o->progress("note", 0, 0, msg, c->o->progress_data);
	}
	criu_close(&criu);
}

static void abort_target(const struct migrate_ctx *c)
{
	struct hangar_error ignored;
	run_step(c, "abort", NULL, NULL, &ignored);
}

static int wait_target_running(const struct migrate_ctx *c, struct hangar_error *err)
{
	for (int i = 0; i < 50; i++) {
		_cleanup_free_ char *status = NULL;
		if (run_step(c, "status", NULL, &status, err) < 0)
			return -1;
		if (strcmp(status, "RUNNING") == 0)
			return 0;
		if (strcmp(status, "STOPPED") == 0)
			return hangar_error_set(err, HANGAR_E_STATE, 0,
						"the instance stopped on the target right after restore");
		usleep(100000);
	}
	return hangar_error_set(err, HANGAR_E_STATE, 0,
				"the instance is not running on the target after 5 s");
}

static int check_dest(const struct hangar_paths *p, const struct migrate_dest *d, struct hangar_error *err)
{
	if (d->kind != MIGRATE_DEST_LOCAL)
		return 0;
	char a[PATH_MAX], b[PATH_MAX];
	if (realpath(p->data_dir, a) && realpath(d->data_dir, b) && strcmp(a, b) == 0)
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "destination %s is this state root",
					d->data_dir);
	return 0;
}

int instance_migrate(const struct hangar_paths *p, const char *name, const struct migrate_opts *o,
		     struct migrate_report *rep, struct hangar_error *err)
{
	memset(rep, 0, sizeof(*rep));
	struct migrate_ctx c = {.p = p, .o = o, .name = name};
	struct instance *inst = NULL;
	_cleanup_free_ char *images = NULL;
	_cleanup_free_ char *instance_json = NULL;
	_cleanup_free_ char *json_path = NULL;
	_cleanup_free_ char *newer = NULL;
	_cleanup_free_ char *go = NULL;
	int rc = -1;
	uint64_t start = now_ns(), t;
	bool target_made = false;
	struct receiver fin; /* the downtime's steps, see MIGRATE_FINISH_STEP */
	receiver_init(&fin);

	if (check_dest(p, o->dest, err) < 0 || instance_load(p, name, &inst, err) < 0)
		return -1;
	struct instance_runtime rt;
	if (instance_get_runtime(p, inst, &rt, err) < 0)
		goto out;
	if (rt.status != INSTANCE_RUNNING) {
		hangar_error_set(err, HANGAR_E_STATE, 0, "instance %s is %s, not running", name,
				 instance_status_name(rt.status));
		goto out;
	}
	/* /proc/self/exe rather than its target: hangar may run from a sealed
	 * memfd copy (CVE-2019-5736), whose name cannot be executed. */
	c.self_exe = xstrdup(o->self_exe ? o->self_exe : "/proc/self/exe");
	c.stderr_path = xasprintf("%s/migrate-%s.stderr", p->run_dir, name);
	c.control_path = xasprintf("%s/migrate-%s.ssh", p->run_dir, name);
	images = xasprintf("%s/migrate-%s.images", p->run_dir, name);
	json_path = xasprintf("%s/instance.json", inst->dir);
	instance_json = file_contents(json_path);
	if (instance_json == NULL) {
		hangar_sys_error(err, "read %s", json_path);
		goto out;
	}
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
	report_capabilities(&c);

	/* prepare: the instance exists on the target, stopped, same settings
	 * and address. */
	t = now_ns();
	if (run_step(&c, "prepare", instance_json, NULL, err) < 0) {
		hangar_error_prefix(err, "migrate %s: prepare", name);
		goto restore_signal;
	}
	target_made = true;
	phase_done(&c, rep, "prepare", t, strlen(instance_json), NULL);

	/* copy: the upper layer while the instance runs. */
	t = now_ns();
	time_t copy_started = time(NULL);
	uint64_t bytes = 0;
	struct receiver copy;
	if (receiver_start(&c, "rootfs", &copy, -1, err) < 0 ||
	    tar_stream(&copy, 0, inst->upper, NULL, &bytes, err) < 0) {
		receiver_cancel(&copy);
		hangar_error_prefix(err, "migrate %s: copy", name);
		goto abort;
	}
	phase_done(&c, rep, "copy", t, bytes, "while running");

	/* One receiver takes the rest (delta, deletions, images, restore),
	 * started before the freeze: its session and program are up while
	 * the instance still runs (a session costs ~100 ms over ssh). */
	bool same_host = o->dest->kind == MIGRATE_DEST_LOCAL;
	if (receiver_start(&c, MIGRATE_FINISH_STEP, &fin, -1, err) < 0) {
		hangar_error_prefix(err, "migrate %s: start the receiver", name);
		goto abort;
	}

	/* dump: freeze and checkpoint; the source is stopped from here. */
	t = now_ns();
	uint64_t freeze_start = t;
	struct checkpoint_stats st;
	struct instance_checkpoint_opts co = {.image_dir = images, .criu = o->criu, .no_wait = true};
	struct hangar_error ignored;
	rm_rf(images, &ignored);
	if (instance_checkpoint(p, name, &co, &st, err) < 0) {
		hangar_error_prefix(err, "migrate %s: dump", name);
		goto abort;
	}
	rep->source_stopped = true;
	rep->frozen_us = st.frozen_us;
	phase_done(&c, rep, "dump", t, 0, NULL);

	/* delta: what changed since the copy started (a second of slack for
	 * timestamp granularity), then what was deleted. */
	t = now_ns();
	bytes = 0;
	newer = xasprintf("@%lld", (long long)copy_started - 1);
	if (tar_stream(&fin, MIGRATE_FRAME_DELTA, inst->upper, newer, &bytes, err) < 0 ||
	    prune_stream(&fin, MIGRATE_FRAME_PRUNE, inst->upper, &bytes, err) < 0) {
		hangar_error_prefix(err, "migrate %s: delta", name);
		goto restore_source;
	}
	phase_done(&c, rep, "delta", t, bytes, NULL);

	/* On the same machine the target reads the images where they are:
	 * copying hundreds of MiB would only add to the downtime. */
	t = now_ns();
	bytes = 0;
	if (!same_host && tar_stream(&fin, MIGRATE_FRAME_IMAGES, images, NULL, &bytes, err) < 0) {
		hangar_error_prefix(err, "migrate %s: images", name);
		goto restore_source;
	}
	phase_done(&c, rep, "images", t, bytes, same_host ? "read in place on this host" : NULL);

	t = now_ns();
	go = same_host ? xasprintf("%s\n%s\n", MIGRATE_RESTORE_GO, images)
		       : xasprintf("%s\n", MIGRATE_RESTORE_GO);
	if (send_to(&fin, MIGRATE_FRAME_RESTORE, go, strlen(go)) < 0) {
		/* the receiver is gone: its status says why */
	}
	if (receiver_finish(&fin, err) < 0) {
		hangar_error_prefix(err, "migrate %s: restore", name);
		goto restore_source;
	}
	rep->downtime_ns = now_ns() - freeze_start;
	phase_done(&c, rep, "restore", t, 0, NULL);

	t = now_ns();
	if (wait_target_running(&c, err) < 0) {
		hangar_error_prefix(err, "migrate %s: verify", name);
		goto restore_source;
	}
	phase_done(&c, rep, "verify", t, 0, NULL);

	/* Only now does the source go. */
	t = now_ns();
	if (instance_destroy(p, name, true, err) < 0) {
		hangar_error_prefix(
		    err, "migrate %s: the instance runs on the target, but removing it here failed", name);
		goto restore_signal;
	}
	rm_rf(images, &ignored);
	phase_done(&c, rep, "cleanup", t, 0, NULL);
	rc = 0;
	goto restore_signal;

restore_source:
	receiver_cancel(&fin);
	abort_target(&c);
	target_made = false;
	{
		struct hangar_error rerr;
		struct instance_restore_opts ro = {.image_dir = images, .criu = o->criu};
		/* The monitor of the dumped run must be done before a new one. */
		if (instance_stop(p, name, 0, &rerr) == 0 && instance_restore(p, name, &ro, &rerr) == 0) {
			rep->source_restored = true;
			rm_rf(images, &ignored);
		} else {
			char first[sizeof(err->msg)];
			snprintf(first, sizeof(first), "%s", err->msg);
			hangar_error_set(err, HANGAR_E_STATE, 0,
					 "%s; restoring the source failed too: %s (images kept in %s)", first,
					 rerr.msg, images);
		}
	}
abort:
	receiver_cancel(&fin);
	if (target_made)
		abort_target(&c);
restore_signal:
	receiver_cancel(&fin);
	signal(SIGPIPE, old_pipe);
out:
	rep->total_ns = now_ns() - start;
	if (c.control_path && o->dest->kind == MIGRATE_DEST_SSH)
		close_ssh_master(&c);
	if (c.stderr_path)
		unlink(c.stderr_path);
	free(c.self_exe);
	free(c.stderr_path);
	free(c.control_path);
	instance_free(inst);
	return rc;
}
