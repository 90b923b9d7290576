// SPDX-License-Identifier: GPL-2.0
/*
 * gup_bench: how long get_user_pages(_fast) and pin_user_pages(_fast) take
 * over ranges backed by 4 KiB pages, THP, and hugetlb 2 MiB and 1 GiB pages.
 *
 * It drives /sys/kernel/debug/gup_test, the kernel's CONFIG_GUP_TEST file or
 * mmprobe's implementation of the same ioctl ABI (module/gup_test_uapi.h),
 * with the same commands, flags and range layout as the kernel's
 * tools/testing/selftests/mm/gup_test, so its numbers compare with that
 * program's ("get:N put:N us" per ioctl). Every ioctl times one pass over
 * the range: get_delta_usec for taking every page, nr_pages_per_call pages
 * per GUP call, put_delta_usec for releasing them.
 *
 * It prints a table of KTAP diagnostic lines, then the ratios that carry
 * from one machine to another (each backing against 4 KiB pages, each pin
 * against its get, long-term against plain pins, a whole PMD per call
 * against one page per call), and never asserts on time;
 * each (backing, command) pair is one test that asserts only that the
 * range was taken whole, that the backing was what it claims
 * (/proc/kpageflags), that the first folio's refcount (inspect) is back to
 * what it was, and for pins that /proc/vmstat nr_foll_pin_acquired and
 * nr_foll_pin_released both rose by at least the pages pinned (other
 * processes add to them) and that the system-wide balance of pins is back
 * to what it was (robust_pin_window_check()).
 *
 * Environment (defaults are small so that "make check" stays quick):
 *   GUP_BENCH_ITERATIONS   ioctls per row (3)
 *   GUP_BENCH_MB           range size in MiB (8; at most 1024)
 *   GUP_BENCH_PER_CALL     pages per GUP call, comma separated ("1,512");
 *                          gup_test's default is 1 ("-n 1")
 * Documentation/benchmark.rst says how to read the table.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest.h"
#include "gup_test_uapi.h"
#include "inspect_util.h"
#include "mmprobe_util.h"
#include "robust_util.h"

#define GUP_TEST_FILE	"/sys/kernel/debug/gup_test"
#define MIB		(1UL << 20)
#define GIB		(1UL << 30)

/* FOLL_WRITE has this value in every kernel; gup_test sets it by default. */
#define BENCH_FOLL_WRITE	0x01

#define KPF_THP_BIT	22
#define KPF_HUGE_BIT	17

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT	26
#endif
#define MAP_HUGE_2MB	(21 << MAP_HUGE_SHIFT)
#define MAP_HUGE_1GB	(30 << MAP_HUGE_SHIFT)

#define MAX_PER_CALL	8
#define PER_CALL_USAGE	"GUP_BENCH_PER_CALL=%s: want up to %d numbers in 1..%zu\n"

struct bench_cmd {
	const char *name;	/* the kernel function it times */
	const char *gup_test;	/* the gup_test command and its option */
	unsigned long cmd;
	bool pins;
};

/* The rows of cmds[], for the ratios. */
enum { C_GUP_FAST, C_GUP, C_PIN_FAST, C_PIN, C_PIN_LONGTERM };

static const struct bench_cmd cmds[] = {
	{ "get_user_pages_fast", "GUP_FAST_BENCHMARK (-u)", MMPROBE_GUP_FAST_BENCHMARK, false },
	{ "get_user_pages", "GUP_BASIC_TEST (-U)", MMPROBE_GUP_BASIC_TEST, false },
	{ "pin_user_pages_fast", "PIN_FAST_BENCHMARK (-a)", MMPROBE_PIN_FAST_BENCHMARK, true },
	{ "pin_user_pages", "PIN_BASIC_TEST (-b)", MMPROBE_PIN_BASIC_TEST, true },
	{ "pin_user_pages+LONGTERM", "PIN_LONGTERM_BENCHMARK (-L)",
	  MMPROBE_PIN_LONGTERM_BENCHMARK, true },
};

#define NR_CMDS ARRAY_SIZE(cmds)

enum backing { B_4K, B_THP, B_HUGETLB_2M, B_HUGETLB_1G, NR_BACKINGS };

static const char *const backing_names[NR_BACKINGS] = {
	[B_4K] = "4k", [B_THP] = "thp", [B_HUGETLB_2M] = "hugetlb-2M",
	[B_HUGETLB_1G] = "hugetlb-1G",
};

static int gup_fd = -1;
static unsigned long iterations = 3;
static size_t range = 8 * MIB;
static unsigned int per_call[MAX_PER_CALL] = { 1, 512 };
/* The fastest pass per page of every row measured, 0 where none was. */
static double ns_page[NR_BACKINGS][NR_CMDS][MAX_PER_CALL];
static int nr_per_call = 2;

static unsigned long env_ulong(const char *name, unsigned long def, unsigned long max)
{
	const char *s = getenv(name);
	unsigned long v;
	char *end;

	if (!s || !*s)
		return def;
	v = strtoul(s, &end, 0);
	if (*end || !v || v > max)
		ksft_exit_fail_msg("%s=%s: want 1..%lu\n", name, s, max);
	return v;
}

static void parse_env(void)
{
	const char *s = getenv("GUP_BENCH_PER_CALL");

	iterations = env_ulong("GUP_BENCH_ITERATIONS", iterations, 100000);
	range = env_ulong("GUP_BENCH_MB", range / MIB, 1024) * MIB;
	if (s && *s) {
		char *copy = strdup(s), *tok, *save = NULL, *end;

		nr_per_call = 0;
		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			unsigned long v = strtoul(tok, &end, 0);

			if (*end || !v || v > range / getpagesize() || nr_per_call == MAX_PER_CALL)
				ksft_exit_fail_msg(PER_CALL_USAGE, s, MAX_PER_CALL,
						   range / getpagesize());
			per_call[nr_per_call++] = v;
		}
		free(copy);
	}
}

static long hugetlb_free(const char *size_dir)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/%s/free_hugepages", size_dir);
	if (util_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/*
 * Map and fault in the range; *len is what to munmap. NULL with a reason
 * for the skip when this kernel or guest cannot back it so.
 */
static char *backing_map(enum backing b, size_t *len, const char **why)
{
	static char reason[160];
	size_t pmd = util_pmd_size(), i;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	char *mem = NULL;
	long nfree;

	*why = reason;
	*len = range;
	switch (b) {
	case B_4K:
		mem = mmap(NULL, range, PROT_READ | PROT_WRITE, flags, -1, 0);
		if (mem != MAP_FAILED && madvise(mem, range, MADV_NOHUGEPAGE)) {
			munmap(mem, range);
			mem = MAP_FAILED;
		}
		break;
	case B_THP:
		if (!pmd) {
			snprintf(reason, sizeof(reason), "no THP (%s/hpage_pmd_size)", THP_DIR);
			return NULL;
		}
		if (util_setting_set(THP_DIR "/enabled", "madvise")) {
			snprintf(reason, sizeof(reason), "cannot set %s/enabled", THP_DIR);
			return NULL;
		}
		*len = (range + pmd - 1) & ~(pmd - 1);
		mem = util_mmap_aligned(*len, pmd);
		if (!mem) {
			mem = MAP_FAILED;
		} else if (madvise(mem, *len, MADV_HUGEPAGE)) {
			munmap(mem, *len);
			mem = MAP_FAILED;
		}
		break;
	case B_HUGETLB_2M:
		nfree = hugetlb_free("hugepages-2048kB");
		*len = (range + 2 * MIB - 1) & ~(2 * MIB - 1);
		if (nfree < (long)(*len / (2 * MIB))) {
			snprintf(reason, sizeof(reason),
				 "needs %zu free 2 MiB hugetlb pages, has %ld: echo N > /proc/sys/vm/nr_hugepages",
				 *len / (2 * MIB), nfree);
			return NULL;
		}
		mem = mmap(NULL, *len, PROT_READ | PROT_WRITE, flags | MAP_HUGETLB | MAP_HUGE_2MB,
			   -1, 0);
		break;
	case B_HUGETLB_1G:
		nfree = hugetlb_free("hugepages-1048576kB");
		if (nfree < 1) {
			snprintf(reason, sizeof(reason),
				 "no free 1 GiB hugetlb page (%ld): boot with hugepagesz=1G hugepages=1",
				 nfree);
			return NULL;
		}
		*len = GIB;
		mem = mmap(NULL, *len, PROT_READ | PROT_WRITE, flags | MAP_HUGETLB | MAP_HUGE_1GB,
			   -1, 0);
		break;
	default:
		return NULL;
	}
	if (mem == MAP_FAILED) {
		snprintf(reason, sizeof(reason), "mmap %s: %s", backing_names[b], strerror(errno));
		return NULL;
	}
	/* Fault in from user space, as gup_test does: only the range is timed. */
	for (i = 0; i < range; i += getpagesize())
		mem[i] = 1;
	return mem;
}

/* Is every page of the range backed as claimed? kpageflags of each page. */
static bool backing_ok(enum backing b, const char *mem, char *why, size_t len)
{
	size_t i, step = getpagesize();

	for (i = 0; i < range; i += step) {
		uint64_t pm = util_pagemap(mem + i), kpf;
		bool thp, huge;

		if (!(pm & PM_PRESENT) || !(pm & PM_PFN_MASK)) {
			snprintf(why, len,
				 "pagemap of +%#zx: %#llx (not present, or no PFN: needs root)",
				 i, (unsigned long long)pm);
			return false;
		}
		kpf = util_kpageflags(pm & PM_PFN_MASK);
		thp = kpf & (1ULL << KPF_THP_BIT);
		huge = kpf & (1ULL << KPF_HUGE_BIT);
		if ((b == B_4K && (thp || huge)) || (b == B_THP && !thp) ||
		    ((b == B_HUGETLB_2M || b == B_HUGETLB_1G) && !huge)) {
			snprintf(why, len, "page +%#zx is not %s: kpageflags %#llx",
				 i, backing_names[b], (unsigned long long)kpf);
			return false;
		}
	}
	return true;
}

/* The folio refcount of the page at addr (inspect), -1 when unknown. */
static int folio_refcount(const void *addr)
{
	struct inspect_entry e;

	return inspect_one(addr, &e) == 1 ? e.refcount : -1;
}

/* Microseconds of one row: the median and the fastest of its ioctls. */
struct bench_row {
	unsigned long long get_med, get_min;
	unsigned long long put_med, put_min;
};

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/* Sort n values; their median (the lower one of an even count) and minimum. */
static void median_min(unsigned long long *v, unsigned long n,
		       unsigned long long *med, unsigned long long *min)
{
	qsort(v, n, sizeof(*v), cmp_ull);
	*med = v[(n - 1) / 2];
	*min = v[0];
}

/* One row: iterations ioctls of one command. 0, or -1 with a reason in why. */
static int bench_run(const struct bench_cmd *c, char *mem, unsigned int nr_call,
		     struct bench_row *row, char *why, size_t len)
{
	unsigned long long pages = range / getpagesize(), *get, *put;
	struct robust_pin_window pins;
	int ret = 0, ref0, ref1;
	unsigned long i;

	get = calloc(iterations, sizeof(*get));
	put = calloc(iterations, sizeof(*put));
	if (!get || !put) {
		snprintf(why, len, "out of memory");
		ret = -1;
		goto out;
	}
	ref0 = folio_refcount(mem);
	if (robust_pin_window_open(&pins)) {
		snprintf(why, len, "no nr_foll_pin_* in /proc/vmstat");
		ret = -1;
		goto out;
	}
	for (i = 0; i < iterations; i++) {
		struct mmprobe_gup_test gup = {
			.addr = (unsigned long)mem,
			.size = range,
			.nr_pages_per_call = nr_call,
			.gup_flags = BENCH_FOLL_WRITE,
		};

		if (ioctl(gup_fd, c->cmd, &gup)) {
			snprintf(why, len, "ioctl %s: %s", c->gup_test, strerror(errno));
			ret = -1;
			goto out;
		}
		if (gup.size != range) {
			snprintf(why, len, "took %llu of %zu bytes", (unsigned long long)gup.size,
				 range);
			ret = -1;
			goto out;
		}
		get[i] = gup.get_delta_usec;
		put[i] = gup.put_delta_usec;
	}
	median_min(get, iterations, &row->get_med, &row->get_min);
	median_min(put, iterations, &row->put_med, &row->put_min);
	ref1 = folio_refcount(mem);
	if (ref0 != ref1) {
		snprintf(why, len, "refcount of the first folio %d before, %d after", ref0, ref1);
		ret = -1;
		goto out;
	}
	if (robust_pin_window_check(&pins, c->pins ? pages * iterations : 0,
				    c->pins ? pages * iterations : 0, why, len))
		ret = -1;
out:
	free(get);
	free(put);
	return ret;
}

/* The first line of the table header */
#define HEADER_RANGE \
	"range %zu MiB = %zu pages of 4 KiB, FOLL_WRITE, median (and fastest) of %lu ioctls\n"

static void print_header(void)
{
	ksft_print_msg(HEADER_RANGE, range / MIB, range / getpagesize(), iterations);
	ksft_print_msg("%-10s %-23s %8s %6s %9s %9s %9s %9s %9s %9s\n",
		       "backing", "gup", "per_call", "calls", "get_us", "get_min",
		       "put_us", "put_min", "us/call", "ns/page");
}

/*
 * us/call: the fastest pass over the GUP calls of one ioctl; ns/page: the
 * fastest pass per page. The fastest is the pass the rest of the machine
 * disturbed least (under TCG on a shared host, most passes are disturbed).
 * Return: ns/page, for the ratios.
 */
static double print_row(enum backing b, const struct bench_cmd *c, unsigned int nr_call,
			const struct bench_row *row)
{
	unsigned long pages = range / getpagesize();
	unsigned long calls = (pages + nr_call - 1) / nr_call;
	double ns = (double)row->get_min * 1000 / pages;

	ksft_print_msg("%-10s %-23s %8u %6lu %9llu %9llu %9llu %9llu %9.3f %9.1f\n",
		       backing_names[b], c->name, nr_call, calls, row->get_med, row->get_min,
		       row->put_med, row->put_min, (double)row->get_min / calls, ns);
	return ns;
}

/* num / den of two measured rows, or "-" where either is missing or 0. */
#define RATIO_LEN	24

static const char *ratio(double num, double den, char *buf)
{
	if (num <= 0 || den <= 0)
		return "-";
	snprintf(buf, RATIO_LEN, "%.2f", num / den);
	return buf;
}

/*
 * The ratios, from the fastest passes: how many times cheaper per page each
 * backing is than 4 KiB pages (same command, same pages per call), what a
 * pin costs over a reference (pin_user_pages_fast / get_user_pages_fast,
 * pin_user_pages / get_user_pages), what FOLL_LONGTERM costs over a plain
 * pin, and what taking many pages per call gains over one. A gup_test
 * microsecond is coarse: rows of a few microseconds give rough ratios.
 */
static void print_ratios(void)
{
	char r[4][RATIO_LEN];
	int b, c, p;

	ksft_print_msg("ratios (fastest pass, per page; \"-\": not measured)\n");
	ksft_print_msg("%-10s %-23s %8s %9s\n", "backing", "gup", "per_call", "4k/this");
	for (b = B_THP; b < NR_BACKINGS; b++) {
		for (c = 0; c < (int)NR_CMDS; c++) {
			for (p = 0; p < nr_per_call; p++) {
				double this = ns_page[b][c][p], base = ns_page[B_4K][c][p];

				if (this > 0)
					ksft_print_msg("%-10s %-23s %8u %9s\n", backing_names[b],
						       cmds[c].name, per_call[p],
						       ratio(base, this, r[0]));
			}
		}
	}
	ksft_print_msg("%-10s %8s %12s %12s %14s\n", "backing", "per_call", "pin/get_fast",
		       "pin/get", "longterm/pin");
	for (b = 0; b < NR_BACKINGS; b++)
		for (p = 0; p < nr_per_call; p++) {
			double (*n)[MAX_PER_CALL] = ns_page[b];

			if (!n[C_GUP_FAST][p] && !n[C_GUP][p])
				continue;
			ksft_print_msg("%-10s %8u %12s %12s %14s\n", backing_names[b], per_call[p],
				       ratio(n[C_PIN_FAST][p], n[C_GUP_FAST][p], r[0]),
				       ratio(n[C_PIN][p], n[C_GUP][p], r[1]),
				       ratio(n[C_PIN_LONGTERM][p], n[C_PIN][p], r[2]));
		}
	if (nr_per_call < 2)
		return;
	snprintf(r[3], RATIO_LEN, "%u/%u", per_call[0], per_call[nr_per_call - 1]);
	ksft_print_msg("%-10s %-23s %12s  (per page, per_call %s)\n", "backing", "gup",
		       "batch gain", r[3]);
	for (b = 0; b < NR_BACKINGS; b++)
		for (c = 0; c < (int)NR_CMDS; c++)
			if (ns_page[b][c][0] > 0)
				ksft_print_msg("%-10s %-23s %12s\n", backing_names[b], cmds[c].name,
					       ratio(ns_page[b][c][0],
						     ns_page[b][c][nr_per_call - 1], r[0]));
}

int main(int argc, char **argv)
{
	char why[256];
	int b;

	ksft_print_header();
	parse_env();
	ksft_set_plan(NR_BACKINGS * NR_CMDS);
	gup_fd = open(GUP_TEST_FILE, O_RDWR);
	if (gup_fd < 0)
		ksft_exit_skip("%s: %s (load mmprobe, or a kernel with CONFIG_GUP_TEST)\n",
			       GUP_TEST_FILE, strerror(errno));
	print_header();
	for (b = 0; b < NR_BACKINGS; b++) {
		const char *skip = NULL;
		unsigned int c;
		size_t len;
		char *mem;

		mem = backing_map(b, &len, &skip);
		if (mem && !backing_ok(b, mem, why, sizeof(why)))
			skip = why;
		for (c = 0; c < NR_CMDS; c++) {
			bool ok = true;
			int p;

			if (!mem || skip == why) {
				ksft_test_result_skip("%s %s: %s\n", backing_names[b],
						      cmds[c].name, skip);
				continue;
			}
			for (p = 0; p < nr_per_call && ok; p++) {
				struct bench_row row;

				if (bench_run(&cmds[c], mem, per_call[p], &row, why, sizeof(why))) {
					ksft_print_msg("%s %s per_call=%u: %s\n", backing_names[b],
						       cmds[c].name, per_call[p], why);
					ok = false;
					break;
				}
				ns_page[b][c][p] = print_row(b, &cmds[c], per_call[p], &row);
			}
			ksft_test_result(ok, "%s %s\n", backing_names[b], cmds[c].name);
		}
		if (mem)
			munmap(mem, len);
	}
	print_ratios();
	close(gup_fd);
	util_settings_restore();
	ksft_finished();
	return 0;
}
