// SPDX-License-Identifier: GPL-2.0
/*
 * mmprobe-load: load or unload a module through libkmod and report the
 * kernel's errno on failure. Used by the VM runner for mmprobe and for the
 * modules the guest needs (zram and its compressors).
 *
 *   mmprobe-load PATH.ko|NAME [PARAMS]    load (with dependencies, by name)
 *   mmprobe-load -r NAME                  unload
 *
 * Exit status: 0 on success, 1 on failure (the message names the errno).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kmod_util.h"

int main(int argc, char **argv)
{
	const char *what;
	int ret;

	if (argc >= 3 && !strcmp(argv[1], "-r")) {
		what = "unload";
		ret = kmod_util_unload(argv[2]);
	} else if (argc >= 2 && argv[1][0] != '-') {
		what = "load";
		ret = kmod_util_load(argv[1], argc > 2 ? argv[2] : NULL);
	} else {
		fprintf(stderr, "usage: %s PATH.ko|NAME [PARAMS] | -r NAME\n", argv[0]);
		return 2;
	}
	if (ret) {
		fprintf(stderr, "mmprobe-load: %s %s: %s (errno %d)\n", what,
			argv[argc >= 3 && !strcmp(argv[1], "-r") ? 2 : 1],
			strerror(-ret), -ret);
		return 1;
	}
	return 0;
}
