// SPDX-License-Identifier: GPL-2.0

//! Ethtool operations of a network device.
//!
//! C header: [`include/linux/ethtool.h`](srctree/include/linux/ethtool.h).

use super::Device;
use crate::bindings;
use core::marker::PhantomData;
use kernel::{ffi::c_int, prelude::*, sync::atomic::Relaxed};

/// Driver information (`ethtool -i`).
pub(crate) struct DrvInfo<'a>(&'a mut bindings::ethtool_drvinfo);

/// Copies `s` into the C string field `dst`, truncated and NUL-terminated.
fn copy_str(dst: &mut [kernel::ffi::c_char], s: &[u8]) {
    let n = s.len().min(dst.len().saturating_sub(1));
    for (d, &b) in dst.iter_mut().zip(&s[..n]) {
        *d = b as kernel::ffi::c_char;
    }
    if let Some(end) = dst.get_mut(n) {
        *end = 0;
    }
}

impl DrvInfo<'_> {
    /// The driver's name.
    pub(crate) fn set_driver(&mut self, s: &CStr) {
        copy_str(&mut self.0.driver, s.to_bytes());
    }

    /// Where the device is, e.g. `virtio4`.
    pub(crate) fn set_bus_info(&mut self, s: &CStr) {
        copy_str(&mut self.0.bus_info, s.to_bytes());
    }
}

/// Link settings (`ethtool DEV`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LinkSettings {
    /// Speed in Mb/s; `None` if unknown.
    pub(crate) speed: Option<u32>,
    /// Full duplex; `None` if unknown.
    pub(crate) full_duplex: Option<bool>,
}

/// Queue counts (`ethtool -l`): combined channels only.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Channels {
    /// How many the device has.
    pub(crate) max_combined: u32,
    /// How many are in use.
    pub(crate) combined: u32,
}

/// Ring sizes (`ethtool -g`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rings {
    /// Receive ring size, maximum and current (virtio rings do not change size here).
    pub(crate) rx: u32,
    /// Transmit ring size.
    pub(crate) tx: u32,
}

/// The driver's own statistics (`ethtool -S`), written in the order of their names.
pub(crate) struct StatsWriter<'a> {
    out: &'a mut [u64],
    next: usize,
}

impl StatsWriter<'_> {
    /// The next value.
    pub(crate) fn push(&mut self, v: u64) {
        if let Some(slot) = self.out.get_mut(self.next) {
            *slot = v;
        }
        self.next += 1;
    }
}

/// The names of the driver's own statistics.
pub(crate) struct NamesWriter<'a> {
    out: &'a mut [u8],
    next: usize,
}

/// Length of a statistics name, with its NUL.
const GSTRING_LEN: usize = bindings::ETH_GSTRING_LEN as usize;

impl NamesWriter<'_> {
    /// The next name, formatted (truncated to 31 bytes).
    pub(crate) fn push(&mut self, args: core::fmt::Arguments<'_>) {
        let start = self.next * GSTRING_LEN;
        self.next += 1;
        let Some(slot) = self.out.get_mut(start..start + GSTRING_LEN) else {
            return;
        };
        slot.fill(0);
        let mut w = SliceWriter {
            buf: &mut slot[..GSTRING_LEN - 1],
            len: 0,
        };
        let _ = core::fmt::write(&mut w, args);
    }
}

struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// The ethtool operations of a device whose private data is `Self`. Operations left out are
/// not offered (their pointers stay `NULL`). They run under the rtnl lock.
#[vtable]
pub(crate) trait Ethtool: Send + Sync + Sized {
    /// Fills the driver information.
    fn drvinfo(&self, _dev: &Device, _info: &mut DrvInfo<'_>) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The link settings.
    fn link_settings(&self, _dev: &Device) -> LinkSettings {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The queue counts.
    fn channels(&self, _dev: &Device) -> Channels {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Uses `combined` queue pairs (1 to the maximum, already checked).
    fn set_channels(&self, _dev: &Device, _combined: u32) -> Result {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The ring sizes.
    fn rings(&self, _dev: &Device) -> Rings {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// How many statistics [`Ethtool::stats_names`] and [`Ethtool::stats`] write.
    fn stats_count(&self, _dev: &Device) -> usize {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Writes the statistics' names.
    fn stats_names(&self, _dev: &Device, _out: &mut NamesWriter<'_>) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Writes the statistics, in the same order.
    fn stats(&self, _dev: &Device, _out: &mut StatsWriter<'_>) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The `ethtool_ops` trampolines of `T`.
pub(super) struct Adapter<T>(PhantomData<T>);

impl<T: Ethtool> Adapter<T> {
    /// # Safety
    ///
    /// `dev` must be a registered device whose private data is an initialised `T`.
    unsafe fn get<'a>(dev: *mut bindings::net_device) -> (&'a Device, &'a T) {
        // SAFETY: By the requirements.
        unsafe { (Device::from_raw(dev), &*super::priv_data::<T>(dev)) }
    }

    extern "C" fn get_drvinfo(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_drvinfo,
    ) {
        // SAFETY: The core calls this for a registered device with our operations.
        let (d, t) = unsafe { Self::get(dev) };
        // SAFETY: The core passes a valid structure to fill.
        t.drvinfo(d, &mut DrvInfo(unsafe { &mut *info }));
    }

    extern "C" fn get_link_ksettings(
        dev: *mut bindings::net_device,
        ks: *mut bindings::ethtool_link_ksettings,
    ) -> c_int {
        // SAFETY: As in `get_drvinfo`.
        let (d, t) = unsafe { Self::get(dev) };
        let s = t.link_settings(d);
        // SAFETY: The core passes a valid, zeroed structure to fill.
        let base = unsafe { &mut (*ks).base };
        base.speed = s.speed.unwrap_or(bindings::SPEED_UNKNOWN as u32);
        base.duplex = match s.full_duplex {
            Some(true) => bindings::DUPLEX_FULL as u8,
            Some(false) => 0,
            None => bindings::DUPLEX_UNKNOWN as u8,
        };
        base.port = bindings::PORT_OTHER as u8;
        base.autoneg = bindings::AUTONEG_DISABLE as u8;
        0
    }

    extern "C" fn get_channels(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) {
        // SAFETY: As in `get_drvinfo`.
        let (d, t) = unsafe { Self::get(dev) };
        let c = t.channels(d);
        // SAFETY: The core passes a valid structure to fill.
        let ch = unsafe { &mut *ch };
        ch.max_combined = c.max_combined;
        ch.combined_count = c.combined;
    }

    extern "C" fn set_channels(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) -> c_int {
        // SAFETY: As in `get_drvinfo`.
        let (d, t) = unsafe { Self::get(dev) };
        // SAFETY: The core passes a valid structure.
        let ch = unsafe { &*ch };
        let max = t.channels(d).max_combined;
        if ch.rx_count != 0 || ch.tx_count != 0 || ch.other_count != 0 {
            return EINVAL.to_errno();
        }
        if ch.combined_count == 0 || ch.combined_count > max {
            return EINVAL.to_errno();
        }
        match t.set_channels(d, ch.combined_count) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    extern "C" fn get_ringparam(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _kring: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) {
        // SAFETY: As in `get_drvinfo`.
        let (d, t) = unsafe { Self::get(dev) };
        let r = t.rings(d);
        // SAFETY: The core passes a valid structure to fill.
        let ring = unsafe { &mut *ring };
        ring.rx_max_pending = r.rx;
        ring.rx_pending = r.rx;
        ring.tx_max_pending = r.tx;
        ring.tx_pending = r.tx;
    }

    extern "C" fn get_sset_count(dev: *mut bindings::net_device, sset: c_int) -> c_int {
        // SAFETY: As in `get_drvinfo`.
        let (d, t) = unsafe { Self::get(dev) };
        if sset != bindings::ethtool_stringset_ETH_SS_STATS as c_int {
            return EINVAL.to_errno();
        }
        let n = u32::try_from(t.stats_count(d))
            .unwrap_or(0)
            .min(c_int::MAX as u32);
        // SAFETY: As in `get_drvinfo`: `dev` has our private area.
        unsafe { (*super::priv_stats_names::<T>(dev)).store(n, Relaxed) };
        n as c_int
    }

    extern "C" fn get_strings(dev: *mut bindings::net_device, sset: u32, data: *mut u8) {
        // SAFETY: As in `get_drvinfo`.
        let (d, t) = unsafe { Self::get(dev) };
        if sset != bindings::ethtool_stringset_ETH_SS_STATS {
            return;
        }
        // The core allocated names for the count `get_sset_count()` gave it last (under the
        // RTNL, as this call): not asked again here, as it may have changed.
        // SAFETY: As in `get_drvinfo`: `dev` has our private area.
        let n = unsafe { (*super::priv_stats_names::<T>(dev)).load(Relaxed) } as usize;
        // SAFETY: The core allocated `n` names of `ETH_GSTRING_LEN` bytes (above).
        let out = unsafe { core::slice::from_raw_parts_mut(data, n * GSTRING_LEN) };
        t.stats_names(d, &mut NamesWriter { out, next: 0 });
    }

    extern "C" fn get_ethtool_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_stats,
        data: *mut u64,
    ) {
        // SAFETY: As in `get_drvinfo`.
        let (d, t) = unsafe { Self::get(dev) };
        // SAFETY: The core passes the request it allocated `data` for: `n_stats` values, the
        // count `get_sset_count()` gave then (not asked again here: it may have changed).
        let n = unsafe { (*stats).n_stats } as usize;
        // SAFETY: `data` has room for `n` values (above).
        let out = unsafe { core::slice::from_raw_parts_mut(data, n) };
        t.stats(d, &mut StatsWriter { out, next: 0 });
    }

    /// The operations table of `T`.
    pub(super) fn ops() -> bindings::ethtool_ops {
        bindings::ethtool_ops {
            get_drvinfo: if T::HAS_DRVINFO {
                Some(Self::get_drvinfo)
            } else {
                None
            },
            get_link: Some(bindings::ethtool_op_get_link),
            get_link_ksettings: if T::HAS_LINK_SETTINGS {
                Some(Self::get_link_ksettings)
            } else {
                None
            },
            get_channels: if T::HAS_CHANNELS {
                Some(Self::get_channels)
            } else {
                None
            },
            set_channels: if T::HAS_CHANNELS && T::HAS_SET_CHANNELS {
                Some(Self::set_channels)
            } else {
                None
            },
            get_ringparam: if T::HAS_RINGS {
                Some(Self::get_ringparam)
            } else {
                None
            },
            get_sset_count: if T::HAS_STATS_COUNT {
                Some(Self::get_sset_count)
            } else {
                None
            },
            get_strings: if T::HAS_STATS_NAMES {
                Some(Self::get_strings)
            } else {
                None
            },
            get_ethtool_stats: if T::HAS_STATS {
                Some(Self::get_ethtool_stats)
            } else {
                None
            },
            ..Default::default()
        }
    }
}
