// SPDX-License-Identifier: GPL-2.0
/*
 * kinds_test: PRESERVE_FD classifies each kind of file the VMM hands over,
 * RETRIEVE_FD gives back the very same file with the kind and the
 * close-on-exec flag asked for, and an eventfd's counter crosses exec.
 *
 * One fixture variant per kind of file; a variant whose file this machine
 * cannot make (no /dev/kvm, no device bound to vfio-pci, ...) skips.
 */
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <linux/kvm.h>
#include <linux/magic.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cprstash_harness.h"
#include "stash_util.h"

#define FILE_NAME	"the-file"
#define EVENTFD_COUNT	42
#define DEADLINE_MS	120000

/*
 * Makes a file of one kind and returns its fd, or returns -1 and sets *@why
 * when this machine cannot make one (the variant then skips).
 */
typedef int (*make_file_fn)(const char **why);

static int fail(const char **why, const char *reason)
{
	*why = reason;
	return -1;
}

static int make_memfd(const char **why)
{
	(void)why;
	return memfd_with_pattern("kinds", 4096, 0, MFD_CLOEXEC);
}

static int make_hugetlb_memfd(const char **why)
{
	int fd = memfd_create("kinds-huge", MFD_CLOEXEC | MFD_HUGETLB);

	return fd >= 0 ? fd : fail(why, "memfd_create(MFD_HUGETLB) failed");
}

static int make_eventfd(const char **why)
{
	(void)why;
	return eventfd(EVENTFD_COUNT, EFD_CLOEXEC);
}

static int make_regular_file(const char **why)
{
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	return fd >= 0 ? fd : fail(why, "no O_TMPFILE in /tmp");
}

/* shmem, but not made by memfd_create(): the spec says OTHER. */
static int make_tmpfs_file(const char **why)
{
	struct statfs sfs;

	if (statfs("/dev/shm", &sfs) || sfs.f_type != TMPFS_MAGIC)
		return fail(why, "/dev/shm is not tmpfs");
	return open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

static int make_pipe(const char **why)
{
	int fds[2];

	(void)why;
	pipe_cloexec(fds);
	close(fds[1]);
	return fds[0];
}

static int make_socket(const char **why)
{
	int fds[2];

	(void)why;
	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds),
		    "socketpair");
	close(fds[1]);
	return fds[0];
}

static int make_dev_kvm(const char **why)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	return fd >= 0 ? fd : fail(why, "no /dev/kvm");
}

static int make_kvm_vm(const char **why)
{
	int kvm = make_dev_kvm(why);
	int vm;

	if (kvm < 0)
		return -1;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	close(kvm);
	return vm >= 0 ? vm : fail(why, "KVM_CREATE_VM failed");
}

static int make_kvm_vcpu(const char **why)
{
	int vm = make_kvm_vm(why);
	int vcpu;

	if (vm < 0)
		return -1;
	/* The vCPU holds its VM: the VM fd may go. */
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	close(vm);
	return vcpu >= 0 ? vcpu : fail(why, "KVM_CREATE_VCPU failed");
}

static int make_vfio_container(const char **why)
{
	int fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);

	return fd >= 0 ? fd : fail(why, "no /dev/vfio/vfio");
}

/*
 * The test VM binds QEMU's edu device to vfio-pci.  Finds its group: the
 * device's address in @bdf, the group's node ("/dev/vfio/N", or
 * "/dev/vfio/noiommu-N" without an IOMMU) in @node.
 */
static bool find_vfio_group(char bdf[64], char node[PATH_MAX])
{
	char target[PATH_MAX], *group;
	glob_t g;
	ssize_t n;

	if (glob("/sys/bus/pci/drivers/vfio-pci/*/iommu_group", 0, NULL, &g))
		return false;
	n = readlink(g.gl_pathv[0], target, sizeof(target) - 1);
	snprintf(bdf, 64, "%s", basename(dirname(g.gl_pathv[0])));
	globfree(&g);
	if (n < 0)
		return false;
	target[n] = '\0';
	group = basename(target);
	snprintf(node, PATH_MAX, "/dev/vfio/%s", group);
	if (!access(node, F_OK))
		return true;
	snprintf(node, PATH_MAX, "/dev/vfio/noiommu-%s", group);
	return !access(node, F_OK);
}

static int make_vfio_group(const char **why)
{
	char bdf[64], node[PATH_MAX];
	int fd;

	if (!find_vfio_group(bdf, node))
		return fail(why, "no device bound to vfio-pci");
	fd = open(node, O_RDWR | O_CLOEXEC);
	return fd >= 0 ? fd : fail(why, "cannot open the VFIO group");
}

/* Attach the group to a container with whichever IOMMU model exists. */
static bool vfio_attach(int group, int container)
{
	static const int models[] = {
		VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU, VFIO_NOIOMMU_IOMMU,
	};
	size_t i;

	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		return false;
	for (i = 0; i < ARRAY_SIZE(models); i++)
		if (ioctl(container, VFIO_CHECK_EXTENSION, models[i]) > 0 &&
		    !ioctl(container, VFIO_SET_IOMMU, models[i]))
			return true;
	return false;
}

static int make_vfio_device(const char **why)
{
	char bdf[64], node[PATH_MAX];
	int container, group, device;

	if (!find_vfio_group(bdf, node))
		return fail(why, "no device bound to vfio-pci");
	container = make_vfio_container(why);
	group = open(node, O_RDWR | O_CLOEXEC);
	if (container < 0 || group < 0 || !vfio_attach(group, container))
		return fail(why, "cannot attach the VFIO group to a container");
	/* The device keeps group and container busy; they stay open. */
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (device < 0)
		return fail(why, "VFIO_GROUP_GET_DEVICE_FD failed");
	return device;
}

static int make_iommufd(const char **why)
{
	int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);

	return fd >= 0 ? fd : fail(why, "no /dev/iommu");
}

/* Both fds are on the same struct file, not merely the same inode. */
static bool same_file(int a, int b)
{
	pid_t pid = getpid();

	return !syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b);
}

FIXTURE(kind) {
	int stash;
	int fd;
};

FIXTURE_VARIANT(kind) {
	make_file_fn make;
	__u32 kind;
};

#define KIND_VARIANT(name, kind_)					\
	FIXTURE_VARIANT_ADD(kind, name) {				\
		.make = make_##name,					\
		.kind = CPRSTASH_KIND_##kind_,				\
	}

KIND_VARIANT(memfd, MEMFD);
KIND_VARIANT(hugetlb_memfd, MEMFD);
KIND_VARIANT(eventfd, EVENTFD);
KIND_VARIANT(kvm_vm, KVM_VM);
KIND_VARIANT(kvm_vcpu, KVM_VCPU);
KIND_VARIANT(vfio_container, VFIO_CONTAINER);
KIND_VARIANT(vfio_group, VFIO_GROUP);
KIND_VARIANT(vfio_device, VFIO_DEVICE);
KIND_VARIANT(iommufd, IOMMUFD);
KIND_VARIANT(regular_file, OTHER);
KIND_VARIANT(tmpfs_file, OTHER);
KIND_VARIANT(pipe, OTHER);
KIND_VARIANT(socket, OTHER);
KIND_VARIANT(dev_kvm, OTHER);

FIXTURE_SETUP(kind)
{
	const char *why = "cannot make the file";

	REQUIRE_STASH();
	self->fd = variant->make(&why);
	TEST_REQUIRE(self->fd >= 0, "%s", why);
	self->stash = stash_open();
}

FIXTURE_TEARDOWN(kind)
{
}

TEST_F(kind, classified_at_preserve)
{
	struct cprstash_entry e;

	ASSERT_EQ(variant->kind,
		  stash_preserve(self->stash, self->fd, FILE_NAME));
	e = stash_entry(self->stash, FILE_NAME, CPRSTASH_ENTRY_FILE);
	EXPECT_EQ(variant->kind, e.kind);
	EXPECT_EQ(0, e.len);
	EXPECT_EQ(0, e.flags);
}

TEST_F(kind, retrieved_same_file_with_cloexec_by_default)
{
	struct cprstash_entry e;
	__u32 kind = ~0u;
	int fd;

	stash_preserve(self->stash, self->fd, FILE_NAME);
	fd = stash_retrieve(self->stash, FILE_NAME, 0, &kind);
	EXPECT_EQ(variant->kind, kind);
	EXPECT_TRUE(fd_cloexec(fd));
	EXPECT_TRUE(same_file(self->fd, fd));
	e = stash_entry(self->stash, FILE_NAME, CPRSTASH_ENTRY_FILE);
	EXPECT_EQ(CPRSTASH_ENTRY_RETRIEVED, e.flags);
}

TEST_F(kind, retrieved_without_cloexec_when_asked)
{
	__u32 kind = ~0u;
	int first, second;

	stash_preserve(self->stash, self->fd, FILE_NAME);
	/* The caller's fd no longer matters once preserved. */
	close(self->fd);
	first = stash_retrieve(self->stash, FILE_NAME,
			       CPRSTASH_RETRIEVE_NO_CLOEXEC, &kind);
	EXPECT_EQ(variant->kind, kind);
	EXPECT_FALSE(fd_cloexec(first));
	/* Retrieval may be repeated; it is always the same file. */
	second = stash_retrieve(self->stash, FILE_NAME, 0, NULL);
	EXPECT_NE(first, second);
	EXPECT_TRUE(same_file(first, second));
}

static int eventfd_pre_exec(void *arg)
{
	int stash = stash_open();
	int efd = eventfd(EVENTFD_COUNT, EFD_CLOEXEC);

	(void)arg;
	TEST_ASSERT(efd >= 0, "eventfd");
	TEST_ASSERT(stash_preserve(stash, efd, "irq") == CPRSTASH_KIND_EVENTFD,
		    "eventfd not classified EVENTFD");
	stash_seal(stash, DEADLINE_MS);
	exec_stage("eventfd", NULL);
	TEST_ASSERT(0, "exec of /proc/self/exe");
	return 1;
}

static int eventfd_post_exec(int argc, char **argv)
{
	int stash = stash_open();
	__u64 count = 0;
	__u32 kind;
	int efd;

	(void)argc;
	(void)argv;
	efd = stash_retrieve(stash, "irq", 0, &kind);
	TEST_ASSERT(kind == CPRSTASH_KIND_EVENTFD, "retrieved kind %u", kind);
	TEST_ASSERT(read(efd, &count, sizeof(count)) == sizeof(count),
		    "read(eventfd)");
	TEST_ASSERT(count == EVENTFD_COUNT,
		    "eventfd counter %llu after exec, expected %d",
		    (unsigned long long)count, EVENTFD_COUNT);
	stash_finish(stash);
	return 0;
}

FIXTURE(exec) {
};

FIXTURE_SETUP(exec)
{
	REQUIRE_STASH();
}

FIXTURE_TEARDOWN(exec)
{
}

/* The counter is state inside the file: it must come through untouched. */
TEST_F(exec, eventfd_counter_survives_exec)
{
	ASSERT_EQ(0, run_child(eventfd_pre_exec, NULL));
}

static const struct stage stages[] = {
	{ "eventfd", eventfd_post_exec },
	{ NULL, NULL },
};

STAGE_HARNESS_MAIN(stages)
