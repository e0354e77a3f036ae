/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_RUNTIME_PROCESS_ATTRS_H
#define HANGAR_RUNTIME_PROCESS_ATTRS_H

/*
 * Per-process attributes applied by the container init (and by exec) right
 * before execve.  The intended order is:
 *
 *   process_apply_rlimits, process_apply_oom_score_adj,
 *   process_apply_io_priority, process_apply_scheduler,
 *   process_apply_personality, process_apply_lsm,
 *   (hooks), process_apply_user_and_caps, process_apply_no_new_privs,
 *   seccomp (runtime/seccomp.h).
 *
 * When process.noNewPrivileges is false the kernel only accepts a seccomp
 * filter from a task with CAP_SYS_ADMIN in its effective set, so in that case
 * the seccomp filter has to be loaded before process_apply_user_and_caps
 * drops the capabilities (runc does the same).
 */

#include <stdbool.h>

#include "common/error.h"
#include "config/oci.h"

/* Each setrlimit in order.  A hard limit above the current one without
 * CAP_SYS_RESOURCE is reported as such. */
int process_apply_rlimits(const struct oci_process *p, struct hangar_error *err);

/* /proc/self/oom_score_adj; nothing when has_oom_score_adj is false. */
int process_apply_oom_score_adj(const struct oci_process *p, struct hangar_error *err);

/* ioprio_set(IOPRIO_WHO_PROCESS, 0, ...); nothing when io_priority absent. */
int process_apply_io_priority(const struct oci_process *p, struct hangar_error *err);

/* sched_setattr(0, ...) with policy, nice, priority, flags and the
 * SCHED_DEADLINE runtime/deadline/period. */
int process_apply_scheduler(const struct oci_process *p, struct hangar_error *err);

/* linux.personality: domain LINUX or LINUX32. */
int process_apply_personality(const struct oci_personality *p, struct hangar_error *err);

/* process.apparmorProfile / process.selinuxLabel for the next execve. */
int process_apply_lsm(const struct oci_process *p, struct hangar_error *err);

/* umask, supplementary groups, gid, uid, then the five capability sets (when
 * process.capabilities is present): the bounding set is reduced first, the
 * uid switch keeps the permitted set (PR_SET_KEEPCAPS), then
 * effective/permitted/inheritable are set and the ambient set raised.
 * Capability names the running kernel does not know (above
 * /proc/sys/kernel/cap_last_cap) are skipped. */
int process_apply_user_and_caps(const struct oci_process *p, struct hangar_error *err);

/* prctl(PR_SET_NO_NEW_PRIVS) when process.noNewPrivileges is true. */
int process_apply_no_new_privs(const struct oci_process *p, struct hangar_error *err);

struct seccomp_program;
/* The last steps before execve, in an order the kernel accepts: user and
 * capabilities, no_new_privs, then the seccomp filter (may be NULL).  When
 * process.noNewPrivileges is false the filter is loaded first, while
 * CAP_SYS_ADMIN is still held (what runc does); the filter must then allow
 * the user switch (setgroups, setres[ug]id, capset, prctl).
 * *notify_fd_out: see seccomp_program_load (-1 when none). */
int process_apply_final(const struct oci_process *p, struct seccomp_program *seccomp, int *notify_fd_out,
			struct hangar_error *err);

/* Highest capability number the running kernel knows. */
int process_cap_last_cap(void);

#endif
