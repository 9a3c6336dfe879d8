// SPDX-License-Identifier: GPL-2.0

//! Parsing and validation of the virtio PCI vendor capabilities (virtio 1.2, 4.1.4).
//!
//! Pure logic over values read from configuration space: no kernel dependency, so that the same
//! file also builds on the host, where `selftests/host` unit tests and fuzzes it.
//!
//! The decisions follow the C transport (`virtio_pci_modern_dev.c`), so that a device it binds
//! also binds here, except where an access would be unsafe:
//!
//! - A capability with a reserved BAR index (6 and up) is ignored, as the spec requires, and so
//!   is one whose BAR has no resource: the next capability of the same type is used instead.
//! - A structure too short for our accessors, a common or device structure that is misaligned,
//!   or a structure starting so that its minimum size runs past the end of its BAR declines the
//!   device, with an error naming the field.
//! - Harmless deviations from the spec bind with a [`Warning`] naming the capability, the field
//!   and the spec clause: a `cap_len` shorter than its structure (the fields are read anyway, as
//!   the C transport does), a region longer than what is left of its BAR (clamped to the BAR),
//!   a `notify_off_multiplier` that is not 0 or an even power of 2, a notification structure
//!   whose offset is not 2-aligned (each queue's notification register is still bounded and
//!   checked for alignment by [`notify_offset`], as the C transport does when it maps the
//!   structure queue by queue).
//! - A shared memory capability that cannot be used, or one beyond the [`MAX_SHM`] regions
//!   kept, is left out with a warning; the rest of the device binds.
//! - Structures may live in memory or I/O BARs; only shared memory regions must be in memory.
//!
//! Later capabilities of a type already found are ignored, as the spec allows, and so are types
//! we do not use.

use core::fmt;

/// Number of standard BARs of a PCI function.
pub(crate) const NUM_BARS: usize = 6;
/// At most this many shared memory regions are kept; later ones are left out with
/// [`Warning::TooManyShm`].
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
/// At most this many warnings are kept; later ones are counted in [`Layout::warnings_dropped`].
pub(crate) const MAX_WARNINGS: usize = 8;

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
    /// `notify_off_multiplier`: any value (see [`notify_offset`]).
    pub(crate) notify_off_multiplier: u32,
    /// ISR status.
    pub(crate) isr: Region,
    /// Device-specific configuration, if the device has one.
    pub(crate) device: Option<Region>,
    /// Shared memory regions, `shm_count` of them.
    pub(crate) shm: [Shm; MAX_SHM],
    /// Number of valid entries of `shm`.
    pub(crate) shm_count: usize,
    /// Harmless deviations from the spec, `warning_count` of them.
    pub(crate) warnings: [Option<Warning>; MAX_WARNINGS],
    /// Number of valid entries of `warnings`.
    pub(crate) warning_count: usize,
    /// Warnings that did not fit in `warnings`.
    pub(crate) warnings_dropped: usize,
}

impl Layout {
    /// The warnings of this layout, in the order the capabilities were found.
    pub(crate) fn warnings(&self) -> impl Iterator<Item = &Warning> {
        self.warnings[..self.warning_count].iter().flatten()
    }

    fn warn(&mut self, w: Warning) {
        match self.warnings.get_mut(self.warning_count) {
            Some(slot) => {
                *slot = Some(w);
                self.warning_count += 1;
            }
            None => self.warnings_dropped += 1,
        }
    }

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

    /// Alignment of the structure's offset within its BAR. Required of the common and device
    /// structures; only warned about for the notification structure, whose registers are
    /// checked one by one (see [`notify_offset`]).
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
    /// A shared memory capability is shorter than `struct virtio_pci_cap64`: the high halves of
    /// its offset and length would be read from whatever follows it.
    CapLen {
        /// Its position.
        pos: u8,
        /// Its `cap_len`.
        cap_len: u8,
    },
    /// A shared memory capability names a BAR that is not a memory BAR.
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
    /// `offset` of a common or device structure is not aligned as our accessors require.
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
}

impl fmt::Display for CapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Missing(cap) => write!(f, "no {} capability", cap.name()),
            Self::CapLen { pos, cap_len } => write!(
                f,
                "shared memory capability at {:#x}: cap_len {} below {}",
                pos, cap_len, CAP64_LEN
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
        }
    }
}

/// A harmless deviation from the spec: the device binds, and the transport says so once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Warning {
    /// `cap_len` is shorter than the structure of this type; its fields were read anyway.
    CapLen {
        /// Type of the capability.
        cap: CapType,
        /// Its position.
        pos: u8,
        /// Its `cap_len`.
        cap_len: u8,
        /// The structure's size.
        min: u8,
    },
    /// A capability of a type we use names a BAR without a resource: it was ignored.
    NoResource {
        /// Type of the capability.
        cap: CapType,
        /// Its position.
        pos: u8,
        /// Its `bar`.
        bar: u8,
    },
    /// `offset + length` runs past the end of the BAR: the region was clamped to the BAR.
    Clamped {
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
    /// `notify_off_multiplier` is neither 0 nor an even power of 2.
    NotifyOffMultiplier {
        /// Position of the notify capability.
        pos: u8,
        /// The value.
        multiplier: u32,
    },
    /// `offset` is not aligned as the spec requires, in a structure whose accesses are checked
    /// one by one (only the notification structure: see [`notify_offset`]).
    Misaligned {
        /// Type of the capability.
        cap: CapType,
        /// Its position.
        pos: u8,
        /// Its `offset`.
        offset: u64,
        /// The alignment the spec requires.
        align: u64,
    },
    /// A shared memory capability beyond the [`MAX_SHM`] regions kept was left out. Not a
    /// deviation from the spec, which sets no limit: a limit of ours, said so all the same.
    TooManyShm {
        /// Its position.
        pos: u8,
        /// Its `id`.
        id: u8,
    },
    /// A shared memory capability that cannot be used was left out.
    Ignored {
        /// Why it cannot be used.
        error: CapError,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::CapLen {
                cap,
                pos,
                cap_len,
                min,
            } => write!(
                f,
                "{} capability at {:#x}: cap_len {} below {} (virtio 1.2, 4.1.4): reading its fields anyway",
                cap.name(),
                pos,
                cap_len,
                min
            ),
            Self::NoResource { cap, pos, bar } => write!(
                f,
                "{} capability at {:#x}: bar {} has no resource (virtio 1.2, 4.1.4): ignoring it",
                cap.name(),
                pos,
                bar
            ),
            Self::Clamped {
                cap,
                pos,
                bar,
                offset,
                length,
                bar_len,
            } => write!(
                f,
                "{} capability at {:#x}: offset {:#x} + length {:#x} past the end of bar {} ({:#x} bytes) (virtio 1.2, 4.1.4): using {:#x} bytes",
                cap.name(),
                pos,
                offset,
                length,
                bar,
                bar_len,
                bar_len.saturating_sub(offset)
            ),
            Self::NotifyOffMultiplier { pos, multiplier } => write!(
                f,
                "notify capability at {:#x}: notify_off_multiplier {:#x} is neither 0 nor an even power of 2 (virtio 1.2, 4.1.4.4.1): using it as is",
                pos, multiplier
            ),
            Self::Misaligned {
                cap,
                pos,
                offset,
                align,
            } => write!(
                f,
                "{} capability at {:#x}: offset {:#x} not aligned to {} (virtio 1.2, {}): refusing the queues whose register is misaligned",
                cap.name(),
                pos,
                offset,
                align,
                match cap {
                    CapType::Notify => "4.1.4.4.1",
                    _ => "4.1.4",
                }
            ),
            Self::TooManyShm { pos, id } => write!(
                f,
                "shared memory capability at {:#x}: id {} is past the {} regions this transport keeps (virtio 1.2, 4.1.4.7): ignoring it",
                pos, id, MAX_SHM
            ),
            Self::Ignored { error } => write!(f, "{error} (virtio 1.2, 4.1.4.7): ignoring it"),
        }
    }
}

/// Validates the region a capability describes. Returns `None` for a capability that is to be
/// ignored: its BAR index is reserved, or its BAR has no resource.
fn region(
    cap: CapType,
    raw: &RawCap,
    bars: &[Bar; NUM_BARS],
    layout: &mut Layout,
) -> Result<Option<Region>, CapError> {
    let pos = raw.pos;
    let bar = raw.bar;
    // virtio 1.2, 4.1.4: the driver MUST ignore a capability with a reserved BAR value.
    let Some(info) = bars.get(usize::from(bar)) else {
        return Ok(None);
    };
    if info.kind == BarKind::None || info.len == 0 {
        layout.warn(Warning::NoResource { cap, pos, bar });
        return Ok(None);
    }
    // Shared memory is mapped as memory by the driver that uses it.
    if cap == CapType::SharedMemory && info.kind == BarKind::Io {
        return Err(CapError::BarKind {
            cap,
            pos,
            bar,
            kind: info.kind,
        });
    }
    let min_cap_len = cap.min_cap_len();
    if cap == CapType::SharedMemory && raw.cap_len < min_cap_len {
        return Err(CapError::CapLen {
            pos,
            cap_len: raw.cap_len,
        });
    }
    if raw.cap_len < min_cap_len {
        layout.warn(Warning::CapLen {
            cap,
            pos,
            cap_len: raw.cap_len,
            min: min_cap_len,
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
        // The notification structure is only ever accessed one register at a time, and
        // `notify_offset` refuses a register that is not aligned to its width, wherever the
        // structure starts: a misaligned one costs the queues whose register is misaligned,
        // as in the C transport when it maps the structure queue by queue. The common and
        // device accessors rely on the alignment.
        if cap != CapType::Notify {
            return Err(CapError::Align {
                cap,
                pos,
                offset,
                align,
            });
        }
        layout.warn(Warning::Misaligned {
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
    if end <= info.len {
        return Ok(Some(Region {
            bar,
            offset,
            len: length,
        }));
    }
    // The C transport only needs the structure's minimum size within the BAR, and maps no more
    // than the BAR. A shared memory region is used whole by its driver: it must fit.
    let out_of_bar = CapError::OutOfBar {
        cap,
        pos,
        bar,
        offset,
        length,
        bar_len: info.len,
    };
    if cap == CapType::SharedMemory || offset.saturating_add(min) > info.len {
        return Err(out_of_bar);
    }
    layout.warn(Warning::Clamped {
        cap,
        pos,
        bar,
        offset,
        length,
        bar_len: info.len,
    });
    Ok(Some(Region {
        bar,
        offset,
        len: info.len - offset,
    }))
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
        let found = match cap {
            CapType::Common => common.is_some(),
            CapType::Notify => notify.is_some(),
            CapType::Isr => isr.is_some(),
            CapType::Device => device.is_some(),
            CapType::SharedMemory => false,
        };
        // A later capability of a type already found.
        if found {
            continue;
        }
        if cap == CapType::SharedMemory {
            // Only the driver that asks for the region uses it: a bad one is left out, and the
            // rest of the device works.
            match region(cap, raw, bars, &mut layout) {
                Ok(Some(r)) => {
                    let seen = layout.shm[..layout.shm_count]
                        .iter()
                        .any(|s| s.id == raw.id);
                    if !seen {
                        match layout.shm.get_mut(layout.shm_count) {
                            Some(slot) => {
                                *slot = Shm {
                                    id: raw.id,
                                    region: r,
                                };
                                layout.shm_count += 1;
                            }
                            None => layout.warn(Warning::TooManyShm {
                                pos: raw.pos,
                                id: raw.id,
                            }),
                        }
                    }
                }
                Ok(None) => {}
                Err(error) => layout.warn(Warning::Ignored { error }),
            }
            continue;
        }
        let Some(r) = region(cap, raw, bars, &mut layout)? else {
            continue;
        };
        match cap {
            CapType::Common => common = Some(r),
            CapType::Isr => isr = Some(r),
            CapType::Device => device = Some(r),
            CapType::Notify => {
                let m = raw.extra0;
                if m != 0 && (!m.is_power_of_two() || m == 1) {
                    layout.warn(Warning::NotifyOffMultiplier {
                        pos: raw.pos,
                        multiplier: m,
                    });
                }
                layout.notify_off_multiplier = m;
                notify = Some(r);
            }
            CapType::SharedMemory => {}
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
pub(crate) enum NotifyError {
    /// The register is not within the notification region.
    OutOfRegion {
        /// The queue.
        index: u16,
        /// Its `queue_notify_off`.
        queue_notify_off: u16,
        /// Length of the notification region.
        notify_len: u64,
    },
    /// The register is not aligned to its width: some architectures fault on such an access.
    Misaligned {
        /// The queue.
        index: u16,
        /// Its `queue_notify_off`.
        queue_notify_off: u16,
        /// The offset it gives, within the notification region.
        offset: u64,
        /// The BAR of the notification region.
        bar: u8,
        /// The register's offset within that BAR: what must be aligned.
        bar_offset: u64,
        /// The register's width.
        width: u64,
    },
}

impl fmt::Display for NotifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::OutOfRegion {
                index,
                queue_notify_off,
                notify_len,
            } => write!(
                f,
                "queue {}: queue_notify_off {:#x} is outside the notify region ({:#x} bytes)",
                index, queue_notify_off, notify_len
            ),
            Self::Misaligned {
                index,
                queue_notify_off,
                offset,
                bar,
                bar_offset,
                width,
            } => write!(
                f,
                "queue {}: queue_notify_off {:#x} gives notification offset {:#x} ({:#x} in bar {}), not aligned to {}",
                index, queue_notify_off, offset, bar_offset, bar, width
            ),
        }
    }
}

/// Returns the offset, within the notification region, of queue `index`'s notification
/// register of `width` bytes (2, or 4 with `VIRTIO_F_NOTIFICATION_DATA`).
///
/// Any `notify_off_multiplier` is accepted, as in the C transport, but the register must lie
/// within the region and its offset in the BAR be aligned to its width.
pub(crate) fn notify_offset(
    layout: &Layout,
    index: u16,
    queue_notify_off: u16,
    width: u64,
) -> Result<u64, NotifyError> {
    let off = u64::from(queue_notify_off) * u64::from(layout.notify_off_multiplier);
    match off.checked_add(width) {
        Some(end) if end <= layout.notify.len => {}
        _ => {
            return Err(NotifyError::OutOfRegion {
                index,
                queue_notify_off,
                notify_len: layout.notify.len,
            })
        }
    }
    // What the access must be aligned for is the register's offset in the BAR. The region's
    // own offset may be misaligned (bound with `Warning::Misaligned`), so it counts too.
    let Some(bar_offset) = layout.notify.offset.checked_add(off) else {
        return Err(NotifyError::OutOfRegion {
            index,
            queue_notify_off,
            notify_len: layout.notify.len,
        });
    };
    if width == 0 || bar_offset % width != 0 {
        return Err(NotifyError::Misaligned {
            index,
            queue_notify_off,
            offset: off,
            bar: layout.notify.bar,
            bar_offset,
            width,
        });
    }
    Ok(off)
}
