/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config.json: top level, process, root, mounts, hooks, annotations. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <sched.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "config/oci_private.h"

/* Not in every libc's <sched.h>; values are the kernel's. */
#ifndef SCHED_BATCH
#define SCHED_BATCH 3
#endif
#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif
#define OCI_SCHED_ISO 4 /* reserved by the kernel, named by the spec */
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

/* <linux/ioprio.h> is missing from older kernel headers. */
#define OCI_IOPRIO_CLASS_RT 1
#define OCI_IOPRIO_CLASS_BE 2
#define OCI_IOPRIO_CLASS_IDLE 3

struct name_value {
	const char *name;
	int value;
};

static const struct name_value rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

static const struct name_value sched_policy_names[] = {
    {"SCHED_OTHER", SCHED_OTHER},	{"SCHED_FIFO", SCHED_FIFO},   {"SCHED_RR", SCHED_RR},
    {"SCHED_BATCH", SCHED_BATCH},	{"SCHED_ISO", OCI_SCHED_ISO}, {"SCHED_IDLE", SCHED_IDLE},
    {"SCHED_DEADLINE", SCHED_DEADLINE},
};

/* sched_setattr(2) flag names from the runtime-spec. */
static const char *const sched_flag_names[] = {
    "SCHED_FLAG_RESET_ON_FORK",	 "SCHED_FLAG_RECLAIM",	   "SCHED_FLAG_DL_OVERRUN",
    "SCHED_FLAG_KEEP_POLICY",	 "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
    "SCHED_FLAG_UTIL_CLAMP_MAX",
};

static const struct name_value ioprio_class_names[] = {
    {"IOPRIO_CLASS_RT", OCI_IOPRIO_CLASS_RT},
    {"IOPRIO_CLASS_BE", OCI_IOPRIO_CLASS_BE},
    {"IOPRIO_CLASS_IDLE", OCI_IOPRIO_CLASS_IDLE},
};

static int name_lookup(const struct name_value *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return table[i].value;
	return -1;
}

int oci_rlimit_from_name(const char *name)
{
	return name_lookup(rlimit_names, ARRAY_SIZE(rlimit_names), name);
}

int oci_sched_policy_from_name(const char *name)
{
	return name_lookup(sched_policy_names, ARRAY_SIZE(sched_policy_names), name);
}

int oci_ioprio_class_from_name(const char *name)
{
	return name_lookup(ioprio_class_names, ARRAY_SIZE(ioprio_class_names), name);
}

/* ---- process ---- */

static int parse_console_size(struct json_path *jp, struct json_object *obj, struct oci_process *p)
{
	struct json_object *size;
	int r = json_key_get(jp, obj, "consoleSize", json_type_object, &size);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, "consoleSize");
	uint32_t height = 0, width = 0;
	if (json_key_require(jp, size, "height") < 0 || json_key_require(jp, size, "width") < 0 ||
	    json_key_uint32(jp, size, "height", &height) < 0 ||
	    json_key_uint32(jp, size, "width", &width) < 0)
		return -1;
	json_path_pop(jp, mark);
	p->has_console_size = true;
	p->console_height = height;
	p->console_width = width;
	return 0;
}

static int parse_user(struct json_path *jp, struct json_object *obj, struct oci_user *u)
{
	struct json_object *user, *gids;
	int r = json_key_get(jp, obj, "user", json_type_object, &user);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, "user");
	uint32_t uid = 0, gid = 0;
	if (json_key_uint32(jp, user, "uid", &uid) < 0 || json_key_uint32(jp, user, "gid", &gid) < 0)
		return -1;
	u->uid = uid;
	u->gid = gid;
	uint64_t umask_value;
	r = json_key_uint64(jp, user, "umask", 07777, &umask_value);
	if (r < 0)
		return -1;
	if (r > 0) {
		u->has_umask = true;
		u->umask = (mode_t)umask_value;
	}
	r = json_key_get(jp, user, "additionalGids", json_type_array, &gids);
	if (r < 0)
		return -1;
	if (r > 0) {
		size_t n = json_object_array_length(gids);
		size_t gids_mark = json_path_push_key(jp, "additionalGids");
		u->additional_gids = xmalloc0((n ? n : 1) * sizeof(gid_t));
		u->n_additional_gids = n;
		for (size_t i = 0; i < n; i++) {
			uint64_t g;
			size_t idx_mark = json_path_push_index(jp, i);
			if (json_value_uint64(jp, json_object_array_get_idx(gids, i), UINT32_MAX, &g) < 0)
				return -1;
			u->additional_gids[i] = (gid_t)g;
			json_path_pop(jp, idx_mark);
		}
		json_path_pop(jp, gids_mark);
	}
	if (json_key_string(jp, user, "username", &u->username) < 0)
		return -1;
	json_path_pop(jp, mark);
	return 0;
}

static int validate_env(struct json_path *jp, char **env, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(env[i], '=');
		if (eq == NULL || eq == env[i]) {
			size_t mark = json_path_push_index(jp, i);
			json_path_error(jp, "\"%s\" is not NAME=VALUE", env[i]);
			json_path_pop(jp, mark);
			return -1;
		}
	}
	return 0;
}

static int parse_cap_set(struct json_path *jp, struct json_object *caps, const char *key, char ***set,
			 size_t *n)
{
	int r = json_key_strv(jp, caps, key, set, n);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, key);
	for (size_t i = 0; i < *n; i++) {
		const char *name = (*set)[i];
		cap_value_t value;
		/* cap_from_name also takes bare numbers and any letter case; the
		 * spec (and runc) only know upper-case "CAP_" names. */
		if (!str_has_prefix(name, "CAP_") || name[strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_")] ||
		    cap_from_name(name, &value) < 0) {
			json_path_push_index(jp, i);
			return json_path_error(jp, "unknown capability \"%s\"", name);
		}
	}
	json_path_pop(jp, mark);
	return 1;
}

static int parse_capabilities(struct json_path *jp, struct json_object *obj, struct oci_capabilities *c)
{
	struct json_object *caps;
	int r = json_key_get(jp, obj, "capabilities", json_type_object, &caps);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, "capabilities");
	c->present = true;
	if (parse_cap_set(jp, caps, "bounding", &c->bounding, &c->n_bounding) < 0 ||
	    parse_cap_set(jp, caps, "effective", &c->effective, &c->n_effective) < 0 ||
	    parse_cap_set(jp, caps, "inheritable", &c->inheritable, &c->n_inheritable) < 0 ||
	    parse_cap_set(jp, caps, "permitted", &c->permitted, &c->n_permitted) < 0 ||
	    parse_cap_set(jp, caps, "ambient", &c->ambient, &c->n_ambient) < 0)
		return -1;
	json_path_pop(jp, mark);
	return 0;
}

static int parse_rlimit(struct json_path *jp, struct json_object *obj, void *dst)
{
	struct oci_rlimit *rl = dst;
	if (json_key_require(jp, obj, "type") < 0 || json_key_string(jp, obj, "type", &rl->type) < 0)
		return -1;
	rl->resource = oci_rlimit_from_name(rl->type);
	if (rl->resource < 0) {
		json_path_push_key(jp, "type");
		return json_path_error(jp, "unknown rlimit \"%s\"", rl->type);
	}
	if (json_key_require(jp, obj, "soft") < 0 || json_key_require(jp, obj, "hard") < 0 ||
	    json_key_uint64(jp, obj, "soft", UINT64_MAX, &rl->soft) < 0 ||
	    json_key_uint64(jp, obj, "hard", UINT64_MAX, &rl->hard) < 0)
		return -1;
	return 0;
}

static int check_rlimits_unique(struct json_path *jp, const struct oci_process *p)
{
	for (size_t i = 0; i < p->n_rlimits; i++)
		for (size_t j = 0; j < i; j++)
			if (p->rlimits[i].resource == p->rlimits[j].resource) {
				size_t mark = json_path_push_key(jp, "rlimits");
				json_path_push_index(jp, i);
				json_path_push_key(jp, "type");
				json_path_error(jp, "duplicate rlimit \"%s\"", p->rlimits[i].type);
				json_path_pop(jp, mark);
				return -1;
			}
	return 0;
}

static int parse_io_priority(struct json_path *jp, struct json_object *obj, struct oci_io_priority *io)
{
	struct json_object *prio;
	int r = json_key_get(jp, obj, "ioPriority", json_type_object, &prio);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, "ioPriority");
	_cleanup_free_ char *class_name = NULL;
	if (json_key_require(jp, prio, "class") < 0 || json_key_string(jp, prio, "class", &class_name) < 0)
		return -1;
	io->class_ = oci_ioprio_class_from_name(class_name);
	if (io->class_ < 0) {
		json_path_push_key(jp, "class");
		return json_path_error(jp, "unknown I/O priority class \"%s\"", class_name);
	}
	/* The kernel's ioprio levels are 0 (highest) to 7. */
	if (json_key_int(jp, prio, "priority", 0, 7, &io->priority) < 0)
		return -1;
	io->present = true;
	json_path_pop(jp, mark);
	return 0;
}

static int parse_scheduler(struct json_path *jp, struct json_object *obj, struct oci_scheduler *s)
{
	struct json_object *sched;
	int r = json_key_get(jp, obj, "scheduler", json_type_object, &sched);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, "scheduler");
	s->present = true;
	if (json_key_require(jp, sched, "policy") < 0 || json_key_string(jp, sched, "policy", &s->policy) < 0)
		return -1;
	s->policy_num = oci_sched_policy_from_name(s->policy);
	if (s->policy_num < 0) {
		json_path_push_key(jp, "policy");
		return json_path_error(jp, "unknown scheduling policy \"%s\"", s->policy);
	}
	if (json_key_int(jp, sched, "nice", -20, 19, &s->nice) < 0 ||
	    json_key_int(jp, sched, "priority", INT32_MIN, INT32_MAX, &s->priority) < 0 ||
	    json_key_strv(jp, sched, "flags", &s->flags, &s->n_flags) < 0 ||
	    json_key_uint64(jp, sched, "runtime", UINT64_MAX, &s->runtime) < 0 ||
	    json_key_uint64(jp, sched, "deadline", UINT64_MAX, &s->deadline) < 0 ||
	    json_key_uint64(jp, sched, "period", UINT64_MAX, &s->period) < 0)
		return -1;
	for (size_t i = 0; i < s->n_flags; i++) {
		bool known = false;
		for (size_t k = 0; k < ARRAY_SIZE(sched_flag_names); k++)
			known = known || strcmp(s->flags[i], sched_flag_names[k]) == 0;
		if (!known) {
			json_path_push_key(jp, "flags");
			json_path_push_index(jp, i);
			return json_path_error(jp, "unknown scheduler flag \"%s\"", s->flags[i]);
		}
	}
	json_path_pop(jp, mark);
	return 0;
}

int oci_parse_process_object(struct json_path *jp, struct json_object *obj, struct oci_process *p)
{
	size_t mark;

	if (json_key_bool(jp, obj, "terminal", &p->terminal) < 0 || parse_console_size(jp, obj, p) < 0 ||
	    parse_user(jp, obj, &p->user) < 0)
		return -1;

	if (json_key_require(jp, obj, "args") < 0 || json_key_strv(jp, obj, "args", &p->args, &p->n_args) < 0)
		return -1;
	if (p->n_args == 0) {
		mark = json_path_push_key(jp, "args");
		json_path_error(jp, "must not be empty");
		json_path_pop(jp, mark);
		return -1;
	}
	if (json_key_string(jp, obj, "commandLine", &p->command_line) < 0 ||
	    json_key_strv(jp, obj, "env", &p->env, &p->n_env) < 0)
		return -1;
	mark = json_path_push_key(jp, "env");
	if (validate_env(jp, p->env, p->n_env) < 0)
		return -1;
	json_path_pop(jp, mark);

	if (json_key_require(jp, obj, "cwd") < 0 || json_key_string(jp, obj, "cwd", &p->cwd) < 0)
		return -1;
	if (p->cwd[0] != '/') {
		mark = json_path_push_key(jp, "cwd");
		json_path_error(jp, "must be an absolute path, got \"%s\"", p->cwd);
		json_path_pop(jp, mark);
		return -1;
	}

	if (parse_capabilities(jp, obj, &p->caps) < 0 ||
	    json_key_object_array(jp, obj, "rlimits", sizeof(struct oci_rlimit), parse_rlimit,
				  (void **)&p->rlimits, &p->n_rlimits) < 0 ||
	    check_rlimits_unique(jp, p) < 0)
		return -1;

	if (json_key_bool(jp, obj, "noNewPrivileges", &p->no_new_privileges) < 0 ||
	    json_key_string(jp, obj, "apparmorProfile", &p->apparmor_profile) < 0 ||
	    json_key_string(jp, obj, "selinuxLabel", &p->selinux_label) < 0)
		return -1;
	/* /proc/PID/oom_score_adj accepts -1000..1000 and nothing else. */
	int r = json_key_int(jp, obj, "oomScoreAdj", -1000, 1000, &p->oom_score_adj);
	if (r < 0)
		return -1;
	p->has_oom_score_adj = r > 0;
	if (parse_io_priority(jp, obj, &p->io_priority) < 0 || parse_scheduler(jp, obj, &p->scheduler) < 0)
		return -1;
	return 0;
}

/* ---- mounts, hooks ---- */

static int require_absolute(struct json_path *jp, const char *key, const char *value)
{
	if (value[0] == '/')
		return 0;
	size_t mark = json_path_push_key(jp, key);
	json_path_error(jp, "must be an absolute path, got \"%s\"", value);
	json_path_pop(jp, mark);
	return -1;
}

int oci_parse_id_mapping(struct json_path *jp, struct json_object *obj, void *dst)
{
	struct oci_id_mapping *m = dst;
	if (json_key_require(jp, obj, "containerID") < 0 || json_key_require(jp, obj, "hostID") < 0 ||
	    json_key_require(jp, obj, "size") < 0 ||
	    json_key_uint32(jp, obj, "containerID", &m->container_id) < 0 ||
	    json_key_uint32(jp, obj, "hostID", &m->host_id) < 0 ||
	    json_key_uint32(jp, obj, "size", &m->size) < 0)
		return -1;
	return 0;
}

static int parse_mount(struct json_path *jp, struct json_object *obj, void *dst)
{
	struct oci_mount *m = dst;
	if (json_key_require(jp, obj, "destination") < 0 ||
	    json_key_string(jp, obj, "destination", &m->destination) < 0 ||
	    require_absolute(jp, "destination", m->destination) < 0)
		return -1;
	if (json_key_string(jp, obj, "type", &m->type) < 0 ||
	    json_key_string(jp, obj, "source", &m->source) < 0 ||
	    json_key_strv(jp, obj, "options", &m->options, &m->n_options) < 0 ||
	    json_key_object_array(jp, obj, "uidMappings", sizeof(struct oci_id_mapping), oci_parse_id_mapping,
				  (void **)&m->uid_mappings, &m->n_uid_mappings) < 0 ||
	    json_key_object_array(jp, obj, "gidMappings", sizeof(struct oci_id_mapping), oci_parse_id_mapping,
				  (void **)&m->gid_mappings, &m->n_gid_mappings) < 0)
		return -1;
	return 0;
}

static int parse_hook(struct json_path *jp, struct json_object *obj, void *dst)
{
	struct oci_hook *h = dst;
	if (json_key_require(jp, obj, "path") < 0 || json_key_string(jp, obj, "path", &h->path) < 0 ||
	    require_absolute(jp, "path", h->path) < 0)
		return -1;
	if (json_key_strv(jp, obj, "args", &h->args, &h->n_args) < 0 ||
	    json_key_strv(jp, obj, "env", &h->env, &h->n_env) < 0)
		return -1;
	size_t mark = json_path_push_key(jp, "env");
	if (validate_env(jp, h->env, h->n_env) < 0)
		return -1;
	json_path_pop(jp, mark);
	int r = json_key_int(jp, obj, "timeout", 1, INT32_MAX, &h->timeout);
	if (r < 0)
		return -1;
	h->has_timeout = r > 0;
	return 0;
}

static int parse_hook_list(struct json_path *jp, struct json_object *hooks, const char *key,
			   struct oci_hook **list, size_t *n)
{
	return json_key_object_array(jp, hooks, key, sizeof(struct oci_hook), parse_hook, (void **)list, n);
}

static int parse_hooks(struct json_path *jp, struct json_object *obj, struct oci_hooks *h)
{
	struct json_object *hooks;
	int r = json_key_get(jp, obj, "hooks", json_type_object, &hooks);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, "hooks");
	if (parse_hook_list(jp, hooks, "prestart", &h->prestart, &h->n_prestart) < 0 ||
	    parse_hook_list(jp, hooks, "createRuntime", &h->create_runtime, &h->n_create_runtime) < 0 ||
	    parse_hook_list(jp, hooks, "createContainer", &h->create_container, &h->n_create_container) < 0 ||
	    parse_hook_list(jp, hooks, "startContainer", &h->start_container, &h->n_start_container) < 0 ||
	    parse_hook_list(jp, hooks, "poststart", &h->poststart, &h->n_poststart) < 0 ||
	    parse_hook_list(jp, hooks, "poststop", &h->poststop, &h->n_poststop) < 0)
		return -1;
	json_path_pop(jp, mark);
	return 0;
}

static int parse_root(struct json_path *jp, struct json_object *obj, struct oci_config *cfg)
{
	struct json_object *root;
	int r = json_key_get(jp, obj, "root", json_type_object, &root);
	if (r <= 0)
		return r;
	size_t mark = json_path_push_key(jp, "root");
	if (json_key_require(jp, root, "path") < 0 ||
	    json_key_string(jp, root, "path", &cfg->root.path) < 0 ||
	    json_key_bool(jp, root, "readonly", &cfg->root.readonly) < 0)
		return -1;
	if (cfg->root.path[0] == '\0') {
		json_path_push_key(jp, "path");
		return json_path_error(jp, "must not be empty");
	}
	json_path_pop(jp, mark);
	cfg->has_root = true;
	return 0;
}

static int parse_config_object(struct json_path *jp, struct json_object *obj, struct oci_config *cfg)
{
	struct json_object *section;
	int r;

	if (json_key_require(jp, obj, "ociVersion") < 0 ||
	    json_key_string(jp, obj, "ociVersion", &cfg->oci_version) < 0)
		return -1;
	if (parse_root(jp, obj, cfg) < 0)
		return -1;

	r = json_key_get(jp, obj, "process", json_type_object, &section);
	if (r < 0)
		return -1;
	if (r > 0) {
		size_t mark = json_path_push_key(jp, "process");
		cfg->has_process = true;
		if (oci_parse_process_object(jp, section, &cfg->process) < 0)
			return -1;
		json_path_pop(jp, mark);
	}

	if (json_key_string(jp, obj, "hostname", &cfg->hostname) < 0 ||
	    json_key_string(jp, obj, "domainname", &cfg->domainname) < 0 ||
	    json_key_object_array(jp, obj, "mounts", sizeof(struct oci_mount), parse_mount,
				  (void **)&cfg->mounts, &cfg->n_mounts) < 0 ||
	    parse_hooks(jp, obj, &cfg->hooks) < 0 ||
	    json_key_string_map(jp, obj, "annotations", &cfg->annotations, &cfg->n_annotations) < 0)
		return -1;

	r = json_key_get(jp, obj, "linux", json_type_object, &section);
	if (r < 0)
		return -1;
	if (r > 0) {
		size_t mark = json_path_push_key(jp, "linux");
		cfg->has_linux = true;
		if (oci_parse_linux_object(jp, section, &cfg->linux_) < 0)
			return -1;
		json_path_pop(jp, mark);
	}
	return 0;
}

int oci_config_parse(const char *json_text, struct oci_config **out, struct hangar_error *err)
{
	struct json_object *doc = NULL;
	struct json_path jp;

	if (json_parse_object_text(json_text, "config.json", &doc, err) < 0)
		return -1;
	struct oci_config *cfg = xmalloc0(sizeof(*cfg));
	json_path_init(&jp, "config.json", NULL, err);
	int r = parse_config_object(&jp, doc, cfg);
	json_object_put(doc);
	if (r < 0) {
		oci_config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int oci_config_load(const char *path, struct oci_config **out, struct hangar_error *err)
{
	_cleanup_free_ char *text = NULL;

	if (read_file_at(AT_FDCWD, path, &text, NULL, err) < 0)
		return -1;
	if (oci_config_parse(text, out, err) < 0) {
		/* Messages already say "config.json: ..." or a JSON path; say
		 * which file when it has another name. */
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		if (strcmp(base, "config.json") != 0)
			hangar_error_prefix(err, "%s", path);
		return -1;
	}
	return 0;
}

int oci_process_parse(const char *json_text, struct oci_process *out, struct hangar_error *err)
{
	struct json_object *doc = NULL;
	struct json_path jp;

	memset(out, 0, sizeof(*out));
	if (json_parse_object_text(json_text, "process.json", &doc, err) < 0)
		return -1;
	json_path_init(&jp, "process.json", "process", err);
	int r = oci_parse_process_object(&jp, doc, out);
	json_object_put(doc);
	if (r < 0) {
		oci_process_clear(out);
		return -1;
	}
	return 0;
}

int oci_resources_parse(const char *json_text, struct oci_resources *out, struct hangar_error *err)
{
	struct json_object *doc = NULL;
	struct json_path jp;

	memset(out, 0, sizeof(*out));
	if (json_parse_object_text(json_text, "resources.json", &doc, err) < 0)
		return -1;
	json_path_init(&jp, "resources.json", "resources", err);
	int r = oci_parse_resources_object(&jp, doc, out);
	json_object_put(doc);
	if (r < 0) {
		oci_resources_clear(out);
		return -1;
	}
	return 0;
}
