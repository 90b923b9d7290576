// SPDX-License-Identifier: GPL-2.0
/*
 * access: who may see what. The one access policy of mmprobe; every probe
 * file asks here, and nowhere else decides.
 *
 * Decisions use the credentials of the file's opener (file->f_cred), as
 * /proc/pid/pagemap and io_uring do, never those of whoever writes or calls
 * ioctl() later: an open file is the capability, and a file opened by a
 * privileged process keeps its rights when passed on or after the opener
 * drops privileges; a file opened without them never gains them.
 *
 * - Its own address space: anyone who could open the file (debugfs files
 *   are root's, mode 0600, so that is a process with the file's DAC rights).
 * - Another process's address space: CAP_SYS_PTRACE as well (in the initial
 *   user namespace), what ptrace_may_access() asks of a tracer that is not
 *   the target's owner. ptrace_may_access() and the LSM hook behind it are
 *   not exported, so an LSM's ptrace policy is not consulted. Else EPERM.
 * - Page frame numbers: CAP_SYS_ADMIN (in the initial user namespace), as
 *   /proc/pid/pagemap since v4.2. Without it every file reports PFN 0 or
 *   omits the key; nothing fails.
 *
 * Documentation/debugfs.rst has the table of files, callers and answers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/user_namespace.h>

#include "mmprobe.h"

/**
 * mmprobe_access_pfn() - may the opener of @file see page frame numbers?
 * @file: the probe file
 *
 * Return: true when its opener had CAP_SYS_ADMIN.
 */
bool mmprobe_access_pfn(const struct file *file)
{
	return file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN);
}

/**
 * mmprobe_access_mm() - the address space of a process, if @file may see it
 * @file: the probe file; its opener's credentials decide
 * @nr: a pid in the caller's pid namespace, or 0 for the caller itself
 *
 * The caller's own address space (pid 0, its own pid, or any pid that shares
 * its mm) needs nothing more; another one needs CAP_SYS_PTRACE.
 *
 * Context: process context.
 * Return: the mm with mm_count held (mmgrab(); mmdrop() it), or
 * ERR_PTR(-ESRCH) when there is no such process or it has no mm (kernel
 * thread, exited), ERR_PTR(-EPERM) when the opener lacks CAP_SYS_PTRACE.
 */
struct mm_struct *mmprobe_access_mm(const struct file *file, pid_t nr)
{
	struct task_struct *task;
	struct mm_struct *mm;
	struct pid *pid;

	if (!nr) {
		mm = current->mm;
		if (!mm)
			return ERR_PTR(-ESRCH);
		mmgrab(mm);
		return mm;
	}
	pid = find_get_pid(nr);
	if (!pid)
		return ERR_PTR(-ESRCH);
	task = get_pid_task(pid, PIDTYPE_PID);
	put_pid(pid);
	if (!task)
		return ERR_PTR(-ESRCH);
	mm = get_task_mm(task);
	put_task_struct(task);
	if (!mm)
		return ERR_PTR(-ESRCH);
	if (mm != current->mm && !file_ns_capable(file, &init_user_ns, CAP_SYS_PTRACE)) {
		mmput(mm);
		return ERR_PTR(-EPERM);
	}
	mmgrab(mm);
	mmput(mm);
	return mm;
}
