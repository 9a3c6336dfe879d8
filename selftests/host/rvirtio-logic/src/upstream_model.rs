// SPDX-License-Identifier: GPL-2.0

//! A model of what the C transport of Linux 7.2 accepts, to compare `caps::parse` against.
//!
//! Written from reading `drivers/virtio/virtio_pci_modern_dev.c` (and `pci_iomap_range` of
//! `drivers/pci/iomap.c`), not from our parser: it shares no code with `caps.rs` beyond the
//! input types. What it models:
//!
//! - `virtio_pci_find_capability`: walk the vendor capabilities in order; skip one whose `bar`
//!   is 6 or more before even looking at its type; take the first of the wanted type whose BAR
//!   has a non-zero resource length and an I/O or memory resource.
//! - `vp_modern_probe`: no common capability means "leave it to the legacy driver"; no ISR or
//!   notify capability is an error; then common (at least `sizeof(struct virtio_pci_common_cfg)`
//!   = 56 bytes, 4-aligned, at most 64 bytes mapped), ISR (1 byte, any alignment, 1 byte
//!   mapped), notify, and the optional device capability (anything non-empty, 4-aligned, at most
//!   a page mapped) are mapped with `vp_modern_map_capability`. The notify structure is mapped
//!   whole (2 bytes minimum, 2-aligned) only when `length + offset % PAGE_SIZE <= PAGE_SIZE`;
//!   otherwise nothing about it is checked at probe time and each queue's 2-byte register is
//!   mapped on its own later, by `vp_modern_map_vq_notify`.
//! - `vp_modern_map_capability(minlen, align, start, size)`, in its order: `length > start`,
//!   `length - start >= minlen`, `offset + start` does not wrap in 32 bits, `offset + start` is
//!   aligned, `minlen + offset + start <= BAR length`, then `pci_iomap_range`, which fails when
//!   the offset is at or past the end of the BAR and otherwise maps
//!   `min(BAR length - offset, min(length - start, size))` bytes.
//! - `notify_off_multiplier` and `cap_len` are read and never checked. Shared memory
//!   capabilities are not looked at by the probe at all: `virtio_pci_find_shm_cap` and
//!   `vp_get_shm_region` (in `virtio_pci_modern.c`) run when a driver asks for a region, see
//!   [`shm_region`].
//!
//! What it does not model: the device id check, DMA masks, `pci_request_selected_regions`
//! failing, and `ioremap` failing for reasons other than the arguments.

use crate::caps::{
    Bar, BarKind, Layout, RawCap, Region, CAP64_LEN, CAP_COMMON_CFG, CAP_DEVICE_CFG, CAP_ISR_CFG,
    CAP_NOTIFY_CFG, CAP_SHARED_MEMORY_CFG, COMMON_CFG_MIN_LEN, NUM_BARS,
};

/// `PAGE_SIZE` of x86-64 and of most arm64 configurations.
pub(crate) const PAGE_4K: u64 = 4096;
/// `PAGE_SIZE` of arm64 or ppc64 with 64 KiB pages.
pub(crate) const PAGE_64K: u64 = 65536;

/// `offsetofend(struct virtio_pci_modern_common_cfg, admin_queue_num)`: how much of the common
/// structure the C transport maps at most.
pub(crate) const COMMON_MAP_MAX: u64 = 64;

/// Why `vp_modern_map_capability` (or `pci_iomap_range` under it) returned NULL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MapFail {
    /// "bad capability len %u (>%u expected)": `length <= start`.
    NotAboveStart,
    /// "bad capability len %u (>=%zu expected)": `length - start < minlen`.
    BelowMin,
    /// "map wrap-around %u+%u": `offset + start` overflows 32 bits.
    Wrap,
    /// "offset %u not aligned to %u".
    Misaligned,
    /// "map virtio %zu@%u out of range on bar %i": `minlen + offset > BAR length`.
    OutOfRange,
    /// `pci_iomap_range` returned NULL: the offset is at or past the end of the BAR.
    Iomap,
}

/// Why the model of `vp_modern_probe` declined the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// "leaving for legacy driver": no usable common capability (-ENODEV).
    NoCommon,
    /// "missing capabilities": no usable ISR or notify capability (-EINVAL).
    Missing {
        /// No ISR capability was found.
        isr: bool,
        /// No notify capability was found.
        notify: bool,
    },
    /// Mapping the capability of `cfg_type` at `pos` failed (-EINVAL).
    Map {
        /// `cfg_type` of the capability.
        cfg_type: u8,
        /// Its position.
        pos: u8,
        /// Why.
        why: MapFail,
    },
}

/// A structure as the C transport maps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mapped {
    /// Index in the capability list of the capability it came from.
    pub(crate) index: usize,
    /// Position of the capability it came from.
    pub(crate) pos: u8,
    /// BAR index.
    pub(crate) bar: u8,
    /// Offset in the BAR (`offset + start`).
    pub(crate) offset: u64,
    /// `*len` as `vp_modern_map_capability` reports it: `min(length - start, size)`. This is
    /// what the C transport later bounds accesses with; it is NOT clamped to the BAR.
    pub(crate) len: u64,
    /// How many bytes `pci_iomap_range` actually mapped: `len` clamped to the BAR.
    pub(crate) mapped: u64,
}

/// How the C transport reaches the notification structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NotifyMap {
    /// Mapped whole at probe time (`mdev->notify_base`).
    Whole(Mapped),
    /// Not mapped at probe time (`mdev->notify_map_cap`): each queue's register is mapped on
    /// its own by `vp_modern_map_vq_notify`, and nothing was checked yet.
    PerQueue {
        /// Index of the capability in the list.
        index: usize,
        /// Position of the capability.
        pos: u8,
        /// Its `bar`.
        bar: u8,
        /// Its `offset`.
        offset: u32,
        /// Its `length`.
        length: u32,
    },
}

/// What the model of `vp_modern_probe` set up for an accepted device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Probe {
    /// `mdev->common`.
    pub(crate) common: Mapped,
    /// `mdev->isr`.
    pub(crate) isr: Mapped,
    /// `mdev->notify_base` or `mdev->notify_map_cap`.
    pub(crate) notify: NotifyMap,
    /// `mdev->notify_offset_multiplier`, read from the notify capability whatever `cap_len`.
    pub(crate) multiplier: u32,
    /// `mdev->device`, if there is a device capability.
    pub(crate) device: Option<Mapped>,
}

/// `virtio_pci_find_capability`: the first capability of `cfg_type` that the C transport would
/// use, and its index in the list.
pub(crate) fn find<'a>(
    caps: &'a [RawCap],
    bars: &[Bar; NUM_BARS],
    cfg_type: u8,
) -> Option<(usize, &'a RawCap)> {
    caps.iter().enumerate().find(|(_, c)| {
        // Reserved BAR values are skipped whatever the type.
        let Some(bar) = bars.get(usize::from(c.bar)) else {
            return false;
        };
        // `pci_resource_len(dev, bar) && pci_resource_flags(dev, bar) & (IO | MEM)`.
        c.cfg_type == cfg_type && bar.len != 0 && bar.kind != BarKind::None
    })
}

/// `vp_modern_map_capability(mdev, off, minlen, align, start, size, ...)`.
pub(crate) fn map_capability(
    index: usize,
    cap: &RawCap,
    bars: &[Bar; NUM_BARS],
    minlen: u64,
    align: u32,
    start: u32,
    size: u64,
) -> Result<Mapped, MapFail> {
    // The BAR was found by `find`, so it is below 6 and in `modern_bars`.
    let bar_len = bars[usize::from(cap.bar)].len;
    let length = cap.length;
    if length <= start {
        return Err(MapFail::NotAboveStart);
    }
    let length = length - start;
    if u64::from(length) < minlen {
        return Err(MapFail::BelowMin);
    }
    let Some(offset) = cap.offset.checked_add(start) else {
        return Err(MapFail::Wrap);
    };
    if offset & (align - 1) != 0 {
        return Err(MapFail::Misaligned);
    }
    let len = u64::from(length).min(size);
    // `minlen` is a size_t: the sum is computed in 64 bits and cannot wrap here.
    if minlen + u64::from(offset) > bar_len {
        return Err(MapFail::OutOfRange);
    }
    // pci_iomap_range(dev, bar, offset, len).
    let offset = u64::from(offset);
    if bar_len <= offset {
        return Err(MapFail::Iomap);
    }
    Ok(Mapped {
        index,
        pos: cap.pos,
        bar: cap.bar,
        offset,
        len,
        mapped: (bar_len - offset).min(len),
    })
}

/// The model of `vp_modern_probe` with pages of `page_size` bytes.
pub(crate) fn probe(
    caps: &[RawCap],
    bars: &[Bar; NUM_BARS],
    page_size: u64,
) -> Result<Probe, Refusal> {
    let common = find(caps, bars, CAP_COMMON_CFG).ok_or(Refusal::NoCommon)?;
    let isr = find(caps, bars, CAP_ISR_CFG);
    let notify = find(caps, bars, CAP_NOTIFY_CFG);
    let (Some(isr), Some(notify)) = (isr, notify) else {
        return Err(Refusal::Missing {
            isr: isr.is_none(),
            notify: notify.is_none(),
        });
    };
    let device = find(caps, bars, CAP_DEVICE_CFG);
    let fail = |cap: &RawCap| {
        let (cfg_type, pos) = (cap.cfg_type, cap.pos);
        move |why| Refusal::Map { cfg_type, pos, why }
    };

    let (i, common) = common;
    let common_m = map_capability(i, common, bars, COMMON_CFG_MIN_LEN, 4, 0, COMMON_MAP_MAX)
        .map_err(fail(common))?;
    let (i, isr) = isr;
    let isr_m = map_capability(i, isr, bars, 1, 1, 0, 1).map_err(fail(isr))?;
    let (i, notify) = notify;
    // The dword after `struct virtio_pci_cap`, read whatever `cap_len` says.
    let multiplier = notify.extra0;
    let notify_m = if u64::from(notify.length) + u64::from(notify.offset) % page_size <= page_size {
        NotifyMap::Whole(
            map_capability(i, notify, bars, 2, 2, 0, u64::from(notify.length))
                .map_err(fail(notify))?,
        )
    } else {
        NotifyMap::PerQueue {
            index: i,
            pos: notify.pos,
            bar: notify.bar,
            offset: notify.offset,
            length: notify.length,
        }
    };
    let device_m = match device {
        Some((i, d)) => Some(map_capability(i, d, bars, 0, 4, 0, page_size).map_err(fail(d))?),
        None => None,
    };
    Ok(Probe {
        common: common_m,
        isr: isr_m,
        notify: notify_m,
        multiplier,
        device: device_m,
    })
}

/// Why `vp_modern_map_vq_notify` returned NULL for a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VqNotifyFail {
    /// "bad notification offset": `off * multiplier + 2 > notify_len` (whole mapping).
    PastNotifyLen,
    /// The per-queue `vp_modern_map_capability` failed.
    Map(MapFail),
}

/// `vp_modern_map_vq_notify`: the offset in the notify BAR of the 2-byte register the C
/// transport writes for a queue whose `queue_notify_off` is `off`.
///
/// Note what it does not check: with the structure mapped whole, neither the alignment of the
/// register nor that it lies within the BAR (`notify_len` is the capability's `length`, not
/// clamped to the BAR); mapped per queue, `off * multiplier` is computed in 32 bits and may wrap.
pub(crate) fn vq_notify(p: &Probe, bars: &[Bar; NUM_BARS], off: u16) -> Result<u64, VqNotifyFail> {
    match p.notify {
        NotifyMap::Whole(m) => {
            if u64::from(off) * u64::from(p.multiplier) + 2 > m.len {
                return Err(VqNotifyFail::PastNotifyLen);
            }
            Ok(m.offset + u64::from(off) * u64::from(p.multiplier))
        }
        NotifyMap::PerQueue {
            index,
            pos,
            bar,
            offset,
            length,
        } => {
            // `off * mdev->notify_offset_multiplier`: u16 * u32, in 32 bits.
            let start = u32::from(off).wrapping_mul(p.multiplier);
            let cap = RawCap {
                pos,
                cfg_type: CAP_NOTIFY_CFG,
                bar,
                offset,
                length,
                ..RawCap::default()
            };
            map_capability(index, &cap, bars, 2, 2, start, 2)
                .map(|m| m.offset)
                .map_err(VqNotifyFail::Map)
        }
    }
}

/// Why `vp_get_shm_region` returned false.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ShmFail {
    /// `virtio_pci_find_shm_cap` found no capability with that id.
    NotFound,
    /// "cap offset+len overflow detected".
    Overflow,
    /// "bar shorter than cap offset+len".
    PastBar,
}

/// `virtio_pci_find_shm_cap` and `vp_get_shm_region` (in `virtio_pci_modern.c`): the shared
/// memory region `id` as a driver asking for it gets it, and the index of its capability.
///
/// The first shared memory capability whose `cap_len` is exactly
/// `sizeof(struct virtio_pci_cap64)`, whose `id` matches and whose `bar` is not reserved is the
/// one; others are skipped ("shm cap with bad size" for a wrong `cap_len`). Its region must
/// not overflow and must end within the BAR's resource length; nothing else is checked (not the
/// kind of the BAR, not a zero length).
pub(crate) fn shm_region(
    caps: &[RawCap],
    bars: &[Bar; NUM_BARS],
    id: u8,
) -> Result<(usize, Region), ShmFail> {
    let (index, c) = caps
        .iter()
        .enumerate()
        .find(|(_, c)| {
            c.cfg_type == CAP_SHARED_MEMORY_CFG
                && c.cap_len == CAP64_LEN
                && c.id == id
                && usize::from(c.bar) < NUM_BARS
        })
        .ok_or(ShmFail::NotFound)?;
    let offset = u64::from(c.offset) | (u64::from(c.extra0) << 32);
    let len = u64::from(c.length) | (u64::from(c.extra1) << 32);
    let end = offset.checked_add(len).ok_or(ShmFail::Overflow)?;
    if end > bars[usize::from(c.bar)].len {
        return Err(ShmFail::PastBar);
    }
    Ok((
        index,
        Region {
            bar: c.bar,
            offset,
            len,
        },
    ))
}

/// Whether an accepted layout is safe to use: every region lies within a BAR that has a
/// resource (no overflow), is at least its structure's minimum (the common structure at least
/// `sizeof(struct virtio_pci_common_cfg)`), is aligned as its accessors need (the common and
/// device structures to 4; the notification structure not at all, since `notify_offset` checks
/// the alignment of each register in the BAR), and shared memory regions are in memory BARs,
/// whole.
pub(crate) fn safe(l: &Layout, bars: &[Bar; NUM_BARS]) -> Result<(), &'static str> {
    fn within(
        r: &Region,
        bars: &[Bar; NUM_BARS],
        min: u64,
        align: u64,
    ) -> Result<(), &'static str> {
        let bar = bars
            .get(usize::from(r.bar))
            .ok_or("region in a reserved BAR")?;
        if bar.kind == BarKind::None || bar.len == 0 {
            return Err("region in a BAR without a resource");
        }
        if r.len < min {
            return Err("region shorter than its structure");
        }
        if !r.offset.is_multiple_of(align) {
            return Err("region misaligned");
        }
        match r.offset.checked_add(r.len) {
            Some(end) if end <= bar.len => Ok(()),
            Some(_) => Err("region past the end of its BAR"),
            None => Err("region end overflows"),
        }
    }
    within(&l.common, bars, COMMON_CFG_MIN_LEN, 4)?;
    within(&l.isr, bars, 1, 1)?;
    within(&l.notify, bars, 2, 1)?;
    if let Some(d) = &l.device {
        within(d, bars, 1, 4)?;
    }
    for s in &l.shm[..l.shm_count] {
        within(&s.region, bars, 1, 1)?;
        if !matches!(
            bars[usize::from(s.region.bar)].kind,
            BarKind::Mem32 | BarKind::Mem64
        ) {
            return Err("shared memory region not in a memory BAR");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::{parse, CAP_LEN};
    use crate::caps_tests::{cap, qemu_bars, qemu_caps, region};

    fn with(f: impl Fn(&mut RawCap), t: u8) -> Result<Probe, Refusal> {
        let mut caps = qemu_caps();
        for c in caps.iter_mut().filter(|c| c.cfg_type == t) {
            f(c);
        }
        probe(&caps, &qemu_bars(), PAGE_4K)
    }

    #[test]
    fn qemu_layout_as_the_c_transport_maps_it() {
        let p = probe(&qemu_caps(), &qemu_bars(), PAGE_4K).unwrap();
        let m = |index, pos, offset, len, mapped| Mapped {
            index,
            pos,
            bar: 4,
            offset,
            len,
            mapped,
        };
        assert_eq!(p.common, m(4, 0x40, 0, 64, 64));
        assert_eq!(p.isr, m(3, 0x50, 0x1000, 1, 1));
        assert_eq!(
            p.notify,
            NotifyMap::Whole(m(1, 0x70, 0x3000, 0x1000, 0x1000))
        );
        assert_eq!(p.device, Some(m(2, 0x60, 0x2000, 0x1000, 0x1000)));
        assert_eq!(p.multiplier, 4);
        assert_eq!(vq_notify(&p, &qemu_bars(), 2), Ok(0x3008));
        assert_eq!(
            vq_notify(&p, &qemu_bars(), 0x400),
            Err(VqNotifyFail::PastNotifyLen)
        );
        assert_eq!(
            safe(&parse(&qemu_caps(), &qemu_bars()).unwrap(), &qemu_bars()),
            Ok(())
        );
    }

    #[test]
    fn each_check_of_vp_modern_map_capability() {
        let fail = |cfg_type, pos, why| Err(Refusal::Map { cfg_type, pos, why });
        assert_eq!(
            with(|c| c.length = 55, CAP_COMMON_CFG),
            fail(CAP_COMMON_CFG, 0x40, MapFail::BelowMin)
        );
        assert_eq!(
            with(|c| c.length = 0, CAP_DEVICE_CFG),
            fail(CAP_DEVICE_CFG, 0x60, MapFail::NotAboveStart)
        );
        assert_eq!(
            with(|c| c.offset = 0x1002, CAP_DEVICE_CFG),
            fail(CAP_DEVICE_CFG, 0x60, MapFail::Misaligned)
        );
        assert_eq!(
            with(|c| c.offset = 0x3fcc, CAP_COMMON_CFG),
            fail(CAP_COMMON_CFG, 0x40, MapFail::OutOfRange)
        );
        // The device capability's minimum is 0: an offset at the end of the BAR passes the
        // range check and fails in pci_iomap_range.
        assert_eq!(
            with(|c| c.offset = 0x4000, CAP_DEVICE_CFG),
            fail(CAP_DEVICE_CFG, 0x60, MapFail::Iomap)
        );
        // Past the BAR but with the minimum inside: mapped, clamped to the BAR.
        let p = with(|c| c.offset = 0x3fc8, CAP_COMMON_CFG).unwrap();
        assert_eq!((p.common.len, p.common.mapped), (64, 56));
        // notify_off_multiplier and cap_len are not checked.
        let p = with(
            |c| {
                c.extra0 = 3;
                c.cap_len = 0;
            },
            CAP_NOTIFY_CFG,
        )
        .unwrap();
        assert_eq!(p.multiplier, 3);
        // An unaligned register is written as it is when the structure is mapped whole.
        assert_eq!(vq_notify(&p, &qemu_bars(), 1), Ok(0x3003));
    }

    #[test]
    fn capabilities_the_c_transport_skips() {
        // Reserved BAR, or a BAR without a resource: the next one of the type is used.
        let mut caps = qemu_caps();
        let mut skipped = cap(0x30, CAP_ISR_CFG, 0x1800, 1);
        for bar in [3u8, 5, 6, 0xff] {
            skipped.bar = bar;
            caps.insert(0, skipped);
        }
        let p = probe(&caps, &qemu_bars(), PAGE_4K).unwrap();
        assert_eq!((p.isr.index, p.isr.offset), (7, 0x1000));
        // No common capability is not an error of the modern driver: the legacy one may bind.
        assert_eq!(with(|c| c.bar = 6, CAP_COMMON_CFG), Err(Refusal::NoCommon));
        assert_eq!(
            with(|c| c.bar = 5, CAP_NOTIFY_CFG),
            Err(Refusal::Missing {
                isr: false,
                notify: true
            })
        );
    }

    #[test]
    fn notify_structures_larger_than_a_page_are_mapped_per_queue() {
        // Not checked at all at probe time, even an odd offset past the BAR...
        let p = with(
            |c| {
                c.offset = 0x5001;
                c.length = 0x1000;
            },
            CAP_NOTIFY_CFG,
        )
        .unwrap();
        assert!(matches!(
            p.notify,
            NotifyMap::PerQueue { offset: 0x5001, .. }
        ));
        assert_eq!(
            vq_notify(&p, &qemu_bars(), 0),
            Err(VqNotifyFail::Map(MapFail::Misaligned))
        );
        // ...while the same structure within a page is.
        assert_eq!(
            with(
                |c| {
                    c.offset = 0x5001;
                    c.length = 0xfff;
                },
                CAP_NOTIFY_CFG,
            ),
            Err(Refusal::Map {
                cfg_type: CAP_NOTIFY_CFG,
                pos: 0x70,
                why: MapFail::Misaligned
            })
        );
        // With 64 KiB pages the same structure is mapped whole.
        let mut caps = qemu_caps();
        caps[1].offset = 0x3001;
        assert!(matches!(
            probe(&caps, &qemu_bars(), PAGE_4K).unwrap().notify,
            NotifyMap::PerQueue { .. }
        ));
        assert!(probe(&caps, &qemu_bars(), PAGE_64K).is_err());
        // Per queue, queue_notify_off * multiplier wraps in 32 bits.
        let mut caps = qemu_caps();
        caps[1].length = 0x2000;
        caps[1].offset = 0x2000;
        caps[1].extra0 = 0x2_0000;
        let p = probe(&caps, &qemu_bars(), PAGE_4K).unwrap();
        assert_eq!(vq_notify(&p, &qemu_bars(), 0x8000), Ok(0x2000));
    }

    #[test]
    fn shared_memory_as_a_driver_gets_it() {
        let mut bars = qemu_bars();
        bars[2] = Bar {
            kind: BarKind::Io,
            len: 0x100,
        };
        let mut shm = cap(0x90, CAP_SHARED_MEMORY_CFG, 0x10, 0x20);
        shm.bar = 2;
        shm.id = 1;
        let mut caps = qemu_caps();
        // cap_len must be 24 exactly: this one is skipped, not read past its end.
        caps.push(shm);
        assert_eq!(shm.cap_len, CAP_LEN);
        assert_eq!(shm_region(&caps, &bars, 1), Err(ShmFail::NotFound));
        // The kind of BAR is not checked.
        shm.cap_len = CAP64_LEN;
        caps.push(shm);
        assert_eq!(shm_region(&caps, &bars, 1), Ok((6, region(2, 0x10, 0x20))));
        // The first one with the id is the one.
        let mut caps = qemu_caps();
        let mut bad = shm;
        bad.length = 0x100;
        caps.push(bad);
        caps.push(shm);
        assert_eq!(shm_region(&caps, &bars, 1), Err(ShmFail::PastBar));
        bad.extra0 = u32::MAX;
        bad.extra1 = u32::MAX;
        caps[5] = bad;
        assert_eq!(shm_region(&caps, &bars, 1), Err(ShmFail::Overflow));
    }

    #[test]
    fn safe_refuses_what_the_transport_must_not_access() {
        let bars = qemu_bars();
        let good = parse(&qemu_caps(), &bars).unwrap();
        let mut l = good;
        l.notify.len = 0x1001;
        assert_eq!(safe(&l, &bars), Err("region past the end of its BAR"));
        let mut l = good;
        l.common.len = 55;
        assert_eq!(safe(&l, &bars), Err("region shorter than its structure"));
        let mut l = good;
        l.device = Some(region(4, 0x2002, 4));
        assert_eq!(safe(&l, &bars), Err("region misaligned"));
        let mut l = good;
        l.isr = region(5, 0, 1);
        assert_eq!(safe(&l, &bars), Err("region in a BAR without a resource"));
        let mut l = good;
        l.isr = region(9, 0, 1);
        assert_eq!(safe(&l, &bars), Err("region in a reserved BAR"));
        let mut l = good;
        let mut big = bars;
        big[4].len = u64::MAX;
        l.isr = region(4, u64::MAX, 1);
        assert_eq!(safe(&l, &big), Err("region end overflows"));
        let mut l = good;
        let mut io = bars;
        io[2] = Bar {
            kind: BarKind::Io,
            len: 0x100,
        };
        l.common = region(2, 0, 0x38);
        assert_eq!(safe(&l, &io), Ok(()));
        l.shm[0].region = region(2, 0, 0x10);
        l.shm_count = 1;
        assert_eq!(
            safe(&l, &io),
            Err("shared memory region not in a memory BAR")
        );
    }
}
