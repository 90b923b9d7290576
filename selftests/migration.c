// SPDX-License-Identifier: GPL-2.0
/*
 * migration: drive real migrations and check the migration entries the
 * kernel installs and what survives them.
 *
 * /sys/kernel/debug/mmprobe/migrate moves a range through the kernel's
 * device-migration API and reports each page's entry before, while frozen
 * (migration entries installed) and after (Documentation/migrate.rst). The
 * tests check its report against what user space sees on its own: the data,
 * /proc/self/pagemap, /proc/kpageflags, move_pages(2) node queries, a write
 * fault that tells whether a page is exclusive, and the pin file's view of a
 * pinned page. NUMA migrations through move_pages(2) and mbind(2) are
 * checked the same way.
 *
 * Where kernels differ, each test asserts what its own kernel does.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/mempolicy.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "behaviour.h"
#include "inspect_util.h"
#include "mmprobe_uapi.h"
#include "mmprobe_util.h"
#include "pin_util.h"
#include "robust_util.h"

#define MIGRATE_PATH	MMPROBE_DIR "/migrate"
#define KPF_DIRTY	4
#define KPF_THP_BIT	(1ULL << KPF_THP)
#define KPF_ZERO_BIT	(1ULL << KPF_ZERO_PAGE)
#define NR_PAGES	8

/* Race: iterations and wall-time bound, and how long each range stays frozen. */
#define RACE_ROUNDS	40
#define RACE_SECONDS	8
#define RACE_HOLD_MS	30

static size_t pagesize;

/* An observation for the log; flushed, as the harness may _exit() the test. */
#define NOTE(fmt, ...) do {						\
	ksft_print_msg(fmt, ##__VA_ARGS__);				\
	fflush(stdout);							\
} while (0)
/*
 * Does migration keep soft-dirty exact (1), or set it on every dirty page
 * it restores (0, 6.1: pte_mkdirty() sets _PAGE_SOFT_DIRTY on x86)? As
 * measured (behaviour.c: migrate_soft_dirty_exact, with the kernel's own
 * move_pages(2)) in the test's setup; -1 when it
 * could not be, and then only "soft-dirty is never lost" is asserted.
 */
static int sd_exact;

/*
 * Soft-dirty after a migration as it should be, from the bit before and
 * the PTE's dirty bit after: kept; and where migration is not exact, set
 * on a dirty page too. Unmeasured (sd_exact < 0): only never lost.
 */
static bool soft_dirty_ok(bool before, bool dirty_after, bool after)
{
	if (before || sd_exact < 0)
		return after || !before;
	return after == (!sd_exact && dirty_after);
}

/* ---- helpers ---------------------------------------------------------- */

static int migrate_call(int fd, void *addr, size_t len, int node, uint64_t flags,
			unsigned int hold_ms, struct mmprobe_migrate_page *pages,
			struct mmprobe_migrate_args *out)
{
	struct mmprobe_migrate_args a = {
		.start = (uintptr_t)addr,
		.len = len,
		.node = (uint64_t)node,
		.flags = flags,
		.hold_ms = hold_ms,
		.pages = (uintptr_t)pages,
	};

	if (ioctl(fd, MMPROBE_IOC_MIGRATE, &a))
		return -errno;
	if (out)
		*out = a;
	return 0;
}

/* The node of the page at addr (move_pages(2) without nodes), or -errno. */
static int page_node(void *addr)
{
	int status = -EINVAL;

	if (syscall(__NR_move_pages, 0, 1UL, &addr, NULL, &status, 0))
		return -errno;
	return status;
}

/* move_pages(2) every page of [mem, mem + nr pages) to node; 0 or -errno. */
static int move_all(char *mem, size_t nr, int node)
{
	void *pages[MMPROBE_MIGRATE_MAX_PAGES];
	int nodes[MMPROBE_MIGRATE_MAX_PAGES], status[MMPROBE_MIGRATE_MAX_PAGES];
	size_t i;

	for (i = 0; i < nr; i++) {
		pages[i] = mem + i * pagesize;
		nodes[i] = node;
	}
	if (syscall(__NR_move_pages, 0, nr, pages, nodes, status, MPOL_MF_MOVE))
		return -errno;
	for (i = 0; i < nr; i++)
		if (status[i] != node)
			return status[i] < 0 ? status[i] : -EAGAIN;
	return 0;
}

/* A node other than @node when there is one, else @node itself. */
static int other_node(int node)
{
	char buf[4096];
	long long nodes = 1;

	if (util_read_file(MMPROBE_DIR "/version", buf, sizeof(buf)) > 0)
		nodes = util_kv_get(buf, "nodes_online");
	return nodes > 1 ? !node : node;
}

static long long version_cap(const char *key)
{
	char buf[4096];

	if (util_read_file(MMPROBE_DIR "/version", buf, sizeof(buf)) < 0)
		return -1;
	return util_kv_get(buf, key);
}

static uint64_t pagemap_pfn(const void *addr)
{
	return util_pagemap(addr) & PM_PFN_MASK;
}

/* Never 0: a zero-filled page is something else to the kernel. */
static unsigned char pattern(size_t page, unsigned int seed)
{
	return (unsigned char)(1 + (0x5a + 13 * page + seed) % 255);
}

static void fill(char *mem, size_t first, size_t nr, unsigned int seed)
{
	size_t i;

	for (i = first; i < first + nr; i++)
		memset(mem + i * pagesize, pattern(i, seed), pagesize);
}

/* Does every byte of pages [first, first + nr) hold its pattern? */
static bool intact(const char *mem, size_t first, size_t nr, unsigned int seed)
{
	size_t i, j;

	for (i = first; i < first + nr; i++)
		for (j = 0; j < pagesize; j++)
			if ((unsigned char)mem[i * pagesize + j] != pattern(i, seed))
				return false;
	return true;
}

/*
 * Is the anon page at addr exclusive (PG_anon_exclusive)? With a second
 * reference held through vmsplice(), a write fault reuses the page only if
 * it is exclusive and copies it otherwise (the module selftest's
 * cap_anon_exclusive checks this on every kernel). mprotect() makes the
 * write fault; the range is first made read-only, then read-write.
 * Returns 1, 0, or -1 when it could not tell.
 */
static int exclusive_witness(char *addr)
{
	struct iovec iov = { .iov_base = addr, .iov_len = pagesize };
	uint64_t before, after;
	int pipefd[2];

	before = pagemap_pfn(addr);
	if (!before || pipe(pipefd))
		return -1;
	if (vmsplice(pipefd[1], &iov, 1, 0) != (ssize_t)pagesize ||
	    mprotect(addr, pagesize, PROT_READ) ||
	    mprotect(addr, pagesize, PROT_READ | PROT_WRITE)) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	*(volatile char *)addr = *(volatile char *)addr;
	after = pagemap_pfn(addr);
	close(pipefd[0]);
	close(pipefd[1]);
	return before == after;
}

/* Clear the soft-dirty bits of this process ("4" to clear_refs). */
static int clear_soft_dirty(void)
{
	return util_write_file("/proc/self/clear_refs", "4");
}

/*
 * Register [addr, addr + len) for userfaultfd write-protect and protect
 * [wp, wp + wplen). Returns the uffd (keep it open) or -errno.
 */
static int uffd_wp(void *addr, size_t len, void *wp, size_t wplen)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect prot = {
		.range = { .start = (uintptr_t)wp, .len = wplen },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};
	int fd, err;

	fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg) ||
	    ioctl(fd, UFFDIO_WRITEPROTECT, &prot)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static const char *const mode_names[] = {
	"none", "read", "read_exclusive", "write",
};

static const char *const reason_names[] = {
	"none", "hole", "zero", "not_present", "large", "pinned", "busy",
	"aborted", "nomem", "refused",
};

static const char *mode_name(uint64_t mode)
{
	return mode < 4 ? mode_names[mode] : "?";
}

static const char *reason_name(uint64_t reason)
{
	return reason < ARRAY_SIZE(reason_names) ? reason_names[reason] : "?";
}

static void pte_str(char *buf, size_t size, const struct mmprobe_migrate_pte *s)
{
	static const char *const names[] = {
		"present", "pmd", "migration", "swap", "write", "entry_excl",
		"dirty", "young", "soft_dirty", "uffd_wp", NULL, NULL, NULL, NULL,
		NULL, NULL, "anon", "exclusive", "folio_dirty", "locked", "pinned",
		"large", "zero",
	};
	size_t n = 0, i;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i] && (s->flags & (1ULL << i)))
			n += snprintf(buf + n, size - n, "%s ", names[i]);
	snprintf(buf + n, size - n, "pfn=0x%llx node=%lld ref=%llu map=%llu",
		 (unsigned long long)s->pfn, (long long)s->node,
		 (unsigned long long)s->refcount, (unsigned long long)s->mapcount);
}

/* One page's report, for failure messages. */
#define LOG_PAGE(p) do {						\
	const struct mmprobe_migrate_page *_lp = (p);			\
	char _b[256], _f[256], _a[256];					\
	pte_str(_b, sizeof(_b), &_lp->before);				\
	pte_str(_f, sizeof(_f), &_lp->frozen);				\
	pte_str(_a, sizeof(_a), &_lp->after);				\
	TH_LOG("0x%llx mode=%s result=%llu reason=%s src=0x%llx\n"	\
	       "  before: %s\n  frozen: %s\n  after:  %s",		\
	       (unsigned long long)_lp->addr, mode_name(_lp->mode),	\
	       (unsigned long long)_lp->result, reason_name(_lp->reason),	\
	       (unsigned long long)_lp->src, _b, _f, _a);		\
} while (0)

#define HAS(s, bit)	(!!((s).flags & MMPROBE_MIGRATE_##bit))

/*
 * The entry the kernel must install, derived from the entry before setup
 * (migrate_vma_collect_pmd()): writable for a writable PTE, read-exclusive
 * for a read-only exclusive anon page, read otherwise.
 */
static uint64_t expected_mode(const struct mmprobe_migrate_page *p)
{
	if (HAS(p->before, PTE_WRITE))
		return MMPROBE_MIGRATE_MODE_WRITE;
	if (HAS(p->before, PAGE_EXCLUSIVE))
		return MMPROBE_MIGRATE_MODE_READ_EXCLUSIVE;
	return MMPROBE_MIGRATE_MODE_READ;
}

/*
 * Does this kernel keep the accessed and dirty bits in migration entries
 * (migration_entry_supports_ad(): x86-64 does, unless an L1TF mitigation
 * limits the swap offset)? The entry's young bit tells, independently of
 * its dirty bit: a young PTE frozen into a young entry.
 */
static bool entry_keeps_ad(const struct mmprobe_migrate_page *p)
{
	return HAS(p->before, PTE_YOUNG) && HAS(p->frozen, PTE_YOUNG);
}

/*
 * What holds for every page migrated to @node: the entry setup installed
 * and what it carried, and a new page on @node that this process maps, as
 * pagemap and move_pages(2) see it.
 */
static void check_migrated(struct __test_metadata *_metadata,
			   const struct mmprobe_migrate_page *p, int node)
{
	const void *addr = (const void *)(uintptr_t)p->addr;
	bool exclusive = HAS(p->before, PAGE_EXCLUSIVE);

	ASSERT_EQ(MMPROBE_MIGRATE_MIGRATED, p->result) LOG_PAGE(p);
	ASSERT_EQ(expected_mode(p), p->mode) LOG_PAGE(p);
	/* Frozen: a migration entry, the folio locked and unmapped. */
	ASSERT_TRUE(HAS(p->frozen, PTE_MIGRATION)) LOG_PAGE(p);
	ASSERT_TRUE(HAS(p->frozen, PAGE_LOCKED)) LOG_PAGE(p);
	ASSERT_EQ(0, p->frozen.mapcount) LOG_PAGE(p);
	ASSERT_EQ(p->before.pfn, p->frozen.pfn) LOG_PAGE(p);
	/* The PTE dirty bit reached the folio before the PTE went away ... */
	if (HAS(p->before, PTE_DIRTY))
		ASSERT_TRUE(HAS(p->frozen, PAGE_DIRTY)) LOG_PAGE(p);
	/* ... and the migration entry itself, where entries keep A/D bits. */
	if (HAS(p->before, PTE_DIRTY) && entry_keeps_ad(p))
		ASSERT_TRUE(HAS(p->frozen, PTE_DIRTY)) LOG_PAGE(p);
	/*
	 * Soft-dirty and uffd-wp ride in the entry, and come back; where
	 * restoring the dirty bit sets soft-dirty too (6.1), a dirty page
	 * comes back soft-dirty whatever it was.
	 */
	ASSERT_EQ(HAS(p->before, PTE_SOFT_DIRTY), HAS(p->frozen, PTE_SOFT_DIRTY)) LOG_PAGE(p);
	ASSERT_TRUE(soft_dirty_ok(HAS(p->before, PTE_SOFT_DIRTY), HAS(p->after, PTE_DIRTY),
				  HAS(p->after, PTE_SOFT_DIRTY))) LOG_PAGE(p);
	ASSERT_EQ(HAS(p->before, PTE_UFFD_WP), HAS(p->frozen, PTE_UFFD_WP)) LOG_PAGE(p);
	ASSERT_EQ(HAS(p->before, PTE_UFFD_WP), HAS(p->after, PTE_UFFD_WP)) LOG_PAGE(p);
	/* The entry's dirty bit comes back as the PTE's; write as it was. */
	ASSERT_EQ(HAS(p->frozen, PTE_DIRTY), HAS(p->after, PTE_DIRTY)) LOG_PAGE(p);
	ASSERT_EQ(HAS(p->before, PTE_WRITE), HAS(p->after, PTE_WRITE)) LOG_PAGE(p);
	/* Exclusive in, exclusive out (read-exclusive and writable entries). */
	ASSERT_EQ(exclusive, HAS(p->after, PAGE_EXCLUSIVE)) LOG_PAGE(p);
	/* A new page, on the node asked for, mapped here. */
	ASSERT_TRUE(HAS(p->after, PTE_PRESENT)) LOG_PAGE(p);
	ASSERT_NE(p->before.pfn, p->after.pfn) LOG_PAGE(p);
	ASSERT_EQ((uint64_t)node, p->after.node) LOG_PAGE(p);
	ASSERT_EQ(p->after.pfn, pagemap_pfn(addr)) LOG_PAGE(p);
	ASSERT_EQ(node, page_node((void *)addr)) LOG_PAGE(p);
	ASSERT_EQ(HAS(p->after, PTE_SOFT_DIRTY), !!(util_pagemap(addr) & PM_SOFT_DIRTY));
	ASSERT_EQ(HAS(p->after, PTE_UFFD_WP), !!(util_pagemap(addr) & PM_UFFD_WP));
	/* kpageflags sees the folio's dirty flag on the new page. */
	ASSERT_EQ(HAS(p->after, PAGE_DIRTY),
		  !!(util_kpageflags(p->after.pfn) & (1ULL << KPF_DIRTY))) LOG_PAGE(p);
}

/*
 * A page of a PTE-mapped large folio after migrate_vma to node: split and
 * migrated when the kernel splits (migrate_split_large), else skipped as
 * large, still in place in a THP.
 */
static void check_large_page(struct __test_metadata *_metadata,
			     const struct mmprobe_migrate_page *p, int split, int node)
{
	ASSERT_TRUE(HAS(p->before, PAGE_LARGE) && !HAS(p->before, PTE_PMD)) LOG_PAGE(p);
	if (split) {
		check_migrated(_metadata, p, node);
		ASSERT_FALSE(HAS(p->after, PAGE_LARGE)) LOG_PAGE(p);
	} else {
		ASSERT_EQ(MMPROBE_MIGRATE_SKIPPED, p->result) LOG_PAGE(p);
		ASSERT_EQ(MMPROBE_MIGRATE_REASON_LARGE, p->reason) LOG_PAGE(p);
		ASSERT_EQ(p->before.pfn, p->after.pfn) LOG_PAGE(p);
		ASSERT_TRUE(util_kpageflags(p->after.pfn) & KPF_THP_BIT);
	}
}

/* ---- fixture ---------------------------------------------------------- */

FIXTURE(migration) {
	int fd;
	char *mem;
	size_t len;
	struct mmprobe_migrate_page rep[MMPROBE_MIGRATE_MAX_PAGES];
};

/* The fixture data, as the helpers below take it */
#define MIGRATION_DATA FIXTURE_DATA(migration)

FIXTURE_SETUP(migration)
{
	pagesize = getpagesize();
	self->mem = NULL;
	self->fd = open(MIGRATE_PATH, O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		UTIL_SKIP(return, "%s: %s (load mmprobe)", MIGRATE_PATH, strerror(errno));
	if (!(util_pagemap(&self->fd) & PM_PFN_MASK))
		UTIL_SKIP(return, "pagemap shows no PFNs (needs CAP_SYS_ADMIN)");
	sd_exact = behaviour_measure(BEHAVIOUR_MIGRATE_SOFT_DIRTY_EXACT, NULL, 0);
	if (sd_exact < 0)
		NOTE("soft-dirty after move_pages(2) not measured: only 'never lost' is checked\n");
}

FIXTURE_TEARDOWN(migration)
{
	if (self->mem)
		munmap(self->mem, self->len);
	if (self->fd >= 0)
		close(self->fd);
	util_settings_restore();
}

/* Map NR_PAGES of private anon memory into self->mem, filled. */
static char *setup_anon(MIGRATION_DATA *self, size_t nr)
{
	self->len = nr * pagesize;
	self->mem = util_mmap_small(self->len, -1);
	if (self->mem)
		fill(self->mem, 0, nr, 0);
	return self->mem;
}

/*
 * Migrate the nr pages at self->mem to the other node of the first one:
 * every page must migrate, through an entry of mode[i], and pass
 * check_migrated(). Returns the node.
 */
static int migrate_checked(struct __test_metadata *_metadata,
			   MIGRATION_DATA *self, size_t nr, const uint64_t *mode)
{
	struct mmprobe_migrate_args a;
	int to = other_node(page_node(self->mem));
	size_t i;

	ASSERT_EQ(0, migrate_call(self->fd, self->mem, nr * pagesize, to, 0, 0, self->rep, &a));
	ASSERT_EQ(nr, a.nr_frozen);
	ASSERT_EQ(nr, a.nr_migrated);
	for (i = 0; i < nr; i++) {
		ASSERT_EQ((uintptr_t)self->mem + i * pagesize, self->rep[i].addr);
		ASSERT_EQ(mode[i], self->rep[i].mode) LOG_PAGE(&self->rep[i]);
		check_migrated(_metadata, &self->rep[i], to);
	}
	return to;
}

/* ---- entry modes ------------------------------------------------------ */

/*
 * Exclusive anon pages, just written: a writable migration entry (the PTE
 * was writable), the dirty bit moved to the folio, a new exclusive, dirty,
 * writable page on the other node with the same data.
 */
TEST_F(migration, exclusive_write)
{
	uint64_t mode[NR_PAGES];
	int from[NR_PAGES], i;

	ASSERT_NE(NULL, setup_anon(self, NR_PAGES));
	for (i = 0; i < NR_PAGES; i++) {
		from[i] = page_node(self->mem + i * pagesize);
		mode[i] = MMPROBE_MIGRATE_MODE_WRITE;
	}
	migrate_checked(_metadata, self, NR_PAGES, mode);
	for (i = 0; i < NR_PAGES; i++) {
		struct mmprobe_migrate_page *p = &self->rep[i];

		ASSERT_EQ((uint64_t)from[i], p->before.node);
		ASSERT_TRUE(HAS(p->before, PTE_WRITE) && HAS(p->before, PTE_DIRTY) &&
			    HAS(p->before, PAGE_ANON) && HAS(p->before, PAGE_EXCLUSIVE))
			LOG_PAGE(p);
		ASSERT_EQ(MMPROBE_MIGRATE_SRC_PAGE | MMPROBE_MIGRATE_SRC_MIGRATE |
			  MMPROBE_MIGRATE_SRC_WRITE | MMPROBE_MIGRATE_SRC_DST |
			  MMPROBE_MIGRATE_SRC_PAGES_MIGRATE, p->src) LOG_PAGE(p);
		ASSERT_TRUE(HAS(p->after, PAGE_DIRTY)) LOG_PAGE(p);
	}
	NOTE("exclusive_write: mode=%s\n", mode_name(self->rep[0].mode));
	ASSERT_TRUE(intact(self->mem, 0, NR_PAGES, 0));
	ASSERT_EQ(1, exclusive_witness(self->mem));
}

/*
 * Exclusive anon pages made read-only with mprotect(): the PTE is not
 * writable, so the entry is read-exclusive, and the new page comes back
 * exclusive (and read-only) instead of shared.
 */
TEST_F(migration, exclusive_readonly)
{
	uint64_t mode[NR_PAGES];
	int i;

	ASSERT_NE(NULL, setup_anon(self, NR_PAGES));
	ASSERT_EQ(0, mprotect(self->mem, self->len, PROT_READ));
	for (i = 0; i < NR_PAGES; i++)
		mode[i] = MMPROBE_MIGRATE_MODE_READ_EXCLUSIVE;
	migrate_checked(_metadata, self, NR_PAGES, mode);
	for (i = 0; i < NR_PAGES; i++) {
		struct mmprobe_migrate_page *p = &self->rep[i];

		ASSERT_TRUE(!HAS(p->before, PTE_WRITE) && HAS(p->before, PAGE_EXCLUSIVE))
			LOG_PAGE(p);
		ASSERT_TRUE(HAS(p->frozen, PTE_EXCLUSIVE) && !HAS(p->frozen, PTE_WRITE))
			LOG_PAGE(p);
	}
	NOTE("exclusive_readonly: mode=%s\n", mode_name(self->rep[0].mode));
	ASSERT_TRUE(intact(self->mem, 0, NR_PAGES, 0));
	ASSERT_EQ(1, exclusive_witness(self->mem));
}

/*
 * Pages shared with a child after fork(): neither writable nor exclusive,
 * so a read entry; the kernel unmaps the child's PTEs too, and after
 * finalize both processes map the one new page, still shared.
 */
TEST_F(migration, shared_after_fork)
{
	uint64_t mode[NR_PAGES];
	int ctl[2], status, i;
	pid_t pid;
	char c;

	ASSERT_NE(NULL, setup_anon(self, NR_PAGES));
	ASSERT_EQ(0, pipe(ctl));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(ctl[1]);
		if (read(ctl[0], &c, 1) != 1)
			_exit(2);
		_exit(intact(self->mem, 0, NR_PAGES, 0) ? 0 : 1);
	}
	close(ctl[0]);
	for (i = 0; i < NR_PAGES; i++)
		mode[i] = MMPROBE_MIGRATE_MODE_READ;
	migrate_checked(_metadata, self, NR_PAGES, mode);
	for (i = 0; i < NR_PAGES; i++) {
		struct mmprobe_migrate_page *p = &self->rep[i];
		const void *addr = self->mem + i * pagesize;

		ASSERT_FALSE(HAS(p->before, PAGE_EXCLUSIVE) || HAS(p->frozen, PTE_EXCLUSIVE))
			LOG_PAGE(p);
		ASSERT_EQ(2, p->before.mapcount) LOG_PAGE(p);
		ASSERT_EQ(2, p->after.mapcount) LOG_PAGE(p);
		/* The child's PTE moved to the new page too. */
		ASSERT_EQ(p->after.pfn, util_pagemap_pid(pid, addr) & PM_PFN_MASK) LOG_PAGE(p);
	}
	NOTE("shared_after_fork: mode=%s\n", mode_name(self->rep[0].mode));
	ASSERT_EQ(1, write(ctl[1], "x", 1));
	close(ctl[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	ASSERT_TRUE(intact(self->mem, 0, NR_PAGES, 0));
}

/*
 * Soft-dirty: after clear_refs, pages written again are soft-dirty (and
 * writable), pages left alone are clean and write-protected (so their entry
 * is read-exclusive). Both states survive the entry and the new page, as
 * pagemap bit 55 shows before and after, but for what 6.1 adds (see
 * check_migrated()).
 */
TEST_F(migration, soft_dirty)
{
	uint64_t mode[NR_PAGES];
	bool sd[NR_PAGES];
	int i;

	ASSERT_NE(NULL, setup_anon(self, NR_PAGES));
	/* A new VMA is VM_SOFTDIRTY where the kernel has soft-dirty at all. */
	if (!util_vma_flag(self->mem, "sd"))
		UTIL_SKIP(return,
			  "no soft-dirty: a new VMA lacks VmFlags sd (no CONFIG_MEM_SOFT_DIRTY; arm64 has none)");
	if (clear_soft_dirty())
		UTIL_SKIP(return, "cannot write /proc/self/clear_refs (no CONFIG_MEM_SOFT_DIRTY?)");
	fill(self->mem, 0, NR_PAGES / 2, 0);
	for (i = 0; i < NR_PAGES; i++) {
		sd[i] = util_pagemap(self->mem + i * pagesize) & PM_SOFT_DIRTY;
		ASSERT_EQ(i < NR_PAGES / 2, sd[i]);
		mode[i] = sd[i] ? MMPROBE_MIGRATE_MODE_WRITE : MMPROBE_MIGRATE_MODE_READ_EXCLUSIVE;
	}
	migrate_checked(_metadata, self, NR_PAGES, mode);
	for (i = 0; i < NR_PAGES; i++) {
		ASSERT_EQ(sd[i], HAS(self->rep[i].before, PTE_SOFT_DIRTY)) LOG_PAGE(&self->rep[i]);
		/* The clean pages' PTEs are dirty: written before clear_refs. */
		ASSERT_TRUE(soft_dirty_ok(sd[i], true, util_pagemap(self->mem + i * pagesize) &
					  PM_SOFT_DIRTY)) TH_LOG("page %d", i);
	}
	NOTE("soft_dirty: clean pages come back %s (move_pages(2) measured: %d)\n",
	     util_pagemap(self->mem + (NR_PAGES - 1) * pagesize) & PM_SOFT_DIRTY ?
	     "soft-dirty" : "clean", sd_exact);
	ASSERT_TRUE(intact(self->mem, 0, NR_PAGES, 0));
}

/*
 * userfaultfd write-protect: the uffd-wp bit rides in the migration entry
 * (a read-exclusive one: the PTE is write-protected) and comes back on the
 * new page (pagemap bit 57); unprotected pages stay writable.
 */
TEST_F(migration, uffd_wp)
{
	uint64_t mode[NR_PAGES];
	int uffd, i;

	ASSERT_NE(NULL, setup_anon(self, NR_PAGES));
	uffd = uffd_wp(self->mem, self->len, self->mem, self->len / 2);
	if (uffd < 0)
		UTIL_SKIP(return, "userfaultfd write-protect: %s", strerror(-uffd));
	for (i = 0; i < NR_PAGES; i++) {
		ASSERT_EQ(i < NR_PAGES / 2,
			  !!(util_pagemap(self->mem + i * pagesize) & PM_UFFD_WP));
		mode[i] = i < NR_PAGES / 2 ? MMPROBE_MIGRATE_MODE_READ_EXCLUSIVE :
			  MMPROBE_MIGRATE_MODE_WRITE;
	}
	migrate_checked(_metadata, self, NR_PAGES, mode);
	for (i = 0; i < NR_PAGES; i++)
		ASSERT_EQ(i < NR_PAGES / 2, HAS(self->rep[i].before, PTE_UFFD_WP))
			LOG_PAGE(&self->rep[i]);
	NOTE("uffd_wp: mode=%s\n", mode_name(self->rep[0].mode));
	close(uffd);
	ASSERT_TRUE(intact(self->mem, 0, NR_PAGES, 0));
}

/*
 * The abort variant: the same entries are installed, then every page is
 * given back; nothing moves. Pages 0-3 are written (dirty PTEs), pages 4-7,
 * where swap is on, swapped out and read back in: clean PTEs, read-only on
 * 6.1, writable on 6.12 and 7.3 (the read fault maps an exclusive page
 * writable; measured).
 * A dirty PTE must come back dirty: the original migrate_vma bug lost the
 * dirty bit on this path, and with it the data once reclaim dropped the
 * "clean" page. The entry's dirty bit comes back as the PTE's, so a clean
 * PTE comes back clean.
 */
TEST_F(migration, abort_restores)
{
	const size_t nr_dirty = NR_PAGES / 2;
	struct mmprobe_migrate_args a;
	uint64_t pfn[NR_PAGES];
	size_t i, nr_clean = 0;
	int from;

	ASSERT_NE(NULL, setup_anon(self, NR_PAGES));
	if (util_swap_enabled()) {
		char *clean = self->mem + nr_dirty * pagesize;

		nr_clean = NR_PAGES - nr_dirty;
		ASSERT_EQ(0, madvise(clean, nr_clean * pagesize, MADV_PAGEOUT));
		for (i = 0; i < nr_clean; i++)
			ASSERT_TRUE(util_pagemap(clean + i * pagesize) & PM_SWAP)
				TH_LOG("MADV_PAGEOUT left page %zu in memory, with swap on",
				       nr_dirty + i);
		ASSERT_TRUE(intact(self->mem, nr_dirty, nr_clean, 0));
	}
	for (i = 0; i < NR_PAGES; i++)
		pfn[i] = pagemap_pfn(self->mem + i * pagesize);
	from = page_node(self->mem);
	ASSERT_EQ(0, migrate_call(self->fd, self->mem, self->len, other_node(from),
				  MMPROBE_MIGRATE_ABORT, 0, self->rep, &a));
	EXPECT_EQ(NR_PAGES, a.nr_frozen);
	EXPECT_EQ(0, a.nr_migrated);
	for (i = 0; i < NR_PAGES; i++) {
		struct mmprobe_migrate_page *p = &self->rep[i];
		bool dirty = i < nr_dirty || !nr_clean;

		ASSERT_EQ(MMPROBE_MIGRATE_RESTORED, p->result) LOG_PAGE(p);
		ASSERT_EQ(MMPROBE_MIGRATE_REASON_ABORTED, p->reason) LOG_PAGE(p);
		ASSERT_EQ(expected_mode(p), p->mode) LOG_PAGE(p);
		ASSERT_EQ(dirty, HAS(p->before, PTE_DIRTY)) LOG_PAGE(p);
		ASSERT_TRUE(HAS(p->frozen, PTE_MIGRATION)) LOG_PAGE(p);
		ASSERT_FALSE(p->src & MMPROBE_MIGRATE_SRC_DST) LOG_PAGE(p);
		ASSERT_EQ(pfn[i], p->after.pfn) LOG_PAGE(p);
		ASSERT_EQ(pfn[i], pagemap_pfn(self->mem + i * pagesize));
		ASSERT_EQ(p->before.node, p->after.node) LOG_PAGE(p);
		ASSERT_EQ(HAS(p->before, PTE_WRITE), HAS(p->after, PTE_WRITE)) LOG_PAGE(p);
		ASSERT_TRUE(HAS(p->after, PAGE_EXCLUSIVE)) LOG_PAGE(p);
		/* The dirty bit: in the folio, in the entry, back in the PTE. */
		if (dirty) {
			ASSERT_TRUE(HAS(p->frozen, PAGE_DIRTY)) LOG_PAGE(p);
			if (entry_keeps_ad(p))
				ASSERT_TRUE(HAS(p->frozen, PTE_DIRTY)) LOG_PAGE(p);
			ASSERT_TRUE(HAS(p->after, PTE_DIRTY) || HAS(p->after, PAGE_DIRTY))
				LOG_PAGE(p);
			ASSERT_TRUE(util_kpageflags(pfn[i]) & (1ULL << KPF_DIRTY) ||
				    HAS(p->after, PTE_DIRTY)) LOG_PAGE(p);
		} else {
			ASSERT_FALSE(HAS(p->frozen, PTE_DIRTY)) LOG_PAGE(p);
		}
		if (entry_keeps_ad(p))
			ASSERT_EQ(HAS(p->frozen, PTE_DIRTY), HAS(p->after, PTE_DIRTY))
				LOG_PAGE(p);
	}
	NOTE("abort_restores: entries %s A/D bits; a dirty PTE comes back %s, a clean one %s\n",
	     entry_keeps_ad(&self->rep[0]) ? "keep" : "do not keep",
	     HAS(self->rep[0].after, PTE_DIRTY) ? "dirty" : "clean",
	     !nr_clean ? "(no swap: not measured)" :
	     HAS(self->rep[NR_PAGES - 1].after, PTE_DIRTY) ? "dirty" : "clean");
	ASSERT_TRUE(intact(self->mem, 0, NR_PAGES, 0));
	ASSERT_EQ(1, exclusive_witness(self->mem));
}

/* ---- pages setup leaves alone ----------------------------------------- */

/*
 * A hole and the zero page are collected (MIGRATE_PFN_MIGRATE without a
 * page, for a driver to populate); the probe gives them no page, so they
 * stay as they were. A written page next to them migrates.
 */
TEST_F(migration, hole_and_zero)
{
	struct mmprobe_migrate_args a;
	volatile char c;
	int to;

	self->len = 3 * pagesize;
	self->mem = util_mmap_small(self->len, -1);
	ASSERT_NE(NULL, self->mem);
	c = self->mem[pagesize];		/* page 1: the zero page */
	(void)c;
	fill(self->mem, 2, 1, 0);		/* page 2: written */
	ASSERT_EQ(0, util_pagemap(self->mem) & PM_PRESENT);
	ASSERT_TRUE(util_kpageflags(pagemap_pfn(self->mem + pagesize)) & KPF_ZERO_BIT);
	to = other_node(page_node(self->mem + 2 * pagesize));
	ASSERT_EQ(0, migrate_call(self->fd, self->mem, self->len, to, 0, 0, self->rep, &a));
	EXPECT_EQ(1, a.nr_migrated);

	ASSERT_EQ(MMPROBE_MIGRATE_SKIPPED, self->rep[0].result) LOG_PAGE(&self->rep[0]);
	ASSERT_EQ(MMPROBE_MIGRATE_REASON_HOLE, self->rep[0].reason) LOG_PAGE(&self->rep[0]);
	ASSERT_EQ(MMPROBE_MIGRATE_SRC_MIGRATE, self->rep[0].src) LOG_PAGE(&self->rep[0]);
	ASSERT_EQ(0, self->rep[0].after.flags) LOG_PAGE(&self->rep[0]);

	ASSERT_EQ(MMPROBE_MIGRATE_SKIPPED, self->rep[1].result) LOG_PAGE(&self->rep[1]);
	ASSERT_EQ(MMPROBE_MIGRATE_REASON_ZERO, self->rep[1].reason) LOG_PAGE(&self->rep[1]);
	ASSERT_EQ(MMPROBE_MIGRATE_SRC_MIGRATE, self->rep[1].src) LOG_PAGE(&self->rep[1]);
	ASSERT_TRUE(HAS(self->rep[1].after, PAGE_ZERO)) LOG_PAGE(&self->rep[1]);
	ASSERT_EQ(pagemap_pfn(self->mem + pagesize), self->rep[1].after.pfn);

	check_migrated(_metadata, &self->rep[2], to);
	ASSERT_EQ(0, util_pagemap(self->mem) & PM_PRESENT);
	ASSERT_TRUE(intact(self->mem, 2, 1, 0));
}

/* A swapped-out page has a swap entry, not a page: setup skips it. */
TEST_F(migration, swapped_skipped)
{
	struct mmprobe_migrate_args a;
	struct mmprobe_migrate_page *p = &self->rep[0];

	ASSERT_NE(NULL, setup_anon(self, 1));
	if (!util_swap_enabled())
		UTIL_SKIP(return, "no swap in /proc/swaps (swapon a device; the VM has zram)");
	ASSERT_EQ(0, madvise(self->mem, pagesize, MADV_PAGEOUT));
	ASSERT_TRUE(util_pagemap(self->mem) & PM_SWAP)
		TH_LOG("MADV_PAGEOUT did not swap the page out, with swap on");
	ASSERT_EQ(0, migrate_call(self->fd, self->mem, pagesize,
				  other_node(0), 0, 0, self->rep, &a));
	ASSERT_EQ(0, a.nr_frozen);
	ASSERT_EQ(MMPROBE_MIGRATE_SKIPPED, p->result) LOG_PAGE(p);
	ASSERT_EQ(MMPROBE_MIGRATE_REASON_NOT_PRESENT, p->reason) LOG_PAGE(p);
	ASSERT_TRUE(HAS(p->before, PTE_SWAP)) LOG_PAGE(p);
	/* The swap PTE keeps the page's exclusive bit where the kernel has one. */
	ASSERT_EQ(version_cap("build.swp_exclusive") == 1,
		  HAS(p->before, PTE_EXCLUSIVE)) LOG_PAGE(p);
	ASSERT_EQ(p->before.flags, p->after.flags) LOG_PAGE(p);
	ASSERT_TRUE(intact(self->mem, 0, 1, 0));
}

/*
 * A FOLL_PIN | FOLL_LONGTERM pin (pin_user_pages_fast() through the pin
 * file): setup cannot unshare the exclusive page (the folio may be pinned,
 * so folio_try_share_anon_rmap_pte() refuses), so it never freezes it; the
 * pin and the page stay as they were, and what the pin sees is what the
 * process sees. Once unpinned, the same pages migrate.
 */
TEST_F(migration, pinned_stay)
{
	struct mmprobe_pin_page info[NR_PAGES];
	struct mmprobe_migrate_page *p;
	struct mmprobe_migrate_args a;
	int pin, to, i;
	uint64_t handle;
	char *buf;

	ASSERT_NE(NULL, setup_anon(self, NR_PAGES));
	buf = malloc(self->len);	/* freed with the test's process */
	ASSERT_NE(NULL, buf);
	pin = pin_util_open();
	ASSERT_LE(0, pin) TH_LOG("%s: %s", PIN_PATH, strerror(-pin));
	ASSERT_EQ(NR_PAGES, pin_util_take(pin, self->mem, NR_PAGES, MMPROBE_PIN_METHOD_PUP_FAST,
					  MMPROBE_PIN_WRITE | MMPROBE_PIN_LONGTERM, &handle));
	to = other_node(page_node(self->mem));
	ASSERT_EQ(0, migrate_call(self->fd, self->mem, self->len, to, 0, 0, self->rep, &a));
	EXPECT_EQ(0, a.nr_frozen);
	ASSERT_EQ(0, pin_util_info(pin, handle, 0, NR_PAGES, info, true));
	for (i = 0; i < NR_PAGES; i++) {
		p = &self->rep[i];
		ASSERT_EQ(MMPROBE_MIGRATE_SKIPPED, p->result) LOG_PAGE(p);
		ASSERT_EQ(MMPROBE_MIGRATE_REASON_PINNED, p->reason) LOG_PAGE(p);
		ASSERT_EQ(MMPROBE_MIGRATE_MODE_NONE, p->mode) LOG_PAGE(p);
		ASSERT_TRUE(HAS(p->before, PAGE_PINNED)) LOG_PAGE(p);
		ASSERT_EQ(p->before.pfn, p->after.pfn) LOG_PAGE(p);
		ASSERT_EQ(p->before.flags & ~(uint64_t)MMPROBE_MIGRATE_PTE_YOUNG,
			  p->after.flags & ~(uint64_t)MMPROBE_MIGRATE_PTE_YOUNG) LOG_PAGE(p);
		ASSERT_EQ(p->before.pfn, pagemap_pfn(self->mem + i * pagesize));
		/* The pin holds the page that is still mapped. */
		ASSERT_EQ(p->after.pfn, info[i].pfn) LOG_PAGE(p);
		ASSERT_EQ(1, info[i].exclusive) LOG_PAGE(p);
	}
	ASSERT_TRUE(intact(self->mem, 0, NR_PAGES, 0));
	/* New data written through the mapping shows through the pin. */
	fill(self->mem, 0, NR_PAGES, 1);
	ASSERT_EQ(0, pin_util_read(pin, handle, 0, NR_PAGES, buf));
	ASSERT_TRUE(intact(buf, 0, NR_PAGES, 1));
	ASSERT_EQ(NR_PAGES, pin_util_unpin_all(pin));
	close(pin);

	ASSERT_EQ(0, migrate_call(self->fd, self->mem, self->len, to, 0, 0, self->rep, &a));
	EXPECT_EQ(NR_PAGES, a.nr_migrated);
	for (i = 0; i < NR_PAGES; i++)
		check_migrated(_metadata, &self->rep[i], to);
	ASSERT_TRUE(intact(self->mem, 0, NR_PAGES, 1));
}

/*
 * A plain GUP reference (vmsplice() into a pipe): setup freezes the page,
 * then finds more references than mappings and restores it.
 */
TEST_F(migration, referenced_busy)
{
	struct mmprobe_migrate_page *p = &self->rep[0];
	struct mmprobe_migrate_args a;
	struct iovec iov;
	int pipefd[2];

	ASSERT_NE(NULL, setup_anon(self, 1));
	ASSERT_EQ(0, pipe(pipefd));
	iov.iov_base = self->mem;
	iov.iov_len = pagesize;
	ASSERT_EQ((ssize_t)pagesize, vmsplice(pipefd[1], &iov, 1, 0));
	ASSERT_EQ(0, migrate_call(self->fd, self->mem, pagesize,
				  other_node(page_node(self->mem)), 0, 0, self->rep, &a));
	close(pipefd[0]);
	close(pipefd[1]);
	EXPECT_EQ(0, a.nr_frozen);
	ASSERT_EQ(MMPROBE_MIGRATE_SKIPPED, p->result) LOG_PAGE(p);
	ASSERT_EQ(MMPROBE_MIGRATE_REASON_BUSY, p->reason) LOG_PAGE(p);
	ASSERT_FALSE(HAS(p->before, PAGE_PINNED)) LOG_PAGE(p);
	ASSERT_EQ(p->before.pfn, p->after.pfn) LOG_PAGE(p);
	/* Restored from its writable migration entry: exclusive again. */
	ASSERT_TRUE(HAS(p->after, PAGE_EXCLUSIVE) && HAS(p->after, PTE_WRITE)) LOG_PAGE(p);
	ASSERT_TRUE(intact(self->mem, 0, 1, 0));
}

/* ---- THP -------------------------------------------------------------- */

/*
 * A 2 MiB-aligned THP in self->mem, written: 1; 0 when the machine has
 * none to give (why says so: a skip), -1 when it should have (a failure).
 *
 * Then MADV_NOHUGEPAGE, which leaves the THP as it is but keeps khugepaged
 * away: once migrate_vma_setup() has split it, its 512 young, exclusive
 * small pages are just what khugepaged collapses into a new THP, freeing
 * the pages the report names while the test still reads them (kpageflags
 * then shows a free page, not dirty; pagemap a new pfn). A fast khugepaged
 * (scan_sleep_millisecs 0, as inspect's stress sets for a while) made that
 * a flake.
 */
static int setup_thp(MIGRATION_DATA *self, size_t *pmd, char *why, size_t len)
{
	long long fallback = util_vmstat("thp_fault_fallback");

	*pmd = util_pmd_size();
	if (!*pmd) {
		snprintf(why, len, "no THP (%s/hpage_pmd_size)", THP_DIR);
		return 0;
	}
	self->len = *pmd;
	self->mem = util_mmap_aligned(*pmd, *pmd);
	if (!self->mem) {
		snprintf(why, len, "mmap: %s", strerror(errno));
		return -1;
	}
	if (madvise(self->mem, *pmd, MADV_HUGEPAGE)) {
		snprintf(why, len, "MADV_HUGEPAGE: %s", strerror(errno));
		return -1;
	}
	fill(self->mem, 0, *pmd / pagesize, 0);
	if (!(util_kpageflags(pagemap_pfn(self->mem)) & KPF_THP_BIT))
		return util_thp_missing_ok(fallback, why, len) ? 0 : -1;
	if (madvise(self->mem, *pmd, MADV_NOHUGEPAGE)) {
		snprintf(why, len, "MADV_NOHUGEPAGE: %s", strerror(errno));
		return -1;
	}
	return 1;
}

/* A THP for the test, or a skip when the machine has none, or a failure. */
#define SETUP_THP(pmd) do {						\
	char _why[160];							\
	int _ret = setup_thp(self, (pmd), _why, sizeof(_why));		\
	if (!_ret)							\
		UTIL_SKIP(return, "%s", _why);				\
	ASSERT_EQ(1, _ret) TH_LOG("THP setup: %s", _why);		\
} while (0)

/*
 * A PMD-mapped THP: migrate_vma_setup() has no THP path for system memory
 * without MIGRATE_VMA_SELECT_COMPOUND, so every kernel splits it first and
 * migrates small pages. Since 6.12 the split maps zero-filled subpages to
 * the shared zero page, which setup then skips; one subpage here is left
 * zero-filled to show it. Whether this kernel does is measured with its own
 * split first (behaviour.c: thp_split_zero_remap); unmeasured, either outcome
 * of that subpage passes, each checked as what it is.
 */
TEST_F(migration, thp_pmd_split)
{
	int zero_remap = behaviour_measure(BEHAVIOUR_THP_SPLIT_ZERO_REMAP, NULL, 0);
	const size_t zero = 3;
	struct mmprobe_migrate_args a;
	size_t pmd, nr, i;
	bool remapped;
	int to;

	SETUP_THP(&pmd);
	memset(self->mem + zero * pagesize, 0, pagesize);
	nr = pmd / pagesize;
	ASSERT_GE(MMPROBE_MIGRATE_MAX_PAGES, nr);
	to = other_node(page_node(self->mem));
	ASSERT_EQ(0, migrate_call(self->fd, self->mem, pmd, to, 0, 0, self->rep, &a));
	remapped = zero_remap > 0 ||
		   (zero_remap < 0 && self->rep[zero].result == MMPROBE_MIGRATE_SKIPPED);
	NOTE("thp_pmd_split: zero-filled subpage %s (split_huge_pages measured: %d)\n",
	     remapped ? "became the zero page" : "migrated", zero_remap);
	EXPECT_EQ(nr - remapped, a.nr_migrated);
	for (i = 0; i < nr; i++) {
		struct mmprobe_migrate_page *p = &self->rep[i];

		ASSERT_TRUE(HAS(p->before, PTE_PMD) && HAS(p->before, PAGE_LARGE)) LOG_PAGE(p);
		ASSERT_TRUE(HAS(p->before, PAGE_EXCLUSIVE)) LOG_PAGE(p);
		ASSERT_FALSE(HAS(p->frozen, PTE_PMD) || HAS(p->frozen, PAGE_LARGE)) LOG_PAGE(p);
		if (i == zero && remapped) {
			ASSERT_EQ(MMPROBE_MIGRATE_SKIPPED, p->result) LOG_PAGE(p);
			ASSERT_EQ(MMPROBE_MIGRATE_REASON_ZERO, p->reason) LOG_PAGE(p);
			ASSERT_TRUE(util_kpageflags(pagemap_pfn(self->mem + i * pagesize)) &
				    KPF_ZERO_BIT);
			continue;
		}
		check_migrated(_metadata, p, to);
		ASSERT_FALSE(HAS(p->after, PAGE_LARGE)) LOG_PAGE(p);
		ASSERT_FALSE(util_kpageflags(p->after.pfn) & KPF_THP_BIT);
	}
	ASSERT_TRUE(intact(self->mem, 0, zero, 0));
	ASSERT_TRUE(intact(self->mem, zero + 1, nr - zero - 1, 0));
}

/*
 * A PTE-mapped THP (MADV_DONTNEED of its last page splits the PMD but not
 * the folio): kernels before device-private THP migration skip it
 * ("FIXME support THP"), later ones split the folio and migrate its pages.
 * Which one this kernel does is measured first on a THP of its own
 * (behaviour.c: migrate_split_large, checked there against kpageflags);
 * all 16 pages here must then go the same way.
 */
TEST_F(migration, thp_pte_mapped)
{
	struct mmprobe_migrate_args a;
	char why[1024];
	int split = behaviour_measure(BEHAVIOUR_MIGRATE_SPLIT_LARGE, why, sizeof(why));
	size_t pmd, i, nr = 16;
	int to;

	ASSERT_TRUE(split == 0 || split == 1) TH_LOG("migrate_split_large: %s", why);
	SETUP_THP(&pmd);
	ASSERT_EQ(0, madvise(self->mem + pmd - pagesize, pagesize, MADV_DONTNEED));
	ASSERT_TRUE(util_kpageflags(pagemap_pfn(self->mem)) & KPF_THP_BIT);
	to = other_node(page_node(self->mem));
	ASSERT_EQ(0, migrate_call(self->fd, self->mem, nr * pagesize, to, 0, 0, self->rep, &a));
	NOTE("thp_pte_mapped: %s\n", split ? "split and migrated" : "skipped");
	for (i = 0; i < nr; i++)
		check_large_page(_metadata, &self->rep[i], split, to);
	ASSERT_TRUE(intact(self->mem, 0, pmd / pagesize - 1, 0));
}

/*
 * The huge zero page: nothing to migrate. Kernels before device-private THP
 * migration split the PMD into zero-page PTEs first (split_huge_pmd());
 * later ones collect the range as a hole and leave the PMD alone. Which
 * one this kernel did is read from kpageflags, and every page's report
 * must agree with it.
 */
TEST_F(migration, huge_zero_skipped)
{
	struct mmprobe_migrate_args a;
	size_t pmd, i, nr;
	volatile char c;
	bool kept;

	pmd = util_pmd_size();
	if (!pmd)
		UTIL_SKIP(return, "no THP (%s/hpage_pmd_size)", THP_DIR);
	if (util_setting_set(THP_DIR "/use_zero_page", "1"))
		UTIL_SKIP(return, "no huge zero page (%s/use_zero_page)", THP_DIR);
	self->len = pmd;
	self->mem = util_mmap_aligned(pmd, pmd);
	ASSERT_NE(NULL, self->mem);
	ASSERT_EQ(0, madvise(self->mem, pmd, MADV_HUGEPAGE));
	c = self->mem[0];
	(void)c;
	ASSERT_EQ(KPF_ZERO_BIT | KPF_THP_BIT,
		  util_kpageflags(pagemap_pfn(self->mem)) & (KPF_ZERO_BIT | KPF_THP_BIT))
		TH_LOG("a read fault mapped no huge zero page, with use_zero_page 1");
	nr = pmd / pagesize;
	ASSERT_EQ(0, migrate_call(self->fd, self->mem, pmd, 0, 0, 0, self->rep, &a));
	ASSERT_EQ(0, a.nr_migrated);
	/* Which it was, from kpageflags: the huge zero page still mapped? */
	kept = util_kpageflags(pagemap_pfn(self->mem)) & KPF_THP_BIT;
	NOTE("huge_zero_skipped: the PMD is %s\n", kept ? "kept" : "split");
	for (i = 0; i < nr; i++) {
		struct mmprobe_migrate_page *p = &self->rep[i];

		ASSERT_TRUE(HAS(p->before, PTE_PMD) && HAS(p->before, PAGE_ZERO)) LOG_PAGE(p);
		ASSERT_EQ(MMPROBE_MIGRATE_SKIPPED, p->result) LOG_PAGE(p);
		ASSERT_EQ(MMPROBE_MIGRATE_REASON_ZERO, p->reason) LOG_PAGE(p);
		ASSERT_EQ(MMPROBE_MIGRATE_SRC_MIGRATE, p->src) LOG_PAGE(p);
		ASSERT_TRUE(HAS(p->after, PAGE_ZERO)) LOG_PAGE(p);
		ASSERT_EQ(kept, HAS(p->after, PTE_PMD)) LOG_PAGE(p);
		ASSERT_EQ(kept, !!(util_kpageflags(pagemap_pfn(self->mem + i * pagesize)) &
				   KPF_THP_BIT));
	}
}

/* ---- NUMA migration through the kernel's own calls --------------------- */

/*
 * The pagemap bits a migration must keep. Soft-dirty (55) is kept where the
 * kernel is exact, and set on every (dirty) page otherwise.
 */
#define PM_KEPT	(PM_MMAP_EXCL | PM_UFFD_WP | PM_PRESENT)
#define ASSERT_PM_KEPT(before, now) do {					\
	uint64_t _before = (before), _now = (now);				\
	ASSERT_EQ(_before & PM_KEPT, _now & PM_KEPT);				\
	ASSERT_TRUE(soft_dirty_ok(_before & PM_SOFT_DIRTY, true, _now & PM_SOFT_DIRTY));	\
} while (0)

/*
 * What inspect says of addr must match pagemap: node, exclusive,
 * soft-dirty and uffd-wp. Returns the inspect entry in *e (kind "none" when
 * inspect is not there).
 */
static void check_inspect(struct __test_metadata *_metadata, const void *addr,
			  int node, int exclusive, struct inspect_entry *e)
{
	uint64_t pm = util_pagemap(addr);

	strcpy(e->kind, "none");
	if (!inspect_available())
		return;
	ASSERT_EQ(1, inspect_one(addr, e));
	ASSERT_EQ(node, e->node);
	ASSERT_EQ((long long)(pm & PM_PFN_MASK), e->pfn);
	ASSERT_EQ(exclusive, e->exclusive);
	ASSERT_EQ(!!(pm & PM_SOFT_DIRTY), e->soft_dirty);
	ASSERT_EQ(!!(pm & PM_UFFD_WP), e->uffd_wp);
}

/*
 * NR_PAGES on one node, in the states whose bits a NUMA migration must
 * keep: pages 0-3 soft-dirty (where the kernel has soft-dirty), 4-7 clean
 * (clear_refs), 6-7 write-protected with uffd (*uffd, to be closed); all
 * exclusive. pm[] gets their pagemap entries. Returns the node to move them to, or -1 after a SKIP.
 */
static int numa_prepare(struct __test_metadata *_metadata, MIGRATION_DATA *self,
			uint64_t *pm, int *uffd)
{
	struct inspect_entry e;
	int from, to, i;
	bool sd;

	ASSERT_NE(NULL, setup_anon(self, NR_PAGES));
	/* No soft-dirty at all (arm64): pagemap's bit stays 0 */
	sd = util_vma_flag(self->mem, "sd");
	from = page_node(self->mem);
	to = other_node(from);
	if (to == from)
		UTIL_SKIP(return -1, "one NUMA node: nowhere to move to");
	ASSERT_EQ(0, move_all(self->mem, NR_PAGES, from));
	ASSERT_EQ(0, clear_soft_dirty());
	fill(self->mem, 0, NR_PAGES / 2, 0);
	*uffd = uffd_wp(self->mem, self->len, self->mem + 6 * pagesize, 2 * pagesize);
	if (*uffd < 0)
		UTIL_SKIP(return -1, "userfaultfd write-protect: %s", strerror(-*uffd));
	for (i = 0; i < NR_PAGES; i++) {
		pm[i] = util_pagemap(self->mem + i * pagesize);
		ASSERT_EQ(sd && i < 4, !!(pm[i] & PM_SOFT_DIRTY));
		ASSERT_EQ(i >= 6, !!(pm[i] & PM_UFFD_WP));
		ASSERT_TRUE(pm[i] & PM_MMAP_EXCL);
		check_inspect(_metadata, self->mem + i * pagesize, from, 1, &e);
	}
	return to;
}

/* After numa_prepare() and a move to node: new pages there, bits kept. */
static void numa_check(struct __test_metadata *_metadata, MIGRATION_DATA *self,
		       const uint64_t *pm, int node)
{
	struct inspect_entry e;
	int i;

	for (i = 0; i < NR_PAGES; i++) {
		uint64_t now = util_pagemap(self->mem + i * pagesize);

		ASSERT_EQ(node, page_node(self->mem + i * pagesize));
		ASSERT_NE(pm[i] & PM_PFN_MASK, now & PM_PFN_MASK);
		ASSERT_PM_KEPT(pm[i], now);
		check_inspect(_metadata, self->mem + i * pagesize, node, 1, &e);
	}
	ASSERT_TRUE(intact(self->mem, 0, NR_PAGES, 0));
}

/*
 * move_pages(2): pages move to the other node and keep what the PTE said:
 * exclusive (pagemap bit 56, inspect's PG_anon_exclusive and a write
 * fault), soft-dirty (55) and uffd-wp (57).
 */
TEST_F(migration, numa_move_pages)
{
	int nodes[NR_PAGES], status[NR_PAGES], uffd, to, i;
	uint64_t pm[NR_PAGES];
	void *pages[NR_PAGES];

	to = numa_prepare(_metadata, self, pm, &uffd);
	if (to < 0)
		return;
	for (i = 0; i < NR_PAGES; i++) {
		pages[i] = self->mem + i * pagesize;
		nodes[i] = to;
	}
	ASSERT_EQ(0, syscall(__NR_move_pages, 0, (unsigned long)NR_PAGES, pages, nodes,
			     status, MPOL_MF_MOVE));
	for (i = 0; i < NR_PAGES; i++)
		ASSERT_EQ(to, status[i]);
	numa_check(_metadata, self, pm, to);
	close(uffd);
	ASSERT_EQ(1, exclusive_witness(self->mem));
}

/* mbind(2) MPOL_BIND with MPOL_MF_MOVE: the same, through the policy path. */
TEST_F(migration, numa_mbind)
{
	unsigned long mask;
	uint64_t pm[NR_PAGES];
	int uffd, to;

	to = numa_prepare(_metadata, self, pm, &uffd);
	if (to < 0)
		return;
	mask = 1UL << to;
	ASSERT_EQ(0, syscall(__NR_mbind, self->mem, self->len, MPOL_BIND, &mask,
			     sizeof(mask) * 8, MPOL_MF_MOVE | MPOL_MF_STRICT));
	numa_check(_metadata, self, pm, to);
	close(uffd);
	ASSERT_EQ(1, exclusive_witness(self->mem));
}

/* Free blocks of at least 2^order pages on a node, from /proc/buddyinfo. */
static long buddy_free(int node, unsigned int order)
{
	char buf[4096], *line;
	long total = 0, n;
	int nid, off, o;

	if (util_read_file("/proc/buddyinfo", buf, sizeof(buf)) <= 0)
		return -1;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		/* "Node 1, zone   Normal  n0 n1 ... n10" */
		if (sscanf(line, "Node %d, zone %*s%n", &nid, &off) != 1 || nid != node)
			continue;
		for (o = 0; sscanf(line + off, " %ld%n", &n, &nid) == 1; o++) {
			off += nid;
			if (o >= (int)order)
				total += n;
		}
	}
	return total;
}

/*
 * A THP moved with move_pages(2) stays a THP: x86-64 migrates PMD-mapped
 * THPs whole (CONFIG_ARCH_ENABLE_THP_MIGRATION), unless the other node has
 * no free huge page (then it splits). The evidence is this process's own:
 * a THP on the other node, mapped in order (kpageflags, pagemap,
 * move_pages(2)); thp_migration_success, system-wide, can only have grown.
 */
TEST_F(migration, numa_thp)
{
	long long success;
	size_t pmd, nr, i;
	int from, to, status;
	long free_huge;
	void *page;

	SETUP_THP(&pmd);
	nr = pmd / pagesize;
	from = page_node(self->mem);
	to = other_node(from);
	if (to == from)
		UTIL_SKIP(return, "one NUMA node: nowhere to move to");
	success = util_vmstat("thp_migration_success");
	free_huge = buddy_free(to, __builtin_ctzl(pmd / pagesize));
	page = self->mem;
	ASSERT_EQ(0, syscall(__NR_move_pages, 0, 1UL, &page, &to, &status, MPOL_MF_MOVE));
	ASSERT_EQ(to, status);
	if (!(util_kpageflags(pagemap_pfn(self->mem)) & KPF_THP_BIT)) {
		if (!free_huge)
			UTIL_SKIP(return, "no free huge page on the other node: the THP was split");
		ASSERT_TRUE(false) TH_LOG("the THP was split, with %ld free huge blocks on node %d",
					  free_huge, to);
	}
	ASSERT_LE(success + 1, util_vmstat("thp_migration_success"));
	for (i = 0; i < nr; i += nr / 8) {
		ASSERT_EQ(to, page_node(self->mem + i * pagesize));
		ASSERT_EQ(pagemap_pfn(self->mem) + i, pagemap_pfn(self->mem + i * pagesize));
		ASSERT_TRUE(util_pagemap(self->mem + i * pagesize) & PM_MMAP_EXCL);
	}
	ASSERT_TRUE(intact(self->mem, 0, nr, 0));
}

/* ---- multi-size THP -------------------------------------------------- */

#define KPF_HEAD_BIT	(1ULL << 15)
#define KPF_TAIL_BIT	(1ULL << 16)

/* Is [mem, mem + size) one folio: a compound head, contiguous tails, no more? */
static bool one_folio(const char *mem, size_t size)
{
	uint64_t first = pagemap_pfn(mem), n = size / pagesize, i;

	if (!first || (util_kpageflags(first) & (KPF_HEAD_BIT | KPF_THP_BIT)) !=
		      (KPF_HEAD_BIT | KPF_THP_BIT))
		return false;
	for (i = 1; i < n; i++)
		if (pagemap_pfn(mem + i * pagesize) != first + i ||
		    !(util_kpageflags(first + i) & KPF_TAIL_BIT))
			return false;
	return !(util_kpageflags(first + n) & KPF_TAIL_BIT);
}

/*
 * One anon folio of size (an mTHP: PTE-mapped), filled, in self->mem: 1,
 * or 0 with why when the machine had none to give (the size's
 * anon_fault_fallback moved), or -1 when it should have been there.
 */
static int setup_mthp(MIGRATION_DATA *self, size_t size, char *why, size_t len)
{
	char path[128], buf[32];
	long long fallback = -1;

	snprintf(path, sizeof(path), THP_DIR "/hugepages-%zukB/stats/anon_fault_fallback",
		 size >> 10);
	if (util_read_file(path, buf, sizeof(buf)) > 0)
		fallback = atoll(buf);
	if (behaviour_mthp_select(size)) {
		snprintf(why, len, "cannot enable %zu kB THP alone", size >> 10);
		return -1;
	}
	self->len = size;
	self->mem = util_mmap_aligned(size, size);
	if (!self->mem || madvise(self->mem, size, MADV_HUGEPAGE)) {
		snprintf(why, len, "mmap/MADV_HUGEPAGE: %s", strerror(errno));
		return -1;
	}
	fill(self->mem, 0, size / pagesize, 0);
	if (one_folio(self->mem, size))
		return 1;
	snprintf(why, len, "no %zu kB folio after a MADV_HUGEPAGE write fault", size >> 10);
	if (util_read_file(path, buf, sizeof(buf)) > 0 && atoll(buf) > fallback) {
		snprintf(why, len, "no free %zu kB folio (anon_fault_fallback moved)", size >> 10);
		return 0;
	}
	return -1;
}

/* The anon mTHP sizes, or 0 with why, what the kernel lacks (a skip). */
static int mthp_sizes(size_t *sizes, int max, char *why, size_t len)
{
	int n = behaviour_mthp_sizes(sizes, max);

	if (n < 0)
		snprintf(why, len, "no %s/hugepages-*kB: no multi-size THP", THP_DIR);
	else if (!n)
		snprintf(why, len, "no anon THP size below the PMD size");
	return n < 0 ? 0 : n;
}

/*
 * An mTHP (a large anon folio mapped by PTEs) of every anon size through
 * both migration paths, one folio per size.
 *
 * move_pages(2) of its first page (as numa_thp names a THP) to the other
 * node: migrate_pages() moves a large folio whole when it can allocate one
 * of its order there, and splits it otherwise. Which it did is read from
 * kpageflags (one folio) and printed per size; a split with a free block
 * of that order on the other node (/proc/buddyinfo) fails. Either way
 * every page is on the other node, mapped exclusively, with its data.
 *
 * Then migrate_vma (mmprobe's migrate file) back: setup splits the folio
 * and migrates its pages, or skips it as large, as it does a PTE-mapped
 * PMD THP (behaviour.c: migrate_split_large, measured first). Every page
 * must go that way: migrated to a small page, or left in a folio that is
 * still whole.
 */
TEST_F(migration, mthp)
{
	int split = behaviour_measure(BEHAVIOUR_MIGRATE_SPLIT_LARGE, NULL, 0);
	int n, s, from, to, ret, status;
	struct mmprobe_migrate_args a;
	size_t sizes[16], nr_pages, i;
	long free_blocks;
	char why[160];
	void *page;

	/* Measured before the PMD size is disabled below. */
	ASSERT_TRUE(split == 0 || split == 1);
	n = mthp_sizes(sizes, ARRAY_SIZE(sizes), why, sizeof(why));
	if (!n)
		UTIL_SKIP(return, "%s", why);
	for (s = 0; s < n; s++) {
		ret = setup_mthp(self, sizes[s], why, sizeof(why));
		if (!ret) {
			NOTE("mthp: %s\n", why);
			goto next;
		}
		ASSERT_EQ(1, ret) TH_LOG("%s", why);
		nr_pages = sizes[s] / pagesize;
		ASSERT_GE(MMPROBE_MIGRATE_MAX_PAGES, nr_pages);
		from = page_node(self->mem);
		to = other_node(from);
		if (to == from)
			UTIL_SKIP(return, "one NUMA node: nowhere to move to");

		free_blocks = buddy_free(to, __builtin_ctzl(nr_pages));
		/* The first page names the folio; its other pages would be EBUSY. */
		page = self->mem;
		ASSERT_EQ(0, syscall(__NR_move_pages, 0, 1UL, &page, &to, &status, MPOL_MF_MOVE));
		ASSERT_EQ(to, status);
		for (i = 0; i < nr_pages; i++) {
			ASSERT_EQ(to, page_node(self->mem + i * pagesize));
			ASSERT_TRUE(util_pagemap(self->mem + i * pagesize) & PM_MMAP_EXCL);
		}
		ASSERT_TRUE(intact(self->mem, 0, nr_pages, 0));
		if (!one_folio(self->mem, sizes[s])) {
			NOTE("mthp: %zu kB: move_pages split it (%ld free blocks of its order)\n",
			     sizes[s] >> 10, free_blocks);
			ASSERT_EQ(0, free_blocks) TH_LOG("%zu kB folio split by move_pages",
							 sizes[s] >> 10);
			goto next;
		}

		ASSERT_EQ(0, migrate_call(self->fd, self->mem, sizes[s], from, 0, 0, self->rep,
					  &a));
		NOTE("mthp: %zu kB: move_pages moved it whole; migrate_vma %s\n", sizes[s] >> 10,
		     split ? "split and migrated it" : "skipped it as large");
		for (i = 0; i < nr_pages; i++)
			check_large_page(_metadata, &self->rep[i], split, from);
		if (!split)
			ASSERT_TRUE(one_folio(self->mem, sizes[s]));
		ASSERT_TRUE(intact(self->mem, 0, nr_pages, 0));
next:
		munmap(self->mem, self->len);
		self->mem = NULL;
	}
}

/* ---- races against a frozen range ------------------------------------- */

/*
 * A race: a thread migrates one page with a RACE_HOLD_MS hold while the test
 * thread, once it sees the page frozen, acts on it (touch or pin).
 */
struct race {
	int fd;
	char *mem;
	int node;
	int ret;
	struct mmprobe_migrate_args args;
	struct mmprobe_migrate_page rep;
	char shadow[UTIL_PAGE_SIZE_MAX];	/* race_touch: what the page must hold */
	int pin;		/* race_pin: the pin session */
	uint64_t handle;	/* and its take */
};

static void *race_migrate(void *arg)
{
	struct race *r = arg;

	r->ret = migrate_call(r->fd, r->mem, pagesize, r->node, 0, RACE_HOLD_MS,
			      &r->rep, &r->args);
	return NULL;
}

/*
 * Wait until the page is frozen: pagemap shows a migration entry as a swap
 * entry. False when the migration finished (or failed) first.
 */
static bool race_wait_frozen(struct race *r)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		if (util_pagemap(r->mem) & PM_SWAP)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 2);
	return false;
}

static double elapsed(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec - start->tv_sec + (now.tv_nsec - start->tv_nsec) / 1e9;
}

/*
 * Run RACE_ROUNDS rounds (at most RACE_SECONDS): act() while the page is
 * (most likely) frozen, then check(). A round in which the page was seen
 * frozen either migrated it, and the page mapped now is the new one, or
 * gave it back: setup installs the migration entries before it checks the
 * references, and puts the PTE back when one more is held (6.1 was seen to,
 * when GUP-fast had taken its reference just before); mmprobe then reports
 * it busy, or pinned once the racing pin has landed on it. Returns how many
 * rounds saw it frozen and migrated.
 */
static int race_run(struct __test_metadata *_metadata, struct race *r,
		    void (*act)(struct __test_metadata *_metadata, struct race *r, int round),
		    void (*check)(struct __test_metadata *_metadata, struct race *r, int round))
{
	int round, frozen = 0, busy = 0;
	struct timespec start;
	pthread_t thread;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (round = 0; round < RACE_ROUNDS && elapsed(&start) < RACE_SECONDS; round++) {
		bool was_frozen;

		r->node = other_node(page_node(r->mem));
		ASSERT_EQ(0, pthread_create(&thread, NULL, race_migrate, r));
		was_frozen = race_wait_frozen(r);
		act(_metadata, r, round);
		ASSERT_EQ(0, pthread_join(thread, NULL));
		ASSERT_EQ(0, r->ret);
		if (was_frozen && r->rep.result == MMPROBE_MIGRATE_MIGRATED) {
			frozen++;
			ASSERT_EQ(r->rep.after.pfn, pagemap_pfn(r->mem)) LOG_PAGE(&r->rep);
			ASSERT_EQ(r->node, page_node(r->mem));
		} else if (was_frozen) {
			busy++;
			ASSERT_TRUE(r->rep.reason == MMPROBE_MIGRATE_REASON_BUSY ||
				    r->rep.reason == MMPROBE_MIGRATE_REASON_PINNED)
				LOG_PAGE(&r->rep);
			ASSERT_EQ(r->rep.before.pfn, pagemap_pfn(r->mem)) LOG_PAGE(&r->rep);
		}
		check(_metadata, r, round);
	}
	NOTE("%s: %d rounds, %d caught frozen and migrated, %d frozen and given back\n",
	     _metadata->name, round, frozen, busy);
	return frozen;
}

/* Odd rounds write a byte (it must not go to the old page), even ones read. */
static void race_touch_act(struct __test_metadata *_metadata, struct race *r, int round)
{
	if (round & 1) {
		r->shadow[round] = (char)round;
		((volatile char *)r->mem)[round] = (char)round;
	} else {
		ASSERT_EQ(r->shadow[pagesize - 1 - round],
			  ((volatile char *)r->mem)[pagesize - 1 - round]);
	}
}

static void race_touch_check(struct __test_metadata *_metadata, struct race *r, int round)
{
	ASSERT_EQ(0, memcmp(r->shadow, r->mem, pagesize));
}

/*
 * One thread holds a page frozen for RACE_HOLD_MS while this one touches it:
 * the write waits for the migration and lands on the new page (never on the
 * old one, whose data was already copied); reads see the data.
 */
TEST_F(migration, race_touch)
{
	struct race r = { .fd = self->fd };

	ASSERT_NE(NULL, setup_anon(self, 1));
	ASSERT_GE(sizeof(r.shadow), pagesize);
	r.mem = self->mem;
	memcpy(r.shadow, r.mem, pagesize);
	ASSERT_LT(0, race_run(_metadata, &r, race_touch_act, race_touch_check));
}

/* Even rounds pin with pin_user_pages_fast(), odd ones pin_user_pages(). */
static void race_pin_act(struct __test_metadata *_metadata, struct race *r, int round)
{
	ASSERT_EQ(1, pin_util_take(r->pin, r->mem, 1,
				   round & 1 ? MMPROBE_PIN_METHOD_PUP : MMPROBE_PIN_METHOD_PUP_FAST,
				   MMPROBE_PIN_WRITE, &r->handle));
}

/*
 * The pin holds the page mapped now: its pfn, and what the process writes
 * now the pin reads. In a frozen round that is the new page, never the old.
 */
static void race_pin_check(struct __test_metadata *_metadata, struct race *r, int round)
{
	struct mmprobe_pin_page info;
	char buf[UTIL_PAGE_SIZE_MAX];

	ASSERT_EQ(0, pin_util_info(r->pin, r->handle, 0, 1, &info, false));
	ASSERT_EQ(pagemap_pfn(r->mem), info.pfn) LOG_PAGE(&r->rep);
	if (r->rep.result == MMPROBE_MIGRATE_MIGRATED)
		ASSERT_NE(r->rep.before.pfn, info.pfn) LOG_PAGE(&r->rep);
	fill(r->mem, 0, 1, round);
	ASSERT_EQ(0, pin_util_read(r->pin, r->handle, 0, 1, buf));
	ASSERT_TRUE(intact(buf, 0, 1, round));
	ASSERT_EQ(1, pin_util_unpin(r->pin, r->handle, 0, 1));
}

/*
 * One thread holds a page frozen while this one pins it: GUP-fast finds no
 * present PTE and falls back to the slow path, whose fault waits for the
 * migration (migration_entry_wait()); the pin lands on the new page once
 * finalize is done, as the pin's pfn and the data read through it show.
 */
TEST_F(migration, race_pin)
{
	struct race r = { .fd = self->fd };

	ASSERT_NE(NULL, setup_anon(self, 1));
	ASSERT_GE(sizeof(r.shadow), pagesize);
	r.mem = self->mem;
	r.pin = pin_util_open();
	ASSERT_LE(0, r.pin) TH_LOG("%s: %s", PIN_PATH, strerror(-r.pin));
	ASSERT_LT(0, race_run(_metadata, &r, race_pin_act, race_pin_check));
	close(r.pin);
}

/*
 * A fatal signal during the hold: the call gives every page back before
 * the task dies; the next migration of the same memory (in the parent,
 * which shares nothing) is not disturbed, and nothing is left locked.
 */
TEST_F(migration, killed_while_frozen)
{
	struct timespec start;
	int status, ctl[2];
	pid_t pid;
	char c;

	ASSERT_NE(NULL, setup_anon(self, NR_PAGES));
	ASSERT_EQ(0, pipe(ctl));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Its own file: the inherited one works on the parent's mm. */
		int fd = open(MIGRATE_PATH, O_RDWR);

		close(ctl[0]);
		fill(self->mem, 0, NR_PAGES, 3);
		if (fd < 0 || write(ctl[1], "x", 1) != 1)
			_exit(2);
		migrate_call(fd, self->mem, self->len, 0, 0,
			     MMPROBE_MIGRATE_MAX_HOLD_MS, NULL, NULL);
		_exit(3);
	}
	close(ctl[1]);
	ASSERT_EQ(1, read(ctl[0], &c, 1));
	close(ctl[0]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!(util_pagemap_pid(pid, self->mem) & PM_SWAP) && elapsed(&start) < 2)
		usleep(1000);
	ASSERT_TRUE(util_pagemap_pid(pid, self->mem) & PM_SWAP);
	clock_gettime(CLOCK_MONOTONIC, &start);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* The hold ended at the signal, not after MMPROBE_MIGRATE_MAX_HOLD_MS. */
	ASSERT_GT(MMPROBE_MIGRATE_MAX_HOLD_MS / 2000.0, elapsed(&start));
	/* The parent's own pages were never touched. */
	ASSERT_TRUE(intact(self->mem, 0, NR_PAGES, 0));
}

/*
 * The file works on the mm of the process that opened it: a child calling
 * it through an inherited descriptor migrates the parent's page (which the
 * child shares, so both mappings move).
 */
TEST_F(migration, file_bound_to_opener)
{
	uint64_t before;
	int status, to;
	pid_t pid;

	ASSERT_NE(NULL, setup_anon(self, 1));
	before = pagemap_pfn(self->mem);
	to = other_node(page_node(self->mem));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(migrate_call(self->fd, self->mem, pagesize, to, 0, 0, NULL, NULL) ? 1 : 0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	ASSERT_NE(before, pagemap_pfn(self->mem));
	ASSERT_EQ(to, page_node(self->mem));
	ASSERT_TRUE(intact(self->mem, 0, 1, 0));
}

/* ---- bad input -------------------------------------------------------- */

/*
 * Layout for the bad-input cases: pages 0-3 read-write, 4-5 read-only (a
 * second VMA), 6 read-write (a third), 7 unmapped.
 */
TEST_F(migration, bad_input)
{
	const size_t max = MMPROBE_MIGRATE_MAX_PAGES, ps = pagesize;
	struct mmprobe_migrate_args a;
	char *m, *big;
	int node, i;
	struct {
		const char *name;
		size_t off;		/* from self->mem */
		size_t len;
		int64_t node;		/* -2: the page's own node */
		uint64_t flags;
		uint64_t hold_ms;
		int err;
	} cases[] = {
		{ "unaligned start", 1, ps, -2, 0, 0, EINVAL },
		{ "unaligned length", 0, ps + 1, -2, 0, 0, EINVAL },
		{ "zero length", 0, 0, -2, 0, 0, EINVAL },
		{ "length wraps", 0, -ps, -2, 0, 0, EINVAL },
		{ "too many pages", 0, (max + 1) * ps, -2, 0, 0, EINVAL },
		{ "unmapped page", 7 * ps, ps, -2, 0, 0, EFAULT },
		{ "range into a hole", 6 * ps, 2 * ps, -2, 0, 0, EFAULT },
		{ "range across VMAs", 2 * ps, 4 * ps, -2, 0, 0, EINVAL },
		{ "negative node", 0, ps, -1, 0, 0, EINVAL },
		{ "node not online", 0, ps, 1000, 0, 0, EINVAL },
		{ "node beyond MAX_NUMNODES", 0, ps, 1 << 20, 0, 0, EINVAL },
		{ "unknown flag", 0, ps, -2, 1ULL << 63, 0, EINVAL },
		{ "hold too long", 0, ps, -2, 0, MMPROBE_MIGRATE_MAX_HOLD_MS + 1, EINVAL },
		{ "one VMA", 0, 4 * ps, -2, 0, 0, 0 },
	};

	self->len = NR_PAGES * pagesize;
	self->mem = util_mmap_small(self->len, -1);
	ASSERT_NE(NULL, self->mem);
	m = self->mem;
	fill(m, 0, NR_PAGES, 0);
	ASSERT_EQ(0, mprotect(m + 4 * pagesize, 2 * pagesize, PROT_READ));
	ASSERT_EQ(0, madvise(m + 6 * pagesize, pagesize, MADV_HUGEPAGE));
	ASSERT_EQ(0, munmap(m + 7 * pagesize, pagesize));
	node = page_node(m);
	for (i = 0; i < (int)ARRAY_SIZE(cases); i++) {
		int to = node;
		int ret;

		if (cases[i].node != -2)
			to = (int)cases[i].node;
		ret = migrate_call(self->fd, m + cases[i].off, cases[i].len, to,
				   cases[i].flags, cases[i].hold_ms, NULL, &a);
		EXPECT_EQ(-cases[i].err, ret) TH_LOG("%s: %s", cases[i].name, strerror(-ret));
	}
	/* Nodes that do not exist: any past the highest online one. */
	ASSERT_EQ(-EINVAL, migrate_call(self->fd, m, pagesize, 64, 0, 0, NULL, NULL));
	/* The largest range allowed. */
	big = util_mmap_small(max * pagesize, -1);
	ASSERT_NE(NULL, big);
	fill(big, 0, 1, 0);
	ASSERT_EQ(0, migrate_call(self->fd, big, max * pagesize, node, 0, 0, self->rep, &a));
	munmap(big, max * pagesize);
	ASSERT_EQ(1, a.nr_migrated);
	/* Unwritable output: the migration is done, the report is not. */
	ASSERT_EQ(-EFAULT, migrate_call(self->fd, m, pagesize, node, 0, 0,
					(void *)1UL, NULL));
	ASSERT_EQ(-1, ioctl(self->fd, MMPROBE_IOC_MIGRATE, (void *)1UL));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, ioctl(self->fd, _IO(MMPROBE_IOC_MAGIC, 0x3f), NULL));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_TRUE(intact(m, 0, NR_PAGES - 1, 0));
}

/* A hugetlb VMA (the default size): migrate_vma_setup() does not take them. */
TEST_F(migration, bad_input_hugetlb)
{
	long long kb = robust_meminfo("Hugepagesize");
	size_t huge = kb > 0 ? kb * 1024 : 0;
	char *m = MAP_FAILED;

	if (huge)
		m = mmap(NULL, huge, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (m == MAP_FAILED)
		UTIL_SKIP(return,
			  "no hugetlb page of the default size (%zu kB) free: vm.nr_hugepages",
			  huge / 1024);
	self->mem = m;
	self->len = huge;
	m[0] = 1;
	ASSERT_EQ(-EINVAL, migrate_call(self->fd, m, pagesize, page_node(m), 0, 0,
					NULL, NULL));
}

UTIL_SKIPS_SUMMARY

TEST_HARNESS_MAIN
