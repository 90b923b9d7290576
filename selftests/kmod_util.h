/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Load and unload kernel modules through libkmod.
 */
#ifndef _MMPROBE_KMOD_UTIL_H
#define _MMPROBE_KMOD_UTIL_H

/*
 * Load a module given as a path to a .ko file or as a name resolved through
 * modules.dep (with its dependencies). An already loaded module is success.
 * Return: 0, or a negative errno from the kernel or libkmod.
 */
int kmod_util_load(const char *module, const char *params);

/*
 * Unload a module by name without waiting. Return: 0, -ENOENT when it is not
 * loaded, or the kernel's negative errno (EWOULDBLOCK/EAGAIN while in use).
 */
int kmod_util_unload(const char *name);

/* Is a module of that name loaded? */
int kmod_util_loaded(const char *name);

/* mmprobe.ko: $MMPROBE_KO, ./mmprobe.ko, or the installed module by name. */
const char *kmod_util_mmprobe_path(void);

/* Load mmprobe unless it is loaded. Return: 0 or a negative errno. */
int kmod_util_mmprobe_load(void);

#endif /* _MMPROBE_KMOD_UTIL_H */
