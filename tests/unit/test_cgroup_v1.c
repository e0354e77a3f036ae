/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cgroup manager against real cgroup v1 hierarchies (this host is
 * hybrid).  Everything is created below /hangar-test-<pid>/ in each
 * hierarchy and removed again; the last check proves nothing is left.
 * Skips (exit 77) on a host without v1 controllers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "tests/unit/tap.h"
#include "tests/unit/cgroup_workloads.h"

static char parent[64];

static char *path_of(const char *name)
{
	return xasprintf("/%s/%s", parent, name);
}

static char *read_cg(const char *ctrl, const char *name, const char *file)
{
	char *path = xasprintf("/sys/fs/cgroup/%s/%s/%s/%s", ctrl, parent, name, file);
	char *text = NULL;
	struct hangar_error err;
	if (read_file_at(AT_FDCWD, path, &text, NULL, &err) < 0)
		text = xstrdup("(unreadable)");
	free(path);
	text[strcspn(text, "\n")] = '\0';
	return text;
}

static bool exists_cg(const char *ctrl, const char *rel)
{
	char *path = xasprintf("/sys/fs/cgroup/%s/%s%s%s", ctrl, parent, rel ? "/" : "", rel ? rel : "");
	bool r = access(path, F_OK) == 0;
	free(path);
	return r;
}

static struct cgroup_manager *make(const char *name, const struct oci_resources *r)
{
	struct cgroup_manager *m = NULL;
	struct hangar_error err = {0};
	char *p = path_of(name);
	struct cgroup_spec spec = {.path = p, .id = name};
	if (cgroup_manager_create(&spec, r, &m, &err) < 0) {
		diag("create %s: %s", name, err.msg);
		m = NULL;
	}
	free(p);
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
	return made; /* children are killed with the cgroup */
}

static int run_devices(void *arg)
{
	(void)arg;
	int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	int null_errno = errno;
	int zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (null_fd >= 0 || null_errno != EPERM)
		return 1;
	if (zero_fd < 0)
		return 2;
	return 0;
}

static void test_memory(void)
{
	struct oci_resources r = {.present = true};
	r.memory.present = true;
	r.memory.has_limit = true;
	r.memory.limit = 32 << 20;
	struct cgroup_manager *m = make("mem", &r);
	ok(m != NULL, "create with memory limit 32M");
	if (!m)
		return;
	char *v = read_cg("memory", "mem", "memory.limit_in_bytes");
	is_str(v, "33554432", "memory.limit_in_bytes written");
	free(v);
	struct hangar_error err;
	int efd = cgroup_manager_oom_event_fd(m, &err);
	ok(efd >= 0, "oom event fd (eventfd via cgroup.event_control)%s%s", efd < 0 ? ": " : "",
	   efd < 0 ? err.msg : "");

	pid_t small = spawn_in(m, run_hog, (void *)(uintptr_t)(8 << 20));
	int st = wait_status(small);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "8 MiB allocation fits");

	pid_t hog = spawn_in(m, run_hog, (void *)(uintptr_t)(256 << 20));
	st = wait_status(hog);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "256 MiB hog is OOM-killed (status 0x%x)", st);

	struct cgroup_stats s;
	ok(cgroup_manager_stats(m, &s, &err) == 0, "stats");
	ok(s.mem_failcnt > 0, "memory failcnt counted (%llu)", (unsigned long long)s.mem_failcnt);
	ok(s.mem_oom_kill >= 1, "oom_kill counted (%llu)", (unsigned long long)s.mem_oom_kill);
	ok(s.mem_peak >= (30u << 20) && s.mem_peak <= (32u << 20), "peak near the limit (%llu)",
	   (unsigned long long)s.mem_peak);
	ok(s.mem_limit == 32u << 20, "stats limit");
	cgroup_stats_clear(&s);
	if (efd >= 0) {
		struct pollfd pfd = {.fd = efd, .events = POLLIN};
		uint64_t count = 0;
		ok(poll(&pfd, 1, 1000) == 1 && read(efd, &count, 8) == 8 && count >= 1,
		   "OOM eventfd fired (%llu)", (unsigned long long)count);
		close(efd);
	}

	/* Lowering below usage: v1 refuses with EBUSY; the old limit stays. */
	pid_t holder = spawn_in(m, run_hold, (void *)(uintptr_t)(20 << 20));
	msleep(300);
	struct oci_resources lower = {.present = true};
	lower.memory.present = true;
	lower.memory.has_limit = true;
	lower.memory.limit = 4 << 20;
	int rc = cgroup_manager_update(m, &lower, &err);
	ok(rc < 0 && err.err_no == EBUSY && strstr(err.msg, "linux.resources.memory.limit") &&
	       strstr(err.msg, "below current usage"),
	   "lowering memory below usage refused: %s", rc < 0 ? err.msg : "(succeeded)");
	v = read_cg("memory", "mem", "memory.limit_in_bytes");
	is_str(v, "33554432", "old limit kept");
	free(v);
	ok(kill(holder, 0) == 0, "holder still alive (not OOM-killed by the update)");
	/* checkBeforeUpdate: refused on usage before the kernel is asked. */
	lower.memory.has_check_before_update = lower.memory.check_before_update = true;
	lower.memory.limit = 8 << 20;
	rc = cgroup_manager_update(m, &lower, &err);
	ok(rc < 0 && strstr(err.msg, "checkBeforeUpdate: memory limit 8388608 is below current usage"),
	   "checkBeforeUpdate refuses: %s", rc < 0 ? err.msg : "(succeeded)");
	v = read_cg("memory", "mem", "memory.limit_in_bytes");
	is_str(v, "33554432", "old limit kept after the checkBeforeUpdate refusal");
	free(v);
	lower.memory.has_check_before_update = lower.memory.check_before_update = false;
	struct oci_resources raise = lower;
	raise.memory.limit = 64 << 20;
	ok(cgroup_manager_update(m, &raise, &err) == 0, "raise limit to 64M live");
	v = read_cg("memory", "mem", "memory.limit_in_bytes");
	is_str(v, "67108864", "new limit in memory.limit_in_bytes");
	free(v);
	hangar_error_clear(&err);
	ok(cgroup_manager_destroy(m, &err) == 0, "destroy kills the holder and removes the cgroup%s%s",
	   err.msg[0] ? ": " : "", err.msg);
	st = wait_status(holder);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "holder was SIGKILLed by destroy");
	ok(!exists_cg("memory", "mem"), "memory cgroup gone");
	cgroup_manager_free(m);
}

static void test_pids(void)
{
	struct oci_resources r = {.present = true, .has_pids_limit = true, .pids_limit = 8};
	struct cgroup_manager *m = make("pids", &r);
	ok(m != NULL, "create with pids limit 8");
	if (!m)
		return;
	pid_t p = spawn_in(m, run_forks, NULL);
	int st = wait_status(p);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 7, "fork loop stopped at pids.max (made %d of 32)",
	   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	pid_t *pids;
	size_t n;
	struct hangar_error err;
	ok(cgroup_manager_pids(m, &pids, &n, &err) == 0 && n == 7, "pids lists the 7 orphans (%zu)", n);
	free(pids);
	struct oci_resources up = {.present = true, .has_pids_limit = true, .pids_limit = 0};
	ok(cgroup_manager_update(m, &up, &err) == 0, "update pids limit to unlimited");
	char *v = read_cg("pids", "pids", "pids.max");
	is_str(v, "max", "pids.max is max");
	free(v);
	ok(cgroup_manager_kill_all(m, SIGTERM, &err) == 0, "kill_all SIGTERM");
	for (int i = 0; i < 200; i++) {
		if (cgroup_manager_pids(m, &pids, &n, &err) == 0)
			free(pids);
		if (n == 0)
			break;
		msleep(10);
	}
	ok(n == 0, "all members gone after kill_all");
	ok(cgroup_manager_destroy(m, &err) == 0, "destroy");
	cgroup_manager_free(m);
}

static void test_cpu(void)
{
	struct oci_resources r = {.present = true};
	r.cpu.present = true;
	r.cpu.has_quota = r.cpu.has_period = r.cpu.has_shares = true;
	r.cpu.quota = 20000;
	r.cpu.period = 100000;
	r.cpu.shares = 512;
	struct cgroup_manager *m = make("cpu", &r);
	ok(m != NULL, "create with cpu quota 20ms/100ms");
	if (!m)
		return;
	char *v = read_cg("cpu", "cpu", "cpu.cfs_quota_us");
	is_str(v, "20000", "cpu.cfs_quota_us");
	free(v);
	v = read_cg("cpu", "cpu", "cpu.shares");
	is_str(v, "512", "cpu.shares");
	free(v);
	pid_t p = spawn_in(m, run_busy, (void *)(uintptr_t)1000);
	wait_status(p);
	struct cgroup_stats s;
	struct hangar_error err;
	ok(cgroup_manager_stats(m, &s, &err) == 0, "stats");
	ok(s.cpu_nr_throttled > 0, "throttled %llu of %llu periods", (unsigned long long)s.cpu_nr_throttled,
	   (unsigned long long)s.cpu_nr_periods);
	ok(s.cpu_usage_ns > 100000000ULL && s.cpu_usage_ns < 400000000ULL,
	   "1 s busy loop used about 20%% cpu: %.3f s", s.cpu_usage_ns / 1e9);
	ok(s.cpu_throttled_ns > 0 && s.n_cpu_percpu >= 1, "throttled time and per-cpu usage reported");
	ok(s.n_cpu_percpu_user == s.n_cpu_percpu && s.n_cpu_percpu_system == s.n_cpu_percpu,
	   "per-cpu user/system usage for %zu cpus", s.n_cpu_percpu);
	char *json = cgroup_stats_to_runc_json(&s);
	json_object *o = json_tokener_parse(json), *c, *u, *t;
	ok(o && json_object_object_get_ex(o, "cpu", &c) && json_object_object_get_ex(c, "usage", &u) &&
	       json_object_object_get_ex(u, "total", &t) && json_object_get_uint64(t) == s.cpu_usage_ns,
	   "runc JSON carries the real usage");
	ok(o && json_object_object_get_ex(u, "percpu_kernel", &t) &&
	       json_object_array_length(t) == s.n_cpu_percpu,
	   "runc JSON has percpu_kernel");
	json_object_put(o);
	free(json);
	cgroup_stats_clear(&s);

	/* cpuset pinning, applied live */
	struct oci_resources pin = {.present = true};
	pin.cpu.present = true;
	pin.cpu.cpus = (char *)"1";
	ok(cgroup_manager_update(m, &pin, &err) == 0, "update cpuset.cpus=1");
	p = spawn_in(m, run_affinity, NULL);
	int st = wait_status(p);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child is pinned to CPU 1 only");

	struct oci_resources bad = {.present = true};
	bad.cpu.present = true;
	bad.cpu.cpus = (char *)"99";
	ok(cgroup_manager_update(m, &bad, &err) < 0 &&
	       strstr(err.msg, "linux.resources.cpu.cpus: write 99 to cpuset.cpus"),
	   "kernel refusal names resource and file: %s", err.msg);
	ok(cgroup_manager_destroy(m, &err) == 0, "destroy");
	cgroup_manager_free(m);
}

static void test_freeze(void)
{
	struct cgroup_manager *m = make("frz", NULL);
	ok(m != NULL, "create without resources");
	if (!m)
		return;
	struct hangar_error err = {0};
	int st_first;
	pid_t p = spawn_in(m, run_spin_forever, NULL);
	msleep(100);
	uint64_t t0 = now_ns();
	ok(cgroup_manager_freeze(m, &err) == 0, "freeze%s%s", err.msg[0] ? ": " : "", err.msg);
	uint64_t took = now_ns() - t0;
	ok(took < 100000000ULL, "freeze returned in %.1f ms", took / 1e6);
	bool frozen = false;
	ok(cgroup_manager_is_frozen(m, &frozen, &err) == 0 && frozen, "is_frozen reports frozen");
	uint64_t u1 = usage_of(m);
	msleep(300);
	uint64_t u2 = usage_of(m);
	ok(u2 - u1 < 5000000ULL, "frozen child used no cpu (%llu ns in 300 ms)",
	   (unsigned long long)(u2 - u1));
	ok(cgroup_manager_freeze(m, &err) == 0, "freezing twice is fine");
	ok(cgroup_manager_thaw(m, &err) == 0, "thaw");
	ok(cgroup_manager_is_frozen(m, &frozen, &err) == 0 && !frozen, "is_frozen reports thawed");
	msleep(300);
	uint64_t u3 = usage_of(m);
	ok(u3 - u2 > 30000000ULL, "thawed child runs again (%.3f s in 300 ms)", (u3 - u2) / 1e9);

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

	/* A paused container stays paused; the signal lands on resume. */
	pid_t t = spawn_in(m, run_spin_forever, NULL);
	ok(cgroup_manager_freeze(m, &err) == 0, "pause with a second child");
	ok(cgroup_manager_kill_all(m, SIGTERM, &err) == 0 &&
	       cgroup_manager_is_frozen(m, &frozen, &err) == 0 && frozen,
	   "kill_all SIGTERM leaves a paused container paused");
	msleep(100);
	int tst = 0;
	ok(waitpid(t, &tst, WNOHANG) == 0, "frozen children have not died yet");
	ok(cgroup_manager_thaw(m, &err) == 0, "resume");
	tst = wait_status(t);
	ok(WIFSIGNALED(tst) && WTERMSIG(tst) == SIGTERM, "second child got SIGTERM on resume");
	/* the first child got it too: start another long-lived one */
	st_first = wait_status(p);
	ok(WIFSIGNALED(st_first) && WTERMSIG(st_first) == SIGTERM, "first child got SIGTERM on resume");
	p = spawn_in(m, run_spin_forever, NULL);

	/* Persist, reopen as a later CLI call would, and finish from there. */
	char *state = cgroup_manager_serialize(m);
	struct cgroup_manager *again = NULL;
	ok(cgroup_manager_open(state, &again, &err) == 0, "open from serialized state");
	if (again) {
		pid_t *pids;
		size_t n;
		ok(cgroup_manager_pids(again, &pids, &n, &err) == 0 && n == 1 && pids[0] == p,
		   "reopened manager sees the child");
		free(pids);
		char *state2 = cgroup_manager_serialize(again);
		is_str(state2, state, "serialize(open(s)) == s");
		free(state2);
		ok(cgroup_manager_freeze(again, &err) == 0, "freeze through reopened manager");
		hangar_error_clear(&err);
		ok(cgroup_manager_destroy(again, &err) == 0,
		   "destroy a frozen cgroup through reopened manager%s%s", err.msg[0] ? ": " : "", err.msg);
		int st = wait_status(p);
		ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "frozen child was killed");
		ok(!exists_cg("freezer", "frz") && !exists_cg("cpuacct", "frz"), "cgroup dirs gone");
		cgroup_manager_free(again);
	}
	/* The state outlives the cgroup: still openable, destroy is a no-op. */
	again = NULL;
	ok(cgroup_manager_open(state, &again, &err) == 0 && cgroup_manager_destroy(again, &err) == 0,
	   "open + destroy of a vanished cgroup works");
	ok(again && cgroup_manager_freeze(again, &err) < 0 && err.err_no == ENOENT,
	   "freeze says it is gone: %s", err.msg);
	cgroup_manager_free(again);
	free(state);
	cgroup_manager_free(m);
}

/* The freezer's short polling pays off with many busy tasks: 200 spinning
 * processes freeze in well under runc's 100 ms poll step. */
static void test_freeze_many(void)
{
	enum { N = 200 };
	struct cgroup_manager *m = make("frz200", NULL);
	ok(m != NULL, "create frz200");
	if (!m)
		return;
	struct hangar_error err = {0};
	int start[2];
	pid_t kids[N];
	size_t n = 0, entered = 0;
	if (pipe2(start, O_CLOEXEC) < 0) {
		ok(false, "pipe: %s", strerror(errno));
		cgroup_manager_free(m);
		return;
	}
	/* All wait on one pipe, so none spins before every one is in. */
	for (; n < N; n++) {
		kids[n] = fork();
		if (kids[n] == 0) {
			char c;
			close(start[1]);
			if (read(start[0], &c, 1) != 0)
				_exit(99);
			for (volatile unsigned long i = 0;; i++)
				;
		}
		if (kids[n] < 0)
			break;
		entered += cgroup_manager_enter(m, kids[n], &err) == 0;
	}
	close(start[0]);
	close(start[1]);
	ok(n == N && entered == N, "%zu busy tasks in the cgroup", entered);
	msleep(20);
	uint64_t t0 = now_ns();
	int rc = cgroup_manager_freeze(m, &err);
	uint64_t took = now_ns() - t0;
	ok(rc == 0, "freeze %d busy tasks%s%s", N, rc ? ": " : "", rc ? err.msg : "");
	ok(took < 100000000ULL, "froze in %.1f ms (runc polls in 100 ms steps)", took / 1e6);
	bool frozen = false;
	ok(cgroup_manager_is_frozen(m, &frozen, &err) == 0 && frozen, "all frozen");
	rc = cgroup_manager_destroy(m, &err);
	ok(rc == 0, "destroy kills them%s%s", rc ? ": " : "", rc ? err.msg : "");
	for (size_t i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	cgroup_manager_free(m);
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
	};
	struct oci_resources r = {.present = true, .devices = rules, .n_devices = 2};
	struct cgroup_manager *m = make("dev", &r);
	ok(m != NULL, "create with device rules deny all, allow /dev/zero");
	if (!m)
		return;
	char *v = read_cg("devices", "dev", "devices.list");
	is_str(v, "c 1:5 rwm", "devices.list holds only /dev/zero");
	free(v);
	pid_t p = spawn_in(m, run_devices, NULL);
	int st = wait_status(p);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "/dev/null denied (EPERM), /dev/zero allowed (rc %d)",
	   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	struct hangar_error err = {0};
	/* allow-by-default with one exception, as on v2 */
	struct oci_device_cgroup black[] = {
	    {.allow = true, .access = (char *)"rwm"},
	    {.allow = false,
	     .type = 'c',
	     .has_major = true,
	     .major = 1,
	     .has_minor = true,
	     .minor = 3,
	     .access = (char *)"w"},
	};
	struct oci_resources deny_w = {.present = true, .devices = black, .n_devices = 2};
	ok(cgroup_manager_update(m, &deny_w, &err) == 0, "update: allow all but writing /dev/null%s%s",
	   err.msg[0] ? ": " : "", err.msg);
	v = read_cg("devices", "dev", "devices.list");
	is_str(v, "a *:* rwm", "devices.list shows allow-all mode");
	free(v);
	p = spawn_in(m, run_devices, NULL);
	st = wait_status(p);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "/dev/null for writing denied, /dev/zero allowed");
	struct oci_device_cgroup hole[] = {
	    {.allow = false, .access = (char *)"rwm"},
	    {.allow = true, .type = 'c', .access = (char *)"rwm"},
	    {.allow = false,
	     .type = 'c',
	     .has_major = true,
	     .major = 1,
	     .has_minor = true,
	     .minor = 3,
	     .access = (char *)"w"},
	};
	struct oci_resources holes = {.present = true, .devices = hole, .n_devices = 3};
	ok(cgroup_manager_update(m, &holes, &err) < 0 && strstr(err.msg, "wildcard"),
	   "a hole in a wildcard rule is refused (v1 would ignore it): %s", err.msg);
	ok(cgroup_manager_destroy(m, &err) == 0, "destroy");
	cgroup_manager_free(m);
}

static int run_open_null_loop(void *arg)
{
	(void)arg;
	int failures = 0;
	uint64_t until = now_ns() + 1500000000ULL;
	while (now_ns() < until) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			failures++;
		else
			close(fd);
		/* /dev/full is in neither list: it must never open */
		fd = open("/dev/full", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			failures++;
			close(fd);
		}
	}
	return failures > 250 ? 250 : failures;
}

/* Updating the device list of a running container must not deny what
 * stays allowed, not even for an instant (runc computes a transition). */
static void test_devices_update_no_gap(void)
{
	struct oci_device_cgroup a[] = {
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
	struct oci_device_cgroup b[] = {
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
	     .minor = 9,
	     .access = (char *)"r"},
	};
	struct oci_resources ra = {.present = true, .devices = a, .n_devices = 3};
	struct oci_resources rb = {.present = true, .devices = b, .n_devices = 3};
	struct cgroup_manager *m = make("devgap", &ra);
	ok(m != NULL, "create with an allow list");
	if (!m)
		return;
	pid_t p = spawn_in(m, run_open_null_loop, NULL);
	struct hangar_error err = {0};
	int failed_updates = 0;
	for (int i = 0; i < 300; i++)
		if (cgroup_manager_update(m, i % 2 ? &ra : &rb, &err) < 0)
			failed_updates++;
	int st = wait_status(p);
	ok(failed_updates == 0, "300 live device updates%s%s", err.msg[0] ? ": " : "", err.msg);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "/dev/null never denied, /dev/full never allowed during the updates (%d wrong opens)",
	   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	char *list = xasprintf("/sys/fs/cgroup/devices/%s/devgap/devices.list", parent);
	char *v = NULL;
	if (read_file_at(AT_FDCWD, list, &v, NULL, &err) < 0)
		v = xstrdup("");
	free(list);
	for (char *nl = strchr(v, '\n'); nl; nl = strchr(nl, '\n'))
		*nl = ';';
	ok(strstr(v, "c 1:3 rwm") && strstr(v, "c 1:5 rwm") && !strstr(v, "c 1:9"),
	   "list matches the last update: %s", v);
	free(v);
	ok(cgroup_manager_destroy(m, &err) == 0, "destroy");
	cgroup_manager_free(m);
}

static int run_dd_read(void *arg)
{
	char *cmd = xasprintf("dd if=%s of=/dev/null bs=64k count=32 iflag=direct 2>/dev/null", (char *)arg);
	int r = system(cmd);
	free(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : 100;
}

static void test_blkio(void)
{
	char img[] = "/tmp/hangar-cg-loop-XXXXXX";
	int fd = mkstemp(img);
	if (fd < 0 || ftruncate(fd, 16 << 20) < 0) {
		skip("cannot create loop backing file");
		return;
	}
	close(fd);
	char dev[64] = "";
	int lfd = loop_attach(img, dev, sizeof(dev));
	if (lfd < 0) {
		unlink(img);
		skip("no loop device here (modprobe loop)");
		return;
	}
	struct stat sb;
	stat(dev, &sb);
	struct oci_throttle_device rbps = {
	    .major = major(sb.st_rdev), .minor = minor(sb.st_rdev), .rate = 1 << 20};
	struct oci_resources r = {.present = true};
	r.blkio.present = r.blkio.has_weight = true;
	r.blkio.weight = 300;
	r.blkio.throttle_read_bps = &rbps;
	r.blkio.n_throttle_read_bps = 1;
	/* Only bfq (or the old cfq) offers a weight file, and only in child
	 * cgroups: look in a probe child.  The guest kernel of
	 * tests/vm/cgroup-legacy.t has neither, and then a weight is refused. */
	char *probe = xasprintf("/sys/fs/cgroup/blkio/%s-wprobe", parent);
	char *probe_bfq = xasprintf("%s/blkio.bfq.weight", probe),
	     *probe_w = xasprintf("%s/blkio.weight", probe);
	const char *wfile = NULL;
	if (mkdir(probe, 0755) == 0) {
		wfile = access(probe_bfq, F_OK) == 0 ? "blkio.bfq.weight"
			: access(probe_w, F_OK) == 0 ? "blkio.weight"
						     : NULL;
		rmdir(probe);
	}
	free(probe);
	free(probe_bfq);
	free(probe_w);
	if (wfile == NULL) {
		struct cgroup_manager *bad = NULL;
		struct hangar_error err = {0};
		char *bp = path_of("blk");
		struct cgroup_spec spec = {.path = bp, .id = "blk"};
		ok(cgroup_manager_create(&spec, &r, &bad, &err) < 0 &&
		       strstr(err.msg, "linux.resources.blockIO.weight") && strstr(err.msg, "blkio.weight"),
		   "no weight file: blockIO.weight refused naming the file: %s", err.msg);
		ok(!exists_cg("blkio", "blk"), "the refused create left no cgroup");
		free(bp);
		r.blkio.has_weight = false;
	}
	struct cgroup_manager *m = make("blk", &r);
	ok(m != NULL, "create with 1 MiB/s read throttle on %s%s", dev, wfile ? " and weight 300" : "");
	if (m && wfile) {
		char *w = read_cg("blkio", "blk", wfile);
		ok(strstr(w, "300") != NULL, "%s: %s", wfile, w);
		free(w);
	}
	if (m) {
		uint64_t t0 = now_ns();
		pid_t p = spawn_in(m, run_dd_read, dev);
		int st = wait_status(p);
		double secs = (now_ns() - t0) / 1e9;
		ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "dd ran");
		ok(secs > 1.5, "2 MiB O_DIRECT read took %.2f s (throttled)", secs);
		struct cgroup_stats s;
		struct hangar_error err;
		bool found = false;
		if (cgroup_manager_stats(m, &s, &err) == 0)
			for (size_t i = 0; i < s.n_io; i++)
				found |= s.io[i].major == major(sb.st_rdev) &&
					 s.io[i].minor == minor(sb.st_rdev) &&
					 s.io[i].read_bytes >= (2u << 20);
		cgroup_stats_clear(&s);
		ok(found, "io stats count the bytes read from %s", dev);

		/* The other three throttles, live, each in its own file. */
		unsigned maj = major(sb.st_rdev), min = minor(sb.st_rdev);
		struct oci_throttle_device th[3];
		struct oci_resources up;
		other_throttles(&up, th, maj, min);
		hangar_error_clear(&err);
		ok(cgroup_manager_update(m, &up, &err) == 0, "update write bps, read and write iops%s%s",
		   err.msg[0] ? ": " : "", err.msg);
		const struct {
			const char *file;
			unsigned rate;
		} want[] = {{"blkio.throttle.write_bps_device", 2u << 20},
			    {"blkio.throttle.read_iops_device", 100},
			    {"blkio.throttle.write_iops_device", 200}};
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			char *v = read_cg("blkio", "blk", want[i].file);
			char *line = xasprintf("%u:%u %u", maj, min, want[i].rate);
			is_str(v, line, "%s", want[i].file);
			free(line);
			free(v);
		}
		/* weightDevice needs bfq on the device; a loop device without it
		 * is refused by the kernel, and the error names resource and file
		 * (blkio.weight_device when bfq is not there at all). */
		int rc = update_weight_device(m, maj, min, 200, &err);
		char *v = read_cg("blkio", "blk", "blkio.bfq.weight_device");
		char *line = xasprintf("%u:%u 200", maj, min);
		if (rc == 0)
			ok(strstr(v, line) != NULL, "weightDevice written: %s", v);
		else
			ok(strstr(err.msg, "linux.resources.blockIO.weightDevice") &&
			       strstr(err.msg, wfile && strcmp(wfile, "blkio.bfq.weight") == 0
						   ? "blkio.bfq.weight_device"
						   : "blkio.weight_device"),
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

static void test_memory_knobs(void)
{
	struct oci_resources r = {.present = true};
	r.memory.present = r.memory.has_limit = r.memory.has_swap = r.memory.has_reservation = true;
	r.memory.limit = 32 << 20;
	r.memory.swap = 48 << 20;
	r.memory.reservation = 16 << 20;
	r.memory.has_swappiness = true;
	r.memory.swappiness = 10;
	r.memory.has_disable_oom_killer = r.memory.disable_oom_killer = true;
	r.memory.has_kernel = true;
	r.memory.kernel = 1 << 20; /* deprecated: ignored without error */
	struct cgroup_manager *m = make("knobs", &r);
	ok(m != NULL, "create with limit, swap, reservation, swappiness, disableOOMKiller, kernel");
	if (!m)
		return;
	char *v = read_cg("memory", "knobs", "memory.memsw.limit_in_bytes");
	is_str(v, "50331648", "memory.memsw.limit_in_bytes = swap (memory+swap)");
	free(v);
	v = read_cg("memory", "knobs", "memory.soft_limit_in_bytes");
	is_str(v, "16777216", "memory.soft_limit_in_bytes = reservation");
	free(v);
	v = read_cg("memory", "knobs", "memory.swappiness");
	is_str(v, "10", "memory.swappiness");
	free(v);
	v = read_cg("memory", "knobs", "memory.oom_control");
	ok(strstr(v, "oom_kill_disable 1") != NULL, "oom_control: oom_kill_disable 1");
	free(v);
	/* memsw must stay >= limit: raising both needs memsw first */
	struct oci_resources up = {.present = true};
	up.memory.present = up.memory.has_limit = up.memory.has_swap = true;
	up.memory.limit = 96 << 20;
	up.memory.swap = 128 << 20;
	struct hangar_error err = {0};
	ok(cgroup_manager_update(m, &up, &err) == 0, "raise limit and swap above the old memsw%s%s",
	   err.msg[0] ? ": " : "", err.msg);
	v = read_cg("memory", "knobs", "memory.limit_in_bytes");
	is_str(v, "100663296", "limit raised");
	free(v);
	up.memory.limit = 8 << 20;
	up.memory.swap = 16 << 20;
	ok(cgroup_manager_update(m, &up, &err) == 0, "lower both (limit first)%s%s", err.msg[0] ? ": " : "",
	   err.msg);
	v = read_cg("memory", "knobs", "memory.memsw.limit_in_bytes");
	is_str(v, "16777216", "memsw lowered");
	free(v);
	up.memory.limit = -1;
	up.memory.has_swap = false;
	ok(cgroup_manager_update(m, &up, &err) == 0, "limit -1 = unlimited (memsw too)");
	v = read_cg("memory", "knobs", "memory.limit_in_bytes");
	is_str(v, "9223372036854771712", "memory.limit_in_bytes unlimited");
	free(v);
	struct oci_resources bad = {.present = true};
	bad.memory.present = bad.memory.has_limit = bad.memory.has_swap = true;
	bad.memory.limit = 64 << 20;
	bad.memory.swap = 32 << 20;
	ok(cgroup_manager_update(m, &bad, &err) < 0 && strstr(err.msg, "linux.resources.memory.swap"),
	   "swap below limit refused: %s", err.msg);
	ok(cgroup_manager_destroy(m, &err) == 0, "destroy");
	cgroup_manager_free(m);
}

static void test_unavailable(void)
{
	struct hangar_error err = {0};
	struct cgroup_manager *m = NULL;
	char *p = path_of("na");
	struct cgroup_spec spec = {.path = p, .id = "na"};
	struct oci_net_priority prio = {.name = (char *)"lo", .priority = 5};
	struct oci_resources net = {.present = true,
				    .has_class_id = true,
				    .class_id = 0x100001,
				    .net_priorities = &prio,
				    .n_net_priorities = 1};
	if (access("/sys/fs/cgroup/net_cls/.", F_OK) == 0 && access("/sys/fs/cgroup/net_prio/.", F_OK) == 0) {
		/* A legacy distro mounts net_cls,net_prio (tests/vm/cgroup-legacy.t). */
		ok(cgroup_manager_create(&spec, &net, &m, &err) == 0,
		   "classID and priorities with net_cls,net_prio: %s", m ? "created" : err.msg);
		char *v = read_cg("net_cls", "na", "net_cls.classid");
		is_str(v, "1048577", "net_cls.classid");
		free(v);
		v = read_cg("net_prio", "na", "net_prio.ifpriomap");
		ok(strstr(v, "lo 5") != NULL, "net_prio.ifpriomap has lo 5: %s", v);
		free(v);
		ok(m && cgroup_manager_destroy(m, &err) == 0, "destroy");
		cgroup_manager_free(m);
		m = NULL;
	} else {
		ok(cgroup_manager_create(&spec, &net, &m, &err) < 0 && strstr(err.msg, "net_cls"),
		   "classID without net_cls mounted refused: %s", err.msg);
	}
	struct oci_kv kv[] = {{(char *)"memory.high", (char *)"1"}};
	struct oci_resources uni = {.present = true, .unified = kv, .n_unified = 1};
	ok(cgroup_manager_create(&spec, &uni, &m, &err) < 0 && strstr(err.msg, "requires cgroup v2"),
	   "unified on v1 refused: %s", err.msg);
	/* rdma: unmounted here, or no such device where it is mounted. */
	struct oci_rdma rd = {.device = (char *)"hangar_nodev0", .has_hca_handles = true, .hca_handles = 2};
	struct oci_resources rr = {.present = true, .rdma = &rd, .n_rdma = 1};
	ok(cgroup_manager_create(&spec, &rr, &m, &err) < 0 && strstr(err.msg, "linux.resources.rdma") &&
	       (strstr(err.msg, "rdma.max") || strstr(err.msg, "controller rdma is not mounted")),
	   "rdma refused naming the resource: %s", err.msg);
	/* The page size is part of a file name: the library refuses "../x"
	 * itself, whoever built the struct. */
	struct oci_hugepage_limit huge[] = {{.page_size = (char *)"2MB", .limit = 2 << 20},
					    {.page_size = (char *)"../x", .limit = 1}};
	struct oci_resources hr = {.present = true, .hugepage_limits = huge, .n_hugepage_limits = 2};
	ok(cgroup_manager_create(&spec, &hr, &m, &err) < 0 &&
	       strstr(err.msg, "linux.resources.hugepageLimits[1].pageSize: invalid page size \"../x\""),
	   "hugepage pageSize ../x refused: %s", err.msg);
	ok(!exists_cg("memory", "na") && !exists_cg("net_cls", "na"), "nothing left by the refusals");
	free(p);
}

/* Containers sharing parents below the default "/hangar", created and
 * destroyed concurrently: no spurious EEXIST/ENOENT, and the last one out
 * removes the parents whoever made them. */
static void test_shared_parent_race(void)
{
	enum { WORKERS = 6, ROUNDS = 30 };
	pid_t workers[WORKERS];
	for (int w = 0; w < WORKERS; w++) {
		workers[w] = fork();
		if (workers[w] == 0) {
			int failures = 0;
			for (int i = 0; i < ROUNDS; i++) {
				char name[32];
				snprintf(name, sizeof(name), "w%d-%d", w, i);
				/* relative: below the default parent /hangar */
				char *path = xasprintf("%s/shared/%s", parent, name);
				struct cgroup_spec spec = {.path = path, .id = name};
				struct cgroup_manager *m = NULL;
				struct hangar_error err = {0};
				if (cgroup_manager_create(&spec, NULL, &m, &err) < 0 ||
				    cgroup_manager_destroy(m, &err) < 0) {
					fprintf(stderr, "# worker %d round %d: %s\n", w, i, err.msg);
					failures++;
				}
				cgroup_manager_free(m);
				free(path);
			}
			_exit(failures > 100 ? 100 : failures);
		}
	}
	int failed = 0;
	for (int w = 0; w < WORKERS; w++) {
		int st = wait_status(workers[w]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	ok(failed == 0, "%d workers x %d create/destroy under a shared parent without errors", WORKERS,
	   ROUNDS);
	char *mem = xasprintf("/sys/fs/cgroup/memory/hangar/%s", parent);
	char *cpuset = xasprintf("/sys/fs/cgroup/cpuset/hangar/%s", parent);
	ok(access(mem, F_OK) < 0 && access(cpuset, F_OK) < 0,
	   "the shared parents below /hangar are gone afterwards");
	free(mem);
	free(cpuset);
}

/* The whole /proc/PID/cgroup line for a v1 controller, "" when absent. */
static char *proc_cgroup_of(pid_t pid, const char *ctrl)
{
	char *path = xasprintf("/proc/%d/cgroup", (int)pid), *text = NULL, *want = NULL;
	struct hangar_error err;
	if (read_file_at(AT_FDCWD, path, &text, NULL, &err) == 0) {
		char *l_save, *c_save;
		for (char *line = strtok_r(text, "\n", &l_save); line; line = strtok_r(NULL, "\n", &l_save)) {
			char *ctrls = strchr(line, ':'), *cg = ctrls ? strchr(ctrls + 1, ':') : NULL;
			if (cg == NULL)
				continue;
			*cg = '\0';
			for (char *c = strtok_r(ctrls + 1, ",", &c_save); c && !want; c = strtok_r(NULL, ",", &c_save))
				if (strcmp(c, ctrl) == 0)
					want = xstrdup(cg + 1);
			if (want)
				break;
		}
	}
	free(text);
	free(path);
	return want ? want : xstrdup("");
}

static int count_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* A child that moves itself into m's cgroups (after a byte on go_fd, when
 * that is not -1), writes 'y' or 'n' to done_fd and waits to be killed. */
static pid_t fork_self_entering(struct cgroup_manager *m, int go_fd, int done_fd)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	char c;
	if (go_fd >= 0 && read(go_fd, &c, 1) != 1)
		_exit(99);
	struct hangar_error cerr;
	int rc = cgroup_manager_self_enter(m, &cerr);
	if (write(done_fd, rc == 0 ? "y" : "n", 1) != 1)
		_exit(98);
	pause();
	_exit(0);
}

/* A freshly forked child moves itself in through "tasks" (no grace-period
 * wait for the parent); a refused move names the hierarchy. */
static void test_self_enter(void)
{
	struct oci_resources r = {.present = true, .has_pids_limit = true, .pids_limit = 16};
	struct cgroup_manager *m = make("self", &r);
	ok(m != NULL, "create for self-enter");
	if (!m)
		return;
	struct hangar_error err;
	hangar_error_clear(&err);
	int go[2], done[2];
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0)
		return;
	int fds_before = count_fds();
	ok(cgroup_manager_self_enter_open(m, &err) == 1, "v1 offers self-enter (%s)", err.msg);
	int fds_open = count_fds();
	pid_t pid = fork_self_entering(m, go[0], done[1]);
	cgroup_manager_self_enter_close(m);
	int fds_after = count_fds();
	ok(fds_open > fds_before && fds_after == fds_before,
	   "the parent holds the tasks files only until the fork (%d, %d, %d open)", fds_before, fds_open,
	   fds_after);
	char c = 0;
	if (write(go[1], "x", 1) != 1 || read(done[0], &c, 1) != 1)
		c = '?';
	ok(c == 'y', "the child moved itself in");
	char *want = path_of("self");
	const char *ctrls[] = {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"};
	bool all = true;
	for (size_t i = 0; i < sizeof(ctrls) / sizeof(ctrls[0]); i++) {
		if (!exists_cg(ctrls[i], "self"))
			continue;
		char *got = proc_cgroup_of(pid, ctrls[i]);
		if (strcmp(got, want) != 0) {
			diag("%s: child is in '%s', want '%s'", ctrls[i], got, want);
			all = false;
		}
		free(got);
	}
	ok(all, "in every hierarchy the child is in %s", want);
	char *procs = read_cg("pids", "self", "cgroup.procs");
	char *pid_s = xasprintf("%d", (int)pid);
	is_str(procs, pid_s, "the pids hierarchy lists the child as a process");
	free(procs);
	free(pid_s);
	free(want);
	kill(pid, SIGKILL);
	wait_status(pid);

	/* An empty cpuset refuses new members: the child's error names it. */
	char *cpus = xasprintf("/sys/fs/cgroup/cpuset/%s/self/cpuset.cpus", parent);
	bool emptied = write_string_at(AT_FDCWD, cpus, "\n", &err) == 0;
	ok(emptied, "empty the test cgroup's cpuset.cpus (%s)", emptied ? "ok" : err.msg);
	free(cpus);
	ok(cgroup_manager_self_enter_open(m, &err) == 1, "self-enter files opened again");
	pid = fork();
	if (pid == 0) {
		struct hangar_error cerr;
		hangar_error_clear(&cerr);
		int rc = cgroup_manager_self_enter(m, &cerr);
		char *say = xasprintf("%d %d %s", rc, cerr.err_no, cerr.msg);
		_exit(write(done[1], say, strlen(say)) > 0 ? 0 : 1);
	}
	cgroup_manager_self_enter_close(m);
	wait_status(pid);
	char said[sizeof(err.msg) + 32] = "";
	ssize_t got = read(done[0], said, sizeof(said) - 1);
	said[got > 0 ? got : 0] = '\0';
	char *want_err = xasprintf("-1 %d move into cgroup /sys/fs/cgroup/cpuset/%s/self", ENOSPC, parent);
	ok(str_has_prefix(said, want_err), "a refused self-enter fails with ENOSPC and names the cgroup: %s", said);
	free(want_err);
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
	ok(cgroup_manager_destroy(m, &err) == 0, "destroy");
	cgroup_manager_free(m);
}

static void test_create_failure_unwinds(void)
{
	struct oci_resources r = {.present = true};
	r.cpu.present = true;
	r.cpu.cpus = (char *)"77";
	struct hangar_error err;
	ok(make("bad", &r) == NULL, "create with cpus=77 fails");
	ok(!exists_cg("cpuset", "bad") && !exists_cg("memory", "bad") && !exists_cg("memory", NULL),
	   "failed create left no directory behind");

	struct cgroup_manager *m = NULL;
	struct cgroup_spec spec = {.path = "/x", .id = "x", .rootless = true};
	ok(cgroup_manager_create(&spec, NULL, &m, &err) == 0 && cgroup_manager_warning(m) != NULL,
	   "rootless on v1: created without cgroup, warning: %s", m ? cgroup_manager_warning(m) : err.msg);
	ok(m && cgroup_manager_enter(m, getpid(), &err) == 0, "rootless enter is a no-op");
	cgroup_manager_free(m);
}

/* A systemd init's subtree (spec.systemd_subtree): its own tree lives in a
 * controller-less hierarchy the runtime makes and joins for it, the cgroup2
 * at unified/ on a hybrid host, name=systemd on a legacy one (the other one
 * stays alone); a tree made below it is removed with it. */
static void test_systemd_subtree(enum cgroup_mode mode)
{
	bool hybrid = mode == CGROUP_MODE_HYBRID;
	const char *own = hybrid ? "unified" : "systemd", *other = hybrid ? "systemd" : "unified";
	struct hangar_error err;
	hangar_error_clear(&err);
	struct cgroup_manager *plain = make("nosd", NULL);
	ok(plain && !exists_cg(own, "nosd"), "without the flag nothing is made in %s/", own);
	if (plain) {
		cgroup_manager_destroy(plain, &err);
		cgroup_manager_free(plain);
	}
	char *p = path_of("sd");
	struct cgroup_spec spec = {.path = p, .id = "sd", .systemd_subtree = true};
	struct cgroup_manager *m = NULL;
	ok(cgroup_manager_create(&spec, NULL, &m, &err) == 0, "create with systemd_subtree (%s)", err.msg);
	if (m == NULL) {
		free(p);
		return;
	}
	ok(exists_cg(own, "sd") && exists_cg("memory", "sd"), "made in %s/ and in the controllers", own);
	ok(!exists_cg(other, "sd"), "not in %s/ (the %s host's init uses %s)", other, cgroup_mode_name(mode), own);
	int done[2];
	if (pipe2(done, O_CLOEXEC) < 0)
		return;
	ok(cgroup_manager_self_enter_open(m, &err) == 1, "self-enter opened (%s)", err.msg);
	pid_t pid = fork_self_entering(m, -1, done[1]);
	cgroup_manager_self_enter_close(m);
	char c = 0;
	if (read(done[0], &c, 1) != 1)
		c = '?';
	ok(c == 'y', "the child moved itself in (every hierarchy, %s/ included)", own);
	_cleanup_free_ char *proc_path = xasprintf("/proc/%d/cgroup", (int)pid);
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *want = xasprintf(hybrid ? "\n0::%s\n" : ":name=systemd:%s\n", p);
	ok(read_file_at(AT_FDCWD, proc_path, &text, NULL, &err) == 0 && strstr(text, want),
	   "the child is in %s", want + (hybrid ? 1 : 0));
	/* What systemd does inside: a child cgroup, the init moved into it. */
	_cleanup_free_ char *scope = xasprintf("/sys/fs/cgroup/%s/%s/sd/init.scope", own, parent);
	_cleanup_free_ char *pid_s = xasprintf("%d", (int)pid);
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", scope);
	ok(mkdir(scope, 0755) == 0 && write_string_at(AT_FDCWD, procs, pid_s, &err) == 0,
	   "init.scope made below it");
	ok(cgroup_manager_destroy(m, &err) == 0, "destroy kills and removes (%s)", err.msg);
	wait_status(pid);
	ok(!exists_cg(own, "sd"), "%s/ subtree removed, init.scope included", own);
	cgroup_manager_free(m);
	close(done[0]);
	close(done[1]);
	free(p);
}

/* A refused update changes nothing: cpu quota, memory limit (and memsw) and
 * a per-device blkio throttle written before the refused rdma part are put
 * back exactly (cgroups/journal.c). */
static void test_update_all_or_nothing(void)
{
	struct oci_resources r = {.present = true};
	r.cpu.present = r.cpu.has_quota = r.cpu.has_period = true;
	r.cpu.quota = 50000;
	r.cpu.period = 100000;
	r.memory.present = r.memory.has_limit = true;
	r.memory.limit = 64 << 20;
	struct cgroup_manager *m = make("undo", &r);
	ok(m != NULL, "create undo with quota 50000, limit 64M");
	if (!m)
		return;
	bool memsw = exists_cg("memory", "undo/memory.memsw.limit_in_bytes");
	/* Any block device serves for a throttle rule: the first in /sys/block. */
	char devno[32] = "";
	_cleanup_closedir_ DIR *d = opendir("/sys/block");
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL && !devno[0]) {
		if (de->d_name[0] == '.')
			continue;
		char *f = xasprintf("/sys/block/%s/dev", de->d_name);
		char *text = NULL;
		struct hangar_error ignored;
		if (read_file_at(AT_FDCWD, f, &text, NULL, &ignored) == 0)
			snprintf(devno, sizeof(devno), "%.*s", (int)strcspn(text, "\n"), text);
		free(text);
		free(f);
	}
	char *quota0 = read_cg("cpu", "undo", "cpu.cfs_quota_us");
	char *limit0 = read_cg("memory", "undo", "memory.limit_in_bytes");
	char *memsw0 = memsw ? read_cg("memory", "undo", "memory.memsw.limit_in_bytes") : xstrdup("");
	char *bps0 = read_cg("blkio", "undo", "blkio.throttle.read_bps_device");

	struct oci_resources u = {.present = true};
	u.cpu.present = u.cpu.has_quota = true;
	u.cpu.quota = 20000;
	u.memory.present = u.memory.has_limit = true;
	u.memory.limit = 32 << 20;
	if (memsw) {
		u.memory.has_swap = true;
		u.memory.swap = 48 << 20;
	}
	struct oci_throttle_device thr = {.rate = 1 << 20};
	unsigned maj = 0, min = 0;
	if (sscanf(devno, "%u:%u", &maj, &min) == 2) {
		thr.major = maj;
		thr.minor = min;
		u.blkio.present = true;
		u.blkio.throttle_read_bps = &thr;
		u.blkio.n_throttle_read_bps = 1;
	}
	struct oci_rdma rd = {.device = (char *)"hangar_nodev0", .has_hca_handles = true, .hca_handles = 2};
	u.rdma = &rd;
	u.n_rdma = 1;
	struct hangar_error err = {0};
	ok(cgroup_manager_update(m, &u, &err) < 0 && strstr(err.msg, "linux.resources.rdma"),
	   "update with cpu, memory%s, blkio throttle %s and rdma refused for rdma: %s",
	   memsw ? ", swap" : "", devno, err.msg);
	char *quota1 = read_cg("cpu", "undo", "cpu.cfs_quota_us");
	char *limit1 = read_cg("memory", "undo", "memory.limit_in_bytes");
	char *memsw1 = memsw ? read_cg("memory", "undo", "memory.memsw.limit_in_bytes") : xstrdup("");
	char *bps1 = read_cg("blkio", "undo", "blkio.throttle.read_bps_device");
	is_str(quota1, quota0, "cpu.cfs_quota_us put back");
	is_str(limit1, limit0, "memory.limit_in_bytes put back");
	is_str(memsw1, memsw0, "memory.memsw.limit_in_bytes put back%s",
	       memsw ? "" : " (no swap accounting)");
	is_str(bps1, bps0, "blkio.throttle.read_bps_device for %s put back", devno);
	ok(devno[0] != '\0', "a block device for the throttle rule: %s", devno);
	/* The same update without the refused part applies. */
	u.rdma = NULL;
	u.n_rdma = 0;
	int rc = cgroup_manager_update(m, &u, &err);
	ok(rc == 0, "the update without rdma applies%s%s", rc == 0 ? "" : ": ", rc == 0 ? "" : err.msg);
	char *quota2 = read_cg("cpu", "undo", "cpu.cfs_quota_us");
	is_str(quota2, "20000", "cpu.cfs_quota_us 20000 after the accepted update");
	ok(cgroup_manager_destroy(m, &err) == 0, "destroy undo");
	cgroup_manager_free(m);
	char *all[] = {quota0, limit0, memsw0, bps0, quota1, limit1, memsw1, bps1, quota2};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		free(all[i]);
}

/* One v1 knob: where the kernel offers the file, the value lands there;
 * where it does not (or refuses the value), the error names the resource
 * and the file, and nothing is left behind. */
static void check_knob(const char *what, const struct oci_resources *r, const char *ctrl, const char *file,
		       const char *resource, const char *want)
{
	struct cgroup_manager *probe = make("knobprobe", NULL);
	bool has_file = false;
	if (probe) {
		char *rel = xasprintf("knobprobe/%s", file);
		has_file = exists_cg(ctrl, rel);
		free(rel);
		struct hangar_error ignored;
		cgroup_manager_destroy(probe, &ignored);
		cgroup_manager_free(probe);
	}
	struct hangar_error err = {0};
	struct cgroup_manager *m = NULL;
	char *p = path_of("knob");
	struct cgroup_spec spec = {.path = p, .id = "knob"};
	int rc = cgroup_manager_create(&spec, r, &m, &err);
	if (rc == 0) {
		char *v = read_cg(ctrl, "knob", file);
		ok(has_file && strcmp(v, want) == 0, "%s: %s = %s (want %s)", what, file, v, want);
		free(v);
		ok(cgroup_manager_destroy(m, &err) == 0, "%s: destroy", what);
		cgroup_manager_free(m);
	} else {
		ok(strstr(err.msg, resource) && strstr(err.msg, file), "%s: refused naming %s and %s%s: %s",
		   what, resource, file, has_file ? "" : " (the kernel has no such file)", err.msg);
		ok(!exists_cg(ctrl, "knob"), "%s: nothing left by the refusal", what);
	}
	free(p);
}

/* hugetlb, cpu burst/idle/realtime and blkio leafWeight, which the other
 * tests do not reach: values read back where the kernel has the file,
 * refusals naming it elsewhere (hugetlb is not a v1 hierarchy on a hybrid
 * host; the legacy VM guest mounts it). */
static void test_more_knobs(void)
{
	struct oci_hugepage_limit huge = {.page_size = (char *)"2MB", .limit = 4 << 20};
	struct oci_resources h = {.present = true, .hugepage_limits = &huge, .n_hugepage_limits = 1};
	if (access("/sys/fs/cgroup/hugetlb/.", F_OK) == 0) {
		check_knob("hugetlb 2MB", &h, "hugetlb", "hugetlb.2MB.limit_in_bytes",
			   "linux.resources.hugepageLimits", "4194304");
	} else {
		struct hangar_error err = {0};
		struct cgroup_manager *m = NULL;
		char *p = path_of("knob");
		struct cgroup_spec spec = {.path = p, .id = "knob"};
		ok(cgroup_manager_create(&spec, &h, &m, &err) < 0 &&
		       strstr(err.msg,
			      "linux.resources.hugepageLimits: cgroup v1 controller hugetlb is not mounted"),
		   "hugetlb without the v1 hierarchy: refused naming the controller: %s", err.msg);
		ok(!exists_cg("memory", "knob"), "hugetlb: nothing left by the refusal");
		free(p);
	}

	struct oci_resources b = {.present = true};
	b.cpu.present = b.cpu.has_quota = b.cpu.has_period = b.cpu.has_burst = true;
	b.cpu.quota = 50000;
	b.cpu.period = 100000;
	b.cpu.burst = 20000;
	check_knob("cpu burst", &b, "cpu", "cpu.cfs_burst_us", "linux.resources.cpu.burst", "20000");

	struct oci_resources i = {.present = true};
	i.cpu.present = i.cpu.has_idle = true;
	i.cpu.idle = 1;
	check_knob("cpu idle", &i, "cpu", "cpu.idle", "linux.resources.cpu.idle", "1");

	struct oci_resources rp = {.present = true};
	rp.cpu.present = rp.cpu.has_realtime_period = true;
	rp.cpu.realtime_period = 500000;
	check_knob("cpu realtimePeriod", &rp, "cpu", "cpu.rt_period_us", "linux.resources.cpu.realtimePeriod",
		   "500000");
	/* A runtime needs the parents' rt budget; ours have none, so where
	 * the file exists the kernel refuses it (the message names it). */
	struct oci_resources rr = {.present = true};
	rr.cpu.present = rr.cpu.has_realtime_runtime = true;
	rr.cpu.realtime_runtime = 10000;
	check_knob("cpu realtimeRuntime", &rr, "cpu", "cpu.rt_runtime_us",
		   "linux.resources.cpu.realtimeRuntime", "10000");

	struct oci_resources lw = {.present = true};
	lw.blkio.present = lw.blkio.has_leaf_weight = true;
	lw.blkio.leaf_weight = 300;
	check_knob("blkio leafWeight", &lw, "blkio", "blkio.leaf_weight",
		   "linux.resources.blockIO.leafWeight", "300");
}

int main(void)
{
	enum cgroup_mode mode;
	struct hangar_error err;
	if (geteuid() != 0) {
		printf("# SKIP needs root to create cgroups\n");
		return 77;
	}
	if (cgroup_detect_mode(&mode, &err) < 0 || mode == CGROUP_MODE_UNIFIED) {
		printf("# SKIP no cgroup v1 hierarchies on this host\n");
		return 77;
	}
	/* pid alone can repeat across pid namespaces running tests concurrently */
	snprintf(parent, sizeof(parent), "hangar-test-%d-%llx", (int)getpid(),
		 (unsigned long long)(now_ns() & 0xffffff));
	diag("mode %s, test parent /%s", cgroup_mode_name(mode), parent);
	test_memory();
	test_pids();
	test_cpu();
	test_freeze();
	test_freeze_many();
	test_devices();
	test_devices_update_no_gap();
	test_blkio();
	test_memory_knobs();
	test_unavailable();
	test_shared_parent_race();
	test_self_enter();
	test_create_failure_unwinds();
	test_update_all_or_nothing();
	test_more_knobs();
	test_systemd_subtree(mode);
	const char *ctrls[] = {"cpu",	  "cpuacct", "cpuset", "memory",  "devices",
			       "freezer", "blkio",   "pids",   "unified", "systemd"};
	bool left = false;
	for (size_t i = 0; i < sizeof(ctrls) / sizeof(ctrls[0]); i++)
		if (exists_cg(ctrls[i], NULL)) {
			diag("left behind in %s", ctrls[i]);
			left = true;
		}
	ok(!left, "nothing left below /%s in any hierarchy", parent);
	return tap_done();
}
