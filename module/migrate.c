// SPDX-License-Identifier: GPL-2.0
/*
 * migrate: move a range of the opener's memory through the kernel's
 * device-migration API and show the migration entries it installs.
 *
 * One MMPROBE_IOC_MIGRATE call does everything under mmap_read_lock():
 * migrate_vma_setup() with system pages selected collects the range, locks
 * each folio and replaces its page-table entries with migration entries;
 * the probe reads the page tables (through mmprobe_walk(), walk.c),
 * optionally sleeps so that another thread can race, copies every frozen
 * page into a new page on the chosen node, and lets migrate_vma_pages() and
 * migrate_vma_finalize() move or restore each page before it reads the page
 * tables once more. Nothing stays locked or frozen when the call returns.
 *
 * Only private anonymous folios (not KSM) are given a new page. The device
 * migration API has no in-tree caller that moves page cache: for a file or
 * shmem folio migrate_vma_pages() would call migrate_folio(), which does
 * not move folio->private (buffer heads) and BUG()s on writeback. Such
 * folios may be frozen by setup (it collects every mapped page) and are
 * always restored, with reason "not_anon".
 *
 * Per open file: the mm of the process that opened it (mmgrab()), dropped in
 * .release; a call works on that mm while mmget_not_zero() holds it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/overflow.h>
#include <linux/pgtable.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "mmprobe.h"
#include "mmprobe_uapi.h"
#include "page.h"
#include "walk.h"

/* One call: the range, the migrate_vma arrays and the report. */
struct migrate_call {
	struct mm_struct *mm;
	struct vm_area_struct *vma;	/* stable under mmap_read_lock() */
	unsigned long start;
	unsigned long nr;		/* pages */
	unsigned long *src;		/* migrate_vma src and dst pfns */
	unsigned long *dst;
	u8 *why;			/* enum mmprobe_migrate_reason */
	struct mmprobe_migrate_page *rep;
};

/* The pgmap_owner of our migrations: unique, never a device's. */
static const char migrate_owner[] = "mmprobe-migrate";

static struct mmprobe_migrate_pte *migrate_slot(struct migrate_call *mc,
						unsigned long addr, size_t off)
{
	return (void *)&mc->rep[(addr - mc->start) >> PAGE_SHIFT] + off;
}

/* The page and folio behind an entry; the caller keeps @page alive. */
static void migrate_read_page(struct mmprobe_migrate_pte *s, struct page *page,
			      struct vm_area_struct *vma, bool pmd_mapped)
{
	struct folio *folio = page_folio(page);
	struct mmprobe_page_info info;

	mmprobe_page_info_fill(&info, page, vma, pmd_mapped);
	s->pfn = info.pfn;
	s->node = info.node;
	s->refcount = info.refcount;
	s->mapcount = max(info.folio_mapcount, 0);
	if (info.kind == MMPROBE_KIND_ANON)
		s->flags |= MMPROBE_MIGRATE_PAGE_ANON;
	if (info.kind == MMPROBE_KIND_ZERO || info.kind == MMPROBE_KIND_HUGE_ZERO)
		s->flags |= MMPROBE_MIGRATE_PAGE_ZERO;
	if (info.exclusive == 1)
		s->flags |= MMPROBE_MIGRATE_PAGE_EXCLUSIVE;
	if (info.pinned)
		s->flags |= MMPROBE_MIGRATE_PAGE_PINNED;
	if (info.order)
		s->flags |= MMPROBE_MIGRATE_PAGE_LARGE;
	if (folio_test_dirty(folio))
		s->flags |= MMPROBE_MIGRATE_PAGE_DIRTY;
	if (folio_test_locked(folio))
		s->flags |= MMPROBE_MIGRATE_PAGE_LOCKED;
}

/*
 * A non-present entry. For a migration entry, whoever installed it holds the
 * folio locked and referenced until it removes the entry, which needs the
 * table lock that the caller holds; @idx is the page's index under a PMD.
 */
static void migrate_read_leaf(struct mmprobe_migrate_pte *s, swp_entry_t leaf,
			      struct vm_area_struct *vma, bool pmd_mapped,
			      unsigned long idx)
{
	switch (mmprobe_leaf_type(leaf)) {
	case MMPROBE_LEAF_MIGRATION_WRITE:
		s->flags |= MMPROBE_MIGRATE_PTE_WRITE;
		fallthrough;
	case MMPROBE_LEAF_MIGRATION_READ_EXCLUSIVE:
		s->flags |= MMPROBE_MIGRATE_PTE_EXCLUSIVE;
		fallthrough;
	case MMPROBE_LEAF_MIGRATION_READ:
		break;
	default:
		s->flags |= MMPROBE_MIGRATE_PTE_SWAP;
		return;
	}
	s->flags |= MMPROBE_MIGRATE_PTE_MIGRATION;
	if (mmprobe_leaf_migration_dirty(leaf))
		s->flags |= MMPROBE_MIGRATE_PTE_DIRTY;
	if (mmprobe_leaf_migration_young(leaf))
		s->flags |= MMPROBE_MIGRATE_PTE_YOUNG;
	migrate_read_page(s, pfn_to_page(mmprobe_leaf_pfn(leaf) + idx), vma,
			  pmd_mapped);
}

/* The bits of a present entry, PTE or PMD. */
static void migrate_read_bits(struct mmprobe_migrate_pte *s, bool write, bool dirty,
			      bool young, bool soft_dirty, bool uffd_wp)
{
	s->flags |= MMPROBE_MIGRATE_PTE_PRESENT;
	if (write)
		s->flags |= MMPROBE_MIGRATE_PTE_WRITE;
	if (dirty)
		s->flags |= MMPROBE_MIGRATE_PTE_DIRTY;
	if (young)
		s->flags |= MMPROBE_MIGRATE_PTE_YOUNG;
	if (soft_dirty)
		s->flags |= MMPROBE_MIGRATE_PTE_SOFT_DIRTY;
	if (uffd_wp)
		s->flags |= MMPROBE_MIGRATE_PTE_UFFD_WP;
}

/* One PTE, read under its table's lock. */
static void migrate_read_pte(struct mmprobe_migrate_pte *s,
			     struct vm_area_struct *vma, pte_t pte)
{
	swp_entry_t leaf;
	unsigned long pfn;

	if (pte_none(pte))
		return;
	if (pte_present(pte)) {
		migrate_read_bits(s, pte_write(pte), pte_dirty(pte), pte_young(pte),
				  pte_soft_dirty(pte), mmprobe_pte_uffd_wp(pte));
		pfn = pte_pfn(pte);
		if (mmprobe_is_zero_pfn(pfn) || (!pte_special(pte) && pfn_valid(pfn)))
			migrate_read_page(s, pfn_to_page(pfn), vma, false);
		else
			s->pfn = pfn;
		return;
	}
	if (pte_swp_soft_dirty(pte))
		s->flags |= MMPROBE_MIGRATE_PTE_SOFT_DIRTY;
	if (mmprobe_pte_swp_uffd_wp(pte))
		s->flags |= MMPROBE_MIGRATE_PTE_UFFD_WP;
	leaf = mmprobe_pte_to_leaf(pte);
	if (mmprobe_leaf_type(leaf) == MMPROBE_LEAF_SWAP &&
	    mmprobe_pte_swp_exclusive(pte) == 1)
		s->flags |= MMPROBE_MIGRATE_PTE_EXCLUSIVE;
	migrate_read_leaf(s, leaf, vma, false, 0);
}

/* Page @idx of what a PMD leaf maps, read under the PMD lock. */
static void migrate_read_pmd(struct mmprobe_migrate_pte *s,
			     struct vm_area_struct *vma, pmd_t pmd,
			     unsigned long idx)
{
	s->flags |= MMPROBE_MIGRATE_PTE_PMD;
	if (pmd_present(pmd)) {
		migrate_read_bits(s, pmd_write(pmd), pmd_dirty(pmd), pmd_young(pmd),
				  pmd_soft_dirty(pmd), mmprobe_pmd_uffd_wp(pmd));
		migrate_read_page(s, pfn_to_page(pmd_pfn(pmd) + idx), vma, true);
		/* A PMD mapping's PG_anon_exclusive is that of its first page. */
		s->flags &= ~MMPROBE_MIGRATE_PAGE_EXCLUSIVE;
		if ((s->flags & MMPROBE_MIGRATE_PAGE_ANON) &&
		    mmprobe_page_anon_exclusive(pmd_page(pmd)) == 1)
			s->flags |= MMPROBE_MIGRATE_PAGE_EXCLUSIVE;
		return;
	}
	if (pmd_swp_soft_dirty(pmd))
		s->flags |= MMPROBE_MIGRATE_PTE_SOFT_DIRTY;
	if (mmprobe_pmd_swp_uffd_wp(pmd))
		s->flags |= MMPROBE_MIGRATE_PTE_UFFD_WP;
	migrate_read_leaf(s, mmprobe_pmd_to_leaf(pmd), vma, true, idx);
}

/* The snapshot being taken: at @off of each page's report. */
struct migrate_snap {
	struct migrate_call *mc;
	size_t off;
};

/* Walk callbacks, under the entry's lock; hugetlb VMAs are refused. */
static int migrate_walk_pte(struct mmprobe_walk *walk, unsigned long addr,
			    unsigned long end, enum mmprobe_level level, pte_t pte)
{
	struct migrate_snap *snap = walk->private;

	if (level == MMPROBE_LEVEL_PTE)
		migrate_read_pte(migrate_slot(snap->mc, addr, snap->off), walk->vma, pte);
	return 0;
}

static int migrate_walk_pmd(struct mmprobe_walk *walk, unsigned long addr,
			    unsigned long end, pmd_t pmd)
{
	struct migrate_snap *snap = walk->private;

	for (; addr < end; addr += PAGE_SIZE)
		migrate_read_pmd(migrate_slot(snap->mc, addr, snap->off), walk->vma, pmd,
				 (addr & ~PMD_MASK) >> PAGE_SHIFT);
	return 0;
}

static const struct mmprobe_walk_ops migrate_walk_ops = {
	.pte	= migrate_walk_pte,
	.pmd	= migrate_walk_pmd,
};

/* Snapshot the whole range into the struct mmprobe_migrate_pte at @off. */
static void migrate_walk(struct migrate_call *mc, size_t off)
{
	struct migrate_snap snap = { .mc = mc, .off = off };
	struct mmprobe_walk walk = {
		.ops	= &migrate_walk_ops,
		.mm	= mc->mm,
		.private = &snap,
		.budget	= LONG_MAX,
	};
	unsigned long i;

	for (i = 0; i < mc->nr; i++)
		migrate_slot(mc, mc->start + (i << PAGE_SHIFT), off)->node =
			MMPROBE_MIGRATE_NO_NODE;
	mmprobe_walk(&walk, mc->start, mc->start + (mc->nr << PAGE_SHIFT));
}

/*
 * The range must lie in one VMA that migrate_vma_setup() accepts.
 * Unmapped addresses: EFAULT; mapped by several VMAs, or an unsupported
 * VMA (hugetlb, DAX, VM_IO/VM_PFNMAP/VM_MIXEDMAP/VM_DONTEXPAND): EINVAL.
 */
static int migrate_find_vma(struct migrate_call *mc)
{
	unsigned long end = mc->start + (mc->nr << PAGE_SHIFT), addr;
	struct vm_area_struct *vma, *next;

	vma = find_vma(mc->mm, mc->start);
	if (!vma || vma->vm_start > mc->start)
		return -EFAULT;
	if (end > vma->vm_end) {
		for (addr = vma->vm_end; addr < end; addr = next->vm_end) {
			next = find_vma(mc->mm, addr);
			if (!next || next->vm_start > addr)
				return -EFAULT;
		}
		return -EINVAL;
	}
	if (is_vm_hugetlb_page(vma) || vma_is_dax(vma) ||
	    (vma->vm_flags & VM_SPECIAL))
		return -EINVAL;
	mc->vma = vma;
	return 0;
}

/* What setup said of each page, and the mode of the entry it installed. */
static void migrate_note_setup(struct migrate_call *mc)
{
	unsigned long i;

	for (i = 0; i < mc->nr; i++) {
		struct mmprobe_migrate_page *p = &mc->rep[i];
		unsigned long s = mc->src[i];

		if (s & MIGRATE_PFN_VALID)
			p->src |= MMPROBE_MIGRATE_SRC_PAGE;
		if (s & MIGRATE_PFN_MIGRATE)
			p->src |= MMPROBE_MIGRATE_SRC_MIGRATE;
		if (s & MIGRATE_PFN_WRITE)
			p->src |= MMPROBE_MIGRATE_SRC_WRITE;
#ifdef MIGRATE_PFN_COMPOUND
		if (s & MIGRATE_PFN_COMPOUND)
			p->src |= MMPROBE_MIGRATE_SRC_COMPOUND;
#endif
		if (!migrate_pfn_to_page(s) || !(s & MIGRATE_PFN_MIGRATE) ||
		    !(p->frozen.flags & MMPROBE_MIGRATE_PTE_MIGRATION))
			continue;
		if (p->frozen.flags & MMPROBE_MIGRATE_PTE_WRITE)
			p->mode = MMPROBE_MIGRATE_MODE_WRITE;
		else if (p->frozen.flags & MMPROBE_MIGRATE_PTE_EXCLUSIVE)
			p->mode = MMPROBE_MIGRATE_MODE_READ_EXCLUSIVE;
		else
			p->mode = MMPROBE_MIGRATE_MODE_READ;
	}
}

/*
 * Sleep @ms milliseconds while the range is frozen; -EINTR when killed.
 * jiffies is read once per round: read twice, it may pass @end in between,
 * and schedule_timeout() given a negative timeout complains with a stack
 * dump (seen on 6.12 under stress).
 */
static int migrate_hold(unsigned long ms)
{
	unsigned long end = jiffies + msecs_to_jiffies(ms);
	long left;

	while (!fatal_signal_pending(current)) {
		left = (long)(end - jiffies);
		if (left <= 0)
			break;
		schedule_timeout_killable(left);
	}
	return fatal_signal_pending(current) ? -EINTR : 0;
}

/*
 * A locked new page on @node for every frozen page, with its contents. The
 * old page is locked and unmapped everywhere, so nobody writes it; a page
 * without a new one is restored by migrate_vma_pages()/finalize.
 */
static void migrate_alloc_copy(struct migrate_call *mc, int node)
{
	const gfp_t gfp = GFP_HIGHUSER_MOVABLE | __GFP_THISNODE | __GFP_NOWARN;
	unsigned long i;

	for (i = 0; i < mc->nr; i++) {
		struct page *spage = migrate_pfn_to_page(mc->src[i]);
		struct folio *folio;
		struct page *dpage;

		if (!spage || !(mc->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		folio = page_folio(spage);
		if (!folio_test_anon(folio) || folio_test_ksm(folio)) {
			/* Page cache or KSM: see the top of this file. */
			mc->why[i] = MMPROBE_MIGRATE_REASON_NOT_ANON;
			continue;
		}
		if (folio_test_large(folio)) {
			/* Not collected without MIGRATE_VMA_SELECT_COMPOUND. */
			mc->why[i] = MMPROBE_MIGRATE_REASON_LARGE;
			continue;
		}
		dpage = alloc_pages_node(node, gfp, 0);
		if (!dpage) {
			mc->why[i] = MMPROBE_MIGRATE_REASON_NOMEM;
			continue;
		}
		lock_page(dpage);
		copy_highpage(dpage, spage);
		mc->dst[i] = migrate_pfn(page_to_pfn(dpage));
		mc->rep[i].src |= MMPROBE_MIGRATE_SRC_DST;
	}
}

/* Why setup left a page alone, from what its entry shows after setup. */
static u64 migrate_skip_reason(const struct mmprobe_migrate_pte *s)
{
	if (s->flags & MMPROBE_MIGRATE_PTE_MIGRATION)
		return MMPROBE_MIGRATE_REASON_BUSY;	/* someone else's */
	if (s->flags & MMPROBE_MIGRATE_PTE_SWAP)
		return MMPROBE_MIGRATE_REASON_NOT_PRESENT;
	if (!(s->flags & MMPROBE_MIGRATE_PTE_PRESENT))
		return MMPROBE_MIGRATE_REASON_HOLE;
	if (s->flags & MMPROBE_MIGRATE_PAGE_ZERO)
		return MMPROBE_MIGRATE_REASON_ZERO;
	if (s->flags & MMPROBE_MIGRATE_PAGE_LARGE)
		return MMPROBE_MIGRATE_REASON_LARGE;
	if (s->flags & MMPROBE_MIGRATE_PAGE_PINNED)
		return MMPROBE_MIGRATE_REASON_PINNED;
	return MMPROBE_MIGRATE_REASON_BUSY;
}

static void migrate_results(struct migrate_call *mc, struct mmprobe_migrate_args *args)
{
	const u64 frozen = MMPROBE_MIGRATE_SRC_PAGE | MMPROBE_MIGRATE_SRC_MIGRATE;
	unsigned long i, skipped = 0, restored = 0;

	args->nr_frozen = 0;
	args->nr_migrated = 0;
	for (i = 0; i < mc->nr; i++) {
		struct mmprobe_migrate_page *p = &mc->rep[i];

		p->addr = mc->start + (i << PAGE_SHIFT);
		if ((p->src & frozen) != frozen) {
			p->result = MMPROBE_MIGRATE_SKIPPED;
			p->reason = migrate_skip_reason(&p->frozen);
			skipped++;
			continue;
		}
		args->nr_frozen++;
		if (p->src & MMPROBE_MIGRATE_SRC_PAGES_MIGRATE) {
			p->result = MMPROBE_MIGRATE_MIGRATED;
			args->nr_migrated++;
		} else {
			p->result = MMPROBE_MIGRATE_RESTORED;
			p->reason = mc->why[i] ?: MMPROBE_MIGRATE_REASON_REFUSED;
			restored++;
		}
	}
	mmprobe_stat_add(MMPROBE_STAT_MIGRATE_MIGRATED, args->nr_migrated);
	mmprobe_stat_add(MMPROBE_STAT_MIGRATE_RESTORED, restored);
	mmprobe_stat_add(MMPROBE_STAT_MIGRATE_SKIPPED, skipped);
}

/*
 * setup, snapshot, hold, allocate and copy, pages, finalize, snapshot: all
 * under mmap_read_lock(), which keeps the VMA and the upper page tables.
 */
static int migrate_run(struct migrate_call *mc, struct mmprobe_migrate_args *args)
{
	struct migrate_vma mv = {
		.start		= mc->start,
		.end		= mc->start + (mc->nr << PAGE_SHIFT),
		.src		= mc->src,
		.dst		= mc->dst,
		.pgmap_owner	= (void *)migrate_owner,
		.flags		= MIGRATE_VMA_SELECT_SYSTEM,
	};
	bool abort = args->flags & MMPROBE_MIGRATE_ABORT;
	unsigned long i;
	int ret;

	if (mmap_read_lock_killable(mc->mm))
		return -EINTR;
	ret = migrate_find_vma(mc);
	if (ret)
		goto out;
	mv.vma = mc->vma;

	migrate_walk(mc, offsetof(struct mmprobe_migrate_page, before));
	ret = migrate_vma_setup(&mv);
	if (ret) {
		ret = -EINVAL;
		goto out;
	}
	/* Frozen: every collected folio is locked behind migration entries. */
	migrate_walk(mc, offsetof(struct mmprobe_migrate_page, frozen));
	migrate_note_setup(mc);

	if (args->hold_ms)
		ret = migrate_hold(args->hold_ms);
	if (ret || abort)
		for (i = 0; i < mc->nr; i++)
			mc->why[i] = MMPROBE_MIGRATE_REASON_ABORTED;
	else
		migrate_alloc_copy(mc, args->node);

	migrate_vma_pages(&mv);
	for (i = 0; i < mc->nr; i++)
		if (mc->dst[i] && (mc->src[i] & MIGRATE_PFN_MIGRATE))
			mc->rep[i].src |= MMPROBE_MIGRATE_SRC_PAGES_MIGRATE;
	migrate_vma_finalize(&mv);

	migrate_walk(mc, offsetof(struct mmprobe_migrate_page, after));
out:
	mmap_read_unlock(mc->mm);
	return ret;
}

static long migrate_check(const struct mmprobe_migrate_args *args)
{
	u64 end;

	if (args->flags & ~MMPROBE_MIGRATE_FLAGS)
		return -EINVAL;
	if (args->hold_ms > MMPROBE_MIGRATE_MAX_HOLD_MS)
		return -EINVAL;
	if (!args->len || !PAGE_ALIGNED(args->start) || !PAGE_ALIGNED(args->len))
		return -EINVAL;
	if (check_add_overflow(args->start, args->len, &end) || end > TASK_SIZE_MAX)
		return -EINVAL;
	if (args->len >> PAGE_SHIFT > MMPROBE_MIGRATE_MAX_PAGES)
		return -EINVAL;
	if (args->node >= MAX_NUMNODES || !node_online(args->node) ||
	    !node_state(args->node, N_MEMORY))
		return -EINVAL;
	return 0;
}

/* PFNs only for an opener with CAP_SYS_ADMIN (access.c). */
static void migrate_hide_pfns(struct migrate_call *mc)
{
	unsigned long i;

	for (i = 0; i < mc->nr; i++) {
		mc->rep[i].before.pfn = 0;
		mc->rep[i].frozen.pfn = 0;
		mc->rep[i].after.pfn = 0;
	}
}

static long migrate_ioctl_migrate(struct file *file,
				  struct mmprobe_migrate_args __user *uargs)
{
	struct mmprobe_migrate_args args;
	struct migrate_call mc = { .mm = file->private_data };
	long ret;

	if (copy_from_user(&args, uargs, sizeof(args)))
		return -EFAULT;
	ret = migrate_check(&args);
	if (ret)
		return ret;
	mmprobe_stat_inc(MMPROBE_STAT_MIGRATE_CALLS);

	mc.start = args.start;
	mc.nr = args.len >> PAGE_SHIFT;
	mc.src = kvcalloc(mc.nr, sizeof(*mc.src), GFP_KERNEL_ACCOUNT);
	mc.dst = kvcalloc(mc.nr, sizeof(*mc.dst), GFP_KERNEL_ACCOUNT);
	mc.why = kvcalloc(mc.nr, sizeof(*mc.why), GFP_KERNEL_ACCOUNT);
	mc.rep = kvcalloc(mc.nr, sizeof(*mc.rep), GFP_KERNEL_ACCOUNT);
	ret = -ENOMEM;
	if (!mc.src || !mc.dst || !mc.why || !mc.rep)
		goto out;

	ret = -ESRCH;
	if (!mmget_not_zero(mc.mm))
		goto out;
	ret = migrate_run(&mc, &args);
	mmput(mc.mm);
	if (ret)
		goto out;

	migrate_results(&mc, &args);
	if (!mmprobe_access_pfn(file))
		migrate_hide_pfns(&mc);
	ret = -EFAULT;
	if (args.pages && copy_to_user(u64_to_user_ptr(args.pages), mc.rep,
				       mc.nr * sizeof(*mc.rep)))
		goto out;
	if (copy_to_user(uargs, &args, sizeof(args)))
		goto out;
	ret = 0;
out:
	kvfree(mc.rep);
	kvfree(mc.why);
	kvfree(mc.dst);
	kvfree(mc.src);
	return ret;
}

static long migrate_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case MMPROBE_IOC_MIGRATE:
		return mmprobe_err(migrate_ioctl_migrate(file, (void __user *)arg));
	default:
		return mmprobe_err(-ENOTTY);
	}
}

/* The file's state is the opener's mm, pinned by mmgrab() until release. */
static int migrate_open(struct inode *inode, struct file *file)
{
	if (!current->mm)
		return mmprobe_err(-EINVAL);
	mmgrab(current->mm);
	file->private_data = current->mm;
	return 0;
}

static int migrate_release(struct inode *inode, struct file *file)
{
	mmdrop(file->private_data);
	return 0;
}

static const struct file_operations migrate_fops = {
	.owner		= THIS_MODULE,
	.open		= migrate_open,
	.release	= migrate_release,
	.unlocked_ioctl	= migrate_ioctl,
	.llseek		= noop_llseek,
};

/**
 * mmprobe_migrate_init() - create debugfs "migrate"
 * @root: the mmprobe debugfs directory
 *
 * Context: module init; no state outside the open files.
 */
void mmprobe_migrate_init(struct dentry *root)
{
	debugfs_create_file("migrate", 0600, root, NULL, &migrate_fops);
}
