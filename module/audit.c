// SPDX-License-Identifier: GPL-2.0
/*
 * audit: check mm invariants over the page tables of live processes.
 *
 * Write "<pid> [<start> <end>]" or "all [<start> <end>]" to
 * /sys/kernel/debug/mmprobe/audit; the write walks the page tables of that
 * process (or of every process with an mm) and the next reads return one
 * line per violation found and a last line with the totals. Documentation/
 * audit.rst names each invariant, the kernels where it holds and the
 * source that states it.
 *
 * Every invariant here is checked under the lock that makes it exact: the
 * page table lock of the entry (mmprobe_walk() holds it while a callback
 * runs), under which the kernel sets and clears the state compared:
 * - writable_anon_not_exclusive: a present, writable PTE/PMD/hugetlb entry
 *   maps an anonymous page without PG_anon_exclusive. The bit is cleared
 *   only where the entry is write-protected in the same PTL section (fork's
 *   copy_present_pte(), copy_huge_pmd(); the migration and swap-out unmap),
 *   so a reader holding the PTL never sees the two disagree (>= 5.19);
 * - zero_page_writable, zero_page_dirty: the shared zero page or the huge
 *   zero folio is mapped writable or dirty (every kernel);
 * - mapped_without_mapcount: a present entry maps a folio whose mapcount
 *   is below 1; rmap is added before the entry is set and removed after it
 *   is cleared, both under the PTL;
 * - migration_folio_unlocked: a migration entry names a folio that is not
 *   locked; migration and THP split install and remove their entries with
 *   the folio locked (try_to_migrate(), remove_migration_ptes()).
 * Invariants that no lock the audit can take makes exact are not checked:
 * Documentation/audit.rst says which and why.
 *
 * Locking: as inspect, the mm is held with mmget_not_zero() and walked in
 * chunks of AUDIT_BUDGET entries under its mmap lock taken for reading
 * (killable); between chunks the lock is dropped and cond_resched() runs,
 * so an audit of a large process neither stalls its faults for long nor
 * keeps a fatal signal waiting. A process that exits meanwhile is counted
 * as such; its entries up to then stay counted. Processes are found with
 * for_each_process() under rcu_read_lock() and held by struct pid.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/page-flags.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "mmprobe.h"
#include "page.h"
#include "walk.h"

/* Entries one chunk of a walk visits before the mmap lock is dropped. */
#define AUDIT_BUDGET		4096
/* The report: violation lines beyond AUDIT_MAX_SHOWN are counted, not shown. */
#define AUDIT_BUF_SIZE		(128 * 1024)
#define AUDIT_MAX_SHOWN		256
#define AUDIT_LINE_MAX		384
#define AUDIT_CMD_MAX		128
#define AUDIT_TOKEN_MAX		32

/*
 * Debug only: "inject <addr>" makes one violation on purpose, to show that
 * the audit finds what it looks for. Off unless the module parameter is set.
 */
static bool audit_inject_enable;
module_param_named(audit_inject, audit_inject_enable, bool, 0600);
MODULE_PARM_DESC(audit_inject,
		 "allow the audit file's \"inject <addr>\" command (debug only; default off)");

static const char * const audit_level_names[MMPROBE_NR_LEVELS] = {
	[MMPROBE_LEVEL_PTE] = "pte",
	[MMPROBE_LEVEL_PMD] = "pmd",
	[MMPROBE_LEVEL_PUD] = "pud",
};

/* One audit, from the write that starts it to the report. */
struct audit_run {
	char *buf;			/* the report */
	size_t len;
	bool show_pfn;			/* the opener has CAP_SYS_ADMIN */
	pid_t pid;			/* the process walked now, and its name */
	char comm[TASK_COMM_LEN];
	unsigned long processes;	/* walked, whole or until they exited */
	unsigned long exited;		/* gone before or while walked */
	u64 entries;			/* entries checked */
	u64 violations;
	u64 shown;			/* violations with a line in the report */
	unsigned long inject_addr;	/* "inject": the page, else 0 */
	bool injected;
};

struct audit_file {
	struct mutex lock;		/* the report and its read position */
	size_t off;
	struct audit_run run;
	char buf[];
};

/* The state of a present entry, for a violation line. */
struct audit_entry {
	enum mmprobe_level level;
	bool write;
	bool dirty;
};

static __printf(2, 3) void audit_print(struct audit_run *run, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	run->len += vscnprintf(run->buf + run->len, AUDIT_BUF_SIZE - run->len, fmt, args);
	va_end(args);
}

/* Count a violation; the first AUDIT_MAX_SHOWN get a line, @what its end. */
static void audit_violation(struct audit_run *run, const char *name, unsigned long addr,
			    enum mmprobe_level level, const char *what)
{
	run->violations++;
	if (run->shown >= AUDIT_MAX_SHOWN || AUDIT_BUF_SIZE - run->len < 2 * AUDIT_LINE_MAX)
		return;
	run->shown++;
	audit_print(run, "violation=%s pid=%d comm=%s addr=0x%lx level=%s %s\n",
		    name, run->pid, run->comm, addr, audit_level_names[level], what);
}

/* A present entry's page: the invariants of its flags and of its folio. */
static void audit_present_page(struct audit_run *run, struct vm_area_struct *vma,
			       unsigned long addr, const struct audit_entry *e,
			       struct page *page)
{
	struct mmprobe_page_info info;
	char what[AUDIT_LINE_MAX];
	const char *bad[3];
	int i, n = 0, len;

	mmprobe_page_info_fill(&info, page, vma, e->level != MMPROBE_LEVEL_PTE);
	if (info.kind == MMPROBE_KIND_ZERO || info.kind == MMPROBE_KIND_HUGE_ZERO) {
		if (e->write)
			bad[n++] = "zero_page_writable";
		if (e->dirty)
			bad[n++] = "zero_page_dirty";
	} else {
		if (e->write && info.exclusive == 0)
			bad[n++] = "writable_anon_not_exclusive";
		if (info.folio_mapcount < 1)
			bad[n++] = "mapped_without_mapcount";
	}
	if (!n)
		return;
	len = scnprintf(what, sizeof(what), "write=%d dirty=%d kind=%s ", e->write, e->dirty,
			mmprobe_kind_names[info.kind]);
	mmprobe_page_info_format(what + len, sizeof(what) - len, &info, run->show_pfn);
	for (i = 0; i < n; i++)
		audit_violation(run, bad[i], addr, e->level, what);
}

/* A non-present entry: a migration entry's folio must be locked. */
static void audit_leaf(struct audit_run *run, unsigned long addr, enum mmprobe_level level,
		       swp_entry_t entry)
{
	enum mmprobe_leaf type = mmprobe_leaf_type(entry);
	char what[64];
	struct folio *folio;
	unsigned long pfn;

	if (type != MMPROBE_LEAF_MIGRATION_READ &&
	    type != MMPROBE_LEAF_MIGRATION_READ_EXCLUSIVE &&
	    type != MMPROBE_LEAF_MIGRATION_WRITE)
		return;
	pfn = mmprobe_leaf_pfn(entry);
	if (!pfn_valid(pfn))
		return;
	folio = page_folio(pfn_to_page(pfn));
	if (folio_test_locked(folio))
		return;
	if (run->show_pfn)
		scnprintf(what, sizeof(what), "kind=migration pfn=0x%lx locked=0", pfn);
	else
		scnprintf(what, sizeof(what), "kind=migration locked=0");
	audit_violation(run, "migration_folio_unlocked", addr, level, what);
}

/*
 * "inject": clear PG_anon_exclusive of the small anonymous page that a
 * writable PTE of the caller maps at run->inject_addr, check it, and set the
 * bit again, all under the PTE lock: no other path of the kernel sees the
 * page in the state the audit reports. Return: the page made to violate the
 * invariant, or NULL when the entry is not such a page.
 */
static struct page *audit_inject_clear(struct audit_run *run, unsigned long addr,
				       const struct audit_entry *e, struct page *page)
{
	struct folio *folio = page_folio(page);

	if (!run->inject_addr || addr != run->inject_addr || e->level != MMPROBE_LEVEL_PTE ||
	    !e->write || !folio_test_anon(folio) || folio_test_ksm(folio) ||
	    folio_test_large(folio) || !PageAnonExclusive(page))
		return NULL;
	ClearPageAnonExclusive(page);
	run->injected = true;
	return page;
}

static void audit_present(struct audit_run *run, struct vm_area_struct *vma,
			  unsigned long addr, const struct audit_entry *e,
			  unsigned long pfn, bool special)
{
	struct page *page = mmprobe_present_page(vma, pfn, special), *injected;

	if (!page)
		return;
	injected = audit_inject_clear(run, addr, e, page);
	audit_present_page(run, vma, addr, e, page);
	if (injected)
		SetPageAnonExclusive(injected);
}

/* The walk's callbacks; each runs under the lock of its entry. */
static int audit_walk_pte(struct mmprobe_walk *walk, unsigned long addr,
			  unsigned long end, enum mmprobe_level level, pte_t pte)
{
	struct audit_run *run = walk->private;

	run->entries++;
	if (pte_present(pte)) {
		struct audit_entry e = {
			.level = level,
			.write = pte_write(pte),
			.dirty = pte_dirty(pte),
		};

		audit_present(run, walk->vma, addr, &e, mmprobe_walk_pte_pfn(pte, level),
			      pte_special(pte));
	} else {
		audit_leaf(run, addr, level, mmprobe_pte_to_leaf(pte));
	}
	return 0;
}

static int audit_walk_pmd(struct mmprobe_walk *walk, unsigned long addr,
			  unsigned long end, pmd_t pmd)
{
	struct audit_run *run = walk->private;

	run->entries++;
	addr &= PMD_MASK;
	if (pmd_present(pmd)) {
		struct audit_entry e = {
			.level = MMPROBE_LEVEL_PMD,
			.write = pmd_write(pmd),
			.dirty = pmd_dirty(pmd),
		};

		audit_present(run, walk->vma, addr, &e, pmd_pfn(pmd), mmprobe_pmd_special(pmd));
	} else {
		audit_leaf(run, addr, MMPROBE_LEVEL_PMD, mmprobe_pmd_to_leaf(pmd));
	}
	return 0;
}

static int audit_walk_pud(struct mmprobe_walk *walk, unsigned long addr,
			  unsigned long end, pud_t pud)
{
	struct audit_run *run = walk->private;
	struct audit_entry e = {
		.level = MMPROBE_LEVEL_PUD,
		.write = pud_write(pud),
		.dirty = mmprobe_pud_dirty(pud),
	};

	run->entries++;
	audit_present(run, walk->vma, addr & PUD_MASK, &e, pud_pfn(pud),
		      mmprobe_pud_special(pud));
	return 0;
}

static const struct mmprobe_walk_ops audit_walk_ops = {
	.pte	= audit_walk_pte,
	.pmd	= audit_walk_pmd,
	.pud	= audit_walk_pud,
};

/*
 * Walk [start, end) of @mm (held with mmgrab()) in chunks. Return: 0 (also
 * when the mm is gone), or -EINTR on a fatal signal.
 */
static int audit_mm(struct audit_run *run, struct mm_struct *mm, unsigned long start,
		    unsigned long end)
{
	struct mmprobe_walk walk = {
		.ops	= &audit_walk_ops,
		.mm	= mm,
		.private = run,
	};
	unsigned long addr = start;
	int ret = 0;

	if (!mmget_not_zero(mm)) {
		run->exited++;
		return 0;
	}
	end = min(end, mm->task_size);
	run->processes++;
	while (addr < end) {
		if (fatal_signal_pending(current) || mmap_read_lock_killable(mm)) {
			ret = -EINTR;
			break;
		}
		walk.budget = AUDIT_BUDGET;
		addr = max(mmprobe_walk(&walk, addr, end), addr);
		mmap_read_unlock(mm);
		cond_resched();
	}
	mmput(mm);
	return ret;
}

/* The name of the process @pid, into run->comm; false when it is gone. */
static bool audit_comm(struct audit_run *run, struct pid *pid)
{
	struct task_struct *task = get_pid_task(pid, PIDTYPE_PID);

	if (!task)
		return false;
	get_task_comm(run->comm, task);
	put_task_struct(task);
	return true;
}

/* One process, by its pid in the caller's namespace (0: the caller). */
static int audit_one(struct file *file, struct audit_run *run, pid_t nr,
		     unsigned long start, unsigned long end)
{
	struct mm_struct *mm;
	struct pid *pid;
	int ret;

	mm = mmprobe_access_mm(file, nr);
	if (IS_ERR(mm))
		return PTR_ERR(mm);
	pid = nr ? find_get_pid(nr) : get_pid(task_tgid(current));
	run->pid = pid ? pid_vnr(pid) : nr;
	if (!pid || !audit_comm(run, pid)) {
		run->exited++;
		ret = 0;
	} else {
		ret = audit_mm(run, mm, start, end);
	}
	put_pid(pid);
	mmdrop(mm);
	return ret;
}

/*
 * Every process with an address space. The opener's access policy decides
 * per process (mmprobe_access_mm()): an opener that may not see one of them
 * gets EPERM for the whole command, not a partial audit.
 */
static int audit_all(struct file *file, struct audit_run *run, unsigned long start,
		     unsigned long end)
{
	struct task_struct *p;
	struct pid **pids;
	unsigned long n = 0, max = 0, i;
	int ret = 0;

	rcu_read_lock();
	for_each_process(p)
		max++;
	rcu_read_unlock();
	max += 64;	/* forked meanwhile; later ones are not audited */
	pids = kvcalloc(max, sizeof(*pids), GFP_KERNEL);
	if (!pids)
		return -ENOMEM;
	rcu_read_lock();
	for_each_process(p) {
		if (n == max)
			break;
		if (!(p->flags & PF_KTHREAD))
			pids[n++] = get_pid(task_tgid(p));
	}
	rcu_read_unlock();

	for (i = 0; i < n && !ret; i++) {
		pid_t nr = pid_vnr(pids[i]);

		if (!nr)
			continue;	/* not in the caller's pid namespace */
		ret = audit_one(file, run, nr, start, end);
		if (ret == -ESRCH) {
			run->exited++;	/* exited, or a kernel thread now */
			ret = 0;
		}
	}
	for (i = 0; i < n; i++)
		put_pid(pids[i]);
	kvfree(pids);
	return ret;
}

struct audit_cmd {
	bool all;
	bool inject;
	int pid;
	unsigned long start;
	unsigned long end;
};

/* "<pid>|all [<start> <end>]", or "inject <addr>". */
static int audit_parse(const char *buf, struct audit_cmd *cmd)
{
	char tok[3][AUDIT_TOKEN_MAX];
	char extra;
	int i, n;

	n = sscanf(buf, "%31s %31s %31s %c", tok[0], tok[1], tok[2], &extra);
	if (n < 1 || n > 3)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (strlen(tok[i]) >= AUDIT_TOKEN_MAX - 1)
			return -EINVAL;	/* possibly truncated */
	cmd->start = 0;
	cmd->end = TASK_SIZE_MAX;
	cmd->all = !strcmp(tok[0], "all");
	cmd->inject = !strcmp(tok[0], "inject");
	cmd->pid = 0;
	if (cmd->inject) {
		if (n != 2 || mmprobe_parse_addr(tok[1], &cmd->start) ||
		    check_add_overflow(cmd->start, PAGE_SIZE, &cmd->end))
			return -EINVAL;
	} else {
		if (!cmd->all && (kstrtoint(tok[0], 10, &cmd->pid) || cmd->pid < 0))
			return -EINVAL;
		if (n == 2)
			return -EINVAL;
		if (n == 3 && (mmprobe_parse_addr(tok[1], &cmd->start) ||
			       mmprobe_parse_addr(tok[2], &cmd->end)))
			return -EINVAL;
	}
	if (!PAGE_ALIGNED(cmd->start) || !PAGE_ALIGNED(cmd->end) || cmd->start >= cmd->end ||
	    cmd->end > TASK_SIZE_MAX)
		return -EINVAL;
	return 0;
}

static ssize_t audit_write(struct file *file, const char __user *ubuf, size_t count,
			   loff_t *ppos)
{
	struct audit_file *af = file->private_data;
	struct audit_run *run = &af->run;
	char buf[AUDIT_CMD_MAX];
	struct audit_cmd cmd;
	int ret;

	if (!count || count >= sizeof(buf))
		return mmprobe_err(-EINVAL);
	if (copy_from_user(buf, ubuf, count))
		return mmprobe_err(-EFAULT);
	buf[count] = '\0';
	ret = audit_parse(buf, &cmd);
	if (ret)
		return mmprobe_err(ret);
	if (cmd.inject && !audit_inject_enable)
		return mmprobe_err(-EPERM);

	if (mutex_lock_killable(&af->lock))
		return mmprobe_err(-EINTR);
	memset(run, 0, sizeof(*run));
	run->buf = af->buf;
	run->show_pfn = mmprobe_access_pfn(file);
	run->inject_addr = cmd.inject ? cmd.start : 0;
	af->off = 0;
	if (cmd.all)
		ret = audit_all(file, run, cmd.start, cmd.end);
	else
		ret = audit_one(file, run, cmd.pid, cmd.start, cmd.end);
	if (!ret && cmd.inject && !run->injected)
		ret = -ENXIO;
	if (ret) {
		run->len = 0;	/* no partial report */
	} else {
		audit_print(run, "processes=%lu exited=%lu entries=%llu",
			    run->processes, run->exited, run->entries);
		audit_print(run, " violations=%llu shown=%llu\n", run->violations, run->shown);
	}
	mutex_unlock(&af->lock);
	return mmprobe_err(ret ? ret : count);
}

static ssize_t audit_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	struct audit_file *af = file->private_data;
	size_t n;

	if (mutex_lock_killable(&af->lock))
		return mmprobe_err(-EINTR);
	n = min(count, af->run.len - af->off);
	if (n && copy_to_user(ubuf, af->buf + af->off, n)) {
		mutex_unlock(&af->lock);
		return mmprobe_err(-EFAULT);
	}
	af->off += n;
	mutex_unlock(&af->lock);
	return n;
}

static int audit_open(struct inode *inode, struct file *file)
{
	struct audit_file *af;

	af = kvmalloc(struct_size(af, buf, AUDIT_BUF_SIZE), GFP_KERNEL);
	if (!af)
		return -ENOMEM;
	memset(af, 0, sizeof(*af));	/* all but the report buffer */
	mutex_init(&af->lock);
	file->private_data = af;
	/* Reads and writes ignore the file position: write, then read. */
	return stream_open(inode, file);
}

static int audit_release(struct inode *inode, struct file *file)
{
	struct audit_file *af = file->private_data;

	mutex_destroy(&af->lock);
	kvfree(af);
	return 0;
}

static const struct file_operations audit_fops = {
	.owner		= THIS_MODULE,
	.open		= audit_open,
	.read		= audit_read,
	.write		= audit_write,
	.release	= audit_release,
};

/**
 * mmprobe_audit_init() - create debugfs "audit"
 * @root: the mmprobe debugfs directory
 *
 * Context: module init.
 */
void mmprobe_audit_init(struct dentry *root)
{
	debugfs_create_file("audit", 0600, root, NULL, &audit_fops);
}
