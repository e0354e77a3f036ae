/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_RESOURCES_H
#define HANGAR_RESOURCES_H

#include "common/error.h"
#include "config/oci.h"

/* `update`: apply r to the running container's cgroup (only the fields set
 * in r) and record them in the stored config, so a later restore re-applies
 * the current limits rather than the original ones. */
int container_update_resources(const char *root, const char *id, const struct oci_resources *r,
			       struct hangar_error *err);

/* Deep-merge linux.resources fields present in r into the config JSON text;
 * returns the new JSON (malloc'ed) or NULL with err set. */
char *oci_config_json_merge_resources(const char *config_json, const struct oci_resources *r,
				      struct hangar_error *err);

#endif
