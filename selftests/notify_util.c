// SPDX-License-Identifier: GPL-2.0
/*
 * The mmu-notifier tracer from user space: see notify_util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify_util.h"

#define NOTIFY_READ_BUF	65536
#define NOTIFY_LINE_MAX	256

int notify_open(void)
{
	int fd = open(NOTIFY_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int notify_clear(int fd)
{
	return write(fd, "clear\n", 6) == 6 ? 0 : -errno;
}

/* "key=value" tokens separated by blanks; unknown keys are ignored. */
int notify_parse(const char *line, struct notify_event *ev)
{
	char buf[NOTIFY_LINE_MAX], *tok, *save, *val;

	memset(ev, 0, sizeof(*ev));
	if (strlen(line) >= sizeof(buf))
		return -EPROTO;
	strcpy(buf, line);
	for (tok = strtok_r(buf, "\n ", &save); tok; tok = strtok_r(NULL, "\n ", &save)) {
		val = strchr(tok, '=');
		if (!val)
			return -EPROTO;
		*val++ = '\0';
		if (!strcmp(tok, "seq"))
			ev->seq = strtoull(val, NULL, 0);
		else if (!strcmp(tok, "cb"))
			snprintf(ev->cb, sizeof(ev->cb), "%s", val);
		else if (!strcmp(tok, "event"))
			snprintf(ev->event, sizeof(ev->event), "%s", val);
		else if (!strcmp(tok, "start"))
			ev->start = strtoull(val, NULL, 0);
		else if (!strcmp(tok, "end"))
			ev->end = strtoull(val, NULL, 0);
		else if (!strcmp(tok, "blockable"))
			ev->blockable = atoi(val);
		else if (!strcmp(tok, "owner"))
			ev->owner = strcmp(val, "0") != 0;
		else if (!strcmp(tok, "pid"))
			ev->pid = atoi(val);
		else if (!strcmp(tok, "count"))
			ev->count = strtoull(val, NULL, 0);
	}
	return ev->seq && ev->cb[0] ? 0 : -EPROTO;
}

int notify_log_reserve(struct notify_log *log, size_t cap)
{
	struct notify_event *grown;

	if (cap <= log->cap)
		return 0;
	grown = realloc(log->ev, cap * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	memset(grown + log->cap, 0, (cap - log->cap) * sizeof(*grown));
	log->ev = grown;
	log->cap = cap;
	return 0;
}

static int notify_append(struct notify_log *log, const struct notify_event *ev)
{
	int ret;

	if (log->nr == log->cap) {
		ret = notify_log_reserve(log, log->cap ? 2 * log->cap : 1024);
		if (ret)
			return ret;
	}
	log->ev[log->nr++] = *ev;
	if (!strcmp(ev->cb, "lost"))
		log->lost += ev->count;
	return 0;
}

int notify_read(int fd, struct notify_log *log)
{
	static char buf[NOTIFY_READ_BUF + NOTIFY_LINE_MAX];
	static bool touched;
	size_t have = 0, before = log->nr;
	struct notify_event ev;
	char *line, *nl;
	ssize_t n;
	int ret;

	/* Fault the buffer in before the tracer's records are copied into it. */
	if (!touched) {
		memset(buf, 1, sizeof(buf));
		touched = true;
	}
	for (;;) {
		n = read(fd, buf + have, NOTIFY_READ_BUF);
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		have += n;
		line = buf;
		while ((nl = memchr(line, '\n', buf + have - line))) {
			*nl = '\0';
			ret = notify_parse(line, &ev);
			if (!ret)
				ret = notify_append(log, &ev);
			if (ret)
				return ret;
			line = nl + 1;
		}
		have = buf + have - line;
		if (have >= NOTIFY_LINE_MAX)
			return -EPROTO;
		memmove(buf, line, have);
	}
	/* The tracer never ends a read inside a line it has no more of. */
	return have ? -EPROTO : (int)(log->nr - before);
}

void notify_log_free(struct notify_log *log)
{
	free(log->ev);
	memset(log, 0, sizeof(*log));
}

bool notify_overlaps(const struct notify_event *ev, uint64_t start, uint64_t end)
{
	return ev->start < end && start < ev->end;
}

static bool notify_match(const struct notify_event *ev, const char *cb,
			 const char *event, uint64_t start, uint64_t end)
{
	if (cb && !strcmp(cb, NOTIFY_CB_TLB)) {
		if (strcmp(ev->cb, "arch_invalidate_secondary_tlbs") &&
		    strcmp(ev->cb, "invalidate_range"))
			return false;
	} else if (cb && strcmp(ev->cb, cb)) {
		return false;
	}
	if (event && strcmp(ev->event, event))
		return false;
	return (!start && !end) || notify_overlaps(ev, start, end);
}

size_t notify_count(const struct notify_log *log, const char *cb,
		    const char *event, uint64_t start, uint64_t end)
{
	size_t i, n = 0;

	for (i = 0; i < log->nr; i++)
		n += notify_match(&log->ev[i], cb, event, start, end);
	return n;
}

const struct notify_event *notify_find(const struct notify_log *log, size_t from,
				       const char *cb, const char *event,
				       uint64_t start, uint64_t end)
{
	size_t i;

	for (i = from; i < log->nr; i++)
		if (notify_match(&log->ev[i], cb, event, start, end))
			return &log->ev[i];
	return NULL;
}

void notify_dump(const struct notify_log *log, uint64_t start, uint64_t end)
{
	const struct notify_event *ev;
	size_t i;

	for (i = 0; i < log->nr; i++) {
		ev = &log->ev[i];
		if (end && strcmp(ev->cb, "lost") && !notify_overlaps(ev, start, end))
			continue;
		if (!strcmp(ev->cb, "lost"))
			fprintf(stderr, "# notify: seq=%llu cb=lost count=%llu\n",
				(unsigned long long)ev->seq, (unsigned long long)ev->count);
		else
			fprintf(stderr,
				"# notify: seq=%llu cb=%s event=%s start=%#llx end=%#llx blockable=%d pid=%d\n",
				(unsigned long long)ev->seq, ev->cb, ev->event,
				(unsigned long long)ev->start, (unsigned long long)ev->end,
				ev->blockable, ev->pid);
	}
}
