#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A user moves a NIC from the C virtio-pci to rvirtio-pci with driver_override, and back.
# The skeleton walks the virtio capabilities of the device in probe, logs them, and declines.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	pci_rebind "$NIC0" ""
	rmmod rvirtio_pci 2>/dev/null
}
trap cleanup EXIT

must kmod_load virtio_net
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface on $NIC0 with the C drivers"
must rvirtio_load rvirtio_pci
dmesg -C

pci_rebind "$NIC0" rvirtio-pci
[ "$(cat /sys/bus/pci/devices/$NIC0/driver_override)" = rvirtio-pci ] || fail "override not set"
log=$(dmesg | grep "rvirtio-pci $NIC0")
echo "$log"
for cap in common notify isr device; do
	echo "$log" | grep -q "virtio cap $cap: bar" || fail "probe did not report the $cap capability"
done
echo "$log" | grep -q "declining" || fail "probe of $NIC0 did not run or did not decline"
[ "$(pci_driver "$NIC0")" = none ] || fail "$NIC0 bound to $(pci_driver "$NIC0") while overridden"
netdev_by_mac "$NIC0_MAC" > /dev/null && fail "interface still present after unbinding from virtio-pci"

pci_rebind "$NIC0" ""
[ "$(pci_driver "$NIC0")" = virtio-pci ] || fail "$NIC0 did not go back to virtio-pci"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "interface did not come back on virtio-pci"
echo "moved to rvirtio-pci (probe ran, declined) and back to virtio-pci"
