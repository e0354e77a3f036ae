/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NAT through libnftables, all inside `table inet hangar`:
 *   net-NAME-TAG-post        postrouting masquerade for one network
 *   net-NAME-TAG-guard       drops packets from the bridge to 127.0.0.0/8
 *   hgXXXXXXXXXXXX-TAG-pre   prerouting DNAT for one instance's published ports
 *   hgXXXXXXXXXXXX-TAG-out   the same for connections made on the host itself
 * TAG (8 hex digits) names the store, so that the gc of one store (another
 * HANGAR_ROOT, a library caller with its own state directory) never takes
 * another store's chains for leftovers.
 * Every chain is a base chain of its own, so adding or removing one
 * instance is a single chain operation that cannot disturb another
 * instance's rules, and no rule handles need to be tracked.  Each batch of
 * commands is one transaction: it applies completely or not at all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/internal.h"

#define NFT_TABLE "inet hangar"

static void nft_ctx_freep(struct nft_ctx **c)
{
	if (*c)
		nft_ctx_free(*c);
}
#define _cleanup_nft_ __attribute__((cleanup(nft_ctx_freep)))

/* Run a batch; on failure copy nft's first error line into err. */
int nft_run(const char *what, const char *cmds, bool json_output, char **output, struct hangar_error *err)
{
	_cleanup_nft_ struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (ctx == NULL)
		return hangar_error_set(err, HANGAR_E_SYS, errno, "%s: create nftables context", what);
	if (json_output)
		nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	/* buffered output and errors: the library never prints */
	if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
		return hangar_error_set(err, HANGAR_E_SYS, errno, "%s: buffer nftables output", what);
	if (nft_run_cmd_from_buffer(ctx, cmds) != 0) {
		const char *e = nft_ctx_get_error_buffer(ctx);
		const char *nl = e ? strchr(e, '\n') : NULL;
		int len = nl ? (int)(nl - e) : (e ? (int)strlen(e) : 0);
		if (len == 0)
			return hangar_error_set(err, HANGAR_E_SYS, 0, "%s: nftables command failed", what);
		return hangar_error_set(err, HANGAR_E_SYS, 0, "%s: nftables: %.*s", what, len, e);
	}
	if (output)
		*output = xstrdup(nft_ctx_get_output_buffer(ctx));
	return 0;
}

struct cmdbuf {
	char *text;
	size_t len;
};

static void cmd_add(struct cmdbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cmd_add(struct cmdbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *line = NULL;
	if (vasprintf(&line, fmt, ap) < 0)
		abort();
	va_end(ap);
	size_t n = strlen(line);
	b->text = realloc(b->text, b->len + n + 2);
	if (b->text == NULL)
		abort();
	memcpy(b->text + b->len, line, n);
	b->len += n;
	b->text[b->len++] = '\n';
	b->text[b->len] = '\0';
	free(line);
}

char *nat_instance_prefix(const char *host_ifname, const char *tag)
{
	return xasprintf("%s-%s", host_ifname, tag);
}

int nat_setup_network(const struct network *net, const char *tag, struct hangar_error *err)
{
	struct cmdbuf b = {0};
	char s4[64], s6[64];
	_cleanup_free_ char *chain = xasprintf("%s-%s", net->name, tag);
	cmd_add(&b, "add table " NFT_TABLE);
	cmd_add(&b,
		"add chain " NFT_TABLE
		" net-%s-post { type nat hook postrouting priority srcnat; policy accept; }",
		chain);
	cmd_add(&b, "flush chain " NFT_TABLE " net-%s-post", chain);
	/* route_localnet=1 on the bridge (needed for ports published on
	 * 127.0.0.1) also lets an instance route 127.0.0.0/8 via the gateway
	 * and reach the host's loopback-only services (CVE-2020-8558 in
	 * kube-proxy).  Drop such packets in the raw stage, before any DNAT
	 * or conntrack: replies of the host's own connections to published
	 * ports come back to the gateway address, never to 127/8. */
	cmd_add(&b,
		"add chain " NFT_TABLE
		" net-%s-guard { type filter hook prerouting priority raw; policy accept; }",
		chain);
	cmd_add(&b, "flush chain " NFT_TABLE " net-%s-guard", chain);
	cmd_add(&b,
		"add rule " NFT_TABLE " net-%s-guard iifname \"%s\" ip daddr 127.0.0.0/8 drop "
		"comment \"hangar:%s no host loopback\"",
		chain, net->bridge, net->name);
	cmd_add(&b,
		"add rule " NFT_TABLE " net-%s-guard iifname \"%s\" ip6 daddr ::1 drop "
		"comment \"hangar:%s no host loopback\"",
		chain, net->bridge, net->name);
	if (net->has_subnet4) {
		net_prefix_format(&net->subnet4, true, s4, sizeof(s4));
		if (net->masquerade)
			cmd_add(&b,
				"add rule " NFT_TABLE " net-%s-post ip saddr %s ip daddr != %s masquerade "
				"comment \"hangar:%s outbound\"",
				chain, s4, s4, net->name);
		/* Published ports reached from the host's own 127.0.0.1: the
		 * reply must come back to a routable source. */
		cmd_add(&b,
			"add rule " NFT_TABLE " net-%s-post oifname \"%s\" ip saddr 127.0.0.0/8 masquerade "
			"comment \"hangar:%s localhost\"",
			chain, net->bridge, net->name);
		/* Hairpin: an instance reaching another one through a published
		 * host port must see replies from the host address too. */
		cmd_add(&b,
			"add rule " NFT_TABLE " net-%s-post oifname \"%s\" ip saddr %s ct status dnat "
			"masquerade comment \"hangar:%s hairpin\"",
			chain, net->bridge, s4, net->name);
	}
	if (net->has_subnet6) {
		net_prefix_format(&net->subnet6, true, s6, sizeof(s6));
		if (net->masquerade)
			cmd_add(&b,
				"add rule " NFT_TABLE " net-%s-post ip6 saddr %s ip6 daddr != %s masquerade "
				"comment \"hangar:%s outbound\"",
				chain, s6, s6, net->name);
		cmd_add(&b,
			"add rule " NFT_TABLE " net-%s-post oifname \"%s\" ip6 saddr %s ct status dnat "
			"masquerade comment \"hangar:%s hairpin\"",
			chain, net->bridge, s6, net->name);
	}
	_cleanup_free_ char *what = xasprintf("network '%s' NAT", net->name);
	int r = nft_run(what, b.text, false, NULL, err);
	free(b.text);
	return r;
}

/* Delete chains that may or may not exist, in one transaction.  Without
 * any of them there is nothing to do: in particular no table is made in a
 * namespace where hangar never published or masqueraded anything. */
static int delete_chains(const char *what, const char *const *chains, size_t n, struct hangar_error *err)
{
	char **have = NULL;
	if (nat_list_chains(&have, err) < 0)
		return -1;
	bool any = false;
	for (size_t i = 0; i < n && !any; i++)
		for (char **h = have; *h && !any; h++)
			any = strcmp(*h, chains[i]) == 0;
	strv_free(have);
	if (!any)
		return 0;
	struct cmdbuf b = {0};
	/* "add table" too: the table may have gone since it was listed. */
	cmd_add(&b, "add table " NFT_TABLE);
	for (size_t i = 0; i < n; i++) {
		/* "add" makes a missing chain exist so that delete cannot fail;
		 * an existing base chain is left as it is. */
		cmd_add(&b, "add chain " NFT_TABLE " %s", chains[i]);
		cmd_add(&b, "flush chain " NFT_TABLE " %s", chains[i]);
		cmd_add(&b, "delete chain " NFT_TABLE " %s", chains[i]);
	}
	int r = nft_run(what, b.text, false, NULL, err);
	free(b.text);
	return r;
}

int nat_remove_network(const char *network, const char *tag, struct hangar_error *err)
{
	_cleanup_free_ char *post = xasprintf("net-%s-%s-post", network, tag);
	_cleanup_free_ char *guard = xasprintf("net-%s-%s-guard", network, tag);
	_cleanup_free_ char *what = xasprintf("remove NAT of network '%s'", network);
	const char *chains[] = {post, guard};
	return delete_chains(what, chains, 2, err);
}

int nat_remove_instance(const char *chain_prefix, struct hangar_error *err)
{
	_cleanup_free_ char *pre = xasprintf("%s-pre", chain_prefix);
	_cleanup_free_ char *out = xasprintf("%s-out", chain_prefix);
	_cleanup_free_ char *what = xasprintf("remove published ports %s", chain_prefix);
	const char *chains[] = {pre, out};
	return delete_chains(what, chains, 2, err);
}

static void add_port_rules(struct cmdbuf *b, const char *chain, const struct network *net,
			   const struct lease *l, const struct port_mapping *p)
{
	const char *proto = p->protocol == IPPROTO_UDP ? "udp" : "tcp";
	char a4[64], a6[64];
	struct in6_addr v6;
	struct in_addr v4;
	bool host_v4 = p->host_ip[0] && inet_pton(AF_INET, p->host_ip, &v4) == 1;
	bool host_v6 = p->host_ip[0] && inet_pton(AF_INET6, p->host_ip, &v6) == 1;

	if (l->has_ipv4 && !host_v6) {
		_cleanup_free_ char *match = host_v4 ? xasprintf("ip daddr %s", p->host_ip)
						     : xstrdup("meta nfproto ipv4 fib daddr type local");
		cmd_add(b,
			"add rule " NFT_TABLE " %s %s %s dport %u dnat ip to %s:%u comment \"hangar:%s/%s\"",
			chain, match, proto, p->host_port, net_prefix_format(&l->ipv4, false, a4, sizeof(a4)),
			p->container_port, net->name, l->instance);
	}
	if (l->has_ipv6 && !host_v4) {
		_cleanup_free_ char *match = host_v6 ? xasprintf("ip6 daddr %s", p->host_ip)
						     : xstrdup("meta nfproto ipv6 fib daddr type local");
		cmd_add(b,
			"add rule " NFT_TABLE
			" %s %s %s dport %u dnat ip6 to [%s]:%u comment \"hangar:%s/%s\"",
			chain, match, proto, p->host_port, net_prefix_format(&l->ipv6, false, a6, sizeof(a6)),
			p->container_port, net->name, l->instance);
	}
}

int nat_add_instance_ports(const struct network *net, const char *chain_prefix, const struct lease *l,
			   struct hangar_error *err)
{
	if (l->n_ports == 0)
		return 0;
	struct cmdbuf b = {0};
	_cleanup_free_ char *pre = xasprintf("%s-pre", chain_prefix);
	_cleanup_free_ char *out = xasprintf("%s-out", chain_prefix);
	cmd_add(&b, "add table " NFT_TABLE);
	cmd_add(&b, "add chain " NFT_TABLE " %s { type nat hook prerouting priority dstnat; policy accept; }",
		pre);
	cmd_add(&b, "add chain " NFT_TABLE " %s { type nat hook output priority -100; policy accept; }", out);
	cmd_add(&b, "flush chain " NFT_TABLE " %s", pre);
	cmd_add(&b, "flush chain " NFT_TABLE " %s", out);
	for (size_t i = 0; i < l->n_ports; i++) {
		add_port_rules(&b, pre, net, l, &l->ports[i]);
		add_port_rules(&b, out, net, l, &l->ports[i]);
	}
	_cleanup_free_ char *what = xasprintf("publish ports of instance '%s'", l->instance);
	int r = nft_run(what, b.text, false, NULL, err);
	free(b.text);
	return r;
}

int nat_list_chains(char ***names, struct hangar_error *err)
{
	_cleanup_free_ char *out = NULL;
	struct hangar_error list_err = {0};
	size_t n = 0;
	char **v = xmalloc0(sizeof(char *));
	if (nft_run("list hangar chains", "list table " NFT_TABLE, true, &out, &list_err) < 0) {
		/* no table yet: nothing of ours exists */
		if (strstr(list_err.msg, "No such file or directory") == NULL) {
			free(v);
			*err = list_err;
			return -1;
		}
		*names = v;
		return 0;
	}
	struct json_object *root = json_tokener_parse(out), *arr;
	if (root == NULL || !json_object_object_get_ex(root, "nftables", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(root);
		free(v);
		return hangar_error_set(err, HANGAR_E_SYS, 0,
					"list hangar chains: unexpected nftables JSON output");
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *item = json_object_array_get_idx(arr, i), *chain, *name;
		if (!json_object_object_get_ex(item, "chain", &chain) ||
		    !json_object_object_get_ex(chain, "name", &name))
			continue;
		v = realloc(v, (n + 2) * sizeof(char *));
		if (v == NULL)
			abort();
		v[n++] = xstrdup(json_object_get_string(name));
		v[n] = NULL;
	}
	json_object_put(root);
	*names = v;
	return 0;
}

int port_mapping_parse(const char *spec, struct port_mapping *out, struct hangar_error *err)
{
	struct port_mapping p = {.protocol = IPPROTO_TCP};
	_cleanup_free_ char *s = xstrdup(spec ? spec : "");
	char *slash = strrchr(s, '/');
	if (slash) {
		*slash++ = '\0';
		if (strcmp(slash, "tcp") == 0)
			p.protocol = IPPROTO_TCP;
		else if (strcmp(slash, "udp") == 0)
			p.protocol = IPPROTO_UDP;
		else
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"port '%s': protocol must be tcp or udp", spec);
	}
	char *rest = s;
	if (*rest == '[') {
		char *close = strchr(rest, ']');
		if (close == NULL || close[1] != ':')
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"port '%s': unterminated [IPv6 address]", spec);
		*close = '\0';
		snprintf(p.host_ip, sizeof(p.host_ip), "%s", rest + 1);
		rest = close + 2;
	} else {
		char *first = strchr(rest, ':'), *last = strrchr(rest, ':');
		if (first && first != last) {
			*first = '\0';
			snprintf(p.host_ip, sizeof(p.host_ip), "%s", rest);
			rest = first + 1;
		}
	}
	if (p.host_ip[0]) {
		unsigned char buf[16];
		if (inet_pton(AF_INET, p.host_ip, buf) != 1 && inet_pton(AF_INET6, p.host_ip, buf) != 1)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"port '%s': '%s' is not an IP address", spec, p.host_ip);
	}
	char *colon = strchr(rest, ':');
	if (colon == NULL)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"port '%s': expected [HOSTIP:]HOSTPORT:PORT[/tcp|udp]", spec);
	*colon = '\0';
	const char *parts[2] = {rest, colon + 1};
	uint16_t *dst[2] = {&p.host_port, &p.container_port};
	for (int i = 0; i < 2; i++) {
		uint64_t v;
		if (parse_u64(parts[i], &v) < 0 || v == 0 || v > 65535)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"port '%s': '%s' is not a port number (1-65535)", spec,
						parts[i]);
		*dst[i] = (uint16_t)v;
	}
	*out = p;
	return 0;
}
