/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The "linux" section of config.json, including seccomp. */
#include <ctype.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "config/oci_private.h"

static const char *const ns_type_names[OCI_NS_COUNT] = {
    [OCI_NS_PID] = "pid", [OCI_NS_NETWORK] = "network", [OCI_NS_MOUNT] = "mount",   [OCI_NS_IPC] = "ipc",
    [OCI_NS_UTS] = "uts", [OCI_NS_USER] = "user",	[OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
};

const char *oci_ns_type_name(enum oci_ns_type t)
{
	if ((unsigned)t >= OCI_NS_COUNT)
		return NULL;
	return ns_type_names[t];
}

int oci_ns_type_from_name(const char *name)
{
	for (int t = 0; t < OCI_NS_COUNT; t++)
		if (strcmp(ns_type_names[t], name) == 0)
			return t;
	return -1;
}

static int parse_namespace(struct json_path *jp, struct json_object *obj, void *dst)
{
	struct oci_namespace *ns = dst;
	_cleanup_free_ char *type = NULL;

	if (json_key_require(jp, obj, "type") < 0 || json_key_string(jp, obj, "type", &type) < 0)
		return -1;
	int t = oci_ns_type_from_name(type);
	if (t < 0) {
		json_path_push_key(jp, "type");
		return json_path_error(jp, "unknown namespace type \"%s\"", type);
	}
	ns->type = t;
	if (json_key_string(jp, obj, "path", &ns->path) < 0)
		return -1;
	if (ns->path && ns->path[0] != '/') {
		json_path_push_key(jp, "path");
		return json_path_error(jp, "must be an absolute path, got \"%s\"", ns->path);
	}
	return 0;
}

static int check_namespaces_unique(struct json_path *jp, const struct oci_linux *lx)
{
	for (size_t i = 0; i < lx->n_namespaces; i++)
		for (size_t j = 0; j < i; j++)
			if (lx->namespaces[i].type == lx->namespaces[j].type) {
				size_t mark = json_path_push_key(jp, "namespaces");
				json_path_push_index(jp, i);
				json_path_push_key(jp, "type");
				json_path_error(jp, "duplicate namespace type \"%s\"",
						oci_ns_type_name(lx->namespaces[i].type));
				json_path_pop(jp, mark);
				return -1;
			}
	return 0;
}

static int parse_time_offset(struct json_path *jp, struct json_object *val, struct oci_time_offset *o)
{
	uint64_t nanosecs = 0;

	if (val == NULL || !json_object_is_type(val, json_type_object))
		return json_path_error(jp, "expected object");
	if (json_key_int64(jp, val, "secs", INT64_MIN, INT64_MAX, &o->secs) < 0 ||
	    json_key_uint64(jp, val, "nanosecs", 999999999, &nanosecs) < 0)
		return -1;
	o->nanosecs = (uint32_t)nanosecs;
	o->present = true;
	return 0;
}

static int parse_time_offsets(struct json_path *jp, struct json_object *obj, struct oci_linux *lx)
{
	struct json_object *offsets;
	int r = json_key_get(jp, obj, "timeOffsets", json_type_object, &offsets);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, "timeOffsets");
	json_object_object_foreach(offsets, clock, val)
	{
		struct oci_time_offset *o;
		/* The time namespace virtualises only these two clocks. */
		if (strcmp(clock, "monotonic") == 0)
			o = &lx->time_offsets_monotonic;
		else if (strcmp(clock, "boottime") == 0)
			o = &lx->time_offsets_boottime;
		else
			return json_path_error(jp, "unknown clock \"%s\" (want monotonic or boottime)",
					       clock);
		size_t clock_mark = json_path_push_key(jp, clock);
		if (parse_time_offset(jp, val, o) < 0)
			return -1;
		json_path_pop(jp, clock_mark);
	}
	json_path_pop(jp, mark);
	return 0;
}

static int parse_device(struct json_path *jp, struct json_object *obj, void *dst)
{
	struct oci_device *d = dst;
	_cleanup_free_ char *type = NULL;

	if (json_key_require(jp, obj, "path") < 0 || json_key_string(jp, obj, "path", &d->path) < 0)
		return -1;
	if (d->path[0] != '/') {
		json_path_push_key(jp, "path");
		return json_path_error(jp, "must be an absolute path, got \"%s\"", d->path);
	}
	if (json_key_require(jp, obj, "type") < 0 || json_key_string(jp, obj, "type", &type) < 0)
		return -1;
	if (strlen(type) != 1 || strchr("cbup", type[0]) == NULL) {
		json_path_push_key(jp, "type");
		return json_path_error(jp, "unknown device type \"%s\" (want c, b, u or p)", type);
	}
	d->type = type[0];
	/* A FIFO has no device number; the others need both. */
	if (d->type != 'p' &&
	    (json_key_require(jp, obj, "major") < 0 || json_key_require(jp, obj, "minor") < 0))
		return -1;
	if (json_key_int64(jp, obj, "major", 0, INT64_MAX, &d->major) < 0 ||
	    json_key_int64(jp, obj, "minor", 0, INT64_MAX, &d->minor) < 0)
		return -1;
	uint64_t mode;
	/* Engines (podman) pass the full st_mode, file type bits included
	 * (020666 for a character device); only the permission bits are used
	 * when the node is made. */
	int r = json_key_uint64(jp, obj, "fileMode", 0177777, &mode);
	if (r < 0)
		return -1;
	d->has_file_mode = r > 0;
	d->file_mode = (mode_t)(r > 0 ? mode : 0);
	uint32_t id;
	r = json_key_uint32(jp, obj, "uid", &id);
	if (r < 0)
		return -1;
	d->has_uid = r > 0;
	d->uid = r > 0 ? id : 0;
	r = json_key_uint32(jp, obj, "gid", &id);
	if (r < 0)
		return -1;
	d->has_gid = r > 0;
	d->gid = r > 0 ? id : 0;
	return 0;
}

static int parse_resources(struct json_path *jp, struct json_object *obj, struct oci_resources *res)
{
	struct json_object *resources;
	int r = json_key_get(jp, obj, "resources", json_type_object, &resources);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, "resources");
	if (oci_parse_resources_object(jp, resources, res) < 0)
		return -1;
	json_path_pop(jp, mark);
	return 0;
}

static int check_in_list(struct json_path *jp, const char *key, const char *value, const char *const *allowed,
			 size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(value, allowed[i]) == 0)
			return 0;
	size_t mark = json_path_push_key(jp, key);
	json_path_error(jp, "unknown %s \"%s\"", what, value);
	json_path_pop(jp, mark);
	return -1;
}

static const char *const propagation_names[] = {
    "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable",
};

/* ---- seccomp ---- */

struct seccomp_action_name {
	const char *name;
	uint32_t action;
};

/* ERRNO and TRACE carry their data (errnoRet) in the low 16 bits; the
 * resolved number here has 0 there and the runtime ORs errnoRet in. */
static const struct seccomp_action_name seccomp_action_names[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY},
};

static const struct {
	const char *name;
	enum scmp_compare op;
} seccomp_op_names[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static const char *const seccomp_flag_names[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

/* seccomp(2) takes at most six syscall arguments. */
#define SECCOMP_MAX_ARG_INDEX 5

int oci_seccomp_action_from_name(const char *name, uint32_t *action)
{
	for (size_t i = 0; i < ARRAY_SIZE(seccomp_action_names); i++)
		if (strcmp(seccomp_action_names[i].name, name) == 0) {
			*action = seccomp_action_names[i].action;
			return 0;
		}
	return -1;
}

int oci_seccomp_op_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(seccomp_op_names); i++)
		if (strcmp(seccomp_op_names[i].name, name) == 0)
			return seccomp_op_names[i].op;
	return -1;
}

static int parse_seccomp_action(struct json_path *jp, struct json_object *obj, const char *key, char **name,
				uint32_t *action)
{
	if (json_key_require(jp, obj, key) < 0 || json_key_string(jp, obj, key, name) < 0)
		return -1;
	if (oci_seccomp_action_from_name(*name, action) < 0) {
		size_t mark = json_path_push_key(jp, key);
		json_path_error(jp, "unknown seccomp action \"%s\"", *name);
		json_path_pop(jp, mark);
		return -1;
	}
	return 0;
}

static int parse_seccomp_arg(struct json_path *jp, struct json_object *obj, void *dst)
{
	struct oci_seccomp_arg *a = dst;
	uint64_t index;

	if (json_key_require(jp, obj, "index") < 0 || json_key_require(jp, obj, "value") < 0 ||
	    json_key_require(jp, obj, "op") < 0 ||
	    json_key_uint64(jp, obj, "index", SECCOMP_MAX_ARG_INDEX, &index) < 0 ||
	    json_key_uint64(jp, obj, "value", UINT64_MAX, &a->value) < 0 ||
	    json_key_uint64(jp, obj, "valueTwo", UINT64_MAX, &a->value_two) < 0 ||
	    json_key_string(jp, obj, "op", &a->op) < 0)
		return -1;
	a->index = (unsigned)index;
	a->op_num = oci_seccomp_op_from_name(a->op);
	if (a->op_num < 0) {
		json_path_push_key(jp, "op");
		return json_path_error(jp, "unknown seccomp operator \"%s\"", a->op);
	}
	return 0;
}

static int parse_seccomp_syscall(struct json_path *jp, struct json_object *obj, void *dst)
{
	struct oci_seccomp_syscall *sc = dst;

	if (json_key_require(jp, obj, "names") < 0 ||
	    json_key_strv(jp, obj, "names", &sc->names, &sc->n_names) < 0)
		return -1;
	if (sc->n_names == 0) {
		json_path_push_key(jp, "names");
		return json_path_error(jp, "must not be empty");
	}
	/* Names libseccomp does not know (newer syscalls, other
	 * architectures) are skipped when the filter is built, as runc does;
	 * only an empty name is certainly a mistake. */
	for (size_t i = 0; i < sc->n_names; i++)
		if (sc->names[i][0] == '\0') {
			json_path_push_key(jp, "names");
			json_path_push_index(jp, i);
			return json_path_error(jp, "must not be empty");
		}
	if (parse_seccomp_action(jp, obj, "action", &sc->action, &sc->action_num) < 0)
		return -1;
	int r = json_key_uint32(jp, obj, "errnoRet", &sc->errno_ret);
	if (r < 0)
		return -1;
	sc->has_errno_ret = r > 0;
	if (json_key_object_array(jp, obj, "args", sizeof(struct oci_seccomp_arg), parse_seccomp_arg,
				  (void **)&sc->args, &sc->n_args) < 0)
		return -1;
	return 0;
}

static int validate_seccomp_architectures(struct json_path *jp, const struct oci_seccomp *s)
{
	for (size_t i = 0; i < s->n_architectures; i++) {
		const char *name = s->architectures[i];
		char lower[64];
		size_t n = 0;

		if (str_has_prefix(name, "SCMP_ARCH_")) {
			for (const char *c = name + strlen("SCMP_ARCH_"); *c && n < sizeof(lower) - 1; c++)
				lower[n++] = (char)tolower((unsigned char)*c);
		}
		lower[n] = '\0';
		if (n == 0 || seccomp_arch_resolve_name(lower) == 0) {
			json_path_push_key(jp, "architectures");
			json_path_push_index(jp, i);
			return json_path_error(jp, "unknown seccomp architecture \"%s\"", name);
		}
	}
	return 0;
}

static bool seccomp_uses_notify(const struct oci_seccomp *s)
{
	if (s->default_action_num == SCMP_ACT_NOTIFY)
		return true;
	for (size_t i = 0; i < s->n_syscalls; i++)
		if (s->syscalls[i].action_num == SCMP_ACT_NOTIFY)
			return true;
	return false;
}

static int parse_seccomp(struct json_path *jp, struct json_object *obj, struct oci_seccomp *s)
{
	struct json_object *seccomp;
	int r = json_key_get(jp, obj, "seccomp", json_type_object, &seccomp);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, "seccomp");
	s->present = true;
	if (parse_seccomp_action(jp, seccomp, "defaultAction", &s->default_action, &s->default_action_num) <
	    0)
		return -1;
	r = json_key_uint32(jp, seccomp, "defaultErrnoRet", &s->default_errno_ret);
	if (r < 0)
		return -1;
	s->has_default_errno_ret = r > 0;
	if (json_key_strv(jp, seccomp, "architectures", &s->architectures, &s->n_architectures) < 0 ||
	    validate_seccomp_architectures(jp, s) < 0 ||
	    json_key_strv(jp, seccomp, "flags", &s->flags, &s->n_flags) < 0)
		return -1;
	for (size_t i = 0; i < s->n_flags; i++) {
		bool known = false;
		for (size_t k = 0; k < ARRAY_SIZE(seccomp_flag_names); k++)
			known = known || strcmp(s->flags[i], seccomp_flag_names[k]) == 0;
		if (!known) {
			json_path_push_key(jp, "flags");
			json_path_push_index(jp, i);
			return json_path_error(jp, "unknown seccomp flag \"%s\"", s->flags[i]);
		}
	}
	if (json_key_string(jp, seccomp, "listenerPath", &s->listener_path) < 0 ||
	    json_key_string(jp, seccomp, "listenerMetadata", &s->listener_metadata) < 0 ||
	    json_key_object_array(jp, seccomp, "syscalls", sizeof(struct oci_seccomp_syscall),
				  parse_seccomp_syscall, (void **)&s->syscalls, &s->n_syscalls) < 0)
		return -1;
	if (s->listener_path && s->listener_path[0] != '/') {
		json_path_push_key(jp, "listenerPath");
		return json_path_error(jp, "must be an absolute path, got \"%s\"", s->listener_path);
	}
	/* Without a listener the notify fd would have nowhere to go and every
	 * notified syscall would block forever. */
	if (seccomp_uses_notify(s) && s->listener_path == NULL) {
		json_path_push_key(jp, "listenerPath");
		return json_path_error(jp, "required when SCMP_ACT_NOTIFY is used");
	}
	json_path_pop(jp, mark);
	return 0;
}

static int parse_path_list(struct json_path *jp, struct json_object *obj, const char *key, char ***paths,
			   size_t *n, bool *has)
{
	int r = json_key_strv(jp, obj, key, paths, n);
	if (r <= 0)
		return r;
	*has = true;
	for (size_t i = 0; i < *n; i++)
		if ((*paths)[i][0] != '/') {
			json_path_push_key(jp, key);
			json_path_push_index(jp, i);
			return json_path_error(jp, "must be an absolute path, got \"%s\"", (*paths)[i]);
		}
	return 0;
}

static int parse_intel_rdt(struct json_path *jp, struct json_object *obj, struct oci_intel_rdt *rdt)
{
	struct json_object *val;
	int r = json_key_get(jp, obj, "intelRdt", json_type_object, &val);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, "intelRdt");
	rdt->present = true;
	if (json_key_string(jp, val, "closID", &rdt->clos_id) < 0 ||
	    json_key_string(jp, val, "l3CacheSchema", &rdt->l3_cache_schema) < 0 ||
	    json_key_string(jp, val, "memBwSchema", &rdt->mem_bw_schema) < 0 ||
	    json_key_bool(jp, val, "enableCMT", &rdt->enable_cmt) < 0 ||
	    json_key_bool(jp, val, "enableMBM", &rdt->enable_mbm) < 0)
		return -1;
	json_path_pop(jp, mark);
	return 0;
}

static int parse_personality(struct json_path *jp, struct json_object *obj, struct oci_personality *pers)
{
	static const char *const domains[] = {"LINUX", "LINUX32"};
	struct json_object *val;
	int r = json_key_get(jp, obj, "personality", json_type_object, &val);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, "personality");
	pers->present = true;
	if (json_key_require(jp, val, "domain") < 0 ||
	    json_key_string(jp, val, "domain", &pers->domain) < 0 ||
	    check_in_list(jp, "domain", pers->domain, domains, ARRAY_SIZE(domains), "personality domain") <
		0 ||
	    json_key_strv(jp, val, "flags", &pers->flags, &pers->n_flags) < 0)
		return -1;
	json_path_pop(jp, mark);
	return 0;
}

int oci_parse_linux_object(struct json_path *jp, struct json_object *obj, struct oci_linux *lx)
{
	if (json_key_object_array(jp, obj, "namespaces", sizeof(struct oci_namespace), parse_namespace,
				  (void **)&lx->namespaces, &lx->n_namespaces) < 0 ||
	    check_namespaces_unique(jp, lx) < 0)
		return -1;
	if (json_key_object_array(jp, obj, "uidMappings", sizeof(struct oci_id_mapping), oci_parse_id_mapping,
				  (void **)&lx->uid_mappings, &lx->n_uid_mappings) < 0 ||
	    json_key_object_array(jp, obj, "gidMappings", sizeof(struct oci_id_mapping), oci_parse_id_mapping,
				  (void **)&lx->gid_mappings, &lx->n_gid_mappings) < 0 ||
	    parse_time_offsets(jp, obj, lx) < 0 ||
	    json_key_object_array(jp, obj, "devices", sizeof(struct oci_device), parse_device,
				  (void **)&lx->devices, &lx->n_devices) < 0 ||
	    json_key_string(jp, obj, "cgroupsPath", &lx->cgroups_path) < 0 ||
	    parse_resources(jp, obj, &lx->resources) < 0)
		return -1;
	if (json_key_string(jp, obj, "rootfsPropagation", &lx->rootfs_propagation) < 0)
		return -1;
	/* Go runtimes write "" for "not set". */
	if (lx->rootfs_propagation && lx->rootfs_propagation[0] == '\0') {
		free(lx->rootfs_propagation);
		lx->rootfs_propagation = NULL;
	}
	if (lx->rootfs_propagation &&
	    check_in_list(jp, "rootfsPropagation", lx->rootfs_propagation, propagation_names,
			  ARRAY_SIZE(propagation_names), "propagation") < 0)
		return -1;
	if (parse_seccomp(jp, obj, &lx->seccomp) < 0 ||
	    json_key_string_map(jp, obj, "sysctl", &lx->sysctl, &lx->n_sysctl) < 0 ||
	    parse_path_list(jp, obj, "maskedPaths", &lx->masked_paths, &lx->n_masked_paths,
			    &lx->has_masked_paths) < 0 ||
	    parse_path_list(jp, obj, "readonlyPaths", &lx->readonly_paths, &lx->n_readonly_paths,
			    &lx->has_readonly_paths) < 0 ||
	    json_key_string(jp, obj, "mountLabel", &lx->mount_label) < 0 ||
	    parse_intel_rdt(jp, obj, &lx->intel_rdt) < 0 || parse_personality(jp, obj, &lx->personality) < 0)
		return -1;
	return 0;
}
