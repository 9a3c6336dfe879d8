// SPDX-License-Identifier: GPL-2.0

//! PCI BARs in I/O port space, as a backend of the kernel crate's [`Io`] trait.
//!
//! The kernel crate maps memory BARs only ([`pci::Bar`] accesses them with `readl()` and
//! friends, which an I/O port cookie does not support). A device may place its registers in an
//! I/O BAR (virtio 1.2, 4.1.4, allows it for every structure), so this type offers the same
//! bounds-checked accessors over port I/O.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h).

use super::{as_raw, bar_kind, BarKind};
use crate::bindings;
use kernel::{
    device::Bound,
    io::{Io, IoCapable},
    pci,
    prelude::*, //
};

/// A PCI BAR in I/O port space, requested for the driver, released on drop.
///
/// # Invariants
///
/// - `base..base + len` is the port range of BAR `num` of `pdev`, `len` is not zero, and
///   `base + len` does not overflow.
/// - The range is requested (`pci_request_region()`) by this object until it is dropped.
pub(crate) struct PortBar<'a> {
    pdev: &'a pci::Device<Bound>,
    base: usize,
    len: usize,
    num: i32,
}

impl<'a> PortBar<'a> {
    /// Requests I/O BAR `num` of `pdev` under `name`.
    ///
    /// Fails with `EINVAL` if the BAR is not an I/O BAR, and with `EBUSY` if someone else holds
    /// the region.
    pub(crate) fn new(pdev: &'a pci::Device<Bound>, num: u8, name: &'static CStr) -> Result<Self> {
        if bar_kind(pdev, num) != BarKind::Io {
            return Err(EINVAL);
        }
        let start = usize::try_from(pdev.resource_start(num.into())?)?;
        let len = usize::try_from(pdev.resource_len(num.into())?)?;
        if len == 0 || start.checked_add(len).is_none() {
            return Err(EINVAL);
        }
        let num = i32::from(num);
        // SAFETY: `as_raw()` returns a valid, bound `struct pci_dev`; `num` is a standard BAR
        // index (`bar_kind()` returned `Io`, which it only does for those); `name` is a static
        // C string, as the resource keeps a pointer to it.
        let ret = unsafe { bindings::pci_request_region(as_raw(pdev), num, name.as_char_ptr()) };
        if ret != 0 {
            return Err(EBUSY);
        }
        // INVARIANT: checked above, and the region is requested.
        Ok(Self {
            pdev,
            base: start,
            len,
            num,
        })
    }
}

impl Drop for PortBar<'_> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants, BAR `num` of the valid `pdev` was requested by us.
        unsafe { bindings::pci_release_region(as_raw(self.pdev), self.num) };
    }
}

impl Io for PortBar<'_> {
    fn addr(&self) -> usize {
        self.base
    }

    fn maxsize(&self) -> usize {
        self.len
    }
}

/// Implements [`IoCapable`] on [`PortBar`] for `$ty` with the port accessors `$in` and `$out`.
macro_rules! impl_port_io_capable {
    ($ty:ty, $in:ident, $out:ident) => {
        impl IoCapable<$ty> for PortBar<'_> {
            unsafe fn io_read(&self, address: usize) -> $ty {
                // SAFETY: By the safety requirements, `address` is a port of this requested
                // BAR, which is all the accessor touches.
                unsafe { bindings::$in(address as kernel::ffi::c_ulong) }
            }

            unsafe fn io_write(&self, value: $ty, address: usize) {
                // SAFETY: As above.
                unsafe { bindings::$out(value, address as kernel::ffi::c_ulong) }
            }
        }
    };
}

impl_port_io_capable!(u8, inb, outb);
impl_port_io_capable!(u16, inw, outw);
impl_port_io_capable!(u32, inl, outl);
