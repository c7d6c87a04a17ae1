// SPDX-License-Identifier: GPL-2.0
/*
 * The new image: "vmm --incoming", started by the old image's execve().
 *
 *   open (stash or inherited fds; arm the rollback) -> read every record
 *   in one io_uring submission -> decode -> parse the recorded argv ->
 *   recover the VM (recover.c) -> control socket, clients, console ->
 *   resume -> release the rest of the old image -> reply to the client
 *   that asked, on its own connection -> the usual main loop.
 *
 * Until the guest resumes, every failure rolls back to the old binary
 * (rollback.c).  A rolled-back image (VMM_UPGRADE_ROLLBACK set) takes the
 * same path and replies with the failure instead.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "upgrade.h"

/* Static: the atexit and signal paths of rollback.c may need it. */
static struct upgrade_in incoming;

static int incoming__env(struct upgrade_in *in)
{
	const char *mode = getenv(UPGRADE_ENV_MODE);
	const char *t = getenv(UPGRADE_ENV_T_EXEC);
	const char *old_version = getenv(UPGRADE_ENV_OLD_VERSION);

	if (!mode || upgrade__parse_mode(mode, &in->mode) || in->mode == UPGRADE_AUTO) {
		pr_err("incoming: no upgrade in progress (%s is %s)", UPGRADE_ENV_MODE,
		       mode ? mode : "not set");
		return -EINVAL;
	}
	in->t_exec = t ? strtoull(t, NULL, 10) : 0;
	in->rollback = getenv(UPGRADE_ENV_ROLLBACK);
	/* A copy: the environment is cleaned before the report is made. */
	snprintf(in->old_version, sizeof(in->old_version), "%s", old_version ? old_version : "");
	in->tr = in->mode == UPGRADE_CLOEXEC ? &upgrade_cloexec_transport
					     : &upgrade_stash_transport;
	return 0;
}

/* Pick the upgrade records out of the (already validated) stream. */
static int incoming__decode(struct upgrade_in *in)
{
	struct state_cursor c;
	struct state_rec rec;
	struct state_upgrade_fd f;
	bool have_info = false;
	const char *argv_buf = NULL, *p;
	u32 argv_len = 0;
	char err[200];
	int ret, i;

	ret = state__validate(in->data, in->len, err, sizeof(err));
	if (ret) {
		pr_err("incoming: refusing the state: %s", err);
		return ret;
	}
	state_cursor__init(&c, in->data, in->len);
	while (state__next(&c, &rec, err, sizeof(err)) > 0) {
		switch (rec.type) {
		case STATE_UPG_INFO:
			memcpy(&in->info, rec.payload, sizeof(in->info));
			have_info = true;
			break;
		case STATE_UPG_ARGV:
			argv_buf = rec.payload;
			argv_len = rec.len;
			break;
		case STATE_UPG_REQUEST:
			in->request = rec.payload;
			in->request_len = rec.len;
			break;
		case STATE_UPG_FD:
			if (in->nr_fds == ARRAY_SIZE(in->fds))
				return -E2BIG;
			memcpy(&f, rec.payload, sizeof(f));
			in->fds[in->nr_fds++] = (struct upgrade_fd){ f.role, f.index, f.fd };
			break;
		case STATE_UPG_CLIENT_BUF:
			if (rec.id >= CONTROL_MAX_CLIENTS)
				return -EINVAL;
			in->client_buf[rec.id] = rec.payload;
			in->client_len[rec.id] = rec.len;
			break;
		}
	}
	if (!have_info || !argv_buf || !in->request) {
		pr_err("incoming: the state has no upgrade records");
		return -EINVAL;
	}
	if (in->info.requester >= CONTROL_MAX_CLIENTS)
		return -EINVAL;
	log__set_upgrade_id(in->info.id);

	/* argv[0] and the recorded arguments, each NUL-terminated. */
	in->argc = 1;
	for (p = argv_buf; p < argv_buf + argv_len; p += strlen(p) + 1)
		in->argc++;
	in->argv = calloc(in->argc + 1, sizeof(char *));
	if (!in->argv)
		return -ENOMEM;
	in->argv[0] = "vmm";
	for (i = 1, p = argv_buf; p < argv_buf + argv_len; p += strlen(p) + 1)
		in->argv[i++] = (char *)p;
	return 0;
}

/* The control socket and every client connection the old image had. */
static int incoming__control(struct upgrade_in *in)
{
	struct control *ctl = &in->run->ctl;
	unsigned int i;
	int fd, ret;

	fd = in->tr->get_fd(in, STATE_FD_CONTROL_LISTEN, 0);
	if (fd == -ENOENT)
		return 0;	/* no --control: no clients either */
	if (fd < 0)
		return fd;
	control__adopt(ctl, &in->run->vm, fd);
	ctl->run = in->run;
	if (in->cfg.control_path) {
		ctl->path = strdup(in->cfg.control_path);
		if (!ctl->path)
			return -ENOMEM;
	}
	for (i = 0; i < in->nr_fds; i++) {
		const struct upgrade_fd *f = &in->fds[i];

		if (f->role != STATE_FD_CONTROL_CLIENT || f->index >= CONTROL_MAX_CLIENTS)
			continue;
		fd = in->tr->get_fd(in, f->role, f->index);
		if (fd < 0)
			return fd;
		ret = control__adopt_client(ctl, f->index, fd, in->client_buf[f->index],
					    in->client_len[f->index]);
		if (ret) {
			close(fd);
			return ret;
		}
	}
	return 0;
}

static int incoming__console(struct upgrade_in *in)
{
	struct vmm_run *run = in->run;
	int fd;

	fd = in->tr->get_fd(in, STATE_FD_SERIAL_LOG, 0);
	if (fd >= 0)
		run->log_fd = fd;
	if (in->info.flags & STATE_UPG_TTY_RAW) {
		run->tty_raw = true;
		memcpy(&run->saved_tty, in->info.tty, sizeof(run->saved_tty));
	}
	return run__setup_console(run);
}

static void incoming__unsetenv(void)
{
	unsetenv(UPGRADE_ENV_MODE);
	unsetenv(UPGRADE_ENV_T_EXEC);
	unsetenv(UPGRADE_ENV_STATE_FD);
	unsetenv(UPGRADE_ENV_EXE_FD);
	unsetenv(UPGRADE_ENV_OLD_VERSION);
	unsetenv(UPGRADE_ENV_ROLLBACK);
	unsetenv(UPGRADE_ENV_FAULT);
}

/* Any failure before the guest resumed: back to the old binary. */
#define incoming__fail(...) do {						\
	if (in->rollback) {							\
		pr_err("incoming (rollback): giving up; the VM is lost");	\
		exit(1);							\
	}									\
	rollback__now(__VA_ARGS__);						\
} while (0)

int upgrade__incoming(const char *argv0)
{
	struct upgrade_in *in = &incoming;
	struct json_object *reply;
	struct vmm_run *run;
	int ret;

	in->t_main = now_ns();
	in->argv0 = argv0;
	in->stash = in->state_fd = in->exe_fd = -1;
	if (incoming__env(in))
		return 1;

	ret = in->tr->open(in);
	if (in->exe_fd >= 0 && !in->rollback)
		rollback__arm(in->exe_fd, "vmm");
	if (ret)
		incoming__fail("cannot open the %s transport: %s", in->tr->name, strerror(-ret));
	ret = upgrade_fault__point("incoming");
	if (ret)
		incoming__fail("test fault incoming: %s", strerror(-ret));
	ret = in->tr->read(in);
	if (ret)
		incoming__fail("cannot read the records: %s", strerror(-ret));
	ret = incoming__decode(in);
	if (ret)
		incoming__fail("cannot decode the records: %s", strerror(-ret));
	if (config__parse(in->argc, in->argv, &in->cfg))
		incoming__fail("this binary does not accept the recorded command line");
	in->t_read = now_ns();

	run = in->run = run__alloc(&in->cfg, in->argc, in->argv);
	if (!run)
		incoming__fail("out of memory");
	run->generation = in->info.generation;
	if (run__setup_signals(run))
		incoming__fail("signals: %s", strerror(errno));
	ret = recover__vm(in);
	if (ret)
		incoming__fail("cannot recover the VM: %s", strerror(-ret));
	ret = incoming__control(in);
	if (!ret)
		ret = incoming__console(in);
	if (ret)
		incoming__fail("cannot take over the control socket or console: %s",
			       strerror(-ret));
	ret = upgrade_fault__point("before-resume");
	if (ret)
		incoming__fail("test fault before-resume: %s", strerror(-ret));
	in->t_recovered = now_ns();

	report__mark_resume(in);
	ret = vm__start(&run->vm);
	if (ret && !run->vm.vcpus[0].thread_started)
		incoming__fail("cannot start the vCPUs: %s", strerror(-ret));
	if (ret) {
		/* Some vCPUs ran: the records are stale, there is no way back. */
		rollback__disarm();
		pr_err("incoming: only some vCPUs started (%s): ending the VM", strerror(-ret));
		vm__request_exit(&run->vm, VM_EXIT_ERROR, "live upgrade: vCPU threads failed to start");
	}
	in->t_resumed = now_ns();
	run->vm.start_ns = in->info.t_vm_start;
	/* The guest runs on this image: no way back from here. */
	rollback__disarm();
	watch__resumed(in->tr->get_fd(in, STATE_FD_LOSS_WATCH, 0));
	if (in->tr->settle)
		in->tr->settle(in);

	report__wait_guest_gap(in);
	in->t_gap = now_ns();
	in->tr->finish(in);
	if (in->exe_fd >= 0)
		close(in->exe_fd);
	in->exe_fd = -1;
	in->t_finished = now_ns();
	/* After settle and finish: what they cost the guest is in the figure. */
	report__wait_full_speed(in);
	incoming__unsetenv();

	reply = report__incoming(in);
	control__send(&run->ctl, in->info.requester, reply);
	json_object_put(reply);
	pr_info("live upgrade: %s", in->rollback ? "rolled back, running the previous binary again"
						  : "done, running the new binary");
	log__set_upgrade_id(0);
	/* in->data stays: the configuration points into its argv record. */
	control__serve_pending(&run->ctl);
	return run__loop(run);
}
