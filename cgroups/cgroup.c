/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Back-end selection, cgroupsPath resolution, unit conversions and the
 * persistent form of a manager. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/util.h"

/* Callers may pass err == NULL; the back-ends always get a real one because
 * they inspect err_no after failures. */
#define ERR_OR_LOCAL(err)                                                                                    \
	struct hangar_error _local_err;                                                                      \
	if ((err) == NULL)                                                                                   \
	(err) = &_local_err

int cgroup_detect_mode(enum cgroup_mode *mode, struct hangar_error *err)
{
	const char *root = cgroup_root();
	struct statfs sfs;
	if (statfs(root, &sfs) < 0)
		return hangar_sys_error(err, "statfs %s", root);
	if ((unsigned long)sfs.f_type == CGROUP2_SUPER_MAGIC) {
		*mode = CGROUP_MODE_UNIFIED;
		return 0;
	}
	_cleanup_free_ char *unified = xasprintf("%s/unified", root);
	if (statfs(unified, &sfs) == 0 && (unsigned long)sfs.f_type == CGROUP2_SUPER_MAGIC)
		*mode = CGROUP_MODE_HYBRID;
	else
		*mode = CGROUP_MODE_LEGACY;
	return 0;
}

const char *cgroup_mode_name(enum cgroup_mode mode)
{
	switch (mode) {
	case CGROUP_MODE_UNIFIED:
		return "unified";
	case CGROUP_MODE_HYBRID:
		return "hybrid";
	case CGROUP_MODE_LEGACY:
		return "legacy";
	}
	return "unknown";
}

uint64_t cgroup_cpu_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cgroup_blkio_weight_to_io_weight(uint64_t weight)
{
	if (weight == 0)
		return 0;
	if (weight < 10)
		weight = 10;
	if (weight > 1000)
		weight = 1000;
	return 1 + (weight - 10) * 9999 / 990;
}

int cgroup_swap_to_v2(int64_t swap, int64_t limit, int64_t *out, bool *write_zero, struct hangar_error *err)
{
	*write_zero = false;
	/* v1 compatibility: an unlimited memory with unset swap means both
	 * unlimited. */
	if (limit == -1 && swap == 0) {
		*out = -1;
		return 0;
	}
	if (swap == -1 || swap == 0) {
		*out = swap;
		return 0;
	}
	if (limit == 0 || limit == -1)
		return hangar_error_set(
		    err, HANGAR_E_CONFIG, 0,
		    "linux.resources.memory.swap: unable to set swap limit without memory limit");
	if (limit < 0)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"linux.resources.memory.limit: invalid value %lld", (long long)limit);
	if (swap < limit)
		return hangar_error_set(
		    err, HANGAR_E_CONFIG, 0,
		    "linux.resources.memory.swap: memory+swap limit %lld should be >= memory limit %lld",
		    (long long)swap, (long long)limit);
	*out = swap - limit;
	*write_zero = *out == 0;
	return 0;
}

int cgroup_expand_slice(const char *slice, char **out, struct hangar_error *err)
{
	const char *suffix = ".slice";
	size_t len = strlen(slice), slen = strlen(suffix);
	if (len < slen || strcmp(slice + len - slen, suffix) != 0 || strchr(slice, '/'))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "linux.cgroupsPath: invalid slice name '%s'",
					slice);
	if (strcmp(slice, "-.slice") == 0) {
		*out = xstrdup("");
		return 0;
	}
	_cleanup_free_ char *name = strndup(slice, len - slen);
	if (name == NULL)
		abort();
	if (name[0] == '-' || name[strlen(name) - 1] == '-' || strstr(name, "--"))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "linux.cgroupsPath: invalid slice name '%s'",
					slice);
	/* systemd nests "a-b-c.slice" as a.slice/a-b.slice/a-b-c.slice. */
	size_t cap = 2 * (len + 8) * (strlen(name) + 1);
	_cleanup_free_ char *path = xmalloc0(cap);
	size_t used = 0;
	for (char *dash = name;; dash++) {
		if (*dash != '-' && *dash != '\0')
			continue;
		used += (size_t)snprintf(path + used, cap - used, "/%.*s.slice", (int)(dash - name), name);
		if (*dash == '\0')
			break;
	}
	*out = steal_pointer(&path);
	return 0;
}

static int check_components(const char *path, struct hangar_error *err)
{
	_cleanup_free_ char *copy = xstrdup(path);
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save))
		if (strcmp(c, "..") == 0 || strcmp(c, ".") == 0)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"linux.cgroupsPath: '%s' must not contain '.' or '..'", path);
	return 0;
}

/* Collapse repeated and trailing slashes; the result starts with "/". */
static char *normalize_path(const char *path)
{
	char *out = xmalloc0(strlen(path) + 2);
	size_t used = 0;
	out[used++] = '/';
	for (const char *s = path; *s; s++) {
		if (*s == '/' && out[used - 1] == '/')
			continue;
		out[used++] = *s;
	}
	while (used > 1 && out[used - 1] == '/')
		used--;
	out[used] = '\0';
	return out;
}

int cgroup_resolve_path(const char *path, const char *id, char **out, struct hangar_error *err)
{
	if (id == NULL || *id == '\0' || strchr(id, '/'))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "invalid container id '%s'", id ? id : "");
	if (path == NULL || *path == '\0') {
		*out = xasprintf("/hangar/%s", id);
		return 0;
	}
	const char *c1 = strchr(path, ':');
	if (path[0] != '/' && c1 && strchr(c1 + 1, ':') && !strchr(strchr(c1 + 1, ':') + 1, ':')) {
		/* systemd form "slice:prefix:name" */
		const char *c2 = strchr(c1 + 1, ':');
		_cleanup_free_ char *slice = strndup(path, (size_t)(c1 - path));
		_cleanup_free_ char *prefix = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
		const char *name = c2 + 1;
		if (slice == NULL || prefix == NULL)
			abort();
		if (*name == '\0' || strchr(name, '/') || strchr(prefix, '/'))
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"linux.cgroupsPath: invalid systemd path '%s'", path);
		_cleanup_free_ char *slice_path = NULL;
		if (cgroup_expand_slice(*slice ? slice : "system.slice", &slice_path, err) < 0)
			return -1;
		/* A name that is already a unit keeps its suffix (runc). */
		size_t nlen = strlen(name);
		bool is_unit = (nlen > 6 && strcmp(name + nlen - 6, ".scope") == 0) ||
			       (nlen > 6 && strcmp(name + nlen - 6, ".slice") == 0);
		if (is_unit)
			*out = xasprintf("%s/%s", slice_path, name);
		else if (*prefix)
			*out = xasprintf("%s/%s-%s.scope", slice_path, prefix, name);
		else
			*out = xasprintf("%s/%s.scope", slice_path, name);
		return check_components(*out, err);
	}
	if (check_components(path, err) < 0)
		return -1;
	_cleanup_free_ char *norm = normalize_path(path);
	if (strcmp(norm, "/") == 0)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"linux.cgroupsPath: '%s' names the root cgroup", path);
	if (path[0] == '/')
		*out = steal_pointer(&norm);
	else
		*out = xasprintf("/hangar%s", norm);
	return 0;
}

/* sd_booted(3): systemd is the init system when this directory exists. */
static bool systemd_is_init(void)
{
	struct stat sb;
	return lstat("/run/systemd/system", &sb) == 0 && S_ISDIR(sb.st_mode);
}

int cgroup_systemd_path(const char *path, const char *id, char **out, struct hangar_error *err)
{
	if (!systemd_is_init())
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"--systemd-cgroup: systemd is not the init system here (no "
					"/run/systemd/system); use the cgroupfs driver (leave the flag out)");
	if (path == NULL || *path == '\0') {
		/* runc's default for the systemd driver */
		*out = xasprintf("system.slice:hangar:%s", id ? id : "");
		return 0;
	}
	const char *c1 = strchr(path, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (path[0] == '/' || c2 == NULL || strchr(c2 + 1, ':'))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"linux.cgroupsPath: with --systemd-cgroup it must be "
					"\"slice:prefix:name\", not '%s'",
					path);
	*out = xstrdup(path);
	return 0;
}

static struct cgroup_manager *manager_new(enum cgroup_mode mode)
{
	struct cgroup_manager *m = xmalloc0(sizeof(*m));
	m->mode = mode;
	m->ops = mode == CGROUP_MODE_UNIFIED ? &cgroup_v2_ops : &cgroup_v1_ops;
	m->root = xstrdup(cgroup_root());
	m->dirfd = -1;
	return m;
}

bool cgroup_config_wants_systemd(const struct oci_config *cfg)
{
	const char *v = oci_config_annotation(cfg, CGROUP_ANNOTATION_SYSTEMD);
	return v && strcmp(v, "true") == 0;
}

int cgroup_manager_create(const struct cgroup_spec *spec, const struct oci_resources *r,
			  struct cgroup_manager **out, struct hangar_error *err)
{
	ERR_OR_LOCAL(err);
	_cleanup_free_ char *systemd_path = NULL;
	if (spec->systemd && cgroup_systemd_path(spec->path, spec->id, &systemd_path, err) < 0)
		return -1;
	enum cgroup_mode mode;
	if (cgroup_check_hugepage_sizes(r, err) < 0 || cgroup_detect_mode(&mode, err) < 0)
		return -1;
	struct cgroup_manager *m = manager_new(mode);
	m->id = xstrdup(spec->id);
	m->rootless = spec->rootless;
	m->systemd_subtree = spec->systemd_subtree;
	if (cgroup_resolve_path(systemd_path ? systemd_path : spec->path, spec->id, &m->path, err) < 0) {
		cgroup_manager_free(m);
		return -1;
	}
	if (str_has_prefix(m->path, "/hangar/"))
		for (const char *c = m->path; *c; c++)
			m->prune_depth += *c == '/';
	if (m->ops->create(m, r, err) < 0) {
		cgroup_manager_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

const char *cgroup_manager_warning(struct cgroup_manager *m)
{
	return m->warning;
}

const char *cgroup_manager_version(struct cgroup_manager *m)
{
	return m->ops->name;
}

const char *cgroup_manager_path(struct cgroup_manager *m)
{
	return m->path;
}

int cgroup_manager_dirfd(struct cgroup_manager *m)
{
	return m->dirfd;
}

bool cgroup_manager_has_cgroup(const struct cgroup_manager *m)
{
	return !m->no_cgroup;
}

static int no_cgroup_error(struct cgroup_manager *m, const char *what, struct hangar_error *err)
{
	return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0, "%s: container %s has no cgroup (%s)", what,
				m->id, m->warning ? m->warning : "rootless");
}

int cgroup_manager_enter(struct cgroup_manager *m, pid_t pid, struct hangar_error *err)
{
	ERR_OR_LOCAL(err);
	if (m->no_cgroup)
		return 0;
	return m->ops->enter(m, pid, err);
}

int cgroup_manager_enter_for_exec(struct cgroup_manager *m, pid_t pid, pid_t init_pid,
				  struct hangar_error *err)
{
	ERR_OR_LOCAL(err);
	if (cgroup_manager_enter(m, pid, err) == 0)
		return 0;
	if (err->err_no != EBUSY || m->mode != CGROUP_MODE_UNIFIED || init_pid <= 0)
		return -1;
	struct hangar_error first = *err;
	_cleanup_free_ char *proc = xasprintf("/proc/%d/cgroup", (int)init_pid);
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, proc, &text, NULL, err) < 0)
		return -1;
	char *line = strstr(text, "0::");
	if (line != text && (line == NULL || line[-1] != '\n')) {
		*err = first;
		return -1;
	}
	char *path = line + 3;
	path[strcspn(path, "\n")] = '\0';
	/* Only somewhere below the container's own cgroup; ".." cannot
	 * appear in a path the kernel reports. */
	size_t len = strlen(m->path);
	if (strncmp(path, m->path, len) != 0 || path[len] != '/' || strstr(path, "/..")) {
		*err = first;
		return -1;
	}
	_cleanup_free_ char *dir = xasprintf("%s%s", m->root, path);
	_cleanup_free_ char *v = xasprintf("%d", (int)pid);
	if (cgroup_write(dir, "cgroup.procs", v, NULL, err) < 0)
		return hangar_error_prefix(err, "move pid %d into the init's cgroup %s", (int)pid, path);
	return 0;
}

int cgroup_manager_self_enter_open(struct cgroup_manager *m, struct hangar_error *err)
{
	ERR_OR_LOCAL(err);
	if (m->no_cgroup || m->ops->self_enter_open == NULL)
		return 0;
	return m->ops->self_enter_open(m, err) < 0 ? -1 : 1;
}

int cgroup_manager_self_enter(struct cgroup_manager *m, struct hangar_error *err)
{
	ERR_OR_LOCAL(err);
	if (m->no_cgroup || m->ops->self_enter == NULL)
		return 0;
	return m->ops->self_enter(m, err);
}

void cgroup_manager_self_enter_close(struct cgroup_manager *m)
{
	if (m && !m->no_cgroup && m->ops->self_enter_close)
		m->ops->self_enter_close(m);
}

int cgroup_manager_update(struct cgroup_manager *m, const struct oci_resources *r, struct hangar_error *err)
{
	ERR_OR_LOCAL(err);
	if (m->no_cgroup || m->skip_limits)
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0, "update: cannot set limits for %s: %s",
					m->id, m->warning ? m->warning : "no cgroup");
	if (cgroup_check_hugepage_sizes(r, err) < 0)
		return -1;
	/* All or nothing: a part refused after others were written (memory
	 * below usage after cpu.max, memsw after limit_in_bytes) puts the
	 * written files back, so the cgroup still matches the stored config. */
	struct cgroup_journal journal;
	cgroup_journal_begin(&journal);
	int rc = m->ops->update(m, r, err);
	cgroup_journal_end();
	if (rc < 0)
		cgroup_journal_rollback(&journal);
	cgroup_journal_free(&journal);
	return rc;
}

int cgroup_manager_freeze(struct cgroup_manager *m, struct hangar_error *err)
{
	ERR_OR_LOCAL(err);
	if (m->no_cgroup)
		return no_cgroup_error(m, "freeze", err);
	return m->ops->set_frozen(m, true, err);
}

int cgroup_manager_thaw(struct cgroup_manager *m, struct hangar_error *err)
{
	ERR_OR_LOCAL(err);
	if (m->no_cgroup)
		return no_cgroup_error(m, "thaw", err);
	return m->ops->set_frozen(m, false, err);
}

int cgroup_manager_is_frozen(struct cgroup_manager *m, bool *frozen, struct hangar_error *err)
{
	ERR_OR_LOCAL(err);
	if (m->no_cgroup) {
		*frozen = false;
		return 0;
	}
	return m->ops->is_frozen(m, frozen, err);
}

int cgroup_manager_kill_all(struct cgroup_manager *m, int sig, struct hangar_error *err)
{
	ERR_OR_LOCAL(err);
	if (m->no_cgroup)
		return no_cgroup_error(m, "kill --all", err);
	return m->ops->kill_all(m, sig, err);
}

int cgroup_manager_pids(struct cgroup_manager *m, pid_t **pids, size_t *n, struct hangar_error *err)
{
	ERR_OR_LOCAL(err);
	*pids = NULL;
	*n = 0;
	if (m->no_cgroup)
		return no_cgroup_error(m, "ps", err);
	const char *dir = m->ops->procs_dir(m);
	if (dir == NULL)
		return hangar_error_set(err, HANGAR_E_NOTFOUND, 0, "cgroup %s: no hierarchy lists processes",
					m->path);
	if (cgroup_collect_pids(dir, pids, n, err) < 0) {
		free(*pids);
		*pids = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

int cgroup_manager_stats(struct cgroup_manager *m, struct cgroup_stats *st, struct hangar_error *err)
{
	ERR_OR_LOCAL(err);
	memset(st, 0, sizeof(*st));
	if (m->no_cgroup)
		return no_cgroup_error(m, "stats", err);
	if (m->ops->stats(m, st, err) < 0) {
		cgroup_stats_clear(st);
		return -1;
	}
	return 0;
}

void cgroup_stats_clear(struct cgroup_stats *st)
{
	free(st->cpu_percpu_ns);
	free(st->cpu_percpu_user_ns);
	free(st->cpu_percpu_system_ns);
	for (size_t i = 0; i < st->n_mem_raw; i++)
		free(st->mem_raw[i].key);
	free(st->mem_raw);
	free(st->io);
	free(st->hugetlb);
	memset(st, 0, sizeof(*st));
}

int cgroup_destroy_depth(const struct cgroup_manager *m, int created_depth)
{
	return created_depth > m->prune_depth ? created_depth : m->prune_depth;
}

int cgroup_manager_destroy(struct cgroup_manager *m, struct hangar_error *err)
{
	ERR_OR_LOCAL(err);
	if (m->no_cgroup)
		return 0;
	return m->ops->destroy(m, err);
}

int cgroup_manager_oom_event_fd(struct cgroup_manager *m, struct hangar_error *err)
{
	ERR_OR_LOCAL(err);
	if (m->no_cgroup)
		return no_cgroup_error(m, "events", err);
	return m->ops->oom_event_fd(m, err);
}

void cgroup_manager_free(struct cgroup_manager *m)
{
	if (m == NULL)
		return;
	cgroup_manager_self_enter_close(m);
	if (m->ops && m->ops->free)
		m->ops->free(m);
	if (m->dirfd >= 0)
		close(m->dirfd);
	free(m->root);
	free(m->path);
	free(m->id);
	free(m->warning);
	free(m->dir);
	free(m->base);
	free(m);
}

/* The persisted form is a small JSON object; "version" lets a later hangar
 * refuse a format it does not understand instead of misreading it. */
char *cgroup_manager_serialize(struct cgroup_manager *m)
{
	json_object *obj = json_object_new_object();
	json_object_object_add(obj, "format", json_object_new_int(1));
	json_object_object_add(obj, "version", json_object_new_string(m->ops->name));
	json_object_object_add(obj, "mode", json_object_new_string(cgroup_mode_name(m->mode)));
	json_object_object_add(obj, "root", json_object_new_string(m->root));
	json_object_object_add(obj, "path", json_object_new_string(m->path));
	json_object_object_add(obj, "id", json_object_new_string(m->id));
	json_object_object_add(obj, "rootless", json_object_new_boolean(m->rootless));
	json_object_object_add(obj, "no_cgroup", json_object_new_boolean(m->no_cgroup));
	json_object_object_add(obj, "skip_limits", json_object_new_boolean(m->skip_limits));
	json_object_object_add(obj, "prune_depth", json_object_new_int(m->prune_depth));
	if (m->warning)
		json_object_object_add(obj, "warning", json_object_new_string(m->warning));
	m->ops->serialize(m, obj);
	char *s = xstrdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	json_object_put(obj);
	return s;
}

static const char *json_str(json_object *obj, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool json_flag(json_object *obj, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(obj, key, &v) && json_object_get_boolean(v);
}

int cgroup_manager_open(const char *serialized, struct cgroup_manager **out, struct hangar_error *err)
{
	ERR_OR_LOCAL(err);
	json_object *obj = json_tokener_parse(serialized ? serialized : "");
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		if (obj)
			json_object_put(obj);
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "cgroup state: not a JSON object");
	}
	const char *version = json_str(obj, "version"), *mode = json_str(obj, "mode");
	const char *root = json_str(obj, "root"), *path = json_str(obj, "path"), *id = json_str(obj, "id");
	if (version == NULL || mode == NULL || root == NULL || path == NULL || id == NULL || path[0] != '/') {
		json_object_put(obj);
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"cgroup state: missing version/mode/root/path/id");
	}
	enum cgroup_mode cmode;
	if (strcmp(mode, "unified") == 0)
		cmode = CGROUP_MODE_UNIFIED;
	else if (strcmp(mode, "hybrid") == 0)
		cmode = CGROUP_MODE_HYBRID;
	else if (strcmp(mode, "legacy") == 0)
		cmode = CGROUP_MODE_LEGACY;
	else {
		/* The strings belong to obj: format before releasing it. */
		hangar_error_set(err, HANGAR_E_CONFIG, 0, "cgroup state: unknown mode '%s'", mode);
		json_object_put(obj);
		return -1;
	}
	struct cgroup_manager *m = manager_new(cmode);
	if (strcmp(version, m->ops->name) != 0) {
		hangar_error_set(err, HANGAR_E_CONFIG, 0, "cgroup state: version %s does not match mode %s",
				 version, mode);
		json_object_put(obj);
		cgroup_manager_free(m);
		return -1;
	}
	free(m->root);
	m->root = xstrdup(root);
	m->path = xstrdup(path);
	m->id = xstrdup(id);
	m->rootless = json_flag(obj, "rootless");
	m->no_cgroup = json_flag(obj, "no_cgroup");
	m->skip_limits = json_flag(obj, "skip_limits");
	m->warning = xstrdup(json_str(obj, "warning"));
	json_object *depth;
	if (json_object_object_get_ex(obj, "prune_depth", &depth))
		m->prune_depth = json_object_get_int(depth);
	int r = m->ops->deserialize(m, obj, err);
	json_object_put(obj);
	if (r < 0) {
		cgroup_manager_free(m);
		return -1;
	}
	*out = m;
	return 0;
}
