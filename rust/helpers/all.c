// SPDX-License-Identifier: GPL-2.0
/*
 * Every C helper, for bindgen: the generated Rust bindings name them all, and each module
 * links only the files it uses (see rvirtio_*_helpers.c).
 */
#include "helpers.c"
#include "net.c"
#include "devlink.c"
