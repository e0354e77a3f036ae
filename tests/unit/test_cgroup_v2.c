/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cgroup manager against a real cgroup2 hierarchy.
 *  - Pure v2 host or the qemu guest (tests/vm/cgroup-v2.sh): everything,
 *    limits included.
 *  - Hybrid host: the controller-less parts (freeze, cgroup.kill, pids,
 *    clone3 CLONE_INTO_CGROUP, the BPF device filter, destroy, reopen) run
 *    in the host's /sys/fs/cgroup/unified; limit checks are skipped with
 *    the reason.
 * Everything is created below /hangar-test-<pid>/ and removed again.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/loop.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "cgroups/internal.h"
#include "common/util.h"
#include "runtime/resources.h"
#include "tests/unit/tap.h"
#include "tests/unit/cgroup_workloads.h"

/* Inside the qemu guest (tests/vm/cgroup-v2.sh, HANGAR_IN_VM=1) every
 * controller, the loop device and the disk exist by construction: a missing
 * one there means the limit checks did not run, which must fail, not skip. */
#define skip_or_fail(reason)                                                                                 \
	do {                                                                                                 \
		if (in_vm())                                                                                 \
			ok(0, "%s (inside the test VM, where it must be present)", reason);                  \
		else                                                                                         \
			skip(reason);                                                                        \
	} while (0)

static bool in_vm(void)
{
	const char *v = getenv("HANGAR_IN_VM");
	return v && strcmp(v, "1") == 0;
}

static char parent[64];
static const char *root;
static char avail[512]; /* controllers offered by the root */

static bool have(const char *ctrl)
{
	char pad[600];
	snprintf(pad, sizeof(pad), " %s ", avail);
	char word[64];
	snprintf(word, sizeof(word), " %s ", ctrl);
	return strstr(pad, word) != NULL;
}

static char *read_cg(const char *name, const char *file)
{
	char *path = xasprintf("%s/%s/%s/%s", root, parent, name, file);
	char *text = NULL;
	struct hangar_error err;
	if (read_file_at(AT_FDCWD, path, &text, NULL, &err) < 0)
		text = xstrdup("(unreadable)");
	free(path);
	text[strcspn(text, "\n")] = '\0';
	return text;
}

static bool exists_cg(const char *rel)
{
	char *path = xasprintf("%s/%s%s%s", root, parent, rel ? "/" : "", rel ? rel : "");
	bool r = access(path, F_OK) == 0;
	free(path);
	return r;
}

static struct cgroup_manager *make_err(const char *name, const struct oci_resources *r,
				       struct hangar_error *err)
{
	struct cgroup_manager *m = NULL;
	char *p = xasprintf("/%s/%s", parent, name);
	struct cgroup_spec spec = {.path = p, .id = name};
	if (cgroup_manager_create(&spec, r, &m, err) < 0)
		m = NULL;
	free(p);
	return m;
}

static struct cgroup_manager *make(const char *name, const struct oci_resources *r)
{
	struct hangar_error err = {0};
	struct cgroup_manager *m = make_err(name, r, &err);
	if (m == NULL)
		diag("create %s: %s", name, err.msg);
	return m;
}

static int run_forks(void *arg)
{
	(void)arg;
	int made = 0;
	for (int i = 0; i < 32; i++) {
		pid_t c = fork();
		if (c == 0) {
			pause();
			_exit(0);
		}
		if (c > 0)
			made++;
	}
	return made;
}

static int run_open_null(void *arg)
{
	bool expect_denied = arg != NULL;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	int e = errno;
	int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (zero < 0)
		return 3;
	if (expect_denied)
		return fd < 0 && e == EPERM ? 0 : 1;
	return fd >= 0 ? 0 : 2;
}

static int run_open_null_loop(void *arg)
{
	(void)arg;
	int failures = 0, null_denied = 0, full_allowed = 0;
	uint64_t until = now_ns() + 1500000000ULL;
	while (now_ns() < until) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			null_denied++;
		else
			close(fd);
		/* /dev/full is in neither list: it must never open */
		fd = open("/dev/full", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			full_allowed++;
			close(fd);
		}
	}
	failures = null_denied + full_allowed;
	if (failures)
		fprintf(stderr, "# /dev/null denied %d times, /dev/full allowed %d times\n", null_denied,
			full_allowed);
	return failures > 250 ? 250 : failures;
}

/* ---- controller-less: runs on the hybrid host too ---- */

static void test_lifecycle(void)
{
	struct cgroup_manager *m = make("life", NULL);
	ok(m != NULL, "create without resources");
	if (!m)
		return;
	struct hangar_error err = {0};
	ok(strcmp(cgroup_manager_version(m), "v2") == 0 && cgroup_manager_dirfd(m) >= 0,
	   "v2 manager with a dirfd");
	ok(cgroup_manager_self_enter_open(m, &err) == 0,
	   "v2 offers no self-enter through a tasks file (clone3 CLONE_INTO_CGROUP does that)");

	/* clone3 straight into the cgroup through the dirfd */
	struct clone_args args = {
	    .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgroup_manager_dirfd(m)};
	pid_t c = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (c == 0) {
		run_spin_forever(NULL);
		_exit(0);
	}
	ok(c > 0, "clone3 CLONE_INTO_CGROUP%s%s", c < 0 ? ": " : "", c < 0 ? strerror(errno) : "");
	char *own = NULL;
	char *want = xasprintf("0::/%s/life", parent);
	char *procfile = xasprintf("/proc/%d/cgroup", (int)c);
	struct hangar_error rerr;
	if (read_file_at(AT_FDCWD, procfile, &own, NULL, &rerr) < 0)
		own = NULL;
	else if (strstr(own, "0::"))
		strstr(own, "0::")[strcspn(strstr(own, "0::"), "\n")] = '\0';
	ok(own && strstr(own, want), "child was born in the cgroup (%s)",
	   own ? strstr(own, "0::") : rerr.msg);
	free(own);
	free(want);
	free(procfile);

	pid_t *pids;
	size_t n;
	ok(cgroup_manager_pids(m, &pids, &n, &err) == 0 && n == 1 && pids[0] == c, "pids lists the child");
	free(pids);

	msleep(100);
	uint64_t t0 = now_ns();
	ok(cgroup_manager_freeze(m, &err) == 0, "freeze (cgroup.freeze + cgroup.events)%s%s",
	   err.msg[0] ? ": " : "", err.msg);
	ok(now_ns() - t0 < 2000000000ULL, "freeze took %.1f ms", (now_ns() - t0) / 1e6);
	bool frozen = false;
	ok(cgroup_manager_is_frozen(m, &frozen, &err) == 0 && frozen, "is_frozen: frozen");
	uint64_t u1 = usage_of(m);
	msleep(300);
	uint64_t u2 = usage_of(m);
	ok(u1 > 0 && u2 - u1 < 5000000ULL, "frozen child used no cpu (%llu ns in 300 ms)",
	   (unsigned long long)(u2 - u1));
	ok(cgroup_manager_freeze(m, &err) == 0, "second freeze is fine");
	ok(cgroup_manager_thaw(m, &err) == 0 && cgroup_manager_is_frozen(m, &frozen, &err) == 0 && !frozen,
	   "thaw");
	msleep(300);
	ok(usage_of(m) - u2 > 30000000ULL, "thawed child runs again");

	/* Repeated pause/resume (CRIU and `pause` in loops do this). */
	uint64_t worst = 0;
	int cycles_ok = 0;
	for (int i = 0; i < 20; i++) {
		uint64_t c0 = now_ns();
		bool fz = false;
		if (cgroup_manager_freeze(m, &err) == 0 && cgroup_manager_is_frozen(m, &fz, &err) == 0 &&
		    fz && cgroup_manager_thaw(m, &err) == 0)
			cycles_ok++;
		if (now_ns() - c0 > worst)
			worst = now_ns() - c0;
	}
	ok(cycles_ok == 20, "20 freeze/thaw cycles (slowest %.1f ms)", worst / 1e6);

	char *state = cgroup_manager_serialize(m);
	struct cgroup_manager *again = NULL;
	ok(cgroup_manager_open(state, &again, &err) == 0 && cgroup_manager_dirfd(again) >= 0,
	   "reopen from serialized state");
	if (again) {
		char *state2 = cgroup_manager_serialize(again);
		is_str(state2, state, "serialize(open(s)) == s");
		free(state2);
		ok(cgroup_manager_kill_all(again, SIGKILL, &err) == 0, "kill_all SIGKILL (cgroup.kill)");
		int st = wait_status(c);
		ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child SIGKILLed");
		ok(cgroup_manager_destroy(again, &err) == 0, "destroy through reopened manager");
		cgroup_manager_free(again);
	}
	ok(!exists_cg("life"), "leaf removed");
	/* The state outlives the cgroup (removed elsewhere): still openable,
	 * destroy is a no-op, the rest says what is missing. */
	again = NULL;
	ok(cgroup_manager_open(state, &again, &err) == 0 && cgroup_manager_dirfd(again) < 0,
	   "open of a vanished cgroup works (no dirfd)");
	if (again) {
		ok(cgroup_manager_destroy(again, &err) == 0, "destroy of a vanished cgroup is a no-op");
		ok(cgroup_manager_freeze(again, &err) < 0 && err.err_no == ENOENT,
		   "freeze says it is gone: %s", err.msg);
		cgroup_manager_free(again);
	}
	free(state);
	cgroup_manager_free(m);

	/* A signal other than SIGKILL goes through freeze/signal/thaw. */
	m = make("term", NULL);
	if (m) {
		pid_t p = spawn_in(m, run_spin_forever, NULL);
		ok(cgroup_manager_kill_all(m, SIGTERM, &err) == 0, "kill_all SIGTERM");
		int st = wait_status(p);
		ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "child got SIGTERM");
		bool fz = true;
		ok(cgroup_manager_is_frozen(m, &fz, &err) == 0 && !fz, "left thawed after kill_all");
		/* A paused container stays paused.  (Unlike v1, the v2 freezer
		 * lets a fatal signal through, so the child dies while frozen.) */
		p = spawn_in(m, run_spin_forever, NULL);
		ok(cgroup_manager_freeze(m, &err) == 0, "pause");
		ok(cgroup_manager_kill_all(m, SIGTERM, &err) == 0 &&
		       cgroup_manager_is_frozen(m, &fz, &err) == 0 && fz,
		   "kill_all SIGTERM leaves a paused container paused");
		st = wait_status(p);
		ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "frozen child got the SIGTERM");
		ok(cgroup_manager_thaw(m, &err) == 0, "resume");
		/* destroy with a live, paused member: kill + wait populated 0 */
		p = spawn_in(m, run_spin_forever, NULL);
		ok(cgroup_manager_freeze(m, &err) == 0, "pause before destroy");
		ok(cgroup_manager_destroy(m, &err) == 0, "destroy kills a paused member");
		st = wait_status(p);
		ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && !exists_cg("term"),
		   "member SIGKILLed, leaf removed");
		cgroup_manager_free(m);
	}
}

static void test_devices(void)
{
	struct oci_device_cgroup rules[] = {
	    {.allow = false, .access = (char *)"rwm"},
	    {.allow = true,
	     .type = 'c',
	     .has_major = true,
	     .major = 1,
	     .has_minor = true,
	     .minor = 5,
	     .access = (char *)"rwm"},
	    /* /dev/null readable only; the child opens it for writing */
	    {.allow = true,
	     .type = 'c',
	     .has_major = true,
	     .major = 1,
	     .has_minor = true,
	     .minor = 3,
	     .access = (char *)"r"},
	};
	struct oci_resources r = {.present = true, .devices = rules, .n_devices = 3};
	struct hangar_error err = {0};
	struct cgroup_manager *m = make_err("dev", &r, &err);
	ok(m != NULL, "create with a BPF device filter%s%s", m ? "" : ": ", m ? "" : err.msg);
	if (!m)
		return;
	pid_t p = spawn_in(m, run_open_null, (void *)1);
	int st = wait_status(p);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "/dev/null for writing denied (EPERM), /dev/zero allowed (rc %d)",
	   WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	/* Update replaces the program instead of stacking a second one. */
	struct oci_device_cgroup all[] = {{.allow = true, .access = (char *)"rwm"}};
	struct oci_resources open_all = {.present = true, .devices = all, .n_devices = 1};
	ok(cgroup_manager_update(m, &open_all, &err) == 0, "update devices to allow all");
	p = spawn_in(m, run_open_null, NULL);
	st = wait_status(p);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "/dev/null opens after the update (old program detached)");

	/* Last matching rule wins: a later deny overrides an earlier allow. */
	struct oci_device_cgroup later_deny[] = {
	    {.allow = true, .access = (char *)"rwm"},
	    {.allow = false,
	     .type = 'c',
	     .has_major = true,
	     .major = 1,
	     .has_minor = true,
	     .minor = 3,
	     .access = (char *)"w"},
	};
	struct oci_resources deny_w = {.present = true, .devices = later_deny, .n_devices = 2};
	ok(cgroup_manager_update(m, &deny_w, &err) == 0, "update: allow all, then deny writing /dev/null");
	p = spawn_in(m, run_open_null, (void *)1);
	st = wait_status(p);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "later deny wins");
	/* Replacing the program never denies what both lists allow: the new
	 * one is attached before the old one is detached. */
	struct oci_device_cgroup la[] = {
	    {.allow = false, .access = (char *)"rwm"},
	    {.allow = true,
	     .type = 'c',
	     .has_major = true,
	     .major = 1,
	     .has_minor = true,
	     .minor = 3,
	     .access = (char *)"rwm"},
	    {.allow = true,
	     .type = 'c',
	     .has_major = true,
	     .major = 1,
	     .has_minor = true,
	     .minor = 5,
	     .access = (char *)"rwm"},
	};
	struct oci_device_cgroup lb[] = {
	    {.allow = false, .access = (char *)"rwm"},
	    {.allow = true,
	     .type = 'c',
	     .has_major = true,
	     .major = 1,
	     .has_minor = true,
	     .minor = 3,
	     .access = (char *)"rwm"},
	    {.allow = true,
	     .type = 'c',
	     .has_major = true,
	     .major = 1,
	     .has_minor = true,
	     .minor = 5,
	     .access = (char *)"r"},
	};
	struct oci_resources ra = {.present = true, .devices = la, .n_devices = 3};
	struct oci_resources rb = {.present = true, .devices = lb, .n_devices = 3};
	int failed_updates = cgroup_manager_update(m, &ra, &err) < 0;
	p = spawn_in(m, run_open_null_loop, NULL);
	for (int i = 0; i < 200; i++)
		if (cgroup_manager_update(m, i % 2 ? &ra : &rb, &err) < 0)
			failed_updates++;
	st = wait_status(p);
	ok(failed_updates == 0, "200 live device-program replacements%s%s", err.msg[0] ? ": " : "", err.msg);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "/dev/null never denied, /dev/full never allowed meanwhile (%d wrong opens)",
	   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	ok(cgroup_manager_destroy(m, &err) == 0, "destroy");
	cgroup_manager_free(m);
}

static void test_validation(void)
{
	struct hangar_error err = {0};
	struct oci_resources r = {.present = true};
	r.cpu.present = true;
	r.cpu.has_realtime_runtime = true;
	r.cpu.realtime_runtime = 1000;
	ok(make_err("val", &r, &err) == NULL && strstr(err.msg, "realtimeRuntime"), "rt runtime refused: %s",
	   err.msg);
	struct oci_resources s = {.present = true};
	s.memory.present = s.memory.has_swappiness = true;
	s.memory.swappiness = 60;
	ok(make_err("val", &s, &err) == NULL && strstr(err.msg, "swappiness"), "swappiness refused: %s",
	   err.msg);
	struct oci_resources o = {.present = true};
	o.memory.present = o.memory.has_disable_oom_killer = o.memory.disable_oom_killer = true;
	ok(make_err("val", &o, &err) == NULL && strstr(err.msg, "disableOOMKiller"),
	   "disableOOMKiller refused");
	struct oci_kv bad[] = {{(char *)"cgroup.procs", (char *)"1"}};
	struct oci_resources u = {.present = true, .unified = bad, .n_unified = 1};
	ok(make_err("val", &u, &err) == NULL && strstr(err.msg, "cgroup.procs"),
	   "unified cgroup.procs refused: %s", err.msg);
	struct oci_kv slash[] = {{(char *)"../memory.max", (char *)"1"}};
	u.unified = slash;
	ok(make_err("val", &u, &err) == NULL, "unified key with a path separator refused");
	struct oci_kv missing[] = {{(char *)"memory.nonexistent", (char *)"1"}};
	u.unified = missing;
	ok(make_err("val", &u, &err) == NULL && strstr(err.msg, "memory.nonexistent"),
	   "unified key for a missing file refused: %s", err.msg);
	struct oci_resources net = {.present = true, .has_class_id = true, .class_id = 0x100001};
	ok(make_err("val", &net, &err) == NULL && strstr(err.msg, "linux.resources.network") &&
	       strstr(err.msg, "net_cls"),
	   "network classID refused on v2: %s", err.msg);
	struct oci_net_priority prio = {.name = (char *)"eth0", .priority = 5};
	struct oci_resources np = {.present = true, .net_priorities = &prio, .n_net_priorities = 1};
	ok(make_err("val", &np, &err) == NULL && strstr(err.msg, "net_prio"),
	   "network priorities refused on v2: %s", err.msg);
	struct oci_resources lw = {.present = true};
	lw.blkio.present = lw.blkio.has_leaf_weight = true;
	lw.blkio.leaf_weight = 300;
	ok(make_err("val", &lw, &err) == NULL &&
	       strstr(err.msg, "linux.resources.blockIO.leafWeight: not supported on cgroup v2"),
	   "blockIO.leafWeight refused on v2, not ignored: %s", err.msg);
	struct oci_weight_device wd = {.major = 8, .minor = 0, .has_leaf_weight = true, .leaf_weight = 300};
	struct oci_resources lwd = {.present = true};
	lwd.blkio.present = true;
	lwd.blkio.weight_device = &wd;
	lwd.blkio.n_weight_device = 1;
	ok(make_err("val", &lwd, &err) == NULL &&
	       strstr(err.msg, "linux.resources.blockIO.weightDevice[0].leafWeight: not supported"),
	   "blockIO.weightDevice[].leafWeight refused on v2: %s", err.msg);
	ok(!exists_cg("val"), "refused creates left nothing behind");
}

/* ---- rootless: a child drops to uid 65534 and uses the manager ---- */

struct rootless_result {
	int created, no_cgroup, has_dirfd, entered, left, destroyed, dir_gone;
	char path[256], warning[1100], error[1100];
};

static void rootless_child(int out_fd, bool with_limits)
{
	struct rootless_result res = {0};
	struct hangar_error err = {0};
	if (setgid(65534) < 0 || setuid(65534) < 0) {
		snprintf(res.error, sizeof(res.error), "setuid: %s", strerror(errno));
		goto done;
	}
	struct oci_resources r = {.present = true, .has_pids_limit = true, .pids_limit = 10};
	struct cgroup_spec spec = {.id = "c", .rootless = true};
	struct cgroup_manager *m = NULL;
	if (cgroup_manager_create(&spec, with_limits ? &r : NULL, &m, &err) < 0) {
		snprintf(res.error, sizeof(res.error), "%s", err.msg);
		goto done;
	}
	res.created = 1;
	snprintf(res.path, sizeof(res.path), "%s", cgroup_manager_path(m));
	if (cgroup_manager_warning(m))
		snprintf(res.warning, sizeof(res.warning), "%s", cgroup_manager_warning(m));
	res.has_dirfd = cgroup_manager_dirfd(m) >= 0;
	res.no_cgroup = !res.has_dirfd;
	if (res.has_dirfd) {
		char *own = xasprintf("%s%s/cgroup.procs", root, cgroup_manager_path(m));
		char *back = xasprintf("%s/%s/rl/cgroup.procs", root, parent);
		char pid[16];
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		res.entered = cgroup_manager_enter(m, getpid(), &err) == 0;
		char *text = NULL;
		struct hangar_error rerr;
		if (read_file_at(AT_FDCWD, own, &text, NULL, &rerr) == 0 && atoi(text) == getpid())
			res.entered++;
		free(text);
		/* step out again so destroy does not kill us */
		res.left = write_string_at(AT_FDCWD, back, pid, &err) == 0;
		res.destroyed = cgroup_manager_destroy(m, &err) == 0;
		char *dir = xasprintf("%s%s", root, cgroup_manager_path(m));
		res.dir_gone = access(dir, F_OK) < 0;
		free(dir);
		free(own);
		free(back);
	}
	if (!res.destroyed && err.msg[0])
		snprintf(res.error, sizeof(res.error), "%s", err.msg);
	cgroup_manager_free(m);
done:
	if (write(out_fd, &res, sizeof(res)) != (ssize_t)sizeof(res))
		_exit(2);
	_exit(0);
}

static bool run_rootless(bool delegate, bool with_limits, struct rootless_result *res)
{
	char *top = xasprintf("%s/%s", root, parent);
	char *rl = xasprintf("%s/rl", top);
	mkdir(top, 0755);
	mkdir(rl, 0755);
	if (delegate) {
		/* What a delegating manager (systemd Delegate=yes) hands over. */
		const char *files[] = {"", "/cgroup.procs", "/cgroup.subtree_control", "/cgroup.threads"};
		for (size_t i = 0; i < 4; i++) {
			char *f = xasprintf("%s%s", rl, files[i]);
			if (chown(f, 65534, 65534) < 0)
				diag("chown %s: %s", f, strerror(errno));
			free(f);
		}
	}
	int pfd[2], go[2];
	if (pipe2(pfd, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
		return false;
	pid_t c = fork();
	if (c == 0) {
		char x;
		close(pfd[0]);
		close(go[1]);
		if (read(go[0], &x, 1) != 1)
			_exit(3);
		rootless_child(pfd[1], with_limits);
	}
	close(pfd[1]);
	close(go[0]);
	/* root moves the child into the delegated cgroup (its "session") */
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)c);
	char *procs = xasprintf("%s/cgroup.procs", rl);
	struct hangar_error err;
	if (write_string_at(AT_FDCWD, procs, pid, &err) < 0)
		diag("%s", err.msg);
	free(procs);
	if (write(go[1], "x", 1) != 1)
		diag("go: %s", strerror(errno));
	close(go[1]);
	memset(res, 0, sizeof(*res));
	bool got = read(pfd[0], res, sizeof(*res)) == (ssize_t)sizeof(*res);
	close(pfd[0]);
	wait_status(c);
	rmdir(rl);
	rmdir(top);
	free(rl);
	free(top);
	return got;
}

static void test_rootless(void)
{
	struct rootless_result res;
	ok(run_rootless(true, true, &res) && res.created, "rootless create in a delegated cgroup%s%s",
	   res.error[0] ? ": " : "", res.error);
	char *want = xasprintf("/%s/rl/hangar/c", parent);
	is_str(res.path, want, "nested below our own cgroup");
	free(want);
	ok(res.has_dirfd && res.warning[0], "cgroup made, limits skipped with a warning: %s", res.warning);
	ok(res.entered == 2 && res.left,
	   "enter moved the unprivileged process in (and it stepped out again)");
	ok(res.destroyed && res.dir_gone, "destroy removed the nested cgroups%s%s", res.error[0] ? ": " : "",
	   res.error);

	ok(run_rootless(false, false, &res) && res.created && res.no_cgroup,
	   "rootless without delegation: no cgroup%s%s", res.error[0] ? ": " : "", res.error);
	ok(strstr(res.warning, "not delegated") != NULL, "warning says why: %s", res.warning);
}

/* ---- limits: need controllers ---- */

static void test_memory(void)
{
	struct oci_resources r = {.present = true};
	r.memory.present = r.memory.has_limit = true;
	r.memory.limit = 32 << 20;
	r.memory.has_reservation = true;
	r.memory.reservation = 8 << 20;
	struct cgroup_manager *m = make("mem", &r);
	ok(m != NULL, "create with memory.max 32M, memory.low 8M");
	if (!m)
		return;
	char *v = read_cg("mem", "memory.max");
	is_str(v, "33554432", "memory.max");
	free(v);
	v = read_cg("mem", "memory.low");
	is_str(v, "8388608", "memory.low from reservation");
	free(v);
	struct hangar_error err = {0};
	int ifd = cgroup_manager_oom_event_fd(m, &err);
	ok(ifd >= 0, "oom event fd (inotify on memory.events)");
	pid_t hog = spawn_in(m, run_hog, (void *)(uintptr_t)(256 << 20));
	int st = wait_status(hog);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "256 MiB hog OOM-killed");
	struct cgroup_stats s;
	ok(cgroup_manager_stats(m, &s, &err) == 0 && s.mem_oom_kill >= 1 && s.mem_failcnt > 0,
	   "memory.events: oom_kill %llu, max %llu", (unsigned long long)s.mem_oom_kill,
	   (unsigned long long)s.mem_failcnt);
	ok(s.mem_peak >= (30u << 20), "memory.peak %llu", (unsigned long long)s.mem_peak);
	cgroup_stats_clear(&s);
	if (ifd >= 0) {
		struct pollfd pfd = {.fd = ifd, .events = POLLIN};
		ok(poll(&pfd, 1, 1000) == 1, "inotify fd readable after the OOM");
		close(ifd);
	}

	/* A configured memory.high, which a refused lowering must leave alone. */
	struct oci_kv high[] = {{(char *)"memory.high", (char *)"30000000"}};
	struct oci_resources u = {.present = true, .unified = high, .n_unified = 1};
	ok(cgroup_manager_update(m, &u, &err) == 0, "unified memory.high");
	char *high_before = read_cg("mem", "memory.high");
	ok(strcmp(high_before, "29999104") == 0 || strcmp(high_before, "30000000") == 0, "memory.high = %s",
	   high_before);

	/* Lowering below anon usage (no swap): reclaim cannot help; refuse. */
	pid_t holder = spawn_in(m, run_hold, (void *)(uintptr_t)(20 << 20));
	msleep(500);
	struct oci_resources lower = {.present = true};
	lower.memory.present = lower.memory.has_limit = true;
	lower.memory.limit = 4 << 20;
	int rc = cgroup_manager_update(m, &lower, &err);
	ok(rc < 0 && strstr(err.msg, "memory limit 4194304 is below current usage") &&
	       strstr(err.msg, "(peak"),
	   "lowering below usage refused: %s", rc < 0 ? err.msg : "(succeeded)");
	v = read_cg("mem", "memory.max");
	is_str(v, "33554432", "old memory.max kept");
	free(v);
	v = read_cg("mem", "memory.high");
	is_str(v, high_before, "configured memory.high restored after the refusal");
	free(v);
	ok(kill(holder, 0) == 0, "holder not OOM-killed by the update");

	/* checkBeforeUpdate: refused on usage without a reclaim attempt, so
	 * memory.high is never touched. */
	lower.memory.has_check_before_update = lower.memory.check_before_update = true;
	lower.memory.limit = 8 << 20;
	rc = cgroup_manager_update(m, &lower, &err);
	ok(rc < 0 && strstr(err.msg, "checkBeforeUpdate: memory limit 8388608 is below current usage"),
	   "checkBeforeUpdate refuses: %s", rc < 0 ? err.msg : "(succeeded)");
	v = read_cg("mem", "memory.max");
	char *h = read_cg("mem", "memory.high");
	ok(strcmp(v, "33554432") == 0 && strcmp(h, high_before) == 0,
	   "checkBeforeUpdate refusal left memory.max %s, memory.high %s", v, h);
	free(v);
	free(h);
	lower.memory.limit = 28 << 20;
	ok(cgroup_manager_update(m, &lower, &err) == 0, "checkBeforeUpdate accepts a limit above usage%s%s",
	   err.msg[0] ? ": " : "", err.msg);
	v = read_cg("mem", "memory.max");
	h = read_cg("mem", "memory.high");
	ok(strcmp(v, "29360128") == 0 && strcmp(h, high_before) == 0, "memory.max %s, memory.high %s kept", v,
	   h);
	free(v);
	free(h);
	free(high_before);
	ok(kill(holder, 0) == 0, "holder still alive");

	ok(cgroup_manager_destroy(m, &err) == 0, "destroy");
	wait_status(holder);
	cgroup_manager_free(m);
}

struct page_cache_job {
	const char *file;
	int done_fd; /* gets a byte once the data is written back (clean) */
};

static int run_page_cache(void *arg)
{
	const struct page_cache_job *job = arg;
	int fd = open(job->file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return 1;
	static char buf[1 << 20];
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < 24; i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return 2;
	fsync(fd); /* clean pages are what memory.reclaim can drop */
	close(fd);
	if (write(job->done_fd, "x", 1) != 1)
		return 3;
	pause();
	return 0;
}

static void test_reclaim(void)
{
	const char *dir = getenv("HANGAR_TEST_DISK_DIR");
	if (dir == NULL) {
		skip_or_fail(
		    "HANGAR_TEST_DISK_DIR (a block-backed filesystem) not set: memory.reclaim test needs "
		    "page cache");
		return;
	}
	struct cgroup_manager *m = make("reclaim", NULL);
	ok(m != NULL, "create for reclaim");
	if (!m)
		return;
	char *file = xasprintf("%s/hangar-cache-%d", dir, (int)getpid());
	int done[2];
	if (pipe2(done, O_CLOEXEC) < 0)
		return;
	struct page_cache_job job = {.file = file, .done_fd = done[1]};
	pid_t p = spawn_in(m, run_page_cache, &job);
	close(done[1]);
	struct pollfd pfd = {.fd = done[0], .events = POLLIN};
	ok(poll(&pfd, 1, 30000) == 1, "writer filled and synced 24 MiB of page cache");
	close(done[0]);
	struct cgroup_stats s;
	struct hangar_error err = {0};
	uint64_t cur = 0;
	if (cgroup_manager_stats(m, &s, &err) == 0)
		cur = s.mem_usage;
	cgroup_stats_clear(&s);
	ok(cur >= (20u << 20), "page cache charged: memory.current %llu", (unsigned long long)cur);
	/* 12 MiB below usage: only reclaimable page cache has to go (the
	 * writer's own anon memory differs with ASan and the like). */
	uint64_t target = cur - (12u << 20);
	target -= target % 4096;
	struct oci_resources lower = {.present = true};
	lower.memory.present = lower.memory.has_limit = true;
	lower.memory.limit = (int64_t)target;
	ok(cgroup_manager_update(m, &lower, &err) == 0,
	   "limit %llu (12 MiB below usage) accepted after memory.reclaim%s%s", (unsigned long long)target,
	   err.msg[0] ? ": " : "", err.msg);
	char *v = read_cg("reclaim", "memory.max");
	char *want = xasprintf("%llu", (unsigned long long)target);
	is_str(v, want, "memory.max lowered");
	free(want);
	free(v);
	v = read_cg("reclaim", "memory.high");
	is_str(v, "max", "memory.high back to max after the lowering");
	free(v);
	ok(kill(p, 0) == 0, "writer alive (nothing OOM-killed)");
	ok(cgroup_manager_destroy(m, &err) == 0, "destroy");
	wait_status(p);
	unlink(file);
	free(file);
	cgroup_manager_free(m);
}

static void test_pids_cpu(void)
{
	struct oci_resources r = {.present = true, .has_pids_limit = true, .pids_limit = 8};
	r.cpu.present = r.cpu.has_quota = r.cpu.has_period = r.cpu.has_shares = r.cpu.has_burst = true;
	r.cpu.quota = 20000;
	r.cpu.period = 100000;
	r.cpu.shares = 1024;
	r.cpu.burst = 1000;
	struct cgroup_manager *m = make("pc", &r);
	ok(m != NULL, "create with pids.max 8, cpu.max 20000 100000, shares 1024");
	if (!m)
		return;
	char *v = read_cg("pc", "cpu.max");
	is_str(v, "20000 100000", "cpu.max");
	free(v);
	v = read_cg("pc", "cpu.weight");
	is_str(v, "39", "cpu.weight from shares 1024");
	free(v);
	v = read_cg("pc", "cpu.max.burst");
	is_str(v, "1000", "cpu.max.burst");
	free(v);
	pid_t p = spawn_in(m, run_forks, NULL);
	int st = wait_status(p);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 7, "fork loop stopped by pids.max (made %d)",
	   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	struct hangar_error err = {0};
	ok(cgroup_manager_kill_all(m, SIGKILL, &err) == 0, "kill the orphans");
	msleep(100);
	uint64_t before = usage_of(m);
	p = spawn_in(m, run_busy, (void *)(uintptr_t)1000);
	wait_status(p);
	struct cgroup_stats s;
	ok(cgroup_manager_stats(m, &s, &err) == 0 && s.cpu_nr_throttled > 0, "throttled %llu periods",
	   (unsigned long long)s.cpu_nr_throttled);
	ok(s.cpu_usage_ns - before < 500000000ULL, "1 s busy loop used %.3f s of cpu (quota 20%%)",
	   (s.cpu_usage_ns - before) / 1e9);
	ok(s.psi_cpu.present && s.psi_memory.present && s.psi_io.present, "PSI for cpu, memory and io");
	ok(s.pids_limit == 8, "pids limit in stats");
	char *json = cgroup_stats_to_runc_json(&s);
	json_object *o = json_tokener_parse(json), *c;
	ok(o && json_object_object_get_ex(o, "cpu", &c) && json_object_object_get_ex(c, "psi", &c),
	   "runc JSON has cpu.psi");
	json_object_put(o);
	free(json);
	cgroup_stats_clear(&s);

	struct oci_resources up = {.present = true, .has_pids_limit = true, .pids_limit = -1};
	up.cpu.present = up.cpu.has_quota = true;
	up.cpu.quota = -1;
	up.cpu.cpus = (char *)"1";
	up.cpu.mems = (char *)"0";
	ok(cgroup_manager_update(m, &up, &err) == 0, "update: pids max, quota max, cpus 1, mems 0%s%s",
	   err.msg[0] ? ": " : "", err.msg);
	v = read_cg("pc", "cpuset.mems");
	is_str(v, "0", "cpuset.mems = 0");
	free(v);
	v = read_cg("pc", "pids.max");
	is_str(v, "max", "pids.max = max");
	free(v);
	v = read_cg("pc", "cpu.max");
	is_str(v, "max 100000", "cpu.max = max 100000");
	free(v);
	p = spawn_in(m, run_affinity, NULL);
	st = wait_status(p);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "pinned to CPU 1");
	ok(cgroup_manager_destroy(m, &err) == 0, "destroy");
	cgroup_manager_free(m);
}

static void test_knobs(void)
{
	struct oci_resources r = {.present = true};
	r.memory.present = r.memory.has_limit = r.memory.has_swap = true;
	r.memory.limit = 32 << 20;
	r.memory.swap = 96 << 20;
	r.cpu.present = r.cpu.has_idle = true;
	r.cpu.idle = 1;
	r.blkio.present = r.blkio.has_weight = true;
	r.blkio.weight = 500;
	struct oci_hugepage_limit huge = {.page_size = (char *)"2MB", .limit = 4 << 20};
	if (have("hugetlb")) {
		r.hugepage_limits = &huge;
		r.n_hugepage_limits = 1;
	}
	struct hangar_error err = {0};
	/* The page size becomes part of "hugetlb.<size>.max": "../x" is refused
	 * before anything is made. */
	struct oci_hugepage_limit escape = {.page_size = (char *)"../x", .limit = 1};
	struct oci_resources bad = {.present = true, .hugepage_limits = &escape, .n_hugepage_limits = 1};
	ok(make_err("escape", &bad, &err) == NULL &&
	       strstr(err.msg, "linux.resources.hugepageLimits[0].pageSize: invalid page size \"../x\"") &&
	       !exists_cg("escape"),
	   "hugepage pageSize ../x refused, no cgroup made: %s", err.msg);
	struct cgroup_manager *m = make_err("knobs", &r, &err);
	ok(m != NULL, "create with swap, cpu.idle, io weight, hugetlb%s%s", m ? "" : ": ", m ? "" : err.msg);
	if (!m)
		return;
	char *v = read_cg("knobs", "memory.swap.max");
	is_str(v, "67108864", "memory.swap.max = swap - limit (runc)");
	free(v);
	/* update --memory alone / --memory-swap alone, filled from the stored
	 * values as container_update_resources does. */
	struct oci_resources lim = {.present = true};
	lim.memory.present = lim.memory.has_limit = true;
	lim.memory.limit = 48 << 20;
	resources_fill_memory_from_stored(&lim.memory, &r.memory);
	ok(cgroup_manager_update(m, &lim, &err) == 0, "update limit alone (stored swap)%s%s",
	   err.msg[0] ? ": " : "", err.msg);
	v = read_cg("knobs", "memory.swap.max");
	is_str(v, "50331648", "memory.swap.max recomputed as stored swap - new limit");
	free(v);
	struct oci_resources swap_only = {.present = true};
	swap_only.memory.present = swap_only.memory.has_swap = true;
	swap_only.memory.swap = 128 << 20;
	resources_fill_memory_from_stored(&swap_only.memory, &lim.memory);
	ok(cgroup_manager_update(m, &swap_only, &err) == 0, "update swap alone (stored limit)%s%s",
	   err.msg[0] ? ": " : "", err.msg);
	v = read_cg("knobs", "memory.swap.max");
	is_str(v, "83886080", "memory.swap.max = new swap - stored limit");
	free(v);
	struct oci_resources bare = {.present = true};
	bare.memory.present = bare.memory.has_swap = true;
	bare.memory.swap = 128 << 20;
	ok(cgroup_manager_update(m, &bare, &err) < 0 && strstr(err.msg, "without memory limit"),
	   "swap alone without any limit is refused: %s", err.msg);
	v = read_cg("knobs", "cpu.idle");
	is_str(v, "1", "cpu.idle");
	free(v);
	v = read_cg("knobs", "io.weight");
	char *want = xasprintf("default %llu", (unsigned long long)cgroup_blkio_weight_to_io_weight(500));
	is_str(v, want, "io.weight from blkio weight 500");
	free(v);
	free(want);
	if (have("hugetlb")) {
		v = read_cg("knobs", "hugetlb.2MB.max");
		is_str(v, "4194304", "hugetlb.2MB.max");
		free(v);
		struct cgroup_stats s;
		bool found = false;
		if (cgroup_manager_stats(m, &s, &err) == 0)
			for (size_t i = 0; i < s.n_hugetlb; i++)
				found |= strcmp(s.hugetlb[i].page_size, "2MB") == 0 &&
					 s.hugetlb[i].max == 4u << 20;
		cgroup_stats_clear(&s);
		ok(found, "hugetlb stats for 2MB");
	} else {
		skip_or_fail("no hugetlb controller");
		skip_or_fail("no hugetlb controller");
	}
	if (have("rdma")) {
		/* No RDMA device in the guest: the kernel refuses, and the
		 * error says which resource and file. */
		struct oci_rdma rd = {
		    .device = (char *)"hangar_nodev0", .has_hca_handles = true, .hca_handles = 2};
		struct oci_resources rr = {.present = true, .rdma = &rd, .n_rdma = 1};
		ok(cgroup_manager_update(m, &rr, &err) < 0 && strstr(err.msg, "linux.resources.rdma") &&
		       strstr(err.msg, "rdma.max"),
		   "rdma for a missing device refused naming rdma.max: %s", err.msg);
	} else {
		skip_or_fail("no rdma controller");
	}
	struct oci_resources same = {.present = true};
	same.memory.present = same.memory.has_limit = same.memory.has_swap = true;
	same.memory.limit = same.memory.swap = 16 << 20;
	ok(cgroup_manager_update(m, &same, &err) == 0, "update swap == limit");
	v = read_cg("knobs", "memory.swap.max");
	is_str(v, "0", "memory.swap.max = 0 when swap == limit");
	free(v);
	struct oci_resources unl = {.present = true};
	unl.memory.present = unl.memory.has_limit = true;
	unl.memory.limit = -1;
	ok(cgroup_manager_update(m, &unl, &err) == 0, "update limit -1");
	v = read_cg("knobs", "memory.max");
	char *sw = read_cg("knobs", "memory.swap.max");
	ok(strcmp(v, "max") == 0 && strcmp(sw, "max") == 0, "memory.max and memory.swap.max are max (%s, %s)",
	   v, sw);
	free(v);
	free(sw);
	ok(cgroup_manager_destroy(m, &err) == 0, "destroy");
	cgroup_manager_free(m);
}

static int run_direct_read(void *arg)
{
	int fd = open(arg, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return 1;
	void *buf;
	if (posix_memalign(&buf, 4096, 64 << 10))
		return 2;
	for (int i = 0; i < 48; i++) /* 3 MiB */
		if (read(fd, buf, 64 << 10) != 64 << 10)
			return 3;
	return 0;
}

static void test_io(void)
{
	char img[] = "/tmp/hangar-cg2-loop-XXXXXX";
	int fd = mkstemp(img);
	if (fd < 0 || ftruncate(fd, 16 << 20) < 0) {
		skip_or_fail("cannot create a loop backing file");
		return;
	}
	close(fd);
	char dev[32];
	int lfd = loop_attach(img, dev, sizeof(dev));
	if (lfd < 0) {
		unlink(img);
		skip_or_fail("no loop device (modprobe loop)");
		return;
	}
	struct stat sb;
	stat(dev, &sb);
	struct oci_throttle_device rbps = {
	    .major = major(sb.st_rdev), .minor = minor(sb.st_rdev), .rate = 1 << 20};
	struct oci_resources r = {.present = true};
	r.blkio.present = r.blkio.has_weight = true;
	r.blkio.weight = 500;
	r.blkio.throttle_read_bps = &rbps;
	r.blkio.n_throttle_read_bps = 1;
	struct hangar_error err = {0};
	struct cgroup_manager *m = make_err("io", &r, &err);
	ok(m != NULL, "create with io.max rbps=1MiB/s on %s%s%s", dev, m ? "" : ": ", m ? "" : err.msg);
	if (m) {
		char *v = read_cg("io", "io.max");
		char *want = xasprintf("%u:%u rbps=1048576", major(sb.st_rdev), minor(sb.st_rdev));
		ok(strstr(v, want) != NULL, "io.max = %s", v);
		free(v);
		free(want);
		uint64_t t0 = now_ns();
		pid_t p = spawn_in(m, run_direct_read, dev);
		int st = wait_status(p);
		double secs = (now_ns() - t0) / 1e9;
		ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && secs > 2.0,
		   "3 MiB O_DIRECT read took %.2f s (rc %d)", secs, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		struct cgroup_stats s;
		bool found = false;
		if (cgroup_manager_stats(m, &s, &err) == 0)
			for (size_t i = 0; i < s.n_io; i++)
				found |=
				    s.io[i].major == major(sb.st_rdev) && s.io[i].read_bytes >= (3u << 20);
		cgroup_stats_clear(&s);
		ok(found, "io.stat counts the read bytes");

		/* The other three throttles, live. */
		unsigned maj = major(sb.st_rdev), min = minor(sb.st_rdev);
		struct oci_throttle_device th[3];
		struct oci_resources up;
		other_throttles(&up, th, maj, min);
		ok(cgroup_manager_update(m, &up, &err) == 0, "update write bps, read and write iops%s%s",
		   err.msg[0] ? ": " : "", err.msg);
		v = read_cg("io", "io.max");
		want = xasprintf("%u:%u rbps=1048576 wbps=2097152 riops=100 wiops=200", maj, min);
		is_str(v, want, "io.max carries all four throttles");
		free(v);
		free(want);
		/* weightDevice needs a weight-based policy (iocost or bfq) on the
		 * device; without one the kernel refuses and the error names it. */
		int rc = update_weight_device(m, maj, min, 200, &err);
		v = read_cg("io", exists_cg("io/io.bfq.weight") ? "io.bfq.weight" : "io.weight");
		char *line = xasprintf("%u:%u ", maj, min);
		if (rc == 0)
			ok(strstr(v, line) != NULL, "weightDevice written: %s", v);
		else
			ok(strstr(err.msg, "linux.resources.blockIO.weightDevice") &&
			       strstr(err.msg, "weight"),
			   "weightDevice refused by the kernel, error names resource and file: %s", err.msg);
		free(line);
		free(v);
		ok(cgroup_manager_destroy(m, &err) == 0, "destroy");
		cgroup_manager_free(m);
	}
	ioctl(lfd, LOOP_CLR_FD, 0);
	close(lfd);
	unlink(img);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("# SKIP needs root to create cgroups\n");
		return 77;
	}
	enum cgroup_mode mode;
	struct hangar_error err;
	if (cgroup_detect_mode(&mode, &err) < 0) {
		printf("# SKIP %s\n", err.msg);
		return 77;
	}
	if (mode == CGROUP_MODE_HYBRID && getenv("HANGAR_CGROUP_ROOT") == NULL) {
		/* The hybrid host's cgroup2 mount has no controllers, but the
		 * core files (freeze, kill, events) and BPF work there. */
		char *unified = xasprintf("%s/unified", cgroup_root());
		setenv("HANGAR_CGROUP_ROOT", unified, 1);
		free(unified);
		cgroup_detect_mode(&mode, &err);
	}
	if (mode != CGROUP_MODE_UNIFIED) {
		printf("# SKIP no cgroup2 hierarchy on this host\n");
		return 77;
	}
	root = cgroup_root();
	char *ctrls = NULL;
	char *cpath = xasprintf("%s/cgroup.controllers", root);
	if (read_file_at(AT_FDCWD, cpath, &ctrls, NULL, &err) == 0) {
		ctrls[strcspn(ctrls, "\n")] = '\0';
		snprintf(avail, sizeof(avail), "%s", ctrls);
	}
	free(ctrls);
	free(cpath);
	/* pid alone can repeat across pid namespaces running tests concurrently */
	snprintf(parent, sizeof(parent), "hangar-test-%d-%llx", (int)getpid(),
		 (unsigned long long)(now_ns() & 0xffffff));
	diag("cgroup2 at %s, controllers: '%s', test parent /%s", root, avail, parent);

	test_lifecycle();
	test_devices();
	test_validation();
	test_rootless();
	if (have("memory") && have("cpu") && have("pids") && have("io") && have("cpuset")) {
		test_memory();
		test_reclaim();
		test_pids_cpu();
		test_knobs();
		test_io();
	} else {
		skip_or_fail(
		    "memory/cpu/pids/io/cpuset controllers not available in this cgroup2 root (hybrid "
		    "host): limit tests run in the VM (tests/vm/cgroup-v2.t)");
	}
	ok(!exists_cg(NULL), "nothing left below %s/%s", root, parent);
	if (exists_cg(NULL)) {
		char *p = xasprintf("%s/%s", root, parent);
		rmdir(p);
		free(p);
	}
	return tap_done();
}
