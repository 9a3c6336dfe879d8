// SPDX-License-Identifier: GPL-2.0

//! The virtio-net header (virtio 1.2, 5.1.6) and the offload rules of the negotiated
//! features: plain Rust without FFI, also built and tested on the host.

/// Size of the header with VERSION_1 (`struct virtio_net_hdr_v1`): every buffer starts with
/// it, transmit and receive, mergeable or not.
pub(crate) const HDR_LEN: usize = 12;

/// `flags`: the device must compute the checksum from `csum_start`, at `csum_offset`.
pub(crate) const F_NEEDS_CSUM: u8 = 1;

/// `gso_type` values.
pub(crate) mod gso {
    /// Not segmented.
    pub(crate) const NONE: u8 = 0;
    /// TCP over IPv4.
    pub(crate) const TCPV4: u8 = 1;
    /// TCP over IPv6.
    pub(crate) const TCPV6: u8 = 4;
    /// Flag: the packet has ECN's CWR set.
    pub(crate) const ECN: u8 = 0x80;
}

/// Feature bits of network devices (virtio 1.2, 5.1.3).
pub(crate) mod feature {
    /// The device computes transmit checksums.
    pub(crate) const CSUM: u32 = 0;
    /// The driver accepts packets with unchecked (partial) checksums.
    pub(crate) const GUEST_CSUM: u32 = 1;
    /// The receive offloads (`GUEST_*`) can be switched by the control queue.
    pub(crate) const CTRL_GUEST_OFFLOADS: u32 = 2;
    /// The device reports its maximum MTU.
    pub(crate) const MTU: u32 = 3;
    /// The device has a MAC address.
    pub(crate) const MAC: u32 = 5;
    /// The driver accepts TCPv4 GSO packets.
    pub(crate) const GUEST_TSO4: u32 = 7;
    /// The driver accepts TCPv6 GSO packets.
    pub(crate) const GUEST_TSO6: u32 = 8;
    /// The driver accepts GSO packets with ECN.
    pub(crate) const GUEST_ECN: u32 = 9;
    /// The driver accepts UDP fragmentation offload packets (never negotiated here).
    pub(crate) const GUEST_UFO: u32 = 10;
    /// The device segments TCPv4.
    pub(crate) const HOST_TSO4: u32 = 11;
    /// The device segments TCPv6.
    pub(crate) const HOST_TSO6: u32 = 12;
    /// The device segments with ECN.
    pub(crate) const HOST_ECN: u32 = 13;
    /// Receive packets may span several buffers (`num_buffers`).
    pub(crate) const MRG_RXBUF: u32 = 15;
    /// The configuration has a link status.
    pub(crate) const STATUS: u32 = 16;
    /// The device has a control queue.
    pub(crate) const CTRL_VQ: u32 = 17;
    /// Receive filtering by the control queue.
    pub(crate) const CTRL_RX: u32 = 18;
    /// VLAN filtering by the control queue.
    pub(crate) const CTRL_VLAN: u32 = 19;
    /// The driver can announce itself (gratuitous ARP) on request.
    pub(crate) const GUEST_ANNOUNCE: u32 = 21;
    /// Several queue pairs, steered automatically.
    pub(crate) const MQ: u32 = 22;
    /// The MAC address can be set by the control queue.
    pub(crate) const CTRL_MAC_ADDR: u32 = 23;
    /// The driver accepts UDP segmentation offload packets over IPv4 (never negotiated here).
    pub(crate) const GUEST_USO4: u32 = 54;
    /// The same over IPv6 (never negotiated here).
    pub(crate) const GUEST_USO6: u32 = 55;
    /// The configuration has the link speed and duplex.
    pub(crate) const SPEED_DUPLEX: u32 = 63;
}

/// The features the driver asks for. After negotiation only these may be looked up: the virtio
/// core treats a look-up of another device feature as a driver bug (`BUG()`).
pub(crate) const DRIVER_FEATURES: [u32; 19] = [
    feature::CSUM,
    feature::GUEST_CSUM,
    feature::CTRL_GUEST_OFFLOADS,
    feature::MTU,
    feature::MAC,
    feature::GUEST_TSO4,
    feature::GUEST_TSO6,
    feature::GUEST_ECN,
    feature::HOST_TSO4,
    feature::HOST_TSO6,
    feature::HOST_ECN,
    feature::MRG_RXBUF,
    feature::STATUS,
    feature::CTRL_VQ,
    feature::CTRL_RX,
    feature::CTRL_VLAN,
    feature::MQ,
    feature::CTRL_MAC_ADDR,
    feature::SPEED_DUPLEX,
];

/// Features that only work through the control queue (virtio 1.2, 5.1.3.1).
const NEED_CTRL_VQ: [u32; 5] = [
    feature::CTRL_RX,
    feature::CTRL_VLAN,
    feature::GUEST_ANNOUNCE,
    feature::MQ,
    feature::CTRL_MAC_ADDR,
];

/// A feature the device offers without the control queue it needs, if any: such a device is
/// refused, as upstream does.
pub(crate) fn missing_ctrl_vq(has: impl Fn(u32) -> bool) -> Option<u32> {
    if has(feature::CTRL_VQ) {
        return None;
    }
    NEED_CTRL_VQ.iter().copied().find(|&f| has(f))
}

/// Features to withdraw before negotiation completes because the control queue they work
/// through is missing. The spec does not tie `CTRL_GUEST_OFFLOADS` to `CTRL_VQ` as it does
/// the features of [`missing_ctrl_vq`], so such a device is not refused: it keeps its
/// receive offloads on, as it would without the feature.
pub(crate) fn withdrawn_without_ctrl_vq(has: impl Fn(u32) -> bool) -> &'static [u32] {
    if !has(feature::CTRL_VQ) && has(feature::CTRL_GUEST_OFFLOADS) {
        &[feature::CTRL_GUEST_OFFLOADS]
    } else {
        &[]
    }
}

/// The fewest and most queue pairs a device may report (`max_virtqueue_pairs`).
pub(crate) const MQ_PAIRS_MIN: u16 = 1;
/// See [`MQ_PAIRS_MIN`].
pub(crate) const MQ_PAIRS_MAX: u16 = 0x8000;
/// The most queue pairs this driver sets up, whatever the device has.
pub(crate) const DRIVER_PAIRS_MAX: u16 = 16;

/// The queue pairs to set up for a device reporting `reported` (`None` without `MQ`):
/// one if the value is out of the spec's range, as upstream does, and at most
/// [`DRIVER_PAIRS_MAX`].
pub(crate) fn max_pairs(reported: Option<u16>) -> u16 {
    match reported {
        Some(n) if (MQ_PAIRS_MIN..=MQ_PAIRS_MAX).contains(&n) => n.min(DRIVER_PAIRS_MAX),
        _ => 1,
    }
}

/// What the device does for transmitted packets, from the negotiated features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TxCaps {
    /// Checksums (`CSUM`).
    pub(crate) csum: bool,
    /// TCPv4 segmentation (`HOST_TSO4`, with `CSUM`).
    pub(crate) tso4: bool,
    /// TCPv6 segmentation (`HOST_TSO6`, with `CSUM`).
    pub(crate) tso6: bool,
    /// Segmentation with ECN (`HOST_ECN`, with a TSO).
    pub(crate) ecn: bool,
}

impl TxCaps {
    /// The capabilities `has` (feature bit -> negotiated) gives. Segmentation needs checksums,
    /// as upstream virtio_net requires.
    pub(crate) fn from_features(has: impl Fn(u32) -> bool) -> Self {
        let csum = has(feature::CSUM);
        let tso4 = csum && has(feature::HOST_TSO4);
        let tso6 = csum && has(feature::HOST_TSO6);
        Self {
            csum,
            tso4,
            tso6,
            ecn: (tso4 || tso6) && has(feature::HOST_ECN),
        }
    }
}

/// What the driver accepts from the device, from the negotiated features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RxCaps {
    /// Partial checksums (`GUEST_CSUM`).
    pub(crate) csum: bool,
    /// GSO packets (`GUEST_TSO4`/`GUEST_TSO6`, with `GUEST_CSUM`).
    pub(crate) gso: bool,
    /// Packets spanning several buffers (`MRG_RXBUF`).
    pub(crate) mergeable: bool,
}

impl RxCaps {
    /// The capabilities `has` gives.
    pub(crate) fn from_features(has: impl Fn(u32) -> bool) -> Self {
        let csum = has(feature::GUEST_CSUM);
        let mergeable = has(feature::MRG_RXBUF);
        Self {
            csum,
            gso: csum && (has(feature::GUEST_TSO4) || has(feature::GUEST_TSO6)),
            mergeable,
        }
    }

    /// Whether each receive buffer must hold the largest packet: GSO packets without
    /// mergeable buffers ("big packets").
    pub(crate) fn big(&self) -> bool {
        self.gso && !self.mergeable
    }
}

/// The receive offloads (`GUEST_*` features) this driver negotiates, which the
/// `GUEST_OFFLOADS_SET` command takes as a bit per feature, at the feature's number. UFO and
/// USO are not negotiated, so not looked up (see [`DRIVER_FEATURES`]).
const GUEST_OFFLOADS: [u32; 4] = [
    feature::GUEST_CSUM,
    feature::GUEST_TSO4,
    feature::GUEST_TSO6,
    feature::GUEST_ECN,
];

/// The receive offloads by which the device hands over coalesced packets, several segments
/// in one: what `rx-gro-hw` switches. Checksums stay on without them.
pub(crate) const GRO_HW_OFFLOADS: u64 = 1 << feature::GUEST_TSO4
    | 1 << feature::GUEST_TSO6
    | 1 << feature::GUEST_ECN
    | 1 << feature::GUEST_UFO
    | 1 << feature::GUEST_USO4
    | 1 << feature::GUEST_USO6;

/// Receive offloads the driver can switch on the device at run time (`CTRL_GUEST_OFFLOADS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct GuestOffloads {
    /// The negotiated receive offloads, as `GUEST_OFFLOADS_SET` bits: what the device does
    /// after negotiation (and after a reset), and the most it may be told to do.
    pub(crate) capable: u64,
    /// `rx-gro-hw` can be switched: the device coalesces packets and the driver takes them
    /// ([`RxCaps::gso`]).
    pub(crate) gro_hw: bool,
}

impl GuestOffloads {
    /// The offloads `has` gives; `None` unless the device takes `GUEST_OFFLOADS_SET`
    /// (`CTRL_GUEST_OFFLOADS`, through the control queue).
    pub(crate) fn from_features(has: impl Fn(u32) -> bool) -> Option<Self> {
        if !has(feature::CTRL_GUEST_OFFLOADS) || !has(feature::CTRL_VQ) {
            return None;
        }
        let capable = GUEST_OFFLOADS
            .iter()
            .filter(|&&f| has(f))
            .fold(0, |m, &f| m | 1 << f);
        Some(Self {
            capable,
            gro_hw: RxCaps::from_features(&has).gso,
        })
    }

    /// The `GUEST_OFFLOADS_SET` value with `rx-gro-hw` on or off: every negotiated offload,
    /// or all but those that coalesce.
    pub(crate) fn with_gro_hw(&self, on: bool) -> u64 {
        if on {
            self.capable
        } else {
            self.capable & !GRO_HW_OFFLOADS
        }
    }

    /// The `GUEST_OFFLOADS_SET` data for `offloads`: a little-endian 64-bit value.
    pub(crate) fn command(offloads: u64) -> [u8; 8] {
        offloads.to_le_bytes()
    }
}

/// Why a packet cannot be described to the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TxHdrError {
    /// The device was not asked to compute checksums.
    CsumNotNegotiated,
    /// The segmentation type is unknown or not negotiated.
    GsoNotNegotiated(u8),
    /// A segmented packet without a partial checksum.
    GsoWithoutCsum,
}

/// Checks the header `h` of a packet to transmit (as the kernel's `virtio_net_hdr_from_skb()`
/// wrote it) against what the device does, `caps`: the stack only asks for what the driver
/// advertised, so this refuses what the features kept it from asking.
pub(crate) fn check_tx(h: &[u8; HDR_LEN], caps: &TxCaps) -> Result<(), TxHdrError> {
    let (flags, gso_type) = (h[0], h[1]);
    // Most packets of a device without offloads, and all of pktgen's, ask for nothing.
    if flags == 0 && gso_type == gso::NONE {
        return Ok(());
    }
    if gso_type != gso::NONE {
        let ok = match gso_type & !gso::ECN {
            gso::TCPV4 => caps.tso4,
            gso::TCPV6 => caps.tso6,
            _ => false,
        } && (gso_type & gso::ECN == 0 || caps.ecn);
        if !ok {
            return Err(TxHdrError::GsoNotNegotiated(gso_type));
        }
        if flags & F_NEEDS_CSUM == 0 {
            return Err(TxHdrError::GsoWithoutCsum);
        }
    }
    if flags & F_NEEDS_CSUM != 0 && !caps.csum {
        return Err(TxHdrError::CsumNotNegotiated);
    }
    Ok(())
}

/// The number of buffers a received packet spans (`num_buffers`, mergeable buffers only).
pub(crate) fn num_buffers(hdr: &[u8; HDR_LEN]) -> u16 {
    u16::from_le_bytes([hdr[10], hdr[11]])
}
