/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli/hangar/hangar.h"
#include "manager/image.h"

static void image_usage(void)
{
	printf("usage: hangar image list [--format table|json]\n"
	       "       hangar image import NAME TARBALL|DIRECTORY\n"
	       "       hangar image rm NAME\n"
	       "       hangar image debootstrap NAME [SUITE]\n\n"
	       "Images are read-only root trees; instances see them through overlayfs, so\n"
	       "creating an instance copies nothing.  'default' (busybox) is built on first\n"
	       "use.  import extracts a tarball with tar(1) or copies a directory keeping\n"
	       "owners, modes, xattrs and hard links (as a user: owners through your\n"
	       "/etc/subuid ranges, device nodes skipped with a note).  rm is refused while\n"
	       "an instance uses the image.  debootstrap (SUITE default bookworm, whose\n"
	       "systemd boots on every cgroup layout) makes a bootable Debian with systemd\n"
	       "for --init; it needs the debootstrap tool and network access (the mirror of\n"
	       "the host's apt sources).\n\n"
	       "examples:\n"
	       "   hangar image import alpine alpine-minirootfs.tar.gz\n"
	       "   hangar image debootstrap deb\n"
	       "   hangar image list\n");
}

static int image_list_cmd(const struct hangar_paths *p, bool json)
{
	struct hangar_error err;
	struct image_info *infos = NULL;
	size_t n = 0;
	if (image_store_list(p, &infos, &n, &err) < 0)
		return hangar_fail(&err);
	json_object *arr = json_object_new_array();
	if (!json)
		printf("%-20s %-10s %-32s %s\n", "NAME", "SIZE", "CREATED", "USED BY");
	for (size_t i = 0; i < n; i++) {
		if (json) {
			json_object *o = json_object_new_object(), *users = json_object_new_array();
			json_object_object_add(o, "name", json_object_new_string(infos[i].name));
			json_object_object_add(o, "size", json_object_new_uint64(infos[i].size));
			json_object_object_add(o, "created",
					       infos[i].created ? json_object_new_string(infos[i].created) : NULL);
			json_object_object_add(o, "source",
					       infos[i].source ? json_object_new_string(infos[i].source) : NULL);
			for (size_t k = 0; infos[i].users[k]; k++)
				json_object_array_add(users, json_object_new_string(infos[i].users[k]));
			json_object_object_add(o, "instances", users);
			json_object_array_add(arr, o);
			continue;
		}
		char size[32], users[256] = "-";
		format_bytes(infos[i].size, size, sizeof(size));
		size_t off = 0;
		for (size_t k = 0; infos[i].users[k] && off < sizeof(users) - 1; k++)
			off += (size_t)snprintf(users + off, sizeof(users) - off, "%s%s", k ? "," : "", infos[i].users[k]);
		printf("%-20s %-10s %-32s %s\n", infos[i].name, size, infos[i].created ? infos[i].created : "-", users);
	}
	if (json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	image_store_infos_free(infos, n);
	return 0;
}

int cmd_image(int argc, char **argv)
{
	if (argc < 2)
		return hangar_usage("image", "a subcommand is required: list, import, rm or debootstrap");
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		image_usage();
		return 0;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			image_usage();
			return 0;
		}
	}
	const struct hangar_paths *p = NULL;
	struct hangar_error err;
	hangar_error_clear(&err);
	if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0) {
		bool json = false;
		if (argc == 4 && strcmp(argv[2], "--format") == 0 && strcmp(argv[3], "json") == 0)
			json = true;
		else if (argc == 3 && strcmp(argv[2], "--format=json") == 0)
			json = true;
		else if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--format") == 0 && strcmp(argv[3], "table") == 0))
			return hangar_usage("image", "list takes only --format table|json");
		if ((p = hangar_paths()) == NULL)
			return HANGAR_EXIT_FAILURE;
		return image_list_cmd(p, json);
	}
	if (strcmp(sub, "import") == 0) {
		if (argc != 4)
			return hangar_usage("image", "import needs NAME and a TARBALL or DIRECTORY");
		if ((p = hangar_paths()) == NULL)
			return HANGAR_EXIT_FAILURE;
		if (image_store_import(p, argv[2], argv[3], &err) < 0)
			return hangar_fail(&err);
		cli_print_warning(&err);
		return 0;
	}
	if (strcmp(sub, "rm") == 0 || strcmp(sub, "remove") == 0) {
		if (argc != 3)
			return hangar_usage("image", "rm needs exactly one image name");
		if ((p = hangar_paths()) == NULL)
			return HANGAR_EXIT_FAILURE;
		return image_store_remove(p, argv[2], &err) < 0 ? hangar_fail(&err) : 0;
	}
	if (strcmp(sub, "debootstrap") == 0) {
		if (argc != 3 && argc != 4)
			return hangar_usage("image", "debootstrap needs NAME [SUITE]");
		if ((p = hangar_paths()) == NULL)
			return HANGAR_EXIT_FAILURE;
		return image_store_debootstrap(p, argv[2], argc == 4 ? argv[3] : NULL, &err) < 0 ? hangar_fail(&err) : 0;
	}
	return hangar_usage("image", "unknown subcommand '%s' (list, import, rm, debootstrap)", sub);
}
