// SPDX-License-Identifier: GPL-2.0
/*
 * hmm_device: the device side of migrate_device.c, through mmprobe's
 * device-private mirror (/dev/hmm_dmirror0, Documentation/hmm.rst).
 *
 * Pages go to device-private memory and come back on a CPU fault; the tests
 * check each step against what user space sees on its own: the data,
 * /proc/self/pagemap (present and swap bits, the PFN), /proc/kpageflags
 * (the folio's dirty flag), /proc/iomem (where the device's memory lies), a
 * write that tells whether a page is exclusive (no copy) or shared (a copy),
 * and the mirror's own snapshot; inspect names the entries between.
 *
 * A kernel without CONFIG_DEVICE_PRIVATE (Debian 6.1, 6.12) has the mirror
 * (hmm_range_fault(), the mmu interval notifier) but no device memory: the
 * mirror_* cases run, the others skip with the reason mmprobe's debugfs
 * "hmm" gives, read at run time.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "hmm_uapi.h"
#include "inspect_util.h"
#include "kmod_util.h"
#include "mmprobe_uapi.h"
#include "mmprobe_util.h"
#include "pin_util.h"
#include "robust_util.h"

UTIL_SKIPS_SUMMARY

#define HMM_PATH	MMPROBE_DIR "/hmm"
#define HMM_DEV0	"/dev/hmm_dmirror0"
#define NR_PAGES	8
#define KPF_DIRTY	4
#define PM_PRESENT	(1ULL << 63)
#define PM_SWAP		(1ULL << 62)
#define PM_PFN_MASK	((1ULL << 55) - 1)
/* Loads and unloads with pages on the device (the issue asks for 100). */
#define RELOAD_CYCLES	100
#define RELOAD_TIMEOUT	280

/* An observation for the log; flushed, as the harness may _exit() the test. */
#define NOTE(fmt, ...) do {						\
	ksft_print_msg(fmt, ##__VA_ARGS__);				\
	fflush(stdout);							\
} while (0)

/*
 * What the mirror has: 2 devices with device-private memory; 1 devices
 * without it, 0 no devices, each with mmprobe's reason in why; -1 when
 * mmprobe has no "hmm" file at all.
 */
static int hmm_state(char *why, size_t len)
{
	char buf[4096];
	const char *r;

	if (util_read_file(HMM_PATH, buf, sizeof(buf)) <= 0)
		return -1;
	if (util_kv_get(buf, "device_private") == 1)
		return 2;
	r = strstr(buf, "reason=");
	snprintf(why, len, "%.*s", r ? (int)strcspn(r + 7, "\n") : 7, r ? r + 7 : "unknown");
	return util_kv_get(buf, "devices") > 0 ? 1 : 0;
}

/* One key of "hmm", or -1. */
static long long hmm_counter(const char *key)
{
	char buf[4096];

	if (util_read_file(HMM_PATH, buf, sizeof(buf)) <= 0)
		return -1;
	return util_kv_get(buf, key);
}

static int dmirror_cmd(int fd, unsigned long request, void *addr, void *ptr,
		       unsigned long npages, struct hmm_dmirror_cmd *out)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)addr,
		.ptr = (uintptr_t)ptr,
		.npages = npages,
	};

	if (ioctl(fd, request, &cmd))
		return -errno;
	if (out)
		*out = cmd;
	return 0;
}

/* Does pfn lie in device memory, a "hmm_dmirror" range of /proc/iomem? */
static int in_device_memory(uint64_t pfn)
{
	unsigned long long start, end, addr = pfn * (uint64_t)getpagesize();
	char line[256], name[64];
	int found = 0, ranges = 0;
	FILE *f = fopen("/proc/iomem", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %llx-%llx : %63[^\n]", &start, &end, name) != 3 ||
		    strcmp(name, "hmm_dmirror"))
			continue;
		ranges++;
		if (addr >= start && addr <= end)
			found = 1;
	}
	fclose(f);
	return ranges ? found : -1;
}

static uint64_t page_pfn(const void *addr)
{
	return util_pagemap(addr) & PM_PFN_MASK;
}

/* nr pages, not THP-backed, each filled with its own pattern. */
static char *hmm_pages(size_t nr, size_t ps)
{
	char *mem = util_mmap_small(nr * ps, -1);
	size_t i;

	if (!mem)
		return NULL;
	for (i = 0; i < nr * ps; i++)
		mem[i] = (char)(i / ps * 31 + i % 251);
	return mem;
}

static int pattern_ok(const char *mem, size_t nr, size_t ps)
{
	size_t i;

	for (i = 0; i < nr * ps; i++)
		if (mem[i] != (char)(i / ps * 31 + i % 251))
			return 0;
	return 1;
}

/* Read each page from the CPU: a fault on a device-private entry. */
static unsigned long touch_read(const char *mem, size_t nr, size_t ps)
{
	unsigned long sum = 0;
	size_t i;

	for (i = 0; i < nr; i++)
		sum += ((const volatile char *)mem)[i * ps];
	return sum;
}

FIXTURE(hmm_device) {
	int fd;
	size_t ps;
	char *mirror;
	char skip[256];		/* why setup skipped; "" when it did not */
	char no_devmem[256];	/* why there is no device memory; "" if there is */
};

/*
 * 6.1's harness runs the test after a SKIP in its setup: each test skips
 * again with setup's reason.
 */
#define HMM_READY() do {						\
	if (self->skip[0])						\
		SKIP(return, "%s", self->skip);				\
} while (0)

/* A case that moves pages to device memory: the devices must have it. */
#define HMM_DEVMEM_READY() do {						\
	HMM_READY();							\
	if (self->no_devmem[0])						\
		UTIL_SKIP(return, "%s", self->no_devmem);		\
} while (0)

FIXTURE_SETUP(hmm_device)
{
	int state;

	self->fd = -1;
	self->ps = getpagesize();
	self->mirror = NULL;
	ASSERT_EQ(0, kmod_util_mmprobe_load());
	state = hmm_state(self->no_devmem, sizeof(self->no_devmem));
	ASSERT_LE(0, state) TH_LOG("mmprobe has no %s", HMM_PATH);
	if (!state) {
		snprintf(self->skip, sizeof(self->skip), "%s", self->no_devmem);
		UTIL_SKIP(return, "%s", self->skip);
	}
	if (state == 2)
		self->no_devmem[0] = 0;
	self->fd = open(HMM_DEV0, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("%s says devices>0, open %s: %s",
				      HMM_PATH, HMM_DEV0, strerror(errno));
	self->mirror = malloc(NR_PAGES * self->ps);
	ASSERT_NE(NULL, self->mirror);
}

FIXTURE_TEARDOWN(hmm_device)
{
	if (self->fd >= 0)
		close(self->fd);
	free(self->mirror);
	kmod_util_mmprobe_load();
}

/*
 * A dirty, writable, exclusive anonymous page goes to the device and comes
 * back on a CPU read: its data, its dirty state (the PTE's or the folio's:
 * "mm/migrate_device.c: copy pte dirty bit to page" fixed a migration that
 * lost it, and data with it under reclaim), its write permission and its
 * PG_anon_exclusive (a write after does not copy it) all survive.
 */
TEST_F(hmm_device, dirty_pte_roundtrip)
{
	const size_t ps = self->ps;
	struct hmm_dmirror_cmd cmd = { 0 };
	struct inspect_entry e;
	long long faults, in_use;
	unsigned char snap[NR_PAGES];
	uint64_t pfn;
	char *mem;
	size_t i;

	HMM_DEVMEM_READY();
	mem = hmm_pages(NR_PAGES, ps);
	ASSERT_NE(NULL, mem);
	for (i = 0; i < NR_PAGES; i++) {
		ASSERT_EQ(1, inspect_one(mem + i * ps, &e));
		ASSERT_STREQ("anon", e.kind);
		ASSERT_EQ(1, e.dirty);
		ASSERT_EQ(1, e.write);
		ASSERT_EQ(1, e.exclusive);
		ASSERT_TRUE(util_pagemap(mem + i * ps) & PM_PRESENT);
	}

	in_use = hmm_counter("dev0.pages_in_use");
	ASSERT_EQ(0, dmirror_cmd(self->fd, HMM_DMIRROR_MIGRATE_TO_DEV, mem, self->mirror,
				 NR_PAGES, &cmd));
	ASSERT_EQ(NR_PAGES, cmd.cpages);
	ASSERT_TRUE(pattern_ok(self->mirror, NR_PAGES, ps));
	ASSERT_EQ(in_use + NR_PAGES, hmm_counter("dev0.pages_in_use"));

	ASSERT_EQ(0, dmirror_cmd(self->fd, HMM_DMIRROR_SNAPSHOT, mem, snap, NR_PAGES, &cmd));
	for (i = 0; i < NR_PAGES; i++) {
		uint64_t pm = util_pagemap(mem + i * ps);

		ASSERT_EQ(HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_WRITE, snap[i]);
		/* pagemap: not present, a swap-type entry */
		ASSERT_EQ(0, pm & PM_PRESENT);
		ASSERT_EQ(PM_SWAP, pm & PM_SWAP);
		ASSERT_EQ(1, inspect_one(mem + i * ps, &e));
		ASSERT_STREQ("device_private", e.kind);
		ASSERT_STREQ("write", e.mode);
		ASSERT_EQ(1, in_device_memory(e.pfn)) TH_LOG("pfn %#llx", e.pfn);
	}

	faults = hmm_counter("cpu_faults");
	touch_read(mem, NR_PAGES, ps);
	ASSERT_EQ(faults + NR_PAGES, hmm_counter("cpu_faults"));
	ASSERT_TRUE(pattern_ok(mem, NR_PAGES, ps));

	for (i = 0; i < NR_PAGES; i++) {
		uint64_t flags;

		ASSERT_EQ(1, inspect_one(mem + i * ps, &e));
		ASSERT_STREQ("anon", e.kind);
		ASSERT_EQ(0, in_device_memory(e.pfn));
		ASSERT_EQ(e.pfn, page_pfn(mem + i * ps));
		flags = util_kpageflags(e.pfn);
		/* Dirty where reclaim would look: the PTE or the folio. */
		ASSERT_TRUE(e.dirty == 1 || (flags & (1ULL << KPF_DIRTY)))
			TH_LOG("page %zu came back clean: pte dirty %d, kpageflags %#llx",
			       i, e.dirty, (unsigned long long)flags);
		if (i == 0)
			NOTE("back from the device: pte dirty=%d write=%d, folio dirty=%d\n",
			     e.dirty, e.write, !!(flags & (1ULL << KPF_DIRTY)));
		ASSERT_EQ(1, e.write);
		ASSERT_EQ(1, e.exclusive);
	}

	/* Exclusive, so a write does not copy: the PFN stays. */
	for (i = 0; i < NR_PAGES; i++) {
		pfn = page_pfn(mem + i * ps);
		mem[i * ps] ^= 1;
		ASSERT_EQ(pfn, page_pfn(mem + i * ps));
		mem[i * ps] ^= 1;
	}
	ASSERT_TRUE(pattern_ok(mem, NR_PAGES, ps));
	ASSERT_EQ(0, munmap(mem, NR_PAGES * ps));
	ASSERT_EQ(in_use, hmm_counter("dev0.pages_in_use"));
}

/*
 * A read-only PTE of an exclusive page makes a read device-private entry,
 * and comes back read-only and still exclusive: after mprotect() gives the
 * write back, the first write reuses the page.
 */
TEST_F(hmm_device, read_only_roundtrip)
{
	const size_t ps = self->ps;
	struct hmm_dmirror_cmd cmd = { 0 };
	struct inspect_entry e;
	unsigned char snap[NR_PAGES];
	uint64_t pfn[NR_PAGES];
	char *mem;
	size_t i;

	HMM_DEVMEM_READY();
	mem = hmm_pages(NR_PAGES, ps);
	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, mprotect(mem, NR_PAGES * ps, PROT_READ));

	ASSERT_EQ(0, dmirror_cmd(self->fd, HMM_DMIRROR_MIGRATE_TO_DEV, mem, self->mirror,
				 NR_PAGES, &cmd));
	ASSERT_EQ(NR_PAGES, cmd.cpages);
	ASSERT_TRUE(pattern_ok(self->mirror, NR_PAGES, ps));
	ASSERT_EQ(0, dmirror_cmd(self->fd, HMM_DMIRROR_SNAPSHOT, mem, snap, NR_PAGES, &cmd));
	for (i = 0; i < NR_PAGES; i++) {
		ASSERT_EQ(HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_READ, snap[i]);
		ASSERT_EQ(1, inspect_one(mem + i * ps, &e));
		ASSERT_STREQ("device_private", e.kind);
		ASSERT_STREQ("read", e.mode);
	}

	touch_read(mem, NR_PAGES, ps);
	ASSERT_TRUE(pattern_ok(mem, NR_PAGES, ps));
	for (i = 0; i < NR_PAGES; i++) {
		ASSERT_EQ(1, inspect_one(mem + i * ps, &e));
		ASSERT_STREQ("anon", e.kind);
		ASSERT_EQ(0, e.write);
		ASSERT_EQ(1, e.exclusive);
		ASSERT_EQ(0, in_device_memory(e.pfn));
	}

	ASSERT_EQ(0, mprotect(mem, NR_PAGES * ps, PROT_READ | PROT_WRITE));
	for (i = 0; i < NR_PAGES; i++) {
		pfn[i] = page_pfn(mem + i * ps);
		mem[i * ps] ^= 1;
		ASSERT_EQ(pfn[i], page_pfn(mem + i * ps));
		mem[i * ps] ^= 1;
	}
	ASSERT_TRUE(pattern_ok(mem, NR_PAGES, ps));
	ASSERT_EQ(0, munmap(mem, NR_PAGES * ps));
}

/*
 * A page shared with a child after fork() is not exclusive: it goes to the
 * device as a read entry in both processes and comes back shared; the
 * parent's write then copies it (new PFN) and the child still sees the
 * old data.
 */
TEST_F(hmm_device, shared_after_fork)
{
	const size_t ps = self->ps;
	struct hmm_dmirror_cmd cmd = { 0 };
	struct inspect_entry e;
	int to_child[2], to_parent[2], status;
	uint64_t pfn;
	char c, *mem;
	pid_t pid;
	size_t i;

	HMM_DEVMEM_READY();
	mem = hmm_pages(NR_PAGES, ps);
	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(to_child[1]);
		close(to_parent[0]);
		/* Wait for the parent's write, then check our copy. */
		if (read(to_child[0], &c, 1) != 1)
			_exit(2);
		_exit(pattern_ok(mem, NR_PAGES, ps) ? 0 : 1);
	}
	close(to_child[0]);
	close(to_parent[1]);

	ASSERT_EQ(1, inspect_one(mem, &e));
	ASSERT_EQ(0, e.exclusive);
	ASSERT_EQ(0, e.write);
	ASSERT_EQ(0, dmirror_cmd(self->fd, HMM_DMIRROR_MIGRATE_TO_DEV, mem, self->mirror,
				 NR_PAGES, &cmd));
	ASSERT_EQ(NR_PAGES, cmd.cpages);
	for (i = 0; i < NR_PAGES; i++) {
		ASSERT_EQ(1, inspect_one(mem + i * ps, &e));
		ASSERT_STREQ("device_private", e.kind);
		ASSERT_STREQ("read", e.mode);
	}
	/* The child's PTEs moved too: the page is one, mapped twice. */
	ASSERT_EQ(0, util_pagemap_pid(pid, mem) & PM_PRESENT);
	ASSERT_EQ(PM_SWAP, util_pagemap_pid(pid, mem) & PM_SWAP);

	touch_read(mem, NR_PAGES, ps);
	for (i = 0; i < NR_PAGES; i++) {
		ASSERT_EQ(1, inspect_one(mem + i * ps, &e));
		ASSERT_STREQ("anon", e.kind);
		ASSERT_EQ(0, e.exclusive);
		ASSERT_EQ(0, e.write);
		pfn = page_pfn(mem + i * ps);
		mem[i * ps] ^= 1;
		ASSERT_NE(pfn, page_pfn(mem + i * ps));
		ASSERT_EQ(1, inspect_one(mem + i * ps, &e));
		ASSERT_EQ(1, e.exclusive);
	}
	ASSERT_EQ(1, write(to_child[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	close(to_child[1]);
	close(to_parent[0]);
	ASSERT_EQ(0, munmap(mem, NR_PAGES * ps));
}

/*
 * make_device_exclusive(): the page stays where it is, behind a
 * device-exclusive entry; a CPU write takes it back (the device loses its
 * atomic access) and lands in the same page.
 */
TEST_F(hmm_device, device_exclusive)
{
	const size_t ps = self->ps;
	struct hmm_dmirror_cmd cmd = { 0 };
	struct inspect_entry e;
	uint64_t pfn[NR_PAGES];
	char *mem;
	size_t i;

	HMM_DEVMEM_READY();
	mem = hmm_pages(NR_PAGES, ps);
	ASSERT_NE(NULL, mem);
	for (i = 0; i < NR_PAGES; i++)
		pfn[i] = page_pfn(mem + i * ps);

	ASSERT_EQ(0, dmirror_cmd(self->fd, HMM_DMIRROR_EXCLUSIVE, mem, self->mirror,
				 NR_PAGES, &cmd));
	ASSERT_EQ(NR_PAGES, cmd.cpages);
	ASSERT_TRUE(pattern_ok(self->mirror, NR_PAGES, ps));
	ASSERT_EQ(-EPERM, dmirror_cmd(self->fd, HMM_DMIRROR_CHECK_EXCLUSIVE, mem, NULL,
				      NR_PAGES, NULL));
	for (i = 0; i < NR_PAGES; i++) {
		ASSERT_EQ(1, inspect_one(mem + i * ps, &e));
		ASSERT_STREQ("device_exclusive", e.kind);
		ASSERT_EQ(pfn[i], (uint64_t)e.pfn);
		ASSERT_EQ(0, util_pagemap(mem + i * ps) & PM_PRESENT);
	}

	for (i = 0; i < NR_PAGES; i++)
		mem[i * ps] ^= 1;
	ASSERT_EQ(0, dmirror_cmd(self->fd, HMM_DMIRROR_CHECK_EXCLUSIVE, mem, NULL,
				 NR_PAGES, NULL));
	for (i = 0; i < NR_PAGES; i++) {
		ASSERT_EQ(1, inspect_one(mem + i * ps, &e));
		ASSERT_STREQ("anon", e.kind);
		ASSERT_EQ(pfn[i], (uint64_t)e.pfn);
		ASSERT_EQ(1, e.dirty);
		mem[i * ps] ^= 1;
	}
	ASSERT_TRUE(pattern_ok(mem, NR_PAGES, ps));
	ASSERT_EQ(0, munmap(mem, NR_PAGES * ps));
}

/*
 * GUP on device-private entries: each method faults the pages back to
 * system memory (or fails, as measured and said), and every pin it took is
 * released again: the folio is pinned while held, unpinned after, and
 * /proc/vmstat's FOLL_PIN counts balance.
 */
TEST_F(hmm_device, gup_migrates_back)
{
	static const struct {
		const char *name;
		int method;
		uint64_t flags;
	} methods[] = {
		{ "get_user_pages", MMPROBE_PIN_METHOD_GUP, MMPROBE_PIN_WRITE },
		{ "get_user_pages_fast", MMPROBE_PIN_METHOD_GUP_FAST, MMPROBE_PIN_WRITE },
		{ "pin_user_pages", MMPROBE_PIN_METHOD_PUP, MMPROBE_PIN_WRITE },
		{ "pin_user_pages_fast", MMPROBE_PIN_METHOD_PUP_FAST, 0 },
		{ "pin_user_pages longterm", MMPROBE_PIN_METHOD_PUP,
		  MMPROBE_PIN_WRITE | MMPROBE_PIN_LONGTERM },
		{ "pin_user_pages_fast longterm", MMPROBE_PIN_METHOD_PUP_FAST,
		  MMPROBE_PIN_LONGTERM },
	};
	const size_t ps = self->ps;
	struct mmprobe_pin_page info[NR_PAGES];
	struct hmm_dmirror_cmd cmd = { 0 };
	struct inspect_entry e;
	long long pins_before;
	uint64_t handle;
	size_t m, i;
	char *mem;
	long got;
	int pfd;

	HMM_DEVMEM_READY();
	pfd = pin_util_open();
	ASSERT_LE(0, pfd);
	for (m = 0; m < ARRAY_SIZE(methods); m++) {
		bool pins = methods[m].method == MMPROBE_PIN_METHOD_PUP ||
			    methods[m].method == MMPROBE_PIN_METHOD_PUP_FAST;

		mem = hmm_pages(NR_PAGES, ps);
		ASSERT_NE(NULL, mem);
		ASSERT_EQ(0, dmirror_cmd(self->fd, HMM_DMIRROR_MIGRATE_TO_DEV, mem,
					 self->mirror, NR_PAGES, &cmd));
		ASSERT_EQ(NR_PAGES, cmd.cpages);
		ASSERT_EQ(1, inspect_one(mem, &e));
		ASSERT_STREQ("device_private", e.kind);

		pins_before = robust_pins_held();
		got = pin_util_take(pfd, mem, NR_PAGES, methods[m].method, methods[m].flags,
				    &handle);
		NOTE("%s on device-private pages: %ld of %d\n", methods[m].name, got, NR_PAGES);
		/* The fast paths may stop at the first non-present entry. */
		ASSERT_LE(0, got) TH_LOG("%s: %s", methods[m].name, strerror(-got));
		if (got < NR_PAGES)
			ASSERT_NE(NULL, strstr(methods[m].name, "fast"))
				TH_LOG("%s took %ld of %d", methods[m].name, got, NR_PAGES);
		if (got > 0) {
			ASSERT_EQ(0, pin_util_info(pfd, handle, 0, got, info, true));
			for (i = 0; i < (size_t)got; i++) {
				ASSERT_EQ(1, inspect_one(mem + i * ps, &e));
				ASSERT_STREQ("anon", e.kind);
				ASSERT_EQ(0, in_device_memory(e.pfn));
				ASSERT_EQ((uint64_t)e.pfn, info[i].pfn);
				ASSERT_EQ(pins ? 1 : 0, info[i].pinned);
			}
			if (pins)
				ASSERT_EQ(pins_before + got, robust_pins_expect(pins_before + got));
		}
		ASSERT_TRUE(pattern_ok(mem, NR_PAGES, ps));
		ASSERT_EQ(got, pin_util_unpin_all(pfd));
		ASSERT_EQ(pins_before, robust_pins_expect(pins_before));
		for (i = 0; i < NR_PAGES; i++) {
			ASSERT_EQ(1, inspect_one(mem + i * ps, &e));
			ASSERT_STREQ("anon", e.kind);
			ASSERT_EQ(0, e.pinned);
		}
		ASSERT_EQ(0, munmap(mem, NR_PAGES * ps));
	}
	close(pfd);
}

/*
 * The device reads what the CPU wrote and the CPU reads what the device
 * wrote, through hmm_range_fault() on the very pages the CPU maps: no
 * page is copied (the PFNs in pagemap stay) and the snapshot sees each
 * page present and writable, as pagemap does.
 */
TEST_F(hmm_device, mirror_read_write)
{
	const size_t ps = self->ps;
	struct hmm_dmirror_cmd cmd = { 0 };
	unsigned char snap[NR_PAGES];
	uint64_t pfn[NR_PAGES];
	char *mem;
	size_t i;

	HMM_READY();
	mem = hmm_pages(NR_PAGES, ps);
	ASSERT_NE(NULL, mem);
	for (i = 0; i < NR_PAGES; i++) {
		ASSERT_TRUE(util_pagemap(mem + i * ps) & PM_PRESENT);
		pfn[i] = page_pfn(mem + i * ps);
	}

	memset(self->mirror, 0, NR_PAGES * ps);
	ASSERT_EQ(0, dmirror_cmd(self->fd, HMM_DMIRROR_READ, mem, self->mirror, NR_PAGES, &cmd));
	ASSERT_EQ(NR_PAGES, cmd.cpages);
	ASSERT_LE(1, cmd.faults);
	ASSERT_TRUE(pattern_ok(self->mirror, NR_PAGES, ps));

	/* The device writes the complement; the CPU sees it in the same pages. */
	for (i = 0; i < NR_PAGES * ps; i++)
		self->mirror[i] = ~mem[i];
	ASSERT_EQ(0, dmirror_cmd(self->fd, HMM_DMIRROR_WRITE, mem, self->mirror, NR_PAGES,
				 &cmd));
	ASSERT_EQ(NR_PAGES, cmd.cpages);
	for (i = 0; i < NR_PAGES; i++)
		ASSERT_EQ(pfn[i], page_pfn(mem + i * ps));
	for (i = 0; i < NR_PAGES * ps; i++)
		mem[i] = ~mem[i];
	ASSERT_TRUE(pattern_ok(mem, NR_PAGES, ps));

	ASSERT_EQ(0, dmirror_cmd(self->fd, HMM_DMIRROR_SNAPSHOT, mem, snap, NR_PAGES, &cmd));
	ASSERT_EQ(NR_PAGES, cmd.cpages);
	for (i = 0; i < NR_PAGES; i++)
		ASSERT_EQ(HMM_DMIRROR_PROT_WRITE, snap[i]);
	ASSERT_EQ(0, munmap(mem, NR_PAGES * ps));
}

/*
 * The mirror's interval notifier: pages the device has in its table are
 * read again without a fault; MADV_DONTNEED drops them from the CPU page
 * table, the notifier must drop them from the device's too, so the next
 * read faults and sees the fresh zero-filled pages, not the old data.
 */
TEST_F(hmm_device, mirror_invalidate)
{
	const size_t ps = self->ps;
	struct hmm_dmirror_cmd cmd = { 0 };
	long long invalidations;
	char *mem;
	size_t i;

	HMM_READY();
	mem = hmm_pages(NR_PAGES, ps);
	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, dmirror_cmd(self->fd, HMM_DMIRROR_READ, mem, self->mirror, NR_PAGES, &cmd));
	ASSERT_LE(1, cmd.faults);
	ASSERT_EQ(0, dmirror_cmd(self->fd, HMM_DMIRROR_READ, mem, self->mirror, NR_PAGES, &cmd));
	ASSERT_EQ(0, cmd.faults);
	ASSERT_TRUE(pattern_ok(self->mirror, NR_PAGES, ps));

	invalidations = hmm_counter("invalidations");
	ASSERT_EQ(0, madvise(mem, NR_PAGES * ps, MADV_DONTNEED));
	ASSERT_LT(invalidations, hmm_counter("invalidations"));
	for (i = 0; i < NR_PAGES; i++)
		ASSERT_EQ(0, util_pagemap(mem + i * ps) & PM_PRESENT);

	memset(self->mirror, 0x5a, NR_PAGES * ps);
	ASSERT_EQ(0, dmirror_cmd(self->fd, HMM_DMIRROR_READ, mem, self->mirror, NR_PAGES, &cmd));
	ASSERT_EQ(NR_PAGES, cmd.cpages);
	ASSERT_LE(1, cmd.faults) TH_LOG("the device kept pages the CPU dropped");
	for (i = 0; i < NR_PAGES * ps; i++)
		ASSERT_EQ(0, self->mirror[i]) TH_LOG("byte %zu: stale data", i);
	ASSERT_EQ(0, munmap(mem, NR_PAGES * ps));
}

/*
 * SNAPSHOT (hmm_range_fault() without faulting) names each kind of entry
 * as pagemap and kpageflags see it: none, the shared zero page (read), a
 * written page (write), a read-only one (read).
 */
TEST_F(hmm_device, mirror_snapshot)
{
	static const unsigned char want[] = {
		HMM_DMIRROR_PROT_NONE,
		HMM_DMIRROR_PROT_ZERO | HMM_DMIRROR_PROT_READ,
		HMM_DMIRROR_PROT_WRITE,
		HMM_DMIRROR_PROT_READ,
	};
	const size_t ps = self->ps, nr = ARRAY_SIZE(want);
	struct hmm_dmirror_cmd cmd = { 0 };
	unsigned char snap[ARRAY_SIZE(want)];
	volatile char c;
	uint64_t pm;
	char *mem;
	size_t i;

	HMM_READY();
	mem = util_mmap_small(nr * ps, -1);
	ASSERT_NE(NULL, mem);
	c = mem[1 * ps];
	mem[2 * ps] = 1;
	mem[3 * ps] = 1;
	ASSERT_EQ(0, mprotect(mem + 3 * ps, ps, PROT_READ));
	(void)c;

	ASSERT_EQ(0, dmirror_cmd(self->fd, HMM_DMIRROR_SNAPSHOT, mem, snap, nr, &cmd));
	ASSERT_EQ(nr, cmd.cpages);
	for (i = 0; i < nr; i++) {
		pm = util_pagemap(mem + i * ps);
		ASSERT_EQ(want[i], snap[i]) TH_LOG("page %zu", i);
		ASSERT_EQ(i ? PM_PRESENT : 0, pm & PM_PRESENT) TH_LOG("page %zu", i);
		if (i)
			ASSERT_EQ(i == 1, !!(util_kpageflags(pm & PM_PFN_MASK) &
					     (1ULL << KPF_ZERO_PAGE))) TH_LOG("page %zu", i);
	}
	ASSERT_EQ(0, munmap(mem, nr * ps));
}

/*
 * Every ioctl checks its argument; each kind of mistake has its errno.
 * Without device memory every command that needs it is EOPNOTSUPP.
 */
TEST_F(hmm_device, ioctl_errors)
{
	static const unsigned long devmem_cmds[] = {
		HMM_DMIRROR_MIGRATE_TO_DEV, HMM_DMIRROR_MIGRATE_TO_SYS,
		HMM_DMIRROR_EXCLUSIVE, HMM_DMIRROR_CHECK_EXCLUSIVE,
		HMM_DMIRROR_RELEASE,
	};
	const size_t ps = self->ps;
	struct hmm_dmirror_cmd cmd = { 0 };
	long long errors;
	int nerrors = 0;
	char *mem;
	size_t i;

	HMM_READY();
	errors = hmm_counter("errors");
	mem = hmm_pages(1, ps);
	ASSERT_NE(NULL, mem);
	/* unaligned, empty, wrapping, beyond user space */
	ASSERT_EQ(-EINVAL, dmirror_cmd(self->fd, HMM_DMIRROR_READ, mem + 1, self->mirror, 1,
				       NULL));
	ASSERT_EQ(-EINVAL, dmirror_cmd(self->fd, HMM_DMIRROR_READ, mem, self->mirror, 0, NULL));
	ASSERT_EQ(-EINVAL, dmirror_cmd(self->fd, HMM_DMIRROR_READ, mem, self->mirror,
				       ~0UL / ps, NULL));
	ASSERT_EQ(-EINVAL, dmirror_cmd(self->fd, HMM_DMIRROR_SNAPSHOT,
				       (void *)(~0UL & ~(ps - 1)), self->mirror, 1, NULL));
	/* unknown flag bits */
	ASSERT_EQ(-EINVAL, dmirror_cmd(self->fd, HMM_DMIRROR_FLAGS, NULL, NULL, 2, NULL));
	/* an unknown command */
	ASSERT_EQ(-1, ioctl(self->fd, _IOWR('H', 0x7f, struct hmm_dmirror_cmd), &cmd));
	ASSERT_EQ(ENOTTY, errno);
	/* a bad pointer: to the command, to the data */
	ASSERT_EQ(-1, ioctl(self->fd, HMM_DMIRROR_READ, (void *)8));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-EFAULT, dmirror_cmd(self->fd, HMM_DMIRROR_READ, mem, (void *)8, 1, NULL));
	nerrors += 8;
	if (self->no_devmem[0]) {
		for (i = 0; i < ARRAY_SIZE(devmem_cmds); i++)
			ASSERT_EQ(-EOPNOTSUPP, dmirror_cmd(self->fd, devmem_cmds[i], mem,
							   self->mirror, 1, NULL))
				TH_LOG("command %#lx", devmem_cmds[i]);
		ASSERT_EQ(-EOPNOTSUPP, dmirror_cmd(self->fd, HMM_DMIRROR_FLAGS, NULL, NULL,
						   HMM_DMIRROR_FLAG_FAIL_ALLOC, NULL));
		nerrors += ARRAY_SIZE(devmem_cmds) + 1;
	}
	/* no VMA to migrate */
	ASSERT_EQ(0, munmap(mem, ps));
	ASSERT_EQ(self->no_devmem[0] ? -EOPNOTSUPP : -EINVAL,
		  dmirror_cmd(self->fd, HMM_DMIRROR_MIGRATE_TO_DEV, mem, self->mirror, 1, NULL));
	nerrors++;
	ASSERT_EQ(errors + nerrors, hmm_counter("errors"));
}

/*
 * Unload and load mmprobe again and again while a process keeps pages it
 * moved to the device: the unload is refused while the device file is open
 * (the pages need the driver), and once it is closed every page is back in
 * system memory with its data, and mmprobe unloads; nothing is left of the
 * old instance (device pages, chunks, counters) in the new one, which
 * maps its first chunk only when a page first moves to the device.
 */
TEST_F_TIMEOUT(hmm_device, reload_with_device_pages, RELOAD_TIMEOUT)
{
	const size_t ps = self->ps;
	struct hmm_dmirror_cmd cmd = { 0 };
	struct inspect_entry e;
	int cycle, fd, ret;
	char *mem;
	size_t i;

	HMM_DEVMEM_READY();
	close(self->fd);
	self->fd = -1;
	mem = hmm_pages(NR_PAGES, ps);
	ASSERT_NE(NULL, mem);
	for (cycle = 0; cycle < RELOAD_CYCLES; cycle++) {
		fd = open(HMM_DEV0, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fd) TH_LOG("cycle %d: %s", cycle, strerror(errno));
		ASSERT_EQ(0, hmm_counter("dev0.pages_in_use"));
		ASSERT_EQ(0, dmirror_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, mem, self->mirror,
					 NR_PAGES, &cmd));
		ASSERT_EQ(NR_PAGES, cmd.cpages);
		ASSERT_EQ(NR_PAGES, hmm_counter("dev0.pages_in_use"));
		if (cycle) {
			/* The region reserved at load, mapped now. */
			ASSERT_EQ(1, hmm_counter("dev0.chunks"));
			ASSERT_EQ(0, hmm_counter("dev0.reserved"));
		}
		ASSERT_EQ(1, inspect_one(mem, &e));
		ASSERT_STREQ("device_private", e.kind);

		ASSERT_EQ(-EWOULDBLOCK, kmod_util_unload("mmprobe"));
		ASSERT_EQ(1, kmod_util_loaded("mmprobe"));
		ASSERT_EQ(1, inspect_one(mem + ps, &e));
		ASSERT_STREQ("device_private", e.kind);

		/* Closing the mirror brings the pages back. */
		close(fd);
		ASSERT_EQ(0, hmm_counter("dev0.pages_in_use"));
		for (i = 0; i < NR_PAGES; i++) {
			ASSERT_EQ(1, inspect_one(mem + i * ps, &e));
			ASSERT_STREQ("anon", e.kind);
		}
		ASSERT_TRUE(pattern_ok(mem, NR_PAGES, ps));

		ret = robust_unload_wait(ROBUST_UNLOAD_WAIT_MS, NULL);
		ASSERT_EQ(0, ret) TH_LOG("cycle %d unload: %s", cycle, strerror(-ret));
		ASSERT_EQ(-1, access(HMM_DEV0, F_OK));
		ret = kmod_util_load(kmod_util_mmprobe_path(), NULL);
		ASSERT_EQ(0, ret) TH_LOG("cycle %d load: %s", cycle, strerror(-ret));
		ASSERT_EQ(0, hmm_counter("migrated_to_device"));
		/* A load reserves the first chunk's region and maps nothing. */
		ASSERT_EQ(0, hmm_counter("dev0.chunks"));
		ASSERT_EQ(1, hmm_counter("dev0.reserved"));
		ASSERT_EQ(0, hmm_counter("chunks_added"));
	}
	ASSERT_TRUE(pattern_ok(mem, NR_PAGES, ps));
	ASSERT_EQ(0, munmap(mem, NR_PAGES * ps));
}

TEST_HARNESS_MAIN
