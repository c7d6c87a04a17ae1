/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The virtual machine: KVM VM, guest RAM, vCPUs, devices and the state
 * that the pause protocol and the main loop share.  Every file descriptor
 * the VM owns is reachable from here (kvm.sys_fd, kvm.vm_fd, mem.memfd,
 * vcpus[i].fd, event_fd), which is what the live upgrade needs to keep.
 */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <pthread.h>

#include "vmm/builtin_guest.h"
#include "vmm/config.h"
#include "vmm/guest_mem.h"
#include "vmm/ioport.h"
#include "vmm/kvm.h"
#include "vmm/mmio.h"
#include "vmm/vcpu.h"

#define VM_MAX_VCPUS	BG_MAX_VCPUS

enum vm_run_state {
	VM_RUNNING,
	VM_PAUSED,
	VM_STOPPING,
};

enum vm_exit_reason {
	VM_EXIT_NONE,
	VM_EXIT_QUIT,		/* control "quit" or a signal */
	VM_EXIT_POWEROFF,
	VM_EXIT_REBOOT,		/* guest reset: the VMM exits, like -no-reboot */
	VM_EXIT_ERROR,
};

struct serial8250;
struct power;
struct rtc;
struct boot_linux_image;
struct irq_routing;
struct pci_bus;
struct device_in;
struct vfio;
struct virtio_blks;

struct vm {
	const struct vmm_config *cfg;
	struct kvm kvm;
	struct guest_mem mem;
	struct ioport_bus bus;
	struct mmio_bus mmio;
	unsigned int nr_vcpus;
	struct vcpu *vcpus;
	u32 tsc_khz;

	/* Devices; NULL when absent. */
	struct serial8250 *uart;
	struct power *power;
	struct rtc *rtc;
	struct builtin_guest *bg;
	struct irq_routing *irq;	/* irq.c: GSI routes, irqfds, ioeventfds */
	struct pci_bus *pci;		/* pci/pci.c */
	struct vfio *vfio;		/* vfio/: --vfio devices */
	struct virtio_blks *virtio_blk;	/* virtio/blk.c: --disk devices */
	struct virtio_nets *virtio_net;	/* virtio/net.c: --net devices */

	/* Pause protocol (vcpu.c); lock order: vm->lock, then device locks. */
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* to the vCPUs: want changed */
	pthread_cond_t parked_cond;	/* to the controller: a vCPU parked or exited */
	enum vm_run_state want;
	unsigned int nr_parked;
	unsigned int nr_exited;
	bool start_held;		/* vm__start() holds the vCPUs (vcpu.c) */

	/* vCPU threads and devices ask the main loop to stop through this. */
	int event_fd;
	enum vm_exit_reason exit_reason;
	char exit_msg[256];

	u64 start_ns;		/* for uptime */
	u64 paused_ns;		/* when the last pause completed */
	u64 last_pause_ns;	/* how long the last pause took */
};

/*
 * Create the KVM VM, guest RAM, vCPUs and devices; nothing runs yet.
 * If @mem is not NULL the VM takes over that guest RAM (restore into a new
 * VM) instead of creating it.
 */
int vm__create(struct vm *vm, const struct vmm_config *cfg, struct guest_mem *mem);

/*
 * What a live upgrade's new image builds its VM from.  Every fd given is
 * taken over (closed by vm__destroy()), also when vm__create_from() fails.
 */
struct vm_parts {
	struct guest_mem *mem;		/* guest RAM to take over, or NULL */
	int vm_fd;			/* a KVM VM to keep (adopt), or -1 */
	int *vcpu_fds;			/* with vm_fd: its vCPUs, by index */
	u32 *msr_index;			/* readable MSRs (malloc'ed), or NULL */
	unsigned int nr_msrs;
	struct device_in *devices;	/* what devices are built from, or NULL */
};
/*
 * With @parts->vm_fd the KVM VM is kept as it is (memslots, vCPUs, irqchip,
 * clock): only the VMM's side is built around it.  Otherwise a new one is
 * created, as vm__create() does.  Either way nothing is loaded or restored.
 */
int vm__create_from(struct vm *vm, const struct vmm_config *cfg, struct vm_parts *parts);
/*
 * Load the guest named by the config (a Linux guest from @linux_image,
 * read by boot__read_linux(); NULL for the built-in guest) and set every
 * vCPU to its entry.
 */
int vm__load_guest(struct vm *vm, const struct boot_linux_image *linux_image);
int vm__start(struct vm *vm);
void vm__pause(struct vm *vm);
void vm__resume(struct vm *vm);
bool vm__is_paused(struct vm *vm);
/* Stop and join vCPU threads; the VM's state stays readable. */
void vm__stop(struct vm *vm);
/* Give guest RAM away (to a new VM) before vm__destroy(). */
void vm__release_mem(struct vm *vm, struct guest_mem *out);
void vm__destroy(struct vm *vm);

/* Any thread: ask the main loop to end the VM; the first reason wins. */
void vm__request_exit(struct vm *vm, enum vm_exit_reason reason,
		      const char *fmt, ...) __printf(3, 4);
/* Whether the VM is ending, and why (into @why, @len bytes). */
bool vm__is_ending(struct vm *vm, char *why, size_t len);

#endif
