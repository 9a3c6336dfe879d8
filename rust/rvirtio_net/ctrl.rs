// SPDX-License-Identifier: GPL-2.0

//! The control queue: commands to the device, one at a time, answered synchronously.

use super::fault::TxInject;
use crate::virtio::{Request, Virtqueue};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, Mutex,
    },
    time::{delay::fsleep, Delta},
};

/// Command classes and commands (virtio 1.2, 5.1.6.5).
pub(super) mod cmd {
    /// Receive filtering (`CTRL_RX`).
    pub(crate) const CLASS_RX: u8 = 0;
    /// Promiscuous mode on or off (`u8`).
    pub(crate) const RX_PROMISC: u8 = 0;
    /// All multicast on or off (`u8`).
    pub(crate) const RX_ALLMULTI: u8 = 1;
    /// MAC addresses.
    pub(crate) const CLASS_MAC: u8 = 1;
    /// The unicast and multicast filter tables (`le32` count and addresses, twice).
    pub(crate) const MAC_TABLE_SET: u8 = 0;
    /// The device's own address (`CTRL_MAC_ADDR`).
    pub(crate) const MAC_ADDR_SET: u8 = 1;
    /// VLAN filtering (`CTRL_VLAN`).
    pub(crate) const CLASS_VLAN: u8 = 2;
    /// Accept VLAN id (`le16`).
    pub(crate) const VLAN_ADD: u8 = 0;
    /// Stop accepting VLAN id (`le16`).
    pub(crate) const VLAN_DEL: u8 = 1;
    /// Multiqueue.
    pub(crate) const CLASS_MQ: u8 = 4;
    /// Set the number of queue pairs in use (`le16`).
    pub(crate) const MQ_VQ_PAIRS_SET: u8 = 0;
    /// Receive offloads (`CTRL_GUEST_OFFLOADS`).
    pub(crate) const CLASS_GUEST_OFFLOADS: u8 = 5;
    /// Set the receive offloads in use (`le64`, a bit per `GUEST_*` feature).
    pub(crate) const GUEST_OFFLOADS_SET: u8 = 0;
}

/// The device's answer: success.
const ACK_OK: u8 = 0;
/// How long to wait for an answer: the device answers as it sees the request (QEMU at once).
const TIMEOUT_US: u64 = 1_000_000;
/// How often to look.
const POLL_US: u64 = 10;

/// A control queue, if the device has one.
#[pin_data]
pub(super) struct Ctrl<'a> {
    /// Serialises commands; empty without a control queue or while the device is reset.
    #[pin]
    vq: Mutex<Option<Virtqueue<'a, KBox<Request>>>>,
    /// Commands given up on before their answer came.
    timeouts: Atomic<u64>,
    /// Answers that came after their command was given up on, and were dropped.
    stale: Atomic<u64>,
    inject: Arc<TxInject>,
}

impl<'a> Ctrl<'a> {
    pub(super) fn new(
        vq: Option<Virtqueue<'a, KBox<Request>>>,
        inject: Arc<TxInject>,
    ) -> impl PinInit<Self> {
        pin_init!(Self {
            vq <- new_mutex!(vq),
            timeouts: Atomic::new(0),
            stale: Atomic::new(0),
            inject,
        })
    }

    /// The counters: commands timed out, late answers dropped.
    pub(super) fn stat_values(&self) -> [u64; 2] {
        [self.timeouts.load(Relaxed), self.stale.load(Relaxed)]
    }

    /// Replaces the queue (after a reset), or drops it (before one) with `None`.
    pub(super) fn replace_queue(&self, vq: Option<Virtqueue<'a, KBox<Request>>>) {
        *self.vq.lock() = vq;
    }

    /// Sends command `cmd` of `class` with `data` and waits for the answer (process context).
    ///
    /// A command given up on (`ETIMEDOUT`) stays on the ring, and its answer may come later,
    /// while a later command waits: answers are matched to their request, and a late one is
    /// dropped (counted), never taken for the answer of the command that waits.
    pub(super) fn send(&self, class: u8, cmd: u8, data: &[u8]) -> Result {
        let mut guard = self.vq.lock();
        let vq = Option::as_mut(&mut *guard).ok_or(ENODEV)?;
        let req = KBox::new(Request::new(&[&[class, cmd], data], 1)?, GFP_KERNEL)?;
        // Which answer is ours: the request's address, which no other request on the ring
        // has while it is there.
        let ours: *const Request = &*req;
        vq.add_request(req).map_err(|(e, _)| e)?;
        vq.kick();
        let give_up = self.inject.take_ctrl_timeout();
        let mut waited = 0;
        loop {
            if !give_up {
                while let Some((req, _)) = vq.get_buf() {
                    if !core::ptr::eq(&*req, ours) {
                        self.stale.add(1, Relaxed);
                        continue;
                    }
                    return match req.answer().first() {
                        Some(&ACK_OK) => Ok(()),
                        _ => Err(EIO),
                    };
                }
            }
            if vq.is_broken() {
                return Err(EIO);
            }
            if give_up || waited >= TIMEOUT_US {
                // The request stays on the ring; the device is likely to need a reset.
                self.timeouts.add(1, Relaxed);
                return Err(ETIMEDOUT);
            }
            fsleep(Delta::from_micros(POLL_US as i64));
            waited += POLL_US;
        }
    }
}
