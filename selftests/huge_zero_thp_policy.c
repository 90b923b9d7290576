// SPDX-License-Identifier: GPL-2.0
/*
 * huge_zero_thp_policy: does a write fault on the huge zero page obey the
 * THP policy in force at the time of the write?
 *
 * A read fault on an aligned 2 MiB of a MADV_HUGEPAGE region maps the huge
 * zero page. Then THP is forbidden - MADV_NOHUGEPAGE on the region,
 * prctl(PR_SET_THP_DISABLE) for the process, or "never" in
 * /sys/kernel/mm/transparent_hugepage/enabled - and one byte is written.
 * No new THP may be allocated: the PMD must be split (the written page a
 * new small page, the others the small zero page), as every kernel before
 * v6.13 does. Since v6.13 ("mm: allocate THP on hugezeropage wp-fault")
 * do_huge_pmd_wp_page() calls do_huge_zero_wp_pmd(), which allocates a PMD
 * THP without asking thp_vma_allowable_order(): the write gets a THP in
 * all three cases.
 *
 * Standalone: plain C and the kernel's kselftest.h, no module. Needs root
 * (PFNs in /proc/self/pagemap, /proc/kpageflags, the THP sysfs knobs, which
 * it puts back). Each case runs in a child of its own.
 *
 *   gcc -I tools/testing/selftests -o huge_zero_thp_policy huge_zero_thp_policy.c
 *
 * mmprobe: Documentation/findings.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "kselftest.h"

#define THP_DIR		"/sys/kernel/mm/transparent_hugepage"
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define KPF_THP		22
#define KPF_ZERO_PAGE	24

enum forbid { FORBID_MADVISE, FORBID_PRCTL, FORBID_NEVER, NR_FORBID };

static const char *const forbid_names[NR_FORBID] = {
	[FORBID_MADVISE] = "MADV_NOHUGEPAGE",
	[FORBID_PRCTL] = "PR_SET_THP_DISABLE",
	[FORBID_NEVER] = "enabled=never",
};

/* What happened in a case, as the child's exit status. */
enum outcome { OUT_SPLIT = 10, OUT_THP, OUT_NO_HUGE_ZERO, OUT_ERROR };

static size_t pmdsize, pagesize;

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* The selected word of "always [madvise] never", or the plain value. */
static int setting_get(const char *path, char *buf, size_t len)
{
	char raw[256], *open_br, *close_br;

	if (read_file(path, raw, sizeof(raw)))
		return -1;
	open_br = strchr(raw, '[');
	close_br = open_br ? strchr(open_br, ']') : NULL;
	if (open_br && close_br)
		snprintf(buf, len, "%.*s", (int)(close_br - open_br - 1), open_br + 1);
	else
		snprintf(buf, len, "%.*s", (int)strcspn(raw, "\n"), raw);
	return 0;
}

static uint64_t pfn_of(const void *addr)
{
	uint64_t ent = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), (uintptr_t)addr / pagesize * sizeof(ent)) != sizeof(ent))
		ent = 0;
	close(fd);
	return ent & PM_PFN_MASK;
}

static uint64_t kpageflags(uint64_t pfn)
{
	uint64_t flags = 0;
	int fd = open("/proc/kpageflags", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &flags, sizeof(flags), pfn * sizeof(flags)) != sizeof(flags))
		flags = 0;
	close(fd);
	return flags;
}

/* The child: map the huge zero page, forbid THP, write, see what came. */
static enum outcome run_case(enum forbid how)
{
	uint64_t zero_bits = (1ULL << KPF_THP) | (1ULL << KPF_ZERO_PAGE), fl;
	char *raw, *mem;
	int ret;

	raw = mmap(NULL, 2 * pmdsize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return OUT_ERROR;
	mem = (char *)(((uintptr_t)raw + pmdsize - 1) & ~(pmdsize - 1));
	if (madvise(mem, pmdsize, MADV_HUGEPAGE))
		return OUT_ERROR;
	if (*(volatile char *)mem != 0)
		return OUT_ERROR;
	if ((kpageflags(pfn_of(mem)) & zero_bits) != zero_bits)
		return OUT_NO_HUGE_ZERO;

	switch (how) {
	case FORBID_MADVISE:
		ret = madvise(mem, pmdsize, MADV_NOHUGEPAGE);
		break;
	case FORBID_PRCTL:
		ret = prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
		break;
	default:
		ret = write_file(THP_DIR "/enabled", "never");
		break;
	}
	if (ret)
		return OUT_ERROR;

	mem[pmdsize / 2] = 1;
	fl = kpageflags(pfn_of(mem + pmdsize / 2));
	ksft_print_msg("%s: written page kpageflags %#llx, its neighbour %#llx\n",
		       forbid_names[how], (unsigned long long)fl,
		       (unsigned long long)kpageflags(pfn_of(mem + pmdsize / 2 + pagesize)));
	if (mem[pmdsize / 2] != 1 || mem[0] || mem[pmdsize - 1])
		return OUT_ERROR;
	return fl & (1ULL << KPF_THP) ? OUT_THP : OUT_SPLIT;
}

int main(void)
{
	char enabled[64], use_zero_page[64], buf[64];
	enum outcome out;
	int how, status;
	pid_t pid;

	ksft_print_header();
	ksft_set_plan(NR_FORBID);
	pagesize = getpagesize();
	if (read_file(THP_DIR "/hpage_pmd_size", buf, sizeof(buf)))
		ksft_exit_skip("no THP: %s/hpage_pmd_size is missing\n", THP_DIR);
	pmdsize = strtoul(buf, NULL, 10);
	if (geteuid())
		ksft_exit_skip("needs root (pagemap PFNs, kpageflags, THP settings)\n");
	if (setting_get(THP_DIR "/enabled", enabled, sizeof(enabled)) ||
	    setting_get(THP_DIR "/use_zero_page", use_zero_page, sizeof(use_zero_page)))
		ksft_exit_fail_msg("cannot read the THP settings\n");

	for (how = 0; how < NR_FORBID; how++) {
		if (write_file(THP_DIR "/enabled", "madvise") ||
		    write_file(THP_DIR "/use_zero_page", "1"))
			ksft_exit_fail_msg("cannot set THP to madvise with the huge zero page\n");
		fflush(stdout);
		pid = fork();
		if (!pid)
			_exit(run_case(how));
		out = OUT_ERROR;
		if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
			out = WEXITSTATUS(status);
		switch (out) {
		case OUT_SPLIT:
			ksft_test_result_pass("write after %s: PMD split\n", forbid_names[how]);
			break;
		case OUT_THP:
			ksft_test_result_fail("write after %s: a THP was allocated\n",
					      forbid_names[how]);
			break;
		case OUT_NO_HUGE_ZERO:
			ksft_test_result_skip("write after %s: no huge zero page was mapped\n",
					      forbid_names[how]);
			break;
		default:
			ksft_test_result_error("write after %s: the case could not run\n",
					       forbid_names[how]);
			break;
		}
	}
	write_file(THP_DIR "/enabled", enabled);
	write_file(THP_DIR "/use_zero_page", use_zero_page);
	ksft_finished();
}
