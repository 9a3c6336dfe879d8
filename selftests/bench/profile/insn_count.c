// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin that counts the guest instructions executed per translation block, and
 * writes the counts out when the guest asks: the profile of `make profile`.
 *
 *   qemu-system-x86_64 ... -plugin libinsn_count.so,dir=DIR
 *
 * DIR is a directory the guest shares (run-vm's share/). A thread of the plugin polls it for
 * "req-N" files, N = 1, 2, ... in turn; for each it writes "snap-N", the counts so far (a
 * line "# TRANSLATIONS", then "VADDR INSNS EXECS" per block that ran), and then creates "ack-N",
 * for which the guest waits. The difference of two snapshots is what the guest executed
 * between them, by address: the same count QEMU's instruction clock (-icount) charges.
 *
 * Counting is inline (one add per block executed): the guest runs at nearly its usual speed.
 *
 * Options (after dir=):
 *   cpus=on   count per vCPU, with a callback per block executed (slower than inline): each
 *             line then has one count per vCPU, "VADDR INSNS EXECS_CPU0 EXECS_CPU1 ...";
 *   delta=on  each snapshot holds what ran since the previous one, not since the start.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MAX_CPUS 8

/* One block: its start address and length; re-translations of it share the entry. */
struct block {
	uint64_t vaddr;
	uint64_t insns;
	uint64_t execs[MAX_CPUS];
	/* What the previous snapshot wrote (delta=on). */
	uint64_t last[MAX_CPUS];
	struct block *next;
};

#define HASH_BITS 20
static struct block *table[1 << HASH_BITS];
static uint64_t translations;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static char dir[4096];
static int per_cpu, delta;
static unsigned int ncpus = 1;

static unsigned int hash(uint64_t vaddr, uint64_t insns)
{
	uint64_t h = vaddr ^ (insns * 0x9e3779b97f4a7c15ULL);

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return h & ((1 << HASH_BITS) - 1);
}

static void on_exec(unsigned int vcpu, void *udata)
{
	struct block *b = udata;

	if (vcpu < MAX_CPUS)
		__atomic_fetch_add(&b->execs[vcpu], 1, __ATOMIC_RELAXED);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
	uint64_t insns = qemu_plugin_tb_n_insns(tb);
	unsigned int h = hash(vaddr, insns);
	struct block *b;

	pthread_mutex_lock(&table_lock);
	translations++;
	for (b = table[h]; b; b = b->next)
		if (b->vaddr == vaddr && b->insns == insns)
			break;
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (b) {
			b->vaddr = vaddr;
			b->insns = insns;
			b->next = table[h];
			table[h] = b;
		}
	}
	pthread_mutex_unlock(&table_lock);
	if (!b)
		return;
	if (per_cpu)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS, b);
	else
		qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
							 &b->execs[0], 1);
}

static int touch(const char *path)
{
	FILE *f = fopen(path, "w");

	return f ? fclose(f) : -1;
}

/* One line for a block that ran (since the previous snapshot, with delta=on). */
static void write_block(FILE *f, struct block *b)
{
	uint64_t v[MAX_CPUS], any = 0;
	unsigned int c;

	for (c = 0; c < ncpus; c++) {
		uint64_t now = __atomic_load_n(&b->execs[c], __ATOMIC_RELAXED);

		v[c] = delta ? now - b->last[c] : now;
		if (delta)
			b->last[c] = now;
		any |= v[c];
	}
	if (!any)
		return;
	fprintf(f, "%" PRIx64 " %" PRIu64, b->vaddr, b->insns);
	for (c = 0; c < ncpus; c++)
		fprintf(f, " %" PRIu64, v[c]);
	fputc('\n', f);
}

static void snapshot(int n)
{
	char tmp[4200], path[4200];
	struct block *b;
	unsigned int i;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/snap-%d.tmp", dir, n);
	snprintf(path, sizeof(path), "%s/snap-%d", dir, n);
	f = fopen(tmp, "w");
	if (f) {
		pthread_mutex_lock(&table_lock);
		fprintf(f, "# %" PRIu64 "\n", translations);
		for (i = 0; i < (1u << HASH_BITS); i++)
			for (b = table[i]; b; b = b->next)
				write_block(f, b);
		pthread_mutex_unlock(&table_lock);
		if (fclose(f) == 0)
			rename(tmp, path);
	}
	/* Acknowledged even if the snapshot failed: the guest must not wait forever. */
	snprintf(path, sizeof(path), "%s/ack-%d", dir, n);
	touch(path);
}

static void *poll_requests(void *arg)
{
	char path[4200];
	int n = 1;

	for (;;) {
		snprintf(path, sizeof(path), "%s/req-%d", dir, n);
		if (access(path, F_OK) == 0)
			snapshot(n++);
		else
			usleep(20000);
	}
	return NULL;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	pthread_t thread;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "dir=", 4))
			snprintf(dir, sizeof(dir), "%s", argv[i] + 4);
		else if (!strcmp(argv[i], "cpus=on"))
			per_cpu = 1;
		else if (!strcmp(argv[i], "delta=on"))
			delta = 1;
	}
	if (per_cpu && info->system_emulation)
		ncpus = info->system.smp_vcpus < MAX_CPUS ? info->system.smp_vcpus : MAX_CPUS;
	if (!dir[0]) {
		fprintf(stderr, "insn_count: no dir= argument\n");
		return -1;
	}
	if (pthread_create(&thread, NULL, poll_requests, NULL)) {
		fprintf(stderr, "insn_count: cannot start the request thread\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	return 0;
}
