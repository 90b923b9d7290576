/* SPDX-License-Identifier: GPL-2.0 */
/*
 * line: the "key=value" lines of mmprobe's text reports, built without
 * vsnprintf().
 *
 * A text inspect report of 1 GiB of small pages is 262144 lines of 16 to
 * 20 numbers each; formatted with scnprintf() it took 13 times as long as
 * reading pagemap and kpageflags for the same range (Documentation/
 * inspect.rst), nearly all of it in vsnprintf()'s parsing of the format,
 * once per number. These append a fixed key and one number each.
 *
 * Like scnprintf(), they never write past @size and leave room for the
 * NUL that mmprobe_line_end() writes: what does not fit is dropped, and
 * @len counts only what was written.
 */
#ifndef _MMPROBE_LINE_H
#define _MMPROBE_LINE_H

#include <linux/bitops.h>
#include <linux/string.h>
#include <linux/types.h>

/**
 * struct mmprobe_line - a line being built
 * @buf: the output buffer
 * @size: its size, at least 1
 * @len: characters in it, not counting the NUL that mmprobe_line_end()
 *	writes
 */
struct mmprobe_line {
	char *buf;
	size_t size;
	size_t len;
};

static inline void mmprobe_line_init(struct mmprobe_line *l, char *buf, size_t size)
{
	l->buf = buf;
	l->size = size;
	l->len = 0;
}

/* NUL-terminate the line; returns its length. */
static inline size_t mmprobe_line_end(struct mmprobe_line *l)
{
	l->buf[l->len] = '\0';
	return l->len;
}

/*
 * Append @n bytes of @s, or what fits. Inlined with a string literal, @n
 * is a constant and the copy a few moves: the keys cost next to nothing.
 */
static __always_inline void mmprobe_line_mem(struct mmprobe_line *l, const char *s,
					     size_t n)
{
	if (unlikely(l->len + n >= l->size))
		n = l->size - 1 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/*
 * A key (a literal: a constant copy), or a name from a table: byte by byte,
 * as a call to memcpy() of a few bytes costs more than the copy (under TCG
 * a "rep movsb" is a loop of its own).
 */
static __always_inline void mmprobe_line_puts(struct mmprobe_line *l, const char *s)
{
	if (__builtin_constant_p(strlen(s))) {
		mmprobe_line_mem(l, s, strlen(s));
		return;
	}
	while (*s && l->len + 1 < l->size)
		l->buf[l->len++] = *s++;
}

/* Room for @n more characters and the NUL? Else the slow, clamped way. */
static __always_inline bool mmprobe_line_room(const struct mmprobe_line *l, size_t n)
{
	return likely(l->len + n < l->size);
}

/* @key (" order=", say), then @v in decimal. */
static __always_inline void mmprobe_line_dec(struct mmprobe_line *l, const char *key, s64 v)
{
	u64 u = v < 0 ? -(u64)v : v, t;
	size_t n = (v < 0) + 1;
	char *p;

	mmprobe_line_puts(l, key);
	/* most values are a flag or a count below ten */
	if (u < 10 && v >= 0 && mmprobe_line_room(l, 1)) {
		l->buf[l->len++] = '0' + u;
		return;
	}
	for (t = u; t >= 10; t /= 10)
		n++;
	if (!mmprobe_line_room(l, n)) {
		char tmp[24];
		int i = sizeof(tmp);

		do {
			tmp[--i] = '0' + u % 10;
			u /= 10;
		} while (u);
		if (v < 0)
			tmp[--i] = '-';
		mmprobe_line_mem(l, tmp + i, sizeof(tmp) - i);
		return;
	}
	/* the digits, from the last one back */
	p = l->buf + l->len + n;
	l->len += n;
	do {
		*--p = '0' + u % 10;
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
}

/* @key (" pfn=", say), then @v as "0x" and lower-case hex digits. */
static __always_inline void mmprobe_line_hex(struct mmprobe_line *l, const char *key, u64 v)
{
	size_t n = v ? (fls64(v) + 3) / 4 : 1;
	char *p;

	mmprobe_line_puts(l, key);
	mmprobe_line_mem(l, "0x", 2);
	if (!mmprobe_line_room(l, n)) {
		for (; n; n--)
			mmprobe_line_mem(l, &"0123456789abcdef"[v >> (4 * (n - 1)) & 15], 1);
		return;
	}
	p = l->buf + l->len + n;
	l->len += n;
	do {
		*--p = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
}

#endif /* _MMPROBE_LINE_H */
