/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hangar network create|list|rm: named bridge networks (netns/net.h). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/hangar/hangar.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "netns/net.h"

static void network_usage(void)
{
	printf("usage: hangar network create NAME --subnet CIDR [--subnet6 CIDR] [--gateway IP]\n"
	       "                             [--mtu N] [--no-ipv6] [--bridge NAME]\n"
	       "       hangar network list [--format table|json]\n"
	       "       hangar network rm NAME\n\n"
	       "Bridge networks for instances ('hangar create --network NAME', repeatable:\n"
	       "the instance gets eth0, eth1, ... in that order).  Each network is a Linux\n"
	       "bridge with a gateway address, its own address pool, outbound NAT, and\n"
	       "published ports.  hangar0 (10.213.0.0/24) is made on first use; none and\n"
	       "host are built in.  The bridge is made when the first instance starts.\n\n"
	       "   --subnet CIDR     IPv4 subnet (required unless --no-ipv4); must not overlap\n"
	       "                     another hangar network\n"
	       "   --subnet6 CIDR    IPv6 subnet (default: a free ULA /64 of\n"
	       "                     fd68:616e:6761::/56 unless --no-ipv6)\n"
	       "   --gateway IP      gateway address (default: the subnet's first address);\n"
	       "                     an IPv6 address sets the IPv6 gateway\n"
	       "   --mtu N           MTU of the bridge and the instances' eth, 1280-65535\n"
	       "                     (default: the bridge's, 1500 for a new one)\n"
	       "   --no-ipv6         IPv4 only\n"
	       "   --no-ipv4         IPv6 only\n"
	       "   --bridge NAME     bridge interface (default: the network name); may be an\n"
	       "                     existing bridge, which keeps its MTU unless --mtu is\n"
	       "                     given and survives rm (only hangar's addresses go)\n\n"
	       "rm is refused while an instance is configured with the network (destroy it or\n"
	       "create it again without) or still attached to it.\n\n"
	       "examples:\n"
	       "   hangar network create backend --subnet 10.220.0.0/24 --no-ipv6\n"
	       "   hangar create api --network bridge --network backend -- httpd -f -p 80\n"
	       "   hangar network list --format json | jq '.[].subnet'\n"
	       "   hangar network rm backend\n");
}

/* Names the manager gives a meaning of its own (--network bridge, pasta,
 * slirp4netns): a stored network of that name could never be chosen. */
static bool name_reserved(const char *name)
{
	static const char *const reserved[] = {"bridge", "none", "host", INSTANCE_NETWORK_PASTA,
					       INSTANCE_NETWORK_SLIRP4NETNS};
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (strcmp(name, reserved[i]) == 0)
			return true;
	return false;
}

static int network_create_cmd(int argc, char **argv)
{
	enum { O_SUBNET = OPT_VERB_BASE, O_SUBNET6, O_GATEWAY, O_MTU, O_NO_IPV6, O_NO_IPV4, O_BRIDGE };
	static const struct option opts[] = {
	    {"subnet", required_argument, NULL, O_SUBNET},   {"subnet6", required_argument, NULL, O_SUBNET6},
	    {"gateway", required_argument, NULL, O_GATEWAY}, {"mtu", required_argument, NULL, O_MTU},
	    {"no-ipv6", no_argument, NULL, O_NO_IPV6},	     {"no-ipv4", no_argument, NULL, O_NO_IPV4},
	    {"bridge", required_argument, NULL, O_BRIDGE},   {NULL, 0, NULL, 0}};
	struct network_options o = {0};
	const char *name = NULL;
	int c;
	uint64_t n;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "-", opts, NULL)) != -1) {
		switch (c) {
		case 1:
			if (name)
				return hangar_usage("network", "create: unexpected argument '%s'", optarg);
			name = optarg;
			break;
		case O_SUBNET:
			o.subnet4 = optarg;
			break;
		case O_SUBNET6:
			o.subnet6 = optarg;
			break;
		case O_GATEWAY:
			if (strchr(optarg, ':'))
				o.gateway6 = optarg;
			else
				o.gateway4 = optarg;
			break;
		case O_MTU:
			if (parse_u64(optarg, &n) < 0 || n < 1280 || n > 65535)
				return hangar_usage("network", "--mtu %s: a number from 1280 to 65535",
						    optarg);
			o.mtu = (unsigned)n;
			break;
		case O_NO_IPV6:
			o.no_ipv6 = true;
			break;
		case O_NO_IPV4:
			o.no_ipv4 = true;
			break;
		case O_BRIDGE:
			o.bridge = optarg;
			break;
		default:
			return hangar_usage("network", "create: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (name == NULL)
		return hangar_usage("network", "create needs a NAME");
	if (o.subnet4 == NULL && !o.no_ipv4)
		return hangar_usage("network", "create %s: --subnet CIDR is required (or --no-ipv4)", name);
	if (o.subnet4 && o.no_ipv4)
		return hangar_usage("network", "create %s: --subnet and --no-ipv4 exclude each other", name);
	if (o.subnet6 && o.no_ipv6)
		return hangar_usage("network", "create %s: --subnet6 and --no-ipv6 exclude each other", name);
	if (name_reserved(name))
		return hangar_usage("network",
				    "create %s: the name is reserved (--network %s means something else)",
				    name, name);
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL)
		return HANGAR_EXIT_FAILURE;
	struct hangar_error err;
	hangar_error_clear(&err);
	if (p->rootless) {
		hangar_error_set(&err, HANGAR_E_UNSUPPORTED, 0,
				 "network %s: bridge networks need root; rootless instances use --network "
				 "pasta or slirp4netns",
				 name);
		return hangar_fail(&err);
	}
	if (network_create(p->network_dir, name, &o, NULL, &err) < 0) {
		/* the library names the network only where it is the problem */
		if (strstr(err.msg, name) == NULL)
			hangar_error_prefix(&err, "network create %s", name);
		return hangar_fail(&err);
	}
	return 0;
}

/* Instances configured with a network, whether running or not. */
static char **network_users(const struct hangar_paths *p, const char *network)
{
	char **names = NULL, **users = NULL;
	struct hangar_error err;
	users = xmalloc0(sizeof(char *));
	if (instance_list_names(p, &names, &err) < 0)
		return users;
	for (char **n = names; *n; n++) {
		struct instance *inst = NULL;
		if (instance_load(p, *n, &inst, &err) < 0)
			continue;
		for (char **net = inst->networks; net && *net; net++)
			if (strcmp(*net, network) == 0 ||
			    (strcmp(*net, "bridge") == 0 && strcmp(network, NETWORK_DEFAULT_NAME) == 0))
				strv_append(&users, inst->name);
		instance_free(inst);
	}
	strv_free(names);
	return users;
}

static void add_prefix(json_object *o, const char *key, bool has, const struct net_prefix *pfx)
{
	char buf[INET6_ADDRSTRLEN + 4];
	json_object_object_add(
	    o, key, has ? json_object_new_string(net_prefix_format(pfx, true, buf, sizeof(buf))) : NULL);
}

static int network_list_cmd(int argc, char **argv)
{
	bool json = false;
	if (argc == 4 && strcmp(argv[2], "--format") == 0 && strcmp(argv[3], "json") == 0)
		json = true;
	else if (argc == 3 && strcmp(argv[2], "--format=json") == 0)
		json = true;
	else if (argc != 2 &&
		 !(argc == 4 && strcmp(argv[2], "--format") == 0 && strcmp(argv[3], "table") == 0))
		return hangar_usage("network", "list takes only --format table|json");
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL)
		return HANGAR_EXIT_FAILURE;
	struct hangar_error err;
	hangar_error_clear(&err);
	char **names = NULL;
	if (network_list(p->network_dir, &names, &err) < 0)
		return hangar_fail(&err);
	json_object *arr = json_object_new_array();
	if (!json)
		printf("%-16s %-16s %-20s %-24s %-6s %s\n", "NAME", "BRIDGE", "SUBNET", "SUBNET6", "MTU",
		       "INSTANCES");
	for (char **name = names; *name; name++) {
		struct network *net = NULL;
		if (network_load(p->network_dir, *name, &net, &err) < 0) {
			cli_warn("%s", err.msg);
			continue;
		}
		char **users = network_users(p, net->name);
		if (json) {
			json_object *o = json_object_new_object(), *u = json_object_new_array();
			json_object_object_add(o, "name", json_object_new_string(net->name));
			json_object_object_add(o, "bridge", json_object_new_string(net->bridge));
			add_prefix(o, "subnet", net->has_subnet4, &net->subnet4);
			add_prefix(o, "subnet6", net->has_subnet6, &net->subnet6);
			char gw[INET6_ADDRSTRLEN + 4];
			json_object_object_add(o, "gateway",
					       net->has_subnet4 ? json_object_new_string(net_prefix_format(
								      &net->gateway4, false, gw, sizeof(gw)))
								: NULL);
			json_object_object_add(o, "gateway6",
					       net->has_subnet6 ? json_object_new_string(net_prefix_format(
								      &net->gateway6, false, gw, sizeof(gw)))
								: NULL);
			json_object_object_add(o, "mtu",
					       net->mtu ? json_object_new_int((int)net->mtu) : NULL);
			for (char **n = users; *n; n++)
				json_object_array_add(u, json_object_new_string(*n));
			json_object_object_add(o, "instances", u);
			json_object_array_add(arr, o);
		} else {
			char s4[INET6_ADDRSTRLEN + 4] = "-", s6[INET6_ADDRSTRLEN + 4] = "-", mtu[16] = "-";
			char who[256] = "-";
			if (net->has_subnet4)
				net_prefix_format(&net->subnet4, true, s4, sizeof(s4));
			if (net->has_subnet6)
				net_prefix_format(&net->subnet6, true, s6, sizeof(s6));
			if (net->mtu)
				snprintf(mtu, sizeof(mtu), "%u", net->mtu);
			size_t off = 0;
			for (size_t k = 0; users[k] && off < sizeof(who) - 1; k++)
				off += (size_t)snprintf(who + off, sizeof(who) - off, "%s%s", k ? "," : "",
							users[k]);
			printf("%-16s %-16s %-20s %-24s %-6s %s\n", net->name, net->bridge, s4, s6, mtu, who);
		}
		strv_free(users);
		network_free(net);
	}
	strv_free(names);
	if (json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
								       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return 0;
}

static int network_rm_cmd(int argc, char **argv)
{
	if (argc != 3)
		return hangar_usage("network", "rm needs exactly one network name");
	const char *name = argv[2];
	const struct hangar_paths *p = hangar_paths();
	if (p == NULL)
		return HANGAR_EXIT_FAILURE;
	struct hangar_error err;
	hangar_error_clear(&err);
	/* The global lock keeps 'hangar create --network NAME' from choosing
	 * the network between the check and the removal. */
	_cleanup_close_ int lock = hangar_lock_global(p, &err);
	if (lock < 0)
		return hangar_fail(&err);
	struct network *net = NULL;
	if (network_load(p->network_dir, name, &net, &err) < 0)
		return hangar_fail(&err);
	network_free(net);
	char **users = network_users(p, name);
	if (users[0]) {
		hangar_error_set(&err, HANGAR_E_STATE, 0,
				 "network %s: in use by instance '%s'%s; destroy it first", name, users[0],
				 users[1] ? " and others" : "");
		strv_free(users);
		return hangar_fail(&err);
	}
	strv_free(users);
	if (network_remove(p->network_dir, name, &err) < 0)
		return hangar_fail(&err);
	return 0;
}

int cmd_network(int argc, char **argv)
{
	if (argc < 2)
		return hangar_usage("network", "a subcommand is required: create, list or rm");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[1], "help") == 0) {
			network_usage();
			return 0;
		}
	}
	const char *sub = argv[1];
	if (strcmp(sub, "create") == 0)
		return network_create_cmd(argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0)
		return network_list_cmd(argc, argv);
	if (strcmp(sub, "rm") == 0 || strcmp(sub, "remove") == 0)
		return network_rm_cmd(argc, argv);
	return hangar_usage("network", "unknown subcommand '%s' (create, list, rm)", sub);
}
