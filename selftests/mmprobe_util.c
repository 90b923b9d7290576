// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the mmprobe selftests.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "mmprobe_util.h"

ssize_t util_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n, total = 0;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	while (total < (ssize_t)len - 1) {
		n = read(fd, buf + total, len - 1 - total);
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (!n)
			break;
		total += n;
	}
	buf[total] = '\0';
	close(fd);
	return total;
}

int util_write_file(const char *path, const char *str)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, str, strlen(str));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

long long util_kv_get(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, klen) && (p[klen] == '=' || p[klen] == ' '))
			return strtoll(p + klen + 1, NULL, 0);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

long long util_vmstat(const char *name)
{
	static char buf[16384];

	if (util_read_file("/proc/vmstat", buf, sizeof(buf)) < 0)
		return -1;
	return util_kv_get(buf, name);
}

static uint64_t util_pread_u64(const char *path, uint64_t index)
{
	uint64_t val = 0;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &val, sizeof(val), index * sizeof(val)) != sizeof(val))
		val = 0;
	close(fd);
	return val;
}

uint64_t util_pagemap(const void *addr)
{
	return util_pread_u64("/proc/self/pagemap",
			      (uintptr_t)addr / getpagesize());
}

uint64_t util_pagemap_pid(int pid, const void *addr)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	return util_pread_u64(path, (uintptr_t)addr / getpagesize());
}

uint64_t util_kpageflags(uint64_t pfn)
{
	return util_pread_u64("/proc/kpageflags", pfn);
}

size_t util_pmd_size(void)
{
	char buf[64];

	if (util_read_file(THP_DIR "/hpage_pmd_size", buf, sizeof(buf)) <= 0)
		return 0;
	return strtoul(buf, NULL, 10);
}

size_t util_pmd_span(void)
{
	size_t ps = getpagesize();

	return ps * (ps / sizeof(uint64_t));
}

size_t util_pud_span(void)
{
	return util_pmd_span() * (getpagesize() / sizeof(uint64_t));
}

uint64_t util_task_top(void)
{
	unsigned long long start, end = 0;
	char line[512];
	FILE *maps = fopen("/proc/self/maps", "r");

	while (maps && fgets(line, sizeof(line), maps))
		if (strstr(line, "[stack]") && sscanf(line, "%llx-%llx", &start, &end) != 2)
			end = 0;
	if (maps)
		fclose(maps);
	return end ? 1ULL << (64 - __builtin_clzll(end - 1)) : 0;
}

void *util_mmap_aligned(size_t len, size_t align)
{
	char *mem, *aligned;

	mem = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return NULL;
	aligned = (char *)(((uintptr_t)mem + align - 1) & ~(uintptr_t)(align - 1));
	if (aligned > mem)
		munmap(mem, aligned - mem);
	munmap(aligned + len, mem + align - aligned);
	return aligned;
}

void *util_mmap_small(size_t len, int fill)
{
	char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		return NULL;
	madvise(mem, len, MADV_NOHUGEPAGE);
	if (fill >= 0)
		memset(mem, fill, len);
	return mem;
}

#define UTIL_MAX_SETTINGS 32

/*
 * Every value a process saves is also written to a journal,
 * UTIL_JOURNAL_DIR/mmprobe-settings.<pid>, before the setting changes, and
 * the journal goes when the process restores. A process that dies on a
 * signal (a crash, the harness's or the runner's SIGKILL on timeout) runs
 * neither teardown nor atexit: its journal stays, and whoever comes next
 * restores from it - the program's harness parent when it exits (the tests
 * run in children it outlives), or the next program when it starts. Each
 * entry carries the CLOCK_MONOTONIC time it was saved; the entries of every
 * dead process, and the caller's own, are written back newest first, so
 * that a value saved over another's change is undone before it.
 */
#define UTIL_JOURNAL_DIR	"/tmp"
#define UTIL_JOURNAL_PREFIX	"mmprobe-settings."
#define UTIL_JOURNAL_MAX	64

struct util_saved {
	unsigned long long when;
	char path[256];
	char value[256];
};

static struct util_saved util_saved[UTIL_MAX_SETTINGS];
static int util_nr_saved;
/* The process whose journal util_saved's entries are in: not a fork's */
static pid_t util_journal_pid;

/* "always [madvise] never" -> "madvise"; plain values are kept as they are. */
static void util_selected(char *buf)
{
	char *open = strchr(buf, '['), *close;

	if (open) {
		close = strchr(open, ']');
		if (close) {
			*close = '\0';
			memmove(buf, open + 1, strlen(open + 1) + 1);
		}
	}
	buf[strcspn(buf, "\n")] = '\0';
}

int util_setting_get(const char *path, char *buf, size_t len)
{
	ssize_t n = util_read_file(path, buf, len);

	if (n < 0)
		return n;
	util_selected(buf);
	return 0;
}

static unsigned long long util_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void util_journal_path(pid_t pid, char *buf, size_t len)
{
	snprintf(buf, len, UTIL_JOURNAL_DIR "/" UTIL_JOURNAL_PREFIX "%d", (int)pid);
}

/* Append "<when> <path>\t<value>" to this process's journal; 0 or -errno. */
static int util_journal_add(const struct util_saved *e)
{
	char path[64], line[600];
	int fd, n, ret = 0;

	util_journal_path(getpid(), path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	n = snprintf(line, sizeof(line), "%llu %s\t%s\n", e->when, e->path, e->value);
	if (write(fd, line, n) != n)
		ret = -EIO;
	close(fd);
	return ret;
}

/* Read one journal into e[*nr...]; a torn last line is dropped. */
static void util_journal_read(const char *path, struct util_saved *e, int *nr)
{
	char line[600], *tab;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return;
	while (*nr < UTIL_JOURNAL_MAX && fgets(line, sizeof(line), f)) {
		struct util_saved *s = &e[*nr];
		int off = 0;

		tab = strchr(line, '\t');
		if (!tab || !strchr(tab, '\n') ||
		    sscanf(line, "%llu %n", &s->when, &off) != 1 || !off)
			continue;
		*tab = '\0';
		snprintf(s->path, sizeof(s->path), "%s", line + off);
		tab[1 + strcspn(tab + 1, "\n")] = '\0';
		snprintf(s->value, sizeof(s->value), "%s", tab + 1);
		(*nr)++;
	}
	fclose(f);
}

/* Is pid gone? A process of another user (EPERM) is alive. */
static bool util_pid_dead(pid_t pid)
{
	return kill(pid, 0) && errno == ESRCH;
}

/*
 * Take the journals of dead processes into e[*nr...]: each is renamed to
 * a name of our own first, so that two processes never both restore one.
 */
static void util_journal_claim_dead(struct util_saved *e, int *nr)
{
	char path[64], mine[96];
	struct dirent *d;
	DIR *dir;
	int pid;

	dir = opendir(UTIL_JOURNAL_DIR);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (strncmp(d->d_name, UTIL_JOURNAL_PREFIX, strlen(UTIL_JOURNAL_PREFIX)) ||
		    sscanf(d->d_name + strlen(UTIL_JOURNAL_PREFIX), "%d", &pid) != 1 ||
		    pid <= 0 || strchr(d->d_name + strlen(UTIL_JOURNAL_PREFIX), '.') ||
		    !util_pid_dead(pid))
			continue;
		util_journal_path(pid, path, sizeof(path));
		snprintf(mine, sizeof(mine), "%s.restoring.%d", path, (int)getpid());
		if (rename(path, mine))
			continue;
		util_journal_read(mine, e, nr);
		printf("# settings: restoring what pid %d left (it died before restoring)\n",
		       pid);
		unlink(mine);
	}
	closedir(dir);
	fflush(stdout);
}

static int util_saved_newest_first(const void *a, const void *b)
{
	const struct util_saved *x = a, *y = b;

	return x->when < y->when ? 1 : x->when > y->when ? -1 : 0;
}

/* Write back entries e[0..nr), newest first. */
static void util_write_back(struct util_saved *e, int nr)
{
	int i;

	qsort(e, nr, sizeof(*e), util_saved_newest_first);
	for (i = 0; i < nr; i++)
		util_write_file(e[i].path, e[i].value);
}

int util_setting_set(const char *path, const char *value)
{
	struct util_saved *e;
	char old[256];
	ssize_t n;
	int i;

	if (util_journal_pid != getpid()) {
		/* A fork: what it inherited is in its parent's journal. */
		util_journal_pid = getpid();
		util_nr_saved = 0;
	}
	for (i = 0; i < util_nr_saved; i++)
		if (!strcmp(util_saved[i].path, path))
			break;
	if (i == util_nr_saved) {
		if (util_nr_saved == UTIL_MAX_SETTINGS)
			return -ENOSPC;
		n = util_read_file(path, old, sizeof(old));
		if (n < 0)
			return n;
		util_selected(old);
		e = &util_saved[i];
		e->when = util_now_ns();
		snprintf(e->path, sizeof(e->path), "%s", path);
		snprintf(e->value, sizeof(e->value), "%s", old);
		n = util_journal_add(e);
		if (n < 0)
			printf("# settings: cannot journal %s (%s): a crash would leak it\n",
			       path, strerror(-n));
		if (!util_nr_saved++)
			atexit(util_settings_restore);
	}
	return util_write_file(path, value);
}

void util_settings_restore(void)
{
	struct util_saved e[UTIL_JOURNAL_MAX + UTIL_MAX_SETTINGS];
	char path[64];
	int nr = 0;

	util_journal_claim_dead(e, &nr);
	if (util_journal_pid == getpid()) {
		memcpy(e + nr, util_saved, util_nr_saved * sizeof(*e));
		nr += util_nr_saved;
		util_nr_saved = 0;
	}
	util_write_back(e, nr);
	util_journal_path(getpid(), path, sizeof(path));
	unlink(path);
}

/*
 * Every program restores what a dead one left before it starts, and the
 * harness's parent what its dead tests left when it exits (its forked
 * tests end with _exit(), which runs no destructor).
 */
static void __attribute__((constructor)) util_settings_ctor(void)
{
	util_settings_restore();
}

static void __attribute__((destructor)) util_settings_dtor(void)
{
	util_settings_restore();
}

long long util_smaps_kb(const void *addr, const char *field)
{
	unsigned long start, end, a = (uintptr_t)addr;
	size_t flen = strlen(field);
	long long kb = -1;
	bool in = false;
	char line[512];
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* "start-end perms ..." opens an entry; "Field:  N kB" never parses so */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = a >= start && a < end;
			continue;
		}
		if (in && !strncmp(line, field, flen) && line[flen] == ':') {
			kb = strtoll(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

bool util_vma_flag(const void *addr, const char *flag)
{
	unsigned long start, end, a = (uintptr_t)addr;
	char line[512], word[8];
	bool in = false, set = false;
	const char *hit;
	FILE *f;

	/* "VmFlags: rd wr mr ...": each flag after a blank, and a blank or newline after it */
	snprintf(word, sizeof(word), " %.5s", flag);
	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = a >= start && a < end;
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			hit = strstr(line, word);
			set = hit && (hit[strlen(word)] == ' ' || hit[strlen(word)] == '\n');
			break;
		}
	}
	fclose(f);
	return set;
}

bool util_swap_enabled(void)
{
	char buf[4096], *nl;

	if (util_read_file("/proc/swaps", buf, sizeof(buf)) <= 0)
		return false;
	nl = strchr(buf, '\n');
	return nl && nl[1] != '\0';
}

bool util_thp_missing_ok(long long fallback_before, char *why, size_t len)
{
	long long fallback = util_vmstat("thp_fault_fallback");
	char mode[64];

	if (!util_setting_get(THP_DIR "/enabled", mode, sizeof(mode)) &&
	    !strncmp(mode, "never", 5)) {
		snprintf(why, len, "THP disabled (%s/enabled is never)", THP_DIR);
		return true;
	}
	if (fallback > fallback_before) {
		snprintf(why, len, "no free huge page (thp_fault_fallback +%lld)",
			 fallback - fallback_before);
		return true;
	}
	snprintf(why, len, "no THP, and thp_fault_fallback did not move (%lld)", fallback);
	return false;
}

#define UTIL_SKIP_REASONS	32
#define UTIL_SKIP_REASON_LEN	120

/* Shared with the forked tests: reasons in the order first seen. */
static struct util_skips {
	int nr;
	struct {
		char reason[UTIL_SKIP_REASON_LEN];
		int count;
	} r[UTIL_SKIP_REASONS];
} *util_skips;
static pid_t util_skips_owner;

void util_skips_init(void)
{
	void *p;

	if (util_skips)
		return;
	p = mmap(NULL, sizeof(*util_skips), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	util_skips = p;
	util_skips_owner = getpid();
}

void util_skip_note(const char *fmt, ...)
{
	char reason[UTIL_SKIP_REASON_LEN];
	va_list ap;
	int i;

	if (!util_skips)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	for (i = 0; i < util_skips->nr; i++)
		if (!strcmp(util_skips->r[i].reason, reason))
			break;
	if (i == util_skips->nr) {
		if (i == UTIL_SKIP_REASONS)
			i--;	/* the last slot collects the rest */
		else
			util_skips->nr++;
		snprintf(util_skips->r[i].reason, UTIL_SKIP_REASON_LEN, "%s", reason);
	}
	util_skips->r[i].count++;
}

void util_skips_report(void)
{
	int i, total = 0;

	/* Only the process that made the tally, once: not a forked test. */
	if (!util_skips || getpid() != util_skips_owner)
		return;
	for (i = 0; i < util_skips->nr; i++)
		total += util_skips->r[i].count;
	printf("# skips: %d", total);
	for (i = 0; i < util_skips->nr; i++)
		printf("%s%s: %d", i ? ", " : " (", util_skips->r[i].reason,
		       util_skips->r[i].count);
	printf("%s\n", util_skips->nr ? ")" : "");
	fflush(stdout);
	munmap(util_skips, sizeof(*util_skips));
	util_skips = NULL;
}

int util_nodes_online(void)
{
	char buf[256], *p = buf;
	int n = 0;
	long a, b;

	if (util_read_file("/sys/devices/system/node/online", buf, sizeof(buf)) <= 0)
		return -1;
	while (*p && *p != '\n') {
		a = strtol(p, &p, 10);
		b = *p == '-' ? strtol(p + 1, &p, 10) : a;
		n += b - a + 1;
		if (*p == ',')
			p++;
	}
	return n;
}

int util_audit(const char *cmd, char *buf, size_t len)
{
	ssize_t n, got = 0;
	int fd, ret = 0;

	buf[0] = '\0';
	fd = open(MMPROBE_DIR "/audit", O_RDWR);
	if (fd < 0)
		return -errno;
	if (write(fd, cmd, strlen(cmd)) < 0) {
		ret = -errno;
		goto out;
	}
	while ((n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	if (n < 0)
		ret = -errno;
	buf[got] = '\0';
out:
	close(fd);
	return ret;
}

int util_audit_totals(const char *report, struct util_audit_totals *t)
{
	const char *last = strstr(report, "processes=");

	if (!last || (last != report && last[-1] != '\n'))
		return -1;
	if (sscanf(last, "processes=%lld exited=%lld entries=%lld violations=%lld shown=%lld\n",
		   &t->processes, &t->exited, &t->entries, &t->violations, &t->shown) != 5)
		return -1;
	return 0;
}
