/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the running kernel does, measured: one experiment per behaviour that
 * changed upstream at some release. The tests and the report take the
 * outcome they expect from here, never from the kernel's version number: a
 * vendor kernel backports changes, and mmprobe's version file says only
 * which APIs the module was built with.
 *
 * Each experiment runs in a child process of its own (so that what it maps,
 * pins or clears ends with it) and reads its result from sources
 * independent of the behaviour: /proc/self/pagemap, /proc/kpageflags,
 * /proc/vmstat, the data, and where the kernel offers no user-space way in,
 * mmprobe's pin or migrate file. Global settings it needs (THP "enabled",
 * "use_zero_page") are set by the parent and put back before it returns.
 */
#ifndef _MMPROBE_BEHAVIOUR_H
#define _MMPROBE_BEHAVIOUR_H

#include <stdbool.h>
#include <stddef.h>

enum behaviour_id {
	/* A write fault on a huge zero PMD allocates a THP (1) or splits (0). */
	BEHAVIOUR_HUGE_ZERO_WP_THP,
	/* A R/O FOLL_LONGTERM pin of the shared zero page unshares it first. */
	BEHAVIOUR_LONGTERM_RO_UNSHARE,
	/* UFFDIO_API accepts UFFD_FEATURE_WP_ASYNC. */
	BEHAVIOUR_UFFD_WP_ASYNC,
	/* Splitting an anon THP maps its zero-filled subpages to the zero page. */
	BEHAVIOUR_THP_SPLIT_ZERO_REMAP,
	/* move_pages(2) restores soft-dirty as it was (1), or sets it (0). */
	BEHAVIOUR_MIGRATE_SOFT_DIRTY_EXACT,
	/* migrate_vma_setup() splits a PTE-mapped THP (1) or skips it (0). */
	BEHAVIOUR_MIGRATE_SPLIT_LARGE,
	NR_BEHAVIOURS
};

/*
 * What upstream did, for context only: the report prints it next to what
 * this kernel did and says whether the two agree. The behaviour is 0
 * before release "since" and 1 from it on, through the change named
 * "change"; where the release that changed it is not pinned down, "since"
 * is the first release known to have it and "exact" is false. Never used
 * to decide what to expect.
 */
struct behaviour_info {
	const char *name;	/* as in Documentation/report.rst */
	const char *title;
	const char *off;	/* what the kernel does where it is 0 */
	const char *on;		/* where it is 1 */
	const char *since;	/* upstream release that has it (first, or first known) */
	bool exact;		/* since is the release that brought it */
	const char *upstream;	/* what upstream does since when, in words */
	const char *change;	/* the upstream change, by title */
};

extern const struct behaviour_info behaviour_info[NR_BEHAVIOURS];

/*
 * Run the experiment: 1 or 0, or -1 when it could not tell (evidence then
 * says why). evidence (may be NULL) gets what was done and seen, as items
 * separated by "; ".
 */
int behaviour_measure(enum behaviour_id id, char *evidence, size_t len);

/*
 * The anon THP sizes below the PMD size that this kernel offers
 * (multi-size THP): the directories THP_DIR/hugepages-<size>kB that have
 * an "enabled" file (7.3 also has hugepages-8kB, for files only), in
 * ascending order, at most max. Returns how many, or -1 when THP_DIR has
 * no hugepages-*kB directory at all (a kernel without multi-size THP).
 */
int behaviour_mthp_sizes(size_t *sizes, int max);

/*
 * Let anon THP faults of MADV_HUGEPAGE memory allocate folios of size
 * alone: its "enabled" set to madvise, every other anon size's (the PMD
 * size's too) to never, through util_setting_set(), so that
 * util_settings_restore() puts them back. Returns 0, or -errno of the
 * first write that failed.
 */
int behaviour_mthp_select(size_t size);

#endif /* _MMPROBE_BEHAVIOUR_H */
