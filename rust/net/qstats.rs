// SPDX-License-Identifier: GPL-2.0

//! Per-queue statistics: what `struct netdev_stat_ops` reports over the netdev generic netlink
//! family (`qstats-get`).
//!
//! A driver reports each counter it keeps as `Some`; counters left `None` are reported as not
//! collected. The device-wide totals are the driver's base statistics plus the counters of the
//! active queues, so the base must hold what the active queues do not: the counters of queues
//! that are no longer in use (see [`super::Operations::base_stats`]).
//!
//! C header: [`include/net/netdev_queues.h`](srctree/include/net/netdev_queues.h).

use crate::bindings;

/// Adds `b` to `a` if both are reported; a counter `a` does not report stays unreported.
fn add(a: &mut Option<u64>, b: Option<u64>) {
    if let (Some(a), Some(b)) = (a.as_mut(), b) {
        *a = a.wrapping_add(b);
    }
}

/// Writes `v` into `out` if reported; otherwise leaves `out` as the core set it ("not
/// collected").
fn put(out: &mut u64, v: Option<u64>) {
    if let Some(v) = v {
        *out = v;
    }
}

/// Statistics of a receive queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RxQueueStats {
    /// Packets handed to the stack.
    pub(crate) packets: Option<u64>,
    /// Bytes of those packets (from the Ethernet header on).
    pub(crate) bytes: Option<u64>,
    /// Times a buffer or skb could not be allocated (`rx-alloc-fail`).
    pub(crate) alloc_fail: Option<u64>,
}

impl RxQueueStats {
    /// Adds the counters of `other` to those `self` reports.
    pub(crate) fn add(&mut self, other: &Self) {
        add(&mut self.packets, other.packets);
        add(&mut self.bytes, other.bytes);
        add(&mut self.alloc_fail, other.alloc_fail);
    }

    fn write(&self, out: &mut bindings::netdev_queue_stats_rx) {
        put(&mut out.packets, self.packets);
        put(&mut out.bytes, self.bytes);
        put(&mut out.alloc_fail, self.alloc_fail);
    }
}

/// Statistics of a transmit queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TxQueueStats {
    /// Packets the device sent.
    pub(crate) packets: Option<u64>,
    /// Bytes of those packets.
    pub(crate) bytes: Option<u64>,
    /// Times the driver stopped the queue because its ring was full (`tx-stop`).
    pub(crate) stop: Option<u64>,
    /// Times the driver woke the queue again (`tx-wake`).
    pub(crate) wake: Option<u64>,
}

impl TxQueueStats {
    /// Adds the counters of `other` to those `self` reports.
    pub(crate) fn add(&mut self, other: &Self) {
        add(&mut self.packets, other.packets);
        add(&mut self.bytes, other.bytes);
        add(&mut self.stop, other.stop);
        add(&mut self.wake, other.wake);
    }

    fn write(&self, out: &mut bindings::netdev_queue_stats_tx) {
        put(&mut out.packets, self.packets);
        put(&mut out.bytes, self.bytes);
        put(&mut out.stop, self.stop);
        put(&mut out.wake, self.wake);
    }
}

/// The `netdev_stat_ops` trampolines of `T`.
pub(super) struct Adapter<T>(core::marker::PhantomData<T>);

impl<T: super::Operations> Adapter<T> {
    /// The operations of `T`; `None` if it reports no per-queue statistics.
    pub(super) fn ops() -> Option<bindings::netdev_stat_ops> {
        if !T::HAS_QUEUE_STATS_RX && !T::HAS_QUEUE_STATS_TX {
            return None;
        }
        Some(bindings::netdev_stat_ops {
            get_queue_stats_rx: if T::HAS_QUEUE_STATS_RX {
                Some(Self::queue_stats_rx)
            } else {
                None
            },
            get_queue_stats_tx: if T::HAS_QUEUE_STATS_TX {
                Some(Self::queue_stats_tx)
            } else {
                None
            },
            get_base_stats: if T::HAS_BASE_STATS {
                Some(Self::base_stats)
            } else {
                None
            },
        })
    }

    extern "C" fn queue_stats_rx(
        dev: *mut bindings::net_device,
        index: kernel::ffi::c_int,
        out: *mut bindings::netdev_queue_stats_rx,
    ) {
        // SAFETY: The core calls the statistics operations of a registered device only.
        let (d, t) = unsafe { super::Adapter::<T>::get(dev) };
        // The core asks for active queues only, whose indices are not negative.
        let Ok(index) = u32::try_from(index) else {
            return;
        };
        let s = t.queue_stats_rx(d, index);
        // SAFETY: The core passes a statistics structure to fill, which nothing else uses
        // meanwhile.
        s.write(unsafe { &mut *out });
    }

    extern "C" fn queue_stats_tx(
        dev: *mut bindings::net_device,
        index: kernel::ffi::c_int,
        out: *mut bindings::netdev_queue_stats_tx,
    ) {
        // SAFETY: As in `queue_stats_rx`.
        let (d, t) = unsafe { super::Adapter::<T>::get(dev) };
        let Ok(index) = u32::try_from(index) else {
            return;
        };
        let s = t.queue_stats_tx(d, index);
        // SAFETY: As in `queue_stats_rx`.
        s.write(unsafe { &mut *out });
    }

    extern "C" fn base_stats(
        dev: *mut bindings::net_device,
        rx: *mut bindings::netdev_queue_stats_rx,
        tx: *mut bindings::netdev_queue_stats_tx,
    ) {
        // SAFETY: As in `queue_stats_rx`.
        let (d, t) = unsafe { super::Adapter::<T>::get(dev) };
        let (r, x) = t.base_stats(d);
        // SAFETY: The core passes two structures to fill, which nothing else uses meanwhile.
        unsafe {
            r.write(&mut *rx);
            x.write(&mut *tx);
        }
    }
}
