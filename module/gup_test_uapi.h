/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The ioctl ABI of /sys/kernel/debug/gup_test, which the kernel provides with
 * CONFIG_GUP_TEST (mm/gup_test.h, not exported to user space) and mmprobe
 * provides where it does not.
 *
 * Written from the ABI: the numbers, sizes and field offsets below are those
 * of mm/gup_test.h in v6.1, v6.12 and v7.3, so that the kernel's own
 * selftests (gup_test, cow, gup_longterm), built against that header, drive
 * either file unchanged. The names carry an MMPROBE_ prefix so that both
 * headers can be included together.
 *
 * This is an existing ABI, so unlike mmprobe_uapi.h it has __u32 fields and
 * tail padding that the ioctl size counts (struct mmprobe_gup_test is 80
 * bytes, struct mmprobe_pin_longterm_test 24 on 64-bit). Padding is not
 * checked: callers that fill the structures with designated initializers
 * leave it undefined.
 *
 *   commands 1-6: since v5.11 (gup_benchmark before)
 *   commands 7-9: since v6.2, for the anon_cow (now cow) selftest, later
 *                 used by gup_longterm; absent from the v6.1 header
 */
#ifndef _MMPROBE_GUP_TEST_UAPI_H
#define _MMPROBE_GUP_TEST_UAPI_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define MMPROBE_GUP_TEST_IOC_MAGIC	'g'

/*
 * Take the pages of [addr, addr + size) of the caller, nr_pages_per_call
 * pages per call, with one GUP flavour, then release them; the time of both
 * steps is returned. Arguments and results in struct mmprobe_gup_test.
 */
#define MMPROBE_GUP_FAST_BENCHMARK	_IOWR('g', 1, struct mmprobe_gup_test)
#define MMPROBE_PIN_FAST_BENCHMARK	_IOWR('g', 2, struct mmprobe_gup_test)
#define MMPROBE_PIN_LONGTERM_BENCHMARK	_IOWR('g', 3, struct mmprobe_gup_test)
#define MMPROBE_GUP_BASIC_TEST		_IOWR('g', 4, struct mmprobe_gup_test)
#define MMPROBE_PIN_BASIC_TEST		_IOWR('g', 5, struct mmprobe_gup_test)
#define MMPROBE_DUMP_USER_PAGES_TEST	_IOWR('g', 6, struct mmprobe_gup_test)

/*
 * Pin [addr, addr + size) with FOLL_LONGTERM until STOP or until the file is
 * closed; READ copies the pinned pages' contents to the user address that
 * its __u64 argument holds (it is _IOW: the kernel reads the __u64).
 */
#define MMPROBE_PIN_LONGTERM_TEST_START	_IOW('g', 7, struct mmprobe_pin_longterm_test)
#define MMPROBE_PIN_LONGTERM_TEST_STOP	_IO('g', 8)
#define MMPROBE_PIN_LONGTERM_TEST_READ	_IOW('g', 9, __u64)

#define MMPROBE_GUP_TEST_MAX_PAGES_TO_DUMP	8

/* test_flags: DUMP_USER_PAGES_TEST pins instead of taking references. */
#define MMPROBE_GUP_TEST_FLAG_DUMP_PAGES_USE_PIN	0x1

/**
 * struct mmprobe_gup_test - argument of commands 1-6
 * @get_delta_usec: (out) microseconds spent taking the pages
 * @put_delta_usec: (out) microseconds spent releasing them
 * @addr: (in) start of the range, in the caller's address space
 * @size: (in) length of the range in bytes; (out) the part that was taken
 * @nr_pages_per_call: (in) pages per GUP call
 * @gup_flags: (in) FOLL_* flags, with the values of the running kernel
 * @test_flags: (in) MMPROBE_GUP_TEST_FLAG_*
 * @which_pages: (in) DUMP_USER_PAGES_TEST: pages to dump, 1-based from
 *	@addr, 0 meaning none; (out) entries beyond the pages taken are zeroed
 * @__pad: tail padding of the original layout, ignored
 */
struct mmprobe_gup_test {
	__u64 get_delta_usec;
	__u64 put_delta_usec;
	__u64 addr;
	__u64 size;
	__u32 nr_pages_per_call;
	__u32 gup_flags;
	__u32 test_flags;
	__u32 which_pages[MMPROBE_GUP_TEST_MAX_PAGES_TO_DUMP];
	__u32 __pad;
};

/* flags of PIN_LONGTERM_TEST_START */
#define MMPROBE_PIN_LONGTERM_TEST_FLAG_USE_WRITE	1
#define MMPROBE_PIN_LONGTERM_TEST_FLAG_USE_FAST		2

/**
 * struct mmprobe_pin_longterm_test - argument of PIN_LONGTERM_TEST_START
 * @addr: (in) start of the range, page aligned
 * @size: (in) length in bytes, page aligned, not 0
 * @flags: (in) MMPROBE_PIN_LONGTERM_TEST_FLAG_*
 * @__pad: tail padding of the original layout, ignored
 */
struct mmprobe_pin_longterm_test {
	__u64 addr;
	__u64 size;
	__u32 flags;
	__u32 __pad;
};

#endif /* _MMPROBE_GUP_TEST_UAPI_H */
