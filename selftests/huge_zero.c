// SPDX-License-Identifier: GPL-2.0
/*
 * huge_zero: what a write does to a PMD that maps the huge zero page.
 *
 * A read fault on an aligned 2 MiB of a MADV_HUGEPAGE region maps the huge
 * zero page with one read-only PMD. A write to it used to split the PMD into
 * 511 PTEs of the small zero page and one new anonymous page; since 6.13
 * ("mm: allocate THP on hugezeropage wp-fault") it installs a freshly
 * allocated THP instead, splitting only when none can be had. Each case
 * drives one way into that write fault - a plain store, GUP with FOLL_WRITE
 * (/proc/self/mem, and pins through mmprobe's pin file) and FOLL_FORCE
 * (ptrace), a read-only long-term pin, userfaultfd write-protect in sync and
 * async mode, after fork, after THP was disabled for the region, with the
 * THP charge failing - and asserts the outcome this kernel was measured
 * to have (behaviour.c: huge_zero_wp_thp, a plain store into a fresh
 * region, whatever the version number says), from sources
 * independent of one another: /proc/self/pagemap, /proc/kpageflags,
 * /proc/vmstat, smaps, the data, mmprobe's inspect (the page-table entry:
 * level, kind, write, dirty, uffd-wp, exclusive) and its mmu-notifier
 * tracer.
 *
 * The outcomes, as measured on Debian 6.1, 6.12 and 7.3 (Documentation/
 * notify.rst has the table):
 *  - THP ("thp"): a PMD's consecutive PFNs of a new anon folio, PMD-mapped
 *    (kpageflags THP, AnonHugePages 2048 kB), thp_fault_alloc +1, one
 *    MMU_NOTIFY_CLEAR invalidation of exactly the 2 MiB.
 *  - split ("split"): the written page a new exclusive anon page, the other
 *    511 the small zero page, thp_split_pmd +1, AnonHugePages 0 kB, an
 *    invalidation of the 2 MiB (the split) then one of the page (the COW).
 *
 * The vmstat counters are the whole machine's: another process's THP
 * fault or split moves them too (vmtest.sh -L makes such a load). So the
 * outcome is decided and asserted on this process's own pages (pagemap,
 * kpageflags, smaps, inspect, the tracer, and a memory cgroup of its own
 * where there is one); the counters are only checked to have risen by at
 * least what the outcome implies.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "behaviour.h"
#include "inspect_util.h"
#include "mmprobe_util.h"
#include "notify_util.h"
#include "pin_util.h"

#define KPF_ANON		12
#define KPF_COMPOUND_HEAD	15
#define KPF_COMPOUND_TAIL	16
/* PG_anon_exclusive is PG_mappedtodisk's bit: reported as KPF_MAPPEDTODISK. */
#define KPF_ANON_EXCLUSIVE	34
#define KPF(bit)		(1ULL << (bit))

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC	(1 << 15)
#endif

#define HZ_MAX_REGIONS	4
/*
 * Each test faults and writes whole PMDs: 32 MiB with 16 KiB pages, 16
 * times x86's; in an arm64 TCG guest on a busy host one took more than
 * the harness's 30 s.
 */
#define HZ_TIMEOUT	120

FIXTURE(huge_zero) {
	bool ready;		/* 6.1's harness runs the test after a setup SKIP */
	size_t pmd;
	size_t pagesize;
	/* As measured (behaviour.h), whatever the kernel's version says: */
	int wp_thp;		/* huge_zero_wp_thp: the write installs a THP */
	int uffd_wp_async;	/* UFFDIO_API accepts UFFD_FEATURE_WP_ASYNC */
	int ro_unshare;		/* longterm_ro_unshare: R/O long-term pins unshare */
	uint64_t zero_pfn;	/* the small zero page */
	int fd;			/* the mmu-notifier tracer */
	char *regions[HZ_MAX_REGIONS];
	char enabled[32];	/* the THP settings found, to check the restore */
	char use_zero_page[32];
};

/* The fixture data, as the helpers below take it */
#define HZ_DATA FIXTURE_DATA(huge_zero)

/* vmstat counters a write to the huge zero page may move */
struct hz_stat {
	long long alloc;	/* thp_fault_alloc */
	long long split;	/* thp_split_pmd */
	long long fallback;	/* thp_fault_fallback */
	long long charge;	/* thp_fault_fallback_charge */
};

static void hz_stat_read(struct hz_stat *s)
{
	s->alloc = util_vmstat("thp_fault_alloc");
	s->split = util_vmstat("thp_split_pmd");
	s->fallback = util_vmstat("thp_fault_fallback");
	s->charge = util_vmstat("thp_fault_fallback_charge");
}

static void hz_stat_delta(struct hz_stat *d, const struct hz_stat *before)
{
	struct hz_stat now;

	hz_stat_read(&now);
	d->alloc = now.alloc - before->alloc;
	d->split = now.split - before->split;
	d->fallback = now.fallback - before->fallback;
	d->charge = now.charge - before->charge;
}

static int hz_version(const char *key)
{
	char buf[4096];

	if (util_read_file(MMPROBE_DIR "/version", buf, sizeof(buf)) < 0)
		return -1;
	return util_kv_get(buf, key);
}

static uint64_t hz_pfn(uint64_t pm)
{
	return pm & PM_PFN_MASK;
}

static uint64_t hz_pagemap_of(pid_t pid, const void *addr)
{
	char path[64];
	uint64_t pm = 0;
	int fd;

	if (!pid)
		return util_pagemap(addr);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &pm, sizeof(pm), (uintptr_t)addr / getpagesize() * sizeof(pm)) !=
	    sizeof(pm))
		pm = 0;
	close(fd);
	return pm;
}

/* The page-table entry that maps addr in pid (0: this process), per inspect. */
static int hz_inspect(pid_t pid, const void *addr, struct inspect_entry *e)
{
	unsigned long start = (uintptr_t)addr & ~(unsigned long)(getpagesize() - 1);

	if (!pid)
		return inspect_one(addr, e);
	return inspect_range(pid, start, start + getpagesize(), e, 1);
}

/*
 * Does [mem, mem + pmd) of pid (0: this process) map the huge zero page?
 * Every page present, PFNs consecutive from a compound head, kpageflags
 * ZERO_PAGE and THP on each. Returns the head PFN, 0 if not.
 */
static uint64_t hz_huge_zero_pfn(pid_t pid, const char *mem, size_t pmd, size_t pagesize)
{
	uint64_t pm, base = 0, flags;
	size_t i;

	for (i = 0; i < pmd / pagesize; i++) {
		pm = hz_pagemap_of(pid, mem + i * pagesize);
		if (!(pm & PM_PRESENT))
			return 0;
		if (!i)
			base = hz_pfn(pm);
		if (hz_pfn(pm) != base + i)
			return 0;
		flags = util_kpageflags(base + i);
		if (!(flags & KPF(KPF_ZERO_PAGE)) || !(flags & KPF(KPF_THP)))
			return 0;
		if (!(flags & KPF(i ? KPF_COMPOUND_TAIL : KPF_COMPOUND_HEAD)))
			return 0;
	}
	return base;
}

/* A fresh aligned PMD-sized MADV_HUGEPAGE region, not yet touched. */
static char *hz_map(HZ_DATA *self, int prot)
{
	char *mem;
	int i;

	for (i = 0; i < HZ_MAX_REGIONS && self->regions[i]; i++)
		;
	if (i == HZ_MAX_REGIONS)
		return NULL;
	mem = util_mmap_aligned(self->pmd, self->pmd);
	if (!mem)
		return NULL;
	if (madvise(mem, self->pmd, MADV_HUGEPAGE) ||
	    (prot != (PROT_READ | PROT_WRITE) && mprotect(mem, self->pmd, prot))) {
		munmap(mem, self->pmd);
		return NULL;
	}
	self->regions[i] = mem;
	return mem;
}

/*
 * A region whose read fault mapped the huge zero page; NULL when that cannot
 * be had, the test then marked failed or skipped: the caller just returns.
 */
static char *hz_read_faulted(struct __test_metadata *_metadata,
			     HZ_DATA *self, int prot)
{
	char *mem = hz_map(self, prot);

	if (!mem) {
		EXPECT_NE(NULL, mem);
		return NULL;
	}
	if (*(volatile char *)mem != 0) {
		EXPECT_EQ(0, mem[0]);
		return NULL;
	}
	if (!hz_huge_zero_pfn(0, mem, self->pmd, self->pagesize)) {
		SKIP(return NULL,
		     "the read fault did not map the huge zero page (thp_zero_page_alloc_failed=%lld): memory too fragmented?",
		     util_vmstat("thp_zero_page_alloc_failed"));
	}
	return mem;
}

/* Bytes of [mem, mem + len) that are not 0, but for want at off. */
static size_t hz_bad_bytes(const char *mem, size_t len, size_t off, char want)
{
	size_t i, bad = 0;

	for (i = 0; i < len; i++)
		bad += mem[i] != (i == off ? want : 0);
	return bad;
}

/* The secondary-TLB callback has a start..end that covers [s, e). */
static bool hz_tlb_covers(const struct notify_log *log, uint64_t after, uint64_t before,
			  uintptr_t s, uintptr_t e)
{
	size_t i;

	for (i = 0; i < log->nr; i++) {
		const struct notify_event *ev = &log->ev[i];

		if (ev->seq > after && ev->seq < before &&
		    (!strcmp(ev->cb, "arch_invalidate_secondary_tlbs") ||
		     !strcmp(ev->cb, "invalidate_range")) &&
		    ev->start <= s && ev->end >= e)
			return true;
	}
	return false;
}

/* The invalidations of [s, e) this thread started, in order. */
static size_t hz_starts(const struct notify_log *log, uintptr_t s, uintptr_t e,
			const struct notify_event **out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < log->nr; i++) {
		const struct notify_event *ev = &log->ev[i];

		if (strcmp(ev->cb, "invalidate_range_start") || ev->pid != gettid() ||
		    !notify_overlaps(ev, s, e))
			continue;
		if (n < max)
			out[n] = ev;
		n++;
	}
	return n;
}

/*
 * What this thread's write at mem + off did, against the outcome expected:
 * thp or split (see the top of the file). pid 0 is this process; for another
 * one only pagemap and kpageflags are checked, stat and log may be NULL.
 */
static void hz_check_outcome(struct __test_metadata *_metadata,
			     HZ_DATA *self, pid_t pid, char *mem,
			     size_t off, bool thp, bool writable, const struct hz_stat *d,
			     const struct notify_log *log)
{
	const size_t nr = self->pmd / self->pagesize, page = off / self->pagesize;
	uint64_t pm, pfn, flags, head;
	uintptr_t s = (uintptr_t)mem, e = s + self->pmd;
	const struct notify_event *ev[4];
	struct inspect_entry ie;
	size_t i, n;

	/* The entry now mapping the byte written: exclusive, dirty, anon. */
	ASSERT_EQ(1, hz_inspect(pid, mem + off, &ie));
	EXPECT_STREQ("anon", ie.kind);
	EXPECT_EQ(thp ? INSPECT_LEVEL_PMD : INSPECT_LEVEL_PTE, ie.level);
	EXPECT_EQ(thp ? __builtin_ctzl(nr) : 0, ie.order);
	EXPECT_EQ(1, ie.exclusive);
	EXPECT_EQ(1, ie.dirty);
	EXPECT_EQ(writable, ie.write);
	EXPECT_EQ(0, ie.uffd_wp);
	if (!thp) {
		/* ... and one next to it: the small zero page, read-only. */
		ASSERT_EQ(1, hz_inspect(pid, mem + (page ? page - 1 : 1) * self->pagesize, &ie));
		EXPECT_STREQ("zero", ie.kind);
		EXPECT_EQ(INSPECT_LEVEL_PTE, ie.level);
		EXPECT_EQ(0, ie.write);
	}

	if (!pid)
		EXPECT_NE(0, mem[off]);
	if (d) {
		/* System-wide: at least our own fault or split. */
		EXPECT_LE(thp ? 1 : 0, d->alloc);
		EXPECT_LE(thp ? 0 : 1, d->split);
	}

	if (thp) {
		head = hz_pfn(hz_pagemap_of(pid, mem));
		flags = util_kpageflags(head);
		EXPECT_TRUE(flags & KPF(KPF_THP)) TH_LOG("kpageflags %#llx",
							 (unsigned long long)flags);
		EXPECT_TRUE(flags & KPF(KPF_ANON));
		EXPECT_TRUE(flags & KPF(KPF_COMPOUND_HEAD));
		EXPECT_TRUE(flags & KPF(KPF_ANON_EXCLUSIVE));
		EXPECT_FALSE(flags & KPF(KPF_ZERO_PAGE));
		for (i = 0, n = 0; i < nr; i++) {
			pm = hz_pagemap_of(pid, mem + i * self->pagesize);
			n += !(pm & PM_PRESENT) || !(pm & PM_MMAP_EXCL) ||
			     hz_pfn(pm) != head + i;
		}
		EXPECT_EQ(0, n) TH_LOG("%zu pages not of one exclusive PMD-mapped folio", n);
		if (!pid)
			EXPECT_EQ((long long)(self->pmd >> 10),
				  util_smaps_kb(mem, "AnonHugePages"));
	} else {
		for (i = 0, n = 0; i < nr; i++) {
			if (i == page)
				continue;
			pm = hz_pagemap_of(pid, mem + i * self->pagesize);
			n += !(pm & PM_PRESENT) || hz_pfn(pm) != self->zero_pfn;
		}
		EXPECT_EQ(0, n) TH_LOG("%zu of the other pages are not the small zero page", n);
		pm = hz_pagemap_of(pid, mem + page * self->pagesize);
		pfn = hz_pfn(pm);
		flags = util_kpageflags(pfn);
		EXPECT_TRUE(pm & PM_MMAP_EXCL);
		EXPECT_TRUE(flags & KPF(KPF_ANON)) TH_LOG("kpageflags %#llx",
							  (unsigned long long)flags);
		EXPECT_TRUE(flags & KPF(KPF_ANON_EXCLUSIVE));
		EXPECT_FALSE(flags & (KPF(KPF_THP) | KPF(KPF_ZERO_PAGE)));
		if (!pid)
			EXPECT_EQ(0, util_smaps_kb(mem, "AnonHugePages"));
	}
	if (!pid)
		EXPECT_EQ(0, hz_bad_bytes(mem, self->pmd, off, mem[off]));

	if (!log)
		return;
	n = hz_starts(log, s, e, ev, 4);
	if (thp) {
		/* One invalidation of exactly the PMD, the old entry flushed in it. */
		ASSERT_EQ(1, n) notify_dump(log, s, e);
		EXPECT_STREQ("clear", ev[0]->event);
		EXPECT_EQ(s, ev[0]->start);
		EXPECT_EQ(e, ev[0]->end);
		EXPECT_TRUE(hz_tlb_covers(log, ev[0]->seq, ~0ULL, s, e)) notify_dump(log, s, e);
	} else {
		/* The split of the PMD, then the COW of the one page. */
		ASSERT_EQ(2, n) notify_dump(log, s, e);
		EXPECT_STREQ("clear", ev[0]->event);
		EXPECT_EQ(s, ev[0]->start);
		EXPECT_EQ(e, ev[0]->end);
		EXPECT_STREQ("clear", ev[1]->event);
		EXPECT_EQ(s + page * self->pagesize, ev[1]->start);
		EXPECT_EQ(s + (page + 1) * self->pagesize, ev[1]->end);
	}
	EXPECT_EQ(0, log->lost);
}

FIXTURE_SETUP(huge_zero)
{
	char buf[1024], *page;
	uint64_t pm;

	self->fd = -1;
	if (access(MMPROBE_DIR "/version", F_OK))
		SKIP(return, "mmprobe is not loaded: insmod mmprobe.ko");
	if (hz_version("thp") != 1)
		SKIP(return, "no transparent huge pages on this kernel");
	self->wp_thp = behaviour_measure(BEHAVIOUR_HUGE_ZERO_WP_THP, buf, sizeof(buf));
	ASSERT_TRUE(self->wp_thp == 0 || self->wp_thp == 1)
		TH_LOG("a plain write to the huge zero page: %s", buf);
	self->uffd_wp_async = behaviour_measure(BEHAVIOUR_UFFD_WP_ASYNC, NULL, 0);
	self->ro_unshare = behaviour_measure(BEHAVIOUR_LONGTERM_RO_UNSHARE, NULL, 0);
	self->pmd = util_pmd_size();
	self->pagesize = getpagesize();
	ASSERT_LT(self->pagesize, self->pmd);

	/* The small zero page, as a read of a page outside any THP maps it. */
	page = mmap(NULL, self->pagesize, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	ASSERT_EQ(0, madvise(page, self->pagesize, MADV_NOHUGEPAGE));
	ASSERT_EQ(0, *(volatile char *)page);
	pm = util_pagemap(page);
	munmap(page, self->pagesize);
	if (!hz_pfn(pm))
		SKIP(return, "pagemap shows no PFNs: run as root (CAP_SYS_ADMIN)");
	self->zero_pfn = hz_pfn(pm);
	ASSERT_TRUE(util_kpageflags(self->zero_pfn) & KPF(KPF_ZERO_PAGE));

	ASSERT_EQ(0, util_setting_get(THP_DIR "/enabled", self->enabled,
				      sizeof(self->enabled)));
	ASSERT_EQ(0, util_setting_get(THP_DIR "/use_zero_page", self->use_zero_page,
				      sizeof(self->use_zero_page)));
	self->fd = notify_open();
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s", NOTIFY_PATH, strerror(-self->fd));

	/*
	 * madvise mode, the huge zero page on, and khugepaged kept from
	 * collapsing a split region back (a zero-page PTE counts as none).
	 */
	if (util_setting_set(THP_DIR "/enabled", "madvise") ||
	    util_setting_set(THP_DIR "/defrag", "madvise") ||
	    util_setting_set(THP_DIR "/use_zero_page", "1") ||
	    util_setting_set(THP_DIR "/khugepaged/max_ptes_none", "0")) {
		util_settings_restore();
		ASSERT_TRUE(false) TH_LOG("cannot change the THP settings: %s", strerror(errno));
	}
	/* The teardown does not run after a failed setup: restore here. */
	if (util_setting_get(THP_DIR "/enabled", buf, sizeof(buf)) || strcmp(buf, "madvise")) {
		util_settings_restore();
		ASSERT_STREQ("madvise", buf);
	}
	self->ready = true;
}

FIXTURE_TEARDOWN(huge_zero)
{
	char buf[32];
	int i;

	for (i = 0; i < HZ_MAX_REGIONS; i++)
		if (self->regions[i])
			munmap(self->regions[i], self->pmd);
	if (self->fd >= 0)
		close(self->fd);
	prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
	util_settings_restore();
	if (self->enabled[0]) {
		EXPECT_EQ(0, util_setting_get(THP_DIR "/enabled", buf, sizeof(buf)));
		EXPECT_STREQ(self->enabled, buf);
		EXPECT_EQ(0, util_setting_get(THP_DIR "/use_zero_page", buf, sizeof(buf)));
		EXPECT_STREQ(self->use_zero_page, buf);
	}
}

#define HZ_READY() do { \
	if (!self->ready) \
		SKIP(return, "setup did not complete"); \
} while (0)

/*
 * Read fault: the huge zero page at PMD level (consecutive PFNs of one
 * compound page that kpageflags calls ZERO_PAGE and THP), with no
 * invalidation: nothing was mapped before.
 */
TEST_F_TIMEOUT(huge_zero, read_fault_maps_huge_zero, HZ_TIMEOUT)
{
	struct notify_log log = { 0 };
	struct inspect_entry e;
	uintptr_t s;
	char *mem;

	HZ_READY();
	ASSERT_EQ(0, notify_clear(self->fd));
	mem = hz_read_faulted(_metadata, self, PROT_READ | PROT_WRITE);
	if (!mem)
		return;
	s = (uintptr_t)mem;
	ASSERT_LE(0, notify_read(self->fd, &log));
	EXPECT_EQ(0, notify_count(&log, "invalidate_range_start", NULL, s, s + self->pmd));
	EXPECT_EQ(0, util_smaps_kb(mem, "AnonHugePages"));
	notify_log_free(&log);

	/* One read-only PMD, of the PFN pagemap shows. */
	ASSERT_EQ(1, inspect_one(mem + self->pmd / 2, &e));
	EXPECT_EQ(INSPECT_LEVEL_PMD, e.level);
	EXPECT_STREQ("huge_zero", e.kind);
	EXPECT_EQ(s, e.addr);
	EXPECT_EQ(0, e.write);
	EXPECT_EQ((long long)hz_pfn(util_pagemap(mem)), e.pfn);
}

/* Two regions read-faulted: one huge zero page for both. */
TEST_F_TIMEOUT(huge_zero, shared_by_regions, HZ_TIMEOUT)
{
	char *a, *b;

	HZ_READY();
	a = hz_read_faulted(_metadata, self, PROT_READ | PROT_WRITE);
	if (!a)
		return;
	b = hz_read_faulted(_metadata, self, PROT_READ);
	if (!b)
		return;
	EXPECT_EQ(hz_huge_zero_pfn(0, a, self->pmd, self->pagesize),
		  hz_huge_zero_pfn(0, b, self->pmd, self->pagesize));
}

/*
 * A store: THP where huge_zero_wp_thp=1, split elsewhere. At the first,
 * a middle and the last byte, each in a fresh region.
 */
TEST_F_TIMEOUT(huge_zero, write_fault, HZ_TIMEOUT)
{
	const size_t offs[] = { 0, self->pmd / 2 + 5, self->pmd - 1 };
	struct notify_log log = { 0 };
	struct hz_stat before, d;
	unsigned int i;
	char *mem;

	HZ_READY();
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		mem = hz_read_faulted(_metadata, self, PROT_READ | PROT_WRITE);
		if (!mem)
			return;
		ASSERT_EQ(0, notify_clear(self->fd));
		hz_stat_read(&before);
		mem[offs[i]] = 0x42;
		hz_stat_delta(&d, &before);
		ASSERT_LE(0, notify_read(self->fd, &log));
		TH_LOG("offset %#zx: thp_fault_alloc +%lld thp_split_pmd +%lld",
		       offs[i], d.alloc, d.split);
		hz_check_outcome(_metadata, self, 0, mem, offs[i], self->wp_thp, true, &d, &log);
		notify_log_free(&log);
	}
}

/*
 * A known kernel bug, reported as XFAIL with its reason (as the kernel's own
 * cow.c does) where the harness passes KSFT_XFAIL through (6.12 on); a test
 * that already failed stays failed. With an older harness it fails.
 */
#ifdef XFAIL_ADD
#define HZ_XFAIL(fmt, ...) do {						\
	if (_metadata->exit_code == KSFT_PASS) {			\
		snprintf(_metadata->results->reason,			\
			 sizeof(_metadata->results->reason), fmt, ##__VA_ARGS__); \
		_metadata->exit_code = KSFT_XFAIL;			\
	}								\
} while (0)
#else
#define HZ_XFAIL(fmt, ...) do {						\
	TH_LOG(fmt, ##__VA_ARGS__);					\
	_metadata->passed = 0;						\
} while (0)
#endif

/*
 * THP disabled for the region after the read fault: MADV_NOHUGEPAGE,
 * PR_SET_THP_DISABLE or enabled=never forbid a new THP, so the write must
 * split the PMD as before, with the right data (6.1 and 6.12 do). A kernel
 * with the 6.13 change (7.3; 6.12 with it backported) allocates a THP
 * regardless: wp_huge_pmd() -> do_huge_pmd_wp_page() ->
 * do_huge_zero_wp_pmd() calls vma_alloc_anon_folio_pmd() without asking
 * thp_vma_allowable_order() again (7.3 mm/huge_memory.c), so the policy
 * is ignored (Documentation/findings.rst). The test checks whichever
 * outcome it sees in full, and reports the THP as XFAIL, naming the bug.
 */
enum hz_disable { HZ_MADV_NOHUGEPAGE, HZ_PRCTL, HZ_ENABLED_NEVER };

static void hz_write_after_disable(struct __test_metadata *_metadata,
				   HZ_DATA *self, enum hz_disable how)
{
	static const char *const names[] = {
		[HZ_MADV_NOHUGEPAGE] = "MADV_NOHUGEPAGE",
		[HZ_PRCTL] = "PR_SET_THP_DISABLE",
		[HZ_ENABLED_NEVER] = "enabled=never",
	};
	struct notify_log log = { 0 };
	struct hz_stat before, d;
	size_t off = 3 * self->pagesize + 7;
	bool thp;
	char *mem;

	mem = hz_read_faulted(_metadata, self, PROT_READ | PROT_WRITE);
	if (!mem)
		return;
	switch (how) {
	case HZ_MADV_NOHUGEPAGE:
		ASSERT_EQ(0, madvise(mem, self->pmd, MADV_NOHUGEPAGE));
		break;
	case HZ_PRCTL:
		ASSERT_EQ(0, prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
		break;
	case HZ_ENABLED_NEVER:
		ASSERT_EQ(0, util_setting_set(THP_DIR "/enabled", "never"));
		break;
	}
	/* Disabling THP left the mapping as it was. */
	ASSERT_NE(0, hz_huge_zero_pfn(0, mem, self->pmd, self->pagesize));
	ASSERT_EQ(0, notify_clear(self->fd));
	hz_stat_read(&before);
	mem[off] = 0x42;
	hz_stat_delta(&d, &before);
	ASSERT_LE(0, notify_read(self->fd, &log));
	TH_LOG("thp_fault_alloc +%lld thp_split_pmd +%lld", d.alloc, d.split);
	/* Which it was, from the written page itself; hz_check_outcome() checks the rest. */
	thp = util_kpageflags(hz_pfn(util_pagemap(mem + off))) & KPF(KPF_THP);
	/* Only a kernel whose write fault allocates at all may do it here. */
	EXPECT_TRUE(!thp || self->wp_thp);
	hz_check_outcome(_metadata, self, 0, mem, off, thp, true, &d, &log);
	notify_log_free(&log);
	if (thp)
		HZ_XFAIL("%s ignored: do_huge_zero_wp_pmd() allocated a THP (findings.rst)",
			 names[how]);
}

TEST_F_TIMEOUT(huge_zero, write_after_madv_nohugepage, HZ_TIMEOUT)
{
	HZ_READY();
	hz_write_after_disable(_metadata, self, HZ_MADV_NOHUGEPAGE);
}

TEST_F_TIMEOUT(huge_zero, write_after_prctl_thp_disable, HZ_TIMEOUT)
{
	HZ_READY();
	hz_write_after_disable(_metadata, self, HZ_PRCTL);
}

TEST_F_TIMEOUT(huge_zero, write_after_enabled_never, HZ_TIMEOUT)
{
	HZ_READY();
	hz_write_after_disable(_metadata, self, HZ_ENABLED_NEVER);
}

/* What a child of write_when_charge_fails saw. */
struct hz_charge_result {
	int err;		/* 0, or the errno of the step that failed */
	int step;
	struct hz_stat d;
	long long memcg_alloc;	/* thp_fault_alloc of the child's own cgroup, or -1 */
	uint64_t written_flags;	/* kpageflags of the written page */
	uint64_t written_pfn;
	size_t others_not_zero;	/* other pages not the small zero page */
	size_t bad_bytes;
};

/* thp_fault_alloc in memory.stat of the cgroup whose cgroup.procs is procs */
static long long hz_memcg_thp_alloc(const char *procs)
{
	char path[160], buf[8192];

	snprintf(path, sizeof(path), "%.*s/memory.stat",
		 (int)(strrchr(procs, '/') - procs), procs);
	if (util_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	return util_kv_get(buf, "thp_fault_alloc");
}

static void hz_charge_child(HZ_DATA *self, const char *cg, int out)
{
	struct hz_charge_result r = { 0 };
	const size_t off = 9 * self->pagesize + 1;
	long long memcg_before;
	struct hz_stat before;
	char pid[32], *mem;
	size_t i;

	snprintf(pid, sizeof(pid), "%d", getpid());
	r.step = 1;
	r.err = -util_write_file(cg, pid);
	if (r.err)
		goto out;
	r.step = 2;
	mem = util_mmap_aligned(self->pmd, self->pmd);
	if (!mem || madvise(mem, self->pmd, MADV_HUGEPAGE)) {
		r.err = errno;
		goto out;
	}
	r.step = 3;
	if (*(volatile char *)mem || !hz_huge_zero_pfn(0, mem, self->pmd, self->pagesize)) {
		r.err = ENOENT;
		goto out;
	}
	memcg_before = hz_memcg_thp_alloc(cg);
	hz_stat_read(&before);
	mem[off] = 0x42;
	hz_stat_delta(&r.d, &before);
	r.memcg_alloc = hz_memcg_thp_alloc(cg);
	if (memcg_before >= 0 && r.memcg_alloc >= 0)
		r.memcg_alloc -= memcg_before;
	else
		r.memcg_alloc = -1;
	r.written_pfn = hz_pfn(util_pagemap(mem + off));
	r.written_flags = util_kpageflags(r.written_pfn);
	for (i = 0; i < self->pmd / self->pagesize; i++)
		if (i != off / self->pagesize)
			r.others_not_zero += hz_pfn(util_pagemap(mem + i * self->pagesize)) !=
					     self->zero_pfn;
	r.bad_bytes = hz_bad_bytes(mem, self->pmd, off, 0x42);
	r.step = 0;
out:
	if (write(out, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	_exit(0);
}

/* A private cgroup2 mount with one memory-limited group for the child. */
struct hz_cgroup {
	char dir[32];
	char group[96];
	bool mounted;
	bool enabled;		/* we enabled the memory controller */
};

static const char *hz_cgroup_make(struct hz_cgroup *cg)
{
	char path[160], buf[256];

	snprintf(cg->dir, sizeof(cg->dir), "/tmp/hz-cgroup-XXXXXX");
	if (!mkdtemp(cg->dir))
		return "mkdtemp";
	if (mount("none", cg->dir, "cgroup2", 0, NULL))
		return "mount cgroup2";
	cg->mounted = true;
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", cg->dir);
	if (util_read_file(path, buf, sizeof(buf)) < 0)
		return "read cgroup.subtree_control";
	if (!strstr(buf, "memory")) {
		if (util_write_file(path, "+memory"))
			return "enable the memory controller";
		cg->enabled = true;
	}
	snprintf(cg->group, sizeof(cg->group), "%s/mmprobe-huge-zero", cg->dir);
	if (mkdir(cg->group, 0755))
		return "mkdir";
	snprintf(path, sizeof(path), "%s/memory.max", cg->group);
	if (util_write_file(path, "1M"))
		return "memory.max";
	/* No swap: the limit cannot be met by swapping the child out. */
	snprintf(path, sizeof(path), "%s/memory.swap.max", cg->group);
	util_write_file(path, "0");
	return NULL;
}

static void hz_cgroup_remove(struct hz_cgroup *cg)
{
	char path[160];

	if (cg->group[0])
		rmdir(cg->group);
	if (cg->enabled) {
		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", cg->dir);
		util_write_file(path, "-memory");
	}
	if (cg->mounted)
		umount(cg->dir);
	rmdir(cg->dir);
}

/*
 * The THP cannot be charged: a child in a memory cgroup limited to 1 MiB
 * (and no swap) writes. Where the write tries a THP, the charge fails
 * (thp_fault_fallback_charge +1) and the PMD is split as before; elsewhere
 * no THP is tried. The cgroup2 hierarchy is mounted privately here, and
 * everything made is removed again.
 */
TEST_F_TIMEOUT(huge_zero, write_when_charge_fails, HZ_TIMEOUT)
{
	struct hz_cgroup cg = { 0 };
	struct hz_charge_result r;
	char procs[128];
	int pipefd[2], status;
	const char *failed;
	pid_t child;

	HZ_READY();
	failed = hz_cgroup_make(&cg);
	if (failed) {
		int err = errno;

		hz_cgroup_remove(&cg);
		if (!cg.mounted || !cg.group[0])
			SKIP(return, "no memory cgroup: %s: %s", failed, strerror(err));
		ASSERT_TRUE(false) TH_LOG("%s: %s", failed, strerror(err));
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg.group);
	memset(&r, 0, sizeof(r));
	r.step = -1;
	child = -1;
	if (!pipe(pipefd)) {
		child = fork();
		if (!child) {
			close(pipefd[0]);
			hz_charge_child(self, procs, pipefd[1]);
		}
		close(pipefd[1]);
		if (child > 0) {
			EXPECT_EQ((ssize_t)sizeof(r), read(pipefd[0], &r, sizeof(r)));
			EXPECT_EQ(child, waitpid(child, &status, 0));
		}
		close(pipefd[0]);
	}
	hz_cgroup_remove(&cg);
	ASSERT_LT(0, child);

	ASSERT_EQ(0, r.step) TH_LOG("child failed at step %d: %s", r.step, strerror(r.err));
	TH_LOG("thp_fault_alloc +%lld (its cgroup +%lld) thp_split_pmd +%lld fallback_charge +%lld",
	       r.d.alloc, r.memcg_alloc, r.d.split, r.d.charge);
	/*
	 * No THP in the child's own cgroup (memory.stat has thp_fault_alloc
	 * since 5.8); the system-wide counters rose by at least the split and,
	 * where a THP was tried, its failed charge. Whether a kernel without
	 * huge_zero_wp_thp tried none is not asserted: another process's
	 * failed charge would move the counter just the same.
	 */
	if (r.memcg_alloc >= 0)
		EXPECT_EQ(0, r.memcg_alloc);
	EXPECT_LE(1, r.d.split);
	EXPECT_LE(self->wp_thp ? 1 : 0, r.d.charge);
	EXPECT_LE(self->wp_thp ? 1 : 0, r.d.fallback);
	EXPECT_TRUE(r.written_flags & KPF(KPF_ANON));
	EXPECT_FALSE(r.written_flags & (KPF(KPF_THP) | KPF(KPF_ZERO_PAGE)));
	EXPECT_EQ(0, r.others_not_zero);
	EXPECT_EQ(0, r.bad_bytes);
}

/*
 * GUP with FOLL_WRITE: a write through /proc/self/mem faults the page in
 * through GUP (faultin_page()) and goes through the same write fault; the
 * store lands in the page the mapping then shows.
 */
TEST_F_TIMEOUT(huge_zero, gup_write_proc_mem, HZ_TIMEOUT)
{
	const size_t off = 17 * self->pagesize + 3;
	struct notify_log log = { 0 };
	struct hz_stat before, d;
	char byte = 0x42, *mem;
	int fd;

	HZ_READY();
	mem = hz_read_faulted(_metadata, self, PROT_READ | PROT_WRITE);
	if (!mem)
		return;
	fd = open("/proc/self/mem", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, notify_clear(self->fd));
	hz_stat_read(&before);
	EXPECT_EQ(1, pwrite(fd, &byte, 1, (uintptr_t)mem + off));
	hz_stat_delta(&d, &before);
	close(fd);
	ASSERT_LE(0, notify_read(self->fd, &log));
	EXPECT_EQ(0x42, mem[off]);
	hz_check_outcome(_metadata, self, 0, mem, off, self->wp_thp, true, &d, &log);
	notify_log_free(&log);
}

/*
 * GUP with FOLL_FORCE | FOLL_WRITE on a read-only private mapping (a
 * debugger's PTRACE_POKEDATA): the same fault, breaking COW into an
 * exclusive anon page or THP that stays mapped read-only. The tracee is a
 * child; its pagemap is read from here while it is stopped.
 */
TEST_F_TIMEOUT(huge_zero, gup_force_write_read_only, HZ_TIMEOUT)
{
	const size_t off = 40 * self->pagesize;
	int sync[2], status, ok = 1;
	struct hz_stat before, d;
	pid_t child;
	char *mem;
	long word;

	HZ_READY();
	ASSERT_EQ(0, pipe(sync));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		close(sync[0]);
		mem = hz_map(self, PROT_READ);
		if (!mem || *(volatile char *)mem ||
		    !hz_huge_zero_pfn(0, mem, self->pmd, self->pagesize))
			ok = 0;
		if (write(sync[1], &ok, sizeof(ok)) != sizeof(ok) ||
		    write(sync[1], &mem, sizeof(mem)) != sizeof(mem) ||
		    ptrace(PTRACE_TRACEME, 0, 0, 0))
			_exit(1);
		raise(SIGSTOP);
		_exit(0);
	}
	close(sync[1]);
	ASSERT_EQ(sizeof(ok), read(sync[0], &ok, sizeof(ok)));
	ASSERT_EQ(sizeof(mem), read(sync[0], &mem, sizeof(mem)));
	close(sync[0]);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFSTOPPED(status));
	if (!ok) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		ASSERT_TRUE(ok) TH_LOG("the child's read fault did not map the huge zero page");
	}

	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, child, mem + off, 0);
	ASSERT_EQ(0, errno);
	hz_stat_read(&before);
	ASSERT_EQ(0, ptrace(PTRACE_POKEDATA, child, mem + off, (void *)(word | 0x42)));
	hz_stat_delta(&d, &before);
	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, child, mem + off, 0);
	EXPECT_EQ(0, errno);
	EXPECT_EQ(0x42, word);
	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, child, mem + off + self->pagesize, 0);
	EXPECT_EQ(0, errno);
	EXPECT_EQ(0, word);
	TH_LOG("thp_fault_alloc +%lld thp_split_pmd +%lld", d.alloc, d.split);
	hz_check_outcome(_metadata, self, child, mem, off, self->wp_thp, false, &d, NULL);
	kill(child, SIGKILL);
	EXPECT_EQ(child, waitpid(child, &status, 0));
}

/*
 * GUP read-only: vmsplice() takes references on huge zero subpages into a
 * pipe. A store to the region then takes the write path as ever, and the
 * pipe still reads zeros: the reference never makes the zero page writable.
 */
TEST_F_TIMEOUT(huge_zero, gup_read_only_vmsplice, HZ_TIMEOUT)
{
	const size_t len = 64 * 1024, off = 5;
	struct notify_log log = { 0 };
	static char buf[64 * 1024];
	struct hz_stat before, d;
	struct iovec iov;
	int pipefd[2];
	size_t i, nz;
	char *mem;

	HZ_READY();
	mem = hz_read_faulted(_metadata, self, PROT_READ | PROT_WRITE);
	if (!mem)
		return;
	ASSERT_EQ(0, pipe(pipefd));
	iov.iov_base = mem;
	iov.iov_len = len;
	ASSERT_EQ((ssize_t)len, vmsplice(pipefd[1], &iov, 1, 0));
	ASSERT_EQ(0, notify_clear(self->fd));
	hz_stat_read(&before);
	mem[off] = 0x42;
	hz_stat_delta(&d, &before);
	ASSERT_LE(0, notify_read(self->fd, &log));
	hz_check_outcome(_metadata, self, 0, mem, off, self->wp_thp, true, &d, &log);
	ASSERT_EQ((ssize_t)len, read(pipefd[0], buf, len));
	for (i = 0, nz = 0; i < len; i++)
		nz += buf[i] != 0;
	EXPECT_EQ(0, nz);
	close(pipefd[0]);
	close(pipefd[1]);
	notify_log_free(&log);
}

/*
 * A pin of one page over the huge zero page, then a store through the
 * mapping; the tracer and vmstat cover both. write: FOLL_WRITE, which faults
 * like the store would. Without it, a FOLL_LONGTERM pin must not hold the
 * shared huge zero page: since 6.2 (longterm_ro_unshare) it unshares first,
 * through the same fault. Either way the pin and the mapping then share one
 * new exclusive anon page, and the store shows in what the pin reads. On 6.1
 * a R/O long-term pin holds the huge zero page itself; the store then
 * replaces it in the page table and the pin keeps reading zeros.
 */
static void hz_pin_case(struct __test_metadata *_metadata, HZ_DATA *self,
			int method, uint64_t flags)
{
	const bool write = flags & MMPROBE_PIN_WRITE;
	const bool shares = write || self->ro_unshare == 1;
	const size_t off = 33 * self->pagesize + 21;
	char *page, buf[UTIL_PAGE_SIZE_MAX] = { 0 };
	struct notify_log log = { 0 };
	struct mmprobe_pin_page pin;
	struct hz_stat before, d;
	uint64_t handle, zero;
	int fd;
	char *mem;

	ASSERT_GE(sizeof(buf), self->pagesize);
	mem = hz_read_faulted(_metadata, self, PROT_READ | PROT_WRITE);
	if (!mem)
		return;
	page = mem + off / self->pagesize * self->pagesize;
	zero = hz_huge_zero_pfn(0, mem, self->pmd, self->pagesize);
	fd = pin_util_open();
	if (fd == -ENOENT)
		SKIP(return, "no %s: mmprobe without the pin file", PIN_PATH);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", PIN_PATH, strerror(-fd));

	ASSERT_EQ(0, notify_clear(self->fd));
	hz_stat_read(&before);
	ASSERT_EQ(1, pin_util_take(fd, page, 1, method, flags, &handle));
	ASSERT_EQ(0, pin_util_info(fd, handle, 0, 1, &pin, false));
	mem[off] = 0x42;
	hz_stat_delta(&d, &before);
	ASSERT_LE(0, notify_read(self->fd, &log));
	ASSERT_EQ(0, pin_util_read(fd, handle, 0, 1, buf));
	TH_LOG("pin %s%s: kind %llu, thp_fault_alloc +%lld thp_split_pmd +%lld",
	       write ? "write" : "read-only", flags & MMPROBE_PIN_LONGTERM ? " longterm" : "",
	       (unsigned long long)pin.kind, d.alloc, d.split);

	if (shares) {
		/* The pin is on the new page the mapping shows, and sees the store. */
		EXPECT_EQ(MMPROBE_PIN_KIND_ANON, pin.kind);
		EXPECT_EQ(1, pin.exclusive);
		EXPECT_EQ(1, pin.pinned);
		EXPECT_EQ(hz_pfn(util_pagemap(page)), pin.pfn);
		EXPECT_EQ(0x42, buf[off % self->pagesize]);
	} else {
		/* 6.1: the pin holds the huge zero page, which the store replaced. */
		EXPECT_EQ(MMPROBE_PIN_KIND_HUGE_ZERO, pin.kind);
		EXPECT_EQ(zero + off / self->pagesize, pin.pfn);
		EXPECT_EQ(0, buf[off % self->pagesize]);
	}
	hz_check_outcome(_metadata, self, 0, mem, off, self->wp_thp, true, &d, &log);
	EXPECT_EQ(1, pin_util_unpin_all(fd));
	close(fd);
	notify_log_free(&log);
}

/* FOLL_WRITE pins, short- and long-term, slow and fast (which falls back). */
TEST_F_TIMEOUT(huge_zero, pin_write, HZ_TIMEOUT)
{
	HZ_READY();
	hz_pin_case(_metadata, self, MMPROBE_PIN_METHOD_PUP, MMPROBE_PIN_WRITE);
}

TEST_F_TIMEOUT(huge_zero, pin_write_fast, HZ_TIMEOUT)
{
	HZ_READY();
	hz_pin_case(_metadata, self, MMPROBE_PIN_METHOD_PUP_FAST, MMPROBE_PIN_WRITE);
}

TEST_F_TIMEOUT(huge_zero, pin_write_longterm, HZ_TIMEOUT)
{
	HZ_READY();
	hz_pin_case(_metadata, self, MMPROBE_PIN_METHOD_PUP,
		    MMPROBE_PIN_WRITE | MMPROBE_PIN_LONGTERM);
}

/* A R/O long-term pin must not leave the shared zero page pinned (6.2+). */
TEST_F_TIMEOUT(huge_zero, pin_read_only_longterm, HZ_TIMEOUT)
{
	HZ_READY();
	hz_pin_case(_metadata, self, MMPROBE_PIN_METHOD_PUP, MMPROBE_PIN_LONGTERM);
}

/*
 * Entries of [mem, mem + pmd) that are writable with uffd-wp set: a write
 * through one would never reach userfaultfd. Must always be 0.
 */
static int hz_writable_uffd_wp(HZ_DATA *self, const char *mem)
{
	int i, n, bad = 0, max = self->pmd / self->pagesize;
	struct inspect_entry *e = calloc(max, sizeof(*e));

	n = e ? inspect_range(0, (uintptr_t)mem, (uintptr_t)mem + self->pmd, e, max) : -1;
	for (i = 0; i < n && n <= max; i++)
		bad += e[i].write == 1 && e[i].uffd_wp == 1;
	free(e);
	return n < 0 || n > max ? -1 : bad;
}

/* pagemap's uffd-wp bit on each page of [mem, mem + pmd). */
static size_t hz_uffd_wp_pages(HZ_DATA *self, const char *mem)
{
	size_t i, n = 0;

	for (i = 0; i < self->pmd / self->pagesize; i++)
		n += !!(util_pagemap(mem + i * self->pagesize) & PM_UFFD_WP);
	return n;
}

/* A userfaultfd registered for write-protect over mem, all of it protected. */
static int hz_uffd_wp(struct __test_metadata *_metadata, HZ_DATA *self,
		      char *mem, bool async)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { (uintptr_t)mem, self->pmd },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = { (uintptr_t)mem, self->pmd },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};
	int uffd;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		return -errno;
	if (async)
		api.features = UFFD_FEATURE_WP_ASYNC;
	if (ioctl(uffd, UFFDIO_API, &api) || ioctl(uffd, UFFDIO_REGISTER, &reg) ||
	    ioctl(uffd, UFFDIO_WRITEPROTECT, &wp)) {
		int err = -errno;

		close(uffd);
		return err;
	}
	return uffd;
}

/*
 * A read-faulted region under a userfaultfd that write-protects all of it:
 * still the huge zero PMD, read-only, uffd-wp on the PMD (inspect) and on
 * every page (pagemap). Returns the uffd, or -1 with the test skipped (no
 * uffd-wp here) or failed.
 */
static int hz_uffd_region(struct __test_metadata *_metadata,
			  HZ_DATA *self, bool async, char **memp)
{
	struct inspect_entry e;
	char *mem;
	int uffd;

	mem = hz_read_faulted(_metadata, self, PROT_READ | PROT_WRITE);
	if (!mem)
		return -1;
	uffd = hz_uffd_wp(_metadata, self, mem, async);
	if (!async && (uffd == -EPERM || uffd == -ENOSYS || uffd == -EINVAL))
		SKIP(return -1, "userfaultfd write-protect unavailable: %s", strerror(-uffd));
	if (uffd < 0) {
		EXPECT_LE(0, uffd) TH_LOG("userfaultfd: %s", strerror(-uffd));
		return -1;
	}
	EXPECT_EQ(self->pmd / self->pagesize, hz_uffd_wp_pages(self, mem));
	EXPECT_NE(0, hz_huge_zero_pfn(0, mem, self->pmd, self->pagesize));
	EXPECT_EQ(1, inspect_one(mem, &e));
	EXPECT_EQ(INSPECT_LEVEL_PMD, e.level);
	EXPECT_STREQ("huge_zero", e.kind);
	EXPECT_EQ(1, e.uffd_wp);
	EXPECT_EQ(0, e.write);
	EXPECT_EQ(0, hz_writable_uffd_wp(self, mem));
	*memp = mem;
	return uffd;
}

struct hz_writer {
	char *addr;
	pthread_t thread;
};

static void *hz_writer_fn(void *arg)
{
	struct hz_writer *w = arg;

	*w->addr = 0x42;
	return NULL;
}

/*
 * The sync-mode protocol for one write at mem + off: a thread writes, the
 * fault must arrive as a WP message for that address (the PMD was never
 * writable with uffd-wp set), and unprotecting [ustart, ustart + ulen) with
 * a wakeup lets the write finish.
 */
static void hz_uffd_sync_write(struct __test_metadata *_metadata, int uffd, char *mem,
			       size_t off, uintptr_t ustart, size_t ulen)
{
	struct uffdio_writeprotect un = { .range = { ustart, ulen }, .mode = 0 };
	struct hz_writer w = { .addr = mem + off };
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;

	ASSERT_EQ(0, pthread_create(&w.thread, NULL, hz_writer_fn, &w));
	EXPECT_EQ(1, poll(&pfd, 1, 10000));
	EXPECT_EQ((ssize_t)sizeof(msg), read(uffd, &msg, sizeof(msg)));
	EXPECT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	EXPECT_TRUE(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP);
	EXPECT_TRUE(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE);
	EXPECT_EQ(((uintptr_t)mem + off) & ~(uintptr_t)(getpagesize() - 1),
		  msg.arg.pagefault.address & ~(uintptr_t)(getpagesize() - 1));
	/* Still protected and still the huge zero page while the thread waits. */
	EXPECT_EQ(0, mem[off]);
	EXPECT_EQ(0, ioctl(uffd, UFFDIO_WRITEPROTECT, &un));
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	EXPECT_EQ(0x42, mem[off]);
}

/*
 * userfaultfd-wp, sync, the whole PMD unprotected: protecting keeps the huge
 * zero PMD (every page uffd-wp), the write traps, unprotecting clears the bit
 * on the PMD, and the retried write is the plain write fault: THP or split.
 */
TEST_F_TIMEOUT(huge_zero, uffd_wp_sync_unprotect_pmd, HZ_TIMEOUT)
{
	const size_t off = 100 * self->pagesize + 9;
	struct hz_stat before, d;
	char *mem;
	int uffd;

	HZ_READY();
	uffd = hz_uffd_region(_metadata, self, false, &mem);
	if (uffd < 0)
		return;
	hz_stat_read(&before);
	hz_uffd_sync_write(_metadata, uffd, mem, off, (uintptr_t)mem, self->pmd);
	hz_stat_delta(&d, &before);
	TH_LOG("thp_fault_alloc +%lld thp_split_pmd +%lld", d.alloc, d.split);
	EXPECT_EQ(0, hz_uffd_wp_pages(self, mem));
	EXPECT_EQ(0, hz_writable_uffd_wp(self, mem));
	hz_check_outcome(_metadata, self, 0, mem, off, self->wp_thp, true, &d, NULL);
	close(uffd);
}

/*
 * userfaultfd-wp, sync, only the faulting page unprotected: that splits the
 * PMD (each zero PTE keeps uffd-wp), the retried write COWs the one page.
 * The other 511 stay protected: a write to another page traps again.
 */
TEST_F_TIMEOUT(huge_zero, uffd_wp_sync_unprotect_page, HZ_TIMEOUT)
{
	const size_t off = 100 * self->pagesize + 9, off2 = 200 * self->pagesize;
	struct hz_stat before, d;
	char *mem;
	int uffd;

	HZ_READY();
	uffd = hz_uffd_region(_metadata, self, false, &mem);
	if (uffd < 0)
		return;
	hz_stat_read(&before);
	hz_uffd_sync_write(_metadata, uffd, mem, off,
			   (uintptr_t)mem + off / self->pagesize * self->pagesize,
			   self->pagesize);
	hz_stat_delta(&d, &before);
	TH_LOG("thp_fault_alloc +%lld thp_split_pmd +%lld", d.alloc, d.split);
	EXPECT_EQ(self->pmd / self->pagesize - 1, hz_uffd_wp_pages(self, mem));
	EXPECT_FALSE(util_pagemap(mem + off) & PM_UFFD_WP);
	EXPECT_EQ(0, hz_writable_uffd_wp(self, mem));
	hz_check_outcome(_metadata, self, 0, mem, off, false, true, &d, NULL);

	/* Another page: still protected, still traps. */
	hz_uffd_sync_write(_metadata, uffd, mem, off2, (uintptr_t)mem + off2,
			   self->pagesize);
	EXPECT_EQ(self->pmd / self->pagesize - 2, hz_uffd_wp_pages(self, mem));
	EXPECT_EQ(0, hz_writable_uffd_wp(self, mem));
	close(uffd);
}

/*
 * userfaultfd-wp, async (UFFD_FEATURE_WP_ASYNC): the kernel resolves the
 * fault itself. wp_huge_pmd() splits the PMD for it on every kernel, even
 * where a plain write would install a THP, and the page written loses
 * uffd-wp while the other 511 keep it.
 */
TEST_F_TIMEOUT(huge_zero, uffd_wp_async, HZ_TIMEOUT)
{
	const size_t off = 300 * self->pagesize + 1;
	struct hz_stat before, d;
	char *mem;
	int uffd;

	HZ_READY();
	if (self->uffd_wp_async != 1)
		SKIP(return, "no UFFD_FEATURE_WP_ASYNC on this kernel (UFFDIO_API refuses it)");
	uffd = hz_uffd_region(_metadata, self, true, &mem);
	if (uffd < 0)
		return;
	hz_stat_read(&before);
	mem[off] = 0x42;
	hz_stat_delta(&d, &before);
	TH_LOG("thp_fault_alloc +%lld thp_split_pmd +%lld", d.alloc, d.split);
	EXPECT_EQ(self->pmd / self->pagesize - 1, hz_uffd_wp_pages(self, mem));
	EXPECT_FALSE(util_pagemap(mem + off) & PM_UFFD_WP);
	EXPECT_EQ(0, hz_writable_uffd_wp(self, mem));
	hz_check_outcome(_metadata, self, 0, mem, off, false, true, &d, NULL);
	close(uffd);
}

/* Parent/child handshake of the fork cases: one byte each way. */
static int hz_sync_send(int fd, char c)
{
	return write(fd, &c, 1) == 1 ? 0 : -1;
}

static int hz_sync_wait(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 ? c : -1;
}

/*
 * Fork after the read fault, then one side writes, then the other: each
 * side's store stays its own. The parent checks the child through its
 * pagemap; the child checks its own memory and reports by exit status.
 * Fork itself write-protects the parent's anon ranges (protection_page).
 */
static void hz_fork_case(struct __test_metadata *_metadata,
			 HZ_DATA *self, bool child_first)
{
	const size_t off_c = 11 * self->pagesize + 1, off_p = 400 * self->pagesize + 2;
	int p2c[2], c2p[2], status, fail = 0;
	struct notify_log log = { 0 };
	uint64_t zero, pm;
	uintptr_t s;
	pid_t child;
	char *mem;

	mem = hz_read_faulted(_metadata, self, PROT_READ | PROT_WRITE);
	if (!mem)
		return;
	s = (uintptr_t)mem;
	zero = hz_huge_zero_pfn(0, mem, self->pmd, self->pagesize);
	ASSERT_EQ(0, pipe(p2c));
	ASSERT_EQ(0, pipe(c2p));
	ASSERT_EQ(0, notify_clear(self->fd));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		/* Child: 'w' write, 'c' check; exit status: failed checks */
		close(p2c[1]);
		close(c2p[0]);
		while ((fail = hz_sync_wait(p2c[0])) > 0) {
			if (fail == 'w') {
				fail = 0;
				mem[off_c] = 'C';
			} else {
				/* the parent's byte never shows here */
				fail = mem[off_p] != 0;
				if (!child_first)
					fail += mem[off_c] != 0 ||
						hz_huge_zero_pfn(0, mem, self->pmd,
								 self->pagesize) != zero;
				else
					fail += mem[off_c] != 'C';
			}
			if (fail || hz_sync_send(c2p[1], 'k'))
				_exit(10 + fail);
		}
		_exit(0);
	}
	close(p2c[0]);
	close(c2p[1]);

	ASSERT_LE(0, notify_read(self->fd, &log));
	EXPECT_LE(1, notify_count(&log, "invalidate_range_start", "protection_page",
				  s, s + self->pmd)) notify_dump(&log, s, s + self->pmd);
	/* The child maps the same huge zero page. */
	EXPECT_EQ(zero, hz_huge_zero_pfn(child, mem, self->pmd, self->pagesize));

	if (child_first) {
		EXPECT_EQ(0, hz_sync_send(p2c[1], 'w'));
		EXPECT_EQ('k', hz_sync_wait(c2p[0]));
		/* The child's store made it a page of its own; nothing here moved. */
		EXPECT_EQ(zero, hz_huge_zero_pfn(0, mem, self->pmd, self->pagesize));
		pm = hz_pagemap_of(child, mem + off_c);
		EXPECT_TRUE(pm & PM_PRESENT);
		EXPECT_NE(zero + off_c / self->pagesize, hz_pfn(pm));
		hz_check_outcome(_metadata, self, child, mem, off_c, self->wp_thp, true,
				 NULL, NULL);
		EXPECT_EQ(0, mem[off_c]);
		mem[off_p] = 'P';
		EXPECT_EQ(0, hz_sync_send(p2c[1], 'c'));
		EXPECT_EQ('k', hz_sync_wait(c2p[0]));
	} else {
		mem[off_p] = 'P';
		EXPECT_EQ(0, hz_sync_send(p2c[1], 'c'));
		EXPECT_EQ('k', hz_sync_wait(c2p[0]));
		EXPECT_EQ(0, hz_sync_send(p2c[1], 'w'));
		EXPECT_EQ('k', hz_sync_wait(c2p[0]));
		EXPECT_EQ(0, mem[off_c]);
		pm = hz_pagemap_of(child, mem + off_c);
		EXPECT_NE(hz_pfn(util_pagemap(mem + off_c)), hz_pfn(pm));
	}
	hz_check_outcome(_metadata, self, 0, mem, off_p, self->wp_thp, true, NULL, NULL);
	EXPECT_EQ('P', mem[off_p]);
	close(p2c[1]);
	EXPECT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("the child saw %d wrong things",
						 WEXITSTATUS(status) - 10);
	close(c2p[0]);
	notify_log_free(&log);
}

TEST_F_TIMEOUT(huge_zero, fork_child_writes_first, HZ_TIMEOUT)
{
	HZ_READY();
	hz_fork_case(_metadata, self, true);
}

TEST_F_TIMEOUT(huge_zero, fork_parent_writes_first, HZ_TIMEOUT)
{
	HZ_READY();
	hz_fork_case(_metadata, self, false);
}

TEST_HARNESS_MAIN
