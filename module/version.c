// SPDX-License-Identifier: GPL-2.0
/*
 * version: module and ABI version, kernel release and what this kernel can do.
 *
 * Every capability is decided at build time from the kernel's configuration
 * and headers (see compat.h), or at load time where the hardware decides;
 * Documentation/debugfs.rst says how each one is decided.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/seq_file.h>
#include <linux/utsname.h>

#include "compat.h"
#include "mmprobe.h"
#include "mmprobe_uapi.h"

static bool version_thp(void)
{
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	return has_transparent_hugepage();
#else
	return false;
#endif
}

static int version_show(struct seq_file *m, void *v)
{
	const bool thp = version_thp();

	mmprobe_stat_inc(MMPROBE_STAT_VERSION_READS);
	seq_printf(m, "version=%s\n", MMPROBE_VERSION);
	seq_printf(m, "abi=%d\n", MMPROBE_ABI_VERSION);
	seq_printf(m, "release=%s\n", init_utsname()->release);
	seq_printf(m, "thp=%d\n", thp);
	seq_printf(m, "huge_zero_wp_thp=%d\n", thp && MMPROBE_HAS_HUGE_ZERO_WP_THP);
	seq_printf(m, "anon_exclusive=%d\n", MMPROBE_HAS_ANON_EXCLUSIVE);
	seq_printf(m, "swp_exclusive=%d\n", MMPROBE_HAS_SWP_EXCLUSIVE);
	seq_printf(m, "double_map=%d\n", thp && MMPROBE_HAS_DOUBLE_MAP);
	seq_printf(m, "device_private=%d\n", IS_ENABLED(CONFIG_DEVICE_PRIVATE));
	seq_printf(m, "numa=%d\n", IS_ENABLED(CONFIG_NUMA));
	seq_printf(m, "hugetlb=%d\n", IS_ENABLED(CONFIG_HUGETLB_PAGE));
	seq_printf(m, "uffd_wp_async=%d\n", MMPROBE_HAS_UFFD_WP_ASYNC);
	seq_printf(m, "longterm_ro_unshare=%d\n", MMPROBE_HAS_LONGTERM_RO_UNSHARE);
	seq_printf(m, "migrate_split_large=%d\n", MMPROBE_HAS_MIGRATE_VMA_SPLIT_LARGE);
	seq_printf(m, "migrate_soft_dirty_exact=%d\n", MMPROBE_HAS_MIGRATE_SOFT_DIRTY_EXACT);
	seq_printf(m, "thp_split_zero_remap=%d\n",
		   thp && MMPROBE_HAS_THP_SPLIT_ZERO_REMAP);
	seq_printf(m, "nodes_online=%u\n", num_online_nodes());
	return 0;
}

static int version_open(struct inode *inode, struct file *file)
{
	return single_open(file, version_show, NULL);
}

static const struct file_operations version_fops = {
	.owner		= THIS_MODULE,
	.open		= version_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= single_release,
};

/**
 * mmprobe_version_init() - create debugfs "version"
 * @root: the mmprobe debugfs directory
 */
void mmprobe_version_init(struct dentry *root)
{
	debugfs_create_file("version", 0400, root, NULL, &version_fops);
}
