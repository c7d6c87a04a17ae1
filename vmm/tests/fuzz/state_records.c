// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the state-record decoder (state.c), which reads what
 * the previous VMM image left in the stash or in the state memfd: after an
 * upgrade from a buggy or hostile binary, that is untrusted input.
 * state__validate() and a full walk with state__next() must agree, every
 * record they hand out must lie inside the input, and nothing may be read
 * outside it (ASan: the input is copied to a buffer of its exact length).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* Walk every record, touching each payload byte; the walk's verdict. */
static int state_walk(const uint8_t *buf, size_t len)
{
	struct state_cursor c;
	struct state_rec rec;
	char err[256];
	unsigned int sum = 0;
	int ret;

	state_cursor__init(&c, buf, len);
	while ((ret = state__next(&c, &rec, err, sizeof(err))) > 0) {
		const uint8_t *p = rec.payload;

		if (p < buf || p + rec.len > buf + len)
			abort();	/* a payload outside the stream */
		for (uint32_t i = 0; i < rec.len; i++)
			sum += p[i];
		if (!state__type_name(rec.type))
			abort();	/* accepted a type it cannot name */
	}
	/* Keep the reads: the sum goes nowhere but must be computed. */
	__asm__ volatile("" : : "r"(sum));
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	char err[256];
	int valid, walked;

	if (!buf)
		return 0;
	memcpy(buf, data, len);
	valid = state__validate(buf, len, err, sizeof(err));
	walked = state_walk(buf, len);
	/* A stream validate accepts must decode to its end record. */
	if (!valid && walked)
		abort();
	free(buf);
	return 0;
}
