/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Published ports against the host side's own sockets.  A DNAT rule in
 * prerouting wins over a local listener, so publishing a port that sshd,
 * a web server or anything else already listens on would silently take
 * that service over for every client but localhost.  Refuse instead, and
 * refuse a host IP that is no address of the host side (the rule could
 * never match).  The sockets are read from /proc/thread-self/net, which
 * shows the network namespace of the calling thread: the host side.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/internal.h"

#define TCP_LISTEN 0x0A
#define UDP_UNCONNECTED 0x07

/* An address as /proc/net/tcp{,6} prints it: the raw 32-bit words of the
 * address in hex, each in the kernel's byte order. */
static bool parse_proc_addr(const char *hex, size_t len, unsigned char *out)
{
	for (size_t w = 0; w < len / 8; w++) {
		char word[9];
		memcpy(word, hex + 8 * w, 8);
		word[8] = '\0';
		char *end;
		uint32_t v = (uint32_t)strtoul(word, &end, 16);
		if (*end != '\0')
			return false;
		memcpy(out + 4 * w, &v, 4);
	}
	return true;
}

struct listener {
	int family;
	unsigned char addr[16];
};

static bool is_any(const struct listener *l)
{
	static const unsigned char zero[16];
	return memcmp(l->addr, zero, l->family == AF_INET ? 4 : 16) == 0;
}

/* Does a publish on host_ip ("" = every address) meet a socket bound to l? */
static bool listener_matches(const struct listener *l, const char *host_ip)
{
	if (host_ip[0] == '\0' || is_any(l))
		return true;
	unsigned char want[16];
	if (inet_pton(AF_INET, host_ip, want) == 1) {
		if (l->family == AF_INET)
			return memcmp(l->addr, want, 4) == 0;
		/* an IPv4-mapped IPv6 socket address */
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		return memcmp(l->addr, mapped, 12) == 0 && memcmp(l->addr + 12, want, 4) == 0;
	}
	return l->family == AF_INET6 && inet_pton(AF_INET6, host_ip, want) == 1 &&
	       memcmp(l->addr, want, 16) == 0;
}

/* 1 and *found when a socket of the file listens on the port, else 0. */
static int scan_file(const char *path, int family, int state, const struct port_mapping *p,
		     struct listener *found, struct hangar_error *err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (f == NULL) {
		/* no IPv6 in this kernel: nothing listens there */
		if (errno == ENOENT)
			return 0;
		return hangar_sys_error(err, "open %s", path);
	}
	char line[512];
	size_t alen = family == AF_INET ? 8 : 32;
	if (fgets(line, sizeof(line), f) == NULL) /* header */
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char local[64];
		unsigned port, st;
		if (sscanf(line, " %*u: %63[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", local, &port, &st) != 3 ||
		    strlen(local) != alen || port != p->host_port || (int)st != state)
			continue;
		struct listener l = {.family = family};
		if (!parse_proc_addr(local, alen, l.addr) || !listener_matches(&l, p->host_ip))
			continue;
		*found = l;
		return 1;
	}
	return 0;
}

static int check_host_ip_local(const struct port_mapping *p, struct hangar_error *err)
{
	unsigned char want[16];
	int family = inet_pton(AF_INET, p->host_ip, want) == 1 ? AF_INET : AF_INET6;
	if (family == AF_INET6 && inet_pton(AF_INET6, p->host_ip, want) != 1)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "host IP '%s': not an IP address", p->host_ip);
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) < 0)
		return hangar_sys_error(err, "list the host's addresses");
	bool local = false;
	for (struct ifaddrs *i = ifs; i && !local; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != family)
			continue;
		const void *a = family == AF_INET ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
						  : (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		local = memcmp(a, want, family == AF_INET ? 4 : 16) == 0;
	}
	freeifaddrs(ifs);
	if (!local)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"port %s:%u: host IP %s is not an address of this host", p->host_ip,
					p->host_port, p->host_ip);
	return 0;
}

int host_check_port_listeners(const struct port_mapping *ports, size_t n, struct hangar_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct port_mapping *p = &ports[i];
		if (p->host_ip[0] && check_host_ip_local(p, err) < 0)
			return -1;
		bool udp = p->protocol == IPPROTO_UDP;
		const char *proto = udp ? "udp" : "tcp";
		int state = udp ? UDP_UNCONNECTED : TCP_LISTEN;
		struct listener l;
		for (int v6 = 0; v6 <= 1; v6++) {
			_cleanup_free_ char *path = xasprintf("/proc/thread-self/net/%s%s", proto, v6 ? "6" : "");
			int r = scan_file(path, v6 ? AF_INET6 : AF_INET, state, p, &l, err);
			if (r < 0)
				return -1;
			if (r == 0)
				continue;
			char a[INET6_ADDRSTRLEN];
			inet_ntop(l.family, l.addr, a, sizeof(a));
			return hangar_error_set(err, HANGAR_E_EXISTS, 0,
						"port %u/%s: a socket on this host already listens on it (%s%s%s:%u)",
						p->host_port, proto, v6 ? "[" : "", a, v6 ? "]" : "", p->host_port);
		}
	}
	return 0;
}
