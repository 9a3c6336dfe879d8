// SPDX-License-Identifier: GPL-2.0

//! The capability layouts of real devices, as publicly described, and what we make of them.
//!
//! Each entry gives the vendor capabilities in the order a walk of the PCI capability list
//! meets them (other capabilities, MSI-X, power management, PCI Express, are not vendor
//! capabilities and are left out), the BARs, and the expected outcome: accepted, the regions,
//! the warnings. Each is also run through the model of the C transport (`upstream_model`),
//! which must bind it with the same capabilities, and through `upstream_model::safe`.
//!
//! Sources are cited per entry: the emulator's source (at the commit named)
//! and, where one was found, a public `lspci -vvv` showing the same values. What is inferred
//! rather than read is marked "inferred". No public dump of a hardware (DPU/SmartNIC) virtio
//! function with its capability values was found; the one hardware-like entry is constructed
//! from the spec deviation it exercises, and says so.

use crate::caps::*;
use crate::upstream_model::{self, NotifyMap, PAGE_4K};
use std::vec::Vec;

const MEM32: BarKind = BarKind::Mem32;
const MEM64: BarKind = BarKind::Mem64;
const IO: BarKind = BarKind::Io;

/// A `struct virtio_pci_cap` of `cfg_type`.
fn vcap(pos: u8, cfg_type: u8, bar: u8, offset: u32, length: u32) -> RawCap {
    RawCap {
        pos,
        cap_len: CAP_LEN,
        cfg_type,
        bar,
        id: 0,
        offset,
        length,
        extra0: 0,
        extra1: 0,
    }
}

fn common(pos: u8, bar: u8, offset: u32, length: u32) -> RawCap {
    vcap(pos, CAP_COMMON_CFG, bar, offset, length)
}

fn isr(pos: u8, bar: u8, offset: u32, length: u32) -> RawCap {
    vcap(pos, CAP_ISR_CFG, bar, offset, length)
}

fn device(pos: u8, bar: u8, offset: u32, length: u32) -> RawCap {
    vcap(pos, CAP_DEVICE_CFG, bar, offset, length)
}

/// A `struct virtio_pci_notify_cap`.
fn notify(pos: u8, bar: u8, offset: u32, length: u32, multiplier: u32) -> RawCap {
    RawCap {
        cap_len: NOTIFY_CAP_LEN,
        extra0: multiplier,
        ..vcap(pos, CAP_NOTIFY_CFG, bar, offset, length)
    }
}

/// A PCI configuration access capability (`struct virtio_pci_cfg_cap`), which we do not use.
fn pci_cfg(pos: u8, cap_len: u8) -> RawCap {
    RawCap {
        cap_len,
        ..vcap(pos, CAP_PCI_CFG, 0, 0, 0)
    }
}

/// A shared memory capability (`struct virtio_pci_cap64`).
fn shm(pos: u8, bar: u8, id: u8, offset: u64, length: u64) -> RawCap {
    RawCap {
        pos,
        cap_len: CAP64_LEN,
        cfg_type: CAP_SHARED_MEMORY_CFG,
        bar,
        id,
        offset: offset as u32,
        length: length as u32,
        extra0: (offset >> 32) as u32,
        extra1: (length >> 32) as u32,
    }
}

fn bars(list: &[(usize, BarKind, u64)]) -> [Bar; NUM_BARS] {
    let mut bars = [Bar::NONE; NUM_BARS];
    for &(i, kind, len) in list {
        bars[i] = Bar { kind, len };
    }
    bars
}

fn r(bar: u8, offset: u64, len: u64) -> Region {
    Region { bar, offset, len }
}

/// What we expect of a real layout.
struct Expect {
    common: Region,
    isr: Region,
    notify: Region,
    multiplier: u32,
    device: Option<Region>,
    shm: &'static [(u8, Region)],
    warnings: &'static [Warning],
}

/// Parses a real layout, checks it against `expect` and against the C transport's model, and
/// returns it for per-entry checks.
fn check(caps: &[RawCap], bars: &[Bar; NUM_BARS], expect: &Expect) -> Layout {
    let l = parse(caps, bars).unwrap_or_else(|e| panic!("declined: {e}"));
    assert_eq!(l.common, expect.common, "common");
    assert_eq!(l.isr, expect.isr, "isr");
    assert_eq!(l.notify, expect.notify, "notify");
    assert_eq!(l.notify_off_multiplier, expect.multiplier, "multiplier");
    assert_eq!(l.device, expect.device, "device");
    assert_eq!(l.shm_count, expect.shm.len(), "shm count");
    for &(id, region) in expect.shm {
        assert_eq!(l.shm(id), Some(region), "shm {id}");
        assert_eq!(
            upstream_model::shm_region(caps, bars, id).map(|(_, r)| r),
            Ok(region),
            "shm {id} as the C transport gives it"
        );
    }
    assert_eq!(l.warnings().copied().collect::<Vec<_>>(), expect.warnings);
    assert_eq!(l.warnings_dropped, 0);
    assert_eq!(upstream_model::safe(&l, bars), Ok(()));

    // The C transport binds it too, with the same structures.
    let p = upstream_model::probe(caps, bars, PAGE_4K).expect("the C transport declines it");
    assert_eq!(
        (p.common.bar, p.common.offset),
        (l.common.bar, l.common.offset)
    );
    assert_eq!((p.isr.bar, p.isr.offset), (l.isr.bar, l.isr.offset));
    match p.notify {
        NotifyMap::Whole(m) => assert_eq!((m.bar, m.offset), (l.notify.bar, l.notify.offset)),
        NotifyMap::PerQueue { bar, offset, .. } => {
            assert_eq!((bar, u64::from(offset)), (l.notify.bar, l.notify.offset))
        }
    }
    assert_eq!(p.multiplier, l.notify_off_multiplier);
    assert_eq!(
        p.device.map(|m| (m.bar, m.offset)),
        l.device.map(|d| (d.bar, d.offset))
    );
    // The same register for the first queues, where both give one.
    for off in 0..8u16 {
        if let (Ok(o), Ok(u)) = (
            notify_offset(&l, off, off, 2),
            upstream_model::vq_notify(&p, bars, off),
        ) {
            assert_eq!(l.notify.offset + o, u, "queue_notify_off {off}");
        }
    }
    l
}

/// QEMU's modern layout: `-device virtio-net-pci,disable-legacy=on` on a conventional PCI bus.
///
/// Source: QEMU `hw/virtio/virtio-pci.c` (qemu/qemu, commit def4c557):
/// `virtio_pci_realize` puts MSI-X in BAR 1 and the modern structures in the 64-bit memory BAR
/// 4: common at 0x0 (0x1000 bytes), ISR at 0x1000 (0x1000), device at 0x2000 (0x1000), notify
/// at 0x3000 (`virtio_pci_queue_mem_mult` = 4 times `VIRTIO_QUEUE_MAX` = 1024 bytes), the BAR
/// being `pow2ceil(0x3000 + 0x1000)` = 16 KiB. `virtio_pci_device_plugged` adds the
/// capabilities common, ISR, device, notify, then the PCI configuration access one, each with
/// `virtio_pci_add_mem_cap` -> `pci_add_capability(dev, PCI_CAP_ID_VNDR, 0, ...)`, which puts
/// it at the first free bytes from 0x40 and links it at the head of the list: 0x40, 0x50,
/// 0x60, 0x70 (20 bytes), 0x84 (20 bytes), MSI-X at 0x98 last, walked in reverse.
/// `lspci -vvv` in https://github.com/vincentmli/bpfire/issues/2 shows exactly "[84]
/// VirtIO: <unknown> BAR=0 offset=00000000 size=00000000, [70] Notify BAR=4 offset=00003000
/// size=00001000 multiplier=00000004, [60] DeviceCfg BAR=4 offset=00002000 size=00001000, [50]
/// ISR BAR=4 offset=00001000 size=00001000, [40] CommonCfg"; tier4/awkernel pull request 392
/// logs the walk as cap_ptr 132, 112, 96, 80, 64.
fn qemu_modern_caps() -> Vec<RawCap> {
    std::vec![
        pci_cfg(0x84, 20),
        notify(0x70, 4, 0x3000, 0x1000, 4),
        device(0x60, 4, 0x2000, 0x1000),
        isr(0x50, 4, 0x1000, 0x1000),
        common(0x40, 4, 0, 0x1000),
    ]
}

const QEMU_MODERN: Expect = Expect {
    common: Region {
        bar: 4,
        offset: 0,
        len: 0x1000,
    },
    isr: Region {
        bar: 4,
        offset: 0x1000,
        len: 0x1000,
    },
    notify: Region {
        bar: 4,
        offset: 0x3000,
        len: 0x1000,
    },
    multiplier: 4,
    device: Some(Region {
        bar: 4,
        offset: 0x2000,
        len: 0x1000,
    }),
    shm: &[],
    warnings: &[],
};

#[test]
fn qemu_modern() {
    let bars = bars(&[(1, MEM32, 0x1000), (4, MEM64, 0x4000)]);
    let l = check(&qemu_modern_caps(), &bars, &QEMU_MODERN);
    // One 4-byte register per queue (QEMU's ioeventfd per queue sits at 4 * index).
    assert_eq!(notify_offset(&l, 2, 2, 2), Ok(8));
    assert_eq!(notify_offset(&l, 2, 2, 4), Ok(8));
    assert_eq!(notify_offset(&l, 1023, 1023, 4), Ok(0xffc));
    assert!(notify_offset(&l, 1024, 1024, 2).is_err());
}

/// QEMU transitional: virtio-balloon-pci on i440fx (legacy I/O BAR 0, modern BAR 4, no MSI-X).
///
/// Source: `lspci -vvv` in https://github.com/vincentmli/bpfire/issues/2: "Region 0: I/O ports
/// at f000 [size=64], Region 4: Memory at fd600000 (64-bit, prefetchable) [size=16K]", the
/// same five vendor capabilities as the modern layout and no MSI-X capability (the balloon had
/// no vectors then). QEMU's `virtio_pci_device_plugged` registers the legacy BAR at
/// `legacy_io_bar_idx` = 0; the modern capabilities are the same as without it.
#[test]
fn qemu_transitional() {
    let bars = bars(&[(0, IO, 0x40), (4, MEM64, 0x4000)]);
    let l = check(&qemu_modern_caps(), &bars, &QEMU_MODERN);
    // The legacy BAR is not used by the modern transport.
    assert_ne!(l.common.bar, 0);
}

/// QEMU with `page-per-vq=on`: a page of notification area per queue.
///
/// Source: QEMU `virtio_pci_queue_mem_mult` returns `QEMU_VIRTIO_PCI_QUEUE_MEM_MULT` = 0x1000
/// with `VIRTIO_PCI_FLAG_PAGE_PER_VQ`, the notify capability carries it as
/// `notify_off_multiplier`, the notify structure is 0x1000 * 1024 = 4 MiB, and BAR 4 is
/// `pow2ceil(0x3000 + 0x400000)` = 8 MiB. A comment in the Magenta (Fuchsia) virtio GPU driver
/// quotes this `lspci`: "Region 4: Memory at fd000000 (64-bit, prefetchable)
/// [size=8M] ... [70] Notify BAR=4 offset=00003000 size=00400000 multiplier=00001000".
/// Larger than a page, the C transport maps it per queue.
#[test]
fn qemu_page_per_vq() {
    let bars = bars(&[(1, MEM32, 0x1000), (4, MEM64, 0x80_0000)]);
    let mut caps = qemu_modern_caps();
    caps[1] = notify(0x70, 4, 0x3000, 0x40_0000, 0x1000);
    let expect = Expect {
        notify: r(4, 0x3000, 0x40_0000),
        multiplier: 0x1000,
        ..QEMU_MODERN
    };
    let l = check(&caps, &bars, &expect);
    assert!(matches!(
        upstream_model::probe(&caps, &bars, PAGE_4K).unwrap().notify,
        NotifyMap::PerQueue { .. }
    ));
    assert_eq!(notify_offset(&l, 5, 5, 2), Ok(0x5000));
    assert_eq!(notify_offset(&l, 1023, 1023, 4), Ok(0x3f_f000));
    assert!(notify_offset(&l, 1024, 1024, 2).is_err());
}

/// QEMU with `modern-pio-notify=on`: a second notify capability, in an I/O BAR.
///
/// Source: QEMU `virtio_pci_device_plugged`: with `VIRTIO_PCI_FLAG_MODERN_PIO_NOTIFY` it creates
/// a 4-byte I/O region ("virtio-pci-io"), registers it as BAR `modern_io_bar_idx` = 2, and
/// maps `notify_pio` into it (`virtio_pci_realize`: offset 0, size 4, type NOTIFY) with a
/// `struct virtio_pci_notify_cap` whose multiplier is 0 (`notify_pio.notify_off_multiplier =
/// cpu_to_le32(0x0)`). It is added right after the memory notify capability and before the
/// PCI configuration access one, so it sits at 0x84 (the configuration access one at 0x98,
/// MSI-X at 0xac); since `pci_add_capability` links each new capability at the head, a walk
/// meets the I/O notify capability before the memory one. With the first-wins rule (ours and
/// `virtio_pci_find_capability`, which accepts I/O resources) the I/O one is used: every
/// queue writes its index to port offset 0, which `virtio_pci_notify_write_pio` takes as the
/// queue number. Device: `virtio-net-pci,disable-legacy=on,modern-pio-notify=on`.
#[test]
fn qemu_modern_pio_notify() {
    let bars = bars(&[(1, MEM32, 0x1000), (2, IO, 4), (4, MEM64, 0x4000)]);
    let mut caps = qemu_modern_caps();
    caps[0] = pci_cfg(0x98, 20);
    caps.insert(1, notify(0x84, 2, 0, 4, 0));
    let expect = Expect {
        notify: r(2, 0, 4),
        multiplier: 0,
        ..QEMU_MODERN
    };
    let l = check(&caps, &bars, &expect);
    for q in [0u16, 1, 7, 1023] {
        assert_eq!(notify_offset(&l, q, q, 2), Ok(0));
        assert_eq!(notify_offset(&l, q, q, 4), Ok(0));
    }
    // Without the I/O BAR (a resource the PCI core could not assign), the memory one is used.
    let mut no_io = bars;
    no_io[2] = Bar::NONE;
    let l = parse(&caps, &no_io).unwrap();
    assert_eq!(l.notify, r(4, 0x3000, 0x1000));
    assert_eq!(
        l.warnings().copied().collect::<Vec<_>>(),
        [Warning::NoResource {
            cap: CapType::Notify,
            pos: 0x84,
            bar: 2
        }]
    );
}

/// QEMU behind a PCI Express root port (q35, `-device pcie-root-port,id=rp
/// -device virtio-net-pci,bus=rp`): the same structures, the capabilities elsewhere.
///
/// Source: QEMU `virtio_pci_realize`: on a PCIe port `disable-legacy=auto` means on, and before
/// the virtio device is plugged it adds the PCI Express capability
/// (`pcie_endpoint_cap_init(pci_dev, 0)`, 0x3c bytes at 0x40) and power management
/// (`PCI_PM_SIZEOF` = 8 bytes at 0x7c), so the virtio capabilities start at 0x84. A public
/// `lspci -vvv` (in a set of virtio notes written in Chinese) shows "Region 1: ...
/// [size=4K], Region 4: ... (64-bit, prefetchable) [size=16K], [dc] MSI-X, [c8] VirtIO:
/// <unknown> BAR=0, [b4] Notify BAR=4 offset=00003000 size=00001000 multiplier=00000004, [a4]
/// DeviceCfg BAR=4 offset=00002000, [94] ISR BAR=4 offset=00001000, [84] CommonCfg BAR=4
/// offset=00000000 size=00001000".
#[test]
fn qemu_behind_pcie_root_port() {
    let bars = bars(&[(1, MEM32, 0x1000), (4, MEM64, 0x4000)]);
    let caps = std::vec![
        pci_cfg(0xc8, 20),
        notify(0xb4, 4, 0x3000, 0x1000, 4),
        device(0xa4, 4, 0x2000, 0x1000),
        isr(0x94, 4, 0x1000, 0x1000),
        common(0x84, 4, 0, 0x1000),
    ];
    check(&caps, &bars, &QEMU_MODERN);
    // A warning names the capability by its position: here 0x84, not 0x40.
    let mut short = caps;
    short[4].cap_len = 12;
    let l = parse(&short, &bars).unwrap();
    assert_eq!(
        l.warnings().copied().collect::<Vec<_>>(),
        [Warning::CapLen {
            cap: CapType::Common,
            pos: 0x84,
            cap_len: 12,
            min: 16
        }]
    );
}

/// QEMU virtio-vga: the modern structures in BAR 2, at the end of it.
///
/// Source: QEMU `hw/display/virtio-vga.c` (commit 0b8fa32f),
/// `virtio_vga_base_realize`: VRAM in BAR 0 (`vram_size_mb = 8`, 32-bit prefetchable),
/// `modern_mem_bar_idx = 2`, `msix_bar_idx = 4`; with `page-per-vq=off` the common and ISR
/// regions are halved (0x800 each) and the regions are packed down from the end of the 16 KiB
/// modern BAR: notify at 0x3000 (0x1000), device at 0x2000 (0x1000), ISR at 0x1800, common at
/// 0x1000, leaving 0x0-0xfff for the stdvga MMIO registers. Inferred: the capability positions,
/// from the same `virtio_pci_device_plugged` (VGA adds no capability of its own).
#[test]
fn qemu_virtio_vga() {
    let bars = bars(&[
        (0, MEM32, 0x80_0000),
        (2, MEM64, 0x4000),
        (4, MEM32, 0x1000),
    ]);
    let caps = std::vec![
        pci_cfg(0x84, 20),
        notify(0x70, 2, 0x3000, 0x1000, 4),
        device(0x60, 2, 0x2000, 0x1000),
        isr(0x50, 2, 0x1800, 0x800),
        common(0x40, 2, 0x1000, 0x800),
    ];
    let expect = Expect {
        common: r(2, 0x1000, 0x800),
        isr: r(2, 0x1800, 0x800),
        notify: r(2, 0x3000, 0x1000),
        multiplier: 4,
        device: Some(r(2, 0x2000, 0x1000)),
        shm: &[],
        warnings: &[],
    };
    check(&caps, &bars, &expect);
}

/// cloud-hypervisor virtio-net.
///
/// Source: cloud-hypervisor `virtio-devices/src/transport/pci_device.rs` (commit ae44c297,
/// Aug 2026): one 64-bit BAR 0 (`VIRTIO_COMMON_BAR_INDEX`) of `CAPABILITY_BAR_SIZE` =
/// `(MSIX_PBA_BAR_OFFSET + MSIX_PBA_SIZE).next_power_of_two()` = 0x80000, with common at 0x0
/// (56 bytes), then each structure 8 KiB-aligned by `next_bar_addr`: ISR at 0x2000 (1 byte),
/// device at 0x4000 (`config_size()` or `DEVICE_CONFIG_SIZE` = 0x1000; virtio-net does not
/// override it), notify at 0x6000 (`MAX_QUEUES` 0x400 * `NOTIFY_OFF_MULTIPLIER` 4 bytes), MSI-X
/// table at 0x8000 and PBA at 0x48000. `add_pci_capabilities` adds common, ISR, device,
/// notify, PCI configuration access (`cap_len` 20 since pull request 8238), MSI-X;
/// `pci/src/configuration.rs` `add_capability` appends them from 0x40, dword-aligned.
#[test]
fn cloud_hypervisor_net() {
    let bars = bars(&[(0, MEM64, 0x8_0000)]);
    let caps = std::vec![
        common(0x40, 0, 0, 56),
        isr(0x50, 0, 0x2000, 1),
        device(0x60, 0, 0x4000, 0x1000),
        notify(0x70, 0, 0x6000, 0x1000, 4),
        pci_cfg(0x84, 20),
    ];
    let expect = Expect {
        common: r(0, 0, 56),
        isr: r(0, 0x2000, 1),
        notify: r(0, 0x6000, 0x1000),
        multiplier: 4,
        device: Some(r(0, 0x4000, 0x1000)),
        shm: &[],
        warnings: &[],
    };
    let l = check(&caps, &bars, &expect);
    assert_eq!(notify_offset(&l, 0x3ff, 0x3ff, 4), Ok(0xffc));
    // The C transport maps 56 of the 64 bytes it could use: the structure is 56 bytes long.
    let p = upstream_model::probe(&caps, &bars, PAGE_4K).unwrap();
    assert_eq!(p.common.mapped, 56);
}

/// cloud-hypervisor virtio-rng: no device capability.
///
/// Source: as above; `virtio-devices/src/rng.rs` returns `config_size() = Some(0)`, and
/// `add_pci_capabilities` adds the device capability only `if device_config_size > 0`, so
/// notify moves up to 0x60 and the configuration access capability to 0x74.
#[test]
fn cloud_hypervisor_rng() {
    let bars = bars(&[(0, MEM64, 0x8_0000)]);
    let caps = std::vec![
        common(0x40, 0, 0, 56),
        isr(0x50, 0, 0x2000, 1),
        notify(0x60, 0, 0x6000, 0x1000, 4),
        pci_cfg(0x74, 20),
    ];
    let expect = Expect {
        common: r(0, 0, 56),
        isr: r(0, 0x2000, 1),
        notify: r(0, 0x6000, 0x1000),
        multiplier: 4,
        device: None,
        shm: &[],
        warnings: &[],
    };
    check(&caps, &bars, &expect);
}

/// Firecracker's virtio-pci transport.
///
/// Source: firecracker `src/vmm/src/devices/virtio/transport/pci/device.rs` (commit
/// 81b38b9d, Aug 2026): BAR 0 64-bit of `CAPABILITY_BAR_SIZE` = 0x80000 (`set_bar_64`), common
/// at 0x0 (56), ISR at 0x2000 (1), device at 0x4000 (0x1000, always), notify at 0x6000
/// (0x1000, `NOTIFY_OFF_MULTIPLIER` 4), MSI-X table 0x8000, PBA 0x48000; `add_pci_capabilities`
/// adds common, ISR, device, notify, PCI configuration access (`cap_len` =
/// `size_of::<VirtioPciCfgCap>() + 2` = 20), MSI-X, appended from `FIRST_CAPABILITY_OFFSET`
/// 0x40 by `src/vmm/src/pci/configuration.rs`. The same layout as cloud-hypervisor's before
/// its offsets were computed by `next_bar_addr` (cloud-hypervisor commit f630694b: "No
/// functional change intended").
#[test]
fn firecracker() {
    let bars = bars(&[(0, MEM64, 0x8_0000)]);
    let caps = std::vec![
        common(0x40, 0, 0, 56),
        isr(0x50, 0, 0x2000, 1),
        device(0x60, 0, 0x4000, 0x1000),
        notify(0x70, 0, 0x6000, 0x1000, 4),
        pci_cfg(0x84, 20),
    ];
    let expect = Expect {
        common: r(0, 0, 56),
        isr: r(0, 0x2000, 1),
        notify: r(0, 0x6000, 0x1000),
        multiplier: 4,
        device: Some(r(0, 0x4000, 0x1000)),
        shm: &[],
        warnings: &[],
    };
    check(&caps, &bars, &expect);
}

/// crosvm's virtio-pci transport.
///
/// Source: crosvm `devices/src/virtio/virtio_pci_device.rs` (commit f1e797a6, Aug 2026): a
/// 32-bit BAR 0 (`CAPABILITIES_BAR_NUM`, `Memory32BitRegion`) of `CAPABILITY_BAR_SIZE` 0x8000
/// with common at 0x0 (56), ISR at 0x1000 (1), device at 0x2000 (0x1000), notify at 0x3000
/// (0x1000, multiplier 4), MSI-X table 0x6000, PBA 0x7000. `add_settings_pci_capabilities`
/// adds common, ISR, device, notify, a PCI configuration access capability built with
/// `VirtioPciCap::new` (so `cap_len` 16), MSI-X and power management, appended from 0x40 by
/// `devices/src/pci/pci_configuration.rs`.
#[test]
fn crosvm() {
    let bars = bars(&[(0, MEM32, 0x8000)]);
    let caps = std::vec![
        common(0x40, 0, 0, 56),
        isr(0x50, 0, 0x1000, 1),
        device(0x60, 0, 0x2000, 0x1000),
        notify(0x70, 0, 0x3000, 0x1000, 4),
        pci_cfg(0x84, 16),
    ];
    let expect = Expect {
        common: r(0, 0, 56),
        isr: r(0, 0x1000, 1),
        notify: r(0, 0x3000, 0x1000),
        multiplier: 4,
        device: Some(r(0, 0x2000, 0x1000)),
        shm: &[],
        warnings: &[],
    };
    check(&caps, &bars, &expect);
}

/// Oxide propolis viona (virtio-net), transitional: a notify multiplier of 0.
///
/// Source: propolis `lib/propolis/src/hw/virtio/pci.rs` (commit 372a5744, Jul 2026),
/// `PciVirtioState::new`: MSI-X in BAR 1 (added first, so its capability is at 0x40), legacy
/// I/O BAR 0 of 0x200, a 32-bit BAR 2 of 4 pages; vendor capabilities common, notify, ISR,
/// device, PCI configuration access, allocated in sequence by `cfgspace.rs` `add_capability`
/// (0x4c, 0x5c, 0x70, 0x80, 0x90). The register reads give: common at `COMMON_REG_OFFSET` 0
/// of `COMMON_REG_SIZE` 60; device at one page (0x1000) of `VIRTIO_NET_CFG_SIZE` 24; notify at
/// two pages (0x2000) of `NOTIFY_REG_SIZE` 4 with `Multiplier => op.write_u32(0)` ("we don't
/// presently support a non-zero multiplier", oxidecomputer/propolis pull request 998); ISR at
/// three pages (0x3000), 1 byte. BAR 1's size (0x2000: a page of table, a page of PBA) is from
/// `MsixCfg::new`.
#[test]
fn propolis_viona() {
    let bars = bars(&[(0, IO, 0x200), (1, MEM32, 0x2000), (2, MEM32, 0x4000)]);
    let caps = std::vec![
        common(0x4c, 2, 0, 60),
        notify(0x5c, 2, 0x2000, 4, 0),
        isr(0x70, 2, 0x3000, 1),
        device(0x80, 2, 0x1000, 24),
        pci_cfg(0x90, 16),
    ];
    let expect = Expect {
        common: r(2, 0, 60),
        isr: r(2, 0x3000, 1),
        notify: r(2, 0x2000, 4),
        multiplier: 0,
        device: Some(r(2, 0x1000, 24)),
        shm: &[],
        warnings: &[],
    };
    let l = check(&caps, &bars, &expect);
    // Every queue shares the one register, 16- or 32-bit.
    assert_eq!(notify_offset(&l, 2, 2, 4), Ok(0));
}

/// VirtualBox virtio-net (the virtio 1.0 core): structures packed 4-aligned, multiplier 2.
///
/// Source: VirtualBox `src/VBox/Devices/VirtIO/VirtioCore.cpp` `virtioCoreR3Init` (mirror
/// cyberus-technology/virtualbox-kvm, commit 471c213b) and `VirtioCore.h`: capabilities
/// at 0x40 (common, `cap_len` 16), 0x50 (notify, 20), 0x64 (ISR, 16), 0x74 (PCI configuration
/// access, 20, BAR 2, offset 0, length 4), 0x88 (device, 16), all in BAR
/// `VIRTIO_REGION_PCI_CAP` = 2: common at 0 of `sizeof(VIRTIO_PCI_COMMON_CFG_T)` = 56; notify at
/// `RT_ALIGN_32(56, 4)` = 0x38 of `VIRTQ_MAX_COUNT` 24 * `VIRTIO_NOTIFY_OFFSET_MULTIPLIER` 2 + 2
/// = 50 bytes; ISR at `RT_ALIGN_32(0x38 + 50, 4)` = 0x6c, 1 byte; device at 0x70 of
/// `sizeof(VIRTIONET_CONFIG_T)` = 8 (MAC and status, `DevVirtioNet.cpp`; MQ is not offered). The
/// MMIO BAR is `RT_ALIGN_32(cbRegion + VIRTIO_PAGE_SIZE, VIRTIO_PAGE_SIZE)` = 0x2000, a 32-bit
/// memory region (`PCI_ADDRESS_SPACE_MEM`). MSI-X is compiled out (`#if 0`), so no MSI-X
/// capability follows. The legacy I/O BAR 0 (offered to legacy drivers only) is left out.
#[test]
fn virtualbox_net() {
    let bars = bars(&[(2, MEM32, 0x2000)]);
    let mut cfg = pci_cfg(0x74, 20);
    cfg.bar = 2;
    cfg.length = 4;
    let caps = std::vec![
        common(0x40, 2, 0, 56),
        notify(0x50, 2, 0x38, 50, 2),
        isr(0x64, 2, 0x6c, 1),
        cfg,
        device(0x88, 2, 0x70, 8),
    ];
    let expect = Expect {
        common: r(2, 0, 56),
        isr: r(2, 0x6c, 1),
        notify: r(2, 0x38, 50),
        multiplier: 2,
        device: Some(r(2, 0x70, 8)),
        shm: &[],
        warnings: &[],
    };
    let l = check(&caps, &bars, &expect);
    // 24 queues: the last register ends exactly at the end of the 50 bytes.
    assert_eq!(notify_offset(&l, 24, 24, 2), Ok(48));
    assert!(matches!(
        notify_offset(&l, 25, 25, 2),
        Err(NotifyError::OutOfRegion { notify_len: 50, .. })
    ));
    // With 2-byte steps from 0x38, a 32-bit register (VIRTIO_F_NOTIFICATION_DATA, which this
    // device does not offer) is misaligned for odd queues.
    assert_eq!(notify_offset(&l, 2, 2, 4), Ok(4));
    assert!(matches!(
        notify_offset(&l, 1, 1, 4),
        Err(NotifyError::Misaligned { offset: 2, .. })
    ));
}

/// alioth virtio-pmem: everything packed into one 4 KiB BAR, and a shared memory region.
///
/// Source: the commit message of pciutils commit 1bfc2be0 ("lspci: add VirtIO SharedMemory
/// capability support",
/// http://mj.ucw.cz/gitweb/?a=commit&h=1bfc2be0ce96f05536764d6ac230d596aefd8dfa&p=pciutils.git)
/// shows `lspci -vvv` of "Device 1af4:105b": "Region 0: Memory at 100001000 (64-bit,
/// non-prefetchable) [size=4K], Region 2: Memory at 101000000 (64-bit, non-prefetchable)
/// [size=16M], [40] CommonCfg BAR=0 offset=00000000 size=0000003c, [50] ISR BAR=0
/// offset=0000003c size=00000001, [60] Notify BAR=0 offset=00000040 size=00000002
/// multiplier=00000002, [78] MSI-X (table BAR=0 offset=00000058, PBA offset=00000078), [88]
/// DeviceCfg BAR=0 offset=00000044 size=00000010, [98] SharedMemory BAR=2
/// offset=0000000000000000 size=0000000001000000 id=0". The author, Changyuan Lyu, wrote the
/// alioth VMM (google/alioth). Inferred: the `cap_len` values (16, 20, 24: alioth's
/// `alioth/src/virtio/pci.rs` uses the sizes of the structures).
#[test]
fn alioth_pmem() {
    let bars = bars(&[(0, MEM64, 0x1000), (2, MEM64, 0x100_0000)]);
    let caps = std::vec![
        common(0x40, 0, 0, 0x3c),
        isr(0x50, 0, 0x3c, 1),
        notify(0x60, 0, 0x40, 2, 2),
        device(0x88, 0, 0x44, 0x10),
        shm(0x98, 2, 0, 0, 0x100_0000),
    ];
    let expect = Expect {
        common: r(0, 0, 0x3c),
        isr: r(0, 0x3c, 1),
        notify: r(0, 0x40, 2),
        multiplier: 2,
        device: Some(r(0, 0x44, 0x10)),
        shm: &[(
            0,
            Region {
                bar: 2,
                offset: 0,
                len: 0x100_0000,
            },
        )],
        warnings: &[],
    };
    let l = check(&caps, &bars, &expect);
    // One queue (virtio-pmem has one request queue): one register.
    assert_eq!(notify_offset(&l, 0, 0, 2), Ok(0));
    assert!(notify_offset(&l, 1, 1, 2).is_err());
}

/// A hardware-like function with `notify_off_multiplier` 1: the motivating case.
///
/// CONSTRUCTED, not observed: no public dump with a multiplier of 1 was found. The spec
/// requires 0 or an even power of 2 (virtio 1.2, 4.1.4.4.1); a device that counts its
/// doorbells in bytes, giving each queue a `queue_notify_off` that is a multiple of its
/// register width, presents 1. The C transport binds it (it never checks the multiplier) and
/// so do we, with a warning; queues whose register would be misaligned are refused one by one.
/// The layout itself is a compact single-BAR one in the style of the entries above.
#[test]
fn hardware_like_multiplier_1() {
    let bars = bars(&[(0, MEM64, 0x4000)]);
    let caps = std::vec![
        common(0x40, 0, 0, 0x40),
        notify(0x50, 0, 0x1000, 0x100, 1),
        isr(0x64, 0, 0x2000, 4),
        device(0x74, 0, 0x3000, 0x40),
    ];
    let expect = Expect {
        common: r(0, 0, 0x40),
        isr: r(0, 0x2000, 4),
        notify: r(0, 0x1000, 0x100),
        multiplier: 1,
        device: Some(r(0, 0x3000, 0x40)),
        shm: &[],
        warnings: &[Warning::NotifyOffMultiplier {
            pos: 0x50,
            multiplier: 1,
        }],
    };
    let l = check(&caps, &bars, &expect);
    // Queue n at queue_notify_off 4 * n: aligned for 16- and 32-bit registers.
    for q in 0..64u16 {
        assert_eq!(notify_offset(&l, q, 4 * q, 4), Ok(4 * u64::from(q)));
    }
    // A device handing out consecutive byte offsets: every other queue is refused.
    assert_eq!(
        notify_offset(&l, 1, 1, 2),
        Err(NotifyError::Misaligned {
            index: 1,
            queue_notify_off: 1,
            offset: 1,
            bar: 0,
            bar_offset: 0x1001,
            width: 2
        })
    );
    // The C transport maps the structure whole and would write the unaligned register.
    let p = upstream_model::probe(&caps, &bars, PAGE_4K).unwrap();
    assert_eq!(upstream_model::vq_notify(&p, &bars, 1), Ok(0x1001));
}

/// A hardware-like function whose notification structure starts at an odd offset.
///
/// CONSTRUCTED, not observed: no public dump with a misaligned notify `offset` was found. The
/// spec requires it 2-aligned (virtio 1.2, 4.1.4.4.1). The C transport maps a structure larger
/// than a page queue by queue, checking only each register, so it binds this device; so do we,
/// with a warning, and `notify_offset` checks each register's offset in the BAR just as
/// `vp_modern_map_vq_notify` does. Here the multiplier is 1 and the device gives its queues odd
/// `queue_notify_off` values, so that the registers themselves are aligned.
#[test]
fn hardware_like_odd_notify_offset() {
    let bars = bars(&[(0, MEM64, 0x4000)]);
    let mut caps = std::vec![
        common(0x40, 0, 0, 0x40),
        notify(0x50, 0, 0x1001, 0x1000, 1),
        isr(0x64, 0, 0x2800, 4),
        device(0x74, 0, 0x3000, 0x40),
    ];
    let expect = Expect {
        common: r(0, 0, 0x40),
        isr: r(0, 0x2800, 4),
        notify: r(0, 0x1001, 0x1000),
        multiplier: 1,
        device: Some(r(0, 0x3000, 0x40)),
        shm: &[],
        warnings: &[
            Warning::Misaligned {
                cap: CapType::Notify,
                pos: 0x50,
                offset: 0x1001,
                align: 2,
            },
            Warning::NotifyOffMultiplier {
                pos: 0x50,
                multiplier: 1,
            },
        ],
    };
    let l = check(&caps, &bars, &expect);
    let p = upstream_model::probe(&caps, &bars, PAGE_4K).unwrap();
    assert!(matches!(p.notify, NotifyMap::PerQueue { .. }));
    // Queue n at queue_notify_off 2n + 1: register at 0x1002 + 2n, the same in both.
    for q in 0..64u16 {
        let off = 2 * q + 1;
        assert_eq!(notify_offset(&l, q, off, 2), Ok(u64::from(off)));
        assert_eq!(
            upstream_model::vq_notify(&p, &bars, off),
            Ok(0x1001 + u64::from(off))
        );
    }
    // An even queue_notify_off: refused by both.
    assert!(matches!(
        notify_offset(&l, 0, 0, 2),
        Err(NotifyError::Misaligned {
            bar_offset: 0x1001,
            ..
        })
    ));
    assert!(upstream_model::vq_notify(&p, &bars, 0).is_err());

    // Within a page the C transport maps it whole and declines the device for the offset; we
    // bind it just the same (the one `OursOnly` case of the fuzzer).
    caps[1].length = 0x100;
    assert!(matches!(
        upstream_model::probe(&caps, &bars, PAGE_4K),
        Err(upstream_model::Refusal::Map {
            pos: 0x50,
            why: upstream_model::MapFail::Misaligned,
            ..
        })
    ));
    let l = parse(&caps, &bars).unwrap();
    assert_eq!(l.notify, r(0, 0x1001, 0x100));
    assert_eq!(notify_offset(&l, 1, 1, 2), Ok(1));
}
