// SPDX-License-Identifier: GPL-2.0
/*
 * mmprobe: see what the running kernel really does with memory.
 *
 * The module creates /sys/kernel/debug/mmprobe/ and one file per probe. Each
 * probe lives in its own file and keeps its state bound to the open file, so
 * unloading is refused (by the module reference debugfs takes for every open
 * file) while any of it is in use.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/module.h>

#include "mmprobe.h"

static struct dentry *mmprobe_root;

static int __init mmprobe_init(void)
{
	mmprobe_root = debugfs_create_dir("mmprobe", NULL);
	if (IS_ERR(mmprobe_root))
		return PTR_ERR(mmprobe_root);

	mmprobe_version_init(mmprobe_root);
	mmprobe_stats_init(mmprobe_root);
	mmprobe_migrate_init(mmprobe_root);
	mmprobe_notify_init(mmprobe_root);
	mmprobe_inspect_init(mmprobe_root);
	mmprobe_audit_init(mmprobe_root);
	mmprobe_pin_init(mmprobe_root);
	mmprobe_gup_test_init(mmprobe_root);
	mmprobe_hmm_init(mmprobe_root);
	return 0;
}

static void __exit mmprobe_exit(void)
{
	mmprobe_hmm_exit();
	mmprobe_gup_test_exit();
	debugfs_remove_recursive(mmprobe_root);
}

module_init(mmprobe_init);
module_exit(mmprobe_exit);

MODULE_DESCRIPTION("Debugfs probes of the kernel's memory-management code paths");
MODULE_AUTHOR("mmprobe developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(MMPROBE_VERSION);
