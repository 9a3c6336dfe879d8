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

// The driver proper is safe Rust: everything `unsafe` lives in the abstraction modules above,
// and nothing inside can allow it again.
#[forbid(unsafe_code)]
#[path = "rvirtio_pci/mod.rs"]
mod driver;

use kernel::{driver::Registration, prelude::*};

module! {
    type: RvirtioPciModule,
    name: "rvirtio_pci",
    authors: ["The rvirtio developers"],
    description: "Virtio PCI modern transport, in Rust",
    license: "GPL",
    params: {
        status_poll_ms: u32 {
            default: 1000,
            description: "Period of the status check while DRIVER_OK is set, in ms (0: off)",
        },
    },
}

#[pin_data]
struct RvirtioPciModule {
    // Fields are dropped in order: the devices go away before their debugfs root and before
    // the periodic check of them stops.
    #[pin]
    _driver: Registration<pci_ext::Adapter<driver::RvirtioPci>>,
    _debugfs: virtio::debugfs::Root,
    _poll: virtio::poll::Poller,
}

impl kernel::InPlaceModule for RvirtioPciModule {
    fn init(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // Before the driver: devices may be probed while it registers.
            _poll: virtio::poll::Poller::new(*module_parameters::status_poll_ms.value())?,
            _debugfs: virtio::debugfs::Root::new(driver::DRIVER_NAME),
            _driver <- Registration::new(driver::DRIVER_NAME, module),
        })
    }
}
