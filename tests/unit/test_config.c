/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config/: every field of a full config.json, round trips, the default spec. */
#include <fcntl.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/util.h"
#include "config/oci.h"
#include "tap.h"

static char *fixture_path(const char *name)
{
	const char *top = getenv("TOP");
	return xasprintf("%s/tests/unit/fixtures/%s", top ? top : ".", name);
}

static struct oci_config *load_full(void)
{
	struct hangar_error err = {0};
	struct oci_config *cfg = NULL;
	char *path = fixture_path("config-full.json");
	int r = oci_config_load(path, &cfg, &err);
	ok(r == 0, "load %s%s%s", path, r ? ": " : "", r ? err.msg : "");
	free(path);
	return r == 0 ? cfg : NULL;
}

static bool strv_equals(char **v, size_t n, const char *const *want)
{
	size_t i;
	for (i = 0; want[i]; i++)
		if (i >= n || v == NULL || strcmp(v[i], want[i]) != 0)
			return false;
	return i == n && v[n] == NULL;
}

static void check_process(const struct oci_process *p)
{
	ok(p->terminal, "process.terminal");
	ok(p->has_console_size && p->console_height == 25 && p->console_width == 80,
	   "process.consoleSize 25x80");
	ok(p->user.uid == 1000 && p->user.gid == 1001, "process.user uid/gid");
	ok(p->user.has_umask && p->user.umask == 022, "process.user.umask 022");
	ok(p->user.n_additional_gids == 3 && p->user.additional_gids[0] == 5 &&
	       p->user.additional_gids[2] == 4294967295u,
	   "process.user.additionalGids incl. 2^32-1");
	ok(strv_equals(p->args, p->n_args, (const char *const[]){"/bin/sh", "-c", "echo hello", NULL}),
	   "process.args");
	ok(p->n_env == 3 && strcmp(p->env[2], "EMPTY=") == 0 && p->env[3] == NULL,
	   "process.env NULL-terminated");
	is_str(p->cwd, "/srv", "process.cwd");
	ok(p->caps.present, "process.capabilities present");
	ok(p->caps.n_bounding == 3 && strcmp(p->caps.bounding[2], "CAP_NET_BIND_SERVICE") == 0,
	   "capabilities.bounding");
	ok(p->caps.n_effective == 2, "capabilities.effective");
	ok(p->caps.n_inheritable == 1 && strcmp(p->caps.inheritable[0], "CAP_CHOWN") == 0,
	   "capabilities.inheritable");
	ok(p->caps.n_permitted == 3, "capabilities.permitted");
	ok(p->caps.n_ambient == 1, "capabilities.ambient");
	ok(p->n_rlimits == 2, "two rlimits");
	ok(p->rlimits[0].resource == RLIMIT_NOFILE && p->rlimits[0].hard == 1024 && p->rlimits[0].soft == 512,
	   "rlimits[0] RLIMIT_NOFILE resolved");
	ok(p->rlimits[1].resource == RLIMIT_CORE && p->rlimits[1].hard == UINT64_MAX &&
	       p->rlimits[1].soft == 0,
	   "rlimits[1] RLIMIT_CORE hard = 2^64-1");
	ok(p->no_new_privileges, "noNewPrivileges");
	is_str(p->apparmor_profile, "hangar-default", "apparmorProfile");
	ok(p->has_oom_score_adj && p->oom_score_adj == -500, "oomScoreAdj -500");
	is_str(p->selinux_label, "system_u:system_r:svirt_lxc_net_t:s0:c124,c675", "selinuxLabel");
	ok(p->io_priority.present && p->io_priority.class_ == 2 && p->io_priority.priority == 4,
	   "ioPriority BE/4");
	ok(p->scheduler.present && p->scheduler.policy_num == 6 && p->scheduler.nice == -5 &&
	       p->scheduler.priority == 10,
	   "scheduler SCHED_DEADLINE nice -5 prio 10");
	ok(p->scheduler.n_flags == 2 && p->scheduler.runtime == 10000000 &&
	       p->scheduler.deadline == 20000000 && p->scheduler.period == 30000000,
	   "scheduler flags/runtime/deadline/period");
}

static void check_top(const struct oci_config *cfg)
{
	is_str(cfg->oci_version, "1.2.0", "ociVersion");
	ok(cfg->has_root && cfg->root.readonly, "root readonly");
	is_str(cfg->root.path, "rootfs", "root.path");
	is_str(cfg->hostname, "web1", "hostname");
	is_str(cfg->domainname, "example.test", "domainname");
	ok(cfg->n_mounts == 3, "three mounts");
	ok(cfg->mounts[0].options == NULL && cfg->mounts[0].n_options == 0, "/proc mount has no options");
	is_str(cfg->mounts[1].destination, "/dev", "mounts[1].destination");
	ok(cfg->mounts[1].n_options == 4 && strcmp(cfg->mounts[1].options[3], "size=65536k") == 0,
	   "mounts[1].options");
	is_str(cfg->mounts[2].source, "/srv/data", "mounts[2].source");
	is_str(cfg->mounts[2].type, "bind", "mounts[2].type");
	ok(cfg->mounts[2].n_uid_mappings == 1 && cfg->mounts[2].uid_mappings[0].host_id == 100000 &&
	       cfg->mounts[2].uid_mappings[0].size == 65536,
	   "mounts[2].uidMappings (idmapped mount)");
	ok(cfg->mounts[2].n_gid_mappings == 1 && cfg->mounts[2].gid_mappings[0].host_id == 200000,
	   "mounts[2].gidMappings");

	const struct oci_hooks *h = &cfg->hooks;
	ok(h->n_prestart == 1 && h->prestart[0].n_args == 2 && h->prestart[0].n_env == 1,
	   "hooks.prestart args/env");
	ok(h->n_create_runtime == 1 && h->create_runtime[0].has_timeout && h->create_runtime[0].timeout == 5,
	   "hooks.createRuntime timeout");
	ok(h->n_create_container == 1 && !h->create_container[0].has_timeout &&
	       h->create_container[0].args == NULL,
	   "hooks.createContainer without args");
	ok(h->n_start_container == 1, "hooks.startContainer");
	ok(h->n_poststart == 2, "hooks.poststart two entries");
	ok(h->n_poststop == 1 && strcmp(h->poststop[0].path, "/usr/sbin/cleanup.sh") == 0, "hooks.poststop");

	ok(cfg->n_annotations == 2, "two annotations");
	is_str(oci_config_annotation(cfg, "org.hangar.instance"), "web1", "annotation lookup");
	ok(oci_config_annotation(cfg, "missing") == NULL, "missing annotation is NULL");
}

static void check_linux(const struct oci_config *cfg)
{
	const struct oci_linux *lx = &cfg->linux_;
	ok(cfg->has_linux, "linux present");
	ok(lx->n_namespaces == 8, "eight namespaces");
	const struct oci_namespace *net = oci_config_namespace(cfg, OCI_NS_NETWORK);
	ok(net && net->path && strcmp(net->path, "/var/run/netns/web1") == 0, "network ns path");
	ok(oci_config_namespace(cfg, OCI_NS_TIME) != NULL, "time namespace");
	ok(oci_config_namespace(cfg, OCI_NS_PID)->path == NULL, "pid ns is new");
	ok(lx->n_uid_mappings == 1 && lx->uid_mappings[0].host_id == 1000 &&
	       lx->uid_mappings[0].size == 32000,
	   "linux.uidMappings");
	ok(lx->n_gid_mappings == 1, "linux.gidMappings");
	ok(lx->time_offsets_monotonic.present && lx->time_offsets_monotonic.secs == 172800,
	   "timeOffsets.monotonic");
	ok(lx->time_offsets_boottime.present && lx->time_offsets_boottime.secs == -86400 &&
	       lx->time_offsets_boottime.nanosecs == 500,
	   "timeOffsets.boottime negative secs");
	ok(lx->n_devices == 3, "three devices");
	ok(lx->devices[0].type == 'c' && lx->devices[0].major == 10 && lx->devices[0].minor == 229 &&
	       lx->devices[0].has_file_mode && lx->devices[0].file_mode == 0666 && lx->devices[0].has_uid &&
	       lx->devices[0].has_gid,
	   "devices[0] /dev/fuse");
	ok(lx->devices[1].type == 'b' && !lx->devices[1].has_file_mode, "devices[1] block");
	ok(lx->devices[2].type == 'p', "devices[2] fifo without numbers");
	is_str(lx->cgroups_path, "/hangar/web1", "cgroupsPath");

	const struct oci_resources *r = &lx->resources;
	ok(r->present && r->n_devices == 3, "resources.devices");
	ok(!r->devices[0].allow && r->devices[0].type == 0 && !r->devices[0].has_major,
	   "deny-all device rule");
	ok(r->devices[2].allow && r->devices[2].type == 'b' && r->devices[2].has_minor &&
	       r->devices[2].minor == -1,
	   "device rule with wildcard minor -1");
	const struct oci_memory *m = &r->memory;
	ok(m->present && m->has_limit && m->limit == 536870912, "memory.limit");
	ok(m->has_reservation && m->reservation == 268435456, "memory.reservation");
	ok(m->has_swap && m->swap == -1, "memory.swap -1 kept as unlimited");
	ok(m->has_kernel && m->kernel == -1 && m->has_kernel_tcp && m->kernel_tcp == 67108864,
	   "memory.kernel/kernelTCP");
	ok(m->has_swappiness && m->swappiness == 60, "memory.swappiness");
	ok(m->has_disable_oom_killer && !m->disable_oom_killer, "memory.disableOOMKiller false but set");
	ok(m->has_use_hierarchy && m->use_hierarchy && m->has_check_before_update && m->check_before_update,
	   "memory.useHierarchy/checkBeforeUpdate");
	const struct oci_cpu *c = &r->cpu;
	ok(c->present && c->shares == 1024 && c->quota == 150000 && c->burst == 20000 && c->period == 100000,
	   "cpu shares/quota/burst/period");
	ok(c->realtime_runtime == 950000 && c->realtime_period == 1000000, "cpu realtime");
	ok(c->cpus && strcmp(c->cpus, "0-1") == 0 && c->mems && strcmp(c->mems, "0") == 0, "cpu cpus/mems");
	ok(c->has_idle && c->idle == 1, "cpu.idle");
	ok(r->has_pids_limit && r->pids_limit == 32771, "pids.limit");
	const struct oci_blkio *b = &r->blkio;
	ok(b->present && b->weight == 500 && b->leaf_weight == 300, "blockIO weight/leafWeight");
	ok(b->n_weight_device == 2 && b->weight_device[0].weight == 700 &&
	       b->weight_device[0].has_leaf_weight && !b->weight_device[1].has_leaf_weight,
	   "blockIO.weightDevice");
	ok(b->n_throttle_read_bps == 1 && b->throttle_read_bps[0].rate == 600, "throttleReadBpsDevice");
	ok(b->n_throttle_write_bps == 1 && b->throttle_write_bps[0].rate == UINT64_MAX &&
	       b->throttle_write_bps[0].minor == 16,
	   "throttleWriteBpsDevice rate 2^64-1");
	ok(b->n_throttle_read_iops == 1 && b->throttle_read_iops[0].rate == 300, "throttleReadIOPSDevice");
	ok(b->n_throttle_write_iops == 1 && b->throttle_write_iops[0].rate == 400, "throttleWriteIOPSDevice");
	ok(r->n_hugepage_limits == 2 && strcmp(r->hugepage_limits[1].page_size, "1GB") == 0 &&
	       r->hugepage_limits[1].limit == 1073741824,
	   "hugepageLimits");
	ok(r->has_network && r->has_class_id && r->class_id == 1048577 && r->n_net_priorities == 2 &&
	       r->net_priorities[1].priority == 1000,
	   "network classID/priorities");
	ok(r->n_rdma == 2 && strcmp(r->rdma[0].device, "mlx5_1") == 0 && r->rdma[0].hca_handles == 3 &&
	       r->rdma[0].hca_objects == 10000 && !r->rdma[1].has_hca_handles && r->rdma[1].has_hca_objects,
	   "rdma map");
	ok(r->n_unified == 2 && strcmp(r->unified[1].key, "io.weight") == 0 &&
	       strcmp(r->unified[1].value, "default 100") == 0,
	   "unified map");

	is_str(lx->rootfs_propagation, "rslave", "rootfsPropagation");
	const struct oci_seccomp *s = &lx->seccomp;
	ok(s->present && s->default_action_num == SCMP_ACT_ERRNO(0), "seccomp.defaultAction ERRNO");
	ok(s->has_default_errno_ret && s->default_errno_ret == 1, "seccomp.defaultErrnoRet");
	ok(s->n_architectures == 4 && s->n_flags == 2, "seccomp architectures/flags");
	is_str(s->listener_path, "/run/seccomp-agent.sock", "seccomp.listenerPath");
	is_str(s->listener_metadata, "agent-metadata", "seccomp.listenerMetadata");
	ok(s->n_syscalls == 6, "six syscall rules");
	ok(s->syscalls[0].n_names == 3 && s->syscalls[0].action_num == SCMP_ACT_ALLOW,
	   "unknown syscall name accepted");
	ok(s->syscalls[1].n_args == 1 && s->syscalls[1].args[0].op_num == SCMP_CMP_EQ &&
	       s->syscalls[1].args[0].value == 8,
	   "arg op EQ");
	ok(s->syscalls[2].has_errno_ret && s->syscalls[2].errno_ret == 38 &&
	       s->syscalls[2].args[0].index == 5 && s->syscalls[2].args[0].op_num == SCMP_CMP_MASKED_EQ,
	   "errnoRet and MASKED_EQ");
	ok(s->syscalls[3].action_num == SCMP_ACT_NOTIFY, "action NOTIFY");
	ok(s->syscalls[4].action_num == SCMP_ACT_KILL_PROCESS, "action KILL_PROCESS");
	ok(s->syscalls[5].action_num == SCMP_ACT_LOG, "action LOG");
	ok(lx->n_sysctl == 2 && strcmp(lx->sysctl[0].key, "net.ipv4.ip_forward") == 0, "sysctl");
	ok(lx->has_masked_paths && lx->n_masked_paths == 2, "maskedPaths");
	ok(lx->has_readonly_paths && lx->n_readonly_paths == 2, "readonlyPaths");
	ok(lx->mount_label != NULL, "mountLabel");
	ok(lx->intel_rdt.present && strcmp(lx->intel_rdt.clos_id, "guaranteed_group") == 0 &&
	       lx->intel_rdt.enable_cmt && !lx->intel_rdt.enable_mbm,
	   "intelRdt");
	ok(lx->personality.present && strcmp(lx->personality.domain, "LINUX32") == 0 &&
	       lx->personality.n_flags == 0 && lx->personality.flags != NULL,
	   "personality LINUX32 with empty flags");
}

static void check_everything(const struct oci_config *cfg)
{
	check_top(cfg);
	check_process(&cfg->process);
	check_linux(cfg);
}

static void test_round_trip(const struct oci_config *cfg, const char *what)
{
	struct hangar_error err = {0};
	struct oci_config *again = NULL;
	char *json = oci_config_to_json(cfg);
	int r = oci_config_parse(json, &again, &err);
	ok(r == 0, "%s: to_json output parses%s%s", what, r ? ": " : "", r ? err.msg : "");
	if (r == 0) {
		ok(oci_config_equal(cfg, again), "%s: parse(to_json(x)) equals x", what);
		char *json2 = oci_config_to_json(again);
		is_str(json2, json, "%s: parse(to_json(x)) serialises identically", what);
		free(json2);
		oci_config_free(again);
	}
	ok(strstr(json, "\\/") == NULL, "%s: slashes are not escaped", what);
	free(json);
}

static void test_full_round_trip(const struct oci_config *cfg)
{
	struct hangar_error err = {0};
	struct oci_config *again = NULL;
	char *json = oci_config_to_json(cfg);
	if (oci_config_parse(json, &again, &err) < 0) {
		ok(0, "round trip parse: %s", err.msg);
		free(json);
		return;
	}
	diag("every field again, on the round-tripped config");
	check_everything(again);
	oci_config_free(again);
	free(json);
}

/* process.json and resources.json written alone read back the same. */
static void test_section_round_trips(const struct oci_config *cfg)
{
	struct hangar_error err = {0};
	struct oci_process p;
	struct oci_resources r;

	char *json = oci_process_to_json(&cfg->process);
	int rc = oci_process_parse(json, &p, &err);
	ok(rc == 0, "process section round trip parses%s%s", rc ? ": " : "", rc ? err.msg : "");
	if (rc == 0) {
		check_process(&p);
		ok(oci_process_equal(&p, &cfg->process), "process section equals the original");
		char *again = oci_process_to_json(&p);
		is_str(again, json, "process section serialises identically");
		free(again);
		oci_process_clear(&p);
	}
	free(json);

	json = oci_resources_to_json(&cfg->linux_.resources);
	rc = oci_resources_parse(json, &r, &err);
	ok(rc == 0, "resources section round trip parses%s%s", rc ? ": " : "", rc ? err.msg : "");
	if (rc == 0) {
		ok(r.memory.limit == 536870912 && r.memory.swap == -1 && r.cpu.idle == 1 &&
		       r.blkio.throttle_write_bps[0].rate == UINT64_MAX && r.n_rdma == 2 &&
		       r.n_unified == 2 && r.n_devices == 3,
		   "resources section fields survive");
		ok(oci_resources_equal(&r, &cfg->linux_.resources), "resources section equals the original");
		char *again = oci_resources_to_json(&r);
		is_str(again, json, "resources section serialises identically");
		free(again);
		oci_resources_clear(&r);
	}
	free(json);
}

/* oci_config_equal must notice a change anywhere, including absent vs empty. */
static void test_equal_detects_changes(void)
{
	struct hangar_error err = {0};
	struct oci_config *a = NULL, *b = NULL;
	char *path = fixture_path("config-full.json");
	if (oci_config_load(path, &a, &err) < 0 || oci_config_load(path, &b, &err) < 0) {
		ok(0, "load fixture twice: %s", err.msg);
		free(path);
		oci_config_free(a);
		return;
	}
	free(path);
	ok(oci_config_equal(a, b), "two parses of one file are equal");

	b->linux_.resources.memory.limit++;
	ok(!oci_config_equal(a, b), "a changed memory limit is noticed");
	b->linux_.resources.memory.limit--;
	b->linux_.seccomp.syscalls[2].args[0].value_two = 1;
	ok(!oci_config_equal(a, b), "a changed seccomp valueTwo is noticed");
	b->linux_.seccomp.syscalls[2].args[0].value_two = 0;
	b->process.caps.n_ambient = 0;
	ok(!oci_config_equal(a, b), "a shorter capability set is noticed");
	b->process.caps.n_ambient = 1;
	free(b->hooks.poststop[0].args[1]);
	b->hooks.poststop[0].args[1] = xstrdup("-g");
	ok(!oci_config_equal(a, b), "a changed hook argument is noticed");
	free(b->hooks.poststop[0].args[1]);
	b->hooks.poststop[0].args[1] = xstrdup("-f");
	ok(oci_config_equal(a, b), "equal again after undoing the changes");
	b->linux_.intel_rdt.enable_mbm = true;
	ok(!oci_config_equal(a, b), "intelRdt.enableMBM is compared");
	b->linux_.intel_rdt.enable_mbm = false;
	strv_free(b->linux_.personality.flags);
	b->linux_.personality.flags = NULL;
	ok(!oci_config_equal(a, b), "absent and empty personality.flags differ");
	oci_config_free(a);
	oci_config_free(b);
}

static void test_default(bool rootless)
{
	struct hangar_error err = {0};
	struct oci_config *cfg = NULL;
	const char *tag = rootless ? "rootless default" : "default";

	ok(oci_config_default(rootless, &cfg, &err) == 0, "%s: created", tag);
	is_str(cfg->oci_version, OCI_RUNTIME_SPEC_VERSION, "%s: ociVersion", tag);
	ok(cfg->process.terminal, "%s: terminal", tag);
	ok(strv_equals(cfg->process.args, cfg->process.n_args, (const char *const[]){"sh", NULL}),
	   "%s: args [sh]", tag);
	ok(cfg->process.n_env == 2 && strcmp(cfg->process.env[1], "TERM=xterm") == 0, "%s: env", tag);
	is_str(cfg->process.cwd, "/", "%s: cwd", tag);
	const char *const caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL};
	ok(strv_equals(cfg->process.caps.bounding, cfg->process.caps.n_bounding, caps) &&
	       strv_equals(cfg->process.caps.effective, cfg->process.caps.n_effective, caps) &&
	       strv_equals(cfg->process.caps.permitted, cfg->process.caps.n_permitted, caps),
	   "%s: bounding/effective/permitted caps", tag);
	ok(cfg->process.caps.ambient == NULL && cfg->process.caps.inheritable == NULL,
	   "%s: no ambient/inheritable (as runc)", tag);
	ok(cfg->process.n_rlimits == 1 && cfg->process.rlimits[0].resource == RLIMIT_NOFILE &&
	       cfg->process.rlimits[0].hard == 1024 && cfg->process.rlimits[0].soft == 1024,
	   "%s: RLIMIT_NOFILE 1024/1024", tag);
	ok(cfg->process.no_new_privileges, "%s: noNewPrivileges", tag);
	ok(cfg->has_root && cfg->root.readonly && strcmp(cfg->root.path, "rootfs") == 0, "%s: root rootfs ro",
	   tag);
	is_str(cfg->hostname, "hangar", "%s: hostname", tag);

	/* Rootless drops /sys/fs/cgroup (runc keeps it; see oci_default.c). */
	const char *const dests[] = {"/proc",	    "/dev", "/dev/pts",	      "/dev/shm",
				     "/dev/mqueue", "/sys", "/sys/fs/cgroup", NULL};
	size_t want_mounts = rootless ? 6 : 7;
	bool dests_ok = cfg->n_mounts == want_mounts;
	for (size_t i = 0; dests_ok && i < want_mounts; i++)
		dests_ok = strcmp(cfg->mounts[i].destination, dests[i]) == 0;
	ok(dests_ok, "%s: the %zu standard mounts in runc's order", tag, want_mounts);
	const struct oci_mount *pts = &cfg->mounts[2];
	bool has_gid5 = false;
	for (size_t i = 0; i < pts->n_options; i++)
		has_gid5 = has_gid5 || strcmp(pts->options[i], "gid=5") == 0;
	ok(has_gid5 == !rootless, "%s: devpts gid=5 %s", tag, rootless ? "removed" : "present");
	const struct oci_mount *sys = &cfg->mounts[5];
	if (rootless)
		ok(strcmp(sys->type, "none") == 0 && strcmp(sys->source, "/sys") == 0 &&
		       strv_equals(sys->options, sys->n_options,
				   (const char *const[]){"rbind", "nosuid", "noexec", "nodev", "ro", NULL}),
		   "%s: /sys is a read-only rbind", tag);
	else
		ok(strcmp(sys->type, "sysfs") == 0 && sys->n_options == 4, "%s: /sys is sysfs ro", tag);

	struct statfs fs;
	bool cgroup2 = statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == 0x63677270;
	ok(oci_config_namespace(cfg, OCI_NS_PID) && oci_config_namespace(cfg, OCI_NS_IPC) &&
	       oci_config_namespace(cfg, OCI_NS_UTS) && oci_config_namespace(cfg, OCI_NS_MOUNT),
	   "%s: pid ipc uts mount namespaces", tag);
	ok((oci_config_namespace(cfg, OCI_NS_CGROUP) != NULL) == cgroup2,
	   "%s: cgroup namespace iff the host is cgroup v2 (%s)", tag, cgroup2 ? "v2" : "not v2");
	ok((oci_config_namespace(cfg, OCI_NS_NETWORK) != NULL) == !rootless, "%s: network namespace %s", tag,
	   rootless ? "dropped" : "present");
	ok((oci_config_namespace(cfg, OCI_NS_USER) != NULL) == rootless, "%s: user namespace %s", tag,
	   rootless ? "present" : "absent");
	if (rootless) {
		const struct oci_linux *lx = &cfg->linux_;
		ok(lx->n_uid_mappings == 1 && lx->uid_mappings[0].container_id == 0 &&
		       lx->uid_mappings[0].host_id == geteuid() && lx->uid_mappings[0].size == 1,
		   "%s: uid map 0 -> euid, size 1", tag);
		ok(lx->n_gid_mappings == 1 && lx->gid_mappings[0].host_id == getegid(),
		   "%s: gid map 0 -> egid", tag);
		ok(!lx->resources.present, "%s: no cgroup resources", tag);
	} else {
		const struct oci_resources *r = &cfg->linux_.resources;
		ok(r->present && r->n_devices == 1 && !r->devices[0].allow &&
		       strcmp(r->devices[0].access, "rwm") == 0,
		   "%s: device cgroup denies all", tag);
		ok(cfg->linux_.uid_mappings == NULL, "%s: no uid mappings", tag);
	}
	ok(cfg->linux_.n_masked_paths == 11 && strcmp(cfg->linux_.masked_paths[2], "/proc/kcore") == 0,
	   "%s: runc's masked paths", tag);
	ok(cfg->linux_.n_readonly_paths == 5 &&
	       strcmp(cfg->linux_.readonly_paths[4], "/proc/sysrq-trigger") == 0,
	   "%s: runc's read-only paths", tag);
	test_round_trip(cfg, tag);
	oci_config_free(cfg);
}

static void test_minimal(void)
{
	struct hangar_error err = {0};
	struct oci_config *cfg = NULL;
	ok(oci_config_parse("{\"ociVersion\": \"1.0.2\"}", &cfg, &err) == 0, "minimal config parses");
	ok(cfg && !cfg->has_process && !cfg->has_root && !cfg->has_linux && cfg->n_mounts == 0,
	   "minimal config: nothing else present");
	if (cfg) {
		ok(oci_config_namespace(cfg, OCI_NS_PID) == NULL, "no namespaces in minimal config");
		test_round_trip(cfg, "minimal");
	}
	oci_config_free(cfg);

	cfg = NULL;
	ok(oci_config_parse("{\"ociVersion\": \"1.0.0\", \"hostname\": null, \"process\": {\"args\": "
			    "[\"x\"], \"cwd\": \"/\", \"user\": null}, \"linux\": {\"resources\": "
			    "{\"memory\": {\"limit\": null}}}}",
			    &cfg, &err) == 0,
	   "null values are treated as absent%s%s", err.msg[0] ? ": " : "", err.msg);
	ok(cfg && cfg->hostname == NULL && cfg->linux_.resources.memory.present &&
	       !cfg->linux_.resources.memory.has_limit,
	   "null hostname and limit stay unset");
	oci_config_free(cfg);

	cfg = NULL;
	ok(oci_config_parse("{\"ociVersion\": \"1.0.0\", \"x-vendor\": {\"a\": [1, {}]}, \"process\": "
			    "{\"args\": [\"x\"], \"cwd\": \"/\", \"unknownKnob\": 3.5}, \"linux\": "
			    "{\"netDevices\": {\"eth9\": {}}, \"resources\": {\"memory\": "
			    "{\"futureLimit\": \"x\"}}}}",
			    &cfg, &err) == 0,
	   "unknown fields are ignored at every level%s%s", err.msg[0] ? ": " : "", err.msg);
	oci_config_free(cfg);

	cfg = NULL;
	ok(oci_config_parse("\n\t{\"ociVersion\": \"1.0.0\"}\n\n", &cfg, &err) == 0,
	   "surrounding whitespace is fine");
	oci_config_free(cfg);

	/* podman sends the device's whole st_mode (type bits included). */
	cfg = NULL;
	ok(oci_config_parse("{\"ociVersion\": \"1.0.0\", \"linux\": {\"devices\": [{\"path\": \"/dev/myzero\", "
			    "\"type\": \"c\", \"major\": 1, \"minor\": 5, \"fileMode\": 8630}]}}",
			    &cfg, &err) == 0 &&
		   cfg->linux_.devices[0].file_mode == 020666,
	   "device fileMode with file type bits (020666) is accepted%s%s", err.msg[0] ? ": " : "", err.msg);
	oci_config_free(cfg);
}

static void test_process_and_resources(void)
{
	struct hangar_error err = {0};
	struct oci_process p;
	struct oci_resources r;

	ok(oci_process_parse("{\"terminal\": false, \"args\": [\"/bin/ps\", \"aux\"], \"cwd\": \"/tmp\", "
			     "\"env\": [\"A=1\"], \"user\": {\"uid\": 7, \"gid\": 8}, "
			     "\"capabilities\": {\"bounding\": [\"CAP_SYS_ADMIN\"]}}",
			     &p, &err) == 0,
	   "process.json parses%s%s", err.msg[0] ? ": " : "", err.msg);
	ok(p.n_args == 2 && strcmp(p.args[1], "aux") == 0 && p.user.uid == 7 && p.caps.n_bounding == 1,
	   "process.json fields");
	oci_process_clear(&p);
	ok(p.args == NULL && p.n_args == 0, "oci_process_clear zeroes the struct");

	ok(oci_process_parse("{\"args\": [], \"cwd\": \"/\"}", &p, &err) < 0, "process.json empty args");
	is_str(err.msg, "process.args: must not be empty", "process.json error names process.args");
	ok(p.args == NULL, "failed process parse leaves a cleared struct");
	ok(oci_process_parse("[1]", &p, &err) < 0 &&
	       strcmp(err.msg, "process.json: expected a JSON object") == 0,
	   "process.json must be an object: %s", err.msg);

	ok(oci_resources_parse("{\"memory\": {\"limit\": 1073741824, \"swap\": -1}, \"cpu\": {\"shares\": "
			       "512, \"cpus\": \"1\"}, \"pids\": {\"limit\": -1}, \"blockIO\": "
			       "{\"weight\": 200}, \"unified\": {\"memory.high\": \"max\"}}",
			       &r, &err) == 0,
	   "resources.json parses%s%s", err.msg[0] ? ": " : "", err.msg);
	ok(r.present && r.memory.limit == 1073741824 && r.memory.swap == -1 && r.cpu.shares == 512 &&
	       r.has_pids_limit && r.pids_limit == -1 && r.blkio.weight == 200 && r.n_unified == 1,
	   "resources.json fields");
	ok(!r.cpu.has_quota && !r.memory.has_reservation, "unset resources stay unset");
	oci_resources_clear(&r);
	ok(r.memory.present == false && r.unified == NULL, "oci_resources_clear zeroes the struct");
	ok(oci_resources_parse("{\"memory\": {\"limit\": \"1G\"}}", &r, &err) < 0,
	   "resources.json string limit rejected");
	is_str(err.msg, "resources.memory.limit: expected integer, got string", "resources.json error path");
	ok(oci_resources_parse("{\"memory\": ", &r, &err) < 0 &&
	       str_has_prefix(err.msg, "resources.json: invalid JSON at line 1:"),
	   "resources.json malformed: %s", err.msg);
}

static void test_names_and_load(void)
{
	ok(oci_ns_type_from_name("network") == OCI_NS_NETWORK, "ns name network");
	ok(oci_ns_type_from_name("net") == -1, "ns name net is unknown (spec says network)");
	ok(oci_ns_type_from_name("time") == OCI_NS_TIME, "ns name time");
	is_str(oci_ns_type_name(OCI_NS_CGROUP), "cgroup", "ns type name cgroup");
	ok(oci_ns_type_name(OCI_NS_COUNT) == NULL, "ns type name out of range is NULL");
	bool all = true;
	for (int t = 0; t < OCI_NS_COUNT; t++)
		all = all && oci_ns_type_from_name(oci_ns_type_name(t)) == t;
	ok(all, "ns names round trip for every type");

	const char *good_sizes[] = {"2MB", "1GB", "64KB", "16GB"};
	const char *bad_sizes[] = {"../x", "2MB/../x", "2mb", "MB", "", "2 MB", "2TB", "-2MB"};
	all = true;
	for (size_t i = 0; i < sizeof(good_sizes) / sizeof(good_sizes[0]); i++)
		all = all && oci_hugepage_size_valid(good_sizes[i]);
	ok(all, "hugepage sizes 2MB, 1GB, 64KB, 16GB are valid");
	all = true;
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++)
		if (oci_hugepage_size_valid(bad_sizes[i])) {
			diag("accepted \"%s\"", bad_sizes[i]);
			all = false;
		}
	ok(all, "hugepage sizes ../x, 2MB/../x, 2mb, MB, empty, \"2 MB\", 2TB, -2MB are invalid");

	struct hangar_error err = {0};
	struct oci_config *cfg = NULL;
	ok(oci_config_load("/nonexistent/hangar/config.json", &cfg, &err) < 0 && cfg == NULL,
	   "load of a missing file fails");
	ok(strstr(err.msg, "/nonexistent/hangar/config.json") != NULL, "error names the file: %s", err.msg);

	char dir[] = "/tmp/hangar-test-config-XXXXXX";
	if (mkdtemp(dir) == NULL) {
		skip("mkdtemp failed");
		return;
	}
	char *path = xasprintf("%s/other.json", dir);
	const char *bad = "{\"ociVersion\": 1}";
	write_file_at(AT_FDCWD, path, bad, strlen(bad), O_CREAT | O_TRUNC | O_WRONLY, 0644, &err);
	ok(oci_config_load(path, &cfg, &err) < 0, "load of a bad config fails");
	ok(strstr(err.msg, "other.json") && strstr(err.msg, "ociVersion: expected string"),
	   "error names a non-config.json file and the path: %s", err.msg);
	unlink(path);
	rmdir(dir);
	free(path);
}

int main(void)
{
	struct oci_config *cfg = load_full();
	if (cfg) {
		check_everything(cfg);
		test_round_trip(cfg, "full fixture");
		test_full_round_trip(cfg);
		test_section_round_trips(cfg);
		oci_config_free(cfg);
	}
	test_equal_detects_changes();
	test_default(false);
	test_default(true);
	test_minimal();
	test_process_and_resources();
	test_names_and_load();
	return tap_done();
}
