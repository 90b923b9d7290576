/* SPDX-License-Identifier: GPL-2.0 */
/*
 * walk: the one page-table walker of mmprobe. Every probe that reads page
 * tables (inspect, migrate, pin) walks through it; walk.c says what protects
 * each step.
 */
#ifndef _MMPROBE_WALK_H
#define _MMPROBE_WALK_H

#include <linux/mm_types.h>
#include <linux/pgtable.h>

/* The level of an entry; hugetlb entries are PTE-encoded at PMD or PUD level. */
enum mmprobe_level {
	MMPROBE_LEVEL_PTE,
	MMPROBE_LEVEL_PMD,
	MMPROBE_LEVEL_PUD,
	MMPROBE_NR_LEVELS
};

/* What a callback returns to end the walk at the entry it was given. */
#define MMPROBE_WALK_STOP	1

struct mmprobe_walk;

/**
 * struct mmprobe_walk_ops - what a walk reports; any callback may be NULL
 * @pte: a non-none PTE-encoded entry: a PTE (@level MMPROBE_LEVEL_PTE), or
 *	a hugetlb entry at PMD or PUD level
 * @pmd: a non-none PMD that is not a page table: a THP, a huge PFN map, or a
 *	non-present (migration) entry
 * @pud: a present PUD leaf
 *
 * Each callback gets the part of the walked range the entry covers, [@addr,
 * @end), and a copy of the entry read under the entry's lock, which is held
 * while the callback runs: the entry cannot change, and the page it maps
 * stays mapped and so alive, until the callback returns. A callback must not
 * sleep, and must not keep a pointer to the page or table after it returns.
 *
 * Return: 0 to go on, MMPROBE_WALK_STOP to end the walk at @addr.
 */
struct mmprobe_walk_ops {
	int (*pte)(struct mmprobe_walk *walk, unsigned long addr, unsigned long end,
		   enum mmprobe_level level, pte_t pte);
	int (*pmd)(struct mmprobe_walk *walk, unsigned long addr, unsigned long end,
		   pmd_t pmd);
	int (*pud)(struct mmprobe_walk *walk, unsigned long addr, unsigned long end,
		   pud_t pud);
};

/**
 * struct mmprobe_walk - one walk
 * @ops: (in) the callbacks
 * @mm: (in) the address space; the caller holds its mmap_lock
 * @private: (in) for the callbacks
 * @budget: (in/out) entries the walk may still visit, at any level; the walk
 *	ends at the next table entry once it is used up
 * @vma: (out) the VMA of the entry a callback is given
 * @table: (out) while a @pte callback for a PTE (MMPROBE_LEVEL_PTE) runs,
 *	the PTE table holding it, locked: its PTRS_PER_PTE entries may be
 *	read with ptep_get(); NULL otherwise
 * @retries: (out) PTE tables read again because their PMD changed
 */
struct mmprobe_walk {
	const struct mmprobe_walk_ops *ops;
	struct mm_struct *mm;
	void *private;
	long budget;
	struct vm_area_struct *vma;
	pte_t *table;
	unsigned long retries;
};

unsigned long mmprobe_walk(struct mmprobe_walk *walk, unsigned long start,
			   unsigned long end);

/*
 * The first PFN a present PTE-encoded entry maps: a PTE, or a hugetlb
 * entry at PMD or PUD level (encoded like a PMD or PUD, huge_ptep_get()).
 */
static inline unsigned long mmprobe_walk_pte_pfn(pte_t pte, enum mmprobe_level level)
{
	switch (level) {
	case MMPROBE_LEVEL_PMD:
		return pmd_pfn(__pmd(pte_val(pte)));
	case MMPROBE_LEVEL_PUD:
		return pud_pfn(__pud(pte_val(pte)));
	default:
		return pte_pfn(pte);
	}
}

#endif /* _MMPROBE_WALK_H */
