/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image store: busybox, directory and tarball imports, list, remove. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "rootfs/image.h"
#include "rootfs/overlay.h"
#include "tests/unit/tap.h"

static char scratch[] = "/tmp/hangar-test-image.XXXXXX";

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = NULL;
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	int r = system(cmd);
	free(cmd);
	return r;
}

static bool link_is(const char *path, const char *target)
{
	char buf[256];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, target) == 0;
}

/* Nothing but finished images in the store: no staging leftovers. */
static int leftovers(const char *store)
{
	_cleanup_closedir_ DIR *d = opendir(store);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (str_has_prefix(de->d_name, ".import-") || str_has_prefix(de->d_name, ".remove-"))
			n++;
	return n;
}

static bool content_is(const char *path, const char *want)
{
	_cleanup_free_ char *text = NULL;
	struct hangar_error err;
	return read_file_at(AT_FDCWD, path, &text, NULL, &err) == 0 && strcmp(text, want) == 0;
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (owners are preserved)\n");
		return 77;
	}
	if (mkdtemp(scratch) == NULL)
		return 1;
	_cleanup_free_ char *store = xasprintf("%s/images", scratch);
	struct hangar_error err = {0};

	ok(image_name_valid("busybox") && image_name_valid("debian-12.1_x"), "valid image names accepted");
	ok(!image_name_valid("") && !image_name_valid("../x") && !image_name_valid(".hidden") &&
	       !image_name_valid("a/b") && !image_name_valid("-x"),
	   "names with '/', '..', a leading '.' or '-' refused");

	/* busybox */
	int r = image_import_busybox(store, "bb", "/bin/busybox", &err);
	ok(r == 0, "import the busybox image%s%s", r ? ": " : "", r ? err.msg : "");
	_cleanup_free_ char *bb = NULL;
	ok(image_rootfs_path(store, "bb", &bb, &err) == 0, "image_rootfs_path finds it");
	_cleanup_free_ char *sh_link = xasprintf("%s/bin/sh", bb ? bb : "");
	_cleanup_free_ char *busybox = xasprintf("%s/bin/busybox", bb ? bb : "");
	ok(access(busybox, X_OK) == 0 && link_is(sh_link, "/bin/busybox"),
	   "busybox image has /bin/busybox and /bin/sh");
	_cleanup_free_ char *passwd = xasprintf("%s/etc/passwd", bb ? bb : "");
	ok(content_is(passwd, "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
			      "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
	   "busybox image has /etc/passwd");
	_cleanup_free_ char *tmp = xasprintf("%s/tmp", bb ? bb : "");
	struct stat st;
	ok(stat(tmp, &st) == 0 && (st.st_mode & 07777) == 01777, "/tmp is 1777");
	_cleanup_free_ char *chroot_cmd =
	    xasprintf("chroot '%s' /bin/sh -c 'echo in-image' 2>/dev/null", bb ? bb : "");
	FILE *p = popen(chroot_cmd, "r");
	char line[64] = "";
	if (p) {
		if (!fgets(line, sizeof(line), p))
			line[0] = '\0';
		pclose(p);
	}
	ok(strcmp(line, "in-image\n") == 0, "a shell runs from the busybox image");
	r = image_import_busybox(store, "bb", "/bin/busybox", &err);
	ok(r < 0 && err.code == HANGAR_E_EXISTS, "importing the same name again: already exists (%s)",
	   err.msg);
	r = image_import_busybox(store, "notbb", "/etc/passwd", &err);
	ok(r < 0 && strstr(err.msg, "notbb"), "a non-busybox binary is refused (%s)", err.msg);
	r = image_import_busybox(store, "nottrue", "/bin/true", &err);
	ok(r < 0 && strstr(err.msg, "static"), "a dynamic binary is refused (%s)", err.msg);
	ok(leftovers(store) == 0, "failed imports leave no staging directory");

	/* directory */
	_cleanup_free_ char *src = xasprintf("%s/src", scratch);
	sh("mkdir -p '%s/sub' && echo hi > '%s/sub/f' && chown 7:8 '%s/sub/f' && chmod 4750 '%s/sub/f' && "
	   "ln -s sub/f '%s/link' && mkfifo '%s/fifo'",
	   src, src, src, src, src, src);
	r = image_import_dir(store, "fromdir", src, &err);
	ok(r == 0, "import a directory%s%s", r ? ": " : "", r ? err.msg : "");
	_cleanup_free_ char *f = xasprintf("%s/fromdir/rootfs/sub/f", store);
	ok(content_is(f, "hi\n") && stat(f, &st) == 0 && st.st_uid == 7 && st.st_gid == 8 &&
	       (st.st_mode & 07777) == 04750,
	   "directory import keeps content, owner and set-id mode");
	_cleanup_free_ char *link = xasprintf("%s/fromdir/rootfs/link", store);
	_cleanup_free_ char *fifo = xasprintf("%s/fromdir/rootfs/fifo", store);
	ok(link_is(link, "sub/f") && stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode),
	   "symlinks and fifos copied");
	_cleanup_free_ char *missing = xasprintf("%s/nope", scratch);
	r = image_import_dir(store, "missing", missing, &err);
	ok(r < 0 && strstr(err.msg, missing) && leftovers(store) == 0,
	   "missing source: error, no leftovers (%s)", err.msg);

	/* tarball */
	_cleanup_free_ char *tarball = xasprintf("%s/img.tar.gz", scratch);
	if (sh("tar --numeric-owner -C '%s' -czf '%s' . 2>/dev/null", src, tarball) != 0) {
		skip("tar(1) cannot create the test archive");
	} else {
		r = image_import_tar(store, "fromtar", tarball, &err);
		ok(r == 0, "import a gzip tarball%s%s", r ? ": " : "", r ? err.msg : "");
		_cleanup_free_ char *tf = xasprintf("%s/fromtar/rootfs/sub/f", store);
		ok(content_is(tf, "hi\n") && stat(tf, &st) == 0 && st.st_uid == 7 &&
		       (st.st_mode & 07777) == 04750,
		   "tarball import keeps content, numeric owner and mode");
	}
	_cleanup_free_ char *garbage = xasprintf("%s/garbage.tar", scratch);
	sh("head -c 3000 /dev/urandom > '%s'", garbage);
	r = image_import_tar(store, "garbage", garbage, &err);
	ok(r < 0 && strstr(err.msg, "tar exit") && leftovers(store) == 0,
	   "a corrupt tarball: error quoting tar, no leftovers (%s)", err.msg);
	_cleanup_free_ char *evil = xasprintf("%s/evil.tar", scratch);
	if (sh("python3 -c 'import io,tarfile,sys\n"
	       "t=tarfile.open(sys.argv[1],\"w\")\n"
	       "i=tarfile.TarInfo(\"../../escaped\");d=b\"x\";i.size=len(d);t.addfile(i,io.BytesIO(d))\n"
	       "i=tarfile.TarInfo(\"lnk\");i.type=tarfile.SYMTYPE;i.linkname=\"/tmp\";t.addfile(i)\n"
	       "i=tarfile.TarInfo(\"lnk/through-link\");d=b\"y\";i.size=len(d);t.addfile(i,io.BytesIO(d))\n"
	       "t.close()' '%s' 2>/dev/null",
	       evil) != 0) {
		skip("python3 missing: no hostile tarball");
	} else {
		image_import_tar(store, "evil", evil, &err);
		_cleanup_free_ char *escaped = xasprintf("%s/escaped", scratch);
		_cleanup_free_ char *escaped2 = xasprintf("%s/escaped", store);
		ok(access(escaped, F_OK) < 0 && access(escaped2, F_OK) < 0 &&
		       access("/tmp/through-link", F_OK) < 0,
		   "a tarball with ../ members and a symlink trick writes nothing outside the image");
	}

	/* list, overlay instance on an image, remove */
	char **names = NULL;
	bool sorted = true, has_bb = false, has_dir = false, hidden = false;
	if (image_list(store, &names, &err) == 0 && names) {
		for (size_t i = 0; names[i]; i++) {
			if (i > 0 && strcmp(names[i - 1], names[i]) >= 0)
				sorted = false;
			has_bb |= strcmp(names[i], "bb") == 0;
			has_dir |= strcmp(names[i], "fromdir") == 0;
			hidden |= names[i][0] == '.';
		}
	}
	ok(names && sorted && has_bb && has_dir && !hidden,
	   "image_list is sorted, has the imports, skips staging entries");
	strv_free(names);

	_cleanup_free_ char *inst = xasprintf("%s/inst", scratch);
	sh("mkdir -p '%s/upper' '%s/work' '%s/rootfs'", inst, inst, inst);
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(2);
		_cleanup_free_ char *up = xasprintf("%s/upper", inst), *wk = xasprintf("%s/work", inst);
		_cleanup_free_ char *merged = xasprintf("%s/rootfs", inst);
		const char *lowers[] = {bb};
		struct hangar_error e2;
		if (overlay_mount(lowers, 1, up, wk, merged, &e2) < 0)
			_exit(3);
		_cleanup_free_ char *newf = xasprintf("%s/etc/instance-file", merged);
		struct hangar_error e3;
		_exit(write_file_at(AT_FDCWD, newf, "i\n", 2, O_CREAT, 0644, &e3) == 0 ? 0 : 4);
	}
	int status;
	waitpid(pid, &status, 0);
	_cleanup_free_ char *in_upper = xasprintf("%s/upper/etc/instance-file", inst);
	_cleanup_free_ char *in_image = xasprintf("%s/etc/instance-file", bb ? bb : "");
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 && access(in_upper, F_OK) == 0 &&
	       access(in_image, F_OK) < 0,
	   "an overlay instance root on the image writes to its upper layer only (status %d)", status);

	r = image_remove(store, "fromdir", &err);
	ok(r == 0 && image_rootfs_path(store, "fromdir", &bb, &err) < 0 && err.code == HANGAR_E_NOTFOUND,
	   "image_remove, then the image is gone");
	ok(leftovers(store) == 0, "remove leaves nothing behind");
	r = image_remove(store, "fromdir", &err);
	ok(r < 0 && err.code == HANGAR_E_NOTFOUND, "removing a missing image: not found (%s)", err.msg);

	sh("rm -rf '%s'", scratch);
	return tap_done();
}
