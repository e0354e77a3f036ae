/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_CONFIG_JSON_PATH_H
#define HANGAR_CONFIG_JSON_PATH_H

/*
 * Private to config/: typed accessors over json-c objects that keep track of
 * where in the document they are, so every error names the JSON path
 * ("linux.resources.memory.limit: expected integer").
 *
 * Accessors that look up a key return 1 when the key is present, 0 when it
 * is absent (or JSON null, which Go-based runtimes treat as absent too) and
 * -1 with the error filled when the value has the wrong type or range.
 * Strings are copied; the caller's struct owns them and its free function
 * releases them, so a parse that fails half-way is unwound by freeing the
 * whole struct.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct json_path {
	struct hangar_error *err;
	const char *document; /* "config.json": used when the path is empty */
	size_t len;
	char buf[1024];
};

void json_path_init(struct json_path *jp, const char *document, const char *root, struct hangar_error *err);
/* Each push returns a mark to hand to json_path_pop. */
size_t json_path_push_key(struct json_path *jp, const char *key);
size_t json_path_push_index(struct json_path *jp, size_t index);
/* Keys of free-form maps (annotations, sysctl) may contain dots: ["key"]. */
size_t json_path_push_map_key(struct json_path *jp, const char *key);
void json_path_pop(struct json_path *jp, size_t mark);
/* "<path>: <reason>" as HANGAR_E_CONFIG; returns -1. */
int json_path_error(struct json_path *jp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse text into a JSON object; errors carry the line of the failure. */
int json_parse_object_text(const char *text, const char *document, struct json_object **out,
			   struct hangar_error *err);

/* Value accessors: the path must already point at val. */
int json_value_string(struct json_path *jp, struct json_object *val, char **out);
int json_value_int64(struct json_path *jp, struct json_object *val, int64_t min, int64_t max, int64_t *out);
int json_value_uint64(struct json_path *jp, struct json_object *val, uint64_t max, uint64_t *out);
int json_value_strv(struct json_path *jp, struct json_object *val, char ***out, size_t *n);

/* Key accessors (obj must be a JSON object). */
int json_key_get(struct json_path *jp, struct json_object *obj, const char *key, enum json_type type,
		 struct json_object **out);
int json_key_string(struct json_path *jp, struct json_object *obj, const char *key, char **out);
int json_key_bool(struct json_path *jp, struct json_object *obj, const char *key, bool *out);
int json_key_int64(struct json_path *jp, struct json_object *obj, const char *key, int64_t min, int64_t max,
		   int64_t *out);
int json_key_uint64(struct json_path *jp, struct json_object *obj, const char *key, uint64_t max,
		    uint64_t *out);
int json_key_uint32(struct json_path *jp, struct json_object *obj, const char *key, uint32_t *out);
int json_key_int(struct json_path *jp, struct json_object *obj, const char *key, int min, int max, int *out);
/* Array of strings, stored NULL-terminated with its count. */
int json_key_strv(struct json_path *jp, struct json_object *obj, const char *key, char ***out, size_t *n);
/* Present-and-required variants report "<path>.<key>: required". */
int json_key_require(struct json_path *jp, struct json_object *obj, const char *key);

/*
 * Array of objects into a calloc'ed array of elem_size structs.  *out and *n
 * are set before the elements are parsed, so a failure leaves a partially
 * filled array that the owner's free function releases.
 */
typedef int (*json_elem_parser)(struct json_path *jp, struct json_object *elem, void *dst);
int json_key_object_array(struct json_path *jp, struct json_object *obj, const char *key, size_t elem_size,
			  json_elem_parser parse_elem, void **out, size_t *n);

/* Object of string values (annotations, sysctl, unified). */
struct oci_kv;
int json_key_string_map(struct json_path *jp, struct json_object *obj, const char *key, struct oci_kv **out,
			size_t *n);

#endif
