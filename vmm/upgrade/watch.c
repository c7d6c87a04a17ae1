// SPDX-License-Identifier: GPL-2.0
/*
 * The loss watch: a lost guest is never silent.
 *
 * Between the pause and the moment an image resumes the guest, the VMM
 * process may end with nothing of ours left to say so: a new image that
 * exits, is killed (SIGKILL, the OOM killer), or is not a VMM at all
 * although it answered the preflight.  The guest is then gone, and the
 * process's exit status is whatever that image chose.
 *
 * So before the pause the old image starts a small process holding the
 * read end of a pipe; the write end is kept across exec with the other
 * files (role STATE_FD_LOSS_WATCH).  Whichever image resumes the guest (the
 * new one, a rolled-back one, or the old one after a failed exec) writes
 * one byte into it and closes it: the watch ends, silently.  End of file
 * without that byte means every holder of the write end is gone, i.e. the
 * VMM process ended with the guest paused: the watch says so on the VMM's
 * standard error (the journal) and, as the reply to the live-upgrade
 * request, to the client that asked for it.
 *
 * The watch is a grandchild (double fork), reparented to init or the
 * nearest subreaper at once: no image has to reap it.  It was forked from
 * a threaded process: it only reads, writes and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "upgrade.h"

#define WATCH_RESUMED	'R'

struct watch_text {
	char log[600];		/* for the VMM's stderr */
	char reply[1400];	/* the JSON reply line for the client */
	int client_fd;		/* the requester's connection, or -1 */
};

/* Every fd but 0, 1, 2, @a and @b (a < b, either may be -1). */
static void watch__close_others(int a, int b)
{
	int keep[2] = { MIN(a, b), MAX(a, b) }, from = 3, i;

	for (i = 0; i < 2; i++) {
		if (keep[i] < from)
			continue;
		if (keep[i] > from)
			close_range(from, keep[i] - 1, 0);
		from = keep[i] + 1;
	}
	close_range(from, ~0U, 0);
}

static void __attribute__((noreturn)) watch__main(int read_fd, const struct watch_text *t)
{
	ssize_t n;
	char c;

	watch__close_others(read_fd, t->client_fd);
	do
		n = read(read_fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1 || c != WATCH_RESUMED) {
		if (write(STDERR_FILENO, t->log, strlen(t->log)) < 0)
			_exit(1);
		if (t->client_fd >= 0 &&
		    write(t->client_fd, t->reply, strlen(t->reply)) < 0)
			_exit(1);
	}
	_exit(0);
}

static void watch__texts(struct upgrade_out *up, const struct control_request *req,
			 unsigned int slot, struct watch_text *t)
{
	struct json_object *reply;
	char msg[400];

	snprintf(msg, sizeof(msg),
		 "live upgrade %016llx: the VMM process ended before an image resumed the "
		 "guest (the new image %.200s exited or was killed): the VM is lost",
		 (unsigned long long)up->info.id, up->binary);
	log__error_line(t->log, sizeof(t->log), msg);
	reply = control__reply_error(req, msg);
	json_object_object_add(reply, "stage", json_object_new_string("new-image"));
	json_object_object_add(reply, "mode", json_object_new_string(upgrade__mode_name(up->mode)));
	json_object_object_add(reply, "rolled_back", json_object_new_boolean(false));
	json_object_object_add(reply, "vm_lost", json_object_new_boolean(true));
	snprintf(t->reply, sizeof(t->reply), "%s\n",
		 json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
	json_object_put(reply);
	t->client_fd = slot < CONTROL_MAX_CLIENTS ? up->run->ctl.clients[slot].fd : -1;
}

int watch__start(struct upgrade_out *up, const struct control_request *req, unsigned int slot)
{
	struct watch_text t;
	int pipefd[2], status;
	pid_t pid;

	watch__texts(up, req, slot, &t);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (pid == 0) {
		close(pipefd[1]);
		if (fork() == 0)
			watch__main(pipefd[0], &t);
		_exit(0);
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	up->watch_fd = pipefd[1];
	return 0;
}

void watch__resumed(int fd)
{
	char c = WATCH_RESUMED;

	if (fd < 0)
		return;
	if (write(fd, &c, 1) != 1)
		pr_warn("live upgrade: cannot end the loss watch: %s", strerror(errno));
	close(fd);
}
