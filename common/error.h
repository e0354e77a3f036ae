/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HANGAR_ERROR_H
#define HANGAR_ERROR_H

#include <stdarg.h>

/*
 * The library never prints and never exits: every fallible function returns
 * int (negative on failure) and fills a struct hangar_error.  Only cli/ prints.
 */
enum hangar_error_code {
	HANGAR_OK = 0,
	HANGAR_E_SYS,		/* a system call failed; err_no says which errno */
	HANGAR_E_CONFIG,	/* invalid configuration (JSON path in message) */
	HANGAR_E_NOTFOUND,	/* container / instance / file not found */
	HANGAR_E_EXISTS,	/* id already taken */
	HANGAR_E_STATE,		/* operation not allowed in this state */
	HANGAR_E_UNSUPPORTED,	/* kernel / host lacks the feature */
	HANGAR_E_USAGE,		/* bad command-line usage */
	HANGAR_E_CHILD,		/* error reported by the container-side process */
};

struct hangar_error {
	int code;
	int err_no;
	char msg[1024];
};

/* Set err and return -1.  fmt is the context ("open /x"); when err_no != 0,
 * ": strerror(err_no)" is appended. */
int hangar_error_set(struct hangar_error *err, int code, int err_no, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int hangar_error_setv(struct hangar_error *err, int code, int err_no, const char *fmt, va_list ap);

/* Shorthand for HANGAR_E_SYS with the current errno. */
#define hangar_sys_error(err, ...) hangar_error_set((err), HANGAR_E_SYS, errno, __VA_ARGS__)

/* Prefix an existing message with more context: "prefix: old message". */
int hangar_error_prefix(struct hangar_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void hangar_error_clear(struct hangar_error *err);

#endif
