// SPDX-License-Identifier: GPL-2.0

//! Host build of the kernel modules' pure logic: the very same source files, included by path.

#![no_std]
#![allow(dead_code)]

#[cfg(test)]
extern crate std;

#[path = "../../../../rust/rvirtio_pci/caps.rs"]
pub(crate) mod caps;
#[path = "../../../../rust/rvirtio_net/hdr.rs"]
pub(crate) mod net_hdr;
#[path = "../../../../rust/rvirtio_pci/recovery.rs"]
pub(crate) mod recovery;

#[cfg(test)]
mod caps_fuzz;
#[cfg(test)]
mod caps_tests;
#[cfg(test)]
mod net_hdr_tests;
#[cfg(test)]
mod real_layouts;
#[cfg(test)]
mod recovery_tests;
#[cfg(test)]
mod upstream_model;
