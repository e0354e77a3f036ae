/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The default seccomp profile: an allowlist in the spirit of moby's and
 * containers-common's default seccomp.json.  Everything not listed fails with
 * EPERM; syscalls that are only safe with a capability are allowed only when
 * that capability is in the container's bounding set.
 */
#include "runtime/seccomp.h"

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/caps.h"

enum default_arch {
	ARCH_AMD64 = 1 << 0,
	ARCH_X86 = 1 << 1,
	ARCH_X32 = 1 << 2,
	ARCH_ARM = 1 << 3,
	ARCH_ARM64 = 1 << 4,
	ARCH_S390 = 1 << 5,
	ARCH_PPC64LE = 1 << 6,
	ARCH_RISCV64 = 1 << 7,
};

struct default_arg {
	unsigned index;
	uint64_t value;
	const char *op;
};

struct default_rule {
	const char *const *names;
	const char *action;	/* NULL = SCMP_ACT_ALLOW */
	uint32_t errno_ret;	/* with SCMP_ACT_ERRNO */
	struct default_arg arg; /* used when has_arg */
	bool has_arg;
	const char *include_cap; /* only when in bounding */
	const char *exclude_cap; /* only when NOT in bounding */
	unsigned include_arches; /* 0 = every architecture */
	unsigned exclude_arches;
	unsigned min_kernel; /* (major << 8) | minor; 0 = any */
};

/* clang-format off */
static const char *const allowed_always[] = {
	"accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset",
	"chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
	"clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
	"close", "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
	"epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
	"faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
	"fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr",
	"flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
	"fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait",
	"futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
	"getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
	"getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
	"getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid",
	"getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
	"getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
	"ioctl", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get",
	"ioprio_set", "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
	"landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr",
	"llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
	"map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat",
	"mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr",
	"mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
	"mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync",
	"munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open",
	"openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
	"pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
	"preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev",
	"pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
	"recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2",
	"restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
	"rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
	"rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
	"sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
	"sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
	"sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop",
	"semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid",
	"setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
	"setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
	"setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt",
	"set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt",
	"shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
	"socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
	"sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
	"timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
	"timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
	"times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat",
	"utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid",
	"write", "writev", NULL
};
/* clang-format on */

/* ptrace is safe since 4.8 (seccomp is re-checked after the tracer), so it
 * is in the base set there, like in current moby; older kernels need
 * CAP_SYS_PTRACE for it. */
static const char *const ptrace_family[] = {"process_vm_readv", "process_vm_writev", "ptrace", NULL};
/* AF_VSOCK (40) sockets reach the host's hypervisor services. */
static const char *const socket_only[] = {"socket", NULL};
static const char *const personality_only[] = {"personality", NULL};
static const char *const arm_only[] = {"arm_fadvise64_64",
				       "arm_sync_file_range",
				       "sync_file_range2",
				       "breakpoint",
				       "cacheflush",
				       "set_tls",
				       NULL};
static const char *const ppc_only[] = {"sync_file_range2", "swapcontext", NULL};
static const char *const amd64_only[] = {"arch_prctl", NULL};
static const char *const x86_family_only[] = {"modify_ldt", NULL};
static const char *const s390_only[] = {"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr",
					NULL};
static const char *const riscv_only[] = {"riscv_flush_icache", NULL};
static const char *const with_dac_read_search[] = {"open_by_handle_at", NULL};
static const char *const with_sys_admin[] = {
    "bpf",	 "clone",	    "clone3",	      "fanotify_init", "fsconfig",	"fsmount",
    "fsopen",	 "fspick",	    "lookup_dcookie", "mount",	       "mount_setattr", "move_mount",
    "open_tree", "perf_event_open", "quotactl",	      "quotactl_fd",   "setdomainname", "sethostname",
    "setns",	 "syslog",	    "umount",	      "umount2",       "unshare",	NULL};
static const char *const clone_only[] = {"clone", NULL};
static const char *const clone3_only[] = {"clone3", NULL};
static const char *const with_sys_boot[] = {"reboot", NULL};
static const char *const with_sys_chroot[] = {"chroot", NULL};
static const char *const with_sys_module[] = {"delete_module", "init_module", "finit_module", NULL};
static const char *const with_sys_pacct[] = {"acct", NULL};
static const char *const with_sys_ptrace[] = {
    "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace", NULL};
static const char *const with_sys_rawio[] = {"iopl", "ioperm", NULL};
static const char *const with_sys_time[] = {"settimeofday", "stime", "clock_settime", "clock_settime64",
					    NULL};
static const char *const with_sys_tty_config[] = {"vhangup", NULL};
static const char *const with_sys_nice[] = {"get_mempolicy", "mbind", "set_mempolicy",
					    "set_mempolicy_home_node", NULL};
static const char *const with_syslog[] = {"syslog", NULL};
static const char *const with_bpf[] = {"bpf", NULL};
static const char *const with_perfmon[] = {"perf_event_open", NULL};

/* CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET: a clone whose
 * flags contain none of these is an ordinary fork or thread. */
#define CLONE_NAMESPACE_FLAGS 0x7E020000ULL

/* PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the query. */
#define PERSONALITY_RULE(v)                                                                                  \
	{                                                                                                    \
		.names = personality_only, .has_arg = true, .arg = { 0, (v), "SCMP_CMP_EQ" }                 \
	}

static const struct default_rule default_rules[] = {
    {.names = allowed_always},
    {.names = ptrace_family, .min_kernel = 0x0408},
    {.names = socket_only, .has_arg = true, .arg = {0, 40, "SCMP_CMP_NE"}},
    PERSONALITY_RULE(0x0),
    PERSONALITY_RULE(0x8),
    PERSONALITY_RULE(0x20000),
    PERSONALITY_RULE(0x20008),
    PERSONALITY_RULE(0xffffffff),
    {.names = ppc_only, .include_arches = ARCH_PPC64LE},
    {.names = arm_only, .include_arches = ARCH_ARM | ARCH_ARM64},
    {.names = amd64_only, .include_arches = ARCH_AMD64 | ARCH_X32},
    {.names = x86_family_only, .include_arches = ARCH_AMD64 | ARCH_X32 | ARCH_X86},
    {.names = s390_only, .include_arches = ARCH_S390},
    {.names = riscv_only, .include_arches = ARCH_RISCV64},
    {.names = with_dac_read_search, .include_cap = "CAP_DAC_READ_SEARCH"},
    {.names = with_sys_admin, .include_cap = "CAP_SYS_ADMIN"},
    {.names = clone_only,
     .has_arg = true,
     .arg = {0, CLONE_NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ"},
     .exclude_cap = "CAP_SYS_ADMIN",
     .exclude_arches = ARCH_S390},
    /* s390 passes the clone flags second. */
    {.names = clone_only,
     .has_arg = true,
     .arg = {1, CLONE_NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ"},
     .exclude_cap = "CAP_SYS_ADMIN",
     .include_arches = ARCH_S390},
    /* clone3 keeps its flags in memory seccomp cannot read; ENOSYS makes
     * glibc fall back to clone, which the rule above can check. */
    {.names = clone3_only, .action = "SCMP_ACT_ERRNO", .errno_ret = ENOSYS, .exclude_cap = "CAP_SYS_ADMIN"},
    {.names = with_sys_boot, .include_cap = "CAP_SYS_BOOT"},
    {.names = with_sys_chroot, .include_cap = "CAP_SYS_CHROOT"},
    {.names = with_sys_module, .include_cap = "CAP_SYS_MODULE"},
    {.names = with_sys_pacct, .include_cap = "CAP_SYS_PACCT"},
    {.names = with_sys_ptrace, .include_cap = "CAP_SYS_PTRACE"},
    {.names = with_sys_rawio, .include_cap = "CAP_SYS_RAWIO"},
    {.names = with_sys_time, .include_cap = "CAP_SYS_TIME"},
    {.names = with_sys_tty_config, .include_cap = "CAP_SYS_TTY_CONFIG"},
    {.names = with_sys_nice, .include_cap = "CAP_SYS_NICE"},
    {.names = with_syslog, .include_cap = "CAP_SYSLOG"},
    {.names = with_bpf, .include_cap = "CAP_BPF"},
    {.names = with_perfmon, .include_cap = "CAP_PERFMON"},
};

/* The architectures a native one also runs (moby's archMap). */
static unsigned native_arch_tag(const char **arch_names, size_t *n_arch_names)
{
	uint32_t native = seccomp_arch_native();

	*n_arch_names = 0;
	switch (native) {
	case SCMP_ARCH_X86_64:
		arch_names[(*n_arch_names)++] = "SCMP_ARCH_X86_64";
		arch_names[(*n_arch_names)++] = "SCMP_ARCH_X86";
		arch_names[(*n_arch_names)++] = "SCMP_ARCH_X32";
		return ARCH_AMD64;
	case SCMP_ARCH_X86:
		arch_names[(*n_arch_names)++] = "SCMP_ARCH_X86";
		return ARCH_X86;
	case SCMP_ARCH_AARCH64:
		arch_names[(*n_arch_names)++] = "SCMP_ARCH_AARCH64";
		arch_names[(*n_arch_names)++] = "SCMP_ARCH_ARM";
		return ARCH_ARM64;
	case SCMP_ARCH_ARM:
		arch_names[(*n_arch_names)++] = "SCMP_ARCH_ARM";
		return ARCH_ARM;
	case SCMP_ARCH_S390X:
		arch_names[(*n_arch_names)++] = "SCMP_ARCH_S390X";
		arch_names[(*n_arch_names)++] = "SCMP_ARCH_S390";
		return ARCH_S390;
	case SCMP_ARCH_PPC64LE:
		arch_names[(*n_arch_names)++] = "SCMP_ARCH_PPC64LE";
		return ARCH_PPC64LE;
#ifdef SCMP_ARCH_RISCV64
	case SCMP_ARCH_RISCV64:
		arch_names[(*n_arch_names)++] = "SCMP_ARCH_RISCV64";
		return ARCH_RISCV64;
#endif
	default:
		return 0;
	}
}

static bool cap_in_bounding(const struct oci_capabilities *caps, const char *cap)
{
	return caps && caps->present && caps_list_has(caps->bounding, caps->n_bounding, cap);
}

static unsigned running_kernel_version(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;
	if (uname(&u) == 0)
		sscanf(u.release, "%u.%u", &major, &minor);
	return (major << 8) | (minor & 0xff);
}

static bool rule_applies(const struct default_rule *r, const struct oci_capabilities *caps, unsigned arch)
{
	if (r->min_kernel && running_kernel_version() < r->min_kernel)
		return false;
	if (r->include_cap && !cap_in_bounding(caps, r->include_cap))
		return false;
	if (r->exclude_cap && cap_in_bounding(caps, r->exclude_cap))
		return false;
	if (r->include_arches && !(r->include_arches & arch))
		return false;
	if (r->exclude_arches & arch)
		return false;
	return true;
}

static void fill_syscall(struct oci_seccomp_syscall *out, const struct default_rule *r)
{
	size_t n = strv_len((char *const *)r->names);

	out->names = strv_dup((char *const *)r->names);
	out->n_names = n;
	out->action = xstrdup(r->action ? r->action : "SCMP_ACT_ALLOW");
	(void)oci_seccomp_action_from_name(out->action, &out->action_num);
	if (r->errno_ret) {
		out->has_errno_ret = true;
		out->errno_ret = r->errno_ret;
	}
	if (r->has_arg) {
		out->args = xmalloc0(sizeof(*out->args));
		out->n_args = 1;
		out->args[0].index = r->arg.index;
		out->args[0].value = r->arg.value;
		out->args[0].op = xstrdup(r->arg.op);
		out->args[0].op_num = oci_seccomp_op_from_name(r->arg.op);
	}
}

int seccomp_default_profile(const struct oci_capabilities *caps, struct oci_seccomp *out,
			    struct hangar_error *err)
{
	const char *arch_names[4];
	size_t n_arch_names;
	unsigned arch = native_arch_tag(arch_names, &n_arch_names);

	memset(out, 0, sizeof(*out));
	if (arch == 0)
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "no default seccomp profile for this architecture (libseccomp arch 0x%x)",
		    seccomp_arch_native());
	out->present = true;
	out->default_action = xstrdup("SCMP_ACT_ERRNO");
	out->default_action_num = SCMP_ACT_ERRNO(0);
	out->has_default_errno_ret = true;
	out->default_errno_ret = EPERM;
	out->architectures = xmalloc0((n_arch_names + 1) * sizeof(char *));
	for (size_t i = 0; i < n_arch_names; i++)
		out->architectures[i] = xstrdup(arch_names[i]);
	out->n_architectures = n_arch_names;

	out->syscalls = xmalloc0(ARRAY_SIZE(default_rules) * sizeof(*out->syscalls));
	for (size_t i = 0; i < ARRAY_SIZE(default_rules); i++)
		if (rule_applies(&default_rules[i], caps, arch))
			fill_syscall(&out->syscalls[out->n_syscalls++], &default_rules[i]);
	return 0;
}

/* Counted frees: a section parsed from JSON need not be NULL-terminated. */
static void free_counted(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void seccomp_profile_clear(struct oci_seccomp *s)
{
	if (s == NULL)
		return;
	free(s->default_action);
	free_counted(s->architectures, s->n_architectures);
	free_counted(s->flags, s->n_flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		struct oci_seccomp_syscall *sc = &s->syscalls[i];
		free_counted(sc->names, sc->n_names);
		free(sc->action);
		for (size_t j = 0; j < sc->n_args; j++)
			free(sc->args[j].op);
		free(sc->args);
	}
	free(s->syscalls);
	memset(s, 0, sizeof(*s));
}
