#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The harness itself: the two NICs, on the upstream C drivers, ping each other across a network
# namespace, IPv4 and IPv6, both ways.
. "$(dirname "$0")/../lib.sh"

trap netns_cleanup EXIT
must kmod_load virtio_net
wait_for 5 netdev_by_mac "$NIC1_MAC" || fail "no peer interface"
dev=$(netns_setup) || fail "namespace setup failed: $dev"
echo "NIC under test: $dev (driver $(pci_driver "$NIC0"))"

ping_ok() {
	local out
	out=$("$@" 2>&1)
	echo "$out" | tail -n 2
	echo "$out" | grep -q ' 0% packet loss' || fail "'$*' lost packets"
}
ping_ok ping -c 5 -i 0.2 -W 2 10.99.0.2
ping_ok ip netns exec "$PEER_NS" ping -c 5 -i 0.2 -W 2 10.99.0.1
ping_ok ping -6 -c 5 -i 0.2 -W 2 fd99::2
ping_ok ip netns exec "$PEER_NS" ping -6 -c 5 -i 0.2 -W 2 fd99::1

rx=$(cat /sys/class/net/"$dev"/statistics/rx_packets)
[ "$rx" -ge 10 ] || fail "only $rx packets received on $dev"
echo "rx_packets on $dev: $rx"
