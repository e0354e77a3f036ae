/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_UTIL_H
#define HANGAR_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

/* Allocation that aborts only on OOM (the one case the library cannot report). */
void *xmalloc0(size_t size);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* NULL-terminated string vectors. */
void strv_free(char **v);
size_t strv_len(char *const *v);
char **strv_dup(char *const *v);

bool str_has_prefix(const char *s, const char *prefix);

/* Whole-file I/O.  read_file returns a NUL-terminated buffer; *len (optional)
 * gets the length without the NUL. dirfd may be AT_FDCWD. */
int read_file_at(int dirfd, const char *path, char **out, size_t *len, struct hangar_error *err);
/* Everything fd gives until EOF, NUL-terminated; `what` names it in errors. */
int read_fd_all(int fd, const char *what, char **out, size_t *len, struct hangar_error *err);
int write_file_at(int dirfd, const char *path, const void *data, size_t len, int flags, mode_t mode,
		  struct hangar_error *err);
/* Write a string into an existing file (sysfs/procfs/cgroupfs style). */
int write_string_at(int dirfd, const char *path, const char *s, struct hangar_error *err);
/* Write atomically: tmp file + fsync + rename. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct hangar_error *err);

/* Loop over EINTR and short transfers. Return bytes or -1 with errno. */
ssize_t read_all(int fd, void *buf, size_t len);
/* A helper run with its stderr on a pipe: read what it says until the pipe
 * closes (fd is closed), keep the first line in msg, and wait for pid.
 * Returns -1 (errno set) only when waitpid fails. */
int wait_child_message(pid_t pid, int fd, char *msg, size_t len, int *status);
ssize_t write_all(int fd, const void *buf, size_t len);

int mkdir_p(const char *path, mode_t mode, struct hangar_error *err);
/* Remove a directory tree (no crossing of mount points). */
int rm_rf(const char *path, struct hangar_error *err);

/* "512M", "2G", "1024", "1.5G" -> bytes.  Suffixes K,M,G,T (1024-based), optional B/iB. */
int parse_size(const char *s, uint64_t *out, struct hangar_error *err);
int parse_u64(const char *s, uint64_t *out);
int parse_i64(const char *s, int64_t *out);

/* Field 22 of /proc/PID/stat (start time in clock ticks since boot); 0 on
 * failure and for a zombie, so that 0 means "not running". */
unsigned long long proc_start_time(pid_t pid);

/* Monotonic time in nanoseconds. */
uint64_t now_ns(void);

/* The first executable NAME in $PATH (malloc'ed), NULL when none; without
 * $PATH the usual /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin. */
char *find_in_path(const char *name);

/* The name /etc/passwd gives uid (malloc'ed), NULL when it lists none.  The
 * file is read directly, as static runc does: the static hangar-oci has no
 * NSS modules to load, so users only a directory service knows stay
 * numeric. */
char *passwd_name_of(uid_t uid);

#endif
