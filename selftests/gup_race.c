// SPDX-License-Identifier: GPL-2.0
/*
 * gup_race: GUP-fast against a migration of the same pages, for real.
 *
 * GUP-fast walks the page tables without mmap_lock and without the PTE
 * lock: it reads a PTE, takes a reference or pin on the folio it maps, and
 * then reads the PTE again, giving the folio back and falling to the slow
 * path when the PTE changed (gup_fast_pte_range()). Migration clears the
 * PTE, flushes the TLB (the IPI waits for GUP-fast, which runs with
 * interrupts off), installs a migration entry, then checks that only the
 * mappings hold the folio, copies it and maps the new page. If GUP-fast
 * handed out a page after migration had unmapped it (no recheck, or a
 * recheck that misses the migration entry), the pin would keep the old
 * page: the device would read and write memory the process no longer
 * sees. That is the bug this program catches.
 *
 * Each round, one thread migrates RACE_PAGES pages through mmprobe's
 * migrate file (Documentation/migrate.rst) to a node, sometimes holding
 * them frozen for a jiffy, sometimes aborting, while pinning threads take
 * the same pages with GUP-fast: through mmprobe's pin file
 * (pin_user_pages_fast() and get_user_pages_fast(), one take per page) and
 * through /sys/kernel/debug/gup_test (PIN_LONGTERM_TEST_START with
 * USE_FAST, all its pages in one call). Random delays on both sides move
 * the pins across the whole migration. After each round:
 *
 *   - every pin holds the page mapped now: its PFN (pin file) is
 *     /proc/self/pagemap's, and what the process writes at the address is
 *     what the pin reads (MMPROBE_PIN_IOC_READ, PIN_LONGTERM_TEST_READ);
 *   - a page the migration moved is pinned on its new page, never the old;
 *   - a page the migration left (pinned, busy) or gave back (aborted,
 *     refused) is pinned on the old page, which is still the mapped one;
 *   - the data written before the round survived it.
 *
 * At the end the pins balance: nr_foll_pin_acquired - released in
 * /proc/vmstat is what it was before (robust_pins_held() and
 * robust_pins_expect(), so that another process's short pins do not count),
 * and acquired rose by at least the pins this process took.
 *
 * It proves that it raced: each pinning path must have landed on both
 * sides of the window, pins that made the migration leave the page
 * ("before": reported pinned or busy) and pins, started before the
 * migration returned, that got the new page ("after").
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "gup_test_uapi.h"
#include "kmod_util.h"
#include "mmprobe_uapi.h"
#include "mmprobe_util.h"
#include "pin_util.h"
#include "robust_util.h"

#define MIGRATE_PATH	MMPROBE_DIR "/migrate"
#define GUP_TEST_PATH	"/sys/kernel/debug/gup_test"

#define RACE_PAGES	8	/* pages per round */
#define RACE_SECONDS	8	/* wall time of each variant's rounds */
#define RACE_MAX_ROUNDS	20000
#define RACE_CALIBRATE	16	/* rounds without delays, to start the averages */
#define RACE_HOLD_MS	1	/* a jiffy, frozen */
#define RACE_SPINS	200	/* sched_yield()s before a barrier naps */
#define RACE_NAP_NS	100000	/* delays longer than this sleep first */
#define RACE_MAX_WINDOW	1000000	/* ns: the longest delay */

/* Who takes a page: the pin file, or the gup_test file. */
enum race_path {
	PATH_PIN,
	PATH_GUP_TEST,
	NR_PATHS,
};

static const char *const path_name[NR_PATHS] = { "pin", "gup_test" };

/* What a round did to a page, seen from the pin. */
struct race_count {
	long before;	/* the pin was there first: setup left the page */
	long after;	/* the pin came during the migration, got the new page */
	long waited;	/* of those, a pin that waited out a hold */
	long restored;	/* frozen and given back (abort, refused), old page pinned */
	long refused;	/* of those, given back by migrate_vma_pages() */
	long late;	/* the pin started after the migration returned */
	long other;	/* skipped as busy with no pin of ours racing */
};

/*
 * A barrier that spins, yielding, then naps: under TCG a futex wake-up of
 * the other vCPU costs about a millisecond, longer than a whole migration;
 * but a thread that only yields keeps a kworker off its CPU on 6.1, and
 * migrate_vma_setup() waits for one (lru_add_drain_all()) when a page sits
 * in another CPU's LRU batch: 80 ms a round.
 */
struct race_barrier {
	int threads;
	int arrived;
	int generation;
};

static void race_barrier_wait(struct race_barrier *b)
{
	struct timespec nap = { .tv_nsec = 20000 };
	int gen = __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE);
	long spins;

	if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) == b->threads) {
		__atomic_store_n(&b->arrived, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&b->generation, gen + 1, __ATOMIC_RELEASE);
		return;
	}
	for (spins = 0; __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) == gen; spins++) {
		if (spins < RACE_SPINS)
			sched_yield();
		else
			nanosleep(&nap, NULL);
	}
}

struct race;

struct pinner {
	struct race *race;
	enum race_path path;
	size_t first, nr;	/* its pages */
	pthread_t thread;
	/* set by the migrating thread before each round */
	long delay_ns;
	int method;		/* PATH_PIN: MMPROBE_PIN_METHOD_* of the round */
	/* results of the round */
	int ret;		/* 0 or -errno of the first take that failed */
	long pinned;		/* FOLL_PIN pins taken */
	uint64_t handle[RACE_PAGES];
	long long start_ns[RACE_PAGES], end_ns[RACE_PAGES];
};

struct race {
	struct race_barrier start, done;
	volatile int stop;
	char *mem;
	int pin_fd, gup_fd, pagemap_fd;
	int nr_pinners;
	struct pinner pinner[NR_PATHS];
};

static size_t pagesize;

/* A line for the log, flushed: 6.1's harness _exit()s the test's child. */
#define NOTE(fmt, ...) do {						\
	ksft_print_msg(fmt, ##__VA_ARGS__);				\
	fflush(stdout);							\
} while (0)

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Wait ns, spinning through the last RACE_NAP_NS only: a thread spinning
 * longer keeps the kworker that lru_add_drain_all() waits for off its CPU,
 * which makes the migration, and so the next window, longer.
 */
static void race_delay(long ns)
{
	long long end = now_ns() + ns;

	if (ns > RACE_NAP_NS) {
		struct timespec nap = { .tv_nsec = ns - RACE_NAP_NS };

		nanosleep(&nap, NULL);
	}
	while (now_ns() < end)
		;
}

/*
 * The next running average of a duration, in ns, at most RACE_MAX_WINDOW;
 * never 0 (a modulus).
 */
static long race_average(long avg, long long d)
{
	if (avg > 1 && d > 4 * avg)
		d = 4 * avg;
	if (d > RACE_MAX_WINDOW)
		d = RACE_MAX_WINDOW;
	return avg > 1 ? (7 * avg + d) / 8 + 1 : d + 1;
}

/* The value every 8 bytes of page i hold in round seed: never 0. */
static uint64_t word(size_t i, unsigned int seed)
{
	return (uint64_t)seed << 32 | (uint64_t)i << 8 | 0x5a;
}

static void fill_page(char *page, uint64_t v)
{
	uint64_t *w = (uint64_t *)page;
	size_t j;

	for (j = 0; j < pagesize / sizeof(*w); j++)
		w[j] = v;
}

/* Does the page hold v everywhere? */
static bool page_holds(const char *page, uint64_t v)
{
	const uint64_t *w = (const uint64_t *)page;
	size_t j;

	for (j = 0; j < pagesize / sizeof(*w); j++)
		if (w[j] != v)
			return false;
	return true;
}

/* The PFNs of the RACE_PAGES pages from mem, from /proc/self/pagemap. */
static int pagemap_pfns(int fd, const char *mem, uint64_t *pfn)
{
	uint64_t e[RACE_PAGES];
	off_t off = (uintptr_t)mem / pagesize * sizeof(e[0]);
	int i;

	if (pread(fd, e, sizeof(e), off) != sizeof(e))
		return -errno;
	for (i = 0; i < RACE_PAGES; i++)
		pfn[i] = e[i] & PM_PRESENT ? e[i] & PM_PFN_MASK : 0;
	return 0;
}

static int gup_test_start(int fd, char *addr, size_t nr)
{
	struct mmprobe_pin_longterm_test t = {
		.addr = (uintptr_t)addr,
		.size = nr * pagesize,
		.flags = MMPROBE_PIN_LONGTERM_TEST_FLAG_USE_FAST |
			 MMPROBE_PIN_LONGTERM_TEST_FLAG_USE_WRITE,
	};

	return ioctl(fd, MMPROBE_PIN_LONGTERM_TEST_START, &t) ? -errno : 0;
}

/* Copy what the pages pinned on fd hold into buf. */
static int gup_test_read(int fd, void *buf)
{
	__u64 addr = (uintptr_t)buf;

	return ioctl(fd, MMPROBE_PIN_LONGTERM_TEST_READ, &addr) ? -errno : 0;
}

/* One round of a pinning thread: the delay, then the takes. */
static void pinner_round(struct pinner *p)
{
	struct race *r = p->race;
	size_t i;

	p->ret = 0;
	p->pinned = 0;
	race_delay(p->delay_ns);
	if (p->path == PATH_GUP_TEST) {
		p->start_ns[0] = now_ns();
		p->ret = gup_test_start(r->gup_fd, r->mem + p->first * pagesize, p->nr);
		p->end_ns[0] = now_ns();
		for (i = 1; i < p->nr; i++) {
			p->start_ns[i] = p->start_ns[0];
			p->end_ns[i] = p->end_ns[0];
		}
		if (!p->ret)
			p->pinned = p->nr;
		return;
	}
	for (i = 0; i < p->nr; i++) {
		long ret;

		p->start_ns[i] = now_ns();
		ret = pin_util_take(r->pin_fd, r->mem + (p->first + i) * pagesize, 1,
				    p->method, MMPROBE_PIN_WRITE, &p->handle[i]);
		p->end_ns[i] = now_ns();
		if (ret != 1) {
			p->ret = ret < 0 ? ret : -ENODATA;
			return;
		}
		if (p->method == MMPROBE_PIN_METHOD_PUP_FAST)
			p->pinned++;
	}
}

/* Copy what the pinner's pages hold, through its pins, into buf. */
static int pinner_read(struct pinner *p, char *buf)
{
	struct race *r = p->race;
	size_t i;
	int ret;

	if (p->path == PATH_GUP_TEST)
		return gup_test_read(r->gup_fd, buf);
	for (i = 0; i < p->nr; i++) {
		ret = pin_util_read(r->pin_fd, p->handle[i], 0, 1, buf + i * pagesize);
		if (ret)
			return ret;
	}
	return 0;
}

/* Release what the pinner took in the round: pages released, or -errno. */
static long pinner_release(struct pinner *p)
{
	if (p->path == PATH_PIN)
		return pin_util_unpin_all(p->race->pin_fd);
	if (ioctl(p->race->gup_fd, MMPROBE_PIN_LONGTERM_TEST_STOP))
		return -errno;
	return p->nr;
}

static void *pinner_main(void *arg)
{
	struct pinner *p = arg;

	for (;;) {
		race_barrier_wait(&p->race->start);
		if (p->race->stop)
			break;
		pinner_round(p);
		race_barrier_wait(&p->race->done);
	}
	return NULL;
}

static long long foll_pins_acquired(void)
{
	long long acquired, released;

	return pin_util_foll_counts(&acquired, &released) ? -1 : acquired;
}

/* What the migration reported for a page, and the pin's PFN (0: unknown). */
#define LOG_RACE_PAGE(p, pin_pfn) do {					\
	const struct mmprobe_migrate_page *_lp = (p);			\
	TH_LOG("page 0x%llx result=%llu reason=%llu pfn before=%#llx "	\
	       "frozen=%#llx after=%#llx, pin %#llx",			\
	       (unsigned long long)_lp->addr, (unsigned long long)_lp->result, \
	       (unsigned long long)_lp->reason, (unsigned long long)_lp->before.pfn, \
	       (unsigned long long)_lp->frozen.pfn, (unsigned long long)_lp->after.pfn, \
	       (unsigned long long)(pin_pfn));				\
} while (0)

FIXTURE(gup_race) {
	struct race r;
	int migrate_fd;
	int nodes;
	uint64_t seed;
};

FIXTURE_VARIANT(gup_race) {
	bool pin;		/* the pin file takes pages */
	bool gup_test;		/* the gup_test file takes pages */
};

/* The pin file alone: every page, GUP-fast pins and references. */
FIXTURE_VARIANT_ADD(gup_race, pin) {
	.pin = true,
};

/* gup_test alone: FOLL_LONGTERM GUP-fast pins of every page in one call. */
FIXTURE_VARIANT_ADD(gup_race, gup_test) {
	.gup_test = true,
};

/* Both at once, on halves of the range, with the migration: three threads. */
FIXTURE_VARIANT_ADD(gup_race, both) {
	.pin = true, .gup_test = true,
};

FIXTURE_SETUP(gup_race)
{
	struct race *r = &self->r;
	char buf[4096];
	struct stat st;
	int ret;

	pagesize = getpagesize();
	memset(r, 0, sizeof(*r));
	r->pin_fd = -1;
	r->gup_fd = -1;
	r->pagemap_fd = -1;
	self->migrate_fd = -1;
	if (stat(MMPROBE_DIR, &st)) {
		ret = kmod_util_mmprobe_load();
		if (ret)
			UTIL_SKIP(return, "cannot load mmprobe (%s): build it, set MMPROBE_KO",
				  strerror(-ret));
	}
	/* mmprobe is loaded: a file missing is a module older than this test. */
	self->migrate_fd = open(MIGRATE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->migrate_fd) TH_LOG("%s: %s: mmprobe too old", MIGRATE_PATH,
					      strerror(errno));
	r->pin_fd = pin_util_open();
	ASSERT_LE(0, r->pin_fd) TH_LOG("%s: %s: mmprobe too old", PIN_PATH,
				       strerror(-r->pin_fd));
	if (variant->gup_test) {
		r->gup_fd = open(GUP_TEST_PATH, O_RDWR | O_CLOEXEC);
		if (r->gup_fd < 0)
			UTIL_SKIP(return, "%s: %s (no CONFIG_GUP_TEST; load mmprobe gup_test=1)",
				  GUP_TEST_PATH, strerror(errno));
	}
	r->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, r->pagemap_fd);
	if (!(util_pagemap(&st) & PM_PFN_MASK))
		UTIL_SKIP(return, "pagemap shows no PFNs: run as root (CAP_SYS_ADMIN)");
	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/version", buf, sizeof(buf)));
	self->nodes = util_kv_get(buf, "nodes_online");
	ASSERT_LE(1, self->nodes);
	r->mem = util_mmap_small(RACE_PAGES * pagesize, -1);
	ASSERT_NE(NULL, r->mem);
	self->seed = getenv("MMPROBE_FUZZ_SEED") ?
		     strtoull(getenv("MMPROBE_FUZZ_SEED"), NULL, 0) : (uint64_t)now_ns();
}

FIXTURE_TEARDOWN(gup_race)
{
	struct race *r = &self->r;

	if (r->mem)
		munmap(r->mem, RACE_PAGES * pagesize);
	if (r->pagemap_fd >= 0)
		close(r->pagemap_fd);
	if (r->gup_fd >= 0)
		close(r->gup_fd);
	if (r->pin_fd >= 0)
		close(r->pin_fd);
	if (self->migrate_fd >= 0)
		close(self->migrate_fd);
}

/*
 * Classify page i of a round and check that its pin holds the right page:
 * pin_pfn is the PFN the pin file reported (0 for gup_test, whose pins are
 * checked by their data only), now_pfn pagemap's.
 */
static void race_classify(struct __test_metadata *_metadata, struct race_count *c,
			  const struct mmprobe_migrate_page *p, const struct pinner *pn,
			  size_t i, uint64_t pin_pfn, uint64_t now_pfn, long long mig_end,
			  long hold_ns)
{
	bool raced = pn->start_ns[i] < mig_end;

	if (pin_pfn)
		ASSERT_EQ(now_pfn, pin_pfn) LOG_RACE_PAGE(p, pin_pfn);
	switch (p->result) {
	case MMPROBE_MIGRATE_MIGRATED:
		ASSERT_EQ(p->after.pfn, now_pfn) LOG_RACE_PAGE(p, pin_pfn);
		/* The bug: GUP-fast handed out the page migration unmapped and copied. */
		ASSERT_NE(p->before.pfn, pin_pfn) LOG_RACE_PAGE(p, pin_pfn);
		if (!raced) {
			c->late++;
			break;
		}
		c->after++;
		if (hold_ns && pn->end_ns[i] - pn->start_ns[i] > hold_ns / 2)
			c->waited++;
		break;
	case MMPROBE_MIGRATE_RESTORED:
		ASSERT_EQ(p->before.pfn, now_pfn) LOG_RACE_PAGE(p, pin_pfn);
		ASSERT_TRUE(p->reason == MMPROBE_MIGRATE_REASON_ABORTED ||
			    p->reason == MMPROBE_MIGRATE_REASON_REFUSED)
			LOG_RACE_PAGE(p, pin_pfn);
		c->restored++;
		c->refused += p->reason == MMPROBE_MIGRATE_REASON_REFUSED;
		break;
	case MMPROBE_MIGRATE_SKIPPED:
		/* Setup found our pin (or reference, or GUP-fast's passing one). */
		ASSERT_EQ(p->before.pfn, now_pfn) LOG_RACE_PAGE(p, pin_pfn);
		ASSERT_TRUE(p->reason == MMPROBE_MIGRATE_REASON_PINNED ||
			    p->reason == MMPROBE_MIGRATE_REASON_BUSY)
			LOG_RACE_PAGE(p, pin_pfn);
		if (raced)
			c->before++;
		else
			c->other++;
		break;
	default:
		ASSERT_TRUE(0) LOG_RACE_PAGE(p, pin_pfn);
	}
}

TEST_F_TIMEOUT(gup_race, migrate_vs_gup_fast, 60)
{
	struct race *r = &self->r;
	struct mmprobe_migrate_page rep[RACE_PAGES];
	struct race_count count[NR_PATHS] = { 0 };
	struct mmprobe_migrate_args a;
	long rounds = 0, nr_hold = 0, nr_abort = 0, pin_window = 1, mig_window = 1;
	long long held0, acq0, held1, acq1, ours = 0, deadline;
	uint64_t rng = self->seed;
	unsigned int seed = 1;
	size_t i;
	char *buf;
	int k;

	buf = malloc(RACE_PAGES * pagesize);	/* freed with the test's process */
	ASSERT_NE(NULL, buf);
	/* The pinning threads and their pages. */
	if (variant->pin)
		r->pinner[r->nr_pinners++] = (struct pinner){ .path = PATH_PIN };
	if (variant->gup_test)
		r->pinner[r->nr_pinners++] = (struct pinner){ .path = PATH_GUP_TEST };
	for (k = 0; k < r->nr_pinners; k++) {
		r->pinner[k].race = r;
		r->pinner[k].nr = RACE_PAGES / r->nr_pinners;
		r->pinner[k].first = k * r->pinner[k].nr;
	}
	for (i = 0; i < RACE_PAGES; i++)
		fill_page(r->mem + i * pagesize, word(i, seed));

	held0 = robust_pins_held();
	ASSERT_NE(LLONG_MIN, held0) TH_LOG("no nr_foll_pin_* in /proc/vmstat");
	acq0 = foll_pins_acquired();
	r->start.threads = r->nr_pinners + 1;
	r->done.threads = r->nr_pinners + 1;
	for (k = 0; k < r->nr_pinners; k++)
		ASSERT_EQ(0, pthread_create(&r->pinner[k].thread, NULL, pinner_main,
					    &r->pinner[k]));

	NOTE("seed %#llx (MMPROBE_FUZZ_SEED), %d nodes\n",
	     (unsigned long long)self->seed, self->nodes);
	deadline = now_ns() + RACE_SECONDS * 1000000000LL;
	for (rounds = 0; rounds < RACE_MAX_ROUNDS && now_ns() < deadline; rounds++) {
		uint64_t now_pfn[RACE_PAGES], pin_pfn[RACE_PAGES] = { 0 };
		long long mig_start, mig_end;
		uint64_t x = robust_rand(&rng);
		bool calibrating = rounds < RACE_CALIBRATE;
		uint64_t flags = 0, hold = 0;
		long mig_delay = 0;
		char why[256];
		int ret;

		/*
		 * After calibration: a quarter of the rounds hold the pages
		 * frozen for a jiffy, a quarter of those then abort; the
		 * migration and each pinner start after random delays within
		 * twice the length of a plain migration.
		 */
		if (!calibrating) {
			if ((x & 3) == 0) {
				hold = RACE_HOLD_MS;
				if ((x >> 2 & 3) == 0)
					flags = MMPROBE_MIGRATE_ABORT;
			}
			mig_delay = robust_rand(&rng) % mig_window;
		}
		for (k = 0; k < r->nr_pinners; k++) {
			struct pinner *p = &r->pinner[k];

			p->delay_ns = calibrating ? 0 : robust_rand(&rng) % pin_window;
			p->method = x >> (8 + k) & 1 ? MMPROBE_PIN_METHOD_GUP_FAST :
						       MMPROBE_PIN_METHOD_PUP_FAST;
		}
		memset(rep, 0, sizeof(rep));
		memset(&a, 0, sizeof(a));
		a.start = (uintptr_t)r->mem;
		a.len = RACE_PAGES * pagesize;
		a.node = rounds % self->nodes;
		a.flags = flags;
		a.hold_ms = hold;
		a.pages = (uintptr_t)rep;

		race_barrier_wait(&r->start);
		race_delay(mig_delay);
		mig_start = now_ns();
		ret = ioctl(self->migrate_fd, MMPROBE_IOC_MIGRATE, &a) ? -errno : 0;
		mig_end = now_ns();
		race_barrier_wait(&r->done);

		ASSERT_EQ(0, ret) TH_LOG("round %ld: migrate: %s", rounds, strerror(-ret));
		ASSERT_EQ(0, robust_migrate_report_check(&a, rep, why, sizeof(why)))
			TH_LOG("round %ld: %s", rounds, why);
		/*
		 * The window of the pinners' delays is a migration's length,
		 * the migration's that of the slowest pinner's takes, so that
		 * each side may start anywhere in the other's run: running
		 * averages of plain rounds (the first ones of a process can
		 * be ten times slower), an outlier counting as four times
		 * the average at most.
		 */
		if (!hold) {
			long long d = 0;

			for (k = 0; k < r->nr_pinners; k++) {
				struct pinner *p = &r->pinner[k];

				if (p->end_ns[p->nr - 1] - p->start_ns[0] > d)
					d = p->end_ns[p->nr - 1] - p->start_ns[0];
			}
			pin_window = race_average(pin_window, mig_end - mig_start);
			mig_window = race_average(mig_window, d);
		}
		nr_hold += hold && !flags;
		nr_abort += !!flags;

		ASSERT_EQ(0, pagemap_pfns(r->pagemap_fd, r->mem, now_pfn));
		for (i = 0; i < RACE_PAGES; i++) {
			ASSERT_NE(0, now_pfn[i]) TH_LOG("round %ld: page %zu absent", rounds, i);
			/* What the process wrote before the round, it reads after it. */
			ASSERT_TRUE(page_holds(r->mem + i * pagesize, word(i, seed)))
				LOG_RACE_PAGE(&rep[i], now_pfn[i]);
		}
		for (k = 0; k < r->nr_pinners; k++) {
			struct pinner *p = &r->pinner[k];

			ASSERT_EQ(0, p->ret) TH_LOG("round %ld: %s: %s", rounds,
						    path_name[p->path], strerror(-p->ret));
			ours += p->pinned;
			for (i = 0; i < p->nr && p->path == PATH_PIN; i++) {
				struct mmprobe_pin_page info;

				ASSERT_EQ(0, pin_util_info(r->pin_fd, p->handle[i], 0, 1,
							   &info, false));
				pin_pfn[p->first + i] = info.pfn;
			}
			for (i = p->first; i < p->first + p->nr; i++) {
				race_classify(_metadata, &count[p->path], &rep[i], p,
					      i - p->first, pin_pfn[i], now_pfn[i], mig_end,
					      hold * 1000000L);
			}
		}

		/* What the process writes now, every pin reads: the same page. */
		seed++;
		for (i = 0; i < RACE_PAGES; i++)
			fill_page(r->mem + i * pagesize, word(i, seed));
		for (k = 0; k < r->nr_pinners; k++) {
			struct pinner *p = &r->pinner[k];

			ASSERT_EQ(0, pinner_read(p, buf));
			for (i = 0; i < p->nr; i++) {
				size_t page = p->first + i;

				ASSERT_TRUE(page_holds(buf + i * pagesize, word(page, seed)))
					LOG_RACE_PAGE(&rep[page], pin_pfn[page]);
			}
			ASSERT_EQ((long)p->nr, pinner_release(p));
		}
	}

	r->stop = 1;
	race_barrier_wait(&r->start);
	for (k = 0; k < r->nr_pinners; k++)
		ASSERT_EQ(0, pthread_join(r->pinner[k].thread, NULL));

	for (k = 0; k < r->nr_pinners; k++) {
		const struct race_count *c = &count[r->pinner[k].path];
		const char *name = path_name[r->pinner[k].path];

		NOTE("%s: %ld rounds (%ld held, %ld aborted), delays < %ld/%ld us\n",
		     name, rounds, nr_hold, nr_abort, pin_window / 1000,
		     mig_window / 1000);
		NOTE("%s: %ld pins before the freeze, %ld after the move (%ld waited)\n",
		     name, c->before, c->after, c->waited);
		NOTE("%s: %ld on a restored page (%ld refused), %ld late, %ld busy\n",
		     name, c->restored, c->refused, c->late, c->other);
	}
	/* Both sides of the window, for every path. */
	for (k = 0; k < r->nr_pinners; k++) {
		const struct race_count *c = &count[r->pinner[k].path];

		EXPECT_LT(0, c->before) TH_LOG("%s: no pin landed before the freeze",
					       path_name[r->pinner[k].path]);
		EXPECT_LT(0, c->after) TH_LOG("%s: no racing pin got the new page",
					      path_name[r->pinner[k].path]);
	}

	/* Every pin taken was released, and vmstat saw them all. */
	held1 = robust_pins_expect(held0);
	acq1 = foll_pins_acquired();
	NOTE("%lld FOLL_PIN pins taken; nr_foll_pin_acquired +%lld, held %lld -> %lld\n",
	     ours, acq1 - acq0, held0, held1);
	EXPECT_EQ(held0, held1);
	EXPECT_LE(ours, acq1 - acq0);
}

UTIL_SKIPS_SUMMARY

TEST_HARNESS_MAIN
