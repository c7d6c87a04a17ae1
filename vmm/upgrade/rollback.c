// SPDX-License-Identifier: GPL-2.0
/*
 * Rollback from a failing new image: until the guest resumes, any failure
 * re-execs the old binary (kept open across exec, so a package upgrade
 * replacing the file on disk does not matter) in incoming mode.  The old
 * version then recovers the VM from the same stash, or the same inherited
 * files, as if its own exec had never happened; its environment says why
 * (VMM_UPGRADE_ROLLBACK), and it tells the client.
 *
 * Failures covered: an error return (rollback__now()), exit() (an atexit
 * handler), and a crash: SIGSEGV, SIGBUS, SIGILL, SIGABRT and SIGFPE
 * handlers that call execveat(), which is async-signal-safe, with argv and
 * envp built in advance.  Not covered: SIGKILL, _exit().
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "upgrade.h"

extern char **environ;

#define ROLLBACK_REASON_MAX	512

static int rb_exe_fd = -1;
static char *rb_argv[3];
static char **rb_envp;
static char rb_reason[ROLLBACK_REASON_MAX];	/* "VMM_UPGRADE_ROLLBACK=..." */
static volatile sig_atomic_t rb_armed;

static const int rb_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGFPE };

static void rollback__exec(void)
{
	syscall(SYS_execveat, rb_exe_fd, "", rb_argv, rb_envp, AT_EMPTY_PATH);
}

/* Async-signal-safe: builds the reason by hand, then execveat(). */
static void rollback__signal(int sig)
{
	static const char head[] = UPGRADE_ENV_ROLLBACK "=it crashed with signal ";
	char *p = rb_reason;
	char digits[12];
	int n = 0;

	if (!rb_armed) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	rb_armed = 0;
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	do {
		digits[n++] = '0' + sig % 10;
		sig /= 10;
	} while (sig);
	while (n)
		*p++ = digits[--n];
	*p = '\0';
	rollback__exec();
	/* Nothing left to try. */
	signal(SIGABRT, SIG_DFL);
	_exit(127);
}

static void rollback__atexit(void)
{
	if (rb_armed)
		rollback__now("it exited");
}

void rollback__arm(int exe_fd, const char *argv0)
{
	struct sigaction sa = { .sa_handler = rollback__signal };
	size_t n = 0, j = 0, i;
	static bool atexit_done;

	while (environ[n])
		n++;
	rb_envp = calloc(n + 2, sizeof(*rb_envp));
	if (!rb_envp)
		return;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], UPGRADE_ENV_ROLLBACK "=", strlen(UPGRADE_ENV_ROLLBACK) + 1) &&
		    strncmp(environ[i], UPGRADE_ENV_FAULT "=", strlen(UPGRADE_ENV_FAULT) + 1))
			rb_envp[j++] = environ[i];
	snprintf(rb_reason, sizeof(rb_reason), UPGRADE_ENV_ROLLBACK "=it failed");
	rb_envp[j++] = rb_reason;
	rb_argv[0] = (char *)argv0;
	rb_argv[1] = UPGRADE_INCOMING_ARG;
	rb_argv[2] = NULL;
	rb_exe_fd = exe_fd;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	for (i = 0; i < ARRAY_SIZE(rb_signals); i++)
		sigaction(rb_signals[i], &sa, NULL);
	if (!atexit_done)
		atexit(rollback__atexit);
	atexit_done = true;
	rb_armed = 1;
}

void rollback__disarm(void)
{
	unsigned int i;

	if (!rb_envp)
		return;
	rb_armed = 0;
	for (i = 0; i < ARRAY_SIZE(rb_signals); i++)
		signal(rb_signals[i], SIG_DFL);
	free(rb_envp);
	rb_envp = NULL;
	rb_exe_fd = -1;
}

void rollback__now(const char *fmt, ...)
{
	size_t head = strlen(UPGRADE_ENV_ROLLBACK "=");
	va_list ap;

	if (!rb_armed) {
		pr_err("incoming: cannot roll back: no old binary to return to; the VM is lost");
		exit(1);
	}
	rb_armed = 0;
	memcpy(rb_reason, UPGRADE_ENV_ROLLBACK "=", head);
	va_start(ap, fmt);
	vsnprintf(rb_reason + head, sizeof(rb_reason) - head, fmt, ap);
	va_end(ap);
	pr_err("incoming: %s: rolling back to the previous binary", rb_reason + head);
	fflush(NULL);
	rollback__exec();
	pr_err("incoming: re-exec of the previous binary failed: %s; the VM is lost",
	       strerror(errno));
	_exit(1);
}
