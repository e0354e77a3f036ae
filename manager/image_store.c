/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image store: built-in busybox image, import, debootstrap, list, rm. */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "manager/image.h"
#include "manager/instance.h"
#include "manager/internal.h"
#include "namespaces/namespaces.h"
#include "namespaces/subid.h"
#include "runtime/state.h"

int image_store_validate_name(const char *name, struct hangar_error *err)
{
	size_t len = strlen(name);
	bool ok = len > 0 && len <= 64;
	for (size_t i = 0; ok && i < len; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		ok = alnum || (i > 0 && (c == '-' || c == '_' || c == '.'));
	}
	if (!ok)
		return hangar_error_set(err, HANGAR_E_USAGE, 0,
					"invalid image name '%s': 1 to 64 letters, digits, '-', '_' or '.'", name);
	return 0;
}

char *image_store_rootfs_path(const struct hangar_paths *p, const char *name)
{
	return xasprintf("%s/%s/rootfs", p->images_dir, name);
}

/* Run a tool, collecting stdout (optional) and the last line of stderr for
 * the error message. */
static int run_tool(char *const argv[], char **out, struct hangar_error *err)
{
	int outp[2] = {-1, -1}, errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0)
		return hangar_sys_error(err, "pipe");
	if (out && pipe2(outp, O_CLOEXEC) < 0) {
		close(errp[0]);
		close(errp[1]);
		return hangar_sys_error(err, "pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(errp[0]);
		close(errp[1]);
		if (out) {
			close(outp[0]);
			close(outp[1]);
		}
		return hangar_error_set(err, HANGAR_E_SYS, e, "fork for %s", argv[0]);
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(devnull, STDIN_FILENO);
		dup2(out ? outp[1] : devnull, STDOUT_FILENO);
		dup2(errp[1], STDERR_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(errp[1]);
	if (out)
		close(outp[1]);
	char *obuf = NULL, ebuf[4096];
	size_t olen = 0, elen = 0;
	bool out_open = out != NULL, err_open = true;
	while (out_open || err_open) {
		struct pollfd pfd[2] = {{.fd = err_open ? errp[0] : -1, .events = POLLIN},
					{.fd = out_open ? outp[0] : -1, .events = POLLIN}};
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents) {
			char tmp[4096];
			ssize_t n = read(errp[0], tmp, sizeof(tmp));
			if (n <= 0)
				err_open = false;
			/* Keep the tail: the last lines say what went wrong. */
			for (ssize_t i = 0; i < n; i++) {
				if (elen == sizeof(ebuf) - 1) {
					memmove(ebuf, ebuf + 1024, elen - 1024);
					elen -= 1024;
				}
				ebuf[elen++] = tmp[i];
			}
		}
		if (pfd[1].revents) {
			char tmp[65536];
			ssize_t n = read(outp[0], tmp, sizeof(tmp));
			if (n <= 0)
				out_open = false;
			else {
				obuf = realloc(obuf, olen + (size_t)n + 1);
				if (obuf == NULL)
					abort();
				memcpy(obuf + olen, tmp, (size_t)n);
				olen += (size_t)n;
			}
		}
	}
	close(errp[0]);
	if (out)
		close(outp[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	ebuf[elen] = '\0';
	while (elen > 0 && (ebuf[elen - 1] == '\n' || ebuf[elen - 1] == ' '))
		ebuf[--elen] = '\0';
	char *last = strrchr(ebuf, '\n');
	last = last ? last + 1 : ebuf;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* Some tools (debootstrap) say why on stdout: its last line
		 * then, when stderr had nothing. */
		_cleanup_free_ char *out_last = NULL;
		if (last[0] == '\0' && obuf && olen > 0) {
			while (olen > 0 && (obuf[olen - 1] == '\n' || obuf[olen - 1] == ' '))
				olen--;
			obuf[olen] = '\0';
			char *nl = strrchr(obuf, '\n');
			out_last = xstrdup(nl ? nl + 1 : obuf);
			last = out_last;
		}
		int r = hangar_error_set(err, HANGAR_E_CHILD, 0, "%s failed%s%s", argv[0],
					 last[0] ? ": " : "", last);
		free(obuf);
		return r;
	}
	if (out) {
		if (obuf == NULL)
			obuf = xstrdup("");
		else
			obuf[olen] = '\0';
		*out = obuf;
	}
	return 0;
}

static int write_text(const char *dir, const char *name, const char *text, mode_t mode, struct hangar_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	return write_file_at(AT_FDCWD, path, text, strlen(text), O_WRONLY | O_CREAT | O_TRUNC, mode, err);
}

/* The default image's inittab: no mounting (the runtime has set up /run,
 * /proc, /sys and the hostname, and the instance has no CAP_SYS_ADMIN). */
static const char busybox_inittab[] = "::sysinit:/bin/echo hangar: busybox init started\n"
				      "::respawn:-/bin/cttyhack /bin/sh\n"
				      "::ctrlaltdel:/sbin/reboot\n"
				      "::shutdown:/bin/echo hangar: busybox init shutting down\n"
				      "::shutdown:/bin/sync\n";

static int build_busybox_tree(const char *busybox, const char *rootfs, char *list, struct hangar_error *err)
{
	static const struct {
		const char *path;
		mode_t mode;
	} dirs[] = {{"bin", 0755},     {"sbin", 0755}, {"usr", 0755},	  {"usr/bin", 0755}, {"usr/sbin", 0755},
		    {"etc", 0755},     {"proc", 0555}, {"sys", 0555},	  {"dev", 0755},     {"tmp", 01777},
		    {"root", 0700},    {"var", 0755},  {"var/log", 0755}, {"var/run", 0755}, {"run", 0755},
		    {"home", 0755},    {"mnt", 0755}};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *d = xasprintf("%s/%s", rootfs, dirs[i].path);
		if (mkdir(d, dirs[i].mode) < 0 || chmod(d, dirs[i].mode) < 0)
			return hangar_sys_error(err, "create %s", d);
	}
	_cleanup_free_ char *target = xasprintf("%s/bin/busybox", rootfs);
	if (image_store_copy_file(busybox, target, err) < 0)
		return -1;
	char *save = NULL;
	for (char *applet = strtok_r(list, "\n", &save); applet; applet = strtok_r(NULL, "\n", &save)) {
		if (strcmp(applet, "bin/busybox") == 0 || applet[0] == '/' || strstr(applet, ".."))
			continue;
		_cleanup_free_ char *link_path = xasprintf("%s/%s", rootfs, applet);
		_cleanup_free_ char *parent = xstrdup(link_path);
		*strrchr(parent, '/') = '\0';
		if (mkdir_p(parent, 0755, err) < 0)
			return -1;
		if (symlink("/bin/busybox", link_path) < 0 && errno != EEXIST)
			return hangar_sys_error(err, "symlink %s", link_path);
	}
	_cleanup_free_ char *etc = xasprintf("%s/etc", rootfs);
	if (write_text(etc, "passwd",
		       "root:x:0:0:root:/root:/bin/sh\n"
		       "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
		       "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		       0644, err) < 0 ||
	    write_text(etc, "group", "root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\n", 0644, err) < 0 ||
	    write_text(etc, "hostname", "hangar\n", 0644, err) < 0 || write_text(etc, "hosts", "", 0644, err) < 0 ||
	    write_text(etc, "resolv.conf", "", 0644, err) < 0 ||
	    write_text(etc, "inittab", busybox_inittab, 0644, err) < 0 ||
	    write_text(etc, "profile", "export PATH=/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1='\\u@\\h:\\w\\$ '\n",
		       0644, err) < 0)
		return -1;
	return 0;
}

/* The default image holds busybox and nothing else: no loader, no libc.  A
 * dynamically linked busybox answers --list-full on the host but would make
 * an image where every command fails with ENOENT, so it is refused here by
 * its PT_INTERP program header (static and static-pie binaries have none). */
static int check_static_elf(const char *path, struct hangar_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hangar_sys_error(err, "default image: %s", path);
	union {
		unsigned char ident[EI_NIDENT];
		Elf32_Ehdr e32;
		Elf64_Ehdr e64;
	} h;
	memset(&h, 0, sizeof(h));
	ssize_t n = pread(fd, &h, sizeof(h), 0);
	bool elf = n >= (ssize_t)sizeof(h.e32) && memcmp(h.ident, ELFMAG, SELFMAG) == 0 &&
		   (h.ident[EI_CLASS] == ELFCLASS32 ||
		    (h.ident[EI_CLASS] == ELFCLASS64 && n >= (ssize_t)sizeof(h.e64)));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	elf = elf && h.ident[EI_DATA] == ELFDATA2LSB;
#else
	elf = elf && h.ident[EI_DATA] == ELFDATA2MSB;
#endif
	if (!elf)
		return hangar_error_set(
		    err, HANGAR_E_UNSUPPORTED, 0,
		    "default image: %s is not an ELF executable for this machine, so not a static "
		    "busybox (apt-get install busybox-static)",
		    path);
	bool is64 = h.ident[EI_CLASS] == ELFCLASS64;
	uint64_t phoff = is64 ? h.e64.e_phoff : h.e32.e_phoff;
	unsigned phentsize = is64 ? h.e64.e_phentsize : h.e32.e_phentsize;
	unsigned phnum = is64 ? h.e64.e_phnum : h.e32.e_phnum;
	/* p_type is the first 32-bit word of a program header in both classes. */
	for (unsigned i = 0; i < phnum; i++) {
		uint32_t type;
		if (pread(fd, &type, sizeof(type), (off_t)(phoff + (uint64_t)i * phentsize)) != sizeof(type))
			return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
						"default image: %s has a truncated ELF program header table",
						path);
		if (type == PT_INTERP)
			return hangar_error_set(
			    err, HANGAR_E_UNSUPPORTED, 0,
			    "default image: %s is dynamically linked (it names an ELF interpreter); "
			    "the image has no libraries for it (apt-get install busybox-static)",
			    path);
	}
	return 0;
}

int image_store_build_busybox(const char *busybox, const char *rootfs, struct hangar_error *err)
{
	if (busybox == NULL)
		busybox = getenv("HANGAR_BUSYBOX");
	if (busybox == NULL)
		busybox = "/bin/busybox";
	_cleanup_free_ char *list = NULL;
	if (check_static_elf(busybox, err) < 0)
		return -1;
	/* Anything can exit 0 on --list-full; busybox lists bin/sh. */
	if (run_tool((char *[]){(char *)busybox, "--list-full", NULL}, &list, err) < 0 ||
	    (strncmp(list, "bin/sh\n", 7) != 0 && strstr(list, "\nbin/sh\n") == NULL)) {
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"default image: %s is not a static busybox (apt-get install busybox-static)",
					busybox);
	}
	if (mkdir(rootfs, 0755) < 0)
		return hangar_sys_error(err, "create %s", rootfs);
	if (build_busybox_tree(busybox, rootfs, list, err) < 0) {
		struct hangar_error ignored;
		rm_rf(rootfs, &ignored);
		return -1;
	}
	return 0;
}

static int write_image_json(const char *image_dir, const char *source, struct hangar_error *err)
{
	json_object *o = json_object_new_object();
	_cleanup_free_ char *now = rfc3339_now();
	json_object_object_add(o, "created", json_object_new_string(now));
	json_object_object_add(o, "source", json_object_new_string(source));
	_cleanup_free_ char *text = xasprintf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	_cleanup_free_ char *path = xasprintf("%s/image.json", image_dir);
	return write_file_atomic(path, text, strlen(text), 0644, err);
}

typedef int (*image_fill_fn)(const struct hangar_paths *p, const char *rootfs, const void *data,
			     struct hangar_error *err);

/* Build into a hidden temporary directory and rename it into place, so a
 * half-made image never carries the name. */
/* take_lock: build without the global lock (an import or a debootstrap
 * takes minutes and must not hold up create, destroy or network) and take
 * it only to check the name again and rename; false when the caller holds
 * it already. */
static int image_make(const struct hangar_paths *p, const char *name, const char *source, image_fill_fn fill,
		      const void *data, bool take_lock, struct hangar_error *err)
{
	if (image_store_validate_name(name, err) < 0)
		return -1;
	_cleanup_free_ char *final = xasprintf("%s/%s", p->images_dir, name);
	if (access(final, F_OK) == 0)
		return hangar_error_set(err, HANGAR_E_EXISTS, 0, "image %s already exists", name);
	_cleanup_free_ char *tmp = xasprintf("%s/.%s.tmp.%d", p->images_dir, name, (int)getpid());
	struct hangar_error ignored;
	_cleanup_close_ int lock = -1;
	hangar_rm_rf(p, tmp, &ignored);
	if (mkdir(tmp, 0700) < 0)
		return hangar_sys_error(err, "create %s", tmp);
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", tmp);
	if (fill(p, rootfs, data, err) < 0)
		goto fail;
	/* A note of the fill (skipped device nodes) outlives the steps after. */
	struct hangar_error note = *err;
	if (write_image_json(tmp, source, err) < 0)
		goto fail;
	/* Instances' overlay mounts read the lower dir as any user. */
	if (chmod(tmp, 0755) < 0) {
		hangar_sys_error(err, "chmod %s", tmp);
		goto fail;
	}
	if (take_lock) {
		lock = hangar_lock_global(p, err);
		if (lock < 0)
			goto fail;
		if (access(final, F_OK) == 0) {
			hangar_error_set(err, HANGAR_E_EXISTS, 0, "image %s already exists", name);
			goto fail;
		}
	}
	if (rename(tmp, final) < 0) {
		hangar_sys_error(err, "rename %s to %s", tmp, final);
		goto fail;
	}
	if (note.code == HANGAR_OK && note.msg[0])
		*err = note;
	return 0;
fail:
	hangar_rm_rf(p, tmp, &ignored);
	return -1;
}

static int fill_busybox(const struct hangar_paths *p, const char *rootfs, const void *data,
			struct hangar_error *err)
{
	return image_store_build_busybox(NULL, rootfs, err);
}

int image_store_ensure(const struct hangar_paths *p, const char *name, struct hangar_error *err)
{
	_cleanup_free_ char *rootfs = image_store_rootfs_path(p, name);
	struct stat st;
	if (stat(rootfs, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (strcmp(name, IMAGE_DEFAULT_NAME) != 0)
		return hangar_error_set(err, HANGAR_E_NOTFOUND, 0, "no such image: %s", name);
	return image_make(p, name, "busybox", fill_busybox, NULL, false, err);
}

struct import_job {
	const struct hangar_paths *p;
	const char *source;
	const char *rootfs;
	char *exclude; /* file of device members to leave out (rootless tar) */
	size_t n_devices;
	bool ranges; /* set before the user namespace child forks */
};

/* The device members of a tarball: an unprivileged user cannot mknod, not
 * even as root of its user namespace, and GNU tar has no "skip devices". */
static int list_tar_devices(struct import_job *j, struct hangar_error *err)
{
	_cleanup_free_ char *listing = NULL;
	if (run_tool((char *[]){"tar", "-tv", "--numeric-owner", "--quoting-style=literal", "-f",
				(char *)j->source, NULL},
		     &listing, err) < 0)
		return -1;
	size_t cap = strlen(listing) + 1, used = 0;
	_cleanup_free_ char *names = xmalloc0(cap);
	char *save = NULL;
	for (char *line = strtok_r(listing, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] != 'c' && line[0] != 'b')
			continue;
		/* mode owner major,minor date time NAME */
		char *name = line;
		for (int field = 0; field < 5 && name; field++) {
			name = strchr(name, ' ');
			while (name && *name == ' ')
				name++;
		}
		if (name == NULL || *name == '\0')
			continue;
		used += (size_t)snprintf(names + used, cap - used, "%s\n", name);
		j->n_devices++;
	}
	if (j->n_devices == 0)
		return 0;
	j->exclude = xasprintf("%s.devices", j->rootfs);
	return write_file_at(AT_FDCWD, j->exclude, names, used, O_WRONLY | O_CREAT | O_TRUNC, 0600, err);
}

static int import_in_userns(void *data, struct hangar_error *err)
{
	struct import_job *j = data;
	struct stat st;
	if (stat(j->source, &st) < 0)
		return hangar_sys_error(err, "%s", j->source);
	if (S_ISDIR(st.st_mode)) {
		/* Without ranges only the user's own id exists here. */
		struct image_copy_opts o = {.skip_devices = j->p->rootless,
					    .keep_owners = !j->p->rootless || j->ranges};
		if (image_store_copy_tree_opts(j->source, j->rootfs, &o, err) < 0)
			return -1;
		j->n_devices = o.n_skipped;
	} else {
		if (mkdir(j->rootfs, 0755) < 0)
			return hangar_sys_error(err, "create %s", j->rootfs);
		/* tar knows every compression and archive quirk; --numeric-owner
		 * because the host's user names mean nothing for the image. */
		char *argv[16];
		size_t k = 0;
		argv[k++] = "tar";
		argv[k++] = "-C";
		argv[k++] = (char *)j->rootfs;
		argv[k++] = "--numeric-owner";
		argv[k++] = "--xattrs";
		argv[k++] = "--xattrs-include=*";
		if (j->p->rootless && !j->ranges)
			argv[k++] = "--no-same-owner";
		_cleanup_free_ char *exclude = j->exclude ? xasprintf("--exclude-from=%s", j->exclude) : NULL;
		if (exclude) {
			argv[k++] = "--anchored";
			argv[k++] = "--no-wildcards";
			argv[k++] = exclude;
		}
		argv[k++] = "-xpf";
		argv[k++] = (char *)j->source;
		argv[k] = NULL;
		if (run_tool(argv, NULL, err) < 0)
			return -1;
	}
	if (j->n_devices)
		hangar_error_set(
		    err, HANGAR_OK, 0,
		    "warning: %zu device node%s skipped: an unprivileged user cannot create them "
		    "(the instance's /dev is made at start)",
		    j->n_devices, j->n_devices == 1 ? "" : "s");
	return 0;
}

/* nftw has no user data pointer. */
static __thread const struct ns_rootless_maps *owner_maps;
static __thread char *owner_bad;

static int owner_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	uint32_t inside;
	if (ns_map_host_to_container(owner_maps->uids, owner_maps->n_uids, st->st_uid, &inside) &&
	    ns_map_host_to_container(owner_maps->gids, owner_maps->n_gids, st->st_gid, &inside))
		return 0;
	owner_bad = xasprintf("%s belongs to %u:%u", path, (unsigned)st->st_uid, (unsigned)st->st_gid);
	return 1;
}

/* A user's directory import copies as root of its user namespace, where a
 * file of an unmapped owner (root's, another user's) looks like nobody's:
 * refuse rather than turn its owner into 65534. */
static int check_dir_owners(const char *source, struct hangar_error *err)
{
	struct ns_rootless_maps maps;
	if (ns_rootless_mappings(&maps, err) < 0)
		return -1;
	if (maps.note) {
		/* Single id: owners are not kept anyway, every file becomes yours. */
		ns_rootless_maps_release(&maps);
		return 0;
	}
	owner_maps = &maps;
	owner_bad = NULL;
	int r = nftw(source, owner_visit, 32, FTW_PHYS | FTW_MOUNT);
	int rc = 0;
	if (owner_bad)
		rc = hangar_error_set(
		    err, HANGAR_E_USAGE, 0,
		    "%s, outside your id mapping (your ids and your /etc/subuid and /etc/subgid "
		    "ranges): its owner cannot be kept; import a tarball of it instead",
		    owner_bad);
	else if (r < 0)
		rc = hangar_sys_error(err, "read %s", source);
	free(owner_bad);
	owner_bad = NULL;
	owner_maps = NULL;
	ns_rootless_maps_release(&maps);
	return rc;
}

static int fill_import(const struct hangar_paths *p, const char *rootfs, const void *data,
		       struct hangar_error *err)
{
	struct import_job j = {.p = p, .source = data, .rootfs = rootfs};
	struct stat st;
	if (stat(j.source, &st) < 0)
		return hangar_sys_error(err, "%s", j.source);
	if (p->rootless && !S_ISDIR(st.st_mode) && list_tar_devices(&j, err) < 0)
		return -1;
	if (p->rootless && S_ISDIR(st.st_mode) && check_dir_owners(j.source, err) < 0)
		return -1;
	int rc = hangar_in_userns(p, import_in_userns, &j, &j.ranges, err);
	if (j.exclude)
		unlink(j.exclude);
	free(j.exclude);
	return rc;
}

int image_store_import(const struct hangar_paths *p, const char *name, const char *source, struct hangar_error *err)
{
	if (access(source, R_OK) < 0)
		return hangar_error_set(err, HANGAR_E_NOTFOUND, errno, "image source %s", source);
	if (image_make(p, name, source, fill_import, source, true, err) < 0)
		return hangar_error_prefix(err, "import %s", name);
	return 0;
}

/* The Debian archive the host's apt already uses (deb822 debian.sources,
 * then sources.list), not the security archive: debootstrap's own default
 * may be unreachable or slower where the host has a local mirror.  NULL
 * when none is found (debootstrap then uses its default). */
static char *debian_mirror_from_apt(void)
{
	const char *env = getenv("HANGAR_DEBOOTSTRAP_MIRROR");
	if (env && *env)
		return xstrdup(env);
	static const struct {
		const char *path, *prefix;
	} sources[] = {{"/etc/apt/sources.list.d/debian.sources", "URIs:"},
		       {"/etc/apt/sources.list", "deb "}};
	for (size_t i = 0; i < ARRAY_SIZE(sources); i++) {
		_cleanup_free_ char *text = NULL;
		struct hangar_error ignored;
		if (read_file_at(AT_FDCWD, sources[i].path, &text, NULL, &ignored) < 0)
			continue;
		char *save = NULL;
		for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (strncmp(line, sources[i].prefix, strlen(sources[i].prefix)) != 0)
				continue;
			char *uri = line + strlen(sources[i].prefix);
			uri += strspn(uri, " \t");
			if (*uri == '[') /* sources.list options: "deb [signed-by=...] URI" */
				uri = strchr(uri, ']') ? strchr(uri, ']') + 1 : uri;
			uri += strspn(uri, " \t");
			uri[strcspn(uri, " \t")] = '\0';
			if ((str_has_prefix(uri, "http://") || str_has_prefix(uri, "https://")) &&
			    strstr(uri, "security") == NULL)
				return xstrdup(uri);
		}
	}
	return NULL;
}

/* systemd-sysv gives the image /sbin/init (minbase has none) and dbus is
 * what systemd-logind and systemctl's non-root paths need; without them
 * --init has nothing to boot. */
#define DEBOOTSTRAP_INCLUDE "--include=systemd-sysv,dbus"

static int fill_debootstrap(const struct hangar_paths *p, const char *rootfs, const void *data,
			    struct hangar_error *err)
{
	_cleanup_free_ char *mirror = debian_mirror_from_apt();
	/* Its progress and its errors ("E: ...") go to stdout. */
	_cleanup_free_ char *out = NULL;
	if (run_tool((char *[]){"debootstrap", "--variant=minbase", DEBOOTSTRAP_INCLUDE, (char *)data,
				(char *)rootfs, mirror, NULL},
		     &out, err) < 0)
		return -1;
	/* Each instance gets its own machine id (instance_write_systemd_identity);
	 * the one systemd's postinst made on this host is no one's.  Empty is
	 * what systemd reads as "not set yet". */
	_cleanup_free_ char *etc = xasprintf("%s/etc", rootfs);
	return write_text(etc, "machine-id", "", 0444, err);
}

static bool in_path(const char *tool)
{
	_cleanup_free_ char *f = find_in_path(tool);
	return f != NULL;
}

int image_store_debootstrap(const struct hangar_paths *p, const char *name, const char *suite, struct hangar_error *err)
{
	/* bookworm's systemd 252 still boots on a cgroup v1 or hybrid host;
	 * from 256 (trixie) it refuses to (docs/hangar.md). */
	if (suite == NULL)
		suite = IMAGE_DEBOOTSTRAP_DEFAULT_SUITE;
	if (!in_path("debootstrap"))
		return hangar_error_set(err, HANGAR_E_UNSUPPORTED, 0,
					"image debootstrap: debootstrap is not installed (apt-get install debootstrap)");
	_cleanup_free_ char *source = xasprintf("debootstrap %s", suite);
	if (image_make(p, name, source, fill_debootstrap, suite, true, err) < 0)
		return hangar_error_prefix(err, "image %s", name);
	return 0;
}

static char **image_users(const struct hangar_paths *p, const char *name)
{
	char **names = NULL;
	struct hangar_error ignored;
	size_t n = 0;
	char **users = xmalloc0(sizeof(char *));
	if (instance_list_names(p, &names, &ignored) < 0)
		return users;
	for (size_t i = 0; names[i]; i++) {
		struct instance *inst = NULL;
		if (instance_load(p, names[i], &inst, &ignored) < 0)
			continue;
		if (strcmp(inst->image, name) == 0) {
			users = realloc(users, (n + 2) * sizeof(char *));
			if (users == NULL)
				abort();
			users[n++] = xstrdup(inst->name);
			users[n] = NULL;
		}
		instance_free(inst);
	}
	strv_free(names);
	return users;
}

int image_store_remove(const struct hangar_paths *p, const char *name, struct hangar_error *err)
{
	if (image_store_validate_name(name, err) < 0)
		return -1;
	_cleanup_close_ int lock = hangar_lock_global(p, err);
	if (lock < 0)
		return -1;
	_cleanup_free_ char *dir = xasprintf("%s/%s", p->images_dir, name);
	if (access(dir, F_OK) < 0)
		return hangar_error_set(err, HANGAR_E_NOTFOUND, 0, "no such image: %s", name);
	char **users = image_users(p, name);
	if (users[0]) {
		size_t len = 0;
		for (size_t i = 0; users[i]; i++)
			len += strlen(users[i]) + 2;
		_cleanup_free_ char *list = xmalloc0(len + 1);
		for (size_t i = 0; users[i]; i++) {
			if (i)
				strcat(list, ", ");
			strcat(list, users[i]);
		}
		hangar_error_set(err, HANGAR_E_STATE, 0, "image %s is in use by instance%s %s", name,
				 users[1] ? "s" : "", list);
		strv_free(users);
		return -1;
	}
	strv_free(users);
	/* Rename first so that a failed removal never leaves a half image
	 * under the name. */
	_cleanup_free_ char *doomed = xasprintf("%s/.%s.rm.%d", p->images_dir, name, (int)getpid());
	if (rename(dir, doomed) < 0)
		return hangar_sys_error(err, "remove image %s", name);
	return hangar_rm_rf(p, doomed, err);
}

/* nftw has no user data pointer. */
static __thread uint64_t walk_bytes;
static __thread struct {
	dev_t dev;
	ino_t ino;
} *walk_links;
static __thread size_t walk_n_links;

static int size_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	if (st->st_nlink > 1) {
		for (size_t i = 0; i < walk_n_links; i++)
			if (walk_links[i].dev == st->st_dev && walk_links[i].ino == st->st_ino)
				return 0;
		walk_links = realloc(walk_links, (walk_n_links + 1) * sizeof(*walk_links));
		if (walk_links == NULL)
			abort();
		walk_links[walk_n_links].dev = st->st_dev;
		walk_links[walk_n_links++].ino = st->st_ino;
	}
	walk_bytes += (uint64_t)st->st_size;
	return 0;
}

static uint64_t tree_size(const char *dir)
{
	walk_bytes = 0;
	nftw(dir, size_visit, 32, FTW_PHYS | FTW_MOUNT);
	free(walk_links);
	walk_links = NULL;
	walk_n_links = 0;
	return walk_bytes;
}

void image_store_infos_free(struct image_info *infos, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(infos[i].name);
		free(infos[i].created);
		free(infos[i].source);
		strv_free(infos[i].users);
	}
	free(infos);
}

static int cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct image_info *)a)->name, ((const struct image_info *)b)->name);
}

int image_store_list(const struct hangar_paths *p, struct image_info **out, size_t *n_out, struct hangar_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(p->images_dir);
	if (d == NULL)
		return hangar_sys_error(err, "open %s", p->images_dir);
	struct image_info *infos = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *json_path = xasprintf("%s/%s/image.json", p->images_dir, de->d_name);
		_cleanup_free_ char *text = NULL;
		struct hangar_error ignored;
		if (read_file_at(AT_FDCWD, json_path, &text, NULL, &ignored) < 0)
			continue;
		infos = realloc(infos, (n + 1) * sizeof(*infos));
		if (infos == NULL)
			abort();
		struct image_info *info = &infos[n++];
		memset(info, 0, sizeof(*info));
		info->name = xstrdup(de->d_name);
		json_object *o = json_tokener_parse(text), *v;
		if (o && json_object_object_get_ex(o, "created", &v))
			info->created = xstrdup(json_object_get_string(v));
		if (o && json_object_object_get_ex(o, "source", &v))
			info->source = xstrdup(json_object_get_string(v));
		json_object_put(o);
		_cleanup_free_ char *rootfs = image_store_rootfs_path(p, de->d_name);
		info->size = tree_size(rootfs);
		info->users = image_users(p, de->d_name);
	}
	if (n)
		qsort(infos, n, sizeof(*infos), cmp_info);
	*out = infos;
	*n_out = n;
	return 0;
}
