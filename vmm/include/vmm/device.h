/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device registry.  Every device model is one file that registers a
 * struct device_ops with DEVICE_REGISTER(); the VM creates, saves, keeps
 * and destroys them through this table, in order, and neither vm.c nor
 * the live upgrade knows any device by name (Documentation/vmm.rst,
 * "Devices").
 *
 * A device's life:
 *   init(vm, NULL)     a fresh start: create it if the config asks for it
 *   init(vm, in)       a new image after a live upgrade: build it around
 *                      the files it kept (device_in__take_fd())
 *   restore(vm, in)    its state from its records (device_in__find()),
 *                      after the VM's own state, before any vCPU runs
 *   save(vm, b)        VM paused: append its state records
 *   keep_fds(vm, k)    VM paused: every file the new image needs
 *   before_exec(vm)    last step before exec (may fail: upgrade refused)
 *   after_failed_exec  exec failed: undo before_exec, the guest runs on
 *   exit(vm)           destroy it; kept files are closed like any other
 *
 * Calls are made from the main thread only, with no vCPU running except
 * for init and exit's callers' own guarantees (vm.c): no vCPU runs while
 * a device is created or destroyed.
 */
#ifndef VMM_DEVICE_H
#define VMM_DEVICE_H

#include "vmm/util.h"

struct vm;
struct state_buf;
struct state_index;
struct state_rec;
struct device_in;
struct device_keep;

/* Creation order; destruction runs in reverse. */
enum device_order {
	DEVICE_ORDER_PLATFORM,	/* interrupt routing, the PCI host bridge */
	DEVICE_ORDER_LEGACY,	/* port I/O devices of the PC */
	DEVICE_ORDER_PCI,	/* PCI functions (virtio, VFIO) */
	DEVICE_ORDER_GUEST,	/* what the guest model itself needs */
};

struct device_ops {
	const char *name;		/* short, stable: also names kept files */
	enum device_order order;
	/*
	 * Stable id, unique among devices: names this device's kept files
	 * in the records (STATE_FD_DEVICE, index DEVICE_FD_INDEX()).
	 */
	u16 id;
	int (*init)(struct vm *vm, struct device_in *in);
	void (*exit)(struct vm *vm);
	int (*restore)(struct vm *vm, struct device_in *in);
	void (*save)(struct vm *vm, struct state_buf *b);
	void (*keep_fds)(struct vm *vm, struct device_keep *k);
	/* An upgrade this device cannot survive: -errno and why, before any pause. */
	int (*can_upgrade)(struct vm *vm, bool keep_vm, char *why, size_t len);
	int (*before_exec)(struct vm *vm, char *why, size_t len);
	void (*after_failed_exec)(struct vm *vm);
};

#define DEVICE_FD_INDEX(id, n)	(((u32)(id) << 16) | (u16)(n))

/* The registry: a table the linker builds from every DEVICE_REGISTER(). */
#define DEVICE_REGISTER(ops)						\
	static const struct device_ops *const __device_##ops		\
	__attribute__((used, section("vmm_devices"), aligned(sizeof(void *)))) = &(ops)

/* vm.c: create every device in order; on failure the created ones are gone. */
int devices__init(struct vm *vm, struct device_in *in);
void devices__exit(struct vm *vm);
int devices__restore(struct vm *vm, struct device_in *in);
void devices__save(struct vm *vm, struct state_buf *b);
void devices__keep_fds(struct vm *vm, struct device_keep *k);
int devices__can_upgrade(struct vm *vm, bool keep_vm, char *why, size_t len);
int devices__before_exec(struct vm *vm, char *why, size_t len);
void devices__after_failed_exec(struct vm *vm);
/* The name of the device with @id ("?" if none): names kept files. */
const char *devices__name(u16 id);

/* What keep_fds() fills: the live upgrade's table of kept files. */
struct device_keep {
	void (*add)(struct device_keep *k, u32 index, int fd);
};

/* File @n of device @ops is to be kept across exec. */
void device_keep__fd(struct device_keep *k, const struct device_ops *ops, u16 n, int fd);

/*
 * What a device is built from in a new image: the saved records (indexed)
 * and, after a live upgrade, the kept files.  device_in__open() indexes a
 * stream; the live upgrade then sets @kept_vm and @take_fd.
 */
struct device_in {
	struct state_index *ix;
	bool kept_vm;
	/* A new fd on kept file (STATE_FD_DEVICE, @index), or -errno. */
	int (*take_fd)(struct device_in *in, u32 index);
	void *opaque;
};

int device_in__open(struct device_in *in, const void *data, size_t len);
void device_in__close(struct device_in *in);
/*
 * The record @type/@id of the saved stream (its size checked by state.c's
 * table of record types), or NULL if there is none.
 */
const struct state_rec *device_in__find(struct device_in *in, u16 type, u32 id);
/* File @n that @ops kept: a new fd the device owns, or -errno. */
int device_in__take_fd(struct device_in *in, const struct device_ops *ops, u16 n);
/* The KVM VM itself was kept (adopt): routes, irqfds, ioeventfds live on. */
bool device_in__kept_vm(const struct device_in *in);

#endif
