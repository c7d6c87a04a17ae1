// SPDX-License-Identifier: GPL-2.0
/*
 * The live upgrade's mm keeper (vmm/mm_keeper.c), for the modes that do
 * not use CPRSTASH_SEAL_KEEP_MM: started before the pause, its pipe's write
 * end kept across exec with the other files.  Once the guest runs, the new
 * image drops its own references to the old KVM VM, then releases the
 * keeper: the old address space is torn down in its exit, off the pause,
 * and the old VM goes with it (each vCPU's kvm_run mapping holds it).
 *
 * That is the order of a VMM that exits.  The other order, the address
 * space torn down while the new image still holds the old VM and destroys
 * it later, is what a plain exec (or FINISH of a SEAL_KEEP_MM stash, which
 * releases the address space before the files) does; in the nested test
 * VM, with a 1 GiB guest whose RAM was all mapped, it was followed by
 * memory corruption in later VMs.  With this order, never.
 */
#include <string.h>

#include "upgrade.h"

void keeper__stop(struct upgrade_out *up)
{
	mm_keeper__stop(&up->keeper);
}

/* Not fatal if it fails: exec then tears the old address space down. */
void keeper__start(struct upgrade_out *up)
{
	int ret = mm_keeper__start(&up->keeper);

	if (ret) {
		pr_warn("live upgrade: no mm keeper (%s): exec will unmap guest RAM",
			strerror(-ret));
		return;
	}
	up->info.keeper_pid = up->keeper.pid;
}
