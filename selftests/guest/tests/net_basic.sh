#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rvirtio_net carries traffic: ping both ways over IPv4 and IPv6, and iperf3 TCP both ways
# with the bytes the peer counted matching the interface counters within protocol overhead.
# Byte queue limits saw the traffic and count nothing in flight after it.
# The transport is the C virtio-pci, or rvirtio-pci with RVNET_TRANSPORT=rust.
. "$(dirname "$0")/../lib.sh"

trap rvnet_cleanup EXIT
dev=$(rvnet_setup) || fail "setup failed: $dev"
assert_rvirtio_net "$dev"
echo "NIC under test: $dev on rvirtio_net over $(pci_driver "$NIC0")"

ping_ok ping -c 5 -i 0.2 -W 2 10.99.0.2
ping_ok ip netns exec "$PEER_NS" ping -c 5 -i 0.2 -W 2 10.99.0.1
ping_ok ping -6 -c 5 -i 0.2 -W 2 fd99::2
ping_ok ip netns exec "$PEER_NS" ping -6 -c 5 -i 0.2 -W 2 fd99::1

# Checks that the interface counter moved by $2 bytes for $3 payload bytes received and $4
# written by iperf3, $5 segments retransmitted: at least what was received, at most what was
# written plus 10 % (TCP/IP/Ethernet headers of 1448-byte segments are under 5 %), a full frame
# per retransmission, and 1 MB (ACKs of the other direction, the connection setup). Data
# written but still in flight when the test ends (in the receiver's socket buffer, unread) is
# counted by the interface and never received: the receiver bounds from below only.
check_bytes() {
	local what=$1 counted=$2 payload=$3 written=$4 re=$5
	echo "$what: $payload payload bytes received ($written written), interface counted $counted, $re segments retransmitted"
	[ "$payload" -gt "${RVIRTIO_MIN_BYTES:-1000000}" ] || fail "$what: too little traffic ($payload bytes)"
	[ "$counted" -ge "$payload" ] || fail "$what: interface counted less than the payload"
	[ "$counted" -le $((written + written / 10 + re * 1514 + 1000000)) ] ||
		fail "$what: interface counted far more than the payload"
}

tx0=$(netdev_stat "$dev" tx_bytes) re0=$(tcp_retrans)
out=$(IPERF_SENT=1 iperf_run 5) || fail "iperf3 failed: $out"
read -r sent written <<< "$out"
check_bytes "TX" $(($(netdev_stat "$dev" tx_bytes) - tx0)) "$sent" "$written" \
	$(($(tcp_retrans) - re0))
bql_settled "$dev"

rx0=$(netdev_stat "$dev" rx_bytes) rp0=$(netdev_stat "$dev" rx_packets) re0=$(tcp_retrans "$PEER_NS")
out=$(IPERF_SENT=1 iperf_run 5 -R) || fail "iperf3 -R failed: $out"
read -r got written <<< "$out"
rxb=$(($(netdev_stat "$dev" rx_bytes) - rx0)) rxp=$(($(netdev_stat "$dev" rx_packets) - rp0))
check_bytes "RX" "$rxb" "$got" "$written" $(($(tcp_retrans "$PEER_NS") - re0))

# Receive offloads: with GUEST_TSO4 negotiated the device hands over GSO packets, so the
# average received packet is far above the MTU (in mergeable buffers, or in big-packet
# buffers when the device has no MRG_RXBUF: RVIRTIO_EXPECT_BIG=1, a NIC with mrg_rxbuf=off).
features=$(cat "/sys/class/net/$dev/device/features")
echo "features: $features; RX: $rxp packets, $((rxb / (rxp > 0 ? rxp : 1))) bytes on average"
if [ "${features:7:1}" = 1 ]; then
	[ $((rxb / rxp)) -gt 3000 ] || fail "GUEST_TSO4 negotiated, but no large packet received"
fi
if [ "${RVIRTIO_EXPECT_BIG:-0}" = 1 ]; then
	[ "${features:15:1}" = 0 ] || fail "MRG_RXBUF negotiated: no big packets to test"
	[ "${features:7:1}" = 1 ] || fail "GUEST_TSO4 not negotiated: no big packets to test"
fi

for c in rx_errors tx_dropped rx_dropped; do
	v=$(netdev_stat "$dev" $c)
	[ "$v" -eq 0 ] || fail "$c is $v"
done
