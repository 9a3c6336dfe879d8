// SPDX-License-Identifier: GPL-2.0

//! The driver: probe and device configuration. Receiving is in [`rx`], transmitting in [`tx`].

mod ctrl;
mod ethtool;
mod fault;
pub(crate) mod hdr;
mod rx;
mod tx;

use crate::{
    net::{
        self, features as nf, napi::Poll, DeviceOf, MacAddr, Polling, Rtnl, RxMode, RxQueueStats,
        SkBuff, Stats64, TxQueueLocked, TxQueueStats,
    },
    virtio::{self, QueueSpec},
};
use hdr::{feature, GuestOffloads, RxCaps, TxCaps, HDR_LEN};
use kernel::{
    device,
    prelude::*,
    str::CString,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc,
    },
};
use rx::{RxQueue, RxRing};
use tx::TxQueue;

/// The driver's name on the virtio bus.
pub(crate) const DRIVER_NAME: &CStr = c"rvirtio_net";

/// Virtio device id of network devices.
const VIRTIO_ID_NET: u32 = 1;

/// Offsets in the device configuration (`struct virtio_net_config`).
mod config {
    pub(super) const MAC: u32 = 0;
    pub(super) const STATUS: u32 = 6;
    pub(super) const MAX_VIRTQUEUE_PAIRS: u32 = 8;
    pub(super) const MTU: u32 = 10;
    pub(super) const SPEED: u32 = 12;
    pub(super) const DUPLEX: u32 = 16;
    /// `status`: the link is up.
    pub(super) const S_LINK_UP: u16 = 1;
}

/// Ethernet header and one VLAN tag.
const ETH_VLAN_HLEN: u32 = 14 + 4;
/// The smallest MTU of IPv4; a device reporting less is ignored (as upstream).
const MIN_MTU: u32 = 68;
/// How long to wait before refilling again when memory is still short (upstream: HZ/2).
const REFILL_RETRY_MS: u32 = 500;
/// The MTU without `F_MTU` and mergeable buffers.
const ETH_DATA_LEN: u32 = 1500;
/// The largest MTU with mergeable buffers, as upstream.
const MAX_MTU: u32 = 65535;

/// A virtio network device bound to the driver.
pub(crate) struct VirtNet<'bound> {
    netdev: net::Registration<NetPriv<'bound>>,
}

/// The network device's private data.
pub(crate) struct NetPriv<'bound> {
    rx: KVec<Pin<KBox<RxQueue<'bound>>>>,
    tx: KVec<Pin<KBox<TxQueue<'bound>>>>,
    rx_caps: RxCaps,
    ctrl: Pin<KBox<ctrl::Ctrl<'bound>>>,
    /// Multiqueue (`MQ`) was negotiated.
    mq: bool,
    /// Receive filtering (`CTRL_RX`), VLAN filtering (`CTRL_VLAN`) and address setting
    /// (`CTRL_MAC_ADDR`) by the control queue were negotiated.
    ctrl_rx: bool,
    ctrl_vlan: bool,
    ctrl_mac_addr: bool,
    /// Receive offloads switchable by the control queue (`CTRL_GUEST_OFFLOADS`).
    guest_offloads: Option<GuestOffloads>,
    /// The receive offloads the device was last told to use (`GUEST_OFFLOADS_SET` bits;
    /// changed under rtnl).
    curr_offloads: Atomic<u64>,
    /// Queue pairs in use (changed under rtnl).
    curr_pairs: Atomic<u32>,
    /// `virtio<index>`: the device on its bus.
    vdev_index: i32,
    /// Link speed in Mb/s and duplex from the configuration (`SPEED_DUPLEX`), `u32::MAX`
    /// when unknown.
    speed: Atomic<u32>,
    duplex: Atomic<u32>,
}

/// The names and callbacks of the queues of `pairs` queue pairs, and the control queue.
fn queue_specs(pairs: u16, ctrl: bool) -> Result<KVec<QueueSpec>> {
    let mut specs = KVec::with_capacity(usize::from(pairs) * 2 + 1, GFP_KERNEL)?;
    for i in 0..pairs {
        for dir in ["input", "output"] {
            specs.push(
                QueueSpec {
                    name: CString::try_from_fmt(fmt!("{dir}.{i}"))?,
                    callback: true,
                },
                GFP_KERNEL,
            )?;
        }
    }
    if ctrl {
        specs.push(
            QueueSpec {
                name: CString::try_from_fmt(fmt!("control"))?,
                callback: false,
            },
            GFP_KERNEL,
        )?;
    }
    Ok(specs)
}

/// Settings of a new device's private data.
struct Setup {
    pairs: u16,
    buf_len: u32,
    rx_caps: RxCaps,
    tx_caps: TxCaps,
    ctrl: bool,
    mq: bool,
    ctrl_rx: bool,
    ctrl_vlan: bool,
    ctrl_mac_addr: bool,
    guest_offloads: Option<GuestOffloads>,
    vdev_index: i32,
}

/// The receive ring of queue pair `i` from `vqs`, with the buffers `caps` asks for.
fn take_rx_ring<'a>(vqs: &mut virtio::Virtqueues<'a>, i: u16, caps: &RxCaps) -> Result<RxRing<'a>> {
    let q = usize::from(i) * 2;
    Ok(if caps.mergeable {
        RxRing::Mergeable(vqs.take(q)?)
    } else if caps.big() {
        RxRing::Big(vqs.take(q)?)
    } else {
        RxRing::Small(vqs.take(q)?)
    })
}

impl<'bound> NetPriv<'bound> {
    fn new(
        dev: &DeviceOf<NetPriv<'bound>>,
        mut vqs: virtio::Virtqueues<'bound>,
        s: &Setup,
        inject: &Arc<fault::TxInject>,
    ) -> Result<Self> {
        let (pairs, buf_len, rx_caps, tx_caps) = (s.pairs, s.buf_len, s.rx_caps, s.tx_caps);
        let mut rx = KVec::with_capacity(pairs.into(), GFP_KERNEL)?;
        let mut tx = KVec::with_capacity(pairs.into(), GFP_KERNEL)?;
        for i in 0..pairs {
            let q = usize::from(i) * 2;
            let ring = take_rx_ring(&mut vqs, i, &rx_caps)?;
            rx.push(
                KBox::pin_init(RxQueue::new(dev, i, ring, buf_len), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
            tx.push(
                KBox::pin_init(
                    TxQueue::new(dev, i, vqs.take(q + 1)?, tx_caps, inject.clone()),
                    GFP_KERNEL,
                )?,
                GFP_KERNEL,
            )?;
        }
        let ctrl_vq = if s.ctrl {
            Some(vqs.take(usize::from(pairs) * 2)?)
        } else {
            None
        };
        Ok(Self {
            rx,
            tx,
            rx_caps,
            ctrl: KBox::pin_init(ctrl::Ctrl::new(ctrl_vq, inject.clone()), GFP_KERNEL)?,
            mq: s.mq,
            ctrl_rx: s.ctrl_rx,
            ctrl_vlan: s.ctrl_vlan,
            ctrl_mac_addr: s.ctrl_mac_addr,
            guest_offloads: s.guest_offloads,
            curr_offloads: Atomic::new(s.guest_offloads.map_or(0, |g| g.capable)),
            curr_pairs: Atomic::new(1),
            vdev_index: s.vdev_index,
            speed: Atomic::new(u32::MAX),
            duplex: Atomic::new(u32::MAX),
        })
    }

    /// Uses `n` queue pairs: tells the device (with `MQ`) and the stack. Under rtnl, or before
    /// registration.
    fn set_pairs(&self, dev: &net::Device, n: u32) -> Result {
        if self.mq {
            let pairs = u16::try_from(n)?;
            self.ctrl.send(
                ctrl::cmd::CLASS_MQ,
                ctrl::cmd::MQ_VQ_PAIRS_SET,
                &pairs.to_le_bytes(),
            )?;
        }
        dev.set_real_num_queues(n)?;
        self.curr_pairs.store(n, Relaxed);
        Ok(())
    }

    /// Tells the device to use the receive offloads `offloads` (`GUEST_OFFLOADS_SET` bits).
    /// Under rtnl.
    fn set_guest_offloads(&self, dev: &net::Device, offloads: u64) -> Result {
        self.ctrl
            .send(
                ctrl::cmd::CLASS_GUEST_OFFLOADS,
                ctrl::cmd::GUEST_OFFLOADS_SET,
                &GuestOffloads::command(offloads),
            )
            .inspect_err(|e| {
                dev_err!(
                    dev.as_ref(),
                    "failed to set the receive offloads to {:#x}: {:?}\n",
                    offloads,
                    e
                )
            })?;
        self.curr_offloads.store(offloads, Relaxed);
        Ok(())
    }

    /// Stops using the queues and drops them, which resets the device. The caller holds the
    /// rtnl lock and has detached the device.
    fn quiesce(&self, dev: &net::Device) {
        if dev.is_running() {
            self.napi_disable_all();
        }
        for rq in &self.rx {
            drop(rq.take_ring());
        }
        for tq in &self.tx {
            tq.drop_ring(dev);
        }
        self.ctrl.replace_queue(None);
    }

    /// Uses the new queues `vqs` after a reset. The caller holds the rtnl lock.
    fn resume(&self, dev: &net::Device, mut vqs: virtio::Virtqueues<'bound>) -> Result {
        for (i, (rq, tq)) in self.rx.iter().zip(self.tx.iter()).enumerate() {
            let i = u16::try_from(i)?;
            rq.set_ring(take_rx_ring(&mut vqs, i, &self.rx_caps)?);
            tq.set_ring(dev, vqs.take(usize::from(i) * 2 + 1)?)?;
        }
        let pairs = self.rx.len();
        if let Ok(cvq) = vqs.take(pairs * 2) {
            self.ctrl.replace_queue(Some(cvq));
        }
        if dev.is_running() {
            self.open_all(dev);
        }
        // The reset set the device back to one queue pair, and to all the receive offloads
        // negotiated. A failure to switch some off again leaves the stack's view wrong but
        // packets flowing: the receive path takes what the features allow.
        let curr = self.curr_pairs.load(Relaxed);
        if self.mq && curr > 1 {
            self.set_pairs(dev, curr)?;
        }
        if let Some(g) = self.guest_offloads {
            let offloads = self.curr_offloads.load(Relaxed);
            if offloads != g.capable {
                self.curr_offloads.store(g.capable, Relaxed);
                let _ = self.set_guest_offloads(dev, offloads);
            }
        }
        Ok(())
    }

    fn open_all(&self, dev: &net::Device) {
        for rq in &self.rx {
            rq.open(dev);
        }
        for tq in &self.tx {
            tq.open();
        }
    }

    fn napi_disable_all(&self) {
        for rq in &self.rx {
            rq.close();
        }
        for tq in &self.tx {
            tq.close();
        }
    }

    /// Queue `index` of the device had used buffers.
    fn vq_interrupt(&self, index: u32) {
        let q = (index / 2) as usize;
        let napi = if index % 2 == 0 {
            self.rx.get(q).map(|r| r.napi())
        } else {
            self.tx.get(q).map(|t| t.napi())
        };
        if let Some(napi) = napi {
            napi.schedule();
        }
    }
}

/// The `MAC_TABLE_SET` data: unicast then multicast, each a `le32` count and the addresses.
fn mac_table(uc: &[MacAddr], mc: &[MacAddr]) -> Result<KVec<u8>> {
    let mut v = KVec::with_capacity(8 + (uc.len() + mc.len()) * net::ETH_ALEN, GFP_KERNEL)?;
    for list in [uc, mc] {
        v.extend_from_slice(&u32::try_from(list.len())?.to_le_bytes(), GFP_KERNEL)?;
        for a in list {
            v.extend_from_slice(a, GFP_KERNEL)?;
        }
    }
    Ok(v)
}

#[vtable]
impl net::Operations for NetPriv<'_> {
    fn open(&self, dev: &net::Device) -> Result {
        self.open_all(dev);
        Ok(())
    }

    fn stop(&self, _dev: &net::Device) -> Result {
        self.napi_disable_all();
        Ok(())
    }

    // Inlined into the stack's entry point (`net::Adapter`): one call less per packet.
    #[inline]
    fn start_xmit(&self, dev: &net::Device, skb: SkBuff, txq: &mut TxQueueLocked<'_>) {
        match self.tx.get(usize::from(txq.index())) {
            Some(tq) => tq.xmit(dev, txq, skb),
            // The stack only uses the queues the device has.
            None => drop(skb),
        }
    }

    fn set_rx_mode(&self, dev: &net::Device, mode: &RxMode) {
        if !self.ctrl_rx {
            return;
        }
        let on = |b: bool| [u8::from(b)];
        let flags = [
            (
                ctrl::cmd::RX_PROMISC,
                mode.promisc || mode.uc_overflow,
                "promiscuous",
            ),
            (
                ctrl::cmd::RX_ALLMULTI,
                mode.allmulti || mode.mc_overflow,
                "allmulti",
            ),
        ];
        for (cmd, v, what) in flags {
            if let Err(e) = self.ctrl.send(ctrl::cmd::CLASS_RX, cmd, &on(v)) {
                dev_warn!(dev.as_ref(), "failed to set {} mode {}: {:?}\n", what, v, e);
            }
        }
        let table = mac_table(&mode.uc, &mode.mc).and_then(|t| {
            self.ctrl
                .send(ctrl::cmd::CLASS_MAC, ctrl::cmd::MAC_TABLE_SET, &t)
        });
        if let Err(e) = table {
            dev_warn!(dev.as_ref(), "failed to set the MAC filter: {:?}\n", e);
        }
    }

    fn set_mac_address(&self, _dev: &net::Device, addr: &MacAddr) -> Result {
        if self.ctrl_mac_addr {
            self.ctrl
                .send(ctrl::cmd::CLASS_MAC, ctrl::cmd::MAC_ADDR_SET, addr)?;
        }
        Ok(())
    }

    fn set_features(&self, dev: &net::Device, features: u64) -> Result {
        if (dev.features() ^ features) & nf::GRO_HW != 0 {
            // Only offered (in `hw_features`) with the control of the device's offloads.
            let g = self.guest_offloads.ok_or(EINVAL)?;
            self.set_guest_offloads(dev, g.with_gro_hw(features & nf::GRO_HW != 0))?;
        }
        Ok(())
    }

    fn tx_timeout(&self, dev: &net::Device, index: u16) {
        let Some(tq) = self.tx.get(usize::from(index)) else {
            return;
        };
        match tq.timeout(dev) {
            Some((status, size, held)) => {
                let broken = status != u8::MAX
                    && status & (virtio::status::NEEDS_RESET | virtio::status::FAILED) != 0;
                dev_warn!(
                    dev.as_ref(),
                    "transmit timeout on queue {}: {} of {} buffers held by the device, device status {:#04x}{}\n",
                    index,
                    held,
                    size,
                    status,
                    if broken { " (the device needs a reset)" } else { "" }
                );
            }
            None => dev_warn!(
                dev.as_ref(),
                "transmit timeout on queue {} (no ring)\n",
                index
            ),
        }
    }

    fn vlan_add(&self, _dev: &net::Device, vid: u16) -> Result {
        if !self.ctrl_vlan {
            return Ok(());
        }
        self.ctrl.send(
            ctrl::cmd::CLASS_VLAN,
            ctrl::cmd::VLAN_ADD,
            &vid.to_le_bytes(),
        )
    }

    fn vlan_del(&self, _dev: &net::Device, vid: u16) -> Result {
        if !self.ctrl_vlan {
            return Ok(());
        }
        self.ctrl.send(
            ctrl::cmd::CLASS_VLAN,
            ctrl::cmd::VLAN_DEL,
            &vid.to_le_bytes(),
        )
    }

    fn deferred_work(&self, dev: &net::Device) {
        let mut still_short = false;
        for rq in &self.rx {
            still_short |= !rq.refill_deferred(dev);
        }
        if still_short {
            dev.schedule_deferred(REFILL_RETRY_MS);
        }
    }

    fn get_stats64(&self, _dev: &net::Device, stats: &mut Stats64) {
        for rq in &self.rx {
            rq.add_stats(stats);
        }
        for tq in &self.tx {
            tq.add_stats(stats);
        }
    }

    fn queue_stats_rx(&self, _dev: &net::Device, index: u32) -> RxQueueStats {
        self.rx
            .get(index as usize)
            .map_or_else(RxQueueStats::default, |q| q.queue_stats())
    }

    fn queue_stats_tx(&self, _dev: &net::Device, index: u32) -> TxQueueStats {
        self.tx
            .get(index as usize)
            .map_or_else(TxQueueStats::default, |q| q.queue_stats())
    }

    fn base_stats(&self, dev: &net::Device) -> (RxQueueStats, TxQueueStats) {
        // Every queue's counters live as long as the device and are never reset: the base is
        // what the queues out of use counted, so that base and active queues add up to what
        // `get_stats64` reports (all queues).
        let mut rx = RxQueueStats {
            packets: Some(0),
            bytes: Some(0),
            alloc_fail: Some(0),
        };
        let mut tx = TxQueueStats {
            packets: Some(0),
            bytes: Some(0),
            stop: Some(0),
            wake: Some(0),
        };
        for q in self.rx.iter().skip(dev.real_num_rx_queues() as usize) {
            rx.add(&q.queue_stats());
        }
        for q in self.tx.iter().skip(dev.real_num_tx_queues() as usize) {
            tx.add(&q.queue_stats());
        }
        (rx, tx)
    }
}

impl Poll for NetPriv<'_> {
    fn poll(&self, napi: &Polling<'_>, budget: u32) -> u32 {
        // NAPI ids are the ids of their virtqueues: even ones receive, odd ones transmit.
        let q = (napi.id() / 2) as usize;
        if napi.id() % 2 == 0 {
            if let Some(tq) = self.tx.get(q) {
                tq.clean(napi.device(), budget);
            }
            self.rx.get(q).map_or(0, |rq| rq.poll(napi, budget))
        } else {
            self.tx.get(q).map_or(0, |tq| tq.poll(napi, budget))
        }
    }
}

impl<'bound> VirtNet<'bound> {
    fn new(vdev: &'bound virtio::Device) -> Result<Self> {
        let dev: &device::Device = vdev.as_ref();
        // `validate` withdrew F_MTU if the device's MTU is below the minimum.
        let mtu = vdev
            .has_feature(feature::MTU)
            .then(|| u32::from(vdev.read_config_u16(config::MTU)));
        let rx_caps = RxCaps::from_features(|b| vdev.has_feature(b));
        // Mergeable and big buffers take packets of any size; small buffers are sized for the
        // MTU.
        let max_mtu = match mtu {
            Some(mtu) => mtu,
            None if rx_caps.mergeable || rx_caps.big() => MAX_MTU,
            None => ETH_DATA_LEN,
        };
        let buf_len = HDR_LEN as u32 + ETH_VLAN_HLEN + max_mtu;
        let tx_caps = TxCaps::from_features(|b| vdev.has_feature(b));

        let ctrl = vdev.has_feature(feature::CTRL_VQ);
        let mq = vdev.has_feature(feature::MQ);
        let pairs = hdr::max_pairs(mq.then(|| vdev.read_config_u16(config::MAX_VIRTQUEUE_PAIRS)));
        let vqs = vdev.find_vqs(queue_specs(pairs, ctrl)?)?;
        let inject = fault::TxInject::new(vdev.index())?;
        let setup = Setup {
            pairs,
            buf_len,
            rx_caps,
            tx_caps,
            ctrl,
            mq,
            ctrl_rx: vdev.has_feature(feature::CTRL_RX),
            ctrl_vlan: vdev.has_feature(feature::CTRL_VLAN),
            ctrl_mac_addr: vdev.has_feature(feature::CTRL_MAC_ADDR),
            guest_offloads: GuestOffloads::from_features(|b| vdev.has_feature(b)),
            vdev_index: vdev.index(),
        };
        let netdev = net::Registration::new(dev, pairs.into(), pairs.into(), |d| {
            NetPriv::new(d, vqs, &setup, &inject)
        })?;

        let nd = netdev.device();
        let mut mac = [0u8; net::ETH_ALEN];
        if vdev.has_feature(feature::MAC) {
            vdev.read_config(config::MAC, &mut mac);
        }
        if net::is_valid_ether_addr(&mac) {
            nd.set_addr(&mac);
        } else {
            nd.set_random_addr();
        }
        nd.set_mtu_range(MIN_MTU, max_mtu);
        // Room for our header in front of the packets the stack builds: then transmit puts it
        // there, and a linear packet is one descriptor. 12 bytes: the cast cannot truncate.
        nd.set_needed_headroom(HDR_LEN as u16);
        if let Some(mtu) = mtu {
            nd.set_mtu(mtu);
        }
        let vlan = if setup.ctrl_vlan {
            nf::HW_VLAN_CTAG_FILTER
        } else {
            0
        };
        nd.set_features(
            hw_features(&tx_caps, setup.guest_offloads.as_ref()),
            active_features(&tx_caps, &rx_caps) | vlan,
        );
        if setup.ctrl_rx {
            netdev.set_unicast_filter();
        }
        // One pair until the device is ready for commands (see `ready`).
        nd.set_real_num_queues(1)?;
        nd.carrier_off();

        let this = Self { netdev };
        this.update_link(vdev);
        Ok(this)
    }

    /// Before a reset: carrier off, device detached, queues dropped (resetting the device).
    fn freeze_down(&self) {
        let nd = self.netdev.device();
        let _rtnl = Rtnl::lock();
        nd.carrier_off();
        nd.detach();
        self.netdev.data().quiesce(nd);
    }

    /// After a reset: new queues, refilled and polled if the interface is up, device attached,
    /// carrier from the link status. The interface keeps its name, addresses and settings.
    fn restore_up(&self, vdev: &'bound virtio::Device) -> Result {
        let nd = self.netdev.device();
        let pairs = u16::try_from(self.netdev.data().rx.len())?;
        let vqs = vdev.find_vqs(queue_specs(pairs, vdev.has_feature(feature::CTRL_VQ))?)?;
        // The receive queues are filled and kicked, and commands sent, next: the device must be
        // live first (virtio 1.2, 3.1.1; upstream's `virtnet_restore_up` does the same).
        vdev.set_ready();
        {
            let _rtnl = Rtnl::lock();
            self.netdev.data().resume(nd, vqs)?;
            nd.attach();
        }
        // The reset forgot the filters and the address.
        let p = self.netdev.data();
        if p.ctrl_mac_addr {
            if let Err(e) = p
                .ctrl
                .send(ctrl::cmd::CLASS_MAC, ctrl::cmd::MAC_ADDR_SET, &nd.addr())
            {
                dev_warn!(vdev.as_ref(), "failed to set the address again: {:?}\n", e);
            }
        }
        self.netdev.refresh_rx_mode();
        self.update_link(vdev);
        Ok(())
    }

    /// Sets the carrier from the device's link status (always up without `F_STATUS`), and
    /// reads the speed and duplex (`SPEED_DUPLEX`).
    fn update_link(&self, vdev: &virtio::Device) {
        let up = !vdev.has_feature(feature::STATUS)
            || vdev.read_config_u16(config::STATUS) & config::S_LINK_UP != 0;
        if vdev.has_feature(feature::SPEED_DUPLEX) {
            let mut duplex = [0u8; 1];
            vdev.read_config(config::DUPLEX, &mut duplex);
            let p = self.netdev.data();
            p.speed.store(vdev.read_config_u32(config::SPEED), Relaxed);
            p.duplex.store(u32::from(duplex[0]), Relaxed);
        }
        let nd = self.netdev.device();
        if up {
            nd.carrier_on();
        } else {
            nd.carrier_off();
        }
    }
}

/// The offloads `ethtool -K` can toggle: those of transmit, which only the stack uses, and
/// receive coalescing by the device when the device can be told to stop it.
fn hw_features(tx: &TxCaps, rx: Option<&GuestOffloads>) -> u64 {
    let mut f = 0;
    if rx.is_some_and(|g| g.gro_hw) {
        f |= nf::GRO_HW;
    }
    if tx.csum {
        f |= nf::SG | nf::HW_CSUM;
    }
    if tx.tso4 {
        f |= nf::TSO;
    }
    if tx.tso6 {
        f |= nf::TSO6;
    }
    if tx.ecn {
        f |= nf::TSO_ECN;
    }
    f
}

/// The offloads on at probe: all of transmit, receive checksums when the device checks them
/// (they cannot be turned off on the device), and receive coalescing (GSO packets) when the
/// device does it, as it does after negotiation.
fn active_features(tx: &TxCaps, rx: &RxCaps) -> u64 {
    let mut f = hw_features(tx, None) | nf::HIGHDMA;
    if rx.csum {
        f |= nf::RXCSUM;
    }
    if rx.gso {
        f |= nf::GRO_HW;
    }
    f
}

/// The driver: binds virtio network devices, with a [`VirtNet`] as the data of each.
pub(crate) struct VirtNetDriver;

#[vtable]
impl virtio::Driver for VirtNetDriver {
    type Data<'bound> = VirtNet<'bound>;

    const DEVICE_ID: u32 = VIRTIO_ID_NET;
    const FEATURES: &'static [u32] = &hdr::DRIVER_FEATURES;

    fn validate(vdev: &virtio::Device, features: &mut virtio::Features<'_>) -> Result {
        if let Some(bit) = hdr::missing_ctrl_vq(|b| features.has(b)) {
            dev_err!(
                vdev.as_ref(),
                "device offers feature {bit} without the control queue it needs\n"
            );
            return Err(EINVAL);
        }
        // As upstream: an MTU the stack cannot use is ignored, and the device told so.
        if features.has(feature::MTU) {
            let mtu = u32::from(vdev.read_config_u16(config::MTU));
            if mtu < MIN_MTU {
                dev_warn!(
                    vdev.as_ref(),
                    "ignoring the device's MTU {mtu}, below {MIN_MTU}\n"
                );
                features.clear(feature::MTU);
            }
        }
        for &bit in hdr::withdrawn_without_ctrl_vq(|b| features.has(b)) {
            features.clear(bit);
        }
        Ok(())
    }

    fn probe<'bound>(
        vdev: &'bound virtio::Device,
    ) -> impl PinInit<VirtNet<'bound>, Error> + 'bound {
        VirtNet::new(vdev)
    }

    /// Registers the interface now that the device is ready, under the lock that opening it
    /// takes: nothing fills or kicks a queue before DRIVER_OK (virtio 1.2, 3.1.1), and the
    /// queue pairs are set before anyone can use them (as upstream's `virtnet_probe`).
    fn ready<'bound>(vdev: &'bound virtio::Device, this: &VirtNet<'bound>) -> Result {
        let p = this.netdev.data();
        let nd = this.netdev.device();
        let pairs = p.rx.len();
        let want = (pairs as u32).min(net::num_online_cpus()).max(1);
        {
            let rtnl = Rtnl::lock();
            this.netdev.register(&rtnl)?;
            if want > 1 {
                if let Err(e) = p.set_pairs(nd, want) {
                    dev_warn!(vdev.as_ref(), "using one queue pair: {:?}\n", e);
                }
            }
        }
        dev_info!(
            vdev.as_ref(),
            "{}: {} queue pair(s), MTU {}\n",
            nd.name(),
            pairs,
            nd.mtu()
        );
        Ok(())
    }

    fn vq_interrupt(this: &VirtNet<'_>, index: u32) {
        this.netdev.data().vq_interrupt(index);
    }

    fn config_changed<'bound>(vdev: &'bound virtio::Device, this: &VirtNet<'bound>) {
        this.update_link(vdev);
    }

    fn freeze<'bound>(_vdev: &'bound virtio::Device, this: &VirtNet<'bound>) -> Result {
        this.freeze_down();
        Ok(())
    }

    fn restore<'bound>(vdev: &'bound virtio::Device, this: &VirtNet<'bound>) -> Result {
        this.restore_up(vdev)
    }

    fn reset_prepare<'bound>(_vdev: &'bound virtio::Device, this: &VirtNet<'bound>) -> Result {
        this.freeze_down();
        Ok(())
    }

    fn reset_done<'bound>(vdev: &'bound virtio::Device, this: &VirtNet<'bound>) -> Result {
        this.restore_up(vdev)
    }
}
