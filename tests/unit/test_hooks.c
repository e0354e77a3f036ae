/* SPDX-License-Identifier: GPL-2.0-or-later */
/* OCI hooks: order, argv, env, stdin state, timeouts, errors, fd hygiene. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "config/oci.h"
#include "runtime/hooks.h"
#include "tap.h"

static char dir[] = "/tmp/hangar-hooks-XXXXXX";

static char *path_in_dir(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static char *slurp(const char *name)
{
	_cleanup_free_ char *p = path_in_dir(name);
	char *s = NULL;
	if (read_file_at(AT_FDCWD, p, &s, NULL, NULL) < 0)
		return xstrdup("(missing)");
	return s;
}

/* For TAP descriptions: newlines shown as '|'. */
static const char *oneline(const char *s)
{
	static char buf[512];
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = '|';
	return buf;
}

/* Gone or a zombie waiting for the reaper, within a second. */
static bool wait_dead(pid_t pid)
{
	for (int i = 0; i < 100; i++) {
		char path[64], *stat = NULL;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if (read_file_at(AT_FDCWD, path, &stat, NULL, NULL) < 0)
			return true;
		char *paren = strrchr(stat, ')');
		bool zombie = paren && paren[1] == ' ' && paren[2] == 'Z';
		free(stat);
		if (zombie)
			return true;
		usleep(10000);
	}
	return false;
}

/* A hook running "/bin/sh -c SCRIPT hookname"; SCRIPT sees $D = the test dir. */
static struct oci_hook sh_hook(const char *script, char **env, int timeout)
{
	struct oci_hook h = {0};
	char **args = xmalloc0(5 * sizeof(char *));
	args[0] = xstrdup("sh");
	args[1] = xstrdup("-c");
	args[2] = xasprintf("D=%s; %s", dir, script);
	args[3] = xstrdup("hookname");
	h.path = "/bin/sh";
	h.args = args;
	h.n_args = 4;
	h.env = env;
	h.n_env = strv_len(env);
	if (timeout > 0) {
		h.has_timeout = true;
		h.timeout = timeout;
	}
	return h;
}

static void hook_free(struct oci_hook *h)
{
	strv_free(h->args);
}

int main(void)
{
	struct hangar_error err = {0};
	const char *state =
	    "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":42,\"bundle\":\"/b\"}";

	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}

	/* order */
	{
		struct oci_hook hooks[3] = {sh_hook("echo one >> $D/order", NULL, 0),
					    sh_hook("echo two >> $D/order", NULL, 0),
					    sh_hook("echo three >> $D/order", NULL, 0)};
		int r = hooks_run(hooks, 3, "prestart", state, &err);
		_cleanup_free_ char *got = slurp("order");
		ok(r == 0 && strcmp(got, "one\ntwo\nthree\n") == 0, "hooks run in order (%s) %s",
		   oneline(got), r ? err.msg : "");
		for (int i = 0; i < 3; i++)
			hook_free(&hooks[i]);
	}
	/* a failing hook stops the list */
	{
		struct oci_hook hooks[2] = {
		    sh_hook("echo first-line-of-stderr >&2; echo more >&2; exit 3", NULL, 0),
		    sh_hook("touch $D/should-not-run", NULL, 0)};
		int r = hooks_run(hooks, 2, "createRuntime", state, &err);
		ok(r < 0 &&
		       strcmp(err.msg,
			      "createRuntime hook /bin/sh exited with status 3: first-line-of-stderr") == 0,
		   "non-zero exit: error text with first stderr line (%s)", err.msg);
		_cleanup_free_ char *p = path_in_dir("should-not-run");
		ok(access(p, F_OK) < 0, "hooks after a failing one do not run");
		hook_free(&hooks[0]);
		hook_free(&hooks[1]);
	}
	/* stdout is quoted when stderr is empty */
	{
		struct oci_hook h = sh_hook("echo only-stdout; exit 1", NULL, 0);
		int r = hooks_run(&h, 1, "poststop", state, &err);
		ok(r < 0 && strstr(err.msg, "exited with status 1: only-stdout"),
		   "stdout quoted when stderr is empty (%s)", err.msg);
		hook_free(&h);
	}
	/* env is exactly hook->env */
	{
		static char *env[] = {"FOO=bar", "HANGAR_TEST=1", NULL};
		struct oci_hook h = sh_hook("cat /proc/$$/environ | tr '\\0' '\\n' > $D/env", env, 0);
		int r = hooks_run(&h, 1, "prestart", state, &err);
		_cleanup_free_ char *got = slurp("env");
		ok(r == 0 && strcmp(got, "FOO=bar\nHANGAR_TEST=1\n") == 0,
		   "environment is exactly hook.env (%s)", oneline(got));
		hook_free(&h);
		struct oci_hook empty = sh_hook("cat /proc/$$/environ | wc -c > $D/envlen", NULL, 0);
		r = hooks_run(&empty, 1, "prestart", state, &err);
		_cleanup_free_ char *len = slurp("envlen");
		ok(r == 0 && atoi(len) == 0, "no env given: empty environment (%s bytes)", oneline(len));
		hook_free(&empty);
	}
	/* argv */
	{
		struct oci_hook h = sh_hook("printf '%s|%s' \"$0\" \"$1\" > $D/argv", NULL, 0);
		h.args[4] = NULL;
		h.args = realloc(h.args, 6 * sizeof(char *));
		h.args[4] = xstrdup("first arg");
		h.args[5] = NULL;
		h.n_args = 5;
		int r = hooks_run(&h, 1, "prestart", state, &err);
		_cleanup_free_ char *got = slurp("argv");
		ok(r == 0 && strcmp(got, "hookname|first arg") == 0, "argv is hook.args (%s)", got);
		hook_free(&h);
	}
	/* no args: argv = {path} */
	{
		_cleanup_free_ char *script = path_in_dir("argv0.sh");
		_cleanup_free_ char *body = xasprintf("#!/bin/sh\necho \"$0 $#\" > %s/argv0\n", dir);
		write_file_at(AT_FDCWD, script, body, strlen(body), O_CREAT | O_TRUNC, 0755, &err);
		struct oci_hook h = {.path = script};
		int r = hooks_run(&h, 1, "poststart", state, &err);
		_cleanup_free_ char *got = slurp("argv0");
		_cleanup_free_ char *want = xasprintf("%s 0\n", script);
		ok(r == 0 && strcmp(got, want) == 0, "no args: argv is {path} (%s)", oneline(got));
	}
	/* stdin carries the state */
	{
		struct oci_hook h = sh_hook("cat > $D/stdin", NULL, 0);
		int r = hooks_run(&h, 1, "createContainer", state, &err);
		_cleanup_free_ char *got = slurp("stdin");
		ok(r == 0 && strcmp(got, state) == 0, "stdin is the state JSON (%s)", got);
		hook_free(&h);

		/* bigger than a socket buffer, to exercise partial writes */
		size_t big_len = 1 << 20;
		char *big = xmalloc0(big_len + 1);
		memset(big, 'x', big_len);
		struct oci_hook hb = sh_hook("wc -c > $D/bigcount", NULL, 10);
		r = hooks_run(&hb, 1, "createContainer", big, &err);
		_cleanup_free_ char *count = slurp("bigcount");
		ok(r == 0 && (size_t)atol(count) == big_len, "1 MiB state fully delivered (%s)",
		   oneline(count));
		free(big);
		hook_free(&hb);

		/* a hook that ignores stdin and exits must not be an error (or SIGPIPE us) */
		struct oci_hook hi = sh_hook("exit 0", NULL, 0);
		char *big2 = xmalloc0(big_len + 1);
		memset(big2, 'y', big_len);
		r = hooks_run(&hi, 1, "startContainer", big2, &err);
		ok(r == 0, "hook that does not read stdin: fine %s", r ? err.msg : "");
		free(big2);
		hook_free(&hi);
	}
	/* timeout */
	{
		struct oci_hook h = sh_hook("sleep 30 & echo $! > $D/sleeppid; wait", NULL, 1);
		uint64_t t0 = now_ns();
		int r = hooks_run(&h, 1, "prestart", state, &err);
		double secs = (double)(now_ns() - t0) / 1e9;
		ok(r < 0 && strcmp(err.msg, "prestart hook /bin/sh timed out after 1 s") == 0 && secs < 3.0,
		   "timeout kills the hook after 1 s (%.2f s, %s)", secs, err.msg);
		_cleanup_free_ char *sp = slurp("sleeppid");
		int sleeper = atoi(sp);
		ok(sleeper > 1 && wait_dead(sleeper), "the hook's own children are killed with it (pid %d)",
		   sleeper);
		if (sleeper > 1)
			kill(sleeper, SIGKILL);
		hook_free(&h);
	}
	/* a daemonised grandchild holding the output pipes does not block us */
	{
		struct oci_hook h = sh_hook("sleep 5 & echo $! > $D/bgpid; exit 0", NULL, 0);
		uint64_t t0 = now_ns();
		int r = hooks_run(&h, 1, "poststart", state, &err);
		double secs = (double)(now_ns() - t0) / 1e9;
		ok(r == 0 && secs < 2.0, "hook returns while its background child lives on (%.2f s)", secs);
		_cleanup_free_ char *bg = slurp("bgpid");
		if (atoi(bg) > 1)
			kill(atoi(bg), SIGKILL);
		hook_free(&h);
	}
	/* killed by a signal */
	{
		struct oci_hook h = sh_hook("kill -9 $$", NULL, 0);
		int r = hooks_run(&h, 1, "poststop", state, &err);
		ok(r < 0 && strcmp(err.msg, "poststop hook /bin/sh killed by signal 9") == 0,
		   "signal death reported (%s)", err.msg);
		hook_free(&h);
	}
	/* exec failure */
	{
		struct oci_hook h = {.path = "/nonexistent/hook"};
		int r = hooks_run(&h, 1, "prestart", state, &err);
		ok(r < 0 && strstr(err.msg,
				   "prestart hook /nonexistent/hook: exec failed: No such file or directory"),
		   "missing hook binary (%s)", err.msg);
		struct oci_hook rel = {.path = "relative/hook"};
		r = hooks_run(&rel, 1, "prestart", state, &err);
		ok(r < 0 && strstr(err.msg, "must be absolute"), "relative hook path rejected (%s)", err.msg);
	}
	/* no fd leaks, even of fds opened without O_CLOEXEC */
	{
		int leaky = open("/dev/null", O_RDONLY); /* deliberately no O_CLOEXEC */
		int leaky2 = dup2(leaky, 47);
		struct oci_hook h = sh_hook("exec ls /proc/self/fd > $D/fds", NULL, 0);
		int r = hooks_run(&h, 1, "prestart", state, &err);
		_cleanup_free_ char *got = slurp("fds");
		/* 3 is ls' own handle on /proc/self/fd */
		ok(r == 0 && strcmp(got, "0\n1\n2\n3\n") == 0,
		   "hook sees only fds 0 1 2 (+ ls' dir fd 3): %s", oneline(got));
		ok(fcntl(leaky2, F_GETFD) == 0,
		   "the runtime's own fd 47 is still open and still inheritable");
		close(leaky);
		close(leaky2);
		hook_free(&h);
	}
	/* empty list */
	ok(hooks_run(NULL, 0, "prestart", state, &err) == 0, "empty hook list");

	_cleanup_free_ char *cmd = xasprintf("rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return tap_done();
}
