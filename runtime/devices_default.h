/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_DEVICES_DEFAULT_H
#define HANGAR_DEVICES_DEFAULT_H

#include "config/oci.h"

/* Append runc's always-allowed device rules and the config's linux.devices
 * to the device cgroup rules of r. */
void oci_resources_add_default_devices(struct oci_resources *r, const struct oci_linux *lx);

#endif
