// SPDX-License-Identifier: GPL-2.0
/*
 * migrate_file: "migrate" over mappings of real files.
 *
 * The device-migration API moves anonymous memory only: given a page-cache
 * folio, migrate_vma_pages() would call migrate_folio(), which leaves
 * folio->private (buffer heads) behind and BUG()s on a folio under
 * writeback. So mmprobe never gives page cache a new page: such pages come
 * back "restored" with reason "not_anon" (or "skipped" when setup did not
 * freeze them), while the anonymous copies a MAP_PRIVATE mapping made on
 * write are moved as usual (Documentation/migrate.rst).
 *
 * For a file on a disk file system (MMPROBE_DISK_DIR, the runner's ext2 on
 * zram; else the working directory) and a tmpfs file (memfd), MAP_SHARED
 * and MAP_PRIVATE, with clean, dirty and (disk) writeback pages: every page
 * gets that answer, pagemap shows page-cache pages where they were, and the
 * file's data is what was written, in the mapping, through read(), and
 * after the page cache was dropped and read back from the device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/vfs.h>

#include "kselftest_harness.h"
#include "mmprobe_uapi.h"
#include "mmprobe_util.h"
#include "robust_util.h"

#define NR_PAGES	32
/*
 * Pages [0, 8) are written through the mapping, [8, 16) with pwrite() and
 * sent to writeback; the rest are only read.
 */
#define WRITTEN		8
#define WRITEBACK	16

FIXTURE(migrate_file) {
	int fd, mfd;
	size_t ps;
	char *map;
	char path[256];
	char *want;		/* what the file must hold */
	uint64_t pfn[NR_PAGES];
};

FIXTURE_VARIANT(migrate_file) {
	bool disk;
	bool shared;
};

FIXTURE_VARIANT_ADD(migrate_file, disk_shared) { .disk = true, .shared = true };
FIXTURE_VARIANT_ADD(migrate_file, disk_private) { .disk = true, .shared = false };
FIXTURE_VARIANT_ADD(migrate_file, tmpfs_shared) { .disk = false, .shared = true };
FIXTURE_VARIANT_ADD(migrate_file, tmpfs_private) { .disk = false, .shared = false };

static unsigned char migrate_file_byte(size_t off, int gen)
{
	return (off * 13 + gen * 101 + 1) | 1;
}

FIXTURE_SETUP(migrate_file)
{
	const char *dir = getenv("MMPROBE_DISK_DIR") ?: ".";
	size_t len, i;
	struct statfs sfs;

	self->fd = -1;
	self->ps = getpagesize();
	len = NR_PAGES * self->ps;
	self->mfd = open(MMPROBE_DIR "/migrate", O_RDWR);
	ASSERT_LE(0, self->mfd) TH_LOG("no migrate file: is mmprobe loaded?");
	if (variant->disk) {
		snprintf(self->path, sizeof(self->path), "%s/migrate_file.%d", dir, getpid());
		self->fd = open(self->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		ASSERT_LE(0, self->fd) TH_LOG("%s: %s", self->path, strerror(errno));
		ASSERT_EQ(0, fstatfs(self->fd, &sfs));
		TH_LOG("%s: file system magic %#lx", self->path, (unsigned long)sfs.f_type);
	} else {
		self->fd = memfd_create("migrate_file", 0);
		ASSERT_LE(0, self->fd);
	}
	self->want = malloc(len);
	ASSERT_NE(NULL, self->want);
	for (i = 0; i < len; i++)
		self->want[i] = migrate_file_byte(i, 0);
	ASSERT_EQ((ssize_t)len, pwrite(self->fd, self->want, len, 0));
	ASSERT_EQ(0, fsync(self->fd));
	self->map = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 variant->shared ? MAP_SHARED : MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
}

FIXTURE_TEARDOWN(migrate_file)
{
	if (self->map && self->map != MAP_FAILED)
		munmap(self->map, NR_PAGES * self->ps);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	if (self->mfd >= 0)
		close(self->mfd);
	free(self->want);
}

/* The other node if there is one, so that a move is a real move. */
static uint64_t migrate_file_node(const void *addr)
{
	return util_pagemap(addr) && access("/sys/devices/system/node/node1", F_OK) == 0;
}

TEST_F(migrate_file, page_cache_stays)
{
	size_t len = NR_PAGES * self->ps, i, j;
	struct mmprobe_migrate_page rep[NR_PAGES];
	struct mmprobe_migrate_args m = {
		.start = (uintptr_t)self->map, .len = len, .pages = (uintptr_t)rep,
	};
	bool anon[NR_PAGES] = { };
	char why[160], *back;

	/* Clean pages: read. Dirty: written through the mapping. */
	for (i = 0; i < len; i += self->ps)
		(void)*(volatile char *)(self->map + i);
	for (i = 0; i < WRITTEN * self->ps; i++) {
		self->want[i] = migrate_file_byte(i, 1);
		self->map[i] = self->want[i];
	}
	for (i = 0; i < WRITTEN; i++)
		anon[i] = !variant->shared;	/* a private write made an anon copy */
	/* Writeback (on disk): written with pwrite() and sent off, not waited for. */
	for (i = WRITTEN * self->ps; i < WRITEBACK * self->ps; i++)
		self->want[i] = migrate_file_byte(i, 2);
	ASSERT_EQ((ssize_t)((WRITEBACK - WRITTEN) * self->ps),
		  pwrite(self->fd, self->want + WRITTEN * self->ps,
			 (WRITEBACK - WRITTEN) * self->ps, WRITTEN * self->ps));
	if (variant->disk)
		ASSERT_EQ(0, sync_file_range(self->fd, WRITTEN * self->ps,
					     (WRITEBACK - WRITTEN) * self->ps,
					     SYNC_FILE_RANGE_WRITE));
	for (i = 0; i < NR_PAGES; i++)
		self->pfn[i] = util_pagemap(self->map + i * self->ps) & PM_PFN_MASK;

	m.node = migrate_file_node(self->map);
	ASSERT_EQ(0, ioctl(self->mfd, MMPROBE_IOC_MIGRATE, &m)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, robust_migrate_report_check(&m, rep, why, sizeof(why))) TH_LOG("%s", why);
	for (i = 0; i < NR_PAGES; i++) {
		uint64_t now;

		/*
		 * Setup may have split a large page-cache folio (7.3: ext4 has
		 * them), which unmaps it: fault it back, it is the same page.
		 */
		(void)*(volatile char *)(self->map + i * self->ps);
		now = util_pagemap(self->map + i * self->ps) & PM_PFN_MASK;

		if (anon[i]) {
			EXPECT_EQ(MMPROBE_MIGRATE_MIGRATED, rep[i].result)
				TH_LOG("anon copy %zu: result %llu reason %llu", i,
				       (unsigned long long)rep[i].result,
				       (unsigned long long)rep[i].reason);
			continue;
		}
		EXPECT_NE(MMPROBE_MIGRATE_MIGRATED, rep[i].result) TH_LOG("page cache %zu", i);
		if (rep[i].result == MMPROBE_MIGRATE_RESTORED) {
			EXPECT_EQ(MMPROBE_MIGRATE_REASON_NOT_ANON, rep[i].reason)
				TH_LOG("page cache %zu: reason %llu", i,
				       (unsigned long long)rep[i].reason);
		}
		EXPECT_EQ(self->pfn[i], now) TH_LOG("page cache %zu moved", i);
	}
	EXPECT_EQ(variant->shared ? 0 : WRITTEN, m.nr_migrated);

	/* The data: in the mapping, then in the file, then from the device. */
	for (j = 0; j < len; j++) {
		ASSERT_EQ((unsigned char)self->want[j], (unsigned char)self->map[j])
			TH_LOG("mapping byte %zu", j);
	}
	if (!variant->shared)	/* the private copies never reach the file */
		for (j = 0; j < WRITTEN * self->ps; j++)
			self->want[j] = migrate_file_byte(j, 0);
	ASSERT_EQ(0, msync(self->map, len, MS_SYNC));
	ASSERT_EQ(0, fsync(self->fd));
	back = malloc(len);
	ASSERT_NE(NULL, back);
	ASSERT_EQ((ssize_t)len, pread(self->fd, back, len, 0));
	EXPECT_EQ(0, memcmp(self->want, back, len)) TH_LOG("read() after migrate");
	if (variant->disk) {
		munmap(self->map, len);
		self->map = NULL;
		ASSERT_EQ(0, posix_fadvise(self->fd, 0, len, POSIX_FADV_DONTNEED));
		util_write_file("/proc/sys/vm/drop_caches", "1");
		ASSERT_EQ((ssize_t)len, pread(self->fd, back, len, 0));
		EXPECT_EQ(0, memcmp(self->want, back, len)) TH_LOG("read back from the device");
	}
	free(back);
}

TEST_HARNESS_MAIN
