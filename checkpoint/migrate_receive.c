/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Live migration: the target side, one phase per `hangar migrate --receive`. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpoint/instance_checkpoint.h"
#include "checkpoint/migrate.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "manager/instance.h"

static int read_stream(int fd, char **out, size_t *len_out, struct hangar_error *err)
{
	size_t len = 0, cap = 4096;
	char *buf = xmalloc0(cap);
	for (;;) {
		if (len + 1 >= cap) {
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (nb == NULL)
				abort();
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return hangar_sys_error(err, "read the stream");
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	if (len_out)
		*len_out = len;
	return 0;
}

static int answer(int fd, const char *s, struct hangar_error *err)
{
	if (write_all(fd, s, strlen(s)) < 0 || write_all(fd, "\n", 1) < 0)
		return hangar_sys_error(err, "write the answer");
	return 0;
}

/* The source's instance.json, read through the manager's own loader from
 * a scratch store. */
static int load_source_instance(const struct hangar_paths *p, const char *name, const char *json,
				struct instance **out, struct hangar_error *err)
{
	_cleanup_free_ char *scratch = xasprintf("%s/migrate-in-%s.%d", p->run_dir, name, (int)getpid());
	_cleanup_free_ char *dir = xasprintf("%s/%s", scratch, name);
	_cleanup_free_ char *file = xasprintf("%s/instance.json", dir);
	struct hangar_paths fake = *p;
	fake.instances_dir = scratch;
	int rc = -1;
	if (mkdir_p(dir, 0700, err) == 0 && write_file_atomic(file, json, strlen(json), 0600, err) == 0)
		rc = instance_load(&fake, name, out, err);
	struct hangar_error ignored;
	rm_rf(scratch, &ignored);
	return rc;
}

static int receive_prepare(const struct hangar_paths *p, const char *name, int in_fd,
			   struct hangar_error *err)
{
	_cleanup_free_ char *json = NULL;
	struct instance *src = NULL, *made = NULL;
	if (read_stream(in_fd, &json, NULL, err) < 0 || load_source_instance(p, name, json, &src, err) < 0)
		return -1;
	int rc = -1;
	char **mounts = xmalloc0((src->n_mounts + 1) * sizeof(char *));
	for (size_t i = 0; i < src->n_mounts; i++)
		mounts[i] = xasprintf("%s:%s%s", src->mounts[i].source, src->mounts[i].destination,
				      src->mounts[i].readonly ? ":ro" : "");
	struct instance_create_opts co = {
	    .name = name,
	    .image = src->image,
	    .hostname = src->hostname,
	    .init = src->init,
	    .cmd = src->cmd,
	    .env = src->env,
	    .network = src->network,
	    .publish = src->publish,
	    .mounts = (const char *const *)mounts,
	    .limits = &src->limits,
	};
	if (instance_create(p, &co, &made, err) < 0)
		goto out;
	/* The same address: peers keep talking to it after the move. */
	if (src->ipv4) {
		free(made->ipv4);
		made->ipv4 = xstrdup(src->ipv4);
		if (instance_save(made, err) < 0) {
			struct hangar_error ignored;
			instance_destroy(p, name, true, &ignored);
			goto out;
		}
	}
	rc = 0;
out:
	strv_free(mounts);
	instance_free(src);
	instance_free(made);
	return rc;
}

static int run_tar_extract(const char *dir, int in_fd, struct hangar_error *err)
{
	char *argv[] = {
	    "tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", (char *)dir, "-xpf", "-", NULL};
	pid_t pid = fork();
	if (pid < 0)
		return hangar_sys_error(err, "fork tar");
	if (pid == 0) {
		if (dup2(in_fd, STDIN_FILENO) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return hangar_sys_error(err, "wait for tar");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return hangar_error_set(err, HANGAR_E_CHILD, 0, "unpacking into %s failed (tar status %d)",
					dir,
					WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}

static int receive_into_upper(const struct hangar_paths *p, const char *name, int in_fd,
			      struct hangar_error *err)
{
	struct instance *inst = NULL;
	if (instance_load(p, name, &inst, err) < 0)
		return -1;
	int rc = run_tar_extract(inst->upper, in_fd, err);
	instance_free(inst);
	return rc;
}

/* nftw has no user pointer: the prune walk's state. */
static struct {
	char **keep;
	size_t n_keep;
	size_t root_len;
	int failed_errno;
} prune_walk;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int prune_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	if (ftw->level == 0)
		return 0;
	const char *rel = path + prune_walk.root_len + 1;
	if (bsearch(&rel, prune_walk.keep, prune_walk.n_keep, sizeof(char *), cmp_str))
		return 0;
	int r = type == FTW_DP ? rmdir(path) : unlink(path);
	if (r < 0 && errno != ENOENT)
		prune_walk.failed_errno = errno;
	return 0;
}

/* Remove what no longer exists on the source (a NUL-separated list of the
 * paths that do). */
static int receive_prune(const struct hangar_paths *p, const char *name, int in_fd, struct hangar_error *err)
{
	struct instance *inst = NULL;
	_cleanup_free_ char *list = NULL;
	size_t len = 0;
	if (instance_load(p, name, &inst, err) < 0)
		return -1;
	if (read_stream(in_fd, &list, &len, err) < 0) {
		instance_free(inst);
		return -1;
	}
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (list[i] == '\0')
			n++;
	char **keep = xmalloc0((n + 1) * sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < len && k < n; i += strlen(list + i) + 1)
		keep[k++] = list + i;
	qsort(keep, k, sizeof(char *), cmp_str);
	prune_walk.keep = keep;
	prune_walk.n_keep = k;
	prune_walk.root_len = strlen(inst->upper);
	prune_walk.failed_errno = 0;
	int rc = 0;
	if (nftw(inst->upper, prune_one, 32, FTW_DEPTH | FTW_PHYS) < 0)
		rc = hangar_sys_error(err, "walk %s", inst->upper);
	else if (prune_walk.failed_errno)
		rc = hangar_error_set(err, HANGAR_E_SYS, prune_walk.failed_errno,
				      "remove deleted files in %s", inst->upper);
	free(keep);
	memset(&prune_walk, 0, sizeof(prune_walk));
	instance_free(inst);
	return rc;
}

/* Incoming images live in RUN (tmpfs on a normal host): they are read once,
 * by the restore, and writing hundreds of MiB to disk would be downtime. */
static char *incoming_images_dir(const struct hangar_paths *p, const char *name)
{
	return xasprintf("%s/migrate-%s.incoming", p->run_dir, name);
}

static int receive_images(const struct hangar_paths *p, const char *name, int in_fd, struct hangar_error *err)
{
	_cleanup_free_ char *dir = incoming_images_dir(p, name);
	struct instance *inst = NULL;
	if (instance_load(p, name, &inst, err) < 0)
		return -1;
	instance_free(inst);
	if (rm_rf(dir, err) < 0 || mkdir_p(dir, 0700, err) < 0)
		return -1;
	return run_tar_extract(dir, in_fd, err);
}

static int receive_status(const struct hangar_paths *p, const char *name, int out_fd,
			  struct hangar_error *err)
{
	struct instance *inst = NULL;
	if (instance_load(p, name, &inst, err) < 0)
		return -1;
	struct instance_runtime rt;
	int rc = instance_get_runtime(p, inst, &rt, err);
	instance_free(inst);
	if (rc < 0)
		return -1;
	return answer(out_fd, instance_status_name(rt.status), err);
}

int migrate_receive(const struct hangar_paths *p, const char *step, const char *name, int in_fd, int out_fd,
		    const char *criu, struct hangar_error *err)
{
	if (instance_validate_name(name, err) < 0)
		return -1;
	if (strcmp(step, "prepare") == 0)
		return receive_prepare(p, name, in_fd, err);
	if (strcmp(step, "rootfs") == 0 || strcmp(step, "delta") == 0)
		return receive_into_upper(p, name, in_fd, err);
	if (strcmp(step, "prune") == 0)
		return receive_prune(p, name, in_fd, err);
	if (strcmp(step, "images") == 0)
		return receive_images(p, name, in_fd, err);
	if (strcmp(step, "restore") == 0) {
		/* stdin: nothing (the images came with the "images" step), or
		 * the source's image directory on this same host. */
		_cleanup_free_ char *given = NULL;
		if (read_stream(in_fd, &given, NULL, err) < 0)
			return -1;
		given[strcspn(given, "\n")] = '\0';
		_cleanup_free_ char *dir = *given ? xstrdup(given) : incoming_images_dir(p, name);
		if (*given && given[0] != '/')
			return hangar_error_set(err, HANGAR_E_USAGE, 0,
						"restore: image directory '%s' is not absolute", given);
		struct instance_restore_opts ro = {.image_dir = dir, .criu = criu};
		if (instance_restore(p, name, &ro, err) < 0)
			return -1;
		struct hangar_error ignored;
		if (*given == '\0')
			rm_rf(dir, &ignored);
		return 0;
	}
	if (strcmp(step, "status") == 0)
		return receive_status(p, name, out_fd, err);
	if (strcmp(step, "abort") == 0) {
		_cleanup_free_ char *dir = incoming_images_dir(p, name);
		struct hangar_error ignored;
		rm_rf(dir, &ignored);
		if (instance_destroy(p, name, true, err) < 0 && err->code != HANGAR_E_NOTFOUND)
			return -1;
		return 0;
	}
	return hangar_error_set(err, HANGAR_E_USAGE, 0, "migrate --receive: unknown step '%s'", step);
}
