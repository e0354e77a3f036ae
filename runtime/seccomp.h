/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_RUNTIME_SECCOMP_H
#define HANGAR_RUNTIME_SECCOMP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "config/oci.h"

/* A linux.seccomp section compiled with libseccomp, ready to load. */
struct seccomp_program;

/* Build the filter: default action (+ defaultErrnoRet), architectures, every
 * rule with its argument conditions, flags.  Syscall names this libseccomp
 * does not know are skipped (as runc and crun do).  The filter does not set
 * no_new_privs on load: that is process.noNewPrivileges' job. */
int seccomp_program_build(const struct oci_seccomp *s, struct seccomp_program **out,
			  struct hangar_error *err);

/* Install the filter in the calling thread (all threads with TSYNC).
 * *notify_fd_out gets the user-notification listener (O_CLOEXEC) when the
 * default action or any rule is SCMP_ACT_NOTIFY, else -1.  Without
 * no_new_privs the kernel needs CAP_SYS_ADMIN in the effective set. */
int seccomp_program_load(struct seccomp_program *p, int *notify_fd_out, struct hangar_error *err);

/* True when the program uses SCMP_ACT_NOTIFY (a listener fd will come out). */
bool seccomp_program_uses_notify(const struct seccomp_program *p);

/* Number of rules actually added (after skipping unknown syscalls). */
size_t seccomp_program_rule_count(const struct seccomp_program *p);

/* Deny-by-default filters answer syscalls newer than the newest one the
 * profile names with ENOSYS (runc's stub), so that libc falls back to older
 * calls.  The first such syscall number for arch (a SCMP_ARCH_* token, 0 =
 * native), or 0 when none.  The stub is prepended at load time and is not
 * part of seccomp_program_export_bpf's output. */
int seccomp_program_enosys_from(const struct seccomp_program *p, uint32_t arch);

void seccomp_program_free(struct seccomp_program *p);

/* Write the BPF program to fd (for debugging and `features`). */
int seccomp_program_export_bpf(const struct seccomp_program *p, int fd, struct hangar_error *err);

/* Connect to listener_path (AF_UNIX stream) and send notify_fd with
 * SCM_RIGHTS; the payload is the runtime-spec containerProcessState:
 * {"ociVersion", "fds": ["seccompFd"], "pid", "metadata", "state"}, where
 * state is container_state_json (the `state` output) and metadata the
 * linux.seccomp.listenerMetadata string (may be NULL). */
int seccomp_send_listener(const char *listener_path, int notify_fd, const char *container_state_json,
			  const char *metadata, struct hangar_error *err);

/* The docker/podman-style default allowlist (runtime/seccomp_default.c),
 * adjusted to the capabilities in caps (the bounding set decides), as a
 * config section the manager and `spec` can embed.  out is filled with
 * owned memory; release it with seccomp_profile_clear(). */
int seccomp_default_profile(const struct oci_capabilities *caps, struct oci_seccomp *out,
			    struct hangar_error *err);
void seccomp_profile_clear(struct oci_seccomp *s);

#endif
