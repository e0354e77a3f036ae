/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Subnets the host side already uses.  A bridge network whose subnet
 * overlaps a route or an address of another interface would take over part
 * of the host's routing (or lose to it): its connected route competes with
 * the existing one and instances become unreachable, or the host loses a
 * real network.  So creating a network and every attach (the host may have
 * changed since the network was stored) look at the routes and addresses
 * of the namespace first.  The network's own bridge is ignored when hangar
 * made it: its connected routes are ours.  A bridge that existed before
 * (recorded in network.json) is the admin's: only exactly hangar's gateway
 * address and the subnet's connected route on it are ours.
 */
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/internal.h"

static void cache_freep(struct nl_cache **c)
{
	if (*c)
		nl_cache_free(*c);
}
#define _cleanup_cache_ __attribute__((cleanup(cache_freep)))

static void nl_sock_freep(struct nl_sock **sk)
{
	nl_route_socket_free(*sk);
}
#define _cleanup_nl_sock_ __attribute__((cleanup(nl_sock_freep)))

static bool prefix_from_nladdr(struct nl_addr *a, unsigned prefixlen, struct net_prefix *out)
{
	if (a == NULL)
		return false;
	int family = nl_addr_get_family(a);
	size_t len = nl_addr_get_len(a);
	if ((family != AF_INET && family != AF_INET6) || len != (family == AF_INET ? 4u : 16u))
		return false;
	memset(out, 0, sizeof(*out));
	out->family = family;
	memcpy(out->addr, nl_addr_get_binary_addr(a), len);
	out->prefixlen = prefixlen;
	return true;
}

static void ifname_of(struct nl_cache *links, int ifindex, char out[IF_NAMESIZE])
{
	if (ifindex <= 0 || rtnl_link_i2name(links, ifindex, out, IF_NAMESIZE) == NULL)
		snprintf(out, IF_NAMESIZE, "%s", ifindex <= 0 ? "(none)" : "?");
}

static int conflict(const struct net_prefix *subnet, const char *kind, const struct net_prefix *what,
		    const char *ifname, struct hangar_error *err)
{
	char a[64], b[64];
	return hangar_error_set(
	    err, HANGAR_E_CONFIG, 0,
	    "subnet %s overlaps %s %s on interface %s of this host; choose another subnet",
	    net_prefix_format(subnet, true, a, sizeof(a)), kind, net_prefix_format(what, true, b, sizeof(b)),
	    ifname);
}

/* Routes of every table but "local" (whose entries mirror the addresses,
 * checked below): a policy-routing table counts as much as main.  Default
 * routes overlap everything and are not a collision. */
static int check_routes(struct nl_sock *sk, struct nl_cache *links, int own, const struct net_prefix *own_gw,
			const struct net_prefix *subnet, struct hangar_error *err)
{
	_cleanup_cache_ struct nl_cache *routes = NULL;
	int r = rtnl_route_alloc_cache(sk, subnet->family, 0, &routes);
	if (r < 0)
		return hangar_error_set(err, HANGAR_E_SYS, 0, "list routes: %s", nl_geterror(r));
	for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *rt = (struct rtnl_route *)o;
		if (rtnl_route_get_table(rt) == RT_TABLE_LOCAL)
			continue;
		struct nl_addr *dst = rtnl_route_get_dst(rt);
		struct net_prefix p;
		if (dst == NULL || nl_addr_get_prefixlen(dst) == 0 ||
		    !prefix_from_nladdr(dst, nl_addr_get_prefixlen(dst), &p) ||
		    !net_prefix_overlaps(&p, subnet))
			continue;
		int ifindex = 0;
		if (rtnl_route_get_nnexthops(rt) > 0)
			ifindex = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(rt, 0));
		if (own > 0 && ifindex == own &&
		    (own_gw == NULL ||
		     (p.prefixlen == subnet->prefixlen && net_prefix_equal_addr(&p, subnet))))
			continue;
		char name[IF_NAMESIZE];
		ifname_of(links, ifindex, name);
		return conflict(subnet, "route", &p, name, err);
	}
	return 0;
}

/* Addresses too: an interface that is down has no connected route, but
 * its address still claims the subnet. */
static int check_addrs(struct nl_sock *sk, struct nl_cache *links, int own, const struct net_prefix *own_gw,
		       const struct net_prefix *subnet, struct hangar_error *err)
{
	_cleanup_cache_ struct nl_cache *addrs = NULL;
	int r = rtnl_addr_alloc_cache(sk, &addrs);
	if (r < 0)
		return hangar_error_set(err, HANGAR_E_SYS, 0, "list addresses: %s", nl_geterror(r));
	for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		int ifindex = rtnl_addr_get_ifindex(a);
		struct net_prefix p;
		if (rtnl_addr_get_family(a) != subnet->family ||
		    !prefix_from_nladdr(rtnl_addr_get_local(a), rtnl_addr_get_prefixlen(a), &p) ||
		    !net_prefix_overlaps(&p, subnet))
			continue;
		if (own > 0 && ifindex == own &&
		    (own_gw == NULL ||
		     (p.prefixlen == own_gw->prefixlen && net_prefix_equal_addr(&p, own_gw))))
			continue;
		char name[IF_NAMESIZE];
		ifname_of(links, ifindex, name);
		return conflict(subnet, "address", &p, name, err);
	}
	return 0;
}

int host_check_subnet(struct nl_sock *sk, const struct net_prefix *subnet, const char *own_bridge,
		      const struct net_prefix *own_gateway, struct hangar_error *err)
{
	_cleanup_cache_ struct nl_cache *links = NULL;
	int r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links);
	if (r < 0)
		return hangar_error_set(err, HANGAR_E_SYS, 0, "list links: %s", nl_geterror(r));
	int own = own_bridge ? rtnl_link_name2i(links, own_bridge) : 0;
	if (check_routes(sk, links, own, own_gateway, subnet, err) < 0 ||
	    check_addrs(sk, links, own, own_gateway, subnet, err) < 0)
		return -1;
	return 0;
}

int host_check_network(const struct network *net, struct hangar_error *err)
{
	if (net->mode != NETWORK_MODE_BRIDGE)
		return 0;
	_cleanup_nl_sock_ struct nl_sock *sk = NULL;
	if (nl_route_socket(-1, &sk, err) < 0)
		return -1;
	bool foreign = net->bridge_preexisting;
	if (net->has_subnet4 &&
	    host_check_subnet(sk, &net->subnet4, net->bridge, foreign ? &net->gateway4 : NULL, err) < 0)
		return -1;
	if (net->has_subnet6 &&
	    host_check_subnet(sk, &net->subnet6, net->bridge, foreign ? &net->gateway6 : NULL, err) < 0)
		return -1;
	return 0;
}
