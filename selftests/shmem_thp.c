// SPDX-License-Identifier: GPL-2.0
/*
 * shmem_thp: one shmem THP mapped by a PMD and by PTEs at the same time.
 *
 * A file on a tmpfs mounted here with huge=always gets a PMD-sized folio
 * (no global setting changes). It is mapped PMD-aligned (P: one PMD maps the
 * whole folio) and 4 KiB past a PMD boundary (Q: the folio's first half,
 * which only PTEs can map), in one process and across two, and every state
 * is checked against the kernel's own witnesses before mmprobe's inspect:
 *
 *   /proc/self/pagemap   the PFN of every page (head + index)
 *   /proc/kpageflags     THP and COMPOUND_HEAD on the head
 *   /proc/kpagecount     every page's mapcount: PTE maps of that page plus
 *                        PMD maps of the folio (page_mapcount() on 6.1,
 *                        folio_precise_page_mapcount() later)
 *   /proc/self/smaps     ShmemPmdMapped of each VMA
 *
 * The expected counts are the same on every kernel (see
 * Documentation/thp_mapcount.rst): entire_mapcount = PMD maps,
 * mapcount(page) = PTE maps of the page + entire_mapcount, folio_mapcount =
 * PMD maps + all PTE maps. What differs is PageDoubleMap, which only 6.1
 * has (version: build.double_map=1); its rules for file THPs are in
 * expected_double_map() below.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mmprobe_util.h"
#include "inspect_util.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif

#define KPF_COMPOUND_HEAD	15

/*
 * What is mapped right now: @pmd_maps PMD mappings of the whole folio and
 * one PTE mapping of each page in [@pte_lo, @pte_hi), in any process.
 */
struct thp_maps {
	int pmd_maps;
	int pte_lo;
	int pte_hi;
};

FIXTURE(shmem_thp) {
	bool ready;		/* setup done (6.1's harness runs a test it skipped) */
	int fd;			/* the file, on a detached tmpfs huge=always */
	size_t pmd;		/* PMD size: the folio's size */
	int nr;			/* pages in the folio */
	bool double_map;	/* the kernel has PageDoubleMap (6.1) */
	uint64_t head;		/* PFN of the folio's head, once mapped */
	pid_t child;		/* reaped by the teardown if a test ends early */
};

/* The fixture data, as the helpers below take it */
#define SHMEM_THP_DATA FIXTURE_DATA(shmem_thp)

/* Read n consecutive u64 of a /proc array file from index on; 0 or -errno. */
static int read_u64s(const char *path, uint64_t index, uint64_t *buf, size_t n)
{
	ssize_t len = n * sizeof(*buf);
	int fd, ret = 0;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	if (pread(fd, buf, len, index * sizeof(*buf)) != len)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

/* The value in kB of an smaps field of the VMA that starts at addr; -1 if none. */
static long smaps_field(void *addr, const char *field)
{
	char line[512], start[32];
	bool in_vma = false;
	size_t flen = strlen(field);
	long val = -1;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	snprintf(start, sizeof(start), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, start, strlen(start))) {
			in_vma = true;
			continue;
		}
		if (in_vma && !strncmp(line, field, flen) && line[flen] == ':') {
			val = strtol(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/*
 * Map [0, len) of the file MAP_SHARED at an address misalign bytes past a
 * PMD boundary: misalign 0 lets a PMD map the folio, anything else leaves
 * the VMA unsuitable for a PMD (transhuge_vma_suitable()), so PTEs map it.
 * Then fault every page in, from user space.
 */
static char *map_file(SHMEM_THP_DATA *self, size_t len, size_t misalign)
{
	size_t span = len + 2 * self->pmd;
	char *area, *addr;

	area = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (area == MAP_FAILED)
		return NULL;
	addr = (char *)(((uintptr_t)area + self->pmd - 1) & ~(uintptr_t)(self->pmd - 1));
	addr += misalign;
	if (mmap(addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 self->fd, 0) == MAP_FAILED) {
		munmap(area, span);
		return NULL;
	}
	if (addr > area)
		munmap(area, addr - area);
	munmap(addr + len, area + span - (addr + len));
	if (madvise(addr, len, MADV_POPULATE_READ)) {
		munmap(addr, len);
		return NULL;
	}
	return addr;
}

static int expected_mapcount(const struct thp_maps *m, int i)
{
	return m->pmd_maps + (i >= m->pte_lo && i < m->pte_hi);
}

static int expected_folio_mapcount(const struct thp_maps *m)
{
	return m->pmd_maps + (m->pte_hi - m->pte_lo);
}

/* What inspect says of the folio, as log_counts() prints it */
#define INSPECT_COUNTS_FMT \
	"# %s: inspect level=%s kind=%s mapcount=%d entire_mapcount=%d folio_mapcount=%d double_map=%d\n"

/*
 * Print the folio's mapcounts as the kernel reports them in /proc/kpagecount,
 * run-length encoded: "mapcount[0-255]=2 mapcount[256-511]=1".
 */
static void log_counts(const char *state, const uint64_t *count, int nr,
		       const struct inspect_entry *e)
{
	char buf[512];
	int i, start = 0, n = 0;

	for (i = 1; i <= nr; i++) {
		if (i < nr && count[i] == count[start])
			continue;
		n += snprintf(buf + n, sizeof(buf) - n, " mapcount[%d-%d]=%llu",
			      start, i - 1, (unsigned long long)count[start]);
		start = i;
	}
	printf("# %s: kpagecount%s\n", state, buf);
	if (e)
		printf(INSPECT_COUNTS_FMT, state, inspect_level_name(e->level), e->kind,
		       e->mapcount, e->entire_mapcount, e->folio_mapcount, e->double_map);
	/* The harness ends each test with _exit(): flush what it would lose. */
	fflush(stdout);
}

/*
 * PageDoubleMap of a file THP on 6.1 (line numbers of 6.1's mm/; anon
 * THPs follow other rules, in __split_huge_pmd_locked() and
 * page_remove_anon_compound_rmap()):
 *
 * R1 page_add_file_rmap(compound=false), rmap.c:1325-1328: a PTE map of any
 *    subpage of a compound page-cache page does
 *    SetPageDoubleMap(compound_head(page)), whether or not a PMD maps it.
 * R2 page_add_file_rmap(compound=true), rmap.c:1305-1316: only the PMD map
 *    that takes compound_mapcount from -1 to 0 (the first one) may clear
 *    it, and only when every subpage's _mapcount went from -1 to 0 with it,
 *    i.e. no PTE maps any page ("nr == nr_pages"). A PMD map added while
 *    PTEs map some page, or next to another PMD map, leaves it as it is.
 * R3 page_remove_file_rmap(), rmap.c:1340-1372, never clears it: unmapping
 *    the PMD (munmap(), or __split_huge_pmd_locked(), which for a file VMA
 *    only zaps it, huge_memory.c:2096-2123) or the PTEs leaves the flag as
 *    it was, so it can be set while only PMDs, or nothing, map the folio.
 *    Freeing the folio clears it (free_pages_prepare(), page_alloc.c:1462).
 *
 * So for a file THP the flag says "PTEs mapped this folio since its last
 * lone first PMD map", not "mapped both ways now", and nothing reads it:
 * file THPs count PMD maps in every subpage's _mapcount instead
 * (page_add_file_rmap() increments all of them, rmap.c:1301-1304), so
 * __page_mapcount() returns _mapcount + 1 before looking at the flag
 * (util.c:796) and folio_mapcount() subtracts compound_mapcount * nr
 * (util.c:832).
 *
 * @history: the flag before the change; @first_pmd: the change is a PMD map
 * with no other PMD map; @pte_now: a PTE maps some page after the change;
 * @pte_added: the change mapped PTEs.
 */
static int expected_double_map(int history, bool first_pmd, bool pte_now, bool pte_added)
{
	if (pte_added)
		return 1;				/* R1 */
	if (first_pmd && !pte_now)
		return 0;				/* R2 */
	return history;					/* R2, R3 */
}

/*
 * Check one state against every witness, then against inspect.
 * pmd_addr (may be NULL) maps the folio by a PMD; pte_addr (may be NULL)
 * maps pages [m->pte_lo, m->pte_hi) by PTEs, page pte_lo at pte_addr.
 * double_map is the expected PageDoubleMap on 6.1 (ignored elsewhere).
 */
static void check_state(struct __test_metadata *_metadata,
			SHMEM_THP_DATA *self, const char *state,
			const struct thp_maps *m, char *pmd_addr, char *pte_addr,
			int double_map)
{
	int nr = self->nr, i, ret;
	uint64_t *pm, *count, flags;
	struct inspect_entry e;
	char *probe[3];

	/* A PMD's pages: 512, 2048 with 16 KiB pages. Freed with the test's process. */
	pm = calloc(nr, sizeof(*pm));
	count = calloc(nr, sizeof(*count));
	ASSERT_NE(NULL, pm);
	ASSERT_NE(NULL, count);
	if (pmd_addr) {
		ASSERT_EQ(0, read_u64s("/proc/self/pagemap",
				       (uintptr_t)pmd_addr / getpagesize(), pm, nr));
		for (i = 0; i < nr; i++)
			ASSERT_EQ(self->head + i, pm[i] & PM_PFN_MASK)
				TH_LOG("%s: P page %d", state, i);
		EXPECT_EQ((long)self->pmd / 1024, smaps_field(pmd_addr, "ShmemPmdMapped"));
	}
	if (pte_addr) {
		int n = m->pte_hi - m->pte_lo;

		ASSERT_EQ(0, read_u64s("/proc/self/pagemap",
				       (uintptr_t)pte_addr / getpagesize(), pm, n));
		for (i = 0; i < n; i++)
			ASSERT_EQ(self->head + m->pte_lo + i, pm[i] & PM_PFN_MASK)
				TH_LOG("%s: Q page %d", state, i);
		EXPECT_EQ(0, smaps_field(pte_addr, "ShmemPmdMapped"));
	}
	/* Still one PMD-sized folio: the head and its flags did not change. */
	flags = util_kpageflags(self->head);
	ASSERT_TRUE(flags & (1ULL << KPF_THP)) TH_LOG("%s: kpageflags %#llx", state,
						      (unsigned long long)flags);
	ASSERT_TRUE(flags & (1ULL << KPF_COMPOUND_HEAD));

	ASSERT_EQ(0, read_u64s("/proc/kpagecount", self->head, count, nr));
	for (i = 0; i < nr; i++)
		ASSERT_EQ(expected_mapcount(m, i), (int)count[i])
			TH_LOG("%s: kpagecount of page %d", state, i);

	/* inspect at P (level pmd) and at Q (level pte), first and last page */
	probe[0] = pmd_addr;
	probe[1] = pte_addr;
	probe[2] = pte_addr ? pte_addr + (m->pte_hi - m->pte_lo - 1) * getpagesize() : NULL;
	for (i = 0; i < 3; i++) {
		int page;

		if (!probe[i])
			continue;
		ret = inspect_one(probe[i], &e);
		ASSERT_EQ(1, ret) TH_LOG("%s: inspect: %s", state,
					 ret ? strerror(-ret) : "nothing mapped");
		page = i ? m->pte_lo + (probe[i] - pte_addr) / getpagesize() : 0;
		if (!i || i == 1)
			log_counts(state, count, nr, &e);
		EXPECT_EQ(i ? INSPECT_LEVEL_PTE : INSPECT_LEVEL_PMD, e.level) TH_LOG("%s", state);
		EXPECT_STREQ("shmem", e.kind) TH_LOG("%s", state);
		EXPECT_EQ((long long)(self->head + page), e.pfn) TH_LOG("%s", state);
		EXPECT_EQ(__builtin_ctz(nr), e.order);
		EXPECT_EQ(expected_mapcount(m, page), e.mapcount) TH_LOG("%s", state);
		EXPECT_EQ(m->pmd_maps, e.entire_mapcount) TH_LOG("%s", state);
		EXPECT_EQ(expected_folio_mapcount(m), e.folio_mapcount) TH_LOG("%s", state);
		EXPECT_EQ(self->double_map ? double_map : -1, e.double_map)
			TH_LOG("%s: PageDoubleMap", state);
	}
	if (!pmd_addr && !pte_addr)
		log_counts(state, count, nr, NULL);
}

FIXTURE_SETUP(shmem_thp)
{
	char dir[64], opts[64], version[4096], path[96], *buf;
	ssize_t n;
	int err;

	self->fd = -1;
	self->pmd = util_pmd_size();
	if (!self->pmd)
		SKIP(return, "no THP: %s/hpage_pmd_size is missing", THP_DIR);
	self->nr = self->pmd / getpagesize();
	if (util_read_file(MMPROBE_DIR "/version", version, sizeof(version)) < 0)
		SKIP(return, "mmprobe is not loaded (%s/version)", MMPROBE_DIR);
	self->double_map = util_kv_get(version, "build.double_map") == 1;

	/*
	 * A tmpfs of our own, detached as soon as the file is open: the file
	 * keeps it alive, and nothing is left mounted whatever happens next.
	 */
	snprintf(dir, sizeof(dir), "/tmp/mmprobe-shmem-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(opts, sizeof(opts), "huge=always,size=%zu", 4 * self->pmd);
	if (mount("tmpfs", dir, "tmpfs", 0, opts)) {
		err = errno;
		rmdir(dir);
		SKIP(return, "mount -t tmpfs -o %s: %s", opts, strerror(err));
	}
	snprintf(path, sizeof(path), "%s/thp", dir);
	self->fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	err = errno;
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", path, strerror(err));
	/* One write of the whole folio: shmem_write_begin() allocates a THP. */
	buf = malloc(self->pmd);
	ASSERT_NE(NULL, buf);
	memset(buf, 0x5a, self->pmd);
	n = pwrite(self->fd, buf, self->pmd, 0);
	free(buf);
	ASSERT_EQ((ssize_t)self->pmd, n);
	self->ready = true;
}

FIXTURE_TEARDOWN(shmem_thp)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * Map P and find the folio: P's first page is a THP head and P's pages are
 * head + index. Skip when tmpfs did not give a PMD-sized folio.
 */
static char *map_pmd_first(struct __test_metadata *_metadata,
			   SHMEM_THP_DATA *self)
{
	uint64_t pm, flags;
	char *p;

	p = map_file(self, self->pmd, 0);
	if (!p)
		return NULL;
	pm = util_pagemap(p);
	if (!(pm & PM_PRESENT) || !(pm & PM_PFN_MASK))
		return NULL;
	self->head = pm & PM_PFN_MASK;
	flags = util_kpageflags(self->head);
	if (!(flags & (1ULL << KPF_THP)) || !(flags & (1ULL << KPF_COMPOUND_HEAD)) ||
	    smaps_field(p, "ShmemPmdMapped") != (long)self->pmd / 1024) {
		munmap(p, self->pmd);
		self->head = 0;
		return NULL;
	}
	return p;
}

#define MAP_PMD_FIRST(p) do { \
	char *_p = map_pmd_first(_metadata, self); \
	if (!_p) \
		SKIP(return, "tmpfs huge=always gave no PMD-mapped THP (kpageflags, smaps " \
		     "ShmemPmdMapped); check %s/shmem_enabled is not deny", THP_DIR); \
	p = _p; \
} while (0)

/*
 * One process: P by PMD, then Q (the first half) by PTEs; inspect sees a
 * PMD at P and PTEs at Q, both naming the same folio and its counts.
 */
TEST_F(shmem_thp, pmd_and_pte_one_process)
{
	struct thp_maps m = { .pmd_maps = 1 };
	int half = self->nr / 2;
	char *p, *q;

	if (!self->ready)
		return;
	MAP_PMD_FIRST(p);
	check_state(_metadata, self, "P", &m, p, NULL, 0);
	q = map_file(self, half * getpagesize(), getpagesize());
	ASSERT_NE(NULL, q);
	m.pte_hi = half;
	check_state(_metadata, self, "P+Q", &m, p, q, 1);
	munmap(q, half * getpagesize());
	m.pte_hi = 0;
	/* R3: unmapping the PTEs leaves PageDoubleMap set */
	check_state(_metadata, self, "P, Q unmapped", &m, p, NULL, 1);
	munmap(p, self->pmd);
}

/* Tell the other side of a pipe that a step is done (with a value); wait. */
static int step_send(int fd, uint64_t val)
{
	return write(fd, &val, sizeof(val)) == sizeof(val) ? 0 : -1;
}

static int step_wait(int fd, uint64_t *val)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return -1;
	if (val)
		*val = v;
	return 0;
}

/* The child of pmd_and_pte_two_processes(); its exit code says what failed. */
static int two_processes_child(SHMEM_THP_DATA *self, char *p, int in, int out)
{
	int half = self->nr / 2, rc = 0;
	struct inspect_entry e;
	char *q;

	q = map_file(self, half * getpagesize(), getpagesize());
	if (!q || inspect_one(q, &e) != 1 || e.level != INSPECT_LEVEL_PTE ||
	    e.pfn != (long long)self->head || e.mapcount != 2 || e.entire_mapcount != 1)
		rc |= 1;
	if (step_send(out, (uintptr_t)q) || step_wait(in, NULL))
		return 2;
	/* P in the child: fork() did not copy it; this fault maps a PMD. */
	if (madvise(p, self->pmd, MADV_POPULATE_READ) || inspect_one(p, &e) != 1 ||
	    e.level != INSPECT_LEVEL_PMD || e.entire_mapcount != 2)
		rc |= 4;
	if (step_send(out, 0) || step_wait(in, NULL))
		return 2;
	return rc;
}

/*
 * Two processes: the parent maps P by PMD; a child maps Q by PTEs, then
 * maps P too, which its fork() did not copy (a shared file VMA without
 * anon_vma: vma_needs_copy() is false), so its fault adds a second PMD map.
 * The parent checks the folio's counts at each step and inspects the
 * child's Q by pid; when the child exits, its maps are gone.
 */
TEST_F(shmem_thp, pmd_and_pte_two_processes)
{
	struct thp_maps m = { .pmd_maps = 1 };
	int half = self->nr / 2, to_child[2], to_parent[2], status, i, n;
	struct inspect_entry *ents;
	uint64_t q;
	char *p;
	pid_t pid;

	if (!self->ready)
		return;
	MAP_PMD_FIRST(p);
	check_state(_metadata, self, "parent P", &m, p, NULL, 0);
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	self->child = pid;
	if (!pid) {
		close(to_child[1]);
		close(to_parent[0]);
		_exit(two_processes_child(self, p, to_child[0], to_parent[1]));
	}
	/* The child sees EOF, and exits, if this test ends early. */
	close(to_child[0]);
	close(to_parent[1]);
	ASSERT_EQ(0, step_wait(to_parent[0], &q));
	ASSERT_NE(0, q) TH_LOG("the child could not map Q");
	m.pte_hi = half;
	check_state(_metadata, self, "parent P + child Q", &m, p, NULL, 1);
	ents = calloc(half, sizeof(*ents));
	ASSERT_NE(NULL, ents);
	n = inspect_range(pid, q, q + half * getpagesize(), ents, half);
	ASSERT_EQ(half, n);
	for (i = 0; i < half; i++) {
		ASSERT_EQ(INSPECT_LEVEL_PTE, ents[i].level) TH_LOG("child Q page %d", i);
		ASSERT_EQ((long long)(self->head + i), ents[i].pfn);
		ASSERT_EQ(2, ents[i].mapcount);
		ASSERT_EQ(1, ents[i].entire_mapcount);
		ASSERT_EQ(expected_folio_mapcount(&m), ents[i].folio_mapcount);
	}
	free(ents);
	ASSERT_EQ(0, step_send(to_child[1], 0));
	ASSERT_EQ(0, step_wait(to_parent[0], NULL));
	m.pmd_maps = 2;
	check_state(_metadata, self, "parent P + child P+Q", &m, p, NULL, 1);
	ASSERT_EQ(0, step_send(to_child[1], 0));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	self->child = 0;
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("child: 1 = its Q, 4 = its P wrong, 2 = pipe");
	m.pmd_maps = 1;
	m.pte_hi = 0;
	check_state(_metadata, self, "parent P, child gone", &m, p, NULL, 1);
	close(to_child[1]);
	close(to_parent[0]);
	munmap(p, self->pmd);
}

/*
 * The PMD mappings go and come back while PTE mappings stay, then the
 * PTEs go and only PMDs come back: the counts follow the maps on every
 * kernel, PageDoubleMap (6.1) follows R1-R3 of expected_double_map().
 */
TEST_F(shmem_thp, pmd_unmap_and_remap)
{
	struct thp_maps m = { .pmd_maps = 1 };
	int half = self->nr / 2, dm = 0;
	char *p, *p2, *q;

	if (!self->ready)
		return;
	MAP_PMD_FIRST(p);
	check_state(_metadata, self, "1 P", &m, p, NULL, dm);

	q = map_file(self, half * getpagesize(), getpagesize());
	ASSERT_NE(NULL, q);
	m.pte_hi = half;
	dm = expected_double_map(dm, false, true, true);
	check_state(_metadata, self, "2 P+Q", &m, p, q, dm);

	/* The only PMD map goes: anon THPs would clear the flag here, file ones not. */
	munmap(p, self->pmd);
	m.pmd_maps = 0;
	dm = expected_double_map(dm, false, true, false);
	check_state(_metadata, self, "3 Q", &m, NULL, q, dm);

	/* A first PMD map again, but PTEs map half the pages: stays set. */
	p = map_file(self, self->pmd, 0);
	ASSERT_NE(NULL, p);
	m.pmd_maps = 1;
	dm = expected_double_map(dm, true, true, false);
	check_state(_metadata, self, "4 P+Q (P again)", &m, p, q, dm);

	/* The PTEs go: stale, the flag is set with only a PMD mapping. */
	munmap(q, half * getpagesize());
	m.pte_hi = 0;
	dm = expected_double_map(dm, false, false, false);
	check_state(_metadata, self, "5 P", &m, p, NULL, dm);

	/* A second PMD map is not the first: still set. */
	p2 = map_file(self, self->pmd, 0);
	ASSERT_NE(NULL, p2);
	m.pmd_maps = 2;
	dm = expected_double_map(dm, false, false, false);
	check_state(_metadata, self, "6 P+P2", &m, p2, NULL, dm);

	/* Nothing maps the folio (the page cache keeps it); then one PMD: cleared. */
	munmap(p, self->pmd);
	munmap(p2, self->pmd);
	m.pmd_maps = 0;
	check_state(_metadata, self, "7 unmapped", &m, NULL, NULL, dm);
	p = map_file(self, self->pmd, 0);
	ASSERT_NE(NULL, p);
	m.pmd_maps = 1;
	dm = expected_double_map(dm, true, false, false);
	check_state(_metadata, self, "8 P (first PMD, no PTEs)", &m, p, NULL, dm);
	ASSERT_EQ(0, dm);
	munmap(p, self->pmd);
}

TEST_HARNESS_MAIN
