// SPDX-License-Identifier: GPL-2.0

//! PCI pieces that the kernel crate does not offer yet: a driver registration with power
//! management and reset callbacks, the walk over vendor-specific capabilities, the virtio PCI
//! capability layout and BAR resource flags.
//!
//! C headers: [`include/linux/pci.h`](srctree/include/linux/pci.h),
//! [`include/uapi/linux/virtio_pci.h`](srctree/include/uapi/linux/virtio_pci.h).

mod driver;
mod region;

pub(crate) use driver::{pm_no_soft_reset, Adapter, EnabledDevice, PowerReset};
pub(crate) use region::{BarRequest, IoRange, IoReg};

use crate::bindings;
use core::{mem::offset_of, ptr};
use kernel::{
    device,
    io::Io,
    pci,
    prelude::*, //
};

/// Returns the raw `struct pci_dev` of `pdev`, for the other abstraction modules.
pub(crate) fn as_raw<Ctx: device::DeviceContext>(
    pdev: &pci::Device<Ctx>,
) -> *mut bindings::pci_dev {
    let dev: &device::Device<Ctx> = pdev.as_ref();
    // SAFETY: `device::Device` is a `#[repr(transparent)]` wrapper of `struct device`, so the
    // pointer is a valid `struct device *`; it is the one embedded in the `struct pci_dev` that
    // `pdev` wraps, which is what `to_pci_dev()` requires.
    unsafe { bindings::to_pci_dev(ptr::from_ref(dev).cast_mut().cast()) }
}

/// `id`, matching only devices whose `driver_override` names the driver (the `override_only`
/// field of `struct pci_device_id`), as VFIO's variant drivers match: such a driver never
/// takes a device that the user did not hand to it, and never races the driver that would
/// otherwise bind it.
///
/// The flag given is `PCI_ID_F_VFIO_DRIVER_OVERRIDE`, the only one defined: the PCI core
/// matches on any non-zero value, and the flag only changes the prefix of a module alias, which
/// a table of such entries should not have.
pub(crate) const fn override_only(id: pci::DeviceId) -> pci::DeviceId {
    // SAFETY: `pci::DeviceId` is a `#[repr(transparent)]` wrapper of `struct pci_device_id`
    // (its `RawDeviceId` implementation) and has no invariant of its own.
    let mut raw: kernel::bindings::pci_device_id = unsafe { core::mem::transmute(id) };
    raw.override_only = kernel::bindings::PCI_ID_F_VFIO_DRIVER_OVERRIDE;
    // SAFETY: As above; every value of the fields of `struct pci_device_id` is a valid id.
    unsafe { core::mem::transmute(raw) }
}

/// The kind of resource behind a BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BarKind {
    /// The BAR is not implemented.
    None,
    /// Port I/O space.
    Io,
    /// 32-bit memory space.
    Mem32,
    /// 64-bit memory space.
    Mem64,
}

// Resource flags are `unsigned long`; the constants are generated as `u32`.
const IORESOURCE_MEM: usize = bindings::IORESOURCE_MEM as usize;
const IORESOURCE_MEM_64: usize = bindings::IORESOURCE_MEM_64 as usize;
const IORESOURCE_IO: usize = bindings::IORESOURCE_IO as usize;

/// Returns what kind of resource BAR `bar` of `pdev` is, from its resource flags.
pub(crate) fn bar_kind(pdev: &pci::Device<device::Bound>, bar: u8) -> BarKind {
    if u32::from(bar) >= bindings::PCI_STD_NUM_BARS {
        return BarKind::None;
    }
    // SAFETY: `as_raw()` returns a valid `struct pci_dev`, and `bar` is below
    // `PCI_STD_NUM_BARS`, so it indexes the device's resource array.
    let flags = unsafe { bindings::pci_resource_flags(as_raw(pdev), bar.into()) };
    if flags & IORESOURCE_MEM != 0 {
        if flags & IORESOURCE_MEM_64 != 0 {
            BarKind::Mem64
        } else {
            BarKind::Mem32
        }
    } else if flags & IORESOURCE_IO != 0 {
        BarKind::Io
    } else {
        BarKind::None
    }
}

/// The generic part of a virtio vendor capability, `struct virtio_pci_cap`, as read from
/// configuration space. Nothing here is validated yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct VirtioPciCap {
    /// Position of the capability in configuration space.
    pub(crate) pos: u8,
    /// `cap_len`: length of the whole capability structure.
    pub(crate) cap_len: u8,
    /// `cfg_type`: which structure this capability describes (`VIRTIO_PCI_CAP_*`).
    pub(crate) cfg_type: u8,
    /// `bar`: the BAR that holds the structure.
    pub(crate) bar: u8,
    /// `id`: identifies one of several capabilities of the same type.
    pub(crate) id: u8,
    /// `offset`: where the structure starts within the BAR.
    pub(crate) offset: u32,
    /// `length`: the length of the structure.
    pub(crate) length: u32,
    /// The two dwords after `struct virtio_pci_cap`, whatever `cap_len` says:
    /// `notify_off_multiplier` of a notify capability, `offset_hi` and `length_hi` of a 64-bit
    /// one. Zero past the end of configuration space.
    pub(crate) extra: [u32; 2],
}

/// Iterator over the virtio vendor capabilities of a PCI device.
///
/// Yields an error when configuration space cannot be read (for example, the device is gone).
pub(crate) struct VirtioPciCaps<'a> {
    pdev: &'a pci::Device<device::Bound>,
    pos: u8,
    done: bool,
}

impl<'a> VirtioPciCaps<'a> {
    /// Starts a walk over the vendor-specific capabilities of `pdev`.
    pub(crate) fn new(pdev: &'a pci::Device<device::Bound>) -> Self {
        Self {
            pdev,
            pos: 0,
            done: false,
        }
    }

    fn read(&self, pos: u8) -> Result<VirtioPciCap> {
        let cfg = self.pdev.config_space();
        let at = |field: usize| usize::from(pos) + field;
        let cap_len = cfg.try_read8(at(offset_of!(bindings::virtio_pci_cap, cap_len)))?;
        let base = size_of::<bindings::virtio_pci_cap>();
        // Read whatever `cap_len` says, as the C transport does: a device whose `cap_len` is
        // too short still has its `notify_off_multiplier` there. Past the end of configuration
        // space, the fields read as zero.
        let mut extra = [0u32; 2];
        for (i, e) in extra.iter_mut().enumerate() {
            *e = cfg.try_read32(at(base + i * size_of::<u32>())).unwrap_or(0);
        }
        Ok(VirtioPciCap {
            pos,
            cap_len,
            cfg_type: cfg.try_read8(at(offset_of!(bindings::virtio_pci_cap, cfg_type)))?,
            bar: cfg.try_read8(at(offset_of!(bindings::virtio_pci_cap, bar)))?,
            id: cfg.try_read8(at(offset_of!(bindings::virtio_pci_cap, id)))?,
            offset: cfg.try_read32(at(offset_of!(bindings::virtio_pci_cap, offset)))?,
            length: cfg.try_read32(at(offset_of!(bindings::virtio_pci_cap, length)))?,
            extra,
        })
    }
}

impl Iterator for VirtioPciCaps<'_> {
    type Item = Result<VirtioPciCap>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let pdev = as_raw(self.pdev);
        let vndr = bindings::PCI_CAP_ID_VNDR as i32;
        let pos = if self.pos == 0 {
            // SAFETY: `pdev` is a valid `struct pci_dev`; the function only reads its
            // configuration space.
            unsafe { bindings::pci_find_capability(pdev, vndr) }
        } else {
            // SAFETY: As above; `self.pos` is the position of a capability it returned, and
            // the function bounds the walk itself.
            unsafe { bindings::pci_find_next_capability(pdev, self.pos, vndr) }
        };
        if pos == 0 {
            self.done = true;
            return None;
        }
        self.pos = pos;
        let cap = self.read(pos);
        if cap.is_err() {
            self.done = true;
        }
        Some(cap)
    }
}

/// Sets the DMA mask of `pdev` to `bits` bits, for streaming and coherent mappings.
///
/// # Safety
///
/// No DMA mapping or allocation for `pdev` may run concurrently (as for the kernel crate's
/// `dma_set_mask_and_coherent()`): call it before a driver's probe (see
/// [`PowerReset::DMA_MASKS`]).
unsafe fn set_dma_mask(pdev: &pci::Device<device::Core<'_>>, bits: u32) -> Result {
    let mask = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let dev: &device::Device<device::Core<'_>> = pdev.as_ref();
    // SAFETY: `dev` is a valid `struct device`; by the safety requirements nothing maps or
    // allocates DMA memory for it concurrently.
    kernel::error::to_result(unsafe {
        bindings::dma_set_mask_and_coherent(ptr::from_ref(dev).cast_mut().cast(), mask)
    })
}

/// The name of `pdev` on its bus, e.g. `0000:00:08.0`.
pub(crate) fn name<Ctx: device::DeviceContext>(pdev: &pci::Device<Ctx>) -> &CStr {
    // SAFETY: `as_raw()` returns a valid `struct pci_dev`, whose name lives as long as it.
    unsafe { CStr::from_char_ptr(bindings::pci_name(as_raw(pdev))) }
}

/// Whether `pdev` is still there: its configuration space answers.
pub(crate) fn is_present<Ctx: device::DeviceContext>(pdev: &pci::Device<Ctx>) -> bool {
    // SAFETY: `as_raw()` returns a valid `struct pci_dev`.
    unsafe { bindings::pci_device_is_present(as_raw(pdev)) }
}
