/* SPDX-License-Identifier: GPL-2.0-or-later */
/* runtime/caps.c: name resolution, masks, bounding set and the five sets. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/caps.h"
#include "child.h"
#include "tap.h"

#define BIT(c) (1ULL << (c))



static int child_bounding(void *arg, char *msg, size_t len)
{
	struct caps_masks m = {.bounding = BIT(CAP_NET_RAW) | BIT(CAP_SETPCAP) | BIT(CAP_KILL)};
	struct hangar_error err = {0};
	uint64_t before = 0, after = 0;
	caps_read_status_mask("CapBnd", &before, NULL);
	if (caps_apply_bounding(&m, &err) < 0)
		return failf(msg, len, "%s", err.msg);
	caps_read_status_mask("CapBnd", &after, NULL);
	if (after != (m.bounding & before))
		return failf(msg, len, "CapBnd %llx, want %llx", (unsigned long long)after,
			     (unsigned long long)(m.bounding & before));
	/* Dropping is one-way: a second, wider request cannot bring caps back. */
	m.bounding = ~0ULL;
	if (caps_apply_bounding(&m, &err) < 0)
		return failf(msg, len, "idempotent re-apply: %s", err.msg);
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0)
		return failf(msg, len, "CAP_SYS_ADMIN back in the bounding set");
	return 0;
}

static int child_sets_root(void *arg, char *msg, size_t len)
{
	struct caps_masks m = {.effective = BIT(CAP_KILL),
			       .permitted = BIT(CAP_KILL) | BIT(CAP_CHOWN),
			       .inheritable = BIT(CAP_CHOWN),
			       .ambient = BIT(CAP_CHOWN)};
	struct hangar_error err = {0};
	uint64_t eff, prm, inh, amb;
	if (caps_apply_sets(&m, &err) < 0)
		return failf(msg, len, "%s", err.msg);
	caps_read_status_mask("CapEff", &eff, NULL);
	caps_read_status_mask("CapPrm", &prm, NULL);
	caps_read_status_mask("CapInh", &inh, NULL);
	caps_read_status_mask("CapAmb", &amb, NULL);
	if (eff != m.effective || prm != m.permitted || inh != m.inheritable || amb != m.ambient)
		return failf(msg, len, "eff %llx prm %llx inh %llx amb %llx", (unsigned long long)eff,
			     (unsigned long long)prm, (unsigned long long)inh, (unsigned long long)amb);
	return 0;
}

static int child_ambient_needs_inheritable(void *arg, char *msg, size_t len)
{
	struct caps_masks m = {
	    .effective = BIT(CAP_KILL), .permitted = BIT(CAP_KILL), .ambient = BIT(CAP_KILL)};
	struct hangar_error err = {0};
	if (caps_apply_sets(&m, &err) == 0)
		return failf(msg, len, "ambient without inheritable accepted");
	snprintf(msg, len, "%s", err.msg);
	return strstr(err.msg, "CAP_KILL") && strstr(err.msg, "permitted and inheritable") ? 0 : 1;
}

static int child_inheritable_outside_bounding(void *arg, char *msg, size_t len)
{
	struct caps_masks bnd = {.bounding = BIT(CAP_KILL)};
	struct caps_masks m = {.effective = BIT(CAP_KILL),
			       .permitted = BIT(CAP_KILL) | BIT(CAP_CHOWN),
			       .inheritable = BIT(CAP_CHOWN)};
	struct hangar_error err = {0};
	if (caps_apply_bounding(&bnd, &err) < 0)
		return failf(msg, len, "bounding: %s", err.msg);
	if (caps_apply_sets(&m, &err) == 0)
		return failf(msg, len, "inheritable cap outside the bounding set accepted");
	snprintf(msg, len, "%s", err.msg);
	return strstr(err.msg, "CAP_CHOWN is in the inheritable but not in the bounding set") ? 0 : 1;
}

static int cap_last_cap_from_proc(void)
{
	char *s = NULL;
	if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", &s, NULL, NULL) < 0)
		return -1;
	int v = atoi(s);
	free(s);
	return v;
}

int main(void)
{
	struct hangar_error err = {0};
	char msg[1024];
	char *bnd[] = {"CAP_CHOWN", "CAP_kill", "CAP_SYS_ADMIN", NULL};
	char *one[] = {"CAP_NET_ADMIN", NULL};
	char *bad[] = {"CAP_CHOWN", "NET_ADMIN", NULL};
	struct oci_capabilities c = {.present = true,
				     .bounding = bnd,
				     .n_bounding = 3,
				     .effective = one,
				     .n_effective = 1,
				     .permitted = one,
				     .n_permitted = 1};
	struct caps_masks m;

	ok(caps_resolve(&c, &m, &err) == 0 &&
	       m.bounding == (BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_SYS_ADMIN)) &&
	       m.effective == BIT(CAP_NET_ADMIN) && m.permitted == BIT(CAP_NET_ADMIN) && m.inheritable == 0 &&
	       m.ambient == 0,
	   "caps_resolve builds the masks %s", err.msg);
	c.ambient = bad;
	c.n_ambient = 2;
	ok(caps_resolve(&c, &m, &err) < 0 &&
	       strcmp(err.msg, "process.capabilities.ambient: unknown capability 'NET_ADMIN'") == 0,
	   "caps_resolve names the set and the bad entry (%s)", err.msg);
	ok(caps_list_has(bnd, 3, "CAP_KILL") && caps_list_has(bnd, 3, "cap_sys_admin") &&
	       !caps_list_has(bnd, 3, "CAP_BPF"),
	   "caps_list_has");
	ok(caps_last_cap() == cap_last_cap_from_proc(), "cap_last_cap matches /proc");

	int rc = run_in_child(child_bounding, NULL, msg, sizeof(msg));
	ok(rc == 0, "caps_apply_bounding leaves exactly the requested caps %s", msg);
	rc = run_in_child(child_sets_root, NULL, msg, sizeof(msg));
	ok(rc == 0, "caps_apply_sets sets effective/permitted/inheritable/ambient exactly %s", msg);
	rc = run_in_child(child_ambient_needs_inheritable, NULL, msg, sizeof(msg));
	ok(rc == 0, "ambient without inheritable: error explains (%s)", msg);
	rc = run_in_child(child_inheritable_outside_bounding, NULL, msg, sizeof(msg));
	ok(rc == 0, "inheritable outside bounding: error explains (%s)", msg);
	return tap_done();
}
