#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rvirtio_net with MTU 9000 and back: pings of 8000 bytes that may not fragment, and iperf3,
# pass at 9000; at 1500 again, large pings are refused locally and small traffic passes.
. "$(dirname "$0")/../lib.sh"

trap rvnet_cleanup EXIT
dev=$(rvnet_setup) || fail "setup failed: $dev"
peer=$(ip -n "$PEER_NS" -o link | awk -v m="$NIC1_MAC" '$0 ~ m { sub(/:$/, "", $2); print $2 }')
must ip link set "$dev" mtu 9000
must ip -n "$PEER_NS" link set "$peer" mtu 9000
[ "$(cat "/sys/class/net/$dev/mtu")" = 9000 ] || fail "MTU not set"
ping_ok ping -c 3 -i 0.2 -W 2 -s 8000 -M do 10.99.0.2
ping_ok ip netns exec "$PEER_NS" ping -c 3 -i 0.2 -W 2 -s 8000 -M do 10.99.0.1
b=$(iperf_run 3) || fail "iperf3 at MTU 9000 failed"
r=$(iperf_run 3 -R) || fail "iperf3 -R at MTU 9000 failed"
echo "MTU 9000: $b bytes out, $r bytes in, in 3 s each"
[ "$b" -gt 1000000 ] && [ "$r" -gt 1000000 ] || fail "little traffic at MTU 9000"
must ip link set "$dev" mtu 1500
must ip -n "$PEER_NS" link set "$peer" mtu 1500
ping -c 1 -W 1 -s 8000 -M do 10.99.0.2 > /dev/null 2>&1 && fail "an 8000-byte DF ping passed at MTU 1500"
ping_ok ping -c 3 -i 0.2 -W 2 10.99.0.2
[ "$(netdev_stat "$dev" rx_errors)" = 0 ] || fail "receive errors"
