/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "rootfs/mountopt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include "common/cleanup.h"
#include "common/util.h"

#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000 /* linux 5.10; glibc 2.36 lacks the name */
#endif

enum opt_kind { OPT_FLAG, OPT_PROPAGATION, OPT_REC_ATTR, OPT_BIND, OPT_IDMAP, OPT_TMPCOPYUP, OPT_IGNORE };

struct opt_def {
	const char *name;
	enum opt_kind kind;
	bool clear;
	unsigned long value; /* MS_* or MOUNT_ATTR_* */
};

static const struct opt_def opt_table[] = {
    {"defaults", OPT_IGNORE, false, 0},
    {"ro", OPT_FLAG, false, MS_RDONLY},
    {"rw", OPT_FLAG, true, MS_RDONLY},
    {"nosuid", OPT_FLAG, false, MS_NOSUID},
    {"suid", OPT_FLAG, true, MS_NOSUID},
    {"nodev", OPT_FLAG, false, MS_NODEV},
    {"dev", OPT_FLAG, true, MS_NODEV},
    {"noexec", OPT_FLAG, false, MS_NOEXEC},
    {"exec", OPT_FLAG, true, MS_NOEXEC},
    {"sync", OPT_FLAG, false, MS_SYNCHRONOUS},
    {"async", OPT_FLAG, true, MS_SYNCHRONOUS},
    {"dirsync", OPT_FLAG, false, MS_DIRSYNC},
    {"remount", OPT_FLAG, false, MS_REMOUNT},
    {"mand", OPT_FLAG, false, MS_MANDLOCK},
    {"nomand", OPT_FLAG, true, MS_MANDLOCK},
    {"noatime", OPT_FLAG, false, MS_NOATIME},
    {"atime", OPT_FLAG, true, MS_NOATIME},
    {"nodiratime", OPT_FLAG, false, MS_NODIRATIME},
    {"diratime", OPT_FLAG, true, MS_NODIRATIME},
    {"relatime", OPT_FLAG, false, MS_RELATIME},
    {"norelatime", OPT_FLAG, true, MS_RELATIME},
    {"strictatime", OPT_FLAG, false, MS_STRICTATIME},
    {"nostrictatime", OPT_FLAG, true, MS_STRICTATIME},
    {"silent", OPT_FLAG, false, MS_SILENT},
    {"loud", OPT_FLAG, true, MS_SILENT},
    {"iversion", OPT_FLAG, false, MS_I_VERSION},
    {"noiversion", OPT_FLAG, true, MS_I_VERSION},
    {"lazytime", OPT_FLAG, false, MS_LAZYTIME},
    {"nolazytime", OPT_FLAG, true, MS_LAZYTIME},
    {"nosymfollow", OPT_FLAG, false, MS_NOSYMFOLLOW},
    {"symfollow", OPT_FLAG, true, MS_NOSYMFOLLOW},
    {"bind", OPT_BIND, false, 0},
    {"rbind", OPT_BIND, false, MS_REC},
    {"shared", OPT_PROPAGATION, false, MS_SHARED},
    {"rshared", OPT_PROPAGATION, false, MS_SHARED | MS_REC},
    {"slave", OPT_PROPAGATION, false, MS_SLAVE},
    {"rslave", OPT_PROPAGATION, false, MS_SLAVE | MS_REC},
    {"private", OPT_PROPAGATION, false, MS_PRIVATE},
    {"rprivate", OPT_PROPAGATION, false, MS_PRIVATE | MS_REC},
    {"unbindable", OPT_PROPAGATION, false, MS_UNBINDABLE},
    {"runbindable", OPT_PROPAGATION, false, MS_UNBINDABLE | MS_REC},
    {"rro", OPT_REC_ATTR, false, MOUNT_ATTR_RDONLY},
    {"rrw", OPT_REC_ATTR, true, MOUNT_ATTR_RDONLY},
    {"rnosuid", OPT_REC_ATTR, false, MOUNT_ATTR_NOSUID},
    {"rsuid", OPT_REC_ATTR, true, MOUNT_ATTR_NOSUID},
    {"rnodev", OPT_REC_ATTR, false, MOUNT_ATTR_NODEV},
    {"rdev", OPT_REC_ATTR, true, MOUNT_ATTR_NODEV},
    {"rnoexec", OPT_REC_ATTR, false, MOUNT_ATTR_NOEXEC},
    {"rexec", OPT_REC_ATTR, true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", OPT_REC_ATTR, false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", OPT_REC_ATTR, true, MOUNT_ATTR_NODIRATIME},
    {"rnosymfollow", OPT_REC_ATTR, false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", OPT_REC_ATTR, true, MOUNT_ATTR_NOSYMFOLLOW},
    /* The atime mode is one field: setting any of these replaces it. */
    {"rnoatime", OPT_REC_ATTR, false, MOUNT_ATTR_NOATIME | (1UL << 63)},
    {"rstrictatime", OPT_REC_ATTR, false, MOUNT_ATTR_STRICTATIME | (1UL << 63)},
    {"rrelatime", OPT_REC_ATTR, false, MOUNT_ATTR_RELATIME | (1UL << 63)},
    {"ratime", OPT_REC_ATTR, false, MOUNT_ATTR_RELATIME | (1UL << 63)},
    {"idmap", OPT_IDMAP, false, 0},
    {"ridmap", OPT_IDMAP, false, MS_REC},
    {"tmpcopyup", OPT_TMPCOPYUP, false, 0},
};

#define REC_ATIME_MARK (1UL << 63)

static const struct opt_def *opt_lookup(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_table); i++)
		if (strcmp(opt_table[i].name, name) == 0)
			return &opt_table[i];
	return NULL;
}

int mount_propagation_parse(const char *word, unsigned long *flags)
{
	const struct opt_def *d = opt_lookup(word);
	if (d == NULL || d->kind != OPT_PROPAGATION)
		return -1;
	*flags = d->value;
	return 0;
}

static void data_append(char **data, const char *opt)
{
	if (*data == NULL) {
		*data = xstrdup(opt);
		return;
	}
	char *joined = xasprintf("%s,%s", *data, opt);
	free(*data);
	*data = joined;
}

int mount_options_parse(char *const *options, size_t n_options, struct mount_options *out,
			struct hangar_error *err)
{
	struct mount_options mo = {0};
	for (size_t i = 0; i < n_options; i++) {
		const char *opt = options[i];
		const struct opt_def *d = opt_lookup(opt);
		if (d == NULL) {
			if (*opt == '\0')
				continue;
			data_append(&mo.data, opt);
			continue;
		}
		switch (d->kind) {
		case OPT_IGNORE:
			break;
		case OPT_FLAG:
			if (d->value & MS_ATIME_MASK) {
				/* A later atime option replaces earlier ones. */
				if (!d->clear) {
					mo.flags &=
					    ~(unsigned long)(MS_NOATIME | MS_RELATIME | MS_STRICTATIME);
					mo.cleared &=
					    ~(unsigned long)(MS_NOATIME | MS_RELATIME | MS_STRICTATIME);
				}
				mo.atime_given = true;
			}
			if (d->clear) {
				mo.flags &= ~d->value;
				mo.cleared |= d->value;
			} else {
				mo.flags |= d->value;
				mo.cleared &= ~d->value;
			}
			break;
		case OPT_BIND:
			mo.bind = true;
			if (d->value & MS_REC)
				mo.recursive_bind = true;
			break;
		case OPT_PROPAGATION:
			if (mo.n_propagation == (int)ARRAY_SIZE(mo.propagation)) {
				mount_options_clear(&mo);
				return hangar_error_set(err, HANGAR_E_CONFIG, 0,
							"too many propagation options (\"%s\")", opt);
			}
			mo.propagation[mo.n_propagation++] = d->value;
			break;
		case OPT_REC_ATTR:
			if (d->value & REC_ATIME_MARK) {
				mo.rec_attr_clr |= MOUNT_ATTR__ATIME;
				mo.rec_attr_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
				mo.rec_attr_set |= d->value & ~REC_ATIME_MARK;
			} else if (d->clear) {
				mo.rec_attr_clr |= d->value;
				mo.rec_attr_set &= ~(uint64_t)d->value;
			} else {
				mo.rec_attr_set |= d->value;
				mo.rec_attr_clr &= ~(uint64_t)d->value;
			}
			break;
		case OPT_IDMAP:
			mo.idmap = true;
			if (d->value & MS_REC)
				mo.recursive_idmap = true;
			break;
		case OPT_TMPCOPYUP:
			mo.tmpcopyup = true;
			break;
		}
	}
	*out = mo;
	return 0;
}

void mount_options_clear(struct mount_options *mo)
{
	free(mo->data);
	mo->data = NULL;
}

int mount_flags_of_fd(int fd, unsigned long *ms_flags)
{
	struct statvfs st;
	if (fstatvfs(fd, &st) < 0)
		return -1;
	static const struct {
		unsigned long st, ms;
	} map[] = {
	    {ST_RDONLY, MS_RDONLY},	{ST_NOSUID, MS_NOSUID},		  {ST_NODEV, MS_NODEV},
	    {ST_NOEXEC, MS_NOEXEC},	{ST_NOATIME, MS_NOATIME},	  {ST_NODIRATIME, MS_NODIRATIME},
	    {ST_RELATIME, MS_RELATIME}, {ST_NOSYMFOLLOW, MS_NOSYMFOLLOW},
	};
	unsigned long f = 0;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (st.f_flag & map[i].st)
			f |= map[i].ms;
	*ms_flags = f;
	return 0;
}
