// SPDX-License-Identifier: GPL-2.0

//! Fuzzing of the capability validation with generated, mostly malformed capability lists.
//!
//! Starts from the layout QEMU presents and applies random mutations (boundary and random
//! values in every field, dropped, duplicated, reordered and random capabilities, random BARs).
//! For every list: no panic (overflow checks are on), every accepted layout satisfies the
//! invariants the transport relies on, every rejection has a message naming the capability and
//! field, and every rejection reason is reached. `RVIRTIO_FUZZ_ITERS` sets the count (default
//! one million).

use crate::caps::*;
use crate::caps_tests::{qemu_bars, qemu_caps};
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
        const EDGES: [u32; 14] = [
            0,
            1,
            2,
            3,
            4,
            55,
            56,
            0xfff,
            0x1000,
            0x3ffe,
            0x4000,
            0x7fff_ffff,
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
    bars
}

/// What the transport relies on when `parse` accepts a device.
fn check_layout(l: &Layout, bars: &[Bar; NUM_BARS]) {
    let check = |r: &Region, min: u64, align: u64| {
        let bar = bars[usize::from(r.bar)];
        assert!(
            matches!(bar.kind, BarKind::Mem32 | BarKind::Mem64),
            "{r:?} in {bar:?}"
        );
        assert!(r.len >= min, "{r:?} shorter than {min}");
        assert_eq!(r.offset % align, 0, "{r:?} misaligned");
        let end = r.offset.checked_add(r.len).expect("region end overflows");
        assert!(end <= bar.len, "{r:?} past {bar:?}");
    };
    check(&l.common, COMMON_CFG_MIN_LEN, 4);
    check(&l.notify, 2, 2);
    check(&l.isr, 1, 1);
    if let Some(d) = &l.device {
        check(d, 1, 4);
    }
    assert!(l.shm_count <= MAX_SHM);
    for (i, s) in l.shm[..l.shm_count].iter().enumerate() {
        check(&s.region, 1, 1);
        assert!(l.shm[..i].iter().all(|o| o.id != s.id), "duplicate shm id");
    }
    let m = l.notify_off_multiplier;
    assert!(m == 0 || (m.is_power_of_two() && m >= 2), "multiplier {m}");
}

fn reason(e: &CapError) -> usize {
    match e {
        CapError::Missing(_) => 0,
        CapError::CapLen { .. } => 1,
        CapError::BarIndex { .. } => 2,
        CapError::BarKind { .. } => 3,
        CapError::Length { .. } => 4,
        CapError::Align { .. } => 5,
        CapError::Overflow { .. } => 6,
        CapError::OutOfBar { .. } => 7,
        CapError::NotifyOffMultiplier { .. } => 8,
    }
}

const FIELDS: [&str; 9] = [
    "no ",
    "cap_len",
    "bar",
    "bar",
    "length",
    "aligned",
    "overflows",
    "past the end",
    "notify_off_multiplier",
];

#[test]
fn fuzz_capability_lists() {
    let iters: u64 = env::var("RVIRTIO_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut accepted = 0u64;
    let mut rejected = [0u64; 9];
    let mut caps: Vec<RawCap> = Vec::with_capacity(64);

    for _ in 0..iters {
        caps.clear();
        caps.extend(qemu_caps());
        let bars = random_bars(&mut rng);
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

        match parse(&caps, &bars) {
            Ok(l) => {
                accepted += 1;
                check_layout(&l, &bars);
                for _ in 0..4 {
                    let off = rng.next() as u16;
                    let width = if rng.below(2) == 0 { 2 } else { 4 };
                    if let Ok(o) = notify_offset(&l, 0, off, width) {
                        assert!(o + width <= l.notify.len);
                    }
                }
            }
            Err(e) => {
                let r = reason(&e);
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

    println!(
        "capability fuzz: {iters} lists, {accepted} accepted, rejected by reason {rejected:?}"
    );
    assert_eq!(accepted + rejected.iter().sum::<u64>(), iters);
    if iters >= 100_000 {
        assert!(accepted > 0, "nothing accepted: the generator is broken");
        for (i, n) in rejected.iter().enumerate() {
            assert!(*n > 0, "rejection reason {i} ({}) never reached", FIELDS[i]);
        }
    }
}
