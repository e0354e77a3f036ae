/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "runtime/seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdpass.h"
#include "common/util.h"

/* Kernel ABI values, for the raw-load fallback when libseccomp predates a
 * filter flag. */
#ifndef SECCOMP_SET_MODE_FILTER
#define SECCOMP_SET_MODE_FILTER 1
#endif
#define HANGAR_SECCOMP_FILTER_FLAG_TSYNC (1UL << 0)
#define HANGAR_SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#define HANGAR_SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#define HANGAR_SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#define HANGAR_SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#define HANGAR_SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)

struct seccomp_program {
	scmp_filter_ctx ctx;
	bool uses_notify;
	size_t n_rules;
	/* Per architecture in the filter: the first syscall number answered
	 * with ENOSYS (see plan_enosys_stub). */
	struct {
		uint32_t arch;
		uint32_t first_new;
	} enosys[16];
	size_t n_enosys;
	/* Flags libseccomp cannot set: the program is exported as BPF and
	 * loaded with seccomp(2) directly. */
	unsigned long raw_flags;
};

/* The action as libseccomp wants it: ERRNO and TRACE carry their return
 * value (EPERM when the config gives none, like runc). */
static int resolve_action(const char *name, uint32_t fallback_num, bool has_ret, uint32_t ret,
			  const char *where, uint32_t *out, struct hangar_error *err)
{
	uint32_t base = fallback_num;

	if (name && oci_seccomp_action_from_name(name, &base) < 0)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s: unknown action '%s'", where, name);
	if (!has_ret)
		ret = EPERM;
	if (base == SCMP_ACT_ERRNO(0))
		base = SCMP_ACT_ERRNO(ret);
	else if (base == SCMP_ACT_TRACE(0))
		base = SCMP_ACT_TRACE(ret);
	else if (has_ret)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"%s: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
					where);
	*out = base;
	return 0;
}

static int add_architecture(scmp_filter_ctx ctx, const char *name, struct hangar_error *err)
{
	char lower[64];

	if (!str_has_prefix(name, "SCMP_ARCH_") || strlen(name) - 10 >= sizeof(lower))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"linux.seccomp.architectures: invalid architecture '%s'", name);
	size_t i = 0;
	for (const char *p = name + 10; *p; p++)
		lower[i++] = (char)tolower((unsigned char)*p);
	lower[i] = '\0';
	uint32_t arch = seccomp_arch_resolve_name(lower);
	/* An architecture this libseccomp cannot name cannot run on this host
	 * through it either; skip like an unknown syscall. */
	if (arch == 0)
		return 0;
	int r = seccomp_arch_add(ctx, arch);
	if (r < 0 && r != -EEXIST)
		return hangar_error_set(err, HANGAR_E_SYS, -r, "seccomp: add architecture %s", name);
	return 0;
}

static int set_filter_flag(struct seccomp_program *prog, const char *flag, struct hangar_error *err)
{
	enum scmp_filter_attr attr;
	unsigned api = seccomp_api_get();
	unsigned need_api;

	if (strcmp(flag, "SECCOMP_FILTER_FLAG_TSYNC") == 0) {
		attr = SCMP_FLTATR_CTL_TSYNC;
		need_api = 2;
	} else if (strcmp(flag, "SECCOMP_FILTER_FLAG_LOG") == 0) {
		attr = SCMP_FLTATR_CTL_LOG;
		need_api = 3;
	} else if (strcmp(flag, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0) {
		attr = SCMP_FLTATR_CTL_SSB;
		need_api = 4;
	} else if (strcmp(flag, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0) {
#ifdef SCMP_FLTATR_CTL_WAITKILL
		attr = SCMP_FLTATR_CTL_WAITKILL;
		need_api = 7;
#else
		/* libseccomp < 2.6: load the exported BPF ourselves. */
		prog->raw_flags |= HANGAR_SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
		return 0;
#endif
	} else {
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "linux.seccomp.flags: unknown flag '%s'",
					flag);
	}
	if (api < need_api)
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"linux.seccomp.flags: %s is not supported by this kernel/libseccomp "
					"(API level %u, need %u)",
					flag, api, need_api);
	int r = seccomp_attr_set(prog->ctx, attr, 1);
	if (r < 0)
		return hangar_error_set(err, r == -EOPNOTSUPP ? HANGAR_E_UNSUPPORTED : HANGAR_E_SYS, -r,
					"linux.seccomp.flags: set %s", flag);
	return 0;
}

static int build_condition(const struct oci_seccomp_arg *a, const char *where, struct scmp_arg_cmp *out,
			   struct hangar_error *err)
{
	int op = a->op ? oci_seccomp_op_from_name(a->op) : a->op_num;

	if (op <= 0)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s: unknown operator '%s'", where,
					a->op ? a->op : "(none)");
	if (a->index > 5)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s: index %u is above 5", where, a->index);
	/* For SCMP_CMP_MASKED_EQ the spec's value is the mask and valueTwo the
	 * datum, which is libseccomp's (datum_a, datum_b) order. */
	out->arg = a->index;
	out->op = (enum scmp_compare)op;
	out->datum_a = a->value;
	out->datum_b = a->value_two;
	return 0;
}

static int add_rule_entry(struct seccomp_program *prog, const struct oci_seccomp_syscall *sc, size_t idx,
			  uint32_t default_action, struct hangar_error *err)
{
	char where[96];
	uint32_t action;
	struct scmp_arg_cmp conds[64];
	bool same_index_twice = false;
	unsigned per_index[6] = {0};

	snprintf(where, sizeof(where), "linux.seccomp.syscalls[%zu]", idx);
	if (resolve_action(sc->action, sc->action_num, sc->has_errno_ret, sc->errno_ret, where, &action,
			   err) < 0)
		return -1;
	if (sc->n_args > ARRAY_SIZE(conds))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "%s: too many args (%zu)", where,
					sc->n_args);
	for (size_t i = 0; i < sc->n_args; i++) {
		char arg_where[128];
		snprintf(arg_where, sizeof(arg_where), "%s.args[%zu]", where, i);
		if (build_condition(&sc->args[i], arg_where, &conds[i], err) < 0)
			return -1;
		if (++per_index[sc->args[i].index] > 1)
			same_index_twice = true;
	}
	/* libseccomp rejects an action equal to the default; such a rule
	 * changes nothing anyway. */
	if (action == default_action)
		return 0;

	for (size_t n = 0; n < sc->n_names; n++) {
		const char *name = sc->names[n];
		int nr = seccomp_syscall_resolve_name(name);
		int r;

		if (nr == __NR_SCMP_ERROR)
			continue; /* unknown to this libseccomp: skipped like runc/crun */
		if (sc->n_args == 0 || !same_index_twice) {
			/* Several conditions on different arguments: one rule,
			 * all must match (AND). */
			r = seccomp_rule_add_array(prog->ctx, action, nr, (unsigned)sc->n_args,
						   sc->n_args ? conds : NULL);
		} else {
			/* Two conditions on the same argument can never both hold
			 * as an AND of equalities; runc and crun add one rule per
			 * condition (OR), and so do we. */
			r = 0;
			for (size_t i = 0; i < sc->n_args && r >= 0; i++)
				r = seccomp_rule_add_array(prog->ctx, action, nr, 1, &conds[i]);
		}
		if (r < 0)
			return hangar_error_set(err, HANGAR_E_CONFIG, -r, "%s: add rule for syscall %s",
						where, name);
		prog->n_rules++;
		if (action == SCMP_ACT_NOTIFY)
			prog->uses_notify = true;
	}
	return 0;
}

/*
 * Like runc's -ENOSYS stub: a syscall newer than every syscall the profile
 * names was unknown to its author, and must fail with ENOSYS rather than the
 * default errno so that libc falls back to the older call (clone3 -> clone,
 * fchmodat2 -> fchmodat, ...).  Syscalls the profile knew of keep the
 * default action.  Only for deny-by-default filters on the native
 * architecture; the check is prepended to the BPF at load time because
 * libseccomp cannot add rules for syscalls it does not know itself.
 */
/* Architectures the stub can cover.  x32 is left out: its syscalls arrive
 * as x86_64 with bit 30 set, and the x86_64 block skips that range. */
static const uint32_t stub_arches[] = {
    SCMP_ARCH_X86_64,  SCMP_ARCH_X86,	  SCMP_ARCH_ARM,      SCMP_ARCH_AARCH64, SCMP_ARCH_PPC,
    SCMP_ARCH_PPC64,   SCMP_ARCH_PPC64LE, SCMP_ARCH_S390,     SCMP_ARCH_S390X,	 SCMP_ARCH_MIPS,
    SCMP_ARCH_MIPS64,  SCMP_ARCH_MIPSEL,  SCMP_ARCH_MIPSEL64,
#ifdef SCMP_ARCH_RISCV64
    SCMP_ARCH_RISCV64,
#endif
};

static void plan_enosys_stub(struct seccomp_program *prog, const struct oci_seccomp *s,
			     uint32_t default_action)
{
	/* The upper 16 bits are the action, the lower its data (errno). */
	if (default_action == SCMP_ACT_ALLOW || default_action == SCMP_ACT_LOG ||
	    default_action == SCMP_ACT_ERRNO(ENOSYS) || (default_action & 0xffff0000U) == SCMP_ACT_TRACE(0))
		return;
	for (size_t a = 0; a < ARRAY_SIZE(stub_arches) && prog->n_enosys < ARRAY_SIZE(prog->enosys); a++) {
		uint32_t arch = stub_arches[a];
		int newest = -1;

		if (seccomp_arch_exist(prog->ctx, arch) != 0)
			continue;
		for (size_t i = 0; i < s->n_syscalls; i++) {
			for (size_t n = 0; n < s->syscalls[i].n_names; n++) {
				/* negative: multiplexed pseudo-syscalls (socketcall) */
				int nr = seccomp_syscall_resolve_name_arch(arch, s->syscalls[i].names[n]);
				if (nr > newest)
					newest = nr;
			}
		}
		if (newest > 0) {
			prog->enosys[prog->n_enosys].arch = arch;
			prog->enosys[prog->n_enosys].first_new = (uint32_t)newest + 1;
			prog->n_enosys++;
		}
	}
}

/* if (arch == A && nr >= first_new [&& nr < x32 bit]) return ENOSYS; one
 * block per architecture.  out == NULL: only count.  Jumps are relative,
 * so the program appended after the stub is unaffected. */
static size_t build_enosys_stub(const struct seccomp_program *p, struct sock_filter *out)
{
	const uint32_t x32_bit = 0x40000000U;
	size_t n = 0;

	for (size_t e = 0; e < p->n_enosys; e++) {
		bool x86_64 = p->enosys[e].arch == SCMP_ARCH_X86_64;
		uint8_t len = x86_64 ? 6 : 5;
		if (out) {
			struct sock_filter *b = out + n;
			b[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
							    offsetof(struct seccomp_data, arch));
			b[1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, p->enosys[e].arch, 0,
							    len - 2);
			b[2] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
							    offsetof(struct seccomp_data, nr));
			b[3] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, p->enosys[e].first_new,
							    0, len - 4);
			if (x86_64)
				b[4] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, x32_bit, 1, 0);
			b[len - 1] = (struct sock_filter)BPF_STMT(
			    BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
		}
		n += len;
	}
	return n;
}

int seccomp_program_build(const struct oci_seccomp *s, struct seccomp_program **out, struct hangar_error *err)
{
	uint32_t default_action;
	int r;

	if (resolve_action(s->default_action, s->default_action_num, s->has_default_errno_ret,
			   s->default_errno_ret, "linux.seccomp.defaultAction", &default_action, err) < 0)
		return -1;
	if (default_action == SCMP_ACT_NOTIFY)
		return hangar_error_set(
		    err, HANGAR_E_CONFIG, 0,
		    "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action "
		    "(the runtime itself could not execve the container process)");

	struct seccomp_program *prog = xmalloc0(sizeof(*prog));
	prog->ctx = seccomp_init(default_action);
	if (prog->ctx == NULL) {
		free(prog);
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"seccomp: libseccomp rejected default action %s",
					s->default_action ? s->default_action : "(numeric)");
	}
	/* Report the kernel's errno, not libseccomp's generic -ECANCELED. */
	if (seccomp_api_get() >= 1)
		(void)seccomp_attr_set(prog->ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	/* no_new_privs is process.noNewPrivileges' decision, not the filter's. */
	r = seccomp_attr_set(prog->ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0) {
		hangar_error_set(err, HANGAR_E_SYS, -r, "seccomp: clear the NNP filter attribute");
		goto fail;
	}
	/* A binary tree keeps the ~350-rule default profile cheap per syscall. */
	(void)seccomp_attr_set(prog->ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

	for (size_t i = 0; i < s->n_architectures; i++)
		if (add_architecture(prog->ctx, s->architectures[i], err) < 0)
			goto fail;
	for (size_t i = 0; i < s->n_flags; i++)
		if (set_filter_flag(prog, s->flags[i], err) < 0)
			goto fail;
	for (size_t i = 0; i < s->n_syscalls; i++)
		if (add_rule_entry(prog, &s->syscalls[i], i, default_action, err) < 0)
			goto fail;
	plan_enosys_stub(prog, s, default_action);

	if ((prog->raw_flags & HANGAR_SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) && !prog->uses_notify) {
		hangar_error_set(err, HANGAR_E_CONFIG, 0,
				 "linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a rule "
				 "with SCMP_ACT_NOTIFY");
		goto fail;
	}
	*out = prog;
	return 0;
fail:
	seccomp_program_free(prog);
	return -1;
}

bool seccomp_program_uses_notify(const struct seccomp_program *p)
{
	return p && p->uses_notify;
}

int seccomp_program_enosys_from(const struct seccomp_program *p, uint32_t arch)
{
	if (arch == 0)
		arch = seccomp_arch_native();
	for (size_t e = 0; p && e < p->n_enosys; e++)
		if (p->enosys[e].arch == arch)
			return (int)p->enosys[e].first_new;
	return 0;
}

size_t seccomp_program_rule_count(const struct seccomp_program *p)
{
	return p ? p->n_rules : 0;
}

void seccomp_program_free(struct seccomp_program *p)
{
	if (p == NULL)
		return;
	if (p->ctx)
		seccomp_release(p->ctx);
	free(p);
}

int seccomp_program_export_bpf(const struct seccomp_program *p, int fd, struct hangar_error *err)
{
	int r = seccomp_export_bpf(p->ctx, fd);
	if (r < 0)
		return hangar_error_set(err, HANGAR_E_SYS, -r, "seccomp: export BPF");
	return 0;
}

static int attr_enabled(scmp_filter_ctx ctx, enum scmp_filter_attr attr)
{
	uint32_t v = 0;
	return seccomp_attr_get(ctx, attr, &v) == 0 && v != 0;
}

/* seccomp(2) with the BPF program exported by libseccomp: for the ENOSYS
 * stub and for filter flags this libseccomp cannot express. */
static int load_raw(struct seccomp_program *p, int *notify_fd_out, struct hangar_error *err)
{
	_cleanup_close_ int memfd = memfd_create("hangar-seccomp-bpf", MFD_CLOEXEC);
	struct stat st;
	unsigned long flags = p->raw_flags;

	if (memfd < 0)
		return hangar_sys_error(err, "seccomp: memfd_create");
	if (seccomp_program_export_bpf(p, memfd, err) < 0)
		return -1;
	if (fstat(memfd, &st) < 0)
		return hangar_sys_error(err, "seccomp: stat exported BPF");
	if (st.st_size == 0 || st.st_size % (off_t)sizeof(struct sock_filter) != 0)
		return hangar_error_set(err, HANGAR_E_SYS, 0, "seccomp: exported BPF has odd size %lld",
					(long long)st.st_size);
	size_t n_exported = (size_t)st.st_size / sizeof(struct sock_filter);
	size_t n_stub = build_enosys_stub(p, NULL);
	if (n_exported + n_stub > BPF_MAXINSNS)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"seccomp: filter too long (%zu instructions)", n_exported + n_stub);
	_cleanup_free_ struct sock_filter *insns =
	    xmalloc0((n_exported + n_stub) * sizeof(struct sock_filter));
	if (pread(memfd, insns + n_stub, (size_t)st.st_size, 0) != st.st_size)
		return hangar_sys_error(err, "seccomp: read exported BPF");
	build_enosys_stub(p, insns);
	struct sock_fprog fprog = {.len = (unsigned short)(n_exported + n_stub), .filter = insns};

	if (attr_enabled(p->ctx, SCMP_FLTATR_CTL_TSYNC))
		flags |= HANGAR_SECCOMP_FILTER_FLAG_TSYNC;
	if (attr_enabled(p->ctx, SCMP_FLTATR_CTL_LOG))
		flags |= HANGAR_SECCOMP_FILTER_FLAG_LOG;
	if (attr_enabled(p->ctx, SCMP_FLTATR_CTL_SSB))
		flags |= HANGAR_SECCOMP_FILTER_FLAG_SPEC_ALLOW;
	if (p->uses_notify)
		flags |= HANGAR_SECCOMP_FILTER_FLAG_NEW_LISTENER;
	/* With TSYNC and a listener, a TSYNC failure must not be mistaken for
	 * the listener fd number. */
	if ((flags & HANGAR_SECCOMP_FILTER_FLAG_TSYNC) && (flags & HANGAR_SECCOMP_FILTER_FLAG_NEW_LISTENER))
		flags |= HANGAR_SECCOMP_FILTER_FLAG_TSYNC_ESRCH;

	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
	if (r < 0) {
		if (errno == EINVAL)
			return hangar_sys_error(
			    err, "seccomp: load filter with flags 0x%lx (kernel too old for one of them?)",
			    flags);
		if (errno == EACCES)
			return hangar_sys_error(
			    err, "seccomp: load filter (without no_new_privs this needs CAP_SYS_ADMIN)");
		return hangar_sys_error(err, "seccomp: load filter");
	}
	/* Without TSYNC_ESRCH a positive result is the thread TSYNC failed on. */
	if (!p->uses_notify && r > 0)
		return hangar_error_set(err, HANGAR_E_SYS, 0,
					"seccomp: thread %ld could not be synchronised (TSYNC)", r);
	*notify_fd_out = p->uses_notify ? (int)r : -1;
	return 0;
}

int seccomp_program_load(struct seccomp_program *p, int *notify_fd_out, struct hangar_error *err)
{
	*notify_fd_out = -1;
	if (p->raw_flags || p->n_enosys > 0)
		return load_raw(p, notify_fd_out, err);

	int r = seccomp_load(p->ctx);
	if (r < 0) {
		if (r == -EACCES)
			return hangar_error_set(
			    err, HANGAR_E_SYS, -r,
			    "seccomp: load filter (without no_new_privs this needs CAP_SYS_ADMIN; "
			    "load it before dropping capabilities)");
		return hangar_error_set(err, HANGAR_E_SYS, -r, "seccomp: load filter");
	}
	if (p->uses_notify) {
		int fd = seccomp_notify_fd(p->ctx);
		if (fd < 0)
			return hangar_error_set(err, HANGAR_E_SYS, -fd, "seccomp: get the notification fd");
		*notify_fd_out = fd;
	}
	return 0;
}

/* ---- listenerPath ---- */

static void cleanup_json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ __attribute__((cleanup(cleanup_json_putp)))

int seccomp_send_listener(const char *listener_path, int notify_fd, const char *container_state_json,
			  const char *metadata, struct hangar_error *err)
{
	_cleanup_json_ struct json_object *state = NULL;
	_cleanup_json_ struct json_object *msg = json_object_new_object();

	if (strlen(listener_path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
		return hangar_error_set(err, HANGAR_E_CONFIG, 0,
					"linux.seccomp.listenerPath %s: path too long", listener_path);

	state = json_tokener_parse(container_state_json ? container_state_json : "");
	if (state == NULL || !json_object_is_type(state, json_type_object))
		return hangar_error_set(err, HANGAR_E_STATE, 0,
					"seccomp listener: container state is not a JSON object");

	struct json_object *v = NULL;
	json_object_object_add(msg, "ociVersion",
			       json_object_new_string(json_object_object_get_ex(state, "ociVersion", &v)
							  ? json_object_get_string(v)
							  : "1.2.0"));
	struct json_object *fds = json_object_new_array();
	json_object_array_add(fds, json_object_new_string("seccompFd"));
	json_object_object_add(msg, "fds", fds);
	if (json_object_object_get_ex(state, "pid", &v))
		json_object_object_add(msg, "pid", json_object_new_int(json_object_get_int(v)));
	if (metadata)
		json_object_object_add(msg, "metadata", json_object_new_string(metadata));
	json_object_object_add(msg, "state", json_object_get(state));
	const char *payload =
	    json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(payload);

	_cleanup_close_ int sock = unix_stream_connect(listener_path);
	if (sock < 0)
		return hangar_sys_error(err, "seccomp listener: connect to %s", listener_path);
	ssize_t sent = fd_send(sock, notify_fd, payload, len);
	if (sent < 0)
		return hangar_sys_error(err, "seccomp listener: send to %s", listener_path);
	/* The fd went with the first byte; the rest of a long state follows. */
	while ((size_t)sent < len) {
		ssize_t n = send(sock, payload + sent, len - (size_t)sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hangar_sys_error(err, "seccomp listener: send to %s", listener_path);
		sent += n;
	}
	return 0;
}
