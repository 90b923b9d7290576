// SPDX-License-Identifier: GPL-2.0
/*
 * mmprobe-loadgen: a background load for the test guest (vmtest.sh -L), so
 * that the suite runs on a machine as busy as a real one.
 *
 *   mmprobe-loadgen [-t SECONDS]     until SIGTERM (or for SECONDS)
 *
 * Three worker processes, each pausing between steps so that the suite
 * keeps most of the CPUs:
 *   thp   faults THPs in (4 MiB of MADV_HUGEPAGE memory, written), then
 *         unmaps them: thp_fault_alloc, compaction, deferred splits;
 *   dio   reads a zram device it adds (/sys/class/zram-control) with
 *         O_DIRECT into its own memory: the block layer pins the user
 *         pages (FOLL_PIN from 6.3 on, references before), which moves
 *         nr_foll_pin_* while the suite counts them; without zram-control
 *         it reads the selftests' own files, dropping the page cache;
 *   fork  forks 8 children at a time that write to memory shared with it
 *         copy-on-write and exit: fork, COW faults, exit and reclaim of
 *         page tables.
 *
 * SIGTERM or SIGINT stops the workers; the last line says what they did.
 * It exits 0, or 1 when a worker failed (the line says which).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "mmprobe_util.h"

#define MIB		(1UL << 20)
#define THP_LEN		(4 * MIB)
#define DIO_CHUNK	(64 * 1024)
#define DIO_DISK	(16 * MIB)
#define FORK_CHILDREN	8
#define FORK_LEN	(4 * MIB)
#define ZRAM_CONTROL	"/sys/class/zram-control"

/* What the workers did: shared with them, read by the parent at the end. */
struct loadgen_counts {
	long thp_faults;
	long dio_reads;
	long forks;
	int failed[3];
	char why[3][128];
};

enum { WORKER_THP, WORKER_DIO, WORKER_FORK, NR_WORKERS };
static const char *const worker_name[NR_WORKERS] = { "thp", "dio", "fork" };

static volatile sig_atomic_t stop;
static struct loadgen_counts *counts;
static int zram_id = -1;
static char dio_path[64];

static void on_signal(int sig)
{
	stop = 1;
}

static void pause_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000 };

	nanosleep(&ts, NULL);
}

static int worker_fail(int w, const char *what)
{
	counts->failed[w] = 1;
	snprintf(counts->why[w], sizeof(counts->why[w]), "%s: %s", what, strerror(errno));
	return 1;
}

/* Fault THPs in and unmap them, a few times a second per CPU. */
static int worker_thp(void)
{
	size_t pmd = util_pmd_size() ? util_pmd_size() : 2 * MIB;

	while (!stop) {
		char *mem = util_mmap_aligned(THP_LEN, pmd);
		size_t off;

		if (!mem)
			return worker_fail(WORKER_THP, "mmap");
		madvise(mem, THP_LEN, MADV_HUGEPAGE);
		for (off = 0; off < THP_LEN; off += 4096)
			mem[off] = 1;
		munmap(mem, THP_LEN);
		counts->thp_faults += THP_LEN / pmd;
		pause_ms(5);
	}
	return 0;
}

/*
 * Add a zram device for the dio worker and give it a disk of DIO_DISK:
 * its path in dio_path. Returns 0, or -1 when zram-control is not there.
 */
static int dio_zram_add(void)
{
	char buf[64], path[128];
	size_t off;
	int fd;

	if (util_read_file(ZRAM_CONTROL "/hot_add", buf, sizeof(buf)) <= 0)
		return -1;
	zram_id = atoi(buf);
	snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", zram_id);
	snprintf(buf, sizeof(buf), "%lu", DIO_DISK);
	if (util_write_file(path, buf))
		return -1;
	snprintf(dio_path, sizeof(dio_path), "/dev/zram%d", zram_id);
	/* Written once, so that reads decompress real data. */
	fd = open(dio_path, O_WRONLY);
	if (fd < 0)
		return -1;
	memset(buf, 0x5a, sizeof(buf));
	for (off = 0; off < DIO_DISK; off += sizeof(buf) * 64)
		if (pwrite(fd, buf, sizeof(buf), off) != sizeof(buf))
			break;
	close(fd);
	return 0;
}

static void dio_zram_remove(void)
{
	char buf[16];

	if (zram_id < 0)
		return;
	snprintf(buf, sizeof(buf), "%d", zram_id);
	util_write_file(ZRAM_CONTROL "/hot_remove", buf);
}

/* O_DIRECT reads of the zram device into anonymous memory. */
static int worker_dio(void)
{
	char *buf = mmap(NULL, DIO_CHUNK, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	off_t off = 0;
	long n = 0;
	int fd;

	if (buf == MAP_FAILED)
		return worker_fail(WORKER_DIO, "mmap");
	fd = open(dio_path[0] ? dio_path : "/mmprobe/mmprobe.ko",
		  O_RDONLY | (dio_path[0] ? O_DIRECT : 0));
	if (fd < 0)
		return worker_fail(WORKER_DIO, dio_path[0] ? dio_path : "open");
	while (!stop) {
		ssize_t ret = pread(fd, buf, DIO_CHUNK, off);

		if (ret < 0)
			return worker_fail(WORKER_DIO, "pread");
		off = ret < DIO_CHUNK ? 0 : off + DIO_CHUNK;
		counts->dio_reads++;
		if (!dio_path[0] && !(++n % 64))
			util_write_file("/proc/sys/vm/drop_caches", "1");
		pause_ms(1);
	}
	close(fd);
	return 0;
}

/* Fork storms: children write to memory shared copy-on-write, then exit. */
static int worker_fork(void)
{
	char *mem = mmap(NULL, FORK_LEN, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pid_t pid[FORK_CHILDREN];
	int i, nr;

	if (mem == MAP_FAILED)
		return worker_fail(WORKER_FORK, "mmap");
	memset(mem, 1, FORK_LEN);
	while (!stop) {
		for (nr = 0; nr < FORK_CHILDREN; nr++) {
			pid[nr] = fork();
			if (pid[nr] < 0)
				break;
			if (!pid[nr]) {
				size_t off;

				for (off = nr * 4096; off < FORK_LEN; off += 8 * 4096)
					mem[off] = 2;
				_exit(0);
			}
		}
		for (i = 0; i < nr; i++)
			waitpid(pid[i], NULL, 0);
		counts->forks += nr;
		if (nr < FORK_CHILDREN)
			return worker_fail(WORKER_FORK, "fork");
		pause_ms(20);
	}
	return 0;
}

static int (*const worker_fn[NR_WORKERS])(void) = {
	worker_thp, worker_dio, worker_fork,
};

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	long long thp0 = util_vmstat("thp_fault_alloc");
	pid_t pid[NR_WORKERS];
	sigset_t block, old;
	long seconds = 0;
	int opt, w, rc = 0;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't') {
			fprintf(stderr, "usage: %s [-t SECONDS]\n", argv[0]);
			return 2;
		}
		seconds = atol(optarg);
	}
	counts = mmap(NULL, sizeof(*counts), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	/* Blocked but while waiting, so that a signal is never missed. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	if (dio_zram_add())
		dio_path[0] = '\0';
	printf("mmprobe-loadgen: thp, fork, dio %s\n",
	       dio_path[0] ? dio_path : "(no zram-control: buffered reads, drop_caches)");
	fflush(stdout);

	for (w = 0; w < NR_WORKERS; w++) {
		pid[w] = fork();
		if (pid[w] < 0) {
			perror("fork");
			stop = 1;
			break;
		}
		if (!pid[w]) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			_exit(worker_fn[w]());
		}
	}
	if (seconds)
		alarm(seconds);
	while (!stop)
		sigsuspend(&old);
	while (w-- > 0) {
		int status;

		kill(pid[w], SIGTERM);
		if (waitpid(pid[w], &status, 0) != pid[w] || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			printf("mmprobe-loadgen: worker %s failed: %s\n", worker_name[w],
			       counts->failed[w] ? counts->why[w] : "killed or lost");
			rc = 1;
		}
	}
	dio_zram_remove();
	printf("mmprobe-loadgen: %ld THP faults (thp_fault_alloc +%lld), %ld reads, %ld forks\n",
	       counts->thp_faults, util_vmstat("thp_fault_alloc") - thp0,
	       counts->dio_reads, counts->forks);
	return rc;
}
