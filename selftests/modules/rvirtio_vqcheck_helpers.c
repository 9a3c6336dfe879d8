// SPDX-License-Identifier: GPL-2.0
/*
 * The C helpers, as linked into the test module rvirtio_vqcheck.ko: those of the virtio
 * driver side are with the net driver's.
 */
#include "../../rust/helpers/helpers.c"
#include "../../rust/helpers/net.c"
