/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the mmprobe selftests: debugfs files, /proc/vmstat,
 * pagemap and kpageflags, and saving/restoring global settings.
 */
#ifndef _MMPROBE_UTIL_H
#define _MMPROBE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MMPROBE_DIR	"/sys/kernel/debug/mmprobe"
#define THP_DIR		"/sys/kernel/mm/transparent_hugepage"

#define PM_PFN_MASK	((1ULL << 55) - 1)
#define PM_SOFT_DIRTY	(1ULL << 55)
#define PM_MMAP_EXCL	(1ULL << 56)
#define PM_UFFD_WP	(1ULL << 57)
#define PM_FILE		(1ULL << 61)
#define PM_SWAP		(1ULL << 62)
#define PM_PRESENT	(1ULL << 63)

#define KPF_THP		22
#define KPF_ZERO_PAGE	24

/* As kselftest.h has it, for the files that do not include that */
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(arr)	(sizeof(arr) / sizeof((arr)[0]))
#endif

/* Read a whole (small) file into buf, NUL-terminated. Returns bytes or -errno. */
ssize_t util_read_file(const char *path, char *buf, size_t len);

/* Write a string to a file. Returns 0 or -errno. */
int util_write_file(const char *path, const char *str);

/*
 * Find "key=value" (or "key value") at the start of a line of text and
 * return its value as a number; -1 when absent.
 */
long long util_kv_get(const char *text, const char *key);

/* A /proc/vmstat counter, -1 when the kernel has none of that name. */
long long util_vmstat(const char *name);

/* The pagemap entry of one address of this process, 0 on failure. */
uint64_t util_pagemap(const void *addr);

/* The pagemap entry of one address of process pid, 0 on failure. */
uint64_t util_pagemap_pid(int pid, const void *addr);

/* /proc/kpageflags bits of a pfn, 0 on failure. */
uint64_t util_kpageflags(uint64_t pfn);

/* The totals line of a report of MMPROBE_DIR/audit (Documentation/audit.rst). */
struct util_audit_totals {
	long long processes, exited, entries, violations, shown;
};

/*
 * Write cmd to a fresh open of MMPROBE_DIR/audit and read the report into
 * buf. Return: 0, or -errno of the write.
 */
int util_audit(const char *cmd, char *buf, size_t len);

/* Parse the report's last line: 0, or -1 when there is none. */
int util_audit_totals(const char *report, struct util_audit_totals *t);

/* The largest base page: arm64's 64 KiB. For buffers of one page. */
#define UTIL_PAGE_SIZE_MAX	(64 * 1024)

/* PMD size read from sysfs (THP), 0 when unknown. */
size_t util_pmd_size(void);

/*
 * What one PMD and one PUD entry map, from the page size: a page table is
 * a page of 8-byte entries on x86-64 and arm64 (2 MiB and 1 GiB with 4 KiB
 * pages, 32 MiB and 64 GiB with 16 KiB). For hugetlb sizes and where THP
 * is off; a THP test takes util_pmd_size().
 */
size_t util_pmd_span(void);
size_t util_pud_span(void);

/*
 * The top of this task's default address space: the power of two above
 * its stack, which the kernel puts at the top (1 << 47 on x86-64 with
 * 4-level tables and on arm64 with 16 KiB pages, 1 << 48 on arm64 with
 * 4 KiB). Above it only a 5-level or 52-bit mmap() hint maps. 0 when
 * /proc/self/maps has no [stack].
 */
uint64_t util_task_top(void);

/* mmap len bytes aligned to align; the caller munmaps len bytes. */
void *util_mmap_aligned(size_t len, size_t align);

/*
 * Private anonymous read-write memory of small pages only (MADV_NOHUGEPAGE),
 * written with the byte fill unless fill < 0. NULL on failure.
 */
void *util_mmap_small(size_t len, int fill);

/* The current value of a setting, "[selected]" choice or plain. 0 or -errno. */
int util_setting_get(const char *path, char *buf, size_t len);

/*
 * Change a global setting (THP sysfs knob, sysctl), saving its old value
 * first: util_settings_restore() writes back what this process saved (also
 * from an atexit handler, so a failing test restores them too). Every saved
 * value is journaled in /tmp/mmprobe-settings.<pid> as well, so that a
 * process that dies on a signal leaks nothing: util_settings_restore(), in
 * any process, also writes back what dead processes left, and every program
 * linking this file calls it when it starts and when it exits.
 */
int util_setting_set(const char *path, const char *value);
void util_settings_restore(void);

/* A field of the smaps entry of the VMA holding addr, in kB; -1 if none. */
long long util_smaps_kb(const void *addr, const char *field);

/*
 * How many NUMA nodes /sys/devices/system/node/online lists ("0", "0-1",
 * "0,2-3"); -1 when there is no such file (CONFIG_NUMA=n).
 */
int util_nodes_online(void);

/* Is a swap device active (a line after the header of /proc/swaps)? */
bool util_swap_enabled(void);

/* Is flag (two letters: "sd", "hg") in the VmFlags of addr's VMA in smaps? */
bool util_vma_flag(const void *addr, const char *flag);

/*
 * A THP fault that gave no THP: is that the machine's doing? True, with the
 * reason in why, when THP is disabled ("never") or /proc/vmstat's
 * thp_fault_fallback moved since fallback_before (no free huge page then);
 * false when the THP should have been there: a failure, not a skip.
 */
bool util_thp_missing_ok(long long fallback_before, char *why, size_t len);

/*
 * Skips by reason. Each skip is noted with util_skip_note() (the harness
 * programs use UTIL_SKIP() for SKIP()); a program ends with one line,
 * "# skips: N (reason: n, ...)", from util_skips_report(). The tally lives
 * in shared memory, so that the harness's forked tests add to it: a
 * program makes it with util_skips_init() before it forks, as
 * UTIL_SKIPS_SUMMARY does for the harness programs.
 */
void util_skips_init(void);
void util_skip_note(const char *fmt, ...);
void util_skips_report(void);

/* UTIL_SKIP(statement, fmt, ...): the harness's SKIP(), noted */
#define UTIL_SKIP(statement, ...) do {					\
	util_skip_note(__VA_ARGS__);					\
	SKIP(statement, __VA_ARGS__);					\
} while (0)

/* In a harness program: the tally made before the tests, reported at exit. */
#define UTIL_SKIPS_SUMMARY						\
static void __attribute__((constructor)) util_skips_ctor(void)		\
{									\
	util_skips_init();						\
}									\
static void __attribute__((destructor)) util_skips_dtor(void)		\
{									\
	util_skips_report();						\
}

#endif /* _MMPROBE_UTIL_H */
