#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A device that needs a reset and is not recovered (devlink health's auto_recover and the status
# check off) can still be unbound: rvirtio-pci breaks its virtqueues first, as on surprise
# removal, so that no driver's remove waits for what the device will never complete. The unbind must finish
# within 30 s with the queues broken first, and the device then works again on the C
# virtio-pci, which resets it.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	netns_cleanup
	rvirtio_release "$NIC0"
}
trap cleanup EXIT
# The device stays broken until the unbind: the stack's transmit watchdog may report a stopped
# queue meanwhile (5 s) on a loaded host.
expect_splat 'NETDEV WATCHDOG: .*transmit queue [0-9]+ timed out'

must kmod_load virtio_net
must rvirtio_load rvirtio_pci status_poll_ms=0
rvirtio_take "$NIC0"
must rvirtio_hold "$NIC0"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface"
dev=$(netns_setup) || fail "namespace setup failed: $dev"
ping -c 2 -W 2 10.99.0.2 > /dev/null || fail "no ping before the injection"
echo $NIC0_INJECT_Q > "$(rvirtio_debugfs "$NIC0")/inject" || fail "injection failed"
wait_for 5 recovery_above "$NIC0" needs_reset_events 0 || fail "no NEEDS_RESET seen"
assert_broken nic0 true "QEMU does not report nic0 broken"
dmesg -C
# Again: the final dmesg must hold the expectation.
expect_splat 'NETDEV WATCHDOG: .*transmit queue [0-9]+ timed out'
start=$(date +%s%N)
timeout 30 bash -c "echo $NIC0 > /sys/bus/pci/devices/$NIC0/driver/unbind" ||
	fail "unbinding the broken device did not finish within 30 s"
ms=$((($(date +%s%N) - start) / 1000000))
dmesg | grep -q "needs a reset: breaking its virtqueues" || fail "the virtqueues were not broken first"
echo "unbound in $ms ms: $(dmesg | grep 'needs a reset' | sed 's/^\[[^]]*\] //')"
netns_cleanup
rvirtio_release "$NIC0"
[ "$(pci_driver "$NIC0")" = virtio-pci ] || fail "$NIC0 not back on virtio-pci"
wait_for 10 netdev_by_mac "$NIC0_MAC" || fail "no interface on virtio-pci"
dev=$(netns_setup) || fail "namespace setup failed: $dev"
wait_for 10 ping -c 1 -W 1 10.99.0.2 || fail "no ping on virtio-pci after the unbind"
assert_broken nic0 false "nic0 still broken on virtio-pci"
echo "back on virtio-pci: QEMU's broken flag clear, ping answered"
