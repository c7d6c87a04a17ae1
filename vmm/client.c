// SPDX-License-Identifier: GPL-2.0
/*
 * Client mode: "vmm --control SOCK --cmd status" sends one request, prints
 * the reply line and exits 0 if the reply says "ok": true.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "vmm/control.h"

#define CLIENT_TIMEOUT_MS	30000

int control__connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		pr_err("control socket path too long: %s", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		pr_err("cannot connect to control socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A bare word is a command name; anything starting with '{' goes as is. */
static char *client__request(const char *cmd)
{
	struct json_object *req;
	char *line;

	if (cmd[0] == '{')
		return strdup(cmd);
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	line = strdup(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	json_object_put(req);
	return line;
}

static int client__read_line(int fd, char *buf, size_t size)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0;

	while (len < size - 1) {
		ssize_t n;

		if (poll(&pfd, 1, CLIENT_TIMEOUT_MS) <= 0) {
			pr_err("no reply from the VMM");
			return -1;
		}
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pr_err("the VMM closed the control connection");
			return -1;
		}
		len += n;
		buf[len] = '\0';
		if (memchr(buf, '\n', len)) {
			*strchr(buf, '\n') = '\0';
			return 0;
		}
	}
	pr_err("reply too long");
	return -1;
}

int control__client(const char *path, const char *cmd)
{
	struct json_object *reply, *ok;
	char *buf = NULL, *req = NULL;
	int fd, ret = 1;

	fd = control__connect(path);
	if (fd < 0)
		return 1;
	req = client__request(cmd);
	buf = malloc(CONTROL_LINE_MAX * 4);
	if (!req || !buf)
		goto out;
	if (write_full(fd, req, strlen(req)) || write_full(fd, "\n", 1)) {
		pr_err("cannot send to control socket %s", path);
		goto out;
	}
	if (client__read_line(fd, buf, CONTROL_LINE_MAX * 4))
		goto out;
	printf("%s\n", buf);
	reply = json_tokener_parse(buf);
	if (reply && json_object_object_get_ex(reply, "ok", &ok) &&
	    json_object_get_boolean(ok))
		ret = 0;
	json_object_put(reply);
out:
	free(req);
	free(buf);
	close(fd);
	return ret;
}
