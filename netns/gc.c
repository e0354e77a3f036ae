/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * network_gc: find what instances that no longer exist left behind.
 *
 * How a lease is judged:
 *   pending, allocator alive   an attach is running: leave it alone
 *   pending, allocator dead    the attach was interrupted: undo it
 *   bound, owner known & dead  the instance is gone: undo it
 *   bound, host veth missing   the namespace died (the kernel destroys a
 *                              veth pair with either end's namespace)
 * Then veths on hangar bridges and hg* NAT chains that no remaining lease
 * names are removed, and net-*-post/-guard chains of networks that do not exist.
 * All of it runs under the state lock, so no attach can race the decision.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/internal.h"

static bool lease_is_stale(struct nl_sock *sk, const struct lease *l, struct hangar_error *err, int *failed)
{
	if (l->state == LEASE_PENDING)
		return !process_alive(l->allocator_pid, l->allocator_start);
	if (l->owner_pid > 0 && !process_alive(l->owner_pid, l->owner_start))
		return true;
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
static int gc_network(const char *state_dir, struct nl_sock *sk, const char *name, char ***live,
		      size_t *n_live, struct network_gc_stats *stats, struct hangar_error *err)
{
	struct network *net = NULL;
	if (network_load_locked(state_dir, name, &net, err) < 0)
		return -1;
	struct lease_table t = {0};
	int r = lease_table_load(state_dir, name, &t, err);
	bool changed = false;
	for (size_t i = 0; r == 0 && i < t.n;) {
		struct lease *l = &t.leases[i];
		if (!lease_is_stale(sk, l, err, &r)) {
			strv_append(live, n_live, l->host_ifname);
			i++;
			continue;
		}
		bool had_link = false;
		if (link_exists(sk, l->host_ifname, &had_link, err) < 0 ||
		    nat_remove_instance(l->host_ifname, err) < 0 ||
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

	/* veths of this network's bridge that no lease knows */
	bool bridge_exists = false;
	if (r == 0 && net->mode == NETWORK_MODE_BRIDGE &&
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

static int gc_chains(char **networks, char **live, struct network_gc_stats *stats, struct hangar_error *err)
{
	char **chains = NULL;
	if (nat_list_chains(&chains, err) < 0)
		return -1;
	int r = 0;
	for (char **c = chains; r == 0 && *c; c++) {
		size_t len = strlen(*c);
		bool instance_chain =
		    str_has_prefix(*c, "hg") && len > 4 &&
		    (strcmp(*c + len - 4, "-pre") == 0 || strcmp(*c + len - 4, "-out") == 0);
		if (instance_chain) {
			_cleanup_free_ char *prefix = xstrdup(*c);
			prefix[len - 4] = '\0';
			if (strv_contains(live, prefix))
				continue;
			/* removes both -pre and -out; the second visit finds
			 * nothing left and deletes nothing */
			r = nat_remove_instance(prefix, err);
			stats->chains_deleted += r == 0;
			continue;
		}
		size_t suffix = len > 9 && strcmp(*c + len - 5, "-post") == 0	  ? 5
				: len > 10 && strcmp(*c + len - 6, "-guard") == 0 ? 6
										  : 0;
		if (str_has_prefix(*c, "net-") && suffix > 0) {
			_cleanup_free_ char *network = xasprintf("%.*s", (int)(len - 4 - suffix), *c + 4);
			if (strv_contains(networks, network))
				continue;
			r = nat_remove_network(network, err);
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
	int r = 0;
	for (char **n = networks; r == 0 && *n; n++)
		r = gc_network(state_dir, sk, *n, &live, &n_live, stats, err);
	if (r == 0)
		r = gc_chains(networks, live, stats, err);
	nl_route_socket_free(sk);
	strv_free(live);
	strv_free(networks);
	return r;
}
