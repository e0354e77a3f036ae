/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Creating an instance and generating its OCI config. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "manager/image.h"
#include "manager/instance.h"
#include "manager/internal.h"
#include "namespaces/subid.h"
#include "rootfs/rootfs.h"
#include "runtime/seccomp.h"
#include "runtime/state.h"

/* Docker's default set: enough for a system container's init and daemons
 * (chown, setuid, chroot, raw sockets), still without CAP_SYS_ADMIN. */
static const char *const instance_caps[] = {
	"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",		  "CAP_FOWNER",	    "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID",	   "CAP_SETUID",		  "CAP_SETFCAP",    "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", NULL,
};

static char **caps_vector(size_t *n)
{
	size_t count = 0;
	while (instance_caps[count])
		count++;
	char **v = xmalloc0((count + 1) * sizeof(char *));
	for (size_t i = 0; i < count; i++)
		v[i] = xstrdup(instance_caps[i]);
	*n = count;
	return v;
}

static void set_caps(struct oci_capabilities *c)
{
	strv_free(c->bounding);
	strv_free(c->effective);
	strv_free(c->permitted);
	strv_free(c->inheritable);
	strv_free(c->ambient);
	c->inheritable = c->ambient = NULL;
	c->n_inheritable = c->n_ambient = 0;
	c->bounding = caps_vector(&c->n_bounding);
	c->effective = caps_vector(&c->n_effective);
	c->permitted = caps_vector(&c->n_permitted);
	c->present = true;
}

/* Replace or append K=V. */
static void env_set(struct oci_process *p, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	for (size_t i = 0; i < p->n_env; i++) {
		if (strncmp(p->env[i], kv, klen) == 0 && p->env[i][klen] == '=') {
			free(p->env[i]);
			p->env[i] = xstrdup(kv);
			return;
		}
	}
	p->env = realloc(p->env, (p->n_env + 2) * sizeof(char *));
	if (p->env == NULL)
		abort();
	p->env[p->n_env++] = xstrdup(kv);
	p->env[p->n_env] = NULL;
}

static void remove_namespace(struct oci_linux *lx, enum oci_ns_type t)
{
	for (size_t i = 0; i < lx->n_namespaces; i++) {
		if (lx->namespaces[i].type != t)
			continue;
		free(lx->namespaces[i].path);
		memmove(&lx->namespaces[i], &lx->namespaces[i + 1], (lx->n_namespaces - i - 1) * sizeof(*lx->namespaces));
		lx->n_namespaces--;
		return;
	}
}

static void ensure_namespace(struct oci_linux *lx, enum oci_ns_type t)
{
	for (size_t i = 0; i < lx->n_namespaces; i++)
		if (lx->namespaces[i].type == t)
			return;
	lx->namespaces = realloc(lx->namespaces, (lx->n_namespaces + 1) * sizeof(*lx->namespaces));
	if (lx->namespaces == NULL)
		abort();
	lx->namespaces[lx->n_namespaces++] = (struct oci_namespace){.type = t};
}

static void add_bind_mount(struct oci_config *cfg, const struct instance_mount *m)
{
	cfg->mounts = realloc(cfg->mounts, (cfg->n_mounts + 1) * sizeof(*cfg->mounts));
	if (cfg->mounts == NULL)
		abort();
	struct oci_mount *om = &cfg->mounts[cfg->n_mounts++];
	memset(om, 0, sizeof(*om));
	om->destination = xstrdup(m->destination);
	om->type = xstrdup("bind");
	om->source = xstrdup(m->source);
	om->options = xmalloc0(3 * sizeof(char *));
	om->options[om->n_options++] = xstrdup("rbind");
	om->options[om->n_options++] = xstrdup(m->readonly ? "ro" : "rw");
}

int instance_build_oci_config(const struct hangar_paths *p, const struct instance *inst, struct oci_config **out,
			      struct hangar_error *err)
{
	struct oci_config *cfg = NULL;
	if (oci_config_default(p->rootless, &cfg, err) < 0)
		return -1;
	free(cfg->root.path);
	cfg->root.path = xstrdup(inst->rootfs);
	if (p->rootless && inst->n_uid_map && inst->n_gid_map) {
		struct oci_linux *l = &cfg->linux_;
		free(l->uid_mappings);
		free(l->gid_mappings);
		l->uid_mappings = xmalloc0(inst->n_uid_map * sizeof(*l->uid_mappings));
		memcpy(l->uid_mappings, inst->uid_map, inst->n_uid_map * sizeof(*l->uid_mappings));
		l->n_uid_mappings = inst->n_uid_map;
		l->gid_mappings = xmalloc0(inst->n_gid_map * sizeof(*l->gid_mappings));
		memcpy(l->gid_mappings, inst->gid_map, inst->n_gid_map * sizeof(*l->gid_mappings));
		l->n_gid_mappings = inst->n_gid_map;
	}
	if (p->rootless) {
		/* An unprivileged user may not mount overlayfs on the host: the
		 * container's init mounts the root in its own user namespace. */
		const char *kv[][2] = {{ROOTFS_OVERLAY_LOWERDIR, inst->image_rootfs},
				       {ROOTFS_OVERLAY_UPPERDIR, inst->upper},
				       {ROOTFS_OVERLAY_WORKDIR, inst->work}};
		cfg->annotations = realloc(cfg->annotations, (cfg->n_annotations + 3) * sizeof(*cfg->annotations));
		if (cfg->annotations == NULL)
			abort();
		for (size_t i = 0; i < 3; i++) {
			cfg->annotations[cfg->n_annotations].key = xstrdup(kv[i][0]);
			cfg->annotations[cfg->n_annotations].value = xstrdup(kv[i][1]);
			cfg->n_annotations++;
		}
	}
	/* The upper dir takes the writes; a read-only root would make the
	 * copy-on-write layer pointless. */
	cfg->root.readonly = false;
	free(cfg->hostname);
	cfg->hostname = xstrdup(inst->hostname ? inst->hostname : inst->name);

	struct oci_process *proc = &cfg->process;
	proc->terminal = true; /* the monitor's console */
	strv_free(proc->args);
	if (inst->init)
		proc->args = strv_dup((char *[]){"/sbin/init", NULL});
	else if (inst->cmd && inst->cmd[0])
		proc->args = strv_dup(inst->cmd);
	else
		proc->args = strv_dup((char *[]){"/bin/sh", NULL});
	proc->n_args = strv_len(proc->args);
	bool systemd = instance_init_kind(inst) == INSTANCE_INIT_SYSTEMD;
	/* Before the user's --env, which may override it. */
	if (systemd)
		env_set(proc, "container=hangar");
	for (size_t i = 0; inst->env && inst->env[i]; i++)
		env_set(proc, inst->env[i]);
	_cleanup_free_ char *hostname_env = xasprintf("HOSTNAME=%s", cfg->hostname);
	env_set(proc, hostname_env);
	/* System containers run setuid programs (su, ping) like a host would. */
	proc->no_new_privileges = false;
	/* Rootless too: the capabilities count only in the instance's user
	 * namespace, and with subordinate ranges CAP_CHOWN, CAP_SETUID and
	 * friends are what lets its root hand files and processes to them. */
	set_caps(&proc->caps);

	struct oci_linux *lx = &cfg->linux_;
	/* The instance sees its own cgroup as the root of its tree. */
	ensure_namespace(lx, OCI_NS_CGROUP);
	if (inst->networks && strcmp(inst->networks[0], "host") == 0)
		remove_namespace(lx, OCI_NS_NETWORK);
	else
		ensure_namespace(lx, OCI_NS_NETWORK);
	free(lx->cgroups_path);
	lx->cgroups_path = xasprintf("/hangar/%s%s", p->cgroup_prefix, inst->name);
	if (instance_limits_to_oci(&inst->limits, &lx->resources, err) < 0)
		goto fail;

	if (seccomp_default_profile(&proc->caps, &lx->seccomp, err) < 0) {
		hangar_error_prefix(err, "instance %s: default seccomp profile", inst->name);
		goto fail;
	}
	if (systemd)
		instance_config_add_systemd(cfg);
	for (size_t i = 0; i < inst->n_mounts; i++)
		add_bind_mount(cfg, &inst->mounts[i]);
	*out = cfg;
	return 0;
fail:
	oci_config_free(cfg);
	return -1;
}

int instance_write_config(const struct hangar_paths *p, const struct instance *inst, struct hangar_error *err)
{
	struct oci_config *cfg = NULL;
	if (instance_build_oci_config(p, inst, &cfg, err) < 0)
		return -1;
	_cleanup_free_ char *json = oci_config_to_json(cfg);
	oci_config_free(cfg);
	return write_file_atomic(inst->config_path, json, strlen(json), 0600, err);
}

static bool same_port(const struct port_mapping *a, const struct port_mapping *b)
{
	return a->host_port == b->host_port && a->protocol == b->protocol &&
	       (a->host_ip[0] == '\0' || b->host_ip[0] == '\0' || strcmp(a->host_ip, b->host_ip) == 0);
}

/* A host port belongs to one instance of the store, running or not, so that
 * starting the second one cannot fail later. */
static int check_ports_free(const struct hangar_paths *p, const char *name, const struct port_mapping *ports,
			    size_t n, char *const *specs, struct hangar_error *err)
{
	char **names = NULL;
	if (n == 0)
		return 0;
	if (instance_list_names(p, &names, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; names[i] && rc == 0; i++) {
		if (strcmp(names[i], name) == 0)
			continue;
		struct instance *other = NULL;
		struct hangar_error ignored;
		if (instance_load(p, names[i], &other, &ignored) < 0)
			continue;
		for (size_t j = 0; other->publish && other->publish[j] && rc == 0; j++) {
			struct port_mapping pm;
			if (port_mapping_parse(other->publish[j], &pm, &ignored) < 0)
				continue;
			for (size_t k = 0; k < n; k++) {
				if (same_port(&pm, &ports[k])) {
					rc = hangar_error_set(err, HANGAR_E_EXISTS, 0,
							      "--publish %s: host port %u/%s is already published by "
							      "instance %s",
							      specs[k], ports[k].host_port,
							      ports[k].protocol == IPPROTO_UDP ? "udp" : "tcp", other->name);
					break;
				}
			}
		}
		instance_free(other);
	}
	strv_free(names);
	return rc;
}

/* RFC 1123 label characters; sethostname() allows 64 bytes. */
static bool valid_hostname(const char *h)
{
	size_t len = strlen(h);
	if (len == 0 || len > 63 || h[0] == '-' || h[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* The network exists; ports (those of the first network) have host IPs
 * it can forward, checked now rather than at the first start. */
static int validate_network(const struct hangar_paths *p, const char *network,
			    const struct port_mapping *ports, size_t n_ports, struct hangar_error *err)
{
	if (strcmp(network, "none") == 0 || strcmp(network, "host") == 0 ||
	    instance_network_is_rootless_helper(p, network))
		return 0;
	struct network *net = NULL;
	int r = network_load(p->network_dir, network, &net, err);
	if (r < 0 && strcmp(network, NETWORK_DEFAULT_NAME) == 0 && err->code == HANGAR_E_NOTFOUND) {
		/* made with both families on first use */
		struct network dflt = {.name = (char *)network, .has_subnet4 = true, .has_subnet6 = true};
		return network_check_port_families(&dflt, ports, n_ports, err);
	}
	if (r < 0)
		return hangar_error_prefix(err, "--network %s", network);
	r = network_check_port_families(net, ports, n_ports, err);
	network_free(net);
	return r;
}

static void strv_freep(char ***v)
{
	strv_free(*v);
}
#define _cleanup_strv_ __attribute__((cleanup(strv_freep)))

static bool network_stands_alone(const char *name)
{
	return strcmp(name, "none") == 0 || strcmp(name, "host") == 0 ||
	       strcmp(name, INSTANCE_NETWORK_PASTA) == 0 || strcmp(name, INSTANCE_NETWORK_SLIRP4NETNS) == 0;
}

/* The --network list with defaults and the "bridge" alias applied.  none,
 * host and the rootless helpers give the namespace its whole network, so
 * they cannot be combined; a network named twice would be attached twice. */
static int resolve_networks(const struct hangar_paths *p, char *const *want, char ***out,
			    struct hangar_error *err)
{
	size_t n = strv_len(want);
	char **v = xmalloc0((n + 2) * sizeof(char *));
	if (n == 0)
		v[0] = xstrdup(p->rootless ? "none" : NETWORK_DEFAULT_NAME);
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(strcmp(want[i], "bridge") == 0 ? NETWORK_DEFAULT_NAME : want[i]);
	for (size_t i = 0; v[i]; i++) {
		if (v[1] && network_stands_alone(v[i])) {
			hangar_error_set(err, HANGAR_E_USAGE, 0,
					 "--network %s: cannot be combined with other networks", v[i]);
			goto fail;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(v[i], v[j]) == 0) {
				hangar_error_set(err, HANGAR_E_USAGE, 0, "--network %s: given twice", v[i]);
				goto fail;
			}
	}
	if (p->rootless && v[1]) {
		hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "--network %s: a rootless instance has one network (bridge networks need root)", v[1]);
		goto fail;
	}
	*out = v;
	return 0;
fail:
	strv_free(v);
	return -1;
}

int instance_create(const struct hangar_paths *p, const struct instance_create_opts *o, struct instance **out,
		    struct hangar_error *err)
{
	_cleanup_close_ int lock = -1;
	_cleanup_free_ char *map_note = NULL;
	if (instance_validate_name(o->name, err) < 0)
		return -1;
	const char *image = o->image ? o->image : IMAGE_DEFAULT_NAME;
	if (image_store_validate_name(image, err) < 0)
		return -1;
	if (o->hostname && !valid_hostname(o->hostname))
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"--hostname %s: 1 to 63 letters, digits, '-' and '.', not starting with '-'",
					o->hostname);
	if (o->init && o->cmd && o->cmd[0])
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "--init and a command exclude each other");
	_cleanup_strv_ char **networks = NULL;
	if (resolve_networks(p, o->networks, &networks, err) < 0)
		return -1;
	const char *network = networks[0];
	_cleanup_free_ char *helper_path = NULL;
	if (p->rootless && strcmp(network, "none") != 0 && strcmp(network, "host") != 0) {
		/* A user gets a user-mode helper instead of a bridge: "bridge"
		 * picks pasta when installed, else slirp4netns. */
		enum rootless_net_helper want, found;
		if (strcmp(network, NETWORK_DEFAULT_NAME) == 0)
			want = ROOTLESS_NET_AUTO;
		else if (strcmp(network, INSTANCE_NETWORK_PASTA) == 0)
			want = ROOTLESS_NET_PASTA;
		else if (strcmp(network, INSTANCE_NETWORK_SLIRP4NETNS) == 0)
			want = ROOTLESS_NET_SLIRP4NETNS;
		else
			return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
						"--network %s: rootless instances support bridge, pasta, slirp4netns, none and host",
						network);
		if (rootless_net_find_helper(want, &found, &helper_path, err) < 0)
			return hangar_error_prefix(err, "--network %s",
						   o->networks && o->networks[0] ? o->networks[0] : network);
		free(networks[0]);
		networks[0] = xstrdup(found == ROOTLESS_NET_PASTA ? INSTANCE_NETWORK_PASTA
								  : INSTANCE_NETWORK_SLIRP4NETNS);
		network = networks[0];
	}
	size_t n_ports = strv_len(o->publish);
	_cleanup_free_ struct port_mapping *ports = xmalloc0((n_ports + 1) * sizeof(*ports));
	for (size_t i = 0; i < n_ports; i++)
		if (port_mapping_parse(o->publish[i], &ports[i], err) < 0)
			return hangar_error_prefix(err, "--publish %s", o->publish[i]);
	if (n_ports && strcmp(network, "none") == 0)
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "--publish needs a bridge network (or, rootless, pasta or slirp4netns; not --network none)");
	if (n_ports && strcmp(network, "host") == 0)
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"--publish makes no sense with --network host (ports are the host's)");

	struct instance *inst = xmalloc0(sizeof(*inst));
	inst->name = xstrdup(o->name);
	inst->image = xstrdup(image);
	inst->hostname = xstrdup(o->hostname ? o->hostname : o->name);
	inst->init = o->init;
	inst->cmd = o->cmd && o->cmd[0] ? strv_dup(o->cmd) : NULL;
	inst->env = o->env ? strv_dup(o->env) : NULL;
	inst->networks = steal_pointer(&networks);
	inst->publish = o->publish ? strv_dup(o->publish) : NULL;
	inst->created = rfc3339_now();
	if (o->limits)
		instance_limits_merge(&inst->limits, o->limits);
	size_t n_mounts = 0;
	while (o->mounts && o->mounts[n_mounts])
		n_mounts++;
	inst->mounts = xmalloc0((n_mounts + 1) * sizeof(*inst->mounts));
	for (size_t i = 0; i < n_mounts; i++) {
		if (instance_parse_mount(o->mounts[i], &inst->mounts[i], err) < 0)
			goto fail;
		inst->n_mounts++;
	}
	instance_fill_paths(p, inst);
	if (p->rootless) {
		/* The user's subordinate ranges (like podman), so that images
		 * keep their owners; chosen once and stored with the instance. */
		struct ns_rootless_maps maps;
		if (ns_rootless_mappings(&maps, err) < 0)
			goto fail;
		inst->uid_map = steal_pointer(&maps.uids);
		inst->n_uid_map = maps.n_uids;
		inst->gid_map = steal_pointer(&maps.gids);
		inst->n_gid_map = maps.n_gids;
		map_note = steal_pointer(&maps.note);
		ns_rootless_maps_release(&maps);
	}
	/* Catch bad limits before anything exists. */
	struct oci_config *probe = NULL;
	if (instance_build_oci_config(p, inst, &probe, err) < 0)
		goto fail;
	oci_config_free(probe);

	lock = hangar_lock_global(p, err);
	if (lock < 0)
		goto fail;
	/* Under the lock: 'hangar network rm' checks for users under it too. */
	for (size_t i = 0; inst->networks[i]; i++)
		if (validate_network(p, inst->networks[i], ports, i == 0 ? n_ports : 0, err) < 0)
			goto fail;
	if (check_ports_free(p, inst->name, ports, n_ports, inst->publish, err) < 0)
		goto fail;
	if (image_store_ensure(p, image, err) < 0)
		goto fail;
	if (mkdir(inst->dir, 0700) < 0) {
		if (errno == EEXIST)
			hangar_error_set(err, HANGAR_E_EXISTS, 0, "instance %s already exists", inst->name);
		else
			hangar_sys_error(err, "create %s", inst->dir);
		goto fail;
	}
	if (mkdir(inst->upper, 0755) < 0 || mkdir(inst->work, 0700) < 0 || mkdir(inst->rootfs, 0755) < 0) {
		hangar_sys_error(err, "create the directories of instance %s", inst->name);
		goto fail_dir;
	}
	if (instance_init_kind(inst) == INSTANCE_INIT_SYSTEMD &&
	    instance_write_systemd_identity(inst, err) < 0)
		goto fail_dir;
	if (instance_write_config(p, inst, err) < 0 || instance_save(inst, err) < 0)
		goto fail_dir;
	if (map_note)
		hangar_error_set(err, HANGAR_OK, 0, "warning: %s", map_note);
	*out = inst;
	return 0;
fail_dir: {
	struct hangar_error ignored;
	rm_rf(inst->dir, &ignored);
}
fail:
	instance_free(inst);
	return -1;
}
