// SPDX-License-Identifier: GPL-2.0
/*
 * Control protocol messages: parse a request line with json-c, build
 * replies.  No sockets here, so unit tests can feed it anything.
 *
 * Request: {"cmd": "status"}            optional "id": any JSON value
 * Reply:   {"ok": true, ...}  or  {"ok": false, "error": "what went wrong"}
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "vmm/control.h"

/* The linker's table of every CONTROL_COMMAND() (control.h). */
extern const struct control_command *const __start_vmm_control_commands[];
extern const struct control_command *const __stop_vmm_control_commands[];

const struct control_command *control__find_command(const char *name)
{
	const struct control_command *const *p;

	for (p = __start_vmm_control_commands; p < __stop_vmm_control_commands; p++)
		if (!strcmp((*p)->name, name))
			return *p;
	return NULL;
}

int control__parse_request(const char *line, size_t len,
			   struct control_request *req, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *obj, *cmd, *id;
	enum json_tokener_error jerr;
	const char *name;
	unsigned int i;
	int ret = -EINVAL;

	memset(req, 0, sizeof(*req));
	if (len > CONTROL_LINE_MAX) {
		snprintf(err, errlen, "request longer than %d bytes", CONTROL_LINE_MAX);
		return -E2BIG;
	}
	tok = json_tokener_new();
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	obj = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!obj || jerr != json_tokener_success) {
		snprintf(err, errlen, "malformed JSON: %s",
			 jerr == json_tokener_continue ? "unexpected end of input"
						       : json_tokener_error_desc(jerr));
		goto out;
	}
	/* Trailing garbage after the object ("{}x") is malformed too. */
	for (i = json_tokener_get_parse_end(tok); i < len; i++) {
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
			snprintf(err, errlen, "malformed JSON: trailing characters");
			goto out;
		}
	}
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "request is not a JSON object");
		goto out;
	}
	req->obj = json_object_get(obj);
	if (json_object_object_get_ex(obj, "id", &id))
		req->id = json_object_get(id);
	if (!json_object_object_get_ex(obj, "cmd", &cmd) ||
	    !json_object_is_type(cmd, json_type_string)) {
		snprintf(err, errlen, "request has no \"cmd\" string");
		goto out;
	}
	name = json_object_get_string(cmd);
	/* A name with a NUL inside is no command's name. */
	if (strlen(name) == (size_t)json_object_get_string_len(cmd))
		req->cmd = control__find_command(name);
	if (req->cmd) {
		ret = 0;
		goto out;
	}
	snprintf(err, errlen, "unknown command \"%.64s\"", name);
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return ret;
}

void control__request_free(struct control_request *req)
{
	json_object_put(req->id);
	json_object_put(req->obj);
	req->id = NULL;
	req->obj = NULL;
}

static struct json_object *control__reply(const struct control_request *req, bool ok)
{
	struct json_object *reply = json_object_new_object();

	json_object_object_add(reply, "ok", json_object_new_boolean(ok));
	if (req && req->id)
		json_object_object_add(reply, "id", json_object_get(req->id));
	return reply;
}

struct json_object *control__reply_ok(const struct control_request *req)
{
	return control__reply(req, true);
}

struct json_object *control__reply_error(const struct control_request *req,
					 const char *msg)
{
	struct json_object *reply = control__reply(req, false);

	json_object_object_add(reply, "error", json_object_new_string(msg));
	return reply;
}
