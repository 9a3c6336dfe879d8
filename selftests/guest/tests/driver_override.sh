#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A user moves a NIC from the C virtio-pci to rvirtio-pci with driver_override, and back:
# on rvirtio-pci the device's BAR is claimed by rvirtio-pci and it appears on the virtio bus.
# Without driver_override rvirtio-pci takes nothing, not even a device named in its bind file,
# and the module has no alias that would load it for a device.
. "$(dirname "$0")/../lib.sh"

trap 'rvirtio_release "$NIC0"' EXIT

ko=${RVIRTIO_MODDIR:-$RVIRTIO_TOP/out/build}/rvirtio_pci.ko
aliases=$(modinfo -F alias "$ko") || fail "modinfo failed on $ko"
[ -z "$aliases" ] || fail "rvirtio_pci has module aliases: $aliases"
must rvirtio_load rvirtio_pci
echo "$NIC0" > "/sys/bus/pci/devices/$NIC0/driver/unbind"
if echo "$NIC0" > /sys/bus/pci/drivers/rvirtio-pci/bind 2> /dev/null; then
	fail "rvirtio-pci bound $NIC0 without driver_override"
fi
[ "$(pci_driver "$NIC0")" = none ] || fail "$NIC0 bound to $(pci_driver "$NIC0") by a bind without override"
echo "$NIC0" > /sys/bus/pci/drivers_probe
[ "$(pci_driver "$NIC0")" = virtio-pci ] || fail "$NIC0 probed to $(pci_driver "$NIC0"), expected virtio-pci"
echo "without driver_override: no module alias, the bind file refused, virtio-pci took the device"
pci_rebind "$NIC0" rvirtio-pci
[ "$(cat /sys/bus/pci/devices/$NIC0/driver_override)" = rvirtio-pci ] || fail "override not set"
[ "$(pci_driver "$NIC0")" = rvirtio-pci ] || fail "$NIC0 bound to $(pci_driver "$NIC0")"
# The capabilities live in BAR 4 of QEMU's virtio-pci: it must be mapped by us now.
grep -B1 -A1 "rvirtio-pci" /proc/iomem | sed 's/^ *//'
grep -q "rvirtio-pci" /proc/iomem || fail "no BAR of $NIC0 claimed by rvirtio-pci"
vdev=$(ls -d /sys/bus/pci/devices/$NIC0/virtio* 2>/dev/null) || fail "no virtio device under $NIC0"
[ "$(cat "$vdev/device")" = 0x0001 ] || fail "virtio device id $(cat "$vdev/device"), expected 1 (net)"
echo "$(basename "$vdev"): device $(cat "$vdev/device") vendor $(cat "$vdev/vendor") status $(cat "$vdev/status")"

pci_rebind "$NIC0" ""
[ "$(pci_driver "$NIC0")" = virtio-pci ] || fail "$NIC0 did not go back to virtio-pci"
echo "moved to rvirtio-pci and back to virtio-pci"
