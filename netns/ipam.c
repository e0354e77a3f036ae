/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IPAM: leases of one network in STATE/NET/leases.json.  Callers hold the
 * state lock (network_state_lock) across load → change → save, so two
 * allocations never see the same free address.  The file is replaced
 * atomically, so a crash leaves either the old or the new table.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/internal.h"

void lease_clear(struct lease *l)
{
	free(l->ports);
	memset(l, 0, sizeof(*l));
}

void lease_table_clear(struct lease_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		lease_clear(&t->leases[i]);
	free(t->leases);
	t->leases = NULL;
	t->n = 0;
}

struct lease *lease_table_find(struct lease_table *t, const char *instance)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->leases[i].instance, instance) == 0)
			return &t->leases[i];
	return NULL;
}

void lease_table_remove(struct lease_table *t, struct lease *l)
{
	size_t i = (size_t)(l - t->leases);
	lease_clear(l);
	memmove(&t->leases[i], &t->leases[i + 1], (t->n - i - 1) * sizeof(*l));
	t->n--;
}

bool process_alive(pid_t pid, unsigned long long start_time)
{
	if (pid <= 0)
		return false;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return false;
	/* pids are reused: the start time tells the original from a newcomer */
	unsigned long long now = proc_start_time(pid);
	return now != 0 && (start_time == 0 || now == start_time);
}

static const char *proto_name(int proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

static struct json_object *lease_to_json(const struct lease *l)
{
	char buf[INET6_ADDRSTRLEN + 8];
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "instance", json_object_new_string(l->instance));
	json_object_object_add(o, "ifname", json_object_new_string(l->ifname));
	json_object_object_add(o, "host_ifname", json_object_new_string(l->host_ifname));
	json_object_object_add(o, "state",
			       json_object_new_string(l->state == LEASE_BOUND ? "bound" : "pending"));
	if (l->has_ipv4)
		json_object_object_add(
		    o, "ipv4", json_object_new_string(net_prefix_format(&l->ipv4, true, buf, sizeof(buf))));
	if (l->has_ipv6)
		json_object_object_add(
		    o, "ipv6", json_object_new_string(net_prefix_format(&l->ipv6, true, buf, sizeof(buf))));
	json_object_object_add(o, "allocator_pid", json_object_new_int64(l->allocator_pid));
	json_object_object_add(o, "allocator_start", json_object_new_uint64(l->allocator_start));
	json_object_object_add(o, "owner_pid", json_object_new_int64(l->owner_pid));
	json_object_object_add(o, "owner_start", json_object_new_uint64(l->owner_start));
	json_object_object_add(o, "netns_dev", json_object_new_uint64(l->netns_dev));
	json_object_object_add(o, "netns_ino", json_object_new_uint64(l->netns_ino));
	json_object_object_add(o, "host_netns_dev", json_object_new_uint64(l->host_netns_dev));
	json_object_object_add(o, "host_netns_ino", json_object_new_uint64(l->host_netns_ino));
	struct json_object *ports = json_object_new_array();
	for (size_t i = 0; i < l->n_ports; i++) {
		const struct port_mapping *p = &l->ports[i];
		struct json_object *po = json_object_new_object();
		json_object_object_add(po, "host_ip", json_object_new_string(p->host_ip));
		json_object_object_add(po, "host_port", json_object_new_int(p->host_port));
		json_object_object_add(po, "port", json_object_new_int(p->container_port));
		json_object_object_add(po, "protocol", json_object_new_string(proto_name(p->protocol)));
		json_object_array_add(ports, po);
	}
	json_object_object_add(o, "ports", ports);
	return o;
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

static uint64_t get_u64(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_uint64(v);
}

static int lease_from_json(struct json_object *o, struct lease *l, struct hangar_error *err)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->instance, sizeof(l->instance), "%s", get_str(o, "instance"));
	snprintf(l->ifname, sizeof(l->ifname), "%s", get_str(o, "ifname"));
	snprintf(l->host_ifname, sizeof(l->host_ifname), "%s", get_str(o, "host_ifname"));
	if (l->instance[0] == '\0')
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "lease without instance name");
	l->state = strcmp(get_str(o, "state"), "bound") == 0 ? LEASE_BOUND : LEASE_PENDING;
	const char *v4 = get_str(o, "ipv4"), *v6 = get_str(o, "ipv6");
	if (*v4) {
		if (net_prefix_parse(v4, &l->ipv4, err) < 0)
			return -1;
		l->has_ipv4 = true;
	}
	if (*v6) {
		if (net_prefix_parse(v6, &l->ipv6, err) < 0)
			return -1;
		l->has_ipv6 = true;
	}
	l->allocator_pid = (pid_t)get_u64(o, "allocator_pid");
	l->allocator_start = get_u64(o, "allocator_start");
	l->owner_pid = (pid_t)get_u64(o, "owner_pid");
	l->owner_start = get_u64(o, "owner_start");
	l->netns_dev = get_u64(o, "netns_dev");
	l->netns_ino = get_u64(o, "netns_ino");
	l->host_netns_dev = get_u64(o, "host_netns_dev");
	l->host_netns_ino = get_u64(o, "host_netns_ino");
	struct json_object *ports;
	if (json_object_object_get_ex(o, "ports", &ports) && json_object_is_type(ports, json_type_array)) {
		size_t n = json_object_array_length(ports);
		l->ports = xmalloc0((n ? n : 1) * sizeof(*l->ports));
		for (size_t i = 0; i < n; i++) {
			struct json_object *po = json_object_array_get_idx(ports, i);
			struct port_mapping *p = &l->ports[l->n_ports++];
			snprintf(p->host_ip, sizeof(p->host_ip), "%s", get_str(po, "host_ip"));
			p->host_port = (uint16_t)get_u64(po, "host_port");
			p->container_port = (uint16_t)get_u64(po, "port");
			p->protocol = strcmp(get_str(po, "protocol"), "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
		}
	}
	return 0;
}

int lease_table_load(const char *state_dir, const char *network, struct lease_table *t,
		     struct hangar_error *err)
{
	memset(t, 0, sizeof(*t));
	_cleanup_free_ char *path = xasprintf("%s/%s/leases.json", state_dir, network);
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, path, &text, NULL, err) < 0) {
		if (err->err_no == ENOENT) {
			hangar_error_clear(err);
			return 0;
		}
		return -1;
	}
	struct json_object *o = json_tokener_parse(text);
	struct json_object *arr;
	if (o == NULL || !json_object_object_get_ex(o, "leases", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(o);
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s: not a lease table", path);
	}
	size_t n = json_object_array_length(arr);
	t->leases = xmalloc0((n ? n : 1) * sizeof(struct lease));
	for (size_t i = 0; i < n; i++) {
		if (lease_from_json(json_object_array_get_idx(arr, i), &t->leases[t->n], err) < 0) {
			json_object_put(o);
			lease_table_clear(t);
			return hangar_error_prefix(err, "%s", path);
		}
		t->n++;
	}
	json_object_put(o);
	return 0;
}

int lease_table_save(const char *state_dir, const char *network, const struct lease_table *t,
		     struct hangar_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s/leases.json", state_dir, network);
	struct json_object *o = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < t->n; i++)
		json_object_array_add(arr, lease_to_json(&t->leases[i]));
	json_object_object_add(o, "leases", arr);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	int r = write_file_atomic(path, text, strlen(text), 0600, err);
	json_object_put(o);
	return r;
}

static bool address_taken(const struct lease_table *t, const struct net_prefix *addr)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct lease *l = &t->leases[i];
		if ((l->has_ipv4 && net_prefix_equal_addr(&l->ipv4, addr)) ||
		    (l->has_ipv6 && net_prefix_equal_addr(&l->ipv6, addr)))
			return true;
	}
	return false;
}

static int pick_free(const struct net_prefix *subnet, const struct net_prefix *gateway,
		     const struct lease_table *t, struct net_prefix *out)
{
	uint64_t count = net_prefix_host_count(subnet);
	for (uint64_t i = 1; i <= count; i++) {
		struct net_prefix cand;
		if (net_prefix_nth(subnet, i, &cand) < 0)
			break;
		if (net_prefix_equal_addr(&cand, gateway) || address_taken(t, &cand))
			continue;
		cand.prefixlen = subnet->prefixlen;
		*out = cand;
		return 0;
	}
	return -1;
}

/* A requested static address: inside the subnet, not the network,
 * broadcast or gateway address, and not leased to anyone else. */
static int take_requested(const struct network *net, const struct net_prefix *subnet,
			  const struct net_prefix *gateway, const struct lease_table *t, const char *text,
			  struct net_prefix *out, struct hangar_error *err)
{
	struct net_prefix want;
	char b[64];
	if (net_prefix_parse(text, &want, err) < 0)
		return -1;
	if (strchr(text, '/'))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"address '%s': give the address without a prefix length", text);
	want.prefixlen = subnet->prefixlen;
	struct net_prefix netaddr, bcast;
	net_prefix_nth(subnet, 0, &netaddr);
	bool is_bcast = subnet->family == AF_INET &&
			net_prefix_nth(subnet, (1ull << (32 - subnet->prefixlen)) - 1, &bcast) == 0 &&
			net_prefix_equal_addr(&want, &bcast);
	if (!net_prefix_contains(subnet, &want) || net_prefix_equal_addr(&want, &netaddr) || is_bcast ||
	    net_prefix_equal_addr(&want, gateway))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"address %s: not an instance address of network '%s' (subnet %s)",
					text, net->name, net_prefix_format(subnet, true, b, sizeof(b)));
	for (size_t i = 0; i < t->n; i++) {
		const struct lease *l = &t->leases[i];
		if ((l->has_ipv4 && net_prefix_equal_addr(&l->ipv4, &want)) ||
		    (l->has_ipv6 && net_prefix_equal_addr(&l->ipv6, &want)))
			return hangar_error_set(err, HANGAR_E_EXISTS, 0,
						"address %s: already leased to instance '%s' on network '%s'",
						text, l->instance, net->name);
	}
	*out = want;
	return 0;
}

int ipam_allocate(const struct network *net, struct lease_table *t, const char *instance, const char *want4,
		  const char *want6, struct lease **out, struct hangar_error *err)
{
	struct lease l = {0};
	char b[64];
	if ((want4 && !net->has_subnet4) || (want6 && !net->has_subnet6))
		return hangar_error_set(
		    err, HANGAR_E_CONFIG, 0, "network '%s': has no IPv%c subnet for address %s", net->name,
		    want4 && !net->has_subnet4 ? '4' : '6', want4 && !net->has_subnet4 ? want4 : want6);
	if (net->has_subnet4) {
		if (want4) {
			if (take_requested(net, &net->subnet4, &net->gateway4, t, want4, &l.ipv4, err) < 0)
				return -1;
		} else if (pick_free(&net->subnet4, &net->gateway4, t, &l.ipv4) < 0) {
			return hangar_error_set(err, HANGAR_E_STATE, 0,
						"network '%s': subnet %s is exhausted", net->name,
						net_prefix_format(&net->subnet4, true, b, sizeof(b)));
		}
		l.has_ipv4 = true;
	}
	if (net->has_subnet6) {
		if (want6) {
			if (take_requested(net, &net->subnet6, &net->gateway6, t, want6, &l.ipv6, err) < 0)
				return -1;
		} else if (pick_free(&net->subnet6, &net->gateway6, t, &l.ipv6) < 0) {
			return hangar_error_set(err, HANGAR_E_STATE, 0,
						"network '%s': subnet %s is exhausted", net->name,
						net_prefix_format(&net->subnet6, true, b, sizeof(b)));
		}
		l.has_ipv6 = true;
	}
	snprintf(l.instance, sizeof(l.instance), "%s", instance);
	network_host_ifname(net->name, instance, l.host_ifname);
	l.state = LEASE_PENDING;
	l.allocator_pid = getpid();
	l.allocator_start = proc_start_time(l.allocator_pid);

	struct lease *grown = realloc(t->leases, (t->n + 1) * sizeof(*grown));
	if (grown == NULL)
		abort();
	t->leases = grown;
	t->leases[t->n] = l;
	*out = &t->leases[t->n++];
	return 0;
}
