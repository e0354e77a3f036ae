/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_CONFIG_OCI_PRIVATE_H
#define HANGAR_CONFIG_OCI_PRIVATE_H

/* Shared between the files of config/; not part of the library's API. */

#include <json-c/json.h>

#include "config/json_path.h"
#include "config/oci.h"

/* Section parsers: obj is the JSON object at the current path. */
int oci_parse_process_object(struct json_path *jp, struct json_object *obj, struct oci_process *p);
int oci_parse_linux_object(struct json_path *jp, struct json_object *obj, struct oci_linux *lx);
int oci_parse_resources_object(struct json_path *jp, struct json_object *obj, struct oci_resources *r);
int oci_parse_id_mapping(struct json_path *jp, struct json_object *obj, void *dst);

/* Release what a struct owns without freeing the struct itself. */
void oci_id_mappings_free(struct oci_id_mapping *m);
void oci_kv_array_free(struct oci_kv *kv, size_t n);
void oci_linux_clear(struct oci_linux *lx);

/* JSON building for sections (writer side). */
struct json_object *oci_resources_to_json_object(const struct oci_resources *r);
struct json_object *oci_process_to_json_object(const struct oci_process *p);
struct json_object *oci_linux_to_json_object(const struct oci_linux *lx);

#endif
