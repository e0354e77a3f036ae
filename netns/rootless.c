/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rootless networking: a user-mode network helper serves the instance's
 * namespace through a tap device.  pasta (package passt) is preferred: it
 * is much faster than slirp4netns (podman #18237); slirp4netns is the
 * fallback.  The helper stays our child so the instance monitor can own,
 * signal and reap it.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/internal.h"

#define HELPER_READY_TIMEOUT_MS 10000

int rootless_net_find_helper(enum rootless_net_helper want, enum rootless_net_helper *found, char **path,
			     struct hangar_error *err)
{
	if (want == ROOTLESS_NET_AUTO || want == ROOTLESS_NET_PASTA) {
		*path = find_in_path("pasta");
		if (*path) {
			*found = ROOTLESS_NET_PASTA;
			return 0;
		}
		if (want == ROOTLESS_NET_PASTA)
			return hangar_error_set(
			    err, HANGAR_E_UNSUPPORTED, 0,
			    "rootless networking: pasta not found in PATH (install package passt)");
	}
	*path = find_in_path("slirp4netns");
	if (*path) {
		*found = ROOTLESS_NET_SLIRP4NETNS;
		return 0;
	}
	if (want == ROOTLESS_NET_SLIRP4NETNS)
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "rootless networking: slirp4netns not found in PATH (install package slirp4netns)");
	return hangar_error_set(
	    err, HANGAR_E_UNSUPPORTED, 0,
	    "rootless networking needs pasta (package passt) or slirp4netns; neither is in PATH");
}

static bool same_userns(pid_t pid)
{
	struct stat mine, theirs;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	return stat("/proc/self/ns/user", &mine) == 0 && stat(path, &theirs) == 0 &&
	       mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev;
}

struct argv_builder {
	char **v;
	size_t n;
};

static void argv_add(struct argv_builder *a, char *s)
{
	a->v = realloc(a->v, (a->n + 2) * sizeof(char *));
	if (a->v == NULL)
		abort();
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

/* The last line of the helper's log, for error messages: helpers print
 * warnings first and the reason they gave up last. */
static void log_last_line(const char *log, char *buf, size_t len)
{
	_cleanup_free_ char *text = NULL;
	struct hangar_error ignored = {0};
	buf[0] = '\0';
	if (read_file_at(AT_FDCWD, log, &text, NULL, &ignored) < 0)
		return;
	size_t n = strlen(text);
	while (n > 0 && text[n - 1] == '\n')
		text[--n] = '\0';
	char *last = strrchr(text, '\n');
	snprintf(buf, len, "%s", last ? last + 1 : text);
}

static pid_t spawn_helper(char **argv, const char *log, int keep_fd, struct hangar_error *err)
{
	_cleanup_close_ int log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (log_fd < 0)
		return hangar_sys_error(err, "create helper log %s", log);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return hangar_sys_error(err, "fork %s", argv[0]);
	if (pid == 0) {
		/* child: only async-signal-safe calls until exec.  The helper
		 * must not outlive its owner (the monitor): it would keep
		 * published ports bound forever. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
			_exit(127);
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
			_exit(127);
		if (keep_fd >= 0 && fcntl(keep_fd, F_SETFD, 0) < 0)
			_exit(127);
		/* the helper must not take our blocked or ignored signals with
		 * it (the monitor ignores SIGPIPE and SIGHUP; pasta of 2023
		 * takes an ignored SIGPIPE for a failed signal() and exits) */
		signal(SIGPIPE, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop_helper(pid_t pid)
{
	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Wait until ready() says so, the helper exits, or the timeout passes. */
static int wait_ready(pid_t pid, const char *name, const char *log, bool (*ready)(void *), void *data,
		      struct hangar_error *err)
{
	uint64_t deadline = now_ns() + (uint64_t)HELPER_READY_TIMEOUT_MS * 1000000;
	for (;;) {
		if (ready(data))
			return 0;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			char first[256];
			log_last_line(log, first, sizeof(first));
			return hangar_error_set(
			    err, HANGAR_E_CHILD, 0, "%s exited before the network was ready (status %d)%s%s",
			    name, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
			    first[0] ? ": " : "", first);
		}
		if (now_ns() > deadline) {
			stop_helper(pid);
			return hangar_error_set(err, HANGAR_E_CHILD, 0, "%s: network not ready after %d ms",
						name, HELPER_READY_TIMEOUT_MS);
		}
		usleep(10000);
	}
}

static bool pidfile_written(void *data)
{
	struct stat st;
	return stat((const char *)data, &st) == 0 && st.st_size > 0;
}

struct ready_pipe {
	int fd;
};

static bool ready_pipe_signalled(void *data)
{
	struct ready_pipe *p = data;
	struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	char c;
	return read(p->fd, &c, 1) == 1;
}

static char *pasta_port_arg(const struct port_mapping *p)
{
	if (p->host_ip[0])
		return xasprintf("%s/%u:%u", p->host_ip, p->host_port, p->container_port);
	return xasprintf("%u:%u", p->host_port, p->container_port);
}

static int start_pasta(const char *bin, const struct rootless_net_request *req, const char *dir, pid_t *out,
		       struct hangar_error *err)
{
	_cleanup_free_ char *pidfile = xasprintf("%s/pasta.pid", dir);
	_cleanup_free_ char *log = xasprintf("%s/pasta.log", dir);
	_cleanup_close_ int nsfd = -1;
	char nspath[64];
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)req->target_pid);
	unlink(pidfile);
	struct argv_builder a = {0};
	argv_add(&a, xstrdup(bin));
	argv_add(&a, xstrdup("--foreground"));
	argv_add(&a, xstrdup("--quiet"));
	argv_add(&a, xstrdup("--config-net"));
	/* written once the namespace is configured: our readiness signal */
	argv_add(&a, xstrdup("--pid"));
	argv_add(&a, xstrdup(pidfile));
	if (req->mtu) {
		argv_add(&a, xstrdup("--mtu"));
		argv_add(&a, xasprintf("%u", req->mtu));
	}
	size_t tcp = 0, udp = 0;
	for (size_t i = 0; i < req->n_ports; i++) {
		argv_add(&a, xstrdup(req->ports[i].protocol == IPPROTO_UDP ? "-u" : "-t"));
		argv_add(&a, pasta_port_arg(&req->ports[i]));
		tcp += req->ports[i].protocol != IPPROTO_UDP;
		udp += req->ports[i].protocol == IPPROTO_UDP;
	}
	/* nothing is published unless asked for, and the instance does not
	 * get to reach the host's loopback services: no -T/-U forwards, and
	 * --no-map-gw, else pasta turns connections to its gateway address
	 * into connections to the host's 127.0.0.1 (slirp4netns gets
	 * --disable-host-loopback for the same) */
	argv_add(&a, xstrdup("--no-map-gw"));
	/* a resolver address for the instance's resolv.conf; pasta maps it
	 * to the host's first nameserver */
	argv_add(&a, xstrdup("--dns-forward"));
	argv_add(&a, xstrdup(ROOTLESS_NET_PASTA_DNS));
	if (tcp == 0) {
		argv_add(&a, xstrdup("-t"));
		argv_add(&a, xstrdup("none"));
	}
	if (udp == 0) {
		argv_add(&a, xstrdup("-u"));
		argv_add(&a, xstrdup("none"));
	}
	argv_add(&a, xstrdup("-T"));
	argv_add(&a, xstrdup("none"));
	argv_add(&a, xstrdup("-U"));
	argv_add(&a, xstrdup("none"));
	if (geteuid() == 0) {
		/* as root pasta would drop to "nobody", which may not enter
		 * the target's namespaces */
		argv_add(&a, xstrdup("--runas"));
		argv_add(&a, xstrdup("0:0"));
	}
	if (req->netns_path) {
		argv_add(&a, xstrdup("--netns"));
		argv_add(&a, xstrdup(req->netns_path));
	} else if (same_userns(req->target_pid)) {
		/* Given a PID, pasta also joins (as root: first creates) a user
		 * namespace; a path joins just the netns.  It opens the path
		 * after dropping capabilities, when /proc/PID/ns of a
		 * privileged target is out of reach: hand it an open fd. */
		nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0) {
			int saved = errno;
			strv_free(a.v);
			return hangar_error_set(err, HANGAR_E_SYS, saved, "open %s", nspath);
		}
		argv_add(&a, xstrdup("--netns"));
		argv_add(&a, xasprintf("/proc/self/fd/%d", nsfd));
	} else {
		argv_add(&a, xasprintf("%d", (int)req->target_pid));
	}
	pid_t pid = spawn_helper(a.v, log, nsfd, err);
	strv_free(a.v);
	if (pid < 0)
		return -1;
	if (wait_ready(pid, "pasta", log, pidfile_written, pidfile, err) < 0)
		return -1;
	*out = pid;
	return 0;
}

static int slirp_api_call(const char *sock_path, struct json_object *request, struct hangar_error *err)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hangar_sys_error(err, "slirp4netns API socket");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sock_path) >= sizeof(sa.sun_path))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "slirp4netns API socket path too long: %s",
					sock_path);
	strcpy(sa.sun_path, sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return hangar_sys_error(err, "connect to slirp4netns API %s", sock_path);
	const char *text = json_object_to_json_string(request);
	if (write_all(fd, text, strlen(text)) < 0)
		return hangar_sys_error(err, "write slirp4netns API request");
	/* slirp4netns answers once the request side is shut down */
	shutdown(fd, SHUT_WR);
	char reply[4096];
	ssize_t n = read_all(fd, reply, sizeof(reply) - 1);
	if (n < 0)
		return hangar_sys_error(err, "read slirp4netns API reply");
	reply[n] = '\0';
	struct json_object *o = json_tokener_parse(reply), *e;
	if (o == NULL)
		return hangar_error_set(err, HANGAR_E_CHILD, 0, "slirp4netns API: unparsable reply '%s'",
					reply);
	int r = 0;
	if (json_object_object_get_ex(o, "error", &e)) {
		struct json_object *desc;
		const char *why = json_object_object_get_ex(e, "desc", &desc) ? json_object_get_string(desc)
									      : json_object_to_json_string(e);
		r = hangar_error_set(err, HANGAR_E_CHILD, 0, "slirp4netns: %s", why);
	}
	json_object_put(o);
	return r;
}

static int slirp_add_port(const char *sock_path, const struct port_mapping *p, struct hangar_error *err)
{
	struct json_object *req = json_object_new_object(), *args = json_object_new_object();
	json_object_object_add(req, "execute", json_object_new_string("add_hostfwd"));
	json_object_object_add(args, "proto",
			       json_object_new_string(p->protocol == IPPROTO_UDP ? "udp" : "tcp"));
	json_object_object_add(args, "host_addr",
			       json_object_new_string(p->host_ip[0] ? p->host_ip : "0.0.0.0"));
	json_object_object_add(args, "host_port", json_object_new_int(p->host_port));
	json_object_object_add(args, "guest_port", json_object_new_int(p->container_port));
	json_object_object_add(req, "arguments", args);
	int r = slirp_api_call(sock_path, req, err);
	json_object_put(req);
	if (r < 0)
		return hangar_error_prefix(err, "publish port %u", p->host_port);
	return 0;
}

static int start_slirp4netns(const char *bin, const struct rootless_net_request *req, const char *dir,
			     pid_t *out, struct hangar_error *err)
{
	_cleanup_free_ char *log = xasprintf("%s/slirp4netns.log", dir);
	_cleanup_free_ char *api = xasprintf("%s/slirp4netns.sock", dir);
	unlink(api);
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return hangar_sys_error(err, "pipe for slirp4netns");
	_cleanup_close_ int ready_r = ready[0];
	_cleanup_close_ int ready_w = ready[1];
	struct argv_builder a = {0};
	argv_add(&a, xstrdup(bin));
	argv_add(&a, xstrdup("--configure"));
	argv_add(&a, xstrdup("--disable-host-loopback"));
	argv_add(&a, xasprintf("--mtu=%u", req->mtu ? req->mtu : 65520));
	argv_add(&a, xasprintf("--ready-fd=%d", ready_w));
	argv_add(&a, xasprintf("--api-socket=%s", api));
	if (req->netns_path) {
		argv_add(&a, xstrdup("--netns-type=path"));
		argv_add(&a, xstrdup(req->netns_path));
	} else {
		if (!same_userns(req->target_pid))
			argv_add(&a, xasprintf("--userns-path=/proc/%d/ns/user", (int)req->target_pid));
		argv_add(&a, xasprintf("%d", (int)req->target_pid));
	}
	argv_add(&a, xstrdup("tap0"));
	pid_t pid = spawn_helper(a.v, log, ready_w, err);
	strv_free(a.v);
	if (pid < 0)
		return -1;
	close(steal_fd(&ready_w));
	struct ready_pipe rp = {.fd = ready_r};
	if (wait_ready(pid, "slirp4netns", log, ready_pipe_signalled, &rp, err) < 0)
		return -1;
	for (size_t i = 0; i < req->n_ports; i++) {
		if (slirp_add_port(api, &req->ports[i], err) < 0) {
			stop_helper(pid);
			return -1;
		}
	}
	*out = pid;
	return 0;
}

int rootless_net_start(const struct rootless_net_request *req, pid_t *helper_pid,
		       enum rootless_net_helper *used, struct hangar_error *err)
{
	char nspath[64];
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)req->target_pid);
	const char *target = req->netns_path ? req->netns_path : nspath;
	if (req->netns_path == NULL && req->target_pid <= 0)
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"rootless networking: no target process or namespace");
	if (access(target, F_OK) < 0)
		return hangar_sys_error(err, "rootless networking: network namespace %s", target);
	_cleanup_free_ char *bin = NULL;
	enum rootless_net_helper found;
	if (rootless_net_find_helper(req->helper, &found, &bin, err) < 0)
		return -1;
	_cleanup_free_ char *tmpdir = NULL;
	const char *dir = req->runtime_dir;
	if (dir == NULL) {
		const char *base = getenv("XDG_RUNTIME_DIR");
		tmpdir = xasprintf("%s/hangar-net.XXXXXX", base && *base ? base : "/tmp");
		if (mkdtemp(tmpdir) == NULL)
			return hangar_sys_error(err, "create directory for the network helper %s", tmpdir);
		dir = tmpdir;
	} else if (mkdir_p(dir, 0700, err) < 0) {
		return -1;
	}
	int r = found == ROOTLESS_NET_PASTA ? start_pasta(bin, req, dir, helper_pid, err)
					    : start_slirp4netns(bin, req, dir, helper_pid, err);
	if (r < 0) {
		hangar_error_prefix(err, "rootless networking for %s", target);
		/* a directory we made for nothing goes again (the caller's
		 * runtime_dir keeps the helper's log for inspection) */
		struct hangar_error ignored = {0};
		if (tmpdir)
			rm_rf(tmpdir, &ignored);
		return -1;
	}
	/* The helper is up and keeps what it needs open (its log; ports are
	 * published already, so nobody uses the API socket again): a directory
	 * we made goes, instead of one more per start. */
	if (tmpdir) {
		struct hangar_error ignored = {0};
		rm_rf(tmpdir, &ignored);
	}
	if (used)
		*used = found;
	return 0;
}
