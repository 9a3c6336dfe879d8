#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rvirtio_net under traffic: 10 unbind/bind cycles with a ping flood running (each bind gives
# a working interface again), then rmmod while iperf3 runs. The VM runner fails the test on
# any kernel splat.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	[ -n "${pinger:-}" ] && kill "$pinger" 2>/dev/null
	[ -n "${client:-}" ] && kill "$client" 2>/dev/null
	rvnet_cleanup
}
trap cleanup EXIT
dev=$(rvnet_setup) || fail "setup failed: $dev"
vdev=$(virtio_of "$NIC0")
cycles=${RVNET_CYCLES:-10}

ping -i 0.01 -W 1 10.99.0.2 > /dev/null 2>&1 &
pinger=$!
for ((i = 1; i <= cycles; i++)); do
	echo "$vdev" > /sys/bus/virtio/drivers/rvirtio_net/unbind || fail "unbind $i failed"
	netdev_by_mac "$NIC0_MAC" > /dev/null && fail "interface survived unbind $i"
	echo "$vdev" > /sys/bus/virtio/drivers/rvirtio_net/bind || fail "bind $i failed"
	wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface after bind $i"
	dev=$(netdev_by_mac "$NIC0_MAC")
	ip addr add 10.99.0.1/24 dev "$dev"
	ip link set "$dev" up
	wait_for 10 ping -c 1 -W 1 10.99.0.2 || fail "no traffic after bind $i"
done
echo "$cycles unbind/bind cycles, traffic after each"
kill "$pinger"
pinger=

iperf_background 30
client=$IPERF_CLIENT
sleep 3
tx=$(netdev_stat "$dev" tx_bytes)
[ "$tx" -gt 1000000 ] || fail "too little traffic before rmmod ($tx bytes)"
start=$(date +%s%N)
timeout 30 rmmod rvirtio_net || fail "rmmod failed or hung"
echo "rmmod under traffic ($tx bytes sent) took $((($(date +%s%N) - start) / 1000000)) ms"
[ ! -e /sys/module/rvirtio_net ] || fail "module still loaded"
netdev_by_mac "$NIC0_MAC" > /dev/null && fail "interface survived rmmod"
kill "$client" 2>/dev/null
client=
echo "$vdev" > /sys/bus/virtio/drivers/virtio_net/bind || fail "C virtio_net cannot take it back"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface back on virtio_net"
