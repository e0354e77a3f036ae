/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * network_gc: find what instances that no longer exist left behind.
 *
 * How a lease is judged:
 *   attached from another      its veth and chains are not visible here:
 *   network namespace          leave it (and its network's bridge) alone
 *   pending, allocator alive   an attach is running: leave it alone
 *   pending, allocator dead    the attach was interrupted: undo it
 *   bound, owner known         alive: keep, whatever is visible; dead: the
 *                              instance is gone, undo it
 *   bound, no owner known,     the namespace died (the kernel destroys a
 *   host veth missing          veth pair with either end's namespace)
 * Then veths on hangar bridges and this store's hg* NAT chains that no
 * remaining lease names are removed, and this store's net-*-post/-guard
 * chains of networks that do not exist.  Chains carry the store's tag
 * (network_store_tag): another store's are never touched.
 * All of it runs under the state lock, so no attach can race the decision.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/internal.h"

struct host_ns {
	uint64_t dev, ino;
};

/* Leases of older versions record no host namespace: judged here. */
static bool lease_elsewhere(const struct lease *l, const struct host_ns *here)
{
	return l->host_netns_ino != 0 && (l->host_netns_ino != here->ino || l->host_netns_dev != here->dev);
}

static bool lease_is_stale(struct nl_sock *sk, const struct lease *l, struct hangar_error *err, int *failed)
{
	if (l->state == LEASE_PENDING)
		return !process_alive(l->allocator_pid, l->allocator_start);
	if (l->owner_pid > 0)
		return !process_alive(l->owner_pid, l->owner_start);
	bool exists = true;
	if (link_exists(sk, l->host_ifname, &exists, err) < 0)
		*failed = -1;
	return !exists;
}

static bool strv_contains(char **v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

static void strv_append(char ***v, size_t *n, const char *s)
{
	*v = realloc(*v, (*n + 2) * sizeof(char *));
	if (*v == NULL)
		abort();
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

/* One network: drop stale leases, delete their veths and chains, and
 * collect the host ifnames that stay in use. */
static int gc_network(const char *state_dir, struct nl_sock *sk, const struct host_ns *here, const char *tag,
		      const char *name, char ***live, size_t *n_live, struct network_gc_stats *stats,
		      struct hangar_error *err)
{
	struct network *net = NULL;
	if (network_load_locked(state_dir, name, &net, err) < 0)
		return -1;
	struct lease_table t = {0};
	int r = lease_table_load(state_dir, name, &t, err);
	bool changed = false, elsewhere = false;
	for (size_t i = 0; r == 0 && i < t.n;) {
		struct lease *l = &t.leases[i];
		bool away = lease_elsewhere(l, here);
		elsewhere |= away;
		if (away || !lease_is_stale(sk, l, err, &r)) {
			strv_append(live, n_live, l->host_ifname);
			i++;
			continue;
		}
		bool had_link = false;
		_cleanup_free_ char *chain_prefix = nat_instance_prefix(l->host_ifname, tag);
		if (link_exists(sk, l->host_ifname, &had_link, err) < 0 ||
		    nat_remove_instance(chain_prefix, err) < 0 ||
		    link_delete(sk, l->host_ifname, true, err) < 0) {
			r = -1;
			break;
		}
		stats->links_deleted += had_link;
		stats->leases_released++;
		lease_table_remove(&t, l);
		changed = true;
	}
	if (r == 0 && changed)
		r = lease_table_save(state_dir, name, &t, err);

	/* veths of this network's bridge that no lease knows; a bridge of
	 * that name here is not the network's when it lives elsewhere */
	bool bridge_exists = false;
	if (r == 0 && net->mode == NETWORK_MODE_BRIDGE && !elsewhere &&
	    link_exists(sk, net->bridge, &bridge_exists, err) < 0)
		r = -1;
	if (r == 0 && bridge_exists) {
		char **ports = NULL;
		r = bridge_list_ports(sk, net->bridge, "hg", &ports, err);
		for (char **p = ports; r == 0 && p && *p; p++) {
			if (strv_contains(*live, *p))
				continue;
			r = link_delete(sk, *p, true, err);
			stats->links_deleted += r == 0;
		}
		strv_free(ports);
	}
	lease_table_clear(&t);
	network_free(net);
	return r < 0 ? hangar_error_prefix(err, "gc network '%s'", name) : 0;
}

/* "BASE-TAG-SUFFIX" with our tag: *base_len = strlen(BASE). */
static bool chain_of_store(const char *chain, const char *tag, const char *suffix, size_t *base_len)
{
	size_t len = strlen(chain), slen = strlen(suffix), tlen = strlen(tag);
	if (len <= slen + tlen + 1 || strcmp(chain + len - slen, suffix) != 0)
		return false;
	const char *t = chain + len - slen - tlen;
	if (strncmp(t, tag, tlen) != 0 || t[-1] != '-')
		return false;
	*base_len = len - slen - tlen - 1;
	return true;
}

static int gc_chains(char **networks, char **live, const char *tag, struct network_gc_stats *stats,
		     struct hangar_error *err)
{
	char **chains = NULL;
	if (nat_list_chains(&chains, err) < 0)
		return -1;
	int r = 0;
	for (char **c = chains; r == 0 && *c; c++) {
		size_t base;
		bool instance_chain = str_has_prefix(*c, "hg") && (chain_of_store(*c, tag, "-pre", &base) ||
								   chain_of_store(*c, tag, "-out", &base));
		if (instance_chain) {
			_cleanup_free_ char *host_ifname = xasprintf("%.*s", (int)base, *c);
			if (strv_contains(live, host_ifname))
				continue;
			_cleanup_free_ char *prefix = nat_instance_prefix(host_ifname, tag);
			/* removes both -pre and -out; the second visit finds
			 * nothing left and deletes nothing */
			r = nat_remove_instance(prefix, err);
			stats->chains_deleted += r == 0;
			continue;
		}
		if (str_has_prefix(*c, "net-") &&
		    (chain_of_store(*c, tag, "-post", &base) || chain_of_store(*c, tag, "-guard", &base)) &&
		    base > 4) {
			_cleanup_free_ char *network = xasprintf("%.*s", (int)(base - 4), *c + 4);
			if (strv_contains(networks, network))
				continue;
			r = nat_remove_network(network, tag, err);
			stats->chains_deleted += r == 0;
		}
	}
	strv_free(chains);
	return r;
}

int network_gc(const char *state_dir, struct network_gc_stats *stats, struct hangar_error *err)
{
	struct network_gc_stats local = {0};
	if (stats == NULL)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	_cleanup_close_ int lock = network_state_lock(state_dir, err);
	if (lock < 0)
		return -1;
	char **networks = NULL;
	if (network_list_locked(state_dir, &networks, err) < 0)
		return -1;
	struct nl_sock *sk = NULL;
	if (nl_route_socket(-1, &sk, err) < 0) {
		strv_free(networks);
		return -1;
	}
	char **live = xmalloc0(sizeof(char *));
	size_t n_live = 0;
	char tag[9];
	network_store_tag(state_dir, tag);
	struct host_ns here;
	int r = network_host_netns(&here.dev, &here.ino, err);
	for (char **n = networks; r == 0 && *n; n++)
		r = gc_network(state_dir, sk, &here, tag, *n, &live, &n_live, stats, err);
	if (r == 0)
		r = gc_chains(networks, live, tag, stats, err);
	nl_route_socket_free(sk);
	strv_free(live);
	strv_free(networks);
	return r;
}
