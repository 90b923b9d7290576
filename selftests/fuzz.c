// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz: malformed input to every mmprobe file and every ioctl, each answered
 * with the errno its documentation gives.
 *
 * Inputs: random bytes, over-long lines, token soup of huge, negative and
 * boundary numbers, mutations of valid commands, writes at offsets and split
 * over several iovecs (each segment is a write of its own), reads of 0 to 7
 * bytes at a time and at any offset, bad buffers (NULL, unmapped, PROT_NONE,
 * read-only, kernel addresses, buffers that end in a hole), unknown ioctl
 * numbers and garbage ioctl structures, and every command on closed,
 * O_PATH and foreign file descriptors.
 *
 * Each input has an oracle: a model of the file built from its
 * documentation (Documentation/debugfs.rst, inspect.rst, pin.rst,
 * gup_test.rst) and of what the VFS answers before the module is asked
 * (EBADF, ESPIPE, ENOTTY, ENODEV; Documentation/robustness.rst). Where the
 * documentation leaves the answer open (whitespace other than blanks and
 * newlines, a '+' sign), either the documented errno or success is accepted.
 * Successful inputs must do exactly what the model says (bytes read, pages
 * pinned), and the system-wide pin counters must agree with the model.
 *
 * The run is seeded and reproducible: the seed is printed first, and
 * MMPROBE_FUZZ_SEED=<seed> replays it; MMPROBE_FUZZ_INPUTS sets the number
 * of inputs (default 100000 in all). A failure prints the input. At the end
 * the module must still work and unload.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "kmod_util.h"
#include "mmprobe_uapi.h"
#include "mmprobe_util.h"
#include "robust_util.h"
#ifdef __has_include
#if __has_include("gup_test_uapi.h")
#include "gup_test_uapi.h"
#endif
#endif

#define FUZZ_DEFAULT_INPUTS	100000
#define FUZZ_TIMEOUT		600
#define FUZZ_SANDBOX_PAGES	48	/* 0-31 RW, 32-39 RO, 40-47 PROT_NONE */
#define FUZZ_RW_PAGES		32
#define FUZZ_RO_END		40
#define FUZZ_TEXT_MAX		(96 * 1024)
#define FUZZ_OUT_MIN		(256 * 1024)	/* and the whole sandbox: READs fit */
#define FUZZ_KERNEL_ADDR	0xffffffff81000000ULL
/* The largest user address of x86-64 with 5-level paging. */
#define FUZZ_TASK_SIZE_MAX	0x00fffffffffff000ULL
/* x86-64's with 4-level tables: an odd input; util_task_top() is this task's */
#define FUZZ_TASK_SIZE_4L	0x00007ffffffff000ULL

/* A set of errnos (all below 128), as the bits of an __uint128_t. */
#define FE(e)			((__uint128_t)1 << (e))

/* What an input may lead to. */
struct fuzz_expect {
	__uint128_t errs;	/* errnos the documentation allows */
	bool ok;		/* success is allowed */
	long long ret;		/* then the return value, or -1: any */
};

/* Buffers a pointer argument is taken from. */
enum fuzz_ptr {
	FUZZ_PTR_OK,
	FUZZ_PTR_NULL,
	FUZZ_PTR_UNMAPPED,
	FUZZ_PTR_NONE,		/* PROT_NONE */
	FUZZ_PTR_RO,		/* readable, not writable */
	FUZZ_PTR_KERNEL,
	FUZZ_PTR_STRADDLE,	/* readable bytes, then PROT_NONE */
	FUZZ_NR_PTRS,
};

/* The last inspect command the oracle parsed. */
struct fuzz_inspect_cmd {
	long long pid;
	unsigned long long start, end, max_lines;
};

struct fuzz {
	uint64_t seed;
	uint64_t rng;
	unsigned long inputs;
	unsigned long rejected;
	unsigned long accepted;
	size_t ps;
	char *sandbox;		/* FUZZ_SANDBOX_PAGES, a hole on each side */
	char *ro;		/* one read-only page */
	char *none;		/* one PROT_NONE page, after ro */
	char *hole;		/* an address nothing can map (below mmap_min_addr) */
	uint64_t task_size;	/* util_task_top() less a page, as x86-64's TASK_SIZE */
	char *buf;		/* FUZZ_TEXT_MAX bytes of input / output */
	char *out;		/* out_len bytes: the sandbox, FUZZ_OUT_MIN at least */
	size_t out_len;
	char *version;		/* the version file's content */
	size_t version_len;
	long long pins;		/* pins the model says mmprobe holds */
	long long pins_base;	/* pins held by others when we started */
	struct fuzz_inspect_cmd cmd;
	char what[160];		/* the current input, for failure messages */
	size_t len;		/* and its bytes, in buf */
};

/* Totals over the tests, which the harness runs in child processes. */
static unsigned long *fuzz_totals;

static uint64_t fuzz_rand(struct fuzz *f)
{
	return robust_rand(&f->rng);
}

static uint64_t fuzz_below(struct fuzz *f, uint64_t n)
{
	return n ? fuzz_rand(f) % n : 0;
}

static bool fuzz_chance(struct fuzz *f, unsigned int percent)
{
	return fuzz_below(f, 100) < percent;
}

static unsigned long fuzz_quota(unsigned int percent)
{
	const char *env = getenv("MMPROBE_FUZZ_INPUTS");
	unsigned long total = env ? strtoul(env, NULL, 0) : FUZZ_DEFAULT_INPUTS;

	return total * percent / 100;
}

/* The seed of the run, chosen once before the tests fork. */
static uint64_t fuzz_the_seed;

/* An address of the sandbox, or near it, or anywhere. */
static uint64_t fuzz_addr(struct fuzz *f)
{
	static const uint64_t odd[] = {
		0, 1, 0x1000, FUZZ_TASK_SIZE_4L, FUZZ_TASK_SIZE_4L + 0x1000,
		FUZZ_TASK_SIZE_MAX, FUZZ_KERNEL_ADDR, ~0ULL, ~0ULL - 0xfff,
		0x8000000000000000ULL,
	};

	switch (fuzz_below(f, 8)) {
	case 0:
		return odd[fuzz_below(f, ARRAY_SIZE(odd))];
	case 1:
		return fuzz_rand(f) & ~0xfffULL;
	case 2:
		return (uintptr_t)f->sandbox + fuzz_below(f, 64 * f->ps);	/* unaligned */
	default:
		return (uintptr_t)f->sandbox +
		       ((int64_t)fuzz_below(f, FUZZ_SANDBOX_PAGES + 4) - 2) * f->ps;
	}
}

/* A count: small, at a boundary, or huge. */
static uint64_t fuzz_count(struct fuzz *f)
{
	static const uint64_t odd[] = {
		0, 1, 2, 63, 64, 65, 511, 512, 4096, 65535, 65536, 65537,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
		1ULL << 52, 1ULL << 63, ~0ULL, ~0ULL >> 12,
	};

	switch (fuzz_below(f, 4)) {
	case 0:
		return odd[fuzz_below(f, ARRAY_SIZE(odd))];
	case 1:
		return fuzz_rand(f);
	default:
		return fuzz_below(f, FUZZ_SANDBOX_PAGES + 8);
	}
}

/* A user pointer of the given kind, for len bytes. */
static void *fuzz_ptr(struct fuzz *f, enum fuzz_ptr kind, size_t len)
{
	switch (kind) {
	case FUZZ_PTR_NULL:
		return NULL;
	case FUZZ_PTR_UNMAPPED:
		return f->hole;
	case FUZZ_PTR_NONE:
		return f->none;
	case FUZZ_PTR_RO:
		return f->ro;
	case FUZZ_PTR_KERNEL:
		return (void *)(uintptr_t)FUZZ_KERNEL_ADDR;
	case FUZZ_PTR_STRADDLE:
		/* The last bytes of ro, then none: some bytes readable. */
		return f->none - (len > 1 ? 1 + fuzz_below(f, len - 1 < f->ps - 1 ?
							      len - 1 : f->ps - 1) : 0);
	default:
		return f->buf;
	}
}

static enum fuzz_ptr fuzz_ptr_kind(struct fuzz *f)
{
	return fuzz_chance(f, 85) ? FUZZ_PTR_OK : 1 + fuzz_below(f, FUZZ_NR_PTRS - 1);
}

/* Can the kernel write len bytes at a pointer of this kind? */
static bool fuzz_ptr_writable(enum fuzz_ptr kind, size_t len)
{
	return kind == FUZZ_PTR_OK || (!len && kind != FUZZ_PTR_KERNEL);
}

/*
 * Can the kernel read len bytes at a pointer of this kind? A kernel address
 * fails access_ok() even for 0 bytes.
 */
static bool fuzz_ptr_readable(enum fuzz_ptr kind, size_t len)
{
	return kind == FUZZ_PTR_OK || (kind == FUZZ_PTR_RO && len <= (size_t)getpagesize()) ||
	       (!len && kind != FUZZ_PTR_KERNEL);
}

/* Put an argument where a pointer of this kind points; returns the pointer. */
static void *fuzz_arg(struct fuzz *f, enum fuzz_ptr kind, const void *arg, size_t len)
{
	void *p = fuzz_ptr(f, kind, len);

	if (kind == FUZZ_PTR_OK) {
		if (arg != f->buf)
			memcpy(f->buf, arg, len);
	} else if (kind == FUZZ_PTR_RO || kind == FUZZ_PTR_STRADDLE) {
		/* Fill the read-only page, or the readable part of a straddle. */
		mprotect(f->ro, f->ps, PROT_READ | PROT_WRITE);
		if (kind == FUZZ_PTR_RO)
			memcpy(f->ro, arg, len < f->ps ? len : f->ps);
		else
			memcpy(p, arg, f->none - (char *)p);
		mprotect(f->ro, f->ps, PROT_READ);
	}
	return p;
}

static const char *fuzz_errname(int err)
{
	static char buf[32];

	switch (err) {
	case EPERM: return "EPERM";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EBADF: return "EBADF";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	}
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

/*
 * Count one input and check its outcome against the oracle; on a mismatch
 * say what the input was and return false.
 */
static bool fuzz_check(struct __test_metadata *_metadata, struct fuzz *f,
		       const struct fuzz_expect *e, long long ret, int err)
{
	char allowed[256] = "";
	size_t i, n;
	int x;

	f->inputs++;
	if (ret < 0) {
		f->rejected++;
		if (err > 0 && err < 128 && (e->errs & FE(err)))
			return true;
	} else {
		f->accepted++;
		if (e->ok && (e->ret < 0 || e->ret == ret))
			return true;
	}
	for (x = 1; x < 128; x++)
		if (e->errs & FE(x))
			snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed),
				 "%s ", fuzz_errname(x));
	if (e->ok)
		snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed),
			 "success (%lld)", e->ret);
	TH_LOG("seed %llu, input %lu: %s", (unsigned long long)f->seed, f->inputs,
	       f->what);
	if (f->len) {
		char hex[3 * 48 + 1] = "";

		n = f->len < 48 ? f->len : 48;
		for (i = 0; i < n; i++)
			sprintf(hex + 3 * i, "%02x ", (unsigned char)f->buf[i]);
		TH_LOG("%zu bytes: %s%s", f->len, hex, f->len > n ? "..." : "");
	}
	TH_LOG("got %s, expected %s", ret < 0 ? fuzz_errname(err) : "success",
	       allowed);
	if (ret >= 0)
		TH_LOG("returned %lld", ret);
	return false;
}

#define FUZZ_CHECK(f, e, ret) do {					\
	long long __ret = (ret);					\
	int __err = errno;						\
									\
	ASSERT_TRUE(fuzz_check(_metadata, f, e, __ret, __err));	\
} while (0)

/* ---- text inputs ---- */

static const char *const fuzz_words[] = {
	"0", "1", "-1", "+1", "-0", "00", "0x", "0x0", "0X1000", "0x1000", "0xfff",
	"0x7ffffffff000", "0x800000000000", "0xfffffffffffff000",
	"0xffffffffffffffff", "0x10000000000000000", "0x0x1000", "0x-1000",
	"18446744073709551615", "18446744073709551616", "4294967296",
	"2147483647", "2147483648", "-2147483648", "99999999999999999999999",
	"summary", "Summary", "summaryx", "max_lines=", "max_lines=0",
	"max_lines=1", "max_lines=-1", "max_lines=18446744073709551616",
	"max_lines==1", "reset", "RESET", "resetreset", "%s%n%p", "\\", "\"",
	"=", "==", "pid", "\x01", "\x7f", "\xff", "\xa0", "",
};

static const char *const fuzz_seps[] = { " ", "  ", "\t", "\n", "\r", "\v", "\f", "" };

static size_t fuzz_append(char *buf, size_t len, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (len + n > cap)
		n = cap - len;
	memcpy(buf + len, s, n);
	return len + n;
}

/* A number token: boundary, random decimal or hex, maybe an address. */
static size_t fuzz_number(struct fuzz *f, char *buf, size_t len, size_t cap)
{
	char tok[64];

	switch (fuzz_below(f, 5)) {
	case 0:
		snprintf(tok, sizeof(tok), "%llu", (unsigned long long)fuzz_count(f));
		break;
	case 1:
		snprintf(tok, sizeof(tok), "%lld", -(long long)fuzz_count(f));
		break;
	case 2:
		snprintf(tok, sizeof(tok), "%#llx", (unsigned long long)fuzz_addr(f));
		break;
	case 3:
		snprintf(tok, sizeof(tok), "%d", fuzz_chance(f, 50) ? getpid() : getppid());
		break;
	default:
		snprintf(tok, sizeof(tok), "%s",
			 fuzz_words[fuzz_below(f, ARRAY_SIZE(fuzz_words))]);
		break;
	}
	return fuzz_append(buf, len, cap, tok);
}

/* A valid command of a file, as a start for mutations. */
static size_t fuzz_valid(struct fuzz *f, const char *file, char *buf, size_t cap)
{
	if (!strcmp(file, "stats") || !strcmp(file, "notify"))
		return snprintf(buf, cap, "%s%s", !strcmp(file, "stats") ? "reset" : "clear",
				fuzz_chance(f, 50) ? "" : "\n");
	return snprintf(buf, cap, "%d %p %p%s%s\n", fuzz_chance(f, 50) ? 0 : getpid(),
			f->sandbox, f->sandbox + f->ps * (1 + fuzz_below(f, 8)),
			fuzz_chance(f, 30) ? " summary" : "",
			fuzz_chance(f, 30) ? " max_lines=3" : "");
}

/* Fill f->buf with a write of one of the text classes; sets f->len, f->what. */
static void fuzz_text(struct fuzz *f, const char *file)
{
	size_t cap = FUZZ_TEXT_MAX, len = 0, i, n;
	char *buf = f->buf;

	switch (fuzz_below(f, 6)) {
	case 0:		/* random bytes, short */
		len = fuzz_below(f, 64);
		for (i = 0; i < len; i++)
			buf[i] = fuzz_rand(f);
		snprintf(f->what, sizeof(f->what), "%s: %zu random bytes", file, len);
		break;
	case 1:		/* an over-long line */
		len = 100 + fuzz_below(f, fuzz_chance(f, 10) ? cap - 100 : 8192);
		memset(buf, '0' + fuzz_below(f, 10), len);
		if (fuzz_chance(f, 50))
			memcpy(buf, "0 0x", 4);
		snprintf(f->what, sizeof(f->what), "%s: a line of %zu bytes", file, len);
		break;
	case 2:		/* token soup */
	case 3:
		n = 1 + fuzz_below(f, 7);
		for (i = 0; i < n; i++) {
			len = fuzz_number(f, buf, len, cap);
			len = fuzz_append(buf, len, cap, fuzz_seps[fuzz_below(f, 3) ? 0 :
						fuzz_below(f, 8)]);
		}
		snprintf(f->what, sizeof(f->what), "%s: %zu tokens", file, n);
		break;
	default:	/* a valid command, mutated */
		len = fuzz_valid(f, file, buf, cap);
		n = 1 + fuzz_below(f, 3);
		for (i = 0; i < n && len; i++) {
			size_t at = fuzz_below(f, len);

			switch (fuzz_below(f, 4)) {
			case 0:
				buf[at] ^= 1 << fuzz_below(f, 8);
				break;
			case 1:
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			case 2:
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = fuzz_rand(f);
				len++;
				break;
			default:
				len = at + snprintf(buf + at, cap - at, "%s",
						    fuzz_words[fuzz_below(f, 10)]);
				break;
			}
		}
		snprintf(f->what, sizeof(f->what), "%s: a mutated command", file);
		break;
	}
	f->len = len;
}

/* The kernel's isspace(): its ctype also counts 0xa0 (no-break space). */
static bool fuzz_kspace(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0;
}

/* Whitespace the documentation leaves open: all but blanks and newlines. */
static bool fuzz_odd_space(unsigned char c)
{
	return fuzz_kspace(c) && c != ' ' && c != '\n';
}

/*
 * A file whose one command is a word, with or without a trailing newline,
 * in fewer than 8 bytes: stats "reset" (Documentation/debugfs.rst), notify
 * "clear" (Documentation/notify.rst).
 */
static void fuzz_word_oracle(const char *word, const char *buf, size_t len,
			     struct fuzz_expect *e)
{
	size_t a, b, wlen = strlen(word);
	char s[8];

	e->errs = FE(EINVAL);
	e->ok = false;
	e->ret = len;
	if (!len || len >= 8)
		return;
	if ((len == wlen && !memcmp(buf, word, wlen)) ||
	    (len == wlen + 1 && !memcmp(buf, word, wlen) && buf[wlen] == '\n')) {
		e->ok = true;
		e->errs = 0;
		return;
	}
	/* Undocumented but harmless: other whitespace around it, or a NUL after. */
	memcpy(s, buf, len);
	s[len] = '\0';
	for (a = 0; s[a] && fuzz_kspace(s[a]); a++)
		;
	for (b = strlen(s); b > a && fuzz_kspace(s[b - 1]); b--)
		;
	if (b - a == wlen && !memcmp(s + a, word, wlen))
		e->ok = true;
}

/* Parse a decimal (kstrtoul base 10) or "0x" hex token; false on overflow. */
static bool fuzz_parse_num(const char *tok, int base, unsigned long long *v,
			   bool *odd)
{
	const char *p = tok;
	char *end;

	if (*p == '+') {
		*odd = true;	/* kstrto*() takes a '+', the documentation says nothing */
		p++;
	} else if (base == 10 && *p == '-' && p[1] && strspn(p + 1, "0") == strlen(p + 1)) {
		*odd = true;	/* kstrtoint() takes "-0" as 0 */
		*v = 0;
		return true;
	}
	if (base == 16 && (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')))
		*odd = true;	/* "0x0x10": kstrtoul() skips a second prefix */
	if (!*p || !(base == 16 ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p)))
		return false;
	errno = 0;
	*v = strtoull(p, &end, base);
	return !errno && !*end;
}

/*
 * inspect (Documentation/inspect.rst): "<pid> <start> [<end>] [summary]
 * [max_lines=N]". Returns the errnos of the command's faults.
 */
static void fuzz_inspect_oracle(struct fuzz *f, const char *buf, size_t len,
				struct fuzz_expect *e)
{
	char s[128], *tok[6], *save = NULL, *p;
	unsigned long long v;
	bool odd = false, end_given = false;
	int n = 0, i;

	e->ok = false;
	e->ret = len;
	e->errs = FE(EINVAL);
	if (!len || len >= 128)
		return;
	memcpy(s, buf, len);
	s[len] = '\0';
	for (p = s; *p; p++) {
		if (fuzz_odd_space(*p))
			odd = true;
		if (fuzz_kspace(*p))
			*p = ' ';
	}
	for (p = strtok_r(s, " ", &save); p && n < 6; p = strtok_r(NULL, " ", &save))
		tok[n++] = p;
	if (n < 2 || n > 5)
		goto out;
	for (i = 0; i < n; i++)
		if (strlen(tok[i]) >= 30)
			odd = true;	/* the parser's token limit is not documented */
	if (!fuzz_parse_num(tok[0], 10, &v, &odd) || v > INT_MAX)
		goto out;
	f->cmd.pid = v;
	if (strncmp(tok[1], "0x", 2) || !fuzz_parse_num(tok[1] + 2, 16, &f->cmd.start, &odd))
		goto out;
	f->cmd.end = 0;
	f->cmd.max_lines = 1;
	i = 2;
	if (i < n && tok[i][0] == '0') {
		if (strncmp(tok[i], "0x", 2) ||
		    !fuzz_parse_num(tok[i] + 2, 16, &f->cmd.end, &odd))
			goto out;
		/* An explicit end of 0 is "end not above start". */
		end_given = true;
		i++;
	}
	if (i < n && !strcmp(tok[i], "summary"))
		i++;
	if (i < n && !strncmp(tok[i], "max_lines=", 10)) {
		if (!fuzz_parse_num(tok[i] + 10, 10, &f->cmd.max_lines, &odd) ||
		    !f->cmd.max_lines)
			goto out;
		i++;
	}
	if (i != n)
		goto out;

	/* Well formed: now the range and the pid. */
	e->errs = 0;
	if (!f->cmd.end && !end_given) {
		if (f->cmd.start > ~0ULL - f->ps)
			e->errs |= FE(EINVAL);
		f->cmd.end = f->cmd.start + f->ps;
	}
	if ((f->cmd.start | f->cmd.end) & (f->ps - 1) || f->cmd.start >= f->cmd.end ||
	    f->cmd.end > FUZZ_TASK_SIZE_MAX)
		e->errs |= FE(EINVAL);
	else if (f->cmd.end > f->task_size)
		odd = true;	/* above the default task size: 5-level paging's or 52-bit's */
	e->ok = !e->errs;
	if (f->cmd.pid && f->cmd.pid != getpid() && f->cmd.pid != getppid() &&
	    f->cmd.pid != 1) {
		/* A pid of someone else: gone, a kernel thread, or a process. */
		e->errs |= FE(ESRCH);
		if (kill(f->cmd.pid, 0) && errno == ESRCH)
			e->ok = false;
	}
out:
	/* Where the documentation leaves it open, EINVAL is as good. */
	if (odd || !e->errs)
		e->errs |= FE(EINVAL);
}

FIXTURE(fuzz) {
	struct fuzz f;
};

FIXTURE_SETUP(fuzz)
{
	struct fuzz *f = &self->f;
	size_t ps = getpagesize();
	char *map;
	ssize_t n;

	ROBUST_LOAD_OR_SKIP();
	memset(f, 0, sizeof(*f));
	f->ps = ps;
	f->seed = fuzz_the_seed;
	/* One stream per test, so that each replays on its own. */
	f->rng = f->seed ^ (uint64_t)strlen(_metadata->name) * 0x9e3779b97f4a7c15ULL ^
		 _metadata->name[0];

	/*
	 * guard | sandbox | guard | ro | none: the guards are PROT_NONE rather
	 * than holes, so that no later mapping can land in them.
	 */
	map = mmap(NULL, (FUZZ_SANDBOX_PAGES + 5) * ps, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, madvise(map, (FUZZ_SANDBOX_PAGES + 5) * ps, MADV_NOHUGEPAGE));
	memset(map, 0x5a, (FUZZ_SANDBOX_PAGES + 5) * ps);
	f->sandbox = map + ps;
	f->ro = f->sandbox + (FUZZ_SANDBOX_PAGES + 1) * ps;
	f->none = f->ro + ps;
	f->hole = (char *)0x2000;
	ASSERT_NE(0, util_task_top()) TH_LOG("no [stack] in /proc/self/maps");
	f->task_size = util_task_top() - ps;
	ASSERT_EQ(0, mprotect(map, ps, PROT_NONE));
	ASSERT_EQ(0, mprotect(f->sandbox + FUZZ_SANDBOX_PAGES * ps, ps, PROT_NONE));
	ASSERT_EQ(0, munmap(f->none + ps, ps));
	ASSERT_EQ(0, mprotect(f->sandbox + FUZZ_RW_PAGES * ps,
			      (FUZZ_RO_END - FUZZ_RW_PAGES) * ps, PROT_READ));
	ASSERT_EQ(0, mprotect(f->sandbox + FUZZ_RO_END * ps,
			      (FUZZ_SANDBOX_PAGES - FUZZ_RO_END) * ps, PROT_NONE));
	ASSERT_EQ(0, mprotect(f->ro, ps, PROT_READ));
	ASSERT_EQ(0, mprotect(f->none, ps, PROT_NONE));

	f->buf = malloc(FUZZ_TEXT_MAX + 1);
	f->out_len = FUZZ_SANDBOX_PAGES * ps;
	if (f->out_len < FUZZ_OUT_MIN)
		f->out_len = FUZZ_OUT_MIN;
	f->out = malloc(f->out_len);
	f->version = malloc(4096);
	ASSERT_TRUE(f->buf && f->out && f->version);
	n = util_read_file(MMPROBE_DIR "/version", f->version, 4096);
	ASSERT_LT(0, n);
	f->version_len = n;
	f->pins_base = robust_pins_held();
	TH_LOG("seed %llu (replay: MMPROBE_FUZZ_SEED=%llu)",
	       (unsigned long long)f->seed, (unsigned long long)f->seed);
}

FIXTURE_TEARDOWN(fuzz)
{
	struct fuzz *f = &self->f;

	if (fuzz_totals) {
		__atomic_add_fetch(&fuzz_totals[0], f->inputs, __ATOMIC_RELAXED);
		__atomic_add_fetch(&fuzz_totals[1], f->rejected, __ATOMIC_RELAXED);
	}
	if (f->inputs)
		TH_LOG("%lu inputs: %lu rejected, %lu accepted", f->inputs,
		       f->rejected, f->accepted);
	free(f->buf);
	free(f->out);
	free(f->version);
}

/* Open a file of the mmprobe directory (or the gup_test file). */
static int fuzz_open(const char *name, int flags)
{
	char path[PATH_MAX];

	if (!strcmp(name, "gup_test"))
		snprintf(path, sizeof(path), "/sys/kernel/debug/gup_test");
	else
		snprintf(path, sizeof(path), MMPROBE_DIR "/%s", name);
	return open(path, flags);
}

/* One write (or pwrite, or writev) of fuzzed text to a text file. */
static void fuzz_one_write(struct __test_metadata *_metadata, struct fuzz *f,
			   const char *file, int fd, bool seekable)
{
	struct fuzz_expect e = { };
	enum fuzz_ptr kind = fuzz_ptr_kind(f);
	size_t len, seg[3], nseg = 1, i;
	struct iovec iov[3];
	long long off = 0;
	bool is_version = !strcmp(file, "version");
	const char *word = !strcmp(file, "stats") ? "reset" :
			   !strcmp(file, "notify") ? "clear" : NULL;
	bool at_pos = false;
	long long ret;
	void *p;

	fuzz_text(f, file);
	len = f->len;
	p = fuzz_arg(f, kind, f->buf, len);
	if (kind != FUZZ_PTR_OK)
		snprintf(f->what + strlen(f->what), sizeof(f->what) - strlen(f->what),
			 ", buffer kind %d", kind);

	if (kind == FUZZ_PTR_OK && fuzz_chance(f, 10) && len > 1) {
		/* writev: each segment is a write of its own (no .write_iter). */
		nseg = 2 + fuzz_below(f, 2);
		seg[0] = fuzz_below(f, len);
		seg[1] = nseg == 2 ? len - seg[0] : fuzz_below(f, len - seg[0]);
		seg[2] = len - seg[0] - seg[1];
		for (i = 0; i < nseg; i++) {
			iov[i].iov_base = f->buf + (i ? seg[0] : 0) + (i == 2 ? seg[1] : 0);
			iov[i].iov_len = seg[i];
		}
		snprintf(f->what + strlen(f->what), sizeof(f->what) - strlen(f->what),
			 ", writev of %zu segments", nseg);
	} else if (fuzz_chance(f, 10)) {
		off = fuzz_chance(f, 30) ? -(long long)fuzz_below(f, 1000) - 1 :
		      (long long)fuzz_below(f, 1 << 20);
		if (seekable && fuzz_chance(f, 50)) {
			/* A write at the file position, moved by lseek. */
			lseek(fd, off < 0 ? -off : off, SEEK_SET);
			at_pos = true;
		}
		snprintf(f->what + strlen(f->what), sizeof(f->what) - strlen(f->what),
			 at_pos ? ", write at position %lld" : ", pwrite at %lld",
			 at_pos && off < 0 ? -off : off);
	}

	if (nseg > 1) {
		/*
		 * Without .write_iter the VFS writes segment by segment and stops
		 * at the first that fails: its error if it is the first, else the
		 * bytes written so far. An empty segment is an empty write.
		 */
		long long done = 0;

		for (i = 0; i < nseg; i++) {
			struct fuzz_expect s;

			if (is_version) {
				s.errs = FE(EINVAL);
				s.ok = false;
			} else if (word) {
				fuzz_word_oracle(word, iov[i].iov_base, seg[i], &s);
			} else {
				fuzz_inspect_oracle(f, iov[i].iov_base, seg[i], &s);
			}
			if (s.ok && s.errs) {	/* undecided: any outcome */
				e.ok = true;
				e.ret = -1;
				e.errs |= s.errs | FE(EINVAL) | FE(ESRCH);
				break;
			}
			if (!s.ok) {
				e.ok = i > 0;
				e.ret = done;
				e.errs = i ? 0 : s.errs;
				break;
			}
			done += seg[i];
		}
		if (i == nseg) {
			e.ok = true;
			e.ret = done;
		}
		errno = 0;
		ret = writev(fd, iov, nseg);
	} else {
		if (off && !at_pos) {
			/* pwrite: seq_files and streams have no FMODE_PWRITE. */
			e.errs = off < 0 ? FE(EINVAL) : FE(ESPIPE);
		} else if (is_version) {
			e.errs = FE(EINVAL);	/* no write method */
		} else if (word) {
			fuzz_word_oracle(word, f->buf, len, &e);
			if (at_pos && off) {
				e.ok = false;
				e.errs = FE(EINVAL);
			}
		} else {
			fuzz_inspect_oracle(f, f->buf, len, &e);
		}
		if (!fuzz_ptr_readable(kind, len)) {
			/* The VFS or the module, whichever looks first. */
			e.ok = false;
			e.errs |= FE(EFAULT);
		}
		errno = 0;
		ret = off && !at_pos ? pwrite(fd, p, len, off) : write(fd, p, len);
	}
	FUZZ_CHECK(f, &e, ret);
	if (at_pos)
		lseek(fd, 0, SEEK_SET);
}

/* Reads of 1-7 bytes at a time, or at an offset, or into a bad buffer. */
static void fuzz_one_read(struct __test_metadata *_metadata, struct fuzz *f,
			  const char *file, int fd, bool seekable)
{
	struct fuzz_expect e = { .ok = true, .ret = -1 };
	enum fuzz_ptr kind = fuzz_ptr_kind(f);
	bool is_version = !strcmp(file, "version");
	/* inspect before a range was written: EINVAL. */
	__uint128_t unbound = !strcmp(file, "inspect") ? FE(EINVAL) : 0;
	size_t got = 0, want = 1 + fuzz_below(f, 7);
	/* A report may be long: read the start of it. */
	size_t max = seekable ? FUZZ_TEXT_MAX : 4096;
	long long off, ret;

	f->len = 0;
	if (kind != FUZZ_PTR_OK || fuzz_chance(f, 5)) {
		size_t n = kind == FUZZ_PTR_OK ? 0 : want;

		snprintf(f->what, sizeof(f->what), "%s: read %zu into buffer kind %d",
			 file, n, kind);
		e.ok = !n && kind != FUZZ_PTR_KERNEL;
		e.ret = 0;
		e.errs = (fuzz_ptr_writable(kind, n) ? 0 : FE(EFAULT)) | unbound;
		errno = 0;
		ret = read(fd, fuzz_ptr(f, kind, n), n);
		/* A read at the end of the file has nothing to copy: 0. */
		if (ret == 0)
			e.ok = true;
		FUZZ_CHECK(f, &e, ret);
		if (seekable)
			lseek(fd, 0, SEEK_SET);
		return;
	}
	if (fuzz_chance(f, 30)) {
		off = fuzz_chance(f, 20) ? -(long long)fuzz_below(f, 100) - 1 :
		      (long long)fuzz_below(f, 2 * f->version_len);
		snprintf(f->what, sizeof(f->what), "%s: pread %zu at %lld", file, want, off);
		if (off < 0) {
			e.ok = false;
			e.errs = FE(EINVAL);
		} else if (!seekable) {
			e.ok = false;
			e.errs = FE(ESPIPE);
		} else if (is_version) {
			e.ret = off >= (long long)f->version_len ? 0 :
				(long long)(f->version_len - off < want ?
					    f->version_len - off : want);
		}
		errno = 0;
		ret = pread(fd, f->out, want, off);
		FUZZ_CHECK(f, &e, ret);
		if (ret > 0 && is_version)
			ASSERT_EQ(0, memcmp(f->out, f->version + off, ret))
				TH_LOG("seed %llu: pread of version at %lld differs",
				       (unsigned long long)f->seed, off);
		return;
	}

	/*
	 * The whole file (the start of a report) in tiny reads, one input: for
	 * version exactly its content; inspect before a range is EINVAL.
	 */
	snprintf(f->what, sizeof(f->what), "%s: reads of up to %zu bytes", file, want);
	e.errs = unbound;
	do {
		size_t n = 1 + fuzz_below(f, want);

		errno = 0;
		ret = read(fd, f->out + got, n);
		if (ret < 0)
			break;
		ASSERT_GE((long long)n, ret);
		got += ret;
	} while (ret > 0 && got < max);
	FUZZ_CHECK(f, &e, ret < 0 ? ret : (long long)got);
	if (is_version) {
		ASSERT_EQ(f->version_len, got);
		ASSERT_EQ(0, memcmp(f->out, f->version, got));
	}
	if (seekable)
		lseek(fd, 0, SEEK_SET);
}

/* lseek and mmap: answered by the VFS and seq_lseek(). */
static void fuzz_one_seek(struct __test_metadata *_metadata, struct fuzz *f,
			  const char *file, int fd, bool seekable)
{
	struct fuzz_expect e = { };
	int whence = fuzz_below(f, 6);
	long long off = fuzz_chance(f, 50) ? (long long)fuzz_count(f) :
			-(long long)fuzz_below(f, 100);
	long long ret;
	void *map;

	f->len = 0;
	if (fuzz_chance(f, 20)) {
		snprintf(f->what, sizeof(f->what), "%s: mmap", file);
		e.errs = FE(ENODEV);	/* no mmap method */
		errno = 0;
		map = mmap(NULL, f->ps, PROT_READ, MAP_SHARED, fd, 0);
		ret = map == MAP_FAILED ? -1 : 0;
		if (map != MAP_FAILED)
			munmap(map, f->ps);
		FUZZ_CHECK(f, &e, ret);
		return;
	}
	snprintf(f->what, sizeof(f->what), "%s: lseek %lld whence %d", file, off, whence);
	if (whence > 4)				/* above SEEK_HOLE */
		e.errs = FE(EINVAL);
	else if (!seekable)			/* stream_open(), nonseekable_open() */
		e.errs = FE(ESPIPE);
	else if (whence > SEEK_CUR || off < 0)	/* seq_lseek(), from position 0 */
		e.errs = FE(EINVAL);
	else
		e.ok = true, e.ret = off;
	errno = 0;
	ret = lseek(fd, off, whence);
	FUZZ_CHECK(f, &e, ret);
	if (seekable)
		lseek(fd, 0, SEEK_SET);
}

/*
 * The text files: version (read-only seq_file), stats and inspect
 * (commands), with writes, reads, seeks and maps of every kind.
 */
TEST_F_TIMEOUT(fuzz, text_files, FUZZ_TIMEOUT)
{
	/* The seq_files first: they are seekable. */
	static const char *const files[] = { "version", "stats", "inspect", "notify" };
	struct fuzz *f = &self->f;
	unsigned long quota = fuzz_quota(35);
	int fds[4], i;

	for (i = 0; i < 4; i++) {
		fds[i] = robust_has_file(files[i]) ? fuzz_open(files[i], O_RDWR) : -1;
		ASSERT_TRUE(fds[i] >= 0 || !robust_has_file(files[i]))
			TH_LOG("%s: %s", files[i], strerror(errno));
	}
	while (f->inputs < quota) {
		int which = fuzz_below(f, 4);
		const char *file = files[which];
		bool seekable = which < 2;
		int op = fuzz_below(f, 10);

		if (fds[which] < 0)
			continue;
		if (op < 6)
			fuzz_one_write(_metadata, f, file, fds[which], seekable);
		else if (op < 9)
			fuzz_one_read(_metadata, f, file, fds[which], seekable);
		else
			fuzz_one_seek(_metadata, f, file, fds[which], seekable);
		/* A new file now and then: inspect unbound, notify registered again. */
		if (which >= 2 && fuzz_chance(f, 2)) {
			close(fds[which]);
			fds[which] = fuzz_open(file, O_RDWR);
			ASSERT_LE(0, fds[which]);
		}
	}
	for (i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* ---- ioctls ---- */

/* The bytes of the sandbox, from page i on, that a GUP can take: -1 outside. */
static long long fuzz_gup_pages(struct fuzz *f, uint64_t addr, bool write)
{
	uint64_t base = (uintptr_t)f->sandbox;
	long long i;

	if (addr < base - f->ps || addr >= base + (FUZZ_SANDBOX_PAGES + 1) * f->ps)
		return -1;
	i = ((long long)addr - (long long)base) / (long long)f->ps;
	if (addr < base || i >= FUZZ_SANDBOX_PAGES)
		return 0;	/* the holes on each side */
	return (write ? FUZZ_RW_PAGES : FUZZ_RO_END) > i ?
	       (write ? FUZZ_RW_PAGES : FUZZ_RO_END) - i : 0;
}

/* Pin the model's count against the system's, now and then. */
static void fuzz_check_pins(struct __test_metadata *_metadata, struct fuzz *f)
{
	if (f->inputs % 256 == 0)
		ASSERT_EQ(f->pins_base + f->pins, robust_pins_expect(f->pins_base + f->pins))
			TH_LOG("seed %llu, input %lu: pins held differ from the model",
			       (unsigned long long)f->seed, f->inputs);
}

/* A random ioctl number the VFS does not answer itself. */
static unsigned int fuzz_cmd(struct fuzz *f)
{
	static const unsigned char types[] = { 'M', 'g', 'M', 'g', 0 };
	unsigned int cmd, type;

	do {
		if (fuzz_chance(f, 70)) {
			type = types[fuzz_below(f, sizeof(types))] ?: fuzz_rand(f);
			cmd = _IOC(fuzz_below(f, 4), type & 0xff, fuzz_below(f, 256),
				   fuzz_chance(f, 50) ? fuzz_below(f, 256) :
				   fuzz_below(f, 1 << 14));
		} else {
			cmd = fuzz_rand(f);
		}
		/* VFS-wide commands: FIGETBSZ, FIONBIO, FIOCLEX, ..., FICLONE, FS_IOC_*. */
		type = _IOC_TYPE(cmd);
	} while (type == 0 || type == 'T' || type == 'X' || type == 'f' || type == 0x94 ||
		 type == 0x15 || type == 'W' || type == 'v');
	return cmd;
}

/* An ioctl number none of the file's commands has: ENOTTY. */
static void fuzz_unknown_cmd(struct __test_metadata *_metadata, struct fuzz *f,
			     const char *file, int fd, const unsigned int *known,
			     unsigned int nr_known)
{
	struct fuzz_expect e = { .errs = FE(ENOTTY) };
	unsigned int cmd, i;

	do {
		cmd = fuzz_cmd(f);
		for (i = 0; i < nr_known && cmd != known[i]; i++)
			;
	} while (i < nr_known);
	snprintf(f->what, sizeof(f->what), "%s: ioctl %#x", file, cmd);
	f->len = 0;
	errno = 0;
	FUZZ_CHECK(f, &e, ioctl(fd, cmd, fuzz_ptr(f, fuzz_ptr_kind(f), 128)));
}

#ifdef MMPROBE_PIN_IOC_TAKE

struct fuzz_pin {
	int fd;
	uint64_t handle;	/* the session's one take, 0: none */
	uint64_t addr;
	uint64_t nr;
	bool pin;		/* FOLL_PIN, else references */
	bool released[FUZZ_SANDBOX_PAGES];
	unsigned long max;	/* pin_max_pages */
};

static const unsigned int fuzz_pin_cmds[] = {
	MMPROBE_PIN_IOC_TAKE, MMPROBE_PIN_IOC_INFO, MMPROBE_PIN_IOC_READ,
	MMPROBE_PIN_IOC_UNPIN,
};

static void fuzz_pin_forget(struct fuzz *f, struct fuzz_pin *st)
{
	uint64_t i;

	if (st->handle && st->pin)
		for (i = 0; i < st->nr; i++)
			f->pins -= !st->released[i];
	st->handle = 0;
}

/* MMPROBE_PIN_IOC_TAKE with a fuzzed struct (Documentation/pin.rst). */
static void fuzz_pin_take(struct __test_metadata *_metadata, struct fuzz *f,
			  struct fuzz_pin *st)
{
	struct mmprobe_pin_take t = {
		.addr = fuzz_addr(f),
		.nr_pages = fuzz_chance(f, 70) ? 1 + fuzz_below(f, FUZZ_SANDBOX_PAGES) :
			    fuzz_count(f),
		.method = fuzz_chance(f, 85) ? 1 + fuzz_below(f, 4) : fuzz_count(f),
		.flags = fuzz_chance(f, 80) ? fuzz_below(f, 4) : fuzz_rand(f),
		.handle = fuzz_rand(f),
		.nr_pinned = fuzz_rand(f),
	};
	enum fuzz_ptr kind = fuzz_ptr_kind(f);
	bool write = t.flags & MMPROBE_PIN_WRITE, gup;
	struct fuzz_expect e = { .ret = 0 };
	struct mmprobe_pin_take *out;
	long long avail = -1, ret;
	uint64_t len;

	snprintf(f->what, sizeof(f->what),
		 "pin TAKE addr %#llx (sandbox %+lld) nr %#llx method %llu flags %#llx, arg kind %d",
		 (unsigned long long)t.addr, (long long)(t.addr - (uintptr_t)f->sandbox),
		 (unsigned long long)t.nr_pages, (unsigned long long)t.method,
		 (unsigned long long)t.flags, kind);
	f->len = 0;
	gup = t.method == MMPROBE_PIN_METHOD_GUP || t.method == MMPROBE_PIN_METHOD_GUP_FAST;
	if ((t.flags & ~(MMPROBE_PIN_WRITE | MMPROBE_PIN_LONGTERM)) ||
	    t.method == MMPROBE_PIN_METHOD_NONE || t.method >= MMPROBE_PIN_NR_METHODS ||
	    ((t.flags & MMPROBE_PIN_LONGTERM) && gup) || !t.nr_pages ||
	    (t.addr & (f->ps - 1)) || __builtin_mul_overflow(t.nr_pages, f->ps, &len) ||
	    t.addr + len < t.addr) {
		e.errs = FE(EINVAL);
	} else if (t.nr_pages > st->max) {
		e.errs = FE(ENOSPC);
	} else {
		avail = fuzz_gup_pages(f, t.addr, write);
		if (avail < 0) {
			e.ok = true;
			e.ret = -1;
			e.errs = FE(EFAULT) | FE(ENOMEM);
		} else if (!avail) {
			e.errs = FE(EFAULT);
		} else {
			e.ok = true;
			avail = avail < (long long)t.nr_pages ? avail : (long long)t.nr_pages;
		}
	}
	if (kind != FUZZ_PTR_OK) {
		/* Unreadable: nothing done. Read-only: taken, then given back. */
		e.errs |= FE(EFAULT);
		if (kind != FUZZ_PTR_RO)
			e.errs = FE(EFAULT);
		e.ok = false;
	}
	out = fuzz_arg(f, kind, &t, sizeof(t));
	errno = 0;
	ret = ioctl(st->fd, MMPROBE_PIN_IOC_TAKE, out);
	FUZZ_CHECK(f, &e, ret);
	if (ret)
		return;
	ASSERT_NE(0, out->handle);
	if (e.ret == 0 && avail > 0)
		ASSERT_EQ(avail, (long long)out->nr_pinned) TH_LOG("%s", f->what);
	ASSERT_LE(1, out->nr_pinned);
	ASSERT_GE(t.nr_pages, out->nr_pinned);
	st->handle = out->handle;
	st->addr = t.addr;
	st->nr = out->nr_pinned;
	st->pin = !gup;
	memset(st->released, 0, sizeof(st->released));
	if (st->pin)
		f->pins += st->nr;
	if (avail < 0) {
		/* Memory outside the sandbox: give it back at once. */
		struct mmprobe_pin_range all = { .flags = MMPROBE_PIN_UNPIN_ALL };

		ASSERT_EQ(0, ioctl(st->fd, MMPROBE_PIN_IOC_UNPIN, &all));
		if (st->pin)
			f->pins -= st->nr;
		st->handle = 0;
	}
}

/* INFO, READ or UNPIN with a fuzzed range. */
static void fuzz_pin_range(struct __test_metadata *_metadata, struct fuzz *f,
			   struct fuzz_pin *st, unsigned int cmd)
{
	struct mmprobe_pin_range r = {
		.handle = st->handle && fuzz_chance(f, 70) ? st->handle : fuzz_count(f),
		.index = fuzz_chance(f, 70) ? fuzz_below(f, st->nr + 2) : fuzz_count(f),
		.nr_pages = fuzz_chance(f, 70) ? fuzz_below(f, st->nr + 2) : fuzz_count(f),
		.nr_done = fuzz_rand(f),
	};
	const char *name = cmd == MMPROBE_PIN_IOC_INFO ? "INFO" :
			   cmd == MMPROBE_PIN_IOC_READ ? "READ" : "UNPIN";
	enum fuzz_ptr kind = fuzz_ptr_kind(f), bkind = fuzz_ptr_kind(f);
	struct fuzz_expect e = { .ret = 0 };
	struct mmprobe_pin_range *out;
	bool live = st->handle && r.handle == st->handle, all = false, runs;
	uint64_t i, end = r.index + r.nr_pages, valid_flags, unreleased = 0;
	size_t need = 0;
	long long ret;

	valid_flags = cmd == MMPROBE_PIN_IOC_INFO ? MMPROBE_PIN_INFO_NOW :
		      cmd == MMPROBE_PIN_IOC_UNPIN ? MMPROBE_PIN_UNPIN_ALL : 0;
	r.flags = fuzz_chance(f, 80) ? (fuzz_chance(f, 50) ? valid_flags : 0) : fuzz_rand(f);
	if (cmd == MMPROBE_PIN_IOC_UNPIN && (r.flags & MMPROBE_PIN_UNPIN_ALL) &&
	    fuzz_chance(f, 70)) {
		r.handle = 0;
		r.index = 0;
		r.nr_pages = 0;
	}
	if (cmd == MMPROBE_PIN_IOC_INFO)
		need = r.nr_pages * sizeof(struct mmprobe_pin_page);
	else if (cmd == MMPROBE_PIN_IOC_READ)
		need = r.nr_pages * f->ps;
	r.buf = cmd == MMPROBE_PIN_IOC_UNPIN && fuzz_chance(f, 90) ? 0 :
		need > f->out_len ? (uintptr_t)f->out :
		bkind == FUZZ_PTR_OK ? (uintptr_t)f->out : (uintptr_t)fuzz_ptr(f, bkind, need);
	snprintf(f->what, sizeof(f->what),
		 "pin %s handle %#llx index %#llx nr %#llx buf %#llx flags %#llx, arg kind %d",
		 name, (unsigned long long)r.handle, (unsigned long long)r.index,
		 (unsigned long long)r.nr_pages, (unsigned long long)r.buf,
		 (unsigned long long)r.flags, kind);
	f->len = 0;

	if (r.flags & ~valid_flags) {
		e.errs = FE(EINVAL);
	} else if (cmd == MMPROBE_PIN_IOC_UNPIN && r.buf) {
		e.errs = FE(EINVAL);
	} else if (cmd == MMPROBE_PIN_IOC_UNPIN && (r.flags & MMPROBE_PIN_UNPIN_ALL)) {
		if (r.handle || r.index || r.nr_pages) {
			e.errs = FE(EINVAL);
		} else {
			e.ok = true;
			all = true;
		}
	} else if (!live || !r.nr_pages || end < r.index || end > st->nr) {
		e.errs = FE(EINVAL);
	} else {
		for (i = r.index; i < end; i++)
			unreleased += !st->released[i];
		if (cmd == MMPROBE_PIN_IOC_READ && unreleased != r.nr_pages)
			e.errs = FE(EINVAL);
		else if (need && r.buf != (uintptr_t)f->out && need <= f->out_len)
			e.errs = FE(EFAULT);
		else
			e.ok = true;
	}
	/* The command runs when its argument can be read. */
	runs = e.ok && (kind == FUZZ_PTR_OK || kind == FUZZ_PTR_RO);
	if (kind != FUZZ_PTR_OK) {
		/* Unreadable: nothing done; read-only: done, not reported. */
		if (kind != FUZZ_PTR_RO || e.ok)
			e.errs = FE(EFAULT);
		e.ok = false;
	}
	if (runs && all) {
		fuzz_pin_forget(f, st);
	} else if (runs && cmd == MMPROBE_PIN_IOC_UNPIN) {
		for (i = r.index; i < end; i++) {
			if (!st->released[i] && st->pin)
				f->pins--;
			st->released[i] = true;
		}
		for (i = 0; i < st->nr && st->released[i]; i++)
			;
		if (i == st->nr)
			st->handle = 0;	/* its last page: the take is gone */
	}
	out = fuzz_arg(f, kind, &r, sizeof(r));
	errno = 0;
	ret = ioctl(st->fd, cmd, out);
	FUZZ_CHECK(f, &e, ret);
	if (ret)
		return;
	if (cmd == MMPROBE_PIN_IOC_UNPIN && !all)
		ASSERT_EQ(unreleased, out->nr_done) TH_LOG("%s", f->what);
	if (cmd == MMPROBE_PIN_IOC_INFO || cmd == MMPROBE_PIN_IOC_READ)
		ASSERT_EQ(r.nr_pages, out->nr_done) TH_LOG("%s", f->what);
	if (cmd == MMPROBE_PIN_IOC_INFO) {
		struct mmprobe_pin_page *pg = (void *)f->out;

		for (i = 0; i < r.nr_pages; i++) {
			uint64_t want = st->released[r.index + i] ? MMPROBE_PIN_STATE_RELEASED :
					st->pin ? MMPROBE_PIN_STATE_PINNED :
					MMPROBE_PIN_STATE_REF;

			ASSERT_EQ(st->addr + (r.index + i) * f->ps, pg[i].addr);
			ASSERT_EQ(want, pg[i].state) TH_LOG("%s: page %llu", f->what,
							    (unsigned long long)i);
		}
	}
	if (cmd == MMPROBE_PIN_IOC_READ)
		for (i = 0; i < r.nr_pages * f->ps; i++)
			ASSERT_EQ(0x5a, (unsigned char)f->out[i]) TH_LOG("%s", f->what);
}

/*
 * The pin session: TAKE, INFO, READ and UNPIN with fuzzed structures, each
 * answered as Documentation/pin.rst says, the take's pages as the model
 * says (and the system's pin count with them); unknown commands ENOTTY.
 */
TEST_F_TIMEOUT(fuzz, pin_ioctls, FUZZ_TIMEOUT)
{
	struct fuzz *f = &self->f;
	unsigned long quota = fuzz_quota(25);
	struct fuzz_pin st = { };
	char buf[64];

	if (!robust_has_file("pin"))
		SKIP(return, "no pin file in this build of mmprobe");
	ASSERT_LT(0, util_read_file("/sys/module/mmprobe/parameters/pin_max_pages",
				    buf, sizeof(buf)));
	st.max = strtoul(buf, NULL, 0);
	st.fd = fuzz_open("pin", O_RDWR);
	ASSERT_LE(0, st.fd);
	while (f->inputs < quota) {
		unsigned int op = fuzz_below(f, 10);

		if (op < 3 && st.handle) {
			/* Keep one take: give the last one back first. */
			struct mmprobe_pin_range all = { .flags = MMPROBE_PIN_UNPIN_ALL };

			ASSERT_EQ(0, ioctl(st.fd, MMPROBE_PIN_IOC_UNPIN, &all));
			fuzz_pin_forget(f, &st);
		}
		if (op < 3)
			fuzz_pin_take(_metadata, f, &st);
		else if (op < 9)
			fuzz_pin_range(_metadata, f, &st, fuzz_pin_cmds[1 + op % 3]);
		else
			fuzz_unknown_cmd(_metadata, f, "pin", st.fd, fuzz_pin_cmds, 4);
		fuzz_check_pins(_metadata, f);
		/* A new session now and then: closing releases everything. */
		if (fuzz_chance(f, 1)) {
			close(st.fd);
			fuzz_pin_forget(f, &st);
			ASSERT_EQ(f->pins_base + f->pins,
				  robust_pins_expect(f->pins_base + f->pins));
			st.fd = fuzz_open("pin", O_RDWR);
			ASSERT_LE(0, st.fd);
		}
	}
	close(st.fd);
	fuzz_pin_forget(f, &st);
	ASSERT_EQ(0, f->pins);
	ASSERT_EQ(f->pins_base, robust_pins_expect(f->pins_base));
}

#endif /* MMPROBE_PIN_IOC_TAKE */

#ifdef MMPROBE_GUP_TEST_IOC_MAGIC

static const unsigned int fuzz_gup_cmds[] = {
	MMPROBE_GUP_FAST_BENCHMARK, MMPROBE_PIN_FAST_BENCHMARK,
	MMPROBE_PIN_LONGTERM_BENCHMARK, MMPROBE_GUP_BASIC_TEST, MMPROBE_PIN_BASIC_TEST,
	MMPROBE_DUMP_USER_PAGES_TEST, MMPROBE_PIN_LONGTERM_TEST_START,
	MMPROBE_PIN_LONGTERM_TEST_STOP, MMPROBE_PIN_LONGTERM_TEST_READ,
};

/* The largest range a command takes (Documentation/gup_test.rst). */
#define FUZZ_GUP_MAX_PAGES	(INT_MAX / 8)

/*
 * Would holding @pages more go past max_held_pages (hold.c)? Only a take
 * near the limit reads what all of mmprobe holds now.
 */
static bool fuzz_over_held_max(uint64_t pages)
{
	static char buf[4096];
	long long max, held;

	if (util_read_file(MMPROBE_DIR "/stats", buf, sizeof(buf)) < 0)
		return false;
	max = util_kv_get(buf, "held_pages_max");
	held = util_kv_get(buf, "held_pages");
	return max >= 0 && held >= 0 && pages > (uint64_t)(max - held);
}

struct fuzz_gup {
	int fd;
	uint64_t longterm;	/* pages PIN_LONGTERM_TEST_START holds */
};

/*
 * gup_flags: 0 or FOLL_WRITE (1 on every kernel) are exact; bits above
 * FOLL_* are EINVAL; anything else depends on the kernel's FOLL_* values.
 */
static uint32_t fuzz_gup_flags(struct fuzz *f, bool *known)
{
	uint32_t flags;

	*known = true;
	if (fuzz_chance(f, 80))
		return fuzz_below(f, 2);
	flags = fuzz_rand(f);
	*known = flags & 0xfff00000;
	return flags;
}

/* Commands 1-6 with a fuzzed struct gup_test. */
static void fuzz_gup_run(struct __test_metadata *_metadata, struct fuzz *f,
			 struct fuzz_gup *st, unsigned int cmd)
{
	struct mmprobe_gup_test g = {
		.get_delta_usec = fuzz_rand(f),
		.put_delta_usec = fuzz_rand(f),
		.addr = fuzz_addr(f),
		.size = fuzz_chance(f, 70) ? f->ps * (1 + fuzz_below(f, 50)) +
			(fuzz_chance(f, 20) ? fuzz_below(f, f->ps) : 0) : fuzz_count(f),
		.nr_pages_per_call = fuzz_chance(f, 80) ? 1 + fuzz_below(f, 64) : fuzz_count(f),
		.test_flags = fuzz_chance(f, 90) ? (cmd == MMPROBE_DUMP_USER_PAGES_TEST ?
						    fuzz_below(f, 2) : 0) : fuzz_rand(f),
	};
	enum fuzz_ptr kind = fuzz_ptr_kind(f);
	struct fuzz_expect e = { .ret = 0 };
	struct mmprobe_gup_test *out;
	long long avail = -1, ret;
	uint64_t pages = g.size / f->ps;
	bool known;
	int i;

	g.gup_flags = fuzz_gup_flags(f, &known);
	if (cmd == MMPROBE_DUMP_USER_PAGES_TEST)
		for (i = 0; i < MMPROBE_GUP_TEST_MAX_PAGES_TO_DUMP && fuzz_chance(f, 30); i++)
			g.which_pages[i] = fuzz_below(f, 60);
	snprintf(f->what, sizeof(f->what),
		 "gup_test cmd %u addr %#llx (sandbox %+lld) size %#llx per call %u gup_flags %#x test_flags %#x, arg kind %d",
		 _IOC_NR(cmd), (unsigned long long)g.addr,
		 (long long)(g.addr - (uintptr_t)f->sandbox), (unsigned long long)g.size,
		 g.nr_pages_per_call, g.gup_flags, g.test_flags, kind);
	f->len = 0;
	if ((g.test_flags & ~MMPROBE_GUP_TEST_FLAG_DUMP_PAGES_USE_PIN) ||
	    (known && g.gup_flags > 1) || !g.nr_pages_per_call || !pages ||
	    g.addr + g.size < g.addr || pages > FUZZ_GUP_MAX_PAGES) {
		e.errs = FE(EINVAL);
	} else if (fuzz_over_held_max(pages)) {
		e.errs = FE(ENOSPC);
	} else {
		avail = fuzz_gup_pages(f, g.addr, g.gup_flags & 1);
		if (!known || avail < 0) {
			e.ok = true;
			e.ret = -1;
			e.errs = FE(EFAULT) | FE(ENOMEM) | FE(EINVAL);
			avail = -1;
		} else if (!avail) {
			e.errs = FE(EFAULT);
		} else {
			e.ok = true;
			avail = avail < (long long)pages ? avail : (long long)pages;
		}
	}
	if (kind != FUZZ_PTR_OK) {
		/* Read-only: taken and released, then the reply cannot be written. */
		if (kind != FUZZ_PTR_RO || e.ok)
			e.errs |= FE(EFAULT);
		if (kind != FUZZ_PTR_RO)
			e.errs = FE(EFAULT);
		e.ok = false;
	}
	out = fuzz_arg(f, kind, &g, sizeof(g));
	errno = 0;
	ret = ioctl(st->fd, cmd, out);
	FUZZ_CHECK(f, &e, ret);
	if (!ret && avail > 0)
		ASSERT_EQ(avail * f->ps, out->size) TH_LOG("%s", f->what);
}

/* PIN_LONGTERM_TEST_START, STOP and READ. */
static void fuzz_gup_longterm(struct __test_metadata *_metadata, struct fuzz *f,
			      struct fuzz_gup *st, unsigned int cmd)
{
	struct mmprobe_pin_longterm_test t = {
		.addr = fuzz_addr(f),
		.size = fuzz_chance(f, 70) ? f->ps * (1 + fuzz_below(f, 50)) : fuzz_count(f),
		.flags = fuzz_chance(f, 80) ? fuzz_below(f, 4) : fuzz_rand(f),
	};
	enum fuzz_ptr kind = fuzz_ptr_kind(f);
	struct fuzz_expect e = { .ret = 0 };
	uint64_t pages = t.size / f->ps, target;
	long long avail, ret;
	void *arg;

	f->len = 0;
	if (cmd == MMPROBE_PIN_LONGTERM_TEST_STOP) {
		snprintf(f->what, sizeof(f->what), "gup_test STOP");
		e.ok = true;
		errno = 0;
		ret = ioctl(st->fd, cmd, fuzz_ptr(f, kind, 8));
		FUZZ_CHECK(f, &e, ret);
		f->pins -= st->longterm;
		st->longterm = 0;
		return;
	}
	if (cmd == MMPROBE_PIN_LONGTERM_TEST_READ) {
		enum fuzz_ptr tkind = fuzz_ptr_kind(f);

		target = (uintptr_t)(tkind == FUZZ_PTR_OK ? f->out : fuzz_ptr(f, tkind, 1));
		snprintf(f->what, sizeof(f->what), "gup_test READ to %#llx, arg kind %d",
			 (unsigned long long)target, kind);
		if (!st->longterm)
			e.errs = FE(EINVAL);
		else if (!fuzz_ptr_readable(kind, 8) || tkind != FUZZ_PTR_OK)
			e.errs = FE(EFAULT);
		else
			e.ok = true;
		arg = fuzz_arg(f, kind, &target, sizeof(target));
		errno = 0;
		ret = ioctl(st->fd, cmd, arg);
		FUZZ_CHECK(f, &e, ret);
		if (!ret)
			for (uint64_t i = 0; i < st->longterm * f->ps; i++)
				ASSERT_EQ(0x5a, (unsigned char)f->out[i]);
		return;
	}

	snprintf(f->what, sizeof(f->what),
		 "gup_test START addr %#llx (sandbox %+lld) size %#llx flags %#x, arg kind %d",
		 (unsigned long long)t.addr, (long long)(t.addr - (uintptr_t)f->sandbox),
		 (unsigned long long)t.size, t.flags, kind);
	avail = fuzz_gup_pages(f, t.addr, t.flags & MMPROBE_PIN_LONGTERM_TEST_FLAG_USE_WRITE);
	if (!fuzz_ptr_readable(kind, sizeof(t))) {
		e.errs = FE(EFAULT) | (st->longterm ? FE(EINVAL) : 0);
	} else if (st->longterm || (t.flags & ~3U) || ((t.addr | t.size) & (f->ps - 1)) ||
		   !pages || t.addr + t.size < t.addr || pages > FUZZ_GUP_MAX_PAGES) {
		e.errs = FE(EINVAL);
	} else if (fuzz_over_held_max(pages)) {
		e.errs = FE(ENOSPC);
	} else if (avail < 0) {
		e.ok = true;
		e.ret = 0;
		e.errs = FE(EFAULT) | FE(ENOMEM);
	} else if ((uint64_t)avail < pages) {
		e.errs = FE(EFAULT);	/* all or nothing */
	} else {
		e.ok = true;
	}
	arg = fuzz_arg(f, kind, &t, sizeof(t));
	errno = 0;
	ret = ioctl(st->fd, cmd, arg);
	FUZZ_CHECK(f, &e, ret);
	if (ret)
		return;
	if (avail < 0) {
		/* Not the sandbox: let go at once. */
		ASSERT_EQ(0, ioctl(st->fd, MMPROBE_PIN_LONGTERM_TEST_STOP, 0));
		return;
	}
	st->longterm = pages;
	f->pins += pages;
}

/*
 * mmprobe's gup_test file: every command with fuzzed structures, answered
 * as Documentation/gup_test.rst says; unknown commands ENOTTY.
 */
TEST_F_TIMEOUT(fuzz, gup_test_ioctls, FUZZ_TIMEOUT)
{
	struct fuzz *f = &self->f;
	unsigned long quota = fuzz_quota(15);
	struct fuzz_gup st = { };
	char buf[256];

	if (util_read_file(MMPROBE_DIR "/gup_test", buf, sizeof(buf)) < 0 ||
	    !strstr(buf, "provider=mmprobe"))
		SKIP(return, "/sys/kernel/debug/gup_test is not mmprobe's in this build");
	st.fd = fuzz_open("gup_test", O_RDWR);
	ASSERT_LE(0, st.fd);
	while (f->inputs < quota) {
		unsigned int cmd = fuzz_gup_cmds[fuzz_below(f, 9)];

		if (fuzz_chance(f, 10)) {
			fuzz_unknown_cmd(_metadata, f, "gup_test", st.fd, fuzz_gup_cmds, 9);
		} else if (_IOC_NR(cmd) >= 7) {
			fuzz_gup_longterm(_metadata, f, &st, cmd);
		} else if (cmd != MMPROBE_DUMP_USER_PAGES_TEST || fuzz_chance(f, 3)) {
			/* The dump writes to the kernel log: a few only. */
			fuzz_gup_run(_metadata, f, &st, cmd);
		}
		fuzz_check_pins(_metadata, f);
		if (fuzz_chance(f, 1)) {
			close(st.fd);
			f->pins -= st.longterm;
			st.longterm = 0;
			ASSERT_EQ(f->pins_base + f->pins,
				  robust_pins_expect(f->pins_base + f->pins));
			st.fd = fuzz_open("gup_test", O_RDWR);
			ASSERT_LE(0, st.fd);
		}
	}
	close(st.fd);
	f->pins -= st.longterm;
	ASSERT_EQ(0, f->pins);
	ASSERT_EQ(f->pins_base, robust_pins_expect(f->pins_base));
}

#endif /* MMPROBE_GUP_TEST_IOC_MAGIC */

#ifdef MMPROBE_IOC_MIGRATE

/* What the migrate oracle knows: the VMAs around the sandbox, the nodes. */
struct fuzz_migrate {
	int fd;
	struct { uint64_t start, end; bool ours; } vmas[512];
	int nr_vmas;
	uint64_t nodes;		/* online nodes with memory, below 64 */
	unsigned long calls;	/* inputs that passed the argument checks */
	unsigned long migrated;	/* pages the reports said moved */
};

/* A node list of sysfs ("0-1,3") as a mask of the nodes below 64. */
static uint64_t fuzz_node_mask(const char *path)
{
	char buf[256], *p = buf, *end;
	unsigned long a, b;
	uint64_t mask = 0;

	if (util_read_file(path, buf, sizeof(buf)) <= 0)
		return 1;
	while (*p >= '0' && *p <= '9') {
		a = strtoul(p, &end, 10);
		b = *end == '-' ? strtoul(end + 1, &end, 10) : a;
		for (; a <= b && a < 64; a++)
			mask |= 1ULL << a;
		p = *end == ',' ? end + 1 : end;
	}
	return mask;
}

/*
 * The address space as /proc/self/maps has it: an independent view of what
 * migrate_find_vma() will find. "ours" marks the VMAs that lie inside the
 * fixture's mapping (guards, sandbox, ro, none), the only ones a fuzzed
 * call may migrate.
 */
static int fuzz_read_vmas(struct fuzz *f, struct fuzz_migrate *st)
{
	uint64_t lo = (uintptr_t)f->sandbox - f->ps, hi = (uintptr_t)f->none + f->ps;
	unsigned long long start, end;
	char line[512];
	FILE *maps = fopen("/proc/self/maps", "r");

	if (!maps)
		return -errno;
	st->nr_vmas = 0;
	while (st->nr_vmas < 512 && fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%llx-%llx", &start, &end) != 2)
			continue;
		st->vmas[st->nr_vmas].start = start;
		st->vmas[st->nr_vmas].end = end;
		st->vmas[st->nr_vmas].ours = start >= lo && end <= hi;
		st->nr_vmas++;
	}
	fclose(maps);
	return st->nr_vmas;
}

/* The VMA with the lowest end above addr, as find_vma() picks it, or -1. */
static int fuzz_find_vma(struct fuzz_migrate *st, uint64_t addr)
{
	int i;

	for (i = 0; i < st->nr_vmas; i++)
		if (st->vmas[i].end > addr)
			return i;
	return -1;
}

/* fuzz_migrate_range(): the range starts in a VMA that is not ours. */
#define FUZZ_NOT_OURS	1

/*
 * The range check of Documentation/migrate.rst, from the maps: 0 when it
 * lies in one VMA of ours, -EFAULT when part of it is unmapped, -EINVAL
 * when it spans VMAs, FUZZ_NOT_OURS when it starts in a VMA that is not
 * ours (the input is not made: it could migrate the program's own text).
 */
static int fuzz_migrate_range(struct fuzz_migrate *st, uint64_t start, uint64_t end)
{
	int v = fuzz_find_vma(st, start), n;
	uint64_t addr;

	if (v < 0 || st->vmas[v].start > start)
		return -EFAULT;
	if (!st->vmas[v].ours)
		return FUZZ_NOT_OURS;
	if (end <= st->vmas[v].end)
		return 0;
	for (addr = st->vmas[v].end; addr < end; addr = st->vmas[n].end) {
		n = fuzz_find_vma(st, addr);
		if (n < 0 || st->vmas[n].start > addr)
			return -EFAULT;
	}
	return -EINVAL;
}

/* MMPROBE_IOC_MIGRATE with a fuzzed struct (Documentation/migrate.rst). */
static void fuzz_migrate_one(struct __test_metadata *_metadata, struct fuzz *f,
			     struct fuzz_migrate *st)
{
	struct mmprobe_migrate_args a = {
		.start = fuzz_addr(f),
		.node = fuzz_chance(f, 85) ? fuzz_below(f, 3) : fuzz_count(f),
		.flags = fuzz_chance(f, 85) ? fuzz_below(f, 2) : fuzz_rand(f),
		/* A valid hold is kept short: 0 to 2 ms. */
		.hold_ms = fuzz_chance(f, 90) ? 0 : fuzz_chance(f, 50) ? fuzz_below(f, 3) :
			   fuzz_count(f),
		.nr_frozen = fuzz_rand(f),
		.nr_migrated = fuzz_rand(f),
	};
	enum fuzz_ptr kind = fuzz_ptr_kind(f), pkind = fuzz_ptr_kind(f);
	struct mmprobe_migrate_page *rep = (void *)f->out;
	struct fuzz_expect e = { .ret = 0 };
	bool checked = false, maybe = false;
	struct mmprobe_migrate_args *out;
	uint64_t nr, end, i;
	char why[160];
	long long ret;
	int range = 0;

	/* Mostly a few pages, so that many ranges fit one VMA and move. */
	if (fuzz_chance(f, 50))
		a.len = (1 + fuzz_below(f, 4)) * f->ps;
	else if (fuzz_chance(f, 60))
		a.len = (1 + fuzz_below(f, FUZZ_SANDBOX_PAGES + 4)) * f->ps;
	else
		a.len = fuzz_chance(f, 50) ? fuzz_count(f) * f->ps : fuzz_count(f);
	nr = a.len / f->ps;
	/* The report, 0 (none), or a buffer it cannot be written to. */
	a.pages = fuzz_chance(f, 30) ? 0 : pkind == FUZZ_PTR_OK ? (uintptr_t)f->out :
		  (uintptr_t)fuzz_ptr(f, pkind, nr * sizeof(*rep));

	if ((a.flags & ~MMPROBE_MIGRATE_FLAGS) || a.hold_ms > MMPROBE_MIGRATE_MAX_HOLD_MS ||
	    !a.len || (a.start & (f->ps - 1)) || (a.len & (f->ps - 1)) ||
	    __builtin_add_overflow(a.start, a.len, &end) || end > FUZZ_TASK_SIZE_MAX ||
	    nr > MMPROBE_MIGRATE_MAX_PAGES || a.node >= 64 || !(st->nodes & (1ULL << a.node))) {
		e.errs = FE(EINVAL);
	} else if (end > f->task_size + f->ps) {
		/* Above the default task size: valid with 5-level paging only; unmapped then. */
		e.errs = FE(EINVAL) | FE(EFAULT);
		maybe = true;
	} else {
		range = fuzz_migrate_range(st, a.start, end);
		if (range == FUZZ_NOT_OURS)
			return;		/* not ours to migrate: no input */
		checked = true;
		if (range)
			e.errs = FE(-range);
		else if (a.pages && pkind != FUZZ_PTR_OK)
			e.errs = FE(EFAULT);	/* done, but not reported */
		else
			e.ok = true;
	}
	snprintf(f->what, sizeof(f->what),
		 "migrate start %#llx (sandbox %+lld) len %#llx node %llu flags %#llx hold %llu pages %#llx, arg kind %d",
		 (unsigned long long)a.start, (long long)(a.start - (uintptr_t)f->sandbox),
		 (unsigned long long)a.len, (unsigned long long)a.node,
		 (unsigned long long)a.flags, (unsigned long long)a.hold_ms,
		 (unsigned long long)a.pages, kind);
	f->len = 0;
	if (kind != FUZZ_PTR_OK) {
		/* Unreadable: nothing done. Read-only: done, then EFAULT. */
		if (kind != FUZZ_PTR_RO || e.ok)
			e.errs = FE(EFAULT);
		if (kind != FUZZ_PTR_RO) {
			checked = false;
			maybe = false;
		}
		e.ok = false;
	}
	out = fuzz_arg(f, kind, &a, sizeof(a));
	errno = 0;
	ret = ioctl(st->fd, MMPROBE_IOC_MIGRATE, out);
	FUZZ_CHECK(f, &e, ret);
	/* Above 47 bits, EFAULT says the checks passed and the lookup failed. */
	st->calls += checked || (maybe && errno == EFAULT);
	if (ret)
		return;

	ASSERT_EQ(0, robust_migrate_report_check(out, a.pages ? rep : NULL, why, sizeof(why)))
		TH_LOG("%s: %s", f->what, why);
	st->migrated += out->nr_migrated;
	/* Nothing else moves pages here: a migrated page is on the node asked for. */
	for (i = 0; a.pages && i < nr; i++)
		if (rep[i].result == MMPROBE_MIGRATE_MIGRATED &&
		    (rep[i].after.flags & MMPROBE_MIGRATE_PTE_PRESENT))
			ASSERT_EQ(a.node, rep[i].after.node) TH_LOG("%s", f->what);
	/* Moved or not, the readable pages of the sandbox hold what they held. */
	for (i = 0; i < nr; i++) {
		uint64_t addr = a.start + i * f->ps;
		long long p = ((long long)addr - (long long)(uintptr_t)f->sandbox) /
			      (long long)f->ps;
		char *page = f->sandbox + p * f->ps;

		if (addr >= (uintptr_t)f->sandbox && p < FUZZ_RO_END)
			ASSERT_TRUE(page[0] == 0x5a && page[f->ps - 1] == 0x5a &&
				    !memcmp(page, page + 1, f->ps - 1))
				TH_LOG("%s: page %lld changed", f->what, p);
	}
}

/*
 * The migrate file: MMPROBE_IOC_MIGRATE with every field fuzzed over the
 * sandbox and anywhere, answered as Documentation/migrate.rst says; the
 * calls that pass the checks counted in stats; the sandbox's data never
 * changed by a migration; unknown commands ENOTTY.
 */
TEST_F_TIMEOUT(fuzz, migrate_ioctls, FUZZ_TIMEOUT)
{
	static const unsigned int cmds[] = { MMPROBE_IOC_MIGRATE };
	struct fuzz *f = &self->f;
	unsigned long quota = fuzz_quota(10);
	struct fuzz_migrate *st;
	long long calls, migrated;
	char stats[4096];

	if (!robust_has_file("migrate"))
		SKIP(return, "no migrate file in this build of mmprobe");
	st = calloc(1, sizeof(*st));
	ASSERT_NE(NULL, st);
	st->nodes = fuzz_node_mask("/sys/devices/system/node/has_memory");
	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/stats", stats, sizeof(stats)));
	calls = util_kv_get(stats, "migrate_calls");
	migrated = util_kv_get(stats, "migrate_pages_migrated");
	ASSERT_LE(0, calls);
	st->fd = fuzz_open("migrate", O_RDWR);
	ASSERT_LE(0, st->fd);
	/* Nothing below maps or unmaps: the maps stay what they are now. */
	ASSERT_LT(0, fuzz_read_vmas(f, st));
	while (f->inputs < quota) {
		if (fuzz_chance(f, 5))
			fuzz_unknown_cmd(_metadata, f, "migrate", st->fd, cmds, 1);
		else
			fuzz_migrate_one(_metadata, f, st);
	}
	close(st->fd);
	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/stats", stats, sizeof(stats)));
	EXPECT_EQ(calls + (long long)st->calls, util_kv_get(stats, "migrate_calls"));
	/* Reports may be lost to a bad buffer: at least what they said moved. */
	EXPECT_LE(migrated + (long long)st->migrated,
		  util_kv_get(stats, "migrate_pages_migrated"));
	TH_LOG("%lu calls passed the checks, %lu pages migrated", st->calls, st->migrated);
	free(st);
}

#endif /* MMPROBE_IOC_MIGRATE */

/* Open every file of mmprobe, in every way that works, plus foreign files. */
struct fuzz_fd {
	int fd;
	char name[48];
	/* 0: mmprobe text; 1: pin, migrate (ioctls only); 2: gup_test; 3: foreign */
	int kind;
	bool readable, writable;
};

/* Is cmd one of the commands of the file (named "pin/..." or "migrate/...")? */
static bool fuzz_owns(const char *name, unsigned int cmd)
{
#ifdef MMPROBE_PIN_IOC_TAKE
	unsigned int i;

	if (!strncmp(name, "pin/", 4))
		for (i = 0; i < ARRAY_SIZE(fuzz_pin_cmds); i++)
			if (cmd == fuzz_pin_cmds[i])
				return true;
#endif
#ifdef MMPROBE_IOC_MIGRATE
	if (!strncmp(name, "migrate/", 8))
		return cmd == MMPROBE_IOC_MIGRATE;
#endif
	return false;
}

/*
 * File descriptors that are not what a command expects: each command of
 * every ioctl-capable file on every other file (ENOTTY), on closed, negative
 * and O_PATH descriptors (EBADF), reads and writes of files opened the
 * other way (EBADF), and files without read or write methods (EINVAL).
 */
TEST_F_TIMEOUT(fuzz, foreign_fds, FUZZ_TIMEOUT)
{
	struct robust_file files[ROBUST_MAX_FILES];
	unsigned int cmds[16], nr_cmds = 0;
	struct fuzz *f = &self->f;
	struct fuzz_fd fds[64];
	unsigned long quota;
	int nr_files, nr = 0, i, pipefd[2], closed;

	/* Whatever the earlier tests left of the total quota, at least 15%. */
	quota = fuzz_quota(15);
	if (fuzz_totals && fuzz_quota(100) > fuzz_totals[0] + quota)
		quota = fuzz_quota(100) - fuzz_totals[0];
#ifdef MMPROBE_PIN_IOC_TAKE
	for (i = 0; i < 4; i++)
		cmds[nr_cmds++] = fuzz_pin_cmds[i];
#endif
#ifdef MMPROBE_GUP_TEST_IOC_MAGIC
	for (i = 0; i < 9; i++)
		cmds[nr_cmds++] = fuzz_gup_cmds[i];
#endif
#ifdef MMPROBE_IOC_MIGRATE
	cmds[nr_cmds++] = MMPROBE_IOC_MIGRATE;
#endif
	nr_files = robust_list(files, ROBUST_MAX_FILES);
	ASSERT_LT(0, nr_files);
	for (i = 0; i < nr_files && nr < 56; i++) {
		static const int modes[] = { O_RDONLY, O_WRONLY, O_RDWR, O_PATH };
		int m;

		for (m = 0; m < 4; m++) {
			struct fuzz_fd *d = &fds[nr];

			d->fd = open(files[i].path, modes[m]);
			if (d->fd < 0)
				continue;
			snprintf(d->name, sizeof(d->name), "%s/%d", files[i].name, modes[m]);
			d->kind = !strcmp(files[i].name, "pin") ||
				  !strcmp(files[i].name, "migrate") ? 1 : 0;
			d->readable = modes[m] != O_WRONLY && modes[m] != O_PATH;
			d->writable = modes[m] != O_RDONLY && modes[m] != O_PATH;
			if (modes[m] == O_PATH)
				d->kind = 4;
			nr++;
		}
	}
	if (util_read_file(MMPROBE_DIR "/gup_test", f->out, 256) > 0 &&
	    strstr(f->out, "provider=mmprobe"))
		fds[nr++] = (struct fuzz_fd){ fuzz_open("gup_test", O_RDWR), "gup_test", 2,
					      true, true };
	ASSERT_EQ(0, pipe(pipefd));
	fds[nr++] = (struct fuzz_fd){ pipefd[0], "pipe", 3, true, false };
	fds[nr++] = (struct fuzz_fd){ open("/dev/null", O_RDWR), "/dev/null", 3, true, true };
	fds[nr++] = (struct fuzz_fd){ memfd_create("fuzz", 0), "memfd", 3, true, true };
	fds[nr++] = (struct fuzz_fd){ open("/proc/self/status", O_RDONLY), "proc", 3, true,
				      false };
	closed = open("/dev/null", O_RDONLY);
	close(closed);
	fds[nr++] = (struct fuzz_fd){ closed, "closed", 5, false, false };
	fds[nr++] = (struct fuzz_fd){ -1, "-1", 5, false, false };
	fds[nr++] = (struct fuzz_fd){ 1 << 20, "1<<20", 5, false, false };

	while (f->inputs < quota) {
		struct fuzz_fd *d = &fds[fuzz_below(f, nr)];
		struct fuzz_expect e = { };
		unsigned int cmd;
		long long ret;
		int op = fuzz_below(f, 4);

		f->len = 0;
		if (d->fd < 0 && d->kind != 5)
			continue;
		if (op < 2 && nr_cmds) {
			cmd = cmds[fuzz_below(f, nr_cmds)];
			/* The owner of the command is fuzzed elsewhere. */
			if ((d->kind == 1 && fuzz_owns(d->name, cmd)) ||
			    (d->kind == 2 && _IOC_TYPE(cmd) == 'g'))
				continue;
			snprintf(f->what, sizeof(f->what), "ioctl %#x on %s", cmd, d->name);
			e.errs = d->kind >= 4 ? FE(EBADF) : FE(ENOTTY);
			errno = 0;
			ret = ioctl(d->fd, cmd, fuzz_ptr(f, fuzz_ptr_kind(f), 128));
		} else if (op == 2) {
			snprintf(f->what, sizeof(f->what), "write to %s", d->name);
			if (d->kind >= 4 || !d->writable)
				e.errs = FE(EBADF);
			else if (d->kind == 1 || d->kind == 2)
				e.errs = FE(EINVAL);	/* no write method */
			else if (d->kind == 3)
				e.ok = true, e.ret = -1;
			else
				continue;	/* text writes are fuzzed above */
			errno = 0;
			ret = write(d->fd, "reset\n", 6);
		} else {
			snprintf(f->what, sizeof(f->what), "read from %s", d->name);
			if (d->kind >= 4 || !d->readable)
				e.errs = FE(EBADF);
			else if (d->kind == 1 || d->kind == 2)
				e.errs = FE(EINVAL);	/* no read method */
			else if (d->kind == 3 && strcmp(d->name, "pipe"))
				e.ok = true, e.ret = -1;
			else
				continue;
			errno = 0;
			ret = read(d->fd, f->out, 16);
		}
		FUZZ_CHECK(f, &e, ret);
	}
	for (i = 0; i < nr; i++)
		if (fds[i].fd >= 0 && fds[i].kind != 5)
			close(fds[i].fd);
	close(pipefd[1]);
}

/*
 * Last: the inputs of all tests together reach the quota, nothing is left
 * pinned, the module still works and it unloads.
 */
TEST_F_TIMEOUT(fuzz, afterwards, FUZZ_TIMEOUT)
{
	struct fuzz *f = &self->f;
	char buf[4096];
	int ret;

	ASSERT_NE(NULL, fuzz_totals);
	TH_LOG("%lu inputs in all, %lu of them rejected", fuzz_totals[0], fuzz_totals[1]);
	EXPECT_LE(fuzz_quota(100) * 9 / 10, fuzz_totals[0]);
	EXPECT_EQ(f->pins_base, robust_pins_expect(f->pins_base));

	ASSERT_LT(0, util_read_file(MMPROBE_DIR "/version", buf, sizeof(buf)));
	ASSERT_EQ(0, strcmp(buf, f->version));
	ASSERT_EQ(0, util_write_file(MMPROBE_DIR "/stats", "reset"));
	ret = robust_unload_wait(ROBUST_UNLOAD_WAIT_MS, NULL);
	ASSERT_EQ(0, ret) TH_LOG("unload: %s", strerror(-ret));
	ASSERT_EQ(0, kmod_util_load(kmod_util_mmprobe_path(), NULL));
}

static void __attribute__((constructor)) fuzz_init(void)
{
	const char *env = getenv("MMPROBE_FUZZ_SEED");
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);

	fuzz_totals = p == MAP_FAILED ? NULL : p;
	fuzz_the_seed = env && *env ? strtoull(env, NULL, 0) :
			((uint64_t)time(NULL) << 20) ^ getpid();
}

TEST_HARNESS_MAIN
