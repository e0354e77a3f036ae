/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_OCI_VERBS_H
#define HANGAR_OCI_VERBS_H

#include "cli/common/cli.h"

struct oci_config;

/* One file per verb; each gets argv[0] = verb name and parses its own flags. */
int cmd_create(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_spec(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_events(int argc, char **argv);
/* Provided by the checkpoint code when linked in. */
int cmd_checkpoint(int argc, char **argv) __attribute__((weak));
int cmd_restore(int argc, char **argv) __attribute__((weak));

/* Shared by create and run. */
struct create_flags {
	char *bundle;
	char *console_socket;
	char *pid_file;
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds;
	bool detach;
	bool keep;
	const char *id;
};
/* Parse create/run flags; returns 0, or an exit code > 0 (help printed: -1). */
int parse_create_flags(int argc, char **argv, bool is_run, struct create_flags *f);
/* <bundle>/config.json, loaded before the CVE-2019-5736 decision. */
int create_load_config(const char *bundle, struct oci_config **out, struct hangar_error *err);

/* Resolve --root (global) or the default. */
const char *oci_root(void);

/* CVE-2019-5736 protection for create/run/exec once the container's config
 * is known (NULL: unknown, always protect); 0, or the exit code to use. */
int oci_protect_binary(const struct oci_config *cfg);

#endif
