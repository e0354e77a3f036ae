/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Attaching instance namespaces to networks, detaching them, and removing
 * networks.  Attach holds the state lock only around lease changes, never
 * across netlink or nftables work, so a stuck attach cannot block the
 * others; a lease is "pending" until the attach finished, which tells
 * network_gc that a dead allocator left work half done.  Detach and remove
 * hold the lock across their (short) teardown, so that what a lease stands
 * for is gone before its address, ports or names can be handed out again.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/internal.h"

static void nl_sock_freep(struct nl_sock **sk)
{
	nl_route_socket_free(*sk);
}
#define _cleanup_nl_sock_ __attribute__((cleanup(nl_sock_freep)))

static void network_freep(struct network **n)
{
	network_free(*n);
}
#define _cleanup_network_ __attribute__((cleanup(network_freep)))

static void lease_table_clearp(struct lease_table *t)
{
	lease_table_clear(t);
}
#define _cleanup_lease_table_ __attribute__((cleanup(lease_table_clearp)))

void network_attachment_clear(struct network_attachment *att)
{
	free(att->ports);
	memset(att, 0, sizeof(*att));
}

void network_attachments_free(struct network_attachment *att, size_t n)
{
	for (size_t i = 0; att && i < n; i++)
		network_attachment_clear(&att[i]);
	free(att);
}

static void attachment_from_lease(const struct network *net, const struct lease *l, unsigned mtu,
				  struct network_attachment *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->network, sizeof(out->network), "%s", net->name);
	snprintf(out->instance, sizeof(out->instance), "%s", l->instance);
	snprintf(out->ifname, sizeof(out->ifname), "%s", l->ifname);
	snprintf(out->host_ifname, sizeof(out->host_ifname), "%s", l->host_ifname);
	out->has_ipv4 = l->has_ipv4;
	out->has_ipv6 = l->has_ipv6;
	out->ipv4 = l->ipv4;
	out->ipv6 = l->ipv6;
	out->gateway4 = net->gateway4;
	out->gateway6 = net->gateway6;
	out->mtu = mtu;
	if (l->n_ports) {
		out->ports = xmalloc0(l->n_ports * sizeof(*out->ports));
		memcpy(out->ports, l->ports, l->n_ports * sizeof(*out->ports));
		out->n_ports = l->n_ports;
	}
}

/* With forwarding on, an interface with accept_ra=1 stops accepting router
 * advertisements, and a host configured by SLAAC would lose its IPv6
 * default route when it expires.  accept_ra=2 keeps accepting them while
 * forwarding, so switch those interfaces first (only the first time). */
static int ipv6_enable_forwarding(struct hangar_error *err)
{
	_cleanup_free_ char *cur = NULL;
	if (read_file_at(AT_FDCWD, "/proc/sys/net/ipv6/conf/all/forwarding", &cur, NULL, err) < 0)
		return -1;
	if (cur[0] == '1')
		return 0;
	_cleanup_closedir_ DIR *d = opendir("/proc/sys/net/ipv6/conf");
	if (d == NULL)
		return hangar_sys_error(err, "open /proc/sys/net/ipv6/conf");
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "all") == 0 ||
		    strcmp(de->d_name, "default") == 0 || strcmp(de->d_name, "lo") == 0)
			continue;
		_cleanup_free_ char *key = xasprintf("ipv6/conf/%s/accept_ra", de->d_name);
		_cleanup_free_ char *path = xasprintf("/proc/sys/net/%s", key);
		_cleanup_free_ char *ra = NULL;
		struct hangar_error ignored = {0};
		/* interfaces may vanish while we look: skip those */
		if (read_file_at(AT_FDCWD, path, &ra, NULL, &ignored) < 0 || ra[0] != '1')
			continue;
		if (net_sysctl_write(key, "2", err) < 0)
			return -1;
	}
	return net_sysctl_write("ipv6/conf/all/forwarding", "1", err);
}

int network_setup_host(const char *state_dir, const struct network *net, struct hangar_error *err)
{
	if (net->mode != NETWORK_MODE_BRIDGE)
		return 0;
	/* The host may have gained a route into the subnet since the network
	 * was stored: adding the bridge then would break its routing. */
	if (host_check_network(net, err) < 0)
		return hangar_error_prefix(err, "network '%s'", net->name);
	_cleanup_nl_sock_ struct nl_sock *sk = NULL;
	if (nl_route_socket(-1, &sk, err) < 0)
		return -1;
	struct net_prefix addrs[2];
	size_t n = 0;
	if (net->has_subnet4)
		addrs[n++] = net->gateway4;
	if (net->has_subnet6)
		addrs[n++] = net->gateway6;
	if (bridge_ensure(sk, net->bridge, net->mtu, addrs, n, err) < 0)
		return hangar_error_prefix(err, "network '%s'", net->name);
	/* Sysctls of the namespace holding the bridge: the host for the
	 * manager, a throwaway namespace in the tests. */
	if (net->has_subnet4) {
		_cleanup_free_ char *localnet = xasprintf("ipv4/conf/%s/route_localnet", net->bridge);
		if (net_sysctl_write("ipv4/ip_forward", "1", err) < 0 ||
		    net_sysctl_write(localnet, "1", err) < 0)
			return hangar_error_prefix(err, "network '%s'", net->name);
	}
	if (net->has_subnet6 && ipv6_enable_forwarding(err) < 0)
		return hangar_error_prefix(err, "network '%s'", net->name);
	char tag[9];
	network_store_tag(state_dir, tag);
	return nat_setup_network(net, tag, err);
}

static int open_target_netns(const struct network_attach_request *req, struct hangar_error *err)
{
	if (req->netns_fd >= 0) {
		int fd = fcntl(req->netns_fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return hangar_sys_error(err, "duplicate network namespace fd %d", req->netns_fd);
		return fd;
	}
	if (req->netns_path == NULL)
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"attach instance '%s': no network namespace given", req->instance);
	int fd = open(req->netns_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hangar_sys_error(err, "open network namespace %s", req->netns_path);
	return fd;
}

static bool ports_clash(const struct port_mapping *a, const struct port_mapping *b)
{
	if (a->protocol != b->protocol || a->host_port != b->host_port)
		return false;
	return a->host_ip[0] == '\0' || b->host_ip[0] == '\0' || strcmp(a->host_ip, b->host_ip) == 0;
}

static const char *port_text(const struct port_mapping *p, char *buf, size_t len)
{
	bool v6 = strchr(p->host_ip, ':') != NULL;
	snprintf(buf, len, "%s%s%s%s%u/%s", v6 ? "[" : "", p->host_ip, v6 ? "]" : "",
		 p->host_ip[0] ? ":" : "", p->host_port, p->protocol == IPPROTO_UDP ? "udp" : "tcp");
	return buf;
}

/* A host IP of one family can only be forwarded to an address of that
 * family: without the check the rule would silently not exist. */
int network_check_port_families(const struct network *net, const struct port_mapping *ports, size_t n_ports,
				struct hangar_error *err)
{
	char b[128];
	for (size_t i = 0; i < n_ports; i++) {
		const struct port_mapping *p = &ports[i];
		struct in6_addr v6;
		struct in_addr v4;
		if (p->host_ip[0] == '\0')
			continue;
		if (inet_pton(AF_INET, p->host_ip, &v4) == 1 && !net->has_subnet4)
			return hangar_error_set(
			    err, HANGAR_E_CONFIG, 0,
			    "port %s: host IP %s is IPv4 but network '%s' has no IPv4 subnet",
			    port_text(p, b, sizeof(b)), p->host_ip, net->name);
		if (inet_pton(AF_INET6, p->host_ip, &v6) != 1)
			continue;
		if (!net->has_subnet6)
			return hangar_error_set(
			    err, HANGAR_E_CONFIG, 0,
			    "port %s: host IP %s is IPv6 but network '%s' has no IPv6 subnet",
			    port_text(p, b, sizeof(b)), p->host_ip, net->name);
		/* IPv6 has no route_localnet: the kernel drops packets from
		 * ::1 that would leave through the bridge, so a DNAT rule for
		 * ::1 could never work. */
		if (IN6_IS_ADDR_LOOPBACK(&v6))
			return hangar_error_set(
			    err, HANGAR_E_CONFIG, 0,
			    "port %s: host IP ::1 cannot be forwarded to an instance (IPv6 "
			    "loopback never leaves the host); publish on 127.0.0.1",
			    port_text(p, b, sizeof(b)));
	}
	return 0;
}

/* Under the state lock: refuse ports some lease in any network holds. */
static int check_ports_free(const char *state_dir, const struct network_attach_request *req,
			    struct hangar_error *err)
{
	char b[128];
	for (size_t i = 0; i < req->n_ports; i++)
		for (size_t j = 0; j < i; j++)
			if (ports_clash(&req->ports[i], &req->ports[j]))
				return hangar_error_set(err, HANGAR_E_CONFIG, 0,
							"port %s: published twice in one request",
							port_text(&req->ports[i], b, sizeof(b)));
	if (req->n_ports == 0)
		return 0;
	char **names = NULL;
	if (network_list_locked(state_dir, &names, err) < 0)
		return -1;
	int r = 0;
	for (char **n = names; *n && r == 0; n++) {
		_cleanup_lease_table_ struct lease_table t = {0};
		if (lease_table_load(state_dir, *n, &t, err) < 0) {
			r = -1;
			break;
		}
		for (size_t li = 0; li < t.n && r == 0; li++)
			for (size_t pi = 0; pi < t.leases[li].n_ports && r == 0; pi++)
				for (size_t qi = 0; qi < req->n_ports && r == 0; qi++)
					if (ports_clash(&t.leases[li].ports[pi], &req->ports[qi]))
						r = hangar_error_set(err, HANGAR_E_EXISTS, 0,
								     "port %s: already published by instance "
								     "'%s' on network '%s'",
								     port_text(&req->ports[qi], b, sizeof(b)),
								     t.leases[li].instance, *n);
	}
	strv_free(names);
	return r;
}

/* Under the state lock: host interface names are a 48-bit hash of
 * (network, instance); make sure no saved lease anywhere has the same one
 * (the new lease is not saved yet), which lets attach treat an existing
 * link of that name as its own leftover. */
static int check_host_ifname_unique(const char *state_dir, const char *host_ifname, struct hangar_error *err)
{
	char **names = NULL;
	if (network_list_locked(state_dir, &names, err) < 0)
		return -1;
	int r = 0;
	for (char **n = names; *n && r == 0; n++) {
		_cleanup_lease_table_ struct lease_table t = {0};
		if (lease_table_load(state_dir, *n, &t, err) < 0) {
			r = -1;
			break;
		}
		for (size_t i = 0; i < t.n && r == 0; i++)
			if (strcmp(t.leases[i].host_ifname, host_ifname) == 0)
				r = hangar_error_set(
				    err, HANGAR_E_EXISTS, 0,
				    "host interface %s: name collision with instance '%s' on network '%s'",
				    host_ifname, t.leases[i].instance, *n);
	}
	strv_free(names);
	return r;
}

static int lease_reserve(const char *state_dir, const struct network *net,
			 const struct network_attach_request *req, const char *ifname,
			 const struct stat *ns_stat, struct lease *out, struct hangar_error *err)
{
	_cleanup_close_ int lock = network_state_lock(state_dir, err);
	if (lock < 0)
		return -1;
	_cleanup_lease_table_ struct lease_table t = {0};
	if (lease_table_load(state_dir, net->name, &t, err) < 0)
		return -1;
	struct lease *existing = lease_table_find(&t, req->instance);
	if (existing)
		return hangar_error_set(
		    err, HANGAR_E_EXISTS, 0, "instance '%s': already attached to network '%s'%s",
		    req->instance, net->name,
		    existing->state == LEASE_PENDING ? " (attach in progress or interrupted)" : "");
	if (check_ports_free(state_dir, req, err) < 0)
		return -1;
	struct lease *l;
	if (ipam_allocate(net, &t, req->instance, req->ipv4, req->ipv6, &l, err) < 0)
		return -1;
	if (check_host_ifname_unique(state_dir, l->host_ifname, err) < 0)
		return -1;
	snprintf(l->ifname, sizeof(l->ifname), "%s", ifname);
	l->owner_pid = req->owner_pid;
	l->owner_start = req->owner_pid > 0 ? proc_start_time(req->owner_pid) : 0;
	l->netns_dev = ns_stat->st_dev;
	l->netns_ino = ns_stat->st_ino;
	/* gc in another namespace must not judge this lease by what it sees */
	if (network_host_netns(&l->host_netns_dev, &l->host_netns_ino, err) < 0)
		return -1;
	if (req->n_ports) {
		l->ports = xmalloc0(req->n_ports * sizeof(*l->ports));
		memcpy(l->ports, req->ports, req->n_ports * sizeof(*l->ports));
		l->n_ports = req->n_ports;
	}
	if (lease_table_save(state_dir, net->name, &t, err) < 0)
		return -1;
	*out = *l;
	/* the copy owns the ports now; the table's entry is freed with t */
	if (l->n_ports) {
		out->ports = xmalloc0(l->n_ports * sizeof(*out->ports));
		memcpy(out->ports, l->ports, l->n_ports * sizeof(*out->ports));
	}
	return 0;
}

/* Change or drop the lease of (network, instance) under the lock. */
static int lease_update(const char *state_dir, const char *network, const char *instance, bool drop,
			struct hangar_error *err)
{
	_cleanup_close_ int lock = network_state_lock(state_dir, err);
	if (lock < 0)
		return -1;
	_cleanup_lease_table_ struct lease_table t = {0};
	if (lease_table_load(state_dir, network, &t, err) < 0)
		return -1;
	struct lease *l = lease_table_find(&t, instance);
	if (l == NULL) {
		if (drop)
			return 0;
		return hangar_error_set(err, HANGAR_E_STATE, 0,
					"instance '%s': lease on network '%s' vanished during attach",
					instance, network);
	}
	if (drop)
		lease_table_remove(&t, l);
	else
		l->state = LEASE_BOUND;
	return lease_table_save(state_dir, network, &t, err);
}

static void stage(const struct network_attach_request *req, const char *name)
{
	if (req->on_stage)
		req->on_stage(name, req->stage_data);
}

static int configure_inside(int nsfd, struct nl_sock *ns_sk, const struct network *net, const struct lease *l,
			    struct hangar_error *err)
{
	if (link_set_up(ns_sk, "lo", err) < 0)
		return -1;
	/* Announce the address when the link comes up (gratuitous ARP,
	 * unsolicited neighbour advertisement): after a restart, restore or
	 * migration the address may sit behind a new MAC, and neighbours
	 * would otherwise keep sending to the old one until their entry
	 * times out. */
	_cleanup_free_ char *arp_notify = xasprintf("ipv4/conf/%s/arp_notify", l->ifname);
	_cleanup_free_ char *ndisc_notify = xasprintf("ipv6/conf/%s/ndisc_notify", l->ifname);
	if (l->has_ipv4 && net_sysctl_write_in(nsfd, arp_notify, "1", err) < 0)
		return -1;
	if (l->has_ipv6 && net_sysctl_write_in(nsfd, ndisc_notify, "1", err) < 0)
		return -1;
	if (l->has_ipv4 && addr_add(ns_sk, l->ifname, &l->ipv4, err) < 0)
		return -1;
	if (l->has_ipv6 && addr_add(ns_sk, l->ifname, &l->ipv6, err) < 0)
		return -1;
	if (link_set_up(ns_sk, l->ifname, err) < 0)
		return -1;
	/* With several networks the first one attached keeps the default
	 * route; the others are reachable through their subnet routes. */
	bool existed;
	if (l->has_ipv4 && route_add_default(ns_sk, l->ifname, &net->gateway4, &existed, err) < 0)
		return -1;
	if (l->has_ipv6 && route_add_default(ns_sk, l->ifname, &net->gateway6, &existed, err) < 0)
		return -1;
	return 0;
}

static int attach_none(int nsfd, const struct network_attach_request *req, struct network_attachment *out,
		       struct hangar_error *err)
{
	_cleanup_nl_sock_ struct nl_sock *ns_sk = NULL;
	if (nl_route_socket(nsfd, &ns_sk, err) < 0 || link_set_up(ns_sk, "lo", err) < 0)
		return hangar_error_prefix(err, "attach instance '%s' to network 'none'", req->instance);
	snprintf(out->ifname, sizeof(out->ifname), "lo");
	return 0;
}

int network_attach(const char *state_dir, const char *network_name, const struct network_attach_request *req,
		   struct network_attachment *out, struct hangar_error *err)
{
	memset(out, 0, sizeof(*out));
	if (network_validate_instance_name(req->instance, err) < 0)
		return -1;
	_cleanup_network_ struct network *net = NULL;
	if (network_load(state_dir, network_name, &net, err) < 0)
		return -1;
	snprintf(out->network, sizeof(out->network), "%s", net->name);
	snprintf(out->instance, sizeof(out->instance), "%s", req->instance);
	if (net->mode == NETWORK_MODE_HOST)
		return 0;
	for (size_t i = 0; i < req->n_ports; i++)
		if (req->ports[i].protocol != IPPROTO_TCP && req->ports[i].protocol != IPPROTO_UDP)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"port %u: protocol must be tcp or udp",
						req->ports[i].host_port);

	_cleanup_close_ int nsfd = open_target_netns(req, err);
	if (nsfd < 0)
		return -1;
	if (net->mode == NETWORK_MODE_NONE)
		return attach_none(nsfd, req, out, err);
	if (req->n_ports && !net->has_subnet4 && !net->has_subnet6)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"network '%s': no addresses to publish ports to", net->name);
	if (network_check_port_families(net, req->ports, req->n_ports, err) < 0 ||
	    host_check_port_listeners(req->ports, req->n_ports, err) < 0)
		return -1;
	struct stat ns_stat;
	if (fstat(nsfd, &ns_stat) < 0)
		return hangar_sys_error(err, "stat network namespace of instance '%s'", req->instance);

	_cleanup_nl_sock_ struct nl_sock *ns_sk = NULL;
	if (nl_route_socket(nsfd, &ns_sk, err) < 0)
		return hangar_error_prefix(err, "attach instance '%s'", req->instance);
	char ifname[IF_NAMESIZE];
	if (req->ifname) {
		if (strlen(req->ifname) == 0 || strlen(req->ifname) >= IF_NAMESIZE)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"interface name '%s': must be 1-%d characters", req->ifname,
						IF_NAMESIZE - 1);
		snprintf(ifname, sizeof(ifname), "%s", req->ifname);
	} else if (link_free_ethname(ns_sk, ifname, err) < 0) {
		return hangar_error_prefix(err, "attach instance '%s'", req->instance);
	}

	struct lease l = {0};
	if (lease_reserve(state_dir, net, req, ifname, &ns_stat, &l, err) < 0)
		return -1;
	stage(req, "leased");

	_cleanup_nl_sock_ struct nl_sock *host_sk = NULL;
	bool veth_made = false, ports_made = false;
	unsigned mtu = net->mtu;
	char tag[9];
	network_store_tag(state_dir, tag);
	_cleanup_free_ char *chain_prefix = nat_instance_prefix(l.host_ifname, tag);
	int r = network_setup_host(state_dir, net, err);
	if (r == 0)
		r = nl_route_socket(-1, &host_sk, err);
	if (r == 0 && mtu == 0)
		r = link_get_mtu(host_sk, net->bridge, &mtu, err);
	/* A link with our name can only be a leftover of an attach of this
	 * very instance that died before gc ran (names are unique per lease,
	 * checked above). */
	if (r == 0)
		r = link_delete(host_sk, l.host_ifname, true, err);
	if (r == 0)
		r = veth_create(host_sk, l.host_ifname, net->bridge, nsfd, l.ifname, mtu, err);
	if (r == 0) {
		veth_made = true;
		stage(req, "veth");
		r = configure_inside(nsfd, ns_sk, net, &l, err);
	}
	if (r == 0) {
		stage(req, "configured");
		ports_made = l.n_ports > 0;
		r = nat_add_instance_ports(net, chain_prefix, &l, err);
	}
	if (r == 0) {
		stage(req, "ports");
		r = lease_update(state_dir, net->name, l.instance, false, err);
	}
	if (r < 0) {
		/* Unwind in reverse; keep the first error, which says why. */
		struct hangar_error ignored = {0};
		if (ports_made)
			nat_remove_instance(chain_prefix, &ignored);
		if (veth_made && host_sk)
			link_delete(host_sk, l.host_ifname, true, &ignored);
		lease_update(state_dir, net->name, l.instance, true, &ignored);
		lease_clear(&l);
		return hangar_error_prefix(err, "attach instance '%s' to network '%s'", req->instance,
					   net->name);
	}
	attachment_from_lease(net, &l, mtu, out);
	lease_clear(&l);
	return 0;
}

/* Remove what a lease stands for (veth, NAT chains); the lease stays. */
static int lease_teardown(struct nl_sock *host_sk, const char *tag, const struct lease *l,
			  struct hangar_error *err)
{
	_cleanup_free_ char *chain_prefix = nat_instance_prefix(l->host_ifname, tag);
	int r = nat_remove_instance(chain_prefix, err);
	/* Deleting the host end takes the namespace end with it. */
	if (link_delete(host_sk, l->host_ifname, true, r < 0 ? &(struct hangar_error){0} : err) < 0 && r == 0)
		r = -1;
	return r;
}

int network_detach(const char *state_dir, const char *network_name, const char *instance,
		   struct hangar_error *err)
{
	if (network_validate_instance_name(instance, err) < 0)
		return -1;
	_cleanup_close_ int lock = network_state_lock(state_dir, err);
	if (lock < 0)
		return -1;
	_cleanup_network_ struct network *net = NULL;
	if (network_load_locked(state_dir, network_name, &net, err) < 0)
		return -1;
	if (net->mode != NETWORK_MODE_BRIDGE)
		return 0;
	_cleanup_lease_table_ struct lease_table t = {0};
	if (lease_table_load(state_dir, net->name, &t, err) < 0)
		return -1;
	struct lease *l = lease_table_find(&t, instance);
	char host_ifname[IF_NAMESIZE];
	network_host_ifname(net->name, instance, host_ifname);
	_cleanup_nl_sock_ struct nl_sock *host_sk = NULL;
	if (nl_route_socket(-1, &host_sk, err) < 0)
		return -1;
	/* Without a lease there may still be leftovers of a crashed attach
	 * under the deterministic names: remove those too. */
	struct lease fallback = {0};
	snprintf(fallback.host_ifname, sizeof(fallback.host_ifname), "%s", host_ifname);
	char tag[9];
	network_store_tag(state_dir, tag);
	if (lease_teardown(host_sk, tag, l ? l : &fallback, err) < 0)
		return hangar_error_prefix(err, "detach instance '%s' from network '%s'", instance,
					   net->name);
	if (l == NULL)
		return 0;
	lease_table_remove(&t, l);
	return lease_table_save(state_dir, net->name, &t, err);
}

int network_detach_all(const char *state_dir, const char *instance, struct hangar_error *err)
{
	char **names = NULL;
	if (network_list(state_dir, &names, err) < 0)
		return -1;
	int r = 0;
	for (char **n = names; *n; n++) {
		struct hangar_error one = {0};
		if (network_detach(state_dir, *n, instance, &one) < 0 && r == 0) {
			*err = one;
			r = -1;
		}
	}
	strv_free(names);
	return r;
}

/* The MTU the instance really has: that of its veth (made with the
 * bridge's MTU when the network sets none), else the bridge's, else the
 * configured one (veth and bridge gone, or another namespace). */
static unsigned attachment_mtu(struct nl_sock *sk, const struct network *net, const struct lease *l)
{
	struct hangar_error ignored = {0};
	unsigned mtu = 0;
	if (sk && link_get_mtu(sk, l->host_ifname, &mtu, &ignored) == 0 && mtu > 0)
		return mtu;
	if (sk && link_get_mtu(sk, net->bridge, &mtu, &ignored) == 0 && mtu > 0)
		return mtu;
	return net->mtu;
}

/* Bound leases as attachments, filtered by network and/or instance. */
static int collect_attachments(const char *state_dir, const char *network, const char *instance,
			       struct network_attachment **out, size_t *n_out, struct hangar_error *err)
{
	*out = NULL;
	*n_out = 0;
	_cleanup_close_ int lock = network_state_lock(state_dir, err);
	if (lock < 0)
		return -1;
	char **names = NULL;
	if (network) {
		/* a named network must exist: "not found" beats an empty list */
		_cleanup_network_ struct network *check = NULL;
		if (network_load_locked(state_dir, network, &check, err) < 0)
			return -1;
		names = xmalloc0(2 * sizeof(char *));
		names[0] = xstrdup(network);
	} else if (network_list_locked(state_dir, &names, err) < 0) {
		return -1;
	}
	struct network_attachment *v = NULL;
	size_t n = 0;
	int r = 0;
	/* Without a socket the MTUs fall back to the configured ones. */
	_cleanup_nl_sock_ struct nl_sock *sk = NULL;
	struct hangar_error ignored = {0};
	nl_route_socket(-1, &sk, &ignored);
	for (char **name = names; *name && r == 0; name++) {
		_cleanup_network_ struct network *net = NULL;
		_cleanup_lease_table_ struct lease_table t = {0};
		if (network_load_locked(state_dir, *name, &net, err) < 0 ||
		    lease_table_load(state_dir, *name, &t, err) < 0) {
			r = -1;
			break;
		}
		for (size_t i = 0; i < t.n; i++) {
			const struct lease *l = &t.leases[i];
			if (l->state != LEASE_BOUND || (instance && strcmp(l->instance, instance) != 0))
				continue;
			v = realloc(v, (n + 1) * sizeof(*v));
			if (v == NULL)
				abort();
			attachment_from_lease(net, l, attachment_mtu(sk, net, l), &v[n++]);
		}
	}
	strv_free(names);
	if (r < 0) {
		network_attachments_free(v, n);
		return -1;
	}
	*out = v;
	*n_out = n;
	return 0;
}

int network_get_attachments(const char *state_dir, const char *instance, struct network_attachment **out,
			    size_t *n_out, struct hangar_error *err)
{
	return collect_attachments(state_dir, NULL, instance, out, n_out, err);
}

int network_list_attachments(const char *state_dir, const char *network, struct network_attachment **out,
			     size_t *n_out, struct hangar_error *err)
{
	return collect_attachments(state_dir, network, NULL, out, n_out, err);
}

int network_remove(const char *state_dir, const char *name, struct hangar_error *err)
{
	_cleanup_close_ int lock = network_state_lock(state_dir, err);
	if (lock < 0)
		return -1;
	_cleanup_network_ struct network *net = NULL;
	if (network_load_locked(state_dir, name, &net, err) < 0)
		return -1;
	if (net->mode != NETWORK_MODE_BRIDGE)
		return hangar_error_set(err, HANGAR_E_STATE, 0, "network '%s': built-in, cannot be removed",
					name);
	_cleanup_lease_table_ struct lease_table t = {0};
	if (lease_table_load(state_dir, name, &t, err) < 0)
		return -1;
	if (t.n > 0)
		return hangar_error_set(
		    err, HANGAR_E_STATE, 0,
		    "network '%s': %zu instance(s) still attached (first: '%s'); detach them or run gc", name,
		    t.n, t.leases[0].instance);
	_cleanup_nl_sock_ struct nl_sock *sk = NULL;
	if (nl_route_socket(-1, &sk, err) < 0)
		return hangar_error_prefix(err, "remove network '%s'", name);
	/* A bridge the admin made (docker0, an overlay's) stays, with its MTU
	 * and its own addresses; only what hangar added to it goes. */
	int r = 0;
	if (!net->bridge_preexisting)
		r = link_delete(sk, net->bridge, true, err);
	if (r == 0 && net->bridge_preexisting && net->has_subnet4)
		r = addr_delete(sk, net->bridge, &net->gateway4, err);
	if (r == 0 && net->bridge_preexisting && net->has_subnet6)
		r = addr_delete(sk, net->bridge, &net->gateway6, err);
	char tag[9];
	network_store_tag(state_dir, tag);
	if (r < 0 || nat_remove_network(name, tag, err) < 0)
		return hangar_error_prefix(err, "remove network '%s'", name);
	/* The empty table stays: deleting it could race a concurrent attach
	 * to another network creating its chain in it. */
	_cleanup_free_ char *dir = xasprintf("%s/%s", state_dir, name);
	return rm_rf(dir, err);
}
