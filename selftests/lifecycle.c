// SPDX-License-Identifier: GPL-2.0
/*
 * lifecycle: mmprobe comes and goes cleanly, and no process can make it lose
 * or keep anything.
 *
 * - 100 load/unload cycles through libkmod: the debugfs tree appears with the
 *   same files and modes each time and goes away, the module holds no
 *   reference on itself, and counters start from zero.
 * - While any mmprobe file is open, in this process or only in a child that
 *   inherited it, delete_module() is refused with EWOULDBLOCK (== EAGAIN on
 *   Linux): each open debugfs file holds a reference on the module, shown
 *   by /sys/module/mmprobe/refcnt, and since Linux 3.13 delete_module()
 *   never waits for references, with or without O_NONBLOCK. (EBUSY is only
 *   for a module still initialising or already going.) The refused unload
 *   loses nothing: the open file and the counters work on.
 * - A process killed while it holds pins, notifier registrations or a frozen
 *   migration leaves nothing behind: /proc/vmstat nr_foll_pin_acquired and
 *   nr_foll_pin_released agree again, hugetlb pages it held references on go
 *   back to the pool, and the module unloads.
 * - A file inherited across fork is one open file (one session): it lives on
 *   until the last process holding it closes it, as documented for each file.
 * - A pinned page outlives its mapping, and pin says where it is mapped
 *   (nowhere, once its address maps another page), not what maps there.
 *
 * The module is found through $MMPROBE_KO, ./mmprobe.ko, or by name; it is
 * left loaded at the end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "kmod_util.h"
#include "mmprobe_uapi.h"
#include "mmprobe_util.h"
#include "notify_util.h"
#include "pin_util.h"
#include "robust_util.h"

#define LOAD_CYCLES	100
/*
 * 100 cycles take about 30 s under TCG on a Debian kernel, more on the KASAN
 * and lockdep kernel of "make check-debug": the harness's default of 30 s
 * cut them there. Within the runner's 300 s for the whole program.
 */
#define LIFECYCLE_CYCLES_TIMEOUT	240

/* Unload and load again; asserts nothing is left of the old instance. */
#define LIFECYCLE_RELOAD() do {						\
	long __waited;							\
	int __ret = robust_unload_wait(ROBUST_UNLOAD_WAIT_MS, &__waited); \
									\
	ASSERT_EQ(0, __ret) TH_LOG("unload: %s (refcnt %ld)",		\
				   strerror(-__ret), robust_refcnt());	\
	if (__waited)							\
		TH_LOG("unload waited %ld ms for a release", __waited);\
	ASSERT_EQ(-1, access(MMPROBE_DIR, F_OK));			\
	__ret = kmod_util_load(kmod_util_mmprobe_path(), NULL);		\
	ASSERT_EQ(0, __ret) TH_LOG("load: %s", strerror(-__ret));	\
} while (0)

/* nr small anonymous pages, written, so that each is an exclusive page. */
static char *lifecycle_anon(size_t nr)
{
	return util_mmap_small(nr * getpagesize(), 0x5a);
}

FIXTURE(lifecycle) {
	struct robust_file files[ROBUST_MAX_FILES];
	int nr_files;
};

FIXTURE_SETUP(lifecycle)
{
	ROBUST_LOAD_OR_SKIP();
	self->nr_files = robust_list(self->files, ROBUST_MAX_FILES);
	ASSERT_LT(1, self->nr_files);
}

FIXTURE_TEARDOWN(lifecycle)
{
	util_settings_restore();
	kmod_util_mmprobe_load();
}

/*
 * 100 cycles: every load makes the same files with the same modes, holds no
 * reference on itself and starts its counters from zero; every unload
 * removes the tree and the module.
 */
TEST_F_TIMEOUT(lifecycle, load_unload_100, LIFECYCLE_CYCLES_TIMEOUT)
{
	struct robust_file now[ROBUST_MAX_FILES];
	char buf[4096];
	int i, j, nr, ret;

	for (i = 0; i < LOAD_CYCLES; i++) {
		ret = kmod_util_unload("mmprobe");
		ASSERT_EQ(0, ret) TH_LOG("unload %d: %s", i, strerror(-ret));
		ASSERT_EQ(-1, access(MMPROBE_DIR, F_OK));
		ASSERT_EQ(-1, robust_refcnt());
		ASSERT_EQ(-ENOENT, kmod_util_unload("mmprobe"));

		ret = kmod_util_load(kmod_util_mmprobe_path(), NULL);
		ASSERT_EQ(0, ret) TH_LOG("load %d: %s", i, strerror(-ret));
		ASSERT_EQ(0, robust_refcnt());
		nr = robust_list(now, ROBUST_MAX_FILES);
		ASSERT_EQ(self->nr_files, nr);
		for (j = 0; j < nr; j++) {
			ASSERT_STREQ(self->files[j].name, now[j].name);
			ASSERT_EQ(self->files[j].mode, now[j].mode);
		}
		/* Some use between cycles, so that there is something to free. */
		if (i % 10 == 0) {
			ASSERT_LT(0, util_read_file(MMPROBE_DIR "/version", buf,
						    sizeof(buf)));
			ASSERT_LT(0, util_read_file(MMPROBE_DIR "/stats", buf,
						    sizeof(buf)));
			ASSERT_EQ(1, util_kv_get(buf, "version_reads"));
			ASSERT_EQ(0, util_kv_get(buf, "errors"));
		}
	}
}

/* Every counter of "stats" before is still there after, not lower. */
static void lifecycle_counters_kept(struct __test_metadata *_metadata,
				    const char *before, const char *after)
{
	const char *line;
	char name[64];

	for (line = before; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		long long was, now;

		if (sscanf(line, "%63s %lld", name, &was) != 2)
			continue;
		now = util_kv_get(after, name);
		EXPECT_LE(was, now) TH_LOG("stats %s went from %lld to %lld", name, was, now);
	}
}

/*
 * Each file held open refuses the unload with EWOULDBLOCK; the module and
 * its files stay, the open file still works and no counter was reset (an
 * open file may count on meanwhile: notify counts the events of its mm).
 * After close the unload succeeds.
 */
TEST_F(lifecycle, unload_refused_while_open)
{
	char before[4096], after[4096], path[PATH_MAX];
	int i, fd, ret;

	for (i = 0; i < self->nr_files; i++) {
		int flags = self->files[i].mode & 0200 ? O_RDWR : O_RDONLY;

		snprintf(path, sizeof(path), MMPROBE_DIR "/%s", self->files[i].name);
		fd = open(path, flags);
		ASSERT_LE(0, fd) TH_LOG("open %s: %s", path, strerror(errno));
		ASSERT_EQ(1, robust_refcnt()) TH_LOG("%s", self->files[i].name);
		ASSERT_LT(0, util_read_file(MMPROBE_DIR "/stats", before, sizeof(before)));

		ret = kmod_util_unload("mmprobe");
		EXPECT_EQ(-EWOULDBLOCK, ret) TH_LOG("%s: %s", self->files[i].name,
						    strerror(-ret));
		ASSERT_TRUE(kmod_util_loaded("mmprobe"));
		ASSERT_TRUE(robust_has_file(self->files[i].name));
		ASSERT_LT(0, util_read_file(MMPROBE_DIR "/stats", after, sizeof(after)));
		lifecycle_counters_kept(_metadata, before, after);
		if (!strcmp(self->files[i].name, "version")) {
			ASSERT_LT(0, read(fd, after, sizeof(after)));
			EXPECT_EQ(0, strncmp(after, "version=", 8));
		}
		close(fd);
		ASSERT_EQ(0, robust_refcnt());
		LIFECYCLE_RELOAD();
	}
}

/*
 * A file only a child holds, inherited across fork after the parent closed
 * its copy, still refuses the unload; the child's exit releases it.
 */
TEST_F(lifecycle, unload_refused_while_child_holds)
{
	char buf[4096];
	int pipefd[2], fd, ret;
	pid_t pid;

	fd = open(MMPROBE_DIR "/version", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(pipefd[1]);
		/* Wait for the parent to try, then read through the fd. */
		ret = read(pipefd[0], buf, 1);
		_exit(read(fd, buf, sizeof(buf)) > 0 && !strncmp(buf, "version=", 8) ?
		      0 : 1);
	}
	close(pipefd[0]);
	close(fd);
	EXPECT_EQ(1, robust_refcnt());
	ret = kmod_util_unload("mmprobe");
	EXPECT_EQ(-EWOULDBLOCK, ret) TH_LOG("%s", strerror(-ret));
	ASSERT_EQ(1, write(pipefd[1], "x", 1));
	close(pipefd[1]);
	ASSERT_EQ(pid, waitpid(pid, &ret, 0));
	EXPECT_TRUE(WIFEXITED(ret) && WEXITSTATUS(ret) == 0);
	LIFECYCLE_RELOAD();
}

/* Loading an already loaded module is refused by the kernel with EEXIST. */
TEST_F(lifecycle, load_twice)
{
	/* kmod_util_load() calls a second load a success: check the state. */
	ASSERT_EQ(0, kmod_util_load(kmod_util_mmprobe_path(), NULL));
	ASSERT_TRUE(kmod_util_loaded("mmprobe"));
	ASSERT_EQ(0, robust_refcnt());
	ASSERT_TRUE(robust_has_file("version"));
}

#ifdef MMPROBE_PIN_IOC_TAKE

struct lifecycle_pin_child {
	int fd;			/* an open pin session, or -1: open one */
	char *mem;		/* anon pages to pin */
	size_t nr_anon;
	char *huge;		/* one hugetlb page to take references on, or NULL */
	size_t huge_size;
};

static int lifecycle_pin_take(int fd, void *addr, size_t nr, __u64 method, __u64 flags)
{
	struct mmprobe_pin_take take = {
		.addr = (uintptr_t)addr,
		.nr_pages = nr,
		.method = method,
		.flags = flags,
	};

	if (ioctl(fd, MMPROBE_PIN_IOC_TAKE, &take))
		return -errno;
	return take.nr_pinned == nr ? 0 : -EAGAIN;
}

/*
 * In the child: pin the anon pages with every pinning method (each page
 * twice, once long-term), and take references on the hugetlb page, so
 * that a leak of either shows.
 */
static int lifecycle_pin_child_fn(void *arg)
{
	struct lifecycle_pin_child *c = arg;
	size_t half = c->nr_anon / 2, ps = getpagesize();
	int fd = c->fd;

	if (fd < 0)
		fd = open(MMPROBE_DIR "/pin", O_RDWR);
	if (fd < 0)
		return -1;
	if (lifecycle_pin_take(fd, c->mem, half, MMPROBE_PIN_METHOD_PUP, MMPROBE_PIN_WRITE) ||
	    lifecycle_pin_take(fd, c->mem + half * ps, c->nr_anon - half,
			       MMPROBE_PIN_METHOD_PUP_FAST, MMPROBE_PIN_WRITE) ||
	    lifecycle_pin_take(fd, c->mem, c->nr_anon, MMPROBE_PIN_METHOD_PUP,
			       MMPROBE_PIN_WRITE | MMPROBE_PIN_LONGTERM))
		return -1;
	if (c->huge &&
	    (lifecycle_pin_take(fd, c->huge, 1, MMPROBE_PIN_METHOD_GUP, 0) ||
	     lifecycle_pin_take(fd, c->huge + ps, 1, MMPROBE_PIN_METHOD_GUP_FAST, 0)))
		return -1;
	return 0;
}

/* A hugetlb page this process maps, so references on it are countable. */
static char *lifecycle_huge_page(size_t *size)
{
	long long kb = robust_meminfo("Hugepagesize");
	char *p;

	if (robust_meminfo("HugePages_Free") < 1 || kb <= 0)
		return NULL;
	*size = kb * 1024;
	p = mmap(NULL, *size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 1, *size);
	return p;
}

/*
 * A process killed while its pin session holds pins and references: its
 * exit releases the file, which releases them all (vmstat's pin counters
 * agree again, the hugetlb page returns to the pool once unmapped), and the
 * module unloads.
 */
TEST_F(lifecycle, killed_holding_pins)
{
	struct lifecycle_pin_child c = { .fd = -1, .nr_anon = 256 };
	long long held, huge_free = -1;
	size_t ps = getpagesize();
	int ready;
	pid_t pid;

	if (!robust_has_file("pin"))
		SKIP(return, "no pin file in this build of mmprobe");
	c.mem = lifecycle_anon(c.nr_anon);
	ASSERT_NE(NULL, c.mem);
	c.huge = lifecycle_huge_page(&c.huge_size);
	if (!c.huge)
		TH_LOG("no free hugetlb page: references are not checked");
	held = robust_pins_held();

	pid = robust_fork_holder(lifecycle_pin_child_fn, &c, &ready);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, robust_wait_ready(ready)) TH_LOG("the child could not pin");
	/* Each of the child's anon pages pinned twice (its own COW copies). */
	EXPECT_EQ(held + 2 * (long long)c.nr_anon,
		  robust_pins_expect(held + 2 * (long long)c.nr_anon));
	EXPECT_EQ(1, robust_refcnt());
	if (c.huge) {
		/* Our mapping goes: only the child's references keep the page. */
		munmap(c.huge, c.huge_size);
		huge_free = robust_meminfo("HugePages_Free");
	}

	ASSERT_EQ(0, robust_kill_reap(pid));
	EXPECT_EQ(held, robust_pins_expect(held));
	if (c.huge)
		EXPECT_EQ(huge_free + 1, robust_meminfo("HugePages_Free"));
	munmap(c.mem, c.nr_anon * ps);
	LIFECYCLE_RELOAD();
	EXPECT_EQ(held, robust_pins_expect(held));
}

/*
 * A pin session inherited across fork is one session: pins taken by either
 * process stay while either holds the file, whoever closes first, and go
 * when the last holder exits (Documentation/pin.rst).
 */
TEST_F(lifecycle, pin_session_across_fork)
{
	struct lifecycle_pin_child c = { .nr_anon = 64 };
	size_t ps = getpagesize();
	long long held;
	int ready;
	pid_t pid;

	if (!robust_has_file("pin"))
		SKIP(return, "no pin file in this build of mmprobe");
	c.mem = lifecycle_anon(c.nr_anon);
	ASSERT_NE(NULL, c.mem);
	held = robust_pins_held();
	c.fd = open(MMPROBE_DIR "/pin", O_RDWR);
	ASSERT_LE(0, c.fd);
	ASSERT_EQ(0, lifecycle_pin_take(c.fd, c.mem, c.nr_anon, MMPROBE_PIN_METHOD_PUP, 0));
	ASSERT_EQ(held + (long long)c.nr_anon, robust_pins_expect(held + (long long)c.nr_anon));

	/* The child pins its own pages into the same session. */
	pid = robust_fork_holder(lifecycle_pin_child_fn, &c, &ready);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, robust_wait_ready(ready));
	ASSERT_EQ(held + 3 * (long long)c.nr_anon,
		  robust_pins_expect(held + 3 * (long long)c.nr_anon));

	/* The parent closes first: the child's copy keeps every pin. */
	close(c.fd);
	EXPECT_EQ(held + 3 * (long long)c.nr_anon,
		  robust_pins_expect(held + 3 * (long long)c.nr_anon));
	ASSERT_EQ(0, robust_kill_reap(pid));
	EXPECT_EQ(held, robust_pins_expect(held));
	munmap(c.mem, c.nr_anon * ps);
	LIFECYCLE_RELOAD();
}

/*
 * A held page outlives its mapping: once its address maps another page
 * (MADV_DONTNEED, then a write) or nothing (munmap), MMPROBE_PIN_INFO_NOW
 * still describes the held page, still pinned, with level 0: the entry at
 * the address does not map it. (Up to ABI 1 the level was that of whatever
 * mapped the address, a page the take never held.)
 */
TEST_F(lifecycle, pin_outlives_its_mapping)
{
	struct mmprobe_pin_page p[2];
	size_t ps = getpagesize();
	char *mem = lifecycle_anon(2);
	uint64_t h, pfn;
	int fd, i;

	ASSERT_NE(NULL, mem);
	fd = open(MMPROBE_DIR "/pin", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(2, pin_util_take(fd, mem, 2, MMPROBE_PIN_METHOD_PUP, MMPROBE_PIN_WRITE, &h));
	ASSERT_EQ(0, pin_util_info(fd, h, 0, 2, p, true));
	pfn = util_pagemap(mem) & PM_PFN_MASK;
	ASSERT_NE(0, pfn);
	EXPECT_EQ(MMPROBE_PIN_LEVEL_PTE, p[0].level);
	EXPECT_EQ(pfn, p[0].pfn);

	ASSERT_EQ(0, madvise(mem, ps, MADV_DONTNEED));
	mem[0] = 2;
	ASSERT_NE(pfn, util_pagemap(mem) & PM_PFN_MASK) TH_LOG("the write reused the pinned page");
	ASSERT_EQ(0, munmap(mem + ps, ps));
	ASSERT_EQ(0, pin_util_info(fd, h, 0, 2, p, true));
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(MMPROBE_PIN_LEVEL_NONE, p[i].level) TH_LOG("page %d", i);
		EXPECT_EQ(MMPROBE_PIN_STATE_PINNED, p[i].state) TH_LOG("page %d", i);
		EXPECT_EQ(1, p[i].pinned) TH_LOG("page %d", i);
	}
	EXPECT_EQ(pfn, p[0].pfn) TH_LOG("INFO described another page than the one held");
	close(fd);
	munmap(mem, ps);
}

#endif /* MMPROBE_PIN_IOC_TAKE */

/* In the child: trace its own address space through several files. */
static int lifecycle_notify_child_fn(void *arg)
{
	char *mem = arg;
	int i;

	for (i = 0; i < 4; i++)
		if (notify_open() < 0)
			return -1;
	/* Something to record, so that callbacks run until the kill. */
	return madvise(mem, getpagesize(), MADV_DONTNEED);
}

/*
 * A process killed while its notifier registrations are live: its exit
 * runs ->release and then closes the files, which unregister; the module
 * unloads, and loads again.
 */
TEST_F(lifecycle, killed_holding_notifiers)
{
	int ready, i;
	char *mem;
	pid_t pid;

	if (!robust_has_file("notify"))
		SKIP(return, "no notify file in this build of mmprobe");
	mem = lifecycle_anon(1);
	ASSERT_NE(NULL, mem);
	for (i = 0; i < 10; i++) {
		pid = robust_fork_holder(lifecycle_notify_child_fn, mem, &ready);
		ASSERT_LT(0, pid);
		ASSERT_EQ(0, robust_wait_ready(ready));
		ASSERT_EQ(4, robust_refcnt());
		ASSERT_EQ(0, robust_kill_reap(pid));
		LIFECYCLE_RELOAD();
	}
	munmap(mem, getpagesize());
}

/*
 * A tracer of this address space held only by a child: the parent closes
 * its copy, the child reads what the parent's munmap caused (the file
 * traces the mm it was opened in, Documentation/notify.rst), then is
 * killed. With the file gone the registrations must be gone too: the module
 * unloads, and this address space changes again without calling into it.
 */
TEST_F(lifecycle, notify_across_fork_then_killed)
{
	int pipefd[2], fd, status;
	char *mem, c;
	pid_t pid;

	if (!robust_has_file("notify"))
		SKIP(return, "no notify file in this build of mmprobe");
	mem = lifecycle_anon(4);
	ASSERT_NE(NULL, mem);
	fd = notify_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct notify_log log = { 0 };

		close(pipefd[1]);
		notify_log_reserve(&log, 8192);
		if (read(pipefd[0], &c, 1) != 1 || notify_read(fd, &log) < 0)
			_exit(2);
		/* The parent's munmap, not anything of this process. */
		_exit(notify_count(&log, "invalidate_range_start", "unmap",
				   (uintptr_t)mem, (uintptr_t)mem + 4 * getpagesize()) ? 0 : 1);
	}
	close(pipefd[0]);
	close(fd);
	ASSERT_EQ(1, robust_refcnt());
	ASSERT_EQ(0, munmap(mem, 4 * getpagesize()));
	ASSERT_EQ(1, write(pipefd[1], "x", 1));
	close(pipefd[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("the child did not see the parent's munmap (status %#x)", status);

	/* Again, but the child holding the only copy is killed. */
	fd = notify_open();
	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		for (;;)
			pause();
	}
	close(fd);
	ASSERT_EQ(1, robust_refcnt());
	ASSERT_EQ(0, robust_kill_reap(pid));
	LIFECYCLE_RELOAD();
	/* Invalidations of this mm with the module gone: no stale callback. */
	mem = lifecycle_anon(4);
	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, madvise(mem, 4 * getpagesize(), MADV_DONTNEED));
	ASSERT_EQ(0, munmap(mem, 4 * getpagesize()));
}

TEST_HARNESS_MAIN
