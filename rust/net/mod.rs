// SPDX-License-Identifier: GPL-2.0

//! Network devices.
//!
//! A driver's data lives in the `struct net_device`'s private area, as in C: [`Registration`]
//! allocates an Ethernet device with room for a `T: `[`Operations`], initialises `T` there,
//! and registers the device; the `net_device_ops` callbacks reach `T` through it. Dropping the
//! registration unregisters the device, drops `T`, and frees the device.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/etherdevice.h`](srctree/include/linux/etherdevice.h).

pub(crate) mod ethtool;
pub(crate) mod fault;
pub(crate) mod napi;
pub(crate) mod qstats;
pub(crate) mod skbuff;
mod virtio_buf;

use crate::bindings;
use core::{cell::UnsafeCell, marker::PhantomData, mem, ptr::NonNull};
use kernel::{
    device,
    error::from_result,
    ffi::c_int,
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
    types::Opaque,
};
pub(crate) use napi::{Napi, Polling};
pub(crate) use qstats::{RxQueueStats, TxQueueStats};
pub(crate) use skbuff::SkBuff;
pub(crate) use virtio_buf::{apply_rx_hdr, tx_hdr, RxChain, RxData, RxFrag, RxSkb, TxSkb};

/// Offload features of a device (`NETIF_F_*`), as [`Device::set_features`] takes them.
pub(crate) mod features {
    use crate::bindings;

    /// Scatter-gather transmit.
    pub(crate) const SG: u64 = 1 << bindings::NETIF_F_SG_BIT;
    /// Transmit checksums of any protocol.
    pub(crate) const HW_CSUM: u64 = 1 << bindings::NETIF_F_HW_CSUM_BIT;
    /// TCPv4 segmentation.
    pub(crate) const TSO: u64 = 1 << bindings::NETIF_F_TSO_BIT;
    /// TCPv6 segmentation.
    pub(crate) const TSO6: u64 = 1 << bindings::NETIF_F_TSO6_BIT;
    /// Segmentation with ECN.
    pub(crate) const TSO_ECN: u64 = 1 << bindings::NETIF_F_TSO_ECN_BIT;
    /// Receive checksums checked by the device.
    pub(crate) const RXCSUM: u64 = 1 << bindings::NETIF_F_RXCSUM_BIT;
    /// Receive packets coalesced by the device, as GRO would (`rx-gro-hw`).
    pub(crate) const GRO_HW: u64 = 1 << bindings::NETIF_F_GRO_HW_BIT;
    /// VLAN filtering by the device.
    pub(crate) const HW_VLAN_CTAG_FILTER: u64 = 1 << bindings::NETIF_F_HW_VLAN_CTAG_FILTER_BIT;
    /// Any memory can be transmitted from.
    pub(crate) const HIGHDMA: u64 = 1 << bindings::NETIF_F_HIGHDMA_BIT;
}

/// Length of an Ethernet address.
pub(crate) const ETH_ALEN: usize = bindings::ETH_ALEN as usize;

/// An Ethernet address.
pub(crate) type MacAddr = [u8; ETH_ALEN];

/// The number of CPUs online.
pub(crate) fn num_online_cpus() -> u32 {
    // SAFETY: Reads a global count.
    unsafe { bindings::num_online_cpus() }
}

/// Whether `addr` can be a device's address: not multicast, not all zeroes.
pub(crate) fn is_valid_ether_addr(addr: &MacAddr) -> bool {
    addr[0] & 1 == 0 && addr.iter().any(|&b| b != 0)
}

/// A network device.
///
/// # Invariants
///
/// The wrapped `struct net_device` is allocated (and not yet freed) by a [`Registration`].
#[repr(transparent)]
pub(crate) struct Device(Opaque<bindings::net_device>);

impl Device {
    /// # Safety
    ///
    /// `ptr` must point to a `struct net_device` of a [`Registration`] that lives for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // SAFETY: `Device` is transparent over `struct net_device`; valid by the requirements.
        unsafe { &*ptr.cast() }
    }

    /// Returns the raw `struct net_device`.
    pub(crate) fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// The interface name, e.g. `eth0`.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: The device is valid; its name is a NUL-terminated string inside it.
        unsafe { CStr::from_char_ptr(bindings::netdev_name(self.as_raw())) }
    }

    /// The maximum transmission unit.
    pub(crate) fn mtu(&self) -> u32 {
        // SAFETY: The device is valid by the type invariant.
        unsafe { bindings::netdev_mtu(self.as_raw()) }
    }

    /// Sets the MTU (before registration, or from [`Operations::change_mtu`]).
    pub(crate) fn set_mtu(&self, mtu: u32) {
        // SAFETY: The device is valid by the type invariant.
        unsafe { bindings::netdev_set_mtu(self.as_raw(), mtu) }
    }

    /// Sets the range [`Operations::change_mtu`] is called with.
    pub(crate) fn set_mtu_range(&self, min: u32, max: u32) {
        // SAFETY: The device is valid; called before registration.
        unsafe { bindings::netdev_set_mtu_range(self.as_raw(), min, max) }
    }

    /// Asks the stack for `len` bytes of headroom in front of the link-layer header of the
    /// packets it builds for the device (`LL_RESERVED_SPACE`); before registration.
    pub(crate) fn set_needed_headroom(&self, len: u16) {
        // SAFETY: The device is valid; called before registration.
        unsafe { bindings::netdev_set_needed_headroom(self.as_raw(), len) }
    }

    /// The device's Ethernet address.
    pub(crate) fn addr(&self) -> MacAddr {
        let mut a = [0u8; ETH_ALEN];
        // SAFETY: The device is valid; `a` has room for an address.
        unsafe { bindings::netdev_addr(self.as_raw(), a.as_mut_ptr()) };
        a
    }

    /// Sets the device's Ethernet address.
    pub(crate) fn set_addr(&self, addr: &MacAddr) {
        // SAFETY: The device is valid; `addr` is an address.
        unsafe { bindings::eth_hw_addr_set(self.as_raw(), addr.as_ptr()) }
    }

    /// Gives the device a random locally administered address.
    pub(crate) fn set_random_addr(&self) {
        // SAFETY: The device is valid by the type invariant.
        unsafe { bindings::eth_hw_addr_random(self.as_raw()) }
    }

    /// Sets the offloads the device can do (`hw`, toggled with `ethtool -K`) and those enabled
    /// now (`active`), as [`features`] bits; before registration.
    pub(crate) fn set_features(&self, hw: u64, active: u64) {
        // SAFETY: The device is valid; called before registration.
        unsafe { bindings::netdev_set_features(self.as_raw(), hw, active) }
    }

    /// The offloads enabled now, as [`features`] bits.
    pub(crate) fn features(&self) -> u64 {
        // SAFETY: The device is valid by the type invariant.
        unsafe { bindings::netdev_features(self.as_raw()) }
    }

    /// Whether the interface is up.
    pub(crate) fn is_running(&self) -> bool {
        // SAFETY: The device is valid by the type invariant.
        unsafe { bindings::netif_running(self.as_raw()) }
    }

    /// Reports the link up.
    pub(crate) fn carrier_on(&self) {
        // SAFETY: The device is valid by the type invariant.
        unsafe { bindings::netif_carrier_on(self.as_raw()) }
    }

    /// Reports the link down.
    pub(crate) fn carrier_off(&self) {
        // SAFETY: The device is valid by the type invariant.
        unsafe { bindings::netif_carrier_off(self.as_raw()) }
    }

    /// Uses `n` transmit and receive queues (of those allocated); under the rtnl lock once
    /// registered.
    pub(crate) fn set_real_num_queues(&self, n: u32) -> Result {
        // SAFETY: The device is valid; the core checks `n` against the allocated queues.
        kernel::error::to_result(unsafe {
            bindings::netif_set_real_num_tx_queues(self.as_raw(), n)
        })?;
        // SAFETY: As above.
        kernel::error::to_result(unsafe {
            bindings::netif_set_real_num_rx_queues(self.as_raw(), n)
        })
    }

    /// Runs the driver's [`Operations::deferred_work`] in `delay_ms` milliseconds (any
    /// context; nothing if already scheduled).
    pub(crate) fn schedule_deferred(&self, delay_ms: u32) {
        // SAFETY: The device belongs to a `Registration`, whose work is initialised before
        // registration and cancelled in `drop`.
        unsafe {
            let w = priv_deferred(self.as_raw());
            if (*w).enabled {
                bindings::schedule_delayed_work_ms((*w).dwork.get(), delay_ms);
            }
        }
    }

    /// Transmit queue `index`, if the device has it (`num_tx_queues`, the queues allocated).
    fn tx_queue(&self, index: u16) -> Option<NonNull<bindings::netdev_queue>> {
        // SAFETY: The device is valid; the helper checks the index.
        NonNull::new(unsafe { bindings::netdev_txq(self.as_raw(), index.into()) })
    }

    /// Stops the stack from transmitting on queue `index`; nothing if the device has no such
    /// queue.
    pub(crate) fn stop_queue(&self, index: u16) {
        if let Some(txq) = self.tx_queue(index) {
            // SAFETY: `txq` is a queue of the device, valid as long as the device.
            unsafe { bindings::netif_tx_stop_queue(txq.as_ptr()) }
        }
    }

    /// Lets the stack transmit on queue `index` again; nothing if the device has no such
    /// queue.
    pub(crate) fn wake_queue(&self, index: u16) {
        if let Some(txq) = self.tx_queue(index) {
            // SAFETY: As in `stop_queue`.
            unsafe { bindings::netif_tx_wake_queue(txq.as_ptr()) }
        }
    }

    /// Whether queue `index` is stopped; a queue the device does not have is.
    pub(crate) fn queue_stopped(&self, index: u16) -> bool {
        self.tx_queue(index).is_none_or(|txq| {
            // SAFETY: As in `stop_queue`.
            unsafe { bindings::netif_tx_queue_stopped(txq.as_ptr()) }
        })
    }

    /// The receive queues in use (see [`Device::set_real_num_queues`]); stable under rtnl.
    pub(crate) fn real_num_rx_queues(&self) -> u32 {
        // SAFETY: The device is valid by the type invariant.
        unsafe { bindings::netdev_real_num_rx_queues(self.as_raw()) }
    }

    /// The transmit queues in use; stable under rtnl.
    pub(crate) fn real_num_tx_queues(&self) -> u32 {
        // SAFETY: The device is valid by the type invariant.
        unsafe { bindings::netdev_real_num_tx_queues(self.as_raw()) }
    }
}

impl Device {
    /// Takes the xmit lock of transmit queue `index` (bottom halves off), as the stack holds
    /// it while it transmits: for completing packets outside transmit. `None` if the device
    /// has no such queue. Spins while the stack transmits on the queue.
    pub(crate) fn lock_tx_queue(&self, index: u16) -> Option<TxQueueLocked<'_>> {
        let txq = self.tx_queue(index)?;
        // SAFETY: `txq` is a queue of the device, valid as long as the device.
        unsafe { bindings::netdev_txq_lock_bh(txq.as_ptr()) };
        // INVARIANT: The lock was just taken, and the guard releases it.
        Some(TxQueueLocked {
            txq,
            dev: NonNull::from(self),
            index,
            owned: true,
            _p: PhantomData,
        })
    }

    /// As [`Device::lock_tx_queue`], but `None` at once if the lock is held elsewhere.
    pub(crate) fn try_lock_tx_queue(&self, index: u16) -> Option<TxQueueLocked<'_>> {
        let txq = self.tx_queue(index)?;
        // SAFETY: `txq` is a queue of the device, valid as long as the device.
        if !unsafe { bindings::netdev_txq_trylock_bh(txq.as_ptr()) } {
            return None;
        }
        // INVARIANT: The lock was just taken, and the guard releases it.
        Some(TxQueueLocked {
            txq,
            dev: NonNull::from(self),
            index,
            owned: true,
            _p: PhantomData,
        })
    }

    /// Marks the device absent (it is being reset) and stops its transmit queues.
    pub(crate) fn detach(&self) {
        // SAFETY: The device is valid by the type invariant.
        unsafe { bindings::netif_device_detach(self.as_raw()) }
    }

    /// Marks the device present again and wakes its transmit queues if it is up.
    pub(crate) fn attach(&self) {
        // SAFETY: The device is valid by the type invariant.
        unsafe { bindings::netif_device_attach(self.as_raw()) }
    }
}

/// A transmit queue of a device, its xmit lock held: by the stack around
/// [`Operations::start_xmit`], or by the driver ([`Device::lock_tx_queue`]) to complete
/// packets. Byte queue limits (BQL), which stop the queue when enough bytes are in flight,
/// count under that lock: [`TxQueueLocked::sent`] for each packet given to the device,
/// [`TxQueueLocked::completed`] for the packets it sent, [`TxQueueLocked::reset`] for those
/// dropped unsent.
///
/// # Invariants
///
/// `txq` is transmit queue `index` of a device that outlives `'a`, and its xmit lock is held
/// while this lives: by this guard if `owned` (released on drop), else by the stack.
pub(crate) struct TxQueueLocked<'a> {
    txq: NonNull<bindings::netdev_queue>,
    /// The device, to tell whose queue this is ([`XmitCell::get`]).
    dev: NonNull<Device>,
    index: u16,
    owned: bool,
    /// Bound to the device and to this CPU (the lock is released where it was taken).
    _p: PhantomData<(&'a Device, kernel::types::NotThreadSafe)>,
}

impl<'a> TxQueueLocked<'a> {
    /// The queue the stack is transmitting on.
    ///
    /// `None` if the device has no queue `index`.
    ///
    /// # Safety
    ///
    /// The caller holds the xmit lock of queue `index` of `dev` for `'a`.
    unsafe fn held(dev: &'a Device, index: u16) -> Option<Self> {
        let txq = dev.tx_queue(index)?;
        // INVARIANT: The caller holds the lock.
        Some(Self {
            txq,
            dev: NonNull::from(dev),
            index,
            owned: false,
            _p: PhantomData,
        })
    }

    /// The queue's index.
    pub(crate) fn index(&self) -> u16 {
        self.index
    }

    /// Counts `bytes` of a packet just given to the device; `more` is the stack's
    /// `xmit_more`. Returns whether to notify the device now: at the end of a burst, or if the
    /// queue is stopped (then the stack sends no more until it is woken).
    pub(crate) fn sent(&self, bytes: u32, more: bool) -> bool {
        // SAFETY: The queue is valid and its lock held (type invariant).
        unsafe { bindings::netdev_txq_sent(self.txq.as_ptr(), bytes, more) }
    }

    /// Counts `packets` of `bytes` the device sent, each counted by [`TxQueueLocked::sent`]
    /// before; wakes a queue that BQL stopped once enough is done.
    pub(crate) fn completed(&self, packets: u32, bytes: u32) {
        // SAFETY: The queue is valid and its lock held (type invariant).
        unsafe { bindings::netdev_txq_completed(self.txq.as_ptr(), packets, bytes) }
    }

    /// Forgets the packets in flight: the device dropped them unsent (it was reset).
    pub(crate) fn reset(&self) {
        // SAFETY: The queue is valid and its lock held (type invariant).
        unsafe { bindings::netdev_txq_reset(self.txq.as_ptr()) }
    }
}

impl Drop for TxQueueLocked<'_> {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: This guard took the lock, on this CPU (type invariant).
            unsafe { bindings::netdev_txq_unlock_bh(self.txq.as_ptr()) }
        }
    }
}

/// Data that the xmit lock of a transmit queue protects, such as the driver's ring of that
/// queue: transmit, which runs under the lock, and whatever completes packets under it
/// ([`Device::lock_tx_queue`]) use it without a lock of their own, as C drivers do.
///
/// # Invariants
///
/// `data` is only accessed with the xmit lock of queue `index` of `dev` held.
pub(crate) struct XmitCell<T> {
    dev: NonNull<Device>,
    index: u16,
    data: UnsafeCell<T>,
}

// SAFETY: The data moves with the cell; `T: Send` lets it go to another thread.
unsafe impl<T: Send> Send for XmitCell<T> {}
// SAFETY: Shared references only reach the data with the queue's lock held (type invariant),
// which makes accesses from different threads exclusive; `T: Send` as the lock hands it over.
unsafe impl<T: Send> Sync for XmitCell<T> {}

impl<T> XmitCell<T> {
    /// Data for transmit queue `index` of `dev`.
    pub(crate) fn new(dev: &Device, index: u16, data: T) -> Self {
        // INVARIANT: Not shared yet; `get` checks the lock from now on.
        Self {
            dev: NonNull::from(dev),
            index,
            data: UnsafeCell::new(data),
        }
    }

    /// The data, through the lock of its queue, and the lock again for the byte queue
    /// limits; `None` if `txq` is not this cell's queue.
    pub(crate) fn get<'b, 'a>(
        &'b self,
        txq: &'b mut TxQueueLocked<'a>,
    ) -> Option<(&'b mut T, &'b TxQueueLocked<'a>)> {
        if txq.dev != self.dev || txq.index != self.index {
            return None;
        }
        // SAFETY: `txq` holds the lock of this cell's queue, and is borrowed mutably for as long
        // as the reference lives: no other reference to the data can be made meanwhile (there
        // is one guard of a held lock at a time).
        Some((unsafe { &mut *self.data.get() }, txq))
    }
}

/// Bottom halves (softirqs, so NAPI and transmit) off on this CPU while it lives: for taking
/// from process context a lock that NAPI or transmit take too.
pub(crate) struct BhDisabled(kernel::types::NotThreadSafe);

impl BhDisabled {
    /// Disables bottom halves until the value is dropped.
    pub(crate) fn disable() -> Self {
        // SAFETY: Re-enabled in `drop`, on the same CPU (the value is not `Send`).
        unsafe { bindings::local_bh_disable() };
        Self(kernel::types::NotThreadSafe)
    }
}

impl Drop for BhDisabled {
    fn drop(&mut self) {
        // SAFETY: Disabled in `new` on this CPU.
        unsafe { bindings::local_bh_enable() };
    }
}

/// The rtnl lock, held: network device operations other than transmit do not run meanwhile.
pub(crate) struct Rtnl(PhantomData<*mut ()>);

impl Rtnl {
    /// Takes the lock (process context, may sleep).
    pub(crate) fn lock() -> Self {
        // SAFETY: Process context; released on drop.
        unsafe { bindings::rtnl_lock() };
        // Not `Send`: the lock is released by the task that took it.
        Self(PhantomData)
    }
}

impl Drop for Rtnl {
    fn drop(&mut self) {
        // SAFETY: Taken in `lock`.
        unsafe { bindings::rtnl_unlock() };
    }
}

impl AsRef<device::Device> for Device {
    fn as_ref(&self) -> &device::Device {
        // SAFETY: The device is valid; its `struct device` is initialised at allocation.
        unsafe { device::Device::from_raw(bindings::netdev_to_dev(self.as_raw())) }
    }
}

/// A network device whose private data is a `T`: handed to `T`'s initialiser, so that what
/// `T` embeds (NAPI contexts) can be tied to the device.
#[repr(transparent)]
pub(crate) struct DeviceOf<T>(Device, PhantomData<T>);

impl<T> core::ops::Deref for DeviceOf<T> {
    type Target = Device;

    fn deref(&self) -> &Device {
        &self.0
    }
}

/// Interface statistics, as `ndo_get_stats64` reports them.
#[derive(Default)]
pub(crate) struct Stats64 {
    /// Packets received.
    pub(crate) rx_packets: u64,
    /// Bytes received.
    pub(crate) rx_bytes: u64,
    /// Packets transmitted.
    pub(crate) tx_packets: u64,
    /// Bytes transmitted.
    pub(crate) tx_bytes: u64,
    /// Received packets dropped (no memory, bad length).
    pub(crate) rx_dropped: u64,
    /// Packets dropped on transmit.
    pub(crate) tx_dropped: u64,
    /// Receive errors (malformed buffers from the device).
    pub(crate) rx_length_errors: u64,
}

/// The receive filter the stack wants: flags and address lists (`ndo_set_rx_mode`).
pub(crate) struct RxMode {
    /// Receive everything.
    pub(crate) promisc: bool,
    /// Receive every multicast frame.
    pub(crate) allmulti: bool,
    /// Unicast addresses besides the device's own (at most [`RxMode::MAX_ADDRS`]).
    pub(crate) uc: KVec<MacAddr>,
    /// Multicast addresses (at most [`RxMode::MAX_ADDRS`]).
    pub(crate) mc: KVec<MacAddr>,
    /// The stack has more unicast addresses than `uc` holds.
    pub(crate) uc_overflow: bool,
    /// The stack has more multicast addresses than `mc` holds.
    pub(crate) mc_overflow: bool,
}

impl RxMode {
    /// Addresses collected per list.
    pub(crate) const MAX_ADDRS: usize = 256;

    fn collect(dev: &Device) -> Result<Self> {
        let max = Self::MAX_ADDRS;
        let mut ucb = KVec::from_elem(0u8, max * ETH_ALEN, GFP_KERNEL)?;
        let mut mcb = KVec::from_elem(0u8, max * ETH_ALEN, GFP_KERNEL)?;
        let (mut uc_n, mut mc_n) = (0u32, 0u32);
        // SAFETY: The device is valid; the buffers have room for `max` addresses each.
        let flags = unsafe {
            bindings::netdev_addr_lists(
                dev.as_raw(),
                ucb.as_mut_ptr(),
                mcb.as_mut_ptr(),
                max as u32,
                &mut uc_n,
                &mut mc_n,
            )
        };
        let list = |b: &KVec<u8>, n: u32| -> Result<KVec<MacAddr>> {
            let n = (n as usize).min(max);
            let mut v = KVec::with_capacity(n, GFP_KERNEL)?;
            for a in b.chunks_exact(ETH_ALEN).take(n) {
                let mut m = [0u8; ETH_ALEN];
                m.copy_from_slice(a);
                v.push(m, GFP_KERNEL)?;
            }
            Ok(v)
        };
        Ok(Self {
            promisc: flags & bindings::net_device_flags_IFF_PROMISC != 0,
            allmulti: flags & bindings::net_device_flags_IFF_ALLMULTI != 0,
            uc: list(&ucb, uc_n)?,
            mc: list(&mcb, mc_n)?,
            uc_overflow: uc_n as usize > max,
            mc_overflow: mc_n as usize > max,
        })
    }
}

/// The operations of a network device: the safe counterpart of `struct net_device_ops`.
/// They run under the rtnl lock, except [`Operations::start_xmit`] (softirq, queue lock held)
/// and [`Operations::get_stats64`] (any context). Optional ones left out are not offered.
#[vtable]
pub(crate) trait Operations: Send + Sync + Sized {
    /// The interface goes up.
    fn open(&self, dev: &Device) -> Result;

    /// The interface goes down.
    fn stop(&self, dev: &Device) -> Result;

    /// Transmits `skb` on `txq`, whose lock the stack holds (the driver must not take it
    /// again); the skb is the driver's, sent or dropped.
    fn start_xmit(&self, dev: &Device, skb: SkBuff, txq: &mut TxQueueLocked<'_>);

    /// Fills the interface statistics.
    fn get_stats64(&self, dev: &Device, stats: &mut Stats64);

    /// Changes the MTU, already checked against the device's range.
    fn change_mtu(&self, dev: &Device, mtu: u32) -> Result {
        dev.set_mtu(mtu);
        Ok(())
    }

    /// Applies the receive filter. Unlike C's `ndo_set_rx_mode`, this runs in process context
    /// (a work item the callback schedules), under rtnl, with the interface up: drivers whose
    /// device is told through a command queue can wait for it.
    fn set_rx_mode(&self, _dev: &Device, _mode: &RxMode) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Makes the device use `addr` (already validated); the address is the device's once
    /// this succeeds.
    fn set_mac_address(&self, _dev: &Device, _addr: &MacAddr) -> Result {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Switches offloads on the device: `features` is the set the stack wants (as [`features`]
    /// bits, already reconciled by the core), [`Device::features`] still the current one, which
    /// becomes `features` once this succeeds. Under rtnl, in process context. Without this
    /// operation the stack switches the offloads of `hw_features` alone.
    fn set_features(&self, _dev: &Device, _features: u64) -> Result {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The transmit watchdog fired: queue `index` has been stopped, with packets queued, for
    /// longer than the watchdog timeout. Softirq context, with the device's `tx_global_lock`
    /// held: every transmit queue is frozen, but none of their xmit locks is held
    /// ([`Device::lock_tx_queue`] takes one; nothing may take them all).
    fn tx_timeout(&self, _dev: &Device, _index: u16) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Accepts VLAN `vid` (with `HW_VLAN_CTAG_FILTER`).
    fn vlan_add(&self, _dev: &Device, _vid: u16) -> Result {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Stops accepting VLAN `vid`.
    fn vlan_del(&self, _dev: &Device, _vid: u16) -> Result {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Work the driver deferred with [`Device::schedule_deferred`]: process context, under
    /// rtnl, with the interface up (e.g. refilling receive rings when memory ran out in NAPI).
    fn deferred_work(&self, _dev: &Device) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The statistics of receive queue `index`, one of those in use
    /// ([`Device::real_num_rx_queues`]). Under rtnl, like [`Operations::base_stats`]: the core
    /// adds up the base and the queues without the number of queues changing in between.
    fn queue_stats_rx(&self, _dev: &Device, _index: u32) -> RxQueueStats {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The statistics of transmit queue `index`, one of those in use.
    fn queue_stats_tx(&self, _dev: &Device, _index: u32) -> TxQueueStats {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The device's counts that the queues in use do not hold (those of queues no longer in
    /// use, or of traffic outside the queues): the device-wide statistics are these plus the
    /// queues'. A counter reported here (even as 0) is one the driver counts completely;
    /// only those are reported device-wide.
    fn base_stats(&self, _dev: &Device) -> (RxQueueStats, TxQueueStats) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The private area of a device: the abstraction's deferred receive-mode work, then the
/// driver's data.
#[repr(C)]
struct Priv<T> {
    rx_mode: RxModeWork,
    deferred: DeferredWork,
    /// How many statistics names the core was last told of (`get_sset_count`): what it
    /// allocated for `get_strings`, which does not say.
    stats_names: Atomic<u32>,
    data: T,
}

/// A delayed work item that runs [`Operations::deferred_work`]. Its place in [`Priv`] does not
/// depend on `T`, so that an untyped [`Device`] can schedule it.
#[repr(C)]
struct DeferredWork {
    dwork: Opaque<bindings::delayed_work>,
    dev: *mut bindings::net_device,
    run: unsafe fn(*mut bindings::net_device),
    /// Whether `run` does anything (the driver implements `deferred_work`).
    enabled: bool,
}

/// A work item that applies the receive mode of a device in process context.
///
/// `work` comes first: the worker finds the structure from it.
#[repr(C)]
struct RxModeWork {
    work: Opaque<bindings::work_struct>,
    dev: *mut bindings::net_device,
    run: unsafe fn(*mut bindings::net_device),
}

/// The driver's data in the private area of `dev`.
///
/// # Safety
///
/// `dev` must be a device allocated by a `Registration<T>`.
unsafe fn priv_data<T>(dev: *mut bindings::net_device) -> *mut T {
    // SAFETY: The private area holds a `Priv<T>` (allocated so by the registration).
    unsafe { &raw mut (*bindings::netdev_priv(dev).cast::<Priv<T>>()).data }
}

/// # Safety
///
/// As for [`priv_data`].
unsafe fn priv_stats_names<T>(dev: *mut bindings::net_device) -> *mut Atomic<u32> {
    // SAFETY: As in `priv_data`.
    unsafe { &raw mut (*bindings::netdev_priv(dev).cast::<Priv<T>>()).stats_names }
}

/// # Safety
///
/// As for [`priv_data`].
unsafe fn priv_rx_mode<T>(dev: *mut bindings::net_device) -> *mut RxModeWork {
    // SAFETY: As in `priv_data`.
    unsafe { &raw mut (*bindings::netdev_priv(dev).cast::<Priv<T>>()).rx_mode }
}

/// # Safety
///
/// `dev` must be a device allocated by a `Registration` (of any `T`: the work's offset is the
/// same).
unsafe fn priv_deferred(dev: *mut bindings::net_device) -> *mut DeferredWork {
    // SAFETY: The private area holds a `Priv<T>`, whose `deferred` field is at the same offset
    // as in `Priv<()>` (`repr(C)`, same fields before it).
    unsafe { &raw mut (*bindings::netdev_priv(dev).cast::<Priv<()>>()).deferred }
}

/// The worker of every [`DeferredWork`].
///
/// # Safety
///
/// Called by the workqueue with the work of an initialised [`DeferredWork`].
unsafe extern "C" fn deferred_worker(work: *mut bindings::work_struct) {
    // SAFETY: The work is the `work` of the `delayed_work` at the start of a `DeferredWork`.
    let w = unsafe { &*bindings::to_delayed_work(work).cast::<DeferredWork>() };
    // SAFETY: `run` is `deferred_run::<T>` for the `T` of `dev`, which lives until the work
    // is cancelled.
    unsafe { (w.run)(w.dev) };
}

/// # Safety
///
/// As for [`rx_mode_run`].
unsafe fn deferred_run<T: Operations>(dev: *mut bindings::net_device) {
    let _rtnl = Rtnl::lock();
    // SAFETY: As in `rx_mode_run`.
    let (d, t) = unsafe { (Device::from_raw(dev), &*priv_data::<T>(dev)) };
    if d.is_running() {
        t.deferred_work(d);
    }
}

/// The worker of every [`RxModeWork`].
///
/// # Safety
///
/// Called by the workqueue with the `work` of an initialised [`RxModeWork`].
unsafe extern "C" fn rx_mode_worker(work: *mut bindings::work_struct) {
    // SAFETY: `work` is the first field of a `repr(C)` `RxModeWork`.
    let w = unsafe { &*work.cast::<RxModeWork>() };
    // SAFETY: `run` is `rx_mode_run::<T>` for the `T` of `dev`, which lives until the work is
    // cancelled.
    unsafe { (w.run)(w.dev) };
}

/// # Safety
///
/// `dev` must be a device of a `Registration<T>`, its work not yet cancelled.
unsafe fn rx_mode_run<T: Operations>(dev: *mut bindings::net_device) {
    let _rtnl = Rtnl::lock();
    // SAFETY: By the requirements; `T` is initialised before the device is registered, and
    // the work is cancelled before `T` is dropped.
    let (d, t) = unsafe { (Device::from_raw(dev), &*priv_data::<T>(dev)) };
    if !d.is_running() {
        return;
    }
    match RxMode::collect(d) {
        Ok(mode) => t.set_rx_mode(d, &mode),
        Err(_) => dev_warn!(d.as_ref(), "no memory to update the receive filter\n"),
    }
}

/// Offsets into `struct rtnl_link_stats64` are those of the C structure; filled here.
fn fill_stats(s: &Stats64, out: &mut bindings::rtnl_link_stats64) {
    out.rx_packets = s.rx_packets;
    out.rx_bytes = s.rx_bytes;
    out.tx_packets = s.tx_packets;
    out.tx_bytes = s.tx_bytes;
    out.rx_dropped = s.rx_dropped;
    out.tx_dropped = s.tx_dropped;
    out.rx_length_errors = s.rx_length_errors;
    out.rx_errors = s.rx_length_errors;
}

/// The `net_device_ops` trampolines of `T`.
struct Adapter<T>(PhantomData<T>);

impl<T: Operations> Adapter<T> {
    /// # Safety
    ///
    /// `dev` must be a registered device of a `Registration<T>`.
    unsafe fn get<'a>(dev: *mut bindings::net_device) -> (&'a Device, &'a T) {
        // SAFETY: By the requirements the device is valid and its private area holds an
        // initialised `T` (initialised before registration, dropped after unregistration).
        unsafe { (Device::from_raw(dev), &*priv_data::<T>(dev)) }
    }

    extern "C" fn open(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: The netdev core calls this for a registered device with our operations.
        let (d, t) = unsafe { Self::get(dev) };
        from_result(|| t.open(d).map(|()| 0))
    }

    extern "C" fn stop(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: As in `open`.
        let (d, t) = unsafe { Self::get(dev) };
        from_result(|| t.stop(d).map(|()| 0))
    }

    extern "C" fn start_xmit(
        skb: *mut bindings::sk_buff,
        dev: *mut bindings::net_device,
    ) -> bindings::netdev_tx_t {
        // SAFETY: As in `open`.
        let (d, t) = unsafe { Self::get(dev) };
        // SAFETY: The stack hands over a valid skb, which the driver now owns.
        let skb = unsafe { SkBuff::from_raw(skb) };
        // SAFETY: The stack holds the xmit lock of the queue it picked, the skb's queue
        // mapping, while it calls us: the device does not ask for lockless transmit.
        match unsafe { TxQueueLocked::held(d, skb.queue_mapping()) } {
            Some(mut txq) => t.start_xmit(d, skb, &mut txq),
            // The stack only picks queues the device has.
            None => drop(skb),
        }
        bindings::netdev_tx_NETDEV_TX_OK
    }

    extern "C" fn get_stats64(
        dev: *mut bindings::net_device,
        stats: *mut bindings::rtnl_link_stats64,
    ) {
        // SAFETY: As in `open`.
        let (d, t) = unsafe { Self::get(dev) };
        let mut s = Stats64::default();
        t.get_stats64(d, &mut s);
        // SAFETY: The core passes a valid statistics structure to fill.
        fill_stats(&s, unsafe { &mut *stats });
    }

    extern "C" fn set_rx_mode(dev: *mut bindings::net_device) {
        // SAFETY: As in `open`; the work lives in the private area until it is cancelled.
        unsafe { bindings::schedule_work((*priv_rx_mode::<T>(dev)).work.get()) };
    }

    extern "C" fn set_mac_address(dev: *mut bindings::net_device, addr: *mut c_void) -> c_int {
        // SAFETY: As in `open`.
        let (d, t) = unsafe { Self::get(dev) };
        from_result(|| {
            // SAFETY: The core passes a `struct sockaddr`; `eth_prepare_mac_addr_change`
            // checks it (a valid address, and the interface down unless live changes work).
            kernel::error::to_result(unsafe { bindings::eth_prepare_mac_addr_change(dev, addr) })?;
            // SAFETY: The address bytes are at the start of `sa_data`, after the family.
            let data = unsafe { &(*addr.cast::<bindings::sockaddr>()).sa_data };
            let mut mac = [0u8; ETH_ALEN];
            // The kernel's `char` is unsigned (`-funsigned-char`).
            mac.copy_from_slice(data.get(..ETH_ALEN).ok_or(EINVAL)?);
            t.set_mac_address(d, &mac)?;
            // SAFETY: The device is valid; `addr` is the `struct sockaddr` just validated, and
            // the call copies its address, as `mac` holds it.
            unsafe { bindings::eth_commit_mac_addr_change(dev, addr) };
            Ok(0)
        })
    }

    extern "C" fn vlan_add(dev: *mut bindings::net_device, _proto: u16, vid: u16) -> c_int {
        // SAFETY: As in `open`.
        let (d, t) = unsafe { Self::get(dev) };
        from_result(|| t.vlan_add(d, vid).map(|()| 0))
    }

    extern "C" fn vlan_del(dev: *mut bindings::net_device, _proto: u16, vid: u16) -> c_int {
        // SAFETY: As in `open`.
        let (d, t) = unsafe { Self::get(dev) };
        from_result(|| t.vlan_del(d, vid).map(|()| 0))
    }

    extern "C" fn set_features(
        dev: *mut bindings::net_device,
        features: bindings::netdev_features_t,
    ) -> c_int {
        // SAFETY: As in `open`.
        let (d, t) = unsafe { Self::get(dev) };
        from_result(|| t.set_features(d, features).map(|()| 0))
    }

    extern "C" fn tx_timeout(dev: *mut bindings::net_device, txqueue: kernel::ffi::c_uint) {
        // SAFETY: The stack's watchdog calls this for a registered device with our operations,
        // running (and so not being unregistered) while it holds `tx_global_lock`.
        let (d, t) = unsafe { Self::get(dev) };
        if let Ok(index) = u16::try_from(txqueue) {
            t.tx_timeout(d, index);
        }
    }

    extern "C" fn change_mtu(dev: *mut bindings::net_device, mtu: c_int) -> c_int {
        // SAFETY: As in `open`.
        let (d, t) = unsafe { Self::get(dev) };
        from_result(|| t.change_mtu(d, u32::try_from(mtu)?).map(|()| 0))
    }
}

/// A network device of driver data `T`, registered or about to be.
///
/// # Invariants
///
/// `dev` was allocated by `alloc_etherdev_mqs` with a private area holding an initialised
/// `T`, and uses `ops`; `registered` says whether it is registered (set once).
pub(crate) struct Registration<T: Operations + ethtool::Ethtool> {
    dev: NonNull<bindings::net_device>,
    ops: KBox<Opaque<bindings::net_device_ops>>,
    ethtool_ops: KBox<bindings::ethtool_ops>,
    stat_ops: Option<KBox<bindings::netdev_stat_ops>>,
    registered: Atomic<bool>,
    _t: PhantomData<T>,
}

// SAFETY: The device may be registered and unregistered from any thread; `T` is `Send`.
unsafe impl<T: Operations + ethtool::Ethtool> Send for Registration<T> {}
// SAFETY: Shared references only reach `T` (which is `Sync`) and `Device` methods, which the
// netdev core makes safe to call concurrently.
unsafe impl<T: Operations + ethtool::Ethtool> Sync for Registration<T> {}

impl<T: Operations + ethtool::Ethtool> Registration<T> {
    /// Allocates an Ethernet device under `parent`, with `txqs` and `rxqs` queues, and its
    /// private data `T` from `init`, which gets the device (for its NAPI contexts).
    pub(crate) fn new<I, F>(parent: &device::Device, txqs: u32, rxqs: u32, init: F) -> Result<Self>
    where
        I: PinInit<T, Error>,
        F: FnOnce(&DeviceOf<T>) -> I,
    {
        // `netdev_priv()` is aligned to `NETDEV_ALIGN` (32 bytes).
        build_assert!(mem::align_of::<Priv<T>>() <= 32);
        let ops = KBox::new(Opaque::<bindings::net_device_ops>::zeroed(), GFP_KERNEL)?;
        // SAFETY: `ops` is a zeroed `struct net_device_ops`, the helper fills it.
        unsafe {
            bindings::netdev_ops_init(
                ops.get(),
                Some(Adapter::<T>::open),
                Some(Adapter::<T>::stop),
                Some(Adapter::<T>::start_xmit),
                Some(Adapter::<T>::get_stats64),
                if T::HAS_SET_MAC_ADDRESS {
                    Some(Adapter::<T>::set_mac_address)
                } else {
                    None
                },
                Some(Adapter::<T>::change_mtu),
                if T::HAS_SET_RX_MODE {
                    Some(Adapter::<T>::set_rx_mode)
                } else {
                    None
                },
                if T::HAS_VLAN_ADD {
                    Some(Adapter::<T>::vlan_add)
                } else {
                    None
                },
                if T::HAS_VLAN_DEL {
                    Some(Adapter::<T>::vlan_del)
                } else {
                    None
                },
                if T::HAS_SET_FEATURES {
                    Some(Adapter::<T>::set_features)
                } else {
                    None
                },
                if T::HAS_TX_TIMEOUT {
                    Some(Adapter::<T>::tx_timeout)
                } else {
                    None
                },
            )
        };
        let ethtool_ops = KBox::new(ethtool::Adapter::<T>::ops(), GFP_KERNEL)?;
        let stat_ops = match qstats::Adapter::<T>::ops() {
            Some(o) => Some(KBox::new(o, GFP_KERNEL)?),
            None => None,
        };
        // SAFETY: Plain allocation; the private area is zeroed.
        let raw =
            unsafe { bindings::alloc_etherdev_mqs(mem::size_of::<Priv<T>>() as c_int, txqs, rxqs) };
        let dev = NonNull::new(raw).ok_or(ENOMEM)?;
        // `device::Device` is a transparent wrapper of `struct device`.
        let parent = core::ptr::from_ref(parent)
            .cast_mut()
            .cast::<bindings::device>();
        // SAFETY: `dev` is a new device; `parent` outlives it (the driver unregisters and
        // frees it before its parent goes away); `ops` lives as long as the registration.
        unsafe { bindings::netdev_setup(raw, parent, ops.get(), &*ethtool_ops) };
        if let Some(s) = &stat_ops {
            // SAFETY: `dev` is a new device, not registered yet; `s` lives as long as the
            // registration, which frees the device before it.
            unsafe { bindings::netdev_set_stat_ops(raw, &**s) };
        }
        // SAFETY: `dev` is valid until `free_netdev` below or in `drop`.
        let typed = unsafe { &*raw.cast::<DeviceOf<T>>() };
        // SAFETY: The private area has room and alignment for a `T` (asserted above) and does
        // not move: the device is heap allocated.
        let priv_ = unsafe { priv_data::<T>(raw) };
        // SAFETY: The private area has room for the work, which does not move either; it is
        // initialised before the device can call `set_rx_mode` (once registered).
        unsafe {
            let w = priv_rx_mode::<T>(raw);
            bindings::init_work((&raw mut (*w).work).cast(), Some(rx_mode_worker));
            (&raw mut (*w).dev).write(raw);
            (&raw mut (*w).run).write(rx_mode_run::<T>);
            let d = priv_deferred(raw);
            bindings::init_delayed_work((&raw mut (*d).dwork).cast(), Some(deferred_worker));
            (&raw mut (*d).dev).write(raw);
            (&raw mut (*d).run).write(deferred_run::<T>);
            (&raw mut (*d).enabled).write(T::HAS_DEFERRED_WORK);
            priv_stats_names::<T>(raw).write(Atomic::new(0));
        }
        // SAFETY: `priv_` is valid for writes and pinned; on error nothing was initialised.
        if let Err(e) = unsafe { init(typed).__pinned_init(priv_) } {
            // SAFETY: The device is unregistered and its private data uninitialised.
            unsafe { bindings::free_netdev(raw) };
            return Err(e);
        }
        // INVARIANT: The private area holds an initialised `T`.
        Ok(Self {
            dev,
            ops,
            ethtool_ops,
            stat_ops,
            registered: Atomic::new(false),
            _t: PhantomData,
        })
    }

    /// The device.
    pub(crate) fn device(&self) -> &Device {
        // SAFETY: The device lives as long as `self`.
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }

    /// The driver's data.
    pub(crate) fn data(&self) -> &T {
        // SAFETY: The private area holds an initialised `T` (type invariant), which is only
        // dropped in `drop`.
        unsafe { &*priv_data::<T>(self.dev.as_ptr()) }
    }

    /// Applies the receive filter again (after the device was reset): schedules the work
    /// that calls [`Operations::set_rx_mode`].
    pub(crate) fn refresh_rx_mode(&self) {
        if T::HAS_SET_RX_MODE {
            // SAFETY: The work was initialised in `new` and is cancelled in `drop`.
            unsafe { bindings::schedule_work((*priv_rx_mode::<T>(self.dev.as_ptr())).work.get()) };
        }
    }

    /// The device filters unicast addresses itself (`IFF_UNICAST_FLT`) and takes a new
    /// address while up (`IFF_LIVE_ADDR_CHANGE`); before registration.
    pub(crate) fn set_unicast_filter(&self) {
        // SAFETY: The device is valid; not registered yet.
        unsafe { bindings::netdev_set_unicast_filter(self.dev.as_ptr()) }
    }

    /// Registers the device: once `rtnl` is released its operations may be called (opening
    /// the interface takes the lock). A driver finishes setting up its device before that.
    pub(crate) fn register(&self, _rtnl: &Rtnl) -> Result {
        if self.registered.cmpxchg(false, true, Relaxed).is_err() {
            return Err(EBUSY);
        }
        // SAFETY: The device is valid and not registered (`registered` was false), and the
        // caller holds the rtnl lock (`_rtnl`).
        let ret = unsafe { bindings::register_netdevice(self.dev.as_ptr()) };
        if ret != 0 {
            self.registered.store(false, Relaxed);
        }
        kernel::error::to_result(ret)
    }
}

impl<T: Operations + ethtool::Ethtool> Drop for Registration<T> {
    fn drop(&mut self) {
        let raw = self.dev.as_ptr();
        if self.registered.load(Relaxed) {
            // SAFETY: The device is registered; afterwards no operation runs any more.
            unsafe { bindings::unregister_netdev(raw) };
        }
        // SAFETY: The work was initialised in `new`; once unregistered, nothing schedules it.
        unsafe {
            bindings::cancel_work_sync((*priv_rx_mode::<T>(raw)).work.get());
            bindings::cancel_delayed_work_sync((*priv_deferred(raw)).dwork.get());
        }
        // SAFETY: The private area holds an initialised `T` that nothing uses any more.
        unsafe { core::ptr::drop_in_place(priv_data::<T>(raw)) };
        // SAFETY: The device is unregistered and its private data dropped; `ops` outlives it.
        unsafe { bindings::free_netdev(raw) };
        let _ = (&self.ops, &self.ethtool_ops, &self.stat_ops);
    }
}
