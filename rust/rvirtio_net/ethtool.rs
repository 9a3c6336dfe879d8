// SPDX-License-Identifier: GPL-2.0

//! Ethtool: driver information, link settings, channels, rings and per-queue statistics.

use super::{NetPriv, DRIVER_NAME};
use crate::net::{
    self,
    ethtool::{Channels, DrvInfo, Ethtool, LinkSettings, NamesWriter, Rings, StatsWriter},
};
use kernel::{prelude::*, str::CString, sync::atomic::Relaxed};

/// Per-queue statistics, by name: receive queues, then transmit queues.
const RX_STATS: [&str; 6] = [
    "packets",
    "bytes",
    "drops",
    "errors",
    "empty",
    "deferred_refills",
];
const TX_STATS: [&str; 6] = ["packets", "bytes", "dropped", "stop", "wake", "timeouts"];
/// The control queue's statistics, after the queues' (see `Ctrl::stat_values`).
const CTRL_STATS: [&str; 2] = ["ctrl_timeouts", "ctrl_stale_answers"];

#[vtable]
impl Ethtool for NetPriv<'_> {
    fn drvinfo(&self, _dev: &net::Device, info: &mut DrvInfo<'_>) {
        info.set_driver(DRIVER_NAME);
        if let Ok(bus) = CString::try_from_fmt(fmt!("virtio{}", self.vdev_index)) {
            info.set_bus_info(&bus);
        }
    }

    fn link_settings(&self, _dev: &net::Device) -> LinkSettings {
        let speed = self.speed.load(Relaxed);
        let duplex = self.duplex.load(Relaxed);
        LinkSettings {
            speed: (speed != u32::MAX).then_some(speed),
            full_duplex: match duplex {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            },
        }
    }

    fn channels(&self, _dev: &net::Device) -> Channels {
        Channels {
            max_combined: self.rx.len() as u32,
            combined: self.curr_pairs.load(Relaxed),
        }
    }

    fn set_channels(&self, dev: &net::Device, combined: u32) -> Result {
        if !self.mq {
            return Err(EINVAL);
        }
        self.set_pairs(dev, combined)
    }

    fn rings(&self, dev: &net::Device) -> Rings {
        Rings {
            rx: self.rx.first().map_or(0, |q| q.ring_size()),
            tx: self.tx.first().map_or(0, |q| q.ring_size(dev)),
        }
    }

    fn stats_count(&self, _dev: &net::Device) -> usize {
        self.rx.len() * RX_STATS.len() + self.tx.len() * TX_STATS.len() + CTRL_STATS.len()
    }

    fn stats_names(&self, _dev: &net::Device, out: &mut NamesWriter<'_>) {
        for i in 0..self.rx.len() {
            for name in RX_STATS {
                out.push(format_args!("rx{i}_{name}"));
            }
        }
        for i in 0..self.tx.len() {
            for name in TX_STATS {
                out.push(format_args!("tx{i}_{name}"));
            }
        }
        for name in CTRL_STATS {
            out.push(format_args!("{name}"));
        }
    }

    fn stats(&self, _dev: &net::Device, out: &mut StatsWriter<'_>) {
        for q in &self.rx {
            for v in q.stat_values() {
                out.push(v);
            }
        }
        for q in &self.tx {
            for v in q.stat_values() {
                out.push(v);
            }
        }
        for v in self.ctrl.stat_values() {
            out.push(v);
        }
    }
}
