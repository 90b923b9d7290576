// SPDX-License-Identifier: GPL-2.0
/*
 * anon_exclusive: do GUP pins of anonymous memory stay coherent with what
 * the process maps, across fork, COW, unsharing, mprotect and madvise?
 *
 * A case table in the manner of the kernel's cow.c selftest, driven through
 * mmprobe's pin sessions (/sys/kernel/debug/mmprobe/pin), so it runs on the
 * distribution kernels that lack CONFIG_GUP_TEST. Every case runs on every
 * kind of memory it applies to and checks what the process sees (its
 * memory, /proc/self/pagemap, /proc/kpageflags) against what the pin sees
 * (the pages' contents, and mmprobe's description of each page); after each,
 * every page the case took is given back (see pin_acct) and no page of its
 * mappings is still pinned. Cases for the pin file itself come first.
 *
 * Where kernels differ, the expectation follows what this kernel was
 * measured to do before the cases run (behaviour.c, never the version
 * number): longterm_ro_unshare (upstream 6.2+) and huge_zero_wp_thp
 * (upstream 6.13+).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest.h"
#include "behaviour.h"
#include "inspect_util.h"
#include "mmprobe_util.h"
#include "pin_util.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT	26
#endif

#define KPF_ANON_BIT	12
#define KPF_COMPOUND_HEAD_BIT	15
#define KPF_COMPOUND_TAIL_BIT	16
#define KPF_HUGE_BIT	17
#define KPF_KSM_BIT	21

#define PARAM_MAX_PAGES	"/sys/module/mmprobe/parameters/pin_max_pages"
#define KSM_DIR		"/sys/kernel/mm/ksm"
/*
 * Bytes of a hugetlb mapping that a case pins and compares: all of it up to
 * 2 MiB. A THP's window is the whole THP, so a window has at most a PMD's
 * pages: 512 of 4 KiB, 2048 of 16 KiB and 8192 of 64 KiB (arm64). With 512
 * here, every THP kind of a 16 KiB kernel wrote past the arrays below.
 */
#define WIN_MAX		(2UL << 20)
#define WIN_MAX_PAGES	8192

static size_t pagesize, pmdsize;
static unsigned int pmd_order;
static unsigned char seed = 1;

/* What the kernel does (measured) and what mmprobe was built with (version). */
static struct {
	int thp;
	int huge_zero_wp_thp;
	int longterm_ro_unshare;
	bool use_zero_page;	/* THP_DIR/use_zero_page is 1 (we set it) */
} cap;

static struct mmprobe_pin_page pages_buf[WIN_MAX_PAGES];
/*
 * What MMPROBE_PIN_IOC_READ copies to, a part of a window at a time.
 * Small on purpose, as everything this program writes: fork() copies the
 * page table entries of every dirty page, and the parent's next write to
 * each faults; 4 MiB of buffers made a fork() 6 ms longer under TCG.
 */
static unsigned char read_buf[64 << 10];
/* A window of fresh (or zero) memory: every page reads 0. */
static const unsigned char zero_vals[WIN_MAX_PAGES];

/* The outcome of the running test is pin_case (pin_util.h). */
#define cur pin_case
#define FAIL(...) pin_case_fail(__LINE__, __VA_ARGS__)

/* EXPECT_EQ(expected, seen, what...): on a mismatch, say so and fail. */
static bool expect_eq(int line, long long expected, long long seen, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (expected == seen)
		return true;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pin_case_fail(line, "%s: expected %lld (%#llx), seen %lld (%#llx)", what, expected,
		      expected, seen, seen);
	return false;
}

#define EXPECT_EQ(expected, seen, ...) \
	expect_eq(__LINE__, (long long)(expected), (long long)(seen), __VA_ARGS__)
#define EXPECT_TRUE(cond, ...) \
	((cond) ? true : (FAIL(__VA_ARGS__), false))

/* A skip the machine explains; a case that also failed still fails. */
#define SKIP(...) snprintf(cur.skip, sizeof(cur.skip), __VA_ARGS__)
#define XFAIL(...) snprintf(cur.xfail, sizeof(cur.xfail), __VA_ARGS__)

/* The skip reason when too few hugetlb pages of a size are free. */
#define SKIP_HUGETLB_FREE \
	"needs %d free %zu kB hugetlb pages, %d free (raise %s/hugepages-%zukB/nr_hugepages)"

/*
 * The pagemap entries of n pages from addr, in one read (a file per page
 * is slow under TCG). The file is the caller's: a child opens its own.
 */
static void pagemap_range(const void *addr, size_t n, uint64_t *out)
{
	static pid_t pid;
	static int fd = -1;
	ssize_t len = n * sizeof(*out);

	if (pid != getpid()) {
		if (fd >= 0)
			close(fd);
		fd = open("/proc/self/pagemap", O_RDONLY);
		pid = getpid();
	}
	if (pread(fd, out, len, (uintptr_t)addr / pagesize * sizeof(*out)) != len)
		memset(out, 0, len);
}

static uint64_t pagemap(const void *addr)
{
	uint64_t pm;

	pagemap_range(addr, 1, &pm);
	return pm;
}

static uint64_t pfn_of(const void *addr)
{
	return pagemap(addr) & PM_PFN_MASK;
}

static uint64_t kpageflags(uint64_t pfn)
{
	static int fd = -1;
	uint64_t flags;

	if (fd < 0)
		fd = open("/proc/kpageflags", O_RDONLY);
	if (pread(fd, &flags, sizeof(flags), pfn * sizeof(flags)) != sizeof(flags))
		return 0;
	return flags;
}

static bool kpf(uint64_t pfn, int bit)
{
	return kpageflags(pfn) & (1ULL << bit);
}

/* The pagemap entries of a window, in a buffer the next call reuses. */
static const uint64_t *pagemap_win(const void *addr, size_t n)
{
	static uint64_t pm[WIN_MAX_PAGES];

	pagemap_range(addr, n, pm);
	return pm;
}

/* Write "4" to clear_refs: clear soft-dirty, so mprotect() keeps PTEs R/O. */
static void clear_softdirty(void)
{
	int ret = util_write_file("/proc/self/clear_refs", "4");

	if (ret)
		FAIL("clear_refs: %s", strerror(-ret));
}

/* mprotect() R/O and R/W again: cow.c's "mprotect() optimization" */
static bool mprotect_ro_rw(char *mem, size_t len)
{
	if (mprotect(mem, len, PROT_READ)) {
		FAIL("mprotect R/O: %s", strerror(errno));
		return false;
	}
	if (mprotect(mem, len, PROT_READ | PROT_WRITE)) {
		FAIL("mprotect R/W: %s", strerror(errno));
		return false;
	}
	return true;
}

static const char *const method_names[MMPROBE_PIN_NR_METHODS] = {
	[MMPROBE_PIN_METHOD_PUP]	= "pin_user_pages",
	[MMPROBE_PIN_METHOD_PUP_FAST]	= "pin_user_pages_fast",
	[MMPROBE_PIN_METHOD_GUP]	= "get_user_pages",
	[MMPROBE_PIN_METHOD_GUP_FAST]	= "get_user_pages_fast",
};

static bool method_pins(int method)
{
	return method == MMPROBE_PIN_METHOD_PUP || method == MMPROBE_PIN_METHOD_PUP_FAST;
}

/* ---- kinds of memory ---- */

/*
 * The types of memory, as cow.c has them. The THP types (but the PMD-mapped
 * ones) exist once for every THP size the kernel offers: the PMD size and
 * every multi-size THP of THP_DIR/hugepages-*kB, found at run time.
 */
enum kind_type {
	BASE,
	BASE_SWAP,
	THP_PMD,
	THP_PMD_SWAP,
	THP_PTE,
	THP_PTE_SWAP,
	THP_SINGLE_PTE,
	THP_SINGLE_PTE_SWAP,
	THP_MREMAP,
	THP_SHARED,
	HUGETLB_2M,
	HUGETLB_1G,
	ZERO,
	HUGE_ZERO,
	KSM,
	NR_TYPES
};

#define K(k)		(1U << (k))
#define K_SWAPPED	(K(BASE_SWAP) | K(THP_PMD_SWAP) | K(THP_PTE_SWAP) | K(THP_SINGLE_PTE_SWAP))
/* The THP types run for every THP size; the PMD ones for the PMD size only. */
#define K_THP_SIZED	(K(THP_PTE) | K(THP_PTE_SWAP) | K(THP_SINGLE_PTE) | \
			 K(THP_SINGLE_PTE_SWAP) | K(THP_MREMAP) | K(THP_SHARED))
#define K_THP		(K(THP_PMD) | K(THP_PMD_SWAP) | K_THP_SIZED)
#define K_HUGETLB	(K(HUGETLB_2M) | K(HUGETLB_1G))
/* A KSM page is anon too, but never exclusive: a pin gets a copy of it. */
#define K_ANON		(K(BASE) | K(BASE_SWAP) | K_THP | K_HUGETLB | K(KSM))
#define K_ZERO		(K(ZERO) | K(HUGE_ZERO))
#define K_ALL		(K_ANON | K_ZERO)
/*
 * The 1 GiB hugetlb page sits out two groups of cases, which the 2 MiB one
 * covers for hugetlb: those where the kernel copies a whole folio (fork of
 * a pinned page, unsharing, refault, a write after fork), as one copy took
 * 140 s under TCG; and those that need fork() to share it (see
 * case_fork_shares()). MMPROBE_HUGETLB_1G_ALL=1 in the environment runs
 * them all on it too (case_runs_on()).
 */
#define K_NOT_1G	(K_ALL & ~K(HUGETLB_1G))

static const char *const type_names[NR_TYPES] = {
	[BASE]			= "base page",
	[BASE_SWAP]		= "swapped-out base page",
	[THP_PMD]		= "PMD-mapped THP",
	[THP_PMD_SWAP]		= "swapped-out PMD-mapped THP",
	[THP_PTE]		= "PTE-mapped THP",
	[THP_PTE_SWAP]		= "swapped-out PTE-mapped THP",
	[THP_SINGLE_PTE]	= "single PTE of a THP",
	[THP_SINGLE_PTE_SWAP]	= "swapped-out single PTE of a THP",
	[THP_MREMAP]		= "THP after partial mremap",
	[THP_SHARED]		= "partially shared THP",
	[HUGETLB_2M]		= "2 MiB hugetlb page",
	[HUGETLB_1G]		= "1 GiB hugetlb page",
	[ZERO]			= "shared zero page",
	[HUGE_ZERO]		= "huge zero page",
	[KSM]			= "KSM page",
};

/**
 * struct kind - one kind of memory of this kernel
 * @type: what it is
 * @thpsize: the THP size of a THP type; 0 for a multi-size THP type on a
 *	kernel without THP_DIR/hugepages-*kB, whose cases are skipped
 * @name: as the results name it
 * @ns: time its cases took
 */
struct kind {
	enum kind_type type;
	size_t thpsize;
	char name[64];
	unsigned long long ns;
};

/* Base, swapped, 8 PMD THP, 6 for each of up to 16 mTHP sizes, 5 more. */
#define NR_KINDS_MAX	(2 + 8 + 6 * 16 + 5)
static struct kind kinds[NR_KINDS_MAX];
static int nr_kinds;

/* The anon mTHP sizes (behaviour_mthp_sizes()): not the PMD size. */
static size_t mthp_sizes[16];
static int nr_mthp_sizes;
/* Does the kernel have THP_DIR/hugepages-*kB at all (multi-size THP)? */
static bool have_mthp_dirs;
/* MMPROBE_HUGETLB_1G_ALL=1: every case of the 2 MiB page on the 1 GiB one */
static bool hugetlb_1g_all;

/**
 * struct mem - one kind of memory, set up for one case
 * @kind: what type it is
 * @thpsize: the size of its THP, for THP types
 * @map, @map_len: what the setup mapped (unmapped at the end)
 * @map2, @map2_len: the mremap target, or NULL
 * @mem, @len: the range under test, for mprotect, madvise and munmap
 * @win: bytes from @mem that are pinned and compared
 * @hsize: hugetlb page size, 0 when not hugetlb
 * @vals: what the process must read in @win, one byte a page (page_holds())
 * @spoilt: the case left the mapping unlike a fresh one (hugetlb VMAs are
 *	VM_DONTEXPAND, so MADV_DOFORK cannot undo MADV_DONTFORK on them)
 * @ksm_pfn: the KSM page that @mem and its twin (the page after it) map
 *	after the setup of a KSM kind
 */
struct mem {
	enum kind_type kind;
	size_t thpsize;
	char *map;
	size_t map_len;
	char *map2;
	size_t map2_len;
	char *mem;
	size_t len;
	size_t win;
	size_t hsize;
	unsigned char vals[WIN_MAX_PAGES];
	bool spoilt;
	uint64_t ksm_pfn;
};

static size_t nr_pages(const struct mem *m)
{
	return m->win / pagesize;
}

static bool is_hugetlb(const struct mem *m)
{
	return K(m->kind) & K_HUGETLB;
}

static bool is_swapped(const struct mem *m)
{
	return K(m->kind) & K_SWAPPED;
}

static unsigned int order_of(size_t size)
{
	return __builtin_ctzl(size / pagesize);
}

/*
 * Page i of a partially shared THP was shared with a child that is gone:
 * a R/O pin may reuse it or copy it, as the kernel decides.
 */
static bool was_shared(const struct mem *m, size_t i)
{
	return m->kind == THP_SHARED && i == 0;
}

/*
 * Mark every page of len bytes at p with val: its first and last 8 bytes.
 * A COW copy or a leak moves whole pages, so that is enough to tell them
 * apart, at 1/256 of the cost of a whole page under TCG.
 */
static void pages_mark(char *p, size_t len, unsigned char val)
{
	size_t i;

	for (i = 0; i < len; i += pagesize) {
		memset(p + i, val, 8);
		memset(p + i + pagesize - 8, val, 8);
	}
}

/*
 * Write a new pattern into the window, one byte value per page, 1 to 255:
 * never a page of zeros, which is what fresh memory reads, and which the
 * kernel may replace by the shared zero page. Since 6.12 a split of an
 * anonymous THP maps each zero-filled subpage to it (TTU_USE_SHARED_ZEROPAGE),
 * and MADV_PAGEOUT splits a THP that it cannot swap out whole (arm64 with
 * 16 KiB pages has no THP_SWAP; with 4 KiB it splits a PTE-mapped THP whose
 * PTEs are partly contiguous): the zero page then stayed in memory.
 */
static void mem_write(struct mem *m)
{
	size_t i;

	seed += 0x35;
	for (i = 0; i < nr_pages(m); i++) {
		m->vals[i] = (seed + i) % 255 + 1;
		pages_mark(m->mem + i * pagesize, pagesize, m->vals[i]);
	}
}

/*
 * Does the page at p hold val as pages_mark() leaves it: val in its first
 * and last 8 bytes, zero between (the memory is fresh, and nothing else
 * is written)? The whole page is read; a val of 0 is an all-zero page.
 */
static bool page_holds(const unsigned char *p, unsigned char val)
{
	const uint64_t *q = (const uint64_t *)p;
	uint64_t mark = val * 0x0101010101010101ULL, between = 0;
	size_t i, n = pagesize / sizeof(*q);

	for (i = 1; i < n - 1; i++)
		between |= q[i];
	return q[0] == mark && q[n - 1] == mark && !between;
}

/* The first of n pages at p that does not hold its value of vals, or -1. */
static long first_bad_page(const unsigned char *p, const unsigned char *vals, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!page_holds(p + i * pagesize, vals[i]))
			return i;
	return -1;
}

/* Say that page number page, at seen, does not hold val. */
static void page_fail(const char *what, long page, const unsigned char *seen, unsigned char val)
{
	FAIL("%s: page %ld holds %#x (first byte), expected %#x %s", what, page, *seen, val,
	     "in its first and last 8 bytes, 0 between");
}

static bool check_data(const char *what, const unsigned char *vals,
		       const unsigned char *seen, size_t n)
{
	long page = first_bad_page(seen, vals, n);

	if (page >= 0)
		page_fail(what, page, seen + page * pagesize, vals[page]);
	return page < 0;
}

/* The process reads what it last wrote. */
static bool check_memory(const struct mem *m)
{
	return check_data("process memory", m->vals, (unsigned char *)m->mem, nr_pages(m));
}

/* The counter stats/name of an mTHP size; -1 if none. */
static long long mthp_stat(size_t size, const char *name)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), THP_DIR "/hugepages-%zukB/stats/%s", size >> 10, name);
	if (util_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return atoll(buf);
}

/*
 * The fault fallbacks of a THP size so far: thp_fault_fallback for the
 * PMD size, the size's stats/anon_fault_fallback for an mTHP; -1 if none.
 */
static long long thp_fallbacks(size_t size)
{
	if (size == pmdsize)
		return util_vmstat("thp_fault_fallback");
	return mthp_stat(size, "anon_fault_fallback");
}

/* The THPs of a size swapped out whole so far, as thp_fallbacks() counts. */
static long long thp_swpouts(size_t size)
{
	if (size == pmdsize)
		return util_vmstat("thp_swpout");
	return mthp_stat(size, "swpout");
}

/*
 * How MADV_PAGEOUT swapped out the whole THPs of the running kind: in one
 * piece (thp_swpouts() rose), or as base pages after a split. Printed,
 * not checked: the kernel chooses (Documentation/arm64.rst).
 */
static struct {
	unsigned int whole, split;
} swapouts;

/*
 * Did the write fault give one THP of len bytes? kpageflags say: the first
 * page is a compound head, the pages are contiguous THP pages, and the page
 * after them is no tail of the same folio. If not, that is a skip only
 * when the machine had none to give (the fallback counter moved since
 * fallback_before); otherwise a failure of the setup.
 */
static bool thp_populated(const char *where, size_t len, long long fallback_before)
{
	uint64_t first = pfn_of(where), last = pfn_of(where + len - pagesize);
	size_t n = len / pagesize;
	long long fallback;
	char why[160];

	if (first && kpf(first, KPF_THP) && kpf(first, KPF_COMPOUND_HEAD_BIT) &&
	    last == first + n - 1 && kpf(last, KPF_THP) &&
	    (n == 1 || kpf(last, KPF_COMPOUND_TAIL_BIT)) && !kpf(last + 1, KPF_COMPOUND_TAIL_BIT))
		return true;
	if (len == pmdsize) {
		if (util_thp_missing_ok(fallback_before, why, sizeof(why)))
			SKIP("%s", why);
		else
			FAIL("setup: a MADV_HUGEPAGE write fault gave no PMD-size THP: %s", why);
		return false;
	}
	fallback = thp_fallbacks(len);
	if (fallback > fallback_before)
		SKIP("no free %zu kB folio (hugepages-%zukB/stats/anon_fault_fallback +%lld)",
		     len >> 10, len >> 10, fallback - fallback_before);
	else
		FAIL("setup: a MADV_HUGEPAGE write fault gave no %zu kB folio (%s %#llx, %s %#llx)",
		     len >> 10, "pfn", (unsigned long long)first,
		     "kpageflags", (unsigned long long)kpageflags(first));
	return false;
}

static size_t kind_hsize(enum kind_type k)
{
	return k == HUGETLB_2M ? 2UL << 20 : k == HUGETLB_1G ? 1UL << 30 : 0;
}

/*
 * The 1 GiB hugetlb page, kept mapped from one case to the next: the kernel
 * zeroes it on the first fault, which takes seconds under TCG.
 */
static char *gigantic;

/* One THP of m->thpsize, written: THP_DIR has that size alone enabled. */
static bool setup_thp(struct mem *m)
{
	size_t size = m->thpsize;
	long long fallback = thp_fallbacks(size);

	if (!cap.thp || !pmdsize) {
		SKIP("THP is not available");
		return false;
	}
	if (!size) {
		SKIP("no %s/hugepages-*kB: this kernel has no multi-size THP", THP_DIR);
		return false;
	}
	m->map = util_mmap_aligned(size, size);
	if (!EXPECT_TRUE(m->map, "mmap: %s", strerror(errno)))
		return false;
	m->map_len = size;
	m->mem = m->map;
	m->len = size;
	m->win = size;
	if (!EXPECT_EQ(0, madvise(m->mem, size, MADV_HUGEPAGE), "MADV_HUGEPAGE"))
		return false;
	mem_write(m);
	return thp_populated(m->mem, size, fallback);
}

/*
 * Share the first page of the THP with a child that exits at once: the
 * rest was never shared (MADV_DONTFORK, undone after).
 */
static bool setup_partly_shared(struct mem *m)
{
	int status;
	pid_t pid;

	if (!EXPECT_EQ(0, madvise(m->mem + pagesize, m->len - pagesize, MADV_DONTFORK),
		       "MADV_DONTFORK"))
		return false;
	fflush(stdout);
	pid = fork();
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(0);
	}
	if (!EXPECT_TRUE(pid > 0, "fork: %s", strerror(errno)) ||
	    !EXPECT_EQ(pid, waitpid(pid, &status, 0), "waitpid"))
		return false;
	return EXPECT_EQ(0, madvise(m->mem + pagesize, m->len - pagesize, MADV_DOFORK),
			 "MADV_DOFORK");
}

/* Swap the window out: every page of it must then be a swap entry. */
static bool setup_swapout(struct mem *m)
{
	const uint64_t *pms;
	long long whole;
	size_t i;

	if (!util_swap_enabled()) {
		SKIP("no swap in /proc/swaps (swapon a device; the VM has zram)");
		return false;
	}
	whole = m->win == m->thpsize ? thp_swpouts(m->thpsize) : -1;
	madvise(m->mem, m->win, MADV_PAGEOUT);
	if (whole >= 0 && thp_swpouts(m->thpsize) > whole)
		swapouts.whole++;
	else if (whole >= 0)
		swapouts.split++;
	pms = pagemap_win(m->mem, nr_pages(m));
	for (i = 0; i < nr_pages(m); i++)
		if (!EXPECT_TRUE(pms[i] & PM_SWAP,
				 "setup: MADV_PAGEOUT left page %zu in memory, with swap on", i))
			return false;
	return true;
}

/* Map and populate the THP types; swap out the swapped ones. */
static bool setup_thp_type(struct mem *m)
{
	enum kind_type k = m->kind;
	size_t half;
	char *p;

	if (!setup_thp(m))
		return false;
	switch (k) {
	case THP_PTE:
	case THP_PTE_SWAP:
		/* Map one subpage R/O and back: a PMD is split into PTEs. */
		if (!EXPECT_EQ(0, mprotect(m->mem + pagesize, pagesize, PROT_READ),
			       "mprotect") ||
		    !EXPECT_EQ(0, mprotect(m->mem + pagesize, pagesize, PROT_READ | PROT_WRITE),
			       "mprotect"))
			return false;
		break;
	case THP_SINGLE_PTE:
	case THP_SINGLE_PTE_SWAP:
		/* Zap all but the first subpage: one PTE maps one subpage. */
		if (!EXPECT_EQ(0, madvise(m->mem + pagesize, m->len - pagesize,
					  MADV_DONTNEED), "MADV_DONTNEED"))
			return false;
		m->len = pagesize;
		m->win = pagesize;
		if (!EXPECT_TRUE(kpf(pfn_of(m->mem), KPF_THP), "the page left is no THP"))
			return false;
		break;
	case THP_MREMAP:
		/* Move the upper half elsewhere; test the moved half. */
		half = m->len / 2;
		m->map2 = mmap(NULL, half, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (!EXPECT_TRUE(m->map2 != MAP_FAILED, "mmap: %s", strerror(errno))) {
			m->map2 = NULL;
			return false;
		}
		m->map2_len = half;
		p = mremap(m->mem + half, half, half, MREMAP_MAYMOVE | MREMAP_FIXED, m->map2);
		if (!EXPECT_TRUE(p == m->map2, "mremap: %s", strerror(errno)))
			return false;
		memmove(m->vals, m->vals + half / pagesize, half / pagesize);
		m->mem = m->map2;
		m->len = half;
		m->win = half;
		return EXPECT_TRUE(kpf(pfn_of(m->mem), KPF_THP), "the moved half is no THP") &&
		       check_memory(m);
	case THP_SHARED:
		return setup_partly_shared(m);
	default:
		break;
	}
	return !(K(k) & K_SWAPPED) || setup_swapout(m);
}

static bool check_exclusive_rule(const struct mem *m);

/* What the KSM kind's setups waited for, printed after the kind. */
static struct {
	unsigned int merges;
	long long full_scans;
	unsigned long long ns;
} ksm_waits;

/* ksmd's full scans so far (KSM_DIR/full_scans), -1 when unreadable */
static long long ksm_full_scans(void)
{
	char buf[32];

	if (util_read_file(KSM_DIR "/full_scans", buf, sizeof(buf)) <= 0)
		return -1;
	return atoll(buf);
}

/*
 * Does kpageflags' KSM bit say KSM? Not where it is set on every anon page,
 * as on 6.12, whose stable_page_flags() (converted to folios) tests
 * "mapping & PAGE_MAPPING_KSM", true for any anon mapping; 6.1 asks
 * PageKsm(), 7.3 folio_test_ksm(). Measured on the first KSM setup, on a
 * page written and never mergeable: -1 until then.
 */
static int kpf_ksm_witness = -1;

/* kpageflags say the page at pfn is KSM (1) or not (0), or cannot tell (-1). */
static int kpf_ksm(uint64_t pfn)
{
	return kpf_ksm_witness ? kpf(pfn, KPF_KSM_BIT) : -1;
}

/*
 * The window and its twin map one page: two addresses of a fresh private
 * mapping of this process, never forked, so a KSM page; kpageflags agree
 * where their KSM bit says anything.
 */
static bool ksm_merged(struct mem *m)
{
	uint64_t pm[2], pfn;

	pagemap_range(m->map, 2, pm);
	pfn = pm[0] & PM_PFN_MASK;
	if (!(pm[0] & PM_PRESENT) || !(pm[1] & PM_PRESENT) || pfn != (pm[1] & PM_PFN_MASK) ||
	    !kpf_ksm(pfn))
		return false;
	m->ksm_pfn = pfn;
	return true;
}

/*
 * ksmd, set to scan fast (pages_to_scan high, sleep_millisecs 0), runs
 * only while a setup waits for it (run 1, then 0): what the cases do is
 * never merged under them. Where the kernel has smart_scan (6.7+), it is
 * off: it skips a page that did not merge for up to 8 full scans out of
 * 9, and each setup's pages sit at the addresses of the last case's, whose
 * rmap_items (and ages) ksmd keeps, so two equal pages went unmerged for
 * 14 full scans on 6.12. The settings come back at exit.
 */
static int ksm_run(bool run)
{
	static int set = -1;

	if (set < 0) {
		set = util_setting_set(KSM_DIR "/pages_to_scan", "10000");
		if (!set)
			set = util_setting_set(KSM_DIR "/sleep_millisecs", "0");
		if (!set && !access(KSM_DIR "/smart_scan", F_OK))
			set = util_setting_set(KSM_DIR "/smart_scan", "0");
		if (!set)
			set = util_setting_set(KSM_DIR "/run", "0");
	}
	return set ? set : util_write_file(KSM_DIR "/run", run ? "1" : "0");
}

/* At most this many full scans of ksmd, or this many ns, for a merge */
#define KSM_MERGE_SCANS	10
#define KSM_MERGE_NS	(20 * 1000000000ULL)

/*
 * A KSM page: the window (one page) and a twin page after it written with
 * the same data, MADV_MERGEABLE, and ksmd run until both map one page that
 * kpageflags calls KSM. A merge takes ksmd two full scans (a page's
 * checksum must hold over one before it enters the unstable tree), or
 * three; the wait polls for it and gives up after KSM_MERGE_SCANS full
 * scans or KSM_MERGE_SEC seconds: a failure, as ksmd ran.
 */
static bool setup_ksm(struct mem *m)
{
	unsigned long long t0;
	long long scans0, scans = 0;
	bool merged;
	int ret;

	if (access(KSM_DIR "/run", W_OK)) {
		SKIP("no %s/run: this kernel has no KSM (CONFIG_KSM)", KSM_DIR);
		return false;
	}
	m->map = util_mmap_small(2 * pagesize, -1);
	if (!EXPECT_TRUE(m->map, "mmap: %s", strerror(errno)))
		return false;
	m->map_len = 2 * pagesize;
	m->mem = m->map;
	m->len = pagesize;
	m->win = pagesize;
	/* Data no KSM page of an earlier case has (nor the zero page). */
	seed += 0x35;
	if (!seed)
		seed += 0x35;
	m->vals[0] = seed;
	pages_mark(m->map, 2 * pagesize, seed);
	if (kpf_ksm_witness < 0) {
		uint64_t flags = kpageflags(pfn_of(m->map));

		kpf_ksm_witness = !(flags & (1ULL << KPF_KSM_BIT));
		ksft_print_msg("kpageflags' KSM bit %s: %#llx on a page never mergeable\n",
			       kpf_ksm_witness ? "is a witness" : "is set on every anon page",
			       (unsigned long long)flags);
	}
	if (!EXPECT_EQ(0, madvise(m->map, 2 * pagesize, MADV_MERGEABLE), "MADV_MERGEABLE"))
		return false;
	t0 = pin_util_now_ns();
	scans0 = ksm_full_scans();
	ret = ksm_run(true);
	if (!EXPECT_EQ(0, ret, "start ksmd (%s/run): %s", KSM_DIR, strerror(-ret)))
		return false;
	while (!ksm_merged(m)) {
		scans = ksm_full_scans() - scans0;
		if (scans > KSM_MERGE_SCANS || pin_util_now_ns() - t0 > KSM_MERGE_NS)
			break;
		usleep(200);
	}
	ksm_run(false);
	/* Asked again with ksmd stopped: it may have merged since. */
	merged = ksm_merged(m);
	ksm_waits.merges++;
	ksm_waits.full_scans += ksm_full_scans() - scans0;
	ksm_waits.ns += pin_util_now_ns() - t0;
	if (!EXPECT_TRUE(merged, "setup: ksmd did not merge two equal %s pages (%lld full scans)",
			 "MADV_MERGEABLE", scans))
		return false;
	/* A KSM page is mapped R/O everywhere (inspect), and holds the data. */
	return check_exclusive_rule(m) && check_memory(m);
}

/* Map and populate one kind of memory. False: skip (cur.skip) or fail. */
static bool mem_setup(struct mem *m, const struct kind *kd, int hugetlb_pages)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	enum kind_type k = kd->type;
	bool kept;

	memset(m, 0, sizeof(*m));
	m->kind = k;
	m->thpsize = kd->thpsize;

	switch (k) {
	case BASE:
	case ZERO:
	case BASE_SWAP:
		m->map = mmap(NULL, pagesize, PROT_READ | PROT_WRITE, flags, -1, 0);
		if (!EXPECT_TRUE(m->map != MAP_FAILED, "mmap: %s", strerror(errno))) {
			m->map = NULL;
			return false;
		}
		m->map_len = pagesize;
		m->len = pagesize;
		m->win = pagesize;
		m->mem = m->map;
		madvise(m->mem, pagesize, MADV_NOHUGEPAGE);
		if (k == ZERO) {
			/* A read fault maps the shared zero page. */
			if (*(volatile char *)m->mem)
				FAIL("fresh memory is not zero");
			return EXPECT_TRUE(kpf(pfn_of(m->mem), KPF_ZERO_PAGE),
					   "a read fault did not map the zero page");
		}
		mem_write(m);
		return k != BASE_SWAP || setup_swapout(m);
	case THP_PMD:
	case THP_PMD_SWAP:
	case THP_PTE:
	case THP_PTE_SWAP:
	case THP_SINGLE_PTE:
	case THP_SINGLE_PTE_SWAP:
	case THP_MREMAP:
	case THP_SHARED:
		return setup_thp_type(m);
	case HUGETLB_2M:
	case HUGETLB_1G:
		m->hsize = kind_hsize(k);
		/* The kept 1 GiB page is one of the pages the case needs. */
		kept = k == HUGETLB_1G && gigantic;
		if (kept) {
			m->map = gigantic;
			m->map_len = m->hsize;
		}
		if (pin_util_hugetlb_free(m->hsize) < hugetlb_pages - kept) {
			SKIP(SKIP_HUGETLB_FREE, hugetlb_pages - kept, m->hsize >> 10,
			     pin_util_hugetlb_free(m->hsize), HUGETLB_DIR, m->hsize >> 10);
			return false;
		}
		if (kept) {
			/* Back to what a fresh mapping would be, but populated. */
			m->len = m->hsize;
			m->mem = m->map;
			m->win = WIN_MAX;
			if (!EXPECT_EQ(0, mprotect(m->mem, m->len, PROT_READ | PROT_WRITE),
				       "mprotect R/W"))
				return false;
			mem_write(m);
			return true;
		}
		flags |= MAP_HUGETLB | (__builtin_ctzl(m->hsize) << MAP_HUGE_SHIFT);
		m->map = mmap(NULL, m->hsize, PROT_READ | PROT_WRITE, flags, -1, 0);
		if (m->map == MAP_FAILED) {
			m->map = NULL;
			FAIL("setup: no %zu kB hugetlb page, with %d free: %s", m->hsize >> 10,
			     pin_util_hugetlb_free(m->hsize), strerror(errno));
			return false;
		}
		m->map_len = m->hsize;
		m->len = m->hsize;
		m->mem = m->map;
		m->win = m->hsize < WIN_MAX ? m->hsize : WIN_MAX;
		mem_write(m);
		return true;
	case HUGE_ZERO:
		if (!cap.thp || !pmdsize) {
			SKIP("THP is not available");
			return false;
		}
		m->map = util_mmap_aligned(pmdsize, pmdsize);
		if (!EXPECT_TRUE(m->map, "mmap: %s", strerror(errno)))
			return false;
		m->map_len = pmdsize;
		m->len = pmdsize;
		m->win = pmdsize;
		m->mem = m->map;
		madvise(m->mem, pmdsize, MADV_HUGEPAGE);
		if (*(volatile char *)m->mem)
			FAIL("fresh memory is not zero");
		if (!cap.use_zero_page) {
			SKIP("no huge zero page (%s/use_zero_page cannot be 1)", THP_DIR);
			return false;
		}
		return EXPECT_TRUE(kpf(pfn_of(m->mem), KPF_ZERO_PAGE) &&
				   kpf(pfn_of(m->mem), KPF_THP),
				   "setup: a read fault did not map the huge zero page, with use_zero_page 1");
	case KSM:
		return setup_ksm(m);
	default:
		return false;
	}
}

static void mem_teardown(struct mem *m)
{
	unsigned char vec;

	/* Keep the 1 GiB page for the next case, unless the case unmapped it. */
	if (m->kind == HUGETLB_1G) {
		gigantic = NULL;
		if (m->map && !m->spoilt && !mincore(m->map, pagesize, &vec)) {
			gigantic = m->map;
			m->map = NULL;
		}
	}
	if (m->map)
		munmap(m->map, m->map_len);
	if (m->map2)
		munmap(m->map2, m->map2_len);
}

/* A case of the table, run on each kind of memory of kinds. */
struct test_case {
	const char *desc;
	void (*fn)(struct mem *m, const struct test_case *tc);
	unsigned int kinds;
	int method;
	uint64_t flags;
	int hugetlb_pages;	/* hugetlb pages of that size the case needs */
	unsigned int opt;	/* OPT_*, or a case's own variant */
};

#define OPT_MPROTECT	0x1	/* mprotect() R/O and R/W before the write */
#define OPT_AFTER_FORK	0x2	/* take after fork(), not before */

/* ---- what the pin says ---- */

static int open_session(void)
{
	int fd = pin_util_open();

	if (fd < 0)
		FAIL("open %s: %s", PIN_PATH, strerror(-fd));
	return fd;
}

/* Take the whole window; every page must be taken. */
static bool take(int fd, const struct mem *m, int method, uint64_t flags, uint64_t *h)
{
	long n = pin_util_take(fd, m->mem, nr_pages(m), method, flags, h);

	if (n < 0) {
		FAIL("%s (flags %#llx): %s", method_names[method],
		     (unsigned long long)flags, strerror(-n));
		return false;
	}
	return EXPECT_EQ(nr_pages(m), n, "pages taken");
}

static struct mmprobe_pin_page *describe(int fd, uint64_t h, const struct mem *m, bool now)
{
	int ret = pin_util_info(fd, h, 0, nr_pages(m), pages_buf, now);

	if (ret) {
		FAIL("MMPROBE_PIN_IOC_INFO: %s", strerror(-ret));
		return NULL;
	}
	return pages_buf;
}

/*
 * Read n pages of take h into read_buf, as many at a time as it holds, and
 * compare them with vals: *bad is the first page that differs, or -1; then
 * read_buf holds it at *bad % read_pages. Returns 0 or -errno.
 */
static int pin_read_check(int fd, uint64_t h, size_t n, const unsigned char *vals, long *bad)
{
	size_t i, k, read_pages = sizeof(read_buf) / pagesize;
	int ret;

	*bad = -1;
	for (i = 0; i < n; i += k) {
		k = n - i < read_pages ? n - i : read_pages;
		ret = pin_util_read(fd, h, i, k, read_buf);
		if (ret)
			return ret;
		*bad = first_bad_page(read_buf, vals + i, k);
		if (*bad >= 0) {
			*bad += i;
			return 0;
		}
	}
	return 0;
}

/* The pin reads vals. */
static bool check_pin_reads(int fd, uint64_t h, const struct mem *m, const unsigned char *vals)
{
	long bad;
	int ret = pin_read_check(fd, h, nr_pages(m), vals, &bad);

	if (ret) {
		FAIL("MMPROBE_PIN_IOC_READ: %s", strerror(-ret));
		return false;
	}
	if (bad >= 0)
		page_fail("pinned pages", bad,
			  read_buf + bad % (sizeof(read_buf) / pagesize) * pagesize, vals[bad]);
	return bad < 0;
}

/*
 * The level of the entries that map a hugetlb page: a PMD or PUD entry
 * where the size is what one maps; arm64 maps a size between two levels
 * with contiguous entries of the lower one (with 16 KiB pages, 2 MiB is
 * 128 contiguous PTEs and 1 GiB 32 contiguous PMDs), each of which the pin
 * reports at its own level.
 */
static unsigned int hugetlb_level(size_t hsize)
{
	if (hsize < util_pmd_span())
		return MMPROBE_PIN_LEVEL_PTE;
	return hsize < util_pud_span() ? MMPROBE_PIN_LEVEL_PMD : MMPROBE_PIN_LEVEL_PUD;
}

/*
 * Is this a hugetlb page whose entries are in a table that keeps no
 * pt_share_count, one of PUDs or PTEs? The kernel asks that word of the
 * table holding a hugetlb entry (hugetlb_pmd_shared(),
 * ptdesc_pmd_is_shared()), but only PMD tables keep it: in a PUD or PTE
 * table's struct page it is the index left from the page's last use, so
 * the answer comes and goes.
 */
static bool hugetlb_share_count_stale(const struct mem *m)
{
	return is_hugetlb(m) && hugetlb_level(m->hsize) != MMPROBE_PIN_LEVEL_PMD;
}

/*
 * Is pagemap's "exclusively mapped" bit a witness for this memory? Not for
 * a hugetlb page mapped by other entries than PMDs, on 6.12 and later:
 * pagemap_hugetlb_range() asks hugetlb_pmd_shared() of the table that
 * holds the entry (above), so the bit comes and goes. Seen on 7.3 with
 * 1 GiB pages (PUD) and with arm64's 2 MiB pages of 16 KiB base pages
 * (contiguous PTEs); 6.1 looks at the mapcount only. The folio mapcount
 * stands in.
 */
static bool pm_excl_witness(const struct mem *m)
{
	return !hugetlb_share_count_stale(m);
}

/* The page is mapped once, by the caller (hugetlb counts at the folio). */
static bool mapped_once(const struct mem *m, const struct mmprobe_pin_page *p)
{
	if (is_hugetlb(m))
		return p->folio_mapcount == 1;
	return p->mapcount == 1 || p->mapcount == MMPROBE_PIN_NA;
}

#define AGREE_PAGE	0x1	/* each pinned page is the page mapped at its address */
#define AGREE_EXCL	0x2	/* ... an exclusive anon page, pinned, mapped once */
#define AGREE_DATA	0x4	/* the pin reads what the process reads */
#define AGREE_RULE	0x8	/* and inspect agrees (slow on PTEs: once a case) */

/*
 * The rule PG_anon_exclusive keeps, in inspect's words: a present,
 * writable entry mapping anon memory maps an exclusive (sub)page, and so
 * does one mapping a pinned anon page; a KSM page, never exclusive, is
 * never mapped writable.
 */
static bool check_exclusive_rule(const struct mem *m)
{
	/* The binary report: the text one costs 50 ms per 512 entries under TCG. */
	static struct mmprobe_inspect_entry r[WIN_MAX_PAGES + 1];
	static struct inspect_entry e[WIN_MAX_PAGES];
	int i, n;

	n = inspect_range_binary(0, (uintptr_t)m->mem, (uintptr_t)m->mem + m->win, r,
				 ARRAY_SIZE(r));
	if (n < 0) {
		FAIL("inspect: %s", strerror(-n));
		return false;
	}
	for (i = 0; i < n && i < WIN_MAX_PAGES; i++) {
		if (!EXPECT_EQ(0, inspect_entry_from_binary(&r[i], &e[i]),
			       "inspect: entry %d is a cut record", i))
			return false;
		if (!strcmp(e[i].kind, "ksm") &&
		    !EXPECT_TRUE(e[i].write != 1, "inspect: %#lx maps a KSM page writable",
				 e[i].addr))
			return false;
		if (strcmp(e[i].kind, "anon") && strcmp(e[i].kind, "hugetlb"))
			continue;
		if (!EXPECT_TRUE(e[i].exclusive == 1 || (e[i].write != 1 && e[i].pinned != 1),
				 "inspect: %#lx %s %s write=%d pinned=%d maps a non-exclusive page",
				 e[i].addr, inspect_level_name(e[i].level), e[i].kind,
				 e[i].write, e[i].pinned))
			return false;
	}
	return true;
}

/* The pin and the process agree, as of now. */
static bool check_pin(int fd, uint64_t h, const struct mem *m, unsigned int what)
{
	struct mmprobe_pin_page *p = describe(fd, h, m, true);
	const uint64_t *pms = pagemap_win(m->mem, nr_pages(m));
	size_t i;

	if (!p)
		return false;
	for (i = 0; i < nr_pages(m); i++) {
		uint64_t pm = pms[i];

		if (!EXPECT_EQ(MMPROBE_PIN_STATE_PINNED, p[i].state, "page %zu: state", i))
			return false;
		if ((what & AGREE_PAGE) &&
		    (!EXPECT_TRUE(pm & PM_PRESENT, "page %zu is not present", i) ||
		     !EXPECT_EQ(p[i].pfn, pm & PM_PFN_MASK,
				"page %zu: pfn mapped, against the pinned one", i)))
			return false;
		if ((what & AGREE_EXCL) &&
		    (!EXPECT_EQ(1, p[i].exclusive, "page %zu: PG_anon_exclusive", i) ||
		     !EXPECT_EQ(1, p[i].pinned, "page %zu: maybe_dma_pinned", i) ||
		     !EXPECT_TRUE(mapped_once(m, &p[i]), "page %zu: mapcount %lld, folio %lld",
				  i, (long long)p[i].mapcount, (long long)p[i].folio_mapcount) ||
		     !EXPECT_TRUE(!pm_excl_witness(m) || (pm & PM_MMAP_EXCL),
				  "page %zu: pagemap: not mapped exclusively", i)))
			return false;
	}
	if ((what & AGREE_RULE) && !check_exclusive_rule(m))
		return false;
	if (what & AGREE_DATA)
		return check_memory(m) && check_pin_reads(fd, h, m, m->vals);
	return true;
}

/*
 * Is what a take of this memory holds an anon (or hugetlb) page? Zero pages
 * are replaced by a fresh anon page by a write, and by a R/O longterm pin
 * where the kernel unshares them (longterm_ro_unshare).
 */
static bool takes_anon(const struct mem *m, uint64_t flags)
{
	if (K(m->kind) & K_ANON)
		return true;
	if (flags & MMPROBE_PIN_WRITE)
		return true;
	return (flags & MMPROBE_PIN_LONGTERM) && cap.longterm_ro_unshare;
}

static unsigned int agree_for(const struct mem *m, uint64_t flags)
{
	return AGREE_PAGE | AGREE_DATA | (takes_anon(m, flags) ? AGREE_EXCL : 0);
}

/* The kind and order of the pages a take of this memory holds. */
static bool check_taken_kind(int fd, uint64_t h, const struct mem *m, uint64_t flags)
{
	struct mmprobe_pin_page *p = describe(fd, h, m, false);
	unsigned int kind, order;
	size_t i;

	if (!p)
		return false;
	if (is_hugetlb(m)) {
		kind = MMPROBE_PIN_KIND_HUGETLB;
		order = __builtin_ctzl(m->hsize / pagesize);
	} else if (!takes_anon(m, flags)) {
		kind = m->kind == ZERO ? MMPROBE_PIN_KIND_ZERO : MMPROBE_PIN_KIND_HUGE_ZERO;
		order = m->kind == ZERO ? 0 : pmd_order;
	} else if (m->kind == ZERO) {
		kind = MMPROBE_PIN_KIND_ANON;
		order = 0;
	} else if (m->kind == HUGE_ZERO) {
		/* Unsharing or writing a huge zero PMD: 6.13+ allocates a THP. */
		kind = MMPROBE_PIN_KIND_ANON;
		order = cap.huge_zero_wp_thp == 1 ? pmd_order : 0;
	} else if (m->kind == KSM) {
		/* A pin unshares (R/O) or copies (write) a KSM page: never holds it. */
		kind = MMPROBE_PIN_KIND_ANON;
		order = 0;
	} else {
		return true;
	}
	for (i = 0; i < nr_pages(m); i++)
		if (!EXPECT_EQ(kind, p[i].kind, "page %zu: kind", i) ||
		    !EXPECT_EQ(order, p[i].order, "page %zu: order", i) ||
		    !EXPECT_TRUE(m->kind != KSM ||
				 (p[i].pfn != m->ksm_pfn && kpf_ksm(p[i].pfn) != 1),
				 "page %zu: the pin holds the KSM page", i))
			return false;
	return true;
}

static void pfns_of_pin(int fd, uint64_t h, const struct mem *m, uint64_t *pfns)
{
	struct mmprobe_pin_page *p = describe(fd, h, m, false);
	size_t i;

	for (i = 0; i < nr_pages(m); i++)
		pfns[i] = p ? p[i].pfn : 0;
}

static void pfns_mapped(const struct mem *m, uint64_t *pfns)
{
	size_t i;

	pagemap_range(m->mem, nr_pages(m), pfns);
	for (i = 0; i < nr_pages(m); i++)
		pfns[i] &= PM_PFN_MASK;
}

/*
 * Open a session and take the window as the case says: the pages taken are
 * of the kind the memory implies, and the pin and the process agree from
 * the start. Their PFNs go to pinned. Returns the session, or -1.
 */
static int start_case(const struct mem *m, const struct test_case *tc, uint64_t *h,
		      uint64_t *pinned)
{
	int fd = open_session();

	if (fd < 0)
		return -1;
	if (!take(fd, m, tc->method, tc->flags, h) ||
	    !check_taken_kind(fd, *h, m, tc->flags) ||
	    !check_pin(fd, *h, m, agree_for(m, tc->flags))) {
		close(fd);
		return -1;
	}
	pfns_of_pin(fd, *h, m, pinned);
	return fd;
}

/* ---- children ---- */

/* Exit codes of the children, explained by child_reap(). */
enum {
	CHILD_OK,
	CHILD_SAME_PAGE,	/* it maps the page the parent has pinned */
	CHILD_NOT_EXCL,		/* its copy is not mapped exclusively */
	CHILD_DATA,		/* it reads other data than at fork */
	CHILD_MAPPED,		/* the range is still mapped (MADV_DONTFORK) */
	CHILD_LEAK,		/* its pin saw the parent's write */
	CHILD_UNMAPPED,		/* fork() gave it no mapping of the page */
	CHILD_OTHER_PAGE,	/* it maps another page than the parent */
	CHILD_ERROR,		/* a call failed */
	CHILD_NR
};

static const char *const child_errors[CHILD_NR] = {
	[CHILD_SAME_PAGE]	= "the child maps the page the parent has pinned",
	[CHILD_NOT_EXCL]	= "the child's copy is not mapped exclusively",
	[CHILD_DATA]		= "the child reads other data than it had at fork",
	[CHILD_MAPPED]		= "the child still maps a MADV_DONTFORK range",
	[CHILD_LEAK]		= "what the child pinned changed with the parent's write",
	[CHILD_UNMAPPED]	= "fork() gave the child no mapping of the page",
	[CHILD_OTHER_PAGE]	= "the child maps another page than the parent",
	[CHILD_ERROR]		= "a call failed in the child",
};

/*
 * A child and two pipes: up (child -> parent) and down (parent -> child).
 * Children leave with _exit() only: the parent's atexit handlers restore
 * global settings, which must happen once.
 */
struct child {
	pid_t pid;
	int up[2];
	int down[2];
	const struct mem *m;
	bool reaped;
};

struct child_arg {
	struct mem *m;
	const uint64_t *pinned;	/* PFNs the parent has pinned, or NULL */
	int method;
	uint64_t flags;
	size_t off, len;	/* the part of the window a child checks (len 0: all) */
};

/* In a child: tell the parent; a dead parent is the child's error. */
static void pipe_post(int fd)
{
	if (write(fd, "x", 1) != 1)
		_exit(CHILD_ERROR);
}

/* In the parent: tell the child, if it still listens (SIGPIPE is ignored). */
static void tell_child(struct child *c)
{
	if (!c->reaped && write(c->down[1], "x", 1) != 1)
		ksft_print_msg("the child is gone: %s\n", strerror(errno));
}

static bool pipe_wait(int fd)
{
	char c;

	return read(fd, &c, 1) == 1;
}

/*
 * fork() gave the child no entry for a hugetlb page mapped from a PUD or
 * PTE table (see case_fork_shares()): the VMA is there (mincore), the page
 * is not (pagemap). Asked before the child touches the page, which would
 * fault in a new one.
 */
static bool child_lost_hugetlb(const struct mem *m)
{
	unsigned char vec;

	return hugetlb_share_count_stale(m) && !mincore(m->mem, pagesize, &vec) &&
	       !(pagemap(m->mem) & PM_PRESENT);
}

static bool child_start(struct child *c, int (*fn)(struct child *, struct child_arg *),
			struct child_arg *arg)
{
	c->m = arg->m;
	c->reaped = false;
	if (pipe(c->up))
		return EXPECT_TRUE(false, "pipe: %s", strerror(errno));
	if (pipe(c->down)) {
		close(c->up[0]);
		close(c->up[1]);
		return EXPECT_TRUE(false, "pipe: %s", strerror(errno));
	}
	fflush(stdout);
	c->pid = fork();
	if (!c->pid) {
		close(c->up[0]);
		close(c->down[1]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (arg->m && child_lost_hugetlb(arg->m))
			_exit(CHILD_UNMAPPED);
		_exit(fn(c, arg));
	}
	close(c->up[1]);
	close(c->down[0]);
	if (c->pid < 0) {
		close(c->up[0]);
		close(c->down[1]);
		return EXPECT_TRUE(false, "fork: %s", strerror(errno));
	}
	return true;
}

/*
 * Reap the child: its exit code, or -1 (and a failure) when it has none;
 * -1 alone when it was reaped before (child_ready() said why).
 */
static int child_reap_status(struct child *c)
{
	int status;

	if (c->reaped)
		return -1;
	c->reaped = true;
	close(c->up[0]);
	close(c->down[1]);
	if (waitpid(c->pid, &status, 0) != c->pid)
		return EXPECT_TRUE(false, "waitpid: %s", strerror(errno)) - 1;
	if (WIFSIGNALED(status))
		return EXPECT_TRUE(false, "the child died of signal %d", WTERMSIG(status)) - 1;
	return WEXITSTATUS(status);
}

/*
 * Is the child's exit code CHILD_OK? If not, a failure saying why, or an
 * XFAIL where fork() gave a child no mapping of a hugetlb page mapped from
 * a PUD or PTE table (see case_fork_shares()).
 */
static bool child_status_ok(const struct mem *m, int status)
{
	if (status == CHILD_OK)
		return true;
	if (status == CHILD_UNMAPPED && m && hugetlb_share_count_stale(m))
		XFAIL("fork() skipped the %s entry: copy_hugetlb_page_range() read %s",
		      hugetlb_level(m->hsize) == MMPROBE_PIN_LEVEL_PUD ? "PUD" : "PTE",
		      "that table's pt_share_count (since 14967a9c7d24, no fix known)");
	else if (status > 0)
		FAIL("child: %s", status < CHILD_NR ? child_errors[status] : "unknown exit code");
	return false;
}

/* Reap the child; true when it exited with CHILD_OK. */
static bool child_reap(struct child *c)
{
	return child_status_ok(c->m, child_reap_status(c));
}

/*
 * Wait for the child's word. A child that exits first is reaped here, and
 * its exit code says why (child_status_ok()); one that exited with
 * CHILD_OK fails the case with what.
 */
static bool child_ready(struct child *c, const char *what)
{
	if (pipe_wait(c->up[0]))
		return true;
	if (child_reap(c))
		FAIL("%s", what);
	return false;
}

/*
 * Right after fork: every page the parent holds pinned was copied for the
 * child (a different, exclusively mapped page with the same data).
 */
static int child_check_copied(const struct child_arg *a)
{
	const struct mem *m = a->m;
	const uint64_t *pms = pagemap_win(m->mem, nr_pages(m));
	size_t i;

	for (i = 0; i < nr_pages(m); i++) {
		uint64_t pm = pms[i];

		if (!(pm & PM_PRESENT))
			return CHILD_ERROR;
		if ((pm & PM_PFN_MASK) == a->pinned[i])
			return CHILD_SAME_PAGE;
		if (pm_excl_witness(m) && !(pm & PM_MMAP_EXCL))
			return CHILD_NOT_EXCL;
	}
	return first_bad_page((unsigned char *)m->mem, m->vals, nr_pages(m)) < 0 ?
	       CHILD_OK : CHILD_DATA;
}

/* ---- the cases ---- */

/*
 * The order a page was pinned at. A swapped-out page comes back as a base
 * page or in a folio of its old size, as the kernel's swap-in decides; a
 * page that was shared may be copied by the pin's unsharing: either order
 * then, which kpageflags must confirm (see case_describe()).
 */
static bool order_ok(const struct mem *m, size_t i, unsigned int order, uint64_t seen)
{
	if (seen == order)
		return true;
	return (is_swapped(m) || was_shared(m, i)) && seen == 0;
}

/* A short-term R/O pin reports what pagemap and kpageflags say. */
static void case_describe(struct mem *m, const struct test_case *tc)
{
	const uint64_t *pms;
	bool zero = K(m->kind) & K_ZERO;
	unsigned int kind, level, order;
	struct mmprobe_pin_page *p;
	uint64_t h;
	size_t i;
	int fd;

	if (m->kind == ZERO || m->kind == BASE || m->kind == BASE_SWAP || m->kind == KSM) {
		/* A KSM page: what the pin holds is its copy, unshared. */
		kind = m->kind == ZERO ? MMPROBE_PIN_KIND_ZERO : MMPROBE_PIN_KIND_ANON;
		level = MMPROBE_PIN_LEVEL_PTE;
		order = 0;
	} else if (m->kind == HUGE_ZERO || m->kind == THP_PMD) {
		kind = zero ? MMPROBE_PIN_KIND_HUGE_ZERO : MMPROBE_PIN_KIND_ANON;
		level = MMPROBE_PIN_LEVEL_PMD;
		order = pmd_order;
	} else if (is_hugetlb(m)) {
		kind = MMPROBE_PIN_KIND_HUGETLB;
		level = hugetlb_level(m->hsize);
		order = order_of(m->hsize);
	} else {
		/* Every other THP type is PTE-mapped, swapped out ones too. */
		kind = MMPROBE_PIN_KIND_ANON;
		level = MMPROBE_PIN_LEVEL_PTE;
		order = order_of(m->thpsize);
	}

	fd = open_session();
	if (fd < 0)
		return;
	if (!take(fd, m, tc->method, tc->flags, &h))
		goto out;
	p = describe(fd, h, m, false);
	pms = pagemap_win(m->mem, nr_pages(m));
	for (i = 0; p && i < nr_pages(m); i++) {
		uint64_t pm = pms[i];
		uint64_t pfn = pm & PM_PFN_MASK;

		if (!EXPECT_EQ(MMPROBE_PIN_STATE_PINNED, p[i].state, "page %zu: state", i) ||
		    !EXPECT_EQ((uintptr_t)m->mem + i * pagesize, p[i].addr, "page %zu: addr", i) ||
		    !EXPECT_TRUE(pm & PM_PRESENT, "page %zu: not present after the pin", i) ||
		    !EXPECT_EQ(pfn, p[i].pfn, "page %zu: pfn, against pagemap", i) ||
		    !EXPECT_EQ(kind, p[i].kind, "page %zu: kind", i) ||
		    !EXPECT_EQ(level, p[i].level, "page %zu: level", i) ||
		    !EXPECT_TRUE(order_ok(m, i, order, p[i].order), "page %zu: order %llu, not %u",
				 i, (unsigned long long)p[i].order, order) ||
		    !EXPECT_EQ(zero ? MMPROBE_PIN_NA : 1, p[i].exclusive,
			       "page %zu: exclusive", i) ||
		    !EXPECT_EQ(!zero, p[i].pinned, "page %zu: pinned", i) ||
		    !EXPECT_EQ(zero, kpf(pfn, KPF_ZERO_PAGE),
			       "page %zu: kpageflags ZERO_PAGE", i) ||
		    !EXPECT_EQ(p[i].order && !is_hugetlb(m), kpf(pfn, KPF_THP),
			       "page %zu: kpageflags THP", i) ||
		    !EXPECT_EQ(is_hugetlb(m), kpf(pfn, KPF_HUGE_BIT),
			       "page %zu: kpageflags HUGE", i) ||
		    !EXPECT_EQ(!zero, kpf(pfn, KPF_ANON_BIT), "page %zu: kpageflags ANON", i) ||
		    !EXPECT_TRUE(!pm_excl_witness(m) || !zero == !!(pm & PM_MMAP_EXCL),
				 "page %zu: pagemap exclusive bit: %d", i, !!(pm & PM_MMAP_EXCL)))
			break;
		/* page_mapcount() semantics; hugetlb counts only at the head */
		if (!zero && !is_hugetlb(m) &&
		    !EXPECT_EQ(1, p[i].mapcount, "page %zu: mapcount", i))
			break;
		/* The pin unshared the KSM page, which the twin still maps. */
		if (m->kind == KSM &&
		    (!EXPECT_TRUE(pfn != m->ksm_pfn, "page %zu: the pin holds the KSM page", i) ||
		     !EXPECT_TRUE(kpf_ksm(pfn) != 1, "page %zu: kpageflags KSM", i) ||
		     !EXPECT_EQ(m->ksm_pfn, pfn_of(m->mem + pagesize), "the twin's page")))
			break;
	}
	check_pin(fd, h, m, AGREE_PAGE | AGREE_DATA | AGREE_RULE | (zero ? 0 : AGREE_EXCL));
out:
	close(fd);
}

static int child_copied_then_write(struct child *c, struct child_arg *a)
{
	int ret = a->pinned ? child_check_copied(a) : CHILD_OK;

	if (ret == CHILD_OK)
		pages_mark(a->m->mem, a->m->win, 0xa5);
	return ret;
}

/*
 * R/O longterm pin, fork, the child writes; then the parent writes. The
 * pinned page is copied for the child at fork, so the child's write stays
 * in its copy; the parent keeps the pinned page mapped, and its own write
 * is what the pin reads. Guards the copy of pinned anon pages at fork
 * ("mm: Do early cow for pinned pages during fork() for ptes", v5.9, and
 * the PG_anon_exclusive rework of v5.19), and, for the zero pages, the
 * unsharing of R/O longterm pins of v6.2 ("mm/gup: reliable R/O long-term
 * pinning in COW mappings"): before it, the pin keeps the zero page and the
 * parent's write goes elsewhere.
 */
static void case_ro_longterm_fork(struct mem *m, const struct test_case *tc)
{
	uint64_t pinned[WIN_MAX_PAGES], mapped[WIN_MAX_PAGES];
	bool anon = takes_anon(m, tc->flags);
	struct child_arg a = { .m = m, .pinned = anon ? pinned : NULL };
	struct child c;
	uint64_t h;
	size_t i;
	int fd;

	fd = start_case(m, tc, &h, pinned);
	if (fd < 0)
		return;
	if (!child_start(&c, child_copied_then_write, &a))
		goto out;
	if (!child_reap(&c))
		goto out;
	/* The child's write did not reach the parent or the pin. */
	if (!check_pin(fd, h, m, agree_for(m, tc->flags)))
		goto out;

	mem_write(m);
	if (anon) {
		check_pin(fd, h, m, agree_for(m, tc->flags) | AGREE_RULE);
		goto out;
	}
	/* Before v6.2 the pin holds the zero page the write replaced. */
	pfns_mapped(m, mapped);
	for (i = 0; i < nr_pages(m); i++)
		if (!EXPECT_TRUE(mapped[i] != pinned[i],
				 "page %zu: the write did not replace the zero page", i))
			goto out;
	if (check_pin_reads(fd, h, m, zero_vals))
		check_exclusive_rule(m);
	ksft_print_msg("%s",
		       "without longterm_ro_unshare the pin keeps the zero page (expected before 6.2)\n");
out:
	close(fd);
}

static int child_wait_then_check(struct child *c, struct child_arg *a)
{
	size_t off = a->off / pagesize, n = (a->len ? a->len : a->m->win) / pagesize;

	pipe_post(c->up[1]);
	if (!pipe_wait(c->down[0]))
		return CHILD_ERROR;
	/* The parent's pin and write moved the parent, not the child. */
	return first_bad_page((unsigned char *)a->m->mem + a->off, a->m->vals + off, n) < 0 ?
	       CHILD_OK : CHILD_DATA;
}

/*
 * R/O longterm pin of a page shared with a live child after fork: the pin
 * must unshare, so the parent maps a new exclusive page, the one pinned,
 * and the parent's later writes are what the pin reads; the child keeps
 * the old page and data. Guards FAULT_FLAG_UNSHARE ("mm/gup: trigger
 * FAULT_FLAG_UNSHARE when R/O-pinning a possibly shared anonymous page",
 * v5.19): without it a R/O pin of a shared page sees none of the writes
 * after the next COW.
 */
static void case_ro_pin_shared(struct mem *m, const struct test_case *tc)
{
	const uint64_t *pms;
	uint64_t before[WIN_MAX_PAGES], pinned[WIN_MAX_PAGES];
	struct child_arg a = { .m = m };
	bool swapped = is_swapped(m);
	struct child c;
	uint64_t h;
	size_t i;
	int fd;

	fd = open_session();
	if (fd < 0)
		return;
	if (!child_start(&c, child_wait_then_check, &a))
		goto out;
	if (!child_ready(&c, "the child did not start"))
		goto reap;
	pfns_mapped(m, before);
	pms = pagemap_win(m->mem, nr_pages(m));
	for (i = 0; i < nr_pages(m) && !swapped && pm_excl_witness(m); i++)
		if (!EXPECT_TRUE(!(pms[i] & PM_MMAP_EXCL), "page %zu is not shared after fork", i))
			goto reap;
	if (!take(fd, m, tc->method, tc->flags, &h) ||
	    !check_pin(fd, h, m, AGREE_PAGE | AGREE_EXCL | AGREE_DATA))
		goto reap;
	pfns_of_pin(fd, h, m, pinned);
	for (i = 0; i < nr_pages(m) && !swapped; i++)
		if (!EXPECT_TRUE(pinned[i] != before[i],
				 "page %zu: the pin did not unshare (pfn %#llx)", i,
				 (unsigned long long)before[i]))
			goto reap;
	mem_write(m);
	check_pin(fd, h, m, AGREE_PAGE | AGREE_EXCL | AGREE_DATA | AGREE_RULE);
	pfns_mapped(m, before);
	for (i = 0; i < nr_pages(m); i++)
		if (!EXPECT_EQ(pinned[i], before[i], "page %zu: the write moved it", i))
			break;
reap:
	tell_child(&c);
	child_reap(&c);
out:
	close(fd);
}

static int child_exit(struct child *c, struct child_arg *a)
{
	return CHILD_OK;
}

/*
 * R/O longterm pin of a page that was shared with a child which has exited:
 * the page is mapped R/O and no longer PG_anon_exclusive. The pin must make
 * it exclusive again (reuse) or copy it, and the pin and the mapping agree.
 * Guards the reuse path of FAULT_FLAG_UNSHARE (v5.19).
 */
static void case_ro_pin_prev_shared(struct mem *m, const struct test_case *tc)
{
	uint64_t before[WIN_MAX_PAGES], pinned[WIN_MAX_PAGES];
	struct child_arg a = { .m = m };
	struct mmprobe_pin_page *p;
	size_t i, reused = 0;
	struct child c;
	uint64_t h;
	int fd;

	fd = open_session();
	if (fd < 0)
		return;
	if (!child_start(&c, child_exit, &a) || !child_reap(&c))
		goto out;
	/*
	 * A reference does not unshare: it shows the page is not exclusive,
	 * or is the KSM page (which has no PG_anon_exclusive to show).
	 */
	if (!is_swapped(m)) {
		if (!take(fd, m, MMPROBE_PIN_METHOD_GUP_FAST, 0, &h))
			goto out;
		p = describe(fd, h, m, false);
		for (i = 0; p && i < nr_pages(m); i++)
			if (m->kind == KSM ?
			    !EXPECT_EQ(MMPROBE_PIN_KIND_KSM, p[i].kind, "page %zu: kind", i) ||
			    !EXPECT_EQ(m->ksm_pfn, p[i].pfn, "page %zu: pfn", i) :
			    !EXPECT_EQ(0, p[i].exclusive, "page %zu: exclusive after fork", i))
				break;
		pin_util_unpin_all(fd);
		if (cur.failed)
			goto out;
	}
	pfns_mapped(m, before);
	if (!take(fd, m, tc->method, tc->flags, &h) ||
	    !check_pin(fd, h, m, AGREE_PAGE | AGREE_EXCL | AGREE_DATA))
		goto out;
	pfns_of_pin(fd, h, m, pinned);
	for (i = 0; i < nr_pages(m); i++)
		reused += pinned[i] == before[i];
	ksft_print_msg("%zu of %zu pages reused, the others copied\n", reused, nr_pages(m));
	/* The twin still maps the KSM page: it cannot be made exclusive. */
	if (m->kind == KSM && !EXPECT_EQ(0, reused, "KSM pages reused by a R/O pin"))
		goto out;
	mem_write(m);
	check_pin(fd, h, m, AGREE_PAGE | AGREE_EXCL | AGREE_DATA | AGREE_RULE);
out:
	close(fd);
}

/*
 * R/O longterm pin of an exclusive page mapped R/O (mprotect, with
 * soft-dirty cleared so the PTE stays R/O): the page is pinned as it is,
 * never copied, and a later write reuses it. Guards against unsharing or
 * copying an exclusive page only because its entry is R/O.
 */
static void case_ro_pin_ro_exclusive(struct mem *m, const struct test_case *tc)
{
	uint64_t before[WIN_MAX_PAGES], pinned[WIN_MAX_PAGES];
	uint64_t h;
	size_t i;
	int fd;

	if (!EXPECT_EQ(0, mprotect(m->mem, m->len, PROT_READ), "mprotect R/O"))
		return;
	clear_softdirty();
	if (!EXPECT_EQ(0, mprotect(m->mem, m->len, PROT_READ | PROT_WRITE), "mprotect R/W"))
		return;
	pfns_mapped(m, before);
	fd = start_case(m, tc, &h, pinned);
	if (fd < 0)
		return;
	for (i = 0; i < nr_pages(m) && !is_swapped(m); i++)
		if (!was_shared(m, i) &&
		    !EXPECT_EQ(before[i], pinned[i], "page %zu: copied by the pin", i))
			goto out;
	mem_write(m);
	check_pin(fd, h, m, AGREE_PAGE | AGREE_EXCL | AGREE_DATA | AGREE_RULE);
out:
	close(fd);
}

static int child_copied_then_wait(struct child *c, struct child_arg *a)
{
	int ret = child_check_copied(a);

	pipe_post(c->up[1]);
	if (ret != CHILD_OK)
		return ret;
	if (!pipe_wait(c->down[0]))
		return CHILD_ERROR;
	/* The parent wrote after the fork: nothing of it is here. */
	return first_bad_page((unsigned char *)a->m->mem, a->m->vals, nr_pages(a->m)) < 0 ?
	       CHILD_OK : CHILD_DATA;
}

/*
 * R/W pin, then fork: the pinned page is copied for the child at fork, so
 * the parent's later writes (DMA, in real life) reach neither the child
 * nor a page the parent no longer maps. Guards "mm: Do early cow for pinned
 * pages during fork() for ptes" (v5.9) and its PMD and hugetlb siblings.
 */
static void case_rw_pin_fork(struct mem *m, const struct test_case *tc)
{
	uint64_t pinned[WIN_MAX_PAGES];
	struct child_arg a = { .m = m, .pinned = pinned };
	struct child c;
	uint64_t h;
	int fd;

	/* A write pin writes nothing: the zero pages read zero still. */
	fd = start_case(m, tc, &h, pinned);
	if (fd < 0)
		return;
	if (!child_start(&c, child_copied_then_wait, &a))
		goto out;
	if (child_ready(&c, "the child did not check in") &&
	    check_pin(fd, h, m, AGREE_PAGE | AGREE_EXCL | AGREE_DATA)) {
		mem_write(m);
		check_pin(fd, h, m, AGREE_PAGE | AGREE_EXCL | AGREE_DATA | AGREE_RULE);
	}
	tell_child(&c);
	child_reap(&c);
out:
	close(fd);
}

/*
 * A pin does not keep a mapping: MADV_DONTNEED zaps the range, the next
 * fault maps a fresh zero-filled page, and the pin keeps the old page with
 * the old data. What a driver sees then is documented behaviour, checked
 * here so that the accounting stays right when the last mapping goes.
 */
static void case_pin_dontneed(struct mem *m, const struct test_case *tc)
{
	uint64_t pinned[WIN_MAX_PAGES], mapped[WIN_MAX_PAGES];
	unsigned char old[WIN_MAX_PAGES];
	struct mmprobe_pin_page *p;
	uint64_t h;
	size_t i;
	int fd;

	fd = start_case(m, tc, &h, pinned);
	if (fd < 0)
		return;
	memcpy(old, m->vals, nr_pages(m));
	if (!EXPECT_EQ(0, madvise(m->mem, m->len, MADV_DONTNEED), "MADV_DONTNEED"))
		goto out;
	memset(m->vals, 0, nr_pages(m));
	if (!check_memory(m) || !check_pin_reads(fd, h, m, old))
		goto out;
	p = describe(fd, h, m, true);
	for (i = 0; p && i < nr_pages(m); i++)
		if (!EXPECT_EQ(1, p[i].pinned, "page %zu: pinned after the zap", i))
			goto out;
	mem_write(m);
	pfns_mapped(m, mapped);
	for (i = 0; i < nr_pages(m); i++)
		if (!EXPECT_TRUE(mapped[i] && mapped[i] != pinned[i],
				 "page %zu: the refault mapped the pinned page", i))
			goto out;
	if (check_pin_reads(fd, h, m, old))
		check_exclusive_rule(m);
out:
	close(fd);
}

/*
 * R/W longterm pin, mprotect R/O (soft-dirty cleared) and back, write: the
 * write fault must reuse the pinned exclusive page, not copy it. Guards the
 * io_uring fixed-buffer case of cow.c: with a copy, the registered buffer
 * and the process part ways.
 */
static void case_pin_mprotect_write(struct mem *m, const struct test_case *tc)
{
	uint64_t pinned[WIN_MAX_PAGES], mapped[WIN_MAX_PAGES];
	uint64_t h;
	size_t i;
	int fd;

	fd = start_case(m, tc, &h, pinned);
	if (fd < 0)
		return;
	if (!EXPECT_EQ(0, mprotect(m->mem, m->len, PROT_READ), "mprotect R/O"))
		goto out;
	clear_softdirty();
	if (!EXPECT_EQ(0, mprotect(m->mem, m->len, PROT_READ | PROT_WRITE), "mprotect R/W"))
		goto out;
	mem_write(m);
	pfns_mapped(m, mapped);
	for (i = 0; i < nr_pages(m); i++)
		if (!EXPECT_EQ(pinned[i], mapped[i], "page %zu: copied, not reused", i))
			goto out;
	check_pin(fd, h, m, AGREE_PAGE | AGREE_EXCL | AGREE_DATA | AGREE_RULE);
out:
	close(fd);
}

/* The child maps the parent's pages (a->pinned: their PFNs) and data. */
static int child_maps_same(struct child *c, struct child_arg *a)
{
	const struct mem *m = a->m;
	const uint64_t *pms = pagemap_win(m->mem, nr_pages(m));
	size_t i;

	for (i = 0; i < nr_pages(m); i++) {
		if (!(pms[i] & PM_PRESENT))
			return CHILD_UNMAPPED;
		if ((pms[i] & PM_PFN_MASK) != a->pinned[i])
			return CHILD_OTHER_PAGE;
	}
	return first_bad_page((unsigned char *)m->mem, m->vals, nr_pages(m)) < 0 ?
	       CHILD_OK : CHILD_DATA;
}

/*
 * fork() shares an unpinned hugetlb page (and a KSM page): the child maps
 * the parent's page and reads its data. Guards copy_hugetlb_page_range(),
 * which skips an entry when it believes the page table holding it is
 * shared. Since
 * 14967a9c7d24 ("mm/hugetlb: fix copy_hugetlb_page_range() to use
 * ->pt_share_count"), backported to the 6.1 and 6.12 stable series, it
 * asks pt_share_count, which only PMD tables keep: for a 1 GiB page it
 * reads the PUD table's struct page (and for arm64's contiguous-PTE sizes,
 * 2 MiB with 16 KiB pages, the PTE table's), where that word is the index
 * left from the page's last use, and the child may get no mapping at all
 * (its next access faults in a new, zeroed page). No fix is known as of
 * 7.3: XFAIL when it happens, naming it.
 */
static void case_fork_shares(struct mem *m, const struct test_case *tc)
{
	uint64_t mapped[WIN_MAX_PAGES];
	struct child_arg a = { .m = m, .pinned = mapped };
	struct child c;

	pfns_mapped(m, mapped);
	if (!child_start(&c, child_maps_same, &a))
		return;
	child_reap(&c);
}

static int child_not_mapped(struct child *c, struct child_arg *a)
{
	unsigned char vec;

	if (!mincore(a->m->mem, pagesize, &vec) || errno != ENOMEM)
		return CHILD_MAPPED;
	return CHILD_OK;
}

static int child_wiped(struct child *c, struct child_arg *a)
{
	const uint64_t *pms;
	const struct mem *m = a->m;
	size_t i;

	if (first_bad_page((unsigned char *)m->mem, zero_vals, nr_pages(m)) >= 0)
		return CHILD_DATA;
	pms = pagemap_win(m->mem, nr_pages(m));
	for (i = 0; i < nr_pages(m); i++)
		if ((pms[i] & PM_PFN_MASK) == a->pinned[i])
			return CHILD_SAME_PAGE;
	return CHILD_OK;
}

/*
 * R/W longterm pin of a MADV_DONTFORK (or MADV_WIPEONFORK) range, then
 * fork: the child gets no mapping (or fresh zero memory) and the parent
 * keeps its pinned pages, exclusive, and agreeing with the pin. The classic
 * way RDMA users protected pinned memory before fork learned to copy.
 */
static void do_case_madv_fork(struct mem *m, const struct test_case *tc, int advice)
{
	uint64_t pinned[WIN_MAX_PAGES];
	struct child_arg a = { .m = m, .pinned = pinned };
	struct child c;
	uint64_t h;
	int fd;

	fd = start_case(m, tc, &h, pinned);
	if (fd < 0)
		return;
	m->spoilt = true;
	if (!EXPECT_EQ(0, madvise(m->mem, m->len, advice), "madvise(%d)", advice))
		goto out;
	if (!child_start(&c, advice == MADV_DONTFORK ? child_not_mapped : child_wiped, &a) ||
	    !child_reap(&c))
		goto out;
	if (!check_pin(fd, h, m, AGREE_PAGE | AGREE_EXCL | AGREE_DATA))
		goto out;
	mem_write(m);
	check_pin(fd, h, m, AGREE_PAGE | AGREE_EXCL | AGREE_DATA | AGREE_RULE);
out:
	close(fd);
}

static void case_dontfork(struct mem *m, const struct test_case *tc)
{
	do_case_madv_fork(m, tc, MADV_DONTFORK);
}

static void case_wipeonfork(struct mem *m, const struct test_case *tc)
{
	do_case_madv_fork(m, tc, MADV_WIPEONFORK);
}

/*
 * What a R/O take saw changed under it. hugetlb reuses a page on a write
 * fault when it is mapped once, whatever GUP references it (hugetlb_wp()
 * looks at the mapcount, not at the refcount), so there a R/O reference
 * that outlives the other mapping sees the writes of the process left: a
 * known limitation, unfixed as of 7.3, which the kernel's cow.c marks XFAIL
 * for its vmsplice() cases on hugetlb. Pins unshare, so they must not leak.
 */
static void leaked(const struct mem *m, const struct test_case *tc)
{
	if (is_hugetlb(m) && !method_pins(tc->method))
		XFAIL("hugetlb_wp() reuses a page a GUP reference holds (no upstream fix)");
	else
		FAIL("what was taken R/O changed with the other process's write");
}

static int child_take_unmap_read(struct child *c, struct child_arg *a)
{
	struct mem *m = a->m;
	uint64_t h;
	long bad;
	int fd;

	fd = pin_util_open();
	if (fd < 0 || pin_util_take(fd, m->mem, nr_pages(m), a->method, a->flags, &h) !=
		      (long)nr_pages(m))
		return CHILD_ERROR;
	if (munmap(m->mem, m->len))
		return CHILD_ERROR;
	pipe_post(c->up[1]);
	if (!pipe_wait(c->down[0]))
		return CHILD_ERROR;
	if (pin_read_check(fd, h, nr_pages(m), m->vals, &bad))
		return CHILD_ERROR;
	return bad >= 0 ? CHILD_LEAK : CHILD_OK;
}

/*
 * vmsplice() in the child, the child unmaps, the parent writes (with
 * OPT_MPROTECT after mprotect() R/O and R/W, which may map the page
 * writable without a fault): what the child took R/O must keep the data of
 * fork time. A R/O reference (the
 * vmsplice() of old) relies on the parent's write fault copying a page
 * with a raised refcount; a R/O pin unshares in the child. Guards
 * CVE-2020-29374 ("gup: document and work around 'COW can break either
 * way' issue", v5.8, and the refcount-based reuse of v5.9).
 */
static void case_vmsplice_child(struct mem *m, const struct test_case *tc)
{
	struct child_arg a = { .m = m, .method = tc->method, .flags = tc->flags };
	struct child c;
	int status;

	if (!child_start(&c, child_take_unmap_read, &a))
		return;
	if (child_ready(&c, "the child could not take and unmap") &&
	    (!(tc->opt & OPT_MPROTECT) || mprotect_ro_rw(m->mem, m->len))) {
		mem_write(m);
		check_memory(m);
	}
	tell_child(&c);
	status = child_reap_status(&c);
	if (status == CHILD_LEAK)
		leaked(m, tc);
	else
		child_status_ok(m, status);
}

static int child_write(struct child *c, struct child_arg *a)
{
	pipe_post(c->up[1]);
	if (!pipe_wait(c->down[0]))
		return CHILD_ERROR;
	pages_mark(a->m->mem, a->m->win, 0x5a);
	return CHILD_OK;
}

/*
 * vmsplice() in the parent before fork (with OPT_AFTER_FORK: after it,
 * on a page shared with the child), the parent unmaps after fork, the
 * child writes: what the parent took R/O must keep the data of fork time.
 * With a pin the page was copied for the child at fork (or unshared by the
 * pin after it); with a reference the child's write fault must copy, as
 * the page has a reference the mapping does not explain. The mirror image
 * of the case above: cow.c's "vmsplice() before fork(), unmap in parent
 * after fork()" and "vmsplice() + unmap in parent after fork()".
 */
static void case_vmsplice_parent(struct mem *m, const struct test_case *tc)
{
	bool after = tc->opt & OPT_AFTER_FORK;
	struct child_arg a = { .m = m };
	struct child c;
	uint64_t h;
	int fd, ret;
	long bad;

	fd = open_session();
	if (fd < 0)
		return;
	if (!after && !take(fd, m, tc->method, tc->flags, &h))
		goto out;
	if (!child_start(&c, child_write, &a))
		goto out;
	if (child_ready(&c, "the child did not start") &&
	    (!after || take(fd, m, tc->method, tc->flags, &h)))
		EXPECT_EQ(0, munmap(m->mem, m->len), "munmap");
	tell_child(&c);
	if (!child_reap(&c) || cur.failed)
		goto out;
	ret = pin_read_check(fd, h, nr_pages(m), m->vals, &bad);
	if (ret)
		FAIL("MMPROBE_PIN_IOC_READ: %s", strerror(-ret));
	else if (bad >= 0)
		leaked(m, tc);
out:
	close(fd);
}

/*
 * fork() without GUP, then the parent writes (with OPT_MPROTECT after
 * mprotect() R/O and R/W): the child keeps the data of fork time, and the
 * parent maps pages of its own again. Guards COW itself, cow.c's "Basic
 * COW after fork()", and mprotect()'s upgrade of entries to writable
 * without a fault (can_change_pte_writable(), "mm/mprotect: allow clean
 * exclusive anon pages to be writable", v6.0), which must never make a
 * shared anon page writable.
 */
static void case_cow(struct mem *m, const struct test_case *tc)
{
	struct child_arg a = { .m = m };
	const uint64_t *pms;
	struct child c;
	size_t i;

	if (!child_start(&c, child_wait_then_check, &a))
		return;
	if (!child_ready(&c, "the child did not start"))
		goto reap;
	if ((tc->opt & OPT_MPROTECT) && !mprotect_ro_rw(m->mem, m->len))
		goto reap;
	mem_write(m);
	if (!check_memory(m))
		goto reap;
	pms = pagemap_win(m->mem, nr_pages(m));
	for (i = 0; i < nr_pages(m); i++)
		if (!EXPECT_TRUE((pms[i] & PM_PRESENT) &&
				 (!pm_excl_witness(m) || (pms[i] & PM_MMAP_EXCL)),
				 "page %zu: not mapped exclusively after the write (%#llx)", i,
				 (unsigned long long)pms[i]))
			goto reap;
	check_exclusive_rule(m);
reap:
	tell_child(&c);
	child_reap(&c);
}

enum {
	COLLAPSE_UNSHARED = 1,
	COLLAPSE_FULLY_SHARED,
	COLLAPSE_LOWER_SHARED,
	COLLAPSE_UPPER_SHARED,
};

/*
 * MADV_COLLAPSE the window into one PMD-mapped THP: kpageflags and smaps
 * must say so. An allocation failure is the machine's (a skip).
 */
static bool collapse(struct mem *m, bool shared)
{
	static bool collapsed;	/* an unshared THP was collapsed in this run */
	uint64_t first;

	if (madvise(m->mem, m->len, MADV_COLLAPSE)) {
		if (errno == EAGAIN || errno == ENOMEM)
			SKIP("MADV_COLLAPSE: %s (no free huge page to collapse into)",
			     strerror(errno));
		else if (errno == EINVAL && shared && collapsed)
			SKIP("MADV_COLLAPSE: EINVAL for a COW-shared THP, %s",
			     "where an unshared one collapsed: the kernel does not collapse it");
		else if (errno == EINVAL && !shared)
			SKIP("MADV_COLLAPSE: EINVAL for an unshared THP (no MADV_COLLAPSE)");
		else
			FAIL("MADV_COLLAPSE: %s", strerror(errno));
		return false;
	}
	collapsed |= !shared;
	first = pfn_of(m->mem);
	return EXPECT_TRUE(first && kpf(first, KPF_THP) && kpf(first, KPF_COMPOUND_HEAD_BIT) &&
			   pfn_of(m->mem + m->len - pagesize) == first + nr_pages(m) - 1,
			   "MADV_COLLAPSE left no THP (pfn %#llx)", (unsigned long long)first) &&
	       EXPECT_EQ(m->len >> 10, util_smaps_kb(m->mem, "AnonHugePages"),
			 "smaps AnonHugePages (kB) after MADV_COLLAPSE");
}

/*
 * A PTE-mapped THP collapsed with MADV_COLLAPSE before fork, or after it
 * while all, the lower or the upper half of it is COW-shared; then the
 * parent writes: the child keeps what it shares. Guards the collapse of
 * shared anon pages (cow.c's four MADV_COLLAPSE cases): khugepaged and
 * MADV_COLLAPSE must copy into the new THP, never hand the parent's write
 * to the child.
 */
static void case_collapse(struct mem *m, const struct test_case *tc)
{
	struct child_arg a = { .m = m };
	size_t half = m->len / 2;
	struct child c;

	/* PTE-map the THP: MADV_COLLAPSE then has something to do. */
	if (!EXPECT_EQ(0, mprotect(m->mem + pagesize, pagesize, PROT_READ), "mprotect") ||
	    !EXPECT_EQ(0, mprotect(m->mem + pagesize, pagesize, PROT_READ | PROT_WRITE),
		       "mprotect"))
		return;
	if (tc->opt == COLLAPSE_UNSHARED && !collapse(m, false))
		return;
	if (tc->opt == COLLAPSE_LOWER_SHARED || tc->opt == COLLAPSE_UPPER_SHARED) {
		/* The child shares one half; MADV_DONTFORK keeps the other. */
		a.off = tc->opt == COLLAPSE_LOWER_SHARED ? 0 : half;
		a.len = half;
		if (!EXPECT_EQ(0, madvise(m->mem + (a.off ? 0 : half), half, MADV_DONTFORK),
			       "MADV_DONTFORK"))
			return;
	}
	if (!child_start(&c, child_wait_then_check, &a))
		return;
	if (!child_ready(&c, "the child did not start"))
		goto reap;
	/* MADV_DOFORK merges the VMAs again: the THP can be collapsed whole. */
	if (a.len && !EXPECT_EQ(0, madvise(m->mem, m->len, MADV_DOFORK), "MADV_DOFORK"))
		goto reap;
	if (tc->opt != COLLAPSE_UNSHARED && !collapse(m, true))
		goto reap;
	mem_write(m);
	check_memory(m);
reap:
	tell_child(&c);
	child_reap(&c);
}

/* A case that takes nothing */
#define NO_PIN		MMPROBE_PIN_METHOD_NONE
#define PUP		MMPROBE_PIN_METHOD_PUP
#define PUP_FAST	MMPROBE_PIN_METHOD_PUP_FAST
#define GUP_FAST	MMPROBE_PIN_METHOD_GUP_FAST
#define RO_LT		MMPROBE_PIN_LONGTERM
#define RW_LT		(MMPROBE_PIN_WRITE | MMPROBE_PIN_LONGTERM)

static const struct test_case cases[] = {
	/*
	 * The report every case relies on: a short-term R/O pin faults and
	 * unshares nothing present but a KSM page, so it names the page
	 * pagemap maps, with the kind, level and order kpageflags and the
	 * setup imply.
	 */
	{ "R/O pin reports the mapped page", case_describe, K_ALL, PUP, 0, 1, 0 },
	/* See case_ro_longterm_fork(): copy at fork of R/O-pinned pages. */
	{ "R/O longterm pin, fork, child writes", case_ro_longterm_fork,
	  K_NOT_1G, PUP, RO_LT, 2, 0 },
	{ "R/O longterm pin, fork, child writes", case_ro_longterm_fork,
	  K_NOT_1G, PUP_FAST, RO_LT, 2, 0 },
	/* See case_ro_pin_shared(): FAULT_FLAG_UNSHARE of shared pages. */
	{ "R/O longterm pin of a page shared with a child", case_ro_pin_shared,
	  K_ANON & K_NOT_1G, PUP, RO_LT, 2, 0 },
	{ "R/O longterm pin of a page shared with a child", case_ro_pin_shared,
	  K_ANON & K_NOT_1G, PUP_FAST, RO_LT, 2, 0 },
	/* See case_ro_pin_prev_shared(): reuse after the sharing ended. */
	{ "R/O longterm pin of a previously shared page", case_ro_pin_prev_shared,
	  K_ANON & K_NOT_1G, PUP, RO_LT, 1, 0 },
	{ "R/O longterm pin of a previously shared page", case_ro_pin_prev_shared,
	  K_ANON & K_NOT_1G, PUP_FAST, RO_LT, 1, 0 },
	/* See case_ro_pin_ro_exclusive(): no copy of a R/O exclusive page. */
	{ "R/O longterm pin of a R/O-mapped exclusive page", case_ro_pin_ro_exclusive,
	  K_ANON & ~K(KSM), PUP, RO_LT, 1, 0 },
	{ "R/O longterm pin of a R/O-mapped exclusive page", case_ro_pin_ro_exclusive,
	  K_ANON & ~K(KSM), PUP_FAST, RO_LT, 1, 0 },
	/* See case_rw_pin_fork(): copy at fork, longterm or not. */
	{ "R/W longterm pin, fork", case_rw_pin_fork, K_NOT_1G, PUP, RW_LT, 2, 0 },
	{ "R/W pin, fork", case_rw_pin_fork, K_NOT_1G, PUP_FAST, MMPROBE_PIN_WRITE, 2, 0 },
	/* See case_pin_dontneed(): a pin keeps a page, not a mapping. */
	{ "R/W longterm pin, MADV_DONTNEED, refault", case_pin_dontneed,
	  K_NOT_1G, PUP, RW_LT, 2, 0 },
	/* See case_pin_mprotect_write(): reuse, not copy, after mprotect. */
	{ "R/W longterm pin, mprotect R/O and R/W, write", case_pin_mprotect_write,
	  K_ALL, PUP, RW_LT, 1, 0 },
	/* See case_fork_shares(): fork() must map the page in the child. */
	{ "fork shares an unpinned hugetlb page", case_fork_shares, K_HUGETLB, PUP, 0, 1, 0 },
	{ "fork shares a KSM page", case_fork_shares, K(KSM), NO_PIN, 0, 0, 0 },
	/* See do_case_madv_fork(): the pre-5.9 way of protecting pins. */
	{ "R/W longterm pin, MADV_DONTFORK, fork", case_dontfork, K_ALL, PUP, RW_LT, 1, 0 },
	/* MADV_WIPEONFORK takes private anon VMAs only: not hugetlb. */
	{ "R/W longterm pin, MADV_WIPEONFORK, fork", case_wipeonfork,
	  K_ALL & ~K_HUGETLB, PUP, RW_LT, 1, 0 },
	/* See case_vmsplice_child(): CVE-2020-29374. */
	{ "R/O reference in child, child unmaps, parent writes", case_vmsplice_child,
	  K_ANON & K_NOT_1G, GUP_FAST, 0, 1, 0 },
	{ "R/O pin in child, child unmaps, parent writes", case_vmsplice_child,
	  K_ANON & K_NOT_1G, PUP_FAST, 0, 2, 0 },
	/* See case_vmsplice_parent(). */
	{ "R/O reference, fork, parent unmaps, child writes", case_vmsplice_parent,
	  K_ANON & K_NOT_1G, GUP_FAST, 0, 1, 0 },
	{ "R/O pin, fork, parent unmaps, child writes", case_vmsplice_parent,
	  K_ANON & K_NOT_1G, PUP_FAST, 0, 2, 0 },
	/* See case_cow(): COW without GUP. */
	{ "COW after fork, parent writes", case_cow, K_NOT_1G, NO_PIN, 0, 2, 0 },
	{ "COW after fork, mprotect R/O and R/W, parent writes", case_cow,
	  K_NOT_1G, NO_PIN, 0, 2, OPT_MPROTECT },
	/* See case_vmsplice_child(), with mprotect() before the write. */
	{ "R/O reference in child, child unmaps, mprotect, parent writes", case_vmsplice_child,
	  K_ANON & K_NOT_1G, GUP_FAST, 0, 1, OPT_MPROTECT },
	{ "R/O pin in child, child unmaps, mprotect, parent writes", case_vmsplice_child,
	  K_ANON & K_NOT_1G, PUP_FAST, 0, 2, OPT_MPROTECT },
	/* See case_vmsplice_parent(), taken after fork. */
	{ "fork, R/O reference, parent unmaps, child writes", case_vmsplice_parent,
	  K_ANON & K_NOT_1G, GUP_FAST, 0, 1, OPT_AFTER_FORK },
	{ "fork, R/O pin, parent unmaps, child writes", case_vmsplice_parent,
	  K_ANON & K_NOT_1G, PUP_FAST, 0, 2, OPT_AFTER_FORK },
	/* See case_collapse(): MADV_COLLAPSE of COW-shared anon pages. */
	{ "MADV_COLLAPSE, fork, parent writes", case_collapse,
	  K(THP_PMD), NO_PIN, 0, 0, COLLAPSE_UNSHARED },
	{ "fork, MADV_COLLAPSE of a fully shared THP, parent writes", case_collapse,
	  K(THP_PMD), NO_PIN, 0, 0, COLLAPSE_FULLY_SHARED },
	{ "fork, MADV_COLLAPSE of a THP shared in its lower half, parent writes",
	  case_collapse, K(THP_PMD), NO_PIN, 0, 0, COLLAPSE_LOWER_SHARED },
	{ "fork, MADV_COLLAPSE of a THP shared in its upper half, parent writes",
	  case_collapse, K(THP_PMD), NO_PIN, 0, 0, COLLAPSE_UPPER_SHARED },
};

/* ---- the pin file itself ---- */

static long long stat_of(const char *name)
{
	char buf[4096];

	if (util_read_file(MMPROBE_DIR "/stats", buf, sizeof(buf)) < 0)
		return -1;
	return util_kv_get(buf, name);
}

/*
 * What pins this program took and gave back, from sources a busy machine
 * cannot move: mmprobe's own counters (nothing else uses mmprobe while the
 * program runs) and the pinning process's VmPin, which mmprobe charges with
 * every page it holds. /proc/vmstat's nr_foll_pin_* count every process's
 * pins (O_DIRECT, io_uring, vfio ...): they only bound ours from below.
 */
struct pin_acct {
	long long pinned;	/* stats: pin_pinned, pages pinned */
	long long refs;		/* stats: pin_refs, pages referenced */
	long long released;	/* stats: pin_released, both given back */
	long long held;		/* stats: held_pages, held now */
	long long vmpin_kb;	/* /proc/PID/status: VmPin */
	long long acquired;	/* /proc/vmstat: nr_foll_pin_acquired */
	long long foll_released;	/* /proc/vmstat: nr_foll_pin_released */
};

/* VmPin of pid (0: this process) in kB, -1 when unreadable. */
static long long vmpin_kb(pid_t pid)
{
	char path[64], buf[4096], *p;

	snprintf(path, sizeof(path), "/proc/%d/status", pid ? pid : getpid());
	if (util_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, "\nVmPin:");
	return p ? strtoll(p + strlen("\nVmPin:"), NULL, 10) : -1;
}

/* mmprobe's counters and VmPin only; acquired and foll_released are -1. */
static void acct_read_own(struct pin_acct *a, pid_t pid)
{
	char buf[4096];

	memset(a, 0xff, sizeof(*a));
	if (util_read_file(MMPROBE_DIR "/stats", buf, sizeof(buf)) >= 0) {
		a->pinned = util_kv_get(buf, "pin_pinned");
		a->refs = util_kv_get(buf, "pin_refs");
		a->released = util_kv_get(buf, "pin_released");
		a->held = util_kv_get(buf, "held_pages");
	}
	a->vmpin_kb = vmpin_kb(pid);
}

/* Everything: the kernel's nr_foll_pin_* too (a vm/stat_refresh, 3 ms under TCG). */
static void acct_read(struct pin_acct *a, pid_t pid)
{
	acct_read_own(a, pid);
	if (pin_util_foll_counts(&a->acquired, &a->foll_released)) {
		a->acquired = -1;
		a->foll_released = -1;
	}
}

/* EXPECT_GE(bound, seen, what...): seen is at least bound. */
static bool expect_ge(int line, long long bound, long long seen, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (seen >= bound)
		return true;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pin_case_fail(line, "%s: expected at least %lld, seen %lld", what, bound, seen);
	return false;
}

#define EXPECT_GE(bound, seen, ...) \
	expect_ge(__LINE__, (long long)(bound), (long long)(seen), __VA_ARGS__)

/*
 * Since @base, pid (0: this process) took @pins pins and @refs references
 * and holds them now: mmprobe counted and holds exactly those, pid's VmPin
 * grew by them, and the kernel counted at least the pins.
 */
static void expect_held(int line, const struct pin_acct *base, pid_t pid,
			long long pins, long long refs)
{
	struct pin_acct now;

	acct_read(&now, pid);
	expect_eq(line, pins, now.pinned - base->pinned, "pin_pinned taken");
	expect_eq(line, refs, now.refs - base->refs, "pin_refs taken");
	expect_eq(line, pins + refs, now.held - base->held, "held_pages");
	expect_eq(line, (pins + refs) * (long long)pagesize / 1024,
		  now.vmpin_kb - (pid ? 0 : base->vmpin_kb), "VmPin (kB) of pid %d", pid);
	expect_ge(line, pins, now.acquired - base->acquired,
		  "nr_foll_pin_acquired rise (system-wide, at least ours)");
}

/*
 * Since @base, everything taken was given back: mmprobe released every
 * page it counted taken and holds what it held at @base, this process's
 * VmPin is back, and the kernel counted at least @pins pins released.
 * (A child's VmPin went with the child.)
 */
static void expect_released_own(int line, const struct pin_acct *base,
				const struct pin_acct *now)
{
	expect_eq(line, (now->pinned - base->pinned) + (now->refs - base->refs),
		  now->released - base->released, "pin_released: every page taken");
	expect_eq(line, base->held, now->held, "held_pages after release");
	expect_eq(line, base->vmpin_kb, now->vmpin_kb, "VmPin (kB) after release");
}

static void expect_all_released(int line, const struct pin_acct *base, long long pins)
{
	struct pin_acct now;

	acct_read(&now, 0);
	expect_released_own(line, base, &now);
	if (pins >= 0)
		expect_ge(line, pins, now.foll_released - base->foll_released,
			  "nr_foll_pin_released rise (system-wide, at least ours)");
}

#define EXPECT_HELD(base, pid, pins, refs) expect_held(__LINE__, base, pid, pins, refs)
#define EXPECT_ALL_RELEASED(base, pins) expect_all_released(__LINE__, base, pins)

static char *map_pages(size_t n, int prot)
{
	char *p = mmap(NULL, n * pagesize, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		FAIL("mmap: %s", strerror(errno));
		return NULL;
	}
	madvise(p, n * pagesize, MADV_NOHUGEPAGE);
	if (prot & PROT_WRITE)
		memset(p, 0x11, n * pagesize);
	return p;
}

/* Both a session and a mapping, or neither: false (and both gone) if one failed. */
static bool both_or_neither(int fd, char *mem, size_t len)
{
	if (fd >= 0 && mem)
		return true;
	if (fd >= 0)
		close(fd);
	if (mem)
		munmap(mem, len);
	return false;
}

static long take_raw(int fd, const void *addr, uint64_t nr, uint64_t method, uint64_t flags)
{
	uint64_t h;

	return pin_util_take(fd, addr, nr, method, flags, &h);
}

static long range_raw(int fd, unsigned long cmd, uint64_t handle, uint64_t index,
		      uint64_t nr, void *buf, uint64_t flags)
{
	struct mmprobe_pin_range r = {
		.handle = handle, .index = index, .nr_pages = nr,
		.buf = (uintptr_t)buf, .flags = flags,
	};

	return ioctl(fd, cmd, &r) ? -errno : (long)r.nr_done;
}

/* Every kind of bad argument gets its errno, and "errors" counts each. */
static void test_errnos(void)
{
	long long errors = stat_of("errors");
	char *mem, *ro, *gone;
	int fd, m, nr_err = 0;
	uint64_t h;
	long ret;

#define BAD(expected, call, ...) do {					\
		nr_err++;						\
		EXPECT_EQ(-(expected), (call), __VA_ARGS__);		\
	} while (0)

	mem = map_pages(4, PROT_READ | PROT_WRITE);
	ro = map_pages(1, PROT_READ);
	gone = map_pages(1, PROT_READ | PROT_WRITE);
	fd = open_session();
	if (fd < 0 || !mem || !ro || !gone)
		goto out;
	munmap(gone, pagesize);

	BAD(EINVAL, take_raw(fd, mem, 1, PUP, 1ULL << 2), "unknown flag");
	BAD(EINVAL, take_raw(fd, mem, 1, MMPROBE_PIN_METHOD_NONE, 0), "method 0");
	BAD(EINVAL, take_raw(fd, mem, 1, MMPROBE_PIN_NR_METHODS, 0), "unknown method");
	BAD(EINVAL, take_raw(fd, mem, 1, MMPROBE_PIN_METHOD_GUP, RO_LT), "longterm reference");
	BAD(EINVAL, take_raw(fd, mem, 1, GUP_FAST, RO_LT), "longterm fast reference");
	BAD(EINVAL, take_raw(fd, mem, 0, PUP, 0), "no pages");
	BAD(EINVAL, take_raw(fd, mem + 1, 1, PUP, 0), "unaligned address");
	BAD(EINVAL, take_raw(fd, (void *)-pagesize, 2, PUP, 0), "range wraps");
	BAD(EINVAL, take_raw(fd, mem, 1ULL << 62, PUP, 0), "size overflows");
	for (m = PUP; m < MMPROBE_PIN_NR_METHODS; m++) {
		BAD(EFAULT, take_raw(fd, gone, 1, m, 0), "%s of nothing", method_names[m]);
		BAD(EFAULT, take_raw(fd, ro, 1, m, MMPROBE_PIN_WRITE),
		    "%s for write of a R/O mapping", method_names[m]);
		BAD(EFAULT, take_raw(fd, (void *)(-1UL << 47), 1, m, 0),
		    "%s of a kernel address", method_names[m]);
	}
	BAD(EFAULT, ioctl(fd, MMPROBE_PIN_IOC_TAKE, NULL) ? -errno : 0, "TAKE at NULL");
	BAD(EFAULT, ioctl(fd, MMPROBE_PIN_IOC_INFO, NULL) ? -errno : 0, "INFO at NULL");
	BAD(ENOTTY, ioctl(fd, _IO(MMPROBE_IOC_MAGIC, 0x1f)) ? -errno : 0, "unknown ioctl");

	ret = pin_util_take(fd, mem, 4, PUP, 0, &h);
	if (!EXPECT_EQ(4, ret, "pages taken"))
		goto out;
	BAD(EINVAL, range_raw(fd, MMPROBE_PIN_IOC_INFO, 0, 0, 1, pages_buf, 0), "handle 0");
	BAD(EINVAL, range_raw(fd, MMPROBE_PIN_IOC_INFO, h + 1, 0, 1, pages_buf, 0),
	    "unknown handle");
	BAD(EINVAL, range_raw(fd, MMPROBE_PIN_IOC_INFO, h | 1ULL << 40, 0, 1, pages_buf, 0),
	    "handle beyond 32 bits");
	BAD(EINVAL, range_raw(fd, MMPROBE_PIN_IOC_INFO, h, 3, 2, pages_buf, 0),
	    "range past the take");
	BAD(EINVAL, range_raw(fd, MMPROBE_PIN_IOC_INFO, h, 0, 0, pages_buf, 0), "no pages");
	BAD(EINVAL, range_raw(fd, MMPROBE_PIN_IOC_INFO, h, -1ULL, 2, pages_buf, 0),
	    "index + pages overflows");
	BAD(EINVAL, range_raw(fd, MMPROBE_PIN_IOC_INFO, h, 0, 1, pages_buf, 1ULL << 1),
	    "INFO with an unknown flag");
	BAD(EINVAL, range_raw(fd, MMPROBE_PIN_IOC_READ, h, 0, 1, read_buf, 1),
	    "READ with a flag");
	BAD(EINVAL, range_raw(fd, MMPROBE_PIN_IOC_UNPIN, h, 0, 1, NULL, 1ULL << 2),
	    "UNPIN with an unknown flag");
	BAD(EINVAL, range_raw(fd, MMPROBE_PIN_IOC_UNPIN, h, 0, 1, read_buf, 0),
	    "UNPIN with a buffer");
	BAD(EINVAL, range_raw(fd, MMPROBE_PIN_IOC_UNPIN, h, 0, 0, NULL,
			      MMPROBE_PIN_UNPIN_ALL), "UNPIN_ALL naming a take");
	BAD(EFAULT, range_raw(fd, MMPROBE_PIN_IOC_INFO, h, 0, 1, NULL, 0), "INFO to NULL");
	BAD(EFAULT, range_raw(fd, MMPROBE_PIN_IOC_READ, h, 0, 1, NULL, 0), "READ to NULL");
	BAD(EFAULT, range_raw(fd, MMPROBE_PIN_IOC_READ, h, 0, 1, ro, 0),
	    "READ into a R/O mapping");
	EXPECT_EQ(4, pin_util_unpin_all(fd), "pages released by UNPIN_ALL");
	EXPECT_EQ(nr_err, stat_of("errors") - errors, "errors counted");
out:
	if (fd >= 0)
		close(fd);
	if (mem)
		munmap(mem, 4 * pagesize);
	if (ro)
		munmap(ro, pagesize);
#undef BAD
}

/* A take that runs into a hole keeps what it got and says how much. */
static void test_partial(void)
{
	long long partial = stat_of("pin_partial");
	struct mmprobe_pin_page *p = pages_buf;
	char *mem = map_pages(4, PROT_READ | PROT_WRITE);
	uint64_t h;
	int fd, m;

	fd = open_session();
	if (!both_or_neither(fd, mem, 4 * pagesize))
		return;
	munmap(mem + 2 * pagesize, 2 * pagesize);
	for (m = PUP; m < MMPROBE_PIN_NR_METHODS; m++) {
		if (!EXPECT_EQ(2, pin_util_take(fd, mem, 4, m, 0, &h),
			       "%s: pages taken before the hole", method_names[m]) ||
		    !EXPECT_EQ(0, pin_util_info(fd, h, 0, 2, p, false), "INFO"))
			break;
		EXPECT_EQ((uintptr_t)mem + pagesize, p[1].addr, "address of the second page");
		EXPECT_EQ(-EINVAL, pin_util_info(fd, h, 2, 1, p, false), "INFO past the take");
	}
	EXPECT_EQ(MMPROBE_PIN_NR_METHODS - PUP, stat_of("pin_partial") - partial,
		  "pin_partial counted");
	EXPECT_EQ(2 * (MMPROBE_PIN_NR_METHODS - PUP), pin_util_unpin_all(fd), "released");
	close(fd);
	munmap(mem, 2 * pagesize);
}

/* pin_max_pages bounds one session, and only one. */
static void test_limit(void)
{
	char old[64], val[64];
	char *mem = map_pages(32, PROT_READ | PROT_WRITE);
	int fd = -1, fd2 = -1;
	uint64_t h, h1;

	if (!mem)
		return;
	if (!EXPECT_TRUE(util_read_file(PARAM_MAX_PAGES, old, sizeof(old)) > 0,
			 "no %s", PARAM_MAX_PAGES))
		goto unmap;
	EXPECT_EQ((256UL << 20) / pagesize, strtoul(old, NULL, 0), "default pin_max_pages");
	EXPECT_EQ(-EINVAL, util_write_file(PARAM_MAX_PAGES, "0"), "pin_max_pages=0");
	snprintf(val, sizeof(val), "%lu", (4UL << 30) / pagesize + 1);
	EXPECT_EQ(-EINVAL, util_write_file(PARAM_MAX_PAGES, val), "pin_max_pages past 4 GiB");
	EXPECT_EQ(-EINVAL, util_write_file(PARAM_MAX_PAGES, "many"), "pin_max_pages=many");
	if (!EXPECT_EQ(0, util_write_file(PARAM_MAX_PAGES, "16"), "pin_max_pages=16"))
		goto unmap;

	fd = open_session();
	fd2 = open_session();
	if (fd < 0 || fd2 < 0)
		goto restore;
	EXPECT_EQ(-ENOSPC, pin_util_take(fd, mem, 17, PUP, 0, &h), "17 pages");
	if (EXPECT_EQ(16, pin_util_take(fd, mem, 16, PUP, 0, &h1), "16 pages")) {
		EXPECT_EQ(-ENOSPC, pin_util_take(fd, mem + 16 * pagesize, 1, PUP_FAST, 0, &h),
			  "one more page");
		EXPECT_EQ(16, pin_util_take(fd2, mem + 16 * pagesize, 16, PUP, 0, &h),
			  "16 pages in another session");
		EXPECT_EQ(4, pin_util_unpin(fd, h1, 0, 4), "unpin 4");
		EXPECT_EQ(4, pin_util_take(fd, mem, 4, GUP_FAST, 0, &h), "4 pages again");
		EXPECT_EQ(-ENOSPC, pin_util_take(fd, mem, 1, GUP_FAST, 0, &h), "and one more");
	}
restore:
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	EXPECT_EQ(0, util_write_file(PARAM_MAX_PAGES, old), "pin_max_pages restored");
unmap:
	munmap(mem, 32 * pagesize);
}

/* UNPIN releases what it names, once; a take goes when its last page does. */
static void test_unpin_part(void)
{
	static const uint64_t want[8] = {
		MMPROBE_PIN_STATE_PINNED, MMPROBE_PIN_STATE_PINNED,
		MMPROBE_PIN_STATE_RELEASED, MMPROBE_PIN_STATE_RELEASED,
		MMPROBE_PIN_STATE_RELEASED, MMPROBE_PIN_STATE_RELEASED,
		MMPROBE_PIN_STATE_PINNED, MMPROBE_PIN_STATE_PINNED,
	};
	struct mmprobe_pin_page *p = pages_buf;
	char *mem = map_pages(8, PROT_READ | PROT_WRITE);
	struct pin_acct base, now;
	uint64_t h;
	int fd, i;

	fd = open_session();
	if (!both_or_neither(fd, mem, 8 * pagesize))
		return;
	acct_read(&base, 0);
	if (!EXPECT_EQ(8, pin_util_take(fd, mem, 8, PUP, RW_LT, &h), "pages taken"))
		goto out;
	EXPECT_HELD(&base, 0, 8, 0);
	EXPECT_EQ(4, pin_util_unpin(fd, h, 2, 4), "pages released");
	EXPECT_EQ(0, pin_util_unpin(fd, h, 2, 4), "pages released again");
	acct_read(&now, 0);
	EXPECT_EQ(4, now.released - base.released, "pin_released by UNPIN");
	EXPECT_EQ(4, now.held - base.held, "held_pages after UNPIN");
	EXPECT_EQ(4 * pagesize / 1024, now.vmpin_kb - base.vmpin_kb, "VmPin (kB) after UNPIN");
	EXPECT_GE(4, now.foll_released - base.foll_released,
		  "nr_foll_pin_released rise (system-wide, at least ours)");
	for (i = 0; i < 2; i++) {
		int j;

		if (!EXPECT_EQ(0, pin_util_info(fd, h, 0, 8, p, i), "INFO"))
			break;
		for (j = 0; j < 8; j++) {
			EXPECT_EQ(want[j], p[j].state, "page %d: state", j);
			/* Now, a released page is only an address. */
			if (i && want[j] == MMPROBE_PIN_STATE_RELEASED)
				EXPECT_EQ(MMPROBE_PIN_KIND_NONE, p[j].kind, "page %d: kind", j);
			else
				EXPECT_EQ(MMPROBE_PIN_KIND_ANON, p[j].kind, "page %d: kind", j);
		}
	}
	EXPECT_EQ(-EINVAL, pin_util_read(fd, h, 1, 2, read_buf), "READ of a released page");
	EXPECT_EQ(0, pin_util_read(fd, h, 6, 2, read_buf), "READ");
	EXPECT_EQ(0x11, read_buf[pagesize], "data read");
	EXPECT_EQ(4, pin_util_unpin(fd, h, 0, 8), "the rest released");
	EXPECT_EQ(-EINVAL, pin_util_info(fd, h, 0, 1, p, false), "INFO of a finished take");
out:
	close(fd);
	munmap(mem, 8 * pagesize);
}

/* References are not pins: they move no pin counter, and say so. */
static void test_refs(void)
{
	struct mmprobe_pin_page *p = pages_buf;
	char *mem = map_pages(4, PROT_READ | PROT_WRITE);
	struct pin_acct base;
	uint64_t h;
	int fd, m, i;

	fd = open_session();
	if (!both_or_neither(fd, mem, 4 * pagesize))
		return;
	acct_read(&base, 0);
	for (m = MMPROBE_PIN_METHOD_GUP; m <= GUP_FAST; m++) {
		if (!EXPECT_EQ(4, pin_util_take(fd, mem, 4, m, 0, &h), "%s", method_names[m]) ||
		    !EXPECT_EQ(0, pin_util_info(fd, h, 0, 4, p, true), "INFO"))
			break;
		for (i = 0; i < 4; i++) {
			EXPECT_EQ(MMPROBE_PIN_STATE_REF, p[i].state, "page %d: state", i);
			EXPECT_EQ(0, p[i].pinned, "page %d: pinned", i);
			EXPECT_EQ(1, p[i].exclusive, "page %d: exclusive", i);
			EXPECT_TRUE(p[i].refcount >= 2, "page %d: refcount %llu", i,
				    (unsigned long long)p[i].refcount);
		}
	}
	/* 8 references, no pin: pin_pinned did not move */
	EXPECT_HELD(&base, 0, 0, 8);
	close(fd);
	EXPECT_ALL_RELEASED(&base, 0);
	munmap(mem, 4 * pagesize);
}

/* Closing the file releases every pin, of every take and method. */
static void test_close_releases(void)
{
	char *mem = map_pages(64, PROT_READ | PROT_WRITE);
	struct pin_acct base, now;
	uint64_t h;
	int fd;

	fd = open_session();
	if (!both_or_neither(fd, mem, 64 * pagesize))
		return;
	acct_read(&base, 0);
	EXPECT_EQ(64, pin_util_take(fd, mem, 64, PUP, RW_LT, &h), "pin_user_pages");
	EXPECT_EQ(32, pin_util_take(fd, mem, 32, PUP_FAST, MMPROBE_PIN_WRITE, &h),
		  "pin_user_pages_fast");
	EXPECT_EQ(16, pin_util_take(fd, mem, 16, MMPROBE_PIN_METHOD_GUP, 0, &h),
		  "get_user_pages");
	EXPECT_HELD(&base, 0, 96, 16);
	close(fd);
	EXPECT_ALL_RELEASED(&base, 96);
	acct_read(&now, 0);
	EXPECT_EQ(112, now.released - base.released, "pin_released counted");
	munmap(mem, 64 * pagesize);
}

static int child_pin_and_sleep(struct child *c, struct child_arg *a)
{
	uint64_t h;
	int fd = pin_util_open();

	if (fd < 0 || pin_util_take(fd, a->m->mem, nr_pages(a->m), PUP, RW_LT, &h) !=
		      (long)nr_pages(a->m))
		return CHILD_ERROR;
	pipe_post(c->up[1]);
	pause();
	return CHILD_OK;
}

/* The death of the process that holds the file releases every pin. */
static void test_kill_releases(void)
{
	struct mem m = { .win = 64 * pagesize };
	struct child_arg a = { .m = &m };
	struct pin_acct base, now;
	struct child c;
	int status;

	m.mem = map_pages(64, PROT_READ | PROT_WRITE);
	acct_read(&base, 0);
	if (!m.mem || !child_start(&c, child_pin_and_sleep, &a))
		goto out;
	if (EXPECT_TRUE(pipe_wait(c.up[0]), "the child could not pin"))
		EXPECT_HELD(&base, c.pid, 64, 0);
	kill(c.pid, SIGKILL);
	close(c.up[0]);
	close(c.down[1]);
	if (EXPECT_EQ(c.pid, waitpid(c.pid, &status, 0), "waitpid"))
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			    "the child was not killed: status %#x", status);
	EXPECT_ALL_RELEASED(&base, 64);
	acct_read(&now, 0);
	EXPECT_EQ(64, now.released - base.released, "pin_released after SIGKILL");
out:
	if (m.mem)
		munmap(m.mem, 64 * pagesize);
}

static int child_no_sys_admin(struct child *c, struct child_arg *a)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	struct mmprobe_pin_page p;
	uint64_t h;
	int fd;

	if (syscall(SYS_capget, &hdr, data))
		return CHILD_ERROR;
	data[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
	if (syscall(SYS_capset, &hdr, data))
		return CHILD_ERROR;
	fd = pin_util_open();
	if (fd < 0 || pin_util_take(fd, a->m->mem, 1, PUP, 0, &h) != 1 ||
	    pin_util_info(fd, h, 0, 1, &p, false))
		return CHILD_ERROR;
	return p.pfn || p.kind != MMPROBE_PIN_KIND_ANON ? CHILD_DATA : CHILD_OK;
}

/* PFNs are for CAP_SYS_ADMIN only, as in pagemap. */
static void test_pfn_hidden(void)
{
	struct mem m = { .win = pagesize };
	struct child_arg a = { .m = &m };
	struct child c;

	m.mem = map_pages(1, PROT_READ | PROT_WRITE);
	if (m.mem && child_start(&c, child_no_sys_admin, &a))
		child_reap(&c);
	if (m.mem)
		munmap(m.mem, pagesize);
}

static const struct {
	const char *desc;
	void (*fn)(void);
} interface_tests[] = {
	{ "pin: each bad argument gets its errno", test_errnos },
	{ "pin: a take stopped by a hole is partial, not an error", test_partial },
	{ "pin: pin_max_pages bounds a session with ENOSPC", test_limit },
	{ "pin: UNPIN releases part of a take", test_unpin_part },
	{ "pin: references are not pins", test_refs },
	{ "pin: close releases every pin", test_close_releases },
	{ "pin: SIGKILL of the holder releases every pin", test_kill_releases },
	{ "pin: no pfn without CAP_SYS_ADMIN", test_pfn_hidden },
};

/* ---- running ---- */

/*
 * No page of [addr, addr + len) is pinned any more, as the kernel's own
 * pin counts say (inspect's pinned=, folio_maybe_dma_pinned()). Not for
 * the zero pages: the shared zero page is everybody's, and whether GUP pins
 * it at all changed over the kernels.
 */
static void check_unpinned(const struct mem *m, const char *addr, size_t len)
{
	struct inspect_summary s;
	long long pinned;

	if (!addr || !len || (K(m->kind) & K_ZERO) || !inspect_available())
		return;
	if (!EXPECT_EQ(0, inspect_summary(0, (uintptr_t)addr, (uintptr_t)addr + len, &s),
		       "inspect summary of the case's mapping"))
		return;
	pinned = inspect_summary_get(&s, NULL, -1, "pinned");
	EXPECT_EQ(0, pinned, "pages of the case's mapping still pinned (inspect)");
}

/*
 * Every pin of the case is gone, by this program's own evidence: see
 * pin_acct. The kernel's system-wide nr_foll_pin_released rose by at least
 * the pins taken, except on the zero pages, which GUP stopped pinning (and
 * counting) in 6.5.
 */
static void check_balance(const struct pin_acct *base, const struct mem *m)
{
	struct pin_acct now;

	/* A case of a kind: the kind's own row checks nr_foll_pin_* (run_kind()). */
	if (base->acquired < 0) {
		acct_read_own(&now, 0);
		expect_released_own(__LINE__, base, &now);
		return;
	}
	acct_read(&now, 0);
	EXPECT_ALL_RELEASED(base, m && (K(m->kind) & K_ZERO) ? -1 : now.pinned - base->pinned);
	if (!m || (K(m->kind) & K_ZERO))
		return;
	EXPECT_GE(now.pinned - base->pinned, now.acquired - base->acquired,
		  "nr_foll_pin_acquired rise (system-wide, at least ours)");
}

static void run_case(const struct test_case *tc, const struct kind *kd)
{
	struct pin_acct base;
	struct mem m;

	memset(&cur, 0, sizeof(cur));
	acct_read_own(&base, 0);
	if (mem_setup(&m, kd, tc->hugetlb_pages) && !cur.failed)
		tc->fn(&m, tc);
	check_unpinned(&m, m.map, m.map_len);
	check_unpinned(&m, m.map2, m.map2_len);
	mem_teardown(&m);
	check_balance(&base, &m);
	if (tc->method == NO_PIN)
		pin_case_result("%s ... with %s", tc->desc, kd->name);
	else
		pin_case_result("%s (%s%s) ... with %s", tc->desc, method_names[tc->method],
				tc->flags & MMPROBE_PIN_WRITE ? ", write" : "", kd->name);
}

static void add_kind(enum kind_type type, size_t thpsize)
{
	struct kind *k = &kinds[nr_kinds++];

	k->type = type;
	k->thpsize = thpsize;
	if ((K(type) & K_THP) && thpsize)
		snprintf(k->name, sizeof(k->name), "%s (%zu kB)", type_names[type], thpsize >> 10);
	else if (K(type) & K_THP)
		snprintf(k->name, sizeof(k->name), "%s (mTHP)", type_names[type]);
	else
		snprintf(k->name, sizeof(k->name), "%s", type_names[type]);
}

/*
 * Every kind of memory this kernel has, as cow.c runs them: each THP type
 * for the PMD size and for every mTHP size. A kernel without
 * THP_DIR/hugepages-*kB gets one kind of each mTHP type, whose cases skip.
 */
static void find_kinds(void)
{
	enum kind_type t;
	int i;

	add_kind(BASE, 0);
	add_kind(BASE_SWAP, 0);
	for (t = THP_PMD; t <= THP_SHARED; t++)
		add_kind(t, pmdsize);
	for (i = 0; i < (have_mthp_dirs ? nr_mthp_sizes : 1); i++)
		for (t = THP_PMD; t <= THP_SHARED; t++)
			if (K(t) & K_THP_SIZED)
				add_kind(t, have_mthp_dirs ? mthp_sizes[i] : 0);
	add_kind(HUGETLB_2M, 0);
	add_kind(HUGETLB_1G, 0);
	add_kind(ZERO, 0);
	add_kind(HUGE_ZERO, 0);
	add_kind(KSM, 0);
}

/*
 * Does the case run on memory of this type? MMPROBE_HUGETLB_1G_ALL=1 runs
 * every case of the 2 MiB hugetlb page on the 1 GiB one as well.
 */
static bool case_runs_on(const struct test_case *tc, enum kind_type type)
{
	if (type == HUGETLB_1G && hugetlb_1g_all)
		type = HUGETLB_2M;
	return tc->kinds & K(type);
}

/*
 * Enable one THP size alone, "madvise" (the mappings MADV_HUGEPAGE), as
 * cow.c does; the PMD size for the kinds that are no THP (the huge zero
 * page needs it). Nothing to do without THP_DIR/hugepages-*kB.
 */
static void thp_select(size_t size)
{
	static size_t selected;

	if (!have_mthp_dirs || !cap.thp || size == selected)
		return;
	if (behaviour_mthp_select(size))
		ksft_print_msg("cannot enable %zu kB THP alone in %s/hugepages-*kB\n",
			       size >> 10, THP_DIR);
	selected = size;
}

/*
 * Every case on one kind, its time printed as a KTAP comment; then one row
 * more: the kernel's own counters, nr_foll_pin_acquired and _released,
 * rose by at least the pins of the kind's cases (they count every
 * process's pins, and GUP does not pin the zero pages since 6.5), and
 * mmprobe's and VmPin balance. The cases check mmprobe's and VmPin each.
 */
static void run_kind(struct kind *kd)
{
	unsigned long long t0 = pin_util_now_ns();
	unsigned int i, n = 0, skipped = 0;
	struct pin_acct base, now;
	char why[sizeof(cur.skip)] = "";
	long long pins;

	thp_select(kd->thpsize && (K(kd->type) & K_THP) ? kd->thpsize : pmdsize);
	memset(&swapouts, 0, sizeof(swapouts));
	acct_read(&base, 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned long long t = pin_util_now_ns();

		if (!case_runs_on(&cases[i], kd->type))
			continue;
		run_case(&cases[i], kd);
		/* The 1 GiB page's cases take seconds each: say which. */
		if (kd->type == HUGETLB_1G)
			ksft_print_msg("the case above: %llu ms\n",
				       (pin_util_now_ns() - t) / 1000000);
		if (cur.skip[0] && !cur.failed) {
			skipped++;
			snprintf(why, sizeof(why), "%s", cur.skip);
		}
		n++;
	}
	memset(&cur, 0, sizeof(cur));
	acct_read(&now, 0);
	pins = now.pinned - base.pinned;
	expect_released_own(__LINE__, &base, &now);
	if (!(K(kd->type) & K_ZERO)) {
		EXPECT_GE(pins, now.acquired - base.acquired,
			  "nr_foll_pin_acquired rise (system-wide, at least ours)");
		EXPECT_GE(pins, now.foll_released - base.foll_released,
			  "nr_foll_pin_released rise (system-wide, at least ours)");
	}
	if (skipped == n)
		SKIP("%s", why);
	pin_case_result("%lld pins of %u cases, counted by the kernel and balanced ... with %s",
			pins, n, kd->name);
	kd->ns = pin_util_now_ns() - t0;
	ksft_print_msg("kind %s: %u cases, %llu ms\n", kd->name, n, kd->ns / 1000000);
	if (kd->type == KSM && ksm_waits.merges)
		ksft_print_msg("ksm: %u merges, %lld full scans of ksmd, %llu ms %s\n",
			       ksm_waits.merges, ksm_waits.full_scans, ksm_waits.ns / 1000000,
			       "waiting for them");
	if (swapouts.whole + swapouts.split)
		ksft_print_msg("kind %s: MADV_PAGEOUT swapped the THP out whole %u times, %s %u\n",
			       kd->name, swapouts.whole, "as base pages after a split",
			       swapouts.split);
}

/*
 * Run this process and its children on the CPU it started on. Nearly
 * every case forks, and parent and child hand over to each other through
 * pipes and wait(): on one CPU each handover is a context switch, on two a
 * wakeup of the other vCPU, which under TCG on a busy host took up to 6
 * times as long (a fork, two round trips and a wait: 22.5 and 8.5 ms on
 * two vCPUs, 3.8 and 5.8 ms on one). No case races on purpose; the kernel's
 * threads (kswapd, zram, kworkers) keep every CPU.
 */
static void run_on_one_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (cpu < 0 || sched_setaffinity(0, sizeof(set), &set))
		ksft_print_msg("running on every CPU: %s\n", strerror(errno));
	else
		ksft_print_msg("running on CPU %d\n", cpu);
}

static int read_cap(const char *text, const char *key)
{
	long long v = util_kv_get(text, key);

	if (v < 0)
		ksft_exit_fail_msg("no %s in %s/version: mmprobe too old?\n", key, MMPROBE_DIR);
	return v;
}

int main(int argc, char **argv)
{
	unsigned int i, k, plan;
	char text[4096], why[1024];
	unsigned long long t0 = pin_util_now_ns(), t1, kinds_ns = 0;

	pin_case_program_start();
	run_on_one_cpu();
	pagesize = getpagesize();
	if (util_read_file(MMPROBE_DIR "/version", text, sizeof(text)) < 0)
		ksft_exit_fail_msg("cannot read %s/version\n", MMPROBE_DIR);
	cap.thp = read_cap(text, "thp");
	/* What the kernel does, measured: vendor kernels backport. */
	cap.longterm_ro_unshare = behaviour_measure(BEHAVIOUR_LONGTERM_RO_UNSHARE, why,
						    sizeof(why));
	if (cap.longterm_ro_unshare < 0)
		ksft_exit_fail_msg("longterm_ro_unshare not measured: %s\n", why);
	ksft_print_msg("longterm_ro_unshare=%d (measured: %s)\n", cap.longterm_ro_unshare, why);
	cap.huge_zero_wp_thp = 0;
	if (cap.thp) {
		cap.huge_zero_wp_thp = behaviour_measure(BEHAVIOUR_HUGE_ZERO_WP_THP, why,
							 sizeof(why));
		ksft_print_msg("huge_zero_wp_thp=%d (measured: %s)\n", cap.huge_zero_wp_thp, why);
	}

	if (cap.thp) {
		pmdsize = util_pmd_size();
		pmd_order = pmdsize ? __builtin_ctzl(pmdsize / pagesize) : 0;
		if (pmdsize / pagesize > WIN_MAX_PAGES)
			ksft_exit_fail_msg("a PMD THP of %zu pages: a window holds %d\n",
					   pmdsize / pagesize, WIN_MAX_PAGES);
		util_setting_set(THP_DIR "/enabled", "madvise");
		cap.use_zero_page = !util_setting_set(THP_DIR "/use_zero_page", "1");
	}
	pin_util_hugetlb_reserve(kind_hsize(HUGETLB_2M), 2);
	/* Every case on the 1 GiB page: two of them, for a copy. */
	hugetlb_1g_all = getenv("MMPROBE_HUGETLB_1G_ALL") &&
			 !strcmp(getenv("MMPROBE_HUGETLB_1G_ALL"), "1");
	if (hugetlb_1g_all)
		ksft_print_msg("MMPROBE_HUGETLB_1G_ALL=1: every hugetlb case on the 1 GiB page\n");
	pin_util_hugetlb_reserve(kind_hsize(HUGETLB_1G), hugetlb_1g_all ? 2 : 1);
	signal(SIGPIPE, SIG_IGN);

	if (util_vmstat("nr_foll_pin_acquired") < 0)
		ksft_exit_fail_msg("no nr_foll_pin_acquired in /proc/vmstat\n");
	if (vmpin_kb(0) < 0)
		ksft_exit_fail_msg("no VmPin in /proc/self/status\n");

	nr_mthp_sizes = behaviour_mthp_sizes(mthp_sizes, ARRAY_SIZE(mthp_sizes));
	have_mthp_dirs = nr_mthp_sizes >= 0;
	if (nr_mthp_sizes < 0)
		nr_mthp_sizes = 0;
	find_kinds();
	ksft_print_msg("%d kinds of memory; mTHP sizes: %d%s\n", nr_kinds, nr_mthp_sizes,
		       have_mthp_dirs ? "" : " (no " THP_DIR "/hugepages-*kB)");
	plan = ARRAY_SIZE(interface_tests);
	/* every case a kind has, and the kind's own row (run_kind()) */
	for (k = 0; k < (unsigned int)nr_kinds; k++)
		for (i = 0, plan++; i < ARRAY_SIZE(cases); i++)
			plan += case_runs_on(&cases[i], kinds[k].type);
	ksft_set_plan(plan);

	for (i = 0; i < ARRAY_SIZE(interface_tests); i++) {
		struct pin_acct base;

		memset(&cur, 0, sizeof(cur));
		acct_read(&base, 0);
		interface_tests[i].fn();
		check_balance(&base, NULL);
		pin_case_result("%s", interface_tests[i].desc);
	}
	t1 = pin_util_now_ns();
	for (k = 0; k < (unsigned int)nr_kinds; k++) {
		run_kind(&kinds[k]);
		kinds_ns += kinds[k].ns;
	}
	ksft_print_msg("total: %llu ms; before the kinds %llu ms, the %d kinds %llu ms\n",
		       (pin_util_now_ns() - t0) / 1000000, (t1 - t0) / 1000000, nr_kinds,
		       kinds_ns / 1000000);
	pin_case_program_end();
	return 0;
}
