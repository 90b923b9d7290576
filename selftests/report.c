// SPDX-License-Identifier: GPL-2.0
/*
 * report: what does this kernel do? Run every mmprobe experiment once and
 * print one row per behaviour: what the kernel did, the evidence, and a
 * verdict against what this kernel is expected to do.
 *
 *   report [--format=text|tsv] [--only=PREFIX]... [--list]
 *
 * Not a test (no KTAP): scripts/mmprobe-report runs it on a test machine,
 * "make vm" after the suite, scripts/report.sh on several kernels side by
 * side from the tsv format. Documentation/report.rst describes every row.
 *
 * Verdicts: pass or fail against an expectation that does not come from the
 * row's own measurement, nor from the kernel's version number: what every
 * correct kernel does (data intact, a pinned page never shared, the THP
 * policy obeyed), or, where upstream changed its behaviour at some release,
 * either of the two upstream behaviours - the row then says which one this
 * kernel has and, as context only, whether that is what upstream did at
 * this kernel's version or a backport (behaviour.h). A fail that
 * Documentation/findings.rst explains as a kernel bug names it. observed
 * where no single answer is right; unavailable where a probe is not in this
 * build ("unavailable: <file> missing") or the machine lacks what the
 * experiment needs; error where the experiment itself could not run.
 *
 * The capability.* rows measure each behaviour that changed upstream
 * (behaviour.c); the version.* rows show what mmprobe was built with.
 *
 * Each row runs in a child process of its own, with a time limit, so that
 * its mappings, pins and notifier registrations end with it. The global
 * settings rows change are put back after every row and at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/mempolicy.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "behaviour.h"
#include "hmm_uapi.h"
#include "inspect_util.h"
#include "mmprobe_util.h"
#include "notify_util.h"
#include "pin_util.h"

#define ROW_TIMEOUT	60	/* seconds; rows take well under one under TCG */

#define KPF_ANON	12
#define KPF_HUGE	17

enum verdict {
	V_NONE = 0,
	V_PASS,
	V_FAIL,
	V_OBSERVED,
	V_UNAVAILABLE,
	V_ERROR,
	NR_VERDICTS
};

static const char *const verdict_names[NR_VERDICTS] = {
	[V_NONE]	= "error",
	[V_PASS]	= "pass",
	[V_FAIL]	= "fail",
	[V_OBSERVED]	= "observed",
	[V_UNAVAILABLE]	= "unavailable",
	[V_ERROR]	= "error",
};

/*
 * What a row found. It lives in a shared mapping: the row's child fills it
 * in, the parent prints it, even when the child was killed half way.
 */
struct result {
	enum verdict verdict;
	char value[256];
	char expected[768];
	char evidence[6144];
};

struct row {
	const char *key;
	const char *title;
	void (*run)(struct result *r);
};

static char version_text[4096];
static size_t pagesize;
static size_t pmdsize;

/* ------------------------------------------------------------------ */
/* Results */

static void vstrcat(char *buf, size_t size, const char *fmt, va_list ap)
{
	size_t len = strlen(buf);

	if (len + 1 < size)
		vsnprintf(buf + len, size - len, fmt, ap);
}

/* Fields of the tsv format hold no tab and no newline. */
static void tsv_clean(char *s)
{
	for (; *s; s++)
		if (*s == '\t' || *s == '\n')
			*s = ' ';
}

/* Set the value, what the kernel did, in a few words. */
static void value(struct result *r, const char *fmt, ...)
{
	va_list ap;

	r->value[0] = '\0';
	va_start(ap, fmt);
	vstrcat(r->value, sizeof(r->value), fmt, ap);
	va_end(ap);
}

/* Add one item of evidence; items are separated by "; ". */
static void evidence(struct result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->evidence[0])
		strncat(r->evidence, "; ", sizeof(r->evidence) - strlen(r->evidence) - 1);
	va_start(ap, fmt);
	vstrcat(r->evidence, sizeof(r->evidence), fmt, ap);
	va_end(ap);
}

/*
 * The verdict of a row with a right answer: pass when what was seen is what
 * was expected (both in the words of value()), fail otherwise.
 */
static void expect(struct result *r, const char *expected, const char *why)
{
	snprintf(r->expected, sizeof(r->expected), "%s (%s)", expected, why);
	r->verdict = strcmp(expected, r->value) ? V_FAIL : V_PASS;
}

/*
 * The running kernel's release against an upstream release ("6.13"): <0,
 * 0 or >0. For the context a row prints, never for what it expects.
 */
static int release_cmp(const char *since)
{
	static int major = -1, minor;
	int smaj = 0, smin = 0;
	struct utsname u;

	if (major < 0 && (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)) {
		major = 0;
		minor = 0;
	}
	if (sscanf(since, "%d.%d", &smaj, &smin) != 2)
		return 0;
	return major != smaj ? major - smaj : minor - smin;
}

/*
 * Where this kernel stands against upstream for a behaviour it was seen to
 * have (on: 1 or 0): "as upstream since 6.13", "newer than its version:
 * upstream since 6.13 (...), so a backport", ...
 */
static void upstream_context(char *buf, size_t size, const struct behaviour_info *b, int on)
{
	const char *when = b->exact ? "since" : "by";
	int cmp = release_cmp(b->since);

	if (on && cmp >= 0)
		snprintf(buf, size, "as upstream %s %s", when, b->since);
	else if (on)
		snprintf(buf, size, "newer than its version: upstream %s %s (\"%s\"), %s",
			 when, b->since, b->change, "so a backport");
	else if (cmp < 0)
		snprintf(buf, size, "as upstream before %s%s", b->since,
			 b->exact ? "" : " (where the change came is not pinned down)");
	else
		snprintf(buf, size,
			 "older than its version: upstream has had it %s %s (\"%s\"), so reverted or not taken",
			 when, b->since, b->change);
}

/*
 * The verdict of a row whose behaviour changed upstream: pass when the
 * kernel did either upstream behaviour (b->off or b->on, in the words of
 * value()), with the context of which; fail when it did neither.
 */
static void expect_either(struct result *r, enum behaviour_id id)
{
	const struct behaviour_info *b = &behaviour_info[id];
	char ctx[256] = "";

	if (!strcmp(r->value, b->on))
		upstream_context(ctx, sizeof(ctx), b, 1);
	else if (!strcmp(r->value, b->off))
		upstream_context(ctx, sizeof(ctx), b, 0);
	snprintf(r->expected, sizeof(r->expected), "%s or %s (%s)%s%s", b->off, b->on,
		 b->upstream, ctx[0] ? "; this kernel: " : "", ctx);
	r->verdict = ctx[0] ? V_PASS : V_FAIL;
}

static void unavailable(struct result *r, const char *fmt, ...)
{
	va_list ap;

	r->verdict = V_UNAVAILABLE;
	strcpy(r->value, "unavailable: ");
	va_start(ap, fmt);
	vstrcat(r->value, sizeof(r->value), fmt, ap);
	va_end(ap);
}

/* The experiment could not be done: say which step failed and why. */
static void error(struct result *r, const char *what)
{
	r->verdict = V_ERROR;
	snprintf(r->value, sizeof(r->value), "error: %s: %s", what, strerror(errno));
}

/* Is a probe's debugfs file in this build? If not, the row says so. */
static bool probe(struct result *r, const char *file)
{
	char path[128];

	snprintf(path, sizeof(path), MMPROBE_DIR "/%s", file);
	if (!access(path, F_OK))
		return true;
	unavailable(r, "%s missing", file);
	return false;
}

/*
 * A 0/1 line of "version" (THP usable, or what mmprobe was built with): -1
 * when this module has none.
 */
static int cap(const char *name)
{
	return util_kv_get(version_text, name);
}

/* ------------------------------------------------------------------ */
/* Ground truth without the module: vmstat, pagemap, kpageflags, smaps */

struct vmstat_snap {
	const char *const *names;
	long long val[8];
};

static void vmstat_take(struct vmstat_snap *s, const char *const *names)
{
	int i;

	s->names = names;
	for (i = 0; names[i]; i++)
		s->val[i] = util_vmstat(names[i]);
}

/* "name +delta" for each counter of the snapshot, as evidence. */
static void evidence_vmstat(struct result *r, const struct vmstat_snap *s)
{
	char buf[512] = "vmstat";
	int i;

	for (i = 0; s->names[i]; i++) {
		size_t len = strlen(buf);

		if (s->val[i] < 0)
			continue;
		snprintf(buf + len, sizeof(buf) - len, " %s %+lld", s->names[i],
			 util_vmstat(s->names[i]) - s->val[i]);
	}
	evidence(r, "%s", buf);
}

static long long vmstat_delta(const struct vmstat_snap *s, const char *name)
{
	int i;

	for (i = 0; s->names[i]; i++)
		if (!strcmp(s->names[i], name))
			return util_vmstat(name) - s->val[i];
	return 0;
}

static uint64_t pfn_of(const void *addr)
{
	return util_pagemap(addr) & PM_PFN_MASK;
}

static bool kpf(uint64_t flags, int bit)
{
	return flags & (1ULL << bit);
}

/* "pfn=0x... kpageflags=anon,thp" for one address, as evidence. */
static void evidence_page(struct result *r, const char *what, const void *addr)
{
	static const struct { int bit; const char *name; } names[] = {
		{ KPF_ANON, "anon" }, { KPF_THP, "thp" }, { KPF_HUGE, "huge" },
		{ KPF_ZERO_PAGE, "zero_page" },
	};
	uint64_t pm = util_pagemap(addr), flags;
	char buf[128] = "";
	unsigned int i;

	if (!(pm & PM_PRESENT)) {
		evidence(r, "%s: pagemap %s", what, pm & PM_SWAP ? "swap" : "not present");
		return;
	}
	flags = util_kpageflags(pm & PM_PFN_MASK);
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (kpf(flags, names[i].bit))
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
				 buf[0] ? "," : "", names[i].name);
	evidence(r, "%s: pfn=%#llx kpageflags=%s", what,
		 (unsigned long long)(pm & PM_PFN_MASK), buf[0] ? buf : "-");
}

/*
 * The inspect line of the entry that maps addr, as evidence ("what: inspect
 * pte anon pfn=..."), parsed into *e. Returns 1 when an entry maps addr, 0
 * when none does or inspect is not in this build (e->kind is then "none").
 */
static int evidence_inspect(struct result *r, const char *what, const void *addr,
			    struct inspect_entry *e)
{
	unsigned long start = (unsigned long)addr & ~(pagesize - 1);
	char *text, *line;
	ssize_t n;
	int ret = 0;

	memset(e, 0, sizeof(*e));
	strcpy(e->kind, "none");
	if (!inspect_available())
		return 0;
	n = inspect_report(0, start, start + pagesize, NULL, &text);
	if (n < 0) {
		evidence(r, "%s: inspect failed: %s", what, strerror(-n));
		return 0;
	}
	text[strcspn(text, "\n")] = '\0';
	if (!inspect_parse_line(text, e)) {
		/* Leave out the address: the row says which page it is. */
		line = strchr(text, ' ');
		evidence(r, "%s: inspect %s", what, line ? line + 1 : text);
		ret = 1;
	} else {
		evidence(r, "%s: inspect shows no entry", what);
	}
	free(text);
	return ret;
}

/*
 * The mmu notifier tracer on this process, opened (and emptied) right before
 * an operation: a file descriptor, or -1 when notify is not in this build.
 */
static int notify_begin(struct notify_log *log)
{
	int fd;

	memset(log, 0, sizeof(*log));
	if (access(NOTIFY_PATH, F_OK))
		return -1;
	fd = notify_open();
	if (fd < 0)
		return -1;
	notify_log_reserve(log, 1024);
	notify_clear(fd);
	return fd;
}

/*
 * After the operation: each invalidation of [start, start + len) as
 * evidence ("notify: clear 2048 kB at +0x0"), then close the tracer.
 */
static void evidence_notify(struct result *r, int fd, struct notify_log *log,
			    const void *start, size_t len)
{
	uint64_t s = (uintptr_t)start, n = 0;
	char buf[512] = "";
	size_t i;

	if (fd < 0)
		return;
	if (notify_read(fd, log) < 0) {
		evidence(r, "notify: reading the tracer failed");
		goto out;
	}
	for (i = 0; i < log->nr; i++) {
		const struct notify_event *ev = &log->ev[i];

		if (strcmp(ev->cb, "invalidate_range_start") || !notify_overlaps(ev, s, s + len))
			continue;
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s %llu kB at %c0x%llx",
			 n++ ? ", " : "", ev->event,
			 (unsigned long long)(ev->end - ev->start) >> 10, ev->start < s ? '-' : '+',
			 (unsigned long long)(ev->start < s ? s - ev->start : ev->start - s));
	}
	evidence(r, "notify: %s%s", n ? buf : "no invalidation",
		 log->lost ? " (events were lost)" : "");
out:
	notify_log_free(log);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* Rows: the capability lines of version */

/* A text line of "version" ("release=..."), "?" when missing. */
static const char *version_str(const char *key, char *buf, size_t size)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "%s=", key);
	for (p = version_text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, pat, strlen(pat))) {
			p += strlen(pat);
			snprintf(buf, size, "%.*s", (int)strcspn(p, "\n"), p);
			return buf;
		}
	}
	return "?";
}

static void row_release(struct result *r)
{
	char rel[128], ver[64];

	value(r, "%s", version_str("release", rel, sizeof(rel)));
	evidence(r, "mmprobe %s abi %lld", version_str("version", ver, sizeof(ver)),
		 util_kv_get(version_text, "abi"));
	r->verdict = V_OBSERVED;
}

/* "1 MiB" or "16 KiB" of a size of 1 KiB or more. */
static const char *size_str(size_t size, char *buf, size_t len)
{
	if (size >= (1UL << 20))
		snprintf(buf, len, "%zu MiB", size >> 20);
	else
		snprintf(buf, len, "%zu KiB", size >> 10);
	return buf;
}

/*
 * "version.machine": the architecture, its base page and PMD sizes, what the
 * rows below use; evidence: the anon mTHP sizes the kernel offers.
 */
static void row_machine(struct result *r)
{
	char page[24], pmd[24], ev[256] = "";
	size_t sizes[16];
	struct utsname u;
	int n, i;

	if (uname(&u)) {
		unavailable(r, "uname: %s", strerror(errno));
		return;
	}
	value(r, "%s, %s pages, PMD %s", u.machine, size_str(pagesize, page, sizeof(page)),
	      pmdsize ? size_str(pmdsize, pmd, sizeof(pmd)) : "size unknown");
	n = behaviour_mthp_sizes(sizes, ARRAY_SIZE(sizes));
	for (i = 0; i < n; i++)
		snprintf(ev + strlen(ev), sizeof(ev) - strlen(ev), "%s%zu", i ? "," : "",
			 sizes[i] >> 10);
	evidence(r, "sysconf(_SC_PAGESIZE) %zu, hpage_pmd_size %zu, anon mTHP sizes (kB): %s",
		 pagesize, pmdsize, n > 0 ? ev : "none");
	r->verdict = V_OBSERVED;
}

/* The row being run: row_cap() takes its capability from the key. */
static const struct row *cur_row;

/* "version.thp": the capability line "thp" of version. */
static void row_cap(struct result *r)
{
	const char *name = cur_row->key + strlen("version.");
	long long v = cap(name);

	if (v < 0) {
		unavailable(r, "no %s line in version", name);
		return;
	}
	value(r, "%lld", v);
	r->verdict = V_OBSERVED;
}

/* ------------------------------------------------------------------ */
/* Rows: the behaviours that changed upstream, measured (behaviour.c) */

/*
 * "capability.huge_zero_wp_thp": the experiment of behaviour.c, its result
 * as "1: THP allocated" or "0: PMD split", its evidence, and where that
 * puts this kernel against upstream. observed: either answer is a correct
 * kernel; the rows of the experiments below say more.
 */
static void row_capability(struct result *r)
{
	const char *name = cur_row->key + strlen("capability.");
	char ev[1024], ctx[256];
	unsigned int id;
	int v;

	for (id = 0; id < NR_BEHAVIOURS; id++)
		if (!strcmp(behaviour_info[id].name, name))
			break;
	if (id == NR_BEHAVIOURS) {
		value(r, "error: no experiment for %s", name);
		r->verdict = V_ERROR;
		return;
	}
	v = behaviour_measure(id, ev, sizeof(ev));
	evidence(r, "%s", ev[0] ? ev : "no evidence");
	if (v < 0) {
		unavailable(r, "not measured (see the evidence)");
		return;
	}
	value(r, "%d: %s", v, v ? behaviour_info[id].on : behaviour_info[id].off);
	upstream_context(ctx, sizeof(ctx), &behaviour_info[id], v);
	snprintf(r->expected, sizeof(r->expected), "%s or %s (%s); this kernel: %s",
		 behaviour_info[id].off, behaviour_info[id].on, behaviour_info[id].upstream, ctx);
	r->verdict = V_OBSERVED;
}

/* ------------------------------------------------------------------ */
/* Rows: the huge zero page */

static const char *const thp_counters[] = {
	"thp_fault_alloc", "thp_split_pmd", "thp_fault_fallback", NULL
};

/*
 * THP on madvise, the huge zero page allowed: an aligned MADV_HUGEPAGE
 * region whose read fault maps the huge zero page (checked through
 * kpageflags). NULL, with the row's value set, when it cannot be had.
 */
static char *huge_zero_map(struct result *r)
{
	uint64_t flags;
	char *mem;

	if (cap("thp") != 1 || !pmdsize) {
		unavailable(r, "no THP on this kernel");
		return NULL;
	}
	/* khugepaged must not collapse a split region back while it is looked at. */
	if (util_setting_set(THP_DIR "/enabled", "madvise") ||
	    util_setting_set(THP_DIR "/use_zero_page", "1") ||
	    util_setting_set(THP_DIR "/khugepaged/max_ptes_none", "0")) {
		error(r, "setting THP to madvise with the huge zero page");
		return NULL;
	}
	mem = util_mmap_aligned(pmdsize, pmdsize);
	if (!mem) {
		error(r, "mmap");
		return NULL;
	}
	if (madvise(mem, pmdsize, MADV_HUGEPAGE)) {
		error(r, "MADV_HUGEPAGE");
		return NULL;
	}
	if (*(volatile char *)mem != 0) {
		value(r, "error: a fresh anonymous mapping reads non-zero");
		r->verdict = V_ERROR;
		return NULL;
	}
	flags = util_kpageflags(pfn_of(mem));
	if (!pfn_of(mem) || !kpf(flags, KPF_ZERO_PAGE) || !kpf(flags, KPF_THP)) {
		evidence_page(r, "after the read fault", mem);
		value(r, "no huge zero page");
	}
	return mem;
}

/* Read fault: the huge zero page, one PMD shared by every such mapping. */
static void row_huge_zero_read(struct result *r)
{
	struct inspect_entry e;
	char *a, *b;

	a = huge_zero_map(r);
	if (!a)
		return;
	if (!r->value[0]) {
		b = huge_zero_map(r);
		if (!b)
			return;
		evidence_page(r, "first mapping", a);
		evidence_inspect(r, "first mapping", a, &e);
		evidence_page(r, "second mapping", b);
		evidence_page(r, "first mapping, last page", a + pmdsize - pagesize);
		evidence(r, "AnonHugePages %lld kB", util_smaps_kb(a, "AnonHugePages"));
		if (pfn_of(a) != pfn_of(b))
			value(r, "huge zero page, not shared");
		else if (pfn_of(a + pmdsize - pagesize) != pfn_of(a) + pmdsize / pagesize - 1)
			value(r, "huge zero page, not mapped by one PMD");
		else
			value(r, "huge zero PMD");
	}
	expect(r, "huge zero PMD", "thp=1, THP on madvise, use_zero_page=1");
}

/*
 * What a write to a huge zero mapping did: a new PMD-mapped THP, or a split
 * PMD with the written page new and the others the small zero page. The
 * data must be right either way.
 */
static void huge_zero_write(struct result *r, char *mem)
{
	char *other = mem + pmdsize - pagesize;
	struct inspect_entry e;
	struct notify_log log;
	struct vmstat_snap s;
	int nfd;
	uint64_t wflags, oflags;
	bool data_ok;

	nfd = notify_begin(&log);
	vmstat_take(&s, thp_counters);
	mem[pmdsize / 2] = 0x5a;
	evidence_vmstat(r, &s);
	evidence_notify(r, nfd, &log, mem, pmdsize);
	evidence_page(r, "written page", mem + pmdsize / 2);
	evidence_inspect(r, "written page", mem + pmdsize / 2, &e);
	evidence_page(r, "another page", other);
	evidence_inspect(r, "another page", other, &e);
	evidence(r, "AnonHugePages %lld kB", util_smaps_kb(mem, "AnonHugePages"));
	data_ok = mem[pmdsize / 2] == 0x5a && !mem[0] && !other[pagesize - 1];
	wflags = util_kpageflags(pfn_of(mem + pmdsize / 2));
	oflags = util_kpageflags(pfn_of(other));
	if (!data_ok)
		value(r, "wrong data after the write");
	else if (vmstat_delta(&s, "thp_fault_alloc") == 1 &&
		 !vmstat_delta(&s, "thp_split_pmd") && kpf(wflags, KPF_THP) &&
		 kpf(wflags, KPF_ANON) && kpf(oflags, KPF_THP) &&
		 pfn_of(other) - pfn_of(mem + pmdsize / 2) == pmdsize / 2 / pagesize - 1)
		value(r, "THP allocated");
	else if (vmstat_delta(&s, "thp_split_pmd") == 1 &&
		 !vmstat_delta(&s, "thp_fault_alloc") && !kpf(wflags, KPF_THP) &&
		 kpf(wflags, KPF_ANON) && kpf(oflags, KPF_ZERO_PAGE) && !kpf(oflags, KPF_THP))
		value(r, "PMD split");
	else
		value(r, "neither a THP nor a clean split");
}

/* Write fault on the huge zero PMD: upstream 6.13 allocates a THP, before it splits. */
static void row_huge_zero_write(struct result *r)
{
	char *mem = huge_zero_map(r);

	if (!mem || r->value[0])
		return;
	huge_zero_write(r, mem);
	expect_either(r, BEHAVIOUR_HUGE_ZERO_WP_THP);
}

/*
 * No THP may be used any more after the read fault: the region is
 * MADV_NOHUGEPAGE, the process PR_SET_THP_DISABLE (which it and its children
 * keep), or THP enabled=never for the system. The write must fall back to
 * the split on every kernel, with the right data. A kernel with upstream's
 * 6.13 "mm: allocate THP on hugezeropage wp-fault" allocates a THP anyway:
 * a kernel bug (Documentation/findings.rst), which the row names.
 */
enum huge_zero_forbid {
	FORBID_MADVISE,
	FORBID_PRCTL,
	FORBID_NEVER,
};

static void huge_zero_fallback(struct result *r, enum huge_zero_forbid how)
{
	char *mem = huge_zero_map(r);
	const char *what, *why;
	int ret;

	if (!mem || r->value[0])
		return;
	switch (how) {
	case FORBID_MADVISE:
		what = "MADV_NOHUGEPAGE";
		why = "MADV_NOHUGEPAGE forbids a THP here";
		ret = madvise(mem, pmdsize, MADV_NOHUGEPAGE);
		break;
	case FORBID_PRCTL:
		what = "prctl(PR_SET_THP_DISABLE)";
		why = "PR_SET_THP_DISABLE forbids a THP in this process";
		ret = prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
		break;
	default:
		what = "setting THP enabled=never";
		why = "THP enabled=never forbids a THP";
		ret = util_setting_set(THP_DIR "/enabled", "never");
		break;
	}
	if (ret) {
		errno = ret < -1 ? -ret : errno;
		error(r, what);
		return;
	}
	evidence(r, "%s", what);
	evidence_page(r, "before the write", mem);
	huge_zero_write(r, mem);
	expect(r, "PMD split", why);
	if (!strcmp(r->value, "THP allocated")) {
		size_t len = strlen(r->expected);

		snprintf(r->expected + len, sizeof(r->expected) - len,
			 "; a kernel bug: do_huge_zero_wp_pmd() asks no THP policy (%s)",
			 "Documentation/findings.rst, \"A write to the huge zero page ignores the THP policy\"");
	}
}

#define FALLBACK_ROW(name, how)						\
	static void row_huge_zero_##name(struct result *r)		\
	{								\
		huge_zero_fallback(r, how);				\
	}

FALLBACK_ROW(nohugepage, FORBID_MADVISE)
FALLBACK_ROW(thp_disable, FORBID_PRCTL)
FALLBACK_ROW(never, FORBID_NEVER)

/* ------------------------------------------------------------------ */
/* Rows: anon-exclusive pinning (pin) */

/* One anonymous base page (no THP), written: exclusive. NULL on error. */
static char *anon_page(struct result *r, int fill)
{
	char *mem;

	mem = mmap(NULL, pagesize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		error(r, "mmap");
		return NULL;
	}
	madvise(mem, pagesize, MADV_NOHUGEPAGE);
	memset(mem, fill, pagesize);
	return mem;
}

/*
 * A written PMD-aligned MADV_HUGEPAGE region backed by a THP (kpageflags
 * says so), or with !thp one anonymous page. NULL, with the row's value
 * set, when it cannot be had.
 */
static char *anon_memory(struct result *r, bool thp)
{
	char *mem;

	if (!thp)
		return anon_page(r, 0x11);
	if (cap("thp") != 1 || !pmdsize) {
		unavailable(r, "no THP on this kernel");
		return NULL;
	}
	util_setting_set(THP_DIR "/enabled", "madvise");
	mem = util_mmap_aligned(pmdsize, pmdsize);
	if (!mem || madvise(mem, pmdsize, MADV_HUGEPAGE)) {
		error(r, "mmap of a MADV_HUGEPAGE region");
		return NULL;
	}
	memset(mem, 0x11, pmdsize);
	if (!kpf(util_kpageflags(pfn_of(mem)), KPF_THP)) {
		evidence_page(r, "region", mem);
		unavailable(r, "no THP could be allocated");
		return NULL;
	}
	return mem;
}

/* A child that waits on a pipe, then optionally writes, then exits. */
struct child {
	pid_t pid;
	int go[2];	/* parent -> child: one byte per step */
	int done[2];	/* child -> parent: one 8-byte answer per step */
};

static bool child_step(struct child *c, uint64_t *answer)
{
	char b = 0;
	uint64_t a;

	if (write(c->go[1], &b, 1) != 1 || read(c->done[0], &a, sizeof(a)) != sizeof(a))
		return false;
	if (answer)
		*answer = a;
	return true;
}

static void child_reap(struct child *c)
{
	close(c->go[1]);
	close(c->done[0]);
	waitpid(c->pid, NULL, 0);
}

/*
 * Fork a child that, at each step the parent asks for, answers the pagemap
 * PFN of mem in its own address space and, on step 2, writes fill to it.
 */
static bool child_fork(struct result *r, struct child *c, char *mem, int fill)
{
	uint64_t a;
	char b;

	if (pipe(c->go) || pipe(c->done)) {
		error(r, "pipe");
		return false;
	}
	fflush(NULL);
	c->pid = fork();
	if (c->pid < 0) {
		error(r, "fork");
		return false;
	}
	if (!c->pid) {
		close(c->go[1]);
		close(c->done[0]);
		for (int step = 1; read(c->go[0], &b, 1) == 1; step++) {
			if (step == 2)
				memset(mem, fill, pagesize);
			a = pfn_of(mem) | (uint64_t)(unsigned char)mem[0] << 56;
			if (write(c->done[1], &a, sizeof(a)) != sizeof(a))
				break;
		}
		_exit(0);
	}
	close(c->go[0]);
	close(c->done[1]);
	return true;
}

/*
 * A new pin session holding one page at mem, pinned with pin_user_pages_fast
 * and flags: the session's fd, or -1 with the row's value set.
 */
static int pin_one(struct result *r, void *mem, uint64_t flags, uint64_t *handle)
{
	int fd = pin_util_open();
	long n;

	n = fd < 0 ? fd : pin_util_take(fd, mem, 1, MMPROBE_PIN_METHOD_PUP_FAST, flags, handle);
	if (n == 1)
		return fd;
	errno = n < 0 ? -n : EAGAIN;
	error(r, flags & MMPROBE_PIN_WRITE ? "R/W longterm pin_user_pages_fast" :
	      "R/O longterm pin_user_pages_fast");
	if (fd >= 0)
		close(fd);
	return -1;
}

/* The pin session's view of the first page of a take, as evidence. */
static void evidence_pin(struct result *r, const char *what, int fd, uint64_t handle,
			 struct mmprobe_pin_page *pg)
{
	int ret = pin_util_info(fd, handle, 0, 1, pg, false);

	if (ret < 0) {
		memset(pg, 0, sizeof(*pg));
		evidence(r, "%s: pin info failed: %s", what, strerror(-ret));
		return;
	}
	evidence(r,
		 "%s: pfn=%#llx level=%llu order=%llu refcount=%llu mapcount=%lld pinned=%llu exclusive=%lld",
		 what, (unsigned long long)pg->pfn,
		 (unsigned long long)pg->level, (unsigned long long)pg->order,
		 (unsigned long long)pg->refcount, (long long)pg->mapcount,
		 (unsigned long long)pg->pinned, (long long)pg->exclusive);
}

/*
 * R/O longterm pin of a page shared after fork: since PG_anon_exclusive
 * (5.19) the pin unshares it, so the pinning process gets a new exclusive
 * page that the pin and its mapping agree on, and the child's writes never
 * reach the pin (CVE-2020-29374, the vmsplice stale read).
 */
static void row_pin_ro_after_fork(struct result *r)
{
	struct mmprobe_pin_page pg;
	struct inspect_entry e;
	uint64_t before, after, handle, child = 0;
	char *mem, *seen;
	struct child c;
	int fd;

	if (!probe(r, "pin"))
		return;
	mem = anon_page(r, 0x11);
	seen = mem ? anon_page(r, 0) : NULL;	/* what the pin reads */
	if (!seen || !child_fork(r, &c, mem, 0x33))
		return;
	before = pfn_of(mem);
	evidence_inspect(r, "parent after fork", mem, &e);
	fd = pin_one(r, mem, MMPROBE_PIN_LONGTERM, &handle);
	if (fd < 0) {
		child_reap(&c);
		return;
	}
	after = pfn_of(mem);
	evidence_pin(r, "pinned page", fd, handle, &pg);
	evidence_inspect(r, "parent after the pin", mem, &e);
	mem[0] = 0x22;			/* the parent writes: the pin must see it */
	child_step(&c, NULL);
	child_step(&c, &child);		/* the child writes: the pin must not */
	pin_util_read(fd, handle, 0, 1, seen);
	evidence(r, "pfn shared at fork %#llx, parent's after the pin %#llx, child's %#llx",
		 (unsigned long long)before, (unsigned long long)after,
		 (unsigned long long)(child & PM_PFN_MASK));
	evidence(r, "the pin reads %#x after the parent wrote 0x22 and the child 0x33",
		 (unsigned char)seen[0]);
	child_reap(&c);
	close(fd);
	if (after != before && pg.pfn == after && pg.exclusive == 1 && seen[0] == 0x22)
		value(r, "unshared");
	else if (pg.pfn == before)
		value(r, "shared page pinned");
	else
		value(r, "pin and mapping disagree");
	expect(r, "unshared",
	       "a R/O longterm pin must not see the child's writes, CVE-2020-29374; upstream since 5.19");
}

/*
 * R/O longterm pin of the shared zero page in a private writable mapping:
 * from 6.2 ("mm/gup: reliable R/O long-term pinning in COW mappings") the
 * pin first replaces it by an exclusive anonymous page, so that a later
 * write by the process is seen through the pin; before, the zero page
 * itself is pinned and a write moves the mapping away from it.
 */
static void row_pin_ro_zero_page(struct result *r)
{
	struct mmprobe_pin_page pg;
	struct inspect_entry e;
	uint64_t before, handle;
	char *mem;
	int fd;

	if (!probe(r, "pin"))
		return;
	mem = mmap(NULL, pagesize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		error(r, "mmap");
		return;
	}
	madvise(mem, pagesize, MADV_NOHUGEPAGE);
	if (*(volatile char *)mem || !kpf(util_kpageflags(pfn_of(mem)), KPF_ZERO_PAGE)) {
		evidence_page(r, "after the read fault", mem);
		unavailable(r, "the read fault did not map the zero page");
		return;
	}
	before = pfn_of(mem);
	fd = pin_one(r, mem, MMPROBE_PIN_LONGTERM, &handle);
	if (fd < 0)
		return;
	evidence(r, "zero page pfn %#llx", (unsigned long long)before);
	evidence_pin(r, "pinned page", fd, handle, &pg);
	evidence_page(r, "mapped after the pin", mem);
	evidence_inspect(r, "mapped after the pin", mem, &e);
	if (pg.kind == MMPROBE_PIN_KIND_ZERO)
		value(r, "zero page pinned");
	else if (pg.kind == MMPROBE_PIN_KIND_ANON && pg.exclusive == 1 && pg.pfn == pfn_of(mem))
		value(r, "replaced by an exclusive page");
	else
		value(r, "pin and mapping disagree");
	close(fd);
	expect_either(r, BEHAVIOUR_LONGTERM_RO_UNSHARE);
}

/*
 * A pinned anonymous page (or THP) is copied into the child at fork, not
 * shared: a later COW would otherwise move the parent's mapping away from
 * what the device sees ("mm: do early cow for pinned pages during fork()",
 * 5.9; THP: "mm/huge_memory: ... fallback on pinned pages", 5.11).
 */
static void pin_copied_at_fork(struct result *r, bool thp)
{
	struct mmprobe_pin_page pg;
	struct inspect_entry e;
	uint64_t handle, child = 0;
	long long pins;
	struct child c;
	char *mem;
	int fd;

	if (!probe(r, "pin"))
		return;
	mem = anon_memory(r, thp);
	if (!mem)
		return;
	pins = pin_util_foll_pins();
	fd = pin_one(r, mem, MMPROBE_PIN_WRITE | MMPROBE_PIN_LONGTERM, &handle);
	if (fd < 0)
		return;
	evidence_pin(r, "pinned page", fd, handle, &pg);
	if (!child_fork(r, &c, mem, 0x33))
		return;
	child_step(&c, &child);		/* the child's page right after fork */
	evidence_page(r, "parent after fork", mem);
	evidence_inspect(r, "parent after fork", mem, &e);
	evidence(r, "child after fork: pfn=%#llx data=%#x",
		 (unsigned long long)(child & PM_PFN_MASK), (unsigned int)(child >> 56));
	child_reap(&c);
	close(fd);
	evidence(r, "nr_foll_pin_acquired - released %+lld after the pin was closed",
		 pin_util_foll_pins() - pins);
	if ((child & PM_PFN_MASK) == pg.pfn)
		value(r, "shared at fork");
	else if (pfn_of(mem) == pg.pfn && (child >> 56) == 0x11)
		value(r, "copied at fork");
	else
		value(r, "parent lost the pinned page");
	expect(r, "copied at fork", "a pinned anonymous page is never shared at fork");
}

static void row_pin_copied_at_fork(struct result *r)
{
	pin_copied_at_fork(r, false);
}

static void row_pin_copied_at_fork_thp(struct result *r)
{
	pin_copied_at_fork(r, true);
}

/* ------------------------------------------------------------------ */
/* Rows: NUMA migration (move_pages) */

static const char *const migrate_counters[] = {
	"pgmigrate_success", "pgmigrate_fail", "thp_migration_success",
	"thp_migration_split", NULL
};

/*
 * move_pages(2) of an exclusive anonymous page, or of a PMD-mapped THP, to
 * the other node: PG_anon_exclusive must survive (the migration entry is
 * writable or read_exclusive, and remove_migration_pte() restores it), and
 * a THP should move as a THP where the architecture can migrate one.
 */
/*
 * The node of the page at mem and another one to move it to with
 * move_pages(2): false, with the row's value set, when fewer than two
 * nodes are online or the query failed.
 */
static bool numa_nodes(struct result *r, void *mem, int *node, int *target)
{
	if (cap("nodes_online") < 2) {
		unavailable(r, "fewer than two NUMA nodes online");
		return false;
	}
	if (syscall(SYS_move_pages, 0, 1, &mem, NULL, node, 0) || *node < 0) {
		error(r, "move_pages (query)");
		return false;
	}
	*target = !*node;
	return true;
}

static void numa_exclusive(struct result *r, bool thp)
{
	struct inspect_entry before, after;
	int node = -1, target, status = -1;
	struct vmstat_snap s;
	char *mem;
	void *page;

	if (!probe(r, "inspect"))
		return;
	mem = anon_memory(r, thp);
	if (!mem || !numa_nodes(r, mem, &node, &target))
		return;
	page = mem;
	evidence_inspect(r, "before", mem, &before);
	if (thp && before.level != INSPECT_LEVEL_PMD) {
		unavailable(r, "no PMD-mapped THP could be allocated");
		return;
	}
	vmstat_take(&s, migrate_counters);
	if (syscall(SYS_move_pages, 0, 1, &page, &target, &status, MPOL_MF_MOVE)) {
		error(r, "move_pages");
		return;
	}
	evidence(r, "move_pages node %d -> %d: status %d", node, target, status);
	evidence_vmstat(r, &s);
	evidence_inspect(r, "after", mem, &after);
	if (mem[0] != 0x11 || (thp && mem[pmdsize - 1] != 0x11))
		value(r, "wrong data after migration");
	else if (status != target || after.node != target)
		value(r, "not migrated");
	else if (after.exclusive != 1)
		value(r, "exclusive lost");
	else if (thp && after.level != INSPECT_LEVEL_PMD)
		value(r, "exclusive kept, THP split");
	else
		value(r, "exclusive kept");
	if (cap("build.anon_exclusive") == 1)
		expect(r, "exclusive kept", thp ?
		       "migration keeps PG_anon_exclusive, and x86 migrates THPs whole" :
		       "migration keeps PG_anon_exclusive");
	else
		r->verdict = V_OBSERVED;	/* mmprobe cannot read the flag */
}

static void row_numa_exclusive(struct result *r)
{
	numa_exclusive(r, false);
}

static void row_numa_exclusive_thp(struct result *r)
{
	numa_exclusive(r, true);
}

/* ------------------------------------------------------------------ */
/* Rows: swap, shmem THP, hugetlb */

/* Is there an active swap device (a line after the header of /proc/swaps)? */
static bool have_swap(void)
{
	char buf[1024];

	return util_read_file("/proc/swaps", buf, sizeof(buf)) > 0 &&
	       strchr(buf, '\n') && strchr(buf, '\n')[1];
}

/*
 * MADV_PAGEOUT of an exclusive page and of a page that was shared after
 * fork (the child has exited, so it is mapped once but not exclusive): the
 * swap PTE keeps the exclusive bit of the first only, so that swap-in can
 * map it exclusive (writable) again without a copy.
 */
static void row_swap_exclusive(struct result *r)
{
	struct inspect_entry ex, sh, in;
	char *excl, *shared;
	cpu_set_t cpus;
	pid_t pid;

	if (!probe(r, "inspect"))
		return;
	if (!have_swap()) {
		unavailable(r, "no swap (/proc/swaps is empty)");
		return;
	}
	/*
	 * MADV_PAGEOUT skips folios still in a per-CPU LRU batch and drains
	 * only its own CPU's: fault them in on the CPU it will run on.
	 */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	excl = anon_page(r, 0x11);
	shared = excl ? anon_page(r, 0x22) : NULL;
	if (!shared)
		return;
	pid = fork();
	if (!pid)
		_exit(0);
	waitpid(pid, NULL, 0);
	memset(excl, 0x11, pagesize);	/* the COW after fork: exclusive again */
	if (madvise(excl, pagesize, MADV_PAGEOUT) || madvise(shared, pagesize, MADV_PAGEOUT)) {
		error(r, "MADV_PAGEOUT");
		return;
	}
	if (!(util_pagemap(excl) & PM_SWAP) || !(util_pagemap(shared) & PM_SWAP)) {
		evidence_page(r, "exclusive page", excl);
		evidence_page(r, "previously shared page", shared);
		unavailable(r, "MADV_PAGEOUT did not swap the pages out");
		return;
	}
	evidence_inspect(r, "exclusive page swapped out", excl, &ex);
	evidence_inspect(r, "previously shared page swapped out", shared, &sh);
	if (*(volatile char *)excl != 0x11 || *(volatile char *)shared != 0x22) {
		value(r, "wrong data after swap-in");
		r->verdict = V_FAIL;
		return;
	}
	evidence_inspect(r, "exclusive page after swap-in (read)", excl, &in);
	if (strcmp(ex.kind, "swap") || strcmp(sh.kind, "swap"))
		value(r, "no swap entries seen");
	else if (ex.exclusive == 1 && sh.exclusive == 0)
		value(r, "exclusive bit kept");
	else if (ex.exclusive == -1)
		value(r, "no exclusive bit");
	else
		value(r, "exclusive=%d for the exclusive page, %d for the shared one",
		      ex.exclusive, sh.exclusive);
	if (cap("build.swp_exclusive") == 1)
		expect(r, "exclusive bit kept",
		       "the kernel's headers have pte_swp_exclusive() (build.swp_exclusive=1): swap-out keeps the bit of an exclusive page only");
	else
		r->verdict = V_OBSERVED;	/* mmprobe cannot read the bit */
}

/*
 * A shmem THP mapped by a PMD in one mapping and by PTEs in another (not
 * PMD-aligned) of the same process. 6.1 sets PageDoubleMap then; later
 * kernels have no such flag and count the mappings in the folio.
 */
static void row_shmem_double_map(struct result *r)
{
	struct inspect_entry pmd, pte;
	char *a, *b, *hole;
	size_t i, sum = 0;
	int fd;

	if (!probe(r, "inspect"))
		return;
	if (cap("thp") != 1 || !pmdsize) {
		unavailable(r, "no THP on this kernel");
		return;
	}
	if (util_setting_set(THP_DIR "/shmem_enabled", "always")) {
		error(r, "setting shmem_enabled=always");
		return;
	}
	fd = memfd_create("mmprobe-report", 0);
	if (fd < 0 || ftruncate(fd, pmdsize)) {
		error(r, "memfd_create");
		return;
	}
	a = util_mmap_aligned(pmdsize, pmdsize);
	/* A PMD-aligned region, then the same file one page past alignment. */
	hole = util_mmap_aligned(2 * pmdsize, pmdsize);
	if (!a || !hole) {
		error(r, "mmap");
		return;
	}
	a = mmap(a, pmdsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	b = mmap(hole + pagesize, pmdsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fd, 0);
	if (a == MAP_FAILED || b == MAP_FAILED) {
		error(r, "mmap of the memfd");
		return;
	}
	memset(a, 0x5a, pmdsize);
	for (i = 0; i < pmdsize; i += pagesize)	/* every page by PTE */
		sum += *(volatile char *)(b + i);
	if (sum != 0x5a * (pmdsize / pagesize)) {
		value(r, "the two mappings disagree");
		r->verdict = V_FAIL;
		return;
	}
	evidence_inspect(r, "aligned mapping", a, &pmd);
	evidence_inspect(r, "misaligned mapping", b, &pte);
	evidence(r, "ShmemPmdMapped %lld kB, FilePmdMapped %lld kB",
		 util_smaps_kb(a, "ShmemPmdMapped"), util_smaps_kb(a, "FilePmdMapped"));
	if (strcmp(pmd.kind, "shmem") || pmd.level != INSPECT_LEVEL_PMD) {
		unavailable(r, "the shmem THP was not mapped by a PMD");
		return;
	}
	if (pte.level != INSPECT_LEVEL_PTE || pte.order != pmd.order || pte.pfn != pmd.pfn) {
		value(r, "the misaligned mapping does not map the same THP by PTE");
		r->verdict = V_FAIL;
		return;
	}
	if (cap("build.double_map") == 1) {
		value(r, "PMD+PTE mapped, double_map=%d", pmd.double_map);
		expect(r, "PMD+PTE mapped, double_map=1",
		       "where PageDoubleMap exists (build.double_map=1), a file THP mapped by PMD and PTE sets it");
		return;
	}
	value(r,
	      "PMD+PTE mapped, no PageDoubleMap; entire_mapcount=%d mapcount=%d folio_mapcount=%d",
	      pmd.entire_mapcount, pte.mapcount, pte.folio_mapcount);
	r->verdict = V_OBSERVED;
}

#define HUGETLB_1G_DIR	"/sys/kernel/mm/hugepages/hugepages-1048576kB"

/*
 * GUP of a range that starts and ends inside a 1 GiB hugetlb page and
 * crosses 2 MiB boundaries: every page returned must be head + index
 * ("mm/gup: handle hugetlb for no_page_table()", the 6.x hugetlb GUP
 * rework), with pin_user_pages and pin_user_pages_fast, with and without
 * FOLL_LONGTERM; and the pins balance when released.
 */
static void row_hugetlb_1g_gup(struct result *r)
{
	static const struct { int method; uint64_t flags; const char *name; } takes[] = {
		{ MMPROBE_PIN_METHOD_PUP, 0, "pin_user_pages" },
		{ MMPROBE_PIN_METHOD_PUP, MMPROBE_PIN_LONGTERM, "pin_user_pages longterm" },
		{ MMPROBE_PIN_METHOD_PUP_FAST, 0, "pin_user_pages_fast" },
		{ MMPROBE_PIN_METHOD_PUP_FAST, MMPROBE_PIN_LONGTERM,
		  "pin_user_pages_fast longterm" },
	};
	const size_t huge = 1UL << 30, first = (huge / 2 - 3 * pmdsize) / pagesize - 7;
	const size_t nr = 3 * pmdsize / pagesize + 19;
	struct mmprobe_pin_page *pg;
	char buf[64], now[64];
	unsigned int t, bad = 0;
	uint64_t head, handle;
	long long pins;
	char *mem;
	size_t i;
	long n;
	int fd;

	if (!probe(r, "pin"))
		return;
	if (cap("build.hugetlb") != 1 || access(HUGETLB_1G_DIR, F_OK)) {
		unavailable(r, "no 1 GiB hugetlb pages on this kernel or CPU");
		return;
	}
	if (util_read_file(HUGETLB_1G_DIR "/free_hugepages", buf, sizeof(buf)) > 0 &&
	    !atoi(buf) && !util_setting_get(HUGETLB_1G_DIR "/nr_hugepages", now, sizeof(now))) {
		snprintf(buf, sizeof(buf), "%d", atoi(now) + 1);
		util_setting_set(HUGETLB_1G_DIR "/nr_hugepages", buf);
	}
	mem = mmap(NULL, huge, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (30 << MAP_HUGE_SHIFT), -1, 0);
	if (mem == MAP_FAILED) {
		unavailable(r, "no free 1 GiB hugetlb page (boot with hugepagesz=1G hugepages=1)");
		return;
	}
	mem[0] = 1;
	head = pfn_of(mem);
	evidence_page(r, "1 GiB page", mem);
	pg = calloc(nr, sizeof(*pg));
	fd = pin_util_open();
	if (!pg || fd < 0) {
		errno = fd < 0 ? -fd : ENOMEM;
		error(r, "opening a pin session");
		return;
	}
	pins = pin_util_foll_pins();
	for (t = 0; t < ARRAY_SIZE(takes); t++) {
		n = pin_util_take(fd, mem + first * pagesize, nr, takes[t].method,
				  takes[t].flags, &handle);
		if (n != (long)nr || pin_util_info(fd, handle, 0, nr, pg, false) < 0) {
			evidence(r, "%s: took %ld of %zu pages", takes[t].name, n, nr);
			bad++;
			continue;
		}
		for (i = 0; i < nr; i++)
			if (pg[i].pfn != head + first + i ||
			    pfn_of(mem + (first + i) * pagesize) != pg[i].pfn)
				break;
		if (i < nr) {
			evidence(r, "%s: page %zu is pfn %#llx, not head + %zu = %#llx",
				 takes[t].name, i, (unsigned long long)pg[i].pfn, first + i,
				 (unsigned long long)(head + first + i));
			bad++;
		} else {
			evidence(r, "%s: %zu pages from head + %zu, each head + index",
				 takes[t].name, nr, first);
		}
		pin_util_unpin(fd, handle, 0, nr);
	}
	close(fd);
	evidence(r, "nr_foll_pin_acquired - released %+lld after unpinning",
		 pin_util_foll_pins() - pins);
	value(r, bad ? "wrong subpages" : "all subpages correct");
	expect(r, "all subpages correct", "GUP returns head + index of a hugetlb page");
}

/* ------------------------------------------------------------------ */
/* Rows: device migration (migrate) */

/*
 * migrate_vma of one page of each kind to a new system page: the entry
 * migrate_vma_setup() installed (writable for a writable exclusive page,
 * read_exclusive for a read-only exclusive one, read for a shared one), the
 * exclusive flag after finalize, and whether the PTE dirty bit reached the
 * folio ("mm/migrate_device.c: copy pte dirty bit to page", 6.0). And what
 * setup does with a PTE-mapped THP (migrate_split_large).
 */
enum migrate_case {
	MIGRATE_EXCLUSIVE,
	MIGRATE_MODE_RW,
	MIGRATE_MODE_RO,
	MIGRATE_MODE_SHARED,
	MIGRATE_DIRTY,
	MIGRATE_PTE_THP,
};

static const char *const migrate_modes[] = {
	"none", "read", "read_exclusive", "write",
};

static const char *const migrate_reasons[] = {
	"none", "hole", "zero", "not_present", "large", "pinned", "busy", "aborted",
	"nomem", "refused", "not_anon",
};

static const char *migrate_mode_name(uint64_t mode)
{
	return mode < ARRAY_SIZE(migrate_modes) ? migrate_modes[mode] : "?";
}

static const char *migrate_reason_name(uint64_t reason)
{
	return reason < ARRAY_SIZE(migrate_reasons) ? migrate_reasons[reason] : "?";
}

/* One moment of a page, as evidence: "before: present write ... pfn=0x.. node=0". */
static void evidence_migrate_pte(struct result *r, const char *when,
				 const struct mmprobe_migrate_pte *pte)
{
	static const char *const bits[] = {
		"present", "pmd", "migration", "swap", "write", "entry_exclusive", "dirty",
		"young", "soft_dirty", "uffd_wp", NULL, NULL, NULL, NULL, NULL, NULL,
		"anon", "exclusive", "folio_dirty", "locked", "pinned", "large", "zero",
	};
	char buf[256] = "";
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bits); i++)
		if (bits[i] && (pte->flags & (1ULL << i)))
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s ", bits[i]);
	evidence(r, "%s: %spfn=%#llx node=%lld refcount=%llu mapcount=%llu", when, buf,
		 (unsigned long long)pte->pfn, (long long)pte->node,
		 (unsigned long long)pte->refcount, (unsigned long long)pte->mapcount);
}

/*
 * Migrate [mem, mem + len) to the other node (the same one with a single
 * node: the pages still move) and report the first page into *pg and as
 * evidence. Returns false, with the row's value set, when the call failed.
 */
static bool migrate_range(struct result *r, char *mem, size_t len,
			  struct mmprobe_migrate_page *pg)
{
	struct mmprobe_migrate_args args = { 0 };
	int node = 0, fd;
	void *page = mem;

	if (!syscall(SYS_move_pages, 0, 1, &page, NULL, &node, 0) && node >= 0 &&
	    cap("nodes_online") >= 2)
		node = !node;
	args.start = (uintptr_t)mem;
	args.len = len;
	args.node = node;
	args.pages = (uintptr_t)pg;
	fd = open(MMPROBE_DIR "/migrate", O_RDWR);
	if (fd < 0 || ioctl(fd, MMPROBE_IOC_MIGRATE, &args)) {
		error(r, "MMPROBE_IOC_MIGRATE");
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	evidence(r,
		 "migrate to node %d: %llu of %zu pages frozen, %llu migrated; first page: mode=%s reason=%s",
		 node, (unsigned long long)args.nr_frozen, len / pagesize,
		 (unsigned long long)args.nr_migrated, migrate_mode_name(pg->mode),
		 migrate_reason_name(pg->reason));
	evidence_migrate_pte(r, "before", &pg->before);
	evidence_migrate_pte(r, "frozen", &pg->frozen);
	evidence_migrate_pte(r, "after", &pg->after);
	return true;
}

static void migrate_vma_row(struct result *r, enum migrate_case c)
{
	struct mmprobe_migrate_page *pg;
	size_t len = pagesize;
	struct child ch;
	char *mem;
	bool ok;

	if (!probe(r, "migrate"))
		return;
	mem = anon_memory(r, c == MIGRATE_PTE_THP);
	if (!mem)
		return;
	if (c == MIGRATE_PTE_THP) {
		/* One page of the THP unmapped: the rest is mapped by PTEs. */
		munmap(mem + pmdsize - pagesize, pagesize);
		len = pmdsize - pagesize;
	}
	if (c == MIGRATE_MODE_RO && mprotect(mem, pagesize, PROT_READ)) {
		error(r, "mprotect");
		return;
	}
	/* A child keeps the page shared until the migration is done. */
	if (c == MIGRATE_MODE_SHARED && !child_fork(r, &ch, mem, 0x33))
		return;
	pg = calloc(len / pagesize, sizeof(*pg));
	if (!pg) {
		error(r, "calloc");
		return;
	}
	ok = migrate_range(r, mem, len, pg);
	if (c == MIGRATE_MODE_SHARED)
		child_reap(&ch);
	if (!ok)
		return;
	if (mem[0] != 0x11 || mem[len - 1] != 0x11) {
		value(r, "wrong data after migration");
		r->verdict = V_FAIL;
		return;
	}
	switch (c) {
	case MIGRATE_PTE_THP:
		if (pg->result == MMPROBE_MIGRATE_MIGRATED)
			value(r, "split, pages migrated");
		else
			value(r, "skipped (%s)", migrate_reason_name(pg->reason));
		expect_either(r, BEHAVIOUR_MIGRATE_SPLIT_LARGE);
		return;
	case MIGRATE_EXCLUSIVE:
	case MIGRATE_DIRTY:
		if (pg->result != MMPROBE_MIGRATE_MIGRATED)
			value(r, "not migrated (%s)", migrate_reason_name(pg->reason));
		else if (c == MIGRATE_EXCLUSIVE)
			value(r, pg->after.flags & MMPROBE_MIGRATE_PAGE_EXCLUSIVE ?
			      "exclusive kept" : "exclusive lost");
		else if (!(pg->before.flags & MMPROBE_MIGRATE_PTE_DIRTY))
			value(r, "the PTE was not dirty before");
		else
			value(r, (pg->frozen.flags & MMPROBE_MIGRATE_PAGE_DIRTY) &&
			      (pg->after.flags & MMPROBE_MIGRATE_PAGE_DIRTY) ?
			      "dirty carried" : "dirty lost");
		if (c == MIGRATE_DIRTY)
			expect(r, "dirty carried",
			       "setup moves the PTE dirty bit to the folio, 6.0");
		else if (cap("build.anon_exclusive") == 1)
			expect(r, "exclusive kept",
			       "a writable migration entry keeps PG_anon_exclusive");
		else
			r->verdict = V_OBSERVED;
		return;
	default:
		value(r, "%s", migrate_mode_name(pg->mode));
		if (cap("build.anon_exclusive") != 1)
			r->verdict = V_OBSERVED;
		else if (c == MIGRATE_MODE_RW)
			expect(r, "write", "a writable PTE");
		else if (c == MIGRATE_MODE_RO)
			expect(r, "read_exclusive", "a read-only PTE of an exclusive anon page");
		else
			expect(r, "read", "a page shared with a child");
		return;
	}
}

#define MIGRATE_ROW(name, c)						\
	static void row_migrate_##name(struct result *r)		\
	{								\
		migrate_vma_row(r, c);					\
	}

MIGRATE_ROW(exclusive, MIGRATE_EXCLUSIVE)
MIGRATE_ROW(mode_rw, MIGRATE_MODE_RW)
MIGRATE_ROW(mode_ro, MIGRATE_MODE_RO)
MIGRATE_ROW(mode_shared, MIGRATE_MODE_SHARED)
MIGRATE_ROW(dirty, MIGRATE_DIRTY)
MIGRATE_ROW(pte_thp, MIGRATE_PTE_THP)

/* ------------------------------------------------------------------ */
/* Rows: multi-size THP */

#define KPF_COMPOUND_HEAD	15

/*
 * One anon mTHP, written 0x11: of the smallest anon size of 64 kB or more
 * (the largest below the PMD size when none is), the only size enabled
 * (behaviour_mthp_select(); the row puts the sizes back with
 * util_settings_restore()). NULL with the row's value set when the kernel
 * has no multi-size THP or gave no folio of the size.
 */
static char *mthp_memory(struct result *r, size_t *size)
{
	size_t sizes[16];
	uint64_t flags;
	char *mem;
	int n, i;

	n = behaviour_mthp_sizes(sizes, ARRAY_SIZE(sizes));
	if (n <= 0) {
		unavailable(r, n < 0 ? "no %s/hugepages-*kB: no multi-size THP" :
			    "no anon THP size below the PMD size in %s", THP_DIR);
		return NULL;
	}
	for (i = 0; i < n - 1 && sizes[i] < (64UL << 10); i++)
		;
	*size = sizes[i];
	util_setting_set(THP_DIR "/enabled", "madvise");
	if (behaviour_mthp_select(*size)) {
		error(r, "enabling one THP size alone");
		return NULL;
	}
	mem = util_mmap_aligned(*size, *size);
	if (!mem || madvise(mem, *size, MADV_HUGEPAGE)) {
		error(r, "mmap of a MADV_HUGEPAGE region");
		return NULL;
	}
	memset(mem, 0x11, *size);
	flags = util_kpageflags(pfn_of(mem));
	evidence(r, "%zu kB mTHP: first page pfn=%#llx kpageflags=%#llx", *size >> 10,
		 (unsigned long long)pfn_of(mem), (unsigned long long)flags);
	if (!kpf(flags, KPF_THP) || !kpf(flags, KPF_COMPOUND_HEAD) ||
	    pfn_of(mem + *size - pagesize) != pfn_of(mem) + *size / pagesize - 1) {
		unavailable(r, "no %zu kB folio could be allocated", *size >> 10);
		return NULL;
	}
	return mem;
}

/*
 * COW of an mTHP shared with a child after fork: the parent writes all of
 * it, and the child must still read what it had; the parent's pages are
 * new ones. Whether the write faults gave the parent base pages or a new
 * large folio is evidence (kpageflags).
 */
static void mthp_cow(struct result *r)
{
	uint64_t child = 0, before;
	struct child c;
	size_t size;
	char *mem;

	mem = mthp_memory(r, &size);
	if (!mem || !child_fork(r, &c, mem, 0x33))
		return;
	before = pfn_of(mem);
	memset(mem, 0x22, size);
	child_step(&c, &child);
	child_reap(&c);
	evidence(r, "parent after its write: pfn=%#llx kpageflags=%#llx (was %#llx)",
		 (unsigned long long)pfn_of(mem), (unsigned long long)util_kpageflags(pfn_of(mem)),
		 (unsigned long long)before);
	evidence(r, "child: pfn=%#llx data=%#x", (unsigned long long)(child & PM_PFN_MASK),
		 (unsigned int)(child >> 56));
	if ((child >> 56) != 0x11)
		value(r, "the child saw the parent's write");
	else if (mem[0] != 0x22 || mem[size - 1] != 0x22)
		value(r, "the parent lost its write");
	else if (pfn_of(mem) == (child & PM_PFN_MASK))
		value(r, "one page mapped by both");
	else
		value(r, "copied on write");
	expect(r, "copied on write", "COW gives the writer a page of its own");
}

/*
 * move_pages(2) of an mTHP to the other node, named by its first page:
 * migrate_pages() moves a large folio whole when it can allocate one of its
 * order there (kpageflags: one folio, contiguous, on the other node).
 */
static void mthp_numa(struct result *r)
{
	int node = -1, target, status = -1;
	uint64_t first;
	size_t size, i;
	void *page;
	char *mem;

	mem = mthp_memory(r, &size);
	if (!mem || !numa_nodes(r, mem, &node, &target))
		return;
	page = mem;
	if (syscall(SYS_move_pages, 0, 1, &page, &target, &status, MPOL_MF_MOVE)) {
		error(r, "move_pages");
		return;
	}
	first = pfn_of(mem);
	evidence(r, "move_pages node %d -> %d: status %d; after: pfn=%#llx kpageflags=%#llx",
		 node, target, status, (unsigned long long)first,
		 (unsigned long long)util_kpageflags(first));
	for (i = 0; i < size; i += pagesize)
		if (mem[i] != 0x11 || pfn_of(mem + i) != first + i / pagesize)
			break;
	if (i < size && mem[i] != 0x11)
		value(r, "wrong data after migration");
	else if (status != target)
		value(r, "not migrated");
	else if (i < size || !kpf(util_kpageflags(first), KPF_THP))
		value(r, "split");
	else
		value(r, "moved whole");
	expect(r, "moved whole", "x86 migrates a large anon folio whole");
}

/* migrate_vma of an mTHP: split and migrated, or skipped, as a PMD THP's. */
static void mthp_migrate_vma(struct result *r)
{
	struct mmprobe_migrate_page *pg;
	size_t size;
	char *mem;

	if (!probe(r, "migrate"))
		return;
	mem = mthp_memory(r, &size);
	if (!mem)
		return;
	pg = calloc(size / pagesize, sizeof(*pg));
	if (!pg) {
		error(r, "calloc");
		return;
	}
	if (!migrate_range(r, mem, size, pg))
		return;
	if (mem[0] != 0x11 || mem[size - 1] != 0x11) {
		value(r, "wrong data after migration");
		r->verdict = V_FAIL;
		return;
	}
	if (pg->result == MMPROBE_MIGRATE_MIGRATED)
		value(r, "split, pages migrated");
	else
		value(r, "skipped (%s)", migrate_reason_name(pg->reason));
	expect_either(r, BEHAVIOUR_MIGRATE_SPLIT_LARGE);
}

#define MTHP_ROW(name)							\
	static void row_mthp_##name(struct result *r)			\
	{								\
		mthp_##name(r);						\
		util_settings_restore();				\
	}

MTHP_ROW(cow)
MTHP_ROW(numa)
MTHP_ROW(migrate_vma)

/* ------------------------------------------------------------------ */
/* Rows: interfaces */

/*
 * "audit.all": mmprobe's audit of every process (Documentation/audit.rst),
 * after the experiments of the rows before it. Expected everywhere: no
 * violation.
 */
static void row_audit(struct result *r)
{
	struct util_audit_totals t;
	char buf[8192];
	int ret;

	if (!probe(r, "audit"))
		return;
	ret = util_audit("all", buf, sizeof(buf));
	if (ret || util_audit_totals(buf, &t)) {
		errno = ret ? -ret : EPROTO;
		error(r, "auditing all through " MMPROBE_DIR "/audit");
		return;
	}
	value(r, "%lld violations", t.violations);
	evidence(r, "%lld processes, %lld entries checked", t.processes, t.entries);
	if (t.violations) {
		buf[strcspn(buf, "\n")] = '\0';
		tsv_clean(buf);
		evidence(r, "first: %s", buf);
	}
	expect(r, "0 violations", "every invariant of Documentation/audit.rst, in every process");
}

/* Who provides /sys/kernel/debug/gup_test: the kernel, mmprobe, or nobody. */
static void row_gup_test(struct result *r)
{
	char buf[512], *p;

	if (!probe(r, "gup_test"))
		return;
	if (util_read_file(MMPROBE_DIR "/gup_test", buf, sizeof(buf)) < 0) {
		error(r, "reading " MMPROBE_DIR "/gup_test");
		return;
	}
	p = strstr(buf, "provider=");
	value(r, "%.*s", p ? (int)strcspn(p + 9, "\n ") : 1, p ? p + 9 : "?");
	while (*buf && buf[strlen(buf) - 1] == '\n')
		buf[strlen(buf) - 1] = '\0';
	tsv_clean(buf);
	evidence(r, "mmprobe/gup_test: %s", buf);
	evidence(r, "/sys/kernel/debug/gup_test %s",
		 access("/sys/kernel/debug/gup_test", F_OK) ? "missing" : "present");
	r->verdict = V_OBSERVED;
}

/* ------------------------------------------------------------------ */
/* Device-private memory, through mmprobe's mirror (Documentation/hmm.rst) */

#define HMM_DEV0	"/dev/hmm_dmirror0"
#define HMM_KPF_DIRTY	4

/*
 * The mirror's device, open, or -1 after saying why the row cannot run:
 * mmprobe's "hmm" says whether the kernel can have device-private memory.
 */
static int hmm_row_open(struct result *r)
{
	char buf[1024], *why;
	int fd;

	if (!probe(r, "hmm"))
		return -1;
	if (util_read_file(MMPROBE_DIR "/hmm", buf, sizeof(buf)) < 0) {
		error(r, "reading " MMPROBE_DIR "/hmm");
		return -1;
	}
	if (util_kv_get(buf, "device_private") != 1) {
		why = strstr(buf, "reason=");
		unavailable(r, "%.*s", why ? (int)strcspn(why + 7, "\n") : 7,
			    why ? why + 7 : "no reason");
		return -1;
	}
	fd = open(HMM_DEV0, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		error(r, "open " HMM_DEV0);
	return fd;
}

/* One written page of its own, moved to the device; NULL after an error. */
static char *hmm_row_migrated(struct result *r, int fd)
{
	struct hmm_dmirror_cmd cmd = { 0 };
	char *mem = util_mmap_small(pagesize, 0x5a), *copy = malloc(pagesize);

	if (!mem || !copy) {
		error(r, "mmap");
		free(copy);
		return NULL;
	}
	evidence_page(r, "before", mem);
	cmd.addr = (uintptr_t)mem;
	cmd.ptr = (uintptr_t)copy;
	cmd.npages = 1;
	if (ioctl(fd, HMM_DMIRROR_MIGRATE_TO_DEV, &cmd) || cmd.cpages != 1) {
		error(r, "HMM_DMIRROR_MIGRATE_TO_DEV");
		free(copy);
		return NULL;
	}
	free(copy);
	evidence_page(r, "on the device", mem);
	return mem;
}

static void row_hmm_dirty(struct result *r)
{
	struct inspect_entry e;
	uint64_t flags;
	char *mem;
	int fd;

	fd = hmm_row_open(r);
	if (fd < 0)
		return;
	mem = hmm_row_migrated(r, fd);
	if (!mem)
		goto out;
	/* A CPU read faults it back (->migrate_to_ram()). */
	if (((volatile char *)mem)[0] != 0x5a) {
		value(r, "wrong data after the round trip");
		r->verdict = V_FAIL;
		goto out;
	}
	if (inspect_one(mem, &e) != 1) {
		error(r, "inspect");
		goto out;
	}
	flags = util_kpageflags(pfn_of(mem));
	evidence(r, "back: %s pte dirty=%d write=%d exclusive=%d, folio dirty=%d", e.kind,
		 e.dirty, e.write, e.exclusive, kpf(flags, HMM_KPF_DIRTY));
	value(r, e.dirty == 1 || kpf(flags, HMM_KPF_DIRTY) ? "dirty carried" : "dirty lost");
	expect(r, "dirty carried",
	       "migrate_device moves the PTE dirty bit to the folio, 6.0");
	munmap(mem, pagesize);
out:
	close(fd);
}

static void row_hmm_gup(struct result *r)
{
	struct inspect_entry e = { .kind = "?" };
	uint64_t handle;
	char *mem;
	int fd, pfd;
	long got;

	fd = hmm_row_open(r);
	if (fd < 0)
		return;
	pfd = pin_util_open();
	if (pfd < 0) {
		errno = -pfd;
		error(r, "open pin");
		goto out;
	}
	mem = hmm_row_migrated(r, fd);
	if (!mem)
		goto out;
	got = pin_util_take(pfd, mem, 1, MMPROBE_PIN_METHOD_PUP,
			    MMPROBE_PIN_WRITE | MMPROBE_PIN_LONGTERM, &handle);
	evidence_page(r, "after the pin", mem);
	if (got == 1 && inspect_one(mem, &e) == 1 && !strcmp(e.kind, "anon"))
		value(r, "migrated back, pinned");
	else if (got < 0)
		value(r, "refused (%s)", strerror((int)-got));
	else
		value(r, "pinned %ld, entry %s", got, e.kind);
	pin_util_unpin_all(pfd);
	munmap(mem, pagesize);
	r->verdict = V_OBSERVED;
out:
	if (pfd >= 0)
		close(pfd);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* The table */

static const struct row rows[] = {
	{ "version.release", "Kernel release", row_release },
	{ "version.machine", "Architecture and page sizes", row_machine },
	{ "huge_zero.read_fault", "Huge zero page: read fault", row_huge_zero_read },
	{ "huge_zero.write_fault", "Huge zero page: write fault", row_huge_zero_write },
	{ "huge_zero.fallback_nohugepage", "Huge zero write after MADV_NOHUGEPAGE",
	  row_huge_zero_nohugepage },
	{ "huge_zero.fallback_thp_disable", "Huge zero write after PR_SET_THP_DISABLE",
	  row_huge_zero_thp_disable },
	{ "huge_zero.fallback_never", "Huge zero write after THP enabled=never",
	  row_huge_zero_never },
	{ "pin.ro_longterm_after_fork", "R/O longterm pin of a page shared by fork",
	  row_pin_ro_after_fork },
	{ "pin.ro_longterm_zero_page", "R/O longterm pin of the zero page",
	  row_pin_ro_zero_page },
	{ "pin.copied_at_fork", "Pinned base page at fork", row_pin_copied_at_fork },
	{ "pin.copied_at_fork_thp", "Pinned THP at fork", row_pin_copied_at_fork_thp },
	{ "migrate_vma.exclusive", "migrate_vma keeps PG_anon_exclusive",
	  row_migrate_exclusive },
	{ "migrate_vma.mode_exclusive_rw", "Migration entry: writable exclusive page",
	  row_migrate_mode_rw },
	{ "migrate_vma.mode_exclusive_ro", "Migration entry: read-only exclusive page",
	  row_migrate_mode_ro },
	{ "migrate_vma.mode_shared", "Migration entry: page shared by fork",
	  row_migrate_mode_shared },
	{ "migrate_vma.dirty", "migrate_vma carries the PTE dirty bit", row_migrate_dirty },
	{ "migrate_vma.pte_mapped_thp", "migrate_vma of a PTE-mapped THP", row_migrate_pte_thp },
	{ "numa.exclusive", "move_pages keeps PG_anon_exclusive", row_numa_exclusive },
	{ "numa.exclusive_thp", "move_pages of a THP keeps it exclusive",
	  row_numa_exclusive_thp },
	{ "mthp.cow", "COW of an mTHP after fork", row_mthp_cow },
	{ "mthp.numa", "move_pages of an mTHP moves it whole", row_mthp_numa },
	{ "mthp.migrate_vma", "migrate_vma of an mTHP", row_mthp_migrate_vma },
	{ "swap.exclusive", "Swap PTE keeps the exclusive bit", row_swap_exclusive },
	{ "shmem_thp.double_map", "Shmem THP mapped by PMD and PTE", row_shmem_double_map },
	{ "hugetlb_1g.gup_subpages", "GUP subpages of a 1 GiB hugetlb page",
	  row_hugetlb_1g_gup },
	{ "gup_test.provider", "Who provides debugfs gup_test", row_gup_test },
	{ "hmm.dirty_roundtrip", "Dirty page back from device-private memory", row_hmm_dirty },
	{ "hmm.gup_device_private", "Longterm pin of a device-private page", row_hmm_gup },
	{ "audit.all", "Audit of every process after the rows above", row_audit },
};

#define NR_STATIC_ROWS ARRAY_SIZE(rows)

/* What each line of version means, for the titles of its rows. */
static const struct { const char *name, *title; } cap_titles[] = {
	{ "thp", "THP usable" },
	{ "nodes_online", "NUMA nodes online" },
	{ "build.anon_exclusive", "built to read PG_anon_exclusive" },
	{ "build.swp_exclusive", "built to read swap PTEs' exclusive bit" },
	{ "build.double_map", "built to read PageDoubleMap" },
	{ "build.mn_change_pte", "built with the change_pte notifier" },
	{ "build.device_private", "built with device-private pages" },
	{ "build.numa", "built with NUMA" },
	{ "build.hugetlb", "built with hugetlb pages" },
};

static struct row *table;
static unsigned int nr_rows;

/*
 * The rows of this run: the release and the machine, one row per line of
 * version (whatever lines this module prints), one per behaviour measured,
 * then the experiments.
 */
static void table_build(void)
{
	unsigned int i, first;
	const char *p;
	char name[64];

	table = calloc(NR_STATIC_ROWS + NR_BEHAVIOURS + 64, sizeof(*table));
	if (!table)
		exit(2);
	for (first = 0; first < NR_STATIC_ROWS && !strncmp(rows[first].key, "version.", 8); first++)
		table[nr_rows++] = rows[first];
	for (p = version_text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		size_t len = strcspn(p, "=\n"), k;
		char *key, *title;

		if (p[len] != '=' || len >= sizeof(name) || nr_rows >= 64)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		if (!strcmp(name, "version") || !strcmp(name, "abi") || !strcmp(name, "release"))
			continue;
		for (k = 0; k < ARRAY_SIZE(cap_titles); k++)
			if (!strcmp(cap_titles[k].name, name))
				break;
		if (asprintf(&key, "version.%s", name) < 0 ||
		    asprintf(&title, "%s%s%s", name,
			     k < ARRAY_SIZE(cap_titles) ? ": " : "",
			     k < ARRAY_SIZE(cap_titles) ?
			     cap_titles[k].title : "") < 0)
			exit(2);
		table[nr_rows++] = (struct row){ key, title, row_cap };
	}
	for (i = 0; i < NR_BEHAVIOURS; i++) {
		char *key, *title;

		if (asprintf(&key, "capability.%s", behaviour_info[i].name) < 0 ||
		    asprintf(&title, "%s: %s", behaviour_info[i].name, behaviour_info[i].title) < 0)
			exit(2);
		table[nr_rows++] = (struct row){ key, title, row_capability };
	}
	for (i = first; i < NR_STATIC_ROWS; i++)
		table[nr_rows++] = rows[i];
}

/* ------------------------------------------------------------------ */
/* Settings: what rows may change, put back after every row and at exit */

static const char *const settings[] = {
	THP_DIR "/enabled",
	THP_DIR "/defrag",
	THP_DIR "/use_zero_page",
	THP_DIR "/khugepaged/max_ptes_none",
	THP_DIR "/shmem_enabled",
	"/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages",
	NULL,
};

static char settings_base[ARRAY_SIZE(settings)][256];

/*
 * Remember the current values. util_setting_set() with the same value also
 * arms the restore at exit, should the report itself be killed half way.
 */
static void settings_save(void)
{
	int i;

	for (i = 0; settings[i]; i++)
		if (util_setting_get(settings[i], settings_base[i], sizeof(settings_base[i])) ||
		    util_setting_set(settings[i], settings_base[i]))
			settings_base[i][0] = '\0';
}

/* After a row: write back whatever it changed, even if it was killed. */
static void settings_reset(void)
{
	char now[256];
	int i;

	for (i = 0; settings[i]; i++) {
		if (!settings_base[i][0] ||
		    util_setting_get(settings[i], now, sizeof(now)) ||
		    !strcmp(now, settings_base[i]))
			continue;
		util_write_file(settings[i], settings_base[i]);
	}
}

/* ------------------------------------------------------------------ */
/* Running and printing */

static void row_run(const struct row *row, struct result *r)
{
	int status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	cur_row = row;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		error(r, "fork");
		return;
	}
	if (!pid) {
		alarm(ROW_TIMEOUT);
		row->run(r);
		_exit(0);	/* no atexit: the parent restores the settings */
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	settings_reset();
	if (WIFSIGNALED(status)) {
		r->verdict = V_ERROR;
		if (WTERMSIG(status) == SIGALRM)
			snprintf(r->value, sizeof(r->value), "error: timed out after %d s",
				 ROW_TIMEOUT);
		else
			snprintf(r->value, sizeof(r->value), "error: killed by signal %d (%s)",
				 WTERMSIG(status), strsignal(WTERMSIG(status)));
	} else if (r->verdict == V_NONE) {
		r->verdict = V_ERROR;
		if (!r->value[0])
			strcpy(r->value, "error: the row decided nothing");
	}
}

/* The text format: a table as the rows finish, then the evidence. */
static void print_text_row(const struct row *row, const struct result *r)
{
	printf("%-12s %-54s %s\n", verdict_names[r->verdict], row->title, r->value);
}

static void print_text_evidence(const struct row *row, const struct result *r)
{
	const char *p = r->evidence;
	size_t len;

	if (!r->expected[0] && !r->evidence[0])
		return;
	printf("\n%s (%s): %s\n", row->key, verdict_names[r->verdict], r->value);
	if (r->expected[0])
		printf("    expected: %s\n", r->expected);
	while (*p) {
		len = strstr(p, "; ") ? (size_t)(strstr(p, "; ") - p) : strlen(p);
		printf("    %.*s\n", (int)len, p);
		p += len;
		if (*p)
			p += 2;
	}
}

static void print_tsv(const struct row *row, struct result *r)
{
	tsv_clean(r->value);
	tsv_clean(r->expected);
	tsv_clean(r->evidence);
	printf("#title\t%s\t%s\n", row->key, row->title);
	printf("%s\t%s\t%s\t%s%s%s%s\n", row->key, r->value, verdict_names[r->verdict],
	       r->expected[0] ? "expected: " : "", r->expected,
	       r->expected[0] && r->evidence[0] ? "; " : "", r->evidence);
}

static bool selected(const char *key, char **only, int nr_only)
{
	int i;

	if (!nr_only)
		return true;
	for (i = 0; i < nr_only; i++)
		if (!strncmp(key, only[i], strlen(only[i])))
			return true;
	return false;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--format=text|tsv] [--only=PREFIX]... [--list]\n"
		"  Runs every mmprobe experiment once; needs root and mmprobe loaded.\n"
		"  Exit: 0 every row passed or was observed/unavailable, 1 a row failed\n"
		"  or could not run, 2 the report could not run at all.\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "only", required_argument, NULL, 'o' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int counts[NR_VERDICTS] = { 0 }, nr_only = 0, opt;
	char *only[32], rel[128];
	bool tsv = false, list = false;
	struct result *r;
	unsigned int i;

	while ((opt = getopt_long(argc, argv, "f:o:lh", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (!strcmp(optarg, "tsv"))
				tsv = true;
			else if (strcmp(optarg, "text"))
				usage(argv[0]);
			break;
		case 'o':
			if (nr_only == 32)
				usage(argv[0]);
			only[nr_only++] = optarg;
			break;
		case 'l':
			list = true;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind < argc)
		usage(argv[0]);
	if (list) {
		/* The capability rows are those of the loaded module, if readable. */
		if (util_read_file(MMPROBE_DIR "/version", version_text, sizeof(version_text)) < 0)
			printf("version.<key>\tone row per capability line of version\n");
		table_build();
		for (i = 0; i < nr_rows; i++)
			printf("%s\t%s\n", table[i].key, table[i].title);
		return 0;
	}
	if (geteuid()) {
		fprintf(stderr, "report: needs root (debugfs, pagemap PFNs, settings)\n");
		return 2;
	}
	if (util_read_file(MMPROBE_DIR "/version", version_text, sizeof(version_text)) <= 0) {
		fprintf(stderr,
			"report: no %s/version: load mmprobe first (scripts/mmprobe-report does)\n",
			MMPROBE_DIR);
		return 2;
	}
	pagesize = getpagesize();
	pmdsize = util_pmd_size();
	table_build();
	r = mmap(NULL, nr_rows * sizeof(*r), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED) {
		perror("report: mmap");
		return 2;
	}
	settings_save();
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (tsv)
		printf("#report\tmmprobe behaviour report\n");
	else
		printf("mmprobe behaviour report: %s\n\n%-12s %-54s %s\n",
		       version_str("release", rel, sizeof(rel)), "verdict",
		       "behaviour", "this kernel");
	for (i = 0; i < nr_rows; i++) {
		if (!selected(table[i].key, only, nr_only))
			continue;
		row_run(&table[i], &r[i]);
		counts[r[i].verdict]++;
		if (tsv)
			print_tsv(&table[i], &r[i]);
		else
			print_text_row(&table[i], &r[i]);
	}
	if (!tsv) {
		printf("\nEvidence\n");
		for (i = 0; i < nr_rows; i++)
			if (selected(table[i].key, only, nr_only))
				print_text_evidence(&table[i], &r[i]);
	}
	printf("%s%d pass, %d fail, %d observed, %d unavailable, %d error\n",
	       tsv ? "#end\t" : "\n", counts[V_PASS], counts[V_FAIL],
	       counts[V_OBSERVED], counts[V_UNAVAILABLE], counts[V_ERROR] + counts[V_NONE]);
	util_settings_restore();
	return counts[V_FAIL] || counts[V_ERROR] ? 1 : 0;
}
