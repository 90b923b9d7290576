// SPDX-License-Identifier: GPL-2.0
/*
 * pin: sessions that pin, or take references on, pages of the caller's mm.
 *
 * Every open file of /sys/kernel/debug/mmprobe/pin is a session. A "take"
 * (MMPROBE_PIN_IOC_TAKE) holds a range of the caller's pages with
 * pin_user_pages(), pin_user_pages_fast(), get_user_pages() or
 * get_user_pages_fast() and records what each page was right then; later
 * ioctls describe the pages again, copy out what they hold now, and release
 * part or all of them. Whatever is still held when the file is released
 * (close, or the exit of the last process holding it) is released then.
 *
 * Every page held is charged first (hold.c): to the caller's pinned_vm
 * against RLIMIT_MEMLOCK unless the opener has CAP_IPC_LOCK, and to the
 * module-wide max_held_pages; a take keeps its mm (mmgrab()) to uncharge
 * it when its pages are released, whoever releases them.
 *
 * Locking: pin_session.lock serialises the ioctls of a session and protects
 * its takes and counts; it nests outside the caller's mmap_lock. A take's
 * pages are kept alive by the pin or reference the session holds on each;
 * the mm_struct of a take by mmgrab(), not its address space. Where a page
 * is mapped is read through mmprobe_walk() (walk.c) under the mmap_lock;
 * no VMA or page table is kept between ioctls.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/pgtable.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "compat.h"
#include "mmprobe.h"
#include "mmprobe_uapi.h"
#include "page.h"
#include "walk.h"

/* Pages one session may hold: 256 MiB worth by default, at most 4 GiB worth. */
#define PIN_DEFAULT_MAX_PAGES	(SZ_256M >> PAGE_SHIFT)
#define PIN_HARD_MAX_PAGES	(SZ_4G >> PAGE_SHIFT)
/* Pages per GUP call, so that a fatal signal stops a long take in between. */
#define PIN_BATCH		512UL
/* Pages described per copy to user space (INFO never faults under mmap_lock). */
#define PIN_INFO_CHUNK		64UL

static unsigned long pin_max_pages = PIN_DEFAULT_MAX_PAGES;

static int pin_max_pages_set(const char *val, const struct kernel_param *kp)
{
	unsigned long n;
	int ret;

	ret = kstrtoul(val, 0, &n);
	if (ret)
		return ret;
	if (!n || n > PIN_HARD_MAX_PAGES)
		return -EINVAL;
	WRITE_ONCE(pin_max_pages, n);
	return 0;
}

static const struct kernel_param_ops pin_max_pages_ops = {
	.set	= pin_max_pages_set,
	.get	= param_get_ulong,
};
module_param_cb(pin_max_pages, &pin_max_pages_ops, &pin_max_pages, 0644);
MODULE_PARM_DESC(pin_max_pages,
		 "Pages one pin session may hold (default 256 MiB worth, 1 to 4 GiB worth)");

/* What a take saw of one page right after taking it. */
struct pin_seen {
	struct mmprobe_page_info info;
	enum mmprobe_pin_level level;
};

/**
 * struct pin_take - pages held by one MMPROBE_PIN_IOC_TAKE
 * @mm: the address space the pages were taken from, mmgrab()ed; its
 *	pinned_vm is charged @nr_live pages
 * @addr: user address of the first page
 * @nr_pages: pages taken, from @addr on
 * @nr_live: pages of @pages not yet released
 * @pin: held with FOLL_PIN (else FOLL_GET)
 * @write: taken with FOLL_WRITE: released dirty
 * @pages: the pages; NULL once released
 * @seen: what each page was right after the take
 *
 * All fields are protected by the session's lock.
 */
struct pin_take {
	struct mm_struct *mm;
	unsigned long addr;
	unsigned long nr_pages;
	unsigned long nr_live;
	bool pin;
	bool write;
	struct page **pages;
	struct pin_seen *seen;
};

/**
 * struct pin_session - the state of one open file
 * @lock: serialises the ioctls; protects @takes and @nr_live
 * @takes: handle -> struct pin_take; handles start at 1
 * @nr_live: pages held by all takes, at most pin_max_pages
 */
struct pin_session {
	struct mutex lock; /* see above */
	struct xarray takes;
	unsigned long nr_live;
};

/* enum mmprobe_kind (page.h) -> enum mmprobe_pin_kind (ABI); others are 0. */
static const u8 pin_kinds[MMPROBE_NR_KINDS] = {
	[MMPROBE_KIND_ANON]		= MMPROBE_PIN_KIND_ANON,
	[MMPROBE_KIND_FILE]		= MMPROBE_PIN_KIND_FILE,
	[MMPROBE_KIND_SHMEM]		= MMPROBE_PIN_KIND_SHMEM,
	[MMPROBE_KIND_ZERO]		= MMPROBE_PIN_KIND_ZERO,
	[MMPROBE_KIND_HUGE_ZERO]	= MMPROBE_PIN_KIND_HUGE_ZERO,
	[MMPROBE_KIND_HUGETLB]		= MMPROBE_PIN_KIND_HUGETLB,
	[MMPROBE_KIND_KSM]		= MMPROBE_PIN_KIND_KSM,
};

/* Where the page a walk looks for is mapped. */
struct pin_where {
	unsigned long pfn;		/* the page held */
	enum mmprobe_pin_level level;	/* the entry mapping it at the address */
};

static const enum mmprobe_pin_level pin_levels[MMPROBE_NR_LEVELS] = {
	[MMPROBE_LEVEL_PTE] = MMPROBE_PIN_LEVEL_PTE,
	[MMPROBE_LEVEL_PMD] = MMPROBE_PIN_LEVEL_PMD,
	[MMPROBE_LEVEL_PUD] = MMPROBE_PIN_LEVEL_PUD,
};

/*
 * Does the entry at @addr, which maps @size bytes from PFN @first, map the
 * page held? Then it is mapped at @level.
 */
static int pin_where_match(struct mmprobe_walk *walk, unsigned long addr,
			   unsigned long first, unsigned long size,
			   enum mmprobe_pin_level level)
{
	struct pin_where *where = walk->private;

	if (first + ((addr & (size - 1)) >> PAGE_SHIFT) == where->pfn)
		where->level = level;
	return 0;
}

/* Walk callbacks, under the entry's lock. */
static int pin_walk_pte(struct mmprobe_walk *walk, unsigned long addr,
			unsigned long end, enum mmprobe_level level, pte_t pte)
{
	static const unsigned long size[MMPROBE_NR_LEVELS] = {
		[MMPROBE_LEVEL_PTE] = PAGE_SIZE,
		[MMPROBE_LEVEL_PMD] = PMD_SIZE,		/* hugetlb */
		[MMPROBE_LEVEL_PUD] = PUD_SIZE,
	};

	if (!pte_present(pte))
		return 0;
	return pin_where_match(walk, addr, mmprobe_walk_pte_pfn(pte, level), size[level],
			       pin_levels[level]);
}

static int pin_walk_pmd(struct mmprobe_walk *walk, unsigned long addr,
			unsigned long end, pmd_t pmd)
{
	if (!pmd_present(pmd))
		return 0;
	return pin_where_match(walk, addr, pmd_pfn(pmd), PMD_SIZE, MMPROBE_PIN_LEVEL_PMD);
}

static int pin_walk_pud(struct mmprobe_walk *walk, unsigned long addr,
			unsigned long end, pud_t pud)
{
	return pin_where_match(walk, addr, pud_pfn(pud), PUD_SIZE, MMPROBE_PIN_LEVEL_PUD);
}

static const struct mmprobe_walk_ops pin_walk_ops = {
	.pte	= pin_walk_pte,
	.pmd	= pin_walk_pmd,
	.pud	= pin_walk_pud,
};

/*
 * Describe @page, held by the caller, as seen at @addr of @mm (NULL: without
 * the mapping's context, when the mmap_lock could not be taken). The level
 * is that of the entry mapping @page at @addr; MMPROBE_PIN_LEVEL_NONE when
 * @addr maps another page now (COW, zap, munmap) or nothing.
 *
 * Context: @mm's mmap_lock held for reading, if @mm.
 */
static void pin_describe(struct mm_struct *mm, unsigned long addr, struct page *page,
			 struct pin_seen *seen)
{
	struct pin_where where = { .pfn = page_to_pfn(page) };
	struct mmprobe_walk walk = {
		.ops	= &pin_walk_ops,
		.mm	= mm,
		.private = &where,
		.budget	= LONG_MAX,
	};
	struct vm_area_struct *vma = NULL;

	if (mm) {
		mmprobe_walk(&walk, addr, addr + PAGE_SIZE);
		vma = vma_lookup(mm, addr);
	}
	seen->level = where.level;
	mmprobe_page_info_fill(&seen->info, page, vma,
			       seen->level >= MMPROBE_PIN_LEVEL_PMD);
}

static u64 pin_na(int v)
{
	return v < 0 ? MMPROBE_PIN_NA : v;
}

static void pin_page_out(struct mmprobe_pin_page *out, const struct pin_seen *seen,
			 bool show_pfn)
{
	const struct mmprobe_page_info *info = &seen->info;

	out->pfn = show_pfn ? info->pfn : 0;
	out->kind = info->kind < MMPROBE_NR_KINDS ? pin_kinds[info->kind] : 0;
	out->level = seen->level;
	out->order = info->order;
	out->refcount = info->refcount;
	out->mapcount = pin_na(info->mapcount);
	out->entire_mapcount = info->entire_mapcount;
	out->folio_mapcount = pin_na(info->folio_mapcount);
	out->pinned = info->pinned;
	out->exclusive = pin_na(info->exclusive);
	out->node = info->node;
	out->double_map = pin_na(info->double_map);
}

/* Release pages [first, first + nr) of a take that are still held. */
static unsigned long pin_release(struct pin_take *t, unsigned long first, unsigned long nr)
{
	unsigned long i, released = 0;

	for (i = first; i < first + nr; i++) {
		struct page *page = t->pages[i];

		if (!page)
			continue;
		if (t->pin) {
			unpin_user_pages_dirty_lock(&page, 1, t->write);
		} else {
			if (t->write)
				set_page_dirty_lock(page);
			put_page(page);
		}
		t->pages[i] = NULL;
		released++;
	}
	t->nr_live -= released;
	mmprobe_hold_uncharge(t->mm, released);
	mmprobe_stat_add(MMPROBE_STAT_PIN_RELEASED, released);
	return released;
}

static void pin_take_free(struct pin_take *t)
{
	mmdrop(t->mm);
	kvfree(t->pages);
	kvfree(t->seen);
	kfree(t);
}

/* One GUP call: take up to @nr pages from @start into @pages. */
static long pin_gup(u64 method, unsigned long start, unsigned long nr,
		    unsigned int gup_flags, struct page **pages)
{
	switch (method) {
	case MMPROBE_PIN_METHOD_PUP:
		return mmprobe_pin_user_pages(start, nr, gup_flags, pages);
	case MMPROBE_PIN_METHOD_PUP_FAST:
		return pin_user_pages_fast(start, nr, gup_flags, pages);
	case MMPROBE_PIN_METHOD_GUP:
		return mmprobe_get_user_pages(start, nr, gup_flags, pages);
	default:
		return get_user_pages_fast(start, nr, gup_flags, pages);
	}
}

static bool pin_method_is_fast(u64 method)
{
	return method == MMPROBE_PIN_METHOD_PUP_FAST ||
	       method == MMPROBE_PIN_METHOD_GUP_FAST;
}

/*
 * Take the pages of @arg into @t. Return: 0 with t->nr_pages >= 1 (maybe
 * fewer than asked), or the error of the first GUP call with nothing held.
 */
static long pin_take_pages(struct pin_take *t, const struct mmprobe_pin_take *arg)
{
	struct mm_struct *mm = current->mm;
	bool fast = pin_method_is_fast(arg->method);
	unsigned int gup_flags = 0;
	unsigned long done = 0, i;
	bool locked = false;
	long ret = 0;

	if (arg->flags & MMPROBE_PIN_WRITE)
		gup_flags |= FOLL_WRITE;
	if (arg->flags & MMPROBE_PIN_LONGTERM)
		gup_flags |= FOLL_LONGTERM;

	/* The non-fast variants want the mmap_lock held; the fast ones take it. */
	if (!fast) {
		if (mmap_read_lock_killable(mm))
			return -EINTR;
		locked = true;
	}
	while (done < arg->nr_pages) {
		unsigned long batch = min(arg->nr_pages - done, PIN_BATCH);
		long got;

		got = pin_gup(arg->method, t->addr + done * PAGE_SIZE, batch, gup_flags,
			      t->pages + done);
		if (got <= 0) {
			if (!done)
				ret = got ? got : -EFAULT;
			break;
		}
		done += got;
		if (got < batch || fatal_signal_pending(current))
			break;
	}
	if (!done) {
		if (locked)
			mmap_read_unlock(mm);
		return ret;
	}
	t->nr_pages = done;
	t->nr_live = done;

	/* What the pages are now that they are held; the pins keep them alive. */
	if (!locked && !mmap_read_lock_killable(mm))
		locked = true;
	for (i = 0; i < done; i++) {
		pin_describe(locked ? mm : NULL, t->addr + i * PAGE_SIZE, t->pages[i],
			     &t->seen[i]);
		if (!((i + 1) % PIN_INFO_CHUNK))
			cond_resched();
	}
	if (locked)
		mmap_read_unlock(mm);
	return 0;
}

static long pin_ioc_take(struct pin_session *s, struct file *file, void __user *uarg)
{
	struct mmprobe_pin_take arg;
	unsigned long len, end, max;
	struct pin_take *t;
	u32 handle;
	long ret;

	lockdep_assert_held(&s->lock);
	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags & ~(MMPROBE_PIN_WRITE | MMPROBE_PIN_LONGTERM))
		return -EINVAL;
	if (arg.method == MMPROBE_PIN_METHOD_NONE || arg.method >= MMPROBE_PIN_NR_METHODS)
		return -EINVAL;
	/* FOLL_LONGTERM is for pins only: GUP warns about it with FOLL_GET. */
	if ((arg.flags & MMPROBE_PIN_LONGTERM) &&
	    (arg.method == MMPROBE_PIN_METHOD_GUP || arg.method == MMPROBE_PIN_METHOD_GUP_FAST))
		return -EINVAL;
	if (!arg.nr_pages || !PAGE_ALIGNED(arg.addr) ||
	    check_mul_overflow(arg.nr_pages, PAGE_SIZE, &len) ||
	    check_add_overflow(arg.addr, len, &end))
		return -EINVAL;
	if (!current->mm)
		return -EINVAL;
	max = READ_ONCE(pin_max_pages);
	if (s->nr_live >= max || arg.nr_pages > max - s->nr_live)
		return -ENOSPC;
	ret = mmprobe_hold_charge(file, current->mm, arg.nr_pages);
	if (ret)
		return ret;

	t = kzalloc_obj(*t, GFP_KERNEL_ACCOUNT);
	if (!t) {
		ret = -ENOMEM;
		goto uncharge;
	}
	mmgrab(current->mm);
	t->mm = current->mm;
	t->addr = arg.addr;
	t->pin = !(arg.method == MMPROBE_PIN_METHOD_GUP ||
		   arg.method == MMPROBE_PIN_METHOD_GUP_FAST);
	t->write = arg.flags & MMPROBE_PIN_WRITE;
	t->pages = kvcalloc(arg.nr_pages, sizeof(*t->pages), GFP_KERNEL_ACCOUNT);
	t->seen = kvcalloc(arg.nr_pages, sizeof(*t->seen), GFP_KERNEL_ACCOUNT);
	if (!t->pages || !t->seen) {
		ret = -ENOMEM;
		goto free;
	}

	ret = pin_take_pages(t, &arg);
	if (ret)
		goto free;
	/* From here on, what is held (t->nr_live) is what stays charged. */
	mmprobe_hold_uncharge(t->mm, arg.nr_pages - t->nr_pages);
	mmprobe_stat_add(t->pin ? MMPROBE_STAT_PIN_PINNED : MMPROBE_STAT_PIN_REFS,
			 t->nr_pages);
	if (t->nr_pages < arg.nr_pages)
		mmprobe_stat_inc(MMPROBE_STAT_PIN_PARTIAL);

	ret = xa_alloc(&s->takes, &handle, t, xa_limit_32b, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto release;
	arg.handle = handle;
	arg.nr_pinned = t->nr_pages;
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		/* The caller cannot name the take: hold nothing for it. */
		xa_erase(&s->takes, handle);
		ret = -EFAULT;
		goto release;
	}
	s->nr_live += t->nr_pages;
	return 0;

release:
	pin_release(t, 0, t->nr_pages);
	pin_take_free(t);
	return ret;
free:
	pin_take_free(t);
uncharge:
	mmprobe_hold_uncharge(current->mm, arg.nr_pages);
	return ret;
}

/* The take and the pages a range names; NULL when it names none. */
static struct pin_take *pin_range_take(struct pin_session *s,
				       const struct mmprobe_pin_range *r)
{
	struct pin_take *t;
	u64 end;

	if (r->handle > U32_MAX)
		return NULL;
	t = xa_load(&s->takes, r->handle);
	if (!t || !r->nr_pages || check_add_overflow(r->index, r->nr_pages, &end) ||
	    end > t->nr_pages)
		return NULL;
	return t;
}

static long pin_ioc_info(struct pin_session *s, struct file *file,
			 struct mmprobe_pin_range *r)
{
	struct mmprobe_pin_page __user *ubuf = u64_to_user_ptr(r->buf);
	bool show_pfn = mmprobe_access_pfn(file);
	bool now = r->flags & MMPROBE_PIN_INFO_NOW;
	struct mm_struct *mm = current->mm;
	struct mmprobe_pin_page *out;
	struct pin_take *t;
	unsigned long i, j, n;
	long ret = 0;

	lockdep_assert_held(&s->lock);
	if (r->flags & ~MMPROBE_PIN_INFO_NOW)
		return -EINVAL;
	t = pin_range_take(s, r);
	if (!t || (now && !mm))
		return -EINVAL;
	out = kmalloc_array(PIN_INFO_CHUNK, sizeof(*out), GFP_KERNEL);
	if (!out)
		return -ENOMEM;

	/* Describe a chunk under the mmap_lock, copy it out without it. */
	for (i = 0; i < r->nr_pages; i += n) {
		n = min(r->nr_pages - i, PIN_INFO_CHUNK);
		memset(out, 0, n * sizeof(*out));
		if (now && mmap_read_lock_killable(mm)) {
			ret = -EINTR;
			break;
		}
		for (j = 0; j < n; j++) {
			unsigned long idx = r->index + i + j;
			struct page *page = t->pages[idx];
			struct pin_seen seen;

			out[j].addr = t->addr + idx * PAGE_SIZE;
			if (!page) {
				out[j].state = MMPROBE_PIN_STATE_RELEASED;
				if (now)
					continue;
			} else {
				out[j].state = t->pin ? MMPROBE_PIN_STATE_PINNED :
						MMPROBE_PIN_STATE_REF;
			}
			if (now)
				pin_describe(mm, out[j].addr, page, &seen);
			pin_page_out(&out[j], now ? &seen : &t->seen[idx], show_pfn);
		}
		if (now)
			mmap_read_unlock(mm);
		if (copy_to_user(ubuf + i, out, n * sizeof(*out))) {
			ret = -EFAULT;
			break;
		}
		r->nr_done += n;
		cond_resched();
	}
	kfree(out);
	return ret;
}

static long pin_ioc_read(struct pin_session *s, struct mmprobe_pin_range *r)
{
	char __user *ubuf = u64_to_user_ptr(r->buf);
	struct pin_take *t;
	unsigned long i;

	lockdep_assert_held(&s->lock);
	if (r->flags)
		return -EINVAL;
	t = pin_range_take(s, r);
	if (!t)
		return -EINVAL;
	for (i = 0; i < r->nr_pages; i++)
		if (!t->pages[r->index + i])
			return -EINVAL;

	for (i = 0; i < r->nr_pages; i++) {
		void *kaddr = kmap_local_page(t->pages[r->index + i]);
		unsigned long left;

		left = copy_to_user(ubuf + i * PAGE_SIZE, kaddr, PAGE_SIZE);
		kunmap_local(kaddr);
		if (left)
			return -EFAULT;
		r->nr_done++;
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	return 0;
}

static void pin_session_release_all(struct pin_session *s, struct mmprobe_pin_range *r)
{
	struct pin_take *t;
	unsigned long handle;

	xa_for_each(&s->takes, handle, t) {
		r->nr_done += pin_release(t, 0, t->nr_pages);
		xa_erase(&s->takes, handle);
		pin_take_free(t);
	}
	s->nr_live = 0;
}

static long pin_ioc_unpin(struct pin_session *s, struct mmprobe_pin_range *r)
{
	struct pin_take *t;
	unsigned long n;

	lockdep_assert_held(&s->lock);
	if ((r->flags & ~MMPROBE_PIN_UNPIN_ALL) || r->buf)
		return -EINVAL;
	if (r->flags & MMPROBE_PIN_UNPIN_ALL) {
		if (r->handle || r->index || r->nr_pages)
			return -EINVAL;
		pin_session_release_all(s, r);
		return 0;
	}
	t = pin_range_take(s, r);
	if (!t)
		return -EINVAL;
	n = pin_release(t, r->index, r->nr_pages);
	s->nr_live -= n;
	r->nr_done = n;
	if (!t->nr_live) {
		xa_erase(&s->takes, r->handle);
		pin_take_free(t);
	}
	return 0;
}

static long pin_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct pin_session *s = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct mmprobe_pin_range r;
	long ret;

	switch (cmd) {
	case MMPROBE_PIN_IOC_TAKE:
		break;
	case MMPROBE_PIN_IOC_INFO:
	case MMPROBE_PIN_IOC_READ:
	case MMPROBE_PIN_IOC_UNPIN:
		if (copy_from_user(&r, uarg, sizeof(r)))
			return mmprobe_err(-EFAULT);
		r.nr_done = 0;
		break;
	default:
		return mmprobe_err(-ENOTTY);
	}

	if (mutex_lock_killable(&s->lock))
		return mmprobe_err(-EINTR);
	switch (cmd) {
	case MMPROBE_PIN_IOC_TAKE:
		ret = pin_ioc_take(s, file, uarg);
		break;
	case MMPROBE_PIN_IOC_INFO:
		ret = pin_ioc_info(s, file, &r);
		break;
	case MMPROBE_PIN_IOC_READ:
		ret = pin_ioc_read(s, &r);
		break;
	default:
		ret = pin_ioc_unpin(s, &r);
		break;
	}
	mutex_unlock(&s->lock);

	if (!ret && cmd != MMPROBE_PIN_IOC_TAKE && copy_to_user(uarg, &r, sizeof(r)))
		ret = -EFAULT;
	return mmprobe_err(ret);
}

static int pin_open(struct inode *inode, struct file *file)
{
	struct pin_session *s;

	s = kzalloc_obj(*s, GFP_KERNEL_ACCOUNT);
	if (!s) {
		mmprobe_stat_inc(MMPROBE_STAT_ERRORS);
		return -ENOMEM;
	}
	mutex_init(&s->lock);
	xa_init_flags(&s->takes, XA_FLAGS_ALLOC1);
	file->private_data = s;
	mmprobe_stat_inc(MMPROBE_STAT_PIN_SESSIONS);
	return nonseekable_open(inode, file);
}

/* The last reference to the file is gone: no ioctl can run any more. */
static int pin_release_file(struct inode *inode, struct file *file)
{
	struct pin_session *s = file->private_data;
	struct mmprobe_pin_range r = { };

	pin_session_release_all(s, &r);
	xa_destroy(&s->takes);
	mutex_destroy(&s->lock);
	kfree(s);
	return 0;
}

static const struct file_operations pin_fops = {
	.owner		= THIS_MODULE,
	.open		= pin_open,
	.release	= pin_release_file,
	.unlocked_ioctl	= pin_ioctl,
};

/**
 * mmprobe_pin_init() - create debugfs "pin"
 * @root: the mmprobe debugfs directory
 *
 * Context: module init; process context.
 */
void mmprobe_pin_init(struct dentry *root)
{
	debugfs_create_file("pin", 0600, root, NULL, &pin_fops);
}
