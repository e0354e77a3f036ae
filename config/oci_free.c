/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Release everything an oci_config owns.  Every function here accepts
 * partially filled structs, which is how a failed parse is unwound. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "config/oci_private.h"

void oci_id_mappings_free(struct oci_id_mapping *m)
{
	free(m);
}

void oci_kv_array_free(struct oci_kv *kv, size_t n)
{
	if (kv == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void oci_capabilities_clear(struct oci_capabilities *c)
{
	strv_free(c->bounding);
	strv_free(c->effective);
	strv_free(c->inheritable);
	strv_free(c->permitted);
	strv_free(c->ambient);
}

void oci_process_clear(struct oci_process *p)
{
	if (p == NULL)
		return;
	free(p->user.additional_gids);
	free(p->user.username);
	strv_free(p->args);
	free(p->command_line);
	strv_free(p->env);
	free(p->cwd);
	oci_capabilities_clear(&p->caps);
	for (size_t i = 0; p->rlimits && i < p->n_rlimits; i++)
		free(p->rlimits[i].type);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	free(p->scheduler.policy);
	strv_free(p->scheduler.flags);
	memset(p, 0, sizeof(*p));
}

static void oci_mounts_free(struct oci_mount *m, size_t n)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(m[i].destination);
		free(m[i].type);
		free(m[i].source);
		strv_free(m[i].options);
		oci_id_mappings_free(m[i].uid_mappings);
		oci_id_mappings_free(m[i].gid_mappings);
	}
	free(m);
}

static void oci_hook_array_free(struct oci_hook *h, size_t n)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(h[i].path);
		strv_free(h[i].args);
		strv_free(h[i].env);
	}
	free(h);
}

static void oci_hooks_clear(struct oci_hooks *h)
{
	oci_hook_array_free(h->prestart, h->n_prestart);
	oci_hook_array_free(h->create_runtime, h->n_create_runtime);
	oci_hook_array_free(h->create_container, h->n_create_container);
	oci_hook_array_free(h->start_container, h->n_start_container);
	oci_hook_array_free(h->poststart, h->n_poststart);
	oci_hook_array_free(h->poststop, h->n_poststop);
}

void oci_resources_clear(struct oci_resources *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; r->devices && i < r->n_devices; i++)
		free(r->devices[i].access);
	free(r->devices);
	free(r->cpu.cpus);
	free(r->cpu.mems);
	free(r->blkio.weight_device);
	free(r->blkio.throttle_read_bps);
	free(r->blkio.throttle_write_bps);
	free(r->blkio.throttle_read_iops);
	free(r->blkio.throttle_write_iops);
	for (size_t i = 0; r->hugepage_limits && i < r->n_hugepage_limits; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	for (size_t i = 0; r->net_priorities && i < r->n_net_priorities; i++)
		free(r->net_priorities[i].name);
	free(r->net_priorities);
	for (size_t i = 0; r->rdma && i < r->n_rdma; i++)
		free(r->rdma[i].device);
	free(r->rdma);
	oci_kv_array_free(r->unified, r->n_unified);
	memset(r, 0, sizeof(*r));
}

static void oci_seccomp_clear(struct oci_seccomp *s)
{
	free(s->default_action);
	strv_free(s->architectures);
	strv_free(s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; s->syscalls && i < s->n_syscalls; i++) {
		struct oci_seccomp_syscall *sc = &s->syscalls[i];
		strv_free(sc->names);
		free(sc->action);
		for (size_t j = 0; sc->args && j < sc->n_args; j++)
			free(sc->args[j].op);
		free(sc->args);
	}
	free(s->syscalls);
}

void oci_linux_clear(struct oci_linux *lx)
{
	for (size_t i = 0; lx->namespaces && i < lx->n_namespaces; i++)
		free(lx->namespaces[i].path);
	free(lx->namespaces);
	oci_id_mappings_free(lx->uid_mappings);
	oci_id_mappings_free(lx->gid_mappings);
	for (size_t i = 0; lx->devices && i < lx->n_devices; i++)
		free(lx->devices[i].path);
	free(lx->devices);
	free(lx->cgroups_path);
	oci_resources_clear(&lx->resources);
	free(lx->rootfs_propagation);
	oci_seccomp_clear(&lx->seccomp);
	oci_kv_array_free(lx->sysctl, lx->n_sysctl);
	strv_free(lx->masked_paths);
	strv_free(lx->readonly_paths);
	free(lx->mount_label);
	free(lx->intel_rdt.clos_id);
	free(lx->intel_rdt.l3_cache_schema);
	free(lx->intel_rdt.mem_bw_schema);
	free(lx->personality.domain);
	strv_free(lx->personality.flags);
	memset(lx, 0, sizeof(*lx));
}

void oci_config_free(struct oci_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->oci_version);
	oci_process_clear(&cfg->process);
	free(cfg->root.path);
	free(cfg->hostname);
	free(cfg->domainname);
	oci_mounts_free(cfg->mounts, cfg->n_mounts);
	oci_hooks_clear(&cfg->hooks);
	oci_kv_array_free(cfg->annotations, cfg->n_annotations);
	oci_linux_clear(&cfg->linux_);
	free(cfg);
}
