# SPDX-License-Identifier: GPL-2.0
#
# mmprobe: out-of-tree module and its kselftest collection.
#
#   make [KDIR=...]       build mmprobe.ko (default: the running kernel)
#   make modules_install  install it for the running kernel
#   make vm               boot Debian 7.3 in QEMU, load mmprobe, run the suite,
#                         then print the behaviour report
#   make report           the behaviour report of every kernel side by side
#                         (KERNELS=...), as Markdown and mmprobe-report.html
#   make check            static checks and the suite on every kernel
#                         (KERNELS="6.1 6.12 7.3" picks the matrix)
#   make check-debug      the suite on a KASAN/lockdep/DEBUG_VM/kmemleak kernel
#                         of series DEBUG_KERNEL, built once (slow: see
#                         Documentation/robustness.rst)
#   make check-upstream   the kernel's own cow, gup_longterm and gup_test on
#                         every kernel, before and after mmprobe's gup_test,
#                         and hmm-tests against mmprobe's dmirror devices
#   make check-arm64      the suite in Debian's arm64 kernels (ARM64_KERNELS: 7.3
#                         with 16 KiB and 4 KiB pages, 6.12), cross-built, under
#                         TCG (Documentation/arm64.rst); any of them is also
#                         "make vm KERNEL=7.3-arm64" or "make report KERNELS=..."
#   make soak             the suite SOAK_RUNS times (default 5) on every kernel,
#                         plus once under background load: the flaky cases
#   make kernel-config    the config fragment your own kernel needs for
#                         "scripts/vmtest.sh -K DIR" (see Documentation/testing.rst)
#   make clean-cache      unmount and remove the runner's cache

KDIR ?= /lib/modules/$(shell uname -r)/build
KERNELS ?= 6.1 6.12 7.3
KERNEL ?= 7.3
DEBUG_KERNEL ?= 7.3
ARM64_KERNELS ?= 7.3-arm64-16k 7.3-arm64 6.12-arm64
SOAK_RUNS ?= 5

all: module

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

modules_install:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

selftests:
	$(MAKE) -C selftests

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || \
		rm -f module/*.o module/.*.cmd *.ko *.mod* Module.symvers modules.order
	$(MAKE) -C selftests clean KSFT_DIR=/

vm:
	scripts/vmtest.sh -k $(KERNEL) -R

report:
	scripts/report.sh $(KERNELS)

check:
	scripts/check.sh $(KERNELS)

check-debug:
	dir=$$(scripts/debug-kernel.sh -s $(DEBUG_KERNEL)) && \
	MMPROBE_STRESS_SECONDS=$${MMPROBE_STRESS_SECONDS:-60} \
		scripts/vmtest.sh -k $(DEBUG_KERNEL) -K "$$dir" -T 14400

check-upstream:
	scripts/check-upstream.sh $(KERNELS)

check-arm64:
	rc=0; for k in $(ARM64_KERNELS); do scripts/vmtest.sh -k $$k -T 3600 || rc=1; done; \
	exit $$rc

soak:
	scripts/soak.sh -n $(SOAK_RUNS) $(KERNELS)

kernel-config:
	@scripts/kernel-config.sh

clean-cache:
	scripts/clean-cache.sh

.PHONY: all module modules_install selftests clean vm report check check-debug check-upstream soak
.PHONY: check-arm64
.PHONY: kernel-config clean-cache
