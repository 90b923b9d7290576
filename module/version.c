// SPDX-License-Identifier: GPL-2.0
/*
 * version: module and ABI version, kernel release, and what mmprobe was built
 * with.
 *
 * Nothing here says what the kernel does: a version number cannot (vendor
 * kernels backport), so behaviour is measured at run time by the report and
 * the selftests (selftests/behaviour.c). The "build." lines say which kernel
 * APIs and options the module was compiled against (compat.h, the config);
 * "thp" and "nodes_online" are read from the running machine.
 * Documentation/debugfs.rst says how each line is decided.
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
	seq_printf(m, "nodes_online=%u\n", num_online_nodes());
	seq_printf(m, "build.anon_exclusive=%d\n", MMPROBE_HAS_ANON_EXCLUSIVE);
	seq_printf(m, "build.swp_exclusive=%d\n", MMPROBE_HAS_SWP_EXCLUSIVE);
	seq_printf(m, "build.double_map=%d\n", MMPROBE_HAS_DOUBLE_MAP);
	seq_printf(m, "build.mn_change_pte=%d\n", MMPROBE_HAS_MN_CHANGE_PTE);
	seq_printf(m, "build.device_private=%d\n", IS_ENABLED(CONFIG_DEVICE_PRIVATE));
	seq_printf(m, "build.numa=%d\n", IS_ENABLED(CONFIG_NUMA));
	seq_printf(m, "build.hugetlb=%d\n", IS_ENABLED(CONFIG_HUGETLB_PAGE));
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
