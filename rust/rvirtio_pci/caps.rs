// SPDX-License-Identifier: GPL-2.0

//! Parsing and validation of the virtio PCI vendor capabilities (virtio 1.2, 4.1.4).
//!
//! Pure logic over values read from configuration space: no kernel dependency, so that the same
//! file also builds on the host, where `selftests/host` unit tests and fuzzes it.
//!
//! The first capability of each type that we use is validated strictly: any field that does
//! not fit (BAR index or kind, capability or structure length, alignment, a region that does
//! not lie within its BAR, a bad notify multiplier) is an error naming the field, and the
//! device is declined. Later capabilities of a type already found are ignored, as the spec
//! allows, and so are types we do not use.

use core::fmt;

/// Number of standard BARs of a PCI function.
pub(crate) const NUM_BARS: usize = 6;
/// At most this many shared memory regions are kept.
pub(crate) const MAX_SHM: usize = 8;

/// `cfg_type` of the common configuration structure.
pub(crate) const CAP_COMMON_CFG: u8 = 1;
/// `cfg_type` of the notification structure.
pub(crate) const CAP_NOTIFY_CFG: u8 = 2;
/// `cfg_type` of the ISR status.
pub(crate) const CAP_ISR_CFG: u8 = 3;
/// `cfg_type` of the device-specific configuration.
pub(crate) const CAP_DEVICE_CFG: u8 = 4;
/// `cfg_type` of the PCI configuration access window.
pub(crate) const CAP_PCI_CFG: u8 = 5;
/// `cfg_type` of a shared memory region.
pub(crate) const CAP_SHARED_MEMORY_CFG: u8 = 8;

/// `sizeof(struct virtio_pci_cap)`.
pub(crate) const CAP_LEN: u8 = 16;
/// `sizeof(struct virtio_pci_notify_cap)`.
pub(crate) const NOTIFY_CAP_LEN: u8 = 20;
/// `sizeof(struct virtio_pci_cap64)`.
pub(crate) const CAP64_LEN: u8 = 24;
/// `sizeof(struct virtio_pci_common_cfg)`: the fields every virtio 1.0 device has.
pub(crate) const COMMON_CFG_MIN_LEN: u64 = 56;

/// A vendor capability as read from configuration space, not validated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RawCap {
    /// Position in configuration space.
    pub(crate) pos: u8,
    /// `cap_len`.
    pub(crate) cap_len: u8,
    /// `cfg_type`.
    pub(crate) cfg_type: u8,
    /// `bar`.
    pub(crate) bar: u8,
    /// `id`.
    pub(crate) id: u8,
    /// `offset`.
    pub(crate) offset: u32,
    /// `length`.
    pub(crate) length: u32,
    /// The dword after `struct virtio_pci_cap`: `notify_off_multiplier` of a notify capability,
    /// `offset_hi` of a 64-bit one. Only meaningful when `cap_len` covers it.
    pub(crate) extra0: u32,
    /// `length_hi` of a 64-bit capability. Only meaningful when `cap_len` covers it.
    pub(crate) extra1: u32,
}

/// The kind of resource behind a BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BarKind {
    /// Not implemented (or the upper half of a 64-bit BAR).
    None,
    /// Port I/O space.
    Io,
    /// 32-bit memory space.
    Mem32,
    /// 64-bit memory space.
    Mem64,
}

/// What the PCI core knows of one BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bar {
    /// Kind of resource.
    pub(crate) kind: BarKind,
    /// Length of the resource in bytes.
    pub(crate) len: u64,
}

impl Bar {
    /// A BAR that is not implemented.
    pub(crate) const NONE: Bar = Bar {
        kind: BarKind::None,
        len: 0,
    };
}

/// A validated region: `len` bytes at `offset` in BAR `bar`, within the BAR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Region {
    /// BAR index, below [`NUM_BARS`].
    pub(crate) bar: u8,
    /// Offset within the BAR.
    pub(crate) offset: u64,
    /// Length in bytes, at least the structure's minimum.
    pub(crate) len: u64,
}

/// A shared memory region and its id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Shm {
    /// `id` of the capability: which region of the device this is.
    pub(crate) id: u8,
    /// Where it is.
    pub(crate) region: Region,
}

/// The validated layout of a modern virtio PCI device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Common configuration.
    pub(crate) common: Region,
    /// Notification area.
    pub(crate) notify: Region,
    /// `notify_off_multiplier`: 0 or an even power of two.
    pub(crate) notify_off_multiplier: u32,
    /// ISR status.
    pub(crate) isr: Region,
    /// Device-specific configuration, if the device has one.
    pub(crate) device: Option<Region>,
    /// Shared memory regions, `shm_count` of them.
    pub(crate) shm: [Shm; MAX_SHM],
    /// Number of valid entries of `shm`.
    pub(crate) shm_count: usize,
}

impl Layout {
    /// The shared memory region with `id`, if any.
    pub(crate) fn shm(&self, id: u8) -> Option<Region> {
        self.shm[..self.shm_count]
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.region)
    }
}

/// The capability types we use, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CapType {
    /// Common configuration.
    Common,
    /// Notification.
    Notify,
    /// ISR status.
    Isr,
    /// Device-specific configuration.
    Device,
    /// Shared memory.
    SharedMemory,
}

impl CapType {
    fn from_cfg_type(cfg_type: u8) -> Option<Self> {
        match cfg_type {
            CAP_COMMON_CFG => Some(Self::Common),
            CAP_NOTIFY_CFG => Some(Self::Notify),
            CAP_ISR_CFG => Some(Self::Isr),
            CAP_DEVICE_CFG => Some(Self::Device),
            CAP_SHARED_MEMORY_CFG => Some(Self::SharedMemory),
            _ => None,
        }
    }

    /// Name used in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Common => "common",
            Self::Notify => "notify",
            Self::Isr => "isr",
            Self::Device => "device",
            Self::SharedMemory => "shared memory",
        }
    }

    /// The smallest structure a capability of this type may describe.
    fn min_len(self) -> u64 {
        match self {
            Self::Common => COMMON_CFG_MIN_LEN,
            // At least one 16-bit notification register.
            Self::Notify => 2,
            Self::Isr | Self::Device | Self::SharedMemory => 1,
        }
    }

    /// Alignment of the structure's offset within its BAR.
    fn align(self) -> u64 {
        match self {
            Self::Common | Self::Device => 4,
            Self::Notify => 2,
            Self::Isr | Self::SharedMemory => 1,
        }
    }

    /// The smallest `cap_len` for this type.
    fn min_cap_len(self) -> u8 {
        match self {
            Self::Notify => NOTIFY_CAP_LEN,
            Self::SharedMemory => CAP64_LEN,
            _ => CAP_LEN,
        }
    }
}

/// Why a device's capabilities were rejected. Each variant names the failing field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CapError {
    /// A required capability is absent.
    Missing(CapType),
    /// `cap_len` is shorter than the structure of this type.
    CapLen {
        /// Type of the capability.
        cap: CapType,
        /// Its position.
        pos: u8,
        /// Its `cap_len`.
        cap_len: u8,
        /// The minimum.
        min: u8,
    },
    /// `bar` is not a standard BAR index.
    BarIndex {
        /// Type of the capability.
        cap: CapType,
        /// Its position.
        pos: u8,
        /// Its `bar`.
        bar: u8,
    },
    /// `bar` names a BAR that is not a memory BAR.
    BarKind {
        /// Type of the capability.
        cap: CapType,
        /// Its position.
        pos: u8,
        /// Its `bar`.
        bar: u8,
        /// What the BAR is.
        kind: BarKind,
    },
    /// `length` is below the structure's minimum.
    Length {
        /// Type of the capability.
        cap: CapType,
        /// Its position.
        pos: u8,
        /// Its `length`.
        length: u64,
        /// The minimum.
        min: u64,
    },
    /// `offset` is not aligned as the structure requires.
    Align {
        /// Type of the capability.
        cap: CapType,
        /// Its position.
        pos: u8,
        /// Its `offset`.
        offset: u64,
        /// The required alignment.
        align: u64,
    },
    /// `offset + length` overflows.
    Overflow {
        /// Type of the capability.
        cap: CapType,
        /// Its position.
        pos: u8,
        /// Its `offset`.
        offset: u64,
        /// Its `length`.
        length: u64,
    },
    /// `offset + length` runs past the end of the BAR.
    OutOfBar {
        /// Type of the capability.
        cap: CapType,
        /// Its position.
        pos: u8,
        /// Its `bar`.
        bar: u8,
        /// Its `offset`.
        offset: u64,
        /// Its `length`.
        length: u64,
        /// Length of the BAR.
        bar_len: u64,
    },
    /// `notify_off_multiplier` is neither 0 nor an even power of two.
    NotifyOffMultiplier {
        /// Position of the notify capability.
        pos: u8,
        /// The value.
        multiplier: u32,
    },
}

impl fmt::Display for CapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Missing(cap) => write!(f, "no {} capability", cap.name()),
            Self::CapLen {
                cap,
                pos,
                cap_len,
                min,
            } => write!(
                f,
                "{} capability at {:#x}: cap_len {} below {}",
                cap.name(),
                pos,
                cap_len,
                min
            ),
            Self::BarIndex { cap, pos, bar } => write!(
                f,
                "{} capability at {:#x}: bar {} is not a BAR index",
                cap.name(),
                pos,
                bar
            ),
            Self::BarKind {
                cap,
                pos,
                bar,
                kind,
            } => write!(
                f,
                "{} capability at {:#x}: bar {} is not a memory BAR ({:?})",
                cap.name(),
                pos,
                bar,
                kind
            ),
            Self::Length {
                cap,
                pos,
                length,
                min,
            } => write!(
                f,
                "{} capability at {:#x}: length {:#x} below {:#x}",
                cap.name(),
                pos,
                length,
                min
            ),
            Self::Align {
                cap,
                pos,
                offset,
                align,
            } => write!(
                f,
                "{} capability at {:#x}: offset {:#x} not aligned to {}",
                cap.name(),
                pos,
                offset,
                align
            ),
            Self::Overflow {
                cap,
                pos,
                offset,
                length,
            } => write!(
                f,
                "{} capability at {:#x}: offset {:#x} + length {:#x} overflows",
                cap.name(),
                pos,
                offset,
                length
            ),
            Self::OutOfBar {
                cap,
                pos,
                bar,
                offset,
                length,
                bar_len,
            } => write!(
                f,
                "{} capability at {:#x}: offset {:#x} + length {:#x} past the end of bar {} ({:#x} bytes)",
                cap.name(),
                pos,
                offset,
                length,
                bar,
                bar_len
            ),
            Self::NotifyOffMultiplier { pos, multiplier } => write!(
                f,
                "notify capability at {:#x}: notify_off_multiplier {:#x} is neither 0 nor an even power of 2",
                pos, multiplier
            ),
        }
    }
}

/// Validates the region a capability describes.
fn region(cap: CapType, raw: &RawCap, bars: &[Bar; NUM_BARS]) -> Result<Region, CapError> {
    let pos = raw.pos;
    let min_cap_len = cap.min_cap_len();
    if raw.cap_len < min_cap_len {
        return Err(CapError::CapLen {
            cap,
            pos,
            cap_len: raw.cap_len,
            min: min_cap_len,
        });
    }
    let bar = raw.bar;
    let Some(info) = bars.get(usize::from(bar)) else {
        return Err(CapError::BarIndex { cap, pos, bar });
    };
    if !matches!(info.kind, BarKind::Mem32 | BarKind::Mem64) {
        return Err(CapError::BarKind {
            cap,
            pos,
            bar,
            kind: info.kind,
        });
    }
    let (offset, length) = if cap == CapType::SharedMemory {
        (
            u64::from(raw.offset) | (u64::from(raw.extra0) << 32),
            u64::from(raw.length) | (u64::from(raw.extra1) << 32),
        )
    } else {
        (u64::from(raw.offset), u64::from(raw.length))
    };
    let min = cap.min_len();
    if length < min {
        return Err(CapError::Length {
            cap,
            pos,
            length,
            min,
        });
    }
    let align = cap.align();
    if offset % align != 0 {
        return Err(CapError::Align {
            cap,
            pos,
            offset,
            align,
        });
    }
    let Some(end) = offset.checked_add(length) else {
        return Err(CapError::Overflow {
            cap,
            pos,
            offset,
            length,
        });
    };
    if end > info.len {
        return Err(CapError::OutOfBar {
            cap,
            pos,
            bar,
            offset,
            length,
            bar_len: info.len,
        });
    }
    Ok(Region {
        bar,
        offset,
        len: length,
    })
}

/// Validates the capabilities of a device, in the order they were found, against its BARs.
pub(crate) fn parse(caps: &[RawCap], bars: &[Bar; NUM_BARS]) -> Result<Layout, CapError> {
    let mut common = None;
    let mut notify = None;
    let mut isr = None;
    let mut device = None;
    let mut layout = Layout::default();

    for raw in caps {
        let Some(cap) = CapType::from_cfg_type(raw.cfg_type) else {
            continue;
        };
        match cap {
            CapType::Common if common.is_none() => common = Some(region(cap, raw, bars)?),
            CapType::Isr if isr.is_none() => isr = Some(region(cap, raw, bars)?),
            CapType::Device if device.is_none() => device = Some(region(cap, raw, bars)?),
            CapType::Notify if notify.is_none() => {
                let r = region(cap, raw, bars)?;
                let m = raw.extra0;
                // virtio 1.2, 4.1.4.4: 0 (one address for all queues) or an even power of 2.
                if m != 0 && (!m.is_power_of_two() || m == 1) {
                    return Err(CapError::NotifyOffMultiplier {
                        pos: raw.pos,
                        multiplier: m,
                    });
                }
                layout.notify_off_multiplier = m;
                notify = Some(r);
            }
            CapType::SharedMemory => {
                let r = region(cap, raw, bars)?;
                let seen = layout.shm[..layout.shm_count]
                    .iter()
                    .any(|s| s.id == raw.id);
                if !seen && layout.shm_count < MAX_SHM {
                    layout.shm[layout.shm_count] = Shm {
                        id: raw.id,
                        region: r,
                    };
                    layout.shm_count += 1;
                }
            }
            // A later capability of a type already found.
            _ => {}
        }
    }

    layout.common = common.ok_or(CapError::Missing(CapType::Common))?;
    layout.notify = notify.ok_or(CapError::Missing(CapType::Notify))?;
    layout.isr = isr.ok_or(CapError::Missing(CapType::Isr))?;
    layout.device = device;
    Ok(layout)
}

/// Why a queue's notification address was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NotifyError {
    /// The queue.
    pub(crate) index: u16,
    /// Its `queue_notify_off`.
    pub(crate) queue_notify_off: u16,
    /// Length of the notification area.
    pub(crate) notify_len: u64,
}

impl fmt::Display for NotifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "queue {}: queue_notify_off {:#x} is outside the notify region ({:#x} bytes)",
            self.index, self.queue_notify_off, self.notify_len
        )
    }
}

/// Returns the offset, within the notification region, of queue `index`'s notification
/// register of `width` bytes (2, or 4 with `VIRTIO_F_NOTIFICATION_DATA`).
pub(crate) fn notify_offset(
    layout: &Layout,
    index: u16,
    queue_notify_off: u16,
    width: u64,
) -> Result<u64, NotifyError> {
    let off = u64::from(queue_notify_off) * u64::from(layout.notify_off_multiplier);
    match off.checked_add(width) {
        Some(end) if end <= layout.notify.len => Ok(off),
        _ => Err(NotifyError {
            index,
            queue_notify_off,
            notify_len: layout.notify.len,
        }),
    }
}
