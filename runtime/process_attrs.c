/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "runtime/process_attrs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"

/* ---- rlimits ---- */

static void format_rlim(char *buf, size_t len, rlim_t v)
{
	if (v == RLIM_INFINITY)
		snprintf(buf, len, "unlimited");
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

int process_apply_rlimits(const struct oci_process *p, struct hangar_error *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct oci_rlimit *rl = &p->rlimits[i];
		const char *name = rl->type ? rl->type : "rlimit";
		int resource = rl->type ? oci_rlimit_from_name(rl->type) : rl->resource;
		struct rlimit want = {.rlim_cur = rl->soft, .rlim_max = rl->hard};
		struct rlimit old;
		char soft[32], hard[32], cur_hard[32];

		if (resource < 0)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0, "process.rlimits: unknown type '%s'",
						name);
		format_rlim(soft, sizeof(soft), want.rlim_cur);
		format_rlim(hard, sizeof(hard), want.rlim_max);
		if (want.rlim_cur > want.rlim_max)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"%s: soft limit %s is above hard limit %s", name, soft, hard);
		if (prlimit(0, resource, &want, &old) == 0)
			continue;
		int e = errno;
		if (e == EPERM && getrlimit(resource, &old) == 0 && want.rlim_max > old.rlim_max) {
			format_rlim(cur_hard, sizeof(cur_hard), old.rlim_max);
			return hangar_error_set(err, HANGAR_E_SYS, e,
						"set %s to soft=%s hard=%s: raising the hard limit above the "
						"current %s needs CAP_SYS_RESOURCE",
						name, soft, hard, cur_hard);
		}
		if (e == EPERM && resource == RLIMIT_NOFILE)
			return hangar_error_set(err, HANGAR_E_SYS, e,
						"set %s to soft=%s hard=%s (limit is fs.nr_open)", name, soft,
						hard);
		return hangar_error_set(err, HANGAR_E_SYS, e, "set %s to soft=%s hard=%s", name, soft, hard);
	}
	return 0;
}

/* ---- oom_score_adj ---- */

int process_apply_oom_score_adj(const struct oci_process *p, struct hangar_error *err)
{
	char buf[32];

	if (!p->has_oom_score_adj)
		return 0;
	if (p->oom_score_adj < -1000 || p->oom_score_adj > 1000)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"process.oomScoreAdj: %d is outside -1000..1000", p->oom_score_adj);
	snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
	_cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hangar_sys_error(err, "open /proc/self/oom_score_adj");
	if (write(fd, buf, strlen(buf)) < 0) {
		if (errno == EACCES)
			return hangar_sys_error(err,
						"set oom_score_adj to %s: lowering it below the inherited "
						"value needs CAP_SYS_RESOURCE",
						buf);
		return hangar_sys_error(err, "set oom_score_adj to %s", buf);
	}
	return 0;
}

/* ---- I/O priority ---- */

/* linux/ioprio.h is not in every libc's headers; the ABI is stable. */
#define HANGAR_IOPRIO_WHO_PROCESS 1
#define HANGAR_IOPRIO_CLASS_SHIFT 13
#define HANGAR_IOPRIO_PRIO_VALUE(class, data) (((class) << HANGAR_IOPRIO_CLASS_SHIFT) | (data))

int process_apply_io_priority(const struct oci_process *p, struct hangar_error *err)
{
	const struct oci_io_priority *io = &p->io_priority;

	if (!io->present)
		return 0;
	if (io->class_ < 0 || io->class_ > 3)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "process.ioPriority.class: unknown class %d",
					io->class_);
	if (io->priority < 0 || io->priority > 7)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"process.ioPriority.priority: %d is outside 0..7", io->priority);
	int value = HANGAR_IOPRIO_PRIO_VALUE(io->class_, io->priority);
	if (syscall(SYS_ioprio_set, HANGAR_IOPRIO_WHO_PROCESS, 0, value) < 0)
		return hangar_sys_error(err, "ioprio_set class %d priority %d", io->class_, io->priority);
	return 0;
}

/* ---- scheduler ---- */

/* glibc before 2.41 has no sched_setattr wrapper or struct. */
struct hangar_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
	uint32_t sched_util_min;
	uint32_t sched_util_max;
};

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

static int sched_flag_from_name(const char *name, uint64_t *out)
{
	static const struct {
		const char *name;
		uint64_t flag;
	} flags[] = {
	    {"SCHED_FLAG_RESET_ON_FORK", 0x01},	 {"SCHED_FLAG_RECLAIM", 0x02},
	    {"SCHED_FLAG_DL_OVERRUN", 0x04},	 {"SCHED_FLAG_KEEP_POLICY", 0x08},
	    {"SCHED_FLAG_KEEP_PARAMS", 0x10},	 {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
	    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
	};
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		if (strcmp(flags[i].name, name) == 0) {
			*out = flags[i].flag;
			return 0;
		}
	}
	return -1;
}

int process_apply_scheduler(const struct oci_process *p, struct hangar_error *err)
{
	const struct oci_scheduler *s = &p->scheduler;
	struct hangar_sched_attr attr;

	if (!s->present)
		return 0;
	int policy = s->policy ? oci_sched_policy_from_name(s->policy) : s->policy_num;
	if (policy < 0)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"process.scheduler.policy: unknown policy '%s'", s->policy);
	if (policy == 4)
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"process.scheduler.policy: SCHED_ISO is not implemented by Linux");

	memset(&attr, 0, sizeof(attr));
	/* Only the fields up to sched_period: util clamps are not in the spec, and
	 * the short size keeps kernels without them happy. */
	attr.size = offsetof(struct hangar_sched_attr, sched_util_min);
	attr.sched_policy = (uint32_t)policy;
	attr.sched_nice = s->nice;
	attr.sched_priority = (uint32_t)s->priority;
	attr.sched_runtime = s->runtime;
	attr.sched_deadline = s->deadline;
	attr.sched_period = s->period;
	for (size_t i = 0; i < s->n_flags; i++) {
		uint64_t f;
		if (sched_flag_from_name(s->flags[i], &f) < 0)
			return hangar_error_set(err, HANGAR_E_CONFIG, 0,
						"process.scheduler.flags: unknown flag '%s'", s->flags[i]);
		attr.sched_flags |= f;
	}
	if (attr.sched_flags & (0x20 | 0x40))
		attr.size = sizeof(attr);
	if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0) {
		int e = errno;
		if (e == EINVAL && policy == SCHED_DEADLINE)
			return hangar_error_set(
			    err, HANGAR_E_SYS, e,
			    "sched_setattr %s runtime=%llu deadline=%llu period=%llu "
			    "(need runtime <= deadline <= period)",
			    s->policy ? s->policy : "SCHED_DEADLINE", (unsigned long long)s->runtime,
			    (unsigned long long)s->deadline, (unsigned long long)s->period);
		return hangar_error_set(err, HANGAR_E_SYS, e, "sched_setattr policy %s nice %d priority %d",
					s->policy ? s->policy : "?", s->nice, s->priority);
	}
	return 0;
}

/* ---- personality ---- */

int process_apply_personality(const struct oci_personality *p, struct hangar_error *err)
{
	unsigned long persona;

	if (p == NULL || !p->present)
		return 0;
	if (p->domain == NULL || strcmp(p->domain, "LINUX") == 0)
		persona = PER_LINUX;
	else if (strcmp(p->domain, "LINUX32") == 0)
		persona = PER_LINUX32;
	else
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"linux.personality.domain: unknown domain '%s'", p->domain);
	/* The spec defines no flag values yet; silently ignoring one would run
	 * the container differently from what was asked. */
	if (p->n_flags > 0)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"linux.personality.flags: flag '%s' is not supported", p->flags[0]);
	if (personality(persona) < 0)
		return hangar_sys_error(err, "personality %s", p->domain ? p->domain : "LINUX");
	return 0;
}

/* ---- LSM ---- */

static bool apparmor_enabled(void)
{
	char buf[8] = "";
	_cleanup_close_ int fd = open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	return read_all(fd, buf, sizeof(buf) - 1) > 0 && buf[0] == 'Y';
}

static bool selinux_enabled(void)
{
	struct stat st;
	return stat("/sys/fs/selinux/enforce", &st) == 0;
}

/* Prefer the LSM-specific attr directory (stacked LSMs, kernel >= 5.1) and
 * fall back to the shared one. */
static int write_lsm_attr(const char *lsm_dir_path, const char *shared_path, const char *value,
			  const char *what, struct hangar_error *err)
{
	int fd = open(lsm_dir_path, O_WRONLY | O_CLOEXEC);
	const char *used = lsm_dir_path;
	if (fd < 0 && errno == ENOENT) {
		fd = open(shared_path, O_WRONLY | O_CLOEXEC);
		used = shared_path;
	}
	if (fd < 0)
		return hangar_sys_error(err, "set %s: open %s", what, used);
	_cleanup_close_ int attr_fd = fd;
	if (write(attr_fd, value, strlen(value)) < 0)
		return hangar_sys_error(err, "set %s: write '%s' to %s", what, value, used);
	return 0;
}

int process_apply_lsm(const struct oci_process *p, struct hangar_error *err)
{
	if (p->apparmor_profile && *p->apparmor_profile) {
		if (!apparmor_enabled())
			return hangar_error_set(
			    err, HANGAR_E_UNSUPPORTED, 0,
			    "apparmor profile %s requested but AppArmor is not enabled on this host",
			    p->apparmor_profile);
		_cleanup_free_ char *cmd = xasprintf("exec %s", p->apparmor_profile);
		_cleanup_free_ char *what = xasprintf("apparmor profile %s", p->apparmor_profile);
		if (write_lsm_attr("/proc/self/attr/apparmor/exec", "/proc/self/attr/exec", cmd, what, err) <
		    0)
			return -1;
	}
	if (p->selinux_label && *p->selinux_label) {
		if (!selinux_enabled())
			return hangar_error_set(
			    err, HANGAR_E_UNSUPPORTED, 0,
			    "selinux label %s requested but SELinux is not enabled on this host",
			    p->selinux_label);
		_cleanup_free_ char *what = xasprintf("selinux label %s", p->selinux_label);
		if (write_lsm_attr("/proc/self/attr/selinux/exec", "/proc/self/attr/exec", p->selinux_label,
				   what, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- user and capabilities ---- */

static bool setgroups_denied(void)
{
	char buf[16] = "";
	_cleanup_close_ int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	return read_all(fd, buf, sizeof(buf) - 1) > 0 && strncmp(buf, "deny", 4) == 0;
}

static int switch_groups(const struct oci_user *u, struct hangar_error *err)
{
	if (setgroups(u->n_additional_gids, u->additional_gids) == 0)
		return 0;
	int e = errno;
	if (e == EPERM && setgroups_denied()) {
		/* Nothing to drop and nothing we could add: an empty list is fine. */
		if (u->n_additional_gids == 0)
			return 0;
		return hangar_error_set(err, HANGAR_E_SYS, e,
					"set additional gids (process.user.additionalGids): setgroups is "
					"denied in this user namespace (/proc/self/setgroups is 'deny')");
	}
	return hangar_error_set(
	    err, HANGAR_E_SYS, e, "setgroups with %zu additional gids%s", u->n_additional_gids,
	    e == EINVAL ? " (process.user.additionalGids: a gid is not mapped in the user namespace)" : "");
}

int process_apply_user_and_caps(const struct oci_process *p, struct hangar_error *err)
{
	const struct oci_user *u = &p->user;
	struct caps_masks masks;
	bool with_caps = p->caps.present;

	if (u->has_umask)
		umask(u->umask);

	if (with_caps) {
		if (caps_resolve(&p->caps, &masks, err) < 0)
			return -1;
		/* Needs CAP_SETPCAP, which the uid switch may take away. */
		if (caps_apply_bounding(&masks, err) < 0)
			return -1;
		/* Keep the permitted set across setresuid so that the requested
		 * sets can be installed afterwards even for a non-root uid. */
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			return hangar_sys_error(err, "prctl PR_SET_KEEPCAPS");
	}

	if (switch_groups(u, err) < 0)
		return -1;
	/* EINVAL from the kernel means "no mapping in this user namespace". */
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return hangar_sys_error(err, "setresgid %u (process.user.gid%s)", (unsigned)u->gid,
					errno == EINVAL ? ", not mapped in the user namespace" : "");
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return hangar_sys_error(err, "setresuid %u (process.user.uid%s)", (unsigned)u->uid,
					errno == EINVAL ? ", not mapped in the user namespace" : "");

	if (!with_caps)
		return 0;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return hangar_sys_error(err, "prctl PR_SET_KEEPCAPS");
	return caps_apply_sets(&masks, err);
}

int process_apply_no_new_privs(const struct oci_process *p, struct hangar_error *err)
{
	if (!p->no_new_privileges)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hangar_sys_error(err, "prctl PR_SET_NO_NEW_PRIVS");
	return 0;
}

int process_apply_final(const struct oci_process *p, struct seccomp_program *seccomp, int *notify_fd_out,
			struct hangar_error *err)
{
	*notify_fd_out = -1;
	if (seccomp && !p->no_new_privileges) {
		if (seccomp_program_load(seccomp, notify_fd_out, err) < 0)
			return -1;
		seccomp = NULL;
	}
	if (process_apply_user_and_caps(p, err) < 0 || process_apply_no_new_privs(p, err) < 0)
		goto fail;
	if (seccomp && seccomp_program_load(seccomp, notify_fd_out, err) < 0)
		goto fail;
	return 0;
fail:
	if (*notify_fd_out >= 0) {
		close(*notify_fd_out);
		*notify_fd_out = -1;
	}
	return -1;
}

int process_cap_last_cap(void)
{
	return caps_last_cap();
}
