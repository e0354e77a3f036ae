/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_STATUS_HOOKS_H
#define HANGAR_STATUS_HOOKS_H

#include <stdbool.h>

struct container_state;

/* True when the container's cgroup is frozen (paused). */
bool state_cgroup_frozen(const struct container_state *st);

#endif
