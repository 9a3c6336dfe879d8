// SPDX-License-Identifier: GPL-2.0

//! Unit tests of the capability validation: the accepted layout of a QEMU-like device, every
//! rejection path, every warning (with its exact message), and the per-queue notification
//! bounds.

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

/// The capabilities QEMU gives a modern virtio-net-pci, in the order the PCI capability list
/// links them (QEMU prepends each new capability, so the last added comes first).
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

pub(crate) fn region(bar: u8, offset: u64, len: u64) -> Region {
    Region { bar, offset, len }
}

fn warnings(l: &Layout) -> Vec<Warning> {
    l.warnings().copied().collect()
}

fn with(f: impl Fn(&mut RawCap), t: u8) -> Result<Layout, CapError> {
    let mut caps = qemu_caps();
    for c in caps.iter_mut().filter(|c| c.cfg_type == t) {
        f(c);
    }
    parse(&caps, &qemu_bars())
}

/// A shared memory capability of 4 KiB at 4 GiB in BAR 2, with id 3.
fn shm_cap() -> RawCap {
    let mut shm = cap(0x90, CAP_SHARED_MEMORY_CFG, 0, 0x1000);
    shm.cap_len = CAP64_LEN;
    shm.bar = 2;
    shm.id = 3;
    shm.extra0 = 1; // offset_hi: 4 GiB
    shm
}

/// QEMU's BARs plus an 8 GiB 64-bit memory BAR 2 for shared memory.
fn shm_bars() -> [Bar; NUM_BARS] {
    let mut bars = qemu_bars();
    bars[2] = Bar {
        kind: BarKind::Mem64,
        len: 1 << 33,
    };
    bars
}

#[test]
fn qemu_layout_is_accepted() {
    let l = parse(&qemu_caps(), &qemu_bars()).unwrap();
    assert_eq!(l.common, region(4, 0, 0x1000));
    assert_eq!(l.isr, region(4, 0x1000, 0x1000));
    assert_eq!(l.device, Some(region(4, 0x2000, 0x1000)));
    assert_eq!(l.notify, region(4, 0x3000, 0x1000));
    assert_eq!(l.notify_off_multiplier, 4);
    assert_eq!(l.shm_count, 0);
    assert_eq!(l.warning_count, 0);
    assert_eq!(l.warnings_dropped, 0);
    assert_eq!(l.warnings().count(), 0);
}

#[test]
fn device_cfg_is_optional() {
    let caps: Vec<_> = qemu_caps()
        .into_iter()
        .filter(|c| c.cfg_type != CAP_DEVICE_CFG)
        .collect();
    let l = parse(&caps, &qemu_bars()).unwrap();
    assert_eq!(l.device, None);
    assert_eq!(l.common, region(4, 0, 0x1000));
    assert_eq!(l.warning_count, 0);
}

#[test]
fn missing_required_caps_are_named() {
    for (t, which, text) in [
        (CAP_COMMON_CFG, CapType::Common, "no common capability"),
        (CAP_NOTIFY_CFG, CapType::Notify, "no notify capability"),
        (CAP_ISR_CFG, CapType::Isr, "no isr capability"),
    ] {
        let caps: Vec<_> = qemu_caps()
            .into_iter()
            .filter(|c| c.cfg_type != t)
            .collect();
        let e = parse(&caps, &qemu_bars()).unwrap_err();
        assert_eq!(e, CapError::Missing(which));
        assert_eq!(e.to_string(), text);
    }
    assert_eq!(
        parse(&[], &qemu_bars()),
        Err(CapError::Missing(CapType::Common))
    );
}

#[test]
fn short_cap_len_warns_and_the_fields_are_used() {
    // A common capability one byte short of `struct virtio_pci_cap`.
    let l = with(|c| c.cap_len = 15, CAP_COMMON_CFG).unwrap();
    assert_eq!(l.common, region(4, 0, 0x1000));
    let w = Warning::CapLen {
        cap: CapType::Common,
        pos: 0x40,
        cap_len: 15,
        min: 16,
    };
    assert_eq!(warnings(&l), [w]);
    assert_eq!(
        w.to_string(),
        "common capability at 0x40: cap_len 15 below 16 (virtio 1.2, 4.1.4): reading its fields anyway"
    );

    // A notify capability without room for notify_off_multiplier: the dword after it is still
    // taken as the multiplier, as the C transport does.
    let l = with(|c| c.cap_len = 16, CAP_NOTIFY_CFG).unwrap();
    assert_eq!(l.notify, region(4, 0x3000, 0x1000));
    assert_eq!(l.notify_off_multiplier, 4);
    let w = Warning::CapLen {
        cap: CapType::Notify,
        pos: 0x70,
        cap_len: 16,
        min: 20,
    };
    assert_eq!(warnings(&l), [w]);
    assert_eq!(
        w.to_string(),
        "notify capability at 0x70: cap_len 16 below 20 (virtio 1.2, 4.1.4): reading its fields anyway"
    );

    // cap_len 0 on ISR and device too: two warnings, in capability order.
    let mut caps = qemu_caps();
    for c in caps
        .iter_mut()
        .filter(|c| c.cfg_type == CAP_ISR_CFG || c.cfg_type == CAP_DEVICE_CFG)
    {
        c.cap_len = 0;
    }
    let l = parse(&caps, &qemu_bars()).unwrap();
    assert_eq!(
        warnings(&l),
        [
            Warning::CapLen {
                cap: CapType::Device,
                pos: 0x60,
                cap_len: 0,
                min: 16
            },
            Warning::CapLen {
                cap: CapType::Isr,
                pos: 0x50,
                cap_len: 0,
                min: 16
            },
        ]
    );
    // A longer cap_len than the structure is fine.
    assert_eq!(
        with(|c| c.cap_len = 0xff, CAP_COMMON_CFG)
            .unwrap()
            .warning_count,
        0
    );
}

#[test]
fn reserved_bar_caps_are_skipped_silently() {
    for bar in [6u8, 7, 0xff] {
        // The only ISR capability names a reserved BAR: it is as if there were none.
        let e = with(|c| c.bar = bar, CAP_ISR_CFG).unwrap_err();
        assert_eq!(e, CapError::Missing(CapType::Isr));

        // With a later one of the same type, the later one is used, without a warning.
        let mut caps = qemu_caps();
        for c in caps.iter_mut().filter(|c| c.cfg_type == CAP_ISR_CFG) {
            c.bar = bar;
            c.offset = 3; // would be fine, but the capability is not looked at
        }
        caps.push(cap(0xa0, CAP_ISR_CFG, 0x1004, 1));
        let l = parse(&caps, &qemu_bars()).unwrap();
        assert_eq!(l.isr, region(4, 0x1004, 1));
        assert_eq!(l.warning_count, 0, "bar {bar}");
    }

    // The fields of a reserved-BAR capability are not validated at all.
    let mut caps = qemu_caps();
    let mut junk = cap(0x30, CAP_COMMON_CFG, 3, 1);
    junk.bar = 6;
    junk.cap_len = 0;
    caps.insert(0, junk);
    let l = parse(&caps, &qemu_bars()).unwrap();
    assert_eq!(l.common, region(4, 0, 0x1000));
    assert_eq!(l.warning_count, 0);
}

#[test]
fn no_resource_caps_are_skipped_with_a_warning() {
    // BAR 5 is the upper half of QEMU's 64-bit BAR 4 (no resource); BAR 3 is not implemented.
    let mut caps = qemu_caps();
    for c in caps.iter_mut().filter(|c| c.cfg_type == CAP_NOTIFY_CFG) {
        c.bar = 5;
    }
    let mut later = cap(0xa0, CAP_NOTIFY_CFG, 0x3800, 0x800);
    later.cap_len = NOTIFY_CAP_LEN;
    later.extra0 = 2;
    caps.push(later);
    let l = parse(&caps, &qemu_bars()).unwrap();
    // The later capability, and its multiplier, are used.
    assert_eq!(l.notify, region(4, 0x3800, 0x800));
    assert_eq!(l.notify_off_multiplier, 2);
    let w = Warning::NoResource {
        cap: CapType::Notify,
        pos: 0x70,
        bar: 5,
    };
    assert_eq!(warnings(&l), [w]);
    assert_eq!(
        w.to_string(),
        "notify capability at 0x70: bar 5 has no resource (virtio 1.2, 4.1.4): ignoring it"
    );

    // A BAR of a known kind but zero length has no resource either.
    let mut bars = qemu_bars();
    bars[3] = Bar {
        kind: BarKind::Mem32,
        len: 0,
    };
    let mut caps = qemu_caps();
    for c in caps.iter_mut().filter(|c| c.cfg_type == CAP_DEVICE_CFG) {
        c.bar = 3;
    }
    let l = parse(&caps, &bars).unwrap();
    assert_eq!(l.device, None);
    assert_eq!(
        warnings(&l),
        [Warning::NoResource {
            cap: CapType::Device,
            pos: 0x60,
            bar: 3
        }]
    );

    // Without a later capability, a required one is missing.
    let e = with(|c| c.bar = 5, CAP_COMMON_CFG).unwrap_err();
    assert_eq!(e, CapError::Missing(CapType::Common));
}

#[test]
fn structures_may_be_in_io_bars() {
    // Everything in a 256-byte I/O BAR 2 (as a device with port-mapped registers could).
    let mut bars = qemu_bars();
    bars[2] = Bar {
        kind: BarKind::Io,
        len: 0x100,
    };
    let mut notify = cap(0x50, CAP_NOTIFY_CFG, 0x40, 0x40);
    notify.cap_len = NOTIFY_CAP_LEN;
    notify.extra0 = 2;
    let mut caps = std::vec![
        cap(0x40, CAP_COMMON_CFG, 0, 0x38),
        notify,
        cap(0x64, CAP_ISR_CFG, 0x80, 1),
        cap(0x74, CAP_DEVICE_CFG, 0x84, 0x7c),
    ];
    for c in &mut caps {
        c.bar = 2;
    }
    let l = parse(&caps, &bars).unwrap();
    assert_eq!(l.common, region(2, 0, 0x38));
    assert_eq!(l.notify, region(2, 0x40, 0x40));
    assert_eq!(l.isr, region(2, 0x80, 1));
    assert_eq!(l.device, Some(region(2, 0x84, 0x7c)));
    assert_eq!(l.warning_count, 0);
    assert_eq!(notify_offset(&l, 3, 3, 2), Ok(6));

    // Shared memory is mapped as memory by its driver: not in an I/O BAR. It is left out with
    // a warning, and the device binds.
    let mut shm = shm_cap();
    shm.extra0 = 0;
    shm.length = 0x10;
    caps.push(shm);
    let l = parse(&caps, &bars).unwrap();
    assert_eq!(l.shm_count, 0);
    assert_eq!(l.shm(3), None);
    let error = CapError::BarKind {
        cap: CapType::SharedMemory,
        pos: 0x90,
        bar: 2,
        kind: BarKind::Io,
    };
    assert_eq!(warnings(&l), [Warning::Ignored { error }]);
    assert_eq!(
        Warning::Ignored { error }.to_string(),
        "shared memory capability at 0x90: bar 2 is not a memory BAR (Io) (virtio 1.2, 4.1.4.7): ignoring it"
    );
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
    assert_eq!(
        e.to_string(),
        "common capability at 0x40: length 0x37 below 0x38"
    );
    assert_eq!(
        with(|c| c.length = 0, CAP_ISR_CFG).unwrap_err(),
        CapError::Length {
            cap: CapType::Isr,
            pos: 0x50,
            length: 0,
            min: 1
        }
    );
    let e = with(|c| c.length = 1, CAP_NOTIFY_CFG).unwrap_err();
    assert_eq!(
        e,
        CapError::Length {
            cap: CapType::Notify,
            pos: 0x70,
            length: 1,
            min: 2
        }
    );
    assert_eq!(
        e.to_string(),
        "notify capability at 0x70: length 0x1 below 0x2"
    );
    assert_eq!(
        with(|c| c.length = 0, CAP_DEVICE_CFG).unwrap_err(),
        CapError::Length {
            cap: CapType::Device,
            pos: 0x60,
            length: 0,
            min: 1
        }
    );
    // Exactly the minimum is fine.
    assert_eq!(
        with(|c| c.length = 56, CAP_COMMON_CFG).unwrap().common,
        region(4, 0, 56)
    );
    assert_eq!(
        with(|c| c.length = 2, CAP_NOTIFY_CFG).unwrap().notify,
        region(4, 0x3000, 2)
    );
}

#[test]
fn misaligned_common_and_device_offsets_are_rejected() {
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
    assert_eq!(
        e.to_string(),
        "common capability at 0x40: offset 0x2 not aligned to 4"
    );
    assert_eq!(
        with(|c| c.offset = 0x2002, CAP_DEVICE_CFG).unwrap_err(),
        CapError::Align {
            cap: CapType::Device,
            pos: 0x60,
            offset: 0x2002,
            align: 4
        }
    );
    // The ISR byte may be anywhere.
    assert_eq!(
        with(|c| c.offset = 0x1001, CAP_ISR_CFG).unwrap().isr,
        region(4, 0x1001, 0x1000)
    );
}

#[test]
fn misaligned_notify_offset_warns_and_queues_are_checked_one_by_one() {
    // An odd offset: the device binds, with a warning, and the region is used as it is.
    let l = with(|c| c.offset = 0x3001, CAP_NOTIFY_CFG).unwrap();
    assert_eq!(l.notify, region(4, 0x3001, 0xfff));
    let w = Warning::Misaligned {
        cap: CapType::Notify,
        pos: 0x70,
        offset: 0x3001,
        align: 2,
    };
    // The length, 0x1000 from 0x3001, is also one byte past the end of the 16 KiB BAR.
    assert_eq!(
        warnings(&l),
        [
            w,
            Warning::Clamped {
                cap: CapType::Notify,
                pos: 0x70,
                bar: 4,
                offset: 0x3001,
                length: 0x1000,
                bar_len: 0x4000
            }
        ]
    );
    assert_eq!(
        w.to_string(),
        "notify capability at 0x70: offset 0x3001 not aligned to 2 (virtio 1.2, 4.1.4.4.1): refusing the queues whose register is misaligned"
    );
    // With QEMU's multiplier of 4 every register is at an odd offset in the BAR: every queue
    // is refused, none is accessed unaligned.
    for q in [0u16, 1, 2, 0x3fe] {
        assert_eq!(
            notify_offset(&l, q, q, 2),
            Err(NotifyError::Misaligned {
                index: q,
                queue_notify_off: q,
                offset: 4 * u64::from(q),
                bar: 4,
                bar_offset: 0x3001 + 4 * u64::from(q),
                width: 2
            })
        );
    }
    let e = notify_offset(&l, 1, 1, 2).unwrap_err();
    assert_eq!(
        e.to_string(),
        "queue 1: queue_notify_off 0x1 gives notification offset 0x4 (0x3005 in bar 4), not aligned to 2"
    );
    // Out of the region still takes precedence.
    assert!(matches!(
        notify_offset(&l, 0, 0x400, 2),
        Err(NotifyError::OutOfRegion {
            notify_len: 0xfff,
            ..
        })
    ));

    // With a multiplier of 1 (warned about too), odd queue_notify_off values give aligned
    // registers: those queues work.
    let l = with(
        |c| {
            c.offset = 0x3001;
            c.length = 0x800;
            c.extra0 = 1;
        },
        CAP_NOTIFY_CFG,
    )
    .unwrap();
    assert_eq!(
        warnings(&l),
        [
            w,
            Warning::NotifyOffMultiplier {
                pos: 0x70,
                multiplier: 1
            }
        ]
    );
    assert_eq!(notify_offset(&l, 0, 1, 2), Ok(1));
    assert_eq!(notify_offset(&l, 1, 3, 4), Ok(3));
    assert!(matches!(
        notify_offset(&l, 2, 2, 2),
        Err(NotifyError::Misaligned {
            bar_offset: 0x3003,
            ..
        })
    ));
    assert!(matches!(
        notify_offset(&l, 3, 1, 4),
        Err(NotifyError::Misaligned {
            bar_offset: 0x3002,
            ..
        })
    ));

    // Misaligned and too short, or past the BAR: still declined, for the length or the range.
    assert!(matches!(
        with(
            |c| {
                c.offset = 0x3001;
                c.length = 1;
            },
            CAP_NOTIFY_CFG
        ),
        Err(CapError::Length {
            cap: CapType::Notify,
            ..
        })
    ));
    assert!(matches!(
        with(|c| c.offset = 0x3fff, CAP_NOTIFY_CFG),
        Err(CapError::OutOfBar {
            cap: CapType::Notify,
            offset: 0x3fff,
            ..
        })
    ));
}

#[test]
fn regions_longer_than_their_bar_are_clamped() {
    // One byte too long: clamped to the BAR, with a warning.
    let l = with(|c| c.length = 0x1001, CAP_NOTIFY_CFG).unwrap();
    assert_eq!(l.notify, region(4, 0x3000, 0x1000));
    let w = Warning::Clamped {
        cap: CapType::Notify,
        pos: 0x70,
        bar: 4,
        offset: 0x3000,
        length: 0x1001,
        bar_len: 0x4000,
    };
    assert_eq!(warnings(&l), [w]);
    assert_eq!(
        w.to_string(),
        "notify capability at 0x70: offset 0x3000 + length 0x1001 past the end of bar 4 (0x4000 bytes) (virtio 1.2, 4.1.4): using 0x1000 bytes"
    );
    // Exactly up to the end is fine and says nothing.
    assert_eq!(
        with(|c| c.length = 0x1000, CAP_NOTIFY_CFG)
            .unwrap()
            .warning_count,
        0
    );

    // The common structure's 56 bytes just fit: clamped to them.
    let l = with(
        |c| {
            c.offset = 0x4000 - 56;
            c.length = 0x1000;
        },
        CAP_COMMON_CFG,
    )
    .unwrap();
    assert_eq!(l.common, region(4, 0x3fc8, 56));
    assert!(matches!(
        warnings(&l)[..],
        [Warning::Clamped {
            cap: CapType::Common,
            bar_len: 0x4000,
            ..
        }]
    ));

    // The last byte of the BAR for the ISR, the last two for the notification area.
    let l = with(|c| c.offset = 0x3fff, CAP_ISR_CFG).unwrap();
    assert_eq!(l.isr, region(4, 0x3fff, 1));
    let l = with(|c| c.offset = 0x3ffe, CAP_NOTIFY_CFG).unwrap();
    assert_eq!(l.notify, region(4, 0x3ffe, 2));
    assert_eq!(notify_offset(&l, 0, 0, 2), Ok(0));
    // The multiplier is 4: queue 1's register would be past the clamped region.
    assert!(matches!(
        notify_offset(&l, 1, 1, 2),
        Err(NotifyError::OutOfRegion { notify_len: 2, .. })
    ));
}

#[test]
fn regions_whose_minimum_is_past_the_bar_are_rejected() {
    // Common: 0x3ffc + 56 > 0x4000.
    let e = with(|c| c.offset = 0x3ffc, CAP_COMMON_CFG).unwrap_err();
    assert_eq!(
        e,
        CapError::OutOfBar {
            cap: CapType::Common,
            pos: 0x40,
            bar: 4,
            offset: 0x3ffc,
            length: 0x1000,
            bar_len: 0x4000
        }
    );
    assert_eq!(
        e.to_string(),
        "common capability at 0x40: offset 0x3ffc + length 0x1000 past the end of bar 4 (0x4000 bytes)"
    );
    // Notify: two bytes do not fit from the last byte.
    assert!(matches!(
        with(|c| c.offset = 0x3fff & !1, CAP_NOTIFY_CFG),
        Ok(Layout {
            notify: Region { len: 2, .. },
            ..
        })
    ));
    assert!(matches!(
        with(|c| c.offset = 0x4000, CAP_NOTIFY_CFG),
        Err(CapError::OutOfBar {
            cap: CapType::Notify,
            ..
        })
    ));
    // ISR at the very end of the BAR: not even one byte.
    assert!(matches!(
        with(|c| c.offset = 0x4000, CAP_ISR_CFG),
        Err(CapError::OutOfBar {
            cap: CapType::Isr,
            ..
        })
    ));
    // offset + length past 4 GiB: in a 32-bit computation this would wrap to a small value.
    let e = with(
        |c| {
            c.offset = 0xffff_f000;
            c.length = 0x2000
        },
        CAP_DEVICE_CFG,
    )
    .unwrap_err();
    assert_eq!(
        e,
        CapError::OutOfBar {
            cap: CapType::Device,
            pos: 0x60,
            bar: 4,
            offset: 0xffff_f000,
            length: 0x2000,
            bar_len: 0x4000
        }
    );
}

#[test]
fn shared_memory_is_64_bit_and_strictly_within_its_bar() {
    let bars = shm_bars();
    let shm = shm_cap();
    let mut caps = qemu_caps();
    caps.push(shm);
    let l = parse(&caps, &bars).unwrap();
    assert_eq!(l.shm(3), Some(region(2, 1 << 32, 0x1000)));
    assert_eq!(l.shm(0), None);
    assert_eq!(l.shm_count, 1);
    assert_eq!(l.warning_count, 0);

    // A duplicate id is ignored; the first region wins.
    let mut dup = shm;
    dup.extra0 = 0;
    caps.push(dup);
    let l = parse(&caps, &bars).unwrap();
    assert_eq!(l.shm_count, 1);
    assert_eq!(l.shm(3), Some(region(2, 1 << 32, 0x1000)));

    // Every bad shared memory capability is left out with a warning; the device binds.
    let ignored = |bad: RawCap, bars: &[Bar; NUM_BARS]| {
        let mut caps = qemu_caps();
        caps.push(bad);
        let l = parse(&caps, bars).unwrap();
        assert_eq!(l.shm_count, 0);
        assert_eq!(l.common, region(4, 0, 0x1000));
        match warnings(&l)[..] {
            [Warning::Ignored { error }] => error,
            ref w => panic!("{w:?}"),
        }
    };
    // offset_hi/length_hi that overflow 64 bits.
    let mut ovf = shm;
    ovf.extra0 = u32::MAX;
    ovf.offset = u32::MAX;
    ovf.extra1 = u32::MAX;
    ovf.length = u32::MAX;
    let error = ignored(ovf, &bars);
    assert_eq!(
        error,
        CapError::Overflow {
            cap: CapType::SharedMemory,
            pos: 0x90,
            offset: u64::MAX,
            length: u64::MAX
        }
    );
    assert_eq!(
        Warning::Ignored { error }.to_string(),
        "shared memory capability at 0x90: offset 0xffffffffffffffff + length 0xffffffffffffffff overflows (virtio 1.2, 4.1.4.7): ignoring it"
    );
    // Longer than what is left of the BAR: not clamped, since its driver uses it whole.
    let mut long = shm;
    long.extra1 = 1; // length_hi: 4 GiB + 4 KiB from 4 GiB in an 8 GiB BAR
    assert_eq!(
        ignored(long, &bars),
        CapError::OutOfBar {
            cap: CapType::SharedMemory,
            pos: 0x90,
            bar: 2,
            offset: 1 << 32,
            length: (1 << 32) + 0x1000,
            bar_len: 1 << 33
        }
    );
    // Empty.
    let mut empty = shm;
    empty.length = 0;
    assert_eq!(
        ignored(empty, &bars),
        CapError::Length {
            cap: CapType::SharedMemory,
            pos: 0x90,
            length: 0,
            min: 1
        }
    );
    // A BAR without a resource: skipped like any other capability.
    let mut nores = shm;
    nores.bar = 3;
    let mut caps = qemu_caps();
    caps.push(nores);
    let l = parse(&caps, &bars).unwrap();
    assert_eq!(
        warnings(&l),
        [Warning::NoResource {
            cap: CapType::SharedMemory,
            pos: 0x90,
            bar: 3
        }]
    );
    // A reserved BAR: skipped silently.
    let mut reserved = shm;
    reserved.bar = 6;
    let mut caps = qemu_caps();
    caps.push(reserved);
    let l = parse(&caps, &bars).unwrap();
    assert_eq!((l.shm_count, l.warning_count), (0, 0));

    // A 16-byte capability is too short for offset_hi/length_hi: the two dwords after it belong
    // to whatever follows, so the region is left out (the C transport skips it too).
    let mut short = shm;
    short.cap_len = CAP_LEN;
    let mut caps = qemu_caps();
    caps.push(short);
    let l = parse(&caps, &bars).unwrap();
    assert_eq!(l.shm(3), None);
    let error = CapError::CapLen {
        pos: 0x90,
        cap_len: 16,
    };
    assert_eq!(warnings(&l), [Warning::Ignored { error }]);
    assert_eq!(
        Warning::Ignored { error }.to_string(),
        "shared memory capability at 0x90: cap_len 16 below 24 (virtio 1.2, 4.1.4.7): ignoring it"
    );
}

#[test]
fn at_most_max_shm_regions_are_kept() {
    let bars = shm_bars();
    let mut caps = qemu_caps();
    for id in 0..(MAX_SHM as u8 + 2) {
        let mut s = shm_cap();
        s.id = id;
        s.pos = 0xa0 + id;
        s.extra0 = 0;
        s.offset = u32::from(id) * 0x1000;
        caps.push(s);
    }
    let l = parse(&caps, &bars).unwrap();
    assert_eq!(l.shm_count, MAX_SHM);
    assert_eq!(l.shm(7), Some(region(2, 0x7000, 0x1000)));
    assert_eq!(l.shm(8), None);
    // The ones left out are said so, one warning each.
    assert_eq!(
        warnings(&l),
        [
            Warning::TooManyShm { pos: 0xa8, id: 8 },
            Warning::TooManyShm { pos: 0xa9, id: 9 }
        ]
    );
    assert_eq!(
        Warning::TooManyShm { pos: 0xa8, id: 8 }.to_string(),
        "shared memory capability at 0xa8: id 8 is past the 8 regions this transport keeps (virtio 1.2, 4.1.4.7): ignoring it"
    );
    // A duplicate of an id already kept is not one more region: no warning for it.
    let mut dup = shm_cap();
    dup.id = 0;
    dup.extra0 = 0;
    caps.push(dup);
    assert_eq!(parse(&caps, &bars).unwrap().warning_count, 2);
    // A bad one past the limit is reported for what is wrong with it.
    let mut caps = caps;
    let mut empty = shm_cap();
    empty.id = 10;
    empty.length = 0;
    caps.push(empty);
    let l = parse(&caps, &bars).unwrap();
    assert!(matches!(
        warnings(&l)[..],
        [
            Warning::TooManyShm { id: 8, .. },
            Warning::TooManyShm { id: 9, .. },
            Warning::Ignored {
                error: CapError::Length { .. }
            }
        ]
    ));
}

#[test]
fn notify_multiplier_other_than_0_or_even_power_of_2_warns() {
    for m in [0u32, 2, 4, 0x1000, 1 << 31] {
        let l = with(|c| c.extra0 = m, CAP_NOTIFY_CFG).unwrap();
        assert_eq!(l.notify_off_multiplier, m);
        assert_eq!(l.warning_count, 0, "{m}");
    }
    for m in [1u32, 3, 6, 0x1001, u32::MAX] {
        let l = with(|c| c.extra0 = m, CAP_NOTIFY_CFG).unwrap();
        assert_eq!(l.notify_off_multiplier, m, "used as is");
        assert_eq!(l.notify, region(4, 0x3000, 0x1000));
        let w = Warning::NotifyOffMultiplier {
            pos: 0x70,
            multiplier: m,
        };
        assert_eq!(warnings(&l), [w]);
    }
    assert_eq!(
        Warning::NotifyOffMultiplier {
            pos: 0x70,
            multiplier: 1
        }
        .to_string(),
        "notify capability at 0x70: notify_off_multiplier 0x1 is neither 0 nor an even power of 2 (virtio 1.2, 4.1.4.4.1): using it as is"
    );
}

#[test]
fn first_usable_capability_of_a_type_wins() {
    let mut caps = qemu_caps();
    // A broken second common capability does not matter...
    let bad = cap(0xa0, CAP_COMMON_CFG, 3, 1);
    caps.push(bad);
    assert_eq!(
        parse(&caps, &qemu_bars()).unwrap().common,
        region(4, 0, 0x1000)
    );
    // ...but a broken first one declines the device, as in the C transport.
    caps.insert(0, bad);
    assert_eq!(
        parse(&caps, &qemu_bars()),
        Err(CapError::Length {
            cap: CapType::Common,
            pos: 0xa0,
            length: 1,
            min: 56
        })
    );
    // A usable first one wins over a later, also usable one.
    let mut caps = qemu_caps();
    caps.push(cap(0xa0, CAP_ISR_CFG, 0x1800, 1));
    assert_eq!(
        parse(&caps, &qemu_bars()).unwrap().isr,
        region(4, 0x1000, 0x1000)
    );
}

#[test]
fn unknown_types_are_ignored() {
    let mut caps = qemu_caps();
    let mut odd = cap(0xb0, 0x42, 0xffff_ffff, 0xffff_ffff);
    odd.bar = 0xff;
    odd.cap_len = 0;
    caps.push(odd);
    // The PCI configuration access capability (type 5) and vendor-specific data (type 9) too.
    let mut vendor = cap(0xc0, 9, 0xffff_ffff, 0);
    vendor.bar = 3;
    caps.push(vendor);
    let l = parse(&caps, &qemu_bars()).unwrap();
    assert_eq!(l.warning_count, 0);
    assert_eq!(l.common, region(4, 0, 0x1000));
}

#[test]
fn at_most_max_warnings_are_kept() {
    // Ten common capabilities naming BAR 3, which has no resource, before QEMU's.
    let mut caps: Vec<_> = (0..10u8)
        .map(|i| {
            let mut c = cap(0x40 + 0x10 * i, CAP_COMMON_CFG, 0, 0x1000);
            c.bar = 3;
            c
        })
        .collect();
    caps.extend(qemu_caps());
    let l = parse(&caps, &qemu_bars()).unwrap();
    assert_eq!(l.common, region(4, 0, 0x1000));
    assert_eq!(l.warning_count, MAX_WARNINGS);
    assert_eq!(l.warnings_dropped, 2);
    let w = warnings(&l);
    assert_eq!(w.len(), MAX_WARNINGS);
    for (i, w) in w.iter().enumerate() {
        assert_eq!(
            *w,
            Warning::NoResource {
                cap: CapType::Common,
                pos: 0x40 + 0x10 * i as u8,
                bar: 3
            }
        );
    }
}

#[test]
fn queue_notify_offsets_are_bounded() {
    let l = parse(&qemu_caps(), &qemu_bars()).unwrap();
    assert_eq!(notify_offset(&l, 0, 0, 2), Ok(0));
    assert_eq!(notify_offset(&l, 1, 1, 2), Ok(4));
    // 0x3ff * 4 + 4 = 0x1000: the last register that fits.
    assert_eq!(notify_offset(&l, 5, 0x3ff, 4), Ok(0xffc));
    let e = notify_offset(&l, 5, 0x400, 2).unwrap_err();
    assert_eq!(
        e,
        NotifyError::OutOfRegion {
            index: 5,
            queue_notify_off: 0x400,
            notify_len: 0x1000
        }
    );
    assert_eq!(
        e.to_string(),
        "queue 5: queue_notify_off 0x400 is outside the notify region (0x1000 bytes)"
    );
    // The largest values do not overflow.
    let mut big = l;
    big.notify_off_multiplier = u32::MAX;
    assert!(matches!(
        notify_offset(&big, 0, u16::MAX, 4),
        Err(NotifyError::OutOfRegion { .. })
    ));
    big.notify.len = u64::MAX;
    assert_eq!(
        notify_offset(&big, 0, u16::MAX, 1),
        Ok(u64::from(u16::MAX) * u64::from(u32::MAX))
    );
    // A register whose offset in the BAR would not fit in 64 bits is out of the region.
    big.notify.offset = u64::MAX;
    assert!(matches!(
        notify_offset(&big, 0, 1, 1),
        Err(NotifyError::OutOfRegion { .. })
    ));
    // A multiplier of 0: every queue shares the first register.
    let mut zero = l;
    zero.notify_off_multiplier = 0;
    assert_eq!(notify_offset(&zero, 7, 0x1234, 4), Ok(0));
}

#[test]
fn misaligned_queue_notify_offsets_are_refused() {
    // A multiplier of 1 (accepted with a warning): odd queue_notify_off values would need an
    // unaligned 16-bit write.
    let l = with(|c| c.extra0 = 1, CAP_NOTIFY_CFG).unwrap();
    assert_eq!(notify_offset(&l, 0, 2, 2), Ok(2));
    let e = notify_offset(&l, 3, 3, 2).unwrap_err();
    assert_eq!(
        e,
        NotifyError::Misaligned {
            index: 3,
            queue_notify_off: 3,
            offset: 3,
            bar: 4,
            bar_offset: 0x3003,
            width: 2
        }
    );
    assert_eq!(
        e.to_string(),
        "queue 3: queue_notify_off 0x3 gives notification offset 0x3 (0x3003 in bar 4), not aligned to 2"
    );
    // With VIRTIO_F_NOTIFICATION_DATA the register is 32-bit: 4-aligned.
    assert_eq!(notify_offset(&l, 0, 8, 4), Ok(8));
    assert_eq!(
        notify_offset(&l, 1, 6, 4),
        Err(NotifyError::Misaligned {
            index: 1,
            queue_notify_off: 6,
            offset: 6,
            bar: 4,
            bar_offset: 0x3006,
            width: 4
        })
    );
    // A multiplier of 3: every other queue is fine for 16-bit writes.
    let l = with(|c| c.extra0 = 3, CAP_NOTIFY_CFG).unwrap();
    assert_eq!(notify_offset(&l, 2, 2, 2), Ok(6));
    assert!(matches!(
        notify_offset(&l, 1, 1, 2),
        Err(NotifyError::Misaligned { offset: 3, .. })
    ));
    // The region's own offset counts: a 2-aligned but not 4-aligned notification area.
    let l = with(
        |c| {
            c.offset = 0x3002;
            c.length = 0x800
        },
        CAP_NOTIFY_CFG,
    )
    .unwrap();
    assert_eq!(notify_offset(&l, 0, 0, 2), Ok(0));
    assert_eq!(
        notify_offset(&l, 0, 0, 4),
        Err(NotifyError::Misaligned {
            index: 0,
            queue_notify_off: 0,
            offset: 0,
            bar: 4,
            bar_offset: 0x3002,
            width: 4
        })
    );
    assert!(matches!(
        notify_offset(&l, 0, 1, 4),
        Err(NotifyError::Misaligned { offset: 4, .. })
    ));
    // Out of the region takes precedence over misaligned.
    assert!(matches!(
        notify_offset(&l, 0, 0x201, 2),
        Err(NotifyError::OutOfRegion { .. })
    ));
    // A width of 0 is never valid.
    assert!(matches!(
        notify_offset(&l, 0, 0, 0),
        Err(NotifyError::Misaligned { width: 0, .. })
    ));
}
