/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_CLONED_BINARY_H
#define HANGAR_CLONED_BINARY_H

#include "common/error.h"

/* CVE-2019-5736: a container process that can open /proc/PID/exe of a
 * runtime process inside its namespaces could overwrite the runtime binary
 * on the host.  Re-execute from a sealed, read-only memfd copy unless we
 * already run from one; returns 0 only when running from the sealed copy. */
int ensure_cloned_binary(int argc, char **argv, struct hangar_error *err);

#endif
