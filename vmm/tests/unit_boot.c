// SPDX-License-Identifier: GPL-2.0
/*
 * Linux boot protocol pieces without a VM: bzImage header checks, the
 * zero page the loader fills, the e820 map for small and large guests,
 * initrd placement and the MP table.
 */
#include <string.h>

#include "testlib.h"
#include "vmm/guest_mem.h"
#include "vmm/x86/boot.h"

/* A guest_mem with a layout but no memory behind it. */
static struct guest_mem layout(u64 size)
{
	struct guest_mem mem = { .memfd = -1, .size = size };
	u64 low = size < GUEST_PCI_HOLE_START ? size : GUEST_PCI_HOLE_START;

	mem.regions[0] = (struct guest_mem_region){ 0, low, 0 };
	mem.nr_regions = 1;
	if (size > low) {
		mem.regions[1] = (struct guest_mem_region){ GUEST_HIGH_START, size - low, low };
		mem.nr_regions = 2;
	}
	return mem;
}

static u64 e820_ram(const struct boot_e820_entry *e, unsigned int n)
{
	u64 sum = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (i)
			TEST_ASSERT(e[i].addr >= e[i - 1].addr + e[i - 1].size,
				    "e820 entries %u and %u overlap or are unsorted", i - 1, i);
		if (e[i].type == 1)
			sum += e[i].size;
	}
	return sum;
}

static void test_bzimage(void)
{
	static unsigned char img[FAKE_BZIMAGE_SIZE];
	struct boot_params bp;
	size_t setup_len;
	const char *why;

	test_fake_bzimage(img);
	why = boot__parse_bzimage(img, sizeof(img), &bp, &setup_len);
	TEST_ASSERT(!why, "fake bzImage refused: %s", why);
	TEST_ASSERT(setup_len == 1024, "setup_len %zu, expected (1 + 1) * 512", setup_len);
	TEST_ASSERT(bp.hdr.version == 0x20f && bp.hdr.init_size == 0x100000 &&
		    bp.hdr.cmdline_size == 2047, "setup header not copied");

	/* setup_sects 0 means 4. */
	img[0x1f1] = 0;
	TEST_ASSERT(!boot__parse_bzimage(img, sizeof(img), &bp, &setup_len) &&
		    setup_len == 5 * 512, "setup_sects 0: %zu", setup_len);
	img[0x1f1] = 1;

	img[0x203] = 'X';
	why = boot__parse_bzimage(img, sizeof(img), &bp, &setup_len);
	TEST_ASSERT(why && strstr(why, "HdrS"), "bad magic accepted");
	img[0x203] = 'd';
	img[0x206] = 0x0b;
	why = boot__parse_bzimage(img, sizeof(img), &bp, &setup_len);
	TEST_ASSERT(why && strstr(why, "2.12"), "protocol 2.11 accepted");
	img[0x206] = 0x0f;
	img[0x236] = 0;
	why = boot__parse_bzimage(img, sizeof(img), &bp, &setup_len);
	TEST_ASSERT(why && strstr(why, "64-bit"), "no XLF_KERNEL_64 accepted");
	img[0x236] = 3;
	why = boot__parse_bzimage(img, 100, &bp, &setup_len);
	TEST_ASSERT(why, "100-byte image accepted");
	img[0x1f1] = 20;	/* setup larger than the file */
	why = boot__parse_bzimage(img, sizeof(img), &bp, &setup_len);
	TEST_ASSERT(why && strstr(why, "truncated"), "truncated image accepted");
	printf("ok: bzImage header checks\n");
}

static void test_zero_page(void)
{
	static unsigned char img[FAKE_BZIMAGE_SIZE];
	struct guest_mem mem = layout(256 << 20);
	struct boot_params bp;
	size_t setup_len;
	u64 initrd;

	test_fake_bzimage(img);
	TEST_ASSERT(!boot__parse_bzimage(img, sizeof(img), &bp, &setup_len), "parse");
	initrd = boot__initrd_addr(&bp, &mem, 0x200000, 10 << 20);
	TEST_ASSERT(initrd && initrd % 4096 == 0 && initrd + (10 << 20) <= (256 << 20) &&
		    initrd >= 0x200000, "initrd at %#llx", (unsigned long long)initrd);
	boot__fill_zero_page(&bp, &mem, BOOT_CMDLINE_GPA, initrd, 10 << 20);
	TEST_ASSERT(bp.hdr.type_of_loader == 0xff, "type_of_loader %#x", bp.hdr.type_of_loader);
	TEST_ASSERT(bp.hdr.loadflags & CAN_USE_HEAP, "CAN_USE_HEAP");
	TEST_ASSERT(bp.hdr.loadflags & LOADED_HIGH, "LOADED_HIGH kept");
	TEST_ASSERT(bp.hdr.cmd_line_ptr == BOOT_CMDLINE_GPA && bp.ext_cmd_line_ptr == 0,
		    "cmd_line_ptr %#x", bp.hdr.cmd_line_ptr);
	TEST_ASSERT(bp.hdr.ramdisk_image == initrd && bp.hdr.ramdisk_size == 10 << 20,
		    "ramdisk %#x+%#x", bp.hdr.ramdisk_image, bp.hdr.ramdisk_size);
	TEST_ASSERT(bp.e820_entries == 3, "e820 entries %u", bp.e820_entries);
	TEST_ASSERT(e820_ram(bp.e820_table, bp.e820_entries) ==
		    (256 << 20) - 0x100000 + BOOT_MP_AREA_GPA, "e820 RAM total");
	/* Field offsets the kernel reads, straight from boot.rst. */
	TEST_ASSERT((u8 *)&bp.hdr.type_of_loader - (u8 *)&bp == 0x210, "type_of_loader offset");
	TEST_ASSERT((u8 *)&bp.e820_entries - (u8 *)&bp == 0x1e8, "e820_entries offset");
	TEST_ASSERT((u8 *)&bp.e820_table - (u8 *)&bp == 0x2d0, "e820_table offset");

	/* An initrd that cannot fit above the kernel is refused. */
	TEST_ASSERT(boot__initrd_addr(&bp, &mem, 0x200000, 255 << 20) == 0, "huge initrd placed");
	TEST_ASSERT(boot__initrd_addr(&bp, &mem, 0x200000, 0) == 0, "empty initrd placed");
	printf("ok: zero page\n");
}

static void test_e820_large(void)
{
	struct boot_e820_entry e[8];
	struct guest_mem mem;
	unsigned int n;

	/* 16 GiB: 3 GiB below the hole, 13 GiB from 4 GiB. */
	mem = layout(16ULL << 30);
	n = boot__build_e820(&mem, e, 8);
	TEST_ASSERT(n == 4, "%u entries", n);
	TEST_ASSERT(e[2].addr == 0x100000 && e[2].addr + e[2].size == GUEST_PCI_HOLE_START,
		    "low RAM ends at %#llx", (unsigned long long)(e[2].addr + e[2].size));
	TEST_ASSERT(e[3].addr == GUEST_HIGH_START && e[3].size == (13ULL << 30),
		    "high RAM %#llx+%#llx", (unsigned long long)e[3].addr,
		    (unsigned long long)e[3].size);
	TEST_ASSERT(e820_ram(e, n) == (16ULL << 30) - 0x100000 + BOOT_MP_AREA_GPA, "RAM total");
	/* No RAM may overlap the IOAPIC/LAPIC window. */
	TEST_ASSERT(e[2].addr + e[2].size <= 0xfec00000, "RAM over the IOAPIC");
	TEST_ASSERT(boot__build_e820(&mem, e, 3) == 0, "a too-small table is not overrun");
	printf("ok: e820 for 16 GiB\n");
}

static u8 sum(const u8 *p, size_t n)
{
	u8 s = 0;

	while (n--)
		s += *p++;
	return s;
}

static void test_mptable(void)
{
	static u8 area[BOOT_MP_AREA_SIZE];
	const u8 *mpf = area + BOOT_MP_FLOAT_OFFSET;
	unsigned int cpus, i, ncpu;
	u16 len, count;
	u32 ptr;

	for (cpus = 1; cpus <= 64; cpus *= 4) {
		TEST_ASSERT(mptable__write(area, BOOT_MP_AREA_GPA, cpus) == 0, "%u cpus", cpus);
		TEST_ASSERT(!memcmp(mpf, "_MP_", 4) && sum(mpf, 16) == 0, "floating pointer");
		memcpy(&ptr, mpf + 4, 4);
		TEST_ASSERT(ptr == BOOT_MP_AREA_GPA, "physptr %#x", ptr);
		/* Linux scans 639K..640K for the floating pointer. */
		TEST_ASSERT(BOOT_MP_AREA_GPA + BOOT_MP_FLOAT_OFFSET >= 639 * 1024 &&
			    BOOT_MP_AREA_GPA + BOOT_MP_FLOAT_OFFSET + 16 <= 640 * 1024,
			    "floating pointer outside the scanned KiB");
		TEST_ASSERT(!memcmp(area, "PCMP", 4), "config signature");
		memcpy(&len, area + 4, 2);
		memcpy(&count, area + 34, 2);
		TEST_ASSERT(sum(area, len) == 0, "config checksum");
		TEST_ASSERT(len <= BOOT_MP_FLOAT_OFFSET, "config table overlaps the pointer");
		/* One enabled processor entry per vCPU, APIC ids 0..n-1, BSP first. */
		for (i = 0, ncpu = 0; i < cpus; i++) {
			const u8 *e = area + 44 + 20 * i;

			TEST_ASSERT(e[0] == 0 && e[1] == i && (e[3] & 1), "cpu entry %u", i);
			TEST_ASSERT(!!(e[3] & 2) == (i == 0), "BSP flag on cpu %u", i);
			ncpu++;
		}
		TEST_ASSERT(ncpu == cpus && count == cpus + 2 + 16 + 2, "%u entries", count);
	}
	TEST_ASSERT(mptable__write(area, BOOT_MP_AREA_GPA, 200) != 0, "200 cpus fit in 3 KiB?");
	printf("ok: MP table\n");
}

int main(void)
{
	test_bzimage();
	test_zero_page();
	test_e820_large();
	test_mptable();
	return 0;
}
