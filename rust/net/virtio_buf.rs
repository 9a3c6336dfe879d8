// SPDX-License-Identifier: GPL-2.0

//! Socket buffers as virtqueue buffers.

use super::SkBuff;
use crate::{
    bindings,
    virtio::{Buffer, SgList},
};
use core::ptr::NonNull;
use kernel::{ffi::c_void, prelude::*};

/// An empty skb on a receive queue: the device writes up to `cap` bytes at its data.
pub(crate) struct RxSkb {
    skb: SkBuff,
    cap: u32,
}

impl RxSkb {
    /// Posts `skb` for `cap` bytes, which must fit in its tailroom.
    pub(crate) fn new(skb: SkBuff, cap: u32) -> Result<Self> {
        if skb.len() != 0 || cap == 0 || cap > skb.tailroom() {
            return Err(EINVAL);
        }
        Ok(Self { skb, cap })
    }

    /// The device wrote `len` bytes: they become the skb's data.
    pub(crate) fn complete(self, len: u32) -> Result<SkBuff> {
        let mut skb = self.skb;
        skb.put(len)?;
        Ok(skb)
    }
}

// SAFETY: The entry covers `cap` bytes of the skb's tailroom (checked in `new`), owned by the
// skb, which the raw pointer keeps alive and nobody touches until `from_raw`.
unsafe impl Buffer for RxSkb {
    fn map(&self, sg: &mut SgList<'_>) -> Result {
        let (entries, n) = sg.remaining();
        if n == 0 {
            return Err(ENOSPC);
        }
        // SAFETY: `entries` has room for one entry; the skb's data has `cap` bytes of room.
        unsafe {
            bindings::sg_set_buf(
                entries,
                bindings::skb_data(self.skb.as_raw()).cast(),
                self.cap,
            )
        };
        sg.advance(1)
    }

    fn into_raw(self) -> NonNull<c_void> {
        // SAFETY: An owned skb pointer is never null.
        unsafe { NonNull::new_unchecked(self.skb.into_raw().cast()) }
    }

    unsafe fn from_raw(ptr: NonNull<c_void>) -> Self {
        // SAFETY: `ptr` comes from `into_raw`: an skb we own again.
        let skb = unsafe { SkBuff::from_raw(ptr.as_ptr().cast()) };
        // The device may have written at most the tailroom; `complete` checks `len` again.
        let cap = skb.tailroom();
        Self { skb, cap }
    }
}

/// An skb on a transmit queue, its data (with the virtio-net header pushed) read by the
/// device.
pub(crate) struct TxSkb(pub(crate) SkBuff);

// SAFETY: The entries cover the skb's data (linear part and fragments), owned by the skb,
// which the raw pointer keeps alive until `from_raw`; the device only reads it.
unsafe impl Buffer for TxSkb {
    fn map(&self, sg: &mut SgList<'_>) -> Result {
        let (entries, n) = sg.remaining();
        let len = i32::try_from(self.0.len())?;
        // SAFETY: The skb is valid.
        let needed = unsafe { bindings::skb_sg_entries(self.0.as_raw()) };
        if usize::try_from(needed).map_or(true, |needed| needed > n) {
            return Err(EMSGSIZE);
        }
        // SAFETY: `entries` has `n` free entries, as many as the skb's data needs at most.
        let used = unsafe { bindings::skb_to_sgvec(self.0.as_raw(), entries, 0, len) };
        let used = usize::try_from(used).map_err(|_| EMSGSIZE)?;
        sg.advance(used)
    }

    fn into_raw(self) -> NonNull<c_void> {
        // SAFETY: An owned skb pointer is never null.
        unsafe { NonNull::new_unchecked(self.0.into_raw().cast()) }
    }

    unsafe fn from_raw(ptr: NonNull<c_void>) -> Self {
        // SAFETY: `ptr` comes from `into_raw`: an skb we own again.
        Self(unsafe { SkBuff::from_raw(ptr.as_ptr().cast()) })
    }
}
