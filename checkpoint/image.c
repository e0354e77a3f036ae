/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hangar manifest stored in a checkpoint image directory. */
#include "checkpoint/image.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

static const char *const mount_kind_names[] = {
    [CHECKPOINT_MOUNT_BIND] = "bind",
    [CHECKPOINT_MOUNT_CGROUP] = "cgroup",
    [CHECKPOINT_MOUNT_HOST] = "host",
    [CHECKPOINT_MOUNT_CONSOLE] = "console",
};

static const char *const fd_kind_names[] = {
    [CHECKPOINT_FD_INTERNAL] = "internal",
    [CHECKPOINT_FD_PIPE] = "pipe",
    [CHECKPOINT_FD_FILE] = "file",
    [CHECKPOINT_FD_TTY] = "tty",
};

const char *checkpoint_mount_kind_name(enum checkpoint_mount_kind k)
{
	return (unsigned)k < ARRAY_SIZE(mount_kind_names) ? mount_kind_names[k] : "?";
}

static int name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

static void add_str(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static void add_bool(json_object *o, const char *k, bool v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

int checkpoint_manifest_write(const char *image_dir, const struct checkpoint_manifest *m,
			      struct hangar_error *err)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(1));
	add_str(o, "id", m->id);
	add_str(o, "bundle", m->bundle);
	add_str(o, "rootfs", m->rootfs);
	add_str(o, "cgroup_path", m->cgroup_path);
	add_str(o, "criu_version", m->criu_version);
	add_str(o, "created", m->created);
	add_bool(o, "terminal", m->terminal);
	add_bool(o, "external_netns", m->external_netns);
	add_bool(o, "nftables_lock", m->nftables_lock);
	add_bool(o, "tcp_established", m->tcp_established);
	add_bool(o, "tcp_close", m->tcp_close);
	add_bool(o, "ext_unix_sk", m->ext_unix_sk);
	add_bool(o, "shell_job", m->shell_job);
	add_bool(o, "file_locks", m->file_locks);
	add_bool(o, "empty_netns", m->empty_netns);
	json_object *fds = json_object_new_array();
	for (size_t i = 0; i < 3; i++) {
		json_object *f = json_object_new_object();
		add_str(f, "kind", fd_kind_names[m->stdio[i].kind]);
		add_str(f, "path", m->stdio[i].path);
		add_str(f, "key", m->stdio[i].key);
		json_object_array_add(fds, f);
	}
	json_object_object_add(o, "stdio", fds);
	json_object *mounts = json_object_new_array();
	for (size_t i = 0; i < m->n_mounts; i++) {
		json_object *e = json_object_new_object();
		add_str(e, "kind", checkpoint_mount_kind_name(m->mounts[i].kind));
		add_str(e, "mount_point", m->mounts[i].mount_point);
		add_str(e, "root", m->mounts[i].root);
		add_str(e, "host_mount", m->mounts[i].host_mount);
		json_object_array_add(mounts, e);
	}
	json_object_object_add(o, "external_mounts", mounts);
	const char *text =
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	_cleanup_free_ char *path = xasprintf("%s/%s", image_dir, CHECKPOINT_MANIFEST);
	int rc = write_file_atomic(path, text, strlen(text), 0600, err);
	json_object_put(o);
	if (rc < 0)
		return -1;

	/* runc's descriptors.json, for tools that read it (podman). */
	json_object *d = json_object_new_array();
	for (size_t i = 0; i < 3; i++)
		json_object_array_add(d, json_object_new_string(m->stdio[i].path ? m->stdio[i].path : ""));
	_cleanup_free_ char *dpath = xasprintf("%s/%s", image_dir, CHECKPOINT_DESCRIPTORS);
	const char *dtext =
	    json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	rc = write_file_atomic(dpath, dtext, strlen(dtext), 0600, err);
	json_object_put(d);
	return rc;
}

static char *get_str(json_object *o, const char *k)
{
	json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return xstrdup(json_object_get_string(v));
}

static bool get_bool(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) && json_object_get_boolean(v);
}

int checkpoint_manifest_read(const char *image_dir, struct checkpoint_manifest *out, struct hangar_error *err)
{
	memset(out, 0, sizeof(*out));
	_cleanup_free_ char *path = xasprintf("%s/%s", image_dir, CHECKPOINT_MANIFEST);
	_cleanup_free_ char *text = NULL;
	struct hangar_error rerr;
	if (read_file_at(AT_FDCWD, path, &text, NULL, &rerr) < 0) {
		if (rerr.err_no == ENOENT)
			return hangar_error_set(
			    err, HANGAR_E_NOTFOUND, 0,
			    "%s is not a hangar checkpoint (no %s: the dump did not finish)", image_dir,
			    CHECKPOINT_MANIFEST);
		*err = rerr;
		return -1;
	}
	json_object *o = json_tokener_parse(text);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s: not valid JSON", path);
	}
	out->id = get_str(o, "id");
	out->bundle = get_str(o, "bundle");
	out->rootfs = get_str(o, "rootfs");
	out->cgroup_path = get_str(o, "cgroup_path");
	out->criu_version = get_str(o, "criu_version");
	out->created = get_str(o, "created");
	out->terminal = get_bool(o, "terminal");
	out->external_netns = get_bool(o, "external_netns");
	out->nftables_lock = get_bool(o, "nftables_lock");
	out->tcp_established = get_bool(o, "tcp_established");
	out->tcp_close = get_bool(o, "tcp_close");
	out->ext_unix_sk = get_bool(o, "ext_unix_sk");
	out->shell_job = get_bool(o, "shell_job");
	out->file_locks = get_bool(o, "file_locks");
	out->empty_netns = get_bool(o, "empty_netns");
	int rc = 0;
	json_object *fds;
	if (json_object_object_get_ex(o, "stdio", &fds) && json_object_is_type(fds, json_type_array)) {
		for (size_t i = 0; i < 3 && i < json_object_array_length(fds); i++) {
			json_object *f = json_object_array_get_idx(fds, i);
			_cleanup_free_ char *kind = get_str(f, "kind");
			int k = name_index(fd_kind_names, ARRAY_SIZE(fd_kind_names), kind);
			if (k < 0) {
				rc = hangar_error_set(err, HANGAR_E_CONFIG, 0,
						      "%s: stdio[%zu].kind: unknown '%s'", path, i,
						      kind ? kind : "");
				break;
			}
			out->stdio[i].kind = (enum checkpoint_fd_kind)k;
			out->stdio[i].path = get_str(f, "path");
			out->stdio[i].key = get_str(f, "key");
		}
	}
	json_object *mounts;
	if (rc == 0 && json_object_object_get_ex(o, "external_mounts", &mounts) &&
	    json_object_is_type(mounts, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(mounts); i++) {
			json_object *e = json_object_array_get_idx(mounts, i);
			_cleanup_free_ char *kind = get_str(e, "kind");
			_cleanup_free_ char *mp = get_str(e, "mount_point");
			_cleanup_free_ char *root = get_str(e, "root");
			_cleanup_free_ char *host = get_str(e, "host_mount");
			int k = name_index(mount_kind_names, ARRAY_SIZE(mount_kind_names), kind);
			if (k < 0 || mp == NULL) {
				rc = hangar_error_set(
				    err, HANGAR_E_CONFIG, 0,
				    "%s: external_mounts[%zu]: needs a known kind and a mount_point", path,
				    i);
				break;
			}
			checkpoint_manifest_add_mount(out, (enum checkpoint_mount_kind)k, mp, root, host);
		}
	}
	json_object_put(o);
	if (rc == 0 && (out->id == NULL || out->rootfs == NULL))
		rc = hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s: id and rootfs are required", path);
	if (rc < 0)
		checkpoint_manifest_clear(out);
	return rc;
}

void checkpoint_manifest_add_mount(struct checkpoint_manifest *m, enum checkpoint_mount_kind kind,
				   const char *mount_point, const char *root, const char *host_mount)
{
	struct checkpoint_mount *n = realloc(m->mounts, (m->n_mounts + 1) * sizeof(*n));
	if (n == NULL)
		abort();
	m->mounts = n;
	struct checkpoint_mount *e = &m->mounts[m->n_mounts++];
	e->kind = kind;
	e->mount_point = xstrdup(mount_point);
	e->root = root ? xstrdup(root) : NULL;
	e->host_mount = host_mount ? xstrdup(host_mount) : NULL;
}

void checkpoint_manifest_clear(struct checkpoint_manifest *m)
{
	free(m->id);
	free(m->bundle);
	free(m->rootfs);
	free(m->cgroup_path);
	free(m->criu_version);
	free(m->created);
	for (size_t i = 0; i < 3; i++) {
		free(m->stdio[i].path);
		free(m->stdio[i].key);
	}
	for (size_t i = 0; i < m->n_mounts; i++) {
		free(m->mounts[i].mount_point);
		free(m->mounts[i].root);
		free(m->mounts[i].host_mount);
	}
	free(m->mounts);
	memset(m, 0, sizeof(*m));
}

char *checkpoint_replace_prefix(const char *path, const char *old_prefix, const char *new_prefix)
{
	size_t n = strlen(old_prefix);
	while (n > 1 && old_prefix[n - 1] == '/')
		n--;
	if (strncmp(path, old_prefix, n) != 0 || (path[n] != '\0' && path[n] != '/'))
		return NULL;
	if (strcmp(old_prefix, "/") == 0)
		return xasprintf("%s%s", strcmp(new_prefix, "/") == 0 ? "" : new_prefix, path);
	return xasprintf("%s%s", new_prefix, path + n);
}
