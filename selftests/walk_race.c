// SPDX-License-Identifier: GPL-2.0
/*
 * walk_race: mmprobe's page-table walker (module/walk.c) against everything
 * that changes or frees page tables while it reads them.
 *
 * One thread snapshots a range through "migrate" (which walks it three
 * times per call, around migrate_vma_setup()) and "inspect", in a loop,
 * while others:
 * - MADV_DONTNEED the same anonymous range and fault it back: empty PTE
 *   tables are freed under the mmap read lock on kernels with
 *   CONFIG_PT_RECLAIM (Debian 7.3), after an RCU grace period;
 * - collapse a shmem range with MADV_COLLAPSE (its PTE table is retracted,
 *   v6.5+ under the mmap read lock) and split it again with mprotect();
 *   the same for anonymous memory;
 * - mremap() part of the range away and back, and munmap() and re-create
 *   another part (no thread allocates while the race runs, so nothing can
 *   land in the hole: MAP_FIXED_NOREPLACE would say so).
 *
 * The kernel is the first oracle: the runner fails the program on any
 * splat (KASAN, lockdep, DEBUG_VM and PAGE_TABLE_CHECK in make check-debug).
 * The test asserts that each racing event really happened, that every
 * migrate report agrees with itself (robust_migrate_report_check()), and
 * that the data survived: shmem byte for byte, anonymous memory as the
 * pattern or zeros (a zapped page), never anything else.
 *
 * MMPROBE_STRESS_SECONDS / 3 sets the duration (default 5 s).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "mmprobe_uapi.h"
#include "mmprobe_util.h"
#include "robust_util.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif

#define RACE_REPORT_MAX		(256 << 10)
#define RACE_MIGRATE_PAGES	64

/* What happened, counted by the threads; each must be seen at least once. */
enum race_event {
	RACE_MIGRATE_FROZE,	/* a migrate call froze pages */
	RACE_MIGRATE_HOLE,	/* ... found part of the range unmapped (EFAULT) */
	RACE_INSPECT,		/* an inspect report was read to its end */
	RACE_ZAP,		/* MADV_DONTNEED of the anonymous range */
	RACE_SHMEM_COLLAPSE,	/* MADV_COLLAPSE made a shmem PMD mapping */
	RACE_SHMEM_SPLIT,	/* mprotect() split it into PTEs again */
	RACE_MREMAP,		/* a part moved away and back */
	RACE_MUNMAP,		/* a part unmapped and mapped anew */
	RACE_NR_EVENTS
};

static const char *const race_event_names[RACE_NR_EVENTS] = {
	"migrate_froze", "migrate_hole", "inspect", "zap", "shmem_collapse",
	"shmem_split", "mremap", "munmap",
};

static const char *race_event_name(size_t ev)
{
	return ev < RACE_NR_EVENTS ? race_event_names[ev] : "?";
}

struct race {
	size_t pmd, ps;
	char *anon;		/* 4 PMDs: [0, 2) zapped, [2] moved, [3] unmapped */
	char *spare;		/* where [2] goes while it is away */
	char *shmem;		/* 1 PMD of shmem, MAP_SHARED */
	atomic_bool stop;
	atomic_bool hole_open;	/* the fourth PMD is unmapped: go and find it */
	atomic_long events[RACE_NR_EVENTS];
	atomic_long errors;
	char why[256];		/* the first error */
	char *report;		/* the reader's buffers, allocated before the race */
	struct mmprobe_migrate_page *pages;
	unsigned int seed;
};

static unsigned char race_byte(size_t off)
{
	return (off * 31 + 7) | 1;	/* never 0: a zapped page is all 0 */
}

static void race_fill(char *p, size_t len, size_t base)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = race_byte(base + i);
}

static void race_error(struct race *r, const char *what, int err)
{
	if (atomic_fetch_add(&r->errors, 1) == 0)
		snprintf(r->why, sizeof(r->why), "%s: %s", what, strerror(err));
}

static void race_event(struct race *r, enum race_event ev)
{
	atomic_fetch_add(&r->events[ev], 1);
}

/* The walker's thread: migrate and inspect over everything, in a loop. */
static void *race_reader(void *arg)
{
	struct race *r = arg;
	unsigned int seed = r->seed;
	int mfd, ifd;

	mfd = open(MMPROBE_DIR "/migrate", O_RDWR);
	ifd = open(MMPROBE_DIR "/inspect", O_RDWR);
	if (mfd < 0 || ifd < 0) {
		race_error(r, "open migrate or inspect", errno);
		goto out;
	}
	while (!atomic_load(&r->stop)) {
		size_t nr = 1 + rand_r(&seed) % RACE_MIGRATE_PAGES;
		size_t first = rand_r(&seed) % (4 * r->pmd / r->ps - nr + 1);
		struct mmprobe_migrate_args m = {
			.start = (uintptr_t)r->anon + first * r->ps,
			.len = nr * r->ps,
			.hold_ms = rand_r(&seed) % 4 == 0,
			.flags = rand_r(&seed) % 4 == 0 ? MMPROBE_MIGRATE_ABORT : 0,
			.pages = (uintptr_t)r->pages,
		};
		char cmd[96], why[160];
		ssize_t n;

		if (rand_r(&seed) % 4 == 0)	/* shmem: frozen, never moved */
			m.start = (uintptr_t)r->shmem + rand_r(&seed) % (r->pmd / r->ps - nr + 1) *
				  r->ps;
		else if (atomic_load(&r->hole_open) || rand_r(&seed) % 2)
			m.start = (uintptr_t)r->anon + 2 * r->pmd +	/* comes and goes */
				  rand_r(&seed) % (2 * r->pmd / r->ps - nr + 1) * r->ps;
		if (!ioctl(mfd, MMPROBE_IOC_MIGRATE, &m)) {
			if (robust_migrate_report_check(&m, r->pages, why, sizeof(why))) {
				race_error(r, why, EINVAL);
				break;
			}
			if (m.nr_frozen)
				race_event(r, RACE_MIGRATE_FROZE);
		} else if (errno == EFAULT) {
			race_event(r, RACE_MIGRATE_HOLE);
		} else if (errno != EINVAL) {	/* EINVAL: spans two VMAs */
			race_error(r, "migrate", errno);
			break;
		}

		snprintf(cmd, sizeof(cmd), "0 %p %p", r->anon, r->shmem + r->pmd);
		if (r->shmem < r->anon)
			snprintf(cmd, sizeof(cmd), "0 %p %p", r->shmem, r->anon + 4 * r->pmd);
		if (write(ifd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
			race_error(r, "inspect write", errno);
			break;
		}
		while ((n = read(ifd, r->report, RACE_REPORT_MAX)) > 0)
			;
		if (n < 0) {
			race_error(r, "inspect read", errno);
			break;
		}
		race_event(r, RACE_INSPECT);
	}
out:
	if (mfd >= 0)
		close(mfd);
	if (ifd >= 0)
		close(ifd);
	return NULL;
}

/* Zap the first two PMDs of anonymous memory and fault them back. */
static void *race_zapper(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		if (madvise(r->anon, 2 * r->pmd, MADV_DONTNEED)) {
			race_error(r, "MADV_DONTNEED", errno);
			break;
		}
		race_event(r, RACE_ZAP);
		race_fill(r->anon, 2 * r->pmd, 0);
		madvise(r->anon, r->pmd, MADV_COLLAPSE);	/* anon too, if it can */
	}
	return NULL;
}

/* Collapse the shmem range into a PMD mapping, split it again. */
static void *race_collapser(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		if (!madvise(r->shmem, r->pmd, MADV_COLLAPSE))
			race_event(r, RACE_SHMEM_COLLAPSE);
		/* Two VMAs for a moment: the PMD mapping is split, then merged. */
		if (mprotect(r->shmem, r->pmd / 2, PROT_READ) ||
		    mprotect(r->shmem, r->pmd / 2, PROT_READ | PROT_WRITE)) {
			race_error(r, "mprotect", errno);
			break;
		}
		race_event(r, RACE_SHMEM_SPLIT);
		(void)*(volatile char *)r->shmem;	/* fault it back, as PTEs */
	}
	return NULL;
}

/*
 * Keep the hole open until the reader has run into one (up to 50 ms), so
 * that a busy machine cannot make the race miss it.
 */
static void race_hole_wait(struct race *r)
{
	long seen = atomic_load(&r->events[RACE_MIGRATE_HOLE]);
	int ms;

	atomic_store(&r->hole_open, true);
	for (ms = 0; ms < 50 && !atomic_load(&r->stop) &&
	     atomic_load(&r->events[RACE_MIGRATE_HOLE]) == seen; ms++)
		usleep(1000);
	atomic_store(&r->hole_open, false);
}

/* Move the third PMD away and back; unmap the fourth and map it anew. */
static void *race_mapper(void *arg)
{
	struct race *r = arg;
	char *moved = r->anon + 2 * r->pmd, *gone = r->anon + 3 * r->pmd;
	const int fixed = MREMAP_MAYMOVE | MREMAP_FIXED;

	while (!atomic_load(&r->stop)) {
		/* Each hole stays open a moment, for the reader to find. */
		if (mremap(moved, r->pmd, r->pmd, fixed, r->spare) == MAP_FAILED ||
		    usleep(200) ||
		    mremap(r->spare, r->pmd, r->pmd, fixed, moved) == MAP_FAILED) {
			race_error(r, "mremap", errno);
			break;
		}
		race_event(r, RACE_MREMAP);
		if (munmap(gone, r->pmd)) {
			race_error(r, "munmap", errno);
			break;
		}
		race_hole_wait(r);
		if (mmap(gone, r->pmd, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != gone) {
			race_error(r, "mmap(MAP_FIXED_NOREPLACE) into the hole", errno);
			break;
		}
		race_event(r, RACE_MUNMAP);
		race_fill(gone, r->pmd, 3 * r->pmd);
	}
	return NULL;
}

/* A third of MMPROBE_STRESS_SECONDS (make check: 15, check-debug: 60), 2-20 s. */
static unsigned int race_seconds(void)
{
	const char *env = getenv("MMPROBE_STRESS_SECONDS");
	int s = env ? atoi(env) / 3 : 5;

	return s < 2 ? 2 : s > 20 ? 20 : s;
}

TEST(walker_vs_table_changes)
{
	void *(*const fns[])(void *) = { race_reader, race_zapper, race_collapser, race_mapper };
	long long retries_before, retries_after;
	struct race *r = calloc(1, sizeof(*r));
	pthread_t threads[ARRAY_SIZE(fns)];
	char buf[4096];
	size_t i, j;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, access(MMPROBE_DIR "/migrate", F_OK))
		TH_LOG("mmprobe is not loaded, or has no migrate file");
	r->ps = getpagesize();
	r->pmd = util_pmd_size() ?: util_pmd_span();
	r->seed = getpid();
	r->report = malloc(RACE_REPORT_MAX);
	r->pages = calloc(RACE_MIGRATE_PAGES, sizeof(*r->pages));
	r->anon = util_mmap_aligned(4 * r->pmd, r->pmd);
	r->spare = util_mmap_aligned(r->pmd, r->pmd);
	r->shmem = util_mmap_aligned(r->pmd, r->pmd);
	ASSERT_NE(NULL, r->report);
	ASSERT_NE(NULL, r->pages);
	ASSERT_NE(NULL, r->anon);
	ASSERT_NE(NULL, r->spare);
	ASSERT_NE(NULL, r->shmem);
	ASSERT_EQ(r->shmem, mmap(r->shmem, r->pmd, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	madvise(r->anon, 4 * r->pmd, MADV_HUGEPAGE);
	madvise(r->shmem, r->pmd, MADV_HUGEPAGE);
	race_fill(r->anon, 4 * r->pmd, 0);
	race_fill(r->shmem, r->pmd, 0);

	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/stats", buf, sizeof(buf)));
	retries_before = util_kv_get(buf, "inspect_retries");
	for (i = 0; i < ARRAY_SIZE(fns); i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, fns[i], r));
	sleep(race_seconds());
	atomic_store(&r->stop, true);
	for (i = 0; i < ARRAY_SIZE(fns); i++)
		pthread_join(threads[i], NULL);
	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/stats", buf, sizeof(buf)));
	retries_after = util_kv_get(buf, "inspect_retries");

	for (i = 0; i < RACE_NR_EVENTS; i++)
		TH_LOG("%s: %ld", race_event_name(i), atomic_load(&r->events[i]));
	TH_LOG("walker retries (a PTE table changed under it): %lld",
	       retries_after - retries_before);
	ASSERT_EQ(0, atomic_load(&r->errors)) TH_LOG("%s", r->why);
	/* Braces: a harness check's TH_LOG runs after its statement. */
	for (i = 0; i < RACE_NR_EVENTS; i++) {
		EXPECT_LT(0, atomic_load(&r->events[i]))
			TH_LOG("%s never happened: the race did not race", race_event_name(i));
	}

	/* The data: shmem exactly; anonymous memory the pattern, or zapped. */
	for (j = 0; j < r->pmd && (unsigned char)r->shmem[j] == race_byte(j); j++)
		;
	ASSERT_EQ(r->pmd, j) TH_LOG("shmem byte %zu differs", j);
	for (j = 0; j < 4 * r->pmd; j++) {
		unsigned char c = r->anon[j];

		ASSERT_TRUE(c == race_byte(j) || !c)
			TH_LOG("anon byte %zu: %#x, want %#x or 0", j, c, race_byte(j));
	}
	munmap(r->anon, 4 * r->pmd);
	munmap(r->spare, r->pmd);
	munmap(r->shmem, r->pmd);
	free(r->pages);
	free(r->report);
	free(r);
}

TEST_HARNESS_MAIN
