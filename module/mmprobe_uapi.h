/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mmprobe private user-space ABI.
 *
 * Shared by the module and its selftests. Every structure uses __u64 fields
 * only, with explicit padding; every flags field rejects unknown bits with
 * EINVAL. Fields are marked (in) or (out).
 */
#ifndef _MMPROBE_UAPI_H
#define _MMPROBE_UAPI_H

#include <linux/types.h>
#include <linux/const.h>
#include <linux/ioctl.h>

/* Bumped whenever a structure, ioctl number or text key changes meaning. */
#define MMPROBE_ABI_VERSION	4

#define MMPROBE_IOC_MAGIC	'M'

/* ---- pin: /sys/kernel/debug/mmprobe/pin (ioctl numbers 0x10-0x1f) ---- */

/* How MMPROBE_PIN_IOC_TAKE holds the pages. 0 is reserved. */
enum mmprobe_pin_method {
	MMPROBE_PIN_METHOD_NONE = 0,
	MMPROBE_PIN_METHOD_PUP,		/* pin_user_pages() */
	MMPROBE_PIN_METHOD_PUP_FAST,	/* pin_user_pages_fast() */
	MMPROBE_PIN_METHOD_GUP,		/* get_user_pages(): references */
	MMPROBE_PIN_METHOD_GUP_FAST,	/* get_user_pages_fast(): references */
	MMPROBE_PIN_NR_METHODS,
};

/* struct mmprobe_pin_take.flags */
#define MMPROBE_PIN_WRITE	_BITULL(0)	/* FOLL_WRITE */
#define MMPROBE_PIN_LONGTERM	_BITULL(1)	/* FOLL_LONGTERM, pins only */

/**
 * struct mmprobe_pin_take - MMPROBE_PIN_IOC_TAKE
 * @addr: (in) page-aligned start in the caller's address space
 * @nr_pages: (in) number of pages, at least 1
 * @method: (in) enum mmprobe_pin_method
 * @flags: (in) MMPROBE_PIN_WRITE, MMPROBE_PIN_LONGTERM
 * @handle: (out) names this take in later ioctls; never 0
 * @nr_pinned: (out) pages held, from @addr on; fewer than @nr_pages when
 *	the kernel stopped early (a partial take is not an error)
 */
struct mmprobe_pin_take {
	__u64 addr;
	__u64 nr_pages;
	__u64 method;
	__u64 flags;
	__u64 handle;
	__u64 nr_pinned;
};

/* struct mmprobe_pin_range.flags */
#define MMPROBE_PIN_INFO_NOW	_BITULL(0)	/* INFO: describe the pages now */
#define MMPROBE_PIN_UNPIN_ALL	_BITULL(1)	/* UNPIN: every take of the session */

/**
 * struct mmprobe_pin_range - MMPROBE_PIN_IOC_{INFO,READ,UNPIN}
 * @handle: (in) from MMPROBE_PIN_IOC_TAKE (0 with MMPROBE_PIN_UNPIN_ALL)
 * @index: (in) first page of the take, 0 .. nr_pinned - 1
 * @nr_pages: (in) number of pages from @index on
 * @buf: (in) user pointer: INFO fills @nr_pages struct mmprobe_pin_page,
 *	READ copies @nr_pages pages of data; 0 for UNPIN
 * @flags: (in) MMPROBE_PIN_INFO_NOW for INFO, MMPROBE_PIN_UNPIN_ALL for UNPIN
 * @nr_done: (out) pages described, copied or released
 */
struct mmprobe_pin_range {
	__u64 handle;
	__u64 index;
	__u64 nr_pages;
	__u64 buf;
	__u64 flags;
	__u64 nr_done;
};

/* What a page is; the values of module/page.h. 0 is reserved. */
enum mmprobe_pin_kind {
	MMPROBE_PIN_KIND_NONE = 0,
	MMPROBE_PIN_KIND_ANON,
	MMPROBE_PIN_KIND_FILE,
	MMPROBE_PIN_KIND_SHMEM,
	MMPROBE_PIN_KIND_ZERO,
	MMPROBE_PIN_KIND_HUGE_ZERO,
	MMPROBE_PIN_KIND_HUGETLB,
	MMPROBE_PIN_KIND_KSM,
};

/* The entry that mapped the address. 0: none, or not known. */
enum mmprobe_pin_level {
	MMPROBE_PIN_LEVEL_NONE = 0,
	MMPROBE_PIN_LEVEL_PTE,
	MMPROBE_PIN_LEVEL_PMD,
	MMPROBE_PIN_LEVEL_PUD,
};

/* How the session holds a page. 0 is reserved. */
enum mmprobe_pin_state {
	MMPROBE_PIN_STATE_NONE = 0,
	MMPROBE_PIN_STATE_PINNED,	/* FOLL_PIN: unpin_user_page() releases it */
	MMPROBE_PIN_STATE_REF,		/* FOLL_GET: put_page() releases it */
	MMPROBE_PIN_STATE_RELEASED,	/* released by MMPROBE_PIN_IOC_UNPIN */
};

/* A value that does not apply: not anon, or not kept by this kernel. */
#define MMPROBE_PIN_NA		(~0ULL)

/**
 * struct mmprobe_pin_page - one page of a take, as MMPROBE_PIN_IOC_INFO
 *	reports it; the fields are the keys of the text probes (page.h)
 * @addr: (out) the user address the page was taken at
 * @state: (out) enum mmprobe_pin_state
 * @pfn: (out) page frame number; 0 unless the opener has CAP_SYS_ADMIN
 * @kind: (out) enum mmprobe_pin_kind
 * @level: (out) enum mmprobe_pin_level of the entry mapping @addr
 * @order: (out) order of the folio
 * @refcount: (out) folio reference count
 * @mapcount: (out) mappings of this page; MMPROBE_PIN_NA where the kernel
 *	keeps none (CONFIG_NO_PAGE_MAPCOUNT)
 * @entire_mapcount: (out) PMD/PUD mappings of the whole folio
 * @folio_mapcount: (out) all mappings of the folio
 * @pinned: (out) folio_maybe_dma_pinned(): 0 or 1
 * @exclusive: (out) PageAnonExclusive() of this page: 0, 1, or
 *	MMPROBE_PIN_NA when not anon
 * @node: (out) NUMA node of the page
 * @double_map: (out) PageDoubleMap(): 0, 1, or MMPROBE_PIN_NA where the
 *	kernel has none (6.2 and later)
 *
 * Without MMPROBE_PIN_INFO_NOW the values are those seen right after the
 * take; with it, those of now, and a released page reports only @addr and
 * @state.
 */
struct mmprobe_pin_page {
	__u64 addr;
	__u64 state;
	__u64 pfn;
	__u64 kind;
	__u64 level;
	__u64 order;
	__u64 refcount;
	__u64 mapcount;
	__u64 entire_mapcount;
	__u64 folio_mapcount;
	__u64 pinned;
	__u64 exclusive;
	__u64 node;
	__u64 double_map;
};

#define MMPROBE_PIN_IOC_TAKE	_IOWR(MMPROBE_IOC_MAGIC, 0x10, struct mmprobe_pin_take)
#define MMPROBE_PIN_IOC_INFO	_IOWR(MMPROBE_IOC_MAGIC, 0x11, struct mmprobe_pin_range)
#define MMPROBE_PIN_IOC_READ	_IOWR(MMPROBE_IOC_MAGIC, 0x12, struct mmprobe_pin_range)
#define MMPROBE_PIN_IOC_UNPIN	_IOWR(MMPROBE_IOC_MAGIC, 0x13, struct mmprobe_pin_range)

/* ---- end of pin ---- */

/* ---- inspect: /sys/kernel/debug/mmprobe/inspect, "binary" reports ---- */

/* What an entry maps: the kinds of the text report, same order. */
enum mmprobe_inspect_kind {
	MMPROBE_INSPECT_KIND_NONE = 0,	/* reserved; cut records */
	MMPROBE_INSPECT_KIND_ANON,
	MMPROBE_INSPECT_KIND_FILE,
	MMPROBE_INSPECT_KIND_SHMEM,
	MMPROBE_INSPECT_KIND_ZERO,
	MMPROBE_INSPECT_KIND_HUGE_ZERO,
	MMPROBE_INSPECT_KIND_HUGETLB,
	MMPROBE_INSPECT_KIND_KSM,
	MMPROBE_INSPECT_KIND_SWAP,
	MMPROBE_INSPECT_KIND_MIGRATION,
	MMPROBE_INSPECT_KIND_DEVICE_PRIVATE,
	MMPROBE_INSPECT_KIND_DEVICE_EXCLUSIVE,
	MMPROBE_INSPECT_KIND_HWPOISON,
	MMPROBE_INSPECT_KIND_MARKER,
	MMPROBE_INSPECT_KIND_PFNMAP,
};

/* The page-table level of an entry. 0 is reserved (cut records). */
enum mmprobe_inspect_level {
	MMPROBE_INSPECT_LEVEL_NONE = 0,
	MMPROBE_INSPECT_LEVEL_PTE,
	MMPROBE_INSPECT_LEVEL_PMD,
	MMPROBE_INSPECT_LEVEL_PUD,
};

/* struct mmprobe_inspect_entry.flags: the 0/1 keys of the text report */
#define MMPROBE_INSPECT_PRESENT		_BITULL(0)	/* write, dirty, young valid */
#define MMPROBE_INSPECT_WRITE		_BITULL(1)
#define MMPROBE_INSPECT_DIRTY		_BITULL(2)
#define MMPROBE_INSPECT_YOUNG		_BITULL(3)
#define MMPROBE_INSPECT_SOFT_DIRTY	_BITULL(4)
#define MMPROBE_INSPECT_UFFD_WP		_BITULL(5)
#define MMPROBE_INSPECT_HAS_PFN		_BITULL(6)	/* @pfn valid */
#define MMPROBE_INSPECT_HAS_FOLIO	_BITULL(7)	/* folio fields valid */
#define MMPROBE_INSPECT_PINNED		_BITULL(8)
#define MMPROBE_INSPECT_EXCLUSIVE_KNOWN	_BITULL(9)	/* "exclusive" is not "-" */
#define MMPROBE_INSPECT_EXCLUSIVE	_BITULL(10)
#define MMPROBE_INSPECT_DOUBLE_MAP_KNOWN _BITULL(11)	/* 6.1 */
#define MMPROBE_INSPECT_DOUBLE_MAP	_BITULL(12)
#define MMPROBE_INSPECT_MODE_READ	_BITULL(13)	/* migration, device */
#define MMPROBE_INSPECT_MODE_READ_EXCLUSIVE _BITULL(14)
#define MMPROBE_INSPECT_MODE_WRITE	_BITULL(15)
#define MMPROBE_INSPECT_MARKER_UFFD_WP	_BITULL(16)	/* marker entries */
#define MMPROBE_INSPECT_MARKER_POISONED	_BITULL(17)
#define MMPROBE_INSPECT_MARKER_GUARD	_BITULL(18)
#define MMPROBE_INSPECT_WHOLE_FOLIO_KNOWN _BITULL(19)	/* present, with a folio */
#define MMPROBE_INSPECT_WHOLE_FOLIO	_BITULL(20)
#define MMPROBE_INSPECT_CONT_KNOWN	_BITULL(21)	/* present, arm64 */
#define MMPROBE_INSPECT_CONT		_BITULL(22)
#define MMPROBE_INSPECT_CUT		_BITULL(32)	/* the "cut" line */
#define MMPROBE_INSPECT_CUT_MAX_LINES	_BITULL(33)
#define MMPROBE_INSPECT_CUT_EXITED	_BITULL(34)

/**
 * struct mmprobe_inspect_entry - one record of a "binary" inspect report:
 *	a run of lines of the text report that differ only in their address
 *	and PFN (or swap offset), both consecutive, with the same values
 * @addr: (out) start of what the entry maps; for a cut record, the first
 *	address not reported
 * @level: (out) enum mmprobe_inspect_level
 * @kind: (out) enum mmprobe_inspect_kind
 * @flags: (out) MMPROBE_INSPECT_*
 * @pfn: (out) with MMPROBE_INSPECT_HAS_PFN (CAP_SYS_ADMIN only), else 0
 * @order: (out) folio order, with MMPROBE_INSPECT_HAS_FOLIO (so are the
 *	four counts and @node)
 * @refcount: (out) folio_ref_count()
 * @mapcount: (out) this page's mapcount, as a __s64 (-1: not kept)
 * @entire_mapcount: (out) PMD/PUD maps of the whole folio
 * @folio_mapcount: (out) all maps of the folio
 * @node: (out) NUMA node of the page
 * @swap_type: (out) swap entries: the swap device
 * @swap_offset: (out) swap entries: the offset on it
 * @nr: (out) entries this record stands for, at least 1 (0 in a cut record;
 *	ABI 4): entry i maps @addr + i times the entry's size, with @pfn +
 *	i times its pages (with MMPROBE_INSPECT_HAS_PFN) and @swap_offset +
 *	i times its pages (swap entries); every other field is the same
 * @reserved: (out) 0
 */
struct mmprobe_inspect_entry {
	__u64 addr;
	__u64 level;
	__u64 kind;
	__u64 flags;
	__u64 pfn;
	__u64 order;
	__u64 refcount;
	__u64 mapcount;
	__u64 entire_mapcount;
	__u64 folio_mapcount;
	__u64 node;
	__u64 swap_type;
	__u64 swap_offset;
	__u64 nr;
	__u64 reserved[2];
};

/* ---- end of inspect ---- */

/* ---- migrate: /sys/kernel/debug/mmprobe/migrate (ioctl numbers 0x30-0x3f) ---- */

/*
 * Move a range of the opener's memory through the kernel's device-migration
 * API (migrate_vma_setup/pages/finalize) and report every page's entries
 * before, while frozen, and after. Documentation/migrate.rst.
 */
#define MMPROBE_MIGRATE_MAX_PAGES	8192	/* pages per call: a PMD of 64 KiB pages */
#define MMPROBE_MIGRATE_MAX_HOLD_MS	1000	/* longest hold */

/* struct mmprobe_migrate_args.flags */
#define MMPROBE_MIGRATE_ABORT		_BITULL(0)	/* restore, migrate nothing */
#define MMPROBE_MIGRATE_FLAGS		MMPROBE_MIGRATE_ABORT

/* struct mmprobe_migrate_pte.flags: the entry ... */
#define MMPROBE_MIGRATE_PTE_PRESENT	_BITULL(0)	/* maps a page */
#define MMPROBE_MIGRATE_PTE_PMD		_BITULL(1)	/* is a PMD */
#define MMPROBE_MIGRATE_PTE_MIGRATION	_BITULL(2)	/* is a migration entry */
#define MMPROBE_MIGRATE_PTE_SWAP	_BITULL(3)	/* is another non-present entry */
#define MMPROBE_MIGRATE_PTE_WRITE	_BITULL(4)	/* writable (entry: writable) */
/* migration entry: read_exclusive or writable; swap entry: exclusive */
#define MMPROBE_MIGRATE_PTE_EXCLUSIVE	_BITULL(5)
#define MMPROBE_MIGRATE_PTE_DIRTY	_BITULL(6)	/* dirty (entry: dirty bit) */
#define MMPROBE_MIGRATE_PTE_YOUNG	_BITULL(7)	/* young (entry: young bit) */
#define MMPROBE_MIGRATE_PTE_SOFT_DIRTY	_BITULL(8)
#define MMPROBE_MIGRATE_PTE_UFFD_WP	_BITULL(9)
/* ... and the page it maps or names */
#define MMPROBE_MIGRATE_PAGE_ANON	_BITULL(16)	/* anonymous */
#define MMPROBE_MIGRATE_PAGE_EXCLUSIVE	_BITULL(17)	/* PageAnonExclusive */
#define MMPROBE_MIGRATE_PAGE_DIRTY	_BITULL(18)	/* folio dirty */
#define MMPROBE_MIGRATE_PAGE_LOCKED	_BITULL(19)	/* folio locked */
#define MMPROBE_MIGRATE_PAGE_PINNED	_BITULL(20)	/* folio_maybe_dma_pinned */
#define MMPROBE_MIGRATE_PAGE_LARGE	_BITULL(21)	/* large folio (THP) */
#define MMPROBE_MIGRATE_PAGE_ZERO	_BITULL(22)	/* (huge) zero page */

#define MMPROBE_MIGRATE_NO_NODE		(~0ULL)

/* One page-table entry and the page it maps, at one moment. */
struct mmprobe_migrate_pte {
	__u64 flags;		/* (out) MMPROBE_MIGRATE_PTE_* and _PAGE_* */
	/* (out) page mapped or named; 0 when none, or without CAP_SYS_ADMIN */
	__u64 pfn;
	__u64 node;		/* (out) its node, or MMPROBE_MIGRATE_NO_NODE */
	__u64 refcount;		/* (out) folio refcount */
	__u64 mapcount;		/* (out) folio mapcount */
};

/* struct mmprobe_migrate_page.mode: the migration entry setup installed */
enum mmprobe_migrate_mode {
	MMPROBE_MIGRATE_MODE_NONE = 0,		/* none */
	MMPROBE_MIGRATE_MODE_READ,
	MMPROBE_MIGRATE_MODE_READ_EXCLUSIVE,
	MMPROBE_MIGRATE_MODE_WRITE,
};

/* struct mmprobe_migrate_page.result */
enum mmprobe_migrate_result {
	MMPROBE_MIGRATE_RESULT_NONE = 0,	/* reserved */
	MMPROBE_MIGRATE_MIGRATED,		/* now on a new page */
	MMPROBE_MIGRATE_RESTORED,		/* frozen, then given back */
	MMPROBE_MIGRATE_SKIPPED,		/* setup did not freeze it */
};

/* struct mmprobe_migrate_page.reason: why it was not migrated */
enum mmprobe_migrate_reason {
	MMPROBE_MIGRATE_REASON_NONE = 0,	/* it was migrated */
	MMPROBE_MIGRATE_REASON_HOLE,		/* nothing mapped */
	MMPROBE_MIGRATE_REASON_ZERO,		/* the (huge) zero page */
	MMPROBE_MIGRATE_REASON_NOT_PRESENT,	/* swap or other entry */
	MMPROBE_MIGRATE_REASON_LARGE,		/* a large folio left unsplit */
	MMPROBE_MIGRATE_REASON_PINNED,		/* folio_maybe_dma_pinned */
	MMPROBE_MIGRATE_REASON_BUSY,		/* other references, or locked */
	MMPROBE_MIGRATE_REASON_ABORTED,		/* MMPROBE_MIGRATE_ABORT */
	MMPROBE_MIGRATE_REASON_NOMEM,		/* no page free on the node */
	MMPROBE_MIGRATE_REASON_REFUSED,		/* migrate_vma_pages() refused */
	MMPROBE_MIGRATE_REASON_NOT_ANON,	/* page cache or KSM: never moved */
};

/* struct mmprobe_migrate_page.src: what the migrate_vma steps said */
#define MMPROBE_MIGRATE_SRC_PAGE	_BITULL(0)	/* MIGRATE_PFN_VALID */
#define MMPROBE_MIGRATE_SRC_MIGRATE	_BITULL(1)	/* MIGRATE_PFN_MIGRATE */
#define MMPROBE_MIGRATE_SRC_WRITE	_BITULL(2)	/* MIGRATE_PFN_WRITE */
#define MMPROBE_MIGRATE_SRC_COMPOUND	_BITULL(3)	/* MIGRATE_PFN_COMPOUND */
#define MMPROBE_MIGRATE_SRC_DST		_BITULL(4)	/* a new page was given */
/* MIGRATE_PFN_MIGRATE still set after migrate_vma_pages(): it moved */
#define MMPROBE_MIGRATE_SRC_PAGES_MIGRATE _BITULL(5)

struct mmprobe_migrate_page {
	__u64 addr;			/* (out) virtual address */
	__u64 result;			/* (out) enum mmprobe_migrate_result */
	__u64 reason;			/* (out) enum mmprobe_migrate_reason */
	__u64 mode;			/* (out) enum mmprobe_migrate_mode */
	__u64 src;			/* (out) MMPROBE_MIGRATE_SRC_* */
	struct mmprobe_migrate_pte before;	/* (out) before setup */
	struct mmprobe_migrate_pte frozen;	/* (out) right after setup */
	struct mmprobe_migrate_pte after;	/* (out) after finalize */
};

struct mmprobe_migrate_args {
	__u64 start;		/* (in) page-aligned address */
	__u64 len;		/* (in) bytes, a page multiple */
	__u64 node;		/* (in) node of the new pages */
	__u64 flags;		/* (in) MMPROBE_MIGRATE_ABORT */
	__u64 hold_ms;		/* (in) sleep this long while frozen */
	/* (in) user address of len / page size struct mmprobe_migrate_page (out), or 0 */
	__u64 pages;
	__u64 nr_frozen;	/* (out) pages setup froze */
	__u64 nr_migrated;	/* (out) pages now on new pages */
};

#define MMPROBE_IOC_MIGRATE	_IOWR(MMPROBE_IOC_MAGIC, 0x30, struct mmprobe_migrate_args)

/* ---- end of migrate ---- */

#endif /* _MMPROBE_UAPI_H */
