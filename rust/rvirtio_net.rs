// SPDX-License-Identifier: GPL-2.0

//! Virtio network device driver.
//!
//! A virtio driver, `rvirtio_net`, that turns each virtio network device into an Ethernet
//! `net_device` with NAPI. It runs on any virtio transport: the upstream C `virtio-pci` or our
//! `rvirtio-pci`.

#[path = "bindings/mod.rs"]
mod bindings;
#[path = "net/mod.rs"]
mod net;
#[path = "virtio/driver.rs"]
mod virtio;

// The driver proper is safe Rust: everything `unsafe` lives in the abstraction modules above,
// and nothing inside can allow it again.
#[forbid(unsafe_code)]
#[path = "rvirtio_net/mod.rs"]
mod driver;

use kernel::prelude::*;

module! {
    type: RvirtioNetModule,
    name: "rvirtio_net",
    authors: ["The rvirtio developers"],
    description: "Virtio network device driver, in Rust",
    license: "GPL",
}

#[pin_data]
struct RvirtioNetModule {
    #[pin]
    _driver: virtio::Registration<driver::VirtNetDriver>,
}

impl kernel::InPlaceModule for RvirtioNetModule {
    fn init(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _driver <- virtio::Registration::new(driver::DRIVER_NAME, module),
        })
    }
}
