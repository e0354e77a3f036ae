/* SPDX-License-Identifier: GPL-2.0-or-later */
/* linux.sysctl: only keys the container's own namespaces isolate. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "rootfs/internal.h"

/* The IPC namespace owns these (ipc/ipc_sysctl.c, ipc/mq_sysctl.c). */
static const char *const ipc_sysctls[] = {
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
    "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
};

static bool has_namespace(const struct oci_config *cfg, enum oci_ns_type t)
{
	return oci_config_namespace(cfg, t) != NULL;
}

/* Keys may be written with dots or slashes ("net/ipv4/ip_forward"). */
static char *sysctl_key_dotted(const char *key)
{
	char *k = xstrdup(key);
	for (char *p = k; *p; p++)
		if (*p == '/')
			*p = '.';
	return k;
}

/* Whether path names the caller's own namespace of this kind.  Called by
 * the runtime before it enters the container's namespaces, that is the
 * host's. */
static bool is_callers_namespace(const char *path, const char *kind)
{
	struct stat ns, own;
	_cleanup_free_ char *own_path = xasprintf("/proc/self/ns/%s", kind);
	if (stat(path, &ns) < 0 || stat(own_path, &own) < 0)
		return false;
	return ns.st_dev == own.st_dev && ns.st_ino == own.st_ino;
}

static int validate_key(const struct oci_config *cfg, const char *raw_key, bool check_host,
			struct hangar_error *err)
{
	_cleanup_free_ char *key = sysctl_key_dotted(raw_key);
	if (*key == '\0' || strstr(key, "..") || key[0] == '.')
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "linux.sysctl: invalid key \"%s\"", raw_key);

	bool ipc_key = str_has_prefix(key, "fs.mqueue.");
	for (size_t i = 0; i < ARRAY_SIZE(ipc_sysctls); i++)
		if (strcmp(key, ipc_sysctls[i]) == 0)
			ipc_key = true;
	if (ipc_key) {
		if (!has_namespace(cfg, OCI_NS_IPC))
			return hangar_error_set(
			    err, HANGAR_E_CONFIG, 0,
			    "linux.sysctl: %s needs an IPC namespace (it would change the host)", raw_key);
		return 0;
	}
	if (str_has_prefix(key, "net.")) {
		if (!has_namespace(cfg, OCI_NS_NETWORK))
			return hangar_error_set(
			    err, HANGAR_E_CONFIG, 0,
			    "linux.sysctl: %s needs a network namespace (it would change the host)", raw_key);
		const struct oci_namespace *net = oci_config_namespace(cfg, OCI_NS_NETWORK);
		if (check_host && net->path && is_callers_namespace(net->path, "net"))
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"linux.sysctl: %s: the network namespace %s is the host's",
						raw_key, net->path);
		return 0;
	}
	if (strcmp(key, "kernel.hostname") == 0 && cfg->hostname)
		return hangar_error_set(
		    err, HANGAR_E_CONFIG, 0,
		    "linux.sysctl: %s conflicts with the \"hostname\" field; set only one", raw_key);
	if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0) {
		if (!has_namespace(cfg, OCI_NS_UTS))
			return hangar_error_set(
			    err, HANGAR_E_CONFIG, 0,
			    "linux.sysctl: %s needs a UTS namespace (it would change the host)", raw_key);
		return 0;
	}
	return hangar_error_set(
	    err, HANGAR_E_CONFIG, 0,
	    "linux.sysctl: %s is not isolated by any namespace and cannot be set in a container", raw_key);
}

static int validate_sysctl(const struct oci_config *cfg, bool check_host, struct hangar_error *err)
{
	for (size_t i = 0; i < cfg->linux_.n_sysctl; i++) {
		const char *key = cfg->linux_.sysctl[i].key ? cfg->linux_.sysctl[i].key : "";
		if (validate_key(cfg, key, check_host, err) < 0)
			return -1;
	}
	return 0;
}

int rootfs_validate_sysctl(const struct oci_config *cfg, struct hangar_error *err)
{
	return validate_sysctl(cfg, true, err);
}

int rootfs_check_sysctl_keys(const struct oci_config *cfg, struct hangar_error *err)
{
	return validate_sysctl(cfg, false, err);
}

int rootfs_apply_sysctl(const struct oci_config *cfg, struct hangar_error *err)
{
	if (rootfs_check_sysctl_keys(cfg, err) < 0)
		return -1;
	for (size_t i = 0; i < cfg->linux_.n_sysctl; i++) {
		const struct oci_kv *kv = &cfg->linux_.sysctl[i];
		_cleanup_free_ char *path = xasprintf("/proc/sys/%s", kv->key);
		/* A key already written with slashes keeps its dots: they are
		 * part of names such as net/ipv4/conf/eth0.100/forwarding. */
		if (strchr(kv->key, '/') == NULL)
			for (char *p = path + strlen("/proc/sys/"); *p; p++)
				if (*p == '.')
					*p = '/';
		if (write_string_at(AT_FDCWD, path, kv->value ? kv->value : "", err) < 0)
			return hangar_error_prefix(err, "linux.sysctl %s", kv->key);
	}
	return 0;
}
