// SPDX-License-Identifier: GPL-2.0
/*
 * Control protocol parsing: good requests give the command, bad ones a
 * one-line reason; the "id" is echoed.
 */
#include <string.h>

#include "testlib.h"
#include "vmm/control.h"

static void expect_cmd(const char *line, const char *want)
{
	struct control_request req;
	char err[256] = "";
	int ret = control__parse_request(line, strlen(line), &req, err, sizeof(err));

	TEST_ASSERT(ret == 0 && req.cmd && !strcmp(req.cmd->name, want),
		    "%s: ret %d cmd %s (%s)", line, ret, req.cmd ? req.cmd->name : "none", err);
	control__request_free(&req);
}

static void expect_error_len(const char *line, size_t len, const char *want)
{
	struct control_request req;
	char err[256] = "";
	int ret = control__parse_request(line, len, &req, err, sizeof(err));

	TEST_ASSERT(ret != 0, "%.40s: accepted", line);
	TEST_ASSERT(strstr(err, want), "%.40s: expected \"%s\" in \"%s\"", line, want, err);
	TEST_ASSERT(!strchr(err, '\n'), "error is not one line: %s", err);
	control__request_free(&req);
	printf("ok: %.40s -> %s\n", line, err);
}

static void expect_error(const char *line, const char *want)
{
	expect_error_len(line, strlen(line), want);
}

/* Lines the parser must refuse, and what the reason must say. */
static const struct {
	const char *line, *want;
} bad[] = {
	{ "", "malformed JSON" },
	{ "{", "malformed JSON" },
	{ "{\"cmd\":\"status\"", "malformed JSON" },
	{ "{\"cmd\":\"status\"}}", "trailing" },
	{ "{cmd:status}", "malformed JSON" },
	{ "\"status\"", "not a JSON object" },
	{ "[\"status\"]", "not a JSON object" },
	{ "{}", "no \"cmd\"" },
	{ "{\"cmd\":7}", "no \"cmd\"" },
	{ "{\"cmd\":null}", "no \"cmd\"" },
	{ "{\"cmd\":\"reboot\"}", "unknown command \"reboot\"" },
	{ "{\"cmd\":\"STATUS\"}", "unknown command" },
	{ "{\"cmd\":\"st\\u0000atus\"}", "unknown command" },
	{ "{\"cmd\":\"status\\u0000\"}", "unknown command" },
};

/* "last-upgrade" before any upgrade: a reply, with no report in it. */
static void expect_no_last_upgrade(void)
{
	const char *line = "{\"cmd\":\"last-upgrade\",\"id\":7}";
	struct control_request req;
	struct json_object *reply;
	char err[256] = "";
	const char *got;

	TEST_ASSERT(!control__parse_request(line, strlen(line), &req, err, sizeof(err)),
		    "%s: %s", line, err);
	reply = req.cmd->run(NULL, NULL, &req, line, strlen(line));
	got = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
	TEST_ASSERT(!strcmp(got, "{\"ok\":true,\"id\":7,\"report\":null}"), "reply %s", got);
	printf("ok: %s -> %s\n", line, got);
	json_object_put(reply);
	control__request_free(&req);
}

int main(void)
{
	struct control_request req;
	struct json_object *reply;
	static char big[CONTROL_LINE_MAX + 10];
	char err[256];
	size_t i;

	expect_cmd("{\"cmd\":\"status\"}", "status");
	expect_cmd("  {\"cmd\" : \"pause\"}  ", "pause");
	expect_cmd("{\"cmd\":\"resume\",\"extra\":[1,2]}", "resume");
	expect_cmd("{\"id\":1,\"cmd\":\"quit\"}\r", "quit");
	expect_cmd("{\"cmd\":\"live-upgrade\",\"binary\":\"/x\",\"mode\":\"adopt\"}",
		   "live-upgrade");
	expect_cmd("{\"cmd\":\"last-upgrade\"}", "last-upgrade");
	expect_no_last_upgrade();

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		expect_error(bad[i].line, bad[i].want);
	memset(big, ' ', sizeof(big));
	expect_error_len(big, sizeof(big), "longer than");

	/* The id comes back in the reply, whatever its type. */
	TEST_ASSERT(control__parse_request("{\"cmd\":\"nope\",\"id\":[\"x\"]}", 25, &req,
					   err, sizeof(err)) != 0, "nope accepted");
	reply = control__reply_error(&req, err);
	TEST_ASSERT(!strcmp(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN),
			    "{\"ok\":false,\"id\":[\"x\"],\"error\":\"unknown command \\\"nope\\\"\"}"),
		    "reply %s", json_object_to_json_string(reply));
	json_object_put(reply);
	control__request_free(&req);
	printf("ok: control protocol parsing\n");
	return 0;
}
