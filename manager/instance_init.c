/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --init: which init the image has, how to stop it, and what a systemd init
 * needs from the container that an instance does not have by default
 * (podman's --systemd=always and LXC's system containers do the same):
 * container=hangar in its environment, tmpfs on /run, /run/lock and /tmp
 * (it cannot mount them itself without CAP_SYS_ADMIN), a writable cgroup
 * subtree of its own (CGROUP_ANNOTATION_SYSTEMD) and a machine id of the
 * instance's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "manager/instance.h"
#include "manager/internal.h"
#include "rootfs/resolve.h"

enum instance_init_kind instance_init_kind_of_root(const char *rootfs)
{
	_cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return INSTANCE_INIT_OTHER;
	/* Resolved inside the image: an absolute /sbin symlink must not
	 * lead to the host's own init. */
	_cleanup_free_ char *base = NULL;
	struct hangar_error ignored;
	_cleanup_close_ int parent = open_parent_in_root(root, "/sbin/init", false, &base, &ignored);
	if (parent < 0)
		return INSTANCE_INIT_OTHER;
	char target[4096];
	ssize_t n = readlinkat(parent, base, target, sizeof(target) - 1);
	if (n <= 0)
		return INSTANCE_INIT_OTHER;
	target[n] = '\0';
	const char *last = strrchr(target, '/');
	last = last ? last + 1 : target;
	if (strcmp(last, "systemd") == 0)
		return INSTANCE_INIT_SYSTEMD;
	if (strcmp(last, "busybox") == 0)
		return INSTANCE_INIT_BUSYBOX;
	return INSTANCE_INIT_OTHER;
}

enum instance_init_kind instance_init_kind(const struct instance *inst)
{
	if (!inst->init)
		return INSTANCE_INIT_NONE;
	return instance_init_kind_of_root(inst->image_rootfs);
}

int instance_stop_signal(const struct instance *inst)
{
	switch (instance_init_kind(inst)) {
	case INSTANCE_INIT_NONE:
		return SIGTERM;
	case INSTANCE_INIT_SYSTEMD:
		/* SIGRTMIN+3 = halt (systemd(1), "container"): systemd
		 * stops its units and exits. */
		return SIGRTMIN + 3;
	case INSTANCE_INIT_BUSYBOX:
		/* busybox init: SIGUSR2 = poweroff (SIGTERM would reboot,
		 * SIGUSR1 halt). */
		return SIGUSR2;
	case INSTANCE_INIT_OTHER:
		break;
	}
	/* sysvinit and others: SIGTERM makes them re-exec or ignore; SIGPWR
	 * is the "power failure, shut down" request sysvinit's inittab knows. */
	return SIGPWR;
}

static void add_tmpfs(struct oci_config *cfg, const char *dest, const char *const *options)
{
	cfg->mounts = realloc(cfg->mounts, (cfg->n_mounts + 1) * sizeof(*cfg->mounts));
	if (cfg->mounts == NULL)
		abort();
	struct oci_mount *m = &cfg->mounts[cfg->n_mounts++];
	memset(m, 0, sizeof(*m));
	m->destination = xstrdup(dest);
	m->type = xstrdup("tmpfs");
	m->source = xstrdup("tmpfs");
	m->options = strv_dup((char **)options);
	m->n_options = strv_len(m->options);
}

void instance_config_add_systemd(struct oci_config *cfg)
{
	/* 5 MiB for /run/lock as on a Debian host; /run and /tmp are
	 * bounded by the instance's memory limit (tmpfs pages are charged
	 * to the writer's memory cgroup). */
	add_tmpfs(cfg, "/run", (const char *const[]){"nosuid", "nodev", "mode=755", NULL});
	add_tmpfs(cfg, "/run/lock",
		  (const char *const[]){"nosuid", "nodev", "noexec", "mode=1777", "size=5m", NULL});
	add_tmpfs(cfg, "/tmp", (const char *const[]){"nosuid", "nodev", "mode=1777", NULL});

	cfg->annotations = realloc(cfg->annotations, (cfg->n_annotations + 1) * sizeof(*cfg->annotations));
	if (cfg->annotations == NULL)
		abort();
	cfg->annotations[cfg->n_annotations].key = xstrdup(CGROUP_ANNOTATION_SYSTEMD);
	cfg->annotations[cfg->n_annotations].value = xstrdup("true");
	cfg->n_annotations++;
}

int instance_write_systemd_identity(const struct instance *inst, struct hangar_error *err)
{
	/* In the upper layer, so that the machine id is the instance's own
	 * (the image's would be shared by every instance, and journald, D-Bus
	 * and DHCP client ids with it) and survives restarts, as a host's. */
	unsigned char raw[16];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return hangar_sys_error(err, "getrandom for the machine id of %s", inst->name);
	char id[2 * sizeof(raw) + 2];
	for (size_t i = 0; i < sizeof(raw); i++) {
		static const char hex[] = "0123456789abcdef";
		id[2 * i] = hex[raw[i] >> 4];
		id[2 * i + 1] = hex[raw[i] & 15];
	}
	id[2 * sizeof(raw)] = '\n';
	id[2 * sizeof(raw) + 1] = '\0';
	_cleanup_free_ char *etc = xasprintf("%s/etc", inst->upper);
	if (mkdir(etc, 0755) < 0 && errno != EEXIST)
		return hangar_sys_error(err, "create %s", etc);
	_cleanup_free_ char *id_path = xasprintf("%s/machine-id", etc);
	if (write_file_at(AT_FDCWD, id_path, id, strlen(id), O_WRONLY | O_CREAT | O_TRUNC, 0444, err) < 0)
		return -1;
	/* systemd sets the hostname from /etc/hostname and, lacking
	 * CAP_SYS_ADMIN, complains when it differs from the one the runtime
	 * set (debootstrap copies the build host's name). */
	_cleanup_free_ char *host = xasprintf("%s\n", inst->hostname);
	_cleanup_free_ char *host_path = xasprintf("%s/hostname", etc);
	return write_file_at(AT_FDCWD, host_path, host, strlen(host), O_WRONLY | O_CREAT | O_TRUNC, 0644,
			     err);
}
