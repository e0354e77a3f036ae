/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_MANAGER_INSTANCE_H
#define HANGAR_MANAGER_INSTANCE_H

/*
 * Instances: a name, an image, a copy-on-write root (overlayfs with the
 * image as the read-only lower dir), limits, a network attachment and a
 * generated OCI config, persisted under DATA/instances/NAME (see paths.h).
 *
 * The OCI container of a running instance lives in paths->oci_root with the
 * instance name as container id; a small per-instance monitor process (no
 * daemon) owns it: see monitor.h.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/error.h"
#include "config/oci.h"
#include "manager/paths.h"
#include "netns/net.h"
#include "runtime/container.h"

#define INSTANCE_NAME_MAX 64

struct instance_io_max {
	char *device; /* as given: "/dev/sda" or "8:0" */
	int64_t major, minor;
	uint64_t rbps, wbps, riops, wiops; /* 0 = not limited */
};

/* Limits as the user gave them; has_* says which were given. */
struct instance_limits {
	bool has_memory;
	uint64_t memory; /* bytes */
	bool has_cpus;
	uint64_t cpu_quota, cpu_period; /* --cpus 1.5 -> 150000 / 100000 */
	char *cpuset;			/* "0-1" or NULL */
	bool has_io_weight;
	uint16_t io_weight; /* 10..1000 */
	struct instance_io_max *io_max;
	size_t n_io_max;
	bool has_pids;
	int64_t pids; /* <= 0: unlimited */
};

struct instance_mount {
	char *source, *destination;
	bool readonly;
};

struct instance {
	char *name;
	char *image;
	char *created; /* RFC 3339 */
	char *hostname;
	bool init;    /* boot the image's /sbin/init */
	char **cmd;   /* NULL-terminated; NULL with init or for the image's shell */
	char **env;   /* NULL-terminated "K=V", may be NULL */
	/* NULL-terminated network names, at least one, attached in this order
	 * (eth0, eth1, ...): bridge networks ("hangar0" or made with `hangar
	 * network create`), or exactly one of "none", "host" and, rootless,
	 * "pasta" or "slirp4netns" (a user-mode helper the monitor runs). */
	char **networks;
	/* NULL-terminated port specs ("8080:80/udp"), may be NULL; published
	 * on the first network */
	char **publish;
	char *ipv4; /* first network's address to ask for on the next attach (kept across restarts), may be
		       NULL */
	struct instance_mount *mounts;
	size_t n_mounts;
	struct instance_limits limits;
	/* Rootless: the id mappings chosen at create (0 -> the user, 1.. -> the
	 * subordinate ranges, or the user alone), kept so that every start maps
	 * the upper dir's owners the same way.  Empty as root, and for
	 * instances made before they were stored (single-id then). */
	struct oci_id_mapping *uid_map, *gid_map;
	size_t n_uid_map, n_gid_map;
	/* derived paths, not stored */
	char *dir;	   /* DATA/instances/NAME */
	char *rootfs;	   /* DIR/rootfs: overlay mount point = OCI root.path */
	char *upper, *work; /* overlay upper and work dirs */
	char *config_path; /* DIR/config.json */
	char *log_path;	   /* DIR/log (rotated to DIR/log.1) */
	char *image_rootfs; /* DATA/images/IMAGE/rootfs (the lower dir) */
};

/* What `hangar create` asks for.  Strings are borrowed. */
struct instance_create_opts {
	const char *name;
	const char *image; /* NULL: "default" (built on first use) */
	const char *hostname; /* NULL: the name */
	bool init;
	char *const *cmd; /* NULL-terminated or NULL */
	char *const *env;
	/* NULL-terminated or NULL; NULL or empty: "hangar0" as root, "none"
	 * rootless; "bridge" = "hangar0" as root, pasta (else slirp4netns)
	 * rootless.  none, host, pasta and slirp4netns stand alone. */
	char *const *networks;
	char *const *publish;
	const char *const *mounts; /* "SRC:DST[:ro]" */
	const struct instance_limits *limits; /* may be NULL */
};

#define INSTANCE_NETWORK_PASTA "pasta"
#define INSTANCE_NETWORK_SLIRP4NETNS "slirp4netns"

/* Rootless and network is "pasta" or "slirp4netns". */
bool instance_network_is_rootless_helper(const struct hangar_paths *p, const char *network);
/* pasta / slirp4netns: write /etc/hosts and /etc/resolv.conf (the
 * helper's DNS address) into the instance's upper layer; call before the
 * overlay is mounted. */
int instance_net_helper_etc_files(const struct instance *inst, struct hangar_error *err);

/* Valid instance name: [A-Za-z0-9][A-Za-z0-9_.-]*, at most INSTANCE_NAME_MAX. */
int instance_validate_name(const char *name, struct hangar_error *err);

/* Validate everything (image exists or is "default", limits, ports,
 * mounts), then make the directories, instance.json and config.json.  On
 * failure nothing is left behind.  HANGAR_E_EXISTS when the name is taken.
 * Takes the global lock itself.  On success err may hold a note (code
 * HANGAR_OK) to show once: rootless without subordinate ranges. */
int instance_create(const struct hangar_paths *p, const struct instance_create_opts *o, struct instance **out,
		    struct hangar_error *err);
/* HANGAR_E_NOTFOUND: "no such instance: NAME". */
int instance_load(const struct hangar_paths *p, const char *name, struct instance **out, struct hangar_error *err);
/* Write instance.json atomically. */
int instance_save(const struct instance *inst, struct hangar_error *err);
void instance_free(struct instance *inst);
/* Sorted names of every instance (NULL-terminated; strv_free). */
int instance_list_names(const struct hangar_paths *p, char ***names, struct hangar_error *err);

/* The OCI config for the instance's current settings (terminal on,
 * default seccomp profile, cgroup namespace, limits, mounts, hostname, env,
 * init or command); instance_write_config stores it as config.json. */
int instance_build_oci_config(const struct hangar_paths *p, const struct instance *inst, struct oci_config **out,
			      struct hangar_error *err);
int instance_write_config(const struct hangar_paths *p, const struct instance *inst, struct hangar_error *err);

/* The OCI container id of the instance in p->oci_root (its name). */
const char *instance_container_id(const struct instance *inst);
/* Mount / unmount the overlay root at inst->rootfs (idempotent). */
int instance_mount_rootfs(const struct instance *inst, struct hangar_error *err);
int instance_umount_rootfs(const struct instance *inst, struct hangar_error *err);

/* Attach the instance's network namespace (that of pid) as configured and
 * write /etc/hosts and /etc/resolv.conf into its root; remembers the IPv4
 * address in instance.json for the next start. */
int instance_network_attach(const struct hangar_paths *p, struct instance *inst, pid_t pid,
			    struct hangar_error *err);
int instance_network_detach(const struct hangar_paths *p, const struct instance *inst, struct hangar_error *err);
/* A warning (one line, into buf; "" when none) for the first bridge network
 * of the instance whose forwarded traffic another nftables table drops by
 * default (network_forward_policy_warning).  Never fails a start. */
void instance_network_forward_warning(const struct hangar_paths *p, const struct instance *inst, char *buf,
				      size_t len);

enum instance_status {
	INSTANCE_STOPPED = 0,
	INSTANCE_STARTING, /* monitor up, container being created */
	INSTANCE_RUNNING,
	INSTANCE_STOPPING, /* init gone, monitor cleaning up */
	INSTANCE_ORPHANED, /* init alive but its monitor died (killed): stop or destroy it */
};
const char *instance_status_name(enum instance_status s); /* "RUNNING", ... */

struct instance_runtime {
	enum instance_status status;
	pid_t monitor_pid; /* 0 when no live monitor */
	pid_t init_pid;	   /* 0 when not running */
	time_t started;	   /* 0 when unknown */
	bool has_exit;	   /* a previous run's exit status is recorded */
	int exit_code;	   /* shell style: 128+signal */
	time_t finished;
	/* Something of a previous run remains although nothing is alive (OCI
	 * state, overlay mount, network lease): instance_cleanup removes it. */
	bool leftovers;
};

/* The truth from live processes (pid + start time), never from a cached
 * status field: correct after the monitor or everything was killed -9. */
int instance_get_runtime(const struct hangar_paths *p, const struct instance *inst, struct instance_runtime *rt,
			 struct hangar_error *err);

/* How a monitor makes the container.  The default is container_create;
 * restore-style callers pass their own (e.g. a CRIU restore) and get the
 * same monitor (pty, log, console, exit status, cleanup). */
struct instance_launch {
	const struct hangar_paths *paths;
	struct instance *inst;
	const char *oci_root;
	const char *container_id;
	const char *bundle;	   /* inst->dir */
	struct oci_config *config; /* built from the instance */
	/* Attach networking for init_pid: pass as container_create_opts.on_created. */
	container_created_cb on_created;
	void *on_created_data;
};
typedef int (*instance_create_container_fn)(const struct instance_launch *l, struct container_created *out,
					    void *data, struct hangar_error *err);

struct instance_start_opts {
	/* Create the container, then wait for the first console client
	 * before starting it (`run` attaches without losing output). */
	bool hold_until_console;
	/* NULL: container_create + container_start. */
	instance_create_container_fn create_container;
	void *create_container_data;
};

/* Spawn the instance's monitor (double fork, setsid) and return once the
 * container is created (and started, unless held).  Refuses when running.
 * Removes leftovers of a previous run first.  Takes the instance lock. */
int instance_start(const struct hangar_paths *p, const char *name, const struct instance_start_opts *o,
		   struct hangar_error *err);

/* Signal the init (SIGTERM; SIGUSR2 = poweroff for busybox init and
 * SIGRTMIN+3 for systemd with --init), SIGKILL after timeout_s, wait for
 * the monitor to finish, then remove leftovers.  Stopped already: 0. */
int instance_stop(const struct hangar_paths *p, const char *name, int timeout_s, struct hangar_error *err);

/* Remove what a dead run left behind: OCI container (cgroup, state),
 * network attachment, overlay mount, monitor files.  Refuses while the
 * init or the monitor lives.  Idempotent. */
int instance_cleanup(const struct hangar_paths *p, const struct instance *inst, struct hangar_error *err);

/* Remove the hidden directories of destroy, image making and image rm
 * commands that died mid-way (their PID in the name is gone);
 * manager/leftovers.c.  *removed (optional): how many. */
int hangar_remove_leftovers(const struct hangar_paths *p, int *removed, struct hangar_error *err);

/* Stop (force: kill at once) and remove everything of the instance. */
int instance_destroy(const struct hangar_paths *p, const char *name, bool force, struct hangar_error *err);

/* Apply limits to the running instance (only the fields set); with save,
 * also record them in instance.json and config.json for the next start.
 * Stopped instance: save required (HANGAR_E_STATE otherwise). */
int instance_set_limits(const struct hangar_paths *p, const char *name, const struct instance_limits *l, bool save,
			struct hangar_error *err);

/* Merge src's set fields into dst (deep copies). */
void instance_limits_merge(struct instance_limits *dst, const struct instance_limits *src);
void instance_limits_clear(struct instance_limits *l);
/* linux.resources for the limits (only the fields set). */
int instance_limits_to_oci(const struct instance_limits *l, struct oci_resources *r, struct hangar_error *err);

/* Flag parsers shared by create, set and tests. */
int instance_parse_cpus(const char *s, uint64_t *quota, uint64_t *period, struct hangar_error *err);
int instance_parse_io_max(const char *s, struct instance_io_max *out, struct hangar_error *err);
int instance_parse_mount(const char *s, struct instance_mount *out, struct hangar_error *err);

/* Paths in RUN for a running instance. */
char *instance_console_socket_path(const struct hangar_paths *p, const char *name);
char *instance_monitor_path(const struct hangar_paths *p, const char *name);

#endif
