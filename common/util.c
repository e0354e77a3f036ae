/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"

void *xmalloc0(size_t size)
{
	void *p = calloc(1, size ? size : 1);
	if (p == NULL)
		abort();
	return p;
}

char *xstrdup(const char *s)
{
	if (s == NULL)
		return NULL;
	char *p = strdup(s);
	if (p == NULL)
		abort();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	char *p = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		abort();
	return p;
}

void strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

char **strv_dup(char *const *v)
{
	size_t n = strv_len(v);
	char **r = xmalloc0((n + 1) * sizeof(char *));
	for (size_t i = 0; i < n; i++)
		r[i] = xstrdup(v[i]);
	return r;
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

ssize_t read_all(int fd, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t r = read(fd, (char *)buf + done, len - done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int wait_child_message(pid_t pid, int fd, char *msg, size_t len, int *status)
{
	ssize_t got = read_all(fd, msg, len - 1);
	close(fd);
	msg[got > 0 ? got : 0] = '\0';
	char *nl = strchr(msg, '\n');
	if (nl)
		*nl = '\0';
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

ssize_t write_all(int fd, const void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t r = write(fd, (const char *)buf + done, len - done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int read_fd_all(int fd, const char *what, char **out, size_t *len, struct hangar_error *err)
{
	size_t cap = 4096, used = 0;
	_cleanup_free_ char *buf = xmalloc0(cap);
	for (;;) {
		if (used + 1 >= cap) {
			cap *= 2;
			char *n = realloc(buf, cap);
			if (n == NULL)
				abort();
			buf = n;
		}
		ssize_t r = read(fd, buf + used, cap - used - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return hangar_sys_error(err, "read %s", what);
		}
		if (r == 0)
			break;
		used += (size_t)r;
	}
	buf[used] = '\0';
	if (len)
		*len = used;
	*out = steal_pointer(&buf);
	return 0;
}

int read_file_at(int dirfd, const char *path, char **out, size_t *len, struct hangar_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hangar_sys_error(err, "open %s", path);
	return read_fd_all(fd, path, out, len, err);
}

int write_file_at(int dirfd, const char *path, const void *data, size_t len, int flags, mode_t mode,
		  struct hangar_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | flags, mode);
	if (fd < 0)
		return hangar_sys_error(err, "open %s", path);
	if (write_all(fd, data, len) < 0)
		return hangar_sys_error(err, "write %s", path);
	return 0;
}

int write_string_at(int dirfd, const char *path, const char *s, struct hangar_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hangar_sys_error(err, "open %s", path);
	size_t len = strlen(s);
	ssize_t r;
	do
		r = write(fd, s, len);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return hangar_sys_error(err, "write '%s' to %s", s, path);
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct hangar_error *err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return hangar_sys_error(err, "create %s", tmp);
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int saved = errno;
		unlink(tmp);
		return hangar_error_set(err, HANGAR_E_SYS, saved, "write %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		return hangar_error_set(err, HANGAR_E_SYS, saved, "rename %s", path);
	}
	return 0;
}

int mkdir_p(const char *path, mode_t mode, struct hangar_error *err)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return hangar_sys_error(err, "mkdir %s", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return hangar_sys_error(err, "mkdir %s", p);
	return 0;
}

static int rm_rf_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	/* A directory we may not read (overlayfs makes its work/work mode 0,
	 * which stops an unprivileged owner): open it up for the next pass. */
	if (type == FTW_DNR)
		return chmod(path, 0700) < 0 && errno != ENOENT ? -1 : 0;
	if (type == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int rm_rf(const char *path, struct hangar_error *err)
{
	for (int pass = 0;; pass++) {
		if (nftw(path, rm_rf_cb, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == 0 || errno == ENOENT)
			return 0;
		/* ENOTEMPTY: a directory was unreadable this pass (see above). */
		if (errno != ENOTEMPTY || pass == 8)
			return hangar_sys_error(err, "remove %s", path);
	}
}

int parse_u64(const char *s, uint64_t *out)
{
	if (s == NULL || *s == '\0' || *s == '-' || isspace((unsigned char)*s))
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int parse_i64(const char *s, int64_t *out)
{
	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out, struct hangar_error *err)
{
	if (s == NULL || *s == '\0' || *s == '-')
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "invalid size '%s'", s ? s : "");
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || end == s || v < 0)
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "invalid size '%s'", s);
	double mult = 1;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		mult = 1024.0;
		end++;
		break;
	case 'M':
		mult = 1024.0 * 1024;
		end++;
		break;
	case 'G':
		mult = 1024.0 * 1024 * 1024;
		end++;
		break;
	case 'T':
		mult = 1024.0 * 1024 * 1024 * 1024;
		end++;
		break;
	case 'B':
		break;
	default:
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "invalid size '%s': unknown unit", s);
	}
	if (*end == 'i' && mult > 1)
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0')
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "invalid size '%s': unknown unit", s);
	double bytes = v * mult;
	if (bytes > 1.8e19)
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "invalid size '%s': too large", s);
	*out = (uint64_t)bytes;
	return 0;
}

unsigned long long proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read_all(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may contain spaces and parentheses: parse after the last ')'. */
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	p++;
	/* A zombie has ended: it only waits for its parent to reap it, which
	 * for an orphan is a PID 1 that may be slow about it. */
	if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X'))
		return 0;
	/* p is at the space before field 3; each step lands on the space
	 * before the next field, so stop on the one before field 22 */
	for (int field = 4; field <= 22; field++) {
		p = strchr(p + 1, ' ');
		if (p == NULL)
			return 0;
	}
	return strtoull(p + 1, NULL, 10);
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

char *passwd_name_of(uid_t uid)
{
	FILE *f = fopen("/etc/passwd", "re");
	if (f == NULL)
		return NULL;
	char *name = NULL;
	struct passwd pw, *res;
	char buf[4096];
	while (fgetpwent_r(f, &pw, buf, sizeof(buf), &res) == 0) {
		if (pw.pw_uid == uid) {
			name = xstrdup(pw.pw_name);
			break;
		}
	}
	fclose(f);
	return name;
}

char *find_in_path(const char *name)
{
	const char *path = getenv("PATH");
	if (path == NULL || *path == '\0')
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	_cleanup_free_ char *copy = xstrdup(path);
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *cand = xasprintf("%s/%s", *dir ? dir : ".", name);
		if (access(cand, X_OK) == 0)
			return steal_pointer(&cand);
	}
	return NULL;
}
