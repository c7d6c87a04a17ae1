// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM in a memfd.  Pages are populated lazily on first guest touch, so
 * a 16 GiB guest costs nothing until it uses its memory.  The memfd (not the
 * mapping) is what a live upgrade keeps: the new image maps it again.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/guest_mem.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

const char *guest_mem__check_size(u64 size, bool hugepages)
{
	if (size < GUEST_MEM_MIN)
		return "is below the minimum of 64 MiB";
	if (size > GUEST_MEM_MAX)
		return "is above the maximum of 1 TiB";
	if (size & (SZ_1M - 1))
		return "is not a multiple of 1 MiB";
	if (hugepages && (size & (SZ_2M - 1)))
		return "is not a multiple of the 2 MiB huge page size";
	return NULL;
}

static void guest_mem__layout(struct guest_mem *mem)
{
	u64 low = MIN(mem->size, GUEST_PCI_HOLE_START);

	mem->regions[0] = (struct guest_mem_region){ 0, low, 0 };
	mem->nr_regions = 1;
	if (mem->size > low) {
		mem->regions[1] = (struct guest_mem_region){
			GUEST_HIGH_START, mem->size - low, low };
		mem->nr_regions = 2;
	}
}

/*
 * Where guest RAM is mapped: a hint far from where the kernel puts shared
 * libraries and the heap (and above ASan's shadow), so that a live
 * upgrade's new image, whose libraries land elsewhere, finds the same
 * range free and can map RAM at the address the VM's memslots name.
 */
#define GUEST_MEM_HVA_HINT	((void *)0x200000000000ULL)

static int guest_mem__map(struct guest_mem *mem, void *fixed_hva)
{
	int flags = MAP_SHARED;
	void *p;

	/*
	 * Small pages are allocated lazily without reservation.  Huge pages
	 * are reserved here, so a short pool fails now with ENOMEM instead
	 * of with SIGBUS on some later first touch.
	 */
	if (!mem->hugepages)
		flags |= MAP_NORESERVE;
	if (fixed_hva)
		flags |= MAP_FIXED_NOREPLACE;
	p = mmap(fixed_hva ? fixed_hva : GUEST_MEM_HVA_HINT, mem->size,
		 PROT_READ | PROT_WRITE, flags, mem->memfd, 0);
	if (p == MAP_FAILED) {
		int err = errno;

		pr_err("mmap of %llu bytes of guest RAM failed: %s%s",
		       (unsigned long long)mem->size, strerror(err),
		       mem->hugepages && err == ENOMEM ?
		       " (too few free 2 MiB huge pages, see /proc/sys/vm/nr_hugepages)" : "");
		return -err;
	}
	if (fixed_hva && p != fixed_hva) {
		munmap(p, mem->size);
		pr_err("guest RAM could not be mapped at %p", fixed_hva);
		return -EEXIST;
	}
	/* Guest RAM in a core dump is rarely wanted and can be huge. */
	madvise(p, mem->size, MADV_DONTDUMP);
	mem->hva = p;
	guest_mem__layout(mem);
	return 0;
}

int guest_mem__adopt(struct guest_mem *mem, int memfd, u64 size,
		     bool hugepages, void *fixed_hva)
{
	memset(mem, 0, sizeof(*mem));
	mem->memfd = memfd;
	mem->size = size;
	mem->hugepages = hugepages;
	return guest_mem__map(mem, fixed_hva);
}

int guest_mem__create(struct guest_mem *mem, u64 size, bool hugepages)
{
	const char *why = guest_mem__check_size(size, hugepages);
	unsigned int flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	int memfd, ret;

	memset(mem, 0, sizeof(*mem));
	mem->memfd = -1;
	if (why) {
		pr_err("guest memory size %llu %s", (unsigned long long)size, why);
		return -EINVAL;
	}
	if (hugepages)
		flags |= MFD_HUGETLB;
	memfd = memfd_create("vmm-guest-ram", flags);
	if (memfd < 0) {
		ret = -errno;
		pr_err("memfd_create%s failed: %s", hugepages ? " (hugetlb)" : "",
		       strerror(errno));
		return ret;
	}
	if (ftruncate(memfd, size) < 0) {
		ret = -errno;
		pr_err("sizing guest RAM memfd to %llu bytes failed: %s",
		       (unsigned long long)size, strerror(errno));
		goto err;
	}
	/* Nobody may shrink it under a running guest (SIGBUS in the VMM). */
	if (!hugepages)
		fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK);
	ret = guest_mem__adopt(mem, memfd, size, hugepages, NULL);
	if (ret)
		goto err;
	return 0;
err:
	close(memfd);
	mem->memfd = -1;
	return ret;
}

void guest_mem__destroy(struct guest_mem *mem)
{
	if (mem->hva)
		munmap(mem->hva, mem->size);
	if (mem->memfd >= 0)
		close(mem->memfd);
	mem->hva = NULL;
	mem->memfd = -1;
}

int guest_mem__register(struct guest_mem *mem, struct kvm *kvm)
{
	unsigned int i;
	int ret;

	for (i = 0; i < mem->nr_regions; i++) {
		struct guest_mem_region *r = &mem->regions[i];

		ret = kvm__set_memslot(kvm, i, r->gpa, r->size, mem->hva + r->offset);
		if (ret)
			return ret;
	}
	return 0;
}

void *guest_mem__gpa_to_hva(const struct guest_mem *mem, u64 gpa, u64 len)
{
	unsigned int i;

	for (i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];

		if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len)
			return mem->hva + r->offset + (gpa - r->gpa);
	}
	return NULL;
}

u64 guest_mem__low_end(const struct guest_mem *mem)
{
	return mem->regions[0].size;
}
