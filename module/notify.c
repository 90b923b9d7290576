// SPDX-License-Identifier: GPL-2.0
/*
 * notify: trace the mmu-notifier callbacks of the opener's address space.
 *
 * Opening debugfs "notify" registers mmu notifiers on current->mm; every
 * callback the kernel makes on them until the file is closed is recorded, with
 * a sequence number, in a ring allocated at open. Reading returns the
 * records, one "key=value" line each, and consumes them (a byte stream, like
 * a pipe that never blocks: 0 means "nothing more for now"). Writing "clear"
 * discards what has not been read. Documentation/notify.rst has the format.
 *
 * Two subscriptions per open file: one has the range callbacks, ->release
 * and the young callbacks; the other has only the secondary-TLB callback,
 * because since v6.6 the kernel refuses a subscription with both (compat.h).
 *
 * Lifetime and locking:
 * - struct notify_file belongs to the open file. The subscriptions point into
 *   it; .release unregisters both with mmu_notifier_unregister(), whose
 *   synchronize_srcu() waits for every callback running on them, and only then
 *   frees it. mmu_notifier_get()/put() would share one subscription per mm
 *   between all openers and free it later from an SRCU callback: not what a
 *   per-open log wants.
 * - The mm_struct (not its address space) is held by mmgrab() from open to
 *   .release, so unregistering is valid even after the process exited. Its
 *   address space may be gone long before: exit_mmap() calls ->release, which
 *   is recorded, and no callback follows. The open file may be held by other
 *   processes (fork, SCM_RIGHTS) and read there.
 * - notify_file.lock, a spinlock taken with interrupts off, protects the ring
 *   (head, count, seq). The callbacks take it in atomic context (under page
 *   table locks, in reclaim, in the TLB flush); nothing under it sleeps,
 *   allocates or touches user memory.
 * - notify_file.read_mutex serializes readers and "clear", and protects the
 *   line being copied out (line, line_len, line_off). copy_to_user() runs
 *   under it but never under the spinlock: a fault on the reader's buffer
 *   calls the callbacks, which take only the spinlock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "mmprobe.h"

/* Records per open file, a power of two; the last free slot counts losses. */
#define NOTIFY_RING_SIZE	4096
#define NOTIFY_LINE_MAX		192

/* Which callback ran; the names are printed as they are ("cb="). */
enum notify_cb {
	NOTIFY_CB_INVALIDATE_RANGE_START,
	NOTIFY_CB_INVALIDATE_RANGE_END,
	NOTIFY_CB_SECONDARY_TLBS,
	NOTIFY_CB_RELEASE,
	NOTIFY_CB_CLEAR_FLUSH_YOUNG,
	NOTIFY_CB_CLEAR_YOUNG,
	NOTIFY_CB_TEST_YOUNG,
	NOTIFY_CB_CHANGE_PTE,
	NOTIFY_CB_LOST,
	NOTIFY_NR_CBS
};

static const char * const notify_cb_names[NOTIFY_NR_CBS] = {
	[NOTIFY_CB_INVALIDATE_RANGE_START]	= "invalidate_range_start",
	[NOTIFY_CB_INVALIDATE_RANGE_END]	= "invalidate_range_end",
	[NOTIFY_CB_SECONDARY_TLBS]		= __stringify(MMPROBE_MN_TLB_OP),
	[NOTIFY_CB_RELEASE]			= "release",
	[NOTIFY_CB_CLEAR_FLUSH_YOUNG]		= "clear_flush_young",
	[NOTIFY_CB_CLEAR_YOUNG]			= "clear_young",
	[NOTIFY_CB_TEST_YOUNG]			= "test_young",
	[NOTIFY_CB_CHANGE_PTE]			= "change_pte",
	[NOTIFY_CB_LOST]			= "lost",
};

/* enum mmu_notifier_event, the same on every kernel of the matrix. */
static const char * const notify_event_names[] = {
	[MMU_NOTIFY_UNMAP]		= "unmap",
	[MMU_NOTIFY_CLEAR]		= "clear",
	[MMU_NOTIFY_PROTECTION_VMA]	= "protection_vma",
	[MMU_NOTIFY_PROTECTION_PAGE]	= "protection_page",
	[MMU_NOTIFY_SOFT_DIRTY]		= "soft_dirty",
	[MMU_NOTIFY_RELEASE]		= "release",
	[MMU_NOTIFY_MIGRATE]		= "migrate",
	[MMU_NOTIFY_EXCLUSIVE]		= "exclusive",
};

/* notify_record.event of callbacks that carry no range. */
#define NOTIFY_EVENT_NONE	U8_MAX

/**
 * struct notify_record - one callback, or a run of lost ones
 * @seq: sequence number, from 1, counting lost callbacks too
 * @start: first address of the range (the address for test_young/change_pte)
 * @end: end of the range, exclusive
 * @owner: mmu_notifier_range.owner (migrate and exclusive), or NULL
 * @nr_lost: NOTIFY_CB_LOST only: callbacks lost from @seq on
 * @pid: the task that ran the callback, in the initial pid namespace
 * @cb: enum notify_cb
 * @event: enum mmu_notifier_event, or NOTIFY_EVENT_NONE
 * @blockable: mmu_notifier_range_blockable() of a range callback
 */
struct notify_record {
	u64 seq;
	unsigned long start;
	unsigned long end;
	const void *owner;
	u64 nr_lost;
	pid_t pid;
	u8 cb;
	u8 event;
	u8 blockable;
};

/**
 * struct notify_file - the state of one open file
 * @range_mn: subscription with the range, release and young callbacks
 * @tlb_mn: subscription with the secondary-TLB callback only
 * @mm: the traced mm, held by mmgrab() until .release
 * @lock: protects @head, @count, @seq and @ring (see the top of the file)
 * @head: index of the oldest unread record
 * @count: unread records
 * @seq: sequence number of the last callback, recorded or lost
 * @read_mutex: serializes readers and "clear"; protects @line*
 * @line: the formatted record being read
 * @line_len: its length
 * @line_off: bytes of it already copied to user space
 * @ring: NOTIFY_RING_SIZE records
 */
struct notify_file {
	struct mmu_notifier range_mn;
	struct mmu_notifier tlb_mn;
	struct mm_struct *mm;

	spinlock_t lock;		/* the ring; callbacks take it */
	unsigned int head;
	unsigned int count;
	u64 seq;

	struct mutex read_mutex;	/* readers and "clear" */
	char line[NOTIFY_LINE_MAX];
	size_t line_len;
	size_t line_off;

	struct notify_record ring[];
};

/*
 * Append a record, numbering it. When only one free slot is left, it becomes a
 * "lost" record that counts every further callback until a reader makes room.
 * Context: any; takes notify_file.lock.
 */
static void notify_add(struct notify_file *nf, const struct notify_record *rec)
{
	struct notify_record *slot;
	unsigned long flags;
	bool lost = false;

	spin_lock_irqsave(&nf->lock, flags);
	nf->seq++;
	if (nf->count < NOTIFY_RING_SIZE - 1) {
		slot = &nf->ring[(nf->head + nf->count++) & (NOTIFY_RING_SIZE - 1)];
		*slot = *rec;
		slot->seq = nf->seq;
	} else if (nf->count == NOTIFY_RING_SIZE - 1) {
		slot = &nf->ring[(nf->head + nf->count++) & (NOTIFY_RING_SIZE - 1)];
		memset(slot, 0, sizeof(*slot));
		slot->seq = nf->seq;
		slot->cb = NOTIFY_CB_LOST;
		slot->event = NOTIFY_EVENT_NONE;
		slot->nr_lost = 1;
		lost = true;
	} else {
		/* Full: the newest record is the lost one. */
		slot = &nf->ring[(nf->head + nf->count - 1) & (NOTIFY_RING_SIZE - 1)];
		slot->nr_lost++;
		lost = true;
	}
	spin_unlock_irqrestore(&nf->lock, flags);

	mmprobe_stat_inc(lost ? MMPROBE_STAT_NOTIFY_LOST : MMPROBE_STAT_NOTIFY_EVENTS);
}

static void notify_add_cb(struct notify_file *nf, enum notify_cb cb,
			  unsigned long start, unsigned long end)
{
	struct notify_record rec = {
		.start	= start,
		.end	= end,
		.pid	= task_pid_nr(current),
		.cb	= cb,
		.event	= NOTIFY_EVENT_NONE,
	};

	notify_add(nf, &rec);
}

static void notify_add_range(struct notify_file *nf, enum notify_cb cb,
			     const struct mmu_notifier_range *range)
{
	struct notify_record rec = {
		.start		= range->start,
		.end		= range->end,
		.owner		= range->owner,
		.pid		= task_pid_nr(current),
		.cb		= cb,
		.event		= min_t(unsigned int, range->event, NOTIFY_EVENT_NONE - 1),
		.blockable	= mmu_notifier_range_blockable(range),
	};

	notify_add(nf, &rec);
}

/* The callbacks. Each runs under SRCU, maybe in atomic context. */

static int notify_invalidate_range_start(struct mmu_notifier *mn,
					 const struct mmu_notifier_range *range)
{
	notify_add_range(container_of(mn, struct notify_file, range_mn),
			 NOTIFY_CB_INVALIDATE_RANGE_START, range);
	return 0;
}

static void notify_invalidate_range_end(struct mmu_notifier *mn,
					const struct mmu_notifier_range *range)
{
	notify_add_range(container_of(mn, struct notify_file, range_mn),
			 NOTIFY_CB_INVALIDATE_RANGE_END, range);
}

static void notify_secondary_tlbs(struct mmu_notifier *mn, struct mm_struct *mm,
				  unsigned long start, unsigned long end)
{
	notify_add_cb(container_of(mn, struct notify_file, tlb_mn),
		      NOTIFY_CB_SECONDARY_TLBS, start, end);
}

/*
 * From exit_mmap() when the address space goes away, or from
 * mmu_notifier_unregister() at close if it had not; both may run at once.
 */
static void notify_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	notify_add_cb(container_of(mn, struct notify_file, range_mn),
		      NOTIFY_CB_RELEASE, 0, 0);
}

/* The young callbacks report "not young": no secondary MMU to ask. */
static MMPROBE_MN_YOUNG_T notify_clear_flush_young(struct mmu_notifier *mn,
						   struct mm_struct *mm,
						   unsigned long start,
						   unsigned long end)
{
	notify_add_cb(container_of(mn, struct notify_file, range_mn),
		      NOTIFY_CB_CLEAR_FLUSH_YOUNG, start, end);
	return 0;
}

static MMPROBE_MN_YOUNG_T notify_clear_young(struct mmu_notifier *mn,
					     struct mm_struct *mm,
					     unsigned long start,
					     unsigned long end)
{
	notify_add_cb(container_of(mn, struct notify_file, range_mn),
		      NOTIFY_CB_CLEAR_YOUNG, start, end);
	return 0;
}

static MMPROBE_MN_YOUNG_T notify_test_young(struct mmu_notifier *mn,
					    struct mm_struct *mm,
					    unsigned long address)
{
	notify_add_cb(container_of(mn, struct notify_file, range_mn),
		      NOTIFY_CB_TEST_YOUNG, address, address + PAGE_SIZE);
	return 0;
}

#if MMPROBE_HAS_MN_CHANGE_PTE
static void notify_change_pte(struct mmu_notifier *mn, struct mm_struct *mm,
			      unsigned long address, pte_t pte)
{
	notify_add_cb(container_of(mn, struct notify_file, range_mn),
		      NOTIFY_CB_CHANGE_PTE, address, address + PAGE_SIZE);
}
#endif

static const struct mmu_notifier_ops notify_range_ops = {
	.release		= notify_release,
	.clear_flush_young	= notify_clear_flush_young,
	.clear_young		= notify_clear_young,
	.test_young		= notify_test_young,
#if MMPROBE_HAS_MN_CHANGE_PTE
	.change_pte		= notify_change_pte,
#endif
	.invalidate_range_start	= notify_invalidate_range_start,
	.invalidate_range_end	= notify_invalidate_range_end,
};

static const struct mmu_notifier_ops notify_tlb_ops = {
	.MMPROBE_MN_TLB_OP	= notify_secondary_tlbs,
};

/* Take the oldest record. Context: takes notify_file.lock. */
static bool notify_pop(struct notify_file *nf, struct notify_record *rec)
{
	unsigned long flags;
	bool ret = false;

	spin_lock_irqsave(&nf->lock, flags);
	if (nf->count) {
		*rec = nf->ring[nf->head];
		nf->head = (nf->head + 1) & (NOTIFY_RING_SIZE - 1);
		nf->count--;
		ret = true;
	}
	spin_unlock_irqrestore(&nf->lock, flags);
	return ret;
}

static size_t notify_format(char *buf, size_t size, const struct notify_record *rec)
{
	char event[16], owner[24];

	if (rec->cb == NOTIFY_CB_LOST)
		return scnprintf(buf, size, "seq=%llu cb=lost count=%llu\n",
				 rec->seq, rec->nr_lost);

	if (rec->event == NOTIFY_EVENT_NONE)
		strscpy(event, "none", sizeof(event));
	else if (rec->event < ARRAY_SIZE(notify_event_names) &&
		 notify_event_names[rec->event])
		strscpy(event, notify_event_names[rec->event], sizeof(event));
	else
		scnprintf(event, sizeof(event), "%u", rec->event);

	/* Hashed, like every %p: equal owners print equal. */
	if (rec->owner)
		scnprintf(owner, sizeof(owner), "%p", rec->owner);
	else
		strscpy(owner, "0", sizeof(owner));

	return scnprintf(buf, size,
			 "seq=%llu cb=%s event=%s start=%#lx end=%#lx blockable=%u owner=%s pid=%d\n",
			 rec->seq, notify_cb_names[rec->cb], event, rec->start,
			 rec->end, rec->blockable, owner, rec->pid);
}

static ssize_t notify_read(struct file *file, char __user *ubuf, size_t count,
			   loff_t *ppos)
{
	struct notify_file *nf = file->private_data;
	struct notify_record rec;
	size_t done = 0, n;
	int ret = 0;

	if (mutex_lock_killable(&nf->read_mutex))
		return mmprobe_err(-EINTR);
	while (done < count) {
		if (nf->line_off == nf->line_len) {
			if (!notify_pop(nf, &rec))
				break;
			nf->line_len = notify_format(nf->line, sizeof(nf->line), &rec);
			nf->line_off = 0;
		}
		n = min(count - done, nf->line_len - nf->line_off);
		/* On a fault the record stays in line[] for the next read. */
		if (copy_to_user(ubuf + done, nf->line + nf->line_off, n)) {
			ret = -EFAULT;
			break;
		}
		nf->line_off += n;
		done += n;
	}
	mutex_unlock(&nf->read_mutex);

	if (!done && ret)
		return mmprobe_err(ret);
	return done;
}

/* The only command is "clear", with or without a trailing newline. */
static ssize_t notify_write(struct file *file, const char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	struct notify_file *nf = file->private_data;
	unsigned long flags;
	char buf[8];

	if (count == 0 || count >= sizeof(buf))
		return mmprobe_err(-EINVAL);
	if (copy_from_user(buf, ubuf, count))
		return mmprobe_err(-EFAULT);
	buf[count] = '\0';
	if (strcmp(strim(buf), "clear"))
		return mmprobe_err(-EINVAL);

	if (mutex_lock_killable(&nf->read_mutex))
		return mmprobe_err(-EINTR);
	nf->line_len = 0;
	nf->line_off = 0;
	spin_lock_irqsave(&nf->lock, flags);
	nf->head = 0;
	nf->count = 0;
	spin_unlock_irqrestore(&nf->lock, flags);
	mutex_unlock(&nf->read_mutex);
	return count;
}

static int notify_open(struct inode *inode, struct file *file)
{
	struct mm_struct *mm = current->mm;
	struct notify_file *nf;
	int ret;

	/* A kernel thread has no address space to trace. */
	if (!mm)
		return mmprobe_err(-EINVAL);

	ret = -ENOMEM;
	/* Charged to the opener's memory cgroup: it is the opener's to keep. */
	nf = kvzalloc(struct_size(nf, ring, NOTIFY_RING_SIZE), GFP_KERNEL_ACCOUNT);
	if (!nf)
		goto out;
	spin_lock_init(&nf->lock);
	mutex_init(&nf->read_mutex);
	nf->range_mn.ops = &notify_range_ops;
	nf->tlb_mn.ops = &notify_tlb_ops;

	/* Our open syscall keeps mm_users up, as registering requires. */
	mmgrab(mm);
	nf->mm = mm;
	ret = mmu_notifier_register(&nf->range_mn, mm);
	if (ret)
		goto drop_mm;
	ret = mmu_notifier_register(&nf->tlb_mn, mm);
	if (ret)
		goto unregister_range;

	file->private_data = nf;
	stream_open(inode, file);
	mmprobe_stat_inc(MMPROBE_STAT_NOTIFY_OPENS);
	return 0;

unregister_range:
	mmu_notifier_unregister(&nf->range_mn, mm);
drop_mm:
	mmdrop(mm);
	kvfree(nf);
out:
	return mmprobe_err(ret);
}

static int notify_file_release(struct inode *inode, struct file *file)
{
	struct notify_file *nf = file->private_data;

	/*
	 * Each unregister waits (synchronize_srcu()) for the callbacks running
	 * on its subscription; after both, nothing can touch nf any more.
	 */
	mmu_notifier_unregister(&nf->tlb_mn, nf->mm);
	mmu_notifier_unregister(&nf->range_mn, nf->mm);
	mmdrop(nf->mm);
	mutex_destroy(&nf->read_mutex);
	kvfree(nf);
	return 0;
}

static const struct file_operations notify_fops = {
	.owner		= THIS_MODULE,
	.open		= notify_open,
	.read		= notify_read,
	.write		= notify_write,
	.release	= notify_file_release,
};

/**
 * mmprobe_notify_init() - create debugfs "notify"
 * @root: the mmprobe debugfs directory
 *
 * Context: module init. The file keeps no global state: everything is bound
 * to the open file and freed when it is closed.
 */
void mmprobe_notify_init(struct dentry *root)
{
	debugfs_create_file("notify", 0600, root, NULL, &notify_fops);
}
