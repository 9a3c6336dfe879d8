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

#[test]
fn plain_packet_has_a_zero_header() {
    let h = encode_tx(&TxRequest::default(), &TxCaps::default()).unwrap();
    assert_eq!(h, [0; HDR_LEN]);
}

#[test]
fn partial_checksum_sets_start_and_offset() {
    let req = TxRequest {
        csum_partial: true,
        csum_start: 34,
        csum_offset: 16,
        headlen: 1514,
        ..Default::default()
    };
    let h = encode_tx(&req, &ALL_TX).unwrap();
    assert_eq!(h, [F_NEEDS_CSUM, 0, 0, 0, 0, 0, 34, 0, 16, 0, 0, 0]);
}

#[test]
fn checksum_needs_the_feature() {
    let req = TxRequest {
        csum_partial: true,
        ..Default::default()
    };
    assert_eq!(
        encode_tx(&req, &TxCaps::default()),
        Err(TxHdrError::CsumNotNegotiated)
    );
}

#[test]
fn tso_fills_gso_fields() {
    let req = TxRequest {
        csum_partial: true,
        csum_start: 34,
        csum_offset: 16,
        gso_size: 1448,
        gso_type: gso::TCPV4 | gso::ECN,
        headlen: 66,
    };
    let h = encode_tx(&req, &ALL_TX).unwrap();
    assert_eq!(h[0], F_NEEDS_CSUM);
    assert_eq!(h[1], gso::TCPV4 | gso::ECN);
    assert_eq!(u16::from_le_bytes([h[2], h[3]]), 66);
    assert_eq!(u16::from_le_bytes([h[4], h[5]]), 1448);
    assert_eq!(num_buffers(&h), 0);
}

#[test]
fn gso_types_need_their_features() {
    let mut req = TxRequest {
        csum_partial: true,
        gso_size: 1448,
        gso_type: gso::TCPV6,
        ..Default::default()
    };
    let only4 = TxCaps {
        csum: true,
        tso4: true,
        ..Default::default()
    };
    assert_eq!(
        encode_tx(&req, &only4),
        Err(TxHdrError::GsoNotNegotiated(gso::TCPV6))
    );
    req.gso_type = gso::TCPV4 | gso::ECN;
    assert_eq!(
        encode_tx(&req, &only4),
        Err(TxHdrError::GsoNotNegotiated(gso::TCPV4 | gso::ECN))
    );
    // UDP segmentation and types the kernel helper could not express are never offered.
    for t in [5u8, 3, 0xff] {
        req.gso_type = t;
        assert!(encode_tx(&req, &ALL_TX).is_err(), "type {t}");
    }
}

#[test]
fn gso_needs_a_partial_checksum() {
    let req = TxRequest {
        gso_size: 1448,
        gso_type: gso::TCPV4,
        ..Default::default()
    };
    assert_eq!(encode_tx(&req, &ALL_TX), Err(TxHdrError::GsoWithoutCsum));
}

#[test]
fn fields_must_fit_16_bits() {
    let req = TxRequest {
        csum_partial: true,
        csum_start: 70000,
        ..Default::default()
    };
    assert_eq!(encode_tx(&req, &ALL_TX), Err(TxHdrError::FieldTooLarge));
    // The linear length is a hint: clamped, not an error.
    let req = TxRequest {
        csum_partial: true,
        gso_size: 1448,
        gso_type: gso::TCPV4,
        headlen: 100_000,
        ..Default::default()
    };
    let h = encode_tx(&req, &ALL_TX).unwrap();
    assert_eq!(u16::from_le_bytes([h[2], h[3]]), u16::MAX);
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

/// Every request either encodes to a header that says what was asked, or is refused: a
/// sweep over the interesting values of each field.
#[test]
fn sweep_never_panics_and_round_trips() {
    let sizes = [0u32, 1, 1448, 65535, 65536, u32::MAX];
    let types = [0u8, 1, 3, 4, 5, 0x81, 0x84, 0xff];
    let caps_all = [
        ALL_TX,
        TxCaps::default(),
        TxCaps {
            csum: true,
            ..Default::default()
        },
    ];
    let mut n = 0;
    for &partial in &[false, true] {
        for &start in &sizes {
            for &gso_size in &sizes {
                for &gso_type in &types {
                    for caps in &caps_all {
                        let req = TxRequest {
                            csum_partial: partial,
                            csum_start: start,
                            csum_offset: 6,
                            gso_size,
                            gso_type,
                            headlen: start,
                        };
                        n += 1;
                        if let Ok(h) = encode_tx(&req, caps) {
                            assert_eq!(h[0] == F_NEEDS_CSUM, partial);
                            if partial {
                                assert_eq!(u32::from(u16::from_le_bytes([h[6], h[7]])), start);
                            }
                            if gso_size != 0 {
                                assert_eq!(h[1], gso_type);
                                assert_eq!(u32::from(u16::from_le_bytes([h[4], h[5]])), gso_size);
                            } else {
                                assert_eq!(h[1], 0);
                            }
                            assert_eq!(num_buffers(&h), 0);
                        }
                    }
                }
            }
        }
    }
    assert_eq!(n, 2 * 6 * 6 * 8 * 3);
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
