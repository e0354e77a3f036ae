/* SPDX-License-Identifier: GPL-2.0-or-later */
/* overlay_mount / overlay_umount, as root and inside a user namespace. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "rootfs/overlay.h"
#include "tests/unit/tap.h"

#define OVERLAYFS_MAGIC 0x794c7630

static char scratch[] = "/tmp/hangar-test-overlay.XXXXXX";

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

static void in_child(const char *what, void (*fn)(void *), void *arg)
{
	int p[2];
	if (pipe(p) < 0)
		abort();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			ok(0, "%s: private mount namespace: %s", what, strerror(errno));
		else
			fn(arg);
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

static char *slurp(const char *path)
{
	char *text = NULL;
	struct hangar_error err;
	if (read_file_at(AT_FDCWD, path, &text, NULL, &err) < 0)
		return NULL;
	return text;
}

static bool content_is(const char *dir, const char *file, const char *want)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	_cleanup_free_ char *text = slurp(p);
	return text && strcmp(text, want) == 0;
}

/* Layer names with ',' and ':' exercise the escaping of both code paths. */
static void make_layers(const char *base)
{
	sh("mkdir -p '%s/low,er:1' '%s/lower2' '%s/upper' '%s/work' '%s/merged' && "
	   "echo top > '%s/low,er:1/a' && echo bottom > '%s/lower2/a' && echo only2 > '%s/lower2/b' && "
	   "echo gone > '%s/lower2/c'",
	   base, base, base, base, base, base, base, base, base);
}

static void check_merged(const char *base, const char *label)
{
	_cleanup_free_ char *merged = xasprintf("%s/merged", base);
	struct statfs sfs;
	ok(statfs(merged, &sfs) == 0 && sfs.f_type == OVERLAYFS_MAGIC, "%s: overlay mounted", label);
	ok(content_is(merged, "a", "top\n"), "%s: the first lower layer wins", label);
	ok(content_is(merged, "b", "only2\n"), "%s: lower layers merge", label);
	_cleanup_free_ char *newfile = xasprintf("%s/new", merged);
	ok(sh("echo new > '%s'", newfile) == 0 && content_is(base, "upper/new", "new\n"),
	   "%s: writes go to the upper layer", label);
	_cleanup_free_ char *b = xasprintf("%s/b", merged);
	ok(sh("echo changed > '%s'", b) == 0 && content_is(base, "lower2/b", "only2\n") &&
	       content_is(base, "upper/b", "changed\n"),
	   "%s: copy-up leaves the lower layer untouched", label);
	_cleanup_free_ char *c = xasprintf("%s/c", merged);
	_cleanup_free_ char *lower_c = xasprintf("%s/lower2/c", base);
	ok(unlink(c) == 0 && access(c, F_OK) < 0 && access(lower_c, F_OK) == 0,
	   "%s: delete leaves a whiteout", label);
}

static void scenario_root(void *arg)
{
	const char *base = arg;
	_cleanup_free_ char *l1 = xasprintf("%s/low,er:1", base), *l2 = xasprintf("%s/lower2", base);
	_cleanup_free_ char *up = xasprintf("%s/upper", base), *wk = xasprintf("%s/work", base);
	_cleanup_free_ char *merged = xasprintf("%s/merged", base);
	const char *lowers[] = {l1, l2};
	struct hangar_error err = {0};
	int r = overlay_mount(lowers, 2, up, wk, merged, &err);
	ok(r == 0, "overlay_mount (fsopen) succeeds%s%s", r ? ": " : "", r ? err.msg : "");
	if (r == 0)
		check_merged(base, "fsopen");
	r = overlay_umount(merged, &err);
	ok(r == 0, "overlay_umount succeeds%s%s", r ? ": " : "", r ? err.msg : "");
	r = overlay_umount(merged, &err);
	ok(r < 0 && strstr(err.msg, "not a mount point"),
	   "overlay_umount of a plain dir is a clear error (%s)", err.msg);

	/* The mount(2) option string, as the fallback uses it. */
	_cleanup_free_ char *opts = overlay_options_string(lowers, 2, up, wk, false);
	ok(strstr(opts, "low\\,er\\:1") != NULL, "option string escapes ',' and ':' (%s)", opts);
	sh("rm -rf '%s/upper' '%s/work' && mkdir '%s/upper' '%s/work' && echo gone > '%s/lower2/c'", base,
	   base, base, base, base);
	sh("echo only2 > '%s/lower2/b'", base);
	int mr = mount("overlay", merged, "overlay", 0, opts);
	ok(mr == 0, "mount(2) accepts the escaped option string%s%s", mr ? ": " : "",
	   mr ? strerror(errno) : "");
	check_merged(base, "mount(2)");
	umount2(merged, MNT_DETACH);

	r = overlay_mount(lowers, 2, up, NULL, merged, &err);
	ok(r < 0 && strstr(err.msg, "workdir"), "upperdir without workdir is refused (%s)", err.msg);
	_cleanup_free_ char *missing = xasprintf("%s/missing", base);
	const char *bad[] = {missing};
	r = overlay_mount(bad, 1, up, wk, merged, &err);
	ok(r < 0 && strstr(err.msg, merged) && strstr(err.msg, missing),
	   "missing lower layer is an error naming the target and the layer (%s)", err.msg);

	/* Read-only overlay: no upper layer. */
	r = overlay_mount(lowers, 2, NULL, NULL, merged, &err);
	ok(r == 0, "read-only overlay of two lowers succeeds%s%s", r ? ": " : "", r ? err.msg : "");
	_cleanup_free_ char *x = xasprintf("%s/x", merged);
	ok(r == 0 && sh("touch '%s' 2>/dev/null", x) != 0, "read-only overlay refuses writes");
	overlay_umount(merged, &err);
}

static void scenario_userns(void *arg)
{
	const char *base = arg;
	if (unshare(CLONE_NEWUSER) < 0) {
		skip("no user namespaces");
		return;
	}
	struct hangar_error err;
	if (write_string_at(AT_FDCWD, "/proc/self/setgroups", "deny", &err) < 0 ||
	    write_string_at(AT_FDCWD, "/proc/self/uid_map", "0 0 1", &err) < 0 ||
	    write_string_at(AT_FDCWD, "/proc/self/gid_map", "0 0 1", &err) < 0 || unshare(CLONE_NEWNS) < 0) {
		ok(0, "userns setup: %s", err.msg);
		return;
	}
	ok(in_nested_user_namespace(), "in_nested_user_namespace() sees the new user namespace");
	_cleanup_free_ char *l1 = xasprintf("%s/low,er:1", base), *l2 = xasprintf("%s/lower2", base);
	_cleanup_free_ char *up = xasprintf("%s/upper", base), *wk = xasprintf("%s/work", base);
	_cleanup_free_ char *merged = xasprintf("%s/merged", base);
	const char *lowers[] = {l1, l2};
	int r = overlay_mount(lowers, 2, up, wk, merged, &err);
	ok(r == 0, "overlay_mount inside a user namespace (userxattr)%s%s", r ? ": " : "", r ? err.msg : "");
	if (r == 0)
		check_merged(base, "userns");
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root\n");
		return 77;
	}
	if (mkdtemp(scratch) == NULL)
		return 1;
	ok(!in_nested_user_namespace(), "in_nested_user_namespace() is false in the initial namespace");
	_cleanup_free_ char *a = xasprintf("%s/root", scratch);
	make_layers(a);
	in_child("overlay as root", scenario_root, a);
	_cleanup_free_ char *b = xasprintf("%s/userns", scratch);
	make_layers(b);
	in_child("overlay in a user namespace", scenario_userns, b);
	sh("rm -rf '%s'", scratch);
	return tap_done();
}
