/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The default `spec` config and small lookups over a parsed config. */
#include <string.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "config/oci_private.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

const struct oci_namespace *oci_config_namespace(const struct oci_config *cfg, enum oci_ns_type t)
{
	for (size_t i = 0; i < cfg->linux_.n_namespaces; i++)
		if (cfg->linux_.namespaces[i].type == t)
			return &cfg->linux_.namespaces[i];
	return NULL;
}

const char *oci_config_annotation(const struct oci_config *cfg, const char *key)
{
	for (size_t i = 0; i < cfg->n_annotations; i++)
		if (strcmp(cfg->annotations[i].key, key) == 0)
			return cfg->annotations[i].value;
	return NULL;
}

/* Build a NULL-terminated vector from a NULL-terminated list of literals. */
static char **strv_from_list(const char *const *list, size_t *n)
{
	size_t count = 0;
	while (list[count])
		count++;
	char **v = xmalloc0((count + 1) * sizeof(char *));
	for (size_t i = 0; i < count; i++)
		v[i] = xstrdup(list[i]);
	if (n)
		*n = count;
	return v;
}

struct default_mount {
	const char *destination, *type, *source;
	const char *options[8];
};

/* runc's `spec` mounts, in runc's order. */
static const struct default_mount default_mounts[] = {
    {"/proc", "proc", "proc", {NULL}},
    {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k", NULL}},
    {"/dev/pts",
     "devpts",
     "devpts",
     {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL}},
    {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL}},
    {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev", NULL}},
    {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro", NULL}},
    {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro", NULL}},
};

/* Without a user namespace of its own a rootless container cannot mount
 * sysfs; runc binds the host's /sys read-only instead. */
static const struct default_mount rootless_sys_mount = {
    "/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro", NULL}};

static const char *const default_masked_paths[] = {
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
    "/sys/devices/virtual/tpm",
    NULL,
};

static const char *const default_readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static const char *const default_caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL};

static const char *const default_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "TERM=xterm",
    NULL,
};

static void fill_mount(struct oci_mount *m, const struct default_mount *def, bool rootless)
{
	m->destination = xstrdup(def->destination);
	m->type = xstrdup(def->type);
	m->source = xstrdup(def->source);
	m->options = xmalloc0(ARRAY_SIZE(def->options) * sizeof(char *));
	for (size_t i = 0; def->options[i]; i++) {
		/* The container's root cannot hand out ids it has no mapping for. */
		if (rootless &&
		    (str_has_prefix(def->options[i], "gid=") || str_has_prefix(def->options[i], "uid=")))
			continue;
		m->options[m->n_options++] = xstrdup(def->options[i]);
	}
	/* runc writes "options": null for /proc; keep NULL so the JSON matches. */
	if (m->n_options == 0) {
		free(m->options);
		m->options = NULL;
	}
}

/* runc adds a cgroup namespace only on a cgroup v2 host, where the
 * container then sees its own cgroup as the root of /sys/fs/cgroup. */
static bool host_is_cgroup2(void)
{
	struct statfs fs;
	return statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

static void add_namespace(struct oci_linux *lx, enum oci_ns_type t)
{
	lx->namespaces[lx->n_namespaces++].type = t;
}

int oci_config_default(bool rootless, struct oci_config **out, struct hangar_error *err)
{
	struct oci_config *cfg = xmalloc0(sizeof(*cfg));
	struct oci_process *p = &cfg->process;
	struct oci_linux *lx = &cfg->linux_;

	cfg->oci_version = xstrdup(OCI_RUNTIME_SPEC_VERSION);
	cfg->has_root = true;
	cfg->root.path = xstrdup("rootfs");
	cfg->root.readonly = true;
	cfg->hostname = xstrdup("hangar");

	cfg->has_process = true;
	p->terminal = true;
	p->args = strv_from_list((const char *const[]){"sh", NULL}, &p->n_args);
	p->env = strv_from_list(default_env, &p->n_env);
	p->cwd = xstrdup("/");
	p->no_new_privileges = true;
	p->caps.present = true;
	p->caps.bounding = strv_from_list(default_caps, &p->caps.n_bounding);
	p->caps.permitted = strv_from_list(default_caps, &p->caps.n_permitted);
	p->caps.effective = strv_from_list(default_caps, &p->caps.n_effective);
	p->rlimits = xmalloc0(sizeof(*p->rlimits));
	p->n_rlimits = 1;
	p->rlimits[0].type = xstrdup("RLIMIT_NOFILE");
	p->rlimits[0].resource = RLIMIT_NOFILE;
	p->rlimits[0].hard = 1024;
	p->rlimits[0].soft = 1024;

	cfg->mounts = xmalloc0(ARRAY_SIZE(default_mounts) * sizeof(*cfg->mounts));
	for (size_t i = 0; i < ARRAY_SIZE(default_mounts); i++) {
		const struct default_mount *def = &default_mounts[i];
		if (rootless && strcmp(def->destination, "/sys") == 0)
			def = &rootless_sys_mount;
		/* runc keeps this mount, but an unprivileged user cannot mount
		 * cgroup v1 at all, and the recursive /sys bind above already
		 * brings the host's cgroup tree along. */
		if (rootless && strcmp(def->destination, "/sys/fs/cgroup") == 0)
			continue;
		fill_mount(&cfg->mounts[cfg->n_mounts++], def, rootless);
	}

	cfg->has_linux = true;
	lx->masked_paths = strv_from_list(default_masked_paths, &lx->n_masked_paths);
	lx->has_masked_paths = true;
	lx->readonly_paths = strv_from_list(default_readonly_paths, &lx->n_readonly_paths);
	lx->has_readonly_paths = true;

	lx->namespaces = xmalloc0(OCI_NS_COUNT * sizeof(*lx->namespaces));
	add_namespace(lx, OCI_NS_PID);
	if (!rootless)
		add_namespace(lx, OCI_NS_NETWORK);
	add_namespace(lx, OCI_NS_IPC);
	add_namespace(lx, OCI_NS_UTS);
	add_namespace(lx, OCI_NS_MOUNT);
	if (host_is_cgroup2())
		add_namespace(lx, OCI_NS_CGROUP);

	if (rootless) {
		add_namespace(lx, OCI_NS_USER);
		lx->uid_mappings = xmalloc0(sizeof(*lx->uid_mappings));
		lx->uid_mappings[0] = (struct oci_id_mapping){0, geteuid(), 1};
		lx->n_uid_mappings = 1;
		lx->gid_mappings = xmalloc0(sizeof(*lx->gid_mappings));
		lx->gid_mappings[0] = (struct oci_id_mapping){0, getegid(), 1};
		lx->n_gid_mappings = 1;
	} else {
		/* Rootless drops resources: it may not own a cgroup to apply them to. */
		struct oci_resources *r = &lx->resources;
		r->present = true;
		r->devices = xmalloc0(sizeof(*r->devices));
		r->n_devices = 1;
		r->devices[0].allow = false;
		r->devices[0].access = xstrdup("rwm");
	}

	*out = cfg;
	return 0;
}
