// SPDX-License-Identifier: GPL-2.0
/*
 * "vmm --kernel ..." / "vmm --guest builtin ...": create the VM, start its
 * vCPU threads, and run the main loop on this thread until the guest or a
 * client ends it.
 *
 * Threads: the main thread owns the control socket, stdin and signals (one
 * poll() loop); each vCPU has its own thread (vcpu.c).  vCPU threads never
 * touch the control socket: they report the end of the VM through
 * vm->event_fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/control.h"
#include "vmm/devices.h"
#include "vmm/run.h"
#include "vmm/vm.h"

#define TERM_ESCAPE	0x01	/* Ctrl-A, then 'x' quits, as in kvmtool/QEMU */

struct run_ctx {
	struct vm vm;
	struct control ctl;
	int signal_fd;
	int log_fd;
	bool stdin_open;
	bool tty_raw;
	bool escape;
	struct termios saved_tty;
};

static int run__setup_signals(struct run_ctx *rc)
{
	sigset_t set;

	/* vCPU threads inherit this mask: signals are the main loop's. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return rc->signal_fd < 0 ? -errno : 0;
}

static void run__tty_raw(struct run_ctx *rc)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &rc->saved_tty))
		return;
	raw = rc->saved_tty;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST | ONLCR;	/* keep host-side newlines sane */
	if (!tcsetattr(STDIN_FILENO, TCSANOW, &raw))
		rc->tty_raw = true;
}

static void run__tty_restore(struct run_ctx *rc)
{
	if (rc->tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &rc->saved_tty);
	rc->tty_raw = false;
}

static int run__setup_console(struct run_ctx *rc, const struct vmm_config *cfg)
{
	if (cfg->serial_log) {
		rc->log_fd = open(cfg->serial_log,
				  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (rc->log_fd < 0) {
			pr_err("cannot open serial log %s: %s", cfg->serial_log,
			       strerror(errno));
			return -errno;
		}
	}
	serial8250__set_output(&rc->vm, STDOUT_FILENO, rc->log_fd);
	/* The built-in guest has no console input. */
	rc->stdin_open = cfg->serial_stdin && cfg->guest == GUEST_LINUX;
	if (rc->stdin_open)
		run__tty_raw(rc);
	return 0;
}

static void run__read_stdin(struct run_ctx *rc)
{
	u8 buf[64];
	size_t room = serial8250__rx_room(&rc->vm);
	ssize_t n, i;

	if (!room)
		return;
	n = read(STDIN_FILENO, buf, MIN(room, sizeof(buf)));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		rc->stdin_open = false;
		return;
	}
	if (rc->tty_raw) {
		for (i = 0; i < n; i++) {
			if (rc->escape && buf[i] == 'x') {
				vm__request_exit(&rc->vm, VM_EXIT_QUIT, "quit from the console");
				return;
			}
			rc->escape = buf[i] == TERM_ESCAPE;
		}
	}
	serial8250__receive(&rc->vm, buf, n);
}

/* Returns false when the loop must end. */
static bool run__poll_once(struct run_ctx *rc)
{
	struct pollfd pfd[3 + 1 + CONTROL_MAX_CLIENTS];
	struct signalfd_siginfo si;
	int n = 0, nctl, i_sig, i_evt, i_in = -1;

	i_sig = n;
	pfd[n++] = (struct pollfd){ .fd = rc->signal_fd, .events = POLLIN };
	i_evt = n;
	pfd[n++] = (struct pollfd){ .fd = rc->vm.event_fd, .events = POLLIN };
	/* Stop reading input while the UART's FIFO is full (back-pressure). */
	if (rc->stdin_open && serial8250__rx_room(&rc->vm)) {
		i_in = n;
		pfd[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	}
	nctl = control__pollfds(&rc->ctl, pfd + n, ARRAY_SIZE(pfd) - n);

	if (poll(pfd, n + nctl, i_in < 0 && rc->stdin_open ? 10 : -1) < 0)
		return errno == EINTR;

	if (pfd[i_sig].revents && read(rc->signal_fd, &si, sizeof(si)) == sizeof(si))
		vm__request_exit(&rc->vm, VM_EXIT_QUIT, "stopped by signal %u (%s)",
				 si.ssi_signo, strsignal(si.ssi_signo));
	if (i_in >= 0 && pfd[i_in].revents)
		run__read_stdin(rc);
	control__handle(&rc->ctl, pfd + n, nctl);
	if (rc->ctl.quit)
		vm__request_exit(&rc->vm, VM_EXIT_QUIT, "quit requested on the control socket");
	return !pfd[i_evt].revents && rc->vm.exit_reason == VM_EXIT_NONE;
}

static int run__exit_status(struct run_ctx *rc)
{
	struct vm *vm = &rc->vm;

	switch (vm->exit_reason) {
	case VM_EXIT_ERROR:
		pr_err("%s", vm->exit_msg);
		return 1;
	default:
		pr_info("%s", vm->exit_msg);
		return 0;
	}
}

int vmm__run(const struct vmm_config *cfg)
{
	struct run_ctx *rc;
	int ret, status = 1;

	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return 1;
	rc->signal_fd = rc->log_fd = -1;
	control__adopt(&rc->ctl, &rc->vm, -1);

	if (run__setup_signals(rc))
		goto out;
	ret = vm__create(&rc->vm, cfg, NULL);
	if (!ret)
		ret = vm__load_guest(&rc->vm);
	if (!ret && cfg->control_path)
		ret = control__listen(&rc->ctl, &rc->vm, cfg->control_path);
	if (!ret)
		ret = run__setup_console(rc, cfg);
	if (!ret)
		ret = vm__start(&rc->vm);
	if (ret)
		goto out;

	while (run__poll_once(rc))
		;
	vm__stop(&rc->vm);
	run__tty_restore(rc);
	status = run__exit_status(rc);
out:
	run__tty_restore(rc);
	control__close(&rc->ctl);
	vm__destroy(&rc->vm);
	if (rc->signal_fd >= 0)
		close(rc->signal_fd);
	if (rc->log_fd >= 0)
		close(rc->log_fd);
	free(rc);
	return status;
}
