/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMM's version: the project's, and the git commit it was built from
 * when built from a git tree (vmm/version.c.in).
 */
#ifndef VMM_VERSION_H
#define VMM_VERSION_H

/* "0.1", or "0.1-g1234abc" (and "-dirty") when built from git. */
extern const char vmm_version[];

#endif
