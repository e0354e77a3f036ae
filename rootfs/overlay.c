/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "rootfs/overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

bool in_nested_user_namespace(void)
{
	_cleanup_free_ char *map = NULL;
	struct hangar_error ignored;
	if (read_file_at(AT_FDCWD, "/proc/self/uid_map", &map, NULL, &ignored) < 0)
		return false;
	unsigned long inside, outside, count;
	if (sscanf(map, "%lu %lu %lu", &inside, &outside, &count) != 3)
		return false;
	/* Only the initial namespace maps the whole range onto itself. */
	return !(inside == 0 && outside == 0 && count == 4294967295UL &&
		 strchr(map, '\n') == strrchr(map, '\n'));
}

/* overlayfs splits its option string at unescaped ',' and lowerdir at
 * unescaped ':'; a backslash escapes either (and itself). */
static void append_escaped(char **out, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *grown = realloc(*out, *len + 2 * n + 1);
	if (grown == NULL)
		abort();
	*out = grown;
	for (; *s; s++) {
		if (*s == ',' || *s == ':' || *s == '\\')
			(*out)[(*len)++] = '\\';
		(*out)[(*len)++] = *s;
	}
	(*out)[*len] = '\0';
}

static void append_raw(char **out, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *grown = realloc(*out, *len + n + 1);
	if (grown == NULL)
		abort();
	*out = grown;
	memcpy(*out + *len, s, n + 1);
	*len += n;
}

char *overlay_options_string(const char *const *lowerdirs, size_t n_lower, const char *upperdir,
			     const char *workdir, bool userxattr)
{
	char *out = NULL;
	size_t len = 0;
	append_raw(&out, &len, "lowerdir=");
	for (size_t i = 0; i < n_lower; i++) {
		if (i)
			append_raw(&out, &len, ":");
		append_escaped(&out, &len, lowerdirs[i]);
	}
	if (upperdir) {
		append_raw(&out, &len, ",upperdir=");
		append_escaped(&out, &len, upperdir);
		append_raw(&out, &len, ",workdir=");
		append_escaped(&out, &len, workdir);
	}
	if (userxattr)
		append_raw(&out, &len, ",userxattr");
	return out;
}

/* The filesystem context collects the kernel's reasons ("e overlayfs:
 * failed to ..."); they make far better error messages than EINVAL. */
static void fs_context_messages(int fs_fd, char *buf, size_t size)
{
	buf[0] = '\0';
	size_t used = 0;
	char line[512];
	ssize_t n;
	while ((n = read(fs_fd, line, sizeof(line) - 1)) > 0) {
		line[n] = '\0';
		const char *text = (n > 2 && line[1] == ' ') ? line + 2 : line;
		int w = snprintf(buf + used, size - used, "%s%s", used ? "; " : "", text);
		if (w < 0 || (size_t)w >= size - used)
			break;
		used += (size_t)w;
	}
}

static int overlay_config_error(int fs_fd, const char *what, const char *target, struct hangar_error *err)
{
	int saved = errno;
	char reasons[512];
	fs_context_messages(fs_fd, reasons, sizeof(reasons));
	if (reasons[0])
		return hangar_error_set(err, HANGAR_E_SYS, saved, "overlay on %s: %s (%s)", target, what,
					reasons);
	return hangar_error_set(err, HANGAR_E_SYS, saved, "overlay on %s: %s", target, what);
}

static int set_lowerdirs(int fs, const char *const *lowerdirs, size_t n_lower, const char *target,
			 struct hangar_error *err)
{
	/* "lowerdir+" (Linux 6.8) takes one layer per call, with no
	 * separator to escape. */
	if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lowerdirs[0], 0) == 0) {
		for (size_t i = 1; i < n_lower; i++) {
			if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lowerdirs[i], 0) < 0) {
				_cleanup_free_ char *what = xasprintf("add lower layer %s", lowerdirs[i]);
				return overlay_config_error(fs, what, target, err);
			}
		}
		return 0;
	}
	if (errno != EINVAL) {
		_cleanup_free_ char *what = xasprintf("add lower layer %s", lowerdirs[0]);
		return overlay_config_error(fs, what, target, err);
	}
	/* Drain the message the failed probe left in the context, so later
	 * errors do not quote it. */
	char stale[512];
	fs_context_messages(fs, stale, sizeof(stale));
	/* Older kernels: one colon-separated value; only ':' and '\' need
	 * escaping (no comma splitting happens in fsconfig). */
	char *joined = NULL;
	size_t len = 0;
	append_raw(&joined, &len, "");
	for (size_t i = 0; i < n_lower; i++) {
		if (i)
			append_raw(&joined, &len, ":");
		for (const char *s = lowerdirs[i]; *s; s++) {
			char c[3] = {0};
			if (*s == ':' || *s == '\\') {
				c[0] = '\\';
				c[1] = *s;
			} else {
				c[0] = *s;
			}
			append_raw(&joined, &len, c);
		}
	}
	int r = fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", joined, 0);
	free(joined);
	if (r == 0)
		return 0;
	/* Before Linux 6.5 overlayfs had no fs_context of its own: fsconfig
	 * goes through the "legacy" adapter, which refuses commas in values
	 * that overlayfs's own parser would accept escaped.  mount(2) with
	 * the escaped option string is the way on those kernels. */
	if (errno == EINVAL)
		return 1;
	return overlay_config_error(fs, "set lower layers", target, err);
}

static int overlay_mount_legacy(const char *const *lowerdirs, size_t n_lower, const char *upperdir,
				const char *workdir, const char *target, bool userxattr,
				struct hangar_error *err)
{
	_cleanup_free_ char *options =
	    overlay_options_string(lowerdirs, n_lower, upperdir, workdir, userxattr);
	long page = sysconf(_SC_PAGESIZE);
	if ((long)strlen(options) >= (page > 0 ? page : 4096))
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, E2BIG,
		    "overlay on %s: %zu layers do not fit in one mount option page on this kernel", target,
		    n_lower);
	if (mount("overlay", target, "overlay", 0, options) < 0)
		return hangar_sys_error(err, "mount overlay on %s", target);
	return 0;
}

static int check_layer_dir(const char *path, const char *role, const char *target, struct hangar_error *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return hangar_sys_error(err, "overlay on %s: %s %s", target, role, path);
	if (!S_ISDIR(st.st_mode))
		return hangar_error_set(err, HANGAR_E_USAGE, ENOTDIR, "overlay on %s: %s %s", target, role,
					path);
	return 0;
}

int overlay_mount(const char *const *lowerdirs, size_t n_lower, const char *upperdir, const char *workdir,
		  const char *target, struct hangar_error *err)
{
	if (n_lower == 0)
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "overlay on %s: no lower layer", target);
	if ((upperdir == NULL) != (workdir == NULL))
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"overlay on %s: upperdir and workdir go together", target);
	for (size_t i = 0; i < n_lower; i++)
		if (lowerdirs[i] == NULL || lowerdirs[i][0] == '\0')
			return hangar_error_set(err, HANGAR_E_USAGE, 0,
						"overlay on %s: empty lower layer path", target);
	/* Checked here so that every kernel path names the missing layer. */
	for (size_t i = 0; i < n_lower; i++)
		if (check_layer_dir(lowerdirs[i], "lower layer", target, err) < 0)
			return -1;
	if (upperdir && (check_layer_dir(upperdir, "upperdir", target, err) < 0 ||
			 check_layer_dir(workdir, "workdir", target, err) < 0))
		return -1;
	bool userxattr = in_nested_user_namespace();

	_cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0) {
		if (errno == ENOSYS)
			return overlay_mount_legacy(lowerdirs, n_lower, upperdir, workdir, target, userxattr,
						    err);
		if (errno == ENODEV)
			return hangar_error_set(err, HANGAR_E_UNSUPPORTED, errno,
						"overlay on %s: the kernel has no overlay filesystem",
						target);
		return hangar_sys_error(err, "overlay on %s: fsopen", target);
	}
	/* Before Linux 6.5 overlayfs had no fs_context of its own: the
	 * "legacy" adapter takes any key (also "lowerdir+", which overlayfs
	 * then refuses at create with a bare EINVAL).  A key no overlayfs
	 * knows tells the two apart, on a context of its own. */
	_cleanup_close_ int probe = fsopen("overlay", FSOPEN_CLOEXEC);
	if (probe >= 0 && fsconfig(probe, FSCONFIG_SET_STRING, "x-hangar-probe", "1", 0) == 0)
		return overlay_mount_legacy(lowerdirs, n_lower, upperdir, workdir, target, userxattr, err);
	int lower = set_lowerdirs(fs, lowerdirs, n_lower, target, err);
	if (lower < 0)
		return -1;
	if (lower > 0)
		return overlay_mount_legacy(lowerdirs, n_lower, upperdir, workdir, target, userxattr, err);
	if (upperdir && (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upperdir, 0) < 0 ||
			 fsconfig(fs, FSCONFIG_SET_STRING, "workdir", workdir, 0) < 0))
		return overlay_config_error(fs, "set upperdir/workdir", target, err);
	if (userxattr && fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
		return overlay_config_error(fs, "set userxattr (needs Linux 5.11 in a user namespace)",
					    target, err);
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return overlay_config_error(fs, "create", target, err);
	_cleanup_close_ int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
	if (mnt < 0)
		return overlay_config_error(fs, "fsmount", target, err);
	if (move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return hangar_sys_error(err, "attach overlay on %s", target);
	return 0;
}

int overlay_umount(const char *target, struct hangar_error *err)
{
	if (umount2(target, UMOUNT_NOFOLLOW) < 0) {
		if (errno == EINVAL)
			return hangar_error_set(err, HANGAR_E_STATE, errno,
						"unmount overlay %s: not a mount point", target);
		if (errno == EBUSY)
			return hangar_error_set(
			    err, HANGAR_E_STATE, errno,
			    "unmount overlay %s: still in use by a process or a mount below it", target);
		return hangar_sys_error(err, "unmount overlay %s", target);
	}
	return 0;
}
