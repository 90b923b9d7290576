// SPDX-License-Identifier: GPL-2.0
/*
 * hugetlb_gup: pinning a range of hugetlb pages returns, for every base
 * page of the range, the right subpage of the right huge page.
 *
 * GUP hands out a hugetlb page as the subpages the range covers: GUP-fast
 * from gup_huge_pmd()/gup_huge_pud() (6.1) or gup_fast_pmd_leaf()/
 * gup_fast_pud_leaf() (6.12, 7.3), the slow path from follow_hugetlb_page()
 * (6.1) or follow_page_mask()'s follow_huge_pmd()/follow_huge_pud() (6.12,
 * 7.3, since "mm/gup: Unify hugetlb, speed up thp"). Each computes
 * head + ((addr & ~huge_page_mask) >> PAGE_SHIFT), fills pages[] with the
 * subpages that follow, and adds their references or pins to the folio in
 * one go. A range that starts and ends inside huge pages and spans several
 * catches an off-by-one in that arithmetic, a wrong head at a huge page
 * boundary, and a count that does not match the pages returned.
 *
 * For huge pages of a PMD's size and of a PUD's (util_pmd_span() and
 * util_pud_span(): 2 MiB and 1 GiB with 4 KiB base pages, 32 MiB and
 * 64 GiB with arm64's 16 KiB), mapped at that level, and for the sizes
 * arm64 maps with contiguous PTEs or PMDs (64 KiB and 32 MiB with 4 KiB
 * pages, 2 MiB and 1 GiB with 16 KiB; each entry maps its part), with
 * pin_user_pages() and pin_user_pages_fast(), with and without FOLL_LONGTERM
 * (through mmprobe's pin probe):
 *   - every page is head + index, head being the PFN that /proc/self/pagemap
 *     gives for the huge page's first address, and equal to pagemap's PFN of
 *     that very address;
 *   - the pin probe describes it as hugetlb, of the huge page's order, mapped
 *     at the PTE, PMD or PUD level, and pinned;
 *   - each huge page's refcount (inspect) rose by the pages pinned in it;
 *   - /proc/vmstat nr_foll_pin_acquired rose by at least the pages pinned,
 *     nr_foll_pin_released by at least the same once they are unpinned, in
 *     two halves, and the system-wide balance of pins moved by exactly the
 *     pages pinned and unpinned at each step (other processes' pins come
 *     and go: robust_pin_window_check()).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "inspect_util.h"
#include "mmprobe_util.h"
#include "pin_util.h"
#include "robust_util.h"

#define KPF_COMPOUND_HEAD	15
#define KPF_HUGE		17

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT		26
#endif

#define MAX_HUGE		4
#define HUGE_BIG		(1UL << 30)	/* reserved one or two at a time */

FIXTURE(hugetlb_gup) {
	bool ready;		/* setup done (6.1's harness runs a test it skipped) */
	int fd;			/* pin session */
	char *mem;
	size_t len;
	int nr_huge;		/* huge pages mapped */
	uint64_t head[MAX_HUGE];
	char *start;		/* the range pinned: inside the first huge page */
	size_t nr;		/* pages in the range */
	struct mmprobe_pin_page *info;
};

FIXTURE_VARIANT(hugetlb_gup) {
	int level;		/* MMPROBE_PIN_LEVEL_*: the entries that map it */
	bool cont;		/* several of them (arm64's contiguous bit), else one */
	int method;		/* MMPROBE_PIN_METHOD_PUP or _PUP_FAST */
	bool longterm;
};

FIXTURE_VARIANT_ADD(hugetlb_gup, pmd_pin_user_pages) {
	.level = MMPROBE_PIN_LEVEL_PMD, .method = MMPROBE_PIN_METHOD_PUP,
};

FIXTURE_VARIANT_ADD(hugetlb_gup, pmd_pin_user_pages_longterm) {
	.level = MMPROBE_PIN_LEVEL_PMD, .method = MMPROBE_PIN_METHOD_PUP, .longterm = true,
};

FIXTURE_VARIANT_ADD(hugetlb_gup, pmd_pin_user_pages_fast) {
	.level = MMPROBE_PIN_LEVEL_PMD, .method = MMPROBE_PIN_METHOD_PUP_FAST,
};

FIXTURE_VARIANT_ADD(hugetlb_gup, pmd_pin_user_pages_fast_longterm) {
	.level = MMPROBE_PIN_LEVEL_PMD, .method = MMPROBE_PIN_METHOD_PUP_FAST, .longterm = true,
};

FIXTURE_VARIANT_ADD(hugetlb_gup, pud_pin_user_pages) {
	.level = MMPROBE_PIN_LEVEL_PUD, .method = MMPROBE_PIN_METHOD_PUP,
};

FIXTURE_VARIANT_ADD(hugetlb_gup, pud_pin_user_pages_longterm) {
	.level = MMPROBE_PIN_LEVEL_PUD, .method = MMPROBE_PIN_METHOD_PUP, .longterm = true,
};

FIXTURE_VARIANT_ADD(hugetlb_gup, pud_pin_user_pages_fast) {
	.level = MMPROBE_PIN_LEVEL_PUD, .method = MMPROBE_PIN_METHOD_PUP_FAST,
};

FIXTURE_VARIANT_ADD(hugetlb_gup, pud_pin_user_pages_fast_longterm) {
	.level = MMPROBE_PIN_LEVEL_PUD, .method = MMPROBE_PIN_METHOD_PUP_FAST, .longterm = true,
};

FIXTURE_VARIANT_ADD(hugetlb_gup, cont_pte_pin_user_pages) {
	.level = MMPROBE_PIN_LEVEL_PTE, .cont = true, .method = MMPROBE_PIN_METHOD_PUP,
};

FIXTURE_VARIANT_ADD(hugetlb_gup, cont_pte_pin_user_pages_fast_longterm) {
	.level = MMPROBE_PIN_LEVEL_PTE, .cont = true, .method = MMPROBE_PIN_METHOD_PUP_FAST,
	.longterm = true,
};

FIXTURE_VARIANT_ADD(hugetlb_gup, cont_pmd_pin_user_pages) {
	.level = MMPROBE_PIN_LEVEL_PMD, .cont = true, .method = MMPROBE_PIN_METHOD_PUP,
};

FIXTURE_VARIANT_ADD(hugetlb_gup, cont_pmd_pin_user_pages_fast_longterm) {
	.level = MMPROBE_PIN_LEVEL_PMD, .cont = true, .method = MMPROBE_PIN_METHOD_PUP_FAST,
	.longterm = true,
};

static long hugetlb_free(size_t huge)
{
	char path[96], buf[32];

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%zukB/free_hugepages",
		 huge / 1024);
	if (util_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/* The refcount of huge page k, as inspect reads it under the page table lock. */
static int huge_refcount(const char *huge_page)
{
	struct inspect_entry e;

	if (inspect_one(huge_page, &e) != 1)
		return -1;
	return e.refcount;
}

/*
 * The huge page size of a variant: what one entry of its level maps; for
 * contiguous entries the hugetlb size of the kernel's between that and
 * the next level (/sys/kernel/mm/hugepages), 0 when it has none.
 */
static size_t huge_size(int level, bool cont)
{
	size_t lo = level == MMPROBE_PIN_LEVEL_PTE ? getpagesize() : util_pmd_span();
	size_t hi = level == MMPROBE_PIN_LEVEL_PTE ? util_pmd_span() : util_pud_span();
	size_t kb, found = 0;
	struct dirent *d;
	DIR *dir;

	if (!cont)
		return level == MMPROBE_PIN_LEVEL_PUD ? util_pud_span() : util_pmd_span();
	dir = opendir("/sys/kernel/mm/hugepages");
	while (dir && (d = readdir(dir)))
		if (sscanf(d->d_name, "hugepages-%zukB", &kb) == 1 && kb * 1024 > lo &&
		    kb * 1024 < hi)
			found = kb * 1024;
	if (dir)
		closedir(dir);
	return found;
}

FIXTURE_SETUP(hugetlb_gup)
{
	size_t pg = getpagesize(), huge = huge_size(variant->level, variant->cont);
	size_t mid, off_start, off_end;
	const char *lvl = variant->level == MMPROBE_PIN_LEVEL_PTE ? "PTE" :
			  variant->level == MMPROBE_PIN_LEVEL_PMD ? "PMD" : "PUD";
	bool big = huge >= HUGE_BIG;
	int shift = huge ? __builtin_ctzl(huge) : 0, k;
	long nfree = huge ? hugetlb_free(huge) : -1;

	self->fd = -1;
	self->mem = MAP_FAILED;
	if (!huge)
		SKIP(return,
		     "no hugetlb size in /sys/kernel/mm/hugepages between a %s's and the next level's: no contiguous %ss (arm64 has them)",
		     lvl, lvl);
	if (nfree < 0)
		SKIP(return,
		     "no /sys/kernel/mm/hugepages/hugepages-%zukB: this kernel has no hugetlb pages of a %s's size",
		     huge / 1024, lvl);
	if (big)
		self->nr_huge = nfree >= 2 ? 2 : 1;
	else
		self->nr_huge = MAX_HUGE;
	if (nfree < self->nr_huge)
		SKIP(return,
		     "needs %d free hugetlb pages of %zu kB, has %ld: reserve them (hugepagesz=%zuK hugepages=N on the kernel command line)",
		     self->nr_huge, huge / 1024, nfree, huge / 1024);
	if (!inspect_available())
		SKIP(return, "no %s: load mmprobe", INSPECT_PATH);
	self->fd = pin_util_open();
	if (self->fd < 0)
		SKIP(return, "%s: %s: load mmprobe", PIN_PATH, strerror(-self->fd));

	self->len = self->nr_huge * huge;
	self->mem = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (shift << MAP_HUGE_SHIFT),
			 -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem) TH_LOG("mmap %d hugetlb pages of %zu kB: %s",
						self->nr_huge, huge / 1024, strerror(errno));
	ASSERT_EQ(0, (uintptr_t)self->mem & (huge - 1));
	for (k = 0; k < self->nr_huge; k++) {
		char *h = self->mem + k * huge;
		uint64_t pm, kpf;

		h[0] = 1;
		h[huge - 1] = 1;
		pm = util_pagemap(h);
		ASSERT_TRUE(pm & PM_PRESENT);
		self->head[k] = pm & PM_PFN_MASK;
		ASSERT_NE(0, self->head[k]) TH_LOG("pagemap shows no PFN: needs CAP_SYS_ADMIN");
		ASSERT_EQ(0, self->head[k] & (huge / pg - 1));
		kpf = util_kpageflags(self->head[k]);
		ASSERT_TRUE(kpf & (1ULL << KPF_HUGE)) TH_LOG("kpageflags %#llx",
							     (unsigned long long)kpf);
		ASSERT_TRUE(kpf & (1ULL << KPF_COMPOUND_HEAD));
	}

	/*
	 * Start 3 pages past the middle of the first huge page, end 5 pages
	 * past the middle of the last. Pages of HUGE_BIG and more: 2 PMDs
	 * either side of the boundary of the two pages (or of the middle of
	 * the only one), so that the range crosses PMD-sized steps inside a
	 * PUD page too.
	 */
	if (big) {
		mid = self->nr_huge == 2 ? huge : huge / 2;
		off_start = mid - 2 * util_pmd_span() + 3 * pg;
		off_end = mid + 2 * util_pmd_span() + 5 * pg;
	} else {
		off_start = huge / 2 + 3 * pg;
		off_end = (self->nr_huge - 1) * huge + huge / 2 + 5 * pg;
	}
	self->start = self->mem + off_start;
	self->nr = (off_end - off_start) / pg;
	self->info = calloc(self->nr, sizeof(*self->info));
	ASSERT_NE(NULL, self->info);
	self->ready = true;
}

FIXTURE_TEARDOWN(hugetlb_gup)
{
	if (self->fd >= 0)
		close(self->fd);	/* drops whatever is still pinned */
	if (self->mem != MAP_FAILED)
		munmap(self->mem, self->len);
	free(self->info);
}

TEST_F(hugetlb_gup, subpages)
{
	size_t pg = getpagesize(), huge = huge_size(variant->level, variant->cont);
	size_t i, half = self->nr / 2;
	uint64_t flags = MMPROBE_PIN_WRITE, handle, *pm;
	struct robust_pin_window pins;
	char why[160];
	int ref0[MAX_HUGE], in[MAX_HUGE] = { 0 }, moved = 0, k, fd;
	uint64_t head[MAX_HUGE];
	long ret;

	if (!self->ready)
		return;
	if (variant->longterm)
		flags |= MMPROBE_PIN_LONGTERM;
	for (k = 0; k < self->nr_huge; k++) {
		ref0[k] = huge_refcount(self->mem + k * huge);
		ASSERT_LT(0, ref0[k]);
	}
	ASSERT_EQ(0, robust_pin_window_open(&pins)) TH_LOG("no nr_foll_pin_* in /proc/vmstat");

	ret = pin_util_take(self->fd, self->start, self->nr, variant->method, flags, &handle);
	ASSERT_EQ((long)self->nr, ret) TH_LOG("take: %s", ret < 0 ? strerror(-ret) : "short");
	EXPECT_EQ(0, robust_pin_window_check(&pins, self->nr, 0, why, sizeof(why)))
		TH_LOG("pinned %zu pages: %s", self->nr, why);

	/* pagemap now, after the pin: FOLL_LONGTERM may have moved a page. */
	pm = calloc(self->nr, sizeof(*pm));
	ASSERT_NE(NULL, pm);
	fd = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)(self->nr * sizeof(*pm)),
		  pread(fd, pm, self->nr * sizeof(*pm), (uintptr_t)self->start / pg * sizeof(*pm)));
	close(fd);

	/*
	 * A short-term pin leaves each huge page where the setup found it. A
	 * FOLL_LONGTERM one migrates a huge page it may not pin long-term
	 * (in a CMA or ZONE_MOVABLE pageblock: hugetlb pages allocated at run
	 * time are movable allocations, and CMA takes those): then all its
	 * pages are the new huge page's, in order, from its first one pinned.
	 */
	memcpy(head, self->head, sizeof(head));
	ASSERT_EQ(0, pin_util_info(self->fd, handle, 0, self->nr, self->info, false));
	for (i = 0; i < self->nr; i++) {
		const struct mmprobe_pin_page *p = &self->info[i];
		char *addr = self->start + i * pg;
		size_t off = addr - self->mem;
		uint64_t index;

		k = off / huge;
		index = (off % huge) / pg;
		if (!in[k]++ && variant->longterm && p->pfn - index != head[k]) {
			head[k] = p->pfn - index;
			moved++;
		}
		ASSERT_EQ((uintptr_t)addr, p->addr) TH_LOG("page %zu", i);
		ASSERT_EQ(MMPROBE_PIN_STATE_PINNED, p->state) TH_LOG("page %zu", i);
		ASSERT_EQ(pm[i] & PM_PFN_MASK, p->pfn) TH_LOG("page %zu: pagemap", i);
		ASSERT_EQ(0, head[k] & (huge / pg - 1)) TH_LOG("huge page %d", k);
		ASSERT_EQ(head[k] + index, p->pfn)
			TH_LOG("page %zu: huge page %d, index %llu", i, k,
			       (unsigned long long)index);
		ASSERT_EQ(MMPROBE_PIN_KIND_HUGETLB, p->kind) TH_LOG("page %zu", i);
		ASSERT_EQ(variant->level, p->level) TH_LOG("page %zu", i);
		ASSERT_EQ(__builtin_ctzl(huge / pg), p->order) TH_LOG("page %zu", i);
		ASSERT_EQ(1, p->pinned) TH_LOG("page %zu", i);
	}
	free(pm);
	TH_LOG("%zu pages from +%#zx: %d huge pages of %zu kB, %d moved by the pin", self->nr,
	       (size_t)(self->start - self->mem), self->nr_huge, huge / 1024, moved);

	/* Each huge page holds one reference per page pinned in it. */
	for (k = 0; k < self->nr_huge; k++)
		EXPECT_EQ(ref0[k] + in[k], huge_refcount(self->mem + k * huge))
			TH_LOG("huge page %d, %d pages pinned in it", k, in[k]);

	/* Unpin in two halves; the first ends in the middle of a huge page. */
	ASSERT_EQ((long)half, pin_util_unpin(self->fd, handle, 0, half));
	EXPECT_EQ(0, robust_pin_window_check(&pins, self->nr, half, why, sizeof(why)))
		TH_LOG("unpinned %zu of %zu pages: %s", half, self->nr, why);
	ASSERT_EQ((long)(self->nr - half),
		  pin_util_unpin(self->fd, handle, half, self->nr - half));
	EXPECT_EQ(0, robust_pin_window_check(&pins, self->nr, self->nr, why, sizeof(why)))
		TH_LOG("unpinned all %zu pages: %s", self->nr, why);
	for (k = 0; k < self->nr_huge; k++)
		EXPECT_EQ(ref0[k], huge_refcount(self->mem + k * huge))
			TH_LOG("huge page %d after unpin", k);
}

TEST_HARNESS_MAIN
