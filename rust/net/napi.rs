// SPDX-License-Identifier: GPL-2.0

//! NAPI: polling a device's queues from softirq context, with interrupts off meanwhile.
//!
//! A [`Napi`] lives in the private data `T` of a network device and is polled through
//! [`Poll::poll`] of `T`, with its id telling which queue it is.
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h).

use super::{Device, DeviceOf, Operations, SkBuff};
use crate::bindings;
use core::{marker::PhantomData, ops::Deref};
use kernel::{ffi::c_int, prelude::*, types::Opaque};

/// A driver whose device has NAPI contexts.
pub(crate) trait Poll: Operations {
    /// Processes up to `budget` received packets (or transmit completions) for `napi`;
    /// returns how many packets it processed. Below `budget`, it completes the poll with
    /// [`Polling::complete_done`].
    fn poll(&self, napi: &Polling<'_>, budget: u32) -> u32;
}

/// A NAPI context in its poll (softirq, this CPU owning the context): what only the poll
/// may do.
///
/// # Invariants
///
/// `napi` is being polled by the current CPU for as long as the value lives: the NAPI core's
/// poll callback makes one and lends it to [`Poll::poll`]; nothing else makes one, and it
/// cannot outlive the poll or leave its CPU.
pub(crate) struct Polling<'a> {
    napi: &'a Napi,
    _not_send: PhantomData<*mut ()>,
}

impl Deref for Polling<'_> {
    type Target = Napi;

    fn deref(&self) -> &Napi {
        self.napi
    }
}

impl Polling<'_> {
    /// Ends the poll, which did `work` packets; false if the poll must go on (it was
    /// rescheduled meanwhile, or busy polling owns it).
    pub(crate) fn complete_done(&self, work: u32) -> bool {
        // SAFETY: The context is valid and being polled by this CPU (type invariant).
        unsafe { bindings::napi_complete_done(self.napi.as_raw(), work as c_int) }
    }

    /// Allocates an skb with `len` bytes of linear room, from the per-CPU NAPI cache.
    pub(crate) fn alloc_skb(&self, len: u32) -> Option<SkBuff> {
        // SAFETY: The context is valid and being polled (softirq, type invariant).
        let skb = unsafe { bindings::napi_alloc_skb(self.napi.as_raw(), len) };
        // SAFETY: A new skb, owned by the caller.
        (!skb.is_null()).then(|| unsafe { SkBuff::from_raw(skb) })
    }

    /// Hands a received packet to the stack (GRO, whose lists are the context's).
    pub(crate) fn gro_receive(&self, skb: SkBuff) {
        // SAFETY: The context is valid and being polled by this CPU; the stack takes the skb.
        unsafe { bindings::napi_gro_receive(self.napi.as_raw(), skb.into_raw()) };
    }
}

/// A NAPI context.
///
/// # Invariants
///
/// `inner` was added to a device whose private data is a `T: Poll`, with `poll::<T>` as its
/// poll function, and is deleted on drop. `inner` comes first, so a pointer to it is one to
/// the [`Napi`].
#[repr(C)]
#[pin_data(PinnedDrop)]
pub(crate) struct Napi {
    #[pin]
    inner: Opaque<bindings::napi_struct>,
    id: u32,
}

// SAFETY: NAPI contexts are made to be scheduled from any CPU.
unsafe impl Send for Napi {}
// SAFETY: The methods reachable through `&Napi` are those the NAPI core allows concurrently.
unsafe impl Sync for Napi {}

impl Napi {
    /// A NAPI context of `dev`, known to `T` as `id`; `tx` for one that only completes
    /// transmissions. It starts disabled.
    pub(crate) fn new<T: Poll>(dev: &DeviceOf<T>, id: u32, tx: bool) -> impl PinInit<Self> + '_ {
        pin_init!(Self {
            inner <- Opaque::ffi_init(move |slot: *mut bindings::napi_struct| {
                // SAFETY: `slot` is pinned memory for a `struct napi_struct`, which stays
                // where it is until `drop` deletes it; the device outlives its private data.
                // The core expects the structure zeroed, as if allocated with the device.
                unsafe {
                    slot.write_bytes(0, 1);
                    if tx {
                        bindings::netif_napi_add_tx(dev.as_raw(), slot, Some(poll::<T>));
                    } else {
                        bindings::netif_napi_add(dev.as_raw(), slot, Some(poll::<T>));
                    }
                }
            }),
            id,
        })
    }

    fn as_raw(&self) -> *mut bindings::napi_struct {
        self.inner.get()
    }

    /// What the driver called this context.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// The device of the context.
    pub(crate) fn device(&self) -> &Device {
        // SAFETY: The context was added to a device that outlives it (type invariant).
        unsafe { Device::from_raw(bindings::napi_dev(self.as_raw())) }
    }

    /// Schedules a poll, unless one is scheduled or the context is disabled. Any context.
    pub(crate) fn schedule(&self) -> bool {
        // SAFETY: The context is valid (type invariant).
        unsafe { bindings::napi_schedule(self.as_raw()) }
    }

    /// Enables polling (process context).
    pub(crate) fn enable(&self) {
        // SAFETY: The context is valid (type invariant).
        unsafe { bindings::napi_enable(self.as_raw()) }
    }

    /// Disables polling, waiting for a poll in progress (process context).
    pub(crate) fn disable(&self) {
        // SAFETY: The context is valid (type invariant).
        unsafe { bindings::napi_disable(self.as_raw()) }
    }
}

#[pinned_drop]
impl PinnedDrop for Napi {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The context was added (type invariant) and is disabled: the device is
        // unregistered (closed) or never was.
        unsafe { bindings::netif_napi_del(self.as_raw()) };
    }
}

/// The poll function of every NAPI context of a `T` device.
///
/// # Safety
///
/// Called by the NAPI core, with a context added by [`Napi::new`] for `T`.
unsafe extern "C" fn poll<T: Poll>(napi: *mut bindings::napi_struct, budget: c_int) -> c_int {
    // SAFETY: `napi` is the first field of a `Napi` (`repr(C)`, type invariant).
    let n = unsafe { &*napi.cast::<Napi>() };
    // SAFETY: The context belongs to a device whose private data is an initialised `T`: it
    // is only polled once enabled, which the driver does on a registered device.
    let t = unsafe { &*super::priv_data::<T>(bindings::napi_dev(napi)) };
    let budget = u32::try_from(budget).unwrap_or(0);
    // INVARIANT: The NAPI core calls this on the CPU that owns the context, in softirq.
    let polling = Polling {
        napi: n,
        _not_send: PhantomData,
    };
    let done = t.poll(&polling, budget);
    done.min(budget) as c_int
}
