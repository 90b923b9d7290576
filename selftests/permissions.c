// SPDX-License-Identifier: GPL-2.0
/*
 * permissions: what mmprobe lets whom see.
 *
 * - Every file is a regular file owned by root, mode 0600 (commands) or 0400
 *   (read-only); an unprivileged user (uid/gid 65534) cannot open any of
 *   them for reading or writing (EACCES), also when the debugfs mount
 *   itself is made traversable, so that the files' own modes are what
 *   refuses.
 * - The access policy (module/access.c), as a matrix of capability sets
 *   by file: the opener's credentials decide, not the caller's; its own
 *   address space needs nothing more, another process's CAP_SYS_PTRACE
 *   (else EPERM); PFNs need CAP_SYS_ADMIN, in inspect, pin and migrate
 *   alike, and are then those pagemap shows.
 * - No output prints a kernel pointer: every report of every file, over
 *   every kind of memory of this process and of pid 1, the mmu-notifier
 *   trace, every field of the binary structures, and the kernel log lines
 *   of mmprobe.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "gup_test_uapi.h"
#include "mmprobe_uapi.h"
#include "mmprobe_util.h"
#include "pin_util.h"
#include "robust_util.h"

#define DEBUGFS		"/sys/kernel/debug"
#define REPORT_MAX	(4 << 20)

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

FIXTURE(permissions) {
	struct robust_file files[ROBUST_MAX_FILES];
	int nr_files;
	mode_t debugfs_mode;
	bool debugfs_changed;
	char *report;
};

FIXTURE_SETUP(permissions)
{
	struct stat st;

	ROBUST_LOAD_OR_SKIP();
	self->nr_files = robust_list(self->files, ROBUST_MAX_FILES);
	ASSERT_LT(1, self->nr_files);
	ASSERT_EQ(0, stat(DEBUGFS, &st));
	self->debugfs_mode = st.st_mode & 07777;
	self->report = malloc(REPORT_MAX);
	ASSERT_NE(NULL, self->report);
}

FIXTURE_TEARDOWN(permissions)
{
	if (self->debugfs_changed)
		chmod(DEBUGFS, self->debugfs_mode);
	free(self->report);
}

/* Run fn in a child and return its exit status (0: every check passed). */
static int permissions_in_child(int (*fn)(void *arg), void *arg)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Every file: regular, root's, 0600 or 0400. */
TEST_F(permissions, modes)
{
	int i;

	for (i = 0; i < self->nr_files; i++) {
		struct robust_file *f = &self->files[i];
		mode_t perm = f->mode & 07777;

		EXPECT_TRUE(S_ISREG(f->mode)) TH_LOG("%s", f->name);
		EXPECT_EQ(0, f->uid) TH_LOG("%s", f->name);
		EXPECT_EQ(0, f->gid) TH_LOG("%s", f->name);
		EXPECT_TRUE(perm == 0600 || perm == 0400)
			TH_LOG("%s has mode %04o", f->name, perm);
	}
}

struct permissions_open_arg {
	struct robust_file *files;
	int nr_files;
	bool reachable;		/* the debugfs mount is traversable */
};

/* As nobody: every open of every file fails with EACCES. */
static int permissions_open_as_nobody(void *data)
{
	static const int modes[] = { O_RDONLY, O_WRONLY, O_RDWR };
	struct permissions_open_arg *arg = data;
	int i, m, bad = 0;
	struct stat st;

	if (robust_become_nobody()) {
		fprintf(stderr, "# cannot become nobody: %s\n", strerror(errno));
		return 2;
	}
	for (i = 0; i < arg->nr_files; i++) {
		const char *path = arg->files[i].path;

		/* The file itself must be what refuses, not the path to it. */
		if (arg->reachable && stat(path, &st)) {
			fprintf(stderr, "# %s: stat as nobody: %s\n", path, strerror(errno));
			bad = 1;
		}
		for (m = 0; m < 3; m++) {
			int fd = open(path, modes[m]);

			if (fd >= 0 || errno != EACCES) {
				fprintf(stderr, "# %s: open mode %d as nobody: %s\n", path,
					modes[m], fd >= 0 ? "succeeded" : strerror(errno));
				bad = 1;
			}
			if (fd >= 0)
				close(fd);
		}
	}
	return bad;
}

TEST_F(permissions, unprivileged_open)
{
	struct permissions_open_arg arg = {
		.files = self->files,
		.nr_files = self->nr_files,
	};

	/* With the debugfs mount as it is (Debian, and our guest: 0700). */
	ASSERT_EQ(0, permissions_in_child(permissions_open_as_nobody, &arg));

	/* With the mount open to all, so only the files' modes protect. */
	if (chmod(DEBUGFS, 0755))
		SKIP(return, "cannot chmod " DEBUGFS ": %s", strerror(errno));
	self->debugfs_changed = true;
	arg.reachable = true;
	ASSERT_EQ(0, permissions_in_child(permissions_open_as_nobody, &arg));
}

/* Write an inspect command; return 0 or -errno. */
static int permissions_inspect(int fd, const char *cmd)
{
	return write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd) ? 0 : -errno;
}

/* Read a whole report from fd into buf (NUL-terminated): bytes, or -errno. */
static ssize_t permissions_read_all(int fd, char *buf, size_t len)
{
	size_t total = 0;
	ssize_t n;

	while (total < len - 1) {
		n = read(fd, buf + total, len - 1 - total);
		if (n < 0)
			return -errno;
		if (!n)
			break;
		total += n;
	}
	buf[total] = '\0';
	return total;
}

#define CAP(c)	(1ULL << (c))

/*
 * One row of the access matrix: the capabilities a child keeps, and whether
 * it opens the files before dropping the others (the opener's credentials
 * decide, so such files keep root's rights).
 */
struct permissions_row {
	const char *name;
	uint64_t caps;
	bool open_first;
};

static const struct permissions_row permissions_rows[] = {
	{ .name = "no capabilities" },
	{ .name = "CAP_SYS_ADMIN only", .caps = CAP(CAP_SYS_ADMIN) },
	{ .name = "CAP_SYS_PTRACE only", .caps = CAP(CAP_SYS_PTRACE) },
	{ .name = "CAP_SYS_ADMIN and CAP_SYS_PTRACE",
	  .caps = CAP(CAP_SYS_ADMIN) | CAP(CAP_SYS_PTRACE) },
	{ .name = "opened as root, used with no capabilities", .open_first = true },
};

struct permissions_cap_arg {
	const struct permissions_row *row;
	char *page;		/* mapped (same address) in this process and the parent */
	pid_t other;		/* the parent */
	char *report;
};

/* Report one disagreement of a matrix row; the child's exit status counts them. */
#define PERM_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "# %s: ", perm_name);			\
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, "\n");					\
		bad = 1;						\
	}								\
} while (0)

static uint64_t permissions_pagemap_pfn(int pagemap, const void *addr)
{
	uint64_t pm = 0;

	if (pread(pagemap, &pm, sizeof(pm), (uintptr_t)addr / getpagesize() * sizeof(pm)) !=
	    sizeof(pm))
		return 0;
	return pm & PM_PFN_MASK;
}

/* Inspect "cmd" on fd; return 0 with the report in arg->report, or -errno. */
static int permissions_report(int fd, const char *cmd, char *report)
{
	int ret = permissions_inspect(fd, cmd);

	if (ret)
		return ret;
	ret = permissions_read_all(fd, report, REPORT_MAX);
	return ret < 0 ? ret : 0;
}

/*
 * One row, in a child: inspect of its own and of the parent's memory, the
 * PFNs of inspect, pin and migrate, against pagemap opened with root's
 * rights; gup_test, notify, version and stats, which need nothing more
 * than the open. Return: 0 when every answer is the policy's (access.c).
 */
static int permissions_matrix_row(void *data)
{
	struct permissions_cap_arg *arg = data;
	const struct permissions_row *row = arg->row;
	const char *perm_name = row->name;
	bool admin = row->open_first || (row->caps & CAP(CAP_SYS_ADMIN));
	bool ptrace = row->open_first || (row->caps & CAP(CAP_SYS_PTRACE));
	int pagemap, inspect = -1, pin = -1, migrate = -1, bad = 0, ret;
	char cmd[128], want[64];
	uint64_t pfn;

	/* Before any drop, so that it shows PFNs. */
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap < 0)
		return 2;
	arg->page[getpagesize()] = 2;	/* a page of its own, not the parent's */
	if (row->open_first) {
		inspect = open(MMPROBE_DIR "/inspect", O_RDWR);
		pin = open(MMPROBE_DIR "/pin", O_RDWR);
		migrate = open(MMPROBE_DIR "/migrate", O_RDWR);
	}
	if (robust_keep_caps(row->caps)) {
		fprintf(stderr, "# %s: capset: %s\n", row->name, strerror(errno));
		return 2;
	}
	if (!row->open_first) {
		inspect = open(MMPROBE_DIR "/inspect", O_RDWR);
		pin = open(MMPROBE_DIR "/pin", O_RDWR);
		migrate = open(MMPROBE_DIR "/migrate", O_RDWR);
	}
	PERM_CHECK(inspect >= 0 && pin >= 0 && migrate >= 0, "open: %s", strerror(errno));
	if (bad)
		return bad;

	/* inspect: its own memory, by 0 and by pid; PFNs only with CAP_SYS_ADMIN. */
	pfn = permissions_pagemap_pfn(pagemap, arg->page + getpagesize());
	PERM_CHECK(pfn, "pagemap shows no PFN");
	snprintf(want, sizeof(want), " pfn=%#llx ", (unsigned long long)pfn);
	snprintf(cmd, sizeof(cmd), "0 %p", arg->page + getpagesize());
	ret = permissions_report(inspect, cmd, arg->report);
	PERM_CHECK(!ret && strstr(arg->report, " anon "), "inspect '%s': %s: %s", cmd,
		   strerror(-ret), arg->report);
	PERM_CHECK(!!strstr(arg->report, want) == admin && !!strstr(arg->report, "pfn=") == admin,
		   "inspect of its own page: want%s '%s' in: %s", admin ? "" : " no", want,
		   arg->report);
	snprintf(cmd, sizeof(cmd), "%d %p", getpid(), arg->page + getpagesize());
	ret = permissions_report(inspect, cmd, arg->report);
	PERM_CHECK(!ret, "inspect '%s': %s", cmd, strerror(-ret));

	/* inspect: the parent's memory needs CAP_SYS_PTRACE, else EPERM. */
	snprintf(cmd, sizeof(cmd), "%d %p", arg->other, arg->page);
	ret = permissions_report(inspect, cmd, arg->report);
	PERM_CHECK(ret == (ptrace ? 0 : -EPERM), "inspect '%s': %s, want %s", cmd,
		   ret ? strerror(-ret) : "allowed", ptrace ? "allowed" : "EPERM");
	if (!ret)
		PERM_CHECK(!!strstr(arg->report, "pfn=") == admin && strstr(arg->report, " anon "),
			   "inspect of the parent's page: %s", arg->report);

	/* pin: PFNs only with CAP_SYS_ADMIN. */
	{
		struct mmprobe_pin_take take = {
			.addr = (uintptr_t)arg->page + getpagesize(), .nr_pages = 1,
			.method = MMPROBE_PIN_METHOD_PUP,
		};
		struct mmprobe_pin_page page = { };
		struct mmprobe_pin_range range = { .nr_pages = 1, .buf = (uintptr_t)&page };

		ret = ioctl(pin, MMPROBE_PIN_IOC_TAKE, &take) ? -errno : 0;
		PERM_CHECK(!ret, "pin take: %s", strerror(-ret));
		range.handle = take.handle;
		range.flags = MMPROBE_PIN_INFO_NOW;
		ret = ret ?: ioctl(pin, MMPROBE_PIN_IOC_INFO, &range) ? -errno : 0;
		PERM_CHECK(!ret && page.pfn == (admin ? pfn : 0),
			   "pin info: %s, pfn %#llx, want %#llx", strerror(-ret),
			   (unsigned long long)page.pfn, (unsigned long long)(admin ? pfn : 0));
		PERM_CHECK(page.level == MMPROBE_PIN_LEVEL_PTE, "pin info: level %llu",
			   (unsigned long long)page.level);
	}
	close(pin);

	/* migrate: every PFN of the report only with CAP_SYS_ADMIN. */
	{
		struct mmprobe_migrate_page p = { };
		struct mmprobe_migrate_args m = {
			.start = (uintptr_t)arg->page + getpagesize(),
			.len = getpagesize(), .pages = (uintptr_t)&p,
		};

		ret = ioctl(migrate, MMPROBE_IOC_MIGRATE, &m) ? -errno : 0;
		pfn = permissions_pagemap_pfn(pagemap, arg->page + getpagesize());
		PERM_CHECK(!ret && m.nr_migrated == 1, "migrate: %s, %llu migrated",
			   strerror(-ret), (unsigned long long)m.nr_migrated);
		PERM_CHECK(p.after.pfn == (admin ? pfn : 0) && !!p.before.pfn == admin &&
			   !!p.frozen.pfn == admin,
			   "migrate pfns before %#llx frozen %#llx after %#llx, pagemap %#llx",
			   (unsigned long long)p.before.pfn, (unsigned long long)p.frozen.pfn,
			   (unsigned long long)p.after.pfn, (unsigned long long)pfn);
	}
	close(migrate);

	/* gup_test and notify act on its own memory: allowed in every row. */
	{
		struct mmprobe_gup_test g = {
			.addr = (uintptr_t)arg->page + getpagesize(),
			.size = getpagesize(), .nr_pages_per_call = 1,
		};
		int fd = open("/sys/kernel/debug/gup_test", O_RDWR);

		ret = fd < 0 || ioctl(fd, MMPROBE_PIN_BASIC_TEST, &g) ? -errno : 0;
		PERM_CHECK(!ret && g.size == (uint64_t)getpagesize(), "gup_test pin: %s",
			   strerror(-ret));
		if (fd >= 0)
			close(fd);
		fd = open(MMPROBE_DIR "/notify", O_RDWR);
		arg->page[getpagesize()] = 3;
		madvise(arg->page + getpagesize(), getpagesize(), MADV_DONTNEED);
		ret = fd < 0 ? -errno : permissions_read_all(fd, arg->report, REPORT_MAX);
		PERM_CHECK(ret > 0 && strstr(arg->report, "cb="), "notify: %s",
			   ret < 0 ? strerror(-ret) : arg->report);
		if (fd >= 0)
			close(fd);
	}
	/* version and stats: readable, and nothing in them is a PFN. */
	ret = util_read_file(MMPROBE_DIR "/version", arg->report, REPORT_MAX);
	PERM_CHECK(ret > 0 && !strstr(arg->report, "pfn"), "version: %s", strerror(-ret));
	ret = util_read_file(MMPROBE_DIR "/stats", arg->report, REPORT_MAX);
	PERM_CHECK(ret > 0 && !strstr(arg->report, "pfn"), "stats: %s", strerror(-ret));
	close(inspect);
	close(pagemap);
	return bad;
}

/*
 * The access policy, file by file, for each row: the opener's credentials
 * decide; another process needs CAP_SYS_PTRACE; PFNs need CAP_SYS_ADMIN.
 */
TEST_F(permissions, access_matrix)
{
	struct permissions_cap_arg arg = { .report = self->report };
	size_t ps = getpagesize(), i;

	if (!robust_has_file("inspect") || !robust_has_file("pin") ||
	    !robust_has_file("migrate"))
		ASSERT_TRUE(0) TH_LOG("this mmprobe lacks inspect, pin or migrate");
	arg.page = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, arg.page);
	arg.page[0] = 1;
	arg.other = getpid();
	ASSERT_NE(0, util_pagemap(arg.page) & PM_PFN_MASK)
		TH_LOG("pagemap shows no PFN: the test needs CAP_SYS_ADMIN");

	for (i = 0; i < ARRAY_SIZE(permissions_rows); i++) {
		arg.row = &permissions_rows[i];
		EXPECT_EQ(0, permissions_in_child(permissions_matrix_row, &arg))
			TH_LOG("row '%s'", arg.row->name);
	}
	munmap(arg.page, 2 * ps);
}

#define PARAM_MAX_HELD	"/sys/module/mmprobe/parameters/max_held_pages"
#define MEMLOCK_PAGES	16

/* This process's VmPin (mm->pinned_vm, what mmprobe charges), in pages. */
static long permissions_vmpin(void)
{
	char buf[4096], *p;
	long kb;

	if (util_read_file("/proc/self/status", buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, "\nVmPin:");
	if (!p || sscanf(p + strlen("\nVmPin:"), "%ld", &kb) != 1)
		return -1;
	return kb * 1024 / getpagesize();
}

static long long permissions_stat(const char *name)
{
	char buf[4096];

	if (util_read_file(MMPROBE_DIR "/stats", buf, sizeof(buf)) < 0)
		return -1;
	return util_kv_get(buf, name);
}

/* PIN_LONGTERM_TEST_START of gup_test (mmprobe's or the kernel's): 0 or -errno. */
static int permissions_longterm(int fd, void *mem, size_t nr)
{
	struct mmprobe_pin_longterm_test args = {
		.addr = (uintptr_t)mem, .size = nr * getpagesize(),
	};

	return ioctl(fd, MMPROBE_PIN_LONGTERM_TEST_START, &args) ? -errno : 0;
}

/*
 * In a child with RLIMIT_MEMLOCK of MEMLOCK_PAGES and no CAP_IPC_LOCK: pin
 * and gup_test charge VmPin and refuse past the limit with ENOMEM; files
 * opened while the process still had CAP_IPC_LOCK are not limited.
 */
static int permissions_memlock(void *data)
{
	const size_t limit = MEMLOCK_PAGES * (size_t)getpagesize();
	const struct rlimit rl = { .rlim_cur = limit, .rlim_max = limit };
	const char *perm_name = "RLIMIT_MEMLOCK";
	size_t nr = 4 * MEMLOCK_PAGES;
	int pin_root, pin, gup_root, gup, bad = 0;
	long base, ret;
	uint64_t h;
	char *mem;

	mem = mmap(NULL, nr * getpagesize(), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	pin_root = open(MMPROBE_DIR "/pin", O_RDWR);
	gup_root = open("/sys/kernel/debug/gup_test", O_RDWR);
	if (mem == MAP_FAILED || pin_root < 0 || gup_root < 0 ||
	    setrlimit(RLIMIT_MEMLOCK, &rl) || robust_drop_cap(CAP_IPC_LOCK))
		return 2;
	pin = open(MMPROBE_DIR "/pin", O_RDWR);
	gup = open("/sys/kernel/debug/gup_test", O_RDWR);
	base = permissions_vmpin();
	PERM_CHECK(pin >= 0 && gup >= 0 && base >= 0, "open after the drop: %s",
		   strerror(errno));
	if (bad)
		return bad;

	ret = pin_util_take(pin, mem, MEMLOCK_PAGES, MMPROBE_PIN_METHOD_PUP, 0, &h);
	PERM_CHECK(ret == MEMLOCK_PAGES, "take of the limit: %ld", ret);
	PERM_CHECK(permissions_vmpin() == base + MEMLOCK_PAGES, "VmPin %ld pages after it",
		   permissions_vmpin());
	ret = pin_util_take(pin, mem + limit, 1, MMPROBE_PIN_METHOD_PUP_FAST, 0, &h);
	PERM_CHECK(ret == -ENOMEM, "one page past the limit: %ld, want -ENOMEM", ret);
	ret = permissions_longterm(gup, mem, 1);
	PERM_CHECK(ret == -ENOMEM, "gup_test past the limit: %ld, want -ENOMEM", ret);
	PERM_CHECK(permissions_vmpin() == base + MEMLOCK_PAGES, "VmPin %ld pages after refusals",
		   permissions_vmpin());

	/* Opened with CAP_IPC_LOCK: no limit. */
	ret = pin_util_take(pin_root, mem, 2 * MEMLOCK_PAGES, MMPROBE_PIN_METHOD_GUP_FAST, 0,
			    &h);
	PERM_CHECK(ret == 2 * MEMLOCK_PAGES, "take via the root-opened file: %ld", ret);
	ret = permissions_longterm(gup_root, mem, MEMLOCK_PAGES);
	PERM_CHECK(!ret, "gup_test via the root-opened file: %s", strerror(-ret));
	PERM_CHECK(permissions_vmpin() == base + 4 * MEMLOCK_PAGES, "VmPin %ld pages, want %ld",
		   permissions_vmpin(), base + 4 * MEMLOCK_PAGES);

	/* Everything released, everything uncharged, whichever way. */
	PERM_CHECK(pin_util_unpin_all(pin) == MEMLOCK_PAGES, "unpin all");
	close(pin_root);
	PERM_CHECK(!ioctl(gup_root, MMPROBE_PIN_LONGTERM_TEST_STOP), "gup_test stop");
	PERM_CHECK(permissions_vmpin() == base, "VmPin %ld pages at the end, want %ld",
		   permissions_vmpin(), base);
	close(gup_root);
	close(gup);
	close(pin);
	return bad;
}

TEST_F(permissions, pin_memlock)
{
	long long pins = robust_pins_held(), held = permissions_stat("held_pages");

	ASSERT_TRUE(robust_has_file("pin")) TH_LOG("this mmprobe has no pin file");
	ASSERT_EQ(0, access("/sys/kernel/debug/gup_test", F_OK))
		TH_LOG("no gup_test file: mmprobe's gup_test=0, or an old mmprobe");
	EXPECT_EQ(0, permissions_in_child(permissions_memlock, NULL));
	/* Every pin and every charge is gone with the child. */
	EXPECT_EQ(pins, robust_pins_expect(pins));
	EXPECT_EQ(held, permissions_stat("held_pages"));
}

/* max_held_pages bounds what all of mmprobe holds, with ENOSPC. */
TEST_F(permissions, held_pages_max)
{
	long long held = permissions_stat("held_pages"), pins = robust_pins_held();
	size_t ps = getpagesize();
	char old[32], val[32];
	uint64_t h;
	char *mem;
	int fd;

	ASSERT_LE(0, held) TH_LOG("stats has no held_pages");
	ASSERT_LT(0, util_read_file(PARAM_MAX_HELD, old, sizeof(old)));
	EXPECT_EQ(strtoll(old, NULL, 0), permissions_stat("held_pages_max"));
	EXPECT_EQ(-EINVAL, util_write_file(PARAM_MAX_HELD, "0"));
	EXPECT_EQ(-EINVAL, util_write_file(PARAM_MAX_HELD, "many"));
	mem = mmap(NULL, 16 * ps, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	fd = open(MMPROBE_DIR "/pin", O_RDWR);
	ASSERT_LE(0, fd);

	snprintf(val, sizeof(val), "%lld", held + 8);
	ASSERT_EQ(0, util_write_file(PARAM_MAX_HELD, val));
	EXPECT_EQ(-ENOSPC, pin_util_take(fd, mem, 9, MMPROBE_PIN_METHOD_PUP, 0, &h));
	EXPECT_EQ(8, pin_util_take(fd, mem, 8, MMPROBE_PIN_METHOD_PUP, 0, &h));
	EXPECT_EQ(held + 8, permissions_stat("held_pages"));
	EXPECT_EQ(-ENOSPC, pin_util_take(fd, mem + 8 * ps, 1, MMPROBE_PIN_METHOD_GUP, 0, &h));
	EXPECT_EQ(8, pin_util_unpin_all(fd));
	EXPECT_EQ(1, pin_util_take(fd, mem + 8 * ps, 1, MMPROBE_PIN_METHOD_GUP, 0, &h));
	close(fd);
	EXPECT_EQ(0, util_write_file(PARAM_MAX_HELD, old));
	EXPECT_EQ(held, permissions_stat("held_pages"));
	EXPECT_EQ(pins, robust_pins_expect(pins));
	munmap(mem, 16 * ps);
}

/* Fail on the first kernel pointer in text, saying where it came from. */
#define ASSERT_NO_POINTER(text, ...) do {				\
	const char *__p = robust_find_kernel_pointer(text);		\
									\
	ASSERT_EQ(NULL, __p) {						\
		TH_LOG(__VA_ARGS__);					\
		TH_LOG("kernel pointer at: %.80s", __p);		\
	}								\
} while (0)

/* Memory of every kind this process can have, for the reports to cover. */
static void permissions_populate(size_t *len, char **mem)
{
	size_t pmd = util_pmd_size() ?: util_pmd_span(), ps = getpagesize();
	char *p;
	int fd;

	*len = 4 * pmd;
	*mem = util_mmap_aligned(*len, pmd);
	if (!*mem)
		return;
	p = *mem;
	madvise(p, pmd, MADV_HUGEPAGE);
	memset(p, 1, pmd);				/* a THP, maybe */
	madvise(p + pmd, pmd, MADV_NOHUGEPAGE);
	memset(p + pmd, 1, pmd / 2);			/* small anon pages */
	(void)*(volatile char *)(p + pmd + pmd / 2);	/* the zero page */
	madvise(p + pmd, pmd / 4, MADV_PAGEOUT);	/* swap, if there is swap */
	mmap(p + 2 * pmd, pmd, PROT_READ | PROT_WRITE,	/* shmem */
	     MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	memset(p + 2 * pmd, 1, ps * 4);
	fd = open("/proc/self/exe", O_RDONLY);		/* page cache */
	if (fd >= 0) {
		mmap(p + 3 * pmd, ps * 4, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
		(void)*(volatile char *)(p + 3 * pmd);
		close(fd);
	}
}

/* Inspect every VMA of a process that lies below the task size. */
static int permissions_inspect_maps(struct __test_metadata *_metadata, pid_t pid,
				    char *report)
{
	unsigned long long start, end;
	char path[64], line[512], cmd[128];
	int fd, nr = 0;
	FILE *maps;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "r");
	if (!maps)
		return 0;
	fd = open(MMPROBE_DIR "/inspect", O_RDWR);
	if (fd < 0) {
		fclose(maps);
		return 0;
	}
	/* x86's [vsyscall] lies above the task size: inspect refuses it, as any */
	while (fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%llx-%llx", &start, &end) != 2)
			continue;
		snprintf(cmd, sizeof(cmd), "%d %#llx %#llx", pid, start, end);
		if (permissions_inspect(fd, cmd) ||
		    permissions_read_all(fd, report, REPORT_MAX) < 0)
			continue;
		nr++;
		if (robust_find_kernel_pointer(report)) {
			TH_LOG("inspect '%s' at: %.120s", cmd,
			       robust_find_kernel_pointer(report));
			nr = -1;
			break;
		}
		snprintf(cmd, sizeof(cmd), "%d %#llx %#llx summary", pid, start, end);
		if (!permissions_inspect(fd, cmd) &&
		    permissions_read_all(fd, report, REPORT_MAX) >= 0 &&
		    robust_find_kernel_pointer(report)) {
			TH_LOG("inspect '%s' at: %.120s", cmd,
			       robust_find_kernel_pointer(report));
			nr = -1;
			break;
		}
	}
	close(fd);
	fclose(maps);
	return nr;
}

TEST_F(permissions, no_kernel_pointers)
{
	size_t len = 0;
	char *mem = NULL;
	int i, n;

	permissions_populate(&len, &mem);
	ASSERT_NE(NULL, mem);

	/* Every read-only file, as a whole. */
	for (i = 0; i < self->nr_files; i++) {
		if ((self->files[i].mode & 0777) != 0400)
			continue;
		ASSERT_LE(0, util_read_file(self->files[i].path, self->report, REPORT_MAX));
		ASSERT_NO_POINTER(self->report, "%s", self->files[i].name);
	}
	ASSERT_LE(0, util_read_file(MMPROBE_DIR "/stats", self->report, REPORT_MAX));
	ASSERT_NO_POINTER(self->report, "stats");

	if (robust_has_file("notify")) {
		/* What the tracer records of unmaps, zaps and a fork. */
		int fd = open(MMPROBE_DIR "/notify", O_RDWR);
		char *p = mmap(NULL, 16 * getpagesize(), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		pid_t pid;

		ASSERT_LE(0, fd);
		ASSERT_NE(MAP_FAILED, p);
		memset(p, 1, 16 * getpagesize());
		madvise(p, getpagesize(), MADV_DONTNEED);
		pid = fork();
		if (!pid)
			_exit(0);
		waitpid(pid, NULL, 0);
		munmap(p, 16 * getpagesize());
		ASSERT_LT(0, permissions_read_all(fd, self->report, REPORT_MAX));
		ASSERT_NO_POINTER(self->report, "notify");
		close(fd);
	}

	if (robust_has_file("inspect")) {
		n = permissions_inspect_maps(_metadata, getpid(), self->report);
		ASSERT_LT(0, n) TH_LOG("no report of this process");
		n = permissions_inspect_maps(_metadata, 1, self->report);
		ASSERT_LT(0, n) TH_LOG("no report of pid 1");
	}
#ifdef MMPROBE_PIN_IOC_INFO
	if (robust_has_file("pin")) {
		size_t nr = len / getpagesize(), j, k;
		struct mmprobe_pin_take take = {
			.addr = (uintptr_t)mem, .nr_pages = nr,
			.method = MMPROBE_PIN_METHOD_GUP,
		};
		struct mmprobe_pin_page *pages = calloc(nr, sizeof(*pages));
		struct mmprobe_pin_range range = { .buf = (uintptr_t)pages };
		int fd = open(MMPROBE_DIR "/pin", O_RDWR);

		ASSERT_NE(NULL, pages);
		ASSERT_LE(0, fd);
		/* A take stops at the first hole; take what is there. */
		ASSERT_EQ(0, ioctl(fd, MMPROBE_PIN_IOC_TAKE, &take));
		range.handle = take.handle;
		range.nr_pages = take.nr_pinned;
		ASSERT_EQ(0, ioctl(fd, MMPROBE_PIN_IOC_INFO, &range));
		for (j = 0; j < take.nr_pinned; j++) {
			__u64 *field = (__u64 *)&pages[j];

			for (k = 0; k < sizeof(pages[j]) / sizeof(__u64); k++) {
				ASSERT_FALSE(robust_is_kernel_pointer(field[k]))
					TH_LOG("pin page %zu field %zu: %#llx", j, k,
					       (unsigned long long)field[k]);
			}
		}
		close(fd);
		free(pages);
	}
#endif
	munmap(mem, len);

	/* What mmprobe said in the kernel log since the last check. */
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, self->report, REPORT_MAX - 1);
	ASSERT_LE(0, n) TH_LOG("klogctl: %s", strerror(errno));
	self->report[n] = '\0';
	for (char *line = strtok(self->report, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, "mmprobe"))
			ASSERT_NO_POINTER(line, "kernel log");
}

TEST_HARNESS_MAIN
