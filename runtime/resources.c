/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "runtime/resources.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/state.h"

static void json_merge(json_object *dst, json_object *src)
{
	json_object_object_foreach(src, key, val)
	{
		json_object *cur;
		if (json_object_is_type(val, json_type_object) && json_object_object_get_ex(dst, key, &cur) &&
		    json_object_is_type(cur, json_type_object)) {
			json_merge(cur, val);
			continue;
		}
		json_object_object_add(dst, key, json_object_get(val));
	}
}

char *oci_config_json_merge_resources(const char *config_json, const struct oci_resources *r,
				      struct hangar_error *err)
{
	/* Serialise the update through the config writer (one place knows the
	 * JSON names), then merge its linux.resources into the stored config. */
	struct oci_config tmp;
	memset(&tmp, 0, sizeof(tmp));
	tmp.has_linux = true;
	tmp.linux_.resources = *r;
	tmp.linux_.resources.present = true;
	_cleanup_free_ char *upd_text = oci_config_to_json(&tmp);
	json_object *upd = upd_text ? json_tokener_parse(upd_text) : NULL;
	json_object *cfg = json_tokener_parse(config_json);
	json_object *upd_lx, *upd_res, *cfg_lx, *cfg_res;
	char *out = NULL;
	if (upd == NULL || cfg == NULL) {
		hangar_error_set(err, HANGAR_E_CONFIG, 0, "stored config.json: cannot merge resources");
		goto done;
	}
	if (!json_object_object_get_ex(upd, "linux", &upd_lx) ||
	    !json_object_object_get_ex(upd_lx, "resources", &upd_res)) {
		out = xstrdup(config_json);
		goto done;
	}
	if (!json_object_object_get_ex(cfg, "linux", &cfg_lx)) {
		cfg_lx = json_object_new_object();
		json_object_object_add(cfg, "linux", cfg_lx);
	}
	if (!json_object_object_get_ex(cfg_lx, "resources", &cfg_res)) {
		cfg_res = json_object_new_object();
		json_object_object_add(cfg_lx, "resources", cfg_res);
	}
	json_merge(cfg_res, upd_res);
	out = xstrdup(json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
done:
	json_object_put(upd);
	json_object_put(cfg);
	return out;
}

int container_update_resources(const char *root, const char *id, const struct oci_resources *r,
			       struct hangar_error *err)
{
	struct container_state *st = NULL;
	struct cgroup_manager *cg = NULL;
	char *path = NULL, *text = NULL, *merged = NULL;
	int rc = -1, lock = -1;
	if (state_load(root, id, &st, err) < 0)
		return -1;
	lock = state_lock(st->dir, err);
	if (lock < 0)
		goto out;
	state_refresh_status(st);
	if (st->status == STATUS_STOPPED) {
		hangar_error_set(err, HANGAR_E_STATE, 0, "container %s is not running", id);
		goto out;
	}
	if (st->cgroup == NULL) {
		hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
				 "container %s has no cgroup (rootless without a delegated cgroup): limits cannot "
				 "be changed",
				 id);
		goto out;
	}
	if (cgroup_manager_open(st->cgroup, &cg, err) < 0 || cgroup_manager_update(cg, r, err) < 0)
		goto out;
	path = xasprintf("%s/config.json", st->dir);
	if (read_file_at(AT_FDCWD, path, &text, NULL, err) < 0)
		goto out;
	merged = oci_config_json_merge_resources(text, r, err);
	if (merged == NULL || write_file_atomic(path, merged, strlen(merged), 0600, err) < 0)
		goto out;
	rc = 0;
out:
	free(path);
	free(text);
	free(merged);
	if (lock >= 0)
		close(lock);
	if (cg)
		cgroup_manager_free(cg);
	state_free(st);
	return rc;
}
