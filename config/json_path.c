/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config/json_path.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "config/oci.h"

void json_path_init(struct json_path *jp, const char *document, const char *root, struct hangar_error *err)
{
	jp->err = err;
	jp->document = document;
	jp->len = 0;
	jp->buf[0] = '\0';
	if (root && *root)
		json_path_push_key(jp, root);
}

static size_t json_path_append(struct json_path *jp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static size_t json_path_append(struct json_path *jp, const char *fmt, ...)
{
	size_t mark = jp->len;
	size_t room = sizeof(jp->buf) - jp->len;
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(jp->buf + jp->len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	/* A path longer than the buffer is truncated, never overrun. */
	jp->len = (size_t)n < room ? jp->len + (size_t)n : sizeof(jp->buf) - 1;
	return mark;
}

size_t json_path_push_key(struct json_path *jp, const char *key)
{
	return json_path_append(jp, "%s%s", jp->len ? "." : "", key);
}

size_t json_path_push_index(struct json_path *jp, size_t index)
{
	return json_path_append(jp, "[%zu]", index);
}

size_t json_path_push_map_key(struct json_path *jp, const char *key)
{
	return json_path_append(jp, "[\"%s\"]", key);
}

void json_path_pop(struct json_path *jp, size_t mark)
{
	if (mark <= jp->len) {
		jp->len = mark;
		jp->buf[mark] = '\0';
	}
}

int json_path_error(struct json_path *jp, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return hangar_error_set(jp->err, HANGAR_E_CONFIG, 0, "%s: %s", jp->len ? jp->buf : jp->document,
				reason);
}

static unsigned line_of_offset(const char *text, size_t offset)
{
	unsigned line = 1;
	for (size_t i = 0; i < offset && text[i]; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/* json-c clamps integer literals that do not fit 64 bits to INT64_MIN or
 * UINT64_MAX without telling anyone, which would turn a typo into
 * "unlimited".  Scan the (already valid) text for such literals. */
static bool integer_literal_fits(const char *digits, size_t len, bool negative)
{
	const char *limit = negative ? "9223372036854775808" : "18446744073709551615";
	size_t limit_len = strlen(limit);
	return len < limit_len || (len == limit_len && strncmp(digits, limit, len) <= 0);
}

static const char *find_oversized_integer(const char *text, size_t *offset, size_t *len)
{
	for (size_t i = 0; text[i];) {
		if (text[i] == '"') {
			for (i++; text[i] && text[i] != '"'; i++)
				if (text[i] == '\\' && text[i + 1])
					i++;
			if (text[i])
				i++;
			continue;
		}
		if (text[i] != '-' && (text[i] < '0' || text[i] > '9')) {
			i++;
			continue;
		}
		size_t start = i;
		bool negative = text[i] == '-';
		if (negative)
			i++;
		size_t digits = i;
		while (text[i] >= '0' && text[i] <= '9')
			i++;
		size_t n_digits = i - digits;
		bool fraction = text[i] == '.' || text[i] == 'e' || text[i] == 'E';
		while (text[i] && strchr("0123456789.eE+-", text[i]))
			i++;
		if (!fraction && !integer_literal_fits(text + digits, n_digits, negative)) {
			*offset = start;
			*len = i - start;
			return text + start;
		}
	}
	return NULL;
}

int json_parse_object_text(const char *text, const char *document, struct json_object **out,
			   struct hangar_error *err)
{
	size_t len = strlen(text);
	struct json_tokener *tok = json_tokener_new();
	if (tok == NULL)
		return hangar_error_set(err, HANGAR_E_SYS, ENOMEM, "%s: allocating JSON tokener", document);
	/* Strict: no trailing garbage, no single quotes, no control characters
	 * in strings — what encoding/json in runc accepts, nothing more. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	struct json_object *obj = json_tokener_parse_ex(tok, text, (int)(len > INT_MAX ? INT_MAX : len));
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);

	if (len > INT_MAX) {
		json_object_put(obj);
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s: document too large", document);
	}
	if (obj == NULL || jerr != json_tokener_success) {
		const char *reason =
		    jerr == json_tokener_continue ? "unexpected end of input" : json_tokener_error_desc(jerr);
		json_object_put(obj);
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s: invalid JSON at line %u: %s", document,
					line_of_offset(text, end), reason);
	}
	size_t big_offset, big_len;
	const char *big = find_oversized_integer(text, &big_offset, &big_len);
	if (big) {
		json_object_put(obj);
		return hangar_error_set(
		    err, HANGAR_E_CONFIG, 0, "%s: integer %.*s at line %u does not fit in 64 bits", document,
		    (int)(big_len > 64 ? 64 : big_len), big, line_of_offset(text, big_offset));
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s: expected a JSON object", document);
	}
	*out = obj;
	return 0;
}

static const char *json_type_label(struct json_object *val)
{
	switch (json_object_get_type(val)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "boolean";
	case json_type_double:
		return "number with fraction";
	case json_type_int:
		return "integer";
	case json_type_object:
		return "object";
	case json_type_array:
		return "array";
	case json_type_string:
		return "string";
	}
	return "unknown";
}

static const char *expected_label(enum json_type type)
{
	switch (type) {
	case json_type_boolean:
		return "boolean";
	case json_type_int:
		return "integer";
	case json_type_object:
		return "object";
	case json_type_array:
		return "array";
	case json_type_string:
		return "string";
	default:
		return "value";
	}
}

static int expect_type(struct json_path *jp, struct json_object *val, enum json_type type)
{
	if (json_object_is_type(val, type))
		return 0;
	return json_path_error(jp, "expected %s, got %s", expected_label(type), json_type_label(val));
}

int json_value_string(struct json_path *jp, struct json_object *val, char **out)
{
	if (expect_type(jp, val, json_type_string) < 0)
		return -1;
	const char *s = json_object_get_string(val);
	size_t len = (size_t)json_object_get_string_len(val);
	/* "\u0000" would silently cut a path short once it became a C string. */
	if (memchr(s, '\0', len) != NULL)
		return json_path_error(jp, "string contains a NUL character");
	free(*out);
	*out = xstrdup(s);
	return 0;
}

/* json-c keeps integers as int64 or uint64; read both views to know the
 * sign and the full unsigned magnitude. */
static int value_integer(struct json_path *jp, struct json_object *val, bool *negative, int64_t *as_signed,
			 uint64_t *as_unsigned)
{
	if (expect_type(jp, val, json_type_int) < 0)
		return -1;
	*as_signed = json_object_get_int64(val);
	*negative = *as_signed < 0;
	*as_unsigned = *negative ? 0 : json_object_get_uint64(val);
	return 0;
}

int json_value_int64(struct json_path *jp, struct json_object *val, int64_t min, int64_t max, int64_t *out)
{
	bool negative;
	int64_t s;
	uint64_t u;

	if (value_integer(jp, val, &negative, &s, &u) < 0)
		return -1;
	if ((!negative && u > (uint64_t)max) || s < min || s > max)
		return json_path_error(jp, "value out of range [%" PRId64 ", %" PRId64 "]", min, max);
	*out = s;
	return 0;
}

int json_value_uint64(struct json_path *jp, struct json_object *val, uint64_t max, uint64_t *out)
{
	bool negative;
	int64_t s;
	uint64_t u;

	if (value_integer(jp, val, &negative, &s, &u) < 0)
		return -1;
	if (negative)
		return json_path_error(jp, "expected non-negative integer, got %" PRId64, s);
	if (u > max)
		return json_path_error(jp, "value %" PRIu64 " out of range (max %" PRIu64 ")", u, max);
	*out = u;
	return 0;
}

int json_value_strv(struct json_path *jp, struct json_object *val, char ***out, size_t *n)
{
	if (expect_type(jp, val, json_type_array) < 0)
		return -1;
	size_t count = json_object_array_length(val);
	char **v = xmalloc0((count + 1) * sizeof(char *));

	for (size_t i = 0; i < count; i++) {
		size_t mark = json_path_push_index(jp, i);
		if (json_value_string(jp, json_object_array_get_idx(val, i), &v[i]) < 0) {
			strv_free(v);
			return -1;
		}
		json_path_pop(jp, mark);
	}
	strv_free(*out);
	*out = v;
	*n = count;
	return 0;
}

int json_key_get(struct json_path *jp, struct json_object *obj, const char *key, enum json_type type,
		 struct json_object **out)
{
	struct json_object *val = NULL;

	if (!json_object_object_get_ex(obj, key, &val) || val == NULL)
		return 0;
	size_t mark = json_path_push_key(jp, key);
	if (expect_type(jp, val, type) < 0)
		return -1;
	json_path_pop(jp, mark);
	*out = val;
	return 1;
}

/* Look up key; on presence push it onto the path (caller pops). */
static int key_lookup(struct json_path *jp, struct json_object *obj, const char *key,
		      struct json_object **val, size_t *mark)
{
	if (!json_object_object_get_ex(obj, key, val) || *val == NULL)
		return 0;
	*mark = json_path_push_key(jp, key);
	return 1;
}

int json_key_string(struct json_path *jp, struct json_object *obj, const char *key, char **out)
{
	struct json_object *val;
	size_t mark;

	if (!key_lookup(jp, obj, key, &val, &mark))
		return 0;
	if (json_value_string(jp, val, out) < 0)
		return -1;
	json_path_pop(jp, mark);
	return 1;
}

int json_key_bool(struct json_path *jp, struct json_object *obj, const char *key, bool *out)
{
	struct json_object *val;
	size_t mark;

	if (!key_lookup(jp, obj, key, &val, &mark))
		return 0;
	if (expect_type(jp, val, json_type_boolean) < 0)
		return -1;
	*out = json_object_get_boolean(val);
	json_path_pop(jp, mark);
	return 1;
}

int json_key_int64(struct json_path *jp, struct json_object *obj, const char *key, int64_t min, int64_t max,
		   int64_t *out)
{
	struct json_object *val;
	size_t mark;

	if (!key_lookup(jp, obj, key, &val, &mark))
		return 0;
	if (json_value_int64(jp, val, min, max, out) < 0)
		return -1;
	json_path_pop(jp, mark);
	return 1;
}

int json_key_uint64(struct json_path *jp, struct json_object *obj, const char *key, uint64_t max,
		    uint64_t *out)
{
	struct json_object *val;
	size_t mark;

	if (!key_lookup(jp, obj, key, &val, &mark))
		return 0;
	if (json_value_uint64(jp, val, max, out) < 0)
		return -1;
	json_path_pop(jp, mark);
	return 1;
}

int json_key_uint32(struct json_path *jp, struct json_object *obj, const char *key, uint32_t *out)
{
	uint64_t v;
	int r = json_key_uint64(jp, obj, key, UINT32_MAX, &v);
	if (r > 0)
		*out = (uint32_t)v;
	return r;
}

int json_key_int(struct json_path *jp, struct json_object *obj, const char *key, int min, int max, int *out)
{
	int64_t v;
	int r = json_key_int64(jp, obj, key, min, max, &v);
	if (r > 0)
		*out = (int)v;
	return r;
}

int json_key_strv(struct json_path *jp, struct json_object *obj, const char *key, char ***out, size_t *n)
{
	struct json_object *val;
	size_t mark;

	if (!key_lookup(jp, obj, key, &val, &mark))
		return 0;
	if (json_value_strv(jp, val, out, n) < 0)
		return -1;
	json_path_pop(jp, mark);
	return 1;
}

int json_key_require(struct json_path *jp, struct json_object *obj, const char *key)
{
	struct json_object *val = NULL;

	if (json_object_object_get_ex(obj, key, &val) && val != NULL)
		return 0;
	size_t mark = json_path_push_key(jp, key);
	json_path_error(jp, "required");
	json_path_pop(jp, mark);
	return -1;
}

int json_key_object_array(struct json_path *jp, struct json_object *obj, const char *key, size_t elem_size,
			  json_elem_parser parse_elem, void **out, size_t *n)
{
	struct json_object *val;
	size_t mark;

	if (!key_lookup(jp, obj, key, &val, &mark))
		return 0;
	if (expect_type(jp, val, json_type_array) < 0)
		return -1;
	size_t count = json_object_array_length(val);
	char *elems = xmalloc0((count ? count : 1) * elem_size);
	*out = elems;
	*n = count;
	for (size_t i = 0; i < count; i++) {
		struct json_object *elem = json_object_array_get_idx(val, i);
		size_t elem_mark = json_path_push_index(jp, i);
		if (expect_type(jp, elem, json_type_object) < 0)
			return -1;
		if (parse_elem(jp, elem, elems + i * elem_size) < 0)
			return -1;
		json_path_pop(jp, elem_mark);
	}
	json_path_pop(jp, mark);
	return 1;
}

int json_key_string_map(struct json_path *jp, struct json_object *obj, const char *key, struct oci_kv **out,
			size_t *n)
{
	struct json_object *map;
	size_t mark;

	if (!key_lookup(jp, obj, key, &map, &mark))
		return 0;
	if (expect_type(jp, map, json_type_object) < 0)
		return -1;
	size_t count = (size_t)json_object_object_length(map);
	struct oci_kv *kv = xmalloc0((count ? count : 1) * sizeof(*kv));
	size_t i = 0;
	*out = kv;
	*n = 0;
	json_object_object_foreach(map, k, v)
	{
		size_t key_mark = json_path_push_map_key(jp, k);
		kv[i].key = xstrdup(k);
		*n = i + 1;
		if (v == NULL)
			return json_path_error(jp, "expected string, got null");
		if (json_value_string(jp, v, &kv[i].value) < 0)
			return -1;
		json_path_pop(jp, key_mark);
		i++;
	}
	json_path_pop(jp, mark);
	return 1;
}
