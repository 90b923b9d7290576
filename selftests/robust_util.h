/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the robustness programs (lifecycle, permissions, fuzz, stress):
 * loading and unloading mmprobe, listing its files, counting what is held
 * system-wide, children that hold things until killed, dropping privileges,
 * and spotting kernel pointers in output.
 */
#ifndef _MMPROBE_ROBUST_UTIL_H
#define _MMPROBE_ROBUST_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <sys/types.h>

#include "kmod_util.h"
#include "mmprobe_uapi.h"
#include "mmprobe_util.h"

/* How long a release may lag behind the exit of the last holder of a file. */
#define ROBUST_UNLOAD_WAIT_MS	5000
#define ROBUST_MAX_FILES	32

struct robust_file {
	char name[NAME_MAX + 1];
	char path[sizeof(MMPROBE_DIR) + NAME_MAX + 1];
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

/* In a FIXTURE_SETUP: load mmprobe, or skip saying how to get it. */
#define ROBUST_LOAD_OR_SKIP() do {					\
	int __ret = kmod_util_mmprobe_load();				\
									\
	if (__ret)							\
		SKIP(return, "cannot load mmprobe (%s): build it and set MMPROBE_KO", \
		     strerror(-__ret));					\
} while (0)

/*
 * Unload mmprobe, retrying for up to max_ms while it is in use (a killed
 * process's files may be released a moment after it was reaped).
 * Return: 0 or the last negative errno; *waited_ms says how long it took.
 */
int robust_unload_wait(long max_ms, long *waited_ms);

/* The files of /sys/kernel/debug/mmprobe, sorted by name: how many, or -errno. */
int robust_list(struct robust_file *files, int max);

/* Does /sys/kernel/debug/mmprobe/<name> exist? */
bool robust_has_file(const char *name);

/* /sys/module/mmprobe/refcnt, -1 when the module is not loaded. */
long robust_refcnt(void);

/*
 * FOLL_PIN pins held system-wide: vmstat nr_foll_pin_acquired - released,
 * after folding every CPU's pending deltas (vm.stat_refresh, root only),
 * both from one read of /proc/vmstat; the value most reads agree on (5
 * reads 1 ms apart when idle, up to 50), so that other processes' short
 * pins (O_DIRECT I/O of a busy machine) do not count. Call it where this
 * process's own pins are stable.
 */
long long robust_pins_held(void);

/*
 * robust_pins_held(), read again for up to 2 s until it is @want: on a busy
 * machine another process may hold pins for a while (a vCPU descheduled in
 * O_DIRECT I/O), while a pin this process leaked never goes away. Return:
 * @want, or the last value read.
 */
long long robust_pins_expect(long long want);

/*
 * The FOLL_PIN counters around an operation, checked so that the check
 * holds on a busy machine: other processes only add to
 * nr_foll_pin_acquired and nr_foll_pin_released (both monotonic), and
 * their pins in flight leave the balance once they finish; so this
 * process's pins show as a lower bound on each counter's rise and an exact
 * change of the balance.
 */
struct robust_pin_window {
	long long acquired;	/* /proc/vmstat, at robust_pin_window_open() */
	long long released;
	long long held;		/* robust_pins_held() */
};

/* Read the counters before the operation: 0, or -1 without nr_foll_pin_*. */
int robust_pin_window_open(struct robust_pin_window *w);

/*
 * After the operation: did nr_foll_pin_acquired rise by at least @acquired,
 * nr_foll_pin_released by at least @released, and does the balance settle
 * (robust_pins_expect()) at w->held + @acquired - @released? On an idle
 * machine the rises are exact; TH_LOG the why line when they are not.
 * Return: 0, or -1 with the first disagreement in why.
 */
int robust_pin_window_check(const struct robust_pin_window *w, long long acquired,
			    long long released, char *why, size_t len);

/* A /proc/meminfo value (kB for sizes), -1 when absent. */
long long robust_meminfo(const char *key);

void robust_sleep_ms(long ms);

/* The next number of a splitmix64 stream: seeded runs replay exactly. */
uint64_t robust_rand(uint64_t *state);

/* Milliseconds of CLOCK_MONOTONIC. */
long long robust_now_ms(void);

/*
 * Fork a child that runs fn(arg), reports through a pipe whether it
 * returned 0, and then waits to be killed. *ready_fd is for
 * robust_wait_ready(). Return: the pid, or -1.
 */
pid_t robust_fork_holder(int (*fn)(void *arg), void *arg, int *ready_fd);

/* 0 once the child reported success, -1 when it failed or died. */
int robust_wait_ready(int ready_fd);

/* SIGKILL and reap a child: 0 when it died of that signal. */
int robust_kill_reap(pid_t pid);

/* Drop one capability from the effective, permitted, inheritable and bounding sets. */
int robust_drop_cap(int cap);

/*
 * Keep exactly the capabilities of @keep (a mask of 1ULL << CAP_*) in the
 * effective and permitted sets, none inheritable; uid 0 stays.
 */
int robust_keep_caps(uint64_t keep);

/* Become uid/gid 65534 (nobody) with no supplementary groups and no capabilities. */
int robust_become_nobody(void);

/* Is v an address in the kernel half (and not ~0, "not applicable")? */
bool robust_is_kernel_pointer(uint64_t v);

/*
 * The first number in text that looks like a kernel pointer: 16 hex digits
 * starting with ffff (with or without 0x), or a decimal or hex number in
 * the kernel half. NULL when there is none.
 */
const char *robust_find_kernel_pointer(const char *text);

/*
 * Does the per-page report of a successful MMPROBE_IOC_MIGRATE (a as the
 * kernel wrote it back) agree with itself: nr_migrated <= nr_frozen <=
 * pages, no page migrated by an aborted call, each page's address and a
 * known result, no page migrated whose migration entry named a page that
 * was not anon, and results that add up to the counts? rep may be NULL
 * (counts only). Return: 0, or -1 with the first disagreement in why.
 */
int robust_migrate_report_check(const struct mmprobe_migrate_args *a,
				const struct mmprobe_migrate_page *rep, char *why, size_t len);

#endif /* _MMPROBE_ROBUST_UTIL_H */
