/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Undo log for `update`: every file cgroup_write changes while a journal is
 * active has its previous contents recorded first, and a refused update
 * writes them back in reverse order.  So a combined update that the kernel
 * (or the memory check) refuses half-way leaves the cgroup exactly as it
 * was, instead of keeping the cpu/cpuset/io values written before the
 * refused part.  Reverse order also undoes interdependent pairs (v1
 * memory.limit_in_bytes <= memory.memsw.limit_in_bytes, cpu period/quota)
 * in an order the kernel accepts, since the forward order was accepted.
 */
#include <stdlib.h>
#include <string.h>

#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/util.h"

struct cgroup_journal_entry {
	char *dir, *file, *old;
	char *key; /* first word of the value written to a per-key file ("8:0"), else NULL */
};

/* One update at a time per thread: cgroup_write has no manager argument,
 * and threading one through every writer would touch each setter. */
static __thread struct cgroup_journal *active;

/* Files whose read form cannot be written back, or that are actions rather
 * than settings. */
static bool not_journaled(const char *file)
{
	return str_has_prefix(file, "cgroup.") || strcmp(file, "memory.reclaim") == 0 ||
	       strcmp(file, "memory.force_empty") == 0;
}

/* Files holding one line per key ("MAJ:MIN value", "dev value"): restored
 * line by line, and a key that had no line gets its "unset" value. */
static const char *keyed_reset(const char *file)
{
	if (strcmp(file, "io.max") == 0)
		return "rbps=max wbps=max riops=max wiops=max";
	if (strcmp(file, "rdma.max") == 0)
		return "hca_handle=max hca_object=max";
	if (strcmp(file, "io.weight") == 0 || strcmp(file, "io.bfq.weight") == 0)
		return "default";
	if (str_has_prefix(file, "blkio.throttle.") || strstr(file, "weight_device"))
		return "0";
	if (strcmp(file, "net_prio.ifpriomap") == 0)
		return "0";
	return NULL;
}

void cgroup_journal_begin(struct cgroup_journal *j)
{
	memset(j, 0, sizeof(*j));
	active = j;
}

void cgroup_journal_end(void)
{
	active = NULL;
}

void cgroup_journal_record(const char *dir, const char *file, const char *value)
{
	struct cgroup_journal *j = active;
	if (j == NULL || not_journaled(file))
		return;
	_cleanup_free_ char *old = NULL;
	struct hangar_error ignored;
	if (cgroup_read(dir, file, &old, &ignored) < 0)
		return;
	if (strcmp(file, "memory.oom_control") == 0) {
		/* Reads "oom_kill_disable N\nunder_oom ..."; takes "N". */
		uint64_t v = 0;
		cgroup_keyed_u64(old, "oom_kill_disable", &v);
		free(old);
		old = xasprintf("%u", (unsigned)v);
	}
	if (j->n == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 16;
		struct cgroup_journal_entry *grown = realloc(j->e, j->cap * sizeof(*grown));
		if (grown == NULL)
			abort();
		j->e = grown;
	}
	struct cgroup_journal_entry *e = &j->e[j->n++];
	e->dir = xstrdup(dir);
	e->file = xstrdup(file);
	e->old = steal_pointer(&old);
	e->key = NULL;
	if (keyed_reset(file)) {
		e->key = strndup(value, strcspn(value, " \t\n"));
		if (e->key == NULL)
			abort();
	}
}

static bool has_key_line(const char *text, const char *key)
{
	size_t len = strlen(key);
	for (const char *line = text; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, key, len) == 0 && (line[len] == ' ' || line[len] == '\t'))
			return true;
	return false;
}

static void restore(const struct cgroup_journal_entry *e)
{
	struct hangar_error ignored;
	if (e->key == NULL) {
		cgroup_write(e->dir, e->file, e->old, NULL, &ignored);
		return;
	}
	if (!has_key_line(e->old, e->key)) {
		_cleanup_free_ char *v = xasprintf("%s %s", e->key, keyed_reset(e->file));
		cgroup_write(e->dir, e->file, v, NULL, &ignored);
	}
	/* Each line is a valid write on its own; lines of other keys are
	 * unchanged values and rewriting them is harmless. */
	_cleanup_free_ char *copy = xstrdup(e->old);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (*line)
			cgroup_write(e->dir, e->file, line, NULL, &ignored);
}

void cgroup_journal_rollback(struct cgroup_journal *j)
{
	for (size_t i = j->n; i-- > 0;)
		restore(&j->e[i]);
}

void cgroup_journal_free(struct cgroup_journal *j)
{
	for (size_t i = 0; i < j->n; i++) {
		free(j->e[i].dir);
		free(j->e[i].file);
		free(j->e[i].old);
		free(j->e[i].key);
	}
	free(j->e);
	memset(j, 0, sizeof(*j));
}
