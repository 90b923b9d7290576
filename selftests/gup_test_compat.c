// SPDX-License-Identifier: GPL-2.0
/*
 * gup_test_compat: the /sys/kernel/debug/gup_test that mmprobe provides on
 * kernels without CONFIG_GUP_TEST. Every command of the kernel's ABI works
 * and returns what it took; an unknown command is ENOTTY, bad arguments
 * EINVAL, a bad pointer EFAULT; and every pin taken is released, as
 * /proc/vmstat (nr_foll_pin_acquired / nr_foll_pin_released) and the
 * kernel log (for DUMP_USER_PAGES_TEST) show independently of mmprobe.
 * The vmstat counters are system-wide: a pin of ours shows as a lower
 * bound on their rise and an exact change of their balance, which holds on
 * a busy machine too (robust_pin_window_check()).
 *
 * The kernel's own selftests (gup_test, cow, gup_longterm) cover what GUP
 * does with each kind of memory: see "make check-upstream".
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "gup_test_uapi.h"
#include "mmprobe_util.h"
#include "robust_util.h"

#define GUP_TEST_FILE	"/sys/kernel/debug/gup_test"
#define STATUS_FILE	MMPROBE_DIR "/gup_test"
#define NR_PAGES	64

/* FOLL_WRITE is 0x1 on every kernel; no FOLL_* flag uses bit 30. */
#define FOLL_WRITE_ALL	0x1
#define FOLL_UNKNOWN	(1u << 30)

/* Counters that must move together, read before and after a test. */
struct gup_counts {
	struct robust_pin_window pins;	/* /proc/vmstat */
	long long pinned;	/* mmprobe stats */
	long long unpinned;
	long long got;
	long long put;
	long long verify_failed;
};

static void counts_read(struct gup_counts *c)
{
	char buf[8192];

	if (robust_pin_window_open(&c->pins))
		c->pins.held = LLONG_MIN;
	if (util_read_file(MMPROBE_DIR "/stats", buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	c->pinned = util_kv_get(buf, "gup_test_pinned");
	c->unpinned = util_kv_get(buf, "gup_test_unpinned");
	c->got = util_kv_get(buf, "gup_test_got");
	c->put = util_kv_get(buf, "gup_test_put");
	c->verify_failed = util_kv_get(buf, "gup_test_verify_failed");
}

static long long status_get(const char *key)
{
	char buf[256];

	if (util_read_file(STATUS_FILE, buf, sizeof(buf)) < 0)
		return -1;
	return util_kv_get(buf, key);
}

FIXTURE(gup_test)
{
	int fd;
	char *mem;
	size_t page;
	size_t size;
	struct gup_counts before;
};

FIXTURE_SETUP(gup_test)
{
	char buf[256];
	size_t i;

	self->fd = -1;
	self->mem = MAP_FAILED;
	if (util_read_file(STATUS_FILE, buf, sizeof(buf)) < 0)
		SKIP(return, "no %s: load mmprobe first", STATUS_FILE);
	if (strncmp(buf, "provider=mmprobe\n", 17))
		SKIP(return,
		     "%s is not mmprobe's (%.*s): the kernel has CONFIG_GUP_TEST or mmprobe was loaded with gup_test=0",
		     GUP_TEST_FILE, (int)strcspn(buf, "\n"), buf);

	self->fd = open(GUP_TEST_FILE, O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", GUP_TEST_FILE, strerror(errno));

	self->page = getpagesize();
	self->size = NR_PAGES * self->page;
	self->mem = mmap(NULL, self->size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	/* Small pages, each one written: no zero page, no THP. */
	madvise(self->mem, self->size, MADV_NOHUGEPAGE);
	for (i = 0; i < NR_PAGES; i++)
		memset(self->mem + i * self->page, i + 1, self->page);
	counts_read(&self->before);
	ASSERT_NE(LLONG_MIN, self->before.pins.held) TH_LOG("no nr_foll_pin_* in /proc/vmstat");
	ASSERT_LE(0, self->before.pinned) TH_LOG("no gup_test_pinned in %s/stats", MMPROBE_DIR);
}

/* Whatever a test did, nothing it pinned or got is still held. */
FIXTURE_TEARDOWN(gup_test)
{
	struct gup_counts after;
	char why[160];

	if (self->fd >= 0)
		close(self->fd);
	if (self->mem != MAP_FAILED)
		munmap(self->mem, self->size);
	if (self->fd < 0)
		return;
	EXPECT_EQ(0, robust_pin_window_check(&self->before.pins, 0, 0, why, sizeof(why)))
		TH_LOG("after the test: %s", why);
	counts_read(&after);
	EXPECT_EQ(after.pinned - self->before.pinned,
		  after.unpinned - self->before.unpinned);
	EXPECT_EQ(after.got - self->before.got, after.put - self->before.put);
	EXPECT_EQ(self->before.verify_failed, after.verify_failed);
	EXPECT_EQ(0, status_get("longterm_pinned"));
}

/* Commands 1-5: what each takes, and how the pins show in /proc/vmstat. */
static const struct {
	const char *name;
	unsigned long cmd;
	bool pin;
} commands[] = {
	{ "GUP_FAST_BENCHMARK", MMPROBE_GUP_FAST_BENCHMARK, false },
	{ "PIN_FAST_BENCHMARK", MMPROBE_PIN_FAST_BENCHMARK, true },
	{ "PIN_LONGTERM_BENCHMARK", MMPROBE_PIN_LONGTERM_BENCHMARK, true },
	{ "GUP_BASIC_TEST", MMPROBE_GUP_BASIC_TEST, false },
	{ "PIN_BASIC_TEST", MMPROBE_PIN_BASIC_TEST, true },
};

TEST_F(gup_test, each_command_takes_and_releases)
{
	unsigned int per_call[] = { 1, 7, NR_PAGES, 1000 };
	struct gup_counts c0, c1;
	unsigned int i, j;
	char why[160];

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		for (j = 0; j < ARRAY_SIZE(per_call); j++) {
			struct mmprobe_gup_test gt = {
				.addr = (unsigned long)self->mem,
				.size = self->size,
				.nr_pages_per_call = per_call[j],
				.gup_flags = FOLL_WRITE_ALL,
			};

			counts_read(&c0);
			ASSERT_EQ(0, ioctl(self->fd, commands[i].cmd, &gt))
				TH_LOG("%s: %s", commands[i].name, strerror(errno));
			counts_read(&c1);
			EXPECT_EQ(self->size, gt.size) TH_LOG("%s", commands[i].name);
			/* Pins of small anon pages count one each. */
			EXPECT_EQ(0, robust_pin_window_check(&c0.pins,
							     commands[i].pin ? NR_PAGES : 0,
							     commands[i].pin ? NR_PAGES : 0,
							     why, sizeof(why)))
				TH_LOG("%s, %u per call: %s", commands[i].name, per_call[j], why);
			EXPECT_EQ(commands[i].pin ? NR_PAGES : 0, c1.pinned - c0.pinned);
			EXPECT_EQ(commands[i].pin ? 0 : NR_PAGES, c1.got - c0.got);
		}
	}
}

/* A read-only GUP (gup_flags 0) of memory never written takes the zero page. */
TEST_F(gup_test, read_only_of_unwritten_memory)
{
	struct mmprobe_gup_test gt = { .nr_pages_per_call = NR_PAGES };
	char *ro;

	ro = mmap(NULL, self->size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	madvise(ro, self->size, MADV_NOHUGEPAGE);
	gt.addr = (unsigned long)ro;
	gt.size = self->size;
	EXPECT_EQ(0, ioctl(self->fd, MMPROBE_PIN_BASIC_TEST, &gt));
	EXPECT_EQ(self->size, gt.size);
	/* Writing through a read-only mapping needs FOLL_FORCE. */
	gt.size = self->size;
	gt.gup_flags = FOLL_WRITE_ALL;
	EXPECT_EQ(-1, ioctl(self->fd, MMPROBE_GUP_BASIC_TEST, &gt));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, self->size);
}

/* Reads /dev/kmsg from its end: lines logged from now on. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

static bool kmsg_find(int fd, const char *needle)
{
	char rec[2048];
	ssize_t n;

	while ((n = read(fd, rec, sizeof(rec) - 1)) != 0) {
		if (n < 0) {
			if (errno == EPIPE)	/* overwritten: go on */
				continue;
			return false;		/* EAGAIN: no more */
		}
		rec[n] = '\0';
		if (strstr(rec, needle))
			return true;
	}
	return false;
}

TEST_F(gup_test, dump_user_pages)
{
	unsigned int use_pin;

	for (use_pin = 0; use_pin <= 1; use_pin++) {
		struct mmprobe_gup_test gt = {
			.addr = (unsigned long)self->mem,
			.size = self->size,
			.nr_pages_per_call = NR_PAGES,
			.test_flags = use_pin ? MMPROBE_GUP_TEST_FLAG_DUMP_PAGES_USE_PIN : 0,
			.which_pages = { 1, 3, NR_PAGES, NR_PAGES + 1 },
		};
		struct gup_counts c0, c1;
		char needle[128], why[160];
		int kmsg;

		kmsg = kmsg_open();
		ASSERT_LE(0, kmsg) TH_LOG("/dev/kmsg: %s", strerror(errno));
		counts_read(&c0);
		ASSERT_EQ(0, ioctl(self->fd, MMPROBE_DUMP_USER_PAGES_TEST, &gt));
		counts_read(&c1);
		EXPECT_EQ(0, robust_pin_window_check(&c0.pins, use_pin ? NR_PAGES : 0,
						     use_pin ? NR_PAGES : 0, why, sizeof(why)))
			TH_LOG("%s: %s", use_pin ? "pin" : "get", why);
		EXPECT_EQ(use_pin ? NR_PAGES : 0, c1.pinned - c0.pinned);
		EXPECT_EQ(1, gt.which_pages[0]);
		EXPECT_EQ(3, gt.which_pages[1]);
		EXPECT_EQ(NR_PAGES, gt.which_pages[2]);
		/* Beyond the pages taken: zeroed in the reply. */
		EXPECT_EQ(0, gt.which_pages[3]);

		/* The kernel log has page #2 (0-based) as anon, pinned or not. */
		snprintf(needle, sizeof(needle), "gup_test: page #2 addr=0x%lx kind=anon",
			 (unsigned long)self->mem + 2 * self->page);
		EXPECT_TRUE(kmsg_find(kmsg, needle)) TH_LOG("no '%s' in the kernel log", needle);
		close(kmsg);
		kmsg = -1;
	}
}

/* START pins, READ sees writes made after it, STOP and close unpin. */
TEST_F(gup_test, longterm_start_read_stop)
{
	unsigned int flags;
	char *copy;

	copy = malloc(self->size);
	ASSERT_NE(NULL, copy);
	for (flags = 0; flags < 4; flags++) {
		struct mmprobe_pin_longterm_test args = {
			.addr = (unsigned long)self->mem,
			.size = self->size,
			.flags = flags,
		};
		__u64 uaddr = (unsigned long)copy;
		struct gup_counts c0;
		char why[160];

		counts_read(&c0);
		ASSERT_EQ(0, ioctl(self->fd, MMPROBE_PIN_LONGTERM_TEST_START, &args))
			TH_LOG("flags %u: %s", flags, strerror(errno));
		EXPECT_EQ(0, robust_pin_window_check(&c0.pins, NR_PAGES, 0, why, sizeof(why)))
			TH_LOG("START, flags %u: %s", flags, why);
		EXPECT_EQ(NR_PAGES, status_get("longterm_pinned"));

		/* Only one range per file at a time. */
		EXPECT_EQ(-1, ioctl(self->fd, MMPROBE_PIN_LONGTERM_TEST_START, &args));
		EXPECT_EQ(EINVAL, errno);

		memset(self->mem, 0xa0 + flags, self->size);
		memset(copy, 0, self->size);
		ASSERT_EQ(0, ioctl(self->fd, MMPROBE_PIN_LONGTERM_TEST_READ, &uaddr));
		EXPECT_EQ(0, memcmp(self->mem, copy, self->size));

		ASSERT_EQ(0, ioctl(self->fd, MMPROBE_PIN_LONGTERM_TEST_STOP));
		EXPECT_EQ(0, robust_pin_window_check(&c0.pins, NR_PAGES, NR_PAGES,
						     why, sizeof(why)))
			TH_LOG("STOP, flags %u: %s", flags, why);
		EXPECT_EQ(0, status_get("longterm_pinned"));
	}
	/* STOP without START is fine; READ without START is not. */
	EXPECT_EQ(0, ioctl(self->fd, MMPROBE_PIN_LONGTERM_TEST_STOP));
	EXPECT_EQ(-1, ioctl(self->fd, MMPROBE_PIN_LONGTERM_TEST_READ, &copy));
	EXPECT_EQ(EINVAL, errno);
	free(copy);
}

/* Pins belong to the open file: closing it, or dying, releases them. */
TEST_F(gup_test, longterm_released_on_close_and_exit)
{
	struct mmprobe_pin_longterm_test args = {
		.addr = (unsigned long)self->mem,
		.size = self->size,
	};
	struct gup_counts c0;
	int fd2, status;
	char why[160];
	pid_t pid;

	counts_read(&c0);
	fd2 = open(GUP_TEST_FILE, O_RDWR);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ioctl(fd2, MMPROBE_PIN_LONGTERM_TEST_START, &args));
	/* Another open file has its own state. */
	ASSERT_EQ(0, ioctl(self->fd, MMPROBE_PIN_LONGTERM_TEST_START, &args));
	EXPECT_EQ(2 * NR_PAGES, status_get("longterm_pinned"));
	close(fd2);
	EXPECT_EQ(NR_PAGES, status_get("longterm_pinned"));
	ASSERT_EQ(0, ioctl(self->fd, MMPROBE_PIN_LONGTERM_TEST_STOP));
	EXPECT_EQ(0, robust_pin_window_check(&c0.pins, 2 * NR_PAGES, 2 * NR_PAGES,
					     why, sizeof(why)))
		TH_LOG("closed one, stopped the other: %s", why);

	/* A child pins its own copy of the memory and is killed. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int cfd = open(GUP_TEST_FILE, O_RDWR);

		if (cfd < 0 || ioctl(cfd, MMPROBE_PIN_LONGTERM_TEST_START, &args))
			_exit(1);
		pause();
		_exit(0);
	}
	while (status_get("longterm_pinned") != NR_PAGES) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		usleep(1000);
	}
	EXPECT_EQ(NR_PAGES, status_get("longterm_pinned"));
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(0, status_get("longterm_pinned"));
}

/* Partial progress is in the reply; nothing taken at all is an error. */
TEST_F(gup_test, partial_and_unmapped_ranges)
{
	struct mmprobe_gup_test gt = {
		.addr = (unsigned long)self->mem,
		.size = self->size,
		.nr_pages_per_call = 4,
	};
	struct mmprobe_pin_longterm_test args = {
		.addr = (unsigned long)self->mem,
		.size = self->size,
	};

	/* The second half is no longer mapped. */
	ASSERT_EQ(0, munmap(self->mem + self->size / 2, self->size / 2));
	ASSERT_EQ(0, ioctl(self->fd, MMPROBE_PIN_BASIC_TEST, &gt));
	EXPECT_EQ(self->size / 2, gt.size);
	gt.size = self->size;
	ASSERT_EQ(0, ioctl(self->fd, MMPROBE_GUP_FAST_BENCHMARK, &gt));
	EXPECT_EQ(self->size / 2, gt.size);

	/* START takes all or nothing. */
	EXPECT_EQ(-1, ioctl(self->fd, MMPROBE_PIN_LONGTERM_TEST_START, &args));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, status_get("longterm_pinned"));

	gt.addr = (unsigned long)self->mem + self->size / 2;
	gt.size = self->size / 2;
	EXPECT_EQ(-1, ioctl(self->fd, MMPROBE_PIN_FAST_BENCHMARK, &gt));
	EXPECT_EQ(EFAULT, errno);
	munmap(self->mem, self->size / 2);
	self->mem = MAP_FAILED;
}

TEST_F(gup_test, unknown_command_is_enotty)
{
	struct mmprobe_gup_test gt = { 0 };
	char small[8] = { 0 };

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, _IO('g', 10)));
	EXPECT_EQ(ENOTTY, errno);
	/* Command 1 with another size is another command. */
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR('g', 1, char[8]), small));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR('M', 1, struct mmprobe_gup_test), &gt));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(gup_test, bad_arguments_are_einval)
{
	const __u64 mem = (unsigned long)self->mem, size = self->size;
	const __u64 page = self->page;
	struct {
		const char *why;
		unsigned long cmd;
		struct mmprobe_gup_test gt;
	} gup[] = {
		{ "no pages per call", MMPROBE_GUP_BASIC_TEST,
		  { .addr = mem, .size = size } },
		{ "less than a page", MMPROBE_GUP_BASIC_TEST,
		  { .addr = mem, .size = page - 1, .nr_pages_per_call = 1 } },
		{ "unknown gup_flags", MMPROBE_PIN_BASIC_TEST,
		  { .addr = mem, .size = size, .nr_pages_per_call = 1,
		    .gup_flags = FOLL_UNKNOWN } },
		{ "unknown test_flags", MMPROBE_DUMP_USER_PAGES_TEST,
		  { .addr = mem, .size = size, .nr_pages_per_call = 1, .test_flags = 0x2 } },
		{ "range wraps", MMPROBE_GUP_FAST_BENCHMARK,
		  { .addr = -page, .size = 2 * page, .nr_pages_per_call = 1 } },
		{ "too many pages", MMPROBE_GUP_FAST_BENCHMARK,
		  { .size = ~0ULL & ~(page - 1), .nr_pages_per_call = 1 } },
	};
	struct {
		const char *why;
		struct mmprobe_pin_longterm_test args;
	} longterm[] = {
		{ "unknown flags", { .addr = mem, .size = size, .flags = 4 } },
		{ "unaligned addr", { .addr = mem + 1, .size = size } },
		{ "size 0", { .addr = mem } },
		{ "too many pages", { .addr = mem, .size = 1ULL << 63 } },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(gup); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, gup[i].cmd, &gup[i].gt)) TH_LOG("%s", gup[i].why);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", gup[i].why);
	}
	for (i = 0; i < ARRAY_SIZE(longterm); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, MMPROBE_PIN_LONGTERM_TEST_START, &longterm[i].args))
			TH_LOG("%s", longterm[i].why);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", longterm[i].why);
	}
	EXPECT_EQ(0, status_get("longterm_pinned"));
}

TEST_F(gup_test, bad_pointers_are_efault)
{
	struct mmprobe_pin_longterm_test args = {
		.addr = (unsigned long)self->mem,
		.size = self->size,
	};
	__u64 uaddr;
	char *none;

	none = mmap(NULL, self->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, none);

	EXPECT_EQ(-1, ioctl(self->fd, MMPROBE_GUP_BASIC_TEST, none));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MMPROBE_PIN_LONGTERM_TEST_START, none));
	EXPECT_EQ(EFAULT, errno);

	ASSERT_EQ(0, ioctl(self->fd, MMPROBE_PIN_LONGTERM_TEST_START, &args));
	EXPECT_EQ(-1, ioctl(self->fd, MMPROBE_PIN_LONGTERM_TEST_READ, none));
	EXPECT_EQ(EFAULT, errno);
	/* READ into memory the caller cannot write. */
	uaddr = (unsigned long)none;
	EXPECT_EQ(-1, ioctl(self->fd, MMPROBE_PIN_LONGTERM_TEST_READ, &uaddr));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, ioctl(self->fd, MMPROBE_PIN_LONGTERM_TEST_STOP));
	munmap(none, self->size);
}

TEST_HARNESS_MAIN
