// SPDX-License-Identifier: GPL-2.0

//! Socket buffers and page fragments as virtqueue buffers, and the virtio-net header.

use super::SkBuff;
use crate::{
    bindings,
    virtio::{Buffer, SgList},
};
use core::ptr::NonNull;
use kernel::{ffi::c_void, prelude::*};

/// Fills one scatterlist entry with `len` bytes at `va`.
///
/// # Safety
///
/// `va` must be valid for `len` bytes of kernel memory from the page allocator or slab.
unsafe fn map_one(sg: &mut SgList<'_>, va: *const c_void, len: u32) -> Result {
    let (entries, n) = sg.remaining();
    if n == 0 {
        return Err(ENOSPC);
    }
    // SAFETY: `entries` has room for one entry; `va` is valid by the requirements.
    unsafe { bindings::sg_set_buf(entries, va, len) };
    sg.advance(1)
}

/// An empty skb on a receive queue: the device writes up to `cap` bytes at its data.
pub(crate) struct RxSkb {
    skb: SkBuff,
    cap: u32,
}

impl RxSkb {
    /// Posts `skb` for `cap` bytes, which must fit in its tailroom.
    pub(crate) fn new(skb: SkBuff, cap: u32) -> Result<Self> {
        if !skb.is_empty() || cap == 0 || cap > skb.tailroom() {
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
        // SAFETY: The skb's data has `cap` bytes of room, in its slab or page-fragment head.
        unsafe { map_one(sg, self.skb.data_ptr().cast(), self.cap) }
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

/// A page fragment of `LEN` bytes on a receive queue (mergeable receive buffers).
///
/// # Invariants
///
/// `va` is a fragment of `LEN` bytes from `netdev_alloc_frag()`, owned by this value.
pub(crate) struct RxFrag<const LEN: u32> {
    va: NonNull<u8>,
}

// SAFETY: A page fragment may be freed from any context and CPU.
unsafe impl<const LEN: u32> Send for RxFrag<LEN> {}

impl<const LEN: u32> RxFrag<LEN> {
    /// Allocates a fragment (atomic).
    pub(crate) fn alloc() -> Option<Self> {
        // SAFETY: Plain allocation, fine in any context.
        let va = NonNull::new(unsafe { bindings::netdev_alloc_frag(LEN) }.cast::<u8>())?;
        // INVARIANT: A new fragment of `LEN` bytes.
        Some(Self { va })
    }

    /// The device wrote `len` bytes of the fragment; `None` (the fragment is freed) if that
    /// is more than it has.
    pub(crate) fn complete(self, len: u32) -> Option<RxData> {
        if len > LEN {
            return None;
        }
        let va = self.va;
        core::mem::forget(self);
        // INVARIANT: `len` bytes of the fragment were written by the device.
        Some(RxData { va, len })
    }
}

impl<const LEN: u32> Drop for RxFrag<LEN> {
    fn drop(&mut self) {
        // SAFETY: The fragment is ours (type invariant).
        unsafe { bindings::skb_free_frag(self.va.as_ptr().cast()) }
    }
}

// SAFETY: The entry covers the `LEN` bytes of the fragment, which the raw pointer (the
// fragment's address) keeps until `from_raw`.
unsafe impl<const LEN: u32> Buffer for RxFrag<LEN> {
    fn map(&self, sg: &mut SgList<'_>) -> Result {
        // SAFETY: The fragment has `LEN` bytes of page memory (type invariant).
        unsafe { map_one(sg, self.va.as_ptr().cast(), LEN) }
    }

    fn into_raw(self) -> NonNull<c_void> {
        let va = self.va.cast();
        core::mem::forget(self);
        va
    }

    unsafe fn from_raw(ptr: NonNull<c_void>) -> Self {
        // INVARIANT: `ptr` comes from `into_raw` of an `RxFrag<LEN>`.
        Self { va: ptr.cast() }
    }
}

/// `N` page fragments of `LEN` bytes posted as one buffer: the device writes a packet across
/// them in order ("big packets": GSO packets received without mergeable buffers).
pub(crate) struct RxChain<const LEN: u32, const N: usize> {
    frags: KBox<[Option<RxFrag<LEN>>; N]>,
}

impl<const LEN: u32, const N: usize> RxChain<LEN, N> {
    /// Bytes the chain holds.
    pub(crate) const CAPACITY: u32 = LEN * N as u32;

    /// Allocates the fragments (atomic).
    pub(crate) fn alloc() -> Option<Self> {
        let mut frags = KBox::new(core::array::from_fn(|_| None), GFP_ATOMIC).ok()?;
        for f in frags.iter_mut() {
            *f = Some(RxFrag::alloc()?);
        }
        Some(Self { frags })
    }

    /// The device wrote `len` bytes: the fragments that hold them, in order; `None` (all
    /// freed) if that is more than the chain holds.
    pub(crate) fn complete(self, len: u32) -> Option<RxChainData<LEN, N>> {
        (len <= Self::CAPACITY).then_some(RxChainData {
            frags: self.frags,
            next: 0,
            left: len,
        })
    }
}

// SAFETY: The entries cover the `LEN` bytes of each fragment, all present (`alloc` fills every
// slot, and only `complete` takes them out), owned by the box that the raw pointer keeps until
// `from_raw`.
unsafe impl<const LEN: u32, const N: usize> Buffer for RxChain<LEN, N> {
    fn map(&self, sg: &mut SgList<'_>) -> Result {
        for frag in self.frags.iter() {
            frag.as_ref().ok_or(EINVAL)?.map(sg)?;
        }
        Ok(())
    }

    fn into_raw(self) -> NonNull<c_void> {
        // SAFETY: `KBox::into_raw` never returns null.
        unsafe { NonNull::new_unchecked(KBox::into_raw(self.frags).cast()) }
    }

    unsafe fn from_raw(ptr: NonNull<c_void>) -> Self {
        // SAFETY: `ptr` comes from `into_raw`: the box of a chain we own again.
        let frags = unsafe { KBox::from_raw(ptr.as_ptr().cast()) };
        Self { frags }
    }
}

/// The fragments of an [`RxChain`] that hold a received packet: yields each with the bytes
/// the device wrote in it. Fragments not taken are freed when this is dropped.
pub(crate) struct RxChainData<const LEN: u32, const N: usize> {
    frags: KBox<[Option<RxFrag<LEN>>; N]>,
    next: usize,
    left: u32,
}

impl<const LEN: u32, const N: usize> Iterator for RxChainData<LEN, N> {
    type Item = RxData;

    fn next(&mut self) -> Option<RxData> {
        if self.left == 0 {
            return None;
        }
        let frag = self.frags.get_mut(self.next)?.take()?;
        self.next += 1;
        let len = self.left.min(LEN);
        self.left -= len;
        frag.complete(len)
    }
}

/// Received bytes in a page fragment.
///
/// # Invariants
///
/// `va` is a fragment from `netdev_alloc_frag()`, owned by this value, whose first `len` bytes
/// the device wrote.
pub(crate) struct RxData {
    va: NonNull<u8>,
    len: u32,
}

// SAFETY: As for `RxFrag`.
unsafe impl Send for RxData {}

impl RxData {
    /// The bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: The first `len` bytes are initialised and owned (type invariant).
        unsafe { core::slice::from_raw_parts(self.va.as_ptr(), self.len as usize) }
    }

    /// Attaches the bytes from `offset` on to `skb` as a page fragment accounted as
    /// `truesize` bytes; hands them back if the skb has no fragment slot left.
    pub(crate) fn attach(self, skb: &mut SkBuff, offset: u32, truesize: u32) -> Result<(), Self> {
        if offset >= self.len {
            // Nothing left to attach: the fragment is freed.
            return Ok(());
        }
        // SAFETY: `offset < len`, so the pointer stays in the fragment.
        let va = unsafe { self.va.as_ptr().add(offset as usize) };
        // SAFETY: The skb is valid; `va` and the `len - offset` bytes after it are in a
        // fragment we own, whose page reference the skb takes on success.
        let ret = unsafe {
            bindings::skb_add_rx_frag_va(skb.as_raw(), va.cast(), self.len - offset, truesize)
        };
        if ret < 0 {
            return Err(self);
        }
        core::mem::forget(self);
        Ok(())
    }
}

impl Drop for RxData {
    fn drop(&mut self) {
        // SAFETY: The fragment is ours (type invariant).
        unsafe { bindings::skb_free_frag(self.va.as_ptr().cast()) }
    }
}

/// Applies a received virtio-net header (little endian; its first 10 bytes are the
/// `struct virtio_net_hdr`) to `skb`, whose data starts at the Ethernet header: checksum state
/// and GSO, validated by the kernel's `virtio_net_hdr_to_skb()`.
pub(crate) fn apply_rx_hdr(skb: &mut SkBuff, hdr: &[u8; 12]) -> Result {
    // SAFETY: The skb is valid; `hdr` holds the bytes of a whole `struct virtio_net_hdr` (10
    // of its 12), which the helper copies into an aligned structure before reading them.
    kernel::error::to_result(unsafe { bindings::virtio_net_hdr_to_skb(skb.as_raw(), hdr.as_ptr()) })
}

/// The virtio-net header that describes `skb` to the device for transmission (the 12 bytes of a
/// `struct virtio_net_hdr_mrg_rxbuf`, little endian): the checksum and segmentation the stack
/// asks for, from the kernel's `virtio_net_hdr_from_skb()`. `EINVAL` for a segmentation type
/// virtio-net cannot express.
pub(crate) fn tx_hdr(skb: &SkBuff) -> Result<[u8; 12]> {
    let mut hdr = [0u8; 12];
    // SAFETY: The skb is valid; the helper writes the 12 bytes of `hdr` and nothing else,
    // through a structure of its own (any alignment).
    let ret = unsafe { bindings::virtio_net_hdr_from_skb(skb.as_raw(), hdr.as_mut_ptr()) };
    // Once per packet: the only error is `EINVAL`, without a call to convert it.
    if ret != 0 {
        return Err(EINVAL);
    }
    Ok(hdr)
}

/// An skb on a transmit queue with its virtio-net header, both read by the device. The header
/// goes right in front of the data where the skb has room for it (header and linear data are
/// then one buffer for the device, as with virtio_net), else in the skb's control buffer, which
/// is the driver's while it transmits.
///
/// # Invariants
///
/// `hdr_len` bytes of header are in front of the skb's data, in its headroom and not shared
/// with a clone, if `in_headroom`; else at the start of its control buffer.
pub(crate) struct TxSkb {
    skb: SkBuff,
    hdr_len: u32,
    in_headroom: bool,
}

/// Room for a header in the control buffer (`sizeof(skb->cb)`).
const CB_LEN: usize = 48;

/// The alignment of the header's fields (`__le16`), for a header in the headroom.
const HDR_ALIGN: u32 = 2;

impl TxSkb {
    /// Puts `hdr` in front of `skb`'s data.
    pub(crate) fn new(mut skb: SkBuff, hdr: &[u8]) -> Result<Self, SkBuff> {
        if hdr.len() > CB_LEN {
            return Err(skb);
        }
        let hdr_len = hdr.len() as u32;
        let room = skb.header_room(hdr_len, HDR_ALIGN);
        let in_headroom = room.is_some();
        let dst = room.unwrap_or_else(|| skb.cb_ptr());
        // SAFETY: `dst` has room for `hdr_len` bytes: headroom of the skb not shared with a
        // clone (`header_room`), or its control buffer of `CB_LEN` bytes. Both are the
        // driver's while it transmits the skb.
        unsafe { core::ptr::copy_nonoverlapping(hdr.as_ptr(), dst, hdr.len()) };
        // INVARIANT: The header was just written where `in_headroom` says.
        Ok(Self {
            skb,
            hdr_len,
            in_headroom,
        })
    }

    /// The packet, after the device sent it.
    pub(crate) fn into_skb(self) -> SkBuff {
        self.skb
    }
}

// SAFETY: The entries cover the header (in the skb's headroom, or in its control buffer inside
// the slab-allocated `struct sk_buff`) and the skb's data (linear part and fragments), owned by
// the skb, which the raw pointer keeps alive until `from_raw`; the device only reads them.
unsafe impl Buffer for TxSkb {
    // Per packet sent: into `Virtqueue::add`, itself in the transmit path.
    #[inline(always)]
    fn map(&self, sg: &mut SgList<'_>) -> Result {
        // A header in front of the data goes with the linear part, as one entry.
        let pushed = if self.in_headroom {
            self.hdr_len
        } else {
            // SAFETY: The control buffer lives in the skb, with the header (type invariant).
            unsafe { map_one(sg, self.skb.cb_ptr().cast(), self.hdr_len)? };
            0
        };
        let linear = self.skb.headlen() + pushed;
        if linear != 0 {
            // SAFETY: The linear data and the `pushed` bytes of header in front of it (in the
            // headroom the skb owns, type invariant) are in the skb's head, from the slab or
            // the page allocator.
            unsafe { map_one(sg, self.skb.data_ptr().sub(pushed as usize).cast(), linear)? };
        }
        let (entries, n) = sg.remaining();
        // SAFETY: `entries` has `n` free, initialised entries.
        let used = unsafe { self.skb.frags_to_sgvec(entries, n)? };
        sg.advance(used)
    }

    fn into_raw(self) -> NonNull<c_void> {
        // SAFETY: An owned skb pointer is never null.
        unsafe { NonNull::new_unchecked(self.skb.into_raw().cast()) }
    }

    unsafe fn from_raw(ptr: NonNull<c_void>) -> Self {
        // SAFETY: `ptr` comes from `into_raw`: an skb we own again.
        let skb = unsafe { SkBuff::from_raw(ptr.as_ptr().cast()) };
        // The header is no longer needed once the device is done.
        Self {
            skb,
            hdr_len: 0,
            in_headroom: false,
        }
    }
}
