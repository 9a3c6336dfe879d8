// SPDX-License-Identifier: GPL-2.0

//! Transmit queues: packets to the device, completions reclaimed by NAPI and on transmit.

use super::{NetPriv, HDR_LEN};
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

/// The header in front of a packet without offloads: all zeroes.
const PLAIN_HDR: [u8; HDR_LEN as usize] = [0; HDR_LEN as usize];

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
        while let Some((TxSkb(skb), _)) = self.vq.get_buf() {
            packets += 1;
            bytes += u64::from(skb.len().saturating_sub(HDR_LEN));
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
    stats: TxStats,
}

impl TxQueue {
    pub(super) fn new(
        dev: &DeviceOf<NetPriv>,
        index: u16,
        vq: Virtqueue<TxSkb>,
    ) -> impl PinInit<Self> + '_ {
        pin_init!(Self {
            napi <- Napi::new(dev, u32::from(index) * 2 + 1, true),
            ring <- new_spinlock!(TxRing { vq }),
            index,
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

    pub(super) fn xmit(&self, dev: &net::Device, mut skb: SkBuff) {
        let mut ring = self.ring.lock();
        let done = ring.reclaim(0);
        self.account(done);

        skb.tx_timestamp();
        let queued = match skb.push(&PLAIN_HDR) {
            Ok(()) => ring.vq.add_outbuf(TxSkb(skb)).map_err(|(_, b)| drop(b)),
            Err(_) => {
                drop(skb);
                Err(())
            }
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
