// SPDX-License-Identifier: GPL-2.0
/*
 * Preflight: before the guest is paused, run "NEW --upgrade-preflight" in
 * a child.  It must exit 0 and answer
 *
 *	vmm-upgrade records=V modes=adopt,rebuild,cloexec
 *
 * with V the state record version it reads, equal to the one this image
 * writes.  A missing, non-executable, wrong-architecture, crashing or
 * foreign binary fails here, while the guest has not stopped for a moment.
 * (It can still vanish between preflight and exec: upgrade.c handles that.)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "upgrade.h"

extern char **environ;

int upgrade__preflight_answer(void)
{
	printf("%s records=%u modes=adopt,rebuild,cloexec\n", UPGRADE_PREFLIGHT_TAG,
	       STATE_VERSION);
	return fflush(stdout) ? 1 : 0;
}

/* Read the child's answer until EOF or the deadline. */
static int preflight__read(int fd, char *buf, size_t size)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	u64 deadline = now_ns() + UPGRADE_PREFLIGHT_MS * 1000000ULL;
	size_t len = 0;

	for (;;) {
		u64 now = now_ns();
		ssize_t n;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (deadline - now) / 1000000 + 1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!pfd.revents)
			continue;
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		if (len == size - 1)
			break;
	}
	buf[len] = '\0';
	return 0;
}

int preflight__run(const char *binary, char *err, size_t errlen)
{
	char *argv[] = { (char *)binary, "--upgrade-preflight", NULL };
	posix_spawn_file_actions_t fa;
	char out[256], want[64];
	int pipefd[2], status, ret;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "preflight: pipe: %s", strerror(errno));
		return -errno;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	ret = posix_spawn(&pid, binary, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (ret) {
		close(pipefd[0]);
		snprintf(err, errlen, "preflight: cannot run %s: %s", binary, strerror(ret));
		return -ret;
	}
	ret = preflight__read(pipefd[0], out, sizeof(out));
	close(pipefd[0]);
	if (ret == -ETIMEDOUT)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (ret) {
		snprintf(err, errlen, "preflight: %s --upgrade-preflight %s", binary,
			 ret == -ETIMEDOUT ? "did not answer in time" : strerror(-ret));
		return ret;
	}
	out[strcspn(out, "\n")] = '\0';
	if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "preflight: %s --upgrade-preflight died of signal %d (%s)",
			 binary, WTERMSIG(status), strsignal(WTERMSIG(status)));
		return -ECHILD;
	}
	if (WEXITSTATUS(status)) {
		/* 127: posix_spawn's child could not exec it (vfork-style). */
		snprintf(err, errlen, "preflight: %s --upgrade-preflight exited with status %d%s",
			 binary, WEXITSTATUS(status),
			 WEXITSTATUS(status) == 127 ? " (not executable here?)" : "");
		return -ECHILD;
	}
	snprintf(want, sizeof(want), "%s records=%u ", UPGRADE_PREFLIGHT_TAG, STATE_VERSION);
	if (strncmp(out, want, strlen(want))) {
		snprintf(err, errlen, "preflight: %s is not a VMM that reads this state "
			 "(it answered \"%.80s\", expected \"%s...\")", binary, out, want);
		return -EPROTO;
	}
	return 0;
}
