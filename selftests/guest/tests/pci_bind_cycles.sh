#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# $RVIRTIO_BIND_CYCLES (default 100) unbind/bind cycles of a NIC on rvirtio-pci, with upstream
# virtio_net on top, each carrying traffic: after each bind the new interface is addressed
# again and must answer a ping, and a ping keeps running into the next unbind. Leaks are judged
# by kmemleak on the debug flavour.
. "$(dirname "$0")/../lib.sh"

CYCLES=${RVIRTIO_BIND_CYCLES:-100}
cleanup() {
	[ -n "${pinger:-}" ] && kill "$pinger" 2>/dev/null
	netns_cleanup
	rvirtio_release "$NIC0"
}
trap cleanup EXIT

must kmod_load virtio_net
rvirtio_take "$NIC0"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface on rvirtio-pci"
dev=$(netns_setup) || fail "namespace setup failed"
ping -i 0.05 -W 1 10.99.0.2 > /dev/null 2>&1 &
pinger=$!

drv=/sys/bus/pci/drivers/rvirtio-pci
answered=0
start=$(date +%s%N)
for ((i = 1; i <= CYCLES; i++)); do
	echo "$NIC0" > "$drv/unbind" || fail "unbind $i failed"
	kill "$pinger" 2>/dev/null
	pinger=
	echo "$NIC0" > "$drv/bind" || fail "bind $i failed"
	[ "$(pci_driver "$NIC0")" = rvirtio-pci ] || fail "cycle $i: not bound"
	wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "cycle $i: no interface"
	dev=$(netdev_by_mac "$NIC0_MAC")
	ip addr add 10.99.0.1/24 dev "$dev" || fail "cycle $i: cannot address $dev"
	ip link set "$dev" up || fail "cycle $i: cannot bring $dev up"
	wait_for 5 ping -c 1 -W 1 10.99.0.2 || fail "cycle $i: no ping answered on $dev"
	answered=$((answered + 1))
	# Traffic in flight at the next unbind.
	ping -i 0.05 -W 1 10.99.0.2 > /dev/null 2>&1 &
	pinger=$!
done
ms=$((($(date +%s%N) - start) / 1000000))
kill "$pinger" 2>/dev/null
pinger=
[ "$answered" = "$CYCLES" ] || fail "$answered of $CYCLES cycles answered"
echo "$CYCLES unbind/bind cycles in $ms ms, each addressed again and answering a ping"
out=$(ping -c 5 -i 0.2 -W 2 10.99.0.2 2>&1)
echo "$out" | tail -n 1
echo "$out" | grep -q ' 0% packet loss' || fail "ping after the cycles lost packets"
