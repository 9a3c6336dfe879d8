// SPDX-License-Identifier: GPL-2.0

//! The virtio-net header and offload rules of rvirtio_net.

use crate::net_hdr::*;

const ALL_TX: TxCaps = TxCaps {
    csum: true,
    tso4: true,
    tso6: true,
    ecn: true,
};

fn features(bits: &[u32]) -> impl Fn(u32) -> bool + '_ {
    move |b| bits.contains(&b)
}

/// A header as `virtio_net_hdr_from_skb()` writes it: flags, GSO type, then the 16-bit fields.
fn header(flags: u8, gso_type: u8) -> [u8; HDR_LEN] {
    let mut h = [0u8; HDR_LEN];
    h[0] = flags;
    h[1] = gso_type;
    h
}

#[test]
fn plain_packet_needs_nothing() {
    assert_eq!(check_tx(&header(0, gso::NONE), &TxCaps::default()), Ok(()));
    assert_eq!(check_tx(&header(0, gso::NONE), &ALL_TX), Ok(()));
}

#[test]
fn checksum_needs_the_feature() {
    let h = header(F_NEEDS_CSUM, gso::NONE);
    assert_eq!(
        check_tx(&h, &TxCaps::default()),
        Err(TxHdrError::CsumNotNegotiated)
    );
    let csum = TxCaps {
        csum: true,
        ..Default::default()
    };
    assert_eq!(check_tx(&h, &csum), Ok(()));
}

#[test]
fn tso_with_its_features() {
    for t in [
        gso::TCPV4,
        gso::TCPV6,
        gso::TCPV4 | gso::ECN,
        gso::TCPV6 | gso::ECN,
    ] {
        assert_eq!(
            check_tx(&header(F_NEEDS_CSUM, t), &ALL_TX),
            Ok(()),
            "type {t}"
        );
    }
}

#[test]
fn gso_types_need_their_features() {
    let only4 = TxCaps {
        csum: true,
        tso4: true,
        ..Default::default()
    };
    assert_eq!(check_tx(&header(F_NEEDS_CSUM, gso::TCPV4), &only4), Ok(()));
    assert_eq!(
        check_tx(&header(F_NEEDS_CSUM, gso::TCPV6), &only4),
        Err(TxHdrError::GsoNotNegotiated(gso::TCPV6))
    );
    assert_eq!(
        check_tx(&header(F_NEEDS_CSUM, gso::TCPV4 | gso::ECN), &only4),
        Err(TxHdrError::GsoNotNegotiated(gso::TCPV4 | gso::ECN))
    );
    // UDP segmentation (which the kernel helper writes as 5) and other types are never
    // negotiated here.
    for t in [5u8, 3, 0x85, 0xff] {
        assert!(
            check_tx(&header(F_NEEDS_CSUM, t), &ALL_TX).is_err(),
            "type {t}"
        );
    }
}

#[test]
fn gso_needs_a_partial_checksum() {
    assert_eq!(
        check_tx(&header(0, gso::TCPV4), &ALL_TX),
        Err(TxHdrError::GsoWithoutCsum)
    );
}

#[test]
fn num_buffers_is_little_endian() {
    let mut h = [0u8; HDR_LEN];
    h[10] = 3;
    h[11] = 1;
    assert_eq!(num_buffers(&h), 259);
}

#[test]
fn segmentation_needs_checksums() {
    use feature::*;
    let tx = TxCaps::from_features(features(&[HOST_TSO4, HOST_TSO6, HOST_ECN]));
    assert_eq!(tx, TxCaps::default());
    let tx = TxCaps::from_features(features(&[CSUM, HOST_TSO6, HOST_ECN]));
    assert_eq!(
        tx,
        TxCaps {
            csum: true,
            tso4: false,
            tso6: true,
            ecn: true
        }
    );
    let tx = TxCaps::from_features(features(&[CSUM, HOST_ECN]));
    assert!(!tx.ecn);
}

#[test]
fn receive_gso_needs_checksums() {
    use feature::*;
    let rx = RxCaps::from_features(features(&[GUEST_TSO4, MRG_RXBUF]));
    assert!(!rx.gso && rx.mergeable && !rx.csum && !rx.big());
    let rx = RxCaps::from_features(features(&[GUEST_CSUM, GUEST_TSO6, MRG_RXBUF]));
    assert!(rx.gso && rx.csum && !rx.big());
}

#[test]
fn big_packets_only_for_gso_without_mergeable_buffers() {
    use feature::*;
    let rx = RxCaps::from_features(features(&[GUEST_CSUM, GUEST_TSO4]));
    assert!(rx.gso && !rx.mergeable && rx.big());
    let rx = RxCaps::from_features(features(&[GUEST_CSUM]));
    assert!(!rx.gso && !rx.big());
    // No checksum offload, so no GSO either: small buffers.
    let rx = RxCaps::from_features(features(&[GUEST_TSO4, GUEST_TSO6]));
    assert!(!rx.big());
}

/// Every flags and GSO type byte is either accepted or refused, never anything else, and a
/// header is accepted only with the features it needs.
#[test]
fn sweep_accepts_only_what_the_features_allow() {
    let caps_all = [
        ALL_TX,
        TxCaps::default(),
        TxCaps {
            csum: true,
            ..Default::default()
        },
        TxCaps {
            csum: true,
            tso6: true,
            ..Default::default()
        },
    ];
    let mut accepted = 0;
    for flags in 0..=u8::MAX {
        for gso_type in 0..=u8::MAX {
            for caps in &caps_all {
                if check_tx(&header(flags, gso_type), caps).is_err() {
                    continue;
                }
                accepted += 1;
                if flags & F_NEEDS_CSUM != 0 {
                    assert!(caps.csum);
                }
                if gso_type != gso::NONE {
                    assert!(flags & F_NEEDS_CSUM != 0);
                    let base = gso_type & !gso::ECN;
                    assert!(base == gso::TCPV4 && caps.tso4 || base == gso::TCPV6 && caps.tso6);
                    assert!(gso_type & gso::ECN == 0 || caps.ecn);
                }
            }
        }
    }
    assert!(accepted > 0);
}

#[test]
fn control_features_need_the_control_queue() {
    use feature::*;
    assert_eq!(missing_ctrl_vq(features(&[MQ])), Some(MQ));
    assert_eq!(missing_ctrl_vq(features(&[CSUM, CTRL_RX])), Some(CTRL_RX));
    assert_eq!(missing_ctrl_vq(features(&[MQ, CTRL_VQ])), None);
    assert_eq!(missing_ctrl_vq(features(&[CSUM, MRG_RXBUF])), None);
    for f in [CTRL_RX, CTRL_VLAN, GUEST_ANNOUNCE, MQ, CTRL_MAC_ADDR] {
        assert_eq!(missing_ctrl_vq(features(&[f])), Some(f));
    }
}

#[test]
fn queue_pairs_are_bounded() {
    assert_eq!(max_pairs(None), 1);
    assert_eq!(max_pairs(Some(0)), 1);
    assert_eq!(max_pairs(Some(2)), 2);
    assert_eq!(max_pairs(Some(MQ_PAIRS_MAX)), DRIVER_PAIRS_MAX);
    assert_eq!(max_pairs(Some(MQ_PAIRS_MAX + 1)), 1);
    assert_eq!(max_pairs(Some(u16::MAX)), 1);
}

#[test]
fn guest_offloads_need_the_control_queue() {
    use feature::*;
    let tap = [GUEST_CSUM, GUEST_TSO4, GUEST_TSO6, GUEST_ECN, MRG_RXBUF];
    assert_eq!(GuestOffloads::from_features(features(&tap)), None);
    let without_cvq = [&tap[..], &[CTRL_GUEST_OFFLOADS]].concat();
    assert_eq!(GuestOffloads::from_features(features(&without_cvq)), None);
    assert_eq!(
        withdrawn_without_ctrl_vq(features(&without_cvq)),
        &[CTRL_GUEST_OFFLOADS]
    );
    let with_cvq = [&without_cvq[..], &[CTRL_VQ]].concat();
    assert!(withdrawn_without_ctrl_vq(features(&with_cvq)).is_empty());
    assert!(withdrawn_without_ctrl_vq(features(&tap)).is_empty());
    assert!(GuestOffloads::from_features(features(&with_cvq)).is_some());
}

#[test]
fn guest_offloads_are_the_negotiated_guest_features() {
    use feature::*;
    // What QEMU offers with a tap backend, as the driver negotiates it.
    let f = [
        CSUM,
        GUEST_CSUM,
        CTRL_GUEST_OFFLOADS,
        GUEST_TSO4,
        GUEST_TSO6,
        GUEST_ECN,
        HOST_TSO4,
        MRG_RXBUF,
        CTRL_VQ,
        MQ,
    ];
    let g = GuestOffloads::from_features(features(&f)).unwrap();
    let bit = |f: u32| 1u64 << f;
    assert_eq!(
        g.capable,
        bit(GUEST_CSUM) | bit(GUEST_TSO4) | bit(GUEST_TSO6) | bit(GUEST_ECN)
    );
    assert!(g.gro_hw);
    // The values of VIRTIO_NET_F_GUEST_* in the C header.
    assert_eq!(g.capable, 0x382);
    assert_eq!(g.with_gro_hw(true), g.capable);
    assert_eq!(g.with_gro_hw(false), bit(GUEST_CSUM));
    assert_eq!(
        GuestOffloads::command(g.with_gro_hw(false)),
        [2, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        GuestOffloads::command(g.capable),
        [0x82, 0x03, 0, 0, 0, 0, 0, 0]
    );
}

#[test]
fn gro_hw_needs_receive_gso() {
    use feature::*;
    // Checksums only: nothing to coalesce, nothing to switch off but checksums, which stay.
    let g = GuestOffloads::from_features(features(&[GUEST_CSUM, CTRL_GUEST_OFFLOADS, CTRL_VQ]))
        .unwrap();
    assert!(!g.gro_hw);
    assert_eq!(g.with_gro_hw(false), g.capable);
    // GSO without checksums is not taken; rx-gro-hw follows what the receive path takes
    // (RxCaps::gso, which also decides about GSO without mergeable buffers).
    let f = [GUEST_TSO4, MRG_RXBUF, CTRL_GUEST_OFFLOADS, CTRL_VQ];
    assert!(!GuestOffloads::from_features(features(&f)).unwrap().gro_hw);
    let f = [GUEST_CSUM, GUEST_TSO6, CTRL_GUEST_OFFLOADS, CTRL_VQ];
    let g = GuestOffloads::from_features(features(&f)).unwrap();
    assert_eq!(g.gro_hw, RxCaps::from_features(features(&f)).gso);
    // Either TSO is enough.
    for tso in [GUEST_TSO4, GUEST_TSO6] {
        let f = [GUEST_CSUM, tso, MRG_RXBUF, CTRL_GUEST_OFFLOADS, CTRL_VQ];
        let g = GuestOffloads::from_features(features(&f)).unwrap();
        assert!(g.gro_hw);
        assert_eq!(g.with_gro_hw(false) & GRO_HW_OFFLOADS, 0);
        assert_eq!(g.with_gro_hw(false), 1 << GUEST_CSUM);
    }
}

/// Whatever the device offers, switching coalescing off keeps every other negotiated offload,
/// never asks for one that was not negotiated, and on gives back exactly what was negotiated.
#[test]
fn guest_offloads_sweep() {
    use feature::*;
    let bits = [
        GUEST_CSUM,
        GUEST_TSO4,
        GUEST_TSO6,
        GUEST_ECN,
        GUEST_UFO,
        GUEST_USO4,
        GUEST_USO6,
        MRG_RXBUF,
        CTRL_VQ,
        CTRL_GUEST_OFFLOADS,
        CSUM,
        HOST_TSO4,
    ];
    for mask in 0u32..(1 << bits.len()) {
        let f: std::vec::Vec<u32> = (0..bits.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| bits[i])
            .collect();
        let has = features(&f);
        let Some(g) = GuestOffloads::from_features(&has) else {
            assert!(!has(CTRL_VQ) || !has(CTRL_GUEST_OFFLOADS));
            continue;
        };
        for b in 0..64 {
            let negotiated = has(b) && [GUEST_CSUM, GUEST_TSO4, GUEST_TSO6, GUEST_ECN].contains(&b);
            assert_eq!(g.capable & (1 << b) != 0, negotiated, "bit {b} of {f:?}");
        }
        let off = g.with_gro_hw(false);
        assert_eq!(off & GRO_HW_OFFLOADS, 0);
        assert_eq!(off | (g.capable & GRO_HW_OFFLOADS), g.capable);
        assert_eq!(g.with_gro_hw(true), g.capable);
        assert_eq!(g.gro_hw, RxCaps::from_features(&has).gso);
    }
}

/// After negotiation the driver may only look up the features it asked for: the virtio core
/// BUG()s on any other (virtio_check_driver_offered_feature). Every rule applied at probe
/// time looks up those alone, whatever the device has.
#[test]
fn probe_rules_look_up_only_the_driver_features() {
    use core::cell::RefCell;
    let seen = RefCell::new(std::vec::Vec::new());
    let has = |b: u32| {
        seen.borrow_mut().push(b);
        true
    };
    let _ = RxCaps::from_features(has);
    let _ = TxCaps::from_features(has);
    let _ = GuestOffloads::from_features(has);
    let seen = seen.into_inner();
    assert!(!seen.is_empty());
    for b in seen {
        assert!(
            DRIVER_FEATURES.contains(&b),
            "feature {b} is looked up but not asked for"
        );
    }
}
