// SPDX-License-Identifier: GPL-2.0
/*
 * The live-upgrade reply: whether it happened, the mode, and the time of
 * each phase.  Every timestamp is CLOCK_MONOTONIC, system-wide, so the
 * old image's (in the upgrade-info record, and t_exec in the environment)
 * and the new image's are on one time line:
 *
 *   pause_us    t_paused - t_pause_start      vCPUs parked (old image)
 *   stash_us    t_exec - t_paused             state saved, files kept
 *   exec_us     t_main - t_exec               execve() to the new main()
 *   start_us    t_read - t_main               records read and decoded
 *   recover_us  t_recovered - t_read          VM back, devices restored
 *   resume_us   t_resumed - t_recovered       vCPU threads running
 *   downtime_us t_resumed - t_pause_start
 *   freeze_us   every device's freeze (devices__freeze), in stash_us and
 *               save_us: where the requests in flight are drained
 *   settle_us   t_settled - t_settle          adopt kept the guest's mappings
 *                                             (kept_mappings): SETTLE_KVM,
 *                                             right after the resume
 *
 * With --vfio devices, "vfio" has their count and the new image's VFIO
 * phases, all inside recover_us: take_back_us (kept files checked),
 * update_vaddr_us (VFIO_DMA_MAP_FLAG_VADDR, which also moves the locked
 * memory charge), kvm_device_us (KVM's VFIO device adopted or re-created,
 * "kvm_device" says which), pci_function_us (back on the PCI bus, BARs
 * mmap'ed; the platform restores their state later, in restore).  The old image's VFIO_DMA_UNMAP_FLAG_VADDR is
 * the last step before exec, inside stash_us.
 *
 * Two more figures are what the guest could see, on its own clock (the
 * guest TSC, converted with the VM's TSC frequency):
 *
 *   parked_us     vCPU 0's guest TSC from the moment every vCPU was
 *                 parked (old image) to just before they run again (new
 *                 image): the span the guest sat out; downtime_us adds the
 *                 VMM's bookkeeping around it (the pause handshake, the
 *                 start of the vCPU threads); null with parked_error when
 *                 the guest TSC cannot be read or does not advance
 *   guest_gap_us  built-in guest: the step each vCPU's loop saw across the
 *                 resume mark (builtin_guest.h), the largest of them; by
 *                 construction never less than parked_us.  When it cannot
 *                 be had, it is null and guest_gap_error says why.
 *   full_speed_us built-in guest: from the resume to the start of the
 *                 first 40 ms (4 buckets, from a bucket boundary) in which
 *                 vCPU 0's sweep over its RAM read at least 90% of the
 *                 pages per bucket it read in the 320 ms before the pause;
 *                 speed_before_pages_s and speed_after_pages_s (the 40 ms
 *                 from the first whole bucket after the resume) beside it.
 *                 Null with full_speed_error when not reached while the
 *                 guest's ring kept the buckets (about 20 s) or not
 *                 measurable.  The reply waits for it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "upgrade.h"
#include "vmm/vfio.h"
#include "vmm/version.h"

/*
 * How long the new image waits for every vCPU to see the resume mark.  The
 * guest is running meanwhile; only the reply and the release of the old
 * image's leftovers wait.  Generous: a loaded host with the VMM nested
 * under emulation can leave a vCPU thread unscheduled for seconds.
 */
#define GUEST_GAP_WAIT_MS	20000

/* The last upgrade's report, for "last-upgrade": this image's to keep. */
static struct json_object *report_last;

/* @reply is also the answer to "last-upgrade" from now on. */
static struct json_object *report__remember(struct json_object *reply)
{
	json_object_put(report_last);
	report_last = json_object_get(reply);
	return reply;
}

static void report__us(struct json_object *o, const char *key, u64 from, u64 to)
{
	json_object_object_add(o, key, json_object_new_uint64(
		from && to >= from ? (to - from) / 1000 : 0));
}

static void report__id(struct json_object *o, u64 id)
{
	char buf[20];

	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)id);
	json_object_object_add(o, "upgrade_id", json_object_new_string(buf));
}

/* The mode the upgrade ran in and the one asked for. */
static void report__modes(struct json_object *o, enum upgrade_mode mode,
			  enum upgrade_mode requested)
{
	json_object_object_add(o, "mode", json_object_new_string(upgrade__mode_name(mode)));
	json_object_object_add(o, "requested_mode",
			       json_object_new_string(upgrade__mode_name(requested)));
}

struct json_object *report__failed(struct upgrade_out *up, const struct control_request *req,
				   const char *stage, const char *fmt, ...)
{
	struct json_object *reply;
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply = control__reply_error(req, msg);
	json_object_object_add(reply, "stage", json_object_new_string(stage));
	report__modes(reply, up->mode, up->requested);
	if (up->binary[0])
		json_object_object_add(reply, "binary", json_object_new_string(up->binary));
	/* Paused, then resumed here: the guest lost this much, nothing else. */
	json_object_object_add(reply, "rolled_back",
			       json_object_new_boolean(up->info.t_paused != 0));
	if (up->info.t_paused) {
		report__id(reply, up->info.id);
		report__us(reply, "pause_us", up->info.t_pause_start, up->info.t_paused);
		report__us(reply, "stash_us", up->info.t_paused,
			   up->t_exec ? up->t_exec : now_ns());
		report__us(reply, "downtime_us", up->info.t_pause_start, now_ns());
	}
	json_object_object_add(reply, "old_version", json_object_new_string(vmm_version));
	return report__remember(reply);
}

void report__mark_resume(struct upgrade_in *in)
{
	struct vm *vm = &in->run->vm;
	const char *why = NULL;

	if (vcpu__read_tsc(&vm->vcpus[0], &in->resume_tsc))
		in->resume_tsc = 0;
	if (!vm->bg) {
		why = "no built-in guest: a guest of its own measures nothing here";
	} else {
		in->resume_mark = builtin_guest__mark_resume(vm, &why);
	}
	if (why)
		snprintf(in->guest_gap_error, sizeof(in->guest_gap_error), "%s", why);
}

/* A vCPU that was still in its --touch-ram sweep had no loop to measure. */
static bool report__vcpus_looping(struct upgrade_in *in)
{
	unsigned int i;

	for (i = 0; i < in->run->vm.nr_vcpus; i++) {
		if (!in->info.guest_tsc[i]) {
			snprintf(in->guest_gap_error, sizeof(in->guest_gap_error),
				 "vCPU %u had not started its loop at the pause (--touch-ram sweep)",
				 i);
			return false;
		}
	}
	return true;
}

void report__wait_guest_gap(struct upgrade_in *in)
{
	struct vm *vm = &in->run->vm;
	u64 deadline = now_ns() + GUEST_GAP_WAIT_MS * 1000000ULL;
	bool done[VM_MAX_VCPUS] = { false };
	unsigned int i, left;

	if (!in->resume_mark || !report__vcpus_looping(in))
		return;
	/* Bounded: only decides when to stop looking, asserts nothing. */
	do {
		for (left = 0, i = 0; i < vm->nr_vcpus; i++) {
			if (!done[i])
				done[i] = builtin_guest__resume_gap(vm, i, in->resume_mark,
								    &in->guest_gap_ticks[i]);
			left += !done[i];
		}
		if (!left) {
			in->guest_gap_known = true;
			return;
		}
		usleep(200);
	} while (now_ns() < deadline);
	for (i = 0; done[i]; i++)
		;
	snprintf(in->guest_gap_error, sizeof(in->guest_gap_error),
		 "vCPU %u had not run its loop %u ms after the resume (a loaded host?)",
		 i, GUEST_GAP_WAIT_MS);
}

/*
 * Bounded like the gap: a hang guard only.  The guest's ring ends the
 * wait itself after about BG_SPEED_RING_LEN buckets.
 */
#define FULL_SPEED_WAIT_MS	20000

void report__wait_full_speed(struct upgrade_in *in)
{
	struct vm *vm = &in->run->vm;
	u64 deadline = now_ns() + FULL_SPEED_WAIT_MS * 1000000ULL;
	const char *why = NULL;
	int ret;

	in->speed_error = in->guest_gap_error[0] ? in->guest_gap_error : NULL;
	if (!in->resume_mark || !in->guest_gap_known)
		return;
	do {
		ret = builtin_guest__full_speed(vm, in->resume_mark, &in->speed, &why);
		if (ret != -EAGAIN)
			break;
		usleep(1000);
	} while (now_ns() < deadline);
	if (ret == -EAGAIN)
		why = "vCPU 0 did not run its sweep after the resume (a loaded host?)";
	else if (!ret && !in->speed.reached)
		why = "not reached while the guest kept the buckets before the pause";
	in->speed_error = ret || !in->speed.reached ? why : NULL;
}

static void report__full_speed(struct upgrade_in *in, struct json_object *reply)
{
	const struct bg_speed *s = &in->speed;

	if (s->bucket_us) {
		json_object_object_add(reply, "speed_before_pages_s", json_object_new_uint64(
			s->before_pages_s));
		json_object_object_add(reply, "speed_after_pages_s", json_object_new_uint64(
			s->after_pages_s));
	}
	if (in->speed_error || !s->reached) {
		json_object_object_add(reply, "full_speed_us", NULL);
		json_object_object_add(reply, "full_speed_error", json_object_new_string(
			in->speed_error ? in->speed_error : "no built-in guest"));
		return;
	}
	json_object_object_add(reply, "full_speed_us", json_object_new_uint64(s->full_speed_us));
}

static void report__guest_view(struct upgrade_in *in, struct json_object *reply)
{
	struct vm *vm = &in->run->vm;
	u64 khz = vm->bg ? vm->bg->tsc_khz : vm->tsc_khz, max = 0, us;
	struct json_object *arr;
	unsigned int i;

	if (khz && in->info.parked_tsc && in->resume_tsc > in->info.parked_tsc) {
		json_object_object_add(reply, "parked_us", json_object_new_uint64(
			ticks_to_us(in->resume_tsc - in->info.parked_tsc, khz)));
	} else {
		/* An unstable host TSC: KVM rebases the guest's on every vCPU load. */
		json_object_object_add(reply, "parked_us", NULL);
		json_object_object_add(reply, "parked_error", json_object_new_string(
			!in->info.parked_tsc || !in->resume_tsc ?
			"KVM_GET_MSRS could not read vCPU 0's TSC" :
			"vCPU 0's TSC did not advance while parked (host TSC unstable?)"));
	}

	if (!in->guest_gap_known || !khz) {
		json_object_object_add(reply, "guest_gap_us", NULL);
		json_object_object_add(reply, "guest_gap_error", json_object_new_string(
			in->guest_gap_error[0] ? in->guest_gap_error : "no TSC frequency"));
		return;
	}
	arr = json_object_new_array();
	for (i = 0; i < vm->nr_vcpus; i++) {
		us = ticks_to_us(in->guest_gap_ticks[i], khz);
		max = MAX(max, us);
		json_object_array_add(arr, json_object_new_uint64(us));
	}
	json_object_object_add(reply, "guest_gap_us", json_object_new_uint64(max));
	json_object_object_add(reply, "guest_gap_us_vcpu", arr);
}

static void report__vfio(struct upgrade_in *in, struct json_object *reply)
{
	struct vfio_upgrade_report r;
	struct json_object *o;

	if (!in->run || !vfio__upgrade_report(&in->run->vm, &r))
		return;
	o = json_object_new_object();
	json_object_object_add(o, "devices", json_object_new_uint64(r.nr_devices));
	json_object_object_add(o, "take_back_us", json_object_new_uint64(r.take_back_ns / 1000));
	json_object_object_add(o, "update_vaddr_us",
			       json_object_new_uint64(r.update_vaddr_ns / 1000));
	json_object_object_add(o, "kvm_device_us", json_object_new_uint64(r.kvm_dev_ns / 1000));
	json_object_object_add(o, "pci_function_us", json_object_new_uint64(r.pci_fn_ns / 1000));
	json_object_object_add(o, "kvm_device",
			       json_object_new_string(r.kvm_dev_kept ? "kept" : "new"));
	json_object_object_add(reply, "vfio", o);
}

struct json_object *report__incoming(struct upgrade_in *in)
{
	const struct state_upgrade_info *info = &in->info;
	struct control_request req;
	struct json_object *reply;
	char err[200], self[PATH_MAX], msg[700];
	ssize_t n;

	/* The id of the original request, echoed as for any other reply. */
	memset(&req, 0, sizeof(req));
	control__parse_request(in->request, in->request_len, &req, err, sizeof(err));
	if (in->rollback) {
		snprintf(msg, sizeof(msg),
			 "the new image failed before resuming the guest: %s; "
			 "the previous binary took the VM back", in->rollback);
		reply = control__reply_error(&req, msg);
		json_object_object_add(reply, "stage", json_object_new_string("new-image"));
		json_object_object_add(reply, "rolled_back", json_object_new_boolean(true));
	} else {
		reply = control__reply_ok(&req);
	}
	control__request_free(&req);

	report__modes(reply, in->done, info->requested_mode);
	if (in->fallback[0])
		json_object_object_add(reply, "fallback", json_object_new_string(in->fallback));
	report__id(reply, info->id);
	json_object_object_add(reply, "generation", json_object_new_uint64(info->generation));
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		json_object_object_add(reply, "binary", json_object_new_string(self));
	}
	json_object_object_add(reply, "pid", json_object_new_int(getpid()));
	json_object_object_add(reply, "records", json_object_new_int(in->nr_records));
	json_object_object_add(reply, "record_bytes", json_object_new_uint64(in->len));
	json_object_object_add(reply, "io_uring", json_object_new_boolean(in->used_uring));

	report__us(reply, "downtime_us", info->t_pause_start, in->t_resumed);
	report__us(reply, "pause_us", info->t_pause_start, info->t_paused);
	report__us(reply, "stash_us", info->t_paused, in->t_exec);
	report__us(reply, "exec_us", in->t_exec, in->t_main);
	report__us(reply, "start_us", in->t_main, in->t_read);
	report__us(reply, "recover_us", in->t_read, in->t_recovered);
	report__us(reply, "resume_us", in->t_recovered, in->t_resumed);
	report__us(reply, "save_us", info->t_paused, info->t_saved);
	json_object_object_add(reply, "freeze_us", json_object_new_uint64(info->freeze_us));
	report__us(reply, "finish_us", in->t_gap, in->t_finished);
	json_object_object_add(reply, "kept_mappings",
			       json_object_new_boolean(in->kept_mappings));
	if (in->kept_mappings)
		report__us(reply, "settle_us", in->t_settle, in->t_settled);
	report__guest_view(in, reply);
	report__full_speed(in, reply);
	report__vfio(in, reply);
	/* After a rollback this image is the old one: no new version ran. */
	json_object_object_add(reply, "old_version", in->old_version[0] ?
			       json_object_new_string(in->old_version) : NULL);
	if (!in->rollback)
		json_object_object_add(reply, "new_version", json_object_new_string(vmm_version));
	return report__remember(reply);
}

/*
 * "last-upgrade": the report of the last live upgrade this VM went
 * through, as its client got it ("report", null if none), for whoever
 * asks after the fact: the client may be gone, or be systemctl reload.
 * An upgrade that happened is reported by the image it started, so this
 * image has the report of every upgrade since its own start.
 */
static struct json_object *report__last_command(struct control *ctl, struct control_client *c,
						const struct control_request *req,
						const char *line, size_t len)
{
	struct json_object *reply = control__reply_ok(req);

	(void)ctl, (void)c, (void)line, (void)len;
	json_object_object_add(reply, "report", json_object_get(report_last));
	return reply;
}

static const struct control_command report_last_cmd = {
	.name = "last-upgrade",
	.run = report__last_command,
};
CONTROL_COMMAND(report_last_cmd);
