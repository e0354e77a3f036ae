/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_NAMESPACES_SUBID_H
#define HANGAR_NAMESPACES_SUBID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "config/oci.h"

struct ns_subid_range {
	uint32_t start, count;
};

/* Every range of the user (by name, or by the decimal id, as shadow-utils
 * accepts both) in a subuid/subgid file, in file order.  *n = 0 when the
 * user has none or the file does not exist. */
int ns_subid_ranges(const char *path, const char *name, uint32_t id, struct ns_subid_range **out, size_t *n,
		    struct hangar_error *err);

/* Is host ids [start, start+count) inside one of the ranges? */
bool ns_subid_covers(const struct ns_subid_range *r, size_t n, uint32_t start, uint32_t count);

/* The mappings an unprivileged user can get: 0 -> own id, then 1.. -> the
 * subordinate ranges (like podman).  Without ranges in both files, or
 * without newuidmap/newgidmap, a single-id mapping and note says why. */
struct ns_rootless_maps {
	struct oci_id_mapping *uids, *gids;
	size_t n_uids, n_gids;
	char *note; /* NULL when the ranges were used */
};

struct ns_rootless_query {
	const char *subuid_path, *subgid_path;
	const char *name; /* may be NULL: then only the numeric id matches */
	uint32_t uid, gid;
	bool helpers_present;
};

/* For the calling process (euid/egid, /etc/subuid, /etc/subgid, PATH). */
int ns_rootless_mappings(struct ns_rootless_maps *out, struct hangar_error *err);
/* Same with every input given (tests, other files). */
int ns_rootless_mappings_from(const struct ns_rootless_query *q, struct ns_rootless_maps *out,
			      struct hangar_error *err);
void ns_rootless_maps_release(struct ns_rootless_maps *m);

#endif
