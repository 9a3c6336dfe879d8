#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A recovery racing with removal is cancelled cleanly: inject, then at once unbind the PCI
# device or unload rvirtio_pci, $RVIRTIO_RACE_ROUNDS times (default 10). Nothing hangs (the
# runner's splat check covers use-after-free and lockdep on the debug flavour), and the
# device works on the C transport afterwards.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	kill "$PINGER" 2>/dev/null
	netns_cleanup
	rvirtio_release "$NIC0"
}
trap cleanup EXIT

must kmod_load virtio_net
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface on the C transport"
netns_setup > /dev/null || fail "namespace setup failed"
rounds=${RVIRTIO_RACE_ROUNDS:-10}
for ((i = 0; i < rounds; i++)); do
	rvirtio_take "$NIC0"
	wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "round $i: no interface"
	dev=$(netdev_by_mac "$NIC0_MAC")
	ip addr add 10.99.0.1/24 dev "$dev"
	ip link set "$dev" up
	ping -i 0.02 -W 1 10.99.0.2 > /dev/null 2>&1 &
	PINGER=$!
	sleep 0.2
	echo 1 > "$(rvirtio_debugfs "$NIC0")/inject" || fail "round $i: injection failed"
	if ((i % 2)); then
		timeout 20 rmmod rvirtio_pci || fail "round $i: rmmod failed or hung"
		how=rmmod
	else
		timeout 20 bash -c "echo $NIC0 > /sys/bus/pci/drivers/rvirtio-pci/unbind" ||
			fail "round $i: unbind failed or hung"
		how=unbind
	fi
	kill "$PINGER" 2>/dev/null
	wait "$PINGER" 2>/dev/null
	rvirtio_release "$NIC0"
	wait_for 10 netdev_by_mac "$NIC0_MAC" || fail "round $i: no interface on the C transport"
	echo "round $i: inject + $how"
done
dev=$(netdev_by_mac "$NIC0_MAC")
ip addr add 10.99.0.1/24 dev "$dev"
ip link set "$dev" up
wait_for 10 ping -c 1 -W 1 10.99.0.2 || fail "the device does not work afterwards"
echo "$rounds races, device fine afterwards"
