// SPDX-License-Identifier: GPL-2.0
/* The C helpers, as linked into rvirtio_pci.ko. */
#include "helpers.c"
#include "devlink.c"
