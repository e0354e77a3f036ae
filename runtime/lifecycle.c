/* SPDX-License-Identifier: GPL-2.0-or-later */
/* start, kill, delete and their helpers. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/container.h"
#include "runtime/hooks.h"
#include "runtime/status_hooks.h"

char *container_hook_state_json(const struct oci_config *cfg, const char *id, const char *status, pid_t pid,
				const char *bundle)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersion", json_object_new_string(cfg && cfg->oci_version ? cfg->oci_version : "1.2.0"));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "status", json_object_new_string(status));
	if (pid > 0)
		json_object_object_add(o, "pid", json_object_new_int(pid));
	json_object_object_add(o, "bundle", json_object_new_string(bundle ? bundle : ""));
	if (cfg && cfg->n_annotations > 0) {
		json_object *a = json_object_new_object();
		for (size_t i = 0; i < cfg->n_annotations; i++)
			json_object_object_add(a, cfg->annotations[i].key,
					       json_object_new_string(cfg->annotations[i].value));
		json_object_object_add(o, "annotations", a);
	}
	char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

int container_load_config(const struct container_state *st, struct oci_config **out, struct hangar_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/config.json", st->dir);
	return oci_config_load(path, out, err);
}

static const struct {
	const char *name;
	int sig;
} signal_names[] = {
	{"HUP", SIGHUP},   {"INT", SIGINT},	{"QUIT", SIGQUIT}, {"ILL", SIGILL},	{"TRAP", SIGTRAP},
	{"ABRT", SIGABRT}, {"IOT", SIGIOT},	{"BUS", SIGBUS},   {"FPE", SIGFPE},	{"KILL", SIGKILL},
	{"USR1", SIGUSR1}, {"SEGV", SIGSEGV},	{"USR2", SIGUSR2}, {"PIPE", SIGPIPE},	{"ALRM", SIGALRM},
	{"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
	{"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},	{"TTOU", SIGTTOU}, {"URG", SIGURG},	{"XCPU", SIGXCPU},
	{"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
	{"POLL", SIGPOLL}, {"PWR", SIGPWR},	{"SYS", SIGSYS},
};

int signal_from_name(const char *name)
{
	uint64_t n;
	if (name == NULL || *name == '\0')
		return -1;
	if (parse_u64(name, &n) == 0)
		return n >= 1 && n <= (uint64_t)SIGRTMAX ? (int)n : -1;
	const char *s = name;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++)
		if (strcasecmp(s, signal_names[i].name) == 0)
			return signal_names[i].sig;
	if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
		bool min = strncasecmp(s, "RTMIN", 5) == 0;
		int64_t off = 0;
		if (s[5] != '\0' && parse_i64(s + 5, &off) < 0)
			return -1;
		int sig = (min ? SIGRTMIN : SIGRTMAX) + (int)off;
		return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
	}
	return -1;
}

int container_wait_exit(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return 255;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

static int open_cgroup(const struct container_state *st, struct cgroup_manager **cg, struct hangar_error *err)
{
	*cg = NULL;
	if (st->cgroup == NULL)
		return 0;
	return cgroup_manager_open(st->cgroup, cg, err);
}

/* Signal the init through a pidfd after checking its start time, so a
 * recycled pid is never signalled. */
static int signal_init(const struct container_state *st, int sig, struct hangar_error *err)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
	if (pidfd < 0) {
		if (errno == ESRCH)
			return hangar_error_set(err, HANGAR_E_STATE, 0, "container %s is not running", st->id);
		return hangar_sys_error(err, "pidfd_open %d", (int)st->pid);
	}
	if (!state_process_alive(st))
		return hangar_error_set(err, HANGAR_E_STATE, 0, "container %s is not running", st->id);
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
		return hangar_sys_error(err, "signal container %s", st->id);
	return 0;
}

static void set_warning(struct hangar_error *err, const struct hangar_error *warn)
{
	err->code = HANGAR_OK;
	err->err_no = 0;
	memcpy(err->msg, "warning: ", 9);
	size_t n = strnlen(warn->msg, sizeof(err->msg) - 10);
	memcpy(err->msg + 9, warn->msg, n);
	err->msg[9 + n] = '\0';
}

static int release_exec_fifo(const struct container_state *st, struct hangar_error *err)
{
	_cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", st->dir);
	/* O_NONBLOCK so a dead init cannot leave us blocked in open(). */
	_cleanup_close_ int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return hangar_sys_error(err, "open %s", fifo);
	bool released = false;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int n = poll(&pfd, 1, 100);
		if (n < 0 && errno != EINTR)
			return hangar_sys_error(err, "poll exec fifo");
		if (n > 0) {
			char c;
			ssize_t r = read(fd, &c, 1);
			if (r == 1) {
				released = true;
				/* The init stops waiting now: the fifo can go. */
				unlink(fifo);
				continue;
			}
			/* EOF after the byte: the init's write end closed on
			 * execve (O_CLOEXEC) or because it exited; either way
			 * the startContainer hooks are done. */
			if (r == 0 && released)
				return 0;
			if (r < 0 && errno == EAGAIN)
				continue;
		}
		if (!state_process_alive(st)) {
			if (released)
				return 0;
			return hangar_error_set(err, HANGAR_E_STATE, 0,
						"cannot start container %s: its init process exited", st->id);
		}
		/* Paused meanwhile: the init cannot move until resumed. */
		if (state_cgroup_frozen(st)) {
			if (released)
				return 0;
			return hangar_error_set(err, HANGAR_E_STATE, 0,
						"cannot start container %s: it was paused", st->id);
		}
	}
}

int container_start(const char *root, const char *id, struct hangar_error *err)
{
	struct container_state *st = NULL;
	struct oci_config *cfg = NULL;
	int rc = -1;
	int lock = -1;
	if (state_load(root, id, &st, err) < 0)
		return -1;
	lock = state_lock(st->dir, err);
	if (lock < 0)
		goto out;
	state_refresh_status(st);
	if (st->status == STATUS_STOPPED) {
		hangar_error_set(err, HANGAR_E_STATE, 0, "cannot start a container that has stopped");
		goto out;
	}
	if (st->status != STATUS_CREATED) {
		hangar_error_set(err, HANGAR_E_STATE, 0, "cannot start an already %s container",
				 container_status_name(st->status));
		goto out;
	}
	if (release_exec_fifo(st, err) < 0)
		goto out;
	rc = 0;
	struct hangar_error herr;
	if (container_load_config(st, &cfg, &herr) == 0 && cfg->hooks.n_poststart > 0) {
		char *state = container_hook_state_json(cfg, id, "running", st->pid, st->bundle);
		/* Spec: a failing poststart hook is a warning, not a failure. */
		if (hooks_run(cfg->hooks.poststart, cfg->hooks.n_poststart, "poststart", state, &herr) < 0)
			set_warning(err, &herr);
		free(state);
	}
out:
	if (lock >= 0)
		close(lock);
	oci_config_free(cfg);
	state_free(st);
	return rc;
}

static bool has_own_pid_namespace(const struct container_state *st)
{
	struct oci_config *cfg = NULL;
	struct hangar_error ignored;
	if (container_load_config(st, &cfg, &ignored) < 0)
		return false;
	const struct oci_namespace *ns = oci_config_namespace(cfg, OCI_NS_PID);
	bool own = ns && (ns->path == NULL || ns->path[0] == '\0');
	oci_config_free(cfg);
	return own;
}

int container_kill(const char *root, const char *id, int sig, bool all, struct hangar_error *err)
{
	struct container_state *st = NULL;
	if (state_load(root, id, &st, err) < 0)
		return -1;
	int rc = -1;
	if (all) {
		struct cgroup_manager *cg = NULL;
		if (open_cgroup(st, &cg, err) < 0)
			goto out;
		if (cg == NULL) {
			rc = signal_init(st, sig, err);
			goto out;
		}
		rc = cgroup_manager_kill_all(cg, sig, err);
		cgroup_manager_free(cg);
		if (rc < 0 && err->code == HANGAR_E_UNSUPPORTED && has_own_pid_namespace(st)) {
			/* No cgroup (rootless without a delegated one): the init of
			 * its own pid namespace takes every process there with it
			 * when it dies, so it is the one to signal. */
			hangar_error_clear(err);
			rc = signal_init(st, sig, err);
		}
		goto out;
	}
	if (st->status == STATUS_STOPPED) {
		hangar_error_set(err, HANGAR_E_STATE, 0, "container %s is not running", id);
		goto out;
	}
	rc = signal_init(st, sig, err);
	if (rc == 0 && sig == SIGKILL && st->status == STATUS_PAUSED) {
		/* A task frozen by the cgroup v1 freezer cannot act on SIGKILL
		 * until thawed (v2 lets fatal signals through): thaw, like runc,
		 * so that `kill KILL` of a paused container kills it. */
		struct cgroup_manager *cg = NULL;
		struct hangar_error ignored;
		if (open_cgroup(st, &cg, &ignored) == 0 && cg) {
			cgroup_manager_thaw(cg, &ignored);
			cgroup_manager_free(cg);
		}
	}
out:
	state_free(st);
	return rc;
}

static void wait_gone(const struct container_state *st, int timeout_ms)
{
	/* The init is usually not our child (create exited): poll /proc. */
	for (int waited = 0; waited < timeout_ms; waited += 5) {
		if (!state_process_alive(st))
			return;
		waitpid(st->pid, NULL, WNOHANG);
		usleep(5000);
	}
}

int container_delete(const char *root, const char *id, bool force, struct hangar_error *err)
{
	struct container_state *st = NULL;
	if (state_load(root, id, &st, err) < 0) {
		/* A half-made container (no state.json) can only be removed by force. */
		if (force && err->code == HANGAR_E_STATE) {
			_cleanup_free_ char *dir = xasprintf("%s/%s", root, id);
			return state_remove(dir, err);
		}
		return -1;
	}
	int rc = -1;
	struct cgroup_manager *cg = NULL;
	struct oci_config *cfg = NULL;
	int lock = state_lock(st->dir, err);
	if (lock < 0)
		goto out;
	state_refresh_status(st);
	if ((st->status == STATUS_RUNNING || st->status == STATUS_PAUSED) && !force) {
		hangar_error_set(err, HANGAR_E_STATE, 0, "cannot delete container %s that is not stopped: %s", id,
				 container_status_name(st->status));
		goto out;
	}
	if (open_cgroup(st, &cg, err) < 0)
		goto out;
	if (st->status != STATUS_STOPPED) {
		struct hangar_error ignored;
		if (cg) {
			if (st->status == STATUS_PAUSED)
				cgroup_manager_thaw(cg, &ignored);
			cgroup_manager_kill_all(cg, SIGKILL, &ignored);
		}
		signal_init(st, SIGKILL, &ignored);
		wait_gone(st, 10000);
		if (state_process_alive(st)) {
			hangar_error_set(err, HANGAR_E_STATE, 0, "container %s: init did not exit after SIGKILL", id);
			goto out;
		}
	}
	if (cg && cgroup_manager_destroy(cg, err) < 0)
		goto out;
	struct hangar_error herr;
	if (container_load_config(st, &cfg, &herr) == 0 && cfg->hooks.n_poststop > 0) {
		char *state = container_hook_state_json(cfg, id, "stopped", 0, st->bundle);
		/* Spec: poststop failures are logged, deletion continues. */
		if (hooks_run(cfg->hooks.poststop, cfg->hooks.n_poststop, "poststop", state, &herr) < 0)
			set_warning(err, &herr);
		free(state);
	}
	if (state_remove(st->dir, &herr) < 0) {
		*err = herr;
		goto out;
	}
	rc = 0;
out:
	if (lock >= 0)
		close(lock);
	oci_config_free(cfg);
	if (cg)
		cgroup_manager_free(cg);
	state_free(st);
	return rc;
}
