/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Live migration: the target side, one phase per `hangar migrate --receive`. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
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
	if (read_fd_all(in_fd, "the stream", &json, NULL, err) < 0 || load_source_instance(p, name, json, &src, err) < 0)
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
	    .networks = src->networks,
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

/* tar -x into dir reading from in_fd; returns its pid. */
static pid_t tar_extract_start(const char *dir, int in_fd, struct hangar_error *err)
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
	return pid;
}

static int tar_extract_finish(pid_t pid, const char *dir, struct hangar_error *err)
{
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

static int run_tar_extract(const char *dir, int in_fd, struct hangar_error *err)
{
	pid_t pid = tar_extract_start(dir, in_fd, err);
	return pid < 0 ? -1 : tar_extract_finish(pid, dir, err);
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

/* Remove from dir what no longer exists on the source: list is the
 * NUL-separated paths that do, ending with MIGRATE_PRUNE_END. */
static int prune_list(const char *dir, char *list, size_t len, struct hangar_error *err)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (list[i] == '\0')
			n++;
	char **keep = xmalloc0((n + 1) * sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < len && k < n; i += strlen(list + i) + 1)
		keep[k++] = list + i;
	/* Only a whole list says what to delete: a source that stopped
	 * sending (or a receiver started for a migration given up) leaves
	 * everything in place. */
	if (k == 0 || strcmp(keep[k - 1], MIGRATE_PRUNE_END) != 0) {
		free(keep);
		return hangar_error_set(
		    err, HANGAR_E_USAGE, 0,
		    "prune: the list of paths is incomplete (no end mark); nothing removed");
	}
	k--;
	qsort(keep, k, sizeof(char *), cmp_str);
	prune_walk.keep = keep;
	prune_walk.n_keep = k;
	prune_walk.root_len = strlen(dir);
	prune_walk.failed_errno = 0;
	int rc = 0;
	if (nftw(dir, prune_one, 32, FTW_DEPTH | FTW_PHYS) < 0)
		rc = hangar_sys_error(err, "walk %s", dir);
	else if (prune_walk.failed_errno)
		rc = hangar_error_set(err, HANGAR_E_SYS, prune_walk.failed_errno,
				      "remove deleted files in %s", dir);
	free(keep);
	memset(&prune_walk, 0, sizeof(prune_walk));
	return rc;
}

/* Incoming images live in RUN (tmpfs on a normal host): they are read once,
 * by the restore, and writing hundreds of MiB to disk would be downtime. */
static char *incoming_images_dir(const struct hangar_paths *p, const char *name)
{
	return xasprintf("%s/migrate-%s.incoming", p->run_dir, name);
}

/* input: MIGRATE_RESTORE_GO, then nothing (the images came in the images
 * frames) or the source's image directory on this same host.
 * Without the go-ahead (the source gave up and closed our input) nothing
 * is restored. */
static int restore_from_input(const struct hangar_paths *p, const char *name, char *input, const char *criu,
			      struct hangar_error *err)
{
	size_t go_len = strlen(MIGRATE_RESTORE_GO);
	if (strncmp(input, MIGRATE_RESTORE_GO, go_len) != 0 || input[go_len] != '\n')
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"restore: no go-ahead from the source; nothing restored");
	char *given = input + go_len + 1;
	given[strcspn(given, "\n")] = '\0';
	if (*given && given[0] != '/')
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"restore: image directory '%s' is not absolute", given);
	_cleanup_free_ char *dir = *given ? xstrdup(given) : incoming_images_dir(p, name);
	struct instance_restore_opts ro = {.image_dir = dir, .criu = criu};
	if (instance_restore(p, name, &ro, err) < 0)
		return -1;
	struct hangar_error ignored;
	if (*given == '\0')
		rm_rf(dir, &ignored);
	return 0;
}

static int read_exact(int fd, void *buf, size_t n, struct hangar_error *err)
{
	ssize_t got = read_all(fd, buf, n);
	if (got < 0)
		return hangar_sys_error(err, "read the stream");
	if ((size_t)got < n)
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"the source stopped in the middle of a frame; nothing restored");
	return 0;
}

/* "<letter> <n>\n": 1 and the frame's letter and size, 0 at the end of
 * the input, -1 on a malformed header. */
static int read_frame_head(int fd, char *letter, size_t *n, struct hangar_error *err)
{
	char head[32];
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, head + len, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return hangar_sys_error(err, "read the stream");
		if (r == 0) {
			if (len == 0)
				return 0;
			break;
		}
		if (head[len] == '\n')
			break;
		if (++len == sizeof(head) - 1)
			break;
	}
	head[len] = '\0';
	char *end = NULL;
	unsigned long long v = len > 2 && head[1] == ' ' ? strtoull(head + 2, &end, 10) : 0;
	if (end == NULL || *end != '\0' || end == head + 2 || v > (1ULL << 30))
		return hangar_error_set(err, HANGAR_E_USAGE, 0, "%s: bad frame header '%s'",
					MIGRATE_FINISH_STEP, head);
	*letter = head[0];
	*n = (size_t)v;
	return 1;
}

/* A tar segment in progress: the unpacking tar and the pipe into it. */
struct tar_segment {
	pid_t pid;
	int in;
	char *dir;
};

static int segment_end(struct tar_segment *t, struct hangar_error *err)
{
	if (t->in >= 0)
		close(t->in);
	t->in = -1;
	int rc = t->pid > 0 ? tar_extract_finish(t->pid, t->dir, err) : 0;
	t->pid = -1;
	free(t->dir);
	t->dir = NULL;
	return rc;
}

/* The downtime's steps in one receiver (MIGRATE_FINISH_STEP): the delta
 * into the upper layer, the deletions, the images, and the restore, which
 * only a complete restore frame starts. */
static int receive_finish(const struct hangar_paths *p, const char *name, int in_fd, const char *criu,
			  struct hangar_error *err)
{
	struct instance *inst = NULL;
	if (instance_load(p, name, &inst, err) < 0)
		return -1;
	struct tar_segment tar = {.pid = -1, .in = -1};
	char *prune = NULL;
	size_t prune_len = 0;
	char *buf = xmalloc0(1 << 20);
	int rc = -1;
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
	for (;;) {
		char letter = 0;
		size_t n = 0;
		int got = read_frame_head(in_fd, &letter, &n, err);
		if (got < 0)
			goto out;
		if (got == 0) {
			hangar_error_set(err, HANGAR_E_USAGE, 0,
					 "%s: the source stopped before the restore; nothing restored",
					 MIGRATE_FINISH_STEP);
			goto out;
		}
		if (letter == MIGRATE_FRAME_DELTA || letter == MIGRATE_FRAME_IMAGES) {
			if (tar.pid < 0 && n > 0) {
				_cleanup_free_ char *dir = letter == MIGRATE_FRAME_DELTA
							       ? xstrdup(inst->upper)
							       : incoming_images_dir(p, name);
				if (letter == MIGRATE_FRAME_IMAGES &&
				    (rm_rf(dir, err) < 0 || mkdir_p(dir, 0700, err) < 0))
					goto out;
				int pfd[2];
				if (pipe2(pfd, O_CLOEXEC) < 0) {
					hangar_sys_error(err, "pipe");
					goto out;
				}
				fcntl(pfd[1], F_SETPIPE_SZ, 1 << 20);
				tar.pid = tar_extract_start(dir, pfd[0], err);
				close(pfd[0]);
				tar.in = pfd[1];
				tar.dir = steal_pointer(&dir);
				if (tar.pid < 0)
					goto out;
			}
			if (n == 0) {
				if (segment_end(&tar, err) < 0)
					goto out;
				continue;
			}
			while (n > 0) {
				size_t chunk = n < (1 << 20) ? n : (1 << 20);
				if (read_exact(in_fd, buf, chunk, err) < 0)
					goto out;
				if (write_all(tar.in, buf, chunk) < 0) {
					/* tar gave up: its status says why */
					segment_end(&tar, err);
					goto out;
				}
				n -= chunk;
			}
		} else if (letter == MIGRATE_FRAME_PRUNE) {
			if (n == 0) {
				if (prune_list(inst->upper, prune ? prune : (char *)"", prune_len, err) < 0)
					goto out;
				continue;
			}
			char *grown = realloc(prune, prune_len + n + 1);
			if (grown == NULL)
				abort();
			prune = grown;
			if (read_exact(in_fd, prune + prune_len, n, err) < 0)
				goto out;
			prune_len += n;
			prune[prune_len] = '\0'; /* a last path without its NUL ends here */
		} else if (letter == MIGRATE_FRAME_RESTORE) {
			_cleanup_free_ char *input = xmalloc0(n + 1);
			if (read_exact(in_fd, input, n, err) < 0)
				goto out;
			rc = restore_from_input(p, name, input, criu, err);
			goto out;
		} else {
			hangar_error_set(err, HANGAR_E_USAGE, 0, "%s: unknown frame '%c'",
					 MIGRATE_FINISH_STEP, letter);
			goto out;
		}
	}
out:
	if (tar.pid > 0) {
		kill(tar.pid, SIGKILL);
		struct hangar_error ignored;
		segment_end(&tar, &ignored);
	}
	signal(SIGPIPE, old_pipe);
	free(prune);
	free(buf);
	instance_free(inst);
	return rc;
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
	if (strcmp(step, "rootfs") == 0)
		return receive_into_upper(p, name, in_fd, err);
	if (strcmp(step, MIGRATE_FINISH_STEP) == 0)
		return receive_finish(p, name, in_fd, criu, err);
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
