/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cli/hangar-oci/verbs.h"
#include "common/cleanup.h"
#include "runtime/container.h"

char *create_bundle_path(const char *bundle);
static int run_loaded(const struct create_flags *fp, const char *bundle, struct oci_config *cfg);

int cmd_run(int argc, char **argv)
{
	struct create_flags f;
	int r = parse_create_flags(argc, argv, true, &f);
	if (r != 0)
		return r < 0 ? 0 : r;
	_cleanup_free_ char *bundle = create_bundle_path(f.bundle);
	if (bundle == NULL) {
		cli_error("bundle %s: %m", f.bundle ? f.bundle : ".");
		return 1;
	}
	struct oci_config *cfg = NULL;
	struct hangar_error err;
	hangar_error_clear(&err);
	if (create_load_config(bundle, &cfg, &err) < 0)
		return cli_fail(&err);
	r = oci_protect_binary(cfg);
	if (r == 0)
		r = run_loaded(&f, bundle, cfg);
	oci_config_free(cfg);
	return r;
}

static int run_loaded(const struct create_flags *fp, const char *bundle, struct oci_config *cfg)
{
	struct create_flags f = *fp;
	/* We wait for the init, which may be re-parented to us. */
	if (!f.detach)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	struct container_create_opts o = {
		.root = oci_root(),
		.id = f.id,
		.bundle = bundle,
		.config = cfg,
		.console_socket = f.console_socket,
		.pid_file = f.pid_file,
		.no_pivot = f.no_pivot,
		.no_new_keyring = f.no_new_keyring,
		.preserve_fds = f.preserve_fds,
		.systemd_cgroup = cli.systemd_cgroup,
		.want_tty_master = !f.detach && f.console_socket == NULL,
	};
	struct container_created created = {.pid = -1, .tty_master = -1};
	struct hangar_error err;
	hangar_error_clear(&err);
	if (container_create(&o, &created, &err) < 0)
		return cli_fail(&err);
	cli_print_warning(&err);
	hangar_error_clear(&err);
	if (container_start(o.root, f.id, &err) < 0) {
		int code = cli_fail(&err);
		struct hangar_error ignored;
		container_delete(o.root, f.id, true, &ignored);
		return code;
	}
	cli_print_warning(&err);
	if (f.detach)
		return 0;
	int code = cli_wait_and_forward(created.pid, created.tty_master);
	if (created.tty_master >= 0)
		close(created.tty_master);
	if (!f.keep) {
		hangar_error_clear(&err);
		if (container_delete(o.root, f.id, true, &err) < 0)
			cli_fail(&err);
		else
			cli_print_warning(&err);
	}
	return code;
}
