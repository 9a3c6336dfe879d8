// SPDX-License-Identifier: GPL-2.0

//! Fuzzing of the capability validation with generated, mostly malformed capability lists,
//! against a model of the C transport (`upstream_model`).
//!
//! Starts from the layout QEMU presents and applies random mutations (boundary and random
//! values in every field, dropped, duplicated, reordered and random capabilities, random and
//! shrunk BARs). For every list:
//!
//! (a) if the C transport (as modelled, with 4 KiB and with 64 KiB pages) accepts it, so do
//!     we, except in the cases listed in [`UpstreamOnly`]; if we accept it and the C transport
//!     does not, it is one of the cases listed in [`OursOnly`];
//! (b) whatever we accept is `upstream_model::safe`, and where both accept (or, for
//!     [`OursOnly`], where the C transport accepts once the one refusal is lifted), both use the
//!     same capabilities, and our regions are what the C transport maps, clamped to the BAR;
//! (c) no panic (overflow checks are on); every accepted layout keeps the invariants the
//!     transport relies on; every rejection and every warning has a message naming the
//!     capability and field (and, for warnings, the spec clause); per-queue notification
//!     offsets agree with the C transport's except in the cases listed in [`QueueDiff`], and
//!     shared memory regions with what it gives a driver except as listed in [`ShmDiff`].
//!
//! Every rejection reason, every warning kind, every kind of ignored shared memory capability
//! and every expected difference from the C transport is reached. `RVIRTIO_FUZZ_ITERS` sets the
//! count (default one million); run with `--nocapture` to see the counts.

use crate::caps::*;
use crate::caps_tests::{qemu_bars, qemu_caps};
use crate::upstream_model::{
    self, MapFail, NotifyMap, Probe, Refusal, VqNotifyFail, PAGE_4K, PAGE_64K,
};
use std::string::ToString;
use std::vec::Vec;
use std::{env, println};

/// xorshift64*: small, deterministic, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn u32_edge(&mut self) -> u32 {
        const EDGES: [u32; 18] = [
            0,
            1,
            2,
            3,
            4,
            55,
            56,
            0xfff,
            0x1000,
            0x1001,
            0x2ffe,
            0x3ffe,
            0x4000,
            0x0040_0000,
            0x7fff_ffff,
            0xffff_f000,
            0xffff_fffe,
            u32::MAX,
        ];
        match self.below(3) {
            0 => EDGES[self.below(EDGES.len() as u64) as usize],
            1 => self.next() as u32,
            _ => (self.below(0x5000)) as u32,
        }
    }

    fn u8_edge(&mut self) -> u8 {
        match self.below(3) {
            0 => [0u8, 1, 4, 5, 6, 15, 16, 19, 20, 23, 24, 0xff][self.below(12) as usize],
            _ => self.next() as u8,
        }
    }
}

fn mutate_cap(rng: &mut Rng, c: &mut RawCap) {
    match rng.below(9) {
        0 => c.cap_len = rng.u8_edge(),
        1 => c.cfg_type = [1u8, 2, 3, 4, 5, 8, 9, 0, 0xff][rng.below(9) as usize],
        2 => c.bar = rng.u8_edge() % 8,
        3 => c.bar = rng.u8_edge(),
        4 => c.offset = rng.u32_edge(),
        5 => c.length = rng.u32_edge(),
        6 => c.extra0 = rng.u32_edge(),
        7 => c.extra1 = rng.u32_edge(),
        _ => c.id = rng.u8_edge(),
    }
}

fn random_cap(rng: &mut Rng) -> RawCap {
    RawCap {
        pos: rng.next() as u8,
        cap_len: rng.u8_edge(),
        cfg_type: [1u8, 2, 3, 4, 8, 5][rng.below(6) as usize],
        bar: rng.u8_edge() % 8,
        id: rng.below(4) as u8,
        offset: rng.u32_edge(),
        length: rng.u32_edge(),
        extra0: rng.u32_edge(),
        extra1: rng.u32_edge(),
    }
}

fn random_bars(rng: &mut Rng) -> [Bar; NUM_BARS] {
    let mut bars = qemu_bars();
    for _ in 0..rng.below(3) {
        let i = rng.below(NUM_BARS as u64) as usize;
        bars[i] = Bar {
            kind: [BarKind::None, BarKind::Io, BarKind::Mem32, BarKind::Mem64]
                [rng.below(4) as usize],
            len: match rng.below(4) {
                0 => 0,
                1 => 1 << rng.below(64),
                2 => u64::MAX,
                _ => rng.next(),
            },
        };
    }
    // Now and then a BAR 4 that ends inside one of QEMU's structures, to reach clamping.
    if rng.below(4) == 0 {
        bars[4].len = [0x1000, 0x2000, 0x3002, 0x3800, 0x3ffe, 0x3fff][rng.below(6) as usize];
    }
    bars
}

/// What the transport relies on when `parse` accepts a device, beyond `upstream_model::safe`.
fn check_layout(l: &Layout, bars: &[Bar; NUM_BARS]) {
    if let Err(why) = upstream_model::safe(l, bars) {
        panic!("unsafe layout: {why}: {l:?} with {bars:?}");
    }
    assert!(l.shm_count <= MAX_SHM);
    for (i, s) in l.shm[..l.shm_count].iter().enumerate() {
        assert!(l.shm[..i].iter().all(|o| o.id != s.id), "duplicate shm id");
    }
    assert!(l.warning_count <= MAX_WARNINGS);
    assert_eq!(l.warnings().count(), l.warning_count);
    // The multiplier is used as it is, and said so when it is not what the spec requires.
    let m = l.notify_off_multiplier;
    let bad_multiplier = m != 0 && (m == 1 || !m.is_power_of_two());
    let warned = l
        .warnings()
        .any(|w| matches!(w, Warning::NotifyOffMultiplier { multiplier, .. } if *multiplier == m));
    if l.warnings_dropped == 0 {
        assert_eq!(bad_multiplier, warned, "multiplier {m}: {l:?}");
    } else {
        assert!(!warned || bad_multiplier);
    }
    // A notification structure at an odd offset is used as it is, and said so.
    let odd = l.notify.offset % 2 != 0;
    let warned = l.warnings().any(|w| {
        matches!(w, Warning::Misaligned { cap: CapType::Notify, offset, align: 2, .. }
            if *offset == l.notify.offset)
    });
    if l.warnings_dropped == 0 {
        assert_eq!(odd, warned, "notify offset: {l:?}");
    } else {
        assert!(!warned || odd);
    }
    // Only the notification structure may be misaligned.
    assert_eq!(l.common.offset % 4, 0);
    assert!(l.device.is_none_or(|d| d.offset % 4 == 0));
    // A region left out for the limit only when the limit is reached.
    if l.warnings()
        .any(|w| matches!(w, Warning::TooManyShm { .. }))
    {
        assert_eq!(l.shm_count, MAX_SHM);
    }
}

fn reason(e: &CapError) -> usize {
    match e {
        CapError::Missing(_) => 0,
        CapError::Length { .. } => 1,
        // A misaligned notification structure binds with a warning.
        CapError::Align {
            cap: CapType::Notify,
            ..
        } => panic!("{e:?} declined a device"),
        CapError::Align { .. } => 2,
        CapError::OutOfBar { .. } => 3,
        // Only shared memory capabilities fail these, and those are left out with a warning.
        CapError::CapLen { .. } | CapError::BarKind { .. } | CapError::Overflow { .. } => {
            panic!("{e:?} declined a device")
        }
    }
}

const REASONS: [&str; 4] = ["missing", "length", "align", "out of bar"];
const FIELDS: [&str; 4] = ["no ", "length", "aligned", "past the end"];

fn warning_kind(w: &Warning) -> usize {
    match w {
        Warning::CapLen { .. } => 0,
        Warning::NoResource { .. } => 1,
        Warning::Clamped { .. } => 2,
        Warning::NotifyOffMultiplier { .. } => 3,
        Warning::Ignored { .. } => 4,
        Warning::Misaligned { .. } => 5,
        Warning::TooManyShm { .. } => 6,
    }
}

const WARNINGS: [&str; 7] = [
    "cap_len",
    "no resource",
    "clamped",
    "notify_off_multiplier",
    "ignored shm",
    "misaligned notify",
    "too many shm",
];
const WARNING_FIELDS: [&str; 7] = [
    "cap_len",
    "has no resource",
    "past the end",
    "notify_off_multiplier",
    "",
    "offset",
    "id",
];

fn ignored_kind(e: &CapError) -> usize {
    match e {
        CapError::BarKind { .. } => 0,
        CapError::Length { .. } => 1,
        CapError::Overflow { .. } => 2,
        CapError::OutOfBar { .. } => 3,
        CapError::CapLen { .. } => 4,
        CapError::Missing(_) | CapError::Align { .. } => panic!("{e:?} on shared memory"),
    }
}

const IGNORED: [&str; 5] = ["bar kind", "length", "overflow", "out of bar", "cap_len"];

/// The devices the C transport binds and we decline. Each is a notify capability whose
/// structure the C transport does not map at probe time (`length + offset % PAGE_SIZE >
/// PAGE_SIZE`), so that it checks nothing about it before each queue is set up, and then
/// checks each queue's register on its own.
///
/// - `NotifyPastBar`: `offset + 2` is past the end of the BAR. Every queue's mapping fails in
///   the C transport, so the device binds without a usable queue; we refuse it up front.
///
/// There is none for the common, ISR or device structures: clamping to the BAR accepts
/// whatever the C transport maps, and shared memory is not looked at by its probe. A
/// misaligned notify `offset` is no longer one: we bind it too (see [`OursOnly`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UpstreamOnly {
    NotifyPastBar,
}

const UPSTREAM_ONLY: [&str; 1] = ["notify mapped per queue, past the BAR"];

fn upstream_only(e: &CapError, p: &Probe) -> Option<UpstreamOnly> {
    let NotifyMap::PerQueue { pos, .. } = p.notify else {
        return None;
    };
    match *e {
        CapError::OutOfBar {
            cap: CapType::Notify,
            pos: at,
            ..
        } if at == pos => Some(UpstreamOnly::NotifyPastBar),
        _ => None,
    }
}

/// The devices we bind and the C transport declines.
///
/// - `NotifyMisalignedWhole`: the notify capability's `offset` is not 2-aligned and its
///   structure is small enough (`length + offset % PAGE_SIZE <= PAGE_SIZE`) for the C transport
///   to map it whole at probe time, where `vp_modern_map_capability` refuses the offset ("offset
///   %u not aligned to 2"). We bind with `Warning::Misaligned`: `notify_offset` checks each
///   register's offset in the BAR for alignment, so a queue whose register is misaligned is
///   refused and the others work, which is what the C transport does with the same structure
///   when it is larger than a page (mapped per queue, each register checked on its own).
///   Checked: with the structure made larger than a page, the C transport binds the device,
///   with the same capabilities as ours, so that the misaligned offset is its only refusal.
///
/// There is no other: for everything else we are at least as strict as its probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OursOnly {
    NotifyMisalignedWhole,
}

const OURS_ONLY: [&str; 1] = ["notify mapped whole, misaligned"];

fn ours_only(
    caps: &[RawCap],
    bars: &[Bar; NUM_BARS],
    l: &Layout,
    r: &Refusal,
    page: u64,
) -> Option<OursOnly> {
    let Refusal::Map {
        cfg_type: CAP_NOTIFY_CFG,
        pos,
        why: MapFail::Misaligned,
    } = *r
    else {
        return None;
    };
    let (index, n) = upstream_model::find(caps, bars, CAP_NOTIFY_CFG)?;
    if n.pos != pos
        || (n.bar, u64::from(n.offset)) != (l.notify.bar, l.notify.offset)
        || l.notify.offset % 2 == 0
    {
        return None;
    }
    // Larger than a page, the same structure is mapped per queue: nothing else refuses it.
    let mut large = caps.to_vec();
    large[index].length = u32::MAX;
    let p = upstream_model::probe(&large, bars, page).ok()?;
    if !matches!(p.notify, NotifyMap::PerQueue { index: i, .. } if i == index) {
        return None;
    }
    compare_layouts(caps, l, &p, bars);
    Some(OursOnly::NotifyMisalignedWhole)
}

/// Per-queue differences with the C transport, for a device both accept and a 16-bit
/// notification register.
///
/// Where the C transport gives an address and we do not:
/// - `UpMisaligned`: the structure is mapped whole and `offset + queue_notify_off *
///   multiplier` is odd: the C transport does the unaligned `iowrite16` (which faults on some
///   architectures); we refuse the queue.
/// - `UpPastBar`: the structure is mapped whole and its `length` runs past the BAR: the C
///   transport bounds the register by `length`, not by what it mapped, and writes past the end
///   of the BAR; our region is clamped and we refuse the queue.
/// - `UpWrap`: mapped per queue, `queue_notify_off * multiplier` wraps in 32 bits in the C
///   transport, which then writes another queue's register; we compute it in 64 bits and refuse.
///
/// Where we give an address and the C transport does not:
/// - `OursWrap`: mapped per queue, `offset + queue_notify_off * multiplier` does not fit in 32
///   bits ("map wrap-around"), in a BAR larger than 4 GiB; the register is within the BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum QueueDiff {
    UpMisaligned,
    UpPastBar,
    UpWrap,
    OursWrap,
}

const QUEUE_DIFFS: [&str; 4] = [
    "upstream-only: misaligned (whole)",
    "upstream-only: past the BAR (whole)",
    "upstream-only: 32-bit wrap (per queue)",
    "ours-only: 32-bit offset wrap (per queue)",
];

/// Compares a queue's notification register, returns the difference if any.
fn compare_queue(
    l: &Layout,
    p: &Probe,
    bars: &[Bar; NUM_BARS],
    off: u16,
) -> (bool, bool, Option<QueueDiff>) {
    let ours = notify_offset(l, 0, off, 2);
    let up = upstream_model::vq_notify(p, bars, off);
    let product = u64::from(off) * u64::from(l.notify_off_multiplier);
    let diff = match (&ours, &up) {
        (Ok(o), Ok(u)) => {
            assert_eq!(
                l.notify.offset + o,
                *u,
                "queue_notify_off {off}: {l:?} {p:?}"
            );
            None
        }
        (Err(_), Err(_)) => None,
        (Err(e), Ok(_)) => Some(match (p.notify, e) {
            (NotifyMap::Whole(_), NotifyError::Misaligned { .. }) => QueueDiff::UpMisaligned,
            (NotifyMap::Whole(m), NotifyError::OutOfRegion { .. }) if m.len > l.notify.len => {
                QueueDiff::UpPastBar
            }
            (NotifyMap::PerQueue { .. }, NotifyError::OutOfRegion { .. })
                if product > u64::from(u32::MAX) =>
            {
                QueueDiff::UpWrap
            }
            _ => panic!("queue_notify_off {off}: ours {ours:?}, upstream {up:?}: {l:?} {p:?}"),
        }),
        (Ok(_), Err(e)) => match (p.notify, e) {
            (NotifyMap::PerQueue { .. }, VqNotifyFail::Map(upstream_model::MapFail::Wrap)) => {
                Some(QueueDiff::OursWrap)
            }
            _ => panic!("queue_notify_off {off}: ours {ours:?}, upstream {up:?}: {l:?} {p:?}"),
        },
    };
    (ours.is_ok(), up.is_ok(), diff)
}

/// Where both accept: the same capabilities, and our regions are the C transport's, clamped.
fn compare_layouts(caps: &[RawCap], l: &Layout, p: &Probe, bars: &[Bar; NUM_BARS]) {
    let cap_at = |index: usize, t: u8| {
        let c = &caps[index];
        assert_eq!(c.cfg_type, t);
        c
    };
    // Our region: the capability's, clamped to the BAR.
    let clamped = |c: &RawCap| {
        let bar_len = bars[usize::from(c.bar)].len;
        Region {
            bar: c.bar,
            offset: u64::from(c.offset),
            len: u64::from(c.length).min(bar_len - u64::from(c.offset)),
        }
    };
    let common = cap_at(p.common.index, CAP_COMMON_CFG);
    assert_eq!(l.common, clamped(common));
    assert_eq!(
        p.common.mapped,
        l.common.len.min(upstream_model::COMMON_MAP_MAX)
    );
    let isr = cap_at(p.isr.index, CAP_ISR_CFG);
    assert_eq!(l.isr, clamped(isr));
    assert_eq!(p.isr.mapped, 1);
    match p.notify {
        NotifyMap::Whole(m) => {
            let n = cap_at(m.index, CAP_NOTIFY_CFG);
            assert_eq!(l.notify, clamped(n));
            assert_eq!(m.mapped, l.notify.len);
            assert_eq!(m.len, u64::from(n.length));
        }
        NotifyMap::PerQueue { index, .. } => {
            assert_eq!(l.notify, clamped(cap_at(index, CAP_NOTIFY_CFG)));
        }
    }
    assert_eq!(l.notify_off_multiplier, p.multiplier);
    match (&l.device, &p.device) {
        (None, None) => {}
        (Some(d), Some(m)) => {
            assert_eq!(*d, clamped(cap_at(m.index, CAP_DEVICE_CFG)));
            assert_eq!(m.mapped, d.len.min(m.len));
        }
        _ => panic!("device: ours {:?}, upstream {:?}", l.device, p.device),
    }
}

/// Shared memory regions compared with what `vp_get_shm_region` gives a driver asking for each
/// id (the C transport does not look at them when it binds the device).
///
/// Where the C transport gives a region and we do not:
/// - `UpNotMemory`: the region is in an I/O BAR (or one without a resource): the C transport
///   hands out the BAR's start as a physical memory address; we leave it out.
/// - `UpEmpty`: a zero-length region.
/// - `UpOverMax`: we keep at most `MAX_SHM` regions.
///
/// Where we give a region and the C transport gives none or another one:
/// - `OursLongCapLen`: `cap_len` above it: we use it silently; the C transport skips it.
/// - `OursLaterDuplicate`: the first capability with that id cannot be used, and we use a later
///   one with the same id (ids must be unique, virtio 1.2, 4.1.4.7); the C transport takes the
///   first and gives up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ShmDiff {
    UpNotMemory,
    UpEmpty,
    UpOverMax,
    OursLongCapLen,
    OursLaterDuplicate,
}

const SHM_DIFFS: [&str; 5] = [
    "upstream-only: not a memory BAR",
    "upstream-only: empty",
    "upstream-only: over MAX_SHM",
    "ours-only: cap_len above 24",
    "ours-only: later duplicate id",
];

/// Compares every shared memory region of an accepted layout: counts agreements in
/// `agree[0]` (both give the same region) and `agree[1]` (neither gives one).
fn compare_shm(
    caps: &[RawCap],
    l: &Layout,
    bars: &[Bar; NUM_BARS],
    agree: &mut [u64; 2],
    diffs: &mut [u64; 5],
) {
    let mut ids = [false; 256];
    for c in caps.iter().filter(|c| c.cfg_type == CAP_SHARED_MEMORY_CFG) {
        ids[usize::from(c.id)] = true;
    }
    let decode = |c: &RawCap| Region {
        bar: c.bar,
        offset: u64::from(c.offset) | (u64::from(c.extra0) << 32),
        len: u64::from(c.length) | (u64::from(c.extra1) << 32),
    };
    for id in (0..=255u8).filter(|id| ids[usize::from(*id)]) {
        let ours = l.shm(id);
        let up = upstream_model::shm_region(caps, bars, id);
        let diff = match (ours, up) {
            (None, Err(_)) => {
                agree[1] += 1;
                continue;
            }
            (Some(o), Ok((_, u))) if o == u => {
                agree[0] += 1;
                continue;
            }
            (None, Ok((_, u))) => {
                let bar = bars[usize::from(u.bar)];
                if !matches!(bar.kind, BarKind::Mem32 | BarKind::Mem64) || bar.len == 0 {
                    ShmDiff::UpNotMemory
                } else if u.len == 0 {
                    ShmDiff::UpEmpty
                } else if l.shm_count == MAX_SHM {
                    // Said so, unless the warnings ran out.
                    assert!(
                        l.warnings_dropped > 0
                            || l.warnings().any(
                                |w| matches!(w, Warning::TooManyShm { id: i, .. } if *i == id)
                            ),
                        "shm {id} over MAX_SHM without a warning: {l:?}"
                    );
                    ShmDiff::UpOverMax
                } else {
                    panic!("shm {id}: ours none, upstream {up:?}:\n{caps:#x?}\n{bars:x?}")
                }
            }
            (Some(o), _) => {
                let same_id = |c: &&RawCap| {
                    c.cfg_type == CAP_SHARED_MEMORY_CFG
                        && c.id == id
                        && usize::from(c.bar) < NUM_BARS
                };
                let (i, used) = caps
                    .iter()
                    .enumerate()
                    .find(|(_, c)| same_id(c) && c.cap_len >= CAP64_LEN && decode(c) == o)
                    .expect("our region comes from a capability");
                if used.cap_len > CAP64_LEN {
                    ShmDiff::OursLongCapLen
                } else if caps[..i]
                    .iter()
                    .any(|c| same_id(&c) && c.cap_len == CAP64_LEN)
                {
                    ShmDiff::OursLaterDuplicate
                } else {
                    panic!("shm {id}: ours {o:?}, upstream {up:?}:\n{caps:#x?}\n{bars:x?}")
                }
            }
        };
        diffs[diff as usize] += 1;
    }
}

/// Outcome counts against the model with one page size.
#[derive(Default)]
struct Versus {
    both_accept: u64,
    both_reject: u64,
    upstream_only: [u64; 1],
    ours_only: [u64; 1],
}

impl Versus {
    fn record(
        &mut self,
        caps: &[RawCap],
        bars: &[Bar; NUM_BARS],
        ours: &Result<Layout, CapError>,
        page: u64,
    ) -> Option<Probe> {
        let up = upstream_model::probe(caps, bars, page);
        match (ours, &up) {
            (Ok(l), Ok(p)) => {
                self.both_accept += 1;
                compare_layouts(caps, l, p, bars);
                return Some(*p);
            }
            (Err(_), Err(_)) => self.both_reject += 1,
            (Err(e), Ok(p)) => match upstream_only(e, p) {
                Some(why) => self.upstream_only[why as usize] += 1,
                None => panic!(
                    "the C transport ({page}-byte pages) binds, we decline with {e:?}:\n{caps:#x?}\n{bars:x?}\n{p:x?}"
                ),
            },
            (Ok(l), Err(r)) => match ours_only(caps, bars, l, r, page) {
                Some(why) => self.ours_only[why as usize] += 1,
                None => panic!(
                    "we bind, the C transport ({page}-byte pages) declines with {r:?}:\n{caps:#x?}\n{bars:x?}\n{l:x?}"
                ),
            },
        }
        None
    }

    fn print(&self, page: u64) {
        let list = |names: &[&str], counts: &[u64]| {
            names
                .iter()
                .zip(counts)
                .map(|(w, n)| std::format!("{w}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "  vs upstream 7.2 ({} KiB pages): both accept {}, both reject {}, upstream-only {} ({}), ours-only {} ({})",
            page / 1024,
            self.both_accept,
            self.both_reject,
            self.upstream_only.iter().sum::<u64>(),
            list(&UPSTREAM_ONLY, &self.upstream_only),
            self.ours_only.iter().sum::<u64>(),
            list(&OURS_ONLY, &self.ours_only),
        );
    }
}

#[test]
fn fuzz_capability_lists() {
    let iters: u64 = env::var("RVIRTIO_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut accepted = 0u64;
    let mut rejected = [0u64; 4];
    let mut warned = [0u64; WARNINGS.len()];
    let mut ignored = [0u64; 5];
    let mut dropped = 0u64;
    let mut vs4k = Versus::default();
    let mut vs64k = Versus::default();
    // Per queue (against the 4 KiB model): both give an address, neither does, differences.
    let mut queues = [0u64; 2];
    let mut queue_diffs = [0u64; 4];
    // Shared memory ids (against `vp_get_shm_region`): same region, neither, differences.
    let mut shm_agree = [0u64; 2];
    let mut shm_diffs = [0u64; 5];
    let mut caps: Vec<RawCap> = Vec::with_capacity(64);

    for _ in 0..iters {
        caps.clear();
        caps.extend(qemu_caps());
        let mut bars = random_bars(&mut rng);
        // Now and then shared memory regions in an 8 GiB BAR 2, for the mutations to work on:
        // one, or more than are kept.
        if rng.below(4) == 0 {
            bars[2] = Bar {
                kind: BarKind::Mem64,
                len: 1 << 33,
            };
            let n = if rng.below(32) == 0 {
                MAX_SHM as u64 + 2
            } else {
                1
            };
            for i in 0..n {
                caps.push(RawCap {
                    pos: (0x98 + 0x18 * i) as u8,
                    cap_len: CAP64_LEN,
                    cfg_type: CAP_SHARED_MEMORY_CFG,
                    bar: 2,
                    id: if n == 1 { rng.below(4) as u8 } else { i as u8 },
                    offset: 0x1000 * i as u32,
                    length: 0x1000,
                    extra0: rng.below(2) as u32,
                    extra1: 0,
                });
            }
        }
        for _ in 0..=rng.below(4) {
            match rng.below(10) {
                0 if !caps.is_empty() => {
                    let i = rng.below(caps.len() as u64) as usize;
                    caps.remove(i);
                }
                1 if !caps.is_empty() => {
                    let i = rng.below(caps.len() as u64) as usize;
                    let c = caps[i];
                    caps.insert(rng.below(caps.len() as u64 + 1) as usize, c);
                }
                2 => {
                    let c = random_cap(&mut rng);
                    caps.insert(rng.below(caps.len() as u64 + 1) as usize, c);
                }
                3 if caps.len() > 1 => {
                    let a = rng.below(caps.len() as u64) as usize;
                    let b = rng.below(caps.len() as u64) as usize;
                    caps.swap(a, b);
                }
                _ if !caps.is_empty() => {
                    let i = rng.below(caps.len() as u64) as usize;
                    mutate_cap(&mut rng, &mut caps[i]);
                }
                _ => {}
            }
        }

        // Now and then more capabilities in BARs without a resource than warnings are kept.
        if rng.below(64) == 0 {
            for _ in 0..=rng.below(12) {
                let mut c = random_cap(&mut rng);
                c.bar = [0u8, 3, 5][rng.below(3) as usize];
                caps.insert(rng.below(caps.len() as u64 + 1) as usize, c);
            }
        }

        let ours = parse(&caps, &bars);
        let probe = vs4k.record(&caps, &bars, &ours, PAGE_4K);
        vs64k.record(&caps, &bars, &ours, PAGE_64K);
        match &ours {
            Ok(l) => {
                accepted += 1;
                check_layout(l, &bars);
                dropped += l.warnings_dropped as u64;
                for w in l.warnings() {
                    let k = warning_kind(w);
                    warned[k] += 1;
                    let msg = w.to_string();
                    assert!(
                        msg.contains("capability at 0x"),
                        "'{msg}' does not say which"
                    );
                    if let Warning::Ignored { error } = w {
                        ignored[ignored_kind(error)] += 1;
                        assert_eq!(
                            msg,
                            std::format!("{error} (virtio 1.2, 4.1.4.7): ignoring it")
                        );
                    } else {
                        assert!(
                            msg.contains(WARNING_FIELDS[k]),
                            "'{msg}' does not name its field"
                        );
                        assert!(
                            msg.contains("(virtio 1.2, 4.1.4"),
                            "'{msg}' cites no clause"
                        );
                    }
                }
                compare_shm(&caps, l, &bars, &mut shm_agree, &mut shm_diffs);
                for _ in 0..4 {
                    let off = match rng.below(3) {
                        0 => rng.below(8) as u16,
                        1 => rng.below(0x1000) as u16,
                        _ => rng.next() as u16,
                    };
                    let width = if rng.below(2) == 0 { 2 } else { 4 };
                    if let Ok(o) = notify_offset(l, 0, off, width) {
                        assert!(o + width <= l.notify.len);
                        assert_eq!((l.notify.offset + o) % width, 0);
                        assert_eq!(o, u64::from(off) * u64::from(l.notify_off_multiplier));
                    }
                    // Against the C transport's registers only where it binds the device (not
                    // for the `OursOnly` ones).
                    let Some(p) = &probe else {
                        continue;
                    };
                    let (o, u, diff) = compare_queue(l, p, &bars, off);
                    match diff {
                        Some(d) => queue_diffs[d as usize] += 1,
                        None if o && u => queues[0] += 1,
                        None => queues[1] += 1,
                    }
                }
            }
            Err(e) => {
                let r = reason(e);
                rejected[r] += 1;
                let msg = e.to_string();
                assert!(msg.contains(FIELDS[r]), "'{msg}' does not name its field");
                if !matches!(e, CapError::Missing(_)) {
                    assert!(
                        msg.contains("capability at 0x"),
                        "'{msg}' does not say which"
                    );
                }
            }
        }
    }

    println!("capability fuzz: {iters} lists");
    println!(
        "  ours: accepted {accepted}, rejected {} ({})",
        rejected.iter().sum::<u64>(),
        REASONS
            .iter()
            .zip(rejected)
            .map(|(r, n)| std::format!("{r}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  warnings: {}; ignored shm by reason ({}); dropped {dropped}",
        WARNINGS
            .iter()
            .zip(warned)
            .map(|(w, n)| std::format!("{w}: {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        IGNORED
            .iter()
            .zip(ignored)
            .map(|(w, n)| std::format!("{w}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    vs4k.print(PAGE_4K);
    vs64k.print(PAGE_64K);
    println!(
        "  queues (both accept, 16-bit register, 4 KiB pages): both give an address {}, neither {}, {}",
        queues[0],
        queues[1],
        QUEUE_DIFFS
            .iter()
            .zip(queue_diffs)
            .map(|(d, n)| std::format!("{d}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  shared memory ids (both accept, vs vp_get_shm_region): same region {}, neither {}, {}",
        shm_agree[0],
        shm_agree[1],
        SHM_DIFFS
            .iter()
            .zip(shm_diffs)
            .map(|(d, n)| std::format!("{d}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    assert_eq!(accepted + rejected.iter().sum::<u64>(), iters);
    for vs in [&vs4k, &vs64k] {
        assert_eq!(vs.both_accept + vs.ours_only.iter().sum::<u64>(), accepted);
    }
    if iters >= 100_000 {
        assert!(accepted > 0, "nothing accepted: the generator is broken");
        for (i, n) in rejected.iter().enumerate() {
            assert!(*n > 0, "rejection reason {} never reached", REASONS[i]);
        }
        for (i, n) in warned.iter().enumerate() {
            assert!(*n > 0, "warning {} never reached", WARNINGS[i]);
        }
        for (i, n) in ignored.iter().enumerate() {
            assert!(
                *n > 0,
                "ignored shared memory for {} never reached",
                IGNORED[i]
            );
        }
        assert!(dropped > 0, "never more than {MAX_WARNINGS} warnings");
        for vs in [&vs4k, &vs64k] {
            assert!(vs.both_accept > 0 && vs.both_reject > 0);
        }
        for (i, n) in vs4k.upstream_only.iter().enumerate() {
            assert!(*n > 0, "{} never reached", UPSTREAM_ONLY[i]);
        }
        for vs in [&vs4k, &vs64k] {
            for (i, n) in vs.ours_only.iter().enumerate() {
                assert!(*n > 0, "{} never reached", OURS_ONLY[i]);
            }
        }
        assert!(queues[0] > 0 && queues[1] > 0);
        assert!(queue_diffs[QueueDiff::UpMisaligned as usize] > 0);
        assert!(queue_diffs[QueueDiff::UpPastBar as usize] > 0);
        assert!(shm_agree[0] > 0 && shm_agree[1] > 0);
        for (i, n) in shm_diffs.iter().enumerate() {
            assert!(*n > 0, "shared memory {} never reached", SHM_DIFFS[i]);
        }
    }
}
