/* SPDX-License-Identifier: GPL-2.0-or-later */
/* seccomp: filters are loaded in forked children and probed with raw
 * syscalls (glibc wrappers such as getppid() ignore errno). */
#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "config/oci.h"
#include "runtime/seccomp.h"
#include "child.h"
#include "tap.h"



/* ---- building configs ---- */

#define MAX_RULES 8
struct test_profile {
	struct oci_seccomp s;
	struct oci_seccomp_syscall rules[MAX_RULES];
	struct oci_seccomp_arg args[MAX_RULES][4];
	char *names[MAX_RULES][4];
	char *flags[4];
};

static void profile_init(struct test_profile *t, const char *default_action)
{
	memset(t, 0, sizeof(*t));
	t->s.present = true;
	t->s.default_action = (char *)default_action;
	t->s.syscalls = t->rules;
	t->s.flags = t->flags;
}

static struct oci_seccomp_syscall *add_rule(struct test_profile *t, const char *name, const char *action,
					    int errno_ret)
{
	size_t i = t->s.n_syscalls++;
	struct oci_seccomp_syscall *r = &t->rules[i];
	t->names[i][0] = (char *)name;
	r->names = t->names[i];
	r->n_names = 1;
	r->action = (char *)action;
	if (errno_ret >= 0) {
		r->has_errno_ret = true;
		r->errno_ret = (uint32_t)errno_ret;
	}
	r->args = t->args[i];
	return r;
}

static void add_arg(struct oci_seccomp_syscall *r, unsigned index, uint64_t value, uint64_t value_two,
		    const char *op)
{
	struct oci_seccomp_arg *a = &r->args[r->n_args++];
	a->index = index;
	a->value = value;
	a->value_two = value_two;
	a->op = (char *)op;
}

static int load_profile(const struct oci_seccomp *s, int *notify_fd, char *msg, size_t len)
{
	struct seccomp_program *prog = NULL;
	struct hangar_error err = {0};
	int fd = -1;
	if (seccomp_program_build(s, &prog, &err) < 0)
		return failf(msg, len, "build: %s", err.msg);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	int r = seccomp_program_load(prog, notify_fd ? notify_fd : &fd, &err);
	seccomp_program_free(prog);
	if (r < 0)
		return failf(msg, len, "load: %s", err.msg);
	return 0;
}

/* ---- children ---- */

static int child_errno(void *arg, char *msg, size_t len)
{
	struct test_profile t;
	profile_init(&t, "SCMP_ACT_ALLOW");
	add_rule(&t, "getppid", "SCMP_ACT_ERRNO", 42);
	add_rule(&t, "mkdir", "SCMP_ACT_ERRNO", -1); /* no errnoRet: EPERM */
	add_rule(&t, "mkdirat", "SCMP_ACT_ERRNO", -1);
	if (load_profile(&t.s, NULL, msg, len))
		return 1;
	errno = 0;
	long r = syscall(SYS_getppid);
	if (r != -1 || errno != 42)
		return failf(msg, len, "getppid returned %ld errno %d", r, errno);
	if (mkdir("/tmp/hangar-seccomp-should-not-exist", 0700) == 0 || errno != EPERM)
		return failf(msg, len, "mkdir: errno %d", errno);
	if (syscall(SYS_getpid) != getpid())
		return failf(msg, len, "getpid blocked");
	return 0;
}

static int child_arg_eq(void *arg, char *msg, size_t len)
{
	struct test_profile t;
	profile_init(&t, "SCMP_ACT_ALLOW");
	struct oci_seccomp_syscall *r = add_rule(&t, "personality", "SCMP_ACT_ERRNO", EACCES);
	add_arg(r, 0, 0xffffffff, 0, "SCMP_CMP_EQ");
	if (load_profile(&t.s, NULL, msg, len))
		return 1;
	errno = 0;
	long v = syscall(SYS_personality, 0xffffffffUL);
	if (v != -1 || errno != EACCES)
		return failf(msg, len, "personality(0xffffffff) = %ld errno %d", v, errno);
	v = syscall(SYS_personality, 0UL);
	if (v < 0)
		return failf(msg, len, "personality(0) blocked: errno %d", errno);
	return 0;
}

/* Conditions on different arguments: all must hold (one rule). */
static int child_arg_and(void *arg, char *msg, size_t len)
{
	struct test_profile t;
	profile_init(&t, "SCMP_ACT_ALLOW");
	struct oci_seccomp_syscall *r = add_rule(&t, "socket", "SCMP_ACT_ERRNO", EAFNOSUPPORT);
	add_arg(r, 0, AF_UNIX, 0, "SCMP_CMP_EQ");
	add_arg(r, 1, SOCK_DGRAM, 0, "SCMP_CMP_EQ");
	if (load_profile(&t.s, NULL, msg, len))
		return 1;
	errno = 0;
	if (syscall(SYS_socket, AF_UNIX, SOCK_DGRAM, 0) != -1 || errno != EAFNOSUPPORT)
		return failf(msg, len, "socket(AF_UNIX, SOCK_DGRAM) allowed (errno %d)", errno);
	long fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return failf(msg, len, "socket(AF_UNIX, SOCK_STREAM) blocked");
	close((int)fd);
	fd = syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return failf(msg, len, "socket(AF_INET, SOCK_DGRAM) blocked");
	close((int)fd);
	return 0;
}

/* Two conditions on the same argument: either one blocks (runc semantics). */
static int child_arg_same_index(void *arg, char *msg, size_t len)
{
	struct test_profile t;
	profile_init(&t, "SCMP_ACT_ALLOW");
	struct oci_seccomp_syscall *r = add_rule(&t, "personality", "SCMP_ACT_ERRNO", EPERM);
	add_arg(r, 0, 0x8, 0, "SCMP_CMP_EQ");
	add_arg(r, 0, 0x20000, 0, "SCMP_CMP_EQ");
	if (load_profile(&t.s, NULL, msg, len))
		return 1;
	if (syscall(SYS_personality, 0x8UL) != -1 || syscall(SYS_personality, 0x20000UL) != -1)
		return failf(msg, len, "one of the two same-index conditions did not block");
	if (syscall(SYS_personality, 0UL) < 0)
		return failf(msg, len, "personality(0) blocked");
	return 0;
}

static int child_masked_eq(void *arg, char *msg, size_t len)
{
	struct test_profile t;
	profile_init(&t, "SCMP_ACT_ALLOW");
	struct oci_seccomp_syscall *r = add_rule(&t, "socket", "SCMP_ACT_ERRNO", EPERM);
	/* spec: value is the mask, valueTwo the datum */
	add_arg(r, 1, SOCK_CLOEXEC, SOCK_CLOEXEC, "SCMP_CMP_MASKED_EQ");
	if (load_profile(&t.s, NULL, msg, len))
		return 1;
	if (syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) != -1)
		return failf(msg, len, "socket with SOCK_CLOEXEC allowed");
	long fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return failf(msg, len, "socket without SOCK_CLOEXEC blocked");
	return 0;
}

/* Default deny with an allowlist: what container configs look like. */
static int child_default_errno(void *arg, char *msg, size_t len)
{
	/* the second line is for sanitizer runtimes */
	static const char *allow[] = {
	    "read",	   "write",	   "exit_group",     "exit",	"getpid",   "rt_sigreturn",
	    "brk",	   "mmap",	   "munmap",	     "close",	"fstat",    "newfstatat",
	    "sigaltstack", "rt_sigaction", "rt_sigprocmask", "madvise", "mprotect", "futex",
	    "sched_yield", "prctl",	   "getrandom",	     "gettid",	"tgkill"};
	struct test_profile t;
	profile_init(&t, "SCMP_ACT_ERRNO");
	t.s.has_default_errno_ret = true;
	t.s.default_errno_ret = ENOSYS;
	struct oci_seccomp_syscall *r = add_rule(&t, "read", "SCMP_ACT_ALLOW", -1);
	r->n_names = ARRAY_SIZE(allow);
	r->names = xmalloc0(sizeof(char *) * ARRAY_SIZE(allow));
	for (size_t i = 0; i < ARRAY_SIZE(allow); i++)
		r->names[i] = (char *)allow[i];
	if (load_profile(&t.s, NULL, msg, len))
		return 1;
	errno = 0;
	if (syscall(SYS_getuid) != -1 || errno != ENOSYS)
		return failf(msg, len, "getuid not denied with ENOSYS (errno %d)", errno);
	if (syscall(SYS_getpid) <= 0)
		return failf(msg, len, "getpid denied");
	return 0;
}

static int child_kill_process(void *arg, char *msg, size_t len)
{
	struct test_profile t;
	profile_init(&t, "SCMP_ACT_ALLOW");
	add_rule(&t, "getppid", "SCMP_ACT_KILL_PROCESS", -1);
	if (load_profile(&t.s, NULL, msg, len))
		return 1;
	syscall(SYS_getppid);
	return failf(msg, len, "still alive after a SCMP_ACT_KILL_PROCESS syscall");
}

#if defined(__x86_64__)
/* A 32-bit (i386 ABI) syscall from 64-bit code. */
static long int80(long nr)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr) : "memory");
	return ret;
}

static int child_int80_probe(void *arg, char *msg, size_t len)
{
	return int80(20 /* i386 getpid */) == getpid() ? 0 : 1;
}

/* The ENOSYS stub covers the compat architecture too. */
static int child_enosys_i386(void *arg, char *msg, size_t len)
{
	static const char *allow[] = {
	    "read",	   "write",	   "exit_group",     "exit",	"getpid",   "rt_sigreturn",
	    "brk",	   "mmap",	   "munmap",	     "close",	"fstat",    "newfstatat",
	    "sigaltstack", "rt_sigaction", "rt_sigprocmask", "madvise", "mprotect", "futex",
	    "sched_yield", "prctl",	   "getrandom",	     "gettid",	"tgkill"};
	static char *arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", NULL};
	struct test_profile t;
	struct seccomp_program *prog = NULL;
	struct hangar_error err = {0};
	int fd;
	profile_init(&t, "SCMP_ACT_ERRNO");
	t.s.architectures = arches;
	t.s.n_architectures = 2;
	struct oci_seccomp_syscall *r = add_rule(&t, "read", "SCMP_ACT_ALLOW", -1);
	r->names = (char **)allow;
	r->n_names = ARRAY_SIZE(allow);
	if (seccomp_program_build(&t.s, &prog, &err) < 0)
		return failf(msg, len, "build: %s", err.msg);
	int first_new = seccomp_program_enosys_from(prog, SCMP_ARCH_X86);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (first_new <= 0 || seccomp_program_load(prog, &fd, &err) < 0)
		return failf(msg, len, "first_new %d load: %s", first_new, err.msg);
	if (int80(20) != getpid())
		return failf(msg, len, "i386 getpid blocked");
	long v = int80(first_new + 2);
	if (v != -ENOSYS)
		return failf(msg, len, "i386 syscall %d: %ld, want -ENOSYS", first_new + 2, v);
	v = int80(39 /* i386 mkdir: known, not allowed */);
	if (v != -EPERM)
		return failf(msg, len, "i386 mkdir: %ld, want -EPERM", v);
	return 0;
}
#endif

static volatile sig_atomic_t sigsys_seen;
static void on_sigsys(int sig)
{
	sigsys_seen = sig;
}

/* TRAP delivers SIGSYS; LOG allows; TRACE without a tracer gives ENOSYS. */
static int child_trap_log_trace(void *arg, char *msg, size_t len)
{
	struct test_profile t;
	profile_init(&t, "SCMP_ACT_ALLOW");
	add_rule(&t, "getppid", "SCMP_ACT_TRAP", -1);
	add_rule(&t, "getuid", "SCMP_ACT_LOG", -1);
	add_rule(&t, "getgid", "SCMP_ACT_TRACE", -1);
	if (load_profile(&t.s, NULL, msg, len))
		return 1;
	signal(SIGSYS, on_sigsys);
	syscall(SYS_getppid);
	if (sigsys_seen != SIGSYS)
		return failf(msg, len, "SCMP_ACT_TRAP: no SIGSYS");
	if (syscall(SYS_getuid) != (long)getuid())
		return failf(msg, len, "SCMP_ACT_LOG blocked getuid");
	errno = 0;
	if (syscall(SYS_getgid) != -1 || errno != ENOSYS)
		return failf(msg, len, "SCMP_ACT_TRACE without tracer: errno %d, want ENOSYS", errno);
	return 0;
}

static int child_flags(void *arg, char *msg, size_t len)
{
	struct test_profile t;
	profile_init(&t, "SCMP_ACT_ALLOW");
	t.flags[0] = "SECCOMP_FILTER_FLAG_TSYNC";
	t.flags[1] = "SECCOMP_FILTER_FLAG_LOG";
	t.flags[2] = "SECCOMP_FILTER_FLAG_SPEC_ALLOW";
	t.s.n_flags = 3;
	add_rule(&t, "getppid", "SCMP_ACT_ERRNO", 77);
	if (load_profile(&t.s, NULL, msg, len))
		return 1;
	errno = 0;
	if (syscall(SYS_getppid) != -1 || errno != 77)
		return failf(msg, len, "filter with flags not active");
	return 0;
}

/* Without no_new_privs the kernel wants CAP_SYS_ADMIN: the error must say so. */
static int child_no_nnp_no_admin(void *arg, char *msg, size_t len)
{
	struct test_profile t;
	struct seccomp_program *prog = NULL;
	struct hangar_error err = {0};
	int fd;
	profile_init(&t, "SCMP_ACT_ALLOW");
	add_rule(&t, "getppid", "SCMP_ACT_ERRNO", -1);
	cap_t caps = cap_get_proc();
	cap_value_t admin = CAP_SYS_ADMIN;
	cap_set_flag(caps, CAP_EFFECTIVE, 1, &admin, CAP_CLEAR);
	cap_set_proc(caps);
	cap_free(caps);
	if (seccomp_program_build(&t.s, &prog, &err) < 0)
		return failf(msg, len, "build: %s", err.msg);
	int r = seccomp_program_load(prog, &fd, &err);
	seccomp_program_free(prog);
	if (r == 0)
		return failf(msg, len, "loaded without NNP and CAP_SYS_ADMIN");
	snprintf(msg, len, "%s", err.msg);
	if (strstr(err.msg, "CAP_SYS_ADMIN") == NULL)
		return 1;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
		return failf(msg, len, "libseccomp set no_new_privs behind our back");
	return 0;
}

/* ---- notify: the listener gets the fd and the state, and can answer ---- */

struct notify_case {
	const char *socket_path;
	bool wait_killable;
};

static int child_notify(void *arg, char *msg, size_t len)
{
	struct notify_case *nc = arg;
	struct test_profile t;
	struct hangar_error err = {0};
	int notify_fd = -1;
	profile_init(&t, "SCMP_ACT_ALLOW");
	add_rule(&t, "getppid", "SCMP_ACT_NOTIFY", -1);
	if (nc->wait_killable) {
		t.flags[0] = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV";
		t.s.n_flags = 1;
	}
	if (load_profile(&t.s, &notify_fd, msg, len))
		return 1;
	if (notify_fd < 0)
		return failf(msg, len, "no notify fd");
	if (!(fcntl(notify_fd, F_GETFD) & FD_CLOEXEC))
		return failf(msg, len, "notify fd is not O_CLOEXEC");
	char state[256];
	snprintf(state, sizeof(state),
		 "{\"ociVersion\":\"1.2.0\",\"id\":\"ctr-1\",\"status\":\"creating\",\"pid\":%d,\"bundle\":"
		 "\"/b\"}",
		 (int)getpid());
	if (seccomp_send_listener(nc->socket_path, notify_fd, state, "meta=1", &err) < 0)
		return failf(msg, len, "send: %s", err.msg);
	close(notify_fd);
	/* Blocks until the listener answers. */
	long v = syscall(SYS_getppid);
	if (v != 4242)
		return failf(msg, len, "notified getppid returned %ld (errno %d), want 4242", v, errno);
	return 0;
}

static int recv_fd_and_payload(int listen_fd, char *payload, size_t len, int *fd_out)
{
	int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return -1;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = payload, .iov_len = len - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control.buf,
			    .msg_controllen = sizeof(control.buf)};
	ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
	*fd_out = -1;
	if (n > 0) {
		size_t got = (size_t)n;
		/* the rest of the payload, if it came in pieces */
		ssize_t more;
		while (got < len - 1 && (more = read(conn, payload + got, len - 1 - got)) > 0)
			got += (size_t)more;
		payload[got] = '\0';
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		if (cm && cm->cmsg_type == SCM_RIGHTS)
			memcpy(fd_out, CMSG_DATA(cm), sizeof(int));
	}
	close(conn);
	return *fd_out >= 0 ? 0 : -1;
}

static void test_notify(bool wait_killable)
{
	char dir[] = "/tmp/hangar-seccomp-XXXXXX";
	char path[128], msg[2048], payload[4096];
	const char *label = wait_killable ? " (WAIT_KILLABLE_RECV)" : "";

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/listener.sock", dir);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	strcpy(addr.sun_path, path);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 1) < 0) {
		ok(0, "listener socket");
		return;
	}
	struct notify_case nc = {.socket_path = path, .wait_killable = wait_killable};
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		char buf[2048] = "";
		int rc = child_notify(&nc, buf, sizeof(buf));
		if (write(pipefd[1], buf, strlen(buf)) < 0)
			rc = 99;
		_exit(rc);
	}
	close(pipefd[1]);

	int notify_fd = -1;
	int r = recv_fd_and_payload(lfd, payload, sizeof(payload), &notify_fd);
	ok(r == 0, "listener received the notify fd%s", label);
	struct json_object *obj = json_tokener_parse(payload), *v, *st;
	bool fds_ok = obj && json_object_object_get_ex(obj, "fds", &v) && json_object_array_length(v) == 1 &&
		      strcmp(json_object_get_string(json_object_array_get_idx(v, 0)), "seccompFd") == 0;
	bool meta_ok = obj && json_object_object_get_ex(obj, "metadata", &v) &&
		       strcmp(json_object_get_string(v), "meta=1") == 0;
	bool pid_ok = obj && json_object_object_get_ex(obj, "pid", &v) && json_object_get_int(v) == pid;
	bool state_ok = obj && json_object_object_get_ex(obj, "state", &st) &&
			json_object_object_get_ex(st, "id", &v) &&
			strcmp(json_object_get_string(v), "ctr-1") == 0;
	bool version_ok = obj && json_object_object_get_ex(obj, "ociVersion", &v) &&
			  strcmp(json_object_get_string(v), "1.2.0") == 0;
	ok(fds_ok && meta_ok && pid_ok && state_ok && version_ok,
	   "payload is containerProcessState with fds, pid, metadata, state%s: %s", label, payload);
	json_object_put(obj);

	/* Answer the child's getppid. */
	bool answered = false;
	if (notify_fd >= 0) {
		struct seccomp_notif *req = NULL;
		struct seccomp_notif_resp *resp = NULL;
		struct pollfd pfd = {.fd = notify_fd, .events = POLLIN};
		if (seccomp_notify_alloc(&req, &resp) == 0 && poll(&pfd, 1, 5000) == 1 &&
		    seccomp_notify_receive(notify_fd, req) == 0) {
			resp->id = req->id;
			resp->val = 4242;
			resp->error = 0;
			resp->flags = 0;
			answered =
			    req->data.nr == SYS_getppid && seccomp_notify_respond(notify_fd, resp) == 0;
		}
		seccomp_notify_free(req, resp);
		close(notify_fd);
	}
	ssize_t n = read_all(pipefd[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	int status;
	waitpid(pid, &status, 0);
	ok(answered && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "listener answered the notified getppid with 4242%s %s", label, msg);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

/* ---- default profile ---- */

static char *default_caps[] = {"CAP_CHOWN",
			       "CAP_DAC_OVERRIDE",
			       "CAP_FSETID",
			       "CAP_FOWNER",
			       "CAP_MKNOD",
			       "CAP_NET_RAW",
			       "CAP_SETGID",
			       "CAP_SETUID",
			       "CAP_SETFCAP",
			       "CAP_SETPCAP",
			       "CAP_NET_BIND_SERVICE",
			       "CAP_SYS_CHROOT",
			       "CAP_KILL",
			       "CAP_AUDIT_WRITE",
			       NULL};

static int child_default_profile(void *arg, char *msg, size_t len)
{
	struct oci_capabilities caps = {.present = true, .bounding = default_caps, .n_bounding = 14};
	struct oci_seccomp s;
	struct hangar_error err = {0};
	if (seccomp_default_profile(&caps, &s, &err) < 0)
		return failf(msg, len, "profile: %s", err.msg);
	int rc = load_profile(&s, NULL, msg, len);
	seccomp_profile_clear(&s);
	if (rc)
		return 1;

	errno = 0;
	if (syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0) != -1 || errno != EPERM)
		return failf(msg, len, "keyctl not blocked (errno %d)", errno);
	errno = 0;
	if (syscall(SYS_unshare, CLONE_NEWUSER) != -1 || errno != EPERM)
		return failf(msg, len, "unshare(CLONE_NEWUSER) not blocked (errno %d)", errno);
	errno = 0;
	if (syscall(SYS_kcmp, getpid(), getpid(), 0, 0, 0) != -1 || errno != EPERM)
		return failf(msg, len, "kcmp allowed without CAP_SYS_PTRACE (errno %d)", errno);
	errno = 0;
	if (syscall(SYS_mount, "none", "/mnt", "tmpfs", 0, NULL) != -1 || errno != EPERM)
		return failf(msg, len, "mount not blocked (errno %d)", errno);
	errno = 0;
	if (syscall(SYS_personality, 0x0400000UL /* READ_IMPLIES_EXEC */) != -1 || errno != EPERM)
		return failf(msg, len, "personality(READ_IMPLIES_EXEC) not blocked");
	/* Newer than anything the profile names: ENOSYS (runc's stub). */
	int stub = *(int *)arg;
	errno = 0;
	if (stub <= 0 || syscall(stub + 3, 0, 0, 0) != -1 || errno != ENOSYS)
		return failf(msg, len, "syscall %d (after the newest in the profile) not ENOSYS (errno %d)",
			     stub + 3, errno);
	errno = 0;
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return failf(msg, len, "clone3 should fail with ENOSYS (errno %d)", errno);
	errno = 0;
	if (syscall(SYS_socket, 40 /* AF_VSOCK */, SOCK_STREAM, 0) != -1 || errno != EPERM)
		return failf(msg, len, "AF_VSOCK socket allowed (errno %d)", errno);
	if (syscall(SYS_personality, 0xffffffffUL) < 0)
		return failf(msg, len, "personality query blocked");
	/* Normal work: fork, exec, wait, pipes, files. */
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return failf(msg, len, "pipe2 blocked");
	pid_t pid = fork();
	if (pid < 0)
		return failf(msg, len, "fork blocked: %s", strerror(errno));
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "echo hi > /dev/null && /bin/true", (char *)NULL);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return failf(msg, len,
			     "sh -c ... && /bin/true failed under the default profile (status 0x%x)", status);
	char tmpl[] = "/tmp/hangar-seccomp-default-XXXXXX";
	int fd = mkstemp(tmpl);
	if (fd < 0 || write(fd, "x", 1) != 1)
		return failf(msg, len, "file I/O blocked");
	close(fd);
	unlink(tmpl);
	return 0;
}

/* CAP_SYS_PTRACE adds ptrace-family rules that repeat base ones: still fine. */
static int child_default_profile_ptrace(void *arg, char *msg, size_t len)
{
	static char *ptrace_caps[] = {"CAP_SYS_PTRACE", NULL};
	struct oci_capabilities caps = {.present = true, .bounding = ptrace_caps, .n_bounding = 1};
	struct oci_seccomp s;
	struct hangar_error err = {0};
	if (seccomp_default_profile(&caps, &s, &err) < 0)
		return failf(msg, len, "profile: %s", err.msg);
	int rc = load_profile(&s, NULL, msg, len);
	seccomp_profile_clear(&s);
	if (rc)
		return 1;
	errno = 0;
	if (syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, 0, 0) < 0 && errno == EPERM)
		return failf(msg, len, "kcmp blocked although CAP_SYS_PTRACE is in bounding");
	return 0;
}

static int child_default_profile_sys_admin(void *arg, char *msg, size_t len)
{
	static char *admin_caps[] = {"CAP_SYS_ADMIN", NULL};
	struct oci_capabilities caps = {.present = true, .bounding = admin_caps, .n_bounding = 1};
	struct oci_seccomp s;
	struct hangar_error err = {0};
	if (seccomp_default_profile(&caps, &s, &err) < 0)
		return failf(msg, len, "profile: %s", err.msg);
	int rc = load_profile(&s, NULL, msg, len);
	seccomp_profile_clear(&s);
	if (rc)
		return 1;
	if (syscall(SYS_unshare, CLONE_NEWUTS) < 0)
		return failf(msg, len,
			     "unshare(CLONE_NEWUTS) blocked although CAP_SYS_ADMIN is in bounding: %s",
			     strerror(errno));
	errno = 0;
	if (syscall(SYS_keyctl, 0, -3, 0) != -1 || errno != EPERM)
		return failf(msg, len, "keyctl allowed (errno %d)", errno);
	return 0;
}

int main(void)
{
	char msg[2048];
	int rc;
	struct hangar_error err = {0};
	struct seccomp_program *prog = NULL;
	uint32_t act;

	ok(oci_seccomp_action_from_name("SCMP_ACT_NOTIFY", &act) == 0 && act == SCMP_ACT_NOTIFY, "action names");
	ok(oci_seccomp_action_from_name("SCMP_ACT_MAYBE", &act) < 0, "unknown action name");
	ok(oci_seccomp_op_from_name("SCMP_CMP_MASKED_EQ") == SCMP_CMP_MASKED_EQ &&
	       oci_seccomp_op_from_name("SCMP_CMP_XX") < 0,
	   "compare names");

	rc = run_in_child(child_errno, NULL, msg, sizeof(msg));
	ok(rc == 0, "SCMP_ACT_ERRNO with errnoRet 42 / default EPERM blocks getppid and mkdir %s", msg);
	rc = run_in_child(child_arg_eq, NULL, msg, sizeof(msg));
	ok(rc == 0, "personality(0xffffffff) blocked, personality(0) allowed %s", msg);
	rc = run_in_child(child_arg_and, NULL, msg, sizeof(msg));
	ok(rc == 0, "conditions on two arguments are ANDed %s", msg);
	rc = run_in_child(child_arg_same_index, NULL, msg, sizeof(msg));
	ok(rc == 0, "two conditions on one argument are ORed like runc %s", msg);
	rc = run_in_child(child_masked_eq, NULL, msg, sizeof(msg));
	ok(rc == 0, "SCMP_CMP_MASKED_EQ: value is the mask, valueTwo the datum %s", msg);
	rc = run_in_child(child_default_errno, NULL, msg, sizeof(msg));
	ok(rc == 0, "default SCMP_ACT_ERRNO with defaultErrnoRet ENOSYS %s", msg);
	rc = run_in_child(child_kill_process, NULL, msg, sizeof(msg));
	ok(rc == 128 + SIGSYS, "SCMP_ACT_KILL_PROCESS kills with SIGSYS (rc %d) %s", rc, msg);
#if defined(__x86_64__)
	if (run_in_child(child_int80_probe, NULL, msg, sizeof(msg)) != 0) {
		skip("no IA32 emulation in this kernel: int 0x80 does not work");
	} else {
		rc = run_in_child(child_enosys_i386, NULL, msg, sizeof(msg));
		ok(rc == 0, "ENOSYS stub on the i386 compat ABI, older unlisted syscalls still EPERM %s",
		   msg);
	}
#endif
	rc = run_in_child(child_trap_log_trace, NULL, msg, sizeof(msg));
	ok(rc == 0,
	   "SCMP_ACT_TRAP raises SIGSYS, SCMP_ACT_LOG allows, SCMP_ACT_TRACE w/o tracer is ENOSYS %s", msg);
	{
		struct test_profile t;
		struct seccomp_program *bad = NULL;
		profile_init(&t, "SCMP_ACT_ALLOW");
		add_rule(&t, "getppid", "SCMP_ACT_KILL", 5);
		ok(seccomp_program_build(&t.s, &bad, &err) < 0 && strstr(err.msg, "errnoRet is only valid"),
		   "errnoRet with SCMP_ACT_KILL rejected (%s)", err.msg);
	}
	rc = run_in_child(child_no_nnp_no_admin, NULL, msg, sizeof(msg));
	ok(rc == 0, "no NNP, no CAP_SYS_ADMIN: load fails naming CAP_SYS_ADMIN, NNP untouched (%s)", msg);
	rc = run_in_child(child_flags, NULL, msg, sizeof(msg));
	ok(rc == 0, "flags TSYNC, LOG, SPEC_ALLOW accepted and filter active %s", msg);

	{
		struct test_profile t;
		profile_init(&t, "SCMP_ACT_ALLOW");
		add_rule(&t, "no_such_syscall_hangar", "SCMP_ACT_ERRNO", -1);
		add_rule(&t, "getppid", "SCMP_ACT_ERRNO", -1);
		add_rule(&t, "getpid", "SCMP_ACT_ALLOW", -1); /* same as default: skipped */
		rc = seccomp_program_build(&t.s, &prog, &err);
		ok(rc == 0 && seccomp_program_rule_count(prog) == 1,
		   "unknown syscall names and default-equal rules are skipped (%s)", rc ? err.msg : "");
		seccomp_program_free(prog);
		prog = NULL;

		profile_init(&t, "SCMP_ACT_ALLOW");
		add_rule(&t, "getppid", "SCMP_ACT_PAUSE", -1);
		ok(seccomp_program_build(&t.s, &prog, &err) < 0 &&
		       strstr(err.msg, "linux.seccomp.syscalls[0]") && strstr(err.msg, "SCMP_ACT_PAUSE"),
		   "unknown action: error names the rule (%s)", err.msg);

		profile_init(&t, "SCMP_ACT_ALLOW");
		t.flags[0] = "SECCOMP_FILTER_FLAG_FAST";
		t.s.n_flags = 1;
		ok(seccomp_program_build(&t.s, &prog, &err) < 0 &&
		       strstr(err.msg, "SECCOMP_FILTER_FLAG_FAST"),
		   "unknown flag rejected (%s)", err.msg);

		profile_init(&t, "SCMP_ACT_ALLOW");
		struct oci_seccomp_syscall *r = add_rule(&t, "personality", "SCMP_ACT_ERRNO", -1);
		add_arg(r, 6, 0, 0, "SCMP_CMP_EQ");
		ok(seccomp_program_build(&t.s, &prog, &err) < 0 && strstr(err.msg, "args[0]") &&
		       strstr(err.msg, "index 6"),
		   "argument index above 5 rejected (%s)", err.msg);

		profile_init(&t, "SCMP_ACT_ALLOW");
		static char *arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL};
		t.s.architectures = arches;
		t.s.n_architectures = 3;
		add_rule(&t, "getppid", "SCMP_ACT_ERRNO", -1);
		rc = seccomp_program_build(&t.s, &prog, &err);
		ok(rc == 0, "architectures x86_64, x86, x32 accepted (%s)", rc ? err.msg : "");
		seccomp_program_free(prog);
		prog = NULL;
		static char *bad_arch[] = {"X86_64", NULL};
		t.s.architectures = bad_arch;
		t.s.n_architectures = 1;
		ok(seccomp_program_build(&t.s, &prog, &err) < 0 && strstr(err.msg, "X86_64"),
		   "malformed architecture rejected (%s)", err.msg);

		profile_init(&t, "SCMP_ACT_NOTIFY");
		ok(seccomp_program_build(&t.s, &prog, &err) < 0 && strstr(err.msg, "defaultAction"),
		   "SCMP_ACT_NOTIFY as default action rejected (%s)", err.msg);

		profile_init(&t, "SCMP_ACT_ALLOW");
		add_rule(&t, "getppid", "SCMP_ACT_ERRNO", -1);
		t.flags[0] = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV";
		t.s.n_flags = 1;
		ok(seccomp_program_build(&t.s, &prog, &err) < 0 && strstr(err.msg, "SCMP_ACT_NOTIFY"),
		   "WAIT_KILLABLE_RECV without a notify rule rejected (%s)", err.msg);
	}

	test_notify(false);
	test_notify(true);

	ok(seccomp_send_listener("/nonexistent/hangar.sock", 0, "{\"pid\":1}", NULL, &err) < 0 &&
	       strstr(err.msg, "/nonexistent/hangar.sock"),
	   "listener connect failure names the path (%s)", err.msg);

	{
		struct oci_seccomp s;
		rc = seccomp_default_profile(NULL, &s, &err);
		size_t n_names = 0;
		bool has_mount = false, has_read = false;
		for (size_t i = 0; rc == 0 && i < s.n_syscalls; i++) {
			n_names += s.syscalls[i].n_names;
			for (size_t j = 0; j < s.syscalls[i].n_names; j++) {
				has_mount |= strcmp(s.syscalls[i].names[j], "mount") == 0;
				has_read |= strcmp(s.syscalls[i].names[j], "read") == 0;
			}
		}
		ok(rc == 0 && n_names > 330 && has_read && !has_mount && s.has_default_errno_ret &&
		       s.default_errno_ret == EPERM && s.n_architectures == 3,
		   "default profile: %zu names, read allowed, mount not, EPERM default", n_names);
		seccomp_profile_clear(&s);
	}
	/* The manager embeds the default profile in a generated config.json:
	 * it must survive the config writer and parser and still build. */
	{
		struct oci_config *cfg = NULL, *back = NULL;
		struct seccomp_program *dp = NULL;
		int r = oci_config_default(false, &cfg, &err);
		if (r == 0) {
			r = seccomp_default_profile(&cfg->process.caps, &cfg->linux_.seccomp, &err);
			cfg->has_linux = true;
		}
		_cleanup_free_ char *json = r == 0 ? oci_config_to_json(cfg) : NULL;
		if (r == 0)
			r = oci_config_parse(json, &back, &err);
		if (r == 0)
			r = seccomp_program_build(&back->linux_.seccomp, &dp, &err);
		ok(r == 0 && back->linux_.seccomp.n_syscalls == cfg->linux_.seccomp.n_syscalls &&
		       seccomp_program_rule_count(dp) > 300,
		   "default profile survives config.json write + parse and builds (%s)", r ? err.msg : "");
		seccomp_program_free(dp);
		oci_config_free(back);
		oci_config_free(cfg);
	}

	int stub_from = 0;
	{
		struct oci_seccomp s;
		struct seccomp_program *dp = NULL;
		if (seccomp_default_profile(NULL, &s, &err) == 0 && seccomp_program_build(&s, &dp, &err) == 0)
			stub_from = seccomp_program_enosys_from(dp, 0);
		ok(stub_from > SYS_futex_waitv, "default profile: ENOSYS stub from syscall %d on", stub_from);
		seccomp_program_free(dp);
		seccomp_profile_clear(&s);

		struct test_profile t;
		profile_init(&t, "SCMP_ACT_ALLOW");
		add_rule(&t, "getppid", "SCMP_ACT_ERRNO", -1);
		ok(seccomp_program_build(&t.s, &dp, &err) == 0 && seccomp_program_enosys_from(dp, 0) == 0,
		   "no ENOSYS stub for allow-by-default filters");
		seccomp_program_free(dp);
	}
	rc = run_in_child(child_default_profile, &stub_from, msg, sizeof(msg));
	ok(rc == 0, "default profile blocks keyctl/unshare/mount/vsock, allows fork+exec+files %s", msg);
	rc = run_in_child(child_default_profile_ptrace, NULL, msg, sizeof(msg));
	ok(rc == 0, "default profile with CAP_SYS_PTRACE loads and allows kcmp %s", msg);
	rc = run_in_child(child_default_profile_sys_admin, NULL, msg, sizeof(msg));
	ok(rc == 0, "default profile with CAP_SYS_ADMIN allows unshare, still blocks keyctl %s", msg);
	return tap_done();
}
