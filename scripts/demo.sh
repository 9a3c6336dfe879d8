#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job, run inside the guest by `make run`: load rvirtio_pci, move the first NIC from
# the C virtio-pci to rvirtio-pci with driver_override, show what happened, and move it back.
. "$RVIRTIO_TOP/selftests/guest/lib.sh"

set -e
echo "== guest: $(uname -r), accel $RVIRTIO_ACCEL"
echo "== virtio PCI devices and their drivers"
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1af4 ] || continue
	printf '  %s  device %s  driver %s\n' "$(basename "$d")" "$(cat "$d/device")" \
		"$(pci_driver "$(basename "$d")")"
done

echo "== insmod rvirtio_pci.ko"
rvirtio_load rvirtio_pci
modinfo -F description "$RVIRTIO_TOP/rvirtio_pci.ko" | sed 's/^/  /'

echo "== driver_override: $NIC0 -> rvirtio-pci"
dmesg -C
pci_rebind "$NIC0" rvirtio-pci
dmesg | sed 's/^/  /'
echo "  $NIC0 driver now: $(pci_driver "$NIC0")"

echo "== and back to virtio-pci"
pci_rebind "$NIC0" ""
echo "  $NIC0 driver now: $(pci_driver "$NIC0")"
rmmod rvirtio_pci
echo "== done"
