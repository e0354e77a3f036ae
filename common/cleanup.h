/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_CLEANUP_H
#define HANGAR_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p)
{
	void **pp = (void **)p;
	free(*pp);
}

static inline void cleanup_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void cleanup_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void cleanup_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(cleanup_closedirp)))

/* Hand ownership out of a cleanup-managed variable. */
#define steal_pointer(pp)                   \
	({                                  \
		__typeof__(*(pp)) _p = *(pp); \
		*(pp) = NULL;               \
		_p;                         \
	})

#define steal_fd(fdp)           \
	({                      \
		int _fd = *(fdp); \
		*(fdp) = -1;      \
		_fd;              \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
