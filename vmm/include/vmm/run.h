/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VMM_RUN_H
#define VMM_RUN_H

#include "vmm/config.h"

/* Run a VM until it ends; returns the process exit status. */
int vmm__run(const struct vmm_config *cfg);

#endif
