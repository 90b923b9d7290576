// SPDX-License-Identifier: GPL-2.0
/*
 * walk: the one page-table walker of mmprobe.
 *
 * walk_page_range(), folio_walk_start(), __pte_offset_map_lock() and
 * follow_pte() are not exported to modules (follow_pte() only up to v6.9),
 * so mmprobe walks page tables itself, in this file and nowhere else. Every
 * probe reads entries through mmprobe_walk() and its callbacks; the locking
 * protocol below is written once.
 *
 * What protects each step (6.1, 6.12 and 7.3 alike unless said otherwise)
 * -----------------------------------------------------------------------
 * - The mm: the caller holds a reference that keeps the address space
 *   (mmget_not_zero(), or its own current->mm) and its mmap_lock for reading
 *   (asserted). The walk never sleeps in a lock it takes, but it calls
 *   cond_resched() between PTE tables, with only the mmap_lock held.
 * - VMAs: found with find_vma() under the mmap_lock; a VMA found stays and
 *   keeps its bounds until the lock is dropped.
 * - PGD, P4D, PUD and PMD tables: freed only by free_pgtables(), after their
 *   VMAs left the tree (under the mmap write lock, or on 6.1+ munmap once the
 *   VMAs are detached), so they stay while a VMA found under the read lock
 *   covers them. Their entries are read once (READ_ONCE()) and re-read under
 *   the lock of the level before a leaf is reported.
 * - hugetlb's shared PMD tables: huge_pmd_unshare() needs the file's
 *   i_mmap_rwsem for writing, so the walk of a VM_MAYSHARE hugetlb VMA holds
 *   it for reading. A hugetlb entry is read under the lock huge_pte_lock()
 *   takes: the PMD's split lock for PMD-sized pages, mm->page_table_lock
 *   for PUD-sized ones, the PTE table's lock for arm64's contiguous PTEs.
 * - PTE tables: up to v6.4 they were freed under the mmap write lock only,
 *   and the re-check below always holds. Since v6.5 khugepaged and
 *   MADV_COLLAPSE retract them (shmem/file THP) under the mmap read lock or
 *   none at all, and since v6.14 empty tables are reclaimed by MADV_DONTNEED
 *   (CONFIG_PT_RECLAIM, set in Debian's 7.3) under the mmap read lock: both
 *   clear the PMD under the PMD lock and free the table after an RCU grace
 *   period (pte_free_defer(), tlb_remove_ptdesc()). So, as
 *   __pte_offset_map_lock() does: enter rcu_read_lock() *before* the PMD is
 *   read, read it with pmdp_get_lockless(), take the PTE lock of the table
 *   it points to, and use the table only if pmd_same() still holds under
 *   that lock; else drop everything and read the PMD again. RCU keeps the
 *   table and its split lock from being freed in between.
 * - PMD and PUD leaves (THP, huge PFN maps, PMD migration entries): read
 *   again under pmd_lock() / pud_lock() and classified anew, so a leaf that
 *   was split, collapsed, zapped or turned into a migration entry in between
 *   is reported as what it now is; a PMD that became a table is walked as
 *   one.
 * - Pages: a callback runs with the lock of its entry held, so the entry
 *   cannot be zapped meanwhile and the mapping's reference keeps the folio.
 *   No page, folio or table pointer outlives the callback.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/pgtable.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>

#include "compat.h"
#include "walk.h"

/*
 * The PTE table @pmdval (read from @pmdp) points to, for [*addrp, end). Called
 * under rcu_read_lock(), which keeps a table freed by pte_free_defer() from
 * being reused; the PTE lock and pmd_same() make sure it is still this PMD's.
 *
 * Return: false when the PMD changed (nothing was reported); else true, with
 * *addrp where the walk stopped (@end when the table is done).
 */
static bool walk_pte_table(struct mmprobe_walk *walk, pmd_t *pmdp, pmd_t pmdval,
			   unsigned long *addrp, unsigned long end)
{
	unsigned long addr = *addrp;
	spinlock_t *ptl;	/* the PTE table's */
	pte_t *ptep;

	/* No CONFIG_HIGHPTE on 64-bit: the table is in the direct map. */
	ptep = pte_offset_kernel(&pmdval, addr);
	ptl = pte_lockptr(walk->mm, &pmdval);
	spin_lock(ptl);
	if (unlikely(!pmd_same(pmdval, mmprobe_pmdp_get_lockless(pmdp)))) {
		spin_unlock(ptl);
		walk->retries++;
		return false;
	}
	walk->table = ptep - pte_index(addr);
	for (; addr < end; addr += PAGE_SIZE, ptep++) {
		pte_t pte = ptep_get(ptep);

		walk->budget--;
		if (pte_none(pte) || !walk->ops->pte)
			continue;
		if (walk->ops->pte(walk, addr, addr + PAGE_SIZE, MMPROBE_LEVEL_PTE, pte))
			break;
	}
	walk->table = NULL;
	spin_unlock(ptl);
	*addrp = addr;
	return true;
}

/* A PMD leaf or non-present PMD, under the PMD lock; false: it is a table. */
static bool walk_pmd_leaf(struct mmprobe_walk *walk, pmd_t *pmdp, unsigned long addr,
			  unsigned long end, int *ret)
{
	spinlock_t *ptl = pmd_lock(walk->mm, pmdp);
	pmd_t pmdval = *pmdp;

	*ret = 0;
	if (pmd_present(pmdval) && !pmd_leaf(pmdval)) {
		spin_unlock(ptl);	/* became a table (split) */
		return false;
	}
	if (!pmd_none(pmdval) && walk->ops->pmd)
		*ret = walk->ops->pmd(walk, addr, end, pmdval);
	spin_unlock(ptl);
	return true;
}

static unsigned long walk_pmd_range(struct mmprobe_walk *walk, pud_t *pudp,
				    unsigned long addr, unsigned long end)
{
	pmd_t *pmdp = pmd_offset(pudp, addr);
	unsigned long next, stop;
	pmd_t pmdval;
	int ret;

	for (; addr < end; pmdp++, addr = next) {
		next = pmd_addr_end(addr, end);
		if (walk->budget <= 0)
			return addr;
again:
		walk->budget--;
		rcu_read_lock();
		pmdval = mmprobe_pmdp_get_lockless(pmdp);
		if (pmd_none(pmdval)) {
			rcu_read_unlock();
			continue;
		}
		if (!pmd_present(pmdval) || pmd_leaf(pmdval)) {
			rcu_read_unlock();
			if (!walk_pmd_leaf(walk, pmdp, addr, next, &ret))
				goto again;
			if (ret)
				return addr;
			continue;
		}
		if (pmd_bad(pmdval)) {
			rcu_read_unlock();
			continue;
		}
		stop = addr;
		if (!walk_pte_table(walk, pmdp, pmdval, &stop, next)) {
			rcu_read_unlock();
			goto again;
		}
		rcu_read_unlock();
		if (stop < next)
			return stop;
		cond_resched();
	}
	return addr;
}

static unsigned long walk_pud_range(struct mmprobe_walk *walk, p4d_t *p4dp,
				    unsigned long addr, unsigned long end)
{
	pud_t *pudp = pud_offset(p4dp, addr);
	unsigned long next, stop;
	spinlock_t *ptl;	/* the PUD's */
	pud_t pudval;
	int ret;

	for (; addr < end; pudp++, addr = next) {
		next = pud_addr_end(addr, end);
		if (walk->budget <= 0)
			return addr;
		walk->budget--;
		pudval = READ_ONCE(*pudp);
		if (pud_none(pudval) || !pud_present(pudval))
			continue;
		if (pud_leaf(pudval)) {
			ptl = pud_lock(walk->mm, pudp);
			pudval = READ_ONCE(*pudp);
			ret = 0;
			if (pud_present(pudval) && pud_leaf(pudval) && walk->ops->pud)
				ret = walk->ops->pud(walk, addr, next, pudval);
			spin_unlock(ptl);
			if (ret)
				return addr;
			if (pud_none(pudval) || !pud_present(pudval) || pud_leaf(pudval))
				continue;
			/* split into a PMD table meanwhile: walk it */
		}
		if (pud_bad(pudval))
			continue;
		stop = walk_pmd_range(walk, pudp, addr, next);
		if (stop < next)
			return stop;
	}
	return addr;
}

static unsigned long walk_pgd_range(struct mmprobe_walk *walk, unsigned long addr,
				    unsigned long end)
{
	unsigned long pgd_next, next, stop;
	pgd_t *pgdp, pgdval;
	p4d_t *p4dp, p4dval;

	for (; addr < end; addr = pgd_next) {
		pgd_next = pgd_addr_end(addr, end);
		if (walk->budget <= 0)
			return addr;
		walk->budget--;
		pgdp = pgd_offset(walk->mm, addr);
		pgdval = READ_ONCE(*pgdp);
		if (pgd_none(pgdval) || pgd_bad(pgdval))
			continue;
		p4dp = p4d_offset(pgdp, addr);
		for (; addr < pgd_next; p4dp++, addr = next) {
			next = p4d_addr_end(addr, pgd_next);
			if (walk->budget <= 0)
				return addr;
			walk->budget--;
			p4dval = READ_ONCE(*p4dp);
			if (p4d_none(p4dval) || p4d_bad(p4dval))
				continue;
			stop = walk_pud_range(walk, p4dp, addr, next);
			if (stop < next)
				return stop;
		}
	}
	return addr;
}

/*
 * A hugetlb VMA. A huge page of a PMD's or PUD's size is one entry of that
 * level; arm64 maps its other sizes with several entries carrying the
 * contiguous bit (64 KiB and 32 MiB with 4 KiB pages, 2 MiB and 1 GiB with
 * 16 KiB): CONT_PTES PTEs or CONT_PMDS PMDs, each mapping its own part of
 * the huge page, reported one by one at their level. Every entry is read
 * raw, READ_ONCE(): huge_ptep_get() is not exported, and arm64's ptep_get()
 * would fold a block's access and dirty bits (and read PTEs' worth of a
 * contiguous PMD block); on x86 both are READ_ONCE(). All under the lock
 * huge_pte_lock() takes: the PTE table's, the PMD's split lock, or the
 * PUD's (mm->page_table_lock).
 */
static unsigned long walk_hugetlb_range(struct mmprobe_walk *walk, unsigned long addr,
					unsigned long end)
{
	struct vm_area_struct *vma = walk->vma;
	struct hstate *h = hstate_vma(vma);
	unsigned long sz = huge_page_size(h), entry_sz, haddr, next, a;
	struct address_space *mapping = NULL;
	enum mmprobe_level level;
	spinlock_t *ptl;	/* the lock huge_pte_lock() takes */
	pmd_t *pmdp = NULL;
	pmd_t pmdval;
	pgd_t *pgdp;
	p4d_t *p4dp;
	pud_t *pudp;
	pte_t *ptep;
	int ret;

	if (sz >= PUD_SIZE) {
		level = MMPROBE_LEVEL_PUD;
		entry_sz = PUD_SIZE;
	} else if (sz >= PMD_SIZE) {
		level = MMPROBE_LEVEL_PMD;
		entry_sz = PMD_SIZE;
	} else {
		level = MMPROBE_LEVEL_PTE;
		entry_sz = PAGE_SIZE;
	}
	if (WARN_ON_ONCE(sz % entry_sz))
		return end;
	if ((vma->vm_flags & VM_MAYSHARE) && vma->vm_file) {
		mapping = vma->vm_file->f_mapping;
		i_mmap_lock_read(mapping);
	}
	for (; addr < end; addr = next) {
		haddr = addr & ~(sz - 1);
		next = min(haddr + sz, end);
		if (walk->budget <= 0)
			break;
		walk->budget--;
		pgdp = pgd_offset(walk->mm, haddr);
		if (pgd_none(READ_ONCE(*pgdp)))
			continue;
		p4dp = p4d_offset(pgdp, haddr);
		if (p4d_none(READ_ONCE(*p4dp)))
			continue;
		pudp = pud_offset(p4dp, haddr);
		if (level != MMPROBE_LEVEL_PUD) {
			pud_t pudval = READ_ONCE(*pudp);

			if (pud_none(pudval) || !pud_present(pudval) || pud_leaf(pudval))
				continue;
			pmdp = pmd_offset(pudp, haddr);
		}
		/*
		 * A table of contiguous PTEs, as any PTE table: RCU from
		 * before its PMD is read until its lock is held and the PMD
		 * checked again (the top of this file).
		 */
		rcu_read_lock();
		if (level == MMPROBE_LEVEL_PTE) {
			pmdval = mmprobe_pmdp_get_lockless(pmdp);
			if (pmd_none(pmdval) || !pmd_present(pmdval) || pmd_leaf(pmdval)) {
				rcu_read_unlock();
				continue;
			}
			ptep = pte_offset_kernel(&pmdval, haddr);
		} else {
			ptep = level == MMPROBE_LEVEL_PMD ? (pte_t *)pmdp : (pte_t *)pudp;
		}
		ptl = huge_pte_lock(h, walk->mm, ptep);
		if (level == MMPROBE_LEVEL_PTE &&
		    unlikely(!pmd_same(pmdval, mmprobe_pmdp_get_lockless(pmdp)))) {
			spin_unlock(ptl);
			rcu_read_unlock();
			walk->retries++;
			next = addr;	/* the PMD changed: read it again */
			continue;
		}
		ret = 0;
		if (level == MMPROBE_LEVEL_PTE)
			walk->table = ptep - pte_index(haddr);
		/* The entries of the huge page that [addr, next) overlaps, in order */
		for (a = addr & ~(entry_sz - 1); a < next && !ret; a += entry_sz) {
			pte_t pte = READ_ONCE(ptep[(a - haddr) / entry_sz]);

			if (!pte_none(pte) && walk->ops->pte)
				ret = walk->ops->pte(walk, max(a, addr), min(a + entry_sz, next),
						     level, pte);
			if (ret)
				addr = max(a, addr);
		}
		walk->table = NULL;
		spin_unlock(ptl);
		rcu_read_unlock();
		if (ret)
			break;
	}
	if (mapping)
		i_mmap_unlock_read(mapping);
	return min(addr, end);
}

/**
 * mmprobe_walk() - report the page-table entries that map [start, end)
 * @walk: the callbacks, the mm and the budget; @walk->vma and
 *	@walk->retries are set
 * @start: first address, page aligned
 * @end: end of the range, page aligned
 *
 * Visits the VMAs of the range in order and, within each, every non-none
 * entry at the level where it maps, calling @walk->ops under that entry's
 * lock. See the top of walk.c for the locking protocol.
 *
 * Context: process context; the caller holds @walk->mm's mmap_lock (for
 * reading at least) and a reference that keeps its address space. May
 * sleep (cond_resched() between tables).
 * Return: where the walk ended: @end when done, else the address of the
 * entry a callback stopped at, or of the first entry beyond the budget.
 */
unsigned long mmprobe_walk(struct mmprobe_walk *walk, unsigned long start,
			   unsigned long end)
{
	unsigned long addr = start, next, stop;
	struct vm_area_struct *vma;

	mmap_assert_locked(walk->mm);
	while (addr < end) {
		vma = find_vma(walk->mm, addr);
		if (!vma || vma->vm_start >= end)
			return end;
		addr = max(addr, vma->vm_start);
		next = min(vma->vm_end, end);
		walk->vma = vma;
		if (is_vm_hugetlb_page(vma))
			stop = walk_hugetlb_range(walk, addr, next);
		else
			stop = walk_pgd_range(walk, addr, next);
		if (stop < next)
			return stop;
		addr = next;
	}
	return end;
}
