/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_NAMESPACES_H
#define HANGAR_NAMESPACES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "config/oci.h"

/* CLONE_NEW* flag for an OCI namespace type. */
int ns_clone_flag(enum oci_ns_type t);
/* The /proc/PID/ns/ file name for a type ("pid", "net", "mnt", ...). */
const char *ns_proc_name(enum oci_ns_type t);

/* clone3() wrapper: returns the child's pid in the parent, 0 in the child.
 * cgroup_fd >= 0 adds CLONE_INTO_CGROUP (v2).  pidfd_out (optional) gets a
 * pidfd for the child (CLONE_PIDFD). */
pid_t ns_clone3(uint64_t flags, int cgroup_fd, int *pidfd_out, struct hangar_error *err);

/* Open every namespace path of cfg that should be joined (O_RDONLY|O_CLOEXEC);
 * fds[t] = -1 where the namespace is new or the host's.  Opening happens in
 * the runtime so that path errors are reported before anything is created. */
int ns_open_join_fds(const struct oci_config *cfg, int fds[OCI_NS_COUNT], struct hangar_error *err);
void ns_close_fds(int fds[OCI_NS_COUNT]);

/* setns() into each open fd, user namespace first (it changes what the others
 * may do), then the rest; pid/time only affect future children. */
int ns_join_fds(int fds[OCI_NS_COUNT], struct hangar_error *err);

/* Write uid_map/gid_map of pid.  Uses direct writes when we may (root, or a
 * single mapping of our own id with setgroups=deny), newuidmap/newgidmap
 * otherwise. */
int ns_write_id_maps(pid_t pid, const struct oci_id_mapping *uids, size_t n_uids,
		     const struct oci_id_mapping *gids, size_t n_gids, struct hangar_error *err);

/* Write /proc/self/timens_offsets (must happen after unshare(CLONE_NEWTIME)
 * and before the first child enters the namespace). */
int ns_write_time_offsets(const struct oci_config *cfg, struct hangar_error *err);

/* Map a host uid to the container uid through the mappings (identity when none). */
bool ns_map_host_to_container(const struct oci_id_mapping *m, size_t n, uint32_t host, uint32_t *out);
bool ns_map_container_to_host(const struct oci_id_mapping *m, size_t n, uint32_t cont, uint32_t *out);

/* Run fn(data, err) in a forked child that is root (uid and gid 0) of a new
 * user namespace with these mappings, written by ns_write_id_maps (so
 * through newuidmap/newgidmap for subordinate ranges).  Returns fn's
 * result; err is fn's error, or a note fn left with code HANGAR_OK.  The
 * child holds a copy of the caller's memory: fn's side effects are on the
 * file system only. */
typedef int (*ns_userns_fn)(void *data, struct hangar_error *err);
int ns_run_in_userns(const struct oci_id_mapping *uids, size_t n_uids, const struct oci_id_mapping *gids,
		     size_t n_gids, ns_userns_fn fn, void *data, struct hangar_error *err);

#endif
