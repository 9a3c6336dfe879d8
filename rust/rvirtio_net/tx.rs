// SPDX-License-Identifier: GPL-2.0

//! Transmit queues: packets to the device, completions reclaimed by NAPI and on transmit.

use super::{
    hdr::{self, TxCaps, TxRequest},
    NetPriv,
};
use crate::{
    net::{self, skbuff::xmit_more, DeviceOf, Napi, SkBuff, Stats64, TxSkb},
    virtio::{virtqueue::MAX_SG, Virtqueue},
};
use kernel::{
    new_spinlock,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        SpinLock,
    },
};

/// Counters of a transmit queue.
struct TxStats {
    packets: Atomic<u64>,
    bytes: Atomic<u64>,
    dropped: Atomic<u64>,
}

/// The ring of a transmit queue.
struct TxRing {
    vq: Virtqueue<TxSkb>,
}

impl TxRing {
    /// Frees the packets the device sent; returns their number and bytes.
    fn reclaim(&mut self, budget: u32) -> (u64, u64) {
        let (mut packets, mut bytes) = (0u64, 0u64);
        while let Some((buf, _)) = self.vq.get_buf() {
            let skb = buf.into_skb();
            packets += 1;
            bytes += u64::from(skb.len());
            skb.napi_consume(budget);
        }
        (packets, bytes)
    }
}

/// A transmit queue and its NAPI context.
#[pin_data]
pub(super) struct TxQueue {
    #[pin]
    napi: Napi,
    /// Taken by transmit (bottom halves off) and by NAPI polls.
    #[pin]
    ring: SpinLock<TxRing>,
    index: u16,
    /// What the device does for us.
    caps: TxCaps,
    stats: TxStats,
}

impl TxQueue {
    pub(super) fn new(
        dev: &DeviceOf<NetPriv>,
        index: u16,
        vq: Virtqueue<TxSkb>,
        caps: TxCaps,
    ) -> impl PinInit<Self> + '_ {
        pin_init!(Self {
            napi <- Napi::new(dev, u32::from(index) * 2 + 1, true),
            ring <- new_spinlock!(TxRing { vq }),
            index,
            caps,
            stats: TxStats {
                packets: Atomic::new(0),
                bytes: Atomic::new(0),
                dropped: Atomic::new(0),
            },
        })
    }

    pub(super) fn napi(&self) -> &Napi {
        &self.napi
    }

    pub(super) fn open(&self) {
        self.napi.enable();
    }

    pub(super) fn close(&self) {
        self.napi.disable();
    }

    fn account(&self, (packets, bytes): (u64, u64)) {
        if packets != 0 {
            self.stats.packets.add(packets, Relaxed);
            self.stats.bytes.add(bytes, Relaxed);
        }
    }

    /// Whether the ring has room for a packet of the most fragments.
    fn has_room(ring: &TxRing) -> bool {
        ring.vq.num_free() as usize >= MAX_SG
    }

    /// The header for `skb`; `None` if the device cannot do what the stack asks (the
    /// features we advertise keep the stack from asking).
    fn header(&self, skb: &SkBuff) -> Option<[u8; hdr::HDR_LEN]> {
        let o = skb.tx_offload();
        let req = TxRequest {
            csum_partial: o.csum_partial,
            csum_start: o.csum_start,
            csum_offset: o.csum_offset,
            gso_size: o.gso_size,
            gso_type: o.gso_type,
            headlen: o.headlen,
        };
        hdr::encode_tx(&req, &self.caps).ok()
    }

    pub(super) fn xmit(&self, dev: &net::Device, mut skb: SkBuff) {
        let hdr = self.header(&skb);
        let mut ring = self.ring.lock();
        let done = ring.reclaim(0);
        self.account(done);

        skb.tx_timestamp();
        let queued = match hdr.map(|h| TxSkb::new(skb, &h)) {
            Some(Ok(buf)) => ring.vq.add_outbuf(buf).map_err(|(_, b)| drop(b)),
            _ => Err(()),
        };
        if queued.is_err() {
            self.stats.dropped.add(1, Relaxed);
        }
        if !Self::has_room(&ring) {
            dev.stop_queue(self.index);
        }
        if !xmit_more() || dev.queue_stopped(self.index) {
            ring.vq.kick();
        }
    }

    pub(super) fn poll(&self, napi: &Napi, budget: u32) -> u32 {
        let dev = napi.device();
        let mut ring = self.ring.lock();
        let done = ring.reclaim(budget);
        if dev.queue_stopped(self.index) && Self::has_room(&ring) {
            dev.wake_queue(self.index);
        }
        let last = ring.vq.enable_cb_prepare();
        drop(ring);
        self.account(done);
        if napi.complete_done(0) && self.ring.lock().vq.poll(last) {
            napi.schedule();
        }
        0
    }

    pub(super) fn add_stats(&self, s: &mut Stats64) {
        s.tx_packets += self.stats.packets.load(Relaxed);
        s.tx_bytes += self.stats.bytes.load(Relaxed);
        s.tx_dropped += self.stats.dropped.load(Relaxed);
    }
}
