// SPDX-License-Identifier: GPL-2.0
/*
 * gup_test: /sys/kernel/debug/gup_test for kernels built without
 * CONFIG_GUP_TEST, so that the kernel's own GUP selftests (gup_test, cow,
 * gup_longterm) run on distribution kernels.
 *
 * The ioctl ABI is the kernel's (see gup_test_uapi.h); what differs from the
 * kernel's file is listed in Documentation/gup_test.rst. Every command acts on
 * the caller's own mm. Commands 1-6 take and release their pages within the
 * ioctl. The FOLL_LONGTERM pins of PIN_LONGTERM_TEST_START belong to the open
 * file: STOP or the last close of the file releases them, so a process that
 * dies holding them drops them too.
 *
 * mmprobe/gup_test tells who provides /sys/kernel/debug/gup_test.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/ktime.h>
#include <linux/limits.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "gup_test_uapi.h"
#include "mmprobe.h"
#include "page.h"

static bool gup_test_enable = true;
module_param_named(gup_test, gup_test_enable, bool, 0444);
MODULE_PARM_DESC(gup_test,
		 "Provide /sys/kernel/debug/gup_test when the kernel has none (default: 1)");

/* Who provides /sys/kernel/debug/gup_test; set once at init. */
enum gup_test_provider {
	GUP_TEST_NONE,
	GUP_TEST_KERNEL,
	GUP_TEST_MMPROBE,
};

static const char * const gup_test_provider_names[] = {
	[GUP_TEST_NONE]		= "none",
	[GUP_TEST_KERNEL]	= "kernel",
	[GUP_TEST_MMPROBE]	= "mmprobe",
};

static enum gup_test_provider gup_test_provider;
/* mmprobe's /sys/kernel/debug/gup_test, removed at exit; NULL when none. */
static struct dentry *gup_test_dentry;
/* Pages held by PIN_LONGTERM_TEST_START in all open files. */
static atomic_long_t gup_test_longterm_held;

/*
 * The largest range one command takes: its page array must stay within what
 * kvmalloc() allows (INT_MAX bytes).
 */
#define GUP_TEST_MAX_PAGES	(INT_MAX / sizeof(struct page *))

/* gup_flags a caller may pass: the FOLL_* flags GUP lets its callers use. */
#define GUP_TEST_GET_FLAGS	(FOLL_WRITE | FOLL_FORCE | MMPROBE_FOLL_TOUCH)
#define GUP_TEST_PIN_FLAGS	(GUP_TEST_GET_FLAGS | FOLL_LONGTERM)

/**
 * struct gup_test_file - the state of one open gup_test file
 * @lock: serializes the PIN_LONGTERM_TEST_* commands; protects the fields
 *	below
 * @pages: the pages PIN_LONGTERM_TEST_START pinned, NULL when none
 * @nr_pages: how many of @pages are pinned
 * @mm: the mm the pins were charged to (hold.c), mmgrab()ed; NULL when none
 * @charged: pages charged to @mm
 */
struct gup_test_file {
	struct mutex lock; /* protects all below */
	struct page **pages;
	unsigned long nr_pages;
	struct mm_struct *mm;
	unsigned long charged;
};

/**
 * struct gup_test_op - how one of commands 1-6 takes its pages
 * @pin: pin_user_pages*() (FOLL_PIN), else get_user_pages*() (FOLL_GET)
 * @fast: the lockless *_fast() variant; else under mmap_lock
 * @gup_flags: flags the command adds to the caller's
 */
struct gup_test_op {
	bool pin;
	bool fast;
	unsigned int gup_flags;
};

static bool gup_test_op_of(unsigned int cmd, u32 test_flags, struct gup_test_op *op)
{
	op->pin = false;
	op->fast = false;
	op->gup_flags = 0;
	switch (cmd) {
	case MMPROBE_GUP_FAST_BENCHMARK:
		op->fast = true;
		break;
	case MMPROBE_PIN_FAST_BENCHMARK:
		op->pin = true;
		op->fast = true;
		break;
	case MMPROBE_PIN_LONGTERM_BENCHMARK:
		op->pin = true;
		op->gup_flags = FOLL_LONGTERM;
		break;
	case MMPROBE_GUP_BASIC_TEST:
		break;
	case MMPROBE_PIN_BASIC_TEST:
		op->pin = true;
		break;
	case MMPROBE_DUMP_USER_PAGES_TEST:
		op->pin = test_flags & MMPROBE_GUP_TEST_FLAG_DUMP_PAGES_USE_PIN;
		break;
	default:
		return false;
	}
	return true;
}

static long gup_test_take(const struct gup_test_op *op, unsigned long addr,
			  unsigned long nr, unsigned int gup_flags, struct page **pages)
{
	gup_flags |= op->gup_flags;
	if (op->pin && op->fast)
		return pin_user_pages_fast(addr, nr, gup_flags, pages);
	if (op->pin)
		return mmprobe_pin_user_pages(addr, nr, gup_flags, pages);
	if (op->fast)
		return get_user_pages_fast(addr, nr, gup_flags, pages);
	return mmprobe_get_user_pages(addr, nr, gup_flags, pages);
}

static void gup_test_release_pages(const struct gup_test_op *op, struct page **pages,
				   unsigned long nr)
{
	unsigned long i;

	if (op->pin) {
		unpin_user_pages(pages, nr);
		mmprobe_stat_add(MMPROBE_STAT_GUP_TEST_UNPINNED, nr);
		return;
	}
	for (i = 0; i < nr; i++)
		put_page(pages[i]);
	mmprobe_stat_add(MMPROBE_STAT_GUP_TEST_PUT, nr);
}

/*
 * The check the kernel's file does after pinning: every page is pinned as
 * folio_maybe_dma_pinned() sees it, and a FOLL_LONGTERM pin never holds a
 * page that cannot stay pinned (ZONE_MOVABLE, CMA). The shared zero page is
 * not refcounted by pins since v6.5 ("mm/gup: don't pin the zero page"), so
 * it is left out. The kernel WARNs; mmprobe reports and counts.
 */
static void gup_test_verify(const struct gup_test_op *op, unsigned int gup_flags,
			    struct page **pages, unsigned long nr)
{
	bool longterm = (gup_flags | op->gup_flags) & FOLL_LONGTERM;
	unsigned long i;

	if (!op->pin)
		return;
	for (i = 0; i < nr; i++) {
		struct folio *folio = page_folio(pages[i]);

		if (mmprobe_is_zero_pfn(page_to_pfn(pages[i])))
			continue;
		if (!folio_maybe_dma_pinned(folio)) {
			pr_err("gup_test: pages[%lu] is not dma-pinned\n", i);
		} else if (longterm && !mmprobe_folio_is_longterm_pinnable(folio)) {
			pr_err("gup_test: pages[%lu] is pinned FOLL_LONGTERM but not pinnable\n",
			       i);
		} else {
			continue;
		}
		dump_page(pages[i], "gup_test failure");
		mmprobe_stat_inc(MMPROBE_STAT_GUP_TEST_VERIFY_FAILED);
		break;
	}
}

/*
 * DUMP_USER_PAGES_TEST: dump_page() of each page of which_pages[] (1-based
 * indices into the pages taken; others are zeroed in the reply), then
 * mmprobe's description of it.
 */
static void gup_test_dump(struct mmprobe_gup_test *gt, struct page **pages,
			  unsigned long nr, bool show_pfn)
{
	struct mmprobe_page_info info;
	struct vm_area_struct *vma;
	unsigned long addr;
	char buf[192];
	unsigned int i;
	u32 index;

	mmap_assert_locked(current->mm);
	for (i = 0; i < MMPROBE_GUP_TEST_MAX_PAGES_TO_DUMP; i++) {
		if (gt->which_pages[i] > nr) {
			pr_info("gup_test: which_pages[%u] = %u is beyond the %lu pages taken: ignored\n",
				i, gt->which_pages[i], nr);
			gt->which_pages[i] = 0;
		}
	}
	for (i = 0; i < MMPROBE_GUP_TEST_MAX_PAGES_TO_DUMP; i++) {
		if (!gt->which_pages[i])
			continue;
		index = gt->which_pages[i] - 1;
		addr = (unsigned long)gt->addr + index * PAGE_SIZE;
		pr_info("---- page #%u, starting from user virt addr: 0x%llx\n",
			index, gt->addr);
		dump_page(pages[index], "gup_test: dump_pages() test");
		/* The mmap_lock keeps the VMA; our reference or pin the page. */
		vma = vma_lookup(current->mm, addr);
		mmprobe_page_info_fill(&info, pages[index], vma,
				       folio_test_pmd_mappable(page_folio(pages[index])));
		mmprobe_page_info_format(buf, sizeof(buf), &info, show_pfn);
		pr_info("gup_test: page #%u addr=0x%lx kind=%s %s\n", index, addr,
			mmprobe_kind_names[info.kind], buf);
	}
}

/* Commands 1-6: take [addr, addr + size), check, dump, release, time it. */
static int gup_test_run(struct file *file, unsigned int cmd, struct mmprobe_gup_test *gt)
{
	unsigned long start, end, nr_pages, done = 0;
	struct mm_struct *mm = current->mm;
	struct gup_test_op op;
	struct page **pages;
	unsigned int flags;
	ktime_t t0;
	long nr = 0;
	int ret = 0;

	if (gt->test_flags & ~MMPROBE_GUP_TEST_FLAG_DUMP_PAGES_USE_PIN)
		return -EINVAL;
	if (!gup_test_op_of(cmd, gt->test_flags, &op))
		return -ENOTTY;
	flags = gt->gup_flags;
	if (flags & ~(op.pin ? GUP_TEST_PIN_FLAGS : GUP_TEST_GET_FLAGS))
		return -EINVAL;
	if (!gt->nr_pages_per_call)
		return -EINVAL;
	start = gt->addr;
	if (start != gt->addr || (unsigned long)gt->size != gt->size ||
	    check_add_overflow(start, (unsigned long)gt->size, &end))
		return -EINVAL;
	nr_pages = gt->size >> PAGE_SHIFT;
	if (!nr_pages || nr_pages > GUP_TEST_MAX_PAGES)
		return -EINVAL;
	/* Held only during the ioctl, but held: charged as every hold. */
	ret = mmprobe_hold_charge(file, mm, nr_pages);
	if (ret)
		return ret;

	pages = kvcalloc(nr_pages, sizeof(*pages), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!pages) {
		ret = -ENOMEM;
		goto uncharge;
	}
	if (!op.fast && mmap_read_lock_killable(mm)) {
		kvfree(pages);
		ret = -EINTR;
		goto uncharge;
	}

	/* As the kernel's file: stop at the first call that falls short. */
	t0 = ktime_get();
	while (done < nr_pages) {
		unsigned long want = min_t(unsigned long, gt->nr_pages_per_call,
					   nr_pages - done);

		nr = gup_test_take(&op, start + done * PAGE_SIZE, want, flags,
				   pages + done);
		if (nr <= 0)
			break;
		done += nr;
		if (nr < want)
			break;
		/* One page per call over a large range: stay killable. */
		if (fatal_signal_pending(current)) {
			nr = -EINTR;
			break;
		}
		cond_resched();
	}
	gt->get_delta_usec = ktime_us_delta(ktime_get(), t0);
	gt->size = (u64)done << PAGE_SHIFT;
	mmprobe_stat_add(op.pin ? MMPROBE_STAT_GUP_TEST_PINNED : MMPROBE_STAT_GUP_TEST_GOT,
			 done);

	gup_test_verify(&op, flags, pages, done);
	if (cmd == MMPROBE_DUMP_USER_PAGES_TEST)
		gup_test_dump(gt, pages, done, mmprobe_access_pfn(file));

	t0 = ktime_get();
	gup_test_release_pages(&op, pages, done);
	gt->put_delta_usec = ktime_us_delta(ktime_get(), t0);

	if (!op.fast)
		mmap_read_unlock(mm);
	kvfree(pages);

	/* Partial progress is in gt->size; no page at all is an error. */
	if (!done)
		ret = nr < 0 ? nr : -EFAULT;
uncharge:
	mmprobe_hold_uncharge(mm, nr_pages);
	return ret;
}

/* Drop the longterm pins of a file. Context: file->lock held. */
static void gup_test_longterm_stop(struct gup_test_file *gf)
{
	lockdep_assert_held(&gf->lock);
	if (!gf->pages)
		return;
	unpin_user_pages(gf->pages, gf->nr_pages);
	mmprobe_stat_add(MMPROBE_STAT_GUP_TEST_UNPINNED, gf->nr_pages);
	atomic_long_sub(gf->nr_pages, &gup_test_longterm_held);
	kvfree(gf->pages);
	gf->pages = NULL;
	gf->nr_pages = 0;
	mmprobe_hold_uncharge(gf->mm, gf->charged);
	mmdrop(gf->mm);
	gf->mm = NULL;
	gf->charged = 0;
}

/* PIN_LONGTERM_TEST_START: all of the range pinned, or nothing. */
static int gup_test_longterm_start(struct file *file, struct gup_test_file *gf,
				   void __user *uarg)
{
	struct mmprobe_pin_longterm_test args;
	unsigned int flags = FOLL_LONGTERM;
	unsigned long nr_pages, end;
	struct mm_struct *mm = current->mm;
	struct page **pages;
	long nr = 0;
	bool fast;
	int ret;

	lockdep_assert_held(&gf->lock);
	if (gf->pages)
		return -EINVAL;
	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.flags & ~(MMPROBE_PIN_LONGTERM_TEST_FLAG_USE_WRITE |
			   MMPROBE_PIN_LONGTERM_TEST_FLAG_USE_FAST))
		return -EINVAL;
	if (!IS_ALIGNED(args.addr | args.size, PAGE_SIZE) ||
	    args.addr != (unsigned long)args.addr || args.size != (unsigned long)args.size ||
	    check_add_overflow((unsigned long)args.addr, (unsigned long)args.size, &end))
		return -EINVAL;
	nr_pages = args.size >> PAGE_SHIFT;
	if (!nr_pages || nr_pages > GUP_TEST_MAX_PAGES)
		return -EINVAL;
	ret = mmprobe_hold_charge(file, mm, nr_pages);
	if (ret)
		return ret;

	pages = kvcalloc(nr_pages, sizeof(*pages), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!pages) {
		mmprobe_hold_uncharge(mm, nr_pages);
		return -ENOMEM;
	}
	if (args.flags & MMPROBE_PIN_LONGTERM_TEST_FLAG_USE_WRITE)
		flags |= FOLL_WRITE;
	fast = args.flags & MMPROBE_PIN_LONGTERM_TEST_FLAG_USE_FAST;
	if (!fast && mmap_read_lock_killable(mm)) {
		kvfree(pages);
		mmprobe_hold_uncharge(mm, nr_pages);
		return -EINTR;
	}

	mmgrab(mm);
	gf->mm = mm;
	gf->charged = nr_pages;
	gf->pages = pages;
	gf->nr_pages = 0;
	while (gf->nr_pages < nr_pages) {
		unsigned long addr = args.addr + gf->nr_pages * PAGE_SIZE;
		unsigned long want = nr_pages - gf->nr_pages;

		if (fast)
			nr = pin_user_pages_fast(addr, want, flags, pages + gf->nr_pages);
		else
			nr = mmprobe_pin_user_pages(addr, want, flags, pages + gf->nr_pages);
		if (nr <= 0)
			break;
		gf->nr_pages += nr;
		mmprobe_stat_add(MMPROBE_STAT_GUP_TEST_PINNED, nr);
		atomic_long_add(nr, &gup_test_longterm_held);
	}
	if (!fast)
		mmap_read_unlock(mm);

	if (nr <= 0) {
		gup_test_longterm_stop(gf);
		return nr < 0 ? nr : -EFAULT;
	}
	return 0;
}

/* PIN_LONGTERM_TEST_READ: copy the pinned pages to the address given. */
static int gup_test_longterm_read(struct gup_test_file *gf, void __user *uarg)
{
	unsigned long i;
	u64 uaddr, end;

	lockdep_assert_held(&gf->lock);
	if (!gf->pages)
		return -EINVAL;
	if (copy_from_user(&uaddr, uarg, sizeof(uaddr)))
		return -EFAULT;
	if (uaddr != (unsigned long)uaddr ||
	    check_add_overflow(uaddr, (u64)gf->nr_pages << PAGE_SHIFT, &end))
		return -EFAULT;

	/* Our pins keep the pages; the copy may fault, so no mmap_lock here. */
	for (i = 0; i < gf->nr_pages; i++) {
		void *kaddr = kmap_local_page(gf->pages[i]);
		unsigned long left;

		left = copy_to_user(u64_to_user_ptr(uaddr + i * PAGE_SIZE), kaddr,
				    PAGE_SIZE);
		kunmap_local(kaddr);
		if (left)
			return -EFAULT;
	}
	return 0;
}

static long gup_test_longterm_ioctl(struct file *file, struct gup_test_file *gf,
				    unsigned int cmd, void __user *uarg)
{
	long ret = 0;

	if (mutex_lock_killable(&gf->lock))
		return -EINTR;
	switch (cmd) {
	case MMPROBE_PIN_LONGTERM_TEST_START:
		ret = gup_test_longterm_start(file, gf, uarg);
		break;
	case MMPROBE_PIN_LONGTERM_TEST_STOP:
		gup_test_longterm_stop(gf);
		break;
	case MMPROBE_PIN_LONGTERM_TEST_READ:
		ret = gup_test_longterm_read(gf, uarg);
		break;
	}
	mutex_unlock(&gf->lock);
	return ret;
}

static long gup_test_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct gup_test_file *gf = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct mmprobe_gup_test gt;
	int ret;

	switch (cmd) {
	case MMPROBE_PIN_LONGTERM_TEST_START:
	case MMPROBE_PIN_LONGTERM_TEST_STOP:
	case MMPROBE_PIN_LONGTERM_TEST_READ:
		mmprobe_stat_inc(MMPROBE_STAT_GUP_TEST_IOCTLS);
		return mmprobe_err(gup_test_longterm_ioctl(file, gf, cmd, uarg));
	case MMPROBE_GUP_FAST_BENCHMARK:
	case MMPROBE_PIN_FAST_BENCHMARK:
	case MMPROBE_PIN_LONGTERM_BENCHMARK:
	case MMPROBE_GUP_BASIC_TEST:
	case MMPROBE_PIN_BASIC_TEST:
	case MMPROBE_DUMP_USER_PAGES_TEST:
		break;
	default:
		return mmprobe_err(-ENOTTY);
	}

	mmprobe_stat_inc(MMPROBE_STAT_GUP_TEST_IOCTLS);
	if (copy_from_user(&gt, uarg, sizeof(gt)))
		return mmprobe_err(-EFAULT);
	ret = gup_test_run(file, cmd, &gt);
	if (ret)
		return mmprobe_err(ret);
	if (copy_to_user(uarg, &gt, sizeof(gt)))
		return mmprobe_err(-EFAULT);
	return 0;
}

static int gup_test_open(struct inode *inode, struct file *file)
{
	struct gup_test_file *gf;

	gf = kzalloc_obj(*gf, GFP_KERNEL_ACCOUNT);
	if (!gf)
		return mmprobe_err(-ENOMEM);
	mutex_init(&gf->lock);
	file->private_data = gf;
	return nonseekable_open(inode, file);
}

/* The last close of the file: whatever it still pins is released. */
static int gup_test_release(struct inode *inode, struct file *file)
{
	struct gup_test_file *gf = file->private_data;

	mutex_lock(&gf->lock);
	gup_test_longterm_stop(gf);
	mutex_unlock(&gf->lock);
	mutex_destroy(&gf->lock);
	kfree(gf);
	return 0;
}

static const struct file_operations gup_test_fops = {
	.owner		= THIS_MODULE,
	.open		= gup_test_open,
	.unlocked_ioctl	= gup_test_ioctl,
	.release	= gup_test_release,
};

static int gup_test_status_show(struct seq_file *m, void *v)
{
	seq_printf(m, "provider=%s\n", gup_test_provider_names[gup_test_provider]);
	seq_printf(m, "longterm_pinned=%ld\n", atomic_long_read(&gup_test_longterm_held));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(gup_test_status);

/**
 * mmprobe_gup_test_init() - provide /sys/kernel/debug/gup_test if missing
 * @root: the mmprobe debugfs directory, for the status file "gup_test"
 *
 * The kernel's own file (CONFIG_GUP_TEST) is left alone; so is everything
 * when the module parameter gup_test is 0.
 *
 * Context: module init.
 */
void mmprobe_gup_test_init(struct dentry *root)
{
	struct dentry *theirs;

	if (gup_test_enable) {
		theirs = debugfs_lookup("gup_test", NULL);
		if (theirs) {
			dput(theirs);
			gup_test_provider = GUP_TEST_KERNEL;
		} else {
			gup_test_dentry = debugfs_create_file("gup_test", 0600, NULL, NULL,
							      &gup_test_fops);
			if (!IS_ERR(gup_test_dentry))
				gup_test_provider = GUP_TEST_MMPROBE;
		}
	}
	debugfs_create_file("gup_test", 0400, root, NULL, &gup_test_status_fops);
}

/**
 * mmprobe_gup_test_exit() - remove mmprobe's /sys/kernel/debug/gup_test
 *
 * Context: module exit; no file is open (each open holds the module).
 */
void mmprobe_gup_test_exit(void)
{
	debugfs_remove(gup_test_dentry);
}
