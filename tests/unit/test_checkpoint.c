/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the criu driver's parsing and the checkpoint manifest. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint/checkpoint.h"
#include "checkpoint/criu.h"
#include "checkpoint/image.h"
#include "checkpoint/migrate.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "tests/unit/tap.h"

static void test_version(void)
{
	unsigned v = 0;
	ok(criu_parse_version("Version: 4.1.1\n", &v) == 0 && v == 40101, "4.1.1 -> 40101 (%u)", v);
	ok(criu_parse_version("Version: 3.17\nGitID: v3.17\n", &v) == 0 && v == 31700, "3.17 -> 31700 (%u)",
	   v);
	ok(criu_parse_version("criu: command not found\n", &v) < 0, "garbage is refused");
	ok(criu_parse_version("Version: x\n", &v) < 0, "a version without numbers is refused");
}

static void test_log_error(void)
{
	const char *log =
	    "(00.01) Version: 4.1.1\n"
	    "(00.03) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not "
	    "permitted\n"
	    "(00.14) Error (criu/mount.c:753): mnt: 128:./sys/fs/cgroup/pids doesn't have a proper root "
	    "mount\n"
	    "(00.15) Error (compel/src/lib/infect.c:418): Unable to detach from 4: No such process\n"
	    "(00.19) Error (criu/cr-dump.c:2111): Dumping FAILED.\n";
	char *e = criu_log_last_error(log);
	is_str(e, "mnt: 128:./sys/fs/cgroup/pids doesn't have a proper root mount",
	       "the first error that is not RLIMIT noise is the cause");
	free(e);
	e = criu_log_last_error(
	    "(00.01) Error (criu/cr-restore.c:1): Restoring FAILED.\n(00.02) NS mask to use 0\n");
	is_str(e, "NS mask to use 0", "without a real error, the last line without its timestamp");
	free(e);
	ok(strstr(criu_error_hint("sockets: Can't get 1:16 opt: Operation not supported"), "#2705") != NULL,
	   "the SO_PASSCRED failure is explained");
	is_str(criu_error_hint("something new"), "", "unknown errors get no hint");
	e = criu_log_last_error("");
	ok(e == NULL, "an empty log gives nothing");
	free(e);
}

static void test_stats(void)
{
	struct checkpoint_stats st;
	memset(&st, 0, sizeof(st));
	checkpoint_parse_stats(
	    "Displaying dump stats:\nFreezing time: 100871 us\nFrozen time: 146792 us\n"
	    "Memory dump time: 969 us\nMemory write time: 230 us\nMemory pages written: 35 (0x23)\n",
	    &st);
	ok(st.freezing_us == 100871 && st.frozen_us == 146792, "freezing and frozen times");
	ok(st.memdump_us == 969 && st.memwrite_us == 230 && st.pages_written == 35, "memory dump figures");
	memset(&st, 0, sizeof(st));
	checkpoint_parse_stats("nothing here", &st);
	ok(st.frozen_us == 0 && st.pages_written == 0, "missing figures stay zero");
}

static void test_names(void)
{
	is_str(checkpoint_cgroup_mode("full"), "full", "cgroup mode full");
	ok(checkpoint_cgroup_mode("bogus") == NULL, "unknown cgroup mode refused");
	is_str(checkpoint_empty_ns_name("network"), "net", "runc's network -> criu's net");
	ok(checkpoint_empty_ns_name("pid") == NULL, "other empty namespaces refused");
}

static void test_prefix(void)
{
	char *p = checkpoint_replace_prefix("/hangar/a/sub", "/hangar/a", "/hangar/b");
	is_str(p, "/hangar/b/sub", "a sub-cgroup moves with its parent");
	free(p);
	p = checkpoint_replace_prefix("/hangar/a", "/hangar/a", "/hangar/b");
	is_str(p, "/hangar/b", "the cgroup itself moves");
	free(p);
	p = checkpoint_replace_prefix("/hangar/ab", "/hangar/a", "/hangar/b");
	ok(p == NULL, "a sibling with a longer name is not under the prefix");
	free(p);
}

static void test_manifest(void)
{
	char dir[] = "/tmp/test_checkpoint.XXXXXX";
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	struct hangar_error err;
	struct checkpoint_manifest m, back;
	memset(&m, 0, sizeof(m));
	ok(checkpoint_manifest_read(dir, &back, &err) < 0 && err.code == HANGAR_E_NOTFOUND,
	   "an empty directory is not a checkpoint (%s)", err.msg);
	m.id = xstrdup("c1");
	m.rootfs = xstrdup("/b/rootfs");
	m.cgroup_path = xstrdup("/hangar/c1");
	m.terminal = true;
	m.nftables_lock = true;
	m.stdio[0].kind = CHECKPOINT_FD_TTY;
	m.stdio[0].path = xstrdup("/dev/pts/0");
	m.stdio[0].key = xstrdup("tty[8800:f3]");
	m.stdio[1].kind = CHECKPOINT_FD_PIPE;
	m.stdio[1].key = xstrdup("pipe:[77]");
	checkpoint_manifest_add_mount(&m, CHECKPOINT_MOUNT_CGROUP, "/sys/fs/cgroup/cpu", "/hangar/c1",
				      "/sys/fs/cgroup/cpu");
	checkpoint_manifest_add_mount(&m, CHECKPOINT_MOUNT_CONSOLE, "/dev/console", "/0", NULL);
	ok(checkpoint_manifest_write(dir, &m, &err) == 0, "write the manifest");
	ok(checkpoint_manifest_read(dir, &back, &err) == 0, "read it back");
	is_str(back.id, "c1", "id survives");
	is_str(back.cgroup_path, "/hangar/c1", "cgroup path survives");
	ok(back.terminal && back.nftables_lock && !back.external_netns, "flags survive");
	ok(back.stdio[0].kind == CHECKPOINT_FD_TTY && back.stdio[1].kind == CHECKPOINT_FD_PIPE &&
	       back.stdio[2].kind == CHECKPOINT_FD_INTERNAL,
	   "stdio kinds survive");
	is_str(back.stdio[0].key, "tty[8800:f3]", "tty key survives");
	ok(back.n_mounts == 2 && back.mounts[1].kind == CHECKPOINT_MOUNT_CONSOLE, "external mounts survive");
	is_str(back.n_mounts ? back.mounts[0].host_mount : NULL, "/sys/fs/cgroup/cpu", "host mount survives");
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, CHECKPOINT_DESCRIPTORS);
	char *text = NULL;
	ok(read_file_at(-100, path, &text, NULL, &err) == 0 && strstr(text, "/dev/pts/0") != NULL,
	   "runc's descriptors.json is written too");
	free(text);
	checkpoint_manifest_clear(&back);

	snprintf(path, sizeof(path), "%s/%s", dir, CHECKPOINT_MANIFEST);
	const char *bad_kind = "{\"id\":\"x\",\"rootfs\":\"/r\",\"stdio\":[{\"kind\":\"warp\"}]}";
	write_file_atomic(path, bad_kind, strlen(bad_kind), 0600, &err);
	ok(checkpoint_manifest_read(dir, &back, &err) < 0 && strstr(err.msg, "stdio[0].kind") != NULL,
	   "an unknown fd kind is refused by name (%s)", err.msg);
	write_file_atomic(path, "not json", 8, 0600, &err);
	ok(checkpoint_manifest_read(dir, &back, &err) < 0, "a corrupt manifest is refused (%s)", err.msg);
	checkpoint_manifest_clear(&m);
	rm_rf(dir, &err);
}

static void test_dest(void)
{
	struct migrate_dest d;
	struct hangar_error err;
	ok(migrate_parse_dest("ssh://admin@host2:2222/srv/hangar", &d, &err) == 0,
	   "ssh with user, port and root");
	ok(d.kind == MIGRATE_DEST_SSH && d.port == 2222, "kind and port");
	is_str(d.user, "admin", "user");
	is_str(d.host, "host2", "host");
	is_str(d.data_dir, "/srv/hangar", "remote root");
	is_str(d.run_dir, "/srv/hangar/run", "remote run dir under it");
	migrate_dest_clear(&d);
	ok(migrate_parse_dest("ssh://host2", &d, &err) == 0 && d.user == NULL && d.port == 0 &&
	       d.data_dir == NULL,
	   "bare ssh host: defaults");
	migrate_dest_clear(&d);
	ok(migrate_parse_dest("local:/a/data:/a/run", &d, &err) == 0 && d.kind == MIGRATE_DEST_LOCAL,
	   "local with a run dir");
	is_str(d.data_dir, "/a/data", "local data dir");
	is_str(d.run_dir, "/a/run", "local run dir");
	migrate_dest_clear(&d);
	ok(migrate_parse_dest("local:/a/data", &d, &err) == 0, "local without a run dir");
	is_str(d.run_dir, "/a/data/run", "run dir defaults under the data dir");
	migrate_dest_clear(&d);
	ok(migrate_parse_dest("local:relative", &d, &err) < 0 && err.code == HANGAR_E_USAGE,
	   "relative local root refused");
	ok(migrate_parse_dest("ssh://host:99999", &d, &err) < 0, "bad port refused (%s)", err.msg);
	ok(migrate_parse_dest("ssh://user@", &d, &err) < 0, "missing host refused");
	ok(migrate_parse_dest("ftp://host", &d, &err) < 0 && strstr(err.msg, "ssh://") != NULL,
	   "unknown scheme refused with the accepted forms (%s)", err.msg);
}

static int count_lines(const char *path)
{
	_cleanup_free_ char *text = NULL;
	struct hangar_error err;
	if (read_file_at(AT_FDCWD, path, &text, NULL, &err) < 0)
		return 0;
	int n = 0;
	for (char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

/* criu_open probes `criu --version` once per binary (device, inode, size,
 * mtime) and reads the answer back from the cache file afterwards. */
static void test_version_cache(void)
{
	char dir[] = "/tmp/hangar-test-criu.XXXXXX";
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	_cleanup_free_ char *fake = xasprintf("%s/criu", dir);
	_cleanup_free_ char *calls = xasprintf("%s/calls", dir);
	_cleanup_free_ char *cache = xasprintf("%s/cache", dir);
	_cleanup_free_ char *script = xasprintf("#!/bin/sh\necho probe >>%s\n"
						"[ \"$1\" = check ] && { echo \"$3 is supported\"; exit 0; }\n"
						"echo 'Version: 4.1.1'\n",
						calls);
	struct hangar_error err;
	hangar_error_clear(&err);
	if (write_file_at(AT_FDCWD, fake, script, strlen(script), O_CREAT | O_TRUNC, 0755, &err) < 0) {
		ok(0, "write the fake criu: %s", err.msg);
		return;
	}
	setenv("HANGAR_CRIU_CACHE", cache, 1);
	struct criu c;
	ok(criu_open(fake, &c, &err) == 0 && c.version == 40101, "first open probes: %s (%s)", c.version_str,
	   err.msg);
	criu_close(&c);
	ok(criu_open(fake, &c, &err) == 0 && c.version == 40101 && strcmp(c.version_str, "4.1.1") == 0,
	   "second open: %s", c.version_str);
	criu_close(&c);
	ok(count_lines(calls) == 1, "the second open read the cache instead of running criu (%d probes)",
	   count_lines(calls));

	/* A changed binary (here: a new mtime) is probed again. */
	struct timespec times[2] = {{.tv_nsec = UTIME_NOW}, {.tv_sec = 1000000000}};
	utimensat(AT_FDCWD, fake, times, 0);
	ok(criu_open(fake, &c, &err) == 0, "open after the binary changed");
	criu_close(&c);
	ok(count_lines(calls) == 2, "a changed binary is probed again (%d probes)", count_lines(calls));

	/* A damaged cache is ignored and rewritten. */
	write_file_at(AT_FDCWD, cache, "garbage", 7, O_CREAT | O_TRUNC, 0644, &err);
	ok(criu_open(fake, &c, &err) == 0 && c.version == 40101, "open with a damaged cache");
	criu_close(&c);
	ok(count_lines(calls) == 3, "a damaged cache means one more probe (%d probes)", count_lines(calls));
	ok(criu_open(fake, &c, &err) == 0, "and the rewritten cache serves the next open");
	ok(count_lines(calls) == 3, "no further probe (%d probes)", count_lines(calls));

	/* The nftables lock probe is asked once and kept with the version. */
	ok(c.nft_lock == -1, "the nftables lock was not asked yet");
	ok(criu_has_nftables_lock(&c) && count_lines(calls) == 4, "asking runs criu check once (%d probes)",
	   count_lines(calls));
	ok(criu_has_nftables_lock(&c) && count_lines(calls) == 4, "the answer is kept in the struct");
	criu_close(&c);
	ok(criu_open(fake, &c, &err) == 0 && c.nft_lock == 1 && c.version == 40101 && count_lines(calls) == 4,
	   "the next open has version and nftables lock from the cache (%d probes)", count_lines(calls));
	criu_close(&c);

	/* A too old criu is refused every time, never cached. */
	_cleanup_free_ char *old = xasprintf("#!/bin/sh\necho probe >>%s\necho 'Version: 3.14'\n", calls);
	write_file_at(AT_FDCWD, fake, old, strlen(old), O_CREAT | O_TRUNC, 0755, &err);
	ok(criu_open(fake, &c, &err) < 0 && strstr(err.msg, "too old") != NULL, "3.14 refused: %s", err.msg);
	ok(criu_open(fake, &c, &err) < 0 && count_lines(calls) == 6, "and probed again the next time");
	unsetenv("HANGAR_CRIU_CACHE");
	rm_rf(dir, &err);
}

int main(void)
{
	test_dest();
	test_version();
	test_version_cache();
	test_log_error();
	test_stats();
	test_names();
	test_prefix();
	test_manifest();
	return tap_done();
}
