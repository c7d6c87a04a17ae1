// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/cprstash: keep files and state records across execve().
 *
 * This file is the device: open/release bind a file to the caller's stash,
 * and the ioctl dispatcher copies each argument in (structs that grow at
 * their end, copy_struct_from_user()), checks flags, reserved fields and
 * names, and calls one function per command.  See
 * Documentation/cprstash.rst and Documentation/uapi.rst.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "stash.h"

static const struct file_operations cprstash_fops;

bool file_is_cprstash(const struct file *file)
{
	return file->f_op == &cprstash_fops;
}

/* Every argument struct starts with these. */
struct cprstash_arg_head {
	__u32 size;
	__u32 flags;
};

/*
 * Copy an argument in with copy_struct_from_user(): @size in the caller's
 * struct says which version it was built with; fields it does not have
 * read as zero, and the tail we do not know must be zero (E2BIG), so old
 * and new binaries work with old and new modules.  A page bounds the
 * check of the tail, as for openat2() and clone3().
 */
static int cprstash_arg_in(void *arg, size_t ksize, u32 min_size,
			   const void __user *uarg, u32 known_flags)
{
	struct cprstash_arg_head *head = arg;
	u32 usize;
	int ret;

	if (get_user(usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (usize < min_size)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(arg, ksize, uarg, usize);
	if (ret)
		return ret;
	/* A racing caller may have changed it; the size we checked counts. */
	head->size = usize;
	return head->flags & ~known_flags ? -EINVAL : 0;
}

/* A struct smaller than its first version would break old binaries. */
static_assert(sizeof(struct cprstash_preserve_fd) >=
	      CPRSTASH_PRESERVE_FD_SIZE_VER0);
static_assert(sizeof(struct cprstash_put_record) >=
	      CPRSTASH_PUT_RECORD_SIZE_VER0);
static_assert(sizeof(struct cprstash_seal) >= CPRSTASH_SEAL_SIZE_VER0);
static_assert(sizeof(struct cprstash_list) >= CPRSTASH_LIST_SIZE_VER0);
static_assert(sizeof(struct cprstash_retrieve_fd) >=
	      CPRSTASH_RETRIEVE_FD_SIZE_VER0);
static_assert(sizeof(struct cprstash_op) >= CPRSTASH_OP_SIZE_VER0);
static_assert(sizeof(struct cprstash_adopt_kvm) >=
	      CPRSTASH_ADOPT_KVM_SIZE_VER0);

/* Reserved fields must be zero; a name, if the command has one, valid. */
static int cprstash_arg_check(const void *reserved, size_t len,
			      const char *name)
{
	if (memchr_inv(reserved, 0, len))
		return -EINVAL;
	return name ? stash_name_check(name) : 0;
}

static long cprstash_ioctl_preserve_fd(struct stash *s, void __user *uarg)
{
	struct cprstash_preserve_fd __user *u = uarg;
	struct cprstash_preserve_fd arg;
	int ret;

	ret = cprstash_arg_in(&arg, sizeof(arg),
			      CPRSTASH_PRESERVE_FD_SIZE_VER0, uarg, 0) ?:
	      cprstash_arg_check(arg.reserved, sizeof(arg.reserved), arg.name);
	return ret ?: stash_preserve_fd(s, arg.fd, arg.name, &u->kind);
}

static long cprstash_ioctl_put_record(struct stash *s, void __user *uarg)
{
	struct cprstash_put_record arg;
	int ret;

	ret = cprstash_arg_in(&arg, sizeof(arg), CPRSTASH_PUT_RECORD_SIZE_VER0,
			      uarg, 0);
	if (!ret && arg.reserved0)
		ret = -EINVAL;
	ret = ret ?: cprstash_arg_check(arg.reserved, sizeof(arg.reserved),
					arg.name);
	return ret ?: stash_put_record(s, arg.name, u64_to_user_ptr(arg.data),
				       arg.len);
}

static long cprstash_ioctl_list(struct stash *s, void __user *uarg)
{
	struct cprstash_list arg;
	int ret;

	ret = cprstash_arg_in(&arg, sizeof(arg), CPRSTASH_LIST_SIZE_VER0, uarg, 0);
	if (!ret && (arg.reserved0 || arg.reserved))
		ret = -EINVAL;
	/* Elements may be larger than we know (zeroed), not smaller. */
	if (!ret && arg.entry_size < CPRSTASH_ENTRY_SIZE_VER0)
		ret = -EINVAL;
	if (!ret && arg.entry_size > PAGE_SIZE)
		ret = -E2BIG;
	ret = ret ?: stash_list_entries(s, &arg);
	if (ret)
		return ret;
	arg.api_version = CPRSTASH_API_VERSION;
	/* A tail beyond what we know was checked to be zero: leave it. */
	if (copy_to_user(uarg, &arg, min_t(size_t, arg.size, sizeof(arg))))
		return -EFAULT;
	return 0;
}

static long cprstash_ioctl_seal(struct stash *s, void __user *uarg)
{
	struct cprstash_seal arg;
	int ret;

	ret = cprstash_arg_in(&arg, sizeof(arg), CPRSTASH_SEAL_SIZE_VER0, uarg,
			      CPRSTASH_SEAL_KEEP_MM);
	if (!ret && arg.reserved0)
		ret = -EINVAL;
	ret = ret ?: cprstash_arg_check(arg.reserved, sizeof(arg.reserved), NULL);
	return ret ?: stash_seal(s, arg.deadline_ms, arg.flags);
}

static long cprstash_ioctl_retrieve_fd(struct stash *s, void __user *uarg)
{
	struct cprstash_retrieve_fd arg;
	int ret;

	ret = cprstash_arg_in(&arg, sizeof(arg),
			      CPRSTASH_RETRIEVE_FD_SIZE_VER0, uarg,
			      CPRSTASH_RETRIEVE_NO_CLOEXEC) ?:
	      cprstash_arg_check(arg.reserved, sizeof(arg.reserved), arg.name);
	return ret ?: stash_retrieve_fd(s, arg.name, arg.flags, uarg);
}

static long cprstash_ioctl_adopt_kvm(struct stash *s, void __user *uarg)
{
	struct cprstash_adopt_kvm arg;
	int ret;

	ret = cprstash_arg_in(&arg, sizeof(arg),
			      CPRSTASH_ADOPT_KVM_SIZE_VER0, uarg,
			      CPRSTASH_ADOPT_KEEP_MAPPINGS) ?:
	      cprstash_arg_check(arg.reserved, sizeof(arg.reserved), arg.name);
	return ret ?: stash_adopt_kvm(s, arg.name, arg.flags);
}

static long cprstash_ioctl_settle_kvm(struct stash *s, void __user *uarg)
{
	struct cprstash_adopt_kvm arg;
	int ret;

	ret = cprstash_arg_in(&arg, sizeof(arg),
			      CPRSTASH_ADOPT_KVM_SIZE_VER0, uarg, 0) ?:
	      cprstash_arg_check(arg.reserved, sizeof(arg.reserved), arg.name);
	return ret ?: stash_settle_kvm(s, arg.name);
}

static long cprstash_ioctl_op(struct stash *s, void __user *uarg,
			      int (*op)(struct stash *s))
{
	struct cprstash_op arg;
	int ret;

	ret = cprstash_arg_in(&arg, sizeof(arg), CPRSTASH_OP_SIZE_VER0, uarg, 0) ?:
	      cprstash_arg_check(arg.reserved, sizeof(arg.reserved), NULL);
	return ret ?: op(s);
}

static long cprstash_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct stash *s = file->private_data;
	void __user *uarg = (void __user *)arg;
	int ret;

	ret = stash_check_caller(s);
	if (ret)
		return ret;

	/*
	 * Type and number only: the size bits follow the caller's header,
	 * which may have larger structs than ours (@size in the struct says
	 * how large), and the direction bits carry nothing we need.
	 */
	if (_IOC_TYPE(cmd) != CPRSTASH_IOCTL_MAGIC)
		return -ENOTTY;
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(CPRSTASH_IOC_PRESERVE_FD):
		return cprstash_ioctl_preserve_fd(s, uarg);
	case _IOC_NR(CPRSTASH_IOC_PUT_RECORD):
		return cprstash_ioctl_put_record(s, uarg);
	case _IOC_NR(CPRSTASH_IOC_LIST):
		return cprstash_ioctl_list(s, uarg);
	case _IOC_NR(CPRSTASH_IOC_SEAL):
		return cprstash_ioctl_seal(s, uarg);
	case _IOC_NR(CPRSTASH_IOC_RETRIEVE_FD):
		return cprstash_ioctl_retrieve_fd(s, uarg);
	case _IOC_NR(CPRSTASH_IOC_UNSEAL):
		return cprstash_ioctl_op(s, uarg, stash_unseal);
	case _IOC_NR(CPRSTASH_IOC_FINISH):
		return cprstash_ioctl_op(s, uarg, stash_finish);
	case _IOC_NR(CPRSTASH_IOC_ADOPT_KVM):
		return cprstash_ioctl_adopt_kvm(s, uarg);
	case _IOC_NR(CPRSTASH_IOC_SETTLE_KVM):
		return cprstash_ioctl_settle_kvm(s, uarg);
	default:
		return -ENOTTY;
	}
}

static ssize_t cprstash_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct stash *s = iocb->ki_filp->private_data;
	int ret;

	ret = stash_check_caller(s);
	if (ret)
		return ret;
	return stash_read_iter(s, iocb, to);
}

/* Seeking tells the record size and moves the owner's position: owner only. */
static loff_t cprstash_llseek(struct file *file, loff_t offset, int whence)
{
	struct stash *s = file->private_data;
	int ret;

	ret = stash_check_caller(s);
	if (ret)
		return ret;
	return stash_llseek(s, file, offset, whence);
}

static int cprstash_open(struct inode *inode, struct file *file)
{
	struct stash *s = stash_open();

	if (IS_ERR(s))
		return PTR_ERR(s);
	file->private_data = s;
	/* read() moves f_pos: serialise it as for regular files. */
	file->f_mode |= FMODE_NOWAIT | FMODE_ATOMIC_POS;
	return 0;
}

static int cprstash_release(struct inode *inode, struct file *file)
{
	stash_close(file->private_data);
	return 0;
}

static const struct file_operations cprstash_fops = {
	.owner		= THIS_MODULE,
	.open		= cprstash_open,
	.release	= cprstash_release,
	.read_iter	= cprstash_read_iter,
	.llseek		= cprstash_llseek,
	.unlocked_ioctl	= cprstash_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice cprstash_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "cprstash",
	.fops	= &cprstash_fops,
	.mode	= 0600,
};

static int __init cprstash_init(void)
{
	int ret;

	ret = stash_init();
	if (ret)
		return ret;
	ret = misc_register(&cprstash_misc);
	if (ret) {
		stash_exit();
		return ret;
	}
	cprstash_debugfs_init();
	return 0;
}

static void __exit cprstash_exit(void)
{
	cprstash_debugfs_exit();
	misc_deregister(&cprstash_misc);
	stash_exit();
}

module_init(cprstash_init);
module_exit(cprstash_exit);

MODULE_DESCRIPTION("Keep files and state records across execve() for live VMM upgrade");
MODULE_LICENSE("GPL");
