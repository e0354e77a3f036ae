/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /etc/subuid parsing and the rootless mapping choice (namespaces/subid.c). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "namespaces/subid.h"
#include "tap.h"

static char dir[] = "/tmp/hangar-test-subid.XXXXXX";

static char *fixture(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct hangar_error err;
	if (write_file_at(AT_FDCWD, path, text, strlen(text), O_CREAT | O_TRUNC, 0644, &err) < 0) {
		printf("Bail out! %s\n", err.msg);
		exit(1);
	}
	return path;
}

static void test_parse(void)
{
	struct hangar_error err;
	struct ns_subid_range *r = NULL;
	size_t n = 99;
	char *f = fixture("subuid", "# comment\n"
				    "alice:100000:65536\n"
				    "bob:165536:65536\n"
				    "alice:bad:1\n"	 /* malformed: skipped */
				    "alice:400000:0\n"	 /* empty: skipped */
				    "1005:300000:1000\n" /* numeric owner */
				    "alice:500000:10\n"
				    "alicex:600000:10\n" /* prefix of another name */
				    "carol\n");
	ok(ns_subid_ranges(f, "alice", 1004, &r, &n, &err) == 0 && n == 2,
	   "alice has two valid ranges (n=%zu)", n);
	ok(n == 2 && r[0].start == 100000 && r[0].count == 65536 && r[1].start == 500000 && r[1].count == 10,
	   "ranges in file order, malformed and empty lines skipped");
	ok(n == 2 && ns_subid_covers(r, n, 100000, 65536) && ns_subid_covers(r, n, 100010, 5) &&
	       !ns_subid_covers(r, n, 165530, 10) && !ns_subid_covers(r, n, 99999, 2),
	   "covers: inside one range only");
	free(r);
	ok(ns_subid_ranges(f, "dave", 1005, &r, &n, &err) == 0 && n == 1 && r[0].start == 300000,
	   "a numeric owner field matches the uid");
	free(r);
	ok(ns_subid_ranges(f, "carol", 1006, &r, &n, &err) == 0 && n == 0 && r == NULL, "no range: n=0");
	ok(ns_subid_ranges("/nonexistent/subuid", "alice", 1004, &r, &n, &err) == 0 && n == 0,
	   "missing file: no ranges, no error");
	free(f);
}

static void test_mappings(void)
{
	struct hangar_error err;
	struct ns_rootless_maps m;
	char *su = fixture("su", "alice:100000:65536\nalice:300000:100\n");
	char *sg = fixture("sg", "alice:200000:65536\n");
	char *empty = fixture("empty", "bob:1:2\n");
	struct ns_rootless_query q = {su, sg, "alice", 1004, 1010, true};

	ok(ns_rootless_mappings_from(&q, &m, &err) == 0 && m.note == NULL, "ranges used when present");
	ok(m.n_uids == 3 && m.uids[0].container_id == 0 && m.uids[0].host_id == 1004 && m.uids[0].size == 1 &&
	       m.uids[1].container_id == 1 && m.uids[1].host_id == 100000 && m.uids[1].size == 65536 &&
	       m.uids[2].container_id == 65537 && m.uids[2].host_id == 300000 && m.uids[2].size == 100,
	   "uid map: 0->uid, then the ranges back to back");
	ok(m.n_gids == 2 && m.gids[0].host_id == 1010 && m.gids[1].container_id == 1 &&
	       m.gids[1].host_id == 200000,
	   "gid map: 0->gid, 1..65536->subgid range");
	ns_rootless_maps_release(&m);

	q.subgid_path = empty;
	ok(ns_rootless_mappings_from(&q, &m, &err) == 0 && m.note && strstr(m.note, empty) &&
	       strstr(m.note, "single-id"),
	   "no subgid range: single-id with a note naming the file: %s", m.note ? m.note : "(none)");
	ok(m.n_uids == 1 && m.uids[0].host_id == 1004 && m.n_gids == 1 && m.gids[0].host_id == 1010,
	   "single-id mapping of uid and gid");
	ns_rootless_maps_release(&m);

	q.subgid_path = sg;
	q.helpers_present = false;
	ok(ns_rootless_mappings_from(&q, &m, &err) == 0 && m.note && strstr(m.note, "uidmap") &&
	       m.n_uids == 1,
	   "no newuidmap: single-id, note names the uidmap package");
	ns_rootless_maps_release(&m);
	free(su);
	free(sg);
	free(empty);
}

int main(void)
{
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_parse();
	test_mappings();
	char *root = passwd_name_of(0);
	is_str(root ? root : "(null)", "root", "/etc/passwd names uid 0 root");
	free(root);
	ok(passwd_name_of(4000000000u) == NULL, "a uid /etc/passwd does not list has no name");
	struct hangar_error err;
	rm_rf(dir, &err);
	return tap_done();
}
