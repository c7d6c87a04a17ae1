// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket server without a VM (Documentation/security.rst,
 * "The control socket"):
 *
 *   the socket is mode 0600 under umask 000; with a group it is 0660 and
 *   that group's; a group that does not exist fails and leaves no file;
 *   a socket in use is not taken over, a stale one is
 *   eight idle clients hold every slot: a ninth connection still gets in
 *   and is served ("quit"), and the client idle the longest is the one
 *   closed, told why; a client in the middle of a line is passed over
 *
 * The server is driven here as the main loop drives it: poll() on what
 * control__pollfds() gives, then control__handle().  Only requests that
 * need no VM are sent (quit, and unknown commands).
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "testlib.h"
#include "vmm/control.h"

static struct control ctl;
static char sock[300];

/* One turn of the main loop's control part; bounded, not timed. */
static void pump(void)
{
	struct pollfd pfd[CONTROL_MAX_CLIENTS + 1];
	int n = control__pollfds(&ctl, pfd, ARRAY_SIZE(pfd));

	TEST_ASSERT(poll(pfd, n, 10000) > 0, "the server has nothing to do");
	control__handle(&ctl, pfd, n);
}

static unsigned int nr_clients(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		n += ctl.clients[i].fd >= 0;
	return n;
}

/* Connect, and run the server until it took the connection. */
static int connect_client(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(addr.sun_path, sock);
	TEST_ASSERT(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0,
		    "connect %s: %s", sock, strerror(errno));
	pump();
	return fd;
}

/* Up to the first newline of what the server sent on @fd; "" at EOF. */
static void read_line(int fd, char *buf, size_t size)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	ssize_t n;

	while (len < size - 1) {
		TEST_ASSERT(poll(&pfd, 1, 10000) == 1, "nothing from the server");
		n = read(fd, buf + len, 1);
		TEST_ASSERT(n >= 0, "read: %s", strerror(errno));
		if (n == 0 || buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = '\0';
}

/* Send @line and run the server until it answered; the answer in @reply. */
static void request(int fd, const char *line, char *reply, size_t size)
{
	TEST_ASSERT(write(fd, line, strlen(line)) == (ssize_t)strlen(line),
		    "write: %s", strerror(errno));
	pump();
	read_line(fd, reply, size);
}

static bool at_eof(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static mode_t socket_mode(struct stat *st)
{
	TEST_ASSERT(stat(sock, st) == 0, "stat %s: %s", sock, strerror(errno));
	TEST_ASSERT(S_ISSOCK(st->st_mode), "%s is not a socket", sock);
	return st->st_mode & 07777;
}

static void test_mode(void)
{
	struct stat st;
	mode_t old = umask(0);

	TEST_ASSERT(control__listen(&ctl, NULL, sock, NULL) == 0, "listen");
	umask(old);
	TEST_ASSERT(socket_mode(&st) == 0600, "umask 000: mode %o, expected 600",
		    socket_mode(&st));
	control__close(&ctl);
	TEST_ASSERT(access(sock, F_OK) < 0, "the socket outlived control__close()");
	printf("ok: umask 000: the socket is 0600\n");
}

/* A live socket is never replaced; a stale one is. */
static void test_in_use(void)
{
	struct control other;
	int fd;

	TEST_ASSERT(control__listen(&ctl, NULL, sock, NULL) == 0, "listen");
	TEST_ASSERT(control__listen(&other, NULL, sock, NULL) == -EADDRINUSE,
		    "a second server took a socket in use");
	control__close(&other);
	TEST_ASSERT(access(sock, F_OK) == 0, "the second server removed the first one's socket");
	/* Leave the file behind without a listener: stale. */
	fd = ctl.listen_fd;
	ctl.listen_fd = -1;
	free(ctl.path);
	ctl.path = NULL;
	close(fd);
	TEST_ASSERT(control__listen(&ctl, NULL, sock, NULL) == 0, "a stale socket was not replaced");
	control__close(&ctl);
	printf("ok: a socket in use is kept, a stale one replaced\n");
}

/* A group to hand the socket to: another than ours where we may. */
static gid_t pick_group(void)
{
	gid_t groups[64];
	int i, n;

	if (geteuid() == 0)
		return getegid() == 4242 ? 4243 : 4242;
	n = getgroups(ARRAY_SIZE(groups), groups);
	for (i = 0; i < n; i++)
		if (groups[i] != getegid())
			return groups[i];
	return getegid();
}

static void test_group(void)
{
	gid_t gid = pick_group();
	struct group *gr;
	struct stat st;
	char num[32];
	mode_t old;

	snprintf(num, sizeof(num), "%u", (unsigned int)gid);
	old = umask(0);
	TEST_ASSERT(control__listen(&ctl, NULL, sock, num) == 0, "listen, group %s", num);
	umask(old);
	TEST_ASSERT(socket_mode(&st) == 0660 && st.st_gid == gid,
		    "group %u: mode %o group %u, expected 660 and %u", (unsigned int)gid,
		    socket_mode(&st), (unsigned int)st.st_gid, (unsigned int)gid);
	control__close(&ctl);
	printf("ok: --control-group %s: the socket is 0660, group %s\n", num, num);

	/* By name, from /etc/group: our own group is always allowed. */
	gr = getgrgid(getegid());
	if (gr) {
		TEST_ASSERT(control__listen(&ctl, NULL, sock, gr->gr_name) == 0,
			    "listen, group %s", gr->gr_name);
		TEST_ASSERT(socket_mode(&st) == 0660 && st.st_gid == getegid(),
			    "group %s: mode %o group %u", gr->gr_name, socket_mode(&st),
			    (unsigned int)st.st_gid);
		control__close(&ctl);
		printf("ok: --control-group %s: by name\n", gr->gr_name);
	}

	TEST_ASSERT(control__listen(&ctl, NULL, sock, "no-such-group.vmm-test") < 0,
		    "an unknown group was accepted");
	TEST_ASSERT(access(sock, F_OK) < 0, "a socket was left behind for an unknown group");
	control__close(&ctl);
	printf("ok: an unknown group fails and leaves no socket\n");
}

static void test_slots(void)
{
	int fd[CONTROL_MAX_CLIENTS + 2];
	char line[64], reply[512];
	unsigned int i;

	TEST_ASSERT(control__listen(&ctl, NULL, sock, NULL) == 0, "listen");
	/* Eight clients, each served once, in slot order, then idle. */
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		fd[i] = connect_client();
		TEST_ASSERT(nr_clients() == i + 1, "client %u: %u clients", i, nr_clients());
		snprintf(line, sizeof(line), "{\"cmd\":\"hello\",\"id\":%u}\n", i);
		request(fd[i], line, reply, sizeof(reply));
		TEST_ASSERT(strstr(reply, "unknown command"), "client %u: %s", i, reply);
	}

	/* A ninth is served: the first client, idle the longest, makes room. */
	fd[8] = connect_client();
	TEST_ASSERT(nr_clients() == CONTROL_MAX_CLIENTS, "%u clients", nr_clients());
	request(fd[8], "{\"cmd\":\"quit\"}\n", reply, sizeof(reply));
	TEST_ASSERT(!strcmp(reply, "{\"ok\":true}") && ctl.quit,
		    "quit with every slot taken: %s", reply);
	read_line(fd[0], reply, sizeof(reply));
	TEST_ASSERT(strstr(reply, "idle the longest") && at_eof(fd[0]),
		    "the idlest client was not closed with a reason: \"%s\"", reply);
	for (i = 1; i < CONTROL_MAX_CLIENTS; i++)
		TEST_ASSERT(!at_eof(fd[i]), "client %u was closed too", i);
	printf("ok: 8 idle clients, a ninth is served; the idlest one is closed: %s\n", reply);

	/*
	 * Client 1, now the idlest, is in the middle of a line: a tenth
	 * connection passes it over for client 2.
	 */
	TEST_ASSERT(write(fd[1], "{\"cmd\":", 7) == 7, "write");
	pump();
	for (i = 2; i <= CONTROL_MAX_CLIENTS; i++) {
		snprintf(line, sizeof(line), "{\"cmd\":\"hello\",\"id\":%u}\n", i);
		request(fd[i], line, reply, sizeof(reply));
	}
	fd[9] = connect_client();
	read_line(fd[2], reply, sizeof(reply));
	TEST_ASSERT(strstr(reply, "idle the longest") && at_eof(fd[2]),
		    "client 2 was not the one closed: \"%s\"", reply);
	request(fd[1], "\"nope\"}\n", reply, sizeof(reply));
	TEST_ASSERT(strstr(reply, "unknown command \\\"nope\\\""),
		    "client 1 lost its half line: %s", reply);
	printf("ok: a client in the middle of a line is passed over\n");

	for (i = 0; i < ARRAY_SIZE(fd); i++)
		close(fd[i]);
	control__close(&ctl);
}

int main(void)
{
	snprintf(sock, sizeof(sock), "%s/control.sock", test_tmpdir());
	test_mode();
	test_in_use();
	test_group();
	test_slots();
	test_cleanup();
	return 0;
}
