#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rvirtio_net's receive filter, applied by QEMU's device model through the control queue:
# frames to a foreign unicast address arrive only in promiscuous mode, multicast to a group
# not joined only with allmulti or once the group is joined; a new MAC address keeps traffic
# passing (the device filters on it). (VLAN filtering is not tested: the guest kernel has no
# 802.1Q support.)
. "$(dirname "$0")/../lib.sh"

trap rvnet_cleanup EXIT
dev=$(rvnet_setup) || fail "setup failed: $dev"
assert_rvirtio_net "$dev"
peer=$(ip -n "$PEER_NS" -o link | awk -v m="$NIC1_MAC" '$0 ~ m { sub(/:$/, "", $2); print $2 }')

# Frames from the peer that only a filter lets through: 20 pings, none answered.
ip -n "$PEER_NS" neigh replace 10.99.0.77 lladdr 02:00:00:00:00:77 dev "$peer"
ip -n "$PEER_NS" route add 239.0.0.0/8 dev "$peer"
received() { # received unicast|multicast: packets that arrived while 20 were sent
	local r0 target=10.99.0.77
	[ "$1" = multicast ] && target=239.1.2.3
	r0=$(netdev_stat "$dev" rx_packets)
	ip netns exec "$PEER_NS" ping -c 20 -i 0.02 -W 1 -t 1 "$target" > /dev/null 2>&1
	sleep 0.3
	echo $(($(netdev_stat "$dev" rx_packets) - r0))
}
expect() { # expect what few|all
	local n
	n=$(received "$1")
	echo "$1 $3: $n of 20 received"
	if [ "$2" = few ]; then
		[ "$n" -lt 10 ] || fail "$1 frames pass the filter $3 ($n)"
	else
		[ "$n" -ge 20 ] || fail "$1 frames do not pass $3 ($n)"
	fi
}
settle() { sleep 0.5; }

expect unicast few "by default"
must ip link set "$dev" promisc on
settle
expect unicast all "in promiscuous mode"
must ip link set "$dev" promisc off
settle
expect unicast few "with promiscuous mode off again"

expect multicast few "by default"
must ip link set "$dev" allmulticast on
settle
expect multicast all "with allmulti"
must ip link set "$dev" allmulticast off
settle
expect multicast few "with allmulti off again"
must ip maddr add 01:00:5e:01:02:03 dev "$dev"
settle
expect multicast all "once the group is joined"
must ip maddr del 01:00:5e:01:02:03 dev "$dev"

old=$(cat "/sys/class/net/$dev/address")
must ip link set "$dev" address 52:54:00:12:34:99
ip -n "$PEER_NS" neigh flush dev "$peer"
ping_ok ping -c 3 -i 0.2 -W 2 10.99.0.2
echo "new address $(cat "/sys/class/net/$dev/address"): traffic passes"
must ip link set "$dev" address "$old"
ip -n "$PEER_NS" neigh flush dev "$peer"
ping_ok ping -c 2 -i 0.2 -W 2 10.99.0.2
