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

    /// Returns the raw `struct sk_buff`.
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

    /// Whether the skb holds no data.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
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
            let len = self.headlen() as usize;
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

    /// The shared information after the linear data (`skb_shinfo()`).
    fn shinfo(&self) -> *mut bindings::skb_shared_info {
        let skb = self.as_raw();
        // SAFETY: The skb is valid (type invariant). On 64-bit `end` is an offset from `head`
        // (`NET_SKBUFF_DATA_USES_OFFSET`; a pointer elsewhere, which the `u32` refuses to
        // build with), and the shared information starts there.
        unsafe {
            let end: u32 = (*skb).end;
            (*skb).head.add(end as usize).cast()
        }
    }

    /// Bytes in front of the data.
    fn headroom(&self) -> u32 {
        let skb = self.as_raw();
        // SAFETY: The skb is valid (type invariant); `data` points into the buffer at `head`,
        // less than 4 GiB after it (`skb_headroom()`).
        unsafe { (*skb).data.offset_from((*skb).head) as u32 }
    }

    /// Bytes of the linear part (`skb_headlen()`).
    pub(crate) fn headlen(&self) -> u32 {
        let skb = self.as_raw();
        // SAFETY: The skb is valid (type invariant); plain fields. `data_len` never exceeds
        // `len` in a valid skb; saturating keeps a corrupt one from panicking here.
        unsafe { (*skb).len.saturating_sub((*skb).data_len) }
    }

    /// Where a header of `len` bytes can be written right in front of the data, to go out
    /// with it: `None` if the headroom is too small or shared with a clone, or if the data is
    /// not aligned to `align` bytes (a power of two).
    pub(crate) fn header_room(&mut self, len: u32, align: u32) -> Option<*mut u8> {
        let data = self.data_ptr();
        if (data as usize) & (align as usize).wrapping_sub(1) != 0
            || self.headroom() < len
            || self.header_cloned()
        {
            return None;
        }
        // SAFETY: At least `len` bytes of headroom precede `data`.
        Some(unsafe { data.sub(len as usize) })
    }

    /// Whether a clone may still use the headroom (`skb_header_cloned()`).
    fn header_cloned(&self) -> bool {
        // SAFETY: The skb is valid (type invariant).
        unsafe { bindings::skb_header_cloned(self.as_raw()) }
    }

    /// The control buffer, the driver's while it transmits the skb.
    pub(crate) fn cb_ptr(&self) -> *mut u8 {
        // SAFETY: The skb is valid (type invariant).
        unsafe { (&raw mut (*self.as_raw()).cb).cast() }
    }

    /// Maps the paged data (the fragments after the linear part) into the `nents` entries at
    /// `sg`; returns how many it used.
    ///
    /// # Safety
    ///
    /// `sg` must be valid for writing `nents` initialised entries.
    pub(crate) unsafe fn frags_to_sgvec(
        &self,
        sg: *mut bindings::scatterlist,
        nents: usize,
    ) -> Result<usize> {
        let skb = self.as_raw();
        let shinfo = self.shinfo();
        let headlen = self.headlen();
        let paged = self.len() - headlen;
        if paged == 0 {
            return Ok(0);
        }
        // SAFETY: The shared information is valid while the skb is (type invariant).
        let (frag_list, nr_frags) = unsafe { ((*shinfo).frag_list, (*shinfo).nr_frags) };
        // `__skb_to_sgvec()` writes an entry per fragment without a bound: check it here. Our
        // devices never get a fragment list (no `NETIF_F_FRAGLIST`).
        if !frag_list.is_null() || usize::from(nr_frags) > nents {
            return Err(EMSGSIZE);
        }
        // SAFETY: The skb is valid; the data from `headlen` on is the fragments, which fit in
        // the `nents` entries at `sg` (checked above).
        let n = unsafe { bindings::skb_to_sgvec(skb, sg, headlen as i32, paged as i32) };
        usize::try_from(n).map_err(|_| EMSGSIZE)
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
        // `skb_tx_timestamp()` does nothing unless a PHY may timestamp, or the socket asked
        // for a software timestamp: look before the call.
        // SAFETY: The shared information is valid while the skb is (type invariant).
        let flags = u32::from(unsafe { (*self.shinfo()).tx_flags });
        if cfg!(CONFIG_NETWORK_PHY_TIMESTAMPING)
            || flags & (bindings::SKBTX_SW_TSTAMP | bindings::SKBTX_BPF) != 0
        {
            // SAFETY: The skb is valid (type invariant).
            unsafe { bindings::skb_tx_timestamp(self.as_raw()) }
        }
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
