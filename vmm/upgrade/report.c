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
 *
 * and, for the built-in guest, guest_gap_us: the gap each vCPU's own TSC
 * saw across the upgrade (builtin_guest.h, gap log), the largest of them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "upgrade.h"

#define GUEST_GAP_WAIT_MS	5000

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
	return reply;
}

void report__wait_guest_gap(struct upgrade_in *in)
{
	struct vm *vm = &in->run->vm;
	u64 deadline = now_ns() + GUEST_GAP_WAIT_MS * 1000000ULL;
	bool done[VM_MAX_VCPUS] = { false };
	unsigned int i, left;

	if (!vm->bg)
		return;
	/* A vCPU still in its --touch-ram sweep has no loop TSC yet: unknown. */
	for (i = 0; i < vm->nr_vcpus; i++)
		if (!in->info.guest_tsc[i])
			return;
	/* Bounded: only decides when to stop looking, asserts nothing. */
	do {
		for (left = 0, i = 0; i < vm->nr_vcpus; i++) {
			if (!done[i])
				done[i] = builtin_guest__gap_after(vm, i, in->info.guest_tsc[i],
								   &in->guest_gap_ticks[i]);
			left += !done[i];
		}
		if (!left) {
			in->guest_gap_known = true;
			return;
		}
		usleep(200);
	} while (now_ns() < deadline);
}

static void report__guest_gap(struct upgrade_in *in, struct json_object *reply)
{
	struct vm *vm = &in->run->vm;
	struct json_object *arr;
	u64 khz = vm->bg ? vm->bg->tsc_khz : 0, max = 0, us;
	unsigned int i;

	if (!in->guest_gap_known || !khz) {
		json_object_object_add(reply, "guest_gap_us", NULL);
		return;
	}
	arr = json_object_new_array();
	for (i = 0; i < vm->nr_vcpus; i++) {
		us = in->guest_gap_ticks[i] * 1000 / khz;
		max = MAX(max, us);
		json_object_array_add(arr, json_object_new_uint64(us));
	}
	json_object_object_add(reply, "guest_gap_us", json_object_new_uint64(max));
	json_object_object_add(reply, "guest_gap_us_vcpu", arr);
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
	report__us(reply, "finish_us", in->t_gap, in->t_finished);
	report__guest_gap(in, reply);
	return reply;
}
