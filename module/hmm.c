// SPDX-License-Identifier: GPL-2.0
/*
 * hmm: a device-private memory mirror, the kernel's lib/test_hmm.c for
 * kernels that do not build CONFIG_TEST_HMM.
 *
 * Two simulated devices, /dev/hmm_dmirror0 and /dev/hmm_dmirror1, speak the
 * HMM_DMIRROR_* ioctls of hmm_uapi.h (the kernel's lib/test_hmm_uapi.h).
 * Opening a device mirrors the opener's address space: an mmu interval
 * notifier over the whole of it keeps the device's page table (an xarray of
 * pfn -> page, filled by hmm_range_fault()) coherent with the CPU's. That
 * much needs CONFIG_HMM_MIRROR only (READ, WRITE, SNAPSHOT).
 *
 * With CONFIG_DEVICE_PRIVATE the devices also have memory: ZONE_DEVICE
 * private pages from memremap_pages() on a free physical region, each
 * backed by a system page that holds its data (zone_device_data), as
 * test_hmm does. Pages move to the device with migrate_vma_*(), back on a
 * CPU fault through ->migrate_to_ram(), and are made device-exclusive with
 * make_device_exclusive(). Without it those commands fail with EOPNOTSUPP.
 *
 * The devices are registered only when the kernel's own test_hmm is absent
 * (both would claim the same names); "hmm" in mmprobe's debugfs directory
 * says whether they are there, whether they have device-private memory,
 * why not, and counts what they did.
 *
 * Locking (Documentation/hmm.rst has the whole picture):
 * - hmm_dmirror.mutex protects the device page table (pt) and is taken by
 *   the interval notifier, so an entry never outlives the CPU mapping it
 *   mirrors; pt holds no page references.
 * - hmm_dmirror_device.devmem_lock protects the chunk array and the
 *   reserved region; hmm_dmirror_device.lock (a spinlock) the free lists
 *   and counts.
 * - Device memory comes in 256 MiB chunks. Load only reserves the first
 *   chunk's region (request_free_mem_region(): no free region, no devices);
 *   the first device-page allocation that finds the free lists empty maps
 *   it with memremap_pages() under devmem_lock, which serialises chunk
 *   creation: a second allocator waits there and then maps a new region
 *   of its own, as test_hmm does. So a load and unload that moves no page
 *   never initialises device struct pages.
 * - A device page is referenced by the CPU page table entry that maps it
 *   (device-private entry) and by migration in progress; it returns to the
 *   free list through ->folio_free() when the last reference goes.
 * - No page is ever pinned here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "compat.h"
#include "mmprobe.h"

/* Why the devices are not there; NULL when they are. */
static const char *hmm_absent_reason;
/* Why they have no device-private memory; NULL when they have. */
static const char *hmm_devmem_reason =
	MMPROBE_HAS_HMM_DEVICE_PRIVATE ? NULL :
	!IS_ENABLED(CONFIG_DEVICE_PRIVATE) ? "kernel built without CONFIG_DEVICE_PRIVATE" :
	"mmprobe's device-private memory needs the folio-based API of v7.x";
static char hmm_absent_buf[64];

#if MMPROBE_HAS_HMM_MIRROR

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/ioport.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/namei.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/rmap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>

#include "hmm_uapi.h"

#define HMM_DMIRROR_NDEVICES		2
#define HMM_DEVMEM_CHUNK_SIZE		(256 * 1024 * 1024U)
#define HMM_DEVMEM_CHUNKS_RESERVE	16

/* Tags of device page table entries (xarray pointer tags). */
#define HMM_DPT_XA_TAG_ATOMIC		1UL
#define HMM_DPT_XA_TAG_WRITE		3UL

/* Counters shown in debugfs "hmm"; atomic, no lock. */
enum hmm_stat {
	HMM_STAT_OPENS,
	HMM_STAT_RELEASES,
	HMM_STAT_IOCTLS,
	HMM_STAT_ERRORS,
	HMM_STAT_DEVICE_FAULTS,
	HMM_STAT_INVALIDATIONS,
	HMM_STAT_TO_DEVICE,
	HMM_STAT_TO_SYSTEM,
	HMM_STAT_CPU_FAULTS,
	HMM_STAT_CPU_FAULT_PAGES,
	HMM_STAT_EVICTED,
	HMM_STAT_EXCLUSIVE,
	HMM_STAT_CHUNKS_ADDED,
	HMM_STAT_CHUNKS_REMOVED,
	HMM_STAT_RETIRED,
	HMM_NR_STATS
};

static const char * const hmm_stat_names[HMM_NR_STATS] = {
	[HMM_STAT_OPENS]		= "opens",
	[HMM_STAT_RELEASES]		= "releases",
	[HMM_STAT_IOCTLS]		= "ioctls",
	[HMM_STAT_ERRORS]		= "errors",
	[HMM_STAT_DEVICE_FAULTS]	= "device_faults",
	[HMM_STAT_INVALIDATIONS]	= "invalidations",
	[HMM_STAT_TO_DEVICE]		= "migrated_to_device",
	[HMM_STAT_TO_SYSTEM]		= "migrated_to_system",
	[HMM_STAT_CPU_FAULTS]		= "cpu_faults",
	[HMM_STAT_CPU_FAULT_PAGES]	= "cpu_fault_pages",
	[HMM_STAT_EVICTED]		= "evicted",
	[HMM_STAT_EXCLUSIVE]		= "exclusive",
	[HMM_STAT_CHUNKS_ADDED]		= "chunks_added",
	[HMM_STAT_CHUNKS_REMOVED]	= "chunks_removed",
	[HMM_STAT_RETIRED]		= "retired",
};

static atomic_long_t hmm_stats[HMM_NR_STATS];

static void hmm_stat_add(enum hmm_stat stat, long nr)
{
	atomic_long_add(nr, &hmm_stats[stat]);
}

struct hmm_dmirror_device;

/* A bounce buffer between the device page table and user memory. */
struct hmm_dmirror_bounce {
	void			*ptr;
	unsigned long		size;
	unsigned long		addr;
	unsigned long		cpages;
};

/* A temporary notifier for one snapshot. */
struct hmm_dmirror_interval {
	struct mmu_interval_notifier	notifier;
	struct hmm_dmirror		*dmirror;
};

/*
 * The state of one open device file: the mirror of its opener's address
 * space. Shared by the processes the file is shared with (fork); the mm is
 * always the opener's.
 */
struct hmm_dmirror {
	struct hmm_dmirror_device	*mdevice;
	struct xarray			pt;	/* protected by mutex */
	struct mmu_interval_notifier	notifier;
	struct mutex			mutex;	/* protects pt and flags */
	u64				flags;	/* HMM_DMIRROR_FLAG_* */
	struct list_head		retired; /* on mdevice->retired, see below */
};

/* One simulated device, /dev/hmm_dmirrorN. */
struct hmm_dmirror_device {
	struct cdev			cdevice;
	struct device			device;
	bool				added;

	unsigned int			devmem_capacity;
	unsigned int			devmem_count;
	struct hmm_dmirror_chunk	**devmem_chunks;
	struct hmm_dmirror_chunk	*reserved;	/* region not mapped yet */
	struct mutex			devmem_lock;	/* protects the above */

	unsigned long			calloc;
	unsigned long			cfree;
	struct page			*free_pages;
	struct folio			*free_folios;
	struct list_head		retired;	/* closed mirrors, not freed */
	spinlock_t			lock;		/* protects the above */
};

static const struct mmu_interval_notifier_ops hmm_dmirror_min_ops;
static struct hmm_dmirror_device hmm_devices[HMM_DMIRROR_NDEVICES];
static dev_t hmm_devt;
static bool hmm_registered;

static int hmm_bounce_init(struct hmm_dmirror_bounce *bounce,
			   unsigned long addr, unsigned long size)
{
	bounce->addr = addr;
	bounce->size = size;
	bounce->cpages = 0;
	bounce->ptr = __vmalloc(size, GFP_KERNEL | __GFP_NOWARN);
	if (!bounce->ptr)
		return -ENOMEM;
	return 0;
}

static void hmm_bounce_fini(struct hmm_dmirror_bounce *bounce)
{
	vfree(bounce->ptr);
}

/* READ_UNLOCKED's hmm_range_fault_unlocked_timeout(), new in v7.x. */
static int hmm_range_fault_unlocked(struct hmm_range *range)
{
#if MMPROBE_HAS_HMM_RANGE_FAULT_UNLOCKED
	return hmm_range_fault_unlocked_timeout(range, 0);
#else
	return -EOPNOTSUPP;
#endif
}

static int hmm_do_fault(struct hmm_dmirror *dmirror, struct hmm_range *range)
{
	unsigned long *pfns = range->hmm_pfns;
	unsigned long pfn;

	lockdep_assert_held(&dmirror->mutex);
	for (pfn = range->start >> PAGE_SHIFT; pfn < (range->end >> PAGE_SHIFT);
	     pfn++, pfns++) {
		struct page *page;
		void *entry;

		/* hmm_range_fault() populated the range or failed. */
		if (WARN_ON_ONCE((*pfns & HMM_PFN_ERROR) || !(*pfns & HMM_PFN_VALID)))
			return -EFAULT;

		page = hmm_pfn_to_page(*pfns);
		entry = page;
		if (*pfns & HMM_PFN_WRITE)
			entry = xa_tag_pointer(entry, HMM_DPT_XA_TAG_WRITE);
		else if (WARN_ON_ONCE(range->default_flags & HMM_PFN_WRITE))
			return -EFAULT;
		entry = xa_store(&dmirror->pt, pfn, entry, GFP_ATOMIC);
		if (xa_is_err(entry))
			return xa_err(entry);
	}
	return 0;
}

static bool hmm_dmirror_invalidate(struct mmu_interval_notifier *mni,
				   const struct mmu_notifier_range *range,
				   unsigned long cur_seq)
{
	struct hmm_dmirror *dmirror = container_of(mni, struct hmm_dmirror, notifier);
	unsigned long pfn;
	void *entry;

	/* A migration this device started updates the table itself. */
	if (range->event == MMU_NOTIFY_MIGRATE && range->owner == dmirror->mdevice)
		return true;

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&dmirror->mutex);
	else if (!mutex_trylock(&dmirror->mutex))
		return false;

	mmu_interval_set_seq(mni, cur_seq);
	/* The table holds no page references: dropping an entry is enough. */
	xa_for_each_range(&dmirror->pt, pfn, entry, range->start >> PAGE_SHIFT,
			  range->end >> PAGE_SHIFT)
		xa_erase(&dmirror->pt, pfn);

	mutex_unlock(&dmirror->mutex);
	hmm_stat_add(HMM_STAT_INVALIDATIONS, 1);
	return true;
}

static const struct mmu_interval_notifier_ops hmm_dmirror_min_ops = {
	.invalidate = hmm_dmirror_invalidate,
};

/* Fault a range into the device page table; 0 with dmirror->mutex held. */
static int hmm_range_fault_locked(struct hmm_dmirror *dmirror, struct hmm_range *range,
				  bool mmap_unlocked)
{
	struct mm_struct *mm = dmirror->notifier.mm;
	unsigned long timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	int ret;

	while (true) {
		if (mmap_unlocked) {
			ret = hmm_range_fault_unlocked(range);
			if (ret)
				return ret;
		} else {
			if (time_after(jiffies, timeout))
				return -EBUSY;
			range->notifier_seq = mmu_interval_read_begin(range->notifier);
			if (mmap_read_lock_killable(mm))
				return -EINTR;
			ret = hmm_range_fault(range);
			mmap_read_unlock(mm);
			if (ret == -EBUSY)
				continue;
			if (ret)
				return ret;
		}

		mutex_lock(&dmirror->mutex);
		if (!mmu_interval_read_retry(range->notifier, range->notifier_seq))
			return 0;
		mutex_unlock(&dmirror->mutex);
	}
}

static int hmm_fault(struct hmm_dmirror *dmirror, unsigned long start,
		     unsigned long end, bool write, bool mmap_unlocked)
{
	struct mm_struct *mm = dmirror->notifier.mm;
	unsigned long pfns[32];
	struct hmm_range range = {
		.notifier = &dmirror->notifier,
		.hmm_pfns = pfns,
		.pfn_flags_mask = 0,
		.default_flags = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0),
		.dev_private_owner = dmirror->mdevice,
	};
	unsigned long addr;
	int ret = 0;

	if (!mmget_not_zero(mm))
		return -ESRCH;

	for (addr = start; addr < end; addr = range.end) {
		range.start = addr;
		range.end = min(addr + (ARRAY_SIZE(pfns) << PAGE_SHIFT), end);

		ret = hmm_range_fault_locked(dmirror, &range, mmap_unlocked);
		if (ret)
			break;
		ret = hmm_do_fault(dmirror, &range);
		mutex_unlock(&dmirror->mutex);
		if (ret)
			break;
	}

	mmput(mm);
	return ret;
}

/*
 * Copy [start, end) between the device page table and the bounce buffer:
 * -ENOENT at the first page the table lacks (or, to write, lacks write
 * access to); bounce->cpages counts the pages copied.
 */
static int hmm_do_copy(struct hmm_dmirror *dmirror, unsigned long start,
		       unsigned long end, struct hmm_dmirror_bounce *bounce, bool write)
{
	unsigned long pfn;
	void *ptr;

	lockdep_assert_held(&dmirror->mutex);
	ptr = bounce->ptr + ((start - bounce->addr) & PAGE_MASK);
	for (pfn = start >> PAGE_SHIFT; pfn < (end >> PAGE_SHIFT); pfn++) {
		void *entry = xa_load(&dmirror->pt, pfn);
		struct page *page = xa_untag_pointer(entry);

		if (!page || (write && xa_pointer_tag(entry) != HMM_DPT_XA_TAG_WRITE))
			return -ENOENT;
		if (write)
			memcpy_to_page(page, 0, ptr, PAGE_SIZE);
		else
			memcpy_from_page(ptr, page, 0, PAGE_SIZE);
		ptr += PAGE_SIZE;
		bounce->cpages++;
	}
	return 0;
}

/*
 * READ, READ_UNLOCKED and WRITE: copy between the device page table and
 * the user buffer, faulting in what the table lacks.
 */
static int hmm_rw(struct hmm_dmirror *dmirror, struct hmm_dmirror_cmd *cmd, bool write,
		  bool mmap_unlocked)
{
	unsigned long size = cmd->npages << PAGE_SHIFT;
	unsigned long start = cmd->addr, end = start + size;
	struct hmm_dmirror_bounce bounce;
	int ret;

	ret = hmm_bounce_init(&bounce, start, size);
	if (ret)
		return ret;
	if (write && copy_from_user(bounce.ptr, u64_to_user_ptr(cmd->ptr), bounce.size)) {
		ret = -EFAULT;
		goto fini;
	}

	while (1) {
		mutex_lock(&dmirror->mutex);
		ret = hmm_do_copy(dmirror, start, end, &bounce, write);
		mutex_unlock(&dmirror->mutex);
		if (ret != -ENOENT)
			break;

		start = cmd->addr + (bounce.cpages << PAGE_SHIFT);
		ret = hmm_fault(dmirror, start, end, write, mmap_unlocked);
		if (ret)
			break;
		cmd->faults++;
		hmm_stat_add(HMM_STAT_DEVICE_FAULTS, 1);
	}

	if (!ret && !write && copy_to_user(u64_to_user_ptr(cmd->ptr), bounce.ptr, bounce.size))
		ret = -EFAULT;
fini:
	cmd->cpages = bounce.cpages;
	hmm_bounce_fini(&bounce);
	return ret;
}

#if MMPROBE_HAS_HMM_DEVICE_PRIVATE

/* One memremap_pages() region of device-private pages. */
struct hmm_dmirror_chunk {
	struct dev_pagemap		pagemap;
	struct hmm_dmirror_device	*mdevice;
	bool				remove;	/* protected by mdevice->lock */
};

static const struct dev_pagemap_ops hmm_devmem_ops;

/* The system page that holds a device page's data. */
static struct page *hmm_backing_page(struct page *dpage)
{
	return dpage->zone_device_data;
}

static struct hmm_dmirror_chunk *hmm_page_to_chunk(struct page *page)
{
	return container_of(page_pgmap(page), struct hmm_dmirror_chunk, pagemap);
}

static struct hmm_dmirror_device *hmm_page_to_device(struct page *page)
{
	return hmm_page_to_chunk(page)->mdevice;
}

/*
 * Move every device page of a chunk back to system memory. Pages that cannot
 * move now (locked, or referenced by a migration in progress) are skipped by
 * migrate_device_range() and stay; memunmap_pages() waits for them.
 */
static void hmm_evict_chunk(struct hmm_dmirror_chunk *chunk)
{
	unsigned long start_pfn = chunk->pagemap.range.start >> PAGE_SHIFT;
	unsigned long end_pfn = chunk->pagemap.range.end >> PAGE_SHIFT;
	unsigned long npages = end_pfn - start_pfn + 1;
	unsigned long *src_pfns, *dst_pfns;
	unsigned long i, moved = 0;
	unsigned int order;

	src_pfns = kvcalloc(npages, sizeof(*src_pfns), GFP_KERNEL | __GFP_NOFAIL);
	dst_pfns = kvcalloc(npages, sizeof(*dst_pfns), GFP_KERNEL | __GFP_NOFAIL);

	migrate_device_range(src_pfns, start_pfn, npages);
	for (i = 0; i < npages; i++) {
		struct page *dpage, *spage;

		spage = migrate_pfn_to_page(src_pfns[i]);
		if (!spage || !(src_pfns[i] & MIGRATE_PFN_MIGRATE))
			continue;
		if (WARN_ON_ONCE(!is_device_private_page(spage)))
			continue;

		order = folio_order(page_folio(spage));
		spage = hmm_backing_page(spage);
		if (src_pfns[i] & MIGRATE_PFN_COMPOUND) {
			dpage = folio_page(folio_alloc(GFP_HIGHUSER_MOVABLE | __GFP_NOFAIL,
						       order), 0);
		} else {
			dpage = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOFAIL);
			order = 0;
		}

		lock_page(dpage);
		dst_pfns[i] = migrate_pfn(page_to_pfn(dpage));
		if (src_pfns[i] & MIGRATE_PFN_WRITE)
			dst_pfns[i] |= MIGRATE_PFN_WRITE;
		if (order)
			dst_pfns[i] |= MIGRATE_PFN_COMPOUND;
		folio_copy(page_folio(dpage), page_folio(spage));
		moved += 1UL << order;
	}
	migrate_device_pages(src_pfns, dst_pfns, npages);
	migrate_device_finalize(src_pfns, dst_pfns, npages);
	kvfree(src_pfns);
	kvfree(dst_pfns);
	hmm_stat_add(HMM_STAT_EVICTED, moved);
}

static void hmm_evict_device(struct hmm_dmirror_device *mdevice)
{
	unsigned int i;

	mutex_lock(&mdevice->devmem_lock);
	for (i = 0; i < mdevice->devmem_count; i++)
		hmm_evict_chunk(mdevice->devmem_chunks[i]);
	mutex_unlock(&mdevice->devmem_lock);
}

/* Free the retired mirrors of a device: no page of it may name them. */
static void hmm_dmirror_free_retired(struct list_head *dead)
{
	struct hmm_dmirror *dmirror, *next;

	list_for_each_entry_safe(dmirror, next, dead, retired) {
		list_del(&dmirror->retired);
		xa_destroy(&dmirror->pt);
		kfree(dmirror);
	}
}

/*
 * A closed mirror is freed only when no page of its device is in use
 * (mdevice->calloc == mdevice->cfree, under mdevice->lock): a device page
 * names its mirror (its backing page's zone_device_data), which
 * ->migrate_to_ram() reads and uses until it frees the device page in
 * migrate_vma_finalize(). Eviction at close skips a page that a CPU fault
 * holds locked at that moment (upstream test_hmm frees the mirror all the
 * same: a use-after-free). Until then the mirror waits on mdevice->retired;
 * the next close that finds the device empty, or the device's removal
 * (after memunmap_pages() waited for every page), frees it.
 */
static void hmm_dmirror_retire(struct hmm_dmirror_device *mdevice,
			       struct hmm_dmirror *dmirror)
{
	LIST_HEAD(dead);

	spin_lock(&mdevice->lock);
	list_add(&dmirror->retired, &mdevice->retired);
	if (mdevice->calloc == mdevice->cfree)
		list_splice_init(&mdevice->retired, &dead);
	else
		hmm_stat_add(HMM_STAT_RETIRED, 1);
	spin_unlock(&mdevice->lock);
	hmm_dmirror_free_retired(&dead);
}

/*
 * The data the device holds for the command's range, copied to cmd->ptr
 * for verification (MIGRATE_TO_DEV, EXCLUSIVE); -ENOENT when it lacks some.
 */
static int hmm_copy_out(struct hmm_dmirror *dmirror, struct hmm_dmirror_cmd *cmd)
{
	unsigned long start = cmd->addr, size = cmd->npages << PAGE_SHIFT;
	struct hmm_dmirror_bounce bounce;
	int ret;

	ret = hmm_bounce_init(&bounce, start, size);
	if (ret)
		return ret;
	mutex_lock(&dmirror->mutex);
	ret = hmm_do_copy(dmirror, start, start + size, &bounce, false);
	mutex_unlock(&dmirror->mutex);
	if (!ret && copy_to_user(u64_to_user_ptr(cmd->ptr), bounce.ptr, bounce.size))
		ret = -EFAULT;
	cmd->cpages = bounce.cpages;
	hmm_bounce_fini(&bounce);
	return ret;
}

/* Take one page (or a PMD-sized folio) off the device's free lists. */
static struct page *hmm_take_free(struct hmm_dmirror_device *mdevice, bool is_large)
{
	struct page *page = NULL;

	lockdep_assert_held(&mdevice->lock);
	if (is_large && mdevice->free_folios) {
		page = folio_page(mdevice->free_folios, 0);
		mdevice->free_folios = page->zone_device_data;
		mdevice->calloc += HPAGE_PMD_NR;
	} else if (!is_large && mdevice->free_pages) {
		page = mdevice->free_pages;
		mdevice->free_pages = page->zone_device_data;
		mdevice->calloc++;
	}
	return page;
}

/*
 * Request a free physical region for a chunk, not mapped yet: cheap, unlike
 * memremap_pages(), which initialises a struct page for each of its 65536
 * pages (a third of a second per chunk under TCG).
 */
static struct hmm_dmirror_chunk *hmm_reserve_chunk(struct hmm_dmirror_device *mdevice)
{
	struct hmm_dmirror_chunk *devmem;
	struct resource *res;
	int ret;

	devmem = kzalloc_obj(*devmem, GFP_KERNEL);
	if (!devmem)
		return ERR_PTR(-ENOMEM);

	res = request_free_mem_region(&iomem_resource, HMM_DEVMEM_CHUNK_SIZE,
				      "hmm_dmirror");
	if (IS_ERR_OR_NULL(res)) {
		ret = res ? PTR_ERR(res) : -ENOMEM;
		kfree(devmem);
		return ERR_PTR(ret);
	}
	devmem->pagemap.range.start = res->start;
	devmem->pagemap.range.end = res->end;
	devmem->pagemap.type = MEMORY_DEVICE_PRIVATE;
	devmem->pagemap.nr_range = 1;
	devmem->pagemap.ops = &hmm_devmem_ops;
	devmem->pagemap.owner = mdevice;
	devmem->mdevice = mdevice;
	return devmem;
}

/* Give back a chunk's region: one never mapped, or one memunmap_pages() freed. */
static void hmm_unreserve_chunk(struct hmm_dmirror_chunk *devmem)
{
	release_mem_region(devmem->pagemap.range.start, range_len(&devmem->pagemap.range));
	kfree(devmem);
}

/*
 * Add a chunk of device memory to the device: the region reserved at load
 * if it is still there, else a new one; with @ppage, also take a page of it
 * for the caller.
 */
static int hmm_allocate_chunk(struct hmm_dmirror_device *mdevice,
			      struct page **ppage, bool is_large)
{
	struct hmm_dmirror_chunk *devmem;
	unsigned long pfn, pfn_first, pfn_last;
	int ret = -ENOMEM;
	void *ptr;

	mutex_lock(&mdevice->devmem_lock);
	devmem = mdevice->reserved;
	mdevice->reserved = NULL;
	if (!devmem) {
		devmem = hmm_reserve_chunk(mdevice);
		if (IS_ERR(devmem)) {
			mutex_unlock(&mdevice->devmem_lock);
			return PTR_ERR(devmem);
		}
	}

	if (mdevice->devmem_count == mdevice->devmem_capacity) {
		struct hmm_dmirror_chunk **new_chunks;
		unsigned int new_capacity;

		new_capacity = mdevice->devmem_capacity + HMM_DEVMEM_CHUNKS_RESERVE;
		new_chunks = krealloc_array(mdevice->devmem_chunks, new_capacity,
					    sizeof(new_chunks[0]), GFP_KERNEL);
		if (!new_chunks)
			goto unreserve;
		mdevice->devmem_capacity = new_capacity;
		mdevice->devmem_chunks = new_chunks;
	}
	ptr = memremap_pages(&devmem->pagemap, numa_node_id());
	if (IS_ERR_OR_NULL(ptr)) {
		ret = ptr ? PTR_ERR(ptr) : -EFAULT;
		goto unreserve;
	}
	pfn_first = devmem->pagemap.range.start >> PAGE_SHIFT;
	pfn_last = pfn_first + (range_len(&devmem->pagemap.range) >> PAGE_SHIFT);
	mdevice->devmem_chunks[mdevice->devmem_count++] = devmem;
	mutex_unlock(&mdevice->devmem_lock);
	hmm_stat_add(HMM_STAT_CHUNKS_ADDED, 1);

	spin_lock(&mdevice->lock);
	for (pfn = pfn_first; pfn < pfn_last; ) {
		struct page *page = pfn_to_page(pfn);

		if (is_large && IS_ALIGNED(pfn, HPAGE_PMD_NR) &&
		    pfn + HPAGE_PMD_NR <= pfn_last) {
			page->zone_device_data = mdevice->free_folios;
			mdevice->free_folios = page_folio(page);
			pfn += HPAGE_PMD_NR;
			continue;
		}
		page->zone_device_data = mdevice->free_pages;
		mdevice->free_pages = page;
		pfn++;
	}
	ret = 0;
	if (ppage) {
		*ppage = hmm_take_free(mdevice, is_large);
		if (!*ppage)
			ret = -ENOMEM;
	}
	spin_unlock(&mdevice->lock);
	return ret;

unreserve:
	mutex_unlock(&mdevice->devmem_lock);
	hmm_unreserve_chunk(devmem);
	return ret;
}

/* A device page (order 0 or PMD order) with its backing system page. */
static struct page *hmm_devmem_alloc_page(struct hmm_dmirror *dmirror, bool is_large)
{
	struct hmm_dmirror_device *mdevice = dmirror->mdevice;
	unsigned int order = is_large ? HPAGE_PMD_ORDER : 0;
	struct folio *rfolio;
	struct page *dpage;

	rfolio = folio_alloc(GFP_HIGHUSER | __GFP_NOWARN, order);
	if (!rfolio)
		return NULL;

	spin_lock(&mdevice->lock);
	dpage = hmm_take_free(mdevice, is_large);
	spin_unlock(&mdevice->lock);
	if (!dpage && hmm_allocate_chunk(mdevice, &dpage, is_large)) {
		folio_put(rfolio);
		return NULL;
	}

	zone_device_folio_init(page_folio(dpage), page_pgmap(dpage), order);
	dpage->zone_device_data = folio_page(rfolio, 0);
	return dpage;
}

static void hmm_migrate_alloc_and_copy(struct migrate_vma *args,
				       struct hmm_dmirror *dmirror)
{
	const unsigned long *src = args->src;
	unsigned long *dst = args->dst;
	unsigned long addr;

	for (addr = args->start; addr < args->end; ) {
		bool is_large = *src & MIGRATE_PFN_COMPOUND;
		unsigned long write = *src & MIGRATE_PFN_WRITE;
		struct page *spage, *dpage, *rpage;

		if (!(*src & MIGRATE_PFN_MIGRATE))
			goto next;

		/* NULL for an unpopulated PTE or the zero page. */
		spage = migrate_pfn_to_page(*src);
		if (WARN_ON_ONCE(spage && is_zone_device_page(spage)))
			goto next;

		if (dmirror->flags & HMM_DMIRROR_FLAG_FAIL_ALLOC) {
			dmirror->flags &= ~HMM_DMIRROR_FLAG_FAIL_ALLOC;
			dpage = NULL;
		} else {
			dpage = hmm_devmem_alloc_page(dmirror, is_large);
		}

		if (!dpage) {
			unsigned long spfn = *src >> MIGRATE_PFN_SHIFT;
			unsigned long i, nr;

			if (!is_large)
				goto next;

			/* No large device page: migrate it page by page. */
			nr = spage ? folio_nr_pages(page_folio(spage)) : HPAGE_PMD_NR;
			for (i = 0; i < nr && addr < args->end; i++) {
				dpage = hmm_devmem_alloc_page(dmirror, false);
				if (!dpage) {
					*dst = 0;
				} else {
					rpage = hmm_backing_page(dpage);
					rpage->zone_device_data = dmirror;
					*dst = migrate_pfn(page_to_pfn(dpage)) | write;
					if (spage)
						copy_highpage(rpage, pfn_to_page(spfn + i));
					else
						clear_highpage(rpage);
				}
				src++;
				dst++;
				addr += PAGE_SIZE;
			}
			continue;
		}

		/*
		 * A real device would point zone_device_data at its mirror;
		 * here it holds the backing page, which points at the mirror.
		 */
		rpage = hmm_backing_page(dpage);
		rpage->zone_device_data = dmirror;
		*dst = migrate_pfn(page_to_pfn(dpage)) | write;

		if (is_large && folio_test_large(page_folio(dpage))) {
			unsigned long i, nr = folio_nr_pages(page_folio(dpage));

			*dst |= MIGRATE_PFN_COMPOUND;
			for (i = 0; i < nr; i++) {
				struct page *dst_page = rpage + i;

				if (spage)
					copy_highpage(dst_page, spage + i);
				else
					clear_highpage(dst_page);
				src++;
				dst++;
				addr += PAGE_SIZE;
			}
			continue;
		}

		if (spage)
			copy_highpage(rpage, spage);
		else
			clear_highpage(rpage);
next:
		src++;
		dst++;
		addr += PAGE_SIZE;
	}
}

static int hmm_migrate_finalize_and_map(struct migrate_vma *args,
					struct hmm_dmirror *dmirror)
{
	const unsigned long start_pfn = args->start >> PAGE_SHIFT;
	const unsigned long end_pfn = args->end >> PAGE_SHIFT;
	const unsigned long *src = args->src;
	const unsigned long *dst = args->dst;
	unsigned long pfn, moved = 0;
	int ret = 0;

	mutex_lock(&dmirror->mutex);
	for (pfn = start_pfn; pfn < end_pfn; pfn++, src++, dst++) {
		struct page *dpage, *rpage;
		unsigned long i, nr = 1;
		void *entry;

		if (!(*src & MIGRATE_PFN_MIGRATE))
			continue;
		dpage = migrate_pfn_to_page(*dst);
		if (!dpage)
			continue;

		if (*dst & MIGRATE_PFN_COMPOUND)
			nr = folio_nr_pages(page_folio(dpage));
		WARN_ON_ONCE(end_pfn < pfn + nr);

		rpage = hmm_backing_page(dpage);
		for (i = 0; i < nr; i++) {
			entry = folio_page(page_folio(rpage), i);
			if (*dst & MIGRATE_PFN_WRITE)
				entry = xa_tag_pointer(entry, HMM_DPT_XA_TAG_WRITE);
			entry = xa_store(&dmirror->pt, pfn + i, entry, GFP_ATOMIC);
			if (xa_is_err(entry)) {
				ret = xa_err(entry);
				goto unlock;
			}
		}
		moved += nr;
	}
unlock:
	mutex_unlock(&dmirror->mutex);
	hmm_stat_add(HMM_STAT_TO_DEVICE, moved);
	return ret;
}

static int hmm_check_atomic(struct hmm_dmirror *dmirror, unsigned long start,
			    unsigned long end)
{
	unsigned long pfn;
	int ret = 0;

	mutex_lock(&dmirror->mutex);
	for (pfn = start >> PAGE_SHIFT; pfn < (end >> PAGE_SHIFT); pfn++) {
		if (xa_pointer_tag(xa_load(&dmirror->pt, pfn)) == HMM_DPT_XA_TAG_ATOMIC) {
			ret = -EPERM;
			break;
		}
	}
	mutex_unlock(&dmirror->mutex);
	return ret;
}

static int hmm_atomic_map(unsigned long addr, struct page *page, struct hmm_dmirror *dmirror)
{
	void *entry;

	mutex_lock(&dmirror->mutex);
	entry = xa_tag_pointer(page, HMM_DPT_XA_TAG_ATOMIC);
	entry = xa_store(&dmirror->pt, addr >> PAGE_SHIFT, entry, GFP_ATOMIC);
	mutex_unlock(&dmirror->mutex);
	return xa_is_err(entry) ? xa_err(entry) : 0;
}

static int hmm_exclusive(struct hmm_dmirror *dmirror, struct hmm_dmirror_cmd *cmd)
{
	unsigned long start = cmd->addr, end = start + (cmd->npages << PAGE_SHIFT), addr;
	struct mm_struct *mm = dmirror->notifier.mm;
	int ret = 0;

	if (!mmget_not_zero(mm))
		return -ESRCH;

	if (mmap_read_lock_killable(mm)) {
		mmput(mm);
		return -EINTR;
	}
	for (addr = start; !ret && addr < end; addr += PAGE_SIZE) {
		struct folio *folio;
		struct page *page;

		page = make_device_exclusive(mm, addr, NULL, &folio);
		if (IS_ERR(page)) {
			ret = PTR_ERR(page);
			break;
		}
		ret = hmm_atomic_map(addr, page, dmirror);
		folio_unlock(folio);
		folio_put(folio);
		if (!ret)
			hmm_stat_add(HMM_STAT_EXCLUSIVE, 1);
	}
	mmap_read_unlock(mm);
	mmput(mm);
	return ret ? ret : hmm_copy_out(dmirror, cmd);
}

/* Device to system: allocate system pages and copy, for a fault or an ioctl. */
static vm_fault_t hmm_devmem_fault_alloc_and_copy(struct migrate_vma *args,
						  struct hmm_dmirror *dmirror)
{
	const unsigned long *src = args->src;
	unsigned long *dst = args->dst;
	unsigned long addr;
	unsigned int order;
	int i;

	for (addr = args->start; addr < args->end; ) {
		struct page *dpage, *spage;

		order = 0;
		spage = migrate_pfn_to_page(*src);
		if (!spage || !(*src & MIGRATE_PFN_MIGRATE)) {
			addr += PAGE_SIZE;
			goto next;
		}
		if (WARN_ON_ONCE(!is_device_private_page(spage))) {
			addr += PAGE_SIZE;
			goto next;
		}

		spage = hmm_backing_page(spage);
		order = folio_order(page_folio(spage));
		if (order)
			*dst = MIGRATE_PFN_COMPOUND;
		if (*src & MIGRATE_PFN_WRITE)
			*dst |= MIGRATE_PFN_WRITE;

		if (dmirror->flags & HMM_DMIRROR_FLAG_FAIL_ALLOC) {
			dmirror->flags &= ~HMM_DMIRROR_FLAG_FAIL_ALLOC;
			*dst &= ~MIGRATE_PFN_COMPOUND;
			dpage = NULL;
		} else if (order) {
			struct folio *folio;

			folio = vma_alloc_folio(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN, order,
						args->vma, addr);
			dpage = folio ? folio_page(folio, 0) : NULL;
		} else {
			dpage = alloc_page_vma(GFP_HIGHUSER_MOVABLE, args->vma, addr);
		}

		if (!dpage && !order)
			return VM_FAULT_OOM;

		if (dpage) {
			lock_page(dpage);
			*dst |= migrate_pfn(page_to_pfn(dpage));
		}

		for (i = 0; i < (1 << order); i++) {
			struct page *dst_page;

			/* No large page: fall back to small ones. */
			if (!dpage && order) {
				dpage = alloc_page_vma(GFP_HIGHUSER_MOVABLE, args->vma, addr);
				if (!dpage) {
					while (i > 0) {
						struct page *fpage;

						fpage = migrate_pfn_to_page(dst[--i]);
						unlock_page(fpage);
						__free_page(fpage);
					}
					/* Leave no stale entry to migrate_vma_pages(). */
					for (; i < (1 << order); i++)
						dst[i] = 0;
					return VM_FAULT_OOM;
				}
				lock_page(dpage);
				dst[i] = migrate_pfn(page_to_pfn(dpage));
				dst_page = dpage;
				dpage = NULL;
			} else {
				dst_page = dpage + i;
			}

			mutex_lock(&dmirror->mutex);
			xa_erase(&dmirror->pt, addr >> PAGE_SHIFT);
			mutex_unlock(&dmirror->mutex);
			addr += PAGE_SIZE;
			copy_highpage(dst_page, spage + i);
		}
next:
		src += 1 << order;
		dst += 1 << order;
	}
	return 0;
}

static unsigned long hmm_migrated_pages(struct migrate_vma *migrate)
{
	unsigned long i, cpages = 0;

	for (i = 0; i < migrate->npages; i++)
		if ((migrate->src[i] & MIGRATE_PFN_VALID) &&
		    (migrate->src[i] & MIGRATE_PFN_MIGRATE))
			cpages++;
	return cpages;
}

/*
 * One span of a migration: the part of [addr, end) in one VMA and one page
 * table. Return: the end of the span, or 0 after an error in *ret.
 */
static unsigned long hmm_migrate_span(struct mm_struct *mm, struct migrate_vma *args,
				      unsigned long addr, unsigned long end, int *ret)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);
	unsigned long next;

	if (!vma || !(vma->vm_flags & VM_READ)) {
		*ret = -EINVAL;
		return 0;
	}
	next = min(end, addr + (PTRS_PER_PTE << PAGE_SHIFT));
	next = min(next, vma->vm_end);
	args->vma = vma;
	args->start = addr;
	args->end = next;
	*ret = 0;
	return next;
}

/* One step of MIGRATE_TO_SYS: the pages of args, set up, moved back. */
static int hmm_migrate_step_to_system(struct migrate_vma *args, struct hmm_dmirror *dmirror,
				      struct hmm_dmirror_cmd *cmd)
{
	unsigned long moved;

	if (hmm_devmem_fault_alloc_and_copy(args, dmirror)) {
		migrate_vma_finalize(args);
		return -ENOMEM;
	}
	migrate_vma_pages(args);
	moved = hmm_migrated_pages(args);
	cmd->cpages += moved;
	migrate_vma_finalize(args);
	hmm_stat_add(HMM_STAT_TO_SYSTEM, moved);
	return 0;
}

/* One step of MIGRATE_TO_DEV: the pages of args, set up, moved and mirrored. */
static int hmm_migrate_step_to_device(struct migrate_vma *args, struct hmm_dmirror *dmirror)
{
	int ret;

	hmm_migrate_alloc_and_copy(args, dmirror);
	migrate_vma_pages(args);
	ret = hmm_migrate_finalize_and_map(args, dmirror);
	migrate_vma_finalize(args);
	return ret;
}

/* Migrate the command's range to the device or back, a page table at a time. */
static int hmm_migrate(struct hmm_dmirror *dmirror, struct hmm_dmirror_cmd *cmd,
		       bool to_device)
{
	unsigned long start = cmd->addr, end = start + (cmd->npages << PAGE_SHIFT);
	struct mm_struct *mm = dmirror->notifier.mm;
	struct migrate_vma args = { 0 };
	unsigned long addr, next;
	int ret = 0;

	if (!mmget_not_zero(mm))
		return -ESRCH;

	args.src = kvcalloc(PTRS_PER_PTE, sizeof(*args.src), GFP_KERNEL);
	args.dst = kvcalloc(PTRS_PER_PTE, sizeof(*args.dst), GFP_KERNEL);
	if (!args.src || !args.dst) {
		ret = -ENOMEM;
		goto free;
	}

	if (mmap_read_lock_killable(mm)) {
		ret = -EINTR;
		goto free;
	}
	for (addr = start; addr < end; addr = next) {
		next = hmm_migrate_span(mm, &args, addr, end, &ret);
		if (!next)
			break;
		args.pgmap_owner = dmirror->mdevice;
		args.flags = MIGRATE_VMA_SELECT_COMPOUND | (to_device ?
			     MIGRATE_VMA_SELECT_SYSTEM : MIGRATE_VMA_SELECT_DEVICE_PRIVATE);
		ret = migrate_vma_setup(&args);
		if (ret)
			break;
		ret = to_device ? hmm_migrate_step_to_device(&args, dmirror) :
				  hmm_migrate_step_to_system(&args, dmirror, cmd);
		if (ret)
			break;
	}
	mmap_read_unlock(mm);
free:
	mmput(mm);
	kvfree(args.src);
	kvfree(args.dst);
	return ret;
}

/* Take a chunk's pages off the free lists, so they can't be allocated again. */
static void hmm_remove_free_pages(struct hmm_dmirror_chunk *devmem)
{
	struct hmm_dmirror_device *mdevice = devmem->mdevice;
	struct folio **fp = &mdevice->free_folios;
	struct page **pp = &mdevice->free_pages;

	lockdep_assert_held(&mdevice->lock);
	while (*fp) {
		if (hmm_page_to_chunk(folio_page(*fp, 0)) == devmem)
			*fp = folio_zone_device_data(*fp);
		else
			fp = (struct folio **)&folio_page(*fp, 0)->zone_device_data;
	}
	while (*pp) {
		if (hmm_page_to_chunk(*pp) == devmem)
			*pp = (*pp)->zone_device_data;
		else
			pp = (struct page **)&(*pp)->zone_device_data;
	}
}

/* Bring every page back to system memory, give the chunks and the reserved region up. */
static void hmm_remove_chunks(struct hmm_dmirror_device *mdevice)
{
	unsigned int i;

	mutex_lock(&mdevice->devmem_lock);
	for (i = 0; i < mdevice->devmem_count; i++) {
		struct hmm_dmirror_chunk *devmem = mdevice->devmem_chunks[i];

		spin_lock(&mdevice->lock);
		devmem->remove = true;
		hmm_remove_free_pages(devmem);
		spin_unlock(&mdevice->lock);

		hmm_evict_chunk(devmem);
		/* Waits for the last reference to each page of the chunk. */
		memunmap_pages(&devmem->pagemap);
		hmm_unreserve_chunk(devmem);
		hmm_stat_add(HMM_STAT_CHUNKS_REMOVED, 1);
	}
	if (mdevice->reserved) {
		hmm_unreserve_chunk(mdevice->reserved);
		mdevice->reserved = NULL;
	}
	mdevice->devmem_count = 0;
	mdevice->devmem_capacity = 0;
	spin_lock(&mdevice->lock);
	mdevice->free_pages = NULL;
	mdevice->free_folios = NULL;
	spin_unlock(&mdevice->lock);
	kfree(mdevice->devmem_chunks);
	mdevice->devmem_chunks = NULL;
	mutex_unlock(&mdevice->devmem_lock);
}

/* ->folio_free(): the last reference to a device page is gone. */
static void hmm_devmem_free(struct folio *folio)
{
	struct page *page = &folio->page;
	struct page *rpage = hmm_backing_page(page);
	struct hmm_dmirror_device *mdevice = hmm_page_to_device(page);
	unsigned int order = 0;

	if (rpage) {
		order = folio_order(page_folio(rpage));
		__free_pages(rpage, order);
	}

	spin_lock(&mdevice->lock);
	mdevice->cfree += 1UL << order;
	/* Back to the device's allocator, unless the chunk is going away. */
	if (!hmm_page_to_chunk(page)->remove) {
		if (order) {
			page->zone_device_data = mdevice->free_folios;
			mdevice->free_folios = folio;
		} else {
			page->zone_device_data = mdevice->free_pages;
			mdevice->free_pages = page;
		}
	}
	spin_unlock(&mdevice->lock);
}

/* ->migrate_to_ram(): a CPU fault on a device-private entry. */
static vm_fault_t hmm_devmem_fault(struct vm_fault *vmf)
{
	struct migrate_vma args = { 0 };
	struct hmm_dmirror *dmirror;
	unsigned int order;
	struct page *rpage;
	vm_fault_t ret;
	unsigned long nr;

	/* The backing page points at the mirror that migrated the page. */
	rpage = folio_zone_device_data(page_folio(vmf->page));
	dmirror = rpage->zone_device_data;

	/*
	 * A PTE-mapped fault moves one page: the folio may be mapped in part
	 * and not split yet.
	 */
	order = vmf->pte ? 0 : folio_order(page_folio(vmf->page));
	args.start = ALIGN_DOWN(vmf->address, PAGE_SIZE << order);
	args.end = args.start + (PAGE_SIZE << order);
	args.vma = vmf->vma;
	nr = 1UL << order;
	args.src = kcalloc(nr, sizeof(*args.src), GFP_KERNEL);
	args.dst = kcalloc(nr, sizeof(*args.dst), GFP_KERNEL);
	args.pgmap_owner = dmirror->mdevice;
	args.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE;
	args.fault_page = vmf->page;
	if (!args.src || !args.dst) {
		ret = VM_FAULT_OOM;
		goto free;
	}
	if (order)
		args.flags |= MIGRATE_VMA_SELECT_COMPOUND;

	/* Only checks static properties of the VMA: fails for a bad test. */
	if (migrate_vma_setup(&args)) {
		ret = VM_FAULT_SIGBUS;
		goto free;
	}

	ret = hmm_devmem_fault_alloc_and_copy(&args, dmirror);
	if (!ret) {
		migrate_vma_pages(&args);
		hmm_stat_add(HMM_STAT_CPU_FAULT_PAGES, hmm_migrated_pages(&args));
	}
	/* The device page table was updated by alloc_and_copy. */
	migrate_vma_finalize(&args);
	hmm_stat_add(HMM_STAT_CPU_FAULTS, 1);
free:
	kfree(args.src);
	kfree(args.dst);
	return ret;
}

/* ->folio_split(): a large device folio is split; split its backing too. */
static void hmm_devmem_folio_split(struct folio *head, struct folio *tail)
{
	struct page *rpage = hmm_backing_page(folio_page(head, 0));
	struct page *rpage_tail;
	struct folio *rfolio;
	unsigned long offset;

	if (!rpage) {
		tail->page.zone_device_data = NULL;
		return;
	}

	rfolio = page_folio(rpage);
	if (!tail) {
		folio_reset_order(rfolio);
		rfolio->mapping = NULL;
		folio_set_count(rfolio, 1);
		return;
	}

	offset = folio_pfn(tail) - folio_pfn(head);
	rpage_tail = folio_page(rfolio, offset);
	tail->page.zone_device_data = rpage_tail;
	rpage_tail->zone_device_data = rpage->zone_device_data;
	clear_compound_head(rpage_tail);
	rpage_tail->mapping = NULL;

	folio_page(tail, 0)->mapping = folio_page(head, 0)->mapping;
	tail->pgmap = head->pgmap;
	folio_set_count(page_folio(rpage_tail), 1);
}

static const struct dev_pagemap_ops hmm_devmem_ops = {
	.folio_free	= hmm_devmem_free,
	.migrate_to_ram	= hmm_devmem_fault,
	.folio_split	= hmm_devmem_folio_split,
};

/* The commands that need device memory. */
static int hmm_devmem_ioctl(struct hmm_dmirror *dmirror, unsigned int command,
			    struct hmm_dmirror_cmd *cmd)
{
	int ret;

	switch (command) {
	case HMM_DMIRROR_MIGRATE_TO_DEV:
		ret = hmm_migrate(dmirror, cmd, true);
		return ret ? ret : hmm_copy_out(dmirror, cmd);
	case HMM_DMIRROR_MIGRATE_TO_SYS:
		return hmm_migrate(dmirror, cmd, false);
	case HMM_DMIRROR_EXCLUSIVE:
		return hmm_exclusive(dmirror, cmd);
	case HMM_DMIRROR_CHECK_EXCLUSIVE:
		return hmm_check_atomic(dmirror, cmd->addr,
					cmd->addr + (cmd->npages << PAGE_SHIFT));
	case HMM_DMIRROR_RELEASE:
		hmm_remove_chunks(dmirror->mdevice);
		return 0;
	case HMM_DMIRROR_FLAGS:
		dmirror->flags = cmd->npages;
		return 0;
	}
	return -ENOTTY;
}

/*
 * The first chunk's region now, so that a missing region fails the load;
 * it is mapped on the first device-page allocation.
 */
static int hmm_devmem_init(struct hmm_dmirror_device *mdevice)
{
	struct hmm_dmirror_chunk *devmem = hmm_reserve_chunk(mdevice);

	if (IS_ERR(devmem))
		return PTR_ERR(devmem);
	mdevice->reserved = devmem;
	return 0;
}

/* All of a device's memory back, and its retired mirrors freed. */
static void hmm_devmem_remove(struct hmm_dmirror_device *mdevice)
{
	LIST_HEAD(dead);

	hmm_remove_chunks(mdevice);
	/* Every device page is freed now: no page names a retired mirror. */
	spin_lock(&mdevice->lock);
	list_splice_init(&mdevice->retired, &dead);
	spin_unlock(&mdevice->lock);
	hmm_dmirror_free_retired(&dead);
}

/*
 * A closed mirror: every page of its device back to system memory (as
 * test_hmm does: a page's ->migrate_to_ram() needs the mirror that put it
 * there), then the mirror freed or retired.
 */
static void hmm_dmirror_free(struct hmm_dmirror *dmirror)
{
	hmm_evict_device(dmirror->mdevice);
	hmm_dmirror_retire(dmirror->mdevice, dmirror);
}

/* The snapshot byte of a device-private page, without the access bits. */
static bool hmm_devmem_perm(struct hmm_dmirror *dmirror, struct page *page,
			    unsigned char *perm)
{
	if (!is_device_private_page(page))
		return false;
	*perm = dmirror->mdevice == hmm_page_to_device(page) ?
		HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL : HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE;
	return true;
}

static void hmm_devmem_show(struct seq_file *m, struct hmm_dmirror_device *mdevice, int id)
{
	unsigned long calloc, cfree;
	unsigned int chunks;
	bool reserved;

	mutex_lock(&mdevice->devmem_lock);
	chunks = mdevice->devmem_count;
	reserved = mdevice->reserved;
	mutex_unlock(&mdevice->devmem_lock);
	spin_lock(&mdevice->lock);
	calloc = mdevice->calloc;
	cfree = mdevice->cfree;
	spin_unlock(&mdevice->lock);
	seq_printf(m, "dev%d.chunks=%u\n", id, chunks);
	seq_printf(m, "dev%d.reserved=%d\n", id, reserved);
	seq_printf(m, "dev%d.pages_allocated=%lu\n", id, calloc);
	seq_printf(m, "dev%d.pages_freed=%lu\n", id, cfree);
	seq_printf(m, "dev%d.pages_in_use=%lu\n", id, calloc - cfree);
}

#else /* !MMPROBE_HAS_HMM_DEVICE_PRIVATE */

/*
 * Without device memory the devices mirror (READ, WRITE, SNAPSHOT) and
 * every command that needs device pages fails with EOPNOTSUPP.
 */
static int hmm_devmem_ioctl(struct hmm_dmirror *dmirror, unsigned int command,
			    struct hmm_dmirror_cmd *cmd)
{
	return -EOPNOTSUPP;
}

static int hmm_devmem_init(struct hmm_dmirror_device *mdevice)
{
	return 0;
}

static void hmm_devmem_remove(struct hmm_dmirror_device *mdevice)
{
}

/* No device page can name the mirror: it goes at once. */
static void hmm_dmirror_free(struct hmm_dmirror *dmirror)
{
	xa_destroy(&dmirror->pt);
	kfree(dmirror);
}

static bool hmm_devmem_perm(struct hmm_dmirror *dmirror, struct page *page,
			    unsigned char *perm)
{
	return false;
}

static void hmm_devmem_show(struct seq_file *m, struct hmm_dmirror_device *mdevice, int id)
{
}

#endif /* MMPROBE_HAS_HMM_DEVICE_PRIVATE */

static int hmm_dmirror_open(struct inode *inode, struct file *filp)
{
	struct hmm_dmirror *dmirror;
	int ret;

	if (!current->mm)
		return -EINVAL;

	dmirror = kzalloc_obj(*dmirror, GFP_KERNEL);
	if (!dmirror)
		return -ENOMEM;

	dmirror->mdevice = container_of(inode->i_cdev, struct hmm_dmirror_device, cdevice);
	mutex_init(&dmirror->mutex);
	xa_init(&dmirror->pt);

	ret = mmu_interval_notifier_insert(&dmirror->notifier, current->mm, 0,
					   ULONG_MAX & PAGE_MASK, &hmm_dmirror_min_ops);
	if (ret) {
		kfree(dmirror);
		return ret;
	}

	filp->private_data = dmirror;
	hmm_stat_add(HMM_STAT_OPENS, 1);
	return 0;
}

/* The last reference to the file is gone: stop mirroring, free the mirror. */
static int hmm_dmirror_release(struct inode *inode, struct file *filp)
{
	struct hmm_dmirror *dmirror = filp->private_data;

	mmu_interval_notifier_remove(&dmirror->notifier);
	hmm_dmirror_free(dmirror);
	hmm_stat_add(HMM_STAT_RELEASES, 1);
	return 0;
}

static void hmm_mkentry(struct hmm_dmirror *dmirror, unsigned char *perm,
			unsigned long entry)
{
	struct page *page;

	if (entry & HMM_PFN_ERROR) {
		*perm = HMM_DMIRROR_PROT_ERROR;
		return;
	}
	if (!(entry & HMM_PFN_VALID)) {
		*perm = HMM_DMIRROR_PROT_NONE;
		return;
	}

	page = hmm_pfn_to_page(entry);
	if (hmm_devmem_perm(dmirror, page, perm))
		;
	else if (is_zero_page(page))
		*perm = HMM_DMIRROR_PROT_ZERO;
	else
		*perm = HMM_DMIRROR_PROT_NONE;
	if (entry & HMM_PFN_WRITE)
		*perm |= HMM_DMIRROR_PROT_WRITE;
	else
		*perm |= HMM_DMIRROR_PROT_READ;
	if (hmm_pfn_to_map_order(entry) + PAGE_SHIFT == PMD_SHIFT)
		*perm |= HMM_DMIRROR_PROT_PMD;
	else if (hmm_pfn_to_map_order(entry) + PAGE_SHIFT == PUD_SHIFT)
		*perm |= HMM_DMIRROR_PROT_PUD;
}

static bool hmm_snapshot_invalidate(struct mmu_interval_notifier *mni,
				    const struct mmu_notifier_range *range,
				    unsigned long cur_seq)
{
	struct hmm_dmirror_interval *dmi =
		container_of(mni, struct hmm_dmirror_interval, notifier);
	struct hmm_dmirror *dmirror = dmi->dmirror;

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&dmirror->mutex);
	else if (!mutex_trylock(&dmirror->mutex))
		return false;

	/* Any invalidation in the interval invalidates the whole snapshot. */
	mmu_interval_set_seq(mni, cur_seq);
	mutex_unlock(&dmirror->mutex);
	return true;
}

static const struct mmu_interval_notifier_ops hmm_snapshot_ops = {
	.invalidate = hmm_snapshot_invalidate,
};

static int hmm_range_snapshot(struct hmm_dmirror *dmirror, struct hmm_range *range,
			      unsigned char *perm)
{
	struct mm_struct *mm = dmirror->notifier.mm;
	struct hmm_dmirror_interval notifier;
	unsigned long i, n;
	int ret;

	/* A notifier of its own sees invalidations that overlap others. */
	notifier.dmirror = dmirror;
	range->notifier = &notifier.notifier;
	ret = mmu_interval_notifier_insert(range->notifier, mm, range->start,
					   range->end - range->start, &hmm_snapshot_ops);
	if (ret)
		return ret;

	ret = hmm_range_fault_locked(dmirror, range, false);
	if (!ret) {
		n = (range->end - range->start) >> PAGE_SHIFT;
		for (i = 0; i < n; i++)
			hmm_mkentry(dmirror, perm + i, range->hmm_pfns[i]);
		mutex_unlock(&dmirror->mutex);
	}

	mmu_interval_notifier_remove(range->notifier);
	return ret;
}

static int hmm_snapshot(struct hmm_dmirror *dmirror, struct hmm_dmirror_cmd *cmd)
{
	unsigned long size = cmd->npages << PAGE_SHIFT;
	unsigned long start = cmd->addr, end = start + size, addr, next;
	struct mm_struct *mm = dmirror->notifier.mm;
	unsigned long pfns[32];
	unsigned char perm[32];
	char __user *uptr;
	struct hmm_range range = {
		.hmm_pfns = pfns,
		.dev_private_owner = dmirror->mdevice,
	};
	int ret = 0;

	if (!mmget_not_zero(mm))
		return -ESRCH;

	uptr = u64_to_user_ptr(cmd->ptr);
	for (addr = start; addr < end; addr = next) {
		unsigned long n;

		next = min(addr + (ARRAY_SIZE(pfns) << PAGE_SHIFT), end);
		range.start = addr;
		range.end = next;

		ret = hmm_range_snapshot(dmirror, &range, perm);
		if (ret)
			break;

		n = (range.end - range.start) >> PAGE_SHIFT;
		if (copy_to_user(uptr, perm, n)) {
			ret = -EFAULT;
			break;
		}
		cmd->cpages += n;
		uptr += n;
	}
	mmput(mm);
	return ret;
}

/*
 * Check a command: a page-aligned address and a non-empty range that does
 * not wrap and is no larger than memory (the bounce buffer is vmalloc()ed).
 */
static int hmm_cmd_check(const struct hmm_dmirror_cmd *cmd)
{
	unsigned long size, end;

	if (cmd->addr & ~PAGE_MASK || !cmd->npages || cmd->npages > totalram_pages())
		return -EINVAL;
	if (check_shl_overflow(cmd->npages, PAGE_SHIFT, &size) ||
	    check_add_overflow(cmd->addr, size, &end) || end > TASK_SIZE)
		return -EINVAL;
	return 0;
}

static long hmm_dmirror_ioctl(struct file *filp, unsigned int command, unsigned long arg)
{
	struct hmm_dmirror *dmirror = filp->private_data;
	void __user *uarg = (void __user *)arg;
	struct hmm_dmirror_cmd cmd;
	int ret;

	hmm_stat_add(HMM_STAT_IOCTLS, 1);
	switch (command) {
	case HMM_DMIRROR_READ:
	case HMM_DMIRROR_WRITE:
	case HMM_DMIRROR_MIGRATE_TO_DEV:
	case HMM_DMIRROR_MIGRATE_TO_SYS:
	case HMM_DMIRROR_SNAPSHOT:
	case HMM_DMIRROR_EXCLUSIVE:
	case HMM_DMIRROR_CHECK_EXCLUSIVE:
	case HMM_DMIRROR_RELEASE:
	case HMM_DMIRROR_FLAGS:
	case HMM_DMIRROR_READ_UNLOCKED:
		break;
	default:
		ret = -ENOTTY;
		goto out;
	}

	if (copy_from_user(&cmd, uarg, sizeof(cmd))) {
		ret = -EFAULT;
		goto out;
	}
	/* FLAGS carries the flags in npages; every other command a range. */
	if (command == HMM_DMIRROR_FLAGS)
		ret = cmd.npages & ~HMM_DMIRROR_FLAG_FAIL_ALLOC ? -EINVAL : 0;
	else
		ret = hmm_cmd_check(&cmd);
	if (ret)
		goto out;
	if (current->mm != dmirror->notifier.mm) {
		/* A device mirrors its opener's address space only. */
		ret = -EINVAL;
		goto out;
	}

	cmd.cpages = 0;
	cmd.faults = 0;
	switch (command) {
	case HMM_DMIRROR_READ:
		ret = hmm_rw(dmirror, &cmd, false, false);
		break;
	case HMM_DMIRROR_WRITE:
		ret = hmm_rw(dmirror, &cmd, true, false);
		break;
	case HMM_DMIRROR_READ_UNLOCKED:
		ret = hmm_rw(dmirror, &cmd, false, true);
		break;
	case HMM_DMIRROR_SNAPSHOT:
		ret = hmm_snapshot(dmirror, &cmd);
		break;
	default:
		ret = hmm_devmem_ioctl(dmirror, command, &cmd);
		break;
	}
	if (!ret && copy_to_user(uarg, &cmd, sizeof(cmd)))
		ret = -EFAULT;
out:
	if (ret)
		hmm_stat_add(HMM_STAT_ERRORS, 1);
	return mmprobe_err(ret);
}

/* Zeroed kernel pages inserted into the VMA: a VM_MIXEDMAP mapping. */
static int hmm_dmirror_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long addr;

	for (addr = vma->vm_start; addr < vma->vm_end; addr += PAGE_SIZE) {
		struct page *page;
		int ret;

		page = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!page)
			return -ENOMEM;
		ret = vm_insert_page(vma, addr, page);
		/* On success the mapping holds its own reference. */
		put_page(page);
		if (ret)
			return ret;
	}
	return 0;
}

static const struct file_operations hmm_dmirror_fops = {
	.owner		= THIS_MODULE,
	.open		= hmm_dmirror_open,
	.release	= hmm_dmirror_release,
	.mmap		= hmm_dmirror_mmap,
	.unlocked_ioctl	= hmm_dmirror_ioctl,
	.llseek		= default_llseek,
};

/* The chunks go in hmm_device_remove(), before the last reference. */
static void hmm_device_release(struct device *dev)
{
}

static int hmm_device_init(struct hmm_dmirror_device *mdevice, int id)
{
	int ret;

	mutex_init(&mdevice->devmem_lock);
	spin_lock_init(&mdevice->lock);
	INIT_LIST_HEAD(&mdevice->retired);
	cdev_init(&mdevice->cdevice, &hmm_dmirror_fops);
	mdevice->cdevice.owner = THIS_MODULE;
	device_initialize(&mdevice->device);
	mdevice->device.release = hmm_device_release;
	mdevice->device.devt = MKDEV(MAJOR(hmm_devt), id);

	ret = dev_set_name(&mdevice->device, "hmm_dmirror%d", id);
	if (ret)
		goto put_device;

	ret = hmm_devmem_init(mdevice);
	if (ret)
		goto put_device;

	ret = cdev_device_add(&mdevice->cdevice, &mdevice->device);
	if (ret)
		goto remove_devmem;
	mdevice->added = true;
	return 0;

remove_devmem:
	hmm_devmem_remove(mdevice);
put_device:
	put_device(&mdevice->device);
	return ret;
}

static void hmm_device_remove(struct hmm_dmirror_device *mdevice)
{
	cdev_device_del(&mdevice->cdevice, &mdevice->device);
	hmm_devmem_remove(mdevice);
	put_device(&mdevice->device);
	mdevice->added = false;
}

/*
 * Refuse the kernel's own test_hmm while mmprobe's devices exist: both
 * register "hmm_dmirror0" and "hmm_dmirror1".
 */
static int hmm_module_notify(struct notifier_block *nb, unsigned long action, void *data)
{
	struct module *mod = data;

	if (action != MODULE_STATE_COMING || strcmp(mod->name, "test_hmm"))
		return NOTIFY_DONE;
	pr_info("test_hmm refused: mmprobe's hmm_dmirror devices exist (unload mmprobe first)\n");
	return notifier_from_errno(-EBUSY);
}

static struct notifier_block hmm_module_nb = {
	.notifier_call = hmm_module_notify,
};

/* Is the kernel's own test_hmm there (built in, or a loaded module)? */
static bool hmm_test_hmm_present(void)
{
	struct path path;

	if (IS_BUILTIN(CONFIG_TEST_HMM))
		return true;
	if (kern_path("/sys/module/test_hmm", 0, &path))
		return false;
	path_put(&path);
	return true;
}

static int hmm_register(void)
{
	int ret, id;

	ret = register_module_notifier(&hmm_module_nb);
	if (ret)
		return ret;
	/* After the notifier: a test_hmm loading now is seen by one or the other. */
	if (hmm_test_hmm_present()) {
		hmm_absent_reason = "the kernel's own test_hmm is loaded";
		ret = 0;
		goto unregister_notifier;
	}

	ret = alloc_chrdev_region(&hmm_devt, 0, HMM_DMIRROR_NDEVICES, "HMM_DMIRROR");
	if (ret)
		goto unregister_notifier;
	for (id = 0; id < HMM_DMIRROR_NDEVICES; id++) {
		ret = hmm_device_init(&hmm_devices[id], id);
		if (ret)
			goto remove_devices;
	}
	hmm_registered = true;
	return 0;

remove_devices:
	while (--id >= 0)
		hmm_device_remove(&hmm_devices[id]);
	unregister_chrdev_region(hmm_devt, HMM_DMIRROR_NDEVICES);
unregister_notifier:
	unregister_module_notifier(&hmm_module_nb);
	return ret;
}

static void hmm_show_devices(struct seq_file *m)
{
	int id;

	seq_printf(m, "devices=%d\n", hmm_registered ? HMM_DMIRROR_NDEVICES : 0);
	for (id = 0; hmm_registered && id < HMM_DMIRROR_NDEVICES; id++)
		hmm_devmem_show(m, &hmm_devices[id], id);
}

static void hmm_show_stats(struct seq_file *m)
{
	int i;

	for (i = 0; i < HMM_NR_STATS; i++)
		seq_printf(m, "%s=%ld\n", hmm_stat_names[i], atomic_long_read(&hmm_stats[i]));
}

#else /* !MMPROBE_HAS_HMM_MIRROR */

static int hmm_register(void)
{
	hmm_absent_reason = "kernel built without CONFIG_HMM_MIRROR";
	return 0;
}

static void hmm_show_devices(struct seq_file *m)
{
	seq_puts(m, "devices=0\n");
}

static void hmm_show_stats(struct seq_file *m)
{
}

#endif /* MMPROBE_HAS_HMM_MIRROR */

static int hmm_show(struct seq_file *m, void *v)
{
	const char *reason = hmm_absent_reason ?: hmm_devmem_reason;

	seq_printf(m, "device_private=%d\n", !reason);
	if (reason)
		seq_printf(m, "reason=%s\n", reason);
	hmm_show_devices(m);
	hmm_show_stats(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hmm);

/**
 * mmprobe_hmm_init() - register the device-private mirror and debugfs "hmm"
 * @root: the mmprobe debugfs directory
 *
 * The devices are registered where the kernel has CONFIG_DEVICE_PRIVATE
 * and its own test_hmm is absent; otherwise, or when registering them
 * fails, "hmm" says why not and the rest of mmprobe loads all the same.
 *
 * Context: module init.
 */
void mmprobe_hmm_init(struct dentry *root)
{
	int ret = hmm_register();

	if (ret) {
		snprintf(hmm_absent_buf, sizeof(hmm_absent_buf),
			 "registering the devices failed: errno %d", -ret);
		hmm_absent_reason = hmm_absent_buf;
		pr_warn("hmm: %s\n", hmm_absent_reason);
	}
	debugfs_create_file("hmm", 0400, root, NULL, &hmm_fops);
}

/**
 * mmprobe_hmm_exit() - unregister the devices, give their memory back
 *
 * No device file is open (each holds a module reference). Every device
 * page still mapped in a process is migrated back to system memory before
 * its chunk is unmapped.
 *
 * Context: module exit.
 */
void mmprobe_hmm_exit(void)
{
#if MMPROBE_HAS_HMM_MIRROR
	int id;

	if (!hmm_registered)
		return;
	for (id = 0; id < HMM_DMIRROR_NDEVICES; id++)
		hmm_device_remove(&hmm_devices[id]);
	unregister_chrdev_region(hmm_devt, HMM_DMIRROR_NDEVICES);
	unregister_module_notifier(&hmm_module_nb);
	hmm_registered = false;
#endif
}

