/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Workloads and helpers shared by the cgroup v1 and v2 tests: children
 * that wait until they sit in the cgroup, then hog memory, spin, fork... */
#ifndef HANGAR_TEST_CGROUP_WORKLOADS_H
#define HANGAR_TEST_CGROUP_WORKLOADS_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/loop.h>

#include "cgroups/cgroup.h"
#include "tests/unit/tap.h"

/* Fork a child that waits until it is inside the cgroup, then runs fn. */
static pid_t spawn_in(struct cgroup_manager *m, int (*fn)(void *), void *arg)
{
	int go[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(99);
		_exit(fn(arg));
	}
	close(go[0]);
	struct hangar_error err;
	if (cgroup_manager_enter(m, pid, &err) < 0)
		diag("enter: %s", err.msg);
	if (write(go[1], "x", 1) != 1)
		diag("go: %s", strerror(errno));
	close(go[1]);
	return pid;
}

static int wait_status(pid_t pid)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

static void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int run_hog(void *arg)
{
	size_t size = (size_t)(uintptr_t)arg;
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 2;
	for (size_t i = 0; i < size; i += 4096)
		p[i] = 1;
	return 0;
}

static int run_hold(void *arg)
{
	run_hog(arg);
	pause();
	return 0;
}

static int run_spin_forever(void *arg)
{
	(void)arg;
	volatile uint64_t x = 0;
	for (;;)
		x++;
	return 0;
}

static int run_busy(void *arg)
{
	uint64_t until = now_ns() + (uint64_t)(uintptr_t)arg * 1000000ULL;
	volatile uint64_t x = 0;
	while (now_ns() < until)
		x++;
	return 0;
}

static int run_affinity(void *arg)
{
	(void)arg;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 100;
	return CPU_COUNT(&set) == 1 && CPU_ISSET(1, &set) ? 0 : 1;
}

/* Attach FILE to a free loop device (its path into DEV) with the ioctls, not
 * losetup: busybox's lacks --show.  Returns the loop fd (LOOP_CLR_FD it). */
static int loop_attach(const char *file, char *dev, size_t len)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -1;
	int n = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (n < 0)
		return -1;
	snprintf(dev, len, "/dev/loop%d", n);
	int lfd = open(dev, O_RDWR | O_CLOEXEC);
	int ffd = open(file, O_RDWR | O_CLOEXEC);
	int r = lfd >= 0 && ffd >= 0 ? ioctl(lfd, LOOP_SET_FD, ffd) : -1;
	if (ffd >= 0)
		close(ffd);
	if (r < 0) {
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	return lfd;
}

/* The throttles besides read bps, on one device: write 2 MiB/s, read 100
 * and write 200 iops (d holds them; up points into it). */
static void other_throttles(struct oci_resources *up, struct oci_throttle_device d[3], unsigned maj,
			    unsigned min)
{
	d[0] = (struct oci_throttle_device){.major = maj, .minor = min, .rate = 2 << 20};
	d[1] = (struct oci_throttle_device){.major = maj, .minor = min, .rate = 100};
	d[2] = (struct oci_throttle_device){.major = maj, .minor = min, .rate = 200};
	*up = (struct oci_resources){.present = true};
	up->blkio.present = true;
	up->blkio.throttle_write_bps = &d[0];
	up->blkio.n_throttle_write_bps = 1;
	up->blkio.throttle_read_iops = &d[1];
	up->blkio.n_throttle_read_iops = 1;
	up->blkio.throttle_write_iops = &d[2];
	up->blkio.n_throttle_write_iops = 1;
}

/* Update only blockIO.weightDevice: WEIGHT for device MAJ:MIN. */
static int update_weight_device(struct cgroup_manager *m, unsigned maj, unsigned min, uint16_t weight,
				struct hangar_error *err)
{
	struct oci_weight_device wd = {.major = maj, .minor = min, .has_weight = true, .weight = weight};
	struct oci_resources r = {.present = true};
	r.blkio.present = true;
	r.blkio.weight_device = &wd;
	r.blkio.n_weight_device = 1;
	return cgroup_manager_update(m, &r, err);
}

static uint64_t usage_of(struct cgroup_manager *m)
{
	struct cgroup_stats s;
	struct hangar_error err;
	uint64_t u = 0;
	if (cgroup_manager_stats(m, &s, &err) == 0)
		u = s.cpu_usage_ns;
	cgroup_stats_clear(&s);
	return u;
}

#endif
