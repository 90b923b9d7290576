// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers of the robustness programs; see robust_util.h.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kmod_util.h"
#include "mmprobe_util.h"
#include "pin_util.h"
#include "robust_util.h"

/*
 * Reads of the pin balance by robust_pins_held(): at most, and how many
 * that must not lower the least one before it counts.
 */
#define ROBUST_PIN_SAMPLES	50
#define ROBUST_PIN_STABLE	5
/* How long robust_pins_expect() waits for others' pins to go. */
#define ROBUST_PIN_SETTLE_MS	2000

int robust_migrate_report_check(const struct mmprobe_migrate_args *a,
				const struct mmprobe_migrate_page *rep, char *why, size_t len)
{
	uint64_t i, nr = a->len / getpagesize(), moved = 0, frozen = 0;

	if (a->nr_frozen > nr || a->nr_migrated > a->nr_frozen) {
		snprintf(why, len, "%llu pages, %llu frozen, %llu migrated",
			 (unsigned long long)nr, (unsigned long long)a->nr_frozen,
			 (unsigned long long)a->nr_migrated);
		return -1;
	}
	if ((a->flags & MMPROBE_MIGRATE_ABORT) && a->nr_migrated) {
		snprintf(why, len, "an aborted call migrated %llu pages",
			 (unsigned long long)a->nr_migrated);
		return -1;
	}
	for (i = 0; rep && i < nr; i++) {
		if (rep[i].addr != a->start + i * getpagesize() ||
		    rep[i].result < MMPROBE_MIGRATE_MIGRATED ||
		    rep[i].result > MMPROBE_MIGRATE_SKIPPED) {
			snprintf(why, len, "page %llu: addr %#llx, result %llu",
				 (unsigned long long)i, (unsigned long long)rep[i].addr,
				 (unsigned long long)rep[i].result);
			return -1;
		}
		/*
		 * Page cache and KSM are never moved (Documentation/migrate.rst).
		 * Only a frozen migration entry names the page: a racing zap
		 * may have cleared it, and then nothing is known.
		 */
		if (rep[i].result == MMPROBE_MIGRATE_MIGRATED &&
		    (rep[i].frozen.flags & MMPROBE_MIGRATE_PTE_MIGRATION) &&
		    !(rep[i].frozen.flags & MMPROBE_MIGRATE_PAGE_ANON)) {
			snprintf(why, len, "page %llu: migrated, but not anon: flags %#llx",
				 (unsigned long long)i, (unsigned long long)rep[i].frozen.flags);
			return -1;
		}
		moved += rep[i].result == MMPROBE_MIGRATE_MIGRATED;
		frozen += rep[i].result != MMPROBE_MIGRATE_SKIPPED;
	}
	if (rep && (moved != a->nr_migrated || frozen != a->nr_frozen)) {
		snprintf(why, len, "report: %llu frozen, %llu migrated; counts: %llu, %llu",
			 (unsigned long long)frozen, (unsigned long long)moved,
			 (unsigned long long)a->nr_frozen, (unsigned long long)a->nr_migrated);
		return -1;
	}
	return 0;
}

int robust_unload_wait(long max_ms, long *waited_ms)
{
	long ms;
	int ret;

	for (ms = 0;; ms += 10) {
		ret = kmod_util_unload("mmprobe");
		if (ret != -EAGAIN || ms >= max_ms)
			break;
		robust_sleep_ms(10);
	}
	if (waited_ms)
		*waited_ms = ms;
	return ret;
}

int robust_list(struct robust_file *files, int max)
{
	struct dirent **names;
	struct stat st;
	int i, n, nr = 0;

	n = scandir(MMPROBE_DIR, &names, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		struct robust_file *f = &files[nr];

		if (names[i]->d_name[0] != '.' && nr < max) {
			snprintf(f->name, sizeof(f->name), "%s", names[i]->d_name);
			snprintf(f->path, sizeof(f->path), MMPROBE_DIR "/%s", f->name);
			if (!stat(f->path, &st)) {
				f->mode = st.st_mode;
				f->uid = st.st_uid;
				f->gid = st.st_gid;
				nr++;
			}
		}
		free(names[i]);
	}
	free(names);
	return nr;
}

bool robust_has_file(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), MMPROBE_DIR "/%s", name);
	return !access(path, F_OK);
}

long robust_refcnt(void)
{
	char buf[32];

	if (util_read_file("/sys/module/mmprobe/refcnt", buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

long long robust_pins_held(void)
{
	long long seen[ROBUST_PIN_SAMPLES];
	int votes[ROBUST_PIN_SAMPLES];
	int i, j, n = 0, best = 0;

	/*
	 * Other processes' pins in flight (O_DIRECT of a busy machine,
	 * vmtest.sh -L), or counted on one CPU and not yet on another, move
	 * one read either way: the first value read ROBUST_PIN_STABLE times,
	 * 1 ms apart, counts (measured under -L on 7.3: 292 of 300 reads gave
	 * the true balance, the others -9, +16 or +25).
	 */
	for (i = 0; i < ROBUST_PIN_SAMPLES; i++) {
		long long held = pin_util_foll_pins();

		for (j = 0; j < n && seen[j] != held; j++)
			;
		if (j == n) {
			seen[n] = held;
			votes[n++] = 0;
		}
		if (++votes[j] > votes[best])
			best = j;
		if (votes[best] >= ROBUST_PIN_STABLE)
			break;
		robust_sleep_ms(1);
	}
	return seen[best];
}

long long robust_pins_expect(long long want)
{
	long long held = robust_pins_held();
	int ms;

	/* A pin of ours that leaked stays; others' come and go. */
	for (ms = 0; held != want && ms < ROBUST_PIN_SETTLE_MS; ms += 20) {
		robust_sleep_ms(20);
		held = robust_pins_held();
	}
	return held;
}

int robust_pin_window_open(struct robust_pin_window *w)
{
	w->held = robust_pins_held();
	if (w->held == LLONG_MIN)
		return -1;
	return pin_util_foll_counts(&w->acquired, &w->released);
}

int robust_pin_window_check(const struct robust_pin_window *w, long long acquired,
			    long long released, char *why, size_t len)
{
	long long acq, rel, held, want = w->held + acquired - released;

	/* The balance first: the rises are read after our pins settled. */
	held = robust_pins_expect(want);
	if (pin_util_foll_counts(&acq, &rel)) {
		snprintf(why, len, "no nr_foll_pin_* in /proc/vmstat");
		return -1;
	}
	if (acq - w->acquired < acquired || rel - w->released < released) {
		snprintf(why, len,
			 "nr_foll_pin_acquired +%lld, released +%lld: want at least +%lld, +%lld",
			 acq - w->acquired, rel - w->released, acquired, released);
		return -1;
	}
	if (held != want) {
		snprintf(why, len, "pins held system-wide %lld, want %lld (%+lld)",
			 held, want, acquired - released);
		return -1;
	}
	snprintf(why, len, "nr_foll_pin_acquired +%lld, _released +%lld (ours +%lld, +%lld)",
		 acq - w->acquired, rel - w->released, acquired, released);
	return 0;
}

long long robust_meminfo(const char *key)
{
	static char buf[8192];
	size_t klen = strlen(key);
	char *line = buf;

	if (util_read_file("/proc/meminfo", buf, sizeof(buf)) < 0)
		return -1;
	while (line && *line) {
		if (!strncmp(line, key, klen) && line[klen] == ':')
			return strtoll(line + klen + 1, NULL, 10);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

void robust_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

uint64_t robust_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

long long robust_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

pid_t robust_fork_holder(int (*fn)(void *arg), void *arg, int *ready_fd)
{
	int pipefd[2];
	pid_t pid;

	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (!pid) {
		char status;

		close(pipefd[0]);
		status = fn(arg) ? 'E' : 'R';
		if (write(pipefd[1], &status, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	*ready_fd = pipefd[0];
	return pid;
}

int robust_wait_ready(int ready_fd)
{
	char status = 0;
	int ret = read(ready_fd, &status, 1) == 1 && status == 'R' ? 0 : -1;

	close(ready_fd);
	return ret;
}

int robust_kill_reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : -1;
}

int robust_drop_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	unsigned int i = cap / 32, bit = 1U << (cap % 32);

	if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
		return -errno;
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[i].effective &= ~bit;
	data[i].permitted &= ~bit;
	data[i].inheritable &= ~bit;
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

int robust_keep_caps(uint64_t keep)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {
		{ .effective = (uint32_t)keep, .permitted = (uint32_t)keep },
		{ .effective = (uint32_t)(keep >> 32), .permitted = (uint32_t)(keep >> 32) },
	};

	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

int robust_become_nobody(void)
{
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return -errno;
	/* A uid change away from 0 clears every capability set. */
	return 0;
}

bool robust_is_kernel_pointer(uint64_t v)
{
	/*
	 * The kernel half, but not the ERR_PTR range (-4095 .. -1): from
	 * 0xff00000000000000 on, the lowest kernel address of x86-64's
	 * 5-level tables; arm64's linear map with 52-bit VAs starts at
	 * 0xfff0000000000000. No user address of either comes near.
	 */
	return v >= 0xff00000000000000ULL && v < 0xfffffffffffff001ULL;
}

const char *robust_find_kernel_pointer(const char *text)
{
	const char *p = text;

	while (*p) {
		const char *start = p;
		unsigned long long v;
		size_t n;
		char *end;

		if (!isxdigit((unsigned char)*p) ||
		    (p > text && isalnum((unsigned char)p[-1]))) {
			p++;
			continue;
		}
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
			errno = 0;
			v = strtoull(p + 2, &end, 16);
			if (end > p + 2 && (errno == ERANGE || robust_is_kernel_pointer(v)))
				return start;
			p = end > p + 2 ? end : p + 2;
			continue;
		}
		n = strspn(p, "0123456789abcdefABCDEF");
		if (n == 16 && !strncasecmp(p, "ffff", 4))
			return start;
		if (strspn(p, "0123456789") == n) {
			errno = 0;
			v = strtoull(p, &end, 10);
			if (errno == ERANGE || robust_is_kernel_pointer(v))
				return start;
		}
		p += n;
	}
	return NULL;
}
