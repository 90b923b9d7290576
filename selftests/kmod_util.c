// SPDX-License-Identifier: GPL-2.0
/*
 * Load and unload kernel modules through libkmod.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libkmod.h>

#include "kmod_util.h"

static struct kmod_ctx *kmod_util_ctx(void)
{
	struct kmod_ctx *ctx = kmod_new(NULL, NULL);

	if (ctx)
		kmod_load_resources(ctx);
	return ctx;
}

int kmod_util_load(const char *module, const char *params)
{
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;
	int ret;

	ctx = kmod_util_ctx();
	if (!ctx)
		return -ENOMEM;

	if (strchr(module, '/')) {
		ret = kmod_module_new_from_path(ctx, module, &mod);
		if (!ret) {
			ret = kmod_module_insert_module(mod, 0, params);
			if (ret == -EEXIST)
				ret = 0;
		}
	} else {
		struct kmod_list *list = NULL, *l;

		ret = kmod_module_new_from_lookup(ctx, module, &list);
		if (!ret && !list)
			ret = -ENOENT;
		kmod_list_foreach(l, list) {
			struct kmod_module *m = kmod_module_get_module(l);

			ret = kmod_module_probe_insert_module(m, KMOD_PROBE_IGNORE_LOADED,
							      params, NULL, NULL, NULL);
			kmod_module_unref(m);
			if (ret)
				break;
		}
		kmod_module_unref_list(list);
	}
	if (ret > 0)	/* libkmod's own "blacklisted" codes */
		ret = -EPERM;
	kmod_module_unref(mod);
	kmod_unref(ctx);
	return ret;
}

int kmod_util_unload(const char *name)
{
	struct kmod_module *mod;
	struct kmod_ctx *ctx;
	int ret;

	ctx = kmod_util_ctx();
	if (!ctx)
		return -ENOMEM;
	ret = kmod_module_new_from_name(ctx, name, &mod);
	if (!ret) {
		if (kmod_module_get_initstate(mod) < 0)
			ret = -ENOENT;
		else
			ret = kmod_module_remove_module(mod, 0);
		kmod_module_unref(mod);
	}
	kmod_unref(ctx);
	return ret;
}

int kmod_util_loaded(const char *name)
{
	struct kmod_module *mod;
	struct kmod_ctx *ctx;
	int ret = 0;

	ctx = kmod_util_ctx();
	if (!ctx)
		return 0;
	if (!kmod_module_new_from_name(ctx, name, &mod)) {
		ret = kmod_module_get_initstate(mod) == KMOD_MODULE_LIVE;
		kmod_module_unref(mod);
	}
	kmod_unref(ctx);
	return ret;
}

const char *kmod_util_mmprobe_path(void)
{
	const char *env = getenv("MMPROBE_KO");

	if (env && *env)
		return env;
	if (!access("./mmprobe.ko", R_OK))
		return "./mmprobe.ko";
	return "mmprobe";
}

int kmod_util_mmprobe_load(void)
{
	if (kmod_util_loaded("mmprobe"))
		return 0;
	return kmod_util_load(kmod_util_mmprobe_path(), NULL);
}
