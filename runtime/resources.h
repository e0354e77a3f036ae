/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_RESOURCES_H
#define HANGAR_RESOURCES_H

#include "common/error.h"
#include "config/oci.h"

/* `update`: apply r to the running container's cgroup and record it in the
 * stored config, so a later restore re-applies the current limits rather
 * than the original ones.  Like runc: the memory limit and swap missing from
 * r are taken from the stored config (see resources_fill_memory_from_stored), and
 * r's devices are ignored (the device policy is fixed at create). */
int container_update_resources(const char *root, const char *id, const struct oci_resources *r,
			       struct hangar_error *err);

/* Fill mem's missing limit/swap (when it sets either) and checkBeforeUpdate
 * from the stored values, as runc's update does; stored may be NULL. */
void resources_fill_memory_from_stored(struct oci_memory *mem, const struct oci_memory *stored);

/* Deep-merge linux.resources fields present in r into the config JSON text;
 * returns the new JSON (malloc'ed) or NULL with err set. */
char *oci_config_json_merge_resources(const char *config_json, const struct oci_resources *r,
				      struct hangar_error *err);

#endif
