// SPDX-License-Identifier: GPL-2.0
/*
 * The device registry (device.h): the linker gathers every
 * DEVICE_REGISTER() into the section vmm_devices; the first use sorts the
 * table by creation order, then name, so every image walks the devices in
 * the same order whatever the link order was.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/device.h"
#include "vmm/state.h"
#include "vmm/util.h"
#include "vmm/vm.h"

extern const struct device_ops *const __start_vmm_devices[];
extern const struct device_ops *const __stop_vmm_devices[];

#define DEVICES_MAX	32

static const struct device_ops *device_table[DEVICES_MAX];
static unsigned int nr_devices;

static int devices__cmp(const void *a, const void *b)
{
	const struct device_ops *x = *(const struct device_ops *const *)a;
	const struct device_ops *y = *(const struct device_ops *const *)b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void devices__sort(void)
{
	const struct device_ops *const *p;

	if (nr_devices)
		return;
	for (p = __start_vmm_devices; p < __stop_vmm_devices; p++) {
		if (nr_devices == DEVICES_MAX) {
			pr_err("more than %d device models registered", DEVICES_MAX);
			abort();
		}
		device_table[nr_devices++] = *p;
	}
	qsort(device_table, nr_devices, sizeof(device_table[0]), devices__cmp);
}

int devices__check_config(const struct vmm_config *cfg)
{
	unsigned int i;
	int ret;

	devices__sort();
	for (i = 0; i < nr_devices; i++) {
		if (!device_table[i]->check_config)
			continue;
		ret = device_table[i]->check_config(cfg);
		if (ret)
			return ret;
	}
	return 0;
}

int devices__init(struct vm *vm, struct device_in *in)
{
	unsigned int i;
	int ret;

	devices__sort();
	for (i = 0; i < nr_devices; i++) {
		if (!device_table[i]->init)
			continue;
		ret = device_table[i]->init(vm, in);
		if (ret) {
			/* The device said why, naming what it was given. */
			pr_debug("device %s: init: %s", device_table[i]->name, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Every exit copes with a device its init never created. */
void devices__exit(struct vm *vm)
{
	unsigned int i;

	devices__sort();
	for (i = nr_devices; i--;)
		if (device_table[i]->exit)
			device_table[i]->exit(vm);
}

int devices__restore(struct vm *vm, struct device_in *in)
{
	unsigned int i;
	int ret;

	devices__sort();
	for (i = 0; i < nr_devices; i++) {
		if (!device_table[i]->restore)
			continue;
		ret = device_table[i]->restore(vm, in);
		if (ret) {
			pr_err("device %s: cannot restore its state: %s",
			       device_table[i]->name, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void devices__save(struct vm *vm, struct state_buf *b)
{
	unsigned int i;

	devices__sort();
	for (i = 0; i < nr_devices; i++)
		if (device_table[i]->save)
			device_table[i]->save(vm, b);
}

void devices__keep_fds(struct vm *vm, struct device_keep *k)
{
	unsigned int i;

	devices__sort();
	for (i = 0; i < nr_devices; i++)
		if (device_table[i]->keep_fds)
			device_table[i]->keep_fds(vm, k);
}

int devices__can_upgrade(struct vm *vm, bool keep_vm, char *why, size_t len)
{
	unsigned int i;
	int ret;

	devices__sort();
	for (i = 0; i < nr_devices; i++) {
		if (!device_table[i]->can_upgrade)
			continue;
		ret = device_table[i]->can_upgrade(vm, keep_vm, why, len);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * All or nothing: a failure thaws the devices already frozen.  Each
 * device's freeze is timed: it is where requests in flight are drained,
 * the one part of the pause that the guest's own load sets.
 */
int devices__freeze(struct vm *vm, bool keep_vm, char *why, size_t len)
{
	unsigned int i, j;
	u64 t;
	int ret;

	devices__sort();
	for (i = 0; i < nr_devices; i++) {
		if (!device_table[i]->freeze)
			continue;
		t = now_ns();
		ret = device_table[i]->freeze(vm, keep_vm, why, len);
		pr_debug("%s: freeze took %llu us", device_table[i]->name,
			 (unsigned long long)(now_ns() - t) / 1000);
		if (!ret)
			continue;
		for (j = i; j--;)
			if (device_table[j]->thaw)
				device_table[j]->thaw(vm);
		return ret;
	}
	return 0;
}

void devices__thaw(struct vm *vm)
{
	unsigned int i;

	devices__sort();
	for (i = nr_devices; i--;)
		if (device_table[i]->thaw)
			device_table[i]->thaw(vm);
}

const char *devices__name(u16 id)
{
	unsigned int i;

	devices__sort();
	for (i = 0; i < nr_devices; i++)
		if (device_table[i]->id == id)
			return device_table[i]->name;
	return "?";
}

void device_keep__fd(struct device_keep *k, const struct device_ops *ops, u16 n, int fd)
{
	if (fd >= 0)
		k->add(k, DEVICE_FD_INDEX(ops->id, n), fd);
}

int device_in__open(struct device_in *in, const void *data, size_t len)
{
	char err[200];
	int ret;

	memset(in, 0, sizeof(*in));
	in->ix = calloc(1, sizeof(*in->ix));
	if (!in->ix)
		return -ENOMEM;
	ret = state_index__build(in->ix, data, len, err, sizeof(err));
	if (ret) {
		pr_err("refusing the devices' state: %s", err);
		device_in__close(in);
	}
	return ret;
}

void device_in__close(struct device_in *in)
{
	if (in->ix)
		state_index__free(in->ix);
	free(in->ix);
	in->ix = NULL;
}

const struct state_rec *device_in__find(struct device_in *in, u16 type, u32 id)
{
	return in && in->ix ? state_index__find(in->ix, type, id) : NULL;
}

int device_in__take_fd(struct device_in *in, const struct device_ops *ops, u16 n)
{
	if (!in || !in->take_fd)
		return -ENOENT;
	return in->take_fd(in, DEVICE_FD_INDEX(ops->id, n));
}

bool device_in__kept_vm(const struct device_in *in)
{
	return in && in->kept_vm;
}
