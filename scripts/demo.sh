#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job, run inside the guest by `make run`: move the NIC under test from the C
# virtio-pci to rvirtio-pci with driver_override, then its virtio device from upstream
# virtio_net to our rvirtio_net, and show traffic to the peer NIC in a network namespace.
. "$RVIRTIO_TOP/selftests/guest/lib.sh"

echo "== guest: $(uname -r), accel $RVIRTIO_ACCEL"
echo "== virtio PCI devices and their drivers"
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1af4 ] || continue
	printf '  %s  device %s  driver %s\n' "$(basename "$d")" "$(cat "$d/device")" \
		"$(pci_driver "$(basename "$d")")"
done

echo "== insmod rvirtio_pci.ko, modprobe virtio_net"
rvirtio_load rvirtio_pci || exit 1
kmod_load virtio_net || exit 1

echo "== driver_override: $NIC0 -> rvirtio-pci"
pci_rebind "$NIC0" rvirtio-pci
wait_for 5 virtio_of "$NIC0" || { echo "no virtio device"; exit 1; }
vdev=$(virtio_of "$NIC0")
echo "== insmod rvirtio_net.ko; $vdev: virtio_net -> rvirtio_net"
rvirtio_net_take "$NIC0" > /dev/null || exit 1
wait_for 5 netdev_by_mac "$NIC0_MAC" || { echo "no interface"; exit 1; }
echo "  $NIC0: driver $(pci_driver "$NIC0"), $vdev: driver" \
	"$(basename "$(readlink "/sys/bus/virtio/devices/$vdev/driver")")"
dev=$(netns_setup)
ip -br addr show dev "$dev" | sed 's/^/  /'

echo "== ping and iperf3 to the peer ($PEER_NS, on the C drivers)"
ping -c 3 -W 2 10.99.0.2 | tail -n 2 | sed 's/^/  /'
bytes=$(iperf_run 3)
echo "  iperf3: $bytes bytes in 3 s ($((bytes * 8 / 3 / 1000000)) Mbit/s, TCG)"
echo "== interrupts of $vdev"
grep "$vdev" /proc/interrupts | sed 's/^ */  /'

netns_cleanup
rvirtio_net_release "$NIC0"
pci_rebind "$NIC0" ""
rmmod rvirtio_pci
echo "== $NIC0 back on $(pci_driver "$NIC0"); done"
