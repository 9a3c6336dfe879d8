// SPDX-License-Identifier: GPL-2.0
/* The C helpers, as linked into rvirtio_net.ko. */
#include "helpers.c"
#include "net.c"
