/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `events`: runc-format JSON stats (and OOM notifications) for a container. */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "cli/hangar-oci/verbs.h"
#include "common/util.h"
#include "runtime/state.h"

static int parse_interval(const char *s, int *ms)
{
	/* Go duration subset: 500ms, 5s, 1m, or a bare number of seconds. */
	char *end;
	double v = strtod(s, &end);
	if (end == s || v <= 0)
		return -1;
	double mult = 1000;
	if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		mult = 1000;
	else if (strcmp(end, "m") == 0)
		mult = 60000;
	else
		return -1;
	*ms = (int)(v * mult);
	return *ms > 0 ? 0 : -1;
}

static void emit(const char *type, const char *id, const char *data_json)
{
	if (data_json)
		printf("{\"type\":\"%s\",\"id\":\"%s\",\"data\":%s}\n", type, id, data_json);
	else
		printf("{\"type\":\"%s\",\"id\":\"%s\"}\n", type, id);
	fflush(stdout);
}

/* One counter per back-end, never a mix: memory.events oom_kill on v2 and
 * memory.oom_control oom_kill on v1 (both count OOM kills).  Falling back
 * from one counter to another mid-stream compared unrelated numbers and
 * could miss an event. */
static int read_oom_kills(struct cgroup_manager *cg, uint64_t *out, struct hangar_error *err)
{
	struct cgroup_stats s;
	memset(&s, 0, sizeof(s));
	int rc = cgroup_manager_stats(cg, &s, err);
	*out = s.mem_oom_kill;
	cgroup_stats_clear(&s);
	return rc;
}

static int emit_stats(struct cgroup_manager *cg, const char *id, struct hangar_error *err)
{
	struct cgroup_stats st;
	memset(&st, 0, sizeof(st));
	if (cgroup_manager_stats(cg, &st, err) < 0)
		return -1;
	char *json = cgroup_stats_to_runc_json(&st);
	emit("stats", id, json);
	free(json);
	cgroup_stats_clear(&st);
	return 0;
}

int cmd_events(int argc, char **argv)
{
	enum { O_INTERVAL = 256, O_STATS };
	static const struct option opts[] = {{"interval", required_argument, NULL, O_INTERVAL},
					     {"stats", no_argument, NULL, O_STATS},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int interval_ms = 5000, c;
	bool once = false;
	while ((c = cli_getopt(argc, argv, "+h", opts)) != -1) {
		switch (c) {
		case O_INTERVAL:
			if (parse_interval(optarg, &interval_ms) < 0) {
				cli_error("events: invalid --interval '%s' (e.g. 500ms, 5s)", optarg);
				return 1;
			}
			break;
		case O_STATS:
			once = true;
			break;
		case 'h':
			printf("usage: hangar-oci events [--stats] [--interval 5s] <container-id>\n\n"
			       "Streams stats every interval and OOM notifications as JSON lines;\n"
			       "--stats prints one stats record and exits.\n");
			return 0;
		default:
			return cli_usage_error("events", "invalid flag");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("events", "requires exactly 1 argument: the container id");
	const char *id = argv[optind];
	struct hangar_error err;
	struct container_state *st = NULL;
	struct cgroup_manager *cg = NULL;
	int rc = 1, oomfd = -1;
	if (state_load(oci_root(), id, &st, &err) < 0)
		return cli_fail(&err);
	if (st->status == STATUS_STOPPED) {
		cli_error("container %s is not running", id);
		goto out;
	}
	if (st->cgroup == NULL) {
		cli_error("container %s has no cgroup: no stats available", id);
		goto out;
	}
	if (cgroup_manager_open(st->cgroup, &cg, &err) < 0) {
		cli_fail(&err);
		goto out;
	}
	if (once) {
		rc = emit_stats(cg, id, &err) < 0 ? cli_fail(&err) : 0;
		goto out;
	}
	oomfd = cgroup_manager_oom_event_fd(cg, &err);
	uint64_t last_oom = 0;
	if (read_oom_kills(cg, &last_oom, &err) < 0)
		last_oom = 0;
	uint64_t next = now_ns();
	for (;;) {
		state_refresh_status(st);
		if (st->status == STATUS_STOPPED) {
			rc = 0;
			break;
		}
		uint64_t now = now_ns();
		if (now >= next) {
			if (emit_stats(cg, id, &err) < 0) {
				rc = cli_fail(&err);
				break;
			}
			next = now + (uint64_t)interval_ms * 1000000ull;
		}
		int wait_ms = (int)((next - now_ns()) / 1000000ull);
		if (wait_ms > 1000)
			wait_ms = 1000; /* re-check liveness at least every second */
		struct pollfd pfd = {.fd = oomfd, .events = POLLIN};
		int n = poll(&pfd, oomfd >= 0 ? 1 : 0, wait_ms < 0 ? 0 : wait_ms);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && (pfd.revents & POLLIN)) {
			char buf[4096];
			if (read(oomfd, buf, sizeof(buf)) < 0 && errno != EAGAIN)
				break;
		}
		/* The counter is checked after every wake-up, not only after a
		 * notification: v1's eventfd fires before the kill is counted. */
		uint64_t oom;
		if (read_oom_kills(cg, &oom, &err) == 0) {
			if (oom > last_oom)
				emit("oom", id, NULL);
			last_oom = oom;
		}
	}
out:
	if (oomfd >= 0)
		close(oomfd);
	if (cg)
		cgroup_manager_free(cg);
	state_free(st);
	return rc;
}
