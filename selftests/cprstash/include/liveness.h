/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SELFTEST_CPRSTASH_LIVENESS_H
#define SELFTEST_CPRSTASH_LIVENESS_H

/*
 * A bound on how long a test waits for something the kernel does
 * asynchronously (a deadline firing, a file or a VM being released).  It
 * is a liveness guard, not a timing assertion: TCG in the test VM on a
 * loaded host is slow, so it is generous (five minutes).
 */
#define LIVENESS_MS	300000

#endif
