/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `features`: what this build and host support, per runtime-spec features.md. */
#include <json-c/json.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <unistd.h>

#include "cli/hangar-oci/verbs.h"
#include "common/util.h"

static json_object *strings(const char *const *v)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static bool lsm_enabled(const char *path, const char *want)
{
	char buf[16] = "";
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool on = fgets(buf, sizeof(buf), f) && (want == NULL || strncmp(buf, want, strlen(want)) == 0);
	fclose(f);
	return on;
}

static const char *libseccomp_version(void)
{
	static char buf[32];
	const struct scmp_version *v = seccomp_version();
	snprintf(buf, sizeof(buf), "%u.%u.%u", v->major, v->minor, v->micro);
	return buf;
}

int cmd_features(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c;
	while ((c = cli_getopt(argc, argv, "+h", opts)) != -1) {
		if (c == 'h') {
			printf("usage: hangar-oci features\n\nPrints the supported features as JSON.\n");
			return 0;
		}
		return cli_usage_error("features", "invalid flag");
	}
	static const char *const hooks[] = {"prestart", "createRuntime", "createContainer", "startContainer",
					    "poststart", "poststop", NULL};
	static const char *const mount_opts[] = {
		"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion",
		"lazytime", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion",
		"nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private",
		"ratime", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec", "rnoatime", "rnodev",
		"rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow", "ro",
		"rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave", "rstrictatime", "rsuid",
		"rsymfollow", "runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid",
		"symfollow", "sync", "tmpcopyup", "unbindable", "idmap", "ridmap", NULL};
	static const char *const namespaces[] = {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
						 NULL};
	static const char *const actions[] = {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
					      "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
					      "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP", NULL};
	static const char *const operators[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
						"SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", NULL};
	static const char *const archs[] = {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
					    "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", NULL};
	static const char *const flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
					    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
					    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL};

	json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(o, "ociVersionMax", json_object_new_string("1.2.0"));
	json_object_object_add(o, "hooks", strings(hooks));
	json_object_object_add(o, "mountOptions", strings(mount_opts));

	json_object *lx = json_object_new_object();
	json_object_object_add(lx, "namespaces", strings(namespaces));
	json_object *caps = json_object_new_array();
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
		char *name = cap_to_name(cap);
		if (name == NULL)
			continue;
		char upper[64];
		size_t i = 0;
		for (; name[i] && i < sizeof(upper) - 1; i++)
			upper[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
		upper[i] = '\0';
		json_object_array_add(caps, json_object_new_string(upper));
		cap_free(name);
	}
	json_object_object_add(lx, "capabilities", caps);

	json_object *cg = json_object_new_object();
	json_object_object_add(cg, "v1", json_object_new_boolean(true));
	json_object_object_add(cg, "v2", json_object_new_boolean(true));
	json_object_object_add(cg, "systemd", json_object_new_boolean(false));
	json_object_object_add(cg, "systemdUser", json_object_new_boolean(false));
	json_object_object_add(cg, "rdma", json_object_new_boolean(true));
	json_object_object_add(lx, "cgroup", cg);

	json_object *sc = json_object_new_object();
	json_object_object_add(sc, "enabled", json_object_new_boolean(true));
	json_object_object_add(sc, "actions", strings(actions));
	json_object_object_add(sc, "operators", strings(operators));
	json_object_object_add(sc, "archs", strings(archs));
	json_object_object_add(sc, "knownFlags", strings(flags));
	json_object_object_add(sc, "supportedFlags", strings(flags));
	json_object_object_add(lx, "seccomp", sc);

	json_object *aa = json_object_new_object();
	json_object_object_add(aa, "enabled",
			       json_object_new_boolean(lsm_enabled("/sys/module/apparmor/parameters/enabled", "Y")));
	json_object_object_add(lx, "apparmor", aa);
	json_object *se = json_object_new_object();
	json_object_object_add(se, "enabled", json_object_new_boolean(access("/sys/fs/selinux/enforce", F_OK) == 0));
	json_object_object_add(lx, "selinux", se);
	json_object *rdt = json_object_new_object();
	json_object_object_add(rdt, "enabled", json_object_new_boolean(false));
	json_object_object_add(lx, "intelRdt", rdt);
	json_object *me = json_object_new_object();
	json_object *idmap = json_object_new_object();
	json_object_object_add(idmap, "enabled", json_object_new_boolean(true));
	json_object_object_add(me, "idmap", idmap);
	json_object_object_add(lx, "mountExtensions", me);
	json_object_object_add(o, "linux", lx);

	json_object *ann = json_object_new_object();
	json_object_object_add(ann, "io.github.hangar.version", json_object_new_string(HANGAR_VERSION));
	json_object_object_add(ann, "io.github.hangar.commit", json_object_new_string(HANGAR_COMMIT));
	json_object_object_add(ann, "io.github.seccomp.libseccomp.version",
			       json_object_new_string(libseccomp_version()));
	json_object_object_add(o, "annotations", ann);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}
