// SPDX-License-Identifier: GPL-2.0
/*
 * stress: every probe at once over one region while the region is torn up.
 *
 * For MMPROBE_STRESS_SECONDS (default 60; the VM runner passes 15 unless
 * told otherwise, see Documentation/robustness.rst) these threads share a
 * 16 MiB MADV_HUGEPAGE anonymous region:
 *
 * - probes: inspect (ranges and summaries, of this process and of the
 *   children below), pin sessions (every method, write and long-term,
 *   INFO of now, READ, partial UNPIN), and mmprobe's gup_test (benchmarks
 *   and long-term START/READ/STOP), and the mmu-notifier tracer of this
 *   process (read as it fills, registered again and again), and
 *   migrate_vma of pieces to either node (with short holds while frozen,
 *   and aborts), where this build has them;
 * - mutators: unmap and map again (MAP_FIXED over the piece: no hole that
 *   another thread's malloc could take), mremap away and back (with
 *   MREMAP_DONTUNMAP, for the same reason), fork children
 *   that write (COW) and exit, MADV_DONTNEED, MADV_PAGEOUT (swap), mprotect
 *   of whole and partial PMDs (THP splits), MADV_COLLAPSE and a fast
 *   khugepaged (collapse), move_pages() between the NUMA nodes, and a
 *   pattern written with process_vm_writev() (data for swap to move).
 *
 * Nothing may oops or hang (the runner fails on any kernel splat, and the
 * guest's hung-task timeout is 30 s), every probe answer is one its
 * documentation allows, every pin is released when the files are closed
 * (/proc/vmstat nr_foll_pin_acquired == nr_foll_pin_released again), and
 * the module unloads afterwards. Memory is touched only through system
 * calls (MADV_POPULATE_WRITE, process_vm_writev()), never by loads and
 * stores that a munmap in another thread would turn into SIGSEGV.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "kmod_util.h"
#include "mmprobe_uapi.h"
#include "mmprobe_util.h"
#include "robust_util.h"
#ifdef __has_include
#if __has_include("gup_test_uapi.h")
#include "gup_test_uapi.h"
#endif
#endif

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#define MPOL_MF_MOVE		(1 << 1)

#define STRESS_DEFAULT_SECONDS	60
#define STRESS_PMDS		8
#define STRESS_MAX_THREADS	16
#define STRESS_FILL		(64 * 1024)	/* the pattern process_vm_writev() repeats */
#define STRESS_READ_PAGES	64		/* pin READ: takes of at most this many pages */

/* What a thread did, and what went wrong (the first error is kept). */
struct stress_stat {
	const char *name;
	unsigned long ops;
	unsigned long failed;	/* documented failures: EFAULT on a gone range... */
	char error[200];	/* an answer the documentation does not allow */
};

struct stress {
	char *region;
	size_t len;		/* STRESS_PMDS PMDs */
	size_t pmd;
	size_t ps;
	char *scratch;		/* where mremap moves a piece to */
	char *fill;		/* STRESS_FILL bytes of pattern */
	bool numa;
	volatile bool stop;
	volatile pid_t child;	/* the latest child of stress_fork() */
	pthread_mutex_t layout;	/* mutators change the region one at a time */
	struct stress_stat stats[STRESS_MAX_THREADS];
	int nr_threads;
};

struct stress_thread {
	struct stress *s;
	struct stress_stat *stat;
	uint64_t rng;
	void *(*fn)(void *arg);
};

static size_t stress_below(struct stress_thread *t, size_t n)
{
	return n ? robust_rand(&t->rng) % n : 0;
}

/* A page-aligned piece of the region: its start and length. */
static void stress_piece(struct stress_thread *t, char **start, size_t *len)
{
	struct stress *s = t->s;
	size_t pages = s->len / s->ps, first, n;

	switch (stress_below(t, 3)) {
	case 0:		/* a whole PMD */
		*start = s->region + stress_below(t, STRESS_PMDS) * s->pmd;
		*len = s->pmd;
		return;
	case 1:		/* a few pages, maybe across a PMD boundary */
		first = stress_below(t, pages);
		n = 1 + stress_below(t, 64);
		break;
	default:	/* up to two PMDs, anywhere */
		first = stress_below(t, pages);
		n = 1 + stress_below(t, 2 * s->pmd / s->ps);
		break;
	}
	if (first + n > pages)
		n = pages - first;
	*start = s->region + first * s->ps;
	*len = n * s->ps;
}

/* Record an answer the documentation does not allow; the test fails on it. */
static void stress_bad(struct stress_thread *t, const char *what, int err)
{
	if (!t->stat->error[0])
		snprintf(t->stat->error, sizeof(t->stat->error), "%s: %s", what,
			 err ? strerror(err) : "unexpected success");
}

static bool stress_errno_in(int err, const int *allowed)
{
	for (; *allowed; allowed++)
		if (err == *allowed)
			return true;
	return false;
}

/* Check a probe's answer: success, or an errno from the list (0-ended). */
static void stress_answer(struct stress_thread *t, const char *what, long ret,
			  const int *allowed)
{
	t->stat->ops++;
	if (ret >= 0)
		return;
	if (stress_errno_in(errno, allowed))
		t->stat->failed++;
	else
		stress_bad(t, what, errno);
}

/* ---- probes ---- */

static void *stress_inspect(void *arg)
{
	/* The range may be unmapped or the child gone: never an error. */
	static const int allowed[] = { ESRCH, 0 };
	struct stress_thread *t = arg;
	struct stress *s = t->s;
	char cmd[128], *buf = malloc(1 << 16);
	int fd = open(MMPROBE_DIR "/inspect", O_RDWR);
	size_t len;
	char *start;
	ssize_t n;

	if (fd < 0 || !buf) {
		stress_bad(t, "open inspect", errno);
		free(buf);
		return NULL;
	}
	while (!s->stop) {
		stress_piece(t, &start, &len);
		/* Now and then the child of the moment, which may be exiting. */
		snprintf(cmd, sizeof(cmd), "%d %p %p%s",
			 stress_below(t, 4) ? 0 : s->child, start, start + len,
			 stress_below(t, 4) ? "" : " summary");
		n = write(fd, cmd, strlen(cmd));
		stress_answer(t, "inspect write", n, allowed);
		if (n < 0)
			continue;
		/* The report, in pieces, to its end or its cut line. */
		do {
			n = read(fd, buf, 1 + stress_below(t, (1 << 16) - 1));
		} while (n > 0 && !s->stop);
		if (n < 0)
			stress_bad(t, "inspect read", errno);
	}
	close(fd);
	free(buf);
	return NULL;
}

#ifdef MMPROBE_PIN_IOC_TAKE
static void *stress_pin(void *arg)
{
	/*
	 * Pages that are not there, not writable or going away: EFAULT (or
	 * ENOMEM from GUP); a long-term pin that could not migrate: ENOMEM,
	 * EBUSY or EAGAIN (GUP's); a session at pin_max_pages: ENOSPC.
	 */
	static const int take_ok[] = { EFAULT, ENOMEM, EBUSY, EAGAIN, ENOSPC, 0 };
	static const int none[] = { 0 };
	struct stress_thread *t = arg;
	struct stress *s = t->s;
	struct mmprobe_pin_page *pages = calloc(512, sizeof(*pages));
	char *data = malloc(STRESS_READ_PAGES * s->ps);
	int fd = open(MMPROBE_DIR "/pin", O_RDWR);

	if (fd < 0 || !pages || !data) {
		stress_bad(t, "open pin", errno);
		goto out;
	}
	while (!s->stop) {
		struct mmprobe_pin_take take = { .method = 1 + stress_below(t, 4) };
		struct mmprobe_pin_range r = { };
		size_t len;
		char *start;

		stress_piece(t, &start, &len);
		take.addr = (uintptr_t)start;
		take.nr_pages = len / s->ps > 512 ? 512 : len / s->ps;
		take.flags = stress_below(t, 2) ? MMPROBE_PIN_WRITE : 0;
		if (take.method <= MMPROBE_PIN_METHOD_PUP_FAST && !stress_below(t, 3))
			take.flags |= MMPROBE_PIN_LONGTERM;
		if (ioctl(fd, MMPROBE_PIN_IOC_TAKE, &take)) {
			stress_answer(t, "pin TAKE", -1, take_ok);
			continue;
		}
		stress_answer(t, "pin TAKE", 0, none);
		r.handle = take.handle;
		r.nr_pages = take.nr_pinned;
		r.buf = (uintptr_t)pages;
		r.flags = MMPROBE_PIN_INFO_NOW;
		stress_answer(t, "pin INFO", ioctl(fd, MMPROBE_PIN_IOC_INFO, &r), none);
		if (take.nr_pinned <= STRESS_READ_PAGES && stress_below(t, 2)) {
			r.buf = (uintptr_t)data;
			r.flags = 0;
			stress_answer(t, "pin READ", ioctl(fd, MMPROBE_PIN_IOC_READ, &r), none);
		}
		/* Part of it back now, the rest with the next one or at close. */
		r.buf = 0;
		r.flags = 0;
		r.index = stress_below(t, take.nr_pinned);
		r.nr_pages = 1 + stress_below(t, take.nr_pinned - r.index);
		stress_answer(t, "pin UNPIN", ioctl(fd, MMPROBE_PIN_IOC_UNPIN, &r), none);
		if (stress_below(t, 2)) {
			memset(&r, 0, sizeof(r));
			r.flags = MMPROBE_PIN_UNPIN_ALL;
			stress_answer(t, "pin UNPIN_ALL", ioctl(fd, MMPROBE_PIN_IOC_UNPIN, &r),
				      none);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(pages);
	free(data);
	return NULL;
}
#endif

#ifdef MMPROBE_GUP_TEST_IOC_MAGIC
static void *stress_gup_test(void *arg)
{
	static const int gup_ok[] = { EFAULT, ENOMEM, EBUSY, EAGAIN, 0 };
	static const unsigned int cmds[] = {
		MMPROBE_GUP_FAST_BENCHMARK, MMPROBE_PIN_FAST_BENCHMARK,
		MMPROBE_PIN_LONGTERM_BENCHMARK, MMPROBE_GUP_BASIC_TEST,
		MMPROBE_PIN_BASIC_TEST,
	};
	static const int none[] = { 0 };
	struct stress_thread *t = arg;
	struct stress *s = t->s;
	char *copy = malloc(s->len);
	int fd = open("/sys/kernel/debug/gup_test", O_RDWR);
	bool pinned = false;

	if (fd < 0 || !copy) {
		stress_bad(t, "open gup_test", errno);
		free(copy);
		return NULL;
	}
	while (!s->stop) {
		struct mmprobe_pin_longterm_test lt = { };
		struct mmprobe_gup_test g = { };
		uint64_t to = (uintptr_t)copy;
		size_t len;
		char *start;

		stress_piece(t, &start, &len);
		switch (stress_below(t, 4)) {
		case 0:
			if (pinned) {
				stress_answer(t, "gup_test READ",
					      ioctl(fd, MMPROBE_PIN_LONGTERM_TEST_READ, &to), none);
				stress_answer(t, "gup_test STOP",
					      ioctl(fd, MMPROBE_PIN_LONGTERM_TEST_STOP), none);
				pinned = false;
				break;
			}
			lt.addr = (uintptr_t)start;
			lt.size = len;
			lt.flags = stress_below(t, 4);
			pinned = !ioctl(fd, MMPROBE_PIN_LONGTERM_TEST_START, &lt);
			stress_answer(t, "gup_test START", pinned ? 0 : -1, gup_ok);
			break;
		default:
			g.addr = (uintptr_t)start;
			g.size = len;
			g.nr_pages_per_call = 1 + stress_below(t, 64);
			g.gup_flags = stress_below(t, 2);	/* FOLL_WRITE or not */
			stress_answer(t, "gup_test run",
				      ioctl(fd, cmds[stress_below(t, 5)], &g), gup_ok);
			break;
		}
	}
	close(fd);
	free(copy);
	return NULL;
}
#endif

#ifdef MMPROBE_IOC_MIGRATE
/*
 * migrate_vma over a piece, to either node, with a short hold now and then
 * while the others pin, inspect and tear the range up. A piece that spans
 * VMAs (after mprotect, MAP_FIXED or mremap): EINVAL. The report must add
 * up to the counts, whatever happened to the pages.
 */
static void *stress_migrate(void *arg)
{
	static const int allowed[] = { EINVAL, 0 };
	struct stress_thread *t = arg;
	struct stress *s = t->s;
	struct mmprobe_migrate_page *rep = calloc(MMPROBE_MIGRATE_MAX_PAGES, sizeof(*rep));
	int fd = open(MMPROBE_DIR "/migrate", O_RDWR);

	if (fd < 0 || !rep) {
		stress_bad(t, "open migrate", errno);
		goto out;
	}
	while (!s->stop) {
		struct mmprobe_migrate_args a = { .pages = (uintptr_t)rep };
		char why[160];
		size_t len;
		char *start;

		stress_piece(t, &start, &len);
		a.start = (uintptr_t)start;
		a.len = len / s->ps > MMPROBE_MIGRATE_MAX_PAGES ?
			MMPROBE_MIGRATE_MAX_PAGES * s->ps : len;
		a.node = s->numa ? stress_below(t, 2) : 0;
		a.hold_ms = stress_below(t, 8) ? 0 : 1 + stress_below(t, 5);
		a.flags = stress_below(t, 8) ? 0 : MMPROBE_MIGRATE_ABORT;
		if (ioctl(fd, MMPROBE_IOC_MIGRATE, &a)) {
			stress_answer(t, "migrate", -1, allowed);
			continue;
		}
		stress_answer(t, "migrate", 0, allowed);
		if (robust_migrate_report_check(&a, rep, why, sizeof(why)) &&
		    !t->stat->error[0])
			snprintf(t->stat->error, sizeof(t->stat->error), "migrate: %s", why);
	}
out:
	if (fd >= 0)
		close(fd);
	free(rep);
	return NULL;
}
#endif

/*
 * The tracer of this address space: read it as it fills, and register and
 * unregister again now and then (mmu_notifier_register() and _unregister()
 * racing with every invalidation above). Sequence numbers must rise with no
 * gap but a "lost" line's.
 */
static void *stress_notify(void *arg)
{
	static const int none[] = { 0 };
	struct stress_thread *t = arg;
	struct stress *s = t->s;
	char *buf = malloc(1 << 16), *line, *end;
	unsigned long long seq, next = 1, count;
	size_t have = 0;
	ssize_t n;
	int fd = -1;

	if (!buf) {
		stress_bad(t, "malloc", errno);
		return NULL;
	}
	while (!s->stop) {
		if (fd < 0 || !stress_below(t, 200)) {
			if (fd >= 0)
				close(fd);
			fd = open(MMPROBE_DIR "/notify", O_RDWR);
			stress_answer(t, "notify open", fd, none);
			if (fd < 0)
				break;
			next = 1;
			have = 0;
		}
		n = read(fd, buf + have, (1 << 16) - 1 - have);
		stress_answer(t, "notify read", n, none);
		if (n <= 0) {
			usleep(1000);
			continue;
		}
		have += n;
		buf[have] = '\0';
		/* Whole lines only; a partial one waits for the next read. */
		for (line = buf; (end = strchr(line, '\n')); line = end + 1) {
			if (sscanf(line, "seq=%llu", &seq) != 1 || seq != next) {
				stress_bad(t, "notify: a line out of sequence", 0);
				break;
			}
			next = seq + 1;
			if (sscanf(line, "seq=%*u cb=lost count=%llu", &count) == 1)
				next = seq + count;
		}
		have = buf + have - line;
		memmove(buf, line, have);
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* ---- mutators ---- */

/*
 * Make a piece of the region fresh anonymous THP-able memory again. Mapping
 * over it with MAP_FIXED unmaps the old pages in the same mmap_lock section:
 * a munmap first would leave a hole that another thread's malloc() could
 * take and this mmap then clobber.
 */
static void stress_remap(struct stress *s, char *start, size_t len)
{
	if (mmap(start, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) == MAP_FAILED)
		return;
	madvise(start, len, MADV_HUGEPAGE);
}

/*
 * Write a pattern over a piece with process_vm_writev() on ourselves: a
 * system call, so a piece another thread just unmapped gives EFAULT, not
 * SIGSEGV. Zero pages (all MADV_POPULATE_WRITE leaves) go to swap without
 * I/O from 6.12 on (swpout_zero); data does real swap-out and swap-in.
 */
static void stress_fill(struct stress *s, char *start, size_t len)
{
	struct iovec local[64], remote = { .iov_base = start };
	size_t i, n = 0;

	if (len > 64 * STRESS_FILL)
		len = 64 * STRESS_FILL;
	remote.iov_len = len;
	for (i = 0; i < len; i += STRESS_FILL, n++) {
		local[n].iov_base = s->fill;
		local[n].iov_len = len - i < STRESS_FILL ? len - i : STRESS_FILL;
	}
	process_vm_writev(getpid(), local, n, &remote, 1, 0);
}

static void *stress_mutate(void *arg)
{
	struct stress_thread *t = arg;
	struct stress *s = t->s;

	while (!s->stop) {
		int nodes[64], status[64], i, n;
		void *pages[64];
		size_t len;
		char *start;

		stress_piece(t, &start, &len);
		pthread_mutex_lock(&s->layout);
		switch (stress_below(t, 12)) {
		case 0:		/* unmap and map again */
			stress_remap(s, start, len);
			break;
		case 1:		/* mremap away and back, never leaving a hole */
			if (mremap(start, len, len, MREMAP_MAYMOVE | MREMAP_FIXED |
				   MREMAP_DONTUNMAP, s->scratch) != MAP_FAILED)
				mremap(s->scratch, len, len, MREMAP_MAYMOVE | MREMAP_FIXED |
				       MREMAP_DONTUNMAP, start);
			break;
		case 2:
			madvise(start, len, MADV_DONTNEED);
			break;
		case 3:
			madvise(start, len, MADV_PAGEOUT);
			break;
		case 4:		/* read-only for a moment: whole or partial PMDs */
			mprotect(start, len, PROT_READ);
			sched_yield();
			mprotect(start, len, PROT_READ | PROT_WRITE);
			break;
		case 5:		/* split a THP: unmap one page inside it */
			start += stress_below(t, len / s->ps) * s->ps;
			stress_remap(s, start, s->ps);
			break;
		case 6:		/* collapse */
			madvise(start, len, MADV_COLLAPSE);
			break;
		case 7:		/* NUMA: move some pages to the other node */
			if (!s->numa)
				break;
			n = len / s->ps < 64 ? len / s->ps : 64;
			for (i = 0; i < n; i++) {
				pages[i] = start + i * s->ps;
				nodes[i] = stress_below(t, 2);
			}
			syscall(__NR_move_pages, 0, n, pages, nodes, status, MPOL_MF_MOVE);
			break;
		case 8:		/* write data: swap then compresses and does I/O */
			stress_fill(s, start, len);
			break;
		default:	/* write: fault in, break COW */
			madvise(start, len, MADV_POPULATE_WRITE);
			break;
		}
		pthread_mutex_unlock(&s->layout);
		t->stat->ops++;
	}
	return NULL;
}

/* Children that share the region copy-on-write, write to it and exit. */
static void *stress_fork(void *arg)
{
	struct stress_thread *t = arg;
	struct stress *s = t->s;

	while (!s->stop) {
		size_t len;
		char *start;
		pid_t pid;

		stress_piece(t, &start, &len);
		pid = fork();
		if (pid < 0) {
			stress_bad(t, "fork", errno);
			break;
		}
		if (!pid) {
			madvise(start, len, MADV_POPULATE_WRITE);
			_exit(0);
		}
		s->child = pid;
		waitpid(pid, NULL, 0);
		t->stat->ops++;
	}
	return NULL;
}

static unsigned int stress_seconds(void)
{
	const char *env = getenv("MMPROBE_STRESS_SECONDS");

	return env && *env ? strtoul(env, NULL, 0) : STRESS_DEFAULT_SECONDS;
}

FIXTURE(stress) {
	struct stress s;
	long long pins_base;
};

FIXTURE_SETUP(stress)
{
	struct stress *s = &self->s;
	size_t i;

	ROBUST_LOAD_OR_SKIP();
	memset(s, 0, sizeof(*s));
	s->ps = getpagesize();
	s->pmd = util_pmd_size() ?: util_pmd_span();
	s->len = STRESS_PMDS * s->pmd;
	s->region = util_mmap_aligned(s->len, s->pmd);
	ASSERT_NE(NULL, s->region);
	madvise(s->region, s->len, MADV_HUGEPAGE);
	madvise(s->region, s->len, MADV_POPULATE_WRITE);
	s->scratch = mmap(NULL, s->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, s->scratch);
	s->fill = malloc(STRESS_FILL);
	ASSERT_NE(NULL, s->fill);
	for (i = 0; i < STRESS_FILL; i++)
		s->fill[i] = 0x5a ^ (i >> 12);
	s->numa = !access("/sys/devices/system/node/node1", F_OK);
	pthread_mutex_init(&s->layout, NULL);

	/* A busy khugepaged, so that collapses race with the probes. */
	util_setting_set(THP_DIR "/khugepaged/scan_sleep_millisecs", "10");
	util_setting_set(THP_DIR "/khugepaged/alloc_sleep_millisecs", "10");
	util_setting_set(THP_DIR "/khugepaged/pages_to_scan", "4096");
	self->pins_base = robust_pins_held();
}

FIXTURE_TEARDOWN(stress)
{
	util_settings_restore();
}

/*
 * /proc/vmstat events that show the races really happened; swpout_zero
 * and swpin_zero (zero pages swapped without I/O) exist from 6.12 on.
 */
static const char *const stress_events[] = {
	"thp_fault_alloc", "thp_split_pmd", "thp_collapse_alloc", "pgmigrate_success",
	"pswpout", "pswpin", "swpout_zero", "swpin_zero", "thp_deferred_split_page",
};

#define STRESS_NR_EVENTS ARRAY_SIZE(stress_events)

TEST_F_TIMEOUT(stress, everything_at_once, 3600)
{
	long long events[STRESS_NR_EVENTS];
	struct stress_thread threads[STRESS_MAX_THREADS];
	pthread_t ids[STRESS_MAX_THREADS];
	struct stress *s = &self->s;
	unsigned int seconds = stress_seconds(), i;
	struct {
		const char *name;
		void *(*fn)(void *arg);
		const char *file;	/* needs this mmprobe file, or NULL */
	} kinds[] = {
		{ "inspect", stress_inspect, "inspect" },
#ifdef MMPROBE_PIN_IOC_TAKE
		{ "pin", stress_pin, "pin" },
		{ "pin", stress_pin, "pin" },
#endif
#ifdef MMPROBE_GUP_TEST_IOC_MAGIC
		{ "gup_test", stress_gup_test, "gup_test" },
#endif
#ifdef MMPROBE_IOC_MIGRATE
		{ "migrate", stress_migrate, "migrate" },
#endif
		{ "notify", stress_notify, "notify" },
		{ "mutate", stress_mutate, NULL },
		{ "mutate", stress_mutate, NULL },
		{ "fork", stress_fork, NULL },
	};
	long long waited;
	int ret;

	TH_LOG("%u seconds (MMPROBE_STRESS_SECONDS), %zu MiB region, %s",
	       seconds, s->len >> 20, s->numa ? "2 NUMA nodes" : "one node");
	for (i = 0; i < STRESS_NR_EVENTS; i++)
		events[i] = util_vmstat(stress_events[i]);
	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		struct stress_thread *t = &threads[s->nr_threads];

		if (kinds[i].file && !robust_has_file(kinds[i].file)) {
			TH_LOG("no %s file in this build: not stressed", kinds[i].file);
			continue;
		}
		t->s = s;
		t->stat = &s->stats[s->nr_threads];
		t->stat->name = kinds[i].name;
		t->rng = 0x5eed0000 + i;
		ASSERT_EQ(0, pthread_create(&ids[s->nr_threads], NULL, kinds[i].fn, t));
		s->nr_threads++;
	}
	sleep(seconds);
	s->stop = true;
	for (i = 0; i < (unsigned int)s->nr_threads; i++)
		ASSERT_EQ(0, pthread_join(ids[i], NULL));
	for (i = 0; i < STRESS_NR_EVENTS; i++) {
		if (events[i] < 0)
			TH_LOG("%-24s (not in this kernel)", stress_events[i]);
		else
			TH_LOG("%-24s +%lld", stress_events[i],
			       util_vmstat(stress_events[i]) - events[i]);
	}

	for (i = 0; i < (unsigned int)s->nr_threads; i++) {
		struct stress_stat *st = &s->stats[i];

		TH_LOG("%-8s %8lu operations, %lu refused as documented", st->name, st->ops,
		       st->failed);
		EXPECT_EQ(0, st->error[0]) TH_LOG("%s: %s", st->name, st->error);
		EXPECT_LT(0, st->ops) TH_LOG("%s made no progress", st->name);
	}
	/* Every file is closed: nothing may stay pinned, and mmprobe unloads. */
	EXPECT_EQ(self->pins_base, robust_pins_expect(self->pins_base));
	ret = robust_unload_wait(ROBUST_UNLOAD_WAIT_MS, NULL);
	ASSERT_EQ(0, ret) TH_LOG("unload: %s", strerror(-ret));
	waited = robust_now_ms();
	ASSERT_EQ(0, kmod_util_load(kmod_util_mmprobe_path(), NULL));
	TH_LOG("reloaded in %lld ms", robust_now_ms() - waited);
	munmap(s->region, s->len);
	munmap(s->scratch, s->len);
	free(s->fill);
}

TEST_HARNESS_MAIN
