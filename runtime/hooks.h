/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_RUNTIME_HOOKS_H
#define HANGAR_RUNTIME_HOOKS_H

#include <stddef.h>

#include "common/error.h"
#include "config/oci.h"

/*
 * Run OCI hooks one after the other.  Each hook gets exactly hook->env as its
 * environment, hook->args as argv (or {path} when absent), state_json on its
 * stdin, and no file descriptor other than 0/1/2.  Its stdout and stderr are
 * captured; the first line of stderr (or stdout) is quoted in errors.
 *
 * Errors: "<phase> hook <path> exited with status N: <first line>",
 * "<phase> hook <path> killed by signal S",
 * "<phase> hook <path> timed out after N s" (the hook is SIGKILLed).
 * phase names the hook list ("prestart", "createRuntime", ...).
 */
int hooks_run(const struct oci_hook *hooks, size_t n, const char *phase, const char *state_json,
	      struct hangar_error *err);

/* One hook (hooks_run calls this for each). */
int hooks_run_one(const struct oci_hook *hook, const char *phase, const char *state_json,
		  struct hangar_error *err);

#endif
