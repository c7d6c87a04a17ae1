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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct control_request req;
	char err[256];
	char *line = malloc(len ? len : 1);

	if (!line)
		return 0;
	memcpy(line, data, len);
	if (!control__parse_request(line, len, &req, err, sizeof(err))) {
		if (!control__cmd_name(req.cmd))
			abort();	/* accepted, but no such command */
	} else if (!memchr(err, '\0', sizeof(err)) || !err[0]) {
		abort();		/* refused without saying why */
	}
	control__request_free(&req);
	free(line);
	return 0;
}
