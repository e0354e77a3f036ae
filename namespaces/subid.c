/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Subordinate id ranges (/etc/subuid, /etc/subgid) and the id mappings an
 * unprivileged caller can get with them. */
#include "namespaces/subid.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

/* newuidmap(1) refuses more lines than the kernel's uid_map takes (340);
 * a user with that many ranges is a misconfiguration, not a use case. */
#define MAX_RANGES 32

static bool owner_matches(const char *field, size_t len, const char *name, uint32_t id)
{
	if (name && strlen(name) == len && strncmp(field, name, len) == 0)
		return true;
	/* shadow-utils also accepts the numeric id in the first field. */
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%" PRIu32, id);
	return (size_t)n == len && strncmp(field, buf, len) == 0;
}

int ns_subid_ranges(const char *path, const char *name, uint32_t id, struct ns_subid_range **out, size_t *n,
		    struct hangar_error *err)
{
	*out = NULL;
	*n = 0;
	_cleanup_free_ char *text = NULL;
	struct hangar_error read_err;
	if (read_file_at(AT_FDCWD, path, &text, NULL, &read_err) < 0) {
		if (read_err.err_no == ENOENT)
			return 0;
		*err = read_err;
		return -1;
	}
	_cleanup_free_ struct ns_subid_range *ranges = xmalloc0(MAX_RANGES * sizeof(*ranges));
	size_t count = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		if (line[0] == '#' || c1 == NULL || !owner_matches(line, (size_t)(c1 - line), name, id))
			continue;
		char *c2 = strchr(c1 + 1, ':');
		if (c2 == NULL)
			continue;
		*c2 = '\0';
		uint64_t start, len;
		/* A malformed line is skipped, as newuidmap does: it cannot grant
		 * anything, so it must not stop the user's valid ranges. */
		if (parse_u64(c1 + 1, &start) < 0 || parse_u64(c2 + 1, &len) < 0 || len == 0 ||
		    start + len > UINT32_MAX)
			continue;
		if (count == MAX_RANGES)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s: more than %d ranges for %s",
						path, MAX_RANGES, name ? name : "the user");
		ranges[count++] = (struct ns_subid_range){(uint32_t)start, (uint32_t)len};
	}
	if (count > 0) {
		*out = steal_pointer(&ranges);
		*n = count;
	}
	return 0;
}

static bool helper_in_path(const char *helper)
{
	_cleanup_free_ char *p = find_in_path(helper);
	return p != NULL;
}

/* 0 -> self, then the ranges back to back from container id 1. */
static struct oci_id_mapping *build_map(uint32_t self, const struct ns_subid_range *r, size_t n,
					size_t *n_out)
{
	struct oci_id_mapping *m = xmalloc0((n + 1) * sizeof(*m));
	m[0] = (struct oci_id_mapping){0, self, 1};
	uint32_t next = 1;
	for (size_t i = 0; i < n; i++) {
		m[i + 1] = (struct oci_id_mapping){next, r[i].start, r[i].count};
		next += r[i].count;
	}
	*n_out = n + 1;
	return m;
}

static struct oci_id_mapping *single_map(uint32_t self, size_t *n_out)
{
	struct oci_id_mapping *m = xmalloc0(sizeof(*m));
	m[0] = (struct oci_id_mapping){0, self, 1};
	*n_out = 1;
	return m;
}

int ns_rootless_mappings_from(const struct ns_rootless_query *q, struct ns_rootless_maps *out,
			      struct hangar_error *err)
{
	memset(out, 0, sizeof(*out));
	_cleanup_free_ struct ns_subid_range *ur = NULL, *gr = NULL;
	size_t n_ur = 0, n_gr = 0;
	if (ns_subid_ranges(q->subuid_path, q->name, q->uid, &ur, &n_ur, err) < 0 ||
	    ns_subid_ranges(q->subgid_path, q->name, q->gid, &gr, &n_gr, err) < 0)
		return -1;
	const char *who = q->name ? q->name : "this user";
	if (n_ur == 0 || n_gr == 0)
		out->note = xasprintf("%s has no range in %s; using a single-id mapping (uid %u and gid %u "
				      "become root inside, no other ids exist there)",
				      who, n_ur == 0 ? q->subuid_path : q->subgid_path, q->uid, q->gid);
	else if (!q->helpers_present)
		out->note =
		    xstrdup("newuidmap/newgidmap not found (install the uidmap package); using a single-id "
			    "mapping");
	if (out->note) {
		out->uids = single_map(q->uid, &out->n_uids);
		out->gids = single_map(q->gid, &out->n_gids);
		return 0;
	}
	out->uids = build_map(q->uid, ur, n_ur, &out->n_uids);
	out->gids = build_map(q->gid, gr, n_gr, &out->n_gids);
	return 0;
}

int ns_rootless_mappings(struct ns_rootless_maps *out, struct hangar_error *err)
{
	_cleanup_free_ char *name = NULL;
	struct ns_rootless_query q = {
	    .subuid_path = "/etc/subuid",
	    .subgid_path = "/etc/subgid",
	    .uid = geteuid(),
	    .gid = getegid(),
	    .helpers_present = helper_in_path("newuidmap") && helper_in_path("newgidmap"),
	};
	/* /etc/subuid names users as /etc/passwd does (or by number) */
	q.name = name = passwd_name_of(q.uid);
	return ns_rootless_mappings_from(&q, out, err);
}

void ns_rootless_maps_release(struct ns_rootless_maps *m)
{
	free(m->uids);
	free(m->gids);
	free(m->note);
	memset(m, 0, sizeof(*m));
}

bool ns_subid_covers(const struct ns_subid_range *r, size_t n, uint32_t start, uint32_t count)
{
	for (size_t i = 0; i < n; i++) {
		if (start >= r[i].start && (uint64_t)start + count <= (uint64_t)r[i].start + r[i].count)
			return true;
	}
	return false;
}
