// SPDX-License-Identifier: GPL-2.0
/*
 * The sysfs refusals of --vfio (vfio/sysfs.c), on a fake sysfs tree in a
 * temporary directory: no KVM, no VFIO, no IOMMU needed, so the two that
 * the test VM cannot produce (a group that is not viable, a host without
 * IOMMU) are tested here.  The tree has the kernel's shape, relative links
 * and all:
 *
 *   bus/pci/devices/BDF          -> ../../../devices/pci0000:00/BDF
 *   devices/pci0000:00/BDF/driver      -> ../../../bus/pci/drivers/DRV
 *   devices/pci0000:00/BDF/iommu_group -> ../../../kernel/iommu_groups/N
 *   kernel/iommu_groups/N/devices/BDF  -> ../../../../devices/pci0000:00/BDF
 *
 * Each case checks the return, the exact line (or none) and that nothing
 * was left open.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"
#include "vmm/util.h"
#include "../vfio/vfio.h"

static char root[PATH_MAX / 4];
static char err_path[PATH_MAX / 4];

/* mkdir -p @rel under the fake root. */
static void fake_mkdir(const char *rel)
{
	char path[PATH_MAX], *p;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')); *p++ = '/') {
		*p = '\0';
		TEST_ASSERT(!mkdir(path, 0755) || errno == EEXIST, "mkdir %s: %s", path,
			    strerror(errno));
	}
	TEST_ASSERT(!mkdir(path, 0755) || errno == EEXIST, "mkdir %s: %s", path,
		    strerror(errno));
}

/* The symlink @rel under the fake root, to @target (relative, as sysfs has it). */
static void fake_link(const char *rel, const char *target)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	TEST_ASSERT(!symlink(target, path), "symlink %s -> %s: %s", path, target,
		    strerror(errno));
}

/* A PCI function @bdf bound to @drv (NULL: none), in IOMMU group @group (NULL: none). */
static void fake_pci(const char *bdf, const char *drv, const char *group)
{
	char rel[PATH_MAX / 2], target[PATH_MAX / 2];

	snprintf(rel, sizeof(rel), "devices/pci0000:00/%s", bdf);
	fake_mkdir(rel);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", bdf);
	snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", bdf);
	fake_link(rel, target);
	if (drv) {
		snprintf(rel, sizeof(rel), "bus/pci/drivers/%s", drv);
		fake_mkdir(rel);
		snprintf(rel, sizeof(rel), "devices/pci0000:00/%s/driver", bdf);
		snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", drv);
		fake_link(rel, target);
	}
	if (group) {
		snprintf(rel, sizeof(rel), "kernel/iommu_groups/%s/devices", group);
		fake_mkdir(rel);
		snprintf(rel, sizeof(rel), "devices/pci0000:00/%s/iommu_group", bdf);
		snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%s", group);
		fake_link(rel, target);
		snprintf(rel, sizeof(rel), "kernel/iommu_groups/%s/devices/%s", group, bdf);
		snprintf(target, sizeof(target), "../../../../devices/pci0000:00/%s", bdf);
		fake_link(rel, target);
	}
}

/*
 * vfio_sysfs__probe(@arg) returns @want_ret after exactly @want_line
 * (NULL: nothing printed), with as many files open as before.
 */
static void expect_probe(const char *arg, int want_ret, const char *want_line,
			 unsigned int want_group)
{
	char bdf[VFIO_BDF_LEN];
	unsigned int group = ~0u;
	int ret, fds, fds_after, lines;
	char *line;

	test_stderr_to(err_path);
	fds = test_fd_count(getpid());
	ret = vfio_sysfs__probe(arg, bdf, &group);
	fds_after = test_fd_count(getpid());
	test_stderr_back();
	line = test_read_first_line(err_path);
	lines = test_count_lines(err_path);

	TEST_ASSERT(ret == want_ret, "--vfio %s: returned %d (%s), expected %d: %s", arg, ret,
		    strerror(-ret), want_ret, line);
	TEST_ASSERT(fds_after == fds, "--vfio %s: %d files open before, %d after", arg, fds,
		    fds_after);
	if (!want_line) {
		TEST_ASSERT(lines == 0, "--vfio %s: expected no message, got: %s", arg, line);
		TEST_ASSERT(group == want_group, "--vfio %s: IOMMU group %u, expected %u", arg,
			    group, want_group);
		printf("ok: %s, IOMMU group %u\n", bdf, group);
	} else {
		TEST_ASSERT(lines == 1 && !strcmp(line, want_line),
			    "--vfio %s: expected the one line\n  %s\ngot %d lines, the first\n  %s",
			    arg, want_line, lines, line);
		printf("ok: %s\n", line);
	}
	free(line);
}

static void test_viable(void)
{
	/*
	 * The device, a sibling without a driver, one on pci-stub, one on a
	 * vfio-pci variant driver, a bridge's port services.
	 */
	fake_pci("0000:00:04.0", "vfio-pci", "5");
	fake_pci("0000:00:04.1", NULL, "5");
	fake_pci("0000:00:04.2", "pci-stub", "5");
	fake_pci("0000:00:04.3", "mlx5_vfio_pci", "5");
	fake_pci("0000:00:1c.0", "pcieport", "5");
	expect_probe("0000:00:04.0", 0, NULL, 5);
	expect_probe("00:04.0", 0, NULL, 5);
}

static void test_not_viable(void)
{
	fake_pci("0000:00:05.0", "vfio-pci", "6");
	fake_pci("0000:00:05.1", "e1000e", "6");
	expect_probe("0000:00:05.0", -EBUSY,
		     "vmm: error: vfio 0000:00:05.0: IOMMU group 6 is not viable: 0000:00:05.1 in it is bound to e1000e (every device of the group must be bound to vfio-pci or to no driver)",
		     0);
}

static void test_no_iommu(void)
{
	fake_pci("0000:00:06.0", "vfio-pci", NULL);
	expect_probe("0000:00:06.0", -ENODEV,
		     "vmm: error: vfio 0000:00:06.0: no IOMMU group: the host has no IOMMU enabled for it",
		     0);
}

static void test_other_driver(void)
{
	fake_pci("0000:00:07.0", "virtio-pci", "7");
	expect_probe("0000:00:07.0", -ENODEV,
		     "vmm: error: vfio 0000:00:07.0: not bound to vfio-pci (its driver is virtio-pci)",
		     0);
	fake_pci("0000:00:08.0", NULL, "8");
	expect_probe("0000:00:08.0", -ENODEV,
		     "vmm: error: vfio 0000:00:08.0: not bound to vfio-pci (no driver): bind it first",
		     0);
}

static void test_no_such_device(void)
{
	char want[PATH_MAX];

	snprintf(want, sizeof(want),
		 "vmm: error: vfio 0000:00:1f.7: no such PCI device on this host (%s/bus/pci/devices/0000:00:1f.7: No such file or directory)",
		 root);
	expect_probe("00:1f.7", -ENODEV, want, 0);
}

static void test_malformed(void)
{
	expect_probe("00:04", -EINVAL, "vmm: error: vfio \"00:04\": not a PCI address", 0);
	expect_probe("0000:00:20.0", -EINVAL,
		     "vmm: error: vfio \"0000:00:20.0\": not a PCI address", 0);
}

/* Back to the host's /sys: the fake tree is gone from the answer. */
static void test_real_root(void)
{
	char longer[PATH_MAX];

	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	TEST_ASSERT(vfio_sysfs__set_root(longer) == -ENAMETOOLONG,
		    "a root of %zu bytes was taken", strlen(longer));
	TEST_ASSERT(!vfio_sysfs__set_root(NULL), "back to /sys");
	expect_probe("abcd:ef:1f.7", -ENODEV,
		     "vmm: error: vfio abcd:ef:1f.7: no such PCI device on this host (/sys/bus/pci/devices/abcd:ef:1f.7: No such file or directory)",
		     0);
}

int main(void)
{
	snprintf(root, sizeof(root), "%s/sys", test_tmpdir());
	snprintf(err_path, sizeof(err_path), "%s/stderr", test_tmpdir());
	TEST_ASSERT(!mkdir(root, 0755), "mkdir %s: %s", root, strerror(errno));
	fake_mkdir("bus/pci/devices");
	fake_mkdir("kernel/iommu_groups");
	log__set_format(LOG_FMT_PLAIN);
	TEST_ASSERT(!vfio_sysfs__set_root(root), "sysfs root %s", root);

	test_viable();
	test_not_viable();
	test_no_iommu();
	test_other_driver();
	test_no_such_device();
	test_malformed();
	test_real_root();
	test_cleanup();
	return 0;
}
