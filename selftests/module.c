// SPDX-License-Identifier: GPL-2.0
/*
 * module: the mmprobe module itself. It loads and unloads cleanly, its
 * debugfs tree follows it, every capability it claims in "version" agrees
 * with what user space can observe, and "stats" counts and resets.
 *
 * The module is found through $MMPROBE_KO, ./mmprobe.ko, or by name through
 * modules.dep (after "make modules_install"). It is left loaded at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>

#include "kselftest_harness.h"
#include "kmod_util.h"
#include "mmprobe_util.h"
#include "pin_util.h"

#define LOAD_CYCLES 20
#define KPF_ANON 12

static const char *const capabilities[] = {
	"thp", "huge_zero_wp_thp", "anon_exclusive", "swp_exclusive",
	"double_map", "device_private", "numa", "hugetlb", "uffd_wp_async",
	"longterm_ro_unshare", "migrate_split_large", "migrate_soft_dirty_exact",
	"thp_split_zero_remap",
};

/* The capability as the module reports it: 0, 1, or -1 when missing. */
static int module_cap(const char *name)
{
	char buf[4096];

	if (util_read_file(MMPROBE_DIR "/version", buf, sizeof(buf)) < 0)
		return -1;
	return util_kv_get(buf, name);
}

static bool path_exists(const char *path)
{
	return !access(path, F_OK);
}

/* Is CONFIG_<name> =y or =m in the running kernel's config file? -1: no file */
static int kernel_config(const char *name)
{
	static char buf[1 << 20];
	char path[128], key[128];
	struct utsname u;
	char *line;

	uname(&u);
	snprintf(path, sizeof(path), "/boot/config-%s", u.release);
	if (util_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	snprintf(key, sizeof(key), "\nCONFIG_%s=", name);
	line = strstr(buf, key);
	return line && (line[strlen(key)] == 'y' || line[strlen(key)] == 'm');
}

FIXTURE(module) {
	int dummy;
};

FIXTURE_SETUP(module)
{
	int ret = kmod_util_mmprobe_load();

	if (ret)
		SKIP(return, "cannot load mmprobe (%s): build it and set MMPROBE_KO",
		     strerror(-ret));
}

FIXTURE_TEARDOWN(module)
{
	util_settings_restore();
}

/* The debugfs files exist with the documented modes. */
TEST_F(module, debugfs_tree)
{
	struct stat st;

	ASSERT_EQ(0, stat(MMPROBE_DIR "/version", &st));
	EXPECT_EQ(0400, st.st_mode & 07777);
	ASSERT_EQ(0, stat(MMPROBE_DIR "/stats", &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
}

/* Load and unload through libkmod: the tree appears and disappears. */
TEST_F(module, load_unload_cycles)
{
	int i, ret;

	for (i = 0; i < LOAD_CYCLES; i++) {
		ret = kmod_util_unload("mmprobe");
		ASSERT_EQ(0, ret) TH_LOG("unload %d: %s", i, strerror(-ret));
		ASSERT_FALSE(path_exists(MMPROBE_DIR));
		ret = kmod_util_load(kmod_util_mmprobe_path(), NULL);
		ASSERT_EQ(0, ret) TH_LOG("load %d: %s", i, strerror(-ret));
		ASSERT_TRUE(path_exists(MMPROBE_DIR "/version"));
		ASSERT_TRUE(path_exists(MMPROBE_DIR "/stats"));
	}
}

/* version names this module, this ABI, this kernel, and every capability. */
TEST_F(module, version_keys)
{
	char buf[4096], want[128];
	struct utsname u;
	unsigned int i;

	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/version", buf, sizeof(buf)));
	ASSERT_NE(NULL, strstr(buf, "version="));
	ASSERT_LT(0, util_kv_get(buf, "abi"));
	uname(&u);
	snprintf(want, sizeof(want), "\nrelease=%s\n", u.release);
	EXPECT_NE(NULL, strstr(buf, want)) TH_LOG("no '%s' in:\n%s", want + 1, buf);
	for (i = 0; i < ARRAY_SIZE(capabilities); i++) {
		long long v = util_kv_get(buf, capabilities[i]);

		EXPECT_TRUE(v == 0 || v == 1) TH_LOG("%s=%lld", capabilities[i], v);
	}
}

/* thp: the THP sysfs directory exists exactly when THP is usable. */
TEST_F(module, cap_thp)
{
	EXPECT_EQ(path_exists(THP_DIR "/enabled"), module_cap("thp"));
}

/* numa: the node directory exists exactly with CONFIG_NUMA. */
TEST_F(module, cap_numa)
{
	EXPECT_EQ(path_exists("/sys/devices/system/node/node0"), module_cap("numa"));
}

/* hugetlb: hugetlbfs is registered exactly with CONFIG_HUGETLB_PAGE. */
TEST_F(module, cap_hugetlb)
{
	char buf[4096];

	ASSERT_LT(0, util_read_file("/proc/filesystems", buf, sizeof(buf)));
	EXPECT_EQ(!!strstr(buf, "hugetlbfs"), module_cap("hugetlb"));
}

/* device_private: the kernel's own config file is the witness. */
TEST_F(module, cap_device_private)
{
	int cfg = kernel_config("DEVICE_PRIVATE");

	if (cfg < 0)
		SKIP(return, "no /boot/config-$(uname -r) to compare with");
	EXPECT_EQ(cfg, module_cap("device_private"));
}

/* uffd_wp_async: UFFDIO_API accepts UFFD_FEATURE_WP_ASYNC exactly then. */
TEST_F(module, cap_uffd_wp_async)
{
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
	struct uffdio_api api = { .api = UFFD_API };
	int fd, accepted;

	fd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (fd < 0)
		SKIP(return, "userfaultfd: %s", strerror(errno));
	api.features = UFFD_FEATURE_WP_ASYNC;
	accepted = !ioctl(fd, UFFDIO_API, &api) &&
		   (api.features & UFFD_FEATURE_WP_ASYNC);
	close(fd);
	EXPECT_EQ(accepted, module_cap("uffd_wp_async"));
}

/*
 * anon_exclusive: with PG_anon_exclusive a write fault reuses an exclusive
 * anon page even while a GUP reference (vmsplice) raises its refcount;
 * without it the elevated refcount forces a copy.
 */
TEST_F(module, cap_anon_exclusive)
{
	size_t pagesize = getpagesize();
	uint64_t before, after;
	struct iovec iov;
	int pipefd[2];
	char *mem;

	mem = mmap(NULL, pagesize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, madvise(mem, pagesize, MADV_NOHUGEPAGE));
	memset(mem, 0x5a, pagesize);
	before = util_pagemap(mem);
	if (!(before & PM_PFN_MASK))
		SKIP(return, "pagemap shows no PFNs (needs CAP_SYS_ADMIN)");
	ASSERT_EQ(0, pipe(pipefd));
	iov.iov_base = mem;
	iov.iov_len = pagesize;
	ASSERT_EQ((ssize_t)pagesize, vmsplice(pipefd[1], &iov, 1, 0));
	ASSERT_EQ(0, mprotect(mem, pagesize, PROT_READ));
	ASSERT_EQ(0, mprotect(mem, pagesize, PROT_READ | PROT_WRITE));
	mem[0] = 1;
	after = util_pagemap(mem);
	close(pipefd[0]);
	close(pipefd[1]);
	munmap(mem, pagesize);
	EXPECT_EQ((before & PM_PFN_MASK) == (after & PM_PFN_MASK),
		  module_cap("anon_exclusive"));
}

/* nodes_online: as many nodes as /sys/devices/system/node/online lists. */
TEST_F(module, cap_nodes_online)
{
	char buf[256], *p = buf;
	long long n = 0;
	long a, b;

	if (util_read_file("/sys/devices/system/node/online", buf, sizeof(buf)) <= 0)
		SKIP(return, "no /sys/devices/system/node/online (CONFIG_NUMA=n)");
	/* A list of ranges: "0", "0-1", "0,2-3". */
	while (*p && *p != '\n') {
		a = strtol(p, &p, 10);
		b = *p == '-' ? strtol(p + 1, &p, 10) : a;
		n += b - a + 1;
		if (*p == ',')
			p++;
	}
	EXPECT_EQ(n, module_cap("nodes_online"));
}

/*
 * longterm_ro_unshare: a R/O FOLL_LONGTERM pin of the shared zero page in a
 * private writable mapping replaces it by an exclusive anon page (6.2+),
 * which the pinning process's pagemap then shows; before, the pin held the
 * zero page. (Shared anon pages are unshared by any R/O pin since 5.19, so
 * they cannot tell the two apart.)
 */
TEST_F(module, cap_longterm_ro_unshare)
{
	size_t pagesize = getpagesize();
	uint64_t before, after, handle;
	bool zero_before, zero_after;
	char *mem;
	long ret;
	int fd;

	fd = pin_util_open();
	if (fd < 0)
		SKIP(return, "no pin file: %s", strerror(-fd));
	mem = mmap(NULL, pagesize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, *(volatile char *)mem);
	before = util_pagemap(mem) & PM_PFN_MASK;
	zero_before = util_kpageflags(before) & (1ULL << KPF_ZERO_PAGE);
	if (!before || !zero_before) {
		close(fd);
		munmap(mem, pagesize);
		SKIP(return, "a read fault did not map the zero page visibly (pfn %#llx)",
		     (unsigned long long)before);
	}
	ret = pin_util_take(fd, mem, 1, MMPROBE_PIN_METHOD_PUP,
			    MMPROBE_PIN_LONGTERM, &handle);
	after = util_pagemap(mem) & PM_PFN_MASK;
	zero_after = util_kpageflags(after) & (1ULL << KPF_ZERO_PAGE);
	close(fd);
	munmap(mem, pagesize);
	ASSERT_EQ(1, ret) TH_LOG("pin: %s", strerror(-ret));
	TH_LOG("pfn %#llx -> %#llx, zero page after: %d", (unsigned long long)before,
	       (unsigned long long)after, zero_after);
	EXPECT_EQ(!zero_after, module_cap("longterm_ro_unshare"));
}

/*
 * swp_exclusive and double_map leave no trace user space can observe
 * without the module: a swap-in from zram skips the swap cache and maps the
 * page exclusive whether or not the swap PTE kept the bit, and
 * PageDoubleMap changes how the kernel counts mappings, not the counts
 * pagemap, kpagecount and smaps report. Comparing them with the release
 * number would test module/compat.h against itself, not the kernel, so it
 * is not done: version_keys checks that each is 0 or 1, and double_map
 * only where it can hold at all, with THP.
 */
TEST_F(module, cap_swp_exclusive)
{
	int v = module_cap("swp_exclusive");

	TH_LOG("swp_exclusive=%d (not observable from user space: not compared)", v);
	EXPECT_TRUE(v == 0 || v == 1);
}

TEST_F(module, cap_double_map)
{
	int v = module_cap("double_map");

	TH_LOG("double_map=%d (not observable from user space: not compared)", v);
	EXPECT_TRUE(v == 0 || v == 1);
	EXPECT_TRUE(!v || module_cap("thp") == 1);
}

/*
 * huge_zero_wp_thp: read-fault an aligned MADV_HUGEPAGE region (the huge
 * zero page, confirmed by kpageflags), write one byte, and see on the
 * region's own pages whether the kernel allocated a THP (the written page
 * a THP, AnonHugePages 2048 kB) or split the PMD (a small anon page, the
 * next page the small zero page). /proc/vmstat's thp_fault_alloc and
 * thp_split_pmd count the whole machine's faults: only a lower bound.
 */
TEST_F(module, cap_huge_zero_wp_thp)
{
	long long alloc, split, d_alloc, d_split, anon_huge;
	size_t pmd = util_pmd_size(), pagesize = getpagesize();
	uint64_t pm, flags, next;
	char *mem;
	bool thp;

	if (module_cap("thp") != 1 || !pmd)
		SKIP(return, "no THP on this kernel");
	ASSERT_EQ(0, util_setting_set(THP_DIR "/enabled", "madvise"));
	ASSERT_EQ(0, util_setting_set(THP_DIR "/use_zero_page", "1"));
	mem = util_mmap_aligned(pmd, pmd);
	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, madvise(mem, pmd, MADV_HUGEPAGE));
	ASSERT_EQ(0, *(volatile char *)mem);
	pm = util_pagemap(mem);
	flags = util_kpageflags(pm & PM_PFN_MASK);
	if (!(pm & PM_PFN_MASK) || !(flags & (1ULL << KPF_ZERO_PAGE)) ||
	    !(flags & (1ULL << KPF_THP))) {
		munmap(mem, pmd);
		SKIP(return, "read fault did not map the huge zero page (kpageflags %#llx)",
		     (unsigned long long)flags);
	}
	alloc = util_vmstat("thp_fault_alloc");
	split = util_vmstat("thp_split_pmd");
	mem[pmd / 2] = 1;
	d_alloc = util_vmstat("thp_fault_alloc") - alloc;
	d_split = util_vmstat("thp_split_pmd") - split;
	flags = util_kpageflags(util_pagemap(mem + pmd / 2) & PM_PFN_MASK);
	next = util_kpageflags(util_pagemap(mem + pmd / 2 + pagesize) & PM_PFN_MASK);
	anon_huge = util_smaps_kb(mem, "AnonHugePages");
	munmap(mem, pmd);
	TH_LOG("written page kpageflags %#llx, next %#llx, AnonHugePages %lld kB",
	       (unsigned long long)flags, (unsigned long long)next, anon_huge);
	TH_LOG("thp_fault_alloc +%lld, thp_split_pmd +%lld", d_alloc, d_split);
	thp = flags & (1ULL << KPF_THP);
	if (thp) {
		EXPECT_EQ((long long)pmd >> 10, anon_huge);
		EXPECT_FALSE(next & (1ULL << KPF_ZERO_PAGE));
		EXPECT_LE(1, d_alloc);
	} else {
		/* Split: the written page small and anon, its neighbour still zero. */
		EXPECT_EQ(0, anon_huge);
		EXPECT_TRUE(flags & (1ULL << KPF_ANON)) TH_LOG("written page not anon");
		EXPECT_TRUE(next & (1ULL << KPF_ZERO_PAGE));
		EXPECT_LE(1, d_split);
	}
	EXPECT_EQ(thp, module_cap("huge_zero_wp_thp"));
}

/* stats: reading version counts, "reset" zeroes, anything else is EINVAL. */
TEST_F(module, stats_count_and_reset)
{
	static const char *const bad[] = { "", "foo\n", "resetx", "reset reset",
					   "RESET", "reset\n\n\n\n" };
	long long reads, errors;
	char buf[4096], *noaccess;
	unsigned int i;
	int fd;

	ASSERT_EQ(0, util_write_file(MMPROBE_DIR "/stats", "reset\n"));
	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/stats", buf, sizeof(buf)));
	ASSERT_EQ(0, util_kv_get(buf, "version_reads"));
	ASSERT_EQ(0, util_kv_get(buf, "errors"));

	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/version", buf, sizeof(buf)));
	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/stats", buf, sizeof(buf)));
	reads = util_kv_get(buf, "version_reads");
	EXPECT_EQ(1, reads);

	fd = open(MMPROBE_DIR "/stats", O_WRONLY);
	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(-1, write(fd, bad[i], strlen(bad[i])));
		EXPECT_EQ(EINVAL, errno) TH_LOG("write '%s'", bad[i]);
	}
	/* A buffer the kernel cannot read. */
	noaccess = mmap(NULL, getpagesize(), PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, noaccess);
	errno = 0;
	EXPECT_EQ(-1, write(fd, noaccess, 5));
	EXPECT_EQ(EFAULT, errno);
	munmap(noaccess, getpagesize());
	close(fd);

	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/stats", buf, sizeof(buf)));
	errors = util_kv_get(buf, "errors");
	EXPECT_EQ((long long)ARRAY_SIZE(bad) + 1, errors);
	EXPECT_EQ(0, util_write_file(MMPROBE_DIR "/stats", "reset"));
	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/stats", buf, sizeof(buf)));
	EXPECT_EQ(0, util_kv_get(buf, "errors"));
}

TEST_HARNESS_MAIN
