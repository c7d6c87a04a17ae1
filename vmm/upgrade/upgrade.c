// SPDX-License-Identifier: GPL-2.0
/*
 * The old image's side of a live upgrade: the "live-upgrade" control
 * command, on the main thread.
 *
 *   choose the mode -> preflight NEW -> prepare (open the stash or create
 *   the state memfd, keep a handle on this binary) -> pause -> save the VM state and the upgrade
 *   records -> preserve (transport) -> execve(NEW --incoming)
 *
 * Nothing before the pause can hurt the guest; after it, the only step
 * left that can fail in this image is execve() itself, and then the
 * transport undoes what it did and the guest resumes here.  Guest RAM is
 * never touched on the way: it stays in its memfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cprstash.h"
#include "upgrade.h"
#include "vmm/device.h"
#include "vmm/version.h"

extern char **environ;

static const char *const upgrade_mode_names[] = {
	[UPGRADE_AUTO] = "auto",
	[UPGRADE_ADOPT] = "adopt",
	[UPGRADE_REBUILD] = "rebuild",
	[UPGRADE_CLOEXEC] = "cloexec",
};

const char *upgrade__mode_name(enum upgrade_mode mode)
{
	return name_of(upgrade_mode_names, ARRAY_SIZE(upgrade_mode_names), mode);
}

int upgrade__parse_mode(const char *name, enum upgrade_mode *mode)
{
	int i = name_index(upgrade_mode_names, ARRAY_SIZE(upgrade_mode_names), name);

	if (i < 0)
		return -EINVAL;
	*mode = i;
	return 0;
}

void upgrade__fd_name(u32 role, u32 index, char *buf, size_t len)
{
	switch (role) {
	case STATE_FD_GUEST_RAM: snprintf(buf, len, "guest-ram"); break;
	case STATE_FD_KVM_VM: snprintf(buf, len, "kvm-vm"); break;
	case STATE_FD_KVM_VCPU: snprintf(buf, len, "kvm-vcpu.%u", index); break;
	case STATE_FD_CONTROL_LISTEN: snprintf(buf, len, "control-listen"); break;
	case STATE_FD_CONTROL_CLIENT: snprintf(buf, len, "control-client.%u", index); break;
	case STATE_FD_SERIAL_LOG: snprintf(buf, len, "serial-log"); break;
	case STATE_FD_OLD_EXE: snprintf(buf, len, "exe"); break;
	case STATE_FD_MM_KEEPER: snprintf(buf, len, "mm-keeper"); break;
	case STATE_FD_LOSS_WATCH: snprintf(buf, len, "loss-watch"); break;
	case STATE_FD_DEVICE:
		snprintf(buf, len, "dev.%s.%u", devices__name(index >> 16), index & 0xffff);
		break;
	default: snprintf(buf, len, "fd-%u.%u", role, index); break;
	}
}

static void upgrade__add_fd(struct upgrade_out *up, u32 role, u32 index, int fd)
{
	if (fd < 0 || up->nr_fds == ARRAY_SIZE(up->fds))
		return;
	up->fds[up->nr_fds++] = (struct upgrade_fd){ role, index, fd };
}

struct upgrade_keep {
	struct device_keep k;
	struct upgrade_out *up;
};

static void upgrade__keep_device_fd(struct device_keep *k, u32 index, int fd)
{
	upgrade__add_fd(container_of(k, struct upgrade_keep, k)->up, STATE_FD_DEVICE, index, fd);
}

/* Every file the new image needs, by role. */
static void upgrade__collect_fds(struct upgrade_out *up)
{
	struct upgrade_keep keep = { { upgrade__keep_device_fd }, up };
	struct vmm_run *run = up->run;
	struct vm *vm = &run->vm;
	unsigned int i;

	upgrade__add_fd(up, STATE_FD_OLD_EXE, 0, up->exe_fd);
	upgrade__add_fd(up, STATE_FD_GUEST_RAM, 0, vm->mem.memfd);
	upgrade__add_fd(up, STATE_FD_KVM_VM, 0, vm->kvm.vm_fd);
	for (i = 0; i < vm->nr_vcpus; i++)
		upgrade__add_fd(up, STATE_FD_KVM_VCPU, i, vm->vcpus[i].fd);
	upgrade__add_fd(up, STATE_FD_CONTROL_LISTEN, 0, run->ctl.listen_fd);
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		upgrade__add_fd(up, STATE_FD_CONTROL_CLIENT, i, run->ctl.clients[i].fd);
	upgrade__add_fd(up, STATE_FD_SERIAL_LOG, 0, run->log_fd);
	upgrade__add_fd(up, STATE_FD_MM_KEEPER, 0, up->keeper.fd);
	upgrade__add_fd(up, STATE_FD_LOSS_WATCH, 0, up->watch_fd);
	devices__keep_fds(vm, &keep.k);
}

static void upgrade__part(struct upgrade_out *up, const char *fmt, unsigned int n)
{
	if (up->nr_parts == ARRAY_SIZE(up->parts))
		return;
	snprintf(up->parts[up->nr_parts].name, sizeof(up->parts[0].name), fmt, n);
	up->parts[up->nr_parts++].off = up->state.len;
}

/* The records of the upgrade itself: how to re-create this VMM. */
static void upgrade__save_upgrade(struct upgrade_out *up, unsigned int slot,
				  const char *line, size_t len)
{
	struct vmm_run *run = up->run;
	struct state_buf *b = &up->state;
	struct state_upgrade_fd f;
	size_t argv_len = 0;
	char *argv_buf, *p;
	unsigned int i;

	up->info.requester = slot;
	state__put(b, STATE_UPG_INFO, 0, &up->info, sizeof(up->info));

	for (i = 1; i < (unsigned int)run->argc; i++)
		argv_len += strlen(run->argv[i]) + 1;
	argv_buf = calloc(1, argv_len + 1);
	if (!argv_buf) {
		b->err = -ENOMEM;
		return;
	}
	for (p = argv_buf, i = 1; i < (unsigned int)run->argc; i++)
		p = stpcpy(p, run->argv[i]) + 1;
	state__put(b, STATE_UPG_ARGV, 0, argv_buf, argv_len ? argv_len : 1);
	free(argv_buf);

	state__put(b, STATE_UPG_REQUEST, 0, line, len);
	for (i = 0; i < up->nr_fds; i++) {
		f = (struct state_upgrade_fd){
			.role = up->fds[i].role, .index = up->fds[i].index,
			.fd = up->fds[i].fd,
		};
		state__put(b, STATE_UPG_FD, i, &f, sizeof(f));
	}
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		const struct control_client *c = &run->ctl.clients[i];

		if (c->fd >= 0 && c->len)
			state__put(b, STATE_UPG_CLIENT_BUF, i, c->buf, c->len);
	}
	state__put_end(b);
}

/* VM paused: the whole stream, in parts (vm, vcpu.N, devices, upgrade). */
static int upgrade__save(struct upgrade_out *up, unsigned int slot,
			 const char *line, size_t len)
{
	struct vm *vm = &up->run->vm;
	unsigned int i;
	int ret;

	upgrade__part(up, "vm", 0);
	ret = vm_state__save_machine(vm, &up->state);
	for (i = 0; !ret && i < vm->nr_vcpus; i++) {
		upgrade__part(up, "vcpu.%u", i);
		ret = vm_state__save_vcpu(vm, &vm->vcpus[i], &up->state);
	}
	if (ret)
		return ret;
	upgrade__part(up, "devices", 0);
	devices__save(vm, &up->state);
	up->info.t_saved = now_ns();
	upgrade__collect_fds(up);
	upgrade__part(up, "upgrade", 0);
	upgrade__save_upgrade(up, slot, line, len);
	if (up->state.err)
		pr_err("cannot encode the upgrade state: %s", strerror(-up->state.err));
	return up->state.err;
}

/* The environment of the new image: ours, with this upgrade's lines. */
static char **upgrade__envp(struct upgrade_out *up, char *mode_line, char *version_line,
			    char *t_line)
{
	size_t n = 0, j = 0, i;
	char **envp;

	while (environ[n])
		n++;
	envp = calloc(n + ARRAY_SIZE(up->env) + 4, sizeof(*envp));
	if (!envp)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "VMM_UPGRADE_", 12))
			envp[j++] = environ[i];
	envp[j++] = mode_line;
	envp[j++] = version_line;
	for (i = 0; i < up->nr_env; i++)
		envp[j++] = up->env[i];
	envp[j++] = t_line;
	return envp;
}

/* Only returns if execve() failed: -errno. */
static int upgrade__exec(struct upgrade_out *up)
{
	char mode_line[64], t_line[64], version_line[96];
	char *argv[] = { up->binary, UPGRADE_INCOMING_ARG, NULL };
	char **envp;
	int ret;

	snprintf(mode_line, sizeof(mode_line), UPGRADE_ENV_MODE "=%s",
		 upgrade__mode_name(up->mode));
	snprintf(version_line, sizeof(version_line), UPGRADE_ENV_OLD_VERSION "=%s", vmm_version);
	envp = upgrade__envp(up, mode_line, version_line, t_line);
	if (!envp)
		return -ENOMEM;
	fflush(NULL);
	up->t_exec = now_ns();
	snprintf(t_line, sizeof(t_line), UPGRADE_ENV_T_EXEC "=%llu",
		 (unsigned long long)up->t_exec);
	ret = upgrade_fault__point("before-exec");
	if (!ret) {
		execve(up->binary, argv, envp);
		ret = -errno;
	}
	free(envp);
	return ret;
}

static void upgrade__cleanup(struct upgrade_out *up)
{
	/* The guest runs here again (or never stopped). */
	watch__resumed(up->watch_fd);
	up->watch_fd = -1;
	if (up->exe_fd >= 0)
		close(up->exe_fd);
	up->exe_fd = -1;
	state_buf__free(&up->state);
	log__set_upgrade_id(0);
}

/* The binary to exec: allowed (allow.c), and canonical in up->binary. */
static int upgrade__binary(const struct control_request *req, struct upgrade_out *up,
			   char *err, size_t errlen)
{
	const struct vmm_run *run = up->run;
	const struct upgrade_allow allow = {
		.self = run->self_path,
		.paths = run->cfg->upgrade_allow,
		.nr_paths = run->cfg->nr_upgrade_allow,
	};
	char binary[PATH_MAX];
	struct json_object *v;

	if (json_object_object_get_ex(req->obj, "binary", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    !*json_object_get_string(v) ||
		    strlen(json_object_get_string(v)) >= sizeof(binary)) {
			snprintf(err, errlen, "\"binary\" must be a path");
			return -EINVAL;
		}
		strcpy(binary, json_object_get_string(v));
	} else if (run->self_path[0]) {
		strcpy(binary, run->self_path);
	} else {
		snprintf(err, errlen, "cannot find the running binary");
		return -ENOENT;
	}
	return upgrade__allowed(&allow, binary, up->binary, err, errlen);
}

static int upgrade__args(const struct control_request *req, struct upgrade_out *up,
			 bool *preflight, char *err, size_t errlen)
{
	struct json_object *v;
	int ret;

	ret = upgrade__binary(req, up, err, errlen);
	if (ret)
		return ret;
	up->requested = UPGRADE_AUTO;
	if (json_object_object_get_ex(req->obj, "mode", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	     upgrade__parse_mode(json_object_get_string(v), &up->requested))) {
		snprintf(err, errlen, "\"mode\" must be auto, adopt, rebuild or cloexec");
		return -EINVAL;
	}
	if (json_object_object_get_ex(req->obj, "adopt_zap", &v)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			snprintf(err, errlen, "\"adopt_zap\" must be true or false");
			return -EINVAL;
		}
		up->adopt_zap = json_object_get_boolean(v);
	}
	*preflight = true;
	if (json_object_object_get_ex(req->obj, "preflight", &v)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			snprintf(err, errlen, "\"preflight\" must be true or false");
			return -EINVAL;
		}
		*preflight = json_object_get_boolean(v);
	}
	return 0;
}

/* The mode and its transport; the stash is opened here (prepare). */
static int upgrade__choose(struct upgrade_out *up, char *err, size_t errlen)
{
	int ret;

	up->mode = up->requested;
	if (up->mode == UPGRADE_AUTO)
		up->mode = cprstash_available() ? UPGRADE_ADOPT : UPGRADE_CLOEXEC;
	up->tr = up->mode == UPGRADE_CLOEXEC ? &upgrade_cloexec_transport
					     : &upgrade_stash_transport;
	ret = up->tr->prepare(up);
	if (ret && up->requested == UPGRADE_AUTO && up->mode != UPGRADE_CLOEXEC) {
		pr_warn("live upgrade: %s unusable (%s), using cloexec mode",
			CPRSTASH_DEVICE, strerror(-ret));
		up->mode = UPGRADE_CLOEXEC;
		up->tr = &upgrade_cloexec_transport;
		ret = up->tr->prepare(up);
	}
	if (ret)
		snprintf(err, errlen, "%s mode: %s: %s", upgrade__mode_name(up->mode),
			 up->mode == UPGRADE_CLOEXEC ? "cannot prepare" : CPRSTASH_DEVICE,
			 strerror(-ret));
	return ret;
}

static void upgrade__read_guest_tscs(struct upgrade_out *up)
{
	struct vm *vm = &up->run->vm;
	struct bg_slot slot;
	unsigned int i;

	if (!vm->bg)
		return;
	/* A few loads from a page the guest uses: no per-page work. */
	for (i = 0; i < vm->nr_vcpus; i++) {
		builtin_guest__read_slot(vm, i, &slot);
		up->info.guest_tsc[i] = slot.tsc;
	}
}

#define UPGRADE_STATE_RESERVE(nr_vcpus)	(16384 + (size_t)(nr_vcpus) * 16384)

struct json_object *upgrade__request(struct vmm_run *run, unsigned int slot,
				     const struct control_request *req,
				     const char *line, size_t len)
{
	static struct upgrade_out up;
	struct vm *vm = &run->vm;
	struct json_object *reply;
	bool preflight;
	char err[600];
	u64 t_freeze;
	int ret;

	memset(&up, 0, sizeof(up));
	up.run = run;
	up.exe_fd = up.stash = up.state_fd = up.keeper.fd = up.watch_fd = -1;
	state_buf__init(&up.state);

	if (upgrade__args(req, &up, &preflight, err, sizeof(err)) ||
	    upgrade_fault__check(err, sizeof(err)))
		return report__failed(&up, req, "request", "%s", err);
	if (vm__is_paused(vm))
		return report__failed(&up, req, "request",
				      "the VM is paused: resume it before a live upgrade");
	if (vm->exit_reason != VM_EXIT_NONE)
		return report__failed(&up, req, "request", "the VM is ending");
	if (preflight && preflight__run(up.binary, err, sizeof(err)))
		return report__failed(&up, req, "preflight", "%s", err);

	up.exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (up.exe_fd < 0)
		return report__failed(&up, req, "prepare", "cannot open this binary: %s",
				      strerror(errno));
	if (upgrade__choose(&up, err, sizeof(err)) ||
	    devices__can_upgrade(vm, up.mode == UPGRADE_ADOPT, err, sizeof(err))) {
		up.tr->unpreserve(&up);
		reply = report__failed(&up, req, "prepare", "%s", err);
		upgrade__cleanup(&up);
		return reply;
	}

	if (getrandom(&up.info.id, sizeof(up.info.id), GRND_NONBLOCK) != sizeof(up.info.id))
		up.info.id = now_ns() ^ ((u64)getpid() << 40);
	log__set_upgrade_id(up.info.id);
	ret = watch__start(&up, req, slot);
	if (ret)
		pr_warn("live upgrade: no loss watch (%s): a lost guest would go unreported",
			strerror(-ret));
	up.info.generation = run->generation + 1;
	up.info.mode = up.mode;
	up.info.requested_mode = up.requested;
	if (up.adopt_zap)
		up.info.flags |= STATE_UPG_ADOPT_ZAP;
	up.info.t_vm_start = vm->start_ns;
	if (run->tty_raw) {
		up.info.flags |= STATE_UPG_TTY_RAW;
		memcpy(up.info.tty, &run->saved_tty, sizeof(run->saved_tty));
	}
	pr_info("live upgrade: %s mode, exec %s", upgrade__mode_name(up.mode), up.binary);

	/*
	 * The whole VM state is written during the pause (about 10 KiB per
	 * vCPU): allocate and fault in room for it now, so the pause neither
	 * reallocs nor takes page faults on the buffer.
	 */
	if (!state_buf__reserve(&up.state, UPGRADE_STATE_RESERVE(vm->nr_vcpus)))
		memset(up.state.data, 0, up.state.cap);

	/* From here the guest is paused: every failure path resumes it. */
	up.info.t_pause_start = now_ns();
	vm__pause(vm);
	up.info.t_paused = now_ns();
	/* The start of the parked span, on the clock the guest sees. */
	if (vcpu__read_tsc(&vm->vcpus[0], &up.info.parked_tsc))
		up.info.parked_tsc = 0;
	upgrade__read_guest_tscs(&up);

	/*
	 * A vCPU that ended the VM on its way to the pause (a triple fault:
	 * SVM has already reset it) counts as parked: its state is no longer
	 * the guest's, and carrying it forward would resume a reset vCPU.
	 * The main loop ends the VM once we resume.
	 */
	if (vm__is_ending(vm, err, sizeof(err))) {
		up.tr->unpreserve(&up);
		vm__resume(vm);
		reply = report__failed(&up, req, "pause", "the VM is ending: %s", err);
		upgrade__cleanup(&up);
		return reply;
	}
	/* Before the records: nothing may change the VM behind them. */
	ret = upgrade_fault__point("after-pause");
	if (ret) {
		snprintf(err, sizeof(err), "test fault after-pause: %s", strerror(-ret));
	} else {
		t_freeze = now_ns();
		ret = devices__freeze(vm, up.mode == UPGRADE_ADOPT, err, sizeof(err));
		up.info.freeze_us = (now_ns() - t_freeze) / 1000;
	}
	if (ret) {
		up.tr->unpreserve(&up);
		vm__resume(vm);
		reply = report__failed(&up, req, "freeze", "%s", err);
		upgrade__cleanup(&up);
		return reply;
	}
	ret = upgrade__save(&up, slot, line, len);
	if (!ret)
		ret = up.tr->preserve(&up);
	if (!ret)
		ret = upgrade_fault__point("after-seal");
	if (ret) {
		up.tr->unpreserve(&up);
		devices__thaw(vm);
		vm__resume(vm);
		reply = report__failed(&up, req, "preserve", "cannot preserve the VM: %s",
				       strerror(-ret));
		upgrade__cleanup(&up);
		return reply;
	}

	ret = upgrade__exec(&up);

	/* Still here: exec failed.  Take everything back and run on. */
	up.tr->unpreserve(&up);
	devices__thaw(vm);
	vm__resume(vm);
	pr_err("live upgrade: exec of %s failed: %s; the guest runs on", up.binary,
	       strerror(-ret));
	reply = report__failed(&up, req, "exec",
			       "exec of %s failed: %s; the guest resumed on the running VMM",
			       up.binary, strerror(-ret));
	upgrade__cleanup(&up);
	return reply;
}

static struct json_object *upgrade__command(struct control *ctl, struct control_client *c,
					    const struct control_request *req,
					    const char *line, size_t len)
{
	if (!ctl->run || !c)
		return control__reply_error(req, "live upgrade is not offered here");
	/* Returns only if the upgrade did not happen. */
	return upgrade__request(ctl->run, c - ctl->clients, req, line, len);
}

static const struct control_command upgrade_cmd = {
	.name = "live-upgrade",
	.run = upgrade__command,
};
CONTROL_COMMAND(upgrade_cmd);

static void upgrade__status(struct control *ctl, struct json_object *reply)
{
	if (ctl->run)
		json_object_object_add(reply, "upgrades",
				       json_object_new_uint64(ctl->run->generation));
}

static const struct control_status upgrade_status = { upgrade__status };
CONTROL_STATUS(upgrade_status);
