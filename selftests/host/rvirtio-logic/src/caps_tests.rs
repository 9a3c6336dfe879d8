// SPDX-License-Identifier: GPL-2.0

//! Unit tests of the capability validation: the accepted layout of a QEMU-like device, and
//! every rejection path.

use crate::caps::*;
use std::string::ToString;
use std::vec::Vec;

pub(crate) const BAR4: u8 = 4;

/// BARs of QEMU's virtio-pci (modern): a 64-bit memory BAR 4 of 16 KiB, an MSI-X BAR 1.
pub(crate) fn qemu_bars() -> [Bar; NUM_BARS] {
    let mut bars = [Bar::NONE; NUM_BARS];
    bars[1] = Bar {
        kind: BarKind::Mem32,
        len: 0x1000,
    };
    bars[4] = Bar {
        kind: BarKind::Mem64,
        len: 0x4000,
    };
    bars
}

pub(crate) fn cap(pos: u8, cfg_type: u8, offset: u32, length: u32) -> RawCap {
    RawCap {
        pos,
        cap_len: CAP_LEN,
        cfg_type,
        bar: BAR4,
        id: 0,
        offset,
        length,
        extra0: 0,
        extra1: 0,
    }
}

/// The capabilities QEMU 7.2 gives a modern virtio-net-pci.
pub(crate) fn qemu_caps() -> Vec<RawCap> {
    let mut notify = cap(0x70, CAP_NOTIFY_CFG, 0x3000, 0x1000);
    notify.cap_len = NOTIFY_CAP_LEN;
    notify.extra0 = 4;
    let mut pci = cap(0x84, CAP_PCI_CFG, 0, 0);
    pci.bar = 0;
    pci.cap_len = 20;
    std::vec![
        pci,
        notify,
        cap(0x60, CAP_DEVICE_CFG, 0x2000, 0x1000),
        cap(0x50, CAP_ISR_CFG, 0x1000, 0x1000),
        cap(0x40, CAP_COMMON_CFG, 0, 0x1000),
    ]
}

#[test]
fn qemu_layout_is_accepted() {
    let l = parse(&qemu_caps(), &qemu_bars()).unwrap();
    assert_eq!(
        l.common,
        Region {
            bar: 4,
            offset: 0,
            len: 0x1000
        }
    );
    assert_eq!(l.isr.offset, 0x1000);
    assert_eq!(l.device.unwrap().offset, 0x2000);
    assert_eq!(l.notify.offset, 0x3000);
    assert_eq!(l.notify_off_multiplier, 4);
    assert_eq!(l.shm_count, 0);
}

#[test]
fn device_cfg_is_optional() {
    let caps: Vec<_> = qemu_caps()
        .into_iter()
        .filter(|c| c.cfg_type != CAP_DEVICE_CFG)
        .collect();
    assert_eq!(parse(&caps, &qemu_bars()).unwrap().device, None);
}

#[test]
fn missing_required_caps_are_named() {
    for (t, which) in [
        (CAP_COMMON_CFG, CapType::Common),
        (CAP_NOTIFY_CFG, CapType::Notify),
        (CAP_ISR_CFG, CapType::Isr),
    ] {
        let caps: Vec<_> = qemu_caps()
            .into_iter()
            .filter(|c| c.cfg_type != t)
            .collect();
        let e = parse(&caps, &qemu_bars()).unwrap_err();
        assert_eq!(e, CapError::Missing(which));
        assert!(e.to_string().contains(which.name()));
    }
}

fn with(f: impl Fn(&mut RawCap), t: u8) -> Result<Layout, CapError> {
    let mut caps = qemu_caps();
    for c in caps.iter_mut().filter(|c| c.cfg_type == t) {
        f(c);
    }
    parse(&caps, &qemu_bars())
}

#[test]
fn short_cap_len_is_rejected() {
    let e = with(|c| c.cap_len = 15, CAP_COMMON_CFG).unwrap_err();
    assert!(matches!(
        e,
        CapError::CapLen {
            cap: CapType::Common,
            cap_len: 15,
            min: 16,
            ..
        }
    ));
    let e = with(|c| c.cap_len = 16, CAP_NOTIFY_CFG).unwrap_err();
    assert!(matches!(
        e,
        CapError::CapLen {
            cap: CapType::Notify,
            min: 20,
            ..
        }
    ));
    assert!(e.to_string().contains("cap_len"));
}

#[test]
fn bad_bar_index_is_rejected() {
    for bar in [6u8, 7, 0xff] {
        let e = with(|c| c.bar = bar, CAP_ISR_CFG).unwrap_err();
        assert_eq!(
            e,
            CapError::BarIndex {
                cap: CapType::Isr,
                pos: 0x50,
                bar
            }
        );
        assert!(e.to_string().contains("bar"));
    }
}

#[test]
fn non_memory_bar_is_rejected() {
    let mut bars = qemu_bars();
    bars[2] = Bar {
        kind: BarKind::Io,
        len: 0x100,
    };
    let caps: Vec<_> = qemu_caps()
        .into_iter()
        .map(|mut c| {
            if c.cfg_type == CAP_DEVICE_CFG {
                c.bar = 2;
            }
            c
        })
        .collect();
    let e = parse(&caps, &bars).unwrap_err();
    assert!(matches!(
        e,
        CapError::BarKind {
            cap: CapType::Device,
            bar: 2,
            kind: BarKind::Io,
            ..
        }
    ));
    // The upper half of a 64-bit BAR is not a BAR of its own.
    let e = with(|c| c.bar = 5, CAP_COMMON_CFG).unwrap_err();
    assert!(matches!(
        e,
        CapError::BarKind {
            kind: BarKind::None,
            ..
        }
    ));
}

#[test]
fn short_structures_are_rejected() {
    let e = with(|c| c.length = 55, CAP_COMMON_CFG).unwrap_err();
    assert_eq!(
        e,
        CapError::Length {
            cap: CapType::Common,
            pos: 0x40,
            length: 55,
            min: 56
        }
    );
    let e = with(|c| c.length = 0, CAP_ISR_CFG).unwrap_err();
    assert!(matches!(
        e,
        CapError::Length {
            cap: CapType::Isr,
            min: 1,
            ..
        }
    ));
    let e = with(|c| c.length = 1, CAP_NOTIFY_CFG).unwrap_err();
    assert!(matches!(
        e,
        CapError::Length {
            cap: CapType::Notify,
            min: 2,
            ..
        }
    ));
    assert!(e.to_string().contains("length"));
}

#[test]
fn misaligned_offsets_are_rejected() {
    let e = with(|c| c.offset = 2, CAP_COMMON_CFG).unwrap_err();
    assert_eq!(
        e,
        CapError::Align {
            cap: CapType::Common,
            pos: 0x40,
            offset: 2,
            align: 4
        }
    );
    let e = with(|c| c.offset = 0x3001, CAP_NOTIFY_CFG).unwrap_err();
    assert!(matches!(
        e,
        CapError::Align {
            cap: CapType::Notify,
            align: 2,
            ..
        }
    ));
    // The ISR byte may be anywhere.
    assert!(with(|c| c.offset = 0x1001, CAP_ISR_CFG).is_ok());
    assert!(e.to_string().contains("aligned"));
}

#[test]
fn regions_past_the_bar_are_rejected() {
    let e = with(|c| c.offset = 0x3ffc, CAP_COMMON_CFG).unwrap_err();
    assert!(matches!(
        e,
        CapError::OutOfBar {
            cap: CapType::Common,
            bar_len: 0x4000,
            ..
        }
    ));
    // Exactly up to the end is fine; one byte more is not.
    assert!(with(|c| c.length = 0x1000, CAP_NOTIFY_CFG).is_ok());
    assert!(with(|c| c.length = 0x1001, CAP_NOTIFY_CFG).is_err());
    // offset + length past 4 GiB, in a 32-bit computation this would wrap to a small value.
    let e = with(
        |c| {
            c.offset = 0xffff_f000;
            c.length = 0x2000
        },
        CAP_DEVICE_CFG,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        CapError::OutOfBar {
            cap: CapType::Device,
            ..
        }
    ));
    assert!(e.to_string().contains("past the end"));
}

#[test]
fn shared_memory_is_64_bit_and_checked() {
    let mut bars = qemu_bars();
    bars[2] = Bar {
        kind: BarKind::Mem64,
        len: 1 << 33,
    };
    let mut shm = cap(0x90, CAP_SHARED_MEMORY_CFG, 0, 0);
    shm.cap_len = CAP64_LEN;
    shm.bar = 2;
    shm.id = 3;
    shm.extra0 = 1; // offset_hi: 4 GiB
    shm.length = 0x1000;
    let mut caps = qemu_caps();
    caps.push(shm);
    let l = parse(&caps, &bars).unwrap();
    assert_eq!(
        l.shm(3),
        Some(Region {
            bar: 2,
            offset: 1 << 32,
            len: 0x1000
        })
    );
    assert_eq!(l.shm(0), None);

    // A duplicate id is ignored; the first region wins.
    let mut dup = shm;
    dup.extra0 = 0;
    caps.push(dup);
    assert_eq!(parse(&caps, &bars).unwrap().shm_count, 1);

    // offset_hi/length_hi that overflow 64 bits.
    let mut ovf = shm;
    ovf.extra0 = u32::MAX;
    ovf.offset = u32::MAX;
    ovf.extra1 = u32::MAX;
    ovf.length = u32::MAX;
    let mut caps = qemu_caps();
    caps.push(ovf);
    let e = parse(&caps, &bars).unwrap_err();
    assert!(matches!(
        e,
        CapError::Overflow {
            cap: CapType::SharedMemory,
            ..
        }
    ));
    assert!(e.to_string().contains("overflows"));

    // A 16-byte capability cannot describe a 64-bit region.
    let mut short = shm;
    short.cap_len = CAP_LEN;
    let mut caps = qemu_caps();
    caps.push(short);
    assert!(matches!(
        parse(&caps, &bars).unwrap_err(),
        CapError::CapLen {
            cap: CapType::SharedMemory,
            min: 24,
            ..
        }
    ));
}

#[test]
fn notify_multiplier_must_be_0_or_even_power_of_2() {
    for m in [0u32, 2, 4, 0x1000, 1 << 31] {
        assert!(with(|c| c.extra0 = m, CAP_NOTIFY_CFG).is_ok(), "{m}");
    }
    for m in [1u32, 3, 6, 0x1001, u32::MAX] {
        let e = with(|c| c.extra0 = m, CAP_NOTIFY_CFG).unwrap_err();
        assert_eq!(
            e,
            CapError::NotifyOffMultiplier {
                pos: 0x70,
                multiplier: m
            }
        );
        assert!(e.to_string().contains("notify_off_multiplier"));
    }
}

#[test]
fn first_capability_of_a_type_wins_and_later_ones_are_ignored() {
    let mut caps = qemu_caps();
    // A broken second common capability does not matter...
    let mut bad = cap(0xa0, CAP_COMMON_CFG, 3, 1);
    bad.bar = 9;
    caps.push(bad);
    assert_eq!(parse(&caps, &qemu_bars()).unwrap().common.offset, 0);
    // ...but a broken first one declines the device.
    caps.insert(0, bad);
    assert!(matches!(
        parse(&caps, &qemu_bars()),
        Err(CapError::BarIndex { .. })
    ));
}

#[test]
fn unknown_types_are_ignored() {
    let mut caps = qemu_caps();
    let mut odd = cap(0xb0, 0x42, 0xffff_ffff, 0xffff_ffff);
    odd.bar = 0xff;
    odd.cap_len = 0;
    caps.push(odd);
    assert!(parse(&caps, &qemu_bars()).is_ok());
}

#[test]
fn queue_notify_offsets_are_bounded() {
    let l = parse(&qemu_caps(), &qemu_bars()).unwrap();
    assert_eq!(notify_offset(&l, 0, 0, 2), Ok(0));
    assert_eq!(notify_offset(&l, 1, 1, 2), Ok(4));
    // 0x3ff * 4 + 4 = 0x1000: the last register that fits.
    assert_eq!(notify_offset(&l, 5, 0x3ff, 4), Ok(0xffc));
    let e = notify_offset(&l, 5, 0x400, 2).unwrap_err();
    assert_eq!(e.queue_notify_off, 0x400);
    assert!(e.to_string().contains("queue_notify_off"));
    // The largest values do not overflow.
    let mut big = l;
    big.notify_off_multiplier = 1 << 31;
    assert!(notify_offset(&big, 0, u16::MAX, 4).is_err());
}
