/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "rootfs/image.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "rootfs/internal.h"

bool image_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

/* A staging directory <store>/.import-<name>-XXXXXX with an empty rootfs/. */
static int staging_begin(const char *store, const char *name, char **staging, struct hangar_error *err)
{
	if (!image_name_valid(name))
		return hangar_error_set(
		    err, HANGAR_E_USAGE, 0,
		    "image name \"%s\": use letters, digits, '_', '.', '-' (first a letter or digit)", name);
	if (mkdir_p(store, 0700, err) < 0)
		return -1;
	_cleanup_free_ char *final = xasprintf("%s/%s", store, name);
	if (access(final, F_OK) == 0)
		return hangar_error_set(err, HANGAR_E_EXISTS, 0, "image %s already exists", name);
	_cleanup_free_ char *dir = xasprintf("%s/.import-%s-XXXXXX", store, name);
	if (mkdtemp(dir) == NULL)
		return hangar_sys_error(err, "create staging directory for image %s", name);
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
	if (mkdir(rootfs, 0755) < 0) {
		int saved = errno;
		rmdir(dir);
		return hangar_error_set(err, HANGAR_E_SYS, saved, "create %s", rootfs);
	}
	*staging = steal_pointer(&dir);
	return 0;
}

/* Rename the staging directory into place, or remove it when r < 0. */
static int staging_end(const char *store, const char *name, const char *staging, int r,
		       struct hangar_error *err)
{
	struct hangar_error ignored;
	if (r < 0) {
		rm_rf(staging, &ignored);
		return -1;
	}
	_cleanup_free_ char *final = xasprintf("%s/%s", store, name);
	if (rename(staging, final) < 0) {
		int saved = errno;
		rm_rf(staging, &ignored);
		if (saved == EEXIST || saved == ENOTEMPTY)
			return hangar_error_set(err, HANGAR_E_EXISTS, 0, "image %s already exists", name);
		return hangar_error_set(err, HANGAR_E_SYS, saved, "move image %s into place", name);
	}
	return 0;
}

int image_import_dir(const char *store, const char *name, const char *src_dir, struct hangar_error *err)
{
	_cleanup_free_ char *staging = NULL;
	if (staging_begin(store, name, &staging, err) < 0)
		return -1;
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", staging);
	int r = -1;
	_cleanup_close_ int src = open(src_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dst = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0)
		hangar_sys_error(err, "image %s: open source %s", name, src_dir);
	else if (dst < 0)
		hangar_sys_error(err, "image %s: open %s", name, rootfs);
	else
		r = copy_tree(src, dst, src_dir, err);
	return staging_end(store, name, staging, r, err);
}

/* Run argv with stdout discarded and stderr collected into out (for the
 * error message).  Returns the exit status, or -1 with err set. */
static int run_collecting_stderr(char *const argv[], char *out, size_t out_size, struct hangar_error *err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return hangar_sys_error(err, "pipe for %s", argv[0]);
	pid_t pid = fork();
	if (pid < 0) {
		int saved = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return hangar_error_set(err, HANGAR_E_SYS, saved, "fork for %s", argv[0]);
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(pipefd[1], 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	size_t used = 0;
	for (;;) {
		char buf[512];
		ssize_t n = read(pipefd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t take = (size_t)n < out_size - 1 - used ? (size_t)n : out_size - 1 - used;
		memcpy(out + used, buf, take);
		used += take;
	}
	out[used] = '\0';
	close(pipefd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return hangar_sys_error(err, "wait for %s", argv[0]);
	/* One line is enough for the message. */
	char *nl = strchr(out, '\n');
	if (nl)
		*nl = '\0';
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int image_import_tar(const char *store, const char *name, const char *tarball, struct hangar_error *err)
{
	if (access(tarball, R_OK) < 0)
		return hangar_sys_error(err, "image %s: tarball %s", name, tarball);
	_cleanup_free_ char *staging = NULL;
	if (staging_begin(store, name, &staging, err) < 0)
		return -1;
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", staging);
	/* GNU tar refuses ".." members, strips leading "/" and extracts
	 * symlinks last, so an archive cannot write outside rootfs. */
	char *const argv[] = {"tar",	      "--extract", "--numeric-owner", "--same-permissions",
			      "--same-owner", "--file",	   (char *)tarball,   "--directory",
			      rootfs,	      NULL};
	char complaint[512];
	int status = run_collecting_stderr(argv, complaint, sizeof(complaint), err);
	int r = 0;
	if (status < 0)
		r = -1;
	else if (status == 127)
		r = hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0, "image %s: tar(1) is not installed", name);
	else if (status != 0)
		r = hangar_error_set(err, HANGAR_E_SYS, 0, "image %s: unpacking %s failed (tar exit %d: %s)",
				     name, tarball, status, complaint);
	return staging_end(store, name, staging, r, err);
}

static int write_text(const char *root, const char *path, const char *text, mode_t mode,
		      struct hangar_error *err)
{
	_cleanup_free_ char *full = xasprintf("%s/%s", root, path);
	return write_file_at(AT_FDCWD, full, text, strlen(text), O_CREAT | O_TRUNC, mode, err);
}

static int busybox_applets(const char *busybox, const char *rootfs, struct hangar_error *err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return hangar_sys_error(err, "pipe for busybox --list-full");
	pid_t pid = fork();
	if (pid < 0)
		return hangar_sys_error(err, "fork for busybox --list-full");
	if (pid == 0) {
		if (dup2(pipefd[1], 1) < 0)
			_exit(127);
		execl(busybox, busybox, "--list-full", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	_cleanup_fclose_ FILE *list = fdopen(pipefd[0], "r");
	if (list == NULL) {
		close(pipefd[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return hangar_sys_error(err, "read busybox applet list");
	}
	char line[256];
	int r = 0, count = 0;
	while (fgets(line, sizeof(line), list)) {
		line[strcspn(line, "\n")] = '\0';
		if (r < 0 || line[0] == '\0' || strcmp(line, "bin/busybox") == 0 || strstr(line, ".."))
			continue;
		_cleanup_free_ char *link = xasprintf("%s/%s", rootfs, line);
		if (symlink("/bin/busybox", link) < 0 && errno != EEXIST)
			r = hangar_sys_error(err, "symlink applet %s", line);
		count++;
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || count == 0)
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "%s --list-full failed: not a busybox (apt-get install busybox-static)", busybox);
	return 0;
}

/* A 64-bit ELF without a PT_INTERP header needs no dynamic loader (and so
 * none of the host's libraries) inside the container. */
static bool is_static_elf(const char *bin, size_t len)
{
	if (len < sizeof(Elf64_Ehdr) || memcmp(bin, ELFMAG, SELFMAG) != 0 || bin[EI_CLASS] != ELFCLASS64)
		return false;
	Elf64_Ehdr eh;
	memcpy(&eh, bin, sizeof(eh));
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > len ||
	    (size_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return false;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, bin + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_INTERP)
			return false;
	}
	return true;
}

static int busybox_tree(const char *busybox, const char *rootfs, struct hangar_error *err)
{
	static const char *const dirs[] = {"bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys",
					   "dev", "tmp",  "root",    "var/log",	 "run", "home", "mnt"};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *d = xasprintf("%s/%s", rootfs, dirs[i]);
		if (mkdir_p(d, 0755, err) < 0)
			return -1;
	}
	_cleanup_free_ char *tmp = xasprintf("%s/tmp", rootfs), *root = xasprintf("%s/root", rootfs);
	if (chmod(tmp, 01777) < 0 || chmod(root, 0700) < 0)
		return hangar_sys_error(err, "set modes of /tmp and /root");
	/* The binary must not need the host's libraries in the container. */
	_cleanup_free_ char *bin = NULL;
	size_t len = 0;
	if (read_file_at(AT_FDCWD, busybox, &bin, &len, err) < 0)
		return -1;
	if (!is_static_elf(bin, len))
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"%s is not a static 64-bit binary (apt-get install busybox-static)",
					busybox);
	_cleanup_free_ char *dst = xasprintf("%s/bin/busybox", rootfs);
	if (write_file_at(AT_FDCWD, dst, bin, len, O_CREAT | O_TRUNC, 0755, err) < 0)
		return -1;
	if (busybox_applets(busybox, rootfs, err) < 0)
		return -1;
	static const struct {
		const char *path, *text;
	} etc_files[] = {
	    {"etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
			   "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
			   "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
	    {"etc/group", "root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\n"},
	    {"etc/hostname", "hangar\n"},
	    {"etc/hosts", ""},
	    {"etc/resolv.conf", ""},
	    {"etc/inittab", "::sysinit:/bin/mount -t tmpfs tmpfs /run\n"
			    "::sysinit:/bin/hostname -F /etc/hostname\n"
			    "::respawn:-/bin/sh\n::ctrlaltdel:/sbin/reboot\n::shutdown:/bin/sync\n"},
	    {"etc/profile", "export PATH=/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1='\\u@\\h:\\w\\$ '\n"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(etc_files); i++)
		if (write_text(rootfs, etc_files[i].path, etc_files[i].text, 0644, err) < 0)
			return -1;
	return 0;
}

int image_import_busybox(const char *store, const char *name, const char *busybox, struct hangar_error *err)
{
	_cleanup_free_ char *staging = NULL;
	if (staging_begin(store, name, &staging, err) < 0)
		return -1;
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", staging);
	int r = busybox_tree(busybox, rootfs, err);
	if (r < 0)
		hangar_error_prefix(err, "image %s", name);
	return staging_end(store, name, staging, r, err);
}

int image_remove(const char *store, const char *name, struct hangar_error *err)
{
	if (!image_name_valid(name))
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "image name \"%s\" is not valid", name);
	_cleanup_free_ char *dir = xasprintf("%s/%s", store, name);
	if (access(dir, F_OK) < 0)
		return hangar_error_set(err, HANGAR_E_NOTFOUND, 0, "image %s does not exist", name);
	/* Rename first so that a crash half-way leaves no broken image under
	 * the name; the leftover is a staging directory. */
	_cleanup_free_ char *doomed = xasprintf("%s/.remove-%s-%d", store, name, (int)getpid());
	if (rename(dir, doomed) < 0)
		return hangar_sys_error(err, "remove image %s", name);
	return rm_rf(doomed, err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int image_list(const char *store, char ***names, struct hangar_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(store);
	if (d == NULL) {
		if (errno == ENOENT) {
			*names = xmalloc0(sizeof(char *));
			return 0;
		}
		return hangar_sys_error(err, "open image store %s", store);
	}
	size_t n = 0, cap = 8;
	char **v = xmalloc0(cap * sizeof(char *));
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!image_name_valid(de->d_name))
			continue;
		_cleanup_free_ char *rootfs = xasprintf("%s/%s/rootfs", store, de->d_name);
		struct stat st;
		if (stat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (n + 1 >= cap) {
			cap *= 2;
			char **grown = realloc(v, cap * sizeof(char *));
			if (grown == NULL)
				abort();
			v = grown;
		}
		v[n++] = xstrdup(de->d_name);
		v[n] = NULL;
	}
	qsort(v, n, sizeof(char *), cmp_str);
	*names = v;
	return 0;
}

int image_rootfs_path(const char *store, const char *name, char **path, struct hangar_error *err)
{
	if (!image_name_valid(name))
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "image name \"%s\" is not valid", name);
	_cleanup_free_ char *p = xasprintf("%s/%s/rootfs", store, name);
	struct stat st;
	if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
		return hangar_error_set(err, HANGAR_E_NOTFOUND, 0, "image %s does not exist", name);
	*path = steal_pointer(&p);
	return 0;
}
