#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job, run inside the guest by `make run`: why this project exists, in under two
# minutes. The same NIC breaks the same way twice: QEMU itself raises DEVICE_NEEDS_RESET
# (virtio 1.2, 2.1.1) when it finds a malformed transmit request, which rvirtio_net posts when
# its fail_tx fault injection point is armed.
#
#   1. On the C virtio-pci, Linux ignores the request for a reset: the NIC stays dead.
#   2. On rvirtio-pci, the transport notices, reports it to devlink health, resets the device
#      and brings rvirtio_net back: the interface keeps its name and addresses, and traffic
#      flows again. devlink shows the error, the automatic recovery and what the device held.
#
# Each NIC moves between drivers with driver_override and the virtio bus's bind files, as a
# user does. A summary ends the run.
. "$RVIRTIO_TOP/selftests/guest/lib.sh"

# The broken NIC of act 1 holds the packets sent to it: the stack's transmit watchdog may
# report the stopped queue if the act takes more than 5 s on a loaded host.
expect_splat 'NETDEV WATCHDOG: .*transmit queue [0-9]+ timed out'

# QEMU's own view of nic0: its status bits and its "broken" flag.
qemu_view() {
	qmp x-query-virtio-status '{"path": "/machine/peripheral/nic0/virtio-backend"}' |
		python3 -c 'import json, sys
r = json.load(sys.stdin)
bits = [s.split(":")[0].replace("VIRTIO_CONFIG_S_", "") for s in r["status"]["statuses"]]
print("status " + " ".join(bits) + ", broken: " + str(r["broken"]).lower())'
}

# The same, in a few words for the summary.
qemu_short() {
	case $1 in
	*NEEDS_RESET*true) echo "NEEDS_RESET, broken" ;;
	*NEEDS_RESET*) echo "NEEDS_RESET, not broken" ;;
	*true) echo "broken" ;;
	*) echo "running, not broken" ;;
	esac
}

# Pings the peer for $1 seconds, 10 per second; prints "received/sent".
ping_for() {
	ping -c $(($1 * 10)) -i 0.1 -W 1 10.99.0.2 2>/dev/null |
		awk '/packets transmitted/ { print $4 "/" $1 }'
}

fail() {
	echo "demo: $*"
	exit 1
}

echo "== guest: $(uname -r), accel $RVIRTIO_ACCEL"
kmod_load virtio_net || fail "cannot load virtio_net"
rvirtio_load rvirtio_net || fail "cannot load rvirtio_net.ko"

echo
echo "== Act 1: $NIC0 on the C virtio-pci, driven by rvirtio_net"
vdev=$(rvirtio_net_take "$NIC0") || exit 1
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface"
dev=$(netns_setup)
echo "  $dev: $(ip -br -4 addr show dev "$dev" | awk '{ print $3 }'), ping $(ping_for 1) answered"
echo "  fault: a malformed transmit request (rvirtio_net's fail_tx fault injection point)"
echo 1 > "$(rvnet_knob "$NIC0")" || fail "injection failed"
ping -c 1 -W 1 10.99.0.2 > /dev/null 2>&1
wait_for 5 qemu_broken_is nic0 true || fail "QEMU did not mark nic0 broken"
echo "  QEMU: $(qemu_view)"
c_ping=$(ping_for 3)
c_view=$(qemu_view)
echo "  ping for 3 s: $c_ping answered; the C transport ignores NEEDS_RESET"
echo "  only unbinding the driver resets the device"
netns_cleanup
rvirtio_net_release "$NIC0"

echo
echo "== Act 2: $NIC0 on rvirtio-pci, driven by rvirtio_net"
rvirtio_load rvirtio_pci || fail "cannot load rvirtio_pci.ko"
pci_rebind "$NIC0" rvirtio-pci
[ "$(pci_driver "$NIC0")" = rvirtio-pci ] || fail "$NIC0 not bound to rvirtio-pci"
echo "  driver_override: $NIC0 -> $(pci_driver "$NIC0")"
rvirtio_load rvirtio_net 2>/dev/null
vdev=$(rvirtio_net_take "$NIC0") || exit 1
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface"
dev=$(netns_setup)
addrs=$(ip -br addr show dev "$dev" | awk '{ $1 = $2 = ""; print substr($0, 3) }')
echo "  $dev: $addrs, ping $(ping_for 1) answered"
echo "  \$ devlink health show pci/$NIC0 reporter needs_reset"
devlink health show "pci/$NIC0" reporter needs_reset | sed 's/^/    /'
dmesg -C
echo "  fault: the same malformed transmit request"
echo 1 > "$(rvnet_knob "$NIC0")" || fail "injection failed"
ping -c 1 -W 1 10.99.0.2 > /dev/null 2>&1
wait_for 5 recovery_above "$NIC0" recoveries 0 || fail "no recovery: $(cat "$(rvirtio_debugfs "$NIC0")/recovery")"
line=$(dmesg | grep -m 1 "recovered from DEVICE_NEEDS_RESET" | sed 's/^\[[^]]*\] //')
echo "  kernel: $line"
echo "  QEMU: $(qemu_view)"
r_ping=$(ping_for 3)
r_view=$(qemu_view)
echo "  ping for 3 s: $r_ping answered"
echo "  $(netdev_by_mac "$NIC0_MAC") kept its addresses: $(ip -br addr show dev "$dev" | awk '{ $1 = $2 = ""; print substr($0, 3) }')"
bytes=$(iperf_run 3)
mbit=$((bytes * 8 / 3 / 1000000))
echo "  iperf3 after the recovery: $bytes bytes in 3 s ($mbit Mbit/s under TCG)"
echo "  \$ devlink health show pci/$NIC0 reporter needs_reset"
devlink health show "pci/$NIC0" reporter needs_reset | sed 's/^/    /'
echo "  \$ devlink health diagnose pci/$NIC0 reporter needs_reset"
devlink health diagnose "pci/$NIC0" reporter needs_reset | sed 's/^/    /'
echo "  \$ devlink health dump show pci/$NIC0 reporter needs_reset   (taken at the fault)"
devlink health dump show "pci/$NIC0" reporter needs_reset | sed 's/^/    /'
health=$(devlink -j health show "pci/$NIC0" reporter needs_reset | python3 -c 'import json, sys
r = next(iter(json.load(sys.stdin)["health"].values()))[0]
print("devlink: %s error, %s recovered" % (r["error"], r["recover"]))')
us=$(recovery_field "$NIC0" last_duration_us)

netns_cleanup
rvirtio_net_release "$NIC0"
pci_rebind "$NIC0" ""
rmmod rvirtio_pci

echo
echo "== Summary: the same NIC, the same fault raised by the device (DEVICE_NEEDS_RESET)"
ms=$(awk -v us="$us" 'BEGIN { printf "%.1f", us / 1000 }')
printf '  %-30s %-22s %-10s %s\n' "transport + driver" "QEMU's device after" "ping" "outcome"
printf '  %-30s %-22s %-10s %s\n' "virtio-pci (C) + rvirtio_net" "$(qemu_short "$c_view")" \
	"$c_ping" "dead until its driver is unbound"
printf '  %-30s %-22s %-10s %s\n' "rvirtio-pci + rvirtio_net" "$(qemu_short "$r_view")" \
	"$r_ping" "recovered in $ms ms ($health), same interface, iperf3 $mbit Mbit/s"
echo "== $NIC0 back on $(pci_driver "$NIC0"); done"
