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
iperf_background 60
client=$IPERF_CLIENT
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
