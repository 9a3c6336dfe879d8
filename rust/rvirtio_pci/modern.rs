// SPDX-License-Identifier: GPL-2.0

//! The modern virtio PCI device: its mapped capability regions and the registers in them.
//!
//! This knows the device and nothing about the virtio bus (the same split as the C
//! `virtio_pci_modern_dev.c`). Every region was validated against its BAR (see `caps`), so the
//! accesses below are in bounds; the BAR accessors still check, and a failed access reads as
//! all ones, which is also what a device that went away returns.
//!
//! A region may be in a memory BAR or in an I/O BAR (QEMU's `modern-pio-notify=on` puts the
//! notification area in one, as port I/O exits are cheaper than MMIO exits under KVM).

use super::caps::{Bar as BarInfo, BarKind, Layout, Region, NUM_BARS};
use crate::pci_ext::PortBar;
use kernel::{
    device::Bound,
    io::Io,
    pci,
    prelude::*, //
};

/// `VIRTIO_MSI_NO_VECTOR`: no MSI-X vector.
pub(crate) const NO_VECTOR: u16 = 0xffff;

/// Offsets in `struct virtio_pci_common_cfg` (virtio 1.2, 4.1.4.3).
mod common {
    pub(super) const DEVICE_FEATURE_SELECT: usize = 0;
    pub(super) const DEVICE_FEATURE: usize = 4;
    pub(super) const DRIVER_FEATURE_SELECT: usize = 8;
    pub(super) const DRIVER_FEATURE: usize = 12;
    pub(super) const MSIX_CONFIG: usize = 16;
    pub(super) const NUM_QUEUES: usize = 18;
    pub(super) const DEVICE_STATUS: usize = 20;
    pub(super) const CONFIG_GENERATION: usize = 21;
    pub(super) const QUEUE_SELECT: usize = 22;
    pub(super) const QUEUE_SIZE: usize = 24;
    pub(super) const QUEUE_MSIX_VECTOR: usize = 26;
    pub(super) const QUEUE_ENABLE: usize = 28;
    pub(super) const QUEUE_NOTIFY_OFF: usize = 30;
    pub(super) const QUEUE_DESC: usize = 32;
    pub(super) const QUEUE_DRIVER: usize = 40;
    pub(super) const QUEUE_DEVICE: usize = 48;
}

/// A BAR that holds some of the device's regions.
enum Map<'bound> {
    /// A memory BAR, mapped.
    Mem(pci::Bar<'bound>),
    /// An I/O BAR, requested.
    Port(PortBar<'bound>),
}

impl Map<'_> {
    fn read8(&self, off: usize) -> Result<u8> {
        match self {
            Self::Mem(b) => b.try_read8(off),
            Self::Port(p) => p.try_read8(off),
        }
    }

    fn read16(&self, off: usize) -> Result<u16> {
        match self {
            Self::Mem(b) => b.try_read16(off),
            Self::Port(p) => p.try_read16(off),
        }
    }

    fn read32(&self, off: usize) -> Result<u32> {
        match self {
            Self::Mem(b) => b.try_read32(off),
            Self::Port(p) => p.try_read32(off),
        }
    }

    fn write8(&self, v: u8, off: usize) -> Result {
        match self {
            Self::Mem(b) => b.try_write8(v, off),
            Self::Port(p) => p.try_write8(v, off),
        }
    }

    fn write16(&self, v: u16, off: usize) -> Result {
        match self {
            Self::Mem(b) => b.try_write16(v, off),
            Self::Port(p) => p.try_write16(v, off),
        }
    }

    fn write32(&self, v: u32, off: usize) -> Result {
        match self {
            Self::Mem(b) => b.try_write32(v, off),
            Self::Port(p) => p.try_write32(v, off),
        }
    }
}

/// A modern virtio PCI device with its regions mapped.
pub(crate) struct ModernDevice<'bound> {
    pdev: &'bound pci::Device<Bound>,
    bars: KVec<Map<'bound>>,
    /// For each BAR number, its map in `bars`: every access finds its BAR at once (the
    /// notification of a queue is one per packet burst).
    slot: [Option<u8>; NUM_BARS],
    /// Where queue notifications go, resolved once: the map in `bars` and the region's offset
    /// in its BAR (one notification per burst of packets).
    notify_map: usize,
    notify_base: usize,
    layout: Layout,
}

impl<'bound> ModernDevice<'bound> {
    /// Maps the BARs that the regions of `layout` live in; `bars` says which are I/O BARs.
    pub(crate) fn new(
        pdev: &'bound pci::Device<Bound>,
        layout: Layout,
        bars_info: &[BarInfo; NUM_BARS],
    ) -> Result<Self> {
        let mut bars = KVec::with_capacity(NUM_BARS, GFP_KERNEL)?;
        let mut slot = [None; NUM_BARS];
        // Shared memory regions are mapped by the driver that uses them, not here.
        let regions = [
            Some(layout.common),
            Some(layout.notify),
            Some(layout.isr),
            layout.device,
        ];
        for r in regions.iter().flatten() {
            // The layout's BAR numbers are validated: below `NUM_BARS`.
            let Some(entry) = slot.get_mut(usize::from(r.bar)) else {
                return Err(EINVAL);
            };
            if entry.is_some() {
                continue;
            }
            let io = bars_info
                .get(usize::from(r.bar))
                .is_some_and(|b| b.kind == BarKind::Io);
            let map = if io {
                PortBar::new(pdev, r.bar, c"rvirtio-pci").map(Map::Port)
            } else {
                pdev.iomap_region(r.bar.into(), c"rvirtio-pci")
                    .map(Map::Mem)
            }
            .inspect_err(|e| dev_err!(pdev, "cannot map BAR {}: {:?}\n", r.bar, e))?;
            *entry = Some(u8::try_from(bars.len())?);
            bars.push(map, GFP_KERNEL)?;
        }
        let notify_map = slot
            .get(usize::from(layout.notify.bar))
            .copied()
            .flatten()
            .ok_or(EINVAL)?;
        let notify_base = usize::try_from(layout.notify.offset)?;
        Ok(Self {
            pdev,
            bars,
            slot,
            notify_map: notify_map.into(),
            notify_base,
            layout,
        })
    }

    /// The PCI device.
    pub(crate) fn pdev(&self) -> &'bound pci::Device<Bound> {
        self.pdev
    }

    /// The validated layout.
    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    fn bar(&self, r: &Region) -> Option<&Map<'bound>> {
        let i = (*self.slot.get(usize::from(r.bar))?)?;
        self.bars.get(usize::from(i))
    }

    fn addr(r: &Region, off: usize) -> usize {
        // Regions lie within their BAR, so their offsets fit in `usize`.
        usize::try_from(r.offset)
            .unwrap_or(usize::MAX)
            .saturating_add(off)
    }

    fn read8(&self, r: &Region, off: usize) -> u8 {
        self.bar(r)
            .and_then(|b| b.read8(Self::addr(r, off)).ok())
            .unwrap_or(u8::MAX)
    }

    fn read16(&self, r: &Region, off: usize) -> u16 {
        self.bar(r)
            .and_then(|b| b.read16(Self::addr(r, off)).ok())
            .unwrap_or(u16::MAX)
    }

    fn read32(&self, r: &Region, off: usize) -> u32 {
        self.bar(r)
            .and_then(|b| b.read32(Self::addr(r, off)).ok())
            .unwrap_or(u32::MAX)
    }

    fn write8(&self, r: &Region, off: usize, v: u8) {
        if let Some(b) = self.bar(r) {
            let _ = b.write8(v, Self::addr(r, off));
        }
    }

    fn write16(&self, r: &Region, off: usize, v: u16) {
        if let Some(b) = self.bar(r) {
            let _ = b.write16(v, Self::addr(r, off));
        }
    }

    fn write32(&self, r: &Region, off: usize, v: u32) {
        if let Some(b) = self.bar(r) {
            let _ = b.write32(v, Self::addr(r, off));
        }
    }

    fn write64(&self, r: &Region, off: usize, v: u64) {
        // Two 32-bit halves, low first: 64-bit accesses to common config are not required
        // to work (virtio 1.2, 4.1.3.1).
        self.write32(r, off, v as u32);
        self.write32(r, off + 4, (v >> 32) as u32);
    }

    // Common configuration.

    /// Reads 32 bits of the device features, word `select`.
    pub(crate) fn device_features32(&self, select: u32) -> u32 {
        let c = &self.layout.common;
        self.write32(c, common::DEVICE_FEATURE_SELECT, select);
        self.read32(c, common::DEVICE_FEATURE)
    }

    /// Writes 32 bits of the driver features, word `select`.
    pub(crate) fn set_driver_features32(&self, select: u32, v: u32) {
        let c = &self.layout.common;
        self.write32(c, common::DRIVER_FEATURE_SELECT, select);
        self.write32(c, common::DRIVER_FEATURE, v);
    }

    /// Sets the configuration change vector; returns what the device accepted.
    pub(crate) fn set_msix_config(&self, vector: u16) -> u16 {
        let c = &self.layout.common;
        self.write16(c, common::MSIX_CONFIG, vector);
        self.read16(c, common::MSIX_CONFIG)
    }

    /// Number of queues of the device.
    pub(crate) fn num_queues(&self) -> u16 {
        self.read16(&self.layout.common, common::NUM_QUEUES)
    }

    /// The device status.
    pub(crate) fn status(&self) -> u8 {
        self.read8(&self.layout.common, common::DEVICE_STATUS)
    }

    /// Writes the device status.
    pub(crate) fn set_status(&self, status: u8) {
        self.write8(&self.layout.common, common::DEVICE_STATUS, status)
    }

    /// The configuration generation.
    pub(crate) fn generation(&self) -> u8 {
        self.read8(&self.layout.common, common::CONFIG_GENERATION)
    }

    /// Selects queue `index` for the `queue_*` accessors.
    pub(crate) fn select_queue(&self, index: u16) {
        self.write16(&self.layout.common, common::QUEUE_SELECT, index)
    }

    /// Size of the selected queue (0: not available).
    pub(crate) fn queue_size(&self) -> u16 {
        self.read16(&self.layout.common, common::QUEUE_SIZE)
    }

    /// Sets the size of the selected queue.
    pub(crate) fn set_queue_size(&self, size: u16) {
        self.write16(&self.layout.common, common::QUEUE_SIZE, size)
    }

    /// Sets the vector of the selected queue; returns what the device accepted.
    pub(crate) fn set_queue_vector(&self, vector: u16) -> u16 {
        let c = &self.layout.common;
        self.write16(c, common::QUEUE_MSIX_VECTOR, vector);
        self.read16(c, common::QUEUE_MSIX_VECTOR)
    }

    /// Whether the selected queue is enabled.
    pub(crate) fn queue_enabled(&self) -> bool {
        self.read16(&self.layout.common, common::QUEUE_ENABLE) == 1
    }

    /// Enables the selected queue.
    pub(crate) fn enable_queue(&self) {
        self.write16(&self.layout.common, common::QUEUE_ENABLE, 1)
    }

    /// The notification offset of the selected queue, in multiplier units.
    pub(crate) fn queue_notify_off(&self) -> u16 {
        self.read16(&self.layout.common, common::QUEUE_NOTIFY_OFF)
    }

    /// Sets the ring addresses of the selected queue.
    pub(crate) fn set_queue_addrs(&self, desc: u64, driver: u64, device: u64) {
        let c = &self.layout.common;
        self.write64(c, common::QUEUE_DESC, desc);
        self.write64(c, common::QUEUE_DRIVER, driver);
        self.write64(c, common::QUEUE_DEVICE, device);
    }

    // Notification, ISR and device configuration.

    /// Writes `value` to the notification register at `offset` in the notification area.
    pub(crate) fn notify(&self, offset: usize, value: u16) {
        if let Some(b) = self.bars.get(self.notify_map) {
            let _ = b.write16(value, self.notify_base.saturating_add(offset));
        }
    }

    /// Reads (and so clears) the ISR status.
    pub(crate) fn read_isr(&self) -> u8 {
        self.read8(&self.layout.isr, 0)
    }

    /// Reads `buf.len()` bytes of device configuration at `offset`, with the widest accesses
    /// the length allows, as the C transport does. Out of range reads return all ones.
    pub(crate) fn device_read(&self, offset: usize, buf: &mut [u8]) -> Result {
        let d = self.device_region(offset, buf.len())?;
        match buf.len() {
            1 => buf[0] = self.read8(&d, offset),
            2 => buf.copy_from_slice(&self.read16(&d, offset).to_le_bytes()),
            4 => buf.copy_from_slice(&self.read32(&d, offset).to_le_bytes()),
            8 => {
                buf[..4].copy_from_slice(&self.read32(&d, offset).to_le_bytes());
                buf[4..].copy_from_slice(&self.read32(&d, offset + 4).to_le_bytes());
            }
            _ => {
                for (i, b) in buf.iter_mut().enumerate() {
                    *b = self.read8(&d, offset + i);
                }
            }
        }
        Ok(())
    }

    /// Writes `buf` to the device configuration at `offset`.
    pub(crate) fn device_write(&self, offset: usize, buf: &[u8]) -> Result {
        let d = self.device_region(offset, buf.len())?;
        match *buf {
            [a] => self.write8(&d, offset, a),
            [a, b] => self.write16(&d, offset, u16::from_le_bytes([a, b])),
            [a, b, c, e] => self.write32(&d, offset, u32::from_le_bytes([a, b, c, e])),
            [a, b, c, e, f, g, h, i] => {
                self.write32(&d, offset, u32::from_le_bytes([a, b, c, e]));
                self.write32(&d, offset + 4, u32::from_le_bytes([f, g, h, i]));
            }
            _ => {
                for (i, b) in buf.iter().enumerate() {
                    self.write8(&d, offset + i, *b);
                }
            }
        }
        Ok(())
    }

    fn device_region(&self, offset: usize, len: usize) -> Result<Region> {
        let d = self.layout.device.ok_or(EINVAL)?;
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if u64::try_from(end).map_err(|_| EINVAL)? > d.len {
            return Err(EINVAL);
        }
        Ok(d)
    }
}
