// SPDX-License-Identifier: GPL-2.0
/*
 * inspect-bench: how fast is inspect, against pagemap + kpageflags?
 *
 *   inspect-bench [-m MiB]      benchmark (default 1024 MiB per region)
 *   inspect-bench demo          map a mix of kinds, print "pid start end",
 *                               and wait (for scripts/mmprobe-map)
 *
 * Not a test: it prints times and ratios. For a region of 4 KiB pages and
 * one of PMD THPs it times inspect per line, in binary and in summary, and reading
 * /proc/self/pagemap plus /proc/kpageflags for the same range (pagemap in
 * one read, kpageflags in one read per run of consecutive PFNs), best of
 * three runs each, into buffers faulted in beforehand.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "inspect_util.h"
#include "mmprobe_util.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

#define RUNS		3

static long page_size;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Buffers for the reports, allocated and faulted in once, so that the
 * times are of the kernel's work, not of user-space page faults.
 */
static char *out_buf;
static size_t out_len;
static uint64_t *pm_buf, *kpf_buf;

static int buffers(size_t len)
{
	size_t n = len / page_size;

	out_len = n * 256 + (1 << 20);
	out_buf = malloc(out_len);
	pm_buf = malloc(n * sizeof(*pm_buf));
	kpf_buf = malloc(n * sizeof(*kpf_buf));
	if (!out_buf || !pm_buf || !kpf_buf)
		return -1;
	memset(out_buf, 0, out_len);
	memset(pm_buf, 0, n * sizeof(*pm_buf));
	memset(kpf_buf, 0, n * sizeof(*kpf_buf));
	return 0;
}

/* inspect [start, end) with opts; returns seconds, or -1 on error. */
static double time_inspect(char *mem, size_t len, const char *opts, ssize_t *bytes)
{
	char cmd[128];
	ssize_t n;
	double t;
	int fd;

	fd = open(INSPECT_PATH, O_RDWR);
	if (fd < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "0 0x%lx 0x%lx %s", (unsigned long)mem,
		 (unsigned long)mem + len, opts);
	t = now();
	*bytes = 0;
	if (write(fd, cmd, strlen(cmd)) < 0)
		return -1;
	while ((n = read(fd, out_buf + *bytes, out_len - *bytes)) > 0)
		*bytes += n;
	t = now() - t;
	close(fd);
	return n < 0 ? -1 : t;
}

/* pagemap of the range, then kpageflags of every present PFN. */
static double time_pagemap(char *mem, size_t len, long *present)
{
	size_t i, n = len / page_size, run;
	uint64_t *pm = pm_buf, *flags = kpf_buf;
	int pfd, kfd;
	double t;

	pfd = open("/proc/self/pagemap", O_RDONLY);
	kfd = open("/proc/kpageflags", O_RDONLY);
	if (pfd < 0 || kfd < 0)
		return -1;
	t = now();
	if (pread(pfd, pm, n * sizeof(*pm), (uintptr_t)mem / page_size * sizeof(*pm)) !=
	    (ssize_t)(n * sizeof(*pm)))
		return -1;
	*present = 0;
	for (i = 0; i < n; i += run) {
		uint64_t pfn = pm[i] & PM_PFN_MASK;

		run = 1;
		if (!(pm[i] & PM_PRESENT))
			continue;
		while (i + run < n && (pm[i + run] & PM_PRESENT) &&
		       (pm[i + run] & PM_PFN_MASK) == pfn + run)
			run++;
		if (pread(kfd, flags + i, run * sizeof(*flags), pfn * sizeof(*flags)) !=
		    (ssize_t)(run * sizeof(*flags)))
			return -1;
		*present += run;
	}
	t = now() - t;
	close(pfd);
	close(kfd);
	return t;
}

static double best(double a, double b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

static void bench(const char *name, char *mem, size_t len)
{
	double lines = -1, summary = -1, binary = -1, pagemap = -1;
	ssize_t lines_bytes = 0, summary_bytes = 0, binary_bytes = 0;
	struct inspect_summary s;
	long present = 0;
	int i;

	for (i = 0; i < RUNS; i++) {
		lines = best(lines, time_inspect(mem, len, "", &lines_bytes));
		summary = best(summary, time_inspect(mem, len, "summary", &summary_bytes));
		binary = best(binary, time_inspect(mem, len, "binary", &binary_bytes));
		pagemap = best(pagemap, time_pagemap(mem, len, &present));
	}
	inspect_summary(0, (unsigned long)mem, (unsigned long)mem + len, &s);
	printf("%s: %zu MiB, %lld entries, %ld present pages\n", name, len >> 20,
	       s.entries, present);
	printf("  inspect lines     %8.3f s  (%zd bytes)\n", lines, lines_bytes);
	printf("  inspect binary    %8.3f s  (%zd bytes, %zd records)\n", binary, binary_bytes,
	       binary_bytes / (ssize_t)sizeof(struct mmprobe_inspect_entry));
	printf("  inspect summary   %8.3f s\n", summary);
	printf("  pagemap+kpageflags %7.3f s\n", pagemap);
	printf("  ratio (pagemap+kpageflags) / inspect: lines %.2f, binary %.2f, summary %.2f\n",
	       lines > 0 ? pagemap / lines : 0, binary > 0 ? pagemap / binary : 0,
	       summary > 0 ? pagemap / summary : 0);
}

static char *region(size_t len, size_t align, int advice)
{
	char *mem = util_mmap_aligned(len, align);
	size_t i;

	if (!mem)
		return NULL;
	madvise(mem, len, advice);
	for (i = 0; i < len; i += page_size)
		mem[i] = 1;
	return mem;
}

/*
 * A few MiB with one of each kind this process can make alone: a PMD THP,
 * a PTE-mapped THP with a hole, small anon pages (some shared with a
 * child), zero pages, a swapped-out page, a shmem page.
 */
static int demo(void)
{
	size_t pmd = util_pmd_size() ?: util_pmd_span();
	size_t len = 3 * pmd;
	char *mem = util_mmap_aligned(len, pmd), *shm;
	volatile char sink;
	size_t i;

	if (!mem)
		return 1;
	madvise(mem, 2 * pmd, MADV_HUGEPAGE);
	madvise(mem + 2 * pmd, pmd, MADV_NOHUGEPAGE);
	memset(mem, 1, 2 * pmd);
	madvise(mem + pmd + 16 * page_size, 16 * page_size, MADV_DONTNEED);
	for (i = 0; i < 64; i++)
		mem[2 * pmd + i * page_size] = 1;
	for (i = 64; i < 128; i++)
		sink = mem[2 * pmd + i * page_size];
	(void)sink;
	madvise(mem + 2 * pmd + 32 * page_size, 8 * page_size, MADV_PAGEOUT);
	shm = mmap(mem + 2 * pmd + 192 * page_size, 16 * page_size, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (shm != MAP_FAILED)
		memset(shm, 2, 16 * page_size);
	if (!fork()) {
		/* the child keeps the small anon pages shared until it is killed */
		pause();
		_exit(0);
	}
	printf("%d 0x%lx 0x%lx\n", getpid(), (unsigned long)mem, (unsigned long)mem + len);
	fflush(stdout);
	pause();
	return 0;
}

int main(int argc, char **argv)
{
	size_t len = 1024UL << 20, pmd;
	char *mem;
	int opt;

	page_size = getpagesize();
	if (!inspect_available()) {
		fprintf(stderr, "no %s: load mmprobe\n", INSPECT_PATH);
		return 4;
	}
	if (argc > 1 && !strcmp(argv[1], "demo"))
		return demo();
	while ((opt = getopt(argc, argv, "m:")) != -1) {
		if (opt != 'm') {
			fprintf(stderr, "usage: %s [-m MiB] | demo\n", argv[0]);
			return 2;
		}
		len = strtoul(optarg, NULL, 0) << 20;
	}
	pmd = util_pmd_size() ?: util_pmd_span();
	len = (len + pmd - 1) / pmd * pmd;
	if (buffers(len)) {
		perror("malloc");
		return 1;
	}

	mem = region(len, pmd, MADV_NOHUGEPAGE);
	if (!mem) {
		perror("mmap");
		return 1;
	}
	bench("4 KiB pages", mem, len);
	munmap(mem, len);

	mem = region(len, pmd, MADV_HUGEPAGE);
	if (!mem) {
		perror("mmap");
		return 1;
	}
	bench("PMD THPs", mem, len);
	munmap(mem, len);
	return 0;
}
