/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rootfs_prepare / rootfs_pivot / rootfs_finalize on a scratch busybox root.
 * Every scenario runs in a forked child that unshares its mount namespace
 * (so nothing leaks to the host) and reports its TAP counters back.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "config/oci.h"
#include "rootfs/mountinfo.h"
#include "rootfs/resolve.h"
#include "rootfs/rootfs.h"
#include "tests/unit/tap.h"

static char scratch[] = "/tmp/hangar-test-rootfs.XXXXXX";
static char image[4096]; /* pristine busybox root, copied per scenario */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = NULL;
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	int r = system(cmd);
	free(cmd);
	return r;
}

/* A fresh copy of the busybox root for one scenario. */
static char *new_root(const char *name)
{
	char *dir = xasprintf("%s/%s", scratch, name);
	if (sh("cp -a '%s' '%s'", image, dir) != 0) {
		fprintf(stderr, "cannot copy image to %s\n", dir);
		exit(1);
	}
	return dir;
}

/* Run fn in a child in its own mount namespace; its ok()s count here. */
static void in_child(const char *what, void (*fn)(void *), void *arg, int extra_unshare)
{
	int p[2];
	if (pipe(p) < 0)
		abort();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (unshare(CLONE_NEWNS | extra_unshare) < 0) {
			ok(0, "%s: unshare: %s", what, strerror(errno));
		} else {
			/* Keep this test's mounts from reaching the host. */
			mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
			fn(arg);
		}
		int counts[2] = {tap_n, tap_failed};
		if (write(p[1], counts, sizeof(counts)) != sizeof(counts))
			_exit(2);
		fflush(stdout);
		_exit(0);
	}
	close(p[1]);
	int counts[2];
	ssize_t n = read(p[0], counts, sizeof(counts));
	int status;
	waitpid(pid, &status, 0);
	close(p[0]);
	if (n == sizeof(counts)) {
		tap_n = counts[0];
		tap_failed = counts[1];
	}
	ok(n == sizeof(counts) && WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child finished cleanly",
	   what);
}

static struct oci_config *parse(const char *json)
{
	struct oci_config *cfg = NULL;
	struct hangar_error err = {0};
	if (oci_config_parse(json, &cfg, &err) < 0) {
		fprintf(stderr, "config: %s\n%s\n", err.msg, json);
		exit(1);
	}
	return cfg;
}

static const struct mountinfo_entry *find_mount(struct mountinfo *mi, const char *path)
{
	mountinfo_free(mi);
	struct hangar_error err;
	if (mountinfo_read("/proc/self/mountinfo", mi, &err) < 0)
		return NULL;
	return mountinfo_find(mi, path);
}

static bool fstype_at(const char *path, const char *fstype)
{
	struct mountinfo mi = {0};
	const struct mountinfo_entry *e = find_mount(&mi, path);
	bool r = e && strcmp(e->fstype, fstype) == 0;
	if (!r)
		diag("mount at %s: %s", path, e ? e->fstype : "none");
	mountinfo_free(&mi);
	return r;
}

static bool is_char_dev(const char *path, unsigned maj, unsigned min)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == maj &&
	       minor(st.st_rdev) == min;
}

static bool link_is(const char *path, const char *target)
{
	char buf[256];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, target) == 0;
}

static int write_errno(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	int r = write(fd, "1", 1) < 0 ? errno : 0;
	close(fd);
	return r;
}

/* ---- the default spec, end to end ---- */

static void scenario_default(void *arg)
{
	const char *root = arg;
	struct oci_config *cfg = NULL;
	struct hangar_error err = {0};
	if (oci_config_default(false, &cfg, &err) < 0) {
		ok(0, "default config: %s", err.msg);
		return;
	}
	struct stat host_pts;
	stat("/dev/pts", &host_pts);
	bool has_kcore = access("/proc/kcore", F_OK) == 0;
	_cleanup_free_ char *host_timer_list = NULL;
	read_file_at(AT_FDCWD, "/proc/timer_list", &host_timer_list, NULL, &err);
	struct rootfs_options o = {0};
	uint64_t t0 = now_ns();
	int r = rootfs_prepare(cfg, root, &o, &err);
	diag("rootfs_prepare of the default spec took %.2f ms", (double)(now_ns() - t0) / 1e6);
	ok(r == 0, "default spec: rootfs_prepare succeeds%s%s", r ? ": " : "", r ? err.msg : "");
	if (r < 0)
		return;
	char p[4096];
	snprintf(p, sizeof(p), "%s/proc", root);
	ok(fstype_at(p, "proc"), "default spec: proc mounted on /proc");
	snprintf(p, sizeof(p), "%s/dev", root);
	ok(fstype_at(p, "tmpfs"), "default spec: tmpfs on /dev");
	snprintf(p, sizeof(p), "%s/dev/pts", root);
	ok(fstype_at(p, "devpts"), "default spec: devpts on /dev/pts");
	snprintf(p, sizeof(p), "%s/sys", root);
	ok(fstype_at(p, "sysfs"), "default spec: sysfs on /sys");
	snprintf(p, sizeof(p), "%s/sys/fs/cgroup", root);
	struct statfs sfs;
	ok(statfs(p, &sfs) == 0, "default spec: something mounted on /sys/fs/cgroup");
	snprintf(p, sizeof(p), "%s/dev/mqueue", root);
	ok(fstype_at(p, "mqueue"), "default spec: mqueue on /dev/mqueue");

	r = rootfs_pivot(root, &o, &err);
	ok(r == 0, "default spec: rootfs_pivot succeeds%s%s", r ? ": " : "", r ? err.msg : "");
	if (r < 0)
		return;
	char cwd[256];
	ok(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/") == 0, "after pivot: cwd is /");
	ok(access("/bin/busybox", X_OK) == 0, "after pivot: the image is the root");
	ok(access("/work", F_OK) < 0, "after pivot: the host root is gone");
	struct mountinfo mi = {0};
	const struct mountinfo_entry *e = find_mount(&mi, "/");
	ok(e && mi.n > 0 && strcmp(mi.entries[0].mount_point, "/") == 0,
	   "after pivot: / is the first mount left");
	bool host_leftover = false;
	for (size_t i = 0; i < mi.n; i++)
		if (str_has_prefix(mi.entries[i].mount_point, "/work") ||
		    strcmp(mi.entries[i].fstype, "devtmpfs") == 0)
			host_leftover = true;
	ok(!host_leftover, "after pivot: no host mount is left in the table");
	mountinfo_free(&mi);

	ok(is_char_dev("/dev/null", 1, 3), "/dev/null is char 1:3");
	ok(is_char_dev("/dev/zero", 1, 5), "/dev/zero is char 1:5");
	ok(is_char_dev("/dev/full", 1, 7), "/dev/full is char 1:7");
	ok(is_char_dev("/dev/random", 1, 8), "/dev/random is char 1:8");
	ok(is_char_dev("/dev/urandom", 1, 9), "/dev/urandom is char 1:9");
	ok(is_char_dev("/dev/tty", 5, 0), "/dev/tty is char 5:0");
	struct stat st;
	ok(stat("/dev/null", &st) == 0 && (st.st_mode & 0777) == 0666,
	   "/dev/null has mode 0666 despite the umask");
	ok(link_is("/dev/fd", "/proc/self/fd"), "/dev/fd -> /proc/self/fd");
	ok(link_is("/dev/stdin", "/proc/self/fd/0"), "/dev/stdin -> /proc/self/fd/0");
	ok(link_is("/dev/stdout", "/proc/self/fd/1"), "/dev/stdout -> /proc/self/fd/1");
	ok(link_is("/dev/stderr", "/proc/self/fd/2"), "/dev/stderr -> /proc/self/fd/2");
	if (has_kcore)
		ok(link_is("/dev/core", "/proc/kcore"), "/dev/core -> /proc/kcore");
	else
		ok(access("/dev/core", F_OK) < 0 && errno == ENOENT,
		   "no /dev/core: this kernel has no /proc/kcore");
	ok(link_is("/dev/ptmx", "pts/ptmx"), "/dev/ptmx -> pts/ptmx");
	struct stat ptmx, pts;
	ok(stat("/dev/ptmx", &ptmx) == 0 && stat("/dev/pts", &pts) == 0 && ptmx.st_dev == pts.st_dev &&
	       pts.st_dev != host_pts.st_dev,
	   "/dev/ptmx is the container's own devpts instance, not the host's");
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	ok(master >= 0, "/dev/ptmx can be opened (ptmxmode=0666)");
	if (master >= 0) {
		char name[64] = "";
		ptsname_r(master, name, sizeof(name));
		ok(strcmp(name, "/dev/pts/0") == 0, "first pty of the new instance is /dev/pts/0 (got %s)",
		   name);
		close(master);
	} else {
		skip("no pty");
	}
	struct stat console;
	ok(cfg->process.terminal && stat("/dev/console", &console) == 0 && S_ISREG(console.st_mode) &&
	       console.st_size == 0,
	   "process.terminal: an empty /dev/console file for the console bind");

	t0 = now_ns();
	r = rootfs_finalize(cfg, &err);
	diag("rootfs_finalize of the default spec took %.2f ms", (double)(now_ns() - t0) / 1e6);
	ok(r == 0, "default spec: rootfs_finalize succeeds%s%s", r ? ": " : "", r ? err.msg : "");
	if (r < 0)
		return;
	char buf[64];
	if (has_kcore) {
		int fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
		ok(fd >= 0 && read(fd, buf, sizeof(buf)) == 0, "masked /proc/kcore reads as empty");
		if (fd >= 0)
			close(fd);
	} else {
		skip("this kernel has no /proc/kcore; /proc/timer_list stands in for it");
	}
	ok(host_timer_list && host_timer_list[0] != '\0', "unmasked /proc/timer_list has content");
	int fd = open("/proc/timer_list", O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && read(fd, buf, sizeof(buf)) == 0, "masked /proc/timer_list reads as empty");
	if (fd >= 0)
		close(fd);
	ok(stat("/proc/timer_list", &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
	       minor(st.st_rdev) == 3,
	   "masked /proc/timer_list is /dev/null");
	_cleanup_closedir_ DIR *d = opendir("/sys/firmware");
	int entries = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			entries++;
	ok(d != NULL && entries == 0, "masked /sys/firmware lists nothing (the host's has entries)");
	ok(statfs("/sys/firmware", &sfs) == 0 && sfs.f_type == 0x01021994 /* TMPFS_MAGIC */,
	   "masked /sys/firmware is a tmpfs");
	ok(write_errno("/sys/firmware/x") == EROFS, "masked directory is read-only");
	ok(write_errno("/proc/sys/kernel/domainname") == EROFS, "read-only /proc/sys: write gets EROFS");
	ok(write_errno("/proc/sys/vm/drop_caches") == EROFS, "read-only /proc/sys: nested file gets EROFS");
	ok(write_errno("/tmp/x") == EROFS, "root.readonly: writing to / gets EROFS");
	ok(write_errno("/dev/shm/x") == 0, "root.readonly leaves /dev/shm writable");
	struct statvfs proc_vfs, sys_vfs;
	ok(statvfs("/proc", &proc_vfs) == 0 && statvfs("/proc/sys", &sys_vfs) == 0 &&
	       sys_vfs.f_flag == (proc_vfs.f_flag | ST_RDONLY),
	   "read-only /proc/sys keeps the other flags of /proc");
	oci_config_free(cfg);
}

/* ---- a malicious image: symlinks and ".." must not lead out of the root ---- */

struct escape_case {
	const char *root;
	const char *outside; /* host directory the image tries to reach */
};

static void scenario_escape(void *arg)
{
	struct escape_case *c = arg;
	_cleanup_free_ char *json =
	    xasprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\"},\"mounts\":["
		      "{\"destination\":\"/abs/y\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},"
		      "{\"destination\":\"/rel/z\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},"
		      "{\"destination\":\"/etc/x\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},"
		      "{\"destination\":\"/../../../..%s/dotdot\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},"
		      "{\"destination\":\"/dangling-file\",\"type\":\"bind\",\"source\":\"%s/"
		      "f\",\"options\":[\"bind\"]}"
		      "]}",
		      c->root, c->outside, c->outside);
	struct oci_config *cfg = parse(json);
	struct hangar_error err = {0};
	struct rootfs_options o = {0};
	struct mountinfo before = {0};
	mountinfo_read("/proc/self/mountinfo", &before, &err);
	int r = rootfs_prepare(cfg, c->root, &o, &err);
	ok(r == 0, "escape: rootfs_prepare succeeds%s%s", r ? ": " : "", r ? err.msg : "");
	char p[4096];
	ok(access("/x", F_OK) < 0, "escape: /etc -> / did not create /x on the host");
	snprintf(p, sizeof(p), "%s/x", c->root);
	ok(fstype_at(p, "tmpfs"), "escape: /etc/x through etc -> / landed at <root>/x");
	snprintf(p, sizeof(p), "%s/dotdot", c->outside);
	ok(access(p, F_OK) < 0, "escape: ../../ destination did not reach the host");
	snprintf(p, sizeof(p), "%s%s/dotdot", c->root, c->outside);
	ok(fstype_at(p, "tmpfs"), "escape: ../../ destination clamped inside the root");
	snprintf(p, sizeof(p), "%s/y", c->outside);
	ok(access(p, F_OK) < 0 && errno == ENOENT,
	   "escape: absolute symlink abs -> %s did not reach the host", c->outside);
	snprintf(p, sizeof(p), "%s%s/y", c->root, c->outside);
	ok(fstype_at(p, "tmpfs"), "escape: dangling absolute symlink followed and created inside the root");
	snprintf(p, sizeof(p), "%s/run/target-of-dangling", c->root);
	struct stat st;
	ok(stat(p, &st) == 0 && S_ISREG(st.st_mode),
	   "escape: file bind onto a dangling symlink creates its target inside the root");
	ok(access("/run/target-of-dangling", F_OK) < 0, "escape: ... and not on the host");
	snprintf(p, sizeof(p), "%s/z", c->outside);
	ok(access(p, F_OK) < 0, "escape: relative symlink rel -> ../../.. did not reach the host");
	struct mountinfo mi = {0};
	find_mount(&mi, "/");
	bool outside = false;
	for (size_t i = 0; i < mi.n; i++) {
		bool existed = false;
		for (size_t j = 0; j < before.n; j++)
			if (before.entries[j].id == mi.entries[i].id)
				existed = true;
		if (!existed && !str_has_prefix(mi.entries[i].mount_point, c->root)) {
			diag("new mount outside the root: %s", mi.entries[i].mount_point);
			outside = true;
		}
	}
	mountinfo_free(&before);
	ok(!outside, "escape: no new mount outside the root in mountinfo");
	mountinfo_free(&mi);
	oci_config_free(cfg);
}

/* CVE-2019-19921 class: /proc (or /sys) replaced by a symlink in the image. */
static void scenario_proc_symlink(void *arg)
{
	const char *root = arg;
	_cleanup_free_ char *json =
	    xasprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\"},\"mounts\":["
		      "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}]}",
		      root);
	struct oci_config *cfg = parse(json);
	struct hangar_error err = {0};
	struct rootfs_options o = {0};
	int r = rootfs_prepare(cfg, root, &o, &err);
	ok(r < 0 && strstr(err.msg, "symlink"), "proc over a symlink is refused (%s)", err.msg);
	char p[4096];
	snprintf(p, sizeof(p), "%s/fakeproc", root);
	struct statfs sfs;
	ok(statfs(p, &sfs) == 0 && sfs.f_type != 0x9fa0, "no procfs landed on the symlink's target");
	oci_config_free(cfg);
}

static void scenario_sys_symlink(void *arg)
{
	const char *root = arg;
	_cleanup_free_ char *json =
	    xasprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\"},\"mounts\":["
		      "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\"}]}",
		      root);
	struct oci_config *cfg = parse(json);
	struct hangar_error err = {0};
	struct rootfs_options o = {0};
	int r = rootfs_prepare(cfg, root, &o, &err);
	ok(r < 0 && strstr(err.msg, "symlink"), "sysfs over a symlink is refused (%s)", err.msg);
	oci_config_free(cfg);
}

static void scenario_proc_cover(void *arg)
{
	const char *root = arg;
	_cleanup_free_ char *json =
	    xasprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\"},\"mounts\":["
		      "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
		      "{\"destination\":\"/proc/self/attr\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}]}",
		      root);
	struct oci_config *cfg = parse(json);
	struct hangar_error err = {0};
	struct rootfs_options o = {0};
	int r = rootfs_prepare(cfg, root, &o, &err);
	ok(r < 0 && strstr(err.msg, "/proc"), "a mount over /proc/self/attr is refused (%s)", err.msg);
	oci_config_free(cfg);
}

/* ---- bind mounts, flags, propagation, data options ---- */

struct bind_case {
	const char *root;
	const char *hostdir; /* has file "f" and a tmpfs submount "sub" with file "g" */
	const char *hostfile;
};

static void scenario_binds(void *arg)
{
	struct bind_case *c = arg;
	/* The submount for the recursive cases lives in this child's namespace. */
	char sub[4096];
	snprintf(sub, sizeof(sub), "%s/sub", c->hostdir);
	if (mount("tmpfs", sub, "tmpfs", 0, "size=1m") < 0 || sh("echo g > '%s/g'", sub) != 0) {
		ok(0, "binds: set up submount: %s", strerror(errno));
		return;
	}
	/* A read-only source: binding it with only "nosuid" must not make it
	 * writable; "rw" must. */
	char rosrc[4096];
	snprintf(rosrc, sizeof(rosrc), "%s/rosrc", c->hostdir);
	/* Read-only as a mount (not as a filesystem): the flag a remount
	 * could drop. */
	if (mkdir(rosrc, 0755) < 0 || sh("echo r > '%s/r'", rosrc) != 0 ||
	    mount(rosrc, rosrc, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, rosrc, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
		ok(0, "binds: set up read-only source: %s", strerror(errno));
		return;
	}
	_cleanup_free_ char *json = xasprintf(
	    "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\"},\"mounts\":["
	    "{\"destination\":\"/mnt/"
	    "ro-nosuid\",\"type\":\"bind\",\"source\":\"%s\",\"options\":[\"bind\",\"nosuid\"]},"
	    "{\"destination\":\"/mnt/"
	    "ro\",\"type\":\"bind\",\"source\":\"%s\",\"options\":[\"bind\",\"ro\",\"nosuid\"]},"
	    "{\"destination\":\"/mnt/rbind-ro\",\"source\":\"%s\",\"options\":[\"rbind\",\"ro\"]},"
	    "{\"destination\":\"/mnt/"
	    "rro\",\"type\":\"none\",\"source\":\"%s\",\"options\":[\"rbind\",\"rro\",\"rnoexec\"]},"
	    "{\"destination\":\"/mnt/"
	    "rw\",\"type\":\"bind\",\"source\":\"%s\",\"options\":[\"bind\",\"shared\"]},"
	    "{\"destination\":\"/mnt/"
	    "priv\",\"type\":\"bind\",\"source\":\"%s\",\"options\":[\"rbind\",\"rprivate\",\"noatime\"]},"
	    "{\"destination\":\"/new/dir/"
	    "file.conf\",\"type\":\"bind\",\"source\":\"%s\",\"options\":[\"bind\",\"ro\"]},"
	    "{\"destination\":\"/"
	    "data\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"mode=700\",\"size="
	    "1024k\",\"uid=12\"]},"
	    "{\"destination\":\"/dev/full\",\"type\":\"bind\",\"source\":\"%s\",\"options\":[\"bind\"]}"
	    "]}",
	    c->root, rosrc, c->hostdir, c->hostdir, c->hostdir, c->hostdir, c->hostdir, c->hostfile,
	    c->hostfile);
	struct oci_config *cfg = parse(json);
	struct hangar_error err = {0};
	struct rootfs_options o = {0};
	int r = rootfs_prepare(cfg, c->root, &o, &err);
	ok(r == 0, "binds: rootfs_prepare succeeds%s%s", r ? ": " : "", r ? err.msg : "");
	if (r < 0)
		return;
	char p[4096];
	snprintf(p, sizeof(p), "%s/mnt/ro/f", c->root);
	ok(access(p, F_OK) == 0, "bind: source content visible");
	ok(write_errno(p) == EROFS, "bind,ro: write gets EROFS");
	struct statvfs vfs;
	ok(statvfs(p, &vfs) == 0 && (vfs.f_flag & ST_NOSUID), "bind,ro,nosuid: nosuid set");
	snprintf(p, sizeof(p), "%s/f", c->hostdir);
	ok(write_errno(p) == 0, "bind,ro: the host's source stays writable");
	snprintf(p, sizeof(p), "%s/mnt/rbind-ro/sub/g", c->root);
	ok(access(p, F_OK) == 0, "rbind: submount visible");
	ok(write_errno(p) == 0, "rbind,ro: submount is not made read-only (runc semantics)");
	snprintf(p, sizeof(p), "%s/mnt/rro/sub/g", c->root);
	ok(write_errno(p) == EROFS, "rbind,rro: submount read-only too");
	ok(statvfs(p, &vfs) == 0 && (vfs.f_flag & ST_NOEXEC), "rnoexec: submount noexec");
	snprintf(p, sizeof(p), "%s/mnt/rw/f", c->root);
	ok(write_errno(p) == 0, "plain bind is writable");

	struct mountinfo mi = {0};
	snprintf(p, sizeof(p), "%s/mnt/rw", c->root);
	const struct mountinfo_entry *e = find_mount(&mi, p);
	ok(e && strstr(e->optional, "shared:"), "bind,shared: mount is shared (%s)", e ? e->optional : "-");
	snprintf(p, sizeof(p), "%s/mnt/priv", c->root);
	e = find_mount(&mi, p);
	ok(e && e->optional[0] == '\0', "rbind,rprivate: mount is private (%s)", e ? e->optional : "-");
	ok(e && mount_option_list_has(e->mount_options, "noatime"), "noatime on a bind is applied (%s)",
	   e ? e->mount_options : "-");
	snprintf(p, sizeof(p), "%s/data", c->root);
	e = find_mount(&mi, p);
	ok(e && mount_option_list_has(e->super_options, "mode=700") &&
	       mount_option_list_has(e->super_options, "size=1024k") &&
	       mount_option_list_has(e->super_options, "uid=12"),
	   "tmpfs data options passed through (%s)", e ? e->super_options : "-");
	ok(e && mount_option_list_has(e->mount_options, "nosuid"), "tmpfs flags applied (%s)",
	   e ? e->mount_options : "-");
	snprintf(p, sizeof(p), "%s/new/dir/file.conf", c->root);
	struct stat st;
	ok(stat(p, &st) == 0 && S_ISREG(st.st_mode),
	   "file bind: missing target created as a file with parents");
	e = find_mount(&mi, p);
	ok(e != NULL, "file bind: the file is a mount point");
	ok(write_errno(p) == EROFS, "file bind,ro: write gets EROFS");
	snprintf(p, sizeof(p), "%s/dev/full", c->root);
	ok(stat(p, &st) == 0 && S_ISREG(st.st_mode),
	   "a configured bind over /dev/full is kept, not replaced by the node");
	snprintf(p, sizeof(p), "%s/mnt/ro-nosuid/r", c->root);
	ok(write_errno(p) == EROFS && statvfs(p, &vfs) == 0 && (vfs.f_flag & ST_NOSUID),
	   "bind,nosuid of a read-only source: nosuid added, still read-only");
	mountinfo_free(&mi);
	oci_config_free(cfg);
}

static void scenario_tmpcopyup(void *arg)
{
	const char *root = arg;
	if (sh("mkdir -p '%s/seed/sub' && echo hello > '%s/seed/sub/file' && ln -s sub/file '%s/seed/link' "
	       "&& "
	       "chmod 0750 '%s/seed' && chown 7:8 '%s/seed/sub/file'",
	       root, root, root, root, root) != 0) {
		ok(0, "tmpcopyup: seed");
		return;
	}
	_cleanup_free_ char *json = xasprintf(
	    "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\"},\"mounts\":["
	    "{\"destination\":\"/"
	    "seed\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"tmpcopyup\",\"size=1m\"]}]}",
	    root);
	struct oci_config *cfg = parse(json);
	struct hangar_error err = {0};
	struct rootfs_options o = {0};
	int r = rootfs_prepare(cfg, root, &o, &err);
	ok(r == 0, "tmpcopyup: rootfs_prepare succeeds%s%s", r ? ": " : "", r ? err.msg : "");
	char p[4096];
	snprintf(p, sizeof(p), "%s/seed", root);
	ok(fstype_at(p, "tmpfs"), "tmpcopyup: tmpfs mounted");
	_cleanup_free_ char *text = NULL;
	snprintf(p, sizeof(p), "%s/seed/sub/file", root);
	ok(read_file_at(AT_FDCWD, p, &text, NULL, &err) == 0 && strcmp(text, "hello\n") == 0,
	   "tmpcopyup: file content copied");
	struct stat st;
	ok(stat(p, &st) == 0 && st.st_uid == 7 && st.st_gid == 8, "tmpcopyup: owner copied");
	snprintf(p, sizeof(p), "%s/seed", root);
	ok(stat(p, &st) == 0 && (st.st_mode & 07777) == 0750, "tmpcopyup: directory mode copied");
	snprintf(p, sizeof(p), "%s/seed/link", root);
	ok(link_is(p, "sub/file"), "tmpcopyup: symlink copied");
	oci_config_free(cfg);
}

/* ---- sysctl ---- */

static void check_sysctl_rejected(const char *root, const char *ns_json, const char *key, const char *why)
{
	_cleanup_free_ char *json =
	    xasprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\"},\"linux\":{\"namespaces\":[%s],"
		      "\"sysctl\":{\"%s\":\"1\"}}}",
		      root, ns_json, key);
	struct oci_config *cfg = parse(json);
	struct hangar_error err = {0};
	int r = rootfs_validate_sysctl(cfg, &err);
	ok(r < 0 && strstr(err.msg, key), "sysctl %s rejected %s (%s)", key, why, err.msg);
	oci_config_free(cfg);
}

static void check_sysctl_allowed(const char *root, const char *ns_json, const char *key)
{
	_cleanup_free_ char *json =
	    xasprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\"},\"linux\":{\"namespaces\":[%s],"
		      "\"sysctl\":{\"%s\":\"1\"}}}",
		      root, ns_json, key);
	struct oci_config *cfg = parse(json);
	struct hangar_error err = {0};
	int r = rootfs_validate_sysctl(cfg, &err);
	ok(r == 0, "sysctl %s allowed with %s%s%s", key, ns_json, r ? ": " : "", r ? err.msg : "");
	oci_config_free(cfg);
}

static void scenario_sysctl_apply(void *arg)
{
	const char *root = arg;
	_cleanup_free_ char *json = xasprintf(
	    "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\"},\"mounts\":["
	    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}],"
	    "\"linux\":{\"namespaces\":[{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"mount\"}],"
	    "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\",\"kernel.shmmni\":\"1234\",\"net/ipv4/conf/lo/"
	    "forwarding\":\"1\"},"
	    "\"readonlyPaths\":[\"/proc/sys\"]}}",
	    root);
	struct oci_config *cfg = parse(json);
	struct hangar_error err = {0};
	struct rootfs_options o = {0};
	int r = rootfs_prepare(cfg, root, &o, &err);
	if (r == 0)
		r = rootfs_pivot(root, &o, &err);
	if (r == 0)
		r = rootfs_finalize(cfg, &err);
	ok(r == 0, "sysctl: prepare/pivot/finalize succeed%s%s", r ? ": " : "", r ? err.msg : "");
	_cleanup_free_ char *v1 = NULL, *v2 = NULL, *v3 = NULL;
	ok(read_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_forward", &v1, NULL, &err) == 0 &&
	       strcmp(v1, "1\n") == 0,
	   "sysctl net.ipv4.ip_forward written in the container's netns");
	ok(read_file_at(AT_FDCWD, "/proc/sys/kernel/shmmni", &v2, NULL, &err) == 0 &&
	       strcmp(v2, "1234\n") == 0,
	   "sysctl kernel.shmmni written in the container's ipc ns");
	ok(read_file_at(AT_FDCWD, "/proc/sys/net/ipv4/conf/lo/forwarding", &v3, NULL, &err) == 0 &&
	       strcmp(v3, "1\n") == 0,
	   "sysctl key with slashes written");
	ok(write_errno("/proc/sys/kernel/shmmni") == EROFS, "/proc/sys read-only after the sysctls");
	oci_config_free(cfg);
}

/* ---- cgroup filesystem ---- */

/* Our path in the hierarchy mounted at host_mp, from /proc/self/cgroup. */
static char *own_path_for(const char *name)
{
	_cleanup_free_ char *text = NULL;
	struct hangar_error err;
	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", &text, NULL, &err) < 0)
		return NULL;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		bool unified = strcmp(name, "unified") == 0;
		if ((unified && c1[1] == '\0') || (!unified && strcmp(c1 + 1, name) == 0) ||
		    (!unified && strcmp(name, "systemd") == 0 && strcmp(c1 + 1, "name=systemd") == 0))
			return xstrdup(c2 + 1);
	}
	return NULL;
}

static void scenario_cgroup(void *arg)
{
	const char *root = arg;
	bool cgroupns = access("/proc/self/ns/cgroup", F_OK) == 0 && getenv("HANGAR_TEST_CGROUPNS");
	struct statfs host;
	bool unified = statfs("/sys/fs/cgroup", &host) == 0 && host.f_type == 0x63677270;
	_cleanup_free_ char *json =
	    xasprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\"},\"mounts\":["
		      "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
		      "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],"
		      "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}%s]}}",
		      root, cgroupns ? ",{\"type\":\"cgroup\"}" : "");
	const char *label = cgroupns ? "cgroup (cgroupns)" : "cgroup (bind own)";
	struct oci_config *cfg = parse(json);
	struct hangar_error err = {0};
	struct rootfs_options o = {0};
	int r = rootfs_prepare(cfg, root, &o, &err);
	ok(r == 0, "%s: rootfs_prepare succeeds%s%s", label, r ? ": " : "", r ? err.msg : "");
	if (r < 0)
		return;
	char p[4096];
	snprintf(p, sizeof(p), "%s/sys/fs/cgroup", root);
	if (unified) {
		struct mountinfo mi = {0};
		const struct mountinfo_entry *c = find_mount(&mi, p);
		_cleanup_free_ char *own = own_path_for("unified");
		const char *want = cgroupns ? "/" : own;
		ok(c && strcmp(c->fstype, "cgroup2") == 0, "%s: unified host: cgroup2 mounted (%s)", label,
		   c ? c->fstype : "none");
		ok(c && want && strcmp(c->root, want) == 0,
		   "%s: shows the container's own cgroup (root %s, want %s)", label, c ? c->root : "-",
		   want ? want : "?");
		snprintf(p, sizeof(p), "%s/sys/fs/cgroup/cgroup.procs", root);
		ok(write_errno(p) == EROFS, "%s: read-only", label);
		mountinfo_free(&mi);
		oci_config_free(cfg);
		return;
	}
	ok(fstype_at(p, "tmpfs"), "%s: hybrid host: tmpfs holds the hierarchies", label);
	char newdir[4200];
	snprintf(newdir, sizeof(newdir), "%s/newdir", p);
	ok(mkdir(newdir, 0755) < 0 && errno == EROFS, "%s: tmpfs is read-only", label);
	struct mountinfo host_mi = {0};
	mountinfo_read("/proc/self/mountinfo", &host_mi, &err);
	int checked = 0, good = 0, ro = 0;
	for (size_t i = 0; i < host_mi.n; i++) {
		const struct mountinfo_entry *e = &host_mi.entries[i];
		if (!str_has_prefix(e->mount_point, "/sys/fs/cgroup/") ||
		    (strcmp(e->fstype, "cgroup") && strcmp(e->fstype, "cgroup2")))
			continue;
		const char *name = e->mount_point + strlen("/sys/fs/cgroup/");
		snprintf(p, sizeof(p), "%s/sys/fs/cgroup/%s", root, name);
		const struct mountinfo_entry *c = mountinfo_find(&host_mi, p);
		_cleanup_free_ char *own = own_path_for(name);
		checked++;
		/* With a cgroup namespace the root is the namespace's root. */
		const char *want = cgroupns ? "/" : own;
		if (c && want && strcmp(c->root, want) == 0 && strcmp(c->fstype, e->fstype) == 0)
			good++;
		else
			diag("%s: %s root %s, want %s", label, p, c ? c->root : "(no mount)",
			     want ? want : "?");
		snprintf(p, sizeof(p), "%s/sys/fs/cgroup/%s/cgroup.procs", root, name);
		if (write_errno(p) == EROFS)
			ro++;
	}
	ok(checked > 0 && good == checked, "%s: each of %d hierarchies shows the container's own cgroup",
	   label, checked);
	ok(checked > 0 && ro == checked, "%s: each hierarchy is read-only (%d of %d)", label, ro, checked);
	mountinfo_free(&host_mi);
	oci_config_free(cfg);
}

/* A systemd init on a hybrid host (CGROUP_ANNOTATION_SYSTEMD, in a cgroup
 * namespace): /sys/fs/cgroup is the unified hierarchy alone, rooted at the
 * namespace; writable when that cgroup has no controllers (HANGAR_TEST_SD_CG
 * names a fresh one to move into first), read-only otherwise (our own
 * unified cgroup when it has some, as the host's root has hugetlb here). */
static void scenario_cgroup_systemd(void *arg)
{
	const char *root = arg;
	const char *fresh = getenv("HANGAR_TEST_SD_CG");
	const char *label = fresh ? "systemd cgroup (no controllers)" : "systemd cgroup (controllers)";
	struct hangar_error err = {0};
	if (fresh) {
		_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", fresh);
		if (write_string_at(AT_FDCWD, procs, "0", &err) < 0) {
			ok(0, "%s: move into %s: %s", label, fresh, err.msg);
			return;
		}
	}
	if (unshare(CLONE_NEWCGROUP) < 0) {
		ok(0, "%s: unshare(CLONE_NEWCGROUP): %s", label, strerror(errno));
		return;
	}
	_cleanup_free_ char *json =
	    xasprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\"},\"mounts\":["
		      "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
		      "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],"
		      "\"annotations\":{\"" CGROUP_ANNOTATION_SYSTEMD "\":\"true\"},"
		      "\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"cgroup\"}]}}",
		      root);
	struct oci_config *cfg = parse(json);
	struct rootfs_options o = {0};
	int r = rootfs_prepare(cfg, root, &o, &err);
	ok(r == 0, "%s: rootfs_prepare succeeds%s%s", label, r ? ": " : "", r ? err.msg : "");
	oci_config_free(cfg);
	if (r < 0)
		return;
	char p[4096];
	snprintf(p, sizeof(p), "%s/sys/fs/cgroup", root);
	struct mountinfo mi = {0};
	const struct mountinfo_entry *c = find_mount(&mi, p);
	ok(c && strcmp(c->fstype, "cgroup2") == 0 && strcmp(c->root, "/") == 0,
	   "%s: cgroup2 alone, the namespace's root (%s %s)", label, c ? c->fstype : "none",
	   c ? c->root : "-");
	mountinfo_free(&mi);
	snprintf(p, sizeof(p), "%s/sys/fs/cgroup/init.scope", root);
	if (fresh) {
		ok(mkdir(p, 0755) == 0 && rmdir(p) == 0, "%s: writable (init.scope made and removed)", label);
	} else {
		ok(mkdir(p, 0755) < 0 && errno == EROFS, "%s: read-only", label);
	}
}

/* ---- linux.rootfsPropagation ---- */

static void scenario_propagation(void *arg)
{
	const char *root = arg;
	const char *prop = getenv("HANGAR_TEST_PROPAGATION");
	if (prop == NULL)
		prop = "rslave";
	_cleanup_free_ char *json =
	    xasprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\"},\"mounts\":["
		      "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}],"
		      "\"linux\":{\"rootfsPropagation\":\"%s\"}}",
		      root, strcmp(prop, "bogus") == 0 ? "rslave" : prop);
	struct oci_config *cfg = parse(json);
	/* The parser refuses unknown values too; the library must not rely
	 * on that (configs are also built in code). */
	if (strcmp(prop, "bogus") == 0) {
		free(cfg->linux_.rootfs_propagation);
		cfg->linux_.rootfs_propagation = xstrdup("bogus");
	}
	struct hangar_error err = {0};
	struct rootfs_options o = {0};
	int r = rootfs_prepare(cfg, root, &o, &err);
	if (strcmp(prop, "bogus") == 0) {
		ok(r < 0 && strstr(err.msg, "rootfsPropagation") && strstr(err.msg, "bogus"),
		   "rootfsPropagation bogus: clear error (%s)", err.msg);
		oci_config_free(cfg);
		return;
	}
	if (r == 0)
		r = rootfs_pivot(root, &o, &err);
	ok(r == 0, "rootfsPropagation %s: prepare + pivot succeed (the shared parent is made private)%s%s",
	   prop, r ? ": " : "", r ? err.msg : "");
	if (r == 0)
		r = rootfs_finalize(cfg, &err);
	ok(r == 0, "rootfsPropagation %s: finalize succeeds%s%s", prop, r ? ": " : "", r ? err.msg : "");
	struct mountinfo mi = {0};
	const struct mountinfo_entry *e = find_mount(&mi, "/");
	bool shared = e && strstr(e->optional, "shared:");
	bool slave = e && strstr(e->optional, "master:");
	if (strstr(prop, "shared"))
		ok(shared, "rootfsPropagation %s: / is shared in the container (%s)", prop,
		   e ? e->optional : "-");
	else if (strstr(prop, "private"))
		ok(!shared && !slave, "rootfsPropagation %s: / is private (%s)", prop, e ? e->optional : "-");
	else
		ok(!shared, "rootfsPropagation %s: / is not shared (%s)", prop, e ? e->optional : "-");
	mountinfo_free(&mi);
	oci_config_free(cfg);
}

/* ---- --no-pivot ---- */

static void scenario_no_pivot(void *arg)
{
	const char *root = arg;
	_cleanup_free_ char *json =
	    xasprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\",\"readonly\":true},\"mounts\":["
		      "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}],"
		      "\"linux\":{\"maskedPaths\":[\"/proc/kcore\",\"/proc/timer_list\",\"/does/not/"
		      "exist\"],\"readonlyPaths\":[\"/proc/sys\"]}}",
		      root);
	struct oci_config *cfg = parse(json);
	struct hangar_error err = {0};
	struct rootfs_options o = {.no_pivot = true};
	int r = rootfs_prepare(cfg, root, &o, &err);
	if (r == 0)
		r = rootfs_pivot(root, &o, &err);
	ok(r == 0, "no_pivot: prepare + move/chroot succeed%s%s", r ? ": " : "", r ? err.msg : "");
	ok(access("/bin/busybox", X_OK) == 0 && access("/work", F_OK) < 0, "no_pivot: the image is the root");
	r = rootfs_finalize(cfg, &err);
	ok(r == 0, "no_pivot: finalize succeeds (missing masked path ignored)%s%s", r ? ": " : "",
	   r ? err.msg : "");
	struct stat st;
	ok(stat("/proc/timer_list", &st) == 0 && S_ISCHR(st.st_mode), "no_pivot: /proc/timer_list masked");
	ok(write_errno("/etc/hostname") == EROFS, "no_pivot: root.readonly");
	oci_config_free(cfg);
}

/* ---- idmapped bind mount ---- */

struct idmap_case {
	const char *root, *hostdir;
};

static void scenario_idmap(void *arg)
{
	struct idmap_case *c = arg;
	_cleanup_free_ char *json =
	    xasprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\"},\"mounts\":["
		      "{\"destination\":\"/idm\",\"type\":\"bind\",\"source\":\"%s\",\"options\":[\"bind\"],"
		      "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":10}],"
		      "\"gidMappings\":[{\"containerID\":0,\"hostID\":2000,\"size\":10}]}]}",
		      c->root, c->hostdir);
	struct oci_config *cfg = parse(json);
	struct hangar_error err = {0};
	struct rootfs_options o = {0};
	int r = rootfs_prepare(cfg, c->root, &o, &err);
	if (r < 0 && err.code == HANGAR_E_UNSUPPORTED) {
		skip("idmapped mounts unsupported here");
		diag("%s", err.msg);
		oci_config_free(cfg);
		return;
	}
	ok(r == 0, "idmap: rootfs_prepare succeeds%s%s", r ? ": " : "", r ? err.msg : "");
	char p[4096];
	struct stat st;
	snprintf(p, sizeof(p), "%s/idm/owned-by-0", c->root);
	ok(stat(p, &st) == 0 && st.st_uid == 1000 && st.st_gid == 2000,
	   "idmap: on-disk 0:0 appears as 1000:2000 (got %u:%u)", (unsigned)st.st_uid, (unsigned)st.st_gid);
	snprintf(p, sizeof(p), "%s/idm/owned-by-3", c->root);
	ok(stat(p, &st) == 0 && st.st_uid == 1003 && st.st_gid == 2003,
	   "idmap: on-disk 3:3 appears as 1003:2003 (got %u:%u)", (unsigned)st.st_uid, (unsigned)st.st_gid);
	snprintf(p, sizeof(p), "%s/owned-by-0", c->hostdir);
	ok(stat(p, &st) == 0 && st.st_uid == 0, "idmap: the source itself is unchanged");
	oci_config_free(cfg);

	_cleanup_free_ char *json2 =
	    xasprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\"},\"mounts\":["
		      "{\"destination\":\"/idm2\",\"type\":\"bind\",\"source\":\"%s\",\"options\":[\"bind\"],"
		      "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":10}]}]}",
		      c->root, c->hostdir);
	cfg = parse(json2);
	r = rootfs_prepare(cfg, c->root, &o, &err);
	ok(r < 0 && strstr(err.msg, "gidMappings"),
	   "idmap: uidMappings without gidMappings is a clear error (%s)", err.msg);
	oci_config_free(cfg);
}

/* ---- inside a user namespace: locked flags, device binds ---- */

struct userns_case {
	const char *root, *hostdir;
};

static int write_self_map(const char *file, const char *map)
{
	struct hangar_error err;
	return write_string_at(AT_FDCWD, file, map, &err);
}

static void scenario_userns(void *arg)
{
	struct userns_case *c = arg;
	/* A nosuid,nodev,noexec mount made before the user namespace: inside
	 * it those flags are locked and every remount must repeat them. */
	if (mount("tmpfs", c->hostdir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m") < 0 ||
	    sh("echo x > '%s/f'", c->hostdir) != 0) {
		ok(0, "userns: set up locked source: %s", strerror(errno));
		return;
	}
	if (unshare(CLONE_NEWUSER) < 0) {
		skip("user namespaces unavailable");
		return;
	}
	if (write_self_map("/proc/self/setgroups", "deny") < 0 ||
	    write_self_map("/proc/self/uid_map", "0 0 1") < 0 ||
	    write_self_map("/proc/self/gid_map", "0 0 1") < 0 || unshare(CLONE_NEWNS) < 0) {
		ok(0, "userns: maps and mount namespace: %s", strerror(errno));
		return;
	}
	_cleanup_free_ char *json = xasprintf(
	    "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"%s\",\"readonly\":true},\"mounts\":["
	    "{\"destination\":\"/locked\",\"type\":\"bind\",\"source\":\"%s\",\"options\":[\"bind\",\"ro\"]},"
	    "{\"destination\":\"/dev/"
	    "shm\",\"type\":\"tmpfs\",\"source\":\"shm\",\"options\":[\"nosuid\",\"nodev\"]}],"
	    "\"linux\":{\"readonlyPaths\":[\"/dev/shm\"],\"maskedPaths\":[\"/etc/passwd\"],"
	    "\"devices\":[{\"path\":\"/dev/kmsg\",\"type\":\"c\",\"major\":1,\"minor\":11}]}}",
	    c->root, c->hostdir);
	struct oci_config *cfg = parse(json);
	struct hangar_error err = {0};
	struct rootfs_options o = {.userns = true};
	int r = rootfs_prepare(cfg, c->root, &o, &err);
	ok(r == 0, "userns: rootfs_prepare succeeds%s%s", r ? ": " : "", r ? err.msg : "");
	if (r < 0)
		return;
	char p[4096];
	snprintf(p, sizeof(p), "%s/locked/f", c->root);
	ok(write_errno(p) == EROFS, "userns: bind,ro of a locked nosuid/nodev/noexec mount is read-only");
	struct statvfs vfs;
	ok(statvfs(p, &vfs) == 0 && (vfs.f_flag & ST_NOSUID) && (vfs.f_flag & ST_NODEV) &&
	       (vfs.f_flag & ST_NOEXEC),
	   "userns: locked flags kept on remount");
	snprintf(p, sizeof(p), "%s/dev/null", c->root);
	ok(is_char_dev(p, 1, 3), "userns: /dev/null is the host node bound in");
	struct mountinfo mi = {0};
	ok(find_mount(&mi, p) != NULL, "userns: /dev/null is a bind mount, not a mknod");
	snprintf(p, sizeof(p), "%s/dev/kmsg", c->root);
	ok(is_char_dev(p, 1, 11) && mountinfo_find(&mi, p), "userns: configured device bound from the host");
	mountinfo_free(&mi);
	r = rootfs_pivot(c->root, &o, &err);
	ok(r == 0, "userns: pivot succeeds%s%s", r ? ": " : "", r ? err.msg : "");
	if (r < 0)
		return;
	r = rootfs_finalize(cfg, &err);
	ok(r == 0, "userns: finalize succeeds%s%s", r ? ": " : "", r ? err.msg : "");
	ok(write_errno("/dev/shm/x") == EROFS, "userns: readonlyPaths applied");
	ok(write_errno("/etc/hostname") == EROFS, "userns: root.readonly applied over locked flags");
	_cleanup_free_ char *text = NULL;
	ok(read_file_at(AT_FDCWD, "/etc/passwd", &text, NULL, &err) == 0 && text[0] == '\0',
	   "userns: masked file reads as empty");
	oci_config_free(cfg);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (mount namespaces)\n");
		return 77;
	}
	if (mkdtemp(scratch) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	const char *top = getenv("TOP") ? getenv("TOP") : ".";
	snprintf(image, sizeof(image), "%s/image", scratch);
	if (sh("'%s/scripts/mkrootfs-busybox' '%s' >/dev/null", top, image) != 0) {
		printf("1..0 # SKIP cannot build the busybox root (busybox-static missing?)\n");
		sh("rm -rf '%s'", scratch);
		return 77;
	}

	_cleanup_free_ char *def = new_root("default");
	in_child("default spec", scenario_default, def, 0);

	struct escape_case esc = {.root = new_root("escape")};
	char outside[4096];
	snprintf(outside, sizeof(outside), "%s/outside", scratch);
	esc.outside = outside;
	sh("mkdir -p '%s' && echo f > '%s/f' && rm -rf '%s/etc' && ln -s / '%s/etc' && ln -s '%s' '%s/abs' "
	   "&& "
	   "ln -s ../../../../../../../../../..%s '%s/rel' && ln -s /run/target-of-dangling "
	   "'%s/dangling-file'",
	   outside, outside, esc.root, esc.root, outside, esc.root, outside, esc.root, esc.root);
	in_child("malicious image", scenario_escape, &esc, 0);

	_cleanup_free_ char *procsym = new_root("procsym");
	sh("rm -rf '%s/proc' && mkdir '%s/fakeproc' && ln -s /fakeproc '%s/proc'", procsym, procsym, procsym);
	in_child("proc over symlink", scenario_proc_symlink, procsym, 0);

	_cleanup_free_ char *syssym = new_root("syssym");
	sh("rm -rf '%s/sys' && ln -s /tmp '%s/sys'", syssym, syssym);
	in_child("sysfs over symlink", scenario_sys_symlink, syssym, 0);

	_cleanup_free_ char *cover = new_root("cover");
	in_child("mount over /proc/self/attr", scenario_proc_cover, cover, 0);

	struct bind_case bc = {.root = new_root("binds")};
	char hostdir[4096], hostfile[4096];
	snprintf(hostdir, sizeof(hostdir), "%s/bindsrc", scratch);
	snprintf(hostfile, sizeof(hostfile), "%s/bindfile", scratch);
	sh("mkdir -p '%s/sub' && echo f > '%s/f' && echo conf > '%s'", hostdir, hostdir, hostfile);
	bc.hostdir = hostdir;
	bc.hostfile = hostfile;
	in_child("binds", scenario_binds, &bc, 0);

	_cleanup_free_ char *copyup = new_root("copyup");
	in_child("tmpcopyup", scenario_tmpcopyup, copyup, 0);

	const char *r = def;
	check_sysctl_rejected(r, "", "vm.swappiness", "always (not namespaced)");
	check_sysctl_rejected(r, "", "kernel.panic", "always (not namespaced)");
	check_sysctl_rejected(r, "{\"type\":\"mount\"}", "net.ipv4.ip_forward",
			      "without a network namespace");
	check_sysctl_rejected(r, "", "kernel.shmmax", "without an ipc namespace");
	check_sysctl_rejected(r, "", "fs.mqueue.msg_max", "without an ipc namespace");
	check_sysctl_rejected(r, "", "kernel.domainname", "without a uts namespace");
	check_sysctl_rejected(r, "{\"type\":\"network\"}", "net/../../kernel/panic", "(path traversal)");
	check_sysctl_allowed(r, "{\"type\":\"network\"}", "net.ipv4.ip_forward");
	check_sysctl_rejected(r, "{\"type\":\"network\",\"path\":\"/proc/self/ns/net\"}",
			      "net.ipv4.ip_forward",
			      "when the network namespace path is the caller's (host's)");
	/* A network namespace of its own, held by a helper process until
	 * hold is closed; ready says the namespace exists. */
	int hold[2], ready[2];
	if (pipe(hold) == 0 && pipe(ready) == 0) {
		pid_t holder = fork();
		if (holder == 0) {
			char byte;
			close(hold[1]);
			close(ready[0]);
			if (unshare(CLONE_NEWNET) == 0 && write(ready[1], "r", 1) == 1)
				while (read(hold[0], &byte, 1) < 0 && errno == EINTR)
					;
			_exit(0);
		}
		close(hold[0]);
		close(ready[1]);
		char byte;
		bool up = read(ready[0], &byte, 1) == 1;
		close(ready[0]);
		_cleanup_free_ char *ns_json =
		    xasprintf("{\"type\":\"network\",\"path\":\"/proc/%d/ns/net\"}", (int)holder);
		if (up)
			check_sysctl_allowed(r, ns_json, "net.ipv4.ip_forward");
		else
			ok(0, "helper process could not make a network namespace");
		close(hold[1]);
		waitpid(holder, NULL, 0);
	}
	check_sysctl_allowed(r, "{\"type\":\"ipc\"}", "kernel.shmmax");
	check_sysctl_allowed(r, "{\"type\":\"ipc\"}", "fs.mqueue.msg_max");
	check_sysctl_allowed(r, "{\"type\":\"uts\"}", "kernel.domainname");
	_cleanup_free_ char *sysroot = new_root("sysctl");
	in_child("sysctl apply", scenario_sysctl_apply, sysroot, CLONE_NEWNET | CLONE_NEWIPC);

	_cleanup_free_ char *cg = new_root("cgroup");
	in_child("cgroup mount", scenario_cgroup, cg, 0);
	_cleanup_free_ char *cgns = new_root("cgroupns");
	setenv("HANGAR_TEST_CGROUPNS", "1", 1);
	in_child("cgroup mount in a cgroup namespace", scenario_cgroup, cgns, CLONE_NEWCGROUP);
	unsetenv("HANGAR_TEST_CGROUPNS");
	struct statfs unified_fs;
	if (statfs("/sys/fs/cgroup/unified", &unified_fs) == 0 && unified_fs.f_type == 0x63677270 &&
	    geteuid() == 0) {
		_cleanup_free_ char *sd_cg =
		    xasprintf("/sys/fs/cgroup/unified/hangar-test-rootfs-%d", (int)getpid());
		_cleanup_free_ char *host_controllers = NULL;
		struct hangar_error cg_err;
		if (mkdir(sd_cg, 0755) == 0) {
			_cleanup_free_ char *sdroot = new_root("cgroup-systemd");
			setenv("HANGAR_TEST_SD_CG", sd_cg, 1);
			in_child("systemd cgroup mount, no controllers", scenario_cgroup_systemd, sdroot, 0);
			unsetenv("HANGAR_TEST_SD_CG");
			ok(rmdir(sd_cg) == 0, "test cgroup %s removed", sd_cg);
		} else {
			ok(0, "mkdir %s: %s", sd_cg, strerror(errno));
		}
		_cleanup_free_ char *own_unified = own_path_for("unified");
		_cleanup_free_ char *own_controllers =
		    xasprintf("/sys/fs/cgroup/unified%s/cgroup.controllers", own_unified ? own_unified : "/");
		if (read_file_at(AT_FDCWD, own_controllers, &host_controllers, NULL, &cg_err) == 0 &&
		    host_controllers[strspn(host_controllers, " \n")] != '\0') {
			_cleanup_free_ char *sdroot2 = new_root("cgroup-systemd-ctl");
			in_child("systemd cgroup mount, controllers", scenario_cgroup_systemd, sdroot2, 0);
		} else {
			skip("our own unified cgroup has no controllers: no read-only case to check");
		}
	} else {
		skip("systemd cgroup layout: not a hybrid host (or not root)");
	}

	static const char *const propagations[] = {"rshared", "shared", "rprivate",
						   "private", "rslave", "bogus"};
	for (size_t i = 0; i < ARRAY_SIZE(propagations); i++) {
		_cleanup_free_ char *name = xasprintf("prop-%s", propagations[i]);
		_cleanup_free_ char *pr = new_root(name);
		setenv("HANGAR_TEST_PROPAGATION", propagations[i], 1);
		in_child(name, scenario_propagation, pr, 0);
	}
	unsetenv("HANGAR_TEST_PROPAGATION");

	_cleanup_free_ char *nopivot = new_root("nopivot");
	in_child("no_pivot", scenario_no_pivot, nopivot, 0);

	struct idmap_case ic = {.root = new_root("idmap")};
	char idsrc[4096];
	snprintf(idsrc, sizeof(idsrc), "%s/idmapsrc", scratch);
	sh("mkdir -p '%s' && touch '%s/owned-by-0' '%s/owned-by-3' && chown 3:3 '%s/owned-by-3'", idsrc,
	   idsrc, idsrc, idsrc);
	ic.hostdir = idsrc;
	in_child("idmap", scenario_idmap, &ic, 0);

	struct userns_case uc = {.root = new_root("userns")};
	char lockdir[4096];
	snprintf(lockdir, sizeof(lockdir), "%s/locked", scratch);
	sh("mkdir -p '%s'", lockdir);
	uc.hostdir = lockdir;
	in_child("user namespace", scenario_userns, &uc, 0);

	sh("rm -rf '%s'", scratch);
	free((char *)esc.root);
	free((char *)bc.root);
	free((char *)ic.root);
	free((char *)uc.root);
	return tap_done();
}
