// SPDX-License-Identifier: GPL-2.0

//! Virtio PCI modern transport.
//!
//! A PCI driver, `rvirtio-pci`, for modern virtio devices: it validates and maps the virtio
//! capabilities, and registers each device on the virtio bus with its own `virtio_config_ops`,
//! so that any virtio driver can bind to it.

#[path = "bindings/mod.rs"]
mod bindings;
#[path = "pci/mod.rs"]
mod pci_ext;
#[path = "virtio/mod.rs"]
mod virtio;

// The driver proper is safe Rust: everything `unsafe` lives in the abstraction modules above.
#[deny(unsafe_code)]
#[path = "rvirtio_pci/mod.rs"]
mod driver;

use kernel::{driver::Registration, pci, prelude::*};

module! {
    type: RvirtioPciModule,
    name: "rvirtio_pci",
    authors: ["The rvirtio developers"],
    description: "Virtio PCI modern transport, in Rust",
    license: "GPL",
}

#[pin_data]
struct RvirtioPciModule {
    #[pin]
    _driver: Registration<pci::Adapter<driver::RvirtioPci>>,
}

impl kernel::InPlaceModule for RvirtioPciModule {
    fn init(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _driver <- Registration::new(driver::DRIVER_NAME, module),
        })
    }
}
