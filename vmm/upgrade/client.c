// SPDX-License-Identifier: GPL-2.0
/*
 * "vmm --live-upgrade --control SOCK [--binary NEW] [--upgrade-mode M]
 * [--no-preflight] [--adopt-zap]": send one live-upgrade request and wait for the one
 * reply, which comes from the new image (or from the old one, or from the
 * old binary re-executed, when the upgrade did not happen).  Prints a
 * one-line result, then the reply (the JSON report); exits 0 only if the
 * VMM now runs the new binary.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "upgrade.h"

/* Long enough for a nested, emulated test VM; only decides when to give up. */
#define UPGRADE_CLIENT_TIMEOUT_MS	300000

static char *client__request(const struct vmm_config *cfg)
{
	struct json_object *req = json_object_new_object();
	char path[PATH_MAX];
	char *line;

	json_object_object_add(req, "cmd", json_object_new_string("live-upgrade"));
	if (cfg->upgrade_binary) {
		/* The VMM may run in another directory: send an absolute path. */
		const char *bin = cfg->upgrade_binary;

		if (bin[0] != '/' && realpath(bin, path))
			bin = path;
		json_object_object_add(req, "binary", json_object_new_string(bin));
	}
	if (cfg->upgrade_mode)
		json_object_object_add(req, "mode", json_object_new_string(cfg->upgrade_mode));
	if (cfg->no_preflight)
		json_object_object_add(req, "preflight", json_object_new_boolean(false));
	if (cfg->adopt_zap)
		json_object_object_add(req, "adopt_zap", json_object_new_boolean(true));
	line = strdup(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	json_object_put(req);
	return line;
}

/* One reply line; the connection survives the VMM's exec. */
static char *client__reply(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0, cap = 4 * CONTROL_LINE_MAX;
	char *buf = malloc(cap), *nl;

	if (!buf)
		return NULL;
	for (;;) {
		ssize_t n;

		if (poll(&pfd, 1, UPGRADE_CLIENT_TIMEOUT_MS) <= 0) {
			pr_err("no reply from the VMM");
			break;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pr_err("the VMM closed the connection without a reply: the upgrade "
			       "failed and the VMM is gone (see its log)");
			break;
		}
		len += n;
		buf[len] = '\0';
		nl = strchr(buf, '\n');
		if (nl) {
			*nl = '\0';
			return buf;
		}
		if (len == cap - 1) {
			pr_err("reply too long");
			break;
		}
	}
	free(buf);
	return NULL;
}

static const char *client__str(struct json_object *o, const char *key, const char *dflt)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return dflt;
}

static long long client__num(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	return -1;
}

static bool client__summary(const char *line)
{
	struct json_object *reply = json_tokener_parse(line), *ok;
	bool success;

	if (!reply) {
		printf("live-upgrade: FAILED: the reply is not JSON\n");
		return false;
	}
	success = json_object_object_get_ex(reply, "ok", &ok) && json_object_get_boolean(ok);
	if (success) {
		long long gap = client__num(reply, "guest_gap_us");
		long long parked = client__num(reply, "parked_us");

		printf("live-upgrade: ok, mode %s, downtime %lld us", client__str(reply, "mode", "?"),
		       client__num(reply, "downtime_us"));
		if (parked >= 0)
			printf(", vCPUs parked %lld us", parked);
		if (gap >= 0)
			printf(" (the guest saw %lld us)", gap);
		else
			printf(" (the guest's gap unknown: %s)",
			       client__str(reply, "guest_gap_error", "?"));
		printf(", now running %s\n", client__str(reply, "binary", "?"));
	} else {
		printf("live-upgrade: FAILED (mode %s, stage %s): %s\n",
		       client__str(reply, "mode", "?"), client__str(reply, "stage", "?"),
		       client__str(reply, "error", "?"));
	}
	json_object_put(reply);
	return success;
}

int upgrade__client(const struct vmm_config *cfg)
{
	char *req = NULL, *reply = NULL;
	int fd, ret = 1;

	fd = control__connect(cfg->control_path);
	if (fd < 0)
		return 1;
	req = client__request(cfg);
	if (!req || write_full(fd, req, strlen(req)) || write_full(fd, "\n", 1)) {
		pr_err("cannot send to control socket %s", cfg->control_path);
		goto out;
	}
	reply = client__reply(fd);
	if (!reply) {
		printf("live-upgrade: FAILED: no reply\n");
		goto out;
	}
	ret = client__summary(reply) ? 0 : 1;
	printf("%s\n", reply);
out:
	free(req);
	free(reply);
	close(fd);
	return ret;
}
