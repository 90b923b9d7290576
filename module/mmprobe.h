/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmprobe: internal interfaces shared by the probe files.
 */
#ifndef _MMPROBE_H
#define _MMPROBE_H

#include <linux/atomic.h>
#include <linux/ctype.h>
#include <linux/dcache.h>
#include <linux/errno.h>
#include <linux/kstrtox.h>
#include <linux/types.h>

#define MMPROBE_VERSION "0.1.0"

/*
 * Counters of what the module did, shown in debugfs "stats" in this order.
 * Add a probe's counters as one block here and name each in stats.c.
 */
enum mmprobe_stat {
	MMPROBE_STAT_VERSION_READS,
	MMPROBE_STAT_ERRORS,
	/* pin */
	MMPROBE_STAT_PIN_SESSIONS,
	MMPROBE_STAT_PIN_PINNED,
	MMPROBE_STAT_PIN_REFS,
	MMPROBE_STAT_PIN_RELEASED,
	MMPROBE_STAT_PIN_PARTIAL,
	/* inspect */
	MMPROBE_STAT_INSPECT_REPORTS,
	MMPROBE_STAT_INSPECT_LINES,
	MMPROBE_STAT_INSPECT_RETRIES,
	MMPROBE_STAT_INSPECT_CUTS,
	/* gup_test */
	MMPROBE_STAT_GUP_TEST_IOCTLS,
	MMPROBE_STAT_GUP_TEST_GOT,
	MMPROBE_STAT_GUP_TEST_PUT,
	MMPROBE_STAT_GUP_TEST_PINNED,
	MMPROBE_STAT_GUP_TEST_UNPINNED,
	MMPROBE_STAT_GUP_TEST_VERIFY_FAILED,
	/* notify */
	MMPROBE_STAT_NOTIFY_OPENS,
	MMPROBE_STAT_NOTIFY_EVENTS,
	MMPROBE_STAT_NOTIFY_LOST,
	/* migrate */
	MMPROBE_STAT_MIGRATE_CALLS,
	MMPROBE_STAT_MIGRATE_MIGRATED,
	MMPROBE_STAT_MIGRATE_RESTORED,
	MMPROBE_STAT_MIGRATE_SKIPPED,
	MMPROBE_NR_STATS
};

void mmprobe_stat_add(enum mmprobe_stat stat, long nr);

static inline void mmprobe_stat_inc(enum mmprobe_stat stat)
{
	mmprobe_stat_add(stat, 1);
}

/**
 * mmprobe_err() - count an error returned to user space
 * @err: a negative errno, or 0 / a positive count for success
 *
 * Return: @err unchanged, so callers can write "return mmprobe_err(ret);".
 */
static inline long mmprobe_err(long err)
{
	if (err < 0)
		mmprobe_stat_inc(MMPROBE_STAT_ERRORS);
	return err;
}

struct file;
struct mm_struct;
struct seq_file;

/*
 * An address of a command: "0x" and hex digits, nothing else, no overflow.
 * Return: 0, or -EINVAL.
 */
static inline int mmprobe_parse_addr(const char *tok, unsigned long *addr)
{
	const char *p;

	if (tok[0] != '0' || tok[1] != 'x' || !tok[2])
		return -EINVAL;
	for (p = tok + 2; *p; p++)
		if (!isxdigit(*p))
			return -EINVAL;
	return kstrtoul(tok + 2, 16, addr) ? -EINVAL : 0;
}

/* access.c: the one access policy, decided by the opener's credentials */
bool mmprobe_access_pfn(const struct file *file);
struct mm_struct *mmprobe_access_mm(const struct file *file, pid_t nr);

/* hold.c: pages held, charged to pinned_vm and a module-wide limit */
int mmprobe_hold_charge(const struct file *file, struct mm_struct *mm,
			unsigned long nr);
void mmprobe_hold_uncharge(struct mm_struct *mm, unsigned long nr);
void mmprobe_hold_show(struct seq_file *m);

void mmprobe_stats_init(struct dentry *root);
void mmprobe_version_init(struct dentry *root);
void mmprobe_migrate_init(struct dentry *root);
void mmprobe_notify_init(struct dentry *root);
void mmprobe_inspect_init(struct dentry *root);
void mmprobe_audit_init(struct dentry *root);
void mmprobe_pin_init(struct dentry *root);
void mmprobe_gup_test_init(struct dentry *root);
void mmprobe_gup_test_exit(void);
void mmprobe_hmm_init(struct dentry *root);
void mmprobe_hmm_exit(void);

#endif /* _MMPROBE_H */
