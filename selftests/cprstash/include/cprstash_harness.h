/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kselftest_harness.h as the cprstash tests use it.  Include this instead,
 * from the test's own translation unit only (the harness defines functions).
 *
 * The harness kills a test that runs longer than 30 s.  In the test VM,
 * nested under TCG on a loaded host, a correct test can take longer (200
 * exec + adopt cycles did): every test gets a hang guard instead, far
 * beyond what a loaded host takes.  No test asserts a duration.
 */
#ifndef SELFTEST_CPRSTASH_HARNESS_H
#define SELFTEST_CPRSTASH_HARNESS_H

#include "kselftest_harness.h"

#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT	600

#endif
