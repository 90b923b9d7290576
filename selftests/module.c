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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>

#include "kselftest_harness.h"
#include "kmod_util.h"
#include "mmprobe_util.h"

#define LOAD_CYCLES 20

/* The 0/1 lines of version: THP usable, and what mmprobe was built with. */
static const char *const flags[] = {
	"thp", "build.anon_exclusive", "build.swp_exclusive", "build.double_map",
	"build.mn_change_pte", "build.device_private", "build.numa", "build.hugetlb",
};

/*
 * Lines version had up to ABI 2, each a guess at what the kernel does from
 * its version number. They are measured now (behaviour.c, the report).
 */
static const char *const gone[] = {
	"huge_zero_wp_thp", "swp_exclusive", "double_map", "uffd_wp_async",
	"longterm_ro_unshare", "migrate_split_large", "migrate_soft_dirty_exact",
	"thp_split_zero_remap",
};

/* A line of version as the module prints it: 0, 1, or -1 when missing. */
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

/*
 * version names this module, this ABI, this kernel and what it was built
 * with, and says nothing about behaviour.
 */
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
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		long long v = util_kv_get(buf, flags[i]);

		EXPECT_TRUE(v == 0 || v == 1) TH_LOG("%s=%lld", flags[i], v);
	}
	for (i = 0; i < ARRAY_SIZE(gone); i++) {
		long long v = util_kv_get(buf, gone[i]);

		EXPECT_EQ(-1, v) TH_LOG("%s in:\n%s", gone[i], buf);
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
	EXPECT_EQ(path_exists("/sys/devices/system/node/node0"), module_cap("build.numa"));
}

/* hugetlb: hugetlbfs is registered exactly with CONFIG_HUGETLB_PAGE. */
TEST_F(module, cap_hugetlb)
{
	char buf[4096];

	ASSERT_LT(0, util_read_file("/proc/filesystems", buf, sizeof(buf)));
	EXPECT_EQ(!!strstr(buf, "hugetlbfs"), module_cap("build.hugetlb"));
}

/* device_private: the kernel's own config file is the witness. */
TEST_F(module, cap_device_private)
{
	int cfg = kernel_config("DEVICE_PRIVATE");

	if (cfg < 0)
		SKIP(return, "no /boot/config-$(uname -r) to compare with");
	EXPECT_EQ(cfg, module_cap("build.device_private"));
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
		  module_cap("build.anon_exclusive"));
}

/* nodes_online: as many nodes as /sys/devices/system/node/online lists. */
TEST_F(module, cap_nodes_online)
{
	int n = util_nodes_online();

	if (n < 0)
		SKIP(return, "no /sys/devices/system/node/online (CONFIG_NUMA=n)");
	EXPECT_EQ(n, module_cap("nodes_online"));
}

/*
 * build.mn_change_pte: the module's notifier has ->change_pte exactly when
 * the kernel has its dispatcher, __mmu_notifier_change_pte (kallsyms lists
 * it; removed with set_pte_at_notify() in 6.9). 90 s: reading all of
 * /proc/kallsyms took more than the harness's 30 s in an arm64 TCG guest
 * on a busy host.
 */
TEST_F_TIMEOUT(module, build_mn_change_pte, 90)
{
	char line[256], name[128];
	int found = 0;
	FILE *f;

	f = fopen("/proc/kallsyms", "r");
	if (!f)
		SKIP(return, "no /proc/kallsyms: %s", strerror(errno));
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %127s", name) == 1 &&
			!strcmp(name, "__mmu_notifier_change_pte");
	fclose(f);
	EXPECT_EQ(found, module_cap("build.mn_change_pte"));
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
