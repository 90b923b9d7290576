/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small wrapper of /sys/kernel/debug/mmprobe/pin for selftests: open a
 * session, pin (or reference) a range with given flags, read back what the
 * pin sees, unpin. See Documentation/pin.rst for the ioctls.
 *
 * Every function returns 0 (or a count) on success and -errno on failure.
 */
#ifndef _MMPROBE_PIN_UTIL_H
#define _MMPROBE_PIN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmprobe_uapi.h"

#define PIN_PATH	"/sys/kernel/debug/mmprobe/pin"

/* Open a session: a file descriptor, or -errno. close() ends it. */
int pin_util_open(void);

/*
 * Take nr_pages from addr with method (enum mmprobe_pin_method) and flags
 * (MMPROBE_PIN_WRITE, MMPROBE_PIN_LONGTERM). On success *handle names the
 * take and the return value is the number of pages held (maybe fewer).
 */
long pin_util_take(int fd, const void *addr, size_t nr_pages, int method,
		   uint64_t flags, uint64_t *handle);

/* Describe pages [index, index + nr) of a take, as taken or (now) as they are. */
int pin_util_info(int fd, uint64_t handle, size_t index, size_t nr,
		  struct mmprobe_pin_page *pages, bool now);

/* Copy what pages [index, index + nr) of a take hold now into buf. */
int pin_util_read(int fd, uint64_t handle, size_t index, size_t nr, void *buf);

/* Release pages [index, index + nr) of a take: how many were held, or -errno. */
long pin_util_unpin(int fd, uint64_t handle, size_t index, size_t nr);

/* Release every take of the session: how many pages were held, or -errno. */
long pin_util_unpin_all(int fd);

/*
 * /proc/vmstat nr_foll_pin_acquired and nr_foll_pin_released after folding
 * the per-CPU counters (vm/stat_refresh), both from one read of the file.
 * Return: 0, or -1 when unreadable.
 */
int pin_util_foll_counts(long long *acquired, long long *released);

/*
 * pin_util_foll_counts()'s acquired - released; LLONG_MIN when unreadable.
 * One read: on a busy machine use robust_pins_held() (robust_util.h).
 */
long long pin_util_foll_pins(void);

#endif /* _MMPROBE_PIN_UTIL_H */
