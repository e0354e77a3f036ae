/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_CLONED_BINARY_H
#define HANGAR_CLONED_BINARY_H

#include "common/error.h"

/* CVE-2019-5736: a container process that can open /proc/PID/exe of a
 * runtime process inside its namespaces could overwrite the runtime binary
 * on the host.  Re-execute from a sealed, read-only memfd copy unless we
 * already run from one (or the binary is on a read-only mount); returns 0
 * only when that is done. */
int ensure_cloned_binary(int argc, char **argv, struct hangar_error *err);

struct oci_config;
/* The same for one container's config: also returns 0 without a copy when
 * that container's processes cannot write the binary anyway (read-only
 * mount, or a new user namespace that maps neither a writing owner/group
 * nor allows "other" to write). */
int ensure_cloned_binary_for(int argc, char **argv, const struct oci_config *cfg, struct hangar_error *err);

#endif
