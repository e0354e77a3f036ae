/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroup v2 device access control: v2 has no devices.allow/deny files, the
 * kernel instead runs BPF_PROG_TYPE_CGROUP_DEVICE programs attached to the
 * cgroup.  We assemble one from the normalized policy of
 * cgroups/devices_rules.c (as runc's devicefilter does from its emulator):
 * one block per exception, then the default verdict.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/util.h"

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

#define LDX_W(dst, src, off) insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU32_IMM(op, dst, imm) insn(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV32_REG(dst, src) insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define JNE_IMM(dst, imm, off) insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm)
#define JNE_REG(dst, src, off) insn(BPF_JMP | BPF_JNE | BPF_X, dst, src, off, 0)
#define EXIT() insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

struct prog {
	struct bpf_insn *insns;
	size_t n, cap;
};

static void emit(struct prog *p, struct bpf_insn i)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		struct bpf_insn *grown = realloc(p->insns, p->cap * sizeof(*grown));
		if (grown == NULL)
			abort();
		p->insns = grown;
	}
	p->insns[p->n++] = i;
}

/* One exception: guards that jump past the block on mismatch, then return
 * the exception's verdict.  Registers (set up by the prologue):
 * R2 = device type, R3 = requested access, R4 = major, R5 = minor. */
static void emit_exception(struct prog *p, const struct cgroup_device_exception *e, bool allow)
{
	int32_t type = e->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
	int32_t access = (int32_t)e->access;
	bool all_access = e->access == (CGROUP_DEV_READ | CGROUP_DEV_WRITE | CGROUP_DEV_MKNOD);
	bool has_major = e->major >= 0, has_minor = e->minor >= 0;
	int16_t guards = (int16_t)(1 + (all_access ? 0 : 3) + (has_major ? 1 : 0) + (has_minor ? 1 : 0));
	int16_t left = guards + 2; /* instructions after the current one: guards + mov r0 + exit */
	left--;
	emit(p, JNE_IMM(BPF_REG_2, type, left));
	if (!all_access) {
		/* Matches only when every requested bit is in the exception. */
		left -= 3;
		emit(p, MOV32_REG(BPF_REG_1, BPF_REG_3));
		emit(p, ALU32_IMM(BPF_AND, BPF_REG_1, access));
		emit(p, JNE_REG(BPF_REG_1, BPF_REG_3, left));
	}
	if (has_major) {
		left--;
		emit(p, JNE_IMM(BPF_REG_4, (int32_t)e->major, left));
	}
	if (has_minor) {
		left--;
		emit(p, JNE_IMM(BPF_REG_5, (int32_t)e->minor, left));
	}
	emit(p, ALU32_IMM(BPF_MOV, BPF_REG_0, allow ? 1 : 0));
	emit(p, EXIT());
}

static void build_program(const struct cgroup_device_policy *policy, struct prog *p)
{
	/* struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major; u32 minor; } */
	emit(p, LDX_W(BPF_REG_2, BPF_REG_1, 0));
	emit(p, ALU32_IMM(BPF_AND, BPF_REG_2, 0xFFFF));
	emit(p, LDX_W(BPF_REG_3, BPF_REG_1, 0));
	emit(p, ALU32_IMM(BPF_RSH, BPF_REG_3, 16));
	emit(p, LDX_W(BPF_REG_4, BPF_REG_1, 4));
	emit(p, LDX_W(BPF_REG_5, BPF_REG_1, 8));
	/* Every exception has the same verdict, so their order is irrelevant. */
	for (size_t i = 0; i < policy->n; i++)
		emit_exception(p, &policy->ex[i], !policy->default_allow);
	emit(p, ALU32_IMM(BPF_MOV, BPF_REG_0, policy->default_allow ? 1 : 0));
	emit(p, EXIT());
}

static int load_program(const struct prog *p, struct hangar_error *err)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)p->insns;
	attr.insn_cnt = (uint32_t)p->n;
	attr.license = (uint64_t)(uintptr_t) "GPL";
	int fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0) {
		int saved = errno;
		/* The kernel wants no log buffer with log_level 0; load again
		 * with a log only to explain the failure. */
		size_t log_size = 1 << 16;
		_cleanup_free_ char *log = xmalloc0(log_size);
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = (uint32_t)log_size;
		attr.log_level = 1;
		int again = sys_bpf(BPF_PROG_LOAD, &attr);
		if (again >= 0)
			close(again);
		/* The verifier's complaint is the line before its statistics. */
		char *stats = strstr(log, "\nprocessed ");
		char *reason = log;
		if (stats) {
			*stats = '\0';
			char *nl = strrchr(log, '\n');
			reason = nl ? nl + 1 : log;
		} else {
			log[strcspn(log, "\n")] = '\0';
		}
		return hangar_error_set(err, HANGAR_E_SYS, saved, "load device filter program%s%s",
					*reason ? ": " : "", reason);
	}
	/* bpf() fds are close-on-exec by default (kernel >= 4.x). */
	return fd;
}

/* Ids of the device programs attached to the cgroup before ours. */
static int query_attached(int cgfd, uint32_t *ids, uint32_t *n, struct hangar_error *err)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t)cgfd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = *n;
	if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
		return hangar_sys_error(err, "query device programs");
	*n = attr.query.prog_cnt;
	return 0;
}

static int attach_program(const char *dir, const struct cgroup_device_policy *policy,
			  struct hangar_error *err)
{
	struct prog p = {0};
	build_program(policy, &p);
	_cleanup_close_ int prog_fd = load_program(&p, err);
	free(p.insns);
	if (prog_fd < 0)
		return -1;
	/* BPF attach needs a real (not O_PATH) directory fd. */
	_cleanup_close_ int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return hangar_sys_error(err, "open %s", dir);
	uint32_t old_ids[64], n_old = ARRAY_SIZE(old_ids);
	if (query_attached(cgfd, old_ids, &n_old, err) < 0)
		return -1;
	if (n_old > ARRAY_SIZE(old_ids))
		n_old = ARRAY_SIZE(old_ids);

	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgfd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
		return hangar_sys_error(err, "attach device filter to %s", dir);

	/* Replace, do not stack: with several programs every one must allow,
	 * so an update that widens access would have no effect.  The new one is
	 * attached first so there is no window without a filter. */
	for (uint32_t i = 0; i < n_old; i++) {
		union bpf_attr get;
		memset(&get, 0, sizeof(get));
		get.prog_id = old_ids[i];
		_cleanup_close_ int old_fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &get);
		if (old_fd < 0)
			continue; /* already gone */
		memset(&attr, 0, sizeof(attr));
		attr.target_fd = (uint32_t)cgfd;
		attr.attach_bpf_fd = (uint32_t)old_fd;
		attr.attach_type = BPF_CGROUP_DEVICE;
		if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
			return hangar_sys_error(err, "detach old device filter (id %u) from %s", old_ids[i],
						dir);
	}
	return 0;
}

int cgroup_bpf_devices_apply(const char *dir, const struct oci_device_cgroup *rules, size_t n,
			     struct hangar_error *err)
{
	struct cgroup_device_policy policy;
	if (cgroup_device_policy_build(rules, n, &policy, err) < 0)
		return -1;
	int ret = attach_program(dir, &policy, err);
	cgroup_device_policy_clear(&policy);
	return ret < 0 ? hangar_error_prefix(err, "linux.resources.devices") : 0;
}
