/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/hangar-oci/verbs.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "config/oci.h"
#include "namespaces/subid.h"

/* Replace the single-id mapping of the rootless default with the caller's
 * subordinate ranges; without them the single-id mapping stays, with a note. */
static int spec_use_subids(struct oci_config *cfg, struct hangar_error *err)
{
	struct ns_rootless_maps maps;
	if (ns_rootless_mappings(&maps, err) < 0)
		return -1;
	if (maps.note)
		cli_warn("spec --subids: %s", maps.note);
	free(cfg->linux_.uid_mappings);
	free(cfg->linux_.gid_mappings);
	cfg->linux_.uid_mappings = steal_pointer(&maps.uids);
	cfg->linux_.n_uid_mappings = maps.n_uids;
	cfg->linux_.gid_mappings = steal_pointer(&maps.gids);
	cfg->linux_.n_gid_mappings = maps.n_gids;
	ns_rootless_maps_release(&maps);
	return 0;
}

int cmd_spec(int argc, char **argv)
{
	enum { O_ROOTLESS = 256, O_SUBIDS };
	static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
					     {"rootless", no_argument, NULL, O_ROOTLESS},
					     {"subids", no_argument, NULL, O_SUBIDS},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *bundle = ".";
	bool rootless = false, subids = false;
	int c;
	while ((c = cli_getopt(argc, argv, "+b:h", opts)) != -1) {
		switch (c) {
		case 'b':
			bundle = optarg;
			break;
		case O_ROOTLESS:
			rootless = true;
			break;
		case O_SUBIDS:
			subids = rootless = true;
			break;
		case 'h':
			printf("usage: hangar-oci spec [--rootless] [--bundle DIR]\n\n"
			       "Writes a default config.json into the bundle (default: current directory).\n"
			       "   --rootless     config for an unprivileged user (user namespace mapping\n"
			       "                  your uid/gid to root, no network namespace, bind /sys)\n"
			       "   --subids       with --rootless: also map 1..N to your /etc/subuid and\n"
			       "                  /etc/subgid ranges (single-id, with a note, without them)\n");
			return 0;
		default:
			return cli_usage_error("spec", "invalid flag");
		}
	}
	if (optind != argc)
		return cli_usage_error("spec", "takes no arguments");
	struct hangar_error err;
	struct oci_config *cfg = NULL;
	if (oci_config_default(rootless, &cfg, &err) < 0)
		return cli_fail(&err);
	if (subids && spec_use_subids(cfg, &err) < 0) {
		oci_config_free(cfg);
		return cli_fail(&err);
	}
	_cleanup_free_ char *json = oci_config_to_json(cfg);
	oci_config_free(cfg);
	_cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
	if (access(path, F_OK) == 0) {
		cli_error("file %s exists: remove it first", path);
		return 1;
	}
	if (write_file_at(AT_FDCWD, path, json, strlen(json), O_CREAT | O_EXCL, 0666, &err) < 0 ||
	    write_file_at(AT_FDCWD, path, "\n", 1, O_APPEND, 0666, &err) < 0)
		return cli_fail(&err);
	return 0;
}
