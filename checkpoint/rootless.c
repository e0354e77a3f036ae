/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checkpoint/restore as an unprivileged user: criu's --unprivileged mode
 * (criu >= 3.18) works when the criu binary carries the file capabilities
 * CAP_CHECKPOINT_RESTORE (Linux >= 5.9) and CAP_SYS_PTRACE.  Everything is
 * probed up front, so that a refusal names exactly what is missing and
 * comes before anything is written or removed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "checkpoint/checkpoint.h"
#include "checkpoint/criu.h"
#include "common/cleanup.h"
#include "common/util.h"

#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

#define UNPRIVILEGED_MIN_VERSION 31800 /* criu 3.18: --unprivileged */

static void add_missing(char **list, const char *piece)
{
	char *joined = *list ? xasprintf("%s; %s", *list, piece) : xstrdup(piece);
	free(*list);
	*list = joined;
}

static bool file_has_cap(cap_t caps, cap_value_t cap)
{
	cap_flag_value_t v = CAP_CLEAR;
	return caps && cap_get_flag(caps, cap, CAP_PERMITTED, &v) == 0 && v == CAP_SET;
}

int checkpoint_rootless_probe(const char *what, const char *criu_path, bool *unprivileged,
			      struct hangar_error *err)
{
	*unprivileged = false;
	if (geteuid() == 0)
		return 0;
	_cleanup_free_ char *missing = NULL;
	struct utsname u;
	unsigned kmajor = 0, kminor = 0;
	if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &kmajor, &kminor) == 2 &&
	    kmajor * 100 + kminor < 509) {
		_cleanup_free_ char *p =
		    xasprintf("Linux >= 5.9 for CAP_CHECKPOINT_RESTORE (this is %s)", u.release);
		add_missing(&missing, p);
	}
	struct criu c;
	struct hangar_error open_err;
	if (criu_open(criu_path, &c, &open_err) < 0) {
		add_missing(&missing, open_err.msg);
	} else {
		if (c.version < UNPRIVILEGED_MIN_VERSION) {
			_cleanup_free_ char *p =
			    xasprintf("criu >= 3.18 for --unprivileged (%s is %s)", c.path, c.version_str);
			add_missing(&missing, p);
		}
		cap_t caps = cap_get_file(c.path);
		bool cr = file_has_cap(caps, CAP_CHECKPOINT_RESTORE),
		     ptrace = file_has_cap(caps, CAP_SYS_PTRACE);
		if (caps)
			cap_free(caps);
		if (!cr || !ptrace) {
			_cleanup_free_ char *p =
			    xasprintf("file capabilities %s%s%s on %s (an administrator runs `setcap "
				      "cap_checkpoint_restore,cap_sys_ptrace+eip` on the criu binary)",
				      !cr ? "cap_checkpoint_restore" : "", !cr && !ptrace ? " and " : "",
				      !ptrace ? "cap_sys_ptrace" : "", c.path);
			add_missing(&missing, p);
		}
		criu_close(&c);
	}
	if (missing)
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0, "%s as a user needs %s", what, missing);
	*unprivileged = true;
	return 0;
}
