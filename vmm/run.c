// SPDX-License-Identifier: GPL-2.0
/*
 * "vmm --kernel ..." / "vmm --guest builtin ...": create the VM, start its
 * vCPU threads, and run the main loop on this thread until the guest or a
 * client ends it.
 *
 * Threads: the main thread owns the control socket, stdin and signals (one
 * poll() loop); each vCPU has its own thread (vcpu.c).  vCPU threads never
 * touch the control socket: they report the end of the VM through
 * vm->event_fd.  A live upgrade (upgrade/) runs on the main thread too, as
 * a control command.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vmm/devices.h"
#include "vmm/run.h"
#include "vmm/upgrade.h"
#include "vmm/vfio.h"
#include "vmm/x86/boot.h"

#define TERM_ESCAPE	0x01	/* Ctrl-A, then 'x' quits, as in kvmtool/QEMU */

struct vmm_run *run__alloc(const struct vmm_config *cfg, int argc, char **argv)
{
	struct vmm_run *run = calloc(1, sizeof(*run));

	if (!run)
		return NULL;
	run->cfg = cfg;
	run->argc = argc;
	run->argv = argv;
	run->signal_fd = run->log_fd = -1;
	/* Now, before a package upgrade can replace the file under us. */
	if (upgrade__self_path(run->self_path, sizeof(run->self_path)))
		run->self_path[0] = '\0';
	control__adopt(&run->ctl, &run->vm, -1);
	run->ctl.run = run;
	return run;
}

int run__setup_signals(struct vmm_run *run)
{
	sigset_t set;

	/* vCPU threads inherit this mask: signals are the main loop's. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	run->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return run->signal_fd < 0 ? -errno : 0;
}

static void run__tty_raw(struct vmm_run *run)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &run->saved_tty))
		return;
	raw = run->saved_tty;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST | ONLCR;	/* keep host-side newlines sane */
	if (!tcsetattr(STDIN_FILENO, TCSANOW, &raw))
		run->tty_raw = true;
}

static void run__tty_restore(struct vmm_run *run)
{
	if (run->tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &run->saved_tty);
	run->tty_raw = false;
}

int run__setup_console(struct vmm_run *run)
{
	const struct vmm_config *cfg = run->cfg;

	if (cfg->serial_log && run->log_fd < 0) {
		run->log_fd = open(cfg->serial_log,
				   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (run->log_fd < 0) {
			pr_err("cannot open serial log %s: %s", cfg->serial_log,
			       strerror(errno));
			return -errno;
		}
	}
	serial8250__set_output(&run->vm, STDOUT_FILENO, run->log_fd);
	/* The built-in guest has no console input. */
	run->stdin_open = cfg->serial_stdin && cfg->guest == GUEST_LINUX;
	/* A new image finds the terminal raw already (tty_raw from records). */
	if (run->stdin_open && !run->tty_raw)
		run__tty_raw(run);
	return 0;
}

static void run__read_stdin(struct vmm_run *run)
{
	u8 buf[64];
	size_t room = serial8250__rx_room(&run->vm);
	ssize_t n, i;

	if (!room)
		return;
	n = read(STDIN_FILENO, buf, MIN(room, sizeof(buf)));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		run->stdin_open = false;
		return;
	}
	if (run->tty_raw) {
		for (i = 0; i < n; i++) {
			if (run->escape && buf[i] == 'x') {
				vm__request_exit(&run->vm, VM_EXIT_QUIT, "quit from the console");
				return;
			}
			run->escape = buf[i] == TERM_ESCAPE;
		}
	}
	serial8250__receive(&run->vm, buf, n);
}

/* Returns false when the loop must end. */
static bool run__poll_once(struct vmm_run *run)
{
	struct pollfd pfd[3 + 1 + CONTROL_MAX_CLIENTS];
	struct signalfd_siginfo si;
	int n = 0, nctl, i_sig, i_evt, i_in = -1;

	i_sig = n;
	pfd[n++] = (struct pollfd){ .fd = run->signal_fd, .events = POLLIN };
	i_evt = n;
	pfd[n++] = (struct pollfd){ .fd = run->vm.event_fd, .events = POLLIN };
	/* Stop reading input while the UART's FIFO is full (back-pressure). */
	if (run->stdin_open && serial8250__rx_room(&run->vm)) {
		i_in = n;
		pfd[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	}
	nctl = control__pollfds(&run->ctl, pfd + n, ARRAY_SIZE(pfd) - n);

	if (poll(pfd, n + nctl, i_in < 0 && run->stdin_open ? 10 : -1) < 0)
		return errno == EINTR;

	if (pfd[i_sig].revents && read(run->signal_fd, &si, sizeof(si)) == sizeof(si))
		vm__request_exit(&run->vm, VM_EXIT_QUIT, "stopped by signal %u (%s)",
				 si.ssi_signo, strsignal(si.ssi_signo));
	if (i_in >= 0 && pfd[i_in].revents)
		run__read_stdin(run);
	control__handle(&run->ctl, pfd + n, nctl);
	if (run->ctl.quit)
		vm__request_exit(&run->vm, VM_EXIT_QUIT, "quit requested on the control socket");
	return !pfd[i_evt].revents && run->vm.exit_reason == VM_EXIT_NONE;
}

static int run__exit_status(struct vmm_run *run)
{
	struct vm *vm = &run->vm;

	switch (vm->exit_reason) {
	case VM_EXIT_ERROR:
		pr_err("%s", vm->exit_msg);
		return 1;
	default:
		pr_info("%s", vm->exit_msg);
		return 0;
	}
}

void run__free(struct vmm_run *run)
{
	run__tty_restore(run);
	control__close(&run->ctl);
	vm__destroy(&run->vm);
	if (run->signal_fd >= 0)
		close(run->signal_fd);
	if (run->log_fd >= 0)
		close(run->log_fd);
	free(run);
}

int run__loop(struct vmm_run *run)
{
	int status;

	while (run__poll_once(run))
		;
	vm__stop(&run->vm);
	run__tty_restore(run);
	status = run__exit_status(run);
	run__free(run);
	return status;
}

int vmm__run(const struct vmm_config *cfg, int argc, char **argv)
{
	struct boot_linux_image linux_image = { 0 };
	struct vmm_run *run;
	int ret;

	/* Files first: a wrong path is reported as such, with or without KVM. */
	if (cfg->guest == GUEST_LINUX && boot__read_linux(cfg, &linux_image))
		return 1;
	if (vfio__check_config(cfg)) {
		boot__free_linux(&linux_image);
		return 1;
	}
	run = run__alloc(cfg, argc, argv);
	if (!run) {
		boot__free_linux(&linux_image);
		return 1;
	}
	ret = run__setup_signals(run);
	if (!ret)
		ret = vm__create(&run->vm, cfg, NULL);
	if (!ret)
		ret = vm__load_guest(&run->vm, cfg->guest == GUEST_LINUX ? &linux_image : NULL);
	boot__free_linux(&linux_image);
	if (!ret && cfg->control_path) {
		ret = control__listen(&run->ctl, &run->vm, cfg->control_path,
				      cfg->control_group);
		run->ctl.run = run;
	}
	if (!ret)
		ret = run__setup_console(run);
	if (!ret)
		ret = vm__start(&run->vm);
	if (ret) {
		run__free(run);
		return 1;
	}
	return run__loop(run);
}
