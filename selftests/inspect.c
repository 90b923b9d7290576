// SPDX-License-Identifier: GPL-2.0
/*
 * inspect: /sys/kernel/debug/mmprobe/inspect says what maps each address.
 *
 * Every case makes one kind of mapping, confirms it from a source that does
 * not use the module (/proc/self/pagemap, /proc/kpageflags, /proc/vmstat,
 * the data), and then compares the module's line with it. Where kernels
 * differ, each case asserts its own kernel's behaviour, told by the
 * capability lines of debugfs "version".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "behaviour.h"
#include "hmm_uapi.h"
#include "inspect_util.h"
#include "mmprobe_util.h"

#define KPF_ANON		12
#define KPF_COMPOUND_HEAD	15
#define KPF_COMPOUND_TAIL	16
#define KPF_HUGE		17
#define KPF_KSM			21

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT		26
#endif

#define KSM_DIR		"/sys/kernel/mm/ksm"
#define HMM_DIR_PATH	"/sys/kernel/debug/mmprobe/hmm"
#define HMM_DEVICE	"/dev/hmm_dmirror0"

#define MAX_ENTRIES	8192	/* a PMD of 64 KiB pages */

static long page_size;

/* A line of debugfs "version" (what mmprobe was built with): -1 when missing. */
static int inspect_cap(const char *name)
{
	char buf[4096];

	if (util_read_file(MMPROBE_DIR "/version", buf, sizeof(buf)) < 0)
		return -1;
	return util_kv_get(buf, name);
}

static long long stat_counter(const char *name)
{
	char buf[4096];

	if (util_read_file(MMPROBE_DIR "/stats", buf, sizeof(buf)) < 0)
		return -1;
	return util_kv_get(buf, name);
}

static long long pagemap_pfn(uint64_t pm)
{
	return pm & PM_PFN_MASK;
}

static bool kpf(uint64_t pfn, int bit)
{
	return util_kpageflags(pfn) & (1ULL << bit);
}

static long read_long(const char *path)
{
	char buf[64];

	if (util_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/* THP PMDs for MADV_HUGEPAGE regions, whatever "enabled" was. */
static int thp_madvise(void)
{
	if (inspect_cap("thp") != 1 || !util_pmd_size())
		return -EOPNOTSUPP;
	return util_setting_set(THP_DIR "/enabled", "madvise");
}

/* An aligned, written PMD THP of pmd bytes, confirmed by kpageflags, or NULL. */
static char *thp_pmd_alloc(size_t pmd)
{
	char *mem = util_mmap_aligned(pmd, pmd);
	uint64_t pm;

	if (!mem)
		return NULL;
	if (madvise(mem, pmd, MADV_HUGEPAGE)) {
		munmap(mem, pmd);
		return NULL;
	}
	memset(mem, 0x5a, pmd);
	pm = util_pagemap(mem);
	if (!(pm & PM_PRESENT) || !kpf(pagemap_pfn(pm), KPF_THP)) {
		munmap(mem, pmd);
		return NULL;
	}
	return mem;
}

/* Has the VMA of addr VM_SOFTDIRTY ("sd" in the VmFlags of smaps)? */
static bool vma_soft_dirty(const void *addr)
{
	unsigned long start, end, a = (unsigned long)addr;
	bool in = false, sd = false;
	char line[512];
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = start <= a && a < end;
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			sd = !!strstr(line, " sd");
			break;
		}
	}
	fclose(f);
	return sd;
}

/*
 * The entry line and pagemap agree on everything pagemap says. pagemap's
 * soft-dirty is the entry's bit or the VMA's VM_SOFTDIRTY (set on new VMAs
 * until clear_refs); the module reports the entry's bit alone.
 */
static void check_pagemap(struct __test_metadata *_metadata, const struct inspect_entry *e,
			  const void *addr)
{
	uint64_t pm = util_pagemap(addr);

	ASSERT_TRUE(pm & PM_PRESENT) TH_LOG("%p is not present in pagemap", addr);
	EXPECT_EQ(pagemap_pfn(pm), e->pfn);
	EXPECT_EQ(!!(pm & PM_SOFT_DIRTY), e->soft_dirty == 1 || vma_soft_dirty(addr));
	EXPECT_EQ(!!(pm & PM_UFFD_WP), e->uffd_wp);
}

/*
 * A PMD THP for the test, or NULL after SKIP() said why the machine has
 * none; a fault that should have given one and did not fails.
 */
static char *thp_pmd_get(struct __test_metadata *_metadata, size_t pmd)
{
	long long fallback = util_vmstat("thp_fault_fallback");
	char why[160];
	char *mem;

	if (thp_madvise())
		UTIL_SKIP(return NULL, "no THP in this kernel");
	mem = thp_pmd_alloc(pmd);
	if (!mem) {
		if (util_thp_missing_ok(fallback, why, sizeof(why)))
			UTIL_SKIP(return NULL, "%s", why);
		ASSERT_NE(NULL, mem) TH_LOG("setup: the fault did not map a THP: %s", why);
	}
	return mem;
}

/* A page this process wrote and alone maps: writable, dirty, exclusive. */
static void check_private_written(struct __test_metadata *_metadata,
				  const struct inspect_entry *e)
{
	EXPECT_EQ(1, e->write);
	EXPECT_EQ(1, e->dirty);
	EXPECT_EQ(1, e->mapcount);
	EXPECT_EQ(1, e->folio_mapcount);
	EXPECT_EQ(0, e->pinned);
	if (inspect_cap("build.anon_exclusive") == 1)
		EXPECT_EQ(1, e->exclusive);
}

FIXTURE(inspect) {
	size_t pmd_size;
};

FIXTURE_SETUP(inspect)
{
	page_size = getpagesize();
	if (!inspect_available())
		UTIL_SKIP(return, "no %s: load mmprobe (mmprobe-load) with debugfs mounted",
			  INSPECT_PATH);
	self->pmd_size = util_pmd_size();
}

FIXTURE_TEARDOWN(inspect)
{
	util_settings_restore();
}

/* A written anonymous page: one exclusive anon PTE, as pagemap says. */
TEST_F(inspect, anon_4k)
{
	struct inspect_entry e;
	char *mem;
	uint64_t pm;

	mem = mmap(NULL, 4 * page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	madvise(mem, 4 * page_size, MADV_NOHUGEPAGE);
	mem[page_size] = 1;
	pm = util_pagemap(mem + page_size);
	ASSERT_TRUE(pm & PM_PRESENT);

	ASSERT_EQ(1, inspect_one(mem + page_size, &e));
	EXPECT_EQ((unsigned long)mem + page_size, e.addr);
	EXPECT_EQ(INSPECT_LEVEL_PTE, e.level);
	EXPECT_STREQ("anon", e.kind);
	check_pagemap(_metadata, &e, mem + page_size);
	check_private_written(_metadata, &e);
	EXPECT_EQ(1, e.young);
	EXPECT_EQ(0, e.order);
	EXPECT_EQ(0, e.entire_mapcount);
	EXPECT_LE(1, e.refcount);
	EXPECT_EQ(!!(pm & PM_MMAP_EXCL), e.mapcount == 1);
	EXPECT_TRUE(kpf(e.pfn, KPF_ANON));
	EXPECT_EQ(inspect_cap("build.double_map") == 1 ? 0 : -1, e.double_map);
	/* the untouched pages have no entry */
	ASSERT_EQ(0, inspect_one(mem, &e));
	ASSERT_EQ(1, inspect_range(0, (unsigned long)mem,
				   (unsigned long)mem + 4 * page_size, &e, 1));
	munmap(mem, 4 * page_size);
}

/* A read fault maps the shared zero page, read-only. */
TEST_F(inspect, zero_page)
{
	struct inspect_entry e;
	volatile char *mem;
	uint64_t pm;

	mem = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	madvise((void *)mem, page_size, MADV_NOHUGEPAGE);
	ASSERT_EQ(0, mem[0]);
	pm = util_pagemap((void *)mem);
	ASSERT_TRUE(pm & PM_PRESENT);
	ASSERT_TRUE(kpf(pagemap_pfn(pm), KPF_ZERO_PAGE))
		TH_LOG("pfn 0x%llx is not the zero page", pagemap_pfn(pm));

	ASSERT_EQ(1, inspect_one((void *)mem, &e));
	EXPECT_STREQ("zero", e.kind);
	EXPECT_EQ(INSPECT_LEVEL_PTE, e.level);
	check_pagemap(_metadata, &e, (void *)mem);
	EXPECT_EQ(0, e.write);
	EXPECT_EQ(-1, e.exclusive);
	EXPECT_EQ(0, e.mapcount);
	munmap((void *)mem, page_size);
}

/* A read fault in an aligned MADV_HUGEPAGE region maps the huge zero folio. */
TEST_F(inspect, huge_zero)
{
	size_t pmd = self->pmd_size;
	struct inspect_entry e;
	volatile char *mem;
	uint64_t pm;

	if (thp_madvise())
		UTIL_SKIP(return, "no THP in this kernel");
	ASSERT_EQ(0, util_setting_set(THP_DIR "/use_zero_page", "1"));
	mem = util_mmap_aligned(pmd, pmd);
	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, madvise((void *)mem, pmd, MADV_HUGEPAGE));
	ASSERT_EQ(0, mem[pmd - 1]);
	pm = util_pagemap((void *)mem);
	ASSERT_TRUE(pm & PM_PRESENT);
	ASSERT_TRUE(kpf(pagemap_pfn(pm), KPF_ZERO_PAGE) && kpf(pagemap_pfn(pm), KPF_THP))
		TH_LOG("setup: a read fault did not map the huge zero page (use_zero_page 1)");

	ASSERT_EQ(1, inspect_one((void *)(mem + page_size), &e));
	EXPECT_STREQ("huge_zero", e.kind);
	EXPECT_EQ(INSPECT_LEVEL_PMD, e.level);
	EXPECT_EQ((unsigned long)mem, e.addr);
	check_pagemap(_metadata, &e, (void *)mem);
	EXPECT_EQ(0, e.write);
	EXPECT_EQ(__builtin_ctzl(pmd / page_size), e.order);
	EXPECT_EQ(-1, e.exclusive);
	munmap((void *)mem, pmd);
}

/* A write fault in an aligned MADV_HUGEPAGE region maps a PMD THP. */
TEST_F(inspect, thp_pmd)
{
	size_t pmd = self->pmd_size;
	struct inspect_entry e;
	char *mem;

	mem = thp_pmd_get(_metadata, pmd);
	if (!mem)
		return;

	ASSERT_EQ(1, inspect_one(mem + pmd / 2, &e));
	EXPECT_EQ((unsigned long)mem, e.addr);
	EXPECT_EQ(INSPECT_LEVEL_PMD, e.level);
	EXPECT_EQ(pmd, e.size);
	EXPECT_STREQ("anon", e.kind);
	check_pagemap(_metadata, &e, mem);
	EXPECT_EQ(__builtin_ctzl(pmd / page_size), e.order);
	check_private_written(_metadata, &e);
	EXPECT_EQ(1, e.entire_mapcount);
	EXPECT_TRUE(kpf(e.pfn, KPF_COMPOUND_HEAD));
	munmap(mem, pmd);
}

/*
 * A PTE-mapped THP: splitting the PMD, by zapping its first page or by
 * write-protecting it, leaves PTEs that map the subpages of the same large
 * folio (until the deferred split splits the folio too).
 */
static void check_pte_mapped_thp(struct __test_metadata *_metadata, size_t pmd, bool dontneed)
{
	static struct inspect_entry e[MAX_ENTRIES];
	int i, nr, nr_pages = pmd / page_size;
	long long head = -1, splits;
	char *mem;

	mem = thp_pmd_get(_metadata, pmd);
	if (!mem)
		return;
	/*
	 * 511 mapped pages and a hole in a MADV_HUGEPAGE VMA are what
	 * khugepaged collapses into a new THP, between the report and the
	 * pagemap read (7.3, 1 run in 6): keep it away.
	 */
	ASSERT_EQ(0, madvise(mem, pmd, MADV_NOHUGEPAGE));
	splits = util_vmstat("thp_split_pmd");
	if (dontneed) {
		/* Braces: ASSERT_EQ() expands to more than one statement. */
		ASSERT_EQ(0, madvise(mem, page_size, MADV_DONTNEED));
	} else {
		ASSERT_EQ(0, mprotect(mem, page_size, PROT_READ));
	}
	/* At least ours (others may split too); the PTE entries below are the proof. */
	EXPECT_LE(splits + 1, util_vmstat("thp_split_pmd"));

	nr = inspect_range(0, (unsigned long)mem, (unsigned long)mem + pmd, e, MAX_ENTRIES);
	ASSERT_EQ(dontneed ? nr_pages - 1 : nr_pages, nr);
	for (i = 0; i < nr; i++) {
		char *addr = (char *)e[i].addr;
		uint64_t pm = util_pagemap(addr);

		ASSERT_EQ(INSPECT_LEVEL_PTE, e[i].level);
		ASSERT_STREQ("anon", e[i].kind);
		check_pagemap(_metadata, &e[i], addr);
		if (head < 0)
			head = e[i].pfn - (addr - mem) / page_size;
		if (kpf(e[i].pfn, KPF_THP)) {
			ASSERT_EQ(__builtin_ctzl(nr_pages), e[i].order);
			ASSERT_EQ(head + (addr - mem) / page_size, e[i].pfn);
			ASSERT_EQ(nr, e[i].folio_mapcount);
		} else {
			ASSERT_EQ(0, e[i].order);
		}
		ASSERT_EQ(1, e[i].mapcount);
		ASSERT_EQ(0, e[i].entire_mapcount);
		ASSERT_EQ(addr < mem + page_size && !dontneed ? 0 : 1, e[i].write);
		if (inspect_cap("build.anon_exclusive") == 1)
			ASSERT_EQ(1, e[i].exclusive);
		ASSERT_TRUE(pm & PM_MMAP_EXCL);
	}
	munmap(mem, pmd);
}

/*
 * Every PTE is checked against pagemap and kpageflags: 2048 of them with
 * 16 KiB pages (32 MiB PMDs), which takes longer than the harness's
 * default 30 s under TCG.
 */
#define PTE_MAPPED_TIMEOUT	120

TEST_F_TIMEOUT(inspect, thp_pte_mapped_dontneed, PTE_MAPPED_TIMEOUT)
{
	check_pte_mapped_thp(_metadata, self->pmd_size, true);
}

TEST_F_TIMEOUT(inspect, thp_pte_mapped_mprotect, PTE_MAPPED_TIMEOUT)
{
	check_pte_mapped_thp(_metadata, self->pmd_size, false);
}

/* Write, then mprotect(PROT_READ): read-only, still exclusive. */
TEST_F(inspect, anon_ro_exclusive)
{
	struct inspect_entry e;
	char *mem;

	mem = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	mem[0] = 1;
	ASSERT_EQ(0, mprotect(mem, page_size, PROT_READ));
	ASSERT_EQ(1, inspect_one(mem, &e));
	EXPECT_STREQ("anon", e.kind);
	check_pagemap(_metadata, &e, mem);
	EXPECT_EQ(0, e.write);
	EXPECT_EQ(1, e.dirty);
	if (inspect_cap("build.anon_exclusive") == 1)
		EXPECT_EQ(1, e.exclusive);
	munmap(mem, page_size);
}

/* The kind a page cache page of a file in dir is (shmem on tmpfs). */
static const char *file_kind(const char *dir)
{
	struct statfs sfs;

	if (statfs(dir, &sfs))
		return "?";
	return sfs.f_type == TMPFS_MAGIC ? "shmem" : "file";
}

static void check_file_page(struct __test_metadata *_metadata, int fd, const char *kind)
{
	struct inspect_entry e;
	volatile char *mem;

	ASSERT_EQ(0, ftruncate(fd, page_size));
	mem = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, mem);
	mem[0] = 1;
	ASSERT_EQ(1, inspect_one((void *)mem, &e));
	EXPECT_STREQ(kind, e.kind);
	EXPECT_EQ(INSPECT_LEVEL_PTE, e.level);
	check_pagemap(_metadata, &e, (void *)mem);
	EXPECT_TRUE(util_pagemap((void *)mem) & PM_FILE);
	EXPECT_FALSE(kpf(e.pfn, KPF_ANON));
	EXPECT_EQ(1, e.write);
	EXPECT_EQ(1, e.dirty);
	EXPECT_EQ(-1, e.exclusive);
	EXPECT_EQ(1, e.mapcount);
	/* page cache + mapping */
	EXPECT_LE(2, e.refcount);
	munmap((void *)mem, page_size);
}

/* A shared mapping of a memfd: shmem. */
TEST_F(inspect, shmem)
{
	int fd = memfd_create("inspect", 0);

	ASSERT_LE(0, fd);
	check_file_page(_metadata, fd, "shmem");
	close(fd);
}

/*
 * A regular file: on ramfs, mounted in a mount namespace of this test's own
 * (the guest's root is tmpfs), else wherever the current directory is.
 */
TEST_F(inspect, file)
{
	char dir[] = "/tmp/inspect.XXXXXX", path[64];
	bool mounted = false;
	int fd;

	ASSERT_NE(NULL, mkdtemp(dir));
	if (!unshare(CLONE_NEWNS) && !mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		mounted = !mount("ramfs", dir, "ramfs", 0, NULL);
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	TH_LOG("%s on %s", path, mounted ? "ramfs" : file_kind(dir));
	check_file_page(_metadata, fd, file_kind(dir));
	close(fd);
	unlink(path);
	if (mounted)
		umount(dir);
	rmdir(dir);
}

/* A MAP_PRIVATE file page read, then written: file, then anon (COW). */
TEST_F(inspect, file_private_cow)
{
	struct inspect_entry e;
	volatile char *mem;
	int fd = memfd_create("inspect", 0);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, page_size));
	mem = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, mem[0]);
	ASSERT_EQ(1, inspect_one((void *)mem, &e));
	EXPECT_STREQ("shmem", e.kind);
	EXPECT_EQ(0, e.write);
	check_pagemap(_metadata, &e, (void *)mem);
	mem[0] = 1;
	ASSERT_EQ(1, inspect_one((void *)mem, &e));
	EXPECT_STREQ("anon", e.kind);
	EXPECT_EQ(1, e.write);
	check_pagemap(_metadata, &e, (void *)mem);
	if (inspect_cap("build.anon_exclusive") == 1)
		EXPECT_EQ(1, e.exclusive);
	munmap((void *)mem, page_size);
	close(fd);
}

static void check_hugetlb(struct __test_metadata *_metadata, size_t size, int flags, int level)
{
	struct inspect_entry e;
	char *mem;
	uint64_t pm;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | flags, -1, 0);
	if (mem == MAP_FAILED)
		UTIL_SKIP(return, "no free hugetlb page of %zu MiB (%s)", size >> 20,
			  strerror(errno));
	mem[size - 1] = 1;
	pm = util_pagemap(mem);
	ASSERT_TRUE(pm & PM_PRESENT);
	ASSERT_TRUE(kpf(pagemap_pfn(pm), KPF_HUGE));

	ASSERT_EQ(1, inspect_one(mem + size / 2, &e));
	EXPECT_STREQ("hugetlb", e.kind);
	EXPECT_EQ(level, e.level);
	EXPECT_EQ(size, e.size);
	EXPECT_EQ((unsigned long)mem, e.addr);
	EXPECT_EQ(pagemap_pfn(pm), e.pfn);
	EXPECT_EQ(__builtin_ctzl(size / page_size), e.order);
	check_private_written(_metadata, &e);
	munmap(mem, size);
}

/* A PMD's and a PUD's size: 2 MiB and 1 GiB, 32 MiB and 64 GiB with 16 KiB pages */
static void check_hugetlb_level(struct __test_metadata *_metadata, size_t size, int level)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%zukB/free_hugepages",
		 size >> 10);
	if (read_long(path) < 1)
		UTIL_SKIP(return,
			  "no free hugetlb page of %zu kB: boot with hugepagesz=%zuK hugepages=1",
			  size >> 10, size >> 10);
	check_hugetlb(_metadata, size, __builtin_ctzl(size) << MAP_HUGE_SHIFT, level);
}

TEST_F(inspect, hugetlb_2m)
{
	check_hugetlb_level(_metadata, util_pmd_span(), INSPECT_LEVEL_PMD);
}

TEST_F(inspect, hugetlb_1g)
{
	check_hugetlb_level(_metadata, util_pud_span(), INSPECT_LEVEL_PUD);
}

/* A private page swapped out by MADV_PAGEOUT: a swap entry, as pagemap says. */
static char *swapped_page(struct __test_metadata *_metadata)
{
	char *mem;

	mem = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return NULL;
	memset(mem, 0x3c, page_size);
	if (madvise(mem, page_size, MADV_PAGEOUT) || !(util_pagemap(mem) & PM_SWAP)) {
		munmap(mem, page_size);
		return NULL;
	}
	return mem;
}

/* The pagemap entry of addr in process pid, 0 on failure. */
static uint64_t pagemap_of(pid_t pid, const void *addr)
{
	char path[64];
	uint64_t pm = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &pm, sizeof(pm), (uintptr_t)addr / page_size * sizeof(pm)) != sizeof(pm))
		pm = 0;
	close(fd);
	return pm;
}

static void check_swap(struct __test_metadata *_metadata, pid_t pid, const char *mem,
		       int exclusive)
{
	unsigned long addr = (unsigned long)mem;
	uint64_t pm = pagemap_of(pid, mem);
	struct inspect_entry e;

	ASSERT_TRUE(pm & PM_SWAP);
	ASSERT_EQ(1, inspect_range(pid, addr, addr + page_size, &e, 1));
	EXPECT_STREQ("swap", e.kind);
	EXPECT_EQ(INSPECT_LEVEL_PTE, e.level);
	EXPECT_EQ(pm & 0x1f, e.swap_type);
	EXPECT_EQ((pm & PM_PFN_MASK) >> 5, e.swap_offset);
	EXPECT_EQ(!!(pm & PM_SOFT_DIRTY), e.soft_dirty);
	EXPECT_EQ(!!(pm & PM_UFFD_WP), e.uffd_wp);
	EXPECT_EQ(-1, e.pfn);
	EXPECT_EQ(inspect_cap("build.swp_exclusive") == 1 ? exclusive : -1, e.exclusive);
}

TEST_F(inspect, swap)
{
	struct inspect_entry e;
	char *mem;
	pid_t pid;
	int status;

	if (!util_swap_enabled())
		UTIL_SKIP(return, "no swap: swapon a device (the VM has zram)");
	mem = swapped_page(_metadata);
	ASSERT_NE(NULL, mem) TH_LOG("setup: MADV_PAGEOUT did not swap the page out, with swap on");
	check_swap(_metadata, getpid(), mem, 1);

	/* fork() copies the entry without the exclusive bit, on both sides */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		pause();
		_exit(0);
	}
	check_swap(_metadata, pid, mem, 0);
	check_swap(_metadata, getpid(), mem, 0);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("the child ended before the SIGKILL: status %#x", status);

	/* swapping in brings the data back; the entry is a page again */
	ASSERT_EQ(0x3c, mem[7]);
	ASSERT_EQ(1, inspect_one(mem, &e));
	EXPECT_STREQ("anon", e.kind);
	check_pagemap(_metadata, &e, mem);
	munmap(mem, page_size);
}

/* Two pages with the same data, merged by KSM: one KSM page, read-only. */
TEST_F(inspect, ksm)
{
	struct inspect_entry e0, e1;
	struct timespec start, now;
	char *mem;
	bool merged = false;

	if (access(KSM_DIR "/run", W_OK))
		UTIL_SKIP(return, "no KSM in this kernel");
	mem = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, 0x77, 2 * page_size);
	ASSERT_EQ(0, util_setting_set(KSM_DIR "/pages_to_scan", "10000"));
	ASSERT_EQ(0, util_setting_set(KSM_DIR "/sleep_millisecs", "0"));
	ASSERT_EQ(0, util_setting_set(KSM_DIR "/run", "1"));
	ASSERT_EQ(0, madvise(mem, 2 * page_size, MADV_MERGEABLE));
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		uint64_t pm = util_pagemap(mem);

		if ((pm & PM_PRESENT) && kpf(pagemap_pfn(pm), KPF_KSM) &&
		    pagemap_pfn(pm) == pagemap_pfn(util_pagemap(mem + page_size))) {
			merged = true;
			break;
		}
		usleep(20000);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 10);
	if (!merged) {
		munmap(mem, 2 * page_size);
		ASSERT_TRUE(merged) TH_LOG("setup: ksmd did not merge the pages within 10 s");
	}
	ASSERT_EQ(1, inspect_one(mem, &e0));
	ASSERT_EQ(1, inspect_one(mem + page_size, &e1));
	EXPECT_STREQ("ksm", e0.kind);
	EXPECT_STREQ("ksm", e1.kind);
	check_pagemap(_metadata, &e0, mem);
	EXPECT_EQ(e0.pfn, e1.pfn);
	EXPECT_EQ(0, e0.write);
	EXPECT_LE(2, e0.mapcount);
	EXPECT_EQ(-1, e0.exclusive);
	munmap(mem, 2 * page_size);
}

/*
 * After fork() both sides map the page shared (not exclusive, mapcount 2);
 * a write gives the writer its own exclusive copy.
 */
TEST_F(inspect, fork_shared)
{
	int to_child[2], to_parent[2], status;
	bool anon_excl = inspect_cap("build.anon_exclusive") == 1;
	struct inspect_entry e, c;
	char *mem, ch;
	pid_t pid;

	mem = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	mem[0] = 1;
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* 1: shared, seen from the child */
		if (inspect_one(mem, &c) != 1 || c.mapcount != 2 || (anon_excl && c.exclusive))
			_exit(1);
		if (c.pfn != pagemap_pfn(util_pagemap(mem)))
			_exit(2);
		if (write(to_parent[1], "s", 1) != 1 || read(to_child[0], &ch, 1) != 1)
			_exit(3);
		/* 3: the child writes: its own exclusive copy */
		mem[0] = 2;
		if (inspect_one(mem, &c) != 1 || c.mapcount != 1 || (anon_excl && c.exclusive != 1))
			_exit(4);
		if (c.pfn != pagemap_pfn(util_pagemap(mem)) || c.write != 1)
			_exit(5);
		if (write(to_parent[1], "w", 1) != 1 || read(to_child[0], &ch, 1) != 1)
			_exit(6);
		_exit(0);
	}
	/* 2: shared, seen from the parent, and through the child's pid */
	ASSERT_EQ(1, read(to_parent[0], &ch, 1));
	ASSERT_EQ('s', ch);
	ASSERT_EQ(1, inspect_one(mem, &e));
	EXPECT_EQ(2, e.mapcount);
	EXPECT_EQ(0, e.write);
	if (anon_excl)
		EXPECT_EQ(0, e.exclusive);
	check_pagemap(_metadata, &e, mem);
	ASSERT_EQ(1, inspect_range(pid, (unsigned long)mem, (unsigned long)mem + page_size, &c, 1));
	EXPECT_EQ(e.pfn, c.pfn);
	EXPECT_EQ(2, c.mapcount);
	ASSERT_EQ(1, write(to_child[1], "g", 1));
	/* 4: after the child's write the old page is the parent's alone */
	ASSERT_EQ(1, read(to_parent[0], &ch, 1));
	ASSERT_EQ('w', ch);
	ASSERT_EQ(1, inspect_one(mem, &e));
	EXPECT_EQ(1, e.mapcount);
	ASSERT_EQ(1, inspect_range(pid, (unsigned long)mem, (unsigned long)mem + page_size, &c, 1));
	EXPECT_NE(e.pfn, c.pfn);
	EXPECT_EQ(1, c.mapcount);
	ASSERT_EQ(1, write(to_child[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("the child did not exit: status %#x", status);
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("the child failed at step %d",
						 WEXITSTATUS(status));
	/* 5: the parent writes: the page is exclusive again (reused or copied) */
	mem[0] = 3;
	ASSERT_EQ(1, inspect_one(mem, &e));
	check_pagemap(_metadata, &e, mem);
	EXPECT_EQ(1, e.write);
	EXPECT_EQ(1, e.mapcount);
	if (anon_excl)
		EXPECT_EQ(1, e.exclusive);
	munmap(mem, page_size);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
}

/* After clear_refs: clean; after a write: soft-dirty, as pagemap says. */
static void check_soft_dirty_write(struct __test_metadata *_metadata, char *mem, int level)
{
	struct inspect_entry e;

	ASSERT_EQ(1, inspect_one(mem, &e));
	ASSERT_EQ(level, e.level);
	EXPECT_EQ(0, e.soft_dirty);
	check_pagemap(_metadata, &e, mem);
	mem[1] = 2;
	ASSERT_EQ(1, inspect_one(mem, &e));
	EXPECT_EQ(1, e.soft_dirty);
	check_pagemap(_metadata, &e, mem);
}

/* clear_refs 4 clears soft-dirty everywhere; a write sets it again. */
TEST_F(inspect, soft_dirty)
{
	size_t pmd = self->pmd_size;
	char *mem, *thp = NULL;

	mem = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	/* every new VMA is VM_SOFTDIRTY, which is 0 without the feature */
	if (!vma_soft_dirty(mem))
		UTIL_SKIP(return,
			  "no soft-dirty: new VMAs lack VmFlags sd (no CONFIG_MEM_SOFT_DIRTY)");
	mem[0] = 1;
	if (!thp_madvise())
		thp = thp_pmd_alloc(pmd);
	if (util_write_file("/proc/self/clear_refs", "4"))
		UTIL_SKIP(return, "no soft-dirty tracking (CONFIG_MEM_SOFT_DIRTY)");
	check_soft_dirty_write(_metadata, mem, INSPECT_LEVEL_PTE);
	if (thp) {
		check_soft_dirty_write(_metadata, thp, INSPECT_LEVEL_PMD);
		munmap(thp, pmd);
	}
	munmap(mem, page_size);
}

static int uffd_open_wp(struct __test_metadata *_metadata)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP };
	int uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (uffd < 0)
		return -errno;
	if (ioctl(uffd, UFFDIO_API, &api)) {
		close(uffd);
		return -EOPNOTSUPP;
	}
	return uffd;
}

static int uffd_wp(int uffd, void *mem, size_t len, bool wp)
{
	struct uffdio_writeprotect p = {
		.range = { .start = (unsigned long)mem, .len = len },
		.mode = wp ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(uffd, UFFDIO_WRITEPROTECT, &p) ? -errno : 0;
}

/*
 * userfaultfd write-protect: the uffd_wp bit on a present PTE, and the
 * uffd-wp marker that zapping a protected shmem page leaves behind.
 */
TEST_F(inspect, uffd_wp)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	struct inspect_entry e;
	int uffd, fd;
	char *anon, *shm;

	uffd = uffd_open_wp(_metadata);
	if (uffd < 0)
		UTIL_SKIP(return, "no userfaultfd write-protect (%s)", strerror(-uffd));
	anon = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, anon);
	anon[0] = 1;
	reg.range.start = (unsigned long)anon;
	reg.range.len = page_size;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));
	ASSERT_EQ(0, uffd_wp(uffd, anon, page_size, true));
	ASSERT_EQ(1, inspect_one(anon, &e));
	EXPECT_STREQ("anon", e.kind);
	EXPECT_EQ(1, e.uffd_wp);
	EXPECT_EQ(0, e.write);
	check_pagemap(_metadata, &e, anon);
	ASSERT_EQ(0, uffd_wp(uffd, anon, page_size, false));
	ASSERT_EQ(1, inspect_one(anon, &e));
	EXPECT_EQ(0, e.uffd_wp);
	check_pagemap(_metadata, &e, anon);

	fd = memfd_create("inspect-uffd", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, page_size));
	shm = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, shm);
	shm[0] = 1;
	reg.range.start = (unsigned long)shm;
	reg.range.len = page_size;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		UTIL_SKIP(goto out, "no uffd-wp on shmem in this kernel (%s)", strerror(errno));
	ASSERT_EQ(0, uffd_wp(uffd, shm, page_size, true));
	ASSERT_EQ(0, madvise(shm, page_size, MADV_DONTNEED));
	ASSERT_TRUE(util_pagemap(shm) & PM_UFFD_WP)
		TH_LOG("no uffd-wp marker in pagemap (CONFIG_PTE_MARKER_UFFD_WP?)");
	ASSERT_EQ(1, inspect_one(shm, &e));
	EXPECT_STREQ("marker", e.kind);
	EXPECT_EQ(INSPECT_LEVEL_PTE, e.level);
	EXPECT_EQ(1, e.uffd_wp);
	EXPECT_EQ(0, e.poisoned);
	EXPECT_EQ(0, e.guard);
	EXPECT_EQ(-1, e.pfn);
out:
	munmap(shm, page_size);
	close(fd);
	munmap(anon, page_size);
	close(uffd);
}

/*
 * "summary" counts exactly what the lines list: entries and pages by kind
 * and level, exclusive, shared and pinned pages.
 */
TEST_F(inspect, summary_counts)
{
	static struct inspect_entry e[MAX_ENTRIES];
	size_t pmd = self->pmd_size, len;
	struct inspect_summary s;
	long long pages = 0, excl = 0, shared = 0, present = 0;
	char *mem, *thp;
	int i, nr;

	if (thp_madvise() || !pmd)
		UTIL_SKIP(return, "no THP in this kernel");
	len = 2 * pmd;
	mem = util_mmap_aligned(len, pmd);
	ASSERT_NE(NULL, mem);
	/* a THP, some small pages, a zero page and (with swap) a swap entry */
	madvise(mem, len, MADV_HUGEPAGE);
	madvise(mem + pmd, pmd, MADV_NOHUGEPAGE);
	thp = mem;
	memset(thp, 1, pmd);
	for (i = 0; i < 16; i++)
		mem[pmd + i * 2 * page_size] = 1;
	ASSERT_EQ(0, *(volatile char *)(mem + pmd + page_size));
	if (util_swap_enabled())
		madvise(mem + pmd + 2 * page_size, page_size, MADV_PAGEOUT);

	ASSERT_EQ(0, inspect_summary(0, (unsigned long)mem, (unsigned long)mem + len, &s));
	nr = inspect_range(0, (unsigned long)mem, (unsigned long)mem + len, e, MAX_ENTRIES);
	ASSERT_LT(0, nr);
	ASSERT_GE(MAX_ENTRIES, nr);
	EXPECT_FALSE(s.cut);
	EXPECT_EQ(nr, s.entries);
	for (i = 0; i < nr; i++) {
		long long n = e[i].size / page_size;

		pages += n;
		if (e[i].exclusive == 1)
			excl += n;
		else if (e[i].exclusive == 0)
			shared += n;
		EXPECT_LE(1, inspect_summary_get(&s, e[i].kind, e[i].level, "entries"))
			TH_LOG("no %s %s row", e[i].kind, inspect_level_name(e[i].level));
	}
	EXPECT_EQ(pages, s.pages);
	EXPECT_EQ(excl, inspect_summary_get(&s, NULL, -1, "exclusive"));
	EXPECT_EQ(shared, inspect_summary_get(&s, NULL, -1, "shared"));
	EXPECT_EQ(0, inspect_summary_get(&s, NULL, -1, "pinned"));
	/* and pagemap agrees on what is present */
	for (i = 0; i < (int)(len / page_size); i++)
		present += !!(util_pagemap(mem + i * page_size) & PM_PRESENT);
	EXPECT_EQ(present, s.pages - inspect_summary_get(&s, "swap", -1, "pages"));
	if (kpf(pagemap_pfn(util_pagemap(thp)), KPF_THP))
		EXPECT_EQ(1, inspect_summary_get(&s, "anon", INSPECT_LEVEL_PMD, "entries"));
	EXPECT_EQ(1, inspect_summary_get(&s, "zero", INSPECT_LEVEL_PTE, "entries"));
	munmap(mem, len);
}

/*
 * "binary" gives one struct mmprobe_inspect_entry per run of lines of the
 * text report, with the same values (inspect_range_binary() gives each run
 * as its entries), and a cut record where the text has a cut line. (Only
 * the refcount may move between the two reads.)
 */
TEST_F(inspect, binary_matches_text)
{
	static struct inspect_entry text[MAX_ENTRIES], bin;
	static struct mmprobe_inspect_entry rec[MAX_ENTRIES];
	size_t pmd = self->pmd_size ? self->pmd_size : 2UL << 20, len = 2 * pmd;
	unsigned long start;
	int i, nr, nr_bin, fd;
	char *mem, *shm;

	mem = util_mmap_aligned(len, pmd);
	ASSERT_NE(NULL, mem);
	start = (unsigned long)mem;
	madvise(mem, pmd, MADV_HUGEPAGE);
	madvise(mem + pmd, pmd, MADV_NOHUGEPAGE);
	memset(mem, 1, pmd);
	for (i = 0; i < 32; i++)
		mem[pmd + i * page_size] = 1;
	for (i = 32; i < 40; i++)
		ASSERT_EQ(0, *(volatile char *)(mem + pmd + i * page_size));
	if (util_swap_enabled())
		madvise(mem + pmd, 4 * page_size, MADV_PAGEOUT);
	fd = memfd_create("inspect-bin", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4 * page_size));
	shm = mmap(mem + pmd + 64 * page_size, 4 * page_size, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_FIXED, fd, 0);
	ASSERT_NE(MAP_FAILED, shm);
	memset(shm, 1, 4 * page_size);

	nr = inspect_range(0, start, start + len, text, MAX_ENTRIES);
	nr_bin = inspect_range_binary(0, start, start + len, rec, MAX_ENTRIES);
	ASSERT_LT(0, nr);
	ASSERT_EQ(nr, nr_bin);
	for (i = 0; i < nr; i++) {
		ASSERT_EQ(0, inspect_entry_from_binary(&rec[i], &bin));
		EXPECT_EQ(0, rec[i].reserved[0] | rec[i].reserved[1]);
		EXPECT_EQ(1, rec[i].nr);
		bin.refcount = text[i].refcount;
		EXPECT_EQ(0, memcmp(&text[i], &bin, sizeof(bin)))
			TH_LOG("entry %d at 0x%lx (%s): text and binary differ", i,
			       text[i].addr, text[i].kind);
	}
	/* a cut record, like the cut line */
	{
		char opts[] = "binary max_lines=2", *data;
		const struct mmprobe_inspect_entry *r;
		ssize_t n;

		n = inspect_report(0, start, start + len, opts, &data);
		ASSERT_EQ(3 * (ssize_t)sizeof(*r), n);
		r = (const void *)data;
		EXPECT_EQ(MMPROBE_INSPECT_CUT | MMPROBE_INSPECT_CUT_MAX_LINES, r[2].flags);
		/* two records: the first entries of the text, as many as they hold */
		ASSERT_LE(2, r[0].nr + r[1].nr);
		ASSERT_GT(nr, r[0].nr + r[1].nr);
		EXPECT_EQ(text[r[0].nr + r[1].nr].addr, r[2].addr);
		EXPECT_EQ(0, r[2].level);
		EXPECT_EQ(0, r[2].nr);
		free(data);
	}
	munmap(mem, len);
	close(fd);
}

/* A binary report is read in whole records. */
TEST_F(inspect, binary_whole_records)
{
	char cmd[80], buf[sizeof(struct mmprobe_inspect_entry) + 8];
	char *mem;
	int fd;

	mem = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	mem[0] = 1;
	fd = open(INSPECT_PATH, O_RDWR);
	ASSERT_LE(0, fd);
	snprintf(cmd, sizeof(cmd), "0 0x%lx binary", (unsigned long)mem);
	ASSERT_EQ((ssize_t)strlen(cmd), write(fd, cmd, strlen(cmd)));
	EXPECT_EQ(-1, read(fd, buf, 8));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ((ssize_t)sizeof(struct mmprobe_inspect_entry), read(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, read(fd, buf, sizeof(buf)));
	/* summary and binary do not go together */
	snprintf(cmd, sizeof(cmd), "0 0x%lx summary binary", (unsigned long)mem);
	EXPECT_EQ(-1, write(fd, cmd, strlen(cmd)));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
	munmap(mem, page_size);
}

/*
 * "binary" runs: a record stands for entries that differ only in address
 * and PFN, both consecutive. Checked against pagemap: every entry a run
 * stands for has the PFN pagemap gives its address, so no run spans a gap
 * in the PFNs (at least as many records as pagemap has PFN runs); and the
 * 511 PTEs of a THP whose first page was zapped, which map consecutive
 * subpages of one folio in the same state, are one record: one per run of
 * equal cont= on arm64, where the split maps the PTEs contiguous and the
 * zap unfolds the first block alone.
 */
TEST_F(inspect, binary_runs)
{
	static struct mmprobe_inspect_entry rec[MAX_ENTRIES];
	static struct inspect_entry e[MAX_ENTRIES];
	size_t pmd = self->pmd_size ? self->pmd_size : 2UL << 20;
	int i, nr, nr_pages = pmd / page_size, pfn_runs = 0, runs;
	unsigned long start;
	long long prev = -2;
	char *mem, *thp, *data;
	ssize_t n;

	mem = util_mmap_aligned(pmd, pmd);
	ASSERT_NE(NULL, mem);
	start = (unsigned long)mem;
	madvise(mem, pmd, MADV_NOHUGEPAGE);
	memset(mem, 1, pmd);
	nr = inspect_range_binary(0, start, start + pmd, rec, MAX_ENTRIES);
	ASSERT_EQ(nr_pages, nr);
	for (i = 0; i < nr; i++) {
		long long pfn = pagemap_pfn(util_pagemap(mem + i * page_size));

		ASSERT_EQ(start + i * page_size, rec[i].addr);
		ASSERT_EQ(pfn, rec[i].pfn) TH_LOG("entry %d: a run across a PFN gap", i);
		pfn_runs += pfn != prev + 1;
		prev = pfn;
	}
	n = inspect_report(0, start, start + pmd, "binary", &data);
	ASSERT_LT(0, n);
	ASSERT_LE(pfn_runs, n / (ssize_t)sizeof(*rec));
	TH_LOG("%d small pages: %d PFN runs (pagemap), %zd records", nr_pages, pfn_runs,
	       n / (ssize_t)sizeof(*rec));
	free(data);
	munmap(mem, pmd);

	/* skips only where the kernel says why it had no THP, else fails */
	thp = thp_pmd_get(_metadata, pmd);
	if (!thp)
		return;
	start = (unsigned long)thp;
	ASSERT_EQ(0, madvise(thp, page_size, MADV_DONTNEED));
	ASSERT_EQ(nr_pages - 1, inspect_range(0, start, start + pmd, e, MAX_ENTRIES));
	for (i = 1, runs = 1; i < nr_pages - 1; i++)
		runs += e[i].cont != e[i - 1].cont;
	n = inspect_report(0, start, start + pmd, "binary", &data);
	ASSERT_EQ(runs * (ssize_t)sizeof(*rec), n)
		TH_LOG("the PTE-mapped THP is not %d record(s), one per run of cont=", runs);
	memcpy(rec, data, n);
	free(data);
	TH_LOG("the PTE-mapped THP: %d record(s), cont=%d then %d", runs, e[0].cont,
	       e[nr_pages - 2].cont);
	EXPECT_EQ(start + page_size, rec[0].addr);
	for (i = 0, nr = 0; i < runs; i++)
		nr += rec[i].nr;
	EXPECT_EQ(nr_pages - 1, nr);
	EXPECT_EQ(MMPROBE_INSPECT_LEVEL_PTE, rec[0].level);
	EXPECT_EQ(pagemap_pfn(util_pagemap(thp + page_size)), rec[0].pfn);
	EXPECT_EQ(__builtin_ctzl(nr_pages), rec[0].order);
	munmap(thp, pmd);
}

/* The whole address space: finishes, in address order, without a cut. */
/* What whole_folio_expect() found last: a folio is read once. */
struct whole_cache {
	uint64_t head;
	uint64_t nr;
	unsigned long first;
	int whole;
};

/*
 * What whole_folio= must say of entry e in a report of [start, end), from
 * pagemap and kpageflags alone. A PMD or PUD entry (of a THP, whose
 * folio is that one entry; hugetlb_whole_cont has hugetlb's): it lies
 * inside the range. A PTE: the folio of its page (the compound head
 * kpageflags names and the tails after it) has every page mapped inside
 * the range, by PTEs of one PTE table (the same PMD-sized span), in the
 * order of its pages.
 */
static int whole_folio_expect(const struct inspect_entry *e, unsigned long start,
			      unsigned long end, size_t pmd, struct whole_cache *c)
{
	uint64_t pfn = e->pfn, head = pfn, nr = 1, i;
	unsigned long first, last;

	if (e->level != INSPECT_LEVEL_PTE)
		return e->addr >= start && e->addr + e->size <= end;
	/* The next page of the folio read last, at the next address. */
	if (pfn > c->head && pfn < c->head + c->nr &&
	    e->addr == c->first + (pfn - c->head) * page_size)
		return c->whole;
	while (kpf(head, KPF_COMPOUND_TAIL) && pfn - head < pmd / page_size)
		head--;
	if (!kpf(head, KPF_COMPOUND_HEAD))
		return 1;	/* a small folio */
	while (kpf(head + nr, KPF_COMPOUND_TAIL))
		nr++;
	if ((pfn - head) * page_size > e->addr)
		return 0;
	first = e->addr - (pfn - head) * page_size;
	if (c->head == head && c->first == first)
		return c->whole;
	last = first + nr * page_size;
	c->head = head;
	c->nr = nr;
	c->first = first;
	c->whole = first >= start && last <= end && first / pmd == (last - 1) / pmd;
	for (i = 0; c->whole && i < nr; i++) {
		uint64_t pm = util_pagemap((void *)(first + i * page_size));

		c->whole = (pm & PM_PRESENT) && pagemap_pfn(pm) == head + i;
	}
	return c->whole;
}

/*
 * Report [start, end) as text and in binary: every entry's whole_folio
 * is what pagemap and kpageflags say (whole_folio_expect()), in both
 * forms. Returns how many entries say 1, in base pages.
 */
static long check_whole_folio(struct __test_metadata *_metadata, unsigned long start,
			      unsigned long end, size_t pmd)
{
	static struct mmprobe_inspect_entry rec[MAX_ENTRIES];
	static struct inspect_entry e[MAX_ENTRIES];
	struct whole_cache c = { .head = -1ULL, .nr = 0 };
	struct inspect_entry bin;
	long whole_pages = 0;
	int i, nr;

	nr = inspect_range(0, start, end, e, MAX_ENTRIES);
	ASSERT_LT(0, nr);
	EXPECT_EQ(nr, inspect_range_binary(0, start, end, rec, MAX_ENTRIES));
	for (i = 0; i < nr; i++) {
		EXPECT_STREQ("anon", e[i].kind);
		ASSERT_EQ(whole_folio_expect(&e[i], start, end, pmd, &c), e[i].whole_folio)
			TH_LOG("0x%lx %s order %d pfn %#llx in [0x%lx, 0x%lx)", e[i].addr,
			       inspect_level_name(e[i].level), e[i].order, e[i].pfn, start, end);
		ASSERT_EQ(0, inspect_entry_from_binary(&rec[i], &bin));
		EXPECT_EQ(e[i].whole_folio, bin.whole_folio) TH_LOG("binary, 0x%lx", e[i].addr);
		whole_pages += e[i].whole_folio == 1 ? (long)(e[i].size / page_size) : 0;
	}
	return whole_pages;
}

/* The fault fallbacks of a THP size so far (stats/anon_fault_fallback for an mTHP). */
static long long fallbacks(size_t size, size_t pmd)
{
	char path[128], buf[32];

	if (size == pmd)
		return util_vmstat("thp_fault_fallback");
	snprintf(path, sizeof(path), THP_DIR "/hugepages-%zukB/stats/anon_fault_fallback",
		 size >> 10);
	return util_read_file(path, buf, sizeof(buf)) > 0 ? atoll(buf) : -1;
}

/* Is [p, p + size) one folio of size bytes, by pagemap and kpageflags? */
static bool one_folio(const char *p, size_t size)
{
	uint64_t first = pagemap_pfn(util_pagemap(p));
	size_t n = size / page_size;

	return first && kpf(first, KPF_COMPOUND_HEAD) &&
	       pagemap_pfn(util_pagemap(p + size - page_size)) == first + n - 1 &&
	       kpf(first + n - 1, KPF_COMPOUND_TAIL) && !kpf(first + n, KPF_COMPOUND_TAIL);
}

/*
 * n anonymous folios of size bytes (the THP size the caller enabled), one
 * after the other from an address aligned to size, each confirmed by
 * one_folio(); then MADV_NOHUGEPAGE, to keep khugepaged away from the
 * holes a test makes. NULL after a skip when the fault fell back for want
 * of memory; a folio missing for another reason fails.
 */
static char *folios_get(struct __test_metadata *_metadata, int n, size_t size, size_t pmd)
{
	long long fallback = fallbacks(size, pmd);
	size_t len = n * size;
	char *mem;
	int i;

	mem = util_mmap_aligned(len, size);
	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, madvise(mem, len, MADV_HUGEPAGE));
	memset(mem, 0x5a, len);
	for (i = 0; i < n; i++) {
		if (one_folio(mem + i * size, size))
			continue;
		munmap(mem, len);
		if (fallbacks(size, pmd) > fallback)
			UTIL_SKIP(return NULL, "no free %zu kB folio (its fault fallbacks rose)",
				  size >> 10);
		ASSERT_TRUE(false) TH_LOG("setup: no %zu kB folio at %d", size >> 10, i);
	}
	ASSERT_EQ(0, madvise(mem, len, MADV_NOHUGEPAGE));
	return mem;
}

/*
 * whole_folio= on four folios of size bytes: one left whole, one without
 * its last page (a new mapping in its place), one whose upper half was
 * moved (mremap), and one whole but cut by the end of the range. For the
 * PMD size the first is a PMD entry, the second and third PTEs of the
 * split PMD. No hole is left in the range: malloc() would map its buffers
 * there (the report's own, on 6.1), and they would be reported too.
 */
static void whole_folio_size(struct __test_metadata *_metadata, size_t size, size_t pmd)
{
	size_t len = 4 * size, half = size / 2;
	unsigned long start;
	char *mem, *moved;
	long pages;

	mem = folios_get(_metadata, 4, size, pmd);
	if (!mem)
		return;
	start = (unsigned long)mem;

	/* Four whole folios: every page says 1. */
	EXPECT_EQ(len / page_size, check_whole_folio(_metadata, start, start + len, pmd));

	ASSERT_NE(MAP_FAILED, mmap(mem + 2 * size - page_size, page_size,
				   PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	moved = mmap(NULL, half, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, moved);
	ASSERT_EQ(moved, mremap(mem + 2 * size + half, half, half,
				MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, moved));

	/* The first and last folios, whole; the two others not. */
	pages = check_whole_folio(_metadata, start, start + len, pmd);
	EXPECT_EQ(2 * size / page_size, pages);
	/* The last folio cut by the end of the range: the first alone. */
	pages = check_whole_folio(_metadata, start, start + len - page_size, pmd);
	EXPECT_EQ(size / page_size, pages);
	/* The moved half, where it is now. */
	EXPECT_EQ(0, check_whole_folio(_metadata, (unsigned long)moved,
				       (unsigned long)moved + half, pmd));
	munmap(moved, half);
	munmap(mem, len);
}

/*
 * whole_folio=: is the entry's folio mapped whole inside the range? For
 * the PMD size and, where the kernel has multi-size THP, a 64 kB (or its
 * smallest) mTHP, checked against pagemap and kpageflags.
 */
TEST_F_TIMEOUT(inspect, whole_folio, PTE_MAPPED_TIMEOUT)
{
	size_t pmd = self->pmd_size, sizes[16], size;
	int n;

	if (thp_madvise())
		UTIL_SKIP(return, "no THP in this kernel");
	whole_folio_size(_metadata, pmd, pmd);
	n = behaviour_mthp_sizes(sizes, ARRAY_SIZE(sizes));
	if (n <= 0) {
		TH_LOG("no %s/hugepages-*kB with an enabled file: the PMD size alone", THP_DIR);
		return;
	}
	size = sizes[0];
	for (; n > 0; n--)
		if (sizes[n - 1] == 64 << 10)
			size = sizes[n - 1];
	ASSERT_EQ(0, behaviour_mthp_select(size));
	whole_folio_size(_metadata, size, pmd);
}

/* Is [p, p + size) one folio of size bytes, every page mapped in order (pagemap)? */
static bool folio_mapped_whole(const char *p, size_t size)
{
	uint64_t first = pagemap_pfn(util_pagemap(p));
	size_t i;

	if (!one_folio(p, size))
		return false;
	for (i = 1; i < size / page_size; i++)
		if (pagemap_pfn(util_pagemap(p + i * page_size)) != first + i)
			return false;
	return true;
}

/* Does mmprobe report the contiguous bit, cont=, on this architecture? */
static bool cont_reported(void)
{
	volatile char here = 1;
	struct inspect_entry e;

	return inspect_one((const void *)&here, &e) == 1 && e.cont >= 0;
}

/* The hugetlb sizes of /sys/kernel/mm/hugepages, ascending, at most max. */
static int hugetlb_sizes(size_t *sizes, int max)
{
	DIR *dir = opendir("/sys/kernel/mm/hugepages");
	struct dirent *d;
	int n = 0, i;
	size_t kb;

	while (dir && n < max && (d = readdir(dir))) {
		if (sscanf(d->d_name, "hugepages-%zukB", &kb) != 1)
			continue;
		for (i = n++; i > 0 && sizes[i - 1] > kb << 10; i--)
			sizes[i] = sizes[i - 1];
		sizes[i] = kb << 10;
	}
	if (dir)
		closedir(dir);
	return n;
}

/*
 * The size of arm64's contiguous-PTE block, which it offers as a hugetlb
 * size: the one between a page's and a PMD's (64 kB with 4 KiB pages,
 * 2 MiB with 16 KiB); 0 when there is none.
 */
static size_t cont_pte_size(void)
{
	size_t sizes[16];
	int i, n = hugetlb_sizes(sizes, ARRAY_SIZE(sizes));

	for (i = 0; i < n; i++)
		if (sizes[i] > (size_t)page_size && sizes[i] < util_pmd_span())
			return sizes[i];
	return 0;
}

/* Does /boot/config-<release> say "# CONFIG_<name> is not set"? */
static bool kconfig_unset(const char *name)
{
	char release[128], path[192], line[256], want[128];
	bool unset = false;
	FILE *f;

	if (util_read_file("/proc/sys/kernel/osrelease", release, sizeof(release)) <= 0)
		return false;
	release[strcspn(release, "\n")] = '\0';
	snprintf(path, sizeof(path), "/boot/config-%s", release);
	snprintf(want, sizeof(want), "# CONFIG_%s is not set\n", name);
	f = fopen(path, "r");
	while (f && !unset && fgets(line, sizeof(line), f))
		unset = !strcmp(line, want);
	if (f)
		fclose(f);
	return unset;
}

/*
 * Report [p, p + len) as text and in binary: every entry is a PTE of the
 * page pagemap gives there, with cont= want in both forms. Returns the
 * entries.
 */
static int check_cont(struct __test_metadata *_metadata, const char *p, size_t len, int want)
{
	static struct mmprobe_inspect_entry rec[MAX_ENTRIES];
	static struct inspect_entry e[MAX_ENTRIES];
	unsigned long start = (unsigned long)p;
	struct inspect_entry bin;
	int i, nr;

	nr = inspect_range(0, start, start + len, e, MAX_ENTRIES);
	ASSERT_LT(0, nr);
	ASSERT_GE(MAX_ENTRIES, nr);
	ASSERT_EQ(nr, inspect_range_binary(0, start, start + len, rec, MAX_ENTRIES));
	for (i = 0; i < nr; i++) {
		ASSERT_EQ(INSPECT_LEVEL_PTE, e[i].level);
		ASSERT_EQ(pagemap_pfn(util_pagemap((void *)e[i].addr)), e[i].pfn);
		ASSERT_EQ(want, e[i].cont) TH_LOG("0x%lx (pfn %#llx) in [%p, +%zu kB)",
						  e[i].addr, e[i].pfn, p, len >> 10);
		ASSERT_EQ(0, inspect_entry_from_binary(&rec[i], &bin));
		ASSERT_EQ(want, bin.cont) TH_LOG("binary, 0x%lx", e[i].addr);
	}
	return nr;
}

/*
 * arm64's contiguous bit on multi-size THP (CONFIG_ARM64_CONTPTE, 6.9): a
 * folio of the contiguous-PTE block's size, naturally aligned and mapped
 * whole at an aligned address, has cont=1 on each of its PTEs. The bit
 * belongs to the mapping, not the folio: mprotect() of one page, or
 * MADV_DONTNEED of one, unfolds the whole block (cont=0 on every PTE
 * left) while pagemap and kpageflags show the same folio, and leaves the
 * block next to it folded; the folio moved one page off the block's
 * alignment (mremap()) is mapped whole and not folded.
 */
TEST_F_TIMEOUT(inspect, cont_mthp, PTE_MAPPED_TIMEOUT)
{
	size_t block = cont_pte_size(), sizes[16];
	size_t n = block / page_size;
	char *mem, *resv, *moved;
	struct inspect_entry e;
	int i, nr;

	if (!cont_reported())
		UTIL_SKIP(return,
			  "mmprobe reports no cont= key: this architecture has no contiguous bit (arm64 has)");
	if (!block)
		UTIL_SKIP(return,
			  "no hugetlb size between a page's and a PMD's in /sys/kernel/mm/hugepages: the contiguous-PTE block's size is not known");
	if (thp_madvise())
		UTIL_SKIP(return, "no THP in this kernel");
	nr = behaviour_mthp_sizes(sizes, ARRAY_SIZE(sizes));
	for (i = 0; i < nr && sizes[i] != block; i++)
		;
	if (i >= nr)
		UTIL_SKIP(return,
			  "no %s/hugepages-%zukB: no multi-size THP of the contiguous block's size",
			  THP_DIR, block >> 10);
	ASSERT_EQ(0, behaviour_mthp_select(block));
	mem = folios_get(_metadata, 4, block, self->pmd_size);
	if (!mem)
		return;
	for (i = 0; i < 4; i++)
		ASSERT_TRUE(folio_mapped_whole(mem + i * block, block)) TH_LOG("folio %d", i);
	ASSERT_EQ(1, inspect_one(mem, &e));
	if (!e.cont && kconfig_unset("ARM64_CONTPTE")) {
		munmap(mem, 4 * block);
		UTIL_SKIP(return,
			  "CONFIG_ARM64_CONTPTE is not set (/boot/config): large folios are not folded");
	}

	/* Four folios mapped whole: every PTE folded. */
	EXPECT_EQ(4 * n, check_cont(_metadata, mem, 4 * block, 1));

	ASSERT_EQ(0, mprotect(mem + block + page_size, page_size, PROT_READ));
	ASSERT_EQ(0, madvise(mem + 2 * block + page_size, page_size, MADV_DONTNEED));
	resv = util_mmap_aligned(2 * block, block);
	ASSERT_NE(NULL, resv);
	moved = resv + page_size;
	ASSERT_EQ(moved, mremap(mem + 3 * block, block, block,
				MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, moved));
	ASSERT_TRUE(folio_mapped_whole(mem + block, block));
	ASSERT_TRUE(one_folio(mem + 2 * block, block));
	ASSERT_TRUE(folio_mapped_whole(moved, block));

	EXPECT_EQ(n, check_cont(_metadata, mem, block, 1));
	/* one page read-only: the block unfolds, its folio stays mapped whole */
	EXPECT_EQ(n, check_cont(_metadata, mem + block, block, 0));
	/* one page zapped: the PTEs left unfold */
	EXPECT_EQ(n - 1, check_cont(_metadata, mem + 2 * block, block, 0));
	/* mapped whole, one page off the block's alignment */
	EXPECT_EQ(n, check_cont(_metadata, moved, block, 0));
	munmap(resv, 2 * block);
	munmap(mem, 4 * block);
}

/*
 * One hugetlb page of size bytes, of entries of entry bytes (more than one
 * for arm64's contiguous sizes), confirmed one folio by pagemap and
 * kpageflags: reported whole, each entry says whole_folio=1 and, where the
 * architecture has the bit (cont), cont=1 when the page has more than one
 * entry, else 0; its first or last entry reported alone says whole_folio=1
 * only for a page of one entry.
 */
static void hugetlb_whole_cont_size(struct __test_metadata *_metadata, size_t size,
				    size_t entry, bool cont)
{
	static struct mmprobe_inspect_entry rec[MAX_ENTRIES];
	static struct inspect_entry e[MAX_ENTRIES];
	size_t n = size / entry, pages = size / page_size;
	int want_cont = cont ? n > 1 : -1;
	struct inspect_entry bin;
	unsigned long start, at;
	uint64_t head;
	char *mem;
	size_t i;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
		   (__builtin_ctzl(size) << MAP_HUGE_SHIFT), -1, 0);
	ASSERT_NE(MAP_FAILED, mem) TH_LOG("mmap a %zu kB hugetlb page: %s", size >> 10,
					  strerror(errno));
	start = (unsigned long)mem;
	ASSERT_EQ(0, start & (size - 1));
	mem[0] = 1;
	mem[size - 1] = 1;
	head = pagemap_pfn(util_pagemap(mem));
	ASSERT_EQ(0, head & (pages - 1)) TH_LOG("pfn %#llx", (unsigned long long)head);
	ASSERT_TRUE(kpf(head, KPF_HUGE) && kpf(head, KPF_COMPOUND_HEAD));
	ASSERT_EQ(head + pages - 1, pagemap_pfn(util_pagemap(mem + size - page_size)));
	ASSERT_TRUE(kpf(head + pages - 1, KPF_COMPOUND_TAIL));
	ASSERT_FALSE(kpf(head + pages, KPF_COMPOUND_TAIL));

	ASSERT_EQ(n, inspect_range(0, start, start + size, e, MAX_ENTRIES));
	ASSERT_EQ(n, inspect_range_binary(0, start, start + size, rec, MAX_ENTRIES));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, inspect_entry_from_binary(&rec[i], &bin));
		EXPECT_STREQ("hugetlb", e[i].kind);
		EXPECT_EQ(start + i * entry, e[i].addr);
		EXPECT_EQ(entry, e[i].size);
		EXPECT_EQ(head + i * (entry / page_size), e[i].pfn);
		EXPECT_EQ(1, e[i].whole_folio) TH_LOG("%zu kB page, entry %zu", size >> 10, i);
		EXPECT_EQ(1, bin.whole_folio);
		EXPECT_EQ(want_cont, e[i].cont) TH_LOG("%zu kB page, entry %zu", size >> 10, i);
		EXPECT_EQ(want_cont, bin.cont);
	}
	for (at = start; at < start + size; at += size - entry) {
		ASSERT_EQ(1, inspect_range(0, at, at + entry, e, 1));
		ASSERT_EQ(1, inspect_range_binary(0, at, at + entry, rec, 1));
		ASSERT_EQ(0, inspect_entry_from_binary(&rec[0], &bin));
		EXPECT_EQ(n == 1, e[0].whole_folio)
			TH_LOG("the %s at +%lu kB alone of a %zu kB folio",
			       inspect_level_name(e[0].level), (at - start) >> 10, size >> 10);
		EXPECT_EQ(n == 1, bin.whole_folio);
		if (n == 1)
			break;
	}
	munmap(mem, size);
}

/*
 * Every hugetlb size the kernel has, with a free page: the PMD and PUD
 * sizes (one entry), and arm64's contiguous ones (64 kB of PTEs and 32 MiB
 * of PMDs with 4 KiB pages, 2 MiB and 1 GiB with 16 KiB). Bug caught:
 * whole_folio of a PMD or PUD entry was decided from that entry alone, so
 * one PMD of a 32 MiB folio said 1.
 */
TEST_F_TIMEOUT(inspect, hugetlb_whole_cont, PTE_MAPPED_TIMEOUT)
{
	size_t sizes[16], size, entry;
	int k, n = hugetlb_sizes(sizes, ARRAY_SIZE(sizes)), tested = 0;
	bool cont = cont_reported();
	char path[96];

	for (k = 0; k < n; k++) {
		size = sizes[k];
		entry = size >= util_pud_span() ? util_pud_span() :
			size >= util_pmd_span() ? util_pmd_span() : page_size;
		snprintf(path, sizeof(path),
			 "/sys/kernel/mm/hugepages/hugepages-%zukB/free_hugepages", size >> 10);
		if (read_long(path) < 1) {
			TH_LOG("no free hugetlb page of %zu kB: not tested", size >> 10);
			continue;
		}
		hugetlb_whole_cont_size(_metadata, size, entry, cont);
		tested++;
	}
	if (!tested)
		UTIL_SKIP(return,
			  "no free hugetlb page of any size in /sys/kernel/mm/hugepages: reserve some (hugepagesz=SIZE hugepages=N)");
	TH_LOG("%d hugetlb sizes of %d; cont= %s", tested, n,
	       cont ? "reported" : "not reported (no such bit)");
}

/* /proc/kpagecount of pfn: the page's mapcount, or -1. */
static long long kpagecount(uint64_t pfn)
{
	uint64_t count;
	int fd = open("/proc/kpagecount", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : pread(fd, &count, sizeof(count), pfn * sizeof(count));

	if (fd >= 0)
		close(fd);
	return n == sizeof(count) ? (long long)count : -1;
}

/* Is pfn in a "hmm_dmirror" range of /proc/iomem, the mirror's memory? */
static bool in_hmm_memory(uint64_t pfn)
{
	unsigned long long lo, hi, addr = pfn * page_size;
	char line[256], name[64];
	bool in = false;
	FILE *f = fopen("/proc/iomem", "r");

	while (f && !in && fgets(line, sizeof(line), f))
		in = sscanf(line, " %llx-%llx : %63[^\n]", &lo, &hi, name) == 3 &&
		     !strcmp(name, "hmm_dmirror") && lo <= addr && addr <= hi;
	if (f)
		fclose(f);
	return in;
}

/*
 * The mirror device, or -1 after SKIP() said why there is none: mmprobe's
 * "hmm" file gives the reason (a kernel without CONFIG_DEVICE_PRIVATE).
 */
static int hmm_open(struct __test_metadata *_metadata)
{
	char buf[4096], *why;
	int fd;

	if (util_read_file(HMM_DIR_PATH, buf, sizeof(buf)) <= 0)
		UTIL_SKIP(return -1, "no %s: mmprobe without its hmm mirror", HMM_DIR_PATH);
	if (util_kv_get(buf, "device_private") != 1) {
		why = strstr(buf, "reason=");
		UTIL_SKIP(return -1, "no device-private memory: %.*s",
			  why ? (int)strcspn(why + 7, "\n") : 7, why ? why + 7 : "unknown");
	}
	fd = open(HMM_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		ASSERT_LE(0, fd) TH_LOG("%s says device_private=1, open %s: %s",
					HMM_DIR_PATH, HMM_DEVICE, strerror(errno));
	return fd;
}

static int hmm_cmd(int fd, unsigned long request, void *addr, void *buf, size_t npages)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)addr, .ptr = (uintptr_t)buf, .npages = npages,
	};

	if (ioctl(fd, request, &cmd))
		return -errno;
	return cmd.cpages;
}

#define DEV_PAGES	4

/*
 * Device-private and device-exclusive entries name the folio behind them,
 * with the keys of a present entry, in text and binary alike:
 * - pages migrated to the device: device_private, mode=write (the
 *   mirror's snapshot says a local device-private page, writable), a PFN
 *   in the mirror's memory (/proc/iomem), an order-0 folio mapped once,
 *   exclusive;
 * - pages made device-exclusive: the anon page pagemap showed before,
 *   order 0 (kpageflags: no compound page), mapcount as /proc/kpagecount
 *   says, exclusive.
 */
TEST_F(inspect, device_folio)
{
	static struct mmprobe_inspect_entry rec[DEV_PAGES];
	struct inspect_entry e[DEV_PAGES], bin;
	uint64_t pfn[DEV_PAGES];
	unsigned char snap[DEV_PAGES];
	char *mem, *buf;
	int fd, i, pass;

	fd = hmm_open(_metadata);
	if (fd < 0)
		return;
	buf = malloc(DEV_PAGES * page_size);
	ASSERT_NE(NULL, buf);
	for (pass = 0; pass < 2; pass++) {
		bool exclusive = pass;

		mem = util_mmap_small(DEV_PAGES * page_size, 0x3c);
		ASSERT_NE(NULL, mem);
		for (i = 0; i < DEV_PAGES; i++)
			pfn[i] = pagemap_pfn(util_pagemap(mem + i * page_size));
		ASSERT_EQ(DEV_PAGES, hmm_cmd(fd, exclusive ? HMM_DMIRROR_EXCLUSIVE :
					     HMM_DMIRROR_MIGRATE_TO_DEV, mem, buf, DEV_PAGES));
		ASSERT_LE(0, exclusive ? 0 :
			     hmm_cmd(fd, HMM_DMIRROR_SNAPSHOT, mem, snap, DEV_PAGES));
		ASSERT_EQ(DEV_PAGES, inspect_range(0, (unsigned long)mem,
						   (unsigned long)mem + DEV_PAGES * page_size,
						   e, DEV_PAGES));
		ASSERT_EQ(DEV_PAGES, inspect_range_binary(0, (unsigned long)mem,
							  (unsigned long)mem +
							  DEV_PAGES * page_size, rec, DEV_PAGES));
		for (i = 0; i < DEV_PAGES; i++) {
			uint64_t pm = util_pagemap(mem + i * page_size);

			TH_LOG("%s %d: pfn %#llx %s order %d ref/map/folio_map %d/%d/%d excl %d",
			       e[i].kind, i, e[i].pfn, e[i].mode, e[i].order, e[i].refcount,
			       e[i].mapcount, e[i].folio_mapcount, e[i].exclusive);
			ASSERT_FALSE(pm & PM_PRESENT);
			EXPECT_STREQ(exclusive ? "device_exclusive" : "device_private", e[i].kind);
			EXPECT_EQ(0, e[i].order);
			EXPECT_EQ(1, e[i].mapcount);
			EXPECT_EQ(1, e[i].folio_mapcount);
			EXPECT_LE(1, e[i].refcount);
			EXPECT_EQ(0, e[i].pinned);
			EXPECT_EQ(1, e[i].exclusive);
			EXPECT_LE(0, e[i].node);
			EXPECT_EQ(-1, e[i].whole_folio);
			if (exclusive) {
				EXPECT_EQ(pfn[i], (uint64_t)e[i].pfn);
				EXPECT_FALSE(kpf(e[i].pfn, KPF_COMPOUND_HEAD) ||
					     kpf(e[i].pfn, KPF_COMPOUND_TAIL));
				EXPECT_EQ(kpagecount(e[i].pfn), e[i].mapcount);
				EXPECT_LE(kpagecount(e[i].pfn), e[i].refcount);
			} else {
				EXPECT_EQ(HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL |
					  HMM_DMIRROR_PROT_WRITE, snap[i]);
				EXPECT_STREQ("write", e[i].mode);
				EXPECT_TRUE(in_hmm_memory(e[i].pfn)) TH_LOG("pfn %#llx", e[i].pfn);
			}
			ASSERT_EQ(0, inspect_entry_from_binary(&rec[i], &bin));
			bin.refcount = e[i].refcount;
			EXPECT_EQ(0, memcmp(&e[i], &bin, sizeof(bin)))
				TH_LOG("page %d: text and binary differ", i);
		}
		/* A CPU write brings the data back (or ends the exclusive access). */
		for (i = 0; i < DEV_PAGES; i++)
			mem[i * page_size] ^= 1;
		for (i = 0; i < DEV_PAGES; i++)
			EXPECT_TRUE(util_pagemap(mem + i * page_size) & PM_PRESENT);
		munmap(mem, DEV_PAGES * page_size);
	}
	free(buf);
	close(fd);
}

TEST_F(inspect, whole_address_space)
{
	unsigned long prev = 0, end = inspect_task_size();
	struct inspect_summary s;
	char *text, *line, *save;
	ssize_t len;
	long lines = 0;
	char *mem;

	mem = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	mem[0] = 1;
	len = inspect_report(0, 0, end, NULL, &text);
	ASSERT_LT(0, len);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct inspect_entry e;

		ASSERT_EQ(0, inspect_parse_line(line, &e)) TH_LOG("'%s'", line);
		ASSERT_LT(prev, e.addr + 1) TH_LOG("'%s' after 0x%lx", line, prev);
		ASSERT_GT(end, e.addr);
		prev = e.addr + e.size;
		lines++;
	}
	free(text);
	EXPECT_LT(10, lines);
	ASSERT_EQ(0, inspect_summary(0, 0, end, &s));
	EXPECT_FALSE(s.cut);
	EXPECT_LT(10, s.entries);
	munmap(mem, page_size);
}

/* max_lines=N: N lines, then "cut <first address not reported>". */
TEST_F(inspect, max_lines_cut)
{
	unsigned long start;
	long long cuts = stat_counter("inspect_cuts");
	char *mem, *text, want[64];
	int i;

	/* within one PTE table */
	mem = util_mmap_aligned(8 * page_size, 8 * page_size);
	ASSERT_NE(NULL, mem);
	madvise(mem, 8 * page_size, MADV_NOHUGEPAGE);
	for (i = 0; i < 8; i += 2)
		mem[i * page_size] = 1;
	start = (unsigned long)mem;
	ASSERT_LT(0, inspect_report(0, start, start + 8 * page_size, "max_lines=3", &text));
	snprintf(want, sizeof(want), "\ncut 0x%lx reason=max_lines\n", start + 6 * page_size);
	EXPECT_NE(NULL, strstr(text, want)) TH_LOG("no '%s' in:\n%s", want + 1, text);
	free(text);
	EXPECT_EQ(cuts + 1, stat_counter("inspect_cuts"));
	/* exactly as many lines as there are entries: no cut */
	ASSERT_LT(0, inspect_report(0, start, start + 8 * page_size, "max_lines=4", &text));
	EXPECT_EQ(NULL, strstr(text, "cut"));
	free(text);
	munmap(mem, 8 * page_size);
}

/*
 * The shell idiom: one fd, write then read, and each write re-reads the
 * current state. Reads before a write fail; partial reads continue.
 */
TEST_F(inspect, same_fd)
{
	struct inspect_entry e;
	char cmd[80], buf[4096], one[16];
	ssize_t n, total = 0;
	char *mem;
	int fd;

	mem = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	fd = open(INSPECT_PATH, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
	snprintf(cmd, sizeof(cmd), "0 0x%lx\n", (unsigned long)mem);
	ASSERT_EQ((ssize_t)strlen(cmd), write(fd, cmd, strlen(cmd)));
	EXPECT_EQ(0, read(fd, buf, sizeof(buf)));	/* nothing mapped yet */
	mem[0] = 1;
	ASSERT_EQ((ssize_t)strlen(cmd), write(fd, cmd, strlen(cmd)));
	/* in small pieces */
	while ((n = read(fd, one, sizeof(one))) > 0) {
		ASSERT_GT((ssize_t)sizeof(buf) - 1, total + n);
		memcpy(buf + total, one, n);
		total += n;
	}
	ASSERT_EQ(0, n);
	buf[total] = '\0';
	ASSERT_EQ(0, inspect_parse_line(buf, &e));
	EXPECT_STREQ("anon", e.kind);
	check_pagemap(_metadata, &e, mem);
	EXPECT_EQ(0, read(fd, buf, sizeof(buf)));	/* and stays at the end */
	EXPECT_EQ(-1, lseek(fd, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
	close(fd);
	munmap(mem, page_size);
}

/* Another process, by pid; a process that exits under an open report. */
TEST_F(inspect, other_pid)
{
	struct inspect_entry e;
	int to_parent[2], status, fd;
	struct {
		unsigned long addr;
		uint64_t pm;
	} msg;
	char cmd[80], buf[4096], *mem;
	ssize_t n;
	pid_t pid;

	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		mem = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		mem[0] = 1;
		msg.addr = (unsigned long)mem;
		msg.pm = util_pagemap(mem);
		if (write(to_parent[1], &msg, sizeof(msg)) != sizeof(msg))
			_exit(1);
		pause();
		_exit(0);
	}
	ASSERT_EQ(sizeof(msg), read(to_parent[0], &msg, sizeof(msg)));
	ASSERT_EQ(1, inspect_range(pid, msg.addr, msg.addr + page_size, &e, 1));
	EXPECT_STREQ("anon", e.kind);
	EXPECT_EQ(pagemap_pfn(msg.pm), e.pfn);
	/* the same range of this process maps nothing there */
	EXPECT_EQ(0, inspect_range(0, msg.addr, msg.addr + page_size, &e, 1));

	/* bind to the child, let it die, then read */
	fd = open(INSPECT_PATH, O_RDWR);
	ASSERT_LE(0, fd);
	snprintf(cmd, sizeof(cmd), "%d 0x%lx 0x%lx", pid, msg.addr, msg.addr + page_size);
	ASSERT_EQ((ssize_t)strlen(cmd), write(fd, cmd, strlen(cmd)));
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("the child ended before the SIGKILL: status %#x", status);
	n = read(fd, buf, sizeof(buf) - 1);
	ASSERT_LT(0, n);
	buf[n] = '\0';
	snprintf(cmd, sizeof(cmd), "cut 0x%lx reason=exited\n", msg.addr);
	EXPECT_STREQ(cmd, buf);
	close(fd);
	/* and the pid is gone */
	snprintf(cmd, sizeof(cmd), "%d 0x%lx", pid, msg.addr);
	EXPECT_EQ(-ESRCH, util_write_file(INSPECT_PATH, cmd));
	close(to_parent[0]);
	close(to_parent[1]);
}

/* Kernel threads have no address space. */
TEST_F(inspect, kernel_thread)
{
	EXPECT_EQ(-ESRCH, util_write_file(INSPECT_PATH, "2 0x10000"));
}

/*
 * Without CAP_SYS_ADMIN and CAP_SYS_PTRACE: only this process, and without
 * PFNs (permissions.c has the whole matrix).
 */
TEST_F(inspect, no_cap_sys_admin)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	struct inspect_entry e;
	char cmd[64], *mem;

	mem = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	mem[0] = 1;
	ASSERT_EQ(0, syscall(SYS_capget, &hdr, data));
	data[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
	data[CAP_SYS_PTRACE / 32].effective &= ~(1U << (CAP_SYS_PTRACE % 32));
	ASSERT_EQ(0, syscall(SYS_capset, &hdr, data));

	ASSERT_EQ(1, inspect_one(mem, &e));
	EXPECT_STREQ("anon", e.kind);
	EXPECT_EQ(-1, e.pfn);
	EXPECT_EQ(1, e.mapcount);
	snprintf(cmd, sizeof(cmd), "%d 0x%lx", getppid(), (unsigned long)mem);
	EXPECT_EQ(-EPERM, util_write_file(INSPECT_PATH, cmd));
	/* one's own pid is not another process */
	snprintf(cmd, sizeof(cmd), "%d 0x%lx", getpid(), (unsigned long)mem);
	EXPECT_EQ(0, util_write_file(INSPECT_PATH, cmd));
	munmap(mem, page_size);
}

/*
 * Bad commands fail with the documented errno, and nothing else happens.
 * The addresses are 64 KiB apart, pages of every size arm64 has.
 */
TEST_F(inspect, bad_input)
{
	static const struct {
		const char *cmd;
		int err;
	} cases[] = {
		{ "", EINVAL },
		{ "\n", EINVAL },
		{ "0", EINVAL },				/* no start */
		{ "0 4096", EINVAL },				/* no 0x */
		{ "0 0x", EINVAL },
		{ "0 0xg000", EINVAL },
		{ "0 0x0x10000", EINVAL },
		{ "0 0x+1000", EINVAL },
		{ "x 0x10000", EINVAL },
		{ "-1 0x10000", EINVAL },
		{ "99999999999 0x10000", EINVAL },		/* pid overflows */
		{ "0 0x10001", EINVAL },				/* unaligned */
		{ "0 0x10000 0x20001", EINVAL },
		{ "0 0x20000 0x10000", EINVAL },			/* reversed */
		{ "0 0x20000 0x20000", EINVAL },			/* empty */
		{ "0 0xfffffffffffff000", EINVAL },		/* start + page overflows */
		{ "0 0x10000000000000000 0x10000", EINVAL },	/* overflow */
		{ "0 0x10000 0xffff800000000000", EINVAL },	/* kernel address */
		{ "0 0x10000 0x800000000000000", EINVAL },	/* beyond any task size */
		{ "0 0x10000 0x20000 summary junk", EINVAL },
		{ "0 0x10000 0x20000 max_lines=0", EINVAL },
		{ "0 0x10000 0x20000 max_lines=x", EINVAL },
		{ "0 0x10000 0x20000 max_lines=99999999999999999999", EINVAL },
		{ "0 0x10000 0x20000 summary summary", EINVAL },
		{ "0 0x10000 0x20000 0x30000", EINVAL },
		{ "0 0x10000 0x20000 a b c d", EINVAL },
		{ "0 0x00000000000000000000000000000001000", EINVAL },	/* too long a word */
		{ "2147483647 0x10000", ESRCH },
		{ "0 0x10000", 0 },
		{ "  0   0x10000  ", 0 },
		{ "0 0x10000 0x20000 summary\n", 0 },
		{ "0 0x10000 max_lines=5", 0 },
		{ "0 0x10000 summary max_lines=5", 0 },
	};
	char longcmd[300];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		EXPECT_EQ(-cases[i].err, util_write_file(INSPECT_PATH, cases[i].cmd))
			TH_LOG("case %u", i);
	}
	memset(longcmd, ' ', sizeof(longcmd) - 1);
	longcmd[sizeof(longcmd) - 1] = '\0';
	memcpy(longcmd, "0 0x10000", 9);
	EXPECT_EQ(-EINVAL, util_write_file(INSPECT_PATH, longcmd));
}

/* A bad user buffer: EFAULT, for the write and the read. */
TEST_F(inspect, efault)
{
	char cmd[64], *bad;
	int fd;

	bad = mmap(NULL, page_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, bad);
	fd = open(INSPECT_PATH, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, write(fd, bad, 10));
	EXPECT_EQ(EFAULT, errno);
	snprintf(cmd, sizeof(cmd), "0 0x%lx", (unsigned long)cmd & ~(page_size - 1));
	ASSERT_EQ((ssize_t)strlen(cmd), write(fd, cmd, strlen(cmd)));
	EXPECT_EQ(-1, read(fd, bad, 100));
	EXPECT_EQ(EFAULT, errno);
	close(fd);
	munmap(bad, page_size);
}

/*
 * Stress: inspect a region over and over while other threads zap, split,
 * collapse, migrate, unmap, remap and fork it. The region, four PMDs (8 MiB
 * with 4 KiB pages, 128 MiB with 16 KiB):
 *   PMD 0     zapper: MADV_DONTNEED of the whole PMD (on 7.3 that frees an
 *             emptied PTE table, PT_RECLAIM), refault, split by mprotect,
 *             MADV_COLLAPSE, now and then MADV_PAGEOUT
 *   PMD 1     migrator: base pages moved between the NUMA nodes
 *   PMD 2, 3  mapper: mmap(MAP_FIXED) over them, mremap of a PMD away and
 *             back
 * and the forker forks it all. The mapper never opens a hole in the
 * address space, not even for a moment: the main thread's inspect_report()
 * grows its buffer past the mmap threshold, glibc mmap()s that chunk, and
 * in a hole left by munmap() (or by an mremap() away) the next
 * mmap(MAP_FIXED) would wipe it: "free(): invalid pointer". Every report
 * must read and parse, migration entries caught must say their mode; the
 * kernel must not splat (the runner checks its log).
 */
#define STRESS_SECONDS	4
#define STRESS_PMDS	4	/* the region's length */

/* The summary the stress test logs */
#define STRESS_SUMMARY \
	"%ld reports, %ld records (%ld migration, %ld swap entries seen); %lu zaps, %lu migrations, %lu remaps, %lu forks; %lld PTE tables re-read"

#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE	(1 << 1)
#endif

struct stress {
	char *mem;
	size_t page, pmd, len;	/* base page, PMD (2 MiB if no THP), region */
	volatile bool stop;
	unsigned long ops[4];
	unsigned long bad_children;	/* forked children that did not exit 0 */
};

static void stress_touch(const struct stress *s, char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += s->page)
		p[i] = 1;
}

static void *stress_zapper(void *arg)
{
	struct stress *s = arg;
	char *p = s->mem;

	while (!s->stop) {
		madvise(p, s->pmd, MADV_DONTNEED);
		stress_touch(s, p, s->pmd);
		mprotect(p, s->page, PROT_READ);
		mprotect(p, s->page, PROT_READ | PROT_WRITE);
		madvise(p, s->pmd, MADV_COLLAPSE);
		if (++s->ops[0] % 8 == 0)
			madvise(p + s->page, 16 * s->page, MADV_PAGEOUT);
	}
	return NULL;
}

/* The second PMD, page by page, from node to node. */
static void *stress_migrator(void *arg)
{
	struct stress *s = arg;
	int nr = s->pmd / s->page, i, *node, *status;
	void **pages;

	pages = calloc(nr, sizeof(*pages));
	node = calloc(nr, sizeof(*node));
	status = calloc(nr, sizeof(*status));
	for (i = 0; pages && i < nr; i++)
		pages[i] = s->mem + s->pmd + i * s->page;
	while (pages && node && status && !s->stop) {
		for (i = 0; i < nr; i++)
			node[i] = s->ops[1] & 1;
		if (syscall(__NR_move_pages, 0, nr, pages, node, status, MPOL_MF_MOVE))
			break;	/* one node only: nothing to migrate to */
		s->ops[1]++;
	}
	free(pages);
	free(node);
	free(status);
	return NULL;
}

static void *stress_mapper(void *arg)
{
	struct stress *s = arg;
	char *p, *base = s->mem + s->len / 2;
	size_t len = s->len / 2;

	while (!s->stop) {
		/* one mmap(MAP_FIXED) replaces the old mapping: no hole */
		p = mmap(base, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p == MAP_FAILED)
			break;
		madvise(p, len, MADV_HUGEPAGE);
		stress_touch(s, p, len);
		/* away and back; MREMAP_DONTUNMAP keeps base mapped meanwhile */
		p = mremap(base, s->pmd, s->pmd, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
		if (p != MAP_FAILED && p != base)
			mremap(p, s->pmd, s->pmd, MREMAP_MAYMOVE | MREMAP_FIXED, base);
		s->ops[2]++;
	}
	return NULL;
}

static void *stress_forker(void *arg)
{
	struct stress *s = arg;

	while (!s->stop) {
		pid_t pid = fork();
		int status;

		if (!pid)
			_exit(0);
		if (pid > 0 && (waitpid(pid, &status, 0) != pid ||
				!WIFEXITED(status) || WEXITSTATUS(status)))
			s->bad_children++;
		s->ops[3]++;
	}
	return NULL;
}

TEST_F(inspect, stress)
{
	static void *(*const workers[])(void *) = {
		stress_zapper, stress_migrator, stress_mapper, stress_forker,
	};
	struct mmprobe_inspect_entry *rec;
	static struct inspect_entry e[4096];
	long reports = 0, lines = 0, migration = 0, swap = 0;
	long long retries = stat_counter("inspect_retries");
	unsigned long start, end;
	struct inspect_summary sum;
	struct stress s = { 0 };
	struct timespec t0, t;
	pthread_t th[4];
	int i, nr, max;

	if (!thp_madvise())
		util_setting_set(THP_DIR "/khugepaged/scan_sleep_millisecs", "0");
	s.page = page_size;
	s.pmd = self->pmd_size ? self->pmd_size : 2UL << 20;
	s.len = STRESS_PMDS * s.pmd;
	max = 2 * s.pmd / s.page;	/* the binary reports' entries at most */
	rec = calloc(max, sizeof(*rec));
	ASSERT_NE(NULL, rec);
	s.mem = util_mmap_aligned(s.len, s.pmd);
	ASSERT_NE(NULL, s.mem);
	madvise(s.mem, s.len, MADV_HUGEPAGE);
	madvise(s.mem + s.pmd, s.pmd, MADV_NOHUGEPAGE);
	stress_touch(&s, s.mem, s.len);
	start = (unsigned long)s.mem;
	end = start + s.len;
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, workers[i], &s));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		/*
		 * the whole region as text and in summary, now and then (not
		 * first: with 16 KiB pages one takes the whole time)
		 */
		if (reports % 32 == 1) {
			nr = inspect_range(0, start, end, e, 4096);
			ASSERT_LE(0, nr) TH_LOG("report %ld: %s", reports, strerror(-nr));
			for (i = 0; i < nr && i < 4096; i++) {
				ASSERT_LE(start, e[i].addr);
				ASSERT_GT(end, e[i].addr);
			}
			ASSERT_EQ(0, inspect_summary(0, start, end, &sum));
			ASSERT_FALSE(sum.cut);
		}
		/* the zapped and the migrating PMD in binary, often */
		nr = inspect_range_binary(0, start, start + 2 * s.pmd, rec, max);
		ASSERT_LE(0, nr);
		ASSERT_GE(max, nr);
		for (i = 0; i < nr; i++) {
			const struct mmprobe_inspect_entry *r = &rec[i];

			ASSERT_EQ(0, r->flags & MMPROBE_INSPECT_CUT);
			ASSERT_NE(NULL, inspect_kind_name(r->kind));
			if (r->kind == MMPROBE_INSPECT_KIND_MIGRATION) {
				ASSERT_NE(0, r->flags & (MMPROBE_INSPECT_MODE_READ |
							 MMPROBE_INSPECT_MODE_READ_EXCLUSIVE |
							 MMPROBE_INSPECT_MODE_WRITE));
				ASSERT_NE(0, r->flags & MMPROBE_INSPECT_HAS_PFN);
				migration++;
			}
			swap += r->kind == MMPROBE_INSPECT_KIND_SWAP;
		}
		reports++;
		lines += nr;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < STRESS_SECONDS);
	s.stop = true;
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	TH_LOG(STRESS_SUMMARY, reports, lines, migration, swap,
	       s.ops[0], s.ops[1], s.ops[2], s.ops[3],
	       stat_counter("inspect_retries") - retries);
	EXPECT_LE(1, reports);
	EXPECT_EQ(0, s.bad_children);
	munmap(s.mem, s.len);
	free(rec);
}

UTIL_SKIPS_SUMMARY

TEST_HARNESS_MAIN
