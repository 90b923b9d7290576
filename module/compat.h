/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences, in one place.
 *
 * Everything here selects, at build time, which kernel API the module calls
 * or which field it can read. Prefer a config option or a macro the kernel
 * defines; fall back to a version test only where the API change left no
 * other trace in the headers, and say which API it selects. Nothing here
 * decides what the kernel does: a vendor kernel backports behaviour without
 * changing its version, so behaviour is measured at run time
 * (selftests/behaviour.c, the report).
 */
#ifndef _MMPROBE_COMPAT_H
#define _MMPROBE_COMPAT_H

#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/page-flags.h>
#include <linux/userfaultfd_k.h>
#include <linux/version.h>

/*
 * Selects PageAnonExclusive(): PG_anon_exclusive came with "mm: remember
 * exclusively mapped anonymous pages with PG_anon_exclusive", v5.19, as an
 * enum value and generated functions, no macro to test.
 */
#define MMPROBE_HAS_ANON_EXCLUSIVE \
	(LINUX_VERSION_CODE >= KERNEL_VERSION(5, 19, 0))

/*
 * Selects pte_swp_exclusive(): per architecture behind
 * __HAVE_ARCH_PTE_SWP_EXCLUSIVE (x86 since v6.0) until every architecture
 * had it and the macro was removed in v6.6 (the version test).
 */
#if defined(__HAVE_ARCH_PTE_SWP_EXCLUSIVE) || \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define MMPROBE_HAS_SWP_EXCLUSIVE 1
#else
#define MMPROBE_HAS_SWP_EXCLUSIVE 0
#endif

/*
 * Selects folio_test_double_map(): PageDoubleMap was removed by
 * "mm,thp,rmap: subpages_mapcount of PTE-mapped subpages", v6.2; its
 * accessors are generated, no macro to test.
 */
#define MMPROBE_HAS_DOUBLE_MAP \
	(IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) && \
	 LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0))

/*
 * Mapcounts. Up to 6.1 folio_mapcount() is out of line and not exported, and
 * PageDoubleMap biases the subpage counts of anon THPs; from 6.2 the
 * per-page count is page->_mapcount plus the folio's entire mapcount, until
 * CONFIG_NO_PAGE_MAPCOUNT stops keeping page->_mapcount at all (-1 then).
 */
static inline int mmprobe_page_mapcount(struct page *page)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	return page_mapcount(page);
#elif defined(CONFIG_NO_PAGE_MAPCOUNT)
	return -1;
#else
	struct folio *folio = page_folio(page);
	int ret;

	/*
	 * hugetlb maps folios whole, in the entire mapcount; from v6.9 its
	 * page->_mapcount holds a page type instead of a count.
	 */
	if (folio_test_hugetlb(folio))
		return folio_entire_mapcount(folio);
	ret = atomic_read(&page->_mapcount) + 1;
	if (folio_test_large(folio))
		ret += folio_entire_mapcount(folio);
	return ret;
#endif
}

static inline int mmprobe_folio_mapcount(struct folio *folio)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	int i, ret, compound, nr;

	if (!folio_test_large(folio))
		return atomic_read(&folio->_mapcount) + 1;
	compound = folio_entire_mapcount(folio);
	if (folio_test_hugetlb(folio))
		return compound;
	nr = folio_nr_pages(folio);
	ret = compound;
	for (i = 0; i < nr; i++)
		ret += atomic_read(&folio_page(folio, i)->_mapcount) + 1;
	if (!folio_test_anon(folio))
		return ret - compound * nr;
	if (folio_test_double_map(folio))
		ret -= nr;
	return ret;
#else
	return folio_mapcount(folio);
#endif
}

/* PageDoubleMap of a folio, or -1 where the kernel no longer has it. */
static inline int mmprobe_folio_double_map(struct folio *folio)
{
#if MMPROBE_HAS_DOUBLE_MAP
	return folio_test_large(folio) && folio_test_double_map(folio);
#else
	return -1;
#endif
}

static inline int mmprobe_page_anon_exclusive(struct page *page)
{
#if MMPROBE_HAS_ANON_EXCLUSIVE
	struct folio *folio = page_folio(page);

	/*
	 * HugeTLB keeps the bit on the head page only. PageAnonExclusive()
	 * goes to the head by itself on 6.12 and 7.3; on 6.1 it reads the
	 * flags of the very page it is given.
	 */
	if (folio_test_hugetlb(folio))
		page = &folio->page;
	return PageAnonExclusive(page);
#else
	return -1;
#endif
}

/*
 * For inspect: reading page-table entries and decoding the software leaves
 * (swap, migration, device, hwpoison and marker entries) kept in non-present
 * ones.
 */

/*
 * A PMD read without its lock: pmd_read_atomic() became pmdp_get_lockless()
 * in v6.2 ("mm: Rename pmd_read_atomic()"). Both are one load on x86-64.
 */
static inline pmd_t mmprobe_pmdp_get_lockless(pmd_t *pmdp)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	return pmd_read_atomic(pmdp);
#else
	return pmdp_get_lockless(pmdp);
#endif
}

/* PFN maps at PMD level (no struct page to describe): v6.12. */
static inline bool mmprobe_pmd_special(pmd_t pmd)
{
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
	return pmd_special(pmd);
#else
	return false;
#endif
}

/* PFN maps at PUD level: v6.12. */
static inline bool mmprobe_pud_special(pud_t pud)
{
#ifdef CONFIG_ARCH_SUPPORTS_PUD_PFNMAP
	return pud_special(pud);
#else
	return false;
#endif
}

/*
 * The dirty and soft-dirty bits of a PUD leaf outside hugetlb (DAX, huge
 * PFN maps), which only architectures with THP at PUD level have: x86-64
 * has pud_dirty() and pud_soft_dirty(), arm64 neither.
 */
static inline bool mmprobe_pud_dirty(pud_t pud)
{
#ifdef CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD
	return pud_dirty(pud);
#else
	return false;
#endif
}

static inline bool mmprobe_pud_soft_dirty(pud_t pud)
{
#if defined(CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD) && defined(CONFIG_HAVE_ARCH_SOFT_DIRTY)
	return pud_soft_dirty(pud);
#else
	return false;
#endif
}

/*
 * The contiguous bit of a present entry, read from the raw entry: arm64
 * sets it on each of the CONT_PTES PTEs (or CONT_PMDS PMDs) that map one
 * naturally aligned block alike, for its contiguous hugetlb sizes and,
 * with CONFIG_ARM64_CONTPTE (v6.9), for a large folio mapped whole at an
 * aligned address. It is the same descriptor bit at every level, so a PMD
 * or PUD is read as a PTE (as hugetlb encodes them). 1 or 0; -1 where the
 * architecture has no such bit (x86-64), so a report can leave it out.
 */
static inline int mmprobe_pte_cont(pte_t pte)
{
#ifdef pte_cont
	return pte_cont(pte);
#else
	return -1;
#endif
}

/*
 * The userfaultfd bit of PTEs and PMDs: pte_uffd_wp() and friends were
 * renamed pte_uffd() when the bit stopped meaning only write-protect (7.x,
 * which added pgtable_supports_uffd() with them).
 */
#ifdef pgtable_supports_uffd
#define mmprobe_pte_uffd_wp(pte)	pte_uffd(pte)
#define mmprobe_pmd_uffd_wp(pmd)	pmd_uffd(pmd)
#define mmprobe_pte_swp_uffd_wp(pte)	pte_swp_uffd(pte)
#define mmprobe_pmd_swp_uffd_wp(pmd)	pmd_swp_uffd(pmd)
#else
#define mmprobe_pte_uffd_wp(pte)	pte_uffd_wp(pte)
#define mmprobe_pmd_uffd_wp(pmd)	pmd_uffd_wp(pmd)
#define mmprobe_pte_swp_uffd_wp(pte)	pte_swp_uffd_wp(pte)
#define mmprobe_pmd_swp_uffd_wp(pmd)	pmd_swp_uffd_wp(pmd)
#endif

/* The exclusive bit of a swap PTE, -1 where the kernel keeps none. */
static inline int mmprobe_pte_swp_exclusive(pte_t pte)
{
#if MMPROBE_HAS_SWP_EXCLUSIVE
	return !!pte_swp_exclusive(pte);
#else
	return -1;
#endif
}

/* What a software leaf entry is; mode is part of the type. */
enum mmprobe_leaf {
	MMPROBE_LEAF_UNKNOWN = 0,
	MMPROBE_LEAF_SWAP,
	MMPROBE_LEAF_MIGRATION_READ,
	MMPROBE_LEAF_MIGRATION_READ_EXCLUSIVE,
	MMPROBE_LEAF_MIGRATION_WRITE,
	MMPROBE_LEAF_DEVICE_PRIVATE_READ,
	MMPROBE_LEAF_DEVICE_PRIVATE_WRITE,
	MMPROBE_LEAF_DEVICE_EXCLUSIVE_READ,
	MMPROBE_LEAF_DEVICE_EXCLUSIVE_WRITE,
	/* 6.15+ keeps no mode in device-exclusive entries */
	MMPROBE_LEAF_DEVICE_EXCLUSIVE,
	MMPROBE_LEAF_HWPOISON,
	MMPROBE_LEAF_MARKER,
};

/* Marker bits, in mmprobe's own numbering (the kernel's differ by version). */
#define MMPROBE_MARKER_UFFD_WP		0x1
#define MMPROBE_MARKER_POISONED		0x2
#define MMPROBE_MARKER_GUARD		0x4

/*
 * The is_*_entry() helpers of <linux/swapops.h> gave way to the "softleaf"
 * helpers of <linux/leafops.h> in v6.19.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
#include <linux/leafops.h>

static inline swp_entry_t mmprobe_pte_to_leaf(pte_t pte)
{
	return softleaf_from_pte(pte);
}

static inline swp_entry_t mmprobe_pmd_to_leaf(pmd_t pmd)
{
	return softleaf_from_pmd(pmd);
}

static inline enum mmprobe_leaf mmprobe_leaf_type(swp_entry_t entry)
{
	switch (softleaf_type(entry)) {
	case SOFTLEAF_SWAP:
		return MMPROBE_LEAF_SWAP;
	case SOFTLEAF_MIGRATION_READ:
		return MMPROBE_LEAF_MIGRATION_READ;
	case SOFTLEAF_MIGRATION_READ_EXCLUSIVE:
		return MMPROBE_LEAF_MIGRATION_READ_EXCLUSIVE;
	case SOFTLEAF_MIGRATION_WRITE:
		return MMPROBE_LEAF_MIGRATION_WRITE;
	case SOFTLEAF_DEVICE_PRIVATE_READ:
		return MMPROBE_LEAF_DEVICE_PRIVATE_READ;
	case SOFTLEAF_DEVICE_PRIVATE_WRITE:
		return MMPROBE_LEAF_DEVICE_PRIVATE_WRITE;
	case SOFTLEAF_DEVICE_EXCLUSIVE:
		return MMPROBE_LEAF_DEVICE_EXCLUSIVE;
	case SOFTLEAF_HWPOISON:
		return MMPROBE_LEAF_HWPOISON;
	case SOFTLEAF_MARKER:
		return MMPROBE_LEAF_MARKER;
	default:
		return MMPROBE_LEAF_UNKNOWN;
	}
}

static inline unsigned long mmprobe_leaf_pfn(swp_entry_t entry)
{
	return softleaf_to_pfn(entry);
}

static inline pte_marker mmprobe_leaf_kernel_marker(swp_entry_t entry)
{
	return softleaf_to_marker(entry);
}
#else /* !<linux/leafops.h> */
#include <linux/swapops.h>

static inline swp_entry_t mmprobe_pte_to_leaf(pte_t pte)
{
	return pte_to_swp_entry(pte);
}

static inline swp_entry_t mmprobe_pmd_to_leaf(pmd_t pmd)
{
	return pmd_to_swp_entry(pmd);
}

static inline enum mmprobe_leaf mmprobe_leaf_type(swp_entry_t entry)
{
	if (!non_swap_entry(entry))
		return MMPROBE_LEAF_SWAP;
	if (is_migration_entry(entry)) {
		if (is_writable_migration_entry(entry))
			return MMPROBE_LEAF_MIGRATION_WRITE;
		if (is_readable_exclusive_migration_entry(entry))
			return MMPROBE_LEAF_MIGRATION_READ_EXCLUSIVE;
		return MMPROBE_LEAF_MIGRATION_READ;
	}
	if (is_device_private_entry(entry))
		return is_writable_device_private_entry(entry) ?
		       MMPROBE_LEAF_DEVICE_PRIVATE_WRITE :
		       MMPROBE_LEAF_DEVICE_PRIVATE_READ;
	if (is_device_exclusive_entry(entry))
		return is_writable_device_exclusive_entry(entry) ?
		       MMPROBE_LEAF_DEVICE_EXCLUSIVE_WRITE :
		       MMPROBE_LEAF_DEVICE_EXCLUSIVE_READ;
	if (is_hwpoison_entry(entry))
		return MMPROBE_LEAF_HWPOISON;
	if (is_pte_marker_entry(entry))
		return MMPROBE_LEAF_MARKER;
#ifdef SWP_SWAPIN_ERROR_NUM
	/*
	 * A failed swap-in: is_swapin_error_entry(), a swap type of its own
	 * until v6.2 made it a marker ("poisoned").
	 */
	if (is_swapin_error_entry(entry))
		return MMPROBE_LEAF_MARKER;
#endif
	return MMPROBE_LEAF_UNKNOWN;
}

static inline unsigned long mmprobe_leaf_pfn(swp_entry_t entry)
{
	return swp_offset_pfn(entry);
}

static inline pte_marker mmprobe_leaf_kernel_marker(swp_entry_t entry)
{
#ifdef SWP_SWAPIN_ERROR_NUM
	if (is_swapin_error_entry(entry))
		return 0;
#endif
	return pte_marker_get(entry);
}
#endif /* <linux/leafops.h> */

/* The bits of a marker entry as MMPROBE_MARKER_* bits. */
static inline unsigned int mmprobe_leaf_marker(swp_entry_t entry)
{
	pte_marker m = mmprobe_leaf_kernel_marker(entry);
	unsigned int ret = 0;

#ifdef SWP_SWAPIN_ERROR_NUM
	if (is_swapin_error_entry(entry))
		return MMPROBE_MARKER_POISONED;
#endif
	if (m & PTE_MARKER_UFFD_WP)
		ret |= MMPROBE_MARKER_UFFD_WP;
#ifdef PTE_MARKER_POISONED
	if (m & PTE_MARKER_POISONED)
		ret |= MMPROBE_MARKER_POISONED;
#endif
#ifdef PTE_MARKER_GUARD
	if (m & PTE_MARKER_GUARD)
		ret |= MMPROBE_MARKER_GUARD;
#endif
	return ret;
}

/*
 * get_user_pages() and pin_user_pages() lost their vmas argument in v6.5
 * ("mm/gup: remove unused vmas parameter from get_user_pages()" and "mm/gup:
 * remove vmas parameter from pin_user_pages()"). Both use current->mm, whose
 * mmap_lock the caller holds for reading.
 */
static inline long mmprobe_get_user_pages(unsigned long start, unsigned long nr_pages,
					  unsigned int gup_flags, struct page **pages)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
	return get_user_pages(start, nr_pages, gup_flags, pages, NULL);
#else
	return get_user_pages(start, nr_pages, gup_flags, pages);
#endif
}

static inline long mmprobe_pin_user_pages(unsigned long start, unsigned long nr_pages,
					  unsigned int gup_flags, struct page **pages)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
	return pin_user_pages(start, nr_pages, gup_flags, pages, NULL);
#else
	return pin_user_pages(start, nr_pages, gup_flags, pages);
#endif
}

/*
 * FOLL_TOUCH (mark the page accessed) is a caller's flag while <linux/mm.h>
 * defines it (v6.1); later kernels made it one of GUP's internal flags in
 * mm/internal.h (not there in v6.12), with a value callers cannot name.
 */
#ifdef FOLL_TOUCH
#define MMPROBE_FOLL_TOUCH FOLL_TOUCH
#else
#define MMPROBE_FOLL_TOUCH 0
#endif

/*
 * kzalloc_obj(), which checkpatch asks for, is new in v7.x; before, the same
 * kzalloc(). Here the GFP flags are not optional.
 */
#ifndef kzalloc_obj
#define kzalloc_obj(P, GFP) kzalloc(sizeof(P), GFP)
#endif

/*
 * folio_is_longterm_pinnable() reads the pageblock migratetype with
 * CONFIG_CMA, through get_pfnblock_*(), which modules cannot link (Debian 7.3
 * has CMA). There, check what needs no migratetype: the zero page may be
 * pinned; coherent device memory and ZONE_MOVABLE may not. CMA and isolated
 * pageblocks and fsdax folios then go unchecked.
 */
static inline bool mmprobe_folio_is_longterm_pinnable(struct folio *folio)
{
#if defined(CONFIG_CMA) && defined(CONFIG_MIGRATION)
	if (is_zero_folio(folio))
		return true;
	if (folio_is_device_coherent(folio))
		return false;
	return folio_zonenum(folio) != ZONE_MOVABLE;
#else
	return folio_is_longterm_pinnable(folio);
#endif
}

/*
 * mmu notifiers (notify). The secondary-TLB callback ->invalidate_range()
 * became ->arch_invalidate_secondary_tlbs(), called from the architecture's
 * TLB flush, in v6.6 ("mmu_notifiers: rename invalidate_range notifier");
 * since then a subscription may not have it together with
 * ->invalidate_range_start/end. ->change_pte() went with set_pte_at_notify()
 * in v6.9 ("mm: remove change_pte notifier"). The ->*_young() callbacks
 * return int, or bool since "mm: change to return bool for the MMU notifier's
 * young flag check" (v7.x): MMPROBE_MN_YOUNG_T is whichever the headers
 * declare.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define MMPROBE_MN_TLB_OP	arch_invalidate_secondary_tlbs
#else
#define MMPROBE_MN_TLB_OP	invalidate_range
#endif

#ifdef set_pte_at_notify
#define MMPROBE_HAS_MN_CHANGE_PTE 1
#else
#define MMPROBE_HAS_MN_CHANGE_PTE 0
#endif

#define MMPROBE_MN_YOUNG_T \
	typeof(((struct mmu_notifier_ops *)NULL)->test_young(NULL, NULL, 0))

/*
 * The young and dirty bits of a migration entry (v6.1, "mm: remember
 * young/dirty bit for page migrations"), read straight from the offset: the
 * kernel's accessors test swap_migration_ad_supported, which is not
 * exported. The bits lie above every pfn, so they read 0 where the kernel
 * keeps no A/D bits in migration entries.
 */
static inline bool mmprobe_leaf_migration_young(swp_entry_t entry)
{
	return swp_offset(entry) & SWP_MIG_YOUNG;
}

static inline bool mmprobe_leaf_migration_dirty(swp_entry_t entry)
{
	return swp_offset(entry) & SWP_MIG_DIRTY;
}

/*
 * Select the parts of the dmirror devices (hmm.c), a port of v7.3's
 * lib/test_hmm.c. The devices and their hmm_range_fault() mirror (READ,
 * WRITE, SNAPSHOT, an mmu interval notifier) need CONFIG_HMM_MIRROR (Debian
 * sets it from 6.1 on; a defconfig kernel may not). Their device-private
 * memory (migration to the device and back, device-exclusive entries)
 * needs CONFIG_DEVICE_PRIVATE too (Debian sets it from 7.x on) and the
 * folio-based device memory API of v7.x (dev_pagemap_ops ->folio_free and
 * ->folio_split, zone_device_folio_init(), MIGRATE_VMA_SELECT_COMPOUND),
 * which left no macro to test; as does hmm_range_fault_unlocked_timeout()
 * (READ_UNLOCKED). Debugfs "hmm" says what a build lacks.
 */
#define MMPROBE_HAS_HMM_MIRROR	IS_ENABLED(CONFIG_HMM_MIRROR)
#define MMPROBE_HAS_HMM_DEVICE_PRIVATE \
	(MMPROBE_HAS_HMM_MIRROR && IS_ENABLED(CONFIG_DEVICE_PRIVATE) && \
	 LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0))
#define MMPROBE_HAS_HMM_RANGE_FAULT_UNLOCKED \
	(MMPROBE_HAS_HMM_MIRROR && LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0))

#endif /* _MMPROBE_COMPAT_H */
