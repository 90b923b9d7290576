// SPDX-License-Identifier: GPL-2.0
/*
 * longterm: pins and references of file memory, the cases of the kernel's
 * gup_longterm.c and more, through mmprobe's pin sessions
 * (/sys/kernel/debug/mmprobe/pin), so that they run without
 * CONFIG_GUP_TEST.
 *
 * Each backing (memfd, memfd hugetlb of each size, an O_TMPFILE and a named
 * file on a tmpfs, a file on the disk file system of MMPROBE_DISK_DIR) is
 * set up once; every row maps it again, MAP_SHARED or MAP_PRIVATE, R/O
 * (mprotect) or R/W, and takes its pages with get_user_pages(_fast),
 * pin_user_pages(_fast) and pin_user_pages(_fast) with FOLL_LONGTERM.
 *
 * What the kernel refuses is measured, not assumed: only a R/W longterm pin
 * of a MAP_SHARED mapping of a file system that is neither tmpfs nor
 * hugetlbfs may be refused (the kernel cannot long-term pin pages it must
 * track for writeback), and then with EFAULT and nothing held; the line
 * "# measured: ..." says which it did. Everything else must be taken, and
 * the pin is checked against pagemap (the pages mapped, and whether they
 * are the file's or a private copy) and through its data: a write to the
 * file reaches a MAP_SHARED pin; a write to a MAP_PRIVATE mapping reaches
 * a pin of a private copy (R/W, or R/O longterm where the kernel unshares,
 * measured by behaviour.c) and never the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/vfs.h>

#include "kselftest.h"
#include "behaviour.h"
#include "mmprobe_util.h"
#include "pin_util.h"

#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT	26
#endif

/* Pages of a file a row takes, in one call; a hugetlb row takes 2 MiB. */
#define FILE_PAGES	16
#define WIN_MAX		(2UL << 20)
#define WIN_MAX_PAGES	512

static size_t pagesize;
static int longterm_ro_unshare;
static unsigned char gen = 1;

/* The outcome of the running row is pin_case (pin_util.h). */
#define cur pin_case

static struct mmprobe_pin_page info[WIN_MAX_PAGES];
static unsigned char want[WIN_MAX], seen[WIN_MAX];

#define FAIL(...) pin_case_fail(__LINE__, __VA_ARGS__)
#define EXPECT(cond, ...) ((cond) ? true : (FAIL(__VA_ARGS__), false))

/**
 * struct backing - one kind of file memory, set up once
 * @name: as the results name it
 * @fd: the file, @len bytes long and allocated
 * @win: bytes a row takes from the start of the file
 * @hsize: the hugetlb page size, or 0
 * @fs: the file system's magic (fstatfs)
 * @skip: why its rows skip, or empty
 * @ns: time its rows took
 */
struct backing {
	const char *name;
	int fd;
	size_t len;
	size_t win;
	size_t hsize;
	unsigned long fs;
	char skip[200];
	unsigned long long ns;
};

static char tmpfs_dir[64];
static char disk_path[4096 + 32], tmpfs_path[96];

/*
 * The file of a backing: allocated (hugetlbfs, which cannot be written)
 * or written (ext2 cannot fallocate), its file system measured.
 */
static void backing_file(struct backing *b, int fd, const char *what)
{
	struct statfs sfs;
	size_t off, n;
	int ret = 0;

	b->fd = fd;
	if (fd < 0) {
		snprintf(b->skip, sizeof(b->skip), "%s: %s", what, strerror(errno));
		return;
	}
	memset(want, 0, sizeof(want));
	if (b->hsize)
		ret = ftruncate(fd, b->len) || fallocate(fd, 0, 0, b->len);
	for (off = 0; !b->hsize && !ret && off < b->len; off += n) {
		n = b->len - off < sizeof(want) ? b->len - off : sizeof(want);
		ret = pwrite(fd, want, n, off) != (ssize_t)n;
	}
	if (ret || ftruncate(fd, b->len)) {
		snprintf(b->skip, sizeof(b->skip), "%s: allocating %zu kB: %s", what,
			 b->len >> 10, strerror(errno));
		if (errno != ENOSPC && errno != ENOMEM)
			FAIL("%s: %s", what, b->skip);
		return;
	}
	if (!fstatfs(fd, &sfs))
		b->fs = sfs.f_type;
	ksft_print_msg("%s: file system magic %#lx\n", b->name, b->fs);
}

static void setup_hugetlb(struct backing *b, size_t hsize)
{
	int free;

	b->hsize = hsize;
	b->len = hsize;
	b->win = hsize < WIN_MAX ? hsize : WIN_MAX;
	/* MAP_PRIVATE rows copy the page: one more */
	free = pin_util_hugetlb_reserve(hsize, hsize >> 30 ? 1 : 2);
	if (free < 1) {
		snprintf(b->skip, sizeof(b->skip),
			 "no free %zu kB hugetlb page (raise %s/hugepages-%zukB/nr_hugepages)",
			 hsize >> 10, HUGETLB_DIR, hsize >> 10);
		return;
	}
	backing_file(b, memfd_create("longterm", MFD_HUGETLB |
				     (__builtin_ctzl(hsize) << MFD_HUGE_SHIFT)), "memfd_create");
}

enum {
	B_MEMFD,
	B_TMPFS_TMPFILE,
	B_TMPFS_FILE,
	B_DISK,
	B_HUGETLB_2M,
	B_HUGETLB_1G,
	NR_BACKINGS
};

static struct backing backings[NR_BACKINGS] = {
	[B_MEMFD]		= { .name = "memfd" },
	[B_TMPFS_TMPFILE]	= { .name = "O_TMPFILE file on tmpfs" },
	[B_TMPFS_FILE]		= { .name = "file on tmpfs" },
	[B_DISK]		= { .name = "file on the disk file system" },
	[B_HUGETLB_2M]		= { .name = "memfd hugetlb (2048 kB)" },
	[B_HUGETLB_1G]		= { .name = "memfd hugetlb (1048576 kB)" },
};

static void setup_backings(void)
{
	const char *disk = getenv("MMPROBE_DISK_DIR");
	int i;

	for (i = 0; i < NR_BACKINGS; i++) {
		backings[i].fd = -1;
		backings[i].len = FILE_PAGES * pagesize;
		backings[i].win = FILE_PAGES * pagesize;
	}
	backing_file(&backings[B_MEMFD], memfd_create("longterm", 0), "memfd_create");

	/* A tmpfs of our own: wherever /tmp is, these are tmpfs files. */
	snprintf(tmpfs_dir, sizeof(tmpfs_dir), "/tmp/longterm.XXXXXX");
	if (mkdtemp(tmpfs_dir) && !mount("tmpfs", tmpfs_dir, "tmpfs", 0, "size=16m")) {
		backing_file(&backings[B_TMPFS_TMPFILE],
			     open(tmpfs_dir, O_TMPFILE | O_RDWR, 0600), "open(O_TMPFILE)");
		snprintf(tmpfs_path, sizeof(tmpfs_path), "%s/file", tmpfs_dir);
		backing_file(&backings[B_TMPFS_FILE],
			     open(tmpfs_path, O_RDWR | O_CREAT | O_EXCL, 0600), tmpfs_path);
	} else {
		for (i = B_TMPFS_TMPFILE; i <= B_TMPFS_FILE; i++)
			snprintf(backings[i].skip, sizeof(backings[i].skip),
				 "cannot mount a tmpfs on %s: %s", tmpfs_dir, strerror(errno));
		tmpfs_dir[0] = '\0';
	}

	if (disk) {
		snprintf(disk_path, sizeof(disk_path), "%s/longterm.%d", disk, getpid());
		backing_file(&backings[B_DISK], open(disk_path, O_RDWR | O_CREAT | O_EXCL, 0600),
			     disk_path);
	} else {
		snprintf(backings[B_DISK].skip, sizeof(backings[B_DISK].skip),
			 "MMPROBE_DISK_DIR is not set (a directory on a disk file system)");
	}
	setup_hugetlb(&backings[B_HUGETLB_2M], 2UL << 20);
	setup_hugetlb(&backings[B_HUGETLB_1G], 1UL << 30);
}

static void teardown_backings(void)
{
	int i;

	for (i = 0; i < NR_BACKINGS; i++)
		if (backings[i].fd >= 0)
			close(backings[i].fd);
	if (disk_path[0])
		unlink(disk_path);
	if (tmpfs_dir[0]) {
		if (tmpfs_path[0])
			unlink(tmpfs_path);
		umount2(tmpfs_dir, MNT_DETACH);
		rmdir(tmpfs_dir);
	}
}

/* Can the kernel track writeback of this file system's pages? */
static bool fs_without_writeback(const struct backing *b)
{
	return b->fs == TMPFS_MAGIC || b->fs == HUGETLBFS_MAGIC;
}

static const struct {
	int method;
	uint64_t flags;
	const char *name;
} methods[] = {
	{ MMPROBE_PIN_METHOD_GUP, 0, "GUP reference" },
	{ MMPROBE_PIN_METHOD_GUP_FAST, 0, "GUP-fast reference" },
	{ MMPROBE_PIN_METHOD_PUP, 0, "GUP pin" },
	{ MMPROBE_PIN_METHOD_PUP_FAST, 0, "GUP-fast pin" },
	{ MMPROBE_PIN_METHOD_PUP, MMPROBE_PIN_LONGTERM, "longterm GUP pin" },
	{ MMPROBE_PIN_METHOD_PUP_FAST, MMPROBE_PIN_LONGTERM, "longterm GUP-fast pin" },
};

/* Does this row run on this backing (the 1 GiB page is not copied)? */
static bool row_runs(const struct backing *b, bool shared)
{
	return shared || b->hsize < (1UL << 30);
}

static void fill(unsigned char *buf, size_t len)
{
	size_t i;

	gen += 0x35;
	for (i = 0; i < len; i += pagesize)
		memset(buf + i, (unsigned char)(gen + i / pagesize), pagesize);
}

static bool same(const char *what, const unsigned char *a, const unsigned char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += pagesize)
		if (memcmp(a + i, b + i, pagesize))
			return EXPECT(false, "%s: page %zu holds %#x, expected %#x", what,
				      i / pagesize, b[i], a[i]);
	return true;
}

static long long stat_of(const char *name)
{
	char buf[4096];

	if (util_read_file(MMPROBE_DIR "/stats", buf, sizeof(buf)) < 0)
		return -1;
	return util_kv_get(buf, name);
}

/*
 * The pages taken: each the page pagemap maps at its address; a private
 * copy (not the file's page, which smem maps) exactly when want_private.
 */
static bool check_pages(int fd, uint64_t h, const struct backing *b, char *mem,
			char *smem, bool want_private)
{
	size_t i, n = b->win / pagesize;
	uint64_t pm, spm;
	int ret;

	ret = pin_util_info(fd, h, 0, n, info, false);
	if (!EXPECT(!ret, "MMPROBE_PIN_IOC_INFO: %s", strerror(-ret)))
		return false;
	for (i = 0; i < n; i++) {
		pm = util_pagemap(mem + i * pagesize);
		spm = util_pagemap(smem + i * pagesize);
		if (!EXPECT(pm & PM_PRESENT, "page %zu: not present after the take", i) ||
		    !EXPECT(info[i].pfn == (pm & PM_PFN_MASK),
			    "page %zu: pfn %#llx taken, %#llx mapped", i,
			    (unsigned long long)info[i].pfn,
			    (unsigned long long)(pm & PM_PFN_MASK)) ||
		    !EXPECT(want_private == (info[i].pfn != (spm & PM_PFN_MASK)),
			    "page %zu: pfn %#llx, the file's %#llx: %s expected", i,
			    (unsigned long long)info[i].pfn,
			    (unsigned long long)(spm & PM_PFN_MASK),
			    want_private ? "a private copy" : "the file's page"))
			return false;
		/* Only the file's own pages are in the page cache. */
		if (!b->hsize && !EXPECT(want_private ? info[i].kind == MMPROBE_PIN_KIND_ANON :
					 info[i].kind != MMPROBE_PIN_KIND_ANON,
					 "page %zu: kind %llu", i,
					 (unsigned long long)info[i].kind))
			return false;
	}
	return true;
}

/*
 * One row: map, take, check the pages and the data through the take, give
 * back. Refusal is allowed only where the kernel may refuse (see the top).
 */
static void run_row(struct backing *b, int m, bool rw, bool shared)
{
	bool may_refuse = shared && rw && (methods[m].flags & MMPROBE_PIN_LONGTERM) &&
			  !fs_without_writeback(b);
	bool longterm = methods[m].flags & MMPROBE_PIN_LONGTERM;
	bool want_private = !shared && (rw || (longterm && longterm_ro_unshare));
	long long held = stat_of("held_pages"), taken, released;
	size_t n = b->win / pagesize;
	char *mem = MAP_FAILED, *smem;
	int fd, ret;
	uint64_t h;
	long got;

	taken = stat_of("pin_pinned") + stat_of("pin_refs");
	released = stat_of("pin_released");
	smem = mmap(NULL, b->len, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	if (!EXPECT(smem != MAP_FAILED, "mmap MAP_SHARED: %s", strerror(errno)))
		return;
	mem = mmap(NULL, b->len, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE,
		   b->fd, 0);
	if (!EXPECT(mem != MAP_FAILED, "mmap: %s", strerror(errno)))
		goto unmap;
	/* The file holds want; a R/W row wrote it, or a private copy of it. */
	fill(want, b->win);
	memcpy(smem, want, b->win);
	if (rw)
		memcpy(mem, want, b->win);
	else if (!EXPECT(!memcmp(mem, want, b->win), "the mapping reads other data than the file"))
		goto unmap;
	if (!rw && !EXPECT(!mprotect(mem, b->len, PROT_READ), "mprotect R/O: %s",
			   strerror(errno)))
		goto unmap;

	fd = pin_util_open();
	if (!EXPECT(fd >= 0, "open %s: %s", PIN_PATH, strerror(-fd)))
		goto unmap;
	got = pin_util_take(fd, mem, n, methods[m].method,
			    methods[m].flags | (rw ? MMPROBE_PIN_WRITE : 0), &h);
	if (got < 0) {
		if (may_refuse && got == -EFAULT) {
			EXPECT(stat_of("held_pages") == held, "a refused take holds pages");
			snprintf(cur.note, sizeof(cur.note), "refused (EFAULT)");
		} else {
			FAIL("%s: %s", methods[m].name, strerror(-got));
		}
		goto close;
	}
	if (may_refuse)
		snprintf(cur.note, sizeof(cur.note), "pinned");
	if (!EXPECT(got == (long)n, "%ld of %zu pages taken", got, n) ||
	    !EXPECT(stat_of("held_pages") - held == (long long)n, "held_pages: not %zu more", n) ||
	    !check_pages(fd, h, b, mem, smem, want_private))
		goto close;

	/* The data, seen through the take. */
	if (shared) {
		/* A write to the file reaches the mapping and the pin. */
		fill(want, b->win);
		memcpy(smem, want, b->win);
		if (!same("the mapping, after a write to the file", want, (unsigned char *)mem,
			  b->win))
			goto close;
	} else {
		/* A write to the private mapping never reaches the file. */
		memcpy(seen, smem, b->win);
		if (!rw && !EXPECT(!mprotect(mem, b->len, PROT_READ | PROT_WRITE),
				   "mprotect R/W: %s", strerror(errno)))
			goto close;
		fill(want, b->win);
		memcpy(mem, want, b->win);
		if (!same("the file, after a write to the private mapping", seen,
			  (unsigned char *)smem, b->win))
			goto close;
		/* The pin holds the copy the write went to, or the file's page. */
		if (!want_private)
			memcpy(want, seen, b->win);
		if (!want_private && longterm && !rw)
			snprintf(cur.note, sizeof(cur.note), "%s",
				 "the pin keeps the file's page: longterm_ro_unshare=0");
	}
	ret = pin_util_read(fd, h, 0, n, seen);
	if (EXPECT(!ret, "MMPROBE_PIN_IOC_READ: %s", strerror(-ret)))
		same("what the take reads", want, seen, b->win);
close:
	close(fd);
	EXPECT(stat_of("held_pages") == held, "held_pages not back after close");
	EXPECT(stat_of("pin_released") - released ==
	       stat_of("pin_pinned") + stat_of("pin_refs") - taken,
	       "pin_released: not every page taken");
unmap:
	if (mem != MAP_FAILED)
		munmap(mem, b->len);
	munmap(smem, b->len);
}

static void run_backing(struct backing *b)
{
	unsigned long long t0 = pin_util_now_ns();
	int shared, rw, m, n = 0;

	for (shared = 1; shared >= 0; shared--) {
		for (rw = 1; rw >= 0; rw--) {
			for (m = 0; m < (int)ARRAY_SIZE(methods); m++) {
				if (!row_runs(b, shared))
					continue;
				memset(&cur, 0, sizeof(cur));
				if (b->skip[0])
					snprintf(cur.skip, sizeof(cur.skip), "%s", b->skip);
				else
					run_row(b, m, rw, shared);
				pin_case_result("%s %s in %s file mapping ... with %s",
						rw ? "R/W" : "R/O", methods[m].name,
						shared ? "MAP_SHARED" : "MAP_PRIVATE", b->name);
				n++;
			}
		}
	}
	b->ns = pin_util_now_ns() - t0;
	ksft_print_msg("backing %s: %d rows, %llu ms\n", b->name, n, b->ns / 1000000);
}

int main(int argc, char **argv)
{
	unsigned int plan = 0;
	char why[1024];
	int i, shared;

	pin_case_program_start();
	pagesize = getpagesize();
	longterm_ro_unshare = behaviour_measure(BEHAVIOUR_LONGTERM_RO_UNSHARE, why, sizeof(why));
	if (longterm_ro_unshare < 0)
		ksft_exit_fail_msg("longterm_ro_unshare not measured: %s\n", why);
	ksft_print_msg("longterm_ro_unshare=%d (measured: %s)\n", longterm_ro_unshare, why);
	setup_backings();
	for (i = 0; i < NR_BACKINGS; i++)
		for (shared = 0; shared < 2; shared++)
			plan += row_runs(&backings[i], shared) * 2 * ARRAY_SIZE(methods);
	ksft_set_plan(plan);
	for (i = 0; i < NR_BACKINGS; i++)
		run_backing(&backings[i]);
	teardown_backings();
	pin_case_program_end();
	return 0;
}
