// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: control__parse_request(), which reads whatever a
 * client of the control socket sends.  The input is copied to a buffer of
 * its exact length (no NUL after it), as the socket layer hands over a
 * line, so that ASan sees any read past it.  A request that parses must
 * name a known command, and freeing it must leave nothing behind (LSan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/*
 * The parser finds commands in the CONTROL_COMMAND() table; their owners
 * (control.c, upgrade.c) need a VM to link, so the target brings names of
 * its own: the parser looks at nothing else.
 */
static const struct control_command fuzz_status_cmd = { .name = "status" };
static const struct control_command fuzz_upgrade_cmd = { .name = "live-upgrade" };
CONTROL_COMMAND(fuzz_status_cmd);
CONTROL_COMMAND(fuzz_upgrade_cmd);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct control_request req;
	char err[256];
	char *line = malloc(len ? len : 1);

	if (!line)
		return 0;
	memcpy(line, data, len);
	if (!control__parse_request(line, len, &req, err, sizeof(err))) {
		if (!req.cmd || control__find_command(req.cmd->name) != req.cmd)
			abort();	/* accepted, but no such command */
	} else if (!memchr(err, '\0', sizeof(err)) || !err[0]) {
		abort();		/* refused without saying why */
	}
	control__request_free(&req);
	free(line);
	return 0;
}
