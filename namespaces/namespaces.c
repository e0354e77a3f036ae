/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "namespaces/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "namespaces/subid.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
	int flag;
	const char *proc;
} ns_table[OCI_NS_COUNT] = {
	[OCI_NS_PID] = {CLONE_NEWPID, "pid"},	  [OCI_NS_NETWORK] = {CLONE_NEWNET, "net"},
	[OCI_NS_MOUNT] = {CLONE_NEWNS, "mnt"},	  [OCI_NS_IPC] = {CLONE_NEWIPC, "ipc"},
	[OCI_NS_UTS] = {CLONE_NEWUTS, "uts"},	  [OCI_NS_USER] = {CLONE_NEWUSER, "user"},
	[OCI_NS_CGROUP] = {CLONE_NEWCGROUP, "cgroup"}, [OCI_NS_TIME] = {CLONE_NEWTIME, "time"},
};

int ns_clone_flag(enum oci_ns_type t)
{
	return (unsigned)t < OCI_NS_COUNT ? ns_table[t].flag : 0;
}

const char *ns_proc_name(enum oci_ns_type t)
{
	return (unsigned)t < OCI_NS_COUNT ? ns_table[t].proc : "?";
}

pid_t ns_clone3(uint64_t flags, int cgroup_fd, int *pidfd_out, struct hangar_error *err)
{
	struct clone_args args;
	int pidfd = -1;
	memset(&args, 0, sizeof(args));
	args.flags = flags;
	args.exit_signal = SIGCHLD;
	if (pidfd_out) {
		args.flags |= CLONE_PIDFD;
		args.pidfd = (uint64_t)(uintptr_t)&pidfd;
	}
	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
	}
	long r = syscall(SYS_clone3, &args, sizeof(args));
	if (r < 0)
		return hangar_sys_error(err, "clone3");
	if (r == 0)
		return 0;
	if (pidfd_out)
		*pidfd_out = pidfd;
	return (pid_t)r;
}

int ns_open_join_fds(const struct oci_config *cfg, int fds[OCI_NS_COUNT], struct hangar_error *err)
{
	for (int t = 0; t < OCI_NS_COUNT; t++)
		fds[t] = -1;
	for (size_t i = 0; i < cfg->linux_.n_namespaces; i++) {
		const struct oci_namespace *ns = &cfg->linux_.namespaces[i];
		if (ns->path == NULL || ns->path[0] == '\0')
			continue;
		int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			int saved = errno;
			ns_close_fds(fds);
			return hangar_error_set(err, HANGAR_E_CONFIG, saved, "linux.namespaces: %s namespace path %s",
						oci_ns_type_name(ns->type), ns->path);
		}
		/* Refuse a path that is not a namespace of the declared type. */
		int type = ioctl(fd, NS_GET_NSTYPE);
		if (type < 0 || type != ns_table[ns->type].flag) {
			int saved = errno;
			close(fd);
			ns_close_fds(fds);
			return hangar_error_set(err, HANGAR_E_CONFIG, type < 0 ? saved : 0,
						"linux.namespaces: %s is not a %s namespace", ns->path,
						oci_ns_type_name(ns->type));
		}
		fds[ns->type] = fd;
	}
	return 0;
}

void ns_close_fds(int fds[OCI_NS_COUNT])
{
	for (int t = 0; t < OCI_NS_COUNT; t++) {
		if (fds[t] >= 0)
			close(fds[t]);
		fds[t] = -1;
	}
}

int ns_join_fds(int fds[OCI_NS_COUNT], struct hangar_error *err)
{
	if (fds[OCI_NS_USER] >= 0 && setns(fds[OCI_NS_USER], CLONE_NEWUSER) < 0)
		return hangar_sys_error(err, "setns user namespace");
	for (int t = 0; t < OCI_NS_COUNT; t++) {
		if (t == OCI_NS_USER || fds[t] < 0)
			continue;
		if (setns(fds[t], ns_table[t].flag) < 0)
			return hangar_sys_error(err, "setns %s namespace", ns_table[t].proc);
	}
	return 0;
}

static char *format_map(const struct oci_id_mapping *m, size_t n)
{
	size_t cap = n * 40 + 1, used = 0;
	char *buf = xmalloc0(cap);
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%u %u %u\n", m[i].container_id, m[i].host_id,
					 m[i].size);
	return buf;
}

/* Run newuidmap/newgidmap with its stderr captured: the library does not
 * print, and the helper's own line ("uid range [..) not allowed") is the
 * most precise reason there is. */
static int run_idmap_helper(const char *helper, pid_t pid, const struct oci_id_mapping *m, size_t n,
			    struct hangar_error *err)
{
	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return hangar_sys_error(err, "pipe for %s", helper);
	char **argv = xmalloc0((n * 3 + 3) * sizeof(char *));
	size_t k = 0;
	argv[k++] = xstrdup(helper);
	argv[k++] = xasprintf("%d", (int)pid);
	for (size_t i = 0; i < n; i++) {
		argv[k++] = xasprintf("%u", m[i].container_id);
		argv[k++] = xasprintf("%u", m[i].host_id);
		argv[k++] = xasprintf("%u", m[i].size);
	}
	pid_t child = fork();
	if (child < 0) {
		int saved = errno;
		strv_free(argv);
		close(errpipe[0]);
		close(errpipe[1]);
		return hangar_error_set(err, HANGAR_E_SYS, saved, "fork %s", helper);
	}
	if (child == 0) {
		if (dup2(errpipe[1], STDERR_FILENO) < 0)
			_exit(126);
		execvp(helper, argv);
		_exit(127);
	}
	strv_free(argv);
	close(errpipe[1]);
	char msg[512];
	int status;
	if (wait_child_message(child, errpipe[0], msg, sizeof(msg), &status) < 0)
		return hangar_sys_error(err, "wait %s", helper);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"%s not found: install the uidmap package for subordinate id ranges", helper);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return hangar_error_set(err, HANGAR_E_SYS, 0, "%s failed for pid %d: %s", helper, (int)pid,
					msg[0] ? msg : "(no message; check /etc/subuid and /etc/subgid)");
	return 0;
}

/* Before handing a mapping to the setuid helper, say which host ids the user
 * lacks and where they would come from; the helper only says "not allowed". */
static int check_subid_mapping(const char *what, const char *file, const struct oci_id_mapping *m, size_t n,
			       uint32_t self, struct hangar_error *err)
{
	_cleanup_free_ char *name = passwd_name_of(geteuid());
	_cleanup_free_ struct ns_subid_range *ranges = NULL;
	size_t n_ranges = 0;
	if (ns_subid_ranges(file, name, geteuid(), &ranges, &n_ranges, err) < 0)
		return hangar_error_prefix(err, "%s", what);
	for (size_t i = 0; i < n; i++) {
		if (m[i].size == 1 && m[i].host_id == self)
			continue;
		if (ns_subid_covers(ranges, n_ranges, m[i].host_id, m[i].size))
			continue;
		if (n_ranges == 0)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"%s: host ids %u-%u need a subordinate range, but %s has none in %s "
						"(add one, or map only your own id: `spec --rootless`)",
						what, m[i].host_id, m[i].host_id + m[i].size - 1, name ? name : "this user",
						file);
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"%s: host ids %u-%u are outside %s's ranges in %s", what, m[i].host_id,
					m[i].host_id + m[i].size - 1, name ? name : "this user", file);
	}
	return 0;
}

/* A single mapping of our own id is the one case an unprivileged process may
 * write itself (user_namespaces(7)); everything else needs the setuid helpers. */
static bool map_is_self_only(const struct oci_id_mapping *m, size_t n, uint32_t self)
{
	return n == 1 && m[0].size == 1 && m[0].host_id == self;
}

int ns_write_id_maps(pid_t pid, const struct oci_id_mapping *uids, size_t n_uids,
		     const struct oci_id_mapping *gids, size_t n_gids, struct hangar_error *err)
{
	char path[64];
	bool privileged = geteuid() == 0;

	if (n_gids > 0) {
		if (privileged || map_is_self_only(gids, n_gids, getegid())) {
			if (!privileged) {
				snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
				if (write_string_at(AT_FDCWD, path, "deny", err) < 0)
					return -1;
			}
			_cleanup_free_ char *map = format_map(gids, n_gids);
			snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
			if (write_string_at(AT_FDCWD, path, map, err) < 0)
				return hangar_error_prefix(err, "linux.gidMappings");
		} else if (check_subid_mapping("linux.gidMappings", "/etc/subgid", gids, n_gids, getegid(), err) < 0 ||
			   run_idmap_helper("newgidmap", pid, gids, n_gids, err) < 0) {
			return -1;
		}
	}
	if (n_uids > 0) {
		if (privileged || map_is_self_only(uids, n_uids, geteuid())) {
			_cleanup_free_ char *map = format_map(uids, n_uids);
			snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
			if (write_string_at(AT_FDCWD, path, map, err) < 0)
				return hangar_error_prefix(err, "linux.uidMappings");
		} else if (check_subid_mapping("linux.uidMappings", "/etc/subuid", uids, n_uids, geteuid(), err) < 0 ||
			   run_idmap_helper("newuidmap", pid, uids, n_uids, err) < 0) {
			return -1;
		}
	}
	return 0;
}

int ns_write_time_offsets(const struct oci_config *cfg, struct hangar_error *err)
{
	char buf[128];
	size_t used = 0;
	const struct oci_time_offset *mono = &cfg->linux_.time_offsets_monotonic;
	const struct oci_time_offset *boot = &cfg->linux_.time_offsets_boottime;
	if (mono->present)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "monotonic %lld %u\n",
					 (long long)mono->secs, mono->nanosecs);
	if (boot->present)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "boottime %lld %u\n",
					 (long long)boot->secs, boot->nanosecs);
	if (used == 0)
		return 0;
	_cleanup_close_ int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hangar_sys_error(err, "linux.timeOffsets: open /proc/self/timens_offsets");
	/* The kernel parses one line per write. */
	for (char *line = buf; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = (size_t)(nl - line) + 1;
		if (write(fd, line, len) < 0)
			return hangar_sys_error(err, "linux.timeOffsets: write '%.*s'", (int)len - 1, line);
		line += len;
	}
	return 0;
}

bool ns_map_host_to_container(const struct oci_id_mapping *m, size_t n, uint32_t host, uint32_t *out)
{
	if (n == 0) {
		*out = host;
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		if (host >= m[i].host_id && host - m[i].host_id < m[i].size) {
			*out = m[i].container_id + (host - m[i].host_id);
			return true;
		}
	}
	return false;
}

bool ns_map_container_to_host(const struct oci_id_mapping *m, size_t n, uint32_t cont, uint32_t *out)
{
	if (n == 0) {
		*out = cont;
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		if (cont >= m[i].container_id && cont - m[i].container_id < m[i].size) {
			*out = m[i].host_id + (cont - m[i].container_id);
			return true;
		}
	}
	return false;
}
