/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "runtime/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "config/oci.h"
#include "runtime/status_hooks.h"

static const char *status_names[] = {
	[STATUS_CREATING] = "creating", [STATUS_CREATED] = "created", [STATUS_RUNNING] = "running",
	[STATUS_PAUSED] = "paused",	[STATUS_STOPPED] = "stopped",
};

const char *container_status_name(enum container_status s)
{
	return (unsigned)s < ARRAY_SIZE(status_names) ? status_names[s] : "unknown";
}

bool state_rootless(void)
{
	if (geteuid() != 0)
		return true;
	/* uid 0 of a user namespace that is not the initial one (whose map is
	 * the whole identity) cannot own host cgroups or /run: that is podman's
	 * rootless namespace, or rootlesskit's.  runc's rule: rootless unless
	 * $USER says "root" (a privileged user namespace set up by root). */
	_cleanup_free_ char *map = NULL;
	struct hangar_error ignored;
	if (read_file_at(AT_FDCWD, "/proc/self/uid_map", &map, NULL, &ignored) < 0)
		return false;
	unsigned long inner, outer, count;
	if (sscanf(map, "%lu %lu %lu", &inner, &outer, &count) == 3 && inner == 0 && outer == 0 &&
	    count == 4294967295UL)
		return false;
	const char *user = getenv("USER");
	return user == NULL || strcmp(user, "root") != 0;
}

char *state_default_root(const char *name)
{
	if (!state_rootless())
		return xasprintf("/run/%s", name);
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg)
		return xasprintf("%s/%s", xdg, name);
	return xasprintf("/tmp/%s-%u", name, (unsigned)geteuid());
}

/* A state root decides which processes we signal and which directories we
 * remove, so one that another user can write (or swap for a symlink) is a
 * way to make us act on their behalf.  /tmp is shared, so the fallback is
 * only used when it is ours alone. */
int state_check_private_dir(const char *path, const char *what, struct hangar_error *err)
{
	struct stat sb;
	if (lstat(path, &sb) < 0)
		return hangar_error_set(err, HANGAR_E_SYS, errno, "%s %s", what, path);
	if (!S_ISDIR(sb.st_mode))
		return hangar_error_set(err, HANGAR_E_STATE, 0, "%s %s is not a directory (a symlink?): refusing it",
					what, path);
	if (sb.st_uid != geteuid())
		return hangar_error_set(err, HANGAR_E_STATE, 0,
					"%s %s is owned by uid %u, not by us (uid %u): refusing it", what, path,
					(unsigned)sb.st_uid, (unsigned)geteuid());
	if (sb.st_mode & 022)
		return hangar_error_set(err, HANGAR_E_STATE, 0,
					"%s %s has mode %04o (writable by others): refusing it", what, path,
					(unsigned)(sb.st_mode & 07777));
	return 0;
}

int state_make_private_dir(const char *path, const char *what, struct hangar_error *err)
{
	/* One level only: mkdir -p would walk through a symlinked or foreign
	 * parent without a word; the caller checks (or made) the parent. */
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return hangar_error_set(err, HANGAR_E_SYS, errno, "%s %s", what, path);
	if (state_check_private_dir(path, what, err) < 0)
		return -1;
	/* Owned by us but readable by others: tighten rather than refuse, since
	 * only we can have made it so. */
	struct stat sb;
	if (lstat(path, &sb) == 0 && (sb.st_mode & 077) && chmod(path, 0700) < 0)
		return hangar_error_set(err, HANGAR_E_SYS, errno, "chmod 0700 %s", path);
	return 0;
}

int state_default_root_checked(const char *name, char **out, struct hangar_error *err)
{
	if (!state_rootless()) {
		*out = state_default_root(name);
		return 0;
	}
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg) {
		if (state_check_private_dir(xdg, "XDG_RUNTIME_DIR", err) < 0)
			return -1;
		*out = state_default_root(name);
		return 0;
	}
	_cleanup_free_ char *tmp = xasprintf("/tmp/%s-%u", name, (unsigned)geteuid());
	if (state_make_private_dir(tmp, "XDG_RUNTIME_DIR is not set and the fallback state root", err) < 0)
		return hangar_error_prefix(err, "no safe state root (set XDG_RUNTIME_DIR or pass --root)");
	*out = steal_pointer(&tmp);
	return 0;
}

int state_validate_id(const char *id, struct hangar_error *err)
{
	if (id == NULL || *id == '\0')
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "container id cannot be empty");
	if (strlen(id) > 1024)
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "invalid container id: longer than 1024 bytes");
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "invalid container id '%s'", id);
	for (const char *p = id; *p; p++) {
		unsigned char c = (unsigned char)*p;
		/* runc accepts [\w+-\.]; we do the same so ids are safe file names. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '+' || c == '-' || c == '.'))
			return hangar_error_set(err, HANGAR_E_USAGE, 0,
						"invalid container id '%s': only letters, digits and _+-. are allowed",
						id);
	}
	return 0;
}

int state_create_dir(const char *root, const char *id, char **dir_out, struct hangar_error *err)
{
	if (mkdir_p(root, 0711, err) < 0)
		return -1;
	char *dir = xasprintf("%s/%s", root, id);
	if (mkdir(dir, 0711) < 0) {
		int saved = errno;
		free(dir);
		if (saved == EEXIST)
			return hangar_error_set(err, HANGAR_E_EXISTS, 0, "container %s already exists", id);
		return hangar_error_set(err, HANGAR_E_SYS, saved, "mkdir %s/%s", root, id);
	}
	*dir_out = dir;
	return 0;
}

static void add_str(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

int state_save(const struct container_state *st, struct hangar_error *err)
{
	json_object *o = json_object_new_object();
	add_str(o, "id", st->id);
	add_str(o, "bundle", st->bundle);
	add_str(o, "rootfs", st->rootfs);
	json_object_object_add(o, "pid", json_object_new_int(st->pid));
	json_object_object_add(o, "pid_start", json_object_new_uint64(st->pid_start));
	add_str(o, "created", st->created);
	json_object_object_add(o, "owner", json_object_new_int64(st->owner));
	add_str(o, "cgroup", st->cgroup);
	json_object_object_add(o, "systemd_cgroup", json_object_new_boolean(st->systemd_cgroup));
	json_object_object_add(o, "rootless", json_object_new_boolean(st->rootless));
	add_str(o, "console_socket", st->console_socket);
	json_object_object_add(o, "exit_status", json_object_new_int(st->exit_status));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	_cleanup_free_ char *path = xasprintf("%s/state.json", st->dir);
	int r = write_file_atomic(path, text, strlen(text), 0600, err);
	json_object_put(o);
	return r;
}

static char *get_str(json_object *o, const char *k)
{
	json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return xstrdup(json_object_get_string(v));
}

static int64_t get_int(json_object *o, const char *k, int64_t def)
{
	json_object *v;
	if (!json_object_object_get_ex(o, k, &v))
		return def;
	return json_object_get_int64(v);
}

int state_load(const char *root, const char *id, struct container_state **out, struct hangar_error *err)
{
	if (state_validate_id(id, err) < 0)
		return -1;
	_cleanup_free_ char *dir = xasprintf("%s/%s", root, id);
	_cleanup_free_ char *path = xasprintf("%s/state.json", dir);
	_cleanup_free_ char *text = NULL;
	struct hangar_error ignored;
	if (read_file_at(AT_FDCWD, path, &text, NULL, &ignored) < 0) {
		if (ignored.err_no == ENOENT) {
			struct stat sb;
			if (stat(dir, &sb) == 0)
				return hangar_error_set(err, HANGAR_E_STATE, 0,
							"container %s is being created or was left half-made "
							"(delete --force removes it)",
							id);
			return hangar_error_set(err, HANGAR_E_NOTFOUND, 0, "container %s does not exist", id);
		}
		*err = ignored;
		return -1;
	}
	json_object *o = json_tokener_parse(text);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return hangar_error_set(err, HANGAR_E_STATE, 0, "%s: corrupt state file", path);
	}
	struct container_state *st = xmalloc0(sizeof(*st));
	st->id = get_str(o, "id");
	if (st->id == NULL)
		st->id = xstrdup(id);
	st->bundle = get_str(o, "bundle");
	st->rootfs = get_str(o, "rootfs");
	st->pid = (pid_t)get_int(o, "pid", 0);
	st->pid_start = (unsigned long long)get_int(o, "pid_start", 0);
	st->created = get_str(o, "created");
	st->owner = (uid_t)get_int(o, "owner", 0);
	st->cgroup = get_str(o, "cgroup");
	st->systemd_cgroup = get_int(o, "systemd_cgroup", 0) != 0;
	st->rootless = get_int(o, "rootless", 0) != 0;
	st->console_socket = get_str(o, "console_socket");
	st->exit_status = (int)get_int(o, "exit_status", -1);
	st->dir = steal_pointer(&dir);
	json_object_put(o);
	state_refresh_status(st);
	*out = st;
	return 0;
}

void state_free(struct container_state *st)
{
	if (st == NULL)
		return;
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->cgroup);
	free(st->console_socket);
	free(st->dir);
	free(st);
}

int state_remove(const char *dir, struct hangar_error *err)
{
	return rm_rf(dir, err);
}

int state_load_creating(const char *root, const char *id, struct container_state **out)
{
	struct hangar_error ignored;
	if (state_validate_id(id, &ignored) < 0)
		return -1;
	_cleanup_free_ char *dir = xasprintf("%s/%s", root, id);
	_cleanup_free_ char *lock = xasprintf("%s/lock", dir);
	/* create holds the lock from the moment the directory exists until
	 * state.json is written: a lock nobody holds means a half-made one. */
	_cleanup_close_ int fd = open(lock, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		return -1;
	_cleanup_free_ char *link = xasprintf("%s/bundle", dir);
	char bundle[4096];
	ssize_t n = readlink(link, bundle, sizeof(bundle) - 1);
	struct container_state *st = xmalloc0(sizeof(*st));
	st->id = xstrdup(id);
	st->bundle = n > 0 ? xasprintf("%.*s", (int)n, bundle) : NULL;
	st->exit_status = -1;
	st->dir = steal_pointer(&dir);
	st->status = STATUS_CREATING;
	*out = st;
	return 0;
}

int state_lock(const char *dir, struct hangar_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return hangar_sys_error(err, "open %s", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int saved = errno;
			close(fd);
			return hangar_error_set(err, HANGAR_E_SYS, saved, "lock %s", path);
		}
	}
	return fd;
}

static bool process_is_zombie(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	ssize_t n = read_all(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	return p == NULL || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X';
}

bool state_process_alive(const struct container_state *st)
{
	if (st->pid <= 0)
		return false;
	unsigned long long start = proc_start_time(st->pid);
	if (start == 0 || (st->pid_start != 0 && start != st->pid_start))
		return false;
	return !process_is_zombie(st->pid);
}

void state_refresh_status(struct container_state *st)
{
	if (!state_process_alive(st)) {
		st->status = STATUS_STOPPED;
		return;
	}
	/* Frozen first: a created container can be paused too (runc allows
	 * it), and must then show as paused, not created, so that start
	 * refuses instead of waiting on an init that cannot move. */
	if (state_cgroup_frozen(st)) {
		st->status = STATUS_PAUSED;
		return;
	}
	_cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", st->dir);
	st->status = access(fifo, F_OK) == 0 ? STATUS_CREATED : STATUS_RUNNING;
}

char *state_to_oci_json(const struct container_state *st, bool pretty)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersion", json_object_new_string("1.2.0"));
	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "pid", json_object_new_int(st->status == STATUS_STOPPED ? 0 : st->pid));
	json_object_object_add(o, "status", json_object_new_string(container_status_name(st->status)));
	add_str(o, "bundle", st->bundle);
	add_str(o, "rootfs", st->rootfs);
	add_str(o, "created", st->created);
	char owner[32] = "";
	if (st->owner != 0)
		snprintf(owner, sizeof(owner), "%u", (unsigned)st->owner);
	json_object_object_add(o, "owner", json_object_new_string(owner));

	/* Annotations come from the config stored at create time. */
	_cleanup_free_ char *cfgpath = xasprintf("%s/config.json", st->dir);
	struct oci_config *cfg = NULL;
	struct hangar_error ignored;
	if (oci_config_load(cfgpath, &cfg, &ignored) == 0 && cfg->n_annotations > 0) {
		json_object *a = json_object_new_object();
		for (size_t i = 0; i < cfg->n_annotations; i++)
			json_object_object_add(a, cfg->annotations[i].key,
					       json_object_new_string(cfg->annotations[i].value));
		json_object_object_add(o, "annotations", a);
	}
	oci_config_free(cfg);
	char *s = xstrdup(json_object_to_json_string_ext(
		o, (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN) |
			   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int state_list_ids(const char *root, char ***ids_out, struct hangar_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(root);
	size_t n = 0, cap = 16;
	char **ids = xmalloc0(cap * sizeof(char *));
	if (d == NULL) {
		if (errno == ENOENT) {
			*ids_out = ids;
			return 0;
		}
		free(ids);
		return hangar_sys_error(err, "open %s", root);
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (n + 2 > cap) {
			cap *= 2;
			char **nids = realloc(ids, cap * sizeof(char *));
			if (nids == NULL)
				abort();
			ids = nids;
		}
		ids[n++] = xstrdup(de->d_name);
		ids[n] = NULL;
	}
	qsort(ids, n, sizeof(char *), cmp_str);
	*ids_out = ids;
	return 0;
}

char *rfc3339_now(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[64];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", ts.tv_nsec);
	return xstrdup(buf);
}
