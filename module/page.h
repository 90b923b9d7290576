/* SPDX-License-Identifier: GPL-2.0 */
/*
 * page: what mmprobe says about one mapped page and its folio.
 *
 * Shared by inspect, pin and migrate, so that a page reads the same in every
 * report. The "key=value" names are ABI: see Documentation/inspect.rst.
 */
#ifndef _MMPROBE_PAGE_H
#define _MMPROBE_PAGE_H

#include <linux/types.h>

struct page;
struct vm_area_struct;

/* What an entry maps. The names are printed as they are, in lower case. */
enum mmprobe_kind {
	MMPROBE_KIND_NONE = 0,
	MMPROBE_KIND_ANON,
	MMPROBE_KIND_FILE,
	MMPROBE_KIND_SHMEM,
	MMPROBE_KIND_ZERO,
	MMPROBE_KIND_HUGE_ZERO,
	MMPROBE_KIND_HUGETLB,
	MMPROBE_KIND_KSM,
	MMPROBE_KIND_SWAP,
	MMPROBE_KIND_MIGRATION,
	MMPROBE_KIND_DEVICE_PRIVATE,
	MMPROBE_KIND_DEVICE_EXCLUSIVE,
	MMPROBE_KIND_HWPOISON,
	MMPROBE_KIND_MARKER,
	MMPROBE_KIND_PFNMAP,
	MMPROBE_NR_KINDS
};

extern const char * const mmprobe_kind_names[MMPROBE_NR_KINDS];

/**
 * struct mmprobe_page_info - the state of one page and its folio
 * @pfn: page frame number
 * @kind: anon, file, shmem, zero, huge_zero, hugetlb or ksm
 * @order: order of the folio
 * @refcount: folio reference count
 * @mapcount: this page's mapcount as the kernel counts it (page_mapcount()
 *	semantics: PTE maps of the page plus PMD maps of its folio)
 * @entire_mapcount: PMD/PUD mappings of the whole folio, 0 for small folios
 * @folio_mapcount: all mappings of the folio
 * @pinned: folio_maybe_dma_pinned()
 * @exclusive: PageAnonExclusive() of this very page, or of the head page
 *	while a PMD maps the folio; -1 when not anon
 * @double_map: PageDoubleMap() of the folio; -1 when the kernel has none
 * @node: NUMA node of the page
 */
struct mmprobe_page_info {
	unsigned long pfn;
	enum mmprobe_kind kind;
	unsigned int order;
	int refcount;
	int mapcount;
	int entire_mapcount;
	int folio_mapcount;
	bool pinned;
	int exclusive;
	int double_map;
	int node;
};

void mmprobe_page_info_fill(struct mmprobe_page_info *info, struct page *page,
			    struct vm_area_struct *vma, bool pmd_mapped);
int mmprobe_page_info_format(char *buf, size_t size,
			     const struct mmprobe_page_info *info, bool show_pfn);
bool mmprobe_is_zero_pfn(unsigned long pfn);
struct page *mmprobe_present_page(struct vm_area_struct *vma, unsigned long pfn,
				  bool special);

#endif /* _MMPROBE_PAGE_H */
