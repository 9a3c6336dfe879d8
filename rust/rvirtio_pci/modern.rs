// SPDX-License-Identifier: GPL-2.0

//! The modern virtio PCI device: its mapped capability regions and the registers in them.
//!
//! This knows the device and nothing about the virtio bus (the same split as the C
//! `virtio_pci_modern_dev.c`). Each region was validated against its BAR (see `caps`) and is
//! mapped on its own, as the C transport maps them. The common configuration's and the ISR's
//! accessors are checked against their least length when the driver is built; the notification
//! and device configuration accessors take offsets found at run time, and are checked when they
//! run. A failed access reads as all ones, which is also what a device that went away returns.
//!
//! A region may be in a memory BAR or in an I/O BAR (QEMU's `modern-pio-notify=on` puts the
//! notification area in one, as port I/O exits are cheaper than MMIO exits under KVM): the
//! mappings take either.

use super::caps::{Layout, Region, COMMON_CFG_MIN_LEN, NUM_BARS};
use crate::pci_ext::{BarRequest, IoRange, IoReg};
use kernel::{
    device::Bound,
    io::Io,
    pci,
    prelude::*,
    sync::Arc, //
};

/// `VIRTIO_MSI_NO_VECTOR`: no MSI-X vector.
pub(crate) const NO_VECTOR: u16 = 0xffff;

/// The length of `struct virtio_pci_common_cfg`, which every common region has.
const COMMON_LEN: usize = COMMON_CFG_MIN_LEN as usize;

/// The registers of `struct virtio_pci_common_cfg` (virtio 1.2, 4.1.4.3), at their offsets in
/// the common region. The ring addresses are 64 bits wide, written as two 32-bit halves: 64-bit
/// accesses to the common configuration are not required to work (4.1.3.1).
mod common {
    kernel::io::register! {
        /// Which 32 bits of the device features `DEVICE_FEATURE` shows.
        pub(super) DEVICE_FEATURE_SELECT(u32) @ 0x00 {}
        /// 32 bits of the device features.
        pub(super) DEVICE_FEATURE(u32) @ 0x04 {}
        /// Which 32 bits of the driver features `DRIVER_FEATURE` sets.
        pub(super) DRIVER_FEATURE_SELECT(u32) @ 0x08 {}
        /// 32 bits of the driver features.
        pub(super) DRIVER_FEATURE(u32) @ 0x0c {}
        /// The MSI-X vector of configuration changes.
        pub(super) MSIX_CONFIG(u16) @ 0x10 {}
        /// How many queues the device has.
        pub(super) NUM_QUEUES(u16) @ 0x12 {}
        /// The device status.
        pub(super) DEVICE_STATUS(u8) @ 0x14 {}
        /// Changes whenever the device configuration changes.
        pub(super) CONFIG_GENERATION(u8) @ 0x15 {}
        /// Which queue the `QUEUE_*` registers are about.
        pub(super) QUEUE_SELECT(u16) @ 0x16 {}
        /// The size of the selected queue; 0 if it is not available.
        pub(super) QUEUE_SIZE(u16) @ 0x18 {}
        /// The MSI-X vector of the selected queue.
        pub(super) QUEUE_MSIX_VECTOR(u16) @ 0x1a {}
        /// Whether the selected queue is enabled.
        pub(super) QUEUE_ENABLE(u16) @ 0x1c {
            0:0 enabled => bool;
        }
        /// Where the notification register of the selected queue is, in multiplier units.
        pub(super) QUEUE_NOTIFY_OFF(u16) @ 0x1e {}
        /// The descriptor area of the selected queue, low and high halves.
        pub(super) QUEUE_DESC_LO(u32) @ 0x20 {}
        pub(super) QUEUE_DESC_HI(u32) @ 0x24 {}
        /// The driver area of the selected queue, low and high halves.
        pub(super) QUEUE_DRIVER_LO(u32) @ 0x28 {}
        pub(super) QUEUE_DRIVER_HI(u32) @ 0x2c {}
        /// The device area of the selected queue, low and high halves.
        pub(super) QUEUE_DEVICE_LO(u32) @ 0x30 {}
        pub(super) QUEUE_DEVICE_HI(u32) @ 0x34 {}
    }
}

use common::*;

/// The widest notification register (4 bytes, with `VIRTIO_F_NOTIFICATION_DATA`): the
/// notification mapping starts at a multiple of it, so that a register's alignment in the
/// mapping is its alignment in the BAR.
const NOTIFY_ALIGN: u64 = 4;

/// A modern virtio PCI device with its regions mapped.
pub(crate) struct ModernDevice<'bound> {
    pdev: &'bound pci::Device<Bound>,
    common: IoRange<'bound, COMMON_LEN>,
    isr: IoRange<'bound, 1>,
    /// The notification region, from [`NOTIFY_ALIGN`] below its start; shared with the
    /// registers of the queues ([`ModernDevice::notify_reg`]).
    notify: Arc<IoRange<'bound>>,
    /// Where the notification region starts in `notify`.
    notify_skew: usize,
    device: Option<IoRange<'bound>>,
    /// The BARs the regions are in; after the mappings, to be released after they are unmapped.
    _bars: KVec<BarRequest<'bound>>,
    layout: Layout,
}

impl<'bound> ModernDevice<'bound> {
    /// Requests the BARs that the regions of `layout` live in, and maps the regions.
    pub(crate) fn new(pdev: &'bound pci::Device<Bound>, layout: Layout) -> Result<Self> {
        let mut bars = KVec::with_capacity(NUM_BARS, GFP_KERNEL)?;
        let mut requested = [false; NUM_BARS];
        // Shared memory regions are mapped by the driver that uses them, not here.
        let regions = [
            Some(layout.common),
            Some(layout.notify),
            Some(layout.isr),
            layout.device,
        ];
        for r in regions.iter().flatten() {
            // The layout's BAR numbers are validated: below `NUM_BARS`.
            let Some(done) = requested.get_mut(usize::from(r.bar)) else {
                return Err(EINVAL);
            };
            if *done {
                continue;
            }
            let bar = BarRequest::new(pdev, r.bar, c"rvirtio-pci")
                .inspect_err(|e| dev_err!(pdev, "cannot request BAR {}: {:?}\n", r.bar, e))?;
            bars.push(bar, GFP_KERNEL)?;
            *done = true;
        }
        let n = &layout.notify;
        let skew = n.offset % NOTIFY_ALIGN;
        let notify = Self::map(
            pdev,
            &Region {
                offset: n.offset - skew,
                len: n.len.checked_add(skew).ok_or(EINVAL)?,
                ..*n
            },
            "notification",
        )?;
        Ok(Self {
            pdev,
            common: Self::map(pdev, &layout.common, "common")?,
            isr: Self::map(pdev, &layout.isr, "ISR")?,
            notify: Arc::new(notify, GFP_KERNEL)?,
            notify_skew: usize::try_from(skew)?,
            device: layout
                .device
                .as_ref()
                .map(|d| Self::map(pdev, d, "device"))
                .transpose()?,
            _bars: bars,
            layout,
        })
    }

    /// Maps region `r`, named `name` in the error message.
    fn map<const SIZE: usize>(
        pdev: &'bound pci::Device<Bound>,
        r: &Region,
        name: &str,
    ) -> Result<IoRange<'bound, SIZE>> {
        IoRange::new(pdev, r.bar, r.offset, r.len).inspect_err(|e| {
            dev_err!(
                pdev,
                "cannot map the {} region ({:#x} bytes at {:#x} in BAR {}): {:?}\n",
                name,
                r.len,
                r.offset,
                r.bar,
                e
            )
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

    // Common configuration.

    /// Reads 32 bits of the device features, word `select`.
    pub(crate) fn device_features32(&self, select: u32) -> u32 {
        let c = &self.common;
        c.write_reg(DEVICE_FEATURE_SELECT::from(select));
        c.read(DEVICE_FEATURE).into()
    }

    /// Writes 32 bits of the driver features, word `select`.
    pub(crate) fn set_driver_features32(&self, select: u32, v: u32) {
        let c = &self.common;
        c.write_reg(DRIVER_FEATURE_SELECT::from(select));
        c.write_reg(DRIVER_FEATURE::from(v));
    }

    /// Sets the configuration change vector; returns what the device accepted.
    pub(crate) fn set_msix_config(&self, vector: u16) -> u16 {
        let c = &self.common;
        c.write_reg(MSIX_CONFIG::from(vector));
        c.read(MSIX_CONFIG).into()
    }

    /// Number of queues of the device.
    pub(crate) fn num_queues(&self) -> u16 {
        self.common.read(NUM_QUEUES).into()
    }

    /// The device status.
    pub(crate) fn status(&self) -> u8 {
        self.common.read(DEVICE_STATUS).into()
    }

    /// Writes the device status.
    pub(crate) fn set_status(&self, status: u8) {
        self.common.write_reg(DEVICE_STATUS::from(status))
    }

    /// The configuration generation.
    pub(crate) fn generation(&self) -> u8 {
        self.common.read(CONFIG_GENERATION).into()
    }

    /// Selects queue `index` for the `queue_*` accessors.
    pub(crate) fn select_queue(&self, index: u16) {
        self.common.write_reg(QUEUE_SELECT::from(index))
    }

    /// Size of the selected queue (0: not available).
    pub(crate) fn queue_size(&self) -> u16 {
        self.common.read(QUEUE_SIZE).into()
    }

    /// Sets the size of the selected queue.
    pub(crate) fn set_queue_size(&self, size: u16) {
        self.common.write_reg(QUEUE_SIZE::from(size))
    }

    /// Sets the vector of the selected queue; returns what the device accepted.
    pub(crate) fn set_queue_vector(&self, vector: u16) -> u16 {
        let c = &self.common;
        c.write_reg(QUEUE_MSIX_VECTOR::from(vector));
        c.read(QUEUE_MSIX_VECTOR).into()
    }

    /// Whether the selected queue is enabled.
    pub(crate) fn queue_enabled(&self) -> bool {
        self.common.read(QUEUE_ENABLE).enabled()
    }

    /// Enables the selected queue.
    pub(crate) fn enable_queue(&self) {
        self.common
            .write_reg(QUEUE_ENABLE::zeroed().with_enabled(true))
    }

    /// The notification offset of the selected queue, in multiplier units.
    pub(crate) fn queue_notify_off(&self) -> u16 {
        self.common.read(QUEUE_NOTIFY_OFF).into()
    }

    /// Sets the ring addresses of the selected queue, each low half first.
    pub(crate) fn set_queue_addrs(&self, desc: u64, driver: u64, device: u64) {
        let c = &self.common;
        let lo = |a: u64| a as u32;
        let hi = |a: u64| (a >> 32) as u32;
        c.write_reg(QUEUE_DESC_LO::from(lo(desc)));
        c.write_reg(QUEUE_DESC_HI::from(hi(desc)));
        c.write_reg(QUEUE_DRIVER_LO::from(lo(driver)));
        c.write_reg(QUEUE_DRIVER_HI::from(hi(driver)));
        c.write_reg(QUEUE_DEVICE_LO::from(lo(device)));
        c.write_reg(QUEUE_DEVICE_HI::from(hi(device)));
    }

    // Notification, ISR and device configuration.

    /// The notification register at `offset` in the notification region, checked once, here:
    /// the notification of a queue runs once per burst of packets.
    pub(crate) fn notify_reg(&self, offset: u64) -> Result<IoReg<'bound, u16>> {
        let offset = usize::try_from(offset)?
            .checked_add(self.notify_skew)
            .ok_or(EINVAL)?;
        IoReg::new(&self.notify, offset)
    }

    /// Reads (and so clears) the ISR status.
    pub(crate) fn read_isr(&self) -> u8 {
        self.isr.read8(0)
    }

    /// Reads `buf.len()` bytes of device configuration at `offset`, with the widest accesses
    /// the length allows, as the C transport does. Out of range reads return all ones.
    pub(crate) fn device_read(&self, offset: usize, buf: &mut [u8]) -> Result {
        let d = self.device_region(offset, buf.len())?;
        let r8 = |off| d.try_read8(off).unwrap_or(u8::MAX);
        let r32 = |off| d.try_read32(off).unwrap_or(u32::MAX);
        match buf.len() {
            1 => buf[0] = r8(offset),
            2 => buf.copy_from_slice(&d.try_read16(offset).unwrap_or(u16::MAX).to_le_bytes()),
            4 => buf.copy_from_slice(&r32(offset).to_le_bytes()),
            8 => {
                buf[..4].copy_from_slice(&r32(offset).to_le_bytes());
                buf[4..].copy_from_slice(&r32(offset + 4).to_le_bytes());
            }
            _ => {
                for (i, b) in buf.iter_mut().enumerate() {
                    *b = r8(offset + i);
                }
            }
        }
        Ok(())
    }

    /// Writes `buf` to the device configuration at `offset`.
    pub(crate) fn device_write(&self, offset: usize, buf: &[u8]) -> Result {
        let d = self.device_region(offset, buf.len())?;
        let w32 = |off, v: [u8; 4]| {
            let _ = d.try_write32(u32::from_le_bytes(v), off);
        };
        match *buf {
            [a] => {
                let _ = d.try_write8(a, offset);
            }
            [a, b] => {
                let _ = d.try_write16(u16::from_le_bytes([a, b]), offset);
            }
            [a, b, c, e] => w32(offset, [a, b, c, e]),
            [a, b, c, e, f, g, h, i] => {
                w32(offset, [a, b, c, e]);
                w32(offset + 4, [f, g, h, i]);
            }
            _ => {
                for (i, b) in buf.iter().enumerate() {
                    let _ = d.try_write8(*b, offset + i);
                }
            }
        }
        Ok(())
    }

    /// The device configuration mapping, if `len` bytes at `offset` lie within it.
    fn device_region(&self, offset: usize, len: usize) -> Result<&IoRange<'bound>> {
        let d = self.device.as_ref().ok_or(EINVAL)?;
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if end > d.maxsize() {
            return Err(EINVAL);
        }
        Ok(d)
    }
}
