/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_NETNS_NET_H
#define HANGAR_NETNS_NET_H

/*
 * Instance networking: named networks stored under a state directory,
 * bridge + veth attachment of instance network namespaces, IPAM with
 * flock-protected leases, nftables NAT and published ports, garbage
 * collection of leftovers, and rootless helpers (pasta / slirp4netns).
 *
 * Everything that touches links, addresses, sysctls or nftables acts on the
 * network namespace of the calling thread ("the host side"): the bridge,
 * the host ends of the veth pairs and the `inet hangar` nftables table live
 * there.  Instance namespaces are reached through an fd or a path.
 *
 * State directory layout (one lock for all of it):
 *   STATE/.lock                 flock()ed for every read-modify-write
 *   STATE/NAME/network.json     the network definition
 *   STATE/NAME/leases.json      addresses and published ports per instance
 */

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

#define NETWORK_DEFAULT_NAME "hangar0"
#define NETWORK_DEFAULT_SUBNET4 "10.213.0.0/24"
/* ULA with global ID 68:616e:6761 ("hang"): unlikely to meet anyone else's. */
#define NETWORK_DEFAULT_SUBNET6 "fd68:616e:6761::/64"
/* Where the implicit default network looks for a free subnet when the
 * defaults above collide with the host: the /24s and /64s of these. */
#define NETWORK_DEFAULT_POOL4 "10.213.0.0/16"
#define NETWORK_DEFAULT_POOL6 "fd68:616e:6761::/56"
#define NETWORK_DEFAULT_POOL4_FMT "10.213.%u.0/24"
#define NETWORK_DEFAULT_POOL6_FMT "fd68:616e:6761:%x::/64"
#define NETWORK_DEFAULT_POOL_SIZE 256u
#define NETWORK_NAME_MAX 32

/* An address with a prefix length.  family is AF_INET or AF_INET6; addr
 * holds 4 or 16 bytes in network order. */
struct net_prefix {
	int family;
	unsigned char addr[16];
	unsigned prefixlen;
};

/* "10.0.0.0/24", "fd00::/64"; a bare address gets the full length. */
int net_prefix_parse(const char *text, struct net_prefix *out, struct hangar_error *err);
/* "10.0.0.5/24" (with_len) or "10.0.0.5". buf must hold INET6_ADDRSTRLEN+4. */
const char *net_prefix_format(const struct net_prefix *p, bool with_len, char *buf, size_t len);
bool net_prefix_contains(const struct net_prefix *net, const struct net_prefix *addr);
bool net_prefix_overlaps(const struct net_prefix *a, const struct net_prefix *b);

enum network_mode {
	NETWORK_MODE_BRIDGE,
	NETWORK_MODE_NONE, /* loopback only */
	NETWORK_MODE_HOST, /* share the host namespace: nothing to do */
};

struct network {
	char *name;
	enum network_mode mode;
	char *bridge; /* bridge interface name (bridge mode) */
	/* The bridge existed when the network was created: it is the admin's,
	 * so network_remove takes only hangar's gateway addresses off it. */
	bool bridge_preexisting;
	bool has_subnet4, has_subnet6;
	struct net_prefix subnet4, subnet6;
	struct net_prefix gateway4, gateway6; /* prefixlen = the subnet's */
	unsigned mtu;			      /* 0: kernel default */
	bool masquerade;		      /* outbound NAT for the subnet(s) */
	char **dns;			      /* NULL-terminated nameservers for resolv.conf; may be NULL */
};

struct network_options {
	const char *subnet4;		 /* NULL: default (when ipv4 is wanted) */
	const char *subnet6;		 /* NULL: default (when ipv6 is wanted) */
	const char *gateway4, *gateway6; /* NULL: first address of the subnet */
	const char *bridge;		 /* NULL: the network name, or hgbr<hash> if too long */
	unsigned mtu;
	bool no_ipv4, no_ipv6;
	bool no_masquerade;
	char *const *dns;
};

/* Validate and persist a new bridge network.  Errors: invalid name or CIDR,
 * prefix too small, gateway outside the subnet, subnet overlapping another
 * hangar network or the host's routes and addresses, name taken, a bridge
 * name that is an existing non-bridge link.  A subnet not given is the
 * first free one of the default pool.  "none" and "host" are built in. */
int network_create(const char *state_dir, const char *name, const struct network_options *opts,
		   struct network **out, struct hangar_error *err);
/* Load a network; "none" and "host" return the built-in pseudo networks. */
int network_load(const char *state_dir, const char *name, struct network **out, struct hangar_error *err);
/* Load NETWORK_DEFAULT_NAME, creating it when missing with the first
 * subnet of each default pool that no other network and no route or
 * address of the host side uses. */
int network_ensure_default(const char *state_dir, struct network **out, struct hangar_error *err);
/* Names of the stored networks (NULL-terminated, free with strv_free). */
int network_list(const char *state_dir, char ***names, struct hangar_error *err);
/* Remove a network that has no leases: NAT chain, state and the bridge
 * (only its gateway addresses when the bridge existed before). */
int network_remove(const char *state_dir, const char *name, struct hangar_error *err);
void network_free(struct network *net);

/* Bring the host side up: bridge with gateway addresses, forwarding, NAT
 * chain (named with the store tag of state_dir).  Idempotent;
 * network_attach calls it. */
int network_setup_host(const char *state_dir, const struct network *net, struct hangar_error *err);

/* Another table's forward base chain with policy drop (docker sets the
 * iptables FORWARD policy to DROP) drops what the host routes to and from
 * the network's instances.  Looks once through `list ruleset` (JSON) for
 * such a chain in an ip, ip6 or inet table other than hangar's, skipping
 * tables that name the bridge anywhere (taken as rules the admin added for
 * it).  *warning: one line naming the table and chain and the rules to add,
 * or NULL. */
int network_forward_policy_warning(const struct network *net, char **warning, struct hangar_error *err);

struct port_mapping {
	char host_ip[INET6_ADDRSTRLEN]; /* "" = every local address */
	uint16_t host_port;
	uint16_t container_port;
	int protocol; /* IPPROTO_TCP or IPPROTO_UDP */
};

/* "[HOSTIP:]HOSTPORT:PORT[/tcp|/udp]"; an IPv6 HOSTIP goes in brackets. */
int port_mapping_parse(const char *spec, struct port_mapping *out, struct hangar_error *err);
/* Refuse host IPs a bridge network cannot forward: a family it has no
 * subnet for, or ::1 (network_attach checks this too). */
int network_check_port_families(const struct network *net, const struct port_mapping *ports, size_t n_ports,
				struct hangar_error *err);

struct network_attach_request {
	const char *instance;	/* [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 chars */
	int netns_fd;		/* target namespace; -1 to use netns_path */
	const char *netns_path; /* e.g. /proc/PID/ns/net or /run/netns/X */
	const char *ifname;	/* NULL: first free ethN in the namespace */
	pid_t owner_pid;	/* instance process; 0 = none (liveness by veth only) */
	/* Static addresses ("10.213.0.50", no prefix length); NULL = any
	 * free one.  Lets an instance keep its address across restarts,
	 * restores and migrations. */
	const char *ipv4;
	const char *ipv6;
	const struct port_mapping *ports;
	size_t n_ports;
	/* Called after each step ("leased", "veth", "configured", "ports");
	 * lets a caller report progress or a test stop at a given point. */
	void (*on_stage)(const char *stage, void *data);
	void *stage_data;
};

struct network_attachment {
	char network[NETWORK_NAME_MAX + 1];
	char instance[65];
	char ifname[IF_NAMESIZE];      /* inside the instance */
	char host_ifname[IF_NAMESIZE]; /* host end of the veth */
	bool has_ipv4, has_ipv6;
	struct net_prefix ipv4, ipv6; /* address/prefixlen */
	struct net_prefix gateway4, gateway6;
	unsigned mtu;
	struct port_mapping *ports;
	size_t n_ports;
};

void network_attachment_clear(struct network_attachment *att);

/* Connect an instance namespace to a network.  Bridge mode: veth pair, the
 * namespace end renamed to ifname, addresses from IPAM, loopback up, default
 * route via the gateway (unless the namespace already has one), published
 * ports as DNAT rules.  none: loopback up only.  host: nothing.  Everything
 * made is undone on failure.  Fails with HANGAR_E_EXISTS when the instance
 * is already attached to this network, and names the holder when a port is
 * already published. */
int network_attach(const char *state_dir, const char *network_name, const struct network_attach_request *req,
		   struct network_attachment *out, struct hangar_error *err);
/* Undo network_attach: veth, NAT rules, lease.  Idempotent. */
int network_detach(const char *state_dir, const char *network_name, const char *instance,
		   struct hangar_error *err);
/* Detach the instance from every network it is attached to. */
int network_detach_all(const char *state_dir, const char *instance, struct hangar_error *err);
/* The current attachments of an instance (all networks). */
int network_get_attachments(const char *state_dir, const char *instance, struct network_attachment **out,
			    size_t *n_out, struct hangar_error *err);
/* Every instance attached to a network (NULL: all networks); pending
 * (unfinished) attaches are not listed. */
int network_list_attachments(const char *state_dir, const char *network, struct network_attachment **out,
			     size_t *n_out, struct hangar_error *err);
void network_attachments_free(struct network_attachment *att, size_t n);

struct network_gc_stats {
	unsigned leases_released;
	unsigned links_deleted;
	unsigned chains_deleted;
};

/* Remove what belongs to instances that no longer exist: leases whose
 * allocating process died before finishing, leases whose owner process
 * died, or, without a known owner, whose veth is gone (the namespace
 * died); hg* veths on hangar bridges that no lease knows; and this store's
 * NAT chains of unknown instances and networks.  A lease whose owner is
 * alive is never dropped.  Leases attached from another network namespace
 * than the caller's (and their networks' bridge ports) are left alone:
 * their veths and chains cannot be seen from here. */
int network_gc(const char *state_dir, struct network_gc_stats *stats, struct hangar_error *err);

/* /etc/hosts text: localhost lines plus "ADDR hostname" per attachment. */
char *network_hosts_content(const char *hostname, const struct network_attachment *att, size_t n);
/* /etc/resolv.conf text: the network's dns servers, else the host file's
 * (host_resolv_conf, NULL = /etc/resolv.conf) minus loopback nameservers,
 * which mean nothing inside the instance. */
int network_resolv_conf_content(const struct network *net, const char *host_resolv_conf, char **out,
				struct hangar_error *err);
/* Write ROOTFS/etc/hosts and ROOTFS/etc/resolv.conf.  Each file is
 * replaced by rename, so a symlink in the rootfs is replaced too and its
 * target (maybe a host path) is never written. */
int network_write_etc_files(const char *rootfs, const char *hostname, const struct network *net,
			    const struct network_attachment *att, size_t n, struct hangar_error *err);

enum rootless_net_helper {
	ROOTLESS_NET_AUTO, /* pasta if installed, else slirp4netns */
	ROOTLESS_NET_PASTA,
	ROOTLESS_NET_SLIRP4NETNS,
};

struct rootless_net_request {
	pid_t target_pid; /* a process in the instance's user+network namespaces */
	/* Alternatively a network namespace file (a bind mount like
	 * /run/netns/NAME; target_pid 0), joined without its user namespace. */
	const char *netns_path;
	enum rootless_net_helper helper;
	const struct port_mapping *ports;
	size_t n_ports;
	unsigned mtu; /* 0: helper default */
	/* Directory for the helper's log (and slirp4netns' API socket, through
	 * which port forwards are added).  NULL: a temporary directory in
	 * $XDG_RUNTIME_DIR (or /tmp), removed again once the helper is up. */
	const char *runtime_dir;
};

/* The DNS address each helper answers on inside the namespace: slirp4netns'
 * built-in forwarder, and the address pasta is told to map to the host's
 * resolver (--dns-forward; podman uses the same).  For the instance's
 * /etc/resolv.conf. */
#define ROOTLESS_NET_SLIRP4NETNS_DNS "10.0.2.3"
#define ROOTLESS_NET_PASTA_DNS "169.254.1.1"

/* Find the helper binary in PATH ("pasta" / "slirp4netns"). */
int rootless_net_find_helper(enum rootless_net_helper want, enum rootless_net_helper *found, char **path,
			     struct hangar_error *err);
/* Start the helper for the target's namespace and wait until the namespace
 * is configured.  The helper is our child; *helper_pid is for the caller
 * (the instance monitor) to own, signal and reap.  The helper gets SIGTERM
 * when the calling thread exits (PR_SET_PDEATHSIG), so call this from the
 * thread that lives as long as the instance. */
int rootless_net_start(const struct rootless_net_request *req, pid_t *helper_pid,
		       enum rootless_net_helper *used, struct hangar_error *err);

#endif
