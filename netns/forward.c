/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Forward chains of other tables that drop by default.  In nftables every
 * base chain on a hook sees the packet, and a drop in any of them is final:
 * hangar's own tables accept nothing on the forward hook, so another
 * table's `policy drop` (docker's iptables-nft FORWARD chain above all)
 * silently cuts the instances off from everything beyond the host, and
 * published ports off from other hosts.  hangar does not change other
 * tables; it says what happens and which rule to add.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/internal.h"

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool family_relevant(const struct network *net, const char *family)
{
	if (strcmp(family, "inet") == 0)
		return true;
	if (strcmp(family, "ip") == 0)
		return net->has_subnet4;
	if (strcmp(family, "ip6") == 0)
		return net->has_subnet6;
	return false;
}

/* Does any rule of table (family, name) mention the bridge's name?  Then
 * its admin already wrote rules for it (e.g. in docker's DOCKER-USER). */
static bool table_names_bridge(struct json_object *arr, const char *family, const char *table,
			       const char *bridge)
{
	_cleanup_free_ char *quoted = xasprintf("\"%s\"", bridge);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *rule;
		if (!json_object_object_get_ex(json_object_array_get_idx(arr, i), "rule", &rule))
			continue;
		const char *f = get_str(rule, "family"), *t = get_str(rule, "table");
		if (f == NULL || t == NULL || strcmp(f, family) != 0 || strcmp(t, table) != 0)
			continue;
		struct json_object *expr;
		if (json_object_object_get_ex(rule, "expr", &expr) &&
		    strstr(json_object_to_json_string_ext(expr, JSON_C_TO_STRING_PLAIN), quoted))
			return true;
	}
	return false;
}

int network_forward_policy_warning(const struct network *net, char **warning, struct hangar_error *err)
{
	*warning = NULL;
	if (net->mode != NETWORK_MODE_BRIDGE)
		return 0;
	_cleanup_free_ char *out = NULL;
	if (nft_run("list the nftables ruleset", "list ruleset", true, &out, err) < 0)
		return -1;
	struct json_object *root = json_tokener_parse(out), *arr;
	if (root == NULL || !json_object_object_get_ex(root, "nftables", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(root);
		return hangar_error_set(err, HANGAR_E_SYS, 0,
					"list the nftables ruleset: unexpected JSON output");
	}
	for (size_t i = 0; i < json_object_array_length(arr) && *warning == NULL; i++) {
		struct json_object *chain;
		if (!json_object_object_get_ex(json_object_array_get_idx(arr, i), "chain", &chain))
			continue;
		const char *family = get_str(chain, "family"), *table = get_str(chain, "table");
		const char *name = get_str(chain, "name"), *hook = get_str(chain, "hook");
		const char *policy = get_str(chain, "policy");
		if (family == NULL || table == NULL || name == NULL || hook == NULL || policy == NULL ||
		    strcmp(hook, "forward") != 0 || strcmp(policy, "drop") != 0 ||
		    !family_relevant(net, family) ||
		    (strcmp(family, "inet") == 0 && strcmp(table, "hangar") == 0) ||
		    table_names_bridge(arr, family, table, net->bridge))
			continue;
		/* Instances' own traffic out, replies back in, and connections
		 * to published ports (DNATed) in: not every host of the LAN. */
		_cleanup_free_ char *rule = xasprintf("nft insert rule %s %s %s", family, table, name);
		*warning = xasprintf(
		    "network '%s': chain '%s' of table '%s %s' drops forwarded packets by "
		    "default, so instances reach nothing beyond this host and other hosts "
		    "cannot reach published ports; to allow them: %s iifname \"%s\" accept; "
		    "%s oifname \"%s\" ct state established,related accept; %s oifname \"%s\" "
		    "ct status dnat accept",
		    net->name, name, family, table, rule, net->bridge, rule, net->bridge, rule, net->bridge);
	}
	json_object_put(root);
	return 0;
}
