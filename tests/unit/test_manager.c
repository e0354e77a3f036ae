/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the instance manager library (no containers started). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "manager/image.h"
#include "manager/instance.h"
#include "manager/internal.h"
#include "tests/unit/tap.h"

/* Liveness is judged by pid + start time: an ended process that nobody has
 * reaped yet (a killed monitor whose parent is a slow PID 1) is not alive. */
static void test_zombie_not_alive(void)
{
	int go[2];
	if (pipe(go) < 0) {
		ok(0, "pipe");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	close(go[0]);
	ok(proc_start_time(pid) != 0, "a running child has a start time");
	close(go[1]);
	siginfo_t si;
	/* WNOWAIT: wait until it has ended, and leave it a zombie */
	int r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
	ok(r == 0, "the child ended (still unreaped)");
	ok(proc_start_time(pid) == 0, "an unreaped zombie counts as not running");
	waitpid(pid, NULL, 0);
	ok(proc_start_time(pid) == 0, "a reaped one neither");
}

static void test_parsers(void)
{
	struct hangar_error err;
	uint64_t q = 0, p = 0;
	ok(instance_parse_cpus("1.5", &q, &p, &err) == 0 && q == 150000 && p == 100000, "--cpus 1.5 -> 150000/100000");
	ok(instance_parse_cpus("0.01", &q, &p, &err) == 0 && q == 1000, "--cpus 0.01 -> 1000");
	ok(instance_parse_cpus("0", &q, &p, &err) < 0 && err.code == HANGAR_E_USAGE, "--cpus 0 refused");
	is_str(err.msg, "--cpus 0: must be between 0.01 and 4096", "--cpus 0 message");
	ok(instance_parse_cpus("abc", &q, &p, &err) < 0, "--cpus abc refused");
	ok(instance_parse_cpus("1e9", &q, &p, &err) < 0, "--cpus 1e9 refused");

	struct instance_io_max io;
	ok(instance_parse_io_max("8:0:rbps=1M,wiops=100", &io, &err) == 0 && io.major == 8 && io.minor == 0 &&
		   io.rbps == 1024 * 1024 && io.wiops == 100 && io.wbps == 0 && io.riops == 0,
	   "--io-max MAJ:MIN:rbps=1M,wiops=100");
	free(io.device);
	ok(instance_parse_io_max("8:0:rbps=0", &io, &err) < 0, "--io-max zero refused");
	ok(instance_parse_io_max("8:0:foo=1", &io, &err) < 0 && strstr(err.msg, "unknown key 'foo'"),
	   "--io-max unknown key refused (%s)", err.msg);
	ok(instance_parse_io_max("/dev/null:rbps=1", &io, &err) < 0 && strstr(err.msg, "not a block device"),
	   "--io-max on a character device refused");
	ok(instance_parse_io_max("8:0", &io, &err) < 0, "--io-max without limits refused");

	struct instance_mount m;
	ok(instance_parse_mount("/tmp:/mnt:ro", &m, &err) == 0 && m.readonly && strcmp(m.destination, "/mnt") == 0,
	   "--mount SRC:DST:ro");
	free(m.source);
	free(m.destination);
	ok(instance_parse_mount("/tmp:/mnt", &m, &err) == 0 && !m.readonly, "--mount SRC:DST is read-write");
	free(m.source);
	free(m.destination);
	ok(instance_parse_mount("/tmp:mnt", &m, &err) < 0, "--mount relative destination refused");
	ok(instance_parse_mount("/tmp:/mnt:rx", &m, &err) < 0, "--mount bad mode refused");
	ok(instance_parse_mount("/does-not-exist:/mnt", &m, &err) < 0, "--mount missing source refused");

	ok(instance_validate_name("web-1.a_b", &err) == 0, "valid instance name");
	ok(instance_validate_name("-web", &err) < 0, "name starting with '-' refused");
	ok(instance_validate_name("a/b", &err) < 0, "name with '/' refused");
	ok(instance_validate_name("..", &err) < 0, "name '..' refused");
	ok(instance_validate_name("", &err) < 0, "empty name refused");
	ok(image_store_validate_name("default", &err) == 0 && image_store_validate_name("x y", &err) < 0, "image names");
}

static void test_limits(void)
{
	struct hangar_error err;
	struct instance_limits a = {0}, b = {0};
	b.has_memory = true;
	b.memory = 64 << 20;
	b.cpuset = xstrdup("0-1");
	struct instance_io_max io = {.device = xstrdup("8:0"), .major = 8, .minor = 0, .rbps = 100};
	b.io_max = &io;
	b.n_io_max = 1;
	instance_limits_merge(&a, &b);
	struct instance_io_max io2 = {.device = xstrdup("8:0"), .major = 8, .minor = 0, .wbps = 200};
	struct instance_limits c = {.io_max = &io2, .n_io_max = 1, .has_pids = true, .pids = 10};
	instance_limits_merge(&a, &c);
	ok(a.has_memory && a.memory == 64 << 20 && strcmp(a.cpuset, "0-1") == 0 && a.has_pids && a.pids == 10,
	   "merge keeps earlier fields and adds new ones");
	ok(a.n_io_max == 1 && a.io_max[0].rbps == 100 && a.io_max[0].wbps == 200, "merge combines one device's limits");
	struct oci_resources r;
	memset(&r, 0, sizeof(r));
	a.has_cpus = true;
	a.cpu_quota = 150000;
	a.cpu_period = 100000;
	a.has_io_weight = true;
	a.io_weight = 200;
	ok(instance_limits_to_oci(&a, &r, &err) == 0, "limits convert to linux.resources");
	ok(r.memory.has_limit && r.memory.limit == 64 << 20, "memory.limit");
	ok(r.cpu.has_quota && r.cpu.quota == 150000 && r.cpu.period == 100000 && strcmp(r.cpu.cpus, "0-1") == 0,
	   "cpu quota, period, cpus");
	ok(r.blkio.has_weight && r.blkio.weight == 200, "blockIO.weight");
	ok(r.blkio.n_throttle_read_bps == 1 && r.blkio.throttle_read_bps[0].rate == 100 &&
		   r.blkio.n_throttle_write_bps == 1 && r.blkio.throttle_write_bps[0].rate == 200 &&
		   r.blkio.n_throttle_read_iops == 0,
	   "throttle devices only for the limits given");
	ok(r.has_pids_limit && r.pids_limit == 10, "pids.limit");
	oci_resources_clear(&r);
	memset(&r, 0, sizeof(r));
	struct instance_limits bad = {.has_io_weight = true, .io_weight = 5};
	ok(instance_limits_to_oci(&bad, &r, &err) < 0, "io weight 5 refused");
	oci_resources_clear(&r);
	free(b.cpuset);
	free(io.device);
	free(io2.device);
	instance_limits_clear(&a);
}

static void test_busybox_image(const char *tmp)
{
	struct hangar_error err;
	_cleanup_free_ char *root = xasprintf("%s/bb", tmp);
	if (access("/bin/busybox", X_OK) < 0) {
		skip("no /bin/busybox (busybox-static)");
		return;
	}
	ok(image_store_build_busybox(NULL, root, &err) == 0, "busybox image built (%s)", err.msg);
	_cleanup_free_ char *bb = xasprintf("%s/bin/busybox", root);
	struct stat st;
	ok(stat(bb, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111), "bin/busybox is an executable copy");
	_cleanup_free_ char *sh = xasprintf("%s/bin/sh", root);
	char target[256] = "";
	ssize_t n = readlink(sh, target, sizeof(target) - 1);
	if (n > 0)
		target[n] = '\0';
	is_str(target, "/bin/busybox", "bin/sh -> /bin/busybox");
	_cleanup_free_ char *init = xasprintf("%s/sbin/init", root);
	ok(lstat(init, &st) == 0 && S_ISLNK(st.st_mode), "sbin/init applet link");
	_cleanup_free_ char *inittab = xasprintf("%s/etc/inittab", root);
	_cleanup_free_ char *text = NULL;
	ok(read_file_at(AT_FDCWD, inittab, &text, NULL, &err) == 0 && strstr(text, "::shutdown:") &&
		   strstr(text, "cttyhack"),
	   "inittab with shutdown entries and a console shell");
	_cleanup_free_ char *tmpdir = xasprintf("%s/tmp", root);
	ok(stat(tmpdir, &st) == 0 && (st.st_mode & 07777) == 01777, "tmp is 1777");
	ok(image_store_build_busybox(NULL, root, &err) < 0, "building into an existing directory fails");
	_cleanup_free_ char *other = xasprintf("%s/bb2", tmp);
	ok(image_store_build_busybox("/bin/true", other, &err) < 0 &&
	       strstr(err.msg, "/bin/true is dynamically linked") && strchr(err.msg, '\n') == NULL &&
	       access(other, F_OK) < 0,
	   "a dynamically linked binary is refused by name, nothing made (%s)", err.msg);
	/* Answers --list-full as busybox does: only the ELF check stops it. */
	_cleanup_free_ char *fake = xasprintf("%s/fake-busybox", tmp);
	const char script[] = "#!/bin/sh\nprintf 'bin/sh\\nbin/ls\\n'\n";
	ok(write_file_at(AT_FDCWD, fake, script, sizeof(script) - 1, O_WRONLY | O_CREAT | O_TRUNC, 0755,
			 &err) == 0 &&
	       image_store_build_busybox(fake, other, &err) < 0 &&
	       strstr(err.msg, "is not an ELF executable") && strstr(err.msg, fake) &&
	       access(other, F_OK) < 0,
	   "a script that lists bin/sh is refused as not an ELF executable (%s)", err.msg);
	if (access("/sbin/ldconfig", R_OK) == 0) {
		ok(image_store_build_busybox("/sbin/ldconfig", other, &err) < 0 &&
		       strstr(err.msg, "not a static busybox") && access(other, F_OK) < 0,
		   "a static(-pie) ELF that is not busybox still fails the --list-full check (%s)", err.msg);
	} else {
		skip("no /sbin/ldconfig");
	}
}

static void test_copy_tree(const char *tmp)
{
	struct hangar_error err;
	_cleanup_free_ char *src = xasprintf("%s/src", tmp), *dst = xasprintf("%s/dst", tmp);
	_cleanup_free_ char *f = xasprintf("%s/file", src), *l = xasprintf("%s/hardlink", src),
			    *s = xasprintf("%s/sym", src), *d = xasprintf("%s/dir", src), *fifo = xasprintf("%s/fifo", src);
	mkdir(src, 0755);
	mkdir(d, 0750);
	write_file_at(AT_FDCWD, f, "data", 4, O_WRONLY | O_CREAT, 0644, &err);
	chmod(f, 04755);
	link(f, l);
	symlink("file", s);
	mkfifo(fifo, 0600);
	bool have_xattr = setxattr(f, "user.hangar", "v", 1, 0) == 0;
	chown(d, 1234, 5678);
	ok(image_store_copy_tree(src, dst, &err) == 0, "copy tree (%s)", err.msg);
	_cleanup_free_ char *df = xasprintf("%s/file", dst), *dl = xasprintf("%s/hardlink", dst),
			    *ds = xasprintf("%s/sym", dst), *dd = xasprintf("%s/dir", dst), *dfifo = xasprintf("%s/fifo", dst);
	struct stat a, b;
	ok(stat(df, &a) == 0 && (a.st_mode & 07777) == 04755, "set-uid mode kept");
	ok(stat(dl, &b) == 0 && a.st_ino == b.st_ino, "hard link kept");
	char t[64] = "";
	ssize_t n = readlink(ds, t, sizeof(t) - 1);
	if (n > 0)
		t[n] = '\0';
	is_str(t, "file", "symlink kept");
	ok(stat(dd, &a) == 0 && a.st_uid == 1234 && a.st_gid == 5678 && (a.st_mode & 07777) == 0750,
	   "directory owner and mode kept");
	ok(lstat(dfifo, &a) == 0 && S_ISFIFO(a.st_mode), "fifo kept");
	if (have_xattr) {
		char v[8] = "";
		ok(getxattr(df, "user.hangar", v, sizeof(v)) == 1 && v[0] == 'v', "xattr kept");
	} else {
		skip("filesystem without user xattrs");
	}
	ok(image_store_copy_tree(src, dst, &err) < 0, "copy into an existing directory fails");
}

static void test_store(const char *tmp)
{
	struct hangar_error err;
	hangar_error_clear(&err);
	_cleanup_free_ char *data = xasprintf("%s/data", tmp), *run = xasprintf("%s/run", tmp);
	struct hangar_paths p;
	ok(hangar_paths_init(&p, data, run, &err) == 0, "paths made (%s)", err.msg);
	ok(strncmp(p.cgroup_prefix, "hangar-", 7) == 0 && strlen(p.cgroup_prefix) == 16,
	   "non-default store gets its own cgroup prefix (%s)", p.cgroup_prefix);
	_cleanup_free_ char *oci = xasprintf("%s/oci", run);
	is_str(p.oci_root, oci, "OCI root under the run dir");
	if (access("/bin/busybox", X_OK) < 0) {
		skip("no busybox: instance store tests");
		hangar_paths_clear(&p);
		return;
	}
	struct instance_limits lim = {.has_memory = true, .memory = 128 << 20};
	char *cmd[] = {"sh", "-c", "true", NULL};
	char *env[] = {"A=1", NULL};
	struct instance_create_opts o = {.name = "u1",
					 .cmd = cmd,
					 .env = env,
					 .networks = (char *[]){"none", NULL},
					 .limits = &lim,
					 .hostname = "h1"};
	struct instance *inst = NULL;
	ok(instance_create(&p, &o, &inst, &err) == 0, "instance_create (%s)", err.msg);
	instance_free(inst);
	inst = NULL;
	ok(instance_create(&p, &o, &inst, &err) < 0 && err.code == HANGAR_E_EXISTS, "second create: %s", err.msg);
	ok(instance_load(&p, "u1", &inst, &err) == 0, "instance_load");
	if (inst) {
		is_str(inst->image, "default", "image recorded");
		is_str(inst->hostname, "h1", "hostname recorded");
		ok(inst->cmd && strv_len(inst->cmd) == 3 && strcmp(inst->cmd[2], "true") == 0, "command recorded");
		ok(inst->limits.has_memory && inst->limits.memory == 128 << 20, "limits recorded");
		ok(inst->env && strcmp(inst->env[0], "A=1") == 0, "env recorded");
		ok(inst->networks && strv_len(inst->networks) == 1 && strcmp(inst->networks[0], "none") == 0,
		   "network recorded");
		ok(instance_stop_signal(inst) == SIGTERM, "a command is stopped with SIGTERM");
		inst->init = true;
		ok(instance_stop_signal(inst) == SIGUSR2, "busybox init is stopped with SIGUSR2 (poweroff)");
		inst->init = false;
		struct oci_config *cfg = NULL;
		ok(instance_build_oci_config(&p, inst, &cfg, &err) == 0, "OCI config built");
		if (cfg) {
			ok(cfg->process.terminal, "terminal on");
			ok(cfg->linux_.seccomp.present && cfg->linux_.seccomp.n_syscalls > 0, "default seccomp profile");
			ok(oci_config_namespace(cfg, OCI_NS_CGROUP) != NULL, "cgroup namespace");
			ok(oci_config_namespace(cfg, OCI_NS_NETWORK) != NULL, "network namespace for --network none");
			ok(cfg->linux_.resources.memory.has_limit && cfg->linux_.resources.memory.limit == 128 << 20,
			   "memory limit in config");
			is_str(cfg->root.path, inst->rootfs, "root.path is the overlay mount point");
			ok(!cfg->root.readonly, "root is writable");
			bool env_a = false, hostname_env = false;
			for (size_t i = 0; i < cfg->process.n_env; i++) {
				env_a |= strcmp(cfg->process.env[i], "A=1") == 0;
				hostname_env |= strcmp(cfg->process.env[i], "HOSTNAME=h1") == 0;
			}
			ok(env_a && hostname_env, "env from the instance plus HOSTNAME");
			_cleanup_free_ char *cgpath = xasprintf("/hangar/%su1", p.cgroup_prefix);
			is_str(cfg->linux_.cgroups_path, cgpath, "cgroupsPath: /hangar/<store prefix><name>");
			oci_config_free(cfg);
		}
		free(inst->networks[0]);
		inst->networks[0] = xstrdup("host");
		ok(instance_build_oci_config(&p, inst, &cfg, &err) == 0 && !oci_config_namespace(cfg, OCI_NS_NETWORK),
		   "--network host: no network namespace");
		oci_config_free(cfg);
		struct instance_runtime rt;
		ok(instance_get_runtime(&p, inst, &rt, &err) == 0 && rt.status == INSTANCE_STOPPED && !rt.leftovers,
		   "a new instance is STOPPED without leftovers");
		instance_free(inst);
	}
	ok(image_store_remove(&p, "default", &err) < 0 && err.code == HANGAR_E_STATE && strstr(err.msg, "u1"),
	   "image in use cannot be removed: %s", err.msg);
	struct image_info *infos = NULL;
	size_t n = 0;
	ok(image_store_list(&p, &infos, &n, &err) == 0 && n == 1 && infos[0].size > 100000 && infos[0].users[0] &&
		   strcmp(infos[0].users[0], "u1") == 0,
	   "image list: default, its size and user");
	image_store_infos_free(infos, n);
	char **names = NULL;
	ok(instance_list_names(&p, &names, &err) == 0 && strv_len(names) == 1, "one instance listed");
	strv_free(names);
	ok(instance_set_limits(&p, "u1", &lim, false, &err) < 0 && err.code == HANGAR_E_STATE,
	   "set without --save on a stopped instance refused");
	struct instance_limits pids = {.has_pids = true, .pids = 42};
	ok(instance_set_limits(&p, "u1", &pids, true, &err) == 0, "set --save on a stopped instance (%s)", err.msg);
	inst = NULL;
	ok(instance_load(&p, "u1", &inst, &err) == 0 && inst->limits.has_pids && inst->limits.pids == 42 &&
		   inst->limits.has_memory,
	   "--save merged into instance.json");
	instance_free(inst);
	ok(instance_destroy(&p, "u1", false, &err) == 0, "destroy (%s)", err.msg);
	ok(instance_load(&p, "u1", &inst, &err) < 0 && err.code == HANGAR_E_NOTFOUND, "gone: %s", err.msg);
	ok(image_store_remove(&p, "default", &err) == 0, "image removable once unused");
	struct instance_create_opts bad = {
	    .name = "u2", .image = "nope", .networks = (char *[]){"none", NULL}};
	ok(instance_create(&p, &bad, &inst, &err) < 0 && err.code == HANGAR_E_NOTFOUND, "unknown image: %s", err.msg);
	_cleanup_free_ char *u2 = xasprintf("%s/instances/u2", data);
	ok(access(u2, F_OK) < 0, "failed create leaves nothing");
	hangar_paths_clear(&p);
}

/* A fake image whose /sbin/init is a symlink to target (NULL: a plain file). */
static char *fake_init_image(const char *tmp, const char *name, const char *target)
{
	struct hangar_error err;
	char *root = xasprintf("%s/%s", tmp, name);
	_cleanup_free_ char *sbin = xasprintf("%s/sbin", root);
	_cleanup_free_ char *init = xasprintf("%s/init", sbin);
	if (mkdir_p(sbin, 0755, &err) < 0)
		return root;
	/* A failure shows as a wrong kind in the checks. */
	if (target) {
		if (symlink(target, init) < 0)
			diag("symlink %s: %s", init, strerror(errno));
	} else if (write_file_at(AT_FDCWD, init, "#!/bin/sh\n", 10, O_WRONLY | O_CREAT | O_TRUNC, 0755,
				 &err) < 0) {
		diag("%s", err.msg);
	}
	return root;
}

static int stop_signal_of(const char *image_rootfs, bool init)
{
	struct instance inst = {.init = init, .image_rootfs = (char *)image_rootfs};
	return instance_stop_signal(&inst);
}

static void test_init_kinds(const char *tmp)
{
	_cleanup_free_ char *sd = fake_init_image(tmp, "img-systemd", "/lib/systemd/systemd");
	_cleanup_free_ char *plain = fake_init_image(tmp, "img-plain", NULL);
	_cleanup_free_ char *bb = fake_init_image(tmp, "img-busybox", "/bin/busybox");
	_cleanup_free_ char *other = fake_init_image(tmp, "img-other", "/sbin/openrc-init");
	ok(instance_init_kind_of_root(sd) == INSTANCE_INIT_SYSTEMD,
	   "sbin/init -> /lib/systemd/systemd is systemd");
	ok(stop_signal_of(sd, true) == SIGRTMIN + 3, "systemd is stopped with SIGRTMIN+3");
	ok(stop_signal_of(plain, true) == SIGPWR, "a plain /sbin/init (sysvinit) is stopped with SIGPWR");
	ok(stop_signal_of(bb, true) == SIGUSR2, "busybox init is stopped with SIGUSR2 (its poweroff)");
	ok(stop_signal_of(other, true) == SIGPWR, "another init's symlink: SIGPWR");
	ok(stop_signal_of(sd, false) == SIGTERM, "not --init: SIGTERM whatever the image has");
	_cleanup_free_ char *none = xasprintf("%s/img-none", tmp);
	mkdir(none, 0755);
	ok(stop_signal_of(none, true) == SIGPWR, "no /sbin/init at all: SIGPWR");

	/* /sbin as an absolute symlink is followed inside the image, never to
	 * the host's /usr/sbin/init. */
	_cleanup_free_ char *abs = xasprintf("%s/img-abs", tmp);
	_cleanup_free_ char *usr_sbin = xasprintf("%s/usr/sbin", abs);
	_cleanup_free_ char *abs_init = xasprintf("%s/init", usr_sbin);
	_cleanup_free_ char *abs_sbin = xasprintf("%s/sbin", abs);
	struct hangar_error err;
	ok(mkdir_p(usr_sbin, 0755, &err) == 0 && symlink("/lib/systemd/systemd", abs_init) == 0 &&
	       symlink("/usr/sbin", abs_sbin) == 0,
	   "image with /sbin -> /usr/sbin (absolute)");
	ok(instance_init_kind_of_root(abs) == INSTANCE_INIT_SYSTEMD,
	   "absolute /sbin symlink resolved in the image");

	/* What systemd mode adds to a config. */
	struct oci_config *cfg = NULL;
	if (oci_config_default(false, &cfg, &err) < 0) {
		ok(0, "default config: %s", err.msg);
		return;
	}
	size_t before = cfg->n_mounts;
	instance_config_add_systemd(cfg);
	ok(cfg->n_mounts == before + 3 && strcmp(cfg->mounts[before].destination, "/run") == 0 &&
	       strcmp(cfg->mounts[before + 1].destination, "/run/lock") == 0 &&
	       strcmp(cfg->mounts[before + 2].destination, "/tmp") == 0 &&
	       strcmp(cfg->mounts[before].type, "tmpfs") == 0,
	   "systemd mode: tmpfs /run, /run/lock, /tmp after the default mounts");
	ok(cgroup_config_wants_systemd(cfg), "systemd mode: cgroup subtree annotation set");
	oci_config_free(cfg);
}

/* destroy unlinks NAME.lock while holding it.  A command that was waiting
 * on the unlinked file must not count as holding the name's lock while a
 * later command holds a lock on the new file. */
static void test_lock_unlinked(const char *tmp)
{
	struct hangar_error err;
	hangar_error_clear(&err);
	_cleanup_free_ char *data = xasprintf("%s/lockdata", tmp), *run = xasprintf("%s/lockrun", tmp);
	struct hangar_paths p;
	if (hangar_paths_init(&p, data, run, &err) < 0) {
		ok(0, "paths for the lock test (%s)", err.msg);
		return;
	}
	_cleanup_free_ char *path = xasprintf("%s/locky.lock", p.run_instances_dir);
	int first = hangar_lock_instance(&p, "locky", &err);
	ok(first >= 0, "first lock held (%s)", err.msg);
	int pipefd[2];
	if (first < 0 || pipe(pipefd) < 0) {
		hangar_paths_clear(&p);
		return;
	}
	pid_t child = fork();
	if (child == 0) {
		/* Waits on the file that is about to be unlinked (not through
		 * the parent's open file, whose lock fork shares). */
		close(first);
		struct hangar_error e;
		int fd = hangar_lock_instance(&p, "locky", &e);
		char c = fd >= 0 ? 'L' : 'E';
		if (write(pipefd[1], &c, 1) != 1)
			_exit(2);
		_exit(0);
	}
	close(pipefd[1]);
	usleep(200000); /* the child is blocked in flock on the old inode */
	unlink(path);
	int second = hangar_lock_instance(&p, "locky", &err);
	ok(second >= 0, "after the unlink a later command locks the new file (%s)", err.msg);
	close(first); /* the child now gets the old, unlinked inode */
	struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
	ok(poll(&pfd, 1, 500) == 0, "the waiter does not hold the lock while the new file's holder does");
	close(second);
	char c = 0;
	ok(poll(&pfd, 1, 5000) == 1 && read(pipefd[0], &c, 1) == 1 && c == 'L',
	   "it gets the lock once the new file's holder lets go");
	close(pipefd[0]);
	int status;
	waitpid(child, &status, 0);
	hangar_paths_clear(&p);
}

int main(void)
{
	char tmpl[] = "/tmp/test_manager.XXXXXX";
	char *tmp = mkdtemp(tmpl);
	if (tmp == NULL) {
		printf("not ok 1 - mkdtemp\n1..1\n");
		return 1;
	}
	test_parsers();
	test_zombie_not_alive();
	test_limits();
	test_busybox_image(tmp);
	test_copy_tree(tmp);
	test_store(tmp);
	test_init_kinds(tmp);
	test_lock_unlinked(tmp);
	struct hangar_error err;
	rm_rf(tmp, &err);
	return tap_done();
}
