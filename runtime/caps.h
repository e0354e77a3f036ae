/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_RUNTIME_CAPS_H
#define HANGAR_RUNTIME_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "config/oci.h"

/* process.capabilities resolved to bit masks (bit N = capability N).  Names
 * the running kernel does not know are left out. */
struct caps_masks {
	uint64_t bounding, effective, permitted, inheritable, ambient;
};

/* "CAP_CHOWN" (any case, "CAP_" optional) -> 0; -1 when libcap does not know it. */
int caps_from_name(const char *name);

/* Highest capability number the running kernel knows (cap_last_cap). */
int caps_last_cap(void);

/* Fails on names libcap does not know; skips ones above caps_last_cap(). */
int caps_resolve(const struct oci_capabilities *c, struct caps_masks *out, struct hangar_error *err);

/* true when the list holds the capability (names compared like caps_from_name). */
bool caps_list_has(char *const *names, size_t n, const char *cap_name);

/* Drop every capability not in m->bounding from the bounding set.  Needs
 * CAP_SETPCAP, so it runs before the uid switch. */
int caps_apply_bounding(const struct caps_masks *m, struct hangar_error *err);

/* Set effective/permitted/inheritable, then reset the ambient set and raise
 * m->ambient. */
int caps_apply_sets(const struct caps_masks *m, struct hangar_error *err);

/* Read a Cap* line ("CapBnd") of /proc/self/status (for tests and checks). */
int caps_read_status_mask(const char *field, uint64_t *out, struct hangar_error *err);

#endif
