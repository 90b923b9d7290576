// SPDX-License-Identifier: GPL-2.0
/*
 * hold: how many pages mmprobe may hold, and who pays for them.
 *
 * Every page the module holds with a pin (FOLL_PIN) or a reference
 * (FOLL_GET) beyond the ioctl that took it, or within one ioctl (gup_test's
 * commands), is charged here before it is taken:
 *
 * - to the pinning mm's pinned_vm, against the caller's RLIMIT_MEMLOCK,
 *   unless the file's opener has CAP_IPC_LOCK, as RDMA's ib_umem_get() and
 *   io_uring's buffer registration do; over the limit: ENOMEM, as mlock(2);
 * - to a module-wide count, against max_held_pages (default: half of RAM);
 *   over it: ENOSPC.
 *
 * The charger keeps the mm alive (mmgrab()) until it uncharges, which may
 * happen in ->release, in another task, after the mm exited.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/sysfs.h>
#include <linux/user_namespace.h>

#include "mmprobe.h"

/* Pages held by all files; at most hold_max_pages. */
static atomic_long_t hold_pages;
/* The limit on hold_pages; 0: half of RAM (totalram_pages() now). */
static unsigned long hold_max_pages;

static unsigned long hold_max(void)
{
	unsigned long max = READ_ONCE(hold_max_pages);

	return max ?: totalram_pages() / 2;
}

static int hold_max_set(const char *val, const struct kernel_param *kp)
{
	unsigned long n;

	if (kstrtoul(val, 0, &n))
		return -EINVAL;
	if (!n || n > totalram_pages())
		return -EINVAL;
	WRITE_ONCE(hold_max_pages, n);
	return 0;
}

static int hold_max_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%lu\n", hold_max());
}

static const struct kernel_param_ops hold_max_ops = {
	.set	= hold_max_set,
	.get	= hold_max_get,
};
module_param_cb(max_held_pages, &hold_max_ops, NULL, 0644);
MODULE_PARM_DESC(max_held_pages,
		 "Pages all of mmprobe may pin or hold at once (default half of RAM, 1 to all of RAM)");

/**
 * mmprobe_hold_charge() - account @nr pages about to be held for @mm
 * @file: the probe file; CAP_IPC_LOCK of its opener lifts RLIMIT_MEMLOCK
 * @mm: the address space the pages belong to; the caller keeps it
 *	(mmgrab()) until mmprobe_hold_uncharge()
 * @nr: pages
 *
 * Context: process context; the caller's RLIMIT_MEMLOCK applies.
 * Return: 0, -ENOSPC past max_held_pages, -ENOMEM past RLIMIT_MEMLOCK.
 * Nothing is charged on failure.
 */
int mmprobe_hold_charge(const struct file *file, struct mm_struct *mm,
			unsigned long nr)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	unsigned long max = hold_max();
	s64 pinned;

	if (nr > max)
		return -ENOSPC;
	if (atomic_long_add_return(nr, &hold_pages) > max) {
		atomic_long_sub(nr, &hold_pages);
		return -ENOSPC;
	}
	pinned = atomic64_add_return(nr, &mm->pinned_vm);
	if (pinned > limit && !file_ns_capable(file, &init_user_ns, CAP_IPC_LOCK)) {
		atomic64_sub(nr, &mm->pinned_vm);
		atomic_long_sub(nr, &hold_pages);
		return -ENOMEM;
	}
	return 0;
}

/**
 * mmprobe_hold_uncharge() - the pages of mmprobe_hold_charge() are released
 * @mm: the mm charged
 * @nr: pages released, at most what was charged for @mm
 *
 * Context: any context.
 */
void mmprobe_hold_uncharge(struct mm_struct *mm, unsigned long nr)
{
	atomic64_sub(nr, &mm->pinned_vm);
	atomic_long_sub(nr, &hold_pages);
}

/**
 * mmprobe_hold_show() - the "held_pages" lines of debugfs "stats"
 * @m: the stats file
 */
void mmprobe_hold_show(struct seq_file *m)
{
	seq_printf(m, "held_pages %ld\n", atomic_long_read(&hold_pages));
	seq_printf(m, "held_pages_max %lu\n", hold_max());
}
