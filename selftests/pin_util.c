// SPDX-License-Identifier: GPL-2.0
/*
 * A small wrapper of /sys/kernel/debug/mmprobe/pin for selftests.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "mmprobe_util.h"
#include "pin_util.h"

int pin_util_open(void)
{
	int fd = open(PIN_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

long pin_util_take(int fd, const void *addr, size_t nr_pages, int method,
		   uint64_t flags, uint64_t *handle)
{
	struct mmprobe_pin_take take = {
		.addr = (uintptr_t)addr,
		.nr_pages = nr_pages,
		.method = method,
		.flags = flags,
	};

	if (ioctl(fd, MMPROBE_PIN_IOC_TAKE, &take))
		return -errno;
	*handle = take.handle;
	return take.nr_pinned;
}

static long pin_util_range(int fd, unsigned long cmd, uint64_t handle, size_t index,
			   size_t nr, void *buf, uint64_t flags)
{
	struct mmprobe_pin_range r = {
		.handle = handle,
		.index = index,
		.nr_pages = nr,
		.buf = (uintptr_t)buf,
		.flags = flags,
	};

	if (ioctl(fd, cmd, &r))
		return -errno;
	return r.nr_done;
}

int pin_util_info(int fd, uint64_t handle, size_t index, size_t nr,
		  struct mmprobe_pin_page *pages, bool now)
{
	long ret = pin_util_range(fd, MMPROBE_PIN_IOC_INFO, handle, index, nr, pages,
				  now ? MMPROBE_PIN_INFO_NOW : 0);

	return ret < 0 ? ret : 0;
}

int pin_util_read(int fd, uint64_t handle, size_t index, size_t nr, void *buf)
{
	long ret = pin_util_range(fd, MMPROBE_PIN_IOC_READ, handle, index, nr, buf, 0);

	return ret < 0 ? ret : 0;
}

long pin_util_unpin(int fd, uint64_t handle, size_t index, size_t nr)
{
	return pin_util_range(fd, MMPROBE_PIN_IOC_UNPIN, handle, index, nr, NULL, 0);
}

long pin_util_unpin_all(int fd)
{
	return pin_util_range(fd, MMPROBE_PIN_IOC_UNPIN, 0, 0, 0, NULL,
			      MMPROBE_PIN_UNPIN_ALL);
}

int pin_util_foll_counts(long long *acquired, long long *released)
{
	static char buf[16384];

	/* Fold the per-CPU deltas, or the counters lag by up to a threshold. */
	util_write_file("/proc/sys/vm/stat_refresh", "1");
	/* Both from one read: pins released between two reads would count. */
	if (util_read_file("/proc/vmstat", buf, sizeof(buf)) < 0)
		return -1;
	*acquired = util_kv_get(buf, "nr_foll_pin_acquired");
	*released = util_kv_get(buf, "nr_foll_pin_released");
	return *acquired < 0 || *released < 0 ? -1 : 0;
}

long long pin_util_foll_pins(void)
{
	long long acquired, released;

	if (pin_util_foll_counts(&acquired, &released))
		return LLONG_MIN;
	return acquired - released;
}

struct pin_case pin_case;

void pin_case_fail(int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("# line %d: %s\n", line, msg);
	fflush(stdout);
	pin_case.failed = true;
}

unsigned long long pin_util_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int pin_util_hugetlb_free(size_t hsize)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), HUGETLB_DIR "/hugepages-%zukB/free_hugepages", hsize >> 10);
	if (util_read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	return atoi(buf);
}

int pin_util_hugetlb_reserve(size_t hsize, int nr)
{
	char path[128], buf[32];
	int free = pin_util_hugetlb_free(hsize);

	snprintf(path, sizeof(path), HUGETLB_DIR "/hugepages-%zukB/nr_hugepages", hsize >> 10);
	if (free >= nr || util_read_file(path, buf, sizeof(buf)) <= 0)
		return free;
	snprintf(buf, sizeof(buf), "%d", atoi(buf) + nr - free);
	util_setting_set(path, buf);
	free = pin_util_hugetlb_free(hsize);
	printf("# %zu kB hugetlb pages: %d free (wanted %d)\n", hsize >> 10, free, nr);
	fflush(stdout);
	return free;
}
