#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rmmod rvirtio_pci while iperf3 runs over a NIC it carries: the module goes away promptly,
# the device is left unbound, and it works again on the C transport.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	[ -n "${client:-}" ] && kill "$client" 2>/dev/null
	pkill iperf3
	netns_cleanup
	rvirtio_release "$NIC0"
}
trap cleanup EXIT

must kmod_load virtio_net
rvirtio_take "$NIC0"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface on rvirtio-pci"
dev=$(netns_setup) || fail "namespace setup failed"
iperf_background 30
client=$IPERF_CLIENT
sleep 3
tx=$(cat /sys/class/net/$dev/statistics/tx_bytes)
min=${RVIRTIO_MIN_BYTES:-1000000}
[ "$tx" -gt "$min" ] || fail "too little traffic before rmmod ($tx bytes, minimum $min)"

start=$(date +%s%N)
timeout 30 rmmod rvirtio_pci || fail "rmmod failed or hung"
ms=$((($(date +%s%N) - start) / 1000000))
echo "rmmod under traffic ($tx bytes sent) took $ms ms"
[ ! -e /sys/module/rvirtio_pci ] || fail "module still loaded"
[ "$(pci_driver "$NIC0")" = none ] || fail "$NIC0 still bound to $(pci_driver "$NIC0")"
netdev_by_mac "$NIC0_MAC" > /dev/null && fail "interface survived rmmod"
# The client's connection lost its interface: it would wait for TCP to time out.
kill "$client" 2>/dev/null
client=

pci_rebind "$NIC0" ""
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface back on virtio-pci"
echo "back on $(pci_driver "$NIC0")"
