// SPDX-License-Identifier: GPL-2.0

//! Socket buffers.
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h).

use super::Device;
use crate::bindings;
use core::ptr::NonNull;
use kernel::prelude::*;

/// The offloads the stack asks for a packet to transmit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TxOffload {
    /// The device must compute the checksum (`CHECKSUM_PARTIAL`).
    pub(crate) csum_partial: bool,
    /// Where checksumming starts, from the start of the data.
    pub(crate) csum_start: u32,
    /// Where the checksum goes, from `csum_start`.
    pub(crate) csum_offset: u32,
    /// GSO segment size; 0 if the packet is not to be segmented.
    pub(crate) gso_size: u32,
    /// GSO type in virtio-net terms (1 TCPv4, 4 TCPv6, 5 UDP, `| 0x80` ECN; 0xff unknown).
    pub(crate) gso_type: u8,
    /// Bytes in the linear part.
    pub(crate) headlen: u32,
}

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
        // SAFETY: The skb is valid (type invariant); a plain field, read in place as C does.
        unsafe { (*self.as_raw()).len }
    }

    /// Where the data starts.
    pub(crate) fn data_ptr(&self) -> *mut u8 {
        // SAFETY: The skb is valid (type invariant).
        unsafe { (*self.as_raw()).data }
    }

    /// Room after the data.
    pub(crate) fn tailroom(&self) -> u32 {
        // SAFETY: The skb is valid (type invariant).
        unsafe { bindings::skb_tailroom(self.as_raw()) }
    }

    /// The linear part of the data.
    pub(crate) fn head_data(&self) -> &[u8] {
        // SAFETY: The skb is valid; its linear data is `skb_headlen()` bytes at `data`, owned
        // by this skb while it is borrowed.
        unsafe {
            let len = bindings::skb_headlen(self.as_raw()) as usize;
            let data = self.data_ptr();
            if len == 0 || data.is_null() {
                return &[];
            }
            core::slice::from_raw_parts(data, len)
        }
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

    /// Appends `data` to the linear part, which must have room for it.
    pub(crate) fn put_data(&mut self, data: &[u8]) -> Result {
        let len = u32::try_from(data.len())?;
        if len > self.tailroom() {
            return Err(EINVAL);
        }
        // SAFETY: The skb is valid and has `len` bytes of tailroom; `data` is readable.
        unsafe { bindings::skb_put_data(self.as_raw(), data.as_ptr().cast(), len) };
        Ok(())
    }

    /// What the stack asks the device to do for this packet.
    pub(crate) fn tx_offload(&self) -> TxOffload {
        let (mut csum_start, mut csum_offset, mut gso_size, mut headlen) = (0, 0, 0, 0);
        // SAFETY: The skb is valid (type invariant); the helper only reads it.
        let r = unsafe {
            bindings::skb_tx_meta(
                self.as_raw(),
                &mut csum_start,
                &mut csum_offset,
                &mut gso_size,
                &mut headlen,
            )
        };
        TxOffload {
            csum_partial: r & 0x100 != 0,
            csum_start,
            csum_offset,
            gso_size,
            gso_type: (r & 0xff) as u8,
            headlen,
        }
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

    /// The transmit queue the stack chose.
    pub(crate) fn queue_mapping(&self) -> u16 {
        // SAFETY: The skb is valid (type invariant); a plain field, as `skb_get_queue_mapping()`
        // reads it.
        unsafe { (*self.as_raw()).queue_mapping }
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
