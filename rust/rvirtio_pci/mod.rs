// SPDX-License-Identifier: GPL-2.0

//! The `rvirtio-pci` PCI driver.

use crate::pci_ext::{self, BarKind, VirtioPciCap, VirtioPciCaps};
use kernel::{device::Core, pci, prelude::*};

/// Name of the PCI driver, as seen in `/sys/bus/pci/drivers/`.
pub(crate) const DRIVER_NAME: &CStr = c"rvirtio-pci";

/// Device ids of virtio devices: transitional ones first, then modern ones (virtio 1.2, 4.1.2).
const TRANSITIONAL_IDS: core::ops::RangeInclusive<u16> = 0x1000..=0x103f;
const MODERN_IDS: core::ops::RangeInclusive<u16> = 0x1040..=0x107f;

kernel::pci_device_table!(
    PCI_TABLE,
    MODULE_PCI_TABLE,
    <RvirtioPci as pci::Driver>::IdInfo,
    // Like the C transport: every Red Hat/Qumranet device, sorted out in probe().
    [(
        pci::DeviceId::from_id(pci::Vendor::REDHAT_QUMRANET, u32::MAX),
        ()
    )]
);

/// The PCI driver.
pub(crate) struct RvirtioPci;

fn cap_name(cfg_type: u8) -> &'static str {
    match cfg_type {
        pci_ext::VIRTIO_PCI_CAP_COMMON_CFG => "common",
        pci_ext::VIRTIO_PCI_CAP_NOTIFY_CFG => "notify",
        pci_ext::VIRTIO_PCI_CAP_ISR_CFG => "isr",
        pci_ext::VIRTIO_PCI_CAP_DEVICE_CFG => "device",
        pci_ext::VIRTIO_PCI_CAP_PCI_CFG => "pci",
        pci_ext::VIRTIO_PCI_CAP_SHARED_MEMORY_CFG => "shm",
        _ => "unknown",
    }
}

fn bar_name(kind: BarKind) -> &'static str {
    match kind {
        BarKind::None => "none",
        BarKind::Io => "io",
        BarKind::Mem32 => "mem32",
        BarKind::Mem64 => "mem64",
    }
}

impl pci::Driver for RvirtioPci {
    type IdInfo = ();
    type Data<'bound> = Self;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        let device_id = pdev.device_id();
        if !TRANSITIONAL_IDS.contains(&device_id) && !MODERN_IDS.contains(&device_id) {
            return Err(ENODEV);
        }

        let mut found = 0u32;
        for cap in VirtioPciCaps::new(pdev) {
            let cap: VirtioPciCap = cap.inspect_err(|e| {
                dev_err!(pdev, "cannot read a vendor capability: {:?}\n", e);
            })?;
            found += 1;
            dev_info!(
                pdev,
                "virtio cap {}: type {} bar {} ({}) offset {:#x} length {:#x}\n",
                cap.pos,
                cap_name(cap.cfg_type),
                cap.bar,
                bar_name(pci_ext::bar_kind(pdev, cap.bar)),
                cap.offset,
                cap.length,
            );
        }

        dev_info!(
            pdev,
            "device {:#06x}: {} virtio capabilities; transport not implemented yet, declining\n",
            device_id,
            found
        );
        Err(ENODEV)
    }
}
