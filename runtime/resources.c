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

/* runc's update works on the whole stored resource set, not on the changed
 * fields alone: memory.swap.max on v2 is swap - limit, so a new limit alone
 * must be paired with the stored swap, and a swap alone with the stored
 * limit (otherwise "unable to set swap limit without memory limit").
 * checkBeforeUpdate set at create keeps applying to later updates. */
void resources_fill_memory_from_stored(struct oci_memory *mem, const struct oci_memory *stored)
{
	if (stored != NULL && stored->present && stored->has_check_before_update &&
	    !mem->has_check_before_update) {
		mem->has_check_before_update = true;
		mem->check_before_update = stored->check_before_update;
	}
	if (!mem->has_limit && !mem->has_swap)
		return;
	if (!mem->has_limit && stored != NULL && stored->present && stored->has_limit && stored->limit != 0) {
		mem->has_limit = true;
		mem->limit = stored->limit;
	}
	if (!mem->has_swap) {
		if (mem->has_limit && mem->limit == -1) {
			/* runc: an unlimited memory makes memory+swap unlimited too. */
			mem->has_swap = true;
			mem->swap = -1;
		} else if (stored != NULL && stored->present && stored->has_swap && stored->swap != 0) {
			mem->has_swap = true;
			mem->swap = stored->swap;
		}
	}
	mem->present = true;
}

int container_update_resources(const char *root, const char *id, const struct oci_resources *r,
			       struct hangar_error *err)
{
	struct container_state *st = NULL;
	struct cgroup_manager *cg = NULL;
	struct oci_config *stored = NULL;
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
	path = xasprintf("%s/config.json", st->dir);
	if (read_file_at(AT_FDCWD, path, &text, NULL, err) < 0 || oci_config_parse(text, &stored, err) < 0)
		goto out;
	/* A shallow copy: only scalar fields change, nothing here is freed. */
	struct oci_resources eff = *r;
	resources_fill_memory_from_stored(&eff.memory,
					  stored->has_linux ? &stored->linux_.resources.memory : NULL);
	/* Like runc, update leaves the device policy alone: a devices list
	 * here would replace the whole policy, and the stored config does not
	 * hold the default devices (/dev/null, ...) that create added. */
	eff.devices = NULL;
	eff.n_devices = 0;
	if (cgroup_manager_open(st->cgroup, &cg, err) < 0 || cgroup_manager_update(cg, &eff, err) < 0)
		goto out;
	merged = oci_config_json_merge_resources(text, &eff, err);
	if (merged == NULL || write_file_atomic(path, merged, strlen(merged), 0600, err) < 0)
		goto out;
	rc = 0;
out:
	free(path);
	free(text);
	free(merged);
	if (stored)
		oci_config_free(stored);
	if (lock >= 0)
		close(lock);
	if (cg)
		cgroup_manager_free(cg);
	state_free(st);
	return rc;
}
