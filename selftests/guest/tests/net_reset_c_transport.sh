#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rvirtio_net's knob on the upstream C virtio-pci: QEMU itself raises NEEDS_RESET (its status,
# read over QMP, has 0x40), and nothing recovers the device: no ping passes within 2 s. Unbinding
# the driver (which resets the device) and binding it again brings the NIC back.
. "$(dirname "$0")/../lib.sh"

trap rvnet_cleanup EXIT
export RVNET_TRANSPORT=c
# Nothing recovers the broken device, so the packets sent to it stay on the ring: once the byte
# queue limit stops the transmit queue, the stack's watchdog reports it after 5 s, and
# rvirtio_net's tx_timeout names the NEEDS_RESET. A loaded host can stretch the seconds between
# the injection and the unbind below past that.
expect_splat 'NETDEV WATCHDOG: .*transmit queue [0-9]+ timed out'
must kmod_load virtio_net
must rvirtio_load rvirtio_net
dev=$(rvnet_setup) || fail "setup failed: $dev"
vdev=$(virtio_of "$NIC0")
ping_ok ping -c 2 -i 0.2 -W 2 10.99.0.2
# QEMU's own view of the device status, as the names of the bits set.
qstatus() {
	qmp x-query-virtio-status '{"path": "/machine/peripheral/nic0/virtio-backend"}' |
		python3 -c 'import json, sys
st = json.load(sys.stdin)["status"]
print(" ".join(s.split(":")[0].replace("VIRTIO_CONFIG_S_", "") for s in st["statuses"]))'
}
echo 1 > "$(rvnet_knob "$NIC0")" || fail "injection failed"
ping -c 1 -W 1 10.99.0.2 > /dev/null 2>&1
st=$(qstatus) || fail "x-query-virtio-status failed"
echo "QEMU's device status after the injection: $st"
echo "$st" | grep -qw NEEDS_RESET || fail "QEMU did not set NEEDS_RESET"
assert_broken nic0 true "the device did not raise the error itself"
ping -c 4 -i 0.5 -W 1 10.99.0.2 > /dev/null 2>&1 && fail "the device works without a reset?"
echo "no recovery on the C transport (as expected: upstream ignores NEEDS_RESET)"

echo "$vdev" > /sys/bus/virtio/drivers/rvirtio_net/unbind
echo "$vdev" > /sys/bus/virtio/drivers/rvirtio_net/bind || fail "bind failed"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface after rebinding"
dev=$(netdev_by_mac "$NIC0_MAC")
ip addr add 10.99.0.1/24 dev "$dev"
ip link set "$dev" up
wait_for 10 ping -c 1 -W 1 10.99.0.2 || fail "no traffic after rebinding"
assert_broken nic0 false "nic0 still broken after rebinding"
echo "back after unbind/bind"
