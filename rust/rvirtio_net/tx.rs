// SPDX-License-Identifier: GPL-2.0

//! Transmit queues: packets to the device, completions reclaimed by NAPI.

use super::{
    fault::{TxInject, BAD_LEN},
    hdr::{self, TxCaps},
    NetPriv,
};
use crate::{
    net::{
        self, skbuff::xmit_more, DeviceOf, Napi, Polling, SkBuff, Stats64, TxQueueLocked,
        TxQueueStats, TxSkb, XmitCell,
    },
    virtio::{virtqueue::MAX_SG, Virtqueue},
};
use kernel::{
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc,
    },
};

/// Counters of a transmit queue.
struct TxStats {
    packets: Atomic<u64>,
    bytes: Atomic<u64>,
    dropped: Atomic<u64>,
    /// Times the queue was stopped for want of room, and woken again.
    stop: Atomic<u64>,
    wake: Atomic<u64>,
    /// Times the transmit watchdog fired on the queue.
    timeouts: Atomic<u64>,
}

/// The ring of a transmit queue.
struct TxRing<'a> {
    vq: Virtqueue<'a, TxSkb>,
}

/// Packets and bytes the device sent, freed by one reclaim.
type Done = (u32, u32);

impl TxRing<'_> {
    /// Frees the packets the device sent.
    fn reclaim(&mut self, budget: u32) -> Done {
        // At most a ring of packets of at most 64 KiB each (no BIG TCP): the sums fit.
        let (mut packets, mut bytes) = (0u32, 0u32);
        while let Some((buf, _)) = self.vq.get_buf() {
            let skb = buf.into_skb();
            packets = packets.saturating_add(1);
            bytes = bytes.saturating_add(skb.len());
            skb.napi_consume(budget);
        }
        (packets, bytes)
    }
}

/// A transmit queue and its NAPI context.
#[pin_data]
pub(super) struct TxQueue<'a> {
    #[pin]
    napi: Napi,
    /// Under the queue's xmit lock: the stack's in transmit, ours in NAPI polls. Empty while
    /// the device is being reset.
    ring: XmitCell<Option<TxRing<'a>>>,
    index: u16,
    /// What the device does for us.
    caps: TxCaps,
    /// A fault to inject before the next packet, shared by the queues (the first to transmit
    /// takes it).
    inject: Arc<TxInject>,
    stats: TxStats,
}

impl<'a> TxQueue<'a> {
    pub(super) fn new<'d>(
        dev: &'d DeviceOf<NetPriv<'a>>,
        index: u16,
        vq: Virtqueue<'a, TxSkb>,
        caps: TxCaps,
        inject: Arc<TxInject>,
    ) -> impl PinInit<Self> + 'd {
        pin_init!(Self {
            napi <- Napi::new(dev, u32::from(index) * 2 + 1, true),
            ring: XmitCell::new(dev, index, Some(TxRing { vq })),
            index,
            caps,
            inject,
            stats: TxStats {
                packets: Atomic::new(0),
                bytes: Atomic::new(0),
                dropped: Atomic::new(0),
                stop: Atomic::new(0),
                wake: Atomic::new(0),
                timeouts: Atomic::new(0),
            },
        })
    }

    pub(super) fn napi(&self) -> &Napi {
        &self.napi
    }

    /// Drops the ring before a reset (which the drop does): the packets still on it are
    /// freed and counted as dropped, and the queue's byte limits forget them. NAPI is
    /// disabled and the device detached.
    pub(super) fn drop_ring(&self, dev: &net::Device) {
        // The ring is emptied after the lock is released: resetting the device may sleep.
        let ring = dev
            .lock_tx_queue(self.index)
            .and_then(|mut txq| self.ring.get(&mut txq).and_then(|(r, _)| r.take()));
        let Some(mut ring) = ring else {
            return;
        };
        let done = ring.reclaim(0);
        self.account(done);
        let mut lost = 0;
        while let Some(buf) = ring.vq.take_unused() {
            drop(buf);
            lost += 1;
        }
        if lost != 0 {
            self.stats.dropped.add(lost, Relaxed);
        }
        // Transmit finds no ring from now on: nothing is counted in flight until a new one.
        if let Some(txq) = dev.lock_tx_queue(self.index) {
            txq.reset();
        }
    }

    /// Puts a new ring in, after a reset.
    pub(super) fn set_ring(&self, dev: &net::Device, vq: Virtqueue<'a, TxSkb>) -> Result {
        let mut txq = dev.lock_tx_queue(self.index).ok_or(EINVAL)?;
        let (ring, _) = self.ring.get(&mut txq).ok_or(EINVAL)?;
        *ring = Some(TxRing { vq });
        Ok(())
    }

    pub(super) fn open(&self) {
        self.napi.enable();
    }

    pub(super) fn close(&self) {
        self.napi.disable();
    }

    fn account(&self, (packets, bytes): Done) {
        if packets != 0 {
            self.stats.packets.add(packets.into(), Relaxed);
            self.stats.bytes.add(bytes.into(), Relaxed);
        }
    }

    /// Tells the queue's byte limits what the device sent (which may wake the queue), and
    /// counts it.
    fn complete(&self, txq: &TxQueueLocked<'_>, done: Done) {
        if done.0 != 0 {
            txq.completed(done.0, done.1);
            self.account(done);
        }
    }

    /// Whether the ring has room for a packet of the most fragments.
    fn has_room(ring: &TxRing<'_>) -> bool {
        ring.vq.num_free() as usize >= MAX_SG
    }

    /// The header for `skb`; `None` if the device cannot do what the stack asks (the
    /// features we advertise keep the stack from asking).
    fn header(&self, skb: &SkBuff) -> Option<[u8; hdr::HDR_LEN]> {
        let h = net::tx_hdr(skb).ok()?;
        hdr::check_tx(&h, &self.caps).ok()?;
        Some(h)
    }

    /// Transmits `skb`; the stack holds the lock of `txq`, this queue.
    #[inline]
    pub(super) fn xmit(&self, dev: &net::Device, txq: &mut TxQueueLocked<'_>, mut skb: SkBuff) {
        let hdr = self.header(&skb);
        let Some((Some(ring), txq)) = self.ring.get(txq) else {
            // The device is being reset; its queue is stopped, this one raced with that.
            self.stats.dropped.add(1, Relaxed);
            return;
        };
        // What the device sent is reclaimed by NAPI and by the receive poll, never here: the
        // interrupt stays off while we queue, and is armed again after the kick below.
        ring.vq.disable_cb();
        if self.inject.take() {
            Self::post_malformed(ring, dev);
        }

        skb.tx_timestamp();
        let len = skb.len();
        let more = xmit_more();
        let queued = match hdr.map(|h| TxSkb::new(skb, &h)) {
            Some(Ok(buf)) => ring.vq.add_outbuf(buf).map_err(|(_, b)| drop(b)),
            _ => Err(()),
        };
        if queued.is_err() {
            self.stats.dropped.add(1, Relaxed);
        }
        if !Self::has_room(ring) {
            // The stack does not transmit on a stopped queue: this stops a running one. NAPI
            // wakes it once the device has sent enough (the interrupt is armed below: a stopped
            // queue always kicks).
            dev.stop_queue(self.index);
            self.stats.stop.add(1, Relaxed);
        }
        // Byte queue limits count what is in flight, and may stop the queue: then the
        // device is told now, as at the end of a burst.
        let kick = match queued {
            Ok(()) => txq.sent(len, more),
            Err(()) => !more || dev.queue_stopped(self.index),
        };
        if kick {
            ring.vq.kick();
            // An interrupt once about three quarters of what is in flight is sent: NAPI
            // reclaims it then, in one go. If that many are sent already, NAPI runs now.
            if !ring.vq.enable_cb_delayed() {
                ring.vq.disable_cb();
                self.napi.schedule();
            }
        }
    }

    /// Posts a transmit request without a readable descriptor (fault injection): the
    /// device finds no header in it.
    fn post_malformed(ring: &mut TxRing<'_>, dev: &net::Device) {
        let Some(skb) = SkBuff::alloc_rx(dev, 0) else {
            return;
        };
        if let Ok(buf) = TxSkb::new(skb, &[0u8; BAD_LEN]) {
            if ring.vq.add_inbuf(buf).is_ok() {
                ring.vq.kick();
            }
        }
    }

    pub(super) fn poll(&self, napi: &Polling<'_>, budget: u32) -> u32 {
        let dev = napi.device();
        // The ring is the queue's, under its xmit lock: completions count under it too.
        let mut txq = dev.lock_tx_queue(self.index);
        let Some((Some(ring), txq)) = txq.as_mut().and_then(|txq| self.ring.get(txq)) else {
            napi.complete_done(0);
            return 0;
        };
        // No interrupts while we look; they are on again below.
        ring.vq.disable_cb();
        let done = ring.reclaim(budget);
        self.complete(txq, done);
        if dev.queue_stopped(self.index) && Self::has_room(ring) {
            dev.wake_queue(self.index);
            self.stats.wake.add(1, Relaxed);
        }
        // Done, unless the device sent more while we looked: then again, as no interrupt
        // comes for those.
        let last = ring.vq.enable_cb_prepare();
        if napi.complete_done(0) && ring.vq.poll(last) {
            ring.vq.disable_cb();
            napi.schedule();
        }
        0
    }

    /// Reclaims what the device sent, from the receive poll of the same queue pair: the
    /// replies to what we send (TCP acknowledgements) come in there, and reclaiming then
    /// spares the transmit interrupt. Skipped while transmit or the queue's own poll holds
    /// the ring.
    pub(super) fn clean(&self, dev: &net::Device, budget: u32) {
        let Some(mut txq) = dev.try_lock_tx_queue(self.index) else {
            return;
        };
        let Some((Some(ring), txq)) = self.ring.get(&mut txq) else {
            return;
        };
        loop {
            ring.vq.disable_cb();
            let done = ring.reclaim(budget);
            self.complete(txq, done);
            if ring.vq.enable_cb_delayed() {
                break;
            }
        }
        if dev.queue_stopped(self.index) && Self::has_room(ring) {
            dev.wake_queue(self.index);
            self.stats.wake.add(1, Relaxed);
        }
    }

    /// The ring's size (0 while the device is reset).
    pub(super) fn ring_size(&self, dev: &net::Device) -> u32 {
        dev.lock_tx_queue(self.index)
            .and_then(|mut txq| {
                let (ring, _) = self.ring.get(&mut txq)?;
                ring.as_ref().map(|r| r.vq.size())
            })
            .unwrap_or(0)
    }

    /// Packets, bytes, dropped, stop, wake, timeouts (as ethtool names them).
    pub(super) fn stat_values(&self) -> [u64; 6] {
        [
            self.stats.packets.load(Relaxed),
            self.stats.bytes.load(Relaxed),
            self.stats.dropped.load(Relaxed),
            self.stats.stop.load(Relaxed),
            self.stats.wake.load(Relaxed),
            self.stats.timeouts.load(Relaxed),
        ]
    }

    /// The transmit watchdog fired on this queue: counts it and reads the device status,
    /// which asks a transport that recovers devices to check this one at once. Returns the
    /// status, the ring's size and the buffers the device holds (`None` while it is reset).
    pub(super) fn timeout(&self, dev: &net::Device) -> Option<(u8, u32, u32)> {
        self.stats.timeouts.add(1, Relaxed);
        let mut txq = dev.lock_tx_queue(self.index)?;
        let (ring, _) = self.ring.get(&mut txq)?;
        let ring = ring.as_ref()?;
        let size = ring.vq.size();
        Some((
            ring.vq.device_status(),
            size,
            size.saturating_sub(ring.vq.num_free()),
        ))
    }

    /// The counters the netdev core reports per queue (drops have no counter there).
    pub(super) fn queue_stats(&self) -> TxQueueStats {
        TxQueueStats {
            packets: Some(self.stats.packets.load(Relaxed)),
            bytes: Some(self.stats.bytes.load(Relaxed)),
            stop: Some(self.stats.stop.load(Relaxed)),
            wake: Some(self.stats.wake.load(Relaxed)),
        }
    }

    pub(super) fn add_stats(&self, s: &mut Stats64) {
        s.tx_packets += self.stats.packets.load(Relaxed);
        s.tx_bytes += self.stats.bytes.load(Relaxed);
        s.tx_dropped += self.stats.dropped.load(Relaxed);
    }
}
