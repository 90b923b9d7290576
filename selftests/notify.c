// SPDX-License-Identifier: GPL-2.0
/*
 * notify: the mmu-notifier tracer itself. First changes to the test's own
 * address space whose mmu-notifier traffic the kernel source fixes (the event
 * of mprotect, munmap, mremap, MADV_DONTNEED, clear_refs, a COW fault), each
 * checked against what the tracer reports; then its own contract: sequence
 * numbers, consuming and partial reads, "clear", the lost-record accounting,
 * errors, and a traced process exiting while its tracer lives on elsewhere.
 *
 * khugepaged, reclaim or the reader's own heap may add events at any time,
 * so every check looks at the events of the range under test only.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mmprobe_util.h"
#include "notify_util.h"

#define NR_PAGES	16
#define RING_SIZE	4096	/* module/notify.c NOTIFY_RING_SIZE */
#define KPF_KSM		21

FIXTURE(notify) {
	bool ready;		/* 6.1's harness runs the test after a setup SKIP */
	size_t pagesize;
	size_t len;
	char *mem;
	int fd;
};

/* The fixture data, as the helpers below take it */
#define NOTIFY_DATA FIXTURE_DATA(notify)

FIXTURE_SETUP(notify)
{
	self->fd = -1;
	if (access(NOTIFY_PATH, F_OK))
		SKIP(return, "no %s: load mmprobe.ko", NOTIFY_PATH);
	self->pagesize = getpagesize();
	self->len = NR_PAGES * self->pagesize;
	self->mem = util_mmap_small(self->len, 0x5a);
	ASSERT_NE(NULL, self->mem);
	self->fd = notify_open();
	ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(-self->fd));
	self->ready = true;
}

FIXTURE_TEARDOWN(notify)
{
	util_settings_restore();
	if (self->fd >= 0)
		close(self->fd);
	if (self->mem)
		munmap(self->mem, self->len);
}

/* A page user copies fault on. The caller munmaps it. */
static void *notify_bad_buffer(size_t pagesize)
{
	void *p = mmap(NULL, pagesize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

#define NOTIFY_READY() do { \
	if (!self->ready) \
		SKIP(return, "setup did not complete"); \
} while (0)

/*
 * The start/end pair of one invalidation of [start, end) with this event:
 * both present, the same range, blockable, end after start, both run by
 * this thread. Returns the start record.
 */
static const struct notify_event *
notify_pair(struct __test_metadata *_metadata, const struct notify_log *log,
	    const char *event, uintptr_t start, uintptr_t end)
{
	const struct notify_event *s, *e;

	s = notify_find(log, 0, "invalidate_range_start", event, start, end);
	if (!s) {
		notify_dump(log, start, end);
		return NULL;
	}
	e = notify_find(log, s - log->ev, "invalidate_range_end", event, start, end);
	EXPECT_NE(NULL, e);
	if (!e)
		return s;
	EXPECT_EQ(s->start, e->start);
	EXPECT_EQ(s->end, e->end);
	EXPECT_LT(s->seq, e->seq);
	EXPECT_LE(s->start, (uint64_t)start);
	EXPECT_GE(s->end, (uint64_t)end);
	EXPECT_EQ(1, s->blockable);
	EXPECT_EQ(0, s->owner);
	EXPECT_EQ(gettid(), s->pid);
	return s;
}

/* The file is a 0600 command file, a stream without a position. */
TEST_F(notify, mode)
{
	struct stat st;

	NOTIFY_READY();
	ASSERT_EQ(0, stat(NOTIFY_PATH, &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
	errno = 0;
	EXPECT_EQ(-1, lseek(self->fd, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
}

/*
 * The changes whose mmu-notifier traffic the kernel source fixes: each runs on
 * a fresh populated region of NR_PAGES and must show one start/end pair of
 * its event over its range.
 */
enum notify_range { NOTIFY_REGION, NOTIFY_PAGE, NOTIFY_ALL };

struct notify_case {
	const char *name;
	int (*run)(char *mem, size_t len, size_t pagesize);
	const char *event;
	enum notify_range range;	/* what the invalidation must cover */
};

/* change_protection() */
static int notify_do_mprotect(char *mem, size_t len, size_t pagesize)
{
	return mprotect(mem, len, PROT_READ);
}

/* unmap_region(); the region is gone afterwards */
static int notify_do_munmap(char *mem, size_t len, size_t pagesize)
{
	return munmap(mem, len);
}

/* zap_page_range_single() */
static int notify_do_dontneed(char *mem, size_t len, size_t pagesize)
{
	return madvise(mem, len, MADV_DONTNEED);
}

/* move_page_tables() unmaps the old range; the region is gone afterwards */
static int notify_do_mremap(char *mem, size_t len, size_t pagesize)
{
	char *to = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (to == MAP_FAILED)
		return -1;
	if (mremap(mem, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to) != to) {
		munmap(to, len);
		return -1;
	}
	return munmap(to, len);
}

/* fs/proc/task_mmu.c clear_refs_write(): the whole address space */
static int notify_do_clear_refs(char *mem, size_t len, size_t pagesize)
{
	return util_write_file("/proc/self/clear_refs", "4");
}

/* wp_page_copy() of the zero page at page 3: exactly that page */
static int notify_do_cow(char *mem, size_t len, size_t pagesize)
{
	mem[3 * pagesize] = 1;
	return 0;
}

static const struct notify_case notify_cases[] = {
	{ "mprotect", notify_do_mprotect, "protection_vma", NOTIFY_REGION },
	{ "munmap", notify_do_munmap, "unmap", NOTIFY_REGION },
	{ "mremap", notify_do_mremap, "unmap", NOTIFY_REGION },
	{ "MADV_DONTNEED", notify_do_dontneed, "clear", NOTIFY_REGION },
	{ "clear_refs", notify_do_clear_refs, "soft_dirty", NOTIFY_ALL },
	{ "COW of the zero page", notify_do_cow, "clear", NOTIFY_PAGE },
};

TEST_F(notify, event_of_each_change)
{
	const struct notify_case *c;
	const struct notify_event *ev;
	struct notify_log log = { 0 };
	uintptr_t s, e;
	unsigned int i;
	char *mem;

	NOTIFY_READY();
	for (i = 0; i < ARRAY_SIZE(notify_cases); i++) {
		c = &notify_cases[i];
		mem = util_mmap_small(self->len, 0x5a);
		ASSERT_NE(NULL, mem);
		s = (uintptr_t)mem;
		e = s + self->len;
		if (c->range == NOTIFY_PAGE) {
			/* read-faulted: the zero page, a write COWs it */
			ASSERT_EQ(0, madvise(mem, self->len, MADV_DONTNEED));
			ASSERT_EQ(0, *(volatile char *)(mem + 3 * self->pagesize));
			s += 3 * self->pagesize;
			e = s + self->pagesize;
		}
		ASSERT_EQ(0, notify_clear(self->fd));
		ASSERT_EQ(0, c->run(mem, self->len, self->pagesize)) TH_LOG("%s", c->name);
		ASSERT_LE(0, notify_read(self->fd, &log));
		ev = notify_pair(_metadata, &log, c->event, s, e);
		EXPECT_NE(NULL, ev) TH_LOG("%s: no %s invalidation", c->name, c->event);
		if (ev && c->range == NOTIFY_ALL) {
			EXPECT_EQ(0, ev->start);
			EXPECT_EQ(~0ULL, ev->end);
		}
		if (ev && c->range == NOTIFY_PAGE) {
			EXPECT_EQ(s, ev->start);
			EXPECT_EQ(e, ev->end);
			EXPECT_EQ(1, notify_count(&log, "invalidate_range_start", NULL, s, e));
		}
		/* mprotect flushes the secondary TLBs of the range (6.1: at range end) */
		if (c->run == notify_do_mprotect)
			EXPECT_LE(1, notify_count(&log, NOTIFY_CB_TLB, NULL, s, e));
		notify_log_free(&log);
		if (c->run != notify_do_munmap && c->run != notify_do_mremap)
			munmap(mem, self->len);
	}
}

/*
 * MADV_PAGEOUT swaps each page out inside an MMU_NOTIFY_CLEAR invalidation of
 * that page (try_to_unmap_one()). Until v6.9 ("mm: madvise: pageout: ignore
 * references rather than clearing young") reclaim first asked every mapping
 * whether the page was young: one clear_flush_young per page; since, none.
 *
 * Which of the two this kernel does cannot be seen from user space without
 * a notifier: madvise clears the young bits itself before reclaim asks, so
 * the question changes nothing a process can observe, and no symbol tells
 * (reclaim_pages() is in both). The test asserts what holds either way -
 * every page asked, or none - and reports which; it does not assert which
 * from the release number.
 */
TEST_F(notify, pageout_clears_each_page)
{
	const size_t nr = self->len / self->pagesize;
	struct notify_log log = { 0 };
	uintptr_t s = (uintptr_t)self->mem, e = s + self->len;
	const struct notify_event *ev;
	size_t i, swapped = 0, young;
	char swaps[4096];

	NOTIFY_READY();
	if (util_read_file("/proc/swaps", swaps, sizeof(swaps)) <= 0 || !strchr(swaps, '\n') ||
	    !strchr(strchr(swaps, '\n') + 1, '/'))
		SKIP(return, "no swap device: MADV_PAGEOUT keeps anonymous pages");
	ASSERT_EQ(0, notify_clear(self->fd));
	ASSERT_EQ(0, madvise(self->mem, self->len, MADV_PAGEOUT));
	ASSERT_LE(0, notify_read(self->fd, &log));
	for (i = 0; i < nr; i++)
		swapped += !!(util_pagemap(self->mem + i * self->pagesize) & PM_SWAP);
	ASSERT_EQ(nr, swapped) TH_LOG("pagemap: only %zu of %zu pages swapped out", swapped, nr);

	for (i = 0; i < nr; i++) {
		uintptr_t page = s + i * self->pagesize;

		ev = notify_pair(_metadata, &log, "clear", page, page + self->pagesize);
		ASSERT_NE(NULL, ev) TH_LOG("page %zu", i);
		EXPECT_EQ(page, ev->start);
		EXPECT_EQ(page + self->pagesize, ev->end);
	}
	EXPECT_EQ(nr, notify_count(&log, "invalidate_range_start", NULL, s, e));
	young = notify_count(&log, "clear_flush_young", NULL, s, e);
	TH_LOG("clear_flush_young: %zu of %zu pages (reclaim %s references)", young, nr,
	       young ? "checks" : "ignores");
	EXPECT_TRUE(young == 0 || young == nr) TH_LOG("%zu young checks for %zu pages",
						      young, nr);
	EXPECT_LE(1, notify_count(&log, NOTIFY_CB_TLB, NULL, s, e));
	notify_log_free(&log);
}

/*
 * Does the running kernel have the change_pte notifier? Its dispatcher,
 * __mmu_notifier_change_pte(), is in /proc/kallsyms exactly when it does:
 * 1, 0, or -1 when kallsyms cannot be read.
 */
static int notify_kernel_has_change_pte(void)
{
	char line[256], name[200];
	int found = 0;
	FILE *f;

	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %199s", name) == 1 &&
			!strcmp(name, "__mmu_notifier_change_pte");
	fclose(f);
	return found;
}

/*
 * KSM merges identical pages from ksmd: each page is write-protected and
 * replaced by the KSM page inside MMU_NOTIFY_CLEAR invalidations of that
 * page, run by ksmd, not by us. Until v6.9 ("KVM, mm: remove the
 * .change_pte() MMU notifier and set_pte_at_notify()") each of those PTE
 * changes also called change_pte; since, the callback is gone. Which this
 * kernel is, its symbol table says (a backport has the symbol or not).
 * 90 s: the whole of /proc/kallsyms and ksmd's scan took more than the
 * harness's 30 s in an arm64 TCG guest on a busy host.
 */
TEST_F_TIMEOUT(notify, ksm_merge, 90)
{
	const size_t nr = self->len / self->pagesize;
	const int change_pte = notify_kernel_has_change_pte();
	struct notify_log log = { 0 };
	uintptr_t s = (uintptr_t)self->mem, e = s + self->len;
	const struct notify_event *ev;
	size_t i, merged = 0, starts, changes;
	uint64_t pfn;
	int tries;

	NOTIFY_READY();
	if (access("/sys/kernel/mm/ksm/run", W_OK))
		SKIP(return, "no KSM (CONFIG_KSM) on this kernel");
	memset(self->mem, 0x6b, self->len);
	ASSERT_EQ(0, madvise(self->mem, self->len, MADV_MERGEABLE));
	ASSERT_EQ(0, notify_clear(self->fd));
	ASSERT_EQ(0, util_setting_set("/sys/kernel/mm/ksm/sleep_millisecs", "0"));
	ASSERT_EQ(0, util_setting_set("/sys/kernel/mm/ksm/pages_to_scan", "5000"));
	ASSERT_EQ(0, util_setting_set("/sys/kernel/mm/ksm/run", "1"));
	for (tries = 0; tries < 200 && merged < nr; tries++) {
		usleep(50000);
		pfn = util_pagemap(self->mem) & PM_PFN_MASK;
		for (i = 0, merged = 0; i < nr; i++) {
			uint64_t pm = util_pagemap(self->mem + i * self->pagesize);

			merged += (pm & PM_PFN_MASK) == pfn &&
				  (util_kpageflags(pfn) & (1ULL << KPF_KSM));
		}
	}
	util_settings_restore();
	ASSERT_EQ(nr, merged) TH_LOG("ksmd merged %zu of %zu pages in 10 s", merged, nr);
	ASSERT_LE(0, notify_read(self->fd, &log));

	starts = notify_count(&log, "invalidate_range_start", "clear", s, e);
	EXPECT_LE(nr, starts);
	ev = notify_find(&log, 0, "invalidate_range_start", "clear", s, e);
	ASSERT_NE(NULL, ev);
	EXPECT_NE(gettid(), ev->pid);
	EXPECT_EQ(ev->start + self->pagesize, ev->end);
	changes = notify_count(&log, "change_pte", NULL, s, e);
	TH_LOG("__mmu_notifier_change_pte in /proc/kallsyms: %d; change_pte: %zu",
	       change_pte, changes);
	if (change_pte >= 0) {
		EXPECT_EQ(change_pte ? starts : 0, changes);
	} else {
		/* No symbol table to ask: each invalidation with change_pte, or none. */
		EXPECT_TRUE(changes == 0 || changes == starts);
	}
	notify_log_free(&log);
}

static void *notify_thread_mprotect(void *arg)
{
	NOTIFY_DATA *self = arg;
	static pid_t tid;

	tid = gettid();
	if (mprotect(self->mem, self->len, PROT_READ))
		return NULL;
	return &tid;
}

/* pid= is the thread that caused the callback, not the opener. */
TEST_F(notify, pid_is_the_thread)
{
	struct notify_log log = { 0 };
	uintptr_t s = (uintptr_t)self->mem, e = s + self->len;
	const struct notify_event *ev;
	pthread_t thread;
	pid_t *tid;

	NOTIFY_READY();
	ASSERT_EQ(0, notify_clear(self->fd));
	ASSERT_EQ(0, pthread_create(&thread, NULL, notify_thread_mprotect, self));
	ASSERT_EQ(0, pthread_join(thread, (void **)&tid));
	ASSERT_NE(NULL, tid);
	ASSERT_LE(0, notify_read(self->fd, &log));
	ev = notify_find(&log, 0, "invalidate_range_start", "protection_vma", s, e);
	ASSERT_NE(NULL, ev);
	EXPECT_EQ(*tid, ev->pid);
	EXPECT_NE(gettid(), ev->pid);
	notify_log_free(&log);
}

/*
 * Reading consumes, as a byte stream: any read size gives whole lines in
 * order, sequence numbers rising by one, until a read returns 0.
 */
TEST_F(notify, partial_reads)
{
	uintptr_t s = (uintptr_t)self->mem, e = s + self->len;
	struct notify_log log = { 0 };
	static char buf[65536];
	struct notify_event ev;
	uint64_t last = 0;
	size_t have = 0;
	char *line, *nl;
	ssize_t n;
	int i;

	NOTIFY_READY();
	memset(buf, 0, sizeof(buf));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, mprotect(self->mem, self->len, i & 1 ? PROT_READ :
				      PROT_READ | PROT_WRITE));
	while (have < sizeof(buf) - 1) {
		n = read(self->fd, buf + have, 1 + have % 7);
		ASSERT_LE(0, n);
		if (!n)
			break;
		have += n;
	}
	ASSERT_LT(0, have);
	ASSERT_EQ('\n', buf[have - 1]);
	buf[have] = '\0';
	for (line = buf; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		*nl = '\0';
		ASSERT_EQ(0, notify_parse(line, &ev)) TH_LOG("'%s'", line);
		ASSERT_STRNE("lost", ev.cb);
		if (last)
			ASSERT_EQ(last + 1, ev.seq);
		last = ev.seq;
	}
	EXPECT_LE(16, last);

	/* Consumed: what is left came later, from elsewhere (khugepaged...). */
	ASSERT_LE(0, notify_read(self->fd, &log));
	EXPECT_EQ(0, notify_count(&log, "invalidate_range_start", NULL, s, e));
	notify_log_free(&log);
}

/* "clear" drops what was not read; numbering goes on. */
TEST_F(notify, clear_discards)
{
	struct notify_log log = { 0 };
	uintptr_t s = (uintptr_t)self->mem, half = s + self->len / 2;

	NOTIFY_READY();
	ASSERT_EQ(0, mprotect(self->mem, self->len / 2, PROT_READ));
	ASSERT_EQ(0, notify_clear(self->fd));
	ASSERT_EQ(0, mprotect((char *)half, self->len / 2, PROT_READ));
	ASSERT_LE(0, notify_read(self->fd, &log));
	EXPECT_EQ(0, notify_count(&log, NULL, NULL, s, half));
	EXPECT_NE(NULL, notify_pair(_metadata, &log, "protection_vma", half,
				    half + self->len / 2));
	ASSERT_LT(0, log.nr);
	EXPECT_LT(2, log.ev[0].seq);
	notify_log_free(&log);
}

/*
 * A full ring keeps its first RING_SIZE - 1 records and ends with one "lost"
 * record counting the rest; once read, recording resumes with the next
 * sequence number. The stats file counts both.
 */
TEST_F(notify, lost_records)
{
	long long lost_before, lost_after;
	struct notify_log log = { 0 };
	const struct notify_event *lost;
	char stats[4096];
	uint64_t next;
	size_t i;

	NOTIFY_READY();
	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/stats", stats, sizeof(stats)));
	lost_before = util_kv_get(stats, "notify_lost");
	ASSERT_LE(0, lost_before);
	/* No realloc() (and its mremap()) while reading the full ring. */
	ASSERT_EQ(0, notify_log_reserve(&log, 2 * RING_SIZE));
	ASSERT_EQ(0, notify_clear(self->fd));
	/* each mprotect: a start and an end record at least */
	for (i = 0; i < RING_SIZE; i++)
		ASSERT_EQ(0, mprotect(self->mem, self->len, i & 1 ? PROT_READ :
				      PROT_READ | PROT_WRITE));
	ASSERT_LE(RING_SIZE, notify_read(self->fd, &log));
	for (i = 1; i < RING_SIZE; i++)
		ASSERT_EQ(log.ev[i - 1].seq + 1, log.ev[i].seq) TH_LOG("record %zu", i);
	lost = &log.ev[RING_SIZE - 1];
	ASSERT_STREQ("lost", lost->cb);
	EXPECT_LE(RING_SIZE, lost->count);
	EXPECT_EQ(lost->count, log.lost);
	EXPECT_EQ(1, notify_count(&log, "lost", NULL, 0, 0));
	next = lost->seq + lost->count;

	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/stats", stats, sizeof(stats)));
	lost_after = util_kv_get(stats, "notify_lost");
	EXPECT_LE(lost_before + (long long)lost->count, lost_after);

	/* Room again: recording resumes, numbered after the lost ones. */
	notify_log_free(&log);
	ASSERT_EQ(0, mprotect(self->mem, self->len, PROT_READ));
	ASSERT_LT(0, notify_read(self->fd, &log));
	EXPECT_EQ(0, notify_count(&log, "lost", NULL, 0, 0));
	EXPECT_LE(next, log.ev[0].seq);
	notify_log_free(&log);
}

/* Two tracers of one mm see the same invalidations, numbered each its own. */
TEST_F(notify, two_tracers)
{
	struct notify_log a = { 0 }, b = { 0 };
	uintptr_t s = (uintptr_t)self->mem, e = s + self->len;
	const struct notify_event *ea, *eb;
	int fd2;

	NOTIFY_READY();
	fd2 = notify_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, notify_clear(self->fd));
	ASSERT_EQ(0, madvise(self->mem, self->len, MADV_DONTNEED));
	ASSERT_LE(0, notify_read(self->fd, &a));
	ASSERT_LE(0, notify_read(fd2, &b));
	close(fd2);
	ea = notify_find(&a, 0, "invalidate_range_start", "clear", s, e);
	eb = notify_find(&b, 0, "invalidate_range_start", "clear", s, e);
	ASSERT_NE(NULL, ea);
	ASSERT_NE(NULL, eb);
	EXPECT_EQ(ea->start, eb->start);
	EXPECT_EQ(ea->end, eb->end);
	EXPECT_EQ(notify_count(&a, NULL, NULL, s, e), notify_count(&b, NULL, NULL, s, e));
	notify_log_free(&a);
	notify_log_free(&b);
}

/* Anything but "clear" is EINVAL, an unreadable buffer EFAULT. */
TEST_F(notify, bad_writes)
{
	static const char *const bad[] = { "", "foo\n", "clearx", "clear clear",
					   "CLEAR", "clear\n\n\n\n" };
	unsigned int i;
	void *fault;

	NOTIFY_READY();
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(-1, write(self->fd, bad[i], strlen(bad[i])));
		EXPECT_EQ(EINVAL, errno) TH_LOG("write '%s'", bad[i]);
	}
	fault = notify_bad_buffer(self->pagesize);
	ASSERT_NE(NULL, fault);
	errno = 0;
	EXPECT_EQ(-1, write(self->fd, fault, 5));
	EXPECT_EQ(EFAULT, errno);
	munmap(fault, self->pagesize);
}

/* A read into a bad buffer is EFAULT and loses nothing. */
TEST_F(notify, read_fault_keeps_the_record)
{
	struct notify_log log = { 0 };
	uintptr_t s = (uintptr_t)self->mem, e = s + self->len;
	void *fault;

	NOTIFY_READY();
	fault = notify_bad_buffer(self->pagesize);
	ASSERT_NE(NULL, fault);
	ASSERT_EQ(0, notify_clear(self->fd));
	ASSERT_EQ(0, mprotect(self->mem, self->len, PROT_READ));
	errno = 0;
	EXPECT_EQ(-1, read(self->fd, fault, self->pagesize));
	EXPECT_EQ(EFAULT, errno);
	munmap(fault, self->pagesize);
	ASSERT_LE(0, notify_read(self->fd, &log));
	EXPECT_NE(NULL, notify_pair(_metadata, &log, "protection_vma", s, e));
	notify_log_free(&log);
}

#ifndef __NR_pidfd_open
#define __NR_pidfd_open		434
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd	438
#endif

/*
 * The traced process exits while another holds its tracer: exit_mmap()
 * calls ->release, which is the last record; closing afterwards, in the
 * other process, unregisters from the dead mm (a splat would fail the run).
 * The child's tracer is taken with pidfd_getfd(2) (5.6), which needs no
 * AF_UNIX socket: the debug kernel is built without networking.
 */
TEST_F(notify, release_when_the_mm_exits)
{
	struct notify_log log = { 0 };
	const struct notify_event *ev;
	int ready[2], go[2], pidfd, fd, child_fd, status;
	pid_t child;
	char *mem, c;

	NOTIFY_READY();
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		close(ready[0]);
		close(go[1]);
		fd = notify_open();
		mem = util_mmap_small(self->len, 0x5a);
		if (fd < 0 || !mem || mprotect(mem, self->len, PROT_READ) ||
		    write(ready[1], &fd, sizeof(fd)) != sizeof(fd))
			_exit(1);
		/* Exit once the parent holds the tracer too. */
		_exit(read(go[0], &c, 1) != 1);
	}
	close(ready[1]);
	close(go[0]);
	fd = -1;
	/* No message: the child failed and is gone (and go has no reader). */
	if (read(ready[0], &child_fd, sizeof(child_fd)) == sizeof(child_fd)) {
		pidfd = syscall(__NR_pidfd_open, child, 0);
		if (pidfd >= 0) {
			fd = syscall(__NR_pidfd_getfd, pidfd, child_fd, 0);
			close(pidfd);
		}
		ASSERT_EQ(1, write(go[1], "x", 1));
	}
	close(go[1]);
	close(ready[0]);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_LE(0, fd) TH_LOG("pidfd_getfd: %s", strerror(errno));

	ASSERT_LT(0, notify_read(fd, &log));
	ASSERT_LT(0, log.nr);
	ev = &log.ev[log.nr - 1];
	EXPECT_STREQ("release", ev->cb);
	EXPECT_EQ(child, ev->pid);
	EXPECT_EQ(1, notify_count(&log, "release", NULL, 0, 0));
	EXPECT_LE(1, notify_count(&log, "invalidate_range_start", "protection_vma", 0, 0));
	notify_log_free(&log);
	/* Nothing after the release. */
	EXPECT_EQ(0, notify_read(fd, &log));
	EXPECT_EQ(0, close(fd));
	notify_log_free(&log);
}

/* Opening counts in stats; each open and close is a full register/unregister. */
TEST_F(notify, open_close_cycles)
{
	long long before, after;
	char stats[4096];
	int i, fd;

	NOTIFY_READY();
	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/stats", stats, sizeof(stats)));
	before = util_kv_get(stats, "notify_opens");
	for (i = 0; i < 32; i++) {
		fd = notify_open();
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, madvise(self->mem, self->pagesize, MADV_DONTNEED));
		ASSERT_EQ(0, close(fd));
	}
	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/stats", stats, sizeof(stats)));
	after = util_kv_get(stats, "notify_opens");
	EXPECT_LE(before + 32, after);
}

TEST_HARNESS_MAIN
