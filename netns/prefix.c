/* SPDX-License-Identifier: GPL-2.0-or-later */
/* CIDR parsing and the little address arithmetic IPAM needs. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/internal.h"

static size_t family_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

int net_prefix_parse(const char *text, struct net_prefix *out, struct hangar_error *err)
{
	if (text == NULL || *text == '\0')
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "invalid CIDR '': empty");
	_cleanup_free_ char *copy = xstrdup(text);
	char *slash = strchr(copy, '/');
	if (slash)
		*slash++ = '\0';

	struct net_prefix p = {0};
	if (inet_pton(AF_INET, copy, p.addr) == 1)
		p.family = AF_INET;
	else if (inet_pton(AF_INET6, copy, p.addr) == 1)
		p.family = AF_INET6;
	else
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"invalid CIDR '%s': '%s' is not an IP address", text, copy);

	unsigned max = (unsigned)family_len(p.family) * 8;
	p.prefixlen = max;
	if (slash) {
		char *end;
		errno = 0;
		long v = strtol(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || errno || v < 0 || v > (long)max)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"invalid CIDR '%s': prefix length must be 0-%u", text, max);
		p.prefixlen = (unsigned)v;
	}
	*out = p;
	return 0;
}

const char *net_prefix_format(const struct net_prefix *p, bool with_len, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	if (inet_ntop(p->family, p->addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	if (with_len)
		snprintf(buf, len, "%s/%u", a, p->prefixlen);
	else
		snprintf(buf, len, "%s", a);
	return buf;
}

static bool bits_equal(const unsigned char *a, const unsigned char *b, unsigned nbits)
{
	unsigned full = nbits / 8, rest = nbits % 8;
	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

bool net_prefix_contains(const struct net_prefix *net, const struct net_prefix *addr)
{
	return net->family == addr->family && bits_equal(net->addr, addr->addr, net->prefixlen);
}

bool net_prefix_overlaps(const struct net_prefix *a, const struct net_prefix *b)
{
	if (a->family != b->family)
		return false;
	unsigned shorter = a->prefixlen < b->prefixlen ? a->prefixlen : b->prefixlen;
	return bits_equal(a->addr, b->addr, shorter);
}

bool net_prefix_equal_addr(const struct net_prefix *a, const struct net_prefix *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, family_len(a->family)) == 0;
}

bool net_prefix_is_network(const struct net_prefix *p)
{
	size_t len = family_len(p->family);
	for (unsigned bit = p->prefixlen; bit < len * 8; bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

uint64_t net_prefix_host_count(const struct net_prefix *net)
{
	unsigned host_bits = (unsigned)family_len(net->family) * 8 - net->prefixlen;
	if (host_bits >= 20)
		return 1u << 20;
	uint64_t total = 1ull << host_bits;
	/* minus the network address, and the broadcast address for IPv4 */
	uint64_t reserved = net->family == AF_INET ? 2 : 1;
	return total > reserved ? total - reserved : 0;
}

int net_prefix_nth(const struct net_prefix *net, uint64_t index, struct net_prefix *out)
{
	unsigned host_bits = (unsigned)family_len(net->family) * 8 - net->prefixlen;
	if (host_bits < 64 && index >= (1ull << host_bits))
		return -1;
	struct net_prefix r = *net;
	size_t len = family_len(net->family);
	/* clear the host part, then add index from the last byte upwards */
	for (unsigned bit = net->prefixlen; bit < len * 8; bit++)
		r.addr[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
	uint64_t carry = index;
	for (size_t i = len; i-- > 0 && carry;) {
		uint64_t sum = r.addr[i] + (carry & 0xff);
		r.addr[i] = (unsigned char)sum;
		carry = (carry >> 8) + (sum >> 8);
	}
	*out = r;
	return 0;
}
