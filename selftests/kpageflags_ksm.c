// SPDX-License-Identifier: GPL-2.0
/*
 * kpageflags_ksm: does /proc/kpageflags say KSM (bit 21) only of KSM pages?
 *
 * An anonymous page that was never MADV_MERGEABLE, written, is an ordinary
 * anon page: ANON (bit 12) set, KSM clear. Since v6.10 ("proc: rewrite
 * stable_page_flags()") stable_page_flags() tests
 * "folio->mapping & PAGE_MAPPING_KSM", and PAGE_MAPPING_KSM is
 * PAGE_MAPPING_ANON | PAGE_MAPPING_MOVABLE: every anon folio has the first
 * of those bits, so every anon page is reported KSM. Before (PageKsm()) and
 * after (folio_test_ksm(), which compares all the bits) the flag is right.
 *
 * Each case also checks its sanity first (the page is present in pagemap
 * and kpageflags calls it ANON, or the answer would say nothing); the
 * second case is a page of a MAP_SHARED anonymous mapping (shmem), which
 * is not ANON and must not be KSM either.
 *
 * Standalone: plain C and the kernel's kselftest.h, no module. Needs root
 * (PFNs in /proc/self/pagemap, /proc/kpageflags).
 *
 *   gcc -I tools/testing/selftests -o kpageflags_ksm kpageflags_ksm.c
 *
 * mmprobe: Documentation/findings.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kselftest.h"

#define PM_PRESENT	(1ULL << 63)
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define KPF_ANON	12
#define KPF_KSM		21

/* The kpageflags word of the page at @addr; 0 and a message if unknown. */
static uint64_t page_flags(const void *addr, long pagesize, char *why, size_t len)
{
	uint64_t pm = 0, flags = 0;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0 || pread(fd, &pm, sizeof(pm),
			    (uintptr_t)addr / pagesize * sizeof(pm)) != sizeof(pm)) {
		snprintf(why, len, "pagemap: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	if (!(pm & PM_PRESENT) || !(pm & PM_PFN_MASK)) {
		snprintf(why, len, "pagemap: page not present or no PFN (0x%llx)",
			 (unsigned long long)pm);
		return 0;
	}
	fd = open("/proc/kpageflags", O_RDONLY);
	if (fd < 0 || pread(fd, &flags, sizeof(flags),
			    (pm & PM_PFN_MASK) * sizeof(flags)) != sizeof(flags)) {
		snprintf(why, len, "kpageflags: %s", strerror(errno));
		flags = 0;
	}
	if (fd >= 0)
		close(fd);
	return flags;
}

/* One written page of a new mapping of @flags: is it reported KSM? */
static void one_case(const char *name, int mflags, int want_anon, long pagesize)
{
	char why[128] = "";
	uint64_t flags;
	char *p;

	p = mmap(NULL, pagesize, PROT_READ | PROT_WRITE, mflags | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		ksft_test_result_error("%s: mmap: %s\n", name, strerror(errno));
		return;
	}
	memset(p, 0x5a, pagesize);
	flags = page_flags(p, pagesize, why, sizeof(why));
	if (!flags) {
		ksft_test_result_error("%s: %s\n", name, why);
	} else if (!!(flags & (1ULL << KPF_ANON)) != want_anon) {
		ksft_test_result_error("%s: kpageflags 0x%llx has ANON %s\n", name,
				       (unsigned long long)flags, want_anon ? "clear" : "set");
	} else {
		ksft_print_msg("%s: kpageflags 0x%llx\n", name, (unsigned long long)flags);
		ksft_test_result(!(flags & (1ULL << KPF_KSM)), "%s is not KSM\n", name);
	}
	munmap(p, pagesize);
}

int main(void)
{
	long pagesize = sysconf(_SC_PAGESIZE);

	ksft_print_header();
	if (access("/proc/kpageflags", R_OK))
		ksft_exit_skip("/proc/kpageflags: %s (needs root and CONFIG_PROC_PAGE_MONITOR)\n",
			       strerror(errno));
	ksft_set_plan(2);
	one_case("anon page never MADV_MERGEABLE", MAP_PRIVATE, 1, pagesize);
	one_case("shmem page", MAP_SHARED, 0, pagesize);
	ksft_finished();
}
