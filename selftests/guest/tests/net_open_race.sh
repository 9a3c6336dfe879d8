#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# "ip link set up" racing the bind of rvirtio_net, $RVIRTIO_RACE_ROUNDS times (10): the driver
# must not fill or kick a queue before the device is ready (DRIVER_OK; virtio 1.2, 3.1.1), so
# its interface cannot be opened before then. An opener asks without pause (one "ip -batch"
# process, no fork per try) to bring the interface up while rvirtio_net is bound to the device
# again and again. rvirtio-pci counts every notification a driver sends after its first status
# write and before DRIVER_OK (debugfs "status"): the test asserts that there was none, counts
# the rounds in which the opener had the interface up by the time the bind returned, and
# checks that the interface then passes traffic.
. "$(dirname "$0")/../lib.sh"

export RVNET_TRANSPORT=rust
cleanup() {
	pkill -f "ip -force -batch" 2>/dev/null
	wait
	rvnet_cleanup
}
trap cleanup EXIT

must kmod_load virtio_net
rvirtio_take "$NIC0"
vdev=$(rvirtio_net_take "$NIC0")
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface on rvirtio_net"
name=$(netdev_by_mac "$NIC0_MAC")
status=$(rvirtio_debugfs "$NIC0")/status
early() { awk '$1 == "notified_before_driver_ok:" { print $2 }' "$status"; }
[ "$(early)" = 0 ] || fail "notifications before DRIVER_OK at the first bind: $(cat "$status")"

rounds=${RVIRTIO_RACE_ROUNDS:-10} opened=0
for ((i = 0; i < rounds; i++)); do
	echo "$vdev" > /sys/bus/virtio/drivers/rvirtio_net/unbind || fail "round $i: unbind failed"
	yes "link set dev $name up" | ip -force -batch - > /dev/null 2>&1 &
	# The opener is running (its first tries fail: no such device yet).
	sleep 0.2
	echo "$vdev" > /sys/bus/virtio/drivers/rvirtio_net/bind || fail "round $i: bind failed"
	[ "$(netdev_by_mac "$NIC0_MAC")" = "$name" ] ||
		fail "round $i: the interface is $(netdev_by_mac "$NIC0_MAC"), not $name"
	ip link show dev "$name" | grep -q "[<,]UP[,>]" && opened=$((opened + 1))
	wait_for 5 eval "ip link show dev $name | grep -q '[<,]UP[,>]'" ||
		fail "round $i: the opener did not bring $name up"
	pkill -f "ip -force -batch"
	wait
	n=$(early)
	[ "$n" = 0 ] || fail "round $i: $n notifications before DRIVER_OK: $(dmesg | grep 'before DRIVER_OK')"
done
echo "$rounds binds raced by an opener, $opened with $name up when the bind returned; notifications before DRIVER_OK: $(early)"
ip link set dev "$name" down
dev=$(netns_setup) || fail "namespace setup failed: $dev"
wait_for 10 ping -c 1 -W 1 10.99.0.2 || fail "no ping after the races"
echo "ping answered on $dev"
