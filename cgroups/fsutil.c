/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cgroupfs file helpers shared by the v1 and v2 back-ends. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/util.h"

const char *cgroup_root(void)
{
	const char *env = getenv("HANGAR_CGROUP_ROOT");
	return env && *env ? env : "/sys/fs/cgroup";
}

int cgroup_read(const char *dir, const char *file, char **out, struct hangar_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, path, &text, NULL, err) < 0)
		return -1;
	size_t len = strlen(text);
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		text[--len] = '\0';
	*out = steal_pointer(&text);
	return 0;
}

int cgroup_parse_limit(const char *s, uint64_t *out)
{
	if (strcmp(s, "max") == 0) {
		*out = CGROUP_STAT_UNLIMITED;
		return 0;
	}
	return parse_u64(s, out);
}

int cgroup_read_u64(const char *dir, const char *file, uint64_t *out, struct hangar_error *err)
{
	_cleanup_free_ char *text = NULL;
	if (cgroup_read(dir, file, &text, err) < 0)
		return -1;
	if (cgroup_parse_limit(text, out) < 0)
		return hangar_error_set(err, HANGAR_E_SYS, 0, "%s/%s: unexpected content '%s'", dir, file,
					text);
	return 0;
}

int cgroup_write(const char *dir, const char *file, const char *s, const char *resource,
		 struct hangar_error *err)
{
	cgroup_journal_record(dir, file, s);
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	int saved;
	if (fd < 0) {
		saved = errno;
		if (resource)
			hangar_error_set(err, HANGAR_E_SYS, saved, "%s: open %s", resource, path);
		else
			hangar_error_set(err, HANGAR_E_SYS, saved, "open %s", path);
		errno = saved;
		return -1;
	}
	ssize_t r;
	do
		r = write(fd, s, strlen(s));
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		saved = errno;
		if (resource)
			hangar_error_set(err, HANGAR_E_SYS, saved, "%s: write %s to %s", resource, s, file);
		else
			hangar_error_set(err, HANGAR_E_SYS, saved, "write %s to %s", s, path);
		errno = saved;
		return -1;
	}
	return 0;
}

bool cgroup_file_exists(const char *dir, const char *file)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

int cgroup_check_hugepage_sizes(const struct oci_resources *r, struct hangar_error *err)
{
	for (size_t i = 0; r && i < r->n_hugepage_limits; i++) {
		const char *size = r->hugepage_limits[i].page_size;
		if (size == NULL || !oci_hugepage_size_valid(size))
			return hangar_error_set(
			    err, HANGAR_E_CONFIG, 0,
			    "linux.resources.hugepageLimits[%zu].pageSize: invalid page size "
			    "\"%s\" (want digits and KB, MB or GB, e.g. 2MB)",
			    i, size ? size : "");
	}
	return 0;
}

int cgroup_keyed_u64(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	for (const char *line = text; line && *line;) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			const char *v = line + klen + 1;
			char buf[32];
			size_t i = 0;
			while (v[i] && v[i] != '\n' && i < sizeof(buf) - 1) {
				buf[i] = v[i];
				i++;
			}
			buf[i] = '\0';
			return cgroup_parse_limit(buf, out);
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

int cgroup_parse_keyed(const char *text, struct cgroup_stat_kv **kv, size_t *n)
{
	size_t cap = 0;
	*kv = NULL;
	*n = 0;
	_cleanup_free_ char *copy = xstrdup(text);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		if (sp == NULL)
			continue;
		*sp = '\0';
		uint64_t v;
		if (cgroup_parse_limit(sp + 1, &v) < 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			struct cgroup_stat_kv *grown = realloc(*kv, cap * sizeof(**kv));
			if (grown == NULL)
				abort();
			*kv = grown;
		}
		(*kv)[*n].key = xstrdup(line);
		(*kv)[*n].value = v;
		(*n)++;
	}
	return 0;
}

static int parse_psi_line(const char *line, struct cgroup_psi_line *out)
{
	unsigned long long total;
	if (sscanf(line, "avg10=%lf avg60=%lf avg300=%lf total=%llu", &out->avg10, &out->avg60, &out->avg300,
		   &total) != 4)
		return -1;
	out->total = total;
	return 0;
}

int cgroup_parse_psi(const char *text, struct cgroup_psi *psi)
{
	memset(psi, 0, sizeof(*psi));
	for (const char *line = text; line && *line;) {
		if (str_has_prefix(line, "some ")) {
			if (parse_psi_line(line + 5, &psi->some) < 0)
				return -1;
			psi->present = true;
		} else if (str_has_prefix(line, "full ")) {
			if (parse_psi_line(line + 5, &psi->full) < 0)
				return -1;
			psi->has_full = true;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return psi->present ? 0 : -1;
}

/* One walk; -1 with errno on failure, after removing what it made.
 * *created counts the components from the first one this walk made down to
 * the leaf: a concurrent creator may fill in one of them (EEXIST) after we
 * made its parent, which is fine, since removal is rmdir-if-empty anyway. */
static int mkdir_walk(char *full, size_t base_len, int *created)
{
	*created = 0;
	for (char *s = full + base_len + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char saved = *s;
		*s = '\0';
		if (mkdir(full, 0755) == 0) {
			(*created)++;
		} else if (errno == EEXIST) {
			if (*created > 0)
				(*created)++;
		} else {
			int saved_errno = errno;
			/* Unwind: full now ends at the failed component. */
			for (int i = 0; i < *created; i++) {
				char *slash = strrchr(full, '/');
				*slash = '\0';
				if (rmdir(full) < 0)
					break;
			}
			*created = 0;
			errno = saved_errno;
			return -1;
		}
		*s = saved;
		if (saved == '\0')
			return 0;
	}
}

int cgroup_mkdir_path(const char *base, const char *path, int *created, struct hangar_error *err)
{
	/* Walk the components after base; count only the ones we made so that
	 * destroy removes exactly those.  Once one is made, every deeper one
	 * is ours too.  A shared parent ("hangar") can vanish between our
	 * EEXIST and the next mkdir when the last other container is destroyed
	 * at that moment: walk again. */
	for (int attempt = 0;; attempt++) {
		_cleanup_free_ char *full = xasprintf("%s%s", base, path);
		if (mkdir_walk(full, strlen(base), created) == 0)
			return 0;
		if (errno != ENOENT || attempt >= 5) {
			int saved_errno = errno;
			hangar_error_set(err, HANGAR_E_SYS, saved_errno, "mkdir %s", full);
			errno = saved_errno;
			return -1;
		}
	}
}

static int rmdir_tree(const char *dir, struct hangar_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		return hangar_sys_error(err, "open %s", dir);
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
		if (rmdir_tree(sub, err) < 0)
			return -1;
	}
	/* A cgroup that just became empty can briefly refuse rmdir with EBUSY
	 * while the last task finishes exiting. */
	for (unsigned step = 0, tries = 0;; tries++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || tries > 200)
			return hangar_sys_error(err, "rmdir %s", dir);
		cgroup_backoff_sleep(&step);
	}
}

int cgroup_rmdir_path(const char *dir, int created_depth, struct hangar_error *err)
{
	/* A leaf that existed before create is not ours to remove. */
	if (created_depth <= 0)
		return 0;
	if (rmdir_tree(dir, err) < 0)
		return -1;
	_cleanup_free_ char *p = xstrdup(dir);
	for (int i = 1; i < created_depth; i++) {
		char *slash = strrchr(p, '/');
		if (slash == NULL || slash == p)
			break;
		*slash = '\0';
		/* Shared parents (the default "hangar") may hold other
		 * containers: leave them when not empty. */
		if (rmdir(p) < 0 && errno != ENOENT)
			break;
	}
	return 0;
}

static int append_pid(pid_t **pids, size_t *n, size_t *cap, pid_t pid)
{
	for (size_t i = 0; i < *n; i++)
		if ((*pids)[i] == pid)
			return 0;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		pid_t *grown = realloc(*pids, *cap * sizeof(pid_t));
		if (grown == NULL)
			abort();
		*pids = grown;
	}
	(*pids)[(*n)++] = pid;
	return 0;
}

static int collect_pids_rec(const char *dir, pid_t **pids, size_t *n, size_t *cap, struct hangar_error *err)
{
	_cleanup_free_ char *text = NULL;
	if (cgroup_read(dir, "cgroup.procs", &text, err) < 0)
		return err->err_no == ENOENT ? 0 : -1;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int64_t v;
		if (parse_i64(line, &v) == 0 && v > 0)
			append_pid(pids, n, cap, (pid_t)v);
	}
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : hangar_sys_error(err, "open %s", dir);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
		if (collect_pids_rec(sub, pids, n, cap, err) < 0)
			return -1;
	}
	return 0;
}

int cgroup_collect_pids(const char *dir, pid_t **pids, size_t *n, struct hangar_error *err)
{
	size_t cap = *n;
	return collect_pids_rec(dir, pids, n, &cap, err);
}

int cgroup_check_unused(const char *dir, const char *path, struct hangar_error *err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	if (cgroup_collect_pids(dir, &pids, &n, err) < 0)
		return hangar_error_prefix(err, "linux.cgroupsPath: cgroup %s", path);
	if (n > 0)
		return hangar_error_set(err, HANGAR_E_STATE, 0,
					"linux.cgroupsPath: cgroup %s is not empty (%zu process%s in it or "
					"below, e.g. pid %d); a container needs a cgroup of its own",
					path, n, n == 1 ? "" : "es", (int)pids[0]);
	return 0;
}

unsigned cgroup_backoff_ms(unsigned step)
{
	/* 1, 2, 4, 8, 10, 10, ... ms */
	return step >= 4 ? 10 : 1u << step;
}

void cgroup_backoff_sleep(unsigned *step)
{
	long ms = cgroup_backoff_ms(*step);
	(*step)++;
	struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void cgroup_stats_scan_hugetlb(const char *dir, const char *usage_suffix, cgroup_hugetlb_fill_fn fill,
			       struct cgroup_stats *st)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (d == NULL)
		return;
	_cleanup_free_ char *pattern = xasprintf("hugetlb.%%15[^.].%s%%n", usage_suffix);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char size[16];
		int end = 0;
		if (sscanf(de->d_name, pattern, size, &end) != 1 || de->d_name[end] != '\0')
			continue;
		struct cgroup_hugetlb_stat *grown = realloc(st->hugetlb, (st->n_hugetlb + 1) * sizeof(*grown));
		if (grown == NULL)
			abort();
		st->hugetlb = grown;
		struct cgroup_hugetlb_stat *h = &st->hugetlb[st->n_hugetlb++];
		memset(h, 0, sizeof(*h));
		snprintf(h->page_size, sizeof(h->page_size), "%s", size);
		fill(dir, size, h);
	}
}
