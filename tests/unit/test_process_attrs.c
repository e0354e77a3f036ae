/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Process attributes and user/capability switching, each applied in a forked
 * child and checked from the child's own /proc/self files. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "config/oci.h"
#include "runtime/caps.h"
#include "runtime/process_attrs.h"
#include "runtime/seccomp.h"
#include "child.h"
#include "tap.h"

/* ---- child runner: fn fills msg; exit code 0 = pass ---- */



static char *status_field(const char *name)
{
	static char out[512];
	char *status = NULL;
	if (read_file_at(AT_FDCWD, "/proc/self/status", &status, NULL, NULL) < 0)
		return NULL;
	size_t nl = strlen(name);
	out[0] = '\0';
	for (char *line = strtok(status, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
			char *v = line + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			snprintf(out, sizeof(out), "%s", v);
			break;
		}
	}
	free(status);
	return out;
}

/* Drop one capability from the effective set: makes the "needs CAP_X" tests
 * mean the same on hosts that do have it. */
static void drop_effective(cap_value_t c)
{
	cap_t caps = cap_get_proc();
	cap_set_flag(caps, CAP_EFFECTIVE, 1, &c, CAP_CLEAR);
	cap_set_proc(caps);
	cap_free(caps);
}

/* ---- capabilities ---- */

static char *cap_chown_kill[] = {"CAP_CHOWN", "CAP_KILL", NULL};
static char *cap_bnd[] = {"CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_NET_BIND_SERVICE", NULL};
static char *cap_prm[] = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL};
static char *cap_nbs[] = {"CAP_NET_BIND_SERVICE", NULL};
static gid_t extra_gids[] = {10, 20};

static void set_caps(struct oci_process *p)
{
	memset(p, 0, sizeof(*p));
	p->caps.present = true;
	p->caps.bounding = cap_bnd;
	p->caps.n_bounding = 4;
	p->caps.effective = cap_chown_kill;
	p->caps.n_effective = 2;
	p->caps.permitted = cap_prm;
	p->caps.n_permitted = 3;
	p->caps.inheritable = cap_nbs;
	p->caps.n_inheritable = 1;
	p->caps.ambient = cap_nbs;
	p->caps.n_ambient = 1;
}

#define BIT(c) (1ULL << (c))

static int check_mask(const char *field, uint64_t want, char *msg, size_t len)
{
	uint64_t got;
	if (caps_read_status_mask(field, &got, NULL) < 0)
		return failf(msg, len, "cannot read %s", field);
	if (got != want)
		return failf(msg, len, "%s is %016llx, want %016llx", field, (unsigned long long)got,
			     (unsigned long long)want);
	return 0;
}

static int child_caps_nonroot(void *arg, char *msg, size_t len)
{
	struct oci_process p;
	struct hangar_error err = {0};
	set_caps(&p);
	p.user.uid = 1000;
	p.user.gid = 1000;
	p.user.additional_gids = extra_gids;
	p.user.n_additional_gids = 2;
	p.user.has_umask = true;
	p.user.umask = 027;
	if (process_apply_user_and_caps(&p, &err) < 0)
		return failf(msg, len, "apply: %s", err.msg);
	uint64_t bnd = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_SETUID) | BIT(CAP_NET_BIND_SERVICE);
	if (check_mask("CapBnd", bnd, msg, len) ||
	    check_mask("CapEff", BIT(CAP_CHOWN) | BIT(CAP_KILL), msg, len) ||
	    check_mask("CapPrm", BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE), msg, len) ||
	    check_mask("CapInh", BIT(CAP_NET_BIND_SERVICE), msg, len) ||
	    check_mask("CapAmb", BIT(CAP_NET_BIND_SERVICE), msg, len))
		return 1;
	char *uid = status_field("Uid");
	if (strcmp(uid, "1000\t1000\t1000\t1000") != 0)
		return failf(msg, len, "Uid: %s", uid);
	char *gid = status_field("Gid");
	if (strcmp(gid, "1000\t1000\t1000\t1000") != 0)
		return failf(msg, len, "Gid: %s", gid);
	char *groups = status_field("Groups");
	if (strcmp(groups, "10 20") != 0 && strcmp(groups, "10 20 ") != 0)
		return failf(msg, len, "Groups: '%s'", groups);
	mode_t old = umask(0);
	if (old != 027)
		return failf(msg, len, "umask %03o", (unsigned)old);
	return 0;
}

/* The ambient set is only useful if it survives execve for a non-root uid:
 * check the capabilities of the program exec'd afterwards. */
static int child_ambient_exec(void *arg, char *msg, size_t len)
{
	struct oci_process p;
	struct hangar_error err = {0};
	int out[2];
	set_caps(&p);
	p.user.uid = 1000;
	p.user.gid = 1000;
	if (process_apply_user_and_caps(&p, &err) < 0)
		return failf(msg, len, "apply: %s", err.msg);
	if (pipe(out) < 0)
		return failf(msg, len, "pipe");
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		execl("/bin/grep", "grep", "^Cap", "/proc/self/status", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	char buf[1024];
	ssize_t n = read_all(out[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	waitpid(pid, NULL, 0);
	char want[64];
	snprintf(want, sizeof(want), "CapEff:\t%016llx", (unsigned long long)BIT(CAP_NET_BIND_SERVICE));
	if (strstr(buf, want) == NULL)
		return failf(msg, len, "exec'd program has no ambient-derived CapEff: %s", buf);
	snprintf(want, sizeof(want), "CapAmb:\t%016llx", (unsigned long long)BIT(CAP_NET_BIND_SERVICE));
	if (strstr(buf, want) == NULL)
		return failf(msg, len, "exec'd program lost CapAmb: %s", buf);
	return 0;
}

static int child_caps_root_minimal(void *arg, char *msg, size_t len)
{
	struct oci_process p;
	struct hangar_error err = {0};
	memset(&p, 0, sizeof(p));
	p.caps.present = true; /* every set empty: a fully unprivileged root */
	if (process_apply_user_and_caps(&p, &err) < 0)
		return failf(msg, len, "apply: %s", err.msg);
	if (check_mask("CapBnd", 0, msg, len) || check_mask("CapEff", 0, msg, len) ||
	    check_mask("CapPrm", 0, msg, len))
		return 1;
	if (chown("/proc/self/status", 1, 1) == 0 || errno != EPERM)
		return failf(msg, len, "chown still works without CAP_CHOWN (errno %d)", errno);
	return 0;
}

static int child_caps_unknown(void *arg, char *msg, size_t len)
{
	static char *bad[] = {"CAP_CHOWN", "CAP_MAKE_COFFEE", NULL};
	struct oci_process p;
	struct hangar_error err = {0};
	uint64_t before = 0;
	caps_read_status_mask("CapBnd", &before, NULL);
	memset(&p, 0, sizeof(p));
	p.caps.present = true;
	p.caps.bounding = bad;
	p.caps.n_bounding = 2;
	if (process_apply_user_and_caps(&p, &err) == 0)
		return failf(msg, len, "unknown capability accepted");
	snprintf(msg, len, "%s", err.msg);
	if (strstr(err.msg, "process.capabilities.bounding") == NULL ||
	    strstr(err.msg, "CAP_MAKE_COFFEE") == NULL)
		return 1;
	/* Nothing may have been changed before the error. */
	return check_mask("CapBnd", before, msg, len);
}

static int child_effective_not_permitted(void *arg, char *msg, size_t len)
{
	static char *eff[] = {"CAP_CHOWN", "CAP_KILL", NULL};
	static char *prm[] = {"CAP_CHOWN", NULL};
	struct oci_process p;
	struct hangar_error err = {0};
	memset(&p, 0, sizeof(p));
	p.caps.present = true;
	p.caps.bounding = eff;
	p.caps.n_bounding = 2;
	p.caps.effective = eff;
	p.caps.n_effective = 2;
	p.caps.permitted = prm;
	p.caps.n_permitted = 1;
	p.user.uid = 1000;
	p.user.gid = 1000;
	if (process_apply_user_and_caps(&p, &err) == 0)
		return failf(msg, len, "effective outside permitted accepted");
	snprintf(msg, len, "%s", err.msg);
	return strstr(err.msg, "CAP_KILL") && strstr(err.msg, "not in the permitted") ? 0 : 1;
}

static int child_setgroups_denied(void *arg, char *msg, size_t len)
{
	struct oci_process p;
	struct hangar_error err = {0};
	if (unshare(CLONE_NEWUSER) < 0)
		return failf(msg, len, "SKIP unshare(CLONE_NEWUSER): %s", strerror(errno));
	if (write_string_at(AT_FDCWD, "/proc/self/setgroups", "deny", &err) < 0 ||
	    write_string_at(AT_FDCWD, "/proc/self/uid_map", "0 0 1", &err) < 0 ||
	    write_string_at(AT_FDCWD, "/proc/self/gid_map", "0 0 1", &err) < 0)
		return failf(msg, len, "map: %s", err.msg);
	memset(&p, 0, sizeof(p));
	p.user.additional_gids = extra_gids;
	p.user.n_additional_gids = 2;
	if (process_apply_user_and_caps(&p, &err) == 0)
		return failf(msg, len, "setgroups in a setgroups=deny namespace reported success");
	snprintf(msg, len, "%s", err.msg);
	if (strstr(err.msg, "setgroups is denied") == NULL)
		return 1;
	/* No additional gids: the same switch must work. */
	p.user.n_additional_gids = 0;
	p.user.additional_gids = NULL;
	if (process_apply_user_and_caps(&p, &err) < 0)
		return failf(msg, len, "without gids: %s", err.msg);
	return 0;
}

/* A user namespace mapped by a privileged parent (as newuidmap would):
 * setgroups stays allowed, but only id 0 is mapped. */
static int unmapped_ids_checks(char *msg, size_t len)
{
	struct oci_process p;
	struct hangar_error err = {0};
	memset(&p, 0, sizeof(p));
	p.user.additional_gids = extra_gids;
	p.user.n_additional_gids = 2;
	if (process_apply_user_and_caps(&p, &err) == 0 || !strstr(err.msg, "not mapped"))
		return failf(msg, len, "unmapped additional gid: %s", err.msg);
	p.user.n_additional_gids = 0;
	p.user.uid = 1000;
	if (process_apply_user_and_caps(&p, &err) == 0 || !strstr(err.msg, "process.user.uid, not mapped"))
		return failf(msg, len, "unmapped uid: %s", err.msg);
	snprintf(msg, len, "%s", err.msg);
	return 0;
}

static int child_unmapped_ids(void *arg, char *msg, size_t len)
{
	int unshared[2], mapped[2], report[2];
	char c = 0;
	if (pipe(unshared) < 0 || pipe(mapped) < 0 || pipe(report) < 0)
		return failf(msg, len, "pipe");
	pid_t pid = fork();
	if (pid == 0) {
		char buf[2048] = "";
		int rc;
		if (unshare(CLONE_NEWUSER) < 0) {
			rc = failf(buf, sizeof(buf), "SKIP unshare(CLONE_NEWUSER): %s", strerror(errno));
		} else if (write(unshared[1], "u", 1) != 1 || read(mapped[0], &c, 1) != 1 || c != 'm') {
			rc = failf(buf, sizeof(buf), "parent did not map the namespace");
		} else {
			rc = unmapped_ids_checks(buf, sizeof(buf));
		}
		if (write(report[1], buf, strlen(buf)) < 0)
			rc = 99;
		_exit(rc);
	}
	close(unshared[1]);
	close(report[1]);
	struct hangar_error err = {0};
	char path[64];
	int ok_maps = read(unshared[0], &c, 1) == 1;
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	ok_maps = ok_maps && write_string_at(AT_FDCWD, path, "0 0 1", &err) == 0;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
	ok_maps = ok_maps && write_string_at(AT_FDCWD, path, "0 0 1", &err) == 0;
	if (write(mapped[1], ok_maps ? "m" : "x", 1) != 1)
		ok_maps = 0;
	close(mapped[1]);
	ssize_t n = read_all(report[0], msg, len - 1);
	msg[n > 0 ? n : 0] = '\0';
	int status;
	waitpid(pid, &status, 0);
	if (!ok_maps && strncmp(msg, "SKIP", 4) != 0)
		return failf(msg, len, "write maps: %s", err.msg);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int child_no_new_privs(void *arg, char *msg, size_t len)
{
	struct oci_process p;
	struct hangar_error err = {0};
	memset(&p, 0, sizeof(p));
	if (process_apply_no_new_privs(&p, &err) < 0)
		return failf(msg, len, "apply(false): %s", err.msg);
	if (strcmp(status_field("NoNewPrivs"), "0") != 0)
		return failf(msg, len, "NoNewPrivs set although not requested");
	p.no_new_privileges = true;
	if (process_apply_no_new_privs(&p, &err) < 0)
		return failf(msg, len, "apply: %s", err.msg);
	char *v = status_field("NoNewPrivs");
	return strcmp(v, "1") == 0 ? 0 : failf(msg, len, "NoNewPrivs: %s", v);
}

/* ---- rlimits ---- */

static char *limits_line(const char *prefix)
{
	static char out[256];
	char *limits = NULL;
	out[0] = '\0';
	if (read_file_at(AT_FDCWD, "/proc/self/limits", &limits, NULL, NULL) < 0)
		return out;
	char *l = strstr(limits, prefix);
	if (l) {
		size_t n = strcspn(l, "\n");
		snprintf(out, sizeof(out), "%.*s", (int)n, l);
	}
	free(limits);
	return out;
}

static int child_rlimit_lower(void *arg, char *msg, size_t len)
{
	struct oci_rlimit rl[] = {{.type = "RLIMIT_NOFILE", .soft = 512, .hard = 1024},
				  {.type = "RLIMIT_CORE", .soft = 0, .hard = 0}};
	struct oci_process p = {.rlimits = rl, .n_rlimits = 2};
	struct hangar_error err = {0};
	if (process_apply_rlimits(&p, &err) < 0)
		return failf(msg, len, "apply: %s", err.msg);
	char *l = limits_line("Max open files");
	int soft = 0, hard = 0;
	if (sscanf(l, "Max open files %d %d", &soft, &hard) != 2 || soft != 512 || hard != 1024)
		return failf(msg, len, "limits: %s", l);
	l = limits_line("Max core file size");
	if (sscanf(l, "Max core file size %d %d", &soft, &hard) != 2 || soft != 0 || hard != 0)
		return failf(msg, len, "limits: %s", l);
	return 0;
}

static int child_rlimit_raise(void *arg, char *msg, size_t len)
{
	struct oci_rlimit lower[] = {{.type = "RLIMIT_NOFILE", .soft = 256, .hard = 1024}};
	struct oci_rlimit raise[] = {{.type = "RLIMIT_NOFILE", .soft = 4096, .hard = 4096}};
	struct oci_process p = {.rlimits = lower, .n_rlimits = 1};
	struct hangar_error err = {0};
	drop_effective(CAP_SYS_RESOURCE);
	if (process_apply_rlimits(&p, &err) < 0)
		return failf(msg, len, "lower: %s", err.msg);
	p.rlimits = raise;
	if (process_apply_rlimits(&p, &err) == 0)
		return failf(msg, len, "raising the hard limit without CAP_SYS_RESOURCE succeeded");
	snprintf(msg, len, "%s", err.msg);
	if (!strstr(err.msg, "RLIMIT_NOFILE") || !strstr(err.msg, "hard=4096") ||
	    !strstr(err.msg, "CAP_SYS_RESOURCE") || !strstr(err.msg, "1024"))
		return 1;
	struct rlimit now;
	getrlimit(RLIMIT_NOFILE, &now);
	return now.rlim_cur == 256 && now.rlim_max == 1024 ? 0
							   : failf(msg, len, "limit changed after failure");
}

/* ---- oom_score_adj, ioprio, scheduler, personality, LSM ---- */

static int child_oom(void *arg, char *msg, size_t len)
{
	struct oci_process p = {.has_oom_score_adj = true, .oom_score_adj = 500};
	struct hangar_error err = {0};
	char *v = NULL;
	if (process_apply_oom_score_adj(&p, &err) < 0)
		return failf(msg, len, "apply: %s", err.msg);
	if (read_file_at(AT_FDCWD, "/proc/self/oom_score_adj", &v, NULL, &err) < 0 || atoi(v) != 500)
		return failf(msg, len, "oom_score_adj is %s", v ? v : "?");
	free(v);
	drop_effective(CAP_SYS_RESOURCE);
	p.oom_score_adj = -500;
	if (process_apply_oom_score_adj(&p, &err) == 0)
		return failf(msg, len,
			     "lowering below the inherited value without CAP_SYS_RESOURCE succeeded");
	snprintf(msg, len, "%s", err.msg);
	return strstr(err.msg, "-500") && strstr(err.msg, "CAP_SYS_RESOURCE") ? 0 : 1;
}

static int child_ioprio(void *arg, char *msg, size_t len)
{
	struct oci_process p = {.io_priority = {.present = true, .class_ = 2, .priority = 6}};
	struct hangar_error err = {0};
	if (process_apply_io_priority(&p, &err) < 0)
		return failf(msg, len, "apply: %s", err.msg);
	long v = syscall(SYS_ioprio_get, 1, 0);
	if (v != ((2 << 13) | 6))
		return failf(msg, len, "ioprio_get = 0x%lx", v);
	p.io_priority.class_ = oci_ioprio_class_from_name("IOPRIO_CLASS_IDLE");
	p.io_priority.priority = 0;
	if (process_apply_io_priority(&p, &err) < 0)
		return failf(msg, len, "apply idle: %s", err.msg);
	v = syscall(SYS_ioprio_get, 1, 0);
	return v == (3 << 13) ? 0 : failf(msg, len, "ioprio_get after IDLE = 0x%lx", v);
}

static int child_sched_batch(void *arg, char *msg, size_t len)
{
	struct oci_process p = {.scheduler = {.present = true, .policy = "SCHED_BATCH", .nice = 7}};
	struct hangar_error err = {0};
	if (process_apply_scheduler(&p, &err) < 0)
		return failf(msg, len, "apply: %s", err.msg);
	int pol = sched_getscheduler(0);
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	return pol == SCHED_BATCH && nice == 7 ? 0 : failf(msg, len, "policy %d nice %d", pol, nice);
}

static int child_sched_fifo(void *arg, char *msg, size_t len)
{
	static char *flags[] = {"SCHED_FLAG_RESET_ON_FORK", NULL};
	struct oci_process p = {
	    .scheduler = {
		.present = true, .policy = "SCHED_FIFO", .priority = 3, .flags = flags, .n_flags = 1}};
	struct hangar_error err = {0};
	if (process_apply_scheduler(&p, &err) < 0) {
		/* RT group scheduling with no runtime for our cgroup. */
		if (err.err_no == EPERM)
			return failf(msg, len, "SKIP %s", err.msg);
		return failf(msg, len, "apply: %s", err.msg);
	}
	struct sched_param sp;
	sched_getparam(0, &sp);
	/* RESET_ON_FORK shows up as a flag on the policy. */
	int pol = sched_getscheduler(0);
	if ((pol & ~SCHED_RESET_ON_FORK) != SCHED_FIFO || !(pol & SCHED_RESET_ON_FORK) ||
	    sp.sched_priority != 3)
		return failf(msg, len, "policy 0x%x priority %d", pol, sp.sched_priority);
	return 0;
}

static int child_sched_bad(void *arg, char *msg, size_t len)
{
	struct oci_process p = {.scheduler = {.present = true,
					      .policy = "SCHED_DEADLINE",
					      .runtime = 20000000,
					      .deadline = 10000000,
					      .period = 10000000}};
	struct hangar_error err = {0};
	if (process_apply_scheduler(&p, &err) == 0)
		return failf(msg, len, "runtime > deadline accepted");
	snprintf(msg, len, "%s", err.msg);
	if (!strstr(err.msg, "runtime <= deadline"))
		return 1;
	p.scheduler.policy = "SCHED_FAST";
	if (process_apply_scheduler(&p, &err) == 0 || !strstr(err.msg, "SCHED_FAST"))
		return failf(msg, len, "unknown policy: %s", err.msg);
	return 0;
}

static int child_personality(void *arg, char *msg, size_t len)
{
	struct oci_personality per = {.present = true, .domain = "LINUX32"};
	struct hangar_error err = {0};
	struct utsname u;
	if (process_apply_personality(&per, &err) < 0)
		return failf(msg, len, "apply: %s", err.msg);
	uname(&u);
	if (strcmp(u.machine, "i686") != 0)
		return failf(msg, len, "uname -m = %s", u.machine);
	/* The personality must survive exec, as the container's program is what sees it. */
	int out[2];
	if (pipe(out) < 0)
		return failf(msg, len, "pipe");
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		execl("/bin/uname", "uname", "-m", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	char buf[64] = "";
	ssize_t n = read_all(out[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	waitpid(pid, NULL, 0);
	if (strcmp(buf, "i686\n") != 0)
		return failf(msg, len, "exec'd uname -m = %s", buf);
	per.domain = "LINUX";
	if (process_apply_personality(&per, &err) < 0)
		return failf(msg, len, "apply LINUX: %s", err.msg);
	uname(&u);
	return strcmp(u.machine, "x86_64") == 0 ? 0 : failf(msg, len, "after LINUX uname -m = %s", u.machine);
}

/* ---- the final sequence: user+caps, NNP, seccomp in a working order ---- */

static int child_final(void *arg, char *msg, size_t len)
{
	bool nnp = arg != NULL;
	static char *kill_only[] = {"CAP_KILL", NULL};
	static char *getppid_name[] = {"getppid", NULL};
	struct oci_seccomp_syscall rule = {.names = getppid_name,
					   .n_names = 1,
					   .action = "SCMP_ACT_ERRNO",
					   .has_errno_ret = true,
					   .errno_ret = 33};
	struct oci_seccomp sc = {
	    .present = true, .default_action = "SCMP_ACT_ALLOW", .syscalls = &rule, .n_syscalls = 1};
	struct oci_process p = {.no_new_privileges = nnp};
	struct seccomp_program *prog = NULL;
	struct hangar_error err = {0};
	int notify_fd;
	p.user.uid = 1000;
	p.user.gid = 1000;
	p.caps.present = true;
	p.caps.bounding = p.caps.effective = p.caps.permitted = kill_only;
	p.caps.n_bounding = p.caps.n_effective = p.caps.n_permitted = 1;
	if (seccomp_program_build(&sc, &prog, &err) < 0)
		return failf(msg, len, "build: %s", err.msg);
	int r = process_apply_final(&p, prog, &notify_fd, &err);
	seccomp_program_free(prog);
	if (r < 0)
		return failf(msg, len, "final: %s", err.msg);
	errno = 0;
	if (syscall(SYS_getppid) != -1 || errno != 33)
		return failf(msg, len, "filter not active (errno %d)", errno);
	if (strcmp(status_field("NoNewPrivs"), nnp ? "1" : "0") != 0)
		return failf(msg, len, "NoNewPrivs %s", status_field("NoNewPrivs"));
	if (getuid() != 1000 || notify_fd != -1)
		return failf(msg, len, "uid %d notify_fd %d", (int)getuid(), notify_fd);
	return check_mask("CapEff", BIT(CAP_KILL), msg, len);
}

int main(void)
{
	char msg[2048];
	int rc;
	struct hangar_error err = {0};

	ok(caps_from_name("CAP_SYS_ADMIN") == CAP_SYS_ADMIN, "caps_from_name CAP_SYS_ADMIN");
	ok(caps_from_name("cap_chown") == CAP_CHOWN, "caps_from_name is case-insensitive");
	ok(caps_from_name("21") < 0 && caps_from_name("SYS_ADMIN") < 0 && caps_from_name("CAP_NOPE") < 0,
	   "caps_from_name rejects numbers, missing prefix, unknown names");
	ok(caps_last_cap() >= 36, "cap_last_cap read (%d)", caps_last_cap());

	rc = run_in_child(child_caps_nonroot, NULL, msg, sizeof(msg));
	ok(rc == 0, "uid 1000 + gids 10,20 + umask: CapBnd/Eff/Prm/Inh/Amb exactly as requested %s", msg);
	rc = run_in_child(child_ambient_exec, NULL, msg, sizeof(msg));
	ok(rc == 0, "ambient capability of a non-root uid survives execve %s", msg);
	rc = run_in_child(child_caps_root_minimal, NULL, msg, sizeof(msg));
	ok(rc == 0, "root with empty capability sets cannot chown %s", msg);
	rc = run_in_child(child_caps_unknown, NULL, msg, sizeof(msg));
	ok(rc == 0, "unknown capability name is a config error and changes nothing (%s)", msg);
	rc = run_in_child(child_effective_not_permitted, NULL, msg, sizeof(msg));
	ok(rc == 0, "effective cap outside permitted: error names it (%s)", msg);
	rc = run_in_child(child_setgroups_denied, NULL, msg, sizeof(msg));
	if (strncmp(msg, "SKIP", 4) == 0)
		skip(msg);
	else
		ok(rc == 0, "additionalGids with setgroups=deny: clear error (%s)", msg);
	rc = run_in_child(child_unmapped_ids, NULL, msg, sizeof(msg));
	if (strncmp(msg, "SKIP", 4) == 0)
		skip(msg);
	else
		ok(rc == 0, "unmapped uid/additional gid in a user namespace: errors say so (%s)", msg);
	rc = run_in_child(child_no_new_privs, NULL, msg, sizeof(msg));
	ok(rc == 0, "no_new_privs: NoNewPrivs 1 only when asked %s", msg);

	rc = run_in_child(child_final, NULL, msg, sizeof(msg));
	ok(rc == 0, "process_apply_final without NNP: seccomp loaded before dropping CAP_SYS_ADMIN %s", msg);
	rc = run_in_child(child_final, "nnp", msg, sizeof(msg));
	ok(rc == 0, "process_apply_final with NNP: NNP then seccomp %s", msg);

	rc = run_in_child(child_rlimit_lower, NULL, msg, sizeof(msg));
	ok(rc == 0, "RLIMIT_NOFILE 512/1024 and RLIMIT_CORE 0 visible in /proc/self/limits %s", msg);
	rc = run_in_child(child_rlimit_raise, NULL, msg, sizeof(msg));
	ok(rc == 0, "raising the hard limit without CAP_SYS_RESOURCE fails clearly (%s)", msg);
	ok(oci_rlimit_from_name("RLIMIT_MSGQUEUE") == RLIMIT_MSGQUEUE &&
	       oci_rlimit_from_name("RLIMIT_X") < 0,
	   "rlimit names");
	{
		struct oci_rlimit bad[] = {{.type = "RLIMIT_NOFILE", .soft = 10, .hard = 5}};
		struct oci_process p = {.rlimits = bad, .n_rlimits = 1};
		ok(process_apply_rlimits(&p, &err) < 0 &&
		       strstr(err.msg, "soft limit 10 is above hard limit 5"),
		   "soft above hard rejected (%s)", err.msg);
	}

	rc = run_in_child(child_oom, NULL, msg, sizeof(msg));
	ok(rc == 0, "oom_score_adj 500 applied; lowering without CAP_SYS_RESOURCE explained (%s)", msg);
	rc = run_in_child(child_ioprio, NULL, msg, sizeof(msg));
	ok(rc == 0, "ioprio BE/6 then IDLE read back with ioprio_get %s", msg);
	rc = run_in_child(child_sched_batch, NULL, msg, sizeof(msg));
	ok(rc == 0, "SCHED_BATCH with nice 7 %s", msg);
	rc = run_in_child(child_sched_fifo, NULL, msg, sizeof(msg));
	if (strncmp(msg, "SKIP", 4) == 0)
		skip(msg);
	else
		ok(rc == 0, "SCHED_FIFO priority 3 with RESET_ON_FORK %s", msg);
	rc = run_in_child(child_sched_bad, NULL, msg, sizeof(msg));
	ok(rc == 0, "SCHED_DEADLINE with runtime > deadline and unknown policy: clear errors (%s)", msg);
	rc = run_in_child(child_personality, NULL, msg, sizeof(msg));
	ok(rc == 0, "personality LINUX32: uname -m is i686, also after exec %s", msg);
	{
		static char *flags[] = {"SOME_FLAG", NULL};
		struct oci_personality per = {
		    .present = true, .domain = "LINUX32", .flags = flags, .n_flags = 1};
		ok(process_apply_personality(&per, &err) < 0 && strstr(err.msg, "SOME_FLAG"),
		   "personality flags are refused (%s)", err.msg);
		per.domain = "WINDOWS";
		per.n_flags = 0;
		ok(process_apply_personality(&per, &err) < 0 && strstr(err.msg, "WINDOWS"),
		   "unknown domain (%s)", err.msg);
	}

	{
		struct oci_process p = {.apparmor_profile = "hangar-default"};
		if (access("/sys/module/apparmor/parameters/enabled", F_OK) == 0) {
			skip("AppArmor is present on this host; the disabled-AppArmor message cannot be "
			     "checked");
		} else {
			int r = process_apply_lsm(&p, &err);
			const char *want = "apparmor profile hangar-default requested but AppArmor is not "
					   "enabled on this host";
			ok(r < 0 && strcmp(err.msg, want) == 0,
			   "apparmor profile without AppArmor: exact error (%s)", err.msg);
		}
		struct oci_process q = {.selinux_label = "system_u:system_r:container_t:s0"};
		if (access("/sys/fs/selinux/enforce", F_OK) == 0)
			skip("SELinux is present on this host");
		else
			ok(process_apply_lsm(&q, &err) < 0 && strstr(err.msg, "SELinux is not enabled"),
			   "selinux label without SELinux: clear error (%s)", err.msg);
		struct oci_process none = {0};
		ok(process_apply_lsm(&none, &err) == 0, "no LSM request: nothing to do");
	}
	return tap_done();
}
