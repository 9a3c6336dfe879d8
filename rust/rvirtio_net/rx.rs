// SPDX-License-Identifier: GPL-2.0

//! Receive queues: buffers posted to the device, packets handed to the stack from NAPI.
//!
//! With mergeable buffers (`MRG_RXBUF`) the ring holds page fragments of [`MRG_BUF_LEN`] bytes
//! and a packet spans `num_buffers` of them: the headers are copied into a small skb, the rest
//! is attached as page fragments. Without, each buffer is an skb sized for the MTU, unless the
//! device may send GSO packets: then each buffer is a chain of [`BIG_FRAGS`] page fragments
//! that holds the largest packet ("big packets"), received like a mergeable packet.

use super::{
    hdr::{self, HDR_LEN},
    NetPriv,
};
use crate::{
    net::{
        self, apply_rx_hdr, BhDisabled, DeviceOf, Napi, Polling, RxChain, RxData, RxFrag,
        RxQueueStats, RxSkb, SkBuff, Stats64,
    },
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

/// Bytes of a mergeable buffer: a whole 64 KiB GSO packet fits in the 17 fragments an skb has.
pub(super) const MRG_BUF_LEN: u32 = 4096;
/// Bytes copied into the skb's linear part: the headers of most packets, all of small ones.
const GOOD_COPY_LEN: u32 = 128;
/// Ethernet header.
const ETH_HLEN: u32 = 14;

type MrgFrag = RxFrag<MRG_BUF_LEN>;

/// Fragments of a big-packet buffer: 17 x 4 KiB hold a 64 KiB GSO packet with its headers, and
/// fill the 17 fragment slots of an skb at most (the first one's start is copied).
pub(super) const BIG_FRAGS: usize = 17;
type BigBuf = RxChain<MRG_BUF_LEN, BIG_FRAGS>;

/// Counters of a receive queue, added to once per poll.
struct RxStats {
    packets: Atomic<u64>,
    bytes: Atomic<u64>,
    /// Packets dropped for want of memory.
    drops: Atomic<u64>,
    /// Buffers the device returned with an impossible length or header.
    length_errors: Atomic<u64>,
    /// Polls that left the ring without a single buffer: memory ran out, and only the
    /// deferred refill can bring the queue back.
    empty: Atomic<u64>,
    /// Deferred refills (process context) that posted buffers.
    deferred_refills: Atomic<u64>,
}

/// Counters of one poll.
#[derive(Default)]
struct PollStats {
    packets: u64,
    bytes: u64,
    drops: u64,
    errors: u64,
}

/// The ring of a receive queue, by the kind of buffers on it.
pub(super) enum RxRing<'a> {
    Small(Virtqueue<'a, RxSkb>),
    Mergeable(Virtqueue<'a, MrgFrag>),
    Big(Virtqueue<'a, BigBuf>),
}

impl RxRing<'_> {
    /// Calls `f` on the ring's virtqueue, whatever its buffers.
    fn with_vq<R>(&mut self, f: impl FnOnce(&mut dyn RingOps) -> R) -> R {
        match self {
            Self::Small(vq) => f(vq),
            Self::Mergeable(vq) => f(vq),
            Self::Big(vq) => f(vq),
        }
    }
}

/// What a receive ring does the same whatever its buffers.
trait RingOps {
    fn enable_cb_prepare(&mut self) -> u32;
    fn poll(&self, last: u32) -> bool;
    fn size(&self) -> u32;
    fn num_free(&self) -> u32;
}

impl<B: crate::virtio::Buffer> RingOps for Virtqueue<'_, B> {
    fn enable_cb_prepare(&mut self) -> u32 {
        Virtqueue::enable_cb_prepare(self)
    }

    fn poll(&self, last: u32) -> bool {
        Virtqueue::poll(self, last)
    }

    fn size(&self) -> u32 {
        Virtqueue::size(self)
    }

    fn num_free(&self) -> u32 {
        Virtqueue::num_free(self)
    }
}

/// Posts buffers from `alloc` until the ring is full or `alloc` runs out of memory; kicks the
/// device if any was posted. Returns false if memory ran out.
fn fill<B: crate::virtio::Buffer>(vq: &mut Virtqueue<'_, B>, alloc: fn() -> Option<B>) -> bool {
    let mut posted = false;
    let mut ok = true;
    while vq.num_free() > 0 {
        let Some(buf) = alloc() else {
            ok = false;
            break;
        };
        if vq.add_inbuf(buf).is_err() {
            break;
        }
        posted = true;
    }
    if posted {
        vq.kick();
    }
    ok
}

/// A receive queue and its NAPI context.
#[pin_data]
pub(super) struct RxQueue<'a> {
    #[pin]
    napi: Napi,
    /// Taken by NAPI polls, and by open, reset and PM with NAPI disabled. Empty while the
    /// device is being reset.
    #[pin]
    ring: SpinLock<Option<RxRing<'a>>>,
    index: u16,
    /// Bytes of each small buffer: header, Ethernet header and VLAN tag, MTU.
    buf_len: u32,
    stats: RxStats,
}

impl<'a> RxQueue<'a> {
    pub(super) fn new<'d>(
        dev: &'d DeviceOf<NetPriv<'a>>,
        index: u16,
        ring: RxRing<'a>,
        buf_len: u32,
    ) -> impl PinInit<Self> + 'd {
        pin_init!(Self {
            napi <- Napi::new(dev, u32::from(index) * 2, false),
            ring <- new_spinlock!(Some(ring)),
            index,
            buf_len,
            stats: RxStats {
                packets: Atomic::new(0),
                bytes: Atomic::new(0),
                drops: Atomic::new(0),
                length_errors: Atomic::new(0),
                empty: Atomic::new(0),
                deferred_refills: Atomic::new(0),
            },
        })
    }

    pub(super) fn napi(&self) -> &Napi {
        &self.napi
    }

    /// Posts buffers until the ring is full or memory runs out; kicks the device if any was
    /// posted. Returns false if memory ran out.
    fn refill(&self, ring: &mut RxRing<'a>, dev: &net::Device) -> bool {
        match ring {
            RxRing::Small(vq) => {
                let mut posted = false;
                let mut ok = true;
                while vq.num_free() > 0 {
                    let Some(skb) = SkBuff::alloc_rx(dev, self.buf_len) else {
                        ok = false;
                        break;
                    };
                    let Ok(buf) = RxSkb::new(skb, self.buf_len) else {
                        break;
                    };
                    if vq.add_inbuf(buf).is_err() {
                        break;
                    }
                    posted = true;
                }
                if posted {
                    vq.kick();
                }
                ok
            }
            RxRing::Mergeable(vq) => fill(vq, MrgFrag::alloc),
            // A chain takes BIG_FRAGS descriptors, or one indirect descriptor.
            RxRing::Big(vq) => fill(vq, BigBuf::alloc),
        }
    }

    /// Takes the ring out, to drop it (which resets the device) before a reset. NAPI is
    /// disabled.
    pub(super) fn take_ring(&self) -> Option<RxRing<'a>> {
        // The guard is a local declared after `_bh`, so that it is dropped first: a temporary
        // of the tail expression would outlive `_bh`, leaving bottom halves on under the lock.
        let _bh = BhDisabled::disable();
        let mut ring = self.ring.lock();
        ring.take()
    }

    /// Puts a new ring in, after a reset; [`RxQueue::open`] fills it if the interface is up.
    pub(super) fn set_ring(&self, ring: RxRing<'a>) {
        let _bh = BhDisabled::disable();
        *self.ring.lock() = Some(ring);
    }

    /// The interface goes up: fill the ring and start polling.
    pub(super) fn open(&self, dev: &net::Device) {
        {
            // NAPI takes the lock in softirq context: never hold it with bottom halves on.
            let _bh = BhDisabled::disable();
            let mut ring = self.ring.lock();
            if let Some(ring) = Option::as_mut(&mut *ring) {
                if !self.refill(ring, dev) {
                    self.stats.drops.add(1, Relaxed);
                }
            }
        }
        self.napi.enable();
        // Buffers used before NAPI was enabled raised no interrupt we could act on.
        self.napi.schedule();
    }

    /// Refills the ring from process context after memory ran out in NAPI; false if it still
    /// does. The caller holds rtnl and the interface is up (NAPI enabled).
    pub(super) fn refill_deferred(&self, dev: &net::Device) -> bool {
        self.napi.disable();
        let ok = {
            let _bh = BhDisabled::disable();
            let mut ring = self.ring.lock();
            match Option::as_mut(&mut *ring) {
                Some(ring) => {
                    let free = ring.with_vq(|vq| vq.num_free());
                    let ok = self.refill(ring, dev);
                    if ring.with_vq(|vq| vq.num_free()) < free {
                        self.stats.deferred_refills.add(1, Relaxed);
                    }
                    ok
                }
                None => true,
            }
        };
        self.napi.enable();
        self.napi.schedule();
        ok
    }

    /// The interface goes down: stop polling. The buffers stay posted.
    pub(super) fn close(&self) {
        self.napi.disable();
    }

    /// A small buffer of `len` bytes: header and packet in one skb.
    fn receive_small(buf: RxSkb, len: u32, st: &mut PollStats) -> Option<SkBuff> {
        if len < HDR_LEN as u32 + ETH_HLEN {
            st.errors += 1;
            return None;
        }
        let Ok(mut skb) = buf.complete(len) else {
            st.errors += 1;
            return None;
        };
        let mut h = [0u8; HDR_LEN];
        h.copy_from_slice(skb.head_data().get(..HDR_LEN)?);
        if skb.pull(HDR_LEN as u32).is_err() || apply_rx_hdr(&mut skb, &h).is_err() {
            st.errors += 1;
            return None;
        }
        st.bytes += u64::from(len) - HDR_LEN as u64;
        Some(skb)
    }

    /// The first fragment of a packet, whose `len` bytes start with the header (checked to be
    /// there): a new skb with a copy of the packet's start and the rest of the fragment
    /// attached (`None` without memory), and the header.
    fn receive_first(
        napi: &Polling<'_>,
        data: RxData,
        len: u32,
        st: &mut PollStats,
    ) -> (Option<SkBuff>, [u8; HDR_LEN]) {
        let mut h = [0u8; HDR_LEN];
        h.copy_from_slice(&data.bytes()[..HDR_LEN]);
        let copy = (len - HDR_LEN as u32).min(GOOD_COPY_LEN);
        let mut skb = napi.alloc_skb(copy);
        match skb.as_mut() {
            Some(s) => {
                let start = HDR_LEN + copy as usize;
                let ok = s.put_data(&data.bytes()[HDR_LEN..start]).is_ok()
                    && data.attach(s, start as u32, MRG_BUF_LEN).is_ok();
                if !ok {
                    st.errors += 1;
                    skb = None;
                }
            }
            None => st.drops += 1,
        }
        (skb, h)
    }

    /// A big-packet buffer of which the device used `len` bytes.
    fn receive_big(
        napi: &Polling<'_>,
        buf: BigBuf,
        len: u32,
        st: &mut PollStats,
    ) -> Option<SkBuff> {
        let mut parts = buf
            .complete(len)
            .filter(|_| len >= HDR_LEN as u32 + ETH_HLEN)
            .or_else(|| {
                st.errors += 1;
                None
            })?;
        let first = parts.next()?;
        let first_len = len.min(MRG_BUF_LEN);
        let (skb, h) = Self::receive_first(napi, first, first_len, st);
        let mut skb = skb?;
        for data in parts {
            if data.attach(&mut skb, 0, MRG_BUF_LEN).is_err() {
                st.errors += 1;
                return None;
            }
        }
        if apply_rx_hdr(&mut skb, &h).is_err() {
            st.errors += 1;
            return None;
        }
        st.bytes += u64::from(len) - HDR_LEN as u64;
        Some(skb)
    }

    /// The first buffer of a packet in mergeable buffers, and the rest from `vq`.
    fn receive_mergeable(
        napi: &Polling<'_>,
        vq: &mut Virtqueue<'a, MrgFrag>,
        first: MrgFrag,
        len: u32,
        st: &mut PollStats,
    ) -> Option<SkBuff> {
        let data = first.complete(len);
        let Some(data) = data.filter(|_| len >= HDR_LEN as u32 + ETH_HLEN) else {
            // Without a header the packet's other buffers cannot be found: the next ones are
            // taken as packets of their own, and fail the same checks if they are not.
            st.errors += 1;
            return None;
        };
        let nbufs = data
            .bytes()
            .first_chunk::<HDR_LEN>()
            .map_or(1, |h| hdr::num_buffers(h).max(1));
        let (mut skb, h) = Self::receive_first(napi, data, len, st);
        let mut ok = true;
        let mut bytes = u64::from(len) - HDR_LEN as u64;
        // The other buffers of the packet are taken off the ring whatever happens to it.
        for _ in 1..nbufs {
            let Some((frag, flen)) = vq.get_buf() else {
                st.errors += 1;
                ok = false;
                break;
            };
            let Some(data) = frag.complete(flen) else {
                st.errors += 1;
                ok = false;
                continue;
            };
            bytes += u64::from(flen);
            if let (Some(s), true) = (skb.as_mut(), ok) {
                ok = data.attach(s, 0, MRG_BUF_LEN).is_ok();
            }
        }
        let mut skb = skb?;
        if !ok || apply_rx_hdr(&mut skb, &h).is_err() {
            st.errors += 1;
            return None;
        }
        st.bytes += bytes;
        Some(skb)
    }

    pub(super) fn poll(&self, napi: &Polling<'_>, budget: u32) -> u32 {
        let dev = napi.device();
        let mut done = 0;
        let mut st = PollStats::default();
        let mut guard = self.ring.lock();
        let Some(ring) = Option::as_mut(&mut *guard) else {
            drop(guard);
            napi.complete_done(0);
            return 0;
        };
        while done < budget {
            let skb = match &mut *ring {
                RxRing::Small(vq) => {
                    let Some((buf, len)) = vq.get_buf() else {
                        break;
                    };
                    Self::receive_small(buf, len, &mut st)
                }
                RxRing::Mergeable(vq) => {
                    let Some((frag, len)) = vq.get_buf() else {
                        break;
                    };
                    Self::receive_mergeable(napi, vq, frag, len, &mut st)
                }
                RxRing::Big(vq) => {
                    let Some((buf, len)) = vq.get_buf() else {
                        break;
                    };
                    Self::receive_big(napi, buf, len, &mut st)
                }
            };
            done += 1;
            let Some(mut skb) = skb else {
                continue;
            };
            if skb.eth_type_trans(dev).is_err() {
                st.errors += 1;
                continue;
            }
            skb.record_rx_queue(self.index);
            st.packets += 1;
            napi.gro_receive(skb);
        }
        if !self.refill(ring, dev) {
            // Out of memory: refill from process context soon, or the ring may run dry with
            // no interrupt left to bring us back.
            st.drops += 1;
            if ring.with_vq(|vq| vq.num_free() == vq.size()) {
                self.stats.empty.add(1, Relaxed);
            }
            dev.schedule_deferred(0);
        }
        let last = (done < budget).then(|| ring.with_vq(|vq| vq.enable_cb_prepare()));
        drop(guard);

        self.stats.packets.add(st.packets, Relaxed);
        self.stats.bytes.add(st.bytes, Relaxed);
        if st.drops != 0 {
            self.stats.drops.add(st.drops, Relaxed);
        }
        if st.errors != 0 {
            self.stats.length_errors.add(st.errors, Relaxed);
        }
        if let Some(last) = last {
            if napi.complete_done(done) {
                let more = Option::as_mut(&mut *self.ring.lock())
                    .is_some_and(|ring| ring.with_vq(|vq| vq.poll(last)));
                if more {
                    // Buffers were used between the last look and re-enabling interrupts.
                    napi.schedule();
                }
            }
        }
        done
    }

    /// The ring's size (0 while the device is reset).
    pub(super) fn ring_size(&self) -> u32 {
        let _bh = BhDisabled::disable();
        let mut ring = self.ring.lock();
        Option::as_mut(&mut *ring).map_or(0, |ring| ring.with_vq(|vq| vq.size()))
    }

    /// Packets, bytes, drops, errors, polls that left the ring empty, deferred refills (as
    /// ethtool names them).
    pub(super) fn stat_values(&self) -> [u64; 6] {
        [
            self.stats.packets.load(Relaxed),
            self.stats.bytes.load(Relaxed),
            self.stats.drops.load(Relaxed),
            self.stats.length_errors.load(Relaxed),
            self.stats.empty.load(Relaxed),
            self.stats.deferred_refills.load(Relaxed),
        ]
    }

    /// The counters the netdev core reports per queue: every drop counted here is an
    /// allocation failure; length errors have no counter there.
    pub(super) fn queue_stats(&self) -> RxQueueStats {
        RxQueueStats {
            packets: Some(self.stats.packets.load(Relaxed)),
            bytes: Some(self.stats.bytes.load(Relaxed)),
            alloc_fail: Some(self.stats.drops.load(Relaxed)),
        }
    }

    pub(super) fn add_stats(&self, s: &mut Stats64) {
        s.rx_packets += self.stats.packets.load(Relaxed);
        s.rx_bytes += self.stats.bytes.load(Relaxed);
        s.rx_dropped += self.stats.drops.load(Relaxed);
        s.rx_length_errors += self.stats.length_errors.load(Relaxed);
    }
}
