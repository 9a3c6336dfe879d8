// SPDX-License-Identifier: GPL-2.0

//! Socket buffers.
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h).

use super::Device;
use crate::bindings;
use core::ptr::NonNull;
use kernel::prelude::*;

/// An owned socket buffer: freed on drop, unless handed on.
///
/// # Invariants
///
/// `skb` is a valid `struct sk_buff` that this value owns.
pub(crate) struct SkBuff {
    skb: NonNull<bindings::sk_buff>,
}

// SAFETY: An skb may be handed between threads; its owner alone uses it.
unsafe impl Send for SkBuff {}

impl SkBuff {
    /// Takes ownership of `skb`.
    ///
    /// # Safety
    ///
    /// `skb` must be a valid, non-null skb whose ownership the caller hands over.
    pub(crate) unsafe fn from_raw(skb: *mut bindings::sk_buff) -> Self {
        // SAFETY: Non-null by the safety requirements.
        let skb = unsafe { NonNull::new_unchecked(skb) };
        Self { skb }
    }

    /// Gives up ownership.
    pub(crate) fn into_raw(self) -> *mut bindings::sk_buff {
        let skb = self.skb.as_ptr();
        core::mem::forget(self);
        skb
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::sk_buff {
        self.skb.as_ptr()
    }

    /// Allocates an skb for receiving on `dev`, with room for `len` bytes (atomic).
    pub(crate) fn alloc_rx(dev: &Device, len: u32) -> Option<Self> {
        // SAFETY: `dev` is valid; the allocation does not sleep.
        let skb =
            unsafe { bindings::netdev_alloc_skb_ip_align(dev.as_raw(), len, bindings::GFP_ATOMIC) };
        // SAFETY: A new skb, now owned by the caller.
        (!skb.is_null()).then(|| unsafe { Self::from_raw(skb) })
    }

    /// Bytes of data.
    pub(crate) fn len(&self) -> u32 {
        // SAFETY: The skb is valid (type invariant).
        unsafe { bindings::skb_len(self.as_raw()) }
    }

    /// Room after the data.
    pub(crate) fn tailroom(&self) -> u32 {
        // SAFETY: The skb is valid (type invariant).
        unsafe { bindings::skb_tailroom(self.as_raw()) }
    }

    /// Extends the data by `len` bytes of the tailroom (written by a device).
    pub(crate) fn put(&mut self, len: u32) -> Result {
        if len > self.tailroom() {
            return Err(EINVAL);
        }
        // SAFETY: The skb is valid and has `len` bytes of tailroom.
        unsafe { bindings::skb_put(self.as_raw(), len) };
        Ok(())
    }

    /// Removes `len` bytes from the start of the data.
    pub(crate) fn pull(&mut self, len: u32) -> Result {
        // SAFETY: The skb is valid; `skb_pull` refuses more than the linear data.
        let p = unsafe { bindings::skb_pull(self.as_raw(), len) };
        if p.is_null() {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Prepends `hdr`, making the head private and room for it first if needed.
    pub(crate) fn push(&mut self, hdr: &[u8]) -> Result {
        let len = u32::try_from(hdr.len())?;
        // SAFETY: The skb is valid.
        kernel::error::to_result(unsafe { bindings::skb_cow_head(self.as_raw(), len) })?;
        // SAFETY: The skb is valid, with `len` bytes of private headroom after `skb_cow_head`.
        let p = unsafe { bindings::skb_push(self.as_raw(), len) };
        // SAFETY: `p` points to the `len` bytes just pushed, owned by this skb.
        unsafe { core::ptr::copy_nonoverlapping(hdr.as_ptr(), p.cast::<u8>(), hdr.len()) };
        Ok(())
    }

    /// The transmit queue the stack chose.
    pub(crate) fn queue_mapping(&self) -> u16 {
        // SAFETY: The skb is valid (type invariant).
        unsafe { bindings::skb_get_queue_mapping(self.as_raw()) }
    }

    /// Sets the protocol from the Ethernet header, which it pulls, for receiving on `dev`.
    pub(crate) fn eth_type_trans(&mut self, dev: &Device) -> Result {
        if self.len() < bindings::ETH_HLEN {
            return Err(EINVAL);
        }
        // SAFETY: The skb is valid with a full Ethernet header; `dev` is valid.
        unsafe { bindings::skb_eth_type_trans(self.as_raw(), dev.as_raw()) };
        Ok(())
    }

    /// Records the receive queue, for the stack's flow steering.
    pub(crate) fn record_rx_queue(&mut self, queue: u16) {
        // SAFETY: The skb is valid (type invariant).
        unsafe { bindings::skb_record_rx_queue(self.as_raw(), queue) }
    }

    /// Takes the software transmit timestamp, if asked for.
    pub(crate) fn tx_timestamp(&mut self) {
        // SAFETY: The skb is valid (type invariant).
        unsafe { bindings::skb_tx_timestamp(self.as_raw()) }
    }

    /// Frees a transmitted skb from NAPI context (`budget` as the poll's; 0 from elsewhere).
    pub(crate) fn napi_consume(self, budget: u32) {
        // SAFETY: The skb is ours to free.
        unsafe { bindings::napi_consume_skb(self.into_raw(), budget as i32) }
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: The skb is ours (type invariant); this is fine in any context.
        unsafe { bindings::dev_kfree_skb_any(self.as_raw()) }
    }
}

/// Whether more packets follow in this transmit batch (the stack's `xmit_more` hint).
pub(crate) fn xmit_more() -> bool {
    // SAFETY: Reads a per-CPU flag of the transmit path.
    unsafe { bindings::netdev_xmit_more() }
}
