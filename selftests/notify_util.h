/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mmu-notifier tracer, /sys/kernel/debug/mmprobe/notify, from user space:
 * open it (which traces the caller's mm until the fd is closed), read what it
 * recorded into an array of events, and look events up by callback, event
 * and address range. Documentation/notify.rst has the format.
 *
 *	int fd = notify_open();
 *	struct notify_log log = { 0 };
 *
 *	notify_clear(fd);
 *	... the operation under test ...
 *	notify_read(fd, &log);
 *	n = notify_count(&log, "invalidate_range_start", "clear", addr, addr + len);
 *	notify_log_free(&log);
 *	close(fd);
 *
 * Reading consumes. The tracer sees the reader too: the first touch of a
 * heap page that notify_read() grows into is recorded like any other fault,
 * so match events by address range, not by position.
 */
#ifndef _MMPROBE_NOTIFY_UTIL_H
#define _MMPROBE_NOTIFY_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTIFY_PATH	"/sys/kernel/debug/mmprobe/notify"

/*
 * A cb name that matches the secondary-TLB callback under either of its
 * names: invalidate_range (before 6.6), arch_invalidate_secondary_tlbs.
 */
#define NOTIFY_CB_TLB	"tlb"

/* One line of the tracer. Strings are empty, numbers 0, where absent. */
struct notify_event {
	uint64_t seq;
	char cb[40];		/* invalidate_range_start, ..., lost */
	char event[20];		/* clear, unmap, ...; "none" without a range */
	uint64_t start;
	uint64_t end;
	int blockable;
	int owner;		/* an owner was set (migrate, exclusive) */
	int pid;
	uint64_t count;		/* cb=lost: callbacks lost from seq on */
};

struct notify_log {
	struct notify_event *ev;
	size_t nr;
	size_t cap;
	uint64_t lost;		/* sum of the "lost" lines' counts */
};

/* Open the tracer for this process. Returns the fd, or -errno. */
int notify_open(void);

/* Discard what was recorded and not read yet. 0 or -errno. */
int notify_clear(int fd);

/*
 * Read everything recorded so far and append it to log. Returns the number
 * of events appended, or -errno (-EPROTO for a line that does not parse).
 */
int notify_read(int fd, struct notify_log *log);

/* Parse one line (with or without its newline). 0, or -EPROTO. */
int notify_parse(const char *line, struct notify_event *ev);

/* Make room for cap events up front (and touch it), so reads do not grow it. */
int notify_log_reserve(struct notify_log *log, size_t cap);

void notify_log_free(struct notify_log *log);

/* Does the event's range intersect [start, end)? */
bool notify_overlaps(const struct notify_event *ev, uint64_t start, uint64_t end);

/*
 * Events of callback cb (NULL: any) and event kind (NULL: any) whose range
 * intersects [start, end), any range when both are 0: the count, and the
 * first at index >= from (NULL when none).
 */
size_t notify_count(const struct notify_log *log, const char *cb,
		    const char *event, uint64_t start, uint64_t end);
const struct notify_event *notify_find(const struct notify_log *log, size_t from,
				       const char *cb, const char *event,
				       uint64_t start, uint64_t end);

/* Print the log (events intersecting [start, end), or all when end is 0). */
void notify_dump(const struct notify_log *log, uint64_t start, uint64_t end);

#endif /* _MMPROBE_NOTIFY_UTIL_H */
