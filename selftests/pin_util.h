/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small wrapper of /sys/kernel/debug/mmprobe/pin for selftests: open a
 * session, pin (or reference) a range with given flags, read back what the
 * pin sees, unpin. See Documentation/pin.rst for the ioctls.
 *
 * Every function returns 0 (or a count) on success and -errno on failure.
 */
#ifndef _MMPROBE_PIN_UTIL_H
#define _MMPROBE_PIN_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "mmprobe_uapi.h"
#include "mmprobe_util.h"

#define PIN_PATH	"/sys/kernel/debug/mmprobe/pin"

/* Open a session: a file descriptor, or -errno. close() ends it. */
int pin_util_open(void);

/*
 * Take nr_pages from addr with method (enum mmprobe_pin_method) and flags
 * (MMPROBE_PIN_WRITE, MMPROBE_PIN_LONGTERM). On success *handle names the
 * take and the return value is the number of pages held (maybe fewer).
 */
long pin_util_take(int fd, const void *addr, size_t nr_pages, int method,
		   uint64_t flags, uint64_t *handle);

/* Describe pages [index, index + nr) of a take, as taken or (now) as they are. */
int pin_util_info(int fd, uint64_t handle, size_t index, size_t nr,
		  struct mmprobe_pin_page *pages, bool now);

/* Copy what pages [index, index + nr) of a take hold now into buf. */
int pin_util_read(int fd, uint64_t handle, size_t index, size_t nr, void *buf);

/* Release pages [index, index + nr) of a take: how many were held, or -errno. */
long pin_util_unpin(int fd, uint64_t handle, size_t index, size_t nr);

/* Release every take of the session: how many pages were held, or -errno. */
long pin_util_unpin_all(int fd);

/*
 * /proc/vmstat nr_foll_pin_acquired and nr_foll_pin_released after folding
 * the per-CPU counters (vm/stat_refresh), both from one read of the file.
 * Return: 0, or -1 when unreadable.
 */
int pin_util_foll_counts(long long *acquired, long long *released);

/*
 * pin_util_foll_counts()'s acquired - released; LLONG_MIN when unreadable.
 * One read: on a busy machine use robust_pins_held() (robust_util.h).
 */
long long pin_util_foll_pins(void);

/*
 * The outcome of the case a case-table program (anon_exclusive, longterm)
 * runs: failed, or skipped or an expected failure with the reason; the
 * program clears it before each case and reports it after.
 */
struct pin_case {
	bool failed;
	char skip[256];
	char xfail[256];
	char note[256];		/* what was measured, printed with the result */
};

extern struct pin_case pin_case;

/* Print "# line LINE: message" and mark the case failed. */
void pin_case_fail(int line, const char *fmt, ...);

#ifdef __KSELFTEST_H
/*
 * Report pin_case as the KTAP result of the case named by fmt: what was
 * measured (note) first, then fail, which outranks skip (a failed step,
 * then a skip, is a failure), skip (noted for the program's tally), xfail,
 * pass. Inline, for kselftest.h's counters are each program's own.
 */
static inline void pin_case_result(const char *fmt, ...)
{
	char name[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (pin_case.note[0])
		ksft_print_msg("measured: %s: %s\n", name, pin_case.note);
	if (pin_case.failed) {
		if (pin_case.skip[0])
			ksft_print_msg("%s: failed, then skipped: %s\n", name, pin_case.skip);
		ksft_test_result_fail("%s\n", name);
	} else if (pin_case.skip[0]) {
		util_skip_note("%s", pin_case.skip);
		ksft_test_result_skip("%s: %s\n", name, pin_case.skip);
	} else if (pin_case.xfail[0]) {
		ksft_test_result_xfail("%s: %s\n", name, pin_case.xfail);
	} else {
		ksft_test_result_pass("%s\n", name);
	}
}
#endif

#define HUGETLB_DIR	"/sys/kernel/mm/hugepages"

/* Free hugetlb pages of size hsize (bytes): free_hugepages, 0 when unreadable. */
int pin_util_hugetlb_free(size_t hsize);

/*
 * Make nr hugetlb pages of size hsize free where the kernel can, raising
 * nr_hugepages through util_setting_set() (util_settings_restore() puts it
 * back), and say so. Returns how many are free then.
 */
int pin_util_hugetlb_reserve(size_t hsize, int nr);

#ifdef __KSELFTEST_H
/*
 * What every case-table program does first: KTAP on a line-buffered
 * stdout, the skip tally (util_skips_init()), and a skip of the whole
 * program, saying why, when the pin file is not there.
 */
static inline void pin_case_program_start(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	ksft_print_header();
	util_skips_init();
	if (access(PIN_PATH, R_OK | W_OK))
		ksft_exit_skip("no %s: load mmprobe (as root)\n", PIN_PATH);
}

/* And last: the settings put back, the skip tally, the exit status. */
static inline void pin_case_program_end(void)
{
	util_settings_restore();
	util_skips_report();
	if (ksft_get_fail_cnt())
		ksft_exit_fail();
	ksft_exit_pass();
}
#endif

/* CLOCK_MONOTONIC in ns, for the programs' timings. */
unsigned long long pin_util_now_ns(void);

#endif /* _MMPROBE_PIN_UTIL_H */
