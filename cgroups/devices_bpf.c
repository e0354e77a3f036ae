/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroup v2 device access control: v2 has no devices.allow/deny files, the
 * kernel instead runs BPF_PROG_TYPE_CGROUP_DEVICE programs attached to the
 * cgroup.  We assemble one from linux.resources.devices with runc's
 * devicefilter semantics: rules are checked from the last to the first, the
 * first matching rule decides, and no match means deny.
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
	return (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
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

static int rule_access_bits(const char *access, int32_t *bits)
{
	*bits = 0;
	for (const char *c = access && *access ? access : "rwm"; *c; c++)
		switch (*c) {
		case 'r':
			*bits |= BPF_DEVCG_ACC_READ;
			break;
		case 'w':
			*bits |= BPF_DEVCG_ACC_WRITE;
			break;
		case 'm':
			*bits |= BPF_DEVCG_ACC_MKNOD;
			break;
		default:
			return -1;
		}
	return 0;
}

/* One rule: a block of guards that jump past the block on mismatch,
 * then "return allow".  Registers (set up by the prologue):
 * R2 = device type, R3 = requested access, R4 = major, R5 = minor.
 * Returns 1 when the rule has no guards: it decides every access, and the
 * verifier rejects the unreachable code that would follow it. */
static int emit_rule(struct prog *p, const struct oci_device_cgroup *d, size_t idx, struct hangar_error *err)
{
	int32_t type = 0, access;
	switch (d->type ? d->type : 'a') {
	case 'a':
		break;
	case 'c':
		type = BPF_DEVCG_DEV_CHAR;
		break;
	case 'b':
		type = BPF_DEVCG_DEV_BLOCK;
		break;
	default:
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "[%zu]: invalid device type '%c'", idx, d->type);
	}
	if (rule_access_bits(d->access, &access) < 0)
		return hangar_error_set(err, HANGAR_E_CONFIG, 0, "[%zu]: invalid access '%s'", idx, d->access);
	bool all_access = access == (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD);
	bool has_major = d->has_major && d->major >= 0, has_minor = d->has_minor && d->minor >= 0;
	/* Guards in order, each jumping over the rest of the block. */
	int16_t guards = (int16_t)((type ? 1 : 0) + (all_access ? 0 : 3) + (has_major ? 1 : 0) + (has_minor ? 1 : 0));
	int16_t left = guards + 2; /* + mov r0 + exit */
	if (type) {
		left--;
		emit(p, JNE_IMM(BPF_REG_2, type, left));
	}
	if (!all_access) {
		/* Allowed only when every requested bit is in the rule. */
		left -= 3;
		emit(p, MOV32_REG(BPF_REG_1, BPF_REG_3));
		emit(p, ALU32_IMM(BPF_AND, BPF_REG_1, access));
		emit(p, JNE_REG(BPF_REG_1, BPF_REG_3, left));
	}
	if (has_major) {
		left--;
		emit(p, JNE_IMM(BPF_REG_4, (int32_t)d->major, left));
	}
	if (has_minor) {
		left--;
		emit(p, JNE_IMM(BPF_REG_5, (int32_t)d->minor, left));
	}
	emit(p, ALU32_IMM(BPF_MOV, BPF_REG_0, d->allow ? 1 : 0));
	emit(p, EXIT());
	return guards == 0 ? 1 : 0;
}

static int build_program(const struct oci_device_cgroup *rules, size_t n, struct prog *p, struct hangar_error *err)
{
	/* struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major; u32 minor; } */
	emit(p, LDX_W(BPF_REG_2, BPF_REG_1, 0));
	emit(p, ALU32_IMM(BPF_AND, BPF_REG_2, 0xFFFF));
	emit(p, LDX_W(BPF_REG_3, BPF_REG_1, 0));
	emit(p, ALU32_IMM(BPF_RSH, BPF_REG_3, 16));
	emit(p, LDX_W(BPF_REG_4, BPF_REG_1, 4));
	emit(p, LDX_W(BPF_REG_5, BPF_REG_1, 8));
	for (size_t i = n; i-- > 0;) {
		int r = emit_rule(p, &rules[i], i, err);
		if (r < 0)
			return -1;
		if (r == 1)
			return 0;
	}
	emit(p, ALU32_IMM(BPF_MOV, BPF_REG_0, 0));
	emit(p, EXIT());
	return 0;
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
		return hangar_error_set(err, HANGAR_E_SYS, saved, "load device filter program%s%s", *reason ? ": " : "",
					reason);
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

int cgroup_bpf_devices_apply(const char *dir, const struct oci_device_cgroup *rules, size_t n,
			     struct hangar_error *err)
{
	struct prog p = { 0 };
	if (build_program(rules, n, &p, err) < 0) {
		free(p.insns);
		return -1;
	}
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
			return hangar_sys_error(err, "detach old device filter (id %u) from %s", old_ids[i], dir);
	}
	return 0;
}
