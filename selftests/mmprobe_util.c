// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the mmprobe selftests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#include "mmprobe_util.h"

ssize_t util_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n, total = 0;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	while (total < (ssize_t)len - 1) {
		n = read(fd, buf + total, len - 1 - total);
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (!n)
			break;
		total += n;
	}
	buf[total] = '\0';
	close(fd);
	return total;
}

int util_write_file(const char *path, const char *str)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, str, strlen(str));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

long long util_kv_get(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, klen) && (p[klen] == '=' || p[klen] == ' '))
			return strtoll(p + klen + 1, NULL, 0);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

long long util_vmstat(const char *name)
{
	static char buf[16384];

	if (util_read_file("/proc/vmstat", buf, sizeof(buf)) < 0)
		return -1;
	return util_kv_get(buf, name);
}

static uint64_t util_pread_u64(const char *path, uint64_t index)
{
	uint64_t val = 0;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &val, sizeof(val), index * sizeof(val)) != sizeof(val))
		val = 0;
	close(fd);
	return val;
}

uint64_t util_pagemap(const void *addr)
{
	return util_pread_u64("/proc/self/pagemap",
			      (uintptr_t)addr / getpagesize());
}

uint64_t util_pagemap_pid(int pid, const void *addr)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	return util_pread_u64(path, (uintptr_t)addr / getpagesize());
}

uint64_t util_kpageflags(uint64_t pfn)
{
	return util_pread_u64("/proc/kpageflags", pfn);
}

size_t util_pmd_size(void)
{
	char buf[64];

	if (util_read_file(THP_DIR "/hpage_pmd_size", buf, sizeof(buf)) <= 0)
		return 0;
	return strtoul(buf, NULL, 10);
}

void *util_mmap_aligned(size_t len, size_t align)
{
	char *mem, *aligned;

	mem = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return NULL;
	aligned = (char *)(((uintptr_t)mem + align - 1) & ~(uintptr_t)(align - 1));
	if (aligned > mem)
		munmap(mem, aligned - mem);
	munmap(aligned + len, mem + align - aligned);
	return aligned;
}

void *util_mmap_small(size_t len, int fill)
{
	char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		return NULL;
	madvise(mem, len, MADV_NOHUGEPAGE);
	if (fill >= 0)
		memset(mem, fill, len);
	return mem;
}

#define UTIL_MAX_SETTINGS 16

static struct {
	char path[256];
	char value[256];
} util_saved[UTIL_MAX_SETTINGS];
static int util_nr_saved;

/* "always [madvise] never" -> "madvise"; plain values are kept as they are. */
static void util_selected(char *buf)
{
	char *open = strchr(buf, '['), *close;

	if (open) {
		close = strchr(open, ']');
		if (close) {
			*close = '\0';
			memmove(buf, open + 1, strlen(open + 1) + 1);
		}
	}
	buf[strcspn(buf, "\n")] = '\0';
}

int util_setting_get(const char *path, char *buf, size_t len)
{
	ssize_t n = util_read_file(path, buf, len);

	if (n < 0)
		return n;
	util_selected(buf);
	return 0;
}

int util_setting_set(const char *path, const char *value)
{
	char old[256];
	ssize_t n;
	int i;

	for (i = 0; i < util_nr_saved; i++)
		if (!strcmp(util_saved[i].path, path))
			break;
	if (i == util_nr_saved) {
		if (util_nr_saved == UTIL_MAX_SETTINGS)
			return -ENOSPC;
		n = util_read_file(path, old, sizeof(old));
		if (n < 0)
			return n;
		util_selected(old);
		snprintf(util_saved[i].path, sizeof(util_saved[i].path), "%s", path);
		snprintf(util_saved[i].value, sizeof(util_saved[i].value), "%s", old);
		if (!util_nr_saved++)
			atexit(util_settings_restore);
	}
	return util_write_file(path, value);
}

void util_settings_restore(void)
{
	while (util_nr_saved > 0) {
		util_nr_saved--;
		util_write_file(util_saved[util_nr_saved].path,
				util_saved[util_nr_saved].value);
	}
}

long long util_smaps_kb(const void *addr, const char *field)
{
	unsigned long start, end, a = (uintptr_t)addr;
	size_t flen = strlen(field);
	long long kb = -1;
	bool in = false;
	char line[512];
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* "start-end perms ..." opens an entry; "Field:  N kB" never parses so */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = a >= start && a < end;
			continue;
		}
		if (in && !strncmp(line, field, flen) && line[flen] == ':') {
			kb = strtoll(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

int util_kernel_version(void)
{
	int major = 0, minor = 0;
	struct utsname u;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major * 100 + minor;
}

bool util_swap_enabled(void)
{
	char buf[4096], *nl;

	if (util_read_file("/proc/swaps", buf, sizeof(buf)) <= 0)
		return false;
	nl = strchr(buf, '\n');
	return nl && nl[1] != '\0';
}

bool util_thp_missing_ok(long long fallback_before, char *why, size_t len)
{
	long long fallback = util_vmstat("thp_fault_fallback");
	char mode[64];

	if (!util_setting_get(THP_DIR "/enabled", mode, sizeof(mode)) &&
	    !strncmp(mode, "never", 5)) {
		snprintf(why, len, "THP disabled (%s/enabled is never)", THP_DIR);
		return true;
	}
	if (fallback > fallback_before) {
		snprintf(why, len, "no free huge page (thp_fault_fallback +%lld)",
			 fallback - fallback_before);
		return true;
	}
	snprintf(why, len, "no THP, and thp_fault_fallback did not move (%lld)", fallback);
	return false;
}

#define UTIL_SKIP_REASONS	32
#define UTIL_SKIP_REASON_LEN	120

/* Shared with the forked tests: reasons in the order first seen. */
static struct util_skips {
	int nr;
	struct {
		char reason[UTIL_SKIP_REASON_LEN];
		int count;
	} r[UTIL_SKIP_REASONS];
} *util_skips;
static pid_t util_skips_owner;

void util_skips_init(void)
{
	void *p;

	if (util_skips)
		return;
	p = mmap(NULL, sizeof(*util_skips), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	util_skips = p;
	util_skips_owner = getpid();
}

void util_skip_note(const char *fmt, ...)
{
	char reason[UTIL_SKIP_REASON_LEN];
	va_list ap;
	int i;

	if (!util_skips)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	for (i = 0; i < util_skips->nr; i++)
		if (!strcmp(util_skips->r[i].reason, reason))
			break;
	if (i == util_skips->nr) {
		if (i == UTIL_SKIP_REASONS)
			i--;	/* the last slot collects the rest */
		else
			util_skips->nr++;
		snprintf(util_skips->r[i].reason, UTIL_SKIP_REASON_LEN, "%s", reason);
	}
	util_skips->r[i].count++;
}

void util_skips_report(void)
{
	int i, total = 0;

	/* Only the process that made the tally, once: not a forked test. */
	if (!util_skips || getpid() != util_skips_owner)
		return;
	for (i = 0; i < util_skips->nr; i++)
		total += util_skips->r[i].count;
	printf("# skips: %d", total);
	for (i = 0; i < util_skips->nr; i++)
		printf("%s%s: %d", i ? ", " : " (", util_skips->r[i].reason,
		       util_skips->r[i].count);
	printf("%s\n", util_skips->nr ? ")" : "");
	fflush(stdout);
	munmap(util_skips, sizeof(*util_skips));
	util_skips = NULL;
}
