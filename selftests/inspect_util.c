// SPDX-License-Identifier: GPL-2.0
/*
 * inspect_util: read /sys/kernel/debug/mmprobe/inspect from a test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inspect_util.h"
#include "mmprobe_util.h"

static const char * const inspect_levels[] = {
	[INSPECT_LEVEL_PTE] = "pte",
	[INSPECT_LEVEL_PMD] = "pmd",
	[INSPECT_LEVEL_PUD] = "pud",
};

const char *inspect_level_name(int level)
{
	if (level < 0 || level >= (int)ARRAY_SIZE(inspect_levels))
		return NULL;
	return inspect_levels[level];
}

static int inspect_level_parse(const char *name)
{
	int i;

	for (i = 0; i < (int)ARRAY_SIZE(inspect_levels); i++)
		if (!strcmp(name, inspect_levels[i]))
			return i;
	return -1;
}

bool inspect_available(void)
{
	return !access(INSPECT_PATH, R_OK | W_OK);
}

static unsigned long inspect_level_size(int level)
{
	long page = sysconf(_SC_PAGESIZE);

	switch (level) {
	case INSPECT_LEVEL_PMD:
		return page * (page / 8);
	case INSPECT_LEVEL_PUD:
		return page * (page / 8) * (page / 8);
	default:
		return page;
	}
}

static void inspect_entry_clear(struct inspect_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->pfn = -1;
	e->write = -1;
	e->dirty = -1;
	e->young = -1;
	e->cont = -1;
	e->soft_dirty = -1;
	e->uffd_wp = -1;
	e->order = -1;
	e->refcount = -1;
	e->mapcount = -1;
	e->entire_mapcount = -1;
	e->folio_mapcount = -1;
	e->pinned = -1;
	e->exclusive = -1;
	e->node = -1;
	e->double_map = -1;
	e->whole_folio = -1;
	e->swap_type = -1;
	e->swap_offset = -1;
	e->poisoned = -1;
	e->guard = -1;
	strcpy(e->kind, "none");
}

/* key=value into the matching field; unknown keys are skipped (added later). */
static void inspect_entry_set(struct inspect_entry *e, const char *key, const char *val)
{
	static const struct {
		const char *key;
		size_t off;
	} ints[] = {
#define F(k, f) { k, offsetof(struct inspect_entry, f) }
		F("write", write), F("dirty", dirty), F("young", young), F("cont", cont),
		F("soft_dirty", soft_dirty), F("uffd_wp", uffd_wp),
		F("order", order), F("refcount", refcount), F("mapcount", mapcount),
		F("entire_mapcount", entire_mapcount),
		F("folio_mapcount", folio_mapcount), F("pinned", pinned),
		F("exclusive", exclusive), F("node", node),
		F("double_map", double_map), F("type", swap_type),
		F("whole_folio", whole_folio),
		F("poisoned", poisoned), F("guard", guard),
#undef F
	};
	size_t i;

	if (!strcmp(key, "pfn")) {
		e->pfn = strtoll(val, NULL, 16);
		return;
	}
	if (!strcmp(key, "offset")) {
		e->swap_offset = strtoll(val, NULL, 10);
		return;
	}
	if (!strcmp(key, "mode")) {
		snprintf(e->mode, sizeof(e->mode), "%s", val);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(ints); i++) {
		if (strcmp(key, ints[i].key))
			continue;
		*(int *)((char *)e + ints[i].off) = !strcmp(val, "-") ? -1 :
						   (int)strtol(val, NULL, 10);
		return;
	}
}

int inspect_parse_line(const char *line, struct inspect_entry *e)
{
	char level[8], kind[24], word[64];
	const char *p;
	int n, consumed;

	inspect_entry_clear(e);
	if (sscanf(line, "0x%lx %7s %23s%n", &e->addr, level, kind, &consumed) != 3)
		return -EINVAL;
	e->level = inspect_level_parse(level);
	if (e->level < 0)
		return -EINVAL;
	e->size = inspect_level_size(e->level);
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	p = line + consumed;
	while (sscanf(p, " %63s%n", word, &n) == 1) {
		char *eq = strchr(word, '=');

		p += n;
		if (!eq)
			continue;
		*eq = '\0';
		inspect_entry_set(e, word, eq + 1);
		if (*p == '\n')
			break;
	}
	return 0;
}

ssize_t inspect_report(pid_t pid, unsigned long start, unsigned long end,
		       const char *opts, char **text)
{
	size_t cap = 1 << 16, len = 0;
	char cmd[160], *buf, *tmp;
	ssize_t n;
	int fd, err;

	*text = NULL;
	fd = open(INSPECT_PATH, O_RDWR);
	if (fd < 0)
		return -errno;
	snprintf(cmd, sizeof(cmd), "%d 0x%lx 0x%lx%s%s\n", (int)pid, start, end,
		 opts ? " " : "", opts ? opts : "");
	if (write(fd, cmd, strlen(cmd)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (cap - len < 4096) {
			tmp = realloc(buf, cap * 2);
			if (!tmp) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = tmp;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			err = -errno;
			free(buf);
			close(fd);
			return err;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	*text = buf;
	return len;
}

static const char * const inspect_kinds[] = {
	[MMPROBE_INSPECT_KIND_NONE] = "none",
	[MMPROBE_INSPECT_KIND_ANON] = "anon",
	[MMPROBE_INSPECT_KIND_FILE] = "file",
	[MMPROBE_INSPECT_KIND_SHMEM] = "shmem",
	[MMPROBE_INSPECT_KIND_ZERO] = "zero",
	[MMPROBE_INSPECT_KIND_HUGE_ZERO] = "huge_zero",
	[MMPROBE_INSPECT_KIND_HUGETLB] = "hugetlb",
	[MMPROBE_INSPECT_KIND_KSM] = "ksm",
	[MMPROBE_INSPECT_KIND_SWAP] = "swap",
	[MMPROBE_INSPECT_KIND_MIGRATION] = "migration",
	[MMPROBE_INSPECT_KIND_DEVICE_PRIVATE] = "device_private",
	[MMPROBE_INSPECT_KIND_DEVICE_EXCLUSIVE] = "device_exclusive",
	[MMPROBE_INSPECT_KIND_HWPOISON] = "hwpoison",
	[MMPROBE_INSPECT_KIND_MARKER] = "marker",
	[MMPROBE_INSPECT_KIND_PFNMAP] = "pfnmap",
};

const char *inspect_kind_name(unsigned long long kind)
{
	if (kind >= ARRAY_SIZE(inspect_kinds))
		return NULL;
	return inspect_kinds[kind];
}

static int inspect_flag(const struct mmprobe_inspect_entry *r, unsigned long long known,
			unsigned long long bit)
{
	if (known && !(r->flags & known))
		return -1;
	return !!(r->flags & bit);
}

int inspect_entry_from_binary(const struct mmprobe_inspect_entry *r,
			      struct inspect_entry *e)
{
	const char *kind = inspect_kind_name(r->kind);
	bool marker = r->kind == MMPROBE_INSPECT_KIND_MARKER;

	inspect_entry_clear(e);
	if ((r->flags & MMPROBE_INSPECT_CUT) || !kind || !r->level)
		return -EINVAL;
	e->addr = r->addr;
	e->level = r->level - MMPROBE_INSPECT_LEVEL_PTE;
	e->size = inspect_level_size(e->level);
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	if (r->flags & MMPROBE_INSPECT_HAS_PFN)
		e->pfn = r->pfn;
	e->write = inspect_flag(r, MMPROBE_INSPECT_PRESENT, MMPROBE_INSPECT_WRITE);
	e->dirty = inspect_flag(r, MMPROBE_INSPECT_PRESENT, MMPROBE_INSPECT_DIRTY);
	e->young = inspect_flag(r, MMPROBE_INSPECT_PRESENT, MMPROBE_INSPECT_YOUNG);
	e->cont = inspect_flag(r, MMPROBE_INSPECT_CONT_KNOWN, MMPROBE_INSPECT_CONT);
	/* as in the text: markers say uffd_wp of the marker, hwpoison neither */
	if (marker) {
		e->uffd_wp = inspect_flag(r, 0, MMPROBE_INSPECT_MARKER_UFFD_WP);
		e->poisoned = inspect_flag(r, 0, MMPROBE_INSPECT_MARKER_POISONED);
		e->guard = inspect_flag(r, 0, MMPROBE_INSPECT_MARKER_GUARD);
	} else if (r->kind != MMPROBE_INSPECT_KIND_HWPOISON) {
		e->soft_dirty = inspect_flag(r, 0, MMPROBE_INSPECT_SOFT_DIRTY);
		e->uffd_wp = inspect_flag(r, 0, MMPROBE_INSPECT_UFFD_WP);
	}
	if (r->flags & MMPROBE_INSPECT_MODE_READ)
		strcpy(e->mode, "read");
	else if (r->flags & MMPROBE_INSPECT_MODE_READ_EXCLUSIVE)
		strcpy(e->mode, "read_exclusive");
	else if (r->flags & MMPROBE_INSPECT_MODE_WRITE)
		strcpy(e->mode, "write");
	if (r->kind == MMPROBE_INSPECT_KIND_SWAP) {
		e->swap_type = r->swap_type;
		e->swap_offset = r->swap_offset;
		e->exclusive = inspect_flag(r, MMPROBE_INSPECT_EXCLUSIVE_KNOWN,
					    MMPROBE_INSPECT_EXCLUSIVE);
	}
	if (r->flags & MMPROBE_INSPECT_HAS_FOLIO) {
		e->order = r->order;
		e->refcount = r->refcount;
		e->mapcount = (int)(long long)r->mapcount;
		e->entire_mapcount = r->entire_mapcount;
		e->folio_mapcount = r->folio_mapcount;
		e->pinned = inspect_flag(r, 0, MMPROBE_INSPECT_PINNED);
		e->exclusive = inspect_flag(r, MMPROBE_INSPECT_EXCLUSIVE_KNOWN,
					    MMPROBE_INSPECT_EXCLUSIVE);
		e->node = r->node;
		e->double_map = inspect_flag(r, MMPROBE_INSPECT_DOUBLE_MAP_KNOWN,
					     MMPROBE_INSPECT_DOUBLE_MAP);
		e->whole_folio = inspect_flag(r, MMPROBE_INSPECT_WHOLE_FOLIO_KNOWN,
					      MMPROBE_INSPECT_WHOLE_FOLIO);
	}
	return 0;
}

int inspect_range_binary(pid_t pid, unsigned long start, unsigned long end,
			 struct mmprobe_inspect_entry *out, int max)
{
	const struct mmprobe_inspect_entry *r;
	ssize_t len;
	char *data;
	int i, nr;

	len = inspect_report(pid, start, end, "binary", &data);
	if (len < 0)
		return len;
	if (len % sizeof(*r)) {
		free(data);
		return -EPROTO;
	}
	r = (const void *)data;
	nr = 0;
	for (i = 0; i < len / (ssize_t)sizeof(*r); i++) {
		int level = r[i].level - MMPROBE_INSPECT_LEVEL_PTE;
		unsigned long size = inspect_level_size(level);
		unsigned long pages = size / inspect_level_size(INSPECT_LEVEL_PTE);
		unsigned long long j, runs = r[i].nr ? r[i].nr : 1;

		for (j = 0; j < runs; j++, nr++) {
			if (nr >= max)
				continue;
			out[nr] = r[i];
			if (r[i].flags & MMPROBE_INSPECT_CUT)
				continue;
			out[nr].nr = 1;
			out[nr].addr += j * size;
			if (r[i].flags & MMPROBE_INSPECT_HAS_PFN)
				out[nr].pfn += j * pages;
			if (r[i].kind == MMPROBE_INSPECT_KIND_SWAP)
				out[nr].swap_offset += j * pages;
		}
	}
	free(data);
	return nr;
}

int inspect_range(pid_t pid, unsigned long start, unsigned long end,
		  struct inspect_entry *out, int max)
{
	struct inspect_entry e;
	char *text, *line, *save = NULL;
	ssize_t ret;
	int nr = 0;

	ret = inspect_report(pid, start, end, NULL, &text);
	if (ret < 0)
		return ret;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (inspect_parse_line(line, &e))
			continue;
		if (nr < max)
			out[nr] = e;
		nr++;
	}
	free(text);
	return nr;
}

int inspect_one(const void *addr, struct inspect_entry *e)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long start = (unsigned long)addr & ~(page - 1);
	struct inspect_entry found[2];
	int nr;

	nr = inspect_range(0, start, start + page, found, 2);
	if (nr < 0)
		return nr;
	if (!nr) {
		inspect_entry_clear(e);
		return 0;
	}
	*e = found[0];
	return 1;
}

int inspect_summary(pid_t pid, unsigned long start, unsigned long end,
		    struct inspect_summary *s)
{
	char *text, *line, *save = NULL;
	ssize_t ret;

	memset(s, 0, sizeof(*s));
	s->entries = -1;
	s->pages = -1;
	ret = inspect_report(pid, start, end, "summary", &text);
	if (ret < 0)
		return ret;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct inspect_summary_row *r = &s->rows[s->nr];
		char level[8];

		if (sscanf(line, "total entries=%lld pages=%lld", &s->entries, &s->pages) == 2)
			continue;
		if (sscanf(line, "cut 0x%lx", &s->cut_addr) == 1) {
			s->cut = true;
			continue;
		}
		if (s->nr == INSPECT_SUMMARY_MAX_ROWS)
			continue;
		if (sscanf(line,
			   "%23s %7s entries=%lld pages=%lld exclusive=%lld shared=%lld pinned=%lld",
			   r->kind, level, &r->entries, &r->pages, &r->exclusive,
			   &r->shared, &r->pinned) == 7) {
			r->level = inspect_level_parse(level);
			s->nr++;
		}
	}
	free(text);
	return 0;
}

long long inspect_summary_get(const struct inspect_summary *s, const char *kind,
			      int level, const char *column)
{
	long long sum = 0;
	int i;

	for (i = 0; i < s->nr; i++) {
		const struct inspect_summary_row *r = &s->rows[i];

		if ((kind && strcmp(kind, r->kind)) || (level >= 0 && level != r->level))
			continue;
		if (!strcmp(column, "entries"))
			sum += r->entries;
		else if (!strcmp(column, "pages"))
			sum += r->pages;
		else if (!strcmp(column, "exclusive"))
			sum += r->exclusive;
		else if (!strcmp(column, "shared"))
			sum += r->shared;
		else if (!strcmp(column, "pinned"))
			sum += r->pinned;
	}
	return sum;
}

/* Does the module take a report of the last page below end? */
static bool inspect_end_ok(int fd, unsigned long end, unsigned long page)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "0 0x%lx 0x%lx", end - page, end);
	return write(fd, cmd, strlen(cmd)) > 0;
}

unsigned long inspect_task_size(void)
{
	/*
	 * The largest end the module accepts is the task size: 0x7ffffffff000
	 * on x86-64 with 4-level paging, 1 << 48 on arm64 with 48-bit VAs.
	 * Found by bisection, in pages, below 1 << 60.
	 */
	unsigned long page = sysconf(_SC_PAGESIZE), lo = page, hi = 1UL << 60, mid;
	static unsigned long size;
	int fd;

	if (size)
		return size;
	fd = open(INSPECT_PATH, O_RDWR);
	if (fd < 0 || !inspect_end_ok(fd, lo, page)) {
		if (fd >= 0)
			close(fd);
		return 0x7ffffffff000UL;
	}
	while (hi - lo > page) {
		mid = (lo + (hi - lo) / 2) & ~(page - 1);
		if (inspect_end_ok(fd, mid, page))
			lo = mid;
		else
			hi = mid;
	}
	close(fd);
	size = lo;
	return size;
}
