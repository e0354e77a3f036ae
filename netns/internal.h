/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Declarations shared by the netns/ sources; not part of the public API. */
#ifndef HANGAR_NETNS_INTERNAL_H
#define HANGAR_NETNS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "netns/net.h"

struct nl_sock;
struct json_object;

/* ---- names (network.c) ---- */
int network_validate_name(const char *name, struct hangar_error *err);
int network_validate_instance_name(const char *name, struct hangar_error *err);
/* "hg" + 12 hex digits of a hash of (network, instance): fits IFNAMSIZ and
 * doubles as the instance's nftables chain prefix. */
void network_host_ifname(const char *network, const char *instance, char out[IF_NAMESIZE]);
int network_list_locked(const char *state_dir, char ***names, struct hangar_error *err);
/* 8 hex digits naming a store (its state directory) in nftables chain
 * names, so that two stores in one namespace never gc each other's
 * chains. */
void network_store_tag(const char *state_dir, char out[9]);
/* The network namespace of the calling thread (the host side). */
int network_host_netns(uint64_t *dev, uint64_t *ino, struct hangar_error *err);
int network_load_locked(const char *state_dir, const char *name, struct network **out,
			struct hangar_error *err);

/* ---- prefix arithmetic (prefix.c) ---- */
/* addr = net's network address + index (host part); fails past the end. */
int net_prefix_nth(const struct net_prefix *net, uint64_t index, struct net_prefix *out);
/* Number of host indexes usable for instances (excludes network address,
 * IPv4 broadcast), capped at 2^20. */
uint64_t net_prefix_host_count(const struct net_prefix *net);
bool net_prefix_equal_addr(const struct net_prefix *a, const struct net_prefix *b);
/* True when bits past prefixlen are zero. */
bool net_prefix_is_network(const struct net_prefix *p);

/* ---- state lock (state.c) ---- */
/* flock(LOCK_EX) on STATE/.lock; returns the fd (close to unlock). */
int network_state_lock(const char *state_dir, struct hangar_error *err);

/* ---- leases (ipam.c) ---- */
enum lease_state { LEASE_PENDING, LEASE_BOUND };

struct lease {
	char instance[65];
	char ifname[IF_NAMESIZE];
	char host_ifname[IF_NAMESIZE];
	enum lease_state state;
	bool has_ipv4, has_ipv6;
	struct net_prefix ipv4, ipv6;
	/* The process doing the attach: a pending lease whose allocator died
	 * will never be finished. */
	pid_t allocator_pid;
	unsigned long long allocator_start;
	/* The instance process, when known. */
	pid_t owner_pid;
	unsigned long long owner_start;
	uint64_t netns_dev, netns_ino;
	/* The host side the attach ran in (bridge, host veth, chains); 0 in
	 * leases of older versions. */
	uint64_t host_netns_dev, host_netns_ino;
	struct port_mapping *ports;
	size_t n_ports;
};

struct lease_table {
	struct lease *leases;
	size_t n;
};

void lease_clear(struct lease *l);
void lease_table_clear(struct lease_table *t);
/* Read/write STATE/NET/leases.json; the caller holds the state lock. */
int lease_table_load(const char *state_dir, const char *network, struct lease_table *t,
		     struct hangar_error *err);
int lease_table_save(const char *state_dir, const char *network, const struct lease_table *t,
		     struct hangar_error *err);
struct lease *lease_table_find(struct lease_table *t, const char *instance);
void lease_table_remove(struct lease_table *t, struct lease *l);
/* Append a pending lease for the instance: the requested addresses
 * (want4/want6, NULL = any) or the lowest free ones of the subnets. */
int ipam_allocate(const struct network *net, struct lease_table *t, const char *instance, const char *want4,
		  const char *want6, struct lease **out, struct hangar_error *err);
bool process_alive(pid_t pid, unsigned long long start_time);

/* ---- netlink (link.c) ---- */
/* A NETLINK_ROUTE socket in the calling thread's namespace, or (nsfd >= 0)
 * bound in that namespace: sockets keep the namespace they were made in. */
int nl_route_socket(int nsfd, struct nl_sock **out, struct hangar_error *err);
void nl_route_socket_free(struct nl_sock *sk);
int link_ifindex(struct nl_sock *sk, const char *name, int *ifindex, struct hangar_error *err);
int link_exists(struct nl_sock *sk, const char *name, bool *exists, struct hangar_error *err);
int link_set_up(struct nl_sock *sk, const char *name, struct hangar_error *err);
int link_delete(struct nl_sock *sk, const char *name, bool missing_ok, struct hangar_error *err);
int link_get_mtu(struct nl_sock *sk, const char *name, unsigned *mtu, struct hangar_error *err);
/* Create the bridge when missing, set its MTU, add addresses, bring it up. */
int bridge_ensure(struct nl_sock *sk, const char *name, unsigned mtu, const struct net_prefix *addrs,
		  size_t n_addrs, struct hangar_error *err);
/* Remove an address from ifname; a missing address or link is fine. */
int addr_delete(struct nl_sock *sk, const char *ifname, const struct net_prefix *p, struct hangar_error *err);
/* 1 and the link kind ("bridge", "veth", "device" for one without a kind)
 * when the link exists, 0 and "" when not. */
int link_kind(struct nl_sock *sk, const char *name, char *kind, size_t len, struct hangar_error *err);
/* veth pair: host end enslaved to bridge, peer created directly inside the
 * namespace nsfd under peer_name. */
int veth_create(struct nl_sock *sk, const char *host_name, const char *bridge, int nsfd,
		const char *peer_name, unsigned mtu, struct hangar_error *err);
int addr_add(struct nl_sock *sk, const char *ifname, const struct net_prefix *addr, struct hangar_error *err);
/* Default route via gw on ifname; *existed is set when one was there. */
int route_add_default(struct nl_sock *sk, const char *ifname, const struct net_prefix *gw, bool *existed,
		      struct hangar_error *err);
/* First ethN that does not exist in the socket's namespace. */
int link_free_ethname(struct nl_sock *sk, char out[IF_NAMESIZE], struct hangar_error *err);
/* Names of the ports of a bridge that start with prefix (strv). */
int bridge_list_ports(struct nl_sock *sk, const char *bridge, const char *prefix, char ***names,
		      struct hangar_error *err);
/* Write a sysctl (path below /proc/sys/net) of the calling thread's network
 * namespace, or of the namespace nsfd. */
int net_sysctl_write(const char *path, const char *value, struct hangar_error *err);
int net_sysctl_write_in(int nsfd, const char *path, const char *value, struct hangar_error *err);

/* ---- host routes (hostroutes.c) ---- */
/* Fail (HANGAR_E_CONFIG, naming the subnet, the route or address and its
 * interface) when a route (any table but local; not a default route) or an
 * address of the socket's namespace overlaps subnet on an interface other
 * than own_bridge.  own_gateway non-NULL (a bridge hangar did not make):
 * on own_bridge too, except exactly that address and the subnet's own
 * connected route, which are what hangar adds there. */
int host_check_subnet(struct nl_sock *sk, const struct net_prefix *subnet, const char *own_bridge,
		      const struct net_prefix *own_gateway, struct hangar_error *err);
/* host_check_subnet for each subnet of a bridge network, in the calling
 * thread's namespace. */
int host_check_network(const struct network *net, struct hangar_error *err);

/* ---- host sockets (listeners.c) ---- */
/* Refuse (one line naming the port) a published port that a TCP listener
 * or an unconnected UDP socket of the calling thread's namespace already
 * holds on a matching or wildcard address, and a host IP that is no local
 * address there. */
int host_check_port_listeners(const struct port_mapping *ports, size_t n, struct hangar_error *err);

/* ---- nftables (nat.c) ---- */
/* Run an nft command batch through libnftables (output buffered, never
 * printed); *output gets the (JSON when json_output) output. */
int nft_run(const char *what, const char *cmds, bool json_output, char **output, struct hangar_error *err);
/* Chains are named with the store tag (network_store_tag):
 * net-NAME-TAG-post/-guard and PREFIX-pre/-out with PREFIX =
 * nat_instance_prefix(host_ifname, tag). */
int nat_setup_network(const struct network *net, const char *tag, struct hangar_error *err);
int nat_remove_network(const char *network, const char *tag, struct hangar_error *err);
char *nat_instance_prefix(const char *host_ifname, const char *tag);
int nat_add_instance_ports(const struct network *net, const char *chain_prefix, const struct lease *l,
			   struct hangar_error *err);
int nat_remove_instance(const char *chain_prefix, struct hangar_error *err);
/* Names of the chains in table inet hangar (strv; empty when no table). */
int nat_list_chains(char ***names, struct hangar_error *err);

#endif
