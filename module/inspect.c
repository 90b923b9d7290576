// SPDX-License-Identifier: GPL-2.0
/*
 * inspect: what maps each address of a process, down to the folio.
 *
 * Write "<pid> <start> [<end>] [summary|binary] [max_lines=N]" to
 * /sys/kernel/debug/mmprobe/inspect, then read the report from the same
 * file: one line per page-table leaf or non-none, non-present entry that
 * intersects [start, end), totals by kind and level ("summary"), or one
 * struct mmprobe_inspect_entry per run of entries that differ only in
 * address and PFN ("binary").
 * Documentation/inspect.rst has the format.
 *
 * Locking: the page tables are read through mmprobe_walk() (walk.c, which
 * states what protects each step); this file adds only what binds a report
 * to its mm:
 *
 * - The mm: a write binds the file to an mm with mmgrab() (the struct stays,
 *   the address space may go), after mmprobe_access_mm() checked that the
 *   opener may see it; each chunk of the walk takes mmget_not_zero() first,
 *   so it never walks an address space that exit_mmap() tears down, and
 *   stops with a "cut ... reason=exited" line when the process is gone.
 *   .release drops the mmgrab().
 * - Pages: described in the walk's callbacks, under the lock of the entry
 *   that maps them. The report holds only numbers (PFNs only when the
 *   opener had CAP_SYS_ADMIN, never kernel pointers).
 *
 * Bounds: one chunk of the walk visits at most INSPECT_BUDGET entries and
 * fills at most INSPECT_BUF_SIZE bytes, then drops every lock; between chunks
 * the reader calls cond_resched() and stops on a fatal signal. A report has
 * at most max_lines lines (default INSPECT_MAX_LINES) before a "cut" line.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/mutex.h>
#include <linux/pgtable.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "line.h"
#include "mmprobe.h"
#include "mmprobe_uapi.h"
#include "page.h"
#include "walk.h"

/* Output buffered per chunk; one line never needs more than INSPECT_LINE_MAX. */
#define INSPECT_BUF_SIZE	(64 * 1024)
#define INSPECT_LINE_MAX	384
/* Entries (PTEs, PMDs, PUDs, empty upper levels) visited per mmap_lock hold. */
#define INSPECT_BUDGET		4096
/* Default limit of lines per report, overridden by "max_lines=N". */
#define INSPECT_MAX_LINES	BIT(24)
/* The longest command: "<pid> 0x<start> 0x<end> summary max_lines=<N>\n". */
#define INSPECT_CMD_MAX		128
#define INSPECT_TOKEN_MAX	32

static const char * const inspect_level_names[MMPROBE_NR_LEVELS] = {
	[MMPROBE_LEVEL_PTE] = "pte",
	[MMPROBE_LEVEL_PMD] = "pmd",
	[MMPROBE_LEVEL_PUD] = "pud",
};

static const u64 inspect_level_uapi[MMPROBE_NR_LEVELS] = {
	[MMPROBE_LEVEL_PTE] = MMPROBE_INSPECT_LEVEL_PTE,
	[MMPROBE_LEVEL_PMD] = MMPROBE_INSPECT_LEVEL_PMD,
	[MMPROBE_LEVEL_PUD] = MMPROBE_INSPECT_LEVEL_PUD,
};

/* Binary records carry page.h's kinds as they are. */
static_assert(MMPROBE_INSPECT_KIND_ANON == (int)MMPROBE_KIND_ANON);
static_assert(MMPROBE_INSPECT_KIND_SWAP == (int)MMPROBE_KIND_SWAP);
static_assert(MMPROBE_INSPECT_KIND_MARKER == (int)MMPROBE_KIND_MARKER);
static_assert(MMPROBE_INSPECT_KIND_PFNMAP + 1 == (int)MMPROBE_NR_KINDS);

/* The access a migration or device entry keeps. */
enum inspect_mode {
	INSPECT_MODE_NONE,
	INSPECT_MODE_READ,
	INSPECT_MODE_READ_EXCLUSIVE,
	INSPECT_MODE_WRITE,
};

static const char * const inspect_mode_names[] = {
	[INSPECT_MODE_READ] = "read",
	[INSPECT_MODE_READ_EXCLUSIVE] = "read_exclusive",
	[INSPECT_MODE_WRITE] = "write",
};

static const u64 inspect_mode_flags[] = {
	[INSPECT_MODE_READ] = MMPROBE_INSPECT_MODE_READ,
	[INSPECT_MODE_READ_EXCLUSIVE] = MMPROBE_INSPECT_MODE_READ_EXCLUSIVE,
	[INSPECT_MODE_WRITE] = MMPROBE_INSPECT_MODE_WRITE,
};

/* Why a report ended early. */
enum inspect_cut {
	INSPECT_CUT_NONE,
	INSPECT_CUT_MAX_LINES,
	INSPECT_CUT_EXITED,
};

static const char * const inspect_cut_names[] = {
	[INSPECT_CUT_MAX_LINES] = "max_lines",
	[INSPECT_CUT_EXITED] = "exited",
};

static const u64 inspect_cut_flags[] = {
	[INSPECT_CUT_MAX_LINES] = MMPROBE_INSPECT_CUT_MAX_LINES,
	[INSPECT_CUT_EXITED] = MMPROBE_INSPECT_CUT_EXITED,
};

static const unsigned int inspect_level_shift[MMPROBE_NR_LEVELS] = {
	[MMPROBE_LEVEL_PTE] = PAGE_SHIFT,
	[MMPROBE_LEVEL_PMD] = PMD_SHIFT,
	[MMPROBE_LEVEL_PUD] = PUD_SHIFT,
};

/* Totals of one (kind, level) for "summary", in entries and base pages. */
struct inspect_totals {
	u64 entries;
	u64 pages;
	u64 exclusive;
	u64 shared;
	u64 pinned;
};

/**
 * struct inspect_file - the state of one open inspect file
 * @lock: serialises writes and reads of this file; protects all below
 * @mm: the bound address space, mmgrab()ed; NULL until a range is written
 * @start: first address of the range
 * @end: end of the range (exclusive)
 * @next: where the walk goes on
 * @max_lines: lines allowed in this report
 * @lines: lines produced so far
 * @summary: report totals instead of lines
 * @binary: report struct mmprobe_inspect_entry records instead of lines
 * @show_pfn: the opener had CAP_SYS_ADMIN
 * @limited: an entry was found after max_lines lines
 * @whole_pfn: the first PFN of the last large folio inspect_whole_folio()
 *	checked in this chunk, ULONG_MAX for none
 * @whole_first: the address its first page would be mapped at
 * @whole: what it found
 * @done: the report is complete: reads return end of file
 * @len: bytes in @buf
 * @off: bytes of @buf already read
 * @totals: the summary so far
 * @buf: output of the last chunk, INSPECT_BUF_SIZE bytes
 */
struct inspect_file {
	struct mutex lock;	/* serialises the file, see above */
	struct mm_struct *mm;
	unsigned long start;
	unsigned long end;
	unsigned long next;
	unsigned long max_lines;
	unsigned long lines;
	bool summary;
	bool binary;
	bool show_pfn;
	bool limited;
	unsigned long whole_pfn;
	unsigned long whole_first;
	bool whole;
	bool done;
	size_t len;
	size_t off;
	struct inspect_totals totals[MMPROBE_NR_KINDS][MMPROBE_NR_LEVELS];
	char buf[];
};

/* One entry as it will be reported; filled under the entry's lock. */
struct inspect_leaf {
	unsigned long addr;
	enum mmprobe_level level;
	enum mmprobe_kind kind;
	bool has_info;			/* @info describes the mapped page */
	bool has_pfn;
	bool has_flags;			/* write, dirty, young: present entries */
	unsigned long pfn;
	int write, dirty, young;
	int cont;			/* with has_flags; -1: no such bit */
	int soft_dirty, uffd_wp;
	int exclusive;			/* -1: not known or not anon */
	int pinned;
	int whole;			/* whole_folio=, -1: not reported */
	enum inspect_mode mode;		/* migration and device entries */
	unsigned int swap_type;
	unsigned long swap_offset;
	unsigned int marker;		/* MMPROBE_MARKER_* */
	struct mmprobe_page_info info;
};

/*
 * May one more entry be reported? Asked when an entry is found, so that a
 * report cut by max_lines is cut only if there is an entry left out.
 */
static bool inspect_may_emit(struct inspect_file *st)
{
	if (st->summary)
		return true;
	if (st->lines >= st->max_lines)
		st->limited = true;
	return !st->limited && st->len + INSPECT_LINE_MAX <= INSPECT_BUF_SIZE;
}

static int inspect_format(char *buf, size_t size, const struct inspect_leaf *l,
			  bool show_pfn)
{
	struct mmprobe_line t;

	mmprobe_line_init(&t, buf, size);
	mmprobe_line_hex(&t, "", l->addr);
	mmprobe_line_puts(&t, " ");
	mmprobe_line_puts(&t, inspect_level_names[l->level]);
	mmprobe_line_puts(&t, " ");
	mmprobe_line_puts(&t, mmprobe_kind_names[l->kind]);
	if (l->has_pfn && show_pfn)
		mmprobe_line_hex(&t, " pfn=", l->pfn);
	if (l->has_flags) {
		mmprobe_line_dec(&t, " write=", l->write);
		mmprobe_line_dec(&t, " dirty=", l->dirty);
		mmprobe_line_dec(&t, " young=", l->young);
		if (l->cont >= 0)
			mmprobe_line_dec(&t, " cont=", l->cont);
	}
	if (l->kind == MMPROBE_KIND_SWAP) {
		mmprobe_line_dec(&t, " type=", l->swap_type);
		mmprobe_line_dec(&t, " offset=", l->swap_offset);
		if (l->exclusive < 0)
			mmprobe_line_puts(&t, " exclusive=-");
		else
			mmprobe_line_dec(&t, " exclusive=", l->exclusive);
	}
	if (l->mode) {
		mmprobe_line_puts(&t, " mode=");
		mmprobe_line_puts(&t, inspect_mode_names[l->mode]);
	}
	if (l->kind == MMPROBE_KIND_MARKER) {
		mmprobe_line_dec(&t, " uffd_wp=", !!(l->marker & MMPROBE_MARKER_UFFD_WP));
		mmprobe_line_dec(&t, " poisoned=", !!(l->marker & MMPROBE_MARKER_POISONED));
		mmprobe_line_dec(&t, " guard=", !!(l->marker & MMPROBE_MARKER_GUARD));
	} else if (l->kind != MMPROBE_KIND_HWPOISON) {
		mmprobe_line_dec(&t, " soft_dirty=", l->soft_dirty);
		mmprobe_line_dec(&t, " uffd_wp=", l->uffd_wp);
	}
	if (l->has_info) {
		mmprobe_line_puts(&t, " ");
		t.len += mmprobe_page_info_format(t.buf + t.len, t.size - t.len, &l->info,
						  false);
	}
	if (l->whole >= 0)
		mmprobe_line_dec(&t, " whole_folio=", l->whole);
	mmprobe_line_puts(&t, "\n");
	return mmprobe_line_end(&t);
}

/* One record of a "binary" report: the values of inspect_format(). */
static int inspect_record(char *buf, const struct inspect_leaf *l, bool show_pfn)
{
	struct mmprobe_inspect_entry *r = (void *)buf;
	u64 f = 0;

	*r = (struct mmprobe_inspect_entry) {
		.addr = l->addr,
		.level = inspect_level_uapi[l->level],
		.kind = l->kind,
	};
	if (l->has_pfn && show_pfn) {
		f |= MMPROBE_INSPECT_HAS_PFN;
		r->pfn = l->pfn;
	}
	if (l->has_flags) {
		f |= MMPROBE_INSPECT_PRESENT;
		f |= l->write ? MMPROBE_INSPECT_WRITE : 0;
		f |= l->dirty ? MMPROBE_INSPECT_DIRTY : 0;
		f |= l->young ? MMPROBE_INSPECT_YOUNG : 0;
		if (l->cont >= 0)
			f |= MMPROBE_INSPECT_CONT_KNOWN | (l->cont ? MMPROBE_INSPECT_CONT : 0);
	}
	f |= l->soft_dirty > 0 ? MMPROBE_INSPECT_SOFT_DIRTY : 0;
	f |= l->uffd_wp > 0 ? MMPROBE_INSPECT_UFFD_WP : 0;
	if (l->exclusive >= 0)
		f |= MMPROBE_INSPECT_EXCLUSIVE_KNOWN |
		     (l->exclusive ? MMPROBE_INSPECT_EXCLUSIVE : 0);
	f |= l->pinned > 0 ? MMPROBE_INSPECT_PINNED : 0;
	if (l->whole >= 0)
		f |= MMPROBE_INSPECT_WHOLE_FOLIO_KNOWN |
		     (l->whole ? MMPROBE_INSPECT_WHOLE_FOLIO : 0);
	f |= inspect_mode_flags[l->mode];
	if (l->kind == MMPROBE_KIND_MARKER) {
		f |= l->marker & MMPROBE_MARKER_UFFD_WP ? MMPROBE_INSPECT_MARKER_UFFD_WP : 0;
		f |= l->marker & MMPROBE_MARKER_POISONED ? MMPROBE_INSPECT_MARKER_POISONED : 0;
		f |= l->marker & MMPROBE_MARKER_GUARD ? MMPROBE_INSPECT_MARKER_GUARD : 0;
	}
	if (l->kind == MMPROBE_KIND_SWAP) {
		r->swap_type = l->swap_type;
		r->swap_offset = l->swap_offset;
	}
	if (l->has_info) {
		f |= MMPROBE_INSPECT_HAS_FOLIO;
		r->order = l->info.order;
		r->refcount = l->info.refcount;
		r->mapcount = (s64)l->info.mapcount;
		r->entire_mapcount = l->info.entire_mapcount;
		r->folio_mapcount = l->info.folio_mapcount;
		r->node = l->info.node;
		if (l->info.double_map >= 0)
			f |= MMPROBE_INSPECT_DOUBLE_MAP_KNOWN |
			     (l->info.double_map ? MMPROBE_INSPECT_DOUBLE_MAP : 0);
	}
	r->flags = f;
	r->nr = 1;
	return sizeof(*r);
}

/*
 * Does @r continue the run of @last: the next address, the next PFN (when
 * shown) or swap offset, and every other field the same? Then @last takes it.
 * Field by field, cheapest first: this runs once per entry.
 */
static_assert(sizeof(struct mmprobe_inspect_entry) == 16 * sizeof(u64),
	      "a new field of struct mmprobe_inspect_entry: compare it here");
static bool inspect_record_extend(struct mmprobe_inspect_entry *last,
				  const struct mmprobe_inspect_entry *r, unsigned int shift)
{
	u64 pages = last->nr << (shift - PAGE_SHIFT);

	if (r->addr != last->addr + (last->nr << shift) || r->flags != last->flags ||
	    r->kind != last->kind || r->level != last->level)
		return false;
	if ((r->flags & MMPROBE_INSPECT_HAS_PFN) && r->pfn != last->pfn + pages)
		return false;
	if (r->kind == MMPROBE_INSPECT_KIND_SWAP &&
	    (r->swap_offset != last->swap_offset + pages || r->swap_type != last->swap_type))
		return false;
	if (r->order != last->order || r->refcount != last->refcount ||
	    r->mapcount != last->mapcount || r->entire_mapcount != last->entire_mapcount ||
	    r->folio_mapcount != last->folio_mapcount || r->node != last->node)
		return false;
	last->nr++;
	return true;
}

static void inspect_count(struct inspect_file *st, const struct inspect_leaf *l)
{
	struct inspect_totals *t = &st->totals[l->kind][l->level];
	u64 pages = 1ULL << (inspect_level_shift[l->level] - PAGE_SHIFT);

	t->entries++;
	t->pages += pages;
	if (l->exclusive == 1)
		t->exclusive += pages;
	else if (l->exclusive == 0)
		t->shared += pages;
	if (l->pinned > 0)
		t->pinned += pages;
}

/* Report one entry. Called under the lock of the entry. */
static void inspect_emit(struct inspect_file *st, const struct inspect_leaf *l)
{
	if (st->summary) {
		inspect_count(st, l);
		return;
	}
	if (st->binary) {
		struct mmprobe_inspect_entry *r = (void *)(st->buf + st->len);

		inspect_record(st->buf + st->len, l, st->show_pfn);
		/* a run goes on only within a chunk: r[-1] is of this one */
		if (st->len && inspect_record_extend(r - 1, r, inspect_level_shift[l->level]))
			return;
		st->len += sizeof(*r);
	} else {
		st->len += inspect_format(st->buf + st->len, INSPECT_BUF_SIZE - st->len,
				  l, st->show_pfn);
	}
	st->lines++;
}

/*
 * Is the folio of @page mapped whole inside the report's range: by the PMD
 * or PUD entry @l (or, for an arm64 hugetlb folio of contiguous PMDs, by
 * the PMDs around it, which hugetlb maps all or none of: the folio's
 * extent decides), or by consecutive PTEs of @table (the PTE table of @l,
 * locked; NULL at other levels) in the order of its pages, what
 * folio_pte_batch() would find? A folio across two PTE tables is not. Each
 * large folio is read once per chunk. The caller holds the entry's lock.
 */
static bool inspect_whole_folio(struct inspect_file *st, const struct inspect_leaf *l,
				pte_t *table, struct page *page)
{
	struct folio *folio = page_folio(page);
	unsigned long head = folio_pfn(folio), nr = folio_nr_pages(folio);
	unsigned long before = (page_to_pfn(page) - head) << PAGE_SHIFT;
	unsigned long first, last, i;
	bool whole;

	if (before > l->addr)
		return false;
	first = l->addr - before;
	if (l->level != MMPROBE_LEVEL_PTE)
		return first >= st->start && first + (nr << PAGE_SHIFT) <= st->end;
	if (nr == 1)
		return true;
	if (!table)
		return false;
	if (head == st->whole_pfn && first == st->whole_first)
		return st->whole;
	last = first + (nr << PAGE_SHIFT);
	whole = first >= st->start && last <= st->end &&
		(first & PMD_MASK) == ((last - 1) & PMD_MASK);
	for (i = 0; whole && i < nr; i++) {
		pte_t pte = ptep_get(table + pte_index(first) + i);

		whole = pte_present(pte) && pte_pfn(pte) == head + i;
	}
	st->whole_pfn = head;
	st->whole_first = first;
	st->whole = whole;
	return whole;
}

/*
 * A present entry mapping @pfn (@table: see inspect_whole_folio()). The
 * caller holds the lock of the entry, which keeps the page mapped and so
 * alive while it is described.
 */
static void inspect_present(struct inspect_file *st, struct inspect_leaf *l,
			    struct vm_area_struct *vma, pte_t *table,
			    unsigned long pfn, bool special)
{
	struct page *page = mmprobe_present_page(vma, pfn, special);

	l->pfn = pfn;
	l->has_pfn = true;
	l->has_flags = true;
	l->exclusive = -1;
	if (!page) {
		l->kind = MMPROBE_KIND_PFNMAP;
		return;
	}
	mmprobe_page_info_fill(&l->info, page, vma, l->level != MMPROBE_LEVEL_PTE);
	l->has_info = true;
	l->kind = l->info.kind;
	l->exclusive = l->info.exclusive;
	l->pinned = l->info.pinned;
	l->whole = inspect_whole_folio(st, l, table, page);
}

/*
 * The folio behind a device-private or device-exclusive entry: the entry
 * keeps it mapped (its mapcount counts the entry), so under the entry's
 * lock it is described as the folio of a present entry is.
 */
static void inspect_device_folio(struct inspect_leaf *l, struct vm_area_struct *vma)
{
	if (!pfn_valid(l->pfn))
		return;
	mmprobe_page_info_fill(&l->info, pfn_to_page(l->pfn), vma,
			       l->level != MMPROBE_LEVEL_PTE);
	l->has_info = true;
	l->exclusive = l->info.exclusive;
	l->pinned = l->info.pinned;
}

/* A software leaf entry: swap, migration, device, hwpoison or marker. */
static void inspect_softleaf(struct inspect_leaf *l, struct vm_area_struct *vma,
			     swp_entry_t entry)
{
	enum mmprobe_leaf type = mmprobe_leaf_type(entry);

	l->exclusive = -1;
	switch (type) {
	case MMPROBE_LEAF_MIGRATION_READ:
	case MMPROBE_LEAF_MIGRATION_READ_EXCLUSIVE:
	case MMPROBE_LEAF_MIGRATION_WRITE:
		l->kind = MMPROBE_KIND_MIGRATION;
		l->mode = type == MMPROBE_LEAF_MIGRATION_WRITE ? INSPECT_MODE_WRITE :
			  type == MMPROBE_LEAF_MIGRATION_READ ? INSPECT_MODE_READ :
			  INSPECT_MODE_READ_EXCLUSIVE;
		break;
	case MMPROBE_LEAF_DEVICE_PRIVATE_READ:
	case MMPROBE_LEAF_DEVICE_PRIVATE_WRITE:
		l->kind = MMPROBE_KIND_DEVICE_PRIVATE;
		l->mode = type == MMPROBE_LEAF_DEVICE_PRIVATE_WRITE ? INSPECT_MODE_WRITE :
			  INSPECT_MODE_READ;
		break;
	case MMPROBE_LEAF_DEVICE_EXCLUSIVE_READ:
	case MMPROBE_LEAF_DEVICE_EXCLUSIVE_WRITE:
		l->mode = type == MMPROBE_LEAF_DEVICE_EXCLUSIVE_WRITE ? INSPECT_MODE_WRITE :
			  INSPECT_MODE_READ;
		fallthrough;
	case MMPROBE_LEAF_DEVICE_EXCLUSIVE:
		l->kind = MMPROBE_KIND_DEVICE_EXCLUSIVE;
		break;
	case MMPROBE_LEAF_HWPOISON:
		l->kind = MMPROBE_KIND_HWPOISON;
		break;
	case MMPROBE_LEAF_MARKER:
		l->kind = MMPROBE_KIND_MARKER;
		l->marker = mmprobe_leaf_marker(entry);
		return;
	default:
		/* a swap entry, or one this module cannot name: type and offset */
		l->kind = MMPROBE_KIND_SWAP;
		l->swap_type = swp_type(entry);
		l->swap_offset = swp_offset(entry);
		return;
	}
	l->pfn = mmprobe_leaf_pfn(entry);
	l->has_pfn = true;
	if (l->kind == MMPROBE_KIND_DEVICE_PRIVATE || l->kind == MMPROBE_KIND_DEVICE_EXCLUSIVE)
		inspect_device_folio(l, vma);
}

/*
 * A PTE-encoded entry: a PTE, or a hugetlb entry at any level (hugetlb
 * encodes its PMD and PUD entries as PTEs, see huge_ptep_get()).
 */
static void inspect_pte_leaf(struct inspect_file *st, struct mmprobe_walk *walk,
			     unsigned long addr, enum mmprobe_level level, pte_t pte)
{
	struct inspect_leaf l = { .addr = addr, .level = level, .pinned = -1, .whole = -1 };

	if (pte_present(pte)) {
		l.write = !!pte_write(pte);
		l.dirty = !!pte_dirty(pte);
		l.young = !!pte_young(pte);
		l.cont = mmprobe_pte_cont(pte);
		l.soft_dirty = !!pte_soft_dirty(pte);
		l.uffd_wp = !!mmprobe_pte_uffd_wp(pte);
		inspect_present(st, &l, walk->vma, walk->table,
				mmprobe_walk_pte_pfn(pte, level), pte_special(pte));
	} else {
		l.soft_dirty = !!pte_swp_soft_dirty(pte);
		l.uffd_wp = !!mmprobe_pte_swp_uffd_wp(pte);
		inspect_softleaf(&l, walk->vma, mmprobe_pte_to_leaf(pte));
		if (l.kind == MMPROBE_KIND_SWAP)
			l.exclusive = mmprobe_pte_swp_exclusive(pte);
	}
	inspect_emit(st, &l);
}

/* A PMD leaf or non-present PMD; the caller holds the PMD lock. */
static void inspect_pmd_leaf(struct inspect_file *st, struct vm_area_struct *vma,
			     unsigned long addr, pmd_t pmd)
{
	struct inspect_leaf l = {
		.addr = addr, .level = MMPROBE_LEVEL_PMD, .pinned = -1, .whole = -1,
	};

	if (pmd_present(pmd)) {
		l.write = !!pmd_write(pmd);
		l.dirty = !!pmd_dirty(pmd);
		l.young = !!pmd_young(pmd);
		l.cont = mmprobe_pte_cont(__pte(pmd_val(pmd)));
		l.soft_dirty = !!pmd_soft_dirty(pmd);
		l.uffd_wp = !!mmprobe_pmd_uffd_wp(pmd);
		inspect_present(st, &l, vma, NULL, pmd_pfn(pmd), mmprobe_pmd_special(pmd));
	} else {
		l.soft_dirty = !!pmd_swp_soft_dirty(pmd);
		l.uffd_wp = !!mmprobe_pmd_swp_uffd_wp(pmd);
		inspect_softleaf(&l, vma, mmprobe_pmd_to_leaf(pmd));
	}
	inspect_emit(st, &l);
}

/* A PUD leaf (DAX or huge PFN map); the caller holds the PUD lock. */
static void inspect_pud_leaf(struct inspect_file *st, struct vm_area_struct *vma,
			     unsigned long addr, pud_t pud)
{
	struct inspect_leaf l = {
		.addr = addr, .level = MMPROBE_LEVEL_PUD, .pinned = -1, .whole = -1,
	};

	l.write = !!pud_write(pud);
	l.dirty = mmprobe_pud_dirty(pud);
	l.young = !!pud_young(pud);
	l.cont = mmprobe_pte_cont(__pte(pud_val(pud)));
	l.soft_dirty = mmprobe_pud_soft_dirty(pud);
	inspect_present(st, &l, vma, NULL, pud_pfn(pud), mmprobe_pud_special(pud));
	inspect_emit(st, &l);
}

/*
 * The walk's callbacks: each reports one entry, under its lock, unless the
 * report is full; then the chunk ends there and the next one starts again
 * at that entry.
 */
static int inspect_walk_pte(struct mmprobe_walk *walk, unsigned long addr,
			    unsigned long end, enum mmprobe_level level, pte_t pte)
{
	struct inspect_file *st = walk->private;

	if (!inspect_may_emit(st))
		return MMPROBE_WALK_STOP;
	/* A hugetlb entry is reported at the start of its huge page. */
	addr &= ~((1UL << inspect_level_shift[level]) - 1);
	inspect_pte_leaf(st, walk, addr, level, pte);
	return 0;
}

static int inspect_walk_pmd(struct mmprobe_walk *walk, unsigned long addr,
			    unsigned long end, pmd_t pmd)
{
	struct inspect_file *st = walk->private;

	if (!inspect_may_emit(st))
		return MMPROBE_WALK_STOP;
	inspect_pmd_leaf(st, walk->vma, addr & PMD_MASK, pmd);
	return 0;
}

static int inspect_walk_pud(struct mmprobe_walk *walk, unsigned long addr,
			    unsigned long end, pud_t pud)
{
	struct inspect_file *st = walk->private;

	if (!inspect_may_emit(st))
		return MMPROBE_WALK_STOP;
	inspect_pud_leaf(st, walk->vma, addr & PUD_MASK, pud);
	return 0;
}

static const struct mmprobe_walk_ops inspect_walk_ops = {
	.pte	= inspect_walk_pte,
	.pmd	= inspect_walk_pmd,
	.pud	= inspect_walk_pud,
};

/* One chunk of the walk, from st->next. Called with the mmap lock held. */
static void inspect_walk_chunk(struct inspect_file *st, struct mm_struct *mm)
{
	struct mmprobe_walk walk = {
		.ops	= &inspect_walk_ops,
		.mm	= mm,
		.private = st,
		.budget	= INSPECT_BUDGET,
	};
	unsigned long addr;

	st->whole_pfn = ULONG_MAX;
	addr = mmprobe_walk(&walk, st->next, st->end);
	st->next = max(addr, st->next);
	mmprobe_stat_add(MMPROBE_STAT_INSPECT_RETRIES, walk.retries);
}

static __printf(2, 3) void inspect_print(struct inspect_file *st, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	st->len += vscnprintf(st->buf + st->len, INSPECT_BUF_SIZE - st->len, fmt, args);
	va_end(args);
}

/* The end of a report: totals for "summary", and why it was cut, if it was. */
static void inspect_finish(struct inspect_file *st, enum inspect_cut cut)
{
	u64 entries = 0, pages = 0;
	int kind, level;

	for (kind = 0; st->summary && kind < MMPROBE_NR_KINDS; kind++) {
		for (level = 0; level < MMPROBE_NR_LEVELS; level++) {
			const struct inspect_totals *t = &st->totals[kind][level];

			if (!t->entries)
				continue;
			inspect_print(st, "%s %s entries=%llu pages=%llu",
				      mmprobe_kind_names[kind], inspect_level_names[level],
				      t->entries, t->pages);
			inspect_print(st, " exclusive=%llu shared=%llu pinned=%llu\n",
				      t->exclusive, t->shared, t->pinned);
			entries += t->entries;
			pages += t->pages;
		}
	}
	if (st->summary)
		inspect_print(st, "total entries=%llu pages=%llu\n", entries, pages);
	if (cut && st->binary) {
		struct mmprobe_inspect_entry *r = (void *)(st->buf + st->len);

		memset(r, 0, sizeof(*r));
		r->addr = st->next;
		r->flags = MMPROBE_INSPECT_CUT | inspect_cut_flags[cut];
		st->len += sizeof(*r);
	} else if (cut) {
		inspect_print(st, "cut 0x%lx reason=%s\n", st->next, inspect_cut_names[cut]);
	}
	if (cut)
		mmprobe_stat_inc(MMPROBE_STAT_INSPECT_CUTS);
	st->done = true;
}

/*
 * Produce the next chunk of the report into st->buf (which is empty).
 * Context: st->lock held; takes and drops the mmap lock of st->mm.
 */
static int inspect_fill(struct inspect_file *st)
{
	struct mm_struct *mm = st->mm;
	unsigned long lines = st->lines;

	if (fatal_signal_pending(current))
		return -EINTR;
	if (st->limited) {
		inspect_finish(st, INSPECT_CUT_MAX_LINES);
		return 0;
	}
	if (st->next >= st->end) {
		inspect_finish(st, INSPECT_CUT_NONE);
		return 0;
	}
	if (!mmget_not_zero(mm)) {
		inspect_finish(st, INSPECT_CUT_EXITED);
		return 0;
	}
	if (mmap_read_lock_killable(mm)) {
		mmput(mm);
		return -EINTR;
	}
	inspect_walk_chunk(st, mm);
	mmap_read_unlock(mm);
	mmput(mm);
	mmprobe_stat_add(MMPROBE_STAT_INSPECT_LINES, st->lines - lines);
	return 0;
}

/*
 * Copy what the last chunk produced; a binary report in whole records.
 * Return: bytes copied, or a negative errno.
 */
static ssize_t inspect_copy(struct inspect_file *st, char __user *ubuf, size_t count)
{
	size_t n = min(count, st->len - st->off);

	if (st->binary) {
		n -= n % sizeof(struct mmprobe_inspect_entry);
		if (!n && st->len > st->off)
			return -EINVAL;
	}
	if (copy_to_user(ubuf, st->buf + st->off, n))
		return -EFAULT;
	st->off += n;
	return n;
}

/*
 * Fill the user's buffer chunk by chunk (each chunk takes and drops the
 * locks), until it is full or the report ends; a fatal signal stops it.
 */
static ssize_t inspect_read(struct file *file, char __user *ubuf, size_t count,
			    loff_t *ppos)
{
	struct inspect_file *st = file->private_data;
	size_t copied = 0;
	ssize_t ret = 0;

	if (mutex_lock_killable(&st->lock))
		return mmprobe_err(-EINTR);
	if (!st->mm) {
		ret = -EINVAL;
		goto out;
	}
	while (copied < count) {
		if (st->off < st->len) {
			ret = inspect_copy(st, ubuf + copied, count - copied);
			if (ret <= 0)
				break;
			copied += ret;
			continue;
		}
		if (st->done)
			break;
		st->off = 0;
		st->len = 0;
		ret = inspect_fill(st);
		if (ret)
			break;
		cond_resched();
	}
	if (copied)
		ret = copied;	/* partial progress wins over a later error */
out:
	mutex_unlock(&st->lock);
	return mmprobe_err(ret);
}

struct inspect_cmd {
	int pid;
	unsigned long start;
	unsigned long end;	/* 0: start + PAGE_SIZE */
	unsigned long max_lines;
	bool summary;
	bool binary;
};

/* "<pid> <start> [<end>] [summary|binary] [max_lines=N]", in that order. */
static int inspect_parse(const char *buf, struct inspect_cmd *cmd)
{
	char tok[5][INSPECT_TOKEN_MAX];
	char extra;
	int i, n;

	n = sscanf(buf, "%31s %31s %31s %31s %31s %c", tok[0], tok[1], tok[2],
		   tok[3], tok[4], &extra);
	if (n < 2 || n > 5)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (strlen(tok[i]) >= INSPECT_TOKEN_MAX - 1)
			return -EINVAL;	/* possibly truncated */
	if (kstrtoint(tok[0], 10, &cmd->pid) || cmd->pid < 0)
		return -EINVAL;
	if (mmprobe_parse_addr(tok[1], &cmd->start))
		return -EINVAL;
	cmd->end = 0;
	cmd->summary = false;
	cmd->max_lines = INSPECT_MAX_LINES;
	i = 2;
	if (i < n && tok[i][0] == '0') {
		/* An explicit end of 0 is not above start (0 means "none" here). */
		if (mmprobe_parse_addr(tok[i], &cmd->end) || !cmd->end)
			return -EINVAL;
		i++;
	}
	cmd->binary = false;
	if (i < n && !strcmp(tok[i], "summary")) {
		cmd->summary = true;
		i++;
	} else if (i < n && !strcmp(tok[i], "binary")) {
		cmd->binary = true;
		i++;
	}
	if (i < n && str_has_prefix(tok[i], "max_lines=")) {
		if (kstrtoul(tok[i] + strlen("max_lines="), 10, &cmd->max_lines) ||
		    !cmd->max_lines)
			return -EINVAL;
		i++;
	}
	return i == n ? 0 : -EINVAL;
}

static ssize_t inspect_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	struct inspect_file *st = file->private_data;
	char buf[INSPECT_CMD_MAX];
	struct inspect_cmd cmd;
	struct mm_struct *mm, *old;
	int ret;

	if (!count || count >= sizeof(buf))
		return mmprobe_err(-EINVAL);
	if (copy_from_user(buf, ubuf, count))
		return mmprobe_err(-EFAULT);
	buf[count] = '\0';
	ret = inspect_parse(buf, &cmd);
	if (ret)
		return mmprobe_err(ret);
	if (!cmd.end && check_add_overflow(cmd.start, PAGE_SIZE, &cmd.end))
		return mmprobe_err(-EINVAL);
	if (!PAGE_ALIGNED(cmd.start) || !PAGE_ALIGNED(cmd.end) || cmd.start >= cmd.end)
		return mmprobe_err(-EINVAL);

	mm = mmprobe_access_mm(file, cmd.pid);
	if (IS_ERR(mm))
		return mmprobe_err(PTR_ERR(mm));
	if (cmd.end > mm->task_size) {
		mmdrop(mm);
		return mmprobe_err(-EINVAL);
	}

	if (mutex_lock_killable(&st->lock)) {
		mmdrop(mm);
		return mmprobe_err(-EINTR);
	}
	old = st->mm;
	st->mm = mm;
	st->start = cmd.start;
	st->end = cmd.end;
	st->next = cmd.start;
	st->max_lines = cmd.max_lines;
	st->lines = 0;
	st->summary = cmd.summary;
	st->binary = cmd.binary;
	st->show_pfn = mmprobe_access_pfn(file);
	st->limited = false;
	st->done = false;
	st->len = 0;
	st->off = 0;
	memset(st->totals, 0, sizeof(st->totals));
	mutex_unlock(&st->lock);
	if (old)
		mmdrop(old);
	mmprobe_stat_inc(MMPROBE_STAT_INSPECT_REPORTS);
	return count;
}

static int inspect_open(struct inode *inode, struct file *file)
{
	struct inspect_file *st;

	st = kvmalloc(struct_size(st, buf, INSPECT_BUF_SIZE), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	memset(st, 0, sizeof(*st));	/* all but the output buffer */
	mutex_init(&st->lock);
	file->private_data = st;
	/* Reads and writes ignore the file position: write, then read. */
	return stream_open(inode, file);
}

static int inspect_release(struct inode *inode, struct file *file)
{
	struct inspect_file *st = file->private_data;

	if (st->mm)
		mmdrop(st->mm);
	mutex_destroy(&st->lock);
	kvfree(st);
	return 0;
}

static const struct file_operations inspect_fops = {
	.owner		= THIS_MODULE,
	.open		= inspect_open,
	.read		= inspect_read,
	.write		= inspect_write,
	.release	= inspect_release,
};

/**
 * mmprobe_inspect_init() - create debugfs "inspect"
 * @root: the mmprobe debugfs directory
 *
 * Context: module init.
 */
void mmprobe_inspect_init(struct dentry *root)
{
	debugfs_create_file("inspect", 0600, root, NULL, &inspect_fops);
}
