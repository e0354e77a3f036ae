/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Instance lifecycle: rootfs, network, runtime status, start, stop,
 * cleanup, destroy, live limits. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "manager/image.h"
#include "manager/instance.h"
#include "manager/internal.h"
#include "manager/monitor.h"
#include "rootfs/overlay.h"
#include "runtime/container.h"
#include "runtime/resources.h"
#include "runtime/state.h"

const char *instance_status_name(enum instance_status s)
{
	switch (s) {
	case INSTANCE_STOPPED:
		return "STOPPED";
	case INSTANCE_STARTING:
		return "STARTING";
	case INSTANCE_RUNNING:
		return "RUNNING";
	case INSTANCE_STOPPING:
		return "STOPPING";
	case INSTANCE_ORPHANED:
		return "ORPHANED";
	}
	return "UNKNOWN";
}

bool path_is_mountpoint(const char *path)
{
	struct statx a, b;
	_cleanup_free_ char *parent = xasprintf("%s/..", path);
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &a) < 0 ||
	    statx(AT_FDCWD, parent, 0, STATX_MNT_ID, &b) < 0)
		return false;
	if ((a.stx_mask & STATX_MNT_ID) && (b.stx_mask & STATX_MNT_ID))
		return a.stx_mnt_id != b.stx_mnt_id;
	return a.stx_dev_major != b.stx_dev_major || a.stx_dev_minor != b.stx_dev_minor;
}

int instance_mount_rootfs(const struct instance *inst, struct hangar_error *err)
{
	if (path_is_mountpoint(inst->rootfs))
		return 0;
	struct stat st;
	if (stat(inst->image_rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
		return hangar_error_set(err, HANGAR_E_NOTFOUND, 0, "instance %s: image %s is missing (%s)", inst->name,
					inst->image, inst->image_rootfs);
	const char *lower[] = {inst->image_rootfs};
	if (overlay_mount(lower, 1, inst->upper, inst->work, inst->rootfs, err) < 0)
		return hangar_error_prefix(err, "instance %s: root", inst->name);
	return 0;
}

int instance_umount_rootfs(const struct instance *inst, struct hangar_error *err)
{
	/* Stacked mounts (a crash between mount and record): take them all. */
	for (int i = 0; i < 8 && path_is_mountpoint(inst->rootfs); i++)
		if (overlay_umount(inst->rootfs, err) < 0)
			return hangar_error_prefix(err, "instance %s: root", inst->name);
	return 0;
}

static int load_network(const struct hangar_paths *p, const char *name, struct network **net,
			struct hangar_error *err)
{
	if (strcmp(name, NETWORK_DEFAULT_NAME) == 0)
		return network_ensure_default(p->network_dir, net, err);
	return network_load(p->network_dir, name, net, err);
}

/* Rootless: the instance's network namespace belongs to its user namespace,
 * and entering it needs CAP_NET_ADMIN there, which we, its owner, get by
 * joining that user namespace: in a child, since setns() of a user namespace
 * changes our credentials and needs a single-threaded process. */
static int attach_in_userns(const char *dir, const char *name, const struct network_attach_request *req,
			    struct network_attachment *att, struct hangar_error *err)
{
	_cleanup_free_ char *userns = xasprintf("/proc/%d/ns/user", (int)req->owner_pid);
	_cleanup_close_ int fd = open(userns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hangar_sys_error(err, "open %s", userns);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return hangar_sys_error(err, "pipe");
	pid_t child = fork();
	if (child < 0) {
		int saved = errno;
		close(pfd[0]);
		close(pfd[1]);
		return hangar_error_set(err, HANGAR_E_SYS, saved, "fork");
	}
	if (child == 0) {
		struct hangar_error cerr;
		hangar_error_clear(&cerr);
		int rc = setns(fd, CLONE_NEWUSER) < 0 ? hangar_sys_error(&cerr, "setns %s", userns)
						       : network_attach(dir, name, req, att, &cerr);
		if (write_all(pfd[1], &cerr, sizeof(cerr)) < 0 || write_all(pfd[1], att, sizeof(*att)) < 0)
			_exit(2);
		_exit(rc < 0 ? 1 : 0);
	}
	close(pfd[1]);
	struct hangar_error cerr;
	ssize_t n = read_all(pfd[0], &cerr, sizeof(cerr));
	ssize_t m = n == (ssize_t)sizeof(cerr) ? read_all(pfd[0], att, sizeof(*att)) : -1;
	close(pfd[0]);
	int status = 0;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(cerr) || m != (ssize_t)sizeof(*att))
		return hangar_error_set(err, HANGAR_E_SYS, 0, "attach in the instance's user namespace: no answer");
	/* Pointers of the child's memory mean nothing here ("none" has no ports). */
	att->ports = NULL;
	att->n_ports = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		*err = cerr;
		return -1;
	}
	return 0;
}

bool instance_network_is_rootless_helper(const struct hangar_paths *p, const char *network)
{
	return p->rootless && network &&
	       (strcmp(network, INSTANCE_NETWORK_PASTA) == 0 || strcmp(network, INSTANCE_NETWORK_SLIRP4NETNS) == 0);
}

static char *net_helper_record_path(const struct hangar_paths *p, const char *name)
{
	return xasprintf("%s/%s/net-helper.json", p->run_instances_dir, name);
}

bool instance_net_helper_recorded(const struct hangar_paths *p, const char *name)
{
	_cleanup_free_ char *path = net_helper_record_path(p, name);
	return access(path, F_OK) == 0;
}

static int net_helper_read(const char *path, pid_t *pid, unsigned long long *start)
{
	_cleanup_free_ char *text = NULL;
	struct hangar_error ignored;
	if (read_file_at(AT_FDCWD, path, &text, NULL, &ignored) < 0)
		return -1;
	json_object *o = json_tokener_parse(text), *v;
	if (o == NULL)
		return -1;
	*pid = json_object_object_get_ex(o, "pid", &v) ? (pid_t)json_object_get_int(v) : 0;
	*start = json_object_object_get_ex(o, "pid_start", &v) ? (unsigned long long)json_object_get_uint64(v) : 0;
	json_object_put(o);
	return 0;
}

/* Still the recorded process (not a recycled pid) and not yet a zombie. */
static bool net_helper_is(pid_t pid, unsigned long long start)
{
	return pid > 0 && start != 0 && proc_start_time(pid) == start;
}

void instance_net_helper_stop(const struct hangar_paths *p, const char *name)
{
	_cleanup_free_ char *path = net_helper_record_path(p, name);
	pid_t pid = 0;
	unsigned long long start = 0;
	if (net_helper_read(path, &pid, &start) == 0 && net_helper_is(pid, start)) {
		kill(pid, SIGTERM);
		for (int i = 0; i < 200; i++) {
			/* Our child (the monitor's own helper): reap it. */
			if (waitpid(pid, NULL, WNOHANG) == pid || !net_helper_is(pid, start))
				break;
			_cleanup_free_ char *stat_path = xasprintf("/proc/%d/stat", (int)pid);
			_cleanup_free_ char *st = NULL;
			struct hangar_error ignored;
			/* a zombie of someone else's is as good as gone */
			if (read_file_at(AT_FDCWD, stat_path, &st, NULL, &ignored) == 0) {
				char *rp = strrchr(st, ')');
				if (rp && rp[1] == ' ' && rp[2] == 'Z')
					break;
			}
			if (i == 100)
				kill(pid, SIGKILL);
			usleep(10000);
		}
	}
	unlink(path);
}

int instance_net_helper_etc_files(const struct instance *inst, struct hangar_error *err)
{
	char *dns[] = {strcmp(inst->networks[0], INSTANCE_NETWORK_PASTA) == 0 ? ROOTLESS_NET_PASTA_DNS
									      : ROOTLESS_NET_SLIRP4NETNS_DNS,
		       NULL};
	struct network net = {.name = inst->networks[0], .mode = NETWORK_MODE_NONE, .dns = dns};
	/* Into the upper layer, before the container's init mounts the
	 * overlay over inst->rootfs (files written there would be hidden). */
	if (network_write_etc_files(inst->upper, inst->hostname ? inst->hostname : inst->name, &net, NULL, 0,
				    err) < 0)
		return hangar_error_prefix(err, "instance %s: network %s", inst->name, inst->networks[0]);
	return 0;
}

int instance_net_helper_start(const struct hangar_paths *p, const struct instance *inst, pid_t init_pid,
			      pid_t *helper_pid, struct hangar_error *err)
{
	size_t n_ports = strv_len(inst->publish);
	_cleanup_free_ struct port_mapping *ports = xmalloc0((n_ports + 1) * sizeof(*ports));
	for (size_t i = 0; i < n_ports; i++)
		if (port_mapping_parse(inst->publish[i], &ports[i], err) < 0)
			return hangar_error_prefix(err, "instance %s: --publish %s", inst->name, inst->publish[i]);
	_cleanup_free_ char *run_dir = instance_run_dir(p, inst->name);
	_cleanup_free_ char *net_dir = xasprintf("%s/net", run_dir);
	struct rootless_net_request req = {
	    .target_pid = init_pid,
	    .helper = strcmp(inst->networks[0], INSTANCE_NETWORK_PASTA) == 0 ? ROOTLESS_NET_PASTA
									     : ROOTLESS_NET_SLIRP4NETNS,
	    .ports = ports,
	    .n_ports = n_ports,
	    .runtime_dir = net_dir,
	};
	pid_t pid = 0;
	if (rootless_net_start(&req, &pid, NULL, err) < 0)
		return hangar_error_prefix(err, "instance %s: network %s", inst->name, inst->networks[0]);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "pid", json_object_new_int(pid));
	json_object_object_add(o, "pid_start", json_object_new_uint64(proc_start_time(pid)));
	json_object_object_add(o, "helper", json_object_new_string(inst->networks[0]));
	_cleanup_free_ char *text = xstrdup(json_object_to_json_string(o));
	json_object_put(o);
	_cleanup_free_ char *path = net_helper_record_path(p, inst->name);
	if (write_file_atomic(path, text, strlen(text), 0600, err) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return hangar_error_prefix(err, "instance %s: record the network helper", inst->name);
	}
	*helper_pid = pid;
	return 0;
}

/* One network of the instance; ports and the remembered address go with
 * the first (index 0).  The attachment counts in *n_att for /etc/hosts
 * only in bridge mode ("none" has no address to name). */
static int attach_one(const struct hangar_paths *p, struct instance *inst, const struct network *net,
		      struct network_attach_request *req, bool first, struct network_attachment *att,
		      size_t *n_att, struct hangar_error *err)
{
	if (net->mode == NETWORK_MODE_NONE)
		return p->rootless ? attach_in_userns(p->network_dir, net->name, req, att, err)
				   : network_attach(p->network_dir, net->name, req, att, err);
	if (net->mode != NETWORK_MODE_BRIDGE)
		return 0;
	if (network_attach(p->network_dir, net->name, req, att, err) < 0) {
		if (!first || inst->ipv4 == NULL)
			return -1;
		/* The remembered address went to someone else meanwhile. */
		req->ipv4 = NULL;
		if (network_attach(p->network_dir, net->name, req, att, err) < 0)
			return -1;
	}
	(*n_att)++;
	if (first && att->has_ipv4) {
		char buf[INET6_ADDRSTRLEN + 4];
		const char *addr = net_prefix_format(&att->ipv4, false, buf, sizeof(buf));
		if (inst->ipv4 == NULL || strcmp(inst->ipv4, addr) != 0) {
			struct hangar_error ignored;
			free(inst->ipv4);
			inst->ipv4 = xstrdup(addr);
			instance_save(inst, &ignored);
		}
	}
	return 0;
}

/* Test only (documented in docs/networking.md): HANGAR_TEST_NET_PAUSE=
 * STAGE:FILE stops the attach at that stage of network_attach ("leased",
 * "veth", "configured", "ports") after writing "paused=STAGE pid=PID" to
 * FILE, so that a test can kill -9 the monitor while the network is half
 * made, as tests/unit/test_netns.c's --pause-at does for the library. */
static void test_net_pause(const char *stage, void *data)
{
	const char *spec = data;
	const char *colon = strchr(spec, ':');
	if (colon == NULL || strlen(stage) != (size_t)(colon - spec) ||
	    strncmp(spec, stage, strlen(stage)) != 0)
		return;
	int fd = open(colon + 1, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dprintf(fd, "paused=%s pid=%d\n", stage, (int)getpid());
		close(fd);
	}
	for (;;)
		pause();
}

int instance_network_attach(const struct hangar_paths *p, struct instance *inst, pid_t pid,
			    struct hangar_error *err)
{
	const char *pause_spec = getenv("HANGAR_TEST_NET_PAUSE");
	/* The monitor starts and owns the helper (instance_net_helper_start). */
	if (instance_network_is_rootless_helper(p, inst->networks[0]))
		return 0;
	size_t n_nets = strv_len(inst->networks);
	size_t n_ports = strv_len(inst->publish);
	_cleanup_free_ struct port_mapping *ports = xmalloc0((n_ports + 1) * sizeof(*ports));
	_cleanup_free_ char *netns = xasprintf("/proc/%d/ns/net", (int)pid);
	for (size_t i = 0; i < n_ports; i++)
		if (port_mapping_parse(inst->publish[i], &ports[i], err) < 0)
			return hangar_error_prefix(err, "instance %s: --publish %s", inst->name,
						   inst->publish[i]);
	struct network_attachment *att = xmalloc0(n_nets * sizeof(*att));
	struct network *first_net = NULL;
	size_t n_att = 0;
	int rc = -1;
	/* A previous run killed -9 may still hold leases (none and host,
	 * which stand alone, never have any). */
	struct hangar_error ignored;
	bool bridged = strcmp(inst->networks[0], "none") != 0 && strcmp(inst->networks[0], "host") != 0;
	if (bridged)
		network_detach_all(p->network_dir, inst->name, &ignored);
	for (size_t i = 0; i < n_nets; i++) {
		struct network *net = NULL;
		if (load_network(p, inst->networks[i], &net, err) < 0) {
			hangar_error_prefix(err, "instance %s: network", inst->name);
			goto fail;
		}
		/* Attached in order, each gets the first free ethN: eth0, eth1... */
		struct network_attach_request req = {
		    .instance = inst->name,
		    .netns_fd = -1,
		    .netns_path = netns,
		    .owner_pid = pid,
		    .ipv4 = i == 0 ? inst->ipv4 : NULL,
		    .ports = i == 0 ? ports : NULL,
		    .n_ports = i == 0 ? n_ports : 0,
		    .on_stage = pause_spec ? test_net_pause : NULL,
		    .stage_data = (void *)pause_spec,
		};
		int r = attach_one(p, inst, net, &req, i == 0, &att[n_att], &n_att, err);
		if (r < 0)
			hangar_error_prefix(err, "instance %s: network %s", inst->name, net->name);
		if (i == 0)
			first_net = net;
		else
			network_free(net);
		if (r < 0)
			goto fail;
	}
	/* Rootless: inst->rootfs is only the mount point the container's init
	 * covers with the overlay; files written there would be hidden (the
	 * helper networks write into the upper layer before, see
	 * instance_net_helper_etc_files).  resolv.conf comes from the first
	 * network. */
	if (!p->rootless &&
	    network_write_etc_files(inst->rootfs, inst->hostname ? inst->hostname : inst->name, first_net,
				    att, n_att, err) < 0) {
		hangar_error_prefix(err, "instance %s: network %s", inst->name, first_net->name);
		goto fail;
	}
	rc = 0;
	goto out;
fail:
	if (bridged)
		network_detach_all(p->network_dir, inst->name, &ignored);
out:
	network_attachments_free(att, n_att);
	network_free(first_net);
	return rc;
}

void instance_network_forward_warning(const struct hangar_paths *p, const struct instance *inst, char *buf,
				      size_t len)
{
	buf[0] = '\0';
	for (char **n = inst->networks; n && *n && buf[0] == '\0'; n++) {
		if (strcmp(*n, "none") == 0 || strcmp(*n, "host") == 0 ||
		    instance_network_is_rootless_helper(p, *n))
			continue;
		struct network *net = NULL;
		struct hangar_error ignored;
		char *warning = NULL;
		if (network_load(p->network_dir, *n, &net, &ignored) == 0 &&
		    network_forward_policy_warning(net, &warning, &ignored) == 0 && warning)
			snprintf(buf, len, "%s", warning);
		free(warning);
		network_free(net);
	}
}

int instance_network_detach(const struct hangar_paths *p, const struct instance *inst, struct hangar_error *err)
{
	if (network_detach_all(p->network_dir, inst->name, err) < 0)
		return hangar_error_prefix(err, "instance %s: network", inst->name);
	return 0;
}

int instance_write_exit_status(const struct instance *inst, int exit_code, struct hangar_error *err)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "exit_code", json_object_new_int(exit_code));
	json_object_object_add(o, "finished", json_object_new_int64((int64_t)time(NULL)));
	_cleanup_free_ char *text = xasprintf("%s\n", json_object_to_json_string(o));
	json_object_put(o);
	_cleanup_free_ char *path = xasprintf("%s/status.json", inst->dir);
	return write_file_atomic(path, text, strlen(text), 0600, err);
}

int instance_read_exit_status(const struct instance *inst, int *exit_code, time_t *finished)
{
	_cleanup_free_ char *path = xasprintf("%s/status.json", inst->dir);
	_cleanup_free_ char *text = NULL;
	struct hangar_error ignored;
	if (read_file_at(AT_FDCWD, path, &text, NULL, &ignored) < 0)
		return -1;
	json_object *o = json_tokener_parse(text), *v;
	if (o == NULL)
		return -1;
	*exit_code = json_object_object_get_ex(o, "exit_code", &v) ? json_object_get_int(v) : -1;
	*finished = json_object_object_get_ex(o, "finished", &v) ? (time_t)json_object_get_int64(v) : 0;
	json_object_put(o);
	return 0;
}

static bool init_alive(const struct hangar_paths *p, const char *name, pid_t *pid, bool *state_exists,
		       bool *created_only)
{
	struct container_state *st = NULL;
	struct hangar_error ignored;
	*state_exists = false;
	if (created_only)
		*created_only = false;
	if (state_load(p->oci_root, name, &st, &ignored) < 0) {
		/* A half-made state dir still counts as a leftover. */
		_cleanup_free_ char *dir = xasprintf("%s/%s", p->oci_root, name);
		*state_exists = access(dir, F_OK) == 0;
		return false;
	}
	*state_exists = true;
	state_refresh_status(st);
	bool alive = st->status != STATUS_STOPPED && state_process_alive(st);
	if (alive && pid)
		*pid = st->pid;
	if (created_only)
		*created_only = st->status == STATUS_CREATED;
	state_free(st);
	return alive;
}

int instance_get_runtime(const struct hangar_paths *p, const struct instance *inst, struct instance_runtime *rt,
			 struct hangar_error *err)
{
	memset(rt, 0, sizeof(*rt));
	pid_t mon = 0, init = 0;
	time_t started = 0;
	bool mon_alive = monitor_alive(p, inst->name, &mon, &started);
	bool state_exists, created_only;
	bool alive = init_alive(p, inst->name, &init, &state_exists, &created_only);
	if (mon_alive)
		rt->monitor_pid = mon;
	if (alive)
		rt->init_pid = init;
	rt->started = started;
	if (mon_alive && alive)
		rt->status = created_only ? INSTANCE_STARTING : INSTANCE_RUNNING;
	else if (mon_alive)
		rt->status = state_exists ? INSTANCE_STOPPING : INSTANCE_STARTING;
	else if (alive)
		rt->status = INSTANCE_ORPHANED;
	else
		rt->status = INSTANCE_STOPPED;
	if (rt->status == INSTANCE_STOPPED) {
		_cleanup_free_ char *pidfile = instance_monitor_path(p, inst->name);
		struct network_attachment *att = NULL;
		size_t n_att = 0;
		struct hangar_error ignored;
		if (network_get_attachments(p->network_dir, inst->name, &att, &n_att, &ignored) == 0)
			network_attachments_free(att, n_att);
		rt->leftovers = state_exists || path_is_mountpoint(inst->rootfs) || access(pidfile, F_OK) == 0 ||
				n_att > 0 || instance_net_helper_recorded(p, inst->name);
	}
	rt->has_exit = instance_read_exit_status(inst, &rt->exit_code, &rt->finished) == 0;
	return 0;
}

int instance_cleanup(const struct hangar_paths *p, const struct instance *inst, struct hangar_error *err)
{
	pid_t mon = 0;
	if (monitor_alive(p, inst->name, &mon, NULL) && mon != getpid())
		return hangar_error_set(err, HANGAR_E_STATE, 0, "instance %s: its monitor (pid %d) is still running",
					inst->name, (int)mon);
	bool state_exists;
	pid_t init = 0;
	if (init_alive(p, inst->name, &init, &state_exists, NULL))
		return hangar_error_set(err, HANGAR_E_STATE, 0, "instance %s: its init (pid %d) is still running",
					inst->name, (int)init);
	/* A run that got as far as a monitor or a container but recorded no
	 * exit status died with its monitor: its exit status is unknown. */
	_cleanup_free_ char *pidfile = instance_monitor_path(p, inst->name);
	_cleanup_free_ char *status_path = xasprintf("%s/status.json", inst->dir);
	struct hangar_error ignored;
	if ((state_exists || access(pidfile, F_OK) == 0) && access(status_path, F_OK) < 0 && errno == ENOENT)
		instance_write_exit_status(inst, 255, &ignored);
	int rc = 0;
	struct hangar_error step;
	hangar_error_clear(&step);
	if (state_exists && container_delete(p->oci_root, instance_container_id(inst), true, &step) < 0 &&
	    step.code != HANGAR_E_NOTFOUND) {
		*err = step;
		rc = -1;
	}
	instance_net_helper_stop(p, inst->name);
	if (instance_network_detach(p, inst, &step) < 0 && rc == 0) {
		*err = step;
		rc = -1;
	}
	if (instance_umount_rootfs(inst, &step) < 0 && rc == 0) {
		*err = step;
		rc = -1;
	}
	_cleanup_free_ char *sock = instance_console_socket_path(p, inst->name);
	_cleanup_free_ char *run_dir = instance_run_dir(p, inst->name);
	_cleanup_free_ char *net_dir = xasprintf("%s/net", run_dir);
	unlink(sock);
	unlink(pidfile);
	rm_rf(net_dir, &ignored);
	rmdir(run_dir);
	return rc;
}

int instance_start(const struct hangar_paths *p, const char *name, const struct instance_start_opts *o,
		   struct hangar_error *err)
{
	static const struct instance_start_opts defaults;
	if (o == NULL)
		o = &defaults;
	struct instance *inst = NULL;
	if (instance_load(p, name, &inst, err) < 0)
		return -1;
	int rc = -1;
	_cleanup_close_ int lock = -1;
	lock = hangar_lock_instance(p, name, err);
	if (lock < 0)
		goto out;
	struct instance_runtime rt;
	if (instance_get_runtime(p, inst, &rt, err) < 0)
		goto out;
	if (rt.status == INSTANCE_ORPHANED) {
		hangar_error_set(err, HANGAR_E_STATE, 0,
				 "instance %s is running without its monitor (killed?): stop or destroy it first", name);
		goto out;
	}
	if (rt.status != INSTANCE_STOPPED) {
		hangar_error_set(err, HANGAR_E_STATE, 0, "instance %s is already running (%s)", name,
				 instance_status_name(rt.status));
		goto out;
	}
	if (rt.leftovers && instance_cleanup(p, inst, err) < 0)
		goto out;
	/* The last run's exit status must not pass for this run's: only this
	 * run's monitor (or the cleanup after it died) records one. */
	char *status_path = xasprintf("%s/status.json", inst->dir);
	int unlinked = unlink(status_path) == 0 || errno == ENOENT;
	if (!unlinked)
		hangar_sys_error(err, "start %s: remove %s", name, status_path);
	free(status_path);
	if (!unlinked)
		goto out;
	/* Leases of instances that died with their monitors. */
	struct network_gc_stats gc;
	struct hangar_error ignored;
	if (strcmp(inst->networks[0], "none") != 0 && strcmp(inst->networks[0], "host") != 0 &&
	    !instance_network_is_rootless_helper(p, inst->networks[0]))
		network_gc(p->network_dir, &gc, &ignored);
	rc = monitor_spawn(p, name, o, err);
	if (rc < 0 && !str_has_prefix(err->msg, "instance "))
		hangar_error_prefix(err, "start %s", name);
out:
	instance_free(inst);
	return rc;
}

static bool wait_until(const struct hangar_paths *p, const struct instance *inst, bool want_init_gone,
		       int timeout_ms)
{
	for (int waited = 0;; waited += 50) {
		struct instance_runtime rt;
		struct hangar_error ignored;
		instance_get_runtime(p, inst, &rt, &ignored);
		bool done = want_init_gone ? rt.init_pid == 0 : rt.monitor_pid == 0;
		if (done)
			return true;
		if (waited >= timeout_ms)
			return false;
		usleep(50000);
	}
}

static int stop_locked(const struct hangar_paths *p, struct instance *inst, int timeout_s, struct hangar_error *err)
{
	struct instance_runtime rt;
	if (instance_get_runtime(p, inst, &rt, err) < 0)
		return -1;
	const char *id = instance_container_id(inst);
	if (rt.init_pid) {
		struct hangar_error ignored;
		bool held = rt.status == INSTANCE_STARTING;
		/* A container still waiting to start has no init to ask nicely. */
		if (held || timeout_s <= 0 || container_kill(p->oci_root, id, instance_stop_signal(inst), false, &ignored) < 0 ||
		    !wait_until(p, inst, true, timeout_s * 1000)) {
			if (container_kill(p->oci_root, id, SIGKILL, true, err) < 0 && !wait_until(p, inst, true, 0))
				return hangar_error_prefix(err, "stop %s", inst->name);
			if (!wait_until(p, inst, true, 10000))
				return hangar_error_set(err, HANGAR_E_STATE, 0,
							"stop %s: init %d did not exit after SIGKILL", inst->name,
							(int)rt.init_pid);
		}
	}
	/* The monitor records the exit status and cleans up after the init.
	 * One that hangs (it should not) is killed: its cleanup is
	 * idempotent and done below instead. */
	if (rt.monitor_pid && !wait_until(p, inst, false, 15000)) {
		pid_t mon;
		if (monitor_alive(p, inst->name, &mon, NULL) && mon == rt.monitor_pid)
			kill(mon, SIGKILL);
		if (!wait_until(p, inst, false, 5000))
			return hangar_error_set(err, HANGAR_E_STATE, 0, "stop %s: monitor %d did not finish",
						inst->name, (int)rt.monitor_pid);
	}
	if (rt.status == INSTANCE_ORPHANED) {
		struct hangar_error ignored;
		/* Nobody reaped it: the exit status is unknown. */
		instance_write_exit_status(inst, 255, &ignored);
	}
	if (instance_get_runtime(p, inst, &rt, err) < 0)
		return -1;
	if (rt.leftovers)
		return instance_cleanup(p, inst, err);
	return 0;
}

int instance_stop(const struct hangar_paths *p, const char *name, int timeout_s, struct hangar_error *err)
{
	struct instance *inst = NULL;
	if (instance_load(p, name, &inst, err) < 0)
		return -1;
	int rc = -1;
	_cleanup_close_ int lock = hangar_lock_instance(p, name, err);
	if (lock >= 0)
		rc = stop_locked(p, inst, timeout_s, err);
	instance_free(inst);
	return rc;
}

int instance_destroy(const struct hangar_paths *p, const char *name, bool force, struct hangar_error *err)
{
	if (instance_validate_name(name, err) < 0)
		return -1;
	_cleanup_close_ int global = hangar_lock_global(p, err);
	if (global < 0)
		return -1;
	struct instance *inst = NULL;
	if (instance_load(p, name, &inst, err) < 0)
		return -1;
	int rc = -1;
	_cleanup_free_ char *doomed = NULL, *lock_path = NULL;
	_cleanup_close_ int lock = hangar_lock_instance(p, name, err);
	if (lock < 0)
		goto out;
	struct instance_runtime rt;
	if (instance_get_runtime(p, inst, &rt, err) < 0)
		goto out;
	if (rt.status != INSTANCE_STOPPED && !force) {
		hangar_error_set(err, HANGAR_E_STATE, 0, "instance %s is %s: stop it first or use --force", name,
				 instance_status_name(rt.status));
		goto out;
	}
	if (stop_locked(p, inst, 0, err) < 0)
		goto out;
	if (instance_cleanup(p, inst, err) < 0)
		goto out;
	if (path_is_mountpoint(inst->rootfs)) {
		hangar_error_set(err, HANGAR_E_STATE, 0, "destroy %s: %s is still mounted", name, inst->rootfs);
		goto out;
	}
	/* Rename first: a half-removed instance must not look like one. */
	doomed = xasprintf("%s/.%s.destroy.%d", p->instances_dir, name, (int)getpid());
	if (rename(inst->dir, doomed) < 0) {
		hangar_sys_error(err, "destroy %s: rename %s", name, inst->dir);
		goto out;
	}
	if (hangar_rm_rf(p, doomed, err) < 0) {
		hangar_error_prefix(err, "destroy %s", name);
		goto out;
	}
	lock_path = xasprintf("%s/%s.lock", p->run_instances_dir, name);
	unlink(lock_path);
	rc = 0;
out:
	instance_free(inst);
	return rc;
}

int instance_set_limits(const struct hangar_paths *p, const char *name, const struct instance_limits *l, bool save,
			struct hangar_error *err)
{
	struct instance *inst = NULL;
	/* Loaded once to refuse a bad or unknown name before making its lock
	 * file, and again under the lock: a concurrent `set --save` that
	 * loaded before it would write back limits without this one's. */
	if (instance_load(p, name, &inst, err) < 0)
		return -1;
	instance_free(inst);
	inst = NULL;
	_cleanup_close_ int lock = hangar_lock_instance(p, name, err);
	if (lock < 0)
		return -1;
	if (instance_load(p, name, &inst, err) < 0)
		return -1;
	int rc = -1;
	struct oci_resources r;
	memset(&r, 0, sizeof(r));
	_cleanup_free_ char *not_live = NULL;
	struct instance_runtime rt;
	if (instance_get_runtime(p, inst, &rt, err) < 0)
		goto out;
	bool running = rt.status == INSTANCE_RUNNING || rt.status == INSTANCE_ORPHANED;
	if (!running && !save) {
		hangar_error_set(err, HANGAR_E_STATE, 0,
				 "instance %s is not running: use --save to change the limits for its next start", name);
		goto out;
	}
	if (instance_limits_to_oci(l, &r, err) < 0)
		goto out;
	/* A user without a delegated cgroup: live is impossible, but --save
	 * still records the limits (they apply once the instance starts where
	 * there is one); the reason comes back as a warning. */
	if (running && container_update_resources(p->oci_root, instance_container_id(inst), &r, err) < 0) {
		if (!(save && p->rootless && err->code == HANGAR_E_UNSUPPORTED)) {
			hangar_error_prefix(err, "set %s", name);
			goto out;
		}
		not_live = xstrdup(err->msg);
		hangar_error_clear(err);
	}
	if (save) {
		instance_limits_merge(&inst->limits, l);
		if (instance_write_config(p, inst, err) < 0 || instance_save(inst, err) < 0)
			goto out;
	}
	if (not_live)
		hangar_error_set(err, HANGAR_OK, 0,
				 "warning: set %s: saved for the next start, not applied now: %s", name,
				 not_live);
	rc = 0;
out:
	oci_resources_clear(&r);
	instance_free(inst);
	return rc;
}
