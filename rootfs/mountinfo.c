/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "rootfs/mountinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape(const char *s)
{
	char *out = xmalloc0(strlen(s) + 1);
	char *o = out;
	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*o++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static void entry_clear(struct mountinfo_entry *e)
{
	free(e->root);
	free(e->mount_point);
	free(e->mount_options);
	free(e->optional);
	free(e->fstype);
	free(e->source);
	free(e->super_options);
}

static int parse_line(char *line, struct mountinfo_entry *e)
{
	char *fields[6];
	char *save = NULL;
	char *tok = strtok_r(line, " ", &save);
	int n = 0;
	while (tok && n < 6) {
		fields[n++] = tok;
		tok = strtok_r(NULL, " ", &save);
	}
	if (n < 6)
		return -1;
	if (sscanf(fields[0], "%d", &e->id) != 1 || sscanf(fields[1], "%d", &e->parent_id) != 1 ||
	    sscanf(fields[2], "%u:%u", &e->major, &e->minor) != 2)
		return -1;
	e->root = unescape(fields[3]);
	e->mount_point = unescape(fields[4]);
	e->mount_options = xstrdup(fields[5]);
	/* Optional fields run until the lone "-" separator. */
	_cleanup_free_ char *optional = xstrdup("");
	while (tok && strcmp(tok, "-") != 0) {
		char *joined = *optional ? xasprintf("%s %s", optional, tok) : xstrdup(tok);
		free(optional);
		optional = joined;
		tok = strtok_r(NULL, " ", &save);
	}
	e->optional = steal_pointer(&optional);
	if (tok == NULL)
		return -1;
	char *fstype = strtok_r(NULL, " ", &save);
	char *source = strtok_r(NULL, " ", &save);
	char *super = strtok_r(NULL, " ", &save);
	if (fstype == NULL || source == NULL || super == NULL)
		return -1;
	e->fstype = unescape(fstype);
	e->source = unescape(source);
	e->super_options = xstrdup(super);
	return 0;
}

int mountinfo_parse(const char *text, struct mountinfo *out, struct hangar_error *err)
{
	struct mountinfo mi = {0};
	size_t cap = 0;
	_cleanup_free_ char *copy = xstrdup(text);
	char *save = NULL;
	size_t lineno = 0;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (mi.n == cap) {
			cap = cap ? cap * 2 : 64;
			struct mountinfo_entry *grown = realloc(mi.entries, cap * sizeof(*grown));
			if (grown == NULL)
				abort();
			mi.entries = grown;
		}
		struct mountinfo_entry *e = &mi.entries[mi.n];
		memset(e, 0, sizeof(*e));
		if (parse_line(line, e) < 0) {
			entry_clear(e);
			mountinfo_free(&mi);
			return hangar_error_set(err, HANGAR_E_SYS, EINVAL, "mountinfo line %zu: malformed",
						lineno);
		}
		mi.n++;
	}
	*out = mi;
	return 0;
}

int mountinfo_read(const char *path, struct mountinfo *out, struct hangar_error *err)
{
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, path, &text, NULL, err) < 0)
		return -1;
	if (mountinfo_parse(text, out, err) < 0)
		return hangar_error_prefix(err, "%s", path);
	return 0;
}

void mountinfo_free(struct mountinfo *mi)
{
	for (size_t i = 0; i < mi->n; i++)
		entry_clear(&mi->entries[i]);
	free(mi->entries);
	mi->entries = NULL;
	mi->n = 0;
}

const struct mountinfo_entry *mountinfo_find(const struct mountinfo *mi, const char *path)
{
	for (size_t i = mi->n; i-- > 0;)
		if (strcmp(mi->entries[i].mount_point, path) == 0)
			return &mi->entries[i];
	return NULL;
}

const struct mountinfo_entry *mountinfo_containing(const struct mountinfo *mi, const char *path)
{
	const struct mountinfo_entry *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < mi->n; i++) {
		const char *mp = mi->entries[i].mount_point;
		size_t len = strlen(mp);
		bool prefix = strcmp(mp, "/") == 0 ||
			      (strncmp(path, mp, len) == 0 && (path[len] == '/' || path[len] == '\0'));
		if (prefix && (best == NULL || len >= best_len)) {
			best = &mi->entries[i];
			best_len = len;
		}
	}
	return best;
}

int mount_option_list_has(const char *list, const char *opt)
{
	size_t n = strlen(opt);
	const char *p = list;
	while (p && *p) {
		if (strncmp(p, opt, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return 0;
}
