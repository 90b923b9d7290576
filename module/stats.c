// SPDX-License-Identifier: GPL-2.0
/*
 * stats: counters of what mmprobe did, one "name value" line each.
 *
 * Each counter is an atomic_long_t, so no lock protects the array: a reader
 * may see one counter moved and the next not yet, never a torn value.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "mmprobe.h"

static atomic_long_t stats_counters[MMPROBE_NR_STATS];

/* Indexed by enum mmprobe_stat; a counter without a name is a bug. */
static const char * const stats_names[MMPROBE_NR_STATS] = {
	[MMPROBE_STAT_VERSION_READS]	= "version_reads",
	[MMPROBE_STAT_ERRORS]		= "errors",
	[MMPROBE_STAT_MIGRATE_CALLS]	= "migrate_calls",
	[MMPROBE_STAT_MIGRATE_MIGRATED]	= "migrate_pages_migrated",
	[MMPROBE_STAT_MIGRATE_RESTORED]	= "migrate_pages_restored",
	[MMPROBE_STAT_MIGRATE_SKIPPED]	= "migrate_pages_skipped",
	[MMPROBE_STAT_NOTIFY_OPENS]	= "notify_opens",
	[MMPROBE_STAT_NOTIFY_EVENTS]	= "notify_events",
	[MMPROBE_STAT_NOTIFY_LOST]	= "notify_lost",
	[MMPROBE_STAT_INSPECT_REPORTS]	= "inspect_reports",
	[MMPROBE_STAT_INSPECT_LINES]	= "inspect_lines",
	[MMPROBE_STAT_INSPECT_RETRIES]	= "inspect_retries",
	[MMPROBE_STAT_INSPECT_CUTS]	= "inspect_cuts",
	[MMPROBE_STAT_PIN_SESSIONS]	= "pin_sessions",
	[MMPROBE_STAT_PIN_PINNED]	= "pin_pinned",
	[MMPROBE_STAT_PIN_REFS]		= "pin_refs",
	[MMPROBE_STAT_PIN_RELEASED]	= "pin_released",
	[MMPROBE_STAT_PIN_PARTIAL]	= "pin_partial",
	[MMPROBE_STAT_GUP_TEST_IOCTLS]	= "gup_test_ioctls",
	[MMPROBE_STAT_GUP_TEST_GOT]	= "gup_test_got",
	[MMPROBE_STAT_GUP_TEST_PUT]	= "gup_test_put",
	[MMPROBE_STAT_GUP_TEST_PINNED]	= "gup_test_pinned",
	[MMPROBE_STAT_GUP_TEST_UNPINNED] = "gup_test_unpinned",
	[MMPROBE_STAT_GUP_TEST_VERIFY_FAILED] = "gup_test_verify_failed",
};

/**
 * mmprobe_stat_add() - add to one counter
 * @stat: the counter
 * @nr: how much to add
 *
 * Context: any context.
 */
void mmprobe_stat_add(enum mmprobe_stat stat, long nr)
{
	if (WARN_ON_ONCE(stat >= MMPROBE_NR_STATS))
		return;
	atomic_long_add(nr, &stats_counters[stat]);
}

static int stats_show(struct seq_file *m, void *v)
{
	int i;

	for (i = 0; i < MMPROBE_NR_STATS; i++)
		seq_printf(m, "%s %ld\n", stats_names[i] ?: "unnamed",
			   atomic_long_read(&stats_counters[i]));
	mmprobe_hold_show(m);
	return 0;
}

static int stats_open(struct inode *inode, struct file *file)
{
	return single_open(file, stats_show, NULL);
}

/* The only command is "reset", with or without a trailing newline. */
static ssize_t stats_write(struct file *file, const char __user *ubuf,
			   size_t count, loff_t *ppos)
{
	char buf[8];
	int i;

	if (*ppos != 0 || count == 0 || count >= sizeof(buf))
		return mmprobe_err(-EINVAL);
	if (copy_from_user(buf, ubuf, count))
		return mmprobe_err(-EFAULT);
	buf[count] = '\0';
	if (strcmp(strim(buf), "reset"))
		return mmprobe_err(-EINVAL);

	for (i = 0; i < MMPROBE_NR_STATS; i++)
		atomic_long_set(&stats_counters[i], 0);
	return count;
}

static const struct file_operations stats_fops = {
	.owner		= THIS_MODULE,
	.open		= stats_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.write		= stats_write,
	.release	= single_release,
};

/**
 * mmprobe_stats_init() - create debugfs "stats"
 * @root: the mmprobe debugfs directory
 */
void mmprobe_stats_init(struct dentry *root)
{
	debugfs_create_file("stats", 0600, root, NULL, &stats_fops);
}
