#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# QMP device_del of a NIC bound to rvirtio-pci while traffic runs: the device goes away
# (DEVICE_DELETED), nothing hangs, and the module unloads. The NIC is gone for the rest of the
# boot, so this test runs last.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	[ -n "${client:-}" ] && kill "$client" 2>/dev/null
	pkill iperf3
	ip netns del "$PEER_NS" 2>/dev/null
	rmmod rvirtio_pci 2>/dev/null
}
trap cleanup EXIT

must kmod_load virtio_net
rvirtio_take "$NIC0"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface on rvirtio-pci"
dev=$(netns_setup) || fail "namespace setup failed"
ip netns exec "$PEER_NS" iperf3 -s -1 -p $IPERF_PORT -B 10.99.0.2 > /dev/null 2>&1 &
wait_for 5 iperf_listening || fail "iperf3 server did not start"
iperf3 -c 10.99.0.2 -p $IPERF_PORT -t 60 > /tmp/iperf.out 2>&1 &
client=$!
sleep 3

start=$(date +%s%N)
must qmp device_del '{"id": "nic0"}'
gone() { [ ! -e "/sys/bus/pci/devices/$NIC0" ] && grep -q '"DEVICE_DELETED".*nic0' "$RVIRTIO_QMP_EVENTS"; }
wait_for 30 gone || fail "device not removed within 30 s"
ms=$((($(date +%s%N) - start) / 1000000))
echo "device_del under traffic: removed in $ms ms"
netdev_by_mac "$NIC0_MAC" > /dev/null && fail "interface still present"
kill "$client" 2>/dev/null
client=
timeout 30 rmmod rvirtio_pci || fail "rmmod after removal failed or hung"
echo "module unloaded"
