#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A NIC whose notification structure is in an I/O BAR (QEMU's modern-pio-notify=on, which
# lists that capability first): rvirtio-pci binds it, requests the I/O ports, and upstream C
# virtio_net carries traffic over it (every queue notification a port write) and recovers from
# a DEVICE_NEEDS_RESET that QEMU raises (its "broken" flag set, then clear). Automatic recovery
# is off (devlink health's auto_recover), so that the broken device can be seen; the recovery
# is asked for with "devlink health recover".
. "$(dirname "$0")/../lib.sh"

cleanup() {
	kill "${IPERF_CLIENT:-}" 2>/dev/null
	netns_cleanup
	rvirtio_release "$NIC0"
}
trap cleanup EXIT
# With recovery off the NIC stays broken until the recovery by hand: the stack's transmit
# watchdog may report a stopped queue meanwhile (5 s) on a loaded host.
expect_splat 'NETDEV WATCHDOG: .*transmit queue [0-9]+ timed out'

# Resource flags 0x100: IORESOURCE_IO.
io_bars=0
while read -r start end flags; do
	[ $((flags & 0x100)) != 0 ] && io_bars=$((io_bars + 1))
done < "/sys/bus/pci/devices/$NIC0/resource"
[ "$io_bars" -ge 1 ] || skip "$NIC0 has no I/O BAR (boot without modern-pio-notify=on)"
must kmod_load virtio_net
rvirtio_take "$NIC0"
must rvirtio_hold "$NIC0"
vdev=$(virtio_of "$NIC0") || fail "no virtio device on $NIC0"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface on $vdev"
ports=$(grep 'rvirtio-pci' /proc/ioports) || fail "rvirtio-pci requested no I/O ports: $(dmesg | grep "$NIC0" | tail -3)"
echo "I/O ports of rvirtio-pci: $(echo $ports)"
dev=$(netns_setup) || fail "namespace setup failed: $dev"
ping_ok ping -c 3 -i 0.2 -W 2 10.99.0.2
read -r rx sent <<< "$(IPERF_SENT=1 iperf_run 3)" || fail "iperf3 failed"
echo "iperf3: $rx bytes received by the peer"
[ "$rx" -gt "${RVIRTIO_MIN_BYTES:-1000000}" ] || fail "only $rx bytes"

assert_broken nic0 false "nic0 broken before the injection"
echo $NIC0_INJECT_Q > "$(rvirtio_debugfs "$NIC0")/inject" || fail "injection failed"
wait_for 5 recovery_above "$NIC0" needs_reset_events 0 || fail "no NEEDS_RESET seen"
assert_broken nic0 true "QEMU does not report nic0 broken after the injection"
must rvirtio_recover "$NIC0"
wait_for 5 recovery_above "$NIC0" recoveries 0 || fail "no recovery: $(cat "$(rvirtio_debugfs "$NIC0")/recovery")"
echo "QEMU reported nic0 broken after the injection, not after the recovery by $(recovery_field "$NIC0" last_strategy)"
assert_broken nic0 false "nic0 still broken after the recovery"
wait_for 10 ping -c 1 -W 1 10.99.0.2 || fail "no ping after the recovery"
read -r rx sent <<< "$(IPERF_SENT=1 iperf_run 2)" || fail "iperf3 failed after the recovery"
echo "iperf3 after the recovery: $rx bytes received by the peer"
[ "$rx" -gt 100000 ] || fail "only $rx bytes after the recovery"
