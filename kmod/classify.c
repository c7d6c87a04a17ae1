// SPDX-License-Identifier: GPL-2.0
/*
 * What kind of file a preserved file is.  One handler per kind, tried in
 * order, so a new kind is one line in stash_kinds[] and one predicate.
 *
 * The module must load without KVM, VFIO or iommufd, so it links to none of
 * them: KVM VMs are recognised by file_is_kvm() looked up at run time, the
 * rest by the module that owns the file's operations and the name an
 * anonymous inode was given (stable: userspace sees them in /proc/PID/fd).
 */
#include <linux/eventfd.h>
#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/kdev_t.h>
#include <linux/kvm_host.h>
#include <linux/major.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/shmem_fs.h>

#include "stash.h"

struct stash_kind {
	u32 kind;
	const char *name;
	bool (*match)(struct file *file);
};

/* A snapshot: the name of a file on a user mount may change under us. */
static bool file_has_name_prefix(const struct file *file, const char *prefix)
{
	struct name_snapshot name;
	bool ret;

	take_dentry_name_snapshot(&name, file->f_path.dentry);
	ret = !strncmp(name.name.name, prefix, strlen(prefix));
	release_dentry_name_snapshot(&name);
	return ret;
}

/* Files of kernel-internal mounts (shm_mnt, hugetlbfs's), not user tmpfs. */
static bool file_on_internal_mount(const struct file *file)
{
	return file->f_path.mnt->mnt_flags & MNT_INTERNAL;
}

/* The file holds a reference on its f_op owner: the name stays valid. */
static bool file_owned_by(const struct file *file, const char *module)
{
	struct module *owner = file->f_op->owner;

	return owner && !strcmp(module_name(owner), module);
}

/* kvm_init() makes the vendor module (kvm_amd, kvm_intel) own vCPU files. */
static bool file_owned_by_kvm(const struct file *file)
{
	struct module *owner = file->f_op->owner;

	return owner && !strncmp(module_name(owner), "kvm", 3);
}

static bool file_is_char_dev(const struct file *file, unsigned int major,
			     unsigned int minor)
{
	const struct inode *inode = file_inode(file);

	return S_ISCHR(inode->i_mode) && inode->i_rdev == MKDEV(major, minor);
}

static bool file_is_memfd(struct file *file)
{
	return (shmem_mapping(file->f_mapping) || is_file_hugepages(file)) &&
	       file_on_internal_mount(file) &&
	       file_has_name_prefix(file, "memfd:");
}

static bool file_is_kvm_vm(struct file *file)
{
	bool (*is_kvm)(struct file *file) = symbol_get(file_is_kvm);
	bool ret;

	if (!is_kvm)		/* kvm.ko not loaded: no KVM file exists */
		return false;
	ret = is_kvm(file);
	symbol_put(file_is_kvm);
	return ret;
}

static bool file_is_kvm_vcpu(struct file *file)
{
	return file_owned_by_kvm(file) &&
	       file_has_name_prefix(file, "kvm-vcpu:");
}

static bool file_is_vfio_container(struct file *file)
{
	return file_owned_by(file, "vfio") &&
	       file_is_char_dev(file, MISC_MAJOR, VFIO_MINOR);
}

/* From VFIO_GROUP_GET_DEVICE_FD, or the cdev /dev/vfio/devices/vfioN. */
static bool file_is_vfio_device(struct file *file)
{
	return file_owned_by(file, "vfio") &&
	       (file_has_name_prefix(file, "[vfio-device]") ||
		file_has_name_prefix(file, "vfio"));
}

/* Tried after the container and the device: /dev/vfio/N, noiommu-N. */
static bool file_is_vfio_group(struct file *file)
{
	return file_owned_by(file, "vfio") &&
	       S_ISCHR(file_inode(file)->i_mode);
}

static bool file_is_iommufd(struct file *file)
{
	return file_owned_by(file, "iommufd");
}

static bool file_is_eventfd(struct file *file)
{
	struct eventfd_ctx *ctx = eventfd_ctx_fileget(file);

	if (IS_ERR(ctx))
		return false;
	eventfd_ctx_put(ctx);
	return true;
}

static const struct stash_kind stash_kinds[] = {
	{ CPRSTASH_KIND_MEMFD,		"memfd",	  file_is_memfd },
	{ CPRSTASH_KIND_KVM_VM,		"kvm-vm",	  file_is_kvm_vm },
	{ CPRSTASH_KIND_KVM_VCPU,	"kvm-vcpu",	  file_is_kvm_vcpu },
	{ CPRSTASH_KIND_VFIO_CONTAINER,	"vfio-container", file_is_vfio_container },
	{ CPRSTASH_KIND_VFIO_DEVICE,	"vfio-device",	  file_is_vfio_device },
	{ CPRSTASH_KIND_VFIO_GROUP,	"vfio-group",	  file_is_vfio_group },
	{ CPRSTASH_KIND_IOMMUFD,	"iommufd",	  file_is_iommufd },
	{ CPRSTASH_KIND_EVENTFD,	"eventfd",	  file_is_eventfd },
};

u32 cprstash_classify(struct file *file)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(stash_kinds); i++)
		if (stash_kinds[i].match(file))
			return stash_kinds[i].kind;
	return CPRSTASH_KIND_OTHER;
}

const char *cprstash_kind_name(u32 kind)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(stash_kinds); i++)
		if (stash_kinds[i].kind == kind)
			return stash_kinds[i].name;
	return "other";
}
