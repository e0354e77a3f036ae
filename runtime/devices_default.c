/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "runtime/devices_default.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

/* The device nodes every container may use whatever its config says: runc
 * appends the same list after the configured rules (last match wins), so a
 * config that denies everything still gets a working /dev/null and pty. */
static const struct {
	char type;
	int64_t major, minor; /* -1 = any */
	const char *access;
} default_allowed[] = {
	{'c', -1, -1, "m"},
	{'b', -1, -1, "m"}, /* mknod of anything, as runc */
	{'c', 1, 3, "rwm"},	/* /dev/null */
	{'c', 1, 8, "rwm"},	/* /dev/random */
	{'c', 1, 7, "rwm"},	/* /dev/full */
	{'c', 5, 0, "rwm"},	/* /dev/tty */
	{'c', 1, 5, "rwm"},	/* /dev/zero */
	{'c', 1, 9, "rwm"},	/* /dev/urandom */
	{'c', 136, -1, "rwm"},	/* /dev/pts/N */
	{'c', 5, 2, "rwm"},	/* /dev/ptmx */
	{'c', 10, 200, "rwm"},	/* /dev/net/tun */
};

void oci_resources_add_default_devices(struct oci_resources *r, const struct oci_linux *lx)
{
	size_t extra = ARRAY_SIZE(default_allowed) + lx->n_devices;
	struct oci_device_cgroup *d = realloc(r->devices, (r->n_devices + extra) * sizeof(*d));
	if (d == NULL)
		abort();
	r->devices = d;
	for (size_t i = 0; i < ARRAY_SIZE(default_allowed); i++) {
		struct oci_device_cgroup *e = &d[r->n_devices++];
		memset(e, 0, sizeof(*e));
		e->allow = true;
		e->type = default_allowed[i].type;
		e->has_major = default_allowed[i].major >= 0;
		e->major = default_allowed[i].major;
		e->has_minor = default_allowed[i].minor >= 0;
		e->minor = default_allowed[i].minor;
		e->access = xstrdup(default_allowed[i].access);
	}
	/* Devices the config creates (linux.devices) are usable too. */
	for (size_t i = 0; i < lx->n_devices; i++) {
		const struct oci_device *dev = &lx->devices[i];
		if (dev->type != 'c' && dev->type != 'b' && dev->type != 'u')
			continue;
		struct oci_device_cgroup *e = &d[r->n_devices++];
		memset(e, 0, sizeof(*e));
		e->allow = true;
		e->type = dev->type == 'u' ? 'c' : dev->type;
		e->has_major = e->has_minor = true;
		e->major = dev->major;
		e->minor = dev->minor;
		e->access = xstrdup("rwm");
	}
	r->present = true;
}
