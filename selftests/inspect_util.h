/* SPDX-License-Identifier: GPL-2.0 */
/*
 * inspect_util: read /sys/kernel/debug/mmprobe/inspect from a test.
 *
 * Every mmprobe test can ask what maps an address: inspect_one() for one
 * address of the caller, inspect_range() for a range of any process, and
 * inspect_summary() for totals. Documentation/inspect.rst has the format.
 * Fields are added, never renamed.
 */
#ifndef _INSPECT_UTIL_H
#define _INSPECT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mmprobe_uapi.h"

#define INSPECT_PATH	"/sys/kernel/debug/mmprobe/inspect"

enum inspect_level {
	INSPECT_LEVEL_PTE,
	INSPECT_LEVEL_PMD,
	INSPECT_LEVEL_PUD,
};

/*
 * One line of the report. Numbers the line does not have are -1; so is
 * exclusive when the line says "exclusive=-" (not anon, or no such bit).
 */
struct inspect_entry {
	unsigned long addr;	/* start of what the entry maps */
	unsigned long size;	/* bytes it maps: page, PMD or PUD size */
	int level;		/* enum inspect_level */
	char kind[24];		/* anon, file, shmem, zero, huge_zero, ... */
	long long pfn;		/* present, migration, device, hwpoison */
	int write;
	int dirty;
	int young;
	int cont;		/* arm64's contiguous bit; -1: no such bit */
	int soft_dirty;
	int uffd_wp;
	int order;		/* of the folio */
	int refcount;
	int mapcount;
	int entire_mapcount;
	int folio_mapcount;
	int pinned;
	int exclusive;		/* PG_anon_exclusive, or the swap PTE's bit */
	int node;
	int double_map;		/* 6.1 only */
	int whole_folio;	/* the folio is mapped whole in the range */
	char mode[16];		/* migration/device: read, read_exclusive, write */
	int swap_type;
	long long swap_offset;
	int poisoned;		/* markers */
	int guard;
};

/* Totals of one kind at one level, from "summary". */
struct inspect_summary_row {
	char kind[24];
	int level;
	long long entries;
	long long pages;	/* base pages */
	long long exclusive;
	long long shared;
	long long pinned;
};

#define INSPECT_SUMMARY_MAX_ROWS 64

struct inspect_summary {
	int nr;
	struct inspect_summary_row rows[INSPECT_SUMMARY_MAX_ROWS];
	long long entries;	/* "total" line */
	long long pages;
	bool cut;		/* a "cut" line ended the report */
	unsigned long cut_addr;
};

/* Is the inspect file there (mmprobe loaded, debugfs mounted)? */
bool inspect_available(void);

/*
 * Parse one entry line. Returns 0, or -EINVAL for a line that is not an
 * entry (a summary, total or cut line).
 */
int inspect_parse_line(const char *line, struct inspect_entry *e);

/*
 * The raw report for "<pid> <start> <end> [opts]" (opts may be NULL or e.g.
 * "summary" or "max_lines=10"). *text is malloc()ed and NUL-terminated; the
 * caller frees it. Returns its length or -errno (of the write or the read).
 */
ssize_t inspect_report(pid_t pid, unsigned long start, unsigned long end,
		       const char *opts, char **text);

/*
 * The entries of [start, end) of pid (0: this process), in address order:
 * at most max are stored in out. Returns the number of entry lines in the
 * report (which may exceed max) or -errno.
 */
int inspect_range(pid_t pid, unsigned long start, unsigned long end,
		  struct inspect_entry *out, int max);

/*
 * The entry that maps addr in this process (PTE, PMD or PUD). Returns 1 and
 * fills *e, 0 when no entry maps it (e->kind is then "none"), or -errno.
 */
int inspect_one(const void *addr, struct inspect_entry *e);

/* Totals of [start, end) of pid. Returns 0 or -errno. */
int inspect_summary(pid_t pid, unsigned long start, unsigned long end,
		    struct inspect_summary *s);

/*
 * Pages of one kind (NULL: all) at one level (-1: all) in a summary; column
 * is "entries", "pages", "exclusive", "shared" or "pinned".
 */
long long inspect_summary_get(const struct inspect_summary *s, const char *kind,
			      int level, const char *column);

/*
 * The "binary" report of [start, end) of pid, one record per entry: each
 * run record (nr > 1) is given as nr records of nr 1, as the text report
 * has them. At most max records stored in out, a cut record
 * (MMPROBE_INSPECT_CUT) included. Returns the number of entries in the
 * report (which may exceed max) or -errno.
 */
int inspect_range_binary(pid_t pid, unsigned long start, unsigned long end,
			 struct mmprobe_inspect_entry *out, int max);

/*
 * A binary record as inspect_parse_line() would have parsed the text line
 * of the same entry. Returns 0, or -EINVAL for a cut record.
 */
int inspect_entry_from_binary(const struct mmprobe_inspect_entry *r,
			      struct inspect_entry *e);

/* Kind names as printed, indexed by enum mmprobe_inspect_kind; NULL if unknown. */
const char *inspect_kind_name(unsigned long long kind);

/* The highest user address a range may end at (for whole-space reports). */
unsigned long inspect_task_size(void);

/* Level names as printed: "pte", "pmd", "pud"; NULL for an unknown level. */
const char *inspect_level_name(int level);

#endif /* _INSPECT_UTIL_H */
