// SPDX-License-Identifier: GPL-2.0
/*
 * Messages: the syslog priority prefix journald reads, the time prefix,
 * and the upgrade id while an upgrade runs (Documentation/vmm.rst,
 * "Logging"), in the lines pr_*() and log__error_line() make.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "vmm/util.h"

static char path[300];

/* Run @emit with stderr to a file; the file's first line. */
static char *capture(void (*emit)(void))
{
	test_stderr_to(path);
	emit();
	test_stderr_back();
	return test_read_first_line(path);
}

static void expect(void (*emit)(void), const char *want)
{
	char *line = capture(emit);

	TEST_ASSERT(!strcmp(line, want), "expected \"%s\", got \"%s\"", want, line);
	printf("ok: %s\n", line);
	free(line);
}

static void emit_err(void) { pr_err("cannot %s", "go on"); }
static void emit_warn(void) { pr_warn("careful"); }
static void emit_info(void) { pr_info("news"); }
static void emit_debug(void) { pr_debug("detail"); }

int main(void)
{
	char line[200], *got;

	snprintf(path, sizeof(path), "%s/stderr", test_tmpdir());
	vmm_verbose = true;

	log__set_format(LOG_FMT_PLAIN);
	expect(emit_err, "vmm: error: cannot go on");
	expect(emit_info, "vmm: news");

	log__set_format(LOG_FMT_SYSLOG);
	expect(emit_err, "<3>vmm: error: cannot go on");
	expect(emit_warn, "<4>vmm: warning: careful");
	expect(emit_info, "<6>vmm: news");
	expect(emit_debug, "<7>vmm: debug: detail");

	/* During an upgrade every line names it, in every format... */
	log__set_upgrade_id(0xd35d5433101e6615ULL);
	expect(emit_info, "<6>vmm: upgrade d35d5433101e6615: news");
	log__error_line(line, sizeof(line), "the VM is lost");
	TEST_ASSERT(!strcmp(line, "<3>vmm: upgrade d35d5433101e6615: error: the VM is lost\n"),
		    "log__error_line: %s", line);
	log__set_format(LOG_FMT_PLAIN);
	expect(emit_warn, "vmm: upgrade d35d5433101e6615: warning: careful");
	/* ...and none once it is over. */
	log__set_upgrade_id(0);
	expect(emit_warn, "vmm: warning: careful");

	/* "2026-12-01T23:55:01.123456Z vmm: ...": 27 characters of UTC time. */
	log__set_format(LOG_FMT_TIME);
	got = capture(emit_err);
	TEST_ASSERT(strlen(got) > 28 && got[4] == '-' && got[10] == 'T' && got[26] == 'Z' &&
		    !strcmp(got + 27, " vmm: error: cannot go on"), "time format: %s", got);
	printf("ok: %s\n", got);
	free(got);

	TEST_ASSERT(log__parse_format("syslog") == LOG_FMT_SYSLOG && log__parse_format("auto") == LOG_FMT_AUTO &&
		    log__parse_format("journal") < 0, "log__parse_format");
	test_cleanup();
	return 0;
}
