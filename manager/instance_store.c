/* SPDX-License-Identifier: GPL-2.0-or-later */
/* instance.json: load, save, free, list. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "manager/image.h"
#include "manager/instance.h"

int instance_validate_name(const char *name, struct hangar_error *err)
{
	size_t len = strlen(name);
	if (len == 0 || len > INSTANCE_NAME_MAX)
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "invalid instance name '%s': 1 to %d characters", name,
					INSTANCE_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.')))
			return hangar_error_set(err, HANGAR_E_USAGE, 0,
						"invalid instance name '%s': use letters, digits, '-', '_' and '.', "
						"starting with a letter or digit",
						name);
	}
	return 0;
}

const char *instance_container_id(const struct instance *inst)
{
	return inst->name;
}

void instance_fill_paths(const struct hangar_paths *p, struct instance *inst)
{
	free(inst->dir);
	free(inst->rootfs);
	free(inst->upper);
	free(inst->work);
	free(inst->config_path);
	free(inst->log_path);
	free(inst->image_rootfs);
	inst->dir = xasprintf("%s/%s", p->instances_dir, inst->name);
	inst->rootfs = xasprintf("%s/rootfs", inst->dir);
	inst->upper = xasprintf("%s/upper", inst->dir);
	inst->work = xasprintf("%s/work", inst->dir);
	inst->config_path = xasprintf("%s/config.json", inst->dir);
	inst->log_path = xasprintf("%s/log", inst->dir);
	inst->image_rootfs = image_store_rootfs_path(p, inst->image);
}

void instance_free(struct instance *inst)
{
	if (inst == NULL)
		return;
	free(inst->name);
	free(inst->image);
	free(inst->created);
	free(inst->hostname);
	strv_free(inst->cmd);
	strv_free(inst->env);
	strv_free(inst->networks);
	strv_free(inst->publish);
	free(inst->ipv4);
	for (size_t i = 0; i < inst->n_mounts; i++) {
		free(inst->mounts[i].source);
		free(inst->mounts[i].destination);
	}
	free(inst->mounts);
	instance_limits_clear(&inst->limits);
	free(inst->uid_map);
	free(inst->gid_map);
	free(inst->dir);
	free(inst->rootfs);
	free(inst->upper);
	free(inst->work);
	free(inst->config_path);
	free(inst->log_path);
	free(inst->image_rootfs);
	free(inst);
}

static json_object *strv_to_json(char *const *v)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static void add_str(json_object *o, const char *key, const char *v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_string(v));
}

static json_object *id_map_to_json(const struct oci_id_mapping *m, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "containerID", json_object_new_int64(m[i].container_id));
		json_object_object_add(e, "hostID", json_object_new_int64(m[i].host_id));
		json_object_object_add(e, "size", json_object_new_int64(m[i].size));
		json_object_array_add(a, e);
	}
	return a;
}

/* Entries that are not three ids are dropped: the runtime then refuses a
 * mapping that does not cover what the instance needs, naming it. */
static struct oci_id_mapping *id_map_from_json(json_object *o, const char *key, size_t *n)
{
	json_object *a;
	*n = 0;
	if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array) ||
	    json_object_array_length(a) == 0)
		return NULL;
	size_t len = json_object_array_length(a);
	struct oci_id_mapping *m = xmalloc0(len * sizeof(*m));
	for (size_t i = 0; i < len; i++) {
		json_object *e = json_object_array_get_idx(a, i), *c, *h, *sz;
		if (!json_object_object_get_ex(e, "containerID", &c) ||
		    !json_object_object_get_ex(e, "hostID", &h) || !json_object_object_get_ex(e, "size", &sz))
			continue;
		m[(*n)++] = (struct oci_id_mapping){(uint32_t)json_object_get_int64(c),
						    (uint32_t)json_object_get_int64(h),
						    (uint32_t)json_object_get_int64(sz)};
	}
	if (*n == 0) {
		free(m);
		return NULL;
	}
	return m;
}

static char *instance_to_json(const struct instance *inst)
{
	json_object *o = json_object_new_object();
	add_str(o, "name", inst->name);
	add_str(o, "image", inst->image);
	add_str(o, "created", inst->created);
	add_str(o, "hostname", inst->hostname);
	json_object_object_add(o, "init", json_object_new_boolean(inst->init));
	if (inst->cmd)
		json_object_object_add(o, "cmd", strv_to_json(inst->cmd));
	json_object_object_add(o, "env", strv_to_json(inst->env));
	json_object_object_add(o, "networks", strv_to_json(inst->networks));
	/* The first one also under the old key, for readers that predate
	 * several networks per instance. */
	add_str(o, "network", inst->networks ? inst->networks[0] : NULL);
	json_object_object_add(o, "publish", strv_to_json(inst->publish));
	add_str(o, "ipv4", inst->ipv4);
	json_object *mounts = json_object_new_array();
	for (size_t i = 0; i < inst->n_mounts; i++) {
		json_object *m = json_object_new_object();
		add_str(m, "source", inst->mounts[i].source);
		add_str(m, "destination", inst->mounts[i].destination);
		json_object_object_add(m, "readonly", json_object_new_boolean(inst->mounts[i].readonly));
		json_object_array_add(mounts, m);
	}
	json_object_object_add(o, "mounts", mounts);
	const struct instance_limits *l = &inst->limits;
	json_object *lim = json_object_new_object();
	if (l->has_memory)
		json_object_object_add(lim, "memory", json_object_new_uint64(l->memory));
	if (l->has_cpus) {
		json_object_object_add(lim, "cpu_quota", json_object_new_uint64(l->cpu_quota));
		json_object_object_add(lim, "cpu_period", json_object_new_uint64(l->cpu_period));
	}
	add_str(lim, "cpuset", l->cpuset);
	if (l->has_io_weight)
		json_object_object_add(lim, "io_weight", json_object_new_int(l->io_weight));
	if (l->n_io_max) {
		json_object *a = json_object_new_array();
		for (size_t i = 0; i < l->n_io_max; i++) {
			const struct instance_io_max *io = &l->io_max[i];
			json_object *d = json_object_new_object();
			add_str(d, "device", io->device);
			json_object_object_add(d, "major", json_object_new_int64(io->major));
			json_object_object_add(d, "minor", json_object_new_int64(io->minor));
			json_object_object_add(d, "rbps", json_object_new_uint64(io->rbps));
			json_object_object_add(d, "wbps", json_object_new_uint64(io->wbps));
			json_object_object_add(d, "riops", json_object_new_uint64(io->riops));
			json_object_object_add(d, "wiops", json_object_new_uint64(io->wiops));
			json_object_array_add(a, d);
		}
		json_object_object_add(lim, "io_max", a);
	}
	if (l->has_pids)
		json_object_object_add(lim, "pids", json_object_new_int64(l->pids));
	json_object_object_add(o, "limits", lim);
	if (inst->n_uid_map)
		json_object_object_add(o, "uidMappings", id_map_to_json(inst->uid_map, inst->n_uid_map));
	if (inst->n_gid_map)
		json_object_object_add(o, "gidMappings", id_map_to_json(inst->gid_map, inst->n_gid_map));
	char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

int instance_save(const struct instance *inst, struct hangar_error *err)
{
	_cleanup_free_ char *json = instance_to_json(inst);
	_cleanup_free_ char *text = xasprintf("%s\n", json);
	_cleanup_free_ char *path = xasprintf("%s/instance.json", inst->dir);
	return write_file_atomic(path, text, strlen(text), 0600, err);
}

static char *get_str(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return xstrdup(json_object_get_string(v));
}

static char **get_strv(json_object *o, const char *key)
{
	json_object *a;
	if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
		return NULL;
	size_t n = json_object_array_length(a);
	char **v = xmalloc0((n + 1) * sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		if (json_object_is_type(e, json_type_string))
			v[k++] = xstrdup(json_object_get_string(e));
	}
	return v;
}

static bool get_u64(json_object *o, const char *key, uint64_t *out)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_uint64(v);
	return true;
}

static bool get_i64(json_object *o, const char *key, int64_t *out)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static void limits_from_json(json_object *lim, struct instance_limits *l)
{
	uint64_t u;
	l->has_memory = get_u64(lim, "memory", &l->memory);
	l->has_cpus = get_u64(lim, "cpu_quota", &l->cpu_quota) && get_u64(lim, "cpu_period", &l->cpu_period);
	l->cpuset = get_str(lim, "cpuset");
	if (get_u64(lim, "io_weight", &u)) {
		l->has_io_weight = true;
		l->io_weight = (uint16_t)u;
	}
	l->has_pids = get_i64(lim, "pids", &l->pids);
	json_object *a;
	if (json_object_object_get_ex(lim, "io_max", &a) && json_object_is_type(a, json_type_array)) {
		size_t n = json_object_array_length(a);
		l->io_max = xmalloc0((n ? n : 1) * sizeof(*l->io_max));
		for (size_t i = 0; i < n; i++) {
			json_object *d = json_object_array_get_idx(a, i);
			struct instance_io_max *io = &l->io_max[l->n_io_max++];
			io->device = get_str(d, "device");
			get_i64(d, "major", &io->major);
			get_i64(d, "minor", &io->minor);
			get_u64(d, "rbps", &io->rbps);
			get_u64(d, "wbps", &io->wbps);
			get_u64(d, "riops", &io->riops);
			get_u64(d, "wiops", &io->wiops);
		}
	}
}

int instance_load(const struct hangar_paths *p, const char *name, struct instance **out, struct hangar_error *err)
{
	if (instance_validate_name(name, err) < 0)
		return -1;
	_cleanup_free_ char *path = xasprintf("%s/%s/instance.json", p->instances_dir, name);
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, path, &text, NULL, err) < 0) {
		if (err->err_no == ENOENT)
			return hangar_error_set(err, HANGAR_E_NOTFOUND, 0, "no such instance: %s", name);
		return -1;
	}
	json_object *o = json_tokener_parse(text);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s: not a JSON object", path);
	}
	struct instance *inst = xmalloc0(sizeof(*inst));
	inst->name = xstrdup(name);
	inst->image = get_str(o, "image");
	if (inst->image == NULL)
		inst->image = xstrdup(IMAGE_DEFAULT_NAME);
	inst->created = get_str(o, "created");
	inst->hostname = get_str(o, "hostname");
	json_object *v;
	inst->init = json_object_object_get_ex(o, "init", &v) && json_object_get_boolean(v);
	inst->cmd = get_strv(o, "cmd");
	inst->env = get_strv(o, "env");
	inst->networks = get_strv(o, "networks");
	if (inst->networks == NULL || inst->networks[0] == NULL) {
		/* instance.json of a version with one network per instance */
		strv_free(inst->networks);
		inst->networks = xmalloc0(2 * sizeof(char *));
		inst->networks[0] = get_str(o, "network");
		if (inst->networks[0] == NULL)
			inst->networks[0] = xstrdup("none");
	}
	inst->publish = get_strv(o, "publish");
	inst->ipv4 = get_str(o, "ipv4");
	json_object *mounts;
	if (json_object_object_get_ex(o, "mounts", &mounts) && json_object_is_type(mounts, json_type_array)) {
		size_t n = json_object_array_length(mounts);
		inst->mounts = xmalloc0((n ? n : 1) * sizeof(*inst->mounts));
		for (size_t i = 0; i < n; i++) {
			json_object *m = json_object_array_get_idx(mounts, i);
			struct instance_mount *im = &inst->mounts[inst->n_mounts];
			im->source = get_str(m, "source");
			im->destination = get_str(m, "destination");
			im->readonly = json_object_object_get_ex(m, "readonly", &v) && json_object_get_boolean(v);
			if (im->source && im->destination)
				inst->n_mounts++;
			else {
				free(im->source);
				free(im->destination);
			}
		}
	}
	json_object *lim;
	if (json_object_object_get_ex(o, "limits", &lim) && json_object_is_type(lim, json_type_object))
		limits_from_json(lim, &inst->limits);
	inst->uid_map = id_map_from_json(o, "uidMappings", &inst->n_uid_map);
	inst->gid_map = id_map_from_json(o, "gidMappings", &inst->n_gid_map);
	json_object_put(o);
	instance_fill_paths(p, inst);
	*out = inst;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int instance_list_names(const struct hangar_paths *p, char ***names, struct hangar_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(p->instances_dir);
	if (d == NULL)
		return hangar_sys_error(err, "open %s", p->instances_dir);
	size_t n = 0, cap = 16;
	char **v = xmalloc0(cap * sizeof(char *));
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *json = xasprintf("%s/%s/instance.json", p->instances_dir, de->d_name);
		if (access(json, F_OK) < 0)
			continue;
		if (n + 2 > cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(char *));
			if (v == NULL)
				abort();
		}
		v[n++] = xstrdup(de->d_name);
		v[n] = NULL;
	}
	qsort(v, n, sizeof(char *), cmp_str);
	*names = v;
	return 0;
}
