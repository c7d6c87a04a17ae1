// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the state-record decoder (state.c), which reads what
 * the previous VMM image left in the stash or in the state memfd: after an
 * upgrade from a buggy or hostile binary, that is untrusted input.
 * state__validate() and a full walk with state__next() must agree, every
 * record they hand out must lie inside the input, and nothing may be read
 * outside it (ASan: the input is copied to a buffer of its exact length).
 * The index the restore path and the devices look records up in
 * (state_index__build()) must find every record the walk saw, as it saw
 * it, and nothing else.
 */
#include <stdbool.h>
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

/* The slow way to tell whether @ix holds @type/@id. */
static bool state_index_has(const struct state_index *ix, uint16_t type,
			    uint32_t id)
{
	for (unsigned int i = 0; i < ix->nr; i++)
		if (ix->recs[i].type == type && ix->recs[i].id == id)
			return true;
	return false;
}

/* Every record of the walk is in the index; an id it lacks is not. */
static void state_check_index(const uint8_t *buf, size_t len)
{
	const struct state_rec *found;
	struct state_index ix;
	struct state_cursor c;
	struct state_rec rec;
	char err[256];

	if (state_index__build(&ix, buf, len, err, sizeof(err)))
		return;
	state_cursor__init(&c, buf, len);
	while (state__next(&c, &rec, err, sizeof(err)) > 0) {
		found = state_index__find(&ix, rec.type, rec.id);
		if (!found || found->type != rec.type || found->id != rec.id ||
		    found->len != rec.len)
			abort();	/* the index lost or changed a record */
	}
	if (ix.nr && !state_index_has(&ix, ix.recs[0].type, UINT32_MAX) &&
	    state_index__find(&ix, ix.recs[0].type, UINT32_MAX))
		abort();		/* found an id nobody wrote */
	state_index__free(&ix);
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
	state_check_index(buf, len);
	free(buf);
	return 0;
}
