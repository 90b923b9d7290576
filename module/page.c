// SPDX-License-Identifier: GPL-2.0
/*
 * page: what mmprobe says about one mapped page and its folio.
 *
 * The caller keeps the page from being freed while it is described: by the
 * page table lock of the entry that maps it, or by a reference or pin it
 * holds. Nothing here sleeps or takes a lock, and no pointer is kept.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/page-flags.h>
#include <linux/pgtable.h>

#include "compat.h"
#include "line.h"
#include "page.h"

const char * const mmprobe_kind_names[MMPROBE_NR_KINDS] = {
	[MMPROBE_KIND_NONE]		= "none",
	[MMPROBE_KIND_ANON]		= "anon",
	[MMPROBE_KIND_FILE]		= "file",
	[MMPROBE_KIND_SHMEM]		= "shmem",
	[MMPROBE_KIND_ZERO]		= "zero",
	[MMPROBE_KIND_HUGE_ZERO]	= "huge_zero",
	[MMPROBE_KIND_HUGETLB]		= "hugetlb",
	[MMPROBE_KIND_KSM]		= "ksm",
	[MMPROBE_KIND_SWAP]		= "swap",
	[MMPROBE_KIND_MIGRATION]	= "migration",
	[MMPROBE_KIND_DEVICE_PRIVATE]	= "device_private",
	[MMPROBE_KIND_DEVICE_EXCLUSIVE]	= "device_exclusive",
	[MMPROBE_KIND_HWPOISON]		= "hwpoison",
	[MMPROBE_KIND_MARKER]		= "marker",
	[MMPROBE_KIND_PFNMAP]		= "pfnmap",
};

/**
 * mmprobe_is_zero_pfn() - is this the shared zero page?
 * @pfn: page frame number
 *
 * zero_pfn is not exported on every kernel; ZERO_PAGE() (empty_zero_page)
 * is, and x86 has a single zero page.
 */
bool mmprobe_is_zero_pfn(unsigned long pfn)
{
	return pfn == page_to_pfn(ZERO_PAGE(0));
}

/**
 * mmprobe_present_page() - the page a present entry maps, if it has a folio
 * @vma: the VMA of the entry
 * @pfn: the PFN it maps
 * @special: the entry's special bit (pte_special(), or the PMD/PUD's)
 *
 * Special entries (remap_pfn_range(), vmf_insert_pfn()) and PFNs without a
 * struct page have no folio to describe. The shared zero page is mapped by
 * special PTEs too, and from v6.17 the huge zero folio by special PMDs, in
 * ordinary VMAs: those have one.
 *
 * Return: the page, or NULL.
 */
struct page *mmprobe_present_page(struct vm_area_struct *vma, unsigned long pfn,
				  bool special)
{
	if (!pfn_valid(pfn))
		return NULL;
	if (special && !mmprobe_is_zero_pfn(pfn) && (vma->vm_flags & (VM_PFNMAP | VM_MIXEDMAP)))
		return NULL;
	return pfn_to_page(pfn);
}

/*
 * The huge zero folio is not exported either: it is the only large folio
 * that a PMD of an anonymous mapping maps while it is neither anon nor in a
 * page cache.
 */
static bool page_is_huge_zero(struct folio *folio, struct vm_area_struct *vma,
			      bool pmd_mapped)
{
	return pmd_mapped && folio_test_large(folio) && !folio_test_anon(folio) &&
	       !folio->mapping && vma && vma_is_anonymous(vma);
}

static enum mmprobe_kind page_kind(struct page *page, struct folio *folio,
				   struct vm_area_struct *vma, bool pmd_mapped)
{
	struct file *file = vma ? vma->vm_file : NULL;

	if (mmprobe_is_zero_pfn(page_to_pfn(page)))
		return MMPROBE_KIND_ZERO;
	if (page_is_huge_zero(folio, vma, pmd_mapped))
		return MMPROBE_KIND_HUGE_ZERO;
	if (folio_test_hugetlb(folio))
		return MMPROBE_KIND_HUGETLB;
	if (folio_test_ksm(folio))
		return MMPROBE_KIND_KSM;
	if (folio_test_anon(folio))
		return MMPROBE_KIND_ANON;
	if (file && file_inode(file)->i_sb->s_magic == TMPFS_MAGIC)
		return MMPROBE_KIND_SHMEM;
	return MMPROBE_KIND_FILE;
}

/**
 * mmprobe_page_info_fill() - describe a mapped page
 * @info: filled in
 * @page: the page; kept alive by the caller (PTL, reference or pin)
 * @vma: the VMA mapping it, or NULL when unknown
 * @pmd_mapped: the entry that maps it is a PMD (or PUD)
 *
 * Context: any context; the caller holds what keeps @page alive.
 */
void mmprobe_page_info_fill(struct mmprobe_page_info *info, struct page *page,
			    struct vm_area_struct *vma, bool pmd_mapped)
{
	struct folio *folio = page_folio(page);

	info->pfn = page_to_pfn(page);
	info->kind = page_kind(page, folio, vma, pmd_mapped);
	info->order = folio_order(folio);
	info->refcount = folio_ref_count(folio);
	info->node = page_to_nid(page);
	if (info->kind == MMPROBE_KIND_ZERO || info->kind == MMPROBE_KIND_HUGE_ZERO) {
		/* Shared by everyone; its counts say nothing about this mm. */
		info->mapcount = 0;
		info->entire_mapcount = 0;
		info->folio_mapcount = 0;
		info->pinned = false;
	} else {
		info->mapcount = mmprobe_page_mapcount(page);
		info->entire_mapcount = folio_test_large(folio) ?
					folio_entire_mapcount(folio) : 0;
		info->folio_mapcount = mmprobe_folio_mapcount(folio);
		info->pinned = folio_maybe_dma_pinned(folio);
	}
	/*
	 * While a PMD maps an anon THP whole, rmap keeps PG_anon_exclusive on
	 * its head page only; splitting the PMD copies it to every subpage.
	 */
	info->exclusive = (info->kind == MMPROBE_KIND_ANON ||
			   (info->kind == MMPROBE_KIND_HUGETLB && folio_test_anon(folio))) ?
			  mmprobe_page_anon_exclusive(pmd_mapped ? &folio->page : page) : -1;
	info->double_map = mmprobe_folio_double_map(folio);
}

/**
 * mmprobe_page_info_format() - print a description as "key=value" words
 * @buf: output buffer
 * @size: its size
 * @info: the description
 * @show_pfn: print pfn= (only for callers with CAP_SYS_ADMIN)
 *
 * Return: the number of characters written, as scnprintf() (see line.h).
 */
int mmprobe_page_info_format(char *buf, size_t size,
			     const struct mmprobe_page_info *info, bool show_pfn)
{
	struct mmprobe_line l;

	mmprobe_line_init(&l, buf, size);
	if (show_pfn) {
		mmprobe_line_hex(&l, "pfn=", info->pfn);
		mmprobe_line_puts(&l, " ");
	}
	mmprobe_line_dec(&l, "order=", info->order);
	mmprobe_line_dec(&l, " refcount=", info->refcount);
	mmprobe_line_dec(&l, " mapcount=", info->mapcount);
	mmprobe_line_dec(&l, " entire_mapcount=", info->entire_mapcount);
	mmprobe_line_dec(&l, " folio_mapcount=", info->folio_mapcount);
	mmprobe_line_dec(&l, " pinned=", info->pinned);
	if (info->exclusive < 0)
		mmprobe_line_puts(&l, " exclusive=-");
	else
		mmprobe_line_dec(&l, " exclusive=", info->exclusive);
	mmprobe_line_dec(&l, " node=", info->node);
	if (info->double_map >= 0)
		mmprobe_line_dec(&l, " double_map=", info->double_map);
	return mmprobe_line_end(&l);
}
