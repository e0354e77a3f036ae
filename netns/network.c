/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Network definitions: validation, persistence, the state lock. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/internal.h"

static void json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ __attribute__((cleanup(json_putp)))

int network_state_lock(const char *state_dir, struct hangar_error *err)
{
	if (mkdir_p(state_dir, 0700, err) < 0)
		return -1;
	_cleanup_free_ char *path = xasprintf("%s/.lock", state_dir);
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return hangar_sys_error(err, "open network state lock %s", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return hangar_sys_error(err, "lock %s", path);
	}
	return steal_fd(&fd);
}

int network_validate_name(const char *name, struct hangar_error *err)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len > NETWORK_NAME_MAX)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "network name '%s': must be 1-%d characters",
					name ? name : "", NETWORK_NAME_MAX);
	/* The name becomes part of nftables chain names and file names. */
	if (!isalpha((unsigned char)name[0]))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"network name '%s': must start with a letter", name);
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
			return hangar_error_set(
			    err, HANGAR_E_CONFIG, 0,
			    "network name '%s': only letters, digits, '_' and '-' allowed", name);
	return 0;
}

int network_validate_instance_name(const char *name, struct hangar_error *err)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len > 64)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"instance name '%s': must be 1-64 characters", name ? name : "");
	if (!isalnum((unsigned char)name[0]))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"instance name '%s': must start with a letter or digit", name);
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
			return hangar_error_set(
			    err, HANGAR_E_CONFIG, 0,
			    "instance name '%s': only letters, digits, '_', '-' and '.' allowed", name);
	return 0;
}

static uint64_t fnv1a64(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void network_host_ifname(const char *network, const char *instance, char out[IF_NAMESIZE])
{
	uint64_t h = 0xcbf29ce484222325ull;
	h = fnv1a64(h, network, strlen(network) + 1);
	h = fnv1a64(h, instance, strlen(instance));
	snprintf(out, IF_NAMESIZE, "hg%012llx", (unsigned long long)(h & 0xffffffffffffull));
}

void network_store_tag(const char *state_dir, char out[9])
{
	/* the same store reached through another path is the same store */
	_cleanup_free_ char *real = realpath(state_dir, NULL);
	const char *s = real ? real : state_dir;
	uint64_t h = fnv1a64(0xcbf29ce484222325ull, s, strlen(s));
	snprintf(out, 9, "%08llx", (unsigned long long)(h & 0xffffffffull));
}

int network_host_netns(uint64_t *dev, uint64_t *ino, struct hangar_error *err)
{
	struct stat st;
	if (stat("/proc/thread-self/ns/net", &st) < 0)
		return hangar_sys_error(err, "stat /proc/thread-self/ns/net");
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

void network_free(struct network *net)
{
	if (net == NULL)
		return;
	free(net->name);
	free(net->bridge);
	strv_free(net->dns);
	free(net);
}

static struct network *builtin_network(const char *name)
{
	struct network *net = xmalloc0(sizeof(*net));
	net->name = xstrdup(name);
	net->mode = strcmp(name, "none") == 0 ? NETWORK_MODE_NONE : NETWORK_MODE_HOST;
	return net;
}

static bool is_builtin(const char *name)
{
	return strcmp(name, "none") == 0 || strcmp(name, "host") == 0;
}

static struct json_object *network_to_json(const struct network *net)
{
	char buf[INET6_ADDRSTRLEN + 8];
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(net->name));
	json_object_object_add(o, "mode", json_object_new_string("bridge"));
	json_object_object_add(o, "bridge", json_object_new_string(net->bridge));
	json_object_object_add(o, "bridge_preexisting", json_object_new_boolean(net->bridge_preexisting));
	if (net->has_subnet4) {
		json_object_object_add(
		    o, "subnet4",
		    json_object_new_string(net_prefix_format(&net->subnet4, true, buf, sizeof(buf))));
		json_object_object_add(
		    o, "gateway4",
		    json_object_new_string(net_prefix_format(&net->gateway4, false, buf, sizeof(buf))));
	}
	if (net->has_subnet6) {
		json_object_object_add(
		    o, "subnet6",
		    json_object_new_string(net_prefix_format(&net->subnet6, true, buf, sizeof(buf))));
		json_object_object_add(
		    o, "gateway6",
		    json_object_new_string(net_prefix_format(&net->gateway6, false, buf, sizeof(buf))));
	}
	json_object_object_add(o, "mtu", json_object_new_int64(net->mtu));
	json_object_object_add(o, "masquerade", json_object_new_boolean(net->masquerade));
	struct json_object *dns = json_object_new_array();
	for (char **d = net->dns; d && *d; d++)
		json_object_array_add(dns, json_object_new_string(*d));
	json_object_object_add(o, "dns", dns);
	return o;
}

static const char *json_get_string(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int network_from_json(struct json_object *o, const char *path, struct network **out,
			     struct hangar_error *err)
{
	struct network *net = xmalloc0(sizeof(*net));
	net->mode = NETWORK_MODE_BRIDGE;
	const char *name = json_get_string(o, "name"), *bridge = json_get_string(o, "bridge");
	if (name == NULL || bridge == NULL) {
		network_free(net);
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s: missing name or bridge", path);
	}
	net->name = xstrdup(name);
	net->bridge = xstrdup(bridge);
	static const struct {
		const char *subnet, *gateway;
		size_t has_off, subnet_off, gw_off;
	} fams[] = {
	    {"subnet4", "gateway4", offsetof(struct network, has_subnet4), offsetof(struct network, subnet4),
	     offsetof(struct network, gateway4)},
	    {"subnet6", "gateway6", offsetof(struct network, has_subnet6), offsetof(struct network, subnet6),
	     offsetof(struct network, gateway6)},
	};
	for (size_t i = 0; i < ARRAY_SIZE(fams); i++) {
		const char *s = json_get_string(o, fams[i].subnet), *g = json_get_string(o, fams[i].gateway);
		if (s == NULL)
			continue;
		struct net_prefix *subnet = (struct net_prefix *)((char *)net + fams[i].subnet_off);
		struct net_prefix *gw = (struct net_prefix *)((char *)net + fams[i].gw_off);
		if (g == NULL || net_prefix_parse(s, subnet, err) < 0 || net_prefix_parse(g, gw, err) < 0) {
			if (g == NULL)
				hangar_error_set(err, HANGAR_E_CONFIG, 0, "missing %s", fams[i].gateway);
			network_free(net);
			return hangar_error_prefix(err, "%s", path);
		}
		gw->prefixlen = subnet->prefixlen;
		*(bool *)((char *)net + fams[i].has_off) = true;
	}
	struct json_object *v;
	if (json_object_object_get_ex(o, "mtu", &v))
		net->mtu = (unsigned)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "masquerade", &v))
		net->masquerade = json_object_get_boolean(v);
	/* missing in files of older versions, which always made the bridge */
	if (json_object_object_get_ex(o, "bridge_preexisting", &v))
		net->bridge_preexisting = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "dns", &v) && json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		net->dns = xmalloc0((n + 1) * sizeof(char *));
		for (size_t i = 0, j = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);
			if (json_object_is_type(e, json_type_string))
				net->dns[j++] = xstrdup(json_object_get_string(e));
		}
	}
	*out = net;
	return 0;
}

int network_load_locked(const char *state_dir, const char *name, struct network **out,
			struct hangar_error *err)
{
	if (is_builtin(name)) {
		*out = builtin_network(name);
		return 0;
	}
	if (network_validate_name(name, err) < 0)
		return -1;
	_cleanup_free_ char *path = xasprintf("%s/%s/network.json", state_dir, name);
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, path, &text, NULL, err) < 0) {
		if (err->err_no == ENOENT)
			return hangar_error_set(err, HANGAR_E_NOTFOUND, 0, "network '%s': not found", name);
		return -1;
	}
	_cleanup_json_ struct json_object *o = json_tokener_parse(text);
	if (o == NULL || !json_object_is_type(o, json_type_object))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s: not a JSON object", path);
	return network_from_json(o, path, out, err);
}

int network_load(const char *state_dir, const char *name, struct network **out, struct hangar_error *err)
{
	_cleanup_close_ int lock = -1;
	if (!is_builtin(name)) {
		lock = network_state_lock(state_dir, err);
		if (lock < 0)
			return -1;
	}
	return network_load_locked(state_dir, name, out, err);
}

int network_list_locked(const char *state_dir, char ***names, struct hangar_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(state_dir);
	size_t n = 0;
	char **v = xmalloc0(sizeof(char *));
	if (d == NULL) {
		if (errno == ENOENT) {
			*names = v;
			return 0;
		}
		free(v);
		return hangar_sys_error(err, "open network state directory %s", state_dir);
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *cfg = xasprintf("%s/%s/network.json", state_dir, de->d_name);
		if (access(cfg, F_OK) != 0)
			continue;
		v = realloc(v, (n + 2) * sizeof(char *));
		if (v == NULL)
			abort();
		v[n++] = xstrdup(de->d_name);
		v[n] = NULL;
	}
	*names = v;
	return 0;
}

int network_list(const char *state_dir, char ***names, struct hangar_error *err)
{
	_cleanup_close_ int lock = network_state_lock(state_dir, err);
	if (lock < 0)
		return -1;
	return network_list_locked(state_dir, names, err);
}

static int parse_subnet(const char *text, int family, unsigned max_prefix, struct net_prefix *out,
			struct hangar_error *err)
{
	if (net_prefix_parse(text, out, err) < 0)
		return -1;
	if (out->family != family)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "invalid CIDR '%s': expected an %s subnet",
					text, family == AF_INET ? "IPv4" : "IPv6");
	if (strchr(text, '/') == NULL)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "invalid CIDR '%s': missing /prefix length",
					text);
	if (out->prefixlen > max_prefix)
		return hangar_error_set(
		    err, HANGAR_E_CONFIG, 0,
		    "subnet %s: prefix too small (/%u leaves no room for instances; use /%u or shorter)",
		    text, out->prefixlen, max_prefix);
	if (!net_prefix_is_network(out))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "invalid CIDR '%s': host bits are set",
					text);
	return 0;
}

static int pick_gateway(const struct net_prefix *subnet, const char *text, struct net_prefix *gw,
			struct hangar_error *err)
{
	if (text == NULL) {
		net_prefix_nth(subnet, 1, gw);
	} else {
		if (net_prefix_parse(text, gw, err) < 0)
			return -1;
		struct net_prefix bcast;
		uint64_t last = subnet->family == AF_INET ? (1ull << (32 - subnet->prefixlen)) - 1 : 0;
		bool is_bcast =
		    last && net_prefix_nth(subnet, last, &bcast) == 0 && net_prefix_equal_addr(gw, &bcast);
		struct net_prefix netaddr;
		net_prefix_nth(subnet, 0, &netaddr);
		if (!net_prefix_contains(subnet, gw) || net_prefix_equal_addr(gw, &netaddr) || is_bcast) {
			char b[INET6_ADDRSTRLEN + 8];
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"gateway %s: not a host address of subnet %s", text,
						net_prefix_format(subnet, true, b, sizeof(b)));
		}
	}
	gw->prefixlen = subnet->prefixlen;
	return 0;
}

static int check_overlap(const char *state_dir, const struct network *net, struct hangar_error *err)
{
	char **names = NULL;
	if (network_list_locked(state_dir, &names, err) < 0)
		return -1;
	int r = 0;
	for (char **n = names; *n && r == 0; n++) {
		struct network *other = NULL;
		struct hangar_error ignored = {0};
		/* a broken neighbour must not block creating new networks */
		if (network_load_locked(state_dir, *n, &other, &ignored) < 0)
			continue;
		char a[64], b[64];
		if (strcmp(other->name, net->name) == 0)
			r = hangar_error_set(err, HANGAR_E_EXISTS, 0, "network '%s': already exists",
					     net->name);
		else if (strcmp(other->bridge, net->bridge) == 0)
			r = hangar_error_set(err, HANGAR_E_EXISTS, 0,
					     "network '%s': bridge %s is used by network '%s'", net->name,
					     net->bridge, other->name);
		else if (net->has_subnet4 && other->has_subnet4 &&
			 net_prefix_overlaps(&net->subnet4, &other->subnet4))
			r = hangar_error_set(
			    err, HANGAR_E_CONFIG, 0, "subnet %s overlaps subnet %s of network '%s'",
			    net_prefix_format(&net->subnet4, true, a, sizeof(a)),
			    net_prefix_format(&other->subnet4, true, b, sizeof(b)), other->name);
		else if (net->has_subnet6 && other->has_subnet6 &&
			 net_prefix_overlaps(&net->subnet6, &other->subnet6))
			r = hangar_error_set(
			    err, HANGAR_E_CONFIG, 0, "subnet %s overlaps subnet %s of network '%s'",
			    net_prefix_format(&net->subnet6, true, a, sizeof(a)),
			    net_prefix_format(&other->subnet6, true, b, sizeof(b)), other->name);
		network_free(other);
	}
	strv_free(names);
	return r;
}

static int validate_ifname(const char *name, struct hangar_error *err)
{
	size_t len = strlen(name);
	if (len == 0 || len >= IF_NAMESIZE)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "bridge name '%s': must be 1-%d characters",
					name, IF_NAMESIZE - 1);
	for (const char *c = name; *c; c++)
		if (*c == '/' || *c == ':' || isspace((unsigned char)*c))
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"bridge name '%s': invalid character", name);
	return 0;
}

static int network_build(const char *name, const struct network_options *opts, struct network **out,
			 struct hangar_error *err)
{
	static const struct network_options no_opts = {0};
	if (opts == NULL)
		opts = &no_opts;
	if (network_validate_name(name, err) < 0)
		return -1;
	if (is_builtin(name))
		return hangar_error_set(err, HANGAR_E_EXISTS, 0, "network '%s': built-in name", name);
	if (opts->no_ipv4 && opts->no_ipv6)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "network '%s': needs IPv4 or IPv6", name);

	struct network *net = xmalloc0(sizeof(*net));
	net->name = xstrdup(name);
	net->mode = NETWORK_MODE_BRIDGE;
	net->mtu = opts->mtu;
	net->masquerade = !opts->no_masquerade;
	net->dns = opts->dns ? strv_dup(opts->dns) : NULL;
	if (opts->bridge) {
		net->bridge = xstrdup(opts->bridge);
	} else if (strlen(name) < IF_NAMESIZE) {
		net->bridge = xstrdup(name);
	} else {
		char h[IF_NAMESIZE];
		network_host_ifname(name, "", h);
		net->bridge = xasprintf("hgbr%.10s", h + 2);
	}
	int r = validate_ifname(net->bridge, err);
	if (r == 0 && !opts->no_ipv4) {
		net->has_subnet4 = true;
		r = parse_subnet(opts->subnet4 ? opts->subnet4 : NETWORK_DEFAULT_SUBNET4, AF_INET, 30,
				 &net->subnet4, err);
		if (r == 0)
			r = pick_gateway(&net->subnet4, opts->gateway4, &net->gateway4, err);
	}
	if (r == 0 && !opts->no_ipv6) {
		net->has_subnet6 = true;
		r = parse_subnet(opts->subnet6 ? opts->subnet6 : NETWORK_DEFAULT_SUBNET6, AF_INET6, 126,
				 &net->subnet6, err);
		if (r == 0)
			r = pick_gateway(&net->subnet6, opts->gateway6, &net->gateway6, err);
	}
	if (r == 0 && opts->mtu && (opts->mtu < 1280 || opts->mtu > 65535))
		r = hangar_error_set(err, HANGAR_E_CONFIG, 0, "network '%s': mtu %u out of range 1280-65535",
				     name, opts->mtu);
	for (char *const *d = opts->dns; r == 0 && d && *d; d++) {
		struct net_prefix p;
		if (net_prefix_parse(*d, &p, err) < 0 || strchr(*d, '/'))
			r = hangar_error_set(err, HANGAR_E_CONFIG, 0, "dns server '%s': not an IP address",
					     *d);
	}
	if (r < 0) {
		network_free(net);
		return -1;
	}
	*out = net;
	return 0;
}

/* Under the state lock: write STATE/NAME/network.json. */
static int network_store_locked(const char *state_dir, const struct network *net, struct hangar_error *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", state_dir, net->name);
	_cleanup_free_ char *path = xasprintf("%s/network.json", dir);
	struct json_object *o = network_to_json(net);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	int r = mkdir_p(dir, 0700, err);
	if (r == 0)
		r = write_file_atomic(path, text, strlen(text), 0600, err);
	json_object_put(o);
	if (r < 0)
		rmdir(dir);
	return r;
}

/* Under the state lock: is the candidate subnet free of other hangar
 * networks and of the host's routes and addresses?  1 = free, 0 = taken
 * (why in *why), -1 = error. */
static int pool_subnet_free(const char *state_dir, struct nl_sock *sk, const struct network *net,
			    const struct net_prefix *cand, struct hangar_error *why, struct hangar_error *err)
{
	struct network probe = {.name = net->name, .mode = NETWORK_MODE_BRIDGE, .bridge = net->bridge};
	struct net_prefix gw;
	net_prefix_nth(cand, 1, &gw);
	gw.prefixlen = cand->prefixlen;
	if (cand->family == AF_INET) {
		probe.has_subnet4 = true;
		probe.subnet4 = *cand;
	} else {
		probe.has_subnet6 = true;
		probe.subnet6 = *cand;
	}
	struct hangar_error e = {0};
	if (check_overlap(state_dir, &probe, &e) < 0 ||
	    host_check_subnet(sk, cand, net->bridge, net->bridge_preexisting ? &gw : NULL, &e) < 0) {
		if (e.code != HANGAR_E_CONFIG) {
			*err = e;
			return -1;
		}
		if (why->msg[0] == '\0')
			*why = e;
		return 0;
	}
	return 1;
}

/* The first free subnet of the default pool: 10.213.N.0/24 or
 * fd68:616e:6761:N::/64 for N = 0..255 (N = 0 is the classic default). */
static int pick_default_subnet(const char *state_dir, struct nl_sock *sk, const struct network *net,
			       int family, char *buf, size_t len, struct hangar_error *err)
{
	struct hangar_error why = {0};
	for (unsigned n = 0; n < NETWORK_DEFAULT_POOL_SIZE; n++) {
		if (family == AF_INET)
			snprintf(buf, len, NETWORK_DEFAULT_POOL4_FMT, n);
		else
			snprintf(buf, len, NETWORK_DEFAULT_POOL6_FMT, n);
		struct net_prefix cand;
		if (net_prefix_parse(buf, &cand, err) < 0)
			return -1;
		int r = pool_subnet_free(state_dir, sk, net, &cand, &why, err);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	return hangar_error_set(err, HANGAR_E_CONFIG, 0,
				"network '%s': no free subnet in the default pool %s (first refusal: %s)",
				net->name, family == AF_INET ? NETWORK_DEFAULT_POOL4 : NETWORK_DEFAULT_POOL6,
				why.msg);
}

/* A bridge name that is taken by a link of another kind (a NIC, a veth of
 * an instance, wg0) is refused: enslaving veths to it cannot work, and
 * network_remove would delete it.  An existing bridge is recorded as the
 * admin's. */
static int bridge_probe(struct nl_sock *sk, struct network *net, struct hangar_error *err)
{
	char kind[32];
	int r = link_kind(sk, net->bridge, kind, sizeof(kind), err);
	if (r < 0)
		return -1;
	if (r > 0 && strcmp(kind, "bridge") != 0)
		return hangar_error_set(
		    err, HANGAR_E_CONFIG, 0,
		    "network '%s': bridge %s: an existing %s link of that name is not a bridge", net->name,
		    net->bridge, kind);
	net->bridge_preexisting = r > 0;
	return 0;
}

/* A subnet the caller did not give comes from the default pool, like the
 * default network's, so that a second network does not collide with
 * hangar0 by default. */
static int pick_subnets_locked(const char *state_dir, struct nl_sock *sk, struct network *net,
			       const struct network_options *opts, struct hangar_error *err)
{
	char buf[64];
	if (net->has_subnet4 && opts->subnet4 == NULL) {
		if (pick_default_subnet(state_dir, sk, net, AF_INET, buf, sizeof(buf), err) < 0 ||
		    parse_subnet(buf, AF_INET, 30, &net->subnet4, err) < 0 ||
		    pick_gateway(&net->subnet4, opts->gateway4, &net->gateway4, err) < 0)
			return -1;
	}
	if (net->has_subnet6 && opts->subnet6 == NULL) {
		if (pick_default_subnet(state_dir, sk, net, AF_INET6, buf, sizeof(buf), err) < 0 ||
		    parse_subnet(buf, AF_INET6, 126, &net->subnet6, err) < 0 ||
		    pick_gateway(&net->subnet6, opts->gateway6, &net->gateway6, err) < 0)
			return -1;
	}
	return 0;
}

int network_create(const char *state_dir, const char *name, const struct network_options *opts,
		   struct network **out, struct hangar_error *err)
{
	static const struct network_options no_opts = {0};
	if (opts == NULL)
		opts = &no_opts;
	struct network *net = NULL;
	if (network_build(name, opts, &net, err) < 0)
		return -1;
	_cleanup_close_ int lock = network_state_lock(state_dir, err);
	struct nl_sock *sk = NULL;
	int r = lock < 0 ? -1 : nl_route_socket(-1, &sk, err);
	if (r == 0)
		r = bridge_probe(sk, net, err);
	if (r == 0)
		r = pick_subnets_locked(state_dir, sk, net, opts, err);
	nl_route_socket_free(sk);
	if (r < 0 || check_overlap(state_dir, net, err) < 0 || host_check_network(net, err) < 0 ||
	    network_store_locked(state_dir, net, err) < 0) {
		network_free(net);
		return -1;
	}
	if (out)
		*out = net;
	else
		network_free(net);
	return 0;
}

/* Under the state lock, so that concurrent first uses agree on one
 * definition: the first use picks subnets no route, address or other
 * network of the host uses, as docker does for its default bridge. */
static int create_default_locked(const char *state_dir, struct network **out, struct hangar_error *err)
{
	struct nl_sock *sk = NULL;
	if (nl_route_socket(-1, &sk, err) < 0)
		return -1;
	char s4[64], s6[64];
	struct network probe = {.name = (char *)NETWORK_DEFAULT_NAME, .bridge = (char *)NETWORK_DEFAULT_NAME};
	int r = bridge_probe(sk, &probe, err);
	if (r == 0)
		r = pick_default_subnet(state_dir, sk, &probe, AF_INET, s4, sizeof(s4), err);
	if (r == 0)
		r = pick_default_subnet(state_dir, sk, &probe, AF_INET6, s6, sizeof(s6), err);
	nl_route_socket_free(sk);
	if (r < 0)
		return -1;
	struct network_options opts = {.subnet4 = s4, .subnet6 = s6};
	struct network *net = NULL;
	if (network_build(NETWORK_DEFAULT_NAME, &opts, &net, err) < 0)
		return -1;
	net->bridge_preexisting = probe.bridge_preexisting;
	if (network_store_locked(state_dir, net, err) < 0) {
		network_free(net);
		return -1;
	}
	*out = net;
	return 0;
}

int network_ensure_default(const char *state_dir, struct network **out, struct hangar_error *err)
{
	if (network_load(state_dir, NETWORK_DEFAULT_NAME, out, err) == 0)
		return 0;
	if (err->code != HANGAR_E_NOTFOUND)
		return -1;
	_cleanup_close_ int lock = network_state_lock(state_dir, err);
	if (lock < 0)
		return -1;
	/* another first use may have won the race meanwhile */
	struct hangar_error e = {0};
	if (network_load_locked(state_dir, NETWORK_DEFAULT_NAME, out, &e) == 0)
		return 0;
	if (e.code != HANGAR_E_NOTFOUND) {
		*err = e;
		return -1;
	}
	return create_default_locked(state_dir, out, err);
}
