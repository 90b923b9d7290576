// SPDX-License-Identifier: GPL-2.0
/*
 * permissions: what mmprobe lets whom see.
 *
 * - Every file is a regular file owned by root, mode 0600 (commands) or 0400
 *   (read-only); an unprivileged user (uid/gid 65534) cannot open any of
 *   them for reading or writing (EACCES), also when the debugfs mount
 *   itself is made traversable, so that the files' own modes are what
 *   refuses.
 * - Root without CAP_SYS_ADMIN may look at its own address space, without
 *   PFNs, but not at another process's (EPERM), as with
 *   /proc/pid/pagemap; with CAP_SYS_ADMIN the PFNs are those pagemap shows.
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
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mmprobe_uapi.h"
#include "mmprobe_util.h"
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

struct permissions_cap_arg {
	char *page;
	pid_t other;
	char *report;
};

/*
 * Without CAP_SYS_ADMIN: another pid is EPERM, one's own address space is
 * reported without PFNs.
 */
static int permissions_without_admin(void *data)
{
	struct permissions_cap_arg *arg = data;
	char cmd[128];
	int fd, bad = 0, ret;

	if (robust_drop_cap(CAP_SYS_ADMIN)) {
		fprintf(stderr, "# cannot drop CAP_SYS_ADMIN: %s\n", strerror(errno));
		return 2;
	}
	if (robust_has_file("inspect")) {
		fd = open(MMPROBE_DIR "/inspect", O_RDWR);
		if (fd < 0) {
			fprintf(stderr, "# open inspect: %s\n", strerror(errno));
			return 1;
		}
		snprintf(cmd, sizeof(cmd), "%d %p", arg->other, arg->page);
		ret = permissions_inspect(fd, cmd);
		if (ret != -EPERM) {
			fprintf(stderr, "# inspect '%s' without CAP_SYS_ADMIN: %s\n", cmd,
				ret ? strerror(-ret) : "allowed");
			bad = 1;
		}
		/* One's own pid, by number and as 0. */
		snprintf(cmd, sizeof(cmd), "%d %p", getpid(), arg->page);
		ret = permissions_inspect(fd, cmd);
		if (!ret)
			ret = permissions_read_all(fd, arg->report, REPORT_MAX);
		if (ret <= 0 || !strstr(arg->report, " anon ") ||
		    strstr(arg->report, "pfn=")) {
			fprintf(stderr, "# own report without CAP_SYS_ADMIN (%s): %s\n",
				ret < 0 ? strerror(-ret) : "read", arg->report);
			bad = 1;
		}
		close(fd);
	}
#ifdef MMPROBE_PIN_IOC_INFO
	if (robust_has_file("pin")) {
		struct mmprobe_pin_take take = {
			.addr = (uintptr_t)arg->page, .nr_pages = 1,
			.method = MMPROBE_PIN_METHOD_PUP,
		};
		struct mmprobe_pin_page page = { };
		struct mmprobe_pin_range range = {
			.nr_pages = 1, .buf = (uintptr_t)&page,
		};

		fd = open(MMPROBE_DIR "/pin", O_RDWR);
		if (fd < 0 || ioctl(fd, MMPROBE_PIN_IOC_TAKE, &take)) {
			fprintf(stderr, "# pin take: %s\n", strerror(errno));
			return 1;
		}
		range.handle = take.handle;
		if (ioctl(fd, MMPROBE_PIN_IOC_INFO, &range) || page.pfn != 0) {
			fprintf(stderr, "# pin info without CAP_SYS_ADMIN: pfn %#llx (%s)\n",
				(unsigned long long)page.pfn, strerror(errno));
			bad = 1;
		}
		close(fd);
	}
#endif
	return bad;
}

TEST_F(permissions, cap_sys_admin)
{
	struct permissions_cap_arg arg = { .report = self->report };
	size_t ps = getpagesize();
	char cmd[128], want[64];
	uint64_t pfn;
	int fd;

	arg.page = mmap(NULL, ps, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, arg.page);
	arg.page[0] = 1;
	arg.other = getppid();
	pfn = util_pagemap(arg.page) & PM_PFN_MASK;
	ASSERT_NE(0, pfn) TH_LOG("pagemap shows no PFN: the test needs CAP_SYS_ADMIN");

	ASSERT_EQ(0, permissions_in_child(permissions_without_admin, &arg));

	if (!robust_has_file("inspect"))
		return;
	/* With CAP_SYS_ADMIN: another pid is allowed, PFNs are pagemap's. */
	fd = open(MMPROBE_DIR "/inspect", O_RDWR);
	ASSERT_LE(0, fd);
	snprintf(cmd, sizeof(cmd), "%d 0x1000", arg.other);
	EXPECT_EQ(0, permissions_inspect(fd, cmd));
	snprintf(cmd, sizeof(cmd), "0 %p", arg.page);
	ASSERT_EQ(0, permissions_inspect(fd, cmd));
	ASSERT_LT(0, permissions_read_all(fd, self->report, REPORT_MAX));
	snprintf(want, sizeof(want), " pfn=%#llx ", (unsigned long long)pfn);
	EXPECT_NE(NULL, strstr(self->report, want)) TH_LOG("no '%s' in %s", want,
							   self->report);
	close(fd);
	munmap(arg.page, ps);
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
	size_t pmd = util_pmd_size() ?: 2UL << 20, ps = getpagesize();
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
	while (fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%llx-%llx", &start, &end) != 2 ||
		    end > 0x7ffffffff000ULL)
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

			for (k = 0; k < sizeof(pages[j]) / sizeof(__u64); k++)
				ASSERT_FALSE(robust_is_kernel_pointer(field[k]))
					TH_LOG("pin page %zu field %zu: %#llx", j, k,
					       (unsigned long long)field[k]);
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
