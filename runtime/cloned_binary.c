/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "runtime/cloned_binary.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"

#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

int ensure_cloned_binary(int argc, char **argv, struct hangar_error *err)
{
	(void)argc;
	_cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return hangar_sys_error(err, "open /proc/self/exe");
	int seals = fcntl(self, F_GET_SEALS);
	if (seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS)
		return 0;
	struct stat sb;
	if (fstat(self, &sb) < 0)
		return hangar_sys_error(err, "stat /proc/self/exe");
	_cleanup_close_ int mfd = memfd_create("hangar:[cloned-binary]", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return hangar_sys_error(err, "memfd_create");
	off_t off = 0;
	while (off < sb.st_size) {
		ssize_t n = sendfile(mfd, self, &off, (size_t)(sb.st_size - off));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hangar_sys_error(err, "copy runtime binary into memfd");
		}
		if (n == 0)
			break;
	}
	if (fcntl(mfd, F_ADD_SEALS, REQUIRED_SEALS) < 0)
		return hangar_sys_error(err, "seal memfd");
	syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
	return hangar_sys_error(err, "re-exec runtime from sealed memfd");
}
