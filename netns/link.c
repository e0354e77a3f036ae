/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Links, bridges, veth pairs, addresses and routes through libnl-route-3. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/internal.h"

static void link_putp(struct rtnl_link **l)
{
	if (*l)
		rtnl_link_put(*l);
}
#define _cleanup_link_ __attribute__((cleanup(link_putp)))

static void cache_freep(struct nl_cache **c)
{
	if (*c)
		nl_cache_free(*c);
}
#define _cleanup_cache_ __attribute__((cleanup(cache_freep)))

static void nladdr_putp(struct nl_addr **a)
{
	if (*a)
		nl_addr_put(*a);
}
#define _cleanup_nladdr_ __attribute__((cleanup(nladdr_putp)))

static int nl_error(struct hangar_error *err, int nlerr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int nl_error(struct hangar_error *err, int nlerr, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	int code = nlerr == -NLE_EXIST				       ? HANGAR_E_EXISTS
		   : nlerr == -NLE_OBJ_NOTFOUND || nlerr == -NLE_NODEV ? HANGAR_E_NOTFOUND
								       : HANGAR_E_SYS;
	return hangar_error_set(err, code, 0, "%s: %s", what, nl_geterror(nlerr));
}

struct socket_in_netns {
	int nsfd;
	int fd;
	int err_no;
};

/* setns(CLONE_NEWNET) changes only the calling thread's namespace; doing it
 * in a throwaway thread leaves the caller's threads where they were, and the
 * socket stays bound to the namespace it was created in. */
static void *socket_in_netns_thread(void *arg)
{
	struct socket_in_netns *s = arg;
	if (setns(s->nsfd, CLONE_NEWNET) < 0) {
		s->err_no = errno;
		return NULL;
	}
	s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s->fd < 0) {
		s->err_no = errno;
		return NULL;
	}
	struct sockaddr_nl local = {.nl_family = AF_NETLINK};
	if (bind(s->fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
		s->err_no = errno;
		close(s->fd);
		s->fd = -1;
	}
	return NULL;
}

int nl_route_socket(int nsfd, struct nl_sock **out, struct hangar_error *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	if (sk == NULL)
		abort();
	int r;
	if (nsfd < 0) {
		r = nl_connect(sk, NETLINK_ROUTE);
		if (r < 0) {
			nl_socket_free(sk);
			return nl_error(err, r, "open rtnetlink socket");
		}
	} else {
		struct socket_in_netns s = {.nsfd = nsfd, .fd = -1};
		pthread_t t;
		r = pthread_create(&t, NULL, socket_in_netns_thread, &s);
		if (r != 0) {
			nl_socket_free(sk);
			return hangar_error_set(err, HANGAR_E_SYS, r,
						"start thread to enter network namespace");
		}
		pthread_join(t, NULL);
		if (s.fd < 0) {
			nl_socket_free(sk);
			return hangar_error_set(err, HANGAR_E_SYS, s.err_no,
						"open rtnetlink socket in network namespace");
		}
		r = nl_socket_set_fd(sk, NETLINK_ROUTE, s.fd);
		if (r < 0) {
			close(s.fd);
			nl_socket_free(sk);
			return nl_error(err, r, "adopt rtnetlink socket");
		}
	}
	*out = sk;
	return 0;
}

void nl_route_socket_free(struct nl_sock *sk)
{
	if (sk)
		nl_socket_free(sk);
}

static int get_link(struct nl_sock *sk, const char *name, struct rtnl_link **out, struct hangar_error *err)
{
	int r = rtnl_link_get_kernel(sk, 0, name, out);
	if (r < 0)
		return nl_error(err, r, "link %s", name);
	return 0;
}

int link_exists(struct nl_sock *sk, const char *name, bool *exists, struct hangar_error *err)
{
	_cleanup_link_ struct rtnl_link *l = NULL;
	int r = rtnl_link_get_kernel(sk, 0, name, &l);
	if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV) {
		*exists = false;
		return 0;
	}
	if (r < 0)
		return nl_error(err, r, "look up link %s", name);
	*exists = true;
	return 0;
}

int link_ifindex(struct nl_sock *sk, const char *name, int *ifindex, struct hangar_error *err)
{
	_cleanup_link_ struct rtnl_link *l = NULL;
	if (get_link(sk, name, &l, err) < 0)
		return -1;
	*ifindex = rtnl_link_get_ifindex(l);
	return 0;
}

int link_get_mtu(struct nl_sock *sk, const char *name, unsigned *mtu, struct hangar_error *err)
{
	_cleanup_link_ struct rtnl_link *l = NULL;
	if (get_link(sk, name, &l, err) < 0)
		return -1;
	*mtu = rtnl_link_get_mtu(l);
	return 0;
}

static int link_change(struct nl_sock *sk, const char *name, unsigned mtu, bool up, struct hangar_error *err)
{
	_cleanup_link_ struct rtnl_link *cur = NULL;
	if (get_link(sk, name, &cur, err) < 0)
		return -1;
	_cleanup_link_ struct rtnl_link *want = rtnl_link_alloc();
	if (want == NULL)
		abort();
	if (up)
		rtnl_link_set_flags(want, IFF_UP);
	if (mtu)
		rtnl_link_set_mtu(want, mtu);
	int r = rtnl_link_change(sk, cur, want, 0);
	if (r < 0)
		return nl_error(err, r, "%s link %s", up ? "bring up" : "change", name);
	return 0;
}

int link_set_up(struct nl_sock *sk, const char *name, struct hangar_error *err)
{
	return link_change(sk, name, 0, true, err);
}

int link_delete(struct nl_sock *sk, const char *name, bool missing_ok, struct hangar_error *err)
{
	_cleanup_link_ struct rtnl_link *l = rtnl_link_alloc();
	if (l == NULL)
		abort();
	rtnl_link_set_name(l, name);
	int r = rtnl_link_delete(sk, l);
	if (r < 0 && missing_ok && (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV))
		return 0;
	if (r < 0)
		return nl_error(err, r, "delete link %s", name);
	return 0;
}

static struct nl_addr *prefix_to_nladdr(const struct net_prefix *p)
{
	struct nl_addr *a = nl_addr_build(p->family, p->addr, p->family == AF_INET ? 4 : 16);
	if (a == NULL)
		abort();
	nl_addr_set_prefixlen(a, (int)p->prefixlen);
	return a;
}

/* The rtnl address object for p on ifindex; *r gets set_local's result. */
static struct rtnl_addr *addr_object(int ifindex, const struct net_prefix *p, int *r)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	if (a == NULL)
		abort();
	_cleanup_nladdr_ struct nl_addr *local = prefix_to_nladdr(p);
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_family(a, p->family);
	*r = rtnl_addr_set_local(a, local);
	return a;
}

static int addr_add_index(struct nl_sock *sk, int ifindex, const char *ifname, const struct net_prefix *p,
			  struct hangar_error *err)
{
	int r;
	struct rtnl_addr *a = addr_object(ifindex, p, &r);
	/* The address is ours alone (IPAM); duplicate address detection would
	 * only delay the first packets by a second or two. */
	if (p->family == AF_INET6)
		rtnl_addr_set_flags(a, IFA_F_NODAD);
	if (r == 0)
		r = rtnl_addr_add(sk, a, NLM_F_CREATE | NLM_F_REPLACE);
	rtnl_addr_put(a);
	if (r < 0) {
		char b[64];
		return nl_error(err, r, "add address %s to %s", net_prefix_format(p, true, b, sizeof(b)),
				ifname);
	}
	return 0;
}

int addr_add(struct nl_sock *sk, const char *ifname, const struct net_prefix *addr, struct hangar_error *err)
{
	int ifindex;
	if (link_ifindex(sk, ifname, &ifindex, err) < 0)
		return -1;
	return addr_add_index(sk, ifindex, ifname, addr, err);
}

int addr_delete(struct nl_sock *sk, const char *ifname, const struct net_prefix *p, struct hangar_error *err)
{
	bool exists;
	if (link_exists(sk, ifname, &exists, err) < 0)
		return -1;
	if (!exists)
		return 0;
	int ifindex;
	if (link_ifindex(sk, ifname, &ifindex, err) < 0)
		return -1;
	int r;
	struct rtnl_addr *a = addr_object(ifindex, p, &r);
	if (r == 0)
		r = rtnl_addr_delete(sk, a, 0);
	rtnl_addr_put(a);
	/* already gone (EADDRNOTAVAIL): what we wanted */
	if (r < 0 && r != -NLE_NOADDR && r != -NLE_OBJ_NOTFOUND) {
		char b[64];
		return nl_error(err, r, "delete address %s from %s", net_prefix_format(p, true, b, sizeof(b)),
				ifname);
	}
	return 0;
}

int link_kind(struct nl_sock *sk, const char *name, char *kind, size_t len, struct hangar_error *err)
{
	bool exists;
	if (link_exists(sk, name, &exists, err) < 0)
		return -1;
	if (!exists) {
		kind[0] = '\0';
		return 0;
	}
	_cleanup_link_ struct rtnl_link *cur = NULL;
	if (get_link(sk, name, &cur, err) < 0)
		return -1;
	const char *type = rtnl_link_get_type(cur);
	/* plain devices (a physical NIC, lo) have no link kind */
	snprintf(kind, len, "%s", type ? type : "device");
	return 1;
}

int bridge_ensure(struct nl_sock *sk, const char *name, unsigned mtu, const struct net_prefix *addrs,
		  size_t n_addrs, struct hangar_error *err)
{
	bool exists;
	if (link_exists(sk, name, &exists, err) < 0)
		return -1;
	if (!exists) {
		_cleanup_link_ struct rtnl_link *br = rtnl_link_alloc();
		if (br == NULL)
			abort();
		rtnl_link_set_name(br, name);
		/* A bridge without a set address takes the lowest of its
		 * ports' addresses and changes it as instances come and go,
		 * which leaves stale neighbour entries in every instance.
		 * A fixed, locally administered address derived from the
		 * name keeps the gateway's MAC stable. */
		char h[IF_NAMESIZE];
		network_host_ifname(name, "bridge", h);
		unsigned char mac[6] = {0x02};
		for (int i = 1; i < 6; i++)
			sscanf(h + 2 + 2 * (i - 1), "%2hhx", &mac[i]);
		_cleanup_nladdr_ struct nl_addr *lladdr = nl_addr_build(AF_LLC, mac, sizeof(mac));
		if (lladdr == NULL)
			abort();
		rtnl_link_set_addr(br, lladdr);
		int r = rtnl_link_set_type(br, "bridge");
		if (r == 0)
			r = rtnl_link_add(sk, br, NLM_F_CREATE | NLM_F_EXCL);
		/* a concurrent attach may have won the race: fine */
		if (r < 0 && r != -NLE_EXIST)
			return nl_error(err, r, "create bridge %s", name);
	} else {
		_cleanup_link_ struct rtnl_link *cur = NULL;
		if (get_link(sk, name, &cur, err) < 0)
			return -1;
		const char *type = rtnl_link_get_type(cur);
		if (type == NULL || strcmp(type, "bridge") != 0)
			return hangar_error_set(err, HANGAR_E_EXISTS, 0,
						"bridge %s: a %s link of that name exists", name,
						type ? type : "non-bridge");
	}
	if (link_change(sk, name, mtu, false, err) < 0)
		return -1;
	int ifindex;
	if (link_ifindex(sk, name, &ifindex, err) < 0)
		return -1;
	for (size_t i = 0; i < n_addrs; i++)
		if (addr_add_index(sk, ifindex, name, &addrs[i], err) < 0)
			return -1;
	return link_set_up(sk, name, err);
}

int veth_create(struct nl_sock *sk, const char *host_name, const char *bridge, int nsfd,
		const char *peer_name, unsigned mtu, struct hangar_error *err)
{
	int bridge_index;
	if (link_ifindex(sk, bridge, &bridge_index, err) < 0)
		return -1;
	_cleanup_link_ struct rtnl_link *veth = rtnl_link_veth_alloc();
	if (veth == NULL)
		abort();
	rtnl_link_set_name(veth, host_name);
	rtnl_link_set_master(veth, bridge_index);
	rtnl_link_set_flags(veth, IFF_UP);
	if (mtu)
		rtnl_link_set_mtu(veth, mtu);
	struct rtnl_link *peer = rtnl_link_veth_get_peer(veth);
	rtnl_link_set_name(peer, peer_name);
	/* Creating the peer directly in the target namespace means the name
	 * is checked there, and no half-moved link is left in between. */
	rtnl_link_set_ns_fd(peer, nsfd);
	if (mtu)
		rtnl_link_set_mtu(peer, mtu);
	rtnl_link_put(peer);
	int r = rtnl_link_add(sk, veth, NLM_F_CREATE | NLM_F_EXCL);
	if (r < 0)
		return nl_error(err, r, "create veth pair %s/%s", host_name, peer_name);
	return 0;
}

int route_add_default(struct nl_sock *sk, const char *ifname, const struct net_prefix *gw, bool *existed,
		      struct hangar_error *err)
{
	int ifindex;
	if (link_ifindex(sk, ifname, &ifindex, err) < 0)
		return -1;
	struct rtnl_route *route = rtnl_route_alloc();
	if (route == NULL)
		abort();
	struct net_prefix any = {.family = gw->family, .prefixlen = 0};
	_cleanup_nladdr_ struct nl_addr *dst = prefix_to_nladdr(&any);
	struct net_prefix gwaddr = *gw;
	gwaddr.prefixlen = gw->family == AF_INET ? 32 : 128;
	struct nl_addr *via = prefix_to_nladdr(&gwaddr);
	rtnl_route_set_family(route, (uint8_t)gw->family);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_protocol(route, RTPROT_STATIC);
	rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
	rtnl_route_set_dst(route, dst);
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	if (nh == NULL)
		abort();
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_nh_set_gateway(nh, via);
	nl_addr_put(via);
	rtnl_route_add_nexthop(route, nh);
	int r = rtnl_route_add(sk, route, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_route_put(route);
	*existed = false;
	if (r == -NLE_EXIST) {
		*existed = true;
		return 0;
	}
	if (r < 0) {
		char b[64];
		return nl_error(err, r, "add default route via %s dev %s",
				net_prefix_format(gw, false, b, sizeof(b)), ifname);
	}
	return 0;
}

int link_free_ethname(struct nl_sock *sk, char out[IF_NAMESIZE], struct hangar_error *err)
{
	_cleanup_cache_ struct nl_cache *cache = NULL;
	int r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (r < 0)
		return nl_error(err, r, "list links");
	for (int i = 0; i < 1000; i++) {
		char name[IF_NAMESIZE];
		snprintf(name, sizeof(name), "eth%d", i);
		struct rtnl_link *l = rtnl_link_get_by_name(cache, name);
		if (l == NULL) {
			memcpy(out, name, IF_NAMESIZE);
			return 0;
		}
		rtnl_link_put(l);
	}
	return hangar_error_set(err, HANGAR_E_STATE, 0, "no free ethN interface name");
}

int bridge_list_ports(struct nl_sock *sk, const char *bridge, const char *prefix, char ***names,
		      struct hangar_error *err)
{
	int bridge_index;
	if (link_ifindex(sk, bridge, &bridge_index, err) < 0)
		return -1;
	_cleanup_cache_ struct nl_cache *cache = NULL;
	int r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (r < 0)
		return nl_error(err, r, "list links");
	size_t n = 0;
	char **v = xmalloc0(sizeof(char *));
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *name = rtnl_link_get_name(l);
		if (rtnl_link_get_master(l) != bridge_index || name == NULL || !str_has_prefix(name, prefix))
			continue;
		v = realloc(v, (n + 2) * sizeof(char *));
		if (v == NULL)
			abort();
		v[n++] = xstrdup(name);
		v[n] = NULL;
	}
	*names = v;
	return 0;
}

struct sysctl_in_netns {
	int nsfd;
	const char *path, *value;
	struct hangar_error *err;
	int result;
};

static void *sysctl_in_netns_thread(void *arg)
{
	struct sysctl_in_netns *s = arg;
	/* /proc/sys/net shows the namespace of the thread that opens it */
	if (setns(s->nsfd, CLONE_NEWNET) < 0)
		s->result = hangar_sys_error(s->err, "enter network namespace to set %s", s->path);
	else
		s->result = net_sysctl_write(s->path, s->value, s->err);
	return NULL;
}

int net_sysctl_write_in(int nsfd, const char *path, const char *value, struct hangar_error *err)
{
	struct sysctl_in_netns s = {.nsfd = nsfd, .path = path, .value = value, .err = err, .result = -1};
	pthread_t t;
	int r = pthread_create(&t, NULL, sysctl_in_netns_thread, &s);
	if (r != 0)
		return hangar_error_set(err, HANGAR_E_SYS, r, "start thread to enter network namespace");
	pthread_join(t, NULL);
	return s.result;
}

int net_sysctl_write(const char *path, const char *value, struct hangar_error *err)
{
	_cleanup_free_ char *full = xasprintf("/proc/sys/net/%s", path);
	_cleanup_free_ char *cur = NULL;
	/* skip the write when already set: /proc/sys may be read-only for us
	 * while holding the right value */
	if (read_file_at(AT_FDCWD, full, &cur, NULL, err) == 0 && strncmp(cur, value, strlen(value)) == 0 &&
	    (cur[strlen(value)] == '\n' || cur[strlen(value)] == '\0'))
		return 0;
	hangar_error_clear(err);
	return write_string_at(AT_FDCWD, full, value, err);
}
