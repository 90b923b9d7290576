// SPDX-License-Identifier: GPL-2.0
/*
 * audit: /sys/kernel/debug/mmprobe/audit checks mm invariants over the page
 * tables of live processes (Documentation/audit.rst).
 *
 * - It can fail: with the module parameter audit_inject set, "inject <addr>"
 *   clears PG_anon_exclusive of one writable anonymous page of ours under
 *   its page table lock, audits that page and sets the bit again; the report
 *   must have exactly that violation, and the page must be exclusive again
 *   afterwards (inspect, and a write that does not copy it: pagemap).
 * - Its count is right: the entries it checks over a range are the pages
 *   that /proc/self/pagemap says are present there.
 * - A clean process and the whole machine have no violation, also with
 *   memory in every state this program can make (THP, fork-shared, file,
 *   zero page, swap where configured).
 * - It holds against concurrent munmap, MADV_DONTNEED, THP collapse and
 *   split, migration (move_pages) and fork, auditing us and "all" in a loop:
 *   0 violations; the runner fails the program on any kernel splat.
 * - Bad input gets the documented errno.
 * - Speed: the audit of a range against reading pagemap and kpageflags for
 *   it, printed as a ratio (AUDIT_BENCH_MB, default 64), never asserted.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "inspect_util.h"
#include "mmprobe_util.h"
#include "robust_util.h"

#define AUDIT_FILE	MMPROBE_DIR "/audit"
#define INJECT_PARAM	"/sys/module/mmprobe/parameters/audit_inject"
#define REPORT_MAX	(192 << 10)

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

/* Audit [start, end) of ourselves. */
static int audit_self(const void *start, const void *end, char *buf, size_t len,
		      struct util_audit_totals *t)
{
	char cmd[96];
	int ret;

	snprintf(cmd, sizeof(cmd), "0 0x%lx 0x%lx", (unsigned long)start, (unsigned long)end);
	ret = util_audit(cmd, buf, len);
	if (!ret && util_audit_totals(buf, t))
		ret = -EPROTO;
	return ret;
}

FIXTURE(audit) {
	char *report;
	size_t page;
};

FIXTURE_SETUP(audit)
{
	self->page = getpagesize();
	self->report = malloc(REPORT_MAX);
	ASSERT_NE(NULL, self->report);
	/* The file is part of every build: its absence is a failure. */
	ASSERT_EQ(0, access(AUDIT_FILE, R_OK | W_OK))
		TH_LOG("%s: %s (is mmprobe loaded?)", AUDIT_FILE, strerror(errno));
}

FIXTURE_TEARDOWN(audit)
{
	util_write_file(INJECT_PARAM, "0");
	free(self->report);
}

/* The entries checked over a range are the pages pagemap says are present. */
TEST_F(audit, counts_what_pagemap_sees)
{
	const size_t nr = 64;
	struct util_audit_totals t;
	size_t i, present = 0;
	char *mem;

	mem = util_mmap_small(nr * self->page, -1);
	ASSERT_NE(NULL, mem);
	/* Every other page written, the rest never touched. */
	for (i = 0; i < nr; i += 2)
		mem[i * self->page] = 1;
	for (i = 0; i < nr; i++)
		present += !!(util_pagemap(mem + i * self->page) & (1ULL << 63));
	ASSERT_EQ(nr / 2, present);
	ASSERT_EQ(0, audit_self(mem, mem + nr * self->page, self->report, REPORT_MAX, &t))
		TH_LOG("%s", self->report);
	EXPECT_EQ(1, t.processes);
	EXPECT_EQ((long long)present, t.entries) TH_LOG("%s", self->report);
	EXPECT_EQ(0, t.violations) TH_LOG("%s", self->report);
	munmap(mem, nr * self->page);
}

/*
 * The audit can fail: one injected violation, found with its name, address
 * and the page's state, and the page restored afterwards.
 */
TEST_F(audit, injected_violation_is_found)
{
	struct inspect_entry e;
	struct util_audit_totals t;
	char cmd[64], hole[64], want[96];
	uint64_t pfn;
	char *mem;

	mem = util_mmap_small(2 * self->page, -1);
	ASSERT_NE(NULL, mem);
	mem[0] = 1;
	snprintf(cmd, sizeof(cmd), "inject 0x%lx", (unsigned long)mem);
	/* Off by default. */
	ASSERT_EQ(0, util_write_file(INJECT_PARAM, "0"));
	EXPECT_EQ(-EPERM, util_audit(cmd, self->report, REPORT_MAX));
	ASSERT_EQ(0, util_write_file(INJECT_PARAM, "1"));

	ASSERT_EQ(0, util_audit(cmd, self->report, REPORT_MAX)) TH_LOG("%s", self->report);
	ASSERT_EQ(0, util_audit_totals(self->report, &t)) TH_LOG("%s", self->report);
	EXPECT_EQ(1, t.entries);
	EXPECT_EQ(1, t.violations) TH_LOG("%s", self->report);
	EXPECT_EQ(1, t.shown);
	snprintf(want, sizeof(want), "violation=writable_anon_not_exclusive pid=%d comm=",
		 getpid());
	EXPECT_NE(NULL, strstr(self->report, want)) TH_LOG("no '%s' in: %s", want, self->report);
	snprintf(want, sizeof(want), "addr=0x%lx level=pte write=1", (unsigned long)mem);
	EXPECT_NE(NULL, strstr(self->report, want)) TH_LOG("no '%s' in: %s", want, self->report);
	EXPECT_NE(NULL, strstr(self->report, " kind=anon ")) TH_LOG("%s", self->report);
	EXPECT_NE(NULL, strstr(self->report, " exclusive=0 ")) TH_LOG("%s", self->report);

	/* Restored under the same lock: exclusive again, reused on write. */
	ASSERT_EQ(1, inspect_one(mem, &e));
	EXPECT_EQ(1, e.exclusive);
	pfn = util_pagemap(mem) & PM_PFN_MASK;
	mem[1] = 2;
	EXPECT_EQ(pfn, util_pagemap(mem) & PM_PFN_MASK);
	ASSERT_EQ(0, audit_self(mem, mem + 2 * self->page, self->report, REPORT_MAX, &t));
	EXPECT_EQ(0, t.violations) TH_LOG("%s", self->report);

	/* Nothing to inject into: the zero page, a read-only page, a hole. */
	snprintf(hole, sizeof(hole), "inject 0x%lx", (unsigned long)self->page);
	EXPECT_EQ(-ENXIO, util_audit(hole, self->report, REPORT_MAX));
	ASSERT_EQ(0, mprotect(mem, self->page, PROT_READ));
	EXPECT_EQ(-ENXIO, util_audit(cmd, self->report, REPORT_MAX));
	snprintf(cmd, sizeof(cmd), "inject 0x%lx", (unsigned long)mem + self->page);
	EXPECT_EQ(0, *(volatile char *)(mem + self->page));	/* the zero page */
	EXPECT_EQ(-ENXIO, util_audit(cmd, self->report, REPORT_MAX));
	munmap(mem, 2 * self->page);
}

/* Memory in many states, in us and in a child that shares it: clean. */
TEST_F(audit, clean_process_and_machine)
{
	size_t pmd = util_pmd_size(), i;
	struct util_audit_totals t;
	int fd, status, ready[2];
	char *anon, *thp, *file, *zero;
	pid_t child;

	anon = util_mmap_small(64 * self->page, 0x5a);
	ASSERT_NE(NULL, anon);
	thp = util_mmap_aligned(2 * pmd, pmd);
	ASSERT_NE(NULL, thp);
	madvise(thp, 2 * pmd, MADV_HUGEPAGE);
	memset(thp, 1, 2 * pmd);
	zero = util_mmap_small(16 * self->page, -1);
	ASSERT_NE(NULL, zero);
	for (i = 0; i < 16; i++)
		EXPECT_EQ(0, *(volatile char *)(zero + i * self->page));
	fd = memfd_create("audit", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 16 * self->page));
	file = mmap(NULL, 16 * self->page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, file);
	memset(file, 3, 16 * self->page);

	/* A child shares everything (write-protected COW) until it is killed. */
	ASSERT_EQ(0, pipe(ready));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		/* Dies with the test, even when an assertion ends it early. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ready[0]);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &status, 1));
	close(ready[0]);
	/* The parent writes half of it: those pages are copied, exclusive again. */
	memset(anon, 0x6b, 32 * self->page);
	thp[0] = 2;

	/* The whole user address space: 47 bits on x86-64, 48 on arm64 with 4 KiB pages */
	ASSERT_NE(0, util_task_top());
	ASSERT_EQ(0, audit_self((void *)self->page, (void *)(util_task_top() - self->page),
				self->report, REPORT_MAX, &t)) TH_LOG("%s", self->report);
	EXPECT_EQ(0, t.violations) TH_LOG("%s", self->report);
	EXPECT_LT(64, t.entries);

	ASSERT_EQ(0, util_audit("all", self->report, REPORT_MAX));
	ASSERT_EQ(0, util_audit_totals(self->report, &t));
	TH_LOG("all: processes=%lld exited=%lld entries=%lld", t.processes, t.exited,
	       t.entries);
	EXPECT_EQ(0, t.violations) TH_LOG("%s", self->report);
	EXPECT_LE(2, t.processes);	/* us and the child, at least */

	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	munmap(file, 16 * self->page);
	close(fd);
	munmap(zero, 16 * self->page);
	munmap(thp, 2 * pmd);
	munmap(anon, 64 * self->page);
}

TEST_F(audit, bad_input)
{
	static const char * const einval[] = {
		"x", "-1", "all 0x1000", "0 0x1000", "0 0x1000 0x1000",
		"0 0x2000 0x1000", "0 0x1001 0x2000", "0 1000 2000",
		"0 0x0 0x1000000000000000", "all 0x0 0x1000 extra",
		"inject", "inject 0x1001", "inject 4096",
		"0 0x00000000000000000000000000000000000000000001000 0x2000",
	};
	char cmd[32];
	size_t i;
	int fd;

	for (i = 0; i < ARRAY_SIZE(einval); i++) {
		fd = open(AUDIT_FILE, O_RDWR);
		ASSERT_LE(0, fd);
		errno = 0;
		EXPECT_EQ(-1, write(fd, einval[i], strlen(einval[i])))
			TH_LOG("'%s'", einval[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("'%s'", einval[i]);
		close(fd);
	}
	/* No such process. */
	snprintf(cmd, sizeof(cmd), "%d", INT32_MAX);
	EXPECT_EQ(-ESRCH, util_audit(cmd, self->report, REPORT_MAX));
	/* A read before any write: empty. */
	fd = open(AUDIT_FILE, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, read(fd, cmd, sizeof(cmd)));
	close(fd);
}

/* Another process, or all, needs CAP_SYS_PTRACE of the opener. */
TEST_F(audit, other_processes_need_ptrace)
{
	int status;
	pid_t child;

	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		struct util_audit_totals t;
		char cmd[32];

		if (robust_drop_cap(CAP_SYS_PTRACE))
			_exit(10);
		snprintf(cmd, sizeof(cmd), "%d", getppid());
		if (util_audit(cmd, self->report, REPORT_MAX) != -EPERM)
			_exit(11);
		if (util_audit("all", self->report, REPORT_MAX) != -EPERM)
			_exit(12);
		/* Itself: allowed. */
		snprintf(cmd, sizeof(cmd), "%d", getpid());
		if (util_audit(cmd, self->report, REPORT_MAX) ||
		    util_audit_totals(self->report, &t) || t.processes != 1)
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child died: status %#x", status);
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* The racers: each changes the page tables the audit walks. */
struct race {
	char *anon;		/* 4 PMDs, THP allowed */
	size_t len;
	atomic_bool stop;
	atomic_long rounds[5];
};

enum { RACE_ZAP, RACE_COLLAPSE_SPLIT, RACE_MIGRATE, RACE_FORK, RACE_AUDITS };

static void *race_zap(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		madvise(r->anon, r->len / 2, MADV_DONTNEED);
		memset(r->anon, 7, r->len / 2);
		atomic_fetch_add(&r->rounds[RACE_ZAP], 1);
	}
	return NULL;
}

static void *race_collapse_split(void *arg)
{
	struct race *r = arg;
	char *half = r->anon + r->len / 2;
	size_t pmd = util_pmd_size();

	while (!atomic_load(&r->stop)) {
		memset(half, 9, r->len / 2);
		madvise(half, r->len / 2, MADV_COLLAPSE);
		/* Split the PMD mapping: make one page read-only, then not. */
		mprotect(half + pmd / 2, getpagesize(), PROT_READ);
		mprotect(half + pmd / 2, getpagesize(), PROT_READ | PROT_WRITE);
		atomic_fetch_add(&r->rounds[RACE_COLLAPSE_SPLIT], 1);
	}
	return NULL;
}

static void *race_migrate(void *arg)
{
	struct race *r = arg;
	int node = 0;

	while (!atomic_load(&r->stop)) {
		void *pages[16];
		int nodes[16], status[16], i;

		for (i = 0; i < 16; i++) {
			pages[i] = r->anon + (size_t)i * r->len / 16;
			nodes[i] = node;
		}
		/* One node only is fine: the pages then stay where they are. */
		syscall(SYS_move_pages, 0, 16, pages, nodes, status, 0);
		node = !node;
		atomic_fetch_add(&r->rounds[RACE_MIGRATE], 1);
	}
	return NULL;
}

static void *race_fork(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		pid_t pid = fork();

		if (!pid)
			_exit(0);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		atomic_fetch_add(&r->rounds[RACE_FORK], 1);
	}
	return NULL;
}

TEST_F(audit, races)
{
	static void *(* const racers[])(void *) = {
		race_zap, race_collapse_split, race_migrate, race_fork,
	};
	static const char * const names[] = {
		"zap", "collapse+split", "move_pages", "fork", "audits",
	};
	long seconds = 3, n = 0;
	pthread_t th[ARRAY_SIZE(racers)];
	struct util_audit_totals t;
	long long violations = 0;
	struct race r = { 0 };
	const char *env;
	time_t end;
	size_t i;

	env = getenv("MMPROBE_STRESS_SECONDS");
	if (env && atol(env) >= 3)
		seconds = atol(env) / 3;
	r.len = 4 * util_pmd_size();
	r.anon = util_mmap_aligned(r.len, util_pmd_size());
	ASSERT_NE(NULL, r.anon);
	madvise(r.anon, r.len, MADV_HUGEPAGE);
	memset(r.anon, 1, r.len);
	for (i = 0; i < ARRAY_SIZE(racers); i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, racers[i], &r));
	end = time(NULL) + seconds;
	while (time(NULL) < end) {
		const char *cmd = n++ % 4 ? NULL : "all";
		int ret;

		if (cmd)
			ret = util_audit(cmd, self->report, REPORT_MAX);
		else
			ret = audit_self(r.anon, r.anon + r.len, self->report, REPORT_MAX, &t);
		if (ret) {
			TH_LOG("audit %s: %s", cmd ? cmd : "self", strerror(-ret));
			violations = -1;
			break;
		}
		if (cmd && util_audit_totals(self->report, &t))
			break;
		if (t.violations) {
			TH_LOG("%s", self->report);
			violations += t.violations;
		}
		atomic_fetch_add(&r.rounds[RACE_AUDITS], 1);
	}
	atomic_store(&r.stop, true);
	for (i = 0; i < ARRAY_SIZE(racers); i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		TH_LOG("%s: %ld rounds", names[i], atomic_load(&r.rounds[i]));
		EXPECT_LT(0, atomic_load(&r.rounds[i])) TH_LOG("%s never ran", names[i]);
	}
	EXPECT_EQ(0, violations);
	munmap(r.anon, r.len);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* pagemap and kpageflags of every page of [mem, mem + len): what page-types reads. */
static void read_pagemap_kpageflags(const char *mem, size_t len, size_t page)
{
	size_t nr = len / page, i;
	uint64_t *pm = calloc(nr, sizeof(*pm)), flags;
	int fd, kfd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	kfd = open("/proc/kpageflags", O_RDONLY);
	if (pm && fd >= 0 && kfd >= 0 &&
	    pread(fd, pm, nr * sizeof(*pm), (uintptr_t)mem / page * sizeof(*pm)) > 0) {
		for (i = 0; i < nr; i++)
			if (pread(kfd, &flags, sizeof(flags),
				  (pm[i] & PM_PFN_MASK) * sizeof(flags)) != sizeof(flags))
				break;
	}
	if (kfd >= 0)
		close(kfd);
	if (fd >= 0)
		close(fd);
	free(pm);
}

/* The audit of a range against pagemap + kpageflags of it: a ratio, not asserted. */
TEST_F(audit, speed_against_pagemap)
{
	size_t mb = 64, len;
	struct util_audit_totals t;
	double t0, ta, tp;
	const char *env;
	char *mem;

	env = getenv("AUDIT_BENCH_MB");
	if (env && atol(env) > 0)
		mb = atol(env);
	len = mb << 20;
	mem = util_mmap_small(len, 1);
	ASSERT_NE(NULL, mem);
	t0 = now_s();
	ASSERT_EQ(0, audit_self(mem, mem + len, self->report, REPORT_MAX, &t));
	ta = now_s() - t0;
	EXPECT_EQ((long long)(len / self->page), t.entries);
	EXPECT_EQ(0, t.violations);
	t0 = now_s();
	read_pagemap_kpageflags(mem, len, self->page);
	tp = now_s() - t0;
	TH_LOG("%zu MiB of %zu KiB pages: audit %.3f s, pagemap+kpageflags %.3f s, ratio %.2f",
	       mb, self->page / 1024, ta, tp, tp > 0 ? ta / tp : 0);
	munmap(mem, len);
}

TEST_HARNESS_MAIN
