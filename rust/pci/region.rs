// SPDX-License-Identifier: GPL-2.0

//! Ranges of PCI BARs mapped on their own, in memory or I/O port space alike, as a backend of
//! the kernel crate's [`Io`] trait.
//!
//! [`pci::Bar`] maps a whole memory BAR and accesses it with `readl()` and friends. A virtio
//! device places each of its structures in some range of a BAR, which may be a memory or an I/O
//! BAR (virtio 1.2, 4.1.4). The C transport maps each structure alone with
//! `pci_iomap_range()`, and accesses it with `ioread32()` and friends, which take either kind of
//! cookie; [`IoRange`] does the same. [`BarRequest`] claims the BARs that the ranges live in.
//! [`IoReg`] is one register of a shared range, checked once, for accesses on a hot path (a
//! queue's notification).
//!
//! C headers: [`include/linux/pci.h`](srctree/include/linux/pci.h),
//! [`include/asm-generic/iomap.h`](srctree/include/asm-generic/iomap.h).

use super::{as_raw, bar_kind, BarKind};
use crate::bindings;
use core::marker::PhantomData;
use kernel::{
    device::Bound,
    ffi::{c_ulong, c_void},
    io::{Io, IoCapable, IoKnownSize},
    pci,
    prelude::*,
    sync::Arc, //
};

/// A BAR requested for the driver (`pci_request_region()`), released on drop.
///
/// # Invariants
///
/// BAR `num` of `pdev` is requested by this object until it is dropped.
pub(crate) struct BarRequest<'a> {
    pdev: &'a pci::Device<Bound>,
    num: i32,
}

impl<'a> BarRequest<'a> {
    /// Requests BAR `num` of `pdev`, memory or I/O, under `name`.
    ///
    /// Fails with `EINVAL` if the BAR is not implemented, and with `EBUSY` if someone else holds
    /// the region.
    pub(crate) fn new(pdev: &'a pci::Device<Bound>, num: u8, name: &'static CStr) -> Result<Self> {
        if bar_kind(pdev, num) == BarKind::None {
            return Err(EINVAL);
        }
        let num = i32::from(num);
        // SAFETY: `as_raw()` returns a valid, bound `struct pci_dev`; `num` is a standard BAR
        // index (`bar_kind()` returns `None` for any other); `name` is a static C string, as the
        // resource keeps a pointer to it.
        let ret = unsafe { bindings::pci_request_region(as_raw(pdev), num, name.as_char_ptr()) };
        if ret != 0 {
            return Err(EBUSY);
        }
        // INVARIANT: the region is requested.
        Ok(Self { pdev, num })
    }
}

impl Drop for BarRequest<'_> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants, BAR `num` of the valid `pdev` was requested by us.
        unsafe { bindings::pci_release_region(as_raw(self.pdev), self.num) };
    }
}

/// `len` bytes of a BAR, mapped with `pci_iomap_range()`, unmapped on drop.
///
/// `SIZE` is a length the range is known to have at build time: accesses below it are checked
/// when the driver is built ([`IoKnownSize`]), the others when they run.
///
/// # Invariants
///
/// - `addr..addr + len` is a mapping of `len` bytes of a BAR of `pdev` made by
///   `pci_iomap_range()`, which `ioread8()` and friends accept, until this object is dropped.
/// - `len >= SIZE`, `len` is not zero, and `addr + len` does not overflow.
pub(crate) struct IoRange<'a, const SIZE: usize = 0> {
    pdev: &'a pci::Device<Bound>,
    addr: usize,
    len: usize,
}

impl<'a, const SIZE: usize> IoRange<'a, SIZE> {
    /// Maps `len` bytes at `offset` in BAR `num` of `pdev`.
    ///
    /// Fails with `EINVAL` if the BAR is not implemented, the range does not lie within it or is
    /// shorter than `SIZE` or empty, and with `ENOMEM` if it cannot be mapped.
    pub(crate) fn new(
        pdev: &'a pci::Device<Bound>,
        num: u8,
        offset: u64,
        len: u64,
    ) -> Result<Self> {
        if bar_kind(pdev, num) == BarKind::None {
            return Err(EINVAL);
        }
        let bar_len = pdev.resource_len(num.into())?;
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        let size = usize::try_from(len)?;
        // `pci_iomap_range()` maps less than asked at the end of the BAR: never ask for that.
        if size == 0 || size < SIZE || end > bar_len {
            return Err(EINVAL);
        }
        let offset = c_ulong::try_from(offset)?;
        let maxlen = c_ulong::try_from(len)?;
        // SAFETY: `as_raw()` returns a valid, bound `struct pci_dev`; `num` is a standard BAR
        // index (`bar_kind()` returns `None` for any other).
        let ptr = unsafe { bindings::pci_iomap_range(as_raw(pdev), num.into(), offset, maxlen) };
        if ptr.is_null() {
            return Err(ENOMEM);
        }
        let addr = ptr as usize;
        if addr.checked_add(size).is_none() {
            // SAFETY: `ptr` was mapped above for `pdev`, and is not used after this.
            unsafe { bindings::pci_iounmap(as_raw(pdev), ptr) };
            return Err(EINVAL);
        }
        // INVARIANT: `len` bytes of the BAR were mapped, as `offset + len` lies within it; the
        // lengths and the overflow were checked above.
        Ok(Self {
            pdev,
            addr,
            len: size,
        })
    }
}

impl<const SIZE: usize> Drop for IoRange<'_, SIZE> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants, `addr` was mapped for `pdev` by `pci_iomap_range()`
        // and is not used after this.
        unsafe { bindings::pci_iounmap(as_raw(self.pdev), self.addr as *mut c_void) };
    }
}

impl<const SIZE: usize> Io for IoRange<'_, SIZE> {
    #[inline]
    fn addr(&self) -> usize {
        self.addr
    }

    #[inline]
    fn maxsize(&self) -> usize {
        self.len
    }
}

impl<const SIZE: usize> IoKnownSize for IoRange<'_, SIZE> {
    // By the type invariants, the range is at least `SIZE` bytes long.
    const MIN_SIZE: usize = SIZE;
}

/// Implements [`IoCapable`] on [`IoRange`] for `$ty` with the accessors `$read` and `$write`.
macro_rules! impl_range_io_capable {
    ($ty:ty, $read:ident, $write:ident) => {
        impl<const SIZE: usize> IoCapable<$ty> for IoRange<'_, SIZE> {
            #[inline]
            unsafe fn io_read(&self, address: usize) -> $ty {
                // SAFETY: By the safety requirements, the access lies within this range, which
                // the type invariants say is mapped by `pci_iomap_range()`. The accessor
                // returns the register's width zero-extended: the cast only drops the zeros.
                unsafe { bindings::$read(address as *const c_void) as $ty }
            }

            #[inline]
            unsafe fn io_write(&self, value: $ty, address: usize) {
                // SAFETY: As above.
                unsafe { bindings::$write(value, address as *mut c_void) }
            }
        }
    };
}

impl_range_io_capable!(u8, ioread8, iowrite8);
impl_range_io_capable!(u16, ioread16, iowrite16);
impl_range_io_capable!(u32, ioread32, iowrite32);

/// A `T`-wide register of a shared [`IoRange`], checked against the range once, when it is
/// made: its accesses need no check. It keeps the range mapped.
///
/// # Invariants
///
/// `addr..addr + size_of::<T>()` lies within `range`, at an offset from its start aligned to
/// `size_of::<T>()`.
pub(crate) struct IoReg<'a, T> {
    range: Arc<IoRange<'a>>,
    addr: usize,
    _width: PhantomData<T>,
}

impl<'a, T> IoReg<'a, T>
where
    IoRange<'a>: IoCapable<T>,
{
    /// The register at `offset` in `range`; `EINVAL` if it does not lie within the range, or
    /// is not aligned to its width there.
    pub(crate) fn new(range: &Arc<IoRange<'a>>, offset: usize) -> Result<Self> {
        // The range's own check, made once.
        let addr = range.io_addr::<T>(offset)?;
        // INVARIANT: `io_addr()` checked the bounds and the alignment.
        Ok(Self {
            range: range.clone(),
            addr,
            _width: PhantomData,
        })
    }

    /// Writes `value` to the register.
    #[inline]
    pub(crate) fn write(&self, value: T) {
        // SAFETY: By the type invariant, the register lies within `range`.
        unsafe { self.range.io_write(value, self.addr) }
    }
}
