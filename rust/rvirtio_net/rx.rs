// SPDX-License-Identifier: GPL-2.0

//! Receive queues: buffers posted to the device, packets handed to the stack from NAPI.

use super::{NetPriv, HDR_LEN};
use crate::{
    net::{self, DeviceOf, Napi, RxSkb, Stats64},
    virtio::Virtqueue,
};
use kernel::{
    new_spinlock,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        SpinLock,
    },
};

/// Counters of a receive queue, added to once per poll.
struct RxStats {
    packets: Atomic<u64>,
    bytes: Atomic<u64>,
    /// Packets dropped for want of memory.
    drops: Atomic<u64>,
    /// Buffers the device returned with an impossible length.
    length_errors: Atomic<u64>,
}

impl RxStats {
    fn new() -> Self {
        Self {
            packets: Atomic::new(0),
            bytes: Atomic::new(0),
            drops: Atomic::new(0),
            length_errors: Atomic::new(0),
        }
    }
}

/// The ring of a receive queue.
struct RxRing {
    vq: Virtqueue<RxSkb>,
}

/// A receive queue and its NAPI context.
#[pin_data]
pub(super) struct RxQueue {
    #[pin]
    napi: Napi,
    /// Taken by NAPI polls, and by open with NAPI disabled.
    #[pin]
    ring: SpinLock<RxRing>,
    index: u16,
    /// Bytes of each buffer: header, Ethernet header and VLAN tag, MTU.
    buf_len: u32,
    stats: RxStats,
}

impl RxQueue {
    pub(super) fn new(
        dev: &DeviceOf<NetPriv>,
        index: u16,
        vq: Virtqueue<RxSkb>,
        buf_len: u32,
    ) -> impl PinInit<Self> + '_ {
        pin_init!(Self {
            napi <- Napi::new(dev, u32::from(index) * 2, false),
            ring <- new_spinlock!(RxRing { vq }),
            index,
            buf_len,
            stats: RxStats::new(),
        })
    }

    pub(super) fn napi(&self) -> &Napi {
        &self.napi
    }

    /// Posts buffers until the ring is full or memory runs out; true if any was posted.
    fn refill(&self, ring: &mut RxRing, dev: &net::Device) -> bool {
        let mut posted = false;
        while ring.vq.num_free() > 0 {
            let Some(skb) = net::SkBuff::alloc_rx(dev, self.buf_len) else {
                self.stats.drops.add(1, Relaxed);
                break;
            };
            let Ok(buf) = RxSkb::new(skb, self.buf_len) else {
                break;
            };
            if ring.vq.add_inbuf(buf).is_err() {
                break;
            }
            posted = true;
        }
        posted
    }

    /// The interface goes up: fill the ring and start polling.
    pub(super) fn open(&self, dev: &net::Device) {
        {
            let mut ring = self.ring.lock();
            if self.refill(&mut ring, dev) {
                ring.vq.kick();
            }
        }
        self.napi.enable();
        // Buffers used before NAPI was enabled raised no interrupt we could act on.
        self.napi.schedule();
    }

    /// The interface goes down: stop polling. The buffers stay posted.
    pub(super) fn close(&self) {
        self.napi.disable();
    }

    pub(super) fn poll(&self, napi: &Napi, budget: u32) -> u32 {
        let dev = napi.device();
        let mut done = 0;
        let (mut bytes, mut errors) = (0u64, 0u64);
        let mut ring = self.ring.lock();
        while done < budget {
            let Some((buf, len)) = ring.vq.get_buf() else {
                break;
            };
            done += 1;
            if len < HDR_LEN + 14 {
                errors += 1;
                continue;
            }
            let Ok(mut skb) = buf.complete(len) else {
                errors += 1;
                continue;
            };
            if skb.pull(HDR_LEN).is_err() || skb.eth_type_trans(dev).is_err() {
                errors += 1;
                continue;
            }
            bytes += u64::from(len - HDR_LEN);
            skb.record_rx_queue(self.index);
            napi.gro_receive(skb);
        }
        if self.refill(&mut ring, dev) {
            ring.vq.kick();
        }
        let last = (done < budget).then(|| ring.vq.enable_cb_prepare());
        drop(ring);

        self.stats.packets.add(u64::from(done) - errors, Relaxed);
        self.stats.bytes.add(bytes, Relaxed);
        if errors != 0 {
            self.stats.length_errors.add(errors, Relaxed);
        }
        if let Some(last) = last {
            if napi.complete_done(done) && self.ring.lock().vq.poll(last) {
                // Buffers were used between the last look and re-enabling interrupts.
                napi.schedule();
            }
        }
        done
    }

    pub(super) fn add_stats(&self, s: &mut Stats64) {
        s.rx_packets += self.stats.packets.load(Relaxed);
        s.rx_bytes += self.stats.bytes.load(Relaxed);
        s.rx_dropped += self.stats.drops.load(Relaxed);
        s.rx_length_errors += self.stats.length_errors.load(Relaxed);
    }
}
