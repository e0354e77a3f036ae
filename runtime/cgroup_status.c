/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>

#include "cgroups/cgroup.h"
#include "runtime/state.h"
#include "runtime/status_hooks.h"

bool state_cgroup_frozen(const struct container_state *st)
{
	struct cgroup_manager *cg = NULL;
	struct hangar_error err;
	bool frozen = false;
	if (st->cgroup == NULL || cgroup_manager_open(st->cgroup, &cg, &err) < 0)
		return false;
	if (cgroup_manager_is_frozen(cg, &frozen, &err) < 0)
		frozen = false;
	cgroup_manager_free(cg);
	return frozen;
}
