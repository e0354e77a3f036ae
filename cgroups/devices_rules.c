/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * linux.resources.devices -> one normalized policy (a default plus
 * exceptions) with the semantics of the v1 devices controller, so that the
 * v1 files and the v2 BPF program enforce exactly the same thing:
 *  - a type "a" rule resets everything: allow => allow by default, deny =>
 *    deny by default, no exceptions (whatever its major/minor/access say);
 *  - a rule whose action differs from the default adds an exception
 *    (access bits of the same device merge);
 *  - a rule with the default's action removes access bits from the
 *    exception for exactly that device.  v1 silently ignores removing part
 *    of a wildcard exception ("c *:* rwm" then deny "c 1:3 w"); like runc we
 *    refuse such a list rather than enforce something else than it says.
 * Before the first rule, everything is denied.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/util.h"

static int parse_access(const char *access, unsigned *bits)
{
	*bits = 0;
	for (const char *c = access && *access ? access : "rwm"; *c; c++)
		switch (*c) {
		case 'r':
			*bits |= CGROUP_DEV_READ;
			break;
		case 'w':
			*bits |= CGROUP_DEV_WRITE;
			break;
		case 'm':
			*bits |= CGROUP_DEV_MKNOD;
			break;
		default:
			return -1;
		}
	return 0;
}

static struct cgroup_device_exception *find_exception(struct cgroup_device_policy *p, char type,
						      int64_t major, int64_t minor)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ex[i].type == type && p->ex[i].major == major && p->ex[i].minor == minor)
			return &p->ex[i];
	return NULL;
}

static void add_exception(struct cgroup_device_policy *p, char type, int64_t major, int64_t minor,
			  unsigned access)
{
	struct cgroup_device_exception *e = find_exception(p, type, major, minor);
	if (e) {
		e->access |= access;
		return;
	}
	struct cgroup_device_exception *grown = realloc(p->ex, (p->n + 1) * sizeof(*grown));
	if (grown == NULL)
		abort();
	p->ex = grown;
	p->ex[p->n++] =
	    (struct cgroup_device_exception){.type = type, .major = major, .minor = minor, .access = access};
}

static int remove_access(struct cgroup_device_policy *p, size_t idx, char type, int64_t major, int64_t minor,
			 unsigned access, struct hangar_error *err)
{
	const int64_t partial[3][2] = {{-1, minor}, {major, -1}, {-1, -1}};
	for (size_t i = 0; i < 3; i++) {
		if (partial[i][0] == major && partial[i][1] == minor)
			continue;
		struct cgroup_device_exception *w = find_exception(p, type, partial[i][0], partial[i][1]);
		if (w && (w->access & access)) {
			_cleanup_free_ char *wild = cgroup_device_exception_string(w);
			return hangar_error_set(
			    err, HANGAR_E_CONFIG, 0,
			    "linux.resources.devices[%zu]: cannot remove access from part of the earlier "
			    "wildcard rule '%s' (cgroup v1 would ignore it)",
			    idx, wild);
		}
	}
	struct cgroup_device_exception *e = find_exception(p, type, major, minor);
	if (e == NULL)
		return 0;
	e->access &= ~access;
	if (e->access == 0) {
		size_t at = (size_t)(e - p->ex);
		memmove(&p->ex[at], &p->ex[at + 1], (p->n - at - 1) * sizeof(*p->ex));
		p->n--;
	}
	return 0;
}

int cgroup_device_policy_build(const struct oci_device_cgroup *rules, size_t n,
			       struct cgroup_device_policy *out, struct hangar_error *err)
{
	struct cgroup_device_policy p = {.default_allow = false};
	for (size_t i = 0; i < n; i++) {
		const struct oci_device_cgroup *r = &rules[i];
		char type = r->type ? r->type : 'a';
		unsigned access;
		if (type != 'a' && type != 'c' && type != 'b') {
			cgroup_device_policy_clear(&p);
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"linux.resources.devices[%zu]: invalid type '%c'", i, type);
		}
		if (parse_access(r->access, &access) < 0) {
			cgroup_device_policy_clear(&p);
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"linux.resources.devices[%zu]: invalid access '%s'", i,
						r->access);
		}
		if (type == 'a') {
			cgroup_device_policy_clear(&p);
			p.default_allow = r->allow;
			continue;
		}
		int64_t major = r->has_major && r->major >= 0 ? r->major : -1;
		int64_t minor = r->has_minor && r->minor >= 0 ? r->minor : -1;
		if (major > UINT32_MAX || minor > UINT32_MAX) {
			cgroup_device_policy_clear(&p);
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"linux.resources.devices[%zu]: device number out of range",
						i);
		}
		if (r->allow != p.default_allow) {
			add_exception(&p, type, major, minor, access);
		} else if (remove_access(&p, i, type, major, minor, access, err) < 0) {
			cgroup_device_policy_clear(&p);
			return -1;
		}
	}
	*out = p;
	return 0;
}

void cgroup_device_policy_clear(struct cgroup_device_policy *p)
{
	free(p->ex);
	p->ex = NULL;
	p->n = 0;
}

char *cgroup_device_exception_string(const struct cgroup_device_exception *e)
{
	char major[24] = "*", minor[24] = "*", access[4];
	size_t a = 0;
	if (e->major >= 0)
		snprintf(major, sizeof(major), "%lld", (long long)e->major);
	if (e->minor >= 0)
		snprintf(minor, sizeof(minor), "%lld", (long long)e->minor);
	if (e->access & CGROUP_DEV_READ)
		access[a++] = 'r';
	if (e->access & CGROUP_DEV_WRITE)
		access[a++] = 'w';
	if (e->access & CGROUP_DEV_MKNOD)
		access[a++] = 'm';
	access[a] = '\0';
	return xasprintf("%c %s:%s %s", e->type, major, minor, access);
}
