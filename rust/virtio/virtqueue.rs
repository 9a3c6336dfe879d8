// SPDX-License-Identifier: GPL-2.0

//! Virtqueues, as a driver uses them: buffers in, used buffers out, notifications.
//!
//! A driver creates all its queues at once with [`Device::find_vqs`](super::Device::find_vqs)
//! and takes each out as a [`Virtqueue`] typed by what it puts in: a [`Buffer`], which owns the
//! memory the device reads or writes until the device has used it. The queues are deleted
//! together, once the last of them is dropped; dropping a queue first resets the device (once),
//! so that the buffers still on it can be taken back and freed.
//!
//! A queue borrows its device for `'a`, the lifetime of the `&'a Device` it was created from:
//! the binding of the driver. It cannot outlive that binding; the driver keeps its queues in
//! its data of the same lifetime (see [`Driver::Data`](super::Driver::Data)), which is dropped
//! before the device is unbound.
//!
//! C header: [`include/linux/virtio.h`](srctree/include/linux/virtio.h).

use super::Device;
use crate::bindings;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    alloc::{KBox, KVec},
    ffi::{c_ulong, c_void},
    prelude::*,
    str::CString,
    sync::{
        atomic::{Acquire, Atomic, Relaxed, Release},
        Arc, UniqueArc,
    },
};

/// Scatter-gather entries a buffer may use: an skb's linear part and fragments, and a header.
pub(crate) const MAX_SG: usize = bindings::MAX_SKB_FRAGS as usize + 2;

// The end and chain marks in a scatterlist entry's `page_link` (small constants: no truncation).
const SG_END: c_ulong = bindings::SG_END as c_ulong;
const SG_CHAIN: c_ulong = bindings::SG_CHAIN as c_ulong;

/// Marks `sg` as the last entry of its list, as C's `sg_mark_end()`.
fn sg_mark_end(sg: &mut bindings::scatterlist) {
    sg.page_link = (sg.page_link | SG_END) & !SG_CHAIN;
}

/// Clears the end mark of `sg`, as C's `sg_unmark_end()`.
fn sg_unmark_end(sg: &mut bindings::scatterlist) {
    sg.page_link &= !SG_END;
}

/// The scatter-gather list a [`Buffer`] describes itself with.
pub(crate) struct SgList<'a> {
    sg: &'a mut [bindings::scatterlist; MAX_SG],
    used: usize,
}

impl SgList<'_> {
    /// The unused entries, for a C function that fills them.
    pub(crate) fn remaining(&mut self) -> (*mut bindings::scatterlist, usize) {
        // The index is at most `MAX_SG`, so the pointer stays in (or one past) the array.
        (self.sg[self.used..].as_mut_ptr(), MAX_SG - self.used)
    }

    /// Accounts for `n` entries filled through [`SgList::remaining`].
    pub(crate) fn advance(&mut self, n: usize) -> Result {
        if n > MAX_SG - self.used {
            return Err(EINVAL);
        }
        self.used += n;
        Ok(())
    }
}

/// What a driver puts on a virtqueue: something that owns device-accessible memory.
///
/// # Safety
///
/// - The entries [`Buffer::map`] adds describe memory owned by the value (virtually
///   contiguous kernel memory, from the page allocator or slab), which stays valid, and which
///   nothing else accesses, from [`Buffer::into_raw`] to [`Buffer::from_raw`].
/// - [`Buffer::into_raw`] returns a non-null pointer that [`Buffer::from_raw`] turns back into
///   the same value.
pub(crate) unsafe trait Buffer: Sized {
    /// Adds the buffer's memory to `sg`.
    fn map(&self, sg: &mut SgList<'_>) -> Result;

    /// Gives up ownership, for the time the device has the buffer.
    fn into_raw(self) -> NonNull<c_void>;

    /// Takes ownership back.
    ///
    /// # Safety
    ///
    /// `ptr` must come from [`Buffer::into_raw`] of the same type, and be used only once.
    unsafe fn from_raw(ptr: NonNull<c_void>) -> Self;
}

/// A queue a driver asks for.
pub(crate) struct QueueSpec {
    /// The queue's name, e.g. `input.0`; it shows in `/proc/interrupts`.
    pub(crate) name: CString,
    /// Whether the driver wants to hear when the device used buffers.
    pub(crate) callback: bool,
}

/// The queues of a device, deleted when the last [`Virtqueue`] and [`Virtqueues`] are gone.
///
/// # Invariants
///
/// `vdev` is a device whose queues were created and not deleted, and to which a driver is
/// bound for `'a` (it was borrowed as a `&'a Device`). `live` is the binding's mark that its
/// queues exist, set for this set: no other set of the device exists while this one does.
struct VqSet<'a> {
    vdev: NonNull<bindings::virtio_device>,
    /// Whether the device was reset (by the first queue dropped).
    reset: Atomic<u32>,
    /// The queue names: the vring points to them.
    _names: KVec<CString>,
    live: &'a Atomic<bool>,
}

// SAFETY: The device pointer may be used from any thread: the virtio core serialises the
// configuration operations used here (reset, del_vqs) with the driver's own callbacks.
unsafe impl Send for VqSet<'_> {}
// SAFETY: Only `reset_once` is reachable through a shared reference; it is atomic.
unsafe impl Sync for VqSet<'_> {}

impl VqSet<'_> {
    /// Resets the device, the first time it is called: afterwards the device uses no buffer.
    fn reset_once(&self) {
        if self.reset.xchg(1, Relaxed) == 0 {
            // SAFETY: The device is valid by the type invariant.
            unsafe { bindings::virtio_reset_device(self.vdev.as_ptr()) };
        }
    }
}

impl Drop for VqSet<'_> {
    fn drop(&mut self) {
        self.reset_once();
        // SAFETY: The device is valid and reset by the type invariant and `reset_once`; no
        // `Virtqueue` is left to use its queues, and no other set has queues of the device.
        unsafe { bindings::virtio_del_vqs(self.vdev.as_ptr()) };
        self.live.store(false, Release);
    }
}

/// All queues of a device, as [`Device::find_vqs`](super::Device::find_vqs) created them.
pub(crate) struct Virtqueues<'a> {
    set: Arc<VqSet<'a>>,
    /// The queues not taken yet (null once taken, or if the device has no such queue).
    vqs: KVec<*mut bindings::virtqueue>,
}

impl<'a> Virtqueues<'a> {
    /// Creates the queues of `dev`, whose binding marks with `live` that they exist; `EBUSY`
    /// if queues of the binding exist already.
    pub(super) fn create(
        dev: &'a Device,
        live: &'a Atomic<bool>,
        specs: KVec<QueueSpec>,
        callback: unsafe extern "C" fn(*mut bindings::virtqueue),
    ) -> Result<Self> {
        // A second set would delete the queues of the first when dropped, under its
        // `Virtqueue`s: one set at a time.
        if live.cmpxchg(false, true, Acquire).is_err() {
            return Err(EBUSY);
        }
        let ret = Self::create_marked(dev, live, specs, callback);
        if ret.is_err() {
            live.store(false, Release);
        }
        ret
    }

    fn create_marked(
        dev: &'a Device,
        live: &'a Atomic<bool>,
        specs: KVec<QueueSpec>,
        callback: unsafe extern "C" fn(*mut bindings::virtqueue),
    ) -> Result<Self> {
        let n = specs.len();
        let mut info = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut names = KVec::with_capacity(n, GFP_KERNEL)?;
        for spec in specs {
            info.push(
                bindings::virtqueue_info {
                    name: spec.name.as_char_ptr(),
                    callback: spec.callback.then_some(callback),
                    ctx: false,
                },
                GFP_KERNEL,
            )?;
            // Moving a `CString` does not move its characters.
            names.push(spec.name, GFP_KERNEL)?;
        }
        let mut raw = KVec::from_elem(core::ptr::null_mut(), n, GFP_KERNEL)?;
        let vdev = NonNull::new(dev.as_raw()).ok_or(EINVAL)?;
        // Allocated first: once the queues exist, nothing may fail.
        let set = UniqueArc::new_uninit(GFP_KERNEL)?;
        // SAFETY: The device is valid; `raw` and `info` have `n` entries, and the names they
        // point to live in `names`, which the queues do not outlive.
        kernel::error::to_result(unsafe {
            bindings::virtio_find_vqs(
                dev.as_raw(),
                u32::try_from(n)?,
                raw.as_mut_ptr(),
                info.as_mut_ptr(),
            )
        })?;
        // INVARIANT: The queues were created, the driver is bound to `dev` for `'a` (type
        // invariant of `Device`), and `live` is set for this set.
        let set = set.write(VqSet {
            vdev,
            reset: Atomic::new(0),
            _names: names,
            live,
        });
        Ok(Self {
            set: set.into(),
            vqs: raw,
        })
    }

    /// Takes queue `index` out, to put buffers of type `B` on it.
    pub(crate) fn take<B: Buffer>(&mut self, index: usize) -> Result<Virtqueue<'a, B>> {
        let slot = self.vqs.get_mut(index).ok_or(EINVAL)?;
        let vq = NonNull::new(core::mem::replace(slot, core::ptr::null_mut())).ok_or(EINVAL)?;
        let mut q = Virtqueue {
            vq,
            set: self.set.clone(),
            // SAFETY: All zeroes is a valid (empty) scatterlist entry.
            sg: unsafe { core::mem::zeroed() },
            _b: PhantomData,
        };
        // SAFETY: `sg` has `MAX_SG` entries.
        unsafe { bindings::sg_init_table(q.sg.as_mut_ptr(), MAX_SG as u32) };
        // The table's end mark is cleared: each buffer marks its own last entry.
        sg_unmark_end(&mut q.sg[MAX_SG - 1]);
        Ok(q)
    }
}

/// A virtqueue holding buffers of type `B`.
///
/// Operations that change the ring take `&mut self`: the caller serialises them (the vring
/// does not). Those the kernel allows concurrently take `&self`.
///
/// # Invariants
///
/// `vq` is a queue of `set`'s device, not deleted while `set` lives; the tokens on it are
/// [`Buffer::into_raw`] pointers of `B`.
pub(crate) struct Virtqueue<'a, B: Buffer> {
    vq: NonNull<bindings::virtqueue>,
    set: Arc<VqSet<'a>>,
    sg: [bindings::scatterlist; MAX_SG],
    _b: PhantomData<B>,
}

// SAFETY: The queue may be used from any thread; its buffers move with it.
unsafe impl<B: Buffer + Send> Send for Virtqueue<'_, B> {}
// SAFETY: Through a shared reference only the operations the vring allows concurrently are
// reachable (`poll`).
unsafe impl<B: Buffer + Send> Sync for Virtqueue<'_, B> {}

impl<B: Buffer> Virtqueue<'_, B> {
    fn as_raw(&self) -> *mut bindings::virtqueue {
        self.vq.as_ptr()
    }

    // Into each caller: the hot paths post one kind of buffer, in one direction.
    #[inline(always)]
    fn add(&mut self, buf: B, out: bool) -> Result<(), (Error, B)> {
        // The entries are initialised (`take`) and carry no end mark between two calls: the
        // one this sets is cleared again below, so nothing needs initialising per buffer.
        let mut list = SgList {
            sg: &mut self.sg,
            used: 0,
        };
        if let Err(e) = buf.map(&mut list) {
            return Err((e, buf));
        }
        let n = list.used;
        if n == 0 {
            return Err((EINVAL, buf));
        }
        sg_mark_end(&mut self.sg[n - 1]);
        let token = buf.into_raw();
        // SAFETY: The queue is valid by the type invariant and the caller serialises ring
        // operations (`&mut self`); the entries describe memory the token owns.
        let ret = unsafe {
            if out {
                bindings::virtqueue_add_outbuf(
                    self.as_raw(),
                    self.sg.as_mut_ptr(),
                    n as u32,
                    token.as_ptr(),
                    bindings::GFP_ATOMIC,
                )
            } else {
                bindings::virtqueue_add_inbuf(
                    self.as_raw(),
                    self.sg.as_mut_ptr(),
                    n as u32,
                    token.as_ptr(),
                    bindings::GFP_ATOMIC,
                )
            }
        };
        // The vring copied what it needed.
        sg_unmark_end(&mut self.sg[n - 1]);
        if ret < 0 {
            // SAFETY: The vring refused the buffer, so the token is ours again.
            return Err((Error::from_errno(ret), unsafe { B::from_raw(token) }));
        }
        Ok(())
    }

    /// Makes `buf` available for the device to read (without sleeping: the vring may allocate
    /// an indirect descriptor table with `GFP_ATOMIC`). On failure (`ENOSPC`: the ring is full)
    /// the buffer is handed back.
    #[inline]
    pub(crate) fn add_outbuf(&mut self, buf: B) -> Result<(), (Error, B)> {
        self.add(buf, true)
    }

    /// Makes `buf` available for the device to write.
    #[inline]
    pub(crate) fn add_inbuf(&mut self, buf: B) -> Result<(), (Error, B)> {
        self.add(buf, false)
    }

    /// Takes the next buffer the device used, with the number of bytes it wrote.
    pub(crate) fn get_buf(&mut self) -> Option<(B, u32)> {
        let mut len = 0u32;
        // SAFETY: The queue is valid and ring operations are serialised (`&mut self`).
        let token = unsafe { bindings::virtqueue_get_buf(self.as_raw(), &mut len) };
        // SAFETY: Tokens on the queue are `B::into_raw` pointers (type invariant), returned
        // once by the vring.
        NonNull::new(token).map(|t| (unsafe { B::from_raw(t) }, len))
    }

    /// Publishes the buffers added since the last kick and notifies the device if it wants.
    /// Returns false if the notification failed (the device is broken).
    pub(crate) fn kick(&mut self) -> bool {
        // SAFETY: The queue is valid and ring operations are serialised (`&mut self`);
        // notifying needs no serialisation. (`virtqueue_kick()` does the same, out of line.)
        unsafe {
            !bindings::virtqueue_kick_prepare(self.as_raw())
                || bindings::virtqueue_notify(self.as_raw())
        }
    }

    /// The number of descriptors of the ring.
    pub(crate) fn size(&self) -> u32 {
        // SAFETY: The queue is valid.
        unsafe { bindings::virtqueue_get_vring_size(self.as_raw()) }
    }

    /// Re-enables interrupts and returns an opaque position for [`Virtqueue::poll`].
    pub(crate) fn enable_cb_prepare(&mut self) -> u32 {
        // SAFETY: The queue is valid and ring operations are serialised (`&mut self`).
        unsafe { bindings::virtqueue_enable_cb_prepare(self.as_raw()) }
    }

    /// Asks the device not to interrupt for used buffers (a hint: one may still come).
    pub(crate) fn disable_cb(&mut self) {
        // SAFETY: The queue is valid and ring operations are serialised (`&mut self`).
        unsafe { bindings::virtqueue_disable_cb(self.as_raw()) }
    }

    /// Re-enables interrupts, for when about three quarters of the buffers now on the ring
    /// are used. Returns false if that many were used already: the caller then reclaims them
    /// itself (no interrupt is coming for them).
    pub(crate) fn enable_cb_delayed(&mut self) -> bool {
        // SAFETY: The queue is valid and ring operations are serialised (`&mut self`).
        unsafe { bindings::virtqueue_enable_cb_delayed(self.as_raw()) }
    }

    /// Whether buffers were used after the position `last` from
    /// [`Virtqueue::enable_cb_prepare`].
    pub(crate) fn poll(&self, last: u32) -> bool {
        // SAFETY: The queue is valid; polling needs no serialisation.
        unsafe { bindings::virtqueue_poll(self.as_raw(), last) }
    }

    /// Reads the status of the queue's device, through its transport: a transport that
    /// recovers devices takes the read as a request to check the device (the driver suspects
    /// it, for example after a transmit timeout).
    pub(crate) fn device_status(&self) -> u8 {
        // SAFETY: The queue is valid, and so is its device, which outlives its queues; reading
        // the status needs no serialisation.
        unsafe { bindings::virtio_get_status((*self.as_raw()).vdev) }
    }

    /// Free descriptors.
    pub(crate) fn num_free(&self) -> u32 {
        // SAFETY: The queue is valid; the field is only written by ring operations, which the
        // caller serialises with this read.
        unsafe { (*self.as_raw()).num_free }
    }
}

/// A request on a control queue: bytes the device reads, followed by room for bytes it
/// writes (its answer).
///
/// # Invariants
///
/// `buf` has `out_len` bytes for the device to read, then the bytes it writes; it is
/// slab memory that moves with the value (a `KVec`'s storage does not move).
pub(crate) struct Request {
    buf: KVec<u8>,
    out_len: usize,
}

impl Request {
    /// A request of the concatenation of `out`, with `in_len` bytes for the answer.
    pub(crate) fn new(out: &[&[u8]], in_len: usize) -> Result<Self> {
        let out_len = out.iter().map(|p| p.len()).sum::<usize>();
        if out_len == 0 || in_len == 0 {
            return Err(EINVAL);
        }
        let mut buf = KVec::with_capacity(out_len + in_len, GFP_KERNEL)?;
        for part in out {
            buf.extend_from_slice(part, GFP_KERNEL)?;
        }
        buf.extend_from_slice(&KVec::from_elem(0u8, in_len, GFP_KERNEL)?, GFP_KERNEL)?;
        Ok(Self { buf, out_len })
    }

    /// The device's answer (once it used the request).
    pub(crate) fn answer(&self) -> &[u8] {
        &self.buf[self.out_len..]
    }
}

impl Virtqueue<'_, KBox<Request>> {
    /// Makes `req` available to the device: its first part to read, its answer to write.
    pub(crate) fn add_request(&mut self, req: KBox<Request>) -> Result<(), (Error, KBox<Request>)> {
        let out_len = req.out_len;
        let in_len = req.buf.len() - out_len;
        let base = req.buf.as_ptr();
        // SAFETY: `sg` has `MAX_SG` (at least 2) entries; each is a list of one entry over
        // part of `buf` (slab memory), which the token keeps until the device used it.
        unsafe {
            bindings::sg_init_one(&raw mut self.sg[0], base.cast(), out_len as u32);
            bindings::sg_init_one(&raw mut self.sg[1], base.add(out_len).cast(), in_len as u32);
        }
        let mut lists = [&raw mut self.sg[0], &raw mut self.sg[1]];
        let token = KBox::into_raw(req);
        // SAFETY: The queue is valid and ring operations are serialised (`&mut self`); the
        // lists describe memory the token owns.
        let ret = unsafe {
            bindings::virtqueue_add_sgs(
                self.as_raw(),
                lists.as_mut_ptr(),
                1,
                1,
                token.cast(),
                bindings::GFP_ATOMIC,
            )
        };
        // `sg_init_one` marked both entries as list ends; the vring is done with them.
        sg_unmark_end(&mut self.sg[0]);
        sg_unmark_end(&mut self.sg[1]);
        if ret < 0 {
            // SAFETY: The vring refused it: the token is ours again.
            return Err((Error::from_errno(ret), unsafe { KBox::from_raw(token) }));
        }
        Ok(())
    }
}

// SAFETY: `add_request` is the only way a request gets on a queue: it maps the request's own
// buffer. `map` is never used for it.
unsafe impl Buffer for KBox<Request> {
    fn map(&self, _sg: &mut SgList<'_>) -> Result {
        Err(EINVAL)
    }

    fn into_raw(self) -> NonNull<c_void> {
        // SAFETY: A box pointer is never null.
        unsafe { NonNull::new_unchecked(KBox::into_raw(self).cast()) }
    }

    unsafe fn from_raw(ptr: NonNull<c_void>) -> Self {
        // SAFETY: `ptr` comes from `KBox::into_raw` in `add_request` or `into_raw`.
        unsafe { KBox::from_raw(ptr.as_ptr().cast()) }
    }
}

impl<B: Buffer> Virtqueue<'_, B> {
    /// Whether the device or the driver declared the queue unusable.
    pub(crate) fn is_broken(&self) -> bool {
        // SAFETY: The queue is valid.
        unsafe { bindings::virtqueue_is_broken(self.as_raw()) }
    }

    /// Resets the device (once for all its queues) and takes back a buffer it had not used;
    /// `None` when none is left. The queue is of no further use.
    pub(crate) fn take_unused(&mut self) -> Option<B> {
        self.set.reset_once();
        // SAFETY: The queue is valid and its device reset; `&mut self` serialises.
        let token = unsafe { bindings::virtqueue_detach_unused_buf(self.as_raw()) };
        // SAFETY: Tokens on the queue are `B::into_raw` pointers, detached once.
        NonNull::new(token).map(|t| unsafe { B::from_raw(t) })
    }
}

impl<B: Buffer> Drop for Virtqueue<'_, B> {
    fn drop(&mut self) {
        // Buffers can only be taken back from a device that no longer uses them.
        self.set.reset_once();
        loop {
            // SAFETY: The queue is valid and its device reset; `&mut self` serialises.
            let token = unsafe { bindings::virtqueue_detach_unused_buf(self.as_raw()) };
            let Some(token) = NonNull::new(token) else {
                break;
            };
            // SAFETY: Tokens on the queue are `B::into_raw` pointers, detached once.
            drop(unsafe { B::from_raw(token) });
        }
    }
}
