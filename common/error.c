/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/error.h"

#include <stdio.h>
#include <string.h>

int hangar_error_setv(struct hangar_error *err, int code, int err_no, const char *fmt, va_list ap)
{
	if (err == NULL)
		return -1;
	err->code = code;
	err->err_no = err_no;
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (n < 0)
		n = 0;
	if (err_no != 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(err_no));
	return -1;
}

int hangar_error_set(struct hangar_error *err, int code, int err_no, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hangar_error_setv(err, code, err_no, fmt, ap);
	va_end(ap);
	return -1;
}

int hangar_error_prefix(struct hangar_error *err, const char *fmt, ...)
{
	char prefix[512];
	char old[sizeof(err->msg)];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	size_t n = strlen(prefix);
	if (n > sizeof(err->msg) - 3)
		n = sizeof(err->msg) - 3;
	memcpy(err->msg, prefix, n);
	memcpy(err->msg + n, ": ", 2);
	size_t rest = sizeof(err->msg) - n - 3;
	strncpy(err->msg + n + 2, old, rest);
	err->msg[sizeof(err->msg) - 1] = '\0';
	return -1;
}

void hangar_error_clear(struct hangar_error *err)
{
	if (err == NULL)
		return;
	err->code = HANGAR_OK;
	err->err_no = 0;
	err->msg[0] = '\0';
}
