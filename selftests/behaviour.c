// SPDX-License-Identifier: GPL-2.0
/*
 * What the running kernel does, measured (behaviour.h). One experiment per
 * behaviour; each says what it did and saw as evidence.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/mempolicy.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "behaviour.h"
#include "mmprobe_util.h"
#include "pin_util.h"

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC	(1 << 15)
#endif

#define KPF_ANON	12
#define KPF(bit)	(1ULL << (bit))

const struct behaviour_info behaviour_info[NR_BEHAVIOURS] = {
	[BEHAVIOUR_HUGE_ZERO_WP_THP] = {
		.name = "huge_zero_wp_thp",
		.title = "THP on huge zero write",
		.off = "PMD split",
		.on = "THP allocated",
		.since = "6.13", .exact = true,
		.upstream = "PMD split before 6.13, THP allocated since",
		.change = "mm: allocate THP on hugezeropage wp-fault",
	},
	[BEHAVIOUR_LONGTERM_RO_UNSHARE] = {
		.name = "longterm_ro_unshare",
		.title = "R/O longterm pin unshares the zero page",
		.off = "zero page pinned",
		.on = "replaced by an exclusive page",
		.since = "6.2", .exact = true,
		.upstream = "zero page pinned before 6.2, unshared since",
		.change = "mm/gup: reliable R/O long-term pinning in COW mappings",
	},
	[BEHAVIOUR_UFFD_WP_ASYNC] = {
		.name = "uffd_wp_async",
		.title = "async uffd write-protect",
		.off = "UFFD_FEATURE_WP_ASYNC refused",
		.on = "UFFD_FEATURE_WP_ASYNC accepted",
		.since = "6.7", .exact = true,
		.upstream = "refused before 6.7, accepted since",
		.change = "userfaultfd: UFFD_FEATURE_WP_ASYNC",
	},
	[BEHAVIOUR_THP_SPLIT_ZERO_REMAP] = {
		.name = "thp_split_zero_remap",
		.title = "THP split remaps zero-filled pages",
		.off = "zero-filled subpage kept",
		.on = "zero-filled subpage remapped to the zero page",
		.since = "6.12", .exact = true,
		.upstream = "kept before 6.12, remapped since",
		.change =
		"mm: remap unused subpages to shared zeropage when splitting isolated thp",
	},
	[BEHAVIOUR_MIGRATE_SOFT_DIRTY_EXACT] = {
		.name = "migrate_soft_dirty_exact",
		.title = "migration restores soft-dirty exactly",
		.off = "soft-dirty set on a clean migrated page",
		.on = "soft-dirty kept clear",
		.since = "6.12", .exact = false,
		.upstream = "set in 6.1, kept clear by 6.12 (the release between not pinned down)",
		.change = "remove_migration_pte(): else pte = pte_clear_soft_dirty(pte)",
	},
	[BEHAVIOUR_MIGRATE_SPLIT_LARGE] = {
		.name = "migrate_split_large",
		.title = "migrate_vma splits a PTE-mapped THP",
		.off = "skipped (large)",
		.on = "split, pages migrated",
		.since = "7.3", .exact = false,
		.upstream = "skipped in 6.12, split by 7.3 (the release between not pinned down)",
		.change = "device-private THP migration (MIGRATE_PFN_COMPOUND)",
	},
};

/* What the child found: it lives in shared memory. */
struct outcome {
	int value;
	char evidence[1024];
};

static size_t pagesize;

static void note(struct outcome *o, const char *fmt, ...)
{
	size_t len = strlen(o->evidence);
	va_list ap;

	if (len && len + 2 < sizeof(o->evidence)) {
		strcpy(o->evidence + len, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	if (len + 1 < sizeof(o->evidence))
		vsnprintf(o->evidence + len, sizeof(o->evidence) - len, fmt, ap);
	va_end(ap);
}

static uint64_t pfn_of(const void *addr)
{
	return util_pagemap(addr) & PM_PFN_MASK;
}

static uint64_t flags_of(const void *addr)
{
	uint64_t pfn = pfn_of(addr);

	return pfn ? util_kpageflags(pfn) : 0;
}

/* ---- the experiments, each in the child ------------------------------ */

/*
 * Read-fault an aligned MADV_HUGEPAGE region (the huge zero page, as
 * kpageflags must confirm), write one byte in its middle, and look at the
 * region's own pages: a THP (the written page and its neighbour THP pages
 * of one folio) or a split (the written page a small anon page, its
 * neighbour the small zero page). A split while thp_fault_fallback moved
 * may be a failed THP allocation, not the kernel's choice: tried again, up
 * to three times.
 */
static int huge_zero_wp_once(struct outcome *o, size_t pmd)
{
	uint64_t fl, wr, next;
	long long fallback;
	char *mem;

	mem = util_mmap_aligned(pmd, pmd);
	if (!mem || madvise(mem, pmd, MADV_HUGEPAGE)) {
		note(o, "MADV_HUGEPAGE: %s", strerror(errno));
		return -1;
	}
	if (*(volatile char *)mem != 0) {
		note(o, "a fresh mapping reads non-zero");
		return -1;
	}
	fl = flags_of(mem);
	if ((fl & (KPF(KPF_ZERO_PAGE) | KPF(KPF_THP))) != (KPF(KPF_ZERO_PAGE) | KPF(KPF_THP))) {
		note(o, "the read fault mapped no huge zero page (kpageflags %#llx)",
		     (unsigned long long)fl);
		return -1;
	}
	fallback = util_vmstat("thp_fault_fallback");
	mem[pmd / 2] = 1;
	fallback = util_vmstat("thp_fault_fallback") - fallback;
	wr = flags_of(mem + pmd / 2);
	next = flags_of(mem + pmd / 2 + pagesize);
	note(o, "huge zero write: kpageflags %#llx, next page %#llx, AnonHugePages %lld kB",
	     (unsigned long long)wr, (unsigned long long)next,
	     util_smaps_kb(mem, "AnonHugePages"));
	if (mem[pmd / 2] != 1) {
		note(o, "wrong data after the write");
		return -1;
	}
	if ((wr & KPF(KPF_THP)) && (wr & KPF(KPF_ANON)) && (next & KPF(KPF_THP)) &&
	    !(next & KPF(KPF_ZERO_PAGE)) &&
	    pfn_of(mem + pmd / 2 + pagesize) == pfn_of(mem + pmd / 2) + 1)
		return 1;
	if (!(wr & KPF(KPF_THP)) && (wr & KPF(KPF_ANON)) && (next & KPF(KPF_ZERO_PAGE)) &&
	    !(next & KPF(KPF_THP))) {
		if (!fallback)
			return 0;
		note(o, "split, but thp_fault_fallback +%lld: a THP allocation may have failed",
		     fallback);
		return -2;
	}
	note(o, "neither a THP nor a split");
	return -1;
}

static void measure_huge_zero_wp_thp(struct outcome *o)
{
	size_t pmd = util_pmd_size();
	int i, v = -2;

	if (!pmd) {
		note(o, "no THP (%s/hpage_pmd_size)", THP_DIR);
		return;
	}
	for (i = 0; i < 3 && v == -2; i++)
		v = huge_zero_wp_once(o, pmd);
	o->value = v < 0 ? -1 : v;
}

/*
 * Pin the shared zero page (a read fault of a small-page mapping) with a
 * R/O FOLL_LONGTERM pin through mmprobe's pin file, and see in pagemap
 * whether the mapping still shows the zero page.
 */
static void measure_longterm_ro_unshare(struct outcome *o)
{
	uint64_t before, after, handle;
	char *mem;
	long ret;
	int fd;

	fd = pin_util_open();
	if (fd < 0) {
		note(o, "no pin file (%s): %s", PIN_PATH, strerror(-fd));
		return;
	}
	mem = util_mmap_small(pagesize, -1);
	if (!mem || *(volatile char *)mem) {
		note(o, "mmap");
		return;
	}
	before = pfn_of(mem);
	if (!before || !(util_kpageflags(before) & KPF(KPF_ZERO_PAGE))) {
		note(o, "a read fault did not map the zero page visibly (pfn %#llx)",
		     (unsigned long long)before);
		return;
	}
	ret = pin_util_take(fd, mem, 1, MMPROBE_PIN_METHOD_PUP, MMPROBE_PIN_LONGTERM, &handle);
	if (ret != 1) {
		note(o, "R/O longterm pin_user_pages: %s", strerror(ret < 0 ? -ret : EAGAIN));
		return;
	}
	after = pfn_of(mem);
	note(o, "R/O longterm pin of the zero page %#llx: %#llx mapped after (kpageflags %#llx)",
	     (unsigned long long)before, (unsigned long long)after,
	     (unsigned long long)util_kpageflags(after));
	if (after == before)
		o->value = 0;
	else if (after && (util_kpageflags(after) & KPF(KPF_ANON)))
		o->value = 1;
	else
		note(o, "neither the zero page nor an anon page");
	close(fd);
}

static void measure_uffd_wp_async(struct outcome *o)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC };
	int fd, ret;

	fd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (fd < 0) {
		note(o, "userfaultfd: %s", strerror(errno));
		return;
	}
	ret = ioctl(fd, UFFDIO_API, &api);
	note(o, "UFFDIO_API with UFFD_FEATURE_WP_ASYNC: %s", ret ? strerror(errno) : "accepted");
	if (!ret)
		o->value = !!(api.features & UFFD_FEATURE_WP_ASYNC);
	else if (errno == EINVAL)
		o->value = 0;
	close(fd);
}

/*
 * A THP with one zero-filled subpage, split with the kernel's own debugfs
 * split_huge_pages: is that subpage the zero page afterwards?
 */
static void measure_thp_split_zero_remap(struct outcome *o)
{
	size_t pmd = util_pmd_size();
	char cmd[96], *mem;
	int ret;

	mem = pmd ? util_mmap_aligned(pmd, pmd) : NULL;
	if (!mem || madvise(mem, pmd, MADV_HUGEPAGE)) {
		note(o, "no THP region");
		return;
	}
	memset(mem, 0x5a, pmd);
	memset(mem + pagesize, 0, pagesize);
	if (!(flags_of(mem) & KPF(KPF_THP))) {
		note(o, "no THP could be allocated");
		return;
	}
	snprintf(cmd, sizeof(cmd), "%d,%#lx,%#lx", getpid(), (unsigned long)mem,
		 (unsigned long)mem + pmd);
	ret = util_write_file("/sys/kernel/debug/split_huge_pages", cmd);
	if (ret || (flags_of(mem) & KPF(KPF_THP))) {
		note(o, "debugfs split_huge_pages did not split the THP: %s",
		     ret ? strerror(-ret) : "still a THP");
		return;
	}
	note(o, "THP split by split_huge_pages: zero-filled subpage kpageflags %#llx",
	     (unsigned long long)flags_of(mem + pagesize));
	o->value = !!(flags_of(mem + pagesize) & KPF(KPF_ZERO_PAGE));
}

static int node_of(void *addr)
{
	int status = -1;

	if (syscall(__NR_move_pages, 0, 1UL, &addr, NULL, &status, 0))
		return -1;
	return status;
}

/*
 * A page written, then cleaned by clear_refs (soft-dirty clear, the PTE
 * still dirty and now write-protected), moved to another node with
 * move_pages(2): is pagemap's soft-dirty bit still clear? (clear_refs
 * clears every soft-dirty bit of the process: this child's own.)
 */
static void measure_migrate_soft_dirty_exact(struct outcome *o)
{
	char *mem = util_mmap_small(pagesize, 0x5a);
	int node, to, status = -1;
	void *page = mem;

	if (!mem)
		return;
	node = node_of(mem);
	if (node < 0 || util_nodes_online() < 2) {
		note(o, "needs two NUMA nodes (%d online)", util_nodes_online());
		return;
	}
	to = !node;
	if (util_write_file("/proc/self/clear_refs", "4") || (util_pagemap(mem) & PM_SOFT_DIRTY)) {
		note(o, "clear_refs did not clear soft-dirty (CONFIG_MEM_SOFT_DIRTY?)");
		return;
	}
	if (syscall(__NR_move_pages, 0, 1UL, &page, &to, &status, MPOL_MF_MOVE) || status != to) {
		note(o, "move_pages to node %d: %s (status %d)", to, strerror(errno), status);
		return;
	}
	note(o, "clean page moved node %d -> %d: pagemap soft-dirty %d", node, to,
	     !!(util_pagemap(mem) & PM_SOFT_DIRTY));
	o->value = !(util_pagemap(mem) & PM_SOFT_DIRTY);
}

/*
 * A THP mapped by PTEs (MADV_DONTNEED of its last page splits the PMD, not
 * the folio); mmprobe's migrate file runs migrate_vma on its first page:
 * migrated to a small page, or skipped as large (the folio still a THP).
 */
static void measure_migrate_split_large(struct outcome *o)
{
	struct mmprobe_migrate_page pg = { 0 };
	struct mmprobe_migrate_args a = { 0 };
	size_t pmd = util_pmd_size();
	char *mem;
	int fd;

	fd = open(MMPROBE_DIR "/migrate", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		note(o, "no %s/migrate: %s", MMPROBE_DIR, strerror(errno));
		return;
	}
	mem = pmd ? util_mmap_aligned(pmd, pmd) : NULL;
	if (!mem || madvise(mem, pmd, MADV_HUGEPAGE)) {
		note(o, "no THP region");
		return;
	}
	memset(mem, 0x11, pmd);
	if (madvise(mem + pmd - pagesize, pagesize, MADV_DONTNEED) ||
	    !(flags_of(mem) & KPF(KPF_THP))) {
		note(o, "no PTE-mapped THP could be made");
		return;
	}
	a.start = (uintptr_t)mem;
	a.len = pagesize;
	a.node = node_of(mem) >= 0 && util_nodes_online() > 1 ? !node_of(mem) : 0;
	a.pages = (uintptr_t)&pg;
	if (ioctl(fd, MMPROBE_IOC_MIGRATE, &a)) {
		note(o, "MMPROBE_IOC_MIGRATE: %s", strerror(errno));
		return;
	}
	note(o, "migrate of a PTE-mapped THP's page: result %llu reason %llu, kpageflags %#llx",
	     (unsigned long long)pg.result, (unsigned long long)pg.reason,
	     (unsigned long long)flags_of(mem));
	if (mem[0] != 0x11)
		note(o, "wrong data after migration");
	else if (pg.result == MMPROBE_MIGRATE_MIGRATED && !(flags_of(mem) & KPF(KPF_THP)))
		o->value = 1;
	else if (pg.result == MMPROBE_MIGRATE_SKIPPED &&
		 pg.reason == MMPROBE_MIGRATE_REASON_LARGE && (flags_of(mem) & KPF(KPF_THP)))
		o->value = 0;
	close(fd);
}

static void (*const measure[NR_BEHAVIOURS])(struct outcome *o) = {
	[BEHAVIOUR_HUGE_ZERO_WP_THP]		= measure_huge_zero_wp_thp,
	[BEHAVIOUR_LONGTERM_RO_UNSHARE]		= measure_longterm_ro_unshare,
	[BEHAVIOUR_UFFD_WP_ASYNC]		= measure_uffd_wp_async,
	[BEHAVIOUR_THP_SPLIT_ZERO_REMAP]	= measure_thp_split_zero_remap,
	[BEHAVIOUR_MIGRATE_SOFT_DIRTY_EXACT]	= measure_migrate_soft_dirty_exact,
	[BEHAVIOUR_MIGRATE_SPLIT_LARGE]		= measure_migrate_split_large,
};

/*
 * The THP settings the experiments need, put back afterwards; khugepaged
 * must not collapse a split region back into a THP while it is looked at
 * (a zero-page PTE counts as none).
 */
static const char *const thp_knobs[][2] = {
	{ THP_DIR "/enabled", "madvise" },
	{ THP_DIR "/use_zero_page", "1" },
	{ THP_DIR "/khugepaged/max_ptes_none", "0" },
};

int behaviour_measure(enum behaviour_id id, char *evidence, size_t len)
{
	char saved[ARRAY_SIZE(thp_knobs)][64];
	struct outcome *o;
	unsigned int i;
	int status, ret;
	pid_t pid;

	if (id >= NR_BEHAVIOURS)
		return -1;
	pagesize = getpagesize();
	o = mmap(NULL, sizeof(*o), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (o == MAP_FAILED)
		return -1;
	o->value = -1;
	o->evidence[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(thp_knobs); i++)
		if (util_setting_get(thp_knobs[i][0], saved[i], sizeof(saved[i])) ||
		    util_write_file(thp_knobs[i][0], thp_knobs[i][1]))
			saved[i][0] = '\0';
	fflush(NULL);
	pid = fork();
	if (!pid) {
		measure[id](o);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		note(o, "the experiment's child %s", pid < 0 ? "could not be forked" : "died");
	for (i = 0; i < ARRAY_SIZE(thp_knobs); i++)
		if (saved[i][0])
			util_write_file(thp_knobs[i][0], saved[i]);
	if (evidence)
		snprintf(evidence, len, "%s", o->evidence);
	ret = o->value;
	munmap(o, sizeof(*o));
	return ret;
}

static int behaviour_size_cmp(const void *a, const void *b)
{
	const size_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* Every anon THP size, the PMD size's included; -1 without hugepages-*kB. */
static int behaviour_thp_sizes(size_t *sizes, int max)
{
	char path[sizeof(THP_DIR) + 256 + 16];
	bool dirs = false;
	struct dirent *e;
	unsigned long kb;
	int n = 0;
	DIR *d;

	d = opendir(THP_DIR);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (sscanf(e->d_name, "hugepages-%lukB", &kb) != 1)
			continue;
		dirs = true;
		snprintf(path, sizeof(path), THP_DIR "/%s/enabled", e->d_name);
		if (n < max && !access(path, W_OK))
			sizes[n++] = (size_t)kb << 10;
	}
	closedir(d);
	qsort(sizes, n, sizeof(*sizes), behaviour_size_cmp);
	return dirs ? n : -1;
}

int behaviour_mthp_sizes(size_t *sizes, int max)
{
	size_t all[32], pmd = util_pmd_size();
	int i, n = behaviour_thp_sizes(all, ARRAY_SIZE(all)), nr = 0;

	for (i = 0; i < n; i++)
		if (all[i] != pmd && nr < max)
			sizes[nr++] = all[i];
	return n < 0 ? -1 : nr;
}

int behaviour_mthp_select(size_t size)
{
	char path[sizeof(THP_DIR) + 64];
	size_t all[32];
	int i, n = behaviour_thp_sizes(all, ARRAY_SIZE(all)), ret = 0;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), THP_DIR "/hugepages-%zukB/enabled", all[i] >> 10);
		if (!ret)
			ret = util_setting_set(path, all[i] == size ? "madvise" : "never");
	}
	return ret;
}
