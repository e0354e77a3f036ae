/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "runtime/caps.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "common/cleanup.h"
#include "common/util.h"

static void cleanup_cap_freep(cap_t *c)
{
	if (*c)
		cap_free(*c);
}
#define _cleanup_cap_ __attribute__((cleanup(cleanup_cap_freep)))

int caps_from_name(const char *name)
{
	cap_value_t v;

	/* libcap also accepts bare numbers; a config must name capabilities. */
	if (name == NULL || strncasecmp(name, "CAP_", 4) != 0 || isdigit((unsigned char)name[4]))
		return -1;
	if (cap_from_name(name, &v) < 0)
		return -1;
	return (int)v;
}

int caps_last_cap(void)
{
	static int cached = -1;
	char buf[32];

	if (cached >= 0)
		return cached;
	_cleanup_close_ int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read_all(fd, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			cached = atoi(buf);
		}
	}
	if (cached < 0) {
		/* Old kernels lack the file: probe the bounding set instead. */
		int c = 0;
		while (c < 63 && prctl(PR_CAPBSET_READ, c + 1, 0, 0, 0) >= 0)
			c++;
		cached = c;
	}
	return cached;
}

bool caps_list_has(char *const *names, size_t n, const char *cap_name)
{
	int want = caps_from_name(cap_name);
	if (want < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (caps_from_name(names[i]) == want)
			return true;
	return false;
}

static int resolve_list(const char *set_name, char *const *names, size_t n, uint64_t *mask,
			struct hangar_error *err)
{
	int last = caps_last_cap();

	*mask = 0;
	for (size_t i = 0; i < n; i++) {
		int c = caps_from_name(names[i]);
		if (c < 0)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"process.capabilities.%s: unknown capability '%s'", set_name,
						names[i]);
		/* Like runc and crun: a capability newer than the running kernel
		 * cannot be granted and is left out rather than failing. */
		if (c > last || c > 63)
			continue;
		*mask |= 1ULL << c;
	}
	return 0;
}

int caps_resolve(const struct oci_capabilities *c, struct caps_masks *out, struct hangar_error *err)
{
	memset(out, 0, sizeof(*out));
	if (resolve_list("bounding", c->bounding, c->n_bounding, &out->bounding, err) < 0 ||
	    resolve_list("effective", c->effective, c->n_effective, &out->effective, err) < 0 ||
	    resolve_list("permitted", c->permitted, c->n_permitted, &out->permitted, err) < 0 ||
	    resolve_list("inheritable", c->inheritable, c->n_inheritable, &out->inheritable, err) < 0 ||
	    resolve_list("ambient", c->ambient, c->n_ambient, &out->ambient, err) < 0)
		return -1;
	return 0;
}

static const char *cap_display_name(int c, char *buf, size_t len)
{
	char *n = cap_to_name((cap_value_t)c);
	if (n == NULL) {
		snprintf(buf, len, "capability %d", c);
		return buf;
	}
	snprintf(buf, len, "%s", n);
	cap_free(n);
	for (char *p = buf; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return buf;
}

int caps_apply_bounding(const struct caps_masks *m, struct hangar_error *err)
{
	int last = caps_last_cap();
	char name[64];

	for (int c = 0; c <= last && c <= 63; c++) {
		if (m->bounding & (1ULL << c))
			continue;
		int in_set = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
		if (in_set == 0)
			continue;
		if (in_set < 0 && errno == EINVAL)
			continue; /* unknown to this kernel after all */
		if (cap_drop_bound((cap_value_t)c) < 0)
			return hangar_sys_error(err, "drop %s from the bounding set",
						cap_display_name(c, name, sizeof(name)));
	}
	return 0;
}

static int cap_set_from_mask(cap_t caps, cap_flag_t flag, uint64_t mask)
{
	cap_value_t list[64];
	int n = 0;

	for (int c = 0; c <= 63; c++)
		if (mask & (1ULL << c))
			list[n++] = (cap_value_t)c;
	if (n == 0)
		return 0;
	return cap_set_flag(caps, flag, n, list, CAP_SET);
}

/* Name the first capability the process asked for but does not hold in its
 * permitted set, so that an EPERM from capset says what is missing. */
static void explain_capset_failure(const struct caps_masks *m, struct hangar_error *err)
{
	uint64_t have = 0;
	char name[64];

	if (caps_read_status_mask("CapPrm", &have, NULL) < 0)
		return;
	uint64_t bounding = 0, inheritable = 0;
	caps_read_status_mask("CapBnd", &bounding, NULL);
	caps_read_status_mask("CapInh", &inheritable, NULL);
	uint64_t missing = (m->permitted | m->effective) & ~have;
	/* The kernel only lets the inheritable set grow within the bounding set. */
	uint64_t outside_bounding = m->inheritable & ~(bounding | inheritable);
	if (m->effective & ~m->permitted) {
		int c = __builtin_ctzll(m->effective & ~m->permitted);
		hangar_error_prefix(err, "%s is in the effective but not in the permitted set",
				    cap_display_name(c, name, sizeof(name)));
	} else if (missing) {
		int c = __builtin_ctzll(missing);
		hangar_error_prefix(err, "%s is not held by the runtime",
				    cap_display_name(c, name, sizeof(name)));
	} else if (outside_bounding) {
		int c = __builtin_ctzll(outside_bounding);
		hangar_error_prefix(err, "%s is in the inheritable but not in the bounding set",
				    cap_display_name(c, name, sizeof(name)));
	}
}

int caps_apply_sets(const struct caps_masks *m, struct hangar_error *err)
{
	_cleanup_cap_ cap_t caps = cap_init();
	char name[64];

	if (caps == NULL)
		return hangar_sys_error(err, "cap_init");
	if (cap_set_from_mask(caps, CAP_EFFECTIVE, m->effective) < 0 ||
	    cap_set_from_mask(caps, CAP_PERMITTED, m->permitted) < 0 ||
	    cap_set_from_mask(caps, CAP_INHERITABLE, m->inheritable) < 0)
		return hangar_sys_error(err, "build capability sets");
	if (cap_set_proc(caps) < 0) {
		hangar_sys_error(err, "set effective/permitted/inheritable capabilities");
		explain_capset_failure(m, err);
		return -1;
	}

	/* The ambient set survives execve only for caps in both permitted and
	 * inheritable; the kernel refuses to raise any other. */
	if (CAP_AMBIENT_SUPPORTED()) {
		if (cap_reset_ambient() < 0)
			return hangar_sys_error(err, "clear the ambient capability set");
	} else if (m->ambient) {
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "ambient capabilities requested but the kernel does not support them");
	}
	for (int c = 0; c <= 63; c++) {
		if (!(m->ambient & (1ULL << c)))
			continue;
		if (cap_set_ambient((cap_value_t)c, CAP_SET) < 0) {
			int e = errno;
			const char *why = "";
			if (e == EPERM && !((m->permitted & m->inheritable) & (1ULL << c)))
				why = " (it must also be in the permitted and inheritable sets)";
			return hangar_error_set(err, HANGAR_E_SYS, e, "raise ambient capability %s%s",
						cap_display_name(c, name, sizeof(name)), why);
		}
	}
	return 0;
}

int caps_read_status_mask(const char *field, uint64_t *out, struct hangar_error *err)
{
	_cleanup_free_ char *status = NULL;
	size_t flen = strlen(field);

	if (read_file_at(AT_FDCWD, "/proc/self/status", &status, NULL, err) < 0)
		return -1;
	for (char *line = status; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			*out = strtoull(line + flen + 1, NULL, 16);
			return 0;
		}
	}
	return hangar_error_set(err, HANGAR_E_NOTFOUND, 0, "%s not found in /proc/self/status", field);
}
