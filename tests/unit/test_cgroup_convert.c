/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pure conversions and parsing of the cgroup layer; runs anywhere. */
#include <json-c/json.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "cgroups/internal.h"
#include "common/util.h"
#include "runtime/resources.h"
#include "tests/unit/tap.h"

static void test_shares_to_weight(void)
{
	ok(cgroup_cpu_shares_to_weight(0) == 0, "shares 0 stays unset");
	ok(cgroup_cpu_shares_to_weight(2) == 1, "shares 2 -> weight 1");
	ok(cgroup_cpu_shares_to_weight(1024) == 39, "shares 1024 -> weight 39 (runc)");
	ok(cgroup_cpu_shares_to_weight(262144) == 10000, "shares 262144 -> weight 10000");
	ok(cgroup_cpu_shares_to_weight(512) == 1 + (510 * 9999) / 262142,
	   "shares 512 follows runc's formula");
	ok(cgroup_blkio_weight_to_io_weight(10) == 1, "blkio weight 10 -> io.weight 1");
	ok(cgroup_blkio_weight_to_io_weight(1000) == 10000, "blkio weight 1000 -> io.weight 10000");
	ok(cgroup_blkio_weight_to_io_weight(500) == 1 + 490 * 9999 / 990, "blkio weight 500 -> runc value");
	ok(cgroup_blkio_weight_to_io_weight(0) == 0, "blkio weight 0 stays unset");
}

static void test_swap(void)
{
	struct hangar_error err;
	int64_t out;
	bool zero;
	ok(cgroup_swap_to_v2(0, -1, &out, &zero, &err) == 0 && out == -1,
	   "memory -1 and no swap -> swap max");
	ok(cgroup_swap_to_v2(-1, 100, &out, &zero, &err) == 0 && out == -1, "swap -1 -> max");
	ok(cgroup_swap_to_v2(0, 100, &out, &zero, &err) == 0 && out == 0 && !zero, "swap 0 = unset");
	ok(cgroup_swap_to_v2(300, 100, &out, &zero, &err) == 0 && out == 200 && !zero,
	   "swap 300 with limit 100 -> memory.swap.max 200");
	ok(cgroup_swap_to_v2(100, 100, &out, &zero, &err) == 0 && out == 0 && zero,
	   "swap == limit -> memory.swap.max written as 0");
	ok(cgroup_swap_to_v2(50, 100, &out, &zero, &err) < 0 && strstr(err.msg, "should be >="),
	   "swap below limit refused: %s", err.msg);
	ok(cgroup_swap_to_v2(50, 0, &out, &zero, &err) < 0 && strstr(err.msg, "without memory limit"),
	   "swap without limit refused: %s", err.msg);
}

static void check_path(const char *in, const char *id, const char *want)
{
	struct hangar_error err = {0};
	char *out = NULL;
	int r = cgroup_resolve_path(in, id, &out, &err);
	if (want == NULL)
		ok(r < 0, "'%s' rejected (%s)", in ? in : "(null)", err.msg);
	else
		is_str(r == 0 ? out : err.msg, want, "'%s' -> %s", in ? in : "(null)", want);
	free(out);
}

static void test_paths(void)
{
	check_path(NULL, "c1", "/hangar/c1");
	check_path("", "c1", "/hangar/c1");
	check_path("/a/b", "c1", "/a/b");
	check_path("/a//b/", "c1", "/a/b");
	check_path("a/b", "c1", "/hangar/a/b");
	check_path("system.slice:docker:abc", "c1", "/system.slice/docker-abc.scope");
	check_path("machine-vm-x.slice:libpod:abc", "c1",
		   "/machine.slice/machine-vm.slice/machine-vm-x.slice/libpod-abc.scope");
	check_path(":hangar:abc", "c1", "/system.slice/hangar-abc.scope");
	check_path("user.slice:hangar:abc.scope", "c1", "/user.slice/abc.scope");
	check_path("/a/../b", "c1", NULL);
	check_path("../x", "c1", NULL);
	check_path("/", "c1", NULL);
	check_path("bad:slice:x", "c1", NULL);
	check_path(NULL, "a/b", NULL);

	struct hangar_error err;
	char *out = NULL;
	ok(cgroup_expand_slice("-.slice", &out, &err) == 0 && strcmp(out, "") == 0, "-.slice is the root");
	free(out);
	out = NULL;
	ok(cgroup_expand_slice("a--b.slice", &out, &err) < 0, "a--b.slice rejected");
	ok(cgroup_expand_slice("a/b.slice", &out, &err) < 0, "slice with / rejected");
}

static void test_parsing(void)
{
	const char *psi = "some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\n"
			  "full avg10=0.10 avg60=0.00 avg300=0.00 total=99\n";
	struct cgroup_psi p;
	ok(cgroup_parse_psi(psi, &p) == 0 && p.present && p.has_full, "PSI parsed");
	ok(p.some.avg10 > 1.49 && p.some.avg10 < 1.51 && p.some.total == 12345 && p.full.total == 99,
	   "PSI values: some avg10 %.2f total %llu, full total %llu", p.some.avg10,
	   (unsigned long long)p.some.total, (unsigned long long)p.full.total);
	ok(cgroup_parse_psi("garbage\n", &p) < 0, "malformed PSI rejected");

	const char *stat = "usage_usec 100\nuser_usec 60\nsystem_usec 40\nnr_periods 7\n";
	uint64_t v = 0;
	ok(cgroup_keyed_u64(stat, "user_usec", &v) == 0 && v == 60, "keyed value found");
	ok(cgroup_keyed_u64(stat, "usec", &v) < 0, "keyed lookup needs the whole key");
	ok(cgroup_keyed_u64("max 5\n", "max", &v) == 0 && v == 5, "key 'max' with number");
	ok(cgroup_parse_limit("max", &v) == 0 && v == CGROUP_STAT_UNLIMITED, "'max' is unlimited");

	struct cgroup_stat_kv *kv;
	size_t n;
	cgroup_parse_keyed(stat, &kv, &n);
	ok(n == 4 && strcmp(kv[3].key, "nr_periods") == 0 && kv[3].value == 7,
	   "whole keyed file parsed (%zu)", n);
	for (size_t i = 0; i < n; i++)
		free(kv[i].key);
	free(kv);
}

#define DEV(al, t, ma, mi, acc)                                                                              \
	{                                                                                                    \
		.allow = (al), .type = (t), .has_major = (ma) >= 0, .major = (ma), .has_minor = (mi) >= 0,   \
		.minor = (mi), .access = (char *)(acc)                                                       \
	}

/* Render a policy as "default:allow|deny;ex1;ex2" for comparison. */
static char *policy_of(const struct oci_device_cgroup *rules, size_t n, struct hangar_error *err)
{
	struct cgroup_device_policy p;
	if (cgroup_device_policy_build(rules, n, &p, err) < 0)
		return NULL;
	char *out = xstrdup(p.default_allow ? "allow" : "deny");
	for (size_t i = 0; i < p.n; i++) {
		char *ex = cgroup_device_exception_string(&p.ex[i]);
		char *joined = xasprintf("%s;%s", out, ex);
		free(out);
		free(ex);
		out = joined;
	}
	cgroup_device_policy_clear(&p);
	return out;
}

static void test_device_policy(void)
{
	struct hangar_error err = {0};
	char *s;
	struct oci_device_cgroup usual[] = {DEV(false, 'a', -1, -1, "rwm"), DEV(true, 'c', 1, 3, "rwm"),
					    DEV(true, 'c', -1, -1, "m"), DEV(true, 'c', 1, 3, NULL)};
	s = policy_of(usual, 4, &err);
	is_str(s, "deny;c 1:3 rwm;c *:* m", "deny all + allow list; same device merges");
	free(s);

	struct oci_device_cgroup black[] = {DEV(true, 'a', -1, -1, "rwm"), DEV(false, 'c', 1, 3, "w"),
					    DEV(false, 'b', 8, -1, "rw")};
	s = policy_of(black, 3, &err);
	is_str(s, "allow;c 1:3 w;b 8:* rw", "allow all + deny exceptions");
	free(s);

	struct oci_device_cgroup none[] = {DEV(true, 'c', 1, 5, "r")};
	s = policy_of(none, 1, &err);
	is_str(s, "deny;c 1:5 r", "no leading 'a': deny by default");
	free(s);

	struct oci_device_cgroup reset[] = {DEV(true, 'c', 1, 5, "rwm"), DEV(true, 0, -1, -1, "m")};
	s = policy_of(reset, 2, &err);
	is_str(s, "allow", "a later 'a' rule resets (whatever its access)");
	free(s);

	struct oci_device_cgroup sub[] = {DEV(false, 'a', -1, -1, "rwm"), DEV(true, 'c', 1, 3, "rwm"),
					  DEV(false, 'c', 1, 3, "w"), DEV(true, 'c', 1, 9, "r"),
					  DEV(false, 'c', 1, 9, "r")};
	s = policy_of(sub, 5, &err);
	is_str(s, "deny;c 1:3 rm", "deny removes access bits; empty exceptions vanish");
	free(s);

	struct oci_device_cgroup hole[] = {DEV(false, 'a', -1, -1, "rwm"), DEV(true, 'c', -1, -1, "rwm"),
					   DEV(false, 'c', 1, 3, "w")};
	s = policy_of(hole, 3, &err);
	ok(s == NULL && strstr(err.msg, "devices[2]") && strstr(err.msg, "c *:* rwm"),
	   "punching a hole in a wildcard is refused: %s", err.msg);
	free(s);
	struct oci_device_cgroup hole_ok[] = {DEV(false, 'a', -1, -1, "rwm"), DEV(true, 'c', -1, -1, "m"),
					      DEV(false, 'c', 1, 3, "w")};
	s = policy_of(hole_ok, 3, &err);
	is_str(s, "deny;c *:* m", "no overlap with the wildcard's access: fine");
	free(s);

	struct oci_device_cgroup bad[] = {DEV(true, 'x', 1, 1, "r")};
	ok(policy_of(bad, 1, &err) == NULL && strstr(err.msg, "invalid type"), "bad type refused: %s",
	   err.msg);
	struct oci_device_cgroup bad_access[] = {DEV(true, 'c', 1, 1, "rx")};
	ok(policy_of(bad_access, 1, &err) == NULL && strstr(err.msg, "invalid access"), "bad access refused");
}

static uint64_t json_u64_at(json_object *root, const char *a, const char *b, const char *c)
{
	json_object *o = root;
	const char *keys[] = {a, b, c};
	for (size_t i = 0; i < 3 && keys[i]; i++)
		if (!json_object_object_get_ex(o, keys[i], &o))
			return 0xdeadbeef;
	return json_object_get_uint64(o);
}

static void test_runc_json(void)
{
	struct cgroup_stats st = {0};
	st.cpu_usage_ns = 5000;
	st.cpu_user_ns = 3000;
	st.cpu_system_ns = 2000;
	st.cpu_nr_throttled = 4;
	uint64_t percpu[2] = {2500, 2500};
	st.cpu_percpu_ns = percpu;
	st.n_cpu_percpu = 2;
	st.mem_usage = 1 << 20;
	st.mem_peak = 2 << 20;
	st.mem_limit = CGROUP_STAT_UNLIMITED;
	st.mem_failcnt = 3;
	st.mem_cache = 4096;
	struct cgroup_stat_kv raw[1] = {{(char *)"anon", 8192}};
	st.mem_raw = raw;
	st.n_mem_raw = 1;
	st.pids_current = 2;
	st.pids_limit = 10;
	struct cgroup_io_stat io = {
	    .major = 7, .minor = 0, .read_bytes = 1000, .write_bytes = 10, .read_ops = 3};
	st.io = &io;
	st.n_io = 1;
	st.psi_memory.present = true;
	st.psi_memory.some.total = 77;

	char *text = cgroup_stats_to_runc_json(&st);
	json_object *root = json_tokener_parse(text);
	ok(root != NULL, "runc stats JSON parses");
	ok(json_u64_at(root, "cpu", "usage", "total") == 5000, "cpu.usage.total");
	ok(json_u64_at(root, "cpu", "usage", "kernel") == 2000 &&
	       json_u64_at(root, "cpu", "usage", "user") == 3000,
	   "cpu.usage.kernel/user");
	ok(json_u64_at(root, "cpu", "throttling", "throttledPeriods") == 4,
	   "cpu.throttling.throttledPeriods");
	json_object *pc;
	ok(json_object_object_get_ex(root, "cpu", &pc) && json_object_object_get_ex(pc, "usage", &pc) &&
	       json_object_object_get_ex(pc, "percpu", &pc) && json_object_array_length(pc) == 2,
	   "cpu.usage.percpu has 2 entries");
	ok(json_u64_at(root, "memory", "usage", "usage") == 1 << 20, "memory.usage.usage");
	ok(json_u64_at(root, "memory", "usage", "max") == 2 << 20, "memory.usage.max (peak)");
	ok(json_u64_at(root, "memory", "usage", "limit") == UINT64_MAX,
	   "unlimited memory.usage.limit = 2^64-1");
	ok(json_u64_at(root, "memory", "usage", "failcnt") == 3, "memory.usage.failcnt");
	ok(json_u64_at(root, "memory", "raw", "anon") == 8192, "memory.raw.anon");
	ok(json_u64_at(root, "memory", "cache", NULL) == 4096, "memory.cache");
	ok(json_u64_at(root, "memory", "psi", NULL) != 0xdeadbeef, "memory.psi present");
	ok(json_u64_at(root, "pids", "current", NULL) == 2 && json_u64_at(root, "pids", "limit", NULL) == 10,
	   "pids.current/limit");
	json_object *blk, *e0, *v;
	ok(json_object_object_get_ex(root, "blkio", &blk) &&
	       json_object_object_get_ex(blk, "ioServiceBytesRecursive", &blk) &&
	       (e0 = json_object_array_get_idx(blk, 0)) != NULL && json_object_object_get_ex(e0, "op", &v) &&
	       strcmp(json_object_get_string(v), "Read") == 0 && json_object_object_get_ex(e0, "value", &v) &&
	       json_object_get_uint64(v) == 1000,
	   "blkio.ioServiceBytesRecursive[0] = 7:0 Read 1000");
	ok(json_u64_at(root, "hugetlb", NULL, NULL) != 0xdeadbeef, "hugetlb object present");
	json_object_put(root);
	free(text);
}

static void test_open_rejects(void)
{
	struct cgroup_manager *m = NULL;
	struct hangar_error err;
	ok(cgroup_manager_open("not json", &m, &err) < 0, "open rejects garbage: %s", err.msg);
	ok(cgroup_manager_open(
	       "{\"version\":\"v9\",\"mode\":\"unified\",\"root\":\"/x\",\"path\":\"/a\",\"id\":\"a\"}", &m,
	       &err) < 0,
	   "open rejects version/mode mismatch: %s", err.msg);
	ok(strstr(err.msg, "version v9 does not match mode unified") != NULL, "mismatch message names both");
	ok(cgroup_manager_open(
	       "{\"version\":\"v2\",\"mode\":\"weird\",\"root\":\"/x\",\"path\":\"/a\",\"id\":\"a\"}", &m,
	       &err) < 0 &&
	       strstr(err.msg, "unknown mode 'weird'"),
	   "open rejects an unknown mode: %s", err.msg);
	ok(cgroup_manager_open(
	       "{\"version\":\"v1\",\"mode\":\"legacy\",\"root\":\"/x\",\"path\":\"a\",\"id\":\"a\"}", &m,
	       &err) < 0,
	   "open rejects a relative path: %s", err.msg);
	struct stat sb;
	if (lstat("/run/systemd/system", &sb) < 0) {
		struct cgroup_spec spec = {.id = "x", .systemd = true};
		ok(cgroup_manager_create(&spec, NULL, &m, &err) < 0 &&
		       strstr(err.msg, "--systemd-cgroup: systemd is not the init system here"),
		   "systemd driver refused where systemd is not init: %s", err.msg);
	}
}

/* The systemd driver where systemd is the init system: a child in a mount
 * namespace of its own, with a tmpfs /run holding /run/systemd/system (what
 * sd_booted looks at), reports what cgroup_systemd_path made of each path. */
static void test_systemd_driver_paths(void)
{
	if (geteuid() != 0) {
		skip("systemd driver paths: needs root for a mount namespace");
		return;
	}
	const char *in[] = {NULL, "machine.slice:libpod:abc", "/abs/path", "a:b", "a:b:c:d"};
	const char *want[] = {"system.slice:hangar:c1", "machine.slice:libpod:abc", "error", "error", "error"};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		int pfd[2];
		if (pipe(pfd) < 0)
			return;
		pid_t pid = fork();
		if (pid == 0) {
			close(pfd[0]);
			if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
			    mount("tmpfs", "/run", "tmpfs", 0, NULL) < 0 || mkdir("/run/systemd", 0755) < 0 ||
			    mkdir("/run/systemd/system", 0755) < 0)
				_exit(2);
			char *out = NULL;
			struct hangar_error e;
			int r = cgroup_systemd_path(in[i], "c1", &out, &e);
			dprintf(pfd[1], "%s", r == 0 ? out : e.msg);
			_exit(r == 0 ? 0 : 1);
		}
		close(pfd[1]);
		char buf[512];
		ssize_t n = read(pfd[0], buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(pfd[0]);
		int st = 0;
		waitpid(pid, &st, 0);
		if (strcmp(want[i], "error") == 0)
			ok(WIFEXITED(st) && WEXITSTATUS(st) == 1 && strstr(buf, "must be \"slice:prefix:name\""),
			   "systemd driver refuses cgroupsPath '%s': %s", in[i], buf);
		else
			is_str(buf, want[i], "systemd driver: cgroupsPath '%s' -> %s", in[i] ? in[i] : "(none)", buf);
	}
}

static void test_update_memory_merge(void)
{
	struct oci_memory stored = {.present = true,
				    .has_limit = true,
				    .limit = 64 << 20,
				    .has_swap = true,
				    .swap = 128 << 20,
				    .has_check_before_update = true,
				    .check_before_update = true};
	struct oci_memory m = {.present = true, .has_limit = true, .limit = 96 << 20};
	resources_fill_memory_from_stored(&m, &stored);
	ok(m.has_swap && m.swap == 128 << 20 && m.limit == 96 << 20, "limit alone takes the stored swap");
	ok(m.has_check_before_update && m.check_before_update, "checkBeforeUpdate stays from create");
	m = (struct oci_memory){.present = true, .has_swap = true, .swap = 256 << 20};
	resources_fill_memory_from_stored(&m, &stored);
	ok(m.has_limit && m.limit == 64 << 20 && m.swap == 256 << 20, "swap alone takes the stored limit");
	m = (struct oci_memory){.present = true, .has_limit = true, .limit = -1};
	resources_fill_memory_from_stored(&m, &stored);
	ok(m.has_swap && m.swap == -1, "unlimited memory makes swap unlimited (runc)");
	m = (struct oci_memory){.present = true, .has_reservation = true, .reservation = 1 << 20};
	resources_fill_memory_from_stored(&m, &stored);
	ok(!m.has_limit && !m.has_swap, "a reservation alone fills no limit or swap");
	m = (struct oci_memory){.present = true, .has_limit = true, .limit = 32 << 20};
	resources_fill_memory_from_stored(&m, NULL);
	ok(!m.has_swap && m.limit == 32 << 20, "nothing stored: unchanged");
	struct oci_memory no_swap = {.present = true, .has_limit = true, .limit = 64 << 20};
	m = (struct oci_memory){.present = true, .has_limit = true, .limit = 32 << 20};
	resources_fill_memory_from_stored(&m, &no_swap);
	ok(!m.has_swap, "no stored swap: swap stays unset");
}

/* The v1 freezer's poll interval: starts at 1 ms, doubles, stays at 10 ms,
 * never runc's 100 ms steps; and the sleeps really are that short. */
static void test_backoff(void)
{
	const unsigned want[] = {1, 2, 4, 8, 10, 10, 10};
	bool seq = true, capped = true;
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		seq = seq && cgroup_backoff_ms(i) == want[i];
	for (unsigned i = 0; i < 100000; i++)
		capped = capped && cgroup_backoff_ms(i) >= 1 && cgroup_backoff_ms(i) <= 10;
	ok(seq, "backoff steps 1, 2, 4, 8, 10, 10, 10 ms");
	ok(capped, "no step is shorter than 1 ms or longer than 10 ms");
	unsigned step = 0;
	uint64_t t0 = now_ns();
	cgroup_backoff_sleep(&step);
	uint64_t first = now_ns() - t0;
	for (int i = 0; i < 4; i++)
		cgroup_backoff_sleep(&step);
	uint64_t five = now_ns() - t0;
	ok(step == 5, "each sleep advances the step");
	ok(first >= 1000000ULL && first < 50000000ULL, "the first sleep takes ~1 ms (%.2f ms)", first / 1e6);
	ok(five >= 25000000ULL && five < 100000000ULL,
	   "five sleeps take 25 ms, well under one 100 ms step (%.2f ms)", five / 1e6);
}

int main(void)
{
	test_shares_to_weight();
	test_swap();
	test_paths();
	test_parsing();
	test_device_policy();
	test_runc_json();
	test_open_rejects();
	test_update_memory_merge();
	test_systemd_driver_paths();
	test_backoff();
	return tap_done();
}
