/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rootless: file work in the store done as root of a user namespace with
 * the user's subordinate ranges, so that files of the mapped ids (an
 * imported image's, an instance's upper dir's) can be made and removed. */
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "manager/internal.h"
#include "namespaces/namespaces.h"
#include "namespaces/subid.h"

int hangar_in_userns(const struct hangar_paths *p, ns_userns_fn fn, void *data, bool *ranges,
		     struct hangar_error *err)
{
	if (ranges)
		*ranges = false;
	if (!p->rootless)
		return fn(data, err);
	struct ns_rootless_maps maps;
	if (ns_rootless_mappings(&maps, err) < 0)
		return -1;
	if (ranges)
		*ranges = maps.note == NULL;
	int rc = ns_run_in_userns(maps.uids, maps.n_uids, maps.gids, maps.n_gids, fn, data, err);
	ns_rootless_maps_release(&maps);
	return rc;
}

static int rm_rf_fn(void *data, struct hangar_error *err)
{
	return rm_rf(data, err);
}

int hangar_rm_rf(const struct hangar_paths *p, const char *path, struct hangar_error *err)
{
	/* Plainly first: the common case (files of the user only) needs no
	 * namespace, and a user without ranges has nothing else. */
	struct hangar_error first;
	hangar_error_clear(&first);
	if (rm_rf(path, &first) == 0)
		return 0;
	if (!p->rootless) {
		*err = first;
		return -1;
	}
	_cleanup_free_ char *copy = xstrdup(path);
	if (hangar_in_userns(p, rm_rf_fn, copy, NULL, err) < 0)
		return -1;
	return 0;
}
