// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket server.  It runs on the main thread, driven by the
 * main loop's poll(): accept clients, split their input into lines, execute
 * each request and write one reply line.  A bad request gets an error
 * reply; it never stops the guest.
 *
 * There are CONTROL_MAX_CLIENTS connections at most.  A new one always
 * gets in: when every slot is taken, the one idle the longest goes
 * (control__evict()), so that idle or stuck clients can never lock out a
 * "quit" or a live upgrade.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "vmm/control.h"
#include "vmm/version.h"
#include "vmm/vm.h"

/*
 * @name: a number, or a name from /etc/group.  Read directly, not through
 * getgrnam(): the vmm binary is static, and NSS modules cannot be loaded
 * into it (a group from elsewhere, LDAP say, is given by number).
 */
static int control__group_id(const char *name, gid_t *gid)
{
	struct group *gr;
	unsigned long v;
	char *end;
	FILE *f;
	int ret = -ENOENT;

	errno = 0;
	v = strtoul(name, &end, 10);
	if (*name && !*end && !errno && v == (gid_t)v) {
		*gid = v;
		return 0;
	}
	f = fopen("/etc/group", "re");
	if (!f)
		return -errno;
	while ((gr = fgetgrent(f))) {
		if (!strcmp(gr->gr_name, name)) {
			*gid = gr->gr_gid;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/*
 * The socket's final mode: 0600, or 0660 owned by @group.  bind() already
 * created it no wider than 0600 (control__bind()); this makes the mode
 * exact whatever the umask took away, and hands it to the group.
 */
static int control__set_access(const char *path, const char *group)
{
	mode_t mode = CONTROL_SOCKET_MODE;
	gid_t gid = 0;
	int ret;

	if (group) {
		ret = control__group_id(group, &gid);
		if (ret) {
			pr_err("--control-group: no group \"%s\" in /etc/group%s%s", group,
			       ret == -ENOENT ? "" : ": ", ret == -ENOENT ? "" : strerror(-ret));
			return ret;
		}
		if (chown(path, -1, gid) < 0) {
			ret = -errno;
			pr_err("cannot give the control socket %s to group %s: %s%s", path,
			       group, strerror(errno),
			       errno == EPERM ? " (the VMM's user must be a member)" : "");
			return ret;
		}
		mode = CONTROL_SOCKET_GROUP_MODE;
	}
	if (chmod(path, mode) < 0) {
		ret = -errno;
		pr_err("cannot set the mode of the control socket %s: %s", path,
		       strerror(errno));
		return ret;
	}
	return 0;
}

static int control__bind(const char *path, const char *group)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		pr_err("control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/*
	 * bind() creates the file with this inode's mode minus the umask: set
	 * it first, so that the socket is never, not even until the chmod()
	 * below, connectable by anyone else.  (Not umask(): that is the whole
	 * process's, and vCPU threads may be running.)
	 */
	if (fchmod(fd, CONTROL_SOCKET_MODE) < 0)
		goto err;
	ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	if (ret < 0 && errno == EADDRINUSE) {
		/*
		 * A stale socket nobody listens on may be replaced; not one
		 * we may not connect to (another user's 0600 socket).
		 */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int err;

		ret = connect(probe, (struct sockaddr *)&addr, sizeof(addr));
		err = errno;
		close(probe);
		if (ret == 0 || err != ECONNREFUSED) {
			pr_err("control socket %s is in use by another VMM%s%s", path,
			       ret ? ": " : "", ret ? strerror(err) : "");
			close(fd);
			return -EADDRINUSE;
		}
		unlink(path);
		ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	}
	if (ret < 0)
		goto err;
	ret = control__set_access(path, group);
	if (ret) {
		unlink(path);
		close(fd);
		return ret;
	}
	if (listen(fd, CONTROL_MAX_CLIENTS) < 0)
		goto err;
	return fd;
err:
	ret = -errno;
	pr_err("cannot listen on control socket %s: %s", path, strerror(errno));
	close(fd);
	return ret;
}

static void control__init(struct control *ctl, struct vm *vm)
{
	unsigned int i;

	memset(ctl, 0, sizeof(*ctl));
	ctl->vm = vm;
	ctl->listen_fd = -1;
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		ctl->clients[i].fd = -1;
}

int control__listen(struct control *ctl, struct vm *vm, const char *path,
		    const char *group)
{
	int fd;

	control__init(ctl, vm);
	fd = control__bind(path, group);
	if (fd < 0)
		return fd;
	ctl->listen_fd = fd;
	ctl->path = strdup(path);
	return ctl->path ? 0 : -ENOMEM;
}

void control__adopt(struct control *ctl, struct vm *vm, int listen_fd)
{
	control__init(ctl, vm);
	ctl->listen_fd = listen_fd;
}

static void control__drop_client(struct control_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
	c->overflow = false;
}

static void control__take_slot(struct control_client *c, int fd)
{
	c->fd = fd;
	c->len = 0;
	c->overflow = false;
	c->last_ns = now_ns();
}

void control__close(struct control *ctl)
{
	unsigned int i;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		control__drop_client(&ctl->clients[i]);
	if (ctl->listen_fd >= 0)
		close(ctl->listen_fd);
	ctl->listen_fd = -1;
	if (ctl->path)
		unlink(ctl->path);
	free(ctl->path);
	ctl->path = NULL;
}

/* The linker's table of every CONTROL_STATUS() (control.h). */
extern const struct control_status *const __start_vmm_control_status[];
extern const struct control_status *const __stop_vmm_control_status[];

static struct json_object *control__status(struct control *ctl, struct control_client *c,
					   const struct control_request *req,
					   const char *line, size_t len)
{
	const struct control_status *const *p;
	struct json_object *reply = control__reply_ok(req);
	struct vm *vm = ctl->vm;

	(void)c, (void)line, (void)len;
	json_object_object_add(reply, "state", json_object_new_string(
		vm__is_paused(vm) ? "paused" : "running"));
	json_object_object_add(reply, "guest", json_object_new_string(
		vm->cfg->guest == GUEST_BUILTIN ? "builtin" : "linux"));
	json_object_object_add(reply, "vcpus", json_object_new_int(vm->nr_vcpus));
	json_object_object_add(reply, "mem_bytes", json_object_new_uint64(vm->mem.size));
	json_object_object_add(reply, "hugepages", json_object_new_boolean(vm->mem.hugepages));
	json_object_object_add(reply, "uptime_ms",
			       json_object_new_uint64((now_ns() - vm->start_ns) / 1000000));
	json_object_object_add(reply, "pid", json_object_new_int(getpid()));
	json_object_object_add(reply, "version", json_object_new_string(vmm_version));
	for (p = __start_vmm_control_status; p < __stop_vmm_control_status; p++)
		(*p)->add(ctl, reply);
	return reply;
}

static const struct control_command control_status_cmd = {
	.name = "status",
	.run = control__status,
};
CONTROL_COMMAND(control_status_cmd);

static struct json_object *control__pause(struct control *ctl, struct control_client *c,
					  const struct control_request *req,
					  const char *line, size_t len)
{
	struct json_object *reply = control__reply_ok(req);
	struct vm *vm = ctl->vm;

	(void)c, (void)line, (void)len;
	if (!vm__is_paused(vm)) {
		vm__pause(vm);
		json_object_object_add(reply, "pause_us",
				       json_object_new_uint64(vm->last_pause_ns / 1000));
	}
	json_object_object_add(reply, "state", json_object_new_string("paused"));
	return reply;
}

static const struct control_command control_pause_cmd = {
	.name = "pause",
	.run = control__pause,
};
CONTROL_COMMAND(control_pause_cmd);

static struct json_object *control__resume(struct control *ctl, struct control_client *c,
					   const struct control_request *req,
					   const char *line, size_t len)
{
	struct json_object *reply = control__reply_ok(req);
	u64 t0 = now_ns();

	(void)c, (void)line, (void)len;
	vm__resume(ctl->vm);
	json_object_object_add(reply, "resume_us",
			       json_object_new_uint64((now_ns() - t0) / 1000));
	json_object_object_add(reply, "state", json_object_new_string("running"));
	return reply;
}

static const struct control_command control_resume_cmd = {
	.name = "resume",
	.run = control__resume,
};
CONTROL_COMMAND(control_resume_cmd);

static struct json_object *control__quit(struct control *ctl, struct control_client *c,
					 const struct control_request *req,
					 const char *line, size_t len)
{
	(void)c, (void)line, (void)len;
	ctl->quit = true;
	return control__reply_ok(req);
}

static const struct control_command control_quit_cmd = {
	.name = "quit",
	.run = control__quit,
};
CONTROL_COMMAND(control_quit_cmd);

static char *control__execute_client(struct control *ctl, struct control_client *c,
				     const char *line, size_t len)
{
	struct control_request req;
	struct json_object *reply;
	char err[256];
	char *out;

	if (control__parse_request(line, len, &req, err, sizeof(err)) == 0)
		reply = req.cmd->run(ctl, c, &req, line, len);
	else
		reply = control__reply_error(&req, err);
	control__request_free(&req);
	out = strdup(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
	json_object_put(reply);
	return out;
}

char *control__execute_line(struct control *ctl, const char *line, size_t len)
{
	return control__execute_client(ctl, NULL, line, len);
}

static void control__reply_line(struct control_client *c, char *reply)
{
	/* Replies are small; a client that does not read them is dropped. */
	if (!reply || send(c->fd, reply, strlen(reply), MSG_NOSIGNAL) < 0 ||
	    send(c->fd, "\n", 1, MSG_NOSIGNAL) < 0)
		control__drop_client(c);
	else
		c->last_ns = now_ns();
	free(reply);
}

static void control__serve_lines(struct control *ctl, struct control_client *c)
{
	char line[CONTROL_LINE_MAX];
	char *nl;

	while (c->fd >= 0 && (nl = memchr(c->buf, '\n', c->len))) {
		size_t line_len = nl - c->buf;
		bool overflow = c->overflow;

		/*
		 * Consume the line before executing it: a live upgrade hands
		 * what follows it to the new image.
		 */
		memcpy(line, c->buf, line_len);
		c->len -= line_len + 1;
		memmove(c->buf, nl + 1, c->len);
		c->overflow = false;
		if (overflow)
			control__reply_line(c, strdup("{\"ok\":false,\"error\":\"request line too long\"}"));
		else if (line_len)
			control__reply_line(c, control__execute_client(ctl, c, line, line_len));
	}
	/* A full buffer without a newline: drop it, answer at the newline. */
	if (c->fd >= 0 && c->len == sizeof(c->buf)) {
		c->overflow = true;
		c->len = 0;
	}
}

void control__serve_pending(struct control *ctl)
{
	unsigned int i;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (ctl->clients[i].fd >= 0)
			control__serve_lines(ctl, &ctl->clients[i]);
}

int control__adopt_client(struct control *ctl, unsigned int slot, int fd,
			  const void *pending, size_t len)
{
	struct control_client *c;

	if (slot >= CONTROL_MAX_CLIENTS || len > sizeof(c->buf) ||
	    ctl->clients[slot].fd >= 0)
		return -EINVAL;
	c = &ctl->clients[slot];
	control__take_slot(c, fd);
	c->len = len;
	if (len)
		memcpy(c->buf, pending, len);
	return 0;
}

void control__send(struct control *ctl, unsigned int slot, struct json_object *reply)
{
	if (slot < CONTROL_MAX_CLIENTS && ctl->clients[slot].fd >= 0)
		control__reply_line(&ctl->clients[slot], strdup(json_object_to_json_string_ext(
			reply, JSON_C_TO_STRING_PLAIN)));
}

static void control__read_client(struct control *ctl, struct control_client *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		control__drop_client(c);
		return;
	}
	c->len += n;
	c->last_ns = now_ns();
	control__serve_lines(ctl, c);
}

/*
 * The client to make room for a new one: the one idle the longest, where
 * idle is the time since it last sent a byte or got a reply.  One in the
 * middle of a request line goes only if all are, so a slow writer is not
 * cut off by a burst of connections; but it does go then, so eight
 * clients that each send half a line cannot hold every slot either.
 */
static struct control_client *control__idlest(struct control *ctl)
{
	struct control_client *best = NULL, *c;
	unsigned int i;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		c = &ctl->clients[i];
		if (c->fd < 0)
			return c;
		if (!best || (!c->len && best->len) ||
		    (!c->len == !best->len && c->last_ns < best->last_ns))
			best = c;
	}
	return best;
}

static void control__evict(struct control_client *c)
{
	static const char msg[] =
		"{\"ok\":false,\"error\":\"connection closed: every control slot was "
		"taken and this one was idle the longest\"}\n";

	/* Said on the way out so a client that looks knows why. */
	send(c->fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	pr_info("control: closed an idle client to make room for a new one");
	control__drop_client(c);
}

static void control__accept(struct control *ctl)
{
	struct control_client *c;
	int fd;

	fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	c = control__idlest(ctl);
	if (c->fd >= 0)
		control__evict(c);
	control__take_slot(c, fd);
}

int control__pollfds(struct control *ctl, struct pollfd *pfd, int max)
{
	unsigned int i;
	int n = 0;

	if (ctl->listen_fd < 0 || max < 1)
		return 0;
	pfd[n++] = (struct pollfd){ .fd = ctl->listen_fd, .events = POLLIN };
	for (i = 0; i < CONTROL_MAX_CLIENTS && n < max; i++) {
		if (ctl->clients[i].fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = ctl->clients[i].fd,
						    .events = POLLIN };
	}
	return n;
}

void control__handle(struct control *ctl, const struct pollfd *pfd, int n)
{
	unsigned int j;
	int i;

	for (i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == ctl->listen_fd) {
			control__accept(ctl);
			continue;
		}
		for (j = 0; j < CONTROL_MAX_CLIENTS; j++) {
			if (ctl->clients[j].fd == pfd[i].fd) {
				control__read_client(ctl, &ctl->clients[j]);
				break;
			}
		}
	}
}
