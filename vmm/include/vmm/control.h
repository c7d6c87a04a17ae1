/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control socket: a UNIX stream socket carrying one JSON object per
 * line in each direction (Documentation/vmm.rst, "Control protocol").
 */
#ifndef VMM_CONTROL_H
#define VMM_CONTROL_H

#include <poll.h>

#include "vmm/util.h"

struct json_object;
struct vm;

#define CONTROL_LINE_MAX	4096
#define CONTROL_MAX_CLIENTS	8
/*
 * Whoever can connect can pause, quit and live-upgrade the VMM: the socket
 * is its owner's, or its owner's and one group's (--control-group).
 */
#define CONTROL_SOCKET_MODE		0600
#define CONTROL_SOCKET_GROUP_MODE	0660

struct control;
struct control_client;
struct control_request;

/*
 * A command, registered by the code that owns what it acts on
 * (CONTROL_COMMAND()).  run() returns the reply; @c is the client that
 * sent @line (NULL for a line run in process), @req its parsed form.
 */
struct control_command {
	const char *name;
	struct json_object *(*run)(struct control *ctl, struct control_client *c,
				   const struct control_request *req,
				   const char *line, size_t len);
};

#define CONTROL_COMMAND(cmd)						\
	static const struct control_command *const __control_cmd_##cmd	\
	__attribute__((used, section("vmm_control_commands"), aligned(sizeof(void *)))) = &(cmd)

/* Fields of the "status" reply, added by the code that owns them. */
struct control_status {
	void (*add)(struct control *ctl, struct json_object *reply);
};

#define CONTROL_STATUS(st)						\
	static const struct control_status *const __control_status_##st	\
	__attribute__((used, section("vmm_control_status"), aligned(sizeof(void *)))) = &(st)

struct control_request {
	const struct control_command *cmd;
	struct json_object *id;		/* optional, echoed in the reply */
	struct json_object *obj;	/* the whole request: command arguments */
};

/* control_proto.c: parsing and replies, no I/O. */
int control__parse_request(const char *line, size_t len,
			   struct control_request *req, char *err, size_t errlen);
void control__request_free(struct control_request *req);
/* The registered command @name, or NULL. */
const struct control_command *control__find_command(const char *name);
struct json_object *control__reply_ok(const struct control_request *req);
struct json_object *control__reply_error(const struct control_request *req,
					 const char *msg);

/* control.c: the server side, driven by the main loop's poll(). */
struct control_client {
	int fd;
	size_t len;
	bool overflow;		/* dropping the rest of an overlong line */
	u64 last_ns;		/* last byte in or reply out: who is idle */
	char buf[CONTROL_LINE_MAX];
};

struct vmm_run;

struct control {
	int listen_fd;
	char *path;		/* unlinked on close if we created it */
	struct vm *vm;
	struct vmm_run *run;	/* for live-upgrade; NULL: not offered */
	bool quit;		/* a client asked to quit */
	struct control_client clients[CONTROL_MAX_CLIENTS];
};

/*
 * Listen on a new socket at @path, mode CONTROL_SOCKET_MODE whatever the
 * umask, or CONTROL_SOCKET_GROUP_MODE and group @group (a name or a gid).
 */
int control__listen(struct control *ctl, struct vm *vm, const char *path,
		    const char *group);
/* Serve on an already listening socket (one a previous image created). */
void control__adopt(struct control *ctl, struct vm *vm, int listen_fd);
/*
 * A client connection kept across a live upgrade, into slot @slot, with
 * the input it had not yet consumed.
 */
int control__adopt_client(struct control *ctl, unsigned int slot, int fd,
			  const void *pending, size_t len);
/* Serve complete lines already buffered (after adopting clients). */
void control__serve_pending(struct control *ctl);
/* Send one reply line to client @slot; drops the client if that fails. */
void control__send(struct control *ctl, unsigned int slot, struct json_object *reply);
void control__close(struct control *ctl);
/* Fill @pfd with the fds to poll; returns how many. */
int control__pollfds(struct control *ctl, struct pollfd *pfd, int max);
void control__handle(struct control *ctl, const struct pollfd *pfd, int n);
/* The reply to one request line, as a string the caller frees. */
char *control__execute_line(struct control *ctl, const char *line, size_t len);

/* client.c: send one command, print the reply, 0 if it was "ok". */
int control__client(const char *path, const char *cmd);
/* A connection to the control socket at @path, or -1 (error printed). */
int control__connect(const char *path);

#endif
